/* When a reminder is due: the times Slack's /remind and reminders.add
 * accept, in the forms people type most (pure logic, no I/O).
 *
 * Supported (case-insensitive; clock times are in the user's UTC offset,
 * tz_offset_s, which Canal keeps at 0 = UTC for now):
 *   1700000000                      a Unix timestamp (must be in the future)
 *   in 5 minutes | in 1 second | in 2 hours | in 3 days | in 1 week
 *   in a minute | in an hour       (units: second(s)/sec(s), minute(s)/min(s),
 *                                   hour(s)/hr(s), day(s), week(s))
 *   at 3pm | at 3:30pm | at 15:00 | 3pm | noon | midnight
 *                                  today if still ahead, else tomorrow
 *   today at 5pm | tomorrow | tomorrow at 9am | tonight (9pm)
 *   monday | on monday | next monday | monday at 3pm   (the next such day)
 *   every day | daily | every weekday | every monday | every week | weekly
 *     [at T]                       recurring; the first time is the next one
 * A day without a time means 9am. */
#ifndef CANAL_CORE_REMIND_H
#define CANAL_CORE_REMIND_H
#include <stdbool.h>
#include <stdint.h>

typedef enum { REMIND_ONCE = 0, REMIND_DAILY, REMIND_WEEKDAYS, REMIND_WEEKLY } remind_freq;

typedef struct remind_when {
	int64_t time;        /* first (or only) time, Unix seconds */
	remind_freq freq;
	int weekday;         /* REMIND_WEEKLY: 0 = Sunday .. 6 = Saturday */
	int minute_of_day;   /* recurring: the time of day, minutes after midnight */
} remind_when;

/* Parses s relative to now. 0, or -1 when s is not a time we understand
 * (or is not in the future). */
int remind_parse(const char *s, int64_t now, int tz_offset_s, remind_when *out);

/* The next time of a recurring reminder after `after` (> after). */
int64_t remind_next(const remind_when *w, int64_t after, int tz_offset_s);

/* "daily" / "weekdays" / "weekly:<0-6>:<minute>" / "" as stored, and back.
 * remind_recurrence_str writes into out[32]. remind_recurrence_parse:
 * 0 or -1. */
void remind_recurrence_str(const remind_when *w, char out[32]);
int remind_recurrence_parse(const char *s, remind_when *w);

/* Slack's weekday names ("monday"...) for 0..6. */
const char *remind_weekday_name(int d);

#endif
