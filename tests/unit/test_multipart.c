/* The streaming multipart/form-data parser: boundaries from Content-Type,
 * parts whole and cut at every byte, delimiter look-alikes in data,
 * malformed bodies, limits and callbacks that refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "net/multipart.h"

/* What the callbacks saw, as text: "[name|filename|type]data;" per part. */
typedef struct rec {
	buf out;
	int refuse_at_begin;   /* part_begin returns 7 on this part (1-based) */
	int parts;
} rec;

static int on_begin(void *ud, const multipart_part *p)
{
	rec *r = ud;
	r->parts++;
	if (r->refuse_at_begin == r->parts)
		return 7;
	buf_printf(&r->out, "[%s|%s|%s]", p->name, p->filename ? p->filename : "-",
		   p->content_type ? p->content_type : "-");
	return 0;
}

static int on_data(void *ud, const char *d, size_t n)
{
	rec *r = ud;
	assert_true(n > 0);
	buf_add(&r->out, d, n);
	return 0;
}

static int on_end(void *ud)
{
	buf_adds(&((rec *)ud)->out, ";");
	return 0;
}

static const multipart_cb cbs = {on_begin, on_data, on_end};

/* Parses body cut into pieces of step bytes (0 = whole); returns the
 * feed/finish result and leaves the record in *r (caller releases). */
static int parse(const char *boundary, const char *body, size_t len, size_t step, rec *r)
{
	multipart *m = multipart_new(boundary, &cbs, r);
	int rc = 0;
	if (!step)
		step = len ? len : 1;
	for (size_t off = 0; off < len && rc == 0; off += step)
		rc = multipart_feed(m, body + off, len - off < step ? len - off : step);
	if (rc == 0)
		rc = multipart_finish(m);
	multipart_free(m);
	return rc;
}

static void expect_parse(const char *boundary, const char *body, int want_rc, const char *want)
{
	size_t len = strlen(body);
	for (size_t step = 0; step <= len; step++) {
		rec r = {.out = BUF_INIT};
		int rc = parse(boundary, body, len, step, &r);
		buf_add(&r.out, "", 0);
		if (rc != want_rc || (want && strcmp(r.out.data, want) != 0))
			fail_msg("step %zu: rc %d (want %d), got \"%s\" want \"%s\"", step, rc, want_rc,
				 r.out.data, want ? want : "(any)");
		buf_release(&r.out);
	}
}

static void test_boundary(void **st)
{
	char b[MULTIPART_MAX_BOUNDARY + 1];
	assert_int_equal(multipart_boundary("multipart/form-data; boundary=abc", b, sizeof b), 0);
	assert_string_equal(b, "abc");
	assert_int_equal(multipart_boundary("Multipart/Form-Data;charset=x; BOUNDARY=\"a b:c\"", b,
					    sizeof b), 0);
	assert_string_equal(b, "a b:c");
	/* Node's FormData */
	assert_int_equal(multipart_boundary(
		"multipart/form-data; boundary=----formdata-undici-0.5213345", b, sizeof b), 0);
	assert_string_equal(b, "----formdata-undici-0.5213345");
	const char *bad[] = {
		NULL, "", "text/plain; boundary=x", "multipart/form-data", "multipart/form-datax; boundary=a",
		"multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
		"multipart/form-data; boundary=\"abc", "multipart/form-data; boundary=\"ab \"",
		"multipart/form-data; boundary=a\x01", "multipart/form-data; boundary=a\rb",
		"multipart/form-data; boundary=12345678901234567890123456789012345678901234567890123456789012345678901",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (multipart_boundary(bad[i], b, sizeof b) == 0)
			fail_msg("accepted %s", bad[i] ? bad[i] : "NULL");
	/* 70 characters is the most RFC 2046 allows */
	assert_int_equal(multipart_boundary("multipart/form-data; boundary=1234567890123456789012345678901"
					    "234567890123456789012345678901234567890", b, sizeof b), 0);
}

static void test_sdk_body(void **st)
{
	/* What @slack/web-api's FormData sends to the upload URL. */
	expect_parse("XyZ",
		     "--XyZ\r\nContent-Disposition: form-data; name=\"body\"; filename=\"Untitled\"\r\n"
		     "Content-Type: application/octet-stream\r\n\r\nhello\r\n--XyZ--\r\n",
		     0, "[body|Untitled|application/octet-stream]hello;");
}

static void test_fields_and_preamble(void **st)
{
	expect_parse("b",
		     "preamble\r\n--b\r\nContent-Disposition: form-data; name=channels\r\n\r\nC1,C2\r\n"
		     "--b  \r\ncontent-disposition: form-data; name=\"file\"; filename=\"a \\\"q\\\".txt\"\r\n"
		     "\r\n\r\n\r\n--b--epilogue --b\r\n junk",
		     0, "[channels|-|-]C1,C2;[file|a \"q\".txt|-]\r\n;");
}

static void test_delimiter_lookalikes(void **st)
{
	/* CR, CRLF, CRLF-, CRLF--, CRLF--bo and a CR right before the real
	 * delimiter are all data. */
	expect_parse("bound",
		     "--bound\r\nContent-Disposition: form-data; name=x\r\n\r\n"
		     "a\rb\r\nc\r\n-d\r\n--e\r\n--bo\r\n--boun\r\r\n--bound--",
		     0, "[x|-|-]a\rb\r\nc\r\n-d\r\n--e\r\n--bo\r\n--boun\r;");
	/* Empty part bodies and a part without headers are refused (RFC 7578
	 * wants Content-Disposition), empty data is fine. */
	expect_parse("b", "--b\r\nContent-Disposition: form-data; name=e\r\n\r\n\r\n--b--", 0, "[e|-|-];");
	expect_parse("b", "--b\r\n\r\ndata\r\n--b--", MULTIPART_ESYNTAX, NULL);
}

static void test_binary(void **st)
{
	char body[600];
	size_t n = 0;
	n += (size_t)sprintf(body, "--q\r\nContent-Disposition: form-data; name=f; filename=x\r\n\r\n");
	for (int i = 0; i < 256; i++)
		body[n++] = (char)i;
	memcpy(body + n, "\r\n--q--\r\n", 9);
	n += 9;
	for (size_t step = 1; step < 40; step += 7) {
		rec r = {.out = BUF_INIT};
		assert_int_equal(parse("q", body, n, step, &r), 0);
		const char *want_head = "[f|x|-]";
		assert_int_equal(r.out.len, strlen(want_head) + 256 + 1);
		assert_memory_equal(r.out.data, want_head, strlen(want_head));
		for (int i = 0; i < 256; i++)
			assert_int_equal((unsigned char)r.out.data[strlen(want_head) + (size_t)i], i);
		buf_release(&r.out);
	}
}

static void test_malformed(void **st)
{
	const char *bad[] = {
		"",                                              /* nothing */
		"--b",                                           /* cut after the delimiter */
		"--b\r\n",                                       /* cut in the headers */
		"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nabc",  /* no closing delimiter */
		"--b\r\nContent-Disposition: form-data; name=x\r\n\r\nabc\r\n--b",
		"--bX\r\n",                                      /* garbage after the delimiter */
		"--b-x",
		"--b\r\nno colon\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition: attachment; name=x\r\n\r\n\r\n--b--",
		"--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b--",
		"--b\rX",
		"just text without any delimiter",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_parse("b", bad[i], MULTIPART_ESYNTAX, NULL);
}

static void test_head_limit(void **st)
{
	buf b = BUF_INIT;
	buf_adds(&b, "--b\r\nContent-Disposition: form-data; name=x\r\nX-Pad: ");
	for (int i = 0; i < MULTIPART_MAX_HEAD; i++)
		buf_addc(&b, 'a');
	buf_adds(&b, "\r\n\r\nv\r\n--b--");
	rec r = {.out = BUF_INIT};
	assert_int_equal(parse("b", b.data, b.len, 0, &r), MULTIPART_ESYNTAX);
	assert_int_equal(r.parts, 0);
	buf_release(&r.out);
	buf_release(&b);
}

static void test_callback_refusal(void **st)
{
	const char *body = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
			   "--b\r\nContent-Disposition: form-data; name=c\r\n\r\n2\r\n--b--";
	rec r = {.out = BUF_INIT, .refuse_at_begin = 2};
	multipart *m = multipart_new("b", &cbs, &r);
	assert_int_equal(multipart_feed(m, body, strlen(body)), 7);
	/* sticky: nothing more is parsed, no callback runs */
	assert_int_equal(multipart_feed(m, "x", 1), 7);
	assert_int_equal(multipart_finish(m), 7);
	buf_add(&r.out, "", 0);
	assert_string_equal(r.out.data, "[a|-|-]1;");
	multipart_free(m);
	buf_release(&r.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundary),
		cmocka_unit_test(test_sdk_body),
		cmocka_unit_test(test_fields_and_preamble),
		cmocka_unit_test(test_delimiter_lookalikes),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_head_limit),
		cmocka_unit_test(test_callback_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
