/* Events API request URL verification (Slack's url_verification).
 *
 * When an app's request URL is saved, Slack POSTs
 * {"token":"<verification token>","challenge":"<random>","type":"url_verification"}
 * (application/json, signed like every delivery) and keeps the URL only
 * if the endpoint answers 200 with the challenge: as the plain body, as
 * JSON {"challenge":"..."} (what Bolt answers) or as the form
 * challenge=... (Slack accepts the three). Anything else refuses the URL
 * with the reason Slack's app settings page gives.
 *
 * Runs through fetch like deliveries: nothing here blocks the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "rt/apps_internal.h"

typedef struct verify {
	char *challenge;
	char *url;
	apps_verify_cb cb;
	void *ud;
} verify;

/* Does the answer body carry the challenge? (trimmed plain text, JSON
 * object with "challenge", or form challenge=) */
int apps_verify_answer_ok(const char *challenge, const char *body, size_t len)
{
	while (len && strchr(" \t\r\n", body[0]))
		body++, len--;
	while (len && strchr(" \t\r\n", body[len - 1]))
		len--;
	size_t cl = strlen(challenge);
	if (len == cl && !memcmp(body, challenge, cl))
		return 1;
	if (len > 10 && !memcmp(body, "challenge=", 10)) {
		const char *v = body + 10;
		size_t vl = len - 10;
		const char *amp = memchr(v, '&', vl);
		if (amp)
			vl = (size_t)(amp - v);
		return vl == cl && !memcmp(v, challenge, cl);
	}
	if (len && body[0] == '{') {
		json_error_t je;
		json_t *j = json_loadb(body, len, 0, &je);
		const char *v = json_string_value(json_object_get(j, "challenge"));
		int ok = v && !strcmp(v, challenge);
		json_decref(j);
		return ok;
	}
	return 0;
}

static void verify_done_cb(void *ud, const fetch_result *r)
{
	verify *v = ud;
	char why[160];
	int ok = 0;
	if (!r->status)
		snprintf(why, sizeof why, "Your URL could not be reached (%s).",
			 r->err ? r->err : "unknown_error");
	else if (r->status != 200)
		snprintf(why, sizeof why, "Your request URL gave us a %d error.", r->status);
	else if (!apps_verify_answer_ok(v->challenge, r->body, r->body_len))
		snprintf(why, sizeof why,
			 "Your URL didn't respond with the value of the challenge parameter.");
	else
		ok = 1, why[0] = '\0';
	log_info("app request URL verification", "url=\"%s\" ok=%d status=%d", v->url, ok,
		 r->status);
	v->cb(v->ud, ok, ok ? NULL : why);
	free(v->challenge);
	free(v->url);
	free(v);
}

int apps_verify_url(apps *a, const char *url, const char *signing_secret, const char *vtoken,
		    apps_verify_cb cb, void *ud)
{
	if (!a || !a->fetch || a->fetch_gone)
		return -1;
	verify *v = xcalloc(1, sizeof *v);
	v->challenge = ids_secret_hex(24);
	v->url = xstrdup(url);
	v->cb = cb;
	v->ud = ud;
	buf b = BUF_INIT;
	buf_adds(&b, "{\"token\":");
	apps__json_str(&b, vtoken ? vtoken : "");
	buf_adds(&b, ",\"challenge\":");
	apps__json_str(&b, v->challenge);
	buf_adds(&b, ",\"type\":\"url_verification\"}");
	long long ts = (long long)clock_now_s();
	char sig[68], h_ts[64], h_sig[96];
	fetch_slack_signature(signing_secret ? signing_secret : "", ts, b.data, b.len, sig);
	snprintf(h_ts, sizeof h_ts, "X-Slack-Request-Timestamp: %lld", ts);
	snprintf(h_sig, sizeof h_sig, "X-Slack-Signature: %s", sig);
	const char *headers[] = {h_ts, h_sig, NULL};
	a->stats.http_requests++;
	fetch_post(a->fetch, url, "application/json", headers, b.data, b.len, APPS_ACK_MS,
		   verify_done_cb, v);
	buf_release(&b);
	return 0;
}
