/* The retention job: deletes messages older than their channel's policy
 * (else their organisation's; store_compliance.h) unless a legal hold
 * covers their channel or their author.
 *
 * A run walks the channels with a policy one bounded batch at a time: a
 * cheap indexed read on the loop thread picks up to RETENTION_BATCH
 * candidates of one channel, one store job deletes them on the writer
 * thread (re-checking holds and age at commit), and the next batch starts
 * from that job's completion, so the loop is never held for longer than
 * one batch read and other requests' jobs interleave with the run's.
 * Deleted messages go exactly as chat.delete removes them (reactions,
 * pins, mentions, thread summaries computed from what is left); nothing
 * is announced to clients (Slack doesn't either).
 * Files shared in a walked channel go first, by the rule in
 * docs/compliance.md (retention_files_expire below). */
#ifndef CANAL_COMPLIANCE_RETENTION_H
#define CANAL_COMPLIANCE_RETENTION_H
#include <stdint.h>

#include "core/state.h"
#include "store/store.h"

#define RETENTION_BATCH 500
#define RETENTION_FILE_BATCH 100   /* a file costs one more read (its shares) */

struct uv_loop_s;
typedef struct retention retention;

typedef struct retention_stats {
	int64_t channels;   /* channels with a policy that deletes */
	int64_t deleted;    /* messages deleted */
	int64_t files;      /* files deleted (decided: a hold placed meanwhile
	                       may still have kept one at commit) */
	int64_t batches;
} retention_stats;

/* loop NULL: offline (runs finish before retention_run returns).
 * interval_s > 0 (with a loop): a run starts every interval_s seconds. */
retention *retention_new(core_state *s, store *st, struct uv_loop_s *loop, long interval_s);
/* Stops the timer; a run in progress ends after its current batch (its
 * callbacks get ERR_SERVICE_UNAVAILABLE... never: they are dropped).
 * Loop thread; before store_close. */
void retention_free(retention *r);

/* Starts a run now, or joins the one in progress; cb (may be NULL) is
 * called once when it is over, with 0 or the error that stopped it.
 * as_of_us: the moment policies are evaluated at (0 = now; the admin's
 * "what has expired by then", never earlier than now); ignored when
 * joining a run in progress. */
typedef void (*retention_done_cb)(void *ud, int err, const retention_stats *stats);
void retention_run(retention *r, int64_t as_of_us, retention_done_cb cb, void *ud);

/* Days of the policy that governs ch (channel's, else its org's), 0 for
 * none or "keep forever"; from the policies list given. */
int64_t retention_days_for(const channel *ch, const store_retention *p, size_t n);

/* Files: the channel's next batch (at most RETENTION_FILE_BATCH, after
 * the run's cursor, which it moves) of files shared there by a message
 * older than cutoff_us; those that expire everywhere (see the rule in
 * docs/compliance.md: the longest-keeping place wins, holds on any of
 * their channels or on their uploader keep them) get their deletion
 * queued in j. *seen: candidates read (fewer than a batch: the
 * channel's files are done). 0 or the read's error. */
int retention_files_expire(retention *r, store_job *j, const channel *ch, int64_t cutoff_us,
			   size_t *seen);
/* Where file bytes live (DATA/files): blobs no row names any more are
 * removed after each batch commits (on the thread pool with a loop). */
void retention_set_files_dir(retention *r, const char *files_dir);

#endif
