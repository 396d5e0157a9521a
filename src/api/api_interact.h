/* Interactivity inside the API layer: what slash commands, ephemeral
 * messages, response URLs, block actions, shortcuts and views share.
 *
 *   api_command.c    chat.command (Slack's client method) and the
 *                    built-in commands
 *   api_ephemeral.c  chat.postEphemeral and ephemeral delivery
 *   api_respond.c    message content of responses, posting as an app where
 *                    it was invoked, POST /respond/<id> (response_url)
 *   api_interact.c   blocks.action, shortcuts.run (the person's side of an
 *                    interaction) and dispatching payloads to apps
 *   api_views.c      views.open/push/update/publish (apps) and
 *                    views.submit/close (the person's side)
 *   api_pending.c    the short-lived state behind them (api_pending.h)
 *
 * The person's side (Canal's own methods, named in Slack's style; the
 * browser client and tests call them with a user token):
 *   chat.command   channel, command, text
 *                  -> {"ok":true, "response":{...}?}  (the app's immediate
 *                     response, when it gave one)
 *   blocks.action  channel + message_ts (a message's component) or view_id
 *                  (a modal's / App Home's), action_id, block_id?, value?,
 *                  selected_option(s)? (JSON), selected_user/channel/
 *                  conversation/date/time?, state? (JSON {"values":...})
 *                  -> {"ok":true} once the app acknowledged
 *   shortcuts.run  callback_id, type? (global|message), channel +
 *                  message_ts (message shortcuts), app_id?
 *                  -> {"ok":true} once the app acknowledged
 *   views.submit   view_id, values? (JSON {block_id:{action_id:{type,
 *                  value|selected_option|...}}})
 *                  -> {"ok":true, "response_action":"close"|"errors"|
 *                     "update"|"push"|"clear", "errors"?, "view"?}
 *   views.close    view_id -> {"ok":true}
 *   blocks.suggest channel + message_ts or view_id, action_id, block_id?,
 *                  value (what the person typed) for an external_select /
 *                  multi_external_select: the app gets a block_suggestion
 *                  -> {"ok":true, "options":[...]} or
 *                     {"ok":true, "option_groups":[...]}  (api_suggest.c)
 * and what their sessions receive live (Canal-specific events, to that
 * person only):
 *   {"type":"message","is_ephemeral":true,...}      an ephemeral message
 *     (+"replace_original":true when it replaces the one at the same ts)
 *   {"type":"message","subtype":"message_deleted","is_ephemeral":true,
 *    "channel","deleted_ts"}                        one removed
 *   {"type":"view_opened"|"view_pushed"|"view_updated","view":{...}}
 *   {"type":"view_closed","view_id","is_cleared"}
 *   {"type":"view_published","view":{...}}          an App Home view
 *
 * A waiting method (chat.command, blocks.action, shortcuts.run,
 * views.submit) answers once the app acknowledged (3 s at most): a
 * timeout answers operation_timeout, an app that cannot be reached
 * dispatch_failed. */
#ifndef CANAL_API_API_INTERACT_H
#define CANAL_API_API_INTERACT_H
#include <jansson.h>

#include "api/api.h"
#include "net/http.h"

/* ---- message content (api_respond.c) ---- */
typedef struct api_content {
	char *text;            /* heap, "" when none */
	char *blocks;          /* compact JSON array text, NULL when none */
	char *attachments;
	int64_t thread_ts;     /* 0 = none */
} api_content;

/* The message fields of obj (arguments, or a response body): text,
 * blocks and attachments (arrays, or JSON text as forms carry them),
 * thread_ts. Slack's rules: at most 50 blocks each with a type, at most
 * 100 attachment objects, something to show, text within the limit.
 * 0 or ERR_INVALID_BLOCKS (with Slack's detail), ERR_INVALID_ATTACHMENTS,
 * ERR_TOO_MANY_ATTACHMENTS, ERR_NO_TEXT, ERR_MSG_TOO_LONG,
 * ERR_INVALID_THREAD_TS. */
int api_content_parse(api_ctx *c, json_t *obj, api_content *out);
void api_content_release(api_content *mc);

/* A real message in ch written by a's bot, where the app was invoked
 * (no membership needed, as on Slack): stored, announced. A thread_ts
 * joins that thread. 0 or ERR_IS_ARCHIVED / ERR_THREAD_NOT_FOUND. */
int api_app_post(api_ctx *c, channel *ch, const app *a, const api_content *mc, int64_t *ts_out);

/* Shows an app's response to an interaction of user_id in ch: resp is
 * {"response_type":"ephemeral"(default)|"in_channel","text","blocks",
 * "attachments","thread_ts"} or a JSON string (text). Ephemeral: live to
 * user_id only; in_channel: api_app_post. *shown (may be NULL) gets what
 * was shown (new reference) or NULL when resp showed nothing. */
int api_respond_show(api_ctx *c, const app *a, channel *ch, const char *user_id, json_t *resp,
		     json_t **shown);

/* Runs another method's handler fn on c with args (stolen) in place of
 * c's own arguments (a built-in command runs conversations.invite, a
 * response_url chat.update): same checks, writes and events; its answer
 * fields are dropped, c->out is {"ok":true} again. */
int api_run_with_args(api_ctx *c, api_handler fn, json_t *args);

/* POST /respond/<id>: a response_url (src/cli/respond_route.c). */
void api_respond_http(api_env *env, http_req *req, const char *id);

/* ---- ephemeral messages (api_ephemeral.c) ---- */
/* Delivers a message live to user_id's sessions only, never stored, and
 * remembers it (api_pending) so its components work. Author: a's bot, or
 * the caller when a is NULL. replace_ts: the ts of an earlier ephemeral
 * message this one replaces (0 = a new one). Returns the message's ts. */
int64_t api_ephemeral_send(api_ctx *c, const channel *ch, const char *user_id, const app *a,
			   const api_content *mc, int64_t replace_ts);
/* Removes an ephemeral message from user_id's view (live event). */
void api_ephemeral_delete(api_ctx *c, const char *channel_id, const char *user_id, int64_t ts);

/* ---- dispatching to apps (api_interact.c) ---- */
/* {"id","username","name","team_id"} of u. */
json_t *api_interact_user(const user *u);
/* {"id","domain"} of o. */
json_t *api_interact_team(const org *o);
/* A fresh trigger id for a's interaction by user (from view_id, or NULL). */
void api_interact_trigger(api_ctx *c, const app *a, const char *user_id, const char *view_id,
			  char *out);

/* Called once with the app's acknowledgement (err 0, response borrowed:
 * NULL, {} or the ack's payload) or its failure (err operation_timeout /
 * dispatch_failed). Runs in c (resumed), may change state and emit;
 * returns the call's result. Owns ud. */
typedef int (*api_ack_fn)(api_ctx *c, int err, json_t *response, void *ud);
/* Defers c and delivers payload (stolen) to a over its transport (type
 * "slash_commands" or "interactive"; http_url for HTTP-mode apps); fn
 * finishes the call. Returns 0, or what fn returned when nothing could be
 * sent (no apps runtime). */
int api_interact_dispatch(api_ctx *c, const app *a, const char *type, json_t *payload,
			  const char *http_url, api_ack_fn fn, void *ud);
/* The same without waiting (view_closed): nothing reports back. */
void api_interact_notify(api_ctx *c, const app *a, json_t *payload);

/* The message at ts in ch as the caller sees it: one of the caller's
 * ephemeral messages there, else the stored one (rendered; new reference
 * in *msg). 0 or ERR_MESSAGE_NOT_FOUND. */
int api_interact_message(api_ctx *c, const channel *ch, int64_t ts, json_t **msg,
			 bool *ephemeral);
/* {"id","name"} of ch as interaction payloads carry it. */
json_t *api_interact_channel_ref(const channel *ch);
/* invalid_arguments with msg in response_metadata.messages. */
int api_interact_bad_arg(api_ctx *c, const char *msg);

/* The element with action_id in blocks (and block_id, when given and
 * the block has one): borrowed, with its block's id (or a stable one made
 * from the block's position) in bid[ID_MAX+8]; NULL if none. */
json_t *api_interact_find_element(json_t *blocks, const char *block_id, const char *action_id,
				  char *bid);

#endif
