/* Reminders in SQLite (store_reminders.h): the module's own statements. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store.h"

#define COLS "id, org_id, creator, user_id, text, time, recurrence, fired, complete_ts, created"

static const char SQL_PUT[] =
	"INSERT OR REPLACE INTO reminders (" COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_DEL[] = "DELETE FROM reminders WHERE id = ?";
static const char SQL_GET[] = "SELECT " COLS " FROM reminders WHERE id = ?";
static const char SQL_OF[] =
	"SELECT " COLS " FROM reminders WHERE user_id = ? ORDER BY time, id LIMIT 1000";
static const char SQL_DUE[] = "SELECT " COLS " FROM reminders WHERE fired = 0 AND "
			      "complete_ts = 0 AND time <= ? ORDER BY time, id LIMIT ?";

void reminder_release(reminder *r)
{
	free(r->text);
	free(r->recurrence);
	r->text = r->recurrence = NULL;
}

void reminder_list_free(reminder *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		reminder_release(&v[i]);
	free(v);
}

void store_reminder_put(store_job *job, const reminder *r)
{
	sqlite__op_sql(job, SQL_PUT);
	sqlite__v_str(job, r->id);
	sqlite__v_str(job, r->org_id);
	sqlite__v_str(job, r->creator);
	sqlite__v_str(job, r->user_id);
	sqlite__v_str(job, r->text ? r->text : "");
	sqlite__v_int(job, r->time);
	sqlite__v_str(job, r->recurrence ? r->recurrence : "");
	sqlite__v_int(job, r->fired);
	sqlite__v_int(job, r->complete_ts);
	sqlite__v_int(job, r->created);
}

void store_reminder_del(store_job *job, const char *id)
{
	sqlite__op_sql(job, SQL_DEL);
	sqlite__op_on_missing(job, ERR_NOT_FOUND);
	sqlite__v_str(job, id);
}

static void copy_id(char *dst, sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	snprintf(dst, ID_MAX, "%s", t ? (const char *)t : "");
}

static void row(sqlite3_stmt *s, reminder *r)
{
	memset(r, 0, sizeof *r);
	copy_id(r->id, s, 0);
	copy_id(r->org_id, s, 1);
	copy_id(r->creator, s, 2);
	copy_id(r->user_id, s, 3);
	r->text = sqlite__col_str(s, 4);
	if (!r->text)
		r->text = xstrdup("");
	r->time = sqlite3_column_int64(s, 5);
	r->recurrence = sqlite__col_str(s, 6);
	if (!r->recurrence)
		r->recurrence = xstrdup("");
	r->fired = sqlite3_column_int(s, 7);
	r->complete_ts = sqlite3_column_int64(s, 8);
	r->created = sqlite3_column_int64(s, 9);
}

int store_reminder_get(store *st, const char *id, reminder *out)
{
	sqlite3_stmt *s = sqlite__rext(st, SQL_GET);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	int err = 0;
	if (rc == SQLITE_ROW)
		row(s, out);
	else
		err = rc == SQLITE_DONE ? ERR_NOT_FOUND : ERR_INTERNAL_ERROR;
	sqlite__rstmt_done(s);
	return err;
}

static int many(sqlite3_stmt *s, reminder **out, size_t *n)
{
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		row(s, &(*out)[(*n)++]);
	}
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE) {
		reminder_list_free(*out, *n);
		*out = NULL;
		*n = 0;
		return ERR_INTERNAL_ERROR;
	}
	return 0;
}

int store_reminders_of(store *st, const char *user_id, reminder **out, size_t *n)
{
	sqlite3_stmt *s = sqlite__rext(st, SQL_OF);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(s, 1, user_id, -1, SQLITE_TRANSIENT);
	return many(s, out, n);
}

int store_reminders_due(store *st, int64_t now, size_t max, reminder **out, size_t *n)
{
	sqlite3_stmt *s = sqlite__rext(st, SQL_DUE);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_int64(s, 1, now);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	return many(s, out, n);
}
