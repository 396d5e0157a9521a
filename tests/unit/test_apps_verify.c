/* url_verification answers: which bodies echo the challenge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rt/apps.h"

static int ok(const char *body)
{
	return apps_verify_answer_ok("abc123", body, strlen(body));
}

static void test_answers(void **st)
{
	assert_true(ok("abc123"));
	assert_true(ok("  abc123\r\n"));
	assert_true(ok("{\"challenge\":\"abc123\"}"));
	assert_true(ok("{\"challenge\":\"abc123\",\"x\":1}"));
	assert_true(ok("challenge=abc123"));
	assert_true(ok("challenge=abc123&x=1"));
	assert_false(ok(""));
	assert_false(ok("abc12"));
	assert_false(ok("abc1234"));
	assert_false(ok("{\"challenge\":\"nope\"}"));
	assert_false(ok("{\"challenge\":1}"));
	assert_false(ok("{broken"));
	assert_false(ok("challenge="));
	assert_false(ok("challenge=abc"));
	assert_false(ok("OK"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_answers)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
