/* Short-lived interaction state (api_pending.c): response URLs (uses and
 * expiry), trigger ids (shape, 3 s, single use, owner), views (stacks,
 * external ids, App Home), ephemeral messages. Time is passed in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/api_pending.h"
#include "base/ids.h"
#include "core/err.h"

#define S 1000000LL

static void test_response_urls(void **st)
{
	int64_t now = 1000 * S;
	const char *why;
	api_pending_set_response_ttl(60);
	pend_response *r = api_pending_response_new(now, "T1", "A1", "U1", "C1", 0, false);
	assert_int_equal(strlen(r->id), 32);
	assert_int_equal(r->uses_left, PEND_RESPONSE_USES);
	char id[PEND_ID_MAX];
	snprintf(id, sizeof id, "%s", r->id);
	assert_ptr_equal(api_pending_response_get(id, now + 59 * S, &why), r);
	r->uses_left = 0;
	assert_null(api_pending_response_get(id, now, &why));
	assert_string_equal(why, "used_url");
	r->uses_left = 1;
	assert_null(api_pending_response_get(id, now + 60 * S, &why));
	assert_string_equal(why, "expired_url");
	/* Gone for good once seen expired. */
	assert_null(api_pending_response_get(id, now, &why));
	assert_null(api_pending_response_get("nope", now, &why));
	api_pending_set_response_ttl(0);
}

static void test_triggers(void **st)
{
	int64_t now = 2000 * S;
	char t[PEND_ID_MAX], t2[PEND_ID_MAX];
	pend_trigger out;
	api_pending_trigger_new(t, now, "T1", "A1", "U1", "V1");
	/* "<digits>.<digits>.<hex>" */
	unsigned long long a, b;
	char hex[64];
	assert_int_equal(sscanf(t, "%llu.%llu.%63[0-9a-f]", &a, &b, hex), 3);
	assert_int_equal(api_pending_trigger_take(t, "A2", now, &out), ERR_INVALID_TRIGGER_ID);
	assert_int_equal(api_pending_trigger_take(t, "A1", now + 1 * S, &out), 0);
	assert_string_equal(out.user_id, "U1");
	assert_string_equal(out.view_id, "V1");
	assert_int_equal(api_pending_trigger_take(t, "A1", now + 1 * S, &out), ERR_EXCHANGED_TRIGGER_ID);
	api_pending_trigger_new(t2, now, "T1", "A1", "U1", NULL);
	assert_int_equal(api_pending_trigger_take(t2, "A1", now + PEND_TRIGGER_TTL_US, &out),
			 ERR_EXPIRED_TRIGGER_ID);
	assert_int_equal(api_pending_trigger_take(t2, "A1", now + PEND_TRIGGER_KEEP_US, &out),
			 ERR_INVALID_TRIGGER_ID);
	const char *bad[] = {"", "garbage", "1.2", "1.2.", ".2.ab", "1.x.ab", "1.2.xyz", "1.2.ab.c"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(api_pending_trigger_take(bad[i], "A1", now, &out), ERR_INVALID_TRIGGER_ID);
}

static void test_view_stack(void **st)
{
	int64_t now = 3000 * S;
	pend_view *root = api_pending_view_new(now, "T1", "A1", "U1", false);
	assert_true(root->id[0] == 'V');
	assert_string_equal(root->root_id, root->id);
	pend_view *p = api_pending_view_new(now, "T1", "A1", "U1", false);
	snprintf(p->root_id, sizeof p->root_id, "%s", root->id);
	snprintf(p->previous_id, sizeof p->previous_id, "%s", root->id);
	snprintf(root->above_id, sizeof root->above_id, "%s", p->id);
	pend_view *stack[PEND_STACK_MAX];
	assert_int_equal(api_pending_stack(p, stack), 2);
	assert_ptr_equal(stack[0], root);
	assert_ptr_equal(stack[1], p);
	/* Dropping the top unlinks it from the one below. */
	char pid[ID_MAX];
	snprintf(pid, sizeof pid, "%s", p->id);
	api_pending_view_drop(p);
	assert_null(api_pending_view_get(pid, now));
	assert_string_equal(root->above_id, "");
	assert_int_equal(api_pending_stack(root, stack), 1);
	/* External ids: unique per app. */
	assert_int_equal(api_pending_view_set_external(root, "ext-1"), 0);
	pend_view *other = api_pending_view_new(now, "T1", "A1", "U2", false);
	assert_int_equal(api_pending_view_set_external(other, "ext-1"), ERR_DUPLICATE_EXTERNAL_ID);
	pend_view *elsewhere = api_pending_view_new(now, "T1", "A2", "U2", false);
	assert_int_equal(api_pending_view_set_external(elsewhere, "ext-1"), 0);
	assert_ptr_equal(api_pending_view_by_external("A1", "ext-1", now), root);
	assert_int_equal(api_pending_view_set_external(root, NULL), 0);
	assert_null(api_pending_view_by_external("A1", "ext-1", now));
	/* Modals expire; App Home views do not. */
	char rid[ID_MAX];
	snprintf(rid, sizeof rid, "%s", root->id);
	pend_view *home = api_pending_view_new(now, "T1", "A1", "U1", true);
	assert_ptr_equal(api_pending_home_get("A1", "U1"), home);
	assert_null(api_pending_view_get(rid, now + PEND_VIEW_TTL_US));
	assert_ptr_equal(api_pending_view_get(home->id, now + PEND_VIEW_TTL_US), home);
	api_pending_view_drop(home);
	assert_null(api_pending_home_get("A1", "U1"));
}

static void test_ephemerals(void **st)
{
	int64_t now = 4000 * S;
	api_pending_ephemeral_put(now, "T1", "C1", "U1", "A1", 42, json_pack("{s:s}", "text", "hi"));
	pend_ephemeral *e = api_pending_ephemeral_get("U1", 42, now);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e->message, "text")), "hi");
	assert_null(api_pending_ephemeral_get("U2", 42, now));
	/* Replacing keeps one entry. */
	api_pending_ephemeral_put(now, "T1", "C1", "U1", "A1", 42, json_pack("{s:s}", "text", "new"));
	e = api_pending_ephemeral_get("U1", 42, now);
	assert_string_equal(json_string_value(json_object_get(e->message, "text")), "new");
	assert_null(api_pending_ephemeral_get("U1", 42, now + PEND_EPHEMERAL_TTL_US));
}

/* Adding sweeps what expired, oldest first: memory stays bounded without
 * a timer. */
static void test_sweep(void **st)
{
	int64_t now = 10000 * S;
	size_t r1, t1, v1, e1;
	char t[PEND_ID_MAX];
	/* The earlier tests' triggers (long expired by now) go with the first. */
	for (int i = 0; i < 100; i++)
		api_pending_trigger_new(t, now, "T1", "A1", "U1", NULL);
	api_pending_counts(&r1, &t1, &v1, &e1);
	assert_int_equal(t1, 100);
	api_pending_trigger_new(t, now + PEND_TRIGGER_KEEP_US + 1, "T1", "A1", "U1", NULL);
	api_pending_counts(&r1, &t1, &v1, &e1);
	assert_int_equal(t1, 1);
}

int main(void)
{
	ids_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_urls), cmocka_unit_test(test_triggers),
		cmocka_unit_test(test_view_stack),    cmocka_unit_test(test_ephemerals),
		cmocka_unit_test(test_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
