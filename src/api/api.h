/* The Web API layer: Slack's methods over HTTP.
 *
 * Flow of one call (api_dispatch.c):
 *   1. arguments gathered into one JSON object: query string, then the body
 *      (form-urlencoded values are strings; JSON bodies keep their types);
 *   2. the method is looked up in the method table (api_methods.c), which
 *      says which token kinds may call it and which scope a bot needs;
 *   3. the token (Authorization: Bearer, else the `token` argument) is
 *      authenticated against hot state;
 *   4. the handler runs synchronously on the loop thread: it validates,
 *      changes hot state, adds the same changes to c->job and fills c->out;
 *   5. if the handler queued writes, the answer waits until the store has
 *      committed them (durability before acknowledgement), then the
 *      post-commit hooks run (event fan-out lives there later).
 *
 * Handlers return 0 or ERR_*; on error c->out is discarded and the
 * answer is {"ok":false,"error":name} plus any fields put in c->err_extra.
 * Every API-level error is HTTP 200, as Slack's SDKs require. */
#ifndef CANAL_API_API_H
#define CANAL_API_API_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/message.h"
#include "core/rules.h"
#include "core/state.h"
#include "store/store.h"

typedef struct api_env {
	core_state *state;
	store *store;
	const char *base_url;     /* "http://127.0.0.1:8080", for permalinks and URLs */
	size_t max_msg_chars;     /* msg_too_long threshold */
	struct api_metrics *metrics;
	struct bus *bus;          /* the publish interface; NULL when nothing listens (CLI, tests) */
	struct rt *rt;            /* this node's real-time sessions (presence), or NULL */
	struct apps *apps;        /* the app platform runtime (Socket Mode, Events API), or NULL */
	struct api_ratelimit *ratelimit; /* per token and method (api_ratelimit.h); NULL = none */
	size_t max_channels_per_org;     /* too_many_channels past it; 0 = no limit */
	struct uv_loop_s *loop;   /* for thread-pool work (file uploads); NULL offline */
	const char *files_dir;    /* DATA/files (api_files.h); NULL = file uploads disabled */
	uint64_t max_file_bytes;  /* file_upload_size_restricted / 413 past it */
} api_env;

typedef struct api_ctx api_ctx;
typedef int (*api_handler)(api_ctx *c);
typedef void (*api_commit_hook)(api_ctx *c, void *ud);

/* Which callers a method accepts. */
enum {
	API_USER = 1,   /* xoxp- and browser sessions */
	API_BOT = 2,    /* xoxb- */
	API_APP = 4,    /* xapp- */
	API_NOAUTH = 8, /* no token needed (api.test) */
};

typedef struct api_method {
	const char *name;       /* "chat.postMessage" */
	api_handler fn;
	int callers;            /* API_USER | API_BOT ... */
	const char *scope;      /* scope a bot token needs ("a|b" = any of), NULL = none */
	bool writes;            /* for metrics and read-only fast path */
	int tier;               /* Slack's rate-limit tier: API_TIER_* (api_ratelimit.h) */
} api_method;

struct api_ctx {
	api_env *env;
	const api_method *method;
	json_t *args;           /* all arguments (borrowed by handlers) */
	/* the caller */
	token *tok;
	user *me;               /* acting user (bot user for bot tokens) */
	org *org;
	app *app;               /* bot/app tokens */
	/* the answer */
	json_t *out;            /* {"ok":true,...} being built */
	json_t *err_extra;      /* extra fields for an error answer (needed, provided...) */
	json_t *warnings;       /* array of warning strings or NULL */
	store_job *job;         /* created on first api_job() */
	int64_t now_us;         /* one "now" per request */
	/* post-commit hooks */
	struct api_hook { api_commit_hook fn; void *ud; } hooks[8];
	int nhooks;
	json_t *events;         /* queued by api_emit, published after the commit */
	void *req;              /* http_req, opaque here */
	/* api_render_message: the last thread parent looked up (a page of
	 * replies shares one), valid for this request only. */
	struct { char channel[ID_MAX]; int64_t ts; char user[ID_MAX]; } parent;
};

/* ---- dispatch (api_dispatch.c) ---- */
const api_method *api_method_find(const char *name);
/* Runs a method with prepared args (takes a reference on args) and an
 * optional token string; done(ud, answer) is called once with the JSON
 * answer (owned by the callee: it must json_decref) — possibly later. */
typedef void (*api_answer_cb)(void *ud, json_t *answer, int http_status);
void api_call(api_env *env, const char *method, json_t *args, const char *token_str,
	      api_answer_cb done, void *ud);
/* The same for a caller whose (non-empty) token string the HTTP layer has
 * already hashed (ids_token_hash), so it is not hashed twice. */
void api_call_hashed(api_env *env, const char *method, json_t *args, const char *token_hash,
		     api_answer_cb done, void *ud);
/* The same with the caller given as a token entity, for calls Canal makes
 * on an app's behalf (an incoming webhook posting as its app's bot): the
 * token must still be live and allowed to call the method, but the
 * method's bot scope is not checked, since the caller has authorised the
 * call itself (the webhook is its own grant). */
void api_call_as(api_env *env, const char *method, json_t *args, token *tok,
		 api_answer_cb done, void *ud);

/* Handlers that wait. A handler that must wait for something outside
 * this loop turn (an app's acknowledgement of an interaction) calls
 * api_defer(c) and returns 0; the call then stays open until
 * api_resume(c, err) is called exactly once on the loop thread, and goes
 * on from there as if the handler had just returned err: writes queued on
 * c->job (before or after the wait) commit, events publish, the answer
 * leaves. c, c->args and c->out stay valid while the call waits; hot-state
 * pointers do too (entities are never freed), c->now_us is refreshed. */
void api_defer(api_ctx *c);
void api_resume(api_ctx *c, int err);
/* Runs fn as if it were a method called name (for logs), with tok as the
 * caller: Canal's own work done as someone, such as a response_url
 * posting as its app's bot. The token must be live; no method table
 * entry, scope or rate limit applies. done as for api_call. */
void api_call_fn(api_env *env, const char *name, api_handler fn, json_t *args, token *tok,
		 api_answer_cb done, void *ud);

/* ---- on an app's behalf (api_post_as.c) ---- */
/* The live bot token of app a (not revoked), or NULL. */
token *api_bot_token(core_state *s, const app *a);
/* chat.postMessage into channel_id as a's bot, through the same handler
 * (checks, storage, events) as the Web API; args are the message fields
 * (text, blocks, attachments, thread_ts, ...; "channel" is replaced).
 * done gets the method's answer; without a live bot token it gets
 * {"ok":false,"error":"account_inactive"}. args are not modified. */
void api_post_as_bot(api_env *env, const app *a, const char *channel_id, json_t *args,
		     api_answer_cb done, void *ud);

/* ---- helpers for handlers (api_args.c) ---- */
store_job *api_job(api_ctx *c);
void api_on_commit(api_ctx *c, api_commit_hook fn, void *ud);
void api_warn(api_ctx *c, const char *warning);
/* A required argument is missing: records a response_metadata message
 * and returns ERR_INVALID_ARGUMENTS (Slack's shape). */
int api_missing(api_ctx *c, const char *name);
/* Needs scope (bots only; users pass). ERR_MISSING_SCOPE with needed/provided. */
int api_need_scope(api_ctx *c, const char *scope);
/* The scope of an action on a channel of this kind: verb is "read",
 * "history", "write" (manage) -> channels:read / groups:history / im:write ... */
/* Does the caller hold scope? No error recorded. */
bool api_need_scope_quiet(api_ctx *c, const char *scope);
int api_need_chan_scope(api_ctx *c, const channel *ch, const char *verb);

/* String argument or NULL if absent. Numbers and booleans given in JSON
 * bodies are converted to their text; objects/arrays give NULL and set
 * *bad if bad != NULL. The returned string lives as long as the ctx. */
const char *api_str(api_ctx *c, const char *name);
/* Required string: ERR_INVALID_ARGUMENTS (via api_missing) if absent/empty. */
int api_str_req(api_ctx *c, const char *name, const char **out);
/* Boolean: true,1,"true","1" / false,0,"false","0","" ; absent -> def.
 * Other values -> ERR_INVALID_ARGUMENTS. */
int api_bool(api_ctx *c, const char *name, bool def, bool *out);
/* Integer in [min,max] (clamped to max when above, as Slack does for limit);
 * absent -> def; garbage -> ERR_INVALID_ARGUMENTS. */
int api_int(api_ctx *c, const char *name, long def, long min, long max, long *out);
/* A JSON argument that may arrive as a JSON string (forms) or a native value
 * (JSON bodies). Returns a new reference or NULL if absent; *err set to
 * bad_err if the string does not parse. */
json_t *api_json_arg(api_ctx *c, const char *name, int bad_err, int *err);
/* ts argument; absent -> *out = 0 and 0; bad -> bad_err. */
int api_ts(api_ctx *c, const char *name, int bad_err, int64_t *out);
/* Comma-separated list argument (also accepts a JSON array). Returns the
 * count and a heap array of heap strings in *out (api_list_free). */
size_t api_list(api_ctx *c, const char *name, char ***out);
void api_list_free(char **l, size_t n);

/* Resolves a channel argument (id, or "#name"/"name" for a channel the
 * caller can see, or a user id for chat.postMessage-style DMs when
 * allow_user_dm) that the caller can see; ERR_CHANNEL_NOT_FOUND otherwise
 * (never revealing private channels). */
int api_channel(api_ctx *c, const char *argname, bool allow_user_dm, channel **out);
/* Resolves a user id in the caller's org. ERR_USER_NOT_FOUND. */
int api_user(api_ctx *c, const char *argname, user **out);
/* Cursor pagination over sorted ids: returns the index to start at. */
int api_cursor_start(api_ctx *c, const char *kind, const char **keys, size_t n, size_t *start);
/* Sets response_metadata.next_cursor ("" when done). */
void api_set_next_cursor(api_ctx *c, const char *kind, const char *next_key);

/* ---- rendering (api_render.c): objects in Slack's shapes ---- */
json_t *api_render_user(api_ctx *c, const user *u);
json_t *api_render_profile(api_ctx *c, const user *u);
json_t *api_render_channel(api_ctx *c, const channel *ch);
json_t *api_render_message(api_ctx *c, const message *m);
json_t *api_render_usergroup(api_ctx *c, const usergroup *g, bool include_users);
json_t *api_render_team(api_ctx *c, const org *o);
json_t *api_render_bot(api_ctx *c, const app *a);
json_t *api_ts_json(int64_t ts);           /* "1503435956.000247" */
char *api_permalink(api_ctx *c, const channel *ch, int64_t ts, int64_t thread_ts); /* heap */

/* ---- shared domain actions (api_actions.c) ---- */
/* Posts a system or user message: assigns ts, queues the insert, and
 * queues its real-time "message" event (api_message_event, with the
 * mentions of its text) for after the commit — so callers must NOT emit
 * the message event themselves. The user fields of m must be set;
 * channel_id/org_id/ts are filled in; text etc. stay owned by m (released
 * by the caller). */
int64_t api_post(api_ctx *c, channel *ch, message *m);
/* api_post that also hands back m rendered (api_render_message, new
 * reference) for the caller's answer, sharing the event's rendering. */
int64_t api_post_rendered(api_ctx *c, channel *ch, message *m, json_t **rendered);
/* The DM between the caller and u (u may be the caller: a self-DM),
 * created, queued and announced (im_created) if it does not exist yet. */
channel *api_im_open(api_ctx *c, user *u);
/* Adds a member (queues it) and posts channel_join unless quiet. */
void api_member_join(api_ctx *c, channel *ch, user *u, const user *inviter, bool post);
void api_member_leave(api_ctx *c, channel *ch, user *u, bool post);
/* Posts m (text/blocks/extra set by the caller) into ch as the caller,
 * with chat.postMessage's checks (is_archived, not_in_channel, msg_too_long,
 * thread_not_found), threading and events; m->ts is set (api_chat.c). */
int api_chat_post_built(api_ctx *c, channel *ch, message *m, int64_t thread_ts);
/* The same checks alone, for a method that must know before it writes
 * anything else (0 or the error api_chat_post_built would give). */
int api_chat_check_post(api_ctx *c, const channel *ch, int64_t thread_ts);

/* Real-time events (api_actions.c). The event is published through the
 * bus only after this request's writes are durable, and only if the
 * request succeeded; "event_ts" is added if the event has none.
 * scope: BUS_CHANNEL (ch's members), BUS_USER (id is
 * a user id), BUS_ORG (the caller's org). Steals the reference to event.
 * mentions: NULL, or the comma list described in rt/bus.h. */
void api_emit(api_ctx *c, int scope, const char *id, json_t *event, const char *mentions);
/* A new DM or group DM: im_created / mpim_joined to each participant. */
void api_emit_dm_created(api_ctx *c, const channel *ch);
/* The channel object as u sees it (is_member, last_read and an IM's
 * "user" are relative to the viewer); u NULL: as nobody in particular. */
json_t *api_render_channel_as(api_ctx *c, const channel *ch, user *u);
/* The same message event Slack sends for m in ch (type, channel,
 * channel_type, event_ts and the message fields). New reference. */
json_t *api_message_event(api_ctx *c, const channel *ch, const message *m);
/* The mention targets of a message text as bus_msg.mentions wants them
 * ("U1,here,subteam^S2"), or NULL if it mentions nobody. Heap string. */
char *api_mentions_csv(const char *text);
/* Slack's channel_type of a conversation: channel, group, im, mpim. */
const char *api_channel_type(const channel *ch);

/* ---- the method table (api_methods.c) ---- */
extern const api_method api_methods[];
extern const size_t api_nmethods;

#endif
