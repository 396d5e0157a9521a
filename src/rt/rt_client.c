/* Messages from the client on an RTM socket.
 *
 * Each text message is one JSON object with a "type" found in the table
 * below. Whatever else arrives (bad JSON, not an object, no or unknown
 * type, bad arguments) gets an error event in Slack's shape and the socket
 * stays open:
 *   {"type":"error","error":{"code":N,"msg":"..."}}
 * plus "ok":false and "reply_to" when the client gave an "id".
 * Flooding is bounded per session and second: past RT_RATE_SOFT messages
 * each is answered with an error and dropped, past RT_RATE_HARD the socket
 * is closed with 1008. */
#include "rt/rt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "core/rules.h"

typedef enum rt_client_err {
	RT_E_INVALID,
	RT_E_UNSUPPORTED,
	RT_E_RATE,
	RT_E_CHANNEL,
	RT_E_TOO_LARGE,
	RT_E_ARGS,
} rt_client_err;

static const struct {
	int code;
	const char *msg;
} client_errors[] = {
	[RT_E_INVALID] = {1, "invalid message"},
	[RT_E_UNSUPPORTED] = {2, "unsupported type"},
	[RT_E_RATE] = {3, "rate limited"},
	[RT_E_CHANNEL] = {4, "channel not found"},
	[RT_E_TOO_LARGE] = {5, "message too large"},
	[RT_E_ARGS] = {6, "invalid arguments"},
};

static void send_json(rt_session *s, json_t *j)
{
	char *js = json_dumps(j, JSON_COMPACT);
	if (js && s->ws)
		ws_send_text(s->ws, js, strlen(js));
	free(js);
}

/* id: the client's "id" (borrowed, may be NULL). */
static void send_error(rt_session *s, json_t *id, rt_client_err e)
{
	json_t *j = json_pack("{s:s,s:{s:i,s:s}}", "type", "error", "error", "code",
			      client_errors[e].code, "msg", client_errors[e].msg);
	if (id) {
		json_object_set_new(j, "ok", json_false());
		json_object_set(j, "reply_to", id);
	}
	send_json(s, j);
	json_decref(j);
}

/* {"type":"ping","id":N,...} -> {"type":"pong","reply_to":N,...}: every
 * other field comes back as sent (clients put a time in it). */
static void client_ping(rt *r, rt_session *s, json_t *msg, json_t *id)
{
	json_t *pong = json_copy(msg);
	json_object_del(pong, "id");
	json_object_set_new(pong, "type", json_string("pong"));
	if (id)
		json_object_set(pong, "reply_to", id);
	send_json(s, pong);
	json_decref(pong);
}

/* {"type":"typing","channel":C} -> user_typing to C's other members.
 * With "thread_ts":T (someone typing a thread reply) the event carries the
 * same thread_ts, as Slack's does. T must be a ts ("1712345678.000100");
 * whether that thread exists is not checked (that would be a database
 * read per keystroke): the event only says someone is typing there. */
static void client_typing(rt *r, rt_session *s, json_t *msg, json_t *id)
{
	json_t *jt = json_object_get(msg, "thread_ts");
	int64_t tsv;
	char thread_ts[24] = "";
	if (jt && !json_is_null(jt)) {
		const char *t = json_string_value(jt);
		if (!t || rules_ts_parse(t, &tsv) != 0 || tsv <= 0) {
			send_error(s, id, RT_E_ARGS);
			return;
		}
		rules_ts_format(tsv, thread_ts);
	}
	const char *cid = json_string_value(json_object_get(msg, "channel"));
	channel *ch = cid ? core_channel_get(r->state, cid) : NULL;
	if (!ch || ch->archived || strcmp(ch->org_id, s->org_id) != 0 ||
	    !core_member_get(ch, s->user_id)) {
		send_error(s, id, RT_E_CHANNEL);
		return;
	}
	char js[200];
	int len;
	if (thread_ts[0])
		len = snprintf(js, sizeof js,
			       "{\"type\":\"user_typing\",\"channel\":\"%s\",\"thread_ts\":\"%s\",\"user\":\"%s\"}",
			       ch->id, thread_ts, s->user_id);
	else
		len = snprintf(js, sizeof js, "{\"type\":\"user_typing\",\"channel\":\"%s\",\"user\":\"%s\"}",
			       ch->id, s->user_id);
	bus_msg m = {.scope = BUS_CHANNEL, .except_session = s->id, .json = js, .len = (size_t)len};
	snprintf(m.org_id, sizeof m.org_id, "%s", ch->org_id);
	snprintf(m.channel_id, sizeof m.channel_id, "%s", ch->id);
	snprintf(m.user_id, sizeof m.user_id, "%s", s->user_id);
	rt__publish(r, &m);
}

/* The "ids" array of presence_sub / presence_query as borrowed strings
 * (non-strings skipped); -1 if missing or longer than the limit. */
static int presence_ids(json_t *msg, const char **ids, size_t *n)
{
	json_t *arr = json_object_get(msg, "ids");
	if (!json_is_array(arr) || json_array_size(arr) > RT_PRESENCE_MAX_IDS)
		return -1;
	size_t i;
	json_t *v;
	*n = 0;
	json_array_foreach(arr, i, v) {
		if (json_is_string(v))
			ids[(*n)++] = json_string_value(v);
	}
	return 0;
}

static void client_presence_sub(rt *r, rt_session *s, json_t *msg, json_t *id)
{
	const char *ids[RT_PRESENCE_MAX_IDS];
	size_t n;
	if (presence_ids(msg, ids, &n) != 0) {
		send_error(s, id, RT_E_ARGS);
		return;
	}
	rt__presence_sub(r, s, ids, n);
}

static void client_presence_query(rt *r, rt_session *s, json_t *msg, json_t *id)
{
	const char *ids[RT_PRESENCE_MAX_IDS];
	size_t n;
	if (presence_ids(msg, ids, &n) != 0) {
		send_error(s, id, RT_E_ARGS);
		return;
	}
	for (size_t i = 0; i < n; i++)
		rt__presence_tell(r, s, ids[i]);
}

static const struct {
	const char *type;
	void (*fn)(rt *r, rt_session *s, json_t *msg, json_t *id);
} client_types[] = {
	{"ping", client_ping},
	{"presence_query", client_presence_query},
	{"presence_sub", client_presence_sub},
	{"typing", client_typing},
};

/* true if this message is over the per-second budget (and was handled). */
static bool rate_limited(rt_session *s, int64_t now_us)
{
	int64_t sec = now_us / 1000000;
	if (sec != s->rl_window) {
		s->rl_window = sec;
		s->rl_count = 0;
	}
	s->rl_count++;
	if (s->rl_count > RT_RATE_HARD) {
		if (s->ws)
			ws_close(s->ws, 1008, "rate limit");
		return true;
	}
	if (s->rl_count > RT_RATE_SOFT) {
		send_error(s, NULL, RT_E_RATE);
		return true;
	}
	return false;
}

void rt__client_message(rt *r, rt_session *s, const char *msg, size_t len)
{
	int64_t now = clock_now_us();
	s->last_activity_us = now;
	/* Any message from the client (ping, typing, subscriptions) is a
	 * client in use: it keeps or makes its user active. Protocol-level
	 * pongs to the server's pings never get here. */
	if (s->ue)
		rt__activity(r, s->ue, now);
	if (rate_limited(s, now))
		return;
	if (len > RT_CLIENT_MAX_BYTES) {
		send_error(s, NULL, RT_E_TOO_LARGE);
		return;
	}
	json_t *j = json_loadb(msg, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		send_error(s, NULL, RT_E_INVALID);
		goto out;
	}
	json_t *id = json_object_get(j, "id");
	if (id && !json_is_integer(id) && !json_is_string(id) && !json_is_real(id))
		id = NULL;
	const char *type = json_string_value(json_object_get(j, "type"));
	if (!type) {
		send_error(s, id, RT_E_INVALID);
		goto out;
	}
	for (size_t i = 0; i < sizeof client_types / sizeof client_types[0]; i++) {
		if (strcmp(client_types[i].type, type) == 0) {
			client_types[i].fn(r, s, j, id);
			goto out;
		}
	}
	send_error(s, id, RT_E_UNSUPPORTED);
out:
	json_decref(j);
}
