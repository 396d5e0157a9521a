/* Identifiers and secrets.
 * - Slack-style object IDs: a prefix letter ('T','U','C','D','B','A','S',...)
 *   and 10 random characters from [0-9A-Z], e.g. "C0A1B2C3D4E".
 * - Tokens: "xoxb-", "xoxp-", "xapp-" + random; only a hash is stored.
 * All randomness comes from libsodium. */
#ifndef CANAL_BASE_IDS_H
#define CANAL_BASE_IDS_H
#include <stddef.h>

#define ID_MAX 24      /* room for any ID we generate, with NUL */
#define TOKEN_HASH_HEX 65

int ids_init(void);    /* sodium_init; 0 or -1 */
/* Writes prefix + 10 random chars into out (size >= ID_MAX). */
void ids_new(char *out, const char *prefix);
/* A fresh token of the given prefix ("xoxb", "xoxp", "xapp", ...) with the
 * owning team id embedded, as Slack does; heap string for the caller. */
char *ids_token_new(const char *prefix, const char *team_id);
/* Lowercase hex random secret of nbytes bytes; heap string. */
char *ids_secret_hex(size_t nbytes);
/* SHA-256 of s as 64 lowercase hex chars into out[TOKEN_HASH_HEX]. */
void ids_token_hash(const char *s, char out[TOKEN_HASH_HEX]);
/* argon2id password hash (libsodium string form); heap string or NULL on
 * failure. ids_password_check returns 1 if pw matches hash. */
char *ids_password_hash(const char *pw);
int ids_password_check(const char *hash, const char *pw);
/* Constant-time comparison of two NUL-terminated strings. */
int ids_equal_ct(const char *a, const char *b);

#endif
