/* The writer: one thread owns the write connection and commits jobs in
 * batches (group commit), so one fsync covers every job that gathered while
 * the previous commit was on disk.
 *
 * Job states and the function that moves a job on:
 *
 *   BUILDING --store_submit--> QUEUED --writer_main--> RUNNING
 *      |                                                  |
 *   store_job_free                               run_batch (err set)
 *      v                                                  v
 *    (freed)        (freed) <--deliver, done_cb-- DONE (done list)
 *
 *   Offline (loop == NULL) and after store_close stopped the writer,
 *   store_submit goes BUILDING -> run_batch -> done_cb -> freed at once.
 *
 * Invariants:
 *  1. Only the writer thread touches wdb and its statements while the
 *     writer runs; before it starts and after it is joined, the loop
 *     thread does (open, offline mode, close).
 *  2. A job holds copies of every value it binds (sqlite_ops.c): nothing
 *     the writer reads belongs to the caller.
 *  3. Jobs complete in submission order: the queue is FIFO, batches are
 *     taken from its head, the done list is FIFO and drained whole.
 *  4. done_cb runs exactly once per submitted job, on the loop thread:
 *     from the async callback, from store_close for jobs finished after
 *     the loop's last turn, or inside store_submit when offline. Right
 *     before it, sqlite__keys_done restores in an attached hot state what
 *     the job wrote if it failed (sqlite_restore.c).
 *  5. Within a batch each job runs inside its own SAVEPOINT: a failing job
 *     is rolled back alone and the others commit. If the transaction
 *     itself is lost (COMMIT fails, or SQLite rolled everything back after
 *     an I/O or disk-full error), every job with ops in the batch fails.
 *  6. The async handle is referenced exactly while inflight > 0, so the
 *     loop stays alive for pending completions and no longer.
 *  7. The queue holds at most SQLITE_QUEUE_MAX jobs; store_submit waits
 *     for room (backpressure) rather than grow without bound.
 *  8. Checkpoints never run inside a commit (wal_autocheckpoint=0), nor on
 *     the writer: the checkpointer thread runs them on its own connection
 *     while the writer commits (sqlite_ckpt.c). The writer only counts WAL
 *     frames after each commit (sqlite__wal_note) and wakes the checkpointer
 *     every SQLITE_CKPT_PAGES frames. TRUNCATE at close, after both threads
 *     stopped.
 *  9. The writer starts a batch only while ckpt_hold is clear, and sets
 *     writer_busy (under mu, in the same critical section) until the batch
 *     is committed and counted. So once the checkpointer has set ckpt_hold
 *     and seen writer_busy clear, no commit runs until it clears ckpt_hold:
 *     that is how its last, short pass of a round catches up completely.
 *     It clears ckpt_hold right after that one pass, whatever the outcome,
 *     so the writer (and store_close, which joins it) never waits longer.
 * 10. The one exception to 8: if the frames not yet checkpointed reach
 *     SQLITE_WAL_HARD_PAGES (the checkpointer cannot keep up, or a reader
 *     pins the WAL), the writer checkpoints itself between batches, at
 *     most once per SQLITE_WAL_HARD_PAGES frames, with a warning. Offline
 *     (no checkpointer), store_submit does the same every SQLITE_CKPT_PAGES.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

/* ---- running jobs ---- */

static int map_err(int rc, const sqlite__op *op)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return op && op->on_conflict ? op->on_conflict : ERR_INTERNAL_ERROR;
	if ((rc & 0xff) == SQLITE_FULL)
		return ERR_STORAGE_FULL;
	return ERR_INTERNAL_ERROR;
}

static void log_sql_err(store *st, const char *what, int rc)
{
	log_error("store write failed", "what=%s rc=%d err=\"%s\"", what, rc, sqlite3_errmsg(st->wdb));
}

static int run_op(store *st, store_job *j, const sqlite__op *op)
{
	sqlite3_stmt *s = op->sql ? sqlite__cache_get(&st->wext, st->wdb, op->sql) : st->wstmt[op->stmt];
	if (!s)
		return ERR_INTERNAL_ERROR;
	if (sqlite3_bind_parameter_count(s) != (int)op->nvals) {
		/* A job builder and its SQL disagree: a bug, caught on first use. */
		log_error("store: parameter count mismatch", "stmt=%d want=%d have=%zu", (int)op->stmt,
			  sqlite3_bind_parameter_count(s), op->nvals);
		return ERR_INTERNAL_ERROR;
	}
	for (size_t k = 0; k < op->nvals; k++) {
		const sqlite__val *v = &j->vals[op->first + k];
		int idx = (int)k + 1;
		if (v->type == V_INT)
			sqlite3_bind_int64(s, idx, v->i);
		else if (v->type == V_TEXT)
			/* STATIC: the job owns the text until after the reset below. */
			sqlite3_bind_text(s, idx, v->s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(s, idx);
	}
	int rc = sqlite3_step(s);
	int err = 0;
	if (rc != SQLITE_DONE) {
		err = map_err(rc, op);
		/* Expected conflicts (on_conflict set) are the caller's business,
		 * not the operator's. */
		if (err == ERR_INTERNAL_ERROR || err == ERR_STORAGE_FULL)
			log_sql_err(st, "step", rc);
	} else if (op->on_missing && sqlite3_changes(st->wdb) == 0) {
		err = op->on_missing;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return err;
}

/* Transaction control, prepared once on the write connection (the
 * statement cache keys them by these addresses): sqlite3_exec parses its
 * SQL on every call, which was a tenth of the server's instructions per
 * post with a SAVEPOINT and a RELEASE per job. */
static const char sql_begin[] = "BEGIN IMMEDIATE";
static const char sql_commit[] = "COMMIT";
static const char sql_rollback[] = "ROLLBACK";
static const char sql_savepoint[] = "SAVEPOINT job";
static const char sql_rollback_to[] = "ROLLBACK TO job";
static const char sql_release[] = "RELEASE job";

static int tx_exec(store *st, const char *sql)
{
	sqlite3_stmt *s = sqlite__cache_get(&st->wext, st->wdb, sql);
	if (!s)
		return sqlite__exec(st->wdb, sql);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int run_job(store *st, store_job *j)
{
	int rc = tx_exec(st, sql_savepoint);
	if (rc != SQLITE_OK) {
		log_sql_err(st, "savepoint", rc);
		return map_err(rc, NULL);
	}
	int err = 0;
	for (size_t i = 0; i < j->nops && !err; i++)
		err = run_op(st, j, &j->ops[i]);
	/* After some errors (disk full, I/O) SQLite may already have rolled the
	 * whole transaction back; then there is no savepoint left to use and
	 * the caller sees autocommit mode. */
	if (err && !sqlite3_get_autocommit(st->wdb))
		tx_exec(st, sql_rollback_to);
	if (!sqlite3_get_autocommit(st->wdb))
		tx_exec(st, sql_release);
	return err;
}

static int bucket_jobs(size_t n)
{
	int b = 0;
	while (n > 1 && b < 7) {
		n >>= 1;
		b++;
	}
	return b;
}

static int bucket_us(int64_t us)
{
	static const int64_t limits[] = {100, 250, 500, 1000, 2500, 5000, 10000};
	for (int i = 0; i < 7; i++)
		if (us <= limits[i])
			return i;
	return 7;
}

/* Runs a batch (linked by ->next) in one transaction and sets each job's
 * err. Writer thread, or the calling thread when no writer runs. */
void sqlite__run_batch(store *st, store_job *batch)
{
	size_t n = 0, nwork = 0;
	for (store_job *j = batch; j; j = j->next) {
		j->err = 0;
		n++;
		nwork += j->nops > 0;
	}
	int64_t t0 = clock_mono_us();
	bool committed = false;
	if (nwork) {
		int lost = 0;
		int rc = tx_exec(st, sql_begin);
		if (rc != SQLITE_OK) {
			log_sql_err(st, "begin", rc);
			lost = map_err(rc, NULL);
		}
		for (store_job *j = batch; j && !lost; j = j->next) {
			if (!j->nops)
				continue;
			j->err = run_job(st, j);
			if (sqlite3_get_autocommit(st->wdb))
				lost = j->err ? j->err : ERR_INTERNAL_ERROR;
		}
		if (!lost) {
			/* Modules' end-of-batch work, in the same transaction. */
			rc = sqlite__search_flush(st, nwork);
			if (rc != SQLITE_OK) {
				log_sql_err(st, "search index", rc);
				lost = map_err(rc, NULL);
				tx_exec(st, sql_rollback);
			}
		}
		if (!lost) {
			rc = tx_exec(st, sql_commit);
			if (rc != SQLITE_OK) {
				log_sql_err(st, "commit", rc);
				lost = map_err(rc, NULL);
				if (!sqlite3_get_autocommit(st->wdb))
					tx_exec(st, sql_rollback);
			}
		}
		if (lost) {
			for (store_job *j = batch; j; j = j->next)
				if (j->nops && !j->err)
					j->err = lost;
		} else {
			committed = true;
		}
	}
	int64_t us = clock_mono_us() - t0;

	size_t failed = 0;
	for (store_job *j = batch; j; j = j->next)
		failed += j->err != 0;
	pthread_mutex_lock(&st->mu);
	if (committed) {
		st->last_commit_us = t0 + us;
		sqlite__wal_note(st);
		st->stats.commits++;
		st->stats.batch_hist[bucket_jobs(nwork)]++;
		st->stats.commit_us_sum += (uint64_t)us;
		st->stats.commit_us_hist[bucket_us(us)]++;
	}
	st->stats.jobs += n - failed;
	st->stats.failed_jobs += failed;
	pthread_mutex_unlock(&st->mu);
}

/* ---- WAL accounting ---- */

int sqlite__wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	store *st = arg;
	st->hook_frames = pages;
	return SQLITE_OK;
}

void sqlite__wal_note(store *st)
{
	int f = st->hook_frames;
	if (f < st->wal_frames) {
		/* A shorter WAL than after the previous commit: it restarted and
		 * holds only this commit's frames. */
		st->wal_gen++;
		st->stats.wal_restarts++;
		st->wal_backfilled = 0;
		st->wal_appended += (uint64_t)f;
	} else {
		st->wal_appended += (uint64_t)(f - st->wal_frames);
	}
	st->wal_frames = f;
	if (st->ckpt_sleeping ||
	    (!st->ckpt_active && st->wal_appended - st->ckpt_mark >= SQLITE_CKPT_PAGES))
		pthread_cond_signal(&st->ckpt_wake);
}

/* ---- the thread ---- */

/* Waits (mu held) on wake for at most us microseconds; ETIMEDOUT or 0. */
static int wait_us(store *st, int64_t us)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	int64_t ns = dl.tv_nsec + us * 1000;
	dl.tv_sec += (time_t)(ns / 1000000000);
	dl.tv_nsec = (long)(ns % 1000000000);
	return pthread_cond_timedwait(&st->wake, &st->mu, &dl);
}

/* With batch_wait_us, waits (mu held) for the batch to fill or the wait to
 * end: fewer fsyncs at the price of latency. */
static void gather(store *st)
{
	int64_t end = clock_mono_us() + st->cfg.batch_wait_us;
	while (st->q_len < (size_t)st->cfg.batch_max && !st->stopping) {
		int64_t left = end - clock_mono_us();
		if (left <= 0 || wait_us(st, left) == ETIMEDOUT)
			break;
	}
}

void *sqlite__writer_main(void *arg)
{
	store *st = arg;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		if (st->ckpt_hold) {
			/* The checkpointer's last pass of a round (invariant 9). */
			pthread_cond_wait(&st->wake, &st->mu);
			continue;
		}
		if (!st->q_head) {
			if (st->search_pending) {
				/* The search index was left behind under load:
				 * it catches up once no job came for a while (at
				 * once when stopping). */
				if (!st->stopping && wait_us(st, SQLITE_SEARCH_IDLE_US * sqlite__search_scale(st)) != ETIMEDOUT)
					continue;
				if (st->q_head || st->ckpt_hold)
					continue;
				st->writer_busy = true;
				pthread_mutex_unlock(&st->mu);
				sqlite__search_idle(st);
				pthread_mutex_lock(&st->mu);
				st->writer_busy = false;
				if (st->ckpt_hold || st->ckpt_want)
					pthread_cond_signal(&st->held);
				continue;
			}
			if (st->stopping)
				break;
			pthread_cond_wait(&st->wake, &st->mu);
			continue;
		}
		if (st->cfg.batch_wait_us > 0) {
			gather(st);
			if (st->ckpt_hold)
				continue;
		}

		store_job *batch = st->q_head, *last = batch;
		size_t k = 1;
		while (last->next && k < (size_t)st->cfg.batch_max) {
			last = last->next;
			k++;
		}
		st->q_head = last->next;
		if (!st->q_head)
			st->q_tail = NULL;
		last->next = NULL;
		st->q_len -= k;
		st->writer_busy = true;
		pthread_cond_broadcast(&st->room);
		pthread_mutex_unlock(&st->mu);

		sqlite__run_batch(st, batch);
		sqlite__writer_checkpoint_guard(st, SQLITE_WAL_HARD_PAGES);

		pthread_mutex_lock(&st->mu);
		st->writer_busy = false;
		if (st->ckpt_hold || st->ckpt_want)
			pthread_cond_signal(&st->held);
		if (st->d_tail)
			st->d_tail->next = batch;
		else
			st->d_head = batch;
		st->d_tail = last;
		pthread_mutex_unlock(&st->mu);
		/* Coalesces: one callback may deliver many batches. */
		uv_async_send(st->async);
		pthread_mutex_lock(&st->mu);
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}

/* ---- the loop side ---- */

void store_submit(store *st, store_job *job, store_done_cb cb, void *ud)
{
	job->cb = cb;
	job->ud = ud;
	job->next = NULL;
	sqlite__keys_submit(st, job);
	if (!st->writer_running) {
		sqlite__run_batch(st, job);
		sqlite__writer_checkpoint_guard(st, SQLITE_CKPT_PAGES);
		sqlite__keys_done(st, job);
		if (cb)
			cb(ud, job->err);
		store_job_free(job);
		return;
	}
	st->jobs_submitted++;
	if (st->inflight++ == 0)
		uv_ref((uv_handle_t *)st->async);
	pthread_mutex_lock(&st->mu);
	if (st->q_len >= SQLITE_QUEUE_MAX) {
		pthread_cond_signal(&st->wake);   /* never wait for room unwoken */
		while (st->q_len >= SQLITE_QUEUE_MAX)
			pthread_cond_wait(&st->room, &st->mu);
	}
	if (st->q_tail)
		st->q_tail->next = job;
	else
		st->q_head = job;
	st->q_tail = job;
	st->q_len++;
	/* The writer is woken once per loop turn, at its end (kick), not per
	 * job: the requests read in the same turn then share one commit
	 * instead of the first going alone while the rest wait a whole fsync
	 * for the next. A busy writer takes whatever is queued when its batch
	 * is done anyway; a full batch is worth waking it for at once. */
	if (st->q_len >= (size_t)st->cfg.batch_max || !st->kick_check)
		pthread_cond_signal(&st->wake);
	else if (!st->kick_pending) {
		st->kick_pending = true;
		/* check: right after this turn's poll phase, where requests are
		 * read. idle: for jobs submitted anywhere else (timers, close
		 * callbacks, other check or prepare callbacks); an active idle
		 * handle also keeps the next poll from blocking, so whatever
		 * phase a job was submitted in, the writer is woken within a
		 * turn and never waits for unrelated I/O. */
		uv_check_start(st->kick_check, sqlite__kick_check_cb);
		uv_idle_start(st->kick_idle, sqlite__kick_idle_cb);
	}
	pthread_mutex_unlock(&st->mu);
}

static void kick(store *st)
{
	if (!st || !st->kick_pending)
		return;
	st->kick_pending = false;
	uv_check_stop(st->kick_check);
	uv_idle_stop(st->kick_idle);
	pthread_mutex_lock(&st->mu);
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->mu);
}

void sqlite__kick_check_cb(uv_check_t *h)
{
	kick(h->data);
}

void sqlite__kick_idle_cb(uv_idle_t *h)
{
	kick(h->data);
}

void sqlite__deliver(store *st)
{
	pthread_mutex_lock(&st->mu);
	store_job *j = st->d_head;
	st->d_head = st->d_tail = NULL;
	pthread_mutex_unlock(&st->mu);
	while (j) {
		store_job *next = j->next;
		st->inflight--;
		st->jobs_delivered++;
		sqlite__keys_done(st, j); /* a failed job's entities back in hot state */
		if (j->cb)
			j->cb(j->ud, j->err);
		store_job_free(j);
		j = next;
	}
	if (st->inflight == 0 && st->async)
		uv_unref((uv_handle_t *)st->async);
}

void sqlite__async_cb(uv_async_t *h)
{
	store *st = h->data;
	if (st)
		sqlite__deliver(st);
}
