/* Time sources. Everything that depends on "now" takes it through here so
 * unit tests can substitute a fake clock (clock_set_fake). */
#ifndef CANAL_BASE_CLOCK_H
#define CANAL_BASE_CLOCK_H
#include <stdint.h>

int64_t clock_now_us(void);   /* wall clock, microseconds since the epoch */
int64_t clock_now_s(void);    /* wall clock, seconds since the epoch */
int64_t clock_mono_us(void);  /* monotonic, for durations */
/* Tests: freeze the wall clock at us (0 = back to the real clock). */
void clock_set_fake(int64_t us);

#endif
