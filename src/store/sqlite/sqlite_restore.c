/* store_restore: after a failed job, the hot-state entities its ops wrote
 * go back to what the database last committed.
 *
 * Design note.
 *  - A handler changes hot state first and queues the same change in its
 *    job; if the job fails, the database still holds the truth. Instead of
 *    an undo log in every handler, the store knows from the job's ops which
 *    entities it writes (store_job_keys, from sqlite__wkeys) and re-reads
 *    each of those rows on the read connection, through the row readers
 *    store_load uses (sqlite_load.c).
 *  - In place: an entity whose row exists keeps its pointer (other modules
 *    borrow it): it is unlinked from its indexes, refilled from the row and
 *    added again, so a changed name, email or kind is re-indexed. One whose
 *    row does not exist (a refused create) is retired: out of every index,
 *    still allocated until core_state_release. Memberships and commands,
 *    which nothing borrows across calls, are removed (freed) as usual.
 *  - Jobs in flight. Entity writes are whole-row upserts of the entity as
 *    hot state held it when the op was added, so a later job writing the
 *    same entity carries the failed job's change too and may still commit
 *    it. st->keyed counts, per entity, the submitted jobs writing it whose
 *    callbacks have not run; a failed job marks its entities stale, and a
 *    stale entity is restored when its count drops to zero (at once when
 *    the failed job was the last), before that job's done_cb. Until then
 *    memory shows what the pending job will try to commit; after, what the
 *    database holds. Jobs complete in submission order, so the jobs still
 *    in flight when one fails were submitted after it.
 *  - Loop thread only: store_submit, delivery and the read connection. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

/* One entity written by jobs in flight (st->keyed). */
typedef struct keyed {
	size_t jobs;     /* submitted jobs writing it whose callbacks have not run */
	bool stale;      /* one of them failed: restore when jobs reaches 0 */
	store_key key;
} keyed;

/* "<kind>/<id>\x1f<sub>". Built by hand, not with buf_printf: this runs
 * for every key of every job, twice, and vsnprintf showed in profiles. */
static const char *key_str(buf *b, const store_key *k)
{
	char num[12];
	int n = 0;
	unsigned kind = (unsigned)k->kind;
	do {
		num[sizeof num - 1 - n++] = (char)('0' + kind % 10);
		kind /= 10;
	} while (kind && n < (int)sizeof num);
	buf_reset(b);
	buf_add(b, num + sizeof num - n, (size_t)n);
	buf_addc(b, '/');
	buf_adds(b, k->id);
	buf_addc(b, '\x1f');
	if (k->sub)
		buf_adds(b, k->sub);
	return b->data;
}

/* ---- keys of a job ---- */

static const char *val_text(const store_job *j, const sqlite__op *op, int pos)
{
	if (pos < 0 || (size_t)pos >= op->nvals)
		return NULL;
	const sqlite__val *v = &j->vals[op->first + (size_t)pos];
	return v->type == V_TEXT ? v->s : NULL;
}

size_t store_job_keys(const store_job *j, store_key **out)
{
	store_key *keys = NULL;
	size_t n = 0, cap = 0;
	map seen;
	map_init(&seen);
	buf b = BUF_INIT;
	for (size_t i = 0; i < j->nops; i++) {
		const sqlite__op *op = &j->ops[i];
		if (op->sql)
			continue;
		const sqlite__wkey *wk = &sqlite__wkeys[op->stmt];
		if (!wk->on)
			continue;
		const char *id = val_text(j, op, wk->a), *sub = val_text(j, op, wk->b);
		/* Without its key (an empty id is stored as NULL) no row can be
		 * found again, nor an entity in hot state. */
		if (!id || (!sub && (wk->kind == STORE_KEY_MEMBER || wk->kind == STORE_KEY_COMMAND)))
			continue;
		store_key k = {wk->kind, (char *)id, (char *)sub};
		if (map_get(&seen, key_str(&b, &k)))
			continue;
		map_put(&seen, b.data, &seen);
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			keys = xrealloc(keys, cap * sizeof *keys);
		}
		keys[n++] = (store_key){wk->kind, xstrdup(id), sub ? xstrdup(sub) : NULL};
	}
	map_release(&seen);
	buf_release(&b);
	*out = keys;
	return n;
}

void store_keys_free(store_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(keys[i].id);
		free(keys[i].sub);
	}
	free(keys);
}

/* ---- restoring ---- */

static const sqlite__rstmt row_stmt[] = {
	[STORE_KEY_ORG] = R_ROW_ORG,
	[STORE_KEY_USER] = R_ROW_USER,
	[STORE_KEY_CHANNEL] = R_ROW_CHANNEL,
	[STORE_KEY_MEMBER] = R_ROW_MEMBER,
	[STORE_KEY_USERGROUP] = R_ROW_USERGROUP,
	[STORE_KEY_APP] = R_ROW_APP,
	[STORE_KEY_TOKEN] = R_ROW_TOKEN,
	[STORE_KEY_COMMAND] = R_ROW_COMMAND,
	[STORE_KEY_WEBHOOK] = R_ROW_WEBHOOK,
};

/* A webhook is indexed by its hash; the key names it by id (the row's
 * primary key) and by the hash the job wrote. */
static webhook *find_webhook(core_state *s, const store_key *k)
{
	webhook *w = k->sub ? core_webhook_get(s, k->sub) : NULL;
	if (w && strcmp(w->id, k->id) == 0)
		return w;
	void *v;
	for (size_t i = 0; map_next(&s->webhooks, &i, NULL, &v);)
		if (strcmp(((webhook *)v)->id, k->id) == 0)
			return v;
	return NULL;
}

/* q is on the entity's row (row) or found none (!row). */
static void apply(core_state *s, const store_key *k, sqlite3_stmt *q, bool row)
{
	switch (k->kind) {
	case STORE_KEY_ORG: {
		org *o = core_org_get(s, k->id);
		if (row) {
			if (o)
				core_org_unlink(s, o);
			else
				o = core_org_new(k->id);
			sqlite__row_org(q, o);
			core_org_add(s, o);
		} else if (o) {
			core_state_retire(s, CORE_ORG, o);
		}
		break;
	}
	case STORE_KEY_USER: {
		user *u = core_user_get(s, k->id);
		if (row) {
			if (u)
				core_user_unlink(s, u);
			else
				u = core_user_new(k->id, NULL);
			sqlite__row_user(q, u);
			core_user_add(s, u);
		} else if (u) {
			core_state_retire(s, CORE_USER, u);
		}
		break;
	}
	case STORE_KEY_CHANNEL: {
		channel *c = core_channel_get(s, k->id);
		if (row) {
			if (c)
				core_channel_unlink(s, c);
			else
				c = core_channel_new(k->id, NULL, CHAN_PUBLIC);
			sqlite__row_channel(q, c);
			core_channel_add(s, c);
		} else if (c) {
			core_state_retire(s, CORE_CHANNEL, c);
		}
		break;
	}
	case STORE_KEY_MEMBER: {
		/* A retired (or unknown) channel takes its memberships with it. */
		channel *c = core_channel_get(s, k->id);
		chan_member *m = c ? core_member_get(c, k->sub) : NULL;
		if (c && row)
			sqlite__row_member(q, m ? m : core_member_add(c, k->sub, 0));
		else if (m)
			core_member_remove(c, k->sub);
		break;
	}
	case STORE_KEY_USERGROUP: {
		usergroup *g = core_usergroup_get(s, k->id);
		if (row) {
			if (g)
				core_usergroup_unlink(s, g);
			else
				g = core_usergroup_new(k->id, NULL);
			sqlite__row_usergroup(q, g);
			core_usergroup_add(s, g);
		} else if (g) {
			core_state_retire(s, CORE_USERGROUP, g);
		}
		break;
	}
	case STORE_KEY_APP: {
		app *a = core_app_get(s, k->id);
		if (row) {
			if (a)
				core_app_unlink(s, a);
			else
				a = core_app_new(k->id, NULL);
			sqlite__row_app(q, a);
			core_app_add(s, a);
		} else if (a) {
			core_state_retire(s, CORE_APP, a);
		}
		break;
	}
	case STORE_KEY_TOKEN: {
		token *t = core_token_get(s, k->id);
		if (row) {
			if (t)
				core_token_unlink(s, t);
			else
				t = core_token_new(k->id, TOKEN_USER);
			sqlite__row_token(q, t);
			core_token_add(s, t);
		} else if (t) {
			core_state_retire(s, CORE_TOKEN, t);
		}
		break;
	}
	case STORE_KEY_COMMAND: {
		/* Same org and command: the index key does not change. */
		app_command *c = core_command_get(s, k->id, k->sub);
		if (row && c) {
			sqlite__row_command(q, c);
		} else if (row) {
			c = xcalloc(1, sizeof *c);
			sqlite__row_command(q, c);
			core_command_add(s, c);
		} else if (c) {
			core_command_remove(s, k->id, k->sub);
		}
		break;
	}
	case STORE_KEY_WEBHOOK: {
		webhook *w = find_webhook(s, k);
		if (row) {
			if (w)
				core_webhook_unlink(s, w);
			else
				w = xcalloc(1, sizeof *w);
			sqlite__row_webhook(q, w);
			core_webhook_add(s, w);
		} else if (w) {
			core_state_retire(s, CORE_WEBHOOK, w);
		}
		break;
	}
	}
}

static int restore_one(store *st, core_state *s, const store_key *k)
{
	if ((size_t)k->kind >= sizeof row_stmt / sizeof row_stmt[0] || !k->id)
		return ERR_INTERNAL_ERROR;
	sqlite3_stmt *q = sqlite__rget(st, row_stmt[k->kind]);
	if (!q)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(q, 1, k->id, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(q) >= 2)
		sqlite3_bind_text(q, 2, k->sub ? k->sub : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	int err = 0;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		apply(s, k, q, rc == SQLITE_ROW);
	} else {
		log_error("store: restore read failed", "kind=%d id=%s err=\"%s\"", (int)k->kind,
			  k->id, sqlite3_errmsg(st->rdb));
		err = ERR_INTERNAL_ERROR;
	}
	sqlite__rstmt_done(q);
	return err;
}

static void read_step(store *st, sqlite__rstmt id)
{
	sqlite3_stmt *q = sqlite__rget(st, id);
	if (q)
		sqlite3_step(q);
	sqlite__rstmt_done(q);
}

int store_restore(store *st, core_state *s, const store_key *keys, size_t n)
{
	if (!n)
		return 0;
	/* One snapshot for all the keys, as store_load reads. */
	bool own = sqlite3_get_autocommit(st->rdb);
	if (own)
		read_step(st, R_BEGIN);
	int err = 0;
	for (size_t i = 0; i < n; i++) {
		int e = restore_one(st, s, &keys[i]);
		if (e && !err)
			err = e;
	}
	if (own) {
		read_step(st, R_COMMIT);
		if (!sqlite3_get_autocommit(st->rdb))
			sqlite3_exec(st->rdb, "ROLLBACK", NULL, NULL, NULL);
	}
	log_info("store: hot state restored from the database after a failed job", "entities=%zu",
		 n);
	return err;
}

/* ---- keeping an attached state in step ---- */

void store_state_attach(store *st, core_state *s)
{
	st->state = s;
}

void sqlite__keys_submit(store *st, store_job *j)
{
	if (!st->state || j->keys)
		return;
	j->nkeys = store_job_keys(j, &j->keys);
	buf b = BUF_INIT;
	for (size_t i = 0; i < j->nkeys; i++) {
		const store_key *k = &j->keys[i];
		keyed *t = map_get(&st->keyed, key_str(&b, k));
		if (!t) {
			t = xcalloc(1, sizeof *t);
			t->key = (store_key){k->kind, xstrdup(k->id), k->sub ? xstrdup(k->sub) : NULL};
			map_put(&st->keyed, b.data, t);
		}
		t->jobs++;
	}
	buf_release(&b);
}

void sqlite__keys_done(store *st, store_job *j)
{
	if (!j->nkeys)
		return;
	store_key *todo = xmalloc(j->nkeys * sizeof *todo);
	size_t n = 0;
	buf b = BUF_INIT;
	for (size_t i = 0; i < j->nkeys; i++) {
		keyed *t = map_get(&st->keyed, key_str(&b, &j->keys[i]));
		if (!t)
			continue;
		if (j->err)
			t->stale = true;
		if (--t->jobs > 0)
			continue;
		map_del(&st->keyed, b.data);
		if (t->stale) {
			todo[n++] = t->key; /* moved */
		} else {
			free(t->key.id);
			free(t->key.sub);
		}
		free(t);
	}
	buf_release(&b);
	if (n && st->state)
		store_restore(st, st->state, todo, n);
	store_keys_free(todo, n);
}

void sqlite__keys_release(store *st)
{
	void *v;
	for (size_t i = 0; map_next(&st->keyed, &i, NULL, &v);) {
		keyed *t = v;
		free(t->key.id);
		free(t->key.sub);
		free(t);
	}
	map_release(&st->keyed);
}
