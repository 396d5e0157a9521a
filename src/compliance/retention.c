/* The retention job (design note in retention.h).
 *
 * States of a run: IDLE -> (retention_run) plan: the policies and the
 * holds are read, the channels to walk listed with their cutoff ->
 * BATCH: read up to RETENTION_BATCH candidates of the current channel
 * (after the last one seen, so held messages are passed over once), submit
 * their deletion -> batch_done: next batch of the same channel, or the
 * next channel when it gave fewer than a batch -> IDLE, callbacks called.
 * Offline (no loop) store_submit completes before returning: the same
 * steps run in a plain loop instead of from the completions. */
#include "compliance/retention.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"

typedef struct waiter {
	retention_done_cb cb;
	void *ud;
} waiter;

typedef struct target {
	char id[ID_MAX];
	int64_t cutoff;
} target;

struct retention {
	core_state *s;
	store *st;
	uv_loop_t *loop;
	uv_timer_t *timer;   /* heap: freed in its close callback */
	bool running;
	bool freed;          /* retention_free called while a batch was in flight */
	target *targets;
	size_t ntargets, cur;
	int64_t after;       /* last candidate ts seen in the current channel */
	bool batch_full;
	int64_t as_of;       /* this run's "now" (µs), 0 = the clock */
	int err;
	retention_stats stats;
	waiter *waiters;
	size_t nwaiters;
};

int64_t retention_days_for(const channel *ch, const store_retention *p, size_t n)
{
	const store_retention *org_p = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(p[i].org_id, ch->org_id) != 0)
			continue;
		if (strcmp(p[i].channel_id, ch->id) == 0)
			return p[i].days > 0 ? p[i].days : 0;
		if (!p[i].channel_id[0])
			org_p = &p[i];
	}
	return org_p && org_p->days > 0 ? org_p->days : 0;
}

void retention_files_expire(retention *r, store_job *j, const channel *ch, int64_t cutoff_us)
{
	/* No files in this branch: nothing of a channel but its messages is
	 * kept yet. The files store's "delete files of ch older than
	 * cutoff_us not under hold" op is queued here. */
	(void)r;
	(void)j;
	(void)ch;
	(void)cutoff_us;
}

static bool held(const store_hold *h, size_t n, const char *channel_id)
{
	for (size_t i = 0; i < n; i++)
		if (!h[i].released && strcmp(h[i].kind, "channel") == 0 &&
		    strcmp(h[i].target, channel_id) == 0)
			return true;
	return false;
}

/* The channels a run walks: those whose policy deletes, not on hold. */
static int plan(retention *r)
{
	store_retention *p;
	size_t np;
	int err = store_retention_list(r->st, &p, &np);
	if (err)
		return err;
	free(r->targets);
	r->targets = NULL;
	r->ntargets = r->cur = 0;
	r->after = 0;
	if (!np) {
		free(p);
		return 0;
	}
	int64_t now = clock_now_us();
	if (r->as_of > now)
		now = r->as_of;
	size_t nkeys;
	const char **keys = core_sorted_keys(&r->s->channels, &nkeys);
	r->targets = xcalloc(nkeys + 1, sizeof *r->targets);
	char org_seen[ID_MAX] = "";
	store_hold *holds = NULL;
	size_t nholds = 0;
	/* Policies by channel and by org: one lookup per channel instead of a
	 * walk of every policy (retention_days_for's rule, indexed). */
	map by_chan, by_org;
	map_init(&by_chan);
	map_init(&by_org);
	for (size_t i = 0; i < np; i++)
		map_put(p[i].channel_id[0] ? &by_chan : &by_org,
			p[i].channel_id[0] ? p[i].channel_id : p[i].org_id, &p[i]);
	for (size_t i = 0; i < nkeys && !err; i++) {
		channel *ch = core_channel_get(r->s, keys[i]);
		if (!ch)
			continue;
		const store_retention *cp = map_get(&by_chan, ch->id);
		if (cp && strcmp(cp->org_id, ch->org_id) != 0)
			cp = NULL;
		if (!cp)
			cp = map_get(&by_org, ch->org_id);
		int64_t days = cp && cp->days > 0 ? cp->days : 0;
		if (!days)
			continue;
		if (strcmp(org_seen, ch->org_id) != 0) {
			store_holds_free(holds, nholds);
			err = store_hold_list(r->st, ch->org_id, &holds, &nholds);
			snprintf(org_seen, sizeof org_seen, "%s", ch->org_id);
			if (err)
				break;
		}
		if (held(holds, nholds, ch->id))
			continue;
		target *t = &r->targets[r->ntargets++];
		snprintf(t->id, sizeof t->id, "%s", ch->id);
		t->cutoff = now - days * 86400LL * 1000000LL;
	}
	store_holds_free(holds, nholds);
	map_release(&by_chan);
	map_release(&by_org);
	free(keys);
	free(p);
	r->stats.channels = (int64_t)r->ntargets;
	return err;
}

static void finish(retention *r)
{
	r->running = false;
	waiter *w = r->waiters;
	size_t n = r->nwaiters;
	r->waiters = NULL;
	r->nwaiters = 0;
	retention_stats stats = r->stats;
	int err = r->err;
	if (err)
		log_error("retention run failed", "error=%s deleted=%lld", err_name(err),
			  (long long)stats.deleted);
	else if (stats.deleted)
		log_info("retention run", "channels=%lld deleted=%lld batches=%lld",
			 (long long)stats.channels, (long long)stats.deleted,
			 (long long)stats.batches);
	else
		log_debug("retention run", "channels=%lld deleted=0", (long long)stats.channels);
	for (size_t i = 0; i < n; i++)
		if (w[i].cb)
			w[i].cb(w[i].ud, err, &stats);
	free(w);
}

static void batch_done(void *ud, int err);

/* Submits the next batch. false when the run is over (nothing left, or
 * an error), after finish(). */
static bool step(retention *r)
{
	int64_t ts[RETENTION_BATCH];
	while (r->cur < r->ntargets) {
		target *t = &r->targets[r->cur];
		size_t n = 0;
		int err = store_retention_candidates(r->st, t->id, r->after, t->cutoff, RETENTION_BATCH,
						     ts, &n);
		if (err) {
			r->err = err;
			break;
		}
		store_job *j = NULL;
		if (r->after == 0) {
			/* First batch of this channel: its files too. */
			channel *ch = core_channel_get(r->s, t->id);
			j = store_job_new(r->st);
			if (ch)
				retention_files_expire(r, j, ch, t->cutoff);
		}
		if (!n) {
			r->cur++;
			r->after = 0;
			if (j)
				store_job_free(j);
			continue;
		}
		if (!j)
			j = store_job_new(r->st);
		for (size_t i = 0; i < n; i++)
			store_retention_delete(j, t->id, ts[i], t->cutoff);
		r->after = ts[n - 1];
		r->batch_full = n == RETENTION_BATCH;
		r->stats.deleted += (int64_t)n;
		r->stats.batches++;
		store_submit(r->st, j, batch_done, r);
		return true;
	}
	finish(r);
	return false;
}

static void batch_done(void *ud, int err)
{
	retention *r = ud;
	if (r->freed) {
		free(r->targets);
		free(r->waiters);
		free(r);
		return;
	}
	if (err) {
		r->err = err;
		r->cur = r->ntargets;
	} else if (!r->batch_full) {
		r->cur++;
		r->after = 0;
	}
	if (r->loop)
		step(r);
}

void retention_run(retention *r, int64_t as_of_us, retention_done_cb cb, void *ud)
{
	r->waiters = xrealloc(r->waiters, (r->nwaiters + 1) * sizeof *r->waiters);
	r->waiters[r->nwaiters++] = (waiter){cb, ud};
	if (r->running)
		return;
	r->running = true;
	r->as_of = as_of_us;
	r->err = 0;
	memset(&r->stats, 0, sizeof r->stats);
	r->err = plan(r);
	if (r->err) {
		finish(r);
		return;
	}
	if (r->loop) {
		step(r);
		return;
	}
	while (step(r)) {
	}
}

static void tick_cb(uv_timer_t *h)
{
	retention_run(h->data, 0, NULL, NULL);
}

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

retention *retention_new(core_state *s, store *st, uv_loop_t *loop, long interval_s)
{
	retention *r = xcalloc(1, sizeof *r);
	r->s = s;
	r->st = st;
	r->loop = loop;
	if (loop && interval_s > 0) {
		r->timer = xmalloc(sizeof *r->timer);
		uv_timer_init(loop, r->timer);
		r->timer->data = r;
		uint64_t ms = (uint64_t)interval_s * 1000;
		uv_timer_start(r->timer, tick_cb, ms, ms);
	}
	return r;
}

void retention_free(retention *r)
{
	if (!r)
		return;
	if (r->timer)
		uv_close((uv_handle_t *)r->timer, timer_closed);
	if (r->running && r->loop) {
		/* A batch is in flight: its completion frees r. */
		r->freed = true;
		return;
	}
	free(r->targets);
	free(r->waiters);
	free(r);
}
