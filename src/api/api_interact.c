/* The person's side of interactivity, and dispatching payloads to apps.
 *
 * blocks.action and shortcuts.run are Canal's own methods, named in
 * Slack's style (Slack's client uses private ones): the browser client and
 * tests call them with a user token, and the app receives exactly what
 * Slack would send it (slack-api.md §10.2) — one dispatcher for people and
 * tests alike. Shapes are in api_interact.h.
 *
 * blocks.action checks that the message (or view) exists and the caller
 * sees it, that its blocks hold an element with that action_id, and that
 * it belongs to an app (the message's app_id / the view's app). A button's
 * value comes from the element itself, never from the caller; a select's
 * choice must be one of its options.
 *
 * shortcuts.run finds the app of the org whose manifest declares the
 * callback_id (features.shortcuts[], type global or message); message
 * shortcuts name a message the caller can see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_interact.h"
#include "api/api_pending.h"
#include "api/handlers.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "rt/apps.h"

/* ---- payload pieces ---- */

json_t *api_interact_user(const user *u)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "id", u->id, "username", u->name ? u->name : "", "name",
			 u->name ? u->name : "", "team_id", u->org_id);
}

json_t *api_interact_team(const org *o)
{
	return json_pack("{s:s,s:s}", "id", o->id, "domain", o->domain ? o->domain : "");
}

void api_interact_trigger(api_ctx *c, const app *a, const char *user_id, const char *view_id,
			  char *out)
{
	api_pending_trigger_new(out, c->now_us, a->org_id, a->id, user_id, view_id);
}

json_t *api_interact_channel_ref(const channel *ch)
{
	const char *name = ch->kind == CHAN_IM ? "directmessage" : ch->name ? ch->name : "";
	return json_pack("{s:s,s:s}", "id", ch->id, "name", name);
}

/* ---- dispatch ---- */

typedef struct ack_wait {
	api_ctx *c;
	api_ack_fn fn;
	void *ud;
} ack_wait;

static void ack_cb(void *ud, int err, json_t *response)
{
	ack_wait *w = ud;
	api_ctx *c = w->c;
	c->now_us = clock_now_us();
	/* A slow app is a timeout; anything else means it could not be reached. */
	if (err && err != ERR_OPERATION_TIMEOUT)
		err = ERR_DISPATCH_FAILED;
	int rc = w->fn(c, err, err ? NULL : response, w->ud);
	free(w);
	api_resume(c, rc);
}

int api_interact_dispatch(api_ctx *c, const app *a, const char *type, json_t *payload,
			  const char *http_url, api_ack_fn fn, void *ud)
{
	if (!c->env->apps) {
		json_decref(payload);
		return fn(c, ERR_DISPATCH_FAILED, NULL, ud);
	}
	ack_wait *w = xcalloc(1, sizeof *w);
	w->c = c;
	w->fn = fn;
	w->ud = ud;
	api_defer(c);
	apps_dispatch(c->env->apps, a, type, payload, http_url, ack_cb, w);
	return 0;
}

static void ignore_ack_cb(void *ud, int err, json_t *response)
{
}

void api_interact_notify(api_ctx *c, const app *a, json_t *payload)
{
	if (!c->env->apps) {
		json_decref(payload);
		return;
	}
	apps_dispatch(c->env->apps, a, "interactive", payload, a->interactivity_url, ignore_ack_cb,
		      NULL);
}

/* ---- finding a component ---- */

static bool element_matches(json_t *el, const char *action_id)
{
	const char *aid = json_string_value(json_object_get(el, "action_id"));
	return json_is_object(el) && aid && strcmp(aid, action_id) == 0;
}

json_t *api_interact_find_element(json_t *blocks, const char *block_id, const char *action_id,
				  char *bid)
{
	size_t i;
	json_t *b;
	json_array_foreach(blocks, i, b) {
		const char *id = json_string_value(json_object_get(b, "block_id"));
		if (block_id && *block_id && id && strcmp(id, block_id) != 0)
			continue;
		json_t *found = NULL;
		json_t *els = json_object_get(b, "elements");
		size_t j;
		json_t *el;
		json_array_foreach(els, j, el) {
			if (element_matches(el, action_id)) {
				found = el;
				break;
			}
		}
		if (!found && element_matches(json_object_get(b, "accessory"), action_id))
			found = json_object_get(b, "accessory");
		if (!found && element_matches(json_object_get(b, "element"), action_id))
			found = json_object_get(b, "element");
		if (!found)
			continue;
		/* Slack gives every block an id; one posted without gets a
		 * stable one from its position. */
		if (id)
			snprintf(bid, ID_MAX + 8, "%s", id);
		else
			snprintf(bid, ID_MAX + 8, "b%zu", i);
		if (block_id && *block_id && !id && strcmp(bid, block_id) != 0)
			continue;
		return found;
	}
	return NULL;
}

/* Is opt (an option object) one of el's options (by value)? Elements
 * whose options come from elsewhere (external_select) accept any. */
static bool option_allowed(json_t *el, json_t *opt)
{
	const char *val = json_string_value(json_object_get(opt, "value"));
	json_t *opts = json_object_get(el, "options");
	json_t *groups = json_object_get(el, "option_groups");
	if (!opts && !groups)
		return true;
	if (!val)
		return false;
	size_t i, j;
	json_t *o, *g;
	json_array_foreach(opts, i, o) {
		const char *v = json_string_value(json_object_get(o, "value"));
		if (v && !strcmp(v, val))
			return true;
	}
	json_array_foreach(groups, i, g) {
		json_array_foreach(json_object_get(g, "options"), j, o) {
			const char *v = json_string_value(json_object_get(o, "value"));
			if (v && !strcmp(v, val))
				return true;
		}
	}
	return false;
}

int api_interact_bad_arg(api_ctx *c, const char *msg)
{
	if (!c->err_extra)
		c->err_extra = json_object();
	char *line = xasprintf("[ERROR] %s", msg);
	json_object_set_new(c->err_extra, "response_metadata", json_pack("{s:[s]}", "messages", line));
	free(line);
	return ERR_INVALID_ARGUMENTS;
}

/* The action object for element el in block bid, from the caller's
 * choice. NULL (error set in *rc) when the choice is not allowed. */
static json_t *build_action(api_ctx *c, json_t *el, const char *bid, int *rc)
{
	const char *type = json_string_value(json_object_get(el, "type"));
	json_t *a = json_pack("{s:s,s:s,s:s,s:o}", "type", type ? type : "button", "action_id",
			      json_string_value(json_object_get(el, "action_id")), "block_id", bid,
			      "action_ts", api_ts_json(core_ts_next(c->env->state, c->now_us)));
	*rc = 0;
	if (type && !strcmp(type, "button")) {
		/* The value is the element's, whatever the caller says. */
		json_t *v = json_object_get(el, "value");
		if (json_is_string(v))
			json_object_set(a, "value", v);
		if (json_object_get(el, "text"))
			json_object_set(a, "text", json_object_get(el, "text"));
		if (json_object_get(el, "style"))
			json_object_set(a, "style", json_object_get(el, "style"));
		return a;
	}
	static const char *const plain[] = {"value", "selected_user", "selected_channel",
					    "selected_conversation", "selected_date", "selected_time",
					    "selected_date_time"};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		const char *v = api_str(c, plain[i]);
		if (v)
			json_object_set_new(a, plain[i], json_string(v));
	}
	static const char *const lists[] = {"selected_users", "selected_channels",
					    "selected_conversations"};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		int err = 0;
		json_t *v = api_json_arg(c, lists[i], ERR_INVALID_ARGUMENTS, &err);
		if (err || (v && !json_is_array(v))) {
			json_decref(v);
			json_decref(a);
			*rc = api_interact_bad_arg(c, "a selected list must be a JSON array");
			return NULL;
		}
		if (v)
			json_object_set_new(a, lists[i], v);
	}
	int err = 0;
	json_t *opt = api_json_arg(c, "selected_option", ERR_INVALID_ARGUMENTS, &err);
	if (err || (opt && !json_is_object(opt)) || (opt && !option_allowed(el, opt))) {
		json_decref(opt);
		json_decref(a);
		*rc = api_interact_bad_arg(c, "selected_option is not one of the element's options");
		return NULL;
	}
	if (opt)
		json_object_set_new(a, "selected_option", opt);
	json_t *opts = api_json_arg(c, "selected_options", ERR_INVALID_ARGUMENTS, &err);
	if (opts) {
		size_t i;
		json_t *o;
		bool ok = !err && json_is_array(opts);
		json_array_foreach(opts, i, o) ok = ok && json_is_object(o) && option_allowed(el, o);
		if (!ok) {
			json_decref(opts);
			json_decref(a);
			*rc = api_interact_bad_arg(c, "selected_options are not among the element's options");
			return NULL;
		}
		json_object_set_new(a, "selected_options", opts);
	}
	if (json_object_get(el, "placeholder"))
		json_object_set(a, "placeholder", json_object_get(el, "placeholder"));
	return a;
}

/* state.values from the caller ("state": {"values":{...}} or the values
 * object itself), {} when absent. */
static json_t *state_arg(api_ctx *c, int *rc)
{
	int err = 0;
	json_t *s = api_json_arg(c, "state", ERR_INVALID_ARGUMENTS, &err);
	*rc = 0;
	if (err || (s && !json_is_object(s))) {
		json_decref(s);
		*rc = api_interact_bad_arg(c, "state must be a JSON object");
		return NULL;
	}
	if (!s)
		return json_pack("{s:{}}", "values");
	if (json_is_object(json_object_get(s, "values")))
		return s;
	return json_pack("{s:o}", "values", s);
}

static int action_acked(api_ctx *c, int err, json_t *response, void *ud)
{
	return err;
}

/* blocks.action on a view's component (a modal's or an App Home's). */
static int action_in_view(api_ctx *c, const char *view_id, const char *block_id,
			  const char *action_id)
{
	pend_view *v = api_pending_view_get(view_id, c->now_us);
	if (!v || strcmp(v->user_id, c->me->id) != 0)
		return ERR_NOT_FOUND;
	app *a = core_app_get(c->env->state, v->app_id);
	if (!a || a->deleted)
		return ERR_NOT_FOUND;
	char bid[ID_MAX + 8];
	json_t *el = api_interact_find_element(json_object_get(v->view, "blocks"), block_id, action_id, bid);
	if (!el)
		return api_interact_bad_arg(c, "no element with that action_id in the view");
	int rc;
	json_t *action = build_action(c, el, bid, &rc);
	if (!action)
		return rc;
	json_t *state = state_arg(c, &rc);
	if (!state) {
		json_decref(action);
		return rc;
	}
	json_t *view = json_deep_copy(v->view);
	json_object_set_new(view, "state", state);
	char trigger[PEND_ID_MAX];
	api_interact_trigger(c, a, c->me->id, v->id, trigger);
	json_t *p = json_pack("{s:s,s:o,s:s,s:s,s:{s:s,s:s},s:s,s:o,s:o,s:[o],s:n,s:b}",
			      "type", "block_actions", "user", api_interact_user(c->me), "api_app_id",
			      a->id, "token", a->verification_token ? a->verification_token : "",
			      "container", "type", "view", "view_id", v->id, "trigger_id", trigger,
			      "team", api_interact_team(c->org), "view", view, "actions", action,
			      "enterprise", "is_enterprise_install", 0);
	json_object_set(p, "state", json_object_get(view, "state"));
	return api_interact_dispatch(c, a, "interactive", p, a->interactivity_url, action_acked, NULL);
}

int api_interact_message(api_ctx *c, const channel *ch, int64_t ts, json_t **msg,
			 bool *ephemeral)
{
	*msg = NULL;
	*ephemeral = false;
	/* One of the caller's ephemeral ones, else a stored one. */
	pend_ephemeral *pe = api_pending_ephemeral_get(c->me->id, ts, c->now_us);
	if (pe && strcmp(pe->channel_id, ch->id) == 0) {
		*msg = json_deep_copy(pe->message);
		*ephemeral = true;
		return 0;
	}
	message m;
	message_init(&m);
	int rc = store_msg_get(c->env->store, ch->id, ts, &m);
	if (!rc && m.hidden)
		rc = ERR_MESSAGE_NOT_FOUND;
	if (!rc)
		*msg = api_render_message(c, &m);
	message_release(&m);
	return rc;
}

int api_blocks_action(api_ctx *c)
{
	const char *action_id, *block_id = api_str(c, "block_id");
	int rc;
	if ((rc = api_str_req(c, "action_id", &action_id)))
		return rc;
	const char *view_id = api_str(c, "view_id");
	if (view_id && *view_id)
		return action_in_view(c, view_id, block_id, action_id);

	channel *ch;
	int64_t ts = 0;
	const char *ts_s;
	if ((rc = api_channel(c, "channel", false, &ch)) || (rc = api_str_req(c, "message_ts", &ts_s)))
		return rc;
	if ((rc = api_ts(c, "message_ts", ERR_MESSAGE_NOT_FOUND, &ts)))
		return rc;

	json_t *msg = NULL;
	bool ephemeral = false;
	if ((rc = api_interact_message(c, ch, ts, &msg, &ephemeral)))
		return rc;
	const char *app_id = json_string_value(json_object_get(msg, "app_id"));
	app *a = app_id ? core_app_get(c->env->state, app_id) : NULL;
	if (!a || a->deleted || strcmp(a->org_id, c->org->id) != 0) {
		json_decref(msg);
		return api_interact_bad_arg(c, "the message belongs to no app");
	}
	char bid[ID_MAX + 8];
	json_t *el = api_interact_find_element(json_object_get(msg, "blocks"), block_id, action_id, bid);
	if (!el) {
		json_decref(msg);
		return api_interact_bad_arg(c, "no element with that action_id in the message");
	}
	json_t *action = build_action(c, el, bid, &rc);
	json_t *state = action ? state_arg(c, &rc) : NULL;
	if (!action || !state) {
		json_decref(action);
		json_decref(msg);
		return rc;
	}

	pend_response *r = api_pending_response_new(c->now_us, c->org->id, a->id, c->me->id, ch->id, ts,
						     ephemeral);
	char *url = xasprintf("%s/respond/%s", c->env->base_url ? c->env->base_url : "", r->id);
	char trigger[PEND_ID_MAX];
	api_interact_trigger(c, a, c->me->id, NULL, trigger);
	json_t *p = json_pack(
		"{s:s,s:o,s:s,s:s,s:{s:s,s:o,s:s,s:b},s:s,s:o,s:o,s:o,s:s,s:o,s:[o],s:n,s:b}",
		"type", "block_actions", "user", api_interact_user(c->me), "api_app_id", a->id, "token",
		a->verification_token ? a->verification_token : "", "container", "type", "message",
		"message_ts", api_ts_json(ts), "channel_id", ch->id, "is_ephemeral", ephemeral,
		"trigger_id", trigger, "team", api_interact_team(c->org), "channel", api_interact_channel_ref(ch),
		"message", msg, "response_url", url, "state", state, "actions", action, "enterprise",
		"is_enterprise_install", 0);
	free(url);
	return api_interact_dispatch(c, a, "interactive", p, a->interactivity_url, action_acked, NULL);
}

/* ---- shortcuts ---- */

/* Does a's manifest declare a shortcut callback_id of type (NULL: any)?
 * *type_out gets the declared type. */
static bool declares_shortcut(const app *a, const char *callback_id, const char *type,
			      char *type_out, size_t n)
{
	if (!a->manifest || !*a->manifest)
		return false;
	json_t *m = json_loads(a->manifest, 0, NULL);
	json_t *list = json_object_get(json_object_get(m, "features"), "shortcuts");
	bool found = false;
	size_t i;
	json_t *s;
	json_array_foreach(list, i, s) {
		const char *cb = json_string_value(json_object_get(s, "callback_id"));
		const char *t = json_string_value(json_object_get(s, "type"));
		if (cb && !strcmp(cb, callback_id) && t && (!type || !strcmp(type, t))) {
			snprintf(type_out, n, "%s", t);
			found = true;
			break;
		}
	}
	json_decref(m);
	return found;
}

int api_shortcuts_run(api_ctx *c)
{
	const char *callback_id;
	int rc;
	if ((rc = api_str_req(c, "callback_id", &callback_id)))
		return rc;
	const char *type = api_str(c, "type");
	const char *msg_ts = api_str(c, "message_ts");
	if (type && !*type)
		type = NULL;
	if (!type && msg_ts && *msg_ts)
		type = "message";
	if (type && strcmp(type, "global") && strcmp(type, "message"))
		return api_interact_bad_arg(c, "type must be global or message");
	const char *want_app = api_str(c, "app_id");

	/* The org's app declaring it (app_id picks one when several do). */
	app *a = NULL;
	char decl[16] = "";
	size_t it = 0;
	void *v;
	while (map_next(&c->env->state->apps, &it, NULL, &v)) {
		app *x = v;
		if (x->deleted || strcmp(x->org_id, c->org->id) != 0)
			continue;
		if (want_app && *want_app && strcmp(x->id, want_app) != 0)
			continue;
		if (declares_shortcut(x, callback_id, type, decl, sizeof decl)) {
			a = x;
			break;
		}
	}
	if (!a)
		return ERR_NOT_FOUND;

	char trigger[PEND_ID_MAX];
	json_t *p;
	if (!strcmp(decl, "global")) {
		api_interact_trigger(c, a, c->me->id, NULL, trigger);
		p = json_pack("{s:s,s:s,s:o,s:o,s:o,s:b,s:n,s:s,s:s}", "type", "shortcut", "token",
			      a->verification_token ? a->verification_token : "", "action_ts",
			      api_ts_json(core_ts_next(c->env->state, c->now_us)), "team",
			      api_interact_team(c->org), "user", api_interact_user(c->me),
			      "is_enterprise_install", 0, "enterprise", "callback_id", callback_id,
			      "trigger_id", trigger);
	} else {
		channel *ch;
		int64_t ts;
		const char *ts_s;
		if ((rc = api_channel(c, "channel", false, &ch)) || (rc = api_str_req(c, "message_ts", &ts_s)) ||
		    (rc = api_ts(c, "message_ts", ERR_MESSAGE_NOT_FOUND, &ts)))
			return rc;
		message m;
		message_init(&m);
		rc = store_msg_get(c->env->store, ch->id, ts, &m);
		if (!rc && m.hidden)
			rc = ERR_MESSAGE_NOT_FOUND;
		json_t *msg = rc ? NULL : api_render_message(c, &m);
		message_release(&m);
		if (rc)
			return rc;
		/* Its response_url answers in the conversation; the message
		 * itself is not the app's to replace. */
		pend_response *r = api_pending_response_new(c->now_us, c->org->id, a->id, c->me->id,
							     ch->id, 0, false);
		char *url = xasprintf("%s/respond/%s", c->env->base_url ? c->env->base_url : "", r->id);
		api_interact_trigger(c, a, c->me->id, NULL, trigger);
		p = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:n,s:s,s:s,s:s,s:o,s:o}", "type",
			      "message_action", "token", a->verification_token ? a->verification_token : "",
			      "action_ts", api_ts_json(core_ts_next(c->env->state, c->now_us)), "team",
			      api_interact_team(c->org), "user", api_interact_user(c->me), "channel",
			      api_interact_channel_ref(ch), "is_enterprise_install", 0, "enterprise", "callback_id",
			      callback_id, "trigger_id", trigger, "response_url", url, "message_ts",
			      api_ts_json(ts), "message", msg);
		free(url);
	}
	return api_interact_dispatch(c, a, "interactive", p, a->interactivity_url, action_acked, NULL);
}
