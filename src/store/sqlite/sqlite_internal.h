/* Private to the SQLite backend (src/store/sqlite/). Nothing outside this
 * directory includes it, except tests/unit/test_store.c and test_restore.c,
 * which peek at a few constants and the write connection to provoke errors.
 *
 * Files:
 *   migrations.c     schema, as an ordered list of SQL scripts
 *   sqlite_open.c    store_open/store_close, pragmas, stats
 *   sqlite_writer.c  writer thread, group commit, completions (design note)
 *   sqlite_ckpt.c    checkpointer thread: WAL checkpoints off the commit path
 *   sqlite_ops.c     job building: store_put_* / store_msg_* / reactions / pins
 *   sqlite_read.c    store_msg_* reads and their decoration (threads, reactions, pins)
 *   sqlite_load.c    store_load (hot state at start), the row readers
 *   sqlite_restore.c store_restore: hot state back to the database after a
 *                    failed job; which jobs in flight write which entity
 *   sqlite_search.c  the message search index (FTS5) and store_search_messages */
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
/* WAL frames (pages; 4 KiB each) appended since the checkpointer's last
 * round after which it starts the next one. The WAL file settles at about
 * this size plus what the writer appends during a round: 1000 pages is
 * 4 MiB, a few hundred commits at full speed. */
#define SQLITE_CKPT_PAGES 1000
/* When a concurrent checkpoint pass leaves at most this many frames behind
 * the writer, the checkpointer holds the writer between two batches for one
 * last short pass, so the WAL is complete and restarts at its beginning. */
#define SQLITE_CKPT_HOLD_PAGES 64
/* How long the checkpointer waits for a moment when the writer is idle and
 * no job is queued before it holds the writer anyway. */
#define SQLITE_CKPT_IDLE_WAIT_US 20000
/* Concurrent passes per round before giving up on catching the writer. */
#define SQLITE_CKPT_MAX_PASSES 8
/* Last resort: with this many frames not yet checkpointed (the checkpointer
 * cannot keep up, or a reader pins the WAL), the writer checkpoints itself
 * between batches, at most once per this many frames. 65536 = 256 MiB. */
#define SQLITE_WAL_HARD_PAGES 65536
/* After a burst left the WAL file bigger than this, it is cut back to this
 * size when the WAL next restarts (PRAGMA journal_size_limit). */
#define SQLITE_WAL_SIZE_LIMIT (4 * SQLITE_CKPT_PAGES * 4096)
/* Quiet time after the last commit before an idle checkpoint. */
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
	W_MENTIONS_DEL_TEXT,
	W_REACTION_ADD,
	W_REACTION_DEL,
	W_REACTIONS_DEL_MSG,
	W_PIN_ADD,
	W_PIN_DEL,
	W_PUT_COMMAND,
	W_DEL_COMMAND,
	W_PUT_WEBHOOK,
	W__COUNT
} sqlite__wstmt;
extern const char *const sqlite__wsql[W__COUNT];
/* The hot-state entity a write statement touches (store_job_keys): its key
 * values are parameters a and b (b < 0: none); on = 0 for messages. */
typedef struct sqlite__wkey {
	bool on;
	store_key_kind kind;
	int a, b;
} sqlite__wkey;
extern const sqlite__wkey sqlite__wkeys[W__COUNT];

/* ---- statements owned by backend modules ----
 * Modules beyond the core tables (search, files, retention, audit, ...) keep
 * their SQL as static strings in their own file instead of growing the
 * enums above. Statements are prepared on first use and cached per
 * connection, keyed by the string's ADDRESS: always pass the same static
 * string, never one built at run time. Ops built this way are not hot
 * state: store_job_keys skips them. */
typedef struct sqlite__stmt_cache {
	const char **sql;
	sqlite3_stmt **stmt;
	size_t n, cap;
} sqlite__stmt_cache;
/* The prepared statement for sql on db, from cache (prepared and added if
 * new); NULL (logged) if it does not prepare. */
sqlite3_stmt *sqlite__cache_get(sqlite__stmt_cache *c, sqlite3 *db, const char *sql);
void sqlite__cache_free(sqlite__stmt_cache *c);
/* Job building for such statements (sqlite_ops.c): start an op running sql,
 * then append its parameters in order with the sqlite__v_* calls. */
void sqlite__op_sql(store_job *j, const char *sql);
/* The op just started fails the job with err when it changes no row. */
void sqlite__op_on_missing(store_job *j, int err);
void sqlite__v_int(store_job *j, int64_t i);
void sqlite__v_str(store_job *j, const char *s);   /* NULL stays NULL */
void sqlite__v_id(store_job *j, const char *s);    /* "" stored as NULL */
void sqlite__v_null(store_job *j);
/* A module's read statement on the read connection (loop thread), cached;
 * finish with sqlite__rstmt_done. NULL (logged) on a prepare error. */
sqlite3_stmt *sqlite__rext(store *st, const char *sql);

/* Entity columns, in the order the row readers (sqlite__row_*) expect. */
#define SQLITE_ORG_COLS "id, name, domain, created, general_id"
#define SQLITE_USER_COLS                                                                         \
	"id, org_id, name, real_name, display_name, email, title, phone, tz, status_text,"       \
	" status_emoji, avatar_hash, pwhash, is_admin, is_owner, is_primary_owner, is_bot,"     \
	" deleted, bot_id, app_id, created, updated"
#define SQLITE_CHANNEL_COLS                                                                      \
	"id, org_id, name, kind, creator, created, archived, is_general, topic, purpose,"        \
	" topic_creator, purpose_creator, topic_last_set, purpose_last_set, previous_names,"     \
	" im_user, updated"
#define SQLITE_MEMBER_COLS "channel_id, user_id, joined, last_read, open"
#define SQLITE_USERGROUP_COLS                                                                    \
	"id, org_id, name, handle, description, created_by, updated_by, deleted_by,"             \
	" date_create, date_update, date_delete, users, channels"
#define SQLITE_APP_COLS                                                                          \
	"id, org_id, name, bot_id, bot_user_id, scopes, signing_secret, verification_token,"     \
	" created, updated, deleted, manifest, description, bot_events, event_url,"              \
	" interactivity_url, interactivity, socket_mode"
#define SQLITE_TOKEN_COLS "hash, kind, org_id, user_id, app_id, scopes, created, expires, revoked"
#define SQLITE_COMMAND_COLS "org_id, command, app_id, url, description, usage_hint, should_escape"
#define SQLITE_WEBHOOK_COLS "id, org_id, app_id, channel_id, hash, created_by, created, revoked"

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
	R_LOAD_COMMANDS,
	R_LOAD_WEBHOOKS,
	R_ROW_ORG,        /* one row by key, for store_restore */
	R_ROW_USER,
	R_ROW_CHANNEL,
	R_ROW_MEMBER,
	R_ROW_USERGROUP,
	R_ROW_APP,
	R_ROW_TOKEN,
	R_ROW_COMMAND,
	R_ROW_WEBHOOK,
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
	const char *sql;  /* a module's own statement (sqlite__op_sql), else NULL */
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
	store_key *keys;    /* entities written, when a state is attached (sqlite_restore.c) */
	size_t nkeys;
};

struct store {
	store_cfg cfg;
	char *dir;
	char *path;
	uv_loop_t *loop;          /* NULL: offline, synchronous commits */
	uv_async_t *async;        /* heap: freed in its close callback */
	/* End-of-turn wake-up of the writer (store_submit): both heap, freed
	 * in their close callbacks; active only while kick_pending. */
	uv_check_t *kick_check;
	uv_idle_t *kick_idle;
	bool kick_pending;        /* loop thread: jobs queued, writer not yet woken */

	sqlite3 *wdb;             /* writer thread only (calling thread offline) */
	sqlite3_stmt *wstmt[W__COUNT];
	sqlite__stmt_cache wext;  /* writer thread: modules' write statements */
	int hook_frames;          /* writer thread: WAL frames after its last commit (WAL hook) */
	bool search_pending;      /* writer thread: search index behind (sqlite_search.c) */
	int64_t search_since_us;  /* writer thread: since when (clock_mono_us) */
	int64_t search_window_us; /* writer thread: start of the current write-rate window */
	int64_t search_window_jobs; /* writer thread: jobs committed in it */

	sqlite3 *cdb;             /* checkpointer thread only; NULL offline */

	sqlite3 *rdb;             /* loop thread only */
	sqlite3_stmt *rstmt[R__COUNT];
	sqlite__stmt_cache rext;  /* loop thread: modules' read statements */

	pthread_t writer;
	bool writer_running;      /* loop thread only: the writer thread exists */
	pthread_t ckpt;
	bool ckpt_running;        /* loop thread only: the checkpointer thread exists */
	pthread_mutex_t mu;       /* guards everything below */
	pthread_cond_t wake;      /* writer: work arrived, hold released, or stopping */
	pthread_cond_t room;      /* submitters: the queue has room again */
	pthread_cond_t ckpt_wake; /* checkpointer: the WAL grew, or stopping */
	pthread_cond_t held;      /* checkpointer: the writer finished a batch */
	store_job *q_head, *q_tail;
	size_t q_len;
	bool stopping;
	store_job *d_head, *d_tail; /* committed, waiting for the loop thread */
	store_stats stats;

	/* The WAL as the writer left it after its last commit, and as the
	 * checkpointer left it after its last pass (sqlite_ckpt.c). */
	int wal_frames;           /* frames in the WAL (its mxFrame) */
	int wal_backfilled;       /* of those, copied into the database */
	uint64_t wal_gen;         /* WAL restarts seen by the writer */
	uint64_t wal_appended;    /* frames ever appended (monotonic) */
	int64_t last_commit_us;   /* clock_mono_us() of the last commit */
	uint64_t ckpt_mark;       /* wal_appended when the last round started */
	uint64_t ckpt_idle_commits; /* stats.commits at the last idle pass */
	uint64_t forced_mark;     /* wal_appended at the writer's last forced checkpoint */
	bool ckpt_active;         /* a checkpoint round or pass is running */
	bool ckpt_sleeping;       /* the checkpointer waits with nothing to do */
	bool ckpt_want;           /* the checkpointer waits for an idle writer to hold */
	bool ckpt_hold;           /* the writer must not start a batch */
	bool writer_busy;         /* the writer is running a batch */

	size_t inflight;          /* loop thread: submitted, callback not yet run */
	uint64_t jobs_submitted;  /* loop thread: to the writer, ever (store_rt.h) */
	uint64_t jobs_delivered;  /* loop thread: their callbacks run, ever */

	core_state *state;        /* loop thread: kept in step with failed jobs, or NULL */
	map keyed;                /* loop thread: entity key -> sqlite__keyed (sqlite_restore.c) */
};

/* sqlite_open.c */
int sqlite__exec(sqlite3 *db, const char *sql);

/* sqlite_search.c: registers canal_search_text, which the search index
 * triggers call, on the write connection (before migrations). SQLITE_OK
 * or an SQLite error. */
int sqlite__search_register(store *st);
/* Writer thread, at the end of a batch of njobs jobs, before COMMIT:
 * brings the search index up to date with the messages written since it
 * last was, or
 * leaves it behind under load and sets search_pending (sqlite_search.c
 * says when). SQLITE_OK or an SQLite error (the batch is then rolled
 * back). sqlite__search_idle: the writer found no job for
 * SQLITE_SEARCH_IDLE_US while search_pending: catches up in a transaction
 * of its own (mu not held; clears search_pending). sqlite__search_open:
 * the same at open, after migrations. */
#define SQLITE_SEARCH_IDLE_US 10000
/* store_cfg.search_time_scale, at least 1: multiplies every clock of the
 * index's catch-up policy. */
static inline int64_t sqlite__search_scale(const store *st)
{
	return st->cfg.search_time_scale > 1 ? st->cfg.search_time_scale : 1;
}
int sqlite__search_flush(store *st, size_t njobs);
void sqlite__search_idle(store *st);
int sqlite__search_open(store *st);

/* sqlite_writer.c */
void *sqlite__writer_main(void *arg);
void sqlite__run_batch(store *st, store_job *batch);
void sqlite__async_cb(uv_async_t *h);
void sqlite__kick_check_cb(uv_check_t *h);
void sqlite__kick_idle_cb(uv_idle_t *h);
void sqlite__deliver(store *st);
/* Records the WAL hook's frame count after a commit (mu held). */
void sqlite__wal_note(store *st);
int sqlite__wal_hook(void *arg, sqlite3 *db, const char *name, int pages);

/* sqlite_ckpt.c */
/* One checkpoint of mode on db: *logn gets the frames in the WAL, *done
 * those now copied back (either may be NULL). SQLITE_OK, SQLITE_BUSY
 * (another checkpoint runs) or an error, logged. */
int sqlite__checkpoint(sqlite3 *db, int mode, int *logn, int *done);
/* Between batches (writer thread, or the calling thread offline, mu not
 * held): checkpoints on wdb if the WAL passed what the caller tolerates. */
void sqlite__writer_checkpoint_guard(store *st, int limit);
int sqlite__ckpt_open(store *st, char *err, size_t errlen);
void *sqlite__ckpt_main(void *arg);

/* sqlite_load.c: row readers shared by store_load and store_restore. Each
 * sets every column of a row of its *_COLS but the key(s) the caller made
 * the entity with, replacing (and freeing) what the entity held. */
void sqlite__row_org(sqlite3_stmt *s, org *o);
void sqlite__row_user(sqlite3_stmt *s, user *u);
void sqlite__row_channel(sqlite3_stmt *s, channel *c);
void sqlite__row_member(sqlite3_stmt *s, chan_member *m);
void sqlite__row_usergroup(sqlite3_stmt *s, usergroup *g);
void sqlite__row_app(sqlite3_stmt *s, app *a);
void sqlite__row_token(sqlite3_stmt *s, token *t);
void sqlite__row_command(sqlite3_stmt *s, app_command *c);
void sqlite__row_webhook(sqlite3_stmt *s, webhook *w);

/* sqlite_restore.c (loop thread). keys_submit records the entities a job
 * writes before it goes to the writer (only with a state attached);
 * keys_done runs before its done_cb: a failed job's entities, and those
 * of earlier failures that waited for it, are restored once no job in
 * flight writes them any more. keys_release frees the records (close). */
void sqlite__keys_submit(store *st, store_job *j);
void sqlite__keys_done(store *st, store_job *j);
void sqlite__keys_release(store *st);

/* sqlite_read.c: the cached read statement id, reset and unbound (NULL
 * and logged if it fails to prepare). */
sqlite3_stmt *sqlite__rget(store *st, sqlite__rstmt id);
void sqlite__rstmt_done(sqlite3_stmt *s);
/* Column helpers: heap copy of a text column (NULL stays NULL), and a
 * bounded copy into a fixed id field (NULL becomes ""). */
char *sqlite__col_str(sqlite3_stmt *s, int i);
/* The message columns, in the order sqlite__row_to_msg reads them. */
#define SQLITE_MSG_COLS                                                                           \
	"channel_id, org_id, ts, thread_ts, subtype, user_id, bot_id, app_id, text, blocks,"     \
	" attachments, metadata, extra, client_msg_id, edited_ts, edited_user, reply_broadcast," \
	" hidden"
/* A message from a row of SQLITE_MSG_COLS (starting at column 0); the
 * message owns its strings (message_release). */
void sqlite__row_to_msg(sqlite3_stmt *s, message *m);
void sqlite__col_id(sqlite3_stmt *s, int i, char *out, size_t cap);

/* sqlite_files.c: a file row read on another connection (the export
 * reader's), with the statement cached in *cache (the caller finalizes).
 * 0, ERR_FILE_NOT_FOUND or ERR_INTERNAL_ERROR. */
struct store_file;
int sqlite__file_read(sqlite3 *db, sqlite3_stmt **cache, const char *id, struct store_file *out);

/* sqlite_fts_prefix.c: on db, FTS5 prefix query terms are matched as
 * typed, not stemmed (see there). SQLITE_OK or an SQLite error. */
int sqlite__fts_prefix_register(sqlite3 *db);

#endif
