/* Real time for people: sessions over WebSocket, Slack's RTM event
 * stream, presence, typing, read cursors and live mention flags.
 *
 * Sessions: a WebSocket authenticated as one user (a person or a bot) of
 * one org, opened with a single-use ticket from rtm.connect (or, for the
 * browser, the session cookie). The socket first receives {"type":"hello"},
 * then events in Slack's shapes.
 *
 * Delivery (rt_deliver, the bus's deliverer on this node): recipients are
 * found in hot state (channel membership, sessions by user), never by a
 * database query; the event's bytes are framed once and the same frame is
 * queued to each recipient socket (ws_send); mentioned recipients get the
 * mention variant, framed once too.
 *
 * Client messages: {"type":"ping","id":N} -> {"type":"pong","reply_to":N};
 * {"type":"typing","channel":C} (optionally "thread_ts":T) -> user_typing
 * (with the same thread_ts) to the channel's other members; {"type":"presence_sub","ids":[...]} replaces the session's
 * presence subscriptions; {"type":"presence_query","ids":[...]} answers
 * presence_change for each. Anything else: {"type":"error",...} with
 * Slack's shape ({"ok":false,"reply_to":id,"error":{"code":N,"msg":"..."}}),
 * never a crash. */
#ifndef CANAL_RT_RT_H
#define CANAL_RT_RT_H
#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

#include "core/state.h"
#include "net/http.h"
#include "net/ws.h"
#include "rt/bus.h"

typedef struct rt rt;

typedef struct rt_stats {
	uint64_t sessions;          /* open now */
	uint64_t events_published;
	uint64_t deliveries;        /* frames queued to sockets */
} rt_stats;

/* state and ws are borrowed. base_url is used to build ws URLs (http ->
 * ws, https -> wss). The rt creates its bus (in-process for now). */
rt *rt_new(uv_loop_t *loop, core_state *state, ws_ctx *ws, const char *base_url);
/* Call after ws_ctx_shutdown's done (every socket gone); a session still
 * open is detached from its socket (closed 1001) and freed. */
void rt_free(rt *r);
bus *rt_bus(rt *r);
void rt_stats_get(const rt *r, rt_stats *out);

/* rtm.connect: a single-use ticket (30 s) for the token's user; returns
 * the WebSocket URL to give the client (heap string), or NULL for a token
 * without a user (app-level tokens). The token is checked again (revoked,
 * expired, user deleted) when the socket connects. */
char *rt_ticket_url(rt *r, const token *t);
/* GET /rtm?ticket=... (or with the canal_session cookie of a browser
 * session token): upgrade and start a session, or answer 401 with a JSON
 * body (invalid_ticket / not_authed); ws_accept answers 400/426 for a
 * request that is not a WebSocket upgrade. */
void rt_handle_upgrade(rt *r, http_req *req);

/* Closes (1008 "auth revoked") every session of the user, or only those
 * opened with token t: for revoked tokens, deleted or deactivated users.
 * The sessions leave the indexes when their sockets report the close. */
void rt_drop_user_sessions(rt *r, const char *user_id);
void rt_drop_token_sessions(rt *r, const token *t);

/* The bus deliverer for this node (rt_new wires it to its bus). */
void rt_deliver(void *rt_ud, const bus_msg *m);

/* Closes (1008 "auth revoked") every session whose token was revoked or
 * expired, or whose user was deactivated, since it connected. Cheap enough
 * to run after any admin change (O(sessions)). */
void rt_revalidate(rt *r);

/* Presence as Slack defines it: "active" while one of the user's sockets
 * is connected and not idle and the user is not manually away, else
 * "away". Idle (auto away): no client message on any of the user's sockets
 * and no Web API call with the user's own token or session for the idle
 * timeout (rt_set_idle_timeout; Slack: 30 minutes). Bots are "active"
 * while they hold a socket: they never go idle. */
bool rt_user_online(const rt *r, const char *user_id);
int rt_user_connections(const rt *r, const char *user_id);
/* Seconds after which a connected person with no activity is auto away;
 * 0 = never. Default 1800. Starts the sweep timer (rt_new's loop). */
void rt_set_idle_timeout(rt *r, long seconds);
/* A Web API call authenticated as user_id (a person's token or browser
 * session): counts as activity for presence. Cheap (one map lookup) when
 * the user has no socket. */
void rt_user_activity(rt *r, const char *user_id, int64_t now_us);
/* Latest activity of a connected user (µs, wall clock); 0 if no socket. */
int64_t rt_user_last_activity_us(const rt *r, const char *user_id);
/* users.setPresence: away=true sets manual away; false = auto. Emits
 * presence_change to subscribers if the visible presence changed. */
void rt_set_manual_away(rt *r, user *u, bool away);

/* Convenience for callers holding a json_t: serializes once, publishes.
 * mentions (may be NULL) as in bus_msg. */
void rt_publish_json(rt *r, bus_scope scope, const char *org_id, const char *channel_id,
		     const char *user_id, json_t *event, const char *mentions);

#endif
