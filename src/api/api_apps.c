/* apps.manifest.*: defining apps with Slack's app manifests, and the app
 * registry's installation primitives (shared with `canal admin`).
 *
 * Slack's manifest methods take an app configuration token; Canal takes
 * the user token of an org admin or owner (others: not_admin; bots:
 * not_allowed_token_type), and apps.manifest.validate any user token.
 * An app created here is installed into the caller's org at once (Canal
 * has no OAuth install step), so apps.manifest.create answers Slack's
 * fields and also the tokens the installation issued:
 *   {"ok":true, "app_id":"A...", "team_id":"T...", "team_domain":"...",
 *    "credentials":{"client_id":"T....A...", "client_secret":"",
 *                   "verification_token":"...", "signing_secret":"..."},
 *    "oauth_authorize_url":"<base>/oauth/v2/authorize?client_id=...&scope=...",
 *    "bot_user_id":"U...", "bot_id":"B...",
 *    "bot_token":"xoxb-...", "app_token":"xapp-..."}
 * The tokens' secrets exist only in that answer. client_secret is empty
 * and oauth_authorize_url is informational: there is no OAuth flow.
 * A bad manifest answers invalid_manifest with Slack's
 * "errors":[{"message","pointer"}]; an app_id not of the caller's org (or
 * deleted) answers invalid_app_id. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_audit.h"
#include "api/api_manifest.h"
#include "rt/apps.h"
#include "rt/rt.h"
#include "api/handlers.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"

/* ---- the registry ---- */

int api_app_install(core_state *s, store_job *job, const char *org_id, const char *name,
		    const char *scopes, app **out, char **bot_token, char **app_token)
{
	org *o = core_org_get(s, org_id ? org_id : "");
	if (!o)
		return ERR_TEAM_NOT_FOUND;
	if (!name || !*name)
		return ERR_INVALID_NAME_REQUIRED;
	/* The bot user's handle: the app name made handle-safe, unique. */
	buf h = BUF_INIT;
	for (const char *p = name; *p && h.len < 60; p++) {
		char ch = (char)tolower((unsigned char)*p);
		buf_addc(&h, isalnum((unsigned char)ch) || ch == '-' || ch == '_' || ch == '.' ? ch : '-');
	}
	char *handle = buf_detach(&h, NULL);
	for (int n = 2; core_user_by_name(s, o->id, handle); n++) {
		char *nh = xasprintf("%.60s%d", handle, n);
		free(handle);
		handle = nh;
	}
	int64_t now = clock_now_s();
	char aid[ID_MAX], bid[ID_MAX], uid[ID_MAX];
	ids_new(aid, "A");
	ids_new(bid, "B");
	ids_new(uid, "U");
	app *a = core_app_new(aid, o->id);
	a->name = xstrdup(name);
	snprintf(a->bot_id, sizeof a->bot_id, "%s", bid);
	snprintf(a->bot_user_id, sizeof a->bot_user_id, "%s", uid);
	a->scopes = xstrdup(scopes && *scopes ? scopes : API_APP_DEFAULT_SCOPES);
	a->signing_secret = ids_secret_hex(16);
	a->verification_token = ids_secret_hex(12);
	a->created = a->updated = now;
	user *u = core_user_new(uid, o->id);
	u->name = handle;
	u->real_name = xstrdup(name);
	u->display_name = xstrdup("");
	u->tz = xstrdup("UTC");
	u->avatar_hash = ids_secret_hex(6);
	u->is_bot = true;
	snprintf(u->bot_id, sizeof u->bot_id, "%s", bid);
	snprintf(u->app_id, sizeof u->app_id, "%s", aid);
	u->created = u->updated = now;
	core_app_add(s, a);
	core_user_add(s, u);
	store_put_app(job, a);
	store_put_user(job, u);

	char *bt = ids_token_new("xoxb", o->id);
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(bt, hash);
	token *t = core_token_new(hash, TOKEN_BOT);
	snprintf(t->org_id, sizeof t->org_id, "%s", o->id);
	snprintf(t->user_id, sizeof t->user_id, "%s", uid);
	snprintf(t->app_id, sizeof t->app_id, "%s", aid);
	t->scopes = xstrdup(a->scopes);
	t->created = now;
	core_token_add(s, t);
	store_put_token(job, t);

	char *at = ids_token_new("xapp", o->id);
	ids_token_hash(at, hash);
	t = core_token_new(hash, TOKEN_APP);
	snprintf(t->org_id, sizeof t->org_id, "%s", o->id);
	snprintf(t->app_id, sizeof t->app_id, "%s", aid);
	t->scopes = xstrdup("connections:write");
	t->created = now;
	core_token_add(s, t);
	store_put_token(job, t);

	*out = a;
	*bot_token = bt;
	*app_token = at;
	return 0;
}

void api_app_uninstall(core_state *s, store_job *job, app *a)
{
	int64_t now = clock_now_s();
	a->deleted = true;
	a->updated = now;
	store_put_app(job, a);
	user *u = core_user_get(s, a->bot_user_id);
	if (u && !u->deleted) {
		u->deleted = true;
		u->updated = now;
		store_put_user(job, u);
	}
	size_t it = 0;
	void *v;
	while (map_next(&s->tokens, &it, NULL, &v)) {
		token *t = v;
		if (!t->revoked && strcmp(t->app_id, a->id) == 0) {
			t->revoked = true;
			store_put_token(job, t);
		}
	}
	api_manifest_drop_commands(s, job, a);
	it = 0;
	while (map_next(&s->webhooks, &it, NULL, &v)) {
		webhook *w = v;
		if (!w->revoked && strcmp(w->app_id, a->id) == 0) {
			w->revoked = true;
			store_put_webhook(job, w);
		}
	}
}

/* ---- apps.manifest.* ---- */

static bool is_admin(const user *u)
{
	return u && (u->is_admin || u->is_owner || u->is_primary_owner) && !u->is_bot;
}

static int invalid_manifest(api_ctx *c, json_t *errors)
{
	if (!c->err_extra)
		c->err_extra = json_object();
	json_object_set(c->err_extra, "errors", errors);
	return ERR_INVALID_MANIFEST;
}

/* The manifest argument, parsed and validated against the caller's org
 * (app_id: the app it is for, or NULL). New reference in *out. */
static int manifest_arg(api_ctx *c, const char *app_id, json_t **out)
{
	*out = NULL;
	json_t *arg = json_object_get(c->args, "manifest");
	if (!arg || json_is_null(arg) || (json_is_string(arg) && !*json_string_value(arg)))
		return api_missing(c, "manifest");
	json_t *errors = json_array();
	int rc = 0;
	json_t *m = api_manifest_parse(arg, errors);
	if (!m || api_manifest_validate(m, c->env->state, c->org->id, app_id, errors) != 0) {
		rc = invalid_manifest(c, errors);
		json_decref(m);
		m = NULL;
	}
	json_decref(errors);
	*out = m;
	return rc;
}

/* The app_id argument: an app of the caller's org, not deleted. */
static int app_arg(api_ctx *c, app **out)
{
	const char *id;
	int rc = api_str_req(c, "app_id", &id);
	if (rc)
		return rc;
	app *a = core_app_get(c->env->state, id);
	if (!a || a->deleted || strcmp(a->org_id, c->org->id) != 0)
		return ERR_INVALID_APP_ID;
	*out = a;
	return 0;
}

/* ---- request URL verification ----
 * Saving an Events API request URL (a new one, or a changed one) first
 * sends it Slack's url_verification challenge (rt/apps_verify.c); the
 * manifest is applied only if the endpoint echoes it. A refusal is
 * invalid_manifest with the reason at the request_url's pointer, as
 * Slack's manifest methods report it. A new app's challenge is signed
 * with the signing secret it will get (and carries its verification
 * token), so an endpoint that checks signatures can only pass it once it
 * knows the secret: create the app first, then add the URL with
 * apps.manifest.update (or give the secret with `canal admin app create
 * --signing-secret`). */

#define URL_POINTER "/settings/event_subscriptions/request_url"

/* The Events API request URL m saves: NULL in Socket Mode, or none. */
static const char *manifest_event_url(const json_t *m)
{
	json_t *settings = json_object_get(m, "settings");
	if (json_is_true(json_object_get(settings, "socket_mode_enabled")))
		return NULL;
	const char *u = json_string_value(
		json_object_get(json_object_get(settings, "event_subscriptions"), "request_url"));
	return u && *u ? u : NULL;
}

static int url_refused(api_ctx *c, const char *why)
{
	json_t *errors = json_array();
	json_array_append_new(errors, json_pack("{s:s,s:s}", "message", why, "pointer", URL_POINTER));
	int rc = invalid_manifest(c, errors);
	json_decref(errors);
	return rc;
}

typedef struct url_wait {
	api_ctx *c;
	json_t *m;
	char *secret, *token;   /* create: the new app's credentials */
	char app_id[ID_MAX];    /* update: the app */
} url_wait;

static void url_wait_free(url_wait *w)
{
	json_decref(w->m);
	free(w->secret);
	free(w->token);
	free(w);
}

/* Installs the app m describes (credentials given or generated). */
static int create_apply(api_ctx *c, const json_t *m, const char *secret, const char *vtoken)
{
	core_state *s = c->env->state;
	store_job *job = api_job(c);
	app *a;
	char *bt = NULL, *at = NULL;
	int rc = api_app_install(s, job, c->org->id, api_manifest_bot_name(m), NULL, &a, &bt, &at);
	if (rc)
		goto out;
	if (secret) {
		free(a->signing_secret);
		a->signing_secret = xstrdup(secret);
	}
	if (vtoken) {
		free(a->verification_token);
		a->verification_token = xstrdup(vtoken);
	}
	api_manifest_apply(s, job, a, m, NULL);
	if (c->env->apps)
		apps_app_changed(c->env->apps, a);
	audit_entity en = {.app = a};
	api_audit(c, "app_installed", &en,
		  json_pack("{s:[s,s],s:s}", "token_types", "bot", "app", "via",
			    "apps.manifest.create"));
	char *client_id = xasprintf("%s.%s", a->org_id, a->id);
	json_object_set_new(c->out, "app_id", json_string(a->id));
	json_object_set_new(c->out, "team_id", json_string(c->org->id));
	json_object_set_new(c->out, "team_domain", json_string(c->org->domain ? c->org->domain : ""));
	json_object_set_new(c->out, "credentials",
			    json_pack("{s:s,s:s,s:s,s:s}", "client_id", client_id, "client_secret", "",
				      "verification_token", a->verification_token, "signing_secret",
				      a->signing_secret));
	json_object_set_new(c->out, "oauth_authorize_url",
			    json_sprintf("%s/oauth/v2/authorize?client_id=%s&scope=%s",
					 c->env->base_url ? c->env->base_url : "", client_id,
					 a->scopes ? a->scopes : ""));
	json_object_set_new(c->out, "bot_user_id", json_string(a->bot_user_id));
	json_object_set_new(c->out, "bot_id", json_string(a->bot_id));
	json_object_set_new(c->out, "bot_token", json_string(bt));
	json_object_set_new(c->out, "app_token", json_string(at));
	free(client_id);
out:
	free(bt);
	free(at);
	return rc;
}

static int update_apply(api_ctx *c, app *a, const json_t *m)
{
	bool scopes_changed = false;
	api_manifest_apply(c->env->state, api_job(c), a, m, &scopes_changed);
	if (c->env->apps)
		apps_app_changed(c->env->apps, a); /* new subscriptions apply at once */
	json_object_set_new(c->out, "app_id", json_string(a->id));
	json_object_set_new(c->out, "permissions_updated", json_boolean(scopes_changed));
	return 0;
}

/* After the wait the org may have changed (a command taken, the app
 * deleted): checked again before applying. */
static int revalidate(api_ctx *c, const json_t *m, const char *app_id)
{
	json_t *errors = json_array();
	int rc = 0;
	if (api_manifest_validate(m, c->env->state, c->org->id, app_id, errors) != 0)
		rc = invalid_manifest(c, errors);
	json_decref(errors);
	return rc;
}

static void create_verified_cb(void *ud, int ok, const char *why)
{
	url_wait *w = ud;
	api_ctx *c = w->c;
	int rc = !ok ? url_refused(c, why) : revalidate(c, w->m, NULL);
	if (!rc)
		rc = create_apply(c, w->m, w->secret, w->token);
	url_wait_free(w);
	api_resume(c, rc);
}

static void update_verified_cb(void *ud, int ok, const char *why)
{
	url_wait *w = ud;
	api_ctx *c = w->c;
	app *a = core_app_get(c->env->state, w->app_id);
	int rc = !ok ? url_refused(c, why) : (!a || a->deleted) ? ERR_INVALID_APP_ID
							       : revalidate(c, w->m, a->id);
	if (!rc)
		rc = update_apply(c, a, w->m);
	url_wait_free(w);
	api_resume(c, rc);
}

/* Starts the verification of url: 1 when the call now waits (m is taken
 * over), 0 when it cannot run (no outbound HTTP: the URL is kept
 * unverified, as nothing could deliver to it anyway). */
static int verify_then(api_ctx *c, const char *url, json_t *m, const app *a,
		       apps_verify_cb cb)
{
	if (!c->env->apps)
		return 0;
	url_wait *w = xcalloc(1, sizeof *w);
	w->c = c;
	w->m = m;
	if (a) {
		snprintf(w->app_id, sizeof w->app_id, "%s", a->id);
	} else {
		w->secret = ids_secret_hex(16);
		w->token = ids_secret_hex(12);
	}
	if (apps_verify_url(c->env->apps, url, a ? a->signing_secret : w->secret,
			    a ? a->verification_token : w->token, cb, w) != 0) {
		w->m = NULL;
		url_wait_free(w);
		return 0;
	}
	api_defer(c);
	return 1;
}

int api_apps_manifest_create(api_ctx *c)
{
	if (!is_admin(c->me))
		return ERR_NOT_ADMIN;
	json_t *m;
	int rc = manifest_arg(c, NULL, &m);
	if (rc)
		return rc;
	const char *url = manifest_event_url(m);
	if (url && verify_then(c, url, m, NULL, create_verified_cb))
		return 0;
	rc = create_apply(c, m, NULL, NULL);
	json_decref(m);
	return rc;
}

int api_apps_manifest_update(api_ctx *c)
{
	if (!is_admin(c->me))
		return ERR_NOT_ADMIN;
	app *a;
	json_t *m;
	int rc = app_arg(c, &a);
	if (rc || (rc = manifest_arg(c, a->id, &m)))
		return rc;
	const char *url = manifest_event_url(m);
	if (url && (!a->event_url || strcmp(url, a->event_url) != 0) &&
	    verify_then(c, url, m, a, update_verified_cb))
		return 0;
	rc = update_apply(c, a, m);
	json_decref(m);
	return rc;
}

int api_apps_manifest_export(api_ctx *c)
{
	if (!is_admin(c->me))
		return ERR_NOT_ADMIN;
	app *a;
	int rc = app_arg(c, &a);
	if (rc)
		return rc;
	json_object_set_new(c->out, "manifest", api_manifest_export(c->env->state, a));
	return 0;
}

int api_apps_manifest_validate(api_ctx *c)
{
	app *a = NULL;
	const char *id = api_str(c, "app_id");
	int rc;
	if (id && *id && (rc = app_arg(c, &a)))
		return rc;
	json_t *m;
	if ((rc = manifest_arg(c, a ? a->id : NULL, &m)))
		return rc;
	json_decref(m);
	return 0;
}

int api_apps_manifest_delete(api_ctx *c)
{
	if (!is_admin(c->me))
		return ERR_NOT_ADMIN;
	app *a;
	int rc = app_arg(c, &a);
	if (rc)
		return rc;
	api_app_uninstall(c->env->state, api_job(c), a);
	audit_entity en = {.app = a};
	api_audit(c, "app_uninstalled", &en, json_pack("{s:s}", "via", "apps.manifest.delete"));
	/* Its Socket Mode links and its bot's sessions end now. */
	if (c->env->apps)
		apps_drop_app(c->env->apps, a->id);
	if (c->env->rt)
		rt_revalidate(c->env->rt);
	return 0;
}
