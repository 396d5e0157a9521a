/* libFuzzer harness for reminder times (remind_parse, remind_next and the
 * stored recurrence form in src/core/remind.c), which read what people
 * type after /remind and reminders.add's time.
 *
 * Input: any bytes, used as one C string. Properties besides memory
 * safety: an accepted time is in the future; a recurring one has a valid
 * weekday and time of day, its next time is strictly later and stays on
 * its time of day, and its stored form parses back to the same rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/remind.h"

#define NOW 1700042400LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	remind_when w;
	if (remind_parse(s, NOW, 0, &w) == 0) {
		if (w.time <= NOW)
			abort();
		if (w.freq != REMIND_ONCE) {
			if (w.minute_of_day < 0 || w.minute_of_day >= 1440 || w.weekday < 0 || w.weekday > 6)
				abort();
			int64_t next = remind_next(&w, w.time, 0);
			if (next <= w.time || ((next % 86400) / 60) != w.minute_of_day)
				abort();
			char rec[32];
			remind_when back;
			remind_recurrence_str(&w, rec);
			if (remind_recurrence_parse(rec, &back) != 0 || back.freq != w.freq ||
			    back.minute_of_day != w.minute_of_day ||
			    (w.freq == REMIND_WEEKLY && back.weekday != w.weekday))
				abort();
		}
	}
	remind_recurrence_parse(s, &w);
	free(s);
	return 0;
}
