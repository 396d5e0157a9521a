#include "cli/signin.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <time.h>

#include "admin/admin.h"
#include "audit/audit.h"
#include "api/api_session.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "base/xalloc.h"

#define SESSION_DAYS 30

/* ---- per-address lockout ----
 *
 * max failures (setting signin-max-failures, 5) from one address within
 * LOCK_WINDOW lock it out for signin-lockout-seconds (60), then twice as
 * long after each further lockout, up to LOCK_MAX_FACTOR times that (an
 * hour): every sign-in from it, right password or not, gets HTTP 429 +
 * Retry-After and {"ok":false,"error":"ratelimited"} without a password
 * check. Attempts still being checked count as failures-to-be, so a burst
 * of parallel guesses cannot slip past the limit. An address is forgotten
 * (its doubling too) once it has been quiet for LOCK_WINDOW, or for the
 * longest lockout after one. IPv6 addresses count per /64, the block one
 * host usually controls. Success resets nothing: knowing one password
 * must not buy more guesses at others. */
#define LOCK_WINDOW_US (15 * 60 * 1000000LL)
#define LOCK_MAX_FACTOR 60
#define LOCK_MAX_ADDRS 100000

typedef struct guard {
	int fails;          /* in the window that started at window_us */
	int pending;        /* attempts being checked now */
	int level;          /* lockouts so far: the next lasts lock_first_s << level */
	int64_t window_us;
	int64_t last_us;    /* last attempt */
	int64_t until_us;   /* locked until */
} guard;

static map guards;      /* address key -> guard* */

static void addr_key(const char *ip, char *out, size_t n)
{
	unsigned char a[16];
	if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, v4mapped, 12) == 0) {
			inet_ntop(AF_INET, a + 12, out, (socklen_t)n);
			return;
		}
		memset(a + 8, 0, 8);
		char net[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, a, net, sizeof net);
		snprintf(out, n, "%s/64", net);
		return;
	}
	snprintf(out, n, "%s", ip);
}

static int64_t lock_first_s = 60;

static bool guard_forgettable(const guard *g, int64_t now)
{
	return g->pending == 0 && now >= g->until_us &&
	       now - g->last_us >
		       (g->level ? lock_first_s * LOCK_MAX_FACTOR * 1000000 : LOCK_WINDOW_US);
}

static guard *guard_get(const char *key, int64_t now, bool create)
{
	guard *g = map_get(&guards, key);
	if (g && guard_forgettable(g, now)) {
		map_del(&guards, key);
		free(g);
		g = NULL;
	}
	if (g || !create)
		return g;
	if (guards.count >= LOCK_MAX_ADDRS) {
		size_t it = 0;
		const char *k;
		void *v;
		while (map_next(&guards, &it, &k, &v))
			if (guard_forgettable(v, now)) {
				free(v);
				map_del(&guards, k);
			}
		if (guards.count >= LOCK_MAX_ADDRS)
			return NULL;   /* full of live lockouts: this one goes unwatched */
	}
	g = xcalloc(1, sizeof *g);
	g->window_us = g->last_us = now;
	map_put(&guards, key, g);
	return g;
}

/* 0 if an attempt from key may go ahead (it is then pending), else the
 * seconds it must wait. */
static int guard_admit(canal_server *s, const char *key)
{
	long max = s->cfg.signin_max_failures;
	if (max <= 0)
		return 0;
	lock_first_s = s->cfg.signin_lockout_seconds > 0 ? s->cfg.signin_lockout_seconds : 1;
	int64_t now = clock_now_us();
	guard *g = guard_get(key, now, true);
	if (!g)
		return 0;
	if (now < g->until_us)
		return (int)((g->until_us - now + 999999) / 1000000);
	if (now - g->window_us > LOCK_WINDOW_US) {
		g->fails = 0;
		g->window_us = now;
	}
	if (g->fails + g->pending >= max)
		return 1;       /* the attempts in flight decide */
	g->pending++;
	g->last_us = now;
	return 0;
}

/* The outcome of an admitted attempt. */
static void guard_done(canal_server *s, const char *key, bool failed)
{
	long max = s->cfg.signin_max_failures;
	if (max <= 0)
		return;
	int64_t now = clock_now_us();
	guard *g = map_get(&guards, key);
	if (!g)
		return;
	if (g->pending > 0)
		g->pending--;
	if (!failed)
		return;
	g->last_us = now;
	if (now - g->window_us > LOCK_WINDOW_US) {
		g->fails = 0;
		g->window_us = now;
	}
	if (++g->fails < max)
		return;
	int64_t secs = lock_first_s << (g->level < 6 ? g->level : 6);
	if (secs > lock_first_s * LOCK_MAX_FACTOR)
		secs = lock_first_s * LOCK_MAX_FACTOR;
	g->until_us = now + secs * 1000000;
	g->level++;
	g->fails = 0;
	g->window_us = g->until_us;
	log_warn("sign-in locked out", "addr=%s failures=%ld seconds=%lld", key, max, (long long)secs);
}

void signin_limits_free(void)
{
	size_t it = 0;
	void *v;
	while (map_next(&guards, &it, NULL, &v))
		free(v);
	map_release(&guards);
}

static void answer_locked(http_req *req, int secs)
{
	char hdr[64];
	snprintf(hdr, sizeof hdr, "Retry-After: %d\r\n", secs < 1 ? 1 : secs);
	static const char body[] = "{\"ok\":false,\"error\":\"ratelimited\"}";
	http_respond(req, 429, "application/json; charset=utf-8", hdr, body, sizeof body - 1);
}

typedef struct signin {
	uv_work_t work;
	canal_server *s;
	http_req *req;
	char *hash;      /* copy: the user may change while we verify */
	char *password;
	char user_id[ID_MAX];
	char addr[80];   /* lockout key of the caller's address */
	char org_id[ID_MAX]; /* the account's org, else the named team's (audit) */
	char *email;     /* as given, for the audit entry of an unknown account */
	char *ua;
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
		char csrf[API_CSRF_MAX];
		api_session_csrf(si->token, csrf);
		char *body = xasprintf("{\"ok\":true,\"token\":\"%s\",\"user_id\":\"%s\",\"team_id\":\"%s\","
				       "\"csrf_token\":\"%s\"}",
				       si->token, u->id, u->org_id, csrf);
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
	bool failed = status != 0 || !si->ok || !u || u->deleted;
	guard_done(si->s, si->addr, failed);
	if (failed) {
		log_warn("sign-in failed", "user=%s ip=%s", si->user_id, si->req->remote_ip);
		/* Bounded by the lockout: a few entries per address per window. */
		audit_actor by = {.user = u, .ip = si->req->remote_ip, .ua = si->ua};
		audit_entity en = {.user = u};
		audit_record_now(si->s->store, &si->s->state, si->org_id, &by, "user_login_failed",
				 u ? &en : NULL,
				 u ? json_pack("{s:s}", "reason", u->deleted ? "account_inactive"
									     : "invalid_password")
				   : json_pack("{s:s,s:s}", "reason", "unknown_account", "email",
					       si->email));
		free(si->email);
		free(si->ua);
		answer(si->req, 200, "invalid_auth", NULL);
		free(si->hash);
		free(si);
		return;
	}
	admin_env e = {.state = &si->s->state, .store = si->s->store, .base_url = si->s->base_url};
	store_job *job = store_job_new(si->s->store);
	si->token = admin_token_issue(&e, job, u, TOKEN_SESSION,
				      (int64_t)time(NULL) + SESSION_DAYS * 86400);
	audit_actor by = {.user = u, .ip = si->req->remote_ip, .ua = si->ua};
	audit_entity en = {.user = u};
	audit_record(job, &si->s->state, u->org_id, &by, "user_login", &en,
		     json_pack("{s:s}", "type", "password"));
	free(si->email);
	free(si->ua);
	si->email = si->ua = NULL;
	store_submit(si->s->store, job, session_committed, si);
}

void signin_route(canal_server *s, http_req *req, const char *rest)
{
	if (strcmp(req->method, "POST") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: POST\r\n", "use POST\n", 9);
		return;
	}
	char addr[80];
	addr_key(req->remote_ip, addr, sizeof addr);
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
	int wait = guard_admit(s, addr);
	if (wait) {
		json_decref(args);
		answer_locked(req, wait);
		return;
	}
	signin *si = xcalloc(1, sizeof *si);
	si->s = s;
	si->req = req;
	memcpy(si->addr, addr, sizeof si->addr);
	si->password = xstrdup(pw);
	/* Unknown accounts still pay for one hash check, so response time
	 * does not reveal which emails exist. */
	static char *dummy;
	if (!dummy)
		dummy = ids_password_hash("canal-timing-equaliser");
	si->hash = xstrdup(u && u->pwhash && !u->deleted && !u->is_bot ? u->pwhash : dummy);
	if (u)
		snprintf(si->user_id, sizeof si->user_id, "%s", u->id);
	org *named = team && *team ? core_org_get(&s->state, team) : NULL;
	snprintf(si->org_id, sizeof si->org_id, "%s", u ? u->org_id : named ? named->id : "");
	si->email = xstrdup(email);
	const char *ua = http_req_header(req, "user-agent");
	si->ua = xstrdup(ua ? ua : "");
	json_decref(args);
	si->work.data = si;
	uv_queue_work(s->loop, &si->work, verify_work, verify_done);
}

typedef struct signout {
	canal_server *s;
	http_req *req;
	char hash[TOKEN_HASH_HEX];
} signout;

/* Once the revocation is durable, the session's sockets close too (its
 * other tabs notice and go back to the sign-in page). */
static void signout_committed(void *ud, int err)
{
	signout *so = ud;
	token *t = core_token_get(&so->s->state, so->hash);
	if (t && so->s->rt)
		rt_drop_token_sessions(so->s->rt, t);
	http_respond(so->req, 200, "application/json; charset=utf-8",
		     "Set-Cookie: canal_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0\r\n",
		     "{\"ok\":true}", 11);
	free(so);
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
		/* Signing out by cookie alone is a state change another site
		 * could trigger: a browser's Origin must be this server. */
		if (!api_same_origin(req)) {
			answer(req, 403, "invalid_auth", NULL);
			return;
		}
		api_cookie_value(cookie, "canal_session", tok, sizeof tok);
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
	user *u = core_user_get(&s->state, t->user_id);
	if (u) {
		audit_actor by = {.user = u, .ip = req->remote_ip,
				  .ua = http_req_header(req, "user-agent")};
		audit_entity en = {.user = u};
		audit_record(job, &s->state, u->org_id, &by, "user_logout", &en, NULL);
	}
	signout *so = xcalloc(1, sizeof *so);
	so->s = s;
	so->req = req;
	memcpy(so->hash, t->hash, sizeof so->hash);
	store_submit(s->store, job, signout_committed, so);
}

/* The session in the request's cookie if it is live: a session token, not
 * revoked or expired, its person active. */
static user *cookie_session(canal_server *s, const http_req *req, char *secret, size_t cap)
{
	if (api_cookie_value(http_req_header(req, "cookie"), "canal_session", secret, cap) != 0)
		return NULL;
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(secret, hash);
	token *t = core_token_get(&s->state, hash);
	if (!t || t->kind != TOKEN_SESSION || t->revoked ||
	    (t->expires && t->expires <= (int64_t)time(NULL)))
		return NULL;
	user *u = core_user_get(&s->state, t->user_id);
	return u && !u->deleted && strcmp(u->org_id, t->org_id) == 0 ? u : NULL;
}

void session_route(canal_server *s, http_req *req, const char *rest)
{
	if (strcmp(req->method, "GET") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: GET\r\n", "use GET\n", 8);
		return;
	}
	char secret[256];
	user *u = cookie_session(s, req, secret, sizeof secret);
	if (!u) {
		answer(req, 200, "not_authed", "Cache-Control: no-store\r\n");
		return;
	}
	char csrf[API_CSRF_MAX];
	api_session_csrf(secret, csrf);
	sodium_memzero(secret, sizeof secret);
	/* No CORS headers: another origin cannot read this answer. */
	char *body = xasprintf("{\"ok\":true,\"user_id\":\"%s\",\"team_id\":\"%s\",\"csrf_token\":\"%s\"}",
			       u->id, u->org_id, csrf);
	http_respond_owned(req, 200, "application/json; charset=utf-8", "Cache-Control: no-store\r\n",
			   body, strlen(body));
}
