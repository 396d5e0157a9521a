/* Reminder times (remind.h). Works on whole days of a fixed UTC offset:
 * local = utc + tz_offset_s; a day starts at local midnight. */
#include "core/remind.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY 86400
#define DEFAULT_MINUTE (9 * 60)   /* a day without a time: 9am */

static const char *const days[7] = {"sunday", "monday", "tuesday", "wednesday",
				    "thursday", "friday", "saturday"};

const char *remind_weekday_name(int d)
{
	return d >= 0 && d < 7 ? days[d] : "";
}

/* Words of the text, lowercased, at most 16. */
typedef struct words {
	char w[16][32];
	int n;
} words;

static int split(const char *s, words *ws)
{
	ws->n = 0;
	for (const char *p = s; *p;) {
		while (*p && (isspace((unsigned char)*p) || *p == ','))
			p++;
		if (!*p)
			break;
		if (ws->n == 16)
			return -1;
		size_t k = 0;
		while (*p && !isspace((unsigned char)*p) && *p != ',') {
			if (k == sizeof ws->w[0] - 1)
				return -1;
			ws->w[ws->n][k++] = (char)tolower((unsigned char)*p++);
		}
		ws->w[ws->n][k] = '\0';
		/* a trailing period ends a sentence, not a word */
		if (k > 1 && ws->w[ws->n][k - 1] == '.')
			ws->w[ws->n][k - 1] = '\0';
		ws->n++;
	}
	return 0;
}

static int weekday_of(const char *w)
{
	for (int d = 0; d < 7; d++)
		if (!strcmp(w, days[d]) || (strlen(w) >= 3 && !strncmp(w, days[d], strlen(w)) &&
					    strlen(w) <= 3))
			return d;
	return -1;
}

/* "3pm" "3:30pm" "15:00" "3" + next word "pm" handled by caller, "noon",
 * "midnight": minutes after midnight, or -1. */
static int clock_of(const char *w, const char *next, int *used_next)
{
	*used_next = 0;
	if (!strcmp(w, "noon"))
		return 12 * 60;
	if (!strcmp(w, "midnight"))
		return 0;
	const char *p = w;
	if (!isdigit((unsigned char)*p))
		return -1;
	int h = 0, m = 0, nd = 0;
	while (isdigit((unsigned char)*p) && nd < 3)
		h = h * 10 + (*p++ - '0'), nd++;
	if (*p == ':') {
		p++;
		if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
			return -1;
		m = (p[0] - '0') * 10 + (p[1] - '0');
		p += 2;
	}
	const char *suffix = p;
	if (!*suffix && next && (!strcmp(next, "am") || !strcmp(next, "pm"))) {
		suffix = next;
		*used_next = 1;
	}
	if (!strcmp(suffix, "am") || !strcmp(suffix, "pm")) {
		if (h < 1 || h > 12)
			return -1;
		h %= 12;
		if (suffix[0] == 'p')
			h += 12;
	} else if (*suffix) {
		return -1;
	} else if (nd > 2 || (!strchr(w, ':') && !*used_next)) {
		return -1;   /* a bare number is not a clock time */
	}
	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

static int64_t day_start(int64_t t, int off)
{
	int64_t local = t + off;
	int64_t d = local >= 0 ? local / DAY : (local - DAY + 1) / DAY;
	return d * DAY - off;
}

static int weekday_at(int64_t t, int off)
{
	int64_t local = t + off;
	int64_t d = local >= 0 ? local / DAY : (local - DAY + 1) / DAY;
	return (int)(((d + 4) % 7 + 7) % 7);   /* 1970-01-01 was a Thursday */
}

int64_t remind_next(const remind_when *w, int64_t after, int off)
{
	int64_t day = day_start(after, off);
	for (int i = 0; i < 9; i++, day += DAY) {
		int64_t t = day + (int64_t)w->minute_of_day * 60;
		if (t <= after)
			continue;
		int wd = weekday_at(day, off);
		if (w->freq == REMIND_WEEKDAYS && (wd == 0 || wd == 6))
			continue;
		if (w->freq == REMIND_WEEKLY && wd != w->weekday)
			continue;
		return t;
	}
	return after + DAY;   /* not reached */
}

/* "in N unit" at words[i..]: seconds, or -1; *used = words consumed. */
static int64_t duration_of(const words *ws, int i, int *used)
{
	if (i + 1 >= ws->n)
		return -1;
	const char *num = ws->w[i], *unit = ws->w[i + 1];
	int64_t n;
	if (!strcmp(num, "a") || !strcmp(num, "an") || !strcmp(num, "one"))
		n = 1;
	else {
		char *e;
		long v = strtol(num, &e, 10);
		if (*e || v <= 0 || v > 100000)
			return -1;
		n = v;
	}
	static const struct { const char *name; int64_t secs; } units[] = {
		{"second", 1}, {"seconds", 1}, {"sec", 1}, {"secs", 1}, {"s", 1},
		{"minute", 60}, {"minutes", 60}, {"min", 60}, {"mins", 60}, {"m", 60},
		{"hour", 3600}, {"hours", 3600}, {"hr", 3600}, {"hrs", 3600}, {"h", 3600},
		{"day", DAY}, {"days", DAY}, {"week", 7 * DAY}, {"weeks", 7 * DAY},
	};
	for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
		if (!strcmp(unit, units[k].name)) {
			*used = 2;
			return n * units[k].secs;
		}
	return -1;
}

/* An optional "[at] CLOCK" at words[*i..]: minutes or -1 (none); -2 bad. */
static int opt_clock(const words *ws, int *i)
{
	int j = *i;
	if (j < ws->n && !strcmp(ws->w[j], "at"))
		j++;
	if (j >= ws->n)
		return j == *i ? -1 : -2;
	int used;
	int m = clock_of(ws->w[j], j + 1 < ws->n ? ws->w[j + 1] : NULL, &used);
	if (m < 0)
		return j == *i ? -1 : -2;
	*i = j + 1 + used;
	return m;
}

int remind_parse(const char *s, int64_t now, int off, remind_when *out)
{
	memset(out, 0, sizeof *out);
	words ws;
	if (!s || split(s, &ws) != 0 || ws.n == 0)
		return -1;
	int i = 0;
	/* a Unix timestamp */
	if (ws.n == 1) {
		char *e;
		long long v = strtoll(ws.w[0], &e, 10);
		if (!*e && isdigit((unsigned char)ws.w[0][0])) {
			if (v <= now || v > now + 10LL * 365 * DAY)
				return -1;
			out->time = v;
			return 0;
		}
	}
	if (!strcmp(ws.w[0], "in")) {
		int used;
		int64_t d = duration_of(&ws, 1, &used);
		if (d < 0 || 1 + used != ws.n)
			return -1;
		out->time = now + d;
		return 0;
	}
	/* recurring */
	if (!strcmp(ws.w[0], "every") || !strcmp(ws.w[0], "daily") || !strcmp(ws.w[0], "weekly")) {
		if (!strcmp(ws.w[0], "daily")) {
			out->freq = REMIND_DAILY;
			i = 1;
		} else if (!strcmp(ws.w[0], "weekly")) {
			out->freq = REMIND_WEEKLY;
			out->weekday = weekday_at(now, off);
			i = 1;
		} else {
			if (ws.n < 2)
				return -1;
			const char *w = ws.w[1];
			int d = weekday_of(w);
			if (!strcmp(w, "day"))
				out->freq = REMIND_DAILY;
			else if (!strcmp(w, "weekday") || !strcmp(w, "weekdays"))
				out->freq = REMIND_WEEKDAYS;
			else if (!strcmp(w, "week")) {
				out->freq = REMIND_WEEKLY;
				out->weekday = weekday_at(now, off);
			} else if (d >= 0) {
				out->freq = REMIND_WEEKLY;
				out->weekday = d;
			} else {
				/* "every mondays" */
				char sing[32];
				snprintf(sing, sizeof sing, "%s", w);
				size_t l = strlen(sing);
				if (l > 1 && sing[l - 1] == 's')
					sing[l - 1] = '\0';
				if ((d = weekday_of(sing)) < 0)
					return -1;
				out->freq = REMIND_WEEKLY;
				out->weekday = d;
			}
			i = 2;
		}
		int m = opt_clock(&ws, &i);
		if (m == -2 || i != ws.n)
			return -1;
		out->minute_of_day = m >= 0 ? m : DEFAULT_MINUTE;
		out->time = remind_next(out, now, off);
		return 0;
	}
	/* a day, then an optional clock time; or a clock time, then an
	 * optional day ("3pm tomorrow") */
	int day = -1;          /* days from today, or -1 = the next time the clock comes */
	int wd = -1;
	int minute = -1;
	for (int pass = 0; pass < 2 && i < ws.n; pass++) {
		const char *w = ws.w[i];
		if (day < 0 && wd < 0) {
			if (!strcmp(w, "today")) {
				day = 0, i++;
				continue;
			}
			if (!strcmp(w, "tonight")) {
				day = 0, i++;
				if (minute < 0)
					minute = 21 * 60;
				continue;
			}
			if (!strcmp(w, "tomorrow")) {
				day = 1, i++;
				continue;
			}
			int j = i;
			if (!strcmp(w, "on") || !strcmp(w, "next"))
				j++;
			if (j < ws.n && weekday_of(ws.w[j]) >= 0) {
				wd = weekday_of(ws.w[j]);
				i = j + 1;
				continue;
			}
		}
		if (minute < 0 || (i > 0 && !strcmp(ws.w[i - 1], "tonight"))) {
			int k = i;
			int m = opt_clock(&ws, &k);
			if (m == -2)
				return -1;
			if (m >= 0) {
				minute = m;
				i = k;
				continue;
			}
		}
		break;
	}
	if (i != ws.n || (day < 0 && wd < 0 && minute < 0))
		return -1;
	int64_t today = day_start(now, off);
	int64_t t;
	int m = minute >= 0 ? minute : DEFAULT_MINUTE;
	if (day >= 0) {
		t = today + (int64_t)day * DAY + (int64_t)m * 60;
	} else if (wd >= 0) {
		int ahead = (wd - weekday_at(now, off) + 7) % 7;
		if (ahead == 0)
			ahead = 7;
		t = today + (int64_t)ahead * DAY + (int64_t)m * 60;
	} else {
		t = today + (int64_t)m * 60;
		if (t <= now)
			t += DAY;
	}
	if (t <= now)
		return -1;
	out->time = t;
	return 0;
}

void remind_recurrence_str(const remind_when *w, char out[32])
{
	switch (w->freq) {
	case REMIND_DAILY: snprintf(out, 32, "daily:%d", w->minute_of_day); break;
	case REMIND_WEEKDAYS: snprintf(out, 32, "weekdays:%d", w->minute_of_day); break;
	case REMIND_WEEKLY: snprintf(out, 32, "weekly:%d:%d", w->weekday, w->minute_of_day); break;
	default: out[0] = '\0';
	}
}

int remind_recurrence_parse(const char *s, remind_when *w)
{
	memset(w, 0, sizeof *w);
	if (!s || !*s)
		return 0;
	if (sscanf(s, "daily:%d", &w->minute_of_day) == 1)
		w->freq = REMIND_DAILY;
	else if (sscanf(s, "weekdays:%d", &w->minute_of_day) == 1)
		w->freq = REMIND_WEEKDAYS;
	else if (sscanf(s, "weekly:%d:%d", &w->weekday, &w->minute_of_day) == 2)
		w->freq = REMIND_WEEKLY;
	else
		return -1;
	if (w->minute_of_day < 0 || w->minute_of_day >= 24 * 60 || w->weekday < 0 || w->weekday > 6)
		return -1;
	return 0;
}
