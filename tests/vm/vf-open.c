/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vf-open: open one PCI device through the legacy VFIO group/container API, the way QEMU,
 * DPDK and SPDK do, and print what the kernel said: "OK" or the errno name ("EACCES").
 * The VM tests use it to ask the real vfio-pci driver; it prints no token.
 *
 *   vf-open [--token UUID] [--probe] [--set UUID] [--hold] NAME
 *
 * NAME is the device name given to VFIO_GROUP_GET_DEVICE_FD: "ADDR" or "ADDR vf_token=UUID"
 * (any text after the address goes to the kernel as is); --token UUID appends
 * " vf_token=UUID". After the open, --probe issues VFIO_DEVICE_FEATURE PROBE|SET|PCI_VF_TOKEN
 * and --set UUID issues SET|PCI_VF_TOKEN with that token. --hold keeps every fd open after
 * printing the result, until stdin reaches EOF or a SIGTERM/SIGINT/SIGHUP arrives, so a test
 * can hold a VF busy while it does something else; meanwhile each SIGUSR1 issues
 * VFIO_DEVICE_GET_INFO on the held device fd and prints one more line, "OK" or the errno name,
 * so a test can ask whether the fd still works (after a token rotation, a daemon restart).
 *
 * Exit status: 0 when every step succeeded, 1 when one failed (the errno name is printed and
 * the failing step is named on stderr), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <linux/vfio.h>

#define UUID_LEN 16

static const char *errno_name(int e) {
        const char *n = strerrorname_np(e);
        return n ? n : "EUNKNOWN";
}

/* Reports a failed step; returns the exit status for it. */
static int fail(const char *step, int e) {
        fprintf(stderr, "vf-open: %s: %s\n", step, strerror(e));
        printf("%s\n", errno_name(e));
        return 1;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Parses the canonical 8-4-4-4-12 form into 16 bytes, in the byte order the kernel's
 * uuid_parse() uses, so the same string means the same token to the kernel either way. */
static int uuid_parse_bytes(const char *s, unsigned char ret[UUID_LEN]) {
        unsigned char u[UUID_LEN];
        size_t i = 0;

        if (strlen(s) != 36)
                return -EINVAL;
        for (const char *p = s; *p; ) {
                int hi, lo;

                if (p - s == 8 || p - s == 13 || p - s == 18 || p - s == 23) {
                        if (*p != '-')
                                return -EINVAL;
                        p++;
                        continue;
                }
                hi = hexval(p[0]);
                lo = hexval(p[1]);
                if (hi < 0 || lo < 0 || i >= UUID_LEN)
                        return -EINVAL;
                u[i++] = (unsigned char) (hi << 4 | lo);
                p += 2;
        }
        if (i != UUID_LEN)
                return -EINVAL;
        memcpy(ret, u, UUID_LEN);
        return 0;
}

static int feature_vf_token(int device_fd, unsigned flags, const unsigned char *token) {
        unsigned char buf[sizeof(struct vfio_device_feature) + UUID_LEN] = {};
        struct vfio_device_feature *f = (struct vfio_device_feature *) buf;
        int r;

        f->argsz = sizeof(buf);
        f->flags = flags | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
        if (token)
                memcpy(f->data, token, UUID_LEN);
        r = ioctl(device_fd, VFIO_DEVICE_FEATURE, f);
        explicit_bzero(buf, sizeof(buf));
        return r < 0 ? -errno : 0;
}

/* The device's IOMMU group number, from sysfs. */
static int device_group(const char *addr, int *ret_group) {
        char path[PATH_MAX], link[PATH_MAX];
        const char *base;
        ssize_t n;
        char *end;
        long g;

        if (snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr) >= (int) sizeof(path))
                return -ENAMETOOLONG;
        n = readlink(path, link, sizeof(link) - 1);
        if (n < 0)
                return -errno;
        link[n] = 0;
        base = strrchr(link, '/');
        base = base ? base + 1 : link;
        errno = 0;
        g = strtol(base, &end, 10);
        if (errno || *end || g < 0 || g > INT_MAX)
                return -EINVAL;
        *ret_group = (int) g;
        return 0;
}

/* Asks the kernel something about the held device: proof that its fd still works. */
static void report_device(int device_fd) {
        struct vfio_device_info info = { .argsz = sizeof(info) };

        if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) < 0)
                printf("%s\n", errno_name(errno));
        else
                printf("OK\n");
        fflush(stdout);
}

static void hold_signals(sigset_t *ret) {
        sigemptyset(ret);
        sigaddset(ret, SIGTERM);
        sigaddset(ret, SIGINT);
        sigaddset(ret, SIGHUP);
        sigaddset(ret, SIGUSR1);
}

/* Waits for EOF on stdin or a terminating signal, the fds open meanwhile; answers SIGUSR1.
 * The signals are blocked from the start (see main()), so one sent as soon as "OK" shows
 * waits for us instead of killing us, and a signalfd loses none between a check and the wait. */
static int hold(int device_fd) {
        sigset_t mask;
        int sfd;

        hold_signals(&mask);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0)
                return -errno;
        for (;;) {
                struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
                struct signalfd_siginfo si;
                char b[256];

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents) {
                        if (read(sfd, &si, sizeof(si)) != sizeof(si))
                                return -EIO;
                        if (si.ssi_signo != SIGUSR1)
                                return 0;
                        report_device(device_fd);
                }
                if (p[0].revents) {
                        ssize_t n = read(STDIN_FILENO, b, sizeof(b));
                        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                                return 0;
                }
        }
}

static void usage(FILE *f) {
        fprintf(f, "Usage: vf-open [--token UUID] [--probe] [--set UUID] [--hold] NAME\n"
                   "  NAME is \"ADDR\" or \"ADDR vf_token=UUID\"; prints OK or the errno name.\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "token", required_argument, NULL, 't' },
                { "probe", no_argument,       NULL, 'p' },
                { "set",   required_argument, NULL, 's' },
                { "hold",  no_argument,       NULL, 'H' },
                { "help",  no_argument,       NULL, 'h' },
                {}
        };
        const char *token = NULL, *set = NULL;
        unsigned char set_bytes[UUID_LEN];
        char addr[64], name[256];
        bool probe = false, do_hold = false;
        int c, r, group, container_fd, group_fd, device_fd;
        struct vfio_group_status status = { .argsz = sizeof(status) };
        char path[64];
        size_t alen;

        while ((c = getopt_long(argc, argv, "t:ps:Hh", options, NULL)) >= 0)
                switch (c) {
                case 't': token = optarg; break;
                case 'p': probe = true; break;
                case 's': set = optarg; break;
                case 'H': do_hold = true; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        if (optind != argc - 1) {
                usage(stderr);
                return 2;
        }
        if (do_hold) {
                sigset_t mask;

                hold_signals(&mask);
                if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                        return fail("sigprocmask", errno);
        }
        if (set && uuid_parse_bytes(set, set_bytes) < 0) {
                fprintf(stderr, "vf-open: --set wants a UUID\n");
                return 2;
        }

        /* The address is the name up to the first blank; the kernel parses the rest. */
        alen = strcspn(argv[optind], " \t");
        if (alen == 0 || alen >= sizeof(addr)) {
                usage(stderr);
                return 2;
        }
        memcpy(addr, argv[optind], alen);
        addr[alen] = 0;
        if (snprintf(name, sizeof(name), "%s%s%s", argv[optind], token ? " vf_token=" : "",
                     token ?: "") >= (int) sizeof(name)) {
                fprintf(stderr, "vf-open: name too long\n");
                return 2;
        }

        r = device_group(addr, &group);
        if (r < 0)
                return fail("iommu_group", -r);

        container_fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        if (container_fd < 0)
                return fail("open /dev/vfio/vfio", errno);
        if (ioctl(container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
                return fail("VFIO_GET_API_VERSION", EPROTO);
        if (ioctl(container_fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
                return fail("VFIO_CHECK_EXTENSION(TYPE1v2)", ENOTSUP);

        snprintf(path, sizeof(path), "/dev/vfio/%d", group);
        group_fd = open(path, O_RDWR | O_CLOEXEC);
        if (group_fd < 0)
                return fail(path, errno);
        if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &status) < 0)
                return fail("VFIO_GROUP_GET_STATUS", errno);
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                /* Some device in the group is not bound to vfio: the kernel would refuse. */
                return fail("group not viable", EPERM);
        if (ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd) < 0)
                return fail("VFIO_GROUP_SET_CONTAINER", errno);
        if (ioctl(container_fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
                return fail("VFIO_SET_IOMMU", errno);

        device_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name);
        explicit_bzero(name, sizeof(name));
        if (device_fd < 0)
                return fail("VFIO_GROUP_GET_DEVICE_FD", errno);

        if (probe) {
                r = feature_vf_token(device_fd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET, NULL);
                if (r < 0)
                        return fail("VFIO_DEVICE_FEATURE PROBE|SET|PCI_VF_TOKEN", -r);
        }
        if (set) {
                r = feature_vf_token(device_fd, VFIO_DEVICE_FEATURE_SET, set_bytes);
                explicit_bzero(set_bytes, sizeof(set_bytes));
                if (r < 0)
                        return fail("VFIO_DEVICE_FEATURE SET|PCI_VF_TOKEN", -r);
        }

        printf("OK\n");
        fflush(stdout);
        if (do_hold) {
                r = hold(device_fd);
                if (r < 0) {
                        fprintf(stderr, "vf-open: hold: %s\n", strerror(-r));
                        return 1;
                }
        }
        return 0;
}
