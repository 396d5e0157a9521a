/* Private to src/rt/apps*.c and tests/unit/test_apps.c: the structures
 * behind apps.h and the functions the apps files share. The design note
 * (states, lists, invariants) is at the top of apps.c.
 *
 *   apps.c         the apps object, per-app entries, the subscription
 *                  index, the tick (timeouts, retries, refresh), status
 *   apps_events.c  matching bus messages to subscriptions, envelopes,
 *                  the per-app queue
 *   apps_socket.c  Socket Mode: tickets, the upgrade, hello, envelopes,
 *                  acks, refresh, dispatch over a socket
 *   apps_http.c    Events API over HTTP and dispatch over HTTP
 *   apps_pend.c    envelope ids that name their item's slot */
#ifndef CANAL_RT_APPS_INTERNAL_H
#define CANAL_RT_APPS_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>

#include "rt/apps.h"

#define APPS_QUEUE_MAX 10000          /* waiting envelopes per app; past it the oldest go */
#define APPS_MAX_CONNS 10             /* Socket Mode connections per app */
#define APPS_ACK_MS 3000              /* ack / HTTP answer deadline */
#define APPS_SOCKET_RETRIES 3         /* resends of an unacked events_api envelope */
#define APPS_SOCKET_WINDOW 2000       /* unacked events_api envelopes per app */
#define APPS_HTTP_IN_FLIGHT 4         /* concurrent Events API requests per app */
#define APPS_RETRY_MAX 8              /* longest retry schedule */
#define APPS_BACKOFF_AFTER 3          /* consecutive failed deliveries before backing off */
#define APPS_BACKOFF_MIN_MS 60000     /* first whole-app backoff, doubled each time */
#define APPS_BACKOFF_MAX_MS 1800000   /* ... up to 30 minutes */
#define APPS_TICKET_TTL_US (30 * 1000000LL)
#define APPS_TICKET_BYTES 16          /* 32 hex characters */
#define APPS_TICK_MS 100              /* timer for deadlines, retries, refresh */
#define APPS_LIFETIME_S 3600          /* default Socket Mode connection lifetime */
#define APPS_REFRESH_WARN_S 10        /* disconnect sent this long before the end */
#define APPS_CLOSE_GRACE_MS 5000      /* then closed by us after this, if still open */
#define APPS_MAX_ACK_BYTES (64 * 1024)
#define APPS_INDEX_MAX_AGE_MS 1000    /* catches app changes nobody announced */

/* A Socket Mode events_api envelope, as text around its parts:
 *   APPS_ENV_OPEN <envelope id> APPS_ENV_PAYLOAD <event_callback JSON>
 *   APPS_ENV_EVENTS_END <retry_attempt> APPS_ENV_REASON <retry_reason> "}  */
#define APPS_ENV_OPEN "{\"envelope_id\":\""
#define APPS_ENV_PAYLOAD "\",\"payload\":"
#define APPS_ENV_EVENTS_END ",\"type\":\"events_api\",\"accepts_response_payload\":false,\"retry_attempt\":"
#define APPS_ENV_REASON ",\"retry_reason\":\""
/* Between an event's event_id and its inner event. */
#define APPS_EV_EVENT "\",\"event\":"

/* Event subscriptions (manifest bot_events) as bits. */
enum {
	SUB_MSG_CHANNELS = 1u << 0,
	SUB_MSG_GROUPS = 1u << 1,
	SUB_MSG_IM = 1u << 2,
	SUB_MSG_MPIM = 1u << 3,
	SUB_APP_MENTION = 1u << 4,
	SUB_REACTION_ADDED = 1u << 5,
	SUB_REACTION_REMOVED = 1u << 6,
	SUB_MEMBER_JOINED = 1u << 7,
	SUB_MEMBER_LEFT = 1u << 8,
	SUB_CHANNEL_CREATED = 1u << 9,
	SUB_CHANNEL_RENAME = 1u << 10,
	SUB_CHANNEL_ARCHIVE = 1u << 11,
	SUB_CHANNEL_UNARCHIVE = 1u << 12,
	SUB_GROUP_RENAME = 1u << 13,
	SUB_GROUP_ARCHIVE = 1u << 14,
	SUB_GROUP_UNARCHIVE = 1u << 15,
	SUB_PIN_ADDED = 1u << 16,
	SUB_PIN_REMOVED = 1u << 17,
	SUB_TEAM_JOIN = 1u << 18,
	SUB_USER_CHANGE = 1u << 19,
	SUB_FILE_SHARED = 1u << 20,
	SUB_FILE_CREATED = 1u << 21,
	SUB_FILE_DELETED = 1u << 22,
	SUB_FILE_PUBLIC = 1u << 23,
	SUB_FILE_CHANGE = 1u << 24,
};
#define SUB_FILES                                                                             \
	(SUB_FILE_SHARED | SUB_FILE_CREATED | SUB_FILE_DELETED | SUB_FILE_PUBLIC | SUB_FILE_CHANGE)
/* Subscriptions delivered for events about a conversation the bot is in
 * (or, for app_mention, can see). */
#define SUB_CONVERSATION                                                                      \
	(SUB_MSG_CHANNELS | SUB_MSG_GROUPS | SUB_MSG_IM | SUB_MSG_MPIM | SUB_APP_MENTION |       \
	 SUB_REACTION_ADDED | SUB_REACTION_REMOVED | SUB_MEMBER_JOINED | SUB_MEMBER_LEFT |       \
	 SUB_GROUP_RENAME | SUB_GROUP_ARCHIVE | SUB_GROUP_UNARCHIVE | SUB_CHANNEL_RENAME |       \
	 SUB_CHANNEL_ARCHIVE | SUB_CHANNEL_UNARCHIVE | SUB_PIN_ADDED | SUB_PIN_REMOVED | SUB_FILES)
/* Subscriptions delivered for org-wide events. */
#define SUB_ORG                                                                               \
	(SUB_CHANNEL_CREATED | SUB_CHANNEL_RENAME | SUB_CHANNEL_ARCHIVE | SUB_CHANNEL_UNARCHIVE | \
	 SUB_TEAM_JOIN | SUB_USER_CHANGE)

/* Bot scopes that gate events, as bits. */
enum {
	SC_CHANNELS_HISTORY = 1u << 0,
	SC_GROUPS_HISTORY = 1u << 1,
	SC_IM_HISTORY = 1u << 2,
	SC_MPIM_HISTORY = 1u << 3,
	SC_APP_MENTIONS_READ = 1u << 4,
	SC_REACTIONS_READ = 1u << 5,
	SC_CHANNELS_READ = 1u << 6,
	SC_GROUPS_READ = 1u << 7,
	SC_IM_READ = 1u << 8,
	SC_MPIM_READ = 1u << 9,
	SC_PINS_READ = 1u << 10,
	SC_USERS_READ = 1u << 11,
	SC_FILES_READ = 1u << 12,
};

/* "message.channels,app_mention" -> SUB_* bits (unknown names ignored). */
uint32_t apps__parse_subs(const char *csv);
/* "channels:history,..." -> SC_* bits ("*" = all). */
uint32_t apps__parse_scopes(const char *csv);

typedef struct apps_app apps_app;
typedef struct apps_conn apps_conn;
typedef struct apps_item apps_item;

/* An intrusive doubly-linked list of items (an item is on one at a time). */
typedef struct apps_list {
	apps_item *head, *tail;
	size_t n;
} apps_list;

enum { ITEM_EVENT = 0, ITEM_DISPATCH = 1 };
enum { ON_NONE = 0, ON_QUEUE, ON_DELAYED, ON_PENDING, ON_HTTP, ON_DOOMED };

/* One unit of delivery: an Events API envelope (event_callback JSON) or
 * an interactive dispatch. */
struct apps_item {
	int kind;                  /* ITEM_* */
	int on;                    /* ON_*: which list holds it */
	apps_app *owner;           /* NULL once detached (apps_free with HTTP in flight) */
	apps_item *prev, *next;
	char envelope_id[40];      /* Socket Mode envelope id ("" until first sent) */
	struct apps_pendset *pset; /* holds the slot named in envelope_id, or NULL */
	uint32_t pend_slot;
	char event_id[ID_MAX];
	char *body;                /* events: event_callback JSON; dispatch: payload JSON */
	size_t len;
	/* Events hold only references until they
	 * leave: the event_callback JSON is pre + mid + event_id + "\",
	 * \"event\":" + inner + "}", where pre is the app's constant opening
	 * (apps_sub.pre), mid what every app's copy of this event shares before
	 * its event_id, inner the event itself. A Socket Mode frame splices the
	 * three blobs in by writev at each send (apps_socket.c); HTTP builds
	 * the body then (apps__item_body). An item waiting in a queue thus
	 * holds no bytes of its own: a hung app's 10,000 queued events, each
	 * living seconds among the envelopes that live microseconds, cost the
	 * allocator a sixth of the loop's CPU when they were whole frames. */
	ws_blob *pre, *mid, *inner;
	int attempt;               /* deliveries tried before this one (= retry number) */
	const char *reason;        /* static: "" or a retry reason */
	int64_t due_ms;            /* pending: ack deadline; delayed: not before */
	/* dispatch */
	const char *type;          /* "slash_commands" / "interactive" (static) */
	bool accepts_response;
	bool form_payload;         /* HTTP body is payload=<json> (interactions) */
	int fail_err;              /* doomed: the error to report */
	apps_ack_cb cb;
	void *ud;
};

/* A Socket Mode connection of one app. */
struct apps_conn {
	apps *a;
	apps_app *owner;
	ws_conn *ws;               /* NULL once the socket closed */
	uint64_t id;
	int64_t opened_ms;
	int64_t refresh_at_ms;     /* disconnect(refresh_requested) due */
	int64_t close_at_ms;       /* our close due, once refreshing */
	bool refreshing;           /* disconnect sent: no new envelopes */
	bool closing;              /* ws_close called or a send failed */
	bool closed;               /* on_close seen; waiting to be reaped */
	apps_conn *reap_next;
};

/* Run-time state of one app (created on first use, freed by apps_free). */
struct apps_app {
	apps *a;
	char id[ID_MAX];
	char org_id[ID_MAX];
	apps_list queue;           /* waiting, in order */
	apps_list delayed;         /* HTTP retries, by due time */
	size_t npending;           /* events sent on a socket, not acked yet */
	int http_in_flight;
	apps_conn *conns[APPS_MAX_CONNS];
	int nconns;                /* open (not closed) connections */
	unsigned rr;               /* round robin cursor */
	bool ever_connected;
	uint64_t delivered, failed, dropped, retried;
	char last_error[96];
	int64_t last_error_at;     /* unix seconds */
	int consecutive_failures;  /* HTTP deliveries out of retries, no 2xx since */
	int64_t backoff_ms;        /* current whole-app backoff step, 0 = none */
	int64_t backoff_until_ms;  /* loop time */
	int64_t backoff_until_s;   /* wall clock, for apps_status */
	/* The last file event queued ("type file_id event_ts"): one file
	 * event is published once per channel the file is shared in, and an
	 * app that sees several of them gets it once. */
	char last_file_event[96];
};

/* The subscription index: per org, the apps with event subscriptions. */
typedef struct apps_sub {
	const app *ap;             /* borrowed from core_state */
	uint32_t subs;             /* SUB_* */
	uint32_t scopes;           /* SC_* */
	/* The app's constant opening of every event_callback payload, up to
	 * and including the app's part of event_context (the rest of the
	 * envelope differs per event): spliced into every frame by reference. */
	ws_blob *pre;
	apps_app *e;               /* the app's entry, once looked up (lives until apps_free) */
} apps_sub;

typedef struct apps_org {
	apps_sub *v;
	size_t n;
	uint32_t any;              /* union of subs */
} apps_org;
void apps__org_free(apps_org *o);

/* Envelope ids and the items they name (apps_pend.c). An id has the
 * layout of a v4 UUID; its first 8 hex digits are the index of the item's
 * slot here and the rest is random, so an ack finds its item by that
 * index and one compare: no hashing and no table upkeep per envelope (a
 * hash table of pending items cost a tenth of the server's CPU per
 * envelope at 500,000 a second). A slot is held from the id's creation
 * (apps__pend_id) until the item is freed (apps__item_free calls
 * apps__pend_drop), so a retried envelope keeps its id; a freed slot is
 * reused, and a stale id then fails the compare. */
typedef struct apps_pendset {
	apps_item **slots;         /* [0, top): an item, or NULL when free */
	uint32_t *free;            /* stack of free slots below top */
	uint32_t top, cap, nfree;
	uint32_t n;                /* slots held */
} apps_pendset;
/* Gives it a slot of s and an envelope id naming it (r1, r2: random). */
void apps__pend_id(apps_pendset *s, apps_item *it, uint64_t r1, uint64_t r2);
/* The item whose envelope id is id, or NULL (whatever list it is on). */
apps_item *apps__pend_get(const apps_pendset *s, const char *id);
/* Frees its slot, if it holds one. */
void apps__pend_drop(apps_item *it);
/* Frees the table; items still holding slots are detached first. */
void apps__pend_release(apps_pendset *s);
typedef struct apps_ticket {
	char app_id[ID_MAX];
	int64_t expires_us;        /* wall clock */
} apps_ticket;

struct apps {
	uv_loop_t *loop;
	core_state *state;
	ws_ctx *ws;
	fetch_ctx *fetch;
	bus *bus;
	char *ws_base;             /* "ws://host:port" */
	map entries;               /* app id -> apps_app* */
	map tickets;               /* hex -> apps_ticket* */
	apps_pendset pend_by_id;   /* envelope id -> apps_item* (any with an id) */
	apps_list pending;         /* socket envelopes awaiting an ack, by deadline */
	apps_list http;            /* HTTP requests in flight */
	apps_list doomed;          /* dispatches to fail on the next tick */
	/* index */
	map orgs;                  /* org id -> apps_org* */
	bool idx_dirty;
	size_t idx_napps;          /* state->apps.count when built */
	int64_t idx_built_ms;      /* rebuilt at least every APPS_INDEX_MAX_AGE_MS */
	/* settings */
	int lifetime_s;
	int retry_ms[APPS_RETRY_MAX];
	int nretry;
	/* timers: own allocations, freed in their close callbacks */
	uv_timer_t *tick;
	uv_timer_t *purge;
	int64_t fake_now_ms;       /* tests: loop time override, 0 = real */
	bool fetch_gone;           /* fetch reported "shutdown" */
	uint64_t next_conn_id;
	uint64_t rng;              /* splitmix64 state for envelope and event ids */
	int busy;
	apps_conn *reap;
	apps_stats stats;
};

/* ---- apps.c ---- */
int64_t apps__now(apps *a);
/* The entry of an app id, created if missing. */
apps_app *apps__entry(apps *a, const char *app_id, const char *org_id);
void apps__list_push(apps_list *l, apps_item *it, int on);
void apps__list_push_front(apps_list *l, apps_item *it, int on);
void apps__list_insert_due(apps_list *l, apps_item *it, int on);
void apps__list_remove(apps_list *l, apps_item *it);
apps_item *apps__item_new(int kind);
void apps__item_free(apps_item *it);
/* An event's event_callback JSON (built once from its pieces if need be). */
const char *apps__item_body(apps_item *it, size_t *len);
/* Moves what can leave now: socket first, else HTTP. */
void apps__pump(apps *a, apps_app *e);
/* Makes sure the tick runs (soon when immediate). */
void apps__kick(apps *a, bool immediate);
/* One tick at loop time now: deadlines, retries, refresh, pumps. */
void apps__tick(apps *a, int64_t now);
/* An app delivery error for apps_status. */
void apps__set_error(apps_app *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fails a dispatch from the next tick (never inside apps_dispatch). */
void apps__doom(apps *a, apps_item *it, int err);
/* JSON string literal of s (quotes included) appended to b. */
struct buf;
void apps__json_str(struct buf *b, const char *s);
/* The same without the quotes: s escaped, for a piece of a longer string. */
void apps__json_chars(struct buf *b, const char *s);
/* Ids: a fast generator seeded once from libsodium (one getrandom per id
 * was most of a delivery's cost). Unique, not secret: an ack is only
 * accepted from the app the envelope went to. */
uint64_t apps__rand(apps *a);
/* it's envelope id: a slot of a->pend_by_id and an id naming it. */
void apps__envelope_id(apps *a, apps_item *it);
/* "Ev" + 10 characters of [0-9A-Z] into out[ID_MAX]. */
void apps__event_id(apps *a, char *out);
static inline void apps__busy(apps *a) { a->busy++; }
void apps__unbusy(apps *a);

/* ---- apps_events.c ---- */
/* Rebuilds the subscription index if apps changed. */
void apps__index_refresh(apps *a);
/* Which of s's subscriptions an event matches: returns SUB_* bits of the
 * plain event (0 = not delivered) and sets *mention when an app_mention
 * is due too. ch: the conversation of a channel-scoped message, or NULL. */
uint32_t apps__match(const apps_sub *s, const bus_msg *m, const channel *ch, json_t *ev,
		     const char *type, bool *mention);
/* Queues an envelope (taking body) for e, dropping the oldest past the bound. */
/* Queues it (an ITEM_EVENT with its body) for e, dropping the oldest
 * past APPS_QUEUE_MAX. */
void apps__enqueue(apps *a, apps_app *e, apps_item *it, const char *event_id);
/* The app_mention inner event for a message event (new reference). */
json_t *apps__mention_event(json_t *msg);

/* ---- apps_socket.c ---- */
/* A live connection for the next envelope (round robin), or NULL. */
apps_conn *apps__conn_pick(apps_app *e);
int apps__live_conns(const apps_app *e);
/* Sends queued events to e's sockets while the window allows. */
void apps__pump_socket(apps *a, apps_app *e);
/* Refresh schedule of e's connections at now. */
void apps__conns_tick(apps *a, apps_app *e, int64_t now);
/* An ack (or anything else) from an app's socket. */
void apps__socket_message(apps *a, apps_conn *c, const char *msg, size_t len);
/* Dispatch over a socket: 0, or -1 when no connection took it. */
int apps__dispatch_socket(apps *a, apps_app *e, apps_item *it);
/* The socket went away (on_close). */
void apps__conn_closed(apps *a, apps_conn *c);
/* Frees a closed connection (reaped outside every walk). */
void apps__conn_destroy(apps *a, apps_conn *c);
/* Disconnect message and close for every connection of e. */
void apps__conns_close(apps *a, apps_app *e, const char *reason, int code);
void apps__tickets_purge(apps *a, int64_t now_us);

/* ---- apps_http.c ---- */
/* Sends e's waiting events to its request URL (bounded concurrency,
 * retries, backoff). */
void apps__pump_http(apps *a, apps_app *e, const app *ap);
/* Dispatch over HTTP: posts it->body as a form. */
void apps__dispatch_http(apps *a, const app *ap, apps_item *it, const char *url);
/* Form body of a dispatch: the fields of a slash command, or
 * payload=<json> (heap). */
char *apps__form_body(json_t *payload, bool form_payload, size_t *len);
/* The response object of an app's answer (JSON, text, or NULL). */
json_t *apps__response_parse(const char *content_type, const char *body, size_t len);

#endif
