/* The search query language (src/core/search_query.c): parsing, errors,
 * dates, index text and highlighting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/search_query.h"

#define DAY 86400000000LL
/* 2024-05-15 12:00 UTC */
#define NOW (search_days_from_civil(2024, 5, 15) * DAY + DAY / 2)

static search_query parse_ok(const char *text)
{
	search_query q;
	char err[256];
	int rc = search_query_parse(text, NOW, &q, err, sizeof err);
	if (rc)
		fail_msg("'%s' did not parse: %s", text, err);
	return q;
}

static void expect_error(const char *text, const char *needle)
{
	search_query q;
	char err[256];
	assert_int_equal(search_query_parse(text, NOW, &q, err, sizeof err), ERR_INVALID_QUERY);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' does not mention '%s'", text, err, needle);
	/* A failed parse leaves nothing to free, and release is safe. */
	assert_int_equal(q.nterms, 0);
	search_query_release(&q);
}

static void expect_term(const sq_term *t, const char *text, bool phrase, bool prefix, bool neg)
{
	assert_string_equal(t->text, text);
	assert_int_equal(t->phrase, phrase);
	assert_int_equal(t->prefix, prefix);
	assert_int_equal(t->negate, neg);
}

static void test_words_phrases_exclusions(void **st)
{
	search_query q = parse_ok("  deploy \"rolled back\" -staging dep* -\"not this\"\tfoo-bar ");
	assert_int_equal(q.nterms, 6);
	expect_term(&q.terms[0], "deploy", false, false, false);
	expect_term(&q.terms[1], "rolled back", true, false, false);
	expect_term(&q.terms[2], "staging", false, false, true);
	expect_term(&q.terms[3], "dep", false, true, false);
	expect_term(&q.terms[4], "not this", true, false, true);
	expect_term(&q.terms[5], "foo-bar", false, false, false);
	assert_false(search_query_empty(&q));
	search_query_release(&q);

	/* A quote inside a word starts a phrase; a lone '-' is punctuation. */
	q = parse_ok("abc\"d e\" - ok");
	assert_int_equal(q.nterms, 3);
	expect_term(&q.terms[0], "abc", false, false, false);
	expect_term(&q.terms[1], "d e", true, false, false);
	expect_term(&q.terms[2], "ok", false, false, false);
	search_query_release(&q);
}

static void test_punctuation_only_is_empty(void **st)
{
	search_query q = parse_ok("!!! ??? \"...\" * -");
	assert_int_equal(q.nterms, 0);
	assert_true(search_query_empty(&q));
	search_query_release(&q);
	q = parse_ok("");
	assert_true(search_query_empty(&q));
	search_query_release(&q);
	assert_int_equal(search_query_parse(NULL, NOW, &q, NULL, 0), 0);
	assert_true(search_query_empty(&q));
	search_query_release(&q);
}

static void test_modifiers(void **st)
{
	search_query q = parse_ok("in:#general IN:<#C1|ops> -in:random from:@bob From:me -from:<@U2>"
				  " to:@carol has:link has:reaction has:pin has::tada: has::+1::skin-tone-2:"
				  " is:thread word");
	assert_int_equal(q.in.n, 2);
	assert_string_equal(q.in.v[0], "#general");
	assert_string_equal(q.in.v[1], "<#C1|ops>");
	assert_int_equal(q.not_in.n, 1);
	assert_string_equal(q.not_in.v[0], "random");
	assert_int_equal(q.from.n, 2);
	assert_string_equal(q.from.v[0], "@bob");
	assert_string_equal(q.from.v[1], "me");
	assert_int_equal(q.not_from.n, 1);
	assert_string_equal(q.not_from.v[0], "<@U2>");
	assert_int_equal(q.to.n, 1);
	assert_true(q.has_link && q.has_reaction && q.has_pin && q.is_thread);
	assert_int_equal(q.emoji.n, 2);
	assert_string_equal(q.emoji.v[0], "tada");
	assert_string_equal(q.emoji.v[1], "+1::skin-tone-2");
	assert_int_equal(q.nterms, 1);
	search_query_release(&q);

	/* Unknown key:value pairs are words (FTS sees them as text). */
	q = parse_ok("re:deploy http://x");
	assert_int_equal(q.nterms, 2);
	expect_term(&q.terms[0], "re:deploy", false, false, false);
	search_query_release(&q);

	/* Modifiers alone make a query. */
	q = parse_ok("has:pin");
	assert_false(search_query_empty(&q));
	search_query_release(&q);
}

static void test_dates(void **st)
{
	int64_t may15 = search_days_from_civil(2024, 5, 15) * DAY;
	search_query q = parse_ok("on:2024-05-01");
	assert_int_equal(q.after, search_days_from_civil(2024, 5, 1) * DAY);
	assert_int_equal(q.before, search_days_from_civil(2024, 5, 2) * DAY);
	search_query_release(&q);

	/* before/after exclusive of the day named. */
	q = parse_ok("after:2024-05-01 before:2024-05-10");
	assert_int_equal(q.after, search_days_from_civil(2024, 5, 2) * DAY);
	assert_int_equal(q.before, search_days_from_civil(2024, 5, 10) * DAY);
	assert_false(q.nothing);
	search_query_release(&q);

	q = parse_ok("on:today");
	assert_int_equal(q.after, may15);
	assert_int_equal(q.before, may15 + DAY);
	search_query_release(&q);
	q = parse_ok("on:YESTERDAY");
	assert_int_equal(q.after, may15 - DAY);
	search_query_release(&q);

	q = parse_ok("during:2024-02");
	assert_int_equal(q.after, search_days_from_civil(2024, 2, 1) * DAY);
	assert_int_equal(q.before, search_days_from_civil(2024, 3, 1) * DAY); /* leap year: 29 days */
	search_query_release(&q);
	q = parse_ok("during:2023");
	assert_int_equal(q.after, search_days_from_civil(2023, 1, 1) * DAY);
	assert_int_equal(q.before, search_days_from_civil(2024, 1, 1) * DAY);
	search_query_release(&q);
	/* Month names: the most recent one not in the future. */
	q = parse_ok("during:march");
	assert_int_equal(q.after, search_days_from_civil(2024, 3, 1) * DAY);
	search_query_release(&q);
	q = parse_ok("during:Dec");
	assert_int_equal(q.after, search_days_from_civil(2023, 12, 1) * DAY);
	assert_int_equal(q.before, search_days_from_civil(2024, 1, 1) * DAY);
	search_query_release(&q);

	/* Bounds intersect; an empty range matches nothing. */
	q = parse_ok("during:2024 on:2024-05-01 after:2024-06-01");
	assert_true(q.nothing);
	assert_false(search_query_empty(&q));
	search_query_release(&q);

	assert_int_equal(search_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(search_days_from_civil(2000, 3, 1), 11017);
}

static void test_errors(void **st)
{
	expect_error("\"never closed", "unbalanced quote");
	expect_error("fine \"also fine\" \"not", "unbalanced quote");
	expect_error("before:2024-13-01", "not a date");
	expect_error("on:2023-02-29", "not a date");
	expect_error("after:1969-12-31", "not a date");
	expect_error("on:2024-05", "YYYY-MM-DD");      /* months are for during: */
	expect_error("during:someday", "month name");
	expect_error("before:", "needs a value");
	expect_error("has:", "needs a value");
	expect_error("has:star", "has:star");
	expect_error("has::bad emoji:", "has::bad");
	expect_error("has:::", "has:::");
	expect_error("has::a::", "has::a::");
	expect_error("is:saved", "is:saved");
	expect_error("-has:link", "excluded");
	expect_error("-to:@bob", "excluded");

	char big[SEARCH_QUERY_MAX_BYTES + 2];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	expect_error(big, "longer than");

	char many[4 * (SEARCH_QUERY_MAX_PARTS + 1) + 1] = "";
	for (int i = 0; i <= SEARCH_QUERY_MAX_PARTS; i++)
		strcat(many, "ab ");
	expect_error(many, "more than");
	/* Exactly the maximum is fine. */
	many[3 * SEARCH_QUERY_MAX_PARTS] = '\0';
	search_query q = parse_ok(many);
	assert_int_equal(q.nterms, SEARCH_QUERY_MAX_PARTS);
	search_query_release(&q);
}

static void expect_plain(const char *in, const char *want)
{
	char *got = search_text_plain(in);
	assert_string_equal(got, want);
	free(got);
}

static void test_plain_text(void **st)
{
	expect_plain("hello world", "hello world");
	expect_plain("hi <@U123> and <@U9|bob>", "hi U123 and U9 bob");
	expect_plain("see <#C1|general>, <#C2>", "see #general, #C2");
	expect_plain("<!here> <!channel|@channel> <!subteam^S1|@ops> <!subteam^S2>",
		     "@here @channel @ops @subteam");
	expect_plain("<https://example.com/x|the docs> <http://a.b>", "the docs https://example.com/x http://a.b");
	expect_plain("<mailto:a@b.c|a@b.c> <mailto:x@y.z>", "a@b.c x@y.z");
	expect_plain("a &amp; b &lt;c&gt; &amp;amp; &bogus;", "a & b <c> &amp; &bogus;");
	expect_plain("word<@U1>word", "word U1 word");
	expect_plain("broken <markup and < more", "broken <markup and < more");
	expect_plain("<>", "");
	expect_plain("", "");
	char *p = search_text_plain(NULL);
	assert_string_equal(p, "");
	free(p);
}

static void expect_index(const char *text, const char *blocks, const char *atts, const char *want)
{
	char *got = search_text_index(text, blocks, atts);
	assert_string_equal(got, want);
	free(got);
}

static void test_index_text(void **st)
{
	(void)st;
	/* No blocks, no attachments: the text alone. */
	expect_index("a <@U1> b", NULL, NULL, "a U1 b");
	expect_index(NULL, NULL, NULL, "");
	/* Section text and fields (mrkdwn undone), header, context. */
	expect_index("alert", "[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"Disk full\"}},"
		     "{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"on <https://h/x|db-7>\"},"
		     "\"fields\":[{\"type\":\"mrkdwn\",\"text\":\"*sev* 2\"}]},"
		     "{\"type\":\"context\",\"elements\":[{\"type\":\"image\",\"image_url\":\"u\"},"
		     "{\"type\":\"plain_text\",\"text\":\"by pager\"}]},{\"type\":\"divider\"}]",
		     NULL, "alert Disk full on db-7 https://h/x *sev* 2 by pager");
	/* rich_text that repeats the text (what clients send) is left out;
	 * rich_text with more is kept, mentions as ids. */
	const char *rt = "[{\"type\":\"rich_text\",\"elements\":[{\"type\":\"rich_text_section\","
			 "\"elements\":[{\"type\":\"text\",\"text\":\"hi \"},{\"type\":\"user\","
			 "\"user_id\":\"U1\"},{\"type\":\"text\",\"text\":\"!\"}]}]}]";
	expect_index("hi <@U1>!", rt, NULL, "hi U1!");
	expect_index("", rt, NULL, "hi U1!");
	expect_index("fallback", rt, NULL, "fallback hi U1!");
	/* Attachments: pretext, title, text, fields, footer, fallback. */
	expect_index("x", NULL,
		     "[{\"pretext\":\"pre\",\"title\":\"Build 42\",\"text\":\"failed &amp; stuck\","
		     "\"fields\":[{\"title\":\"Branch\",\"value\":\"main\"}],\"footer\":\"ci\","
		     "\"fallback\":\"fb\",\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":"
		     "\"plain_text\",\"text\":\"inner\"}}]}]",
		     "x pre Build 42 failed & stuck Branch main ci fb inner");
	/* What is not JSON, or not the shape, is ignored. */
	expect_index("t", "{not json", "[1,\"s\",{\"fields\":7}]", "t");
	expect_index("t", "[{\"type\":\"section\",\"text\":5}]", "{}", "t");
}

static int64_t fake_day_start(void *arg, int64_t day)
{
	return day * DAY - *(int64_t *)arg;  /* a zone east of UTC */
}

static int64_t fake_today(void *arg, int64_t now_us)
{
	return (now_us + *(int64_t *)arg) / DAY;
}

static void test_dates_in_zone(void **st)
{
	(void)st;
	int64_t off = 9 * DAY / 24;  /* UTC+9 */
	search_tz tz = {.day_start = fake_day_start, .today = fake_today, .arg = &off};
	search_query q;
	char err[200];
	assert_int_equal(search_query_parse_tz("on:2024-05-01", NOW, &tz, &q, err, sizeof err), 0);
	assert_int_equal(q.after, search_days_from_civil(2024, 5, 1) * DAY - off);
	assert_int_equal(q.before, search_days_from_civil(2024, 5, 2) * DAY - off);
	search_query_release(&q);
	/* today is the zone's today: NOW is 12:00 UTC, 21:00 in UTC+9. */
	off = 13 * DAY / 24;
	assert_int_equal(search_query_parse_tz("on:today", NOW, &tz, &q, err, sizeof err), 0);
	assert_int_equal(q.after, search_days_from_civil(2024, 5, 16) * DAY - off);
	search_query_release(&q);
	/* Without a zone: UTC. */
	assert_int_equal(search_query_parse_tz("on:2024-05-01", NOW, NULL, &q, err, sizeof err), 0);
	assert_int_equal(q.after, search_days_from_civil(2024, 5, 1) * DAY);
	search_query_release(&q);
}

static void expect_hl(const char *query, const char *text, const char *want)
{
	search_query q = parse_ok(query);
	char *got = search_highlight(text, &q);
	assert_string_equal(got, want);
	free(got);
	search_query_release(&q);
}

#define O "\xee\x80\x80"
#define C "\xee\x80\x81"

static void test_highlight(void **st)
{
	expect_hl("deploy", "Deploy went fine; deployed twice, deploys, redeploy",
		  O "Deploy" C " went fine; " O "deployed" C " twice, " O "deploys" C ", redeploy");
	expect_hl("deploying", "deployed it", O "deployed" C " it");
	expect_hl("dep*", "depot deploy adep", O "depot" C " " O "deploy" C " adep");
	expect_hl("\"rolled back\" -nope", "we rolled back, nope", "we " O "rolled" C " " O "back" C ", nope");
	/* Markup keeps its ids and URLs; labels are highlighted. */
	expect_hl("docs", "<https://docs.x/docs|the docs> docs", "<https://docs.x/docs|the " O "docs" C "> " O "docs" C);
	expect_hl("amp", "a &amp; amp", "a &amp; " O "amp" C);
	/* No words: the text as it is. */
	expect_hl("from:@bob", "anything", "anything");
	search_query q = parse_ok("x");
	char *e = search_highlight(NULL, &q);
	assert_string_equal(e, "");
	free(e);
	search_query_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_phrases_exclusions),
		cmocka_unit_test(test_punctuation_only_is_empty),
		cmocka_unit_test(test_modifiers),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_highlight),
		cmocka_unit_test(test_index_text),
		cmocka_unit_test(test_dates_in_zone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
