#include "base/clock.h"

#include <time.h>

static int64_t fake_us;

void clock_set_fake(int64_t us) { fake_us = us; }

int64_t clock_now_us(void)
{
	if (fake_us)
		return fake_us;
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int64_t clock_now_s(void) { return clock_now_us() / 1000000; }

int64_t clock_mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}
