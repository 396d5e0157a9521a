/* Cookie + CSRF token authentication for the browser client (see
 * api_session.h for the design). */
#include "api/api_session.h"

#include <sodium.h>
#include <string.h>

/* Header lookup over the public http_req fields (names are lowercased),
 * here rather than http_req_header so that rt.c's users (and the unit
 * tests that fake the HTTP layer) need nothing more of net/http.c. */
static const char *header(const http_req *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* Domain-separated BLAKE2b of the session secret: knowing the CSRF token
 * reveals nothing about the secret, and it changes with every session. */
void api_session_csrf(const char *secret, char out[API_CSRF_MAX])
{
	static const char ctx[] = "canal-csrf-v1";
	unsigned char h[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const unsigned char *)ctx, sizeof ctx);
	crypto_generichash_update(&st, (const unsigned char *)secret, strlen(secret));
	crypto_generichash_final(&st, h, sizeof h);
	memcpy(out, API_CSRF_PREFIX, sizeof API_CSRF_PREFIX - 1);
	sodium_bin2hex(out + sizeof API_CSRF_PREFIX - 1, API_CSRF_MAX - (sizeof API_CSRF_PREFIX - 1), h,
		       sizeof h);
}

int api_cookie_value(const char *hdr, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	while (hdr && *hdr) {
		hdr += strspn(hdr, " \t;");
		size_t seg = strcspn(hdr, ";");
		if (seg > nl && strncmp(hdr, name, nl) == 0 && hdr[nl] == '=') {
			size_t vl = seg - nl - 1;
			while (vl > 0 && (hdr[nl + vl] == ' ' || hdr[nl + vl] == '\t'))
				vl--;
			if (vl == 0 || vl >= cap)
				return -1;
			memcpy(out, hdr + nl + 1, vl);
			out[vl] = '\0';
			return 0;
		}
		hdr += seg;
	}
	return -1;
}

bool api_session_resolve(const http_req *req, const char *csrf, char *out, size_t cap)
{
	if (!csrf || strncmp(csrf, API_CSRF_PREFIX, sizeof API_CSRF_PREFIX - 1) != 0 ||
	    strlen(csrf) != API_CSRF_MAX - 1)
		return false;
	if (api_cookie_value(header(req, "cookie"), "canal_session", out, cap) != 0)
		return false;
	char want[API_CSRF_MAX];
	api_session_csrf(out, want);
	if (sodium_memcmp(want, csrf, API_CSRF_MAX - 1) != 0) {
		out[0] = '\0';
		return false;
	}
	return true;
}

bool api_same_origin(const http_req *req)
{
	const char *origin = header(req, "origin");
	const char *host = header(req, "host");
	if (!origin)
		return true;   /* not a browser's cross-origin request */
	if (!host)
		return false;
	const char *p = strstr(origin, "://");
	return p && strcmp(p + 3, host) == 0;
}
