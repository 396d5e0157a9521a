/* users.*: the people (and bot users) of the caller's organisation.
 *
 * Design note.
 *  - Every lookup is confined to c->org: a user id from another
 *    organisation answers user_not_found, like an unknown one.
 *  - Listings page over ids in sorted order (core_sorted_keys) so a cursor
 *    is just "start at this id" and stays valid while users are added.
 *  - Deactivated users stay listed (deleted:true) as on Slack, but
 *    users.lookupByEmail does not find them.
 *  - users.profile.set validates every field before changing any, so a
 *    bad field leaves the profile untouched. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "base/xalloc.h"
#include "rt/bus.h"
#include "rt/rt.h"

#define USERS_PAGE_MAX 1000   /* users.list page when no limit is given */
#define CONVS_PAGE_DEF 100
#define CONVS_PAGE_MAX 1000
#define STATUS_DEFAULT_EMOJI ":speech_balloon:"

static bool in_org(api_ctx *c, const char *org_id)
{
	return strcmp(org_id, c->org->id) == 0;
}

/* One page of sorted keys, [*start, *end), from the cursor argument. */
static int page(api_ctx *c, const char *kind, const char **keys, size_t n, size_t limit,
		size_t *start, size_t *end)
{
	int e = api_cursor_start(c, kind, keys, n, start);
	if (e)
		return e;
	*end = n - *start > limit ? *start + limit : n;
	return 0;
}

/* next_cursor names the first key of the next page ("" after the last). */
static void page_done(api_ctx *c, const char *kind, const char **keys, size_t n, size_t end)
{
	api_set_next_cursor(c, kind, end < n ? keys[end] : NULL);
}

/* Slack shows emails to bot tokens only with users:read.email. Checked
 * here rather than with api_need_scope, which would leave missing_scope
 * details behind in err_extra. */
static bool sees_emails(api_ctx *c)
{
	const char *want = "users:read.email";
	size_t wlen = strlen(want);
	if (c->tok->kind != TOKEN_BOT)
		return true;
	for (const char *p = c->tok->scopes; p && *p;) {
		size_t n = strcspn(p, ",");
		if (n == wlen && memcmp(p, want, n) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static json_t *render_profile(api_ctx *c, const user *u)
{
	json_t *p = api_render_profile(c, u);
	if (!sees_emails(c))
		json_object_del(p, "email");
	return p;
}

static json_t *render_user(api_ctx *c, const user *u, bool locale)
{
	json_t *j = api_render_user(c, u);
	if (!sees_emails(c))
		json_object_del(json_object_get(j, "profile"), "email");
	/* Canal has no per-user locale yet; Slack's default is en-US. */
	if (locale)
		json_object_set_new(j, "locale", json_string("en-US"));
	return j;
}

/* The user named by argname, or the caller when the argument is absent. */
static int user_or_me(api_ctx *c, const char *argname, user **out)
{
	const char *id = api_str(c, argname);
	if (!id || !*id) {
		*out = c->me;
		return 0;
	}
	return api_user(c, argname, out);
}

int api_users_list(api_ctx *c)
{
	core_state *s = c->env->state;
	size_t n, k = 0, start, end;
	const char **keys = core_sorted_keys(&s->users, &n);
	long limit;
	bool locale;
	json_t *members;
	int e;

	if ((e = api_int(c, "limit", 0, 0, USERS_PAGE_MAX, &limit)) ||
	    (e = api_bool(c, "include_locale", false, &locale)))
		goto out;
	/* Slack returns everything when no limit is given; a page of the
	 * maximum size keeps one answer bounded. */
	if (limit == 0)
		limit = USERS_PAGE_MAX;
	/* Filtering in place keeps the keys sorted, which the cursor needs. */
	for (size_t i = 0; i < n; i++)
		if (in_org(c, core_user_get(s, keys[i])->org_id))
			keys[k++] = keys[i];
	if ((e = page(c, "users", keys, k, (size_t)limit, &start, &end)))
		goto out;
	members = json_array();
	for (size_t i = start; i < end; i++)
		json_array_append_new(members, render_user(c, core_user_get(s, keys[i]), locale));
	json_object_set_new(c->out, "members", members);
	json_object_set_new(c->out, "cache_ts", json_integer(c->now_us / 1000000));
	page_done(c, "users", keys, k, end);
out:
	free(keys);
	return e;
}

int api_users_info(api_ctx *c)
{
	user *u;
	bool locale;
	int e;

	if ((e = api_bool(c, "include_locale", false, &locale)) || (e = api_user(c, "user", &u)))
		return e;
	json_object_set_new(c->out, "user", render_user(c, u, locale));
	return 0;
}

int api_users_lookup_by_email(api_ctx *c)
{
	const char *email;
	user *u;
	int e = api_str_req(c, "email", &email);
	if (e)
		return e;
	/* The index is case-insensitive; deactivated accounts are not found,
	 * as on Slack. The error name is plural there too. */
	u = core_user_by_email(c->env->state, c->org->id, email);
	if (!u || u->deleted)
		return ERR_USERS_NOT_FOUND;
	json_object_set_new(c->out, "user", render_user(c, u, false));
	return 0;
}

/* types= of users.conversations / conversations.list, with the read scope a
 * bot needs for each. */
static const struct chan_type {
	const char *name;
	chan_kind kind;
	const char *scope;
} chan_types[] = {
	{"public_channel", CHAN_PUBLIC, "channels:read"},
	{"private_channel", CHAN_PRIVATE, "groups:read"},
	{"mpim", CHAN_MPIM, "mpim:read"},
	{"im", CHAN_IM, "im:read"},
};

/* Scopes bind bot tokens only (the method table's rule). */
static int need_bot_scope(api_ctx *c, const char *scope)
{
	return c->tok->kind == TOKEN_BOT ? api_need_scope(c, scope) : 0;
}

/* Bit (1 << kind) per requested type; public channels when none given. */
static int parse_types(api_ctx *c, unsigned *mask)
{
	char **l = NULL;
	size_t n = api_list(c, "types", &l);
	int e = 0;

	*mask = 0;
	for (size_t i = 0; i < n && !e; i++) {
		size_t t = 0;
		while (t < sizeof chan_types / sizeof chan_types[0] &&
		       strcmp(l[i], chan_types[t].name) != 0)
			t++;
		if (t == sizeof chan_types / sizeof chan_types[0])
			e = ERR_INVALID_TYPES;
		else if (!(e = need_bot_scope(c, chan_types[t].scope)))
			*mask |= 1u << chan_types[t].kind;
	}
	if (!e && !*mask)
		e = need_bot_scope(c, "channels:read");
	if (!e && !*mask)
		*mask = 1u << CHAN_PUBLIC;
	api_list_free(l, n);
	return e;
}

int api_users_conversations(api_ctx *c)
{
	core_state *s = c->env->state;
	size_t n, k = 0, start, end;
	const char **keys = core_sorted_keys(&s->channels, &n);
	user *target;
	unsigned mask;
	bool no_archived;
	long limit;
	json_t *chans;
	int e;

	if ((e = user_or_me(c, "user", &target)) || (e = parse_types(c, &mask)) ||
	    (e = api_bool(c, "exclude_archived", false, &no_archived)) ||
	    (e = api_int(c, "limit", CONVS_PAGE_DEF, 0, CONVS_PAGE_MAX, &limit)))
		goto out;
	if (limit == 0)
		limit = CONVS_PAGE_DEF;
	for (size_t i = 0; i < n; i++) {
		channel *ch = core_channel_get(s, keys[i]);
		if (!in_org(c, ch->org_id) || !(mask & (1u << ch->kind)) ||
		    (no_archived && ch->archived) || !rules_is_member(target, ch))
			continue;
		/* Asking about someone else shows only what both may see: their
		 * private channels and DMs stay hidden from the caller. */
		if (target != c->me && !rules_can_see(c->me, ch))
			continue;
		keys[k++] = keys[i];
	}
	if ((e = page(c, "channels", keys, k, (size_t)limit, &start, &end)))
		goto out;
	chans = json_array();
	for (size_t i = start; i < end; i++)
		json_array_append_new(chans, api_render_channel(c, core_channel_get(s, keys[i])));
	json_object_set_new(c->out, "channels", chans);
	page_done(c, "channels", keys, k, end);
out:
	free(keys);
	return e;
}

int api_users_profile_get(api_ctx *c)
{
	user *u;
	int e = user_or_me(c, "user", &u);
	if (e)
		return e;
	/* include_labels concerns custom profile fields, which Canal lacks. */
	json_object_set_new(c->out, "profile", render_profile(c, u));
	return 0;
}

/* ---- users.profile.set ---- */

enum {
	PF_DISPLAY_NAME,
	PF_REAL_NAME,
	PF_FIRST_NAME,
	PF_LAST_NAME,
	PF_TITLE,
	PF_PHONE,
	PF_EMAIL,
	PF_STATUS_TEXT,
	PF_STATUS_EMOJI,
	PF__COUNT
};

/* The profile fields Canal keeps, with their limits in characters. Other
 * keys Slack knows (status_expiration, pronouns, fields, ...) are accepted
 * and ignored, as Slack ignores keys it does not know. */
static const struct profile_field {
	const char *key;
	size_t max;
} profile_fields[PF__COUNT] = {
	[PF_DISPLAY_NAME] = {"display_name", 80},
	[PF_REAL_NAME] = {"real_name", 80},
	[PF_FIRST_NAME] = {"first_name", 80},
	[PF_LAST_NAME] = {"last_name", 80},
	[PF_TITLE] = {"title", 250},
	[PF_PHONE] = {"phone", 50},
	[PF_EMAIL] = {"email", 254},
	[PF_STATUS_TEXT] = {"status_text", 100},
	[PF_STATUS_EMOJI] = {"status_emoji", 102},
};

/* The requested changes as one JSON object: `profile` (a JSON object, or
 * its JSON text from a form), else the single `name`/`value` pair. New
 * reference in *out. */
static int profile_arg(api_ctx *c, json_t **out)
{
	int err = 0;
	json_t *p = api_json_arg(c, "profile", ERR_INVALID_PROFILE, &err);
	const char *name, *value;

	if (err)
		return err;
	if (p) {
		if (!json_is_object(p)) {
			json_decref(p);
			return ERR_INVALID_PROFILE;
		}
		*out = p;
		return 0;
	}
	name = api_str(c, "name");
	if (!name || !*name)
		return ERR_INVALID_PROFILE;
	value = api_str(c, "value");
	p = json_object();
	json_object_set_new(p, name, json_string(value ? value : ""));
	*out = p;
	return 0;
}

/* ":name:" (skin tones included) or "" to clear. */
static bool status_emoji_ok(const char *s)
{
	size_t n = strlen(s);
	char *name;
	bool ok;

	if (n == 0)
		return true;
	if (n < 3 || s[0] != ':' || s[n - 1] != ':')
		return false;
	name = xstrndup(s + 1, n - 2);
	ok = rules_emoji_name_ok(name);
	free(name);
	return ok;
}

/* real_name from first/last, either of which may be given alone: the
 * other half comes from the current real_name split at its first space
 * (Canal keeps no separate first and last names). Heap string. */
static char *real_name_from(const user *u, const char *first, const char *last)
{
	const char *cur = u->real_name ? u->real_name : "";
	const char *sp = strchr(cur, ' ');
	char *cur_first = sp ? xstrndup(cur, (size_t)(sp - cur)) : xstrdup(cur);
	char *r;

	if (!first)
		first = cur_first;
	if (!last)
		last = sp ? sp + 1 : "";
	if (!*first || !*last)
		r = xstrdup(*first ? first : last);
	else
		r = xasprintf("%s %s", first, last);
	free(cur_first);
	return r;
}

static bool is_admin(const user *u)
{
	return u->is_admin || u->is_owner || u->is_primary_owner;
}

/* May the caller edit target's profile? Users edit their own; only the
 * primary owner edits an admin's or owner's (cannot_update_admin_user);
 * admins edit everyone else's (not_admin otherwise). */
static int profile_may_edit(api_ctx *c, const user *target)
{
	if (target == c->me)
		return 0;
	if (is_admin(target) && !c->me->is_primary_owner)
		return ERR_CANNOT_UPDATE_ADMIN_USER;
	if (!is_admin(c->me))
		return ERR_NOT_ADMIN;
	return 0;
}

/* user_change to the whole org. One serialization reaches every
 * session, bots without users:read.email included, so the event never
 * carries an email address. */
static void emit_user_change(api_ctx *c, const user *u)
{
	json_t *j = api_render_user(c, u);
	json_object_del(json_object_get(j, "profile"), "email");
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string("user_change"));
	json_object_set_new(e, "user", j);
	json_object_set_new(e, "cache_ts", json_integer(c->now_us / 1000000));
	api_emit(c, BUS_ORG, u->org_id, e, NULL);
}

int api_users_profile_set(api_ctx *c)
{
	core_state *s = c->env->state;
	const char *val[PF__COUNT] = {0};
	json_t *p = NULL;
	user *u;
	char *email = NULL, *real = NULL;
	int e;

	if ((e = user_or_me(c, "user", &u)) || (e = profile_may_edit(c, u)) ||
	    (e = profile_arg(c, &p)))
		goto out;
	/* Validate everything first: a rejected field changes nothing. */
	for (int i = 0; i < PF__COUNT; i++) {
		json_t *v = json_object_get(p, profile_fields[i].key);
		if (!v)
			continue;
		if (json_is_null(v))
			val[i] = "";
		else if (json_is_string(v))
			val[i] = json_string_value(v);
		else {
			e = ERR_INVALID_PROFILE;
			goto out;
		}
		if (rules_utf8_len(val[i]) > profile_fields[i].max) {
			e = ERR_TOO_LONG;
			goto out;
		}
	}
	if (val[PF_STATUS_EMOJI] && !status_emoji_ok(val[PF_STATUS_EMOJI])) {
		e = ERR_INVALID_PROFILE;
		goto out;
	}
	if (val[PF_EMAIL]) {
		user *other;
		email = xstrdup(val[PF_EMAIL]);
		for (char *q = email; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (!rules_email_ok(email)) {
			e = ERR_INVALID_EMAIL;
			goto out;
		}
		/* Slack: "some fields, like email, may only be updated by an
		 * admin" -- own address included. */
		if (!is_admin(c->me) && (!u->email || strcmp(email, u->email) != 0)) {
			e = ERR_NOT_ADMIN;
			goto out;
		}
		other = core_user_by_email(s, u->org_id, email);
		if (other && other != u) {
			e = ERR_EMAIL_TAKEN;
			goto out;
		}
	}
	if (val[PF_REAL_NAME])
		real = xstrdup(val[PF_REAL_NAME]);
	else if (val[PF_FIRST_NAME] || val[PF_LAST_NAME])
		real = real_name_from(u, val[PF_FIRST_NAME], val[PF_LAST_NAME]);

	/* Apply. */
	if (val[PF_DISPLAY_NAME])
		xstrset(&u->display_name, val[PF_DISPLAY_NAME]);
	if (real) {
		free(u->real_name);
		u->real_name = real;
		real = NULL;
	}
	if (val[PF_TITLE])
		xstrset(&u->title, val[PF_TITLE]);
	if (val[PF_PHONE])
		xstrset(&u->phone, val[PF_PHONE]);
	if (email) {
		char *old = u->email;
		u->email = email;
		email = NULL;
		core_user_reindex(s, u, NULL, old);
		free(old);
	}
	if (val[PF_STATUS_EMOJI])
		xstrset(&u->status_emoji, val[PF_STATUS_EMOJI]);
	if (val[PF_STATUS_TEXT])
		xstrset(&u->status_text, val[PF_STATUS_TEXT]);
	/* Slack gives a status with text but no emoji the speech balloon. */
	if ((val[PF_STATUS_TEXT] || val[PF_STATUS_EMOJI]) && u->status_text && *u->status_text &&
	    (!u->status_emoji || !*u->status_emoji))
		xstrset(&u->status_emoji, STATUS_DEFAULT_EMOJI);
	u->updated = c->now_us / 1000000;
	store_put_user(api_job(c), u);
	json_object_set_new(c->out, "profile", render_profile(c, u));
	emit_user_change(c, u);
out:
	json_decref(p);
	free(email);
	free(real);
	return e;
}

/* ---- presence ----
 * "active" while one of the user's sockets is connected and not idle and
 * the user has not set themself away (rt_user_online), "away" otherwise. The details
 * (connections, manual/auto away) are Slack's and shown only to the user
 * themself. */

int api_users_get_presence(api_ctx *c)
{
	rt *r = c->env->rt;
	user *u;
	int e = user_or_me(c, "user", &u);
	if (e)
		return e;
	bool active = r && rt_user_online(r, u->id);
	json_object_set_new(c->out, "presence", json_string(active ? "active" : "away"));
	if (u != c->me)
		return 0;
	int conns = r ? rt_user_connections(r, u->id) : 0;
	json_object_set_new(c->out, "online", json_boolean(conns > 0));
	json_object_set_new(c->out, "auto_away", json_boolean(!active && !u->manual_away));
	json_object_set_new(c->out, "manual_away", json_boolean(u->manual_away));
	json_object_set_new(c->out, "connection_count", json_integer(conns));
	/* Seconds since the epoch of the latest client message, API call or
	 * connect (this call included). */
	if (conns > 0)
		json_object_set_new(c->out, "last_activity",
				    json_integer(rt_user_last_activity_us(r, u->id) / 1000000));
	return 0;
}

int api_users_set_presence(api_ctx *c)
{
	const char *p;
	int e = api_str_req(c, "presence", &p);
	if (e)
		return e;
	bool away;
	if (strcmp(p, "away") == 0)
		away = true;
	else if (strcmp(p, "auto") == 0)
		away = false;
	else
		return ERR_INVALID_PRESENCE;
	/* Manual away lives in memory only: a restart brings everyone back
	 * to auto, which is what Slack does after a while anyway. */
	if (c->env->rt)
		rt_set_manual_away(c->env->rt, c->me, away);
	else
		c->me->manual_away = away;
	return 0;
}
