/* What the real-time layer asks the store (loop thread only). */
#ifndef CANAL_STORE_RT_H
#define CANAL_STORE_RT_H

#include <stdint.h>

typedef struct store store;

/* Jobs handed to the writer so far, and those whose callbacks have run
 * (so whose events, if any, are published). Both only grow; submitted >
 * delivered means commits are in flight. The WebSocket layer holds a
 * fan-out flush for the jobs in flight when it starts (ws_ctx_set_hold),
 * so their events leave in the same writes. */
void store_job_counts(const store *st, uint64_t *submitted, uint64_t *delivered);

#endif
