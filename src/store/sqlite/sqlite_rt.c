/* store_rt.h: job counters for the real-time layer. */
#include "store/store.h"
#include "store/sqlite/sqlite_internal.h"

void store_job_counts(const store *st, uint64_t *submitted, uint64_t *delivered)
{
	*submitted = st->jobs_submitted;
	*delivered = st->jobs_delivered;
}
