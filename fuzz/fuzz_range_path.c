/* libFuzzer harness for the pure HTTP helpers of src/net/http_util.c that
 * read request data: http_parse_range (the Range header), http_safe_path
 * (URL path -> file under the web root) and http_url_decode, plus
 * http_mime_type and http_reason.
 *
 * Input: byte 0 picks the file size the range is checked against, byte 1
 * the plus_is_space flag, the rest is the header value / path (a C
 * string). Properties: a satisfiable range lies inside the file; a safe
 * path starts with the root, is root-relative with no ".." segment (even
 * once more percent-decoded), no backslash, and stays safe when fed back;
 * decoding never grows the string and writes its NUL where it says. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

#define ROOT "/srv/web"

static void check_range(const char *s, uint64_t size)
{
	uint64_t a = 7, b = 9;
	int r = http_parse_range(s, size, &a, &b);
	if (r == 1 && !(a <= b && b < size))
		abort();
	if (r < -1 || r > 1)
		abort();
}

static void check_path(const char *s)
{
	char *p = http_safe_path(ROOT, s);
	if (!p)
		return;
	if (s[0] != '/' || strchr(s, '\\') || strncmp(p, ROOT "/", sizeof ROOT) != 0)
		abort();
	/* No segment of the result may climb out, literally or decoded once. */
	for (const char *seg = p + sizeof ROOT - 1; *seg;) {
		seg++;
		size_t n = strcspn(seg, "/");
		char tmp[64];
		if (n < sizeof tmp) {
			memcpy(tmp, seg, n);
			tmp[n] = '\0';
			long m = http_url_decode(tmp, 0);
			if ((n == 2 && seg[0] == '.' && seg[1] == '.') || (m == 2 && !strcmp(tmp, "..")))
				abort();
		}
		seg += n;
	}
	/* Feeding the relative part back must give the same file. */
	char *again = http_safe_path(ROOT, p + sizeof ROOT - 1);
	if (!again || strcmp(again, p) != 0)
		abort();
	free(again);
	http_mime_type(p);
	free(p);
}

static void check_decode(const char *s, int plus)
{
	size_t n = strlen(s);
	char *d = strdup(s);
	long m = http_url_decode(d, plus);
	if (m >= 0 && ((size_t)m > n || d[m] != '\0'))
		abort();
	if (m < 0 && !strchr(s, '%'))
		abort();
	free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static const uint64_t sizes[] = {0, 1, 2, 10, 1000, 1u << 20, UINT64_MAX - 1, UINT64_MAX};
	if (size < 2)
		return 0;
	uint64_t fsize = sizes[in[0] % 8];
	int plus = in[1] & 1;
	char *s = malloc(size - 1);
	memcpy(s, in + 2, size - 2);
	s[size - 2] = '\0';
	check_range(s, fsize);
	check_path(s);
	check_decode(s, plus);
	http_mime_type(s);
	http_reason((int)(in[0] | in[1] << 8) % 1000);
	free(s);
	return 0;
}
