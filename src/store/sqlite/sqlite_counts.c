/* Mention counts (store_msg_mention_counts): how many unread top-level
 * messages of a channel mention a member, for badges (client.counts,
 * conversations.info, channel_marked).
 *
 * The query walks the channel's mentions newer than the member's read
 * cursor (mentions_msg index: (channel_id, ts)) and checks each against
 * its message by primary key, so its cost follows the number of unread
 * mentions, not of unread messages. A message that mentions the member
 * twice (<@U> and <!here>) counts once.
 *
 * @here targets the members online when the message was posted, which
 * only the poster's side knows: it records one extra mentions row per
 * such member (kind MENTION_HERE, target = the member) beside the row the
 * text gives (kind MENTION_HERE, target NULL). @here counts for a member
 * with such a row, as long as the text still says @here (an edit may
 * drop it). Without the extra rows @here counts for nobody.
 *
 * The statement is prepared once per call and reused for every channel of
 * that call, inside one read transaction. It is not kept in st->rstmt:
 * that table and its finalization at close belong to sqlite_read.c; a
 * statement cached here would outlive the connection it was prepared on
 * (sqlite3_close refuses to close a connection with live statements). */
#include <stdlib.h>

#include "base/buf.h"
#include "base/log.h"
#include "core/err.h"
#include "core/message.h"
#include "store/sqlite/sqlite_internal.h"

/* ?1 channel, ?2 after ts, ?3 user id, ?4 JSON array of subteam ids. The
 * mention kinds are mention_kind values (core/message.h). */
#define MENTION_COUNT_SQL                                                                       \
	"SELECT COUNT(DISTINCT x.ts) FROM mentions x"                                          \
	" JOIN messages m ON m.channel_id=x.channel_id AND m.ts=x.ts"                            \
	" WHERE x.channel_id=?1 AND x.ts>?2"                                                     \
	" AND (x.kind IN (2,3) OR (x.kind=0 AND x.target=?3)"                                    \
	"  OR (x.kind=1 AND x.target=?3 AND EXISTS (SELECT 1 FROM mentions y"                    \
	"   WHERE y.channel_id=x.channel_id AND y.ts=x.ts AND y.kind=1 AND y.target IS NULL))"   \
	"  OR (x.kind=4 AND x.target IN (SELECT value FROM json_each(?4))))"                     \
	" AND m.top=1 AND m.hidden=0 AND (m.user_id IS NULL OR m.user_id<>?3)"                   \
	" AND (m.subtype IS NULL OR m.subtype IN ('thread_broadcast','me_message','bot_message'))"

_Static_assert(MENTION_USER == 0 && MENTION_HERE == 1 && MENTION_CHANNEL == 2 &&
		       MENTION_EVERYONE == 3 && MENTION_SUBTEAM == 4,
	       "MENTION_COUNT_SQL spells out the mention kinds");

static int count_fail(store *st, const char *what)
{
	log_error("store read failed", "what=%s err=\"%s\"", what, sqlite3_errmsg(st->rdb));
	return ERR_INTERNAL_ERROR;
}

/* Runs one cached transaction statement (R_BEGIN / R_COMMIT). */
static int step_once(store *st, sqlite__rstmt id)
{
	sqlite3_stmt *s = sqlite__rget(st, id);
	int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
	sqlite__rstmt_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ids as a JSON array of strings (ids never need escaping, but a stray
 * quote must not break the parameter). */
static void ids_json(buf *b, const char *const *ids, size_t n)
{
	buf_addc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(b, ',');
		buf_addc(b, '"');
		for (const char *p = ids[i] ? ids[i] : ""; *p; p++)
			if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
				buf_addc(b, *p);
		buf_addc(b, '"');
	}
	buf_addc(b, ']');
}

int store_msg_mention_counts(store *st, const char *user_id, const char *const *subteam_ids,
			     size_t nsubteams, const char *const *channel_ids,
			     const int64_t *after_ts, size_t n, int64_t *counts)
{
	for (size_t i = 0; i < n; i++)
		counts[i] = 0;
	if (!n)
		return 0;
	if (step_once(st, R_BEGIN))
		return count_fail(st, "begin");
	buf subs = BUF_INIT;
	ids_json(&subs, subteam_ids, nsubteams);
	sqlite3_stmt *s = NULL;
	int err = 0;
	if (sqlite3_prepare_v3(st->rdb, MENTION_COUNT_SQL, -1, 0, &s, NULL) != SQLITE_OK) {
		err = count_fail(st, "prepare mention counts");
		goto out;
	}
	for (size_t i = 0; i < n && !err; i++) {
		sqlite3_bind_text(s, 1, channel_ids[i] ? channel_ids[i] : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, after_ts[i]);
		sqlite3_bind_text(s, 3, user_id ? user_id : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, subs.data, (int)subs.len, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			counts[i] = sqlite3_column_int64(s, 0);
		else
			err = count_fail(st, "mention counts");
		sqlite3_reset(s);
	}
out:
	sqlite3_finalize(s);
	buf_release(&subs);
	step_once(st, R_COMMIT);
	if (!sqlite3_get_autocommit(st->rdb))
		sqlite3_exec(st->rdb, "ROLLBACK", NULL, NULL, NULL);
	if (err)
		for (size_t i = 0; i < n; i++)
			counts[i] = 0;
	return err;
}
