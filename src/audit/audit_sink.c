/* Audit log streaming (design note in audit_sink.h).
 *
 * Per sink: IDLE --poll finds entries--> SENDING --ok--> IDLE (cursor
 * moved) ; SENDING --failure--> BACKOFF until retry_at --> IDLE (same
 * cursor). The TCP syslog sink also has its connection: none ->
 * connecting -> connected, back to none on any error. */
#include "audit/audit_sink.h"

#include <jansson.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

typedef enum { SINK_HTTP, SINK_UDP, SINK_TCP } sink_kind;
typedef enum { TCP_NONE, TCP_CONNECTING, TCP_UP } tcp_state;

typedef struct sink {
	struct audit_sink *k;
	sink_kind kind;
	int64_t cursor;       /* last seq delivered */
	int64_t pending_to;   /* last seq of the batch in flight */
	bool busy;
	int64_t retry_at_ms;
	int backoff_ms;
	/* HTTP */
	char *url;
	/* syslog */
	struct sockaddr_storage addr;
	uv_udp_t udp;
	bool udp_open;
	uv_tcp_t *tcp;        /* heap: freed in its close callback */
	tcp_state tstate;
	uv_connect_t conn;
} sink;

struct audit_sink {
	uv_loop_t *loop;
	store *st;
	fetch_ctx *fetch;
	uv_timer_t *timer;
	sink sinks[2];
	size_t n;
	char host[256];
	bool stopping;
	int refs;             /* handles still open + requests in flight */
};

static void maybe_free(audit_sink *k)
{
	if (k->stopping && k->refs == 0) {
		for (size_t i = 0; i < k->n; i++)
			free(k->sinks[i].url);
		free(k);
	}
}

static void unref_close_cb(uv_handle_t *h)
{
	audit_sink *k = h->data;
	if ((void *)h != (void *)&k->sinks[0].udp && (void *)h != (void *)&k->sinks[1].udp)
		free(h);
	k->refs--;
	maybe_free(k);
}

static int64_t now_ms(void)
{
	return clock_now_us() / 1000;
}

static void failed(sink *s, const char *why)
{
	s->busy = false;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 1000;
	if (s->backoff_ms > 60000)
		s->backoff_ms = 60000;
	s->retry_at_ms = now_ms() + s->backoff_ms;
	log_warn("audit stream: delivery failed, will retry", "sink=%s reason=%s retry_ms=%d",
		 s->kind == SINK_HTTP ? "http" : s->kind == SINK_UDP ? "udp" : "tcp", why,
		 s->backoff_ms);
}

static void delivered(sink *s)
{
	s->busy = false;
	s->backoff_ms = 0;
	s->cursor = s->pending_to;
}

/* ---- syslog framing ---- */

/* One RFC 5424 message: <PRI>1 TIMESTAMP HOST canal PID ACTION - JSON.
 * PRI 85: facility authpriv (10), severity notice (5). */
static void syslog_line(audit_sink *k, const char *entry, buf *out)
{
	json_t *e = json_loads(entry, 0, NULL);
	const char *action = json_string_value(json_object_get(e, "action"));
	time_t t = (time_t)json_integer_value(json_object_get(e, "date_create"));
	struct tm tm;
	gmtime_r(&t, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char msgid[33];
	snprintf(msgid, sizeof msgid, "%s", action && *action ? action : "-");
	for (char *p = msgid; *p; p++)
		if (*p < 33 || *p > 126)
			*p = '_';
	buf_printf(out, "<85>1 %s %s canal %d %s - %s", ts, k->host, (int)getpid(), msgid, entry);
	json_decref(e);
}

/* ---- UDP ---- */

typedef struct udp_req {
	uv_udp_send_t req;
	sink *s;
	bool last;
	char data[];
} udp_req;

static void udp_sent(uv_udp_send_t *r, int status)
{
	udp_req *u = (udp_req *)r;
	sink *s = u->s;
	audit_sink *k = s->k;
	k->refs--;
	if (u->last && !k->stopping) {
		if (status == 0)
			delivered(s);
		else
			failed(s, uv_err_name(status));
	}
	free(u);
	maybe_free(k);
}

static void send_udp(sink *s, store_audit_row *rows, size_t n)
{
	audit_sink *k = s->k;
	for (size_t i = 0; i < n; i++) {
		buf b = BUF_INIT;
		syslog_line(k, rows[i].entry, &b);
		udp_req *u = xmalloc(sizeof *u + b.len);
		memcpy(u->data, b.data, b.len);
		u->s = s;
		u->last = i + 1 == n;
		uv_buf_t ub = uv_buf_init(u->data, (unsigned)b.len);
		buf_release(&b);
		k->refs++;
		int rc = uv_udp_send(&u->req, &s->udp, &ub, 1, (struct sockaddr *)&s->addr, udp_sent);
		if (rc != 0) {
			k->refs--;
			free(u);
			failed(s, uv_err_name(rc));
			return;
		}
	}
}

/* ---- TCP ---- */

typedef struct tcp_req {
	uv_write_t req;
	sink *s;
	char data[];
} tcp_req;

static void tcp_drop(sink *s)
{
	if (s->tcp) {
		if (!uv_is_closing((uv_handle_t *)s->tcp)) {
			s->tcp->data = s->k;   /* what unref_close_cb expects */
			uv_close((uv_handle_t *)s->tcp, unref_close_cb);
		}
		s->tcp = NULL;
	}
	s->tstate = TCP_NONE;
}

static void tcp_written(uv_write_t *r, int status)
{
	tcp_req *t = (tcp_req *)r;
	sink *s = t->s;
	audit_sink *k = s->k;
	k->refs--;
	free(t);
	if (!k->stopping) {
		if (status == 0) {
			delivered(s);
		} else {
			failed(s, uv_err_name(status));
			tcp_drop(s);
		}
	}
	maybe_free(k);
}

static void tcp_write_batch(sink *s, store_audit_row *rows, size_t n)
{
	buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf line = BUF_INIT;
		syslog_line(s->k, rows[i].entry, &line);
		buf_printf(&b, "%zu ", line.len);   /* RFC 6587 octet counting */
		buf_add(&b, line.data, line.len);
		buf_release(&line);
	}
	tcp_req *t = xmalloc(sizeof *t + b.len);
	memcpy(t->data, b.data, b.len);
	t->s = s;
	uv_buf_t ub = uv_buf_init(t->data, (unsigned)b.len);
	buf_release(&b);
	s->k->refs++;
	int rc = uv_write(&t->req, (uv_stream_t *)s->tcp, &ub, 1, tcp_written);
	if (rc != 0) {
		s->k->refs--;
		free(t);
		failed(s, uv_err_name(rc));
		tcp_drop(s);
	}
}

/* Server closed or reset: reading tells us (we never expect data). */
static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char slab[512];
	*b = uv_buf_init(slab, sizeof slab);
}

static void tcp_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	sink *s = st->data;
	if (n < 0 && s->tcp == (uv_tcp_t *)st && !s->busy)
		tcp_drop(s);
}

static void tcp_connected(uv_connect_t *c, int status)
{
	sink *s = c->data;
	audit_sink *k = s->k;
	k->refs--;
	if (k->stopping || !s->tcp) {
		maybe_free(k);
		return;
	}
	if (status != 0) {
		failed(s, uv_err_name(status));
		tcp_drop(s);
		return;
	}
	s->tstate = TCP_UP;
	uv_read_start((uv_stream_t *)s->tcp, tcp_alloc, tcp_read);
	s->busy = false;   /* the poll sends the batch now that the line is up */
}

static void tcp_connect(sink *s)
{
	audit_sink *k = s->k;
	s->tcp = xmalloc(sizeof *s->tcp);
	uv_tcp_init(k->loop, s->tcp);
	s->tcp->data = s;
	k->refs++;   /* the handle */
	s->conn.data = s;
	s->tstate = TCP_CONNECTING;
	s->busy = true;
	k->refs++;   /* the connect request */
	int rc = uv_tcp_connect(&s->conn, s->tcp, (struct sockaddr *)&s->addr, tcp_connected);
	if (rc != 0) {
		k->refs--;
		failed(s, uv_err_name(rc));
		tcp_drop(s);
	}
}

/* ---- HTTP ---- */

static void http_done(void *ud, const fetch_result *r)
{
	sink *s = ud;
	audit_sink *k = s->k;
	k->refs--;
	if (!k->stopping) {
		if (r->status >= 200 && r->status < 300) {
			delivered(s);
		} else {
			char why[64];
			snprintf(why, sizeof why, "%s", r->err ? r->err : "http_error");
			if (!r->err)
				snprintf(why, sizeof why, "http_%d", r->status);
			failed(s, why);
		}
	}
	maybe_free(k);
}

static void send_http(sink *s, store_audit_row *rows, size_t n)
{
	buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		buf_adds(&b, rows[i].entry);
		buf_addc(&b, '\n');
	}
	s->k->refs++;
	fetch_post(s->k->fetch, s->url, "application/x-ndjson", NULL, b.data, b.len, 10000, http_done,
		   s);
	buf_release(&b);
}

/* ---- the poll ---- */

static void poll_sink(sink *s)
{
	if (s->busy || now_ms() < s->retry_at_ms)
		return;
	if (s->kind == SINK_TCP && s->tstate != TCP_UP) {
		if (s->tstate == TCP_NONE) {
			/* Connect only when there is something to send. */
			store_audit_row *probe;
			size_t pn;
			if (store_audit_after(s->k->st, s->cursor, 1, &probe, &pn) == 0 && pn)
				tcp_connect(s);
			store_audit_rows_free(probe, pn);
		}
		return;
	}
	store_audit_row *rows;
	size_t n;
	if (store_audit_after(s->k->st, s->cursor, AUDIT_SINK_BATCH, &rows, &n) != 0 || !n) {
		store_audit_rows_free(rows, n);
		return;
	}
	s->busy = true;
	s->pending_to = rows[n - 1].seq;
	if (s->kind == SINK_HTTP)
		send_http(s, rows, n);
	else if (s->kind == SINK_UDP)
		send_udp(s, rows, n);
	else
		tcp_write_batch(s, rows, n);
	store_audit_rows_free(rows, n);
}

static void tick(uv_timer_t *t)
{
	audit_sink *k = t->data;
	for (size_t i = 0; i < k->n; i++)
		poll_sink(&k->sinks[i]);
}

static int resolve(const char *hostport, struct sockaddr_storage *out, bool tcp)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || !colon[1])
		return -1;
	size_t hn = (size_t)(colon - hostport);
	if (hn >= sizeof host)
		return -1;
	memcpy(host, hostport, hn);
	host[hn] = '\0';
	if (host[0] == '[' && hn > 2 && host[hn - 1] == ']') {
		memmove(host, host + 1, hn - 2);
		host[hn - 2] = '\0';
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM};
	struct addrinfo *ai = NULL;
	/* Once, at start-up: before the loop serves anyone. */
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -1;
	memcpy(out, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

audit_sink *audit_sink_new(uv_loop_t *loop, store *st, fetch_ctx *fetch, const char *syslog_target,
			   const char *http_url, char *err, size_t errlen)
{
	err[0] = '\0';
	bool want_syslog = syslog_target && *syslog_target, want_http = http_url && *http_url;
	if (!want_syslog && !want_http)
		return NULL;
	audit_sink *k = xcalloc(1, sizeof *k);
	k->loop = loop;
	k->st = st;
	k->fetch = fetch;
	if (gethostname(k->host, sizeof k->host) != 0 || !k->host[0])
		snprintf(k->host, sizeof k->host, "-");
	k->host[sizeof k->host - 1] = '\0';
	int64_t last = 0;
	store_audit_last_seq(st, &last);
	if (want_http) {
		if (strncmp(http_url, "http://", 7) != 0 && strncmp(http_url, "https://", 8) != 0) {
			snprintf(err, errlen, "audit-http-url must be an http:// or https:// URL");
			goto bad;
		}
		sink *s = &k->sinks[k->n++];
		s->k = k;
		s->kind = SINK_HTTP;
		s->url = xstrdup(http_url);
		s->cursor = last;
	}
	if (want_syslog) {
		bool udp = strncmp(syslog_target, "udp://", 6) == 0;
		bool tcp = strncmp(syslog_target, "tcp://", 6) == 0;
		sink *s = &k->sinks[k->n];
		s->k = k;
		if ((!udp && !tcp) || resolve(syslog_target + 6, &s->addr, tcp) != 0) {
			snprintf(err, errlen, "audit-syslog must be udp://HOST:PORT or tcp://HOST:PORT");
			goto bad;
		}
		k->n++;
		s->kind = udp ? SINK_UDP : SINK_TCP;
		s->cursor = last;
		if (udp) {
			uv_udp_init(loop, &s->udp);
			s->udp.data = k;
			s->udp_open = true;
			k->refs++;
		}
	}
	k->timer = xmalloc(sizeof *k->timer);
	uv_timer_init(loop, k->timer);
	k->timer->data = k;
	k->refs++;
	uv_timer_start(k->timer, tick, AUDIT_SINK_POLL_MS, AUDIT_SINK_POLL_MS);
	return k;
bad:
	for (size_t i = 0; i < k->n; i++)
		free(k->sinks[i].url);
	free(k);
	return NULL;
}

void audit_sink_free(audit_sink *k)
{
	if (!k)
		return;
	k->stopping = true;
	if (k->timer)
		uv_close((uv_handle_t *)k->timer, unref_close_cb);
	for (size_t i = 0; i < k->n; i++) {
		sink *s = &k->sinks[i];
		if (s->udp_open)
			uv_close((uv_handle_t *)&s->udp, unref_close_cb);
		if (s->tcp)
			tcp_drop(s);
	}
	maybe_free(k);
}
