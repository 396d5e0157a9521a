/* Argument decoding and accessors: the shapes Slack's SDKs send (forms
 * from Node, JSON and 1/0 booleans from Python, JSON-in-a-string for
 * structured values) and what no client sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api.h"
#include "api/api_http.h"

static json_t *parse_ok(const char *query, const char *ctype, const char *body)
{
	json_t *a = NULL;
	assert_int_equal(api_args_from_http(query, ctype, body, body ? strlen(body) : 0, &a), 0);
	return a;
}

static int parse_err(const char *query, const char *ctype, const char *body)
{
	json_t *a = NULL;
	int e = api_args_from_http(query, ctype, body, body ? strlen(body) : 0, &a);
	assert_null(a);
	return e;
}

static void test_form(void **st)
{
	json_t *a = parse_ok(NULL, "application/x-www-form-urlencoded",
			     "channel=C1&text=hi%20%26%20bye&plus=a+b&empty=&novalue");
	assert_string_equal(json_string_value(json_object_get(a, "channel")), "C1");
	assert_string_equal(json_string_value(json_object_get(a, "text")), "hi & bye");
	assert_string_equal(json_string_value(json_object_get(a, "plus")), "a b");
	assert_string_equal(json_string_value(json_object_get(a, "empty")), "");
	assert_string_equal(json_string_value(json_object_get(a, "novalue")), "");
	json_decref(a);
}

/* Keys and values longer than the parser's stack buffers, and a UTF-8
 * key, come through the same as short ASCII ones. */
static void test_form_long_and_utf8(void **st)
{
	size_t kn = 300, vn = 5000;
	char *body = malloc(kn + vn + 64);
	memset(body, 'k', kn);
	body[kn] = '=';
	memset(body + kn + 1, 'v', vn);
	strcpy(body + kn + 1 + vn, "&caf%C3%A9=ol%C3%A9");
	json_t *a = parse_ok(NULL, "application/x-www-form-urlencoded", body);
	char *key = strndup(body, kn);
	const char *v = json_string_value(json_object_get(a, key));
	assert_non_null(v);
	assert_int_equal(strlen(v), vn);
	assert_int_equal(strspn(v, "v"), vn);
	assert_string_equal(json_string_value(json_object_get(a, "caf\xc3\xa9")), "ol\xc3\xa9");
	free(key);
	free(body);
	json_decref(a);
}

static void test_query_then_body(void **st)
{
	/* Body arguments win over the query string's. */
	json_t *a = parse_ok("channel=Q&limit=2", "application/x-www-form-urlencoded; charset=utf-8",
			     "channel=B");
	assert_string_equal(json_string_value(json_object_get(a, "channel")), "B");
	assert_string_equal(json_string_value(json_object_get(a, "limit")), "2");
	json_decref(a);
}

static void test_json(void **st)
{
	json_t *a = parse_ok(NULL, "application/json;charset=utf-8",
			     "{\"channel\":\"C1\",\"blocks\":[{\"type\":\"divider\"}],\"limit\":5}");
	assert_true(json_is_array(json_object_get(a, "blocks")));
	assert_int_equal(json_integer_value(json_object_get(a, "limit")), 5);
	json_decref(a);
	assert_int_equal(parse_err(NULL, "application/json", "{\"a\":"), ERR_INVALID_JSON);
	assert_int_equal(parse_err(NULL, "application/json", "[1,2]"), ERR_JSON_NOT_OBJECT);
	assert_int_equal(parse_err(NULL, "application/json", "{\"a\":1,\"a\":2}"), ERR_INVALID_JSON);
}

static void test_bad_forms(void **st)
{
	assert_int_equal(parse_err(NULL, NULL, "a=%zz"), ERR_INVALID_FORM_DATA);
	assert_int_equal(parse_err(NULL, NULL, "a=%C3%28"), ERR_INVALID_CHARSET);
	/* A key must be UTF-8 too (ASCII keys skip the check). */
	assert_int_equal(parse_err(NULL, NULL, "%C3%28=a"), ERR_INVALID_CHARSET);
	assert_int_equal(parse_err(NULL, "multipart/mixed; boundary=x", "x"), ERR_INVALID_POST_TYPE);
	/* An empty body of any type is fine. */
	json_t *a = parse_ok(NULL, "image/png", NULL);
	assert_int_equal(json_object_size(a), 0);
	json_decref(a);
}

static api_ctx *ctx_with(json_t *args)
{
	static api_ctx c;
	json_decref(c.args);
	json_decref(c.err_extra);
	memset(&c, 0, sizeof c);
	c.args = args;
	return &c;
}

static void test_bool_int(void **st)
{
	api_ctx *c = ctx_with(json_pack("{s:s,s:s,s:b,s:i,s:s,s:s,s:s,s:o}", "t1", "true", "t2", "1",
					 "t3", 1, "t4", 1, "f1", "0", "bad", "yes", "n", "42",
					 "obj", json_object()));
	bool b;
	assert_int_equal(api_bool(c, "t1", false, &b), 0);
	assert_true(b);
	assert_int_equal(api_bool(c, "t2", false, &b), 0);
	assert_true(b);
	assert_int_equal(api_bool(c, "t3", false, &b), 0);
	assert_true(b);
	assert_int_equal(api_bool(c, "t4", false, &b), 0);
	assert_true(b);
	assert_int_equal(api_bool(c, "f1", true, &b), 0);
	assert_false(b);
	assert_int_equal(api_bool(c, "absent", true, &b), 0);
	assert_true(b);
	assert_int_equal(api_bool(c, "bad", false, &b), ERR_INVALID_ARGUMENTS);
	long n;
	assert_int_equal(api_int(c, "n", 7, 1, 1000, &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(api_int(c, "n", 7, 1, 10, &n), 0);
	assert_int_equal(n, 10); /* clamped to max, as Slack does for limit */
	assert_int_equal(api_int(c, "absent", 7, 1, 10, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(api_int(c, "bad", 7, 1, 10, &n), ERR_INVALID_ARGUMENTS);
	assert_int_equal(api_int(c, "obj", 7, 1, 10, &n), ERR_INVALID_ARGUMENTS);
	/* Numbers read as strings keep their text. */
	c = ctx_with(json_pack("{s:i,s:b}", "limit", 5, "flag", 0));
	assert_string_equal(api_str(c, "limit"), "5");
	assert_string_equal(api_str(c, "flag"), "false");
}

static void test_json_arg_and_list(void **st)
{
	api_ctx *c = ctx_with(json_pack("{s:s,s:[{s:s}],s:s,s:s,s:[s,s]}", "blocks",
					 "[{\"type\":\"section\"}]", "native", "type", "divider", "bad",
					 "[{", "users", " U1, U2 ,,U3", "arr", "U4", "U5"));
	int err;
	json_t *v = api_json_arg(c, "blocks", ERR_INVALID_BLOCKS, &err);
	assert_int_equal(err, 0);
	assert_true(json_is_array(v));
	json_decref(v);
	v = api_json_arg(c, "native", ERR_INVALID_BLOCKS, &err);
	assert_true(json_is_array(v));
	json_decref(v);
	v = api_json_arg(c, "bad", ERR_INVALID_BLOCKS, &err);
	assert_null(v);
	assert_int_equal(err, ERR_INVALID_BLOCKS);
	char **l;
	size_t n = api_list(c, "users", &l);
	assert_int_equal(n, 3);
	assert_string_equal(l[0], "U1");
	assert_string_equal(l[1], "U2");
	assert_string_equal(l[2], "U3");
	api_list_free(l, n);
	n = api_list(c, "arr", &l);
	assert_int_equal(n, 2);
	assert_string_equal(l[1], "U5");
	api_list_free(l, n);
}

static void test_missing_and_method_table(void **st)
{
	api_ctx *c = ctx_with(json_object());
	const char *s;
	assert_int_equal(api_str_req(c, "channel", &s), ERR_INVALID_ARGUMENTS);
	json_t *msgs = json_object_get(json_object_get(c->err_extra, "response_metadata"), "messages");
	assert_string_equal(json_string_value(json_array_get(msgs, 0)),
			    "[ERROR] missing required field: channel");
	/* The table is sorted (binary search) and every name resolves. */
	for (size_t i = 0; i < api_nmethods; i++) {
		if (i)
			assert_true(strcmp(api_methods[i - 1].name, api_methods[i].name) < 0);
		assert_ptr_equal(api_method_find(api_methods[i].name), &api_methods[i]);
	}
	assert_null(api_method_find("nope.nothing"));
	ctx_with(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_form_long_and_utf8),
		cmocka_unit_test(test_query_then_body),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_bad_forms),
		cmocka_unit_test(test_bool_int),
		cmocka_unit_test(test_json_arg_and_list),
		cmocka_unit_test(test_missing_and_method_table),
	};
	return cmocka_run_group_tests_name("api_args", tests, NULL, NULL);
}
