/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the value grammars of the configuration (booleans, counts, time spans). */

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "config.h"
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

/* A systemd-style time span in whole seconds: "86400", "90min", "1d", "1h 30min", "1h30min".
 * A number without a unit is seconds. Units are case-sensitive as in systemd (there "M" is a
 * month, which we do not take). */
int parse_timespan(const char *v, uint64_t *ret_usec) {
        static const struct {
                const char *name;
                uint64_t sec;
        } units[] = {
                { "",        1 },      { "s",     1 },      { "sec",     1 },      { "secs",    1 },
                { "second",  1 },      { "seconds", 1 },    { "m",       60 },     { "min",     60 },
                { "mins",    60 },     { "minute", 60 },    { "minutes", 60 },     { "h",       3600 },
                { "hr",      3600 },   { "hour",  3600 },   { "hours",   3600 },   { "d",       86400 },
                { "day",     86400 },  { "days",  86400 },  { "w",       604800 }, { "week",    604800 },
                { "weeks",   604800 },
        };
        uint64_t total = 0;
        bool any = false;

        for (;;) {
                uint64_t n, mult = 0;
                const char *u;
                size_t ulen;
                bool found = false;
                int r;

                while (isspace((unsigned char) *v))
                        v++;
                if (*v == '\0')
                        break;

                r = parse_digits(&v, &n);
                if (r < 0)
                        return r;
                while (*v == ' ' || *v == '\t')
                        v++;
                for (u = v; isalpha((unsigned char) *v); v++)
                        ;
                ulen = (size_t) (v - u);
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (strlen(units[i].name) == ulen && strncmp(units[i].name, u, ulen) == 0) {
                                mult = units[i].sec;
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;
                if (n > UINT64_MAX / mult || total > UINT64_MAX - n * mult)
                        return -ERANGE;
                total += n * mult;
                any = true;
        }
        if (!any)
                return -EINVAL;
        /* UINT64_MAX is odd, so no whole number of seconds ever equals ROTATE_INTERVAL_INHERIT. */
        if (total > UINT64_MAX / USEC_PER_SEC)
                return -ERANGE;
        *ret_usec = total * USEC_PER_SEC;
        return 0;
}
