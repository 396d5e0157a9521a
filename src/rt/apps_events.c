/* Events for apps: which app gets which published event, the
 * event_callback envelope around it, and the per-app queue.
 *
 * Matching (apps_deliver, once per bus message, hot state only):
 *  - the org's apps with event subscriptions come from an index rebuilt
 *    when apps change (apps_app_changed, a new app, or at least once a
 *    second while events flow); an org without subscribed apps costs one map
 *    lookup, and the message is parsed (once) only when some app may want
 *    it: a member of the conversation for channel-scoped events, or an
 *    org-wide subscription for org-wide ones;
 *  - subscription -> event and scope (Slack's rules):
 *      message.channels|groups|im|mpim  message events (any subtype) in a
 *          public / private / IM / group DM conversation the bot is a
 *          member of; channels|groups|im|mpim:history
 *      app_mention  a written message whose text holds <@BOT_USER>, in a
 *          conversation the bot can see (public, or a member);
 *          app_mentions:read; in addition to message.*
 *      reaction_added|removed  reactions:read;  pin_added|removed
 *          pins:read;  member_joined|left_channel  channels:read
 *          (groups:read / mpim:read for private kinds): all in
 *          conversations the bot is a member of (member_left_channel also
 *          when the bot itself left)
 *      channel_created|rename|archive|unarchive  public channels, any
 *          app with channels:read; for private channels (group_* or
 *          channel_* subscription) members with groups:read
 *      team_join, user_change  users:read
 *      file_shared  files:read, in a conversation the bot is a member of
 *      file_created|deleted|public|change  files:read, when the bot can
 *          see the file: a member of a conversation it is shared in, or
 *          that conversation is public. The files module publishes each
 *          once per conversation the file is shared in, with one
 *          event_ts: an app gets it once (apps_app.last_file_event)
 *    Per-user events (channel_joined, im_created, presence...) never go
 *    to apps.
 *  - Canal-only fields ("mentioned") are not part of the inner event. */
#include "rt/apps_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

/* ---- names to bits ---- */

static const struct {
	const char *name;
	uint32_t bit;
} sub_names[] = {
	{"message.channels", SUB_MSG_CHANNELS},
	{"message.groups", SUB_MSG_GROUPS},
	{"message.im", SUB_MSG_IM},
	{"message.mpim", SUB_MSG_MPIM},
	{"app_mention", SUB_APP_MENTION},
	{"reaction_added", SUB_REACTION_ADDED},
	{"reaction_removed", SUB_REACTION_REMOVED},
	{"member_joined_channel", SUB_MEMBER_JOINED},
	{"member_left_channel", SUB_MEMBER_LEFT},
	{"channel_created", SUB_CHANNEL_CREATED},
	{"channel_rename", SUB_CHANNEL_RENAME},
	{"channel_archive", SUB_CHANNEL_ARCHIVE},
	{"channel_unarchive", SUB_CHANNEL_UNARCHIVE},
	{"group_rename", SUB_GROUP_RENAME},
	{"group_archive", SUB_GROUP_ARCHIVE},
	{"group_unarchive", SUB_GROUP_UNARCHIVE},
	{"pin_added", SUB_PIN_ADDED},
	{"pin_removed", SUB_PIN_REMOVED},
	{"team_join", SUB_TEAM_JOIN},
	{"user_change", SUB_USER_CHANGE},
	{"file_shared", SUB_FILE_SHARED},
	{"file_created", SUB_FILE_CREATED},
	{"file_deleted", SUB_FILE_DELETED},
	{"file_public", SUB_FILE_PUBLIC},
	{"file_change", SUB_FILE_CHANGE},
};

static const struct {
	const char *name;
	uint32_t bit;
} scope_names[] = {
	{"channels:history", SC_CHANNELS_HISTORY},
	{"groups:history", SC_GROUPS_HISTORY},
	{"im:history", SC_IM_HISTORY},
	{"mpim:history", SC_MPIM_HISTORY},
	{"app_mentions:read", SC_APP_MENTIONS_READ},
	{"reactions:read", SC_REACTIONS_READ},
	{"channels:read", SC_CHANNELS_READ},
	{"groups:read", SC_GROUPS_READ},
	{"im:read", SC_IM_READ},
	{"mpim:read", SC_MPIM_READ},
	{"pins:read", SC_PINS_READ},
	{"users:read", SC_USERS_READ},
	{"files:read", SC_FILES_READ},
};

/* Calls fn for each trimmed, non-empty item of a comma (or space) list. */
static uint32_t csv_bits(const char *csv, uint32_t (*lookup)(const char *, size_t))
{
	uint32_t bits = 0;
	for (const char *p = csv ? csv : ""; *p;) {
		p += strspn(p, ", \t\n");
		size_t n = strcspn(p, ", \t\n");
		if (n)
			bits |= lookup(p, n);
		p += n;
	}
	return bits;
}

static uint32_t sub_lookup(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof sub_names / sizeof sub_names[0]; i++)
		if (strlen(sub_names[i].name) == n && memcmp(sub_names[i].name, p, n) == 0)
			return sub_names[i].bit;
	return 0;
}

static uint32_t scope_lookup(const char *p, size_t n)
{
	if (n == 1 && *p == '*')
		return ~0u;
	for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
		if (strlen(scope_names[i].name) == n && memcmp(scope_names[i].name, p, n) == 0)
			return scope_names[i].bit;
	return 0;
}

uint32_t apps__parse_subs(const char *csv)
{
	return csv_bits(csv, sub_lookup);
}

uint32_t apps__parse_scopes(const char *csv)
{
	return csv_bits(csv, scope_lookup);
}

/* ---- the index ---- */

/* s's constant envelope opening (apps_sub.pre); ids and the token are
 * escaped like any JSON string (they never need it in practice). */
static void sub_pieces(apps_sub *s)
{
	const app *ap = s->ap;
	buf b = BUF_INIT;
	buf_adds(&b, "{\"token\":");
	apps__json_str(&b, ap->verification_token);
	buf_adds(&b, ",\"team_id\":");
	apps__json_str(&b, ap->org_id);
	buf_adds(&b, ",\"api_app_id\":");
	apps__json_str(&b, ap->id);
	buf_adds(&b, ",\"authorizations\":[{\"enterprise_id\":null,\"team_id\":");
	apps__json_str(&b, ap->org_id);
	buf_adds(&b, ",\"user_id\":");
	apps__json_str(&b, ap->bot_user_id);
	/* event_context, opaque to apps (Slack's is for
	 * apps.event.authorizations.list): 4-<team>-<app>-<type>-<channel or ->,
	 * the app's part here, the event's in ev_common.mid. */
	buf_adds(&b, ",\"is_bot\":true,\"is_enterprise_install\":false}],"
		     "\"is_ext_shared_channel\":false,\"event_context\":\"4-");
	apps__json_chars(&b, ap->org_id);
	buf_addc(&b, '-');
	apps__json_chars(&b, ap->id);
	buf_addc(&b, '-');
	s->pre = ws_blob_new(b.data, b.len);
	buf_release(&b);
}

void apps__org_free(apps_org *o)
{
	for (size_t i = 0; i < o->n; i++)
		ws_blob_unref(o->v[i].pre);
	free(o->v);
	free(o);
}

void apps__index_refresh(apps *a)
{
	int64_t now = apps__now(a);
	if (!a->idx_dirty && a->idx_napps == a->state->apps.count &&
	    now - a->idx_built_ms < APPS_INDEX_MAX_AGE_MS)
		return;
	size_t i = 0;
	void *v;
	while (map_next(&a->orgs, &i, NULL, &v))
		apps__org_free(v);
	map_release(&a->orgs);
	map_init(&a->orgs);
	i = 0;
	while (map_next(&a->state->apps, &i, NULL, &v)) {
		const app *ap = v;
		if (ap->deleted || !ap->bot_events || !*ap->bot_events || !ap->bot_user_id[0])
			continue;
		uint32_t subs = apps__parse_subs(ap->bot_events);
		if (!subs)
			continue;
		apps_org *o = map_get(&a->orgs, ap->org_id);
		if (!o) {
			o = xcalloc(1, sizeof *o);
			map_put(&a->orgs, ap->org_id, o);
		}
		o->v = xrealloc(o->v, (o->n + 1) * sizeof *o->v);
		o->v[o->n] = (apps_sub){.ap = ap, .subs = subs, .scopes = apps__parse_scopes(ap->scopes)};
		sub_pieces(&o->v[o->n++]);
		o->any |= subs;
	}
	a->idx_dirty = false;
	a->idx_napps = a->state->apps.count;
	a->idx_built_ms = now;
}

/* ---- matching ---- */

static bool is_member(const channel *ch, const char *user_id)
{
	return ch && user_id[0] && map_get(&ch->members, user_id) != NULL;
}

/* Written messages (not system or hidden ones) can mention an app. */
static bool mention_subtype(const char *subtype)
{
	return !subtype || !strcmp(subtype, "thread_broadcast") || !strcmp(subtype, "bot_message") ||
	       !strcmp(subtype, "me_message") || !strcmp(subtype, "file_share");
}

/* Does text hold <@id> or <@id|label>? */
static bool text_mentions(const char *text, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = text ? strstr(text, "<@") : NULL; p; p = strstr(p + 2, "<@"))
		if (strncmp(p + 2, id, n) == 0 && (p[2 + n] == '>' || p[2 + n] == '|'))
			return true;
	return false;
}

/* The channel id an org-wide channel event is about. */
static const char *event_channel_id(json_t *ev)
{
	json_t *c = json_object_get(ev, "channel");
	if (json_is_string(c))
		return json_string_value(c);
	return json_string_value(json_object_get(c, "id"));
}

uint32_t apps__match(const apps_sub *s, const bus_msg *m, const channel *ch, json_t *ev,
		     const char *type, bool *mention)
{
	static const uint32_t msg_sub[] = {SUB_MSG_CHANNELS, SUB_MSG_GROUPS, SUB_MSG_IM, SUB_MSG_MPIM};
	static const uint32_t msg_scope[] = {SC_CHANNELS_HISTORY, SC_GROUPS_HISTORY, SC_IM_HISTORY,
					     SC_MPIM_HISTORY};
	static const uint32_t read_scope[] = {SC_CHANNELS_READ, SC_GROUPS_READ, SC_IM_READ,
					      SC_MPIM_READ};
	const char *bot = s->ap->bot_user_id;
	*mention = false;
	if (!type)
		return 0;
	if (m->scope == BUS_CHANNEL) {
		if (!ch)
			return 0;
		bool member = is_member(ch, bot);
		if (!strcmp(type, "message")) {
			uint32_t got = 0;
			if (member && (s->subs & msg_sub[ch->kind]) && (s->scopes & msg_scope[ch->kind]))
				got = msg_sub[ch->kind];
			const char *subtype = json_string_value(json_object_get(ev, "subtype"));
			if ((s->subs & SUB_APP_MENTION) && (s->scopes & SC_APP_MENTIONS_READ) &&
			    (member || ch->kind == CHAN_PUBLIC) && mention_subtype(subtype) &&
			    text_mentions(json_string_value(json_object_get(ev, "text")), bot))
				*mention = true;
			return got;
		}
		uint32_t bit = 0, scope = 0;
		if (!strncmp(type, "file_", 5)) {
			if (!strcmp(type, "file_shared"))
				bit = SUB_FILE_SHARED;
			else if (!strcmp(type, "file_created"))
				bit = SUB_FILE_CREATED;
			else if (!strcmp(type, "file_deleted"))
				bit = SUB_FILE_DELETED;
			else if (!strcmp(type, "file_public"))
				bit = SUB_FILE_PUBLIC;
			else if (!strcmp(type, "file_change"))
				bit = SUB_FILE_CHANGE;
			/* file_shared is about this conversation: its members;
			 * the others about the file: whoever can see it. */
			bool sees = member || (bit != SUB_FILE_SHARED && ch->kind == CHAN_PUBLIC);
			if (!bit || !sees || !(s->subs & bit) || !(s->scopes & SC_FILES_READ))
				return 0;
			return bit;
		}
		if (!strcmp(type, "reaction_added"))
			bit = SUB_REACTION_ADDED, scope = SC_REACTIONS_READ;
		else if (!strcmp(type, "reaction_removed"))
			bit = SUB_REACTION_REMOVED, scope = SC_REACTIONS_READ;
		else if (!strcmp(type, "pin_added"))
			bit = SUB_PIN_ADDED, scope = SC_PINS_READ;
		else if (!strcmp(type, "pin_removed"))
			bit = SUB_PIN_REMOVED, scope = SC_PINS_READ;
		else if (!strcmp(type, "member_joined_channel"))
			bit = SUB_MEMBER_JOINED, scope = read_scope[ch->kind];
		else if (!strcmp(type, "member_left_channel")) {
			bit = SUB_MEMBER_LEFT, scope = read_scope[ch->kind];
			const char *who = json_string_value(json_object_get(ev, "user"));
			if (who && !strcmp(who, bot))
				member = true;  /* the bot hears that it left */
		} else if (!strcmp(type, "channel_rename") || !strcmp(type, "group_rename"))
			bit = SUB_CHANNEL_RENAME | SUB_GROUP_RENAME, scope = SC_GROUPS_READ;
		else if (!strcmp(type, "channel_archive") || !strcmp(type, "group_archive"))
			bit = SUB_CHANNEL_ARCHIVE | SUB_GROUP_ARCHIVE, scope = SC_GROUPS_READ;
		else if (!strcmp(type, "channel_unarchive") || !strcmp(type, "group_unarchive"))
			bit = SUB_CHANNEL_UNARCHIVE | SUB_GROUP_UNARCHIVE, scope = SC_GROUPS_READ;
		if (ch->kind == CHAN_PUBLIC && (bit & (SUB_CHANNEL_RENAME | SUB_CHANNEL_ARCHIVE |
						       SUB_CHANNEL_UNARCHIVE)))
			scope = SC_CHANNELS_READ;
		if (!bit || !member || !(s->subs & bit) || !(s->scopes & scope))
			return 0;
		return s->subs & bit;
	}
	if (m->scope != BUS_ORG)
		return 0;
	uint32_t bit = 0, scope = SC_CHANNELS_READ;
	if (!strcmp(type, "channel_created"))
		bit = SUB_CHANNEL_CREATED;
	else if (!strcmp(type, "channel_rename"))
		bit = SUB_CHANNEL_RENAME;
	else if (!strcmp(type, "channel_archive"))
		bit = SUB_CHANNEL_ARCHIVE;
	else if (!strcmp(type, "channel_unarchive"))
		bit = SUB_CHANNEL_UNARCHIVE;
	else if (!strcmp(type, "team_join"))
		bit = SUB_TEAM_JOIN, scope = SC_USERS_READ;
	else if (!strcmp(type, "user_change"))
		bit = SUB_USER_CHANGE, scope = SC_USERS_READ;
	if (!bit || !(s->subs & bit) || !(s->scopes & scope))
		return 0;
	return bit;
}

json_t *apps__mention_event(json_t *msg)
{
	json_t *e = json_deep_copy(msg);
	json_object_set_new(e, "type", json_string("app_mention"));
	json_object_del(e, "channel_type");
	json_object_del(e, "subtype");
	json_object_del(e, "mentioned");
	return e;
}

/* ---- envelopes and the queue ---- */

#define PART(s) ((ws_part){s, sizeof s - 1, NULL})

/* What the envelopes of one event have in common, worked out once for
 * all the apps that get it. */
typedef struct ev_common {
	const char *inner;         /* the inner event (JSON) */
	size_t inner_len;
	ws_blob *blob;             /* inner as a blob, made on first use */
	ws_blob *mid;              /* what follows an app's opening, up to the event_id */
	const char *ty, *cid;      /* as put in event_context */
	size_t tyl, cidl;
	int64_t now_s;
	char num[24];              /* now_s in decimal: num + sizeof num - nl */
	int nl;
	const char *file_key;      /* file events: see apps_app.last_file_event */
} ev_common;

static void ev_common_init(ev_common *x, const char *inner, size_t inner_len, const char *type,
			   const char *channel_id, int64_t now_s, const char *file_key)
{
	memset(x, 0, sizeof *x);
	x->inner = inner;
	x->inner_len = inner_len;
	x->ty = type && !strpbrk(type, "\"\\") ? type : "event";
	x->cid = channel_id && *channel_id && !strpbrk(channel_id, "\"\\") ? channel_id : "-";
	x->tyl = strlen(x->ty);
	x->cidl = strlen(x->cid);
	x->now_s = now_s;
	unsigned long long t = now_s > 0 ? (unsigned long long)now_s : 0;
	do {
		x->num[sizeof x->num - 1 - x->nl++] = (char)('0' + t % 10);
		t /= 10;
	} while (t);
	x->file_key = file_key;
}

/* An ITEM_EVENT from s's constant opening and this event's shared parts
 * (made by the first app that needs them): references only, no bytes of
 * its own (apps_item.pre). */
static apps_item *envelope_of_sub(const apps_sub *s, ev_common *x)
{
	if (!x->blob)
		x->blob = ws_blob_new(x->inner, x->inner_len);
	if (!x->mid) {
		char *m = xasprintf("%s-%s\",\"type\":\"event_callback\",\"event_time\":%.*s,"
				    "\"event_id\":\"",
				    x->ty, x->cid, x->nl, x->num + sizeof x->num - x->nl);
		x->mid = ws_blob_new(m, strlen(m));
		free(m);
	}
	apps_item *it = apps__item_new(ITEM_EVENT);   /* its envelope id comes at its first send */
	ws_blob_ref(it->pre = s->pre);
	ws_blob_ref(it->mid = x->mid);
	ws_blob_ref(it->inner = x->blob);
	return it;
}

void apps__enqueue(apps *a, apps_app *e, apps_item *it, const char *event_id)
{
	it->owner = e;
	size_t idl = strnlen(event_id, sizeof it->event_id - 1);
	memcpy(it->event_id, event_id, idl);
	it->event_id[idl] = '\0';
	if (e->queue.n >= APPS_QUEUE_MAX) {
		apps_item *old = e->queue.head;
		apps__list_remove(&e->queue, old);
		if (e->dropped == 0 || e->dropped % 1000 == 0)
			log_warn("app queue full: dropping the oldest event", "app=%s event_id=%s dropped=%llu",
				 e->id, old->event_id, (unsigned long long)e->dropped + 1);
		apps__item_free(old);
		e->dropped++;
		a->stats.events_dropped++;
		apps__set_error(e, "queue full (%d events): oldest dropped", APPS_QUEUE_MAX);
	}
	apps__list_push(&e->queue, it, ON_QUEUE);
	a->stats.events_queued++;
}

/* Worth queuing for s's app: it has a way to receive events (a socket now
 * or before, Socket Mode, or a request URL). *out: its entry, if any (kept
 * in s: entries live until apps_free). */
static bool reachable(apps *a, apps_sub *s, apps_app **out)
{
	if (!s->e)
		s->e = map_get(&a->entries, s->ap->id);
	apps_app *e = s->e;
	*out = e;
	if (e && (e->nconns || e->ever_connected))
		return true;
	return s->ap->socket_mode || (s->ap->event_url && *s->ap->event_url);
}

static void deliver_one(apps *a, apps_sub *s, ev_common *x)
{
	apps_app *e;
	if (!reachable(a, s, &e))
		return;
	if (!e)
		e = s->e = apps__entry(a, s->ap->id, s->ap->org_id);
	if (x->file_key) {
		if (!strcmp(e->last_file_event, x->file_key))
			return;   /* already queued from another conversation */
		snprintf(e->last_file_event, sizeof e->last_file_event, "%s", x->file_key);
	}
	char event_id[ID_MAX];
	apps__event_id(a, event_id);
	apps_item *it = envelope_of_sub(s, x);
	apps__enqueue(a, e, it, event_id);
	apps__pump(a, e);
	apps__kick(a, false);
}

/* May any app of o want m? Decided before parsing. */
static bool maybe_wanted(const apps_org *o, const bus_msg *m, const channel *ch)
{
	if (m->scope == BUS_ORG)
		return (o->any & SUB_ORG) != 0;
	if (m->scope != BUS_CHANNEL || !ch || !(o->any & SUB_CONVERSATION))
		return false;
	for (size_t i = 0; i < o->n; i++) {
		const apps_sub *s = &o->v[i];
		if (!(s->subs & SUB_CONVERSATION))
			continue;
		if (is_member(ch, s->ap->bot_user_id))
			return true;
		if ((s->subs & SUB_FILES) && ch->kind == CHAN_PUBLIC)
			return true;  /* a file in a public conversation: visible to all */
		if ((s->subs & (SUB_APP_MENTION | SUB_MEMBER_LEFT)) && m->json &&
		    memmem(m->json, m->len, s->ap->bot_user_id, strlen(s->ap->bot_user_id)))
			return true;  /* mentioned, or it left */
	}
	return false;
}

void apps_deliver(void *apps_ud, const bus_msg *m)
{
	apps *a = apps_ud;
	if (!a || !m->json || (m->scope != BUS_CHANNEL && m->scope != BUS_ORG))
		return;
	apps__index_refresh(a);
	const apps_org *o = map_get(&a->orgs, m->org_id);
	if (!o)
		return;
	const channel *ch = NULL;
	if (m->scope == BUS_CHANNEL) {
		ch = core_channel_get(a->state, m->channel_id);
		if (!ch || strcmp(ch->org_id, m->org_id) != 0)
			return;
	}
	if (!maybe_wanted(o, m, ch))
		return;
	json_error_t jerr;
	json_t *ev = json_loadb(m->json, m->len ? m->len : strlen(m->json), 0, &jerr);
	if (!json_is_object(ev)) {
		json_decref(ev);
		return;
	}
	const char *type = json_string_value(json_object_get(ev, "type"));
	/* The inner event as apps see it: without Canal-only fields. */
	char *own = NULL;
	const char *inner = m->json;
	size_t inner_len = m->len ? m->len : strlen(m->json);
	if (json_object_get(ev, "mentioned")) {
		json_object_del(ev, "mentioned");
		own = json_dumps(ev, JSON_COMPACT);
		inner = own;
		inner_len = strlen(own);
	}
	const char *channel_id = ch ? ch->id : event_channel_id(ev);
	int64_t now_s = clock_now_s();
	/* A file event other than file_shared: once per app (see above). */
	char file_key[96], *fk = NULL;
	if (type && !strncmp(type, "file_", 5) && strcmp(type, "file_shared") != 0) {
		const char *fid = json_string_value(json_object_get(ev, "file_id"));
		const char *ets = json_string_value(json_object_get(ev, "event_ts"));
		snprintf(file_key, sizeof file_key, "%s %s %s", type, fid ? fid : "", ets ? ets : "");
		fk = file_key;
	}
	ev_common x;
	ev_common_init(&x, inner, inner_len, type, channel_id, now_s, fk);
	apps__busy(a);
	for (size_t i = 0; i < o->n; i++) {
		apps_sub *s = &o->v[i];
		bool mention = false;
		if (s->ap->deleted)
			continue;  /* deleted since the index was built */
		if (apps__match(s, m, ch, ev, type, &mention))
			deliver_one(a, s, &x);
		if (mention) {
			json_t *me = apps__mention_event(ev);
			char *mj = json_dumps(me, JSON_COMPACT);
			json_decref(me);
			ev_common mx;
			ev_common_init(&mx, mj, strlen(mj), "app_mention", channel_id, now_s, NULL);
			deliver_one(a, s, &mx);
			ws_blob_unref(mx.blob);
			ws_blob_unref(mx.mid);
			free(mj);
		}
	}
	apps__unbusy(a);
	ws_blob_unref(x.blob);
	ws_blob_unref(x.mid);
	free(own);
	json_decref(ev);
}
