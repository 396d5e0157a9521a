/* The store interface: everything Canal keeps on disk goes through here.
 * Backends: sqlite (embedded, default, src/store/sqlite/), postgres later.
 * No backend type (sqlite3*, PGconn*) appears outside its backend.
 *
 * Writes
 *   A request's changes are gathered in one store_job (one transaction's
 *   worth) by calling store_put_* / store_msg_* with the job. Each call
 *   SNAPSHOTS what it is given (copies the values) on the calling thread,
 *   so the caller may go on mutating hot state immediately. store_submit()
 *   hands the job to the single writer thread, which commits many jobs per
 *   transaction (group commit, one fsync) and then calls done_cb on the
 *   event-loop thread with the job's outcome. A job's ops are all-or-nothing:
 *   if one op fails (say a unique constraint), the job's ops are rolled back
 *   to a savepoint and done_cb gets that op's error; other jobs in the same
 *   batch still commit. The caller has usually changed hot state already:
 *   with the state attached (store_state_attach), the store puts back what a
 *   failed job's entity ops touched, from the database, before its done_cb.
 *
 * Reads
 *   store_msg_* reads run synchronously on the calling (loop) thread over a
 *   separate read connection: they see every committed job. Cheap indexed
 *   queries only.
 *
 * Threads: store_open, reads, job building and store_submit happen on the
 * loop thread; the writer and checkpointer threads are internal. */
#ifndef CANAL_STORE_STORE_H
#define CANAL_STORE_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/message.h"
#include "core/state.h"

typedef struct store store;
typedef struct store_job store_job;
struct uv_loop_s;

typedef enum store_sync { STORE_SYNC_FULL, STORE_SYNC_NORMAL, STORE_SYNC_OFF } store_sync;

typedef struct store_cfg {
	const char *dir;          /* data directory (created if missing) */
	store_sync sync;          /* synchronous= ; FULL by default */
	int batch_max;            /* max jobs per commit (default 256) */
	int batch_wait_us;        /* extra wait to gather a batch (default 0: commit what is queued) */
	bool search_index_off;    /* messages written are not indexed for search (benchmarks only) */
	int search_time_scale;    /* benchmarks only: the index's catch-up clocks run this many times
				   * slower (0 or 1: as designed), for a server run under valgrind */
} store_cfg;

typedef struct store_stats {
	uint64_t commits;          /* transactions committed */
	uint64_t jobs;             /* jobs committed */
	uint64_t failed_jobs;
	uint64_t batch_hist[8];    /* jobs per commit: 1,2-3,4-7,8-15,16-31,32-63,64-127,128+ */
	uint64_t commit_us_sum;    /* total commit latency (µs) */
	uint64_t commit_us_hist[8];/* <=100us,<=250,<=500,<=1ms,<=2.5ms,<=5ms,<=10ms,>10ms */
	uint64_t queue_depth;      /* jobs waiting now */
	/* Checkpoints copy the WAL back into the database file. A separate
	 * checkpointer thread runs them while the writer goes on committing. */
	uint64_t checkpoints;      /* checkpoint passes run by the checkpointer */
	uint64_t checkpoint_us_sum;/* their total time (µs); commits continue meanwhile */
	uint64_t checkpoint_holds; /* final short passes that paused the writer between batches */
	uint64_t checkpoint_hold_us_sum; /* total writer pause for them (µs) */
	uint64_t checkpoint_forced;/* last-resort checkpoints by the writer itself (WAL too big) */
	uint64_t wal_restarts;     /* times the WAL started over from its beginning */
	uint64_t wal_pages;        /* pages (frames) in the WAL now, 4 KiB each */
} store_stats;

/* Opens (creating if needed) the store in cfg->dir, applies schema
 * migrations, starts the writer thread. loop may be NULL for the offline
 * CLI: then store_submit commits synchronously before returning.
 * Returns NULL and fills err on failure (unwritable directory, corrupt db,
 * newer schema than this binary). */
store *store_open(const store_cfg *cfg, struct uv_loop_s *loop, char *err, size_t errlen);
/* Waits for queued jobs to commit, stops the writer and the checkpointer,
 * checkpoints (leaving an empty WAL), closes.
 * Loop thread, never from inside a done_cb. Callbacks of jobs finished
 * after the loop's last turn run before it returns. The store's memory is
 * freed at once; its async handle is closed and freed by the loop's next
 * run (run the loop before uv_loop_close, as for any handle). */
void store_close(store *st);
void store_get_stats(store *st, store_stats *out);

/* Loads every hot-state entity into s (empty state expected), and sets
 * s->last_ts to the newest message ts. 0 or ERR_INTERNAL_ERROR. */
int store_load(store *st, core_state *s);

/* ---- write jobs ---- */
typedef void (*store_done_cb)(void *ud, int err);
store_job *store_job_new(store *st);
/* Commits the job's ops; done_cb(ud, 0 | ERR_*) is called later on the
 * loop thread (or before return when loop==NULL). An empty job completes
 * immediately (still asynchronously, in order). Takes ownership of job. */
void store_submit(store *st, store_job *job, store_done_cb cb, void *ud);
/* Abandons a job that was never submitted. */
void store_job_free(store_job *job);

/* If the next op added fails with a uniqueness conflict, the job fails
 * with err instead of ERR_INTERNAL_ERROR (e.g. ERR_ALREADY_REACTED). */
void store_job_on_conflict(store_job *job, int err);

/* Entities: upsert the whole row from the current struct. */
void store_put_org(store_job *j, const org *o);
void store_put_user(store_job *j, const user *u);
void store_put_channel(store_job *j, const channel *c);   /* not members */
void store_put_member(store_job *j, const char *channel_id, const chan_member *m);
void store_del_member(store_job *j, const char *channel_id, const char *user_id);
void store_put_usergroup(store_job *j, const usergroup *g);
void store_put_app(store_job *j, const app *a);
void store_put_token(store_job *j, const token *t);
/* Apps' slash commands (keyed by org + command) and incoming webhooks. */
void store_put_command(store_job *j, const app_command *c);
void store_del_command(store_job *j, const char *org_id, const char *command);
void store_put_webhook(store_job *j, const webhook *w);

/* Messages. insert also records mentions parsed from text. update
 * rewrites text/blocks/attachments/metadata/edited/extra/subtype/hidden
 * and replaces the mentions. delete also removes the message's reactions,
 * pins and mentions.
 * update and delete fail the job with ERR_MESSAGE_NOT_FOUND when the
 * message is gone by commit time (a concurrent request removed it);
 * reaction_remove and pin_remove of a missing row are no-ops.
 * reaction_add / pin_add / msg_insert of an existing key are uniqueness
 * conflicts (see store_job_on_conflict). */
void store_msg_insert(store_job *j, const message *m);
void store_msg_update(store_job *j, const message *m);
void store_msg_delete(store_job *j, const char *channel_id, int64_t ts);
/* One more mention row for a message inserted in the same job: the
 * members an @here reached (kind MENTION_HERE, target the member), which
 * the text alone cannot say. Kept across edits, removed with the message. */
void store_msg_mention_add(store_job *j, const char *channel_id, int64_t ts, int kind,
			   const char *target);
void store_reaction_add(store_job *j, const char *channel_id, int64_t ts, const char *name,
			const char *user_id);
void store_reaction_remove(store_job *j, const char *channel_id, int64_t ts, const char *name,
			   const char *user_id);
void store_pin_add(store_job *j, const char *channel_id, int64_t ts, const char *user_id,
		   int64_t created);
void store_pin_remove(store_job *j, const char *channel_id, int64_t ts);

/* ---- hot state after a failed job ---- */

/* One hot-state entity a job writes (store_put_* / store_del_*). */
typedef enum store_key_kind {
	STORE_KEY_ORG,
	STORE_KEY_USER,
	STORE_KEY_CHANNEL,
	STORE_KEY_MEMBER,
	STORE_KEY_USERGROUP,
	STORE_KEY_APP,
	STORE_KEY_TOKEN,
	STORE_KEY_COMMAND,
	STORE_KEY_WEBHOOK,
} store_key_kind;
typedef struct store_key {
	store_key_kind kind;
	char *id;   /* the entity's id; token: its hash; member: channel id; command: org id */
	char *sub;  /* member: user id; command: the command; webhook: its hash; else NULL */
} store_key;

/* The entities j's ops write, each once, in op order: a heap array in
 * *out (store_keys_free), the count returned. Messages, reactions and
 * pins are not hot state and have no keys. */
size_t store_job_keys(const store_job *j, store_key **out);
void store_keys_free(store_key *keys, size_t n);
/* Makes each entity keys name in s what the database last committed, on
 * the read connection (loop thread): a row that exists is copied into the
 * entity in place (the same pointer, re-indexed if a name changed; created
 * if missing, e.g. after a refused removal); an entity whose row does not
 * exist (a refused create) leaves every index and is retired
 * (core_state_retire). A membership whose row is gone is removed; one of
 * an unknown or retired channel is skipped. 0, or ERR_INTERNAL_ERROR if a
 * read failed (the other keys are still restored). */
int store_restore(store *st, core_state *s, const store_key *keys, size_t n);
/* Keeps s in step with the database when jobs fail: each job submitted
 * from now on has its entity keys recorded, and when it fails they are
 * restored (store_restore) before its done_cb runs, except those a later
 * job still in flight also writes: that job's ops snapshot the same
 * entities and may yet commit them, so they are restored when the last
 * such job is done, before its done_cb. s must outlive every callback
 * (store_close runs the last ones). NULL detaches. Loop thread. */
void store_state_attach(store *st, core_state *s);

/* ---- reads (loop thread, committed data) ---- */

/* One message with reactions, pins and thread summary filled.
 * 0, ERR_MESSAGE_NOT_FOUND or ERR_INTERNAL_ERROR. */
int store_msg_get(store *st, const char *channel_id, int64_t ts, message *out);

typedef struct store_range {
	int64_t oldest;   /* exclusive unless inclusive; 0 = unbounded */
	int64_t latest;   /* exclusive unless inclusive; 0 = unbounded */
	bool inclusive;
	size_t limit;     /* rows wanted; the backend fetches limit+1 to set *more */
} store_range;

/* Top-level messages (no thread replies unless broadcast), newest first,
 * with reactions, pins and thread summaries. Heap array in *out. */
int store_msg_history(store *st, const char *channel_id, const store_range *r, message **out,
		      size_t *n, bool *more);
/* A thread: the parent first (if in range), then replies oldest first. */
int store_msg_replies(store *st, const char *channel_id, int64_t thread_ts, const store_range *r,
		      message **out, size_t *n, bool *more);
/* Messages in channel_id pinned, newest pin first (with pin creator and time). */
typedef struct store_pin {
	message msg;
	char created_by[ID_MAX];
	int64_t created;
} store_pin;
int store_pins_list(store *st, const char *channel_id, store_pin **out, size_t *n);
void store_pin_list_free(store_pin *p, size_t n);
/* Messages user_id reacted to, newest reaction first, restricted to the
 * given channel ids (the caller passes what the viewer may see).
 * offset/limit paging. */
int store_reactions_by_user(store *st, const char *user_id, const char *const *channel_ids,
			    size_t nchannels, size_t offset, size_t limit, message **out, size_t *n,
			    bool *more);
/* Number of top-level messages newer than after_ts (for unread counts). */
int store_msg_count_after(store *st, const char *channel_id, int64_t after_ts, int64_t *count);
/* Newest top-level message ts in the channel or 0. */
int store_msg_latest_ts(store *st, const char *channel_id, int64_t *ts);
/* Mention counts for user_id, one per channel: counts[i] is the number of
 * top-level messages in channel_ids[i] newer than after_ts[i], written by
 * someone else (system messages such as channel_join not counted), whose
 * text mentions user_id, @channel, @everyone, one of the user groups
 * subteam_ids[0..nsubteams) (the groups user_id belongs to; the caller
 * knows them from hot state), or @here when user_id was recorded as online
 * at posting (a MENTION_HERE mention row targeting user_id, see
 * sqlite_counts.c). One read snapshot for all channels.
 * 0 or ERR_INTERNAL_ERROR (counts then all 0). */
int store_msg_mention_counts(store *st, const char *user_id, const char *const *subteam_ids,
			     size_t nsubteams, const char *const *channel_ids,
			     const int64_t *after_ts, size_t n, int64_t *counts);

#include "store/store_files.h"
#include "store/store_web.h"
#include "store/store_compliance.h"
#include "store/store_reminders.h"
#include "store/store_search.h"
#include "store/store_rt.h"
#include "store/store_pending.h"

#endif

