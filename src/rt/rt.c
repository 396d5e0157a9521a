/* Real time for people: the rt object, rtm.connect tickets, the WebSocket
 * upgrade and the life of a session. Fan-out is in rt_deliver.c, presence
 * in rt_presence.c, client messages in rt_client.c.
 *
 * Design note
 *
 * Purpose. Keep, for every connected WebSocket, who it is (user, org) and
 * what it asked for (presence subscriptions), indexed so that delivering an
 * event costs one walk over its audience and one ws_send per recipient.
 *
 * Session states and the function for each transition:
 *
 *   rt_handle_upgrade: ticket / cookie checked -> session_new -> ws_accept
 *        |  (ws_accept failed: session freed, the ws layer answered)
 *        v
 *   OPEN (session_start: indexed, hello sent, presence updated)
 *        |  ws on_close (session_close_cb), or closed during ws_accept
 *        v
 *   CLOSED (s->ws = NULL, s->closed; queued on r->reap)
 *        |  rt__unbusy, when the outermost operation ends
 *        v
 *   freed (session_destroy: unsubscribed, unindexed, presence updated)
 *
 * Invariants.
 *  1. The rt owns every rt_session, rt_user, rt_org and rt_ticket. A
 *     session is referenced by its ws_conn's ud, its user's list, its org's
 *     list and the subscriber arrays of the users it subscribes to; all of
 *     these are dropped in session_destroy, and only there.
 *  2. Indexes agree: a session is in ue->sessions and org->sessions exactly
 *     while s->indexed; ue->nsessions and org->nsessions count those lists;
 *     r->stats.sessions counts indexed sessions (so the delivery scratch
 *     sized to it always has room). s->subs[i] and
 *     s->subs[i].target->subscribers[s->subs[i].pos] point at each other.
 *  3. An rt_user lives while it has a session or a subscriber
 *     (rt__user_maybe_free is called after every removal).
 *  4. Nothing is freed while a session list or subscriber array is being
 *     walked: every entry point that walks or sends runs between rt__busy
 *     and rt__unbusy, and a socket that closes meanwhile (even synchronously
 *     inside ws_send or ws_close) is only marked and queued; the outermost
 *     rt__unbusy destroys it.
 *  5. No database access anywhere in rt: recipients, visibility and
 *     mentions come from core_state (hot state) alone; a delivery allocates
 *     nothing per recipient (scratch arrays live in the rt).
 *  6. Tickets are single use: the lookup removes them. Expired ones are
 *     refused and purged lazily and by a timer; the token behind a ticket
 *     is checked again when the socket connects. */
#include "rt/rt_internal.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_session.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "rt/rt_url.h"
#include "core/rules.h"

#define ID_SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

static void session_message_cb(ws_conn *c, const char *msg, size_t len, void *ud);
static void session_close_cb(ws_conn *c, int code, void *ud);

/* Static: ws may keep the pointer for the connection's life. */
static const ws_callbacks session_callbacks = {
	.on_message = session_message_cb,
	.on_close = session_close_cb,
};

/* ---- users and orgs ---- */

rt_user *rt__user_get(rt *r, const char *id)
{
	rt_user *ue = map_get(&r->users, id);
	if (!ue) {
		ue = xcalloc(1, sizeof *ue);
		ID_SET(ue->id, id);
		ue->u = core_user_get(r->state, id);
		map_put(&r->users, ue->id, ue);
		r->users_gen++;
	}
	return ue;
}

void rt__user_maybe_free(rt *r, rt_user *ue)
{
	if (ue->nsessions || ue->nsubscribers)
		return;
	map_del(&r->users, ue->id);
	r->users_gen++;
	free(ue->subscribers);
	free(ue);
}

static rt_org *org_get(rt *r, const char *id)
{
	rt_org *o = map_get(&r->orgs, id);
	if (!o) {
		o = xcalloc(1, sizeof *o);
		ID_SET(o->id, id);
		map_put(&r->orgs, o->id, o);
	}
	return o;
}

/* ---- sessions ---- */

static rt_session *session_new(rt *r, const char *user_id, const char *org_id,
			       const char *token_hash)
{
	rt_session *s = xcalloc(1, sizeof *s);
	s->id = ++r->next_session_id;
	s->r = r;
	ID_SET(s->user_id, user_id);
	ID_SET(s->org_id, org_id);
	ID_SET(s->token_hash, token_hash);
	s->connected_us = s->last_activity_us = clock_now_us();
	return s;
}

static void session_index(rt *r, rt_session *s)
{
	rt_user *ue = rt__user_get(r, s->user_id);
	s->ue = ue;
	s->user_prev = NULL;
	s->user_next = ue->sessions;
	if (ue->sessions)
		ue->sessions->user_prev = s;
	ue->sessions = s;
	ue->nsessions++;

	rt_org *o = org_get(r, s->org_id);
	s->org = o;
	s->org_prev = NULL;
	s->org_next = o->sessions;
	if (o->sessions)
		o->sessions->org_prev = s;
	o->sessions = s;
	o->nsessions++;

	s->indexed = true;
	r->users_gen++;   /* recipient lists (rt_deliver.c) */
	r->stats.sessions++;
}

/* Unlinks s from its user and org (not from subscriptions). */
static void session_unindex(rt *r, rt_session *s)
{
	rt_user *ue = s->ue;
	if (s->user_prev)
		s->user_prev->user_next = s->user_next;
	else
		ue->sessions = s->user_next;
	if (s->user_next)
		s->user_next->user_prev = s->user_prev;
	ue->nsessions--;

	rt_org *o = s->org;
	if (s->org_prev)
		s->org_prev->org_next = s->org_next;
	else
		o->sessions = s->org_next;
	if (s->org_next)
		s->org_next->org_prev = s->org_prev;
	if (--o->nsessions == 0) {
		map_del(&r->orgs, o->id);
		free(o);
	}
	s->org = NULL;
	s->indexed = false;
	r->users_gen++;
	r->stats.sessions--;
}

/* OPEN: index, hello, presence. Called between rt__busy/rt__unbusy. */
static void session_start(rt *r, rt_session *s, ws_conn *c)
{
	if (s->closed)
		return;  /* the socket closed inside ws_accept; reaped later */
	s->ws = c;
	session_index(r, s);
	static const char hello[] = "{\"type\":\"hello\"}";
	ws_send_text(c, hello, sizeof hello - 1);
	/* Connecting is activity: a new socket makes an idle user active. */
	if (s->connected_us > s->ue->last_activity_us)
		s->ue->last_activity_us = s->connected_us;
	s->ue->idle = false;
	rt__presence_update(r, s->ue);
	log_debug("rt session open", "session=%llu user=%s", (unsigned long long)s->id, s->user_id);
}

/* Frees a closed session: see invariant 1 for what must be dropped. */
static void session_destroy(rt *r, rt_session *s)
{
	if (s->indexed) {
		rt_user *ue = s->ue;
		/* Subscriptions first: ue still counts s, so it survives even
		 * when s subscribed to its own user. */
		rt__presence_unsub_all(r, s);
		session_unindex(r, s);
		rt__presence_update(r, ue);
		rt__user_maybe_free(r, ue);
		log_debug("rt session closed", "session=%llu user=%s",
			  (unsigned long long)s->id, s->user_id);
	}
	free(s->subs);
	free(s);
}

void rt__unbusy(rt *r)
{
	if (--r->busy > 0)
		return;
	r->busy++;  /* destroying emits presence, which must not reap again */
	while (r->reap) {
		rt_session *s = r->reap;
		r->reap = s->reap_next;
		session_destroy(r, s);
	}
	r->busy--;
}

static void session_message_cb(ws_conn *c, const char *msg, size_t len, void *ud)
{
	rt_session *s = ws_conn_ud(c);
	if (!s || s->closed)
		return;
	if (!s->ws)
		s->ws = c;  /* a message parsed inside ws_accept, before session_start */
	rt *r = s->r;
	rt__busy(r);
	rt__client_message(r, s, msg, len);
	rt__unbusy(r);
}

static void session_close_cb(ws_conn *c, int code, void *ud)
{
	rt_session *s = ws_conn_ud(c);
	if (!s || s->closed)
		return;
	rt *r = s->r;
	s->closed = true;
	s->ws = NULL;
	rt__busy(r);
	s->reap_next = r->reap;
	r->reap = s;
	rt__unbusy(r);
}

rt_session *rt__session_open(rt *r, const char *user_id, const char *org_id,
			     const char *token_hash, ws_conn *c)
{
	rt_session *s = session_new(r, user_id, org_id, token_hash);
	ws_conn_set_ud(c, s);
	rt__busy(r);
	session_start(r, s, c);
	rt__unbusy(r);
	return s;
}

void rt_drop_user_sessions(rt *r, const char *user_id)
{
	rt_user *ue = user_id ? map_get(&r->users, user_id) : NULL;
	if (!ue)
		return;
	rt__busy(r);
	for (rt_session *s = ue->sessions; s; s = s->user_next)
		if (s->ws)
			ws_close(s->ws, 1008, "auth revoked");
	rt__unbusy(r);
}

void rt_drop_token_sessions(rt *r, const token *t)
{
	rt_user *ue = t ? map_get(&r->users, t->user_id) : NULL;
	if (!ue)
		return;
	rt__busy(r);
	for (rt_session *s = ue->sessions; s; s = s->user_next)
		if (s->ws && strcmp(s->token_hash, t->hash) == 0)
			ws_close(s->ws, 1008, "auth revoked");
	rt__unbusy(r);
}

void rt_revalidate(rt *r)
{
	int64_t now = clock_now_us() / 1000000;
	size_t it = 0;
	void *v;
	rt__busy(r);
	while (map_next(&r->users, &it, NULL, &v)) {
		rt_user *ue = v;
		for (rt_session *s = ue->sessions; s; s = s->user_next) {
			if (!s->ws)
				continue;
			token *t = core_token_get(r->state, s->token_hash);
			user *u = core_user_get(r->state, ue->id);
			if (!t || t->revoked || (t->expires && t->expires < now) || !u || u->deleted)
				ws_close(s->ws, 1008, "auth revoked");
		}
	}
	rt__unbusy(r);
}

/* ---- the rt ---- */

void rt__tickets_purge(rt *r, int64_t now)
{
	size_t it = 0;
	const char *k;
	void *v;
	while (map_next(&r->tickets, &it, &k, &v)) {
		rt_ticket *tk = v;
		if (tk->expires_us <= now) {
			map_del(&r->tickets, k);
			free(tk);
		}
	}
}

static void purge_timer_cb(uv_timer_t *t)
{
	rt *r = t->data;
	rt__tickets_purge(r, clock_now_us());
}

static void timer_free_cb(uv_handle_t *h)
{
	free(h);
}

static void idle_timer_cb(uv_timer_t *t)
{
	rt *r = t->data;
	rt__idle_sweep(r, clock_now_us());
}

#define RT_IDLE_DEFAULT_S 1800   /* Slack: auto away after 30 minutes */

void rt_set_idle_timeout(rt *r, long seconds)
{
	r->idle_us = seconds > 0 ? (int64_t)seconds * 1000000 : 0;
	if (!r->loop)
		return;
	if (!r->idle_timer) {
		r->idle_timer = xcalloc(1, sizeof *r->idle_timer);
		uv_timer_init(r->loop, r->idle_timer);
		r->idle_timer->data = r;
		uv_unref((uv_handle_t *)r->idle_timer);  /* never keeps the loop alive */
	}
	uv_timer_stop(r->idle_timer);
	if (!r->idle_us)
		return;
	/* A quarter of the timeout, between 100 ms and 30 s: auto away is at
	 * most that late, and the sweep (O(users with sockets)) stays rare. */
	int64_t every_ms = r->idle_us / 4000;
	if (every_ms < 100)
		every_ms = 100;
	if (every_ms > 30000)
		every_ms = 30000;
	uv_timer_start(r->idle_timer, idle_timer_cb, (uint64_t)every_ms, (uint64_t)every_ms);
}

rt *rt_new(uv_loop_t *loop, core_state *state, ws_ctx *ws, const char *base_url)
{
	rt *r = xcalloc(1, sizeof *r);
	r->loop = loop;
	r->state = state;
	r->ws = ws;
	r->ws_base = rt_ws_base_from(base_url);
	r->bus = bus_local_new(rt_deliver, r);
	map_init(&r->tickets);
	map_init(&r->users);
	map_init(&r->recips);
	map_init(&r->orgs);
	if (loop) {
		r->purge_timer = xcalloc(1, sizeof *r->purge_timer);
		uv_timer_init(loop, r->purge_timer);
		r->purge_timer->data = r;
		uv_timer_start(r->purge_timer, purge_timer_cb, RT_TICKET_PURGE_MS, RT_TICKET_PURGE_MS);
		uv_unref((uv_handle_t *)r->purge_timer);  /* never keeps the loop alive */
	}
	rt_set_idle_timeout(r, RT_IDLE_DEFAULT_S);
	return r;
}

void rt_free(rt *r)
{
	if (!r)
		return;
	/* Normally every socket is gone (ws_ctx_shutdown ran first). Any
	 * session left is cut loose from its socket so a late on_close finds
	 * no session. */
	size_t it = 0;
	void *v;
	rt_session *left = NULL;
	while (map_next(&r->orgs, &it, NULL, &v))
		for (rt_session *s = ((rt_org *)v)->sessions; s; s = s->org_next) {
			if (s->closed)
				continue;  /* already on r->reap */
			s->reap_next = left;
			left = s;
		}
	r->busy++;
	/* Detach every socket first, so the presence changes of the
	 * destruction below reach nobody. */
	for (rt_session *s = left; s; s = s->reap_next) {
		ws_conn_set_ud(s->ws, NULL);
		ws_close(s->ws, 1001, "going away");
		s->ws = NULL;
		s->closed = true;
	}
	while (left) {
		rt_session *s = left;
		left = s->reap_next;
		session_destroy(r, s);
	}
	while (r->reap) {
		rt_session *s = r->reap;
		r->reap = s->reap_next;
		session_destroy(r, s);
	}
	/* Entries kept alive only by now-gone subscribers are freed above;
	 * anything else would be a bookkeeping bug, but free it anyway. */
	it = 0;
	while (map_next(&r->users, &it, NULL, &v)) {
		free(((rt_user *)v)->subscribers);
		free(v);
	}
	it = 0;
	while (map_next(&r->tickets, &it, NULL, &v))
		free(v);
	if (r->purge_timer) {
		uv_timer_stop(r->purge_timer);
		uv_close((uv_handle_t *)r->purge_timer, timer_free_cb);
	}
	if (r->idle_timer) {
		uv_timer_stop(r->idle_timer);
		uv_close((uv_handle_t *)r->idle_timer, timer_free_cb);
	}
	rt__recips_release(r);
	map_release(&r->tickets);
	map_release(&r->users);
	map_release(&r->orgs);
	bus_free(r->bus);
	free(r->scratch);
	free(r->scratch_mentioned);
	free(r->ws_base);
	free(r);
}

bus *rt_bus(rt *r)
{
	return r->bus;
}

void rt_stats_get(const rt *r, rt_stats *out)
{
	*out = r->stats;
}

void rt__publish(rt *r, const bus_msg *m)
{
	r->stats.events_published++;
	bus_publish(r->bus, m);
}

void rt_publish_json(rt *r, bus_scope scope, const char *org_id, const char *channel_id,
		     const char *user_id, json_t *event, const char *mentions)
{
	char *js = json_dumps(event, JSON_COMPACT);
	if (!js)
		return;
	char *mjs = NULL;
	if (mentions && *mentions) {
		json_t *cp = json_copy(event);
		json_object_set_new(cp, "mentioned", json_true());
		mjs = json_dumps(cp, JSON_COMPACT);
		json_decref(cp);
	}
	bus_msg m = {.scope = scope};
	ID_SET(m.org_id, org_id);
	ID_SET(m.channel_id, channel_id);
	ID_SET(m.user_id, user_id);
	m.json = js;
	m.len = strlen(js);
	if (mjs) {
		m.mention_json = mjs;
		m.mention_len = strlen(mjs);
		m.mentions = mentions;
	}
	rt__publish(r, &m);
	free(js);
	free(mjs);
}

/* ---- tickets and the upgrade ---- */

char *rt_ticket_url(rt *r, const token *t)
{
	if (!t || !t->user_id[0])
		return NULL;
	int64_t now = clock_now_us();
	rt_ticket *tk = xcalloc(1, sizeof *tk);
	ID_SET(tk->user_id, t->user_id);
	ID_SET(tk->org_id, t->org_id);
	ID_SET(tk->token_hash, t->hash);
	tk->expires_us = now + RT_TICKET_TTL_US;
	char *hex = ids_secret_hex(RT_TICKET_BYTES);
	map_put(&r->tickets, hex, tk);
	char *url = xasprintf("%s/rtm?ticket=%s", r->ws_base, hex);
	free(hex);
	return url;
}

/* The token behind a session, valid now: not revoked or expired, its user
 * present and active, in the token's org. NULL otherwise. */
static user *token_user(rt *r, const char *hash, token **out)
{
	token *t = core_token_get(r->state, hash);
	if (!t || t->kind == TOKEN_INVITE || t->revoked || !t->user_id[0])
		return NULL;
	if (t->expires && t->expires < clock_now_s())
		return NULL;
	user *u = core_user_get(r->state, t->user_id);
	if (!u || u->deleted || strcmp(u->org_id, t->org_id) != 0 || !core_org_get(r->state, t->org_id))
		return NULL;
	*out = t;
	return u;
}

/* Header lookup over the public http_req fields (names are lowercased). */
static const char *req_header(const http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

static bool hex_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == RT_TICKET_BYTES * 2 && s[n] == '\0';
}

static void refuse(http_req *req, const char *why)
{
	char *body = xasprintf("{\"ok\":false,\"error\":\"%s\"}", why);
	http_respond(req, 401, "application/json; charset=utf-8", NULL, body, strlen(body));
	free(body);
}

void rt_handle_upgrade(rt *r, http_req *req)
{
	char ticket[80];
	token *t = NULL;
	user *u = NULL;
	if (rt_query_param(req->query, "ticket", ticket, sizeof ticket) == 0) {
		rt_ticket *tk = hex_ok(ticket) ? map_del(&r->tickets, ticket) : NULL;
		if (tk && tk->expires_us > clock_now_us()) {
			u = token_user(r, tk->token_hash, &t);
			if (u && strcmp(t->user_id, tk->user_id) != 0)
				u = NULL;
		}
		free(tk);
		if (!u) {
			refuse(req, "invalid_ticket");
			return;
		}
	} else {
		char secret[256];
		/* A cookie rides along with any page's socket: only this
		 * server's own pages may use it (cross-site WebSocket hijack). */
		if (api_same_origin(req) &&
		    api_cookie_value(req_header(req, "cookie"), "canal_session", secret, sizeof secret) == 0) {
			char hash[TOKEN_HASH_HEX];
			ids_token_hash(secret, hash);
			u = token_user(r, hash, &t);
			if (u && t->kind != TOKEN_SESSION)
				u = NULL;
		}
		if (!u) {
			refuse(req, "not_authed");
			return;
		}
	}

	rt_session *s = session_new(r, u->id, u->org_id, t->hash);
	rt__busy(r);
	ws_conn *c = ws_accept(r->ws, req, &session_callbacks, s);
	if (!c)
		free(s);  /* ws answered 400/426; no callback will come */
	else
		session_start(r, s, c);
	rt__unbusy(r);
}
