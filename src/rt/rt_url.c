#include "rt/rt_url.h"

#include <string.h>

#include "base/xalloc.h"

char *rt_ws_base_from(const char *base_url)
{
	const char *rest = base_url ? base_url : "";
	const char *scheme = "ws://";
	if (strncmp(rest, "https://", 8) == 0) {
		scheme = "wss://";
		rest += 8;
	} else if (strncmp(rest, "http://", 7) == 0) {
		rest += 7;
	}
	if (!*rest)
		rest = "localhost";
	size_t n = strlen(rest);
	while (n > 0 && rest[n - 1] == '/')
		n--;
	return xasprintf("%s%.*s", scheme, (int)n, rest);
}

int rt_query_param(const char *q, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	while (q && *q) {
		size_t seg = strcspn(q, "&");
		if (seg > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			size_t vl = seg - nl - 1;
			if (vl >= cap)
				return -1;
			memcpy(out, q + nl + 1, vl);
			out[vl] = '\0';
			return 0;
		}
		q += seg;
		if (*q == '&')
			q++;
	}
	return -1;
}
