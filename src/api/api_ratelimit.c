/* Web API rate limits: token buckets in a bounded table (api_ratelimit.h).
 *
 * A bucket holds up to burst calls and refills at per_min / 60 calls a
 * second. Buckets sit in a hash map by key and on a list ordered by last
 * use (head = most recent), so idle ones are found at the tail: after
 * idle_us without a call any bucket is full again, the same as a new one,
 * and is dropped. The table never holds more than max_buckets. */
#include "api/api_ratelimit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/map.h"
#include "base/xalloc.h"

/* Slack's published budgets at factor 1 (calls per minute, burst). */
static const struct tier_def {
	const char *name;
	double per_min;
	double burst;
} tier_defs[API_TIER_COUNT] = {
	[API_TIER_DEFAULT] = {"tier3", 50, 50},
	[API_TIER_1] = {"tier1", 1, 1},
	[API_TIER_2] = {"tier2", 20, 20},
	[API_TIER_3] = {"tier3", 50, 50},
	[API_TIER_4] = {"tier4", 100, 100},
	[API_TIER_POST] = {"post", 60, 10},
	[API_TIER_HIGH] = {"special", 600, 600},
};

typedef struct rl_bucket {
	double tokens;
	int64_t last_us;
	struct rl_bucket *prev, *next;
	char key[];
} rl_bucket;

struct api_ratelimit {
	double rate[API_TIER_COUNT];    /* calls per microsecond */
	double burst[API_TIER_COUNT];
	int64_t idle_us;                /* longest time for any bucket to refill */
	size_t max_buckets;
	map buckets;                    /* key -> rl_bucket* */
	rl_bucket *head, *tail;
	api_ratelimit_stats stats;
};

api_ratelimit *api_ratelimit_new(double factor, size_t max_buckets)
{
	if (!(factor > 0))
		return NULL;
	api_ratelimit *rl = xcalloc(1, sizeof *rl);
	rl->max_buckets = max_buckets ? max_buckets : API_RL_MAX_BUCKETS;
	map_init(&rl->buckets);
	for (int t = 0; t < API_TIER_COUNT; t++) {
		/* At least one call must always fit, however small the factor. */
		double burst = tier_defs[t].burst * factor;
		rl->burst[t] = burst < 1 ? 1 : burst;
		rl->rate[t] = tier_defs[t].per_min * factor / 60e6;
		double full_us = ceil(rl->burst[t] / rl->rate[t]);
		if (full_us > (double)rl->idle_us)
			rl->idle_us = full_us > 1e15 ? (int64_t)1e15 : (int64_t)full_us;
	}
	return rl;
}

static void unlink_bucket(api_ratelimit *rl, rl_bucket *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		rl->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		rl->tail = b->prev;
	b->prev = b->next = NULL;
}

static void push_head(api_ratelimit *rl, rl_bucket *b)
{
	b->prev = NULL;
	b->next = rl->head;
	if (rl->head)
		rl->head->prev = b;
	rl->head = b;
	if (!rl->tail)
		rl->tail = b;
}

static void drop_bucket(api_ratelimit *rl, rl_bucket *b)
{
	unlink_bucket(rl, b);
	map_del(&rl->buckets, b->key);
	free(b);
}

void api_ratelimit_free(api_ratelimit *rl)
{
	if (!rl)
		return;
	while (rl->head)
		drop_bucket(rl, rl->head);
	map_release(&rl->buckets);
	free(rl);
}

int api_ratelimit_take(api_ratelimit *rl, int tier, const char *key, int64_t now_us)
{
	if (!rl)
		return 0;
	if (tier < 0 || tier >= API_TIER_COUNT)
		tier = API_TIER_DEFAULT;
	/* Forget a few idle buckets on every call: amortised O(1), and the
	 * table shrinks back once a burst of keys has gone quiet. */
	for (int i = 0; i < 4 && rl->tail && now_us - rl->tail->last_us >= rl->idle_us; i++)
		drop_bucket(rl, rl->tail);
	rl_bucket *b = map_get(&rl->buckets, key);
	if (!b) {
		if (rl->buckets.count >= rl->max_buckets && rl->tail) {
			drop_bucket(rl, rl->tail);
			rl->stats.evicted++;
		}
		size_t kl = strlen(key);
		b = xmalloc(sizeof *b + kl + 1);
		memcpy(b->key, key, kl + 1);
		b->tokens = rl->burst[tier];
		b->last_us = now_us;
		b->prev = b->next = NULL;
		map_put(&rl->buckets, key, b);
	} else {
		unlink_bucket(rl, b);
		/* A clock stepping back refills nothing. */
		if (now_us > b->last_us) {
			b->tokens += (double)(now_us - b->last_us) * rl->rate[tier];
			if (b->tokens > rl->burst[tier])
				b->tokens = rl->burst[tier];
		}
		b->last_us = now_us;
	}
	push_head(rl, b);
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	rl->stats.limited++;
	double wait_s = (1 - b->tokens) / (rl->rate[tier] * 1e6);
	double secs = ceil(wait_s);
	if (secs < 1)
		secs = 1;
	if (secs > 86400)
		secs = 86400;
	return (int)secs;
}

int api_ratelimit_check(api_ratelimit *rl, api_ctx *c)
{
	if (!rl || !c->tok || !c->method)
		return 0;
	int tier = c->method->tier;
	char key[160];
	size_t midx = (size_t)(c->method - api_methods);
	/* 32 hex digits of the token's hash (128 bits) name the token. */
	if (tier == API_TIER_POST) {
		/* Per channel as given: an id, a #name or a user id (a DM). */
		const char *ch = json_string_value(json_object_get(c->args, "channel"));
		snprintf(key, sizeof key, "%.32s|%zu|%.64s", c->tok->hash, midx, ch ? ch : "");
	} else {
		snprintf(key, sizeof key, "%.32s|%zu", c->tok->hash, midx);
	}
	int wait = api_ratelimit_take(rl, tier, key, c->now_us);
	if (!wait)
		return 0;
	json_decref(c->err_extra);
	c->err_extra = json_pack("{s:i}", "retry_after", wait);
	return ERR_RATELIMITED;
}

void api_ratelimit_stats_get(const api_ratelimit *rl, api_ratelimit_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!rl)
		return;
	*out = rl->stats;
	out->buckets = rl->buckets.count;
}

void api_ratelimit_budget(const api_ratelimit *rl, int tier, double *per_min, double *burst)
{
	if (tier < 0 || tier >= API_TIER_COUNT)
		tier = API_TIER_DEFAULT;
	*per_min = rl ? rl->rate[tier] * 60e6 : INFINITY;
	*burst = rl ? rl->burst[tier] : INFINITY;
}

const char *api_tier_name(int tier)
{
	return tier >= 0 && tier < API_TIER_COUNT ? tier_defs[tier].name : "tier3";
}
