/* chat.*, reactions.* and pins.* run in-process against a real store in a
 * temporary directory. The store is opened without a loop, so every job
 * commits before store_submit returns and api_call answers synchronously;
 * the race tests run two handlers by hand and commit their jobs in turn,
 * which is exactly the interleaving the store's conflict backstop is for. */
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
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

typedef struct fx {
	char dir[64];
	store *st;
	core_state s;
	api_env env;
	org *o;
	user *alice, *bob, *carol, *botu;
	app *bot;
	channel *pub, *priv;
} fx;

static user *mk_user(fx *f, const char *id, const char *name, bool bot)
{
	user *u = core_user_new(id, f->o->id);
	u->name = xstrdup(name);
	u->is_bot = bot;
	core_user_add(&f->s, u);
	return u;
}

/* A token whose secret is its own name ("alice" authenticates as alice). */
static void mk_token(fx *f, const char *secret, token_kind kind, const user *u, const app *a,
		     const char *scopes)
{
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(secret, hash);
	token *t = core_token_new(hash, kind);
	snprintf(t->org_id, sizeof t->org_id, "%s", f->o->id);
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
	f->env = (api_env){
		.state = &f->s, .store = f->st, .base_url = "http://canal.test", .max_msg_chars = 20};

	f->o = core_org_new("T1");
	f->o->name = xstrdup("acme");
	core_org_add(&f->s, f->o);
	f->alice = mk_user(f, "UALICE", "alice", false);
	f->bob = mk_user(f, "UBOB", "bob", false);
	f->carol = mk_user(f, "UCAROL", "carol", false);
	f->carol->is_admin = true;
	f->botu = mk_user(f, "UBOT", "robot", true);
	f->bot = core_app_new("AAPP", "T1");
	f->bot->name = xstrdup("robot");
	snprintf(f->bot->bot_id, sizeof f->bot->bot_id, "BBOT");
	snprintf(f->bot->bot_user_id, sizeof f->bot->bot_user_id, "UBOT");
	core_app_add(&f->s, f->bot);
	mk_token(f, "alice", TOKEN_USER, f->alice, NULL, "*");
	mk_token(f, "bob", TOKEN_USER, f->bob, NULL, "*");
	mk_token(f, "carol", TOKEN_USER, f->carol, NULL, "*");
	mk_token(f, "bot", TOKEN_BOT, f->botu, f->bot,
		 "chat:write,reactions:write,reactions:read,pins:write,pins:read");
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

/* Calls method as tok with args built by json_pack(fmt, ...); returns the
 * answer (caller decrefs). */
static json_t *call(fx *f, const char *method, const char *tok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *args = json_vpack_ex(NULL, 0, fmt, ap);
	va_end(ap);
	assert_non_null(args);
	json_t *answer = NULL;
	api_call(&f->env, method, args, tok, answer_cb, &answer);
	json_decref(args);
	assert_non_null(answer); /* no loop: answered before returning */
	return answer;
}

/* Calls a method and checks its outcome: "ok" or the error name. */
#define expect(f, want, ...) assert_string_equal(res(call((f), __VA_ARGS__)), (want))

/* "ok" or the error name, and drops the answer. */
static char result[64];
static const char *res(json_t *a)
{
	const char *e = json_string_value(json_object_get(a, "error"));
	snprintf(result, sizeof result, "%s", json_is_true(json_object_get(a, "ok")) ? "ok" : e ? e : "?");
	json_decref(a);
	return result;
}

/* Posts text and returns its ts as a string in out[24]. */
static void post(fx *f, const char *tok, const char *chan, const char *text, const char *thread, char out[24])
{
	json_t *a = thread ? call(f, "chat.postMessage", tok, "{s:s,s:s,s:s}", "channel", chan, "text", text,
				  "thread_ts", thread)
			   : call(f, "chat.postMessage", tok, "{s:s,s:s}", "channel", chan, "text", text);
	const char *ts = json_string_value(json_object_get(a, "ts"));
	assert_non_null(ts);
	snprintf(out, 24, "%s", ts);
	json_decref(a);
}

static void get_msg(fx *f, const char *chan, const char *ts_s, message *m)
{
	int64_t ts;
	assert_int_equal(rules_ts_parse(ts_s, &ts), 0);
	message_init(m);
	assert_int_equal(store_msg_get(f->st, chan, ts, m), 0);
}

/* ---- chat.postMessage ---- */

static void test_post_shapes(void **state)
{
	fx *f = *state;
	json_t *a = call(f, "chat.postMessage", "bot", "{s:s,s:s,s:s,s:s}", "channel", "CPUB", "text", "beep",
			 "username", "Robo", "icon_emoji", ":robot_face:");
	assert_string_equal(json_string_value(json_object_get(a, "channel")), "CPUB");
	json_t *m = json_object_get(a, "message");
	assert_string_equal(json_string_value(json_object_get(m, "user")), "UBOT");
	assert_string_equal(json_string_value(json_object_get(m, "bot_id")), "BBOT");
	assert_string_equal(json_string_value(json_object_get(m, "app_id")), "AAPP");
	assert_string_equal(json_string_value(json_object_get(m, "username")), "Robo");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "icons"), "emoji")),
			    ":robot_face:");
	json_decref(a);

	/* A user's username is ignored: people post as themselves. */
	a = call(f, "chat.postMessage", "alice", "{s:s,s:s,s:s}", "channel", "#pub", "text", "hi", "username",
		 "Fake");
	m = json_object_get(a, "message");
	assert_null(json_object_get(m, "username"));
	assert_null(json_object_get(m, "bot_id"));
	json_decref(a);

	/* Blocks as a JSON string (forms) and as a native array (JSON). */
	expect(f, "ok", "chat.postMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "blocks",
	       "[{\"type\":\"divider\"}]");
	expect(f, "ok", "chat.postMessage", "alice", "{s:s,s:[{s:s}]}", "channel", "CPUB", "blocks", "type",
	       "divider");
}

static void test_post_errors(void **state)
{
	fx *f = *state;
	expect(f, "no_text", "chat.postMessage", "alice", "{s:s}", "channel", "CPUB");
	expect(f, "no_text", "chat.postMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "text", "");
	/* Empty arrays show nothing either. */
	expect(f, "no_text", "chat.postMessage", "alice", "{s:s,s:[]}", "channel", "CPUB", "blocks");
	/* max_msg_chars is 20 here; the limit counts characters, not bytes. */
	expect(f, "ok", "chat.postMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "text",
	       "éééééééééééééééééééé");
	expect(f, "msg_too_long", "chat.postMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "text",
	       "xxxxxxxxxxxxxxxxxxxxx");

	json_t *a = call(f, "chat.postMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "blocks",
			 "[{\"text\":\"no type\"}]");
	assert_string_equal(json_string_value(json_object_get(a, "error")), "invalid_blocks");
	assert_non_null(
		strstr(json_string_value(json_array_get(json_object_get(a, "errors"), 0)), "/blocks/0"));
	json_decref(a);
	expect(f, "invalid_blocks", "chat.postMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "blocks",
	       "{\"type\":\"divider\"}");
	expect(f, "invalid_blocks", "chat.postMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "blocks",
	       "[{");
	json_t *many = json_array();
	for (int i = 0; i < 51; i++)
		json_array_append_new(many, json_pack("{s:s}", "type", "divider"));
	expect(f, "invalid_blocks", "chat.postMessage", "alice", "{s:s,s:o}", "channel", "CPUB", "blocks",
	       json_incref(many));
	json_decref(many);
	many = json_array();
	for (int i = 0; i < 101; i++)
		json_array_append_new(many, json_object());
	expect(f, "too_many_attachments", "chat.postMessage", "alice", "{s:s,s:s,s:o}", "channel", "CPUB",
	       "text", "x", "attachments", json_incref(many));
	json_decref(many);
	expect(f, "invalid_attachments", "chat.postMessage", "alice", "{s:s,s:s,s:s}", "channel", "CPUB",
	       "text", "x", "attachments", "{}");

	/* Not a member: public -> not_in_channel, private -> not even there. */
	expect(f, "not_in_channel", "chat.postMessage", "carol", "{s:s,s:s}", "channel", "CPUB", "text", "x");
	expect(f, "channel_not_found", "chat.postMessage", "carol", "{s:s,s:s}", "channel", "CPRIV", "text",
	       "x");
	expect(f, "invalid_thread_ts", "chat.postMessage", "alice", "{s:s,s:s,s:s}", "channel", "CPUB",
	       "text", "x", "thread_ts", "nope");
	expect(f, "thread_not_found", "chat.postMessage", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "text",
	       "x", "thread_ts", "1000000000.000001");
	f->pub->archived = true;
	expect(f, "is_archived", "chat.postMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "text", "x");
	f->pub->archived = false;
}

static void test_threads(void **state)
{
	fx *f = *state;
	char parent[24], r1[24], r2[24];
	post(f, "alice", "CPUB", "parent", NULL, parent);
	post(f, "bob", "CPUB", "r1", parent, r1);
	/* Replying to a reply joins the same thread: threads never nest. */
	post(f, "alice", "CPUB", "r2", r1, r2);
	message m;
	get_msg(f, "CPUB", r2, &m);
	char root[24];
	rules_ts_format(m.thread_ts, root);
	assert_string_equal(root, parent);
	message_release(&m);

	json_t *a = call(f, "chat.postMessage", "bob", "{s:s,s:s,s:s,s:b}", "channel", "CPUB", "text", "loud",
			 "thread_ts", parent, "reply_broadcast", 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "message"), "subtype")),
			    "thread_broadcast");
	json_decref(a);

	a = call(f, "chat.getPermalink", "alice", "{s:s,s:s}", "channel", "CPUB", "message_ts", r1);
	const char *link = json_string_value(json_object_get(a, "permalink"));
	assert_non_null(strstr(link, "/archives/CPUB/p"));
	assert_non_null(strstr(link, "thread_ts="));
	json_decref(a);
}

/* ---- chat.update / chat.delete ---- */

static void test_update(void **state)
{
	fx *f = *state;
	char ts[24];
	json_t *a = call(f, "chat.postMessage", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "text", "v1",
			 "attachments", "[{\"text\":\"kept\"}]");
	snprintf(ts, sizeof ts, "%s", json_string_value(json_object_get(a, "ts")));
	json_decref(a);

	a = call(f, "chat.update", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "ts", ts, "text", "v2");
	assert_string_equal(json_string_value(json_object_get(a, "text")), "v2");
	json_t *m = json_object_get(a, "message");
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "edited"), "user")),
			    "UALICE");
	assert_non_null(json_object_get(m, "attachments")); /* absent argument keeps them */
	json_decref(a);

	expect(f, "cant_update_message", "chat.update", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "ts", ts,
	       "text", "hijack");
	expect(f, "cant_update_message", "chat.update", "carol", "{s:s,s:s,s:s}", "channel", "CPUB", "ts", ts,
	       "text", "admin");
	expect(f, "cant_update_message", "chat.update", "bot", "{s:s,s:s,s:s}", "channel", "CPUB", "ts", ts,
	       "text", "bot");
	expect(f, "no_text", "chat.update", "alice", "{s:s,s:s}", "channel", "CPUB", "ts", ts);
	expect(f, "no_text", "chat.update", "alice", "{s:s,s:s,s:s,s:s}", "channel", "CPUB", "ts", ts, "text",
	       "", "attachments", "[]");
	expect(f, "message_not_found", "chat.update", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "ts",
	       "1000000000.000001", "text", "x");

	message msg;
	get_msg(f, "CPUB", ts, &msg);
	assert_string_equal(msg.text, "v2");
	assert_true(msg.edited_ts > msg.ts);
	message_release(&msg);
}

static void test_delete(void **state)
{
	fx *f = *state;
	char a1[24], b1[24], bot1[24];
	post(f, "alice", "CPUB", "a1", NULL, a1);
	post(f, "bob", "CPUB", "b1", NULL, b1);
	post(f, "bot", "CPUB", "bot1", NULL, bot1);
	expect(f, "cant_delete_message", "chat.delete", "bob", "{s:s,s:s}", "channel", "CPUB", "ts", a1);
	/* A bot never borrows an admin's rights; an admin (user token) may. */
	expect(f, "cant_delete_message", "chat.delete", "bot", "{s:s,s:s}", "channel", "CPUB", "ts", a1);
	expect(f, "ok", "chat.delete", "carol", "{s:s,s:s}", "channel", "CPUB", "ts", b1);
	expect(f, "ok", "chat.delete", "bot", "{s:s,s:s}", "channel", "CPUB", "ts", bot1);
	expect(f, "ok", "chat.delete", "alice", "{s:s,s:s}", "channel", "CPUB", "ts", a1);
	expect(f, "message_not_found", "chat.delete", "alice", "{s:s,s:s}", "channel", "CPUB", "ts", a1);
}

static void test_delete_parent_tombstone(void **state)
{
	fx *f = *state;
	char parent[24], r1[24], r2[24];
	post(f, "alice", "CPUB", "parent", NULL, parent);
	post(f, "bob", "CPUB", "r1", parent, r1);
	post(f, "bob", "CPUB", "r2", parent, r2);
	expect(f, "ok", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", parent,
	       "name", "eyes");
	expect(f, "ok", "chat.delete", "alice", "{s:s,s:s}", "channel", "CPUB", "ts", parent);
	message m;
	get_msg(f, "CPUB", parent, &m);
	assert_true(m.hidden);
	assert_string_equal(m.subtype, "tombstone");
	assert_int_equal(m.nreactions, 0);
	assert_int_equal(m.reply_count, 2);
	message_release(&m);
	/* Gone for every message method... */
	expect(f, "message_not_found", "chat.update", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "ts",
	       parent, "text", "x");
	expect(f, "message_not_found", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB",
	       "timestamp", parent, "name", "eyes");
	expect(f, "not_pinnable", "pins.add", "alice", "{s:s,s:s}", "channel", "CPUB", "timestamp", parent);
	/* ...but replies still post to the thread, and the tombstone leaves
	 * with the last reply. */
	expect(f, "ok", "chat.delete", "bob", "{s:s,s:s}", "channel", "CPUB", "ts", r1);
	int64_t pts;
	rules_ts_parse(parent, &pts);
	message_init(&m);
	assert_int_equal(store_msg_get(f->st, "CPUB", pts, &m), 0);
	message_release(&m);
	expect(f, "ok", "chat.delete", "bob", "{s:s,s:s}", "channel", "CPUB", "ts", r2);
	assert_int_equal(store_msg_get(f->st, "CPUB", pts, &m), ERR_MESSAGE_NOT_FOUND);
	message_release(&m);
}

static void test_me_message(void **state)
{
	fx *f = *state;
	json_t *a = call(f, "chat.meMessage", "alice", "{s:s,s:s}", "channel", "CPUB", "text", "waves");
	const char *ts = json_string_value(json_object_get(a, "ts"));
	assert_non_null(ts);
	message m;
	get_msg(f, "CPUB", ts, &m);
	assert_string_equal(m.subtype, "me_message");
	message_release(&m);
	json_decref(a);
	expect(f, "no_text", "chat.meMessage", "alice", "{s:s}", "channel", "CPUB");
}

/* ---- reactions ---- */

static void test_reactions(void **state)
{
	fx *f = *state;
	char ts[24];
	post(f, "alice", "CPUB", "react", NULL, ts);
	expect(f, "ok", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts, "name",
	       ":+1:");
	expect(f, "already_reacted", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp",
	       ts, "name", "+1");
	/* Public channel: reacting needs no membership. */
	expect(f, "ok", "reactions.add", "carol", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts, "name",
	       "+1");
	expect(f, "invalid_name", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts,
	       "name", "Not Valid");
	expect(f, "no_item_specified", "reactions.add", "bob", "{s:s,s:s}", "channel", "CPUB", "name", "x");
	expect(f, "bad_timestamp", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp",
	       "1.2.3", "name", "x");
	expect(f, "no_reaction", "reactions.remove", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp",
	       ts, "name", "+1");

	json_t *a = call(f, "reactions.get", "alice", "{s:s,s:s}", "channel", "CPUB", "timestamp", ts);
	assert_string_equal(json_string_value(json_object_get(a, "type")), "message");
	json_t *m = json_object_get(a, "message");
	assert_non_null(json_object_get(m, "permalink"));
	json_t *r = json_array_get(json_object_get(m, "reactions"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "name")), "+1");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
	json_decref(a);

	expect(f, "ok", "reactions.remove", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts,
	       "name", "+1");

	/* 50 distinct reactions at most; more of an existing one is fine. */
	char name[16];
	for (int i = 0; i < 49; i++) {
		snprintf(name, sizeof name, "e%d", i);
		expect(f, "ok", "reactions.add", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts,
		       "name", name);
	}
	expect(f, "too_many_reactions", "reactions.add", "alice", "{s:s,s:s,s:s}", "channel", "CPUB",
	       "timestamp", ts, "name", "one_too_many");
	expect(f, "ok", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts, "name",
	       "e0");
}

static void test_reactions_list_visibility(void **state)
{
	fx *f = *state;
	char pub[24], priv[24];
	post(f, "alice", "CPUB", "public", NULL, pub);
	post(f, "alice", "CPRIV", "private", NULL, priv);
	expect(f, "ok", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", pub, "name",
	       "eyes");
	expect(f, "ok", "reactions.add", "bob", "{s:s,s:s,s:s}", "channel", "CPRIV", "timestamp", priv,
	       "name", "eyes");

	json_t *a = call(f, "reactions.list", "bob", "{}");
	assert_int_equal(json_array_size(json_object_get(a, "items")), 2);
	json_t *paging = json_object_get(a, "paging");
	assert_int_equal(json_integer_value(json_object_get(paging, "total")), 2);
	assert_int_equal(json_integer_value(json_object_get(paging, "pages")), 1);
	json_decref(a);

	/* Carol is not in #priv: bob's reaction there is not hers to see. */
	a = call(f, "reactions.list", "carol", "{s:s}", "user", "UBOB");
	json_t *items = json_object_get(a, "items");
	assert_int_equal(json_array_size(items), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "channel")), "CPUB");
	json_decref(a);

	/* Cursor paging walks every item once and ends with "". */
	a = call(f, "reactions.list", "bob", "{s:i}", "limit", 1);
	assert_int_equal(json_array_size(json_object_get(a, "items")), 1);
	json_t *meta = json_object_get(a, "response_metadata");
	const char *cur = json_string_value(json_object_get(meta, "next_cursor"));
	assert_true(cur && *cur);
	char cursor[128];
	snprintf(cursor, sizeof cursor, "%s", cur);
	json_decref(a);
	a = call(f, "reactions.list", "bob", "{s:i,s:s}", "limit", 1, "cursor", cursor);
	assert_int_equal(json_array_size(json_object_get(a, "items")), 1);
	meta = json_object_get(a, "response_metadata");
	assert_string_equal(json_string_value(json_object_get(meta, "next_cursor")), "");
	json_decref(a);
	expect(f, "invalid_cursor", "reactions.list", "bob", "{s:s}", "cursor", "garbage");

	/* Past the last page: no items, and the true page count. */
	a = call(f, "reactions.list", "bob", "{s:i,s:i}", "count", 1, "page", 5);
	assert_int_equal(json_array_size(json_object_get(a, "items")), 0);
	paging = json_object_get(a, "paging");
	assert_int_equal(json_integer_value(json_object_get(paging, "total")), 2);
	assert_int_equal(json_integer_value(json_object_get(paging, "pages")), 2);
	json_decref(a);
}

/* ---- races: the store's uniqueness is the backstop ---- */

static void ctx_init(fx *f, api_ctx *c, const char *secret, json_t *args)
{
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(secret, hash);
	memset(c, 0, sizeof *c);
	c->env = &f->env;
	c->tok = core_token_get(&f->s, hash);
	c->org = f->o;
	c->me = core_user_get(&f->s, c->tok->user_id);
	c->app = c->tok->app_id[0] ? core_app_get(&f->s, c->tok->app_id) : NULL;
	c->args = args;
	c->out = json_pack("{s:b}", "ok", 1);
	c->now_us = clock_now_us();
}

static void ctx_release(api_ctx *c)
{
	json_decref(c->out);
	json_decref(c->err_extra);
	json_decref(c->warnings);
}

static void done_cb(void *ud, int err)
{
	*(int *)ud = err;
}

/* Runs h twice "at once" (both before either commits), then commits the
 * two jobs in order; returns the second job's outcome. */
static int race(fx *f, api_handler h, json_t *args)
{
	api_ctx c1, c2;
	ctx_init(f, &c1, "bob", args);
	ctx_init(f, &c2, "bob", args);
	assert_int_equal(h(&c1), 0);
	assert_int_equal(h(&c2), 0); /* neither sees the other's uncommitted write */
	int e1 = -1, e2 = -1;
	store_submit(f->st, c1.job, done_cb, &e1);
	store_submit(f->st, c2.job, done_cb, &e2);
	assert_int_equal(e1, 0);
	ctx_release(&c1);
	ctx_release(&c2);
	return e2;
}

static void test_races(void **state)
{
	fx *f = *state;
	char ts[24];
	post(f, "alice", "CPUB", "race", NULL, ts);
	json_t *args = json_pack("{s:s,s:s,s:s}", "channel", "CPUB", "timestamp", ts, "name", "eyes");
	assert_int_equal(race(f, api_reactions_add, args), ERR_ALREADY_REACTED);
	assert_int_equal(race(f, api_pins_add, args), ERR_ALREADY_PINNED);
	json_decref(args);

	message m;
	get_msg(f, "CPUB", ts, &m);
	assert_int_equal(m.nreactions, 1);
	assert_int_equal(m.reactions[0].nusers, 1);
	assert_int_equal(m.npinned, 1);
	message_release(&m);
}

/* ---- pins ---- */

/* The largest ts a client can write reaches the read paths without
 * overflowing them (UBSan): as oldest it simply matches nothing, as a
 * forged pagination cursor it is invalid_cursor.
 * fuzz/corpus/fuzz_json_api/crash-oldest-max and crash-cursor-max. */
static void test_read_extreme_ts(void **state)
{
	fx *f = *state;
	char parent[24], reply[24];
	post(f, "alice", "CPUB", "parent", NULL, parent);
	post(f, "bob", "CPUB", "reply", parent, reply);
	json_t *a = call(f, "conversations.history", "alice", "{s:s,s:s}", "channel", "CPUB", "oldest",
			 "9223372036854.775807");
	assert_true(json_is_true(json_object_get(a, "ok")));
	assert_int_equal(json_array_size(json_object_get(a, "messages")), 0);
	json_decref(a);
	expect(f, "ok", "conversations.replies", "alice", "{s:s,s:s,s:s}", "channel", "CPUB", "ts", reply,
	       "oldest", "9223372036854.775807");
	char *cursor = rules_cursor_encode("next_ts", "9223372036854.775807");
	expect(f, "invalid_cursor", "conversations.replies", "alice", "{s:s,s:s,s:b,s:s}", "channel",
	       "CPUB", "ts", reply, "inclusive", 1, "cursor", cursor);
	expect(f, "invalid_cursor", "conversations.history", "alice", "{s:s,s:b,s:s}", "channel", "CPUB",
	       "inclusive", 1, "cursor", cursor);
	free(cursor);
}

static void test_pins(void **state)
{
	fx *f = *state;
	char ts[24], other[24];
	post(f, "alice", "CPUB", "decision", NULL, ts);
	post(f, "alice", "CPUB", "chatter", NULL, other);
	expect(f, "ok", "pins.add", "bot", "{s:s,s:s}", "channel", "CPUB", "timestamp", ts);
	expect(f, "already_pinned", "pins.add", "alice", "{s:s,s:s}", "channel", "CPUB", "timestamp", ts);
	/* Pinning changes the channel for everyone: members only. */
	expect(f, "not_in_channel", "pins.add", "carol", "{s:s,s:s}", "channel", "CPUB", "timestamp", other);
	expect(f, "no_item_specified", "pins.add", "alice", "{s:s}", "channel", "CPUB");
	expect(f, "not_pinned", "pins.remove", "alice", "{s:s,s:s}", "channel", "CPUB", "timestamp", other);

	json_t *a = call(f, "pins.list", "carol", "{s:s}", "channel", "CPUB");
	json_t *items = json_object_get(a, "items");
	assert_int_equal(json_array_size(items), 1);
	json_t *it = json_array_get(items, 0);
	assert_string_equal(json_string_value(json_object_get(it, "type")), "message");
	assert_string_equal(json_string_value(json_object_get(it, "created_by")), "UBOT");
	assert_true(json_integer_value(json_object_get(it, "created")) > 1500000000);
	json_t *m = json_object_get(it, "message");
	assert_non_null(json_object_get(m, "permalink"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(m, "pinned_to"), 0)), "CPUB");
	json_decref(a);

	expect(f, "ok", "pins.remove", "alice", "{s:s,s:s}", "channel", "CPUB", "timestamp", ts);
	a = call(f, "pins.list", "alice", "{s:s}", "channel", "CPUB");
	assert_int_equal(json_array_size(json_object_get(a, "items")), 0);
	json_decref(a);
}

int main(void)
{
	ids_init();
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_post_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_parent_tombstone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_me_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reactions_list_visibility, setup, teardown),
		cmocka_unit_test_setup_teardown(test_races, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_extreme_ts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
