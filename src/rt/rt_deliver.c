/* Fan-out: who receives a bus message, and sending it to them.
 *
 * Recipients come from hot state only (invariant 5 of rt.c):
 *   BUS_CHANNEL  members of the channel who can see it (rules_can_see),
 *                each with all of their sessions;
 *   BUS_USER     the sessions of one user;
 *   BUS_ORG      every session of the org.
 * For a channel the cheaper side is walked: its members, or the org's
 * session list when fewer sessions than members are connected (a big
 * #general with few people online). A big channel's members are walked
 * through a cached list of their rt_user entries (rt_recips), rebuilt
 * when its membership or the set of rt_users changes; visibility is still
 * checked per recipient on every delivery.
 *
 * Mentions ("U1,here,subteam^S1") are resolved against the same state
 * without allocating: the targeted users' rt_user entries get this
 * delivery's generation mark, "here" and "channel"/"everyone" become flags.
 * A mark only matters for somebody already chosen as a recipient, so a
 * mentioned non-member (or someone who cannot see a private channel) gets
 * nothing at all.
 *
 * Each variant (plain, mentioned) is framed once, on first use, and the
 * same frame goes to every recipient of that variant. */
#include "rt/rt_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "core/rules.h"

enum {
	MENTION_ALL = 1,   /* channel / everyone */
	MENTION_HERE = 2,  /* online members */
};

static void mark_user(rt *r, const char *id, size_t n, uint64_t gen)
{
	char key[ID_MAX];
	if (n == 0 || n >= sizeof key)
		return;
	memcpy(key, id, n);
	key[n] = '\0';
	rt_user *ue = map_get(&r->users, key);
	if (ue)
		ue->mention_gen = gen;
}

/* Marks the users of an enabled group of the org (only those connected
 * matter: the others have no rt_user and receive nothing anyway). */
static void mark_group(rt *r, const char *gid, const char *org_id, uint64_t gen)
{
	usergroup *g = core_usergroup_get(r->state, gid);
	if (!g || g->date_delete || !g->users || (org_id[0] && strcmp(g->org_id, org_id) != 0))
		return;
	for (const char *p = g->users; *p;) {
		size_t n = strcspn(p, ",");
		mark_user(r, p, n, gen);
		p += n;
		if (*p == ',')
			p++;
	}
}

static unsigned mark_mentions(rt *r, const char *mentions, const char *org_id, uint64_t gen)
{
	unsigned flags = 0;
	for (const char *p = mentions; *p;) {
		size_t n = strcspn(p, ",");
		if (n == 4 && memcmp(p, "here", 4) == 0) {
			flags |= MENTION_HERE;
		} else if ((n == 7 && memcmp(p, "channel", 7) == 0) ||
			   (n == 8 && memcmp(p, "everyone", 8) == 0)) {
			flags |= MENTION_ALL;
		} else if (n > 8 && memcmp(p, "subteam^", 8) == 0) {
			char gid[ID_MAX];
			if (n - 8 < sizeof gid) {
				memcpy(gid, p + 8, n - 8);
				gid[n - 8] = '\0';
				mark_group(r, gid, org_id, gen);
			}
		} else {
			mark_user(r, p, n, gen);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return flags;
}

static void scratch_reserve(rt *r, size_t n)
{
	if (n <= r->scratch_cap)
		return;
	size_t cap = r->scratch_cap ? r->scratch_cap : 64;
	while (cap < n)
		cap *= 2;
	r->scratch = xrealloc(r->scratch, cap * sizeof *r->scratch);
	r->scratch_mentioned = xrealloc(r->scratch_mentioned, cap);
	r->scratch_cap = cap;
}

typedef struct walk {
	rt *r;
	const bus_msg *m;
	unsigned flags;
	uint64_t gen;
	size_t n;
} walk;

static uint8_t mentioned_for(const walk *w, const rt_user *ue)
{
	return (w->flags & MENTION_ALL) || ((w->flags & MENTION_HERE) && rt__online(ue)) ||
	       ue->mention_gen == w->gen;
}

static void add_session(walk *w, rt_session *s, uint8_t mentioned)
{
	if (!s->ws || s->id == w->m->except_session)
		return;
	w->r->scratch[w->n] = s;
	w->r->scratch_mentioned[w->n] = mentioned;
	w->n++;
}

static void add_user(walk *w, rt_user *ue)
{
	uint8_t mentioned = mentioned_for(w, ue);
	for (rt_session *s = ue->sessions; s; s = s->user_next)
		add_session(w, s, mentioned);
}

/* Channels this big keep a recipient list: walking the member map and
 * looking every member up in r->users was a tenth of the server's CPU per
 * delivery in the fan-out benchmark (1,000 members). Smaller ones are
 * walked as they are (cheap, and no memory held per small channel). */
#define RECIPS_MIN_MEMBERS 64

typedef struct rt_recips {
	const channel *ch;         /* identity check, with the generations */
	uint64_t members_gen, users_gen;
	size_t n, cap;
	rt_user **users;           /* members with an rt_user, at build time */
} rt_recips;

static void recips_add(rt_recips *rc, rt_user *ue)
{
	if (rc->n == rc->cap) {
		rc->cap = rc->cap ? rc->cap * 2 : 64;
		rc->users = xrealloc(rc->users, rc->cap * sizeof *rc->users);
	}
	rc->users[rc->n++] = ue;
}

/* ch's list, rebuilt if stale from the cheaper side: its members, or the
 * org's sessions when fewer are connected than ch has members. */
static rt_recips *recips_of(rt *r, const channel *ch, const rt_org *o)
{
	rt_recips *rc = map_get(&r->recips, ch->id);
	if (rc && rc->ch == ch && rc->members_gen == ch->members_gen && rc->users_gen == r->users_gen)
		return rc;
	if (!rc) {
		rc = xcalloc(1, sizeof *rc);
		map_put(&r->recips, ch->id, rc);
	}
	rc->ch = ch;
	rc->members_gen = ch->members_gen;
	rc->users_gen = r->users_gen;
	rc->n = 0;
	if (o->nsessions < core_member_count(ch)) {
		uint64_t gen = ++r->gen;
		for (rt_session *s = o->sessions; s; s = s->org_next) {
			rt_user *ue = s->ue;
			if (ue->list_gen != gen && map_get(&ch->members, ue->id)) {
				ue->list_gen = gen;
				recips_add(rc, ue);
			}
		}
		return rc;
	}
	size_t it = 0;
	const char *uid;
	while (map_next(&ch->members, &it, &uid, NULL)) {
		rt_user *ue = map_get(&r->users, uid);
		if (ue)
			recips_add(rc, ue);
	}
	return rc;
}

void rt__recips_release(rt *r)
{
	size_t it = 0;
	void *v;
	while (map_next(&r->recips, &it, NULL, &v)) {
		free(((rt_recips *)v)->users);
		free(v);
	}
	map_release(&r->recips);
}

static void walk_channel(walk *w)
{
	rt *r = w->r;
	channel *ch = core_channel_get(r->state, w->m->channel_id);
	if (!ch || (w->m->org_id[0] && strcmp(ch->org_id, w->m->org_id) != 0))
		return;
	rt_org *o = map_get(&r->orgs, ch->org_id);
	if (!o)
		return;  /* nobody of the org is connected */
	if (core_member_count(ch) >= RECIPS_MIN_MEMBERS) {
		const rt_recips *rc = recips_of(r, ch, o);
		for (size_t i = 0; i < rc->n; i++) {
			rt_user *ue = rc->users[i];
			if (ue->nsessions && rules_can_see(ue->u, ch))
				add_user(w, ue);
		}
		return;
	}
	if (o->nsessions < core_member_count(ch)) {
		/* Few online: look each session's user up in the member map. */
		for (rt_session *s = o->sessions; s; s = s->org_next) {
			rt_user *ue = s->ue;
			if (map_get(&ch->members, ue->id) && rules_can_see(ue->u, ch))
				add_session(w, s, mentioned_for(w, ue));
		}
		return;
	}
	size_t it = 0;
	const char *uid;
	while (map_next(&ch->members, &it, &uid, NULL)) {
		rt_user *ue = map_get(&r->users, uid);
		if (!ue || !ue->nsessions || !rules_can_see(ue->u, ch))
			continue;
		add_user(w, ue);
	}
}

size_t rt__recipients(rt *r, const bus_msg *m, rt_session ***out, const uint8_t **mentioned)
{
	/* Every recipient is an indexed session and appears once, so this
	 * many slots always suffice. */
	scratch_reserve(r, r->stats.sessions ? r->stats.sessions : 1);
	walk w = {.r = r, .m = m, .gen = ++r->gen};
	if (m->mentions && *m->mentions)
		w.flags = mark_mentions(r, m->mentions, m->org_id, w.gen);
	switch (m->scope) {
	case BUS_CHANNEL:
		walk_channel(&w);
		break;
	case BUS_USER: {
		rt_user *ue = map_get(&r->users, m->user_id);
		if (ue && ue->u && !ue->u->deleted)
			add_user(&w, ue);
		break;
	}
	case BUS_ORG: {
		rt_org *o = map_get(&r->orgs, m->org_id);
		for (rt_session *s = o ? o->sessions : NULL; s; s = s->org_next)
			if (s->ue->u && !s->ue->u->deleted)
				add_session(&w, s, mentioned_for(&w, s->ue));
		break;
	}
	}
	*out = r->scratch;
	if (mentioned)
		*mentioned = r->scratch_mentioned;
	return w.n;
}

void rt_deliver(void *rt_ud, const bus_msg *m)
{
	rt *r = rt_ud;
	if (!m->json)
		return;
	rt__busy(r);
	rt_session **rs;
	const uint8_t *mf;
	size_t n = rt__recipients(r, m, &rs, &mf);
	ws_frame *plain = NULL, *ment = NULL;
	for (size_t i = 0; i < n; i++) {
		rt_session *s = rs[i];
		if (!s->ws)
			continue;  /* closed by an earlier send in this loop */
		ws_frame *f;
		if (mf[i] && m->mention_json) {
			if (!ment)
				ment = ws_frame_text(m->mention_json,
						     m->mention_len ? m->mention_len : strlen(m->mention_json));
			f = ment;
		} else {
			if (!plain)
				plain = ws_frame_text(m->json, m->len ? m->len : strlen(m->json));
			f = plain;
		}
		if (ws_send(s->ws, f) == 0)
			r->stats.deliveries++;
	}
	if (plain)
		ws_frame_unref(plain);
	if (ment)
		ws_frame_unref(ment);
	rt__unbusy(r);
}
