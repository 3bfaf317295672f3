/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Value grammars of the configuration, systemd-style. Pure functions: -EINVAL for a malformed
 * value, -ERANGE for one out of range; outputs written only on success. */

#include <stdbool.h>
#include <stdint.h>

/* yes/no, true/false, on/off, 1/0 (any case). */
int parse_boolean(const char *v, bool *ret);
/* Decimal digits only, at most `max`. */
int parse_unsigned(const char *v, uint64_t max, unsigned *ret);
/* A time span in whole seconds ("86400", "90min", "1d", "1h 30min"), returned in µs. */
int parse_timespan(const char *v, uint64_t *ret_usec);
