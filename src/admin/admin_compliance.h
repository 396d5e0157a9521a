/* The compliance commands of `canal admin` (admin_compliance.c):
 * retention policies and runs, legal holds, audit log and organisation
 * exports. Private to src/admin/. */
#ifndef CANAL_ADMIN_ADMIN_COMPLIANCE_H
#define CANAL_ADMIN_ADMIN_COMPLIANCE_H
#include <jansson.h>

#include "admin/admin.h"

struct admin_opts;
/* An option's value (admin.c's parser), NULL if absent. */
const char *admin_opt(const struct admin_opts *o, const char *name);

int admin_cmd_retention_set(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out);
int admin_cmd_retention_remove(admin_env *e, store_job *job, const struct admin_opts *o,
			       json_t **out);
int admin_cmd_retention_show(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out);
int admin_cmd_retention_run(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out);
int admin_cmd_hold_add(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out);
int admin_cmd_hold_release(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out);
int admin_cmd_hold_list(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out);
int admin_cmd_audit_export(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out);
int admin_cmd_export(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out);

#endif
