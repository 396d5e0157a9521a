/* Building write jobs: each store_put_* / store_msg_* call appends one or
 * more ops (a write statement id plus copied parameter values) to the job,
 * on the calling thread. The writer binds the copies later
 * (sqlite_writer.c), so callers may change or free their structs at once.
 *
 * The SQL of every write lives in sqlite__wsql below, next to the builder
 * that supplies its parameters in order; the writer checks the count. */
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "core/err.h"
#include "store/sqlite/sqlite_internal.h"

const char *const sqlite__wsql[W__COUNT] = {
	/* Entities are whole-row upserts: REPLACE is exact here, because each
	 * table's only unique key is its primary key. */
	[W_PUT_ORG] = "REPLACE INTO orgs(id, name, domain, created, general_id) VALUES(?,?,?,?,?)",
	[W_PUT_USER] =
		"REPLACE INTO users(id, org_id, name, real_name, display_name, email, title, phone,"
		" tz, status_text, status_emoji, avatar_hash, pwhash, is_admin, is_owner,"
		" is_primary_owner, is_bot, deleted, bot_id, app_id, created, updated)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[W_PUT_CHANNEL] =
		"REPLACE INTO channels(id, org_id, name, kind, creator, created, archived,"
		" is_general, topic, purpose, topic_creator, purpose_creator, topic_last_set,"
		" purpose_last_set, previous_names, im_user, updated)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[W_PUT_MEMBER] = "REPLACE INTO members(channel_id, user_id, joined, last_read, open)"
			 " VALUES(?,?,?,?,?)",
	[W_DEL_MEMBER] = "DELETE FROM members WHERE channel_id=? AND user_id=?",
	[W_PUT_USERGROUP] =
		"REPLACE INTO usergroups(id, org_id, name, handle, description, created_by,"
		" updated_by, deleted_by, date_create, date_update, date_delete, users, channels)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[W_PUT_APP] = "REPLACE INTO apps(id, org_id, name, bot_id, bot_user_id, scopes,"
		      " signing_secret, verification_token, created, updated, deleted,"
		      " manifest, description, bot_events, event_url, interactivity_url,"
		      " interactivity, socket_mode)"
		      " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[W_PUT_TOKEN] = "REPLACE INTO tokens(hash, kind, org_id, user_id, app_id, scopes,"
			" created, expires, revoked) VALUES(?,?,?,?,?,?,?,?,?)",
	/* A plain INSERT: a second message at the same (channel, ts) is a
	 * conflict, never an overwrite. */
	[W_MSG_INSERT] =
		"INSERT INTO messages(channel_id, ts, thread_ts, top, subtype, user_id, bot_id,"
		" app_id, text, blocks, attachments, metadata, extra, client_msg_id, edited_ts,"
		" edited_user, reply_broadcast, hidden, org_id)"
		" VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[W_MSG_UPDATE] = "UPDATE messages SET text=?3, blocks=?4, attachments=?5, metadata=?6,"
			 " edited_ts=?7, edited_user=?8, extra=?9, subtype=?10, hidden=?11"
			 " WHERE channel_id=?1 AND ts=?2",
	[W_MSG_DELETE] = "DELETE FROM messages WHERE channel_id=? AND ts=?",
	[W_MENTION_ADD] = "INSERT INTO mentions(channel_id, ts, kind, target) VALUES(?,?,?,?)",
	[W_MENTIONS_DEL] = "DELETE FROM mentions WHERE channel_id=? AND ts=?",
	/* An edit re-parses the text; the @here targets recorded at posting
	 * (kind 1 with a target) stay. */
	[W_MENTIONS_DEL_TEXT] = "DELETE FROM mentions WHERE channel_id=? AND ts=?"
				" AND (kind<>1 OR target IS NULL)",
	/* seq left NULL: SQLite assigns max(seq)+1, the insertion order. */
	[W_REACTION_ADD] = "INSERT INTO reactions(channel_id, ts, name, user_id) VALUES(?,?,?,?)",
	[W_REACTION_DEL] = "DELETE FROM reactions WHERE channel_id=? AND ts=? AND name=? AND user_id=?",
	[W_REACTIONS_DEL_MSG] = "DELETE FROM reactions WHERE channel_id=? AND ts=?",
	[W_PIN_ADD] = "INSERT INTO pins(channel_id, ts, created, created_by) VALUES(?,?,?,?)",
	[W_PIN_DEL] = "DELETE FROM pins WHERE channel_id=? AND ts=?",
	[W_PUT_COMMAND] = "REPLACE INTO app_commands(org_id, command, app_id, url, description,"
			  " usage_hint, should_escape) VALUES(?,?,?,?,?,?,?)",
	[W_DEL_COMMAND] = "DELETE FROM app_commands WHERE org_id=? AND command=?",
	/* Not REPLACE: hash is a second unique key, and a clash there must
	 * fail rather than silently drop the other hook. */
	[W_PUT_WEBHOOK] = "INSERT INTO webhooks(id, org_id, app_id, channel_id, hash, created_by,"
			  " created, revoked) VALUES(?,?,?,?,?,?,?,?)"
			  " ON CONFLICT(id) DO UPDATE SET org_id=excluded.org_id,"
			  " app_id=excluded.app_id, channel_id=excluded.channel_id,"
			  " hash=excluded.hash, created_by=excluded.created_by,"
			  " created=excluded.created, revoked=excluded.revoked",
};

/* The entity each write touches, by the positions of its key among the
 * parameters above (store_job_keys; restored if the job fails). */
const sqlite__wkey sqlite__wkeys[W__COUNT] = {
	[W_PUT_ORG] = {true, STORE_KEY_ORG, 0, -1},
	[W_PUT_USER] = {true, STORE_KEY_USER, 0, -1},
	[W_PUT_CHANNEL] = {true, STORE_KEY_CHANNEL, 0, -1},
	[W_PUT_MEMBER] = {true, STORE_KEY_MEMBER, 0, 1},
	[W_DEL_MEMBER] = {true, STORE_KEY_MEMBER, 0, 1},
	[W_PUT_USERGROUP] = {true, STORE_KEY_USERGROUP, 0, -1},
	[W_PUT_APP] = {true, STORE_KEY_APP, 0, -1},
	[W_PUT_TOKEN] = {true, STORE_KEY_TOKEN, 0, -1},
	[W_PUT_COMMAND] = {true, STORE_KEY_COMMAND, 0, 1},
	[W_DEL_COMMAND] = {true, STORE_KEY_COMMAND, 0, 1},
	[W_PUT_WEBHOOK] = {true, STORE_KEY_WEBHOOK, 0, 4},
};

/* ---- jobs ---- */

store_job *store_job_new(store *st)
{
	store_job *j = xcalloc(1, sizeof *j);
	j->st = st;
	return j;
}

static void job_free_vals(store_job *j)
{
	for (size_t i = 0; i < j->nvals; i++)
		free(j->vals[i].s);
	free(j->vals);
	j->vals = NULL;
	j->nvals = j->capvals = 0;
}

void store_job_free(store_job *j)
{
	if (!j)
		return;
	job_free_vals(j);
	free(j->ops);
	store_keys_free(j->keys, j->nkeys);
	free(j);
}

void store_job_on_conflict(store_job *j, int err)
{
	j->next_conflict = err;
}

/* ---- op building ---- */

static sqlite__op *op_new(store_job *j, sqlite__wstmt stmt)
{
	if (j->nops == j->capops) {
		j->capops = j->capops ? j->capops * 2 : 4;
		j->ops = xrealloc(j->ops, j->capops * sizeof *j->ops);
	}
	sqlite__op *op = &j->ops[j->nops++];
	op->stmt = stmt;
	op->sql = NULL;
	op->on_conflict = j->next_conflict;
	op->on_missing = 0;
	op->first = j->nvals;
	op->nvals = 0;
	j->next_conflict = 0;
	return op;
}

static sqlite__val *val_new(store_job *j)
{
	if (j->nvals == j->capvals) {
		j->capvals = j->capvals ? j->capvals * 2 : 16;
		j->vals = xrealloc(j->vals, j->capvals * sizeof *j->vals);
	}
	j->ops[j->nops - 1].nvals++;
	sqlite__val *v = &j->vals[j->nvals++];
	memset(v, 0, sizeof *v);
	return v;
}

static void v_int(store_job *j, int64_t i)
{
	sqlite__val *v = val_new(j);
	v->type = V_INT;
	v->i = i;
}

/* Optional text: NULL stays NULL, "" stays "". */
static void v_str(store_job *j, const char *s)
{
	sqlite__val *v = val_new(j);
	if (s) {
		v->type = V_TEXT;
		v->s = xstrdup(s);
	}
}

/* Ids: "" (not set) is stored as NULL. */
static void v_id(store_job *j, const char *s)
{
	v_str(j, s && *s ? s : NULL);
}

/* A ts that may be unset (0): NULL, so partial indexes skip it. */
static void v_ts0(store_job *j, int64_t ts)
{
	if (ts)
		v_int(j, ts);
	else
		val_new(j);
}

/* ---- modules' own statements (see sqlite_internal.h) ---- */

void sqlite__op_sql(store_job *j, const char *sql)
{
	op_new(j, W__COUNT)->sql = sql;
}

void sqlite__op_on_missing(store_job *j, int err)
{
	j->ops[j->nops - 1].on_missing = err;
}

void sqlite__v_int(store_job *j, int64_t i)
{
	v_int(j, i);
}

void sqlite__v_str(store_job *j, const char *s)
{
	v_str(j, s);
}

void sqlite__v_id(store_job *j, const char *s)
{
	v_id(j, s);
}

void sqlite__v_null(store_job *j)
{
	val_new(j);
}

/* ---- entities ---- */

void store_put_org(store_job *j, const org *o)
{
	op_new(j, W_PUT_ORG);
	v_id(j, o->id);
	v_str(j, o->name);
	v_str(j, o->domain);
	v_int(j, o->created);
	v_id(j, o->general_id);
}

void store_put_user(store_job *j, const user *u)
{
	op_new(j, W_PUT_USER);
	v_id(j, u->id);
	v_id(j, u->org_id);
	v_str(j, u->name);
	v_str(j, u->real_name);
	v_str(j, u->display_name);
	v_str(j, u->email);
	v_str(j, u->title);
	v_str(j, u->phone);
	v_str(j, u->tz);
	v_str(j, u->status_text);
	v_str(j, u->status_emoji);
	v_str(j, u->avatar_hash);
	v_str(j, u->pwhash);
	v_int(j, u->is_admin);
	v_int(j, u->is_owner);
	v_int(j, u->is_primary_owner);
	v_int(j, u->is_bot);
	v_int(j, u->deleted);
	v_id(j, u->bot_id);
	v_id(j, u->app_id);
	v_int(j, u->created);
	v_int(j, u->updated);
}

void store_put_channel(store_job *j, const channel *c)
{
	op_new(j, W_PUT_CHANNEL);
	v_id(j, c->id);
	v_id(j, c->org_id);
	v_str(j, c->name);
	v_int(j, c->kind);
	v_id(j, c->creator);
	v_int(j, c->created);
	v_int(j, c->archived);
	v_int(j, c->is_general);
	v_str(j, c->topic);
	v_str(j, c->purpose);
	v_id(j, c->topic_creator);
	v_id(j, c->purpose_creator);
	v_int(j, c->topic_last_set);
	v_int(j, c->purpose_last_set);
	v_str(j, c->previous_names);
	v_id(j, c->im_user);
	v_int(j, c->updated);
}

void store_put_member(store_job *j, const char *channel_id, const chan_member *m)
{
	op_new(j, W_PUT_MEMBER);
	v_id(j, channel_id);
	v_id(j, m->user_id);
	v_int(j, m->joined);
	v_int(j, m->last_read);
	v_int(j, m->open);
}

void store_del_member(store_job *j, const char *channel_id, const char *user_id)
{
	op_new(j, W_DEL_MEMBER);
	v_id(j, channel_id);
	v_id(j, user_id);
}

void store_put_usergroup(store_job *j, const usergroup *g)
{
	op_new(j, W_PUT_USERGROUP);
	v_id(j, g->id);
	v_id(j, g->org_id);
	v_str(j, g->name);
	v_str(j, g->handle);
	v_str(j, g->description);
	v_id(j, g->created_by);
	v_id(j, g->updated_by);
	v_id(j, g->deleted_by);
	v_int(j, g->date_create);
	v_int(j, g->date_update);
	v_int(j, g->date_delete);
	v_str(j, g->users);
	v_str(j, g->channels);
}

void store_put_app(store_job *j, const app *a)
{
	op_new(j, W_PUT_APP);
	v_id(j, a->id);
	v_id(j, a->org_id);
	v_str(j, a->name);
	v_id(j, a->bot_id);
	v_id(j, a->bot_user_id);
	v_str(j, a->scopes);
	v_str(j, a->signing_secret);
	v_str(j, a->verification_token);
	v_int(j, a->created);
	v_int(j, a->updated);
	v_int(j, a->deleted);
	v_str(j, a->manifest);
	v_str(j, a->description);
	v_str(j, a->bot_events);
	v_str(j, a->event_url);
	v_str(j, a->interactivity_url);
	v_int(j, a->interactivity);
	v_int(j, a->socket_mode);
}

void store_put_command(store_job *j, const app_command *c)
{
	op_new(j, W_PUT_COMMAND);
	v_id(j, c->org_id);
	v_str(j, c->command ? c->command : "");
	v_id(j, c->app_id);
	v_str(j, c->url);
	v_str(j, c->description);
	v_str(j, c->usage_hint);
	v_int(j, c->should_escape);
}

void store_del_command(store_job *j, const char *org_id, const char *command)
{
	/* Idempotent: removing a command nobody registered changes nothing. */
	op_new(j, W_DEL_COMMAND);
	v_id(j, org_id);
	v_str(j, command ? command : "");
}

void store_put_webhook(store_job *j, const webhook *w)
{
	op_new(j, W_PUT_WEBHOOK);
	v_id(j, w->id);
	v_id(j, w->org_id);
	v_id(j, w->app_id);
	v_id(j, w->channel_id);
	v_str(j, w->hash);
	v_id(j, w->created_by);
	v_int(j, w->created);
	v_int(j, w->revoked);
}

void store_put_token(store_job *j, const token *t)
{
	op_new(j, W_PUT_TOKEN);
	v_id(j, t->hash);
	v_int(j, t->kind);
	v_id(j, t->org_id);
	v_id(j, t->user_id);
	v_id(j, t->app_id);
	v_str(j, t->scopes);
	v_int(j, t->created);
	v_int(j, t->expires);
	v_int(j, t->revoked);
}

/* ---- messages ---- */

static void add_mentions(store_job *j, const message *m)
{
	mention *v;
	size_t n = mention_parse(m->text, &v);
	for (size_t i = 0; i < n; i++) {
		op_new(j, W_MENTION_ADD);
		v_id(j, m->channel_id);
		v_int(j, m->ts);
		v_int(j, v[i].kind);
		v_id(j, v[i].id);
	}
	free(v);
}

void store_msg_insert(store_job *j, const message *m)
{
	bool top = !m->thread_ts || m->thread_ts == m->ts || m->reply_broadcast;
	op_new(j, W_MSG_INSERT);
	v_id(j, m->channel_id);
	v_int(j, m->ts);
	v_ts0(j, m->thread_ts);
	v_int(j, top);
	v_str(j, m->subtype);
	v_id(j, m->user_id);
	v_id(j, m->bot_id);
	v_id(j, m->app_id);
	v_str(j, m->text);
	v_str(j, m->blocks);
	v_str(j, m->attachments);
	v_str(j, m->metadata);
	v_str(j, m->extra);
	v_str(j, m->client_msg_id);
	v_int(j, m->edited_ts);
	v_id(j, m->edited_user);
	v_int(j, m->reply_broadcast);
	v_int(j, m->hidden);
	v_id(j, m->org_id);
	add_mentions(j, m);
}

void store_msg_update(store_job *j, const message *m)
{
	sqlite__op *op = op_new(j, W_MSG_UPDATE);
	/* Deleted between the caller's check and the commit. */
	op->on_missing = ERR_MESSAGE_NOT_FOUND;
	v_id(j, m->channel_id);
	v_int(j, m->ts);
	v_str(j, m->text);
	v_str(j, m->blocks);
	v_str(j, m->attachments);
	v_str(j, m->metadata);
	v_int(j, m->edited_ts);
	v_id(j, m->edited_user);
	v_str(j, m->extra);
	v_str(j, m->subtype);
	v_int(j, m->hidden);
	op_new(j, W_MENTIONS_DEL_TEXT);
	v_id(j, m->channel_id);
	v_int(j, m->ts);
	add_mentions(j, m);
}

void store_msg_mention_add(store_job *j, const char *channel_id, int64_t ts, int kind,
			   const char *target)
{
	op_new(j, W_MENTION_ADD);
	v_id(j, channel_id);
	v_int(j, ts);
	v_int(j, kind);
	v_id(j, target);
}

static void msg_key_op(store_job *j, sqlite__wstmt stmt, const char *channel_id, int64_t ts,
		       int on_missing)
{
	sqlite__op *op = op_new(j, stmt);
	op->on_missing = on_missing;
	v_id(j, channel_id);
	v_int(j, ts);
}

void store_msg_delete(store_job *j, const char *channel_id, int64_t ts)
{
	msg_key_op(j, W_MSG_DELETE, channel_id, ts, ERR_MESSAGE_NOT_FOUND);
	msg_key_op(j, W_REACTIONS_DEL_MSG, channel_id, ts, 0);
	msg_key_op(j, W_PIN_DEL, channel_id, ts, 0);
	msg_key_op(j, W_MENTIONS_DEL, channel_id, ts, 0);
}

void store_reaction_add(store_job *j, const char *channel_id, int64_t ts, const char *name,
			const char *user_id)
{
	op_new(j, W_REACTION_ADD);
	v_id(j, channel_id);
	v_int(j, ts);
	v_str(j, name ? name : "");
	v_str(j, user_id ? user_id : "");
}

void store_reaction_remove(store_job *j, const char *channel_id, int64_t ts, const char *name,
			   const char *user_id)
{
	/* Idempotent: callers check first, and bulk cleanups (a parent turned
	 * tombstone drops all its reactions) must not fail on a race. */
	op_new(j, W_REACTION_DEL);
	v_id(j, channel_id);
	v_int(j, ts);
	v_str(j, name ? name : "");
	v_str(j, user_id ? user_id : "");
}

void store_pin_add(store_job *j, const char *channel_id, int64_t ts, const char *user_id,
		   int64_t created)
{
	op_new(j, W_PIN_ADD);
	v_id(j, channel_id);
	v_int(j, ts);
	v_int(j, created);
	v_id(j, user_id);
}

void store_pin_remove(store_job *j, const char *channel_id, int64_t ts)
{
	msg_key_op(j, W_PIN_DEL, channel_id, ts, 0); /* idempotent, as reaction_remove */
}
