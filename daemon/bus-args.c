/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the argument checks of the bus methods (bounds and grammar of what callers send). */

#include <string.h>

#include "bus-args.h"

int bus_read_device_arg(sd_bus_message *m, char ret[static PCI_ADDRESS_MAX], sd_bus_error *error) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        if (strlen(s) > BUS_DEVICE_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Device address is too long (%zu bytes, at most %d).", strlen(s),
                                         BUS_DEVICE_MAX);
        if (pci_address_parse(s, ret) < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Malformed PCI address '%s': expected DDDD:BB:DD.F, e.g. 0000:3b:02.3.", s);
        return 0;
}

/* No option keys are defined yet: any key is refused, so that a future key is never silently
 * ignored by an older daemon. */
int bus_read_options_arg(sd_bus_message *m, sd_bus_error *error) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;
                size_t len;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                /* Echo at most 64 bytes of the key, cut at a character boundary: an error message
                 * that is not valid UTF-8 cannot be put in a reply, and the caller would get none. */
                len = strnlen(key, 64);
                while (len > 0 && ((unsigned char) key[len] & 0xc0) == 0x80)
                        len--;
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%.*s'.", (int) len,
                                         key);
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}
