/* Allocation that never returns NULL: Canal is a server, not a library, so
 * running out of memory aborts with a message instead of threading NULL
 * checks through every caller. */
#ifndef CANAL_BASE_XALLOC_H
#define CANAL_BASE_XALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* xstrdup(NULL) returns NULL, so optional fields copy without a branch. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Replace *dst with a copy of src (NULL allowed), freeing the old value. */
void xstrset(char **dst, const char *src);

#endif
