/* The web client's preferences (store_web.h) in the web_prefs table
 * (migration slot 7). */
#include <stdlib.h>

#include "base/log.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

static const char PREFS_GET_SQL[] = "SELECT prefs FROM web_prefs WHERE user_id=?1";

/* json_patch applies the merge patch in the writer, so two sets in flight
 * both land. The update patches with ?2 itself, not excluded.prefs: that
 * is the patch applied to {}, which has lost its nulls (the removals). The
 * WHERE keeps an update within the size bound (a refused one changes no
 * row, which fails the job). */
static const char PREFS_MERGE_SQL[] =
	"INSERT INTO web_prefs(user_id, prefs, updated)"
	" SELECT ?1, json_patch('{}', ?2), ?3 WHERE length(json_patch('{}', ?2)) <= ?4"
	" ON CONFLICT(user_id) DO UPDATE SET prefs=json_patch(web_prefs.prefs, ?2),"
	" updated=excluded.updated"
	" WHERE length(json_patch(web_prefs.prefs, ?2)) <= ?4";

int store_web_prefs_get(store *st, const char *user_id, char **out)
{
	*out = NULL;
	sqlite3_stmt *s = sqlite__rext(st, PREFS_GET_SQL);
	if (!s)
		return ERR_INTERNAL_ERROR;
	sqlite3_bind_text(s, 1, user_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite__col_str(s, 0);
	else if (rc != SQLITE_DONE)
		log_error("store read failed", "what=web_prefs err=\"%s\"", sqlite3_errmsg(st->rdb));
	sqlite__rstmt_done(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : ERR_INTERNAL_ERROR;
}

void store_web_prefs_merge(store_job *job, const char *user_id, const char *patch, int64_t now)
{
	sqlite__op_sql(job, PREFS_MERGE_SQL);
	sqlite__op_on_missing(job, ERR_PREFS_TOO_LARGE);
	sqlite__v_str(job, user_id);
	sqlite__v_str(job, patch);
	sqlite__v_int(job, now);
	sqlite__v_int(job, STORE_WEB_PREFS_MAX);
}
