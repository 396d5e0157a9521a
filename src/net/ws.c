/* WebSocket server connections: handshake, inbound dispatch, the coalesced
 * outbound path, keepalive, the close handshake, shutdown.
 *
 * Design note
 *
 * Purpose. Carry text messages both ways on sockets taken over from the
 * HTTP server, at fan-out rates (STACK.md sections 1-2: framing once and
 * one writev per connection per loop turn measured 5.5 M deliveries/s,
 * against ~0.1 M/s for one write per frame), holding as little memory per
 * idle connection as possible.
 *
 * Connection states and the function for each transition:
 *
 *   ws_accept (101 queued, leftover bytes kept)
 *       |
 *       v
 *     OPEN --- ws_close / protocol error (conn_fail) / output limit /
 *       |      keepalive dead / ws_ctx_shutdown: conn_close_start queues
 *       |      our close frame
 *       |--- peer's close frame (conn_peer_close): our echo is queued
 *       v
 *   CLOSING (close_sent always; close_rcvd once the peer's close is in)
 *       |   conn_maybe_finish, once the queue has drained: close_rcvd ->
 *       |   uv_shutdown (FIN) -> conn_abort; after a protocol error ->
 *       |   uv_shutdown, then read and discard until EOF; peer EOF ->
 *       |   conn_abort. tick_cb: WS_CLOSE_WAIT_MS in CLOSING -> conn_abort.
 *       v
 *   CLOSED (conn_abort: uv_close) --> tcp_close_cb: on_close, free
 *
 *   OPEN --- EOF, read or write error --> CLOSED directly (code 1006).
 *
 * Who calls what.
 *  - read_cb (poll phase) feeds ws__parse and calls on_message between
 *    frames, never inside the parser.
 *  - ws_send / ws_send_text / pongs / pings only append to the
 *    connection's queue and put it on the ctx's dirty list (once).
 *  - flush_all runs from a uv_check handle (right after the poll phase,
 *    where most sends happen) and from a uv_prepare handle (right before
 *    the next poll, catching sends made by timers, idle handlers and close
 *    callbacks, which would otherwise wait for the poll to time out). Both
 *    act only while the dirty list is non-empty (the check handle runs
 *    every turn but returns at once; the prepare handle is started only
 *    then).
 *  - A new connection's first flush feeds the bytes that came right
 *    behind the upgrade request to the parser and then starts reading, so
 *    on_message never runs inside ws_accept, before its caller has the
 *    ws_conn.
 *  - tick_cb, one ctx-wide timer, walks every connection for pings, dead
 *    peers and close timeouts: no per-connection timer (memory).
 *  - stats.writes counts batches: a uv_try_write, finished by one
 *    uv_write if the socket did not take it all. One per connection per
 *    turn unless more than WS_MAX_IOV iovecs' worth of frames are queued
 *    (a plain frame is one, a frame with spliced blobs up to five).
 *
 * Invariants.
 *  1. A connection is freed only in tcp_close_cb, after libuv has called
 *     back every write and shutdown it had (with ECANCELED if need be), so
 *     nothing is freed inside its own callback, and on_close runs exactly
 *     once, from there.
 *  2. At most one uv_write per connection is in flight (c->wr). Frames
 *     queued meanwhile wait and leave together when it completes, so a
 *     slow reader gets bigger writes, not more requests. Every flush first
 *     tries uv_try_write for the whole batch (at most WS_MAX_IOV iovecs):
 *     most batches go out at once and their frames are released in the
 *     same turn.
 *  3. Queued frames stay in the ring until written; the in-flight ones are
 *     its first wr->nframes. qlen > 0 implies the connection is dirty, has
 *     a write in flight, or is closed.
 *  4. out_bytes = bytes queued or in flight. A send that would take it past
 *     max_output_bytes closes the connection with 1008 instead: unsent
 *     frames are dropped and the close frame queued behind the write in
 *     flight.
 *  5. Idle connections hold no read buffer (reads land in the ctx's rbuf
 *     and complete frames are parsed in place there), no queue ring, no
 *     write request and no reassembly buffer: the ws_conn and the uv_tcp_t.
 *  6. After our close frame is queued nothing else is queued (no pongs,
 *     no pings, ws_send fails).
 *
 * on_close's code: the peer's if it closed first (1005 for a close frame
 * without a code), ours if we closed first (ws_close's code, 1002/1003/
 * 1007/1009 for protocol errors, 1008 for the output limit, 1001 for
 * shutdown), 1006 if the peer vanished without a close handshake or was
 * closed as dead by the keepalive. */
#include "net/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "net/ws_internal.h"

#define WS_READ_BUF         65536
#define WS_MAX_IOV          1024     /* iovecs per writev (IOV_MAX on Linux) */
#define WS_CLOSE_WAIT_MS    2000     /* wait this long for the peer's close */
#define WS_TICK_MAX_MS      1000
#define WS_WREQ_CACHE       64       /* spare write requests kept for reuse */
#define WS_RING_CAP         32       /* a queue ring's first size (frames) */
#define WS_RING_CACHE       4096     /* spare rings of that size kept (1 MiB at most) */
#define WS_DEFAULT_MESSAGE  (64u << 10)
#define WS_DEFAULT_OUTPUT   (4u << 20)
#define WS_DEFAULT_PING     10000
#define WS_DEFAULT_DEAD     60000

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

typedef enum { WS_OPEN, WS_CLOSING, WS_CLOSED } ws_state;

typedef struct ws_wreq {
	uv_write_t w;
	ws_conn *c;
	uint32_t nframes;           /* first nframes of the ring */
	size_t bytes;               /* what this write carries */
	struct ws_wreq *next_free;
} ws_wreq;

struct ws_conn {
	ws_ctx *x;
	uv_tcp_t *tcp;              /* from http_req_detach_socket; ours to close and free */
	ws_callbacks cb;
	void *ud;
	ws_conn *prev, *next;       /* ctx's list of all connections */
	ws_frame **q;               /* ring of queued frames, NULL when empty */
	uint32_t qhead, qlen, qcap; /* qcap a power of two */
	size_t out_bytes;           /* invariant 4 */
	ws_wreq *wr;                /* the write in flight */
	char *leftover;             /* bytes received after the upgrade request */
	size_t leftover_len;
	uint64_t last_rx;           /* uv_now() of the last byte received */
	uint64_t last_ping;         /* uv_now() of the last ping we sent */
	uint64_t closing_since;
	int close_code;             /* for on_close */
	uint8_t state;
	unsigned starting : 1;      /* leftover and read start wait for the first flush */
	unsigned dirty : 1;
	unsigned reading : 1;
	unsigned close_sent : 1;
	unsigned close_rcvd : 1;
	unsigned peer_eof : 1;
	unsigned shut : 1;
	unsigned failed : 1;        /* we closed for a protocol error */
	ws_parser p;
	char ip[46];
};

struct ws_ctx {
	uv_loop_t *loop;
	ws_cfg cfg;
	ws_stats stats;
	uv_check_t check;
	uv_prepare_t prepare;
	uv_timer_t timer;
	uv_timer_t coalesce;        /* a deferred fan-out flush (flush_cb) */
	uint64_t last_fanout_ns;    /* uv_hrtime() of the last large flush */
	void (*hold_counts)(void *ud, uint64_t *submitted, uint64_t *delivered);
	void *hold_ud;
	uint64_t hold_mark;         /* deferred: flush once delivered reaches this */
	unsigned flushing : 1;      /* something to flush: prepare started, check acts */
	unsigned deferred : 1;      /* the coalesce timer will flush */
	unsigned ticking : 1;
	unsigned stopping : 1;
	unsigned finished : 1;      /* handles being closed */
	int handles_open;
	void (*done)(void *ud);
	void *done_ud;
	uint64_t tick_ms;
	ws_conn *conns;
	ws_conn **dirty;            /* to flush; NULL slots are skipped */
	size_t ndirty, dirty_cap;
	ws_conn **spare;            /* the other half of the swap in flush_all */
	size_t spare_cap;
	ws_wreq *wfree;
	size_t nwfree;
	void **rfree;               /* spare WS_RING_CAP rings, linked through slot 0 */
	size_t nrfree;
	ws_frame *ping;             /* one empty ping shared by every connection */
	uv_buf_t iov[WS_MAX_IOV];
	unsigned char rbuf[WS_READ_BUF];   /* every read lands here */
};

static void conn_abort(ws_conn *c);
static void conn_maybe_finish(ws_conn *c);
static void conn_close_start(ws_conn *c, int code, const char *reason);
static void flush_cb_check(uv_check_t *h);
static void flush_cb_prepare(uv_prepare_t *h);

/* ---- handshake ---- */

void ws_accept_key(const char *key, char out[29])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	size_t kl = strlen(key);
	char *s = xmalloc(kl + sizeof ws_guid);
	memcpy(s, key, kl);
	memcpy(s + kl, ws_guid, sizeof ws_guid);
	SHA1((const unsigned char *)s, kl + sizeof ws_guid - 1, md);
	free(s);
	/* 20 bytes -> 28 base64 characters and a NUL. */
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

/* Whether a comma-separated header value holds token (case-insensitive):
 * browsers send "Connection: keep-alive, Upgrade". */
static int header_has_token(const char *v, const char *token)
{
	size_t tl = strlen(token);
	while (v && *v) {
		v += strspn(v, " \t,");
		size_t n = strcspn(v, ",");
		size_t m = n;
		while (m && (v[m - 1] == ' ' || v[m - 1] == '\t'))
			m--;
		if (m == tl && strncasecmp(v, token, tl) == 0)
			return 1;
		v += n;
	}
	return 0;
}

/* A 16-byte nonce in base64: 22 characters and "==". */
static int key_valid(const char *k)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (!k || strlen(k) != 24 || strcmp(k + 22, "==") != 0)
		return 0;
	for (int i = 0; i < 22; i++)
		if (!k[i] || !strchr(b64, k[i]))
			return 0;
	return 1;
}

/* ---- queue ---- */

/* Rings of the first size come from and go back to a ctx-wide cache:
 * under fan-out every receiver's ring empties and refills each turn, and
 * a malloc/free pair per socket per turn showed in profiles. The cache
 * keeps idle connections ring-less (invariant 5) at a bounded cost per
 * server. */
static ws_frame **ring_get(ws_ctx *x)
{
	if (!x->rfree)
		return xmalloc(WS_RING_CAP * sizeof(ws_frame *));
	void **r = x->rfree;
	x->rfree = r[0];
	x->nrfree--;
	return (ws_frame **)r;
}

static void ring_put(ws_ctx *x, ws_frame **q, uint32_t cap)
{
	if (!q)
		return;
	if (cap != WS_RING_CAP || x->nrfree >= WS_RING_CACHE) {
		free(q);
		return;
	}
	void **r = (void **)q;
	r[0] = x->rfree;
	x->rfree = r;
	x->nrfree++;
}

static void q_push(ws_conn *c, ws_frame *f)
{
	if (c->qlen == c->qcap) {
		uint32_t cap = c->qcap ? c->qcap * 2 : WS_RING_CAP;
		ws_frame **q = cap == WS_RING_CAP ? ring_get(c->x) : xmalloc(cap * sizeof *q);
		for (uint32_t i = 0; i < c->qlen; i++)
			q[i] = c->q[(c->qhead + i) & (c->qcap - 1)];
		ring_put(c->x, c->q, c->qcap);
		c->q = q;
		c->qcap = cap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qlen) & (c->qcap - 1)] = f;
	c->qlen++;
}

/* Releases the first n frames; the ring goes away once empty (invariant 5). */
static void q_pop(ws_conn *c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		ws_frame_unref(c->q[c->qhead]);
		c->qhead = (c->qhead + 1) & (c->qcap - 1);
	}
	c->qlen -= n;
	if (c->qlen == 0) {
		ring_put(c->x, c->q, c->qcap);
		c->q = NULL;
		c->qcap = c->qhead = 0;
	}
}

/* Drops the frames not yet handed to the kernel or to a write in flight. */
static void q_drop_unsent(ws_conn *c)
{
	uint32_t keep = c->wr ? c->wr->nframes : 0;
	while (c->qlen > keep) {
		uint32_t i = (c->qhead + c->qlen - 1) & (c->qcap - 1);
		c->out_bytes -= c->q[i]->len;
		ws_frame_unref(c->q[i]);
		c->qlen--;
	}
	if (c->qlen == 0)
		q_pop(c, 0);
}

static void ctx_flush_start(ws_ctx *x)
{
	if (x->flushing || x->finished || x->deferred)
		return;
	x->flushing = 1;
	uv_prepare_start(&x->prepare, flush_cb_prepare);
}

static void mark_dirty(ws_conn *c)
{
	ws_ctx *x = c->x;
	if (c->dirty || c->state == WS_CLOSED)
		return;
	if (x->ndirty == x->dirty_cap) {
		x->dirty_cap = x->dirty_cap ? x->dirty_cap * 2 : 64;
		x->dirty = xrealloc(x->dirty, x->dirty_cap * sizeof *x->dirty);
	}
	x->dirty[x->ndirty++] = c;
	c->dirty = 1;
	ctx_flush_start(x);
}

/* Appends f, taking a reference, unless the connection is closing or f
 * would break the output limit (then the connection closes with 1008). */
static int conn_queue(ws_conn *c, ws_frame *f)
{
	ws_ctx *x = c->x;
	if (c->state != WS_OPEN)
		return -1;
	if (c->out_bytes + f->len > x->cfg.max_output_bytes) {
		x->stats.closed_output_limit++;
		log_info("websocket output limit", "ip=%s pending=%zu", c->ip, c->out_bytes);
		/* Unsent frames go: the client refetches history after a
		 * reconnect, and the close frame should not wait behind them. */
		q_drop_unsent(c);
		conn_close_start(c, WS_CLOSE_POLICY, "output limit");
		return -1;
	}
	ws_frame_ref(f);
	q_push(c, f);
	c->out_bytes += f->len;
	x->stats.frames_out++;
	mark_dirty(c);
	return 0;
}

/* Queues a frame we own (its first reference), whatever the limit. */
static void conn_queue_owned(ws_conn *c, ws_frame *f, int count)
{
	q_push(c, f);
	c->out_bytes += f->len;
	if (count)
		c->x->stats.frames_out++;
	mark_dirty(c);
}

/* ---- output ---- */

static ws_wreq *wreq_get(ws_ctx *x)
{
	ws_wreq *w = x->wfree;
	if (w) {
		x->wfree = w->next_free;
		x->nwfree--;
		return w;
	}
	return xmalloc(sizeof *w);
}

static void wreq_put(ws_ctx *x, ws_wreq *w)
{
	if (x->nwfree >= WS_WREQ_CACHE) {
		free(w);
		return;
	}
	w->next_free = x->wfree;
	x->wfree = w;
	x->nwfree++;
}

static void write_cb(uv_write_t *req, int status)
{
	ws_wreq *w = (ws_wreq *)req;
	ws_conn *c = w->c;
	ws_ctx *x = c->x;
	c->wr = NULL;
	c->out_bytes -= w->bytes;
	q_pop(c, w->nframes);
	if (status == 0)
		x->stats.bytes_out += w->bytes;
	wreq_put(x, w);
	if (c->state == WS_CLOSED)
		return;
	if (status < 0) {
		log_debug("websocket write failed", "ip=%s err=%s", c->ip, uv_err_name(status));
		conn_abort(c);
		return;
	}
	if (c->qlen)
		mark_dirty(c);   /* invariant 2: what queued meanwhile leaves now */
	else
		conn_maybe_finish(c);
}

static void conn_input(ws_conn *c, char *data, size_t n);
static void conn_read_start(ws_conn *c);

/* f's bytes as iovecs (1, or more around spliced blobs); returns how many. */
static uint32_t frame_iov(const ws_frame *f, uv_buf_t *iov)
{
	if (!f->blob[0]) {
		iov[0] = uv_buf_init((char *)f->data, f->len);
		return 1;
	}
	ws_part parts[2 * WS_FRAME_BLOBS + 1];
	size_t n = ws_frame_parts(f, parts);
	for (size_t i = 0; i < n; i++)
		iov[i] = parts[i].blob ? uv_buf_init(parts[i].blob->data, parts[i].blob->len)
				       : uv_buf_init((char *)parts[i].p, (unsigned)parts[i].len);
	return (uint32_t)n;
}

/* Writes the queue: batches of up to WS_MAX_IOV iovecs by uv_try_write as
 * long as the socket takes them whole, the rest of a batch by one
 * uv_write. */
static void conn_flush(ws_conn *c)
{
	ws_ctx *x = c->x;
	if (c->starting) {
		/* Bytes the client sent right behind its upgrade request come
		 * first, then reading starts; done here rather than in ws_accept
		 * so on_message never runs before ws_accept has returned. */
		c->starting = 0;
		if (c->leftover) {
			char *l = c->leftover;
			c->leftover = NULL;
			conn_input(c, l, c->leftover_len);
			free(l);
		}
		conn_read_start(c);
	}
	while (c->state != WS_CLOSED && !c->wr && c->qlen) {
		uint32_t n = 0, niov = 0;
		size_t total = 0;
		while (n < c->qlen && niov + 2 * WS_FRAME_BLOBS + 1 <= WS_MAX_IOV) {
			ws_frame *f = c->q[(c->qhead + n) & (c->qcap - 1)];
			niov += frame_iov(f, x->iov + niov);
			total += f->len;
			n++;
		}
		x->stats.writes++;
		int rc = uv_try_write((uv_stream_t *)c->tcp, x->iov, niov);
		if (rc == UV_EAGAIN)
			rc = 0;   /* socket full, or earlier HTTP output still queued */
		if (rc < 0) {
			log_debug("websocket write failed", "ip=%s err=%s", c->ip, uv_err_name(rc));
			conn_abort(c);
			return;
		}
		size_t done = (size_t)rc, off = done;
		x->stats.bytes_out += done;
		c->out_bytes -= done;
		uint32_t k = 0;
		while (k < n && off >= c->q[(c->qhead + k) & (c->qcap - 1)]->len)
			off -= c->q[(c->qhead + k++) & (c->qcap - 1)]->len;
		q_pop(c, k);
		if (k == n)
			continue;
		/* The rest of the batch from the first frame not fully written
		 * (now at the ring's head), less the off bytes of it that went. */
		niov = 0;
		for (uint32_t j = 0; j < n - k; j++)
			niov += frame_iov(c->q[(c->qhead + j) & (c->qcap - 1)], x->iov + niov);
		uint32_t skip = 0;
		while (off >= x->iov[skip].len)
			off -= x->iov[skip++].len;
		x->iov[skip].base += off;
		x->iov[skip].len -= off;
		ws_wreq *w = wreq_get(x);
		w->c = c;
		w->nframes = n - k;
		w->bytes = total - done;
		rc = uv_write(&w->w, (uv_stream_t *)c->tcp, x->iov + skip, niov - skip, write_cb);
		if (rc < 0) {
			wreq_put(x, w);
			conn_abort(c);
			return;
		}
		c->wr = w;
	}
	if (c->state != WS_CLOSED && !c->wr && !c->qlen)
		conn_maybe_finish(c);
}

static void flush_all(ws_ctx *x)
{
	/* Rounds, because on_message for leftover bytes (conn_flush) may dirty
	 * connections already flushed; swapping lists means each round walks
	 * a fixed array. */
	while (x->ndirty) {
		ws_conn **list = x->dirty;
		size_t n = x->ndirty, cap = x->dirty_cap;
		x->dirty = x->spare;
		x->dirty_cap = x->spare_cap;
		x->ndirty = 0;
		x->spare = list;
		x->spare_cap = cap;
		for (size_t i = 0; i < n; i++) {
			ws_conn *c = list[i];
			if (!c)
				continue;
			list[i] = NULL;
			c->dirty = 0;
			if (c->state != WS_CLOSED)
				conn_flush(c);
		}
	}
	if (x->flushing) {
		x->flushing = 0;
		uv_prepare_stop(&x->prepare);
	}
}

/* Coalescing fan-out. Under a stream of events to many sockets, each
 * committed event would otherwise leave in its own loop turn: one write
 * per socket per event, which is what caps fan-out (STACK.md: the writes,
 * not the framing, cost). So a flush that reaches many sockets waits for
 * the events about to follow it. With a hold hook (ws_ctx_set_hold, the
 * store's job counts): until the writes in flight at that moment have run
 * their callbacks (their events are then queued too), at most
 * WS_HOLD_MAX_MS, and not at all when none is in flight. Under a closed
 * loop of posts (a window of messages in flight until everyone has them)
 * the flush then carries the whole window and the next posts share one
 * commit, instead of each commit's events leaving on their own. Without
 * a hook: WS_COALESCE_MS, and only when another large flush happened
 * within WS_COALESCE_AFTER_NS. A lone event (or a quiet server) is never
 * delayed.
 * The wait is checked every loop turn (flush_cb_check runs right after the
 * store's completions in the poll phase). */
#define WS_COALESCE_SOCKETS 256
#define WS_COALESCE_MS 1
#define WS_HOLD_MAX_MS 3
#define WS_COALESCE_AFTER_NS (3 * 1000000ull)

static void flush_now(ws_ctx *x)
{
	int fanout = x->ndirty >= WS_COALESCE_SOCKETS;
	flush_all(x);
	if (fanout)
		x->last_fanout_ns = uv_hrtime();
}

static void coalesce_cb(uv_timer_t *t)
{
	ws_ctx *x = t->data;
	x->deferred = 0;
	flush_now(x);
}

static void flush_cb(ws_ctx *x)
{
	if (x->stopping || x->ndirty < WS_COALESCE_SOCKETS) {
		flush_now(x);
		return;
	}
	uint64_t ms = WS_COALESCE_MS;
	if (x->hold_counts) {
		uint64_t sub, done;
		x->hold_counts(x->hold_ud, &sub, &done);
		if (sub == done) {   /* nothing in flight: nothing to wait for */
			flush_now(x);
			return;
		}
		x->hold_mark = sub;
		ms = WS_HOLD_MAX_MS;
	} else if (!x->last_fanout_ns || uv_hrtime() - x->last_fanout_ns >= WS_COALESCE_AFTER_NS) {
		flush_now(x);
		return;
	}
	x->deferred = 1;
	x->flushing = 0;
	uv_prepare_stop(&x->prepare);
	uv_timer_start(&x->coalesce, coalesce_cb, ms, 0);
}

/* A held flush whose writes have all been delivered leaves now. */
static void hold_check(ws_ctx *x)
{
	uint64_t sub, done;
	x->hold_counts(x->hold_ud, &sub, &done);
	if (done < x->hold_mark)
		return;
	uv_timer_stop(&x->coalesce);
	x->deferred = 0;
	flush_now(x);
}

static void flush_cb_check(uv_check_t *h)
{
	ws_ctx *x = h->data;
	if (x->deferred && x->hold_counts && !x->stopping)
		hold_check(x);
	else if (x->flushing)
		flush_cb(x);
}

static void flush_cb_prepare(uv_prepare_t *h)
{
	flush_cb(h->data);
}

/* ---- closing ---- */

static void ctx_maybe_done(ws_ctx *x);

static void tcp_close_cb(uv_handle_t *h)
{
	ws_conn *c = h->data;
	ws_ctx *x = c->x;
	free(h);
	/* Invariant 1: libuv has called back the write in flight already. */
	q_pop(c, c->qlen);
	ws__parser_release(&c->p);
	free(c->leftover);
	if (c->dirty) {
		for (size_t i = 0; i < x->ndirty; i++)
			if (x->dirty[i] == c)
				x->dirty[i] = NULL;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		x->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	x->stats.open--;
	log_debug("websocket closed", "ip=%s code=%d", c->ip, c->close_code);
	if (c->cb.on_close)
		c->cb.on_close(c, c->close_code, c->ud);
	free(c);
	ctx_maybe_done(x);
}

/* The hard end: the socket goes, whatever is queued. */
static void conn_abort(ws_conn *c)
{
	if (c->state == WS_CLOSED)
		return;
	c->state = WS_CLOSED;
	c->reading = 0;
	uv_close((uv_handle_t *)c->tcp, tcp_close_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	ws_conn *c = req->data;
	free(req);
	/* Still reading (after a protocol error): linger until the peer's
	 * EOF or the close timeout, so its unread input cannot turn our close
	 * into an RST that destroys the close frame in flight. */
	if (status == 0 && c->reading && c->state == WS_CLOSING)
		return;
	conn_abort(c);
}

/* Called whenever the queue has drained: in CLOSING, once both close
 * frames have passed, the server closes the TCP connection first (RFC
 * 6455 section 7.1.1): FIN after the flushed close frame, then close. */
static void conn_maybe_finish(ws_conn *c)
{
	if (c->state != WS_CLOSING || c->qlen || c->wr)
		return;
	if (c->peer_eof) {
		conn_abort(c);
		return;
	}
	/* After a protocol error the parser is dead and cannot see the peer's
	 * close, so FIN goes right behind our close frame; otherwise wait
	 * for the peer's close (or EOF, or the timeout). */
	if (!(c->close_rcvd || c->failed) || c->shut)
		return;
	c->shut = 1;
	uv_shutdown_t *sr = xmalloc(sizeof *sr);
	sr->data = c;
	if (uv_shutdown(sr, (uv_stream_t *)c->tcp, shutdown_cb) < 0) {
		free(sr);
		conn_abort(c);
	}
}

static void conn_read_stop(ws_conn *c)
{
	if (!c->reading)
		return;
	uv_read_stop((uv_stream_t *)c->tcp);
	c->reading = 0;
}

/* OPEN -> CLOSING, our side first. */
static void conn_close_start(ws_conn *c, int code, const char *reason)
{
	if (c->state != WS_OPEN)
		return;
	if (!ws__close_code_valid(code))
		code = WS_CLOSE_NORMAL;
	c->state = WS_CLOSING;
	c->close_code = code;
	c->closing_since = uv_now(c->x->loop);
	c->close_sent = 1;
	conn_queue_owned(c, ws__frame_close(code, reason), 1);
}

/* The peer's close frame arrived. */
static void conn_peer_close(ws_conn *c, int code)
{
	c->close_rcvd = 1;
	conn_read_stop(c);   /* nothing may follow a close frame */
	if (c->state == WS_OPEN) {
		c->state = WS_CLOSING;
		c->close_code = code;
		c->closing_since = uv_now(c->x->loop);
		c->close_sent = 1;
		/* Echo its code; a close without one is answered with 1000. */
		int reply = ws__close_code_valid(code) ? code : WS_CLOSE_NORMAL;
		conn_queue_owned(c, ws__frame_close(reply, NULL), 1);
		return;
	}
	conn_maybe_finish(c);   /* our close went out already, or will */
}

static void conn_fail(ws_conn *c, int code)
{
	static const struct {
		int code;
		const char *reason;
	} reasons[] = {
		{WS_CLOSE_PROTOCOL, "protocol error"},
		{WS_CLOSE_UNSUPPORTED, "binary messages are not supported"},
		{WS_CLOSE_BAD_DATA, "invalid utf-8"},
		{WS_CLOSE_TOO_BIG, "message too big"},
	};
	if (c->state != WS_OPEN)
		return;
	const char *reason = "";
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reasons[i].code == code)
			reason = reasons[i].reason;
	c->x->stats.closed_protocol++;
	log_debug("websocket protocol error", "ip=%s code=%d", c->ip, code);
	c->failed = 1;
	conn_close_start(c, code, reason);
}

/* ---- input ---- */

static void conn_input(ws_conn *c, char *data, size_t n)
{
	size_t i = 0;
	while (i < n && c->state != WS_CLOSED && !c->close_rcvd) {
		ws_event ev;
		i += ws__parse(&c->p, (unsigned char *)data + i, n - i, &ev);
		switch (ev.type) {
		case WS_EV_NONE:
		case WS_EV_PONG:
			break;
		case WS_EV_TEXT:
			/* After our close, data is read but no longer delivered. */
			if (c->state == WS_OPEN && c->cb.on_message)
				c->cb.on_message(c, ev.data, ev.len, c->ud);
			break;
		case WS_EV_PING:
			if (c->state == WS_OPEN) {
				ws_frame *f = ws__frame_new(WS_OP_PONG, ev.data, ev.len);
				conn_queue(c, f);
				ws_frame_unref(f);
			}
			break;
		case WS_EV_CLOSE:
			conn_peer_close(c, ev.code);
			break;
		case WS_EV_ERROR:
			conn_fail(c, ev.code);
			break;
		}
	}
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	ws_conn *c = h->data;
	b->base = (char *)c->x->rbuf;
	b->len = sizeof c->x->rbuf;
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	ws_conn *c = st->data;
	if (n == 0)
		return;
	if (n < 0) {
		conn_read_stop(c);
		c->peer_eof = 1;
		if (n != UV_EOF)
			log_debug("websocket read failed", "ip=%s err=%s", c->ip, uv_err_name((int)n));
		if (c->state == WS_OPEN || n != UV_EOF)
			conn_abort(c);   /* vanished without a close handshake: 1006 */
		else
			conn_maybe_finish(c);   /* our close frame may still be leaving */
		return;
	}
	c->last_rx = uv_now(c->x->loop);
	conn_input(c, b->base, (size_t)n);
}

static void conn_read_start(ws_conn *c)
{
	if (c->reading || c->close_rcvd || c->peer_eof || c->state == WS_CLOSED)
		return;
	int rc = uv_read_start((uv_stream_t *)c->tcp, alloc_cb, read_cb);
	if (rc < 0) {
		log_debug("websocket read start failed", "ip=%s err=%s", c->ip, uv_err_name(rc));
		conn_abort(c);
		return;
	}
	c->reading = 1;
}

/* ---- keepalive ---- */

static void tick_cb(uv_timer_t *t)
{
	ws_ctx *x = t->data;
	uint64_t now = uv_now(x->loop);
	uint64_t ping = (uint64_t)x->cfg.ping_interval_ms, dead = (uint64_t)x->cfg.dead_after_ms;
	for (ws_conn *c = x->conns; c; c = c->next) {
		if (c->state == WS_CLOSING) {
			if (now - c->closing_since >= WS_CLOSE_WAIT_MS) {
				log_debug("websocket close timed out", "ip=%s", c->ip);
				conn_abort(c);
			}
			continue;
		}
		if (c->state != WS_OPEN || c->starting)
			continue;
		uint64_t idle = now - c->last_rx;
		if (idle >= dead) {
			x->stats.closed_dead++;
			log_debug("websocket peer dead", "ip=%s idle_ms=%llu", c->ip, (unsigned long long)idle);
			/* Sent in case it is only slow; on_close hears 1006. */
			conn_close_start(c, WS_CLOSE_GOING_AWAY, "ping timeout");
			c->close_code = WS_CLOSE_ABNORMAL;
		} else if (now - c->last_ping >= ping) {
			/* Every ping_interval, busy or not: Slack's socket-mode
			 * 1.x clients reconnect when no server ping arrives
			 * within 30 s, however chatty they are themselves. */
			c->last_ping = now;
			conn_queue(c, x->ping);
		}
	}
}

/* ---- ctx ---- */

static void ctx_handle_closed(uv_handle_t *h)
{
	ws_ctx *x = h->data;
	if (--x->handles_open == 0 && x->done)
		x->done(x->done_ud);
}

static void ctx_maybe_done(ws_ctx *x)
{
	if (x->conns)
		return;
	if (x->ticking) {
		x->ticking = 0;
		uv_timer_stop(&x->timer);
	}
	if (x->stopping && !x->finished) {
		x->finished = 1;
		x->flushing = 0;
		x->handles_open = 4;
		uv_timer_stop(&x->coalesce);
		x->deferred = 0;
		uv_close((uv_handle_t *)&x->coalesce, ctx_handle_closed);
		uv_close((uv_handle_t *)&x->check, ctx_handle_closed);
		uv_close((uv_handle_t *)&x->prepare, ctx_handle_closed);
		uv_close((uv_handle_t *)&x->timer, ctx_handle_closed);
	}
}

ws_ctx *ws_ctx_new(uv_loop_t *loop, const ws_cfg *cfg)
{
	ws_ctx *x = xcalloc(1, sizeof *x);
	x->loop = loop;
	if (cfg)
		x->cfg = *cfg;
	if (!x->cfg.max_message)
		x->cfg.max_message = WS_DEFAULT_MESSAGE;
	if (!x->cfg.max_output_bytes)
		x->cfg.max_output_bytes = WS_DEFAULT_OUTPUT;
	if (x->cfg.ping_interval_ms <= 0)
		x->cfg.ping_interval_ms = WS_DEFAULT_PING;
	if (x->cfg.dead_after_ms <= 0)
		x->cfg.dead_after_ms = WS_DEFAULT_DEAD;
	/* Fine enough for the shortest interval configured (tests use tens of
	 * milliseconds); at most once a second in production. */
	int tick = x->cfg.ping_interval_ms < x->cfg.dead_after_ms ? x->cfg.ping_interval_ms
								   : x->cfg.dead_after_ms;
	tick /= 2;
	if (tick > WS_TICK_MAX_MS)
		tick = WS_TICK_MAX_MS;
	if (tick < 10)
		tick = 10;
	x->tick_ms = (uint64_t)tick;
	uv_check_init(loop, &x->check);
	uv_prepare_init(loop, &x->prepare);
	uv_timer_init(loop, &x->timer);
	uv_timer_init(loop, &x->coalesce);
	x->check.data = x->prepare.data = x->timer.data = x->coalesce.data = x;
	/* The check handle runs every turn (a no-op unless something is
	 * queued) and never keeps the loop alive. Started once, here, it
	 * stays behind every check handle started later (libuv runs the
	 * newest first), so work those start in a turn, such as waking the
	 * store's writer for the requests just read, happens before this
	 * turn's flush (which can take milliseconds at fan-out), not after. */
	uv_check_start(&x->check, flush_cb_check);
	uv_unref((uv_handle_t *)&x->check);
	x->ping = ws__frame_new(WS_OP_PING, NULL, 0);
	return x;
}

void ws_ctx_shutdown(ws_ctx *x, void (*done)(void *ud), void *ud)
{
	if (x->stopping)
		return;
	x->stopping = 1;
	x->done = done;
	x->done_ud = ud;
	for (ws_conn *c = x->conns; c; c = c->next)
		conn_close_start(c, WS_CLOSE_GOING_AWAY, "going away");
	/* With no connection left the handles close now and done runs from
	 * their close callbacks, never inside this call. */
	ctx_maybe_done(x);
}

void ws_ctx_free(ws_ctx *x)
{
	if (!x)
		return;
	while (x->wfree) {
		ws_wreq *w = x->wfree;
		x->wfree = w->next_free;
		free(w);
	}
	while (x->rfree) {
		void **r = x->rfree;
		x->rfree = r[0];
		free(r);
	}
	free(x->dirty);
	free(x->spare);
	ws_frame_unref(x->ping);
	free(x);
}

void ws_ctx_set_hold(ws_ctx *x, void (*counts)(void *ud, uint64_t *submitted, uint64_t *delivered),
		     void *ud)
{
	x->hold_counts = counts;
	x->hold_ud = ud;
}

void ws_ctx_stats(const ws_ctx *x, ws_stats *out)
{
	*out = x->stats;
}

/* ---- connections ---- */

static void refuse(http_req *req, int status, const char *extra, const char *why)
{
	http_respond(req, status, "text/plain; charset=utf-8", extra, why, strlen(why));
}

ws_conn *ws_accept(ws_ctx *x, http_req *req, const ws_callbacks *cb, void *ud)
{
	const char *key = http_req_header(req, "sec-websocket-key");
	const char *ver = http_req_header(req, "sec-websocket-version");
	if (x->stopping) {
		refuse(req, 503, NULL, "shutting down\n");
		return NULL;
	}
	if (x->cfg.max_connections && x->stats.open >= x->cfg.max_connections) {
		/* Refused while still HTTP: the socket is not taken over, so a
		 * flood of upgrades costs no more than HTTP connections do. */
		x->stats.refused++;
		refuse(req, 503, "Retry-After: 5\r\n", "too many websocket connections\n");
		return NULL;
	}
	if (strcmp(req->method, "GET") != 0) {
		refuse(req, 400, NULL, "websocket upgrade needs GET\n");
		return NULL;
	}
	if (!header_has_token(http_req_header(req, "upgrade"), "websocket")) {
		refuse(req, 426, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n",
		       "websocket upgrade required\n");
		return NULL;
	}
	if (!header_has_token(http_req_header(req, "connection"), "upgrade")) {
		refuse(req, 400, NULL, "Connection: Upgrade missing\n");
		return NULL;
	}
	if (!ver || strcmp(ver, "13") != 0) {
		/* RFC 6455 section 4.4: name the version we speak. */
		refuse(req, 426, "Sec-WebSocket-Version: 13\r\n", "unsupported websocket version\n");
		return NULL;
	}
	if (!key_valid(key)) {
		refuse(req, 400, NULL, "bad Sec-WebSocket-Key\n");
		return NULL;
	}
	/* Everything needed from req before detaching frees it. Extensions
	 * and subprotocols offered are declined by not answering them. */
	char accept[29];
	ws_accept_key(key, accept);
	/* INET6_ADDRSTRLEN (46) holds any address uv_ip*_name writes. */
	char ip[sizeof ((ws_conn *)0)->ip];
	size_t il = strnlen(req->remote_ip, sizeof ip - 1);
	memcpy(ip, req->remote_ip, il);
	ip[il] = '\0';
	char *left;
	size_t nleft;
	uv_tcp_t *t = http_req_detach_socket(req, &left, &nleft);
	if (!t)
		return NULL;   /* the peer is gone; there is no one to answer */

	ws_conn *c = xcalloc(1, sizeof *c);
	c->x = x;
	c->tcp = t;
	t->data = c;
	if (cb)
		c->cb = *cb;
	c->ud = ud;
	c->state = WS_OPEN;
	c->close_code = WS_CLOSE_ABNORMAL;
	c->last_rx = c->last_ping = uv_now(x->loop);
	c->leftover = left;
	c->leftover_len = nleft;
	memcpy(c->ip, ip, sizeof c->ip);
	ws__parser_init(&c->p, x->cfg.max_message);
	c->next = x->conns;
	if (x->conns)
		x->conns->prev = c;
	x->conns = c;
	x->stats.open++;
	x->stats.accepted++;
	if (!x->ticking) {
		x->ticking = 1;
		uv_timer_start(&x->timer, tick_cb, x->tick_ms, x->tick_ms);
	}
	/* The 101 is the queue's first "frame", so it leaves through the same
	 * flush, before anything ws_send adds. */
	static const char fmt[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n";
	size_t hl = sizeof fmt - 3 + 28;
	ws_frame *h = xcalloc(1, sizeof *h + hl + 1);
	h->refs = 1;
	h->len = (uint32_t)hl;
	snprintf((char *)h->data, hl + 1, fmt, accept);
	c->starting = 1;
	conn_queue_owned(c, h, 0);
	log_debug("websocket open", "ip=%s", c->ip);
	return c;
}

int ws_send(ws_conn *c, ws_frame *f)
{
	return conn_queue(c, f);
}

int ws_send_text(ws_conn *c, const char *msg, size_t len)
{
	if (c->state != WS_OPEN)
		return -1;
	ws_frame *f = ws_frame_text(msg, len);
	int rc = conn_queue(c, f);
	ws_frame_unref(f);
	return rc;
}

void ws_close(ws_conn *c, int code, const char *reason)
{
	conn_close_start(c, code, reason);
}

void *ws_conn_ud(const ws_conn *c)
{
	return c->ud;
}

void ws_conn_set_ud(ws_conn *c, void *ud)
{
	c->ud = ud;
}

const char *ws_conn_remote_ip(const ws_conn *c)
{
	return c->ip;
}

size_t ws_conn_pending_bytes(const ws_conn *c)
{
	return c->out_bytes;
}
