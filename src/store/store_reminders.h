/* Reminders (reminders.*, /remind): stored rows, read on the loop thread
 * from the read connection (committed data), written inside store jobs.
 * Schema: migration slot 6 (SLOT-APPS). */
#ifndef CANAL_STORE_STORE_REMINDERS_H
#define CANAL_STORE_STORE_REMINDERS_H
#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

typedef struct store store;
typedef struct store_job store_job;

typedef struct reminder {
	char id[ID_MAX];          /* "Rm..." */
	char org_id[ID_MAX];
	char creator[ID_MAX];
	char user_id[ID_MAX];
	char *text;
	int64_t time;             /* next (or only) time it fires, Unix s */
	char *recurrence;         /* "" = once; see core/remind.h */
	int fired;                /* a one-off reminder that has fired */
	int64_t complete_ts;      /* 0 = not complete */
	int64_t created;
} reminder;

void reminder_release(reminder *r);
void reminder_list_free(reminder *v, size_t n);

/* Writes (queued in job). */
void store_reminder_put(store_job *job, const reminder *r);        /* insert or replace */
/* Fails the job with ERR_NOT_FOUND when there is no such row. */
void store_reminder_del(store_job *job, const char *id);

/* Reads. 0 or ERR_NOT_FOUND / ERR_INTERNAL_ERROR. */
int store_reminder_get(store *st, const char *id, reminder *out);
/* A user's reminders, by time then id (heap array in *out). */
int store_reminders_of(store *st, const char *user_id, reminder **out, size_t *n);
/* Reminders due at now (not fired, not complete, time <= now), oldest
 * first, at most max. */
int store_reminders_due(store *st, int64_t now, size_t max, reminder **out, size_t *n);

#endif
