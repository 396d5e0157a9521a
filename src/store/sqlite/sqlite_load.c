/* store_load: rebuilds the hot state from the database at start, one
 * table at a time in one read transaction. Channels come before members,
 * since a membership is hung on its channel. */
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

#define COL_ID(s, i, field) sqlite__col_id((s), (i), (field), sizeof(field))
#define COL_I64(s, i) sqlite3_column_int64((s), (i))
#define COL_BOOL(s, i) (sqlite3_column_int((s), (i)) != 0)
#define COL_STR(s, i) sqlite__col_str((s), (i))
#define COL_TEXT(s, i) ((const char *)sqlite3_column_text((s), (i)))

typedef void (*row_fn)(core_state *cs, sqlite3_stmt *s);

static void load_org(core_state *cs, sqlite3_stmt *s)
{
	org *o = core_org_new(COL_TEXT(s, 0));
	o->name = COL_STR(s, 1);
	o->domain = COL_STR(s, 2);
	o->created = COL_I64(s, 3);
	COL_ID(s, 4, o->general_id);
	core_org_add(cs, o);
}

static void load_user(core_state *cs, sqlite3_stmt *s)
{
	user *u = core_user_new(COL_TEXT(s, 0), COL_TEXT(s, 1));
	u->name = COL_STR(s, 2);
	u->real_name = COL_STR(s, 3);
	u->display_name = COL_STR(s, 4);
	u->email = COL_STR(s, 5);
	u->title = COL_STR(s, 6);
	u->phone = COL_STR(s, 7);
	u->tz = COL_STR(s, 8);
	u->status_text = COL_STR(s, 9);
	u->status_emoji = COL_STR(s, 10);
	u->avatar_hash = COL_STR(s, 11);
	u->pwhash = COL_STR(s, 12);
	u->is_admin = COL_BOOL(s, 13);
	u->is_owner = COL_BOOL(s, 14);
	u->is_primary_owner = COL_BOOL(s, 15);
	u->is_bot = COL_BOOL(s, 16);
	u->deleted = COL_BOOL(s, 17);
	COL_ID(s, 18, u->bot_id);
	COL_ID(s, 19, u->app_id);
	u->created = COL_I64(s, 20);
	u->updated = COL_I64(s, 21);
	core_user_add(cs, u);
}

static void load_channel(core_state *cs, sqlite3_stmt *s)
{
	channel *c = core_channel_new(COL_TEXT(s, 0), COL_TEXT(s, 1), (chan_kind)COL_I64(s, 3));
	c->name = COL_STR(s, 2);
	COL_ID(s, 4, c->creator);
	c->created = COL_I64(s, 5);
	c->archived = COL_BOOL(s, 6);
	c->is_general = COL_BOOL(s, 7);
	c->topic = COL_STR(s, 8);
	c->purpose = COL_STR(s, 9);
	COL_ID(s, 10, c->topic_creator);
	COL_ID(s, 11, c->purpose_creator);
	c->topic_last_set = COL_I64(s, 12);
	c->purpose_last_set = COL_I64(s, 13);
	c->previous_names = COL_STR(s, 14);
	COL_ID(s, 15, c->im_user);
	c->updated = COL_I64(s, 16);
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
	chan_member *m = core_member_add(c, uid, COL_I64(s, 2));
	m->last_read = COL_I64(s, 3);
	m->open = COL_BOOL(s, 4);
}

static void load_usergroup(core_state *cs, sqlite3_stmt *s)
{
	usergroup *g = core_usergroup_new(COL_TEXT(s, 0), COL_TEXT(s, 1));
	g->name = COL_STR(s, 2);
	g->handle = COL_STR(s, 3);
	g->description = COL_STR(s, 4);
	COL_ID(s, 5, g->created_by);
	COL_ID(s, 6, g->updated_by);
	COL_ID(s, 7, g->deleted_by);
	g->date_create = COL_I64(s, 8);
	g->date_update = COL_I64(s, 9);
	g->date_delete = COL_I64(s, 10);
	g->users = COL_STR(s, 11);
	g->channels = COL_STR(s, 12);
	core_usergroup_add(cs, g);
}

static void load_app(core_state *cs, sqlite3_stmt *s)
{
	app *a = core_app_new(COL_TEXT(s, 0), COL_TEXT(s, 1));
	a->name = COL_STR(s, 2);
	COL_ID(s, 3, a->bot_id);
	COL_ID(s, 4, a->bot_user_id);
	a->scopes = COL_STR(s, 5);
	a->signing_secret = COL_STR(s, 6);
	a->verification_token = COL_STR(s, 7);
	a->created = COL_I64(s, 8);
	a->updated = COL_I64(s, 9);
	a->deleted = COL_BOOL(s, 10);
	a->manifest = COL_STR(s, 11);
	a->description = COL_STR(s, 12);
	a->bot_events = COL_STR(s, 13);
	a->event_url = COL_STR(s, 14);
	a->interactivity_url = COL_STR(s, 15);
	a->interactivity = COL_BOOL(s, 16);
	a->socket_mode = COL_BOOL(s, 17);
	core_app_add(cs, a);
}

static void load_command(core_state *cs, sqlite3_stmt *s)
{
	if (sqlite3_column_type(s, 1) == SQLITE_NULL)
		return;
	app_command *c = xcalloc(1, sizeof *c);
	COL_ID(s, 0, c->org_id);
	c->command = COL_STR(s, 1);
	COL_ID(s, 2, c->app_id);
	c->url = COL_STR(s, 3);
	c->description = COL_STR(s, 4);
	c->usage_hint = COL_STR(s, 5);
	c->should_escape = COL_BOOL(s, 6);
	core_command_add(cs, c);
}

static void load_webhook(core_state *cs, sqlite3_stmt *s)
{
	if (sqlite3_column_type(s, 4) == SQLITE_NULL)
		return;
	webhook *w = xcalloc(1, sizeof *w);
	COL_ID(s, 0, w->id);
	COL_ID(s, 1, w->org_id);
	COL_ID(s, 2, w->app_id);
	COL_ID(s, 3, w->channel_id);
	COL_ID(s, 4, w->hash);
	COL_ID(s, 5, w->created_by);
	w->created = COL_I64(s, 6);
	w->revoked = COL_BOOL(s, 7);
	core_webhook_add(cs, w);
}

static void load_token(core_state *cs, sqlite3_stmt *s)
{
	token *t = core_token_new(COL_TEXT(s, 0), (token_kind)COL_I64(s, 1));
	COL_ID(s, 2, t->org_id);
	COL_ID(s, 3, t->user_id);
	COL_ID(s, 4, t->app_id);
	t->scopes = COL_STR(s, 5);
	t->created = COL_I64(s, 6);
	t->expires = COL_I64(s, 7);
	t->revoked = COL_BOOL(s, 8);
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
