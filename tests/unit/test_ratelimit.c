/* Web API rate limits (api_ratelimit.c): Slack's tiers as token buckets,
 * Retry-After values, the factor, per-channel buckets for
 * chat.postMessage, and the bounded table (idle buckets forgotten, LRU
 * eviction at the cap). Also the hash map under churn, which the table
 * relies on to stay bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_ratelimit.h"
#include "base/map.h"

#define S 1000000LL   /* one second in µs */
#define T0 (1700000000LL * S)

static void test_disabled(void **st)
{
	assert_null(api_ratelimit_new(0, 0));
	assert_null(api_ratelimit_new(-1, 0));
	/* NULL limits nothing. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(api_ratelimit_take(NULL, API_TIER_1, "k", T0), 0);
	api_ratelimit_free(NULL);
}

/* Tier budgets at factor 1 are Slack's: n calls at once, the next waits
 * for one refill (60/n seconds, rounded up). */
static void check_tier(int tier, int burst, int retry)
{
	api_ratelimit *rl = api_ratelimit_new(1, 0);
	for (int i = 0; i < burst; i++)
		if (api_ratelimit_take(rl, tier, "tok|m", T0) != 0)
			fail_msg("%s: call %d of %d refused", api_tier_name(tier), i + 1, burst);
	assert_int_equal(api_ratelimit_take(rl, tier, "tok|m", T0), retry);
	/* Refused calls take nothing: still the same wait. */
	assert_int_equal(api_ratelimit_take(rl, tier, "tok|m", T0), retry);
	/* After the wait a call fits again. */
	assert_int_equal(api_ratelimit_take(rl, tier, "tok|m", T0 + retry * S), 0);
	api_ratelimit_stats stats;
	api_ratelimit_stats_get(rl, &stats);
	assert_int_equal(stats.limited, 2);
	assert_int_equal(stats.buckets, 1);
	api_ratelimit_free(rl);
}

static void test_tiers(void **st)
{
	check_tier(API_TIER_1, 1, 60);
	check_tier(API_TIER_2, 20, 3);
	check_tier(API_TIER_3, 50, 2);   /* 1.2 s -> 2 */
	check_tier(API_TIER_4, 100, 1);
	check_tier(API_TIER_POST, 10, 1);
	check_tier(API_TIER_HIGH, 600, 1);
	check_tier(API_TIER_DEFAULT, 50, 2);   /* unassigned = Tier 3 */
}

static void test_retry_after_partial(void **st)
{
	api_ratelimit *rl = api_ratelimit_new(1, 0);
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "k", T0), 0);
	/* 45 s later a quarter of a call is missing: 15 s. */
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "k", T0 + 45 * S), 15);
	/* Half a second short still says 1, never 0. */
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "k", T0 + 60 * S - S / 2), 1);
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "k", T0 + 61 * S), 0);
	/* A clock stepping back refills nothing and breaks nothing. */
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "k", T0), 60);
	api_ratelimit_free(rl);
}

static void test_factor(void **st)
{
	double per_min, burst;
	api_ratelimit *rl = api_ratelimit_new(50, 0);
	api_ratelimit_budget(rl, API_TIER_3, &per_min, &burst);
	assert_true(fabs(per_min - 2500) < 1e-6);
	assert_true(fabs(burst - 2500) < 1e-6);
	for (int i = 0; i < 2500; i++)
		assert_int_equal(api_ratelimit_take(rl, API_TIER_3, "k", T0), 0);
	assert_int_equal(api_ratelimit_take(rl, API_TIER_3, "k", T0), 1);
	api_ratelimit_free(rl);

	/* A small factor still lets one call through, then waits long. */
	rl = api_ratelimit_new(0.1, 0);
	api_ratelimit_budget(rl, API_TIER_1, &per_min, &burst);
	assert_true(fabs(burst - 1) < 1e-9);
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "k", T0), 0);
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "k", T0), 600);
	api_ratelimit_free(rl);
}

static void test_keys_independent(void **st)
{
	api_ratelimit *rl = api_ratelimit_new(1, 0);
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "a", T0), 0);
	assert_int_not_equal(api_ratelimit_take(rl, API_TIER_1, "a", T0), 0);
	assert_int_equal(api_ratelimit_take(rl, API_TIER_1, "b", T0), 0);
	assert_int_not_equal(api_ratelimit_take(rl, API_TIER_1, "b", T0), 0);
	api_ratelimit_free(rl);
}

/* The table never exceeds its cap; idle buckets are forgotten. */
static void test_bounded(void **st)
{
	api_ratelimit *rl = api_ratelimit_new(1, 100);
	char key[32];
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(api_ratelimit_take(rl, API_TIER_2, key, T0), 0);
	}
	api_ratelimit_stats stats;
	api_ratelimit_stats_get(rl, &stats);
	assert_int_equal(stats.buckets, 100);
	assert_int_equal(stats.evicted, 9900);
	/* The most recent keys are the ones kept. */
	for (int i = 0; i < 19; i++)
		assert_int_equal(api_ratelimit_take(rl, API_TIER_2, "k9999", T0), 0);
	assert_int_not_equal(api_ratelimit_take(rl, API_TIER_2, "k9999", T0), 0);

	/* Once every bucket would be full again (Tier 1: a minute), steady
	 * traffic on one key sweeps the others out. */
	int64_t later = T0 + 61 * S;
	for (int i = 0; i < 100; i++)
		api_ratelimit_take(rl, API_TIER_2, "busy", later + i);
	api_ratelimit_stats_get(rl, &stats);
	assert_int_equal(stats.buckets, 1);
	api_ratelimit_free(rl);
}

/* A token of one ctx in the dispatcher's terms: bucket per (token,
 * method), chat.postMessage per channel, answer extra retry_after. */
static void test_check_ctx(void **st)
{
	api_ratelimit *rl = api_ratelimit_new(1, 0);
	token t = {0};
	memset(t.hash, 'a', 64);
	api_ctx c = {0};
	c.tok = &t;
	c.now_us = T0;
	c.method = api_method_find("chat.postMessage");
	assert_non_null(c.method);
	assert_int_equal(c.method->tier, API_TIER_POST);
	c.args = json_pack("{s:s}", "channel", "C1");
	for (int i = 0; i < 10; i++)
		assert_int_equal(api_ratelimit_check(rl, &c), 0);
	assert_int_equal(api_ratelimit_check(rl, &c), ERR_RATELIMITED);
	assert_int_equal(json_integer_value(json_object_get(c.err_extra, "retry_after")), 1);
	json_decref(c.err_extra);
	c.err_extra = NULL;
	/* Another channel has its own budget. */
	json_object_set_new(c.args, "channel", json_string("C2"));
	assert_int_equal(api_ratelimit_check(rl, &c), 0);
	/* Another method of the same token too. */
	c.method = api_method_find("conversations.list");
	assert_int_equal(c.method->tier, API_TIER_2);
	assert_int_equal(api_ratelimit_check(rl, &c), 0);
	/* Another token too. */
	token t2 = t;
	t2.hash[0] = 'b';
	c.tok = &t2;
	c.method = api_method_find("chat.postMessage");
	json_object_set_new(c.args, "channel", json_string("C1"));
	assert_int_equal(api_ratelimit_check(rl, &c), 0);
	/* No token (api.test without one): never limited. */
	c.tok = NULL;
	for (int i = 0; i < 100; i++)
		assert_int_equal(api_ratelimit_check(rl, &c), 0);
	/* No limiter: nothing limited. */
	c.tok = &t;
	assert_int_equal(api_ratelimit_check(NULL, &c), 0);
	json_decref(c.args);
	api_ratelimit_free(rl);
}

/* Every method has a tier, chosen as Slack documents it, and the table
 * stays sorted (binary search). */
static void test_method_tiers(void **st)
{
	for (size_t i = 0; i < api_nmethods; i++) {
		if (api_methods[i].tier <= API_TIER_DEFAULT || api_methods[i].tier >= API_TIER_COUNT)
			fail_msg("%s has no rate-limit tier", api_methods[i].name);
		if (i && strcmp(api_methods[i - 1].name, api_methods[i].name) >= 0)
			fail_msg("method table not sorted at %s", api_methods[i].name);
	}
	static const struct {
		const char *m;
		int tier;
	} want[] = {
		{"chat.postMessage", API_TIER_POST},      {"auth.test", API_TIER_HIGH},
		{"conversations.history", API_TIER_3},    {"conversations.list", API_TIER_2},
		{"users.list", API_TIER_2},               {"reactions.add", API_TIER_3},
		{"users.info", API_TIER_4},               {"conversations.members", API_TIER_4},
		{"rtm.connect", API_TIER_1},              {"conversations.create", API_TIER_2},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const api_method *m = api_method_find(want[i].m);
		assert_non_null(m);
		if (m->tier != want[i].tier)
			fail_msg("%s: tier %s, want %s", want[i].m, api_tier_name(m->tier),
				 api_tier_name(want[i].tier));
	}
}

/* Insert/delete churn must not grow a map without bound (tombstones are
 * rehashed away, not doubled over). */
static void test_map_churn(void **st)
{
	map m;
	map_init(&m);
	char key[32];
	for (int i = 0; i < 200000; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		map_put(&m, key, (void *)1);
		if (i >= 8) {
			snprintf(key, sizeof key, "key-%d", i - 8);
			assert_non_null(map_del(&m, key));
		}
	}
	assert_int_equal(m.count, 8);
	if (m.cap > 64)
		fail_msg("map grew to %zu slots for 8 live keys", m.cap);
	map_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_retry_after_partial),
		cmocka_unit_test(test_factor),
		cmocka_unit_test(test_keys_independent),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_check_ctx),
		cmocka_unit_test(test_method_tiers),
		cmocka_unit_test(test_map_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
