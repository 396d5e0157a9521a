/* Dispatch: authenticate, check the method table, run the handler, and
 * answer only once the handler's writes are durable.
 *
 * States of one call:
 *   RUN      handler runs synchronously (api_call)
 *   COMMIT   its job is with the store writer (only if it queued writes)
 *   ANSWER   post-commit hooks run, the answer is handed to the caller,
 *            the ctx is freed (call_finish)
 * A job is submitted even when the handler failed after changing hot
 * state, so memory and disk never disagree about what happened. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_json.h"
#include "api/api_ratelimit.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "rt/bus.h"
#include "rt/rt.h"

typedef struct call {
	api_ctx c;              /* first: api_resume finds the call from its ctx */
	int err;
	api_answer_cb done;
	void *ud;
	api_method own;         /* api_call_fn: the internal "method" */
	bool in_handler;        /* the handler is running */
	bool deferred;          /* api_defer: the handler waits for api_resume */
	bool resumed_early;     /* api_resume came before the handler returned */
	int resume_err;
} call;

const api_method *api_method_find(const char *name)
{
	size_t lo = 0, hi = api_nmethods;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(api_methods[mid].name, name);
		if (r == 0)
			return &api_methods[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The caller is t: checks it may act now and fills the ctx. The method's
 * bot scope is checked only when check_scope. */
static int accept_token(api_ctx *c, token *t, bool check_scope)
{
	const api_method *m = c->method;
	core_state *s = c->env->state;
	if (t->revoked) {
		/* A deactivated person's or removed app's tokens are revoked too;
		 * Slack names the account, not the token, for those. */
		user *u = t->user_id[0] ? core_user_get(s, t->user_id) : NULL;
		app *a = t->app_id[0] ? core_app_get(s, t->app_id) : NULL;
		return (u && u->deleted) || (a && a->deleted) ? ERR_ACCOUNT_INACTIVE : ERR_TOKEN_REVOKED;
	}
	if (t->expires && t->expires < c->now_us / 1000000)
		return ERR_TOKEN_EXPIRED;
	c->tok = t;
	c->org = core_org_get(s, t->org_id);
	c->me = t->user_id[0] ? core_user_get(s, t->user_id) : NULL;
	c->app = t->app_id[0] ? core_app_get(s, t->app_id) : NULL;
	if (!c->org)
		return ERR_INVALID_AUTH;
	if ((c->me && c->me->deleted) || (c->app && c->app->deleted))
		return ERR_ACCOUNT_INACTIVE;
	int kind = t->kind == TOKEN_BOT ? API_BOT : t->kind == TOKEN_APP ? API_APP : API_USER;
	if (!(m->callers & kind))
		return ERR_NOT_ALLOWED_TOKEN_TYPE;
	if (kind != API_APP && !c->me)
		return ERR_INVALID_AUTH;
	if (kind == API_BOT && m->scope && check_scope)
		return api_need_scope(c, m->scope);
	return 0;
}

/* The caller by the hash of a non-empty token string. */
static int authenticate_hash(api_ctx *c, const char *hash)
{
	const api_method *m = c->method;
	token *t = core_token_get(c->env->state, hash);
	if (!t || t->kind == TOKEN_INVITE)
		return (m->callers & API_NOAUTH) ? 0 : ERR_INVALID_AUTH;
	return accept_token(c, t, true);
}

static int authenticate(api_ctx *c, const char *token_str)
{
	const api_method *m = c->method;
	if (!token_str || !*token_str)
		return (m->callers & API_NOAUTH) ? 0 : ERR_NOT_AUTHED;
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(token_str, hash);
	return authenticate_hash(c, hash);
}

static json_t *build_answer(api_ctx *c, int err)
{
	json_t *a;
	if (err) {
		a = json_pack("{s:b,s:s}", "ok", 0, "error", err_name(err));
		if (c->err_extra)
			json_object_update(a, c->err_extra);
		return a;
	}
	a = json_incref(c->out);
	if (c->warnings && json_array_size(c->warnings)) {
		/* Slack: "warning" is a comma list; response_metadata.warnings
		 * the same as an array. */
		buf w = BUF_INIT;
		size_t i;
		json_t *v;
		json_array_foreach(c->warnings, i, v) {
			if (i)
				buf_addc(&w, ',');
			buf_adds(&w, json_string_value(v));
		}
		json_object_set_new(a, "warning", json_string(w.data));
		buf_release(&w);
		json_t *rm = json_object_get(a, "response_metadata");
		if (!rm) {
			rm = json_object();
			json_object_set_new(a, "response_metadata", rm);
		}
		json_object_set(rm, "warnings", c->warnings);
	}
	return a;
}

/* snprintf(dst, n, "%s", src) without the format walk (~600 instructions
 * each; a post copies several ids). Truncates the same way. */
static void copy_id(char *dst, size_t n, const char *src)
{
	size_t len = src ? strnlen(src, n - 1) : 0;
	memcpy(dst, src ? src : "", len);
	dst[len] = '\0';
}

/* Events leave only for a successful, durable request, each serialized
 * once (plus once more with "mentioned":true when it mentions someone). */
static void publish_events(api_ctx *c)
{
	size_t i;
	json_t *e;
	json_array_foreach(c->events, i, e) {
		bus_msg m = {.scope = (bus_scope)json_integer_value(json_object_get(e, "scope"))};
		const char *id = json_string_value(json_object_get(e, "id"));
		copy_id(m.org_id, sizeof m.org_id, json_string_value(json_object_get(e, "org")));
		if (m.scope == BUS_CHANNEL)
			copy_id(m.channel_id, sizeof m.channel_id, id);
		else if (m.scope == BUS_USER)
			copy_id(m.user_id, sizeof m.user_id, id);
		json_t *ev = json_object_get(e, "event");
		char *plain = api_json_dump(ev, &m.len), *marked = NULL;
		if (!plain)
			continue;  /* events are objects; nothing else is sent */
		m.json = plain;
		m.mentions = json_string_value(json_object_get(e, "mentions"));
		if (m.mentions) {
			json_t *v = json_copy(ev);
			json_object_set_new(v, "mentioned", json_true());
			marked = api_json_dump(v, &m.mention_len);
			json_decref(v);
			m.mention_json = marked;
		}
		bus_publish(c->env->bus, &m);
		free(plain);
		free(marked);
	}
}

static void call_finish(call *k)
{
	api_ctx *c = &k->c;
	if (!k->err) {
		for (int i = 0; i < c->nhooks; i++)
			c->hooks[i].fn(c, c->hooks[i].ud);
		if (c->events && c->env->bus)
			publish_events(c);
	}
	json_t *answer = build_answer(c, k->err);
	int status = k->err ? err_http(k->err) : 200;
	k->done(k->ud, answer, status);
	json_decref(c->args);
	json_decref(c->out);
	json_decref(c->err_extra);
	json_decref(c->warnings);
	json_decref(c->events);
	free(k);
}

static void committed_cb(void *ud, int err)
{
	call *k = ud;
	/* If the job failed, the store has already put back in hot state
	 * what it wrote (store_state_attach): no refused change outlives it. */
	if (err && !k->err) {
		log_error("commit failed", "method=%s error=%s", k->c.method->name, err_name(err));
		/* A conflict mapped by the handler (already_reacted) is the
		 * caller's answer; anything else is ours. */
		k->err = err;
	}
	call_finish(k);
}

static void run_handler(call *k);

/* {"ok":true}, every call's answer to start with (not json_pack: its
 * format walk costs more than the object). */
static json_t *answer_ok(void)
{
	json_t *o = json_object();
	json_object_set_new_nocheck(o, "ok", json_true());
	return o;
}

/* The shared body of api_call and api_call_as: token_str is
 * authenticated, or else tok is the caller. */
static void call_run(api_env *env, const char *method, json_t *args, const char *token_str,
		     const char *token_hash, token *tok, api_answer_cb done, void *ud)
{
	call *k = xcalloc(1, sizeof *k);
	api_ctx *c = &k->c;
	k->done = done;
	k->ud = ud;
	c->env = env;
	c->args = json_is_object(args) ? json_incref(args) : json_object();
	c->out = answer_ok();
	c->now_us = clock_now_us();
	c->method = api_method_find(method);
	if (!c->method) {
		k->err = ERR_UNKNOWN_METHOD;
		call_finish(k);
		return;
	}
	k->err = tok ? accept_token(c, tok, false)
		 : token_hash ? authenticate_hash(c, token_hash)
			      : authenticate(c, token_str);
	/* A person's own calls (their token or browser session) are activity
	 * for presence: they keep or make them active (auto away). Counted
	 * once the handler has run, so users.setPresence away from an idle
	 * user is one change at most (no "active" flicker first) and
	 * users.getPresence shows the state the call found. k may be freed
	 * by then; the user is hot state, never freed. */
	user *active = !k->err && env->rt && c->me && c->tok &&
				       (c->tok->kind == TOKEN_USER || c->tok->kind == TOKEN_SESSION)
			       ? c->me
			       : NULL;
	int64_t now = c->now_us;
	/* Rate limits count authenticated calls only (the key is the token). */
	if (!k->err)
		k->err = api_ratelimit_check(env->ratelimit, c);
	run_handler(k);
	if (active)
		rt_user_activity(env->rt, active->id, now);
}

/* After the handler: commit its writes (if any), then answer. */
static void call_continue(call *k)
{
	api_ctx *c = &k->c;
	if (c->job) {
		store_job *j = c->job;
		c->job = NULL;
		store_submit(c->env->store, j, committed_cb, k);
		return;
	}
	call_finish(k);
}

static void run_handler(call *k)
{
	api_ctx *c = &k->c;
	if (!k->err) {
		k->in_handler = true;
		k->err = c->method->fn(c);
		k->in_handler = false;
	}
	if (k->deferred) {
		if (!k->err)
			return; /* api_resume continues */
		/* A handler that fails after deferring has broken the contract;
		 * answer its error and let the late api_resume be a bug report. */
		log_error("handler deferred and failed", "method=%s", c->method->name);
		k->deferred = false;
	}
	if (k->resumed_early && !k->err)
		k->err = k->resume_err;
	call_continue(k);
}

void api_defer(api_ctx *c)
{
	call *k = (call *)c;
	k->deferred = true;
	k->resumed_early = false;
}

void api_resume(api_ctx *c, int err)
{
	call *k = (call *)c;
	if (!k->deferred) {
		log_error("api_resume without api_defer", "method=%s", c->method->name);
		return;
	}
	k->deferred = false;
	if (k->in_handler) {
		/* Resumed from inside the handler (a synchronous callback): the
		 * handler's return finishes the call. */
		k->resumed_early = true;
		k->resume_err = err;
		return;
	}
	/* The clock moves on while a call waits: "now" is when it resumes. */
	c->now_us = clock_now_us();
	k->err = err;
	call_continue(k);
}

void api_call_fn(api_env *env, const char *name, api_handler fn, json_t *args, token *tok,
		 api_answer_cb done, void *ud)
{
	call *k = xcalloc(1, sizeof *k);
	api_ctx *c = &k->c;
	k->done = done;
	k->ud = ud;
	k->own = (api_method){.name = name, .fn = fn, .callers = API_USER | API_BOT | API_APP,
			      .writes = true};
	c->env = env;
	c->args = json_is_object(args) ? json_incref(args) : json_object();
	c->out = answer_ok();
	c->now_us = clock_now_us();
	c->method = &k->own;
	k->err = accept_token(c, tok, false);
	run_handler(k);
}

void api_call(api_env *env, const char *method, json_t *args, const char *token_str,
	      api_answer_cb done, void *ud)
{
	call_run(env, method, args, token_str, NULL, NULL, done, ud);
}

void api_call_hashed(api_env *env, const char *method, json_t *args, const char *token_hash,
		     api_answer_cb done, void *ud)
{
	call_run(env, method, args, NULL, token_hash, NULL, done, ud);
}

void api_call_as(api_env *env, const char *method, json_t *args, token *tok,
		 api_answer_cb done, void *ud)
{
	call_run(env, method, args, NULL, NULL, tok, done, ud);
}
