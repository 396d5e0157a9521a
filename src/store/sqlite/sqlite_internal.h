/* Private to the SQLite backend (src/store/sqlite/). Nothing outside this
 * directory includes it, except tests/unit/test_store.c, which peeks at a
 * few constants and the write connection to provoke errors.
 *
 * Files:
 *   migrations.c     schema, as an ordered list of SQL scripts
 *   sqlite_open.c    store_open/store_close, pragmas, stats
 *   sqlite_writer.c  writer thread, group commit, completions (design note)
 *   sqlite_ops.c     job building: store_put_* / store_msg_* / reactions / pins
 *   sqlite_read.c    store_msg_* reads and their decoration (threads, reactions, pins)
 *   sqlite_load.c    store_load (hot state at start) */
#ifndef CANAL_STORE_SQLITE_INTERNAL_H
#define CANAL_STORE_SQLITE_INTERNAL_H
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "store/store.h"

/* Jobs waiting for the writer beyond this make store_submit block the
 * calling thread until the writer catches up: backpressure instead of
 * unbounded memory when the disk cannot keep up. */
#define SQLITE_QUEUE_MAX 65536
/* WAL pages after which the writer checkpoints even though jobs are
 * waiting (normally it checkpoints only when idle). 16384 pages = 64 MiB. */
#define SQLITE_WAL_FORCE_PAGES 16384
/* Quiet time before an idle checkpoint. */
#define SQLITE_IDLE_CKPT_US 100000
#define SQLITE_BUSY_MS 5000
#define SQLITE_DB_FILE "canal.db"

/* ---- migrations.c ---- */
extern const char *const sqlite__migrations[];
extern const int sqlite__schema_version; /* number of migrations */

/* ---- write statements (sqlite_ops.c) ---- */
typedef enum sqlite__wstmt {
	W_PUT_ORG,
	W_PUT_USER,
	W_PUT_CHANNEL,
	W_PUT_MEMBER,
	W_DEL_MEMBER,
	W_PUT_USERGROUP,
	W_PUT_APP,
	W_PUT_TOKEN,
	W_MSG_INSERT,
	W_MSG_UPDATE,
	W_MSG_DELETE,
	W_MENTION_ADD,
	W_MENTIONS_DEL,
	W_REACTION_ADD,
	W_REACTION_DEL,
	W_REACTIONS_DEL_MSG,
	W_PIN_ADD,
	W_PIN_DEL,
	W__COUNT
} sqlite__wstmt;
extern const char *const sqlite__wsql[W__COUNT];

/* ---- read statements (sqlite_read.c, sqlite_load.c) ---- */
typedef enum sqlite__rstmt {
	R_BEGIN,
	R_COMMIT,
	R_MSG_GET,
	R_HISTORY,
	R_REPLIES,
	R_THREADS,
	R_REACTIONS,
	R_PINS_RANGE,
	R_PINS_LIST,
	R_BY_USER,
	R_COUNT_AFTER,
	R_LATEST_TS,
	R_LOAD_ORGS,
	R_LOAD_USERS,
	R_LOAD_CHANNELS,
	R_LOAD_MEMBERS,
	R_LOAD_USERGROUPS,
	R_LOAD_APPS,
	R_LOAD_TOKENS,
	R_LOAD_LAST_TS,
	R__COUNT
} sqlite__rstmt;
extern const char *const sqlite__rsql[R__COUNT];

/* One parameter value, copied at job-building time. */
typedef enum { V_NULL, V_INT, V_TEXT } sqlite__vtype;
typedef struct sqlite__val {
	sqlite__vtype type;
	int64_t i;
	char *s;  /* owned by the job */
} sqlite__val;

/* One statement execution: parameters are vals[first .. first+nvals). */
typedef struct sqlite__op {
	sqlite__wstmt stmt;
	int on_conflict;  /* error for a uniqueness conflict; 0 = ERR_INTERNAL_ERROR */
	int on_missing;   /* error when the statement changes no row; 0 = fine */
	size_t first, nvals;
} sqlite__op;

struct store_job {
	store *st;
	sqlite__op *ops;
	size_t nops, capops;
	sqlite__val *vals;
	size_t nvals, capvals;
	int next_conflict;  /* store_job_on_conflict, consumed by the next op */
	store_done_cb cb;
	void *ud;
	int err;            /* outcome, set by the writer */
	store_job *next;    /* queue / batch / done list link */
};

struct store {
	store_cfg cfg;
	char *dir;
	char *path;
	uv_loop_t *loop;          /* NULL: offline, synchronous commits */
	uv_async_t *async;        /* heap: freed in its close callback */

	sqlite3 *wdb;             /* writer thread only (calling thread offline) */
	sqlite3_stmt *wstmt[W__COUNT];
	/* Writer thread only (calling thread offline): */
	int wal_pages;            /* WAL size after the last commit (WAL hook) */
	int wal_base;             /* wal_pages at the last checkpoint */
	bool wal_dirty;           /* committed since the last checkpoint */

	sqlite3 *rdb;             /* loop thread only */
	sqlite3_stmt *rstmt[R__COUNT];

	pthread_t writer;
	bool writer_running;      /* loop thread only: the writer thread exists */
	pthread_mutex_t mu;       /* guards everything below */
	pthread_cond_t wake;      /* writer: work arrived or stopping */
	pthread_cond_t room;      /* submitters: the queue has room again */
	store_job *q_head, *q_tail;
	size_t q_len;
	bool stopping;
	store_job *d_head, *d_tail; /* committed, waiting for the loop thread */
	store_stats stats;

	size_t inflight;          /* loop thread: submitted, callback not yet run */
};

/* sqlite_open.c */
int sqlite__exec(sqlite3 *db, const char *sql);

/* sqlite_writer.c */
void *sqlite__writer_main(void *arg);
void sqlite__run_batch(store *st, store_job *batch);
void sqlite__async_cb(uv_async_t *h);
void sqlite__deliver(store *st);
void sqlite__checkpoint(store *st, int mode);
int sqlite__wal_hook(void *arg, sqlite3 *db, const char *name, int pages);

/* sqlite_read.c: the cached read statement id, reset and unbound (NULL
 * and logged if it fails to prepare). */
sqlite3_stmt *sqlite__rget(store *st, sqlite__rstmt id);
void sqlite__rstmt_done(sqlite3_stmt *s);
/* Column helpers: heap copy of a text column (NULL stays NULL), and a
 * bounded copy into a fixed id field (NULL becomes ""). */
char *sqlite__col_str(sqlite3_stmt *s, int i);
void sqlite__col_id(sqlite3_stmt *s, int i, char *out, size_t cap);

#endif
