/* Free lists for the short-lived blocks of the delivery hot path (Socket
 * Mode envelopes and their frames: hundreds of thousands a second, a few
 * hundred bytes each, allocated in bursts of one per app and freed in
 * bursts of one per ack). glibc's per-thread cache keeps 7 blocks of a
 * size, so such bursts fell through to its general bins: a sixth of the
 * server's CPU in the apps benchmark was malloc and free.
 *
 * Rules.
 *  1. pool_alloc(n) returns a block of at least n bytes, 16-byte aligned,
 *     never NULL (like xmalloc); pool_free takes only blocks from
 *     pool_alloc (or NULL), on any thread: the block joins that thread's
 *     lists. pool_trim frees the calling thread's spare blocks (at exit,
 *     so leak checkers see nothing held).
 *  2. Blocks up to POOL_MAX_BLOCK come from per-thread lists by size class;
 *     larger ones go straight to malloc. A thread keeps at most
 *     POOL_KEEP_BYTES of spare blocks in all, so memory held is bounded;
 *     it is sized for the envelopes in flight at 500,000 a second (tens
 *     of thousands), which a smaller bound sent back to malloc.
 *  3. Under AddressSanitizer every call goes to malloc/free, so use after
 *     free and overflows are still caught in the test suite. */
#ifndef CANAL_BASE_POOL_H
#define CANAL_BASE_POOL_H
#include <stddef.h>

#define POOL_MAX_BLOCK 2048
#define POOL_KEEP_BYTES (32u << 20)

void *pool_alloc(size_t n);
void pool_free(void *p);
void pool_trim(void);

#endif
