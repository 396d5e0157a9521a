/* Domain actions several methods share: posting a message (user or
 * system) and joining/leaving a channel with its system message. Each
 * changes hot state and queues the same change in the request's job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "rt/bus.h"
#include "rt/rt.h"

/* snprintf(dst, n, "%s", src) without the format walk (~600 instructions
 * each; a post copies several ids). Truncates the same way. */
static void copy_id(char *dst, size_t n, const char *src)
{
	size_t len = src ? strnlen(src, n - 1) : 0;
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
}

/* @here reaches the members online now: recorded with the message, so
 * their mention counts include it later (store_msg_mention_counts). */
static void record_here(api_ctx *c, const channel *ch, const message *m)
{
	void *v;
	for (size_t i = 0; map_next(&ch->members, &i, NULL, &v);) {
		const chan_member *mem = v;
		if (strcmp(mem->user_id, m->user_id) != 0 && rt_user_online(c->env->rt, mem->user_id))
			store_msg_mention_add(api_job(c), ch->id, m->ts, MENTION_HERE, mem->user_id);
	}
}

static void add_event_fields(json_t *e, const channel *ch, const message *m)
{
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "channel_type", json_string(api_channel_type(ch)));
	json_object_set_new(e, "event_ts", api_ts_json(m->ts));
}

int64_t api_post(api_ctx *c, channel *ch, message *m)
{
	return api_post_rendered(c, ch, m, NULL);
}

/* The answer's "message" and the real-time event are the same fields:
 * rendered once, the event is a shallow copy (values shared, never
 * modified after) with channel, channel_type and event_ts added. */
int64_t api_post_rendered(api_ctx *c, channel *ch, message *m, json_t **rendered)
{
	copy_id(m->channel_id, sizeof m->channel_id, ch->id);
	copy_id(m->org_id, sizeof m->org_id, ch->org_id);
	m->ts = core_ts_next(c->env->state, c->now_us);
	store_msg_insert(api_job(c), m);
	/* System messages (channel_join ...) name people but notify nobody;
	 * only what someone wrote can mention. */
	bool written = !m->subtype || !strcmp(m->subtype, "thread_broadcast") ||
		       !strcmp(m->subtype, "me_message") || !strcmp(m->subtype, "bot_message");
	char *mentions = written ? api_mentions_csv(m->text) : NULL;
	if (mentions && c->env->rt && strstr(mentions, "here"))
		record_here(c, ch, m);
	json_t *msg = rendered || c->env->bus ? api_render_message(c, m) : NULL;
	if (c->env->bus) {
		json_t *e = rendered ? json_copy(msg) : json_incref(msg);
		add_event_fields(e, ch, m);
		api_emit(c, BUS_CHANNEL, ch->id, e, mentions);
	}
	free(mentions);
	if (rendered)
		*rendered = msg;
	else
		json_decref(msg);
	/* The poster has read everything up to their own message. */
	chan_member *mem = m->user_id[0] ? core_member_get(ch, m->user_id) : NULL;
	if (mem && !m->subtype) {
		mem->last_read = m->ts;
		store_put_member(api_job(c), ch->id, mem);
	}
	return m->ts;
}

void api_member_join(api_ctx *c, channel *ch, user *u, const user *inviter, bool post)
{
	chan_member *mem = core_member_add(ch, u->id, c->now_us / 1000000);
	store_put_member(api_job(c), ch->id, mem);
	if (!post || ch->kind == CHAN_IM)
		return;
	message m;
	message_init(&m);
	m.subtype = xstrdup(ch->kind == CHAN_MPIM ? "group_join" : "channel_join");
	snprintf(m.user_id, sizeof m.user_id, "%s", u->id);
	if (inviter && strcmp(inviter->id, u->id) != 0) {
		m.text = xasprintf("<@%s> has joined the channel", u->id);
		json_t *x = json_pack("{s:s}", "inviter", inviter->id);
		m.extra = json_dumps(x, JSON_COMPACT);
		json_decref(x);
	} else {
		m.text = xasprintf("<@%s> has joined the channel", u->id);
	}
	api_post(c, ch, &m);
	message_release(&m);
}

void api_member_leave(api_ctx *c, channel *ch, user *u, bool post)
{
	if (post && ch->kind != CHAN_IM) {
		message m;
		message_init(&m);
		m.subtype = xstrdup("channel_leave");
		snprintf(m.user_id, sizeof m.user_id, "%s", u->id);
		m.text = xasprintf("<@%s> has left the channel", u->id);
		api_post(c, ch, &m);
		message_release(&m);
	}
	core_member_remove(ch, u->id);
	store_del_member(api_job(c), ch->id, u->id);
}

json_t *api_render_channel_as(api_ctx *c, const channel *ch, user *u)
{
	user *me = c->me;
	c->me = u;
	json_t *o = api_render_channel(c, ch);
	c->me = me;
	return o;
}

void api_emit_dm_created(api_ctx *c, const channel *ch)
{
	void *v;
	for (size_t i = 0; map_next(&ch->members, &i, NULL, &v);) {
		const chan_member *mem = v;
		user *u = core_user_get(c->env->state, mem->user_id);
		if (!u)
			continue;
		json_t *e = json_object();
		if (ch->kind == CHAN_IM) {
			/* The other participant, as this one sees the DM. */
			const char *other = strcmp(ch->im_user, u->id) == 0 ? ch->creator : ch->im_user;
			json_object_set_new(e, "type", json_string("im_created"));
			json_object_set_new(e, "user", json_string(other));
		} else {
			json_object_set_new(e, "type", json_string("mpim_joined"));
		}
		json_object_set_new(e, "channel", api_render_channel_as(c, ch, u));
		api_emit(c, BUS_USER, u->id, e, NULL);
	}
}

channel *api_im_open(api_ctx *c, user *u)
{
	core_state *s = c->env->state;
	channel *ch = core_im_get(s, c->org->id, c->me->id, u->id);
	if (ch)
		return ch;
	char id[ID_MAX];
	ids_new(id, "D");
	ch = core_channel_new(id, c->org->id, CHAN_IM);
	ch->name = xstrdup("");
	snprintf(ch->creator, sizeof ch->creator, "%s", c->me->id);
	snprintf(ch->im_user, sizeof ch->im_user, "%s", u->id);
	ch->created = c->now_us / 1000000;
	ch->updated = c->now_us / 1000;
	core_channel_add(s, ch);
	store_put_channel(api_job(c), ch);
	store_put_member(api_job(c), ch->id, core_member_add(ch, c->me->id, ch->created));
	if (u != c->me)
		store_put_member(api_job(c), ch->id, core_member_add(ch, u->id, ch->created));
	api_emit_dm_created(c, ch);
	return ch;
}

void api_emit(api_ctx *c, int scope, const char *id, json_t *event, const char *mentions)
{
	if (!c->env->bus || !event) {
		json_decref(event);
		return;
	}
	/* Every event carries event_ts; a fresh ts, unique like a message's. */
	if (!json_object_get(event, "event_ts"))
		json_object_set_new(event, "event_ts",
				    api_ts_json(core_ts_next(c->env->state, c->now_us)));
	if (!c->events)
		c->events = json_array();
	/* Built by hand, not json_pack: its format walk was ~5k instructions
	 * per chat.postMessage (bench/README.md). */
	json_t *e = json_object();
	json_object_set_new_nocheck(e, "scope", json_integer(scope));
	json_object_set_new_nocheck(e, "org", json_string(c->org ? c->org->id : ""));
	json_object_set_new_nocheck(e, "id", json_string(id ? id : ""));
	json_object_set_new_nocheck(e, "event", event);
	if (mentions && *mentions)
		json_object_set_new(e, "mentions", json_string(mentions));
	json_array_append_new(c->events, e);
}

const char *api_channel_type(const channel *ch)
{
	static const char *const t[] = {"channel", "group", "im", "mpim"};
	return t[ch->kind];
}

json_t *api_message_event(api_ctx *c, const channel *ch, const message *m)
{
	json_t *e = api_render_message(c, m);
	add_event_fields(e, ch, m);
	return e;
}

char *api_mentions_csv(const char *text)
{
	mention *ms = NULL;
	size_t n = text ? mention_parse(text, &ms) : 0;
	if (!n) {
		free(ms);
		return NULL;
	}
	static const char *const kinds[] = {"", "here", "channel", "everyone", "subteam^"};
	buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(&b, ',');
		buf_adds(&b, kinds[ms[i].kind]);
		if (ms[i].kind == MENTION_USER || ms[i].kind == MENTION_SUBTEAM)
			buf_adds(&b, ms[i].id);
	}
	free(ms);
	return buf_detach(&b, NULL);
}
