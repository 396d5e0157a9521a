/* Message search on SQLite: an FTS5 index the writer keeps up to date
 * from a queue that triggers fill, and the search query (store_search.h).
 *
 * The index (migration SLOT-SEARCH in migrations.c):
 *   msg_search(body)  FTS5, Porter stemming over unicode61 (diacritics
 *                     folded), automerge 8; rowid = messages.rowid; body
 *                     is canal_search_text(text, subtype, hidden, blocks,
 *                     attachments). Mentions are indexed as user ids;
 *                     names are matched to ids at query time
 *                     (api_search.c).
 *   msg_search_queue  rowids of messages inserted, edited or deleted since
 *                     the index was last brought up to date.
 *   triggers on messages fill the queue; at the end of a batch, before
 *   COMMIT, the writer empties it (sqlite__search_flush): each queued row
 *   loses its old entry and, if it still exists and search finds such
 *   messages, gets one for its current text.
 *
 * When the index is brought up to date (sqlite__search_flush's policy):
 *  1. In the batch that wrote the messages, when it held at most
 *     SEARCH_FLUSH_QUIET_JOBS jobs, no other job waits for the writer and
 *     fewer than about a thousand writes a second come in: every batch of
 *     a server people use interactively. A post, an edit or a deletion
 *     is then in the index when its request is answered, in the same
 *     transaction (the message one just posted is found).
 *  2. Under load, at the first batch that finds SEARCH_FLUSH_ROWS rows
 *     queued or its oldest queued row SEARCH_FLUSH_MAX_LAG_US old, or
 *     once the writer has had no job for SQLITE_SEARCH_IDLE_US
 *     (sqlite__search_idle, its own transaction; at once when the store
 *     closes). So under sustained load the index lags by at most ten
 *     thousand messages and about a second (bigger, rarer flushes: on a
 *     quiet machine 10,000/1 s gave a posting ratio index on/off of
 *     0.86, 5,000 rows 0.76, 1,000 rows/250 ms 0.65; bench/README.md). A lagging entry cannot leak: matches
 *     are joined to the current messages row and filtered by its
 *     channel, and a row gone meanwhile drops out of the join.
 *  3. At open (sqlite__search_open), for rows a crash left queued.
 *  Offline (no loop: the CLI, bulk loads) every batch does it.
 * Why not index in the triggers, per message: FTS5 (3.40) writes its
 * pending changes out as a new index segment at every savepoint, and the
 * writer opens one per job: a segment per message (posting throughput
 * fell to 40%). Why not in every batch whatever the load: each flush
 * writes a segment and does merge work, one to two times as many pages
 * as the batch's messages themselves, in the commit that everyone in the
 * batch waits for on the one writer thread (throughput fell to about
 * half); a thousand at a time it costs about 6 µs of writer CPU per
 * message (bench/README.md).
 * A job that fails rolls back its queue rows with the rest of its
 * savepoint.
 *
 * canal_search_text(text, subtype, hidden, blocks, attachments) is an SQL
 * function registered on the write connection before migrations run
 * (sqlite__search_register): what a person reads in the message, its text
 * and the readable text of its blocks and attachments (search_text_index;
 * JSON is parsed only for messages that have blocks or attachments), or
 * NULL for what search leaves out (system
 * messages such as joins, tombstones, empty text), or NULL for everything
 * while indexing is off (store_cfg.search_index_off, for the benchmark's
 * comparison: the flush then leaves the index alone, so messages written
 * meanwhile are never found and deleted ones leave stale entries: never
 * for a server people use). The index keeps its own copy of body, so
 * dropping an entry needs only its rowid and never depends on the
 * function giving the same answer as at insert.
 *
 * The query is built per request (the filters vary), prepared on the read
 * connection and finalized after: a few tens of microseconds beside the
 * match itself. One pass collects (rowid, ts, score) of every match, which
 * gives the exact total; the page is cut after sorting and only its rows
 * are read in full, in the same read transaction. */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

/* Subtypes search finds besides plain messages; the SQL below and the
 * index function agree through this list. */
#define SEARCH_SUBTYPES_SQL "'bot_message','me_message','thread_broadcast','file_share'"
static const char *const search_subtypes[] = {"bot_message", "me_message", "thread_broadcast",
					      "file_share"};

/* ---- the index function (writer thread) ---- */

static bool indexable(const char *subtype, bool hidden)
{
	if (hidden)
		return false;
	if (!subtype)
		return true;
	for (size_t i = 0; i < sizeof search_subtypes / sizeof search_subtypes[0]; i++)
		if (strcmp(subtype, search_subtypes[i]) == 0)
			return true;
	return false;
}

static void search_text_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const store *st = sqlite3_user_data(ctx);
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	const char *subtype = (const char *)sqlite3_value_text(argv[1]);
	bool hidden = sqlite3_value_int(argv[2]) != 0;
	const char *blocks = (const char *)sqlite3_value_text(argv[3]);
	const char *atts = (const char *)sqlite3_value_text(argv[4]);
	if (st->cfg.search_index_off || !indexable(subtype, hidden)
	    || ((!text || !*text) && !blocks && !atts)) {
		sqlite3_result_null(ctx);
		return;
	}
	char *body = search_text_index(text, blocks, atts);
	if (!*body) {
		free(body);
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_text(ctx, body, -1, free);
}

int sqlite__search_register(store *st)
{
	return sqlite3_create_function_v2(st->wdb, "canal_search_text", 5,
					  SQLITE_UTF8 | SQLITE_DETERMINISTIC, st, search_text_fn,
					  NULL, NULL, NULL);
}

/* ---- the end of a batch (writer thread) ---- */

static const char flush_pending[] = "SELECT EXISTS (SELECT 1 FROM msg_search_queue)";
/* A row's old entry goes whatever happened to it (FTS5 keeps its own copy
 * of body, so the message row need not exist any more), one rowid at a
 * time: FTS5 answers "rowid = ?" from its content table, but "rowid IN
 * (subquery)" with a scan of the whole index (seconds at a million
 * messages). Then the rows still there are indexed as they are now. A
 * rowid deleted and reused in one batch ends up indexed as the new
 * message. CROSS JOIN keeps the queue the outer loop: the planner knows
 * nothing of its size and would otherwise scan every message. */
/* Rows inserted since the last flush have no entry: only edited and
 * deleted ones are looked up. */
static const char flush_queued[] = "SELECT id FROM msg_search_queue WHERE indexed = 1";
static const char flush_unindex[] = "DELETE FROM msg_search WHERE rowid = ?1";
/* LIMIT -1 keeps the subquery from being flattened into the outer one,
 * which would call canal_search_text twice per row (once for the WHERE,
 * once for the value). */
static const char flush_index[] =
	"INSERT INTO msg_search(rowid, body) SELECT id, b FROM (SELECT q.id,"
	" canal_search_text(m.text, m.subtype, m.hidden, m.blocks, m.attachments) AS b FROM msg_search_queue q CROSS"
	" JOIN messages m ON m.rowid = q.id LIMIT -1) WHERE b IS NOT NULL";
static const char flush_clear[] = "DELETE FROM msg_search_queue";

static int flush_step(store *st, const char *sql, bool *row)
{
	sqlite3_stmt *s = sqlite__cache_get(&st->wext, st->wdb, sql);
	if (!s)
		return SQLITE_ERROR;
	int rc = sqlite3_step(s);
	if (row)
		*row = rc == SQLITE_ROW && sqlite3_column_int(s, 0) != 0;
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Brings the index up to date with every queued row (inside the caller's
 * transaction). */
static int flush_now(store *st)
{
	/* Indexing off (benchmarks): the index is not touched at all, so
	 * the comparison measures posting without it. Entries of messages
	 * deleted meanwhile stay behind. */
	if (st->cfg.search_index_off)
		return flush_step(st, flush_clear, NULL);
	sqlite3_stmt *q = sqlite__cache_get(&st->wext, st->wdb, flush_queued);
	sqlite3_stmt *d = sqlite__cache_get(&st->wext, st->wdb, flush_unindex);
	if (!q || !d)
		return SQLITE_ERROR;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		sqlite3_bind_int64(d, 1, sqlite3_column_int64(q, 0));
		int drc = sqlite3_step(d);
		sqlite3_reset(d);
		if (drc != SQLITE_DONE) {
			rc = drc;
			break;
		}
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return rc;
	if ((rc = flush_step(st, flush_index, NULL)) != SQLITE_OK)
		return rc;
	return flush_step(st, flush_clear, NULL);
}

/* The policy (see the design note). */
#define SEARCH_FLUSH_ROWS 10000     /* this many queued: now, whatever the load */
#define SEARCH_FLUSH_QUIET_JOBS 2   /* a batch this small with no job waiting: now */
#define SEARCH_FLUSH_MAX_LAG_US 1000000
/* The writer counts as quiet below this many jobs per window (1,000
 * writes a second): a person posting, or a test, not a load. Under load
 * small batches with nobody waiting still come often, and indexing in
 * each of them costs two to three times more per message (measured
 * offline: +15-20 µs per message in batches of 50, +6 µs in batches of
 * a thousand). */
#define SEARCH_QUIET_WINDOW_US 100000
#define SEARCH_QUIET_JOBS 100
/* count(*) of a whole table counts b-tree pages, not rows. */
static const char flush_count[] = "SELECT count(*) FROM msg_search_queue";

int sqlite__search_flush(store *st, size_t njobs)
{
	sqlite3_stmt *c = sqlite__cache_get(&st->wext, st->wdb, flush_count);
	if (!c)
		return SQLITE_ERROR;
	int rc = sqlite3_step(c);
	int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(c, 0) : 0;
	sqlite3_reset(c);
	if (rc != SQLITE_ROW)
		return rc;
	if (n == 0) {
		st->search_pending = false;
		return SQLITE_OK;
	}
	int64_t now = clock_mono_us();
	/* Benchmarks under valgrind stretch the clocks as much as the
	 * server is slowed, so that batches, windows and catch-ups hold as
	 * many rows as at full speed (bench/search-run). */
	int64_t scale = sqlite__search_scale(st);
	if (now - st->search_window_us >= SEARCH_QUIET_WINDOW_US * scale) {
		st->search_window_us = now;
		st->search_window_jobs = 0;
	}
	st->search_window_jobs += (int64_t)njobs;
	if (!st->search_pending)
		st->search_since_us = now;  /* the oldest row left behind */
	/* Offline (the CLI, bulk loads) nothing comes later to catch up. */
	if (st->loop && n < SEARCH_FLUSH_ROWS
	    && now - st->search_since_us < SEARCH_FLUSH_MAX_LAG_US * scale) {
		pthread_mutex_lock(&st->mu);
		bool quiet = st->q_len == 0 && njobs <= SEARCH_FLUSH_QUIET_JOBS
			     && st->search_window_jobs <= SEARCH_QUIET_JOBS;
		pthread_mutex_unlock(&st->mu);
		if (!quiet) {
			st->search_pending = true;
			return SQLITE_OK;
		}
	}
	rc = flush_now(st);
	if (rc == SQLITE_OK)
		st->search_pending = false;
	return rc;
}

/* flush_now in a transaction of its own. */
static int flush_alone(store *st)
{
	int rc = sqlite__exec(st->wdb, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = flush_now(st)) != SQLITE_OK || (rc = sqlite__exec(st->wdb, "COMMIT")) != SQLITE_OK) {
		sqlite__exec(st->wdb, "ROLLBACK");
		return rc;
	}
	return SQLITE_OK;
}

void sqlite__search_idle(store *st)
{
	/* Cleared whatever happens: a failure (disk full) is not retried in
	 * a loop; the next batch tries again. */
	st->search_pending = false;
	int rc = flush_alone(st);
	if (rc != SQLITE_OK) {
		log_error("store: search index catch-up failed", "rc=%d err=\"%s\"", rc,
			  sqlite3_errmsg(st->wdb));
		return;
	}
	pthread_mutex_lock(&st->mu);
	st->last_commit_us = clock_mono_us();
	sqlite__wal_note(st);
	st->stats.commits++;
	pthread_mutex_unlock(&st->mu);
}

int sqlite__search_open(store *st)
{
	bool pending = false;
	int rc = flush_step(st, flush_pending, &pending);
	if (rc != SQLITE_OK || !pending)
		return rc;
	/* Rows a batch left queued before the server stopped (a crash
	 * under load): indexed now, before anyone searches. */
	return flush_alone(st);
}

/* ---- query building ---- */

typedef struct bindv {
	bool is_text;
	int64_t i;
	char *s;  /* owned */
} bindv;

typedef struct qbuild {
	buf sql;
	bindv *b;
	size_t n;
} qbuild;

static void bind_text(qbuild *q, char *owned)
{
	q->b = xrealloc(q->b, (q->n + 1) * sizeof *q->b);
	q->b[q->n++] = (bindv){.is_text = true, .s = owned};
	buf_adds(&q->sql, "?");
}

static void bind_int(qbuild *q, int64_t v)
{
	q->b = xrealloc(q->b, (q->n + 1) * sizeof *q->b);
	q->b[q->n++] = (bindv){.is_text = false, .i = v};
	buf_adds(&q->sql, "?");
}

static void json_string_add(buf *b, const char *s)
{
	buf_addc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)*p);
		} else if (*p < 0x20) {
			buf_printf(b, "\\u%04x", *p);
		} else {
			buf_addc(b, (char)*p);
		}
	}
	buf_addc(b, '"');
}

/* A JSON array of strings, for json_each: the lists travel as one value. */
static char *json_list(const char *const *v, size_t n)
{
	buf b = BUF_INIT;
	buf_addc(&b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(&b, ',');
		json_string_add(&b, v[i] ? v[i] : "");
	}
	buf_addc(&b, ']');
	return buf_detach(&b, NULL);
}

static void fts_quoted(buf *b, const char *s)
{
	buf_addc(b, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			buf_addc(b, '"');
		buf_addc(b, *p);
	}
	buf_addc(b, '"');
}

/* One FTS5 string: the term's text quoted ("" inside doubled), so no
 * character of a query is ever FTS5 syntax; the tokenizer splits it. A
 * word that names people also matches their mentions, which the index
 * holds as ids: ("alice" OR "U1"). */
static void fts_string(buf *b, const sq_term *t)
{
	if (t->ids.n)
		buf_addc(b, '(');
	fts_quoted(b, t->text);
	if (t->prefix)
		buf_adds(b, " *");
	for (size_t i = 0; i < t->ids.n; i++) {
		buf_adds(b, " OR ");
		fts_quoted(b, t->ids.v[i]);
	}
	if (t->ids.n)
		buf_addc(b, ')');
}

/* The FTS5 expression of q's terms with negate == neg, joined by op;
 * NULL if there are none. */
static char *fts_expr(const search_query *q, bool neg, const char *op)
{
	buf b = BUF_INIT;
	size_t k = 0;
	for (size_t i = 0; i < q->nterms; i++) {
		if (q->terms[i].negate != neg)
			continue;
		if (k++)
			buf_adds(&b, op);
		fts_string(&b, &q->terms[i]);
	}
	if (!k) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void build(qbuild *qb, const store_search_req *r)
{
	const search_query *q = r->q;
	buf *s = &qb->sql;
	char *pos = fts_expr(q, false, " AND ");
	char *neg = fts_expr(q, true, " OR ");
	if (pos) {
		buf_adds(s, "SELECT m.rowid, m.ts, bm25(msg_search) FROM msg_search"
			    " JOIN messages m ON m.rowid = msg_search.rowid WHERE msg_search MATCH ");
		bind_text(qb, pos);
	} else {
		/* Without words the index is not read: the same rule as
		 * canal_search_text picks what search may find. */
		buf_adds(s, "SELECT m.rowid, m.ts, 0.0 FROM messages m WHERE m.hidden = 0"
			    " AND (m.subtype IS NULL OR m.subtype IN (" SEARCH_SUBTYPES_SQL "))"
			    " AND (m.text <> '' OR m.blocks IS NOT NULL OR m.attachments IS NOT NULL)");
	}
	buf_adds(s, " AND m.channel_id IN (SELECT value FROM json_each(");
	bind_text(qb, json_list(r->channels, r->nchannels));
	buf_adds(s, "))");
	if (neg) {
		buf_adds(s, " AND m.rowid NOT IN (SELECT rowid FROM msg_search WHERE msg_search MATCH ");
		bind_text(qb, neg);
		buf_adds(s, ")");
	}
	if (r->from_set) {
		buf_adds(s, " AND m.user_id IN (SELECT value FROM json_each(");
		bind_text(qb, json_list(r->from, r->nfrom));
		buf_adds(s, "))");
	}
	if (r->nnot_from) {
		buf_adds(s, " AND coalesce(m.user_id, '') NOT IN (SELECT value FROM json_each(");
		bind_text(qb, json_list(r->not_from, r->nnot_from));
		buf_adds(s, "))");
	}
	if (q->after) {
		buf_adds(s, " AND m.ts >= ");
		bind_int(qb, q->after);
	}
	if (q->before) {
		buf_adds(s, " AND m.ts < ");
		bind_int(qb, q->before);
	}
	if (q->has_link)
		buf_adds(s, " AND (m.text LIKE '%http://%' OR m.text LIKE '%https://%'"
			    " OR m.text LIKE '%<mailto:%')");
	if (q->has_reaction)
		buf_adds(s, " AND EXISTS (SELECT 1 FROM reactions r"
			    " WHERE r.channel_id = m.channel_id AND r.ts = m.ts)");
	for (size_t i = 0; i < q->emoji.n; i++) {
		/* :thumbsup: also finds thumbsup::skin-tone-3. */
		buf_adds(s, " AND EXISTS (SELECT 1 FROM reactions r WHERE r.channel_id = m.channel_id"
			    " AND r.ts = m.ts AND (r.name = ");
		bind_text(qb, xstrdup(q->emoji.v[i]));
		buf_adds(s, " OR r.name LIKE ");
		buf pat = BUF_INIT;
		for (const char *e = q->emoji.v[i]; *e; e++) {
			if (*e == '_' || *e == '%' || *e == '\\')
				buf_addc(&pat, '\\');
			buf_addc(&pat, *e);
		}
		buf_adds(&pat, "::skin-tone-_");
		bind_text(qb, buf_detach(&pat, NULL));
		buf_adds(s, " ESCAPE '\\'))");
	}
	if (q->has_pin)
		buf_adds(s, " AND EXISTS (SELECT 1 FROM pins p"
			    " WHERE p.channel_id = m.channel_id AND p.ts = m.ts)");
	if (q->is_thread)
		buf_adds(s, " AND (m.thread_ts IS NOT NULL OR EXISTS (SELECT 1 FROM messages t"
			    " WHERE t.channel_id = m.channel_id AND t.thread_ts = m.ts))");
}

static void qbuild_release(qbuild *qb)
{
	buf_release(&qb->sql);
	for (size_t i = 0; i < qb->n; i++)
		free(qb->b[i].s);
	free(qb->b);
}

/* ---- reading ---- */

typedef struct match {
	int64_t rowid, ts;
	double rank;  /* bm25: lower is better */
} match;

static int by_rank(const void *a, const void *b)
{
	const match *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->ts > y->ts ? -1 : x->ts < y->ts;
}

static int by_rank_asc(const void *a, const void *b)
{
	return by_rank(b, a);
}

static int by_ts(const void *a, const void *b)
{
	const match *x = a, *y = b;
	return x->ts > y->ts ? -1 : x->ts < y->ts;
}

static int by_ts_asc(const void *a, const void *b)
{
	return by_ts(b, a);
}

static const char row_sql[] = "SELECT " SQLITE_MSG_COLS " FROM messages WHERE rowid = ?1";


static int step_simple(store *st, sqlite__rstmt id)
{
	sqlite3_stmt *s = sqlite__rget(st, id);
	int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
	sqlite__rstmt_done(s);
	return rc == SQLITE_DONE ? 0 : ERR_INTERNAL_ERROR;
}

void store_search_hits_free(store_search_hit *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		message_release(&h[i].msg);
	free(h);
}

int store_search_messages(store *st, const store_search_req *r, store_search_hit **out, size_t *n,
			  size_t *total)
{
	*out = NULL;
	*n = 0;
	*total = 0;
	if (!r->nchannels || (r->from_set && !r->nfrom) || r->q->nothing)
		return 0;

	qbuild qb = {.sql = BUF_INIT};
	build(&qb, r);
	match *mv = NULL;
	size_t nm = 0, cap = 0;
	store_search_hit *hits = NULL;
	size_t nh = 0;
	sqlite3_stmt *s = NULL;
	int err = 0;

	if (step_simple(st, R_BEGIN) != 0) {
		log_error("store: search begin failed", "err=\"%s\"", sqlite3_errmsg(st->rdb));
		qbuild_release(&qb);
		return ERR_INTERNAL_ERROR;
	}
	if (sqlite3_prepare_v2(st->rdb, qb.sql.data, (int)qb.sql.len, &s, NULL) != SQLITE_OK) {
		log_error("store: search prepare failed", "err=\"%s\"", sqlite3_errmsg(st->rdb));
		err = ERR_INTERNAL_ERROR;
		goto out;
	}
	for (size_t i = 0; i < qb.n; i++) {
		if (qb.b[i].is_text)
			sqlite3_bind_text(s, (int)i + 1, qb.b[i].s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(s, (int)i + 1, qb.b[i].i);
	}
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (nm == cap) {
			cap = cap ? cap * 2 : 256;
			mv = xrealloc(mv, cap * sizeof *mv);
		}
		mv[nm].rowid = sqlite3_column_int64(s, 0);
		mv[nm].ts = sqlite3_column_int64(s, 1);
		mv[nm].rank = sqlite3_column_double(s, 2);
		nm++;
	}
	if (rc != SQLITE_DONE) {
		log_error("store: search failed", "err=\"%s\"", sqlite3_errmsg(st->rdb));
		err = ERR_INTERNAL_ERROR;
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;

	int (*cmp)(const void *, const void *) =
		r->sort == STORE_SEARCH_TIMESTAMP ? (r->ascending ? by_ts_asc : by_ts)
						  : (r->ascending ? by_rank_asc : by_rank);
	if (nm > 1)
		qsort(mv, nm, sizeof *mv, cmp);
	*total = nm;
	size_t first = r->offset < nm ? r->offset : nm;
	size_t last = r->limit < nm - first ? first + r->limit : nm;
	if (last > first)
		hits = xcalloc(last - first, sizeof *hits);
	sqlite3_stmt *rs = sqlite__rext(st, row_sql);
	if (!rs && last > first) {
		err = ERR_INTERNAL_ERROR;
		goto out;
	}
	for (size_t i = first; i < last; i++) {
		sqlite3_bind_int64(rs, 1, mv[i].rowid);
		rc = sqlite3_step(rs);
		if (rc == SQLITE_ROW) {
			sqlite__row_to_msg(rs, &hits[nh].msg);
			hits[nh].score = mv[i].rank == 0 ? 0 : -mv[i].rank;
			nh++;
		}
		sqlite__rstmt_done(rs);
		if (rc != SQLITE_ROW) {
			/* Same snapshot as the match: the row is there. */
			log_error("store: search row read failed", "err=\"%s\"", sqlite3_errmsg(st->rdb));
			err = ERR_INTERNAL_ERROR;
			goto out;
		}
	}
out:
	sqlite3_finalize(s);
	step_simple(st, R_COMMIT);
	if (!sqlite3_get_autocommit(st->rdb))
		sqlite3_exec(st->rdb, "ROLLBACK", NULL, NULL, NULL);
	qbuild_release(&qb);
	free(mv);
	if (err) {
		store_search_hits_free(hits, nh);
		*total = 0;
		return err;
	}
	*out = hits;
	*n = nh;
	return 0;
}
