/* The search query language: parsing, index text and highlighting. See
 * search_query.h for the language; unit-tested in
 * tests/unit/test_search_query.c and fuzzed by fuzz/fuzz_search_query.c.
 *
 * The parser is one left-to-right pass over the bytes with no recursion
 * and no backtracking, so any input costs time linear in its length
 * (bounded by SEARCH_QUERY_MAX_BYTES anyway). Words are ASCII
 * case-insensitive; bytes >= 0x80 are word characters (UTF-8 letters). */
#include "core/search_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "core/err.h"

#define US_PER_DAY 86400000000LL
#define HL_OPEN "\xee\x80\x80"  /* U+E000 */
#define HL_CLOSE "\xee\x80\x81" /* U+E001 */

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool has_word_char(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_word((unsigned char)s[i]))
			return true;
	return false;
}

void search_query_init(search_query *q)
{
	memset(q, 0, sizeof *q);
}

static void list_release(sq_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void search_query_release(search_query *q)
{
	for (size_t i = 0; i < q->nterms; i++) {
		free(q->terms[i].text);
		list_release(&q->terms[i].ids);
	}
	free(q->terms);
	list_release(&q->in);
	list_release(&q->not_in);
	list_release(&q->from);
	list_release(&q->not_from);
	list_release(&q->to);
	list_release(&q->emoji);
	memset(q, 0, sizeof *q);
}

bool search_query_empty(const search_query *q)
{
	return !q->nterms && !q->in.n && !q->not_in.n && !q->from.n && !q->not_from.n && !q->to.n
	       && !q->emoji.n && !q->after && !q->before && !q->has_link && !q->has_reaction
	       && !q->has_pin && !q->is_thread && !q->nothing;
}

static void list_add(sq_list *l, const char *s, size_t n)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = xstrndup(s, n);
}

static void term_add(search_query *q, const char *s, size_t n, bool phrase, bool prefix, bool neg)
{
	q->terms = xrealloc(q->terms, (q->nterms + 1) * sizeof *q->terms);
	sq_term *t = &q->terms[q->nterms++];
	t->text = xstrndup(s, n);
	t->phrase = phrase;
	t->prefix = prefix;
	t->negate = neg;
	t->ids = (sq_list){0};
}

void search_term_add_id(sq_term *t, const char *id)
{
	for (size_t i = 0; i < t->ids.n; i++)
		if (strcmp(t->ids.v[i], id) == 0)
			return;
	list_add(&t->ids, id, strlen(id));
}

/* ---- dates ---- */

int64_t search_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static unsigned month_days(int64_t y, unsigned m)
{
	static const unsigned n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : n[m - 1];
}

/* Exactly n ASCII digits at s, as a number; -1 if not. */
static int64_t digits(const char *s, size_t n)
{
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static bool word_eq(const char *s, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != w[i])
			return false;
	return true;
}

static const char *const month_names[12] = {
	"january", "february", "march", "april", "may", "june",
	"july", "august", "september", "october", "november", "december",
};

/* A month by name or three-letter abbreviation: 1..12, or 0. */
static unsigned month_by_name(const char *s, size_t n)
{
	for (unsigned i = 0; i < 12; i++) {
		if (word_eq(s, n, month_names[i]))
			return i + 1;
		if (n == 3 && lower(s[0]) == month_names[i][0] && lower(s[1]) == month_names[i][1]
		    && lower(s[2]) == month_names[i][2])
			return i + 1;
	}
	return 0;
}

/* The span [*lo, *hi) in days that a date value names: a day
 * (YYYY-MM-DD, today, yesterday), and with whole set also a month
 * (YYYY-MM or a month name) or a year (YYYY). 0 or -1. */
static int date_span(const char *s, size_t n, int64_t now_us, const search_tz *tz, bool whole,
		     int64_t *lo, int64_t *hi)
{
	int64_t today = tz ? tz->today(tz->arg, now_us)
			   : now_us >= 0 ? now_us / US_PER_DAY
					 : -((-now_us + US_PER_DAY - 1) / US_PER_DAY);
	if (word_eq(s, n, "today")) {
		*lo = today;
		*hi = today + 1;
		return 0;
	}
	if (word_eq(s, n, "yesterday")) {
		*lo = today - 1;
		*hi = today;
		return 0;
	}
	if (n == 10 && s[4] == '-' && s[7] == '-') {
		int64_t y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
		if (y < 1970 || m < 1 || m > 12 || d < 1 || d > month_days(y, (unsigned)m))
			return -1;
		*lo = search_days_from_civil(y, (unsigned)m, (unsigned)d);
		*hi = *lo + 1;
		return 0;
	}
	if (!whole)
		return -1;
	if (n == 7 && s[4] == '-') {
		int64_t y = digits(s, 4), m = digits(s + 5, 2);
		if (y < 1970 || m < 1 || m > 12)
			return -1;
		*lo = search_days_from_civil(y, (unsigned)m, 1);
		*hi = *lo + month_days(y, (unsigned)m);
		return 0;
	}
	if (n == 4) {
		int64_t y = digits(s, 4);
		if (y < 1970)
			return -1;
		*lo = search_days_from_civil(y, 1, 1);
		*hi = search_days_from_civil(y + 1, 1, 1);
		return 0;
	}
	unsigned m = month_by_name(s, n);
	if (m) {
		int64_t y;
		unsigned cur;
		civil_from_days(today, &y, &cur);
		if (m > cur)  /* the most recent such month: last year's */
			y--;
		*lo = search_days_from_civil(y, m, 1);
		*hi = *lo + month_days(y, m);
		return 0;
	}
	return -1;
}

static int64_t day_start(const search_tz *tz, int64_t day)
{
	return tz ? tz->day_start(tz->arg, day) : day * US_PER_DAY;
}

static void bound_after(search_query *q, const search_tz *tz, int64_t day)
{
	int64_t us = day_start(tz, day);
	if (!q->after || us > q->after)
		q->after = us;
}

static void bound_before(search_query *q, const search_tz *tz, int64_t day)
{
	int64_t us = day_start(tz, day);
	if (!q->before || us < q->before)
		q->before = us;
}

/* ---- modifiers ---- */

typedef enum { M_IN, M_FROM, M_TO, M_BEFORE, M_AFTER, M_ON, M_DURING, M_HAS, M_IS } mod_kind;

static const struct modifier {
	const char *name;
	mod_kind kind;
	const char *example;
} modifiers[] = {
	{"in", M_IN, "in:#general or in:@bob"},
	{"from", M_FROM, "from:@bob or from:me"},
	{"to", M_TO, "to:@bob or to:me"},
	{"before", M_BEFORE, "before:2024-05-01"},
	{"after", M_AFTER, "after:2024-05-01"},
	{"on", M_ON, "on:2024-05-01"},
	{"during", M_DURING, "during:2024-05 or during:2024"},
	{"has", M_HAS, "has:link, has:reaction, has:pin or has::tada:"},
	{"is", M_IS, "is:thread"},
};

static const struct modifier *modifier_find(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof modifiers / sizeof modifiers[0]; i++)
		if (word_eq(s, n, modifiers[i].name))
			return &modifiers[i];
	return NULL;
}

static bool emoji_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-'
	       || c == '\'' || c == ':';
}

static int modifier_apply(search_query *q, const struct modifier *md, bool neg, const char *v,
			  size_t vn, int64_t now_us, const search_tz *tz, char *err, size_t errlen)
{
	const char *name = md->name;
	if (!vn) {
		snprintf(err, errlen, "%s: needs a value, as in %s", name, md->example);
		return ERR_INVALID_QUERY;
	}
	if (neg && md->kind != M_IN && md->kind != M_FROM) {
		snprintf(err, errlen, "only in: and from: can be excluded with '-', not %s:", name);
		return ERR_INVALID_QUERY;
	}
	int64_t lo, hi;
	switch (md->kind) {
	case M_IN:
		list_add(neg ? &q->not_in : &q->in, v, vn);
		return 0;
	case M_FROM:
		list_add(neg ? &q->not_from : &q->from, v, vn);
		return 0;
	case M_TO:
		list_add(&q->to, v, vn);
		return 0;
	case M_BEFORE:
	case M_AFTER:
	case M_ON:
	case M_DURING:
		if (date_span(v, vn, now_us, tz, md->kind == M_DURING, &lo, &hi) != 0) {
			snprintf(err, errlen, "%s:%.*s is not a date: use %s", name, (int)vn, v,
				 md->kind == M_DURING
					 ? "YYYY-MM-DD, YYYY-MM, YYYY, a month name, today or yesterday"
					 : "YYYY-MM-DD, today or yesterday");
			return ERR_INVALID_QUERY;
		}
		if (md->kind == M_BEFORE) {
			bound_before(q, tz, lo);
		} else if (md->kind == M_AFTER) {
			bound_after(q, tz, hi);
		} else {
			bound_after(q, tz, lo);
			bound_before(q, tz, hi);
		}
		if (q->after && q->before && q->after >= q->before)
			q->nothing = true;
		return 0;
	case M_HAS:
		if (word_eq(v, vn, "link") || word_eq(v, vn, "links")) {
			q->has_link = true;
			return 0;
		}
		if (word_eq(v, vn, "reaction") || word_eq(v, vn, "reactions")) {
			q->has_reaction = true;
			return 0;
		}
		if (word_eq(v, vn, "pin") || word_eq(v, vn, "pins") || word_eq(v, vn, "pinned")) {
			q->has_pin = true;
			return 0;
		}
		if (vn >= 3 && v[0] == ':' && v[vn - 1] == ':') {
			bool ok = true;
			for (size_t i = 1; i + 1 < vn; i++)
				ok = ok && emoji_char(lower(v[i]));
			/* The name itself may hold "::skin-tone-2", not start or
			 * end with a colon. */
			if (ok && v[1] != ':' && v[vn - 2] != ':' && vn - 2 <= 120) {
				char *e = xstrndup(v + 1, vn - 2);
				for (char *p = e; *p; p++)
					*p = lower(*p);
				list_add(&q->emoji, e, strlen(e));
				free(e);
				return 0;
			}
		}
		snprintf(err, errlen, "has:%.*s is not something a message can have: use %s", (int)vn,
			 v, md->example);
		return ERR_INVALID_QUERY;
	case M_IS:
		if (word_eq(v, vn, "thread") || word_eq(v, vn, "threads")) {
			q->is_thread = true;
			return 0;
		}
		snprintf(err, errlen, "is:%.*s is not a kind of message: use is:thread", (int)vn, v);
		return ERR_INVALID_QUERY;
	}
	return 0;
}

int search_query_parse(const char *text, int64_t now_us, search_query *q, char *err, size_t errlen)
{
	return search_query_parse_tz(text, now_us, NULL, q, err, errlen);
}

int search_query_parse_tz(const char *text, int64_t now_us, const search_tz *tz, search_query *q,
			  char *err, size_t errlen)
{
	search_query_init(q);
	if (errlen)
		err[0] = '\0';
	if (!text)
		text = "";
	size_t len = strlen(text);
	int rc = 0;
	if (len > SEARCH_QUERY_MAX_BYTES) {
		snprintf(err, errlen, "the query is longer than %d bytes", SEARCH_QUERY_MAX_BYTES);
		rc = ERR_INVALID_QUERY;
		goto out;
	}
	const char *p = text;
	size_t parts = 0;
	while (*p) {
		while (is_space((unsigned char)*p))
			p++;
		if (!*p)
			break;
		if (++parts > SEARCH_QUERY_MAX_PARTS) {
			snprintf(err, errlen, "the query has more than %d words and modifiers",
				 SEARCH_QUERY_MAX_PARTS);
			rc = ERR_INVALID_QUERY;
			goto out;
		}
		bool neg = false;
		if (*p == '-' && p[1] && !is_space((unsigned char)p[1])) {
			neg = true;
			p++;
		}
		if (*p == '"') {
			const char *e = strchr(p + 1, '"');
			if (!e) {
				snprintf(err, errlen, "unbalanced quote: the phrase starting at \"%.20s is not closed",
					 p + 1);
				rc = ERR_INVALID_QUERY;
				goto out;
			}
			if (has_word_char(p + 1, (size_t)(e - p - 1)))
				term_add(q, p + 1, (size_t)(e - p - 1), true, false, neg);
			p = e + 1;
			continue;
		}
		/* A word ends at a space, or at a quote that opens a phrase. */
		const char *s = p;
		while (*p && !is_space((unsigned char)*p) && *p != '"')
			p++;
		size_t n = (size_t)(p - s);
		const char *colon = memchr(s, ':', n);
		const struct modifier *md = colon && colon > s ? modifier_find(s, (size_t)(colon - s)) : NULL;
		if (md) {
			rc = modifier_apply(q, md, neg, colon + 1, (size_t)(s + n - colon - 1), now_us, tz,
					    err, errlen);
			if (rc)
				goto out;
			continue;
		}
		bool prefix = false;
		while (n && s[n - 1] == '*') {
			prefix = true;
			n--;
		}
		/* Words of punctuation only would match nothing; they are
		 * dropped, as the index drops them from messages. */
		if (has_word_char(s, n))
			term_add(q, s, n, false, prefix, neg);
	}
out:
	if (rc)
		search_query_release(q);
	return rc;
}

/* ---- index text ---- */

/* Appends s[0..n) with &amp; &lt; &gt; decoded. */
static void put_decoded(buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '&') {
			if (n - i >= 5 && memcmp(s + i, "&amp;", 5) == 0) {
				buf_addc(b, '&');
				i += 4;
				continue;
			}
			if (n - i >= 4 && memcmp(s + i, "&lt;", 4) == 0) {
				buf_addc(b, '<');
				i += 3;
				continue;
			}
			if (n - i >= 4 && memcmp(s + i, "&gt;", 4) == 0) {
				buf_addc(b, '>');
				i += 3;
				continue;
			}
		}
		buf_addc(b, s[i]);
	}
}

/* One <...> markup (inner = between the brackets) as a person reads it. */
static void put_markup(buf *b, const char *in, size_t n)
{
	const char *bar = memchr(in, '|', n);
	size_t idn = bar ? (size_t)(bar - in) : n;
	const char *label = bar ? bar + 1 : NULL;
	size_t ln = bar ? (size_t)(in + n - label) : 0;
	if (!n)
		return;
	switch (in[0]) {
	case '@':  /* a user: the id, which names the person whatever they
		    * are called now (api_search.c expands names to ids), and
		    * the label as it was written */
		put_decoded(b, in + 1, idn - 1);
		if (label && ln) {
			buf_addc(b, ' ');
			put_decoded(b, label, ln);
		}
		return;
	case '#':  /* a channel */
		buf_addc(b, '#');
		if (label && ln)
			put_decoded(b, label, ln);
		else
			put_decoded(b, in + 1, idn - 1);
		return;
	case '!': {  /* @here, @channel, a user group, a date */
		if (label && ln) {
			put_decoded(b, label, ln);
			return;
		}
		size_t w = 1;
		while (w < idn && in[w] != '^')
			w++;
		buf_addc(b, '@');
		put_decoded(b, in + 1, w - 1);
		return;
	}
	default:
		break;
	}
	if (idn >= 7 && memcmp(in, "mailto:", 7) == 0) {
		if (label && ln)
			put_decoded(b, label, ln);
		else
			put_decoded(b, in + 7, idn - 7);
		return;
	}
	if (label && ln) {
		put_decoded(b, label, ln);
		buf_addc(b, ' ');
	}
	put_decoded(b, in, idn);
}

char *search_text_plain(const char *text)
{
	buf b = BUF_INIT;
	buf_adds(&b, "");
	if (!text)
		return buf_detach(&b, NULL);
	const char *p = text;
	while (*p) {
		const char *lt = strchr(p, '<');
		if (!lt) {
			put_decoded(&b, p, strlen(p));
			break;
		}
		const char *gt = strchr(lt + 1, '>');
		if (!gt) {
			put_decoded(&b, p, strlen(p));
			break;
		}
		put_decoded(&b, p, (size_t)(lt - p));
		/* Markup between words reads as its own word. */
		if (b.len && is_word((unsigned char)b.data[b.len - 1]))
			buf_addc(&b, ' ');
		put_markup(&b, lt + 1, (size_t)(gt - lt - 1));
		if (is_word((unsigned char)gt[1]))
			buf_addc(&b, ' ');
		p = gt + 1;
	}
	return buf_detach(&b, NULL);
}

/* ---- blocks and attachments ---- */

/* Appends a readable string, marked up as mrkdwn or not, after a space. */
static void put_field(buf *b, json_t *v, bool mrkdwn)
{
	const char *s = json_string_value(v);
	if (!s || !*s)
		return;
	if (b->len)
		buf_addc(b, ' ');
	if (mrkdwn) {
		char *plain = search_text_plain(s);
		buf_adds(b, plain);
		free(plain);
	} else {
		buf_adds(b, s);
	}
}

/* A text object ({"type":"mrkdwn"|"plain_text","text":...}). */
static void put_text_obj(buf *b, json_t *o)
{
	if (!json_is_object(o))
		return;
	const char *type = json_string_value(json_object_get(o, "type"));
	put_field(b, json_object_get(o, "text"), type && strcmp(type, "mrkdwn") == 0);
}

/* One mention, link or emoji inside rich_text, spaced as
 * search_text_plain spaces markup: it reads as its own word. */
static void put_piece(buf *b, json_t *v, bool *piece)
{
	const char *s = json_string_value(v);
	if (!s || !*s)
		return;
	if (b->len && is_word((unsigned char)b->data[b->len - 1]))
		buf_addc(b, ' ');
	buf_adds(b, s);
	*piece = true;
}

/* The elements of rich_text (sections, lists, quotes, preformatted, and
 * inside them text, links, mentions, emoji), depth-bounded: a block is
 * at most a few levels deep, and stored JSON has been through the API.
 * The result reads as the text clients send beside it, so that a
 * rich_text that repeats the text is recognised (put_blocks). */
static void put_rich(buf *b, json_t *v, int depth, bool *piece)
{
	if (depth > 8)
		return;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e)
			put_rich(b, e, depth + 1, piece);
		return;
	}
	if (!json_is_object(v))
		return;
	const char *type = json_string_value(json_object_get(v, "type"));
	if (!type)
		return;
	if (strcmp(type, "text") == 0) {
		/* Pieces of one sentence: no space between them, as written. */
		const char *t = json_string_value(json_object_get(v, "text"));
		if (t && *t) {
			if (*piece && is_word((unsigned char)*t))
				buf_addc(b, ' ');
			buf_adds(b, t);
			*piece = false;
		}
	} else if (strcmp(type, "link") == 0) {
		const char *t = json_string_value(json_object_get(v, "text"));
		if (t && *t) {
			put_piece(b, json_object_get(v, "text"), piece);
			buf_addc(b, ' ');
		}
		put_piece(b, json_object_get(v, "url"), piece);
	} else if (strcmp(type, "user") == 0) {
		put_piece(b, json_object_get(v, "user_id"), piece);
	} else if (strcmp(type, "channel") == 0) {
		put_piece(b, json_object_get(v, "channel_id"), piece);
	} else if (strcmp(type, "emoji") == 0) {
		put_piece(b, json_object_get(v, "name"), piece);
	} else if (strcmp(type, "broadcast") == 0) {
		const char *r = json_string_value(json_object_get(v, "range"));
		if (r) {
			char at[40];
			snprintf(at, sizeof at, "@%.30s", r);
			json_t *j = json_string(at);
			put_piece(b, j, piece);
			json_decref(j);
		}
	} else {
		/* rich_text_section / _list / _quote / _preformatted: a new
		 * line of their own */
		if (b->len && !is_space((unsigned char)b->data[b->len - 1]))
			buf_addc(b, '\n');
		*piece = false;
		put_rich(b, json_object_get(v, "elements"), depth + 1, piece);
	}
}

/* Readable text of a blocks array. plain: the message's own text, to leave
 * out rich_text that only repeats it. */
static void put_blocks(buf *b, json_t *blocks, const char *plain)
{
	size_t i;
	json_t *bl;
	if (!json_is_array(blocks))
		return;
	json_array_foreach (blocks, i, bl) {
		const char *type = json_string_value(json_object_get(bl, "type"));
		if (!type)
			continue;
		if (strcmp(type, "section") == 0) {
			put_text_obj(b, json_object_get(bl, "text"));
			size_t k;
			json_t *f;
			json_array_foreach (json_object_get(bl, "fields"), k, f)
				put_text_obj(b, f);
		} else if (strcmp(type, "header") == 0) {
			put_text_obj(b, json_object_get(bl, "text"));
		} else if (strcmp(type, "context") == 0) {
			size_t k;
			json_t *e;
			json_array_foreach (json_object_get(bl, "elements"), k, e)
				put_text_obj(b, e);
		} else if (strcmp(type, "rich_text") == 0) {
			buf r = BUF_INIT;
			bool piece = false;
			put_rich(&r, json_object_get(bl, "elements"), 0, &piece);
			/* Trimmed, then dropped if the text already says it. */
			size_t lo = 0, hi = r.len;
			while (lo < hi && is_space((unsigned char)r.data[lo]))
				lo++;
			while (hi > lo && is_space((unsigned char)r.data[hi - 1]))
				hi--;
			if (hi > lo) {
				r.data[hi] = '\0';
				if (!plain || !strstr(plain, r.data + lo)) {
					if (b->len)
						buf_addc(b, ' ');
					buf_adds(b, r.data + lo);
				}
			}
			buf_release(&r);
		}
	}
}

static void put_attachments(buf *b, json_t *atts)
{
	static const char *const plain_keys[] = {"author_name", "footer", "fallback"};
	static const char *const md_keys[] = {"pretext", "title", "text"};
	size_t i;
	json_t *a;
	if (!json_is_array(atts))
		return;
	json_array_foreach (atts, i, a) {
		if (!json_is_object(a))
			continue;
		for (size_t k = 0; k < sizeof md_keys / sizeof md_keys[0]; k++)
			put_field(b, json_object_get(a, md_keys[k]), true);
		size_t k;
		json_t *f;
		json_array_foreach (json_object_get(a, "fields"), k, f) {
			put_field(b, json_object_get(f, "title"), false);
			put_field(b, json_object_get(f, "value"), true);
		}
		for (k = 0; k < sizeof plain_keys / sizeof plain_keys[0]; k++)
			put_field(b, json_object_get(a, plain_keys[k]), false);
		put_blocks(b, json_object_get(a, "blocks"), NULL);
	}
}

char *search_text_index(const char *text, const char *blocks, const char *attachments)
{
	char *plain = search_text_plain(text);
	if (!blocks && !attachments)
		return plain;  /* the common case: no JSON to read */
	buf b = BUF_INIT;
	buf_adds(&b, plain);
	if (blocks) {
		json_t *j = json_loads(blocks, JSON_DECODE_ANY, NULL);
		put_blocks(&b, j, *plain ? plain : NULL);
		json_decref(j);
	}
	if (attachments) {
		json_t *j = json_loads(attachments, JSON_DECODE_ANY, NULL);
		put_attachments(&b, j);
		json_decref(j);
	}
	free(plain);
	return buf_detach(&b, NULL);
}

/* ---- highlighting ---- */

typedef struct hl_word {
	char *w;      /* lowercase */
	size_t stem;  /* length of the stem that a longer word may start with */
	bool prefix;
} hl_word;

/* The stem the index's Porter stemmer would roughly give: a few common
 * English endings off, never below three letters. */
static size_t stem_len(const char *w, size_t n)
{
	static const char *const suffixes[] = {"ing", "ed", "es", "s", "ly", "er"};
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		size_t sl = strlen(suffixes[i]);
		if (n < sl + 3)
			continue;
		bool eq = true;
		for (size_t k = 0; k < sl && eq; k++)
			eq = lower(w[n - sl + k]) == suffixes[i][k];
		if (eq)
			return n - sl;
	}
	return n;
}

static void hl_add_words(hl_word **v, size_t *n, const sq_term *t)
{
	const char *s = t->text;
	while (*s) {
		while (*s && !is_word((unsigned char)*s))
			s++;
		const char *e = s;
		while (*e && is_word((unsigned char)*e))
			e++;
		if (e > s) {
			*v = xrealloc(*v, (*n + 1) * sizeof **v);
			hl_word *h = &(*v)[(*n)++];
			h->w = xstrndup(s, (size_t)(e - s));
			for (char *c = h->w; *c; c++)
				*c = lower(*c);
			h->stem = stem_len(h->w, strlen(h->w));
			/* Only the last word of a prefix term is a prefix. */
			h->prefix = t->prefix && !*e;
		}
		s = e;
	}
}

static bool starts_with(const char *w, size_t wn, const char *t, size_t tn)
{
	if (wn < tn)
		return false;
	for (size_t k = 0; k < tn; k++)
		if (lower(w[k]) != t[k])
			return false;
	return true;
}

static bool hl_match(const hl_word *v, size_t n, const char *w, size_t wn)
{
	for (size_t i = 0; i < n; i++) {
		size_t tn = strlen(v[i].w);
		if (v[i].prefix) {
			if (starts_with(w, wn, v[i].w, tn))
				return true;
			continue;
		}
		/* "deploying" (stem "deploy") matches "deployed"; "deploy"
		 * matches "deploys" (the word's own stem is the term). */
		if (v[i].stem < tn && starts_with(w, wn, v[i].w, v[i].stem))
			return true;
		if (starts_with(w, wn, v[i].w, tn) && (wn == tn || stem_len(w, wn) <= tn))
			return true;
	}
	return false;
}

/* Appends s[0..n) with matching words wrapped. */
static void hl_run(buf *b, const char *s, size_t n, const hl_word *v, size_t nv)
{
	size_t i = 0;
	while (i < n) {
		if (s[i] == '&') {
			/* Entities stay whole: "&amp;" is not the word "amp". */
			const char *semi = memchr(s + i, ';', n - i);
			if (semi && semi - (s + i) <= 5) {
				buf_add(b, s + i, (size_t)(semi - (s + i)) + 1);
				i = (size_t)(semi - s) + 1;
				continue;
			}
		}
		if (!is_word((unsigned char)s[i])) {
			buf_addc(b, s[i++]);
			continue;
		}
		size_t e = i;
		while (e < n && is_word((unsigned char)s[e]))
			e++;
		bool m = hl_match(v, nv, s + i, e - i);
		if (m)
			buf_adds(b, HL_OPEN);
		buf_add(b, s + i, e - i);
		if (m)
			buf_adds(b, HL_CLOSE);
		i = e;
	}
}

char *search_highlight(const char *text, const search_query *q)
{
	buf b = BUF_INIT;
	buf_adds(&b, "");
	if (!text)
		return buf_detach(&b, NULL);
	hl_word *v = NULL;
	size_t nv = 0;
	for (size_t i = 0; i < q->nterms; i++)
		if (!q->terms[i].negate)
			hl_add_words(&v, &nv, &q->terms[i]);
	if (!nv) {
		buf_adds(&b, text);
		free(v);
		return buf_detach(&b, NULL);
	}
	const char *p = text;
	while (*p) {
		const char *lt = strchr(p, '<');
		const char *gt = lt ? strchr(lt + 1, '>') : NULL;
		if (!gt) {
			hl_run(&b, p, strlen(p), v, nv);
			break;
		}
		hl_run(&b, p, (size_t)(lt - p), v, nv);
		/* Markup keeps its ids and URLs as they are (a client parses
		 * them); only a label, which a person reads, is highlighted. */
		const char *bar = memchr(lt, '|', (size_t)(gt - lt));
		if (bar) {
			buf_add(&b, lt, (size_t)(bar - lt) + 1);
			hl_run(&b, bar + 1, (size_t)(gt - bar - 1), v, nv);
			buf_addc(&b, '>');
		} else {
			buf_add(&b, lt, (size_t)(gt - lt) + 1);
		}
		p = gt + 1;
	}
	for (size_t i = 0; i < nv; i++)
		free(v[i].w);
	free(v);
	return buf_detach(&b, NULL);
}
