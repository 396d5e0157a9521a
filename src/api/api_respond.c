/* Responses to interactions: message content as apps give it, posting as
 * an app where it was invoked, and response URLs.
 *
 * response_url (slack-api.md §9): POST /respond/<id> with a JSON body
 * (Bolt's respond(): text, blocks, attachments, response_type,
 * replace_original, delete_original, thread_ts); no Authorization: the
 * unguessable id is the grant. Each URL works 5 times within 30 minutes
 * (response-url-ttl), then answers 404 "expired_url" / "used_url".
 *   delete_original   removes the message that held the component (a
 *                     stored one through chat.delete's rules, an
 *                     ephemeral one with a live event to its reader);
 *   replace_original  rewrites it (chat.update's rules; ephemeral: a live
 *                     replacement at the same ts);
 *   else in_channel   a real message by the app's bot in the channel;
 *   else (ephemeral)  live to the person who interacted, never stored.
 * Without an original message (slash commands, shortcuts) replace_original
 * and delete_original are ignored and the body is shown as a new message.
 * Success answers 200 {"ok":true}; a body that is not JSON 400
 * "invalid_payload"; a content error 400 {"ok":false,"error":...}; the
 * original gone 404 {"ok":false,"error":"message_not_found"}.
 * The work runs as the app's bot (api_call_fn), so it is checked, stored
 * and announced like the bot's own calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_interact.h"
#include "api/api_pending.h"
#include "api/handlers.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

/* ---- content ---- */

static int blocks_error(api_ctx *c, const char *why, long index)
{
	char msg[160];
	if (index >= 0)
		snprintf(msg, sizeof msg, "%s [json-pointer:/blocks/%ld]", why, index);
	else
		snprintf(msg, sizeof msg, "%s [json-pointer:/blocks]", why);
	if (!c->err_extra)
		c->err_extra = json_object();
	json_object_set_new(c->err_extra, "errors", json_pack("[s]", msg));
	char *line = xasprintf("[ERROR] %s", msg);
	json_object_set_new(c->err_extra, "response_metadata", json_pack("{s:[s]}", "messages", line));
	free(line);
	return ERR_INVALID_BLOCKS;
}

/* An array field that may be JSON text: new reference, NULL when absent
 * or empty; *bad when it does not parse. */
static json_t *array_field(json_t *obj, const char *name, bool *bad)
{
	json_t *v = json_object_get(obj, name);
	*bad = false;
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!*s)
			return NULL;
		v = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
		if (!v)
			*bad = true;
		return v;
	}
	return json_incref(v);
}

int api_content_parse(api_ctx *c, json_t *obj, api_content *out)
{
	memset(out, 0, sizeof *out);
	int rc = 0;
	bool bad;
	json_t *t = json_object_get(obj, "text");
	out->text = xstrdup(json_is_string(t) ? json_string_value(t) : "");

	json_t *blocks = array_field(obj, "blocks", &bad);
	if (bad) {
		rc = blocks_error(c, "invalid JSON", -1);
		goto out;
	}
	if (blocks) {
		if (!json_is_array(blocks)) {
			rc = blocks_error(c, "expected an array", -1);
			json_decref(blocks);
			goto out;
		}
		if (json_array_size(blocks) > RULES_MAX_BLOCKS) {
			rc = blocks_error(c, "no more than 50 items allowed", -1);
			json_decref(blocks);
			goto out;
		}
		size_t i;
		json_t *b;
		json_array_foreach(blocks, i, b) {
			if (!json_is_object(b) || !json_is_string(json_object_get(b, "type"))) {
				rc = blocks_error(c, "missing required field: type", (long)i);
				json_decref(blocks);
				goto out;
			}
		}
		if (json_array_size(blocks))
			out->blocks = json_dumps(blocks, JSON_COMPACT);
		json_decref(blocks);
	}

	json_t *atts = array_field(obj, "attachments", &bad);
	if (bad || (atts && !json_is_array(atts))) {
		json_decref(atts);
		rc = ERR_INVALID_ATTACHMENTS;
		goto out;
	}
	if (atts) {
		size_t i;
		json_t *a;
		if (json_array_size(atts) > RULES_MAX_ATTACHMENTS)
			rc = ERR_TOO_MANY_ATTACHMENTS;
		json_array_foreach(atts, i, a)
			if (!rc && !json_is_object(a))
				rc = ERR_INVALID_ATTACHMENTS;
		if (!rc && json_array_size(atts))
			out->attachments = json_dumps(atts, JSON_COMPACT);
		json_decref(atts);
		if (rc)
			goto out;
	}

	if (!*out->text && !out->blocks && !out->attachments) {
		rc = ERR_NO_TEXT;
		goto out;
	}
	size_t max = c->env->max_msg_chars ? c->env->max_msg_chars : RULES_MSG_MAX_CHARS;
	if (rules_utf8_len(out->text) > max) {
		rc = ERR_MSG_TOO_LONG;
		goto out;
	}
	json_t *tts = json_object_get(obj, "thread_ts");
	if (tts && !json_is_null(tts)) {
		const char *s = json_string_value(tts);
		char num[64];
		if (json_is_number(tts)) {
			snprintf(num, sizeof num, "%.6f", json_number_value(tts));
			s = num;
		}
		if (s && *s && rules_ts_parse(s, &out->thread_ts) != 0) {
			rc = ERR_INVALID_THREAD_TS;
			goto out;
		}
	}
out:
	if (rc)
		api_content_release(out);
	return rc;
}

void api_content_release(api_content *mc)
{
	free(mc->text);
	free(mc->blocks);
	free(mc->attachments);
	memset(mc, 0, sizeof *mc);
}

/* ---- posting where the app was invoked ---- */

int api_app_post(api_ctx *c, channel *ch, const app *a, const api_content *mc, int64_t *ts_out)
{
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	message m;
	message_init(&m);
	int64_t thread = 0;
	if (mc->thread_ts) {
		/* A reply joins its thread's root, as chat.postMessage does. */
		message root;
		message_init(&root);
		int rc = store_msg_get(c->env->store, ch->id, mc->thread_ts, &root);
		if (!rc)
			thread = root.thread_ts && root.thread_ts != root.ts ? root.thread_ts : root.ts;
		message_release(&root);
		if (rc)
			return ERR_THREAD_NOT_FOUND;
	}
	snprintf(m.user_id, sizeof m.user_id, "%s", a->bot_user_id);
	snprintf(m.bot_id, sizeof m.bot_id, "%s", a->bot_id);
	snprintf(m.app_id, sizeof m.app_id, "%s", a->id);
	m.text = xstrdup(mc->text ? mc->text : "");
	m.blocks = xstrdup(mc->blocks);
	m.attachments = xstrdup(mc->attachments);
	m.thread_ts = thread;
	int64_t ts = api_post(c, ch, &m);
	if (ts_out)
		*ts_out = ts;
	message_release(&m);
	return 0;
}

int api_respond_show(api_ctx *c, const app *a, channel *ch, const char *user_id, json_t *resp,
		     json_t **shown)
{
	if (shown)
		*shown = NULL;
	json_t *body = NULL;
	if (json_is_string(resp))
		body = json_pack("{s:s}", "text", json_string_value(resp));
	else if (json_is_object(resp))
		body = json_incref(resp);
	json_t *t = json_object_get(body, "text"), *b = json_object_get(body, "blocks"),
	       *at = json_object_get(body, "attachments");
	bool has_text = json_is_string(t) && *json_string_value(t);
	if (!body || (!has_text && !json_array_size(b) && !json_array_size(at) &&
		      !json_is_string(b) && !json_is_string(at))) {
		json_decref(body);
		return 0; /* nothing to show (an empty ack) */
	}
	api_content mc;
	int rc = api_content_parse(c, body, &mc);
	if (rc) {
		json_decref(body);
		return rc;
	}
	const char *rt = json_string_value(json_object_get(body, "response_type"));
	bool in_channel = rt && strcmp(rt, "in_channel") == 0;
	int64_t ts = 0;
	if (in_channel)
		rc = api_app_post(c, ch, a, &mc, &ts);
	else
		ts = api_ephemeral_send(c, ch, user_id, a, &mc, 0);
	if (!rc && shown) {
		json_t *s = json_pack("{s:s,s:s,s:o}", "response_type", in_channel ? "in_channel" : "ephemeral",
				      "text", mc.text, "ts", api_ts_json(ts));
		if (mc.blocks)
			json_object_set_new(s, "blocks", json_loads(mc.blocks, 0, NULL));
		if (mc.attachments)
			json_object_set_new(s, "attachments", json_loads(mc.attachments, 0, NULL));
		*shown = s;
	}
	api_content_release(&mc);
	json_decref(body);
	return rc;
}

/* ---- POST /respond/<id> ---- */

int api_run_with_args(api_ctx *c, api_handler fn, json_t *args)
{
	json_t *saved = c->args;
	c->args = args;
	int rc = fn(c);
	c->args = saved;
	json_decref(args);
	json_decref(c->out);
	c->out = json_pack("{s:b}", "ok", 1);
	return rc;
}

static bool flag(json_t *body, const char *name)
{
	json_t *v = json_object_get(body, name);
	if (json_is_string(v))
		return !strcmp(json_string_value(v), "true") || !strcmp(json_string_value(v), "1");
	return json_is_true(v) || (json_is_integer(v) && json_integer_value(v));
}

/* Canal's own "method": runs as the app's bot; args are the response
 * URL's facts ("channel", "user", "message_ts", "ephemeral") and "body". */
static int respond_run(api_ctx *c)
{
	json_t *body = json_object_get(c->args, "body");
	const char *user_id = json_string_value(json_object_get(c->args, "user"));
	int64_t orig = json_integer_value(json_object_get(c->args, "message_ts"));
	bool orig_ephemeral = json_is_true(json_object_get(c->args, "ephemeral"));
	const char *chan = json_string_value(json_object_get(c->args, "channel"));
	channel *ch = chan && *chan ? core_channel_get(c->env->state, chan) : NULL;
	if (!ch || !c->app)
		return ERR_CHANNEL_NOT_FOUND;
	char ts[24];
	rules_ts_format(orig, ts);

	if (orig && flag(body, "delete_original")) {
		if (orig_ephemeral) {
			if (!api_pending_ephemeral_get(user_id, orig, c->now_us))
				return ERR_MESSAGE_NOT_FOUND;
			api_ephemeral_delete(c, ch->id, user_id, orig);
			return 0;
		}
		return api_run_with_args(c, api_chat_delete, json_pack("{s:s,s:s}", "channel", ch->id, "ts", ts));
	}
	if (orig && flag(body, "replace_original")) {
		api_content mc;
		int rc = api_content_parse(c, body, &mc);
		if (rc)
			return rc;
		if (orig_ephemeral) {
			if (!api_pending_ephemeral_get(user_id, orig, c->now_us))
				rc = ERR_MESSAGE_NOT_FOUND;
			else
				api_ephemeral_send(c, ch, user_id, c->app, &mc, orig);
			api_content_release(&mc);
			return rc;
		}
		/* A replacement is the whole message: what it leaves out goes. */
		json_t *args = json_pack("{s:s,s:s,s:s}", "channel", ch->id, "ts", ts, "text", mc.text);
		json_object_set_new(args, "blocks", mc.blocks ? json_loads(mc.blocks, 0, NULL) : json_array());
		json_object_set_new(args, "attachments",
				    mc.attachments ? json_loads(mc.attachments, 0, NULL) : json_array());
		api_content_release(&mc);
		return api_run_with_args(c, api_chat_update, args);
	}
	api_content mc;
	int rc = api_content_parse(c, body, &mc);
	if (rc)
		return rc;
	const char *rt = json_string_value(json_object_get(body, "response_type"));
	if (rt && strcmp(rt, "in_channel") == 0)
		rc = api_app_post(c, ch, c->app, &mc, NULL);
	else
		api_ephemeral_send(c, ch, user_id, c->app, &mc, 0);
	api_content_release(&mc);
	return rc;
}

static void respond_done(void *ud, json_t *answer, int status)
{
	http_req *req = ud;
	const char *err = json_string_value(json_object_get(answer, "error"));
	if (err && status == 200) {
		bool gone = !strcmp(err, "message_not_found") || !strcmp(err, "channel_not_found") ||
			    !strcmp(err, "not_found");
		status = gone ? 404 : 400;
	}
	char *body = json_dumps(answer, JSON_COMPACT);
	http_respond_owned(req, status, "application/json; charset=utf-8", NULL, body, strlen(body));
	json_decref(answer);
}

static void respond_text(http_req *req, int status, const char *text)
{
	http_respond(req, status, "text/plain; charset=utf-8", NULL, text, strlen(text));
}

void api_respond_http(api_env *env, http_req *req, const char *id)
{
	if (strcmp(req->method, "POST") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: POST\r\n", "method_not_allowed",
			     18);
		return;
	}
	char idbuf[PEND_ID_MAX];
	snprintf(idbuf, sizeof idbuf, "%s", id);
	size_t n = strlen(idbuf);
	if (n && idbuf[n - 1] == '/')
		idbuf[n - 1] = '\0';
	const char *why;
	int64_t now = clock_now_us();
	pend_response *r = api_pending_response_get(idbuf, now, &why);
	if (!r) {
		respond_text(req, 404, why);
		return;
	}
	json_t *body = req->body_len ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL)
				     : NULL;
	if (!json_is_object(body)) {
		json_decref(body);
		respond_text(req, 400, "invalid_payload");
		return;
	}
	app *a = core_app_get(env->state, r->app_id);
	token *tok = a && !a->deleted ? api_bot_token(env->state, a) : NULL;
	if (!tok) {
		json_decref(body);
		respond_text(req, 404, "expired_url");
		return;
	}
	r->uses_left--;
	api_pending_response_save(r);
	json_t *args = json_pack("{s:s,s:s,s:I,s:b,s:o}", "channel", r->channel_id, "user", r->user_id,
				 "message_ts", (json_int_t)r->message_ts, "ephemeral",
				 r->message_ephemeral, "body", body);
	log_debug("response_url", "app=%s uses_left=%d", a->id, r->uses_left);
	api_call_fn(env, "response_url", respond_run, args, tok, respond_done, req);
	json_decref(args);
}
