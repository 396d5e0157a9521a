/* apps.connections.open: where a Socket Mode app gets its WebSocket URL.
 *
 * App-level tokens (xapp-) only (the method table refuses the others with
 * not_allowed_token_type), with the connections:write scope. Slack wants
 * the token in the Authorization header and refuses it as a body
 * argument; we accept both, as every other method does.
 *
 * The answer is {"ok":true,"url":"ws://host/link/?ticket=...&app_id=A..."}
 * with a single-use ticket valid 30 s (apps_socket_url). Slack also
 * requires Socket Mode to be enabled for the app; we allow any app that
 * asks: an app that connects gets its events and interactions over its
 * sockets while they are open (and over its request URL, if it has one,
 * while none is), so a missing manifest switch never strands an app. A
 * server without the apps runtime (env->apps NULL: offline CLI, unit
 * tests) answers service_unavailable. */
#include <stdlib.h>

#include "api/handlers.h"
#include "rt/apps.h"

int api_apps_connections_open(api_ctx *c)
{
	int err = api_need_scope(c, "connections:write");
	if (err)
		return err;
	if (!c->app || c->app->deleted)
		return ERR_INVALID_AUTH;
	if (!c->env->apps)
		return ERR_SERVICE_UNAVAILABLE;
	char *url = apps_socket_url(c->env->apps, c->app);
	if (!url)
		return ERR_SERVICE_UNAVAILABLE;
	json_object_set_new(c->out, "url", json_string(url));
	free(url);
	return 0;
}
