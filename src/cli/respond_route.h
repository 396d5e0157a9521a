/* POST /respond/<id>: response URLs handed to apps with slash commands,
 * block actions and shortcuts (api_respond.c does the work). */
#ifndef CANAL_CLI_RESPOND_ROUTE_H
#define CANAL_CLI_RESPOND_ROUTE_H
#include "cli/routes.h"

void respond_route(canal_server *s, http_req *req, const char *rest);

#endif
