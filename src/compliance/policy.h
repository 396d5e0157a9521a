/* Retention policies and legal holds as domain operations, shared by the
 * admin CLI and the Web API: each validates, queues the change in the
 * job together with its audit entry, and reports what it did. */
#ifndef CANAL_COMPLIANCE_POLICY_H
#define CANAL_COMPLIANCE_POLICY_H
#include <stdint.h>

#include "audit/audit.h"
#include "core/state.h"
#include "store/store.h"

/* Longest policy accepted: 100 years. */
#define POLICY_MAX_DAYS 36500

/* Sets the retention of org_id (ch NULL) or of channel ch: days 1 ..
 * POLICY_MAX_DAYS, or 0 = keep forever. Audit: workspace_retention_changed
 * / channel_retention_changed with {previous_duration_days,
 * duration_days}. ERR_TEAM_NOT_FOUND, ERR_INVALID_DURATION_DAYS,
 * ERR_INTERNAL_ERROR (reading the previous policy). */
int policy_retention_set(core_state *s, store *st, store_job *j, const audit_actor *by,
			 const char *org_id, const channel *ch, int64_t days);
/* Removes the policy (the channel then follows its org; an org then
 * keeps everything). *existed tells whether there was one. */
int policy_retention_remove(core_state *s, store *st, store_job *j, const audit_actor *by,
			    const char *org_id, const channel *ch, bool *existed);
/* A legal hold on a channel or on a user (all their messages) of org_id:
 * out filled (its new id "H..."). Audit: legal_hold_policy_created. */
int policy_hold_add(core_state *s, store_job *j, const audit_actor *by, const char *org_id,
		    const channel *ch, const user *u, const char *note, store_hold *out);
/* Releases hold id of org_id. ERR_NOT_FOUND if there is no such live
 * hold. Audit: legal_hold_policy_released. */
int policy_hold_release(core_state *s, store *st, store_job *j, const audit_actor *by,
			const char *org_id, const char *id);
/* A hold as JSON (new reference). */
json_t *policy_hold_json(const store_hold *h);

#endif
