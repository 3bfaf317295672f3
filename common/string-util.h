/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* String comparisons and compile-time lengths. */

#include <stdbool.h>
#include <string.h>

#define STRLEN(x) (sizeof("" x "") - 1)

#define streq(a, b) (strcmp((a), (b)) == 0)

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static inline bool isempty_str(const char *s) {
        return !s || !*s;
}
