/* The browser session on the Web API: a page signed in with the HttpOnly
 * canal_session cookie cannot read that cookie, so each session also has
 * a CSRF token ("csrf-" + 64 hex), derived from the session secret and
 * handed to the page by /auth/signin and GET /auth/session. A Web API call
 * authenticates with the cookie only when it carries that CSRF token as its
 * token (Authorization: Bearer csrf-..., or token=csrf-... in the form, as
 * Slack's own web client posts its xoxc token). A cross-site page can make
 * the browser send the cookie but cannot know the CSRF token, and the
 * token alone, without the cookie, authenticates nothing. */
#ifndef CANAL_API_API_SESSION_H
#define CANAL_API_API_SESSION_H
#include <stdbool.h>
#include <stddef.h>

#include "net/http.h"

#define API_CSRF_PREFIX "csrf-"
#define API_CSRF_MAX 70 /* "csrf-" + 64 hex + NUL */

/* The CSRF token of the session whose secret is given. */
void api_session_csrf(const char *secret, char out[API_CSRF_MAX]);
/* Value of cookie name in a Cookie header ("a=1; b=2") into out;
 * 0, or -1 when absent, empty or longer than cap - 1. */
int api_cookie_value(const char *hdr, const char *name, char *out, size_t cap);
/* If csrf is the CSRF token of the session in req's canal_session cookie,
 * copies that session's secret into out and returns true. */
bool api_session_resolve(const http_req *req, const char *csrf, char *out, size_t cap);

/* False when a browser's Origin header names another origin than this
 * server (Host): for state changes and sockets authenticated by cookie. */
bool api_same_origin(const http_req *req);

#endif
