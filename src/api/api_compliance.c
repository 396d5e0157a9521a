/* Compliance methods for organisation admins and owners:
 *   admin.conversations.setCustomRetention / getCustomRetention /
 *   removeCustomRetention   (Slack's, per channel)
 *   admin.retention.set / get / remove      (Canal's: the org's default,
 *                                            Slack has no Web API for it)
 *   admin.legalHolds.create / release / list (Canal's)
 * All need a user token of an admin or owner (not_an_admin otherwise);
 * the channel may be any conversation of the caller's organisation,
 * private ones included, as Slack's admin API allows; another org's
 * channel is channel_not_found. Every change is in the audit log. */
#include <stdlib.h>
#include <string.h>

#include "api/api_audit.h"
#include "api/handlers.h"
#include "compliance/policy.h"
#include "net/http.h"

void api_audit(api_ctx *c, const char *action, const audit_entity *entity, json_t *details)
{
	http_req *req = c->req;
	audit_actor by = {.user = c->me,
			  .app = c->app,
			  .ip = req ? req->remote_ip : NULL,
			  .ua = req ? http_req_header(req, "user-agent") : NULL};
	audit_record(api_job(c), c->env->state, c->org->id, &by, action, entity, details);
}

static void actor(api_ctx *c, audit_actor *by)
{
	http_req *req = c->req;
	*by = (audit_actor){.user = c->me,
			    .app = c->app,
			    .ip = req ? req->remote_ip : NULL,
			    .ua = req ? http_req_header(req, "user-agent") : NULL};
}

static int need_admin(api_ctx *c)
{
	return c->me && (c->me->is_admin || c->me->is_owner) && !c->me->is_bot ? 0
									       : ERR_NOT_AN_ADMIN;
}

/* An admin naming a channel of the org (channel_id). */
static int admin_channel(api_ctx *c, channel **out)
{
	const char *id;
	int err = need_admin(c);
	if (!err)
		err = api_str_req(c, "channel_id", &id);
	if (err)
		return err;
	channel *ch = core_channel_get(c->env->state, id);
	if (!ch || strcmp(ch->org_id, c->org->id) != 0)
		return ERR_CHANNEL_NOT_FOUND;
	*out = ch;
	return 0;
}

/* duration_days: a whole number 1 .. POLICY_MAX_DAYS. */
static int duration(api_ctx *c, int64_t *days)
{
	const char *v = api_str(c, "duration_days");
	if (!v || !*v)
		return api_missing(c, "duration_days");
	char *end;
	long long d = strtoll(v, &end, 10);
	if (end == v || *end || d < 1 || d > POLICY_MAX_DAYS)
		return ERR_INVALID_DURATION_DAYS;
	*days = d;
	return 0;
}

int api_admin_conversations_set_custom_retention(api_ctx *c)
{
	channel *ch;
	int64_t days;
	int err = admin_channel(c, &ch);
	if (!err)
		err = duration(c, &days);
	if (err)
		return err;
	audit_actor by;
	actor(c, &by);
	return policy_retention_set(c->env->state, c->env->store, api_job(c), &by, c->org->id, ch,
				    days);
}

int api_admin_conversations_get_custom_retention(api_ctx *c)
{
	channel *ch;
	int err = admin_channel(c, &ch);
	if (err)
		return err;
	store_retention p;
	bool found;
	err = store_retention_get(c->env->store, c->org->id, ch->id, &p, &found);
	if (err)
		return err;
	json_object_set_new(c->out, "is_policy_enabled", json_boolean(found));
	json_object_set_new(c->out, "duration_days", json_integer(found ? p.days : 0));
	return 0;
}

int api_admin_conversations_remove_custom_retention(api_ctx *c)
{
	channel *ch;
	int err = admin_channel(c, &ch);
	if (err)
		return err;
	audit_actor by;
	actor(c, &by);
	bool existed;
	return policy_retention_remove(c->env->state, c->env->store, api_job(c), &by, c->org->id, ch,
				       &existed);
}

/* team_id, if given, must be the caller's organisation. */
static int own_team(api_ctx *c)
{
	const char *t = api_str(c, "team_id");
	return t && *t && strcmp(t, c->org->id) != 0 ? ERR_TEAM_NOT_FOUND : 0;
}

int api_admin_retention_set(api_ctx *c)
{
	int err = need_admin(c);
	if (!err)
		err = own_team(c);
	if (err)
		return err;
	bool forever;
	if ((err = api_bool(c, "keep_forever", false, &forever)) != 0)
		return err;
	int64_t days = 0;
	if (!forever && (err = duration(c, &days)) != 0)
		return err;
	audit_actor by;
	actor(c, &by);
	err = policy_retention_set(c->env->state, c->env->store, api_job(c), &by, c->org->id, NULL,
				   days);
	if (!err) {
		json_object_set_new(c->out, "duration_days", json_integer(days));
		json_object_set_new(c->out, "keep_forever", json_boolean(days == 0));
	}
	return err;
}

int api_admin_retention_get(api_ctx *c)
{
	int err = need_admin(c);
	if (!err)
		err = own_team(c);
	if (err)
		return err;
	store_retention p;
	bool found;
	if ((err = store_retention_get(c->env->store, c->org->id, "", &p, &found)) != 0)
		return err;
	json_object_set_new(c->out, "team_id", json_string(c->org->id));
	json_object_set_new(c->out, "is_policy_enabled", json_boolean(found && p.days > 0));
	json_object_set_new(c->out, "duration_days", json_integer(found ? p.days : 0));
	json_object_set_new(c->out, "keep_forever", json_boolean(!found || p.days == 0));
	return 0;
}

int api_admin_retention_remove(api_ctx *c)
{
	int err = need_admin(c);
	if (!err)
		err = own_team(c);
	if (err)
		return err;
	audit_actor by;
	actor(c, &by);
	bool existed;
	return policy_retention_remove(c->env->state, c->env->store, api_job(c), &by, c->org->id,
				       NULL, &existed);
}

int api_admin_legal_holds_create(api_ctx *c)
{
	int err = need_admin(c);
	if (err)
		return err;
	const char *cid = api_str(c, "channel_id"), *uid = api_str(c, "user_id");
	bool has_c = cid && *cid, has_u = uid && *uid;
	if (has_c == has_u)
		return api_missing(c, "channel_id");
	channel *ch = NULL;
	user *u = NULL;
	if (has_c && (err = admin_channel(c, &ch)) != 0)
		return err;
	if (has_u) {
		u = core_user_get(c->env->state, uid);
		if (!u || strcmp(u->org_id, c->org->id) != 0)
			return ERR_USER_NOT_FOUND;
	}
	audit_actor by;
	actor(c, &by);
	store_hold h;
	err = policy_hold_add(c->env->state, api_job(c), &by, c->org->id, ch, u, api_str(c, "note"),
			      &h);
	if (err)
		return err;
	json_object_set_new(c->out, "hold", policy_hold_json(&h));
	free(h.note);
	return 0;
}

int api_admin_legal_holds_release(api_ctx *c)
{
	const char *id;
	int err = need_admin(c);
	if (!err)
		err = api_str_req(c, "hold_id", &id);
	if (err)
		return err;
	audit_actor by;
	actor(c, &by);
	return policy_hold_release(c->env->state, c->env->store, api_job(c), &by, c->org->id, id);
}

int api_admin_legal_holds_list(api_ctx *c)
{
	int err = need_admin(c);
	if (err)
		return err;
	store_hold *h;
	size_t n;
	if ((err = store_hold_list(c->env->store, c->org->id, &h, &n)) != 0)
		return err;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, policy_hold_json(&h[i]));
	store_holds_free(h, n);
	json_object_set_new(c->out, "holds", a);
	return 0;
}
