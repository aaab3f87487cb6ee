/* Monotonic time in milliseconds: every deadline in odmd is on this clock. */
#ifndef ODMD_CLOCK_H
#define ODMD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t odm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The same clock in microseconds: request durations. */
static inline int64_t odm_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
