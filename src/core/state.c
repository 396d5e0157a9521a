/* Hot state: the in-memory indexes over every entity (see core/state.h).
 *
 * Design note.
 *  - Each entity lives in exactly one primary map, keyed by its id (orgs,
 *    users, channels, usergroups, apps) or its hash (tokens). Only the
 *    primary maps own entities: core_state_release frees what they hold and
 *    merely drops the secondary maps, so nothing is freed twice.
 *  - Secondary indexes hold borrowed pointers:
 *      users_by_name   "<org>/<name>"
 *      users_by_email  "<org>/<email lowercased>"
 *      chans_by_name   "<org>/<name>"        public and private only
 *      ims             "<org>/<low id>/<high id>"
 *      bots            bot id (B...) -> app
 *    A secondary key is removed only when it still points at the entity
 *    being re-indexed, so a stale rename can never unhook somebody else.
 *  - An IM's two participants are c->creator and c->im_user (equal for a
 *    self-DM). The members map may still be empty when the channel is
 *    added (the loader adds memberships afterwards), so the pair index
 *    never looks at it.
 *  - Members of a channel are heap chan_member structs owned by the
 *    channel's members map; core_member_remove frees them at once because
 *    nothing else keeps a pointer to a membership across calls.
 *  - Timestamps: last_ts only grows; core_ts_next is the one writer.
 *  - Retired entities (a create the store refused, see store_restore) are
 *    in no map; s->retired owns them until core_state_release. */
#include "core/state.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"

/* Bounded copy into a fixed id field: ids come from clients and the store,
 * so an overlong one is truncated rather than overflowing the struct. */
static void id_set(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}
#define ID_SET(dst, src) id_set((dst), sizeof(dst), (src))

/* "<org>/<value>" into b, optionally ASCII-lowercasing the value (emails are
 * compared case-insensitively). */
static const char *org_key(buf *b, const char *org_id, const char *value, int lower)
{
	buf_reset(b);
	buf_adds(b, org_id);
	buf_addc(b, '/');
	size_t start = b->len;
	buf_adds(b, value);
	if (lower)
		for (size_t i = start; i < b->len; i++)
			b->data[i] = (char)tolower((unsigned char)b->data[i]);
	return b->data;
}

static const char *im_key(buf *b, const char *org_id, const char *u1, const char *u2)
{
	if (strcmp(u1, u2) > 0) {
		const char *t = u1;
		u1 = u2;
		u2 = t;
	}
	buf_reset(b);
	buf_printf(b, "%s/%s/%s", org_id, u1, u2);
	return b->data;
}

static int chan_has_name_index(const channel *c)
{
	return (c->kind == CHAN_PUBLIC || c->kind == CHAN_PRIVATE) && c->name && *c->name;
}

/* Removes key from m only if it still maps to val. */
static void del_if(map *m, const char *key, const void *val)
{
	if (map_get(m, key) == val)
		map_del(m, key);
}

/* ---- entity lifecycles ---- */

static void org_free(org *o)
{
	free(o->name);
	free(o->domain);
	free(o);
}

static void user_free(user *u)
{
	free(u->name);
	free(u->real_name);
	free(u->display_name);
	free(u->email);
	free(u->title);
	free(u->phone);
	free(u->tz);
	free(u->status_text);
	free(u->status_emoji);
	free(u->avatar_hash);
	free(u->pwhash);
	free(u);
}

static void channel_free(channel *c)
{
	void *v;
	for (size_t i = 0; map_next(&c->members, &i, NULL, &v);)
		free(v);
	map_release(&c->members);
	free(c->name);
	free(c->topic);
	free(c->purpose);
	free(c->previous_names);
	free(c);
}

static void usergroup_free(usergroup *g)
{
	free(g->name);
	free(g->handle);
	free(g->description);
	free(g->users);
	free(g->channels);
	free(g);
}

static void app_free(app *a)
{
	free(a->name);
	free(a->scopes);
	free(a->signing_secret);
	free(a->verification_token);
	free(a->manifest);
	free(a->description);
	free(a->bot_events);
	free(a->event_url);
	free(a->interactivity_url);
	free(a);
}

static void command_free(app_command *c)
{
	free(c->command);
	free(c->url);
	free(c->description);
	free(c->usage_hint);
	free(c);
}

static void token_free(token *t)
{
	free(t->scopes);
	free(t);
}

org *core_org_new(const char *id)
{
	org *o = xcalloc(1, sizeof *o);
	ID_SET(o->id, id);
	return o;
}

user *core_user_new(const char *id, const char *org_id)
{
	user *u = xcalloc(1, sizeof *u);
	ID_SET(u->id, id);
	ID_SET(u->org_id, org_id);
	return u;
}

/* Source of channel.members_gen values (loop thread only, like the rest
 * of the hot state). */
static uint64_t members_epoch;

channel *core_channel_new(const char *id, const char *org_id, chan_kind kind)
{
	channel *c = xcalloc(1, sizeof *c);
	ID_SET(c->id, id);
	ID_SET(c->org_id, org_id);
	c->kind = kind;
	map_init(&c->members);
	c->members_gen = ++members_epoch;
	return c;
}

usergroup *core_usergroup_new(const char *id, const char *org_id)
{
	usergroup *g = xcalloc(1, sizeof *g);
	ID_SET(g->id, id);
	ID_SET(g->org_id, org_id);
	return g;
}

app *core_app_new(const char *id, const char *org_id)
{
	app *a = xcalloc(1, sizeof *a);
	ID_SET(a->id, id);
	ID_SET(a->org_id, org_id);
	return a;
}

token *core_token_new(const char *hash, token_kind kind)
{
	token *t = xcalloc(1, sizeof *t);
	ID_SET(t->hash, hash);
	t->kind = kind;
	return t;
}

/* ---- the state ---- */

void core_state_init(core_state *s)
{
	memset(s, 0, sizeof *s);
	map_init(&s->orgs);
	map_init(&s->users);
	map_init(&s->users_by_name);
	map_init(&s->users_by_email);
	map_init(&s->bots);
	map_init(&s->channels);
	map_init(&s->chans_by_name);
	map_init(&s->ims);
	map_init(&s->usergroups);
	map_init(&s->apps);
	map_init(&s->tokens);
	map_init(&s->commands);
	map_init(&s->webhooks);
}

static void entity_free(core_kind kind, void *e)
{
	switch (kind) {
	case CORE_ORG:
		org_free(e);
		break;
	case CORE_USER:
		user_free(e);
		break;
	case CORE_CHANNEL:
		channel_free(e);
		break;
	case CORE_USERGROUP:
		usergroup_free(e);
		break;
	case CORE_APP:
		app_free(e);
		break;
	case CORE_TOKEN:
		token_free(e);
		break;
	case CORE_WEBHOOK:
		free(e);
		break;
	}
}

void core_state_release(core_state *s)
{
	void *v;
	size_t i;
	for (i = 0; i < s->nretired; i++)
		entity_free(s->retired[i].kind, s->retired[i].e);
	free(s->retired);
	s->retired = NULL;
	s->nretired = s->capretired = 0;
	for (i = 0; map_next(&s->orgs, &i, NULL, &v);)
		org_free(v);
	for (i = 0; map_next(&s->users, &i, NULL, &v);)
		user_free(v);
	for (i = 0; map_next(&s->channels, &i, NULL, &v);)
		channel_free(v);
	for (i = 0; map_next(&s->usergroups, &i, NULL, &v);)
		usergroup_free(v);
	for (i = 0; map_next(&s->apps, &i, NULL, &v);)
		app_free(v);
	for (i = 0; map_next(&s->tokens, &i, NULL, &v);)
		token_free(v);
	for (i = 0; map_next(&s->commands, &i, NULL, &v);)
		command_free(v);
	for (i = 0; map_next(&s->webhooks, &i, NULL, &v);)
		free(v);
	map_release(&s->commands);
	map_release(&s->webhooks);
	map_release(&s->orgs);
	map_release(&s->users);
	map_release(&s->users_by_name);
	map_release(&s->users_by_email);
	map_release(&s->bots);
	map_release(&s->channels);
	map_release(&s->chans_by_name);
	map_release(&s->ims);
	map_release(&s->usergroups);
	map_release(&s->apps);
	map_release(&s->tokens);
	s->last_ts = 0;
}

void core_org_add(core_state *s, org *o)
{
	map_put(&s->orgs, o->id, o);
}

void core_user_add(core_state *s, user *u)
{
	buf k = BUF_INIT;
	map_put(&s->users, u->id, u);
	if (u->name && *u->name)
		map_put(&s->users_by_name, org_key(&k, u->org_id, u->name, 0), u);
	if (u->email && *u->email)
		map_put(&s->users_by_email, org_key(&k, u->org_id, u->email, 1), u);
	buf_release(&k);
}

void core_channel_add(core_state *s, channel *c)
{
	buf k = BUF_INIT;
	map_put(&s->channels, c->id, c);
	if (chan_has_name_index(c))
		map_put(&s->chans_by_name, org_key(&k, c->org_id, c->name, 0), c);
	if (c->kind == CHAN_IM && c->creator[0]) {
		/* A self-DM has im_user empty or equal to creator: both mean the
		 * pair (creator, creator). */
		const char *other = c->im_user[0] ? c->im_user : c->creator;
		map_put(&s->ims, im_key(&k, c->org_id, c->creator, other), c);
	}
	buf_release(&k);
}

void core_usergroup_add(core_state *s, usergroup *g)
{
	map_put(&s->usergroups, g->id, g);
}

void core_app_add(core_state *s, app *a)
{
	map_put(&s->apps, a->id, a);
	if (a->bot_id[0])
		map_put(&s->bots, a->bot_id, a);
}

void core_token_add(core_state *s, token *t)
{
	map_put(&s->tokens, t->hash, t);
}

static char *command_key(const char *org_id, const char *command)
{
	return xasprintf("%s/%s", org_id, command);
}

void core_command_add(core_state *s, app_command *c)
{
	char *k = command_key(c->org_id, c->command);
	app_command *old = map_put(&s->commands, k, c);
	free(k);
	if (old && old != c)
		command_free(old);
}

void core_command_remove(core_state *s, const char *org_id, const char *command)
{
	char *k = command_key(org_id, command);
	app_command *old = map_del(&s->commands, k);
	free(k);
	if (old)
		command_free(old);
}

app_command *core_command_get(core_state *s, const char *org_id, const char *command)
{
	char *k = command_key(org_id, command);
	app_command *c = map_get(&s->commands, k);
	free(k);
	return c;
}

void core_webhook_add(core_state *s, webhook *w)
{
	map_put(&s->webhooks, w->hash, w);
}

webhook *core_webhook_get(core_state *s, const char *hash)
{
	return map_get(&s->webhooks, hash);
}

void core_user_reindex(core_state *s, user *u, const char *old_name, const char *old_email)
{
	buf k = BUF_INIT;
	if (old_name && *old_name)
		del_if(&s->users_by_name, org_key(&k, u->org_id, old_name, 0), u);
	if (old_email && *old_email)
		del_if(&s->users_by_email, org_key(&k, u->org_id, old_email, 1), u);
	if (u->name && *u->name)
		map_put(&s->users_by_name, org_key(&k, u->org_id, u->name, 0), u);
	if (u->email && *u->email)
		map_put(&s->users_by_email, org_key(&k, u->org_id, u->email, 1), u);
	buf_release(&k);
}

void core_channel_rename(core_state *s, channel *c, const char *new_name)
{
	buf k = BUF_INIT;
	if (chan_has_name_index(c))
		del_if(&s->chans_by_name, org_key(&k, c->org_id, c->name, 0), c);
	if (c->name && *c->name && strcmp(c->name, new_name ? new_name : "") != 0) {
		/* Slack reports previous_names newest last. */
		char *p = c->previous_names && *c->previous_names
			? xasprintf("%s,%s", c->previous_names, c->name)
			: xstrdup(c->name);
		free(c->previous_names);
		c->previous_names = p;
	}
	xstrset(&c->name, new_name);
	if (chan_has_name_index(c))
		map_put(&s->chans_by_name, org_key(&k, c->org_id, c->name, 0), c);
	buf_release(&k);
}

/* ---- unlinking and retiring ---- */

void core_org_unlink(core_state *s, org *o)
{
	del_if(&s->orgs, o->id, o);
}

void core_user_unlink(core_state *s, user *u)
{
	buf k = BUF_INIT;
	del_if(&s->users, u->id, u);
	if (u->name && *u->name)
		del_if(&s->users_by_name, org_key(&k, u->org_id, u->name, 0), u);
	if (u->email && *u->email)
		del_if(&s->users_by_email, org_key(&k, u->org_id, u->email, 1), u);
	buf_release(&k);
}

void core_channel_unlink(core_state *s, channel *c)
{
	buf k = BUF_INIT;
	del_if(&s->channels, c->id, c);
	if (chan_has_name_index(c))
		del_if(&s->chans_by_name, org_key(&k, c->org_id, c->name, 0), c);
	if (c->kind == CHAN_IM && c->creator[0]) {
		const char *other = c->im_user[0] ? c->im_user : c->creator;
		del_if(&s->ims, im_key(&k, c->org_id, c->creator, other), c);
	}
	buf_release(&k);
}

void core_usergroup_unlink(core_state *s, usergroup *g)
{
	del_if(&s->usergroups, g->id, g);
}

void core_app_unlink(core_state *s, app *a)
{
	del_if(&s->apps, a->id, a);
	if (a->bot_id[0])
		del_if(&s->bots, a->bot_id, a);
}

void core_token_unlink(core_state *s, token *t)
{
	del_if(&s->tokens, t->hash, t);
}

void core_webhook_unlink(core_state *s, webhook *w)
{
	del_if(&s->webhooks, w->hash, w);
}

void core_state_retire(core_state *s, core_kind kind, void *e)
{
	switch (kind) {
	case CORE_ORG:
		core_org_unlink(s, e);
		break;
	case CORE_USER:
		core_user_unlink(s, e);
		break;
	case CORE_CHANNEL:
		core_channel_unlink(s, e);
		break;
	case CORE_USERGROUP:
		core_usergroup_unlink(s, e);
		break;
	case CORE_APP:
		core_app_unlink(s, e);
		break;
	case CORE_TOKEN:
		core_token_unlink(s, e);
		break;
	case CORE_WEBHOOK:
		core_webhook_unlink(s, e);
		break;
	}
	if (s->nretired == s->capretired) {
		s->capretired = s->capretired ? s->capretired * 2 : 8;
		s->retired = xrealloc(s->retired, s->capretired * sizeof *s->retired);
	}
	s->retired[s->nretired++] = (struct core_retired){kind, e};
}

/* ---- lookups ---- */

org *core_org_get(core_state *s, const char *id)
{
	return id ? map_get(&s->orgs, id) : NULL;
}

user *core_user_get(core_state *s, const char *id)
{
	return id ? map_get(&s->users, id) : NULL;
}

user *core_user_by_name(core_state *s, const char *org_id, const char *name)
{
	if (!org_id || !name)
		return NULL;
	buf k = BUF_INIT;
	user *u = map_get(&s->users_by_name, org_key(&k, org_id, name, 0));
	buf_release(&k);
	return u;
}

user *core_user_by_email(core_state *s, const char *org_id, const char *email)
{
	if (!org_id || !email)
		return NULL;
	buf k = BUF_INIT;
	user *u = map_get(&s->users_by_email, org_key(&k, org_id, email, 1));
	buf_release(&k);
	return u;
}

channel *core_channel_get(core_state *s, const char *id)
{
	return id ? map_get(&s->channels, id) : NULL;
}

channel *core_channel_by_name(core_state *s, const char *org_id, const char *name)
{
	if (!org_id || !name)
		return NULL;
	buf k = BUF_INIT;
	channel *c = map_get(&s->chans_by_name, org_key(&k, org_id, name, 0));
	buf_release(&k);
	return c;
}

channel *core_im_get(core_state *s, const char *org_id, const char *u1, const char *u2)
{
	if (!org_id || !u1 || !u2)
		return NULL;
	buf k = BUF_INIT;
	channel *c = map_get(&s->ims, im_key(&k, org_id, u1, u2));
	buf_release(&k);
	return c;
}

usergroup *core_usergroup_get(core_state *s, const char *id)
{
	return id ? map_get(&s->usergroups, id) : NULL;
}

app *core_app_get(core_state *s, const char *id)
{
	return id ? map_get(&s->apps, id) : NULL;
}

app *core_app_by_bot(core_state *s, const char *bot_id)
{
	return bot_id ? map_get(&s->bots, bot_id) : NULL;
}

token *core_token_get(core_state *s, const char *hash)
{
	return hash ? map_get(&s->tokens, hash) : NULL;
}

/* ---- membership ---- */

chan_member *core_member_get(const channel *c, const char *user_id)
{
	return user_id ? map_get(&c->members, user_id) : NULL;
}

chan_member *core_member_add(channel *c, const char *user_id, int64_t joined)
{
	chan_member *m = map_get(&c->members, user_id);
	if (m)
		return m;
	m = xcalloc(1, sizeof *m);
	ID_SET(m->user_id, user_id);
	m->joined = joined;
	/* An IM is open in the sidebar from the start; conversations.close
	 * hides it. Other kinds ignore the flag. */
	m->open = true;
	map_put(&c->members, m->user_id, m);
	c->members_gen = ++members_epoch;
	return m;
}

void core_member_remove(channel *c, const char *user_id)
{
	free(map_del(&c->members, user_id));
	c->members_gen = ++members_epoch;
}

size_t core_member_count(const channel *c)
{
	return c->members.count;
}

/* ---- ts and listings ---- */

int64_t core_ts_next(core_state *s, int64_t now_us)
{
	int64_t ts = now_us > s->last_ts ? now_us : s->last_ts + 1;
	s->last_ts = ts;
	return ts;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **core_sorted_keys(const map *m, size_t *n)
{
	const char **keys = xmalloc((m->count ? m->count : 1) * sizeof *keys);
	size_t k = 0;
	const char *key;
	for (size_t i = 0; map_next(m, &i, &key, NULL);)
		keys[k++] = key;
	qsort(keys, k, sizeof *keys, cmp_str);
	*n = k;
	return keys;
}
