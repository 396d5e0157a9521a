/* The app platform at run time: what apps receive and how.
 *
 *  - Event subscriptions: apps_deliver is a bus deliverer; for each
 *    published event it finds the org's apps subscribed to it (manifest
 *    bot_events: message.channels/groups/im/mpim, app_mention,
 *    reaction_added/removed, member_joined_channel/left, channel_created,
 *    channel_rename, channel_archive/unarchive, team_join, user_change,
 *    pin_added/removed, ...) that may see it (the bot is a member of the
 *    conversation for message.* events; the needed scope is held), wraps it
 *    in an event_callback envelope (token, team_id, api_app_id, event,
 *    event_id, event_time, authorizations, ...) and queues it for the app.
 *  - Transport per app: Socket Mode (apps.connections.open -> ws URL with a
 *    single-use ticket; envelopes with envelope_id, acks, retries with
 *    retry_attempt/retry_reason, hello, disconnect refresh, up to 10
 *    connections per app, each envelope to one of them; queued while none
 *    is connected) or HTTP (POST to the app's request URL, signed
 *    X-Slack-Signature v0, retries with backoff and X-Slack-Retry-Num /
 *    -Reason, a failing endpoint backed off; never blocks the loop).
 *  - Interactive dispatch (slash commands, block actions, shortcuts, view
 *    submissions): apps_dispatch delivers one payload and reports the
 *    app's acknowledgement (with its response payload) or a timeout
 *    after 3 s, over whichever transport the app uses.
 * Queues are bounded per app; delivery state (last error, backoff, queue
 * depth) is visible to the app's owner through apps_status. */
#ifndef CANAL_RT_APPS_H
#define CANAL_RT_APPS_H
#include <jansson.h>
#include <uv.h>

#include "core/state.h"
#include "net/fetch.h"
#include "net/http.h"
#include "net/ws.h"
#include "rt/bus.h"

typedef struct apps apps;

/* state, ws, fetch and b are borrowed; apps adds itself to b as a
 * deliverer. base_url builds Socket Mode URLs (http -> ws). */
apps *apps_new(uv_loop_t *loop, core_state *state, ws_ctx *ws, fetch_ctx *fetch, bus *b,
	       const char *base_url);
void apps_free(apps *a);

/* apps.connections.open: a single-use ticket URL for the app (heap). */
char *apps_socket_url(apps *a, const app *ap);
/* GET /link/?ticket=...: Socket Mode upgrade, or 401. */
void apps_handle_upgrade(apps *a, http_req *req);

/* The bus deliverer (apps_new registers it). */
void apps_deliver(void *apps_ud, const bus_msg *m);

/* Interactive dispatch. type is "slash_commands" or "interactive".
 * payload (stolen) is the object Slack sends (all-string fields for
 * slash commands). http_url: where an HTTP-mode app gets it (command url
 * or interactivity url); HTTP delivery posts application/x-www-form-
 * urlencoded: the command's fields, or payload=<json> for interactions.
 * cb(ud, 0, response) with the ack's payload (may be NULL or {}), or
 * cb(ud, ERR_*, NULL) on timeout (3 s) / no connection / HTTP failure. */
/* response is borrowed: valid during the call only (json_incref to keep
 * it). cb is never called from inside apps_dispatch. Errors:
 * ERR_OPERATION_TIMEOUT (no ack / answer within 3 s), ERR_DISPATCH_FAILED
 * (no live socket and no URL, refused, non-2xx, shut down). Over HTTP a
 * JSON answer is the parsed object, a non-empty text/plain answer
 * {"text": body}, an empty one NULL. */
typedef void (*apps_ack_cb)(void *ud, int err, json_t *response);
void apps_dispatch(apps *a, const app *ap, const char *type, json_t *payload,
		   const char *http_url, apps_ack_cb cb, void *ud);

/* Delivery state for the app's owner: {"socket_connections":N,
 * "queued":N, "in_flight":N, "delivered":N, "failed":N, "dropped":N,
 * "retried":N, "last_error":"..."|null, "last_error_at":unix s|0,
 * "backoff_until":unix s|0}. New reference. */
json_t *apps_status(apps *a, const app *ap);

/* The registry calls this after an app was created, changed (manifest:
 * bot_events, scopes, URLs) or deleted: the subscription index is rebuilt
 * before the next delivery; a deleted app's sockets are closed. (A new
 * app is noticed without it too: the index also rebuilds when the number
 * of apps changes.) */
void apps_app_changed(apps *a, const app *ap);
/* An app's token was revoked or the app deleted: its Socket Mode
 * connections get {"type":"disconnect","reason":"link_disabled"} and are
 * closed (1008), its unused tickets are dropped, its queued events and
 * pending dispatches are dropped / failed. */
void apps_drop_app(apps *a, const char *app_id);

/* After an administrative change (the admin socket runs it after every
 * committed command): the index is rebuilt, and apps that were deleted or
 * have no live app-level token left lose their sockets (apps_drop_app).
 * O(apps + tokens) when some app has a socket, else O(1). */
void apps_revalidate(apps *a);

/* Socket Mode connection lifetime (default 3600 s): a connection gets
 * {"type":"disconnect","reason":"refresh_requested"} 10 s before its end
 * (half-way for lifetimes under 20 s) and is closed by us 5 s later if
 * the client has not closed it. Applies to connections opened after. */
void apps_set_connection_lifetime(apps *a, int seconds);
/* Events API over HTTP: delays before each retry (default 1 s, 1 min,
 * 5 min: three retries). n <= 8; n = 0: no retries. */
void apps_set_retry_schedule(apps *a, const int *ms, int n);

/* Request URL verification (apps_verify.c): POSTs Slack's signed
 * url_verification challenge to url; cb(ud, 1, NULL) when the endpoint
 * answered 200 with the challenge (plain, JSON or form), else
 * cb(ud, 0, reason) with the reason in Slack's words (borrowed, valid
 * during the call). cb runs later on the loop, never inside. Returns -1
 * (cb never called) when no outbound HTTP is available. */
typedef void (*apps_verify_cb)(void *ud, int ok, const char *why);
int apps_verify_url(apps *a, const char *url, const char *signing_secret, const char *token,
		    apps_verify_cb cb, void *ud);
/* Does an answer body carry challenge? (exposed for unit tests) */
int apps_verify_answer_ok(const char *challenge, const char *body, size_t len);

typedef struct apps_stats {
	uint64_t socket_connections;   /* open now */
	uint64_t socket_accepted;
	uint64_t socket_refused;       /* tickets refused, 11th connection */
	uint64_t events_queued;        /* envelopes built for apps */
	uint64_t events_delivered;     /* acked / answered 2xx */
	uint64_t events_failed;        /* out of retries */
	uint64_t events_dropped;       /* queue bound, app dropped */
	uint64_t retries;              /* envelopes sent again */
	uint64_t http_requests;        /* Events API and dispatch POSTs */
	uint64_t http_failures;        /* non-2xx or transport error */
	uint64_t dispatches;
	uint64_t dispatch_failures;    /* timeouts and failures */
} apps_stats;
void apps_stats_get(apps *a, apps_stats *out);

#endif
