/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Time in µs, as sd-event and the D-Bus API count it. */

#include <stdint.h>
#include <time.h>

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

static inline uint64_t timespec_to_usec(const struct timespec *ts) {
        return (uint64_t) ts->tv_sec * USEC_PER_SEC + (uint64_t) ts->tv_nsec / 1000;
}

/* Wall-clock time in µs: what TokenSetTimestamp and a lease's Acquired are given in. */
static inline uint64_t now_realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return timespec_to_usec(&ts);
}

static inline uint64_t now_monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return timespec_to_usec(&ts);
}
