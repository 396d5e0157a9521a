/* Opening and closing the SQLite store: the data directory, the
 * connections, pragmas, migrations, and the writer and checkpointer
 * threads' start and stop.
 *
 * Connections to <dir>/canal.db:
 *   wdb  read-write; owned by the writer thread once it runs (the calling
 *        thread in offline mode); every write goes through it.
 *   rdb  read-only; used by the loop thread for store_load and reads. WAL
 *        lets it read while the writer commits.
 *   cdb  read-write, never writes; owned by the checkpointer thread, which
 *        copies the WAL into the database beside the writer (sqlite_ckpt.c).
 *        Not opened offline.
 * Pragmas: WAL; synchronous from the config (FULL by default, which with
 * group commit costs little: STACK.md section 4); no auto-checkpoint, since a
 * checkpoint inside a commit is what makes the worst commits slow: the
 * checkpointer runs them, and wdb TRUNCATEs at close once the threads have
 * stopped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "store/sqlite/sqlite_internal.h"

int sqlite__exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* mkdir -p with mode 0700 for what it creates (the directory holds password
 * hashes and token hashes). Existing directories keep their mode. */
static int make_dir(const char *dir, char *err, size_t errlen)
{
	char *p = xstrdup(dir);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create data directory %s: %s", p, strerror(errno));
			rc = -1;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	if (rc)
		return rc;
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		snprintf(err, errlen, "data directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "data directory %s is not a directory", dir);
		return -1;
	}
	/* access() also reports a read-only file system (EROFS), which is the
	 * case that matters when running as root. */
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "data directory %s is not writable: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int fail(sqlite3 *db, const char *what, const char *path, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s %s: %s", what, path, db ? sqlite3_errmsg(db) : "out of memory");
	return -1;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

static int migrate(store *st, char *err, size_t errlen)
{
	int64_t v = 0;
	if (pragma_int(st->wdb, "PRAGMA user_version", &v) != SQLITE_OK)
		return fail(st->wdb, "cannot read schema version of", st->path, err, errlen);
	if (v > sqlite__schema_version) {
		snprintf(err, errlen,
			 "%s has schema version %lld, newer than this binary's %d: upgrade canal",
			 st->path, (long long)v, sqlite__schema_version);
		return -1;
	}
	for (int i = (int)v; i < sqlite__schema_version; i++) {
		char bump[64];
		snprintf(bump, sizeof bump, "PRAGMA user_version=%d", i + 1);
		if (sqlite__exec(st->wdb, "BEGIN IMMEDIATE") != SQLITE_OK)
			return fail(st->wdb, "cannot migrate", st->path, err, errlen);
		if (sqlite__exec(st->wdb, sqlite__migrations[i]) != SQLITE_OK ||
		    sqlite__exec(st->wdb, bump) != SQLITE_OK ||
		    sqlite__exec(st->wdb, "COMMIT") != SQLITE_OK) {
			fail(st->wdb, "migration failed on", st->path, err, errlen);
			sqlite__exec(st->wdb, "ROLLBACK");
			return -1;
		}
		log_info("store migrated", "path=%s version=%d", st->path, i + 1);
	}
	return 0;
}

static int open_write(store *st, char *err, size_t errlen)
{
	static const char *const sync_sql[] = {
		[STORE_SYNC_FULL] = "PRAGMA synchronous=FULL",
		[STORE_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
		[STORE_SYNC_OFF] = "PRAGMA synchronous=OFF",
	};
	int rc = sqlite3_open_v2(st->path, &st->wdb, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK)
		return fail(st->wdb, "cannot open", st->path, err, errlen);
	sqlite3_extended_result_codes(st->wdb, 1);
	sqlite3_busy_timeout(st->wdb, SQLITE_BUSY_MS);

	/* The first statement touching the file: a corrupt or foreign file
	 * fails here with "file is not a database". */
	sqlite3_stmt *s;
	rc = sqlite3_prepare_v2(st->wdb, "PRAGMA journal_mode=WAL", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		const unsigned char *mode = rc == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;
		if (rc == SQLITE_ROW && (!mode || strcmp((const char *)mode, "wal") != 0)) {
			sqlite3_finalize(s);
			snprintf(err, errlen, "cannot open %s: WAL journal mode unavailable", st->path);
			return -1;
		}
		sqlite3_finalize(s);
		rc = rc == SQLITE_ROW ? SQLITE_OK : rc;
	}
	if (rc != SQLITE_OK)
		return fail(st->wdb, "cannot open", st->path, err, errlen);

	store_sync sync = (unsigned)st->cfg.sync <= STORE_SYNC_OFF ? st->cfg.sync : STORE_SYNC_FULL;
	/* Cuts a WAL file that a burst made big back when the WAL restarts. */
	char wal_limit[64];
	snprintf(wal_limit, sizeof wal_limit, "PRAGMA journal_size_limit=%d", SQLITE_WAL_SIZE_LIMIT);
	if (sqlite__exec(st->wdb, sync_sql[sync]) != SQLITE_OK ||
	    sqlite__exec(st->wdb, "PRAGMA wal_autocheckpoint=0") != SQLITE_OK ||
	    sqlite__exec(st->wdb, wal_limit) != SQLITE_OK ||
	    sqlite__exec(st->wdb, "PRAGMA foreign_keys=OFF") != SQLITE_OK)
		return fail(st->wdb, "cannot configure", st->path, err, errlen);
	/* The search index triggers call it, migrations included. */
	if (sqlite__search_register(st) != SQLITE_OK || sqlite__fts_prefix_register(st->wdb) != SQLITE_OK)
		return fail(st->wdb, "cannot register search functions on", st->path, err, errlen);
	if (migrate(st, err, errlen) != 0)
		return -1;
	if (sqlite__search_open(st) != SQLITE_OK)
		return fail(st->wdb, "cannot bring the search index up to date on", st->path, err, errlen);
	for (int i = 0; i < W__COUNT; i++) {
		rc = sqlite3_prepare_v3(st->wdb, sqlite__wsql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->wstmt[i], NULL);
		if (rc != SQLITE_OK)
			return fail(st->wdb, "cannot prepare statements on", st->path, err, errlen);
	}
	/* Replaces SQLite's own auto-checkpoint hook (already off): the writer
	 * counts WAL frames to wake the checkpointer (sqlite__wal_note). */
	sqlite3_wal_hook(st->wdb, sqlite__wal_hook, st);
	return 0;
}

static int open_read(store *st, char *err, size_t errlen)
{
	int rc = sqlite3_open_v2(st->path, &st->rdb, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK)
		return fail(st->rdb, "cannot open (read)", st->path, err, errlen);
	sqlite3_extended_result_codes(st->rdb, 1);
	sqlite3_busy_timeout(st->rdb, SQLITE_BUSY_MS);
	if (sqlite__fts_prefix_register(st->rdb) != SQLITE_OK)
		return fail(st->rdb, "cannot register the search tokenizer on", st->path, err, errlen);
	return 0;
}

static void close_dbs(store *st)
{
	for (int i = 0; i < W__COUNT; i++)
		sqlite3_finalize(st->wstmt[i]);
	for (int i = 0; i < R__COUNT; i++)
		sqlite3_finalize(st->rstmt[i]);
	sqlite__cache_free(&st->wext);
	sqlite__cache_free(&st->rext);
	if (st->rdb && sqlite3_close(st->rdb) != SQLITE_OK)
		log_error("store: closing read connection", "err=\"%s\"", sqlite3_errmsg(st->rdb));
	if (st->wdb && sqlite3_close(st->wdb) != SQLITE_OK)
		log_error("store: closing write connection", "err=\"%s\"", sqlite3_errmsg(st->wdb));
	st->rdb = st->wdb = NULL;
}

static void close_cdb(store *st)
{
	if (st->cdb && sqlite3_close(st->cdb) != SQLITE_OK)
		log_error("store: closing checkpoint connection", "err=\"%s\"", sqlite3_errmsg(st->cdb));
	st->cdb = NULL;
}

static void store_free(store *st)
{
	sqlite__keys_release(st);
	pthread_mutex_destroy(&st->mu);
	pthread_cond_destroy(&st->wake);
	pthread_cond_destroy(&st->room);
	pthread_cond_destroy(&st->ckpt_wake);
	pthread_cond_destroy(&st->held);
	free(st->dir);
	free(st->path);
	free(st);
}

static void async_free_cb(uv_handle_t *h)
{
	free(h);
}

/* The kick handles, like the async one, are freed by their close
 * callbacks and point nowhere once closing. */
static void close_kick(store *st)
{
	if (st->kick_check) {
		st->kick_check->data = NULL;
		uv_close((uv_handle_t *)st->kick_check, async_free_cb);
		st->kick_check = NULL;
	}
	if (st->kick_idle) {
		st->kick_idle->data = NULL;
		uv_close((uv_handle_t *)st->kick_idle, async_free_cb);
		st->kick_idle = NULL;
	}
	st->kick_pending = false;
}

/* Stops and joins the writer and the checkpointer (loop thread). */
static void stop_threads(store *st)
{
	pthread_mutex_lock(&st->mu);
	st->stopping = true;
	pthread_cond_signal(&st->wake);
	pthread_cond_signal(&st->ckpt_wake);
	pthread_mutex_unlock(&st->mu);
	if (st->writer_running)
		pthread_join(st->writer, NULL);
	if (st->ckpt_running)
		pthread_join(st->ckpt, NULL);
	st->writer_running = st->ckpt_running = false;
}

store *store_open(const store_cfg *cfg, struct uv_loop_s *loop, char *err, size_t errlen)
{
	char dummy[1];
	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof dummy;
	}
	err[0] = '\0';
	if (!cfg || !cfg->dir || !*cfg->dir) {
		snprintf(err, errlen, "no data directory configured");
		return NULL;
	}
	if (make_dir(cfg->dir, err, errlen) != 0)
		return NULL;

	store *st = xcalloc(1, sizeof *st);
	st->cfg = *cfg;
	if (st->cfg.batch_max <= 0)
		st->cfg.batch_max = 256;
	if (st->cfg.batch_wait_us < 0)
		st->cfg.batch_wait_us = 0;
	st->dir = xstrdup(cfg->dir);
	st->cfg.dir = st->dir;
	st->path = xasprintf("%s/%s", cfg->dir, SQLITE_DB_FILE);
	st->loop = loop;
	pthread_mutex_init(&st->mu, NULL);
	/* batch_wait_us and idle-checkpoint deadlines are monotonic: a
	 * wall-clock jump must not stall the writer or the checkpointer. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->wake, &ca);
	pthread_cond_init(&st->ckpt_wake, &ca);
	pthread_cond_init(&st->held, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&st->room, NULL);

	if (open_write(st, err, errlen) != 0 || open_read(st, err, errlen) != 0)
		goto fail;

	if (loop) {
		if (sqlite__ckpt_open(st, err, errlen) != 0)
			goto fail;
		st->async = xmalloc(sizeof *st->async);
		if (uv_async_init(loop, st->async, sqlite__async_cb) != 0) {
			free(st->async);
			st->async = NULL;
			snprintf(err, errlen, "store: uv_async_init failed");
			goto fail;
		}
		st->async->data = st;
		/* Referenced only while jobs are in flight, so an otherwise idle
		 * loop can end (see store_submit). */
		uv_unref((uv_handle_t *)st->async);
		st->kick_check = xmalloc(sizeof *st->kick_check);
		st->kick_idle = xmalloc(sizeof *st->kick_idle);
		uv_check_init(loop, st->kick_check);
		uv_idle_init(loop, st->kick_idle);
		st->kick_check->data = st->kick_idle->data = st;
		uv_unref((uv_handle_t *)st->kick_check);
		uv_unref((uv_handle_t *)st->kick_idle);
		if (pthread_create(&st->writer, NULL, sqlite__writer_main, st) != 0) {
			snprintf(err, errlen, "store: cannot start the writer thread");
			goto fail;
		}
		st->writer_running = true;
		if (pthread_create(&st->ckpt, NULL, sqlite__ckpt_main, st) != 0) {
			snprintf(err, errlen, "store: cannot start the checkpointer thread");
			stop_threads(st);
			goto fail;
		}
		st->ckpt_running = true;
	}
	log_info("store open", "path=%s sync=%d batch_max=%d", st->path, (int)st->cfg.sync,
		 st->cfg.batch_max);
	return st;
fail:
	if (st->async)
		uv_close((uv_handle_t *)st->async, async_free_cb);
	close_kick(st);
	close_cdb(st);
	close_dbs(st);
	store_free(st);
	return NULL;
}

void store_close(store *st)
{
	if (!st)
		return;
	/* The writer drains the queue first; a round the checkpointer is in
	 * ends after its current pass (and releases a held writer). */
	stop_threads(st);
	close_cdb(st);
	/* Jobs the writer finished after the loop's last turn: their callbacks
	 * run here, on the loop thread. A callback that submits more work gets
	 * it committed synchronously (the writer is gone). */
	sqlite__deliver(st);
	sqlite__checkpoint(st->wdb, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	close_dbs(st);
	if (st->async) {
		/* The handle outlives the store until the loop runs its close
		 * callback, which frees it; nothing in it points back here. */
		st->async->data = NULL;
		uv_close((uv_handle_t *)st->async, async_free_cb);
	}
	close_kick(st);
	const store_stats *ss = &st->stats;
	log_info("store closed",
		 "path=%s commits=%llu checkpoints=%llu checkpoint_ms=%llu holds=%llu hold_ms=%llu"
		 " forced=%llu wal_restarts=%llu",
		 st->path, (unsigned long long)ss->commits, (unsigned long long)ss->checkpoints,
		 (unsigned long long)(ss->checkpoint_us_sum / 1000),
		 (unsigned long long)ss->checkpoint_holds,
		 (unsigned long long)(ss->checkpoint_hold_us_sum / 1000),
		 (unsigned long long)ss->checkpoint_forced, (unsigned long long)ss->wal_restarts);
	store_free(st);
}

void store_get_stats(store *st, store_stats *out)
{
	pthread_mutex_lock(&st->mu);
	*out = st->stats;
	out->queue_depth = st->q_len;
	out->wal_pages = (uint64_t)st->wal_frames;
	pthread_mutex_unlock(&st->mu);
}
