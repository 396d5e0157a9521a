/* Internal to src/net/ws*.c, the unit tests and the fuzzer: the inbound
 * frame parser as a pure function over bytes (no socket, no loop), and
 * the server frame builder.
 *
 * The parser is pull-style: ws__parse consumes input until one event is
 * complete (or the input runs out) and says how many bytes it took; the
 * caller handles the event and calls again with the rest. So no user
 * callback ever runs inside the parser, and a connection can stop caring
 * about the rest of a read (after a close) without unwinding anything. */
#ifndef CANAL_NET_WS_INTERNAL_H
#define CANAL_NET_WS_INTERNAL_H
#include <stddef.h>
#include <stdint.h>

#include "net/ws.h"

enum {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 section 7.4.1). */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005,     /* never on the wire: close frame without a code */
	WS_CLOSE_ABNORMAL = 1006,      /* never on the wire: no close frame at all */
	WS_CLOSE_BAD_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
};

typedef enum {
	WS_EV_NONE,     /* all input consumed, no event complete yet */
	WS_EV_TEXT,     /* a complete, UTF-8 valid text message */
	WS_EV_PING,     /* data/len: the ping payload, to echo in a pong */
	WS_EV_PONG,
	WS_EV_CLOSE,    /* code: the peer's (1005 if none); data/len: the reason */
	WS_EV_ERROR,    /* code: 1002, 1003, 1007 or 1009 to close with */
} ws_ev_type;

typedef struct ws_event {
	ws_ev_type type;
	int code;
	const char *data;   /* valid until the next ws__parse or ws__parser_release */
	size_t len;
} ws_event;

/* Per-connection inbound state. Small on purpose (every idle connection
 * holds one): the reassembly buffer exists only while a message or control
 * frame is split across reads and is freed once it has been delivered. */
struct ws_parser {
	unsigned char *buf;     /* message bytes [0, len), then a control payload */
	size_t len;             /* bytes of the fragmented message so far */
	size_t cap;
	size_t max_message;
	uint64_t left;          /* payload bytes of the current frame still to come */
	uint32_t ctl_len;       /* control payload bytes gathered after buf[len] */
	uint8_t utf8;           /* validator state of the text message in progress */
	uint8_t hdr[14];        /* frame header bytes gathered so far */
	uint8_t hlen;
	uint8_t in_payload;     /* header done, reading payload */
	uint8_t op;             /* opcode of the current frame */
	uint8_t fin;
	uint8_t msg_op;         /* WS_OP_TEXT while a fragmented message is open, else 0 */
	uint8_t mask[4];
	uint8_t mask_i;         /* payload offset mod 4 */
	uint8_t release;        /* the last event's bytes may be dropped on the next call */
	uint8_t dead;           /* after CLOSE or ERROR: input is swallowed */
};

void ws__parser_init(ws_parser *p, size_t max_message);
void ws__parser_release(ws_parser *p);
/* Consumes bytes of data[0, len) until one event completes or the input
 * runs out; returns the number consumed and sets *ev (WS_EV_NONE when all
 * of it was consumed without completing an event). data is modified in
 * place (unmasked), and an event's bytes may point into it, so a
 * complete frame inside one read is delivered without a copy. After CLOSE
 * or ERROR the parser is dead: it consumes everything and reports
 * nothing. */
size_t ws__parse(ws_parser *p, unsigned char *data, size_t len, ws_event *ev);

/* Incremental UTF-8 validation: feeds n bytes to state st (0 = between
 * characters) and returns the new state, WS_UTF8_REJECT once invalid.
 * Rejects overlong forms, surrogates and code points past U+10FFFF. */
#define WS_UTF8_REJECT 8
uint8_t ws__utf8_step(uint8_t st, const unsigned char *s, size_t n);

/* An unmasked server frame with FIN set (refs = 1). */
ws_frame *ws__frame_new(int op, const void *payload, size_t len);
/* A close frame: code (none for 0 or 1005) and reason, cut to fit the
 * 125-byte control payload on a character boundary. */
ws_frame *ws__frame_close(int code, const char *reason);
/* Whether a close code may appear on the wire (1000-1003, 1007-1014,
 * 3000-4999). */
int ws__close_code_valid(int code);

#endif
