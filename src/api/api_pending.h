/* Short-lived interaction state, kept in memory by the API layer only
 * (api_pending.c): what Slack hands out around an interaction and
 * forgets soon after.
 *
 *   response URLs  id -> {app, channel, user, the message that held the
 *                  component}; 5 uses within 30 minutes (the TTL is the
 *                  response-url-ttl setting, for tests);
 *   trigger ids    "<digits>.<digits>.<hex>" -> {app, user, the view it
 *                  came from}; valid 3 s and once; remembered 10 minutes
 *                  more so a late or second use gets expired_trigger_id /
 *                  exchanged_trigger_id instead of invalid_trigger_id;
 *   views          V ids -> {app, user, the view as views.* answer it,
 *                  stack links (root, previous, above; at most 3 deep),
 *                  external_id unique per app}; modals live 24 hours at
 *                  most, App Home views (one per app and user) until they
 *                  are evicted by the cap;
 *   ephemerals     messages delivered live to one person and never
 *                  stored, remembered 30 minutes so their buttons work and
 *                  a response_url can replace or delete them.
 *
 * Every kind is bounded: entries expire by time (checked on access and
 * swept, oldest first, whenever one is added) and by count (the oldest go
 * past the cap).
 *
 * A restart keeps what a person or app would miss: response URLs (their
 * uses and their 30 minutes), open modals (views.update / push / submit
 * go on working), App Home views (kept until replaced, as Slack does) and
 * ephemeral records (their buttons and response URLs still find them).
 * Each is written through to the store (store_pending.h) as it changes
 * and read back by api_pending_load at start; rows that expired while the
 * server was down are deleted then. Trigger ids stay in memory only:
 * they are valid for 3 s, so one issued before a restart answers
 * invalid_trigger_id after it, as a late one would anyway.
 *
 * Callers that change an entry's fields in place (uses_left, a view's
 * content or stack links) call api_pending_response_save /
 * api_pending_view_save afterwards; adding and dropping save by
 * themselves.
 *
 * Loop thread only. Returned pointers stay valid until the next call
 * that adds or drops an entry of the same kind. */
#ifndef CANAL_API_API_PENDING_H
#define CANAL_API_API_PENDING_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/ids.h"

typedef struct store store;

#define PEND_RESPONSE_USES 5
#define PEND_RESPONSE_TTL_S 1800           /* 30 minutes (default) */
#define PEND_TRIGGER_TTL_US 3000000LL      /* 3 s */
#define PEND_TRIGGER_KEEP_US 600000000LL   /* remembered 10 min after issue */
#define PEND_VIEW_TTL_US 86400000000LL     /* a modal lives a day at most */
#define PEND_EPHEMERAL_TTL_US 1800000000LL /* 30 minutes */
#define PEND_STACK_MAX 3                   /* modal views stacked */
#define PEND_MAX_RESPONSES 100000
#define PEND_MAX_TRIGGERS 100000
#define PEND_MAX_VIEWS 50000
#define PEND_MAX_HOMES 100000
#define PEND_MAX_EPHEMERALS 20000
#define PEND_ID_MAX 72

typedef struct pend_link {
	struct pend_link *prev, *next;
	int64_t expires_us;
} pend_link;

typedef struct pend_response {
	pend_link link;                  /* first */
	char id[PEND_ID_MAX];            /* 32 hex */
	char org_id[ID_MAX];
	char app_id[ID_MAX];
	char user_id[ID_MAX];            /* who interacted: ephemeral answers go to them */
	char channel_id[ID_MAX];         /* "" when there is none (a global shortcut) */
	int64_t message_ts;              /* the message that held the component; 0 = none */
	bool message_ephemeral;
	int uses_left;
} pend_response;

typedef struct pend_trigger {
	pend_link link;
	char id[PEND_ID_MAX];
	char org_id[ID_MAX];
	char app_id[ID_MAX];
	char user_id[ID_MAX];
	char view_id[ID_MAX];            /* the modal it came from, "" if none */
	int64_t valid_until_us;
	bool used;
} pend_trigger;

typedef struct pend_view {
	pend_link link;
	char id[ID_MAX];                 /* V... */
	char org_id[ID_MAX];
	char app_id[ID_MAX];
	char user_id[ID_MAX];
	char root_id[ID_MAX];            /* itself for the bottom of a stack */
	char previous_id[ID_MAX];        /* the view below, "" for the root */
	char above_id[ID_MAX];           /* the view pushed on top, "" if none */
	char *external_id;               /* NULL = none */
	bool home;
	json_t *view;                    /* owned: the view object views.* answer */
} pend_view;

typedef struct pend_ephemeral {
	pend_link link;
	char key[PEND_ID_MAX];           /* "<user>/<ts>" */
	char org_id[ID_MAX];
	char channel_id[ID_MAX];
	char user_id[ID_MAX];            /* the one person who sees it */
	char app_id[ID_MAX];             /* the app that sent it, "" if a person did */
	int64_t ts;
	json_t *message;                 /* owned: the message as the event carried it */
} pend_ephemeral;

/* The response-url-ttl setting (seconds; <= 0 keeps the default). */
void api_pending_set_response_ttl(int64_t seconds);

/* ---- response URLs ---- */
pend_response *api_pending_response_new(int64_t now_us, const char *org_id, const char *app_id,
					 const char *user_id, const char *channel_id,
					 int64_t message_ts, bool message_ephemeral);
/* A live URL with uses left, else NULL (*why: "expired_url" or "used_url"). */
pend_response *api_pending_response_get(const char *id, int64_t now_us, const char **why);

/* ---- trigger ids ---- */
/* A fresh trigger id into out (PEND_ID_MAX). */
void api_pending_trigger_new(char *out, int64_t now_us, const char *org_id, const char *app_id,
			     const char *user_id, const char *view_id);
/* Uses a trigger for app_id: 0 and *out filled (copied), or
 * ERR_INVALID_TRIGGER_ID (malformed, unknown, another app's),
 * ERR_EXPIRED_TRIGGER_ID (older than 3 s), ERR_EXCHANGED_TRIGGER_ID
 * (used before). */
int api_pending_trigger_take(const char *id, const char *app_id, int64_t now_us,
			     pend_trigger *out);

/* ---- views ---- */
/* A new view entry (id assigned, view NULL) of app for user. Home views
 * are found again by api_pending_home_get. */
pend_view *api_pending_view_new(int64_t now_us, const char *org_id, const char *app_id,
				const char *user_id, bool home);
pend_view *api_pending_view_get(const char *id, int64_t now_us);
pend_view *api_pending_view_by_external(const char *app_id, const char *external_id,
					int64_t now_us);
pend_view *api_pending_home_get(const char *app_id, const char *user_id);
/* Sets (or clears, NULL/"") v's external_id: 0 or ERR_DUPLICATE_EXTERNAL_ID. */
int api_pending_view_set_external(pend_view *v, const char *external_id);
/* Forgets v (unlinking it from its stack). */
void api_pending_view_drop(pend_view *v);
/* The stack v belongs to, bottom first, into out[PEND_STACK_MAX]; count. */
int api_pending_stack(pend_view *v, pend_view **out);

/* ---- ephemeral messages ---- */
/* Remembers message (stolen) delivered to user_id at ts. */
void api_pending_ephemeral_put(int64_t now_us, const char *org_id, const char *channel_id,
			       const char *user_id, const char *app_id, int64_t ts, json_t *message);
pend_ephemeral *api_pending_ephemeral_get(const char *user_id, int64_t ts, int64_t now_us);
void api_pending_ephemeral_drop(pend_ephemeral *e);

/* Writes r / v through to the store after a change in place. */
void api_pending_response_save(const pend_response *r);
void api_pending_view_save(const pend_view *v);

/* Names the store (NULL: memory only) and loads the entries stored there
 * that are live at now_us; purges the expired rows. 0 or
 * ERR_INTERNAL_ERROR (what loaded is kept; the server runs on). */
int api_pending_load(store *st, int64_t now_us);

/* Counts of live entries (tests, metrics). */
void api_pending_counts(size_t *responses, size_t *triggers, size_t *views, size_t *ephemerals);

#endif
