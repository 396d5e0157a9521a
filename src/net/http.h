/* HTTP/1.1 server on the libuv loop, requests parsed by http-parser.
 *
 * Lifetime rules (numbered, libuv style):
 *  1. on_request is called once per complete request, in arrival order per
 *     connection. The handler answers with exactly one http_respond*()
 *     call, now or later (after a store commit): a request is "pending"
 *     until then.
 *  2. Pipelining: while a request is pending, the connection parses no
 *     further requests (reading pauses), so responses leave in order.
 *  3. If the peer disconnects while a request is pending, the http_req
 *     stays valid until it is answered; the answer is then discarded.
 *     Never free an http_req yourself.
 *  4. Keep-alive unless the client asked for close or spoke HTTP/1.0
 *     without keep-alive. Idle connections are closed after
 *     idle_timeout_ms; a request whose headers or body do not arrive within
 *     the same timeout gets 408 and the connection is closed.
 *  5. Malformed requests get 400, headers over max_header_bytes 431, bodies
 *     over max_body_bytes 413 (answered before the body is read), and the
 *     connection is closed afterwards. These never reach on_request.
 *  6. http_server_stop() stops accepting; connections with no pending
 *     request close at once, the others after their answer; the done
 *     callback fires when no connection is left. */
#ifndef CANAL_NET_HTTP_H
#define CANAL_NET_HTTP_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct http_server http_server;
typedef struct http_req http_req;

typedef struct http_header {
	char *name;   /* lowercased */
	char *value;
} http_header;

struct http_req {
	http_server *srv;
	const char *method;     /* "GET", "POST", ... */
	char *url;              /* raw request target */
	char *path;             /* percent-decoded path, no query */
	char *query;            /* raw query string after '?', "" if none */
	http_header *headers;
	size_t nheaders;
	char *body;             /* NUL-terminated (the NUL is not counted) */
	size_t body_len;
	char remote_ip[64];
	int64_t start_us;       /* monotonic arrival time */
	void *conn;             /* internal */
	void *user;             /* free for the handler */
	/* Set when the body went to a sink (http_sink_cb) instead of body:
	 * the sink's ctx, owned by the handler from delivery on (body is then
	 * "" and body_len 0: the sink knows what it took). */
	void *body_ctx;
};

/* Streaming request bodies. For a route that takes big bodies (uploads),
 * the server asks sink_cb once the headers of a request are complete.
 * If it returns 1 with the sink filled, the body is handed to
 * sink.write piece by piece as it arrives (on the loop thread), never
 * gathered in memory, and max_body_bytes gives way to sink.max_bytes
 * (413 past it, before a byte is read when Content-Length says so).
 *  1. write returns 0 to go on, or an HTTP status (413, 400, 500...) that
 *     the server answers with, closing the connection.
 *  2. The request is delivered as usual once complete, with body_ctx =
 *     sink.ctx: from then on the handler owns ctx.
 *  3. If the request is never delivered (disconnect, timeout, a bad
 *     chunk, write's own error, server stop), abort(ctx) is called
 *     exactly once instead, and must release ctx.
 * The request passed to sink_cb is the one being built: its method, path,
 * query and headers may be read, nothing else. Returning 0 keeps the
 * usual buffered body. */
typedef struct http_body_sink {
	int (*write)(void *ctx, const char *data, size_t len);
	void (*abort)(void *ctx);
	void *ctx;
	uint64_t max_bytes;
} http_body_sink;
typedef int (*http_sink_cb)(http_req *r, http_body_sink *sink, void *ud);

typedef void (*http_request_cb)(http_req *req, void *ud);

typedef struct http_cfg {
	const char *host;           /* "127.0.0.1" */
	int port;                   /* 0 = pick a free port */
	size_t max_body_bytes;      /* default 10 MiB */
	size_t max_header_bytes;    /* default 16 KiB */
	int idle_timeout_ms;        /* default 60000 */
	int max_connections;        /* default 10000; past it new ones are refused with 503 */
	int max_connections_per_ip; /* default 256 per remote address, likewise; < 0 = no limit */
	http_sink_cb sink_cb;       /* NULL: every body is buffered */
	void *sink_ud;
} http_cfg;

typedef struct http_stats {
	uint64_t connections_open;
	uint64_t connections_total;
	uint64_t connections_refused;   /* at either limit */
	uint64_t requests_total;
	uint64_t bad_requests;      /* 400/408/413/431 answered by the server itself */
} http_stats;

/* Binds and listens. Returns NULL with err filled if the address is in use
 * or invalid. The bound port is available from http_server_port. */
http_server *http_server_new(uv_loop_t *loop, const http_cfg *cfg, http_request_cb cb, void *ud,
			     char *err, size_t errlen);
int http_server_port(const http_server *s);
void http_server_stats(const http_server *s, http_stats *out);
void http_server_stop(http_server *s, void (*done)(void *ud), void *ud);
void http_server_free(http_server *s);   /* after done fired */

/* Header lookup, name lowercase; NULL if absent. */
const char *http_req_header(const http_req *r, const char *name);

/* Answers with body (copied). content_type may be NULL (none sent).
 * extra_headers, if not NULL, is a block of "Name: value\r\n" lines. */
void http_respond(http_req *r, int status, const char *content_type, const char *extra_headers,
		  const void *body, size_t len);
/* Same, taking ownership of a malloc'd body (no copy). */
void http_respond_owned(http_req *r, int status, const char *content_type,
			const char *extra_headers, char *body, size_t len);
/* Serves a regular file: Content-Type from its extension, ETag (size and
 * mtime), If-None-Match -> 304, Range (single range) -> 206 / 416,
 * HEAD without body; the body is read in chunks, never sendfile (see
 * the note in http_file.c). 404 if missing or not a regular file. path
 * must already be safe (see http_safe_path) and is not kept. */
void http_respond_file(http_req *r, const char *path);
/* The same with a given Content-Type (NULL: from the extension) and extra
 * header lines ("Name: value\r\n"...) sent with every answer but 416. */
void http_respond_file_as(http_req *r, const char *path, const char *content_type,
			  const char *extra_headers);

/* Joins root and a URL path, rejecting "..", NUL and backslashes; a
 * trailing '/' maps to index.html. Heap string or NULL if unsafe. */
char *http_safe_path(const char *root, const char *url_path);
/* Parses a Range header value against a file size: returns 1 and sets
 * [*start,*end] inclusive for one satisfiable range, 0 if the header is to
 * be ignored (full response), -1 if unsatisfiable (416). */
int http_parse_range(const char *value, uint64_t size, uint64_t *start, uint64_t *end);
/* Standard reason phrase for a status code. */
const char *http_reason(int status);
/* MIME type for a file name by extension ("application/octet-stream"). */
const char *http_mime_type(const char *path);
/* Percent-decodes in place (also '+' -> ' ' when plus_is_space); returns
 * the new length, or -1 on a bad escape. */
long http_url_decode(char *s, int plus_is_space);

/* Hook for the WebSocket layer. Call it from the handler of a pending
 * request (normally one with "Upgrade: websocket", which on_request sees
 * like any other request). It answers r without writing anything (r is
 * freed) and hands over the socket: the caller then owns the handle, sets
 * its data, writes its own 101 response, starts reading, and later
 * uv_close()s it and free()s the handle in the close callback. Responses
 * to earlier pipelined requests may still be queued on the handle; they
 * leave first. *leftover (malloc'd, NUL-terminated, or NULL when
 * *leftover_len is 0) gets the bytes already received after the request.
 * Returns NULL, and frees r, if the connection is already gone or a
 * response was started. The server no longer counts the connection. */
uv_tcp_t *http_req_detach_socket(http_req *r, char **leftover, size_t *leftover_len);

/* Internal to src/net/http*.c (http_file.c streams large files through
 * it); not for handlers. A streamed response: begin queues the status line
 * and headers with Content-Length content_length (the request stays
 * pending); write queues len bytes of data, taking ownership of the
 * malloc'd data, and calls cb once they are written (status 0) or failed
 * (< 0); it returns < 0 without calling cb if the connection is gone. end
 * answers the request; ok = 0, or fewer bytes than announced, closes the
 * connection because the framing is lost. For HEAD, 204 and 304 no body
 * bytes may be written. */
typedef void (*http__chunk_cb)(http_req *r, int status, void *ud);
void http__stream_begin(http_req *r, int status, const char *content_type,
			const char *extra_headers, uint64_t content_length);
int http__stream_write(http_req *r, char *data, size_t len, http__chunk_cb cb, void *ud);
void http__stream_end(http_req *r, int ok);
/* 1 while the request's connection can still carry its answer. */
int http__req_conn_alive(const http_req *r);
/* The loop the request's server runs on. */
uv_loop_t *http__req_loop(const http_req *r);
/* Serves a connected stream socket exactly as if the listener had just
 * accepted it (on_connection does this after uv_accept): t is a heap
 * uv_tcp_t initialised on the server's loop, which the server then owns
 * and frees. For the fuzz harness (fuzz/fuzz_http.c), which hands in one
 * end of a socketpair opened with uv_tcp_open so that it decides exactly
 * how the bytes are cut into reads; the server code path is the same. */
void http__conn_adopt(http_server *s, uv_tcp_t *t);
/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for seconds since the
 * epoch, locale-independent; out needs 30 bytes. */
void http__fmt_date(int64_t sec, char *out, size_t n);

#endif
