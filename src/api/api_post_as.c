/* Calls on an app's behalf: an incoming webhook posts as its app's bot
 * through chat.postMessage itself, so a webhook message is checked,
 * stored and announced (real-time clients, subscribed apps) exactly like
 * one the bot posted with its token. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/map.h"
#include "base/xalloc.h"

/* Last bot token hash found per app id. Only a hint: every use checks it
 * against the state, and a miss falls back to a scan of the tokens. */
static map token_hint;
static bool token_hint_ready;

static bool is_live_bot_token(const token *t, const app *a)
{
	return t && t->kind == TOKEN_BOT && !t->revoked && strcmp(t->app_id, a->id) == 0 &&
	       strcmp(t->org_id, a->org_id) == 0;
}

token *api_bot_token(core_state *s, const app *a)
{
	if (!token_hint_ready) {
		map_init(&token_hint);
		token_hint_ready = true;
	}
	const char *hint = map_get(&token_hint, a->id);
	token *t = hint ? core_token_get(s, hint) : NULL;
	if (is_live_bot_token(t, a))
		return t;
	t = NULL;
	size_t it = 0;
	void *v;
	while (map_next(&s->tokens, &it, NULL, &v)) {
		token *x = v;
		/* The newest live one, if an app was ever given several. */
		if (is_live_bot_token(x, a) && (!t || x->created > t->created))
			t = x;
	}
	if (t)
		free(map_put(&token_hint, a->id, xstrdup(t->hash)));
	return t;
}

void api_post_as_bot(api_env *env, const app *a, const char *channel_id, json_t *args,
		     api_answer_cb done, void *ud)
{
	token *t = a->deleted ? NULL : api_bot_token(env->state, a);
	if (!t) {
		done(ud, json_pack("{s:b,s:s}", "ok", 0, "error", err_name(ERR_ACCOUNT_INACTIVE)), 200);
		return;
	}
	json_t *call_args = json_is_object(args) ? json_copy(args) : json_object();
	json_object_set_new(call_args, "channel", json_string(channel_id));
	api_call_as(env, "chat.postMessage", call_args, t, done, ud);
	json_decref(call_args);
}
