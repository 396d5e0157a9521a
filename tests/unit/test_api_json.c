/* api_json_dump writes exactly what json_dumps(v, JSON_COMPACT) writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"

static void same(json_t *v, const char *what)
{
	char *want = json_dumps(v, JSON_COMPACT);
	size_t len = 0;
	char *got = api_json_dump(v, &len);
	if (!want || !got || strcmp(want, got) != 0 || len != strlen(want))
		fail_msg("%s: json_dumps %s, api_json_dump %s (len %zu)", what, want ? want : "(null)",
			 got ? got : "(null)", len);
	free(want);
	free(got);
}

static void test_shapes(void **st)
{
	const char *docs[] = {
		"{}",
		"[]",
		"{\"ok\":true,\"channel\":\"C123\",\"ts\":\"1712345678.000100\"}",
		"{\"a\":[1,-2,0,9223372036854775807,-9223372036854775807,true,false,null],\"b\":{}}",
		"[[[]],{\"x\":{\"y\":{\"z\":[{}]}}}]",
		"{\"z\":1,\"a\":2,\"m\":3}",  /* insertion order, not sorted */
		"{\"real\":1.5,\"small\":1e-300,\"big\":1.7976931348623157e308,\"whole\":2.0,\"neg\":-0.25}",
		"{\"type\":\"message\",\"text\":\"<@U1> hi & <b>bye</b> \\/ slash\",\"blocks\":[{\"type\":\"rich_text\"}]}",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		json_error_t e;
		json_t *v = json_loads(docs[i], 0, &e);
		assert_non_null(v);
		same(v, docs[i]);
		json_decref(v);
	}
	json_t *n = json_integer(-9223372036854775807LL - 1);
	json_t *o = json_pack("{s:o}", "min", n);
	same(o, "INT64_MIN");
	json_decref(o);
}

static void test_strings(void **st)
{
	/* Every byte below 0x80, one per string and all together, plus
	 * multi-byte UTF-8 and an embedded NUL. */
	char all[128];
	for (int c = 1; c < 128; c++) {
		char s[2] = {(char)c, 0};
		all[c - 1] = (char)c;
		json_t *o = json_pack("{s:s}", s, s);
		char what[32];
		snprintf(what, sizeof what, "byte 0x%02x", c);
		same(o, what);
		json_decref(o);
	}
	all[127] = 0;
	json_t *o = json_pack("{s:s,s:s,s:s%}", "all", all, "utf8",
			      "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xe2\x80\xa8", "nul", "a\0b", (size_t)3);
	assert_non_null(o);
	same(o, "all bytes, UTF-8, NUL");
	json_decref(o);
}

static void test_not_a_container(void **st)
{
	json_t *v = json_string("x");
	assert_null(api_json_dump(v, NULL));
	json_decref(v);
	assert_null(api_json_dump(NULL, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_not_a_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
