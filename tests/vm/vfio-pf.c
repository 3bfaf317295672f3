/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-pf: drives the daemon's own kernel boundary (daemon/vfio.c, through vfio.h) on a real
 * kernel, for the VM tests of each VFIO API (job-vfio-cdev.sh):
 *
 *   vfio-pf [--api=group|cdev] [--token UUID] [--readopt] [--probe] [--set UUID] [--hold] ADDR
 *
 * opens ADDR as vfio_pf_open() does for the daemon (the node found in /sys as the daemon finds
 * it: the IOMMU group, or vfio-dev/vfioN), with the token if given, and prints one line per
 * step, "OK" or the errno name: the open; with --readopt, vfio_pf_adopt() of copies of the fds
 * that crossed an execve() of this program (what systemd's fd store does across a restart: no
 * reopen, no rebind); --probe, vfio_pf_probe_token(); --set, vfio_pf_set_token(). --hold then
 * registers the request eventfd (vfio_pf_request_fd(), "OK" or the errno name) and keeps the PF
 * until stdin reaches EOF ("EOF") or the kernel asks for the device back ("REQUEST"; the fds are
 * closed at once, as the daemon does). Prints no token. Exit status: 0 every step succeeded,
 * 1 one failed, 2 bad usage. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "string-util.h"
#include "sysfs.h"
#include "token.h"
#include "vfio.h"

#define ADOPT_ENV "VFIO_PF_ADOPT" /* "API C G D": the fds handed across the execve() */

static const char *result(int r) {
        const char *n;

        if (r >= 0)
                return "OK";
        n = strerrorname_np(-r);
        return n ?: "EUNKNOWN";
}

static int step(const char *what, int r) {
        printf("%s\n", result(r));
        fflush(stdout);
        if (r < 0)
                fprintf(stderr, "vfio-pf: %s: %s\n", what, strerror(-r));
        return r;
}

static void usage(FILE *f) {
        fputs("Usage: vfio-pf [--api=group|cdev] [--token UUID] [--readopt] [--probe] [--set UUID] [--hold] ADDR\n",
              f);
}

/* Hands copies of the fds to a new image of this program, which adopts them: the VfioPf of this
 * one is freed (its fds closed) first, so only the copies keep the device open and bound. */
static int readopt(VfioPf **pf, char **argv) {
        char env[64];
        int fds[_VFIO_FD_MAX];

        for (size_t i = 0; i < _VFIO_FD_MAX; i++) {
                int fd = vfio_pf_fd(*pf, (VfioFdKind) i);

                fds[i] = fd < 0 ? -1 : fcntl(fd, F_DUPFD, 3); /* no O_CLOEXEC: they cross the exec */
                if (fd >= 0 && fds[i] < 0)
                        return negative_errno();
        }
        snprintf(env, sizeof env, "%d %d %d %d", (int) vfio_pf_api(*pf), fds[VFIO_FD_CONTAINER], fds[VFIO_FD_GROUP],
                 fds[VFIO_FD_DEVICE]);
        *pf = vfio_pf_free(*pf);
        if (setenv(ADOPT_ENV, env, 1) < 0)
                return negative_errno();
        execv("/proc/self/exe", argv);
        return negative_errno();
}

static int adopt(const char *address, const char *env, VfioPf **ret) {
        int api, fds[_VFIO_FD_MAX];

        if (sscanf(env, "%d %d %d %d", &api, &fds[VFIO_FD_CONTAINER], &fds[VFIO_FD_GROUP], &fds[VFIO_FD_DEVICE]) != 4)
                return -EINVAL;
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                if (fds[i] >= 0)
                        (void) fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        return vfio_pf_adopt((VfioApi) api, address, fds, ret);
}

static int hold(VfioPf **pf) {
        int efd;

        efd = step("register the request eventfd", vfio_pf_request_fd(*pf));
        if (efd < 0)
                return efd;
        for (;;) {
                struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = efd, .events = POLLIN } };
                char buf[256];

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (p[1].revents) {
                        *pf = vfio_pf_free(*pf);
                        printf("REQUEST\n");
                        return 0;
                }
                if (p[0].revents) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

                        if (n == 0 || (n < 0 && errno != EINTR)) {
                                printf("EOF\n");
                                return 0;
                        }
                }
        }
}

int main(int argc, char **argv) {
        enum { ARG_API = 0x100, ARG_TOKEN, ARG_READOPT, ARG_PROBE, ARG_SET, ARG_HOLD };
        static const struct option options[] = {
                { "api", required_argument, NULL, ARG_API },
                { "token", required_argument, NULL, ARG_TOKEN },
                { "readopt", no_argument, NULL, ARG_READOPT },
                { "probe", no_argument, NULL, ARG_PROBE },
                { "set", required_argument, NULL, ARG_SET },
                { "hold", no_argument, NULL, ARG_HOLD },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL;
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        _cleanup_token_ Token token = {}, set = {};
        bool has_token = false, do_readopt = false, probe = false, has_set = false, do_hold = false;
        VfioApi api = VFIO_API_GROUP;
        const char *adopted;
        int c, node, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_API:
                        if (streq(optarg, "group"))
                                api = VFIO_API_GROUP;
                        else if (streq(optarg, "cdev"))
                                api = VFIO_API_CDEV;
                        else {
                                usage(stderr);
                                return 2;
                        }
                        break;
                case ARG_TOKEN:
                case ARG_SET:
                        if (token_from_string(optarg, c == ARG_TOKEN ? &token : &set) < 0) {
                                fputs("vfio-pf: not a UUID\n", stderr);
                                return 2;
                        }
                        *(c == ARG_TOKEN ? &has_token : &has_set) = true;
                        break;
                case ARG_READOPT:
                        do_readopt = true;
                        break;
                case ARG_PROBE:
                        probe = true;
                        break;
                case ARG_HOLD:
                        do_hold = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind + 1 != argc) {
                usage(stderr);
                return 2;
        }

        adopted = getenv(ADOPT_ENV);
        if (adopted) {
                /* The second image: the open was reported by the first one. */
                r = step("adopt", adopt(argv[optind], adopted, &pf));
                if (r < 0)
                        return 1;
        } else {
                r = sysfs_device_read(SYSFS_DEFAULT_ROOT, argv[optind], &d);
                if (r < 0)
                        return step("read sysfs", r), 1;
                node = api == VFIO_API_CDEV ? d->vfio_cdev : d->iommu_group;
                if (node < 0)
                        return step(api == VFIO_API_CDEV ? "no vfio-dev/vfioN" : "no IOMMU group", -ENODEV), 1;
                r = step("open", vfio_pf_open("/dev", api, argv[optind], node, has_token ? token.bytes : NULL, &pf));
                if (r < 0)
                        return 1;
                if (do_readopt)
                        return step("re-exec", readopt(&pf, argv)), 1;
        }

        if (probe && step("probe", vfio_pf_probe_token(pf)) < 0)
                return 1;
        if (has_set && step("set", vfio_pf_set_token(pf, set.bytes)) < 0)
                return 1;
        if (do_hold && hold(&pf) < 0)
                return 1;
        return 0;
}
