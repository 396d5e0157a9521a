/* auth.test, auth.revoke and api.test: who am I, forget me, and echo.
 *
 * auth.test is the first call every official client makes: Bolt runs it in
 * its constructor and a failure there kills the process, and it takes
 * user_id (botUserId) and bot_id (botId) from it to recognise its own
 * messages. So a bot token must always get bot_id back. */
#include <stdlib.h>
#include <string.h>

#include "api/api_audit.h"
#include "api/handlers.h"
#include "base/xalloc.h"
#include "rt/rt.h"

static void set_str(json_t *o, const char *key, const char *val)
{
	json_object_set_new(o, key, json_string(val ? val : ""));
}

int api_auth_test(api_ctx *c)
{
	json_t *o = c->out;
	char *url = xasprintf("%s/", c->env->base_url ? c->env->base_url : "");

	set_str(o, "url", url);
	set_str(o, "team", c->org ? c->org->name : "");
	if (c->tok->kind == TOKEN_APP) {
		/* An app-level token acts as no user: Slack answers with the
		 * team and the app only. */
		set_str(o, "team_id", c->org ? c->org->id : c->tok->org_id);
		set_str(o, "app_id", c->tok->app_id);
		if (c->app)
			set_str(o, "app_name", c->app->name);
		goto out;
	}
	set_str(o, "user", c->me ? c->me->name : "");
	set_str(o, "team_id", c->org ? c->org->id : c->tok->org_id);
	set_str(o, "user_id", c->me ? c->me->id : c->tok->user_id);
	if (c->tok->kind == TOKEN_BOT) {
		/* bot_id is what Bolt's ignoreSelf compares message authors with. */
		const char *bot_id = c->app ? c->app->bot_id : (c->me ? c->me->bot_id : "");
		set_str(o, "bot_id", bot_id);
		set_str(o, "app_id", c->app ? c->app->id : c->tok->app_id);
		if (c->app)
			set_str(o, "app_name", c->app->name);
	}
	json_object_set_new(o, "is_enterprise_install", json_false());
out:
	free(url);
	return 0;
}

/* A revoked token keeps no live event stream: its sockets close (1008)
 * once the revocation is durable. */
static void drop_sessions_cb(api_ctx *c, void *ud)
{
	if (c->env->rt)
		rt_drop_token_sessions(c->env->rt, ud);
}

int api_auth_revoke(api_ctx *c)
{
	bool test;
	int e = api_bool(c, "test", false, &test);
	if (e)
		return e;
	/* test=true is a dry run: the token keeps working. */
	if (!test) {
		c->tok->revoked = true;
		store_put_token(api_job(c), c->tok);
		static const char *const kinds[] = {"user", "bot", "app", "session", "invite"};
		audit_entity en = {.user = c->me};
		api_audit(c, "user_token_revoked", &en,
			  json_pack("{s:s,s:s}", "token_type",
				    (unsigned)c->tok->kind < 5 ? kinds[c->tok->kind] : "unknown",
				    "via", "auth.revoke"));
		api_on_commit(c, drop_sessions_cb, c->tok);
	}
	json_object_set_new(c->out, "revoked", json_boolean(!test));
	return 0;
}

int api_api_test(api_ctx *c)
{
	json_t *args = json_object();
	const char *key;
	json_t *val;
	const char *error = NULL;
	int ret = 0;

	json_object_foreach(c->args, key, val) {
		/* Never echo a secret back. */
		if (strcmp(key, "token") == 0)
			continue;
		json_object_set(args, key, val);
	}
	error = api_str(c, "error");
	if (error && *error) {
		/* Slack answers {"ok":false,"error":<the given value>,"args":{...}}.
		 * The error answer is err_name(e) merged with err_extra, so the
		 * "error" set here replaces the generic name. */
		if (!c->err_extra)
			c->err_extra = json_object();
		json_object_set_new(c->err_extra, "error", json_string(error));
		json_object_set(c->err_extra, "args", args);
		ret = ERR_INVALID_ARGUMENTS;
		goto out;
	}
	/* With no arguments Slack's answer is a bare {"ok":true}. */
	if (json_object_size(args))
		json_object_set(c->out, "args", args);
out:
	json_decref(args);
	return ret;
}
