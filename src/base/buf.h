/* A growable byte buffer. Always NUL-terminated after its length so the
 * contents can be used as a C string when they are text. */
#ifndef CANAL_BASE_BUF_H
#define CANAL_BASE_BUF_H
#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
	char *data;
	size_t len;
	size_t cap;
} buf;

#define BUF_INIT {NULL, 0, 0}

void buf_init(buf *b);
void buf_release(buf *b);          /* frees the storage, leaves b empty */
void buf_reset(buf *b);            /* len = 0, keeps capacity */
void buf_reserve(buf *b, size_t extra);
void buf_add(buf *b, const void *p, size_t n);
void buf_adds(buf *b, const char *s);
void buf_addc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Hands the storage to the caller (NUL-terminated, never NULL). */
char *buf_detach(buf *b, size_t *len);

#endif
