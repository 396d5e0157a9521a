/* libFuzzer harness for the inbound WebSocket frame parser (ws__parse in
 * src/net/ws_frame.c), no socket involved.
 *
 * Input: byte 0 picks max_message, byte 1 the chunking (how the bytes are
 * split into reads), the rest is the stream a client would send. The
 * stream is parsed twice, whole and chunked, and both runs must report
 * the same events: the parser's result must not depend on how TCP cut the
 * bytes. Every text message must be valid UTF-8 within max_message, every
 * close code one a peer may send, and a parser must never consume more
 * than it was given.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -o build/fuzz_ws \
 *     fuzz/fuzz_ws.c src/net/ws_frame.c src/base/xalloc.c src/base/log.c src/base/clock.c \
 *     src/base/buf.c
 *   ./build/fuzz_ws -max_total_time=20 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/ws_internal.h"

typedef struct evlog {
	unsigned char *d;
	size_t len, cap;
} evlog;

static void log_add(evlog *l, const void *p, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		while (cap < l->len + n)
			cap *= 2;
		l->d = realloc(l->d, cap);
		if (!l->d)
			abort();
		l->cap = cap;
	}
	memcpy(l->d + l->len, p, n);
	l->len += n;
}

static void check_event(const ws_event *ev, size_t max, evlog *l)
{
	uint32_t hdr[2] = {(uint32_t)ev->type, (uint32_t)ev->code};
	switch (ev->type) {
	case WS_EV_NONE:
		return;
	case WS_EV_TEXT:
		if (ev->len > max || ws__utf8_step(0, (const unsigned char *)ev->data, ev->len) != 0)
			abort();
		break;
	case WS_EV_PING:
	case WS_EV_PONG:
		if (ev->len > 125)
			abort();
		break;
	case WS_EV_CLOSE:
		if (ev->code != WS_CLOSE_NO_STATUS && !ws__close_code_valid(ev->code))
			abort();
		if (ev->len > 123 || ws__utf8_step(0, (const unsigned char *)ev->data, ev->len) != 0)
			abort();
		break;
	case WS_EV_ERROR:
		if (ev->code != 1002 && ev->code != 1003 && ev->code != 1007 && ev->code != 1009)
			abort();
		break;
	}
	log_add(l, hdr, sizeof hdr);
	uint64_t n = ev->len;
	log_add(l, &n, sizeof n);
	if (ev->len)
		log_add(l, ev->data, ev->len);
}

/* Feeds data in pieces of the given sizes (cycled; 0 = all at once). */
static void run(unsigned char *data, size_t size, size_t max, const uint8_t *cuts, size_t ncuts,
		evlog *l)
{
	ws_parser p;
	ws__parser_init(&p, max);
	size_t off = 0, ci = 0;
	while (off < size) {
		size_t piece = ncuts ? (size_t)cuts[ci++ % ncuts] % 61 + 1 : size;
		size_t end = off + piece < size ? off + piece : size;
		size_t at = off;
		while (at < end) {
			ws_event ev;
			size_t k = ws__parse(&p, data + at, end - at, &ev);
			if (k > end - at)
				abort();
			if (ev.type == WS_EV_NONE && k != end - at)
				abort();
			at += k;
			check_event(&ev, max, l);
		}
		off = end;
	}
	ws__parser_release(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static const size_t maxes[] = {0, 1, 16, 125, 126, 1000, 65536};
	if (size < 2)
		return 0;
	size_t max = maxes[in[0] % (sizeof maxes / sizeof maxes[0])];
	uint8_t cuts[4] = {in[1], (uint8_t)(in[1] * 7 + 3), (uint8_t)(in[1] >> 3), (uint8_t)(in[1] ^ 0x5A)};
	in += 2;
	size -= 2;
	/* Two copies: the parser unmasks in place. */
	unsigned char *a = malloc(size ? size : 1), *b = malloc(size ? size : 1);
	if (!a || !b)
		abort();
	memcpy(a, in, size);
	memcpy(b, in, size);
	evlog whole = {0}, split = {0};
	run(a, size, max, NULL, 0, &whole);
	run(b, size, max, cuts, 4, &split);
	if (whole.len != split.len || (whole.len && memcmp(whole.d, split.d, whole.len) != 0)) {
		fprintf(stderr, "events differ between whole and chunked input\n");
		abort();
	}
	free(whole.d);
	free(split.d);
	free(a);
	free(b);
	return 0;
}
