/* store_load: rebuilds the hot state from the database at start, one
 * table at a time in one read transaction. Channels come before members,
 * since a membership is hung on its channel. The row readers that turn a
 * row into an entity's fields are shared with store_restore
 * (sqlite_restore.c), which re-reads single rows after a failed job. */
#include <stdlib.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

#define COL_ID(s, i, field) sqlite__col_id((s), (i), (field), sizeof(field))
#define COL_I64(s, i) sqlite3_column_int64((s), (i))
#define COL_BOOL(s, i) (sqlite3_column_int((s), (i)) != 0)
#define COL_STR(s, i) sqlite__col_str((s), (i))
#define COL_TEXT(s, i) ((const char *)sqlite3_column_text((s), (i)))

/* Replaces *dst with a copy of text column i (NULL stays NULL). */
static void set_str(char **dst, sqlite3_stmt *s, int i)
{
	free(*dst);
	*dst = COL_STR(s, i);
}

/* ---- row readers (shared with store_restore) ---- */

void sqlite__row_org(sqlite3_stmt *s, org *o)
{
	set_str(&o->name, s, 1);
	set_str(&o->domain, s, 2);
	o->created = COL_I64(s, 3);
	COL_ID(s, 4, o->general_id);
}

void sqlite__row_user(sqlite3_stmt *s, user *u)
{
	COL_ID(s, 1, u->org_id);
	set_str(&u->name, s, 2);
	set_str(&u->real_name, s, 3);
	set_str(&u->display_name, s, 4);
	set_str(&u->email, s, 5);
	set_str(&u->title, s, 6);
	set_str(&u->phone, s, 7);
	set_str(&u->tz, s, 8);
	set_str(&u->status_text, s, 9);
	set_str(&u->status_emoji, s, 10);
	set_str(&u->avatar_hash, s, 11);
	set_str(&u->pwhash, s, 12);
	u->is_admin = COL_BOOL(s, 13);
	u->is_owner = COL_BOOL(s, 14);
	u->is_primary_owner = COL_BOOL(s, 15);
	u->is_bot = COL_BOOL(s, 16);
	u->deleted = COL_BOOL(s, 17);
	COL_ID(s, 18, u->bot_id);
	COL_ID(s, 19, u->app_id);
	u->created = COL_I64(s, 20);
	u->updated = COL_I64(s, 21);
}

void sqlite__row_channel(sqlite3_stmt *s, channel *c)
{
	COL_ID(s, 1, c->org_id);
	set_str(&c->name, s, 2);
	c->kind = (chan_kind)COL_I64(s, 3);
	COL_ID(s, 4, c->creator);
	c->created = COL_I64(s, 5);
	c->archived = COL_BOOL(s, 6);
	c->is_general = COL_BOOL(s, 7);
	set_str(&c->topic, s, 8);
	set_str(&c->purpose, s, 9);
	COL_ID(s, 10, c->topic_creator);
	COL_ID(s, 11, c->purpose_creator);
	c->topic_last_set = COL_I64(s, 12);
	c->purpose_last_set = COL_I64(s, 13);
	set_str(&c->previous_names, s, 14);
	COL_ID(s, 15, c->im_user);
	c->updated = COL_I64(s, 16);
}

void sqlite__row_member(sqlite3_stmt *s, chan_member *m)
{
	m->joined = COL_I64(s, 2);
	m->last_read = COL_I64(s, 3);
	m->open = COL_BOOL(s, 4);
}

void sqlite__row_usergroup(sqlite3_stmt *s, usergroup *g)
{
	COL_ID(s, 1, g->org_id);
	set_str(&g->name, s, 2);
	set_str(&g->handle, s, 3);
	set_str(&g->description, s, 4);
	COL_ID(s, 5, g->created_by);
	COL_ID(s, 6, g->updated_by);
	COL_ID(s, 7, g->deleted_by);
	g->date_create = COL_I64(s, 8);
	g->date_update = COL_I64(s, 9);
	g->date_delete = COL_I64(s, 10);
	set_str(&g->users, s, 11);
	set_str(&g->channels, s, 12);
}

void sqlite__row_app(sqlite3_stmt *s, app *a)
{
	COL_ID(s, 1, a->org_id);
	set_str(&a->name, s, 2);
	COL_ID(s, 3, a->bot_id);
	COL_ID(s, 4, a->bot_user_id);
	set_str(&a->scopes, s, 5);
	set_str(&a->signing_secret, s, 6);
	set_str(&a->verification_token, s, 7);
	a->created = COL_I64(s, 8);
	a->updated = COL_I64(s, 9);
	a->deleted = COL_BOOL(s, 10);
	set_str(&a->manifest, s, 11);
	set_str(&a->description, s, 12);
	set_str(&a->bot_events, s, 13);
	set_str(&a->event_url, s, 14);
	set_str(&a->interactivity_url, s, 15);
	a->interactivity = COL_BOOL(s, 16);
	a->socket_mode = COL_BOOL(s, 17);
}

void sqlite__row_token(sqlite3_stmt *s, token *t)
{
	t->kind = (token_kind)COL_I64(s, 1);
	COL_ID(s, 2, t->org_id);
	COL_ID(s, 3, t->user_id);
	COL_ID(s, 4, t->app_id);
	set_str(&t->scopes, s, 5);
	t->created = COL_I64(s, 6);
	t->expires = COL_I64(s, 7);
	t->revoked = COL_BOOL(s, 8);
}

void sqlite__row_command(sqlite3_stmt *s, app_command *c)
{
	COL_ID(s, 0, c->org_id);
	set_str(&c->command, s, 1);
	COL_ID(s, 2, c->app_id);
	set_str(&c->url, s, 3);
	set_str(&c->description, s, 4);
	set_str(&c->usage_hint, s, 5);
	c->should_escape = COL_BOOL(s, 6);
}

void sqlite__row_webhook(sqlite3_stmt *s, webhook *w)
{
	COL_ID(s, 0, w->id);
	COL_ID(s, 1, w->org_id);
	COL_ID(s, 2, w->app_id);
	COL_ID(s, 3, w->channel_id);
	COL_ID(s, 4, w->hash);
	COL_ID(s, 5, w->created_by);
	w->created = COL_I64(s, 6);
	w->revoked = COL_BOOL(s, 7);
}

/* ---- loading: one new entity per row ---- */

typedef void (*row_fn)(core_state *cs, sqlite3_stmt *s);

static void load_org(core_state *cs, sqlite3_stmt *s)
{
	org *o = core_org_new(COL_TEXT(s, 0));
	sqlite__row_org(s, o);
	core_org_add(cs, o);
}

static void load_user(core_state *cs, sqlite3_stmt *s)
{
	user *u = core_user_new(COL_TEXT(s, 0), COL_TEXT(s, 1));
	sqlite__row_user(s, u);
	core_user_add(cs, u);
}

static void load_channel(core_state *cs, sqlite3_stmt *s)
{
	channel *c = core_channel_new(COL_TEXT(s, 0), COL_TEXT(s, 1), (chan_kind)COL_I64(s, 3));
	sqlite__row_channel(s, c);
	core_channel_add(cs, c);
}

static void load_member(core_state *cs, sqlite3_stmt *s)
{
	const char *cid = COL_TEXT(s, 0), *uid = COL_TEXT(s, 1);
	channel *c = cid ? core_channel_get(cs, cid) : NULL;
	if (!c || !uid) {
		log_warn("store: membership of an unknown channel skipped", "channel=%s user=%s",
			 cid ? cid : "", uid ? uid : "");
		return;
	}
	sqlite__row_member(s, core_member_add(c, uid, 0));
}

static void load_usergroup(core_state *cs, sqlite3_stmt *s)
{
	usergroup *g = core_usergroup_new(COL_TEXT(s, 0), COL_TEXT(s, 1));
	sqlite__row_usergroup(s, g);
	core_usergroup_add(cs, g);
}

static void load_app(core_state *cs, sqlite3_stmt *s)
{
	app *a = core_app_new(COL_TEXT(s, 0), COL_TEXT(s, 1));
	sqlite__row_app(s, a);
	core_app_add(cs, a);
}

static void load_command(core_state *cs, sqlite3_stmt *s)
{
	if (sqlite3_column_type(s, 1) == SQLITE_NULL)
		return;
	app_command *c = xcalloc(1, sizeof *c);
	sqlite__row_command(s, c);
	core_command_add(cs, c);
}

static void load_webhook(core_state *cs, sqlite3_stmt *s)
{
	if (sqlite3_column_type(s, 4) == SQLITE_NULL)
		return;
	webhook *w = xcalloc(1, sizeof *w);
	sqlite__row_webhook(s, w);
	core_webhook_add(cs, w);
}

static void load_token(core_state *cs, sqlite3_stmt *s)
{
	token *t = core_token_new(COL_TEXT(s, 0), (token_kind)COL_I64(s, 1));
	sqlite__row_token(s, t);
	core_token_add(cs, t);
}

static void load_last_ts(core_state *cs, sqlite3_stmt *s)
{
	int64_t ts = COL_I64(s, 0);
	if (ts > cs->last_ts)
		cs->last_ts = ts;
}

static const struct {
	sqlite__rstmt stmt;
	row_fn fn;
} tables[] = {
	{R_LOAD_ORGS, load_org},
	{R_LOAD_USERS, load_user},
	{R_LOAD_CHANNELS, load_channel},
	{R_LOAD_MEMBERS, load_member},
	{R_LOAD_USERGROUPS, load_usergroup},
	{R_LOAD_APPS, load_app},
	{R_LOAD_TOKENS, load_token},
	{R_LOAD_LAST_TS, load_last_ts},
	{R_LOAD_COMMANDS, load_command},
	{R_LOAD_WEBHOOKS, load_webhook},
};

static int run(store *st, core_state *cs, sqlite__rstmt id, row_fn fn)
{
	sqlite3_stmt *s = sqlite__rget(st, id);
	if (!s)
		return ERR_INTERNAL_ERROR;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		/* Rows without a key cannot be indexed: skip, do not crash. */
		if (sqlite3_column_type(s, 0) == SQLITE_NULL && id != R_LOAD_LAST_TS)
			continue;
		fn(cs, s);
	}
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE) {
		log_error("store load failed", "stmt=%d err=\"%s\"", (int)id, sqlite3_errmsg(st->rdb));
		return ERR_INTERNAL_ERROR;
	}
	/* Loading runs once: do not keep its statements around. */
	sqlite3_finalize(s);
	st->rstmt[id] = NULL;
	return 0;
}

int store_load(store *st, core_state *s)
{
	if (sqlite3_exec(st->rdb, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return ERR_INTERNAL_ERROR;
	int err = 0;
	for (size_t i = 0; i < sizeof tables / sizeof tables[0] && !err; i++)
		err = run(st, s, tables[i].stmt, tables[i].fn);
	sqlite3_exec(st->rdb, "COMMIT", NULL, NULL, NULL);
	if (!err)
		log_info("store loaded", "orgs=%zu users=%zu channels=%zu tokens=%zu apps=%zu",
			 s->orgs.count, s->users.count, s->channels.count, s->tokens.count,
			 s->apps.count);
	return err;
}
