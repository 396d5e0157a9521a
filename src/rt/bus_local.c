/* The in-process bus: one node, so publishing is delivering. */
#include <stdlib.h>

#include "base/xalloc.h"
#include "rt/bus.h"

static void local_publish(bus *b, const bus_msg *m)
{
	if (b->deliver)
		b->deliver(b->deliver_ud, m);
}

static void local_free(bus *b)
{
	free(b);
}

bus *bus_local_new(bus_deliver_fn deliver, void *ud)
{
	bus *b = xcalloc(1, sizeof *b);
	b->publish = local_publish;
	b->free = local_free;
	b->deliver = deliver;
	b->deliver_ud = ud;
	return b;
}
