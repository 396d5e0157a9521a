/* The checkpointer: a thread with its own connection (cdb) that copies the
 * WAL back into the database file while the writer goes on committing.
 *
 * Why a thread: a checkpoint of a big WAL takes milliseconds (it copies
 * pages and fsyncs the database file; 5-25 ms for the 64 MiB WAL the
 * writer used to let grow); run between two batches on the writer, every
 * job queued meanwhile waits for it. In WAL mode a PASSIVE checkpoint
 * takes the checkpoint lock, not the write lock, so it can run on another
 * connection while commits go on.
 *
 * The catch: the WAL only starts over from its beginning (and so stays
 * small) when a write transaction begins after a checkpoint copied *every*
 * frame; and SQLite fsyncs the database file only after such a complete
 * checkpoint. Under steady load the writer appends frames while a pass
 * runs, so a concurrent pass always ends a little behind, and left alone
 * the WAL would grow for as long as the load lasts. Hence rounds:
 *
 *   1. Concurrent passes (PASSIVE on cdb) while the writer commits. Each
 *      copies what was committed when it started; the next one what was
 *      appended meanwhile, which is much less (copying a page costs far
 *      less than committing it), until at most SQLITE_CKPT_HOLD_PAGES
 *      frames are left.
 *   2. Flush the database file (fdatasync through cdb's file handle), still
 *      concurrently, so the held pass below has almost nothing to sync.
 *   3. Wait up to SQLITE_CKPT_IDLE_WAIT_US for the writer to be idle with
 *      nothing queued (ckpt_want; the writer signals `held` after each
 *      batch). At moderate load that comes within a commit or two. Under
 *      saturation it never comes: then one more concurrent pass and flush
 *      catch up with what the writer appended during the wait.
 *   4. Hold: the writer does not start another batch (ckpt_hold) and its
 *      current one ends (writer_busy); one last pass copies the few frames
 *      left and syncs; release. This pause, typically 0.3-1 ms (the pass's
 *      two fsyncs), is the only time the writer waits for the checkpointer;
 *      checkpoint_holds / checkpoint_hold_us_sum count it. The writer's
 *      next transaction then restarts the WAL.
 *
 * A round starts when SQLITE_CKPT_PAGES frames were appended since the last
 * one started (the writer signals ckpt_wake from its commit accounting).
 * It gives up early when a pass makes no headway (a reader's snapshot pins
 * the WAL, or the writer appends as fast as passes copy): the next round
 * retries after another SQLITE_CKPT_PAGES frames, so nothing spins, and
 * the writer's last-resort guard (sqlite__writer_checkpoint_guard) bounds
 * the WAL if that lasts. Besides rounds, one plain pass runs once nothing
 * was committed for SQLITE_IDLE_CKPT_US, so an idle server ends up with
 * everything in the database file.
 *
 * The frame counts (wal_frames, wal_backfilled, wal_appended) only steer
 * when to checkpoint; SQLite alone decides what is safe to copy and when
 * the WAL may restart, so an estimate that is off by a few frames (a
 * restart the writer cannot tell apart from growth in a tiny WAL) costs
 * at most one checkpoint too many or too few. */
#include <stdio.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/sqlite/sqlite_internal.h"

int sqlite__checkpoint(sqlite3 *db, int mode, int *logn, int *done)
{
	int nlog = 0, ndone = 0;
	int rc = sqlite3_wal_checkpoint_v2(db, "main", mode, &nlog, &ndone);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warn("store checkpoint failed", "rc=%d err=\"%s\"", rc, sqlite3_errmsg(db));
	if (logn)
		*logn = nlog;
	if (done)
		*done = ndone;
	return rc;
}

/* Folds a checkpoint result into the shared WAL accounting (mu held) and
 * returns how many committed frames are still to copy: 0 when the
 * checkpoint caught up, -1 when it failed. gen and frames are wal_gen and
 * wal_frames from before it started. */
static int note_checkpoint(store *st, int rc, uint64_t gen, int frames, int logn, int done)
{
	if (rc != SQLITE_OK)
		return -1;
	/* A restart since the pass began (seen by the writer, or by the pass
	 * itself: a WAL shorter than the writer had already committed) means
	 * the old WAL was complete. The writer resets wal_backfilled when it
	 * sees the restart. */
	if (st->wal_gen != gen || logn < frames)
		return 0;
	st->wal_backfilled = done;
	return st->wal_frames > done ? st->wal_frames - done : 0;
}

void sqlite__writer_checkpoint_guard(store *st, int limit)
{
	pthread_mutex_lock(&st->mu);
	int behind = st->wal_frames - st->wal_backfilled;
	bool run = behind >= limit && st->wal_appended - st->forced_mark >= (uint64_t)limit;
	if (run)
		st->forced_mark = st->wal_appended;
	uint64_t gen = st->wal_gen;
	int frames = st->wal_frames;
	pthread_mutex_unlock(&st->mu);
	if (!run)
		return;
	int logn = 0, done = 0;
	int64_t t0 = clock_mono_us();
	int rc = sqlite__checkpoint(st->wdb, SQLITE_CHECKPOINT_PASSIVE, &logn, &done);
	int64_t us = clock_mono_us() - t0;
	/* Offline (no checkpointer) this is the normal way; with a checkpointer
	 * it means the checkpointer cannot keep up or a reader pins the WAL. */
	if (st->cdb)
		log_warn("store: WAL too big, the writer checkpointed itself",
			 "frames=%d limit=%d copied=%d of=%d ms=%lld", behind, limit, done, logn,
			 (long long)(us / 1000));
	pthread_mutex_lock(&st->mu);
	note_checkpoint(st, rc, gen, frames, logn, done);
	if (st->cdb) {
		st->stats.checkpoint_forced++;
	} else {
		st->stats.checkpoints++;
		st->stats.checkpoint_us_sum += (uint64_t)us;
	}
	pthread_mutex_unlock(&st->mu);
}

/* ---- the checkpointer thread ---- */

int sqlite__ckpt_open(store *st, char *err, size_t errlen)
{
	static const char *const sync_sql[] = {
		[STORE_SYNC_FULL] = "PRAGMA synchronous=FULL",
		[STORE_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
		[STORE_SYNC_OFF] = "PRAGMA synchronous=OFF",
	};
	int rc = sqlite3_open_v2(st->path, &st->cdb, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(st->cdb, 1);
		sqlite3_busy_timeout(st->cdb, SQLITE_BUSY_MS);
		/* A checkpoint syncs as the connection running it is told to:
		 * the same durability as the writer's. The read opens the WAL
		 * (a fresh connection does not know the file is in WAL mode,
		 * and a checkpoint alone would then do nothing). */
		store_sync sync = (unsigned)st->cfg.sync <= STORE_SYNC_OFF ? st->cfg.sync
									    : STORE_SYNC_FULL;
		rc = sqlite__exec(st->cdb, sync_sql[sync]);
		if (rc == SQLITE_OK)
			rc = sqlite__exec(st->cdb, "PRAGMA wal_autocheckpoint=0");
		if (rc == SQLITE_OK)
			rc = sqlite__exec(st->cdb, "SELECT count(*) FROM sqlite_schema");
	}
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s for checkpoints: %s", st->path,
			 st->cdb ? sqlite3_errmsg(st->cdb) : "out of memory");
		sqlite3_close(st->cdb);
		st->cdb = NULL;
		return -1;
	}
	return 0;
}

/* One PASSIVE pass on cdb (mu not held); see note_checkpoint. */
static int pass(store *st)
{
	pthread_mutex_lock(&st->mu);
	uint64_t gen = st->wal_gen;
	int frames = st->wal_frames;
	pthread_mutex_unlock(&st->mu);
	int logn = 0, done = 0;
	int64_t t0 = clock_mono_us();
	int rc = sqlite__checkpoint(st->cdb, SQLITE_CHECKPOINT_PASSIVE, &logn, &done);
	int64_t us = clock_mono_us() - t0;
	pthread_mutex_lock(&st->mu);
	st->stats.checkpoints++;
	st->stats.checkpoint_us_sum += (uint64_t)us;
	int behind = note_checkpoint(st, rc, gen, frames, logn, done);
	pthread_mutex_unlock(&st->mu);
	return behind;
}

/* Writes the database pages earlier passes copied to disk, so the held
 * pass's own fsync of the database file has little left to flush. */
static void flush_db(store *st)
{
	if (st->cfg.sync == STORE_SYNC_OFF)
		return;
	sqlite3_file *f = NULL;
	if (sqlite3_file_control(st->cdb, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
	    f->pMethods)
		f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
}

/* Waits on cond (mu held) for at most us microseconds. Both condition
 * variables the checkpointer waits on use CLOCK_MONOTONIC. */
static void wait_us(pthread_cond_t *cond, pthread_mutex_t *mu, int64_t us)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	int64_t ns = dl.tv_nsec + us * 1000;
	dl.tv_sec += (time_t)(ns / 1000000000);
	dl.tv_nsec = (long)(ns % 1000000000);
	pthread_cond_timedwait(cond, mu, &dl);
}

/* Waits up to SQLITE_CKPT_IDLE_WAIT_US for a moment when the writer is idle
 * and nothing is queued, and holds it then; false if none came
 * (saturation) or stopping. */
static bool wait_idle_writer(store *st, int64_t *held_at)
{
	pthread_mutex_lock(&st->mu);
	int64_t deadline = clock_mono_us() + SQLITE_CKPT_IDLE_WAIT_US;
	st->ckpt_want = true;
	bool idle;
	while (!(idle = !st->writer_busy && !st->q_head) && !st->stopping) {
		int64_t left = deadline - clock_mono_us();
		if (left <= 0)
			break;
		wait_us(&st->held, &st->mu, left);
	}
	st->ckpt_want = false;
	if (idle) { /* hold it right away, before a job comes in */
		st->ckpt_hold = true;
		*held_at = clock_mono_us();
	}
	pthread_mutex_unlock(&st->mu);
	return idle;
}

/* Step 4 of a round: the last pass with the writer paused between batches
 * (held since held_at already if wait_idle_writer found it idle, else 0). */
static void held_pass(store *st, int64_t held_at)
{
	pthread_mutex_lock(&st->mu);
	st->ckpt_hold = true;
	while (st->writer_busy)
		pthread_cond_wait(&st->held, &st->mu);
	pthread_mutex_unlock(&st->mu);
	int64_t t0 = held_at ? held_at : clock_mono_us();
	pass(st);
	int64_t us = clock_mono_us() - t0;
	pthread_mutex_lock(&st->mu);
	st->ckpt_hold = false;
	st->stats.checkpoint_holds++;
	st->stats.checkpoint_hold_us_sum += (uint64_t)us;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->mu);
}

/* The end of a round, once a concurrent pass left at most
 * SQLITE_CKPT_HOLD_PAGES behind. The held pass is best taken when the
 * writer is idle and nothing is queued: then only jobs arriving during it
 * wait. Under saturation there is no such moment; after the wait, one more
 * concurrent pass copies what the writer appended meanwhile, and the
 * writer is held after its current batch. */
static void finish_round(store *st)
{
	int64_t held_at = 0;
	flush_db(st);
	if (!wait_idle_writer(st, &held_at)) {
		pass(st);
		flush_db(st);
	}
	held_pass(st, held_at);
}

/* A round (mu held on entry and return). */
static void round_(store *st)
{
	st->ckpt_mark = st->wal_appended;
	st->ckpt_active = true;
	pthread_mutex_unlock(&st->mu);
	int prev = -1;
	for (int i = 0; i < SQLITE_CKPT_MAX_PASSES; i++) {
		int behind = pass(st);
		if (behind < 0)
			break; /* failed (logged) */
		/* Even a pass that caught up ends with a held one: the writer
		 * may already have begun its next transaction, which then
		 * appends instead of restarting the WAL. */
		if (behind <= SQLITE_CKPT_HOLD_PAGES) {
			finish_round(st);
			break;
		}
		/* No headway: a reader pins the WAL, or the writer appends as
		 * fast as this copies. Holding now would stall the writer for
		 * long; retry in the next round. */
		if (prev >= 0 && behind >= prev)
			break;
		prev = behind;
		pthread_mutex_lock(&st->mu);
		bool stop = st->stopping;
		pthread_mutex_unlock(&st->mu);
		if (stop)
			break;
	}
	pthread_mutex_lock(&st->mu);
	st->ckpt_active = false;
}

void *sqlite__ckpt_main(void *arg)
{
	store *st = arg;
	pthread_mutex_lock(&st->mu);
	while (!st->stopping) {
		if (st->wal_appended - st->ckpt_mark >= SQLITE_CKPT_PAGES) {
			round_(st);
			continue;
		}
		if (st->stats.commits != st->ckpt_idle_commits) {
			/* Committed since the last idle pass: one more once the
			 * writer has been quiet for a moment. */
			int64_t left = st->last_commit_us + SQLITE_IDLE_CKPT_US - clock_mono_us();
			if (left <= 0 && !st->writer_busy && !st->q_head) {
				st->ckpt_idle_commits = st->stats.commits;
				st->ckpt_active = true;
				pthread_mutex_unlock(&st->mu);
				pass(st);
				pthread_mutex_lock(&st->mu);
				st->ckpt_active = false;
				continue;
			}
			wait_us(&st->ckpt_wake, &st->mu, left > 0 ? left : SQLITE_IDLE_CKPT_US);
			continue;
		}
		st->ckpt_sleeping = true;
		pthread_cond_wait(&st->ckpt_wake, &st->mu);
		st->ckpt_sleeping = false;
	}
	pthread_mutex_unlock(&st->mu);
	return NULL;
}
