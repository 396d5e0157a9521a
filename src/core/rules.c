/* Pure domain rules: names, timestamps, cursors, visibility, text checks.
 * Nothing here allocates state or does I/O beyond returning heap strings,
 * so every function is tested directly in tests/unit/test_rules.c. */
#include "core/rules.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "core/err.h"

/* Decodes one UTF-8 code point at s (at least one byte available, NUL
 * terminated). Returns its length, or 0 if the sequence is invalid
 * (truncated, overlong, surrogate or beyond U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t n;
	uint32_t min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		n = 2, c &= 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 3, c &= 0x0F, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0; /* also stops at the NUL of a truncated sequence */
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return n;
}

/* Non-ASCII code points accepted as "letters" in channel names. Without
 * Unicode tables we accept everything except the blocks that are plainly
 * not letters: C1 controls, no-break space, general punctuation (which
 * holds the invisible spaces and joiners) and the ideographic space/BOM. */
static int non_ascii_letter(uint32_t cp)
{
	if (cp < 0xA1)
		return 0;
	if (cp >= 0x2000 && cp <= 0x206F)
		return 0;
	if (cp == 0x3000 || cp == 0xFEFF)
		return 0;
	return 1;
}

int rules_channel_name_check(const char *name)
{
	if (!name || !*name)
		return ERR_INVALID_NAME_REQUIRED;
	const unsigned char *p = (const unsigned char *)name;
	size_t len = 0;
	int alnum = 0, bad = 0;
	while (*p) {
		uint32_t cp;
		size_t n = utf8_decode(p, &cp);
		if (!n) {
			bad = 1;
			p++;
			len++;
			continue;
		}
		if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'))
			alnum = 1;
		else if (cp == '-' || cp == '_')
			;
		else if (cp >= 0x80 && non_ascii_letter(cp))
			alnum = 1;
		else
			bad = 1;
		p += n;
		len++;
	}
	/* Slack checks length first: an 81-char name of valid characters is
	 * "too long", whatever else is wrong with it. */
	if (len > RULES_NAME_MAX)
		return ERR_INVALID_NAME_MAXLENGTH;
	if (bad)
		return ERR_INVALID_NAME_SPECIALS;
	if (!alnum)
		return ERR_INVALID_NAME_PUNCTUATION;
	return 0;
}

char *rules_channel_name_normalize(const char *name)
{
	if (!name)
		return xstrdup("");
	const char *b = name, *e = name + strlen(name);
	while (b < e && isspace((unsigned char)*b))
		b++;
	if (b < e && *b == '#')
		b++;
	while (b < e && isspace((unsigned char)*b))
		b++;
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	char *out = xstrndup(b, (size_t)(e - b));
	for (char *q = out; *q; q++) {
		unsigned char c = (unsigned char)*q;
		if (c == ' ')
			*q = '-';
		else if (c < 0x80)
			*q = (char)tolower(c);
	}
	return out;
}

/* ---- ts ---- */

int rules_ts_parse(const char *s, int64_t *out)
{
	if (!s || !*s)
		return -1;
	int64_t sec = 0, frac = 0;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (sec > (INT64_MAX - 9) / 10)
			return -1;
		sec = sec * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		int digits = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (++digits > 6)
				return -1;
			frac = frac * 10 + (*p - '0');
		}
		if (!digits)
			return -1;
		for (; digits < 6; digits++)
			frac *= 10;
	}
	if (*p)
		return -1;
	if (sec > (INT64_MAX - frac) / 1000000)
		return -1;
	*out = sec * 1000000 + frac;
	return 0;
}

void rules_ts_format(int64_t ts, char out[24])
{
	/* Negative ts never names a message; render it as the zero ts rather
	 * than a string no client could parse back. */
	if (ts < 0)
		ts = 0;
	/* "%010lld.%06lld" by hand: every message, answer and event formats
	 * several of these, and snprintf's format walk was ~1.4k instructions
	 * each (bench/README.md). Seconds: at least 10 digits, at most 13
	 * (INT64_MAX / 1e6 < 10^13), so it always fits in 24. */
	uint64_t sec = (uint64_t)ts / 1000000, us = (uint64_t)ts % 1000000;
	char d[20];
	int n = 0;
	do {
		d[n++] = (char)('0' + sec % 10);
		sec /= 10;
	} while (sec);
	int len = 0;
	for (int i = n; i < 10; i++)
		out[len++] = '0';
	while (n)
		out[len++] = d[--n];
	out[len++] = '.';
	for (int i = 5; i >= 0; i--, us /= 10)
		out[len + i] = (char)('0' + us % 10);
	out[len + 6] = '\0';
}

/* ---- cursors ---- */

#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

char *rules_cursor_encode(const char *kind, const char *value)
{
	char *plain = xasprintf("%s:%s", kind ? kind : "", value ? value : "");
	size_t len = strlen(plain);
	size_t cap = sodium_base64_ENCODED_LEN(len, B64_VARIANT);
	char *out = xmalloc(cap);
	sodium_bin2base64(out, cap, (const unsigned char *)plain, len, B64_VARIANT);
	free(plain);
	return out;
}

int rules_cursor_decode(const char *cursor, const char *kind, char **value)
{
	*value = NULL;
	if (!cursor || !*cursor || !kind)
		return ERR_INVALID_CURSOR;
	size_t clen = strlen(cursor);
	unsigned char *bin = xmalloc(clen + 1);
	size_t blen = 0;
	int rc = ERR_INVALID_CURSOR;
	if (sodium_base642bin(bin, clen, cursor, clen, NULL, &blen, NULL, B64_VARIANT) != 0)
		goto out;
	bin[blen] = '\0';
	size_t klen = strlen(kind);
	/* An embedded NUL would make the value silently shorter than what was
	 * encoded: treat it as garbage. */
	if (memchr(bin, '\0', blen) || blen < klen + 1 || memcmp(bin, kind, klen) != 0 || bin[klen] != ':')
		goto out;
	*value = xstrdup((const char *)bin + klen + 1);
	rc = 0;
out:
	free(bin);
	return rc;
}

/* ---- visibility ---- */

bool rules_is_member(const user *u, const channel *c)
{
	return u && c && map_get(&c->members, u->id) != NULL;
}

bool rules_can_see(const user *u, const channel *c)
{
	if (!u || !c || u->deleted || strcmp(u->org_id, c->org_id) != 0)
		return false;
	if (c->kind == CHAN_PUBLIC)
		return true;
	return rules_is_member(u, c);
}

/* ---- text ---- */

size_t rules_utf8_len(const char *s)
{
	size_t n = 0;
	if (!s)
		return 0;
	/* Count every byte that does not continue a sequence: invalid bytes
	 * count as one character each, which is what a lenient client shows. */
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static int emoji_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '\''
		|| c == '-';
}

bool rules_emoji_name_ok(const char *name)
{
	if (!name)
		return false;
	size_t n = 0;
	while (emoji_char(name[n]))
		n++;
	if (n < 1 || n > 100)
		return false;
	if (!name[n])
		return true;
	/* "thumbsup::skin-tone-3": Slack's modifiers are tones 2..6. */
	const char *tone = name + n;
	return strncmp(tone, "::skin-tone-", 12) == 0 && tone[12] >= '2' && tone[12] <= '6' && !tone[13];
}

bool rules_user_name_ok(const char *name)
{
	if (!name)
		return false;
	size_t n = 0;
	for (; name[n]; n++) {
		char c = name[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
			return false;
	}
	return n >= 1 && n <= RULES_NAME_MAX;
}

bool rules_email_ok(const char *email)
{
	if (!email)
		return false;
	const char *at = strchr(email, '@');
	if (!at || at == email || strchr(at + 1, '@'))
		return false;
	for (const char *p = email; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	const char *dom = at + 1;
	size_t dl = strlen(dom);
	const char *dot = strchr(dom, '.');
	/* "a@b." and "a@.b" and "a@b..c" are not deliverable domains. */
	if (!dl || !dot || dom[0] == '.' || dom[dl - 1] == '.' || strstr(dom, ".."))
		return false;
	return strlen(email) <= 254;
}
