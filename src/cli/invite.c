#include "cli/invite.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin/admin.h"
#include "api/api_http.h"
#include "api/api_session.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

#define INVITE_DAYS 14
#define SESSION_DAYS 30

static void answer(http_req *req, const char *error)
{
	char *body = xasprintf("{\"ok\":false,\"error\":\"%s\"}", error);
	http_respond_owned(req, 200, "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
			   body, strlen(body));
}

char *invite_issue(canal_server *s, store_job *job, const user *u)
{
	char *code = ids_secret_hex(16);
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(code, hash);
	token *t = core_token_new(hash, TOKEN_INVITE);
	snprintf(t->org_id, sizeof t->org_id, "%s", u->org_id);
	snprintf(t->user_id, sizeof t->user_id, "%s", u->id);
	t->created = clock_now_s();
	t->expires = t->created + INVITE_DAYS * 86400;
	core_token_add(&s->state, t);
	store_put_token(job, t);
	return code;
}

/* The live invite behind a code and its person, or NULL. */
static token *invite_find(canal_server *s, const char *code, user **out)
{
	if (!code || strlen(code) != 32 || strspn(code, "0123456789abcdef") != 32)
		return NULL;
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(code, hash);
	token *t = core_token_get(&s->state, hash);
	if (!t || t->kind != TOKEN_INVITE || t->revoked || (t->expires && t->expires <= clock_now_s()))
		return NULL;
	user *u = core_user_get(&s->state, t->user_id);
	if (!u || u->deleted || u->is_bot || strcmp(u->org_id, t->org_id) != 0)
		return NULL;
	*out = u;
	return t;
}

static void invite_info(canal_server *s, http_req *req, json_t *args)
{
	user *u = NULL;
	const char *code = json_string_value(json_object_get(args, "code"));
	if (!code) {
		answer(req, "invalid_arguments");
		return;
	}
	if (!invite_find(s, code, &u)) {
		answer(req, "invalid_invite");
		return;
	}
	org *o = core_org_get(&s->state, u->org_id);
	json_t *a = json_pack("{s:b,s:{s:s,s:s},s:{s:s,s:s,s:s,s:s,s:b},s:i}", "ok", 1, "team", "id",
			      u->org_id, "name", o && o->name ? o->name : "", "user", "id", u->id,
			      "name", u->name ? u->name : "", "real_name",
			      u->real_name ? u->real_name : "", "email", u->email ? u->email : "",
			      "is_owner", u->is_owner, "min_password", INVITE_MIN_PASSWORD);
	char *body = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	http_respond_owned(req, 200, "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
			   body, strlen(body));
}

typedef struct accept_job {
	uv_work_t work;
	canal_server *s;
	http_req *req;
	char code[40];
	char *password;
	char *real_name;
	char *hash;
	char *session;
	char user_id[ID_MAX];
} accept_job;

static void accept_free(accept_job *a)
{
	if (a->password) {
		sodium_memzero(a->password, strlen(a->password));
		free(a->password);
	}
	free(a->real_name);
	free(a->hash);
	free(a->session);
	free(a);
}

static void hash_work(uv_work_t *w)
{
	accept_job *a = w->data;
	a->hash = ids_password_hash(a->password);
}

static void accept_committed(void *ud, int err)
{
	accept_job *a = ud;
	user *u = core_user_get(&a->s->state, a->user_id);
	if (err || !u) {
		answer(a->req, err_name(err ? err : ERR_INTERNAL_ERROR));
		accept_free(a);
		return;
	}
	char csrf[API_CSRF_MAX];
	api_session_csrf(a->session, csrf);
	char *hdr = xasprintf("Set-Cookie: canal_session=%s; Path=/; HttpOnly; SameSite=Lax; "
			      "Max-Age=%d\r\nCache-Control: no-store\r\n",
			      a->session, SESSION_DAYS * 86400);
	char *body = xasprintf("{\"ok\":true,\"user_id\":\"%s\",\"team_id\":\"%s\",\"csrf_token\":\"%s\"}",
			       u->id, u->org_id, csrf);
	log_info("invite accepted", "user=%s ip=%s", u->id, a->req->remote_ip);
	http_respond_owned(a->req, 200, "application/json; charset=utf-8", hdr, body, strlen(body));
	free(hdr);
	accept_free(a);
}

static void hash_done(uv_work_t *w, int status)
{
	accept_job *a = w->data;
	user *u = NULL;
	/* Checked again: another tab may have used the invite meanwhile. */
	token *t = invite_find(a->s, a->code, &u);
	if (status != 0 || !a->hash) {
		answer(a->req, "internal_error");
		accept_free(a);
		return;
	}
	if (!t) {
		answer(a->req, "invalid_invite");
		accept_free(a);
		return;
	}
	store_job *job = store_job_new(a->s->store);
	free(u->pwhash);
	u->pwhash = a->hash;
	a->hash = NULL;
	if (a->real_name && *a->real_name) {
		free(u->real_name);
		u->real_name = a->real_name;
		a->real_name = NULL;
	}
	u->updated = clock_now_s();
	store_put_user(job, u);
	t->revoked = true;   /* one use */
	store_put_token(job, t);
	snprintf(a->user_id, sizeof a->user_id, "%s", u->id);
	admin_env e = {.state = &a->s->state, .store = a->s->store, .base_url = a->s->base_url};
	a->session = admin_token_issue(&e, job, u, TOKEN_SESSION,
				       (int64_t)time(NULL) + SESSION_DAYS * 86400);
	store_submit(a->s->store, job, accept_committed, a);
}

static void invite_accept(canal_server *s, http_req *req, json_t *args)
{
	const char *code = json_string_value(json_object_get(args, "code"));
	const char *pw = json_string_value(json_object_get(args, "password"));
	json_t *rn = json_object_get(args, "real_name");
	if (!code || !pw || (rn && !json_is_string(rn))) {
		answer(req, "invalid_arguments");
		return;
	}
	user *u = NULL;
	if (!invite_find(s, code, &u)) {
		answer(req, "invalid_invite");
		return;
	}
	if (strlen(pw) < INVITE_MIN_PASSWORD) {
		answer(req, "password_too_short");
		return;
	}
	const char *real = json_string_value(rn);
	if (real && strlen(real) > 80) {
		answer(req, "invalid_name");
		return;
	}
	accept_job *a = xcalloc(1, sizeof *a);
	a->s = s;
	a->req = req;
	snprintf(a->code, sizeof a->code, "%s", code);
	a->password = xstrdup(pw);
	a->real_name = real ? xstrdup(real) : NULL;
	a->work.data = a;
	uv_queue_work(s->loop, &a->work, hash_work, hash_done);
}

void invite_route(canal_server *s, http_req *req, const char *rest)
{
	bool get = strcmp(req->method, "GET") == 0;
	if (!get && strcmp(req->method, "POST") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: GET, POST\r\n",
			     "use GET or POST\n", 16);
		return;
	}
	json_t *args = NULL;
	if (api_args_from_http(req->query, http_req_header(req, "content-type"), req->body,
			       req->body_len, &args) != 0) {
		answer(req, "invalid_arguments");
		return;
	}
	if (get)
		invite_info(s, req, args);
	else
		invite_accept(s, req, args);
	json_decref(args);
}
