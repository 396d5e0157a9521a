/* Outbound HTTP for the event loop: libcurl's multi interface driven by
 * libuv (uv_poll on curl's sockets, a uv_timer for its timeouts), so
 * deliveries to apps never block the loop and a hung endpoint costs one
 * socket, nothing more.
 *
 * Rules:
 *  1. fetch_post copies what it is given; cb is called exactly once, on
 *     the loop thread, never from inside fetch_post.
 *  2. A transport failure (refused, reset, DNS, TLS, timeout) reports
 *     status 0 and a short reason in err ("connection_failed",
 *     "http_timeout", "ssl_error", ...: the names Slack's
 *     X-Slack-Retry-Reason uses); an HTTP answer reports its status.
 *  3. Redirects are not followed (Slack's delivery doesn't either).
 *  4. Response bodies are capped (max_response_bytes); the rest is
 *     dropped and truncated = 1.
 *  5. The response's header lines are kept (capped at 16 KiB; those of
 *     an interim 1xx answer are dropped) for fetch_header. */
#ifndef CANAL_NET_FETCH_H
#define CANAL_NET_FETCH_H
#include <stddef.h>
#include <uv.h>

typedef struct fetch_ctx fetch_ctx;

typedef struct fetch_result {
	int status;              /* HTTP status, 0 on transport failure */
	const char *err;         /* NULL, or a Slack retry-reason name */
	const char *body;        /* response body (NUL-terminated) */
	size_t body_len;
	const char *content_type;/* response Content-Type or NULL */
	int truncated;
	long elapsed_ms;
	const char *headers;     /* raw header block of the final response ("" if none) */
	size_t headers_len;
} fetch_result;

/* The value of response header name (case-insensitive, surrounding blanks
 * trimmed) copied into out (NUL-terminated, cut to outsz - 1); returns 1
 * when the header is present, else 0 with out = "". The first occurrence
 * counts. */
int fetch_header(const fetch_result *r, const char *name, char *out, size_t outsz);

typedef void (*fetch_cb)(void *ud, const fetch_result *r);

typedef struct fetch_cfg {
	size_t max_response_bytes;   /* default 1 MiB */
	int max_in_flight;           /* default 256; further requests wait in a queue */
} fetch_cfg;

fetch_ctx *fetch_ctx_new(uv_loop_t *loop, const fetch_cfg *cfg);
/* Cancels everything in flight (callbacks get status 0,
 * err "shutdown"), then frees. Call on the loop thread before closing it. */
void fetch_ctx_free(fetch_ctx *x);

/* POSTs body to url with the given Content-Type (sent exactly as given)
 * and extra header lines ("Name: value", NULL-terminated array, may be
 * NULL). timeout_ms bounds the whole exchange. */
void fetch_post(fetch_ctx *x, const char *url, const char *content_type,
		const char *const *headers, const char *body, size_t len, int timeout_ms, fetch_cb cb,
		void *ud);

/* Slack's request signature: "v0=" + hex HMAC-SHA256(secret,
 * "v0:<timestamp>:<body>") into out[68]. */
void fetch_slack_signature(const char *secret, long long timestamp, const char *body, size_t len,
			   char out[68]);

#endif
