/* The publish interface. Every real-time event leaves the API layer
 * through bus_publish() after the write it describes is durable. The
 * in-process bus (bus_local_new) hands it straight to this node's
 * deliverer; a cluster bus (NATS or Redis, later) will send the same bytes
 * to every node, each delivering to its own connected sessions. Callers
 * never know which bus they have.
 *
 * A bus_msg is self-contained bytes plus routing fields (no pointers into
 * hot state), so it can cross a network unchanged. */
#ifndef CANAL_RT_BUS_H
#define CANAL_RT_BUS_H
#include <stddef.h>

#include "base/ids.h"

typedef enum bus_scope {
	BUS_CHANNEL = 0, /* every member of channel_id (who can see it) */
	BUS_USER = 1,    /* every session of user_id */
	BUS_ORG = 2,     /* every session in org_id (public, org-wide events) */
} bus_scope;

typedef struct bus_msg {
	bus_scope scope;
	char org_id[ID_MAX];
	char channel_id[ID_MAX];
	char user_id[ID_MAX];
	/* Skip this session (e.g. the sender of a typing event); 0 = none. */
	unsigned long long except_session;
	/* The event, serialized once. */
	const char *json;
	size_t len;
	/* Message events that mention someone: the same event with
	 * "mentioned":true, for the targets, and the targets themselves as
	 * a comma list of user ids, "here", "channel", "everyone",
	 * "subteam^S..." (expanded by the deliverer from its own state). */
	const char *mention_json;
	size_t mention_len;
	const char *mentions;
} bus_msg;

typedef struct bus bus;
typedef void (*bus_deliver_fn)(void *ud, const bus_msg *m);

#define BUS_MAX_DELIVERERS 4

struct bus {
	void (*publish)(bus *b, const bus_msg *m);
	void (*free)(bus *b);
	/* This node's deliverers, called in order for every message: people's
	 * sessions (rt) first, then apps (Socket Mode / Events API). */
	struct { bus_deliver_fn fn; void *ud; } deliver[BUS_MAX_DELIVERERS];
	int ndeliver;
};

/* In-process bus: publish delivers synchronously to this node's
 * deliverers. deliver may be NULL (add them with bus_add_deliverer). */
bus *bus_local_new(bus_deliver_fn deliver, void *ud);
/* Adds a deliverer on this node; 0 or -1 when full. */
int bus_add_deliverer(bus *b, bus_deliver_fn fn, void *ud);

static inline void bus_publish(bus *b, const bus_msg *m) { b->publish(b, m); }
static inline void bus_free(bus *b) { if (b) b->free(b); }

#endif
