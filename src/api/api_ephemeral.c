/* Ephemeral messages: shown live to one person in a conversation and
 * never stored, so history never contains them (slack-api.md §9, §19.13).
 *
 * chat.postEphemeral (channel, user, text/blocks/attachments, thread_ts):
 * the caller must be able to post in the channel (chat:write for bots;
 * members, or chat:write.public in public channels), the recipient must be
 * a member (user_not_in_channel). Answer {"ok":true,"message_ts":ts}.
 *
 * Delivery is one real-time event to the recipient's sessions:
 *   {"type":"message","is_ephemeral":true,"channel","channel_type",
 *    "user":<author>,"bot_id"?,"app_id"?,"text","blocks"?,"attachments"?,
 *    "thread_ts"?,"ts","event_ts"}
 * and the message is remembered in memory for 30 minutes (api_pending) so
 * its buttons can be clicked (blocks.action) and a response_url can
 * replace or delete it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_interact.h"
#include "api/api_pending.h"
#include "api/handlers.h"
#include "base/xalloc.h"
#include "rt/bus.h"

int64_t api_ephemeral_send(api_ctx *c, const channel *ch, const char *user_id, const app *a,
			   const api_content *mc, int64_t replace_ts)
{
	message m;
	message_init(&m);
	snprintf(m.channel_id, sizeof m.channel_id, "%s", ch->id);
	snprintf(m.org_id, sizeof m.org_id, "%s", ch->org_id);
	if (a) {
		snprintf(m.user_id, sizeof m.user_id, "%s", a->bot_user_id);
		snprintf(m.bot_id, sizeof m.bot_id, "%s", a->bot_id);
		snprintf(m.app_id, sizeof m.app_id, "%s", a->id);
	} else {
		snprintf(m.user_id, sizeof m.user_id, "%s", c->me->id);
	}
	m.ts = replace_ts ? replace_ts : core_ts_next(c->env->state, c->now_us);
	m.thread_ts = mc->thread_ts;
	m.text = xstrdup(mc->text ? mc->text : "");
	m.blocks = xstrdup(mc->blocks);
	m.attachments = xstrdup(mc->attachments);
	json_t *msg = api_render_message(c, &m);
	json_object_set_new(msg, "is_ephemeral", json_true());
	json_t *e = json_deep_copy(msg);
	json_object_set_new(e, "channel", json_string(ch->id));
	json_object_set_new(e, "channel_type", json_string(api_channel_type(ch)));
	if (replace_ts) {
		json_object_set_new(e, "replace_original", json_true());
		json_object_set_new(e, "event_ts",
				    api_ts_json(core_ts_next(c->env->state, c->now_us)));
	} else {
		json_object_set_new(e, "event_ts", api_ts_json(m.ts));
	}
	api_emit(c, BUS_USER, user_id, e, NULL);
	api_pending_ephemeral_put(c->now_us, ch->org_id, ch->id, user_id, a ? a->id : NULL, m.ts, msg);
	int64_t ts = m.ts;
	message_release(&m);
	return ts;
}

void api_ephemeral_delete(api_ctx *c, const char *channel_id, const char *user_id, int64_t ts)
{
	pend_ephemeral *p = api_pending_ephemeral_get(user_id, ts, c->now_us);
	if (p)
		api_pending_ephemeral_drop(p);
	int64_t now = core_ts_next(c->env->state, c->now_us);
	json_t *e = json_pack("{s:s,s:s,s:b,s:b,s:s,s:o,s:o,s:o}", "type", "message", "subtype",
			      "message_deleted", "is_ephemeral", 1, "hidden", 1, "channel", channel_id,
			      "deleted_ts", api_ts_json(ts), "ts", api_ts_json(now), "event_ts",
			      api_ts_json(now));
	api_emit(c, BUS_USER, user_id, e, NULL);
}

/* Is scope one of the caller's (bots; people hold every scope)? */
static bool bot_has(api_ctx *c, const char *scope)
{
	return api_need_scope_quiet(c, scope);
}

int api_chat_post_ephemeral(api_ctx *c)
{
	channel *ch = NULL;
	user *to = NULL;
	api_content mc = {0};
	int rc;
	if ((rc = api_channel(c, "channel", false, &ch)) || (rc = api_user(c, "user", &to)))
		return rc;
	if (ch->archived)
		return ERR_IS_ARCHIVED;
	/* The caller posts here like chat.postMessage would let it. */
	if (!rules_is_member(c->me, ch)) {
		bool is_bot = c->tok && c->tok->kind == TOKEN_BOT;
		if (ch->kind != CHAN_PUBLIC)
			return ERR_CHANNEL_NOT_FOUND;
		if (!is_bot || !bot_has(c, "chat:write.public"))
			return ERR_NOT_IN_CHANNEL;
	}
	if (to->deleted || !rules_is_member(to, ch))
		return ERR_USER_NOT_IN_CHANNEL;
	if ((rc = api_content_parse(c, c->args, &mc)))
		return rc;
	const app *a = c->tok && c->tok->kind == TOKEN_BOT ? c->app : NULL;
	int64_t ts = api_ephemeral_send(c, ch, to->id, a, &mc, 0);
	api_content_release(&mc);
	json_object_set_new(c->out, "message_ts", api_ts_json(ts));
	return 0;
}
