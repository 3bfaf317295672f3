/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/sysfs.c against fixture trees (tests/common/fixture.c), and once against this machine's
 * real /sys. Which files the setup primitives write, and in which order, is watched with inotify:
 * events from one inotify fd arrive in the order the files were closed. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture.h"
#include "macro.h"
#include "sysfs.h"
#include "test-util.h"

#define PF "0000:3b:00.0"
#define NVME "0000:5e:00.0"

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static Fixture *new_fixture(void) {
        Fixture *f = NULL;

        ck_assert_int_eq(fixture_new(NULL, &f), 0);
        return f;
}

static PciDevice *read_ok(Fixture *f, const char *address) {
        PciDevice *d = NULL;

        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), address, &d), 0);
        ck_assert_ptr_nonnull(d);
        ck_assert_ptr_nonnull(d->vfs);
        ck_assert_ptr_null(d->vfs[d->n_vfs]);
        return d;
}

/* Contents of the fixture file at the formatted path relative to its base. */
_printf_(2, 3) static char *file(Fixture *f, const char *fmt, ...) {
        _cleanup_free_ char *rel = NULL;
        char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&rel, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(r, 0);
        ck_assert_int_eq(fixture_read_file(f, rel, &s), 0);
        return s;
}

/* Records which files are closed after being opened for writing, in order, as "label/name ...". */
typedef struct Watch {
        int fd;
        int wd[4];
        const char *label[4];
        size_t n;
} Watch;

static void watch_add(Watch *w, Fixture *f, const char *relpath, const char *label) {
        _cleanup_free_ char *p = NULL;

        ck_assert_uint_lt(w->n, ELEMENTSOF(w->wd));
        ck_assert_int_ge(asprintf(&p, "%s/%s", fixture_base(f), relpath), 0);
        w->wd[w->n] = inotify_add_watch(w->fd, p, IN_CLOSE_WRITE);
        ck_assert_int_ge(w->wd[w->n], 0);
        w->label[w->n++] = label;
}

static void watch_start(Watch *w, Fixture *f, const char *address, const char *driver) {
        _cleanup_free_ char *dev = NULL, *drv = NULL;

        *w = (Watch) { .fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC) };
        ck_assert_int_ge(w->fd, 0);
        ck_assert_int_ge(asprintf(&dev, "sys/devices/pci0000:00/%s", address), 0);
        watch_add(w, f, dev, "dev");
        watch_add(w, f, "sys/bus/pci", "bus");
        if (driver) {
                ck_assert_int_ge(asprintf(&drv, "sys/bus/pci/drivers/%s", driver), 0);
                watch_add(w, f, drv, "drv");
        }
}

/* The events so far, e.g. "dev/driver_override drv/unbind bus/drivers_probe"; closes the watch. */
static char *watch_end(Watch *w) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        char *out = strdup(""), *s;
        ssize_t n;

        ck_assert_ptr_nonnull(out);
        while ((n = read(w->fd, buf, sizeof buf)) > 0)
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        const char *label = "?";

                        for (size_t i = 0; i < w->n; i++)
                                if (w->wd[i] == e->wd)
                                        label = w->label[i];
                        ck_assert_int_ge(asprintf(&s, "%s%s%s/%s", out, *out ? " " : "", label,
                                                  e->len ? e->name : ""), 0);
                        free(out);
                        out = s;
                        p += sizeof(struct inotify_event) + e->len;
                }
        ck_assert(n < 0 && errno == EAGAIN);
        w->fd = safe_close(w->fd);
        return out;
}

START_TEST(test_read_pf_vfio) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *pf = NULL, *vf = NULL;

        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 8, 3, 10), 0);

        pf = read_ok(f, PF);
        ck_assert_str_eq(pf->address, PF);
        ck_assert_str_eq(pf->driver, "vfio-pci");
        ck_assert(pf->sriov_capable);
        ck_assert_uint_eq(pf->total_vfs, 8);
        ck_assert_uint_eq(pf->num_vfs, 3);
        ck_assert_uint_eq(pf->n_vfs, 3);
        ck_assert_str_eq(pf->vfs[0], "0000:3b:00.1");
        ck_assert_str_eq(pf->vfs[1], "0000:3b:00.2");
        ck_assert_str_eq(pf->vfs[2], "0000:3b:00.3");
        ck_assert_str_eq(pf->physfn, "");
        ck_assert_int_eq(pf->iommu_group, 10);

        /* A VF: its PF, its own group, same driver, no SR-IOV of its own. */
        vf = read_ok(f, "0000:3b:00.2");
        ck_assert_str_eq(vf->physfn, PF);
        ck_assert_str_eq(vf->driver, "vfio-pci");
        ck_assert(!vf->sriov_capable);
        ck_assert_uint_eq(vf->n_vfs, 0);
        ck_assert_int_eq(vf->iommu_group, 12);

        /* Addresses are taken in any case and reported canonical. */
        vf = pci_device_free(vf);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), "0000:3B:00.2", &vf), 0);
        ck_assert_str_eq(vf->address, "0000:3b:00.2");

        ck_assert(sysfs_device_exists(fixture_sysfs(f), PF));
        ck_assert(!sysfs_device_exists(fixture_sysfs(f), "0000:3b:00.4"));
        ck_assert(!sysfs_device_exists(fixture_sysfs(f), "../../etc"));
}
END_TEST

START_TEST(test_read_many_vfs_in_order) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *pf = NULL;
        static const char *const expected[] = {
                "0000:3b:00.1", "0000:3b:00.2", "0000:3b:00.3", "0000:3b:00.4", "0000:3b:00.5",
                "0000:3b:00.6", "0000:3b:00.7", "0000:3b:01.0", "0000:3b:01.1", "0000:3b:01.2",
                "0000:3b:01.3", "0000:3b:01.4",
        };

        /* virtfn10 and virtfn11 must come after virtfn9, whatever order readdir() gives. */
        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 16, 12, 100), 0);
        pf = read_ok(f, PF);
        ck_assert_uint_eq(pf->n_vfs, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                ck_assert_str_eq(pf->vfs[i], expected[i]);
}
END_TEST

START_TEST(test_read_pf_other_driver) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *pf = NULL, *vf = NULL;

        ck_assert_int_eq(fixture_add_pf(f, NVME, "nvme", 4, 2, 20), 0);
        pf = read_ok(f, NVME);
        ck_assert_str_eq(pf->driver, "nvme");
        ck_assert_uint_eq(pf->total_vfs, 4);
        ck_assert_uint_eq(pf->num_vfs, 2);
        ck_assert_uint_eq(pf->n_vfs, 2);
        vf = read_ok(f, pf->vfs[1]);
        ck_assert_str_eq(vf->physfn, NVME);
        ck_assert_str_eq(vf->driver, "nvme");
        ck_assert_int_eq(vf->iommu_group, 22);
}
END_TEST

START_TEST(test_read_no_sriov) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *d = NULL, *e = NULL;

        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 0, 0, 7), 0);
        d = read_ok(f, PF);
        ck_assert(!d->sriov_capable);
        ck_assert_uint_eq(d->total_vfs, 0);
        ck_assert_uint_eq(d->num_vfs, 0);
        ck_assert_uint_eq(d->n_vfs, 0);
        ck_assert_int_eq(d->iommu_group, 7);

        ck_assert_int_eq(fixture_add_device(f, "0000:00:02.0", "i915", 3), 0);
        e = read_ok(f, "0000:00:02.0");
        ck_assert(!e->sriov_capable);
        ck_assert_str_eq(e->driver, "i915");
        ck_assert_str_eq(e->physfn, "");
}
END_TEST

START_TEST(test_read_missing_virtfn) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *pf = NULL, *vf = NULL;

        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 8, 4, 10), 0);
        ck_assert_int_eq(fixture_remove_virtfn(f, PF, 1), 0);
        ck_assert_int_eq(fixture_remove_virtfn(f, PF, 1), -ENOENT);

        /* The gap is skipped, the VFs after it are still listed, and the count sysfs gives is
         * kept, so that a caller can tell the tree is inconsistent. */
        pf = read_ok(f, PF);
        ck_assert_uint_eq(pf->num_vfs, 4);
        ck_assert_uint_eq(pf->n_vfs, 3);
        ck_assert_str_eq(pf->vfs[0], "0000:3b:00.1");
        ck_assert_str_eq(pf->vfs[1], "0000:3b:00.3");
        ck_assert_str_eq(pf->vfs[2], "0000:3b:00.4");

        /* Without virtfn0 the rest is still found. */
        pf = pci_device_free(pf);
        ck_assert_int_eq(fixture_remove_virtfn(f, PF, 0), 0);
        pf = read_ok(f, PF);
        ck_assert_uint_eq(pf->n_vfs, 2);
        ck_assert_str_eq(pf->vfs[0], "0000:3b:00.3");

        /* The VF itself is untouched. */
        vf = read_ok(f, "0000:3b:00.2");
        ck_assert_str_eq(vf->physfn, PF);
}
END_TEST

START_TEST(test_read_vanished) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        PciDevice *d = NULL;
        _cleanup_free_ char *dir = NULL, *gone = NULL;

        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 8, 2, 10), 0);
        ck_assert_int_eq(fixture_remove_device(f, PF), 0);

        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), PF, &d), -ENOENT);
        ck_assert_ptr_null(d);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), "0000:3b:00.1", &d), -ENOENT);
        ck_assert(!sysfs_device_exists(fixture_sysfs(f), PF));
        ck_assert_int_eq(sysfs_bind_vfio(fixture_sysfs(f), PF), -ENODEV);
        ck_assert_int_eq(sysfs_set_num_vfs(fixture_sysfs(f), PF, 1), -ENODEV);

        /* A bus link left dangling reads as absent too. */
        ck_assert_int_eq(fixture_add_device(f, NVME, "nvme", 3), 0);
        ck_assert_int_ge(asprintf(&dir, "%s/sys/devices/pci0000:00/%s", fixture_base(f), NVME), 0);
        ck_assert_int_ge(asprintf(&gone, "%s.gone", dir), 0);
        ck_assert_int_eq(rename(dir, gone), 0);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), NVME, &d), -ENOENT);
        ck_assert(!sysfs_device_exists(fixture_sysfs(f), NVME));

        /* Not an address at all. */
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), "0000:3b:00.0/..", &d), -EINVAL);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), "", &d), -EINVAL);
        ck_assert_ptr_null(d);
}
END_TEST

typedef enum Vanish {
        VANISH_REMOVE,  /* the directory is deleted: later lookups in it fail */
        VANISH_MOVE,    /* the path is gone, the directory still reads (as kernfs does) */
        VANISH_REPLACE, /* the path names a new device */
} Vanish;

/* Makes `attr` of the device a FIFO: a child waits until sysfs_device_read() opens it, then makes
 * the device vanish before letting the read go on. No timing involved: the FIFO's open is the
 * rendezvous. */
static void vanish_during_read(const char *attr, Vanish how) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_free_ char *path = NULL, *dir = NULL, *gone = NULL, *link = NULL;
        PciDevice *d = NULL;
        int status;
        pid_t pid;

        ck_assert_int_eq(fixture_add_pf(f, PF, NULL, 4, 0, -1), 0);
        ck_assert_int_ge(asprintf(&dir, "%s/sys/devices/pci0000:00/%s", fixture_base(f), PF), 0);
        ck_assert_int_ge(asprintf(&gone, "%s/sys/devices/gone", fixture_base(f)), 0);
        ck_assert_int_ge(asprintf(&link, "%s/sys/bus/pci/devices/%s", fixture_base(f), PF), 0);
        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, attr), 0);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(mkfifo(path, 0600), 0);

        pid = fork();
        if (pid == 0) {
                int fd = open(path, O_WRONLY | O_CLOEXEC); /* returns once the reader is there */

                if (fd < 0)
                        _exit(1);
                if (how == VANISH_REMOVE && fixture_remove_device(f, PF) < 0)
                        _exit(2);
                if (how != VANISH_REMOVE && (rename(dir, gone) < 0 || unlink(link) < 0))
                        _exit(3);
                if (how == VANISH_REPLACE && fixture_add_pf(f, PF, NULL, 4, 0, -1) < 0)
                        _exit(4);
                if (write(fd, "0\n", 2) != 2)
                        _exit(5);
                _exit(0); /* never fixture_free(): the parent owns the tree */
        }
        ck_assert_int_ge(pid, 0); /* the parent only: see CHILD_CHECK in test-util.h */

        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), PF, &d), -ENODEV);
        ck_assert_ptr_null(d);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
}

START_TEST(test_read_vanishes_midway) {
        /* sriov_numvfs is gone next. */
        vanish_during_read("sriov_totalvfs", VANISH_REMOVE);
        /* The VF scan finds a dead directory. */
        vanish_during_read("sriov_numvfs", VANISH_REMOVE);
        /* Everything still reads, from a device no longer there: only the final check can tell. */
        vanish_during_read("sriov_numvfs", VANISH_MOVE);
        /* A new device at the same address is not the one we started reading. */
        vanish_during_read("sriov_numvfs", VANISH_REPLACE);
}
END_TEST

START_TEST(test_read_unbound) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *d = NULL, *e = NULL;

        ck_assert_int_eq(fixture_add_pf(f, PF, NULL, 4, 1, 10), 0);
        d = read_ok(f, PF);
        ck_assert_ptr_null(d->driver);
        ck_assert_uint_eq(d->n_vfs, 1);
        e = read_ok(f, d->vfs[0]);
        ck_assert_ptr_null(e->driver);

        e = pci_device_free(e);
        ck_assert_int_eq(fixture_add_device(f, "0000:00:1f.0", NULL, -1), 0);
        e = read_ok(f, "0000:00:1f.0");
        ck_assert_ptr_null(e->driver);
        ck_assert_int_eq(e->iommu_group, -1);

        /* Rebinding is seen. */
        e = pci_device_free(e);
        ck_assert_int_eq(fixture_set_driver(f, "0000:00:1f.0", "lpc_ich"), 0);
        e = read_ok(f, "0000:00:1f.0");
        ck_assert_str_eq(e->driver, "lpc_ich");
}
END_TEST

START_TEST(test_read_malformed) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_free_ char *path = NULL;
        PciDevice *d = NULL;

        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 8, 1, 10), 0);
        ck_assert_int_eq(fixture_write_file(f, "sys/bus/pci/devices/" PF "/sriov_totalvfs", "eight\n"), 0);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), PF, &d), -EBADMSG);
        ck_assert_int_eq(fixture_write_file(f, "sys/bus/pci/devices/" PF "/sriov_totalvfs", "-8\n"), 0);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), PF, &d), -EBADMSG);
        ck_assert_int_eq(fixture_write_file(f, "sys/bus/pci/devices/" PF "/sriov_totalvfs", ""), 0);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), PF, &d), -EBADMSG);
        ck_assert_int_eq(fixture_write_file(f, "sys/bus/pci/devices/" PF "/sriov_totalvfs", "99999999999\n"),
                         0);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), PF, &d), -EBADMSG);
        ck_assert_int_eq(fixture_write_file(f, "sys/bus/pci/devices/" PF "/sriov_totalvfs", "8"), 0);

        /* A virtfn link that names no PCI address. */
        ck_assert_int_ge(asprintf(&path, "%s/sys/bus/pci/devices/" PF "/virtfn1", fixture_base(f)), 0);
        ck_assert_int_eq(symlink("../not-a-device", path), 0);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), PF, &d), -EBADMSG);
        ck_assert_int_eq(unlink(path), 0);

        /* An iommu_group that is not a number. */
        free(path);
        ck_assert_int_ge(asprintf(&path, "%s/sys/bus/pci/devices/" PF "/iommu_group", fixture_base(f)), 0);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(symlink("../../../kernel/iommu_groups/x1", path), 0);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(f), PF, &d), -EBADMSG);
        ck_assert_ptr_null(d);
}
END_TEST

START_TEST(test_bind_vfio_writes) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        _cleanup_free_ char *events = NULL, *s = NULL, *node = NULL;
        Watch w;

        ck_assert_int_eq(fixture_add_pf(f, NVME, "nvme", 4, 0, 20), 0);

        watch_start(&w, f, NVME, "nvme");
        /* Plain files do not bind anything, so the final check finds it still on nvme. */
        ck_assert_int_eq(sysfs_bind_vfio(fixture_sysfs(f), NVME), -EIO);
        events = watch_end(&w);
        ck_assert_str_eq(events, "dev/driver_override drv/unbind bus/drivers_probe");

        s = file(f, "sys/devices/pci0000:00/%s/driver_override", NVME);
        ck_assert_str_eq(s, "vfio-pci");
        free(s);
        s = file(f, "sys/bus/pci/drivers/%s/unbind", "nvme");
        ck_assert_str_eq(s, NVME);
        free(s);
        s = file(f, "%s", "sys/bus/pci/drivers_probe");
        ck_assert_str_eq(s, NVME);
        free(s);
        s = file(f, "%s", "sys/bus/pci/drivers/vfio-pci/bind");
        ck_assert_str_eq(s, "");

        /* The kernel's part: now it is on vfio-pci, with its group node. */
        ck_assert_int_ge(asprintf(&node, "%s/vfio/20", fixture_dev(f)), 0);
        ck_assert_int_eq(access(node, F_OK), -1);
        ck_assert_int_eq(fixture_simulate_bind(f, NVME), 0);
        d = read_ok(f, NVME);
        ck_assert_str_eq(d->driver, "vfio-pci");
        ck_assert_int_eq(access(node, F_OK), 0);

        /* Bound already: nothing is written at all. */
        watch_start(&w, f, NVME, "vfio-pci");
        ck_assert_int_eq(sysfs_bind_vfio(fixture_sysfs(f), NVME), 0);
        free(events);
        events = watch_end(&w);
        ck_assert_str_eq(events, "");
}
END_TEST

START_TEST(test_bind_vfio_unbound) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        _cleanup_free_ char *events = NULL;
        Watch w;

        /* Nothing to unbind from. */
        ck_assert_int_eq(fixture_add_device(f, "0000:00:1f.0", NULL, 4), 0);
        watch_start(&w, f, "0000:00:1f.0", NULL);
        ck_assert_int_eq(sysfs_bind_vfio(fixture_sysfs(f), "0000:00:1f.0"), -EIO);
        events = watch_end(&w);
        ck_assert_str_eq(events, "dev/driver_override bus/drivers_probe");
        ck_assert_int_eq(fixture_simulate_bind(f, "0000:00:1f.0"), 0);
        d = read_ok(f, "0000:00:1f.0");
        ck_assert_str_eq(d->driver, "vfio-pci");
        ck_assert_int_eq(sysfs_bind_vfio(fixture_sysfs(f), "0000:00:1f.0"), 0);
}
END_TEST

START_TEST(test_bind_vfio_refused) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_free_ char *events = NULL;
        Watch w;

        /* VFs enabled on another driver: vfio-pci would refuse the PF, and unbinding would have
         * taken the VFs away first. Nothing is written. */
        ck_assert_int_eq(fixture_add_pf(f, NVME, "nvme", 4, 2, 20), 0);
        watch_start(&w, f, NVME, "nvme");
        ck_assert_int_eq(sysfs_bind_vfio(fixture_sysfs(f), NVME), -EBUSY);
        events = watch_end(&w);
        ck_assert_str_eq(events, "");

        /* vfio-pci not loaded: nothing is written either. */
        ck_assert_int_eq(fixture_add_device(f, "0000:00:1f.0", "lpc_ich", 4), 0);
        ck_assert_int_eq(fixture_remove_driver(f, "vfio-pci"), 0);
        watch_start(&w, f, "0000:00:1f.0", "lpc_ich");
        ck_assert_int_eq(sysfs_bind_vfio(fixture_sysfs(f), "0000:00:1f.0"), -ENXIO);
        free(events);
        events = watch_end(&w);
        ck_assert_str_eq(events, "");

        ck_assert_int_eq(sysfs_bind_vfio(fixture_sysfs(f), "0000:00:1f"), -EINVAL);
}
END_TEST

START_TEST(test_set_num_vfs) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_free_ char *events = NULL, *s = NULL;
        Watch w;

        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 8, 0, 10), 0);

        watch_start(&w, f, PF, NULL);
        ck_assert_int_eq(sysfs_set_num_vfs(fixture_sysfs(f), PF, 4), 0);
        events = watch_end(&w);
        ck_assert_str_eq(events, "dev/sriov_numvfs");
        s = file(f, "sys/bus/pci/devices/%s/sriov_numvfs", PF);
        ck_assert_str_eq(s, "4");
        free(s);

        /* Same count: not written (the kernel would give EBUSY, or block for 0). */
        ck_assert_int_eq(fixture_set_num_vfs(f, PF, 3), 0);
        watch_start(&w, f, PF, NULL);
        ck_assert_int_eq(sysfs_set_num_vfs(fixture_sysfs(f), PF, 3), 0);
        free(events);
        events = watch_end(&w);
        ck_assert_str_eq(events, "");

        /* The PCI core's refusals, before writing. */
        watch_start(&w, f, PF, NULL);
        ck_assert_int_eq(sysfs_set_num_vfs(fixture_sysfs(f), PF, 9), -ERANGE);
        ck_assert_int_eq(sysfs_set_num_vfs(fixture_sysfs(f), PF, 2), -EBUSY);
        free(events);
        events = watch_end(&w);
        ck_assert_str_eq(events, "");

        /* Through 0 is the way. */
        ck_assert_int_eq(sysfs_set_num_vfs(fixture_sysfs(f), PF, 0), 0);
        s = file(f, "sys/bus/pci/devices/%s/sriov_numvfs", PF);
        ck_assert_str_eq(s, "0");

        ck_assert_int_eq(fixture_add_device(f, "0000:00:02.0", "i915", 3), 0);
        ck_assert_int_eq(sysfs_set_num_vfs(fixture_sysfs(f), "0000:00:02.0", 1), -EOPNOTSUPP);
        ck_assert_int_eq(sysfs_set_num_vfs(fixture_sysfs(f), "0000:00:02.9", 1), -EINVAL);
}
END_TEST

START_TEST(test_set_num_vfs_write_error) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_free_ char *path = NULL;
        static const char *const target = "/proc/sys/kernel/ngroups_max";
        int r;

        /* The write's own error comes back as it is: sriov_numvfs here is a number that no one,
         * root included, may write (sysctl permissions ignore CAP_DAC_OVERRIDE). */
        if (access(target, R_OK) < 0)
                return;
        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 8, 0, 10), 0);
        ck_assert_int_ge(asprintf(&path, "%s/sys/bus/pci/devices/%s/sriov_numvfs", fixture_base(f), PF), 0);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(symlink(target, path), 0);
        r = sysfs_set_num_vfs(fixture_sysfs(f), PF, 0);
        ck_assert_msg(r == -EACCES || r == -EROFS || r == -EPERM, "unexpected %d", r);
}
END_TEST

START_TEST(test_strerror) {
        const char *s;

        s = sysfs_strerror(-ENOENT, true);
        ck_assert_ptr_nonnull(strstr(s, "enable_sriov=1"));
        ck_assert_ptr_nonnull(strstr(s, "modprobe vfio-pci enable_sriov=1"));
        ck_assert_ptr_nonnull(strstr(s, "/sys/module/vfio_pci/parameters/enable_sriov"));
        ck_assert_str_eq(sysfs_strerror(ENOENT, true), s);
        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-ERANGE, true), "sriov_totalvfs"));
        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-EBUSY, true), "echo 0 > sriov_numvfs"));
        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-EOPNOTSUPP, true), "not SR-IOV capable"));

        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-ENOENT, false), "no such PCI device"));
        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-ENODEV, true), "no such PCI device"));
        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-EBUSY, false), "sriov_numvfs to 0"));
        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-ENXIO, false), "modprobe vfio-pci"));
        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-EIO, false), "IOMMU"));
        ck_assert_ptr_nonnull(strstr(sysfs_strerror(-EACCES, false), "root"));
        ck_assert_str_eq(sysfs_strerror(-ETIMEDOUT, true), strerror(ETIMEDOUT));
}
END_TEST

START_TEST(test_fixture_layout) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture();
        _cleanup_(pci_device_freep) PciDevice *pf = NULL;
        _cleanup_free_ char *base = NULL, *p = NULL;
        char target[4096];
        ssize_t n;

        /* The kernel model finds sysfs from the dev root. */
        ck_assert_int_ge(asprintf(&p, "%s/vfio/.kmodel-sysfs", fixture_dev(f)), 0);
        n = readlink(p, target, sizeof target - 1);
        ck_assert_int_gt(n, 0);
        target[n] = '\0';
        ck_assert_str_eq(target, fixture_sysfs(f));
        ck_assert_int_eq(target[0], '/');

        /* Group nodes exist for vfio-pci devices only. */
        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 4, 2, 10), 0);
        ck_assert_int_eq(fixture_add_pf(f, NVME, "nvme", 4, 1, 20), 0);
        for (int g = 10; g <= 21; g++) {
                free(p);
                ck_assert_int_ge(asprintf(&p, "%s/vfio/%d", fixture_dev(f), g), 0);
                ck_assert_int_eq(access(p, F_OK) == 0, g <= 12);
        }
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/vfio/vfio", fixture_dev(f)), 0);
        ck_assert_int_eq(access(p, F_OK), 0);

        /* VFs re-created: same addresses, count updated; destroyed: group nodes go. */
        ck_assert_int_eq(fixture_set_num_vfs(f, PF, 3), 0);
        pf = read_ok(f, PF);
        ck_assert_uint_eq(pf->num_vfs, 3);
        ck_assert_uint_eq(pf->n_vfs, 3);
        ck_assert_str_eq(pf->vfs[2], "0000:3b:00.3");
        ck_assert_int_eq(fixture_set_num_vfs(f, PF, 5), -ERANGE);
        ck_assert_int_eq(fixture_set_num_vfs(f, PF, 0), 0);
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/vfio/11", fixture_dev(f)), 0);
        ck_assert_int_eq(access(p, F_OK), -1);
        ck_assert(!sysfs_device_exists(fixture_sysfs(f), "0000:3b:00.1"));

        /* Clashes and drivers in use are refused. */
        ck_assert_int_eq(fixture_add_device(f, NVME, NULL, 1), -EEXIST);
        ck_assert_int_eq(fixture_add_pf(f, "0000:5d:1f.7", NULL, 4, 1, 1), -EEXIST);
        ck_assert_int_eq(fixture_remove_driver(f, "nvme"), -EBUSY);
        ck_assert_int_eq(fixture_add_pf(f, "0000:3B:00.0", NULL, 4, 1, 1), -EINVAL);

        /* Removing a PF takes its VFs, their groups and the driver links along. */
        ck_assert_int_eq(fixture_remove_device(f, NVME), 0);
        ck_assert(!sysfs_device_exists(fixture_sysfs(f), "0000:5e:00.1"));
        free(p);
        ck_assert_int_ge(asprintf(&p, "%s/kernel/iommu_groups/21", fixture_sysfs(f)), 0);
        ck_assert_int_eq(access(p, F_OK), -1);
        ck_assert_int_eq(fixture_remove_driver(f, "nvme"), 0);
        ck_assert_int_eq(fixture_remove_device(f, NVME), -ENOENT);

        /* The tree goes with the fixture, unless kept. */
        base = strdup(fixture_base(f));
        f = fixture_free(f);
        ck_assert_int_eq(access(base, F_OK), -1);
}
END_TEST

START_TEST(test_fixture_reopen) {
        _cleanup_(fixture_freep) Fixture *f = new_fixture(), *g = NULL;
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        _cleanup_free_ char *base = NULL;

        ck_assert_int_eq(fixture_add_pf(f, PF, "vfio-pci", 4, 1, 10), 0);
        base = strdup(fixture_base(f));
        fixture_keep(f);
        f = fixture_free(f);

        /* What mkfixture does to an existing tree: everything is read back from it. */
        ck_assert_int_eq(fixture_new(base, &g), 0);
        ck_assert_int_eq(fixture_set_num_vfs(g, PF, 2), 0);
        ck_assert_int_eq(sysfs_device_read(fixture_sysfs(g), PF, &d), 0);
        ck_assert_uint_eq(d->n_vfs, 2);
        g = fixture_free(g);
        ck_assert_int_eq(rmdir(base), 0); /* sys/ and dev/ gone; the base was not g's to remove */
}
END_TEST

START_TEST(test_real_sysfs) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        size_t n = 0;

        d = opendir(SYSFS_DEFAULT_ROOT "/bus/pci/devices");
        if (!d)
                return; /* no PCI here: nothing to read */
        while ((de = readdir(d))) {
                _cleanup_(pci_device_freep) PciDevice *p = NULL;
                int r;

                if (de->d_name[0] == '.')
                        continue;
                r = sysfs_device_read(SYSFS_DEFAULT_ROOT, de->d_name, &p);
                /* Devices may come and go; anything else must read cleanly. */
                ck_assert_msg(r == 0 || r == -ENOENT || r == -ENODEV, "%s: %s", de->d_name, strerror(-r));
                if (r < 0)
                        continue;
                ck_assert_str_eq(p->address, de->d_name);
                ck_assert_uint_le(p->n_vfs, SYSFS_MAX_VFS);
                ck_assert_ptr_null(p->vfs[p->n_vfs]);
                n++;
        }
        fprintf(stderr, "read %zu PCI devices from " SYSFS_DEFAULT_ROOT "\n", n);
}
END_TEST

static Suite *sysfs_suite(void) {
        Suite *s = suite_create("sysfs");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_read_pf_vfio);
        tcase_add_test(tc, test_read_many_vfs_in_order);
        tcase_add_test(tc, test_read_pf_other_driver);
        tcase_add_test(tc, test_read_no_sriov);
        tcase_add_test(tc, test_read_missing_virtfn);
        tcase_add_test(tc, test_read_vanished);
        tcase_add_test(tc, test_read_vanishes_midway);
        tcase_add_test(tc, test_read_unbound);
        tcase_add_test(tc, test_read_malformed);
        tcase_add_test(tc, test_bind_vfio_writes);
        tcase_add_test(tc, test_bind_vfio_unbound);
        tcase_add_test(tc, test_bind_vfio_refused);
        tcase_add_test(tc, test_set_num_vfs);
        tcase_add_test(tc, test_set_num_vfs_write_error);
        tcase_add_test(tc, test_strerror);
        tcase_add_test(tc, test_fixture_layout);
        tcase_add_test(tc, test_fixture_reopen);
        tcase_add_test(tc, test_real_sysfs);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(sysfs_suite);
