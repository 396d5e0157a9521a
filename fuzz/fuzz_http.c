/* libFuzzer harness for the HTTP request glue of src/net/http.c: the
 * http-parser callbacks, request building (target split, percent-decoded
 * path, headers), limits (431/413/400/505), chunked bodies, 100-continue,
 * pipelining and keep-alive, answers given inside and outside the
 * callback, the socket hand-over used by WebSocket upgrades, and static
 * files (ETag, Range, HEAD) for the requests that ask for one.
 *
 * How: the real server code on a private libuv loop, fed through a
 * socketpair. One end is wrapped with uv_tcp_open and handed to the server
 * with http__conn_adopt, the same function the listener calls after
 * uv_accept, so the connection state machine is the production one; the
 * harness writes the other end itself and so decides exactly how the bytes
 * are cut into reads (a read on a unix socketpair returns what one write
 * put in). Nothing is mocked.
 *
 * Input: byte 0 picks the limits (header and body bytes) and whether
 * answers are given inside the request callback or later from the harness;
 * byte 1 the chunking; the rest is what a client sends. The stream is sent
 * twice on two connections, once in one write and once in pieces, and both
 * runs must deliver the same requests (method, target, path, query,
 * headers, body) and get the same sequence of status codes back: the
 * result must not depend on how TCP cut the bytes. Each input gets its own
 * server, which is stopped at the end; its done callback must fire, so
 * every connection and request the input created was freed (LeakSanitizer
 * checks the rest).
 *
 * The handler answers by path: /f* serves a small file (Range, ETag,
 * If-None-Match, HEAD all reach http_file.c), /ws* takes the socket away
 * as the WebSocket layer does, /s?NNN answers with status NNN (bodyless
 * ones included, out-of-range ones clamped), anything else 200 with a
 * small body and an extra header. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "net/http.h"

#define MAX_DEFERRED 4096

typedef struct harness {
	uv_loop_t loop;
	char file[64];           /* the static file /f* serves */
	char dir[64];
	int defer;               /* answer outside the callback */
	http_req *deferred[MAX_DEFERRED];
	size_t ndeferred;
	buf *log;                /* requests delivered in the current run */
	int done;                /* the server's stop callback ran */
	int progress;            /* something happened in this pump step */
} harness;

static harness H;

static void close_free_cb(uv_handle_t *h)
{
	free(h);
}

static void answer(http_req *r)
{
	if (strncmp(r->path, "/f", 2) == 0) {
		http_respond_file(r, H.file);
	} else if (strncmp(r->path, "/ws", 3) == 0) {
		char *left;
		size_t n;
		uv_tcp_t *t = http_req_detach_socket(r, &left, &n);
		/* The leftover depends on how much had arrived: not logged. */
		free(left);
		if (t)
			uv_close((uv_handle_t *)t, close_free_cb);
	} else if (strcmp(r->path, "/s") == 0) {
		int status = atoi(r->query);
		http_respond(r, status, "text/plain", "X-Fuzz: 1", "status\n", 7);
	} else {
		http_respond(r, 200, "text/plain", "X-Fuzz: 1\r\n", "ok\n", 3);
	}
}

static void on_request(http_req *r, void *ud)
{
	(void)ud;
	buf *l = H.log;
	buf_printf(l, "REQ %s|%s|%s|%s|%zu\n", r->method, r->url, r->path, r->query, r->nheaders);
	for (size_t i = 0; i < r->nheaders; i++)
		buf_printf(l, "H %s: %s\n", r->headers[i].name, r->headers[i].value);
	if (r->body[r->body_len] != '\0')
		abort();        /* bodies are C strings */
	buf_printf(l, "B %zu ", r->body_len);
	buf_add(l, r->body, r->body_len);
	buf_addc(l, '\n');
	H.progress = 1;
	/* Upgrades are always answered at once, as the WebSocket layer does. */
	if (H.defer && strncmp(r->path, "/ws", 3) != 0 && H.ndeferred < MAX_DEFERRED) {
		H.deferred[H.ndeferred++] = r;
		return;
	}
	answer(r);
}

static int answer_deferred(void)
{
	int any = H.ndeferred > 0;
	/* Answers may make the server deliver the next pipelined request,
	 * which appends to the list: take them one at a time from the front. */
	while (H.ndeferred) {
		http_req *r = H.deferred[0];
		memmove(H.deferred, H.deferred + 1, --H.ndeferred * sizeof *H.deferred);
		answer(r);
	}
	return any;
}

/* Reads what the server sent; records status codes of response heads. */
static int drain(int fd, buf *got, int *eof)
{
	char b[65536];
	int any = 0;
	for (;;) {
		ssize_t n = read(fd, b, sizeof b);
		if (n > 0) {
			buf_add(got, b, (size_t)n);
			any = 1;
			continue;
		}
		if (n == 0)
			*eof = 1;
		break;
	}
	return any;
}

/* Runs the loop without blocking until nothing moves any more. */
static void pump(int cfd, buf *got, int *eof)
{
	int quiet = 0;
	for (int i = 0; i < 100000; i++) {
		H.progress = 0;
		uv_run(&H.loop, UV_RUN_NOWAIT);
		int moved = H.progress;
		if (cfd >= 0)
			moved |= drain(cfd, got, eof);
		moved |= answer_deferred();
		if (moved)
			quiet = 0;
		else if (++quiet >= 4)
			return;
	}
	fprintf(stderr, "fuzz_http: the loop never settles\n");
	abort();
}

/* Status codes of every response head in the bytes received: our bodies
 * and the served file never contain "HTTP/1.1 ". The server's own error
 * answers 400, 413 and 431 count as one: a request that is both malformed
 * and over a limit gets whichever the parser reports first, and http-parser
 * hands header and body bytes to the callbacks per read, so that order
 * (not whether the request is refused) depends on the cuts. */
static void statuses(const buf *got, buf *out)
{
	if (!got->len)
		return;
	const char *p = got->data, *end = got->data + got->len;
	while (p < end) {
		const char *h = memmem(p, (size_t)(end - p), "HTTP/1.1 ", 9);
		if (!h)
			break;
		size_t n = h + 12 <= end ? 3 : (size_t)(end - h - 9);
		if (n == 3 && (!memcmp(h + 9, "400", 3) || !memcmp(h + 9, "413", 3) ||
			       !memcmp(h + 9, "431", 3)))
			buf_adds(out, "4xx");
		else
			buf_add(out, h + 9, n);
		buf_addc(out, ' ');
		p = h + 9;
	}
}

static void feed(http_server *srv, const uint8_t *data, size_t size, const uint8_t *cuts,
		 size_t ncuts, buf *log, buf *codes)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	/* Room for a whole input in one write (and for answers to pile up). */
	int sz = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	uv_tcp_t *t = malloc(sizeof *t);
	if (!t || uv_tcp_init(&H.loop, t) != 0 || uv_tcp_open(t, sv[0]) != 0)
		abort();
	http__conn_adopt(srv, t);
	H.log = log;
	buf got = BUF_INIT;
	int eof = 0;
	size_t off = 0, ci = 0;
	while (off < size && !eof) {
		size_t piece = ncuts ? (size_t)cuts[ci++ % ncuts] % 97 + 1 : size;
		if (piece > size - off)
			piece = size - off;
		ssize_t w = write(sv[1], data + off, piece);
		if (w < 0) {
			if (errno != EAGAIN)
				break;  /* the server closed: the rest is never read */
			w = 0;
		}
		off += (size_t)w;
		pump(sv[1], &got, &eof);
	}
	shutdown(sv[1], SHUT_WR);
	pump(sv[1], &got, &eof);
	close(sv[1]);
	pump(-1, NULL, NULL);
	statuses(&got, codes);
	buf_release(&got);
}

static int buf_eq(const buf *a, const buf *b)
{
	return a->len == b->len && (!a->len || memcmp(a->data, b->data, a->len) == 0);
}

static void stopped_cb(void *ud)
{
	(void)ud;
	H.done = 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	uv_loop_init(&H.loop);
	snprintf(H.dir, sizeof H.dir, "/tmp/canal-fuzz-http-XXXXXX");
	if (!mkdtemp(H.dir))
		abort();
	snprintf(H.file, sizeof H.file, "%s/f.txt", H.dir);
	FILE *f = fopen(H.file, "w");
	if (!f)
		abort();
	for (int i = 0; i < 1000; i++)
		fputc('a' + i % 26, f);
	fclose(f);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static const size_t heads[] = {16384, 64, 300, 2048};
	static const size_t bodies[] = {0, 1, 20, 1000};
	if (size < 2)
		return 0;
	http_cfg cfg = {.host = "127.0.0.1", .port = 0,
			.max_header_bytes = heads[in[0] & 3], .max_body_bytes = bodies[(in[0] >> 2) & 3]};
	H.defer = (in[0] >> 4) & 1;
	uint8_t cuts[4] = {in[1], (uint8_t)(in[1] * 7 + 3), (uint8_t)(in[1] >> 3), (uint8_t)(in[1] ^ 0x5A)};
	in += 2;
	size -= 2;
	char err[256];
	http_server *srv = http_server_new(&H.loop, &cfg, on_request, NULL, err, sizeof err);
	if (!srv) {
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	buf wlog = BUF_INIT, slog = BUF_INIT, wcodes = BUF_INIT, scodes = BUF_INIT;
	feed(srv, in, size, NULL, 0, &wlog, &wcodes);
	feed(srv, in, size, cuts, 4, &slog, &scodes);
	if (!buf_eq(&wlog, &slog)) {
		fprintf(stderr, "requests differ between whole and chunked input:\n--- whole\n%s--- chunked\n%s",
			wlog.data ? wlog.data : "", slog.data ? slog.data : "");
		abort();
	}
	if (!buf_eq(&wcodes, &scodes)) {
		fprintf(stderr, "answers differ between whole and chunked input: [%s] vs [%s]\n",
			wcodes.data ? wcodes.data : "", scodes.data ? scodes.data : "");
		abort();
	}
	H.done = 0;
	http_server_stop(srv, stopped_cb, NULL);
	pump(-1, NULL, NULL);
	if (!H.done) {
		fprintf(stderr, "fuzz_http: the server kept a connection after the input\n");
		abort();
	}
	http_server_free(srv);
	buf_release(&wlog);
	buf_release(&slog);
	buf_release(&wcodes);
	buf_release(&scodes);
	return 0;
}
