/* Real-time events queued by the Web API handlers: which event, in which
 * shape, to which scope, with which mentions. Handlers run in-process
 * against a real store (opened without a loop: every job commits before
 * store_submit returns); a capturing bus records each published bus_msg.
 * Also client.counts / conversations.info mention counts
 * (store_msg_mention_counts) and the presence methods without an rt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/handlers.h"
#include "base/xalloc.h"
#include "rt/bus.h"

typedef struct fx {
	char dir[64];
	store *st;
	core_state s;
	api_env env;
	bus bus;
	json_t *got;   /* [{"scope","org","channel","user","event","mentions","marked"}] */
	org *o, *o2;
	user *alice, *bob, *carol, *botu, *zed;
	app *bot;
	channel *pub, *priv;
} fx;

static void capture(bus *b, const bus_msg *m)
{
	fx *f = b->deliver[0].ud;
	json_t *ev = json_loadb(m->json, m->len, 0, NULL);
	assert_non_null(ev);
	json_t *rec = json_pack("{s:i,s:s,s:s,s:s,s:o}", "scope", (int)m->scope, "org", m->org_id,
				"channel", m->channel_id, "user", m->user_id, "event", ev);
	if (m->mentions) {
		json_object_set_new(rec, "mentions", json_string(m->mentions));
		json_t *mk = json_loadb(m->mention_json, m->mention_len, 0, NULL);
		assert_non_null(mk);
		assert_true(json_is_true(json_object_get(mk, "mentioned")));
		json_decref(mk);
	}
	json_array_append_new(f->got, rec);
}

static void bus_free_nop(bus *b)
{
}

static user *mk_user(fx *f, org *o, const char *id, const char *name, bool bot)
{
	user *u = core_user_new(id, o->id);
	u->name = xstrdup(name);
	u->email = bot ? NULL : xasprintf("%s@example.com", name);
	u->is_bot = bot;
	core_user_add(&f->s, u);
	return u;
}

static void mk_token(fx *f, const char *secret, token_kind kind, const user *u, const app *a,
		     const char *scopes)
{
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(secret, hash);
	token *t = core_token_new(hash, kind);
	snprintf(t->org_id, sizeof t->org_id, "%s", u->org_id);
	snprintf(t->user_id, sizeof t->user_id, "%s", u->id);
	if (a)
		snprintf(t->app_id, sizeof t->app_id, "%s", a->id);
	t->scopes = xstrdup(scopes);
	core_token_add(&f->s, t);
}

static channel *mk_chan(fx *f, const char *id, chan_kind kind, const char *name, user **members)
{
	channel *c = core_channel_new(id, f->o->id, kind);
	c->name = xstrdup(name);
	snprintf(c->creator, sizeof c->creator, "%s", members[0]->id);
	core_channel_add(&f->s, c);
	for (; *members; members++)
		core_member_add(c, (*members)->id, 1);
	return c;
}

static int setup(void **state)
{
	fx *f = xcalloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/canal-unit-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	store_cfg cfg = {.dir = f->dir, .sync = STORE_SYNC_OFF};
	char err[256];
	f->st = store_open(&cfg, NULL, err, sizeof err);
	assert_non_null(f->st);
	core_state_init(&f->s);
	f->bus = (bus){.publish = capture, .free = bus_free_nop};
	f->bus.deliver[0].ud = f;
	f->got = json_array();
	f->env = (api_env){.state = &f->s, .store = f->st, .base_url = "http://canal.test",
			   .bus = &f->bus};

	f->o = core_org_new("T1");
	f->o->name = xstrdup("acme");
	f->o->domain = xstrdup("acme");
	core_org_add(&f->s, f->o);
	f->o2 = core_org_new("T2");
	core_org_add(&f->s, f->o2);
	f->alice = mk_user(f, f->o, "UALICE", "alice", false);
	f->bob = mk_user(f, f->o, "UBOB", "bob", false);
	f->carol = mk_user(f, f->o, "UCAROL", "carol", false);
	f->botu = mk_user(f, f->o, "UBOT", "robot", true);
	f->zed = mk_user(f, f->o2, "UZED", "zed", false);
	f->bot = core_app_new("AAPP", "T1");
	f->bot->name = xstrdup("robot");
	snprintf(f->bot->bot_id, sizeof f->bot->bot_id, "BBOT");
	snprintf(f->bot->bot_user_id, sizeof f->bot->bot_user_id, "UBOT");
	core_app_add(&f->s, f->bot);
	mk_token(f, "alice", TOKEN_USER, f->alice, NULL, "*");
	mk_token(f, "bob", TOKEN_USER, f->bob, NULL, "*");
	mk_token(f, "carol", TOKEN_USER, f->carol, NULL, "*");
	mk_token(f, "bot", TOKEN_BOT, f->botu, f->bot, "chat:write,reactions:write,users:read");
	f->pub = mk_chan(f, "CPUB", CHAN_PUBLIC, "pub", (user *[]){f->alice, f->bob, f->botu, NULL});
	f->priv = mk_chan(f, "CPRIV", CHAN_PRIVATE, "priv", (user *[]){f->alice, f->bob, NULL});
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	store_close(f->st);
	core_state_release(&f->s);
	json_decref(f->got);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ---- calling methods ---- */

static void answer_cb(void *ud, json_t *answer, int http_status)
{
	*(json_t **)ud = answer;
}

/* Calls method as tok with json_pack(fmt, ...) args; forgets the events
 * captured so far first. Returns the answer (caller decrefs). */
static json_t *call(fx *f, const char *method, const char *tok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *args = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	assert_non_null(args);
	json_array_clear(f->got);
	json_t *answer = NULL;
	api_call(&f->env, method, args, tok, answer_cb, &answer);
	json_decref(args);
	assert_non_null(answer);
	return answer;
}

static char result[64];
static const char *res(json_t *a)
{
	const char *e = json_string_value(json_object_get(a, "error"));
	snprintf(result, sizeof result, "%s", json_is_true(json_object_get(a, "ok")) ? "ok" : e ? e : "?");
	json_decref(a);
	return result;
}

#define expect(f, want, ...) assert_string_equal(res(call((f), __VA_ARGS__)), (want))

/* Posts text (in thread if not NULL) and returns its ts in out[24]. */
static void post(fx *f, const char *tok, const char *chan, const char *text, const char *thread,
		 char out[24])
{
	json_t *a = thread ? call(f, "chat.postMessage", tok, "{s:s,s:s,s:s}", "channel", chan, "text",
				  text, "thread_ts", thread)
			   : call(f, "chat.postMessage", tok, "{s:s,s:s}", "channel", chan, "text", text);
	const char *ts = json_string_value(json_object_get(a, "ts"));
	assert_non_null(ts);
	snprintf(out, 24, "%s", ts);
	json_decref(a);
}

/* The i-th captured record whose event has this type (and subtype, when
 * not NULL), or NULL. */
static json_t *find(fx *f, const char *type, const char *subtype, int nth)
{
	size_t i;
	json_t *r;
	json_array_foreach(f->got, i, r) {
		json_t *e = json_object_get(r, "event");
		const char *t = json_string_value(json_object_get(e, "type"));
		const char *st = json_string_value(json_object_get(e, "subtype"));
		if (!t || strcmp(t, type) != 0)
			continue;
		if (subtype && (!st || strcmp(st, subtype) != 0))
			continue;
		if (nth-- == 0)
			return r;
	}
	return NULL;
}

static json_t *ev(json_t *rec)
{
	assert_non_null(rec);
	return json_object_get(rec, "event");
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(none)";
}

static void assert_scope(json_t *rec, int scope, const char *id)
{
	assert_non_null(rec);
	assert_int_equal(json_integer_value(json_object_get(rec, "scope")), scope);
	if (scope == BUS_CHANNEL)
		assert_string_equal(str(rec, "channel"), id);
	else if (scope == BUS_USER)
		assert_string_equal(str(rec, "user"), id);
	else
		assert_string_equal(str(rec, "org"), id);
}

/* ---- messages ---- */

static void test_post_events(void **state)
{
	fx *f = *state;
	char ts[24], r1[24];
	post(f, "alice", "CPUB", "hi <@UBOB> and <!here>", NULL, ts);
	assert_int_equal(json_array_size(f->got), 1);
	json_t *rec = find(f, "message", NULL, 0);
	assert_scope(rec, BUS_CHANNEL, "CPUB");
	assert_string_equal(str(rec, "mentions"), "UBOB,here");
	json_t *e = ev(rec);
	assert_string_equal(str(e, "ts"), ts);
	assert_string_equal(str(e, "event_ts"), ts);
	assert_string_equal(str(e, "channel_type"), "channel");
	assert_string_equal(str(e, "user"), "UALICE");

	/* A reply: its own event, then message_replied with the summary. */
	post(f, "bob", "CPUB", "reply", ts, r1);
	assert_int_equal(json_array_size(f->got), 2);
	e = ev(find(f, "message", NULL, 0));
	assert_string_equal(str(e, "ts"), r1);
	assert_string_equal(str(e, "thread_ts"), ts);
	assert_string_equal(str(e, "parent_user_id"), "UALICE");
	assert_null(json_object_get(json_array_get(f->got, 0), "mentions"));
	rec = find(f, "message", "message_replied", 0);
	assert_scope(rec, BUS_CHANNEL, "CPUB");
	e = ev(rec);
	assert_true(json_is_true(json_object_get(e, "hidden")));
	assert_string_equal(str(e, "ts"), ts);
	assert_string_equal(str(e, "event_ts"), r1);
	json_t *p = json_object_get(e, "message");
	assert_string_equal(str(p, "ts"), ts);
	assert_string_equal(str(p, "thread_ts"), ts);
	assert_int_equal(json_integer_value(json_object_get(p, "reply_count")), 1);
	assert_int_equal(json_integer_value(json_object_get(p, "reply_users_count")), 1);
	assert_string_equal(str(p, "latest_reply"), r1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(p, "reply_users"), 0)), "UBOB");

	/* Replying to the reply joins the same thread; bob again is no new
	 * replier. A broadcast carries its root. */
	json_t *a = call(f, "chat.postMessage", "bob", "{s:s,s:s,s:s,s:b}", "channel", "CPUB", "text", "bc",
			 "thread_ts", r1, "reply_broadcast", 1);
	char bts[24];
	snprintf(bts, sizeof bts, "%s", str(a, "ts"));
	json_decref(a);
	e = ev(find(f, "message", "thread_broadcast", 0));
	assert_string_equal(str(e, "ts"), bts);
	assert_string_equal(str(json_object_get(e, "root"), "ts"), ts);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "root"), "reply_count")), 2);
	p = json_object_get(ev(find(f, "message", "message_replied", 0)), "message");
	assert_int_equal(json_integer_value(json_object_get(p, "reply_count")), 2);
	assert_int_equal(json_integer_value(json_object_get(p, "reply_users_count")), 1);
	assert_string_equal(str(p, "latest_reply"), bts);

	/* Another replier; the summary agrees with the store afterwards. */
	post(f, "alice", "CPUB", "r3", ts, r1);
	p = json_incref(json_object_get(ev(find(f, "message", "message_replied", 0)), "message"));
	a = call(f, "conversations.replies", "alice", "{s:s,s:s}", "channel", "CPUB", "ts", ts);
	json_t *stored = json_array_get(json_object_get(a, "messages"), 0);
	assert_true(json_equal(json_object_get(p, "reply_users"), json_object_get(stored, "reply_users")));
	assert_true(json_equal(json_object_get(p, "reply_count"), json_object_get(stored, "reply_count")));
	assert_true(json_equal(json_object_get(p, "reply_users_count"),
			       json_object_get(stored, "reply_users_count")));
	assert_true(json_equal(json_object_get(p, "latest_reply"), json_object_get(stored, "latest_reply")));
	json_decref(a);
	json_decref(p);

	/* meMessage: one event from api_post, nothing twice. */
	expect(f, "ok", "chat.meMessage", "alice", "{s:s,s:s}", "channel", "CPRIV", "text", "waves");
	assert_int_equal(json_array_size(f->got), 1);
	rec = find(f, "message", "me_message", 0);
	assert_scope(rec, BUS_CHANNEL, "CPRIV");
	assert_string_equal(str(ev(rec), "channel_type"), "group");

	/* A failed request publishes nothing. */
	expect(f, "not_in_channel", "chat.postMessage", "carol", "{s:s,s:s}", "channel", "CPUB", "text", "x");
	assert_int_equal(json_array_size(f->got), 0);
}

static void test_update_delete_events(void **state)
{
	fx *f = *state;
	char ts[24], parent[24], reply[24];
	post(f, "alice", "CPUB", "typo", NULL, ts);
	expect(f, "ok", "chat.update", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "ts", ts, "text", "fixed");
	assert_int_equal(json_array_size(f->got), 1);
	json_t *rec = find(f, "message", "message_changed", 0);
	assert_scope(rec, BUS_CHANNEL, "CPUB");
	json_t *e = ev(rec);
	assert_true(json_is_true(json_object_get(e, "hidden")));
	assert_string_equal(str(e, "channel"), "CPUB");
	assert_string_equal(str(e, "channel_type"), "channel");
	json_t *m = json_object_get(e, "message");
	assert_string_equal(str(m, "text"), "fixed");
	assert_string_equal(str(e, "ts"), str(json_object_get(m, "edited"), "ts"));
	assert_string_equal(str(e, "event_ts"), str(e, "ts"));
	assert_string_equal(str(json_object_get(e, "previous_message"), "text"), "typo");
	assert_string_equal(str(json_object_get(e, "previous_message"), "ts"), ts);

	expect(f, "ok", "chat.delete", "alice", "{s:s,s:s}", "channel", "CPUB", "ts", ts);
	assert_int_equal(json_array_size(f->got), 1);
	e = ev(find(f, "message", "message_deleted", 0));
	assert_string_equal(str(e, "deleted_ts"), ts);
	assert_true(json_is_true(json_object_get(e, "hidden")));
	assert_string_equal(str(json_object_get(e, "previous_message"), "text"), "fixed");
	assert_string_equal(str(e, "ts"), str(e, "event_ts"));
	assert_true(strcmp(str(e, "ts"), ts) > 0);

	/* A parent with replies becomes a tombstone: message_changed. */
	post(f, "alice", "CPUB", "parent", NULL, parent);
	post(f, "bob", "CPUB", "reply", parent, reply);
	expect(f, "ok", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", parent,
	       "name", "eyes");
	expect(f, "ok", "chat.delete", "alice", "{s:s,s:s}", "channel", "CPUB", "ts", parent);
	assert_int_equal(json_array_size(f->got), 1);
	e = ev(find(f, "message", "message_changed", 0));
	m = json_object_get(e, "message");
	assert_string_equal(str(m, "subtype"), "tombstone");
	assert_string_equal(str(m, "ts"), parent);
	assert_true(json_is_true(json_object_get(m, "hidden")));
	assert_null(json_object_get(m, "reactions"));
	assert_string_equal(str(json_object_get(e, "previous_message"), "text"), "parent");

	/* Its last reply goes: the reply and then the tombstone are deleted. */
	expect(f, "ok", "chat.delete", "bob", "{s:s,s:s}", "channel", "CPUB", "ts", reply);
	assert_int_equal(json_array_size(f->got), 2);
	assert_string_equal(str(ev(find(f, "message", "message_deleted", 0)), "deleted_ts"), reply);
	assert_string_equal(str(ev(find(f, "message", "message_deleted", 1)), "deleted_ts"), parent);
}

static void test_reaction_pin_events(void **state)
{
	fx *f = *state;
	char ts[24];
	post(f, "bot", "CPUB", "beep", NULL, ts);
	expect(f, "ok", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts, "name",
	       ":tada:");
	assert_int_equal(json_array_size(f->got), 1);
	json_t *rec = find(f, "reaction_added", NULL, 0);
	assert_scope(rec, BUS_CHANNEL, "CPUB");
	json_t *e = ev(rec);
	assert_string_equal(str(e, "user"), "UBOB");
	assert_string_equal(str(e, "reaction"), "tada");
	assert_string_equal(str(e, "item_user"), "UBOT");
	json_t *item = json_object_get(e, "item");
	assert_string_equal(str(item, "type"), "message");
	assert_string_equal(str(item, "channel"), "CPUB");
	assert_string_equal(str(item, "ts"), ts);
	assert_non_null(json_object_get(e, "event_ts"));
	expect(f, "already_reacted", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp",
	       ts, "name", "tada");
	assert_int_equal(json_array_size(f->got), 0);
	expect(f, "ok", "reactions.remove", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts,
	       "name", "tada");
	assert_string_equal(str(ev(find(f, "reaction_removed", NULL, 0)), "reaction"), "tada");

	expect(f, "ok", "pins.add", "alice", "{s:s,s:s}", "channel", "CPUB", "timestamp", ts);
	rec = find(f, "pin_added", NULL, 0);
	assert_scope(rec, BUS_CHANNEL, "CPUB");
	e = ev(rec);
	assert_string_equal(str(e, "user"), "UALICE");
	assert_string_equal(str(e, "channel_id"), "CPUB");
	item = json_object_get(e, "item");
	assert_string_equal(str(item, "channel"), "CPUB");
	assert_string_equal(str(item, "created_by"), "UALICE");
	assert_true(json_integer_value(json_object_get(item, "created")) > 0);
	assert_string_equal(str(json_object_get(item, "message"), "ts"), ts);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_object_get(item, "message"), "pinned_to"), 0)),
			    "CPUB");
	expect(f, "ok", "pins.remove", "bob", "{s:s,s:s}", "channel", "CPUB", "timestamp", ts);
	e = ev(find(f, "pin_removed", NULL, 0));
	assert_string_equal(str(e, "user"), "UBOB");
	assert_string_equal(str(json_object_get(e, "item"), "created_by"), "UALICE");
	assert_null(json_object_get(json_object_get(json_object_get(e, "item"), "message"), "pinned_to"));
	assert_true(json_is_false(json_object_get(e, "has_pins")));
}

/* ---- conversations ---- */

static void test_membership_events(void **state)
{
	fx *f = *state;
	json_t *a = call(f, "conversations.create", "alice", "{s:s}", "name", "news");
	char id[ID_MAX];
	snprintf(id, sizeof id, "%s", str(json_object_get(a, "channel"), "id"));
	json_decref(a);
	/* channel_join message (api_post), channel_created to the org,
	 * channel_joined to the creator. */
	assert_int_equal(json_array_size(f->got), 3);
	assert_scope(find(f, "message", "channel_join", 0), BUS_CHANNEL, id);
	json_t *rec = find(f, "channel_created", NULL, 0);
	assert_scope(rec, BUS_ORG, "T1");
	json_t *c = json_object_get(ev(rec), "channel");
	assert_string_equal(str(c, "name"), "news");
	assert_string_equal(str(c, "creator"), "UALICE");
	assert_true(json_is_true(json_object_get(c, "is_channel")));
	assert_true(json_is_false(json_object_get(c, "is_member")));
	assert_true(json_is_integer(json_object_get(c, "created")));
	rec = find(f, "channel_joined", NULL, 0);
	assert_scope(rec, BUS_USER, "UALICE");
	assert_true(json_is_true(json_object_get(json_object_get(ev(rec), "channel"), "is_member")));

	expect(f, "ok", "conversations.join", "bob", "{s:s}", "channel", id);
	assert_int_equal(json_array_size(f->got), 3);
	rec = find(f, "member_joined_channel", NULL, 0);
	assert_scope(rec, BUS_CHANNEL, id);
	json_t *e = ev(rec);
	assert_string_equal(str(e, "user"), "UBOB");
	assert_string_equal(str(e, "channel"), id);
	assert_string_equal(str(e, "channel_type"), "channel");
	assert_string_equal(str(e, "team"), "T1");
	assert_null(json_object_get(e, "inviter"));
	assert_non_null(json_object_get(e, "event_ts"));
	assert_scope(find(f, "channel_joined", NULL, 0), BUS_USER, "UBOB");
	/* Joining again changes nothing and says nothing. */
	expect(f, "ok", "conversations.join", "bob", "{s:s}", "channel", id);
	assert_int_equal(json_array_size(f->got), 0);

	expect(f, "ok", "conversations.invite", "alice", "{s:s,s:s}", "channel", id, "users", "UCAROL");
	e = ev(find(f, "member_joined_channel", NULL, 0));
	assert_string_equal(str(e, "user"), "UCAROL");
	assert_string_equal(str(e, "inviter"), "UALICE");
	rec = find(f, "channel_joined", NULL, 0);
	assert_scope(rec, BUS_USER, "UCAROL");
	/* Rendered as carol sees it: her read cursor, not alice's. */
	assert_string_equal(str(json_object_get(ev(rec), "channel"), "last_read"), "0000000000.000000");
	assert_non_null(find(f, "message", "channel_join", 0));

	expect(f, "ok", "conversations.leave", "carol", "{s:s}", "channel", id);
	rec = find(f, "member_left_channel", NULL, 0);
	assert_scope(rec, BUS_CHANNEL, id);
	assert_string_equal(str(ev(rec), "user"), "UCAROL");
	assert_string_equal(str(ev(rec), "team"), "T1");
	rec = find(f, "channel_left", NULL, 0);
	assert_scope(rec, BUS_USER, "UCAROL");
	assert_string_equal(str(ev(rec), "channel"), id);
	assert_non_null(find(f, "message", "channel_leave", 0));

	expect(f, "ok", "conversations.kick", "alice", "{s:s,s:s}", "channel", id, "user", "UBOB");
	assert_string_equal(str(ev(find(f, "member_left_channel", NULL, 0)), "user"), "UBOB");
	assert_scope(find(f, "channel_left", NULL, 0), BUS_USER, "UBOB");

	/* Private kinds: group_joined / group_left, changes to the members. */
	a = call(f, "conversations.create", "alice", "{s:s,s:b}", "name", "hush", "is_private", 1);
	snprintf(id, sizeof id, "%s", str(json_object_get(a, "channel"), "id"));
	json_decref(a);
	assert_null(find(f, "channel_created", NULL, 0));
	assert_scope(find(f, "group_joined", NULL, 0), BUS_USER, "UALICE");
	expect(f, "ok", "conversations.invite", "alice", "{s:s,s:s}", "channel", id, "users", "UBOB");
	assert_string_equal(str(ev(find(f, "member_joined_channel", NULL, 0)), "channel_type"), "group");
	assert_scope(find(f, "group_joined", NULL, 0), BUS_USER, "UBOB");
	expect(f, "ok", "conversations.rename", "alice", "{s:s,s:s}", "channel", id, "name", "hush2");
	rec = find(f, "channel_rename", NULL, 0);
	assert_scope(rec, BUS_CHANNEL, id);
	assert_string_equal(str(json_object_get(ev(rec), "channel"), "name"), "hush2");
	assert_non_null(find(f, "message", "channel_name", 0));
	expect(f, "ok", "conversations.archive", "alice", "{s:s}", "channel", id);
	rec = find(f, "channel_archive", NULL, 0);
	assert_scope(rec, BUS_CHANNEL, id);
	assert_string_equal(str(ev(rec), "channel"), id);
	assert_string_equal(str(ev(rec), "user"), "UALICE");
	expect(f, "ok", "conversations.unarchive", "alice", "{s:s}", "channel", id);
	assert_scope(find(f, "channel_unarchive", NULL, 0), BUS_CHANNEL, id);
	expect(f, "ok", "conversations.leave", "bob", "{s:s}", "channel", id);
	assert_scope(find(f, "group_left", NULL, 0), BUS_USER, "UBOB");

	/* Public: rename and archive go to the org. */
	expect(f, "ok", "conversations.rename", "alice", "{s:s,s:s}", "channel", "CPUB", "name", "pub2");
	assert_scope(find(f, "channel_rename", NULL, 0), BUS_ORG, "T1");
	expect(f, "ok", "conversations.archive", "alice", "{s:s}", "channel", "CPUB");
	assert_scope(find(f, "channel_archive", NULL, 0), BUS_ORG, "T1");
	/* setTopic: only the system message. */
	expect(f, "ok", "conversations.setTopic", "alice", "{s:s,s:s}", "channel", "CPRIV", "topic", "t");
	assert_int_equal(json_array_size(f->got), 1);
	assert_string_equal(str(ev(find(f, "message", "channel_topic", 0)), "topic"), "t");
}

static void test_dm_events(void **state)
{
	fx *f = *state;
	json_t *a = call(f, "conversations.open", "alice", "{s:s}", "users", "UCAROL");
	char id[ID_MAX];
	snprintf(id, sizeof id, "%s", str(json_object_get(a, "channel"), "id"));
	json_decref(a);
	assert_int_equal(json_array_size(f->got), 2);
	json_t *ra = find(f, "im_created", NULL, 0), *rc = find(f, "im_created", NULL, 1);
	if (strcmp(str(ra, "user"), "UALICE") != 0) {
		json_t *t = ra;
		ra = rc;
		rc = t;
	}
	assert_scope(ra, BUS_USER, "UALICE");
	assert_scope(rc, BUS_USER, "UCAROL");
	assert_string_equal(str(ev(ra), "user"), "UCAROL");
	assert_string_equal(str(ev(rc), "user"), "UALICE");
	assert_string_equal(str(json_object_get(ev(ra), "channel"), "user"), "UCAROL");
	assert_string_equal(str(json_object_get(ev(rc), "channel"), "user"), "UALICE");
	assert_string_equal(str(json_object_get(ev(rc), "channel"), "id"), id);

	/* Open again: nothing new. Close and reopen: im_close / im_open. */
	expect(f, "ok", "conversations.open", "alice", "{s:s}", "users", "UCAROL");
	assert_int_equal(json_array_size(f->got), 0);
	expect(f, "ok", "conversations.close", "carol", "{s:s}", "channel", id);
	assert_scope(find(f, "im_close", NULL, 0), BUS_USER, "UCAROL");
	expect(f, "ok", "conversations.open", "carol", "{s:s}", "users", "UALICE");
	json_t *rec = find(f, "im_open", NULL, 0);
	assert_scope(rec, BUS_USER, "UCAROL");
	assert_string_equal(str(ev(rec), "user"), "UALICE");

	a = call(f, "conversations.open", "alice", "{s:s}", "users", "UBOB,UCAROL");
	json_decref(a);
	assert_int_equal(json_array_size(f->got), 3);
	assert_non_null(find(f, "mpim_joined", NULL, 2));
}

/* ---- unread and mention counts ---- */

static json_t *counts_entry(json_t *answer, const char *list, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(answer, list), i, v)
		if (strcmp(str(v, "id"), id) == 0)
			return v;
	return NULL;
}

static int64_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_counts(void **state)
{
	fx *f = *state;
	char t1[24], t2[24], ts[24];
	/* A group with bob, another without him, one disabled. */
	json_t *a = call(f, "usergroups.create", "alice", "{s:s,s:s}", "name", "Seniors", "handle", "seniors");
	char g1[ID_MAX], g2[ID_MAX], g3[ID_MAX];
	snprintf(g1, sizeof g1, "%s", str(json_object_get(a, "usergroup"), "id"));
	json_decref(a);
	a = call(f, "usergroups.create", "alice", "{s:s}", "name", "Others");
	snprintf(g2, sizeof g2, "%s", str(json_object_get(a, "usergroup"), "id"));
	json_decref(a);
	a = call(f, "usergroups.create", "alice", "{s:s}", "name", "Gone");
	snprintf(g3, sizeof g3, "%s", str(json_object_get(a, "usergroup"), "id"));
	json_decref(a);
	expect(f, "ok", "usergroups.users.update", "alice", "{s:s,s:s}", "usergroup", g1, "users", "UBOB,UALICE");
	expect(f, "ok", "usergroups.users.update", "alice", "{s:s,s:s}", "usergroup", g2, "users", "UCAROL");
	expect(f, "ok", "usergroups.users.update", "alice", "{s:s,s:s}", "usergroup", g3, "users", "UBOB");
	expect(f, "ok", "usergroups.disable", "alice", "{s:s}", "usergroup", g3);

	char *txt;
	post(f, "alice", "CPUB", "plain", NULL, t1);
	post(f, "alice", "CPUB", "hey <@UBOB>", NULL, t2);
	post(f, "alice", "CPUB", "<!here> and <@UBOB> twice", NULL, ts);
	txt = xasprintf("<!subteam^%s|@seniors> look", g1);
	post(f, "alice", "CPUB", txt, NULL, ts);
	free(txt);
	txt = xasprintf("<!subteam^%s> not you", g2);
	post(f, "alice", "CPUB", txt, NULL, ts);
	free(txt);
	txt = xasprintf("<!subteam^%s> disabled", g3);
	post(f, "alice", "CPUB", txt, NULL, ts);
	free(txt);
	post(f, "alice", "CPUB", "<@UCAROL> only", NULL, ts);
	post(f, "alice", "CPUB", "<!here> nobody is online", NULL, ts); /* no rt: targets nobody */
	post(f, "alice", "CPUB", "in a thread <@UBOB>", t1, ts); /* replies: not counted */
	post(f, "bob", "CPUB", "my own <!channel>", NULL, ts);  /* own: not counted, moves bob's cursor */
	/* bob's own post moved his read cursor past everything. */
	a = call(f, "client.counts", "bob", "{}");
	json_t *e = counts_entry(a, "channels", "CPUB");
	assert_non_null(e);
	assert_int_equal(num(e, "unread_count"), 0);
	assert_int_equal(num(e, "mention_count"), 0);
	assert_true(json_is_false(json_object_get(e, "has_unreads")));
	assert_string_equal(str(e, "last_read"), ts);
	assert_string_equal(str(e, "latest"), ts);
	json_decref(a);

	/* Back to before the first message: 9 top-level unread, mentions:
	 * <@UBOB>, here+UBOB (once), seniors. */
	expect(f, "ok", "conversations.mark", "bob", "{s:s,s:s}", "channel", "CPUB", "ts", "1.000000");
	json_t *rec = find(f, "channel_marked", NULL, 0);
	assert_scope(rec, BUS_USER, "UBOB");
	e = ev(rec);
	assert_string_equal(str(e, "channel"), "CPUB");
	assert_string_equal(str(e, "ts"), "0000000001.000000");
	assert_int_equal(num(e, "unread_count"), 9);
	assert_int_equal(num(e, "unread_count_display"), 9);
	assert_int_equal(num(e, "mention_count"), 3);
	assert_int_equal(num(e, "num_mentions"), 3);
	assert_non_null(json_object_get(e, "event_ts"));

	a = call(f, "client.counts", "bob", "{}");
	e = counts_entry(a, "channels", "CPUB");
	assert_int_equal(num(e, "unread_count"), 9);
	assert_int_equal(num(e, "mention_count"), 3);
	assert_int_equal(num(e, "mention_count_display"), 3);
	assert_true(json_is_true(json_object_get(e, "has_unreads")));
	assert_non_null(counts_entry(a, "channels", "CPRIV"));
	assert_int_equal(json_array_size(json_object_get(a, "ims")), 0);
	json_decref(a);

	a = call(f, "conversations.info", "bob", "{s:s}", "channel", "CPUB");
	e = json_object_get(a, "channel");
	assert_int_equal(num(e, "unread_count"), 9);
	assert_int_equal(num(e, "mention_count"), 3);
	json_decref(a);

	/* Past t2: the <@UBOB> message is read. */
	expect(f, "ok", "conversations.mark", "bob", "{s:s,s:s}", "channel", "CPUB", "ts", t2);
	assert_int_equal(num(ev(find(f, "channel_marked", NULL, 0)), "mention_count"), 2);

	/* carol is in no channel here: her counts list nothing of them, and
	 * the private channel never shows up for her. */
	a = call(f, "client.counts", "carol", "{}");
	assert_null(counts_entry(a, "channels", "CPUB"));
	assert_null(counts_entry(a, "channels", "CPRIV"));
	json_decref(a);

	/* Kinds: a DM is an im (im_marked), a private channel a group. */
	a = call(f, "conversations.open", "bob", "{s:s}", "users", "UALICE");
	char dm[ID_MAX];
	snprintf(dm, sizeof dm, "%s", str(json_object_get(a, "channel"), "id"));
	json_decref(a);
	post(f, "alice", dm, "psst <@UBOB>", NULL, ts);
	a = call(f, "client.counts", "bob", "{}");
	e = counts_entry(a, "ims", dm);
	assert_non_null(e);
	assert_int_equal(num(e, "mention_count"), 1);
	json_decref(a);
	expect(f, "ok", "conversations.mark", "bob", "{s:s,s:s}", "channel", dm, "ts", ts);
	e = ev(find(f, "im_marked", NULL, 0));
	assert_int_equal(num(e, "unread_count"), 0);
	assert_int_equal(num(e, "mention_count"), 0);
	expect(f, "ok", "conversations.mark", "bob", "{s:s,s:s}", "channel", "CPRIV", "ts", ts);
	assert_non_null(find(f, "group_marked", NULL, 0));

	/* A bot may ask too. */
	a = call(f, "client.counts", "bot", "{}");
	assert_non_null(counts_entry(a, "channels", "CPUB"));
	json_decref(a);
}

/* ---- users and groups ---- */

static void test_user_group_events(void **state)
{
	fx *f = *state;
	expect(f, "ok", "users.profile.set", "bob", "{s:{s:s}}", "profile", "status_text", "busy");
	assert_int_equal(json_array_size(f->got), 1);
	json_t *rec = find(f, "user_change", NULL, 0);
	assert_scope(rec, BUS_ORG, "T1");
	json_t *u = json_object_get(ev(rec), "user");
	assert_string_equal(str(u, "id"), "UBOB");
	assert_string_equal(str(u, "name"), "bob");
	assert_string_equal(str(json_object_get(u, "profile"), "status_text"), "busy");
	assert_null(json_object_get(json_object_get(u, "profile"), "email"));

	json_t *a = call(f, "usergroups.create", "alice", "{s:s,s:s}", "name", "Core", "handle", "core");
	char g[ID_MAX];
	snprintf(g, sizeof g, "%s", str(json_object_get(a, "usergroup"), "id"));
	json_decref(a);
	rec = find(f, "subteam_created", NULL, 0);
	assert_scope(rec, BUS_ORG, "T1");
	assert_string_equal(str(json_object_get(ev(rec), "subteam"), "handle"), "core");

	expect(f, "ok", "usergroups.users.update", "alice", "{s:s,s:s}", "usergroup", g, "users", "UBOB,UALICE");
	assert_int_equal(json_array_size(f->got), 2);
	json_t *st = json_object_get(ev(find(f, "subteam_updated", NULL, 0)), "subteam");
	assert_int_equal(json_array_size(json_object_get(st, "users")), 2);
	json_t *e = ev(find(f, "subteam_members_changed", NULL, 0));
	assert_string_equal(str(e, "subteam_id"), g);
	assert_string_equal(str(e, "team_id"), "T1");
	assert_string_equal(str(e, "added_users_count"), "2");
	assert_string_equal(str(e, "removed_users_count"), "0");
	assert_int_equal(json_array_size(json_object_get(e, "removed_users")), 0);

	expect(f, "ok", "usergroups.users.update", "alice", "{s:s,s:s}", "usergroup", g, "users", "UALICE,UCAROL");
	e = ev(find(f, "subteam_members_changed", NULL, 0));
	assert_string_equal(str(e, "added_users_count"), "1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(e, "added_users"), 0)), "UCAROL");
	assert_string_equal(str(e, "removed_users_count"), "1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(e, "removed_users"), 0)), "UBOB");
	assert_true(json_is_integer(json_object_get(e, "date_previous_update")));

	expect(f, "ok", "usergroups.update", "alice", "{s:s,s:s}", "usergroup", g, "name", "Core2");
	assert_string_equal(str(json_object_get(ev(find(f, "subteam_updated", NULL, 0)), "subteam"), "name"),
			    "Core2");
	expect(f, "ok", "usergroups.disable", "alice", "{s:s}", "usergroup", g);
	st = json_object_get(ev(find(f, "subteam_updated", NULL, 0)), "subteam");
	assert_true(json_integer_value(json_object_get(st, "date_delete")) > 0);
	expect(f, "ok", "usergroups.enable", "alice", "{s:s}", "usergroup", g);
	assert_non_null(find(f, "subteam_updated", NULL, 0));
}

/* ---- rtm.connect and presence without a real-time layer ---- */

static void test_rtm_presence_offline(void **state)
{
	fx *f = *state;
	expect(f, "service_unavailable", "rtm.connect", "alice", "{}");
	json_t *a = call(f, "users.getPresence", "alice", "{}");
	assert_string_equal(str(a, "presence"), "away");
	assert_true(json_is_false(json_object_get(a, "online")));
	assert_true(json_is_true(json_object_get(a, "auto_away")));
	assert_true(json_is_false(json_object_get(a, "manual_away")));
	assert_int_equal(num(a, "connection_count"), 0);
	json_decref(a);
	expect(f, "ok", "users.setPresence", "alice", "{s:s}", "presence", "away");
	assert_int_equal(f->alice->manual_away, 1);
	a = call(f, "users.getPresence", "alice", "{}");
	assert_true(json_is_true(json_object_get(a, "manual_away")));
	assert_true(json_is_false(json_object_get(a, "auto_away")));
	json_decref(a);
	expect(f, "ok", "users.setPresence", "alice", "{s:s}", "presence", "auto");
	assert_int_equal(f->alice->manual_away, 0);
	expect(f, "invalid_presence", "users.setPresence", "alice", "{s:s}", "presence", "busy");
	expect(f, "not_allowed_token_type", "users.setPresence", "bot", "{s:s}", "presence", "away");
	/* Someone else: presence only. */
	a = call(f, "users.getPresence", "bot", "{s:s}", "user", "UBOB");
	assert_string_equal(str(a, "presence"), "away");
	assert_null(json_object_get(a, "connection_count"));
	json_decref(a);
	expect(f, "user_not_found", "users.getPresence", "alice", "{s:s}", "user", "UZED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_post_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_delete_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reaction_pin_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_membership_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dm_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_group_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtm_presence_offline, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
