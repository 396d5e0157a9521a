/* usergroups.*: named groups of users mentioned as <!subteam^S...>.
 *
 * Design note.
 *  - A group belongs to one organisation; an id from another answers
 *    no_such_subteam, like an unknown one.
 *  - Names and handles are unique per organisation among all groups,
 *    disabled ones included (a disabled group can be enabled again), and
 *    compared case-insensitively. A handle must not be a user's name
 *    either, since both are mentioned as @handle.
 *  - Disabling is a date (date_delete != 0), never a removal, so
 *    usergroups.enable restores the group as it was.
 *  - Members and default channels are kept as comma-separated ids in
 *    order (types.h); handlers validate every id before storing the list.
 *  - As on Slack's default workspace settings, any member may create and
 *    change groups.
 *  - user_count is always rendered (Slack's answers carry it either way),
 *    so include_count is only validated. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/handlers.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "rt/bus.h"

#define HANDLE_MAX 80

static int64_t now_s(api_ctx *c)
{
	return c->now_us / 1000000;
}

static void id_copy(char dst[ID_MAX], const char *src)
{
	snprintf(dst, ID_MAX, "%s", src ? src : "");
}

/* The group named by the `usergroup` argument, in the caller's org. */
static int group_arg(api_ctx *c, usergroup **out)
{
	const char *id;
	usergroup *g;
	int e = api_str_req(c, "usergroup", &id);
	if (e)
		return e;
	g = core_usergroup_get(c->env->state, id);
	if (!g || strcmp(g->org_id, c->org->id) != 0)
		return ERR_NO_SUCH_SUBTEAM;
	*out = g;
	return 0;
}

/* Another group of the org (not self) whose name (or handle) is v. */
static usergroup *group_clash(api_ctx *c, const usergroup *self, bool handle, const char *v)
{
	void *val;
	for (size_t i = 0; map_next(&c->env->state->usergroups, &i, NULL, &val);) {
		usergroup *g = val;
		const char *have = handle ? g->handle : g->name;
		if (g != self && strcmp(g->org_id, c->org->id) == 0 && have &&
		    strcasecmp(have, v) == 0)
			return g;
	}
	return NULL;
}

/* A handle as Slack keeps it: lowercase letters, digits, '.', '-', '_';
 * spaces become '-', a leading '@' (what people type) and anything else is
 * dropped. Heap string, possibly empty. */
static char *handle_normalize(const char *s)
{
	buf b = BUF_INIT;
	if (*s == '@')
		s++;
	for (; *s; s++) {
		int ch = tolower((unsigned char)*s);
		if (isascii(ch) && (isalnum(ch) || ch == '.' || ch == '-' || ch == '_'))
			buf_addc(&b, (char)ch);
		else if (ch == ' ')
			buf_addc(&b, '-');
	}
	return buf_detach(&b, NULL);
}

/* Validates name and handle for g (NULL when creating); 0 or the Slack
 * error for the first conflict. */
static int check_names(api_ctx *c, const usergroup *g, const char *name, const char *handle)
{
	if (name && group_clash(c, g, false, name))
		return ERR_NAME_ALREADY_EXISTS;
	/* Keeping one's own handle is no conflict, even with a user who took
	 * that name since. */
	if (handle && g && g->handle && strcmp(handle, g->handle) == 0)
		handle = NULL;
	if (handle) {
		if (!*handle)
			return ERR_INVALID_ARGUMENTS;
		if (strlen(handle) > HANDLE_MAX)
			return ERR_INVALID_NAME_MAXLENGTH;
		if (group_clash(c, g, true, handle) ||
		    core_user_by_name(c->env->state, c->org->id, handle))
			return ERR_HANDLE_ALREADY_EXISTS;
	}
	return 0;
}

/* Joins ids with ',' skipping repeats (first occurrence wins). Heap. */
static char *csv_join(char **ids, size_t n)
{
	buf b = BUF_INIT;
	map seen;
	map_init(&seen);
	for (size_t i = 0; i < n; i++) {
		if (map_put(&seen, ids[i], ids[i]))
			continue;
		if (b.len)
			buf_addc(&b, ',');
		buf_adds(&b, ids[i]);
	}
	map_release(&seen);
	return buf_detach(&b, NULL);
}

/* The `channels` argument as a validated list (heap) in *out, or NULL
 * when the argument is absent. Each must be a public or private channel of
 * the org that the caller can see. */
static int channels_arg(api_ctx *c, char **out)
{
	char **l = NULL;
	size_t n;
	int e = 0;

	*out = NULL;
	if (!json_object_get(c->args, "channels"))
		return 0;
	n = api_list(c, "channels", &l);
	for (size_t i = 0; i < n && !e; i++) {
		channel *ch = core_channel_get(c->env->state, l[i]);
		if (!ch || (ch->kind != CHAN_PUBLIC && ch->kind != CHAN_PRIVATE) ||
		    !rules_can_see(c->me, ch))
			e = ERR_CHANNEL_NOT_FOUND;
	}
	if (!e)
		*out = csv_join(l, n);
	api_list_free(l, n);
	return e;
}

/* ---- real-time events: org-wide, a group is public to its org ---- */

/* subteam_created / subteam_updated with the group and its members. */
static void emit_subteam(api_ctx *c, const usergroup *g, const char *type)
{
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "subteam", api_render_usergroup(c, g, true));
	api_emit(c, BUS_ORG, g->org_id, e, NULL);
}

static bool csv_has(const char *csv, const char *id, size_t n)
{
	for (const char *p = csv; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && memcmp(p, id, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* The ids of csv that are not in other, as a JSON array. */
static json_t *csv_minus(const char *csv, const char *other)
{
	json_t *a = json_array();
	for (const char *p = csv; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len && !csv_has(other, p, len))
			json_array_append_new(a, json_stringn(p, len));
		p += len;
		if (*p == ',')
			p++;
	}
	return a;
}

/* subteam_members_changed: who came and went between the member lists
 * before and g->users now; prev_update is the date_update before. */
static void emit_members_changed(api_ctx *c, const usergroup *g, const char *before,
				 int64_t prev_update)
{
	json_t *added = csv_minus(g->users, before), *removed = csv_minus(before, g->users);
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string("subteam_members_changed"));
	json_object_set_new(e, "subteam_id", json_string(g->id));
	json_object_set_new(e, "team_id", json_string(g->org_id));
	json_object_set_new(e, "date_previous_update", json_integer(prev_update));
	json_object_set_new(e, "date_update", json_integer(g->date_update));
	json_object_set_new(e, "added_users_count", json_sprintf("%zu", json_array_size(added)));
	json_object_set_new(e, "added_users", added);
	json_object_set_new(e, "removed_users_count", json_sprintf("%zu", json_array_size(removed)));
	json_object_set_new(e, "removed_users", removed);
	api_emit(c, BUS_ORG, g->org_id, e, NULL);
}

int api_usergroups_create(api_ctx *c)
{
	core_state *s = c->env->state;
	const char *name, *handle, *desc;
	char *h = NULL, *chans = NULL;
	char id[ID_MAX];
	bool count;
	usergroup *g;
	int e;

	if ((e = api_str_req(c, "name", &name)) || (e = api_bool(c, "include_count", false, &count)) ||
	    (e = channels_arg(c, &chans)))
		goto out;
	handle = api_str(c, "handle");
	desc = api_str(c, "description");
	/* Without a handle Slack derives one from the name. */
	h = handle_normalize(handle && *handle ? handle : name);
	if ((e = check_names(c, NULL, name, h)))
		goto out;

	ids_new(id, "S");
	g = core_usergroup_new(id, c->org->id);
	g->name = xstrdup(name);
	g->handle = h;
	h = NULL;
	g->description = xstrdup(desc ? desc : "");
	g->users = xstrdup("");
	g->channels = chans ? chans : xstrdup("");
	chans = NULL;
	g->date_create = g->date_update = now_s(c);
	id_copy(g->created_by, c->me->id);
	id_copy(g->updated_by, c->me->id);
	core_usergroup_add(s, g);
	store_put_usergroup(api_job(c), g);
	json_object_set_new(c->out, "usergroup", api_render_usergroup(c, g, true));
	emit_subteam(c, g, "subteam_created");
out:
	free(h);
	free(chans);
	return e;
}

int api_usergroups_list(api_ctx *c)
{
	core_state *s = c->env->state;
	bool users, count, disabled;
	size_t n = 0;
	const char **keys = NULL;
	json_t *arr;
	int e;

	if ((e = api_bool(c, "include_users", false, &users)) ||
	    (e = api_bool(c, "include_count", false, &count)) ||
	    (e = api_bool(c, "include_disabled", false, &disabled)))
		goto out;
	keys = core_sorted_keys(&s->usergroups, &n);
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		usergroup *g = core_usergroup_get(s, keys[i]);
		if (strcmp(g->org_id, c->org->id) != 0 || (g->date_delete && !disabled))
			continue;
		json_array_append_new(arr, api_render_usergroup(c, g, users));
	}
	json_object_set_new(c->out, "usergroups", arr);
out:
	free(keys);
	return e;
}

int api_usergroups_update(api_ctx *c)
{
	const char *name, *handle, *desc;
	char *h = NULL, *chans = NULL;
	bool count;
	usergroup *g;
	int e;

	if ((e = group_arg(c, &g)) || (e = api_bool(c, "include_count", false, &count)) ||
	    (e = channels_arg(c, &chans)))
		goto out;
	/* Empty name/handle mean "leave as is"; an empty description clears. */
	name = api_str(c, "name");
	if (name && !*name)
		name = NULL;
	handle = api_str(c, "handle");
	if (handle && *handle)
		h = handle_normalize(handle);
	desc = api_str(c, "description");
	if ((e = check_names(c, g, name, h)))
		goto out;

	if (name)
		xstrset(&g->name, name);
	if (h) {
		free(g->handle);
		g->handle = h;
		h = NULL;
	}
	if (desc)
		xstrset(&g->description, desc);
	if (chans) {
		free(g->channels);
		g->channels = chans;
		chans = NULL;
	}
	g->date_update = now_s(c);
	id_copy(g->updated_by, c->me->id);
	store_put_usergroup(api_job(c), g);
	json_object_set_new(c->out, "usergroup", api_render_usergroup(c, g, true));
	emit_subteam(c, g, "subteam_updated");
out:
	free(h);
	free(chans);
	return e;
}

/* disable and enable: the same change with the date set or cleared. */
static int set_disabled(api_ctx *c, bool disable)
{
	bool count;
	usergroup *g;
	int e;

	if ((e = group_arg(c, &g)) || (e = api_bool(c, "include_count", false, &count)))
		return e;
	g->date_update = now_s(c);
	id_copy(g->updated_by, c->me->id);
	g->date_delete = disable ? g->date_update : 0;
	id_copy(g->deleted_by, disable ? c->me->id : "");
	store_put_usergroup(api_job(c), g);
	json_object_set_new(c->out, "usergroup", api_render_usergroup(c, g, true));
	emit_subteam(c, g, "subteam_updated");
	return 0;
}

int api_usergroups_disable(api_ctx *c)
{
	return set_disabled(c, true);
}

int api_usergroups_enable(api_ctx *c)
{
	return set_disabled(c, false);
}

int api_usergroups_users_list(api_ctx *c)
{
	bool disabled;
	usergroup *g;
	json_t *arr;
	const char *p;
	int e;

	/* include_disabled is parsed for validation only: the members of a
	 * disabled group are still listed, which is what clients want. */
	if ((e = group_arg(c, &g)) || (e = api_bool(c, "include_disabled", false, &disabled)))
		return e;
	arr = json_array();
	for (p = g->users; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len)
			json_array_append_new(arr, json_stringn(p, len));
		p += len;
		if (*p == ',')
			p++;
	}
	json_object_set_new(c->out, "users", arr);
	return 0;
}

int api_usergroups_users_update(api_ctx *c)
{
	char **l = NULL, *before = NULL;
	int64_t prev_update = 0;
	size_t n = 0;
	bool count;
	usergroup *g;
	int e;

	if ((e = group_arg(c, &g)) || (e = api_bool(c, "include_count", false, &count)))
		goto out;
	n = api_list(c, "users", &l);
	if (n == 0) {
		e = ERR_NO_USERS_PROVIDED;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		user *u = core_user_get(c->env->state, l[i]);
		if (!u || u->deleted || strcmp(u->org_id, c->org->id) != 0) {
			e = ERR_INVALID_USERS;
			goto out;
		}
	}
	before = g->users;
	prev_update = g->date_update;
	g->users = csv_join(l, n);
	g->date_update = now_s(c);
	id_copy(g->updated_by, c->me->id);
	store_put_usergroup(api_job(c), g);
	json_object_set_new(c->out, "usergroup", api_render_usergroup(c, g, true));
	emit_subteam(c, g, "subteam_updated");
	emit_members_changed(c, g, before, prev_update);
out:
	free(before);
	api_list_free(l, n);
	return e;
}
