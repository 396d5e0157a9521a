/* Socket Mode: apps.connections.open tickets, the /link/ upgrade, hello,
 * envelopes to one connection each (round robin), acks, retries of
 * unacked events, refresh before a connection's lifetime ends, and
 * interactive dispatch over a socket.
 *
 * Choices:
 *  - Up to APPS_MAX_CONNS (10) connections per app. An 11th upgrade is
 *    refused before the WebSocket handshake with HTTP 429 and a JSON body
 *    {"ok":false,"error":"too_many_connections"}: the client sees a
 *    failed connection and retries later, and no socket is taken over.
 *  - A retried envelope keeps its envelope_id (so a late ack of the first
 *    send still settles it) and its event_id; retry_attempt counts up and
 *    retry_reason is "timeout".
 *  - A connection that was sent the refresh disconnect gets no new
 *    envelopes; acks are accepted from any connection of the same app.
 *  - Keepalive is the WebSocket layer's: it answers client pings and
 *    pings a connection that has been silent for 10 s.
 *  - Frames that are not JSON objects with an envelope_id we are waiting
 *    for (unknown types, late or foreign acks, bad JSON) are ignored. */
#include "rt/apps_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "rt/rt_url.h"
#include "core/err.h"

static void conn_message_cb(ws_conn *c, const char *msg, size_t len, void *ud);
static void conn_close_cb(ws_conn *c, int code, void *ud);

static const ws_callbacks conn_callbacks = {
	.on_message = conn_message_cb,
	.on_close = conn_close_cb,
};

/* ---- connections ---- */

static bool conn_usable(const apps_conn *c)
{
	return c->ws && !c->closing && !c->closed && !c->refreshing;
}

int apps__live_conns(const apps_app *e)
{
	int n = 0;
	for (int i = 0; i < e->nconns; i++)
		if (conn_usable(e->conns[i]))
			n++;
	return n;
}

apps_conn *apps__conn_pick(apps_app *e)
{
	for (int k = 0; k < e->nconns; k++) {
		apps_conn *c = e->conns[(e->rr + (unsigned)k) % (unsigned)e->nconns];
		if (conn_usable(c)) {
			e->rr = (e->rr + (unsigned)k + 1) % (unsigned)e->nconns;
			return c;
		}
	}
	return NULL;
}

void apps__conn_closed(apps *a, apps_conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	c->ws = NULL;
	apps_app *e = c->owner;
	for (int i = 0; i < e->nconns; i++)
		if (e->conns[i] == c) {
			e->conns[i] = e->conns[--e->nconns];
			e->conns[e->nconns] = NULL;
			break;
		}
	if (a->stats.socket_connections)
		a->stats.socket_connections--;
	log_debug("app socket closed", "app=%s conn=%llu open=%d", e->id, (unsigned long long)c->id,
		  e->nconns);
	apps__busy(a);
	c->reap_next = a->reap;
	a->reap = c;
	apps__unbusy(a);
}

void apps__conn_destroy(apps *a, apps_conn *c)
{
	free(c);
}

/* Marks c unusable after a failed send (the ws layer is closing it). */
static void conn_failed(apps_conn *c)
{
	c->closing = true;
}

static void send_disconnect(apps_conn *c, const char *reason)
{
	if (!c->ws)
		return;
	buf b = BUF_INIT;
	buf_adds(&b, "{\"type\":\"disconnect\",\"reason\":");
	apps__json_str(&b, reason);
	buf_adds(&b, ",\"debug_info\":{\"host\":\"canal\"}}");
	ws_send_text(c->ws, b.data, b.len);
	buf_release(&b);
}

void apps__conns_close(apps *a, apps_app *e, const char *reason, int code)
{
	apps__busy(a);
	for (int i = 0; i < e->nconns; i++) {
		apps_conn *c = e->conns[i];
		if (!c->ws || c->closing)
			continue;
		send_disconnect(c, reason);
		c->closing = true;
		if (c->ws)
			ws_close(c->ws, code, reason);
	}
	apps__unbusy(a);
}

void apps__conns_tick(apps *a, apps_app *e, int64_t now)
{
	apps__busy(a);
	for (int i = 0; i < e->nconns; i++) {
		apps_conn *c = e->conns[i];
		if (!c->ws || c->closing)
			continue;
		if (!c->refreshing && now >= c->refresh_at_ms) {
			log_debug("app socket refresh", "app=%s conn=%llu", e->id, (unsigned long long)c->id);
			send_disconnect(c, "refresh_requested");
			c->refreshing = true;
			c->close_at_ms = now + APPS_CLOSE_GRACE_MS;
		} else if (c->refreshing && now >= c->close_at_ms) {
			c->closing = true;
			if (c->ws)
				ws_close(c->ws, 1000, "refresh");
		}
	}
	apps__unbusy(a);
}

/* ---- envelopes ---- */

static void pending_add(apps *a, apps_item *it, int64_t now)
{
	it->due_ms = now + APPS_ACK_MS;
	apps__list_push(&a->pending, it, ON_PENDING);
}

#define PART(s) ((ws_part){s, sizeof s - 1, NULL})

/* Sends one events_api envelope; 0, or -1 if the socket refused it. The
 * frame is built around the event's blobs (spliced, not copied); a retry
 * the same way with its retry fields. */
static int send_event(apps *a, apps_conn *c, apps_item *it)
{
	if (!c->ws)
		return -1;
	if (!it->envelope_id[0])
		apps__envelope_id(a, it);
	char attempt = (char)('0' + (it->attempt % 10));
	const ws_part parts[] = {
		PART(APPS_ENV_OPEN), {it->envelope_id, strlen(it->envelope_id), NULL},
		PART(APPS_ENV_PAYLOAD), {NULL, 0, it->pre}, {NULL, 0, it->mid},
		{it->event_id, strlen(it->event_id), NULL}, PART(APPS_EV_EVENT),
		{NULL, 0, it->inner}, PART("}" APPS_ENV_EVENTS_END), {&attempt, 1, NULL},
		PART(APPS_ENV_REASON), {it->reason, strlen(it->reason), NULL}, PART("\"}"),
	};
	ws_frame *f = ws_frame_text_parts(parts, sizeof parts / sizeof parts[0]);
	int rc = ws_send(c->ws, f);
	ws_frame_unref(f);
	return rc;
}

void apps__pump_socket(apps *a, apps_app *e)
{
	/* A socket is here: HTTP retries waiting for their time go first. */
	while (e->delayed.tail) {
		apps_item *it = e->delayed.tail;
		apps__list_remove(&e->delayed, it);
		apps__list_push_front(&e->queue, it, ON_QUEUE);
	}
	int64_t now = apps__now(a);
	apps__busy(a);
	while (e->queue.head && e->npending < APPS_SOCKET_WINDOW) {
		apps_conn *c = apps__conn_pick(e);
		if (!c)
			break;
		apps_item *it = e->queue.head;
		apps__list_remove(&e->queue, it);
		if (send_event(a, c, it) != 0) {
			conn_failed(c);
			apps__list_push_front(&e->queue, it, ON_QUEUE);
			continue;
		}
		if (it->attempt)
			log_debug("app event resent", "app=%s event_id=%s attempt=%d", e->id, it->event_id,
				  it->attempt);
		e->npending++;
		pending_add(a, it, now);
	}
	apps__unbusy(a);
	if (e->npending)
		apps__kick(a, false);
}

int apps__dispatch_socket(apps *a, apps_app *e, apps_item *it)
{
	apps__busy(a);
	int rc = -1;
	apps__envelope_id(a, it);
	buf b = BUF_INIT;
	buf_printf(&b, "{\"envelope_id\":\"%s\",\"payload\":", it->envelope_id);
	size_t blen;
	const char *body = apps__item_body(it, &blen);
	buf_add(&b, body, blen);
	buf_printf(&b, ",\"type\":\"%s\",\"accepts_response_payload\":%s}", it->type,
		   it->accepts_response ? "true" : "false");
	for (apps_conn *c; (c = apps__conn_pick(e));) {
		if (ws_send_text(c->ws, b.data, b.len) == 0) {
			rc = 0;
			break;
		}
		conn_failed(c);
	}
	buf_release(&b);
	if (rc == 0) {
		pending_add(a, it, apps__now(a));
		apps__kick(a, false);
	}
	apps__unbusy(a);
	return rc;
}

/* ---- inbound ---- */

/* The value of a top-level-looking "envelope_id":"..." in msg (an id
 * without escapes, under 40 bytes) into out, or NULL. */
static const char *ack_id(const char *msg, size_t len, char out[40])
{
	static const char key[] = "\"envelope_id\"";
	/* The SDKs' ack starts {"envelope_id":...: no search needed then. */
	const char *p = len > sizeof key && msg[0] == '{' && !memcmp(msg + 1, key, sizeof key - 1)
				? msg + 1
				: memmem(msg, len, key, sizeof key - 1);
	if (!p)
		return NULL;
	const char *end = msg + len;
	p += sizeof key - 1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (p >= end || *p++ != ':')
		return NULL;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	if (p >= end || *p++ != '"')
		return NULL;
	size_t n = 0;
	while (p + n < end && p[n] != '"' && p[n] != '\\' && n < 39)
		n++;
	if (p + n >= end || p[n] != '"')
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

void apps__socket_message(apps *a, apps_conn *c, const char *msg, size_t len)
{
	apps_app *e = c->owner;
	if (len > APPS_MAX_ACK_BYTES) {
		log_debug("app socket message too large, ignored", "app=%s bytes=%zu", e->id, len);
		return;
	}
	/* Fast path for the common case, an events_api ack: the envelope id
	 * found without parsing; the payload matters only for dispatches. */
	char idbuf[40];
	const char *id = ack_id(msg, len, idbuf);
	apps_item *it = id ? apps__pend_get(&a->pend_by_id, id) : NULL;
	if (it && it->on == ON_PENDING && it->kind == ITEM_EVENT && it->owner == e) {
		apps__list_remove(&a->pending, it);
		e->npending--;
		e->delivered++;
		a->stats.events_delivered++;
		apps__item_free(it);
		apps__pump(a, e);
		return;
	}
	json_error_t jerr;
	json_t *root = json_loadb(msg, len, 0, &jerr);
	id = json_string_value(json_object_get(root, "envelope_id"));
	it = id ? apps__pend_get(&a->pend_by_id, id) : NULL;
	if (!it || it->on != ON_PENDING || it->owner != e) {
		log_debug("app socket message ignored", "app=%s bytes=%zu known=%d", e->id, len,
			  it != NULL);
		json_decref(root);
		return;
	}
	apps__list_remove(&a->pending, it);
	if (it->kind == ITEM_DISPATCH) {
		json_t *payload = json_object_get(root, "payload");
		if (json_is_null(payload))
			payload = NULL;
		it->cb(it->ud, 0, payload);
	} else {
		e->npending--;
		e->delivered++;
		a->stats.events_delivered++;
	}
	apps__item_free(it);
	json_decref(root);
	apps__pump(a, e);
}

static void conn_message_cb(ws_conn *w, const char *msg, size_t len, void *ud)
{
	apps_conn *c = ws_conn_ud(w);
	if (!c || c->closed)
		return;
	apps *a = c->a;
	apps__busy(a);
	apps__socket_message(a, c, msg, len);
	apps__unbusy(a);
}

static void conn_close_cb(ws_conn *w, int code, void *ud)
{
	apps_conn *c = ws_conn_ud(w);
	if (!c)
		return;
	apps__conn_closed(c->a, c);
}

/* ---- tickets and the upgrade ---- */

char *apps_socket_url(apps *a, const app *ap)
{
	if (!a || !ap || ap->deleted)
		return NULL;
	apps_ticket *t = xcalloc(1, sizeof *t);
	snprintf(t->app_id, sizeof t->app_id, "%s", ap->id);
	t->expires_us = clock_now_us() + APPS_TICKET_TTL_US;
	char *hex = ids_secret_hex(APPS_TICKET_BYTES);
	map_put(&a->tickets, hex, t);
	char *url = xasprintf("%s/link/?ticket=%s&app_id=%s", a->ws_base, hex, ap->id);
	free(hex);
	apps__kick(a, false);
	return url;
}

void apps__tickets_purge(apps *a, int64_t now_us)
{
	size_t it = 0;
	const char *k;
	void *v;
	while (map_next(&a->tickets, &it, &k, &v)) {
		apps_ticket *t = v;
		if (t->expires_us <= now_us) {
			map_del(&a->tickets, k);
			free(t);
		}
	}
}

static void refuse(apps *a, http_req *req, int status, const char *why)
{
	a->stats.socket_refused++;
	char *body = xasprintf("{\"ok\":false,\"error\":\"%s\"}", why);
	http_respond(req, status, "application/json; charset=utf-8", NULL, body, strlen(body));
	free(body);
}

static void send_hello(apps *a, apps_conn *c)
{
	apps_app *e = c->owner;
	buf b = BUF_INIT;
	buf_printf(&b,
		   "{\"type\":\"hello\",\"num_connections\":%d,\"debug_info\":{\"host\":\"canal\","
		   "\"build_number\":1,\"approximate_connection_time\":%d},\"connection_info\":"
		   "{\"app_id\":",
		   e->nconns, a->lifetime_s);
	apps__json_str(&b, e->id);
	buf_adds(&b, "}}");
	ws_send_text(c->ws, b.data, b.len);
	buf_release(&b);
}

void apps_handle_upgrade(apps *a, http_req *req)
{
	char ticket[80], app_id[ID_MAX];
	apps_ticket *t = NULL;
	if (rt_query_param(req->query, "ticket", ticket, sizeof ticket) == 0)
		t = map_del(&a->tickets, ticket);
	bool ok = t && t->expires_us > clock_now_us();
	if (ok && rt_query_param(req->query, "app_id", app_id, sizeof app_id) == 0 &&
	    strcmp(app_id, t->app_id) != 0)
		ok = false;
	const app *ap = ok ? core_app_get(a->state, t->app_id) : NULL;
	free(t);
	if (!ap || ap->deleted) {
		refuse(a, req, 401, "invalid_ticket");
		return;
	}
	apps_app *e = apps__entry(a, ap->id, ap->org_id);
	if (e->nconns >= APPS_MAX_CONNS) {
		log_info("app socket refused: too many connections", "app=%s open=%d", ap->id, e->nconns);
		refuse(a, req, 429, "too_many_connections");
		return;
	}
	apps_conn *c = xcalloc(1, sizeof *c);
	c->a = a;
	c->owner = e;
	c->id = ++a->next_conn_id;
	apps__busy(a);
	ws_conn *w = ws_accept(a->ws, req, &conn_callbacks, c);
	if (!w) {
		free(c);  /* the ws layer answered; no callback will come */
		apps__unbusy(a);
		return;
	}
	int64_t now = apps__now(a);
	int life = a->lifetime_s;
	int warn = life / 2 < APPS_REFRESH_WARN_S ? life / 2 : APPS_REFRESH_WARN_S;
	c->ws = w;
	c->opened_ms = now;
	c->refresh_at_ms = now + (int64_t)(life - warn) * 1000;
	e->conns[e->nconns++] = c;
	e->ever_connected = true;
	a->stats.socket_connections++;
	a->stats.socket_accepted++;
	log_info("app socket open", "app=%s conn=%llu open=%d", ap->id, (unsigned long long)c->id,
		 e->nconns);
	send_hello(a, c);
	apps__pump(a, e);
	apps__kick(a, false);
	apps__unbusy(a);
}
