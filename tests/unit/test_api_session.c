/* The browser session's CSRF token and cookie parsing (api_session.h):
 * the token is derived from the session secret alone, and an API call is
 * the session's only with the cookie and the matching token together. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "api/api_session.h"

static int setup(void **st)
{
	return sodium_init() < 0 ? -1 : 0;
}

static void test_csrf_shape(void **st)
{
	char a[API_CSRF_MAX], b[API_CSRF_MAX], c[API_CSRF_MAX];
	api_session_csrf("xoxc-T1-secret-one", a);
	api_session_csrf("xoxc-T1-secret-one", b);
	api_session_csrf("xoxc-T1-secret-two", c);
	assert_int_equal(strlen(a), API_CSRF_MAX - 1);
	assert_memory_equal(a, "csrf-", 5);
	assert_int_equal(strspn(a + 5, "0123456789abcdef"), 64);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	/* Not the secret, nor something containing it. */
	assert_null(strstr(a, "secret"));
}

static void test_cookie_value(void **st)
{
	char out[64];
	assert_int_equal(api_cookie_value("canal_session=abc", "canal_session", out, sizeof out), 0);
	assert_string_equal(out, "abc");
	assert_int_equal(api_cookie_value("a=1; canal_session=xyz ; b=2", "canal_session", out, sizeof out), 0);
	assert_string_equal(out, "xyz");
	/* A longer name that starts the same is another cookie. */
	assert_int_equal(api_cookie_value("canal_session2=no; x=1", "canal_session", out, sizeof out), -1);
	assert_int_equal(api_cookie_value("canal_session=", "canal_session", out, sizeof out), -1);
	assert_int_equal(api_cookie_value(NULL, "canal_session", out, sizeof out), -1);
	assert_int_equal(api_cookie_value("", "canal_session", out, sizeof out), -1);
	char small[4];
	assert_int_equal(api_cookie_value("canal_session=toolong", "canal_session", small, sizeof small), -1);
}

static http_req *req_with(http_header *hs, size_t n)
{
	static http_req r;
	memset(&r, 0, sizeof r);
	r.headers = hs;
	r.nheaders = n;
	return &r;
}

static void test_resolve(void **st)
{
	char csrf[API_CSRF_MAX], other[API_CSRF_MAX], out[256];
	api_session_csrf("xoxc-mine", csrf);
	api_session_csrf("xoxc-theirs", other);
	http_header hs[] = {{"cookie", "x=1; canal_session=xoxc-mine"}};
	assert_true(api_session_resolve(req_with(hs, 1), csrf, out, sizeof out));
	assert_string_equal(out, "xoxc-mine");
	assert_false(api_session_resolve(req_with(hs, 1), other, out, sizeof out));
	assert_string_equal(out, "");
	assert_false(api_session_resolve(req_with(hs, 1), "csrf-short", out, sizeof out));
	assert_false(api_session_resolve(req_with(hs, 1), NULL, out, sizeof out));
	assert_false(api_session_resolve(req_with(hs, 1), "xoxc-mine", out, sizeof out));
	/* The token without its cookie is nothing. */
	assert_false(api_session_resolve(req_with(NULL, 0), csrf, out, sizeof out));
}

static void test_same_origin(void **st)
{
	http_header none[] = {{"host", "127.0.0.1:8080"}};
	assert_true(api_same_origin(req_with(none, 1)));
	http_header same[] = {{"host", "127.0.0.1:8080"}, {"origin", "http://127.0.0.1:8080"}};
	assert_true(api_same_origin(req_with(same, 2)));
	http_header port[] = {{"host", "127.0.0.1:8080"}, {"origin", "http://127.0.0.1:9090"}};
	assert_false(api_same_origin(req_with(port, 2)));
	http_header evil[] = {{"host", "chat.example"}, {"origin", "https://evil.example"}};
	assert_false(api_same_origin(req_with(evil, 2)));
	http_header null_origin[] = {{"host", "chat.example"}, {"origin", "null"}};
	assert_false(api_same_origin(req_with(null_origin, 2)));
	http_header nohost[] = {{"origin", "http://chat.example"}};
	assert_false(api_same_origin(req_with(nohost, 1)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csrf_shape),
		cmocka_unit_test(test_cookie_value),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_same_origin),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
