/* Outbound HTTP: libcurl's multi socket interface driven by the libuv loop.
 *
 * Design note
 *
 * Purpose. POST to apps' endpoints (Events API deliveries, slash commands,
 * interactivity) from the loop thread without ever blocking it: curl does
 * the protocol work on non-blocking sockets, libuv tells it when a socket
 * is ready (one uv_poll_t per socket) and when its timeout expires (one
 * uv_timer_t).
 *
 * Request states and the function for each transition:
 *
 *   fetch_post
 *       |
 *       v         pump -> req_start (fewer than max_in_flight IN_FLIGHT)
 *    QUEUED ---------------------------------------------------> IN_FLIGHT
 *       |   \                                                        |
 *       |    \ req_start: curl would not take the handle             |
 *       |     v                                                      |
 *       |   FAILED --kick_cb (0 ms timer)--> DONE <--check_done------+
 *       |                                     ^    (CURLMSG_DONE,
 *       |                                     |     req_complete)
 *       +------fetch_ctx_free ("shutdown"; ---+
 *               IN_FLIGHT and FAILED too)
 *
 *   DONE is req_deliver: the callback runs once, then the request is freed.
 *
 * Invariants.
 *  1. A callback runs only from a libuv callback of this module (curl's
 *     poll or timer, the kick timer) or from fetch_ctx_free, never from
 *     fetch_post: fetch_post only queues and adds easy handles, and
 *     curl_multi_add_handle transfers nothing, it just asks (through the
 *     timer callback) to be driven, which happens on a later loop turn. A
 *     request curl would not even take waits in x->failed for the kick
 *     timer (0 ms).
 *  2. At most max_in_flight easy handles are in the multi (x->active);
 *     the rest wait in x->queue in arrival order. fetch_post always appends
 *     to the queue and then pumps, so a request posted from a callback
 *     never overtakes older queued ones.
 *  3. One uv_poll_t per socket curl asks about (a sock, linked to curl with
 *     curl_multi_assign), stopped and uv_close()d on CURL_POLL_REMOVE,
 *     before curl closes the descriptor, and freed in its close callback.
 *     curl is never re-entered from its own callbacks: those only start
 *     and stop uv handles.
 *  4. timeout_ms and elapsed_ms count from req_start (the moment the
 *     request goes IN_FLIGHT): time spent QUEUED is our backlog, not the
 *     endpoint's slowness, and must not turn into an "http_timeout".
 *     timeout_ms <= 0 means FETCH_DEFAULT_TIMEOUT, never "no limit".
 *  5. Response bodies are capped: write_cb keeps max_response_bytes, then
 *     aborts the transfer (CURLE_WRITE_ERROR with r->truncated set counts
 *     as an answer), so an endless body costs nothing further.
 *  6. fetch_ctx_free called from inside a fetch_cb is deferred until the
 *     dispatch that called it returns (x->depth, x->free_wanted). After
 *     fetch__destroy the struct stays allocated only until both timers'
 *     close callbacks have run (x->handles); nothing else touches it.
 *  7. x->queue has no bound of its own: its producers (the apps runtime)
 *     bound their per-app queues, and this one only holds what exceeds
 *     max_in_flight of those.
 *
 * Details. The Content-Type passed back is curl's CURLINFO_CONTENT_TYPE
 * (the last response's header, read before curl_easy_cleanup). Header
 * lines holding CR or LF are dropped rather than sent. Transport errors
 * map to retry-reason names through the fetch_reasons table; an HTTP
 * answer of any status (3xx included) is reported with err NULL.
 */
#include "net/fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"

#define FETCH_DEFAULT_BODY      (1u << 20)
#define FETCH_DEFAULT_IN_FLIGHT 256
#define FETCH_DEFAULT_TIMEOUT   30000   /* when fetch_post gets timeout_ms <= 0 */
#define FETCH_USER_AGENT        "Canal/0.1"
#define FETCH_MAX_HEADERS       (16u << 10)

typedef enum {
	REQ_QUEUED,     /* in x->queue, no easy handle */
	REQ_IN_FLIGHT,  /* in x->active, easy handle in the multi */
	REQ_FAILED,     /* in x->failed, waiting for kick_cb to report r->fail */
} req_state;

typedef struct fetch_req fetch_req;
struct fetch_req {
	req_state state;
	fetch_req *prev, *next;
	/* what fetch_post was given, copied */
	char *url;
	struct curl_slist *headers;
	char *body;             /* never NULL */
	size_t len;
	int timeout_ms;
	fetch_cb cb;
	void *ud;
	/* the transfer */
	CURL *easy;
	int64_t start_us;       /* 0 until IN_FLIGHT */
	buf resp;
	buf hdrs;               /* header lines of the latest response */
	size_t max_body;
	int truncated;
	const char *fail;       /* REQ_FAILED: the reason */
};

typedef struct req_list {
	fetch_req *head, *tail;
	size_t n;
} req_list;

/* One curl socket watched by the loop. */
typedef struct sock {
	uv_poll_t poll;
	fetch_ctx *x;
	curl_socket_t fd;
	struct sock *prev, *next;
} sock;

struct fetch_ctx {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;       /* curl's timeout */
	uv_timer_t kick;        /* reports x->failed */
	int handles;            /* timers not closed yet */
	size_t max_body;
	size_t max_in_flight;
	req_list queue, active, failed;
	sock *socks;
	int depth;              /* > 0 while a dispatch (and user callbacks) runs */
	int free_wanted;        /* fetch_ctx_free called during a dispatch */
	int closing;            /* fetch__destroy started */
};

/* ---- transport errors -> Slack's X-Slack-Retry-Reason names ---- */

static const struct {
	CURLcode code;
	const char *reason;
} fetch_reasons[] = {
	{CURLE_OPERATION_TIMEDOUT, "http_timeout"},
	{CURLE_COULDNT_CONNECT, "connection_failed"},
	{CURLE_COULDNT_RESOLVE_HOST, "connection_failed"},
	{CURLE_COULDNT_RESOLVE_PROXY, "connection_failed"},
	{CURLE_RECV_ERROR, "connection_failed"},
	{CURLE_SEND_ERROR, "connection_failed"},
	{CURLE_GOT_NOTHING, "connection_failed"},
	{CURLE_PARTIAL_FILE, "connection_failed"},   /* closed before the whole body */
	{CURLE_SSL_CONNECT_ERROR, "ssl_error"},
	{CURLE_PEER_FAILED_VERIFICATION, "ssl_error"},
	{CURLE_SSL_CERTPROBLEM, "ssl_error"},
	{CURLE_SSL_CIPHER, "ssl_error"},
	{CURLE_SSL_CACERT_BADFILE, "ssl_error"},
	{CURLE_SSL_ENGINE_NOTFOUND, "ssl_error"},
	{CURLE_SSL_ENGINE_SETFAILED, "ssl_error"},
	{CURLE_SSL_ENGINE_INITFAILED, "ssl_error"},
	{CURLE_SSL_SHUTDOWN_FAILED, "ssl_error"},
	{CURLE_SSL_CRL_BADFILE, "ssl_error"},
	{CURLE_SSL_ISSUER_ERROR, "ssl_error"},
	{CURLE_SSL_PINNEDPUBKEYNOTMATCH, "ssl_error"},
	{CURLE_SSL_INVALIDCERTSTATUS, "ssl_error"},
	{CURLE_SSL_CLIENTCERT, "ssl_error"},
	{CURLE_USE_SSL_FAILED, "ssl_error"},
};

static const char *reason_of(CURLcode rc)
{
	for (size_t i = 0; i < sizeof fetch_reasons / sizeof fetch_reasons[0]; i++)
		if (fetch_reasons[i].code == rc)
			return fetch_reasons[i].reason;
	return "unknown_error";
}

/* ---- request lists ---- */

static void list_push(req_list *l, fetch_req *r)
{
	r->prev = l->tail;
	r->next = NULL;
	if (l->tail)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
}

static void list_remove(req_list *l, fetch_req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		l->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		l->tail = r->prev;
	r->prev = r->next = NULL;
	l->n--;
}

static fetch_req *list_pop(req_list *l)
{
	fetch_req *r = l->head;
	if (r)
		list_remove(l, r);
	return r;
}

/* ---- requests ---- */

static void req_free(fetch_req *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->url);
	free(r->body);
	buf_release(&r->resp);
	buf_release(&r->hdrs);
	free(r);
}

/* DONE: reports the result and frees r. r is in no list and its easy
 * handle, if any, is out of the multi (CURLINFO_CONTENT_TYPE stays
 * readable until curl_easy_cleanup). */
static void req_deliver(fetch_req *r, int status, const char *err)
{
	const char *ctype = NULL;
	if (status && r->easy)
		curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ctype);
	fetch_result res = {
		.status = status,
		.err = err,
		.body = status && r->resp.data ? r->resp.data : "",
		.body_len = status ? r->resp.len : 0,
		.content_type = ctype,
		.truncated = status ? r->truncated : 0,
		.elapsed_ms = r->start_us ? (long)((clock_mono_us() - r->start_us) / 1000) : 0,
		.headers = status && r->hdrs.data ? r->hdrs.data : "",
		.headers_len = status ? r->hdrs.len : 0,
	};
	if (err)
		log_debug("fetch failed", "status=%d err=%s ms=%ld", status, err, res.elapsed_ms);
	r->cb(r->ud, &res);
	req_free(r);
}

static void kick_cb(uv_timer_t *t);

/* QUEUED -> FAILED: curl would not take the request. */
static void req_fail(fetch_ctx *x, fetch_req *r, const char *reason)
{
	r->state = REQ_FAILED;
	r->fail = reason;
	list_push(&x->failed, r);
	uv_timer_start(&x->kick, kick_cb, 0, 0);
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	fetch_req *r = ud;
	size_t n = size * nmemb;
	size_t room = r->max_body - r->resp.len;
	if (n > room) {
		/* keep what fits, then abort: the rest is never read (rule 5) */
		buf_add(&r->resp, data, room);
		r->truncated = 1;
		return 0;
	}
	buf_add(&r->resp, data, n);
	return n;
}

/* Header lines as curl reads them, one per call (CRLF included). A status
 * line starts a new response (after a 1xx interim one, or a redirect we
 * do not follow), so the block restarts there. */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	fetch_req *r = ud;
	size_t n = size * nmemb;
	if (n >= 5 && !memcmp(data, "HTTP/", 5))
		r->hdrs.len = 0;
	if (r->hdrs.len + n <= FETCH_MAX_HEADERS)
		buf_add(&r->hdrs, data, n);
	return n;
}

/* QUEUED -> IN_FLIGHT (or FAILED). */
static void req_start(fetch_ctx *x, fetch_req *r)
{
	CURL *e = curl_easy_init();
	if (!e) {
		req_fail(x, r, "unknown_error");
		return;
	}
	r->easy = e;
	r->start_us = clock_mono_us();
	int rc = 0;
	rc |= curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	rc |= curl_easy_setopt(e, CURLOPT_URL, r->url);
	rc |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	rc |= curl_easy_setopt(e, CURLOPT_POST, 1L);
	/* size first: the body may hold NULs; r->body lives as long as e */
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
	rc |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	rc |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	rc |= curl_easy_setopt(e, CURLOPT_USERAGENT, FETCH_USER_AGENT);
	rc |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	rc |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	rc |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	rc |= curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	if (rc != CURLE_OK || curl_multi_add_handle(x->multi, e) != CURLM_OK) {
		req_fail(x, r, "unknown_error");
		return;
	}
	r->state = REQ_IN_FLIGHT;
	list_push(&x->active, r);
}

static void pump(fetch_ctx *x)
{
	while (!x->closing && !x->free_wanted && x->active.n < x->max_in_flight && x->queue.head)
		req_start(x, list_pop(&x->queue));
}

/* IN_FLIGHT -> DONE, once curl is finished with r (removed from the multi). */
static void req_complete(fetch_req *r, CURLcode rc)
{
	long status = 0;
	const char *err = NULL;
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && r->truncated)) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 0)
			err = "unknown_error";
	} else {
		err = reason_of(rc);
	}
	req_deliver(r, (int)status, err);
}

/* ---- dispatch ---- */

static void fetch__destroy(fetch_ctx *x);

static void enter(fetch_ctx *x)
{
	x->depth++;
}

static void leave(fetch_ctx *x)
{
	if (--x->depth == 0 && x->free_wanted && !x->closing)
		fetch__destroy(x);
}

/* Reports every transfer curl has finished, then starts queued ones. */
static void check_done(fetch_ctx *x)
{
	CURLMsg *m;
	int left;
	while (!x->free_wanted && (m = curl_multi_info_read(x->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;   /* m is invalid after remove_handle */
		char *p = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
		fetch_req *r = (fetch_req *)p;
		curl_multi_remove_handle(x->multi, e);
		list_remove(&x->active, r);
		req_complete(r, rc);
	}
	pump(x);
}

static void kick_cb(uv_timer_t *t)
{
	fetch_ctx *x = t->data;
	enter(x);
	fetch_req *r;
	while (!x->free_wanted && (r = list_pop(&x->failed)))
		req_deliver(r, 0, r->fail);
	pump(x);
	leave(x);
}

static void timeout_cb(uv_timer_t *t)
{
	fetch_ctx *x = t->data;
	int running;
	enter(x);
	curl_multi_socket_action(x->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(x);
	leave(x);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	sock *s = h->data;
	fetch_ctx *x = s->x;     /* s may be closed during the action */
	curl_socket_t fd = s->fd;
	int flags = 0;
	if (status < 0) {
		flags = CURL_CSELECT_ERR;
	} else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	int running;
	enter(x);
	curl_multi_socket_action(x->multi, fd, flags, &running);
	check_done(x);
	leave(x);
}

/* ---- curl's callbacks: they only start and stop uv handles ---- */

static void sock_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void sock_close(fetch_ctx *x, sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		x->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_close_cb);
}

static int multi_socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	fetch_ctx *x = userp;
	sock *s = socketp;
	if (what == CURL_POLL_REMOVE) {
		/* curl drops its own entry for fd after this returns */
		if (s)
			sock_close(x, s);
		return 0;
	}
	if (!s) {
		s = xcalloc(1, sizeof *s);
		if (uv_poll_init_socket(x->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->x = x;
		s->fd = fd;
		s->next = x->socks;
		if (x->socks)
			x->socks->prev = s;
		x->socks = s;
		curl_multi_assign(x->multi, fd, s);
	}
	int ev = 0;
	if (what & CURL_POLL_IN)
		ev |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&s->poll, ev, poll_cb);
	return 0;
}

static int multi_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	fetch_ctx *x = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&x->timer);
	else
		uv_timer_start(&x->timer, timeout_cb, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- context ---- */

static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("curl_global_init failed", NULL);
		abort();
	}
}

fetch_ctx *fetch_ctx_new(uv_loop_t *loop, const fetch_cfg *cfg)
{
	pthread_once(&fetch_once, global_init);
	fetch_ctx *x = xcalloc(1, sizeof *x);
	x->loop = loop;
	x->max_body = cfg && cfg->max_response_bytes ? cfg->max_response_bytes : FETCH_DEFAULT_BODY;
	x->max_in_flight = cfg && cfg->max_in_flight > 0 ? (size_t)cfg->max_in_flight
							  : FETCH_DEFAULT_IN_FLIGHT;
	x->multi = curl_multi_init();
	if (!x->multi) {
		log_error("curl_multi_init failed", NULL);
		abort();
	}
	curl_multi_setopt(x->multi, CURLMOPT_SOCKETFUNCTION, multi_socket_cb);
	curl_multi_setopt(x->multi, CURLMOPT_SOCKETDATA, x);
	curl_multi_setopt(x->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(x->multi, CURLMOPT_TIMERDATA, x);
	uv_timer_init(loop, &x->timer);
	uv_timer_init(loop, &x->kick);
	x->timer.data = x;
	x->kick.data = x;
	x->handles = 2;
	return x;
}

static void ctx_close_cb(uv_handle_t *h)
{
	fetch_ctx *x = h->data;
	if (--x->handles == 0)
		free(x);
}

/* Cancels everything, then closes. Callbacks may post again while this
 * runs: those requests are cancelled too. */
static void fetch__destroy(fetch_ctx *x)
{
	x->closing = 1;
	for (;;) {
		fetch_req *r = x->active.head;
		if (r) {
			list_remove(&x->active, r);
			curl_multi_remove_handle(x->multi, r->easy);
		} else if (!(r = list_pop(&x->failed)) && !(r = list_pop(&x->queue))) {
			break;
		}
		req_deliver(r, 0, "shutdown");
	}
	curl_multi_cleanup(x->multi);
	x->multi = NULL;
	while (x->socks)
		sock_close(x, x->socks);
	uv_close((uv_handle_t *)&x->timer, ctx_close_cb);
	uv_close((uv_handle_t *)&x->kick, ctx_close_cb);
}

void fetch_ctx_free(fetch_ctx *x)
{
	if (!x || x->closing)
		return;
	if (x->depth) {
		x->free_wanted = 1;   /* leave() destroys once the dispatch unwinds */
		return;
	}
	fetch__destroy(x);
}

/* ---- requests in ---- */

static int has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

static struct curl_slist *slist_add(struct curl_slist *l, const char *line)
{
	struct curl_slist *n = curl_slist_append(l, line);
	if (!n) {
		log_error("out of memory", NULL);
		abort();
	}
	return n;
}

void fetch_post(fetch_ctx *x, const char *url, const char *content_type,
		const char *const *headers, const char *body, size_t len, int timeout_ms, fetch_cb cb,
		void *ud)
{
	fetch_req *r = xcalloc(1, sizeof *r);
	r->state = REQ_QUEUED;
	r->url = xstrdup(url ? url : "");
	r->body = xmalloc(len + 1);
	if (len)
		memcpy(r->body, body, len);
	r->body[len] = '\0';
	r->len = len;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : FETCH_DEFAULT_TIMEOUT;
	r->cb = cb;
	r->ud = ud;
	r->max_body = x->max_body;

	/* A line with CR or LF would smuggle headers: dropped. "Content-Type:"
	 * alone makes curl send none rather than its form default. */
	if (content_type && !has_crlf(content_type)) {
		char *line = xasprintf("Content-Type: %s", content_type);
		r->headers = slist_add(r->headers, line);
		free(line);
	} else {
		if (content_type)
			log_warn("fetch: Content-Type with CR/LF dropped", NULL);
		r->headers = slist_add(r->headers, "Content-Type:");
	}
	for (size_t i = 0; headers && headers[i]; i++) {
		if (has_crlf(headers[i])) {
			log_warn("fetch: header line with CR/LF dropped", NULL);
			continue;
		}
		r->headers = slist_add(r->headers, headers[i]);
	}
	r->headers = slist_add(r->headers, "Expect:");

	list_push(&x->queue, r);
	pump(x);
}

/* ---- signing ---- */

void fetch_slack_signature(const char *secret, long long timestamp, const char *body, size_t len,
			   char out[68])
{
	crypto_auth_hmacsha256_state st;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char head[32];
	int n = snprintf(head, sizeof head, "v0:%lld:", timestamp);
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)head, (size_t)n);
	if (len)
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof st);
	memcpy(out, "v0=", 3);
	sodium_bin2hex(out + 3, 68 - 3, mac, sizeof mac);
}
