/* The search index and store_search_messages on a real SQLite store
 * (offline mode: every job commits before store_submit returns): what is
 * indexed, filters, sorting and paging, edits and deletions, failed jobs,
 * rowid reuse, recovery of a queue a crash left behind, indexing off. */
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
#include <unistd.h>
#include <uv.h>

#include "base/xalloc.h"
#include "core/err.h"
#include "core/search_query.h"
#include "store/store.h"

typedef struct fx {
	char dir[64];
	store *st;
} fx;

static store *open_at(const char *dir, bool index_off)
{
	char err[256] = "";
	store_cfg cfg = {.dir = dir, .sync = STORE_SYNC_OFF, .search_index_off = index_off};
	store *st = store_open(&cfg, NULL, err, sizeof err);
	if (!st)
		fail_msg("store_open: %s", err);
	return st;
}

static int setup(void **state)
{
	fx *f = xcalloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/canal-search-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->st = open_at(f->dir, false);
	*state = f;
	return 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	fx *f = *state;
	if (f->st)
		store_close(f->st);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void done_cb(void *ud, int err)
{
	*(int *)ud = err;
}

static int submit(store *st, store_job *j)
{
	int err = -12345;
	store_submit(st, j, done_cb, &err);
	assert_int_not_equal(err, -12345);
	return err;
}

static void fill_msg(message *m, const char *ch, int64_t ts, const char *text, const char *uid)
{
	message_init(m);
	snprintf(m->channel_id, sizeof m->channel_id, "%s", ch);
	snprintf(m->org_id, sizeof m->org_id, "T1");
	snprintf(m->user_id, sizeof m->user_id, "%s", uid);
	m->ts = ts;
	m->text = xstrdup(text);
}

static void post(store *st, const char *ch, int64_t ts, const char *text, const char *uid)
{
	message m;
	fill_msg(&m, ch, ts, text, uid);
	store_job *j = store_job_new(st);
	store_msg_insert(j, &m);
	assert_int_equal(submit(st, j), 0);
	message_release(&m);
}

static const char *const both[] = {"C1", "C2"};

typedef struct res {
	store_search_hit *h;
	size_t n, total;
} res;

static res find_in(store *st, const char *query, const char *const *chans, size_t nchans,
		   store_search_sort sort, bool asc, size_t offset, size_t limit)
{
	search_query q;
	char err[256];
	if (search_query_parse(query, 1715774400000000LL, &q, err, sizeof err))
		fail_msg("%s: %s", query, err);
	store_search_req r = {.q = &q, .channels = chans, .nchannels = nchans, .sort = sort,
			      .ascending = asc, .offset = offset, .limit = limit};
	res out = {0};
	assert_int_equal(store_search_messages(st, &r, &out.h, &out.n, &out.total), 0);
	search_query_release(&q);
	return out;
}

static size_t count(store *st, const char *query)
{
	res r = find_in(st, query, both, 2, STORE_SEARCH_SCORE, false, 0, 100);
	store_search_hits_free(r.h, r.n);
	return r.total;
}

static void test_indexed_and_filtered(void **state)
{
	fx *f = *state;
	store *st = f->st;
	post(st, "C1", 1000, "alpha deploy failed", "U1");
	post(st, "C1", 2000, "alpha deploy <https://x.test|runbook>", "U2");
	post(st, "C2", 3000, "alpha elsewhere", "U1");
	post(st, "C3", 4000, "alpha hidden channel", "U1");
	/* What search leaves out: joins, tombstones. */
	message m;
	fill_msg(&m, "C1", 5000, "alpha <@U3> has joined the channel", "U3");
	m.subtype = xstrdup("channel_join");
	store_job *j = store_job_new(st);
	store_msg_insert(j, &m);
	message_release(&m);
	fill_msg(&m, "C1", 6000, "alpha This message was deleted.", "U1");
	m.subtype = xstrdup("tombstone");
	m.hidden = true;
	store_msg_insert(j, &m);
	message_release(&m);
	/* A bot message and a thread reply are found. */
	fill_msg(&m, "C1", 7000, "alpha from a bot", "U9");
	m.subtype = xstrdup("bot_message");
	store_msg_insert(j, &m);
	message_release(&m);
	fill_msg(&m, "C1", 8000, "alpha reply", "U2");
	m.thread_ts = 1000;
	store_msg_insert(j, &m);
	message_release(&m);
	store_pin_add(j, "C1", 2000, "U1", 1);
	store_reaction_add(j, "C2", 3000, "thumbsup::skin-tone-2", "U2");
	assert_int_equal(submit(st, j), 0);

	assert_int_equal(count(st, "alpha"), 5);  /* C3 is not in the set */
	res r = find_in(st, "alpha", (const char *const[]){"C3"}, 1, STORE_SEARCH_SCORE, false, 0, 10);
	assert_int_equal(r.total, 1);
	assert_string_equal(r.h[0].msg.text, "alpha hidden channel");
	assert_int_equal(r.h[0].msg.ts, 4000);
	assert_true(r.h[0].score > 0);
	store_search_hits_free(r.h, r.n);
	r = find_in(st, "alpha", NULL, 0, STORE_SEARCH_SCORE, false, 0, 10);
	assert_int_equal(r.total, 0);
	assert_null(r.h);

	assert_int_equal(count(st, "runbook"), 1);         /* link labels are text */
	assert_int_equal(count(st, "deploy -failed"), 1);
	assert_int_equal(count(st, "\"deploy failed\""), 1);
	assert_int_equal(count(st, "deployed"), 2);        /* stemmed */
	assert_int_equal(count(st, "alpha has:link"), 1);
	assert_int_equal(count(st, "alpha has:pin"), 1);
	assert_int_equal(count(st, "alpha has:reaction"), 1);
	assert_int_equal(count(st, "alpha has::thumbsup:"), 1);
	assert_int_equal(count(st, "alpha has::thumbs:"), 0);
	assert_int_equal(count(st, "alpha is:thread"), 2);  /* the parent and its reply */
	assert_int_equal(count(st, "is:thread"), 2);        /* no words: same rules */
	assert_int_equal(count(st, "has:pin"), 1);
	assert_int_equal(count(st, "joined"), 0);
	assert_int_equal(count(st, "deleted"), 0);

	/* Authors. */
	search_query q;
	char err[128];
	assert_int_equal(search_query_parse("alpha", 0, &q, err, sizeof err), 0);
	const char *const u1[] = {"U1"};
	store_search_req req = {.q = &q, .channels = both, .nchannels = 2, .from_set = true,
				.from = u1, .nfrom = 1, .limit = 10};
	store_search_hit *h;
	size_t n, total;
	assert_int_equal(store_search_messages(st, &req, &h, &n, &total), 0);
	assert_int_equal(total, 2);
	store_search_hits_free(h, n);
	req.nfrom = 0;  /* from: named nobody: nothing */
	assert_int_equal(store_search_messages(st, &req, &h, &n, &total), 0);
	assert_int_equal(total, 0);
	req.from_set = false;
	req.not_from = u1;
	req.nnot_from = 1;
	assert_int_equal(store_search_messages(st, &req, &h, &n, &total), 0);
	assert_int_equal(total, 3);
	store_search_hits_free(h, n);
	search_query_release(&q);

	/* Sorting and paging: exact totals, pages cut after sorting. */
	r = find_in(st, "alpha", both, 2, STORE_SEARCH_TIMESTAMP, false, 1, 2);
	assert_int_equal(r.total, 5);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.h[0].msg.ts, 7000);
	assert_int_equal(r.h[1].msg.ts, 3000);
	store_search_hits_free(r.h, r.n);
	r = find_in(st, "alpha", both, 2, STORE_SEARCH_TIMESTAMP, true, 0, 2);
	assert_int_equal(r.h[0].msg.ts, 1000);
	assert_int_equal(r.h[1].msg.ts, 2000);
	store_search_hits_free(r.h, r.n);
	r = find_in(st, "alpha", both, 2, STORE_SEARCH_TIMESTAMP, true, 10, 2);
	assert_int_equal(r.total, 5);
	assert_int_equal(r.n, 0);
	store_search_hits_free(r.h, r.n);
}

static void fts_check(const char *dir);

/* A prefix matches stemmed or as typed: porter turns a final "y" into
 * "i" ("zqgydkly" -> "zqgydkli"), which alone missed "zqgydklyea" (a flaky
 * e2e test with random words found it), while "deploy*" must still find
 * "deployed" (indexed as "deploi"). Whole words are stemmed as before. */
static void test_prefix_stemmed_and_as_typed(void **state)
{
	fx *f = *state;
	store *st = f->st;
	post(st, "C1", 1000, "zqgydklyea third", "U1");
	post(st, "C1", 2000, "we deployed it", "U1");
	post(st, "C2", 3000, "happily ever after", "U1");
	assert_int_equal(count(st, "zqgydkly* third"), 1);
	assert_int_equal(count(st, "zqgydkly*"), 1);
	assert_int_equal(count(st, "happ*"), 1);
	assert_int_equal(count(st, "happily"), 1);
	assert_int_equal(count(st, "deploying"), 1);   /* stemming still applies */
	assert_int_equal(count(st, "deploy*"), 1);
	assert_int_equal(count(st, "zqgydklyz*"), 0);
}

static void test_edits_deletes_failures(void **state)
{
	fx *f = *state;
	store *st = f->st;
	post(st, "C1", 1000, "first words", "U1");
	message m;
	fill_msg(&m, "C1", 1000, "second words", "U1");
	m.edited_ts = 1500;
	store_job *j = store_job_new(st);
	store_msg_update(j, &m);
	assert_int_equal(submit(st, j), 0);
	message_release(&m);
	assert_int_equal(count(st, "first"), 0);
	assert_int_equal(count(st, "second"), 1);

	/* An edit into a tombstone leaves the index. */
	fill_msg(&m, "C1", 1000, "This message was deleted.", "U1");
	m.subtype = xstrdup("tombstone");
	m.hidden = true;
	j = store_job_new(st);
	store_msg_update(j, &m);
	assert_int_equal(submit(st, j), 0);
	message_release(&m);
	assert_int_equal(count(st, "words"), 0);

	post(st, "C1", 2000, "keep this", "U1");
	j = store_job_new(st);
	store_msg_delete(j, "C1", 2000);
	assert_int_equal(submit(st, j), 0);
	assert_int_equal(count(st, "keep"), 0);

	/* A failed job leaves nothing in the index: its message and its
	 * queue rows roll back together. */
	post(st, "C1", 3000, "gamma", "U1");
	fill_msg(&m, "C1", 4000, "delta", "U1");
	j = store_job_new(st);
	store_msg_insert(j, &m);
	message_release(&m);
	fill_msg(&m, "C1", 3000, "epsilon", "U1");  /* same key: a conflict */
	store_msg_insert(j, &m);
	message_release(&m);
	assert_int_not_equal(submit(st, j), 0);
	assert_int_equal(count(st, "gamma"), 1);
	assert_int_equal(count(st, "delta"), 0);
	assert_int_equal(count(st, "epsilon"), 0);

	/* A rowid freed and reused in one job: indexed as the new message. */
	post(st, "C1", 9000, "newest old", "U1");
	j = store_job_new(st);
	store_msg_delete(j, "C1", 9000);
	fill_msg(&m, "C1", 9001, "newest replacement", "U1");
	store_msg_insert(j, &m);
	message_release(&m);
	assert_int_equal(submit(st, j), 0);
	assert_int_equal(count(st, "old"), 0);
	assert_int_equal(count(st, "replacement"), 1);
	fts_check(f->dir);
}

static void exec_raw(const char *dir, const char *sql)
{
	char path[128];
	snprintf(path, sizeof path, "%s/canal.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *e = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &e) != SQLITE_OK)
		fail_msg("%s: %s", sql, e);
	sqlite3_close(db);
}

/* FTS5's own check: the index matches its content, entry for entry. */
static void fts_check(const char *dir)
{
	exec_raw(dir, "INSERT INTO msg_search(msg_search) VALUES('integrity-check')");
}

static void test_queue_left_by_a_crash(void **state)
{
	fx *f = *state;
	post(f->st, "C1", 1000, "survivor text", "U1");
	post(f->st, "C1", 2000, "doomed text", "U1");
	store_close(f->st);
	/* As a crash under load leaves it: rows queued, index behind (an
	 * insert never indexed, a deletion never unindexed). */
	exec_raw(f->dir, "DELETE FROM msg_search WHERE rowid = (SELECT rowid FROM messages WHERE ts = 1000);"
			 "INSERT INTO msg_search_queue(id, indexed) SELECT rowid, 0 FROM messages WHERE ts = 1000;"
			 "INSERT INTO msg_search_queue(id, indexed) SELECT rowid, 1 FROM messages WHERE ts = 2000;"
			 "DELETE FROM messages WHERE ts = 2000;");
	f->st = open_at(f->dir, false);
	assert_int_equal(count(f->st, "survivor"), 1);
	assert_int_equal(count(f->st, "doomed"), 0);
	assert_int_equal(count(f->st, "text"), 1);
	fts_check(f->dir);
}

static void test_index_off(void **state)
{
	fx *f = *state;
	post(f->st, "C1", 1000, "before off", "U1");
	store_close(f->st);
	f->st = open_at(f->dir, true);
	post(f->st, "C1", 2000, "during off", "U1");
	assert_int_equal(count(f->st, "before"), 1);  /* reads still work */
	assert_int_equal(count(f->st, "during"), 0);
	store_close(f->st);
	f->st = open_at(f->dir, false);
	assert_int_equal(count(f->st, "during"), 0);  /* never indexed, as documented */
	post(f->st, "C1", 3000, "after on", "U1");
	assert_int_equal(count(f->st, "after"), 1);
	assert_int_equal(count(f->st, "off"), 1);
}

/* With a loop (the server's mode): a burst of jobs may leave the index
 * behind while jobs wait, and it catches up by itself once the writer is
 * idle, or at close. */
static int64_t queued_rows(const char *dir)
{
	char path[128];
	snprintf(path, sizeof path, "%s/canal.db", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM msg_search_queue", -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

static int g_done;
static void count_cb(void *ud, int err)
{
	assert_int_equal(err, 0);
	g_done++;
}

static void burst(store *st, uv_loop_t *loop, int n, int64_t ts0, const char *word)
{
	g_done = 0;
	for (int i = 0; i < n; i++) {
		char text[64];
		snprintf(text, sizeof text, "%s number %d", word, i);
		message m;
		fill_msg(&m, "C1", ts0 + i, text, "U1");
		store_job *j = store_job_new(st);
		store_msg_insert(j, &m);
		message_release(&m);
		store_submit(st, j, count_cb, NULL);
	}
	while (g_done < n)
		uv_run(loop, UV_RUN_ONCE);
}

static void test_catch_up_with_a_loop(void **state)
{
	fx *f = *state;
	store_close(f->st);
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	char err[256];
	store_cfg cfg = {.dir = f->dir, .sync = STORE_SYNC_NORMAL};
	f->st = store_open(&cfg, &loop, err, sizeof err);
	assert_non_null(f->st);

	/* One at a time (light load): found as soon as answered. */
	burst(f->st, &loop, 1, 1000, "single");
	assert_int_equal(count(f->st, "single"), 1);

	/* A burst: every message is found within a bound, with no further
	 * write to push it (the writer catches up when idle). */
	burst(f->st, &loop, 3000, 10000, "burst");
	size_t found = 0;
	for (int i = 0; i < 400 && found < 3000; i++) {
		found = count(f->st, "burst");
		if (found < 3000)
			usleep(5000);
	}
	assert_int_equal(found, 3000);
	assert_int_equal(queued_rows(f->dir), 0);

	/* Closing right after a burst leaves nothing queued. */
	burst(f->st, &loop, 500, 20000, "closing");
	store_close(f->st);
	f->st = NULL;
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(queued_rows(f->dir), 0);
	fts_check(f->dir);
	f->st = open_at(f->dir, false);
	assert_int_equal(count(f->st, "closing"), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_indexed_and_filtered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix_stemmed_and_as_typed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edits_deletes_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_left_by_a_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catch_up_with_a_loop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
