/* `canal admin retention|hold|audit|export ...` and the admin_later
 * machinery for the two commands that go on after their job commits:
 * a retention run (batches through the store's writer) and the exports
 * (a worker thread over a read-only connection of their own). */
#include "admin/admin_compliance.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "audit/audit.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "compliance/export.h"
#include "compliance/policy.h"
#include "compliance/retention.h"
#include "core/err.h"

static const audit_actor operator_actor = {.system = true, .ua = "canal-admin"};

static int usage_error(json_t **out, const char *msg)
{
	*out = json_pack("{s:s}", "error", msg);
	return -1;
}

static org *find_org(admin_env *e, const struct admin_opts *o)
{
	const char *id = admin_opt(o, "org");
	return id ? core_org_get(e->state, id) : NULL;
}

/* --channel C, if given: an id or a name in org (*out NULL without it). */
static int opt_channel(admin_env *e, const org *g, const struct admin_opts *o, channel **out)
{
	const char *c = admin_opt(o, "channel");
	*out = NULL;
	if (!c)
		return 0;
	channel *ch = core_channel_get(e->state, c);
	if (!ch)
		ch = core_channel_by_name(e->state, g->id, c[0] == '#' ? c + 1 : c);
	if (!ch || strcmp(ch->org_id, g->id) != 0)
		return ERR_CHANNEL_NOT_FOUND;
	*out = ch;
	return 0;
}

static int parse_days(const char *v, int64_t *out)
{
	char *end;
	long long d = strtoll(v, &end, 10);
	if (end == v || *end || d < 1 || d > POLICY_MAX_DAYS)
		return -1;
	*out = d;
	return 0;
}

int admin_cmd_retention_set(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out)
{
	org *g = find_org(e, o);
	if (!g)
		return ERR_TEAM_NOT_FOUND;
	channel *ch;
	int err = opt_channel(e, g, o, &ch);
	if (err)
		return err;
	const char *dv = admin_opt(o, "days");
	bool forever = admin_opt(o, "forever") != NULL;
	int64_t days = 0;
	if (forever == (dv != NULL))
		return usage_error(out, "give --days N or --forever");
	if (dv && parse_days(dv, &days) != 0)
		return usage_error(out, "--days wants a whole number of days, 1 to 36500");
	err = policy_retention_set(e->state, e->store, job, &operator_actor, g->id, ch, days);
	if (err)
		return err;
	*out = json_pack("{s:b,s:s,s:s,s:I,s:b}", "ok", 1, "team_id", g->id, "channel_id",
			 ch ? ch->id : "", "duration_days", (json_int_t)days, "keep_forever", forever);
	return 0;
}

int admin_cmd_retention_remove(admin_env *e, store_job *job, const struct admin_opts *o,
			       json_t **out)
{
	org *g = find_org(e, o);
	if (!g)
		return ERR_TEAM_NOT_FOUND;
	channel *ch;
	int err = opt_channel(e, g, o, &ch);
	if (err)
		return err;
	bool existed;
	err = policy_retention_remove(e->state, e->store, job, &operator_actor, g->id, ch, &existed);
	if (err)
		return err;
	*out = json_pack("{s:b,s:b}", "ok", 1, "removed", existed);
	return 0;
}

int admin_cmd_retention_show(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out)
{
	org *g = find_org(e, o);
	if (!g)
		return ERR_TEAM_NOT_FOUND;
	store_retention *p;
	size_t n;
	int err = store_retention_list(e->store, &p, &n);
	if (err)
		return err;
	*out = json_array();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(p[i].org_id, g->id) != 0)
			continue;
		channel *ch = p[i].channel_id[0] ? core_channel_get(e->state, p[i].channel_id) : NULL;
		json_array_append_new(
			*out, json_pack("{s:s,s:s,s:s,s:I,s:b,s:I,s:s}", "scope",
					p[i].channel_id[0] ? "channel" : "org", "channel_id",
					p[i].channel_id, "channel_name",
					ch && ch->name ? ch->name : "", "duration_days",
					(json_int_t)p[i].days, "keep_forever", p[i].days == 0,
					"updated", (json_int_t)p[i].updated, "updated_by",
					p[i].updated_by));
	}
	free(p);
	return 0;
}

int admin_cmd_hold_add(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out)
{
	org *g = find_org(e, o);
	if (!g)
		return ERR_TEAM_NOT_FOUND;
	const char *uid = admin_opt(o, "user");
	if ((admin_opt(o, "channel") != NULL) == (uid != NULL))
		return usage_error(out, "give --channel C or --user U");
	channel *ch;
	int err = opt_channel(e, g, o, &ch);
	if (err)
		return err;
	user *u = NULL;
	if (uid) {
		u = core_user_get(e->state, uid);
		if (!u)
			u = core_user_by_name(e->state, g->id, uid);
		if (!u || strcmp(u->org_id, g->id) != 0)
			return ERR_USER_NOT_FOUND;
	}
	store_hold h;
	err = policy_hold_add(e->state, job, &operator_actor, g->id, ch, u, admin_opt(o, "note"), &h);
	if (err)
		return err;
	*out = policy_hold_json(&h);
	free(h.note);
	return 0;
}

int admin_cmd_hold_release(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out)
{
	org *g = find_org(e, o);
	if (!g)
		return ERR_TEAM_NOT_FOUND;
	const char *id = admin_opt(o, "id");
	if (!id)
		return usage_error(out, "give --id H");
	int err = policy_hold_release(e->state, e->store, job, &operator_actor, g->id, id);
	if (err == ERR_NOT_FOUND)
		return usage_error(out, "hold_not_found");
	if (err)
		return err;
	*out = json_pack("{s:b,s:s}", "ok", 1, "id", id);
	return 0;
}

int admin_cmd_hold_list(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out)
{
	org *g = find_org(e, o);
	if (!g)
		return ERR_TEAM_NOT_FOUND;
	store_hold *h;
	size_t n;
	int err = store_hold_list(e->store, g->id, &h, &n);
	if (err)
		return err;
	*out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(*out, policy_hold_json(&h[i]));
	store_holds_free(h, n);
	return 0;
}

/* ---- later: what runs after the command's commit ---- */

typedef enum { LATER_RETENTION, LATER_EXPORT } later_kind;

struct admin_later {
	later_kind kind;
	core_state *state;
	store *store;
	uv_loop_t *loop;
	retention *ret;          /* the server's, or NULL: one made for the run */
	export_job *x;
	bool org_export;
	int64_t as_of;           /* retention run: --as-of, µs (0 = now) */
	const char *data_dir;    /* borrowed from the admin_env (offline: where DATA/files is) */
	uv_work_t work;
	admin_later_done done;
	void *ud;
};

void admin_later_free(admin_later *l)
{
	if (!l)
		return;
	export_free(l->x);
	free(l);
}

static void retention_done(void *ud, int err, const retention_stats *st)
{
	admin_later *l = ud;
	json_t *r = err ? json_pack("{s:s}", "error", err_name(err))
			: json_pack("{s:b,s:I,s:I,s:I,s:I}", "ok", 1, "channels",
				    (json_int_t)st->channels, "deleted", (json_int_t)st->deleted,
				    "files_deleted", (json_int_t)st->files, "batches",
				    (json_int_t)st->batches);
	l->done(l->ud, err, r);
	if (!l->loop)
		return;   /* offline: freed by admin_later_start once the run returns */
	admin_later_free(l);
}

/* Exports on worker threads (loop thread's count) and who waits for
 * them to be over (server shutdown). */
static int exports_running;
static void (*idle_cb)(void *ud);
static void *idle_ud;

bool admin_later_wait(void (*cb)(void *ud), void *ud)
{
	if (!exports_running)
		return false;
	idle_cb = cb;
	idle_ud = ud;
	return true;
}

static void export_finished(admin_later *l)
{
	int err = export_run_result(l->x);
	if (l->org_export) {
		/* The log says when the data left, and whether all of it did. */
		json_t *d = export_result(l->x);
		json_object_del(d, "ok");
		audit_entity en = {.workspace = core_org_get(l->state, export_org_id(l->x))};
		audit_record_now(l->store, l->state, export_org_id(l->x), &operator_actor,
				 "manual_export_completed", en.workspace ? &en : NULL, d);
	}
	l->done(l->ud, err ? err : 0, export_result(l->x));
	admin_later_free(l);
}

static void export_work(uv_work_t *w)
{
	admin_later *l = w->data;
	export_run(l->x);
}

static void export_after(uv_work_t *w, int status)
{
	export_finished(w->data);
	if (--exports_running == 0 && idle_cb) {
		void (*cb)(void *) = idle_cb;
		idle_cb = NULL;
		cb(idle_ud);
	}
}

void admin_later_start(admin_later *l, admin_later_done done, void *ud)
{
	l->done = done;
	l->ud = ud;
	if (l->kind == LATER_RETENTION) {
		if (l->ret) {
			retention_run(l->ret, l->as_of, retention_done, l);
			return;
		}
		/* Offline: a job of our own, run to the end right here. */
		retention *r = retention_new(l->state, l->store, NULL, 0);
		if (l->data_dir) {
			char *fd = xasprintf("%s/files", l->data_dir);
			retention_set_files_dir(r, fd);
			free(fd);
		}
		retention_run(r, l->as_of, retention_done, l);
		retention_free(r);
		admin_later_free(l);
		return;
	}
	if (l->loop) {
		l->work.data = l;
		if (uv_queue_work(l->loop, &l->work, export_work, export_after) == 0) {
			exports_running++;
			return;
		}
	}
	export_run(l->x);
	export_finished(l);
}

static admin_later *later_new(admin_env *e, later_kind kind)
{
	admin_later *l = xcalloc(1, sizeof *l);
	l->kind = kind;
	l->state = e->state;
	l->store = e->store;
	l->loop = e->loop;
	l->ret = e->retention;
	l->data_dir = e->data_dir;
	return l;
}

int admin_cmd_retention_run(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out)
{
	int64_t as_of = 0;
	const char *v = admin_opt(o, "as-of");
	if (v) {
		/* A Slack ts ("1700000000.123456") or unix seconds. */
		char *end;
		long long secs = strtoll(v, &end, 10), us = 0;
		if (*end == '.') {
			const char *f = end + 1;
			int digits = 0;
			for (; *f >= '0' && *f <= '9' && digits < 6; f++, digits++)
				us = us * 10 + (*f - '0');
			for (; digits < 6; digits++)
				us *= 10;
			end = (char *)f;
		}
		if (end == v || *end || secs <= 0)
			return usage_error(out, "--as-of wants a unix time (seconds or a Slack ts)");
		as_of = secs * 1000000LL + us;
		if (as_of < clock_now_us())
			return usage_error(out, "--as-of cannot be in the past");
	}
	admin_later *l = later_new(e, LATER_RETENTION);
	l->as_of = as_of;
	e->later = l;
	*out = json_pack("{s:b}", "ok", 1);
	return 0;
}

static const char *data_dir(admin_env *e)
{
	return e->data_dir ? e->data_dir : "./canal-data";
}

int admin_cmd_audit_export(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out)
{
	const char *org_id = admin_opt(o, "org");
	if (org_id && !core_org_get(e->state, org_id))
		return ERR_TEAM_NOT_FOUND;
	int64_t since = 0;
	const char *sv = admin_opt(o, "since");
	if (sv) {
		char *end;
		since = strtoll(sv, &end, 10);
		if (end == sv || *end || since < 0)
			return usage_error(out, "--since wants unix seconds");
	}
	admin_later *l = later_new(e, LATER_EXPORT);
	l->x = export_audit_prepare(data_dir(e), org_id, since, admin_opt(o, "out"));
	e->later = l;
	*out = json_pack("{s:b}", "ok", 1);
	return 0;
}

int admin_cmd_export(admin_env *e, store_job *job, const struct admin_opts *o, json_t **out)
{
	org *g = find_org(e, o);
	if (!g)
		return ERR_TEAM_NOT_FOUND;
	const char *dir = admin_opt(o, "out");
	if (!dir || !*dir)
		return usage_error(out, "give --out DIR");
	int err;
	export_job *x = export_org_prepare(e->state, e->base_url, data_dir(e), g->id, dir, &err);
	if (!x) {
		if (err == ERR_ALREADY_EXISTS)
			return usage_error(out, "--out exists and is not an empty directory");
		return err;
	}
	audit_entity en = {.workspace = g};
	audit_record(job, e->state, g->id, &operator_actor, "manual_export_started", &en,
		     json_pack("{s:s,s:s}", "path", dir, "format", "slack-export-directory"));
	admin_later *l = later_new(e, LATER_EXPORT);
	l->x = x;
	l->org_export = true;
	e->later = l;
	*out = json_pack("{s:b}", "ok", 1);
	return 0;
}
