/* Persisted interaction state in SQLite (store_pending.h): the module's
 * own statements over pend_responses, pend_views and pend_ephemerals. */
#include <stdint.h>

#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store.h"

#define R_COLS "id, org_id, app_id, user_id, channel_id, message_ts, message_ephemeral, uses_left, expires_us"
#define V_COLS "id, org_id, app_id, user_id, root_id, previous_id, above_id, external_id, home, view, expires_us"
#define E_COLS "key, org_id, channel_id, user_id, app_id, ts, message, expires_us"

static const char SQL_R_PUT[] =
	"INSERT OR REPLACE INTO pend_responses (" R_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_R_DEL[] = "DELETE FROM pend_responses WHERE id = ?";
static const char SQL_R_ALL[] = "SELECT " R_COLS " FROM pend_responses WHERE expires_us > ?"
				" ORDER BY expires_us, rowid";
static const char SQL_V_PUT[] =
	"INSERT OR REPLACE INTO pend_views (" V_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_V_DEL[] = "DELETE FROM pend_views WHERE id = ?";
static const char SQL_V_ALL[] = "SELECT " V_COLS " FROM pend_views WHERE expires_us > ?"
				" ORDER BY expires_us, rowid";
static const char SQL_E_PUT[] =
	"INSERT OR REPLACE INTO pend_ephemerals (" E_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_E_DEL[] = "DELETE FROM pend_ephemerals WHERE key = ?";
static const char SQL_E_ALL[] = "SELECT " E_COLS " FROM pend_ephemerals WHERE expires_us > ?"
				" ORDER BY expires_us, rowid";
static const char SQL_R_PURGE[] = "DELETE FROM pend_responses WHERE expires_us <= ?";
static const char SQL_V_PURGE[] = "DELETE FROM pend_views WHERE expires_us <= ?";
static const char SQL_E_PURGE[] = "DELETE FROM pend_ephemerals WHERE expires_us <= ?";

static const char *s_or_empty(const char *s)
{
	return s ? s : "";
}

void store_pend_response_put(store_job *job, const store_pend_response *r)
{
	sqlite__op_sql(job, SQL_R_PUT);
	sqlite__v_str(job, r->id);
	sqlite__v_str(job, s_or_empty(r->org_id));
	sqlite__v_str(job, s_or_empty(r->app_id));
	sqlite__v_str(job, s_or_empty(r->user_id));
	sqlite__v_str(job, s_or_empty(r->channel_id));
	sqlite__v_int(job, r->message_ts);
	sqlite__v_int(job, r->message_ephemeral);
	sqlite__v_int(job, r->uses_left);
	sqlite__v_int(job, r->expires_us);
}

void store_pend_response_del(store_job *job, const char *id)
{
	sqlite__op_sql(job, SQL_R_DEL);
	sqlite__v_str(job, id);
}

void store_pend_view_put(store_job *job, const store_pend_view *v)
{
	sqlite__op_sql(job, SQL_V_PUT);
	sqlite__v_str(job, v->id);
	sqlite__v_str(job, s_or_empty(v->org_id));
	sqlite__v_str(job, s_or_empty(v->app_id));
	sqlite__v_str(job, s_or_empty(v->user_id));
	sqlite__v_str(job, s_or_empty(v->root_id));
	sqlite__v_str(job, s_or_empty(v->previous_id));
	sqlite__v_str(job, s_or_empty(v->above_id));
	sqlite__v_str(job, v->external_id);
	sqlite__v_int(job, v->home);
	sqlite__v_str(job, s_or_empty(v->view));
	sqlite__v_int(job, v->expires_us);
}

void store_pend_view_del(store_job *job, const char *id)
{
	sqlite__op_sql(job, SQL_V_DEL);
	sqlite__v_str(job, id);
}

void store_pend_ephemeral_put(store_job *job, const store_pend_ephemeral *e)
{
	sqlite__op_sql(job, SQL_E_PUT);
	sqlite__v_str(job, e->key);
	sqlite__v_str(job, s_or_empty(e->org_id));
	sqlite__v_str(job, s_or_empty(e->channel_id));
	sqlite__v_str(job, s_or_empty(e->user_id));
	sqlite__v_str(job, s_or_empty(e->app_id));
	sqlite__v_int(job, e->ts);
	sqlite__v_str(job, s_or_empty(e->message));
	sqlite__v_int(job, e->expires_us);
}

void store_pend_ephemeral_del(store_job *job, const char *key)
{
	sqlite__op_sql(job, SQL_E_DEL);
	sqlite__v_str(job, key);
}

void store_pend_purge(store_job *job, int64_t now_us)
{
	sqlite__op_sql(job, SQL_R_PURGE);
	sqlite__v_int(job, now_us);
	sqlite__op_sql(job, SQL_V_PURGE);
	sqlite__v_int(job, now_us);
	sqlite__op_sql(job, SQL_E_PURGE);
	sqlite__v_int(job, now_us);
}

static const char *txt(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	return t ? (const char *)t : "";
}

/* The statement bound to now_us, or NULL. */
static sqlite3_stmt *start(store *st, const char *sql, int64_t now_us)
{
	sqlite3_stmt *s = sqlite__rext(st, sql);
	if (s)
		sqlite3_bind_int64(s, 1, now_us);
	return s;
}

static int finish(sqlite3_stmt *s, int rc)
{
	sqlite__rstmt_done(s);
	return rc == SQLITE_DONE ? 0 : ERR_INTERNAL_ERROR;
}

int store_pend_responses(store *st, int64_t now_us,
			 void (*cb)(void *ud, const store_pend_response *r), void *ud)
{
	sqlite3_stmt *s = start(st, SQL_R_ALL, now_us);
	if (!s)
		return ERR_INTERNAL_ERROR;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_pend_response r = {.id = txt(s, 0),
					 .org_id = txt(s, 1),
					 .app_id = txt(s, 2),
					 .user_id = txt(s, 3),
					 .channel_id = txt(s, 4),
					 .message_ts = sqlite3_column_int64(s, 5),
					 .message_ephemeral = sqlite3_column_int(s, 6) != 0,
					 .uses_left = sqlite3_column_int(s, 7),
					 .expires_us = sqlite3_column_int64(s, 8)};
		cb(ud, &r);
	}
	return finish(s, rc);
}

int store_pend_views(store *st, int64_t now_us, void (*cb)(void *ud, const store_pend_view *v),
		     void *ud)
{
	sqlite3_stmt *s = start(st, SQL_V_ALL, now_us);
	if (!s)
		return ERR_INTERNAL_ERROR;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_pend_view v = {.id = txt(s, 0),
				     .org_id = txt(s, 1),
				     .app_id = txt(s, 2),
				     .user_id = txt(s, 3),
				     .root_id = txt(s, 4),
				     .previous_id = txt(s, 5),
				     .above_id = txt(s, 6),
				     .external_id = (const char *)sqlite3_column_text(s, 7),
				     .home = sqlite3_column_int(s, 8) != 0,
				     .view = txt(s, 9),
				     .expires_us = sqlite3_column_int64(s, 10)};
		cb(ud, &v);
	}
	return finish(s, rc);
}

int store_pend_ephemerals(store *st, int64_t now_us,
			  void (*cb)(void *ud, const store_pend_ephemeral *e), void *ud)
{
	sqlite3_stmt *s = start(st, SQL_E_ALL, now_us);
	if (!s)
		return ERR_INTERNAL_ERROR;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_pend_ephemeral e = {.key = txt(s, 0),
					  .org_id = txt(s, 1),
					  .channel_id = txt(s, 2),
					  .user_id = txt(s, 3),
					  .app_id = txt(s, 4),
					  .ts = sqlite3_column_int64(s, 5),
					  .message = txt(s, 6),
					  .expires_us = sqlite3_column_int64(s, 7)};
		cb(ud, &e);
	}
	return finish(s, rc);
}
