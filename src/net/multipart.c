/* Streaming multipart/form-data parser (see multipart.h).
 *
 * Design note. The body is a sequence of parts separated by the delimiter
 * CRLF "--" boundary; the first delimiter may come without its CRLF (at
 * the very start of the body), which the parser models by starting as if
 * CRLF had just been seen. States:
 *
 *   PREAMBLE --delimiter--> AFTER_DELIM --"--"--> EPILOGUE (rest ignored)
 *                               |  ^
 *                        LWSP* CRLF |
 *                               v  | delimiter
 *                           HEADERS --CRLF CRLF--> BODY
 *
 * Invariants.
 *  1. In PREAMBLE and BODY, k counts the delimiter bytes matched so far;
 *     the matched bytes are never copied anywhere: they equal delim[0..k),
 *     so on a mismatch BODY hands delim[0..k) to part_data and starts over.
 *     Because delim[0] is CR and a boundary cannot contain CR, a mismatch
 *     can only restart a match at the current byte (no KMP table needed).
 *  2. Only the header block of one part is buffered, bounded by
 *     MULTIPART_MAX_HEAD.
 *  3. Once err is set (syntax or a callback's refusal) nothing more is
 *     parsed and no callback runs. */
#include "net/multipart.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"

typedef enum {
	MP_PREAMBLE,
	MP_AFTER_DELIM,   /* right after a delimiter: "--" or LWSP* CRLF */
	MP_DASH,          /* one '-' seen after a delimiter */
	MP_LWSP,          /* transport padding after a delimiter */
	MP_CR,            /* CR seen after a delimiter, LF expected */
	MP_HEADERS,
	MP_BODY,
	MP_EPILOGUE,
} mp_state;

struct multipart {
	multipart_cb cb;
	void *ud;
	mp_state state;
	int err;
	char delim[MULTIPART_MAX_BOUNDARY + 5];   /* CRLF "--" boundary */
	size_t dlen, k;
	char head[MULTIPART_MAX_HEAD + 1];
	size_t hlen;
};

static int bchar(int c)
{
	/* RFC 2046 bchars */
	return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

int multipart_boundary(const char *ct, char *out, size_t cap)
{
	if (!ct)
		return -1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	static const char type[] = "multipart/form-data";
	if (strncasecmp(ct, type, sizeof type - 1) != 0)
		return -1;
	const char *p = ct + sizeof type - 1;
	if (*p && *p != ';' && *p != ' ' && *p != '\t')
		return -1;
	while (*p) {
		while (*p == ';' || *p == ' ' || *p == '\t')
			p++;
		const char *name = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		size_t nl = (size_t)(p - name);
		while (nl && (name[nl - 1] == ' ' || name[nl - 1] == '\t'))
			nl--;
		char val[MULTIPART_MAX_BOUNDARY + 2];
		size_t vl = 0;
		int toolong = 0;
		if (*p == '=') {
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && p[1])
						p++;
					if (vl < MULTIPART_MAX_BOUNDARY + 1)
						val[vl++] = *p;
					else
						toolong = 1;
					p++;
				}
				if (*p != '"')
					return -1;
				p++;
			} else {
				while (*p && *p != ';' && *p != ' ' && *p != '\t') {
					if (vl < MULTIPART_MAX_BOUNDARY + 1)
						val[vl++] = *p;
					else
						toolong = 1;
					p++;
				}
			}
		}
		val[vl] = '\0';
		if (nl == 8 && strncasecmp(name, "boundary", 8) == 0) {
			if (toolong || vl == 0 || vl > MULTIPART_MAX_BOUNDARY || vl + 1 > cap)
				return -1;
			/* It may not end with a space (RFC 2046). */
			if (val[vl - 1] == ' ')
				return -1;
			for (size_t i = 0; i < vl; i++)
				if (!bchar((unsigned char)val[i]))
					return -1;
			memcpy(out, val, vl + 1);
			return 0;
		}
		while (*p && *p != ';')
			p++;
	}
	return -1;
}

multipart *multipart_new(const char *boundary, const multipart_cb *cb, void *ud)
{
	multipart *m = xcalloc(1, sizeof *m);
	m->cb = *cb;
	m->ud = ud;
	size_t bl = strlen(boundary);
	if (bl > MULTIPART_MAX_BOUNDARY)
		bl = MULTIPART_MAX_BOUNDARY;
	memcpy(m->delim, "\r\n--", 4);
	memcpy(m->delim + 4, boundary, bl);
	m->dlen = 4 + bl;
	m->state = MP_PREAMBLE;
	m->k = 2;   /* the first delimiter may open the body without its CRLF */
	return m;
}

void multipart_free(multipart *m)
{
	free(m);
}

/* Value of parameter pname (name, filename) in a Content-Disposition
 * value, unquoted, into out; NULL if absent. */
static const char *disp_param(const char *v, const char *pname, char *out, size_t cap)
{
	size_t pl = strlen(pname);
	const char *p = strchr(v, ';');
	while (p) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *n = p;
		while (*p && *p != '=' && *p != ';')
			p++;
		size_t nl = (size_t)(p - n);
		while (nl && (n[nl - 1] == ' ' || n[nl - 1] == '\t'))
			nl--;
		if (*p != '=') {
			p = *p == ';' ? p : NULL;
			continue;
		}
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t ol = 0;
		if (*p == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1])
					p++;
				if (ol + 1 < cap)
					out[ol++] = *p;
				p++;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ';' && *p != ' ' && *p != '\t') {
				if (ol + 1 < cap)
					out[ol++] = *p;
				p++;
			}
		}
		out[ol] = '\0';
		if (nl == pl && strncasecmp(n, pname, pl) == 0)
			return out;
		p = strchr(p, ';');
	}
	return NULL;
}

/* The header block (without its final empty line) is complete. */
static int headers_done(multipart *m)
{
	m->head[m->hlen] = '\0';
	static char empty[] = "";
	const char *disp = NULL, *ctype = NULL;
	char *line = m->head;
	while (*line) {
		char *eol = strstr(line, "\r\n");
		if (!eol)
			eol = line + strlen(line);
		char *next = *eol ? eol + 2 : eol;
		*eol = '\0';
		char *colon = strchr(line, ':');
		if (!colon || colon == line)
			return MULTIPART_ESYNTAX;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = '\0';
		if (strcasecmp(line, "content-disposition") == 0)
			disp = v;
		else if (strcasecmp(line, "content-type") == 0)
			ctype = v;
		line = next;
	}
	/* RFC 7578: every part has Content-Disposition: form-data. */
	if (!disp || strncasecmp(disp, "form-data", 9) != 0 ||
	    (disp[9] && disp[9] != ';' && disp[9] != ' ' && disp[9] != '\t'))
		return MULTIPART_ESYNTAX;
	char name[1024], fname[1024];
	multipart_part p = {
		.name = disp_param(disp, "name", name, sizeof name),
		.filename = disp_param(disp, "filename", fname, sizeof fname),
		.content_type = ctype && *ctype ? ctype : NULL,
	};
	if (!p.name)
		p.name = empty;
	return m->cb.part_begin ? m->cb.part_begin(m->ud, &p) : 0;
}

static int emit(multipart *m, const char *d, size_t n)
{
	if (!n || !m->cb.part_data)
		return 0;
	return m->cb.part_data(m->ud, d, n);
}

int multipart_feed(multipart *m, const char *data, size_t len)
{
	size_t i = 0;
	int rc = 0;
	while (!m->err && i < len) {
		char ch = data[i];
		switch (m->state) {
		case MP_PREAMBLE:
			if (ch == m->delim[m->k]) {
				i++;
				if (++m->k == m->dlen)
					m->state = MP_AFTER_DELIM;
			} else if (m->k) {
				m->k = 0;   /* look at ch again, as a possible CR */
			} else {
				i++;
			}
			break;
		case MP_AFTER_DELIM:
			i++;
			if (ch == '-')
				m->state = MP_DASH;
			else if (ch == '\r')
				m->state = MP_CR;
			else if (ch == ' ' || ch == '\t')
				m->state = MP_LWSP;
			else
				m->err = MULTIPART_ESYNTAX;
			break;
		case MP_DASH:
			i++;
			if (ch == '-')
				m->state = MP_EPILOGUE;
			else
				m->err = MULTIPART_ESYNTAX;
			break;
		case MP_LWSP:
			i++;
			if (ch == '\r')
				m->state = MP_CR;
			else if (ch != ' ' && ch != '\t')
				m->err = MULTIPART_ESYNTAX;
			break;
		case MP_CR:
			i++;
			if (ch == '\n') {
				m->state = MP_HEADERS;
				m->hlen = 0;
			} else {
				m->err = MULTIPART_ESYNTAX;
			}
			break;
		case MP_HEADERS:
			i++;
			if (m->hlen >= MULTIPART_MAX_HEAD) {
				m->err = MULTIPART_ESYNTAX;
				break;
			}
			m->head[m->hlen++] = ch;
			if (m->hlen == 2 && memcmp(m->head, "\r\n", 2) == 0) {
				m->hlen = 0;   /* a part without headers */
			} else if (m->hlen >= 4 && memcmp(m->head + m->hlen - 4, "\r\n\r\n", 4) == 0) {
				m->hlen -= 4;
			} else {
				break;
			}
			if ((rc = headers_done(m)) != 0) {
				m->err = rc;
				break;
			}
			m->state = MP_BODY;
			m->k = 0;
			break;
		case MP_BODY:
			if (m->k == 0) {
				/* A run of data up to the next CR goes out as it is. */
				const char *cr = memchr(data + i, '\r', len - i);
				size_t run = cr ? (size_t)(cr - (data + i)) : len - i;
				if ((rc = emit(m, data + i, run)) != 0) {
					m->err = rc;
					break;
				}
				i += run;
				if (cr) {
					m->k = 1;
					i++;
				}
				break;
			}
			if (ch == m->delim[m->k]) {
				i++;
				if (++m->k == m->dlen) {
					m->k = 0;
					m->state = MP_AFTER_DELIM;
					if (m->cb.part_end && (rc = m->cb.part_end(m->ud)) != 0)
						m->err = rc;
				}
				break;
			}
			/* Not a delimiter after all: what was held back is data. */
			if ((rc = emit(m, m->delim, m->k)) != 0) {
				m->err = rc;
				break;
			}
			m->k = 0;
			break;
		case MP_EPILOGUE:
			i = len;
			break;
		}
	}
	return m->err;
}

int multipart_finish(const multipart *m)
{
	if (m->err)
		return m->err;
	return m->state == MP_EPILOGUE ? 0 : MULTIPART_ESYNTAX;
}
