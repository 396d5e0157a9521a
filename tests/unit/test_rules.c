/* Pure rules: channel names, ts, cursors, visibility and text checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "core/err.h"
#include "core/rules.h"
#include "core/state.h"

static void test_channel_name_valid(void **st)
{
	const char *ok[] = {
		"general", "a", "dev-ops", "team_2", "2024", "a-", "_x", "-a-",
		"caf\xc3\xa9",                 /* café */
		"\xe6\x97\xa5\xe6\x9c\xac",    /* 日本 */
		"\xd0\xba\xd0\xbe\xd1\x82",    /* кот */
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (rules_channel_name_check(ok[i]) != 0)
			fail_msg("\"%s\" rejected: %s", ok[i], err_name(rules_channel_name_check(ok[i])));
}

static void test_channel_name_errors(void **st)
{
	assert_int_equal(rules_channel_name_check(NULL), ERR_INVALID_NAME_REQUIRED);
	assert_int_equal(rules_channel_name_check(""), ERR_INVALID_NAME_REQUIRED);
	assert_int_equal(rules_channel_name_check("---"), ERR_INVALID_NAME_PUNCTUATION);
	assert_int_equal(rules_channel_name_check("_"), ERR_INVALID_NAME_PUNCTUATION);
	assert_int_equal(rules_channel_name_check("-_-"), ERR_INVALID_NAME_PUNCTUATION);
	const char *specials[] = {
		"General", "two words", "a.b", "#general", "hey!", "a/b", "a@b", "tab\there",
		"a,b", "\xc2\xa0x",           /* no-break space */
		"a\342\200\213b",             /* zero-width space */
		"\xff", "caf\xc3",            /* invalid / truncated UTF-8 */
		"\xc0\xaf",                   /* overlong '/' */
		"\xed\xa0\x80",               /* surrogate */
	};
	for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
		if (rules_channel_name_check(specials[i]) != ERR_INVALID_NAME_SPECIALS)
			fail_msg("\"%s\": %s", specials[i], err_name(rules_channel_name_check(specials[i])));

	char name[200];
	memset(name, 'a', 80);
	name[80] = '\0';
	assert_int_equal(rules_channel_name_check(name), 0);
	name[80] = 'a';
	name[81] = '\0';
	assert_int_equal(rules_channel_name_check(name), ERR_INVALID_NAME_MAXLENGTH);
	/* The limit counts code points, not bytes: 80 two-byte letters fit. */
	for (int i = 0; i < 80; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[160] = '\0';
	assert_int_equal(rules_channel_name_check(name), 0);
	memcpy(name + 160, "\xc3\xa9", 3);
	assert_int_equal(rules_channel_name_check(name), ERR_INVALID_NAME_MAXLENGTH);
}

static void expect_norm(const char *in, const char *want)
{
	char *got = rules_channel_name_normalize(in);
	assert_string_equal(got, want);
	free(got);
}

static void test_channel_name_normalize(void **st)
{
	expect_norm("General", "general");
	expect_norm("#Random", "random");
	expect_norm("  My Team  ", "my-team");
	expect_norm(" # Dev Ops", "dev-ops");
	expect_norm("Caf\xc3\xa9", "caf\xc3\xa9"); /* non-ASCII kept as is */
	expect_norm("", "");
	expect_norm(NULL, "");
	expect_norm("##x", "#x"); /* only one leading '#' is a sigil */
	char *n = rules_channel_name_normalize("Project X Launch");
	assert_int_equal(rules_channel_name_check(n), 0);
	free(n);
}

static void test_ts_parse(void **st)
{
	int64_t v = -1;
	assert_int_equal(rules_ts_parse("1503435956.000247", &v), 0);
	assert_int_equal(v, 1503435956000247LL);
	assert_int_equal(rules_ts_parse("123", &v), 0);
	assert_int_equal(v, 123000000LL);
	assert_int_equal(rules_ts_parse("123.4", &v), 0);
	assert_int_equal(v, 123400000LL);
	assert_int_equal(rules_ts_parse("123.000456", &v), 0);
	assert_int_equal(v, 123000456LL);
	assert_int_equal(rules_ts_parse("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(rules_ts_parse("9223372036854.775807", &v), 0);
	assert_int_equal(v, INT64_MAX);

	const char *bad[] = {
		"", "-1", "-1.5", "+1", " 1", "1 ", "1.", ".5", "1.1234567", "abc",
		"1.2.3", "12a", "1.x", "1e5", "0x10", "9223372036854.775808",
		"99999999999999999999", "9223372036855",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 77;
		if (rules_ts_parse(bad[i], &v) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(v, 77); /* untouched on failure */
	}
	assert_int_equal(rules_ts_parse(NULL, &v), -1);
}

static void test_ts_format_roundtrip(void **st)
{
	char out[24];
	rules_ts_format(1503435956000247LL, out);
	assert_string_equal(out, "1503435956.000247");
	rules_ts_format(5000001, out);
	assert_string_equal(out, "0000000005.000001");
	rules_ts_format(0, out);
	assert_string_equal(out, "0000000000.000000");
	rules_ts_format(-5, out);
	assert_string_equal(out, "0000000000.000000");
	rules_ts_format(INT64_MAX, out);
	assert_string_equal(out, "9223372036854.775807");
	/* The hand-written formatter agrees with the printf format it replaced
	 * at every digit count of the seconds. */
	for (int64_t ts = 1; ts < INT64_MAX / 7; ts = ts * 7 + 3) {
		char want[32];
		snprintf(want, sizeof want, "%010lld.%06lld", (long long)(ts / 1000000),
			 (long long)(ts % 1000000));
		rules_ts_format(ts, out);
		assert_string_equal(out, want);
	}

	const int64_t vals[] = {1, 999999, 1000000, 1700000000123456LL, INT64_MAX};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		int64_t back;
		rules_ts_format(vals[i], out);
		assert_int_equal(rules_ts_parse(out, &back), 0);
		assert_int_equal(back, vals[i]);
	}
}

static void test_cursor_roundtrip(void **st)
{
	const char *vals[] = {"U0123456789", "", "a:b:c", "1503435956.000247", "caf\xc3\xa9 ?&=/+"};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		char *c = rules_cursor_encode("user", vals[i]);
		/* Safe to put in a query string without escaping. */
		assert_null(strpbrk(c, "+/=:& "));
		char *v = NULL;
		assert_int_equal(rules_cursor_decode(c, "user", &v), 0);
		assert_string_equal(v, vals[i]);
		free(v);
		free(c);
	}
}

static void test_cursor_wrong_kind(void **st)
{
	char *c = rules_cursor_encode("user", "U1");
	char *v = (char *)1;
	assert_int_equal(rules_cursor_decode(c, "channel", &v), ERR_INVALID_CURSOR);
	assert_null(v);
	assert_int_equal(rules_cursor_decode(c, "use", &v), ERR_INVALID_CURSOR);
	assert_int_equal(rules_cursor_decode(c, "users", &v), ERR_INVALID_CURSOR);
	free(c);
}

static void test_cursor_garbage(void **st)
{
	char *v = (char *)1;
	const char *bad[] = {"", "!!!!", "dXNlcjpVMQ==", "not base64 at all", "a", "dXNlcjpVMQ$"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (rules_cursor_decode(bad[i], "user", &v) != ERR_INVALID_CURSOR)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_null(v);
	}
	assert_int_equal(rules_cursor_decode(NULL, "user", &v), ERR_INVALID_CURSOR);
	/* Valid base64 without the "<kind>:" shape. */
	char *c = rules_cursor_encode("", "user");
	assert_int_equal(rules_cursor_decode(c, "user", &v), ERR_INVALID_CURSOR);
	free(c);
	/* An embedded NUL is garbage, not a shorter value. */
	assert_int_equal(rules_cursor_decode("dXNlcjpVAE4", "user", &v), ERR_INVALID_CURSOR);
}

static void test_visibility(void **st)
{
	core_state s;
	core_state_init(&s);
	user *alice = core_user_new("U1", "T1");
	user *bob = core_user_new("U2", "T1");
	user *eve = core_user_new("U3", "T2");
	user *gone = core_user_new("U4", "T1");
	gone->deleted = true;
	core_user_add(&s, alice);
	core_user_add(&s, bob);
	core_user_add(&s, eve);
	core_user_add(&s, gone);
	channel *pub = core_channel_new("C1", "T1", CHAN_PUBLIC);
	channel *priv = core_channel_new("C2", "T1", CHAN_PRIVATE);
	channel *im = core_channel_new("D1", "T1", CHAN_IM);
	channel *mpim = core_channel_new("C3", "T1", CHAN_MPIM);
	core_channel_add(&s, pub);
	core_channel_add(&s, priv);
	core_channel_add(&s, im);
	core_channel_add(&s, mpim);
	core_member_add(pub, "U1", 0);
	core_member_add(priv, "U1", 0);
	core_member_add(im, "U1", 0);
	core_member_add(mpim, "U1", 0);
	core_member_add(pub, "U4", 0);
	core_member_add(priv, "U4", 0);
	core_member_add(priv, "U3", 0); /* cross-org member: still not visible */

	assert_true(rules_can_see(alice, pub));
	assert_true(rules_can_see(alice, priv));
	assert_true(rules_can_see(alice, im));
	assert_true(rules_can_see(alice, mpim));
	assert_true(rules_can_see(bob, pub)); /* public: whole org */
	assert_false(rules_can_see(bob, priv));
	assert_false(rules_can_see(bob, im));
	assert_false(rules_can_see(bob, mpim));
	assert_false(rules_can_see(eve, pub));
	assert_false(rules_can_see(eve, priv));
	assert_false(rules_can_see(gone, pub));
	assert_false(rules_can_see(gone, priv));
	assert_false(rules_can_see(NULL, pub));
	assert_false(rules_can_see(alice, NULL));
	pub->archived = true; /* archived channels stay visible */
	assert_true(rules_can_see(bob, pub));

	assert_true(rules_is_member(alice, pub));
	assert_false(rules_is_member(bob, pub));
	assert_true(rules_is_member(gone, priv));
	assert_false(rules_is_member(NULL, pub));
	assert_false(rules_is_member(alice, NULL));
	core_member_remove(priv, "U1");
	assert_false(rules_is_member(alice, priv));
	assert_false(rules_can_see(alice, priv));
	core_state_release(&s);
}

static void test_utf8_len(void **st)
{
	assert_int_equal(rules_utf8_len(NULL), 0);
	assert_int_equal(rules_utf8_len(""), 0);
	assert_int_equal(rules_utf8_len("abc"), 3);
	assert_int_equal(rules_utf8_len("caf\xc3\xa9"), 4);
	assert_int_equal(rules_utf8_len("\xe6\x97\xa5\xe6\x9c\xac"), 2);
	assert_int_equal(rules_utf8_len("\xf0\x9f\x98\x80!"), 2); /* emoji + '!' */
}

static void test_emoji_name(void **st)
{
	const char *ok[] = {"smile", "+1", "-1", "thumbsup::skin-tone-2", "wave::skin-tone-6",
		"e-mail", "man's_shoe", "100", "a"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (!rules_emoji_name_ok(ok[i]))
			fail_msg("rejected \"%s\"", ok[i]);
	const char *bad[] = {"", ":smile:", "Smile", "two words", "a::skin-tone-1",
		"a::skin-tone-7", "a::skin-tone-", "a::skin-tone-22", "::skin-tone-2", "a:b", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (rules_emoji_name_ok(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(rules_emoji_name_ok(NULL));
	char name[110];
	memset(name, 'a', 100);
	name[100] = '\0';
	assert_true(rules_emoji_name_ok(name));
	name[100] = 'a';
	name[101] = '\0';
	assert_false(rules_emoji_name_ok(name));
}

static void test_user_name(void **st)
{
	assert_true(rules_user_name_ok("alice"));
	assert_true(rules_user_name_ok("john.smith-2_x"));
	assert_false(rules_user_name_ok(""));
	assert_false(rules_user_name_ok(NULL));
	assert_false(rules_user_name_ok("Alice"));
	assert_false(rules_user_name_ok("a b"));
	assert_false(rules_user_name_ok("a@b"));
	char name[100];
	memset(name, 'a', 80);
	name[80] = '\0';
	assert_true(rules_user_name_ok(name));
	name[80] = 'a';
	name[81] = '\0';
	assert_false(rules_user_name_ok(name));
}

static void test_email(void **st)
{
	assert_true(rules_email_ok("alice@example.com"));
	assert_true(rules_email_ok("A.B+tag@sub.example.co"));
	const char *bad[] = {"", "alice", "@example.com", "alice@", "alice@example",
		"a@b@c.d", "a b@c.d", "a@.com", "a@com.", "a@b..c", "a@b.c\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (rules_email_ok(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(rules_email_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_channel_name_valid),
		cmocka_unit_test(test_channel_name_errors),
		cmocka_unit_test(test_channel_name_normalize),
		cmocka_unit_test(test_ts_parse),
		cmocka_unit_test(test_ts_format_roundtrip),
		cmocka_unit_test(test_cursor_roundtrip),
		cmocka_unit_test(test_cursor_wrong_kind),
		cmocka_unit_test(test_cursor_garbage),
		cmocka_unit_test(test_visibility),
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_emoji_name),
		cmocka_unit_test(test_user_name),
		cmocka_unit_test(test_email),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
