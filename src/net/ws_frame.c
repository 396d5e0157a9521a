/* WebSocket frames as bytes: the inbound parser (RFC 6455 section 5), the
 * UTF-8 validator and the server frame builders. No socket and no loop
 * here, so the unit tests and the fuzzer drive this file alone.
 *
 * Parser invariants.
 *  1. Header bytes are gathered in p->hdr (at most 14) and checked as soon
 *     as the first two are in, so a bad frame is refused before its length
 *     or payload arrives.
 *  2. A frame whose whole payload is inside the caller's input, and which
 *     is a complete message by itself (a FIN text frame with no fragmented
 *     message open) or a control frame, is unmasked in place and delivered
 *     from the input: the common case copies nothing and allocates nothing.
 *  3. Everything else is unmasked into p->buf: a fragmented message at
 *     [0, p->len) and, behind it, the payload of a control frame that
 *     arrived split (control frames may interleave with fragments). The
 *     buffer never exceeds max_message + 126 bytes and is freed on the call
 *     after the event that used it, unless a message is still open.
 *  4. Text is validated incrementally, fragment by fragment, so a character
 *     split across fragments is fine and a bad byte fails at once.
 *  5. After CLOSE or ERROR the parser is dead and swallows input: nothing a
 *     peer sends after that can produce another event. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "net/ws_internal.h"

/* ---- UTF-8 ---- */

/* States: 0 between characters; 1-3 that many continuation bytes (80-BF)
 * still due; 4-7 the next continuation byte has a narrower range (E0: A0-BF
 * against overlong forms, ED: 80-9F against surrogates, F0: 90-BF against
 * overlong, F4: 80-8F against > U+10FFFF), then 1 or 2 more. */
uint8_t ws__utf8_step(uint8_t st, const unsigned char *s, size_t n)
{
	static const uint8_t lo[8] = {0, 0x80, 0x80, 0x80, 0xA0, 0x80, 0x90, 0x80};
	static const uint8_t hi[8] = {0, 0xBF, 0xBF, 0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
	static const uint8_t next[8] = {0, 0, 1, 2, 1, 1, 2, 2};
	size_t i = 0;
	if (st >= WS_UTF8_REJECT)
		return WS_UTF8_REJECT;
	while (i < n) {
		if (st == 0) {
			/* ASCII runs, eight bytes at a time: chat text is mostly that. */
			while (i + 8 <= n) {
				uint64_t w;
				memcpy(&w, s + i, 8);
				if (w & 0x8080808080808080ull)
					break;
				i += 8;
			}
			if (i == n)
				break;
			unsigned char b = s[i++];
			if (b < 0x80)
				continue;
			if (b >= 0xC2 && b <= 0xDF)
				st = 1;
			else if (b == 0xE0)
				st = 4;
			else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF)
				st = 2;
			else if (b == 0xED)
				st = 5;
			else if (b == 0xF0)
				st = 6;
			else if (b >= 0xF1 && b <= 0xF3)
				st = 3;
			else if (b == 0xF4)
				st = 7;
			else
				return WS_UTF8_REJECT;   /* 80-C1 (stray or overlong), F5-FF */
			continue;
		}
		unsigned char b = s[i++];
		if (b < lo[st] || b > hi[st])
			return WS_UTF8_REJECT;
		st = next[st];
	}
	return st;
}

/* ---- server frames ---- */

/* A frame of op whose payload is len bytes on the wire, header written,
 * with room for own of them in data (the rest is a spliced blob); the
 * payload starts at *payload_out. */
static ws_frame *frame_alloc_own(int op, size_t len, size_t own, unsigned char **payload_out)
{
	size_t hl = len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
	if (len > UINT32_MAX - hl) {
		/* ws_frame.len is 32 bits; no caller comes near this (messages
		 * are bounded far below), so it is a bug, not an input. */
		log_error("websocket frame too large", "len=%zu", len);
		abort();
	}
	ws_frame *f = xmalloc(sizeof *f + hl + own);
	f->refs = 1;
	f->len = (uint32_t)(hl + len);
	memset(f->cut, 0, sizeof f->cut);
	memset(f->blob, 0, sizeof f->blob);
	unsigned char *d = f->data;
	d[0] = (unsigned char)(0x80 | (op & 0x0F));   /* FIN, no RSV */
	if (hl == 2) {
		d[1] = (unsigned char)len;
	} else if (hl == 4) {
		d[1] = 126;
		d[2] = (unsigned char)(len >> 8);
		d[3] = (unsigned char)len;
	} else {
		d[1] = 127;
		for (int i = 0; i < 8; i++)
			d[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	*payload_out = d + hl;
	return f;
}

/* A frame of op with room for a len-byte payload. */
static ws_frame *frame_alloc(int op, size_t len, unsigned char **payload_out)
{
	return frame_alloc_own(op, len, len, payload_out);
}

ws_frame *ws__frame_new(int op, const void *payload, size_t len)
{
	unsigned char *d;
	ws_frame *f = frame_alloc(op, len, &d);
	if (len)
		memcpy(d, payload, len);
	return f;
}

ws_frame *ws_frame_text_parts(const ws_part *parts, size_t n)
{
	size_t own = 0, spliced = 0;
	int nb = 0;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].blob) {
			if (nb++ == WS_FRAME_BLOBS) {
				log_error("websocket frame with too many blobs", "n=%d", nb);
				abort();   /* a caller's bug, not an input */
			}
			spliced += parts[i].blob->len;
		} else {
			own += parts[i].len;
		}
	}
	unsigned char *d;
	ws_frame *f = frame_alloc_own(WS_OP_TEXT, own + spliced, own, &d);
	nb = 0;
	for (size_t i = 0; i < n; i++) {
		if (parts[i].blob) {
			ws_blob_ref(parts[i].blob);
			f->blob[nb] = parts[i].blob;
			f->cut[nb++] = (uint32_t)(d - f->data);
		} else if (parts[i].len) {
			memcpy(d, parts[i].p, parts[i].len);
			d += parts[i].len;
		}
	}
	return f;
}

size_t ws_frame_parts(const ws_frame *f, ws_part out[2 * WS_FRAME_BLOBS + 1])
{
	size_t n = 0, at = 0, own = f->len;
	for (int i = 0; i < WS_FRAME_BLOBS && f->blob[i]; i++)
		own -= f->blob[i]->len;
	for (int i = 0; i < WS_FRAME_BLOBS && f->blob[i]; i++) {
		if (f->cut[i] > at)
			out[n++] = (ws_part){(const char *)f->data + at, f->cut[i] - at, NULL};
		out[n++] = (ws_part){NULL, 0, f->blob[i]};
		at = f->cut[i];
	}
	if (own > at)
		out[n++] = (ws_part){(const char *)f->data + at, own - at, NULL};
	return n;
}

void ws_frame_copy(const ws_frame *f, size_t from, size_t to, char *out)
{
	ws_part parts[2 * WS_FRAME_BLOBS + 1];
	size_t n = ws_frame_parts(f, parts), at = 0;
	for (size_t i = 0; i < n && at < to; i++) {
		const char *p = parts[i].blob ? parts[i].blob->data : parts[i].p;
		size_t len = parts[i].blob ? parts[i].blob->len : parts[i].len;
		size_t lo = from > at ? from - at : 0, hi = to - at < len ? to - at : len;
		if (lo < hi) {
			memcpy(out, p + lo, hi - lo);
			out += hi - lo;
		}
		at += len;
	}
}

ws_blob *ws_blob_new(const void *p, size_t len)
{
	if (len > UINT32_MAX / 2) {
		log_error("websocket blob too large", "len=%zu", len);
		abort();
	}
	ws_blob *b = xmalloc(sizeof *b + len + 1);
	b->refs = 1;
	b->len = (uint32_t)len;
	if (len)
		memcpy(b->data, p, len);
	b->data[len] = '\0';
	return b;
}

void ws_blob_ref(ws_blob *b)
{
	b->refs++;
}

void ws_blob_unref(ws_blob *b)
{
	if (b && --b->refs == 0)
		free(b);
}

ws_frame *ws_frame_text(const char *payload, size_t len)
{
	return ws__frame_new(WS_OP_TEXT, payload, len);
}

size_t ws_frame_header_len(const ws_frame *f)
{
	unsigned l7 = f->data[1] & 0x7F;
	return l7 < 126 ? 2 : l7 == 126 ? 4 : 10;
}

void ws_frame_ref(ws_frame *f)
{
	f->refs++;
}

void ws_frame_unref(ws_frame *f)
{
	if (f && --f->refs == 0) {
		for (int i = 0; i < WS_FRAME_BLOBS; i++)
			ws_blob_unref(f->blob[i]);
		free(f);
	}
}

int ws__close_code_valid(int code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

ws_frame *ws__frame_close(int code, const char *reason)
{
	unsigned char p[125];
	size_t n = 0;
	if (code && code != WS_CLOSE_NO_STATUS) {
		p[0] = (unsigned char)(code >> 8);
		p[1] = (unsigned char)code;
		n = 2;
		size_t rl = reason ? strlen(reason) : 0;
		if (rl > sizeof p - 2) {
			rl = sizeof p - 2;
			/* Cut before a continuation byte, never inside a character:
			 * the peer validates the reason as UTF-8. */
			while (rl && ((unsigned char)reason[rl] & 0xC0) == 0x80)
				rl--;
		}
		if (rl)
			memcpy(p + 2, reason, rl);
		n += rl;
	}
	return ws__frame_new(WS_OP_CLOSE, p, n);
}

/* ---- parser ---- */

void ws__parser_init(ws_parser *p, size_t max_message)
{
	memset(p, 0, sizeof *p);
	p->max_message = max_message;
}

void ws__parser_release(ws_parser *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
	p->ctl_len = 0;
}

static void reserve(ws_parser *p, size_t need)
{
	if (need <= p->cap)
		return;
	size_t cap = p->cap ? p->cap : 256;
	while (cap < need)
		cap *= 2;
	/* Doubling must not overshoot the most a message can need. */
	size_t most = p->max_message + 126 + 1;
	if (cap > most && need <= most)
		cap = most;
	p->buf = xrealloc(p->buf, cap);
	p->cap = cap;
}

/* XOR with the 4-byte mask, continuing at p->mask_i; 8 bytes at a time
 * once aligned to the mask. */
static void unmask(ws_parser *p, unsigned char *d, size_t n)
{
	size_t i = 0;
	while (i < n && (p->mask_i & 3)) {
		d[i++] ^= p->mask[p->mask_i & 3];
		p->mask_i++;
	}
	if (n - i >= 8) {
		unsigned char m8[8];
		for (int k = 0; k < 8; k++)
			m8[k] = p->mask[k & 3];
		uint64_t m;
		memcpy(&m, m8, 8);
		for (; n - i >= 8; i += 8) {
			uint64_t w;
			memcpy(&w, d + i, 8);
			w ^= m;
			memcpy(d + i, &w, 8);
		}
	}
	for (; i < n; i++) {
		d[i] ^= p->mask[p->mask_i & 3];
		p->mask_i++;
	}
	p->mask_i &= 3;
}

static int is_control(int op)
{
	return op & 0x8;
}

/* Header length once the first two bytes are known. */
static size_t hdr_need(const ws_parser *p)
{
	if (p->hlen < 2)
		return 2;
	unsigned l7 = p->hdr[1] & 0x7F;
	return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((p->hdr[1] & 0x80) ? 4 : 0);
}

/* Checks on the first two bytes; a close code, or 0. */
static int hdr_check(ws_parser *p)
{
	unsigned b0 = p->hdr[0], b1 = p->hdr[1];
	int op = b0 & 0x0F;
	if (b0 & 0x70)
		return WS_CLOSE_PROTOCOL;   /* RSV bits without a negotiated extension */
	if (!(b1 & 0x80))
		return WS_CLOSE_PROTOCOL;   /* clients must mask (section 5.1) */
	switch (op) {
	case WS_OP_CONT:
		return p->msg_op ? 0 : WS_CLOSE_PROTOCOL;
	case WS_OP_TEXT:
		return p->msg_op ? WS_CLOSE_PROTOCOL : 0;
	case WS_OP_BINARY:
		return p->msg_op ? WS_CLOSE_PROTOCOL : WS_CLOSE_UNSUPPORTED;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!(b0 & 0x80) || (b1 & 0x7F) > 125)
			return WS_CLOSE_PROTOCOL;   /* control frames: FIN, <= 125 */
		return 0;
	default:
		return WS_CLOSE_PROTOCOL;   /* reserved opcode */
	}
}

/* The whole header is in: decode length and mask. A close code, or 0. */
static int hdr_finish(ws_parser *p)
{
	const uint8_t *h = p->hdr;
	unsigned l7 = h[1] & 0x7F;
	uint64_t len = l7;
	size_t at = 2;
	if (l7 == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		at = 4;
	} else if (l7 == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
		at = 10;
		if (len >> 63)
			return WS_CLOSE_PROTOCOL;   /* the most significant bit must be 0 */
	}
	memcpy(p->mask, h + at, 4);
	p->mask_i = 0;
	p->op = h[0] & 0x0F;
	p->fin = (h[0] & 0x80) != 0;
	p->left = len;
	if (!is_control(p->op)) {
		/* Refused on the header: a huge frame is never buffered. */
		if (len > p->max_message - p->len)
			return WS_CLOSE_TOO_BIG;
		if (p->op == WS_OP_TEXT) {
			p->msg_op = WS_OP_TEXT;
			p->utf8 = 0;
		}
	} else {
		p->ctl_len = 0;
	}
	return 0;
}

static size_t fail(ws_parser *p, ws_event *ev, int code, size_t consumed)
{
	p->dead = 1;
	ws__parser_release(p);
	ev->type = WS_EV_ERROR;
	ev->code = code;
	ev->data = NULL;   /* may have pointed into the buffer just freed */
	ev->len = 0;
	return consumed;
}

/* A frame's payload is complete at pl[0, n): turn it into an event, or
 * into nothing (a fragment). Returns 1 if *ev was set. */
static int frame_done(ws_parser *p, const unsigned char *pl, size_t n, int from_buf, ws_event *ev)
{
	if (!is_control(p->op)) {
		if (!p->fin)
			return 0;
		if (!from_buf) {
			/* Invariant 2: a single-frame message seen whole. */
			if (ws__utf8_step(0, pl, n) != 0) {
				fail(p, ev, WS_CLOSE_BAD_DATA, 0);
				return 1;
			}
		} else if (p->utf8 != 0) {
			fail(p, ev, WS_CLOSE_BAD_DATA, 0);   /* ends inside a character */
			return 1;
		} else {
			p->buf[p->len] = '\0';   /* reserve() kept room for it */
			pl = p->buf;
			n = p->len;
			p->release = 1;
		}
		p->msg_op = 0;
		p->len = 0;
		ev->type = WS_EV_TEXT;
		ev->data = (const char *)(pl ? pl : (const unsigned char *)"");
		ev->len = n;
		return 1;
	}
	if (from_buf) {
		pl = p->buf + p->len;
		n = p->ctl_len;
		p->release = 1;
	}
	p->ctl_len = 0;
	ev->data = (const char *)(pl ? pl : (const unsigned char *)"");
	ev->len = n;
	if (p->op == WS_OP_PING) {
		ev->type = WS_EV_PING;
		return 1;
	}
	if (p->op == WS_OP_PONG) {
		ev->type = WS_EV_PONG;
		return 1;
	}
	/* Close: empty, or a valid code and a UTF-8 reason. */
	if (n == 1 || (n >= 2 && !ws__close_code_valid(pl[0] << 8 | pl[1]))) {
		fail(p, ev, WS_CLOSE_PROTOCOL, 0);
		return 1;
	}
	if (n > 2 && ws__utf8_step(0, pl + 2, n - 2) != 0) {
		fail(p, ev, WS_CLOSE_BAD_DATA, 0);
		return 1;
	}
	ev->type = WS_EV_CLOSE;
	ev->code = n ? pl[0] << 8 | pl[1] : WS_CLOSE_NO_STATUS;
	ev->data = n > 2 ? (const char *)pl + 2 : "";
	ev->len = n > 2 ? n - 2 : 0;
	p->dead = 1;   /* invariant 5; the reason stays readable until release */
	return 1;
}

size_t ws__parse(ws_parser *p, unsigned char *data, size_t len, ws_event *ev)
{
	ev->type = WS_EV_NONE;
	ev->code = 0;
	ev->data = NULL;
	ev->len = 0;
	if (p->release) {
		/* The previous event's bytes are no longer needed; keep the
		 * buffer only while a fragmented message is open. */
		p->release = 0;
		if (!p->msg_op)
			ws__parser_release(p);
	}
	if (p->dead)
		return len;
	size_t i = 0;
	for (;;) {
		if (!p->in_payload) {
			if (i == len)
				break;
			size_t need = hdr_need(p);
			while (p->hlen < need && i < len) {
				p->hdr[p->hlen++] = data[i++];
				if (p->hlen == 2) {
					int e = hdr_check(p);
					if (e)
						return fail(p, ev, e, i);
					need = hdr_need(p);
				}
			}
			if (p->hlen < need)
				break;
			p->hlen = 0;
			int e = hdr_finish(p);
			if (e)
				return fail(p, ev, e, i);
			p->in_payload = 1;
			int whole = is_control(p->op) || (p->op == WS_OP_TEXT && p->fin);
			if (whole && p->left <= len - i) {
				unsigned char *pl = data + i;
				size_t n = (size_t)p->left;
				unmask(p, pl, n);
				i += n;
				p->left = 0;
				p->in_payload = 0;
				if (frame_done(p, pl, n, 0, ev))
					return i;
				continue;
			}
		}
		/* Also entered with no input left when a frame's payload is empty
		 * (a final empty fragment completes its message at once). */
		size_t n = p->left < len - i ? (size_t)p->left : len - i;
		if (n == 0 && p->left)
			break;
		unsigned char *dst;
		if (is_control(p->op)) {
			reserve(p, p->len + 125 + 1);
			dst = p->buf + p->len + p->ctl_len;
			p->ctl_len += (uint32_t)n;
		} else {
			/* The whole frame at once (its length passed the
			 * max_message check), plus a NUL after the message. */
			reserve(p, p->len + (size_t)p->left + 1);
			dst = p->buf + p->len;
			p->len += n;
		}
		if (n) {
			memcpy(dst, data + i, n);
			unmask(p, dst, n);
		}
		if (!is_control(p->op) && p->msg_op == WS_OP_TEXT) {
			p->utf8 = ws__utf8_step(p->utf8, dst, n);
			if (p->utf8 == WS_UTF8_REJECT)
				return fail(p, ev, WS_CLOSE_BAD_DATA, i + n);
		}
		i += n;
		p->left -= n;
		if (p->left == 0) {
			p->in_payload = 0;
			if (frame_done(p, NULL, 0, 1, ev))
				return i;
		}
	}
	return i;
}
