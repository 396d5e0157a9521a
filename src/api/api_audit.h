/* Audit entries made by Web API handlers: the caller (user, and app for
 * bot tokens), its address and user agent come from the request. */
#ifndef CANAL_API_API_AUDIT_H
#define CANAL_API_API_AUDIT_H
#include "api/api.h"
#include "audit/audit.h"

/* Adds an entry to the request's job (committed with its changes);
 * details stolen (NULL for none). */
void api_audit(api_ctx *c, const char *action, const audit_entity *entity, json_t *details);

#endif
