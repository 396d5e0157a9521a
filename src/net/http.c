/* HTTP/1.1 server: listener, connections, http-parser glue, response
 * framing, keep-alive, timeouts, limits, stop/drain.
 *
 * Design note
 *
 * Purpose. Turn bytes on accepted sockets into http_req values for one
 * handler callback, and the handler's answers back into bytes, on the one
 * libuv loop, never blocking on the network.
 *
 * Connection states (conn_state) and the function for each transition:
 *
 *            conn_new
 *               |
 *               v            conn_deliver
 *   +------> READING ----------------------------> PENDING
 *   |           |  (complete request parsed)          |
 *   |           |                                     | http_respond*,
 *   |           | conn_fail (400/408/413/431)         | http__stream_end
 *   |           | or EOF with output queued           v
 *   |           +------------------------------> conn_response_done
 *   |           |                                  |        |
 *   +-----------|------ keep-alive (conn_resume) --+        | close wanted
 *               |                                           v
 *               |                                  LINGER (conn_linger):
 *               |                                  flush, FIN, discard input
 *               |                                           |
 *               |  idle timeout, EOF, error                 | peer EOF, linger
 *               v                                           v timeout, error
 *            CLOSED (conn_close: uv_close on socket and timer) <-+
 *               |
 *               v   both close callbacks ran and no request or write holds it
 *            conn_free
 *
 *   PENDING --http_req_detach_socket--> DETACHED (socket handed away; the
 *   struct lives on only until its timer closes and its writes finish).
 *
 * Invariants.
 *  1. At most one request per connection exists outside the parser: while
 *     one is PENDING the socket is not read and the parser is not run, so
 *     pipelined answers leave in order (http.h rule 2). Bytes of the next
 *     requests wait in c->in and are parsed as soon as the answer is queued,
 *     without waiting for new network input.
 *  2. A connection is freed only by conn_unref reaching zero. References:
 *     one for its libuv handles (dropped when the last close callback ran),
 *     one per pending request, one per uv_write in flight, one while on the
 *     server's resume list, one while conn_process runs. So nothing is freed
 *     inside its own callback, and a request outlives its socket (rule 3).
 *  3. The handler is never called from inside http_parser_execute: the
 *     parser pauses in on_message_complete and conn_process delivers the
 *     request once execute has returned. An answer given outside
 *     conn_process schedules further parsing on the server's idle handle
 *     rather than recursing into the handler from http_respond.
 *  4. Every buffer is bounded: c->in by one read plus a partial request head
 *     (max_header_bytes) because bodies move into c->body as they arrive;
 *     c->body by max_body_bytes; output by HTTP_WQ_HIGH, past which the
 *     connection stops parsing pipelined requests until the peer reads.
 *     A streamed body (http.h, sink_cb) never enters c->body: each piece
 *     goes to the sink as http-parser hands it over, so its size is bounded
 *     only by the sink's max_bytes, its memory by one read.
 *  5. The idle timer always runs while the socket is ours; when it fires it
 *     computes the deadline of the current state (conn_deadline) and either
 *     re-arms or acts, so activity only has to update c->last_active.
 *  6. A request with a sink is told its fate exactly once: delivered
 *     (req_impl.delivered, the handler owns the ctx) or, from req_free,
 *     aborted: parse error, timeout, 413, EOF or server stop all end in
 *     req_free of the building or ready request.
 */
#include "net/http.h"

#include <ctype.h>
#include <http_parser.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "base/xalloc.h"

#define HTTP_READ_BUF       65536
#define HTTP_WQ_HIGH        (1u << 20)   /* unsent bytes past which parsing pauses */
#define HTTP_WQ_LOW         (256u << 10) /* and resumes below this */
#define HTTP_LINGER_MS      2000         /* wait for the peer's FIN at most this long */
#define HTTP_REFUSING_MAX   256          /* 503 answers in flight before we just drop */
#define HTTP_DEFAULT_BODY   (10u << 20)
#define HTTP_DEFAULT_HEAD   (16u << 10)
#define HTTP_DEFAULT_IDLE   60000
#define HTTP_DEFAULT_CONNS  10000
#define HTTP_DEFAULT_PER_IP 256

typedef enum {
	CONN_READING,   /* parsing; no request pending */
	CONN_PENDING,   /* one request delivered, not answered yet */
	CONN_LINGER,    /* last answer queued; then FIN, discard input until EOF */
	CONN_CLOSED,    /* uv_close called */
	CONN_DETACHED,  /* socket handed to another layer */
} conn_state;

typedef enum { PHASE_IDLE, PHASE_HEADERS, PHASE_BODY } conn_phase;
typedef enum { PIECE_NONE, PIECE_URL, PIECE_NAME, PIECE_VALUE } conn_piece;

typedef struct http_conn http_conn;

/* The public request plus the single allocation its strings live in. */
typedef struct req_impl {
	http_req pub;
	char *block;    /* url, header names and values, path, query */
	http_body_sink sink;   /* sink.write != NULL: the body is streamed */
	unsigned delivered : 1; /* handed to the handler: it owns sink.ctx */
} req_impl;

typedef struct http_wreq {
	uv_write_t w;
	http_conn *c;
	char *head;     /* freed after the write */
	char *body;     /* freed after the write */
	http__chunk_cb cb;
	http_req *r;
	void *ud;
} http_wreq;

struct http_conn {
	http_server *srv;
	uv_tcp_t *tcp;              /* heap, so http_req_detach_socket can hand it away */
	uv_timer_t timer;
	uv_shutdown_t shutdown;
	http_parser parser;
	conn_state state;
	int refs;
	int handles;                /* of tcp and timer, not yet closed */
	int writes;                 /* uv_write requests in flight */
	unsigned reading : 1;
	unsigned in_process : 1;    /* conn_process is on the stack */
	unsigned throttled : 1;     /* READING but waiting for output to drain */
	unsigned on_resume : 1;
	unsigned shut : 1;          /* uv_shutdown issued */
	unsigned shut_done : 1;
	unsigned peer_eof : 1;
	unsigned counted : 1;       /* in stats.connections_open */
	unsigned refusing : 1;      /* accepted past max_connections, answering 503 */
	unsigned ip_counted : 1;    /* in the server's per_ip count */
	buf in;                     /* received, not yet parsed: in.data[in_off..] */
	size_t in_off;

	/* The request being parsed. */
	conn_phase phase;
	conn_piece piece;
	buf block;                  /* url\0 name\0 value\0 ... */
	size_t *hoff;               /* 2 per header: name and value offsets in block */
	size_t nhdr, hoff_cap;
	size_t head_bytes;
	buf body;
	uint64_t body_seen;         /* body bytes of this request so far (buffered or streamed) */
	int err_status;             /* why a parser callback failed */
	int64_t msg_start_us;
	http_req *building;         /* head complete, body arriving */
	http_req *ready;            /* complete, to be delivered */

	/* The request delivered to the handler (or, between on_headers_complete
	 * and delivery, the one being parsed: only one exists, invariant 1). */
	http_req *req;
	unsigned req_keep_alive : 1;
	unsigned req_head : 1;
	unsigned req_upgrade : 1;
	unsigned req_http10 : 1;
	unsigned resp_close : 1;
	unsigned streaming : 1;
	uint64_t stream_left;

	uint64_t msg_start, last_active, linger_start;   /* uv_now() ms */
	char remote_ip[64];
	http_conn *prev, *next;     /* server's list of all conns */
	http_conn *resume_next;
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_idle_t idle;             /* resumes parsing; finishes stop */
	http_cfg cfg;
	http_request_cb cb;
	void *ud;
	http_stats stats;
	int port;
	size_t nconns;              /* conn structs alive, closed ones included */
	size_t nrefusing;
	int stopping, listener_closed, done_called;
	void (*done)(void *ud);
	void *done_ud;
	http_conn *conns;
	map per_ip;                 /* remote address -> open counted connections (uintptr_t) */
	http_conn *resume_head, *resume_tail;
	int64_t date_sec;
	char date[64];
	char rbuf[HTTP_READ_BUF];   /* every read lands here, then moves to c->in */
};

static void conn_process(http_conn *c);
static void conn_close(http_conn *c);
static void conn_linger(http_conn *c);
static void conn_arm_timer(http_conn *c);
static void srv_check_done(http_server *s);
static void idle_cb(uv_idle_t *h);

/* ---- lifetime ---- */

static void conn_ref(http_conn *c)
{
	c->refs++;
}

static void req_free(http_req *r)
{
	if (!r)
		return;
	req_impl *ri = (req_impl *)r;
	/* http.h streaming rule 3: never delivered, so the sink is told. */
	if (ri->sink.write && !ri->delivered && ri->sink.abort)
		ri->sink.abort(ri->sink.ctx);
	free(ri->block);
	free(r->headers);
	free(r->body);
	free(ri);
}

static void conn_free(http_conn *c)
{
	http_server *s = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	buf_release(&c->in);
	buf_release(&c->block);
	buf_release(&c->body);
	free(c->hoff);
	req_free(c->building);
	req_free(c->ready);
	free(c);
	s->nconns--;
	srv_check_done(s);
}

static void conn_unref(http_conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

static void conn_uncount(http_conn *c)
{
	http_server *s = c->srv;
	if (c->counted)
		s->stats.connections_open--;
	if (c->refusing)
		s->nrefusing--;
	if (c->ip_counted) {
		uintptr_t n = (uintptr_t)map_get(&s->per_ip, c->remote_ip);
		if (n <= 1)
			map_del(&s->per_ip, c->remote_ip);
		else
			map_put(&s->per_ip, c->remote_ip, (void *)(n - 1));
	}
	c->counted = c->refusing = c->ip_counted = 0;
}

/* Counts c against its address; 0 if the address is at its limit. */
static int conn_ip_admit(http_conn *c)
{
	http_server *s = c->srv;
	if (s->cfg.max_connections_per_ip < 0)
		return 1;
	uintptr_t n = (uintptr_t)map_get(&s->per_ip, c->remote_ip);
	if (n >= (uintptr_t)s->cfg.max_connections_per_ip)
		return 0;
	map_put(&s->per_ip, c->remote_ip, (void *)(n + 1));
	c->ip_counted = 1;
	return 1;
}

static void conn_handle_closed(http_conn *c)
{
	if (--c->handles == 0)
		conn_unref(c);
}

static void tcp_close_cb(uv_handle_t *h)
{
	http_conn *c = h->data;
	free(h);
	conn_handle_closed(c);
}

static void timer_close_cb(uv_handle_t *h)
{
	conn_handle_closed(h->data);
}

static void conn_close(http_conn *c)
{
	if (c->state == CONN_CLOSED || c->state == CONN_DETACHED)
		return;
	c->state = CONN_CLOSED;
	c->reading = 0;
	conn_uncount(c);
	uv_close((uv_handle_t *)c->tcp, tcp_close_cb);
	uv_close((uv_handle_t *)&c->timer, timer_close_cb);
}

/* Close without cutting off output still queued. */
static void conn_close_soft(http_conn *c)
{
	if (c->writes)
		conn_linger(c);
	else
		conn_close(c);
}

/* ---- time ---- */

static uint64_t conn_now(const http_conn *c)
{
	return uv_now(c->srv->loop);
}

/* Date header value, formatted once per second. Hand-made rather than
 * strftime so the locale can never change it. */
static const char *srv_date(http_server *s)
{
	int64_t now = clock_now_s();
	if (now != s->date_sec || !s->date[0]) {
		http__fmt_date(now, s->date, sizeof s->date);
		s->date_sec = now;
	}
	return s->date;
}

/* When the current state runs out of time, and whether that earns a 408
 * (a request was partly received) or a silent close. */
static uint64_t conn_deadline(const http_conn *c, int *send_408)
{
	uint64_t idle = (uint64_t)c->srv->cfg.idle_timeout_ms;
	*send_408 = 0;
	switch (c->state) {
	case CONN_LINGER:
		if (!c->shut_done)
			return c->last_active + idle;   /* still flushing */
		return c->linger_start + (idle < HTTP_LINGER_MS ? idle : HTTP_LINGER_MS);
	case CONN_PENDING:
		/* The handler's time is not the client's fault; a client that does
		 * not read what we already queued is. */
		return c->writes ? c->last_active + idle : UINT64_MAX;
	case CONN_READING:
		if (c->phase == PHASE_HEADERS) {
			/* Fixed from the first byte: dripping a header slowly must not
			 * keep a connection forever. */
			*send_408 = 1;
			return c->msg_start + idle;
		}
		if (c->phase == PHASE_BODY) {
			/* Fixed from the request's first byte too, extended by
			 * what has arrived at 64 KiB/s: a big upload on a slow
			 * link gets its time, a client dripping a body one byte
			 * at a time does not (slowloris). */
			*send_408 = 1;
			uint64_t earned = c->body_seen / 64;
			uint64_t d = c->msg_start + idle + earned;
			return d < c->last_active + idle ? d : c->last_active + idle;
		}
		return c->last_active + idle;
	default:
		return UINT64_MAX;
	}
}

static void conn_fail(http_conn *c, int status);

static void timer_cb(uv_timer_t *t)
{
	http_conn *c = t->data;
	uint64_t now = conn_now(c);
	int send_408;
	uint64_t d = conn_deadline(c, &send_408);
	if (d == UINT64_MAX)
		d = now + (uint64_t)c->srv->cfg.idle_timeout_ms;   /* look again later */
	if (now < d) {
		uv_timer_start(t, timer_cb, d - now, 0);
		return;
	}
	log_debug("http connection timed out", "ip=%s state=%d", c->remote_ip, (int)c->state);
	if (send_408)
		conn_fail(c, 408);
	else
		conn_close(c);
}

static void conn_arm_timer(http_conn *c)
{
	if (c->state == CONN_CLOSED || c->state == CONN_DETACHED)
		return;
	uint64_t now = conn_now(c);
	int send_408;
	uint64_t d = conn_deadline(c, &send_408);
	if (d == UINT64_MAX)
		d = now + (uint64_t)c->srv->cfg.idle_timeout_ms;
	uv_timer_start(&c->timer, timer_cb, d > now ? d - now : 0, 0);
}

/* ---- output ---- */

static void write_cb(uv_write_t *req, int status);

/* Queues head and body (either may be empty) as one uv_write, taking
 * ownership of both. On failure they are freed, the connection closes and
 * cb is not called. */
static int conn_write(http_conn *c, char *head, size_t hlen, char *body, size_t blen,
		      http__chunk_cb cb, http_req *r, void *ud)
{
	uv_buf_t b[2];
	unsigned nb = 0;
	if (hlen) {
		b[nb].base = head;
		b[nb++].len = hlen;
	}
	if (blen) {
		b[nb].base = body;
		b[nb++].len = blen;
	}
	int rc = UV_EINVAL;
	http_wreq *w = NULL;
	if (nb && (c->state == CONN_READING || c->state == CONN_PENDING || c->state == CONN_LINGER)) {
		w = xcalloc(1, sizeof *w);
		w->c = c;
		w->head = head;
		w->body = body;
		w->cb = cb;
		w->r = r;
		w->ud = ud;
		rc = uv_write(&w->w, (uv_stream_t *)c->tcp, b, nb, write_cb);
	}
	if (rc < 0) {
		free(head);
		free(body);
		free(w);
		if (nb)
			conn_close(c);
		return rc;
	}
	c->writes++;
	conn_ref(c);
	c->last_active = conn_now(c);
	return 0;
}

static void conn_resume(http_conn *c);

static void write_cb(uv_write_t *req, int status)
{
	http_wreq *w = (http_wreq *)req;
	http_conn *c = w->c;
	free(w->head);
	free(w->body);
	c->writes--;
	c->last_active = conn_now(c);
	if (status < 0 && c->state != CONN_CLOSED && c->state != CONN_DETACHED) {
		log_debug("http write failed", "ip=%s err=%s", c->remote_ip, uv_err_name(status));
		conn_close(c);
	}
	if (w->cb)
		w->cb(w->r, status, w->ud);
	if (c->state == CONN_READING && c->throttled && c->tcp->write_queue_size <= HTTP_WQ_LOW)
		conn_resume(c);
	free(w);
	conn_unref(c);
}

/* Status line and headers for the answer to the current request. Returns 1
 * if body bytes follow (not for HEAD, 1xx, 204, 304). */
static void add_u64(buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_add(b, tmp + i, sizeof tmp - i);
}

static int head_build(http_conn *c, buf *h, int status, const char *ctype, const char *extra,
		      uint64_t content_length)
{
	http_server *s = c->srv;
	int bodyless = status < 200 || status == 204 || status == 304;
	c->resp_close = !c->req_keep_alive || c->req_upgrade || s->stopping || c->peer_eof;
	/* Built with buf_adds, not buf_printf: every answer goes through
	 * here, and vsnprintf was 4% of a chat.postMessage. */
	buf_adds(h, "HTTP/1.1 ");
	add_u64(h, (uint64_t)status);
	buf_addc(h, ' ');
	buf_adds(h, http_reason(status));
	buf_adds(h, "\r\nDate: ");
	buf_adds(h, srv_date(s));
	buf_adds(h, "\r\n");
	if (ctype) {
		buf_adds(h, "Content-Type: ");
		buf_adds(h, ctype);
		buf_adds(h, "\r\n");
	}
	if (!bodyless) {
		buf_adds(h, "Content-Length: ");
		add_u64(h, content_length);
		buf_adds(h, "\r\n");
	}
	if (c->resp_close)
		buf_adds(h, "Connection: close\r\n");
	else if (c->req_http10)
		buf_adds(h, "Connection: keep-alive\r\n");
	if (extra && *extra) {
		size_t n = strlen(extra);
		buf_add(h, extra, n);
		if (n < 2 || extra[n - 2] != '\r' || extra[n - 1] != '\n')
			buf_adds(h, "\r\n");
	}
	buf_adds(h, "\r\n");
	return !bodyless && !c->req_head;
}

static void resume_schedule(http_conn *c)
{
	http_server *s = c->srv;
	if (c->on_resume)
		return;
	c->on_resume = 1;
	conn_ref(c);
	c->resume_next = NULL;
	if (s->resume_tail)
		s->resume_tail->resume_next = c;
	else
		s->resume_head = c;
	s->resume_tail = c;
	uv_idle_start(&s->idle, idle_cb);
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	http_conn *c = h->data;
	b->base = c->srv->rbuf;
	b->len = sizeof c->srv->rbuf;
}

static void conn_read_start(http_conn *c)
{
	if (c->reading || c->peer_eof)
		return;
	if (uv_read_start((uv_stream_t *)c->tcp, alloc_cb, read_cb) == 0)
		c->reading = 1;
}

static void conn_read_stop(http_conn *c)
{
	if (!c->reading)
		return;
	uv_read_stop((uv_stream_t *)c->tcp);
	c->reading = 0;
}

/* Back to READING after a keep-alive answer was queued. */
static void conn_resume(http_conn *c)
{
	if (c->tcp->write_queue_size > HTTP_WQ_HIGH) {
		/* The peer pipelines faster than it reads: stop taking requests
		 * until write_cb sees the queue drain. */
		c->throttled = 1;
		conn_read_stop(c);
		return;
	}
	c->throttled = 0;
	if (c->in_process)
		return;         /* the parse loop further up the stack goes on */
	conn_read_start(c);
	if (c->in_off < c->in.len)
		resume_schedule(c);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	http_conn *c = req->data;
	if (c->state != CONN_LINGER)
		return;
	c->shut_done = 1;
	if (status < 0 || c->peer_eof) {
		conn_close(c);
		return;
	}
	c->linger_start = conn_now(c);
	conn_arm_timer(c);
}

/* The last answer is queued: flush it, send FIN, and read (discarding)
 * until the peer closes too. Closing at once could make the kernel answer
 * unread input with RST, which may destroy the answer in flight. */
static void conn_linger(http_conn *c)
{
	if (c->state == CONN_CLOSED || c->state == CONN_DETACHED || c->state == CONN_LINGER)
		return;
	c->state = CONN_LINGER;
	c->throttled = 0;
	if (c->peer_eof && !c->writes) {
		conn_close(c);
		return;
	}
	conn_read_start(c);
	/* uv_shutdown waits for queued writes itself. */
	c->shut = 1;
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)c->tcp, shutdown_cb) < 0) {
		conn_close(c);
		return;
	}
	conn_arm_timer(c);
}

/* The answer to the pending request is queued. */
static void conn_response_done(http_conn *c)
{
	if (c->state != CONN_PENDING)
		return;
	if (c->resp_close || c->srv->stopping || c->peer_eof) {
		conn_linger(c);
		return;
	}
	c->state = CONN_READING;
	c->last_active = conn_now(c);
	conn_resume(c);
}

/* The server answers by itself (400, 408, 413, 431, 505, 503) and closes. */
static void conn_fail(http_conn *c, int status)
{
	if (c->state != CONN_READING)
		return;
	if (status != 503)
		c->srv->stats.bad_requests++;
	c->req_keep_alive = c->req_head = c->req_upgrade = c->req_http10 = 0;
	c->phase = PHASE_IDLE;
	char *body = xasprintf("%s\n", http_reason(status));
	size_t blen = strlen(body);
	buf h = BUF_INIT;
	head_build(c, &h, status, "text/plain; charset=utf-8", NULL, blen);
	size_t hlen;
	char *head = buf_detach(&h, &hlen);
	if (conn_write(c, head, hlen, body, blen, NULL, NULL, NULL) == 0)
		conn_linger(c);
}

static void req_finish(http_conn *c, http_req *r)
{
	if (c->req == r)
		c->req = NULL;
	req_free(r);
	conn_unref(c);
}

/* ---- parser glue ---- */

static int head_grow(http_conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > c->srv->cfg.max_header_bytes) {
		c->err_status = 431;
		return -1;
	}
	return 0;
}

/* Pieces of the url, names and values may arrive split over several
 * callbacks (and reads); a change of kind ends the previous piece. */
static void piece_switch(http_conn *c, conn_piece kind)
{
	if (c->piece == kind)
		return;
	if (c->piece != PIECE_NONE)
		buf_addc(&c->block, '\0');
	if (kind == PIECE_NAME) {
		if (c->nhdr == c->hoff_cap) {
			c->hoff_cap = c->hoff_cap ? c->hoff_cap * 2 : 16;
			c->hoff = xrealloc(c->hoff, c->hoff_cap * 2 * sizeof *c->hoff);
		}
		c->hoff[2 * c->nhdr] = c->block.len;
		c->hoff[2 * c->nhdr + 1] = SIZE_MAX;
		c->nhdr++;
	} else if (kind == PIECE_VALUE) {
		c->hoff[2 * (c->nhdr - 1) + 1] = c->block.len;
	}
	c->piece = kind;
}

static int on_message_begin(http_parser *p)
{
	http_conn *c = p->data;
	c->phase = PHASE_HEADERS;
	c->piece = PIECE_NONE;
	buf_reset(&c->block);
	buf_reset(&c->body);
	c->body_seen = 0;
	c->nhdr = 0;
	c->head_bytes = 0;
	c->err_status = 0;
	c->msg_start = conn_now(c);
	c->msg_start_us = clock_mono_us();
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	http_conn *c = p->data;
	if (head_grow(c, len))
		return -1;
	piece_switch(c, PIECE_URL);
	buf_add(&c->block, at, len);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	http_conn *c = p->data;
	if (c->phase != PHASE_HEADERS)
		return head_grow(c, len);   /* chunked trailers: counted, dropped */
	/* 4 for ": " and CRLF, so the limit is close to the bytes on the wire. */
	if ((c->piece != PIECE_NAME && head_grow(c, 4)) || head_grow(c, len))
		return -1;
	piece_switch(c, PIECE_NAME);
	size_t off = c->block.len;
	buf_add(&c->block, at, len);
	for (size_t i = off; i < c->block.len; i++)
		c->block.data[i] = (char)tolower((unsigned char)c->block.data[i]);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	http_conn *c = p->data;
	if (c->phase != PHASE_HEADERS)
		return head_grow(c, len);
	if (head_grow(c, len))
		return -1;
	piece_switch(c, PIECE_VALUE);
	buf_add(&c->block, at, len);
	return 0;
}

/* Splits the target into path (percent-decoded) and query, appends both to
 * the block and turns the block into an http_req. -1 for a bad target. */
static int req_build(http_conn *c)
{
	http_parser *p = &c->parser;
	if (c->piece != PIECE_NONE)
		buf_addc(&c->block, '\0');
	c->piece = PIECE_NONE;
	if (!c->block.len)
		return -1;
	/* A copy: appending to the block may move it. */
	char *url = xstrdup(c->block.data);
	const char *path = "/", *query = "";
	size_t plen = 1, qlen = 0;
	int rc = -1;
	if (url[0] == '/') {
		path = url;
		plen = strcspn(url, "?#");
		if (url[plen] == '?') {
			query = url + plen + 1;
			qlen = strcspn(query, "#");
		}
	} else if (strcmp(url, "*") == 0) {
		path = "*";
	} else {
		/* absolute-form, "http://host/path?q" */
		struct http_parser_url pu;
		http_parser_url_init(&pu);
		if (http_parser_parse_url(url, strlen(url), 0, &pu) != 0)
			goto out;
		if (pu.field_set & (1 << UF_PATH)) {
			path = url + pu.field_data[UF_PATH].off;
			plen = pu.field_data[UF_PATH].len;
		}
		if (pu.field_set & (1 << UF_QUERY)) {
			query = url + pu.field_data[UF_QUERY].off;
			qlen = pu.field_data[UF_QUERY].len;
		}
	}
	size_t path_off = c->block.len;
	buf_add(&c->block, path, plen);
	buf_addc(&c->block, '\0');
	char *dp = c->block.data + path_off;
	long m = http_url_decode(dp, 0);
	/* A decoded NUL ("%00") would silently cut the path short. */
	if (m < 0 || strlen(dp) != (size_t)m)
		goto out;
	size_t query_off = c->block.len;
	buf_add(&c->block, query, qlen);
	buf_addc(&c->block, '\0');

	req_impl *ri = xcalloc(1, sizeof *ri);
	http_req *r = &ri->pub;
	ri->block = buf_detach(&c->block, NULL);
	r->srv = c->srv;
	r->conn = c;
	r->method = http_method_str((enum http_method)p->method);
	r->url = ri->block;
	r->path = ri->block + path_off;
	r->query = ri->block + query_off;
	r->nheaders = c->nhdr;
	r->headers = xcalloc(c->nhdr ? c->nhdr : 1, sizeof *r->headers);
	for (size_t i = 0; i < c->nhdr; i++) {
		http_header *h = &r->headers[i];
		h->name = ri->block + c->hoff[2 * i];
		if (c->hoff[2 * i + 1] == SIZE_MAX) {
			h->value = h->name + strlen(h->name);   /* "" */
		} else {
			h->value = ri->block + c->hoff[2 * i + 1];
			size_t n = strlen(h->value);
			while (n && (h->value[n - 1] == ' ' || h->value[n - 1] == '\t'))
				h->value[--n] = '\0';
		}
	}
	memcpy(r->remote_ip, c->remote_ip, sizeof r->remote_ip);
	r->start_us = c->msg_start_us;
	c->building = r;
	rc = 0;
out:
	free(url);
	return rc;
}

static int on_headers_complete(http_parser *p)
{
	http_conn *c = p->data;
	http_server *s = c->srv;
	if (p->method == HTTP_CONNECT) {
		/* Not a proxy; and after CONNECT the parser would treat the rest
		 * of the stream as a tunnel. */
		c->err_status = 400;
		return -1;
	}
	if (p->http_major != 1) {
		c->err_status = 505;
		return -1;
	}
	if (req_build(c) < 0) {
		c->err_status = 400;
		return -1;
	}
	int chunked = (p->flags & F_CHUNKED) != 0;
	int has_len = p->content_length != ULLONG_MAX;
	uint64_t max_body = s->cfg.max_body_bytes;
	req_impl *ri = (req_impl *)c->building;
	if (s->cfg.sink_cb && (chunked || (has_len && p->content_length > 0)) &&
	    s->cfg.sink_cb(c->building, &ri->sink, s->cfg.sink_ud) == 1 && ri->sink.write)
		max_body = ri->sink.max_bytes;
	else
		memset(&ri->sink, 0, sizeof ri->sink);
	if (has_len && p->content_length > max_body) {
		c->err_status = 413;   /* before reading a byte of it */
		return -1;
	}
	c->req_keep_alive = http_should_keep_alive(p) != 0;
	c->req_head = p->method == HTTP_HEAD;
	c->req_upgrade = p->upgrade;
	c->req_http10 = p->http_major == 1 && p->http_minor == 0;
	const char *expect = http_req_header(c->building, "expect");
	if (expect && strcasecmp(expect, "100-continue") == 0 && !c->req_http10 &&
	    (chunked || (has_len && p->content_length > 0))) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		conn_write(c, xstrdup(cont), sizeof cont - 1, NULL, 0, NULL, NULL, NULL);
	}
	c->phase = PHASE_BODY;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	http_conn *c = p->data;
	req_impl *ri = (req_impl *)c->building;
	if (ri && ri->sink.write) {
		if (len > ri->sink.max_bytes - c->body_seen) {
			c->err_status = 413;
			return -1;
		}
		c->body_seen += len;
		int st = ri->sink.write(ri->sink.ctx, at, len);
		if (st) {
			c->err_status = st >= 400 && st <= 599 ? st : 500;
			return -1;
		}
		return 0;
	}
	/* Content-Length was checked already; this catches chunked bodies. */
	if (len > c->srv->cfg.max_body_bytes - c->body.len) {
		c->err_status = 413;
		return -1;
	}
	c->body_seen += len;
	buf_add(&c->body, at, len);
	return 0;
}

static int on_message_complete(http_parser *p)
{
	http_conn *c = p->data;
	http_req *r = c->building;
	c->building = NULL;
	if (!r)
		return -1;
	/* buf_detach of a buffer never written to does not NUL-terminate it;
	 * an empty add does, and a body must always be a C string. */
	buf_add(&c->body, "", 0);
	r->body = buf_detach(&c->body, &r->body_len);
	req_impl *ri = (req_impl *)r;
	if (ri->sink.write)
		r->body_ctx = ri->sink.ctx;
	c->ready = r;
	c->phase = PHASE_IDLE;
	/* Stop right after this message: the handler runs outside the parser
	 * and the next pipelined request waits for its answer. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void conn_deliver(http_conn *c)
{
	http_req *r = c->ready;
	c->ready = NULL;
	c->req = r;
	((req_impl *)r)->delivered = 1;
	c->state = CONN_PENDING;
	c->streaming = 0;
	conn_ref(c);            /* held by the request until it is answered */
	conn_read_stop(c);
	c->srv->stats.requests_total++;
	c->srv->cb(r, c->srv->ud);
}

/* Parses buffered input, delivering each complete request in turn, until
 * the input runs out, a request is left pending, or an error answer went
 * out. */
static void conn_process(http_conn *c)
{
	if (c->in_process)
		return;
	c->in_process = 1;
	conn_ref(c);
	while (c->state == CONN_READING && !c->throttled && c->in_off < c->in.len) {
		size_t avail = c->in.len - c->in_off;
		size_t n = http_parser_execute(&c->parser, &parser_settings, c->in.data + c->in_off, avail);
		c->in_off += n;
		if (c->ready) {
			http_parser_pause(&c->parser, 0);
			conn_deliver(c);
			continue;
		}
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		if (e != HPE_OK || n != avail) {
			int status = c->err_status ? c->err_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
			log_debug("http bad request", "ip=%s status=%d err=%s", c->remote_ip, status,
				  http_errno_name(e));
			req_free(c->building);
			c->building = NULL;
			conn_fail(c, status);
			break;
		}
	}
	/* Compact only once the consumed part outweighs the rest, so pipelined
	 * requests answered one by one cost linear, not quadratic, copying. */
	size_t rest = c->in.len - c->in_off;
	if (c->in_off && (rest == 0 || c->in_off >= rest)) {
		if (rest)
			memmove(c->in.data, c->in.data + c->in_off, rest);
		c->in.len = rest;
		c->in_off = 0;
	}
	c->in_process = 0;
	if (c->state == CONN_READING && !c->throttled)
		conn_read_start(c);
	conn_unref(c);
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	http_conn *c = st->data;
	if (n == 0)
		return;
	if (n < 0) {
		c->reading = 0;
		if (n != UV_EOF) {
			log_debug("http read failed", "ip=%s err=%s", c->remote_ip, uv_err_name((int)n));
			conn_close(c);
			return;
		}
		c->peer_eof = 1;
		conn_read_stop(c);
		if (c->state == CONN_READING)
			conn_close_soft(c);   /* a partial request is dropped */
		else if (c->state == CONN_LINGER && (c->shut_done || !c->shut))
			conn_close(c);
		/* PENDING: answered later, then closed (conn_response_done). */
		return;
	}
	if (c->state == CONN_LINGER)
		return;                 /* discarded */
	c->last_active = conn_now(c);
	buf_add(&c->in, b->base, (size_t)n);
	if (c->state == CONN_READING)
		conn_process(c);
}

/* ---- server ---- */

static void idle_close_cb(uv_handle_t *h)
{
	http_server *s = h->data;
	if (s->done)
		s->done(s->done_ud);
}

static void idle_cb(uv_idle_t *h)
{
	http_server *s = h->data;
	http_conn *list = s->resume_head;
	s->resume_head = s->resume_tail = NULL;
	while (list) {
		http_conn *c = list;
		list = c->resume_next;
		c->resume_next = NULL;
		c->on_resume = 0;
		if (c->state == CONN_READING && !c->throttled)
			conn_process(c);
		conn_unref(c);
	}
	if (!s->resume_head)
		uv_idle_stop(h);
	if (s->stopping && s->listener_closed && s->nconns == 0 && !s->done_called) {
		/* Through the idle handle so done never runs inside a call the
		 * user made (http_respond dropping the last connection). */
		s->done_called = 1;
		uv_close((uv_handle_t *)&s->idle, idle_close_cb);
	}
}

static void srv_check_done(http_server *s)
{
	if (s->stopping && s->listener_closed && s->nconns == 0 && !s->done_called)
		uv_idle_start(&s->idle, idle_cb);
}

static void free_handle_cb(uv_handle_t *h)
{
	free(h);
}

static http_conn *conn_new(http_server *s, uv_tcp_t *t)
{
	http_conn *c = xcalloc(1, sizeof *c);
	c->srv = s;
	c->tcp = t;
	t->data = c;
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	c->handles = 2;
	c->refs = 1;            /* the handles' */
	c->state = CONN_READING;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	uv_tcp_nodelay(t, 1);
	struct sockaddr_storage sa;
	int len = sizeof sa;
	if (uv_tcp_getpeername(t, (struct sockaddr *)&sa, &len) == 0) {
		if (sa.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&sa, c->remote_ip, sizeof c->remote_ip);
		else if (sa.ss_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)&sa, c->remote_ip, sizeof c->remote_ip);
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	c->last_active = conn_now(c);
	conn_arm_timer(c);
	return c;
}

static void on_connection(uv_stream_t *ls, int status)
{
	http_server *s = ls->data;
	if (status < 0) {
		log_warn("http accept failed", "err=%s", uv_err_name(status));
		return;
	}
	uv_tcp_t *t = xmalloc(sizeof *t);
	uv_tcp_init(s->loop, t);
	if (uv_accept(ls, (uv_stream_t *)t) < 0) {
		uv_close((uv_handle_t *)t, free_handle_cb);
		return;
	}
	http__conn_adopt(s, t);
}

void http__conn_adopt(http_server *s, uv_tcp_t *t)
{
	int refuse = s->stats.connections_open >= (uint64_t)s->cfg.max_connections;
	if (refuse) {
		s->stats.connections_refused++;
		if (s->nrefusing >= HTTP_REFUSING_MAX) {
			uv_close((uv_handle_t *)t, free_handle_cb);
			return;
		}
		/* Accept and answer 503 rather than leaving it in the backlog, so
		 * the client learns at once that the server is full. */
		http_conn *c = conn_new(s, t);
		c->refusing = 1;
		s->nrefusing++;
		conn_fail(c, 503);
		return;
	}
	http_conn *c = conn_new(s, t);
	if (!conn_ip_admit(c)) {
		/* One address holding too many: refused like the global limit. */
		s->stats.connections_refused++;
		log_debug("http per-address limit", "ip=%s", c->remote_ip);
		if (s->nrefusing >= HTTP_REFUSING_MAX) {
			conn_close(c);
			return;
		}
		c->refusing = 1;
		s->nrefusing++;
		conn_fail(c, 503);
		return;
	}
	c->counted = 1;
	s->stats.connections_open++;
	s->stats.connections_total++;
	conn_read_start(c);
}

static void free_server_cb(uv_handle_t *h)
{
	free(h->data);
}

http_server *http_server_new(uv_loop_t *loop, const http_cfg *cfg, http_request_cb cb, void *ud,
			     char *err, size_t errlen)
{
	/* A write to a socket the peer closed must be an error, not death. */
	signal(SIGPIPE, SIG_IGN);
	http_server *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->cb = cb;
	s->ud = ud;
	s->cfg = *cfg;
	if (!s->cfg.max_body_bytes)
		s->cfg.max_body_bytes = HTTP_DEFAULT_BODY;
	if (!s->cfg.max_header_bytes)
		s->cfg.max_header_bytes = HTTP_DEFAULT_HEAD;
	if (s->cfg.idle_timeout_ms <= 0)
		s->cfg.idle_timeout_ms = HTTP_DEFAULT_IDLE;
	if (s->cfg.max_connections <= 0)
		s->cfg.max_connections = HTTP_DEFAULT_CONNS;
	if (s->cfg.max_connections_per_ip == 0)
		s->cfg.max_connections_per_ip = HTTP_DEFAULT_PER_IP;
	map_init(&s->per_ip);
	const char *host = cfg->host ? cfg->host : "127.0.0.1";
	s->cfg.host = NULL;     /* the caller's string; not kept */
	/* http-parser has its own, process-wide head limit (80 KiB); only ever
	 * raise it, so our per-server limit is the one that answers. */
	if (s->cfg.max_header_bytes + 1024 > 80 * 1024 && s->cfg.max_header_bytes < UINT32_MAX - 1024)
		http_parser_set_max_header_size((uint32_t)s->cfg.max_header_bytes + 1024);

	struct sockaddr_storage addr;
	int rc = strchr(host, ':') ? uv_ip6_addr(host, cfg->port, (struct sockaddr_in6 *)&addr)
				   : uv_ip4_addr(host, cfg->port, (struct sockaddr_in *)&addr);
	if (rc < 0) {
		if (err)
			snprintf(err, errlen, "invalid address %s: %s", host, uv_strerror(rc));
		free(s);
		return NULL;
	}
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
	if (rc < 0) {
		if (err)
			snprintf(err, errlen, "cannot listen on %s:%d: %s", host, cfg->port, uv_strerror(rc));
		uv_close((uv_handle_t *)&s->listener, free_server_cb);
		return NULL;
	}
	struct sockaddr_storage bound;
	int blen = sizeof bound;
	uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
	s->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
					     : ntohs(((struct sockaddr_in *)&bound)->sin_port);
	uv_idle_init(loop, &s->idle);
	s->idle.data = s;
	log_info("http listening", "addr=%s port=%d", host, s->port);
	return s;
}

int http_server_port(const http_server *s)
{
	return s->port;
}

void http_server_stats(const http_server *s, http_stats *out)
{
	*out = s->stats;
}

static void listener_close_cb(uv_handle_t *h)
{
	http_server *s = h->data;
	s->listener_closed = 1;
	srv_check_done(s);
}

void http_server_stop(http_server *s, void (*done)(void *ud), void *ud)
{
	if (s->stopping)
		return;
	s->stopping = 1;
	s->done = done;
	s->done_ud = ud;
	uv_close((uv_handle_t *)&s->listener, listener_close_cb);
	/* uv_close is asynchronous, so the list stays intact while we walk it. */
	for (http_conn *c = s->conns; c; c = c->next)
		if (c->state == CONN_READING)
			conn_close_soft(c);
	/* PENDING ones close after their answer (resp_close), LINGER ones
	 * finish by themselves. */
}

void http_server_free(http_server *s)
{
	map_release(&s->per_ip);
	free(s);
}

/* ---- requests ---- */

const char *http_req_header(const http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

void http_respond_owned(http_req *r, int status, const char *content_type,
			const char *extra_headers, char *body, size_t len)
{
	http_conn *c = r->conn;
	if (status < 100 || status > 999)
		status = 500;
	if (c->state == CONN_PENDING && c->req == r && !c->streaming) {
		buf h = BUF_INIT;
		if (!head_build(c, &h, status, content_type, extra_headers, len)) {
			free(body);
			body = NULL;
			len = 0;
		}
		size_t hlen;
		char *head = buf_detach(&h, &hlen);
		if (conn_write(c, head, hlen, body, len, NULL, NULL, NULL) == 0)
			conn_response_done(c);
	} else {
		free(body);     /* the peer is gone: rule 3 */
	}
	req_finish(c, r);
}

void http_respond(http_req *r, int status, const char *content_type, const char *extra_headers,
		  const void *body, size_t len)
{
	char *copy = NULL;
	if (len) {
		copy = xmalloc(len);
		memcpy(copy, body, len);
	}
	http_respond_owned(r, status, content_type, extra_headers, copy, len);
}

uv_tcp_t *http_req_detach_socket(http_req *r, char **leftover, size_t *leftover_len)
{
	http_conn *c = r->conn;
	uv_tcp_t *t = NULL;
	*leftover = NULL;
	*leftover_len = 0;
	if (c->state == CONN_PENDING && c->req == r && !c->streaming) {
		t = c->tcp;
		c->tcp = NULL;
		t->data = NULL;
		size_t n = c->in.len - c->in_off;
		if (n) {
			*leftover = xmalloc(n + 1);
			memcpy(*leftover, c->in.data + c->in_off, n);
			(*leftover)[n] = '\0';
			*leftover_len = n;
		}
		buf_release(&c->in);
		c->in_off = 0;
		c->state = CONN_DETACHED;
		conn_uncount(c);
		c->handles--;   /* the socket is no longer ours to close */
		uv_close((uv_handle_t *)&c->timer, timer_close_cb);
	}
	req_finish(c, r);
	return t;
}

int http__req_conn_alive(const http_req *r)
{
	const http_conn *c = r->conn;
	return c->state == CONN_PENDING;
}

uv_loop_t *http__req_loop(const http_req *r)
{
	return r->srv->loop;
}

void http__stream_begin(http_req *r, int status, const char *content_type,
			const char *extra_headers, uint64_t content_length)
{
	http_conn *c = r->conn;
	c->streaming = 1;
	c->stream_left = 0;
	if (c->state != CONN_PENDING)
		return;
	buf h = BUF_INIT;
	if (head_build(c, &h, status, content_type, extra_headers, content_length))
		c->stream_left = content_length;
	size_t hlen;
	char *head = buf_detach(&h, &hlen);
	conn_write(c, head, hlen, NULL, 0, NULL, NULL, NULL);
}

int http__stream_write(http_req *r, char *data, size_t len, http__chunk_cb cb, void *ud)
{
	http_conn *c = r->conn;
	if (c->state != CONN_PENDING || !c->streaming) {
		free(data);
		return UV_ECANCELED;
	}
	if (len == 0 || len > c->stream_left) {
		free(data);
		return UV_EINVAL;
	}
	c->stream_left -= len;
	return conn_write(c, NULL, 0, data, len, cb, r, ud);
}

void http__stream_end(http_req *r, int ok)
{
	http_conn *c = r->conn;
	if (c->state == CONN_PENDING && c->streaming) {
		/* A body shorter than its Content-Length cannot be repaired; the
		 * close tells the client it was cut. */
		if (!ok || c->stream_left)
			c->resp_close = 1;
		c->streaming = 0;
		conn_response_done(c);
	}
	c->streaming = 0;
	req_finish(c, r);
}
