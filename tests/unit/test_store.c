/* The SQLite store end to end in-process: a real data directory (mkdtemp),
 * a real libuv loop driven until every job's callback has run (no sleeps),
 * close and reopen to prove what was acknowledged is on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "core/message.h"
#include "core/state.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store.h"

/* ---- fixture ---- */

typedef struct fx {
	char dir[64];
	uv_loop_t loop;
	store *st;
} fx;

static store *open_store_sync(fx *f, uv_loop_t *loop, store_sync sync)
{
	char err[256] = "";
	store_cfg cfg = {.dir = f->dir, .sync = sync};
	store *st = store_open(&cfg, loop, err, sizeof err);
	if (!st)
		fail_msg("store_open: %s", err);
	return st;
}

static store *open_store(fx *f, uv_loop_t *loop)
{
	return open_store_sync(f, loop, STORE_SYNC_FULL);
}

static int setup(void **state)
{
	fx *f = xcalloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/canal-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(uv_loop_init(&f->loop), 0);
	f->st = open_store(f, &f->loop);
	*state = f;
	return 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Closes the store if open and lets the loop finish the async handle's
 * close, then checks nothing is left on the loop. */
static void close_store(fx *f)
{
	if (f->st)
		store_close(f->st);
	f->st = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

static int teardown(void **state)
{
	fx *f = *state;
	close_store(f);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void reopen(fx *f)
{
	close_store(f);
	f->st = open_store(f, &f->loop);
}

/* ---- job outcomes ---- */

typedef struct outcome {
	int calls;
	int err;
	int order;   /* completion order, from a shared counter */
} outcome;

static int g_completed;

static void done_cb(void *ud, int err)
{
	outcome *o = ud;
	o->calls++;
	o->err = err;
	o->order = g_completed++;
}

/* Submits j and runs the loop until its callback (and every other pending
 * one) has run; returns the job's error. */
static int commit(fx *f, store_job *j)
{
	outcome o = {0};
	store_submit(f->st, j, done_cb, &o);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(o.calls, 1);
	return o.err;
}

/* ---- builders ---- */

static message msg(const char *cid, int64_t ts, int64_t thread_ts, const char *uid,
		   const char *text)
{
	message m;
	message_init(&m);
	strcpy(m.channel_id, cid);
	strcpy(m.org_id, "T1");
	m.ts = ts;
	m.thread_ts = thread_ts;
	strcpy(m.user_id, uid);
	m.text = (char *)text; /* borrowed: jobs copy, tests never release these */
	return m;
}

static void insert(fx *f, const char *cid, int64_t ts, int64_t thread_ts, const char *uid,
		   const char *text)
{
	message m = msg(cid, ts, thread_ts, uid, text);
	store_job *j = store_job_new(f->st);
	store_msg_insert(j, &m);
	assert_int_equal(commit(f, j), 0);
}

/* ---- tests ---- */

static void test_entities_roundtrip(void **state)
{
	fx *f = *state;
	org o = {.id = "T1", .name = "Acme", .domain = "acme", .created = 111, .general_id = "C1"};
	user u = {.id = "U1", .org_id = "T1", .name = "ann", .real_name = "Ann A",
		  .display_name = "annie", .email = "ann@x.io", .title = "boss", .phone = "123",
		  .tz = "Europe/Paris", .status_text = "busy", .status_emoji = ":x:",
		  .avatar_hash = "abc", .pwhash = "$argon2id$h", .is_admin = true,
		  .is_owner = true, .is_primary_owner = true, .is_bot = false, .deleted = false,
		  .created = 5, .updated = 6, .manual_away = 1};
	user b = {.id = "U2", .org_id = "T1", .name = "robot", .is_bot = true, .deleted = true,
		  .bot_id = "B1", .app_id = "A1", .tz = ""};
	channel c = {.id = "C1", .org_id = "T1", .name = "general", .kind = CHAN_PUBLIC,
		     .creator = "U1", .created = 7, .archived = true, .is_general = true,
		     .topic = "t", .purpose = "p", .topic_creator = "U1", .purpose_creator = "U2",
		     .topic_last_set = 8, .purpose_last_set = 9, .previous_names = "a,b",
		     .updated = 10};
	channel im = {.id = "D1", .org_id = "T1", .name = "", .kind = CHAN_IM, .creator = "U1",
		      .im_user = "U2"};
	chan_member m1 = {.user_id = "U1", .joined = 100, .last_read = 1000042, .open = true};
	chan_member m2 = {.user_id = "U2", .joined = 200, .last_read = 0, .open = false};
	usergroup g = {.id = "S1", .org_id = "T1", .name = "Devs", .handle = "devs",
		       .description = "d", .created_by = "U1", .updated_by = "U2",
		       .deleted_by = "U1", .date_create = 1, .date_update = 2, .date_delete = 3,
		       .users = "U1,U2", .channels = "C1"};
	app a = {.id = "A1", .org_id = "T1", .name = "bot app", .bot_id = "B1",
		 .bot_user_id = "U2", .scopes = "chat:write", .signing_secret = "sec",
		 .verification_token = "vt", .created = 11, .updated = 12, .deleted = true};
	token t = {.hash = "ab12", .kind = TOKEN_BOT, .org_id = "T1", .user_id = "U2",
		   .app_id = "A1", .scopes = "chat:write", .created = 13, .expires = 14,
		   .revoked = true};

	store_job *j = store_job_new(f->st);
	store_put_org(j, &o);
	store_put_user(j, &u);
	store_put_user(j, &b);
	store_put_channel(j, &c);
	store_put_channel(j, &im);
	store_put_member(j, "C1", &m1);
	store_put_member(j, "C1", &m2);
	store_put_member(j, "D1", &m1);
	store_put_usergroup(j, &g);
	store_put_app(j, &a);
	store_put_token(j, &t);
	/* Snapshot semantics: changing the struct after the call changes
	 * nothing that was queued. */
	u.name = "changed";
	assert_int_equal(commit(f, j), 0);
	u.name = "ann";

	/* Upsert and member removal. */
	j = store_job_new(f->st);
	m1.last_read = 2000000;
	store_put_member(j, "C1", &m1);
	store_del_member(j, "D1", "U1");
	u.title = "ceo";
	store_put_user(j, &u);
	assert_int_equal(commit(f, j), 0);
	insert(f, "C1", 1700000000000005, 0, "U1", "hello");
	insert(f, "D1", 1700000000000009, 0, "U1", "dm");

	reopen(f);
	core_state s;
	core_state_init(&s);
	assert_int_equal(store_load(f->st, &s), 0);
	assert_int_equal(s.last_ts, 1700000000000009);

	org *lo = core_org_get(&s, "T1");
	assert_non_null(lo);
	assert_string_equal(lo->name, "Acme");
	assert_string_equal(lo->domain, "acme");
	assert_int_equal(lo->created, 111);
	assert_string_equal(lo->general_id, "C1");

	user *lu = core_user_get(&s, "U1");
	assert_non_null(lu);
	assert_string_equal(lu->org_id, "T1");
	assert_string_equal(lu->name, "ann");
	assert_string_equal(lu->real_name, "Ann A");
	assert_string_equal(lu->display_name, "annie");
	assert_string_equal(lu->email, "ann@x.io");
	assert_string_equal(lu->title, "ceo");
	assert_string_equal(lu->phone, "123");
	assert_string_equal(lu->tz, "Europe/Paris");
	assert_string_equal(lu->status_text, "busy");
	assert_string_equal(lu->status_emoji, ":x:");
	assert_string_equal(lu->avatar_hash, "abc");
	assert_string_equal(lu->pwhash, "$argon2id$h");
	assert_true(lu->is_admin && lu->is_owner && lu->is_primary_owner);
	assert_false(lu->is_bot || lu->deleted);
	assert_string_equal(lu->bot_id, "");
	assert_int_equal(lu->created, 5);
	assert_int_equal(lu->updated, 6);
	assert_int_equal(lu->manual_away, 0); /* not persisted */
	assert_ptr_equal(core_user_by_name(&s, "T1", "ann"), lu);
	assert_ptr_equal(core_user_by_email(&s, "T1", "ann@x.io"), lu);

	user *lb = core_user_get(&s, "U2");
	assert_non_null(lb);
	assert_true(lb->is_bot && lb->deleted);
	assert_string_equal(lb->bot_id, "B1");
	assert_string_equal(lb->app_id, "A1");
	assert_null(lb->email);         /* NULL stays NULL */
	assert_string_equal(lb->tz, ""); /* "" stays "" */

	channel *lc = core_channel_get(&s, "C1");
	assert_non_null(lc);
	assert_string_equal(lc->name, "general");
	assert_int_equal(lc->kind, CHAN_PUBLIC);
	assert_string_equal(lc->creator, "U1");
	assert_int_equal(lc->created, 7);
	assert_true(lc->archived && lc->is_general);
	assert_string_equal(lc->topic, "t");
	assert_string_equal(lc->purpose, "p");
	assert_string_equal(lc->topic_creator, "U1");
	assert_string_equal(lc->purpose_creator, "U2");
	assert_int_equal(lc->topic_last_set, 8);
	assert_int_equal(lc->purpose_last_set, 9);
	assert_string_equal(lc->previous_names, "a,b");
	assert_int_equal(lc->updated, 10);
	assert_int_equal(core_member_count(lc), 2);
	chan_member *lm = core_member_get(lc, "U1");
	assert_non_null(lm);
	assert_int_equal(lm->joined, 100);
	assert_int_equal(lm->last_read, 2000000);
	assert_true(lm->open);
	lm = core_member_get(lc, "U2");
	assert_non_null(lm);
	assert_int_equal(lm->joined, 200);
	assert_false(lm->open);

	channel *ld = core_channel_get(&s, "D1");
	assert_non_null(ld);
	assert_int_equal(ld->kind, CHAN_IM);
	assert_string_equal(ld->im_user, "U2");
	assert_int_equal(core_member_count(ld), 0);
	assert_ptr_equal(core_im_get(&s, "T1", "U2", "U1"), ld);

	usergroup *lg = core_usergroup_get(&s, "S1");
	assert_non_null(lg);
	assert_string_equal(lg->name, "Devs");
	assert_string_equal(lg->handle, "devs");
	assert_string_equal(lg->description, "d");
	assert_string_equal(lg->created_by, "U1");
	assert_string_equal(lg->updated_by, "U2");
	assert_string_equal(lg->deleted_by, "U1");
	assert_int_equal(lg->date_create, 1);
	assert_int_equal(lg->date_update, 2);
	assert_int_equal(lg->date_delete, 3);
	assert_string_equal(lg->users, "U1,U2");
	assert_string_equal(lg->channels, "C1");

	app *la = core_app_get(&s, "A1");
	assert_non_null(la);
	assert_string_equal(la->name, "bot app");
	assert_string_equal(la->bot_id, "B1");
	assert_string_equal(la->bot_user_id, "U2");
	assert_string_equal(la->scopes, "chat:write");
	assert_string_equal(la->signing_secret, "sec");
	assert_string_equal(la->verification_token, "vt");
	assert_int_equal(la->created, 11);
	assert_int_equal(la->updated, 12);
	assert_true(la->deleted);
	assert_ptr_equal(core_app_by_bot(&s, "B1"), la);

	token *lt = core_token_get(&s, "ab12");
	assert_non_null(lt);
	assert_int_equal(lt->kind, TOKEN_BOT);
	assert_string_equal(lt->org_id, "T1");
	assert_string_equal(lt->user_id, "U2");
	assert_string_equal(lt->app_id, "A1");
	assert_string_equal(lt->scopes, "chat:write");
	assert_int_equal(lt->created, 13);
	assert_int_equal(lt->expires, 14);
	assert_true(lt->revoked);
	core_state_release(&s);
}

/* Rows in a table for one message, through a connection of the test's own. */
static int count_rows(fx *f, const char *table, const char *cid, int64_t ts)
{
	char path[128], sql[128];
	snprintf(path, sizeof path, "%s/canal.db", f->dir);
	snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s WHERE channel_id=?1 AND ts=?2", table);
	sqlite3 *db;
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, cid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, ts);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static void test_message_crud(void **state)
{
	fx *f = *state;
	message m = msg("C1", 1000, 0, "U1", "hi <@U2> and <!here>");
	strcpy(m.bot_id, "B1");
	strcpy(m.app_id, "A1");
	m.subtype = "bot_message";
	m.blocks = "[{\"type\":\"divider\"}]";
	m.attachments = "[]";
	m.metadata = "{\"event_type\":\"x\"}";
	m.extra = "{\"username\":\"bob\"}";
	m.client_msg_id = "cm-1";
	store_job *j = store_job_new(f->st);
	store_msg_insert(j, &m);
	assert_int_equal(commit(f, j), 0);
	assert_int_equal(count_rows(f, "mentions", "C1", 1000), 2);

	message out;
	assert_int_equal(store_msg_get(f->st, "C1", 1000, &out), 0);
	assert_string_equal(out.channel_id, "C1");
	assert_string_equal(out.org_id, "T1");
	assert_int_equal(out.ts, 1000);
	assert_int_equal(out.thread_ts, 0);
	assert_string_equal(out.subtype, "bot_message");
	assert_string_equal(out.user_id, "U1");
	assert_string_equal(out.bot_id, "B1");
	assert_string_equal(out.app_id, "A1");
	assert_string_equal(out.text, "hi <@U2> and <!here>");
	assert_string_equal(out.blocks, "[{\"type\":\"divider\"}]");
	assert_string_equal(out.attachments, "[]");
	assert_string_equal(out.metadata, "{\"event_type\":\"x\"}");
	assert_string_equal(out.extra, "{\"username\":\"bob\"}");
	assert_string_equal(out.client_msg_id, "cm-1");
	assert_int_equal(out.edited_ts, 0);
	assert_false(out.reply_broadcast || out.hidden);
	assert_int_equal(out.reply_count, 0);
	assert_int_equal(out.nreactions, 0);
	assert_int_equal(out.npinned, 0);
	message_release(&out);

	/* A second insert at the same key is a conflict, never an overwrite. */
	j = store_job_new(f->st);
	store_msg_insert(j, &m);
	assert_int_equal(commit(f, j), ERR_INTERNAL_ERROR);

	m.text = "edited <@U3>";
	m.blocks = NULL;
	m.edited_ts = 2000;
	strcpy(m.edited_user, "U1");
	m.hidden = true;
	m.subtype = NULL;
	j = store_job_new(f->st);
	store_msg_update(j, &m);
	assert_int_equal(commit(f, j), 0);
	assert_int_equal(count_rows(f, "mentions", "C1", 1000), 1);
	assert_int_equal(store_msg_get(f->st, "C1", 1000, &out), 0);
	assert_string_equal(out.text, "edited <@U3>");
	assert_null(out.blocks);
	assert_null(out.subtype);
	assert_int_equal(out.edited_ts, 2000);
	assert_string_equal(out.edited_user, "U1");
	assert_true(out.hidden);
	message_release(&out);

	j = store_job_new(f->st);
	store_reaction_add(j, "C1", 1000, "smile", "U2");
	store_pin_add(j, "C1", 1000, "U2", 55);
	assert_int_equal(commit(f, j), 0);

	j = store_job_new(f->st);
	store_msg_delete(j, "C1", 1000);
	assert_int_equal(commit(f, j), 0);
	assert_int_equal(store_msg_get(f->st, "C1", 1000, &out), ERR_MESSAGE_NOT_FOUND);
	message_release(&out);
	assert_int_equal(count_rows(f, "messages", "C1", 1000), 0);
	assert_int_equal(count_rows(f, "reactions", "C1", 1000), 0);
	assert_int_equal(count_rows(f, "pins", "C1", 1000), 0);
	assert_int_equal(count_rows(f, "mentions", "C1", 1000), 0);

	/* Gone by commit time: the job says so. */
	j = store_job_new(f->st);
	store_msg_update(j, &m);
	assert_int_equal(commit(f, j), ERR_MESSAGE_NOT_FOUND);
	j = store_job_new(f->st);
	store_msg_delete(j, "C1", 1000);
	assert_int_equal(commit(f, j), ERR_MESSAGE_NOT_FOUND);
}

static void assert_ts_list(message *ms, size_t n, const int64_t *want, size_t nwant)
{
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ms[i].ts, want[i]);
}

static void test_history(void **state)
{
	fx *f = *state;
	for (int64_t ts = 100; ts <= 1000; ts += 100)
		insert(f, "C1", ts, 0, "U1", "top");
	insert(f, "C2", 550, 0, "U1", "other channel");
	/* Replies: hidden from history unless broadcast. */
	insert(f, "C1", 150, 100, "U2", "reply");
	message bc = msg("C1", 160, 100, "U2", "broadcast reply");
	bc.reply_broadcast = true;
	store_job *j = store_job_new(f->st);
	store_msg_insert(j, &bc);
	assert_int_equal(commit(f, j), 0);

	message *ms;
	size_t n;
	bool more;
	store_range r = {.limit = 100};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	int64_t all[] = {1000, 900, 800, 700, 600, 500, 400, 300, 200, 160, 100};
	assert_ts_list(ms, n, all, 11);
	assert_false(more);
	assert_true(ms[9].reply_broadcast);
	assert_int_equal(ms[9].thread_ts, 100);
	assert_int_equal(ms[10].reply_count, 2);
	message_list_free(ms, n);

	r = (store_range){.limit = 3};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	int64_t top3[] = {1000, 900, 800};
	assert_ts_list(ms, n, top3, 3);
	assert_true(more);
	message_list_free(ms, n);

	/* Exact page: no more. */
	r = (store_range){.limit = 11};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	assert_int_equal(n, 11);
	assert_false(more);
	message_list_free(ms, n);

	/* Exclusive bounds, newest first, closest to latest. */
	r = (store_range){.oldest = 300, .latest = 700, .limit = 2};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	int64_t ex[] = {600, 500};
	assert_ts_list(ms, n, ex, 2);
	assert_true(more);
	message_list_free(ms, n);

	r = (store_range){.oldest = 300, .latest = 700, .limit = 10};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	int64_t ex2[] = {600, 500, 400};
	assert_ts_list(ms, n, ex2, 3);
	assert_false(more);
	message_list_free(ms, n);

	r = (store_range){.oldest = 300, .latest = 700, .inclusive = true, .limit = 10};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	int64_t in[] = {700, 600, 500, 400, 300};
	assert_ts_list(ms, n, in, 5);
	message_list_free(ms, n);

	r = (store_range){.oldest = 850, .limit = 10};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	int64_t old[] = {1000, 900};
	assert_ts_list(ms, n, old, 2);
	message_list_free(ms, n);

	r = (store_range){.latest = 200, .limit = 10};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	int64_t lat[] = {160, 100};
	assert_ts_list(ms, n, lat, 2);
	message_list_free(ms, n);

	assert_int_equal(store_msg_history(f->st, "C9", &r, &ms, &n, &more), 0);
	assert_int_equal(n, 0);
	assert_false(more);
	message_list_free(ms, n);

	/* Extreme exclusive bounds saturate instead of overflowing (UBSan;
	 * fuzz/corpus/fuzz_json_api/crash-oldest-max). */
	r = (store_range){.oldest = INT64_MAX, .limit = 10};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	assert_int_equal(n, 0);
	message_list_free(ms, n);
	r = (store_range){.latest = INT64_MIN, .limit = 10};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	assert_int_equal(n, 0);
	message_list_free(ms, n);
	r = (store_range){.oldest = INT64_MAX, .limit = 10};
	assert_int_equal(store_msg_replies(f->st, "C1", 100, &r, &ms, &n, &more), 0);
	assert_int_equal(n, 0);
	message_list_free(ms, n);

	int64_t v;
	assert_int_equal(store_msg_count_after(f->st, "C1", 500, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(store_msg_count_after(f->st, "C1", 0, &v), 0);
	assert_int_equal(v, 11);
	assert_int_equal(store_msg_latest_ts(f->st, "C1", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(store_msg_latest_ts(f->st, "C9", &v), 0);
	assert_int_equal(v, 0);
}

static void test_threads(void **state)
{
	fx *f = *state;
	insert(f, "C1", 1000, 0, "U0", "parent");
	insert(f, "C1", 2000, 0, "U0", "no replies");
	const char *repliers[] = {"U1", "U2", "U1", "U3", "U4", "U5", "U6", "U2", "U7"};
	for (int i = 0; i < 9; i++)
		insert(f, "C1", 1100 + i * 10, 1000, repliers[i], "reply");
	/* A reply in another thread and channel must not leak in. */
	insert(f, "C1", 2100, 2000, "U9", "other thread");
	insert(f, "C2", 1150, 1000, "U8", "other channel");

	message m;
	assert_int_equal(store_msg_get(f->st, "C1", 1000, &m), 0);
	assert_int_equal(m.thread_ts, 1000); /* a parent with replies */
	assert_int_equal(m.reply_count, 9);
	assert_int_equal(m.latest_reply, 1180);
	assert_int_equal(m.reply_users_count, 7);
	assert_int_equal(m.nreply_users, 5);
	const char *first5[] = {"U1", "U2", "U3", "U4", "U5"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(m.reply_users[i], first5[i]);
	message_release(&m);

	/* A reply is not a parent. */
	assert_int_equal(store_msg_get(f->st, "C1", 1110, &m), 0);
	assert_int_equal(m.thread_ts, 1000);
	assert_int_equal(m.reply_count, 0);
	message_release(&m);

	/* History decorates every parent on the page. */
	message *ms;
	size_t n;
	bool more;
	store_range r = {.limit = 10};
	assert_int_equal(store_msg_history(f->st, "C1", &r, &ms, &n, &more), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ms[0].ts, 2000);
	assert_int_equal(ms[0].reply_count, 1);
	assert_int_equal(ms[0].thread_ts, 2000);
	assert_int_equal(ms[0].nreply_users, 1);
	assert_string_equal(ms[0].reply_users[0], "U9");
	assert_int_equal(ms[1].reply_count, 9);
	assert_int_equal(ms[1].reply_users_count, 7);
	message_list_free(ms, n);

	/* Replies: parent first, then oldest first. */
	r = (store_range){.limit = 100};
	assert_int_equal(store_msg_replies(f->st, "C1", 1000, &r, &ms, &n, &more), 0);
	assert_int_equal(n, 10);
	assert_false(more);
	assert_int_equal(ms[0].ts, 1000);
	assert_int_equal(ms[0].reply_count, 9);
	for (int i = 0; i < 9; i++)
		assert_int_equal(ms[i + 1].ts, 1100 + i * 10);
	message_list_free(ms, n);

	/* The parent counts toward the limit. */
	r = (store_range){.limit = 3};
	assert_int_equal(store_msg_replies(f->st, "C1", 1000, &r, &ms, &n, &more), 0);
	int64_t p3[] = {1000, 1100, 1110};
	assert_ts_list(ms, n, p3, 3);
	assert_true(more);
	message_list_free(ms, n);

	/* Paging past the parent: it is out of range, so not shown. */
	r = (store_range){.oldest = 1110, .limit = 3};
	assert_int_equal(store_msg_replies(f->st, "C1", 1000, &r, &ms, &n, &more), 0);
	int64_t pg[] = {1120, 1130, 1140};
	assert_ts_list(ms, n, pg, 3);
	assert_true(more);
	message_list_free(ms, n);

	r = (store_range){.oldest = 1000, .latest = 1120, .inclusive = true, .limit = 10};
	assert_int_equal(store_msg_replies(f->st, "C1", 1000, &r, &ms, &n, &more), 0);
	int64_t inc[] = {1000, 1100, 1110, 1120};
	assert_ts_list(ms, n, inc, 4);
	assert_false(more);
	message_list_free(ms, n);

	assert_int_equal(store_msg_replies(f->st, "C1", 999, &r, &ms, &n, &more),
			 ERR_THREAD_NOT_FOUND);
	assert_int_equal(n, 0);
}

static void test_reactions(void **state)
{
	fx *f = *state;
	insert(f, "C1", 1000, 0, "U1", "a");
	insert(f, "C1", 2000, 0, "U1", "b");
	insert(f, "C2", 3000, 0, "U1", "c");
	store_job *j = store_job_new(f->st);
	store_reaction_add(j, "C1", 1000, "thumbsup", "U1");
	store_reaction_add(j, "C1", 1000, "tada", "U2");
	store_reaction_add(j, "C1", 1000, "thumbsup", "U2");
	store_reaction_add(j, "C1", 1000, "thumbsup", "U3");
	assert_int_equal(commit(f, j), 0);

	message m;
	assert_int_equal(store_msg_get(f->st, "C1", 1000, &m), 0);
	assert_int_equal(m.nreactions, 2);
	assert_string_equal(m.reactions[0].name, "thumbsup");
	assert_int_equal(m.reactions[0].nusers, 3);
	assert_string_equal(m.reactions[0].users[0], "U1");
	assert_string_equal(m.reactions[0].users[1], "U2");
	assert_string_equal(m.reactions[0].users[2], "U3");
	assert_string_equal(m.reactions[1].name, "tada");
	assert_int_equal(m.reactions[1].nusers, 1);
	message_release(&m);

	/* Names are ordered by their oldest remaining reaction: without U1's
	 * thumbsup, tada (second reaction overall) comes first. */
	j = store_job_new(f->st);
	store_reaction_remove(j, "C1", 1000, "thumbsup", "U1");
	assert_int_equal(commit(f, j), 0);
	assert_int_equal(store_msg_get(f->st, "C1", 1000, &m), 0);
	assert_int_equal(m.nreactions, 2);
	assert_string_equal(m.reactions[0].name, "tada");
	assert_string_equal(m.reactions[1].name, "thumbsup");
	assert_int_equal(m.reactions[1].nusers, 2);
	message_release(&m);

	j = store_job_new(f->st);
	store_reaction_add(j, "C1", 2000, "eyes", "U4");
	assert_int_equal(commit(f, j), 0);

	/* on_conflict applies only to the next op. */
	j = store_job_new(f->st);
	store_job_on_conflict(j, ERR_ALREADY_REACTED);
	store_reaction_add(j, "C1", 2000, "new", "U4");
	store_reaction_add(j, "C1", 2000, "new", "U4");
	assert_int_equal(commit(f, j), ERR_INTERNAL_ERROR);

	/* Removing what is not there is a no-op, not an error. */
	j = store_job_new(f->st);
	store_reaction_remove(j, "C1", 2000, "nope", "U4");
	assert_int_equal(commit(f, j), 0);

	/* By user: newest reaction first, only visible channels, paged. */
	j = store_job_new(f->st);
	store_reaction_add(j, "C2", 3000, "x", "U4");
	assert_int_equal(commit(f, j), 0);
	j = store_job_new(f->st);
	store_reaction_add(j, "C1", 1000, "y", "U4");
	assert_int_equal(commit(f, j), 0);
	message *ms;
	size_t n;
	bool more;
	const char *both[] = {"C1", "C2"};
	assert_int_equal(store_reactions_by_user(f->st, "U4", both, 2, 0, 10, &ms, &n, &more), 0);
	int64_t want[] = {1000, 3000, 2000};
	assert_ts_list(ms, n, want, 3);
	assert_false(more);
	assert_string_equal(ms[1].channel_id, "C2");
	assert_int_equal(ms[1].nreactions, 1);
	message_list_free(ms, n);
	assert_int_equal(store_reactions_by_user(f->st, "U4", both, 2, 1, 1, &ms, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ms[0].ts, 3000);
	assert_true(more);
	message_list_free(ms, n);
	const char *c1[] = {"C1"};
	assert_int_equal(store_reactions_by_user(f->st, "U4", c1, 1, 0, 10, &ms, &n, &more), 0);
	int64_t want1[] = {1000, 2000};
	assert_ts_list(ms, n, want1, 2);
	message_list_free(ms, n);
	assert_int_equal(store_reactions_by_user(f->st, "U4", NULL, 0, 0, 10, &ms, &n, &more), 0);
	assert_int_equal(n, 0);
}

/* A failing job in a batch is rolled back alone; its neighbours commit in
 * the same transaction. batch_max=3 with a long batch_wait makes the writer
 * gather exactly the three jobs (it proceeds as soon as the third arrives,
 * so the wait never elapses). */
static void test_batch_isolation(void **state)
{
	fx *f = *state;
	insert(f, "C1", 1000, 0, "U1", "a");
	insert(f, "C1", 2000, 0, "U1", "b");
	store_job *j = store_job_new(f->st);
	store_reaction_add(j, "C1", 1000, "tada", "U2");
	assert_int_equal(commit(f, j), 0);
	close_store(f);
	char err[256];
	store_cfg cfg = {.dir = f->dir, .batch_max = 3, .batch_wait_us = 10 * 1000 * 1000};
	f->st = store_open(&cfg, &f->loop, err, sizeof err);
	assert_non_null(f->st);

	outcome oa = {0}, ob = {0}, oc = {0};
	g_completed = 0;
	j = store_job_new(f->st);
	store_reaction_add(j, "C1", 2000, "fire", "U1");   /* rolled back with its job */
	store_job_on_conflict(j, ERR_ALREADY_REACTED);
	store_reaction_add(j, "C1", 1000, "tada", "U2");   /* duplicate */
	store_job *jb = store_job_new(f->st);
	store_reaction_add(jb, "C1", 2000, "eyes", "U4");
	store_job *jc = store_job_new(f->st);
	store_reaction_add(jc, "C1", 2000, "eyes", "U4");   /* duplicate, no on_conflict */
	store_submit(f->st, j, done_cb, &oa);
	store_submit(f->st, jb, done_cb, &ob);
	store_submit(f->st, jc, done_cb, &oc);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(oa.calls, 1);
	assert_int_equal(oa.err, ERR_ALREADY_REACTED);
	assert_int_equal(ob.err, 0);
	assert_int_equal(oc.err, ERR_INTERNAL_ERROR);
	assert_true(oa.order < ob.order && ob.order < oc.order);
	store_stats ss;
	store_get_stats(f->st, &ss);
	assert_int_equal(ss.commits, 1);
	assert_int_equal(ss.batch_hist[1], 1); /* one batch of 2-3 jobs */
	assert_int_equal(ss.jobs, 1);
	assert_int_equal(ss.failed_jobs, 2);

	message m;
	assert_int_equal(store_msg_get(f->st, "C1", 2000, &m), 0);
	assert_int_equal(m.nreactions, 1);
	assert_string_equal(m.reactions[0].name, "eyes");
	message_release(&m);
}

static void test_pins(void **state)
{
	fx *f = *state;
	insert(f, "C1", 1000, 0, "U1", "a");
	insert(f, "C1", 2000, 0, "U1", "b");
	insert(f, "C1", 3000, 0, "U1", "c");
	store_job *j = store_job_new(f->st);
	store_pin_add(j, "C1", 1000, "U2", 500);
	store_pin_add(j, "C1", 3000, "U3", 600);
	assert_int_equal(commit(f, j), 0);

	j = store_job_new(f->st);
	store_job_on_conflict(j, ERR_ALREADY_PINNED);
	store_pin_add(j, "C1", 1000, "U2", 700);
	assert_int_equal(commit(f, j), ERR_ALREADY_PINNED);

	message m;
	assert_int_equal(store_msg_get(f->st, "C1", 1000, &m), 0);
	assert_int_equal(m.npinned, 1);
	assert_string_equal(m.pinned_to[0], "C1");
	message_release(&m);
	assert_int_equal(store_msg_get(f->st, "C1", 2000, &m), 0);
	assert_int_equal(m.npinned, 0);
	message_release(&m);

	store_pin *p;
	size_t n;
	assert_int_equal(store_pins_list(f->st, "C1", &p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].msg.ts, 3000);
	assert_string_equal(p[0].created_by, "U3");
	assert_int_equal(p[0].created, 600);
	assert_string_equal(p[0].msg.text, "c");
	assert_int_equal(p[0].msg.npinned, 1);
	assert_int_equal(p[1].msg.ts, 1000);
	assert_string_equal(p[1].created_by, "U2");
	store_pin_list_free(p, n);

	j = store_job_new(f->st);
	store_pin_remove(j, "C1", 3000);
	assert_int_equal(commit(f, j), 0);
	j = store_job_new(f->st);
	store_pin_remove(j, "C1", 3000);
	assert_int_equal(commit(f, j), 0);
	assert_int_equal(store_pins_list(f->st, "C1", &p, &n), 0);
	assert_int_equal(n, 1);
	store_pin_list_free(p, n);
	assert_int_equal(store_pins_list(f->st, "C9", &p, &n), 0);
	assert_int_equal(n, 0);
	store_pin_list_free(p, n);
}

static void test_offline(void **state)
{
	fx *f = *state;
	close_store(f);
	store *st = open_store(f, NULL);
	org o = {.id = "T9", .name = "Offline"};
	outcome res = {0};
	store_job *j = store_job_new(st);
	store_put_org(j, &o);
	store_submit(st, j, done_cb, &res);
	assert_int_equal(res.calls, 1); /* before store_submit returned */
	assert_int_equal(res.err, 0);
	j = store_job_new(st);
	store_submit(st, j, done_cb, &res); /* empty job */
	assert_int_equal(res.calls, 2);
	message m = msg("C1", 77, 0, "U1", "offline");
	j = store_job_new(st);
	store_msg_insert(j, &m);
	store_submit(st, j, NULL, NULL);
	message out;
	assert_int_equal(store_msg_get(st, "C1", 77, &out), 0);
	assert_string_equal(out.text, "offline");
	message_release(&out);
	store_stats ss;
	store_get_stats(st, &ss);
	assert_int_equal(ss.commits, 2);
	assert_int_equal(ss.jobs, 3);
	store_close(st);

	f->st = open_store(f, &f->loop);
	core_state s;
	core_state_init(&s);
	assert_int_equal(store_load(f->st, &s), 0);
	assert_non_null(core_org_get(&s, "T9"));
	core_state_release(&s);
}

static void test_group_commit(void **state)
{
	fx *f = *state;
	enum { N = 500 };
	outcome *res = xcalloc(N, sizeof *res);
	g_completed = 0;
	for (int i = 0; i < N; i++) {
		message m = msg("C1", 1000 + i, 0, "U1", "bulk");
		store_job *j = store_job_new(f->st);
		store_msg_insert(j, &m);
		store_submit(f->st, j, done_cb, &res[i]);
	}
	uv_run(&f->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < N; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].err, 0);
		assert_int_equal(res[i].order, i); /* completion in submission order */
	}
	free(res);
	store_stats ss;
	store_get_stats(f->st, &ss);
	assert_int_equal(ss.jobs, N);
	assert_int_equal(ss.failed_jobs, 0);
	assert_int_equal(ss.queue_depth, 0);
	assert_true(ss.commits < N);
	uint64_t nb = 0, nl = 0;
	for (int i = 0; i < 8; i++) {
		nb += ss.batch_hist[i];
		nl += ss.commit_us_hist[i];
	}
	assert_int_equal(nb, ss.commits);
	assert_int_equal(nl, ss.commits);
	int64_t c;
	assert_int_equal(store_msg_count_after(f->st, "C1", 0, &c), 0);
	assert_int_equal(c, N);
}

/* More jobs than the queue holds: store_submit waits for the writer
 * instead of growing the queue; everything still completes. */
static void test_queue_bound(void **state)
{
	fx *f = *state;
	enum { N = SQLITE_QUEUE_MAX + 100 };
	g_completed = 0;
	outcome last = {0};
	for (int i = 0; i < N - 1; i++)
		store_submit(f->st, store_job_new(f->st), NULL, NULL);
	store_submit(f->st, store_job_new(f->st), done_cb, &last);
	store_stats ss;
	store_get_stats(f->st, &ss);
	assert_true(ss.queue_depth <= SQLITE_QUEUE_MAX);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(last.calls, 1);
	store_get_stats(f->st, &ss);
	assert_int_equal(ss.jobs, N);
}

/* Jobs still queued at close are committed, and their callbacks run. */
static void test_close_drains(void **state)
{
	fx *f = *state;
	outcome res[20] = {{0}};
	for (int i = 0; i < 20; i++) {
		message m = msg("C1", 100 + i, 0, "U1", "late");
		store_job *j = store_job_new(f->st);
		store_msg_insert(j, &m);
		store_submit(f->st, j, done_cb, &res[i]);
	}
	store_close(f->st);
	f->st = NULL;
	for (int i = 0; i < 20; i++)
		assert_int_equal(res[i].calls, 1);
	/* Checkpointed at close: nothing left in a WAL. */
	char wal[128];
	struct stat sb;
	snprintf(wal, sizeof wal, "%s/canal.db-wal", f->dir);
	assert_true(stat(wal, &sb) != 0 || sb.st_size == 0);
	f->st = open_store(f, &f->loop);
	int64_t c;
	assert_int_equal(store_msg_count_after(f->st, "C1", 0, &c), 0);
	assert_int_equal(c, 20);
}

/* A callback that submits more work from inside another completion. */
static store *g_st;
static outcome g_chained;
static void chain_cb(void *ud, int err)
{
	assert_int_equal(err, 0);
	store_submit(g_st, store_job_new(g_st), done_cb, &g_chained);
}

static void test_submit_from_callback(void **state)
{
	fx *f = *state;
	g_st = f->st;
	memset(&g_chained, 0, sizeof g_chained);
	store_submit(f->st, store_job_new(f->st), chain_cb, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(g_chained.calls, 1);
}

static void test_storage_full(void **state)
{
	fx *f = *state;
	insert(f, "C1", 1, 0, "U1", "small");
	/* Cap the file at its current size (the writer is idle: nothing queued). */
	assert_int_equal(sqlite3_exec(f->st->wdb, "PRAGMA max_page_count=1", NULL, NULL, NULL),
			 SQLITE_OK);
	size_t big = 1 << 20;
	char *text = xmalloc(big + 1);
	memset(text, 'x', big);
	text[big] = '\0';
	message m = msg("C1", 2, 0, "U1", text);
	store_job *j = store_job_new(f->st);
	store_msg_insert(j, &m);
	free(text); /* the job holds its own copy */
	assert_int_equal(commit(f, j), ERR_STORAGE_FULL);
	store_stats ss;
	store_get_stats(f->st, &ss);
	assert_int_equal(ss.failed_jobs, 1);
	message out;
	assert_int_equal(store_msg_get(f->st, "C1", 2, &out), ERR_MESSAGE_NOT_FOUND);
	assert_int_equal(store_msg_get(f->st, "C1", 1, &out), 0);
	message_release(&out);
}

static void test_unwritable_dir(void **state)
{
	fx *f = *state;
	char path[128], err[256];
	/* A regular file where a directory should be: fails even for root. */
	snprintf(path, sizeof path, "%s/file", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(path, sizeof path, "%s/file/data", f->dir);
	store_cfg cfg = {.dir = path};
	err[0] = '\0';
	assert_null(store_open(&cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "cannot create data directory"));

	snprintf(path, sizeof path, "%s/file", f->dir);
	cfg.dir = path;
	assert_null(store_open(&cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, "not a directory"));

	if (geteuid() != 0) { /* root ignores permission bits */
		snprintf(path, sizeof path, "%s/ro", f->dir);
		assert_int_equal(mkdir(path, 0500), 0);
		cfg.dir = path;
		assert_null(store_open(&cfg, &f->loop, err, sizeof err));
		assert_non_null(strstr(err, "not writable"));
		chmod(path, 0700);
	}

	/* A missing directory is created, 0700. */
	snprintf(path, sizeof path, "%s/new/deeper", f->dir);
	cfg.dir = path;
	store *st = store_open(&cfg, &f->loop, err, sizeof err);
	assert_non_null(st);
	store_close(st);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
}

static void test_newer_schema(void **state)
{
	fx *f = *state;
	close_store(f);
	char path[128], err[256];
	snprintf(path, sizeof path, "%s/canal.db", f->dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=999", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store_cfg cfg = {.dir = f->dir};
	assert_null(store_open(&cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, "newer"));

	/* Not a database at all. */
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("garbage garbage garbage garbage ", fp);
	fclose(fp);
	assert_null(store_open(&cfg, &f->loop, err, sizeof err));
	assert_non_null(strstr(err, "not a database"));
}

/* ---- checkpoints ---- */

static off_t wal_size(fx *f)
{
	char wal[128];
	struct stat sb;
	snprintf(wal, sizeof wal, "%s/canal.db-wal", f->dir);
	return stat(wal, &sb) == 0 ? sb.st_size : 0;
}

/* Submits n single-message jobs (ts from *ts on) and runs the loop until
 * all of them completed. */
static void insert_window(fx *f, int64_t *ts, int n)
{
	outcome o[64] = {{0}};
	assert_true(n <= 64);
	for (int i = 0; i < n; i++) {
		message m = msg("C1", (*ts)++, 0, "U1", "a steady stream of messages");
		store_job *j = store_job_new(f->st);
		store_msg_insert(j, &m);
		store_submit(f->st, j, done_cb, &o[i]);
	}
	uv_run(&f->loop, UV_RUN_DEFAULT);
	for (int i = 0; i < n; i++) {
		assert_int_equal(o[i].calls, 1);
		assert_int_equal(o[i].err, 0);
	}
}

/* Under a sustained stream of commits the checkpointer keeps the WAL near
 * SQLITE_CKPT_PAGES: it restarts from the beginning again and again, and
 * the writer never has to checkpoint itself. */
static void test_wal_bounded(void **state)
{
	fx *f = *state;
	enum { N = 20000, W = 16 };
	int64_t ts = 1;
	off_t max = 0;
	for (int i = 0; i < N; i += W) {
		insert_window(f, &ts, W);
		off_t sz = wal_size(f);
		if (sz > max)
			max = sz;
	}
	store_stats ss;
	store_get_stats(f->st, &ss);
	print_message("wal max %lld bytes, commits %llu, checkpoints %llu, holds %llu, restarts %llu\n",
		      (long long)max, (unsigned long long)ss.commits,
		      (unsigned long long)ss.checkpoints, (unsigned long long)ss.checkpoint_holds,
		      (unsigned long long)ss.wal_restarts);
	/* Enough frames went through for several rounds... */
	assert_true(ss.checkpoints > 0);
	assert_true(ss.checkpoint_holds >= 2);
	assert_true(ss.wal_restarts >= 2);
	assert_int_equal(ss.checkpoint_forced, 0);
	/* ...and the WAL file never grew far past one round's worth. */
	assert_true(max <= (off_t)4 * SQLITE_CKPT_PAGES * 4096);
	assert_true(ss.wal_pages <= (uint64_t)4 * SQLITE_CKPT_PAGES);

	/* Everything acknowledged is there, and close leaves an empty WAL. */
	int64_t c;
	assert_int_equal(store_msg_count_after(f->st, "C1", 0, &c), 0);
	assert_int_equal(c, N);
	close_store(f);
	assert_int_equal(wal_size(f), 0);
	f->st = open_store(f, &f->loop);
	assert_int_equal(store_msg_count_after(f->st, "C1", 0, &c), 0);
	assert_int_equal(c, N);
}

static bool ckpt_active(store *st)
{
	pthread_mutex_lock(&st->mu);
	bool a = st->ckpt_active;
	pthread_mutex_unlock(&st->mu);
	return a;
}

/* store_close while the checkpointer is in a round (possibly holding the
 * writer): no deadlock, every job completes, the WAL ends empty. */
static void test_close_during_checkpoint(void **state)
{
	fx *f = *state;
	int64_t ts = 1;
	int caught = 0;
	/* NORMAL: commits without an fsync each, to get to a checkpoint
	 * sooner; checkpoints sync the same. */
	close_store(f);
	f->st = open_store_sync(f, &f->loop, STORE_SYNC_NORMAL);
	for (int round = 0; round < 3; round++) {
		enum { MAXJOBS = 40000, W = 16 };
		outcome *o = xcalloc(MAXJOBS, sizeof *o);
		int n = 0;
		bool seen = false;
		/* Keep W jobs in flight, polling the checkpointer between loop
		 * turns, until it is seen at work. */
		while (n < MAXJOBS && !seen) {
			for (int i = 0; i < W; i++, n++) {
				message m = msg("C1", ts++, 0, "U1", "close me");
				store_job *j = store_job_new(f->st);
				store_msg_insert(j, &m);
				store_submit(f->st, j, done_cb, &o[n]);
			}
			while (o[n - 1].calls == 0 && !(seen = ckpt_active(f->st)))
				uv_run(&f->loop, UV_RUN_NOWAIT);
		}
		caught += seen;
		/* More work queued behind the checkpoint, then close at once. */
		for (int i = 0; i < W && n < MAXJOBS; i++, n++) {
			message m = msg("C1", ts++, 0, "U1", "queued at close");
			store_job *j = store_job_new(f->st);
			store_msg_insert(j, &m);
			store_submit(f->st, j, done_cb, &o[n]);
		}
		close_store(f);
		for (int i = 0; i < n; i++) {
			assert_int_equal(o[i].calls, 1);
			assert_int_equal(o[i].err, 0);
		}
		free(o);
		assert_int_equal(wal_size(f), 0);
		f->st = open_store_sync(f, &f->loop, STORE_SYNC_NORMAL);
		int64_t c;
		assert_int_equal(store_msg_count_after(f->st, "C1", 0, &c), 0);
		assert_int_equal(c, ts - 1);
	}
	/* The race is not forced; the checkpointer was caught at work at
	 * least once in three rounds. */
	assert_true(caught > 0);
}

/* Once the writer has been quiet for a moment, the checkpointer copies
 * what is left, without waiting for SQLITE_CKPT_PAGES. */
static void test_idle_checkpoint(void **state)
{
	fx *f = *state;
	insert(f, "C1", 1, 0, "U1", "one");
	insert(f, "C1", 2, 0, "U1", "two");
	insert(f, "C1", 3, 0, "U1", "three");
	store_stats ss;
	bool done = false;
	for (int i = 0; i < 200 && !done; i++) { /* up to 2 s */
		usleep(10000);
		pthread_mutex_lock(&f->st->mu);
		done = f->st->stats.checkpoints > 0 && f->st->wal_backfilled == f->st->wal_frames;
		pthread_mutex_unlock(&f->st->mu);
	}
	assert_true(done);
	store_get_stats(f->st, &ss);
	assert_int_equal(ss.checkpoint_holds, 0);
	/* It runs once per quiet spell, not in a loop. */
	uint64_t n = ss.checkpoints;
	usleep(3 * SQLITE_IDLE_CKPT_US);
	store_get_stats(f->st, &ss);
	assert_int_equal(ss.checkpoints, n);
	/* The next commit starts the WAL over (seen as a WAL shorter than
	 * after the previous commit). */
	uint64_t restarts = ss.wal_restarts;
	insert(f, "C1", 4, 0, "U1", "four");
	store_get_stats(f->st, &ss);
	assert_int_equal(ss.wal_restarts, restarts + 1);
}

/* A reader that keeps a snapshot open pins the WAL: checkpoints cannot
 * finish, so it grows; the checkpointer neither spins nor stalls the
 * writer meanwhile, and once the reader is gone the WAL restarts. */
static void test_pinned_reader(void **state)
{
	fx *f = *state;
	int64_t ts = 1;
	insert_window(f, &ts, 8);
	char path[128];
	snprintf(path, sizeof path, "%s/canal.db", f->dir);
	sqlite3 *rd;
	assert_int_equal(sqlite3_open_v2(path, &rd, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(rd, "BEGIN; SELECT count(*) FROM messages;", NULL, NULL, NULL),
			 SQLITE_OK);
	store_stats before, ss;
	store_get_stats(f->st, &before);
	for (int i = 0; i < 800; i++)
		insert_window(f, &ts, 4);
	store_get_stats(f->st, &ss);
	print_message("pinned: wal %llu pages, checkpoints %llu, holds %llu, restarts %llu\n",
		      (unsigned long long)ss.wal_pages,
		      (unsigned long long)(ss.checkpoints - before.checkpoints),
		      (unsigned long long)(ss.checkpoint_holds - before.checkpoint_holds),
		      (unsigned long long)(ss.wal_restarts - before.wal_restarts));
	assert_int_equal(ss.wal_restarts, before.wal_restarts);
	assert_true(ss.wal_pages > (uint64_t)SQLITE_CKPT_PAGES);
	print_message("pinned: wal file %lld bytes\n", (long long)wal_size(f));
	/* A round per SQLITE_CKPT_PAGES frames at most, each a few passes. */
	uint64_t rounds = ss.wal_pages / SQLITE_CKPT_PAGES + 1;
	assert_true(ss.checkpoints - before.checkpoints <= rounds * (SQLITE_CKPT_MAX_PASSES + 2));
	assert_int_equal(ss.failed_jobs, 0);

	sqlite3_exec(rd, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(rd);
	for (int i = 0; i < 1000 && ss.wal_restarts == before.wal_restarts; i++) {
		insert_window(f, &ts, 4);
		store_get_stats(f->st, &ss);
	}
	assert_true(ss.wal_restarts > before.wal_restarts);
	/* The restart also cut the file back (journal_size_limit). */
	print_message("pinned: wal file %lld bytes after the restart\n", (long long)wal_size(f));
	assert_true(wal_size(f) <= SQLITE_WAL_SIZE_LIMIT);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entities_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_crud, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_from_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_storage_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_during_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_checkpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_reader, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
