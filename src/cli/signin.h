/* Password sign-in for people (the browser client): POST /auth/signin
 * with email + password (form or JSON, optional team) answers
 * {"ok":true,"token":"xoxc-...","user_id","team_id"} and sets an HttpOnly,
 * SameSite=Lax session cookie; POST /auth/signout revokes the session.
 * The argon2id check runs on the thread pool: it takes ~50 ms and 64 MiB
 * and must not stall the event loop. Repeated failures from one address
 * lock it out with HTTP 429 + Retry-After (signin.c). */
#ifndef CANAL_CLI_SIGNIN_H
#define CANAL_CLI_SIGNIN_H
#include "cli/routes.h"

void signin_route(canal_server *s, http_req *req, const char *rest);
void signout_route(canal_server *s, http_req *req, const char *rest);
/* GET /auth/session: for the page, the live session in its cookie:
 * {"ok":true,"user_id","team_id","csrf_token"} or not_authed. */
void session_route(canal_server *s, http_req *req, const char *rest);
/* Frees the per-address lockout table (at exit). */
void signin_limits_free(void);

#endif
