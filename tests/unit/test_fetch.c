/* Outbound HTTP (fetch) against a real http_server on 127.0.0.1:0 in the
 * same uv loop: the test thread drives the loop (never sleeps), the server
 * handler records what arrived and answers by path, and every fetch_cb
 * copies its result into a slot. Checks the request on the wire, the
 * result passed back, transport failures and their Slack retry-reason
 * names, the body cap, the in-flight limit and its FIFO queue, and
 * shutdown with requests in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "net/fetch.h"
#include "net/http.h"

#define WAIT_US (10 * 1000000)
#define MAX_HELD 64
#define NRES 64

typedef struct tres {
	int called;
	int status;
	char err[64];
	char body[4096];
	size_t body_len;
	char ctype[128];
	int truncated;
	long elapsed_ms;
	char x_answer[32];          /* fetch_header "x-answer", or "(none)" */
	char no_retry[8];           /* fetch_header "X-Slack-No-Retry" */
	int has_missing;            /* fetch_header found "x-missing" */
} tres;

typedef struct tenv {
	uv_loop_t loop;
	http_server *srv;
	int port;
	int stopped;
	fetch_ctx *fx;
	/* the last request the server saw */
	char method[16], path[256], ctype[128], xone[128], xtwo[128], expect[64], ua[64];
	buf body;
	/* /hold and /hang requests, answered by the test */
	http_req *held[MAX_HELD];
	int nheld;
	int pending, max_pending;   /* /hold requests not answered yet */
	int ndelivered;
	size_t big_len;
	tres res[NRES];
	int ncalled;
	int free_in_cb;             /* slot 0's callback frees the ctx */
} tenv;

typedef struct slot {
	tenv *t;
	int i;
} slot;

static int g_in_post;

/* ---- server side ---- */

static void copy_header(const http_req *r, const char *name, char *out, size_t n)
{
	const char *v = http_req_header(r, name);
	snprintf(out, n, "%s", v ? v : "(none)");
}

static void handler(http_req *r, void *ud)
{
	tenv *t = ud;
	t->ndelivered++;
	snprintf(t->method, sizeof t->method, "%s", r->method);
	snprintf(t->path, sizeof t->path, "%s", r->path);
	copy_header(r, "content-type", t->ctype, sizeof t->ctype);
	copy_header(r, "x-one", t->xone, sizeof t->xone);
	copy_header(r, "x-two", t->xtwo, sizeof t->xtwo);
	copy_header(r, "expect", t->expect, sizeof t->expect);
	copy_header(r, "user-agent", t->ua, sizeof t->ua);
	buf_reset(&t->body);
	buf_add(&t->body, r->body, r->body_len);

	if (strcmp(r->path, "/echo") == 0) {
		http_respond(r, 201, "application/json; charset=utf-8", "X-Answer: 1\r\n",
			     "{\"ok\":true}", 11);
	} else if (strcmp(r->path, "/fail") == 0) {
		http_respond(r, 500, "text/plain", NULL, "oops", 4);
	} else if (strcmp(r->path, "/noretry") == 0) {
		http_respond(r, 500, "text/plain", "x-slack-no-retry:  1 \r\n", "no", 2);
	} else if (strcmp(r->path, "/redirect") == 0) {
		http_respond(r, 302, NULL, "Location: /echo\r\n", "", 0);
	} else if (strcmp(r->path, "/big") == 0) {
		char *b = xmalloc(t->big_len);
		memset(b, 'x', t->big_len);
		http_respond_owned(r, 200, "text/plain", NULL, b, t->big_len);
	} else if (strcmp(r->path, "/hold") == 0 || strcmp(r->path, "/hang") == 0) {
		assert_true(t->nheld < MAX_HELD);
		t->held[t->nheld++] = r;
		if (strcmp(r->path, "/hold") == 0 && ++t->pending > t->max_pending)
			t->max_pending = t->pending;
	} else {
		http_respond(r, 404, "text/plain", NULL, "nf", 2);
	}
}

/* Answers every held request with its own body ("ok <body>"). */
static void answer_held(tenv *t)
{
	for (int i = 0; i < t->nheld; i++) {
		http_req *r = t->held[i];
		if (strcmp(r->path, "/hold") == 0)
			t->pending--;
		char *b = xasprintf("ok %.*s", (int)r->body_len, r->body);
		http_respond_owned(r, 200, "text/plain", NULL, b, strlen(b));
	}
	t->nheld = 0;
}

/* ---- client side ---- */

static void result_cb(void *ud, const fetch_result *res)
{
	slot *s = ud;
	tenv *t = s->t;
	tres *o = &t->res[s->i];
	/* rule 1: never from inside fetch_post, exactly once */
	assert_false(g_in_post);
	assert_int_equal(o->called, 0);
	o->called = 1;
	o->status = res->status;
	snprintf(o->err, sizeof o->err, "%s", res->err ? res->err : "(null)");
	assert_non_null(res->body);
	assert_int_equal(res->body[res->body_len], '\0');
	o->body_len = res->body_len;
	memcpy(o->body, res->body, res->body_len < sizeof o->body ? res->body_len + 1 : sizeof o->body);
	o->body[sizeof o->body - 1] = '\0';
	snprintf(o->ctype, sizeof o->ctype, "%s", res->content_type ? res->content_type : "(null)");
	o->truncated = res->truncated;
	o->elapsed_ms = res->elapsed_ms;
	if (!fetch_header(res, "x-answer", o->x_answer, sizeof o->x_answer))
		snprintf(o->x_answer, sizeof o->x_answer, "(none)");
	fetch_header(res, "X-Slack-No-Retry", o->no_retry, sizeof o->no_retry);
	o->has_missing = fetch_header(res, "x-missing", NULL, 0);
	t->ncalled++;
	free(s);
	if (t->free_in_cb) {
		t->free_in_cb = 0;
		fetch_ctx_free(t->fx);
		t->fx = NULL;
	}
}

static void post(tenv *t, int i, const char *url, const char *ctype, const char *const *hdrs,
		 const char *body, size_t len, int timeout_ms)
{
	slot *s = xmalloc(sizeof *s);
	s->t = t;
	s->i = i;
	g_in_post = 1;
	fetch_post(t->fx, url, ctype, hdrs, body, len, timeout_ms, result_cb, s);
	g_in_post = 0;
}

static char *url_of(tenv *t, const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", t->port, path);
}

/* ---- harness ---- */

static void step(tenv *t)
{
	uv_run(&t->loop, UV_RUN_NOWAIT);
	struct pollfd pf = {uv_backend_fd(&t->loop), POLLIN, 0};
	int to = uv_backend_timeout(&t->loop);
	if (to < 0 || to > 10)
		to = 10;
	poll(&pf, 1, to);
}

#define DRIVE_UNTIL(t, cond)                                                   \
	do {                                                                   \
		int64_t dl_ = clock_mono_us() + WAIT_US;                       \
		while (!(cond)) {                                              \
			if (clock_mono_us() > dl_)                             \
				fail_msg("timed out waiting for %s", #cond);   \
			step(t);                                               \
		}                                                              \
	} while (0)

static tenv *tenv_new(fetch_cfg cfg)
{
	tenv *t = xcalloc(1, sizeof *t);
	assert_int_equal(uv_loop_init(&t->loop), 0);
	char err[256] = "";
	http_cfg hc = {.host = "127.0.0.1", .port = 0};
	t->srv = http_server_new(&t->loop, &hc, handler, t, err, sizeof err);
	if (!t->srv)
		fail_msg("http_server_new: %s", err);
	t->port = http_server_port(t->srv);
	t->fx = fetch_ctx_new(&t->loop, &cfg);
	assert_non_null(t->fx);
	return t;
}

static void stopped_cb(void *ud)
{
	((tenv *)ud)->stopped = 1;
}

static void tenv_free(tenv *t)
{
	fetch_ctx_free(t->fx);
	answer_held(t);
	http_server_stop(t->srv, stopped_cb, t);
	DRIVE_UNTIL(t, t->stopped);
	http_server_free(t->srv);
	uv_run(&t->loop, UV_RUN_DEFAULT);
	/* every handle fetch and the server opened is closed */
	assert_int_equal(uv_loop_close(&t->loop), 0);
	buf_release(&t->body);
	free(t);
}

/* ---- tests ---- */

static void test_signature_vectors(void **st)
{
	char sig[68];
	const char *b1 = "{\"type\":\"event_callback\",\"event_id\":\"Ev1\"}";
	fetch_slack_signature("test-signing-secret-123", 1700000000LL, b1, strlen(b1), sig);
	assert_string_equal(sig, "v0=154305b314e28f3dc68429123c1e773cebbeb128de403257974cff21b3ef7098");
	const char *b2 = "command=%2Fwheatley&text=hello%20world&user_id=U1";
	fetch_slack_signature("test-signing-secret-123", 1700000000LL, b2, strlen(b2), sig);
	assert_string_equal(sig, "v0=3e817cb46e179be16f76a14b4b7de473b51475dd536363c0d89b754578d8d54d");
	assert_int_equal(strlen(sig), 67);
}

static void test_post_roundtrip(void **st)
{
	tenv *t = tenv_new((fetch_cfg){0});
	char *url = url_of(t, "/echo");
	const char *hdrs[] = {"X-One: first", "X-Two: second value", NULL};
	const char *body = "{\"type\":\"url_verification\",\"challenge\":\"c\"}";
	post(t, 0, url, "application/x-www-form-urlencoded", hdrs, body, strlen(body), 5000);
	assert_int_equal(t->res[0].called, 0);
	DRIVE_UNTIL(t, t->res[0].called);

	assert_string_equal(t->method, "POST");
	assert_string_equal(t->path, "/echo");
	/* exactly as given: Bolt compares with === */
	assert_string_equal(t->ctype, "application/x-www-form-urlencoded");
	assert_string_equal(t->xone, "first");
	assert_string_equal(t->xtwo, "second value");
	assert_string_equal(t->ua, "Canal/0.1");
	assert_string_equal(t->expect, "(none)");
	assert_int_equal(t->body.len, strlen(body));
	assert_memory_equal(t->body.data, body, strlen(body));

	tres *o = &t->res[0];
	assert_int_equal(o->status, 201);
	assert_string_equal(o->err, "(null)");
	assert_string_equal(o->body, "{\"ok\":true}");
	assert_int_equal(o->body_len, 11);
	assert_string_equal(o->ctype, "application/json; charset=utf-8");
	assert_int_equal(o->truncated, 0);
	assert_true(o->elapsed_ms >= 0 && o->elapsed_ms < 5000);
	/* response headers, by case-insensitive name */
	assert_string_equal(o->x_answer, "1");
	assert_string_equal(o->no_retry, "");
	assert_int_equal(o->has_missing, 0);

	/* A body past curl's Expect threshold, with NULs, and no extra headers:
	 * still no "Expect: 100-continue", bytes intact. */
	size_t n = 2u << 20;
	char *big = xmalloc(n);
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i % 251);
	post(t, 1, url, "application/octet-stream", NULL, big, n, 5000);
	DRIVE_UNTIL(t, t->res[1].called);
	assert_int_equal(t->res[1].status, 201);
	assert_string_equal(t->expect, "(none)");
	assert_string_equal(t->ctype, "application/octet-stream");
	assert_int_equal(t->body.len, n);
	assert_memory_equal(t->body.data, big, n);
	free(big);

	/* empty body */
	post(t, 2, url, "application/json", NULL, NULL, 0, 5000);
	DRIVE_UNTIL(t, t->res[2].called);
	assert_int_equal(t->res[2].status, 201);
	assert_int_equal(t->body.len, 0);

	free(url);
	tenv_free(t);
}

static void test_http_errors(void **st)
{
	tenv *t = tenv_new((fetch_cfg){0});
	char *u500 = url_of(t, "/fail");
	char *u302 = url_of(t, "/redirect");
	post(t, 0, u500, "application/json", NULL, "{}", 2, 5000);
	post(t, 1, u302, "application/json", NULL, "{}", 2, 5000);
	DRIVE_UNTIL(t, t->ncalled == 2);
	assert_int_equal(t->res[0].status, 500);
	assert_string_equal(t->res[0].err, "(null)");
	assert_string_equal(t->res[0].body, "oops");
	assert_string_equal(t->res[0].ctype, "text/plain");
	/* rule 3: redirects are reported, not followed */
	assert_int_equal(t->res[1].status, 302);
	assert_string_equal(t->res[1].err, "(null)");
	assert_string_equal(t->path, "/redirect");
	assert_int_equal(t->ndelivered, 2);
	free(u500);
	free(u302);
	tenv_free(t);
}

static void test_no_retry_header(void **st)
{
	tenv *t = tenv_new((fetch_cfg){0});
	char *url = url_of(t, "/noretry");
	post(t, 0, url, "application/json", NULL, "{}", 2, 5000);
	DRIVE_UNTIL(t, t->res[0].called);
	assert_int_equal(t->res[0].status, 500);
	assert_string_equal(t->res[0].no_retry, "1");   /* blanks trimmed */
	assert_string_equal(t->res[0].x_answer, "(none)");
	free(url);
	/* a transport failure has no headers */
	post(t, 1, "http://127.0.0.1:1/x", "application/json", NULL, "{}", 2, 5000);
	DRIVE_UNTIL(t, t->res[1].called);
	assert_int_equal(t->res[1].status, 0);
	assert_string_equal(t->res[1].no_retry, "");
	tenv_free(t);
}

static void test_timeout(void **st)
{
	tenv *t = tenv_new((fetch_cfg){0});
	char *url = url_of(t, "/hang");
	post(t, 0, url, "application/json", NULL, "{}", 2, 300);
	DRIVE_UNTIL(t, t->res[0].called);
	assert_int_equal(t->nheld, 1);   /* it did reach the server */
	assert_int_equal(t->res[0].status, 0);
	assert_string_equal(t->res[0].err, "http_timeout");
	assert_int_equal(t->res[0].body_len, 0);
	assert_string_equal(t->res[0].ctype, "(null)");
	assert_true(t->res[0].elapsed_ms >= 290);
	assert_true(t->res[0].elapsed_ms < 5000);
	free(url);
	tenv_free(t);
}

static void test_refused_and_bad_urls(void **st)
{
	tenv *t = tenv_new((fetch_cfg){0});
	/* A bound socket that never listens: connects to it are refused, and
	 * nobody else can take the port while we hold it. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	char *url = xasprintf("http://127.0.0.1:%d/x", ntohs(a.sin_port));
	post(t, 0, url, "application/json", NULL, "{}", 2, 5000);
	/* failing fast still never calls back inside fetch_post */
	post(t, 1, "file:///etc/passwd", "text/plain", NULL, "", 0, 5000);
	post(t, 2, "not a url", "text/plain", NULL, "", 0, 5000);
	post(t, 3, "ftp://127.0.0.1/x", "text/plain", NULL, "", 0, 5000);
	assert_int_equal(t->ncalled, 0);
	DRIVE_UNTIL(t, t->ncalled == 4);
	assert_int_equal(t->res[0].status, 0);
	assert_string_equal(t->res[0].err, "connection_failed");
	for (int i = 1; i < 4; i++) {
		assert_int_equal(t->res[i].status, 0);
		assert_string_equal(t->res[i].err, "unknown_error");
	}
	assert_int_equal(t->ndelivered, 0);
	close(fd);
	free(url);
	tenv_free(t);
}

static void test_truncated(void **st)
{
	tenv *t = tenv_new((fetch_cfg){.max_response_bytes = 1000});
	char *url = url_of(t, "/big");
	t->big_len = 100000;
	post(t, 0, url, "application/json", NULL, "{}", 2, 5000);
	DRIVE_UNTIL(t, t->res[0].called);
	assert_int_equal(t->res[0].status, 200);
	assert_string_equal(t->res[0].err, "(null)");
	assert_int_equal(t->res[0].body_len, 1000);
	assert_int_equal(t->res[0].truncated, 1);
	assert_string_equal(t->res[0].ctype, "text/plain");
	for (int i = 0; i < 1000; i++)
		assert_int_equal(t->res[0].body[i], 'x');
	/* exactly the cap is not truncated */
	t->big_len = 1000;
	post(t, 1, url, "application/json", NULL, "{}", 2, 5000);
	DRIVE_UNTIL(t, t->res[1].called);
	assert_int_equal(t->res[1].status, 200);
	assert_int_equal(t->res[1].body_len, 1000);
	assert_int_equal(t->res[1].truncated, 0);
	free(url);
	tenv_free(t);
}

/* 50 requests, 8 at a time: the server never holds more than 8, each
 * batch holds the next 8 in posting order, and all 50 complete. */
static void test_max_in_flight(void **st)
{
	tenv *t = tenv_new((fetch_cfg){.max_in_flight = 8});
	char *url = url_of(t, "/hold");
	const int total = 50;
	for (int i = 0; i < total; i++) {
		char b[16];
		snprintf(b, sizeof b, "%d", i);
		post(t, i, url, "text/plain", NULL, b, strlen(b), 5000);
	}
	int answered = 0;
	for (int round = 0; answered < total; round++) {
		int want = total - answered < 8 ? total - answered : 8;
		DRIVE_UNTIL(t, t->nheld == want);
		for (int k = 0; k < t->nheld; k++)
			assert_int_equal(atoi(t->held[k]->body) / 8, round);
		answered += t->nheld;
		answer_held(t);
	}
	DRIVE_UNTIL(t, t->ncalled == total);
	assert_int_equal(t->max_pending, 8);
	for (int i = 0; i < total; i++) {
		char want[16];
		snprintf(want, sizeof want, "ok %d", i);
		assert_int_equal(t->res[i].status, 200);
		assert_string_equal(t->res[i].body, want);
	}
	free(url);
	tenv_free(t);
}

/* Freeing with requests in flight and queued: every callback fires once,
 * with status 0 and "shutdown", inside fetch_ctx_free; no handle is left
 * (tenv_free checks uv_loop_close) and nothing leaks (ASan/valgrind). */
static void test_free_in_flight(void **st)
{
	tenv *t = tenv_new((fetch_cfg){.max_in_flight = 2});
	char *url = url_of(t, "/hang");
	for (int i = 0; i < 5; i++)
		post(t, i, url, "application/json", NULL, "{}", 2, 5000);
	DRIVE_UNTIL(t, t->nheld == 2);
	assert_int_equal(t->ncalled, 0);
	fetch_ctx_free(t->fx);
	t->fx = NULL;
	assert_int_equal(t->ncalled, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(t->res[i].status, 0);
		assert_string_equal(t->res[i].err, "shutdown");
	}
	free(url);
	tenv_free(t);
}

/* fetch_ctx_free from inside a callback: the rest are cancelled once that
 * callback returns. */
static void test_free_from_callback(void **st)
{
	tenv *t = tenv_new((fetch_cfg){0});
	char *echo = url_of(t, "/echo");
	char *hang = url_of(t, "/hang");
	post(t, 1, hang, "application/json", NULL, "{}", 2, 5000);
	post(t, 2, hang, "application/json", NULL, "{}", 2, 5000);
	DRIVE_UNTIL(t, t->nheld == 2);
	t->free_in_cb = 1;
	post(t, 0, echo, "application/json", NULL, "{}", 2, 5000);
	DRIVE_UNTIL(t, t->ncalled == 3);
	assert_null(t->fx);
	assert_int_equal(t->res[0].status, 201);
	assert_string_equal(t->res[1].err, "shutdown");
	assert_string_equal(t->res[2].err, "shutdown");
	free(echo);
	free(hang);
	tenv_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_vectors),
		cmocka_unit_test(test_post_roundtrip),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_no_retry_header),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_refused_and_bad_urls),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_max_in_flight),
		cmocka_unit_test(test_free_in_flight),
		cmocka_unit_test(test_free_from_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
