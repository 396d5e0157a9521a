/* Incoming webhooks: POST /services/<T>/<B>/<secret>. */
#ifndef CANAL_CLI_WEBHOOK_ROUTE_H
#define CANAL_CLI_WEBHOOK_ROUTE_H
#include "cli/routes.h"

/* The route handler for "/services/" (rest = "<T>/<B>/<secret>"). */
void webhook_route(canal_server *s, http_req *req, const char *rest);

#endif
