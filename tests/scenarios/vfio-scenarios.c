/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-scenarios: runs the VFIO scenario list (scenarios.h) against the kernel model or a real
 * kernel and prints one line per check, "name: OK" or "name: EACCES". The VM tests run it on both
 * and diff the outputs; --check compares a run with the expected table instead. Prints no token. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "macro.h"
#include "scenarios.h"
#include "string-util.h"

static void usage(FILE *out) {
        fputs("Usage: vfio-scenarios --backend=model [--base=DIR] [OPTIONS]\n"
              "       vfio-scenarios --backend=kernel --pf=ADDR [--other-vf=ADDR] [--plain=ADDR]\n"
              "                      [--dev=DIR] [--sys=DIR] [OPTIONS]\n"
              "Backends:\n"
              "  model    the kernel model, in a fixture under DIR (built if absent and kept;\n"
              "           without --base a temporary one): PF 0000:01:00.0, VFs .1 .2, and the\n"
              "           optional devices 0000:02:00.1 and 0000:03:00.0\n"
              "  kernel   real VFIO ioctls: a PF on vfio-pci with two VFs on vfio-pci (the first\n"
              "           two are used); opening the PF resets it, and resets may drop VFs on\n"
              "           some devices (empty the PF's reset_method first)\n"
              "Options:\n"
              "  --other-vf=ADDR  a VF on vfio-pci whose PF is on another driver (kernel)\n"
              "  --plain=ADDR     a device on vfio-pci that is neither PF nor VF (kernel)\n"
              "  --basic          only the checks that need the PF and its two VFs\n"
              "  --cdev=yes|no|auto  run the stories of the iommufd cdev API (auto, the default:\n"
              "                   on the model always, on a kernel when /dev/iommu and the PF's\n"
              "                   cdev exist; yes fails on a kernel without them)\n"
              "  --expected       print the expected results instead of running\n"
              "  --check          compare with the expected results: differences on stderr,\n"
              "                   exit status 1 if there are any\n",
              out);
}

int main(int argc, char **argv) {
        enum { ARG_BACKEND = 0x100, ARG_BASE, ARG_PF, ARG_OTHER_VF, ARG_PLAIN, ARG_DEV, ARG_SYS, ARG_BASIC,
               ARG_CDEV, ARG_EXPECTED, ARG_CHECK };
        static const struct option options[] = {
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "base", required_argument, NULL, ARG_BASE },
                { "pf", required_argument, NULL, ARG_PF },
                { "other-vf", required_argument, NULL, ARG_OTHER_VF },
                { "plain", required_argument, NULL, ARG_PLAIN },
                { "dev", required_argument, NULL, ARG_DEV },
                { "sys", required_argument, NULL, ARG_SYS },
                { "basic", no_argument, NULL, ARG_BASIC },
                { "cdev", required_argument, NULL, ARG_CDEV },
                { "expected", no_argument, NULL, ARG_EXPECTED },
                { "check", no_argument, NULL, ARG_CHECK },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *backend = NULL, *base = NULL, *pf = NULL, *other_vf = NULL, *plain = NULL;
        const char *dev = "/dev", *sys = "/sys", *cdev = "auto";
        bool basic = false, expected = false, check = false;
        _cleanup_(fixture_freep) Fixture *f = NULL;
        ScenarioStorage storage = {};
        ScenarioEnv env = {};
        ScenarioRun *run = NULL;
        size_t differences;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_BACKEND:
                        backend = optarg;
                        break;
                case ARG_BASE:
                        base = optarg;
                        break;
                case ARG_PF:
                        pf = optarg;
                        break;
                case ARG_OTHER_VF:
                        other_vf = optarg;
                        break;
                case ARG_PLAIN:
                        plain = optarg;
                        break;
                case ARG_DEV:
                        dev = optarg;
                        break;
                case ARG_SYS:
                        sys = optarg;
                        break;
                case ARG_BASIC:
                        basic = true;
                        break;
                case ARG_CDEV:
                        cdev = optarg;
                        break;
                case ARG_EXPECTED:
                        expected = true;
                        break;
                case ARG_CHECK:
                        check = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc || !backend || (!streq(cdev, "yes") && !streq(cdev, "no") && !streq(cdev, "auto"))) {
                usage(stderr);
                return 2;
        }

        if (streq(backend, "model")) {
                r = fixture_new(base, &f);
                if (r < 0) {
                        fprintf(stderr, "Failed to create the fixture: %s\n", strerror(-r));
                        return 2;
                }
                if (base)
                        fixture_keep(f);
                r = scenario_fixture_setup(f, &env);
                if (r < 0) {
                        fprintf(stderr, "Failed to set up the fixture: %s\n", strerror(-r));
                        return 2;
                }
        } else if (streq(backend, "kernel")) {
                if (!pf) {
                        fputs("--backend=kernel needs --pf=ADDR\n", stderr);
                        return 2;
                }
                env = (ScenarioEnv) {
                        .ops = &scenario_ops_kernel,
                        .dev_root = dev,
                        .sys_root = sys,
                        .other_vf = other_vf,
                        .plain = plain,
                };
                r = scenario_env_discover(&env, pf, &storage);
                if (r < 0) {
                        fprintf(stderr, "%s is not a PF on vfio-pci with two VFs on vfio-pci: %s\n", pf,
                                strerror(-r));
                        scenario_storage_free(&storage);
                        return 2;
                }
        } else {
                usage(stderr);
                return 2;
        }
        env.basic = basic;
        if (streq(cdev, "no"))
                env.cdev = false;
        else if (streq(backend, "kernel")) {
                env.cdev = scenario_env_has_cdev(&env);
                if (!env.cdev && streq(cdev, "yes")) {
                        fprintf(stderr, "--cdev=yes: no %s/iommu, or no cdev for %s under %s\n", env.dev_root,
                                env.pf, env.sys_root);
                        scenario_storage_free(&storage);
                        return 2;
                }
        }

        if (expected) {
                scenarios_print_expected(&env, stdout);
                scenario_storage_free(&storage);
                return 0;
        }

        run = calloc(1, sizeof(ScenarioRun));
        if (!run) {
                scenario_storage_free(&storage);
                return 2;
        }
        r = scenarios_run(&env, stdout, run);
        if (r < 0) {
                fprintf(stderr, "Failed to run the scenarios: %s\n", strerror(-r));
                free(run);
                scenario_storage_free(&storage);
                return 2;
        }
        differences = check ? scenarios_compare(&env, run, stderr) : 0;
        free(run);
        scenario_storage_free(&storage);
        return differences > 0 ? 1 : 0;
}
