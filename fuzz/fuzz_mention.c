/* libFuzzer harness for the text rules of the core: the mention scanner
 * (mention_parse in src/core/message.c) and its bus form
 * (api_mentions_csv), and the pure rules of src/core/rules.c that read
 * client text: ts parsing, pagination cursors, channel names, UTF-8
 * length, emoji, user and email checks.
 *
 * Input: any bytes, used as one C string (a NUL ends it, as it would in
 * any argument). Properties checked besides memory safety: mentions are
 * unique and their ids [A-Z0-9] within ID_MAX; every parsed ts formats and
 * parses back to itself; a cursor encodes and decodes back to its value,
 * and decoding never yields a value for another kind; a normalized name
 * is never longer than its input; rules_utf8_len never exceeds the byte
 * length; an accepted emoji name is at most 100 characters plus a skin
 * tone. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/message.h"
#include "core/rules.h"

static void check_mentions(const char *s)
{
	mention *m = NULL;
	size_t n = mention_parse(s, &m);
	for (size_t i = 0; i < n; i++) {
		size_t len = strnlen(m[i].id, ID_MAX);
		if (len >= ID_MAX)
			abort();
		int has_id = m[i].kind == MENTION_USER || m[i].kind == MENTION_SUBTEAM;
		if (has_id != (len > 0))
			abort();
		for (size_t k = 0; k < len; k++)
			if (!((m[i].id[k] >= 'A' && m[i].id[k] <= 'Z') || (m[i].id[k] >= '0' && m[i].id[k] <= '9')))
				abort();
		for (size_t j = 0; j < i; j++)
			if (m[j].kind == m[i].kind && strcmp(m[j].id, m[i].id) == 0)
				abort();
	}
	char *csv = api_mentions_csv(s);
	if ((csv != NULL) != (n > 0) || (csv && !*csv))
		abort();
	free(csv);
	free(m);
}

static void check_ts(const char *s)
{
	int64_t ts;
	if (rules_ts_parse(s, &ts) != 0)
		return;
	if (ts < 0)
		abort();
	char out[24];
	rules_ts_format(ts, out);
	int64_t again;
	if (rules_ts_parse(out, &again) != 0 || again != ts)
		abort();
}

static void check_cursor(const char *s)
{
	static const char *const kinds[] = {"channel", "user", "c", ""};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		char *v = NULL;
		if (rules_cursor_decode(s, kinds[i], &v) == 0) {
			char *enc = rules_cursor_encode(kinds[i], v);
			char *v2 = NULL;
			if (rules_cursor_decode(enc, kinds[i], &v2) != 0 || strcmp(v, v2) != 0)
				abort();
			free(enc);
			free(v2);
		} else if (v) {
			abort();
		}
		free(v);
		char *enc = rules_cursor_encode(kinds[i], s);
		if (rules_cursor_decode(enc, kinds[i], &v) != 0 || strcmp(v, s) != 0)
			abort();
		free(v);
		free(enc);
	}
}

static void check_names(const char *s)
{
	rules_channel_name_check(s);
	char *norm = rules_channel_name_normalize(s);
	if (strlen(norm) > strlen(s))
		abort();
	rules_channel_name_check(norm);
	free(norm);
	if (rules_utf8_len(s) > strlen(s))
		abort();
	if (rules_emoji_name_ok(s) && strlen(s) > 100 + 13)
		abort();
	if (rules_user_name_ok(s) && (strlen(s) < 1 || strlen(s) > RULES_NAME_MAX))
		abort();
	if (rules_email_ok(s) && (!strchr(s, '@') || strlen(s) > 254))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, in, size);
	s[size] = '\0';
	check_mentions(s);
	check_ts(s);
	check_cursor(s);
	check_names(s);
	free(s);
	return 0;
}
