/* Retention policies, legal holds and the audit log (store_compliance.h).
 * Schema: migration 5. Writes are module ops (sqlite__op_sql); reads use
 * the loop thread's read connection (sqlite__rext), each bounded by a
 * LIMIT over an index.
 *
 * Retention deletion re-checks at commit time what the loop thread read
 * earlier: the DELETE itself refuses a message that a legal hold placed
 * in between now covers, and the reactions, pins and mentions of a
 * message go only if the message did. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store_compliance.h"

/* ---- retention policies ---- */

static const char SQL_RET_PUT[] =
	"REPLACE INTO retention_policies(org_id, channel_id, days, updated, updated_by)"
	" VALUES(?,?,?,?,?)";
static const char SQL_RET_DEL[] =
	"DELETE FROM retention_policies WHERE org_id=? AND channel_id=?";
static const char SQL_RET_GET[] =
	"SELECT org_id, channel_id, days, updated, updated_by FROM retention_policies"
	" WHERE org_id=?1 AND channel_id=?2";
static const char SQL_RET_LIST[] =
	"SELECT org_id, channel_id, days, updated, updated_by FROM retention_policies";

void store_retention_put(store_job *j, const store_retention *p)
{
	sqlite__op_sql(j, SQL_RET_PUT);
	sqlite__v_str(j, p->org_id);
	sqlite__v_str(j, p->channel_id);
	sqlite__v_int(j, p->days);
	sqlite__v_int(j, p->updated);
	sqlite__v_id(j, p->updated_by);
}

void store_retention_del(store_job *j, const char *org_id, const char *channel_id)
{
	sqlite__op_sql(j, SQL_RET_DEL);
	sqlite__v_str(j, org_id);
	sqlite__v_str(j, channel_id ? channel_id : "");
}

static void row_retention(sqlite3_stmt *s, store_retention *p)
{
	memset(p, 0, sizeof *p);
	sqlite__col_id(s, 0, p->org_id, sizeof p->org_id);
	sqlite__col_id(s, 1, p->channel_id, sizeof p->channel_id);
	p->days = sqlite3_column_int64(s, 2);
	p->updated = sqlite3_column_int64(s, 3);
	sqlite__col_id(s, 4, p->updated_by, sizeof p->updated_by);
}

int store_retention_get(store *st, const char *org_id, const char *channel_id,
			store_retention *out, bool *found)
{
	*found = false;
	sqlite3_stmt *s = sqlite__rext(st, SQL_RET_GET);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(s, 1, org_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, channel_id ? channel_id : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_retention(s, out);
		*found = true;
	}
	sqlite__rstmt_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : ERR_INTERNAL_ERROR;
}

int store_retention_list(store *st, store_retention **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = sqlite__rext(st, SQL_RET_LIST);
	if (!s)
		return ERR_INTERNAL_ERROR;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		row_retention(s, &(*out)[(*n)++]);
	}
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return ERR_INTERNAL_ERROR;
	}
	return 0;
}

/* ---- legal holds ---- */

static const char SQL_HOLD_PUT[] =
	"REPLACE INTO legal_holds(id, org_id, kind, target, created, created_by, released,"
	" released_by, note) VALUES(?,?,?,?,?,?,?,?,?)";
static const char SQL_HOLD_LIST[] =
	"SELECT id, org_id, kind, target, created, created_by, released, note FROM legal_holds"
	" WHERE org_id=?1 ORDER BY created, id";

void store_hold_put(store_job *j, const store_hold *h, const char *released_by)
{
	sqlite__op_sql(j, SQL_HOLD_PUT);
	sqlite__v_str(j, h->id);
	sqlite__v_str(j, h->org_id);
	sqlite__v_str(j, h->kind);
	sqlite__v_str(j, h->target);
	sqlite__v_int(j, h->created);
	sqlite__v_id(j, h->created_by);
	sqlite__v_int(j, h->released);
	sqlite__v_id(j, released_by ? released_by : "");
	sqlite__v_str(j, h->note);
}

int store_hold_list(store *st, const char *org_id, store_hold **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = sqlite__rext(st, SQL_HOLD_LIST);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(s, 1, org_id, -1, SQLITE_STATIC);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		store_hold *h = &(*out)[(*n)++];
		memset(h, 0, sizeof *h);
		sqlite__col_id(s, 0, h->id, sizeof h->id);
		sqlite__col_id(s, 1, h->org_id, sizeof h->org_id);
		sqlite__col_id(s, 2, h->kind, sizeof h->kind);
		sqlite__col_id(s, 3, h->target, sizeof h->target);
		h->created = sqlite3_column_int64(s, 4);
		sqlite__col_id(s, 5, h->created_by, sizeof h->created_by);
		h->released = sqlite3_column_int(s, 6) != 0;
		h->note = sqlite__col_str(s, 7);
	}
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE) {
		store_holds_free(*out, *n);
		*out = NULL;
		*n = 0;
		return ERR_INTERNAL_ERROR;
	}
	return 0;
}

void store_holds_free(store_hold *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(h[i].note);
	free(h);
}

/* ---- retention deletion ---- */

/* The primary key (channel_id, ts) walks the range; authors on hold are
 * skipped by the partial index of live holds. */
static const char SQL_RET_CANDIDATES[] =
	"SELECT ts FROM messages WHERE channel_id=?1 AND ts>?2 AND ts<?3"
	" AND NOT EXISTS(SELECT 1 FROM legal_holds h WHERE h.released=0 AND h.kind='user'"
	" AND h.target=messages.user_id)"
	" ORDER BY ts LIMIT ?4";
static const char SQL_RET_DEL_MSG[] =
	"DELETE FROM messages WHERE channel_id=?1 AND ts=?2 AND ts<?3"
	" AND NOT EXISTS(SELECT 1 FROM legal_holds h WHERE h.released=0 AND"
	" ((h.kind='channel' AND h.target=?1) OR (h.kind='user' AND h.target=messages.user_id)))";
static const char SQL_RET_DEL_REACTIONS[] =
	"DELETE FROM reactions WHERE channel_id=?1 AND ts=?2"
	" AND NOT EXISTS(SELECT 1 FROM messages WHERE channel_id=?1 AND ts=?2)";
static const char SQL_RET_DEL_PINS[] =
	"DELETE FROM pins WHERE channel_id=?1 AND ts=?2"
	" AND NOT EXISTS(SELECT 1 FROM messages WHERE channel_id=?1 AND ts=?2)";
static const char SQL_RET_DEL_MENTIONS[] =
	"DELETE FROM mentions WHERE channel_id=?1 AND ts=?2"
	" AND NOT EXISTS(SELECT 1 FROM messages WHERE channel_id=?1 AND ts=?2)";

int store_retention_candidates(store *st, const char *channel_id, int64_t after, int64_t cutoff,
			       size_t limit, int64_t *ts_out, size_t *n)
{
	*n = 0;
	sqlite3_stmt *s = sqlite__rext(st, SQL_RET_CANDIDATES);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(s, 1, channel_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, after);
	sqlite3_bind_int64(s, 3, cutoff);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)limit);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < limit)
		ts_out[(*n)++] = sqlite3_column_int64(s, 0);
	sqlite__rstmt_done(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : ERR_INTERNAL_ERROR;
}

void store_retention_delete(store_job *j, const char *channel_id, int64_t ts, int64_t cutoff)
{
	sqlite__op_sql(j, SQL_RET_DEL_MSG);
	sqlite__v_str(j, channel_id);
	sqlite__v_int(j, ts);
	sqlite__v_int(j, cutoff);
	static const char *const deps[] = {SQL_RET_DEL_REACTIONS, SQL_RET_DEL_PINS,
					   SQL_RET_DEL_MENTIONS};
	for (size_t i = 0; i < sizeof deps / sizeof deps[0]; i++) {
		sqlite__op_sql(j, deps[i]);
		sqlite__v_str(j, channel_id);
		sqlite__v_int(j, ts);
	}
}

/* ---- the audit log ---- */

static const char SQL_AUDIT_ADD[] =
	"INSERT INTO audit_log(id, org_id, date_create, action, actor_id, entity_id, entry)"
	" VALUES(?,?,?,?,?,?,?)";
/* The newest STORE_AUDIT_SCAN rows below the cursor, then the filters:
 * a selective filter costs one bounded page, never a walk of the log. */
static const char SQL_AUDIT_FIND[] =
	"SELECT seq, entry, action, actor_id, entity_id, date_create FROM audit_log"
	" WHERE (?1 IS NULL OR org_id=?1) AND seq<?2 ORDER BY seq DESC LIMIT ?3";
static const char SQL_AUDIT_AFTER[] =
	"SELECT seq, entry FROM audit_log WHERE seq>?1 ORDER BY seq LIMIT ?2";
static const char SQL_AUDIT_LAST[] = "SELECT MAX(seq) FROM audit_log";

void store_audit_append(store_job *j, const char *id, const char *org_id, int64_t date_create,
			const char *action, const char *actor_id, const char *entity_id,
			const char *entry_json)
{
	sqlite__op_sql(j, SQL_AUDIT_ADD);
	sqlite__v_str(j, id);
	sqlite__v_id(j, org_id ? org_id : "");
	sqlite__v_int(j, date_create);
	sqlite__v_str(j, action);
	sqlite__v_id(j, actor_id ? actor_id : "");
	sqlite__v_id(j, entity_id ? entity_id : "");
	sqlite__v_str(j, entry_json);
}

/* Is word one of the comma-separated items of list? */
static bool in_list(const char *list, const char *word)
{
	size_t wn = strlen(word);
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == wn && strncmp(p, word, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

static void rows_push(store_audit_row **out, size_t *n, size_t *cap, int64_t seq,
		      sqlite3_stmt *s, int col)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*out = xrealloc(*out, *cap * sizeof **out);
	}
	(*out)[*n].seq = seq;
	(*out)[*n].entry = sqlite__col_str(s, col);
	(*n)++;
}

int store_audit_find(store *st, const store_audit_query *q, store_audit_row **out, size_t *n,
		     int64_t *next)
{
	*out = NULL;
	*n = 0;
	*next = 0;
	sqlite3_stmt *s = sqlite__rext(st, SQL_AUDIT_FIND);
	if (!s)
		return ERR_INTERNAL_ERROR;
	if (q->org_id)
		sqlite3_bind_text(s, 1, q->org_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, q->before > 0 ? q->before : INT64_MAX);
	sqlite3_bind_int64(s, 3, STORE_AUDIT_SCAN);
	size_t cap = 0, scanned = 0;
	int64_t last = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(s, 0);
		scanned++;
		last = seq;
		const char *action = (const char *)sqlite3_column_text(s, 2);
		const char *actor = (const char *)sqlite3_column_text(s, 3);
		const char *entity = (const char *)sqlite3_column_text(s, 4);
		int64_t date = sqlite3_column_int64(s, 5);
		if (q->oldest && date < q->oldest) {
			/* Dates grow with seq: nothing further down matches. */
			rc = SQLITE_DONE;
			scanned = 0;
			break;
		}
		if ((q->action && (!action || !in_list(q->action, action))) ||
		    (q->actor_id && (!actor || strcmp(actor, q->actor_id) != 0)) ||
		    (q->entity_id && (!entity || strcmp(entity, q->entity_id) != 0)) ||
		    (q->latest && date > q->latest))
			continue;
		rows_push(out, n, &cap, seq, s, 1);
		if (*n == q->limit)
			break;
	}
	bool more = rc == SQLITE_ROW || (rc == SQLITE_DONE && scanned == STORE_AUDIT_SCAN);
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_audit_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return ERR_INTERNAL_ERROR;
	}
	*next = more ? last : 0;
	return 0;
}

int store_audit_after(store *st, int64_t after, size_t limit, store_audit_row **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = sqlite__rext(st, SQL_AUDIT_AFTER);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		rows_push(out, n, &cap, sqlite3_column_int64(s, 0), s, 1);
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE) {
		store_audit_rows_free(*out, *n);
		*out = NULL;
		*n = 0;
		return ERR_INTERNAL_ERROR;
	}
	return 0;
}

int store_audit_last_seq(store *st, int64_t *seq)
{
	*seq = 0;
	sqlite3_stmt *s = sqlite__rext(st, SQL_AUDIT_LAST);
	if (!s)
		return ERR_INTERNAL_ERROR;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(s, 0);
	sqlite__rstmt_done(s);
	return rc == SQLITE_ROW ? 0 : ERR_INTERNAL_ERROR;
}

void store_audit_rows_free(store_audit_row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].entry);
	free(r);
}
