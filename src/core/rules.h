/* Pure rules of the domain: names, timestamps, cursors, permissions.
 * No I/O; unit-tested in tests/unit. */
#ifndef CANAL_CORE_RULES_H
#define CANAL_CORE_RULES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

/* Channel names as Slack: 1..80 chars of lowercase letters, digits, '-',
 * '_' (and non-ASCII letters, kept as UTF-8). Returns 0 or
 * ERR_INVALID_NAME_REQUIRED / _MAXLENGTH / _PUNCTUATION / _SPECIALS.
 * Uppercase ASCII is rejected by rules_channel_name_check; callers that
 * want Slack's lenient creation first pass the name through
 * rules_channel_name_normalize (lowercases, spaces -> '-'). */
int rules_channel_name_check(const char *name);
/* Heap string. */
char *rules_channel_name_normalize(const char *name);

/* ts text <-> µs. Accepts "123", "123.4", "123.000456"; rejects anything
 * else (returns -1). Formats as "%010lld.%06lld" into out[24]. */
int rules_ts_parse(const char *s, int64_t *out);
void rules_ts_format(int64_t ts, char out[24]);

/* Opaque pagination cursors: base64 of "<kind>:<value>" so clients treat
 * them as opaque. Encode returns a heap string. Decode returns 0 and a heap
 * value, or ERR_INVALID_CURSOR. */
char *rules_cursor_encode(const char *kind, const char *value);
int rules_cursor_decode(const char *cursor, const char *kind, char **value);

/* Visibility: may user u see channel c at all (exists for them)?
 * Public channels: anyone in the org. Private, IM, MPIM: members only. */
bool rules_can_see(const user *u, const channel *c);
/* Is u a member of c? */
bool rules_is_member(const user *u, const channel *c);

/* Text/array limits. */
#define RULES_MSG_MAX_CHARS 40000   /* msg_too_long past this (characters) */
#define RULES_TOPIC_MAX 250
#define RULES_PURPOSE_MAX 250
#define RULES_NAME_MAX 80
#define RULES_MAX_BLOCKS 50
#define RULES_MAX_ATTACHMENTS 100
#define RULES_MAX_REACTIONS_PER_MSG 50

/* Length in Unicode code points of UTF-8 text. */
size_t rules_utf8_len(const char *s);
/* Emoji/reaction name: 1..100 of [a-z0-9_+'-] optionally "::skin-tone-N". */
bool rules_emoji_name_ok(const char *name);
/* User handle: 1..80 of lowercase letters, digits, '.', '-', '_'. */
bool rules_user_name_ok(const char *name);
/* Plausible email: one '@', non-empty local and domain with a dot. */
bool rules_email_ok(const char *email);

#endif
