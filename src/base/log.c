#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"

static log_level g_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level l) { g_level = l; }
int log_enabled(log_level l) { return l >= g_level; }

int log_level_parse(const char *s, log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (log_level)i;
			return 0;
		}
	return -1;
}

void log_msg(log_level l, const char *msg, const char *fmt, ...)
{
	if (l < g_level)
		return;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	buf b = BUF_INIT;
	buf_printf(&b, "ts=%s.%03dZ level=%s msg=\"", ts, (int)(tv.tv_usec / 1000), names[l]);
	for (const char *p = msg; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(&b, '\\');
		buf_addc(&b, *p == '\n' ? ' ' : *p);
	}
	buf_addc(&b, '"');
	if (fmt && *fmt) {
		buf_addc(&b, ' ');
		va_list ap;
		va_start(ap, fmt);
		buf_vprintf(&b, fmt, ap);
		va_end(ap);
	}
	buf_addc(&b, '\n');
	/* One write() per line keeps lines whole when threads log at once. */
	ssize_t w = write(STDERR_FILENO, b.data, b.len);
	(void)w;
	buf_release(&b);
}
