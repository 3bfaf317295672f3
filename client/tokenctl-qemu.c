/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl qemu QEMU [ARG...]: runs QEMU in place of this process (same pid) with the VF
 * token of every vfio-pci device that needs one, and that token in no argv or environment.
 *
 * A device needs a token when the kernel asks for one: its host= is a VF of a PF bound to
 * vfio-pci, or such a PF with VFs enabled (sysfs says which). For each such device, one lease is
 * acquired on one bus connection; the device leaves the command line and reaches QEMU as a
 * [device] section of a -readconfig file that QEMU reads from a sealed memfd it inherits, vf-token
 * included (qemu-args.c makes the new command line). The bus connection is inherited too: it
 * closes when QEMU exits, and with it the daemon ends every lease, so the leases last exactly as
 * long as QEMU. A command line without such a device runs QEMU as it is, without a bus.
 *
 * Any refusal stops QEMU from starting, with one line naming the device, its PF and the reason
 * and the exit code of that reason. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "fd-util.h"
#include "io-util.h"
#include "macro.h"
#include "polkit-agent.h"
#include "qemu-args.h"
#include "string-util.h"
#include "strv.h"
#include "tokenctl.h"
#include "vfio-token.h"

extern char **environ;

/* vf-token came with QEMU 8.1; 8.1.0 to 8.1.2 overflow a stack buffer when it is set. */
#define QEMU_VERSION_VF_TOKEN 80100
#define QEMU_VERSION_VF_TOKEN_FIXED 80103
#define VERSION_PROBE_TIMEOUT_MSEC 10000
#define VERSION_OUTPUT_MAX 4096

/* The exit code of a QEMU that cannot be executed, as shells and `exec` have it. */
#define EXIT_EXEC_FAILED 127

/* What the verb keeps for each -device option (by index): its host and PF, and for a device
 * moved into a section, its token and memfd. */
typedef struct Slot {
        char host[PCI_ADDRESS_MAX];
        char pf[PCI_ADDRESS_MAX];
        char token[VFIO_TOKEN_STRING_MAX];
        int fd;
} Slot;

typedef struct Slots {
        Slot *v;
        size_t n;
} Slots;

static void slots_done(Slots *s) {
        for (size_t i = 0; s->v && i < s->n; i++)
                safe_close(s->v[i].fd);
        if (s->v)
                explicit_bzero(s->v, s->n * sizeof(Slot));
        free(s->v);
}

/* The name a sysfs symbolic link points to (its last element), or NULL. */
static char *link_name(const char *path) {
        char buf[PATH_MAX];
        const char *slash;
        ssize_t n;

        n = readlink(path, buf, sizeof(buf) - 1);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        slash = strrchr(buf, '/');
        return strdup(slash ? slash + 1 : buf);
}

/* The driver of the device at addr is vfio-pci. */
static bool on_vfio_pci(const char *sysfs, const char *addr) {
        _cleanup_free_ char *path = NULL, *driver = NULL;

        if (asprintf(&path, "%s/bus/pci/devices/%s/driver", sysfs, addr) < 0)
                return false;
        driver = link_name(path);
        return streq_ptr(driver, "vfio-pci");
}

/* Whether opening addr takes the VF token of a PF, as the kernel decides it: addr is a VF of a
 * PF bound to vfio-pci, or such a PF with VFs enabled. Writes that PF to ret_pf. Devices of
 * other kinds take no token (the kernel refuses one), so QEMU gets them unchanged. */
static bool needs_token(const char *addr, char ret_pf[PCI_ADDRESS_MAX]) {
        _cleanup_free_ char *path = NULL, *pf = NULL, *numvfs = NULL;
        /* For tests, as for the daemon: a tree standing in for /sys. */
        const char *sysfs = getenv("VFIO_TOKEND_SYSFS_ROOT") ?: "/sys";
        char text[16] = "";
        FILE *f;

        if (asprintf(&path, "%s/bus/pci/devices/%s/physfn", sysfs, addr) < 0)
                return false;
        pf = link_name(path);
        if (pf) {
                if (strlen(pf) >= PCI_ADDRESS_MAX || !on_vfio_pci(sysfs, pf))
                        return false;
                strcpy(ret_pf, pf);
                return true;
        }

        if (asprintf(&numvfs, "%s/bus/pci/devices/%s/sriov_numvfs", sysfs, addr) < 0)
                return false;
        f = fopen(numvfs, "re");
        if (!f)
                return false;
        if (!fgets(text, sizeof(text), f))
                text[0] = '\0';
        fclose(f);
        if (atoi(text) <= 0 || !on_vfio_pci(sysfs, addr))
                return false;
        strcpy(ret_pf, addr);
        return true;
}

/* Runs `qemu -version` and reads what it prints (at most VERSION_OUTPUT_MAX - 1 bytes, for at
 * most VERSION_PROBE_TIMEOUT_MSEC). */
static int run_version(const char *qemu, char *buf, size_t size) {
        char *argv[] = { (char *) qemu, (char *) "-version", NULL };
        _cleanup_close_ int rfd = -1, wfd = -1;
        posix_spawn_file_actions_t fa;
        struct timespec start, now;
        size_t n = 0;
        pid_t pid;
        int fds[2], status, r;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        rfd = fds[0];
        wfd = fds[1];

        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, wfd, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawnp(&pid, qemu, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        wfd = safe_close(wfd);

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                struct pollfd p = { .fd = rfd, .events = POLLIN };
                long left;
                ssize_t k;

                clock_gettime(CLOCK_MONOTONIC, &now);
                left = VERSION_PROBE_TIMEOUT_MSEC - ((now.tv_sec - start.tv_sec) * 1000 +
                                                     (now.tv_nsec - start.tv_nsec) / 1000000);
                if (left <= 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = poll(&p, 1, (int) left);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        r = negative_errno();
                        break;
                }
                if (r == 0)
                        continue;
                k = read(rfd, buf + n, size - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        r = negative_errno();
                        break;
                }
                n += (size_t) k;
                if (k == 0 || n == size - 1) {
                        r = 0;
                        break;
                }
        }
        buf[n] = '\0';
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (r >= 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                r = -EIO;
        return r;
}

/* QEMU must know vf-token and set it safely. Returns an exit code. */
static int check_qemu_version(const char *qemu) {
        char out[VERSION_OUTPUT_MAX];
        unsigned v;
        int r;

        r = run_version(qemu, out, sizeof(out));
        if (r < 0)
                return tokenctl_fail(r, NULL, "cannot start QEMU: '%s -version' failed", qemu);
        if (qemu_version_parse(out, &v) < 0)
                return tokenctl_error(EXIT_FAIL, "cannot start QEMU: '%s -version' does not say which version it is",
                                      qemu);
        if (v < QEMU_VERSION_VF_TOKEN)
                return tokenctl_error(EXIT_FAIL,
                                      "cannot start QEMU: %s is QEMU %u.%u.%u, which cannot take a VF token "
                                      "(vf-token came with 8.1; 8.1.3 or later is needed)",
                                      qemu, v / 10000, v / 100 % 100, v % 100);
        if (v < QEMU_VERSION_VF_TOKEN_FIXED)
                return tokenctl_error(EXIT_FAIL,
                                      "cannot start QEMU: %s is QEMU %u.%u.%u, which overflows a stack buffer when "
                                      "vf-token is set (fixed in 8.1.3)",
                                      qemu, v / 10000, v / 100 % 100, v % 100);
        return EXIT_OK;
}

/* An unprivileged QEMU pins all guest RAM for VFIO's DMA mappings, within RLIMIT_MEMLOCK: say so
 * before QEMU fails on it less clearly. libvirt raises the limit for QEMU itself. */
static void check_memlock(char *const *argv) {
        struct rlimit rl;
        uint64_t ram;

        if (geteuid() == 0 || qemu_args_ram_size(argv, &ram) < 0 || getrlimit(RLIMIT_MEMLOCK, &rl) < 0)
                return;
        if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= ram)
                return;
        fprintf(stderr,
                "vfio-tokenctl: warning: RLIMIT_MEMLOCK is %llu KiB, less than the guest's %llu KiB of RAM, which "
                "QEMU must lock for a vfio-pci device; raise it (prlimit --memlock=, LimitMEMLOCK=, limits.conf)\n",
                (unsigned long long) rl.rlim_cur / 1024, (unsigned long long) ram / 1024);
}

/* Acquires the token of device on bus (the lease stays with the connection). Returns an exit
 * code; a failure is reported in one line naming the device, its PF and the reason. */
static int acquire(sd_bus *bus, const char *device, const char *pf, char ret_token[VFIO_TOKEN_STRING_MAX]) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        pid_t agent = 0;
        int r;

        if (arg_ask_password)
                agent = polkit_agent_open(arg_address);
        r = vfio_token_acquire(bus, device, arg_ask_password ? VFIO_TOKEN_ALLOW_INTERACTIVE : 0, &e, NULL,
                               ret_token);
        agent = polkit_agent_close(agent);
        if (r < 0)
                return tokenctl_fail(r, &e, "cannot start QEMU: no VF token for vfio-pci device %s (PF %s)", device,
                                     pf);
        return EXIT_OK;
}

/* Linux 6.3's; older kernels refuse it (EINVAL), newer ones log a warning without it. */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

/* A memfd for one device's section, to be sealed once written, and open across exec (no
 * MFD_CLOEXEC): QEMU reads it. */
static int config_memfd(void) {
        int fd;

        fd = memfd_create("vfio-tokend-qemu-device", MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
        if (fd < 0 && errno == EINVAL)
                fd = memfd_create("vfio-tokend-qemu-device", MFD_ALLOW_SEALING);
        return fd;
}

static int write_config(int fd, const char *text) {
        int r;

        r = loop_write(fd, text, strlen(text));
        if (r < 0)
                return r;
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return negative_errno();
        return 0;
}

static int exec_qemu(char **argv) {
        fflush(stdout);
        fflush(stderr);
        execvp(argv[0], argv);
        return tokenctl_error(EXIT_EXEC_FAILED, "cannot start QEMU: failed to execute %s: %s", argv[0],
                              strerror(errno));
}

/* bus is NULL: the verb connects only if a device needs a token. */
int verb_qemu(sd_bus *unused, int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(qemu_args_freep) QemuArgs *a = NULL;
        _cleanup_strv_free_ char **new_argv = NULL;
        _cleanup_(slots_done) Slots slots = {};
        char **qemu_argv = argv + 1;
        size_t n_moved = 0;
        int fd, r;

        r = qemu_args_parse(qemu_argv, &a);
        if (r < 0)
                return tokenctl_fail(r, NULL, "cannot start QEMU: failed to read its command line");
        slots.v = calloc(a->n_devices ?: 1, sizeof(Slot));
        if (!slots.v)
                return tokenctl_fail(-ENOMEM, NULL, "cannot start QEMU");
        slots.n = a->n_devices;
        for (size_t i = 0; i < slots.n; i++)
                slots.v[i].fd = -1;

        for (size_t i = 0; i < a->n_devices; i++) {
                QemuDevice *d = a->devices + i;
                Slot *s = slots.v + i;

                /* A device given its token on the command line is the caller's business. */
                if (!qemu_device_is_vfio_pci(d) || qemu_device_get(d, "vf-token") ||
                    qemu_device_host(d, s->host) < 0 || !needs_token(s->host, s->pf))
                        continue;
                if (!d->plain)
                        return tokenctl_error(EXIT_USAGE,
                                              "cannot start QEMU: vfio-pci device %s (PF %s) has a property that a "
                                              "-readconfig section cannot hold (a '\"', a newline, or a JSON object, "
                                              "array or null)",
                                              s->host, s->pf);
                if (qemu_device_get(d, "iommufd"))
                        fprintf(stderr,
                                "vfio-tokenctl: warning: vfio-pci device %s uses QEMU's iommufd backend, which "
                                "gives the kernel no VF token\n",
                                s->host);
                /* Marked for now; the token is filled in below. */
                d->token = s->token;
                n_moved++;
        }
        if (n_moved == 0)
                return exec_qemu(qemu_argv);

        r = check_qemu_version(qemu_argv[0]);
        if (r != EXIT_OK)
                return r;

        r = connect_bus(&bus);
        if (r != EXIT_OK)
                return r;

        for (size_t i = 0; i < a->n_devices; i++) {
                Slot *s = slots.v + i;

                if (!a->devices[i].token)
                        continue;
                r = acquire(bus, s->host, s->pf, s->token);
                if (r != EXIT_OK)
                        return r;
                s->fd = a->devices[i].config_fd = config_memfd();
                if (s->fd < 0)
                        return tokenctl_fail(-errno, NULL, "cannot start QEMU: failed to make a memfd");
        }

        r = qemu_args_rewrite(qemu_argv, a, &new_argv);
        if (r < 0)
                return tokenctl_fail(r, NULL, "cannot start QEMU: failed to rewrite its command line%s",
                                     r == -EINVAL ? " (a device id longer than 63 characters, or a property "
                                                    "longer than a -readconfig line may be)" : "");
        for (size_t i = 0; i < a->n_devices; i++) {
                QemuDevice *d = a->devices + i;

                if (d->order_kept)
                        fprintf(stderr,
                                "vfio-tokenctl: warning: the JSON -device option %s has no key=value form; QEMU "
                                "creates it after the vfio-pci devices it reads from -readconfig\n",
                                qemu_argv[d->arg + d->n_args - 1]);
                if (!d->config)
                        continue;
                r = write_config(d->config_fd, d->config);
                if (r < 0)
                        return tokenctl_fail(r, NULL, "cannot start QEMU: failed to write the section of %s",
                                             slots.v[i].host);
        }

        check_memlock(qemu_argv);
        /* QEMU inherits the connection, and with it the leases. */
        fd = sd_bus_get_fd(bus);
        if (fd < 0)
                return tokenctl_fail(fd, NULL, "cannot start QEMU: failed to pass on the bus connection");
        if (fcntl(fd, F_SETFD, 0) < 0)
                return tokenctl_fail(-errno, NULL, "cannot start QEMU: failed to pass on the bus connection");

        return exec_qemu(new_argv);
}
