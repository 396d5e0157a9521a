/* The audit log: who did what security- or admin-relevant thing, when,
 * from where. One call for the rest of the code, audit_record(), which
 * adds the entry to the store job of the action it describes, so an
 * entry commits with its action or not at all. Entries are append-only
 * (the table refuses UPDATE and DELETE, migration 5).
 *
 * An entry has the shape of Slack's Audit Logs API (GET /audit/v1/logs):
 *   {id, date_create, action,
 *    actor:{type:"user", user:{id,name,email,team}},
 *    entity:{type:"user"|"channel"|"workspace"|"app"|"file", <type>:{...}},
 *    context:{location:{type:"workspace",id,name,domain}, ua, ip_address},
 *    details:{...}}
 * The names and emails are snapshots taken when the entry is made.
 *
 * Actions recorded (Slack's names where Slack has one):
 *   user_login, user_login_failed, user_logout, user_created,
 *   user_deactivated, role_change_to_admin, role_change_to_owner,
 *   role_change_to_user, user_token_created, user_token_revoked,
 *   app_installed, app_uninstalled, public_channel_archive,
 *   private_channel_archive, public_channel_unarchive,
 *   private_channel_unarchive, channel_converted_to_private,
 *   workspace_retention_changed, channel_retention_changed,
 *   legal_hold_policy_created, legal_hold_policy_released,
 *   manual_export_started, manual_export_completed,
 *   file_deleted, file_public_link_created, file_public_link_revoked,
 *   file_access_revoked, file_access_restored (entity "file"; the last
 *   two are Canal's: Slack has no action for an admin's revocation). */
#ifndef CANAL_AUDIT_AUDIT_H
#define CANAL_AUDIT_AUDIT_H
#include <jansson.h>

#include "core/state.h"
#include "store/store.h"

/* Who acted. user NULL: nobody signed in (a failed sign-in of an unknown
 * email; "anonymous"), or Canal itself when system is set (the retention
 * job, the admin CLI run by the server's operator). app: the acting app,
 * for bot and app tokens. ip and ua may be NULL. */
typedef struct audit_actor {
	const user *user;
	const app *app;
	const char *ip;
	const char *ua;
	bool system;     /* the operator (admin CLI) or a background job */
} audit_actor;

/* What was acted on: exactly one of the pointers (or the file fields). */
typedef struct audit_entity {
	const user *user;
	const channel *channel;
	const org *workspace;
	const app *app;
	const char *file_id;     /* files: id, and name/title/filetype if known */
	const char *file_name;
	const char *file_title;
	const char *file_type;
} audit_entity;

/* Adds an entry to j. org_id: the organisation it belongs to ("" or NULL:
 * none). details: a JSON object or NULL, stolen. s gives names for the
 * context (the org's name and domain). */
void audit_record(store_job *j, core_state *s, const char *org_id, const audit_actor *actor,
		  const char *action, const audit_entity *entity, json_t *details);
/* The same as a job of its own, submitted now (for events that change
 * nothing else: a failed sign-in, an export). */
void audit_record_now(store *st, core_state *s, const char *org_id, const audit_actor *actor,
		      const char *action, const audit_entity *entity, json_t *details);

/* The entity object of Slack's shape for e (new reference). */
json_t *audit_entity_json(const audit_entity *e);

#endif
