/* Administration: creating organisations, people and apps, resetting
 * passwords, revoking tokens. One implementation serves three callers:
 * `canal admin ...` on a stopped server (offline: the CLI opens the store
 * itself), the same command against a running server (sent over the
 * admin socket, executed in the server's loop so hot state stays right),
 * and the first-start bootstrap of `canal serve`. */
#ifndef CANAL_ADMIN_ADMIN_H
#define CANAL_ADMIN_ADMIN_H
#include <jansson.h>

#include "core/state.h"
#include "store/store.h"

struct uv_loop_s;
struct retention;
typedef struct admin_later admin_later;

typedef struct admin_env {
	core_state *state;
	store *store;
	const char *base_url;
	/* For commands that go on after their job commits (admin_later):
	 * the server's loop (NULL offline), its data directory and its
	 * retention job (NULL offline: a run then happens in the command). */
	struct uv_loop_s *loop;
	const char *data_dir;
	struct retention *retention;
	/* Set by such a command (retention run, export): the caller starts
	 * it with admin_later_start once the command's job has committed, or
	 * drops it with admin_later_free if the job failed. */
	admin_later *later;
} admin_env;

/* The rest of a command (admin_compliance.c): runs after the commit, on
 * a worker thread or through the store's writer, never holding the loop;
 * done(ud, rc, result) is called once (before return offline, where
 * everything is synchronous), result then belongs to done. l is freed. */
typedef void (*admin_later_done)(void *ud, int rc, json_t *result);
void admin_later_start(admin_later *l, admin_later_done done, void *ud);
void admin_later_free(admin_later *l);
/* Server shutdown: true if exports are still running on worker threads;
 * then cb(ud) is called (once) when the last one has finished. */
bool admin_later_wait(void (*cb)(void *ud), void *ud);

/* Domain operations. Each changes hot state and queues the change in job.
 * Heap strings returned through token outputs belong to the caller. */
int admin_org_create(admin_env *e, store_job *job, const char *name, const char *domain,
		     org **out);
int admin_user_create(admin_env *e, store_job *job, const char *org_id, const char *name,
		      const char *email, const char *password, const char *real_name, bool is_admin,
		      bool is_owner, user **out, char **user_token, char **invite_code);
int admin_app_create(admin_env *e, store_job *job, const char *org_id, const char *name,
		     const char *scopes, app **out, char **bot_token, char **app_token);
/* An incoming webhook of app_id posting into chan (id, or name in the
 * app's org), made by user_id (may be NULL). The app's bot joins the
 * channel if it is not a member. The secret (heap, the caller's) goes in
 * the URL <base>/services/<org>/<bot id>/<secret>; only its hash is kept. */
int admin_webhook_create(admin_env *e, store_job *job, const char *app_id, const char *chan,
			 const char *user_id, webhook **out, char **secret);
/* New token for a user (xoxp, full access) or a session (xoxc, expires). */
char *admin_token_issue(admin_env *e, store_job *job, const user *u, token_kind kind,
			int64_t expires);

/* Runs one admin command given as argv (without "canal admin"), e.g.
 * ["user","create","--org","T1","--name","alice",...]. On success returns
 * 0 and a JSON result in *out; on failure an ERR_* or -1 with a message in
 * *out ({"error": "..."}). The command's writes are queued in job; the
 * caller submits it and reports the result after the commit. */
int admin_exec(admin_env *e, store_job *job, int argc, char **argv, json_t **out);
/* Human-readable rendering of a result for the terminal. */
char *admin_format_human(const json_t *result);
/* The usage text. */
const char *admin_usage(void);

#endif
