/* HTTP glue for the Web API: argument decoding (query string, form and
 * JSON bodies), token extraction, and per-method counters. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_http.h"
#include "api/api_session.h"
#include "api/api_json.h"
#include "base/map.h"
#include "base/xalloc.h"

/* ---- metrics ---- */
struct api_metrics {
	map counts; /* "method\x1foutcome" -> uint64_t* */
};

api_metrics *api_metrics_new(void)
{
	api_metrics *m = xcalloc(1, sizeof *m);
	map_init(&m->counts);
	return m;
}

void api_metrics_free(api_metrics *m)
{
	if (!m)
		return;
	size_t it = 0;
	void *v;
	while (map_next(&m->counts, &it, NULL, &v))
		free(v);
	map_release(&m->counts);
	free(m);
}

void api_metrics_count(api_metrics *m, const char *method, const char *outcome)
{
	/* method "\x1f" outcome, truncated like snprintf would (without its
	 * format walk: this runs for every request). */
	char key[160];
	size_t a = strnlen(method, sizeof key - 1);
	memcpy(key, method, a);
	size_t len = a;
	if (len < sizeof key - 1)
		key[len++] = '\x1f';
	size_t b = strnlen(outcome, sizeof key - 1 - len);
	memcpy(key + len, outcome, b);
	key[len + b] = '\0';
	uint64_t *n = map_get(&m->counts, key);
	if (!n) {
		n = xcalloc(1, sizeof *n);
		map_put(&m->counts, key, n);
	}
	(*n)++;
}

void api_metrics_render(const api_metrics *m, buf *out)
{
	buf_adds(out, "# HELP canal_api_requests_total Web API calls by method and outcome (ok or the error name).\n"
		      "# TYPE canal_api_requests_total counter\n");
	size_t it = 0;
	const char *k;
	void *v;
	while (map_next(&m->counts, &it, &k, &v)) {
		const char *sep = strchr(k, '\x1f');
		buf_printf(out, "canal_api_requests_total{method=\"%.*s\",outcome=\"%s\"} %llu\n",
			   (int)(sep - k), k, sep + 1, (unsigned long long)*(uint64_t *)v);
	}
}

/* ---- argument decoding ---- */
/* s[0..n) as a string to decode in place: in stack (cap bytes) when it
 * fits, as form fields mostly do, else on the heap (free if != stack). */
static char *field_copy(const char *s, size_t n, char *stack, size_t cap)
{
	char *p = n < cap ? stack : xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static bool all_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

int api_form_parse(const char *s, size_t len, json_t *obj)
{
	const char *end = s + len;
	/* Every request's arguments pass here: no heap copies of short keys
	 * and values, and no JSON string made only to check a key's UTF-8
	 * when it is ASCII (bench/README.md, fewer mallocs per post). */
	char kbuf[128], vbuf[1024];
	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *pe = amp ? amp : end;
		if (pe > s) {
			const char *eq = memchr(s, '=', (size_t)(pe - s));
			char *k = field_copy(s, (size_t)((eq ? eq : pe) - s), kbuf, sizeof kbuf);
			char *v = eq ? field_copy(eq + 1, (size_t)(pe - eq - 1), vbuf, sizeof vbuf)
				     : field_copy("", 0, vbuf, sizeof vbuf);
			long kl = http_url_decode(k, 1), vl = http_url_decode(v, 1);
			int err = 0;
			if (kl < 0 || vl < 0) {
				err = ERR_INVALID_FORM_DATA;
			} else if (kl > 0) {
				/* Keys and values must be UTF-8 (JSON strings). */
				json_t *js = json_stringn(v, (size_t)vl);
				json_t *jk = all_ascii(k, (size_t)kl) ? json_incref(json_true())
								      : json_stringn(k, (size_t)kl);
				if (!js || !jk) {
					err = ERR_INVALID_CHARSET;
					json_decref(js);
				} else {
					json_object_setn_new_nocheck(obj, k, (size_t)kl, js);
				}
				json_decref(jk);
			}
			if (k != kbuf)
				free(k);
			if (v != vbuf)
				free(v);
			if (err)
				return err;
		}
		s = pe + 1;
	}
	return 0;
}

static bool ctype_is(const char *ct, const char *want)
{
	size_t n = strlen(want);
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int api_args_from_http(const char *query, const char *content_type, const char *body,
		       size_t body_len, json_t **out)
{
	json_t *args = json_object();
	int err = 0;
	if (query && *query)
		err = api_form_parse(query, strlen(query), args);
	if (!err && body_len) {
		if (content_type && ctype_is(content_type, "application/json")) {
			json_error_t je;
			json_t *j = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &je);
			if (!j)
				err = ERR_INVALID_JSON;
			else if (!json_is_object(j))
				err = ERR_JSON_NOT_OBJECT;
			else
				json_object_update(args, j);
			json_decref(j);
		} else if (!content_type || ctype_is(content_type, "application/x-www-form-urlencoded") ||
			   ctype_is(content_type, "text/plain")) {
			/* text/plain: some HTTP tools post forms without a type. */
			err = api_form_parse(body, body_len, args);
		} else {
			err = ERR_INVALID_POST_TYPE;
		}
	}
	if (err) {
		json_decref(args);
		return err;
	}
	*out = args;
	return 0;
}

/* ---- the handler ---- */
typedef struct http_call {
	http_req *req;
	api_env *env;
	char *method;
	char *scopes;   /* X-OAuth-Scopes for the caller, if known */
} http_call;

static void answered_cb(void *ud, json_t *answer, int status)
{
	http_call *h = ud;
	const char *err = json_string_value(json_object_get(answer, "error"));
	if (h->env->metrics)
		api_metrics_count(h->env->metrics, api_method_find(h->method) ? h->method : "unknown",
				  json_is_true(json_object_get(answer, "ok")) ? "ok" : err ? err : "error");
	char *hdr = NULL;
	if (status == 429) {
		/* The dispatcher says how long in the answer; it leaves as the
		 * header the SDKs read (whole seconds, at least 1), and the body
		 * keeps Slack's shape. */
		json_int_t wait = json_integer_value(json_object_get(answer, "retry_after"));
		json_object_del(answer, "retry_after");
		hdr = xasprintf("Retry-After: %lld\r\n", (long long)(wait >= 1 ? wait : 1));
	} else if (h->scopes)
		hdr = xasprintf("X-OAuth-Scopes: %s\r\n", h->scopes);
	size_t len;
	char *body = api_json_dump(answer, &len);
	if (!body) {
		body = xstrdup("{\"ok\":false,\"error\":\"internal_error\"}");
		len = strlen(body);
	}
	http_respond_owned(h->req, status, "application/json; charset=utf-8", hdr, body, len);
	free(hdr);
	json_decref(answer);
	free(h->method);
	free(h->scopes);
	free(h);
}

void api_http_handle(api_env *env, http_req *req, const char *method)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
		static const char body[] = "{\"ok\":false,\"error\":\"invalid_post_type\"}";
		http_respond(req, 405, "application/json; charset=utf-8", "Allow: GET, POST\r\n", body,
			     sizeof body - 1);
		return;
	}
	http_call *h = xcalloc(1, sizeof *h);
	h->req = req;
	h->env = env;
	h->method = xstrdup(method);
	json_t *args = NULL;
	int err = api_args_from_http(req->query, http_req_header(req, "content-type"), req->body,
				     req->body_len, &args);
	if (err) {
		json_t *a = json_pack("{s:b,s:s}", "ok", 0, "error", err_name(err));
		answered_cb(h, a, 200);
		return;
	}
	/* Token: the Authorization header wins over a `token` argument. */
	const char *tok = NULL;
	const char *auth = http_req_header(req, "authorization");
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		tok = auth + 7;
		while (*tok == ' ')
			tok++;
	}
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(args, "token"));
	/* The browser client: its CSRF token stands for the session in its
	 * cookie (api_session.h); a wrong one or no cookie is invalid_auth. */
	char session[256];
	if (tok && !strncmp(tok, API_CSRF_PREFIX, sizeof API_CSRF_PREFIX - 1)) {
		char sh[TOKEN_HASH_HEX];
		token *st = NULL;
		if (api_session_resolve(req, tok, session, sizeof session)) {
			ids_token_hash(session, sh);
			st = core_token_get(env->state, sh);
		}
		tok = st && st->kind == TOKEN_SESSION ? session : "csrf-invalid";
	}
	if (tok && *tok) {
		char hash[TOKEN_HASH_HEX];
		ids_token_hash(tok, hash);
		token *t = core_token_get(env->state, hash);
		if (t && t->scopes)
			h->scopes = xstrdup(t->scopes);
		api_call_hashed(env, method, args, hash, answered_cb, h);
	} else {
		api_call(env, method, args, NULL, answered_cb, h);
	}
	json_decref(args);
}
