/* Retention policy and legal hold operations (policy.h). */
#include "compliance/policy.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/ids.h"
#include "base/xalloc.h"
#include "core/err.h"

static void actor_id(const audit_actor *by, char *out, size_t n)
{
	snprintf(out, n, "%s", by && by->user ? by->user->id : "");
}

int policy_retention_set(core_state *s, store *st, store_job *j, const audit_actor *by,
			 const char *org_id, const channel *ch, int64_t days)
{
	org *o = org_id ? core_org_get(s, org_id) : NULL;
	if (!o)
		return ERR_TEAM_NOT_FOUND;
	if (days < 0 || days > POLICY_MAX_DAYS)
		return ERR_INVALID_DURATION_DAYS;
	store_retention prev;
	bool had;
	int err = store_retention_get(st, o->id, ch ? ch->id : "", &prev, &had);
	if (err)
		return err;
	store_retention p;
	memset(&p, 0, sizeof p);
	snprintf(p.org_id, sizeof p.org_id, "%s", o->id);
	snprintf(p.channel_id, sizeof p.channel_id, "%s", ch ? ch->id : "");
	p.days = days;
	p.updated = clock_now_s();
	actor_id(by, p.updated_by, sizeof p.updated_by);
	store_retention_put(j, &p);
	json_t *d = json_pack("{s:I,s:b}", "duration_days", (json_int_t)days, "keep_forever",
			      days == 0);
	json_object_set_new(d, "previous_duration_days",
			    had ? json_integer(prev.days) : json_null());
	audit_entity en = {.channel = ch, .workspace = ch ? NULL : o};
	audit_record(j, s, o->id, by, ch ? "channel_retention_changed" : "workspace_retention_changed",
		     &en, d);
	return 0;
}

int policy_retention_remove(core_state *s, store *st, store_job *j, const audit_actor *by,
			    const char *org_id, const channel *ch, bool *existed)
{
	org *o = org_id ? core_org_get(s, org_id) : NULL;
	if (!o)
		return ERR_TEAM_NOT_FOUND;
	store_retention prev;
	int err = store_retention_get(st, o->id, ch ? ch->id : "", &prev, existed);
	if (err || !*existed)
		return err;
	store_retention_del(j, o->id, ch ? ch->id : "");
	audit_entity en = {.channel = ch, .workspace = ch ? NULL : o};
	audit_record(j, s, o->id, by, ch ? "channel_retention_changed" : "workspace_retention_changed",
		     &en,
		     json_pack("{s:I,s:n,s:b}", "previous_duration_days", (json_int_t)prev.days,
			       "duration_days", "removed", 1));
	return 0;
}

json_t *policy_hold_json(const store_hold *h)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:b,s:s}", "id", h->id, "team_id", h->org_id,
			 "type", h->kind, "target", h->target, "created", (json_int_t)h->created,
			 "created_by", h->created_by, "released", h->released, "note",
			 h->note ? h->note : "");
}

int policy_hold_add(core_state *s, store_job *j, const audit_actor *by, const char *org_id,
		    const channel *ch, const user *u, const char *note, store_hold *out)
{
	org *o = org_id ? core_org_get(s, org_id) : NULL;
	if (!o)
		return ERR_TEAM_NOT_FOUND;
	if ((ch && strcmp(ch->org_id, o->id) != 0) || (!ch && !u))
		return ERR_CHANNEL_NOT_FOUND;
	if (u && strcmp(u->org_id, o->id) != 0)
		return ERR_USER_NOT_FOUND;
	memset(out, 0, sizeof *out);
	ids_new(out->id, "H");
	snprintf(out->org_id, sizeof out->org_id, "%s", o->id);
	snprintf(out->kind, sizeof out->kind, "%s", ch ? "channel" : "user");
	snprintf(out->target, sizeof out->target, "%s", ch ? ch->id : u->id);
	out->created = clock_now_s();
	actor_id(by, out->created_by, sizeof out->created_by);
	out->note = note && *note ? xstrdup(note) : NULL;
	store_hold_put(j, out, NULL);
	audit_entity en = {.channel = ch, .user = ch ? NULL : u};
	audit_record(j, s, o->id, by, "legal_hold_policy_created", &en,
		     json_pack("{s:s,s:s,s:s}", "hold_id", out->id, "type", out->kind, "note",
			       note ? note : ""));
	return 0;
}

int policy_hold_release(core_state *s, store *st, store_job *j, const audit_actor *by,
			const char *org_id, const char *id)
{
	org *o = org_id ? core_org_get(s, org_id) : NULL;
	if (!o)
		return ERR_TEAM_NOT_FOUND;
	store_hold *h;
	size_t n;
	int err = store_hold_list(st, o->id, &h, &n);
	if (err)
		return err;
	err = ERR_NOT_FOUND;
	for (size_t i = 0; i < n; i++) {
		if (h[i].released || !id || strcmp(h[i].id, id) != 0)
			continue;
		h[i].released = true;
		char rb[ID_MAX];
		actor_id(by, rb, sizeof rb);
		store_hold_put(j, &h[i], rb);
		channel *ch = strcmp(h[i].kind, "channel") == 0 ? core_channel_get(s, h[i].target)
								 : NULL;
		user *u = ch ? NULL : core_user_get(s, h[i].target);
		audit_entity en = {.channel = ch, .user = u};
		audit_record(j, s, o->id, by, "legal_hold_policy_released", &en,
			     json_pack("{s:s,s:s}", "hold_id", h[i].id, "type", h[i].kind));
		err = 0;
		break;
	}
	store_holds_free(h, n);
	return err;
}
