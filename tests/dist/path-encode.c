/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* For tests/dist/test-man.sh: what sd_bus_path_encode() and sd_bus_path_decode() make of a PF
 * address or an object path, so the man page's examples are checked against sd-bus itself.
 *   path-encode encode PREFIX ADDRESS   prints the object path
 *   path-encode decode PREFIX PATH      prints the address (exit 1 if PATH is not below PREFIX) */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

int main(int argc, char *argv[]) {
        char *out = NULL;
        int r;

        if (argc != 4 || (strcmp(argv[1], "encode") != 0 && strcmp(argv[1], "decode") != 0)) {
                fprintf(stderr, "usage: %s encode|decode PREFIX ADDRESS|PATH\n", argv[0]);
                return 2;
        }
        if (strcmp(argv[1], "encode") == 0)
                r = sd_bus_path_encode(argv[2], argv[3], &out);
        else
                r = sd_bus_path_decode(argv[3], argv[2], &out);
        if (r <= 0 && !out) {
                fprintf(stderr, "%s: %s %s: %s\n", argv[0], argv[1], argv[3], r < 0 ? strerror(-r) : "not below the prefix");
                return 1;
        }
        printf("%s\n", out);
        free(out);
        return 0;
}
