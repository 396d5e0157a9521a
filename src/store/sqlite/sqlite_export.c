/* The export reader (store_compliance.h): a read-only connection of its
 * own, used by one thread (the export's worker, or the offline CLI), so
 * a long walk over every message never runs on the loop thread's read
 * connection. One read transaction per channel: the channel's messages,
 * their reactions and thread summaries come from one snapshot. Messages
 * are stepped one at a time; nothing but the current one is in memory. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store_compliance.h"

struct store_reader {
	sqlite3 *db;
	sqlite3_stmt *msgs, *reactions, *threads;
	sqlite3_stmt *file;   /* prepared on first use (sqlite__file_read) */
};

static const char SQL_MSGS[] =
	"SELECT org_id, ts, thread_ts, subtype, user_id, bot_id, app_id, text, blocks,"
	" attachments, metadata, extra, client_msg_id, edited_ts, edited_user,"
	" reply_broadcast, hidden FROM messages WHERE channel_id=?1 ORDER BY ts";
static const char SQL_REACTIONS[] =
	"SELECT name, user_id FROM reactions WHERE channel_id=?1 AND ts=?2 ORDER BY seq";
/* Repliers of one thread in order of their first reply, with counts. */
static const char SQL_THREAD[] =
	"SELECT user_id, MIN(ts) AS first, COUNT(*), MAX(ts) FROM messages"
	" WHERE channel_id=?1 AND thread_ts=?2 AND ts<>thread_ts"
	" GROUP BY user_id ORDER BY first";

store_reader *store_reader_open(const char *dir, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, SQLITE_DB_FILE);
	store_reader *r = xcalloc(1, sizeof *r);
	int rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	free(path);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(r->db, SQLITE_BUSY_MS);
		rc = sqlite3_prepare_v2(r->db, SQL_MSGS, -1, &r->msgs, NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(r->db, SQL_REACTIONS, -1, &r->reactions, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(r->db, SQL_THREAD, -1, &r->threads, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", r->db ? sqlite3_errmsg(r->db) : "cannot open");
		store_reader_close(r);
		return NULL;
	}
	return r;
}

void store_reader_close(store_reader *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->msgs);
	sqlite3_finalize(r->reactions);
	sqlite3_finalize(r->threads);
	sqlite3_finalize(r->file);
	sqlite3_close(r->db);
	free(r);
}

static int fill_reactions(store_reader *r, const char *channel_id, message *m)
{
	sqlite3_stmt *s = r->reactions;
	sqlite3_bind_text(s, 1, channel_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->ts);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		const char *uid = (const char *)sqlite3_column_text(s, 1);
		if (!name || !uid)
			continue;
		reaction *x = NULL;
		for (size_t i = 0; i < m->nreactions; i++)
			if (strcmp(m->reactions[i].name, name) == 0)
				x = &m->reactions[i];
		if (!x) {
			m->reactions = xrealloc(m->reactions, (m->nreactions + 1) * sizeof *m->reactions);
			x = &m->reactions[m->nreactions++];
			x->name = xstrdup(name);
			x->users = NULL;
			x->nusers = 0;
		}
		x->users = xrealloc(x->users, (x->nusers + 1) * sizeof *x->users);
		x->users[x->nusers++] = xstrdup(uid);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : ERR_INTERNAL_ERROR;
}

static int fill_thread(store_reader *r, const char *channel_id, message *m)
{
	sqlite3_stmt *s = r->threads;
	sqlite3_bind_text(s, 1, channel_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->ts);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *uid = (const char *)sqlite3_column_text(s, 0);
		m->reply_count += sqlite3_column_int(s, 2);
		int64_t newest = sqlite3_column_int64(s, 3);
		if (newest > m->latest_reply)
			m->latest_reply = newest;
		m->reply_users_count++;
		if (uid && m->nreply_users < 5) {
			m->reply_users = xrealloc(m->reply_users,
						  (m->nreply_users + 1) * sizeof *m->reply_users);
			m->reply_users[m->nreply_users++] = xstrdup(uid);
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : ERR_INTERNAL_ERROR;
}

int store_reader_messages(store_reader *r, const char *channel_id, store_reader_msg_fn fn,
			  void *ud)
{
	if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return ERR_INTERNAL_ERROR;
	sqlite3_stmt *s = r->msgs;
	sqlite3_bind_text(s, 1, channel_id, -1, SQLITE_STATIC);
	int rc = SQLITE_DONE, err = 0;
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		message m;
		message_init(&m);
		snprintf(m.channel_id, sizeof m.channel_id, "%s", channel_id);
		sqlite__col_id(s, 0, m.org_id, sizeof m.org_id);
		m.ts = sqlite3_column_int64(s, 1);
		m.thread_ts = sqlite3_column_int64(s, 2);
		m.subtype = sqlite__col_str(s, 3);
		sqlite__col_id(s, 4, m.user_id, sizeof m.user_id);
		sqlite__col_id(s, 5, m.bot_id, sizeof m.bot_id);
		sqlite__col_id(s, 6, m.app_id, sizeof m.app_id);
		m.text = sqlite__col_str(s, 7);
		m.blocks = sqlite__col_str(s, 8);
		m.attachments = sqlite__col_str(s, 9);
		m.metadata = sqlite__col_str(s, 10);
		m.extra = sqlite__col_str(s, 11);
		m.client_msg_id = sqlite__col_str(s, 12);
		m.edited_ts = sqlite3_column_int64(s, 13);
		sqlite__col_id(s, 14, m.edited_user, sizeof m.edited_user);
		m.reply_broadcast = sqlite3_column_int(s, 15) != 0;
		m.hidden = sqlite3_column_int(s, 16) != 0;
		err = fill_reactions(r, channel_id, &m);
		/* A parent's row does not say it has replies: ask the thread
		 * index (one indexed lookup per top-level message). */
		if (!err && (!m.thread_ts || m.thread_ts == m.ts)) {
			err = fill_thread(r, channel_id, &m);
			if (m.reply_count)
				m.thread_ts = m.ts;
		}
		if (!err && fn(ud, &m) != 0)
			rc = SQLITE_DONE, err = 1;
		message_release(&m);
	}
	if (!err && rc != SQLITE_DONE) {
		log_error("export: read failed", "err=\"%s\"", sqlite3_errmsg(r->db));
		err = ERR_INTERNAL_ERROR;
	}
	sqlite3_reset(s);
	sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
	return err == 1 ? 0 : err;
}

static const char SQL_AUDIT_ALL[] =
	"SELECT entry FROM audit_log WHERE (?1 IS NULL OR org_id=?1) AND date_create>=?2"
	" ORDER BY seq";

int store_reader_audit(store_reader *r, const char *org_id, int64_t since,
		       store_reader_audit_fn fn, void *ud)
{
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(r->db, SQL_AUDIT_ALL, -1, &s, NULL) != SQLITE_OK)
		return ERR_INTERNAL_ERROR;
	if (org_id)
		sqlite3_bind_text(s, 1, org_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, since);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *e = (const char *)sqlite3_column_text(s, 0);
		if (e && fn(ud, e) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : ERR_INTERNAL_ERROR;
}

int store_reader_file(store_reader *r, const char *file_id, store_file *out)
{
	return sqlite__file_read(r->db, &r->file, file_id, out);
}
