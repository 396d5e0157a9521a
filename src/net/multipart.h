/* A streaming multipart/form-data parser (RFC 7578 over RFC 2046).
 *
 * Bytes are fed in pieces of any size, as they come off the socket; the
 * parser keeps no part body in memory: part data is handed to part_data
 * as runs of the input (plus, at most, the few delimiter bytes it held
 * back while deciding whether a delimiter was starting). Only each part's
 * header block is buffered, up to MULTIPART_MAX_HEAD bytes.
 *
 *  1. part_begin is called once a part's headers are complete, with its
 *     form name, filename and Content-Type (NULL where absent; strings live
 *     until part_begin returns), then part_data zero or more times, then
 *     part_end. Any callback may return non-zero to stop: multipart_feed
 *     returns that value and the parser refuses further input.
 *  2. The preamble before the first delimiter and the epilogue after the
 *     closing one are ignored.
 *  3. multipart_finish says whether the closing delimiter was seen: a body
 *     cut short is an error, never a silently truncated part. */
#ifndef CANAL_NET_MULTIPART_H
#define CANAL_NET_MULTIPART_H
#include <stddef.h>

#define MULTIPART_MAX_HEAD 8192      /* bytes of one part's header block */
#define MULTIPART_MAX_BOUNDARY 70    /* RFC 2046 */
#define MULTIPART_ESYNTAX (-1)       /* malformed body */

typedef struct multipart_part {
	const char *name;          /* Content-Disposition name= */
	const char *filename;      /* filename=, NULL when not a file */
	const char *content_type;  /* the part's Content-Type */
} multipart_part;

typedef struct multipart_cb {
	int (*part_begin)(void *ud, const multipart_part *p);
	int (*part_data)(void *ud, const char *data, size_t len);
	int (*part_end)(void *ud);
} multipart_cb;

typedef struct multipart multipart;

/* The boundary parameter of a multipart/form-data Content-Type value into
 * out (cap > MULTIPART_MAX_BOUNDARY). 0, or -1 if the type is another one
 * or the boundary is missing, empty, too long or has bad characters. */
int multipart_boundary(const char *content_type, char *out, size_t cap);
/* A parser for one body; boundary as multipart_boundary gave it. */
multipart *multipart_new(const char *boundary, const multipart_cb *cb, void *ud);
/* Parses len more bytes: 0, MULTIPART_ESYNTAX, or a callback's non-zero
 * return. After a non-zero return every later call returns it again. */
int multipart_feed(multipart *m, const char *data, size_t len);
/* 0 if the closing delimiter was seen (the body is complete), else
 * MULTIPART_ESYNTAX (or the earlier error). */
int multipart_finish(const multipart *m);
void multipart_free(multipart *m);

#endif
