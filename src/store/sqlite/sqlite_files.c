/* The files module of the SQLite backend: the files and file_shares
 * tables (migration slot 4), written through store jobs with the
 * module-statement mechanism, read on the read connection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

#define FILE_COLS                                                                                \
	"id, org_id, user_id, name, title, alt_txt, snippet_type, mimetype, filetype, length,"   \
	" size, sha256, upload_key, state, created, public_secret, public_url_shared, revoked,"  \
	" revoked_by, revoked_at, deleted, width, height, thumbs"

static const char SQL_PUT[] =
	"INSERT OR REPLACE INTO files(" FILE_COLS ") VALUES"
	"(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
static const char SQL_SHARE[] =
	"INSERT OR IGNORE INTO file_shares(file_id, channel_id, ts) VALUES(?,?,?)";
static const char SQL_PURGE_SHARES[] = "DELETE FROM file_shares WHERE file_id = ?";
static const char SQL_PURGE[] = "DELETE FROM files WHERE id = ?";
static const char SQL_GET[] = "SELECT " FILE_COLS " FROM files WHERE id = ?";
static const char SQL_SHARES[] =
	"SELECT channel_id, ts FROM file_shares WHERE file_id = ? ORDER BY ts, channel_id";
static const char SQL_REFS[] =
	"SELECT count(*) FROM files WHERE sha256 = ? AND id <> ? AND deleted = 0";
/* One statement for every listing: unset filters bind NULL. */
static const char SQL_LIST[] =
	"SELECT " FILE_COLS " FROM files f WHERE org_id = ?1 AND state = 2 AND deleted = 0"
	" AND (?2 IS NULL OR user_id = ?2)"
	" AND (?3 IS NULL OR EXISTS(SELECT 1 FROM file_shares s WHERE s.file_id = f.id"
	"      AND s.channel_id = ?3))"
	" AND (?4 IS NULL OR instr(lower(coalesce(name,'') || ' ' || coalesce(title,'')), lower(?4)) > 0)"
	" AND (?5 = 0 OR created >= ?5) AND (?6 = 0 OR created <= ?6)"
	" AND (?7 IS NULL OR created < ?8 OR (created = ?8 AND id < ?7))"
	" ORDER BY created DESC, id DESC LIMIT ?9";

void store_file_init(store_file *f)
{
	memset(f, 0, sizeof *f);
}

void store_file_release(store_file *f)
{
	free(f->name);
	free(f->title);
	free(f->alt_txt);
	free(f->snippet_type);
	free(f->mimetype);
	free(f->filetype);
	store_file_init(f);
}

void store_file_list_free(store_file *fs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_file_release(&fs[i]);
	free(fs);
}

void store_file_put(store_job *j, const store_file *f)
{
	sqlite__op_sql(j, SQL_PUT);
	sqlite__v_id(j, f->id);
	sqlite__v_id(j, f->org_id);
	sqlite__v_id(j, f->user_id);
	sqlite__v_str(j, f->name);
	sqlite__v_str(j, f->title);
	sqlite__v_str(j, f->alt_txt);
	sqlite__v_str(j, f->snippet_type);
	sqlite__v_str(j, f->mimetype);
	sqlite__v_str(j, f->filetype);
	sqlite__v_int(j, f->length);
	sqlite__v_int(j, f->size);
	sqlite__v_id(j, f->sha256);
	sqlite__v_id(j, f->upload_key);
	sqlite__v_int(j, f->state);
	sqlite__v_int(j, f->created);
	sqlite__v_id(j, f->public_secret);
	sqlite__v_int(j, f->public_url_shared);
	sqlite__v_int(j, f->revoked);
	sqlite__v_id(j, f->revoked_by);
	sqlite__v_int(j, f->revoked_at);
	sqlite__v_int(j, f->deleted);
	sqlite__v_int(j, f->width);
	sqlite__v_int(j, f->height);
	sqlite__v_int(j, f->thumbs);
}

void store_file_share_add(store_job *j, const char *file_id, const char *channel_id, int64_t ts)
{
	sqlite__op_sql(j, SQL_SHARE);
	sqlite__v_id(j, file_id);
	sqlite__v_id(j, channel_id);
	sqlite__v_int(j, ts);
}

void store_file_purge(store_job *j, const char *file_id)
{
	sqlite__op_sql(j, SQL_PURGE_SHARES);
	sqlite__v_id(j, file_id);
	sqlite__op_sql(j, SQL_PURGE);
	sqlite__v_id(j, file_id);
}

static void copy_col(sqlite3_stmt *s, int i, char *out, size_t cap)
{
	sqlite__col_id(s, i, out, cap);
}

static void row_to_file(sqlite3_stmt *s, store_file *f)
{
	store_file_init(f);
	copy_col(s, 0, f->id, sizeof f->id);
	copy_col(s, 1, f->org_id, sizeof f->org_id);
	copy_col(s, 2, f->user_id, sizeof f->user_id);
	f->name = sqlite__col_str(s, 3);
	f->title = sqlite__col_str(s, 4);
	f->alt_txt = sqlite__col_str(s, 5);
	f->snippet_type = sqlite__col_str(s, 6);
	f->mimetype = sqlite__col_str(s, 7);
	f->filetype = sqlite__col_str(s, 8);
	f->length = sqlite3_column_int64(s, 9);
	f->size = sqlite3_column_int64(s, 10);
	copy_col(s, 11, f->sha256, sizeof f->sha256);
	copy_col(s, 12, f->upload_key, sizeof f->upload_key);
	f->state = sqlite3_column_int(s, 13);
	f->created = sqlite3_column_int64(s, 14);
	copy_col(s, 15, f->public_secret, sizeof f->public_secret);
	f->public_url_shared = sqlite3_column_int(s, 16) != 0;
	f->revoked = sqlite3_column_int(s, 17) != 0;
	copy_col(s, 18, f->revoked_by, sizeof f->revoked_by);
	f->revoked_at = sqlite3_column_int64(s, 19);
	f->deleted = sqlite3_column_int(s, 20) != 0;
	f->width = sqlite3_column_int(s, 21);
	f->height = sqlite3_column_int(s, 22);
	f->thumbs = sqlite3_column_int(s, 23);
}

static int read_fail(store *st, const char *what)
{
	log_error("store read failed", "what=%s err=\"%s\"", what, sqlite3_errmsg(st->rdb));
	return ERR_INTERNAL_ERROR;
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
	if (v && *v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

int store_file_get(store *st, const char *id, store_file *out)
{
	store_file_init(out);
	sqlite3_stmt *s = sqlite__rext(st, SQL_GET);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(s, 1, id ? id : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	int ret = ERR_FILE_NOT_FOUND;
	if (rc == SQLITE_ROW) {
		row_to_file(s, out);
		ret = 0;
	} else if (rc != SQLITE_DONE) {
		ret = read_fail(st, "file");
	}
	sqlite__rstmt_done(s);
	return ret;
}

size_t store_file_shares(store *st, const char *file_id, store_file_share **out)
{
	*out = NULL;
	sqlite3_stmt *s = sqlite__rext(st, SQL_SHARES);
	if (!s)
		return 0;
	sqlite3_bind_text(s, 1, file_id, -1, SQLITE_STATIC);
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		copy_col(s, 0, (*out)[n].channel_id, sizeof(*out)[n].channel_id);
		(*out)[n].ts = sqlite3_column_int64(s, 1);
		n++;
	}
	if (rc != SQLITE_DONE)
		read_fail(st, "file_shares");
	sqlite__rstmt_done(s);
	return n;
}

int store_file_list(store *st, const store_file_query *q, store_file **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *s = sqlite__rext(st, SQL_LIST);
	if (!s)
		return ERR_INTERNAL_ERROR;
	bind_opt(s, 1, q->org_id ? q->org_id : "-");
	bind_opt(s, 2, q->user_id);
	bind_opt(s, 3, q->channel_id);
	bind_opt(s, 4, q->text);
	sqlite3_bind_int64(s, 5, q->ts_from);
	sqlite3_bind_int64(s, 6, q->ts_to);
	bind_opt(s, 7, q->before_id);
	sqlite3_bind_int64(s, 8, q->before_created);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)(q->limit ? q->limit : 100));
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof **out);
		}
		row_to_file(s, &(*out)[(*n)++]);
	}
	int ret = rc == SQLITE_DONE ? 0 : read_fail(st, "files");
	sqlite__rstmt_done(s);
	return ret;
}

int store_file_blob_refs(store *st, const char *sha256, const char *except_id)
{
	sqlite3_stmt *s = sqlite__rext(st, SQL_REFS);
	if (!s)
		return 1;   /* unknown: keep the blob */
	sqlite3_bind_text(s, 1, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, except_id ? except_id : "", -1, SQLITE_STATIC);
	int n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 1;
	sqlite__rstmt_done(s);
	return n;
}

int sqlite__file_read(sqlite3 *db, sqlite3_stmt **cache, const char *id, store_file *out)
{
	store_file_init(out);
	if (!*cache && sqlite3_prepare_v2(db, SQL_GET, -1, cache, NULL) != SQLITE_OK) {
		log_error("store read failed", "what=file err=\"%s\"", sqlite3_errmsg(db));
		*cache = NULL;
		return ERR_INTERNAL_ERROR;
	}
	sqlite3_stmt *s = *cache;
	sqlite3_bind_text(s, 1, id ? id : "", -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	int ret = ERR_FILE_NOT_FOUND;
	if (rc == SQLITE_ROW)
		row_to_file(s, out), ret = 0;
	else if (rc != SQLITE_DONE)
		ret = ERR_INTERNAL_ERROR;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}
