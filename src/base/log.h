/* Structured logs to stderr, one logfmt line per event:
 *   ts=2026-11-23T10:00:00.123Z level=info msg="listening" addr=127.0.0.1:8080
 * Key/value pairs are passed as a printf-style tail already in k=v form;
 * log_q() quotes a value when it needs it. Thread-safe (one write per line). */
#ifndef CANAL_BASE_LOG_H
#define CANAL_BASE_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level l);
/* Parses "debug|info|warn|error"; returns 0 or -1 if unknown. */
int log_level_parse(const char *s, log_level *out);
int log_enabled(log_level l);
/* msg is the human message; fmt (may be NULL) adds " k=v ..." pairs. */
void log_msg(log_level l, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, msg, __VA_ARGS__); } while (0)
#define log_info(msg, ...)  log_msg(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_msg(LOG_ERROR, msg, __VA_ARGS__)

#endif
