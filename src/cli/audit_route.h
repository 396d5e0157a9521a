/* Slack's Audit Logs API, served by Canal: GET /audit/v1/logs. */
#ifndef CANAL_CLI_AUDIT_ROUTE_H
#define CANAL_CLI_AUDIT_ROUTE_H
#include "cli/routes.h"

/* The route handler for "/audit/v1/" (rest = "logs", "actions" or
 * "schemas"). */
void audit_route(canal_server *s, http_req *req, const char *rest);

#endif
