/* Views: modals and App Home (slack-api.md §10.3-10.4).
 *
 * Apps (bot token):
 *   views.open     trigger_id (or interactivity_pointer), view
 *   views.push     trigger_id from an interaction inside a modal, view;
 *                  at most 3 views stacked (push_limit_reached)
 *   views.update   view_id or external_id, view, hash? (stale:
 *                  hash_conflict; unknown: not_found)
 *   views.publish  user_id, view of type "home", hash?
 * each answering {"ok":true,"view":{id, team_id, type, blocks,
 * private_metadata, callback_id, state:{values}, hash, title, close,
 * submit, clear_on_close, notify_on_close, root_view_id,
 * previous_view_id, app_id, external_id, app_installed_team_id, bot_id}}.
 * A trigger is the app's own, from an interaction at most 3 s old, used
 * once (invalid_trigger_id / expired_trigger_id / exchanged_trigger_id).
 * A view is checked as Slack does (invalid_arguments with a json-pointer
 * message): type modal or home, a plain_text title (modals, <= 24
 * characters), submit/close plain_text, at most 100 blocks each with a
 * type, input blocks with a label and an element, a submit button when
 * there are inputs; 250 KB at most (view_too_large); external_id unique per
 * app (duplicate_external_id). Blocks and elements without ids get
 * generated block_id / action_id, as on Slack.
 *
 * The person (user token; Canal's methods, see api_interact.h):
 *   views.submit   view_id, values -> view_submission to the app; its
 *                  response_action decides: errors (shown on the form),
 *                  update, push, clear (close all), none (close this one)
 *   views.close    view_id -> view_closed to the app if notify_on_close
 * Required inputs left empty are answered at once with
 * response_action "errors", like Slack's client does before submitting.
 *
 * The person's client learns of views through live events to them only:
 * view_opened, view_pushed, view_updated ({"view":...}), view_closed
 * ({"view_id","is_cleared"}) and view_published (App Home).
 *
 * Views live in memory only (api_pending.h): modals for a day at most,
 * App Home views per app and person until evicted; a restart loses them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_interact.h"
#include "api/api_pending.h"
#include "api/handlers.h"
#include "base/xalloc.h"
#include "rt/bus.h"

#define VIEW_MAX_BYTES (250 * 1000)
#define VIEW_MAX_BLOCKS 100
#define VIEW_TEXT_MAX 24          /* title, submit, close */
#define VIEW_CALLBACK_MAX 255
#define VIEW_METADATA_MAX 3000
#define VIEW_EXTERNAL_MAX 255

/* ---- checking ---- */

static int view_err(api_ctx *c, const char *why, const char *pointer)
{
	if (!c->err_extra)
		c->err_extra = json_object();
	char *line = xasprintf("[ERROR] %s [json-pointer:/view%s]", why, pointer);
	json_object_set_new(c->err_extra, "response_metadata", json_pack("{s:[s]}", "messages", line));
	free(line);
	return ERR_INVALID_ARGUMENTS;
}

static bool plain_text_ok(json_t *t, size_t max)
{
	const char *type = json_string_value(json_object_get(t, "type"));
	const char *text = json_string_value(json_object_get(t, "text"));
	return json_is_object(t) && type && !strcmp(type, "plain_text") && text && *text &&
	       rules_utf8_len(text) <= max;
}

static void set_random_id(json_t *o, const char *key)
{
	if (json_is_object(o) && !json_is_string(json_object_get(o, key))) {
		char *id = ids_secret_hex(3);
		json_object_set_new(o, key, json_string(id));
		free(id);
	}
}

/* Slack gives blocks and interactive elements ids when the app did not. */
static void assign_ids(json_t *blocks)
{
	size_t i, j;
	json_t *b, *el;
	json_array_foreach(blocks, i, b) {
		set_random_id(b, "block_id");
		json_array_foreach(json_object_get(b, "elements"), j, el) {
			const char *t = json_string_value(json_object_get(el, "type"));
			/* context blocks hold text and images, not components */
			if (t && strcmp(t, "mrkdwn") && strcmp(t, "plain_text") && strcmp(t, "image"))
				set_random_id(el, "action_id");
		}
		json_t *acc = json_object_get(b, "accessory");
		const char *at = json_string_value(json_object_get(acc, "type"));
		if (at && strcmp(at, "image"))
			set_random_id(acc, "action_id");
		set_random_id(json_object_get(b, "element"), "action_id");
	}
}

static int opt_string(api_ctx *c, json_t *v, const char *key, size_t max)
{
	json_t *s = json_object_get(v, key);
	if (!s || json_is_null(s))
		return 0;
	char ptr[64];
	snprintf(ptr, sizeof ptr, "/%s", key);
	if (!json_is_string(s))
		return view_err(c, "expected a string", ptr);
	if (strlen(json_string_value(s)) > max)
		return view_err(c, "must be less than the maximum length", ptr);
	return 0;
}

/* A view argument (JSON text or object) checked; want "modal", "home" or
 * NULL (either). *out: a new reference, with ids assigned. */
static int view_parse(api_ctx *c, json_t *arg, const char *want, json_t **out)
{
	*out = NULL;
	if (!arg || json_is_null(arg) || (json_is_string(arg) && !*json_string_value(arg)))
		return api_missing(c, "view");
	json_t *v;
	if (json_is_string(arg)) {
		const char *s = json_string_value(arg);
		if (strlen(s) > VIEW_MAX_BYTES)
			return ERR_VIEW_TOO_LARGE;
		v = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
		if (!v)
			return view_err(c, "failed to parse the view as JSON", "");
	} else {
		char *s = json_dumps(arg, JSON_COMPACT);
		size_t n = s ? strlen(s) : 0;
		free(s);
		if (n > VIEW_MAX_BYTES)
			return ERR_VIEW_TOO_LARGE;
		v = json_deep_copy(arg);
	}
	int rc = 0;
	const char *type = json_string_value(json_object_get(v, "type"));
	json_t *blocks = json_object_get(v, "blocks");
	bool modal = type && !strcmp(type, "modal");
	bool inputs = false;
	if (!json_is_object(v)) {
		rc = view_err(c, "expected an object", "");
		goto out;
	}
	if (!type || (strcmp(type, "modal") && strcmp(type, "home"))) {
		rc = view_err(c, "must be a valid enum value", "/type");
		goto out;
	}
	if (want && strcmp(type, want)) {
		rc = view_err(c, modal ? "a home view is required here" : "a modal view is required here",
			      "/type");
		goto out;
	}
	if (modal && !plain_text_ok(json_object_get(v, "title"), VIEW_TEXT_MAX)) {
		rc = view_err(c, "title must be plain_text of 1 to 24 characters", "/title");
		goto out;
	}
	static const char *const buttons[] = {"submit", "close"};
	for (int i = 0; i < 2; i++) {
		json_t *bt = json_object_get(v, buttons[i]);
		if (bt && !json_is_null(bt) && !plain_text_ok(bt, VIEW_TEXT_MAX)) {
			char ptr[16];
			snprintf(ptr, sizeof ptr, "/%s", buttons[i]);
			rc = view_err(c, "must be plain_text of 1 to 24 characters", ptr);
			goto out;
		}
	}
	if (!json_is_array(blocks)) {
		rc = view_err(c, "missing required field: blocks", "/blocks");
		goto out;
	}
	if (json_array_size(blocks) > VIEW_MAX_BLOCKS) {
		rc = view_err(c, "no more than 100 items allowed", "/blocks");
		goto out;
	}
	size_t i;
	json_t *b;
	json_array_foreach(blocks, i, b) {
		char ptr[64];
		const char *bt = json_string_value(json_object_get(b, "type"));
		if (!json_is_object(b) || !bt) {
			snprintf(ptr, sizeof ptr, "/blocks/%zu", i);
			rc = view_err(c, "missing required field: type", ptr);
			goto out;
		}
		if (!strcmp(bt, "input")) {
			inputs = true;
			json_t *label = json_object_get(b, "label"), *el = json_object_get(b, "element");
			if (!json_is_object(label) || !json_is_string(json_object_get(label, "text"))) {
				snprintf(ptr, sizeof ptr, "/blocks/%zu/label", i);
				rc = view_err(c, "missing required field: label", ptr);
				goto out;
			}
			if (!json_is_object(el) || !json_is_string(json_object_get(el, "type"))) {
				snprintf(ptr, sizeof ptr, "/blocks/%zu/element", i);
				rc = view_err(c, "missing required field: element", ptr);
				goto out;
			}
		}
	}
	if (modal && inputs && !plain_text_ok(json_object_get(v, "submit"), VIEW_TEXT_MAX)) {
		rc = view_err(c, "submit is required when the view has input blocks", "/submit");
		goto out;
	}
	if ((rc = opt_string(c, v, "callback_id", VIEW_CALLBACK_MAX)) ||
	    (rc = opt_string(c, v, "private_metadata", VIEW_METADATA_MAX)) ||
	    (rc = opt_string(c, v, "external_id", VIEW_EXTERNAL_MAX)))
		goto out;
	assign_ids(blocks);
out:
	if (rc)
		json_decref(v);
	else
		*out = v;
	return rc;
}

/* ---- rendering ---- */

static json_t *or_null(json_t *v)
{
	return v && !json_is_null(v) ? json_incref(v) : json_null();
}

static const char *str_or(json_t *o, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : def;
}

/* v's view object from the app's view in (checked). */
static json_t *view_render(api_ctx *c, const pend_view *v, json_t *in, const app *a)
{
	char *rnd = ids_secret_hex(4);
	char hash[48];
	snprintf(hash, sizeof hash, "%lld.%s", (long long)(c->now_us / 1000000), rnd);
	free(rnd);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(v->id));
	json_object_set_new(o, "team_id", json_string(v->org_id));
	json_object_set_new(o, "type", json_string(str_or(in, "type", "modal")));
	json_object_set(o, "blocks", json_object_get(in, "blocks"));
	json_object_set_new(o, "private_metadata", json_string(str_or(in, "private_metadata", "")));
	json_object_set_new(o, "callback_id", json_string(str_or(in, "callback_id", "")));
	json_object_set_new(o, "state", json_pack("{s:{}}", "values"));
	json_object_set_new(o, "hash", json_string(hash));
	json_object_set_new(o, "title", or_null(json_object_get(in, "title")));
	json_object_set_new(o, "clear_on_close", json_boolean(json_is_true(json_object_get(in, "clear_on_close"))));
	json_object_set_new(o, "notify_on_close", json_boolean(json_is_true(json_object_get(in, "notify_on_close"))));
	json_object_set_new(o, "close", or_null(json_object_get(in, "close")));
	json_object_set_new(o, "submit", or_null(json_object_get(in, "submit")));
	json_object_set_new(o, "previous_view_id", v->previous_id[0] ? json_string(v->previous_id) : json_null());
	json_object_set_new(o, "root_view_id", json_string(v->root_id));
	json_object_set_new(o, "app_id", json_string(a->id));
	json_object_set_new(o, "external_id", json_string(str_or(in, "external_id", "")));
	json_object_set_new(o, "app_installed_team_id", json_string(v->org_id));
	json_object_set_new(o, "bot_id", json_string(a->bot_id));
	return o;
}

static void emit_view(api_ctx *c, const char *user_id, const char *type, json_t *view)
{
	api_emit(c, BUS_USER, user_id, json_pack("{s:s,s:O}", "type", type, "view", view), NULL);
}

/* Closes v and the views above it (cleared: its whole stack), top first,
 * telling the person's client. */
static void close_views(api_ctx *c, pend_view *v, bool cleared)
{
	pend_view *stack[PEND_STACK_MAX];
	int n = api_pending_stack(v, stack), from = 0;
	if (!cleared)
		for (int i = 0; i < n; i++)
			if (stack[i] == v)
				from = i;
	char ids[PEND_STACK_MAX][ID_MAX];
	char user_id[ID_MAX];
	snprintf(user_id, sizeof user_id, "%s", v->user_id);
	int k = 0;
	for (int i = n - 1; i >= from; i--)
		snprintf(ids[k++], ID_MAX, "%s", stack[i]->id);
	if (!n) {
		snprintf(ids[0], ID_MAX, "%s", v->id);
		k = 1;
	}
	for (int i = 0; i < k; i++) {
		pend_view *x = api_pending_view_get(ids[i], c->now_us);
		if (x)
			api_pending_view_drop(x);
		api_emit(c, BUS_USER, user_id,
			 json_pack("{s:s,s:s,s:b}", "type", "view_closed", "view_id", ids[i], "is_cleared",
				   cleared),
			 NULL);
	}
}

static int need_app(api_ctx *c)
{
	return c->app ? 0 : ERR_NOT_ALLOWED_TOKEN_TYPE;
}

static const char *trigger_arg(api_ctx *c)
{
	const char *t = api_str(c, "trigger_id");
	if (!t || !*t)
		t = api_str(c, "interactivity_pointer");
	return t && *t ? t : NULL;
}

/* A new modal for user, stacked on top of below (NULL: a new stack). */
static pend_view *new_modal(api_ctx *c, const char *user_id, pend_view *below, json_t *in,
			    const app *a)
{
	char below_id[ID_MAX] = "", root_id[ID_MAX] = "";
	if (below) {
		snprintf(below_id, sizeof below_id, "%s", below->id);
		snprintf(root_id, sizeof root_id, "%s", below->root_id);
	}
	pend_view *v = api_pending_view_new(c->now_us, a->org_id, a->id, user_id, false);
	/* Adding may have evicted the old ones: look them up again. */
	below = below_id[0] ? api_pending_view_get(below_id, c->now_us) : NULL;
	if (below) {
		snprintf(v->root_id, sizeof v->root_id, "%s", root_id);
		snprintf(v->previous_id, sizeof v->previous_id, "%s", below->id);
		snprintf(below->above_id, sizeof below->above_id, "%s", v->id);
	}
	api_pending_view_set_external(v, str_or(in, "external_id", NULL));
	v->view = view_render(c, v, in, a);
	api_pending_view_save(v);
	if (below)
		api_pending_view_save(below);
	return v;
}

static int check_external_free(api_ctx *c, json_t *in, const app *a, const pend_view *self)
{
	const char *ext = str_or(in, "external_id", NULL);
	pend_view *other = ext && *ext ? api_pending_view_by_external(a->id, ext, c->now_us) : NULL;
	return other && other != self ? ERR_DUPLICATE_EXTERNAL_ID : 0;
}

/* ---- the apps' methods ---- */

int api_views_open(api_ctx *c)
{
	json_t *in = NULL;
	pend_trigger t;
	int rc;
	const char *trig = trigger_arg(c);
	if ((rc = need_app(c)))
		return rc;
	if (!trig)
		return api_missing(c, "trigger_id");
	if ((rc = view_parse(c, json_object_get(c->args, "view"), "modal", &in)))
		return rc;
	if (!(rc = check_external_free(c, in, c->app, NULL)))
		rc = api_pending_trigger_take(trig, c->app->id, c->now_us, &t);
	if (!rc) {
		pend_view *v = new_modal(c, t.user_id, NULL, in, c->app);
		emit_view(c, t.user_id, "view_opened", v->view);
		json_object_set(c->out, "view", v->view);
	}
	json_decref(in);
	return rc;
}

int api_views_push(api_ctx *c)
{
	json_t *in = NULL;
	pend_trigger t;
	int rc;
	const char *trig = trigger_arg(c);
	if ((rc = need_app(c)))
		return rc;
	if (!trig)
		return api_missing(c, "trigger_id");
	if ((rc = view_parse(c, json_object_get(c->args, "view"), "modal", &in)))
		return rc;
	if ((rc = check_external_free(c, in, c->app, NULL)) ||
	    (rc = api_pending_trigger_take(trig, c->app->id, c->now_us, &t)))
		goto out;
	/* A push needs a modal open: the one the interaction came from. */
	pend_view *from = t.view_id[0] ? api_pending_view_get(t.view_id, c->now_us) : NULL;
	if (!from || from->home) {
		rc = ERR_NOT_FOUND;
		goto out;
	}
	pend_view *stack[PEND_STACK_MAX];
	int n = api_pending_stack(from, stack);
	if (n >= PEND_STACK_MAX) {
		rc = ERR_PUSH_LIMIT_REACHED;
		goto out;
	}
	pend_view *v = new_modal(c, t.user_id, stack[n - 1], in, c->app);
	emit_view(c, t.user_id, "view_pushed", v->view);
	json_object_set(c->out, "view", v->view);
out:
	json_decref(in);
	return rc;
}

/* Replaces v's content with in (checked), same id and stack place. */
static int replace_view(api_ctx *c, pend_view *v, json_t *in, const app *a)
{
	/* A new version that does not name an external_id keeps the old one. */
	if (v->external_id && !json_is_string(json_object_get(in, "external_id")))
		json_object_set_new(in, "external_id", json_string(v->external_id));
	int rc = check_external_free(c, in, a, v);
	if (rc)
		return rc;
	api_pending_view_set_external(v, str_or(in, "external_id", NULL));
	json_decref(v->view);
	v->view = view_render(c, v, in, a);
	api_pending_view_save(v);
	return 0;
}

int api_views_update(api_ctx *c)
{
	int rc;
	if ((rc = need_app(c)))
		return rc;
	const char *view_id = api_str(c, "view_id"), *ext = api_str(c, "external_id");
	pend_view *v = NULL;
	if (view_id && *view_id)
		v = api_pending_view_get(view_id, c->now_us);
	else if (ext && *ext)
		v = api_pending_view_by_external(c->app->id, ext, c->now_us);
	else
		return api_missing(c, "view_id");
	if (!v || strcmp(v->app_id, c->app->id) != 0)
		return ERR_NOT_FOUND;
	const char *hash = api_str(c, "hash");
	if (hash && *hash && strcmp(hash, str_or(v->view, "hash", "")) != 0)
		return ERR_HASH_CONFLICT;
	json_t *in;
	if ((rc = view_parse(c, json_object_get(c->args, "view"), v->home ? "home" : "modal", &in)))
		return rc;
	rc = replace_view(c, v, in, c->app);
	json_decref(in);
	if (rc)
		return rc;
	emit_view(c, v->user_id, v->home ? "view_published" : "view_updated", v->view);
	json_object_set(c->out, "view", v->view);
	return 0;
}

int api_views_publish(api_ctx *c)
{
	user *u;
	json_t *in;
	int rc;
	if ((rc = need_app(c)) || (rc = api_user(c, "user_id", &u)))
		return rc;
	if ((rc = view_parse(c, json_object_get(c->args, "view"), "home", &in)))
		return rc;
	pend_view *v = api_pending_home_get(c->app->id, u->id);
	const char *hash = api_str(c, "hash");
	if (v && hash && *hash && strcmp(hash, str_or(v->view, "hash", "")) != 0) {
		rc = ERR_HASH_CONFLICT;
		goto out;
	}
	if (!v) {
		if ((rc = check_external_free(c, in, c->app, NULL)))
			goto out;
		v = api_pending_view_new(c->now_us, c->org->id, c->app->id, u->id, true);
	}
	if ((rc = replace_view(c, v, in, c->app)))
		goto out;
	emit_view(c, u->id, "view_published", v->view);
	json_object_set(c->out, "view", v->view);
out:
	json_decref(in);
	return rc;
}

/* ---- the person's methods ---- */

/* Does the state entry e carry a choice? */
static bool has_value(json_t *e)
{
	const char *k;
	json_t *v;
	json_object_foreach(e, k, v) {
		if (!strcmp(k, "type") || json_is_null(v))
			continue;
		if (json_is_string(v) && !*json_string_value(v))
			continue;
		if (json_is_array(v) && !json_array_size(v))
			continue;
		return true;
	}
	return false;
}

/* state.values of view from the person's values; required inputs left
 * empty (and text outside min/max_length) go to errors. */
static json_t *collect_state(json_t *view, json_t *given, json_t *errors)
{
	json_t *values = json_object();
	size_t i, j;
	json_t *b, *el;
	json_array_foreach(json_object_get(view, "blocks"), i, b) {
		const char *bid = json_string_value(json_object_get(b, "block_id"));
		const char *btype = json_string_value(json_object_get(b, "type"));
		if (!bid || !btype)
			continue;
		json_t *gb = json_object_get(given, bid);
		json_t *els = json_array();
		if (!strcmp(btype, "input"))
			json_array_append(els, json_object_get(b, "element"));
		else if (json_object_get(b, "accessory"))
			json_array_append(els, json_object_get(b, "accessory"));
		json_array_foreach(json_object_get(b, "elements"), j, el) json_array_append(els, el);
		json_array_foreach(els, j, el) {
			const char *aid = json_string_value(json_object_get(el, "action_id"));
			const char *etype = json_string_value(json_object_get(el, "type"));
			if (!aid || !etype)
				continue;
			json_t *g = json_object_get(gb, aid);
			bool input = !strcmp(btype, "input");
			if (!input && !json_is_object(g))
				continue;
			json_t *e = json_is_object(g) ? json_copy(g) : json_object();
			json_object_set_new(e, "type", json_string(etype));
			if (!strcmp(etype, "plain_text_input") && !json_object_get(e, "value"))
				json_object_set_new(e, "value", json_null());
			if (input && !has_value(e) && !json_is_true(json_object_get(b, "optional")))
				json_object_set_new(errors, bid, json_string("Please complete this required field."));
			const char *text = json_string_value(json_object_get(e, "value"));
			json_int_t minl = json_integer_value(json_object_get(el, "min_length"));
			json_t *maxj = json_object_get(el, "max_length");
			if (input && text && *text) {
				size_t len = rules_utf8_len(text);
				if (minl && (json_int_t)len < minl)
					json_object_set_new(errors, bid, json_sprintf("Please enter at least %lld characters.", (long long)minl));
				else if (json_is_integer(maxj) && (json_int_t)len > json_integer_value(maxj))
					json_object_set_new(errors, bid, json_sprintf("Please enter no more than %lld characters.", (long long)json_integer_value(maxj)));
			}
			json_t *vb = json_object_get(values, bid);
			if (!vb) {
				vb = json_object();
				json_object_set_new(values, bid, vb);
			}
			json_object_set_new(vb, aid, e);
		}
		json_decref(els);
	}
	return values;
}

/* response_urls for inputs that asked for one (response_url_enabled on a
 * conversation select): where the app may answer afterwards. */
static json_t *response_urls(api_ctx *c, json_t *view, json_t *values, const app *a)
{
	json_t *out = json_array();
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(view, "blocks"), i, b) {
		json_t *el = json_object_get(b, "element");
		if (!json_is_true(json_object_get(el, "response_url_enabled")))
			continue;
		const char *bid = json_string_value(json_object_get(b, "block_id"));
		const char *aid = json_string_value(json_object_get(el, "action_id"));
		json_t *e = json_object_get(json_object_get(values, bid ? bid : ""), aid ? aid : "");
		const char *cid = json_string_value(json_object_get(e, "selected_conversation"));
		if (!cid)
			cid = json_string_value(json_object_get(e, "selected_channel"));
		channel *ch = cid ? core_channel_get(c->env->state, cid) : NULL;
		if (!ch || !rules_can_see(c->me, ch))
			continue;
		pend_response *r = api_pending_response_new(c->now_us, c->org->id, a->id, c->me->id,
							     ch->id, 0, false);
		char *url = xasprintf("%s/respond/%s", c->env->base_url ? c->env->base_url : "", r->id);
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s}", "block_id", bid, "action_id",
						     aid, "channel_id", ch->id, "response_url", url));
		free(url);
	}
	return out;
}

/* The person's modal v, or NULL. */
static pend_view *my_modal(api_ctx *c, const char *id)
{
	pend_view *v = api_pending_view_get(id, c->now_us);
	return v && !v->home && !strcmp(v->user_id, c->me->id) ? v : NULL;
}

static int submit_acked(api_ctx *c, int err, json_t *resp, void *ud)
{
	char *vid = ud;
	int rc = err;
	pend_view *v = rc ? NULL : my_modal(c, vid);
	app *a = v ? core_app_get(c->env->state, v->app_id) : NULL;
	free(vid);
	if (rc)
		return rc;
	if (!v || !a) {
		/* Closed meanwhile: nothing left to do. */
		json_object_set_new(c->out, "response_action", json_string("close"));
		return 0;
	}
	const char *action = json_string_value(json_object_get(resp, "response_action"));
	json_t *in = NULL;
	if (action && !strcmp(action, "errors")) {
		json_t *errors = json_object_get(resp, "errors");
		json_object_set_new(c->out, "response_action", json_string("errors"));
		json_object_set_new(c->out, "errors", json_is_object(errors) ? json_incref(errors) : json_object());
	} else if (action && !strcmp(action, "update")) {
		if ((rc = view_parse(c, json_object_get(resp, "view"), "modal", &in)) ||
		    (rc = replace_view(c, v, in, a)))
			goto out;
		emit_view(c, v->user_id, "view_updated", v->view);
		json_object_set_new(c->out, "response_action", json_string("update"));
		json_object_set(c->out, "view", v->view);
	} else if (action && !strcmp(action, "push")) {
		if ((rc = view_parse(c, json_object_get(resp, "view"), "modal", &in)) ||
		    (rc = check_external_free(c, in, a, NULL)))
			goto out;
		pend_view *stack[PEND_STACK_MAX];
		int n = api_pending_stack(v, stack);
		if (n >= PEND_STACK_MAX) {
			rc = ERR_PUSH_LIMIT_REACHED;
			goto out;
		}
		pend_view *nv = new_modal(c, c->me->id, stack[n - 1], in, a);
		emit_view(c, c->me->id, "view_pushed", nv->view);
		json_object_set_new(c->out, "response_action", json_string("push"));
		json_object_set(c->out, "view", nv->view);
	} else if (action && !strcmp(action, "clear")) {
		close_views(c, v, true);
		json_object_set_new(c->out, "response_action", json_string("clear"));
	} else {
		close_views(c, v, false);
		json_object_set_new(c->out, "response_action", json_string("close"));
	}
out:
	json_decref(in);
	return rc;
}

int api_views_submit(api_ctx *c)
{
	const char *view_id;
	int rc, err = 0;
	if ((rc = api_str_req(c, "view_id", &view_id)))
		return rc;
	pend_view *v = my_modal(c, view_id);
	if (!v)
		return ERR_NOT_FOUND;
	app *a = core_app_get(c->env->state, v->app_id);
	if (!a || a->deleted)
		return ERR_NOT_FOUND;
	json_t *given = api_json_arg(c, "values", ERR_INVALID_ARGUMENTS, &err);
	if (err || (given && !json_is_object(given))) {
		json_decref(given);
		return ERR_INVALID_ARGUMENTS;
	}
	json_t *errors = json_object();
	json_t *values = collect_state(v->view, given, errors);
	json_decref(given);
	if (json_object_size(errors)) {
		/* Like Slack's client: required fields are checked before the
		 * app hears anything. */
		json_object_set_new(c->out, "response_action", json_string("errors"));
		json_object_set_new(c->out, "errors", errors);
		json_decref(values);
		return 0;
	}
	json_decref(errors);
	json_object_set_new(v->view, "state", json_pack("{s:o}", "values", values));
	api_pending_view_save(v);
	char trigger[PEND_ID_MAX];
	api_interact_trigger(c, a, c->me->id, v->id, trigger);
	json_t *p = json_pack("{s:s,s:o,s:o,s:s,s:s,s:s,s:O,s:o,s:b,s:n}", "type", "view_submission",
			      "team", api_interact_team(c->org), "user", api_interact_user(c->me),
			      "api_app_id", a->id, "token",
			      a->verification_token ? a->verification_token : "", "trigger_id", trigger,
			      "view", v->view, "response_urls", response_urls(c, v->view, values, a),
			      "is_enterprise_install", 0, "enterprise");
	return api_interact_dispatch(c, a, "interactive", p, a->interactivity_url, submit_acked,
				     xstrdup(v->id));
}

int api_views_close(api_ctx *c)
{
	const char *view_id;
	int rc;
	if ((rc = api_str_req(c, "view_id", &view_id)))
		return rc;
	pend_view *v = my_modal(c, view_id);
	if (!v)
		return ERR_NOT_FOUND;
	app *a = core_app_get(c->env->state, v->app_id);
	bool cleared = json_is_true(json_object_get(v->view, "clear_on_close"));
	if (a && !a->deleted && json_is_true(json_object_get(v->view, "notify_on_close"))) {
		json_t *p = json_pack("{s:s,s:o,s:o,s:s,s:s,s:O,s:b,s:b,s:n}", "type", "view_closed",
				      "team", api_interact_team(c->org), "user", api_interact_user(c->me),
				      "api_app_id", a->id, "token",
				      a->verification_token ? a->verification_token : "", "view", v->view,
				      "is_cleared", cleared, "is_enterprise_install", 0, "enterprise");
		api_interact_notify(c, a, p);
	}
	close_views(c, v, cleared);
	return 0;
}
