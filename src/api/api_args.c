/* Argument access for handlers. Slack's clients send the same argument in
 * several shapes (form strings, JSON natives, JSON-in-a-string for
 * structured values, 1/0 or true/false for booleans), so every accessor
 * accepts all of them and rejects only what no client sends. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/xalloc.h"

store_job *api_job(api_ctx *c)
{
	if (!c->job)
		c->job = store_job_new(c->env->store);
	return c->job;
}

void api_on_commit(api_ctx *c, api_commit_hook fn, void *ud)
{
	if (c->nhooks < (int)(sizeof c->hooks / sizeof c->hooks[0])) {
		c->hooks[c->nhooks].fn = fn;
		c->hooks[c->nhooks].ud = ud;
		c->nhooks++;
	}
}

void api_warn(api_ctx *c, const char *warning)
{
	if (!c->warnings)
		c->warnings = json_array();
	json_array_append_new(c->warnings, json_string(warning));
}

int api_missing(api_ctx *c, const char *name)
{
	if (!c->err_extra)
		c->err_extra = json_object();
	char *msg = xasprintf("[ERROR] missing required field: %s", name);
	json_object_set_new(c->err_extra, "response_metadata",
			    json_pack("{s:[s]}", "messages", msg));
	free(msg);
	return ERR_INVALID_ARGUMENTS;
}

static bool has_scope(const char *scopes, const char *want, size_t wlen)
{
	if (!scopes)
		return false;
	if (strcmp(scopes, "*") == 0)
		return true;
	for (const char *p = scopes; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == wlen && memcmp(p, want, n) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

int api_need_scope(api_ctx *c, const char *scope)
{
	/* People act with their own rights; scopes bind bots and apps. */
	if (!scope || !c->tok || c->tok->kind == TOKEN_USER || c->tok->kind == TOKEN_SESSION)
		return 0;
	/* "a|b": any of them will do. */
	for (const char *p = scope; *p;) {
		const char *e = strchr(p, '|');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (has_scope(c->tok->scopes, p, n))
			return 0;
		if (!e)
			break;
		p = e + 1;
	}
	if (!c->err_extra)
		c->err_extra = json_object();
	char *needed = xstrdup(scope);
	for (char *q = needed; *q; q++)
		if (*q == '|')
			*q = ',';
	json_object_set_new(c->err_extra, "needed", json_string(needed));
	json_object_set_new(c->err_extra, "provided",
			    json_string(c->tok->scopes ? c->tok->scopes : ""));
	free(needed);
	return ERR_MISSING_SCOPE;
}

bool api_need_scope_quiet(api_ctx *c, const char *scope)
{
	if (!c->tok || c->tok->kind == TOKEN_USER || c->tok->kind == TOKEN_SESSION)
		return true;
	return has_scope(c->tok->scopes, scope, strlen(scope));
}

int api_need_chan_scope(api_ctx *c, const channel *ch, const char *verb)
{
	static const char *const prefix[] = {"channels", "groups", "im", "mpim"};
	const char *p = prefix[ch->kind];
	char scope[64];
	if (strcmp(verb, "write") == 0 && ch->kind == CHAN_PUBLIC)
		snprintf(scope, sizeof scope, "channels:manage");
	else
		snprintf(scope, sizeof scope, "%s:%s", p, verb);
	return api_need_scope(c, scope);
}

/* Strings made from non-string JSON values live until the ctx ends: they
 * are parked in the args object under a private key prefix. */
const char *api_str(api_ctx *c, const char *name)
{
	json_t *v = json_object_get(c->args, name);
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	char tmp[64];
	if (json_is_integer(v))
		snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(tmp, sizeof tmp, "%.6f", json_real_value(v));
	else if (json_is_true(v))
		snprintf(tmp, sizeof tmp, "true");
	else if (json_is_false(v))
		snprintf(tmp, sizeof tmp, "false");
	else
		return NULL;
	json_object_set_new(c->args, name, json_string(tmp));
	return json_string_value(json_object_get(c->args, name));
}

int api_str_req(api_ctx *c, const char *name, const char **out)
{
	const char *s = api_str(c, name);
	if (!s || !*s)
		return api_missing(c, name);
	*out = s;
	return 0;
}

int api_bool(api_ctx *c, const char *name, bool def, bool *out)
{
	json_t *v = json_object_get(c->args, name);
	*out = def;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	if (json_is_integer(v)) {
		*out = json_integer_value(v) != 0;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "TRUE") || !strcmp(s, "True"))
			*out = true;
		else if (!strcmp(s, "false") || !strcmp(s, "0") || !*s || !strcmp(s, "FALSE") ||
			 !strcmp(s, "False"))
			*out = false;
		else
			return ERR_INVALID_ARGUMENTS;
		return 0;
	}
	return ERR_INVALID_ARGUMENTS;
}

int api_int(api_ctx *c, const char *name, long def, long min, long max, long *out)
{
	json_t *v = json_object_get(c->args, name);
	*out = def;
	if (!v || json_is_null(v))
		return 0;
	long n;
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		n = x > 1000000000 ? 1000000000 : x < -1000000000 ? -1000000000 : (long)x;
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!*s)
			return 0;
		char *end;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		while (*end && isspace((unsigned char)*end))
			end++;
		if (*end || errno)
			return ERR_INVALID_ARGUMENTS;
		n = x > 1000000000 ? 1000000000 : x < -1000000000 ? -1000000000 : (long)x;
	} else {
		return ERR_INVALID_ARGUMENTS;
	}
	if (n < min)
		return ERR_INVALID_ARGUMENTS;
	*out = n > max ? max : n;
	return 0;
}

json_t *api_json_arg(api_ctx *c, const char *name, int bad_err, int *err)
{
	json_t *v = json_object_get(c->args, name);
	*err = 0;
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		return json_incref(v);
	const char *s = json_string_value(v);
	if (!*s)
		return NULL;
	json_error_t je;
	json_t *parsed = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (!parsed)
		*err = bad_err;
	return parsed;
}

int api_ts(api_ctx *c, const char *name, int bad_err, int64_t *out)
{
	const char *s = api_str(c, name);
	*out = 0;
	if (!s || !*s)
		return 0;
	if (json_is_object(json_object_get(c->args, name)) ||
	    json_is_array(json_object_get(c->args, name)))
		return bad_err;
	return rules_ts_parse(s, out) == 0 ? 0 : bad_err;
}

size_t api_list(api_ctx *c, const char *name, char ***out)
{
	json_t *v = json_object_get(c->args, name);
	*out = NULL;
	size_t n = 0, cap = 0;
	char **l = NULL;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || !*json_string_value(e))
				continue;
			if (n == cap)
				l = xrealloc(l, (cap = cap ? cap * 2 : 8) * sizeof *l);
			l[n++] = xstrdup(json_string_value(e));
		}
		*out = l;
		return n;
	}
	const char *s = api_str(c, name);
	if (!s)
		return 0;
	for (const char *p = s; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len && isspace((unsigned char)p[len - 1]))
			len--;
		if (len) {
			if (n == cap)
				l = xrealloc(l, (cap = cap ? cap * 2 : 8) * sizeof *l);
			l[n++] = xstrndup(p, len);
		}
		if (!e)
			break;
		p = e + 1;
	}
	*out = l;
	return n;
}

void api_list_free(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

int api_channel(api_ctx *c, const char *argname, bool allow_user_dm, channel **out)
{
	core_state *s = c->env->state;
	json_t *v = json_object_get(c->args, argname);
	if (v && !json_is_string(v))
		return ERR_CHANNEL_NOT_FOUND;
	const char *id = api_str(c, argname);
	if (!id || !*id)
		return api_missing(c, argname);
	channel *ch = core_channel_get(s, id);
	if (!ch) {
		const char *name = id[0] == '#' ? id + 1 : id;
		ch = core_channel_by_name(s, c->org->id, name);
	}
	if (!ch && allow_user_dm && (id[0] == 'U' || id[0] == 'W' || id[0] == '@')) {
		user *u = core_user_get(s, id[0] == '@' ? id + 1 : id);
		if (!u && id[0] == '@')
			u = core_user_by_name(s, c->org->id, id + 1);
		if (u && strcmp(u->org_id, c->org->id) == 0 && !u->deleted)
			ch = api_im_open(c, u);
	}
	if (!ch || !rules_can_see(c->me, ch))
		return ERR_CHANNEL_NOT_FOUND;
	*out = ch;
	return 0;
}

int api_user(api_ctx *c, const char *argname, user **out)
{
	json_t *v = json_object_get(c->args, argname);
	if (v && !json_is_string(v))
		return ERR_USER_NOT_FOUND;
	const char *id = api_str(c, argname);
	if (!id || !*id)
		return api_missing(c, argname);
	user *u = core_user_get(c->env->state, id);
	if (!u || strcmp(u->org_id, c->org->id) != 0)
		return ERR_USER_NOT_FOUND;
	*out = u;
	return 0;
}

int api_cursor_start(api_ctx *c, const char *kind, const char **keys, size_t n, size_t *start)
{
	*start = 0;
	const char *cur = api_str(c, "cursor");
	if (!cur || !*cur)
		return 0;
	char *key = NULL;
	if (rules_cursor_decode(cur, kind, &key) != 0)
		return ERR_INVALID_CURSOR;
	/* keys are sorted: start at the first key >= the cursor's key. */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(keys[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	free(key);
	*start = lo;
	return 0;
}

void api_set_next_cursor(api_ctx *c, const char *kind, const char *next_key)
{
	char *cur = next_key ? rules_cursor_encode(kind, next_key) : xstrdup("");
	json_object_set_new(c->out, "response_metadata", json_pack("{s:s}", "next_cursor", cur));
	free(cur);
}
