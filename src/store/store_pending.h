/* Interaction state that outlives a restart (api_pending.c keeps it in
 * memory and writes it through here): response URLs within their life,
 * open modals and published App Home views, ephemeral message records.
 * Trigger ids (valid 3 s) are not stored. Rows are written inside store
 * jobs and read once at start from the read connection.
 * Schema: migration slot 6 (SLOT-APPS). */
#ifndef CANAL_STORE_STORE_PENDING_H
#define CANAL_STORE_STORE_PENDING_H
#include <stdbool.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_job store_job;

/* Strings are borrowed: a put copies them into the job, a reader's
 * callback gets them valid for the call only. */
typedef struct store_pend_response {
	const char *id, *org_id, *app_id, *user_id, *channel_id;
	int64_t message_ts;
	bool message_ephemeral;
	int uses_left;
	int64_t expires_us;
} store_pend_response;

typedef struct store_pend_view {
	const char *id, *org_id, *app_id, *user_id, *root_id, *previous_id, *above_id;
	const char *external_id;   /* NULL = none */
	bool home;
	const char *view;          /* the view object, JSON text */
	int64_t expires_us;        /* INT64_MAX for App Home views */
} store_pend_view;

typedef struct store_pend_ephemeral {
	const char *key, *org_id, *channel_id, *user_id, *app_id;
	int64_t ts;
	const char *message;       /* JSON text */
	int64_t expires_us;
} store_pend_ephemeral;

/* Writes (queued in job): insert or replace, delete (no error when gone). */
void store_pend_response_put(store_job *job, const store_pend_response *r);
void store_pend_response_del(store_job *job, const char *id);
void store_pend_view_put(store_job *job, const store_pend_view *v);
void store_pend_view_del(store_job *job, const char *id);
void store_pend_ephemeral_put(store_job *job, const store_pend_ephemeral *e);
void store_pend_ephemeral_del(store_job *job, const char *key);
/* Deletes every row expired at now_us (all three kinds). */
void store_pend_purge(store_job *job, int64_t now_us);

/* Reads: the rows still live at now_us, in expiry order (then order of
 * last write), each handed to cb. 0 or ERR_INTERNAL_ERROR. */
int store_pend_responses(store *st, int64_t now_us,
			 void (*cb)(void *ud, const store_pend_response *r), void *ud);
int store_pend_views(store *st, int64_t now_us, void (*cb)(void *ud, const store_pend_view *v),
		     void *ud);
int store_pend_ephemerals(store *st, int64_t now_us,
			  void (*cb)(void *ud, const store_pend_ephemeral *e), void *ud);

#endif
