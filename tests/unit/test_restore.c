/* store_restore: after a failed job, hot state is what the database holds.
 *
 * Each test seeds a data directory, loads it into a hot state, then plays
 * a handler: changes hot state (creates, updates, removals) and queues the
 * same changes in one job that is forced to fail (a duplicate message key,
 * or a full disk). Afterwards hot state must be exactly as before the job:
 * a dump of every index, entity and field (and, for entities that existed,
 * the same pointers) compares equal, and equal to a fresh store_load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "core/message.h"
#include "core/state.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store.h"

/* ---- fixture: an offline store (jobs commit inside store_submit) ---- */

typedef struct fx {
	char dir[64];
	uv_loop_t loop;
	bool with_loop;
	store *st;
	core_state s;
} fx;

static store *open_at(fx *f)
{
	char err[256] = "";
	store_cfg cfg = {.dir = f->dir, .sync = STORE_SYNC_OFF};
	store *st = store_open(&cfg, f->with_loop ? &f->loop : NULL, err, sizeof err);
	if (!st)
		fail_msg("store_open: %s", err);
	return st;
}

static int setup_common(void **state, bool with_loop)
{
	fx *f = xcalloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/canal-restore-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->with_loop = with_loop;
	if (with_loop)
		assert_int_equal(uv_loop_init(&f->loop), 0);
	f->st = open_at(f);
	core_state_init(&f->s);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false);
}

static int setup_loop(void **state)
{
	return setup_common(state, true);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	fx *f = *state;
	store_close(f->st); /* before the state: its last callbacks may restore */
	if (f->with_loop) {
		uv_run(&f->loop, UV_RUN_DEFAULT);
		assert_int_equal(uv_loop_close(&f->loop), 0);
	}
	core_state_release(&f->s);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

typedef struct outcome {
	int calls, err;
	char *dump; /* hot state as the callback saw it, if wanted */
	core_state *s;
} outcome;

static char *dump(core_state *s, bool ptrs);

static void done_cb(void *ud, int err)
{
	outcome *o = ud;
	o->calls++;
	o->err = err;
	if (o->s)
		o->dump = dump(o->s, true);
}

static int submit(fx *f, store_job *j)
{
	outcome o = {0};
	store_submit(f->st, j, done_cb, &o);
	if (f->with_loop)
		uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(o.calls, 1);
	return o.err;
}

/* ---- a dump of hot state: every index, entity and field ---- */

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lines of a map sorted by key: "name key -> <what>". */
static void dump_map(buf *out, const char *name, const map *m, bool ptrs,
		     void (*entity)(buf *b, const void *e))
{
	size_t n = 0;
	char **lines = xcalloc(m->count + 1, sizeof *lines);
	const char *k;
	void *v;
	for (size_t i = 0; map_next(m, &i, &k, &v);) {
		buf b = BUF_INIT;
		buf_printf(&b, "%s %s ->", name, k);
		if (ptrs)
			buf_printf(&b, " %p", v);
		if (entity)
			entity(&b, v);
		lines[n++] = buf_detach(&b, NULL);
	}
	qsort(lines, n, sizeof *lines, cmp_line);
	for (size_t i = 0; i < n; i++) {
		buf_printf(out, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
}

static void e_org(buf *b, const void *e)
{
	const org *o = e;
	buf_printf(b, " %s|%s|%s|%lld|%s", o->id, nz(o->name), nz(o->domain), (long long)o->created,
		   o->general_id);
}

static void e_user(buf *b, const void *e)
{
	const user *u = e;
	buf_printf(b, " %s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%d%d%d%d%d|%s|%s|%lld|%lld", u->id,
		   u->org_id, nz(u->name), nz(u->real_name), nz(u->display_name), nz(u->email),
		   nz(u->title), nz(u->phone), nz(u->tz), nz(u->status_text), nz(u->status_emoji),
		   nz(u->avatar_hash), nz(u->pwhash), u->is_admin, u->is_owner, u->is_primary_owner,
		   u->is_bot, u->deleted, u->bot_id, u->app_id, (long long)u->created,
		   (long long)u->updated);
}

static void e_member(buf *b, const void *e)
{
	const chan_member *m = e;
	buf_printf(b, " %s|%lld|%lld|%d", m->user_id, (long long)m->joined, (long long)m->last_read,
		   m->open);
}

static void e_channel(buf *b, const void *e)
{
	const channel *c = e;
	buf_printf(b, " %s|%s|%s|%d|%s|%lld|%d%d|%s|%s|%s|%s|%lld|%lld|%s|%s|%lld", c->id, c->org_id,
		   nz(c->name), (int)c->kind, c->creator, (long long)c->created, c->archived,
		   c->is_general, nz(c->topic), nz(c->purpose), c->topic_creator, c->purpose_creator,
		   (long long)c->topic_last_set, (long long)c->purpose_last_set,
		   nz(c->previous_names), c->im_user, (long long)c->updated);
	buf m = BUF_INIT;
	dump_map(&m, "  member", &c->members, false, e_member);
	buf_printf(b, "\n%s", m.len ? m.data : "");
	buf_release(&m);
}

static void e_usergroup(buf *b, const void *e)
{
	const usergroup *g = e;
	buf_printf(b, " %s|%s|%s|%s|%s|%s|%s|%s|%lld|%lld|%lld|%s|%s", g->id, g->org_id, nz(g->name),
		   nz(g->handle), nz(g->description), g->created_by, g->updated_by, g->deleted_by,
		   (long long)g->date_create, (long long)g->date_update, (long long)g->date_delete,
		   nz(g->users), nz(g->channels));
}

static void e_app(buf *b, const void *e)
{
	const app *a = e;
	buf_printf(b, " %s|%s|%s|%s|%s|%s|%s|%s|%lld|%lld|%d|%s|%s|%s|%s|%s|%d%d", a->id, a->org_id,
		   nz(a->name), a->bot_id, a->bot_user_id, nz(a->scopes), nz(a->signing_secret),
		   nz(a->verification_token), (long long)a->created, (long long)a->updated, a->deleted,
		   nz(a->manifest), nz(a->description), nz(a->bot_events), nz(a->event_url),
		   nz(a->interactivity_url), a->interactivity, a->socket_mode);
}

static void e_token(buf *b, const void *e)
{
	const token *t = e;
	buf_printf(b, " %s|%d|%s|%s|%s|%s|%lld|%lld|%d", t->hash, (int)t->kind, t->org_id,
		   t->user_id, t->app_id, nz(t->scopes), (long long)t->created,
		   (long long)t->expires, t->revoked);
}

static void e_command(buf *b, const void *e)
{
	const app_command *c = e;
	buf_printf(b, " %s|%s|%s|%s|%s|%s|%d", c->org_id, nz(c->command), c->app_id, nz(c->url),
		   nz(c->description), nz(c->usage_hint), c->should_escape);
}

static void e_webhook(buf *b, const void *e)
{
	const webhook *w = e;
	buf_printf(b, " %s|%s|%s|%s|%s|%s|%lld|%d", w->id, w->org_id, w->app_id, w->channel_id,
		   w->hash, w->created_by, (long long)w->created, w->revoked);
}

/* ptrs: include each entity's address, so "the same pointer" is compared
 * too (false to compare with a state loaded afresh). */
static char *dump(core_state *s, bool ptrs)
{
	buf b = BUF_INIT;
	dump_map(&b, "org", &s->orgs, ptrs, e_org);
	dump_map(&b, "user", &s->users, ptrs, e_user);
	dump_map(&b, "user_by_name", &s->users_by_name, ptrs, NULL);
	dump_map(&b, "user_by_email", &s->users_by_email, ptrs, NULL);
	dump_map(&b, "bot", &s->bots, ptrs, NULL);
	dump_map(&b, "channel", &s->channels, ptrs, e_channel);
	dump_map(&b, "chan_by_name", &s->chans_by_name, ptrs, NULL);
	dump_map(&b, "im", &s->ims, ptrs, NULL);
	dump_map(&b, "usergroup", &s->usergroups, ptrs, e_usergroup);
	dump_map(&b, "app", &s->apps, ptrs, e_app);
	dump_map(&b, "token", &s->tokens, ptrs, e_token);
	/* A command's removal frees it (nothing borrows one), so a restored
	 * command is a new struct: no address. */
	dump_map(&b, "command", &s->commands, false, e_command);
	dump_map(&b, "webhook", &s->webhooks, ptrs, e_webhook);
	buf_addc(&b, '\0');
	return buf_detach(&b, NULL);
}

/* Hot state equals what a fresh load of the database gives. */
static void assert_matches_disk(fx *f)
{
	core_state disk;
	core_state_init(&disk);
	assert_int_equal(store_load(f->st, &disk), 0);
	char *a = dump(&f->s, false), *b = dump(&disk, false);
	assert_string_equal(a, b);
	free(a);
	free(b);
	core_state_release(&disk);
}

/* ---- the seed: one of every entity, committed, then loaded ---- */

static char *s_(const char *v)
{
	return xstrdup(v);
}

static void seed(fx *f)
{
	core_state *s = &f->s;
	store_job *j = store_job_new(f->st);
	org *o = core_org_new("T1");
	o->name = s_("Acme");
	o->domain = s_("acme");
	strcpy(o->general_id, "C1");
	core_org_add(s, o);
	store_put_org(j, o);

	user *u = core_user_new("U1", "T1");
	u->name = s_("ann");
	u->email = s_("ann@x.io");
	u->real_name = s_("Ann A");
	u->tz = s_("UTC");
	core_user_add(s, u);
	store_put_user(j, u);

	app *a = core_app_new("A1", "T1");
	a->name = s_("bot");
	strcpy(a->bot_id, "B1");
	strcpy(a->bot_user_id, "U9");
	a->scopes = s_("chat:write");
	core_app_add(s, a);
	store_put_app(j, a);

	channel *c = core_channel_new("C1", "T1", CHAN_PUBLIC);
	c->name = s_("general");
	c->topic = s_("old topic");
	strcpy(c->creator, "U1");
	c->is_general = true;
	core_channel_add(s, c);
	store_put_channel(j, c);
	chan_member *m = core_member_add(c, "U1", 100);
	m->last_read = 5;
	store_put_member(j, "C1", m);

	channel *d = core_channel_new("D1", "T1", CHAN_IM);
	d->name = s_("");
	strcpy(d->creator, "U1");
	strcpy(d->im_user, "U9");
	core_channel_add(s, d);
	store_put_channel(j, d);

	usergroup *g = core_usergroup_new("S1", "T1");
	g->name = s_("Admins");
	g->handle = s_("admins");
	g->users = s_("U1");
	core_usergroup_add(s, g);
	store_put_usergroup(j, g);

	token *t = core_token_new("hash-old", TOKEN_USER);
	strcpy(t->org_id, "T1");
	strcpy(t->user_id, "U1");
	t->scopes = s_("*");
	core_token_add(s, t);
	store_put_token(j, t);

	app_command *cmd = xcalloc(1, sizeof *cmd);
	strcpy(cmd->org_id, "T1");
	strcpy(cmd->app_id, "A1");
	cmd->command = s_("/old");
	cmd->url = s_("http://x/old");
	core_command_add(s, cmd);
	store_put_command(j, cmd);

	webhook *w = xcalloc(1, sizeof *w);
	strcpy(w->id, "W1");
	strcpy(w->org_id, "T1");
	strcpy(w->app_id, "A1");
	strcpy(w->channel_id, "C1");
	strcpy(w->hash, "wh-old");
	core_webhook_add(s, w);
	store_put_webhook(j, w);

	assert_int_equal(submit(f, j), 0);
	/* What the server does at start: hot state from the database. */
	core_state_release(s);
	core_state_init(s);
	assert_int_equal(store_load(f->st, s), 0);
}

/* ---- the handler: creates, updates and removals of every kind ---- */

typedef struct made {
	channel *c2;   /* created: must be retired, yet stay readable */
	user *u2;
	usergroup *g2;
	token *t2;
	webhook *w2;
} made;

static void change_everything(fx *f, store_job *j, made *out)
{
	core_state *s = &f->s;
	/* Creates. */
	channel *c2 = core_channel_new("C2", "T1", CHAN_PRIVATE);
	c2->name = s_("new-chan");
	strcpy(c2->creator, "U1");
	core_channel_add(s, c2);
	store_put_channel(j, c2);
	store_put_member(j, "C2", core_member_add(c2, "U1", 200));

	channel *d2 = core_channel_new("D2", "T1", CHAN_IM);
	strcpy(d2->creator, "U1");
	strcpy(d2->im_user, "U2");
	core_channel_add(s, d2);
	store_put_channel(j, d2);

	user *u2 = core_user_new("U2", "T1");
	u2->name = s_("bob");
	u2->email = s_("bob@x.io");
	core_user_add(s, u2);
	store_put_user(j, u2);

	usergroup *g2 = core_usergroup_new("S2", "T1");
	g2->name = s_("Devs");
	g2->handle = s_("devs");
	core_usergroup_add(s, g2);
	store_put_usergroup(j, g2);

	token *t2 = core_token_new("hash-new", TOKEN_BOT);
	strcpy(t2->org_id, "T1");
	core_token_add(s, t2);
	store_put_token(j, t2);

	app_command *cmd = xcalloc(1, sizeof *cmd);
	strcpy(cmd->org_id, "T1");
	strcpy(cmd->app_id, "A1");
	cmd->command = s_("/new");
	core_command_add(s, cmd);
	store_put_command(j, cmd);

	webhook *w2 = xcalloc(1, sizeof *w2);
	strcpy(w2->id, "W2");
	strcpy(w2->org_id, "T1");
	strcpy(w2->hash, "wh-new");
	core_webhook_add(s, w2);
	store_put_webhook(j, w2);

	app *a2 = core_app_new("A2", "T1");
	strcpy(a2->bot_id, "B2");
	core_app_add(s, a2);
	store_put_app(j, a2);

	/* Updates, including re-indexed names and emails. */
	org *o = core_org_get(s, "T1");
	xstrset(&o->name, "Renamed");
	store_put_org(j, o);

	user *u = core_user_get(s, "U1");
	char *old_name = xstrdup(u->name), *old_email = xstrdup(u->email);
	xstrset(&u->name, "annie");
	xstrset(&u->email, "annie@x.io");
	xstrset(&u->title, "boss");
	u->is_admin = true;
	core_user_reindex(s, u, old_name, old_email);
	free(old_name);
	free(old_email);
	store_put_user(j, u);

	channel *c = core_channel_get(s, "C1");
	core_channel_rename(s, c, "lobby");
	xstrset(&c->topic, "new topic");
	c->archived = true;
	store_put_channel(j, c);
	chan_member *m = core_member_get(c, "U1");
	m->last_read = 99;
	m->open = false;
	store_put_member(j, "C1", m);

	usergroup *g = core_usergroup_get(s, "S1");
	xstrset(&g->users, "U1,U2");
	g->date_delete = 7;
	store_put_usergroup(j, g);

	token *t = core_token_get(s, "hash-old");
	t->revoked = true;
	store_put_token(j, t);

	app *a = core_app_get(s, "A1");
	a->deleted = true;
	xstrset(&a->scopes, "");
	store_put_app(j, a);

	webhook *w = core_webhook_get(s, "wh-old");
	w->revoked = true;
	store_put_webhook(j, w);

	/* Removals. */
	core_command_remove(s, "T1", "/old");
	store_del_command(j, "T1", "/old");
	core_member_remove(c, "U1");
	store_del_member(j, "C1", "U1");

	*out = (made){c2, u2, g2, t2, w2};
}

/* Two messages at one key: the job fails on the second. */
static void fail_with_conflict(store_job *j)
{
	message m;
	message_init(&m);
	strcpy(m.channel_id, "C1");
	strcpy(m.org_id, "T1");
	strcpy(m.user_id, "U1");
	m.ts = 42;
	m.text = "dup";
	store_msg_insert(j, &m);
	store_job_on_conflict(j, ERR_ALREADY_REACTED);
	store_msg_insert(j, &m);
}

static void assert_created_gone(fx *f, const made *mk)
{
	core_state *s = &f->s;
	assert_null(core_channel_get(s, "C2"));
	assert_null(core_channel_by_name(s, "T1", "new-chan"));
	assert_null(core_channel_get(s, "D2"));
	assert_null(core_im_get(s, "T1", "U1", "U2"));
	assert_null(core_user_get(s, "U2"));
	assert_null(core_user_by_name(s, "T1", "bob"));
	assert_null(core_user_by_email(s, "T1", "bob@x.io"));
	assert_null(core_usergroup_get(s, "S2"));
	assert_null(core_token_get(s, "hash-new"));
	assert_null(core_command_get(s, "T1", "/new"));
	assert_null(core_webhook_get(s, "wh-new"));
	assert_null(core_app_get(s, "A2"));
	assert_null(core_app_by_bot(s, "B2"));
	/* Retired, not freed: borrowed pointers still read (ASan checks). */
	assert_string_equal(mk->c2->name, "new-chan");
	assert_non_null(core_member_get(mk->c2, "U1"));
	assert_string_equal(mk->u2->name, "bob");
	assert_string_equal(mk->g2->handle, "devs");
	assert_int_equal(mk->t2->kind, TOKEN_BOT);
	assert_string_equal(mk->w2->hash, "wh-new");
}

static void assert_updates_undone(fx *f)
{
	core_state *s = &f->s;
	assert_string_equal(core_org_get(s, "T1")->name, "Acme");
	user *u = core_user_get(s, "U1");
	assert_ptr_equal(core_user_by_name(s, "T1", "ann"), u);
	assert_ptr_equal(core_user_by_email(s, "T1", "ann@x.io"), u);
	assert_null(core_user_by_name(s, "T1", "annie"));
	assert_null(core_user_by_email(s, "T1", "annie@x.io"));
	assert_null(u->title);
	assert_false(u->is_admin);
	channel *c = core_channel_get(s, "C1");
	assert_ptr_equal(core_channel_by_name(s, "T1", "general"), c);
	assert_null(core_channel_by_name(s, "T1", "lobby"));
	assert_null(c->previous_names);
	assert_string_equal(c->topic, "old topic");
	assert_false(c->archived);
	chan_member *m = core_member_get(c, "U1");
	assert_non_null(m);
	assert_int_equal(m->last_read, 5);
	assert_true(m->open);
	assert_int_equal(m->joined, 100);
	assert_string_equal(core_usergroup_get(s, "S1")->users, "U1");
	assert_false(core_token_get(s, "hash-old")->revoked);
	app *a = core_app_get(s, "A1");
	assert_false(a->deleted);
	assert_string_equal(a->scopes, "chat:write");
	assert_ptr_equal(core_app_by_bot(s, "B1"), a);
	app_command *cmd = core_command_get(s, "T1", "/old");
	assert_non_null(cmd);
	assert_string_equal(cmd->url, "http://x/old");
	assert_false(core_webhook_get(s, "wh-old")->revoked);
}

/* ---- tests ---- */

/* A failed job with the state attached: restored before its callback. */
static void test_failed_job_restores_before_callback(void **state)
{
	fx *f = *state;
	seed(f);
	store_state_attach(f->st, &f->s);
	char *before = dump(&f->s, true);

	store_job *j = store_job_new(f->st);
	made mk;
	change_everything(f, j, &mk);
	fail_with_conflict(j);
	outcome o = {.s = &f->s};
	store_submit(f->st, j, done_cb, &o);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.err, ERR_ALREADY_REACTED);
	/* The callback (which answers the request) already saw the old state. */
	assert_string_equal(o.dump, before);
	free(o.dump);

	char *after = dump(&f->s, true);
	assert_string_equal(after, before);
	free(after);
	free(before);
	assert_created_gone(f, &mk);
	assert_updates_undone(f);
	assert_matches_disk(f);
	message out;
	assert_int_equal(store_msg_get(f->st, "C1", 42, &out), ERR_MESSAGE_NOT_FOUND);
}

/* A job that commits leaves hot state alone, attached or not. */
static void test_committed_job_untouched(void **state)
{
	fx *f = *state;
	seed(f);
	store_state_attach(f->st, &f->s);
	store_job *j = store_job_new(f->st);
	made mk;
	change_everything(f, j, &mk);
	char *before = dump(&f->s, true);
	assert_int_equal(submit(f, j), 0);
	char *after = dump(&f->s, true);
	assert_string_equal(after, before);
	free(after);
	free(before);
	assert_ptr_equal(core_channel_get(&f->s, "C2"), mk.c2);
	assert_matches_disk(f);
}

/* Without an attached state nothing is restored automatically; the keys
 * of the job and store_restore do it explicitly (disk full this time). */
static void test_explicit_restore_disk_full(void **state)
{
	fx *f = *state;
	seed(f);
	char *before = dump(&f->s, true);
	store_job *j = store_job_new(f->st);
	made mk;
	change_everything(f, j, &mk);

	store_key *keys;
	size_t n = store_job_keys(j, &keys);
	/* One key per entity, in op order, duplicates (C1 twice) once. */
	static const struct { store_key_kind kind; const char *id, *sub; } want[] = {
		{STORE_KEY_CHANNEL, "C2", NULL},   {STORE_KEY_MEMBER, "C2", "U1"},
		{STORE_KEY_CHANNEL, "D2", NULL},   {STORE_KEY_USER, "U2", NULL},
		{STORE_KEY_USERGROUP, "S2", NULL}, {STORE_KEY_TOKEN, "hash-new", NULL},
		{STORE_KEY_COMMAND, "T1", "/new"}, {STORE_KEY_WEBHOOK, "W2", "wh-new"},
		{STORE_KEY_APP, "A2", NULL},       {STORE_KEY_ORG, "T1", NULL},
		{STORE_KEY_USER, "U1", NULL},      {STORE_KEY_CHANNEL, "C1", NULL},
		{STORE_KEY_MEMBER, "C1", "U1"},    {STORE_KEY_USERGROUP, "S1", NULL},
		{STORE_KEY_TOKEN, "hash-old", NULL}, {STORE_KEY_APP, "A1", NULL},
		{STORE_KEY_WEBHOOK, "W1", "wh-old"}, {STORE_KEY_COMMAND, "T1", "/old"},
	};
	assert_int_equal(n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(keys[i].kind, want[i].kind);
		assert_string_equal(keys[i].id, want[i].id);
		if (want[i].sub)
			assert_string_equal(keys[i].sub, want[i].sub);
		else
			assert_null(keys[i].sub);
	}

	/* A big message, and the file capped at its current size. */
	assert_int_equal(sqlite3_exec(f->st->wdb, "PRAGMA max_page_count=1", NULL, NULL, NULL),
			 SQLITE_OK);
	size_t big = 1 << 20;
	char *text = xmalloc(big + 1);
	memset(text, 'x', big);
	text[big] = '\0';
	message m;
	message_init(&m);
	strcpy(m.channel_id, "C1");
	m.ts = 43;
	m.text = text;
	store_msg_insert(j, &m);
	free(text);
	assert_int_equal(submit(f, j), ERR_STORAGE_FULL);
	/* Not attached: the handler's changes are still there. */
	assert_ptr_equal(core_channel_get(&f->s, "C2"), mk.c2);

	assert_int_equal(store_restore(f->st, &f->s, keys, n), 0);
	char *after = dump(&f->s, true);
	assert_string_equal(after, before);
	free(after);
	assert_created_gone(f, &mk);
	assert_updates_undone(f);
	assert_matches_disk(f);
	/* Restoring again changes nothing. */
	assert_int_equal(store_restore(f->st, &f->s, keys, n), 0);
	store_keys_free(keys, n);
	after = dump(&f->s, true);
	assert_string_equal(after, before);
	free(after);
	free(before);
}

/* A failed job's entity that a later job (still in flight) also writes is
 * restored only once that job is done: its whole-row snapshot carries the
 * failed change and may commit it. Memory ends equal to the disk. */
static void test_restore_waits_for_later_jobs(void **state)
{
	fx *f = *state;
	seed(f);
	store_state_attach(f->st, &f->s);
	core_state *s = &f->s;
	channel *c = core_channel_get(s, "C1");

	/* A: a topic (and a new channel), then fails. */
	store_job *a = store_job_new(f->st);
	xstrset(&c->topic, "from A");
	store_put_channel(a, c);
	channel *c3 = core_channel_new("C3", "T1", CHAN_PUBLIC);
	c3->name = s_("only-a");
	core_channel_add(s, c3);
	store_put_channel(a, c3);
	fail_with_conflict(a);
	/* B, built after A: a purpose on the same channel; commits. */
	store_job *b = store_job_new(f->st);
	xstrset(&c->purpose, "from B");
	store_put_channel(b, c);

	outcome oa = {.s = s}, ob = {.s = s};
	store_submit(f->st, a, done_cb, &oa);
	store_submit(f->st, b, done_cb, &ob);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(oa.calls, 1);
	assert_int_equal(oa.err, ERR_ALREADY_REACTED);
	assert_int_equal(ob.calls, 1);
	assert_int_equal(ob.err, 0);
	/* At A's callback: C3 (only A wrote it) is gone, C1 waits for B. */
	assert_null(strstr(oa.dump, "channel C3 "));
	assert_non_null(strstr(oa.dump, "from A|from B"));
	free(oa.dump);
	free(ob.dump);
	/* B committed A's topic with its own purpose: memory says the same. */
	assert_ptr_equal(core_channel_get(s, "C1"), c);
	assert_string_equal(c->topic, "from A");
	assert_string_equal(c->purpose, "from B");
	assert_null(core_channel_get(s, "C3"));
	assert_matches_disk(f);

	/* Both failing: restored after the second, to what is on disk. */
	a = store_job_new(f->st);
	xstrset(&c->topic, "A2");
	store_put_channel(a, c);
	fail_with_conflict(a);
	b = store_job_new(f->st);
	xstrset(&c->purpose, "B2");
	store_put_channel(b, c);
	fail_with_conflict(b);
	memset(&oa, 0, sizeof oa);
	memset(&ob, 0, sizeof ob);
	store_submit(f->st, a, done_cb, &oa);
	store_submit(f->st, b, done_cb, &ob);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(oa.err, ERR_ALREADY_REACTED);
	assert_int_equal(ob.err, ERR_ALREADY_REACTED);
	assert_string_equal(c->topic, "from A");
	assert_string_equal(c->purpose, "from B");
	assert_matches_disk(f);
}

/* A failed job whose callback store_close runs (the loop never turned
 * again) is restored there too, before the state goes. */
static void test_close_restores(void **state)
{
	fx *f = *state;
	seed(f);
	store_state_attach(f->st, &f->s);
	char *before = dump(&f->s, true);
	store_job *j = store_job_new(f->st);
	made mk;
	change_everything(f, j, &mk);
	fail_with_conflict(j);
	outcome o = {0};
	store_submit(f->st, j, done_cb, &o);
	store_close(f->st);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.err, ERR_ALREADY_REACTED);
	char *after = dump(&f->s, true);
	assert_string_equal(after, before);
	free(after);
	free(before);
	assert_created_gone(f, &mk);
	f->st = open_at(f);
	assert_matches_disk(f);
}

/* Detached: failed jobs leave hot state alone. */
static void test_detach(void **state)
{
	fx *f = *state;
	seed(f);
	store_state_attach(f->st, &f->s);
	store_state_attach(f->st, NULL);
	store_job *j = store_job_new(f->st);
	made mk;
	change_everything(f, j, &mk);
	fail_with_conflict(j);
	assert_int_equal(submit(f, j), ERR_ALREADY_REACTED);
	assert_ptr_equal(core_channel_get(&f->s, "C2"), mk.c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_job_restores_before_callback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_committed_job_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_restore_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_waits_for_later_jobs, setup_loop,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_restores, setup_loop, teardown),
		cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
	};
	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
