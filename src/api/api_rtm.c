/* rtm.connect: where a user or bot opens its real-time WebSocket.
 *
 * The answer carries a URL with a single-use ticket (rt_ticket_url, valid
 * 30 s) rather than the token itself, so the token never appears in a URL
 * (server logs, proxies). The socket then streams Slack's RTM events,
 * starting with {"type":"hello"} (rt/rt.h). A server started without the
 * real-time layer (env->rt NULL: offline CLI, unit tests) answers
 * service_unavailable. */
#include <stdlib.h>

#include "api/handlers.h"
#include "rt/rt.h"

int api_rtm_connect(api_ctx *c)
{
	if (!c->env->rt)
		return ERR_SERVICE_UNAVAILABLE;
	char *url = rt_ticket_url(c->env->rt, c->tok);
	if (!url)
		return ERR_SERVICE_UNAVAILABLE;
	json_object_set_new(c->out, "url", json_string(url));
	free(url);
	json_object_set_new(c->out, "team",
			    json_pack("{s:s,s:s,s:s}", "id", c->org->id, "name",
				      c->org->name ? c->org->name : "", "domain",
				      c->org->domain ? c->org->domain : ""));
	json_object_set_new(c->out, "self", json_pack("{s:s,s:s}", "id", c->me->id, "name",
						      c->me->name ? c->me->name : ""));
	return 0;
}
