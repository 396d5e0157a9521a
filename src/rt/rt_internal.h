/* Private to src/rt/rt*.c and tests/unit/test_rt.c: the structures behind
 * rt.h and the functions the rt files share. See the design note at the top
 * of rt.c for the invariants these structures keep. */
#ifndef CANAL_RT_RT_INTERNAL_H
#define CANAL_RT_RT_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>

#include "rt/rt.h"

#define RT_TICKET_TTL_US (30 * 1000000LL)   /* rtm.connect ticket lifetime */
#define RT_TICKET_BYTES 16                   /* 32 hex characters */
#define RT_TICKET_PURGE_MS 10000             /* timer sweeping expired tickets */
#define RT_CLIENT_MAX_BYTES (16 * 1024)      /* largest client JSON message we parse */
#define RT_PRESENCE_MAX_IDS 500              /* presence_sub / presence_query */
#define RT_RATE_SOFT 50                      /* client messages per second, then errors */
#define RT_RATE_HARD 200                     /* per second, then close 1008 */

typedef struct rt_session rt_session;
typedef struct rt_user rt_user;
typedef struct rt_org rt_org;

/* A pending rtm.connect ticket (key of rt.tickets: its hex secret). */
typedef struct rt_ticket {
	char user_id[ID_MAX];
	char org_id[ID_MAX];
	char token_hash[TOKEN_HASH_HEX];
	int64_t expires_us;                  /* wall clock (clock_now_us) */
} rt_ticket;

/* One presence subscription of a session: the target and where the
 * session sits in the target's subscriber array (O(1) removal). */
typedef struct rt_sub {
	rt_user *target;
	uint32_t pos;                        /* index in target->subscribers */
} rt_sub;

/* One entry of a target's subscriber array: the session and which of its
 * subscriptions points here (so a swap-remove can fix the moved entry). */
typedef struct rt_subscriber {
	rt_session *s;
	uint32_t idx;                        /* index in s->subs */
} rt_subscriber;

struct rt_session {
	uint64_t id;                         /* increasing from 1, never reused */
	rt *r;
	char user_id[ID_MAX];
	char org_id[ID_MAX];
	char token_hash[TOKEN_HASH_HEX];     /* the token that opened it */
	ws_conn *ws;                         /* NULL once the socket closed */
	rt_user *ue;                         /* its user's entry (while indexed) */
	rt_org *org;                         /* its org's entry (while indexed) */
	rt_session *user_prev, *user_next;   /* ue->sessions list */
	rt_session *org_prev, *org_next;     /* org->sessions list */
	rt_sub *subs;                        /* presence subscriptions */
	uint32_t nsubs, subs_cap;
	int64_t connected_us, last_activity_us;
	int64_t rl_window;                   /* second of the current rate window */
	uint32_t rl_count;                   /* client messages in that second */
	uint64_t mark;                       /* generation mark (presence fan-out) */
	bool indexed;                        /* in ue/org lists */
	bool closed;                         /* socket gone, waiting to be reaped */
	rt_session *reap_next;
};

/* Live real-time state of one user: created when the user opens a session
 * or somebody subscribes to their presence, freed when neither is left. */
struct rt_user {
	char id[ID_MAX];
	user *u;                             /* borrowed from core_state; may be NULL */
	rt_session *sessions;                /* all sessions of this user */
	int nsessions;
	rt_subscriber *subscribers;          /* sessions with a presence_sub on us */
	uint32_t nsubscribers, subscribers_cap;
	bool announced_online;               /* presence last told to subscribers */
	bool idle;                           /* no activity for rt.idle_us (auto away) */
	int64_t last_activity_us;            /* latest client message, API call or connect */
	uint64_t mention_gen;                /* == rt.gen: targeted by this delivery */
	uint64_t sub_gen;                    /* == rt.gen: already in this presence_sub */
	uint64_t list_gen;                   /* == rt.gen: already in this recipient list */
};

struct rt_org {
	char id[ID_MAX];
	rt_session *sessions;
	size_t nsessions;
};

struct rt {
	uv_loop_t *loop;
	core_state *state;
	ws_ctx *ws;
	char *ws_base;                       /* "ws://host:port" (no trailing '/') */
	bus *bus;
	map tickets;                         /* hex -> rt_ticket* */
	uv_timer_t *purge_timer;             /* own allocation, freed in its close cb */
	map users;                           /* user id -> rt_user* */
	map orgs;                            /* org id -> rt_org* */
	uint64_t next_session_id;
	uint64_t gen;                        /* generation counter for marks */
	int64_t idle_us;                     /* auto away after this long idle; 0 = never */
	uv_timer_t *idle_timer;              /* sweeps for idle users; own allocation */
	rt_stats stats;
	/* Recipient lists of big channels (rt_deliver.c): channel id ->
	 * rt_recips*, valid while the channel's members_gen and users_gen
	 * are what they were built from. users_gen changes whenever an
	 * rt_user is created or freed (so no list ever holds a freed one)
	 * and whenever a session is indexed or unindexed. */
	map recips;
	uint64_t users_gen;
	/* Delivery scratch, grown to the number of sessions, reused. */
	rt_session **scratch;
	uint8_t *scratch_mentioned;
	size_t scratch_cap;
	/* Re-entrancy guard: while > 0, closes are queued on reap and done
	 * when the outermost operation ends (rt__unbusy). */
	int busy;
	rt_session *reap;
};

/* Visible presence: a connected session, not idle, not manually away. */
static inline bool rt__online(const rt_user *ue)
{
	return ue->nsessions > 0 && !ue->idle && !(ue->u && ue->u->manual_away);
}

/* ---- rt_deliver.c ---- */
/* Frees the recipient lists (rt_free). */
void rt__recips_release(rt *r);

/* ---- rt.c ---- */
/* Enter / leave an operation that walks session lists or sends. */
static inline void rt__busy(rt *r) { r->busy++; }
void rt__unbusy(rt *r);
/* The rt_user entry for id, created if missing (never NULL). */
rt_user *rt__user_get(rt *r, const char *id);
/* Frees ue if it has neither sessions nor subscribers. */
void rt__user_maybe_free(rt *r, rt_user *ue);
/* Starts a session for an authenticated user on an accepted socket: indexes
 * it, sends hello, updates presence. (rt_handle_upgrade after ws_accept.) */
rt_session *rt__session_open(rt *r, const char *user_id, const char *org_id,
			     const char *token_hash, ws_conn *c);
/* Drops every ticket expired at now (µs); the purge timer's work. */
void rt__tickets_purge(rt *r, int64_t now);
/* Publishes through the rt's bus, counting events_published. */
void rt__publish(rt *r, const bus_msg *m);

/* ---- rt_deliver.c ---- */
/* Recipients of m from hot state, into r's scratch arrays: *out gets the
 * sessions, *mentioned (may be NULL) one flag per session: 1 = send the
 * mention variant. Valid until the next call. Pure apart from the marks. */
size_t rt__recipients(rt *r, const bus_msg *m, rt_session ***out, const uint8_t **mentioned);

/* ---- rt_presence.c ---- */
/* Recomputes ue's visible presence and, if it changed since last told,
 * sends presence_change to its subscribers and its own sessions. */
void rt__presence_update(rt *r, rt_user *ue);
/* Replaces s's subscriptions with the same-org users among ids. */
void rt__presence_sub(rt *r, rt_session *s, const char *const *ids, size_t n);
/* Drops every subscription of s. */
void rt__presence_unsub_all(rt *r, rt_session *s);
/* Sends presence_change for user_id to s alone. */
void rt__presence_tell(rt *r, rt_session *s, const char *user_id);
/* ue did something now (client message, API call, connect): no longer
 * idle; presence_change if that makes it active. */
void rt__activity(rt *r, rt_user *ue, int64_t now_us);
/* Marks idle every connected person whose last activity is idle_us old
 * or more (bots never go idle) and tells subscribers. The timer's work. */
void rt__idle_sweep(rt *r, int64_t now_us);
/* Number of sessions subscribed to user_id (tests). */
size_t rt__presence_subscribers(const rt *r, const char *user_id);

/* ---- rt_client.c ---- */
/* One complete text message from the client of s. */
void rt__client_message(rt *r, rt_session *s, const char *msg, size_t len);

#endif
