/* The retention job (design note in retention.h).
 *
 * States of a run: IDLE -> (retention_run) plan: the policies and the
 * holds are read, the channels to walk listed with their cutoff ->
 * FILES: batches of the channel's files shared before the cutoff, each
 * weighed against every channel it is shared in (retention_files_expire),
 * their deletion submitted; once committed, their bytes are removed off
 * the loop -> BATCH: read up to RETENTION_BATCH candidates of the current channel
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
#include "api/api_files.h"
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
	int64_t now;         /* the moment policies are evaluated at (µs) */
	int err;
	retention_stats stats;
	waiter *waiters;
	size_t nwaiters;
	/* This run's policies and live holds, for the files of a channel,
	 * which are weighed against every channel they are shared in. */
	store_retention *pols;
	map by_chan, by_org;      /* channel id / org id -> policy in pols */
	map held;                 /* channel or user id on hold -> (void *)1 */
	bool files_phase;         /* the current channel's files are being walked */
	int64_t f_after;          /* files cursor: (share ts, file id) */
	char f_after_id[ID_MAX];
	char *files_dir;          /* NULL: blobs are not removed (no files here) */
	char (*gc)[65];           /* blobs of the batch in flight, to remove once committed */
	size_t ngc;
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

/* The cutoff (µs) a channel's policy puts on what it keeps, 0 when it
 * keeps everything (no policy, "forever", on hold, unknown channel). */
static int64_t keep_cutoff(retention *r, const char *channel_id, int64_t now)
{
	channel *ch = core_channel_get(r->s, channel_id);
	if (!ch || map_get(&r->held, ch->id))
		return 0;
	const store_retention *p = map_get(&r->by_chan, ch->id);
	if (p && strcmp(p->org_id, ch->org_id) != 0)
		p = NULL;
	if (!p)
		p = map_get(&r->by_org, ch->org_id);
	int64_t days = p && p->days > 0 ? p->days : 0;
	return days ? now - days * 86400LL * 1000000LL : 0;
}

/* Does every place c's file is shared in let it go: each share older
 * than its channel's cutoff, the file older than all of them, no hold on
 * a channel or on its uploader? *newest gets its newest share's ts. */
static bool file_expires(retention *r, const store_file_candidate *c, int64_t now,
			 int64_t *newest)
{
	if (c->user_id[0] && map_get(&r->held, c->user_id))
		return false;
	store_file_share *sh;
	size_t n = store_file_shares(r->st, c->file_id, &sh);
	bool go = n > 0;
	*newest = 0;
	for (size_t i = 0; i < n && go; i++) {
		if (!core_channel_get(r->s, sh[i].channel_id) && !map_get(&r->held, sh[i].channel_id))
			continue;   /* a channel that no longer exists keeps nothing */
		int64_t cut = keep_cutoff(r, sh[i].channel_id, now);
		go = cut && sh[i].ts < cut && c->created * 1000000LL < cut;
		if (sh[i].ts > *newest)
			*newest = sh[i].ts;
	}
	free(sh);
	return go;
}

int retention_files_expire(retention *r, store_job *j, const channel *ch, int64_t cutoff_us,
			   size_t *seen)
{
	store_file_candidate c[RETENTION_FILE_BATCH];
	size_t n = 0;
	*seen = 0;
	int err = store_file_retention_candidates(r->st, ch->id, r->f_after, r->f_after_id, cutoff_us,
						  RETENTION_FILE_BATCH, c, &n);
	if (err || !n)
		return err;
	r->gc = xrealloc(r->gc, (r->ngc + n) * sizeof *r->gc);
	for (size_t i = 0; i < n; i++) {
		int64_t newest;
		if (!file_expires(r, &c[i], r->now, &newest))
			continue;
		store_file_retention_delete(j, c[i].file_id, newest);
		r->stats.files++;
		if (c[i].sha256[0])
			snprintf(r->gc[r->ngc++], sizeof r->gc[0], "%s", c[i].sha256);
	}
	r->f_after = c[n - 1].ts;
	snprintf(r->f_after_id, sizeof r->f_after_id, "%s", c[n - 1].file_id);
	*seen = n;
	return 0;
}

static void run_release(retention *r)
{
	map_release(&r->by_chan);
	map_release(&r->by_org);
	map_release(&r->held);
	free(r->pols);
	r->pols = NULL;
	free(r->targets);
	r->targets = NULL;
	r->ntargets = r->cur = 0;
}

/* The channels a run walks: those whose policy deletes, not on hold. */
static int plan(retention *r)
{
	size_t np;
	run_release(r);
	int err = store_retention_list(r->st, &r->pols, &np);
	if (err)
		return err;
	store_retention *p = r->pols;
	r->after = 0;
	r->files_phase = true;
	r->f_after = 0;
	r->f_after_id[0] = '\0';
	if (!np)
		return 0;
	int64_t now = clock_now_us();
	if (r->as_of > now)
		now = r->as_of;
	r->now = now;
	size_t nkeys;
	const char **keys = core_sorted_keys(&r->s->channels, &nkeys);
	r->targets = xcalloc(nkeys + 1, sizeof *r->targets);
	/* Policies by channel and by org: one lookup per channel instead of a
	 * walk of every policy (retention_days_for's rule, indexed). */
	for (size_t i = 0; i < np; i++)
		map_put(p[i].channel_id[0] ? &r->by_chan : &r->by_org,
			p[i].channel_id[0] ? p[i].channel_id : p[i].org_id, &p[i]);
	/* The live holds of every org with a policy (files weigh channels
	 * other than the one walked, and their uploaders). */
	for (size_t i = 0; i < np && !err; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(p[k].org_id, p[i].org_id);
		if (seen)
			continue;
		store_hold *holds;
		size_t nholds;
		if ((err = store_hold_list(r->st, p[i].org_id, &holds, &nholds)))
			break;
		for (size_t k = 0; k < nholds; k++)
			if (!holds[k].released)
				map_put(&r->held, holds[k].target, (void *)1);
		store_holds_free(holds, nholds);
	}
	for (size_t i = 0; i < nkeys && !err; i++) {
		channel *ch = core_channel_get(r->s, keys[i]);
		if (!ch)
			continue;
		int64_t cut = keep_cutoff(r, ch->id, now);
		if (!cut)
			continue;
		target *t = &r->targets[r->ntargets++];
		snprintf(t->id, sizeof t->id, "%s", ch->id);
		t->cutoff = cut;
	}
	free(keys);
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
	else if (stats.deleted || stats.files)
		log_info("retention run", "channels=%lld deleted=%lld files=%lld batches=%lld",
			 (long long)stats.channels, (long long)stats.deleted, (long long)stats.files,
			 (long long)stats.batches);
	else
		log_debug("retention run", "channels=%lld deleted=0", (long long)stats.channels);
	for (size_t i = 0; i < n; i++)
		if (w[i].cb)
			w[i].cb(w[i].ud, err, &stats);
	free(w);
}

static void batch_done(void *ud, int err);

static void next_channel(retention *r)
{
	r->cur++;
	r->after = 0;
	r->files_phase = true;
	r->f_after = 0;
	r->f_after_id[0] = '\0';
}

/* Submits the next batch: the current channel's files first, then its
 * messages. false when the run is over (nothing left, or an error),
 * after finish(). */
static bool step(retention *r)
{
	int64_t ts[RETENTION_BATCH];
	while (r->cur < r->ntargets) {
		target *t = &r->targets[r->cur];
		channel *ch = core_channel_get(r->s, t->id);
		if (r->files_phase) {
			if (!ch) {
				r->files_phase = false;
				continue;
			}
			store_job *j = store_job_new(r->st);
			size_t seen;
			r->ngc = 0;
			int err = retention_files_expire(r, j, ch, t->cutoff, &seen);
			if (err) {
				store_job_free(j);
				r->err = err;
				break;
			}
			if (!seen) {
				/* No file of this channel is old enough. */
				store_job_free(j);
				r->files_phase = false;
				continue;
			}
			/* Submitted even when every candidate stays: its completion
			 * yields the loop between batches. */
			r->batch_full = seen == RETENTION_FILE_BATCH;
			r->stats.batches++;
			store_submit(r->st, j, batch_done, r);
			return true;
		}
		size_t n = 0;
		int err = store_retention_candidates(r->st, t->id, r->after, t->cutoff, RETENTION_BATCH,
						     ts, &n);
		if (err) {
			r->err = err;
			break;
		}
		if (!n) {
			next_channel(r);
			continue;
		}
		store_job *j = store_job_new(r->st);
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
		run_release(r);
		free(r->gc);
		free(r->files_dir);
		free(r->waiters);
		free(r);
		return;
	}
	if (err) {
		r->err = err;
		r->cur = r->ntargets;
	} else if (r->files_phase) {
		/* Committed: the bytes no row names any more go, off the loop. */
		for (size_t i = 0; i < r->ngc; i++)
			files_blob_gc_async(r->loop, r->st, r->files_dir, r->gc[i]);
		r->ngc = 0;
		if (!r->batch_full)
			r->files_phase = false;
	} else if (!r->batch_full) {
		next_channel(r);
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
	map_init(&r->by_chan);
	map_init(&r->by_org);
	map_init(&r->held);
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

void retention_set_files_dir(retention *r, const char *files_dir)
{
	free(r->files_dir);
	r->files_dir = files_dir ? xstrdup(files_dir) : NULL;
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
	run_release(r);
	free(r->gc);
	free(r->files_dir);
	free(r->waiters);
	free(r);
}
