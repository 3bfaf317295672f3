/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns a fixture's devices: PFs with their VFs and plain devices, each a directory with the links
 * that tie it into the tree (bus, IOMMU group, physfn/virtfn); added as enumeration adds them,
 * removed as a hot-unplug removes them, and a PF's VFs remade as a write to sriov_numvfs does.
 * Binding a device to a driver is fixture-drivers.c's. */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture-internal.h"
#include "macro.h"
#include "string-util.h"

int fx_device_link_name(Fixture *f, const char *addr, const char *link, char **ret) {
        _cleanup_free_ char *p = sys_path(f, DEVICES_DIR "/%s/%s", addr, link);

        if (!p)
                return -ENOMEM;
        return fx_link_name(p, ret);
}

/* The device's IOMMU group number, -1 if it has none. */
int fx_device_group(Fixture *f, const char *addr, int *ret) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = fx_device_link_name(f, addr, "iommu_group", &name);
        if (r == -ENOENT) {
                *ret = -1;
                return 0;
        }
        if (r < 0)
                return r;
        *ret = atoi(name);
        return 0;
}

int fx_check_address(const char *addr) {
        char canonical[PCI_ADDRESS_MAX];

        if (pci_address_parse(addr, canonical) < 0 || !streq(canonical, addr))
                return -EINVAL;
        return 0;
}

bool fx_device_exists(Fixture *f, const char *addr) {
        _cleanup_free_ char *p = sys_path(f, DEVICES_DIR "/%s", addr);
        struct stat st;

        return p && lstat(p, &st) >= 0;
}

/* The routing ID arithmetic of SR-IOV with VF offset 1 and stride 1: VF i follows the PF at
 * routing ID + 1 + i, spilling into the next device numbers (and buses) as the kernel computes. */
static int vf_address(const char *pf, unsigned i, char ret[static PCI_ADDRESS_MAX]) {
        unsigned domain, bus, dev, fn, rid;

        if (sscanf(pf, "%x:%x:%x.%u", &domain, &bus, &dev, &fn) != 4)
                return -EINVAL;
        rid = (bus << 8 | dev << 3 | fn) + 1 + i;
        if (rid > 0xffff)
                return -ERANGE;
        (void) snprintf(ret, PCI_ADDRESS_MAX, domain > 0xffff ? "%x:%02x:%02x.%u" : "%04x:%02x:%02x.%u",
                        domain, rid >> 8, (rid >> 3) & 0x1f, rid & 7);
        return 0;
}

/* One device directory with its links; physfn NULL for anything but a VF. */
static int add_device(Fixture *f, const char *addr, const char *driver, int group, const char *physfn,
                      unsigned total_vfs) {
        _cleanup_free_ char *dir = NULL, *bus_link = NULL, *bus_target = NULL;
        char num[32];
        int r;

        dir = sys_path(f, DEVICES_DIR "/%s", addr);
        bus_link = sys_path(f, "bus/pci/devices/%s", addr);
        if (!dir || !bus_link || asprintf(&bus_target, "../../../" DEVICES_DIR "/%s", addr) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0755) < 0)
                return negative_errno();

        {
                _cleanup_free_ char *p = fx_path_join(dir, "driver_override");

                if (!p)
                        return -ENOMEM;
                r = fx_create_file(p, "(null)\n");
                if (r < 0)
                        return r;
        }

        if (total_vfs > 0) {
                _cleanup_free_ char *t = fx_path_join(dir, "sriov_totalvfs"),
                                    *n = fx_path_join(dir, "sriov_numvfs");

                if (!t || !n)
                        return -ENOMEM;
                (void) snprintf(num, sizeof num, "%u\n", total_vfs);
                r = fx_create_file(t, num);
                if (r < 0)
                        return r;
                r = fx_create_file(n, "0\n");
                if (r < 0)
                        return r;
        }

        if (physfn) {
                _cleanup_free_ char *p = fx_path_join(dir, "physfn"), *target = fx_path_join("..", physfn);

                if (!p || !target)
                        return -ENOMEM;
                if (symlink(target, p) < 0)
                        return negative_errno();
        }

        if (group >= 0) {
                _cleanup_free_ char *gdir = NULL, *glink = NULL, *gtarget = NULL, *back = NULL,
                                    *back_target = NULL;

                gdir = sys_path(f, "kernel/iommu_groups/%d/devices", group);
                glink = fx_path_join(dir, "iommu_group");
                if (!gdir || !glink || asprintf(&gtarget, "../../../kernel/iommu_groups/%d", group) < 0 ||
                    asprintf(&back, "%s/%s", gdir, addr) < 0 ||
                    asprintf(&back_target, "../../../../" DEVICES_DIR "/%s", addr) < 0)
                        return -ENOMEM;
                r = fx_mkdir_p(gdir);
                if (r < 0)
                        return r;
                if (symlink(gtarget, glink) < 0 || symlink(back_target, back) < 0)
                        return negative_errno();
        }

        if (symlink(bus_target, bus_link) < 0)
                return negative_errno();

        if (driver) {
                r = fx_bind_device(f, addr, driver);
                if (r < 0)
                        return r;
        }
        return fx_sync_group_node(f, group);
}

/* Creates VFs 0..n-1 of a PF that has none, and records the count in sriov_numvfs. */
static int create_vfs(Fixture *f, const char *pf, unsigned n) {
        _cleanup_free_ char *driver = NULL, *numvfs = NULL;
        int group, r;
        char num[32];

        r = fx_device_link_name(f, pf, "driver", &driver);
        if (r < 0 && r != -ENOENT)
                return r;
        r = fx_device_group(f, pf, &group);
        if (r < 0)
                return r;

        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *link = NULL, *target = NULL;
                char vf[PCI_ADDRESS_MAX];

                r = vf_address(pf, i, vf);
                if (r < 0)
                        return r;
                r = add_device(f, vf, driver, group < 0 ? -1 : group + 1 + (int) i, pf, 0);
                if (r < 0)
                        return r;
                link = sys_path(f, DEVICES_DIR "/%s/virtfn%u", pf, i);
                target = fx_path_join("..", vf);
                if (!link || !target)
                        return -ENOMEM;
                if (symlink(target, link) < 0)
                        return negative_errno();
        }

        numvfs = sys_path(f, DEVICES_DIR "/%s/sriov_numvfs", pf);
        if (!numvfs)
                return -ENOMEM;
        (void) snprintf(num, sizeof num, "%u\n", n);
        return fx_create_file(numvfs, num);
}

int fixture_add_pf(Fixture *f, const char *pf_addr, const char *driver, unsigned total_vfs, unsigned num_vfs,
                   int iommu_group_base) {
        int r;

        r = fx_check_address(pf_addr);
        if (r < 0)
                return r;
        if (num_vfs > total_vfs || total_vfs > 0xffff)
                return -EINVAL;

        /* Check every address first, so that a clash leaves the tree as it was. */
        if (fx_device_exists(f, pf_addr))
                return -EEXIST;
        for (unsigned i = 0; i < num_vfs; i++) {
                char vf[PCI_ADDRESS_MAX];

                r = vf_address(pf_addr, i, vf);
                if (r < 0)
                        return r;
                if (fx_device_exists(f, vf))
                        return -EEXIST;
        }

        r = add_device(f, pf_addr, driver, iommu_group_base, NULL, total_vfs);
        if (r < 0)
                return r;
        return create_vfs(f, pf_addr, num_vfs);
}

int fixture_add_device(Fixture *f, const char *addr, const char *driver, int iommu_group) {
        int r;

        r = fx_check_address(addr);
        if (r < 0)
                return r;
        if (fx_device_exists(f, addr))
                return -EEXIST;
        return add_device(f, addr, driver, iommu_group, NULL, 0);
}

static int remove_vfs(Fixture *f, const char *pf);

static int remove_device(Fixture *f, const char *addr) {
        _cleanup_free_ char *dir = NULL, *bus_link = NULL, *physfn = NULL;
        int group, r;

        dir = sys_path(f, DEVICES_DIR "/%s", addr);
        bus_link = sys_path(f, "bus/pci/devices/%s", addr);
        if (!dir || !bus_link)
                return -ENOMEM;
        if (!fx_device_exists(f, addr))
                return -ENOENT;

        r = remove_vfs(f, addr);
        if (r < 0)
                return r;

        /* A VF removed on its own: its PF no longer lists it. */
        r = fx_device_link_name(f, addr, "physfn", &physfn);
        if (r >= 0) {
                _cleanup_free_ char *pfdir = sys_path(f, DEVICES_DIR "/%s", physfn);
                _cleanup_(closedirp) DIR *d = NULL;
                struct dirent *de;

                if (!pfdir)
                        return -ENOMEM;
                d = opendir(pfdir);
                while (d && (de = readdir(d))) {
                        _cleanup_free_ char *l = NULL, *name = NULL;

                        if (strncmp(de->d_name, "virtfn", 6) != 0)
                                continue;
                        l = fx_path_join(pfdir, de->d_name);
                        if (!l)
                                return -ENOMEM;
                        if (fx_link_name(l, &name) >= 0 && streq(name, addr))
                                (void) unlink(l);
                }
        }

        r = fx_device_group(f, addr, &group);
        if (r < 0)
                return r;
        r = fx_unbind_device(f, addr);
        if (r < 0)
                return r;
        if (group >= 0) {
                _cleanup_free_ char *gdir = sys_path(f, "kernel/iommu_groups/%d", group),
                                    *devices = sys_path(f, "kernel/iommu_groups/%d/devices", group),
                                    *back = sys_path(f, "kernel/iommu_groups/%d/devices/%s", group, addr);

                if (!gdir || !devices || !back)
                        return -ENOMEM;
                r = fx_unlink_if_present(back);
                if (r < 0)
                        return r;
                /* The kernel drops a group with its last device (rmdir fails while others remain). */
                if (rmdir(devices) >= 0)
                        (void) rmdir(gdir);
        }

        /* The bus link goes first: lookups by address fail from then on. */
        r = fx_unlink_if_present(bus_link);
        if (r < 0)
                return r;
        r = fx_rm_rf(dir);
        if (r < 0)
                return r;
        return fx_sync_group_node(f, group);
}

static int remove_vfs(Fixture *f, const char *pf) {
        _cleanup_free_ char *dir = sys_path(f, DEVICES_DIR "/%s", pf);
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return negative_errno();
        for (;;) {
                _cleanup_free_ char *l = NULL, *vf = NULL;
                int r;

                errno = 0;
                de = readdir(d);
                if (!de)
                        break;
                if (strncmp(de->d_name, "virtfn", 6) != 0)
                        continue;
                l = fx_path_join(dir, de->d_name);
                if (!l)
                        return -ENOMEM;
                r = fx_link_name(l, &vf);
                if (r < 0)
                        return r;
                if (unlink(l) < 0)
                        return negative_errno();
                if (fx_device_exists(f, vf)) {
                        r = remove_device(f, vf);
                        if (r < 0)
                                return r;
                }
                /* Unlinking while reading may make readdir skip entries: start over. */
                rewinddir(d);
        }
        return errno > 0 ? -errno : 0;
}

int fixture_remove_device(Fixture *f, const char *addr) {
        int r;

        r = fx_check_address(addr);
        if (r < 0)
                return r;
        return remove_device(f, addr);
}

int fixture_set_num_vfs(Fixture *f, const char *pf_addr, unsigned n) {
        _cleanup_free_ char *rel = NULL, *total = NULL;
        int r;

        r = fx_check_address(pf_addr);
        if (r < 0)
                return r;
        if (!fx_device_exists(f, pf_addr))
                return -ENOENT;
        if (asprintf(&rel, "sys/" DEVICES_DIR "/%s/sriov_totalvfs", pf_addr) < 0)
                return -ENOMEM;
        r = fixture_read_file(f, rel, &total);
        if (r == -ENOENT)
                return -EOPNOTSUPP;
        if (r < 0)
                return r;
        if (n > strtoul(total, NULL, 10))
                return -ERANGE;

        r = remove_vfs(f, pf_addr);
        if (r < 0)
                return r;
        return create_vfs(f, pf_addr, n);
}

int fixture_remove_virtfn(Fixture *f, const char *pf_addr, unsigned n) {
        _cleanup_free_ char *link = NULL;
        int r;

        r = fx_check_address(pf_addr);
        if (r < 0)
                return r;
        if (asprintf(&link, "%s/" DEVICES_DIR "/%s/virtfn%u", f->sys, pf_addr, n) < 0)
                return -ENOMEM;
        if (unlink(link) < 0)
                return negative_errno();
        return 0;
}
