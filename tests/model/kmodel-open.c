/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kmodel-open: opens a device through the kernel model's group API the way a VMM does (QEMU's
 * vfio_get_device(), DPDK's rte_vfio_setup_device()), for the integration scripts:
 *
 *     kmodel-open DEV_ROOT ADDR [TOKEN] [--hold]
 *
 * asks for "ADDR" or "ADDR vf_token=TOKEN" and prints "OK" or the errno name of the step that
 * failed (e.g. "EACCES" for a missing or wrong token). With --hold it keeps the device fd open
 * until its stdin reaches EOF, as a running VM keeps its VF, and then uses the fd once more
 * (VFIO_DEVICE_GET_INFO) and prints "HELD OK" or "HELD <errno name>": whether the open device
 * kept working through whatever happened meanwhile (a rotation, a daemon restart). And, for the
 * tests' own checks,
 *
 *     kmodel-open --peek DEV_ROOT PF
 *
 * prints the PF's current token as the model holds it (what no kernel would tell anyone).
 *
 * Exit status: 0 opened (and still working, with --hold) or peeked, 1 the model refused (errno
 * name on stdout), 2 usage. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "kmodel.h"
#include "macro.h"
#include "pci-address.h"
#include "string-util.h"
#include "sysfs.h"
#include "token.h"

#define NAME_MAX_LEN (PCI_ADDRESS_MAX + STRLEN(" vf_token=") + TOKEN_STRING_MAX)

static void usage(FILE *out) {
        fputs("Usage: kmodel-open DEV_ROOT ADDR [TOKEN] [--hold]\n"
              "       kmodel-open --peek DEV_ROOT PF\n"
              "Opens ADDR through the kernel model's group API (\"ADDR\" or \"ADDR vf_token=TOKEN\") and\n"
              "prints OK or the errno name; --hold keeps the device open until stdin closes, then\n"
              "prints HELD OK if the open device still works (or HELD and the errno name).\n"
              "--peek prints the PF's current VF token as the model holds it.\n",
              out);
}

static const char *errno_name(int r) {
        const char *n = strerrorname_np(r < 0 ? -r : r);

        return n ?: "EIO";
}

/* The IOMMU group of a device, from the sysfs tree the model itself reads. */
static int device_group(const char *dev_root, const char *address, int *ret) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        char sys_root[4096];
        int r;

        snprintf(sys_root, sizeof sys_root, "%s/vfio/" KMODEL_SYSFS_LINK, dev_root);
        r = sysfs_device_read(sys_root, address, &d);
        if (r < 0)
                return r;
        if (d->iommu_group < 0)
                return -ENODEV;
        *ret = d->iommu_group;
        return 0;
}

/* The VMM's sequence: container, API check, group, viable?, container attach, IOMMU type, then
 * the device by name. Returns the device fd; the container and group fds are closed on return,
 * which the open device outlives as in the kernel. */
static int open_device(const char *dev_root, const char *address, const char *token) {
        struct vfio_group_status status = { .argsz = sizeof status };
        _cleanup_close_ int container = -1, group = -1;
        char name[NAME_MAX_LEN];
        int n, fd, r;

        r = device_group(dev_root, address, &n);
        if (r < 0)
                return r;

        container = kmodel_open_container(dev_root);
        if (container < 0)
                return container;
        r = kmodel_get_api_version(container);
        if (r < 0)
                return r;
        if (r != VFIO_API_VERSION)
                return -EPROTO;
        r = kmodel_check_extension(container, VFIO_TYPE1v2_IOMMU);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;

        group = kmodel_open_group(dev_root, n);
        if (group < 0)
                return group;
        r = kmodel_group_get_status(group, &status);
        if (r < 0)
                return r;
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                return -EXDEV;
        r = kmodel_group_set_container(group, container);
        if (r < 0)
                return r;
        r = kmodel_set_iommu(container, VFIO_TYPE1v2_IOMMU);
        if (r < 0)
                return r;

        if (token)
                snprintf(name, sizeof name, "%s vf_token=%s", address, token);
        else
                snprintf(name, sizeof name, "%s", address);
        fd = kmodel_group_get_device_fd(group, name);
        explicit_bzero(name, sizeof name);
        return fd;
}

static int peek(const char *dev_root, const char *pf) {
        _cleanup_token_ Token t = {};
        _cleanup_token_string_ TokenString s = {};
        int r;

        r = kmodel_peek_token(dev_root, pf, &t);
        if (r < 0) {
                printf("%s\n", errno_name(r));
                return EXIT_FAILURE;
        }
        token_to_string(&t, &s);
        printf("%s\n", s.s);
        return EXIT_SUCCESS;
}

/* Until EOF on stdin: the caller decides when the "VM" stops. */
static void wait_stdin_eof(void) {
        char buf[256];

        for (;;) {
                ssize_t k = read(STDIN_FILENO, buf, sizeof buf);

                if (k == 0 || (k < 0 && errno != EINTR))
                        return;
        }
}

int main(int argc, char **argv) {
        const char *args[3] = {};
        _cleanup_close_ int fd = -1;
        bool hold = false;
        size_t n = 0;

        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                usage(stdout);
                return EXIT_SUCCESS;
        }
        if (argc == 4 && streq(argv[1], "--peek"))
                return peek(argv[2], argv[3]);

        for (int i = 1; i < argc; i++) {
                if (streq(argv[i], "--hold"))
                        hold = true;
                else if (n < ELEMENTSOF(args))
                        args[n++] = argv[i];
                else {
                        usage(stderr);
                        return 2;
                }
        }
        if (n < 2) {
                usage(stderr);
                return 2;
        }

        fd = open_device(args[0], args[1], args[2]);
        if (fd < 0) {
                printf("%s\n", errno_name(fd));
                return EXIT_FAILURE;
        }
        printf("OK\n");
        fflush(stdout);
        if (hold) {
                struct vfio_device_info info = { .argsz = sizeof info };
                int r;

                wait_stdin_eof();
                r = kmodel_device_get_info(fd, &info);
                printf("HELD %s\n", r < 0 ? errno_name(r) : "OK");
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }
        return EXIT_SUCCESS;
}
