/* Events API over HTTP and interactive dispatch over HTTP, through fetch
 * (libcurl multi on the loop: nothing here blocks).
 *
 * Events: POST of the event_callback JSON, Content-Type exactly
 * "application/json", signed (X-Slack-Request-Timestamp, X-Slack-Signature
 * v0 over the exact body bytes); a 2xx within 3 s delivers it. Otherwise
 * the event is retried after the schedule's delays (1 s, 1 min, 5 min by
 * default) with X-Slack-Retry-Num 1..N and X-Slack-Retry-Reason
 * (http_timeout, connection_failed, http_error, ...), then counted failed.
 * At most APPS_HTTP_IN_FLIGHT requests per app are in flight, so a hung
 * endpoint holds a few sockets and nobody else waits. After
 * APPS_BACKOFF_AFTER consecutive failed deliveries (events out of
 * retries, no 2xx in between) the whole app is backed off (1 min,
 * doubling up to 30 min; its queue is kept); any 2xx ends the backoff. The reason is in apps_status (last_error, backoff_until).
 *
 * An answer carrying "X-Slack-No-Retry: 1" (Slack's way for an app to
 * refuse redeliveries, e.g. an error it knows will repeat) ends the
 * event's deliveries at once: not retried, counted failed.
 *
 * Dispatch: application/x-www-form-urlencoded (exactly; Bolt compares the
 * header with ===), signed the same way; a slash command's fields each
 * urlencoded, an interaction as payload=<urlencoded JSON>; no retries. */
#include "rt/apps_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"

/* ---- requests ---- */

static void post_signed(apps *a, const app *ap, const char *url, const char *content_type,
			apps_item *it, const char *body, size_t len, fetch_cb cb)
{
	long long ts = (long long)clock_now_s();
	char sig[68];
	fetch_slack_signature(ap->signing_secret ? ap->signing_secret : "", ts, body, len, sig);
	char h_ts[64], h_sig[96], h_num[48], h_reason[64];
	snprintf(h_ts, sizeof h_ts, "X-Slack-Request-Timestamp: %lld", ts);
	snprintf(h_sig, sizeof h_sig, "X-Slack-Signature: %s", sig);
	const char *headers[5] = {h_ts, h_sig, NULL, NULL, NULL};
	if (it->kind == ITEM_EVENT && it->attempt > 0) {
		snprintf(h_num, sizeof h_num, "X-Slack-Retry-Num: %d", it->attempt);
		snprintf(h_reason, sizeof h_reason, "X-Slack-Retry-Reason: %s",
			 it->reason && *it->reason ? it->reason : "unknown_error");
		headers[2] = h_num;
		headers[3] = h_reason;
	}
	apps__list_push(&a->http, it, ON_HTTP);
	a->stats.http_requests++;
	fetch_post(a->fetch, url, content_type, headers, body, len, APPS_ACK_MS, cb, it);
}

/* The retry reason of a failed answer, as one of our static strings. */
static const char *failure_reason(const fetch_result *r)
{
	static const char *const known[] = {"http_timeout", "connection_failed", "ssl_error",
					    "too_many_redirects", "shutdown"};
	if (r->status)
		return "http_error";
	for (size_t i = 0; r->err && i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(r->err, known[i]))
			return known[i];
	return "unknown_error";
}

/* ---- Events API ---- */

static void event_done_cb(void *ud, const fetch_result *r)
{
	apps_item *it = ud;
	apps_app *e = it->owner;
	if (!e) {
		apps__item_free(it);  /* detached by apps_free */
		return;
	}
	apps *a = e->a;
	apps__list_remove(&a->http, it);
	e->http_in_flight--;
	int64_t now = apps__now(a);
	if (!strcmp(failure_reason(r), "shutdown")) {
		/* fetch is going away: keep the event, send nothing more. */
		a->fetch_gone = true;
		apps__list_push_front(&e->queue, it, ON_QUEUE);
		return;
	}
	if (r->status >= 200 && r->status < 300) {
		e->delivered++;
		a->stats.events_delivered++;
		e->consecutive_failures = 0;
		e->backoff_ms = 0;
		apps__item_free(it);
		apps__pump(a, e);
		return;
	}
	const char *reason = failure_reason(r);
	a->stats.http_failures++;
	if (r->status)
		apps__set_error(e, "request URL answered HTTP %d", r->status);
	else
		apps__set_error(e, "request URL failed: %s", reason);
	log_info("app event delivery failed", "app=%s event_id=%s attempt=%d status=%d reason=%s",
		 e->id, it->event_id, it->attempt, r->status, reason);
	char no_retry[8];
	bool refuse = r->status && fetch_header(r, "X-Slack-No-Retry", no_retry, sizeof no_retry) &&
		      !strcmp(no_retry, "1");
	if (refuse)
		log_info("app refused retries", "app=%s event_id=%s status=%d", e->id, it->event_id,
			 r->status);
	if (it->attempt < a->nretry && !refuse) {
		it->reason = reason;
		it->due_ms = now + a->retry_ms[it->attempt];
		it->attempt++;
		e->retried++;
		a->stats.retries++;
		apps__list_insert_due(&e->delayed, it, ON_DELAYED);
	} else {
		e->failed++;
		e->consecutive_failures++;
		a->stats.events_failed++;
		log_warn("app event dropped after retries", "app=%s event_id=%s attempts=%d", e->id,
			 it->event_id, it->attempt + 1);
		apps__item_free(it);
	}
	/* Failed deliveries (events out of retries) in a row back the whole
	 * app off; answers to requests sent before the backoff began do not
	 * extend it. */
	if (e->consecutive_failures >= APPS_BACKOFF_AFTER && now >= e->backoff_until_ms) {
		e->backoff_ms = e->backoff_ms ? e->backoff_ms * 2 : APPS_BACKOFF_MIN_MS;
		if (e->backoff_ms > APPS_BACKOFF_MAX_MS)
			e->backoff_ms = APPS_BACKOFF_MAX_MS;
		e->backoff_until_ms = now + e->backoff_ms;
		e->backoff_until_s = clock_now_s() + e->backoff_ms / 1000;
		log_warn("app request URL backed off", "app=%s seconds=%lld failures=%d", e->id,
			 (long long)(e->backoff_ms / 1000), e->consecutive_failures);
	}
	apps__kick(a, false);
	apps__pump(a, e);
}

void apps__pump_http(apps *a, apps_app *e, const app *ap)
{
	if (!ap->event_url || !*ap->event_url || !a->fetch || a->fetch_gone)
		return;
	int64_t now = apps__now(a);
	if (now < e->backoff_until_ms)
		return;
	while (e->http_in_flight < APPS_HTTP_IN_FLIGHT) {
		apps_item *it = NULL;
		if (e->delayed.head && e->delayed.head->due_ms <= now) {
			it = e->delayed.head;
			apps__list_remove(&e->delayed, it);
		} else if (e->queue.head) {
			it = e->queue.head;
			apps__list_remove(&e->queue, it);
		} else {
			break;
		}
		e->http_in_flight++;
		size_t blen;
		const char *body = apps__item_body(it, &blen);
		post_signed(a, ap, ap->event_url, "application/json", it, body, blen, event_done_cb);
	}
	if (e->delayed.n)
		apps__kick(a, false);
}

/* ---- dispatch ---- */

static void urlencode(buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			buf_addc(b, (char)ch);
		} else {
			buf_addc(b, '%');
			buf_addc(b, hex[ch >> 4]);
			buf_addc(b, hex[ch & 15]);
		}
	}
}

char *apps__form_body(json_t *payload, bool form_payload, size_t *len)
{
	buf b = BUF_INIT;
	if (form_payload) {
		char *js = payload ? json_dumps(payload, JSON_COMPACT) : xstrdup("{}");
		buf_adds(&b, "payload=");
		urlencode(&b, js, strlen(js));
		free(js);
		return buf_detach(&b, len);
	}
	const char *k;
	json_t *v;
	int first = 1;
	json_object_foreach(payload, k, v) {
		if (!first)
			buf_addc(&b, '&');
		first = 0;
		urlencode(&b, k, strlen(k));
		buf_addc(&b, '=');
		if (json_is_string(v)) {
			urlencode(&b, json_string_value(v), json_string_length(v));
		} else if (!json_is_null(v)) {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			urlencode(&b, s, strlen(s));
			free(s);
		}
	}
	return buf_detach(&b, len);
}

json_t *apps__response_parse(const char *content_type, const char *body, size_t len)
{
	size_t skip = 0;
	while (skip < len && (body[skip] == ' ' || body[skip] == '\t' || body[skip] == '\r' ||
			      body[skip] == '\n'))
		skip++;
	if (skip == len)
		return NULL;
	if (content_type && !strncasecmp(content_type, "application/json", 16)) {
		json_error_t jerr;
		json_t *j = json_loadb(body, len, 0, &jerr);
		if (json_is_object(j))
			return j;
		json_decref(j);
	}
	return json_pack("{s:s%}", "text", body, len);
}

static void dispatch_done_cb(void *ud, const fetch_result *r)
{
	apps_item *it = ud;
	apps_app *e = it->owner;
	if (!e) {
		apps__item_free(it);  /* apps_free answered its callback already */
		return;
	}
	apps *a = e->a;
	apps__list_remove(&a->http, it);
	if (r->status >= 200 && r->status < 300) {
		json_t *resp = apps__response_parse(r->content_type, r->body ? r->body : "", r->body_len);
		it->cb(it->ud, 0, resp);
		json_decref(resp);
	} else {
		const char *reason = failure_reason(r);
		a->stats.dispatch_failures++;
		a->stats.http_failures++;
		if (r->status)
			apps__set_error(e, "%s request URL answered HTTP %d", it->type, r->status);
		else
			apps__set_error(e, "%s request URL failed: %s", it->type, reason);
		log_info("app dispatch failed", "app=%s type=%s status=%d reason=%s", e->id, it->type,
			 r->status, reason);
		it->cb(it->ud, !strcmp(reason, "http_timeout") ? ERR_OPERATION_TIMEOUT : ERR_DISPATCH_FAILED,
		       NULL);
	}
	apps__item_free(it);
}

void apps__dispatch_http(apps *a, const app *ap, apps_item *it, const char *url)
{
	post_signed(a, ap, url, "application/x-www-form-urlencoded", it, it->body, it->len,
		    dispatch_done_cb);
}
