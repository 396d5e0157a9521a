/* Short-lived interaction state (see api_pending.h for what and why).
 *
 * Each kind is a map (id -> entry) plus a list in order of creation.
 * Every entry of a kind lives equally long, so creation order is expiry
 * order: adding an entry first drops expired ones from the head of the
 * list, then the oldest while the kind is over its cap. Lookups check
 * expiry themselves, so nothing stale is ever returned, timer or not.
 * The state is process-wide (IDs are unique across organisations).
 *
 * Persistence: once api_pending_load has named the store, every entry of
 * the stored kinds (response URLs, views, ephemerals) is written through
 * as it is added or changed and deleted as it is dropped, each change in a
 * small store job of its own, committed in order by the writer. Triggers
 * are not stored: they are worth 3 s. */
#include "api/api_pending.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/map.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/store.h"

typedef struct pend_kind {
	map by_id;
	pend_link head;  /* circular: head.next is the oldest */
	size_t n, cap;
	void (*drop)(pend_link *l);
} pend_kind;

static struct {
	bool ready;
	int64_t response_ttl_us;
	pend_kind responses, triggers, views, homes, ephemerals;
	map externals;   /* "<app>/<external_id>" -> pend_view* */
	map home_index;  /* "<app>/<user>" -> pend_view* */
	uint64_t serial;
	store *st;       /* NULL: memory only (unit tests, before load) */
} P;

static void saved(void *ud, int err)
{
	(void)ud;
	if (err)
		log_warn("interaction state not saved", "error=%s", err_name(err));
}

/* A job for one change, or NULL when nothing is stored. */
static store_job *job_begin(void)
{
	return P.st ? store_job_new(P.st) : NULL;
}

static void job_end(store_job *j)
{
	store_submit(P.st, j, saved, NULL);
}

static void save_response(const pend_response *r)
{
	store_job *j = job_begin();
	if (!j)
		return;
	store_pend_response_put(j, &(store_pend_response){.id = r->id,
							  .org_id = r->org_id,
							  .app_id = r->app_id,
							  .user_id = r->user_id,
							  .channel_id = r->channel_id,
							  .message_ts = r->message_ts,
							  .message_ephemeral = r->message_ephemeral,
							  .uses_left = r->uses_left,
							  .expires_us = r->link.expires_us});
	job_end(j);
}

static void save_view(const pend_view *v)
{
	store_job *j = v->view ? job_begin() : NULL;
	if (!j)
		return;
	char *text = json_dumps(v->view, JSON_COMPACT);
	store_pend_view_put(j, &(store_pend_view){.id = v->id,
						  .org_id = v->org_id,
						  .app_id = v->app_id,
						  .user_id = v->user_id,
						  .root_id = v->root_id,
						  .previous_id = v->previous_id,
						  .above_id = v->above_id,
						  .external_id = v->external_id,
						  .home = v->home,
						  .view = text ? text : "{}",
						  .expires_us = v->link.expires_us});
	free(text);
	job_end(j);
}

static void save_ephemeral(const pend_ephemeral *e)
{
	store_job *j = job_begin();
	if (!j)
		return;
	char *text = json_dumps(e->message, JSON_COMPACT);
	store_pend_ephemeral_put(j, &(store_pend_ephemeral){.key = e->key,
							    .org_id = e->org_id,
							    .channel_id = e->channel_id,
							    .user_id = e->user_id,
							    .app_id = e->app_id,
							    .ts = e->ts,
							    .message = text ? text : "{}",
							    .expires_us = e->link.expires_us});
	free(text);
	job_end(j);
}

/* Deletes a stored row by its key with del. */
static void unsave(void (*del)(store_job *, const char *), const char *id)
{
	store_job *j = job_begin();
	if (!j)
		return;
	del(j, id);
	job_end(j);
}

static void drop_response(pend_link *l);
static void drop_trigger(pend_link *l);
static void drop_view_link(pend_link *l);
static void drop_ephemeral(pend_link *l);

static void kind_init(pend_kind *k, size_t cap, void (*drop)(pend_link *))
{
	map_init(&k->by_id);
	k->head.prev = k->head.next = &k->head;
	k->cap = cap;
	k->drop = drop;
}

static void ensure(void)
{
	if (P.ready)
		return;
	P.ready = true;
	if (!P.response_ttl_us)
		P.response_ttl_us = PEND_RESPONSE_TTL_S * 1000000LL;
	kind_init(&P.responses, PEND_MAX_RESPONSES, drop_response);
	kind_init(&P.triggers, PEND_MAX_TRIGGERS, drop_trigger);
	kind_init(&P.views, PEND_MAX_VIEWS, drop_view_link);
	kind_init(&P.homes, PEND_MAX_HOMES, drop_view_link);
	kind_init(&P.ephemerals, PEND_MAX_EPHEMERALS, drop_ephemeral);
	map_init(&P.externals);
	map_init(&P.home_index);
}

void api_pending_set_response_ttl(int64_t seconds)
{
	P.response_ttl_us = seconds > 0 ? seconds * 1000000LL : PEND_RESPONSE_TTL_S * 1000000LL;
}

static void link_add(pend_kind *k, pend_link *l, int64_t expires_us)
{
	l->expires_us = expires_us;
	l->prev = k->head.prev;
	l->next = &k->head;
	k->head.prev->next = l;
	k->head.prev = l;
	k->n++;
}

static void link_remove(pend_kind *k, pend_link *l)
{
	if (!l->prev)
		return;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = NULL;
	k->n--;
}

/* Drops expired entries, then the oldest while at the cap (room for one). */
static void sweep(pend_kind *k, int64_t now_us)
{
	while (k->head.next != &k->head) {
		pend_link *l = k->head.next;
		if (l->expires_us > now_us && k->n < k->cap)
			break;
		k->drop(l);
	}
}

static void random_hex(char *out, size_t nbytes)
{
	char *h = ids_secret_hex(nbytes);
	memcpy(out, h, nbytes * 2 + 1);
	free(h);
}

/* ---- response URLs ---- */

static void drop_response(pend_link *l)
{
	pend_response *r = (pend_response *)l;
	link_remove(&P.responses, l);
	map_del(&P.responses.by_id, r->id);
	unsave(store_pend_response_del, r->id);
	free(r);
}

pend_response *api_pending_response_new(int64_t now_us, const char *org_id, const char *app_id,
					 const char *user_id, const char *channel_id,
					 int64_t message_ts, bool message_ephemeral)
{
	ensure();
	sweep(&P.responses, now_us);
	pend_response *r = xcalloc(1, sizeof *r);
	random_hex(r->id, 16);
	snprintf(r->org_id, sizeof r->org_id, "%s", org_id ? org_id : "");
	snprintf(r->app_id, sizeof r->app_id, "%s", app_id ? app_id : "");
	snprintf(r->user_id, sizeof r->user_id, "%s", user_id ? user_id : "");
	snprintf(r->channel_id, sizeof r->channel_id, "%s", channel_id ? channel_id : "");
	r->message_ts = message_ts;
	r->message_ephemeral = message_ephemeral;
	r->uses_left = PEND_RESPONSE_USES;
	link_add(&P.responses, &r->link, now_us + P.response_ttl_us);
	map_put(&P.responses.by_id, r->id, r);
	save_response(r);
	return r;
}

pend_response *api_pending_response_get(const char *id, int64_t now_us, const char **why)
{
	ensure();
	*why = "expired_url";
	pend_response *r = id ? map_get(&P.responses.by_id, id) : NULL;
	if (!r)
		return NULL;
	if (r->link.expires_us <= now_us) {
		drop_response(&r->link);
		return NULL;
	}
	if (r->uses_left <= 0) {
		*why = "used_url";
		return NULL;
	}
	return r;
}

/* ---- trigger ids ---- */

static void drop_trigger(pend_link *l)
{
	pend_trigger *t = (pend_trigger *)l;
	link_remove(&P.triggers, l);
	map_del(&P.triggers.by_id, t->id);
	free(t);
}

void api_pending_trigger_new(char *out, int64_t now_us, const char *org_id, const char *app_id,
			     const char *user_id, const char *view_id)
{
	ensure();
	sweep(&P.triggers, now_us);
	pend_trigger *t = xcalloc(1, sizeof *t);
	/* Slack's shape: "<digits>.<digits>.<hex>". */
	char hex[33];
	random_hex(hex, 16);
	snprintf(t->id, sizeof t->id, "%lld.%llu.%s", (long long)(now_us / 1000000),
		 (unsigned long long)++P.serial, hex);
	snprintf(t->org_id, sizeof t->org_id, "%s", org_id ? org_id : "");
	snprintf(t->app_id, sizeof t->app_id, "%s", app_id ? app_id : "");
	snprintf(t->user_id, sizeof t->user_id, "%s", user_id ? user_id : "");
	snprintf(t->view_id, sizeof t->view_id, "%s", view_id ? view_id : "");
	t->valid_until_us = now_us + PEND_TRIGGER_TTL_US;
	link_add(&P.triggers, &t->link, now_us + PEND_TRIGGER_KEEP_US);
	map_put(&P.triggers.by_id, t->id, t);
	snprintf(out, PEND_ID_MAX, "%s", t->id);
}

/* digits '.' digits '.' hex */
static bool trigger_shape_ok(const char *s)
{
	for (int part = 0; part < 3; part++) {
		const char *start = s;
		while (*s && *s != '.') {
			if (part < 2 ? !isdigit((unsigned char)*s) : !isxdigit((unsigned char)*s))
				return false;
			s++;
		}
		if (s == start || (part < 2 && *s != '.') || (part == 2 && *s))
			return false;
		if (*s)
			s++;
	}
	return true;
}

int api_pending_trigger_take(const char *id, const char *app_id, int64_t now_us,
			     pend_trigger *out)
{
	ensure();
	if (!id || !trigger_shape_ok(id))
		return ERR_INVALID_TRIGGER_ID;
	pend_trigger *t = map_get(&P.triggers.by_id, id);
	if (!t || t->link.expires_us <= now_us || strcmp(t->app_id, app_id) != 0)
		return ERR_INVALID_TRIGGER_ID;
	if (t->used)
		return ERR_EXCHANGED_TRIGGER_ID;
	if (t->valid_until_us <= now_us)
		return ERR_EXPIRED_TRIGGER_ID;
	t->used = true;
	*out = *t;
	out->link.prev = out->link.next = NULL;
	return 0;
}

/* ---- views ---- */

static void ext_key(char *out, size_t n, const char *app_id, const char *ext)
{
	snprintf(out, n, "%s/%s", app_id, ext);
}

static void drop_view(pend_view *v)
{
	/* Unlink from its stack: the one above loses its floor too (a stack
	 * only ever loses views from the top, except by eviction). */
	if (v->previous_id[0]) {
		pend_view *below = map_get(&P.views.by_id, v->previous_id);
		if (below && strcmp(below->above_id, v->id) == 0) {
			below->above_id[0] = '\0';
			save_view(below);
		}
	}
	if (v->above_id[0]) {
		pend_view *up = map_get(&P.views.by_id, v->above_id);
		if (up) {
			up->previous_id[0] = '\0';
			save_view(up);
		}
	}
	if (v->external_id) {
		char k[PEND_ID_MAX + 300];
		ext_key(k, sizeof k, v->app_id, v->external_id);
		if (map_get(&P.externals, k) == v)
			map_del(&P.externals, k);
		free(v->external_id);
	}
	if (v->home) {
		char k[2 * ID_MAX];
		snprintf(k, sizeof k, "%s/%s", v->app_id, v->user_id);
		if (map_get(&P.home_index, k) == v)
			map_del(&P.home_index, k);
		link_remove(&P.homes, &v->link);
	} else {
		link_remove(&P.views, &v->link);
	}
	map_del(&P.views.by_id, v->id);
	unsave(store_pend_view_del, v->id);
	json_decref(v->view);
	free(v);
}

static void drop_view_link(pend_link *l)
{
	drop_view((pend_view *)l);
}

pend_view *api_pending_view_new(int64_t now_us, const char *org_id, const char *app_id,
				const char *user_id, bool home)
{
	ensure();
	sweep(home ? &P.homes : &P.views, now_us);
	pend_view *v = xcalloc(1, sizeof *v);
	do
		ids_new(v->id, "V");
	while (map_get(&P.views.by_id, v->id));
	snprintf(v->org_id, sizeof v->org_id, "%s", org_id);
	snprintf(v->app_id, sizeof v->app_id, "%s", app_id);
	snprintf(v->user_id, sizeof v->user_id, "%s", user_id);
	snprintf(v->root_id, sizeof v->root_id, "%s", v->id);
	v->home = home;
	/* Views of both kinds share the id map; the lists differ. */
	map_put(&P.views.by_id, v->id, v);
	if (home) {
		link_add(&P.homes, &v->link, INT64_MAX);
		char k[2 * ID_MAX];
		snprintf(k, sizeof k, "%s/%s", app_id, user_id);
		map_put(&P.home_index, k, v);
	} else {
		link_add(&P.views, &v->link, now_us + PEND_VIEW_TTL_US);
	}
	return v;
}

pend_view *api_pending_view_get(const char *id, int64_t now_us)
{
	ensure();
	pend_view *v = id ? map_get(&P.views.by_id, id) : NULL;
	if (v && !v->home && v->link.expires_us <= now_us) {
		drop_view(v);
		return NULL;
	}
	return v;
}

pend_view *api_pending_view_by_external(const char *app_id, const char *external_id,
					int64_t now_us)
{
	ensure();
	if (!external_id || !*external_id)
		return NULL;
	char k[PEND_ID_MAX + 300];
	ext_key(k, sizeof k, app_id, external_id);
	pend_view *v = map_get(&P.externals, k);
	return v ? api_pending_view_get(v->id, now_us) : NULL;
}

pend_view *api_pending_home_get(const char *app_id, const char *user_id)
{
	ensure();
	char k[2 * ID_MAX];
	snprintf(k, sizeof k, "%s/%s", app_id, user_id);
	return map_get(&P.home_index, k);
}

int api_pending_view_set_external(pend_view *v, const char *external_id)
{
	ensure();
	char k[PEND_ID_MAX + 300];
	if (external_id && *external_id) {
		ext_key(k, sizeof k, v->app_id, external_id);
		pend_view *other = map_get(&P.externals, k);
		if (other && other != v)
			return ERR_DUPLICATE_EXTERNAL_ID;
	}
	if (v->external_id) {
		ext_key(k, sizeof k, v->app_id, v->external_id);
		if (map_get(&P.externals, k) == v)
			map_del(&P.externals, k);
		free(v->external_id);
		v->external_id = NULL;
	}
	if (external_id && *external_id) {
		v->external_id = xstrdup(external_id);
		ext_key(k, sizeof k, v->app_id, external_id);
		map_put(&P.externals, k, v);
	}
	return 0;
}

void api_pending_view_drop(pend_view *v)
{
	ensure();
	drop_view(v);
}

int api_pending_stack(pend_view *v, pend_view **out)
{
	ensure();
	pend_view *root = map_get(&P.views.by_id, v->root_id);
	if (!root)
		root = v;
	int n = 0;
	for (pend_view *p = root; p && n < PEND_STACK_MAX;
	     p = p->above_id[0] ? map_get(&P.views.by_id, p->above_id) : NULL)
		out[n++] = p;
	return n;
}

/* ---- ephemeral messages ---- */

static void drop_ephemeral(pend_link *l)
{
	pend_ephemeral *e = (pend_ephemeral *)l;
	link_remove(&P.ephemerals, l);
	map_del(&P.ephemerals.by_id, e->key);
	unsave(store_pend_ephemeral_del, e->key);
	json_decref(e->message);
	free(e);
}

void api_pending_ephemeral_put(int64_t now_us, const char *org_id, const char *channel_id,
			       const char *user_id, const char *app_id, int64_t ts, json_t *msg)
{
	ensure();
	sweep(&P.ephemerals, now_us);
	pend_ephemeral *e = xcalloc(1, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s/%lld", user_id, (long long)ts);
	pend_ephemeral *old = map_get(&P.ephemerals.by_id, e->key);
	if (old)
		drop_ephemeral(&old->link);
	snprintf(e->org_id, sizeof e->org_id, "%s", org_id);
	snprintf(e->channel_id, sizeof e->channel_id, "%s", channel_id);
	snprintf(e->user_id, sizeof e->user_id, "%s", user_id);
	snprintf(e->app_id, sizeof e->app_id, "%s", app_id ? app_id : "");
	e->ts = ts;
	e->message = msg;
	link_add(&P.ephemerals, &e->link, now_us + PEND_EPHEMERAL_TTL_US);
	map_put(&P.ephemerals.by_id, e->key, e);
	save_ephemeral(e);
}

pend_ephemeral *api_pending_ephemeral_get(const char *user_id, int64_t ts, int64_t now_us)
{
	ensure();
	char k[PEND_ID_MAX];
	snprintf(k, sizeof k, "%s/%lld", user_id, (long long)ts);
	pend_ephemeral *e = map_get(&P.ephemerals.by_id, k);
	if (e && e->link.expires_us <= now_us) {
		drop_ephemeral(&e->link);
		return NULL;
	}
	return e;
}

void api_pending_ephemeral_drop(pend_ephemeral *e)
{
	ensure();
	drop_ephemeral(&e->link);
}

void api_pending_counts(size_t *responses, size_t *triggers, size_t *views, size_t *ephemerals)
{
	ensure();
	*responses = P.responses.n;
	*triggers = P.triggers.n;
	*views = P.views.n + P.homes.n;
	*ephemerals = P.ephemerals.n;
}

void api_pending_response_save(const pend_response *r)
{
	save_response(r);
}

void api_pending_view_save(const pend_view *v)
{
	save_view(v);
}

/* ---- loading at start ---- */

static void load_response(void *ud, const store_pend_response *row)
{
	(void)ud;
	if (strlen(row->id) >= PEND_ID_MAX || map_get(&P.responses.by_id, row->id))
		return;
	pend_response *r = xcalloc(1, sizeof *r);
	snprintf(r->id, sizeof r->id, "%s", row->id);
	snprintf(r->org_id, sizeof r->org_id, "%s", row->org_id);
	snprintf(r->app_id, sizeof r->app_id, "%s", row->app_id);
	snprintf(r->user_id, sizeof r->user_id, "%s", row->user_id);
	snprintf(r->channel_id, sizeof r->channel_id, "%s", row->channel_id);
	r->message_ts = row->message_ts;
	r->message_ephemeral = row->message_ephemeral;
	r->uses_left = row->uses_left;
	link_add(&P.responses, &r->link, row->expires_us);
	map_put(&P.responses.by_id, r->id, r);
}

static void load_view(void *ud, const store_pend_view *row)
{
	(void)ud;
	if (map_get(&P.views.by_id, row->id))
		return;
	json_t *view = json_loads(row->view, 0, NULL);
	if (!json_is_object(view)) {
		json_decref(view);
		log_warn("stored view unreadable, dropped", "view=%s", row->id);
		unsave(store_pend_view_del, row->id);
		return;
	}
	pend_view *v = xcalloc(1, sizeof *v);
	snprintf(v->id, sizeof v->id, "%s", row->id);
	snprintf(v->org_id, sizeof v->org_id, "%s", row->org_id);
	snprintf(v->app_id, sizeof v->app_id, "%s", row->app_id);
	snprintf(v->user_id, sizeof v->user_id, "%s", row->user_id);
	snprintf(v->root_id, sizeof v->root_id, "%s", row->root_id);
	snprintf(v->previous_id, sizeof v->previous_id, "%s", row->previous_id);
	snprintf(v->above_id, sizeof v->above_id, "%s", row->above_id);
	v->home = row->home;
	v->view = view;
	map_put(&P.views.by_id, v->id, v);
	if (v->home) {
		char k[2 * ID_MAX];
		snprintf(k, sizeof k, "%s/%s", v->app_id, v->user_id);
		pend_view *old = map_get(&P.home_index, k);
		if (old)   /* one per app and user: the later write wins */
			drop_view(old);
		link_add(&P.homes, &v->link, INT64_MAX);
		map_put(&P.home_index, k, v);
	} else {
		link_add(&P.views, &v->link, row->expires_us);
	}
	if (row->external_id && *row->external_id) {
		char k[PEND_ID_MAX + 300];
		ext_key(k, sizeof k, v->app_id, row->external_id);
		pend_view *other = map_get(&P.externals, k);
		if (other)   /* the later write wins here too */
			api_pending_view_set_external(other, NULL);
		api_pending_view_set_external(v, row->external_id);
	}
}

static void load_ephemeral(void *ud, const store_pend_ephemeral *row)
{
	(void)ud;
	if (strlen(row->key) >= PEND_ID_MAX || map_get(&P.ephemerals.by_id, row->key))
		return;
	json_t *msg = json_loads(row->message, 0, NULL);
	if (!json_is_object(msg)) {
		json_decref(msg);
		unsave(store_pend_ephemeral_del, row->key);
		return;
	}
	pend_ephemeral *e = xcalloc(1, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", row->key);
	snprintf(e->org_id, sizeof e->org_id, "%s", row->org_id);
	snprintf(e->channel_id, sizeof e->channel_id, "%s", row->channel_id);
	snprintf(e->user_id, sizeof e->user_id, "%s", row->user_id);
	snprintf(e->app_id, sizeof e->app_id, "%s", row->app_id);
	e->ts = row->ts;
	e->message = msg;
	link_add(&P.ephemerals, &e->link, row->expires_us);
	map_put(&P.ephemerals.by_id, e->key, e);
}

int api_pending_load(store *st, int64_t now_us)
{
	ensure();
	P.st = st;
	if (!st)
		return 0;
	/* Rows come in expiry order, which is the order the lists keep. */
	int rc = store_pend_responses(st, now_us, load_response, NULL);
	if (!rc)
		rc = store_pend_views(st, now_us, load_view, NULL);
	if (!rc)
		rc = store_pend_ephemerals(st, now_us, load_ephemeral, NULL);
	/* What expired while the server was down goes now; the rest goes as
	 * the lists drop it. */
	store_job *j = store_job_new(st);
	store_pend_purge(j, now_us);
	job_end(j);
	/* Over a cap (a smaller build than the one that wrote them): the
	 * oldest go, as when they are added. */
	pend_kind *kinds[] = {&P.responses, &P.views, &P.homes, &P.ephemerals};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		while (kinds[i]->n > kinds[i]->cap)
			kinds[i]->drop(kinds[i]->head.next);
	return rc;
}
