/* Admin operations and the `canal admin` command table. */
#include "admin/admin.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin_compliance.h"
#include "api/api_manifest.h"
#include "audit/audit.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "core/rules.h"

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int admin_org_create(admin_env *e, store_job *job, const char *name, const char *domain,
		     org **out)
{
	if (!name || !*name)
		return ERR_INVALID_NAME_REQUIRED;
	char id[ID_MAX];
	ids_new(id, "T");
	org *o = core_org_new(id);
	o->name = xstrdup(name);
	if (domain && *domain) {
		o->domain = xstrdup(domain);
	} else {
		/* domain: the name lowercased, letters and digits only. */
		buf d = BUF_INIT;
		for (const char *p = name; *p; p++)
			if (isalnum((unsigned char)*p))
				buf_addc(&d, (char)tolower((unsigned char)*p));
		if (!d.len)
			buf_adds(&d, "team");
		o->domain = buf_detach(&d, NULL);
	}
	o->created = clock_now_s();
	char cid[ID_MAX];
	ids_new(cid, "C");
	channel *g = core_channel_new(cid, o->id, CHAN_PUBLIC);
	g->name = xstrdup("general");
	g->is_general = true;
	g->created = o->created;
	g->updated = clock_now_us() / 1000;
	g->purpose = xstrdup("This is the one channel that will always include everyone.");
	g->purpose_last_set = o->created;
	snprintf(o->general_id, sizeof o->general_id, "%s", cid);
	core_org_add(e->state, o);
	core_channel_add(e->state, g);
	store_put_org(job, o);
	store_put_channel(job, g);
	*out = o;
	return 0;
}

char *admin_token_issue(admin_env *e, store_job *job, const user *u, token_kind kind,
			int64_t expires)
{
	char *secret = ids_token_new(kind == TOKEN_SESSION ? "xoxc" : "xoxp", u->org_id);
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(secret, hash);
	token *t = core_token_new(hash, kind);
	snprintf(t->org_id, sizeof t->org_id, "%s", u->org_id);
	snprintf(t->user_id, sizeof t->user_id, "%s", u->id);
	t->scopes = xstrdup("*");
	t->created = clock_now_s();
	t->expires = expires;
	core_token_add(e->state, t);
	store_put_token(job, t);
	return secret;
}

static void join_general(admin_env *e, store_job *job, org *o, user *u)
{
	channel *g = core_channel_get(e->state, o->general_id);
	if (!g || core_member_get(g, u->id))
		return;
	chan_member *m = core_member_add(g, u->id, clock_now_s());
	store_put_member(job, g->id, m);
	message msg;
	message_init(&msg);
	snprintf(msg.channel_id, sizeof msg.channel_id, "%s", g->id);
	snprintf(msg.org_id, sizeof msg.org_id, "%s", o->id);
	snprintf(msg.user_id, sizeof msg.user_id, "%s", u->id);
	msg.subtype = xstrdup("channel_join");
	msg.text = xasprintf("<@%s> has joined the channel", u->id);
	msg.ts = core_ts_next(e->state, clock_now_us());
	store_msg_insert(job, &msg);
	message_release(&msg);
}

int admin_user_create(admin_env *e, store_job *job, const char *org_id, const char *name,
		      const char *email, const char *password, const char *real_name, bool is_admin,
		      bool is_owner, user **out, char **user_token, char **invite_code)
{
	org *o = core_org_get(e->state, org_id ? org_id : "");
	if (!o)
		return ERR_TEAM_NOT_FOUND;
	if (!name || !rules_user_name_ok(name))
		return ERR_INVALID_NAME;
	if (core_user_by_name(e->state, o->id, name))
		return ERR_NAME_TAKEN;
	char *em = NULL;
	if (email && *email) {
		if (!rules_email_ok(email))
			return ERR_INVALID_EMAIL;
		em = xstrdup(email);
		lower(em);
		if (core_user_by_email(e->state, o->id, em)) {
			free(em);
			return ERR_EMAIL_TAKEN;
		}
	}
	char *pw = NULL;
	if (password && *password) {
		pw = ids_password_hash(password);
		if (!pw) {
			free(em);
			return ERR_INTERNAL_ERROR;
		}
	}
	char id[ID_MAX];
	ids_new(id, "U");
	user *u = core_user_new(id, o->id);
	u->name = xstrdup(name);
	u->email = em;
	u->pwhash = pw;
	u->real_name = xstrdup(real_name && *real_name ? real_name : name);
	u->display_name = xstrdup("");
	u->tz = xstrdup("UTC");
	u->avatar_hash = ids_secret_hex(6);
	u->is_admin = is_admin || is_owner;
	u->is_owner = is_owner;
	u->created = u->updated = clock_now_s();
	/* The first owner of an org is its primary owner. */
	if (is_owner) {
		bool other = false;
		size_t it = 0;
		void *v;
		while (!other && map_next(&e->state->users, &it, NULL, &v)) {
			user *x = v;
			other = x->is_primary_owner && strcmp(x->org_id, o->id) == 0;
		}
		u->is_primary_owner = !other;
	}
	core_user_add(e->state, u);
	store_put_user(job, u);
	join_general(e, job, o, u);
	if (user_token)
		*user_token = admin_token_issue(e, job, u, TOKEN_USER, 0);
	if (invite_code) {
		*invite_code = NULL;
		if (!pw) {
			char *code = ids_secret_hex(16);
			char hash[TOKEN_HASH_HEX];
			ids_token_hash(code, hash);
			token *t = core_token_new(hash, TOKEN_INVITE);
			snprintf(t->org_id, sizeof t->org_id, "%s", o->id);
			snprintf(t->user_id, sizeof t->user_id, "%s", u->id);
			t->created = clock_now_s();
			t->expires = t->created + 14 * 86400;
			core_token_add(e->state, t);
			store_put_token(job, t);
			*invite_code = code;
		}
	}
	*out = u;
	return 0;
}

int admin_app_create(admin_env *e, store_job *job, const char *org_id, const char *name,
		     const char *scopes, app **out, char **bot_token, char **app_token)
{
	/* The registry's own installation (api_apps.c), shared with
	 * apps.manifest.create. Default scopes: API_APP_DEFAULT_SCOPES, what a
	 * typical chat bot of the scenarios uses. */
	return api_app_install(e->state, job, org_id, name, scopes, out, bot_token, app_token);
}

/* The bot joins ch (as Slack's install does for a webhook's channel):
 * the membership and a channel_join message. */
static void bot_join(admin_env *e, store_job *job, channel *ch, const user *bot,
		     const user *inviter)
{
	if (core_member_get(ch, bot->id))
		return;
	chan_member *m = core_member_add(ch, bot->id, clock_now_s());
	store_put_member(job, ch->id, m);
	message msg;
	message_init(&msg);
	snprintf(msg.channel_id, sizeof msg.channel_id, "%s", ch->id);
	snprintf(msg.org_id, sizeof msg.org_id, "%s", ch->org_id);
	snprintf(msg.user_id, sizeof msg.user_id, "%s", bot->id);
	msg.subtype = xstrdup("channel_join");
	msg.text = inviter ? xasprintf("<@%s> has joined the channel by invitation from <@%s>",
				       bot->id, inviter->id)
			   : xasprintf("<@%s> has joined the channel", bot->id);
	msg.ts = core_ts_next(e->state, clock_now_us());
	store_msg_insert(job, &msg);
	message_release(&msg);
}

/* An app's slash commands and incoming webhooks end with it. */
static void app_registry_drop(admin_env *e, store_job *job, const app *a)
{
	api_manifest_drop_commands(e->state, job, a);
	size_t it = 0;
	void *v;
	while (map_next(&e->state->webhooks, &it, NULL, &v)) {
		webhook *w = v;
		if (!w->revoked && strcmp(w->app_id, a->id) == 0) {
			w->revoked = true;
			store_put_webhook(job, w);
		}
	}
}

int admin_webhook_create(admin_env *e, store_job *job, const char *app_id,
			 const char *chan, const char *user_id, webhook **out, char **secret)
{
	app *a = app_id ? core_app_get(e->state, app_id) : NULL;
	if (!a || a->deleted)
		return ERR_INVALID_APP_ID;
	user *bot = core_user_get(e->state, a->bot_user_id);
	if (!bot || bot->deleted)
		return ERR_INVALID_APP_ID;
	channel *ch = chan ? core_channel_get(e->state, chan) : NULL;
	if (!ch && chan)
		ch = core_channel_by_name(e->state, a->org_id, chan[0] == '#' ? chan + 1 : chan);
	if (!ch || strcmp(ch->org_id, a->org_id) != 0)
		return ERR_CHANNEL_NOT_FOUND;
	if (ch->kind == CHAN_IM || ch->kind == CHAN_MPIM)
		return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	user *by = NULL;
	if (user_id && *user_id) {
		by = core_user_get(e->state, user_id);
		if (!by)
			by = core_user_by_name(e->state, a->org_id, user_id);
		if (!by || by->deleted || strcmp(by->org_id, a->org_id) != 0)
			return ERR_USER_NOT_FOUND;
		/* Only a member installs into a private channel. */
		if (ch->kind == CHAN_PRIVATE && !core_member_get(ch, by->id))
			return ERR_CHANNEL_NOT_FOUND;
	}
	bot_join(e, job, ch, bot, by);
	webhook *w = xcalloc(1, sizeof *w);
	ids_new(w->id, "W");
	snprintf(w->org_id, sizeof w->org_id, "%s", a->org_id);
	snprintf(w->app_id, sizeof w->app_id, "%s", a->id);
	snprintf(w->channel_id, sizeof w->channel_id, "%s", ch->id);
	if (by)
		snprintf(w->created_by, sizeof w->created_by, "%s", by->id);
	w->created = clock_now_s();
	char *sec = ids_secret_hex(12);
	ids_token_hash(sec, w->hash);
	core_webhook_add(e->state, w);
	store_put_webhook(job, w);
	*out = w;
	*secret = sec;
	return 0;
}

/* ---- the command table ---- */

typedef struct admin_opts {
	const char *pos[4];
	int npos;
	const char *kv[16][2];
	int nkv;
} opts;

static const char *opt(const opts *o, const char *name)
{
	for (int i = 0; i < o->nkv; i++)
		if (strcmp(o->kv[i][0], name) == 0)
			return o->kv[i][1];
	return NULL;
}

const char *admin_opt(const struct admin_opts *o, const char *name)
{
	return opt(o, name);
}

static bool flag(const opts *o, const char *name)
{
	return opt(o, name) != NULL;
}

/* Options that take no value. */
static bool is_bool_opt(const char *name)
{
	static const char *const b[] = {"admin", "owner", "invite", "json", "forever", NULL};
	for (int i = 0; b[i]; i++)
		if (strcmp(b[i], name) == 0)
			return true;
	return false;
}

static int parse_opts(int argc, char **argv, opts *o, json_t **out)
{
	memset(o, 0, sizeof *o);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) == 0) {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			if (o->nkv == 16)
				goto bad;
			if (eq) {
				/* --name=value: keep the name part only. */
				static char names[16][32];
				snprintf(names[o->nkv], sizeof names[0], "%.*s", (int)(eq - name), name);
				o->kv[o->nkv][0] = names[o->nkv];
				o->kv[o->nkv++][1] = eq + 1;
			} else if (is_bool_opt(name)) {
				o->kv[o->nkv][0] = name;
				o->kv[o->nkv++][1] = "1";
			} else {
				if (i + 1 >= argc) {
					*out = json_pack("{s:s}", "error", "option needs a value");
					return -1;
				}
				o->kv[o->nkv][0] = name;
				o->kv[o->nkv++][1] = argv[++i];
			}
		} else {
			if (o->npos == 4)
				goto bad;
			o->pos[o->npos++] = a;
		}
	}
	return 0;
bad:
	*out = json_pack("{s:s}", "error", "too many arguments");
	return -1;
}

static json_t *user_json(const user *u)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b}", "id", u->id, "team_id", u->org_id,
			 "name", u->name ? u->name : "", "real_name", u->real_name ? u->real_name : "",
			 "email", u->email ? u->email : "", "is_admin", u->is_admin, "is_owner",
			 u->is_owner, "is_bot", u->is_bot, "deleted", u->deleted);
}

typedef int (*cmd_fn)(admin_env *e, store_job *job, const opts *o, json_t **out);

/* Admin commands act as the server's operator (actor USLACKUSER). */
static const audit_actor operator_actor = {.system = true, .ua = "canal-admin"};

static void audit_user(admin_env *e, store_job *job, const char *action, const user *u,
		       json_t *details)
{
	audit_entity en = {.user = u};
	audit_record(job, e->state, u->org_id, &operator_actor, action, &en, details);
}

static int cmd_org_create(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	const char *name = o->npos > 2 ? o->pos[2] : opt(o, "name");
	org *g;
	int err = admin_org_create(e, job, name, opt(o, "domain"), &g);
	if (!err)
		*out = json_pack("{s:s,s:s,s:s,s:s}", "id", g->id, "name", g->name, "domain", g->domain,
				 "general_channel", g->general_id);
	return err;
}

static int cmd_org_list(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	size_t n;
	const char **keys = core_sorted_keys(&e->state->orgs, &n);
	*out = json_array();
	for (size_t i = 0; i < n; i++) {
		org *g = core_org_get(e->state, keys[i]);
		json_array_append_new(*out, json_pack("{s:s,s:s,s:s}", "id", g->id, "name", g->name,
						      "domain", g->domain ? g->domain : ""));
	}
	free(keys);
	return 0;
}

static int cmd_user_create(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	const char *pw = opt(o, "password");
	if (!pw && !flag(o, "invite")) {
		*out = json_pack("{s:s}", "error", "give --password PW or --invite");
		return -1;
	}
	user *u;
	char *tok = NULL, *invite = NULL;
	int err = admin_user_create(e, job, opt(o, "org"), opt(o, "name"), opt(o, "email"), pw,
				    opt(o, "real-name"), flag(o, "admin"), flag(o, "owner"), &u, &tok,
				    &invite);
	if (err)
		return err;
	audit_user(e, job, "user_created", u,
		   json_pack("{s:b,s:b,s:b}", "is_admin", u->is_admin, "is_owner", u->is_owner,
			     "invited", invite != NULL));
	if (u->is_owner || u->is_admin)
		audit_user(e, job, u->is_owner ? "role_change_to_owner" : "role_change_to_admin", u,
			   json_pack("{s:s,s:s}", "previous_role", "", "new_role",
				     u->is_owner ? "owner" : "admin"));
	audit_user(e, job, "user_token_created", u, json_pack("{s:s}", "token_type", "user"));
	*out = json_pack("{s:s,s:s,s:s,s:s}", "id", u->id, "team_id", u->org_id, "name", u->name,
			 "token", tok);
	if (invite) {
		json_object_set_new(*out, "invite_url",
				    json_sprintf("%s/invite/%s", e->base_url ? e->base_url : "", invite));
		free(invite);
	}
	free(tok);
	return 0;
}

static int cmd_user_list(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	const char *org_id = opt(o, "org");
	size_t n;
	const char **keys = core_sorted_keys(&e->state->users, &n);
	*out = json_array();
	for (size_t i = 0; i < n; i++) {
		user *u = core_user_get(e->state, keys[i]);
		if (!org_id || strcmp(u->org_id, org_id) == 0)
			json_array_append_new(*out, user_json(u));
	}
	free(keys);
	return 0;
}

static user *find_user(admin_env *e, const opts *o)
{
	const char *id = opt(o, "user");
	if (!id)
		return NULL;
	user *u = core_user_get(e->state, id);
	if (!u && opt(o, "org"))
		u = core_user_by_name(e->state, opt(o, "org"), id);
	return u;
}

static int cmd_user_password(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	user *u = find_user(e, o);
	const char *pw = opt(o, "password");
	if (!u)
		return ERR_USER_NOT_FOUND;
	if (!pw || !*pw) {
		*out = json_pack("{s:s}", "error", "give --password PW");
		return -1;
	}
	char *h = ids_password_hash(pw);
	if (!h)
		return ERR_INTERNAL_ERROR;
	free(u->pwhash);
	u->pwhash = h;
	u->updated = clock_now_s();
	store_put_user(job, u);
	/* A password reset ends every browser session of that person. */
	size_t it = 0;
	void *v;
	while (map_next(&e->state->tokens, &it, NULL, &v)) {
		token *t = v;
		if (t->kind == TOKEN_SESSION && strcmp(t->user_id, u->id) == 0 && !t->revoked) {
			t->revoked = true;
			store_put_token(job, t);
		}
	}
	*out = json_pack("{s:b,s:s}", "ok", 1, "id", u->id);
	return 0;
}

static int cmd_user_token(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	user *u = find_user(e, o);
	if (!u || u->deleted)
		return ERR_USER_NOT_FOUND;
	char *tok = admin_token_issue(e, job, u, TOKEN_USER, 0);
	audit_user(e, job, "user_token_created", u, json_pack("{s:s}", "token_type", "user"));
	*out = json_pack("{s:s,s:s}", "id", u->id, "token", tok);
	free(tok);
	return 0;
}

/* Revokes every live token acting as user_id or belonging to app_id
 * (either may be NULL). Returns how many. Live sockets opened with them
 * are the server's to close (rt_drop_*). */
static int revoke_tokens(admin_env *e, store_job *job, const char *user_id, const char *app_id)
{
	int n = 0;
	size_t it = 0;
	void *v;
	while (map_next(&e->state->tokens, &it, NULL, &v)) {
		token *t = v;
		if (t->revoked || !((user_id && strcmp(t->user_id, user_id) == 0) ||
				    (app_id && strcmp(t->app_id, app_id) == 0)))
			continue;
		t->revoked = true;
		store_put_token(job, t);
		n++;
	}
	return n;
}

static int cmd_user_deactivate(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	user *u = find_user(e, o);
	if (!u)
		return ERR_USER_NOT_FOUND;
	u->deleted = true;
	u->updated = clock_now_s();
	store_put_user(job, u);
	/* Their API tokens and browser sessions end with the account. */
	int n = revoke_tokens(e, job, u->id, NULL);
	audit_user(e, job, "user_deactivated", u, json_pack("{s:i}", "tokens_revoked", n));
	*out = json_pack("{s:b,s:s,s:i}", "ok", 1, "id", u->id, "revoked", n);
	return 0;
}

/* A browser session (xoxc-) for a person, valid for --expires-in seconds
 * (default 30 days; 0 or less: already expired, for tests). */
static int cmd_user_session(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	user *u = find_user(e, o);
	if (!u || u->deleted || u->is_bot)
		return ERR_USER_NOT_FOUND;
	long long secs = 30LL * 86400;
	const char *ex = opt(o, "expires-in");
	if (ex) {
		char *end;
		secs = strtoll(ex, &end, 10);
		if (end == ex || *end) {
			*out = json_pack("{s:s}", "error", "--expires-in wants a number of seconds");
			return -1;
		}
	}
	int64_t expires = clock_now_s() + secs;
	char *tok = admin_token_issue(e, job, u, TOKEN_SESSION, expires ? expires : -1);
	audit_user(e, job, "user_token_created", u, json_pack("{s:s}", "token_type", "session"));
	*out = json_pack("{s:s,s:s,s:I}", "id", u->id, "token", tok, "expires", (json_int_t)expires);
	free(tok);
	return 0;
}

/* Removing an app: the app and its bot user are marked deleted (kept, so
 * old messages still render) and its bot and app-level tokens revoked. */
static int cmd_app_delete(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	const char *id = opt(o, "app");
	app *a = id ? core_app_get(e->state, id) : NULL;
	if (!a) {
		*out = json_pack("{s:s}", "error", "app_not_found");
		return -1;
	}
	int64_t now = clock_now_s();
	a->deleted = true;
	a->updated = now;
	store_put_app(job, a);
	user *bu = a->bot_user_id[0] ? core_user_get(e->state, a->bot_user_id) : NULL;
	if (bu && !bu->deleted) {
		bu->deleted = true;
		bu->updated = now;
		store_put_user(job, bu);
	}
	int n = revoke_tokens(e, job, a->bot_user_id[0] ? a->bot_user_id : NULL, a->id);
	app_registry_drop(e, job, a);
	audit_entity en = {.app = a};
	audit_record(job, e->state, a->org_id, &operator_actor, "app_uninstalled", &en,
		     json_pack("{s:i}", "tokens_revoked", n));
	*out = json_pack("{s:b,s:s,s:i}", "ok", 1, "id", a->id, "revoked", n);
	return 0;
}

/* --manifest-json TEXT (what `canal admin` sends after reading the file
 * itself), or --manifest FILE read here. NULL when neither is given;
 * -1 with *out set when the file cannot be read. */
static int manifest_opt(const opts *o, json_t **manifest, json_t **out)
{
	*manifest = NULL;
	const char *text = opt(o, "manifest-json");
	const char *file = opt(o, "manifest");
	json_t *errors = json_array();
	if (text) {
		json_t *arg = json_string(text);
		*manifest = arg ? api_manifest_parse(arg, errors) : NULL;
		if (!arg)
			json_array_append_new(errors, json_pack("{s:s,s:s}", "message",
								"the manifest is not UTF-8", "pointer", "/"));
		json_decref(arg);
	} else if (file) {
		json_error_t je;
		*manifest = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
		if (!*manifest) {
			*out = json_pack("{s:s,s:s}", "error", "cannot read the manifest", "detail",
					 je.text);
			json_decref(errors);
			return -1;
		}
		if (!json_is_object(*manifest)) {
			json_decref(*manifest);
			*manifest = NULL;
			json_array_append_new(errors, json_pack("{s:s,s:s}", "message",
								"the manifest must be a JSON object",
								"pointer", "/"));
		}
	} else {
		json_decref(errors);
		return 0;
	}
	if (!*manifest) {
		*out = json_pack("{s:s,s:o}", "error", err_name(ERR_INVALID_MANIFEST), "errors", errors);
		return ERR_INVALID_MANIFEST;
	}
	json_decref(errors);
	return 0;
}

/* --signing-secret / --verification-token: an app moved from Slack keeps
 * its credentials, so its receivers need no change. 1 if any was set. */
static int set_credentials(app *a, const char *secret, const char *vtoken)
{
	int n = 0;
	if (secret && *secret) {
		free(a->signing_secret);
		a->signing_secret = xstrdup(secret);
		n = 1;
	}
	if (vtoken && *vtoken) {
		free(a->verification_token);
		a->verification_token = xstrdup(vtoken);
		n = 1;
	}
	return n;
}

/* Printable ASCII, 8..128 characters (it is an HMAC key and a header-safe
 * token). */
static bool credential_ok(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n < 8 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~')
			return false;
	return true;
}

static int cmd_app_create(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	if ((opt(o, "signing-secret") && !credential_ok(opt(o, "signing-secret"))) ||
	    (opt(o, "verification-token") && !credential_ok(opt(o, "verification-token")))) {
		*out = json_pack("{s:s,s:s}", "error", "invalid_arguments", "detail",
				 "--signing-secret / --verification-token: 8 to 128 printable characters");
		return ERR_INVALID_ARGUMENTS;
	}
	app *a;
	char *bt, *at;
	json_t *m;
	int err = manifest_opt(o, &m, out);
	if (err)
		return err;
	if (m) {
		json_t *errors = json_array();
		if (api_manifest_validate(m, e->state, opt(o, "org") ? opt(o, "org") : "", NULL,
					  errors) != 0) {
			*out = json_pack("{s:s,s:o}", "error", err_name(ERR_INVALID_MANIFEST), "errors",
					 errors);
			json_decref(m);
			return ERR_INVALID_MANIFEST;
		}
		json_decref(errors);
		/* The manifest decides; --name, if given too, names the app, and
		 * --scopes count only when the manifest lists no bot scopes. */
		err = admin_app_create(e, job, opt(o, "org"),
				       opt(o, "name") ? opt(o, "name") : api_manifest_bot_name(m),
				       opt(o, "scopes"), &a, &bt, &at);
		if (!err) {
			set_credentials(a, opt(o, "signing-secret"), opt(o, "verification-token"));
			api_manifest_apply(e->state, job, a, m, NULL);
			if (opt(o, "name") && *opt(o, "name")) {
				free(a->name);
				a->name = xstrdup(opt(o, "name"));
				store_put_app(job, a);
			}
		}
		json_decref(m);
	} else {
		err = admin_app_create(e, job, opt(o, "org"), opt(o, "name"), opt(o, "scopes"), &a,
				       &bt, &at);
		if (!err && set_credentials(a, opt(o, "signing-secret"), opt(o, "verification-token")))
			store_put_app(job, a);
	}
	if (err)
		return err;
	audit_entity en = {.app = a};
	audit_record(job, e->state, a->org_id, &operator_actor, "app_installed", &en,
		     json_pack("{s:[s,s]}", "token_types", "bot", "app"));
	*out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", a->id, "team_id", a->org_id,
			 "bot_user_id", a->bot_user_id, "bot_id", a->bot_id, "bot_token", bt,
			 "app_token", at, "signing_secret", a->signing_secret, "scopes", a->scopes);
	free(bt);
	free(at);
	return 0;
}

static int cmd_app_list(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	const char *org_id = opt(o, "org");
	size_t n;
	const char **keys = core_sorted_keys(&e->state->apps, &n);
	*out = json_array();
	for (size_t i = 0; i < n; i++) {
		app *a = core_app_get(e->state, keys[i]);
		if (!org_id || strcmp(a->org_id, org_id) == 0)
			json_array_append_new(*out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "id", a->id,
							      "team_id", a->org_id, "name", a->name,
							      "bot_id", a->bot_id, "scopes", a->scopes,
							      "deleted", a->deleted));
	}
	free(keys);
	return 0;
}

static const char *token_kind_name(token_kind k)
{
	static const char *const names[] = {"user", "bot", "app", "session", "invite"};
	return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

/* A person's role: user, admin or owner (permission changes). The
 * primary owner stays one: demote them after making another primary. */
static int cmd_user_role(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	user *u = find_user(e, o);
	const char *role = opt(o, "role");
	if (!u || u->deleted || u->is_bot)
		return ERR_USER_NOT_FOUND;
	if (!role || (strcmp(role, "user") && strcmp(role, "admin") && strcmp(role, "owner"))) {
		*out = json_pack("{s:s}", "error", "give --role user|admin|owner");
		return -1;
	}
	const char *prev = u->is_owner ? "owner" : u->is_admin ? "admin" : "user";
	if (strcmp(prev, role) == 0) {
		*out = json_pack("{s:b,s:s,s:s,s:b}", "ok", 1, "id", u->id, "role", role, "changed", 0);
		return 0;
	}
	if (u->is_primary_owner) {
		*out = json_pack("{s:s}", "error", "cannot change the primary owner's role");
		return ERR_CANNOT_UPDATE_ADMIN_USER;
	}
	u->is_owner = strcmp(role, "owner") == 0;
	u->is_admin = u->is_owner || strcmp(role, "admin") == 0;
	u->updated = clock_now_s();
	store_put_user(job, u);
	char action[32];
	snprintf(action, sizeof action, "role_change_to_%s", role);
	audit_user(e, job, action, u, json_pack("{s:s,s:s}", "previous_role", prev, "new_role", role));
	*out = json_pack("{s:b,s:s,s:s,s:b}", "ok", 1, "id", u->id, "role", role, "changed", 1);
	return 0;
}

static int cmd_token_revoke(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	int n = 0;
	if (o->npos > 2) {
		char hash[TOKEN_HASH_HEX];
		ids_token_hash(o->pos[2], hash);
		token *t = core_token_get(e->state, hash);
		if (!t)
			return ERR_INVALID_AUTH;
		if (!t->revoked) {
			t->revoked = true;
			store_put_token(job, t);
			n++;
			user *tu = core_user_get(e->state, t->user_id);
			if (tu)
				audit_user(e, job, "user_token_revoked", tu,
					   json_pack("{s:s}", "token_type", token_kind_name(t->kind)));
		}
	} else if (opt(o, "user")) {
		user *u = find_user(e, o);
		if (!u)
			return ERR_USER_NOT_FOUND;
		size_t it = 0;
		void *v;
		while (map_next(&e->state->tokens, &it, NULL, &v)) {
			token *t = v;
			if (strcmp(t->user_id, u->id) == 0 && !t->revoked) {
				t->revoked = true;
				store_put_token(job, t);
				n++;
			}
		}
		if (n)
			audit_user(e, job, "user_token_revoked", u, json_pack("{s:i}", "count", n));
	} else {
		*out = json_pack("{s:s}", "error", "give a TOKEN or --user U");
		return -1;
	}
	*out = json_pack("{s:b,s:i}", "ok", 1, "revoked", n);
	return 0;
}

/* Where webhook URLs point: --public-url, else the running server's
 * base URL (through the admin socket), else CANAL_PUBLIC_URL, else
 * http://127.0.0.1:8080 (the default listen address). */
static char *public_base(admin_env *e, const opts *o)
{
	const char *b = opt(o, "public-url");
	if (!b || !*b)
		b = e->base_url;
	if (!b || !*b)
		b = getenv("CANAL_PUBLIC_URL");
	if (!b || !*b)
		b = "http://127.0.0.1:8080";
	char *r = xstrdup(b);
	size_t n = strlen(r);
	while (n && r[n - 1] == '/')
		r[--n] = '\0';
	return r;
}

static json_t *webhook_json(const webhook *w)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:b}", "id", w->id, "team_id", w->org_id,
			 "app_id", w->app_id, "channel_id", w->channel_id, "created_by",
			 w->created_by, "created", (json_int_t)w->created, "revoked", w->revoked);
}

static int cmd_webhook_create(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	webhook *w;
	char *secret;
	int err = admin_webhook_create(e, job, opt(o, "app"), opt(o, "channel"), opt(o, "user"), &w,
				       &secret);
	if (err)
		return err;
	app *a = core_app_get(e->state, w->app_id);
	char *base = public_base(e, o);
	*out = webhook_json(w);
	json_object_set_new(*out, "url", json_sprintf("%s/services/%s/%s/%s", base, w->org_id,
						      a->bot_id, secret));
	free(base);
	free(secret);
	return 0;
}

static int webhook_cmp(const void *x, const void *y)
{
	const webhook *a = *(webhook *const *)x, *b = *(webhook *const *)y;
	return a->created != b->created ? (a->created < b->created ? -1 : 1) : strcmp(a->id, b->id);
}

static int cmd_webhook_list(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	const char *app_id = opt(o, "app"), *org_id = opt(o, "org");
	size_t n = 0, it = 0;
	webhook **all = xcalloc(e->state->webhooks.count + 1, sizeof *all);
	void *v;
	while (map_next(&e->state->webhooks, &it, NULL, &v)) {
		webhook *w = v;
		if ((!app_id || !strcmp(w->app_id, app_id)) && (!org_id || !strcmp(w->org_id, org_id)))
			all[n++] = w;
	}
	qsort(all, n, sizeof *all, webhook_cmp);
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, webhook_json(all[i]));
	free(all);
	return 0;
}

static int cmd_webhook_revoke(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	const char *id = opt(o, "id");
	size_t it = 0;
	void *v;
	while (id && map_next(&e->state->webhooks, &it, NULL, &v)) {
		webhook *w = v;
		if (strcmp(w->id, id) != 0)
			continue;
		if (!w->revoked) {
			w->revoked = true;
			store_put_webhook(job, w);
		}
		*out = json_pack("{s:b,s:s}", "ok", 1, "id", w->id);
		return 0;
	}
	*out = json_pack("{s:s}", "error", id ? "webhook_not_found" : "give --id ID");
	return -1;
}

/* file revoke / restore --file F: an admin takes everyone's access to one
 * file away (or gives it back); see admin.files.revokeAccess. */
static int file_set_revoked(admin_env *e, store_job *job, const opts *o, json_t **out, bool on)
{
	const char *id = opt(o, "file");
	if (!id) {
		*out = json_pack("{s:s}", "error", "give --file F");
		return -1;
	}
	store_file f;
	int rc = store_file_get(e->store, id, &f);
	if (!rc && f.deleted)
		rc = ERR_FILE_NOT_FOUND;
	if (!rc) {
		if (f.revoked != on) {
			audit_entity en = {.file_id = f.id,
					   .file_name = f.name,
					   .file_title = f.title,
					   .file_type = f.filetype};
			audit_record(job, e->state, f.org_id, &operator_actor,
				     on ? "file_access_revoked" : "file_access_restored", &en, NULL);
		}
		f.revoked = on;
		f.revoked_by[0] = '\0';
		f.revoked_at = on ? clock_now_s() : 0;
		if (on)
			f.public_url_shared = false;
		store_file_put(job, &f);
		*out = json_pack("{s:s,s:s,s:b}", "id", f.id, "name", f.name ? f.name : "", "revoked", on);
	}
	store_file_release(&f);
	return rc;
}

static int cmd_file_revoke(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	return file_set_revoked(e, job, o, out, true);
}

static int cmd_file_restore(admin_env *e, store_job *job, const opts *o, json_t **out)
{
	return file_set_revoked(e, job, o, out, false);
}

static const struct admin_cmd {
	const char *noun, *verb;
	cmd_fn fn;
	const char *usage;
} cmds[] = {
	{"org", "create", cmd_org_create, "org create NAME [--domain D]"},
	{"org", "list", cmd_org_list, "org list"},
	{"user", "create", cmd_user_create,
	 "user create --org T --name NAME --email E (--password PW | --invite) [--admin] [--owner] [--real-name R]"},
	{"user", "list", cmd_user_list, "user list [--org T]"},
	{"user", "password", cmd_user_password, "user password --user U --password PW"},
	{"user", "token", cmd_user_token, "user token --user U   (issue a new xoxp- token)"},
	{"user", "deactivate", cmd_user_deactivate, "user deactivate --user U   (revokes their tokens)"},
	{"user", "session", cmd_user_session, "user session --user U [--expires-in SECONDS]   (a browser session token)"},
	{"app", "create", cmd_app_create,
	 "app create --org T (--name NAME [--scopes s1,s2,...] | --manifest FILE)   (Slack app manifest, JSON)\n"
	 "             [--signing-secret S] [--verification-token V]   (keep an app's Slack credentials;\n"
	 "             an Events API request_url must answer Slack's url_verification challenge)"},
	{"app", "list", cmd_app_list, "app list [--org T]"},
	{"app", "delete", cmd_app_delete, "app delete --app A   (revokes its bot and app tokens)"},
	{"webhook", "create", cmd_webhook_create,
	 "webhook create --app A --channel C [--user U] [--public-url URL]   (incoming webhook URL)"},
	{"webhook", "list", cmd_webhook_list, "webhook list [--app A] [--org T]"},
	{"webhook", "revoke", cmd_webhook_revoke, "webhook revoke --id ID"},
	{"token", "revoke", cmd_token_revoke, "token revoke (TOKEN | --user U)"},
	{"user", "role", cmd_user_role, "user role --user U --role user|admin|owner"},
	{"retention", "set", admin_cmd_retention_set,
	 "retention set --org T [--channel C] (--days N | --forever)   (channel overrides org)"},
	{"retention", "remove", admin_cmd_retention_remove,
	 "retention remove --org T [--channel C]"},
	{"retention", "show", admin_cmd_retention_show, "retention show --org T"},
	{"retention", "run", admin_cmd_retention_run, "retention run [--as-of TS]   (delete what policies expire now, or by TS: a unix time not in the past)"},
	{"hold", "add", admin_cmd_hold_add,
	 "hold add --org T (--channel C | --user U) [--note TEXT]   (legal hold: nothing covered is deleted)"},
	{"hold", "release", admin_cmd_hold_release, "hold release --org T --id H"},
	{"hold", "list", admin_cmd_hold_list, "hold list --org T"},
	{"audit", "export", admin_cmd_audit_export,
	 "audit export [--org T] [--since UNIX_SECONDS] [--out FILE]   (JSON lines)"},
	{"export", "run", admin_cmd_export, "export run --org T --out DIR   (Slack export layout)"},
	{"file", "revoke", cmd_file_revoke, "file revoke --file F   (nobody but admins can download it)"},
	{"file", "restore", cmd_file_restore, "file restore --file F   (undoes file revoke)"},
};

const char *admin_usage(void)
{
	static char text[8192];
	if (!text[0]) {
		buf b = BUF_INIT;
		buf_adds(&b, "usage: canal admin COMMAND [--data DIR] [--json]\ncommands:\n");
		for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
			buf_printf(&b, "  %s\n", cmds[i].usage);
		snprintf(text, sizeof text, "%s", b.data);
		buf_release(&b);
	}
	return text;
}

int admin_exec(admin_env *e, store_job *job, int argc, char **argv, json_t **out)
{
	opts o;
	*out = NULL;
	if (parse_opts(argc, argv, &o, out) != 0)
		return -1;
	/* `canal admin export --org T --out DIR` reads better than "export run". */
	if (o.npos == 1 && strcmp(o.pos[0], "export") == 0)
		o.pos[o.npos++] = "run";
	if (o.npos >= 2)
		for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
			if (!strcmp(cmds[i].noun, o.pos[0]) && !strcmp(cmds[i].verb, o.pos[1])) {
				int err = cmds[i].fn(e, job, &o, out);
				if (err > 0 || (err < 0 && !*out))
					*out = json_pack("{s:s}", "error", err_name(err));
				return err;
			}
	*out = json_pack("{s:s,s:s}", "error", "unknown command", "usage", admin_usage());
	return -1;
}

char *admin_format_human(const json_t *r)
{
	buf b = BUF_INIT;
	if (json_is_array(r)) {
		size_t i;
		json_t *v;
		json_array_foreach(r, i, v) {
			const char *k;
			json_t *x;
			int first = 1;
			json_object_foreach((json_t *)v, k, x) {
				char *s = json_is_string(x) ? xstrdup(json_string_value(x))
							    : json_dumps(x, JSON_ENCODE_ANY);
				buf_printf(&b, "%s%s=%s", first ? "" : "  ", k, s);
				free(s);
				first = 0;
			}
			buf_addc(&b, '\n');
		}
	} else if (json_is_object(r)) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)r, k, x) {
			char *s = json_is_string(x) ? xstrdup(json_string_value(x))
						    : json_dumps(x, JSON_ENCODE_ANY);
			buf_printf(&b, "%-16s %s\n", k, s);
			free(s);
		}
	}
	return buf_detach(&b, NULL);
}
