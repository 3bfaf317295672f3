/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the PCI address grammar (pci_address_parse, pci_address_escape): every
 * address from the config or the bus goes through it, and its canonical form names objects,
 * fd-store entries and files, so a parsed address must be a fixed point. */

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "string-util.h"
#include "pci-address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_canonical(const char *a) {
        char again[PCI_ADDRESS_MAX], escaped[PCI_ADDRESS_MAX];
        size_t len = strnlen(a, PCI_ADDRESS_MAX);
        unsigned colons = 0, dots = 0;

        /* "ffffffff:ff:1f.7" is the longest: 16 characters. */
        if (len < STRLEN("0000:00:00.0") || len > STRLEN("ffffffff:ff:1f.7"))
                abort();
        for (size_t i = 0; i < len; i++) {
                if (a[i] == ':')
                        colons++;
                else if (a[i] == '.')
                        dots++;
                else if (!isdigit((unsigned char) a[i]) && !(a[i] >= 'a' && a[i] <= 'f'))
                        abort(); /* lower-case hex only */
        }
        if (colons != 2 || dots != 1)
                abort();

        /* A fixed point: the canonical form parses to itself. */
        memset(again, 0x5a, sizeof again);
        if (pci_address_parse(a, again) < 0 || !streq(again, a) || !pci_address_is_valid(a))
                abort();

        /* Escaping removes every ':' (systemd rejects them in fd-store names), changes nothing
         * else, and can be undone. */
        pci_address_escape(a, escaped);
        if (strlen(escaped) != len || strchr(escaped, ':'))
                abort();
        for (size_t i = 0; i < len; i++)
                if (escaped[i] != (a[i] == ':' ? '_' : a[i]))
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char ret[PCI_ADDRESS_MAX], lower_ret[PCI_ADDRESS_MAX], sentinel[PCI_ADDRESS_MAX];
        _cleanup_free_ char *s = NULL, *lower = NULL;
        int r, r_lower;

        /* The parser takes a C string; an embedded NUL just ends it early. */
        s = malloc(size + 1);
        lower = malloc(size + 1);
        if (!s || !lower)
                return 0;
        memcpy(s, data, size);
        s[size] = '\0';
        for (size_t i = 0; i <= size; i++)
                lower[i] = (char) tolower((unsigned char) s[i]);

        memset(ret, 0xa5, sizeof ret);
        memset(sentinel, 0xa5, sizeof sentinel);
        r = pci_address_parse(s, ret);
        if (r < 0) {
                /* Refused: -EINVAL, ret untouched, and is_valid agrees. */
                if (r != -EINVAL || memcmp(ret, sentinel, sizeof ret) != 0 || pci_address_is_valid(s))
                        abort();
        } else {
                if (r != 0 || !pci_address_is_valid(s))
                        abort();
                check_canonical(ret);
        }

        /* Hex digits are case-insensitive: the lower-cased input means the same address. */
        r_lower = pci_address_parse(lower, lower_ret);
        if ((r < 0) != (r_lower < 0))
                abort();
        if (r >= 0 && !streq(ret, lower_ret))
                abort();
        return 0;
}
