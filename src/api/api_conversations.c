/* conversations.create / join / leave / invite / kick / open / close /
 * archive / unarchive / rename / setTopic / setPurpose / mark: the methods
 * that change a conversation.
 *
 * Every handler validates all of its arguments and permissions before it
 * touches hot state: the dispatcher submits the job even when a handler
 * fails, so a handler that changed something and then failed would
 * still persist the change. Hence "check everything, then act".
 *
 * Rules shared by the family (Slack's):
 *  - #general (org->general_id, ch->is_general) holds everyone: it cannot
 *    be left, kicked from or archived.
 *  - IMs have exactly their two participants: join/leave/invite/kick/
 *    archive/rename answer method_not_supported_for_channel_type. MPIMs
 *    have a fixed member set too, but may be left.
 *  - Changing a channel needs membership (not_in_channel) and, for a
 *    bot, the kind's write scope (channels:manage, groups:write, ...).
 *  - Every visible change leaves a system message in the channel
 *    (channel_join, channel_topic, channel_name ...) posted as the caller. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_audit.h"
#include "api/handlers.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "rt/bus.h"

#define MPIM_MAX_OTHERS 8 /* Slack: a group DM holds at most 9 people */
#define INVITE_MAX_USERS 1000

/* Posts a system message by the caller. Takes text (heap) and extra (a
 * JSON object reference, may be NULL). */
static void post_system(api_ctx *c, channel *ch, const char *subtype, char *text, json_t *extra)
{
	message m;
	message_init(&m);
	m.subtype = xstrdup(subtype);
	snprintf(m.user_id, sizeof m.user_id, "%s", c->me->id);
	m.text = text;
	if (extra) {
		m.extra = json_dumps(extra, JSON_COMPACT);
		json_decref(extra);
	}
	api_post(c, ch, &m);
	message_release(&m);
}

/* ---- real-time events ----
 * Membership events are queued after the membership changed in hot state;
 * they are delivered after the commit, to the channel's members as they
 * are then: a joiner gets its own member_joined_channel, a leaver does
 * not get member_left_channel (it gets channel_left instead). */

/* Where a change to the channel itself goes: everyone in the org for a
 * public channel, the members otherwise. */
static void emit_about(api_ctx *c, const channel *ch, json_t *e)
{
	if (ch->kind == CHAN_PUBLIC)
		api_emit(c, BUS_ORG, ch->org_id, e, NULL);
	else
		api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
}

/* u joined ch (inviter: who added them, or NULL): member_joined_channel
 * to the members, channel_joined (group_joined for private kinds) to u. */
static void emit_joined(api_ctx *c, channel *ch, user *u, const user *inviter)
{
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string("member_joined_channel"));
	json_object_set_new(e, "user", json_string(u->id));
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "channel_type", json_string(api_channel_type(ch)));
	json_object_set_new(e, "team", json_string(ch->org_id));
	if (inviter && inviter != u)
		json_object_set_new(e, "inviter", json_string(inviter->id));
	api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
	e = json_object();
	json_object_set_new(e, "type", json_string(ch->kind == CHAN_PUBLIC ? "channel_joined" : "group_joined"));
	json_object_set_new(e, "channel", api_render_channel_as(c, ch, u));
	api_emit(c, BUS_USER, u->id, e, NULL);
}

/* u left ch (or was removed): member_left_channel to the members left,
 * channel_left (group_left) to u's own sessions. */
static void emit_left(api_ctx *c, const channel *ch, const user *u)
{
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string("member_left_channel"));
	json_object_set_new(e, "user", json_string(u->id));
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "channel_type", json_string(api_channel_type(ch)));
	json_object_set_new(e, "team", json_string(ch->org_id));
	api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
	e = json_object();
	json_object_set_new(e, "type", json_string(ch->kind == CHAN_PUBLIC ? "channel_left" : "group_left"));
	json_object_set_new(e, "channel", json_string(ch->id));
	api_emit(c, BUS_USER, u->id, e, NULL);
}

/* channel_archive / channel_unarchive. */
static void emit_archive(api_ctx *c, const channel *ch, bool archived)
{
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string(archived ? "channel_archive" : "channel_unarchive"));
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "user", json_string(c->me->id));
	emit_about(c, ch, e);
}

/* The other participant of an IM as u sees it. */
static const char *im_other(const channel *ch, const user *u)
{
	return strcmp(ch->im_user, u->id) == 0 ? ch->creator : ch->im_user;
}

/* The caller opened or closed its side of a DM: im_open / im_close
 * (mpim_open / mpim_close) to the caller's sessions. */
static void emit_dm_open(api_ctx *c, const channel *ch, bool open)
{
	json_t *e = json_object();
	if (ch->kind == CHAN_IM) {
		json_object_set_new(e, "type", json_string(open ? "im_open" : "im_close"));
		json_object_set_new(e, "user", json_string(im_other(ch, c->me)));
	} else {
		json_object_set_new(e, "type", json_string(open ? "mpim_open" : "mpim_close"));
	}
	json_object_set_new(e, "channel", json_string(ch->id));
	api_emit(c, BUS_USER, c->me->id, e, NULL);
}

static void touch(api_ctx *c, channel *ch)
{
	ch->updated = c->now_us / 1000;
	store_put_channel(api_job(c), ch);
}

static bool is_dm_kind(const channel *ch)
{
	return ch->kind == CHAN_IM || ch->kind == CHAN_MPIM;
}

/* The channel argument, resolved and checked against the kind's write
 * scope. */
static int chan_for_write(api_ctx *c, channel **out)
{
	int rc = api_channel(c, "channel", false, out);
	if (!rc)
		rc = api_need_chan_scope(c, *out, "write");
	return rc;
}

static void set_channel_out(api_ctx *c, const channel *ch)
{
	json_object_set_new(c->out, "channel", api_render_channel(c, ch));
}

/* Public and private channels of the caller's org, archived ones too (they
 * keep their names and history). DMs are not counted. A walk of every
 * channel, but only on a create, which is rate-limited (Tier 2). */
static size_t org_channel_count(api_ctx *c)
{
	size_t n = 0, it = 0;
	void *v;
	while (map_next(&c->env->state->channels, &it, NULL, &v)) {
		const channel *ch = v;
		n += (ch->kind == CHAN_PUBLIC || ch->kind == CHAN_PRIVATE) &&
		     strcmp(ch->org_id, c->org->id) == 0;
	}
	return n;
}

int api_conversations_create(api_ctx *c)
{
	bool priv;
	if (api_bool(c, "is_private", false, &priv) != 0)
		return ERR_INVALID_ARGUMENTS;
	int rc = api_need_scope(c, priv ? "groups:write" : "channels:manage");
	if (rc)
		return rc;
	/* Slack checks the name exactly as given: "Foo" is invalid_name_specials,
	 * not silently lowercased. */
	const char *name = api_str(c, "name");
	if ((rc = rules_channel_name_check(name)) != 0)
		return rc;
	core_state *s = c->env->state;
	/* The name index keeps archived channels too, so their names stay taken. */
	if (core_channel_by_name(s, c->org->id, name))
		return ERR_NAME_TAKEN;
	if (c->env->max_channels_per_org && org_channel_count(c) >= c->env->max_channels_per_org)
		return ERR_CHANNEL_LIMIT;

	char id[ID_MAX];
	ids_new(id, "C");
	channel *ch = core_channel_new(id, c->org->id, priv ? CHAN_PRIVATE : CHAN_PUBLIC);
	ch->name = xstrdup(name);
	snprintf(ch->creator, sizeof ch->creator, "%s", c->me->id);
	ch->created = c->now_us / 1000000;
	ch->updated = c->now_us / 1000;
	core_channel_add(s, ch);
	store_put_channel(api_job(c), ch);
	api_member_join(c, ch, c->me, NULL, true);
	/* A public channel is news for the whole org; a private one only
	 * for its creator, its one member. */
	json_t *e = json_object();
	if (!priv) {
		json_object_set_new(e, "type", json_string("channel_created"));
		json_object_set_new(e, "channel", api_render_channel_as(c, ch, NULL));
		api_emit(c, BUS_ORG, c->org->id, e, NULL);
		e = json_object();
	}
	json_object_set_new(e, "type", json_string(priv ? "group_joined" : "channel_joined"));
	json_object_set_new(e, "channel", api_render_channel(c, ch));
	api_emit(c, BUS_USER, c->me->id, e, NULL);
	set_channel_out(c, ch);
	return 0;
}

int api_conversations_join(api_ctx *c)
{
	channel *ch;
	/* channels:join is checked by the method table. A private channel the
	 * caller is not in stays channel_not_found (api_channel). */
	int rc = api_channel(c, "channel", false, &ch);
	if (rc)
		return rc;
	if (ch->kind != CHAN_PUBLIC)
		return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	if (rules_is_member(c->me, ch)) {
		api_warn(c, "already_in_channel");
		json_object_set_new(c->out, "already_in_channel", json_true());
	} else {
		api_member_join(c, ch, c->me, NULL, true);
		emit_joined(c, ch, c->me, NULL);
	}
	set_channel_out(c, ch);
	return 0;
}

int api_conversations_leave(api_ctx *c)
{
	channel *ch;
	int rc = chan_for_write(c, &ch);
	if (rc)
		return rc;
	if (ch->kind == CHAN_IM)
		return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
	if (ch->is_general)
		return ERR_CANT_LEAVE_GENERAL;
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	if (!rules_is_member(c->me, ch)) {
		json_object_set_new(c->out, "not_in_channel", json_true());
		return 0;
	}
	/* Nobody could ever get back into an empty private conversation. */
	if (ch->kind != CHAN_PUBLIC && core_member_count(ch) <= 1)
		return ERR_LAST_MEMBER;
	api_member_leave(c, ch, c->me, true);
	emit_left(c, ch, c->me);
	return 0;
}

/* One rejected user of an invite, in Slack's errors[] shape. */
static void invite_error(json_t *errors, const char *uid, int err, int *first)
{
	json_array_append_new(errors, json_pack("{s:s,s:b,s:s}", "user", uid, "ok", 0, "error",
						err_name(err)));
	if (!*first)
		*first = err;
}

int api_conversations_invite(api_ctx *c)
{
	channel *ch;
	char **ids = NULL;
	size_t nids = 0, nvalid = 0, nalready = 0;
	user **valid = NULL;
	json_t *errors = json_array();
	int first_err = 0;
	bool force;
	int rc = chan_for_write(c, &ch);
	if (rc)
		goto out;
	if (is_dm_kind(ch)) {
		rc = ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
		goto out;
	}
	if (ch->archived) {
		rc = ERR_IS_ARCHIVED;
		goto out;
	}
	if (!rules_is_member(c->me, ch)) {
		rc = ERR_NOT_IN_CHANNEL;
		goto out;
	}
	if (api_bool(c, "force", false, &force) != 0) {
		rc = ERR_INVALID_ARGUMENTS;
		goto out;
	}
	nids = api_list(c, "users", &ids);
	if (!nids) {
		rc = ERR_NO_USER;
		goto out;
	}
	if (nids > INVITE_MAX_USERS) {
		rc = ERR_TOO_MANY_USERS;
		goto out;
	}

	core_state *s = c->env->state;
	valid = xmalloc(nids * sizeof *valid);
	for (size_t i = 0; i < nids; i++) {
		user *u = core_user_get(s, ids[i]);
		bool dup = false;
		for (size_t k = 0; k < nvalid && !dup; k++)
			dup = valid[k] == u;
		if (dup)
			continue;
		if (!u || strcmp(u->org_id, c->org->id) != 0)
			invite_error(errors, ids[i], ERR_USER_NOT_FOUND, &first_err);
		else if (u->deleted)
			invite_error(errors, ids[i], ERR_CANT_INVITE, &first_err);
		else if (u == c->me)
			invite_error(errors, ids[i], ERR_CANT_INVITE_SELF, &first_err);
		else if (rules_is_member(u, ch))
			nalready++; /* harmless unless nobody is left to invite */
		else
			valid[nvalid++] = u;
	}
	/* Without force one bad id fails the whole call; with force the good
	 * ones go ahead as long as there are any. */
	if (first_err && (!force || !nvalid))
		rc = first_err;
	else if (!nvalid && nalready)
		rc = ERR_ALREADY_IN_CHANNEL;
	if (rc) {
		if (nids > 1 && json_array_size(errors)) {
			if (!c->err_extra)
				c->err_extra = json_object();
			json_object_set(c->err_extra, "errors", errors);
		}
		goto out;
	}
	for (size_t i = 0; i < nvalid; i++) {
		api_member_join(c, ch, valid[i], c->me, true);
		emit_joined(c, ch, valid[i], c->me);
	}
	set_channel_out(c, ch);
	if (json_array_size(errors))
		json_object_set(c->out, "errors", errors);
out:
	json_decref(errors);
	free(valid);
	api_list_free(ids, nids);
	return rc;
}

int api_conversations_kick(api_ctx *c)
{
	channel *ch;
	user *u;
	int rc = chan_for_write(c, &ch);
	if (rc)
		return rc;
	if ((rc = api_user(c, "user", &u)) != 0)
		return rc;
	if (is_dm_kind(ch))
		return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
	if (u == c->me)
		return ERR_CANT_KICK_SELF;
	if (ch->is_general)
		return ERR_CANT_KICK_FROM_GENERAL;
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	/* Only a member may remove someone, and only a member can be removed. */
	if (!rules_is_member(c->me, ch) || !rules_is_member(u, ch))
		return ERR_NOT_IN_CHANNEL;
	api_member_leave(c, ch, u, true);
	emit_left(c, ch, u);
	return 0;
}

/* ---- DMs and group DMs ---- */

/* Marks the caller's side of a DM open. Returns whether it already was. */
static bool im_reopen(api_ctx *c, channel *ch)
{
	chan_member *m = core_member_get(ch, c->me->id);
	if (!m)
		return false; /* not reachable: api_channel / the pair index imply membership */
	if (m->open)
		return true;
	m->open = true;
	store_put_member(api_job(c), ch->id, m);
	return false;
}

static void add_member_quiet(api_ctx *c, channel *ch, const char *uid)
{
	chan_member *m = core_member_add(ch, uid, ch->created);
	store_put_member(api_job(c), ch->id, m);
}

static channel *new_dm_channel(api_ctx *c, chan_kind kind, const char *prefix)
{
	char id[ID_MAX];
	ids_new(id, prefix);
	channel *ch = core_channel_new(id, c->org->id, kind);
	snprintf(ch->creator, sizeof ch->creator, "%s", c->me->id);
	ch->created = c->now_us / 1000000;
	ch->updated = c->now_us / 1000;
	return ch;
}

/* The caller's group DM with exactly these others, or NULL. */
static channel *mpim_find(api_ctx *c, user **others, size_t n)
{
	void *v;
	for (size_t i = 0; map_next(&c->env->state->channels, &i, NULL, &v);) {
		channel *ch = v;
		if (ch->kind != CHAN_MPIM || strcmp(ch->org_id, c->org->id) != 0 ||
		    core_member_count(ch) != n + 1 || !rules_is_member(c->me, ch))
			continue;
		size_t k = 0;
		while (k < n && rules_is_member(others[k], ch))
			k++;
		if (k == n)
			return ch;
	}
	return NULL;
}

static channel *mpim_create(api_ctx *c, user **others, size_t n)
{
	channel *ch = new_dm_channel(c, CHAN_MPIM, "C");
	/* Slack's name: "mpdm-" handles joined by "--", then "-1". */
	buf name = BUF_INIT;
	buf_printf(&name, "mpdm-%s", c->me->name ? c->me->name : c->me->id);
	for (size_t i = 0; i < n; i++)
		buf_printf(&name, "--%s", others[i]->name ? others[i]->name : others[i]->id);
	buf_adds(&name, "-1");
	ch->name = buf_detach(&name, NULL);
	buf_printf(&name, "Group messaging with: @%s", c->me->name ? c->me->name : c->me->id);
	for (size_t i = 0; i < n; i++)
		buf_printf(&name, " @%s", others[i]->name ? others[i]->name : others[i]->id);
	ch->purpose = buf_detach(&name, NULL);
	snprintf(ch->purpose_creator, sizeof ch->purpose_creator, "%s", c->me->id);
	ch->purpose_last_set = ch->created;
	core_channel_add(c->env->state, ch);
	store_put_channel(api_job(c), ch);
	add_member_quiet(c, ch, c->me->id);
	for (size_t i = 0; i < n; i++)
		add_member_quiet(c, ch, others[i]->id);
	return ch;
}

/* Resolves users= to distinct users other than the caller; *self is set
 * when the caller named themself. The count is checked before any id is
 * looked up, as Slack does: ten strangers are too_many_users. */
static int open_users(api_ctx *c, user ***out, size_t *nout, bool *self)
{
	char **ids;
	size_t n = api_list(c, "users", &ids), k = 0;
	const char **distinct = xmalloc((n ? n : 1) * sizeof *distinct);
	user **us = NULL;
	int rc = 0;
	*self = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ids[i], c->me->id) == 0) {
			*self = true;
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < k && !dup; j++)
			dup = strcmp(distinct[j], ids[i]) == 0;
		if (!dup)
			distinct[k++] = ids[i];
	}
	if (!n)
		rc = ERR_USERS_LIST_NOT_SUPPLIED;
	else if (k > MPIM_MAX_OTHERS)
		rc = ERR_TOO_MANY_USERS;
	if (rc)
		goto out;
	us = xmalloc((k ? k : 1) * sizeof *us);
	for (size_t i = 0; i < k && !rc; i++) {
		us[i] = core_user_get(c->env->state, distinct[i]);
		if (!us[i] || strcmp(us[i]->org_id, c->org->id) != 0 || us[i]->deleted)
			rc = ERR_USER_NOT_FOUND;
	}
	if (rc) {
		free(us);
		goto out;
	}
	*out = us;
	*nout = k;
out:
	free(distinct);
	api_list_free(ids, n);
	return rc;
}

int api_conversations_open(api_ctx *c)
{
	bool return_im, prevent;
	user **others = NULL;
	size_t n = 0;
	bool self, already = false, found = false, created = false;
	channel *ch = NULL;
	int rc = 0;
	if (api_bool(c, "return_im", false, &return_im) != 0 ||
	    api_bool(c, "prevent_creation", false, &prevent) != 0)
		return ERR_INVALID_ARGUMENTS;
	const char *chan_arg = api_str(c, "channel");
	if (chan_arg && *chan_arg) {
		/* Re-open an existing DM or group DM by id. */
		if ((rc = chan_for_write(c, &ch)) != 0)
			return rc;
		if (!is_dm_kind(ch))
			return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
		already = im_reopen(c, ch);
		goto answer;
	}
	if ((rc = open_users(c, &others, &n, &self)) != 0)
		return rc;
	if ((rc = api_need_scope(c, n <= 1 ? "im:write" : "mpim:write")) != 0)
		goto out;
	if (n <= 1) {
		user *u = n ? others[0] : c->me;
		ch = core_im_get(c->env->state, c->org->id, c->me->id, u->id);
		found = ch != NULL;
		if (ch)
			already = im_reopen(c, ch);
		else if (!prevent)
			ch = api_im_open(c, u);
	} else {
		ch = mpim_find(c, others, n);
		found = ch != NULL;
		if (ch)
			already = im_reopen(c, ch);
		else if (!prevent)
			ch = mpim_create(c, others, n);
	}
	created = ch && !found;
answer:
	if (created) {
		if (ch->kind == CHAN_MPIM)
			api_emit_dm_created(c, ch); /* api_im_open announced a new DM itself */
	} else if (ch && !already)
		emit_dm_open(c, ch, true);
	if (!ch) {
		/* prevent_creation and nothing to find. */
		json_object_set_new(c->out, "no_op", json_true());
		json_object_set_new(c->out, "channel", json_object());
		goto out;
	}
	if (already) {
		json_object_set_new(c->out, "no_op", json_true());
		json_object_set_new(c->out, "already_open", json_true());
	}
	if (return_im || ch->kind == CHAN_MPIM)
		set_channel_out(c, ch);
	else
		json_object_set_new(c->out, "channel", json_pack("{s:s}", "id", ch->id));
out:
	free(others);
	return rc;
}

int api_conversations_close(api_ctx *c)
{
	channel *ch;
	int rc = chan_for_write(c, &ch);
	if (rc)
		return rc;
	if (!is_dm_kind(ch))
		return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
	chan_member *m = core_member_get(ch, c->me->id);
	if (!m)
		return ERR_CHANNEL_NOT_FOUND;
	if (!m->open) {
		json_object_set_new(c->out, "no_op", json_true());
		json_object_set_new(c->out, "already_closed", json_true());
		return 0;
	}
	m->open = false;
	store_put_member(api_job(c), ch->id, m);
	emit_dm_open(c, ch, false);
	return 0;
}

/* ---- channel lifecycle and settings ---- */

/* The checks archive, unarchive, rename, setTopic and setPurpose share
 * after the channel is known: a member, and (unless allow_dm) not a DM. */
static int check_manage(api_ctx *c, const channel *ch, bool allow_dm)
{
	if (!allow_dm && is_dm_kind(ch))
		return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
	if (!rules_is_member(c->me, ch))
		return ERR_NOT_IN_CHANNEL;
	return 0;
}

int api_conversations_archive(api_ctx *c)
{
	channel *ch;
	int rc = chan_for_write(c, &ch);
	if (rc)
		return rc;
	if (is_dm_kind(ch))
		return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
	if (ch->is_general)
		return ERR_CANT_ARCHIVE_GENERAL;
	if (ch->archived)
		return ERR_ALREADY_ARCHIVED;
	if ((rc = check_manage(c, ch, false)) != 0)
		return rc;
	/* Posted first: the notice is the last message of the live channel. */
	post_system(c, ch, "channel_archive", xasprintf("<@%s> archived the channel", c->me->id),
		    NULL);
	ch->archived = true;
	touch(c, ch);
	emit_archive(c, ch, true);
	audit_entity en = {.channel = ch};
	api_audit(c, ch->kind == CHAN_PRIVATE ? "private_channel_archive" : "public_channel_archive",
		  &en, NULL);
	return 0;
}

int api_conversations_unarchive(api_ctx *c)
{
	channel *ch;
	int rc = chan_for_write(c, &ch);
	if (rc)
		return rc;
	if (is_dm_kind(ch))
		return ERR_METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE;
	if (!ch->archived)
		return ERR_NOT_ARCHIVED;
	if ((rc = check_manage(c, ch, false)) != 0)
		return rc;
	ch->archived = false;
	touch(c, ch);
	audit_entity en = {.channel = ch};
	api_audit(c, ch->kind == CHAN_PRIVATE ? "private_channel_unarchive" : "public_channel_unarchive",
		  &en, NULL);
	post_system(c, ch, "channel_unarchive",
		    xasprintf("<@%s> un-archived the channel", c->me->id), NULL);
	emit_archive(c, ch, false);
	return 0;
}

int api_conversations_rename(api_ctx *c)
{
	channel *ch;
	int rc = chan_for_write(c, &ch);
	if (rc)
		return rc;
	if ((rc = check_manage(c, ch, false)) != 0)
		return rc;
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	const char *name = api_str(c, "name");
	if ((rc = rules_channel_name_check(name)) != 0)
		return rc;
	if (ch->name && strcmp(ch->name, name) == 0) {
		/* Renaming to the current name changes nothing. */
		set_channel_out(c, ch);
		return 0;
	}
	if (core_channel_by_name(c->env->state, c->org->id, name))
		return ERR_NAME_TAKEN;
	char *old = xstrdup(ch->name ? ch->name : "");
	core_channel_rename(c->env->state, ch, name);
	touch(c, ch);
	post_system(c, ch, "channel_name",
		    xasprintf("<@%s> has renamed the channel from \"%s\" to \"%s\"", c->me->id, old,
			      name),
		    json_pack("{s:s,s:s}", "old_name", old, "name", name));
	free(old);
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string("channel_rename"));
	json_object_set_new(e, "channel", api_render_channel_as(c, ch, NULL));
	emit_about(c, ch, e);
	set_channel_out(c, ch);
	return 0;
}

/* setTopic and setPurpose differ only in which field and words they use. */
static int set_text(api_ctx *c, const char *arg, size_t max)
{
	channel *ch;
	int rc = chan_for_write(c, &ch);
	if (rc)
		return rc;
	const char *val = api_str(c, arg);
	if (!val)
		return api_missing(c, arg);
	if (rules_utf8_len(val) > max)
		return ERR_TOO_LONG;
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	if ((rc = check_manage(c, ch, true)) != 0)
		return rc;
	bool topic = strcmp(arg, "topic") == 0;
	int64_t now_s = c->now_us / 1000000;
	if (topic) {
		xstrset(&ch->topic, val);
		snprintf(ch->topic_creator, sizeof ch->topic_creator, "%s", c->me->id);
		ch->topic_last_set = now_s;
	} else {
		xstrset(&ch->purpose, val);
		snprintf(ch->purpose_creator, sizeof ch->purpose_creator, "%s", c->me->id);
		ch->purpose_last_set = now_s;
	}
	touch(c, ch);
	char *text = *val ? xasprintf("<@%s> set the channel %s: %s", c->me->id, arg, val)
			  : xasprintf("<@%s> cleared the channel %s", c->me->id, arg);
	post_system(c, ch, topic ? "channel_topic" : "channel_purpose", text,
		    json_pack("{s:s}", arg, val));
	set_channel_out(c, ch);
	return 0;
}

int api_conversations_set_topic(api_ctx *c)
{
	return set_text(c, "topic", RULES_TOPIC_MAX);
}

int api_conversations_set_purpose(api_ctx *c)
{
	return set_text(c, "purpose", RULES_PURPOSE_MAX);
}

/* channel_marked (group_marked for private channels and group DMs,
 * im_marked for DMs) to the caller's sessions, with the counts as they
 * stand after the new read cursor ts. */
static void emit_marked(api_ctx *c, channel *ch, int64_t ts)
{
	static const char *const types[] = {"channel_marked", "group_marked", "im_marked", "group_marked"};
	int64_t unread = 0, mentions = 0;
	store_msg_count_after(c->env->store, ch->id, ts, &unread);
	api_client_mention_counts(c, &ch, 1, &mentions);
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string(types[ch->kind]));
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "ts", api_ts_json(ts));
	json_object_set_new(e, "unread_count", json_integer(unread));
	json_object_set_new(e, "unread_count_display", json_integer(unread));
	json_object_set_new(e, "num_mentions", json_integer(mentions));
	json_object_set_new(e, "num_mentions_display", json_integer(mentions));
	json_object_set_new(e, "mention_count", json_integer(mentions));
	json_object_set_new(e, "mention_count_display", json_integer(mentions));
	api_emit(c, BUS_USER, c->me->id, e, NULL);
}

int api_conversations_mark(api_ctx *c)
{
	channel *ch;
	const char *ts_s;
	int64_t ts;
	int rc = chan_for_write(c, &ch);
	if (rc)
		return rc;
	if ((rc = api_str_req(c, "ts", &ts_s)) != 0)
		return rc;
	if (rules_ts_parse(ts_s, &ts) != 0)
		return ERR_INVALID_TIMESTAMP;
	chan_member *m = core_member_get(ch, c->me->id);
	if (!m)
		return ERR_NOT_IN_CHANNEL;
	m->last_read = ts;
	store_put_member(api_job(c), ch->id, m);
	if (c->env->bus)
		emit_marked(c, ch, ts);
	return 0;
}
