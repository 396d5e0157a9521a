/* Slack app manifests: validation (with Slack's {"message","pointer"}
 * error list) and application to an app. See api_manifest.h. */
#include "api/api_manifest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "core/rules.h"

/* Slack's permission scopes (bot and user), as the manifest names them. */
static const char *const known_scopes[] = {
	"admin", "app_mentions:read", "assistant:write", "bookmarks:read", "bookmarks:write",
	"bots:read", "calls:read", "calls:write", "canvases:read", "canvases:write",
	"channels:history", "channels:join", "channels:manage", "channels:read",
	"channels:write", "channels:write.invites", "channels:write.topic", "chat:write",
	"chat:write.customize", "chat:write.public", "chat:write:bot", "chat:write:user", "client",
	"commands", "connections:write", "conversations.connect:manage",
	"conversations.connect:read", "conversations.connect:write", "datastore:read",
	"datastore:write", "dnd:read", "dnd:write", "email", "emoji:read", "files:read",
	"files:write", "groups:history", "groups:read", "groups:write", "groups:write.invites",
	"groups:write.topic", "identify", "identity.avatar", "identity.basic", "identity.email",
	"identity.team", "im:history", "im:read", "im:write", "im:write.topic", "incoming-webhook",
	"links.embed:write", "links:read", "links:write", "metadata.message:read", "mpim:history",
	"mpim:read", "mpim:write", "mpim:write.topic", "openid", "pins:read", "pins:write",
	"profile", "reactions:read", "reactions:write", "reminders:read", "reminders:write",
	"remote_files:read", "remote_files:share", "remote_files:write", "search:read",
	"search:read.public", "stars:read", "stars:write", "team.billing:read",
	"team.preferences:read", "team:read", "triggers:read", "triggers:write",
	"usergroups:read", "usergroups:write", "users.profile:read", "users.profile:write",
	"users:read", "users:read.email", "users:write", "workflow.steps:execute", NULL,
};

/* Slack's Events API event types an app may subscribe to. */
static const char *const known_events[] = {
	"app_home_opened", "app_mention", "app_rate_limited", "app_requested",
	"app_uninstalled", "assistant_thread_context_changed", "assistant_thread_started",
	"call_rejected", "channel_archive", "channel_created", "channel_deleted",
	"channel_history_changed", "channel_id_changed", "channel_left", "channel_rename",
	"channel_shared", "channel_unarchive", "channel_unshared", "dnd_updated",
	"dnd_updated_user", "email_domain_changed", "emoji_changed", "file_change",
	"file_comment_deleted", "file_created", "file_deleted", "file_public", "file_shared",
	"file_unshared", "function_executed", "grid_migration_finished",
	"grid_migration_started", "group_archive", "group_close", "group_deleted",
	"group_history_changed", "group_left", "group_open", "group_rename", "group_unarchive",
	"im_close", "im_created", "im_history_changed", "im_open", "invite_requested",
	"link_shared", "member_joined_channel", "member_left_channel", "message.app_home",
	"message.channels", "message.groups", "message.im", "message.mpim",
	"message_metadata_deleted", "message_metadata_posted", "message_metadata_updated",
	"pin_added", "pin_removed", "reaction_added", "reaction_removed",
	"shared_channel_invite_accepted", "shared_channel_invite_approved",
	"shared_channel_invite_declined", "shared_channel_invite_received", "star_added",
	"star_removed", "subteam_created", "subteam_members_changed", "subteam_self_added",
	"subteam_self_removed", "subteam_updated", "team_access_granted",
	"team_access_revoked", "team_domain_change", "team_join", "team_rename",
	"tokens_revoked", "user_change", "user_huddle_changed", "user_profile_changed",
	"user_status_changed", "workflow_step_execute", NULL,
};

static bool in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

bool api_manifest_scope_known(const char *name)
{
	return name && in_list(known_scopes, name);
}

bool api_manifest_event_known(const char *name)
{
	return name && in_list(known_events, name);
}

/* ---- validation ---- */

typedef struct vctx {
	json_t *errors;
	int n;
} vctx;

static void problem(vctx *v, const char *pointer, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	json_array_append_new(v->errors, json_pack("{s:s,s:s}", "message", msg ? msg : "invalid",
						   "pointer", pointer));
	free(msg);
	v->n++;
}

/* Child pointer "<base>/<key>" into a stack buffer. */
#define PTR(buf, base, key) (snprintf((buf), sizeof(buf), "%s/%s", (base), (key)), (buf))

/* An optional member of obj that must be an object; NULL if absent or
 * wrong (reported). */
static json_t *opt_object(vctx *v, json_t *obj, const char *base, const char *key)
{
	json_t *x = json_object_get(obj, key);
	if (!x || json_is_null(x))
		return NULL;
	if (!json_is_object(x)) {
		char p[256];
		problem(v, PTR(p, base, key), "must be an object");
		return NULL;
	}
	return x;
}

static json_t *opt_array(vctx *v, json_t *obj, const char *base, const char *key)
{
	json_t *x = json_object_get(obj, key);
	if (!x || json_is_null(x))
		return NULL;
	if (!json_is_array(x)) {
		char p[256];
		problem(v, PTR(p, base, key), "must be an array");
		return NULL;
	}
	return x;
}

/* An optional string member of at most max characters (0: no limit);
 * required: absent or empty is a problem. Returns the string or NULL. */
static const char *check_str(vctx *v, json_t *obj, const char *base, const char *key,
			     size_t max, bool required)
{
	char p[256];
	json_t *x = json_object_get(obj, key);
	if (!x || json_is_null(x)) {
		if (required)
			problem(v, PTR(p, base, key), "%s is required", key);
		return NULL;
	}
	if (!json_is_string(x)) {
		problem(v, PTR(p, base, key), "must be a string");
		return NULL;
	}
	const char *s = json_string_value(x);
	if (required && !*s) {
		problem(v, PTR(p, base, key), "%s must not be empty", key);
		return NULL;
	}
	if (max && rules_utf8_len(s) > max) {
		problem(v, PTR(p, base, key), "must be at most %zu characters", max);
		return NULL;
	}
	return s;
}

static void check_bool(vctx *v, json_t *obj, const char *base, const char *key)
{
	json_t *x = json_object_get(obj, key);
	if (x && !json_is_null(x) && !json_is_boolean(x)) {
		char p[256];
		problem(v, PTR(p, base, key), "must be a boolean");
	}
}

/* http:// or https:// followed by a host, no whitespace. */
static bool url_ok(const char *u)
{
	const char *rest = NULL;
	if (!strncmp(u, "https://", 8))
		rest = u + 8;
	else if (!strncmp(u, "http://", 7))
		rest = u + 7;
	if (!rest || !*rest || *rest == '/' || strlen(u) > 2048)
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ')
			return false;
	return true;
}

static const char *check_url(vctx *v, json_t *obj, const char *base, const char *key)
{
	const char *u = check_str(v, obj, base, key, 0, false);
	if (u && *u && !url_ok(u)) {
		char p[256];
		problem(v, PTR(p, base, key), "must be a valid http or https URL");
		return NULL;
	}
	return u && *u ? u : NULL;
}

/* Absent, null or "": not given. */
static bool blank(const json_t *obj, const char *key)
{
	json_t *x = json_object_get(obj, key);
	return !x || json_is_null(x) || (json_is_string(x) && !*json_string_value(x));
}

static bool is_true(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static bool command_name_ok(const char *c)
{
	size_t n = strlen(c);
	if (n < 2 || n > MANIFEST_COMMAND_MAX || c[0] != '/')
		return false;
	for (const char *p = c + 1; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || (ch >= 'A' && ch <= 'Z') || ch == '/')
			return false;
	}
	return true;
}

static void check_commands(vctx *v, json_t *cmds, bool socket, core_state *s, const char *org_id,
			   const char *app_id)
{
	if (json_array_size(cmds) > MANIFEST_COMMANDS_MAX)
		problem(v, "/features/slash_commands", "no more than %d slash commands allowed",
			MANIFEST_COMMANDS_MAX);
	size_t i;
	json_t *c;
	json_array_foreach(cmds, i, c) {
		char base[96], p[256];
		snprintf(base, sizeof base, "/features/slash_commands/%zu", i);
		if (!json_is_object(c)) {
			problem(v, base, "must be an object");
			continue;
		}
		const char *name = check_str(v, c, base, "command", 0, true);
		if (name && !command_name_ok(name))
			problem(v, PTR(p, base, "command"),
				"must start with '/' and be at most %d lowercase characters without spaces",
				MANIFEST_COMMAND_MAX);
		else if (name) {
			for (size_t k = 0; k < i; k++) {
				const char *other = json_string_value(
					json_object_get(json_array_get(cmds, k), "command"));
				if (other && strcmp(other, name) == 0) {
					problem(v, PTR(p, base, "command"), "duplicate command %s", name);
					break;
				}
			}
			app_command *have = s && org_id ? core_command_get(s, org_id, name) : NULL;
			if (have && (!app_id || strcmp(have->app_id, app_id) != 0))
				problem(v, PTR(p, base, "command"),
					"command %s is already used by another app in this workspace", name);
		}
		check_url(v, c, base, "url");
		if (!socket && blank(c, "url"))
			problem(v, PTR(p, base, "url"), "url is required when Socket Mode is disabled");
		check_str(v, c, base, "description", 2000, true);
		check_str(v, c, base, "usage_hint", 1000, false);
		check_bool(v, c, base, "should_escape");
	}
}

static void check_shortcuts(vctx *v, json_t *list)
{
	if (json_array_size(list) > MANIFEST_SHORTCUTS_MAX)
		problem(v, "/features/shortcuts", "no more than %d shortcuts allowed",
			MANIFEST_SHORTCUTS_MAX);
	size_t i;
	json_t *sc;
	json_array_foreach(list, i, sc) {
		char base[96], p[256];
		snprintf(base, sizeof base, "/features/shortcuts/%zu", i);
		if (!json_is_object(sc)) {
			problem(v, base, "must be an object");
			continue;
		}
		check_str(v, sc, base, "name", 24, true);
		const char *type = check_str(v, sc, base, "type", 0, true);
		if (type && strcmp(type, "global") != 0 && strcmp(type, "message") != 0)
			problem(v, PTR(p, base, "type"), "must be \"global\" or \"message\"");
		const char *cb = check_str(v, sc, base, "callback_id", 255, true);
		if (cb)
			for (size_t k = 0; k < i; k++) {
				const char *other = json_string_value(
					json_object_get(json_array_get(list, k), "callback_id"));
				if (other && strcmp(other, cb) == 0) {
					problem(v, PTR(p, base, "callback_id"), "duplicate callback_id %s", cb);
					break;
				}
			}
		check_str(v, sc, base, "description", 150, true);
	}
}

static void check_names(vctx *v, json_t *list, const char *base, bool events)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		char p[256];
		snprintf(p, sizeof p, "%s/%zu", base, i);
		const char *name = json_string_value(x);
		if (!name)
			problem(v, p, "must be a string");
		else if (events ? !api_manifest_event_known(name) : !api_manifest_scope_known(name))
			problem(v, p, "unknown %s %s", events ? "event" : "scope", name);
	}
}

int api_manifest_validate(const json_t *cm, core_state *s, const char *org_id,
			  const char *app_id, json_t *errors)
{
	vctx v = {errors, 0};
	json_t *m = (json_t *)cm;
	if (!json_is_object(m)) {
		problem(&v, "/", "the manifest must be a JSON object");
		return ERR_INVALID_MANIFEST;
	}
	json_t *settings = opt_object(&v, m, "", "settings");
	check_bool(&v, settings, "/settings", "socket_mode_enabled");
	check_bool(&v, settings, "/settings", "org_deploy_enabled");
	check_bool(&v, settings, "/settings", "token_rotation_enabled");
	bool socket = is_true(settings, "socket_mode_enabled");

	/* display_information */
	json_t *di = json_object_get(m, "display_information");
	if (!di)
		problem(&v, "/display_information", "display_information is required");
	else if (!json_is_object(di))
		problem(&v, "/display_information", "must be an object");
	else {
		check_str(&v, di, "/display_information", "name", MANIFEST_NAME_MAX, true);
		check_str(&v, di, "/display_information", "description", 140, false);
		check_str(&v, di, "/display_information", "long_description", 4000, false);
		const char *bg = check_str(&v, di, "/display_information", "background_color", 0, false);
		if (bg && (bg[0] != '#' || (strlen(bg) != 7 && strlen(bg) != 4) ||
			   strspn(bg + 1, "0123456789abcdefABCDEF") != strlen(bg) - 1))
			problem(&v, "/display_information/background_color",
				"must be a hex color such as #2c2d30");
	}

	/* features */
	json_t *features = opt_object(&v, m, "", "features");
	json_t *bot = opt_object(&v, features, "/features", "bot_user");
	if (bot) {
		check_str(&v, bot, "/features/bot_user", "display_name", MANIFEST_BOT_NAME_MAX, true);
		check_bool(&v, bot, "/features/bot_user", "always_online");
	}
	json_t *cmds = opt_array(&v, features, "/features", "slash_commands");
	if (cmds)
		check_commands(&v, cmds, socket, s, org_id, app_id);
	json_t *shortcuts = opt_array(&v, features, "/features", "shortcuts");
	if (shortcuts)
		check_shortcuts(&v, shortcuts);
	json_t *home = opt_object(&v, features, "/features", "app_home");
	if (home) {
		check_bool(&v, home, "/features/app_home", "home_tab_enabled");
		check_bool(&v, home, "/features/app_home", "messages_tab_enabled");
		check_bool(&v, home, "/features/app_home", "messages_tab_read_only_enabled");
	}

	/* oauth_config */
	json_t *oauth = opt_object(&v, m, "", "oauth_config");
	json_t *scopes = opt_object(&v, oauth, "/oauth_config", "scopes");
	json_t *bs = opt_array(&v, scopes, "/oauth_config/scopes", "bot");
	if (bs)
		check_names(&v, bs, "/oauth_config/scopes/bot", false);
	json_t *us = opt_array(&v, scopes, "/oauth_config/scopes", "user");
	if (us)
		check_names(&v, us, "/oauth_config/scopes/user", false);
	json_t *redirects = opt_array(&v, oauth, "/oauth_config", "redirect_urls");
	if (redirects) {
		size_t i;
		json_t *x;
		json_array_foreach(redirects, i, x) {
			if (!json_is_string(x) || !url_ok(json_string_value(x))) {
				char p[96];
				snprintf(p, sizeof p, "/oauth_config/redirect_urls/%zu", i);
				problem(&v, p, "must be a valid http or https URL");
			}
		}
	}

	/* settings */
	json_t *ev = opt_object(&v, settings, "/settings", "event_subscriptions");
	if (ev) {
		check_url(&v, ev, "/settings/event_subscriptions", "request_url");
		json_t *be = opt_array(&v, ev, "/settings/event_subscriptions", "bot_events");
		if (be)
			check_names(&v, be, "/settings/event_subscriptions/bot_events", true);
		json_t *ue = opt_array(&v, ev, "/settings/event_subscriptions", "user_events");
		if (ue)
			check_names(&v, ue, "/settings/event_subscriptions/user_events", true);
		if (!socket && blank(ev, "request_url") && (json_array_size(be) || json_array_size(ue)))
			problem(&v, "/settings/event_subscriptions",
				"Event Subscription requires either Request URL or Socket Mode Enabled");
	}
	json_t *inter = opt_object(&v, settings, "/settings", "interactivity");
	if (inter) {
		check_bool(&v, inter, "/settings/interactivity", "is_enabled");
		check_url(&v, inter, "/settings/interactivity", "request_url");
		check_url(&v, inter, "/settings/interactivity", "message_menu_options_url");
		if (is_true(inter, "is_enabled") && !socket && blank(inter, "request_url"))
			problem(&v, "/settings/interactivity", "Interactivity requires a Request URL");
	}
	return v.n ? ERR_INVALID_MANIFEST : 0;
}

json_t *api_manifest_parse(const json_t *arg, json_t *errors)
{
	if (json_is_object(arg))
		return json_incref((json_t *)arg);
	if (json_is_string(arg)) {
		json_error_t je;
		json_t *m = json_loads(json_string_value(arg), JSON_REJECT_DUPLICATES, &je);
		if (m && json_is_object(m))
			return m;
		json_decref(m);
		char msg[256];
		if (m)
			snprintf(msg, sizeof msg, "the manifest must be a JSON object");
		else
			snprintf(msg, sizeof msg, "invalid JSON: %s (line %d, column %d)", je.text,
				 je.line, je.column);
		json_array_append_new(errors, json_pack("{s:s,s:s}", "message", msg, "pointer", "/"));
		return NULL;
	}
	json_array_append_new(errors, json_pack("{s:s,s:s}", "message",
						"the manifest must be a JSON object", "pointer", "/"));
	return NULL;
}

/* ---- application ---- */

static json_t *path2(const json_t *m, const char *a, const char *b)
{
	return json_object_get(json_object_get(m, a), b);
}

const char *api_manifest_app_name(const json_t *m)
{
	return json_string_value(path2(m, "display_information", "name"));
}

const char *api_manifest_bot_name(const json_t *m)
{
	const char *d = json_string_value(
		json_object_get(path2(m, "features", "bot_user"), "display_name"));
	return d && *d ? d : api_manifest_app_name(m);
}

/* Comma list of the strings in arr (NULL when arr is empty or absent). */
static char *join(const json_t *arr)
{
	buf b = BUF_INIT;
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) {
		const char *s = json_string_value(x);
		if (!s || !*s)
			continue;
		if (b.len)
			buf_addc(&b, ',');
		buf_adds(&b, s);
	}
	if (!b.len) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void set_str(char **field, const char *v)
{
	char *n = v && *v ? xstrdup(v) : NULL;
	free(*field);
	*field = n;
}

static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

void api_manifest_drop_commands(core_state *s, store_job *job, const app *a)
{
	/* Collect first: removing frees the command and its key. */
	size_t it = 0, n = 0, cap = 0;
	char **names = NULL;
	void *v;
	while (map_next(&s->commands, &it, NULL, &v)) {
		app_command *c = v;
		if (strcmp(c->app_id, a->id) != 0 || strcmp(c->org_id, a->org_id) != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(c->command);
	}
	for (size_t i = 0; i < n; i++) {
		core_command_remove(s, a->org_id, names[i]);
		store_del_command(job, a->org_id, names[i]);
		free(names[i]);
	}
	free(names);
}

static void apply_commands(core_state *s, store_job *job, app *a, const json_t *cmds)
{
	api_manifest_drop_commands(s, job, a);
	size_t i;
	json_t *x;
	json_array_foreach(cmds, i, x) {
		const char *name = json_string_value(json_object_get(x, "command"));
		if (!name)
			continue;
		app_command *c = xcalloc(1, sizeof *c);
		snprintf(c->org_id, sizeof c->org_id, "%s", a->org_id);
		snprintf(c->app_id, sizeof c->app_id, "%s", a->id);
		c->command = xstrdup(name);
		const char *url = json_string_value(json_object_get(x, "url"));
		/* Socket Mode apps get commands over their socket: no URL. */
		c->url = !a->socket_mode && url && *url ? xstrdup(url) : NULL;
		c->description = xstrdup(json_string_value(json_object_get(x, "description")));
		const char *hint = json_string_value(json_object_get(x, "usage_hint"));
		c->usage_hint = hint && *hint ? xstrdup(hint) : NULL;
		c->should_escape = json_is_true(json_object_get(x, "should_escape"));
		core_command_add(s, c);
		store_put_command(job, c);
	}
}

/* The bot tokens of a carry the app's scopes. */
static void sync_token_scopes(core_state *s, store_job *job, const app *a)
{
	size_t it = 0;
	void *v;
	while (map_next(&s->tokens, &it, NULL, &v)) {
		token *t = v;
		if (t->kind != TOKEN_BOT || strcmp(t->app_id, a->id) != 0 || str_eq(t->scopes, a->scopes))
			continue;
		free(t->scopes);
		t->scopes = xstrdup(a->scopes ? a->scopes : "");
		store_put_token(job, t);
	}
}

void api_manifest_apply(core_state *s, store_job *job, app *a, const json_t *m,
			bool *scopes_changed)
{
	json_t *settings = json_object_get(m, "settings");
	json_t *ev = json_object_get(settings, "event_subscriptions");
	json_t *inter = json_object_get(settings, "interactivity");
	json_t *bot_scopes = path2(json_object_get(m, "oauth_config"), "scopes", "bot");
	bool changed = false;

	const char *name = api_manifest_app_name(m);
	if (name && *name)
		set_str(&a->name, name);
	set_str(&a->description, json_string_value(path2(m, "display_information", "description")));
	a->socket_mode = json_is_true(json_object_get(settings, "socket_mode_enabled"));
	char *events = join(json_object_get(ev, "bot_events"));
	free(a->bot_events);
	a->bot_events = events;
	const char *url = json_string_value(json_object_get(ev, "request_url"));
	set_str(&a->event_url, a->socket_mode ? NULL : url);
	a->interactivity = json_is_true(json_object_get(inter, "is_enabled"));
	url = json_string_value(json_object_get(inter, "request_url"));
	set_str(&a->interactivity_url, a->socket_mode || !a->interactivity ? NULL : url);
	if (json_is_array(bot_scopes)) {
		char *sc = join(bot_scopes);
		if (!str_eq(sc, a->scopes)) {
			free(a->scopes);
			a->scopes = sc ? sc : xstrdup("");
			changed = true;
			sync_token_scopes(s, job, a);
		} else {
			free(sc);
		}
	}
	free(a->manifest);
	a->manifest = json_dumps(m, JSON_COMPACT);
	a->updated = clock_now_s();
	store_put_app(job, a);

	user *u = core_user_get(s, a->bot_user_id);
	const char *bot_name = api_manifest_bot_name(m);
	if (u && bot_name && !str_eq(u->real_name, bot_name)) {
		set_str(&u->real_name, bot_name);
		u->updated = clock_now_s();
		store_put_user(job, u);
	}
	apply_commands(s, job, a, path2(m, "features", "slash_commands"));
	if (scopes_changed)
		*scopes_changed = changed;
}

/* ---- export ---- */

static json_t *split(const char *csv)
{
	json_t *a = json_array();
	for (const char *p = csv; p && *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p = e ? e + 1 : NULL;
	}
	return a;
}

json_t *api_manifest_export(core_state *s, const app *a)
{
	if (a->manifest) {
		json_t *m = json_loads(a->manifest, 0, NULL);
		if (json_is_object(m))
			return m;
		json_decref(m);
	}
	/* Created without a manifest: describe what the app is. */
	json_t *m = json_object();
	json_t *di = json_pack("{s:s}", "name", a->name ? a->name : "");
	if (a->description)
		json_object_set_new(di, "description", json_string(a->description));
	json_object_set_new(m, "display_information", di);
	user *u = core_user_get(s, a->bot_user_id);
	json_t *features = json_object();
	json_object_set_new(features, "bot_user",
			    json_pack("{s:s,s:b}", "display_name",
				      u && u->real_name ? u->real_name : a->name ? a->name : "",
				      "always_online", 0));
	json_t *cmds = json_array();
	size_t it = 0;
	void *v;
	while (map_next(&s->commands, &it, NULL, &v)) {
		app_command *c = v;
		if (strcmp(c->app_id, a->id) != 0)
			continue;
		json_t *o = json_pack("{s:s,s:s,s:b}", "command", c->command, "description",
				      c->description ? c->description : "", "should_escape",
				      c->should_escape);
		if (c->url)
			json_object_set_new(o, "url", json_string(c->url));
		if (c->usage_hint)
			json_object_set_new(o, "usage_hint", json_string(c->usage_hint));
		json_array_append_new(cmds, o);
	}
	if (json_array_size(cmds))
		json_object_set_new(features, "slash_commands", cmds);
	else
		json_decref(cmds);
	json_object_set_new(m, "features", features);
	json_object_set_new(m, "oauth_config",
			    json_pack("{s:{s:o}}", "scopes", "bot", split(a->scopes)));
	json_t *settings = json_object();
	if (a->bot_events || a->event_url) {
		json_t *ev = json_pack("{s:o}", "bot_events", split(a->bot_events));
		if (a->event_url)
			json_object_set_new(ev, "request_url", json_string(a->event_url));
		json_object_set_new(settings, "event_subscriptions", ev);
	}
	json_t *inter = json_pack("{s:b}", "is_enabled", a->interactivity);
	if (a->interactivity_url)
		json_object_set_new(inter, "request_url", json_string(a->interactivity_url));
	json_object_set_new(settings, "interactivity", inter);
	json_object_set_new(settings, "org_deploy_enabled", json_false());
	json_object_set_new(settings, "socket_mode_enabled", json_boolean(a->socket_mode));
	json_object_set_new(settings, "token_rotation_enabled", json_false());
	json_object_set_new(m, "settings", settings);
	return m;
}
