/* Reads on the loop thread over the read-only connection (rdb).
 *
 * Every public read runs inside one read transaction, so the messages and
 * the thread summaries, reactions and pins decorating them come from the
 * same snapshot. Statements are prepared once and cached in st->rstmt; each
 * use ends with a reset, because a statement left mid-step would pin its
 * snapshot and keep checkpoints from finishing.
 *
 * Decoration (sqlite__decorate) costs three queries per page, not per
 * message: a history page is a contiguous run of the channel's top-level
 * messages, so every thread reply, reaction and pin belonging to a message
 * on it has a ts (or thread_ts) between the page's oldest and newest ts.
 * Rows in that range for messages not on the page (replies, for instance)
 * are skipped. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

const char *const sqlite__rsql[R__COUNT] = {
	[R_BEGIN] = "BEGIN",
	[R_COMMIT] = "COMMIT",
	[R_MSG_GET] = "SELECT " SQLITE_MSG_COLS " FROM messages WHERE channel_id=?1 AND ts=?2",
	[R_HISTORY] = "SELECT " SQLITE_MSG_COLS " FROM messages WHERE channel_id=?1 AND top=1"
		      " AND ts>=?2 AND ts<=?3 ORDER BY ts DESC LIMIT ?4",
	[R_REPLIES] = "SELECT " SQLITE_MSG_COLS " FROM messages WHERE channel_id=?1 AND thread_ts=?2"
		      " AND ts<>thread_ts AND ts>=?3 AND ts<=?4 ORDER BY ts LIMIT ?5",
	/* Per (thread, replier): first reply, count, newest; ordered so each
	 * thread's repliers come in order of their first reply. */
	[R_THREADS] = "SELECT thread_ts, user_id, MIN(ts) AS first, COUNT(*), MAX(ts)"
		      " FROM messages WHERE channel_id=?1 AND thread_ts BETWEEN ?2 AND ?3"
		      " AND ts<>thread_ts GROUP BY thread_ts, user_id ORDER BY thread_ts, first",
	[R_REACTIONS] = "SELECT ts, name, user_id FROM reactions"
			" WHERE channel_id=?1 AND ts BETWEEN ?2 AND ?3 ORDER BY seq",
	[R_PINS_RANGE] = "SELECT ts FROM pins WHERE channel_id=?1 AND ts BETWEEN ?2 AND ?3",
	[R_PINS_LIST] = "SELECT ts, created, created_by FROM pins WHERE channel_id=?1"
			" ORDER BY created DESC, ts DESC",
	[R_BY_USER] = "SELECT channel_id, ts, MAX(seq) AS s FROM reactions WHERE user_id=?1"
		      " AND channel_id IN (SELECT value FROM json_each(?2))"
		      " GROUP BY channel_id, ts ORDER BY s DESC LIMIT ?3 OFFSET ?4",
	[R_COUNT_AFTER] = "SELECT COUNT(*) FROM messages WHERE channel_id=?1 AND top=1 AND ts>?2",
	[R_LATEST_TS] = "SELECT ts FROM messages WHERE channel_id=?1 AND top=1"
			" ORDER BY ts DESC LIMIT 1",
	[R_LOAD_ORGS] = "SELECT " SQLITE_ORG_COLS " FROM orgs",
	[R_LOAD_USERS] = "SELECT " SQLITE_USER_COLS " FROM users",
	[R_LOAD_CHANNELS] = "SELECT " SQLITE_CHANNEL_COLS " FROM channels",
	[R_LOAD_MEMBERS] = "SELECT " SQLITE_MEMBER_COLS " FROM members",
	[R_LOAD_USERGROUPS] = "SELECT " SQLITE_USERGROUP_COLS " FROM usergroups",
	[R_LOAD_APPS] = "SELECT " SQLITE_APP_COLS " FROM apps",
	[R_LOAD_COMMANDS] = "SELECT " SQLITE_COMMAND_COLS " FROM app_commands",
	[R_LOAD_WEBHOOKS] = "SELECT " SQLITE_WEBHOOK_COLS " FROM webhooks",
	[R_LOAD_TOKENS] = "SELECT " SQLITE_TOKEN_COLS " FROM tokens",
	[R_ROW_ORG] = "SELECT " SQLITE_ORG_COLS " FROM orgs WHERE id=?1",
	[R_ROW_USER] = "SELECT " SQLITE_USER_COLS " FROM users WHERE id=?1",
	[R_ROW_CHANNEL] = "SELECT " SQLITE_CHANNEL_COLS " FROM channels WHERE id=?1",
	[R_ROW_MEMBER] = "SELECT " SQLITE_MEMBER_COLS " FROM members"
			 " WHERE channel_id=?1 AND user_id=?2",
	[R_ROW_USERGROUP] = "SELECT " SQLITE_USERGROUP_COLS " FROM usergroups WHERE id=?1",
	[R_ROW_APP] = "SELECT " SQLITE_APP_COLS " FROM apps WHERE id=?1",
	[R_ROW_TOKEN] = "SELECT " SQLITE_TOKEN_COLS " FROM tokens WHERE hash=?1",
	[R_ROW_COMMAND] = "SELECT " SQLITE_COMMAND_COLS " FROM app_commands"
			  " WHERE org_id=?1 AND command=?2",
	[R_ROW_WEBHOOK] = "SELECT " SQLITE_WEBHOOK_COLS " FROM webhooks WHERE id=?1",
	/* Per channel through the primary key, instead of a scan of every
	 * message. */
	[R_LOAD_LAST_TS] = "SELECT MAX((SELECT MAX(ts) FROM messages WHERE channel_id=c.id))"
			   " FROM channels c",
};

/* ---- statement and column helpers ---- */

sqlite3_stmt *sqlite__rget(store *st, sqlite__rstmt id)
{
	if (!st->rstmt[id] && sqlite3_prepare_v3(st->rdb, sqlite__rsql[id], -1,
						  SQLITE_PREPARE_PERSISTENT, &st->rstmt[id],
						  NULL) != SQLITE_OK) {
		log_error("store: prepare failed", "stmt=%d err=\"%s\"", (int)id, sqlite3_errmsg(st->rdb));
		st->rstmt[id] = NULL;
	}
	return st->rstmt[id];
}

sqlite3_stmt *sqlite__cache_get(sqlite__stmt_cache *c, sqlite3 *db, const char *sql)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->sql[i] == sql)
			return c->stmt[i];
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
		log_error("store: prepare failed", "sql=\"%.60s\" err=\"%s\"", sql, sqlite3_errmsg(db));
		sqlite3_finalize(s);
		return NULL;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->sql = xrealloc(c->sql, c->cap * sizeof *c->sql);
		c->stmt = xrealloc(c->stmt, c->cap * sizeof *c->stmt);
	}
	c->sql[c->n] = sql;
	c->stmt[c->n++] = s;
	return s;
}

void sqlite__cache_free(sqlite__stmt_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		sqlite3_finalize(c->stmt[i]);
	free(c->sql);
	free(c->stmt);
	memset(c, 0, sizeof *c);
}

sqlite3_stmt *sqlite__rext(store *st, const char *sql)
{
	return sqlite__cache_get(&st->rext, st->rdb, sql);
}

void sqlite__rstmt_done(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

char *sqlite__col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? xstrdup((const char *)t) : NULL;
}

void sqlite__col_id(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	size_t n = t ? strlen((const char *)t) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(out, t, n);
	out[n] = '\0';
}

static int read_fail(store *st, const char *what)
{
	log_error("store read failed", "what=%s err=\"%s\"", what, sqlite3_errmsg(st->rdb));
	return ERR_INTERNAL_ERROR;
}

static void bind_id(sqlite3_stmt *s, int i, const char *id)
{
	sqlite3_bind_text(s, i, id ? id : "", -1, SQLITE_STATIC);
}

static int read_begin(store *st)
{
	sqlite3_stmt *s = sqlite__rget(st, R_BEGIN);
	int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
	sqlite__rstmt_done(s);
	return rc == SQLITE_DONE ? 0 : read_fail(st, "begin");
}

static void read_end(store *st)
{
	sqlite3_stmt *s = sqlite__rget(st, R_COMMIT);
	if (s)
		sqlite3_step(s);
	sqlite__rstmt_done(s);
	if (!sqlite3_get_autocommit(st->rdb))
		sqlite3_exec(st->rdb, "ROLLBACK", NULL, NULL, NULL);
}

void sqlite__row_to_msg(sqlite3_stmt *s, message *m)
{
	message_init(m);
	sqlite__col_id(s, 0, m->channel_id, sizeof m->channel_id);
	sqlite__col_id(s, 1, m->org_id, sizeof m->org_id);
	m->ts = sqlite3_column_int64(s, 2);
	m->thread_ts = sqlite3_column_int64(s, 3);
	m->subtype = sqlite__col_str(s, 4);
	sqlite__col_id(s, 5, m->user_id, sizeof m->user_id);
	sqlite__col_id(s, 6, m->bot_id, sizeof m->bot_id);
	sqlite__col_id(s, 7, m->app_id, sizeof m->app_id);
	m->text = sqlite__col_str(s, 8);
	m->blocks = sqlite__col_str(s, 9);
	m->attachments = sqlite__col_str(s, 10);
	m->metadata = sqlite__col_str(s, 11);
	m->extra = sqlite__col_str(s, 12);
	m->client_msg_id = sqlite__col_str(s, 13);
	m->edited_ts = sqlite3_column_int64(s, 14);
	sqlite__col_id(s, 15, m->edited_user, sizeof m->edited_user);
	m->reply_broadcast = sqlite3_column_int(s, 16) != 0;
	m->hidden = sqlite3_column_int(s, 17) != 0;
}

/* A growing array of messages. */
typedef struct msgvec {
	message *v;
	size_t n, cap;
} msgvec;

static message *msgvec_push(msgvec *mv)
{
	if (mv->n == mv->cap) {
		mv->cap = mv->cap ? mv->cap * 2 : 16;
		mv->v = xrealloc(mv->v, mv->cap * sizeof *mv->v);
	}
	return &mv->v[mv->n++];
}

/* Steps s to the end, appending one message per row. */
static int collect(store *st, sqlite3_stmt *s, msgvec *mv)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		sqlite__row_to_msg(s, msgvec_push(mv));
	return rc == SQLITE_DONE ? 0 : read_fail(st, "messages");
}

/* ---- decoration: thread summaries, reactions, pins ---- */

/* Messages of one channel, looked up by ts. */
typedef struct msgindex {
	message **by_ts;
	size_t n;
} msgindex;

static int cmp_msg_ts(const void *a, const void *b)
{
	int64_t x = (*(message *const *)a)->ts, y = (*(message *const *)b)->ts;
	return (x > y) - (x < y);
}

static message *index_find(const msgindex *ix, int64_t ts)
{
	size_t lo = 0, hi = ix->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int64_t t = ix->by_ts[mid]->ts;
		if (t == ts)
			return ix->by_ts[mid];
		if (t < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int decorate_threads(store *st, const char *channel_id, const msgindex *ix, int64_t lo,
			    int64_t hi)
{
	sqlite3_stmt *s = sqlite__rget(st, R_THREADS);
	if (!s)
		return ERR_INTERNAL_ERROR;
	bind_id(s, 1, channel_id);
	sqlite3_bind_int64(s, 2, lo);
	sqlite3_bind_int64(s, 3, hi);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		message *m = index_find(ix, sqlite3_column_int64(s, 0));
		if (!m)
			continue;
		const unsigned char *uid = sqlite3_column_text(s, 1);
		int64_t latest = sqlite3_column_int64(s, 4);
		m->reply_count += sqlite3_column_int(s, 3);
		if (latest > m->latest_reply)
			m->latest_reply = latest;
		if (!uid || !*uid)
			continue; /* counted as a reply, but nobody to show */
		m->reply_users_count++;
		if (m->nreply_users < 5) {
			if (!m->reply_users)
				m->reply_users = xcalloc(5, sizeof *m->reply_users);
			m->reply_users[m->nreply_users++] = xstrdup((const char *)uid);
		}
	}
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE)
		return read_fail(st, "threads");
	/* A parent is marked by thread_ts == ts whether or not its row says so
	 * (the first reply does not rewrite the parent). */
	for (size_t i = 0; i < ix->n; i++)
		if (ix->by_ts[i]->reply_count > 0)
			ix->by_ts[i]->thread_ts = ix->by_ts[i]->ts;
	return 0;
}

static void reaction_add_user(message *m, const char *name, const char *user_id)
{
	reaction *r = NULL;
	for (size_t i = 0; i < m->nreactions && !r; i++)
		if (strcmp(m->reactions[i].name, name) == 0)
			r = &m->reactions[i];
	if (!r) {
		m->reactions = xrealloc(m->reactions, (m->nreactions + 1) * sizeof *m->reactions);
		r = &m->reactions[m->nreactions++];
		r->name = xstrdup(name);
		r->users = NULL;
		r->nusers = 0;
	}
	r->users = xrealloc(r->users, (r->nusers + 1) * sizeof *r->users);
	r->users[r->nusers++] = xstrdup(user_id);
}

static int decorate_reactions(store *st, const char *channel_id, const msgindex *ix, int64_t lo,
			      int64_t hi)
{
	sqlite3_stmt *s = sqlite__rget(st, R_REACTIONS);
	if (!s)
		return ERR_INTERNAL_ERROR;
	bind_id(s, 1, channel_id);
	sqlite3_bind_int64(s, 2, lo);
	sqlite3_bind_int64(s, 3, hi);
	int rc;
	/* In seq order, so a name's first row is its first reaction and users
	 * append in the order they reacted. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		message *m = index_find(ix, sqlite3_column_int64(s, 0));
		const unsigned char *name = sqlite3_column_text(s, 1);
		const unsigned char *uid = sqlite3_column_text(s, 2);
		if (m && name && uid)
			reaction_add_user(m, (const char *)name, (const char *)uid);
	}
	sqlite__rstmt_done(s);
	return rc == SQLITE_DONE ? 0 : read_fail(st, "reactions");
}

static int decorate_pins(store *st, const char *channel_id, const msgindex *ix, int64_t lo,
			 int64_t hi)
{
	sqlite3_stmt *s = sqlite__rget(st, R_PINS_RANGE);
	if (!s)
		return ERR_INTERNAL_ERROR;
	bind_id(s, 1, channel_id);
	sqlite3_bind_int64(s, 2, lo);
	sqlite3_bind_int64(s, 3, hi);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		message *m = index_find(ix, sqlite3_column_int64(s, 0));
		if (m && !m->npinned) {
			m->pinned_to = xmalloc(sizeof *m->pinned_to);
			m->pinned_to[0] = xstrdup(channel_id);
			m->npinned = 1;
		}
	}
	sqlite__rstmt_done(s);
	return rc == SQLITE_DONE ? 0 : read_fail(st, "pins");
}

/* Fills thread summaries, reactions and pins of ms[0..n), all messages of
 * channel_id, in any order. */
static int decorate(store *st, const char *channel_id, message *ms, size_t n)
{
	if (!n)
		return 0;
	msgindex ix = {xmalloc(n * sizeof(message *)), n};
	for (size_t i = 0; i < n; i++)
		ix.by_ts[i] = &ms[i];
	qsort(ix.by_ts, n, sizeof *ix.by_ts, cmp_msg_ts);
	int64_t lo = ix.by_ts[0]->ts, hi = ix.by_ts[n - 1]->ts;
	int err = decorate_threads(st, channel_id, &ix, lo, hi);
	if (!err)
		err = decorate_reactions(st, channel_id, &ix, lo, hi);
	if (!err)
		err = decorate_pins(st, channel_id, &ix, lo, hi);
	free(ix.by_ts);
	return err;
}

/* ---- single messages ---- */

/* One decorated message (inside a read transaction). */
static int msg_get(store *st, const char *channel_id, int64_t ts, message *out)
{
	message_init(out);
	sqlite3_stmt *s = sqlite__rget(st, R_MSG_GET);
	if (!s)
		return ERR_INTERNAL_ERROR;
	bind_id(s, 1, channel_id);
	sqlite3_bind_int64(s, 2, ts);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		sqlite__row_to_msg(s, out);
	sqlite__rstmt_done(s);
	if (rc == SQLITE_DONE)
		return ERR_MESSAGE_NOT_FOUND;
	if (rc != SQLITE_ROW)
		return read_fail(st, "message");
	int err = decorate(st, channel_id, out, 1);
	if (err)
		message_release(out);
	return err;
}

int store_msg_get(store *st, const char *channel_id, int64_t ts, message *out)
{
	int err = read_begin(st);
	if (err) {
		message_init(out);
		return err;
	}
	err = msg_get(st, channel_id, ts, out);
	read_end(st);
	return err;
}

/* ---- history and threads ---- */

/* The range as inclusive [lo, hi] bounds. An exclusive bound moves by
 * 1 µs, saturating: clients may send the largest ts there is
 * (oldest=9223372036854.775807 overflowed; fuzz/corpus/fuzz_json_api/
 * crash-oldest-max), and no message has that ts. */
static void range_bounds(const store_range *r, int64_t *lo, int64_t *hi)
{
	*lo = INT64_MIN;
	*hi = INT64_MAX;
	if (r && r->oldest)
		*lo = r->inclusive || r->oldest == INT64_MAX ? r->oldest : r->oldest + 1;
	if (r && r->latest)
		*hi = r->inclusive || r->latest == INT64_MIN ? r->latest : r->latest - 1;
}

/* limit+1 as an SQL LIMIT, without overflow for absurd limits. */
static int64_t fetch_limit(size_t limit)
{
	return limit >= (size_t)INT32_MAX ? INT32_MAX : (int64_t)limit + 1;
}

int store_msg_history(store *st, const char *channel_id, const store_range *r, message **out,
		      size_t *n, bool *more)
{
	*out = NULL;
	*n = 0;
	if (more)
		*more = false;
	size_t limit = r ? r->limit : 0;
	int64_t lo, hi;
	range_bounds(r, &lo, &hi);
	if (lo > hi)
		return 0;
	int err = read_begin(st);
	if (err)
		return err;
	msgvec mv = {0};
	sqlite3_stmt *s = sqlite__rget(st, R_HISTORY);
	if (!s) {
		err = ERR_INTERNAL_ERROR;
		goto out;
	}
	bind_id(s, 1, channel_id);
	sqlite3_bind_int64(s, 2, lo);
	sqlite3_bind_int64(s, 3, hi);
	sqlite3_bind_int64(s, 4, fetch_limit(limit));
	err = collect(st, s, &mv);
	sqlite__rstmt_done(s);
	if (err)
		goto out;
	/* Trim the look-ahead row first: decoration ranges over the page. */
	bool extra = mv.n > limit;
	while (mv.n > limit)
		message_release(&mv.v[--mv.n]);
	err = decorate(st, channel_id, mv.v, mv.n);
	if (!err) {
		*out = mv.v;
		*n = mv.n;
		if (more)
			*more = extra;
		mv.v = NULL;
	}
out:
	read_end(st);
	if (mv.v)
		message_list_free(mv.v, mv.n);
	return err;
}

int store_msg_replies(store *st, const char *channel_id, int64_t thread_ts, const store_range *r,
		      message **out, size_t *n, bool *more)
{
	*out = NULL;
	*n = 0;
	if (more)
		*more = false;
	size_t limit = r ? r->limit : 0;
	int64_t lo, hi;
	range_bounds(r, &lo, &hi);
	int err = read_begin(st);
	if (err)
		return err;
	msgvec mv = {0};
	message *parent = msgvec_push(&mv);
	sqlite3_stmt *s = sqlite__rget(st, R_MSG_GET);
	if (!s) {
		mv.n = 0;
		err = ERR_INTERNAL_ERROR;
		goto out;
	}
	bind_id(s, 1, channel_id);
	sqlite3_bind_int64(s, 2, thread_ts);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		sqlite__row_to_msg(s, parent);
	sqlite__rstmt_done(s);
	if (rc != SQLITE_ROW) {
		mv.n = 0;
		err = rc == SQLITE_DONE ? ERR_THREAD_NOT_FOUND : read_fail(st, "thread parent");
		goto out;
	}
	/* The parent counts toward the limit when it is shown. */
	size_t want = limit;
	if (thread_ts >= lo && thread_ts <= hi) {
		if (want)
			want--;
	} else {
		message_release(parent);
		mv.n = 0;
	}
	size_t base = mv.n;
	if (lo <= hi) {
		s = sqlite__rget(st, R_REPLIES);
		if (!s) {
			err = ERR_INTERNAL_ERROR;
			goto out;
		}
		bind_id(s, 1, channel_id);
		sqlite3_bind_int64(s, 2, thread_ts);
		sqlite3_bind_int64(s, 3, lo);
		sqlite3_bind_int64(s, 4, hi);
		sqlite3_bind_int64(s, 5, fetch_limit(want));
		err = collect(st, s, &mv);
		sqlite__rstmt_done(s);
		if (err)
			goto out;
	}
	bool extra = mv.n - base > want;
	while (mv.n - base > want)
		message_release(&mv.v[--mv.n]);
	err = decorate(st, channel_id, mv.v, mv.n);
	if (!err) {
		*out = mv.v;
		*n = mv.n;
		if (more)
			*more = extra;
		mv.v = NULL;
	}
out:
	read_end(st);
	if (mv.v)
		message_list_free(mv.v, mv.n);
	return err;
}

/* ---- pins ---- */

void store_pin_list_free(store_pin *p, size_t n)
{
	if (!p)
		return;
	for (size_t i = 0; i < n; i++)
		message_release(&p[i].msg);
	free(p);
}

int store_pins_list(store *st, const char *channel_id, store_pin **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int err = read_begin(st);
	if (err)
		return err;
	store_pin *v = NULL;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *s = sqlite__rget(st, R_PINS_LIST);
	if (!s) {
		err = ERR_INTERNAL_ERROR;
		goto out;
	}
	bind_id(s, 1, channel_id);
	int rc;
	/* Keys first: reading a message reuses statements this one must not
	 * share a step with. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof *v);
		}
		store_pin *p = &v[cnt++];
		memset(p, 0, sizeof *p);
		p->msg.ts = sqlite3_column_int64(s, 0);
		p->created = sqlite3_column_int64(s, 1);
		sqlite__col_id(s, 2, p->created_by, sizeof p->created_by);
	}
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE) {
		err = read_fail(st, "pins");
		goto out;
	}
	size_t kept = 0;
	for (size_t i = 0; i < cnt && !err; i++) {
		store_pin p = v[i];
		err = msg_get(st, channel_id, p.msg.ts, &p.msg);
		if (err == ERR_MESSAGE_NOT_FOUND) {
			err = 0; /* a pin outliving its message is not shown */
			continue;
		}
		if (!err)
			v[kept++] = p;
	}
	cnt = kept;
out:
	read_end(st);
	if (err) {
		store_pin_list_free(v, cnt);
		return err;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- reactions by user ---- */

static void json_str(buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
}

typedef struct msgkey {
	char channel_id[ID_MAX];
	int64_t ts;
} msgkey;

int store_reactions_by_user(store *st, const char *user_id, const char *const *channel_ids,
			    size_t nchannels, size_t offset, size_t limit, message **out, size_t *n,
			    bool *more)
{
	*out = NULL;
	*n = 0;
	if (more)
		*more = false;
	if (!nchannels)
		return 0;
	/* The visible channels travel as one JSON array parameter, so the
	 * statement stays prepared whatever their number. */
	buf chans = BUF_INIT;
	buf_addc(&chans, '[');
	for (size_t i = 0; i < nchannels; i++) {
		if (i)
			buf_addc(&chans, ',');
		json_str(&chans, channel_ids[i] ? channel_ids[i] : "");
	}
	buf_addc(&chans, ']');

	int err = read_begin(st);
	if (err) {
		buf_release(&chans);
		return err;
	}
	msgkey *keys = NULL;
	size_t nkeys = 0, cap = 0;
	msgvec mv = {0};
	sqlite3_stmt *s = sqlite__rget(st, R_BY_USER);
	if (!s) {
		err = ERR_INTERNAL_ERROR;
		goto out;
	}
	bind_id(s, 1, user_id);
	sqlite3_bind_text(s, 2, chans.data, (int)chans.len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, fetch_limit(limit));
	sqlite3_bind_int64(s, 4, offset > (size_t)INT64_MAX ? INT64_MAX : (int64_t)offset);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (nkeys == cap) {
			cap = cap ? cap * 2 : 16;
			keys = xrealloc(keys, cap * sizeof *keys);
		}
		sqlite__col_id(s, 0, keys[nkeys].channel_id, ID_MAX);
		keys[nkeys++].ts = sqlite3_column_int64(s, 1);
	}
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE) {
		err = read_fail(st, "reactions by user");
		goto out;
	}
	bool extra = nkeys > limit;
	if (extra)
		nkeys = limit;
	for (size_t i = 0; i < nkeys && !err; i++) {
		message *m = msgvec_push(&mv);
		err = msg_get(st, keys[i].channel_id, keys[i].ts, m);
		if (err) {
			mv.n--;
			if (err == ERR_MESSAGE_NOT_FOUND)
				err = 0;
		}
	}
	if (!err) {
		*out = mv.v;
		*n = mv.n;
		if (more)
			*more = extra;
		mv.v = NULL;
	}
out:
	read_end(st);
	if (mv.v)
		message_list_free(mv.v, mv.n);
	free(keys);
	buf_release(&chans);
	return err;
}

/* ---- counts ---- */

static int one_int(store *st, sqlite__rstmt id, const char *channel_id, const int64_t *arg,
		   int64_t *val)
{
	*val = 0;
	sqlite3_stmt *s = sqlite__rget(st, id);
	if (!s)
		return ERR_INTERNAL_ERROR;
	bind_id(s, 1, channel_id);
	if (arg)
		sqlite3_bind_int64(s, 2, *arg);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*val = sqlite3_column_int64(s, 0);
	sqlite__rstmt_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : read_fail(st, "count");
}

int store_msg_count_after(store *st, const char *channel_id, int64_t after_ts, int64_t *count)
{
	return one_int(st, R_COUNT_AFTER, channel_id, &after_ts, count);
}

int store_msg_latest_ts(store *st, const char *channel_id, int64_t *ts)
{
	return one_int(st, R_LATEST_TS, channel_id, NULL, ts);
}
