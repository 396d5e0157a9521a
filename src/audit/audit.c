/* Audit entries: built here in Slack's shape, stored by the store job
 * of the action (store_audit_append), streamed to a SIEM by
 * audit_sink.c, which tails the table. */
#include "audit/audit.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/ids.h"
#include "base/xalloc.h"

/* The actor Slack shows when no person acted. */
#define AUDIT_SYSTEM_USER "USLACKUSER"

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* A random RFC 4122 version-4 id, as Slack's entry ids look. */
static void entry_id(char out[40])
{
	char *hex = ids_secret_hex(16);
	hex[12] = '4';
	static const char variant[] = "89ab";
	hex[16] = variant[(unsigned char)hex[16] % 4];
	snprintf(out, 40, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	free(hex);
}

static json_t *user_obj(const user *u)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "id", u->id, "name", nz(u->name), "email",
			 nz(u->email), "team", u->org_id);
}

static const char *privacy(const channel *ch)
{
	switch (ch->kind) {
	case CHAN_PRIVATE:
		return "private";
	case CHAN_IM:
		return "im";
	case CHAN_MPIM:
		return "mpim";
	default:
		return "public";
	}
}

json_t *audit_entity_json(const audit_entity *e)
{
	if (!e)
		return json_null();
	if (e->user)
		return json_pack("{s:s,s:o}", "type", "user", "user", user_obj(e->user));
	if (e->channel)
		return json_pack("{s:s,s:{s:s,s:s,s:s,s:b,s:b}}", "type", "channel", "channel", "id",
				 e->channel->id, "name", nz(e->channel->name), "privacy",
				 privacy(e->channel), "is_shared", 0, "is_org_shared", 0);
	if (e->workspace)
		return json_pack("{s:s,s:{s:s,s:s,s:s}}", "type", "workspace", "workspace", "id",
				 e->workspace->id, "name", nz(e->workspace->name), "domain",
				 nz(e->workspace->domain));
	if (e->app) {
		json_t *scopes = json_array();
		const char *p = nz(e->app->scopes);
		while (*p) {
			size_t n = strcspn(p, ",");
			if (n)
				json_array_append_new(scopes, json_stringn(p, n));
			p += n + (p[n] == ',');
		}
		return json_pack("{s:s,s:{s:s,s:s,s:b,s:b,s:o}}", "type", "app", "app", "id",
				 e->app->id, "name", nz(e->app->name), "is_distributed", 0,
				 "is_directory_approved", 0, "scopes", scopes);
	}
	if (e->file_id)
		return json_pack("{s:s,s:{s:s,s:s,s:s,s:s}}", "type", "file", "file", "id", e->file_id,
				 "name", nz(e->file_name), "title", nz(e->file_title), "filetype",
				 nz(e->file_type));
	return json_null();
}

static const char *entity_id(const audit_entity *e)
{
	if (!e)
		return NULL;
	if (e->user)
		return e->user->id;
	if (e->channel)
		return e->channel->id;
	if (e->workspace)
		return e->workspace->id;
	if (e->app)
		return e->app->id;
	return e->file_id;
}

void audit_record(store_job *j, core_state *s, const char *org_id, const audit_actor *actor,
		  const char *action, const audit_entity *entity, json_t *details)
{
	static const audit_actor nobody = {0};
	if (!actor)
		actor = &nobody;
	char id[40];
	entry_id(id);
	int64_t now = clock_now_s();
	const char *actor_id = NULL;
	json_t *au;
	if (actor->user) {
		au = user_obj(actor->user);
		actor_id = actor->user->id;
	} else if (actor->system) {
		au = json_pack("{s:s,s:s,s:s}", "id", AUDIT_SYSTEM_USER, "name", "Canal", "email", "");
		actor_id = AUDIT_SYSTEM_USER;
	} else {
		au = json_pack("{s:s,s:s,s:s}", "id", "", "name", "", "email", "");
	}
	json_t *actor_json = json_pack("{s:s,s:o}", "type", "user", "user", au);
	if (actor->app)
		json_object_set_new(actor_json, "app",
				    json_pack("{s:s,s:s}", "id", actor->app->id, "name",
					      nz(actor->app->name)));
	org *o = org_id && *org_id ? core_org_get(s, org_id) : NULL;
	json_t *loc = o ? json_pack("{s:s,s:s,s:s,s:s}", "type", "workspace", "id", o->id, "name",
				    nz(o->name), "domain", nz(o->domain))
			: json_pack("{s:s,s:s,s:s,s:s}", "type", "workspace", "id", "", "name", "",
				    "domain", "");
	json_t *entry = json_pack("{s:s,s:I,s:s,s:o,s:o,s:{s:o,s:s,s:s}}", "id", id, "date_create",
				  (json_int_t)now, "action", action, "actor", actor_json, "entity",
				  audit_entity_json(entity), "context", "location", loc, "ua",
				  nz(actor->ua), "ip_address", nz(actor->ip));
	json_object_set_new(entry, "details", details && json_is_object(details) ? details
										   : json_object());
	if (details && !json_is_object(details))
		json_decref(details);
	char *text = json_dumps(entry, JSON_COMPACT);
	store_audit_append(j, id, o ? o->id : NULL, now, action, actor_id, entity_id(entity), text);
	free(text);
	json_decref(entry);
}

static void now_done(void *ud, int err)
{
	(void)ud;
	(void)err;   /* the store logs a failed commit */
}

void audit_record_now(store *st, core_state *s, const char *org_id, const audit_actor *actor,
		      const char *action, const audit_entity *entity, json_t *details)
{
	store_job *j = store_job_new(st);
	audit_record(j, s, org_id, actor, action, entity, details);
	store_submit(st, j, now_done, NULL);
}
