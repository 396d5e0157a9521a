/* The app platform at run time: the apps object, per-app delivery state,
 * the tick, status and stats. Matching and envelopes are in
 * apps_events.c, Socket Mode in apps_socket.c, HTTP in apps_http.c.
 *
 * Design note
 *
 * Purpose. Turn every published event into the envelopes of the apps
 * subscribed to it and get each envelope to its app exactly as Slack
 * would: over one of the app's Socket Mode connections if it has one,
 * else as a signed POST to its request URL; retried when not
 * acknowledged, queued (bounded) while the app is unreachable, and never
 * holding up anything else on the loop.
 *
 * Life of an event envelope (an apps_item of kind ITEM_EVENT):
 *
 *   apps_deliver: matched, wrapped (event_callback), apps__enqueue
 *        v
 *   QUEUE (e->queue, FIFO; past APPS_QUEUE_MAX the oldest is dropped)
 *        |  apps__pump: a live socket?            no socket, event_url set,
 *        v                                        not backed off:
 *   PENDING (a->pending by deadline,            HTTP (a->http, fetch_post
 *     a->pend_by_id: envelope id -> item)         in flight, <= 4 per app)
 *        |  ack -> delivered, freed                 |  2xx -> delivered, freed
 *        |  3 s -> retry_attempt+1, back to the     |  else -> DELAYED (e->delayed,
 *        |  front of QUEUE (after 3: failed)        |  by due time; 1 s, 1 min,
 *        v                                          v  5 min; after 3: failed)
 *
 * Dispatches (ITEM_DISPATCH) are never queued: PENDING on a socket, or
 * HTTP, or DOOMED (a->doomed: failed from the next tick, so the callback
 * never runs inside apps_dispatch).
 *
 * Invariants.
 *  1. An item is on exactly one list (it->on says which) or being handed
 *     over inside one function; lists own their items.
 *  2. Items in HTTP flight are referenced by fetch's callback: they are
 *     freed only there. apps_free detaches them (owner = NULL) and the
 *     callback then only frees them.
 *  3. An apps_app lives until apps_free (items point at it).
 *  4. A connection is freed only by apps__unbusy outside every walk of
 *     the connection arrays (a socket may report its close at any time).
 *     e->conns holds the connections not yet closed; e->nconns counts
 *     them.
 *  5. No database access: subscriptions, scopes and membership come from
 *     hot state (the index is rebuilt when apps change).
 *  6. Loop time (uv_now, or a test's fake) drives every deadline; wall
 *     time only stamps envelopes, tickets and status. */
#include "rt/apps_internal.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "rt/rt_url.h"
#include "core/err.h"

/* ---- small helpers ---- */

int64_t apps__now(apps *a)
{
	if (a->fake_now_ms)
		return a->fake_now_ms;
	if (a->loop)
		return (int64_t)uv_now(a->loop);
	return clock_mono_us() / 1000;
}

void apps__json_chars(buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	s = s ? s : "";
	/* Ids and tokens never need escaping: one copy. */
	size_t plain = 0;
	while (s[plain] && s[plain] != '"' && s[plain] != '\\' && (unsigned char)s[plain] >= 0x20)
		plain++;
	buf_add(b, s, plain);
	for (const unsigned char *p = (const unsigned char *)s + plain; *p; p++) {
		if (*p == '"' || *p == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)*p);
		} else if (*p < 0x20) {
			char esc[7] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15], 0};
			buf_adds(b, esc);
		} else {
			buf_addc(b, (char)*p);
		}
	}
}

void apps__json_str(buf *b, const char *s)
{
	buf_addc(b, '"');
	apps__json_chars(b, s);
	buf_addc(b, '"');
}

uint64_t apps__rand(apps *a)
{
	uint64_t z = (a->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void apps__event_id(apps *a, char *out)
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint64_t r = apps__rand(a);
	out[0] = 'E';
	out[1] = 'v';
	for (int i = 0; i < 10; i++) {
		out[2 + i] = digits[r % 36];
		r /= 36;
	}
	out[12] = '\0';
}

void apps__envelope_id(apps *a, apps_item *it)
{
	uint64_t r1 = apps__rand(a), r2 = apps__rand(a);
	apps__pend_id(&a->pend_by_id, it, r1, r2);
}

void apps__set_error(apps_app *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->last_error, sizeof e->last_error, fmt, ap);
	va_end(ap);
	e->last_error_at = clock_now_s();
}

/* ---- lists ---- */

void apps__list_push(apps_list *l, apps_item *it, int on)
{
	it->on = on;
	it->next = NULL;
	it->prev = l->tail;
	if (l->tail)
		l->tail->next = it;
	else
		l->head = it;
	l->tail = it;
	l->n++;
}

void apps__list_push_front(apps_list *l, apps_item *it, int on)
{
	it->on = on;
	it->prev = NULL;
	it->next = l->head;
	if (l->head)
		l->head->prev = it;
	else
		l->tail = it;
	l->head = it;
	l->n++;
}

/* Sorted by due_ms, stable: walks back from the tail (retries of one
 * schedule step arrive roughly in order). */
void apps__list_insert_due(apps_list *l, apps_item *it, int on)
{
	apps_item *after = l->tail;
	while (after && after->due_ms > it->due_ms)
		after = after->prev;
	if (!after) {
		apps__list_push_front(l, it, on);
		return;
	}
	it->on = on;
	it->prev = after;
	it->next = after->next;
	if (after->next)
		after->next->prev = it;
	else
		l->tail = it;
	after->next = it;
	l->n++;
}

void apps__list_remove(apps_list *l, apps_item *it)
{
	if (it->prev)
		it->prev->next = it->next;
	else
		l->head = it->next;
	if (it->next)
		it->next->prev = it->prev;
	else
		l->tail = it->prev;
	it->prev = it->next = NULL;
	it->on = ON_NONE;
	l->n--;
}

apps_item *apps__item_new(int kind)
{
	apps_item *it = xcalloc(1, sizeof *it);
	it->kind = kind;
	it->reason = "";
	return it;
}

void apps__item_free(apps_item *it)
{
	if (!it)
		return;
	free(it->body);
	apps__pend_drop(it);
	ws_blob_unref(it->pre);
	ws_blob_unref(it->mid);
	ws_blob_unref(it->inner);
	free(it);
}

const char *apps__item_body(apps_item *it, size_t *len)
{
	if (!it->body && it->inner) {
		buf b = BUF_INIT;
		buf_reserve(&b, it->pre->len + it->mid->len + it->inner->len + 64);
		buf_add(&b, it->pre->data, it->pre->len);
		buf_add(&b, it->mid->data, it->mid->len);
		buf_adds(&b, it->event_id);
		buf_adds(&b, APPS_EV_EVENT);
		buf_add(&b, it->inner->data, it->inner->len);
		buf_addc(&b, '}');
		it->body = buf_detach(&b, &it->len);
	}
	*len = it->len;
	return it->body ? it->body : "";
}

/* ---- entries ---- */

apps_app *apps__entry(apps *a, const char *app_id, const char *org_id)
{
	apps_app *e = map_get(&a->entries, app_id);
	if (!e) {
		e = xcalloc(1, sizeof *e);
		e->a = a;
		snprintf(e->id, sizeof e->id, "%s", app_id);
		snprintf(e->org_id, sizeof e->org_id, "%s", org_id ? org_id : "");
		map_put(&a->entries, e->id, e);
	}
	return e;
}

/* ---- busy / reap (invariant 4) ---- */

void apps__unbusy(apps *a)
{
	if (--a->busy > 0)
		return;
	while (a->reap) {
		apps_conn *c = a->reap;
		a->reap = c->reap_next;
		apps__conn_destroy(a, c);
	}
}

/* ---- pumping and the tick ---- */

void apps__pump(apps *a, apps_app *e)
{
	if (!e->queue.n && !e->delayed.n)
		return;
	if (apps__live_conns(e)) {
		apps__pump_socket(a, e);
		return;
	}
	const app *ap = core_app_get(a->state, e->id);
	if (!ap || ap->deleted) {
		/* Nowhere to go any more. */
		apps_list *ls[2] = {&e->queue, &e->delayed};
		for (int i = 0; i < 2; i++)
			while (ls[i]->head) {
				apps_item *it = ls[i]->head;
				apps__list_remove(ls[i], it);
				apps__item_free(it);
				e->dropped++;
				a->stats.events_dropped++;
			}
		return;
	}
	apps__pump_http(a, e, ap);
}

static void tick_cb(uv_timer_t *t)
{
	apps *a = t->data;
	apps__tick(a, apps__now(a));
}

void apps__kick(apps *a, bool immediate)
{
	if (!a->tick)
		return;
	if (immediate)
		uv_timer_start(a->tick, tick_cb, 0, APPS_TICK_MS);
	else if (!uv_is_active((uv_handle_t *)a->tick))
		uv_timer_start(a->tick, tick_cb, APPS_TICK_MS, APPS_TICK_MS);
}

void apps__doom(apps *a, apps_item *it, int err)
{
	it->fail_err = err;
	apps__list_push(&a->doomed, it, ON_DOOMED);
	apps__kick(a, true);
}

/* An unacked envelope's deadline passed. */
static void pending_expired(apps *a, apps_item *it, apps_list *retry)
{
	apps_app *e = it->owner;
	if (it->kind == ITEM_DISPATCH) {
		a->stats.dispatch_failures++;
		log_info("app did not acknowledge in time", "app=%s type=%s envelope=%s", e->id,
			 it->type, it->envelope_id);
		apps__set_error(e, "%s envelope not acknowledged within 3 s", it->type);
		it->cb(it->ud, ERR_OPERATION_TIMEOUT, NULL);
		apps__item_free(it);
		return;
	}
	e->npending--;
	if (it->attempt >= APPS_SOCKET_RETRIES) {
		e->failed++;
		a->stats.events_failed++;
		apps__set_error(e, "event %s not acknowledged after %d retries", it->event_id,
				it->attempt);
		log_info("app event failed", "app=%s event_id=%s attempts=%d", e->id, it->event_id,
			 it->attempt + 1);
		apps__item_free(it);
		return;
	}
	it->attempt++;
	it->reason = "timeout";
	e->retried++;
	a->stats.retries++;
	apps__list_push(retry, it, ON_NONE);
}

static bool entry_has_work(const apps_app *e)
{
	return e->nconns || e->queue.n || e->delayed.n || e->npending || e->http_in_flight;
}

void apps__tick(apps *a, int64_t now)
{
	apps__busy(a);
	/* Dispatches that could not leave. */
	while (a->doomed.head) {
		apps_item *it = a->doomed.head;
		apps__list_remove(&a->doomed, it);
		a->stats.dispatch_failures++;
		it->cb(it->ud, it->fail_err ? it->fail_err : ERR_DISPATCH_FAILED, NULL);
		apps__item_free(it);
	}
	/* Unacked envelopes: expired ones leave the pending list in deadline
	 * order; retries go back to the front of their queue in that order. */
	apps_list retry = {0};
	while (a->pending.head && a->pending.head->due_ms <= now) {
		apps_item *it = a->pending.head;
		apps__list_remove(&a->pending, it);
		pending_expired(a, it, &retry);
	}
	while (retry.tail) {
		apps_item *it = retry.tail;
		apps__list_remove(&retry, it);
		apps__list_push_front(&it->owner->queue, it, ON_QUEUE);
	}
	/* Per app: connection refresh, then whatever can leave now. */
	bool work = a->pending.n || a->http.n || a->doomed.n;
	size_t i = 0;
	void *v;
	while (map_next(&a->entries, &i, NULL, &v)) {
		apps_app *e = v;
		if (e->nconns)
			apps__conns_tick(a, e, now);
		apps__pump(a, e);
		work = work || entry_has_work(e);
	}
	if (a->tickets.count)
		apps__tickets_purge(a, clock_now_us());
	if (!work && a->tick)
		uv_timer_stop(a->tick);
	apps__unbusy(a);
}

/* ---- the apps object ---- */

static void purge_cb(uv_timer_t *t)
{
	apps *a = t->data;
	apps__tickets_purge(a, clock_now_us());
}

static void timer_free_cb(uv_handle_t *h)
{
	free(h);
}

apps *apps_new(uv_loop_t *loop, core_state *state, ws_ctx *ws, fetch_ctx *fetch, bus *b,
	       const char *base_url)
{
	apps *a = xcalloc(1, sizeof *a);
	a->loop = loop;
	a->state = state;
	a->ws = ws;
	a->fetch = fetch;
	a->bus = b;
	a->ws_base = rt_ws_base_from(base_url);
	map_init(&a->entries);
	map_init(&a->tickets);
	map_init(&a->orgs);
	a->idx_dirty = true;
	randombytes_buf(&a->rng, sizeof a->rng);
	a->lifetime_s = APPS_LIFETIME_S;
	static const int sched[] = {1000, 60000, 300000};
	apps_set_retry_schedule(a, sched, 3);
	if (loop) {
		a->tick = xcalloc(1, sizeof *a->tick);
		uv_timer_init(loop, a->tick);
		a->tick->data = a;
		uv_unref((uv_handle_t *)a->tick);
		a->purge = xcalloc(1, sizeof *a->purge);
		uv_timer_init(loop, a->purge);
		a->purge->data = a;
		uv_timer_start(a->purge, purge_cb, 10000, 10000);
		uv_unref((uv_handle_t *)a->purge);
	}
	if (b)
		bus_add_deliverer(b, apps_deliver, a);
	return a;
}

static void index_clear(apps *a)
{
	size_t i = 0;
	void *v;
	while (map_next(&a->orgs, &i, NULL, &v)) {
		apps__org_free(v);
	}
	map_release(&a->orgs);
	map_init(&a->orgs);
}

void apps_free(apps *a)
{
	if (!a)
		return;
	/* Off the bus first: nothing may reach a freed deliverer. */
	if (a->bus)
		for (int i = 0; i < a->bus->ndeliver; i++)
			if (a->bus->deliver[i].ud == a) {
				memmove(&a->bus->deliver[i], &a->bus->deliver[i + 1],
					(size_t)(a->bus->ndeliver - i - 1) * sizeof a->bus->deliver[0]);
				a->bus->ndeliver--;
				break;
			}
	a->busy++;
	/* Sockets still open (normally ws_ctx_shutdown closed them all):
	 * cut loose, so a late on_close finds nothing. */
	size_t i = 0;
	void *v;
	while (map_next(&a->entries, &i, NULL, &v)) {
		apps_app *e = v;
		for (int k = 0; k < e->nconns; k++) {
			apps_conn *c = e->conns[k];
			if (c->ws) {
				ws_conn_set_ud(c->ws, NULL);
				ws_close(c->ws, 1001, "going away");
			}
			free(c);
		}
		e->nconns = 0;
	}
	while (a->reap) {
		apps_conn *c = a->reap;
		a->reap = c->reap_next;
		free(c);
	}
	/* Dispatches waiting for an answer hear about it now. */
	apps_list *fail[2] = {&a->pending, &a->doomed};
	for (int k = 0; k < 2; k++)
		while (fail[k]->head) {
			apps_item *it = fail[k]->head;
			apps__list_remove(fail[k], it);
			if (it->kind == ITEM_DISPATCH)
				it->cb(it->ud, ERR_DISPATCH_FAILED, NULL);
			apps__item_free(it);
		}
	/* HTTP in flight: fetch still holds them (invariant 2). */
	for (apps_item *it = a->http.head; it; it = it->next) {
		it->owner = NULL;
		if (it->kind == ITEM_DISPATCH && it->cb) {
			it->cb(it->ud, ERR_DISPATCH_FAILED, NULL);
			it->cb = NULL;
		}
	}
	a->http.head = a->http.tail = NULL;
	i = 0;
	while (map_next(&a->entries, &i, NULL, &v)) {
		apps_app *e = v;
		apps_list *ls[2] = {&e->queue, &e->delayed};
		for (int k = 0; k < 2; k++)
			while (ls[k]->head) {
				apps_item *it = ls[k]->head;
				apps__list_remove(ls[k], it);
				apps__item_free(it);
			}
		free(e);
	}
	i = 0;
	while (map_next(&a->tickets, &i, NULL, &v))
		free(v);
	index_clear(a);
	if (a->tick) {
		uv_timer_stop(a->tick);
		uv_close((uv_handle_t *)a->tick, timer_free_cb);
	}
	if (a->purge) {
		uv_timer_stop(a->purge);
		uv_close((uv_handle_t *)a->purge, timer_free_cb);
	}
	map_release(&a->entries);
	map_release(&a->tickets);
	apps__pend_release(&a->pend_by_id);
	map_release(&a->orgs);
	free(a->ws_base);
	free(a);
}

void apps_app_changed(apps *a, const app *ap)
{
	if (!a)
		return;
	a->idx_dirty = true;
	if (ap && ap->deleted)
		apps_drop_app(a, ap->id);
}

void apps_drop_app(apps *a, const char *app_id)
{
	if (!a || !app_id)
		return;
	size_t i = 0;
	const char *k;
	void *v;
	while (map_next(&a->tickets, &i, &k, &v)) {
		apps_ticket *t = v;
		if (strcmp(t->app_id, app_id) == 0) {
			map_del(&a->tickets, k);
			free(t);
		}
	}
	apps_app *e = map_get(&a->entries, app_id);
	if (!e)
		return;
	apps__busy(a);
	apps__conns_close(a, e, "link_disabled", 1008);
	/* Its envelopes have nowhere to go. */
	apps_list *ls[2] = {&e->queue, &e->delayed};
	for (int n = 0; n < 2; n++)
		while (ls[n]->head) {
			apps_item *it = ls[n]->head;
			apps__list_remove(ls[n], it);
			apps__item_free(it);
			e->dropped++;
			a->stats.events_dropped++;
		}
	for (apps_item *it = a->pending.head, *next; it; it = next) {
		next = it->next;
		if (it->owner != e)
			continue;
		apps__list_remove(&a->pending, it);
		if (it->kind == ITEM_DISPATCH) {
			apps__doom(a, it, ERR_DISPATCH_FAILED);
		} else {
			e->npending--;
			e->dropped++;
			a->stats.events_dropped++;
			apps__item_free(it);
		}
	}
	e->ever_connected = false;
	apps__unbusy(a);
	log_info("app connections dropped", "app=%s", app_id);
}

void apps_revalidate(apps *a)
{
	if (!a)
		return;
	a->idx_dirty = true;
	bool any = false;
	size_t i = 0;
	void *v;
	while (!any && map_next(&a->entries, &i, NULL, &v))
		any = ((apps_app *)v)->nconns > 0;
	if (!any)
		return;
	/* Apps holding a usable app-level token. */
	map live;
	map_init(&live);
	int64_t now_s = clock_now_s();
	i = 0;
	while (map_next(&a->state->tokens, &i, NULL, &v)) {
		token *t = v;
		if (t->kind == TOKEN_APP && !t->revoked && (!t->expires || t->expires >= now_s))
			map_put(&live, t->app_id, t);
	}
	i = 0;
	while (map_next(&a->entries, &i, NULL, &v)) {
		apps_app *e = v;
		if (!e->nconns)
			continue;
		const app *ap = core_app_get(a->state, e->id);
		if (!ap || ap->deleted || !map_get(&live, e->id))
			apps_drop_app(a, e->id);
	}
	map_release(&live);
}

void apps_set_connection_lifetime(apps *a, int seconds)
{
	if (a && seconds > 0)
		a->lifetime_s = seconds;
}

void apps_set_retry_schedule(apps *a, const int *ms, int n)
{
	if (!a || n < 0)
		return;
	if (n > APPS_RETRY_MAX)
		n = APPS_RETRY_MAX;
	for (int i = 0; i < n; i++)
		a->retry_ms[i] = ms[i] < 0 ? 0 : ms[i];
	a->nretry = n;
}

json_t *apps_status(apps *a, const app *ap)
{
	apps_app *e = a && ap ? map_get(&a->entries, ap->id) : NULL;
	if (!e)
		return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:n,s:i,s:i}", "socket_connections", 0,
				 "queued", 0, "in_flight", 0, "delivered", 0, "failed", 0, "dropped", 0,
				 "retried", 0, "last_error", "last_error_at", 0, "backoff_until", 0);
	int64_t now = apps__now(a);
	int64_t backoff = e->backoff_until_ms > now ? e->backoff_until_s : 0;
	return json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I}", "socket_connections",
			 apps__live_conns(e), "queued", (json_int_t)(e->queue.n + e->delayed.n),
			 "in_flight", (json_int_t)(e->npending + (size_t)e->http_in_flight),
			 "delivered", (json_int_t)e->delivered, "failed", (json_int_t)e->failed,
			 "dropped", (json_int_t)e->dropped, "retried", (json_int_t)e->retried,
			 "last_error", e->last_error[0] ? json_string(e->last_error) : json_null(),
			 "last_error_at", (json_int_t)e->last_error_at, "backoff_until",
			 (json_int_t)backoff);
}

void apps_stats_get(apps *a, apps_stats *out)
{
	*out = a->stats;
}

/* ---- interactive dispatch ---- */

void apps_dispatch(apps *a, const app *ap, const char *type, json_t *payload,
		   const char *http_url, apps_ack_cb cb, void *ud)
{
	if (!a || !ap || !cb) {
		/* No runtime at all (CLI, tests): nothing can answer. */
		if (cb)
			cb(ud, ERR_DISPATCH_FAILED, NULL);
		json_decref(payload);
		return;
	}
	apps_item *it = apps__item_new(ITEM_DISPATCH);
	it->cb = cb;
	it->ud = ud;
	bool slash = type && !strcmp(type, "slash_commands");
	it->type = slash ? "slash_commands" : "interactive";
	const char *ptype = json_string_value(json_object_get(payload, "type"));
	/* Slack: a response payload is read from the ack of slash commands,
	 * view submissions and option requests only. */
	it->accepts_response = slash || (ptype && (!strcmp(ptype, "view_submission") ||
						   !strcmp(ptype, "block_suggestion")));
	it->form_payload = !slash;
	a->stats.dispatches++;
	apps_app *e = apps__entry(a, ap->id, ap->org_id);
	it->owner = e;
	if (ap->deleted) {
		apps__doom(a, it, ERR_DISPATCH_FAILED);
		goto out;
	}
	if (apps__live_conns(e)) {
		it->body = payload ? json_dumps(payload, JSON_COMPACT) : xstrdup("{}");
		it->len = strlen(it->body);
		if (apps__dispatch_socket(a, e, it) == 0)
			goto out;
		free(it->body);
		it->body = NULL;
	}
	if (http_url && *http_url && a->fetch && !a->fetch_gone) {
		it->body = apps__form_body(payload, it->form_payload, &it->len);
		apps__dispatch_http(a, ap, it, http_url);
		goto out;
	}
	log_info("app dispatch: no socket and no request URL", "app=%s type=%s", ap->id, it->type);
	apps__set_error(e, "%s: no Socket Mode connection and no request URL", it->type);
	apps__doom(a, it, ERR_DISPATCH_FAILED);
out:
	json_decref(payload);
}
