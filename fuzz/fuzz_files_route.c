/* libFuzzer harness for the parsers of the file routes' request data
 * (src/cli/files_route.c): the upload URL path "<F>/<secret>", the
 * download path "<T>-<F>[-<tail>]/<name>" and the Cookie header.
 *
 * Input: byte 0 picks the output capacities (to hit the length checks);
 * the rest is the path or header (a C string). Properties: on success
 * every output is NUL-terminated within its capacity, ids hold no '/' or
 * '-', an upload secret no '/', a tail no '/', *after points into the
 * input just past a '/' (or at its end), a cookie value no ';' and is a
 * substring of the header; failures leave no reads past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "cli/files_route.h"

static void no_char(const char *s, size_t cap, char c)
{
	if (!memchr(s, '\0', cap) || strchr(s, c))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t small = (size_t)(data[0] & 7) + 1;   /* 1..8 */
	char *s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';

	char id[ID_MAX], secret[128], org[ID_MAX], tail[40], val[256];
	size_t scap = data[0] & 8 ? small : sizeof secret;
	if (files_route__upload_path(s, id, sizeof id, secret, scap) == 0) {
		no_char(id, sizeof id, '/');
		no_char(secret, scap, '/');
		if (!*id || !*secret)
			abort();
	}
	size_t tcap = data[0] & 16 ? small : sizeof tail;
	const char *after = NULL;
	if (files_route__file_path(s, org, id, tail, tcap, &after) == 0) {
		no_char(org, sizeof org, '-');
		no_char(id, sizeof id, '-');
		no_char(id, sizeof id, '/');
		no_char(tail, tcap, '/');
		if (!*id || !after || after < s || after > s + strlen(s) ||
		    (after != s + strlen(s) && after[-1] != '/'))
			abort();
	}
	size_t vcap = data[0] & 32 ? small : sizeof val;
	if (files_route__cookie(s, "canal_session", val, vcap) == 0) {
		no_char(val, vcap, ';');
		if (!strstr(s, val))
			abort();
	}
	free(s);
	return 0;
}
