/* Web API rate limits: one token bucket per (token, method), and per
 * (token, channel) for chat.postMessage, with Slack's tiers.
 *
 * A tier gives a budget per minute and a burst (the bucket's size). The
 * server-wide factor (setting rate-limit-factor) multiplies both; 0
 * disables limiting. A request over budget is answered HTTP 429 with
 * Retry-After (whole seconds until one call fits again) and
 * {"ok":false,"error":"ratelimited"}; the official SDKs wait and retry.
 *
 * Memory is bounded: a bucket unused long enough to be full again holds
 * no information and is forgotten; past max_buckets the least recently
 * used bucket is dropped (which only ever makes that key's limit more
 * lenient, never stricter). */
#ifndef CANAL_API_API_RATELIMIT_H
#define CANAL_API_API_RATELIMIT_H
#include <stddef.h>
#include <stdint.h>

/* Slack's tiers (api.slack.com/apis/rate-limits). 0 = not assigned:
 * treated as Tier 3. */
enum {
	API_TIER_DEFAULT = 0,
	API_TIER_1,     /* 1 per minute */
	API_TIER_2,     /* 20 per minute */
	API_TIER_3,     /* 50 per minute */
	API_TIER_4,     /* 100 per minute */
	API_TIER_POST,  /* chat.postMessage: 1 per second per channel, bursts */
	API_TIER_HIGH,  /* "special", hundreds per minute (auth.test) */
	API_TIER_COUNT
};

#define API_RL_MAX_BUCKETS 100000   /* default cap of the bucket table */

typedef struct api_ratelimit api_ratelimit;
struct api_ctx;

typedef struct api_ratelimit_stats {
	uint64_t buckets;       /* live now */
	uint64_t limited;       /* calls refused */
	uint64_t evicted;       /* dropped at the cap (not by idleness) */
} api_ratelimit_stats;

/* factor multiplies every tier's budget (1.0 = Slack's); factor <= 0
 * returns NULL: no limiting. max_buckets 0 = API_RL_MAX_BUCKETS. */
api_ratelimit *api_ratelimit_new(double factor, size_t max_buckets);
void api_ratelimit_free(api_ratelimit *rl);

/* Takes one call from key's bucket in tier at now_us. 0 if allowed, else
 * the whole seconds (>= 1) until a call fits again; nothing is taken. */
int api_ratelimit_take(api_ratelimit *rl, int tier, const char *key, int64_t now_us);

/* For the dispatcher: the bucket of an authenticated call (its token, its
 * method and, for API_TIER_POST, the channel argument). 0, or
 * ERR_RATELIMITED with c->err_extra = {"retry_after": seconds}. Calls
 * without a token are not limited. */
int api_ratelimit_check(api_ratelimit *rl, struct api_ctx *c);

void api_ratelimit_stats_get(const api_ratelimit *rl, api_ratelimit_stats *out);
/* Budget of a tier after the factor: calls per minute and burst. */
void api_ratelimit_budget(const api_ratelimit *rl, int tier, double *per_min, double *burst);
const char *api_tier_name(int tier);

#endif
