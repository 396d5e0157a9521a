/* libFuzzer harness for the streaming multipart/form-data parser
 * (src/net/multipart.c) and multipart_boundary.
 *
 * Input: byte 0 picks how the body is cut into pieces; up to the first
 * '\n' is a Content-Type value (the boundary comes from it, as the upload
 * routes do); the rest is the body. The body is parsed once whole and
 * once cut into pieces. Properties: both runs see exactly the same
 * transcript (part starts with name/filename/type, data bytes, part ends)
 * and the same result; no more data comes out than went in; a callback
 * refusal is sticky; begin/end alternate properly. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "net/multipart.h"

typedef struct rec {
	buf t;
	size_t data;
	int open;
	int refuse_after;   /* refuse at the n-th part_begin (0 = never) */
	int parts;
} rec;

static int on_begin(void *ud, const multipart_part *p)
{
	rec *r = ud;
	if (r->open)
		abort();   /* begin inside a part */
	r->open = 1;
	r->parts++;
	if (r->refuse_after && r->parts == r->refuse_after)
		return 42;
	buf_printf(&r->t, "B[%s|%s|%s]", p->name, p->filename ? p->filename : "\x01",
		   p->content_type ? p->content_type : "\x01");
	return 0;
}

static int on_data(void *ud, const char *d, size_t n)
{
	rec *r = ud;
	if (!r->open || n == 0)
		abort();
	r->data += n;
	buf_add(&r->t, d, n);
	return 0;
}

static int on_end(void *ud)
{
	rec *r = ud;
	if (!r->open)
		abort();
	r->open = 0;
	buf_adds(&r->t, "E");
	return 0;
}

static const multipart_cb cbs = {on_begin, on_data, on_end};

static int run(const char *boundary, const uint8_t *body, size_t len, size_t step, int refuse,
	       rec *r)
{
	multipart *m = multipart_new(boundary, &cbs, r);
	r->refuse_after = refuse;
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0; off += step)
		rc = multipart_feed(m, (const char *)body + off, len - off < step ? len - off : step);
	if (rc && multipart_feed(m, "x", 1) != rc)
		abort();   /* sticky */
	if (rc == 0)
		rc = multipart_finish(m);
	multipart_free(m);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] % 17) + 1;
	int refuse = data[0] >> 6;   /* 0..3 */
	data++;
	size--;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ctl = nl ? (size_t)(nl - data) : size;
	char *ct = malloc(ctl + 1);
	memcpy(ct, data, ctl);
	ct[ctl] = '\0';
	const uint8_t *body = nl ? nl + 1 : data + size;
	size_t blen = (size_t)(data + size - body);

	char boundary[MULTIPART_MAX_BOUNDARY + 1];
	if (multipart_boundary(ct, boundary, sizeof boundary) != 0) {
		/* Not multipart by its header: still exercise the body parser
		 * with a fixed boundary. */
		strcpy(boundary, "b");
	} else if (strlen(boundary) == 0 || strlen(boundary) > MULTIPART_MAX_BOUNDARY) {
		abort();
	}
	rec a = {.t = BUF_INIT}, b = {.t = BUF_INIT};
	int ra = run(boundary, body, blen, blen ? blen : 1, refuse, &a);
	int rb = run(boundary, body, blen, step, refuse, &b);
	if (ra != rb || a.t.len != b.t.len || (a.t.len && memcmp(a.t.data, b.t.data, a.t.len) != 0))
		abort();
	if (a.data > blen)
		abort();
	if (ra != 0 && ra != MULTIPART_ESYNTAX && ra != 42)
		abort();
	if (ra == 0 && a.open)
		abort();   /* complete body with a part left open */
	buf_release(&a.t);
	buf_release(&b.t);
	free(ct);
	return 0;
}
