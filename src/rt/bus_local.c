/* The in-process bus: one node, so publishing is delivering. */
#include <stdlib.h>

#include "base/xalloc.h"
#include "rt/bus.h"

static void local_publish(bus *b, const bus_msg *m)
{
	for (int i = 0; i < b->ndeliver; i++)
		b->deliver[i].fn(b->deliver[i].ud, m);
}

static void local_free(bus *b)
{
	free(b);
}

int bus_add_deliverer(bus *b, bus_deliver_fn fn, void *ud)
{
	if (b->ndeliver == BUS_MAX_DELIVERERS)
		return -1;
	b->deliver[b->ndeliver].fn = fn;
	b->deliver[b->ndeliver].ud = ud;
	b->ndeliver++;
	return 0;
}

bus *bus_local_new(bus_deliver_fn deliver, void *ud)
{
	bus *b = xcalloc(1, sizeof *b);
	b->publish = local_publish;
	b->free = local_free;
	if (deliver)
		bus_add_deliverer(b, deliver, ud);
	return b;
}
