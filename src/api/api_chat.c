/* chat.*: posting, editing and deleting messages.
 *
 * Messages live in the store, not in hot state. A handler checks the
 * caller against hot state (visibility, membership, archived), reads the
 * one message it needs synchronously, and queues the change on the
 * request's job; the answer is sent once the job has committed.
 *
 * Content rules shared by postMessage and update (Slack's):
 *  - blocks and attachments arrive as JSON strings in forms and as native
 *    arrays in JSON bodies; both are validated and stored as compact JSON
 *    text, so the core never parses JSON;
 *  - an empty array means "none" (on update: "remove the old ones"), an
 *    absent argument on update keeps what the message had;
 *  - text is stored exactly as sent: Slack's clients escape &, < and >
 *    themselves, and re-escaping would double it.
 *
 * Authorship: a user token acts for its user, a bot token for its bot.
 * Only the author edits; the author or a workspace admin/owner (acting
 * with a user token) deletes. */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "rt/bus.h"

/* Subtypes a person or app wrote, which chat.update may rewrite. Every
 * other subtype is a system message (joins, topics, tombstones...). */
static const char *const editable_subtypes[] = {"bot_message", "thread_broadcast", "me_message"};

#define TOMBSTONE_TEXT "This message was deleted."

typedef struct msg_content {
	const char *text;       /* borrowed from the args; NULL = absent */
	char *blocks;           /* compact JSON; NULL = absent or [] */
	char *attachments;
	char *metadata;
	bool has_blocks;        /* the argument was given (even as []) */
	bool has_attachments;
} msg_content;

static void content_release(msg_content *mc)
{
	free(mc->blocks);
	free(mc->attachments);
	free(mc->metadata);
	memset(mc, 0, sizeof *mc);
}

static bool is_bot(const api_ctx *c)
{
	return c->tok && c->tok->kind == TOKEN_BOT && c->app;
}

/* Is scope one of the comma-separated scopes in list? */
static bool has_scope(const char *list, const char *scope)
{
	size_t n = strlen(scope);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && memcmp(p, scope, n) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* Slack explains invalid_blocks with a JSON pointer to the culprit, in
 * "errors" and as a response_metadata message (which the SDKs log): that
 * is what makes the error debuggable. */
static int blocks_error(api_ctx *c, const char *why, long index)
{
	char msg[160];
	if (index >= 0)
		snprintf(msg, sizeof msg, "%s [json-pointer:/blocks/%ld]", why, index);
	else
		snprintf(msg, sizeof msg, "%s [json-pointer:/blocks]", why);
	if (!c->err_extra)
		c->err_extra = json_object();
	json_object_set_new(c->err_extra, "errors", json_pack("[s]", msg));
	char *line = xasprintf("[ERROR] %s", msg);
	json_object_set_new(c->err_extra, "response_metadata", json_pack("{s:[s]}", "messages", line));
	free(line);
	return ERR_INVALID_BLOCKS;
}

/* A form field given but empty ("blocks=") is treated as absent, the way
 * Slack treats an empty optional field. */
static bool arg_empty(api_ctx *c, const char *name)
{
	const char *s = api_str(c, name);
	return s && !*s;
}

static char *dump_nonempty(json_t *arr)
{
	return json_array_size(arr) ? json_dumps(arr, JSON_COMPACT) : NULL;
}

static int parse_blocks(api_ctx *c, msg_content *mc)
{
	int err = 0, rc = 0;
	if (arg_empty(c, "blocks"))
		return 0;
	json_t *v = api_json_arg(c, "blocks", ERR_INVALID_BLOCKS, &err);
	if (err)
		return blocks_error(c, "invalid JSON", -1);
	if (!v)
		return 0;
	if (!json_is_array(v)) {
		rc = blocks_error(c, "expected an array", -1);
		goto out;
	}
	if (json_array_size(v) > RULES_MAX_BLOCKS) {
		rc = blocks_error(c, "no more than 50 items allowed", -1);
		goto out;
	}
	size_t i;
	json_t *b;
	json_array_foreach(v, i, b) {
		if (!json_is_object(b) || !json_is_string(json_object_get(b, "type"))) {
			rc = blocks_error(c, "missing required field: type", (long)i);
			goto out;
		}
	}
	mc->has_blocks = true;
	mc->blocks = dump_nonempty(v);
out:
	json_decref(v);
	return rc;
}

static int parse_attachments(api_ctx *c, msg_content *mc)
{
	int err = 0, rc = 0;
	if (arg_empty(c, "attachments"))
		return 0;
	json_t *v = api_json_arg(c, "attachments", ERR_INVALID_ATTACHMENTS, &err);
	if (err)
		return err;
	if (!v)
		return 0;
	if (!json_is_array(v)) {
		rc = ERR_INVALID_ATTACHMENTS;
		goto out;
	}
	if (json_array_size(v) > RULES_MAX_ATTACHMENTS) {
		rc = ERR_TOO_MANY_ATTACHMENTS;
		goto out;
	}
	size_t i;
	json_t *a;
	json_array_foreach(v, i, a) {
		if (!json_is_object(a)) {
			rc = ERR_INVALID_ATTACHMENTS;
			goto out;
		}
	}
	mc->has_attachments = true;
	mc->attachments = dump_nonempty(v);
out:
	json_decref(v);
	return rc;
}

/* Message metadata: {"event_type": string, "event_payload": object}.
 * Not JSON: invalid_metadata_format; the wrong shape:
 * invalid_metadata_schema (Slack's names). */
static int parse_metadata(api_ctx *c, msg_content *mc)
{
	int err = 0, rc = 0;
	if (arg_empty(c, "metadata"))
		return 0;
	json_t *v = api_json_arg(c, "metadata", ERR_INVALID_METADATA_FORMAT, &err);
	if (err)
		return err;
	if (!v)
		return 0;
	const char *type = json_string_value(json_object_get(v, "event_type"));
	json_t *payload = json_object_get(v, "event_payload");
	if (!json_is_object(v) || !type || !*type || (payload && !json_is_object(payload))) {
		rc = ERR_INVALID_METADATA_SCHEMA;
		goto out;
	}
	mc->metadata = json_dumps(v, JSON_COMPACT);
out:
	json_decref(v);
	return rc;
}

static int parse_content(api_ctx *c, msg_content *mc)
{
	int rc;
	mc->text = api_str(c, "text");
	if ((rc = parse_blocks(c, mc)) || (rc = parse_attachments(c, mc)) || (rc = parse_metadata(c, mc)))
		return rc;
	return 0;
}

/* Slack counts the limit in characters, not bytes. */
static int check_length(api_ctx *c, const char *text)
{
	size_t max = c->env->max_msg_chars ? c->env->max_msg_chars : RULES_MSG_MAX_CHARS;
	return rules_utf8_len(text) > max ? ERR_MSG_TOO_LONG : 0;
}

/* A message needs something to show: text, blocks or attachments. */
static bool shows_something(const char *text, const char *blocks, const char *attachments)
{
	return (text && *text) || blocks || attachments;
}

/* May the caller post in ch? Members may; a bot holding
 * chat:write.public may also post in public channels it has not joined,
 * as on Slack. Non-members of private conversations never get here
 * (api_channel hides them), but answer as if the channel did not exist. */
static int can_post(api_ctx *c, const channel *ch)
{
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	if (rules_is_member(c->me, ch))
		return 0;
	if (ch->kind != CHAN_PUBLIC)
		return ERR_CHANNEL_NOT_FOUND;
	if (is_bot(c) && has_scope(c->tok->scopes, "chat:write.public"))
		return 0;
	return ERR_NOT_IN_CHANNEL;
}

/* The thread a reply joins, read into *root (the caller releases it).
 * Replying to a reply joins that reply's thread, as Slack's clients do, so
 * threads never nest. */
static int thread_root(api_ctx *c, const channel *ch, int64_t ts, message *root)
{
	int rc = store_msg_get(c->env->store, ch->id, ts, root);
	if (!rc && root->thread_ts && root->thread_ts != root->ts) {
		int64_t parent = root->thread_ts;
		message_release(root);
		rc = store_msg_get(c->env->store, ch->id, parent, root);
	}
	if (rc == ERR_MESSAGE_NOT_FOUND)
		rc = ERR_THREAD_NOT_FOUND;
	return rc;
}

/* ---- real-time events ---- */

/* A fresh event_ts: the message clock, so events order against posts. */
static json_t *event_ts(api_ctx *c, int64_t *out)
{
	int64_t ts = core_ts_next(c->env->state, c->now_us);
	if (out)
		*out = ts;
	return api_ts_json(ts);
}

/* Is id among the first repliers a thread summary shows? */
static bool in_reply_users(const message *p, const char *id)
{
	for (size_t i = 0; i < p->nreply_users; i++)
		if (strcmp(p->reply_users[i], id) == 0)
			return true;
	return false;
}

/* The thread parent's summary as it reads once reply r is in: r is not
 * committed yet, so it is the stored summary plus r. Whether r's author
 * already replied is exact while the summary lists every replier (fewer
 * than five); past that an author not among the first five is taken to
 * be new. */
static void summary_add_reply(message *parent, const message *r)
{
	parent->thread_ts = parent->ts;
	parent->reply_count++;
	parent->latest_reply = r->ts;
	if (r->user_id[0] && !in_reply_users(parent, r->user_id)) {
		parent->reply_users_count++;
		if (parent->nreply_users < 5) {
			parent->reply_users = xrealloc(parent->reply_users,
						       (parent->nreply_users + 1) * sizeof *parent->reply_users);
			parent->reply_users[parent->nreply_users++] = xstrdup(r->user_id);
		}
	}
}

/* message_replied: the parent (summary updated) after reply r. */
static void emit_replied(api_ctx *c, const channel *ch, const message *parent, const message *r)
{
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string("message"));
	json_object_set_new(e, "subtype", json_string("message_replied"));
	json_object_set_new(e, "hidden", json_true());
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "channel_type", json_string(api_channel_type(ch)));
	json_object_set_new(e, "event_ts", api_ts_json(r->ts));
	json_object_set_new(e, "ts", api_ts_json(parent->ts));
	json_object_set_new(e, "message", api_render_message(c, parent));
	api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
}

/* A thread_broadcast event carries its thread's parent as "root" (§7).
 * api_post queued the message event just now, as the request's last
 * event (checked by its ts); parent has its summary updated already. */
static void add_broadcast_root(api_ctx *c, const message *m, const message *parent)
{
	json_t *q = json_array_get(c->events, json_array_size(c->events) - 1);
	json_t *e = json_object_get(q, "event");
	const char *ts = json_string_value(json_object_get(e, "ts"));
	char want[24];
	rules_ts_format(m->ts, want);
	if (ts && strcmp(ts, want) == 0 && !json_object_get(e, "root"))
		json_object_set_new(e, "root", api_render_message(c, parent));
}

/* message_changed (an edit, or a parent turned tombstone) at ts. Steals
 * the references to now and before. */
static void emit_changed(api_ctx *c, const channel *ch, int64_t ts, json_t *now, json_t *before)
{
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string("message"));
	json_object_set_new(e, "subtype", json_string("message_changed"));
	json_object_set_new(e, "hidden", json_true());
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "channel_type", json_string(api_channel_type(ch)));
	json_object_set_new(e, "ts", api_ts_json(ts));
	json_object_set_new(e, "event_ts", api_ts_json(ts));
	json_object_set_new(e, "message", now);
	json_object_set_new(e, "previous_message", before);
	api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
}

/* message_deleted for the message at deleted_ts. Steals before. */
static void emit_deleted(api_ctx *c, const channel *ch, int64_t deleted_ts, json_t *before)
{
	int64_t now;
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string("message"));
	json_object_set_new(e, "subtype", json_string("message_deleted"));
	json_object_set_new(e, "hidden", json_true());
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "channel_type", json_string(api_channel_type(ch)));
	json_object_set_new(e, "event_ts", event_ts(c, &now));
	json_object_set_new(e, "ts", api_ts_json(now));
	json_object_set_new(e, "deleted_ts", api_ts_json(deleted_ts));
	json_object_set_new(e, "previous_message", before);
	api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
}

/* The custom name and icon a bot may give one message; user tokens post
 * as their user and Slack ignores these for them. NULL when none. */
static char *custom_identity(api_ctx *c)
{
	if (!is_bot(c))
		return NULL;
	const char *username = api_str(c, "username");
	const char *emoji = api_str(c, "icon_emoji");
	const char *url = api_str(c, "icon_url");
	json_t *x = json_object(), *icons = json_object();
	if (username && *username)
		json_object_set_new(x, "username", json_string(username));
	/* Slack: icon_emoji overrides icon_url. */
	if (emoji && *emoji)
		json_object_set_new(icons, "emoji", json_string(emoji));
	else if (url && *url)
		json_object_set_new(icons, "image_48", json_string(url));
	if (json_object_size(icons))
		json_object_set(x, "icons", icons);
	char *s = json_object_size(x) ? json_dumps(x, JSON_COMPACT) : NULL;
	json_decref(icons);
	json_decref(x);
	return s;
}

/* Author fields for a message the caller writes now. */
static void set_author(api_ctx *c, const channel *ch, message *m)
{
	memcpy(m->channel_id, ch->id, sizeof m->channel_id);
	memcpy(m->org_id, ch->org_id, sizeof m->org_id);
	memcpy(m->user_id, c->me->id, sizeof m->user_id);
	/* bot_id is what Bolt's ignoreSelf compares: without it a bot hears
	 * its own posts and can loop. */
	if (is_bot(c)) {
		memcpy(m->bot_id, c->app->bot_id, sizeof m->bot_id);
		memcpy(m->app_id, c->app->id, sizeof m->app_id);
	}
}

static bool is_author(const api_ctx *c, const message *m)
{
	if (is_bot(c))
		return m->bot_id[0] && strcmp(m->bot_id, c->app->bot_id) == 0;
	return !m->bot_id[0] && strcmp(m->user_id, c->me->id) == 0;
}

static bool editable(const message *m)
{
	if (!m->subtype)
		return true;
	for (size_t i = 0; i < sizeof editable_subtypes / sizeof editable_subtypes[0]; i++)
		if (strcmp(m->subtype, editable_subtypes[i]) == 0)
			return true;
	return false;
}

/* A required ts argument: missing -> invalid_arguments, unparsable ->
 * bad_err (a ts that cannot exist names no message). */
static int ts_req(api_ctx *c, const char *name, int bad_err, int64_t *out)
{
	const char *s;
	int rc = api_str_req(c, name, &s);
	if (rc)
		return rc;
	return api_ts(c, name, bad_err, out);
}

/* The message (channel, ts) names, as the caller may act on it. A
 * tombstone is what is left of a deleted message: it no longer exists for
 * chat.update / chat.delete. */
static int get_live(api_ctx *c, const channel *ch, int64_t ts, message *m)
{
	int rc = store_msg_get(c->env->store, ch->id, ts, m);
	if (!rc && m->hidden)
		rc = ERR_MESSAGE_NOT_FOUND;
	return rc;
}

static void out_channel_ts(api_ctx *c, const channel *ch, int64_t ts)
{
	json_object_set_new(c->out, "channel", json_string(ch->id));
	json_object_set_new(c->out, "ts", api_ts_json(ts));
}

int api_chat_post_message(api_ctx *c)
{
	channel *ch = NULL;
	msg_content mc = {0};
	message m, parent;
	message_init(&m);
	message_init(&parent);
	int64_t thread_ts = 0;
	bool broadcast = false;
	int rc;

	if ((rc = api_channel(c, "channel", true, &ch)))
		goto out;
	if ((rc = parse_content(c, &mc)))
		goto out;
	if (!shows_something(mc.text, mc.blocks, mc.attachments)) {
		rc = ERR_NO_TEXT;
		goto out;
	}
	if ((rc = check_length(c, mc.text)) || (rc = can_post(c, ch)))
		goto out;
	if ((rc = api_ts(c, "thread_ts", ERR_INVALID_THREAD_TS, &thread_ts)))
		goto out;
	if (thread_ts) {
		if ((rc = thread_root(c, ch, thread_ts, &parent)))
			goto out;
		thread_ts = parent.ts;
	}
	if ((rc = api_bool(c, "reply_broadcast", false, &broadcast)))
		goto out;

	set_author(c, ch, &m);
	m.text = xstrdup(mc.text ? mc.text : "");
	m.blocks = mc.blocks, mc.blocks = NULL;
	m.attachments = mc.attachments, mc.attachments = NULL;
	m.metadata = mc.metadata, mc.metadata = NULL;
	m.extra = custom_identity(c);
	m.client_msg_id = xstrdup(api_str(c, "client_msg_id"));
	m.thread_ts = thread_ts;
	/* reply_broadcast only means something on a reply. */
	if (thread_ts && broadcast) {
		m.reply_broadcast = true;
		m.subtype = xstrdup("thread_broadcast");
	}
	/* api_post queues the message event itself; a reply also updates
	 * its parent's thread summary for everyone. */
	json_t *rendered = NULL;
	m.ts = api_post_rendered(c, ch, &m, &rendered);
	if (thread_ts) {
		summary_add_reply(&parent, &m);
		if (m.reply_broadcast)
			add_broadcast_root(c, &m, &parent);
		emit_replied(c, ch, &parent, &m);
	}

	out_channel_ts(c, ch, m.ts);
	json_object_set_new(c->out, "message", rendered);
out:
	content_release(&mc);
	message_release(&m);
	message_release(&parent);
	return rc;
}

int api_chat_me_message(api_ctx *c)
{
	channel *ch = NULL;
	message m;
	message_init(&m);
	int rc;

	if ((rc = api_channel(c, "channel", false, &ch)))
		goto out;
	const char *text = api_str(c, "text");
	if (!text || !*text) {
		rc = ERR_NO_TEXT;
		goto out;
	}
	if ((rc = check_length(c, text)) || (rc = can_post(c, ch)))
		goto out;

	set_author(c, ch, &m);
	m.subtype = xstrdup("me_message");
	m.text = xstrdup(text);
	m.ts = api_post(c, ch, &m);
	out_channel_ts(c, ch, m.ts);
out:
	message_release(&m);
	return rc;
}

/* Replaces field with the new value when the argument was given; an empty
 * array given explicitly removes the old value (Slack's rule). */
static void take_if_given(char **field, char **val, bool given)
{
	if (!given)
		return;
	free(*field);
	*field = *val;
	*val = NULL;
}

int api_chat_update(api_ctx *c)
{
	channel *ch = NULL;
	msg_content mc = {0};
	json_t *before = NULL; /* the message as it was, for message_changed */
	message m;
	message_init(&m);
	int64_t ts = 0;
	int rc;

	if ((rc = api_channel(c, "channel", false, &ch)))
		goto out;
	if ((rc = ts_req(c, "ts", ERR_MESSAGE_NOT_FOUND, &ts)))
		goto out;
	if (ch->archived) {
		rc = ERR_IS_ARCHIVED;
		goto out;
	}
	if ((rc = get_live(c, ch, ts, &m)))
		goto out;
	/* Not even admins may rewrite someone else's words on Slack. */
	if (!is_author(c, &m) || !editable(&m)) {
		rc = ERR_CANT_UPDATE_MESSAGE;
		goto out;
	}
	if ((rc = parse_content(c, &mc)))
		goto out;
	if (!mc.text && !mc.has_blocks && !mc.has_attachments && !mc.metadata) {
		rc = ERR_NO_TEXT;
		goto out;
	}
	before = api_render_message(c, &m);
	if (mc.text)
		xstrset(&m.text, mc.text);
	take_if_given(&m.blocks, &mc.blocks, mc.has_blocks);
	take_if_given(&m.attachments, &mc.attachments, mc.has_attachments);
	take_if_given(&m.metadata, &mc.metadata, mc.metadata != NULL);
	if (!shows_something(m.text, m.blocks, m.attachments)) {
		rc = ERR_NO_TEXT;
		goto out;
	}
	if ((rc = check_length(c, m.text)))
		goto out;

	/* edited.ts is a timestamp of its own, from the same clock as message
	 * ts so clients can order edits against posts. */
	m.edited_ts = core_ts_next(c->env->state, c->now_us);
	memcpy(m.edited_user, c->me->id, sizeof m.edited_user);
	store_msg_update(api_job(c), &m);
	emit_changed(c, ch, m.edited_ts, api_render_message(c, &m), before);
	before = NULL;

	out_channel_ts(c, ch, m.ts);
	json_object_set_new(c->out, "text", json_string(m.text ? m.text : ""));
	json_object_set_new(c->out, "message", api_render_message(c, &m));
out:
	json_decref(before);
	content_release(&mc);
	message_release(&m);
	return rc;
}

/* Workspace admins and owners may remove anyone's message, but only when
 * acting as themselves: a bot token never borrows its installer's rights. */
static bool may_delete(const api_ctx *c, const message *m)
{
	if (is_author(c, m))
		return true;
	return !is_bot(c) && (c->me->is_admin || c->me->is_owner);
}

/* Turns a thread parent into the tombstone Slack leaves behind, so the
 * replies keep a thread to belong to. Whatever pointed at the deleted
 * words goes with them: its reactions and its pin. */
static void make_tombstone(api_ctx *c, const channel *ch, message *m)
{
	store_job *job = api_job(c);
	xstrset(&m->subtype, "tombstone");
	xstrset(&m->text, TOMBSTONE_TEXT);
	xstrset(&m->blocks, NULL);
	xstrset(&m->attachments, NULL);
	xstrset(&m->metadata, NULL);
	xstrset(&m->extra, NULL);
	m->hidden = true;
	store_msg_update(job, m);
	for (size_t i = 0; i < m->nreactions; i++)
		for (size_t j = 0; j < m->reactions[i].nusers; j++)
			store_reaction_remove(job, ch->id, m->ts, m->reactions[i].name,
					      m->reactions[i].users[j]);
	for (size_t i = 0; i < m->npinned; i++)
		if (strcmp(m->pinned_to[i], ch->id) == 0)
			store_pin_remove(job, ch->id, m->ts);
}

/* After the last reply under a tombstone goes, the tombstone has nothing
 * left to hold together and goes too, as on Slack. */
static void drop_empty_tombstone(api_ctx *c, const channel *ch, const message *reply)
{
	message p;
	message_init(&p);
	if (store_msg_get(c->env->store, ch->id, reply->thread_ts, &p) == 0 && p.hidden
	    && p.reply_count <= 1) {
		store_msg_delete(api_job(c), ch->id, p.ts);
		emit_deleted(c, ch, p.ts, api_render_message(c, &p));
	}
	message_release(&p);
}

int api_chat_delete(api_ctx *c)
{
	channel *ch = NULL;
	message m;
	message_init(&m);
	int64_t ts = 0;
	int rc;

	if ((rc = api_channel(c, "channel", false, &ch)))
		goto out;
	if ((rc = ts_req(c, "ts", ERR_MESSAGE_NOT_FOUND, &ts)))
		goto out;
	if (ch->archived) {
		rc = ERR_IS_ARCHIVED;
		goto out;
	}
	if ((rc = get_live(c, ch, ts, &m)))
		goto out;
	if (!may_delete(c, &m)) {
		rc = ERR_CANT_DELETE_MESSAGE;
		goto out;
	}

	bool parent = m.thread_ts == m.ts;
	json_t *before = api_render_message(c, &m);
	if (parent && m.reply_count > 0) {
		make_tombstone(c, ch, &m);
		/* The tombstone keeps the thread's summary, not the reactions
		 * and pin that went with the words. */
		json_t *now = api_render_message(c, &m);
		json_object_del(now, "reactions");
		json_object_del(now, "pinned_to");
		emit_changed(c, ch, core_ts_next(c->env->state, c->now_us), now, before);
	} else {
		store_msg_delete(api_job(c), ch->id, m.ts);
		emit_deleted(c, ch, m.ts, before);
		if (m.thread_ts && !parent)
			drop_empty_tombstone(c, ch, &m);
	}
	out_channel_ts(c, ch, m.ts);
out:
	message_release(&m);
	return rc;
}

int api_chat_get_permalink(api_ctx *c)
{
	channel *ch = NULL;
	message m;
	message_init(&m);
	int64_t ts = 0;
	char *link = NULL;
	int rc;

	if ((rc = api_channel(c, "channel", false, &ch)))
		goto out;
	if ((rc = ts_req(c, "message_ts", ERR_MESSAGE_NOT_FOUND, &ts)))
		goto out;
	if ((rc = store_msg_get(c->env->store, ch->id, ts, &m)))
		goto out;
	/* A reply's link opens its thread: it carries the parent's ts. */
	link = api_permalink(c, ch, m.ts, m.thread_ts != m.ts ? m.thread_ts : 0);
	json_object_set_new(c->out, "channel", json_string(ch->id));
	json_object_set_new(c->out, "permalink", json_string(link));
out:
	free(link);
	message_release(&m);
	return rc;
}

int api_chat_check_post(api_ctx *c, const channel *ch, int64_t thread_ts)
{
	message root;
	message_init(&root);
	int rc = can_post(c, ch);
	if (!rc && thread_ts)
		rc = thread_root(c, ch, thread_ts, &root);
	message_release(&root);
	return rc;
}

/* For methods that post on the caller's behalf with content they built
 * themselves (files.completeUploadExternal): chat.postMessage's checks,
 * threading and events, without its argument parsing. */
int api_chat_post_built(api_ctx *c, channel *ch, message *m, int64_t thread_ts)
{
	message parent;
	message_init(&parent);
	int rc;
	if ((rc = can_post(c, ch)))
		goto out;
	if (m->text && (rc = check_length(c, m->text)))
		goto out;
	if (thread_ts) {
		if ((rc = thread_root(c, ch, thread_ts, &parent)))
			goto out;
		thread_ts = parent.ts;
	}
	set_author(c, ch, m);
	m->thread_ts = thread_ts;
	m->ts = api_post(c, ch, m);
	if (thread_ts) {
		summary_add_reply(&parent, m);
		emit_replied(c, ch, &parent, m);
	}
out:
	message_release(&parent);
	return rc;
}
