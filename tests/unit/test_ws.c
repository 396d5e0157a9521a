/* WebSocket: the accept key, server frame encoding and the inbound parser
 * as pure functions; then the real thing over loopback: an http_server on
 * port 0 whose handler calls ws_accept, and plain blocking-connect sockets
 * as clients. As in test_http_server.c the test thread drives the loop
 * without blocking and polls with short bounded timeouts: nothing sleeps,
 * nothing needs a second thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "net/http.h"
#include "net/ws.h"
#include "net/ws_internal.h"

#define WAIT_US (10 * 1000000)
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define KEY_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="   /* RFC 6455 section 1.3 */

/* ---- client-side frames ---- */

static const unsigned char mask_key[4] = {0x37, 0xFA, 0x21, 0x3D};

/* A client frame: b0 is FIN|RSV|opcode as on the wire. */
static void cframe(buf *out, int b0, const void *payload, size_t n, int masked)
{
	unsigned char h[14];
	size_t hl = 2;
	h[0] = (unsigned char)b0;
	if (n < 126) {
		h[1] = (unsigned char)n;
	} else if (n <= 0xFFFF) {
		h[1] = 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
		hl = 10;
	}
	if (masked) {
		h[1] |= 0x80;
		memcpy(h + hl, mask_key, 4);
		hl += 4;
	}
	buf_add(out, h, hl);
	const unsigned char *p = payload;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = p[i];
		if (masked)
			b ^= mask_key[i & 3];
		buf_addc(out, (char)b);
	}
}

static void cframe_close(buf *out, int code, const char *reason)
{
	char p[128];
	size_t n = 0;
	if (code) {
		p[0] = (char)(code >> 8);
		p[1] = (char)code;
		n = 2 + strlen(reason);
		memcpy(p + 2, reason, strlen(reason));
	}
	cframe(out, 0x88, p, n, 1);
}

/* Parses one unmasked server frame at the start of in; 1 and consumes it if
 * complete. */
static int sframe_take(buf *in, int *b0, buf *payload)
{
	const unsigned char *d = (const unsigned char *)in->data;
	if (in->len < 2)
		return 0;
	assert_int_equal(d[1] & 0x80, 0);   /* servers never mask */
	uint64_t n = d[1] & 0x7F;
	size_t hl = 2;
	if (n == 126) {
		if (in->len < 4)
			return 0;
		n = (uint64_t)d[2] << 8 | d[3];
		hl = 4;
	} else if (n == 127) {
		if (in->len < 10)
			return 0;
		n = 0;
		for (int i = 0; i < 8; i++)
			n = n << 8 | d[2 + i];
		hl = 10;
	}
	if (in->len < hl + n)
		return 0;
	*b0 = d[0];
	buf_reset(payload);
	buf_add(payload, d + hl, (size_t)n);
	memmove(in->data, in->data + hl + n, in->len - hl - (size_t)n);
	in->len -= hl + (size_t)n;
	return 1;
}

/* ---- pure functions ---- */

static void test_accept_key(void **st)
{
	char out[29];
	ws_accept_key(KEY, out);
	assert_string_equal(out, KEY_ACCEPT);
}

static void check_frame(size_t n, const unsigned char *head, size_t hl)
{
	char *p = xmalloc(n + 1);
	for (size_t i = 0; i < n; i++)
		p[i] = (char)('a' + i % 26);
	ws_frame *f = ws_frame_text(p, n);
	assert_int_equal(f->refs, 1);
	assert_int_equal(f->len, hl + n);
	assert_memory_equal(f->data, head, hl);
	if (n)
		assert_memory_equal(f->data + hl, p, n);
	ws_frame_ref(f);
	assert_int_equal(f->refs, 2);
	ws_frame_unref(f);
	assert_int_equal(f->refs, 1);
	ws_frame_unref(f);
	free(p);
}

static void test_frame_encoding(void **st)
{
	check_frame(0, (const unsigned char *)"\x81\x00", 2);
	check_frame(125, (const unsigned char *)"\x81\x7D", 2);
	check_frame(126, (const unsigned char *)"\x81\x7E\x00\x7E", 4);
	check_frame(65535, (const unsigned char *)"\x81\x7E\xFF\xFF", 4);
	check_frame(65536, (const unsigned char *)"\x81\x7F\x00\x00\x00\x00\x00\x01\x00\x00", 10);
	/* close frames: code + reason, cut to 125 bytes between characters */
	ws_frame *f = ws__frame_close(1008, "output limit");
	assert_int_equal(f->len, 2 + 2 + 12);
	assert_memory_equal(f->data, "\x88\x0E\x03\xF0output limit", 16);
	ws_frame_unref(f);
	f = ws__frame_close(0, "ignored");
	assert_int_equal(f->len, 2);
	assert_memory_equal(f->data, "\x88\x00", 2);
	ws_frame_unref(f);
	char longr[200] = "";
	for (int i = 0; i < 60; i++)
		strcat(longr, "\xC3\xA9");   /* 120 bytes of 2-byte characters, then ASCII */
	strcat(longr, "abcdefgh");
	f = ws__frame_close(1000, longr);
	assert_int_equal(f->data[1], 125);
	assert_int_equal(ws__utf8_step(0, f->data + 4, f->len - 4), 0);
	ws_frame_unref(f);
	char allmb[200] = "";
	for (int i = 0; i < 63; i++)
		strcat(allmb, "\xC3\xA9");   /* 126 bytes: 123 would split a character */
	f = ws__frame_close(1000, allmb);
	assert_int_equal(f->data[1], 2 + 122);
	assert_int_equal(ws__utf8_step(0, f->data + 4, f->len - 4), 0);
	ws_frame_unref(f);
}

static void test_utf8(void **st)
{
	static const struct {
		const char *s;
		int ok;
	} v[] = {
		{"", 1}, {"hello", 1}, {"caf\xC3\xA9", 1}, {"\xE2\x82\xAC", 1}, {"\xF0\x9F\x98\x80", 1},
		{"\xEF\xBF\xBF", 1}, {"\xF4\x8F\xBF\xBF", 1}, {"\xED\x9F\xBF", 1},
		{"\xC0\xAF", 0},         /* overlong */
		{"\xE0\x80\xAF", 0},     /* overlong */
		{"\xF0\x80\x80\xAF", 0}, /* overlong */
		{"\xED\xA0\x80", 0},     /* surrogate */
		{"\xF4\x90\x80\x80", 0}, /* > U+10FFFF */
		{"\xF5\x80\x80\x80", 0}, {"\x80", 0}, {"\xFF", 0}, {"a\xC3", -1}, {"\xE2\x82", -1},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		const unsigned char *s = (const unsigned char *)v[i].s;
		size_t n = strlen(v[i].s);
		uint8_t whole = ws__utf8_step(0, s, n);
		/* byte by byte must agree with all at once */
		uint8_t st1 = 0;
		for (size_t k = 0; k < n; k++)
			st1 = ws__utf8_step(st1, s + k, 1);
		if (st1 != whole)
			fail_msg("case %zu: split %d whole %d", i, st1, whole);
		if (v[i].ok == 1 && whole != 0)
			fail_msg("case %zu should be valid", i);
		if (v[i].ok == 0 && whole != WS_UTF8_REJECT)
			fail_msg("case %zu should be rejected", i);
		if (v[i].ok == -1 && (whole == 0 || whole == WS_UTF8_REJECT))
			fail_msg("case %zu should be incomplete", i);
	}
	/* long ASCII runs take the 8-byte path; a bad byte deep inside */
	char lng[100];
	memset(lng, 'x', sizeof lng);
	assert_int_equal(ws__utf8_step(0, (unsigned char *)lng, sizeof lng), 0);
	lng[77] = (char)0xFE;
	assert_int_equal(ws__utf8_step(0, (unsigned char *)lng, sizeof lng), WS_UTF8_REJECT);
}

/* Runs the parser over in, chunk bytes at a time (0: all at once), and logs
 * events as "T:text;" "P:ping;" "O:pong;" "C:code:reason;" "E:code;". */
static void parse_log(const buf *in, size_t chunk, size_t max, buf *log)
{
	ws_parser p;
	ws__parser_init(&p, max);
	unsigned char *copy = xmalloc(in->len + 1);
	memcpy(copy, in->data, in->len);
	size_t off = 0;
	buf_reset(log);
	while (off < in->len) {
		size_t end = chunk && off + chunk < in->len ? off + chunk : in->len;
		size_t at = off;
		while (at < end) {
			ws_event ev;
			size_t k = ws__parse(&p, copy + at, end - at, &ev);
			assert_true(k <= end - at);
			at += k;
			switch (ev.type) {
			case WS_EV_NONE:
				assert_int_equal(at, end);
				break;
			case WS_EV_TEXT:
				buf_printf(log, "T:%.*s;", (int)ev.len, ev.data);
				break;
			case WS_EV_PING:
				buf_printf(log, "P:%.*s;", (int)ev.len, ev.data);
				break;
			case WS_EV_PONG:
				buf_printf(log, "O:%.*s;", (int)ev.len, ev.data);
				break;
			case WS_EV_CLOSE:
				buf_printf(log, "C:%d:%.*s;", ev.code, (int)ev.len, ev.data);
				break;
			case WS_EV_ERROR:
				/* no stale pointer into a freed buffer (found by fuzzing) */
				assert_null(ev.data);
				assert_int_equal(ev.len, 0);
				buf_printf(log, "E:%d;", ev.code);
				break;
			}
		}
		off = end;
	}
	ws__parser_release(&p);
	free(copy);
}

/* Every chunking must give the same events. */
static void expect_events(const buf *in, size_t max, const char *want)
{
	static const size_t chunks[] = {0, 1, 2, 3, 5, 7, 13, 64};
	buf log = BUF_INIT;
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		parse_log(in, chunks[i], max, &log);
		if (strcmp(log.data, want) != 0)
			fail_msg("chunk %zu: got \"%s\", want \"%s\"", chunks[i], log.data, want);
	}
	buf_release(&log);
}

static void test_parser_messages(void **st)
{
	buf in = BUF_INIT;
	cframe(&in, 0x81, "hello", 5, 1);
	cframe(&in, 0x81, "", 0, 1);
	/* fragmented, with a ping and a pong between the fragments */
	cframe(&in, 0x01, "Hel", 3, 1);
	cframe(&in, 0x89, "p1", 2, 1);
	cframe(&in, 0x00, "l", 1, 1);
	cframe(&in, 0x8A, "", 0, 1);
	cframe(&in, 0x80, "o", 1, 1);
	/* an empty final fragment still completes its message */
	cframe(&in, 0x01, "ab", 2, 1);
	cframe(&in, 0x80, "", 0, 1);
	/* a character split across fragments */
	cframe(&in, 0x01, "caf\xC3", 4, 1);
	cframe(&in, 0x80, "\xA9!", 2, 1);
	/* 16-bit length */
	char mid[300];
	memset(mid, 'm', sizeof mid);
	cframe(&in, 0x81, mid, sizeof mid, 1);
	cframe_close(&in, 1000, "bye");
	cframe(&in, 0x81, "after close", 11, 1);   /* never reported */
	buf want = BUF_INIT;
	buf_adds(&want, "T:hello;T:;P:p1;O:;T:Hello;T:ab;T:caf\xC3\xA9!;T:");
	buf_add(&want, mid, sizeof mid);
	buf_adds(&want, ";C:1000:bye;");
	expect_events(&in, 1024, want.data);
	buf_release(&want);
	/* (a message is reported once complete, so the ping between its
	 * fragments comes first) */
	/* close without a code */
	buf_reset(&in);
	cframe(&in, 0x88, "", 0, 1);
	expect_events(&in, 1024, "C:1005:;");
	/* 64-bit length */
	buf_reset(&in);
	char *big = xmalloc(70000);
	memset(big, 'b', 70000);
	cframe(&in, 0x81, big, 70000, 1);
	buf log = BUF_INIT;
	parse_log(&in, 0, 100000, &log);
	assert_int_equal(log.len, 2 + 70000 + 1);
	parse_log(&in, 4096, 100000, &log);
	assert_int_equal(log.len, 2 + 70000 + 1);
	free(big);
	buf_release(&log);
	buf_release(&in);
}

static void expect_error(void (*build)(buf *), const char *want)
{
	buf in = BUF_INIT;
	build(&in);
	cframe(&in, 0x81, "more", 4, 1);   /* a dead parser reports nothing else */
	expect_events(&in, 1000, want);
	buf_release(&in);
}

static void b_unmasked(buf *b) { cframe(b, 0x81, "hi", 2, 0); }
static void b_rsv(buf *b) { cframe(b, 0xC1, "hi", 2, 1); }
static void b_opcode(buf *b) { cframe(b, 0x83, "hi", 2, 1); }
static void b_ctl_opcode(buf *b) { cframe(b, 0x8B, "", 0, 1); }
static void b_binary(buf *b) { cframe(b, 0x82, "hi", 2, 1); }
static void b_binary_mid(buf *b)
{
	cframe(b, 0x01, "a", 1, 1);
	cframe(b, 0x82, "hi", 2, 1);
}
static void b_cont_first(buf *b) { cframe(b, 0x80, "hi", 2, 1); }
static void b_text_in_text(buf *b)
{
	cframe(b, 0x01, "a", 1, 1);
	cframe(b, 0x81, "b", 1, 1);
}
static void b_ping_fragmented(buf *b) { cframe(b, 0x09, "", 0, 1); }
static void b_ping_long(buf *b)
{
	char p[126] = {0};
	cframe(b, 0x89, p, sizeof p, 1);
}
static void b_too_big(buf *b)
{
	char p[1001];
	memset(p, 'x', sizeof p);
	cframe(b, 0x81, p, sizeof p, 1);
}
static void b_too_big_fragments(buf *b)
{
	char p[600];
	memset(p, 'x', sizeof p);
	cframe(b, 0x01, p, sizeof p, 1);
	cframe(b, 0x80, p, sizeof p, 1);
}
static void b_len_msb(buf *b)
{
	/* length 2^63: refused on the header, nothing else needs to follow */
	buf_add(b, "\x81\xFF\x80\x00\x00\x00\x00\x00\x00\x00\x01\x02\x03\x04", 14);
}
static void b_bad_utf8(buf *b) { cframe(b, 0x81, "a\xC0\xAF", 3, 1); }
static void b_bad_utf8_split(buf *b)
{
	cframe(b, 0x01, "caf\xC3", 4, 1);
	cframe(b, 0x80, "(", 1, 1);
}
static void b_utf8_truncated(buf *b)
{
	cframe(b, 0x01, "a", 1, 1);
	cframe(b, 0x80, "\xE2\x82", 2, 1);
}
static void b_close_1byte(buf *b) { cframe(b, 0x88, "\x03", 1, 1); }
static void b_close_1005(buf *b) { cframe_close(b, 1005, ""); }
static void b_close_999(buf *b) { cframe_close(b, 999, ""); }
static void b_close_5000(buf *b) { cframe_close(b, 5000, ""); }
static void b_close_bad_reason(buf *b) { cframe_close(b, 1000, "\xFF"); }

static void test_parser_errors(void **st)
{
	expect_error(b_unmasked, "E:1002;");
	expect_error(b_rsv, "E:1002;");
	expect_error(b_opcode, "E:1002;");
	expect_error(b_ctl_opcode, "E:1002;");
	expect_error(b_binary, "E:1003;");
	expect_error(b_binary_mid, "E:1002;");
	expect_error(b_cont_first, "E:1002;");
	expect_error(b_text_in_text, "E:1002;");
	expect_error(b_ping_fragmented, "E:1002;");
	expect_error(b_ping_long, "E:1002;");
	expect_error(b_too_big, "E:1009;");
	expect_error(b_too_big_fragments, "E:1009;");
	expect_error(b_len_msb, "E:1002;");
	expect_error(b_bad_utf8, "E:1007;");
	expect_error(b_bad_utf8_split, "E:1007;");
	expect_error(b_utf8_truncated, "E:1007;");
	expect_error(b_close_1byte, "E:1002;");
	expect_error(b_close_1005, "E:1002;");
	expect_error(b_close_999, "E:1002;");
	expect_error(b_close_5000, "E:1002;");
	expect_error(b_close_bad_reason, "E:1007;");
	/* codes a peer may send */
	buf in = BUF_INIT;
	cframe_close(&in, 4999, "");
	expect_events(&in, 10, "C:4999:;");
	buf_reset(&in);
	cframe_close(&in, 1011, "x");
	expect_events(&in, 10, "C:1011:x;");
	buf_release(&in);
}

/* ---- loopback harness ---- */

typedef struct trec trec;
typedef struct tsrv {
	uv_loop_t loop;
	http_server *srv;
	ws_ctx *ws;
	int port;
	int http_done, ws_done;
	int echo;               /* on_message echoes */
	int nmsgs;
	buf msgs;               /* "text;" per message received */
	trec *recs;             /* every accepted connection, newest first */
	int no_rec;             /* /ws connections get no trec (memory test) */
} tsrv;

struct trec {
	tsrv *t;
	ws_conn *c;             /* NULL once on_close ran */
	int closes;
	int code;
	trec *next;
};

typedef struct client {
	int fd;
	buf in;
	trec *rec;
} client;

static void on_message(ws_conn *c, const char *msg, size_t len, void *ud)
{
	trec *r = ud;
	tsrv *t = r ? r->t : ws_conn_ud(c);
	assert_ptr_equal(ws_conn_ud(c), ud);
	t->nmsgs++;
	buf_add(&t->msgs, msg, len);
	buf_addc(&t->msgs, ';');
	if (t->echo)
		assert_int_equal(ws_send_text(c, msg, len), 0);
}

static void on_close(ws_conn *c, int code, void *ud)
{
	trec *r = ud;
	if (!r)
		return;
	assert_ptr_equal(r->c, c);
	r->closes++;
	r->code = code;
	r->c = NULL;
	/* closed means closed: sends fail, ws_close is a no-op */
	ws_frame *f = ws_frame_text("x", 1);
	assert_int_equal(ws_send(c, f), -1);
	ws_frame_unref(f);
	ws_close(c, 1000, "again");
}

static const ws_callbacks cbs = {on_message, on_close};

static void handler(http_req *r, void *ud)
{
	tsrv *t = ud;
	if (strcmp(r->path, "/ws") != 0) {
		http_respond(r, 404, "text/plain", NULL, "no\n", 3);
		return;
	}
	if (t->no_rec) {
		ws_accept(t->ws, r, &cbs, NULL);
		return;
	}
	trec *rec = xcalloc(1, sizeof *rec);
	rec->t = t;
	ws_conn *c = ws_accept(t->ws, r, &cbs, rec);
	if (!c) {
		free(rec);
		return;
	}
	rec->c = c;
	rec->next = t->recs;
	t->recs = rec;
	assert_string_equal(ws_conn_remote_ip(c), "127.0.0.1");
}

static tsrv *tsrv_start(ws_cfg wcfg)
{
	tsrv *t = xcalloc(1, sizeof *t);
	assert_int_equal(uv_loop_init(&t->loop), 0);
	http_cfg cfg = {0};
	cfg.host = "127.0.0.1";
	cfg.port = 0;
	char err[256] = "";
	t->srv = http_server_new(&t->loop, &cfg, handler, t, err, sizeof err);
	if (!t->srv)
		fail_msg("http_server_new: %s", err);
	t->port = http_server_port(t->srv);
	t->ws = ws_ctx_new(&t->loop, &wcfg);
	t->echo = 1;
	return t;
}

static tsrv *tsrv_default(void)
{
	ws_cfg c = {0};
	return tsrv_start(c);
}

static void wait_step(tsrv *t, int fd)
{
	uv_run(&t->loop, UV_RUN_NOWAIT);
	struct pollfd pf[2] = {{uv_backend_fd(&t->loop), POLLIN, 0}, {fd, POLLIN, 0}};
	int to = uv_backend_timeout(&t->loop);
	if (to < 0 || to > 10)
		to = 10;
	poll(pf, fd >= 0 ? 2 : 1, to);
}

#define DRIVE_UNTIL(t, cond)                                                   \
	do {                                                                   \
		int64_t dl_ = clock_mono_us() + WAIT_US;                       \
		while (!(cond)) {                                              \
			if (clock_mono_us() > dl_)                             \
				fail_msg("timed out waiting for %s", #cond);   \
			wait_step((t), -1);                                    \
		}                                                              \
	} while (0)

static void http_done_cb(void *ud)
{
	((tsrv *)ud)->http_done = 1;
}

static void ws_done_cb(void *ud)
{
	((tsrv *)ud)->ws_done = 1;
}

static void tsrv_finish(tsrv *t)
{
	ws_ctx_shutdown(t->ws, ws_done_cb, t);
	DRIVE_UNTIL(t, t->ws_done);
	ws_stats s;
	ws_ctx_stats(t->ws, &s);
	assert_int_equal(s.open, 0);
	ws_ctx_free(t->ws);
	http_server_stop(t->srv, http_done_cb, t);
	DRIVE_UNTIL(t, t->http_done);
	http_server_free(t->srv);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	/* every handle either layer opened is closed */
	assert_int_equal(uv_loop_close(&t->loop), 0);
	for (trec *r = t->recs, *n; r; r = n) {
		n = r->next;
		assert_int_equal(r->closes, 1);
		free(r);
	}
	buf_release(&t->msgs);
	free(t);
}

static int tcp_connect(tsrv *t, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)t->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static void send_buf(client *cl, buf *b)
{
	send_all(cl->fd, b->data, b->len);
	buf_reset(b);
}

/* Reads what is there into cl->in, driving the loop; until cl->in holds at
 * least want bytes (returns 0), or EOF/reset (returns 1). */
static int cl_recv(tsrv *t, client *cl, size_t want)
{
	int64_t deadline = clock_mono_us() + WAIT_US;
	for (;;) {
		if (want && cl->in.len >= want)
			return 0;
		uv_run(&t->loop, UV_RUN_NOWAIT);
		char tmp[65536];
		ssize_t n = recv(cl->fd, tmp, sizeof tmp, MSG_DONTWAIT);
		if (n > 0) {
			buf_add(&cl->in, tmp, (size_t)n);
			continue;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			fail_msg("recv: %s", strerror(errno));
		if (clock_mono_us() > deadline)
			fail_msg("timed out with %zu bytes: %.*s", cl->in.len,
				 (int)(cl->in.len < 300 ? cl->in.len : 300), cl->in.data ? cl->in.data : "");
		wait_step(t, cl->fd);
	}
}

/* Next server frame: 1, or 0 at EOF. */
static int cl_frame(tsrv *t, client *cl, int *b0, buf *payload)
{
	for (;;) {
		if (sframe_take(&cl->in, b0, payload))
			return 1;
		if (cl_recv(t, cl, cl->in.len + 1))
			return sframe_take(&cl->in, b0, payload);
	}
}

static void expect_frame(tsrv *t, client *cl, int want_b0, const char *want, size_t want_len)
{
	int b0 = 0;
	buf p = BUF_INIT;
	if (!cl_frame(t, cl, &b0, &p))
		fail_msg("EOF, want frame 0x%02x", want_b0);
	if (b0 != want_b0)
		fail_msg("frame 0x%02x, want 0x%02x", b0, want_b0);
	assert_int_equal(p.len, want_len);
	if (want_len)
		assert_memory_equal(p.data, want, want_len);
	buf_release(&p);
}

static void expect_close(tsrv *t, client *cl, int code, const char *reason)
{
	char want[128];
	want[0] = (char)(code >> 8);
	want[1] = (char)code;
	memcpy(want + 2, reason, strlen(reason));
	expect_frame(t, cl, 0x88, want, 2 + strlen(reason));
}

static void expect_eof(tsrv *t, client *cl)
{
	assert_int_equal(cl_recv(t, cl, 0), 1);
	assert_int_equal(cl->in.len, 0);
}

static const char upgrade_req[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
				  "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
				  "Sec-WebSocket-Version: 13\r\n"
				  "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
static const char upgrade_resp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				   "Connection: Upgrade\r\nSec-WebSocket-Accept: " KEY_ACCEPT "\r\n\r\n";

/* Connects and upgrades; extra bytes go out with the request. */
static client cl_open_with(tsrv *t, int rcvbuf, const void *extra, size_t extra_len)
{
	client cl = {tcp_connect(t, rcvbuf), BUF_INIT, NULL};
	buf req = BUF_INIT;
	buf_adds(&req, upgrade_req);
	buf_add(&req, extra, extra_len);
	send_all(cl.fd, req.data, req.len);
	buf_release(&req);
	size_t n = sizeof upgrade_resp - 1;
	cl_recv(t, &cl, n);
	/* exactly this: no extension and no subprotocol echoed */
	assert_memory_equal(cl.in.data, upgrade_resp, n);
	memmove(cl.in.data, cl.in.data + n, cl.in.len - n);
	cl.in.len -= n;
	if (!t->no_rec) {
		assert_non_null(t->recs);
		cl.rec = t->recs;
	}
	return cl;
}

static client cl_open(tsrv *t)
{
	return cl_open_with(t, 0, "", 0);
}

static void cl_close(client *cl)
{
	close(cl->fd);
	buf_release(&cl->in);
}

static void cl_send_text(client *cl, const char *s)
{
	buf b = BUF_INIT;
	cframe(&b, 0x81, s, strlen(s), 1);
	send_buf(cl, &b);
	buf_release(&b);
}

static int setup(void **st)
{
	log_set_level(LOG_WARN);
	return 0;
}

/* ---- loopback tests ---- */

static void test_echo(void **st)
{
	tsrv *t = tsrv_default();
	client cl = cl_open(t);
	cl_send_text(&cl, "hello");
	expect_frame(t, &cl, 0x81, "hello", 5);

	/* fragmented, a ping in between: the pong comes first, then the
	 * whole message */
	buf b = BUF_INIT;
	cframe(&b, 0x01, "Hel", 3, 1);
	cframe(&b, 0x89, "p1", 2, 1);
	cframe(&b, 0x00, "l", 1, 1);
	cframe(&b, 0x80, "o \xE2\x82\xAC", 5, 1);
	send_buf(&cl, &b);
	expect_frame(t, &cl, 0x8A, "p1", 2);
	expect_frame(t, &cl, 0x81, "Hello \xE2\x82\xAC", 9);

	/* a frame dribbled in byte by byte (reassembly across reads) */
	cframe(&b, 0x81, "slowly", 6, 1);
	for (size_t i = 0; i < b.len; i++) {
		send_all(cl.fd, b.data + i, 1);
		for (int k = 0; k < 3; k++)
			uv_run(&t->loop, UV_RUN_NOWAIT);
	}
	buf_reset(&b);
	expect_frame(t, &cl, 0x81, "slowly", 6);

	/* several messages in one write: echoed in order */
	cframe(&b, 0x81, "a", 1, 1);
	cframe(&b, 0x81, "bb", 2, 1);
	cframe(&b, 0x8A, "unsolicited pong", 16, 1);
	cframe(&b, 0x81, "ccc", 3, 1);
	send_buf(&cl, &b);
	expect_frame(t, &cl, 0x81, "a", 1);
	expect_frame(t, &cl, 0x81, "bb", 2);
	expect_frame(t, &cl, 0x81, "ccc", 3);

	/* 60 000 bytes (16-bit length) is within the 64 KiB default */
	assert_string_equal(t->msgs.data, "hello;Hello \xE2\x82\xAC;slowly;a;bb;ccc;");
	char *big = xmalloc(60000);
	memset(big, 'z', 60000);
	cframe(&b, 0x81, big, 60000, 1);
	send_buf(&cl, &b);
	expect_frame(t, &cl, 0x81, big, 60000);
	free(big);

	ws_stats s;
	ws_ctx_stats(t->ws, &s);
	assert_int_equal(s.open, 1);
	assert_int_equal(s.accepted, 1);
	assert_int_equal(s.closed_protocol, 0);
	assert_true(s.frames_out >= 7);
	assert_true(s.bytes_out > 60000);

	cframe_close(&b, 1000, "done");
	send_buf(&cl, &b);
	expect_close(t, &cl, 1000, "");
	expect_eof(t, &cl);
	DRIVE_UNTIL(t, cl.rec->closes == 1);
	assert_int_equal(cl.rec->code, 1000);
	buf_release(&b);
	cl_close(&cl);
	tsrv_finish(t);
}

static void test_leftover(void **st)
{
	/* Frames sent right behind the upgrade request, before the 101 came
	 * back, arrive through http_req_detach_socket's leftover. */
	tsrv *t = tsrv_default();
	buf b = BUF_INIT;
	cframe(&b, 0x81, "early", 5, 1);
	cframe(&b, 0x89, "pp", 2, 1);
	client cl = cl_open_with(t, 0, b.data, b.len);
	expect_frame(t, &cl, 0x81, "early", 5);
	expect_frame(t, &cl, 0x8A, "pp", 2);
	cl_close(&cl);
	DRIVE_UNTIL(t, cl.rec->closes == 1);
	assert_int_equal(cl.rec->code, 1006);   /* vanished without a close */

	/* a close frame in the leftover: echoed, then the server closes */
	buf_reset(&b);
	cframe_close(&b, 1001, "");
	cl = cl_open_with(t, 0, b.data, b.len);
	expect_close(t, &cl, 1001, "");
	expect_eof(t, &cl);
	DRIVE_UNTIL(t, cl.rec->closes == 1);
	assert_int_equal(cl.rec->code, 1001);
	cl_close(&cl);
	buf_release(&b);
	tsrv_finish(t);
}

static void expect_refused(tsrv *t, const char *req, const char *status_line, const char *must_have)
{
	client cl = {tcp_connect(t, 0), BUF_INIT, NULL};
	send_all(cl.fd, req, strlen(req));
	/* One whole response: head, then Content-Length bytes (the server
	 * may keep the connection open, e.g. without "Upgrade"). */
	char *e;
	while (!(e = cl.in.data ? strstr(cl.in.data, "\r\n\r\n") : NULL))
		if (cl_recv(t, &cl, cl.in.len + 1))
			fail_msg("EOF before a response: %s", cl.in.data ? cl.in.data : "");
	const char *clen = strstr(cl.in.data, "Content-Length: ");
	assert_non_null(clen);
	size_t total = (size_t)(e + 4 - cl.in.data) + strtoull(clen + 16, NULL, 10);
	cl_recv(t, &cl, total);
	assert_int_equal(cl.in.len, total);
	buf_addc(&cl.in, '\0');
	if (strncmp(cl.in.data, status_line, strlen(status_line)) != 0)
		fail_msg("got \"%s\", want \"%s\"", cl.in.data, status_line);
	if (must_have && !strstr(cl.in.data, must_have))
		fail_msg("\"%s\" lacks \"%s\"", cl.in.data, must_have);
	cl_close(&cl);
}

static void test_handshake_refused(void **st)
{
	tsrv *t = tsrv_default();
	expect_refused(t,
		       "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
		       "HTTP/1.1 426 ", "Sec-WebSocket-Version: 13\r\n");
	expect_refused(t,
		       "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
		       "HTTP/1.1 426 ", "Upgrade: websocket\r\n");
	expect_refused(t,
		       "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
		       "HTTP/1.1 400 ", NULL);
	expect_refused(t,
		       "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		       "Sec-WebSocket-Version: 13\r\n\r\n",
		       "HTTP/1.1 400 ", NULL);
	expect_refused(t,
		       "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		       "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
		       "HTTP/1.1 400 ", NULL);
	expect_refused(t,
		       "POST /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		       "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n",
		       "HTTP/1.1 400 ", NULL);
	ws_stats s;
	ws_ctx_stats(t->ws, &s);
	assert_int_equal(s.accepted, 0);
	/* Upgrade and Connection tokens are case-insensitive */
	client cl = {tcp_connect(t, 0), BUF_INIT, NULL};
	const char *ok = "GET /ws HTTP/1.1\r\nUpgrade: WebSocket\r\nConnection: UPGRADE\r\n"
			 "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n";
	send_all(cl.fd, ok, strlen(ok));
	cl_recv(t, &cl, sizeof upgrade_resp - 1);
	assert_memory_equal(cl.in.data, upgrade_resp, sizeof upgrade_resp - 1);
	cl_close(&cl);
	tsrv_finish(t);
}

static void proto_case(void (*build)(buf *), size_t max_message, int code, const char *reason)
{
	ws_cfg cfg = {0};
	cfg.max_message = max_message;
	tsrv *t = tsrv_start(cfg);
	client cl = cl_open(t);
	cl_send_text(&cl, "fine");
	expect_frame(t, &cl, 0x81, "fine", 4);
	buf b = BUF_INIT;
	build(&b);
	send_buf(&cl, &b);
	cl_send_text(&cl, "never delivered");
	/* Our close frame, then FIN right behind it (no waiting for a close
	 * the dead parser could not read). */
	expect_close(t, &cl, code, reason);
	expect_eof(t, &cl);
	assert_int_equal(cl.rec->closes, 0);   /* lingers until our EOF */
	/* input after the error is read and discarded */
	cframe(&b, 0x81, "ignored", 7, 1);
	send_buf(&cl, &b);
	shutdown(cl.fd, SHUT_WR);
	DRIVE_UNTIL(t, cl.rec->closes == 1);
	assert_int_equal(cl.rec->code, code);
	assert_int_equal(t->nmsgs, 1);
	ws_stats s;
	ws_ctx_stats(t->ws, &s);
	assert_int_equal(s.closed_protocol, 1);
	assert_int_equal(s.open, 0);
	cl_close(&cl);
	buf_release(&b);
	tsrv_finish(t);
}

static void test_protocol_errors(void **st)
{
	proto_case(b_unmasked, 0, 1002, "protocol error");
	proto_case(b_rsv, 0, 1002, "protocol error");
	proto_case(b_ping_long, 0, 1002, "protocol error");
	proto_case(b_binary, 0, 1003, "binary messages are not supported");
	proto_case(b_bad_utf8, 0, 1007, "invalid utf-8");
	proto_case(b_bad_utf8_split, 0, 1007, "invalid utf-8");
	proto_case(b_too_big, 1000, 1009, "message too big");
	proto_case(b_too_big_fragments, 1000, 1009, "message too big");
}

static void test_close_handshakes(void **st)
{
	tsrv *t = tsrv_default();
	buf b = BUF_INIT;

	/* client first, no code: answered with 1000; on_close hears 1005 */
	client a = cl_open(t);
	cframe(&b, 0x88, "", 0, 1);
	send_buf(&a, &b);
	expect_close(t, &a, 1000, "");
	expect_eof(t, &a);
	DRIVE_UNTIL(t, a.rec->closes == 1);
	assert_int_equal(a.rec->code, 1005);
	cl_close(&a);

	/* client first with a code: echoed */
	a = cl_open(t);
	cframe_close(&b, 4321, "custom");
	send_buf(&a, &b);
	expect_close(t, &a, 4321, "");
	expect_eof(t, &a);
	DRIVE_UNTIL(t, a.rec->closes == 1);
	assert_int_equal(a.rec->code, 4321);
	cl_close(&a);

	/* server first: close frame, then the server waits for the client's
	 * close, then closes the TCP connection */
	a = cl_open(t);
	trec *ra = a.rec;
	cl_send_text(&a, "before");
	expect_frame(t, &a, 0x81, "before", 6);
	assert_int_equal(ws_send_text(ra->c, "queued first", 12), 0);
	ws_close(ra->c, 4000, "bye");
	ws_close(ra->c, 4001, "ignored");   /* no-op while closing */
	assert_int_equal(ws_send_text(ra->c, "too late", 8), -1);
	expect_frame(t, &a, 0x81, "queued first", 12);
	expect_close(t, &a, 4000, "bye");
	/* data the client sent meanwhile is not delivered any more */
	int before = t->nmsgs;
	cl_send_text(&a, "racing");
	cframe(&b, 0x89, "no pong after close", 19, 1);
	send_buf(&a, &b);
	for (int i = 0; i < 5; i++)
		wait_step(t, a.fd);
	assert_int_equal(t->nmsgs, before);
	assert_int_equal(ra->closes, 0);
	cframe_close(&b, 4000, "");
	send_buf(&a, &b);
	expect_eof(t, &a);
	DRIVE_UNTIL(t, ra->closes == 1);
	assert_int_equal(ra->code, 4000);
	cl_close(&a);

	/* peer drops the connection: 1006 */
	a = cl_open(t);
	cl_close(&a);
	DRIVE_UNTIL(t, t->recs->closes == 1);
	assert_int_equal(t->recs->code, 1006);

	ws_stats s;
	ws_ctx_stats(t->ws, &s);
	assert_int_equal(s.accepted, 4);
	assert_int_equal(s.open, 0);
	assert_int_equal(s.closed_protocol, 0);
	buf_release(&b);
	tsrv_finish(t);
}

/* Counts complete text frames in cl->in, dropping them; 1 if a close
 * frame was seen (its code in *code). */
static int drain_frames(client *cl, size_t *ntext, int *code)
{
	int b0;
	buf p = BUF_INIT;
	int closed = 0;
	while (sframe_take(&cl->in, &b0, &p)) {
		if (b0 == 0x81) {
			(*ntext)++;
		} else if (b0 == 0x88) {
			*code = (unsigned char)p.data[0] << 8 | (unsigned char)p.data[1];
			assert_memory_equal(p.data + 2, "output limit", 12);
			closed = 1;
		}
	}
	buf_release(&p);
	return closed;
}

static void recv_nowait(client *cl)
{
	char tmp[65536];
	for (;;) {
		ssize_t n = recv(cl->fd, tmp, sizeof tmp, MSG_DONTWAIT);
		if (n <= 0)
			return;
		buf_add(&cl->in, tmp, (size_t)n);
	}
}

static void test_output_limit(void **st)
{
	ws_cfg cfg = {0};
	cfg.max_output_bytes = 64 << 10;
	tsrv *t = tsrv_start(cfg);
	client a = cl_open_with(t, 4096, "", 0);   /* a small window: fills fast */
	client b = cl_open(t);
	trec *ra = a.rec, *rb = b.rec;
	char payload[8000];
	memset(payload, 'q', sizeof payload);
	ws_frame *f = ws_frame_text(payload, sizeof payload);
	size_t sent_a = 0, sent_b = 0, got_b = 0;
	int code = 0;
	int64_t deadline = clock_mono_us() + WAIT_US;
	/* a never reads; b reads everything; the server sends to both */
	for (;;) {
		assert_true(clock_mono_us() < deadline);
		int rc = ws_send(ra->c, f);
		if (rc < 0)
			break;
		sent_a++;
		assert_true(ws_conn_pending_bytes(ra->c) <= cfg.max_output_bytes);
		assert_int_equal(ws_send(rb->c, f), 0);
		sent_b++;
		uv_run(&t->loop, UV_RUN_NOWAIT);
		recv_nowait(&b);
		drain_frames(&b, &got_b, &code);
	}
	ws_stats s;
	ws_ctx_stats(t->ws, &s);
	assert_int_equal(s.closed_output_limit, 1);
	assert_true(sent_a > 8);   /* the kernel took some before the queue grew */
	assert_int_equal(ra->closes, 0);   /* closing: the close frame waits its turn */
	assert_int_equal(ws_send(ra->c, f), -1);
	/* b is unaffected */
	for (int i = 0; i < 10; i++, sent_b++) {
		assert_int_equal(ws_send(rb->c, f), 0);
		uv_run(&t->loop, UV_RUN_NOWAIT);
		recv_nowait(&b);
		drain_frames(&b, &got_b, &code);
	}
	while (got_b < sent_b) {
		cl_recv(t, &b, b.in.len + 1);
		drain_frames(&b, &got_b, &code);
	}
	assert_int_equal(code, 0);
	assert_int_equal(rb->closes, 0);
	/* a reads at last: some of its frames (not all: the unsent were
	 * dropped), then the close frame with 1008 */
	size_t got_a = 0;
	while (!drain_frames(&a, &got_a, &code))
		assert_int_equal(cl_recv(t, &a, a.in.len + 1), 0);
	assert_int_equal(code, 1008);
	assert_true(got_a < sent_a);
	close(a.fd);
	DRIVE_UNTIL(t, ra->closes == 1);
	assert_int_equal(ra->code, 1008);
	assert_int_equal(ws_send(rb->c, f), 0);
	ws_frame_unref(f);
	buf_release(&a.in);
	cl_close(&b);
	tsrv_finish(t);
}

static void test_shared_frame(void **st)
{
	enum { N = 100, F = 3 };
	tsrv *t = tsrv_default();
	client *cl = xcalloc(N, sizeof *cl);
	for (int i = 0; i < N; i++)
		cl[i] = cl_open(t);
	ws_frame *f[F];
	for (int k = 0; k < F; k++) {
		char m[32];
		int n = snprintf(m, sizeof m, "event %d", k);
		f[k] = ws_frame_text(m, (size_t)n);
	}
	ws_stats before, after;
	ws_ctx_stats(t->ws, &before);
	for (int k = 0; k < F; k++) {
		for (int i = 0; i < N; i++)
			assert_int_equal(ws_send(cl[i].rec->c, f[k]), 0);
		assert_int_equal(f[k]->refs, 1 + N);
	}
	/* one loop turn: every connection gets one write carrying all three
	 * frames, and the frames are released in the same turn */
	uv_run(&t->loop, UV_RUN_NOWAIT);
	ws_ctx_stats(t->ws, &after);
	assert_int_equal(after.writes - before.writes, N);
	assert_int_equal(after.frames_out - before.frames_out, N * F);
	assert_int_equal(after.bytes_out - before.bytes_out, (uint64_t)N * F * (2 + 7));
	for (int k = 0; k < F; k++)
		assert_int_equal(f[k]->refs, 1);
	for (int i = 0; i < N; i++) {
		expect_frame(t, &cl[i], 0x81, "event 0", 7);
		expect_frame(t, &cl[i], 0x81, "event 1", 7);
		expect_frame(t, &cl[i], 0x81, "event 2", 7);
		assert_int_equal(ws_conn_pending_bytes(cl[i].rec->c), 0);
	}
	/* nothing queued: a turn writes nothing */
	uv_run(&t->loop, UV_RUN_NOWAIT);
	ws_ctx_stats(t->ws, &before);
	assert_int_equal(before.writes, after.writes);
	for (int k = 0; k < F; k++)
		ws_frame_unref(f[k]);
	for (int i = 0; i < N; i++)
		cl_close(&cl[i]);
	free(cl);
	tsrv_finish(t);
}

/* Frames with spliced blobs (ws_frame_text_parts) leave as their
 * bytes in order, mixed with plain frames, also when the socket takes a
 * batch only in part (a small receive window: the rest goes by uv_write
 * from the middle of a frame); the blob is released once all are out. */
static void test_spliced_frames(void **st)
{
	enum { M = 2400, BLOB = 5000 };   /* ~8 MB: more than the kernel takes at once */
	ws_cfg cfg = {0};
	cfg.max_output_bytes = 32 << 20;
	tsrv *t = tsrv_start(cfg);
	client a = cl_open_with(t, 4096, "", 0);
	char *big = xmalloc(BLOB);
	for (int i = 0; i < BLOB; i++)
		big[i] = (char)('a' + i % 26);
	ws_blob *blob = ws_blob_new(big, BLOB), *small = ws_blob_new("<s>", 3);
	for (int k = 0; k < M; k++) {
		char h[32], tl[32];
		int hn = snprintf(h, sizeof h, "head %d|", k), tn = snprintf(tl, sizeof tl, "|tail %d", k);
		ws_frame *f;
		if (k % 3 == 2) {
			f = ws_frame_text(h, (size_t)hn);   /* a plain one between */
		} else {
			/* two blobs (the second one twice would be three: one
			 * only), an empty byte part between them */
			const ws_part parts[] = {{h, (size_t)hn, NULL}, {NULL, 0, blob}, {"", 0, NULL},
						 {NULL, 0, small}, {tl, (size_t)tn, NULL}};
			f = ws_frame_text_parts(parts, 5);
			assert_int_equal(f->len, 4 + hn + BLOB + 3 + tn);
		}
		assert_int_equal(ws_send(a.rec->c, f), 0);
		ws_frame_unref(f);
	}
	assert_int_equal(blob->refs, 1 + (M - M / 3));
	assert_int_equal(small->refs, 1 + (M - M / 3));
	uv_run(&t->loop, UV_RUN_NOWAIT);
	assert_true(ws_conn_pending_bytes(a.rec->c) > 0);   /* taken only in part */
	for (int k = 0; k < M; k++) {
		char want[BLOB + 64];
		int n = snprintf(want, sizeof want, "head %d|", k);
		if (k % 3 != 2) {
			memcpy(want + n, big, BLOB);
			n += BLOB;
			memcpy(want + n, "<s>", 3);
			n += 3;
			n += snprintf(want + n, sizeof want - (size_t)n, "|tail %d", k);
		}
		expect_frame(t, &a, 0x81, want, (size_t)n);
	}
	DRIVE_UNTIL(t, ws_conn_pending_bytes(a.rec->c) == 0);
	assert_int_equal(blob->refs, 1);
	assert_int_equal(small->refs, 1);
	ws_blob_unref(blob);
	ws_blob_unref(small);
	free(big);
	cl_close(&a);
	tsrv_finish(t);
}

/* ws_ctx_set_hold: a flush to many sockets waits for the writes that were
 * in flight when it was due, then leaves with their events in the same
 * write; with nothing in flight it leaves at once; and a write that never
 * completes holds it only until the bound (WS_HOLD_MAX_MS). */
static uint64_t hold_sub, hold_done;
static int hold_calls;

static void hold_counts(void *ud, uint64_t *submitted, uint64_t *delivered)
{
	assert_ptr_equal(ud, &hold_sub);
	hold_calls++;
	*submitted = hold_sub;
	*delivered = hold_done;
}

static void test_fanout_hold(void **st)
{
	enum { N = 300 };   /* above WS_COALESCE_SOCKETS (256) */
	tsrv *t = tsrv_default();
	client *cl = xcalloc(N, sizeof *cl);
	for (int i = 0; i < N; i++)
		cl[i] = cl_open(t);
	ws_ctx_set_hold(t->ws, hold_counts, &hold_sub);
	hold_sub = 5, hold_done = 4;   /* one write in flight */
	ws_frame *a = ws_frame_text("a", 1), *b = ws_frame_text("b", 1), *c = ws_frame_text("c", 1);
	ws_stats s0, s1;

	ws_ctx_stats(t->ws, &s0);
	for (int i = 0; i < N; i++)
		assert_int_equal(ws_send(cl[i].rec->c, a), 0);
	uv_run(&t->loop, UV_RUN_NOWAIT);
	uv_run(&t->loop, UV_RUN_NOWAIT);
	ws_ctx_stats(t->ws, &s1);
	assert_int_equal(s1.writes, s0.writes);   /* held */
	assert_true(hold_calls > 0);
	/* the write in flight completes and its event is sent: one write per
	 * socket carries both frames */
	for (int i = 0; i < N; i++)
		assert_int_equal(ws_send(cl[i].rec->c, b), 0);
	hold_done = 5;
	uv_run(&t->loop, UV_RUN_NOWAIT);
	ws_ctx_stats(t->ws, &s1);
	assert_int_equal(s1.writes - s0.writes, N);
	assert_int_equal(s1.frames_out - s0.frames_out, 2 * N);
	for (int i = 0; i < N; i++) {
		expect_frame(t, &cl[i], 0x81, "a", 1);
		expect_frame(t, &cl[i], 0x81, "b", 1);
	}

	/* nothing in flight: no wait */
	ws_ctx_stats(t->ws, &s0);
	for (int i = 0; i < N; i++)
		assert_int_equal(ws_send(cl[i].rec->c, c), 0);
	uv_run(&t->loop, UV_RUN_NOWAIT);
	ws_ctx_stats(t->ws, &s1);
	assert_int_equal(s1.writes - s0.writes, N);
	for (int i = 0; i < N; i++)
		expect_frame(t, &cl[i], 0x81, "c", 1);

	/* a write that stays in flight: the flush still leaves, by the timer */
	hold_sub = 6;
	ws_ctx_stats(t->ws, &s0);
	for (int i = 0; i < N; i++)
		assert_int_equal(ws_send(cl[i].rec->c, a), 0);
	uv_run(&t->loop, UV_RUN_NOWAIT);
	ws_ctx_stats(t->ws, &s1);
	assert_int_equal(s1.writes, s0.writes);
	for (int turns = 0; turns < 1000 && s1.writes == s0.writes; turns++) {
		uv_run(&t->loop, UV_RUN_ONCE);
		ws_ctx_stats(t->ws, &s1);
	}
	assert_int_equal(s1.writes - s0.writes, N);
	for (int i = 0; i < N; i++)
		expect_frame(t, &cl[i], 0x81, "a", 1);

	ws_frame_unref(a);
	ws_frame_unref(b);
	ws_frame_unref(c);
	for (int i = 0; i < N; i++)
		cl_close(&cl[i]);
	free(cl);
	tsrv_finish(t);
}

static void test_keepalive(void **st)
{
	ws_cfg cfg = {0};
	cfg.ping_interval_ms = 40;
	cfg.dead_after_ms = 300;
	tsrv *t = tsrv_start(cfg);
	client a = cl_open(t);
	/* silent: a ping; answered, so the connection lives on */
	expect_frame(t, &a, 0x89, "", 0);
	buf b = BUF_INIT;
	cframe(&b, 0x8A, "", 0, 1);
	send_buf(&a, &b);
	/* silent again: a ping every interval (socket-mode 1.x clients need
	 * them even when they are chatty), then the close */
	int64_t t0 = clock_mono_us();
	int b0 = 0, pings = 0;
	buf p = BUF_INIT;
	for (;;) {
		assert_true(cl_frame(t, &a, &b0, &p));
		if (b0 != 0x89)
			break;
		pings++;
	}
	assert_int_equal(b0, 0x88);
	assert_true(pings >= 2);
	assert_int_equal(((unsigned char)p.data[0] << 8) | (unsigned char)p.data[1], 1001);
	buf_release(&p);
	assert_true(clock_mono_us() - t0 > 150 * 1000);
	ws_stats s;
	ws_ctx_stats(t->ws, &s);
	assert_int_equal(s.closed_dead, 1);
	cl_close(&a);
	DRIVE_UNTIL(t, t->recs->closes == 1);
	assert_int_equal(t->recs->code, 1006);
	buf_release(&b);
	tsrv_finish(t);
}

/* A chatty client (a ping every 10 ms) still gets the server's pings on
 * schedule: their absence is what makes socket-mode 1.x reconnect. */
static void test_keepalive_chatty(void **st)
{
	ws_cfg cfg = {0};
	cfg.ping_interval_ms = 40;
	cfg.dead_after_ms = 5000;
	tsrv *t = tsrv_start(cfg);
	client a = cl_open(t);
	buf b = BUF_INIT;
	int got_ping = 0;
	int64_t deadline = clock_mono_us() + 2000 * 1000;
	while (!got_ping && clock_mono_us() < deadline) {
		buf_reset(&b);
		cframe(&b, 0x89, "c", 1, 1);
		send_buf(&a, &b);
		int b0 = 0;
		buf p = BUF_INIT;
		assert_true(cl_frame(t, &a, &b0, &p));
		if (b0 == 0x89)
			got_ping = 1;
		else
			assert_int_equal(b0, 0x8A); /* our ping's pong */
		buf_release(&p);
	}
	assert_true(got_ping);
	buf_release(&b);
	cl_close(&a);
	DRIVE_UNTIL(t, t->recs->closes == 1);
	tsrv_finish(t);
}

static void test_close_timeout(void **st)
{
	/* A client that never answers our close is cut off after the close
	 * wait (2 s), found by the ctx timer. */
	tsrv *t = tsrv_default();
	client a = cl_open(t);
	ws_close(a.rec->c, 1000, "");
	expect_close(t, &a, 1000, "");
	int64_t t0 = clock_mono_us();
	expect_eof(t, &a);
	assert_true(clock_mono_us() - t0 > 1500 * 1000);
	DRIVE_UNTIL(t, a.rec->closes == 1);
	assert_int_equal(a.rec->code, 1000);
	cl_close(&a);
	tsrv_finish(t);
}

static void test_shutdown(void **st)
{
	tsrv *t = tsrv_default();
	client c[3];
	for (int i = 0; i < 3; i++)
		c[i] = cl_open(t);
	ws_ctx_shutdown(t->ws, ws_done_cb, t);
	for (int i = 0; i < 3; i++)
		expect_close(t, &c[i], 1001, "going away");
	/* no new connections meanwhile */
	expect_refused(t, upgrade_req, "HTTP/1.1 503 ", NULL);
	buf b = BUF_INIT;
	cframe_close(&b, 1001, "");
	send_buf(&c[0], &b);
	expect_eof(t, &c[0]);
	cl_close(&c[1]);        /* just goes */
	cframe_close(&b, 1000, "");
	send_buf(&c[2], &b);
	DRIVE_UNTIL(t, t->ws_done);
	for (trec *r = t->recs; r; r = r->next) {
		assert_int_equal(r->closes, 1);
		assert_int_equal(r->code, 1001);
	}
	cl_close(&c[0]);
	cl_close(&c[2]);
	buf_release(&b);
	tsrv_finish(t);
}

static void test_idle_memory(void **st)
{
#if defined(__SANITIZE_ADDRESS__)
	skip();   /* ASan's allocator: mallinfo2 means nothing there */
#endif
	enum { N = 1000 };
	tsrv *t = tsrv_default();
	t->no_rec = 1;
	int *fds = xcalloc(N + 1, sizeof *fds);
	/* one first, so lazily made shared state (arrays, caches) exists */
	client w = cl_open(t);
	fds[N] = w.fd;
	buf_release(&w.in);
	for (int i = 0; i < 20; i++)
		wait_step(t, -1);
	struct mallinfo2 m0 = mallinfo2();
	for (int i = 0; i < N; i++) {
		client c = cl_open(t);
		fds[i] = c.fd;
		buf_release(&c.in);
	}
	/* the HTTP layer frees its part of each connection a turn or two
	 * after the detach */
	http_stats hs;
	http_server_stats(t->srv, &hs);
	assert_int_equal(hs.connections_open, 0);
	for (int i = 0; i < 20; i++)
		wait_step(t, -1);
	struct mallinfo2 m1 = mallinfo2();
	ws_stats s;
	ws_ctx_stats(t->ws, &s);
	assert_int_equal(s.open, N + 1);
	if (m0.uordblks || m1.uordblks) {
		size_t per = (m1.uordblks - m0.uordblks) / N;
		print_message("ws: %zu bytes of heap per idle connection (%d connections)\n", per, N);
		assert_true(per < 1024);
	}
	for (int i = 0; i <= N; i++)
		close(fds[i]);
	DRIVE_UNTIL(t, (ws_ctx_stats(t->ws, &s), s.open == 0));
	free(fds);
	tsrv_finish(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_frame_encoding),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_parser_messages),
		cmocka_unit_test(test_parser_errors),
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_leftover),
		cmocka_unit_test(test_handshake_refused),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_close_handshakes),
		cmocka_unit_test(test_output_limit),
		cmocka_unit_test(test_shared_frame),
		cmocka_unit_test(test_spliced_frames),
		cmocka_unit_test(test_fanout_hold),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_keepalive_chatty),
		cmocka_unit_test(test_close_timeout),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_idle_memory),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
