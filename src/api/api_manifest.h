/* Slack app manifests (JSON): validating one and applying it to an app.
 * Shared by apps.manifest.* (api_apps.c) and `canal admin app create
 * --manifest FILE` (admin.c), so both accept exactly the same documents.
 *
 * What a manifest sets (slack-api.md §4.4):
 *   display_information.name (required, <= 35 chars), .description
 *                                  -> app name and description
 *   features.bot_user.display_name -> the bot user's real name
 *   features.slash_commands[]      -> the org's command registry
 *   features.shortcuts[], app_home -> kept in the stored manifest
 *   oauth_config.scopes.bot[]      -> the app's scopes and its bot tokens'
 *                                     (absent: the scopes stay as they are;
 *                                     a new app then gets the default set)
 *   settings.event_subscriptions   -> bot_events, event_url
 *   settings.interactivity         -> interactivity, interactivity_url
 *   settings.socket_mode_enabled   -> socket_mode (request URLs are then
 *                                     kept in the manifest but not used)
 * Unknown keys are accepted and kept (newer manifest features). */
#ifndef CANAL_API_API_MANIFEST_H
#define CANAL_API_API_MANIFEST_H
#include <jansson.h>
#include <stdbool.h>

#include "core/state.h"
#include "store/store.h"

#define MANIFEST_NAME_MAX 35        /* display_information.name */
#define MANIFEST_BOT_NAME_MAX 80    /* features.bot_user.display_name */
#define MANIFEST_COMMAND_MAX 32     /* "/command", slash included */
#define MANIFEST_COMMANDS_MAX 50    /* slash commands per app */
#define MANIFEST_SHORTCUTS_MAX 10

/* A manifest argument as received: a JSON object, or a string holding
 * one (forms, and Slack's own clients, send it as text). New reference,
 * or NULL with an error appended to errors. */
json_t *api_manifest_parse(const json_t *arg, json_t *errors);

/* Checks m. Every problem found is appended to errors (a JSON array) as
 * Slack reports them: {"message": "...", "pointer": "/json/pointer"}.
 * With s and org_id, a slash command another app of the org already
 * registered is a problem too (app_id: the app being updated, or NULL for
 * a new one). Returns 0 or ERR_INVALID_MANIFEST. */
int api_manifest_validate(const json_t *m, core_state *s, const char *org_id,
			  const char *app_id, json_t *errors);

/* The bot user's name for a new app: features.bot_user.display_name,
 * else display_information.name (borrowed from m). */
const char *api_manifest_bot_name(const json_t *m);
/* The app's name (display_information.name), borrowed, or NULL. */
const char *api_manifest_app_name(const json_t *m);

/* Applies a manifest that passed api_manifest_validate to a, in hot state,
 * queuing every change in job: the app row, its bot user, its bot tokens'
 * scopes and its slash commands (the app's previous commands are
 * replaced). *scopes_changed (may be NULL) tells whether the bot scopes
 * changed. */
void api_manifest_apply(core_state *s, store_job *job, app *a, const json_t *m,
			bool *scopes_changed);

/* Unregisters every slash command of a (app deletion). */
void api_manifest_drop_commands(core_state *s, store_job *job, const app *a);

/* The app's manifest as apps.manifest.export returns it: the manifest
 * last applied, or one describing the app's configuration for an app
 * created without one. New reference. */
json_t *api_manifest_export(core_state *s, const app *a);

/* ---- the app registry (api_apps.c) ----
 * Apps are installed into their org directly: creating one makes its
 * bot user (real name = name, handle derived from it, unique), its bot
 * token (xoxb-, the app's scopes; scopes NULL or "" = API_APP_DEFAULT_SCOPES)
 * and one app-level token (xapp-, connections:write), whose secrets are
 * returned (heap) and never stored. */
#define API_APP_DEFAULT_SCOPES                                                                 \
	"chat:write,channels:read,channels:history,channels:join,channels:manage,groups:read,"  \
	"groups:history,groups:write,im:read,im:history,im:write,mpim:read,mpim:history,"       \
	"mpim:write,users:read,users:read.email,users.profile:read,reactions:read,"             \
	"reactions:write,pins:read,pins:write,usergroups:read,usergroups:write,team:read,"      \
	"emoji:read"
int api_app_install(core_state *s, store_job *job, const char *org_id, const char *name,
		    const char *scopes, app **out, char **bot_token, char **app_token);
/* Deletes an app: flagged deleted, its bot user deactivated, its tokens
 * revoked, its slash commands unregistered, its webhooks revoked. */
void api_app_uninstall(core_state *s, store_job *job, app *a);

/* Is name a known Slack permission scope / bot event? (for tests) */
bool api_manifest_scope_known(const char *name);
bool api_manifest_event_known(const char *name);

#endif
