/* Organisation export in Slack's export layout, and the audit log as
 * JSON lines.
 *
 * An export is prepared on the loop thread (export_*_prepare: the hot
 * state it needs, users, conversations and memberships, is rendered
 * there into the job, a few kilobytes per person and channel) and then
 * run anywhere (export_run: a worker thread in the server, the calling
 * thread offline) over a read-only connection of its own, streaming
 * messages one at a time to the day files. The loop never waits on it.
 *
 * Layout written into out_dir (a directory; Slack delivers the same
 * tree as a zip): users.json, channels.json (public), groups.json
 * (private), dms.json, mpims.json, and per conversation a folder (the
 * channel's name; a DM's id) of <YYYY-MM-DD>.json arrays of messages,
 * days in UTC, messages oldest first, as Slack's export shows them. */
#ifndef CANAL_COMPLIANCE_EXPORT_H
#define CANAL_COMPLIANCE_EXPORT_H
#include <jansson.h>
#include <stdint.h>

#include "core/state.h"

typedef struct export_job export_job;

/* The organisation org_id of s into out_dir (created if missing; must be
 * empty if it exists). data_dir: where canal.db lives. NULL and *err
 * (ERR_TEAM_NOT_FOUND, ERR_ALREADY_EXISTS...) on failure. */
export_job *export_org_prepare(core_state *s, const char *base_url, const char *data_dir,
			       const char *org_id, const char *out_dir, int *err);
/* The audit entries of org_id (NULL: all) since (unix seconds) as JSON
 * lines, into out_path, or kept in memory for export_result when
 * out_path is NULL. */
export_job *export_audit_prepare(const char *data_dir, const char *org_id, int64_t since,
				 const char *out_path);
/* Does the work (any thread). 0 or an ERR_*; export_result says more. */
int export_run(export_job *x);
/* export_run's outcome again: 0 or its ERR_*. */
int export_run_result(export_job *x);
/* The outcome as JSON (new reference): counts and paths, or
 * {"error":...}; for an in-memory audit export, "jsonl": the lines. */
json_t *export_result(export_job *x);
const char *export_org_id(export_job *x);
void export_free(export_job *x);

#endif
