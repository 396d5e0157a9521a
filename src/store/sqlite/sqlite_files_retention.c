/* Retention of files (store_files.h, "retention"): the bounded candidate
 * read of one channel's shares and the delete that re-checks, at commit,
 * what the loop thread decided on (holds placed and shares added since).
 * Tables of migration slot 4 (files) and 5 (legal_holds). */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

/* The channel's shares older than the cutoff, walked over
 * file_shares_channel(channel_id, ts) from the cursor (ts, file_id). */
static const char SQL_CANDIDATES[] =
	"SELECT s.ts, s.file_id, coalesce(f.user_id,''), f.created, coalesce(f.sha256,'')"
	" FROM file_shares s JOIN files f ON f.id = s.file_id"
	" WHERE s.channel_id = ?1 AND s.ts < ?4 AND (s.ts > ?2 OR (s.ts = ?2 AND s.file_id > ?3))"
	" ORDER BY s.ts, s.file_id LIMIT ?5";
/* Refused when by now a live hold covers the uploader or a channel the
 * file is shared in, or the file was shared again since the decision. */
static const char SQL_DEL_FILE[] =
	"DELETE FROM files WHERE id = ?1"
	" AND NOT EXISTS(SELECT 1 FROM file_shares WHERE file_id = ?1 AND ts > ?2)"
	" AND NOT EXISTS(SELECT 1 FROM legal_holds h WHERE h.released = 0 AND"
	"  ((h.kind = 'user' AND h.target = files.user_id) OR (h.kind = 'channel' AND h.target IN"
	"   (SELECT channel_id FROM file_shares WHERE file_id = ?1))))";
static const char SQL_DEL_SHARES[] =
	"DELETE FROM file_shares WHERE file_id = ?1 AND NOT EXISTS(SELECT 1 FROM files WHERE id = ?1)";

int store_file_retention_candidates(store *st, const char *channel_id, int64_t after_ts,
				    const char *after_id, int64_t cutoff, size_t limit,
				    store_file_candidate *out, size_t *n)
{
	*n = 0;
	sqlite3_stmt *s = sqlite__rext(st, SQL_CANDIDATES);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(s, 1, channel_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, after_ts);
	sqlite3_bind_text(s, 3, after_id ? after_id : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, cutoff);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)limit);
	int rc = SQLITE_DONE;
	while (*n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_file_candidate *c = &out[(*n)++];
		memset(c, 0, sizeof *c);
		c->ts = sqlite3_column_int64(s, 0);
		sqlite__col_id(s, 1, c->file_id, sizeof c->file_id);
		sqlite__col_id(s, 2, c->user_id, sizeof c->user_id);
		c->created = sqlite3_column_int64(s, 3);
		sqlite__col_id(s, 4, c->sha256, sizeof c->sha256);
	}
	if (*n == limit)
		rc = SQLITE_ROW;
	sqlite__rstmt_done(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_error("store read failed", "what=file_retention err=\"%s\"", sqlite3_errmsg(st->rdb));
		*n = 0;
		return ERR_INTERNAL_ERROR;
	}
	return 0;
}

void store_file_retention_delete(store_job *j, const char *file_id, int64_t newest_share_ts)
{
	sqlite__op_sql(j, SQL_DEL_FILE);
	sqlite__v_str(j, file_id);
	sqlite__v_int(j, newest_share_ts);
	sqlite__op_sql(j, SQL_DEL_SHARES);
	sqlite__v_str(j, file_id);
}
