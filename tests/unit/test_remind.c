/* Reminder times: the natural-language forms remind.h lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/remind.h"

/* Wednesday 2023-11-15 10:00:00 UTC */
#define NOW 1700042400LL
#define DAY 86400
#define MIDNIGHT (NOW - 10 * 3600)

static int64_t at(const char *s)
{
	remind_when w;
	return remind_parse(s, NOW, 0, &w) == 0 ? w.time : -1;
}

static void test_relative_and_ts(void **st)
{
	assert_int_equal(at("in 5 minutes"), NOW + 300);
	assert_int_equal(at("in 1 second"), NOW + 1);
	assert_int_equal(at("In 2 Hours"), NOW + 7200);
	assert_int_equal(at("in an hour"), NOW + 3600);
	assert_int_equal(at("in 3 days"), NOW + 3 * DAY);
	assert_int_equal(at("in 1 week"), NOW + 7 * DAY);
	assert_int_equal(at("1700042500"), 1700042500);
	assert_int_equal(at("1700042400"), -1);        /* not in the future */
	assert_int_equal(at("in 0 minutes"), -1);
	assert_int_equal(at("in 5 fortnights"), -1);
	assert_int_equal(at("in 5"), -1);
	assert_int_equal(at(""), -1);
	assert_int_equal(at("whenever"), -1);
	assert_int_equal(at("in 5 minutes please"), -1);
}

static void test_clock_and_days(void **st)
{
	assert_int_equal(at("at 3pm"), MIDNIGHT + 15 * 3600);
	assert_int_equal(at("3pm"), MIDNIGHT + 15 * 3600);
	assert_int_equal(at("at 3:30 pm"), MIDNIGHT + 15 * 3600 + 1800);
	assert_int_equal(at("at 15:00"), MIDNIGHT + 15 * 3600);
	assert_int_equal(at("at 9am"), MIDNIGHT + DAY + 9 * 3600);   /* passed: tomorrow */
	assert_int_equal(at("noon"), MIDNIGHT + 12 * 3600);
	assert_int_equal(at("tomorrow"), MIDNIGHT + DAY + 9 * 3600);
	assert_int_equal(at("tomorrow at 8:15am"), MIDNIGHT + DAY + 8 * 3600 + 900);
	assert_int_equal(at("3pm tomorrow"), MIDNIGHT + DAY + 15 * 3600);
	assert_int_equal(at("today at 5pm"), MIDNIGHT + 17 * 3600);
	assert_int_equal(at("today at 9am"), -1);                     /* past */
	assert_int_equal(at("tonight"), MIDNIGHT + 21 * 3600);
	assert_int_equal(at("friday"), MIDNIGHT + 2 * DAY + 9 * 3600);
	assert_int_equal(at("on Monday at 2pm"), MIDNIGHT + 5 * DAY + 14 * 3600);
	assert_int_equal(at("next wednesday"), MIDNIGHT + 7 * DAY + 9 * 3600);
	assert_int_equal(at("at 13pm"), -1);
	assert_int_equal(at("at 25:00"), -1);
	assert_int_equal(at("at"), -1);
	assert_int_equal(at("15"), -1);
}

static void test_recurring(void **st)
{
	remind_when w;
	assert_int_equal(remind_parse("every day at 9am", NOW, 0, &w), 0);
	assert_int_equal(w.freq, REMIND_DAILY);
	assert_int_equal(w.time, MIDNIGHT + DAY + 9 * 3600);
	assert_int_equal(remind_next(&w, w.time, 0), w.time + DAY);
	assert_int_equal(remind_parse("every Monday", NOW, 0, &w), 0);
	assert_int_equal(w.freq, REMIND_WEEKLY);
	assert_int_equal(w.weekday, 1);
	assert_int_equal(w.time, MIDNIGHT + 5 * DAY + 9 * 3600);
	assert_int_equal(remind_next(&w, w.time, 0), w.time + 7 * DAY);
	assert_int_equal(remind_parse("every weekday at 5pm", NOW, 0, &w), 0);
	assert_int_equal(w.freq, REMIND_WEEKDAYS);
	assert_int_equal(w.time, MIDNIGHT + 17 * 3600);
	/* Friday 5pm -> Monday 5pm */
	assert_int_equal(remind_next(&w, MIDNIGHT + 2 * DAY + 17 * 3600, 0), MIDNIGHT + 5 * DAY + 17 * 3600);
	assert_int_equal(remind_parse("every fridays at noon", NOW, 0, &w), 0);
	assert_int_equal(w.weekday, 5);
	assert_int_equal(remind_parse("daily", NOW, 0, &w), 0);
	assert_int_equal(w.freq, REMIND_DAILY);
	assert_int_equal(remind_parse("every blue moon", NOW, 0, &w), -1);
	assert_int_equal(remind_parse("every", NOW, 0, &w), -1);

	char s[32];
	remind_when back;
	assert_int_equal(remind_parse("every tuesday at 7:05am", NOW, 0, &w), 0);
	remind_recurrence_str(&w, s);
	assert_string_equal(s, "weekly:2:425");
	assert_int_equal(remind_recurrence_parse(s, &back), 0);
	assert_int_equal(back.freq, REMIND_WEEKLY);
	assert_int_equal(back.weekday, 2);
	assert_int_equal(back.minute_of_day, 425);
	assert_int_equal(remind_recurrence_parse("weekly:9:0", &back), -1);
	assert_int_equal(remind_recurrence_parse("", &back), 0);
	assert_int_equal(back.freq, REMIND_ONCE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relative_and_ts),
		cmocka_unit_test(test_clock_and_days),
		cmocka_unit_test(test_recurring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
