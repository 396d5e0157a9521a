#include "base/ids.h"

#include <sodium.h>
#include <string.h>

#include "base/xalloc.h"

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

int ids_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

static void rand_chars(char *out, size_t n, const char *alpha, unsigned alen)
{
	for (size_t i = 0; i < n; i++)
		out[i] = alpha[randombytes_uniform(alen)];
	out[n] = '\0';
}

void ids_new(char *out, const char *prefix)
{
	size_t pl = strlen(prefix);
	memcpy(out, prefix, pl);
	rand_chars(out + pl, 10, alphabet, 36);
}

char *ids_token_new(const char *prefix, const char *team_id)
{
	static const char an[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char r1[13], r2[25];
	rand_chars(r1, 12, "0123456789", 10);
	rand_chars(r2, 24, an, 62);
	return xasprintf("%s-%s-%s-%s", prefix, team_id ? team_id : "0", r1, r2);
}

char *ids_secret_hex(size_t nbytes)
{
	unsigned char raw[64];
	if (nbytes > sizeof raw)
		nbytes = sizeof raw;
	randombytes_buf(raw, nbytes);
	char *hex = xmalloc(nbytes * 2 + 1);
	sodium_bin2hex(hex, nbytes * 2 + 1, raw, nbytes);
	return hex;
}

void ids_token_hash(const char *s, char out[TOKEN_HASH_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(out, TOKEN_HASH_HEX, h, sizeof h);
}

char *ids_password_hash(const char *pw)
{
	char out[crypto_pwhash_STRBYTES];
	/* INTERACTIVE limits: ~64 MiB, fast enough for a sign-in request. */
	if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return NULL;
	return xstrdup(out);
}

int ids_password_check(const char *hash, const char *pw)
{
	return hash && crypto_pwhash_str_verify(hash, pw, strlen(pw)) == 0;
}

int ids_equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la != lb)
		return 0;
	return sodium_memcmp(a, b, la) == 0;
}
