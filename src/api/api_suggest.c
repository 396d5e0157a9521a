/* blocks.suggest: options loading for external_select and
 * multi_external_select menus (Slack's block_suggestion).
 *
 * As the person types into such a menu, Slack's client asks the app for
 * options: the app gets a block_suggestion payload (a Socket Mode
 * "interactive" envelope accepting a response, or an HTTP POST
 * payload=<json> to the manifest's settings.interactivity.
 * message_menu_options_url, else its interactivity request URL) and
 * answers {"options":[...]} or {"option_groups":[...]} in its ack; Bolt's
 * app.options() does exactly that. This method is that request, made
 * with a user token (the browser client and tests), answering the app's
 * options:
 *
 *   blocks.suggest  channel + message_ts (a message's menu) or view_id (a
 *                   modal's / App Home's), action_id, block_id?, value
 *                   -> {"ok":true,"options":[...]} | {"ok":true,
 *                      "option_groups":[...]}
 *
 * Like Slack, nothing is asked while value is shorter than the element's
 * min_query_length (default 3): options [] without a dispatch. What the
 * app answers is checked as Slack's client does: at most 100 options (or
 * groups of at most 100), each with a text object and a string value
 * (groups: a label); anything else shows no options (options [] and the
 * warning "invalid_options_response"), as the menu would stay empty. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_interact.h"
#include "api/api_pending.h"
#include "api/handlers.h"
#include "base/xalloc.h"
#include "rt/apps.h"

#define SUGGEST_MAX_OPTIONS 100
#define SUGGEST_MIN_QUERY 3
#define SUGGEST_MAX_VALUE 2000

static bool is_external(json_t *el)
{
	const char *t = json_string_value(json_object_get(el, "type"));
	return t && (!strcmp(t, "external_select") || !strcmp(t, "multi_external_select"));
}

static bool option_ok(json_t *o)
{
	json_t *text = json_object_get(o, "text");
	return json_is_object(o) && json_is_string(json_object_get(o, "value")) &&
	       (json_is_object(text) ? json_is_string(json_object_get(text, "text"))
				     : json_is_string(text));
}

static bool options_ok(json_t *opts)
{
	if (!json_is_array(opts) || json_array_size(opts) > SUGGEST_MAX_OPTIONS)
		return false;
	size_t i;
	json_t *o;
	json_array_foreach(opts, i, o) if (!option_ok(o)) return false;
	return true;
}

static bool groups_ok(json_t *groups)
{
	if (!json_is_array(groups) || json_array_size(groups) > SUGGEST_MAX_OPTIONS)
		return false;
	size_t i;
	json_t *g;
	json_array_foreach(groups, i, g) {
		json_t *label = json_object_get(g, "label");
		if (!json_is_object(g) || !(json_is_object(label) || json_is_string(label)) ||
		    !options_ok(json_object_get(g, "options")))
			return false;
	}
	return true;
}

static int suggest_acked(api_ctx *c, int err, json_t *response, void *ud)
{
	if (err)
		return err;
	json_t *opts = json_object_get(response, "options");
	json_t *groups = json_object_get(response, "option_groups");
	if (groups && groups_ok(groups)) {
		json_object_set(c->out, "option_groups", groups);
		return 0;
	}
	if (opts && !groups && options_ok(opts)) {
		json_object_set(c->out, "options", opts);
		return 0;
	}
	json_object_set_new(c->out, "options", json_array());
	api_warn(c, "invalid_options_response");
	return 0;
}

/* Where an HTTP-mode app loads options: the manifest's
 * message_menu_options_url, else its interactivity URL. */
static const char *options_url(const app *a, json_t **keep)
{
	*keep = NULL;
	if (a->manifest) {
		json_error_t je;
		*keep = json_loads(a->manifest, 0, &je);
		const char *u = json_string_value(json_object_get(
			json_object_get(json_object_get(*keep, "settings"), "interactivity"),
			"message_menu_options_url"));
		if (u && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8)))
			return u;
	}
	return a->interactivity_url;
}

static int dispatch(api_ctx *c, const app *a, json_t *p)
{
	json_t *keep;
	const char *url = options_url(a, &keep);
	int rc = api_interact_dispatch(c, a, "interactive", p, url, suggest_acked, NULL);
	json_decref(keep);
	return rc;
}

/* Checks the element and the query; 1 when the app is to be asked. */
static int element_check(api_ctx *c, json_t *el, const char *value, int *rc)
{
	*rc = 0;
	if (!el) {
		*rc = api_interact_bad_arg(c, "no element with that action_id");
		return 0;
	}
	if (!is_external(el)) {
		*rc = api_interact_bad_arg(c, "the element does not load external options");
		return 0;
	}
	json_t *mq = json_object_get(el, "min_query_length");
	long min = json_is_integer(mq) ? (long)json_integer_value(mq) : SUGGEST_MIN_QUERY;
	if ((long)strlen(value) < min) {
		json_object_set_new(c->out, "options", json_array());
		return 0;
	}
	return 1;
}

int api_blocks_suggest(api_ctx *c)
{
	const char *action_id, *block_id = api_str(c, "block_id");
	int rc;
	if ((rc = api_str_req(c, "action_id", &action_id)))
		return rc;
	const char *value = api_str(c, "value");
	if (!value)
		value = "";
	if (strlen(value) > SUGGEST_MAX_VALUE)
		return api_interact_bad_arg(c, "value is too long");
	char bid[ID_MAX + 8];
	const char *view_id = api_str(c, "view_id");
	if (view_id && *view_id) {
		pend_view *v = api_pending_view_get(view_id, c->now_us);
		if (!v || strcmp(v->user_id, c->me->id) != 0)
			return ERR_NOT_FOUND;
		app *a = core_app_get(c->env->state, v->app_id);
		if (!a || a->deleted)
			return ERR_NOT_FOUND;
		json_t *el = api_interact_find_element(json_object_get(v->view, "blocks"), block_id,
						       action_id, bid);
		if (!element_check(c, el, value, &rc))
			return rc;
		json_t *p = json_pack("{s:s,s:o,s:s,s:s,s:{s:s,s:s},s:s,s:s,s:s,s:o,s:O,s:n,s:b}",
				      "type", "block_suggestion", "user", api_interact_user(c->me),
				      "api_app_id", a->id, "token",
				      a->verification_token ? a->verification_token : "", "container",
				      "type", "view", "view_id", v->id, "action_id", action_id,
				      "block_id", bid, "value", value, "team",
				      api_interact_team(c->org), "view", v->view, "enterprise",
				      "is_enterprise_install", 0);
		return dispatch(c, a, p);
	}

	channel *ch;
	int64_t ts = 0;
	const char *ts_s;
	if ((rc = api_channel(c, "channel", false, &ch)) || (rc = api_str_req(c, "message_ts", &ts_s)))
		return rc;
	if ((rc = api_ts(c, "message_ts", ERR_MESSAGE_NOT_FOUND, &ts)))
		return rc;
	json_t *msg;
	bool ephemeral;
	if ((rc = api_interact_message(c, ch, ts, &msg, &ephemeral)))
		return rc;
	const char *app_id = json_string_value(json_object_get(msg, "app_id"));
	app *a = app_id ? core_app_get(c->env->state, app_id) : NULL;
	if (!a || a->deleted || strcmp(a->org_id, c->org->id) != 0) {
		json_decref(msg);
		return api_interact_bad_arg(c, "the message belongs to no app");
	}
	json_t *el = api_interact_find_element(json_object_get(msg, "blocks"), block_id, action_id,
					       bid);
	if (!element_check(c, el, value, &rc)) {
		json_decref(msg);
		return rc;
	}
	json_t *p = json_pack(
		"{s:s,s:o,s:s,s:s,s:{s:s,s:o,s:s,s:b},s:s,s:s,s:s,s:o,s:o,s:o,s:n,s:b}", "type",
		"block_suggestion", "user", api_interact_user(c->me), "api_app_id", a->id, "token",
		a->verification_token ? a->verification_token : "", "container", "type", "message",
		"message_ts", api_ts_json(ts), "channel_id", ch->id, "is_ephemeral", ephemeral,
		"action_id", action_id, "block_id", bid, "value", value, "team",
		api_interact_team(c->org), "channel", api_interact_channel_ref(ch), "message", msg,
		"enterprise", "is_enterprise_install", 0);
	return dispatch(c, a, p);
}
