/* Invite links in the browser: `canal admin user create --invite` and the
 * first start print /invite/<code>; the page (web/js/invite.js) asks
 * GET /auth/invite?code=... who the invite is for, then
 * POST /auth/invite with code, password and an optional real_name sets the
 * person's password, uses the invite up and signs them in (the same answer
 * and cookie as /auth/signin). */
#ifndef CANAL_CLI_INVITE_H
#define CANAL_CLI_INVITE_H
#include "cli/routes.h"

#define INVITE_MIN_PASSWORD 8

void invite_route(canal_server *s, http_req *req, const char *rest);
/* A new invite code for u (first start: the owner's setup link), valid for
 * 14 days; the caller frees it. */
char *invite_issue(canal_server *s, store_job *job, const user *u);

#endif
