/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client's check of a PCI address argument (device-address.h). */

#include <stddef.h>
#include <string.h>

#include "device-address.h"

/* The length of the run of hex digits at the start of s. */
static size_t hex_run(const char *s) {
        return strspn(s, "0123456789abcdefABCDEF");
}

bool device_address_is_valid(const char *s) {
        size_t domain;

        if (!s)
                return false;

        domain = hex_run(s);
        if (domain < 4 || domain > 8 || s[domain] != ':')
                return false;
        s += domain + 1;

        /* "BB:DD.F": exactly seven characters, the device number below 0x20. */
        return strlen(s) == 7 && hex_run(s) == 2 && s[2] == ':' && hex_run(s + 3) == 2 &&
                strchr("01", s[3]) && s[5] == '.' && s[6] >= '0' && s[6] <= '7';
}
