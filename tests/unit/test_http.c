/* Pure HTTP helpers: Range parsing, safe paths, percent-decoding, MIME
 * types, reason phrases, dates. The server itself is driven over loopback
 * in test_http_server.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

/* ---- http_parse_range ---- */

static void expect_range(const char *v, uint64_t size, uint64_t s, uint64_t e)
{
	uint64_t a = 12345, b = 12345;
	int rc = http_parse_range(v, size, &a, &b);
	if (rc != 1 || a != s || b != e)
		fail_msg("\"%s\" size %llu: rc=%d [%llu,%llu], want [%llu,%llu]", v, (unsigned long long)size,
			 rc, (unsigned long long)a, (unsigned long long)b, (unsigned long long)s,
			 (unsigned long long)e);
}

static void expect_range_rc(const char *v, uint64_t size, int want)
{
	uint64_t a = 0, b = 0;
	int rc = http_parse_range(v, size, &a, &b);
	if (rc != want)
		fail_msg("\"%s\" size %llu: rc=%d, want %d", v ? v : "(null)", (unsigned long long)size,
			 rc, want);
}

static void test_range_simple(void **st)
{
	expect_range("bytes=0-0", 100, 0, 0);
	expect_range("bytes=0-99", 100, 0, 99);
	expect_range("bytes=10-19", 100, 10, 19);
	expect_range("bytes=10-", 100, 10, 99);
	expect_range("bytes=99-", 100, 99, 99);
	/* end past the size is clamped, not an error */
	expect_range("bytes=50-1000", 100, 50, 99);
	expect_range("bytes=0-18446744073709551615", 100, 0, 99);
	expect_range("bytes=0-99999999999999999999999", 100, 0, 99);
	/* unit is case-insensitive; optional whitespace */
	expect_range("Bytes=1-2", 100, 1, 2);
	expect_range(" bytes = 1 - 2 ", 100, 1, 2);
}

static void test_range_suffix(void **st)
{
	expect_range("bytes=-1", 100, 99, 99);
	expect_range("bytes=-10", 100, 90, 99);
	expect_range("bytes=-100", 100, 0, 99);
	/* a suffix longer than the file means the whole file */
	expect_range("bytes=-500", 100, 0, 99);
	expect_range("bytes=-99999999999999999999999", 100, 0, 99);
	/* "-0" asks for nothing: unsatisfiable */
	expect_range_rc("bytes=-0", 100, -1);
	/* any suffix of an empty file is unsatisfiable */
	expect_range_rc("bytes=-5", 0, -1);
}

static void test_range_unsatisfiable(void **st)
{
	expect_range_rc("bytes=100-", 100, -1);
	expect_range_rc("bytes=100-200", 100, -1);
	expect_range_rc("bytes=0-", 0, -1);
	expect_range_rc("bytes=0-0", 0, -1);
	expect_range_rc("bytes=99999999999999999999999-", 100, -1);
}

static void test_range_ignored(void **st)
{
	/* Invalid or unsupported: answered with the full body (rc 0). */
	const char *bad[] = {
		"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=1-a", "bytes=5-2",
		"bytes=1-2-3", "bytes=1", "items=0-5", "bytes:0-5", "bytes=0-5,7-9",
		"bytes=0-5, 10-", "bytes=--5", "bytes=+1-2", "bytes=1-2x", "bytes 0-5",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_range_rc(bad[i], 100, 0);
	expect_range_rc(NULL, 100, 0);
}

/* ---- http_safe_path ---- */

static void expect_path(const char *root, const char *url, const char *want)
{
	char *got = http_safe_path(root, url);
	const char *u = url ? url : "(null)";
	if (!want && got)
		fail_msg("\"%s\" accepted as \"%s\"", u, got);
	if (want && (!got || strcmp(got, want) != 0))
		fail_msg("\"%s\": got \"%s\", want \"%s\"", u, got ? got : "(null)", want);
	free(got);
}

static void test_safe_path_ok(void **st)
{
	expect_path("/srv/www", "/", "/srv/www/index.html");
	expect_path("/srv/www", "/app.js", "/srv/www/app.js");
	expect_path("/srv/www", "/a/b/c.css", "/srv/www/a/b/c.css");
	expect_path("/srv/www", "/docs/", "/srv/www/docs/index.html");
	expect_path("/srv/www/", "/x", "/srv/www/x");
	expect_path("/srv/www", "//a///b", "/srv/www/a/b");
	expect_path("/srv/www", "/./a/./b", "/srv/www/a/b");
	expect_path("/srv/www", "/a/.", "/srv/www/a/index.html");
	expect_path("/srv/www", "/.well-known/x", "/srv/www/.well-known/x");
	expect_path("/srv/www", "/a..b/c...", "/srv/www/a..b/c...");
	expect_path("/srv/www", "/%2e%2ex", "/srv/www/%2e%2ex");
	expect_path("web", "/a", "web/a");
}

static void test_safe_path_traversal(void **st)
{
	const char *bad[] = {
		"/..", "/../etc/passwd", "/a/../../etc/passwd", "/a/..", "/a/../b",
		"/..//x", "/a/b/../../..",
		/* escapes that decode to ".." (someone decoded once already) */
		"/%2e%2e/x", "/%2E%2E/x", "/.%2e/x", "/%2e./x", "/a/%2e%2e",
		/* backslashes are separators on some systems */
		"/..\\x", "/a\\b", "\\",
		/* must be an absolute path */
		"", "a/b", "../x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_path("/srv/www", bad[i], NULL);
	expect_path(NULL, "/x", NULL);
	expect_path("/srv/www", NULL, NULL);
}

/* ---- http_url_decode ---- */

static void expect_decode(const char *in, int plus, const char *want, long want_len)
{
	char s[256];
	snprintf(s, sizeof s, "%s", in);
	long n = http_url_decode(s, plus);
	if (n != want_len)
		fail_msg("\"%s\": length %ld, want %ld", in, n, want_len);
	if (want && memcmp(s, want, (size_t)want_len + 1) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", in, s, want);
}

static void test_url_decode(void **st)
{
	expect_decode("", 0, "", 0);
	expect_decode("abc", 0, "abc", 3);
	expect_decode("a%20b", 0, "a b", 3);
	expect_decode("%41%42%43", 0, "ABC", 3);
	expect_decode("%e2%9c%93", 0, "\xe2\x9c\x93", 3);
	expect_decode("%E2%9C%93", 0, "\xe2\x9c\x93", 3);
	expect_decode("a+b", 0, "a+b", 3);
	expect_decode("a+b", 1, "a b", 3);
	expect_decode("%2B", 1, "+", 1);
	expect_decode("%25", 0, "%", 1);
	expect_decode("%2525", 0, "%25", 3);
	/* an escaped NUL decodes; the length tells the caller */
	expect_decode("a%00b", 0, "a\0b", 3);
}

static void test_url_decode_bad(void **st)
{
	const char *bad[] = {"%", "%2", "a%", "a%g0", "%0g", "%%", "%zz", "abc%4", "% 20", "%-1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_decode(bad[i], 0, NULL, -1);
}

/* ---- http_mime_type, http_reason ---- */

static void test_mime_types(void **st)
{
	assert_string_equal(http_mime_type("index.html"), "text/html; charset=utf-8");
	assert_string_equal(http_mime_type("/a/b/app.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(http_mime_type("m.mjs"), "text/javascript; charset=utf-8");
	assert_string_equal(http_mime_type("s.css"), "text/css; charset=utf-8");
	assert_string_equal(http_mime_type("d.json"), "application/json");
	assert_string_equal(http_mime_type("i.svg"), "image/svg+xml");
	assert_string_equal(http_mime_type("i.PNG"), "image/png");
	assert_string_equal(http_mime_type("p.jpeg"), "image/jpeg");
	assert_string_equal(http_mime_type("f.woff2"), "font/woff2");
	assert_string_equal(http_mime_type("w.wasm"), "application/wasm");
	assert_string_equal(http_mime_type("a.tar.gz"), "application/gzip");
	assert_string_equal(http_mime_type("favicon.ico"), "image/x-icon");
	/* unknown, none, dotfiles, dots in directories */
	assert_string_equal(http_mime_type("x.unknownext"), "application/octet-stream");
	assert_string_equal(http_mime_type("README"), "application/octet-stream");
	assert_string_equal(http_mime_type(".html"), "application/octet-stream");
	assert_string_equal(http_mime_type("trailing."), "application/octet-stream");
	assert_string_equal(http_mime_type("/a.html/file"), "application/octet-stream");
	assert_string_equal(http_mime_type(""), "application/octet-stream");
}

static void test_reasons(void **st)
{
	assert_string_equal(http_reason(100), "Continue");
	assert_string_equal(http_reason(101), "Switching Protocols");
	assert_string_equal(http_reason(200), "OK");
	assert_string_equal(http_reason(204), "No Content");
	assert_string_equal(http_reason(206), "Partial Content");
	assert_string_equal(http_reason(304), "Not Modified");
	assert_string_equal(http_reason(400), "Bad Request");
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(408), "Request Timeout");
	assert_string_equal(http_reason(413), "Content Too Large");
	assert_string_equal(http_reason(416), "Range Not Satisfiable");
	assert_string_equal(http_reason(429), "Too Many Requests");
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(500), "Internal Server Error");
	assert_string_equal(http_reason(503), "Service Unavailable");
	assert_string_equal(http_reason(505), "HTTP Version Not Supported");
	assert_string_equal(http_reason(0), "Unknown");
	assert_string_equal(http_reason(299), "Unknown");
	assert_string_equal(http_reason(999), "Unknown");
	assert_string_equal(http_reason(-1), "Unknown");
}

static void test_fmt_date(void **st)
{
	char d[64];
	http__fmt_date(784111777, d, sizeof d);    /* RFC 9110's example */
	assert_string_equal(d, "Sun, 06 Nov 1994 08:49:37 GMT");
	http__fmt_date(0, d, sizeof d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	http__fmt_date(1700000000, d, sizeof d);
	assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 GMT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_simple),
		cmocka_unit_test(test_range_suffix),
		cmocka_unit_test(test_range_unsatisfiable),
		cmocka_unit_test(test_range_ignored),
		cmocka_unit_test(test_safe_path_ok),
		cmocka_unit_test(test_safe_path_traversal),
		cmocka_unit_test(test_url_decode),
		cmocka_unit_test(test_url_decode_bad),
		cmocka_unit_test(test_mime_types),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_fmt_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
