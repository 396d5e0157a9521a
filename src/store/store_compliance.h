/* Compliance storage: retention policies, legal holds, the audit log and
 * the export reader (SQL in src/store/sqlite/sqlite_compliance.c and
 * sqlite_export.c, schema in migration 5).
 *
 * Writes are ops added to a store_job like any other (they commit with the
 * change they describe: an audit entry never outlives a refused action).
 * Reads run on the loop thread's read connection and are bounded: each
 * returns at most the rows asked for, over an index.
 * The export reader is the exception: it opens its own read-only
 * connection and is meant for one other thread (or the offline CLI). */
#ifndef CANAL_STORE_STORE_COMPLIANCE_H
#define CANAL_STORE_STORE_COMPLIANCE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/message.h"

typedef struct store store;
typedef struct store_job store_job;

/* ---- retention policies ----
 * One per org (channel_id "") and one per channel at most; days > 0:
 * delete messages older than that many days; days == 0: keep forever
 * (a channel's "forever" overrides its org's policy). */
typedef struct store_retention {
	char org_id[ID_MAX];
	char channel_id[ID_MAX];  /* "" = the org's policy */
	int64_t days;
	int64_t updated;          /* unix seconds */
	char updated_by[ID_MAX];
} store_retention;

void store_retention_put(store_job *j, const store_retention *p);
/* Removes a policy; a missing one is fine. */
void store_retention_del(store_job *j, const char *org_id, const char *channel_id);
/* The policy of (org_id, channel_id): 0 and *found set (false if none),
 * or ERR_INTERNAL_ERROR. */
int store_retention_get(store *st, const char *org_id, const char *channel_id,
			store_retention *out, bool *found);
/* Every policy (a few per org): heap array in *out (free()). */
int store_retention_list(store *st, store_retention **out, size_t *n);

/* ---- legal holds ---- */
typedef struct store_hold {
	char id[ID_MAX];
	char org_id[ID_MAX];
	char kind[16];            /* "channel" or "user" */
	char target[ID_MAX];
	int64_t created;
	char created_by[ID_MAX];
	bool released;
	char *note;               /* heap or NULL */
} store_hold;

void store_hold_put(store_job *j, const store_hold *h, const char *released_by);
/* Every hold of org_id (released ones too), oldest first; heap array
 * (store_holds_free). */
int store_hold_list(store *st, const char *org_id, store_hold **out, size_t *n);
void store_holds_free(store_hold *h, size_t n);

/* ---- retention deletion ---- */
/* Up to limit message ts in channel_id with after < ts < cutoff, oldest
 * first, skipping messages of users on hold (a channel on hold is the
 * caller's to skip). One indexed range read. */
int store_retention_candidates(store *st, const char *channel_id, int64_t after, int64_t cutoff,
			       size_t limit, int64_t *ts_out, size_t *n);
/* Deletes one message as store_msg_delete does (with its reactions, pins
 * and mentions), unless by commit time it is no longer older than cutoff
 * or a live legal hold covers its channel or author; a message already
 * gone is no error. */
void store_retention_delete(store_job *j, const char *channel_id, int64_t ts, int64_t cutoff);

/* ---- the audit log ---- */
/* Appends an entry: entry_json is the whole entry (Slack's shape), the
 * other values its indexed columns (org_id NULL/"" for none). */
void store_audit_append(store_job *j, const char *id, const char *org_id, int64_t date_create,
			const char *action, const char *actor_id, const char *entity_id,
			const char *entry_json);

typedef struct store_audit_row {
	int64_t seq;
	char *entry;              /* heap JSON text */
} store_audit_row;

/* Entries of org_id (NULL: of every org and none), newest first, with
 * seq < before (0: no bound) and oldest <= date_create <= latest (0: no
 * bound), matching action / actor_id / entity_id when given (NULL = any;
 * action may be a comma list). At most limit rows are returned and at
 * most AUDIT_SCAN rows examined: *next is the seq to continue before (0
 * when the log is exhausted). Heap array (store_audit_rows_free). */
#define STORE_AUDIT_SCAN 10000
typedef struct store_audit_query {
	const char *org_id;
	int64_t before;
	int64_t oldest, latest;
	const char *action, *actor_id, *entity_id;
	size_t limit;
} store_audit_query;
int store_audit_find(store *st, const store_audit_query *q, store_audit_row **out, size_t *n,
		     int64_t *next);
/* Entries with seq > after, oldest first, at most limit (the SIEM
 * stream's tail). */
int store_audit_after(store *st, int64_t after, size_t limit, store_audit_row **out, size_t *n);
/* The newest seq, 0 if the log is empty. */
int store_audit_last_seq(store *st, int64_t *seq);
void store_audit_rows_free(store_audit_row *r, size_t n);

/* ---- the export reader (sqlite_export.c) ----
 * Its own read-only connection to the data directory dir, for the
 * thread that opens it. Messages come one at a time (streaming: one row
 * in memory), with reactions, files-free thread summaries filled. */
typedef struct store_reader store_reader;
store_reader *store_reader_open(const char *dir, char *err, size_t errlen);
void store_reader_close(store_reader *r);
/* Calls fn for each message of channel_id, oldest first (thread replies
 * included, in ts order); fn returns nonzero to stop. 0 or
 * ERR_INTERNAL_ERROR. The message is valid during the call only. */
typedef int (*store_reader_msg_fn)(void *ud, const message *m);
int store_reader_messages(store_reader *r, const char *channel_id, store_reader_msg_fn fn,
			  void *ud);
/* A file's row (files[] of exported messages): 0, ERR_FILE_NOT_FOUND or
 * ERR_INTERNAL_ERROR; out is the caller's to release (store_file_release). */
struct store_file;
int store_reader_file(store_reader *r, const char *file_id, struct store_file *out);
/* Calls fn for each audit entry (JSON text) of org_id (NULL: all) with
 * date_create >= since, oldest first; fn returns nonzero to stop. */
typedef int (*store_reader_audit_fn)(void *ud, const char *entry);
int store_reader_audit(store_reader *r, const char *org_id, int64_t since,
		       store_reader_audit_fn fn, void *ud);

#endif
