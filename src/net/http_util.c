/* Pure HTTP helpers: no loop, no sockets, no allocation except where the
 * result is a fresh string. Everything here is unit tested byte for byte
 * (tests/unit/test_http.c), so the server code can trust it. */
#include "net/http.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/buf.h"
#include "base/xalloc.h"

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

long http_url_decode(char *s, int plus_is_space)
{
	char *w = s;
	for (const char *p = s; *p; p++) {
		if (*p == '%') {
			int hi = hexval((unsigned char)p[1]);
			int lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
			if (lo < 0)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			p += 2;
		} else if (*p == '+' && plus_is_space) {
			*w++ = ' ';
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (long)(w - s);
}

/* A segment is a traversal if it is ".." literally or once percent-decoded:
 * callers pass decoded paths, but a path decoded twice somewhere else
 * ("%2e%2e") must not become a way out of root either. */
static int segment_is_dotdot(const char *seg, size_t n)
{
	char tmp[16];
	if (n == 2 && seg[0] == '.' && seg[1] == '.')
		return 1;
	if (n >= sizeof tmp)
		return 0;   /* ".." spelled with escapes is at most 6 bytes */
	memcpy(tmp, seg, n);
	tmp[n] = '\0';
	long m = http_url_decode(tmp, 0);
	return m == 2 && tmp[0] == '.' && tmp[1] == '.';
}

char *http_safe_path(const char *root, const char *url_path)
{
	if (!root || !url_path || url_path[0] != '/')
		return NULL;
	if (strchr(url_path, '\\'))
		return NULL;
	buf out = BUF_INIT;
	size_t rlen = strlen(root);
	while (rlen > 1 && root[rlen - 1] == '/')
		rlen--;
	buf_add(&out, root, rlen);
	const char *p = url_path;
	int trailing_slash = 0;
	while (*p) {
		while (*p == '/')
			p++;
		const char *seg = p;
		while (*p && *p != '/')
			p++;
		size_t n = (size_t)(p - seg);
		trailing_slash = (n == 0);
		if (n == 0)
			break;
		if (segment_is_dotdot(seg, n)) {
			buf_release(&out);
			return NULL;
		}
		if (n == 1 && seg[0] == '.') {
			/* "/./" is harmless but a trailing "/." still names a directory. */
			trailing_slash = (*p == '\0');
			continue;
		}
		buf_addc(&out, '/');
		buf_add(&out, seg, n);
	}
	if (trailing_slash)
		buf_adds(&out, "/index.html");
	return buf_detach(&out, NULL);
}

/* Reads decimal digits, saturating at UINT64_MAX so an absurd number is
 * still "very large" rather than wrapping into a small one. */
static const char *parse_u64(const char *p, uint64_t *out, int *ndigits)
{
	uint64_t v = 0;
	int n = 0;
	for (; *p >= '0' && *p <= '9'; p++, n++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + d;
	}
	*out = v;
	*ndigits = n;
	return p;
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int http_parse_range(const char *value, uint64_t size, uint64_t *start, uint64_t *end)
{
	if (!value)
		return 0;
	const char *p = skip_ows(value);
	if (strncasecmp(p, "bytes", 5) != 0)
		return 0;               /* unknown unit: ignore (RFC 9110 14.2) */
	p = skip_ows(p + 5);
	if (*p++ != '=')
		return 0;
	p = skip_ows(p);
	/* Several ranges would need multipart/byteranges; a full 200 is an
	 * allowed answer, so we ignore the header instead. */
	if (strchr(p, ','))
		return 0;
	uint64_t a = 0, b = 0;
	int na = 0, nb = 0;
	p = parse_u64(p, &a, &na);
	p = skip_ows(p);
	if (*p++ != '-')
		return 0;
	p = skip_ows(p);
	p = parse_u64(p, &b, &nb);
	p = skip_ows(p);
	if (*p != '\0' || (na == 0 && nb == 0))
		return 0;               /* syntactically invalid: ignore */
	if (na == 0) {
		/* Suffix range "-N": the last N bytes. */
		if (b == 0 || size == 0)
			return -1;
		*start = b >= size ? 0 : size - b;
		*end = size - 1;
		return 1;
	}
	if (nb > 0 && b < a)
		return 0;               /* "5-2" is invalid, not unsatisfiable */
	if (a >= size)
		return -1;
	*start = a;
	*end = (nb == 0 || b >= size) ? size - 1 : b;
	return 1;
}

typedef struct {
	int code;
	const char *reason;
} reason_entry;

/* Sorted by code for the binary search below. */
static const reason_entry reasons[] = {
	{100, "Continue"},
	{101, "Switching Protocols"},
	{200, "OK"},
	{201, "Created"},
	{202, "Accepted"},
	{203, "Non-Authoritative Information"},
	{204, "No Content"},
	{205, "Reset Content"},
	{206, "Partial Content"},
	{300, "Multiple Choices"},
	{301, "Moved Permanently"},
	{302, "Found"},
	{303, "See Other"},
	{304, "Not Modified"},
	{307, "Temporary Redirect"},
	{308, "Permanent Redirect"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{402, "Payment Required"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{406, "Not Acceptable"},
	{408, "Request Timeout"},
	{409, "Conflict"},
	{410, "Gone"},
	{411, "Length Required"},
	{412, "Precondition Failed"},
	{413, "Content Too Large"},
	{414, "URI Too Long"},
	{415, "Unsupported Media Type"},
	{416, "Range Not Satisfiable"},
	{417, "Expectation Failed"},
	{421, "Misdirected Request"},
	{422, "Unprocessable Content"},
	{425, "Too Early"},
	{426, "Upgrade Required"},
	{428, "Precondition Required"},
	{429, "Too Many Requests"},
	{431, "Request Header Fields Too Large"},
	{451, "Unavailable For Legal Reasons"},
	{500, "Internal Server Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Gateway Timeout"},
	{505, "HTTP Version Not Supported"},
};

const char *http_reason(int status)
{
	size_t lo = 0, hi = sizeof reasons / sizeof reasons[0];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (reasons[mid].code == status)
			return reasons[mid].reason;
		if (reasons[mid].code < status)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "Unknown";
}

typedef struct {
	const char *ext;
	const char *type;
} mime_entry;

static const mime_entry mimes[] = {
	{"html", "text/html; charset=utf-8"},
	{"htm", "text/html; charset=utf-8"},
	{"css", "text/css; charset=utf-8"},
	{"js", "text/javascript; charset=utf-8"},
	{"mjs", "text/javascript; charset=utf-8"},
	{"json", "application/json"},
	{"map", "application/json"},
	{"webmanifest", "application/manifest+json"},
	{"txt", "text/plain; charset=utf-8"},
	{"md", "text/markdown; charset=utf-8"},
	{"csv", "text/csv; charset=utf-8"},
	{"xml", "application/xml"},
	{"svg", "image/svg+xml"},
	{"png", "image/png"},
	{"jpg", "image/jpeg"},
	{"jpeg", "image/jpeg"},
	{"gif", "image/gif"},
	{"webp", "image/webp"},
	{"avif", "image/avif"},
	{"ico", "image/x-icon"},
	{"woff", "font/woff"},
	{"woff2", "font/woff2"},
	{"ttf", "font/ttf"},
	{"otf", "font/otf"},
	{"wasm", "application/wasm"},
	{"pdf", "application/pdf"},
	{"zip", "application/zip"},
	{"gz", "application/gzip"},
	{"mp3", "audio/mpeg"},
	{"ogg", "audio/ogg"},
	{"wav", "audio/wav"},
	{"mp4", "video/mp4"},
	{"webm", "video/webm"},
};

const char *http_mime_type(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');
	if (dot && dot != base && dot[1]) {
		for (size_t i = 0; i < sizeof mimes / sizeof mimes[0]; i++)
			if (strcasecmp(dot + 1, mimes[i].ext) == 0)
				return mimes[i].type;
	}
	return "application/octet-stream";
}

void http__fmt_date(int64_t sec, char *out, size_t n)
{
	static const char wday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, n, "%s, %02d %s %04d %02d:%02d:%02d GMT", wday[tm.tm_wday % 7], tm.tm_mday,
		 mon[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
