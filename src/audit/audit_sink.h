/* Streaming the audit log to a SIEM: syslog (RFC 5424, over UDP, or TCP
 * with RFC 6587 octet counting) and/or an HTTP endpoint (POSTs of JSON
 * lines through the loop's libcurl fetch).
 *
 * The queue is the audit table itself: each sink keeps a cursor (the
 * last seq it delivered), and a poll timer reads what is newer, at most
 * AUDIT_SINK_BATCH entries per sink in flight, on the loop's read
 * connection (an indexed range). Memory is bounded by that batch, a slow
 * or dead endpoint holds back nothing else, and nothing is lost while it
 * is down: an HTTP or TCP failure retries the same batch with backoff
 * (1 s doubling to 60 s). The HTTP sink delivers at least once (a
 * timeout after the receiver took the batch sends it again); UDP is fire
 * and forget, as syslog over UDP is. Streaming starts with the entries
 * made after the server started. */
#ifndef CANAL_AUDIT_AUDIT_SINK_H
#define CANAL_AUDIT_AUDIT_SINK_H
#include <stddef.h>
#include <uv.h>

#include "net/fetch.h"
#include "store/store.h"

#define AUDIT_SINK_BATCH 100
#define AUDIT_SINK_POLL_MS 200

typedef struct audit_sink audit_sink;

/* syslog_target: "udp://HOST:PORT" or "tcp://HOST:PORT" or NULL;
 * http_url: "http(s)://..." or NULL. NULL with err empty when both are
 * unset; NULL with err set when a target is malformed. */
audit_sink *audit_sink_new(uv_loop_t *loop, store *st, fetch_ctx *fetch, const char *syslog_target,
			   const char *http_url, char *err, size_t errlen);
/* Stops polling and closes connections (loop thread, before store_close
 * and fetch_ctx_free); the memory goes once the handles have closed. */
void audit_sink_free(audit_sink *k);

#endif
