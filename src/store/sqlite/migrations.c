/* The schema, as an append-only list of migrations. Migration i (0-based)
 * takes a database from PRAGMA user_version i to i+1; store_open runs the
 * missing ones, each in its own transaction together with the version bump,
 * and refuses a database whose version is newer than this list.
 *
 * Never edit a migration that has shipped: add a new one.
 *
 * Conventions of the schema:
 *  - Ids are TEXT; an empty id ("not set") is stored as NULL.
 *  - Timestamps are INTEGER: message ts in microseconds, entity times as
 *    the core keeps them (seconds, or ms for channels.updated).
 *  - Booleans are INTEGER 0/1.
 *  - messages.top = 1 for what a channel's history shows: not a thread
 *    reply, or a reply also sent to the channel (reply_broadcast).
 *  - reactions.seq is the rowid alias: SQLite hands out max(rowid)+1, so
 *    seq orders every existing reaction by insertion even after deletes.
 *    The logical key (channel_id, ts, name, user_id) is UNIQUE, so a
 *    second identical reaction is a uniqueness conflict. */
#include "store/sqlite/sqlite_internal.h"

const char *const sqlite__migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE orgs("
	" id TEXT PRIMARY KEY,"
	" name TEXT, domain TEXT,"
	" created INTEGER NOT NULL DEFAULT 0,"
	" general_id TEXT);"

	"CREATE TABLE users("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT,"
	" name TEXT, real_name TEXT, display_name TEXT, email TEXT, title TEXT,"
	" phone TEXT, tz TEXT, status_text TEXT, status_emoji TEXT, avatar_hash TEXT,"
	" pwhash TEXT,"
	" is_admin INTEGER NOT NULL DEFAULT 0, is_owner INTEGER NOT NULL DEFAULT 0,"
	" is_primary_owner INTEGER NOT NULL DEFAULT 0, is_bot INTEGER NOT NULL DEFAULT 0,"
	" deleted INTEGER NOT NULL DEFAULT 0,"
	" bot_id TEXT, app_id TEXT,"
	" created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0);"

	"CREATE TABLE channels("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT,"
	" name TEXT,"
	" kind INTEGER NOT NULL DEFAULT 0,"
	" creator TEXT,"
	" created INTEGER NOT NULL DEFAULT 0,"
	" archived INTEGER NOT NULL DEFAULT 0, is_general INTEGER NOT NULL DEFAULT 0,"
	" topic TEXT, purpose TEXT, topic_creator TEXT, purpose_creator TEXT,"
	" topic_last_set INTEGER NOT NULL DEFAULT 0, purpose_last_set INTEGER NOT NULL DEFAULT 0,"
	" previous_names TEXT, im_user TEXT,"
	" updated INTEGER NOT NULL DEFAULT 0);"

	"CREATE TABLE members("
	" channel_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" joined INTEGER NOT NULL DEFAULT 0, last_read INTEGER NOT NULL DEFAULT 0,"
	" open INTEGER NOT NULL DEFAULT 1,"
	" PRIMARY KEY(channel_id, user_id)) WITHOUT ROWID;"

	"CREATE TABLE usergroups("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT,"
	" name TEXT, handle TEXT, description TEXT,"
	" created_by TEXT, updated_by TEXT, deleted_by TEXT,"
	" date_create INTEGER NOT NULL DEFAULT 0, date_update INTEGER NOT NULL DEFAULT 0,"
	" date_delete INTEGER NOT NULL DEFAULT 0,"
	" users TEXT, channels TEXT);"

	"CREATE TABLE apps("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT,"
	" name TEXT, bot_id TEXT, bot_user_id TEXT, scopes TEXT,"
	" signing_secret TEXT, verification_token TEXT,"
	" created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,"
	" deleted INTEGER NOT NULL DEFAULT 0);"

	"CREATE TABLE tokens("
	" hash TEXT PRIMARY KEY,"
	" kind INTEGER NOT NULL,"
	" org_id TEXT, user_id TEXT, app_id TEXT, scopes TEXT,"
	" created INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0);"

	/* Rows carry message text and JSON payloads, too big for a WITHOUT
	 * ROWID b-tree; the primary key is a separate unique index. */
	"CREATE TABLE messages("
	" channel_id TEXT NOT NULL,"
	" ts INTEGER NOT NULL,"
	" thread_ts INTEGER,"
	" top INTEGER NOT NULL,"
	" subtype TEXT, user_id TEXT, bot_id TEXT, app_id TEXT,"
	" text TEXT, blocks TEXT, attachments TEXT, metadata TEXT, extra TEXT,"
	" client_msg_id TEXT,"
	" edited_ts INTEGER NOT NULL DEFAULT 0, edited_user TEXT,"
	" reply_broadcast INTEGER NOT NULL DEFAULT 0, hidden INTEGER NOT NULL DEFAULT 0,"
	" org_id TEXT,"
	" PRIMARY KEY(channel_id, ts));"
	/* History pages and unread counts. */
	"CREATE INDEX messages_history ON messages(channel_id, top, ts);"
	/* Replies and thread summaries; user_id makes the summary aggregate
	 * covering, and only threaded rows are indexed. */
	"CREATE INDEX messages_thread ON messages(channel_id, thread_ts, ts, user_id)"
	" WHERE thread_ts IS NOT NULL;"

	"CREATE TABLE reactions("
	" seq INTEGER PRIMARY KEY,"
	" channel_id TEXT NOT NULL, ts INTEGER NOT NULL,"
	" name TEXT NOT NULL, user_id TEXT NOT NULL,"
	" UNIQUE(channel_id, ts, name, user_id));"
	"CREATE INDEX reactions_user ON reactions(user_id, seq);"

	"CREATE TABLE pins("
	" channel_id TEXT NOT NULL, ts INTEGER NOT NULL,"
	" created INTEGER NOT NULL DEFAULT 0, created_by TEXT,"
	" PRIMARY KEY(channel_id, ts)) WITHOUT ROWID;"

	/* kind is a mention_kind; target the user or subteam id, else NULL. */
	"CREATE TABLE mentions("
	" channel_id TEXT NOT NULL, ts INTEGER NOT NULL,"
	" kind INTEGER NOT NULL, target TEXT);"
	"CREATE INDEX mentions_msg ON mentions(channel_id, ts);"
	"CREATE INDEX mentions_target ON mentions(target, ts) WHERE target IS NOT NULL;",

	/* The app registry: what an app's manifest configures, the slash
	 * commands apps register (one app per command in an org) and incoming
	 * webhooks (only the secret's hash is kept; revoked is a flag, so a
	 * revoked hook stays listed). */
	"ALTER TABLE apps ADD COLUMN manifest TEXT;"
	"ALTER TABLE apps ADD COLUMN description TEXT;"
	"ALTER TABLE apps ADD COLUMN bot_events TEXT;"
	"ALTER TABLE apps ADD COLUMN event_url TEXT;"
	"ALTER TABLE apps ADD COLUMN interactivity_url TEXT;"
	"ALTER TABLE apps ADD COLUMN interactivity INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE apps ADD COLUMN socket_mode INTEGER NOT NULL DEFAULT 0;"

	"CREATE TABLE app_commands("
	" org_id TEXT NOT NULL, command TEXT NOT NULL,"
	" app_id TEXT, url TEXT, description TEXT, usage_hint TEXT,"
	" should_escape INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY(org_id, command)) WITHOUT ROWID;"

	"CREATE TABLE webhooks("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT, app_id TEXT, channel_id TEXT,"
	" hash TEXT NOT NULL UNIQUE,"
	" created_by TEXT,"
	" created INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0);",

	/* 3: SLOT-SEARCH: message search. msg_search is an FTS5 index of
	 * what a person reads in each message, text, Block Kit blocks and
	 * attachments (canal_search_text, sqlite_search.c: NULL for what
	 * search leaves out), rowid = messages.rowid. Triggers only note
	 * which rows changed in msg_search_queue; the writer re-indexes those
	 * rows at the end of a batch, inside the same transaction
	 * (sqlite__search_flush), because FTS5 writes a new index segment at
	 * every savepoint (one per job) while it holds pending changes.
	 * Existing messages are indexed here. */
	"CREATE VIRTUAL TABLE msg_search USING fts5(body,"
	" tokenize='porter unicode61 remove_diacritics 2');"
	/* Merge 8 segments of a level at a time, not 4: each entry is
	 * rewritten fewer times (log8 instead of log4 levels), and merging
	 * was most of what indexing costs the writer (bench/README.md,
	 * "Search"). 16 made merges rare and huge: a post could wait
	 * seconds behind one. */
	"INSERT INTO msg_search(msg_search, rank) VALUES('automerge', 8);"
	"INSERT INTO msg_search(rowid, body) SELECT rowid, b FROM"
	" (SELECT rowid, canal_search_text(text, subtype, hidden, blocks, attachments) AS b"
	" FROM messages) WHERE b IS NOT NULL;"
	/* indexed = 1: the row may have an entry to drop first (it was
	 * edited or deleted); 0: it was inserted since the last flush. */
	"CREATE TABLE msg_search_queue(id INTEGER PRIMARY KEY, indexed INTEGER NOT NULL);"
	"CREATE TRIGGER msg_search_insert AFTER INSERT ON messages BEGIN"
	" INSERT INTO msg_search_queue(id, indexed) SELECT new.rowid, 0"
	" WHERE NOT EXISTS (SELECT 1 FROM msg_search_queue WHERE id = new.rowid);"
	" END;"
	"CREATE TRIGGER msg_search_update AFTER UPDATE OF text, subtype, hidden, blocks, attachments"
	" ON messages BEGIN"
	" INSERT INTO msg_search_queue(id, indexed) VALUES(new.rowid, 1)"
	" ON CONFLICT(id) DO UPDATE SET indexed = 1;"
	" END;"
	"CREATE TRIGGER msg_search_delete AFTER DELETE ON messages BEGIN"
	" INSERT INTO msg_search_queue(id, indexed) VALUES(old.rowid, 1)"
	" ON CONFLICT(id) DO UPDATE SET indexed = 1;"
	" END;",

	/* 4: SLOT-FILES: uploaded files (metadata; the bytes live content-
	 * addressed under DATA/files/) and where each is shared. state: 0
	 * waiting for its bytes, 1 uploaded, 2 completed (visible); upload_key
	 * is the hash of the upload URL's secret; thumbs a bitmask of the
	 * thumbnail sizes made; revoked: an admin took everyone's access away. */
	"CREATE TABLE files("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL, user_id TEXT,"
	" name TEXT, title TEXT, alt_txt TEXT, snippet_type TEXT,"
	" mimetype TEXT, filetype TEXT,"
	" length INTEGER NOT NULL DEFAULT 0, size INTEGER NOT NULL DEFAULT 0,"
	" sha256 TEXT, upload_key TEXT,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL DEFAULT 0,"
	" public_secret TEXT, public_url_shared INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0, revoked_by TEXT, revoked_at INTEGER NOT NULL DEFAULT 0,"
	" deleted INTEGER NOT NULL DEFAULT 0,"
	" width INTEGER NOT NULL DEFAULT 0, height INTEGER NOT NULL DEFAULT 0,"
	" thumbs INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX files_org ON files(org_id, created, id);"
	"CREATE INDEX files_sha ON files(sha256) WHERE sha256 IS NOT NULL;"
	"CREATE TABLE file_shares("
	" file_id TEXT NOT NULL, channel_id TEXT NOT NULL, ts INTEGER NOT NULL,"
	" PRIMARY KEY(file_id, channel_id, ts)) WITHOUT ROWID;"
	"CREATE INDEX file_shares_channel ON file_shares(channel_id, ts);",

	/* 5: SLOT-COMPLIANCE: retention policies (channel_id '' = the org's
	 * policy; days 0 = keep forever), legal holds (kind 'channel' or
	 * 'user'; released is a flag, a released hold stays listed) and the
	 * audit log, append-only: triggers refuse UPDATE and DELETE. entry is
	 * the whole entry as Slack's Audit Logs API shows it (JSON text);
	 * org_id NULL for entries of no organisation (a failed sign-in with
	 * an unknown email). */
	"CREATE TABLE retention_policies("
	" org_id TEXT NOT NULL, channel_id TEXT NOT NULL DEFAULT '',"
	" days INTEGER NOT NULL,"
	" updated INTEGER NOT NULL DEFAULT 0, updated_by TEXT,"
	" PRIMARY KEY(org_id, channel_id)) WITHOUT ROWID;"

	"CREATE TABLE legal_holds("
	" id TEXT PRIMARY KEY,"
	" org_id TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK(kind IN ('channel','user')),"
	" target TEXT NOT NULL,"
	" created INTEGER NOT NULL DEFAULT 0, created_by TEXT,"
	" released INTEGER NOT NULL DEFAULT 0, released_by TEXT,"
	" note TEXT);"
	"CREATE INDEX legal_holds_live ON legal_holds(kind, target) WHERE released=0;"

	"CREATE TABLE audit_log("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL UNIQUE,"
	" org_id TEXT,"
	" date_create INTEGER NOT NULL,"
	" action TEXT NOT NULL,"
	" actor_id TEXT, entity_id TEXT,"
	" entry TEXT NOT NULL);"
	"CREATE INDEX audit_log_org ON audit_log(org_id, seq);"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",

	/* 6: SLOT-APPS: reminders (reminders.*, /remind; fired by a timer);
	 * response URLs, open views, ephemerals across restarts (store_pending.h) */
	"CREATE TABLE reminders ("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL, creator TEXT NOT NULL,"
	" user_id TEXT NOT NULL, text TEXT NOT NULL, time INTEGER NOT NULL,"
	" recurrence TEXT NOT NULL DEFAULT '', fired INTEGER NOT NULL DEFAULT 0,"
	" complete_ts INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE INDEX reminders_user ON reminders (user_id, time);"
	"CREATE INDEX reminders_due ON reminders (time) WHERE fired = 0 AND complete_ts = 0;"
	/* interaction state that outlives a restart (store_pending.h) */
	"CREATE TABLE pend_responses ("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL, app_id TEXT NOT NULL,"
	" user_id TEXT NOT NULL, channel_id TEXT NOT NULL, message_ts INTEGER NOT NULL,"
	" message_ephemeral INTEGER NOT NULL, uses_left INTEGER NOT NULL,"
	" expires_us INTEGER NOT NULL);"
	"CREATE INDEX pend_responses_expires ON pend_responses (expires_us);"
	"CREATE TABLE pend_views ("
	" id TEXT PRIMARY KEY, org_id TEXT NOT NULL, app_id TEXT NOT NULL,"
	" user_id TEXT NOT NULL, root_id TEXT NOT NULL, previous_id TEXT NOT NULL,"
	" above_id TEXT NOT NULL, external_id TEXT, home INTEGER NOT NULL,"
	" view TEXT NOT NULL, expires_us INTEGER NOT NULL);"
	"CREATE INDEX pend_views_expires ON pend_views (expires_us);"
	"CREATE TABLE pend_ephemerals ("
	" key TEXT PRIMARY KEY, org_id TEXT NOT NULL, channel_id TEXT NOT NULL,"
	" user_id TEXT NOT NULL, app_id TEXT NOT NULL, ts INTEGER NOT NULL,"
	" message TEXT NOT NULL, expires_us INTEGER NOT NULL);"
	"CREATE INDEX pend_ephemerals_expires ON pend_ephemerals (expires_us);",

	/* 7: SLOT-WEB (web client: per-person preferences, users.prefs.*;
	 * invites use the tokens table) */
	"CREATE TABLE web_prefs ("
	" user_id TEXT PRIMARY KEY,"
	" prefs TEXT NOT NULL,"      /* JSON object of string/number/bool values */
	" updated INTEGER NOT NULL"
	") WITHOUT ROWID;",
};

const int sqlite__schema_version = (int)(sizeof sqlite__migrations / sizeof sqlite__migrations[0]);
