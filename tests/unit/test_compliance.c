/* Compliance storage in-process, on a real (offline) store: the audit log
 * refuses UPDATE and DELETE, its query pages and filters, retention
 * deletes only what is old and not on hold (re-checked at commit), and
 * channel policies override the org's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "compliance/retention.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store.h"

typedef struct fx {
	char dir[64];
	store *st;
	core_state s;
} fx;

static int setup(void **state)
{
	fx *f = xcalloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/canal-compl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char err[256] = "";
	store_cfg cfg = {.dir = f->dir, .sync = STORE_SYNC_OFF};
	f->st = store_open(&cfg, NULL, err, sizeof err);
	if (!f->st)
		fail_msg("store_open: %s", err);
	core_state_init(&f->s);
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
	store_close(f->st);
	core_state_release(&f->s);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void done_cb(void *ud, int err)
{
	*(int *)ud = err ? err : 1;
}

static int submit(fx *f, store_job *j)
{
	int done = 0;
	store_submit(f->st, j, done_cb, &done);
	assert_int_not_equal(done, 0);
	return done == 1 ? 0 : done;
}

static void append(fx *f, const char *id, const char *org_id, int64_t date, const char *action,
		   const char *actor)
{
	store_job *j = store_job_new(f->st);
	char entry[128];
	snprintf(entry, sizeof entry, "{\"id\":\"%s\",\"action\":\"%s\"}", id, action);
	store_audit_append(j, id, org_id, date, action, actor, NULL, entry);
	assert_int_equal(submit(f, j), 0);
}

static void test_audit_append_only(void **state)
{
	fx *f = *state;
	append(f, "e1", "T1", 100, "user_login", "U1");
	char *msg = NULL;
	assert_int_not_equal(sqlite3_exec(f->st->wdb, "UPDATE audit_log SET action='x'", NULL, NULL, &msg),
			     SQLITE_OK);
	assert_non_null(strstr(msg, "append-only"));
	sqlite3_free(msg);
	msg = NULL;
	assert_int_not_equal(sqlite3_exec(f->st->wdb, "DELETE FROM audit_log", NULL, NULL, &msg),
			     SQLITE_OK);
	assert_non_null(strstr(msg, "append-only"));
	sqlite3_free(msg);
	int64_t last;
	assert_int_equal(store_audit_last_seq(f->st, &last), 0);
	assert_int_equal(last, 1);
	/* A duplicate id is refused (a job fails, nothing replaced). */
	store_job *j = store_job_new(f->st);
	store_audit_append(j, "e1", "T1", 101, "user_logout", "U1", NULL, "{}");
	assert_int_not_equal(submit(f, j), 0);
}

static void test_audit_find(void **state)
{
	fx *f = *state;
	append(f, "a", "T1", 100, "user_login", "U1");
	append(f, "b", "T2", 101, "user_login", "U2");
	append(f, "c", "T1", 102, "user_logout", "U1");
	append(f, "d", "T1", 103, "user_login", "U3");
	store_audit_query q = {.org_id = "T1", .limit = 10};
	store_audit_row *r;
	size_t n;
	int64_t next;
	assert_int_equal(store_audit_find(f->st, &q, &r, &n, &next), 0);
	assert_int_equal(n, 3);
	assert_int_equal(next, 0);
	assert_non_null(strstr(r[0].entry, "\"d\""));   /* newest first */
	assert_non_null(strstr(r[2].entry, "\"a\""));
	store_audit_rows_free(r, n);
	q.limit = 1;
	assert_int_equal(store_audit_find(f->st, &q, &r, &n, &next), 0);
	assert_int_equal(n, 1);
	assert_int_equal(next, r[0].seq);
	store_audit_rows_free(r, n);
	q.before = next;
	q.limit = 10;
	q.action = "user_logout,nothing";
	assert_int_equal(store_audit_find(f->st, &q, &r, &n, &next), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(r[0].entry, "\"c\""));
	store_audit_rows_free(r, n);
	store_audit_query q2 = {.org_id = "T1", .actor_id = "U1", .oldest = 101, .limit = 10};
	assert_int_equal(store_audit_find(f->st, &q2, &r, &n, &next), 0);
	assert_int_equal(n, 1);
	assert_int_equal(next, 0);
	store_audit_rows_free(r, n);
	assert_int_equal(store_audit_after(f->st, 2, 10, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].seq, 3);
	store_audit_rows_free(r, n);
}

static void test_days_for(void **state)
{
	channel ch = {.id = "C1", .org_id = "T1"};
	store_retention p[3];
	memset(p, 0, sizeof p);
	strcpy(p[0].org_id, "T1");
	p[0].days = 30;
	assert_int_equal(retention_days_for(&ch, p, 1), 30);
	strcpy(p[1].org_id, "T1");
	strcpy(p[1].channel_id, "C1");
	p[1].days = 0;   /* keep forever overrides the org */
	assert_int_equal(retention_days_for(&ch, p, 2), 0);
	p[1].days = 7;
	assert_int_equal(retention_days_for(&ch, p, 2), 7);
	strcpy(p[2].org_id, "T2");
	p[2].days = 1;
	channel other = {.id = "C9", .org_id = "T2"};
	assert_int_equal(retention_days_for(&other, p, 3), 1);
	channel none = {.id = "C5", .org_id = "T3"};
	assert_int_equal(retention_days_for(&none, p, 3), 0);
}

static void put_msg(fx *f, const char *ch, int64_t ts, const char *user_id)
{
	message m;
	message_init(&m);
	snprintf(m.channel_id, sizeof m.channel_id, "%s", ch);
	snprintf(m.org_id, sizeof m.org_id, "T1");
	snprintf(m.user_id, sizeof m.user_id, "%s", user_id);
	m.ts = ts;
	m.text = xstrdup("hello <@U2>");
	store_job *j = store_job_new(f->st);
	store_msg_insert(j, &m);
	store_reaction_add(j, ch, ts, "wave", "U2");
	assert_int_equal(submit(f, j), 0);
	message_release(&m);
}

static bool exists(fx *f, const char *ch, int64_t ts)
{
	message m;
	int rc = store_msg_get(f->st, ch, ts, &m);
	if (rc == 0)
		message_release(&m);
	return rc == 0;
}

static void run_done(void *ud, int err, const retention_stats *st)
{
	*(int64_t *)ud = err ? -1 : st->deleted;
}

static void test_retention_holds(void **state)
{
	fx *f = *state;
	org *o = core_org_new("T1");
	core_org_add(&f->s, o);
	const char *chans[] = {"C1", "C2", "C3"};
	for (int i = 0; i < 3; i++)
		core_channel_add(&f->s, core_channel_new(chans[i], "T1", CHAN_PUBLIC));
	int64_t day = 86400LL * 1000000;
	int64_t now = (int64_t)time(NULL) * 1000000;
	/* Per channel: one message 40 days old by U1, one by U2 (held), one fresh. */
	for (int i = 0; i < 3; i++) {
		put_msg(f, chans[i], now - 40 * day, "U1");
		put_msg(f, chans[i], now - 40 * day + 1, "U2");
		put_msg(f, chans[i], now - day, "U1");
	}
	store_job *j = store_job_new(f->st);
	store_retention org_p = {.org_id = "T1", .days = 30};
	store_retention c2_p = {.org_id = "T1", .channel_id = "C2", .days = 0}; /* forever */
	store_hold uh = {.id = "H1", .org_id = "T1", .kind = "user", .target = "U2"};
	store_hold ch3 = {.id = "H2", .org_id = "T1", .kind = "channel", .target = "C3"};
	store_retention_put(j, &org_p);
	store_retention_put(j, &c2_p);
	store_hold_put(j, &uh, NULL);
	store_hold_put(j, &ch3, NULL);
	assert_int_equal(submit(f, j), 0);

	/* Even a delete queued directly is refused at commit for held ones. */
	j = store_job_new(f->st);
	store_retention_delete(j, "C3", now - 40 * day, now);
	store_retention_delete(j, "C1", now - 40 * day + 1, now);
	assert_int_equal(submit(f, j), 0);
	assert_true(exists(f, "C3", now - 40 * day));
	assert_true(exists(f, "C1", now - 40 * day + 1));

	retention *r = retention_new(&f->s, f->st, NULL, 0);
	int64_t deleted = -2;
	retention_run(r, 0, run_done, &deleted);
	assert_int_equal(deleted, 1);
	retention_free(r);
	assert_false(exists(f, "C1", now - 40 * day));        /* old, org policy */
	assert_true(exists(f, "C1", now - 40 * day + 1));     /* author on hold */
	assert_true(exists(f, "C1", now - day));              /* fresh */
	assert_true(exists(f, "C2", now - 40 * day));         /* channel keeps forever */
	assert_true(exists(f, "C3", now - 40 * day));         /* channel on hold */
	/* The deleted message's reactions and mentions went with it. */
	sqlite3_stmt *s;
	assert_int_equal(sqlite3_prepare_v2(f->st->wdb,
					    "SELECT (SELECT COUNT(*) FROM reactions WHERE channel_id='C1'),"
					    " (SELECT COUNT(*) FROM mentions WHERE channel_id='C1')",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 2);
	assert_int_equal(sqlite3_column_int(s, 1), 2);
	sqlite3_finalize(s);

	/* Released hold: the next run takes the held author's old message. */
	j = store_job_new(f->st);
	uh.released = true;
	store_hold_put(j, &uh, "U9");
	assert_int_equal(submit(f, j), 0);
	r = retention_new(&f->s, f->st, NULL, 0);
	retention_run(r, 0, run_done, &deleted);
	assert_int_equal(deleted, 1);
	retention_free(r);
	assert_false(exists(f, "C1", now - 40 * day + 1));
	assert_true(exists(f, "C3", now - 40 * day + 1));
}

static void test_retention_batches(void **state)
{
	fx *f = *state;
	core_org_add(&f->s, core_org_new("T1"));
	core_channel_add(&f->s, core_channel_new("C1", "T1", CHAN_PUBLIC));
	int64_t old = ((int64_t)time(NULL) - 10 * 86400) * 1000000;
	size_t total = RETENTION_BATCH * 2 + 7;
	store_job *j = store_job_new(f->st);
	for (size_t i = 0; i < total; i++) {
		message m;
		message_init(&m);
		strcpy(m.channel_id, "C1");
		strcpy(m.user_id, "U1");
		m.ts = old + (int64_t)i;
		store_msg_insert(j, &m);
	}
	store_retention p = {.org_id = "T1", .days = 1};
	store_retention_put(j, &p);
	assert_int_equal(submit(f, j), 0);
	retention *r = retention_new(&f->s, f->st, NULL, 0);
	int64_t deleted = -2;
	retention_run(r, 0, run_done, &deleted);
	retention_free(r);
	assert_int_equal(deleted, (int64_t)total);
	assert_false(exists(f, "C1", old));
	assert_false(exists(f, "C1", old + (int64_t)total - 1));
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_audit_append_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_find, setup, teardown),
		cmocka_unit_test(test_days_for),
		cmocka_unit_test_setup_teardown(test_retention_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_batches, setup, teardown),
	};
	return cmocka_run_group_tests_name("compliance", tests, NULL, NULL);
}
