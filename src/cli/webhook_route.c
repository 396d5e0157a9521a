/* Incoming webhooks (slack-api.md §11): POST /services/<T>/<B>/<secret>
 * with a JSON body (or a form whose payload field holds the JSON, which
 * Slack also accepts) posts one message into the hook's channel as its
 * app's bot, through chat.postMessage itself (api_post_as_bot): the same
 * checks, storage and events as a post made with the bot token.
 *
 * The message is the modern app-webhook kind: bot_id and user = the bot
 * user, no subtype (legacy custom-integration hooks used bot_message).
 * username / icon_emoji / icon_url are honoured only for apps holding
 * chat:write.customize, as Slack ignores them on app-owned hooks
 * otherwise; a "channel" in the body is always ignored.
 *
 * Answers are plain text, as Slack's: 200 "ok", or status + error name:
 *   400 invalid_payload     body is not a JSON object (or payload=)
 *   400 no_text             no text, blocks or attachments
 *   400 invalid_blocks / invalid_attachments / too_many_attachments /
 *       msg_too_long / invalid_thread_ts / thread_not_found
 *   403 action_prohibited   the app or its bot may no longer post there
 *   404 no_service          unknown or revoked hook (or T/B mismatch)
 *   404 channel_not_found   the channel is gone
 *   410 channel_is_archived
 *   429 rate_limited        (Retry-After)
 *   500 rollup_error        anything else (internal) */
#include "cli/webhook_route.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_http.h"
#include "base/xalloc.h"

/* Message fields a webhook body may carry; anything else is dropped. */
static const char *const passed[] = {
	"text",       "blocks",       "attachments", "thread_ts", "reply_broadcast", "mrkdwn",
	"link_names", "unfurl_links", "unfurl_media", "parse",    "metadata",       NULL,
};
static const char *const identity[] = {"username", "icon_emoji", "icon_url", NULL};

static const struct {
	const char *api_error;
	int status;
	const char *body;
} error_map[] = {
	{"no_text", 400, "no_text"},
	{"invalid_blocks", 400, "invalid_blocks"},
	{"invalid_attachments", 400, "invalid_attachments"},
	{"too_many_attachments", 400, "too_many_attachments"},
	{"msg_too_long", 400, "msg_too_long"},
	{"invalid_thread_ts", 400, "invalid_thread_ts"},
	{"thread_not_found", 400, "thread_not_found"},
	{"invalid_arguments", 400, "invalid_payload"},
	{"invalid_json", 400, "invalid_payload"},
	{"channel_not_found", 404, "channel_not_found"},
	{"is_archived", 410, "channel_is_archived"},
	{"not_in_channel", 403, "action_prohibited"},
	{"missing_scope", 403, "action_prohibited"},
	{"restricted_action", 403, "action_prohibited"},
	{"account_inactive", 403, "action_prohibited"},
	{"token_revoked", 403, "action_prohibited"},
	{"invalid_auth", 403, "action_prohibited"},
	{"not_allowed_token_type", 403, "action_prohibited"},
	{"ratelimited", 429, "rate_limited"},
};

static void answer(http_req *req, canal_server *s, int status, const char *body,
		   const char *headers)
{
	if (s && s->metrics)
		api_metrics_count(s->metrics, "incoming_webhook", status == 200 ? "ok" : body);
	http_respond(req, status, "text/plain; charset=utf-8", headers, body, strlen(body));
}

typedef struct hook_call {
	http_req *req;
	canal_server *s;
} hook_call;

static void posted_cb(void *ud, json_t *a, int http_status)
{
	hook_call *h = ud;
	if (json_is_true(json_object_get(a, "ok"))) {
		answer(h->req, h->s, 200, "ok", NULL);
	} else {
		const char *err = json_string_value(json_object_get(a, "error"));
		int status = 500;
		const char *body = "rollup_error";
		for (size_t i = 0; err && i < sizeof error_map / sizeof error_map[0]; i++)
			if (strcmp(error_map[i].api_error, err) == 0) {
				status = error_map[i].status;
				body = error_map[i].body;
				break;
			}
		char *hdr = NULL;
		if (status == 429) {
			json_int_t wait = json_integer_value(json_object_get(a, "retry_after"));
			hdr = xasprintf("Retry-After: %lld\r\n", (long long)(wait >= 1 ? wait : 1));
		}
		answer(h->req, h->s, status, body, hdr);
		free(hdr);
	}
	json_decref(a);
	free(h);
}

static bool ctype_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	while (ct && *ct == ' ')
		ct++;
	return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The body's message object: JSON, or a form's payload=<json>. New
 * reference or NULL. */
static json_t *parse_body(http_req *req)
{
	const char *ct = http_req_header(req, "content-type");
	json_t *j = NULL;
	if (ctype_is(ct, "application/x-www-form-urlencoded")) {
		json_t *form = json_object();
		const char *payload = NULL;
		if (api_form_parse(req->body, req->body_len, form) == 0)
			payload = json_string_value(json_object_get(form, "payload"));
		if (payload)
			j = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
		json_decref(form);
	} else if (req->body_len) {
		j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	}
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static bool has_scope(const char *list, const char *scope)
{
	size_t n = strlen(scope);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && memcmp(p, scope, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

void webhook_route(canal_server *s, http_req *req, const char *rest)
{
	if (strcmp(req->method, "POST") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: POST\r\n",
			     "invalid_method", 14);
		return;
	}
	/* <T>/<B>/<secret>, a trailing slash tolerated. */
	char t[ID_MAX], b[ID_MAX], secret[128];
	const char *p1 = strchr(rest, '/'), *p2 = p1 ? strchr(p1 + 1, '/') : NULL;
	size_t tl = p1 ? (size_t)(p1 - rest) : 0, bl = p2 ? (size_t)(p2 - p1 - 1) : 0;
	size_t sl = p2 ? strcspn(p2 + 1, "/") : 0;
	if (!p2 || !tl || tl >= sizeof t || !bl || bl >= sizeof b || !sl || sl >= sizeof secret ||
	    (p2[1 + sl] && strcmp(p2 + 1 + sl, "/") != 0)) {
		answer(req, s, 404, "no_service", NULL);
		return;
	}
	memcpy(t, rest, tl);
	t[tl] = '\0';
	memcpy(b, p1 + 1, bl);
	b[bl] = '\0';
	memcpy(secret, p2 + 1, sl);
	secret[sl] = '\0';

	char hash[TOKEN_HASH_HEX];
	ids_token_hash(secret, hash);
	webhook *w = core_webhook_get(&s->state, hash);
	app *a = w ? core_app_get(&s->state, w->app_id) : NULL;
	if (!w || w->revoked || !a || strcmp(w->org_id, t) != 0 || strcmp(a->bot_id, b) != 0) {
		answer(req, s, 404, "no_service", NULL);
		return;
	}
	if (a->deleted) {
		answer(req, s, 403, "action_prohibited", NULL);
		return;
	}
	channel *ch = core_channel_get(&s->state, w->channel_id);
	if (!ch) {
		answer(req, s, 404, "channel_not_found", NULL);
		return;
	}
	if (ch->archived) {
		answer(req, s, 410, "channel_is_archived", NULL);
		return;
	}
	json_t *body = parse_body(req);
	if (!body) {
		answer(req, s, 400, "invalid_payload", NULL);
		return;
	}
	json_t *args = json_object();
	for (size_t i = 0; passed[i]; i++) {
		json_t *v = json_object_get(body, passed[i]);
		if (v && !json_is_null(v))
			json_object_set(args, passed[i], v);
	}
	if (has_scope(a->scopes, "chat:write.customize"))
		for (size_t i = 0; identity[i]; i++) {
			json_t *v = json_object_get(body, identity[i]);
			if (v && !json_is_null(v))
				json_object_set(args, identity[i], v);
		}
	json_decref(body);
	hook_call *h = xcalloc(1, sizeof *h);
	h->req = req;
	h->s = s;
	api_post_as_bot(&s->env, a, w->channel_id, args, posted_cb, h);
	json_decref(args);
}
