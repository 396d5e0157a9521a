/* mention_parse and the message lifecycle (message_init/release/list_free). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "core/message.h"

static void expect_mention(const mention *m, mention_kind kind, const char *id)
{
	assert_int_equal(m->kind, kind);
	assert_string_equal(m->id, id);
}

static void test_user_forms(void **st)
{
	mention *m;
	size_t n = mention_parse("hi <@U123> and <@W9ABC|bob>!", &m);
	assert_int_equal(n, 2);
	expect_mention(&m[0], MENTION_USER, "U123");
	expect_mention(&m[1], MENTION_USER, "W9ABC");
	free(m);
}

static void test_special_forms(void **st)
{
	mention *m;
	size_t n = mention_parse("<!here> <!here|@here> <!channel> <!everyone|@everyone>", &m);
	assert_int_equal(n, 3);
	expect_mention(&m[0], MENTION_HERE, "");
	expect_mention(&m[1], MENTION_CHANNEL, "");
	expect_mention(&m[2], MENTION_EVERYONE, "");
	free(m);
}

static void test_subteam_forms(void **st)
{
	mention *m;
	size_t n = mention_parse("ping <!subteam^S123> and <!subteam^S456|@oncall>", &m);
	assert_int_equal(n, 2);
	expect_mention(&m[0], MENTION_SUBTEAM, "S123");
	expect_mention(&m[1], MENTION_SUBTEAM, "S456");
	free(m);
}

static void test_dedupe_keeps_first_order(void **st)
{
	mention *m;
	size_t n = mention_parse("<@U2> <@U1> <@U2|x> <!here> <!here> <@U1>", &m);
	assert_int_equal(n, 3);
	expect_mention(&m[0], MENTION_USER, "U2");
	expect_mention(&m[1], MENTION_USER, "U1");
	expect_mention(&m[2], MENTION_HERE, "");
	free(m);
}

static void test_ignored_sequences(void **st)
{
	mention *m = (mention *)1;
	const char *texts[] = {
		"<#C123|general>", "<http://example.com>", "<https://x.y|link>",
		"<mailto:a@b.c>", "<@u123>", "<@>", "<@U1 >", "<@U1x>", "<!>",
		"<!heres>", "<!hereX|a>", "<!subteam^>", "<!subteam^s1>", "<!subteam S1>",
		"<!date^1392734382^{date}|x>", "<>", "&lt;@U1&gt;", "<@U1", "plain", "",
		"<@ABCDEFGHIJKLMNOPQRSTUVWXYZ0123>", /* id longer than ID_MAX */
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		size_t n = mention_parse(texts[i], &m);
		if (n)
			fail_msg("unexpected mention in \"%s\"", texts[i]);
		free(m);
	}
	assert_int_equal(mention_parse(NULL, &m), 0);
	free(m);
}

static void test_malformed_then_valid(void **st)
{
	mention *m;
	/* A stray '<' must not swallow the real mention after it. */
	size_t n = mention_parse("a < b <@U1> <@U2", &m);
	assert_int_equal(n, 1);
	expect_mention(&m[0], MENTION_USER, "U1");
	free(m);
	n = mention_parse("<@U3 <!channel>", &m);
	assert_int_equal(n, 1);
	expect_mention(&m[0], MENTION_CHANNEL, "");
	free(m);
}

static void test_id_limit(void **st)
{
	mention *m;
	char text[64], id[ID_MAX];
	memset(id, 'A', ID_MAX - 1);
	id[ID_MAX - 1] = '\0';
	snprintf(text, sizeof text, "<@%s>", id); /* ID_MAX - 1 chars: fits */
	size_t n = mention_parse(text, &m);
	assert_int_equal(n, 1);
	expect_mention(&m[0], MENTION_USER, id);
	free(m);
}

static void test_many_mentions_grow(void **st)
{
	char text[4096] = "";
	for (int i = 0; i < 100; i++) {
		char one[32];
		snprintf(one, sizeof one, "<@U%d> ", i);
		strcat(text, one);
	}
	mention *m;
	size_t n = mention_parse(text, &m);
	assert_int_equal(n, 100);
	expect_mention(&m[99], MENTION_USER, "U99");
	free(m);
}

static void test_message_lifecycle(void **st)
{
	message msg;
	message_init(&msg);
	assert_null(msg.text);
	assert_int_equal(msg.ts, 0);
	msg.text = xstrdup("hello");
	msg.subtype = xstrdup("bot_message");
	msg.blocks = xstrdup("[]");
	msg.extra = xstrdup("{}");
	msg.reactions = xcalloc(1, sizeof *msg.reactions);
	msg.nreactions = 1;
	msg.reactions[0].name = xstrdup("+1");
	msg.reactions[0].users = xcalloc(2, sizeof(char *));
	msg.reactions[0].users[0] = xstrdup("U1");
	msg.reactions[0].users[1] = xstrdup("U2");
	msg.reactions[0].nusers = 2;
	msg.reply_users = xcalloc(1, sizeof(char *));
	msg.reply_users[0] = xstrdup("U3");
	msg.nreply_users = 1;
	msg.pinned_to = xcalloc(1, sizeof(char *));
	msg.pinned_to[0] = xstrdup("C1");
	msg.npinned = 1;
	message_release(&msg);
	assert_null(msg.text);
	assert_int_equal(msg.nreactions, 0);
	message_release(&msg); /* twice is harmless */

	message *list = xcalloc(3, sizeof *list);
	for (int i = 0; i < 3; i++) {
		message_init(&list[i]);
		list[i].text = xasprintf("m%d", i);
	}
	message_list_free(list, 3);
	message_list_free(NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_forms),
		cmocka_unit_test(test_special_forms),
		cmocka_unit_test(test_subteam_forms),
		cmocka_unit_test(test_dedupe_keeps_first_order),
		cmocka_unit_test(test_ignored_sequences),
		cmocka_unit_test(test_malformed_then_valid),
		cmocka_unit_test(test_id_limit),
		cmocka_unit_test(test_many_mentions_grow),
		cmocka_unit_test(test_message_lifecycle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
