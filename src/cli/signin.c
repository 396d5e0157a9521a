#include "cli/signin.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <time.h>

#include "admin/admin.h"
#include "base/log.h"
#include "base/xalloc.h"

#define SESSION_DAYS 30

typedef struct signin {
	uv_work_t work;
	canal_server *s;
	http_req *req;
	char *hash;      /* copy: the user may change while we verify */
	char *password;
	char user_id[ID_MAX];
	int ok;
	char *token;
} signin;

static void answer(http_req *req, int status, const char *error, const char *cookie)
{
	char *body = xasprintf("{\"ok\":false,\"error\":\"%s\"}", error);
	http_respond_owned(req, status, "application/json; charset=utf-8", cookie, body, strlen(body));
}

static void verify_work(uv_work_t *w)
{
	signin *si = w->data;
	si->ok = ids_password_check(si->hash, si->password);
}

static void session_committed(void *ud, int err)
{
	signin *si = ud;
	user *u = core_user_get(&si->s->state, si->user_id);
	if (err || !u) {
		answer(si->req, 200, err_name(err ? err : ERR_INTERNAL_ERROR), NULL);
	} else {
		char *cookie = xasprintf("Set-Cookie: canal_session=%s; Path=/; HttpOnly; SameSite=Lax; "
					 "Max-Age=%d\r\nCache-Control: no-store\r\n",
					 si->token, SESSION_DAYS * 86400);
		char *body = xasprintf("{\"ok\":true,\"token\":\"%s\",\"user_id\":\"%s\",\"team_id\":\"%s\"}",
				       si->token, u->id, u->org_id);
		/* Log before answering: the answer frees the request. */
		log_info("signed in", "user=%s ip=%s", u->id, si->req->remote_ip);
		http_respond_owned(si->req, 200, "application/json; charset=utf-8", cookie, body,
				   strlen(body));
		free(cookie);
	}
	free(si->token);
	free(si->hash);
	free(si);
}

static void verify_done(uv_work_t *w, int status)
{
	signin *si = w->data;
	sodium_memzero(si->password, strlen(si->password));
	free(si->password);
	si->password = NULL;
	user *u = core_user_get(&si->s->state, si->user_id);
	if (status != 0 || !si->ok || !u || u->deleted) {
		log_warn("sign-in failed", "user=%s ip=%s", si->user_id, si->req->remote_ip);
		answer(si->req, 200, "invalid_auth", NULL);
		free(si->hash);
		free(si);
		return;
	}
	admin_env e = {&si->s->state, si->s->store, si->s->base_url};
	store_job *job = store_job_new(si->s->store);
	si->token = admin_token_issue(&e, job, u, TOKEN_SESSION,
				      (int64_t)time(NULL) + SESSION_DAYS * 86400);
	store_submit(si->s->store, job, session_committed, si);
}

void signin_route(canal_server *s, http_req *req, const char *rest)
{
	if (strcmp(req->method, "POST") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: POST\r\n", "use POST\n", 9);
		return;
	}
	json_t *args = NULL;
	if (api_args_from_http(NULL, http_req_header(req, "content-type"), req->body, req->body_len,
			       &args) != 0) {
		answer(req, 200, "invalid_arguments", NULL);
		return;
	}
	const char *email = json_string_value(json_object_get(args, "email"));
	const char *pw = json_string_value(json_object_get(args, "password"));
	const char *team = json_string_value(json_object_get(args, "team"));
	if (!email || !pw || !*email || !*pw) {
		json_decref(args);
		answer(req, 200, "invalid_arguments", NULL);
		return;
	}
	/* Find the account: in the named team, else the first org that has
	 * this email (most servers hold one organisation). */
	user *u = NULL;
	if (team && *team) {
		u = core_user_by_email(&s->state, team, email);
	} else {
		size_t it = 0;
		void *v;
		while (!u && map_next(&s->state.orgs, &it, NULL, &v))
			u = core_user_by_email(&s->state, ((org *)v)->id, email);
	}
	signin *si = xcalloc(1, sizeof *si);
	si->s = s;
	si->req = req;
	si->password = xstrdup(pw);
	/* Unknown accounts still pay for one hash check, so response time
	 * does not reveal which emails exist. */
	static char *dummy;
	if (!dummy)
		dummy = ids_password_hash("canal-timing-equaliser");
	si->hash = xstrdup(u && u->pwhash && !u->deleted && !u->is_bot ? u->pwhash : dummy);
	if (u)
		snprintf(si->user_id, sizeof si->user_id, "%s", u->id);
	json_decref(args);
	si->work.data = si;
	uv_queue_work(s->loop, &si->work, verify_work, verify_done);
}

static void signout_committed(void *ud, int err)
{
	http_req *req = ud;
	http_respond(req, 200, "application/json; charset=utf-8",
		     "Set-Cookie: canal_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0\r\n",
		     "{\"ok\":true}", 11);
}

void signout_route(canal_server *s, http_req *req, const char *rest)
{
	if (strcmp(req->method, "POST") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: POST\r\n", "use POST\n", 9);
		return;
	}
	/* The session comes from the cookie or an Authorization header. */
	char tok[256] = "";
	const char *auth = http_req_header(req, "authorization");
	const char *cookie = http_req_header(req, "cookie");
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		snprintf(tok, sizeof tok, "%s", auth + 7);
	} else if (cookie) {
		const char *p = strstr(cookie, "canal_session=");
		if (p) {
			p += 14;
			size_t n = strcspn(p, "; ");
			snprintf(tok, sizeof tok, "%.*s", (int)n, p);
		}
	}
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(tok, hash);
	token *t = tok[0] ? core_token_get(&s->state, hash) : NULL;
	if (!t || t->kind != TOKEN_SESSION || t->revoked) {
		answer(req, 200, "invalid_auth", NULL);
		return;
	}
	t->revoked = true;
	store_job *job = store_job_new(s->store);
	store_put_token(job, t);
	store_submit(s->store, job, signout_committed, req);
}
