/* WebSocket (RFC 6455) server connections on the libuv loop.
 *
 * Outbound design (STACK.md: the fan-out path decides everything):
 *  - An event is framed ONCE into a reference-counted ws_frame; the same
 *    frame is queued to every recipient (ws_send takes a reference).
 *  - Each connection's queued frames leave in ONE uv_write (writev) per
 *    loop turn: ws_send only queues and marks the connection dirty; a
 *    uv_check handle of the ws_ctx flushes every dirty connection once per
 *    turn.
 *  - Output is bounded per connection (queued + in-flight bytes). Past
 *    max_output_bytes the connection is closed with code 1008 and reason
 *    "output limit", so one stalled client cannot grow the server; the
 *    client reconnects and refetches history.
 * Inbound: our own framer (no wslay: ~1 KiB per idle connection instead of
 * ~9 KiB): masked client frames, fragmentation, ping -> pong, close
 * handshake, text must be UTF-8 (else close 1007), messages larger than
 * max_message close with 1009, protocol errors close with 1002.
 *
 * Lifetime rules:
 *  1. ws_accept either returns a connection (101 written) or answers the
 *     request itself with an HTTP error and returns NULL.
 *  2. on_message is called for each complete text message; binary
 *     messages are answered with close 1003.
 *  3. on_close is called exactly once, after which the ws_conn is gone;
 *     the owner must drop its pointer there. ws_close on a closing
 *     connection is a no-op.
 *  4. Never free a ws_conn yourself. ws_send on a closing connection is a
 *     no-op returning -1. */
#ifndef CANAL_NET_WS_H
#define CANAL_NET_WS_H
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/http.h"

typedef struct ws_ctx ws_ctx;
typedef struct ws_conn ws_conn;

/* Bytes shared by many different frames: the part of an event that is the
 * same for every recipient while the rest differs (a Socket Mode
 * envelope's inner event, which each app gets wrapped in its own
 * envelope). Reference-counted; never sent by itself. */
typedef struct ws_blob {
	uint32_t refs;
	uint32_t len;
	char data[];
} ws_blob;
/* New blob holding a copy of p (refs = 1). */
ws_blob *ws_blob_new(const void *p, size_t len);
void ws_blob_ref(ws_blob *b);
void ws_blob_unref(ws_blob *b);

/* A complete encoded server frame (header + payload), shared by refcount.
 * Up to WS_FRAME_BLOBS blobs may be spliced into it: on the wire it is
 * data[0, cut[0]), blob[0], data[cut[0], cut[1]), blob[1], ... and the
 * rest of data; blobs are written from themselves (writev), never copied
 * into the frame. Without blobs it is just data[0, len). */
#define WS_FRAME_BLOBS 3
typedef struct ws_frame {
	uint32_t refs;
	uint32_t len;                    /* bytes on the wire */
	uint32_t cut[WS_FRAME_BLOBS];    /* where blob[i] goes in data (nondecreasing) */
	ws_blob *blob[WS_FRAME_BLOBS];   /* referenced; the used ones first, then NULL */
	unsigned char data[];
} ws_frame;

/* New text frame holding payload (copied); refs = 1. */
ws_frame *ws_frame_text(const char *payload, size_t len);
/* A piece of a frame: bytes p[0, len) (copied into the frame), or, when
 * blob is set, that blob (referenced and spliced; p and len unused). */
typedef struct ws_part {
	const char *p;
	size_t len;
	ws_blob *blob;
} ws_part;
/* New text frame whose payload is parts[0..n) one after another: one
 * allocation, one copy of each byte part, at most WS_FRAME_BLOBS blob
 * parts. */
ws_frame *ws_frame_text_parts(const ws_part *parts, size_t n);
/* f's wire bytes as parts, in order (byte parts point into f->data, the
 * first one holds the header): at most 2 * WS_FRAME_BLOBS + 1; returns
 * how many. Empty byte parts are left out. */
size_t ws_frame_parts(const ws_frame *f, ws_part out[2 * WS_FRAME_BLOBS + 1]);
/* Copies f's wire bytes [from, to) into out. */
void ws_frame_copy(const ws_frame *f, size_t from, size_t to, char *out);
void ws_frame_ref(ws_frame *f);
void ws_frame_unref(ws_frame *f);
/* Bytes of f's header (2, 4 or 10): its payload starts there in data. */
size_t ws_frame_header_len(const ws_frame *f);

typedef struct ws_callbacks {
	void (*on_message)(ws_conn *c, const char *msg, size_t len, void *ud);
	void (*on_close)(ws_conn *c, int code, void *ud);
} ws_callbacks;

typedef struct ws_cfg {
	size_t max_message;        /* inbound message limit, default 64 KiB */
	size_t max_output_bytes;   /* queued + in flight, default 4 MiB */
	int ping_interval_ms;      /* server ping when idle this long, default 10000 */
	int dead_after_ms;         /* close if nothing received this long, default 60000 */
	uint64_t max_connections;  /* upgrades past this many open get 503; 0 = no limit */
} ws_cfg;

typedef struct ws_stats {
	uint64_t open;             /* connections now */
	uint64_t accepted;
	uint64_t frames_out;       /* frames queued */
	uint64_t writes;           /* uv_write calls (one per connection per turn) */
	uint64_t bytes_out;
	uint64_t closed_output_limit;
	uint64_t closed_protocol;  /* 1002/1003/1007/1009 */
	uint64_t closed_dead;      /* ping timeout */
	uint64_t refused;          /* upgrades answered 503 at max_connections */
} ws_stats;

ws_ctx *ws_ctx_new(uv_loop_t *loop, const ws_cfg *cfg);
/* Closes every connection (code 1001 "going away"); done(ud) when the
 * last one is gone. */
void ws_ctx_shutdown(ws_ctx *x, void (*done)(void *ud), void *ud);
void ws_ctx_free(ws_ctx *x);   /* after shutdown's done */
void ws_ctx_stats(const ws_ctx *x, ws_stats *out);

/* Where events come from: counts(ud, &submitted, &delivered) reports the
 * writes handed to the store and those whose callbacks (and so events)
 * are done. A coalesced fan-out flush (see ws.c) then waits, at most
 * WS_HOLD_MAX_MS, for the writes in flight when it was due, so their
 * events leave in the same writes instead of the next ones. Without it
 * the flush waits a fixed WS_COALESCE_MS. */
void ws_ctx_set_hold(ws_ctx *x, void (*counts)(void *ud, uint64_t *submitted, uint64_t *delivered),
		     void *ud);

/* Checks the upgrade headers (GET, Upgrade: websocket, Connection:
 * upgrade, Sec-WebSocket-Version: 13, a 16-byte base64 key); answers
 * 400/426 and returns NULL if they are wrong, 503 if max_connections are
 * open (or the ctx is shutting down). Otherwise detaches the
 * socket from the HTTP server, writes 101 with Sec-WebSocket-Accept
 * (no extensions, no subprotocol), and returns the connection. */
ws_conn *ws_accept(ws_ctx *x, http_req *req, const ws_callbacks *cb, void *ud);
/* Queues f (takes a reference). 0, or -1 if the connection is closing or
 * this frame pushed it past its output limit (then it is being closed). */
int ws_send(ws_conn *c, ws_frame *f);
/* Frames and queues one text message (for replies to one connection). */
int ws_send_text(ws_conn *c, const char *msg, size_t len);
void ws_close(ws_conn *c, int code, const char *reason);
void *ws_conn_ud(const ws_conn *c);
void ws_conn_set_ud(ws_conn *c, void *ud);
const char *ws_conn_remote_ip(const ws_conn *c);
size_t ws_conn_pending_bytes(const ws_conn *c);

/* Pure helpers, exposed for unit tests and fuzzing. */
/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)) into out[29]. */
void ws_accept_key(const char *key, char out[29]);
/* Feeds inbound bytes to a parser state; see ws.c. Used by the fuzzer. */
typedef struct ws_parser ws_parser;

#endif
