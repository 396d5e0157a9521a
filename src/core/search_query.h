/* The search query language (search.messages), as Slack's: pure logic, no
 * I/O. Three parts:
 *
 *  - search_query_parse: the text a person types into what it asks for:
 *    words, "exact phrases", word* prefixes, -excluded words, and the
 *    modifiers in:, from:, to:, before:, after:, on:, during:, has:, is:.
 *    Names in modifiers (in:#general, from:@bob, <@U1>) are kept as typed:
 *    the API layer resolves them against hot state, since only it knows
 *    who may see what.
 *  - search_text_plain: message text as a person reads it (mrkdwn markup
 *    such as <#C1|general> or <http://x|label> and &amp; entities undone),
 *    which is what the index holds.
 *  - search_highlight: the raw text with the words a query matched wrapped
 *    in U+E000 ... U+E001, as Slack's highlight=true does.
 *
 * Dates are calendar days in the searcher's time zone (search_tz; UTC
 * without one). before:D and after:D are exclusive (as
 * in Slack: after:2024-05-01 starts on May 2nd); on:D is that day;
 * during: takes a day, a month (2024-05, or a month name: the most recent
 * one not in the future) or a year. */
#ifndef CANAL_CORE_SEARCH_QUERY_H
#define CANAL_CORE_SEARCH_QUERY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest query accepted, and most words plus modifiers in one. */
#define SEARCH_QUERY_MAX_BYTES 2000
#define SEARCH_QUERY_MAX_PARTS 64

typedef struct sq_list {
	char **v;      /* heap strings */
	size_t n;
} sq_list;

typedef struct sq_term {
	char *text;    /* as typed (quotes and '-' removed); never empty */
	bool phrase;   /* "exact phrase" */
	bool prefix;   /* word* */
	bool negate;   /* -word or -"phrase" */
	/* Ids of the people this word names (their name, display name or a
	 * word of their real name): the term also matches a mention <@id>.
	 * Filled by the API layer from hot state at query time, so a person
	 * renamed is found by the new name in old messages; the parser leaves
	 * it empty. */
	sq_list ids;
} sq_term;

typedef struct search_query {
	sq_term *terms;
	size_t nterms;
	/* Modifier values as typed ("#general", "general", "<#C1|x>", "C1",
	 * "@bob", "<@U1>", "me"); the not_ lists hold -in: / -from:. */
	sq_list in, not_in, from, not_from, to;
	sq_list emoji;            /* has::name: (name without colons); all must be there */
	int64_t after;            /* ts >= after (µs); 0 = no bound */
	int64_t before;           /* ts < before (µs); 0 = no bound */
	bool has_link, has_reaction, has_pin, is_thread;
	bool nothing;             /* the dates exclude every ts (after >= before) */
} search_query;

void search_query_init(search_query *q);
void search_query_release(search_query *q);

/* Parses text. now_us anchors today/yesterday and month names. Returns 0,
 * or ERR_INVALID_QUERY with a sentence for a person in err (unbalanced
 * quote, bad date, unknown has:/is: value, a modifier without a value, a
 * query too long). A query with nothing in it (only spaces, or words with
 * no letter or digit) parses to an empty query: search_query_empty. */
int search_query_parse(const char *text, int64_t now_us, search_query *q, char *err,
		       size_t errlen);

/* The searcher's calendar: dates in a query are days where the searcher
 * lives. day_start gives the UTC instant (µs) at which local day `day`
 * (days since 1970-01-01, local calendar) begins; today the local day of
 * now_us. Both must be monotonic. */
typedef struct search_tz {
	int64_t (*day_start)(void *arg, int64_t day);
	int64_t (*today)(void *arg, int64_t now_us);
	void *arg;
} search_tz;

/* search_query_parse with dates in tz (NULL: UTC). */
int search_query_parse_tz(const char *text, int64_t now_us, const search_tz *tz, search_query *q,
			  char *err, size_t errlen);

/* sq_term.ids: adds one id (the API layer, query time). */
void search_term_add_id(sq_term *t, const char *id);
/* Nothing to search by: no term and no modifier. */
bool search_query_empty(const search_query *q);

/* Message text as a person reads it, for the index: <@U1> -> U1,
 * <@U1|bob> -> "U1 bob" (the id, so the person's current names find it), <#C1|general> -> #general, <!here> -> @here,
 * <!subteam^S1|@team> -> @team, <http://x|label> -> "label http://x",
 * <mailto:a@b|a@b> -> a@b, &amp; &lt; &gt; decoded. Heap string. */
char *search_text_plain(const char *text);

/* Everything a person reads in a message, for the index: its text
 * (search_text_plain), then the readable text of its Block Kit blocks
 * (section text and fields, header, context texts, rich_text; a
 * rich_text block already contained in text is left out, as clients send
 * both) and of its legacy attachments (pretext, author_name, title, text,
 * fields' title and value, footer, fallback, and their blocks). blocks and
 * attachments are the stored JSON arrays or NULL; what is not valid JSON
 * is ignored. Heap string, "" when nothing is readable. */
char *search_text_index(const char *text, const char *blocks, const char *attachments);

/* text with every word matching one of q's (not negated) terms wrapped in
 * U+E000 ... U+E001. A word matches a term word when they are equal
 * ignoring ASCII case, or when the word starts with the term's stem (the
 * index stems: "deploy" finds "deployed"), or with a prefix term. Heap
 * string; text unchanged if nothing matches. */
char *search_highlight(const char *text, const search_query *q);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t search_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
