/* A compact JSON writer for the hot paths: every Web API answer and every
 * real-time event is serialized once per request, and jansson's
 * json_dumps (a callback per character, snprintf for numbers) was about
 * 18% of the server's instructions per chat.postMessage. This writes the
 * same bytes as json_dumps(v, JSON_COMPACT) (tests/unit/test_api_json.c
 * compares them): insertion-ordered keys, "," and ":" separators, UTF-8
 * kept as is, and jansson's escapes (\" \\ \b \f \n \r \t, \u00XX for
 * other control characters). Reals, rare in Slack's shapes, are handed to
 * jansson so their formatting cannot differ. */
#include "api/api_json.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* 1 for bytes that need an escape in a JSON string. */
static const unsigned char needs_escape[256] = {
	[0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
	[0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
	[0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
	[0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
	[0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1, ['\\'] = 1,
};

static void put_string(buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	buf_reserve(b, n + 2);
	buf_addc(b, '"');
	size_t run = 0;  /* start of the pending unescaped run */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!needs_escape[ch])
			continue;
		buf_add(b, s + run, i - run);
		run = i + 1;
		char esc[6] = {'\\', 0};
		size_t len = 2;
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			len = 6;
		}
		buf_add(b, esc, len);
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
}

static void put_int(buf *b, json_int_t v)
{
	char tmp[24];
	size_t i = sizeof tmp;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	buf_add(b, tmp + i, sizeof tmp - i);
}

static void put_value(buf *b, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		buf_addc(b, '{');
		const char *k;
		json_t *x;
		int first = 1;
		/* json_object_foreach wants a non-const object; it only reads. */
		json_object_foreach((json_t *)v, k, x) {
			if (!first)
				buf_addc(b, ',');
			first = 0;
			put_string(b, k, strlen(k));
			buf_addc(b, ':');
			put_value(b, x);
		}
		buf_addc(b, '}');
		break;
	}
	case JSON_ARRAY: {
		buf_addc(b, '[');
		size_t n = json_array_size(v);
		for (size_t i = 0; i < n; i++) {
			if (i)
				buf_addc(b, ',');
			put_value(b, json_array_get(v, i));
		}
		buf_addc(b, ']');
		break;
	}
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_int(b, json_integer_value(v));
		break;
	case JSON_REAL: {
		char *r = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (r)
			buf_adds(b, r);
		free(r);
		break;
	}
	case JSON_TRUE:
		buf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		buf_add(b, "false", 5);
		break;
	case JSON_NULL:
		buf_add(b, "null", 4);
		break;
	}
}

char *api_json_dump(const json_t *v, size_t *len)
{
	if (!v || (!json_is_object(v) && !json_is_array(v)))
		return NULL;  /* as json_dumps without JSON_ENCODE_ANY */
	buf b = BUF_INIT;
	/* 511 bytes of room: a 512-byte block (1024 and up is a large-bin
	 * request, which made malloc consolidate its fast bins each time). */
	buf_reserve(&b, 510);
	put_value(&b, v);
	if (len)
		*len = b.len;
	return b.data;
}
