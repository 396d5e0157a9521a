/* libFuzzer harness for the search query language (src/core/search_query.c):
 * search_query_parse, search_text_plain and search_highlight.
 *
 * Input: any bytes, used as one C string (a NUL ends it, as in any
 * argument). Properties checked besides memory safety: a parse either
 * fails with ERR_INVALID_QUERY and an explanation, leaving nothing behind,
 * or succeeds within the documented limits (every term non-empty and
 * holding a word character, every list value non-empty, date bounds
 * ordered unless the query matches nothing); the index text is never
 * much longer than the input; highlighting only adds U+E000/U+E001 pairs,
 * balanced, and taking them out gives the input back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/search_query.h"

#define NOW 1715774400000000LL /* 2024-05-15 12:00 UTC */

static void check_list(const sq_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i] || !*l->v[i])
			abort();
}

static void check_highlight(const char *s, const search_query *q)
{
	char *h = search_highlight(s, q);
	/* An input holding the markers' bytes itself cannot be told apart:
	 * only memory safety is checked for it. */
	if (!strstr(s, "\xee\x80")) {
		size_t n = strlen(h), k = 0;
		char *back = malloc(n + 1);
		int open = 0;
		for (size_t i = 0; i < n;) {
			if (n - i >= 3 && memcmp(h + i, "\xee\x80\x80", 3) == 0) {
				if (open++)
					abort();
				i += 3;
			} else if (n - i >= 3 && memcmp(h + i, "\xee\x80\x81", 3) == 0) {
				if (!open--)
					abort();
				i += 3;
			} else {
				back[k++] = h[i++];
			}
		}
		back[k] = '\0';
		if (open || strcmp(back, s) != 0)
			abort();
		free(back);
	}
	free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, in, size);
	s[size] = '\0';

	search_query q;
	char err[256];
	int rc = search_query_parse(s, NOW, &q, err, sizeof err);
	if (rc) {
		if (rc != ERR_INVALID_QUERY || !err[0] || q.nterms || q.terms)
			abort();
	} else {
		if (q.nterms > SEARCH_QUERY_MAX_PARTS)
			abort();
		for (size_t i = 0; i < q.nterms; i++) {
			const char *t = q.terms[i].text;
			if (!t || !*t)
				abort();
			int word = 0;
			for (const unsigned char *p = (const unsigned char *)t; *p; p++)
				word |= (*p >= '0' && *p <= '9') || ((*p | 32) >= 'a' && (*p | 32) <= 'z') || *p >= 0x80;
			if (!word)
				abort();
		}
		check_list(&q.in);
		check_list(&q.not_in);
		check_list(&q.from);
		check_list(&q.not_from);
		check_list(&q.to);
		check_list(&q.emoji);
		if (q.after < 0 || q.before < 0)
			abort();
		if (q.after && q.before && q.after >= q.before && !q.nothing)
			abort();
		check_highlight(s, &q);
		search_query_release(&q);
	}

	char *plain = search_text_plain(s);
	if (strlen(plain) > 2 * size + 1)
		abort();
	free(plain);
	/* The same bytes as a message's blocks and attachments JSON: never
	 * a crash, and no more text out than came in (plus separators). */
	char *idx = search_text_index("t", s, s);
	if (strlen(idx) > 4 * size + 16)
		abort();
	free(idx);
	free(s);
	return 0;
}
