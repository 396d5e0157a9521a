/* See pool.h. Each block carries a 16-byte header with its size class
 * (so pool_free needs no size); classes are multiples of 128 bytes. */
#include "base/pool.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
#define POOL_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_OFF 1
#endif
#endif

#define POOL_STEP 128
#define POOL_CLASSES (POOL_MAX_BLOCK / POOL_STEP)
#define POOL_BIG 0xff   /* class mark of a block from plain malloc */

typedef struct pool_hdr {
	_Alignas(16) struct {      /* 16 bytes keep the block behind it aligned */
		struct pool_hdr *next;  /* on a free list */
		uint32_t cls;
	} h;
} pool_hdr;

_Static_assert(sizeof(pool_hdr) == 16, "the header is 16 bytes");

#ifndef POOL_OFF
static _Thread_local struct {
	pool_hdr *head;
	size_t n;
} lists[POOL_CLASSES];
static _Thread_local size_t kept;   /* bytes of spare blocks, all classes */
#endif

void *pool_alloc(size_t n)
{
#ifdef POOL_OFF
	return xmalloc(n ? n : 1);
#else
	if (n == 0)
		n = 1;
	if (n > POOL_MAX_BLOCK) {
		pool_hdr *b = xmalloc(sizeof *b + n);
		b->h.cls = POOL_BIG;
		return b + 1;
	}
	uint32_t cls = (uint32_t)((n - 1) / POOL_STEP);
	pool_hdr *b = lists[cls].head;
	if (b) {
		lists[cls].head = b->h.next;
		lists[cls].n--;
		kept -= (size_t)(cls + 1) * POOL_STEP;
	} else {
		b = xmalloc(sizeof *b + (size_t)(cls + 1) * POOL_STEP);
		b->h.cls = cls;
	}
	return b + 1;
#endif
}

void pool_free(void *p)
{
#ifdef POOL_OFF
	free(p);
#else
	if (!p)
		return;
	pool_hdr *b = (pool_hdr *)p - 1;
	uint32_t cls = b->h.cls;
	if (cls == POOL_BIG || kept >= POOL_KEEP_BYTES) {
		free(b);
		return;
	}
	b->h.next = lists[cls].head;
	lists[cls].head = b;
	lists[cls].n++;
	kept += (size_t)(cls + 1) * POOL_STEP;
#endif
}

void pool_trim(void)
{
#ifndef POOL_OFF
	for (int c = 0; c < POOL_CLASSES; c++) {
		while (lists[c].head) {
			pool_hdr *b = lists[c].head;
			lists[c].head = b->h.next;
			free(b);
		}
		lists[c].n = 0;
	}
	kept = 0;
#endif
}
