/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the value grammars of the configuration (booleans, counts, time spans). */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "parse-util.h"
#include "time-util.h"

int parse_boolean(const char *v, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Reads decimal digits only: no sign, no base prefix, no surrounding space (already stripped). */
static int parse_digits(const char **s, uint64_t *ret) {
        const char *p = *s;
        uint64_t v = 0;

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *s = p;
        *ret = v;
        return 0;
}

int parse_unsigned(const char *v, uint64_t max, unsigned *ret) {
        uint64_t n;
        int r;

        r = parse_digits(&v, &n);
        if (r < 0)
                return r;
        if (*v != '\0')
                return -EINVAL;
        if (n > max)
                return -ERANGE;
        *ret = (unsigned) n;
        return 0;
}

/* The units of systemd.time(7), in µs. Names are case-sensitive as in systemd, where "M" is a
 * month and "y" a year: those are left out, as a rotation interval is never that long and "M" next
 * to "m" (minutes) is a trap. "µs" comes in both of Unicode's spellings (micro sign, Greek mu). */
static const struct {
        const char *name;
        uint64_t usec;
} timespan_units[] = {
        { "us", 1 },
        { "usec", 1 },
        { "\xc2\xb5s", 1 },
        { "\xce\xbcs", 1 },
        { "ms", USEC_PER_MSEC },
        { "msec", USEC_PER_MSEC },
        { "s", USEC_PER_SEC },
        { "sec", USEC_PER_SEC },
        { "second", USEC_PER_SEC },
        { "seconds", USEC_PER_SEC },
        { "m", 60 * USEC_PER_SEC },
        { "min", 60 * USEC_PER_SEC },
        { "mins", 60 * USEC_PER_SEC },
        { "minute", 60 * USEC_PER_SEC },
        { "minutes", 60 * USEC_PER_SEC },
        { "h", 3600 * USEC_PER_SEC },
        { "hr", 3600 * USEC_PER_SEC },
        { "hour", 3600 * USEC_PER_SEC },
        { "hours", 3600 * USEC_PER_SEC },
        { "d", 86400 * USEC_PER_SEC },
        { "day", 86400 * USEC_PER_SEC },
        { "days", 86400 * USEC_PER_SEC },
        { "w", 604800 * USEC_PER_SEC },
        { "week", 604800 * USEC_PER_SEC },
        { "weeks", 604800 * USEC_PER_SEC },
};

static bool is_unit_char(char c) {
        /* Letters, and the bytes of a UTF-8 "µ". */
        return isalpha((unsigned char) c) || (unsigned char) c >= 0x80;
}

/* floor(0.DIGITS * unit) for the fractional digits [digits, end), exactly and without overflow:
 * from the last digit to the first, t = (d * unit + t) / 10. Each step divides by 10 with the
 * lower digits' part already folded in, and floor((a + floor(x)) / 10) = floor((a + x) / 10) for
 * whole a, so the result is the floor of the exact value; t stays below unit, so d * unit + t
 * stays below 10 * unit, far from overflow for units of at most a week. */
static uint64_t fraction_usec(const char *digits, const char *end, uint64_t unit) {
        uint64_t t = 0;

        while (end > digits) {
                end--;
                t = ((uint64_t) (*end - '0') * unit + t) / 10;
        }
        return t;
}

/* A systemd time span (systemd.time(7)): one or more "NUMBER[UNIT]", optionally separated by
 * white space, where NUMBER is decimal with an optional fraction ("1.5h", ".5d") and a number
 * without a unit is seconds, all added up: "1h 30min", "1h30min", "90min 30s", "1.5h". */
int parse_timespan(const char *v, uint64_t *ret_usec) {
        uint64_t total = 0;
        bool any = false, nonzero = false;

        for (;;) {
                const char *int_start, *frac_start = NULL, *frac_end = NULL, *u;
                uint64_t n = 0, unit = 0, part;
                size_t ulen;
                int r;

                while (isspace((unsigned char) *v))
                        v++;
                if (*v == '\0')
                        break;

                /* The whole part may be left out only before a fraction (".5h"), as in systemd. */
                int_start = v;
                if (isdigit((unsigned char) *v)) {
                        r = parse_digits(&v, &n);
                        if (r < 0)
                                return r;
                }
                if (*v == '.') {
                        frac_start = ++v;
                        while (isdigit((unsigned char) *v))
                                v++;
                        frac_end = v;
                        /* "3.", "3.s", "3. 1" and "3.-1" are malformed, as in systemd. */
                        if (frac_end == frac_start)
                                return -EINVAL;
                } else if (v == int_start)
                        return -EINVAL;

                while (*v == ' ' || *v == '\t')
                        v++;
                for (u = v; is_unit_char(*v); v++)
                        ;
                ulen = (size_t) (v - u);
                if (ulen == 0) {
                        /* Seconds; "5.5.5" or "5-3" is not a list of them. */
                        if (*v != '\0' && !isspace((unsigned char) *v))
                                return -EINVAL;
                        unit = USEC_PER_SEC;
                }
                for (size_t i = 0; ulen > 0 && i < ELEMENTSOF(timespan_units); i++)
                        if (strlen(timespan_units[i].name) == ulen && strncmp(timespan_units[i].name, u, ulen) == 0) {
                                unit = timespan_units[i].usec;
                                break;
                        }
                if (unit == 0)
                        return -EINVAL;

                if (n > UINT64_MAX / unit)
                        return -ERANGE;
                part = n * unit;
                if (frac_start) {
                        uint64_t f = fraction_usec(frac_start, frac_end, unit);

                        if (part > UINT64_MAX - f)
                                return -ERANGE;
                        part += f;
                        for (const char *c = frac_start; c < frac_end; c++)
                                nonzero = nonzero || *c != '0';
                }
                nonzero = nonzero || n > 0;
                if (total > UINT64_MAX - part)
                        return -ERANGE;
                total += part;
                any = true;
        }
        if (!any)
                return -EINVAL;
        /* UINT64_MAX is ROTATE_INTERVAL_INHERIT; a non-zero span below 1 µs would read as "never". */
        if (total == UINT64_MAX || (total == 0 && nonzero))
                return -ERANGE;
        *ret_usec = total;
        return 0;
}

const char *format_timespan(char *buf, size_t size, uint64_t usec) {
        static const struct {
                const char *name;
                uint64_t usec;
        } units[] = {
                { "w", 604800 * USEC_PER_SEC }, { "d", 86400 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },   { "s", USEC_PER_SEC },         { "ms", USEC_PER_MSEC },
                { "us", 1 },
        };
        size_t n = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (usec == 0) {
                snprintf(buf, size, "0");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(units) && usec > 0; i++) {
                uint64_t k = usec / units[i].usec;
                int w;

                if (k == 0)
                        continue;
                usec -= k * units[i].usec;
                w = snprintf(buf + n, size - n, "%s%" PRIu64 "%s", n > 0 ? " " : "", k, units[i].name);
                if (w < 0 || (size_t) w >= size - n) {
                        buf[n] = '\0'; /* cut after the last component that fits */
                        break;
                }
                n += (size_t) w;
        }
        return buf;
}
