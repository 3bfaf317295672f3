/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the grammar of PCI addresses. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pci-address.h"

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        c = (char) tolower((unsigned char) c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* Reads exactly n..max hex digits; returns how many were read, or -1. */
static int read_hex(const char *s, int min, int max, unsigned *ret) {
        unsigned v = 0;
        int n = 0;

        while (n < max && hexval(s[n]) >= 0) {
                v = v * 16 + (unsigned) hexval(s[n]);
                n++;
        }
        if (n < min)
                return -1;
        *ret = v;
        return n;
}

int pci_address_parse(const char *s, char ret[static PCI_ADDRESS_MAX]) {
        unsigned domain, bus, dev, fn;
        char buf[PCI_ADDRESS_MAX];
        const char *p = s;
        int n;

        if (!s)
                return -EINVAL;
        n = read_hex(p, 4, 8, &domain);
        if (n < 0 || p[n] != ':')
                return -EINVAL;
        p += n + 1;
        n = read_hex(p, 2, 2, &bus);
        if (n < 0 || p[n] != ':')
                return -EINVAL;
        p += n + 1;
        n = read_hex(p, 2, 2, &dev);
        if (n < 0 || p[n] != '.' || dev > 0x1f)
                return -EINVAL;
        p += n + 1;
        if (*p < '0' || *p > '7' || p[1] != '\0')
                return -EINVAL;
        fn = (unsigned) (*p - '0');

        /* Keep the domain's width as written (the kernel prints at least 4 digits). */
        if (domain > 0xffff)
                snprintf(buf, sizeof buf, "%x:%02x:%02x.%u", domain, bus, dev, fn);
        else
                snprintf(buf, sizeof buf, "%04x:%02x:%02x.%u", domain, bus, dev, fn);
        memcpy(ret, buf, PCI_ADDRESS_MAX);
        return 0;
}

bool pci_address_is_valid(const char *s) {
        char buf[PCI_ADDRESS_MAX];

        return pci_address_parse(s, buf) >= 0;
}

void pci_address_escape(const char *address, char ret[static PCI_ADDRESS_MAX]) {
        size_t i;

        for (i = 0; address[i] && i < PCI_ADDRESS_MAX - 1; i++)
                ret[i] = address[i] == ':' ? '_' : address[i];
        ret[i] = '\0';
}
