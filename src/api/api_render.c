/* Objects in Slack's JSON shapes (reference §13). One renderer per object
 * kind, used by every method and (later) every event, so a field is right
 * everywhere or wrong everywhere. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/api_files.h"
#include "base/buf.h"
#include "base/map.h"
#include "base/xalloc.h"

static json_t *str_or_empty(const char *s)
{
	return json_string(s ? s : "");
}

json_t *api_ts_json(int64_t ts)
{
	char b[24];
	rules_ts_format(ts, b);
	return json_string(b);
}

/* Offset of an IANA zone from UTC now, in seconds. Cached: a zone's
 * offset only moves at DST changes and the server restarts far more often
 * than we need precision here. Loop thread only (TZ is process-wide). */
static long tz_offset(const char *tz)
{
	static map cache;
	static long vals[512];
	static size_t nvals;
	if (!tz || !*tz || strcmp(tz, "UTC") == 0)
		return 0;
	long *hit = map_get(&cache, tz);
	if (hit)
		return *hit;
	char *old = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	long off = tm.tm_gmtoff;
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
	if (nvals < sizeof vals / sizeof vals[0]) {
		vals[nvals] = off;
		map_put(&cache, tz, &vals[nvals++]);
	}
	return off;
}

static void add_images(json_t *o, const char *base, const char *kind, const char *id)
{
	static const int sizes[] = {24, 32, 48, 72, 192, 512};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char key[16];
		snprintf(key, sizeof key, "image_%d", sizes[i]);
		json_object_set_new(o, key, json_sprintf("%s/avatars/%s/%s?s=%d", base, kind, id,
							 sizes[i]));
	}
}

json_t *api_render_profile(api_ctx *c, const user *u)
{
	const char *real = u->real_name ? u->real_name : "";
	json_t *p = json_object();
	json_object_set_new(p, "title", str_or_empty(u->title));
	json_object_set_new(p, "phone", str_or_empty(u->phone));
	json_object_set_new(p, "skype", json_string(""));
	json_object_set_new(p, "real_name", json_string(real));
	json_object_set_new(p, "real_name_normalized", json_string(real));
	json_object_set_new(p, "display_name", str_or_empty(u->display_name));
	json_object_set_new(p, "display_name_normalized", str_or_empty(u->display_name));
	json_object_set_new(p, "fields", json_object());
	json_object_set_new(p, "status_text", str_or_empty(u->status_text));
	json_object_set_new(p, "status_emoji", str_or_empty(u->status_emoji));
	json_object_set_new(p, "status_expiration", json_integer(0));
	json_object_set_new(p, "avatar_hash", str_or_empty(u->avatar_hash));
	/* first/last name: split real_name at the first space, as Slack does
	 * for accounts that never set them separately. */
	const char *sp = strchr(real, ' ');
	json_object_set_new(p, "first_name", sp ? json_stringn(real, (size_t)(sp - real)) : json_string(real));
	json_object_set_new(p, "last_name", json_string(sp ? sp + 1 : ""));
	/* Email only to people and to bots granted users:read.email. */
	bool bot_caller = c->tok && c->tok->kind == TOKEN_BOT;
	if (u->email && !u->is_bot && (!bot_caller || api_need_scope_quiet(c, "users:read.email")))
		json_object_set_new(p, "email", json_string(u->email));
	add_images(p, c->env->base_url, "users", u->id);
	json_object_set_new(p, "team", json_string(u->org_id));
	if (u->is_bot) {
		json_object_set_new(p, "bot_id", json_string(u->bot_id));
		json_object_set_new(p, "api_app_id", json_string(u->app_id));
		json_object_set_new(p, "always_active", json_false());
	}
	return p;
}

static const char *const colors[] = {"9f69e7", "4bbe2e", "e7392d", "3c989f", "674b1b",
				     "e96699", "5a4592", "db3150", "235e5b", "53b759"};

json_t *api_render_user(api_ctx *c, const user *u)
{
	unsigned h = 0;
	for (const char *p = u->id; *p; p++)
		h = h * 31 + (unsigned char)*p;
	const char *tz = u->tz && *u->tz ? u->tz : "UTC";
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(u->id));
	json_object_set_new(o, "team_id", json_string(u->org_id));
	json_object_set_new(o, "name", str_or_empty(u->name));
	json_object_set_new(o, "deleted", json_boolean(u->deleted));
	json_object_set_new(o, "color", json_string(colors[h % 10]));
	json_object_set_new(o, "real_name", str_or_empty(u->real_name));
	json_object_set_new(o, "tz", json_string(tz));
	json_object_set_new(o, "tz_label", json_string(strcmp(tz, "UTC") == 0 ? "Coordinated Universal Time" : tz));
	json_object_set_new(o, "tz_offset", json_integer(tz_offset(tz)));
	json_object_set_new(o, "profile", api_render_profile(c, u));
	json_object_set_new(o, "is_admin", json_boolean(u->is_admin || u->is_owner));
	json_object_set_new(o, "is_owner", json_boolean(u->is_owner));
	json_object_set_new(o, "is_primary_owner", json_boolean(u->is_primary_owner));
	json_object_set_new(o, "is_restricted", json_false());
	json_object_set_new(o, "is_ultra_restricted", json_false());
	json_object_set_new(o, "is_bot", json_boolean(u->is_bot));
	json_object_set_new(o, "is_app_user", json_false());
	json_object_set_new(o, "updated", json_integer(u->updated));
	json_object_set_new(o, "is_email_confirmed", json_boolean(!u->is_bot));
	json_object_set_new(o, "who_can_share_contact_card", json_string("EVERYONE"));
	return o;
}

static json_t *csv_array(const char *csv)
{
	json_t *a = json_array();
	if (!csv)
		return a;
	for (const char *p = csv; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		if (!e)
			break;
		p = e + 1;
	}
	return a;
}

static json_t *topic_obj(const char *value, const char *creator, int64_t last_set)
{
	return json_pack("{s:s,s:s,s:I}", "value", value ? value : "", "creator", creator,
			 "last_set", (json_int_t)last_set);
}

json_t *api_render_channel(api_ctx *c, const channel *ch)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(ch->id));
	json_object_set_new(o, "created", json_integer(ch->created));
	json_object_set_new(o, "is_archived", json_boolean(ch->archived));
	json_object_set_new(o, "is_org_shared", json_false());
	json_object_set_new(o, "context_team_id", json_string(ch->org_id));
	json_object_set_new(o, "updated", json_integer(ch->updated));
	chan_member *me = c->me ? core_member_get(ch, c->me->id) : NULL;
	if (ch->kind == CHAN_IM) {
		/* The "user" of a DM is the other participant from the
		 * caller's point of view. */
		const char *other = ch->im_user;
		if (c->me && strcmp(other, c->me->id) == 0)
			other = ch->creator;
		user *ou = core_user_get(c->env->state, other);
		json_object_set_new(o, "is_im", json_true());
		json_object_set_new(o, "user", json_string(other));
		json_object_set_new(o, "is_user_deleted", json_boolean(ou && ou->deleted));
		json_object_set_new(o, "priority", json_integer(0));
		json_object_set_new(o, "is_open", json_boolean(me && me->open));
		if (me)
			json_object_set_new(o, "last_read", api_ts_json(me->last_read));
		return o;
	}
	json_object_set_new(o, "name", str_or_empty(ch->name));
	json_object_set_new(o, "is_channel", json_boolean(ch->kind == CHAN_PUBLIC));
	json_object_set_new(o, "is_group", json_boolean(ch->kind == CHAN_PRIVATE));
	json_object_set_new(o, "is_im", json_false());
	json_object_set_new(o, "is_mpim", json_boolean(ch->kind == CHAN_MPIM));
	json_object_set_new(o, "is_private", json_boolean(ch->kind != CHAN_PUBLIC));
	json_object_set_new(o, "is_general", json_boolean(ch->is_general));
	json_object_set_new(o, "unlinked", json_integer(0));
	json_object_set_new(o, "name_normalized", str_or_empty(ch->name));
	json_object_set_new(o, "is_shared", json_false());
	json_object_set_new(o, "is_ext_shared", json_false());
	json_object_set_new(o, "is_pending_ext_shared", json_false());
	json_object_set_new(o, "pending_shared", json_array());
	json_object_set_new(o, "parent_conversation", json_null());
	json_object_set_new(o, "creator", json_string(ch->creator));
	json_object_set_new(o, "shared_team_ids", json_pack("[s]", ch->org_id));
	json_object_set_new(o, "is_member", json_boolean(me != NULL));
	if (ch->kind == CHAN_MPIM && me)
		json_object_set_new(o, "is_open", json_boolean(me->open));
	if (me)
		json_object_set_new(o, "last_read", api_ts_json(me->last_read));
	json_object_set_new(o, "topic", topic_obj(ch->topic, ch->topic_creator, ch->topic_last_set));
	json_object_set_new(o, "purpose",
			    topic_obj(ch->purpose, ch->purpose_creator, ch->purpose_last_set));
	json_object_set_new(o, "previous_names", csv_array(ch->previous_names));
	json_object_set_new(o, "num_members", json_integer((json_int_t)core_member_count(ch)));
	return o;
}

static json_t *bot_icons(api_ctx *c, const app *a)
{
	json_t *i = json_object();
	static const int sizes[] = {36, 48, 72};
	for (size_t k = 0; k < 3; k++) {
		char key[16];
		snprintf(key, sizeof key, "image_%d", sizes[k]);
		json_object_set_new(i, key, json_sprintf("%s/avatars/users/%s?s=%d", c->env->base_url,
							 a->bot_user_id, sizes[k]));
	}
	return i;
}

json_t *api_render_bot(api_ctx *c, const app *a)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(a->bot_id));
	json_object_set_new(o, "deleted", json_boolean(a->deleted));
	json_object_set_new(o, "name", str_or_empty(a->name));
	json_object_set_new(o, "updated", json_integer(a->updated));
	json_object_set_new(o, "app_id", json_string(a->id));
	json_object_set_new(o, "user_id", json_string(a->bot_user_id));
	json_object_set_new(o, "icons", bot_icons(c, a));
	return o;
}

/* Adds a JSON text field (blocks, attachments, metadata) if it parses. */
static void set_json_text(json_t *o, const char *key, const char *text)
{
	if (!text || !*text)
		return;
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	if (v)
		json_object_set_new(o, key, v);
}

static json_t *id_array(char **ids, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(ids[i]));
	return a;
}

json_t *api_render_message(api_ctx *c, const message *m)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("message"));
	if (m->subtype)
		json_object_set_new(o, "subtype", json_string(m->subtype));
	json_object_set_new(o, "ts", api_ts_json(m->ts));
	if (m->user_id[0])
		json_object_set_new(o, "user", json_string(m->user_id));
	if (m->bot_id[0]) {
		json_object_set_new(o, "bot_id", json_string(m->bot_id));
		app *a = core_app_by_bot(c->env->state, m->bot_id);
		if (m->app_id[0])
			json_object_set_new(o, "app_id", json_string(m->app_id));
		if (a) {
			json_t *bp = json_object();
			json_object_set_new(bp, "id", json_string(a->bot_id));
			json_object_set_new(bp, "deleted", json_boolean(a->deleted));
			json_object_set_new(bp, "name", str_or_empty(a->name));
			json_object_set_new(bp, "updated", json_integer(a->updated));
			json_object_set_new(bp, "app_id", json_string(a->id));
			json_object_set_new(bp, "icons", bot_icons(c, a));
			json_object_set_new(bp, "team_id", json_string(a->org_id));
			json_object_set_new(o, "bot_profile", bp);
		}
	}
	json_object_set_new(o, "text", str_or_empty(m->text));
	if (m->org_id[0])
		json_object_set_new(o, "team", json_string(m->org_id));
	set_json_text(o, "blocks", m->blocks);
	set_json_text(o, "attachments", m->attachments);
	set_json_text(o, "metadata", m->metadata);
	if (m->client_msg_id && *m->client_msg_id)
		json_object_set_new(o, "client_msg_id", json_string(m->client_msg_id));
	/* Subtype-specific fields (username, icons, topic, old_name, inviter,
	 * ...) are kept as one JSON object and merged as they are. */
	if (m->extra && *m->extra) {
		json_t *x = json_loads(m->extra, 0, NULL);
		if (json_is_object(x))
			json_object_update_missing(o, x);
		json_decref(x);
		/* Files are kept by id and shown as they are now (api_files.c). */
		json_t *ids = json_object_get(o, "file_ids");
		if (ids) {
			json_object_set_new(o, "files", api_message_files(c, ids));
			json_object_del(o, "file_ids");
		}
	}
	if (m->edited_ts)
		json_object_set_new(o, "edited", json_pack("{s:s,s:o}", "user", m->edited_user, "ts",
							   api_ts_json(m->edited_ts)));
	if (m->hidden)
		json_object_set_new(o, "hidden", json_true());
	bool is_reply = m->thread_ts && m->thread_ts != m->ts;
	if (m->thread_ts)
		json_object_set_new(o, "thread_ts", api_ts_json(m->thread_ts));
	if (is_reply) {
		/* parent_user_id: one read of the parent, remembered for the
		 * rest of this request (a replies page shares one parent). */
		if (c->parent.ts != m->thread_ts || strcmp(c->parent.channel, m->channel_id) != 0) {
			message p;
			message_init(&p);
			c->parent.user[0] = '\0';
			if (store_msg_get(c->env->store, m->channel_id, m->thread_ts, &p) == 0)
				snprintf(c->parent.user, sizeof c->parent.user, "%s", p.user_id);
			message_release(&p);
			snprintf(c->parent.channel, sizeof c->parent.channel, "%s", m->channel_id);
			c->parent.ts = m->thread_ts;
		}
		if (c->parent.user[0])
			json_object_set_new(o, "parent_user_id", json_string(c->parent.user));
	}
	if (!is_reply && m->reply_count > 0) {
		json_object_set_new(o, "reply_count", json_integer(m->reply_count));
		json_object_set_new(o, "reply_users_count", json_integer(m->reply_users_count));
		json_object_set_new(o, "latest_reply", api_ts_json(m->latest_reply));
		json_object_set_new(o, "reply_users", id_array(m->reply_users, m->nreply_users));
		json_object_set_new(o, "is_locked", json_false());
		json_object_set_new(o, "subscribed", json_false());
	}
	if (m->nreactions) {
		json_t *rs = json_array();
		for (size_t i = 0; i < m->nreactions; i++) {
			const reaction *r = &m->reactions[i];
			json_array_append_new(rs, json_pack("{s:s,s:o,s:I}", "name", r->name, "users",
							    id_array(r->users, r->nusers), "count",
							    (json_int_t)r->nusers));
		}
		json_object_set_new(o, "reactions", rs);
	}
	if (m->npinned)
		json_object_set_new(o, "pinned_to", id_array(m->pinned_to, m->npinned));
	return o;
}

json_t *api_render_usergroup(api_ctx *c, const usergroup *g, bool include_users)
{
	json_t *users = csv_array(g->users);
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(g->id));
	json_object_set_new(o, "team_id", json_string(g->org_id));
	json_object_set_new(o, "is_usergroup", json_true());
	json_object_set_new(o, "is_subteam", json_true());
	json_object_set_new(o, "name", str_or_empty(g->name));
	json_object_set_new(o, "description", str_or_empty(g->description));
	json_object_set_new(o, "handle", str_or_empty(g->handle));
	json_object_set_new(o, "is_external", json_false());
	json_object_set_new(o, "date_create", json_integer(g->date_create));
	json_object_set_new(o, "date_update", json_integer(g->date_update));
	json_object_set_new(o, "date_delete", json_integer(g->date_delete));
	json_object_set_new(o, "auto_type", json_null());
	json_object_set_new(o, "auto_provision", json_false());
	json_object_set_new(o, "enterprise_subteam_id", json_string(""));
	json_object_set_new(o, "created_by", json_string(g->created_by));
	json_object_set_new(o, "updated_by", json_string(g->updated_by));
	json_object_set_new(o, "deleted_by", g->deleted_by[0] ? json_string(g->deleted_by) : json_null());
	json_object_set_new(o, "prefs", json_pack("{s:o,s:[]}", "channels", csv_array(g->channels), "groups"));
	json_object_set_new(o, "user_count", json_integer((json_int_t)json_array_size(users)));
	if (include_users)
		json_object_set_new(o, "users", users);
	else
		json_decref(users);
	return o;
}

json_t *api_render_team(api_ctx *c, const org *o)
{
	json_t *t = json_object();
	json_object_set_new(t, "id", json_string(o->id));
	json_object_set_new(t, "name", str_or_empty(o->name));
	json_object_set_new(t, "url", json_sprintf("%s/", c->env->base_url));
	json_object_set_new(t, "domain", str_or_empty(o->domain));
	json_object_set_new(t, "email_domain", json_string(""));
	json_t *icon = json_object();
	static const int sizes[] = {34, 44, 68, 88, 102, 132, 230};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char key[16];
		snprintf(key, sizeof key, "image_%d", sizes[i]);
		json_object_set_new(icon, key, json_sprintf("%s/avatars/teams/%s?s=%d", c->env->base_url,
							    o->id, sizes[i]));
	}
	json_object_set_new(icon, "image_default", json_true());
	json_object_set_new(t, "icon", icon);
	json_object_set_new(t, "avatar_base_url", json_sprintf("%s/avatars/", c->env->base_url));
	json_object_set_new(t, "is_verified", json_false());
	json_object_set_new(t, "created", json_integer(o->created));
	return t;
}

char *api_permalink(api_ctx *c, const channel *ch, int64_t ts, int64_t thread_ts)
{
	char t[24];
	rules_ts_format(ts, t);
	buf b = BUF_INIT;
	buf_printf(&b, "%s/archives/%s/p", c->env->base_url, ch->id);
	for (const char *p = t; *p; p++)
		if (*p != '.')
			buf_addc(&b, *p);
	if (thread_ts && thread_ts != ts) {
		char tt[24];
		rules_ts_format(thread_ts, tt);
		buf_printf(&b, "?thread_ts=%s&cid=%s", tt, ch->id);
	}
	return buf_detach(&b, NULL);
}
