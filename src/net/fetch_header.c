/* fetch_header: reading one header out of a fetch_result's raw header
 * block. Its own file so that tests faking fetch_post can still link it. */
#include <string.h>
#include <strings.h>

#include "net/fetch.h"

int fetch_header(const fetch_result *r, const char *name, char *out, size_t outsz)
{
	if (outsz)
		out[0] = '\0';
	size_t nl = strlen(name);
	const char *p = r->headers, *end = r->headers ? r->headers + r->headers_len : NULL;
	while (p && p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		if ((size_t)(le - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = le;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t n = (size_t)(ve - v);
			if (outsz) {
				if (n > outsz - 1)
					n = outsz - 1;
				memcpy(out, v, n);
				out[n] = '\0';
			}
			return 1;
		}
		p = eol ? eol + 1 : end;
	}
	return 0;
}

