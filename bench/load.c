/* canal-load: a small HTTP/1.1 load generator on libuv, for bench/run.
 *
 *   canal-load --url http://127.0.0.1:PORT/api/METHOD [--token T]
 *              [--body 'a=1&text=msg%20%n'] [--connections N]
 *              [--duration S] [--rate R] [--warmup S] [--method M]
 *
 * Two modes:
 *  - --rate 0 (default): closed loop. Each keep-alive connection keeps
 *    exactly one request in flight and sends the next as soon as the
 *    previous answer is complete. Measures maximum throughput; latency is
 *    measured from the actual send.
 *  - --rate R: open loop. Requests are scheduled at fixed instants
 *    (R per second in total, across connections) and handed to whichever
 *    connection is idle; if none is, they wait in a queue. Latency is
 *    measured from the *scheduled* instant, so a stalled server is charged
 *    for the requests it delayed (no coordinated omission).
 *
 * A request counts if its scheduled/sent time falls in the measured window
 * [start + warmup, start + warmup + duration). Success is HTTP 200 with a
 * body containing "ok":true. Everything is bounded in time: a run never
 * lasts longer than connect timeout + warmup + duration + drain grace.
 *
 * Output, one line on stdout:
 *   requests=N ok=N errors=N duration=S rps=X p50_ms=X p90_ms=X p99_ms=X max_ms=X
 * Exit status: 0 on a completed run, 1 if a connection could not be made
 * (at start or later), 2 on bad usage. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <uv.h>

#define CONNECT_TIMEOUT_MS 5000
#define DRAIN_GRACE_MS 2000     /* how long in-flight requests may finish after the window */
#define RECONNECT_DELAY_MS 50
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_RESPONSE_BYTES (16 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Latency histogram (nanoseconds), log-linear like HdrHistogram: values
 * below SUB are exact; above, each power of two is split into SUB/2
 * linear buckets, so the relative error stays under 2/SUB (~0.2%). A
 * fixed array avoids any allocation on the hot path. */

#define SUB_BITS 10
#define SUB (1u << SUB_BITS)
#define HALF (SUB / 2)
#define NBUCKETS (SUB + (64 - SUB_BITS) * HALF)

static uint64_t hist[NBUCKETS];
static uint64_t hist_total, hist_max;

static size_t hist_index(uint64_t v)
{
	if (v < SUB)
		return (size_t)v;
	int msb = 63 - __builtin_clzll(v);
	int shift = msb - (SUB_BITS - 1);  /* v >> shift lands in [HALF, SUB) */
	return SUB + (size_t)(shift - 1) * HALF + (size_t)((v >> shift) - HALF);
}

/* Highest value that maps to bucket i: reporting the upper edge keeps
 * percentiles conservative. */
static uint64_t hist_upper(size_t i)
{
	if (i < SUB)
		return i;
	size_t shift = (i - SUB) / HALF + 1;
	uint64_t sub = (i - SUB) % HALF + HALF;
	return ((sub + 1) << shift) - 1;
}

static void hist_record(uint64_t ns)
{
	hist[hist_index(ns)]++;
	hist_total++;
	if (ns > hist_max)
		hist_max = ns;
}

static uint64_t hist_percentile(double p)
{
	if (hist_total == 0)
		return 0;
	uint64_t want = (uint64_t)ceil(p / 100.0 * (double)hist_total);
	if (want < 1)
		want = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		seen += hist[i];
		if (seen >= want) {
			uint64_t u = hist_upper(i);
			return u < hist_max ? u : hist_max;
		}
	}
	return hist_max;
}

/* ------------------------------------------------------------------ */
/* Options and request template */

static struct {
	char host[256];
	char port[16];
	char path[2048];
	const char *token;
	const char *body;       /* NULL: no body */
	const char *method;
	int connections;
	double duration, rate, warmup;
} opt = { .connections = 16, .duration = 5.0 };

static char *req_prefix;        /* request line + headers up to "Content-Length: " */
static size_t req_prefix_len;
static char **body_parts;       /* body split on "%n" */
static size_t *body_part_len;
static size_t nbody_parts;
static size_t req_max_len;      /* upper bound for one serialized request */
static uint64_t req_seq;        /* the %n counter, one per request sent */

enum conn_state { C_CONNECTING, C_IDLE, C_BUSY, C_CLOSING, C_WAIT };

typedef struct conn {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_timer_t retry;       /* reconnect backoff */
	enum conn_state state;
	bool ever_connected;
	bool close_after;       /* server said Connection: close */
	bool in_window;         /* current request counts */
	uint64_t t_sched;       /* latency origin of the current request */
	char *rbuf;
	size_t rlen, rcap;
	char *wbuf;             /* serialized request; reused (one in flight) */
	struct conn *next_idle;
} conn;

typedef struct wreq {
	uv_write_t req;
	char data[];
} wreq;

static uv_loop_t *loop;
static struct sockaddr_storage addr;
static conn *conns;
static int nconnected;
static conn *idle_list;         /* open-loop mode: connections free to send */

static enum { P_CONNECT, P_RUN, P_DRAIN, P_DONE } phase = P_CONNECT;
static uint64_t t_start, t_measure, t_end;
static uint64_t n_ok, n_err, n_conn_fail;
static uint64_t t_last_done;     /* last completion of a counted request */
static uv_timer_t phase_timer;  /* connect timeout, then end of window, then drain deadline */
static uv_signal_t sigint_h;
static bool interrupted;        /* SIGINT: report what completed, blame nothing */

/* open loop schedule */
static int tfd = -1;
static uv_poll_t tfd_poll;
static uint64_t sched_k;        /* index of the next request to schedule */
static uint64_t *queue;         /* scheduled times waiting for an idle connection */
static size_t q_head, q_len, q_cap;

static void finish(void);
static void conn_open(conn *c);
static void conn_drop(conn *c, bool failed);
static void send_request(conn *c, uint64_t t_sched);
static void dispatch(void);

/* Diagnostics go to stderr, but a dead server would otherwise produce one
 * line per reconnect attempt: keep the first few. */
__attribute__((format(printf, 1, 2)))
static void warnx_limited(const char *fmt, ...)
{
	static int count;
	if (++count <= 5) {
		va_list ap;
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	if (count == 5)
		fprintf(stderr, "canal-load: further connection messages suppressed\n");
}

static void die_usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "canal-load: %s\n", msg);
	fprintf(stderr,
		"usage: canal-load --url http://HOST:PORT/PATH [--token T] [--body FORM]\n"
		"                  [--connections N] [--duration S] [--rate R] [--warmup S]\n"
		"                  [--method GET|POST]\n"
		"  --body   form-encoded POST body; each %%n becomes a per-request counter\n"
		"  --rate   total requests/s across connections (0 = as fast as possible)\n");
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "canal-load: out of memory\n");
		exit(1);
	}
	return p;
}

static void parse_url(const char *url)
{
	const char *p = url;
	if (strncmp(p, "http://", 7) != 0)
		die_usage("--url must start with http:// (no TLS support)");
	p += 7;
	const char *slash = strchr(p, '/');
	size_t hp_len = slash ? (size_t)(slash - p) : strlen(p);
	const char *colon = memchr(p, ':', hp_len);
	size_t hlen = colon ? (size_t)(colon - p) : hp_len;
	if (hlen == 0 || hlen >= sizeof opt.host)
		die_usage("bad host in --url");
	memcpy(opt.host, p, hlen);
	opt.host[hlen] = 0;
	if (colon) {
		size_t plen = hp_len - hlen - 1;
		if (plen == 0 || plen >= sizeof opt.port)
			die_usage("bad port in --url");
		memcpy(opt.port, colon + 1, plen);
		opt.port[plen] = 0;
	} else {
		strcpy(opt.port, "80");
	}
	const char *path = slash ? slash : "/";
	if (strlen(path) >= sizeof opt.path)
		die_usage("path too long in --url");
	strcpy(opt.path, path);
}

/* Resolve once, before the loop starts: a blocking lookup is fine here
 * and keeps the connection code free of async DNS. */
static void resolve(void)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int rc = getaddrinfo(opt.host, opt.port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "canal-load: cannot resolve %s:%s: %s\n", opt.host, opt.port,
			gai_strerror(rc));
		exit(1);
	}
	memcpy(&addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
}

static void build_template(void)
{
	const char *method = opt.method ? opt.method : (opt.body ? "POST" : "GET");
	size_t cap = strlen(method) + strlen(opt.path) + strlen(opt.host) +
		     (opt.token ? strlen(opt.token) : 0) + 512;
	req_prefix = xmalloc(cap);
	int n = snprintf(req_prefix, cap, "%s %s HTTP/1.1\r\nHost: %s:%s\r\n", method, opt.path,
			 opt.host, opt.port);
	if (opt.token)
		n += snprintf(req_prefix + n, cap - (size_t)n, "Authorization: Bearer %s\r\n",
			      opt.token);
	if (opt.body)
		n += snprintf(req_prefix + n, cap - (size_t)n,
			      "Content-Type: application/x-www-form-urlencoded\r\n");
	n += snprintf(req_prefix + n, cap - (size_t)n, "Content-Length: ");
	req_prefix_len = (size_t)n;

	/* Split the body once so each request is a few memcpy()s. */
	const char *b = opt.body ? opt.body : "";
	size_t count = 1;
	for (const char *s = b; (s = strstr(s, "%n")); s += 2)
		count++;
	body_parts = xmalloc(count * sizeof *body_parts);
	body_part_len = xmalloc(count * sizeof *body_part_len);
	for (const char *s = b;;) {
		const char *e = strstr(s, "%n");
		size_t len = e ? (size_t)(e - s) : strlen(s);
		body_parts[nbody_parts] = xmalloc(len + 1);
		memcpy(body_parts[nbody_parts], s, len);
		body_parts[nbody_parts][len] = 0;
		body_part_len[nbody_parts++] = len;
		if (!e)
			break;
		s = e + 2;
	}
	req_max_len = req_prefix_len + 24 + 4 + strlen(b) + count * 21;
}

/* Serializes one request into buf, returns its length. */
static size_t build_request(char *buf, uint64_t seq)
{
	char num[24];
	int numlen = snprintf(num, sizeof num, "%llu", (unsigned long long)seq);
	size_t body_len = 0;
	for (size_t i = 0; i < nbody_parts; i++)
		body_len += body_part_len[i] + (i + 1 < nbody_parts ? (size_t)numlen : 0);

	char *p = buf;
	memcpy(p, req_prefix, req_prefix_len);
	p += req_prefix_len;
	p += sprintf(p, "%zu\r\n\r\n", body_len);
	for (size_t i = 0; i < nbody_parts; i++) {
		memcpy(p, body_parts[i], body_part_len[i]);
		p += body_part_len[i];
		if (i + 1 < nbody_parts) {
			memcpy(p, num, (size_t)numlen);
			p += numlen;
		}
	}
	return (size_t)(p - buf);
}

/* ------------------------------------------------------------------ */
/* Response parsing. Deliberately small: status line, Content-Length,
 * chunked transfer coding, Connection: close, or body-until-EOF. */

enum { R_INCOMPLETE, R_DONE, R_BAD };

typedef struct resp {
	int status;
	size_t consumed;        /* bytes of rbuf making up this response */
	bool ok;                /* 200 and "ok":true */
	bool close;
} resp;

static bool body_ok(const char *b, size_t n)
{
	return memmem(b, n, "\"ok\":true", 9) || memmem(b, n, "\"ok\": true", 10);
}

/* Finds header `name` (with colon, lowercase) in the header block; returns
 * a pointer to its value or NULL. */
static const char *find_header(const char *h, size_t hlen, const char *name)
{
	size_t nlen = strlen(name);
	const char *end = h + hlen;
	const char *line = memchr(h, '\n', hlen);   /* skip the status line */
	while (line && ++line < end) {
		if ((size_t)(end - line) > nlen && strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			return v;
		}
		line = memchr(line, '\n', (size_t)(end - line));
	}
	return NULL;
}

static bool value_has(const char *v, const char *end, const char *word)
{
	/* the value runs to the end of its line */
	const char *eol = memchr(v, '\r', (size_t)(end - v));
	size_t n = eol ? (size_t)(eol - v) : (size_t)(end - v);
	size_t wl = strlen(word);
	for (size_t i = 0; i + wl <= n; i++)
		if (strncasecmp(v + i, word, wl) == 0)
			return true;
	return false;
}

/* Decodes a chunked body starting at b. Returns R_DONE with *used set and
 * *ok set from the decoded data, R_INCOMPLETE or R_BAD. Responses are
 * small, so re-scanning from the start on each read is acceptable. */
static int parse_chunked(const char *b, size_t n, size_t *used, bool *ok)
{
	static char *dec;
	static size_t dcap;
	size_t dlen = 0, i = 0;
	for (;;) {
		const char *eol = memmem(b + i, n - i, "\r\n", 2);
		if (!eol)
			return n - i > 32 ? R_BAD : R_INCOMPLETE;
		char *endp;
		unsigned long long sz = strtoull(b + i, &endp, 16);
		if (endp == b + i)
			return R_BAD;
		i = (size_t)(eol - b) + 2;
		if (sz == 0) {
			/* trailers (normally none), then the final CRLF */
			const char *fin = memmem(b + i - 2, n - (i - 2), "\r\n\r\n", 4);
			if (!fin)
				return R_INCOMPLETE;
			*used = (size_t)(fin - b) + 4;
			*ok = body_ok(dec ? dec : "", dlen);
			return R_DONE;
		}
		if (sz > MAX_RESPONSE_BYTES)
			return R_BAD;
		if (n - i < sz + 2)
			return R_INCOMPLETE;
		if (dlen + sz > dcap) {
			dcap = (dlen + sz) * 2;
			dec = realloc(dec, dcap);
			if (!dec) {
				fprintf(stderr, "canal-load: out of memory\n");
				exit(1);
			}
		}
		memcpy(dec + dlen, b + i, sz);
		dlen += sz;
		i += sz + 2;
	}
}

/* eof: the peer closed, so a body without length ends here. */
static int parse_response(const char *buf, size_t len, bool eof, resp *r)
{
	const char *hend = memmem(buf, len, "\r\n\r\n", 4);
	if (!hend)
		return len > MAX_HEADER_BYTES ? R_BAD : R_INCOMPLETE;
	size_t hlen = (size_t)(hend - buf) + 4;
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
		return R_BAD;
	r->status = atoi(buf + 9);
	const char *hdr_end = buf + hlen;
	bool http10 = buf[7] == '0';

	const char *v = find_header(buf, hlen, "connection:");
	r->close = v ? value_has(v, hdr_end, "close") : http10;
	if (http10 && v && value_has(v, hdr_end, "keep-alive"))
		r->close = false;

	const char *body = buf + hlen;
	size_t avail = len - hlen;
	if ((v = find_header(buf, hlen, "transfer-encoding:")) && value_has(v, hdr_end, "chunked")) {
		size_t used;
		int rc = parse_chunked(body, avail, &used, &r->ok);
		if (rc != R_DONE)
			return rc;
		r->consumed = hlen + used;
	} else if ((v = find_header(buf, hlen, "content-length:"))) {
		unsigned long long cl = strtoull(v, NULL, 10);
		if (cl > MAX_RESPONSE_BYTES)
			return R_BAD;
		if (avail < cl)
			return R_INCOMPLETE;
		r->consumed = hlen + (size_t)cl;
		r->ok = body_ok(body, (size_t)cl);
	} else if (r->status == 204 || r->status == 304 || r->status / 100 == 1) {
		r->consumed = hlen;
		r->ok = false;
	} else {
		/* no framing: the body runs until the server closes */
		if (!eof)
			return avail > MAX_RESPONSE_BYTES ? R_BAD : R_INCOMPLETE;
		r->consumed = len;
		r->ok = body_ok(body, avail);
		r->close = true;
	}
	r->ok = r->ok && r->status == 200;
	return R_DONE;
}

/* ------------------------------------------------------------------ */
/* Accounting */

static bool counts(uint64_t t)
{
	return t >= t_measure && t < t_end;
}

static void request_done(conn *c, bool ok)
{
	if (c->in_window) {
		t_last_done = uv_hrtime();
		if (ok) {
			n_ok++;
			/* Only successes feed the histogram: a fast error (say 401)
			 * must not make latency look better. */
			hist_record(uv_hrtime() - c->t_sched);
		} else {
			n_err++;
		}
	}
	c->in_window = false;
}

static bool busy_any(void)
{
	for (int i = 0; i < opt.connections; i++)
		if (conns[i].state == C_BUSY)
			return true;
	return false;
}

static void maybe_finish(void)
{
	if (phase == P_DRAIN && q_len == 0 && !busy_any())
		finish();
}

/* A connection has nothing in flight: give it work or park it. */
static void conn_ready(conn *c)
{
	c->state = C_IDLE;
	if (phase != P_RUN && phase != P_DRAIN)
		return;
	if (opt.rate > 0) {
		if (q_len > 0) {
			uint64_t t = queue[q_head];
			q_head = (q_head + 1) % q_cap;
			q_len--;
			send_request(c, t);
		} else {
			c->next_idle = idle_list;
			idle_list = c;
		}
	} else if (phase == P_RUN) {
		uint64_t now = uv_hrtime();
		if (now < t_end)
			send_request(c, now);
	}
	maybe_finish();
}

/* ------------------------------------------------------------------ */
/* Connection handling */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	conn *c = h->data;
	if (c->rcap - c->rlen < 16384) {
		c->rcap = c->rcap ? c->rcap * 2 : 65536;
		c->rbuf = realloc(c->rbuf, c->rcap);
		if (!c->rbuf) {
			fprintf(stderr, "canal-load: out of memory\n");
			exit(1);
		}
	}
	buf->base = c->rbuf + c->rlen;
	buf->len = c->rcap - c->rlen;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;   /* data was read straight into c->rbuf */
	conn *c = s->data;
	if (nread == 0)
		return;
	bool eof = nread < 0;
	if (!eof)
		c->rlen += (size_t)nread;
	else if (nread != UV_EOF && phase != P_DONE)
		warnx_limited("canal-load: read: %s\n", uv_strerror((int)nread));

	while (c->state == C_BUSY && c->rlen > 0) {
		resp r = {0};
		int rc = parse_response(c->rbuf, c->rlen, eof, &r);
		if (rc == R_INCOMPLETE)
			break;
		if (rc == R_BAD) {
			warnx_limited("canal-load: malformed response, dropping connection\n");
			request_done(c, false);
			conn_drop(c, false);
			return;
		}
		memmove(c->rbuf, c->rbuf + r.consumed, c->rlen - r.consumed);
		c->rlen -= r.consumed;
		request_done(c, r.ok);
		if (r.close || eof) {
			/* the server ends keep-alive: reopen, not a failure */
			conn_drop(c, false);
			return;
		}
		conn_ready(c);
	}
	if (eof && c->state != C_CLOSING && c->state != C_WAIT) {
		if (c->state == C_BUSY)
			request_done(c, false);   /* lost with the connection */
		conn_drop(c, c->state == C_BUSY);
	}
}

static void on_write(uv_write_t *req, int status)
{
	conn *c = req->handle->data;
	free(req);
	if (status < 0 && status != UV_ECANCELED && c->state == C_BUSY) {
		warnx_limited("canal-load: write: %s\n", uv_strerror(status));
		request_done(c, false);
		conn_drop(c, true);
	}
}

static void send_request(conn *c, uint64_t t_sched)
{
	if (phase == P_DONE)
		return;
	c->state = C_BUSY;
	c->t_sched = t_sched;
	c->in_window = counts(t_sched);
	size_t len = build_request(c->wbuf, ++req_seq);

	/* Most requests fit in the socket buffer: try a synchronous write
	 * first and only fall back to a queued write (with its own copy, as
	 * wbuf is reused by the next request) for the remainder. */
	uv_buf_t b = uv_buf_init(c->wbuf, (unsigned)len);
	int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (n == (int)len)
		return;
	if (n < 0 && n != UV_EAGAIN) {
		request_done(c, false);
		conn_drop(c, true);
		return;
	}
	size_t off = n > 0 ? (size_t)n : 0;
	wreq *w = xmalloc(sizeof *w + len - off);
	memcpy(w->data, c->wbuf + off, len - off);
	b = uv_buf_init(w->data, (unsigned)(len - off));
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (rc < 0) {
		free(w);
		request_done(c, false);
		conn_drop(c, true);
	}
}

static void on_retry(uv_timer_t *t)
{
	conn_open(t->data);
}

static void on_closed(uv_handle_t *h)
{
	conn *c = h->data;
	c->rlen = 0;
	c->state = C_WAIT;
	/* Reconnect. After a failure, back off a little so a dead server
	 * does not turn into a busy loop. */
	if (phase != P_DONE)
		uv_timer_start(&c->retry, on_retry, c->close_after ? RECONNECT_DELAY_MS : 0, 0);
}

static void idle_remove(conn *c)
{
	for (conn **pp = &idle_list; *pp; pp = &(*pp)->next_idle)
		if (*pp == c) {
			*pp = c->next_idle;
			return;
		}
}

/* failed: the connection broke (counts as a connection failure and gets
 * a reconnect backoff); otherwise it was an orderly close by the server. */
static void conn_drop(conn *c, bool failed)
{
	if (c->state == C_CLOSING || c->state == C_WAIT)
		return;
	if (c->state == C_IDLE)
		idle_remove(c);
	if (failed)
		n_conn_fail++;
	c->close_after = failed;
	c->state = C_CLOSING;
	uv_close((uv_handle_t *)&c->tcp, on_closed);
	maybe_finish();
}

static void start_run(void);

static void on_connect(uv_connect_t *req, int status)
{
	conn *c = req->data;
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;   /* closed by finish(): the connect was cancelled */
	if (status < 0) {
		if (phase == P_CONNECT) {
			fprintf(stderr, "canal-load: connect to %s:%s failed: %s\n", opt.host,
				opt.port, uv_strerror(status));
			exit(1);
		}
		if (status != UV_ECANCELED) {
			warnx_limited("canal-load: reconnect failed: %s\n", uv_strerror(status));
			n_conn_fail++;
		}
		c->close_after = true;
		c->state = C_CLOSING;
		uv_close((uv_handle_t *)&c->tcp, on_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	c->state = C_IDLE;
	if (!c->ever_connected) {
		c->ever_connected = true;
		if (++nconnected == opt.connections && phase == P_CONNECT)
			start_run();
		return;
	}
	conn_ready(c);
}

static void conn_open(conn *c)
{
	if (phase == P_DONE)
		return;
	uv_tcp_init(loop, &c->tcp);
	c->tcp.data = c;
	c->creq.data = c;
	c->state = C_CONNECTING;
	int rc = uv_tcp_connect(&c->creq, &c->tcp, (struct sockaddr *)&addr, on_connect);
	if (rc < 0) {
		if (phase == P_CONNECT) {
			fprintf(stderr, "canal-load: connect: %s\n", uv_strerror(rc));
			exit(1);
		}
		n_conn_fail++;
		c->close_after = true;
		c->state = C_CLOSING;
		uv_close((uv_handle_t *)&c->tcp, on_closed);
	}
}

/* ------------------------------------------------------------------ */
/* Open-loop schedule: a timerfd gives sub-millisecond wake-ups (libuv
 * timers have 1 ms resolution, which would add up to 1 ms of fake
 * latency to every request measured from its scheduled time). */

static uint64_t sched_time(uint64_t k)
{
	return t_start + (uint64_t)((double)k * 1e9 / opt.rate);
}

static void queue_push(uint64_t t)
{
	if (q_len == q_cap) {
		size_t ncap = q_cap ? q_cap * 2 : 1024;
		uint64_t *nq = xmalloc(ncap * sizeof *nq);
		for (size_t i = 0; i < q_len; i++)
			nq[i] = queue[(q_head + i) % q_cap];
		free(queue);
		queue = nq;
		q_cap = ncap;
		q_head = 0;
	}
	queue[(q_head + q_len) % q_cap] = t;
	q_len++;
}

static void arm_timerfd(uint64_t at)
{
	struct itimerspec its = {0};
	its.it_value.tv_sec = (time_t)(at / 1000000000u);
	its.it_value.tv_nsec = (long)(at % 1000000000u);
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;   /* zero would disarm */
	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void dispatch(void)
{
	uint64_t now = uv_hrtime();
	for (;;) {
		uint64_t t = sched_time(sched_k);
		if (t > now || t >= t_end)
			break;
		sched_k++;
		queue_push(t);
	}
	while (q_len > 0 && idle_list) {
		conn *c = idle_list;
		idle_list = c->next_idle;
		uint64_t t = queue[q_head];
		q_head = (q_head + 1) % q_cap;
		q_len--;
		send_request(c, t);
	}
	uint64_t next = sched_time(sched_k);
	if (phase == P_RUN && next < t_end)
		arm_timerfd(next);
}

static void on_tfd(uv_poll_t *p, int status, int events)
{
	(void)p, (void)status, (void)events;
	uint64_t expirations;
	if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
		perror("canal-load: timerfd");
	if (phase == P_RUN)
		dispatch();
}

/* ------------------------------------------------------------------ */
/* Phases */

static void on_drain_deadline(uv_timer_t *t)
{
	(void)t;
	finish();
}

static void on_window_end(uv_timer_t *t)
{
	(void)t;
	/* uv timers work on a millisecond clock and may fire a little before
	 * the exact t_end; wait out the rest so the last requests of the
	 * window are still scheduled. */
	uint64_t now = uv_hrtime();
	if (now < t_end) {
		uv_timer_start(&phase_timer, on_window_end, (t_end - now + 999999) / 1000000, 0);
		return;
	}
	if (opt.rate > 0)
		dispatch();   /* schedule anything due up to t_end */
	phase = P_DRAIN;
	if (tfd >= 0)
		uv_poll_stop(&tfd_poll);
	uv_timer_start(&phase_timer, on_drain_deadline, DRAIN_GRACE_MS, 0);
	maybe_finish();
}

static void start_run(void)
{
	phase = P_RUN;
	uv_update_time(loop);
	t_start = uv_hrtime();
	t_measure = t_start + (uint64_t)(opt.warmup * 1e9);
	t_end = t_measure + (uint64_t)(opt.duration * 1e9);
	/* The uv timer may fire up to ~1 ms late; on_window_end uses the
	 * exact t_end anyway, so that only delays the drain slightly. */
	uv_timer_start(&phase_timer, on_window_end,
		       (uint64_t)ceil((double)(t_end - t_start) / 1e6), 0);

	if (opt.rate > 0) {
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (tfd < 0) {
			perror("canal-load: timerfd_create");
			exit(1);
		}
		uv_poll_init(loop, &tfd_poll, tfd);
		uv_poll_start(&tfd_poll, UV_READABLE, on_tfd);
		/* A connection the server already closed is reconnecting and
		 * joins through conn_ready() once it is back. */
		for (int i = 0; i < opt.connections; i++) {
			if (conns[i].state != C_IDLE)
				continue;
			conns[i].next_idle = idle_list;
			idle_list = &conns[i];
		}
		dispatch();
	} else {
		uint64_t now = uv_hrtime();
		for (int i = 0; i < opt.connections; i++)
			if (conns[i].state == C_IDLE)
				send_request(&conns[i], now);
	}
}

static void on_connect_timeout(uv_timer_t *t)
{
	(void)t;
	fprintf(stderr, "canal-load: timed out connecting to %s:%s (%d of %d connected)\n",
		opt.host, opt.port, nconnected, opt.connections);
	exit(1);
}

static void on_sigint(uv_signal_t *s, int signum)
{
	(void)s, (void)signum;
	/* Report what was measured so far rather than nothing. */
	if (phase == P_RUN || phase == P_DRAIN) {
		uint64_t now = uv_hrtime();
		if (now < t_end)
			t_end = now > t_measure ? now : t_measure;
		interrupted = true;
		finish();
	} else {
		exit(130);
	}
}

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void finish(void)
{
	if (phase == P_DONE)
		return;
	phase = P_DONE;
	/* Requests still queued or in flight that belong to the window never
	 * got an answer in time: they are errors (timeouts). */
	if (interrupted)
		q_len = 0;
	for (size_t i = 0; i < q_len; i++)
		if (counts(queue[(q_head + i) % q_cap]))
			n_err++;
	q_len = 0;
	for (int i = 0; i < opt.connections; i++)
		if (conns[i].state == C_BUSY && conns[i].in_window && !interrupted)
			n_err++;

	/* Normally the window length. If the server fell behind and answers
	 * for the window kept arriving during the drain, stretch the duration
	 * to the last of them, so rps is what the server actually delivered
	 * rather than a window's worth of requests over the window. */
	uint64_t last = t_last_done > t_end ? t_last_done : t_end;
	double dur = (double)(last - t_measure) / 1e9;
	uint64_t total = n_ok + n_err;
	printf("requests=%llu ok=%llu errors=%llu duration=%.2f rps=%.1f "
	       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
	       (unsigned long long)total, (unsigned long long)n_ok, (unsigned long long)n_err, dur,
	       dur > 0 ? (double)n_ok / dur : 0.0, (double)hist_percentile(50) / 1e6,
	       (double)hist_percentile(90) / 1e6, (double)hist_percentile(99) / 1e6,
	       (double)hist_max / 1e6);
	fflush(stdout);
	if (n_conn_fail)
		fprintf(stderr, "canal-load: %llu connection failure(s)\n",
			(unsigned long long)n_conn_fail);
	uv_walk(loop, close_walk, NULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"url", required_argument, NULL, 'u'},
		{"token", required_argument, NULL, 't'},
		{"body", required_argument, NULL, 'b'},
		{"method", required_argument, NULL, 'm'},
		{"connections", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"rate", required_argument, NULL, 'r'},
		{"warmup", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *url = NULL;
	int ch;
	char *end;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 't': opt.token = optarg; break;
		case 'b': opt.body = optarg; break;
		case 'm': opt.method = optarg; break;
		case 'c':
			opt.connections = (int)strtol(optarg, &end, 10);
			if (*end || opt.connections < 1 || opt.connections > 10000)
				die_usage("--connections must be 1..10000");
			break;
		case 'd':
			opt.duration = strtod(optarg, &end);
			if (*end || !(opt.duration > 0 && opt.duration <= 3600))
				die_usage("--duration must be in (0, 3600] seconds");
			break;
		case 'r':
			opt.rate = strtod(optarg, &end);
			if (*end || !(opt.rate >= 0 && opt.rate <= 1e7))
				die_usage("--rate must be in [0, 1e7]");
			break;
		case 'w':
			opt.warmup = strtod(optarg, &end);
			if (*end || !(opt.warmup >= 0 && opt.warmup <= 600))
				die_usage("--warmup must be in [0, 600] seconds");
			break;
		case 'h': die_usage(NULL); break;
		default: die_usage(NULL);
		}
	}
	if (!url || optind != argc)
		die_usage(!url ? "--url is required" : "unexpected argument");
	parse_url(url);
	resolve();
	build_template();

	/* A peer closing mid-write must be an error code, not a dead process. */
	signal(SIGPIPE, SIG_IGN);

	loop = uv_default_loop();
	conns = calloc((size_t)opt.connections, sizeof *conns);
	if (!conns)
		die_usage("out of memory");
	uv_timer_init(loop, &phase_timer);
	uv_timer_start(&phase_timer, on_connect_timeout, CONNECT_TIMEOUT_MS, 0);
	uv_signal_init(loop, &sigint_h);
	uv_signal_start(&sigint_h, on_sigint, SIGINT);
	for (int i = 0; i < opt.connections; i++) {
		conn *c = &conns[i];
		c->wbuf = xmalloc(req_max_len);
		uv_timer_init(loop, &c->retry);
		c->retry.data = c;
		conn_open(c);
	}
	uv_run(loop, UV_RUN_DEFAULT);

	if (tfd >= 0)
		close(tfd);
	uv_loop_close(loop);
	for (int i = 0; i < opt.connections; i++) {
		free(conns[i].rbuf);
		free(conns[i].wbuf);
	}
	free(conns);
	free(queue);
	return n_conn_fail ? 1 : 0;
}
