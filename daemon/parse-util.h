/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Value grammars of the configuration, systemd-style. Pure functions: -EINVAL for a malformed
 * value, -ERANGE for one out of range; outputs written only on success. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* yes/no, true/false, on/off, 1/0 (any case). */
int parse_boolean(const char *v, bool *ret);
/* Decimal digits only, at most `max`. */
int parse_unsigned(const char *v, uint64_t max, unsigned *ret);
/* A time span as systemd.time(7) writes it, in µs: "86400" (seconds), "90min", "1h 30min",
 * "1.5h", "0.5d", "250ms". The units are systemd's but month and year ("M", "y"). Fractions
 * below 1 µs are cut off; a span that is not 0 but less than 1 µs is -ERANGE, and so is one of
 * UINT64_MAX µs or more. */
int parse_timespan(const char *v, uint64_t *ret_usec);

/* The shortest text parse_timespan() reads back as `usec`: "0", "1d", "1h 30min", "1s 500ms".
 * `buf` should hold FORMAT_TIMESPAN_MAX bytes; the text is cut to fit a smaller one. */
#define FORMAT_TIMESPAN_MAX 64
const char *format_timespan(char *buf, size_t size, uint64_t usec);
