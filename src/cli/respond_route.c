/* The response URL route: an app answers an interaction by POSTing JSON
 * to {base_url}/respond/<id> (no token: the id is the grant). */
#include "cli/respond_route.h"

#include "api/api_interact.h"

void respond_route(canal_server *s, http_req *req, const char *rest)
{
	api_respond_http(&s->env, req, rest);
}
