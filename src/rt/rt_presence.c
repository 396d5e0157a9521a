/* Presence: who is online, who wants to know, and telling them.
 *
 * A user is "active" while at least one of their sessions is connected and
 * not idle and they are not manually away (users.setPresence away);
 * otherwise "away". Idle is kept per user (rt_user.idle), not per socket:
 * a user with one active socket is active, so the user is idle exactly when
 * the latest activity over all their sockets and API calls
 * (rt_user.last_activity_us) is idle_us old. Activity clears it at once
 * (rt__activity); a timer sweeps for users that became idle
 * (rt__idle_sweep), so auto away is late by at most one sweep period.
 * rt_user.announced_online remembers what was last told, so a change is
 * sent exactly once per visible transition (0 -> 1 session, 1 -> 0,
 * manual away on/off while connected), never for a second tab.
 *
 * Subscriptions (presence_sub) are kept in both directions: the session's
 * rt_sub array and the target's rt_subscriber array point at each other by
 * index, so adding, removing (swap-remove, fixing the moved entry's back
 * index) and fanning out cost O(1) per subscription and O(subscribers) per
 * change. A change goes to the target's subscribers and to the target's
 * own sessions (those already subscribed to themselves get it once). */
#include "rt/rt_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static int presence_json(char *out, size_t cap, const char *user_id, bool online)
{
	return snprintf(out, cap, "{\"type\":\"presence_change\",\"user\":\"%s\",\"presence\":\"%s\"}",
			user_id, online ? "active" : "away");
}

static void send_lazy(rt *r, rt_session *s, ws_frame **f, const char *js, int len)
{
	if (!s->ws)
		return;
	if (!*f)
		*f = ws_frame_text(js, (size_t)len);
	if (ws_send(s->ws, *f) == 0)
		r->stats.deliveries++;
}

static void presence_emit(rt *r, rt_user *ue, bool online)
{
	char js[160];
	int len = presence_json(js, sizeof js, ue->id, online);
	ws_frame *f = NULL;
	uint64_t gen = ++r->gen;
	for (uint32_t i = 0; i < ue->nsubscribers; i++) {
		rt_session *s = ue->subscribers[i].s;
		s->mark = gen;
		send_lazy(r, s, &f, js, len);
	}
	for (rt_session *s = ue->sessions; s; s = s->user_next)
		if (s->mark != gen)
			send_lazy(r, s, &f, js, len);
	if (f)
		ws_frame_unref(f);
}

void rt__presence_update(rt *r, rt_user *ue)
{
	bool now = rt__online(ue);
	if (now == ue->announced_online)
		return;
	ue->announced_online = now;
	presence_emit(r, ue, now);
}

void rt__activity(rt *r, rt_user *ue, int64_t now_us)
{
	if (now_us > ue->last_activity_us)
		ue->last_activity_us = now_us;
	if (!ue->idle)
		return;
	ue->idle = false;
	rt__presence_update(r, ue);
}

void rt__idle_sweep(rt *r, int64_t now_us)
{
	if (r->idle_us <= 0)
		return;
	size_t it = 0;
	void *v;
	rt__busy(r);
	/* presence_emit neither adds nor removes rt_user entries, and frees
	 * wait for rt__unbusy: the map may be walked while sending. */
	while (map_next(&r->users, &it, NULL, &v)) {
		rt_user *ue = v;
		if (ue->idle || ue->nsessions == 0 || (ue->u && ue->u->is_bot))
			continue;
		if (now_us - ue->last_activity_us >= r->idle_us) {
			ue->idle = true;
			rt__presence_update(r, ue);
		}
	}
	rt__unbusy(r);
}

void rt_user_activity(rt *r, const char *user_id, int64_t now_us)
{
	rt_user *ue = user_id ? map_get(&r->users, user_id) : NULL;
	if (!ue || ue->nsessions == 0)
		return;  /* no socket: nothing to keep active */
	rt__busy(r);
	rt__activity(r, ue, now_us);
	rt__unbusy(r);
}

int64_t rt_user_last_activity_us(const rt *r, const char *user_id)
{
	const rt_user *ue = map_get(&r->users, user_id);
	return ue && ue->nsessions ? ue->last_activity_us : 0;
}

bool rt_user_online(const rt *r, const char *user_id)
{
	const rt_user *ue = map_get(&r->users, user_id);
	return ue && rt__online(ue);
}

int rt_user_connections(const rt *r, const char *user_id)
{
	const rt_user *ue = map_get(&r->users, user_id);
	return ue ? ue->nsessions : 0;
}

void rt_set_manual_away(rt *r, user *u, bool away)
{
	u->manual_away = away;
	rt_user *ue = map_get(&r->users, u->id);
	if (!ue)
		return;  /* not connected: away either way */
	rt__busy(r);
	rt__presence_update(r, ue);
	rt__unbusy(r);
}

void rt__presence_unsub_all(rt *r, rt_session *s)
{
	for (uint32_t i = 0; i < s->nsubs; i++) {
		rt_user *t = s->subs[i].target;
		uint32_t pos = s->subs[i].pos;
		uint32_t last = --t->nsubscribers;
		if (pos != last) {
			t->subscribers[pos] = t->subscribers[last];
			rt_subscriber *moved = &t->subscribers[pos];
			moved->s->subs[moved->idx].pos = pos;
		}
		rt__user_maybe_free(r, t);
	}
	s->nsubs = 0;
}

void rt__presence_sub(rt *r, rt_session *s, const char *const *ids, size_t n)
{
	rt__presence_unsub_all(r, s);
	uint64_t gen = ++r->gen;
	for (size_t i = 0; i < n; i++) {
		user *u = core_user_get(r->state, ids[i]);
		if (!u || strcmp(u->org_id, s->org_id) != 0)
			continue;  /* unknown, or another org's: dropped */
		rt_user *t = rt__user_get(r, u->id);
		if (t->sub_gen == gen)
			continue;  /* listed twice */
		t->sub_gen = gen;
		if (s->nsubs == s->subs_cap) {
			s->subs_cap = s->subs_cap ? s->subs_cap * 2 : 8;
			s->subs = xrealloc(s->subs, s->subs_cap * sizeof *s->subs);
		}
		if (t->nsubscribers == t->subscribers_cap) {
			t->subscribers_cap = t->subscribers_cap ? t->subscribers_cap * 2 : 4;
			t->subscribers = xrealloc(t->subscribers,
						  t->subscribers_cap * sizeof *t->subscribers);
		}
		s->subs[s->nsubs] = (rt_sub){t, t->nsubscribers};
		t->subscribers[t->nsubscribers++] = (rt_subscriber){s, s->nsubs};
		s->nsubs++;
	}
}

void rt__presence_tell(rt *r, rt_session *s, const char *user_id)
{
	user *u = core_user_get(r->state, user_id);
	if (!u || strcmp(u->org_id, s->org_id) != 0 || !s->ws)
		return;
	const rt_user *ue = map_get(&r->users, u->id);
	char js[160];
	int len = presence_json(js, sizeof js, u->id, ue && rt__online(ue));
	if (ws_send_text(s->ws, js, (size_t)len) == 0)
		r->stats.deliveries++;
}

size_t rt__presence_subscribers(const rt *r, const char *user_id)
{
	const rt_user *ue = map_get(&r->users, user_id);
	return ue ? ue->nsubscribers : 0;
}
