/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mkfixture: builds (or changes) a fake sysfs + /dev tree with tests/common/fixture.c, for the
 * demo and the integration scripts. The tree is kept; remove DIR when done. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "macro.h"
#include "string-util.h"

static void usage(FILE *out) {
        fputs("Usage: mkfixture DIR COMMAND...\n"
              "Commands, any number, applied in order:\n"
              "  pf ADDR DRIVER TOTALVFS NUMVFS GROUP   an SR-IOV PF (TOTALVFS 0: not SR-IOV capable),\n"
              "                                         VFs in groups GROUP+1...\n"
              "  dev ADDR DRIVER GROUP                  a plain device (GROUP -1: none)\n"
              "  driver ADDR DRIVER                     rebind a device\n"
              "  numvfs ADDR N                          destroy a PF's VFs and create N\n"
              "  remove ADDR                            hot-unplug a device (a PF with its VFs)\n"
              "DRIVER '-' means unbound. Then DIR/sys is the sysfs root and DIR/dev the dev root.\n",
              out);
}

static int parse_int(const char *s, long min, long max, long *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static const char *driver_arg(const char *s) {
        return streq(s, "-") ? NULL : s;
}

/* Runs the command at argv[0], returns how many arguments it took, or -errno. */
static int run_command(Fixture *f, int argc, char **argv) {
        long total, num, group;
        int r;

        if (streq(argv[0], "pf") && argc >= 6) {
                if (parse_int(argv[3], 0, 0xffff, &total) < 0 || parse_int(argv[4], 0, 0xffff, &num) < 0 ||
                    parse_int(argv[5], -1, 1 << 20, &group) < 0)
                        return -EINVAL;
                r = fixture_add_pf(f, argv[1], driver_arg(argv[2]), (unsigned) total, (unsigned) num,
                                   (int) group);
                return r < 0 ? r : 6;
        }
        if (streq(argv[0], "dev") && argc >= 4) {
                if (parse_int(argv[3], -1, 1 << 20, &group) < 0)
                        return -EINVAL;
                r = fixture_add_device(f, argv[1], driver_arg(argv[2]), (int) group);
                return r < 0 ? r : 4;
        }
        if (streq(argv[0], "driver") && argc >= 3) {
                r = fixture_set_driver(f, argv[1], driver_arg(argv[2]));
                return r < 0 ? r : 3;
        }
        if (streq(argv[0], "numvfs") && argc >= 3) {
                if (parse_int(argv[2], 0, 0xffff, &num) < 0)
                        return -EINVAL;
                r = fixture_set_num_vfs(f, argv[1], (unsigned) num);
                return r < 0 ? r : 3;
        }
        if (streq(argv[0], "remove") && argc >= 2) {
                r = fixture_remove_device(f, argv[1]);
                return r < 0 ? r : 2;
        }
        return -EINVAL;
}

int main(int argc, char **argv) {
        _cleanup_(fixture_freep) Fixture *f = NULL;
        int r;

        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                usage(stdout);
                return EXIT_SUCCESS;
        }
        if (argc < 2) {
                usage(stderr);
                return EXIT_FAILURE;
        }

        r = fixture_new(argv[1], &f);
        if (r < 0) {
                fprintf(stderr, "mkfixture: cannot create a fixture in %s: %s\n", argv[1], strerror(-r));
                return EXIT_FAILURE;
        }
        fixture_keep(f);

        for (int i = 2; i < argc;) {
                r = run_command(f, argc - i, argv + i);
                if (r == -EINVAL) {
                        fprintf(stderr, "mkfixture: invalid command or arguments at '%s'\n", argv[i]);
                        usage(stderr);
                        return EXIT_FAILURE;
                }
                if (r < 0) {
                        fprintf(stderr, "mkfixture: %s %s: %s\n", argv[i], argv[i + 1], strerror(-r));
                        return EXIT_FAILURE;
                }
                i += r;
        }
        return EXIT_SUCCESS;
}
