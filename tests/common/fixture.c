/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the fake sysfs and /dev trees described in fixture.h. The tree is the only state: every
 * operation reads back what it needs (a PF's driver and group, its VF links), so that trees made
 * by mkfixture in another process can be changed later like any other. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "pci-address.h"

#define VFIO_PCI_DRIVER "vfio-pci"
#define DEVICES_DIR "devices/pci0000:00" /* under sys/ */

struct Fixture {
        char *base; /* absolute */
        char *sys;
        char *dev;
        bool created_base;
        bool keep;
};

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static char *path_join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s/%s", a, b) < 0)
                return NULL;
        return p;
}

/* <base>/sys/<printf-formatted relative path>, NULL when out of memory. */
_printf_(2, 3) static char *sys_path(const Fixture *f, const char *fmt, ...) {
        _cleanup_free_ char *rel = NULL;
        va_list ap;
        char *p;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&rel, fmt, ap);
        va_end(ap);
        if (r < 0)
                return NULL;
        if (asprintf(&p, "%s/%s", f->sys, rel) < 0)
                return NULL;
        return p;
}

static int mkdir_p(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

static int write_file(const char *path, const char *contents, int flags) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(contents);

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | flags, 0644);
        if (fd < 0)
                return negative_errno();
        if (len > 0 && write(fd, contents, len) != (ssize_t) len)
                return -EIO;
        return 0;
}

static int create_file(const char *path, const char *contents) {
        return write_file(path, contents, O_CREAT | O_TRUNC);
}

static int touch(const char *path) {
        return write_file(path, "", O_CREAT);
}

static int unlink_if_present(const char *path) {
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

static int rm_rf_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (nftw(path, rm_rf_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
                return negative_errno();
        return 0;
}

/* Basename of the symlink at path, -ENOENT if there is none. */
static int link_name(const char *path, char **ret) {
        char target[PATH_MAX];
        const char *b;
        ssize_t n;

        n = readlink(path, target, sizeof target - 1);
        if (n < 0)
                return negative_errno();
        target[n] = '\0';
        b = strrchr(target, '/');
        b = b ? b + 1 : target;
        *ret = strdup(b);
        return *ret ? 0 : -ENOMEM;
}

static int device_link_name(Fixture *f, const char *addr, const char *link, char **ret) {
        _cleanup_free_ char *p = sys_path(f, DEVICES_DIR "/%s/%s", addr, link);

        if (!p)
                return -ENOMEM;
        return link_name(p, ret);
}

/* The device's IOMMU group number, -1 if it has none. */
static int device_group(Fixture *f, const char *addr, int *ret) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = device_link_name(f, addr, "iommu_group", &name);
        if (r == -ENOENT) {
                *ret = -1;
                return 0;
        }
        if (r < 0)
                return r;
        *ret = atoi(name);
        return 0;
}

static int check_address(const char *addr) {
        char canonical[PCI_ADDRESS_MAX];

        if (pci_address_parse(addr, canonical) < 0 || !streq(canonical, addr))
                return -EINVAL;
        return 0;
}

static bool device_exists(Fixture *f, const char *addr) {
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

/* dev/vfio/<n> exists while a device of group n is bound to vfio-pci, as the kernel's group
 * node exists while vfio-pci holds a device of the group. */
static int sync_group_node(Fixture *f, int group) {
        _cleanup_free_ char *node = NULL, *dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        bool vfio = false;
        struct dirent *de;

        if (group < 0)
                return 0;
        dir = sys_path(f, "kernel/iommu_groups/%d/devices", group);
        if (!dir || asprintf(&node, "%s/vfio/%d", f->dev, group) < 0)
                return -ENOMEM;

        d = opendir(dir);
        if (!d && errno != ENOENT)
                return negative_errno();
        while (d && (de = readdir(d))) {
                _cleanup_free_ char *driver = NULL;

                if (de->d_name[0] == '.')
                        continue;
                if (device_link_name(f, de->d_name, "driver", &driver) >= 0 &&
                    streq(driver, VFIO_PCI_DRIVER))
                        vfio = true;
        }

        return vfio ? touch(node) : unlink_if_present(node);
}

int fixture_add_driver(Fixture *f, const char *driver) {
        _cleanup_free_ char *dir = NULL, *bind = NULL, *unbind = NULL;
        int r;

        if (!driver || !*driver || strchr(driver, '/'))
                return -EINVAL;
        dir = sys_path(f, "bus/pci/drivers/%s", driver);
        if (!dir)
                return -ENOMEM;
        bind = path_join(dir, "bind");
        unbind = path_join(dir, "unbind");
        if (!bind || !unbind)
                return -ENOMEM;
        r = mkdir_p(dir);
        if (r < 0)
                return r;
        r = touch(bind);
        if (r < 0)
                return r;
        return touch(unbind);
}

int fixture_remove_driver(Fixture *f, const char *driver) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        dir = sys_path(f, "bus/pci/drivers/%s", driver);
        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return negative_errno();
        while ((de = readdir(d)))
                if (pci_address_is_valid(de->d_name))
                        return -EBUSY;
        return rm_rf(dir);
}

static int unbind_device(Fixture *f, const char *addr) {
        _cleanup_free_ char *old = NULL, *back = NULL, *link = NULL;
        int r;

        r = device_link_name(f, addr, "driver", &old);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        link = sys_path(f, DEVICES_DIR "/%s/driver", addr);
        if (asprintf(&back, "%s/bus/pci/drivers/%s/%s", f->sys, old, addr) < 0 || !link)
                return -ENOMEM;
        r = unlink_if_present(back);
        if (r < 0)
                return r;
        return unlink_if_present(link);
}

static int bind_device(Fixture *f, const char *addr, const char *driver) {
        _cleanup_free_ char *target = NULL, *link = NULL, *back = NULL, *back_target = NULL;
        int r;

        r = fixture_add_driver(f, driver);
        if (r < 0)
                return r;
        if (asprintf(&target, "../../../bus/pci/drivers/%s", driver) < 0 ||
            asprintf(&back, "%s/bus/pci/drivers/%s/%s", f->sys, driver, addr) < 0 ||
            asprintf(&back_target, "../../../../" DEVICES_DIR "/%s", addr) < 0)
                return -ENOMEM;
        link = sys_path(f, DEVICES_DIR "/%s/driver", addr);
        if (!link)
                return -ENOMEM;
        if (symlink(target, link) < 0 || symlink(back_target, back) < 0)
                return negative_errno();
        return 0;
}

int fixture_set_driver(Fixture *f, const char *addr, const char *driver) {
        int group, r;

        r = check_address(addr);
        if (r < 0)
                return r;
        if (!device_exists(f, addr))
                return -ENOENT;
        r = unbind_device(f, addr);
        if (r < 0)
                return r;
        if (driver) {
                r = bind_device(f, addr, driver);
                if (r < 0)
                        return r;
        }
        r = device_group(f, addr, &group);
        if (r < 0)
                return r;
        return sync_group_node(f, group);
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
                _cleanup_free_ char *p = path_join(dir, "driver_override");

                if (!p)
                        return -ENOMEM;
                r = create_file(p, "(null)\n");
                if (r < 0)
                        return r;
        }

        if (total_vfs > 0) {
                _cleanup_free_ char *t = path_join(dir, "sriov_totalvfs"),
                                    *n = path_join(dir, "sriov_numvfs");

                if (!t || !n)
                        return -ENOMEM;
                (void) snprintf(num, sizeof num, "%u\n", total_vfs);
                r = create_file(t, num);
                if (r < 0)
                        return r;
                r = create_file(n, "0\n");
                if (r < 0)
                        return r;
        }

        if (physfn) {
                _cleanup_free_ char *p = path_join(dir, "physfn"), *target = path_join("..", physfn);

                if (!p || !target)
                        return -ENOMEM;
                if (symlink(target, p) < 0)
                        return negative_errno();
        }

        if (group >= 0) {
                _cleanup_free_ char *gdir = NULL, *glink = NULL, *gtarget = NULL, *back = NULL,
                                    *back_target = NULL;

                gdir = sys_path(f, "kernel/iommu_groups/%d/devices", group);
                glink = path_join(dir, "iommu_group");
                if (!gdir || !glink || asprintf(&gtarget, "../../../kernel/iommu_groups/%d", group) < 0 ||
                    asprintf(&back, "%s/%s", gdir, addr) < 0 ||
                    asprintf(&back_target, "../../../../" DEVICES_DIR "/%s", addr) < 0)
                        return -ENOMEM;
                r = mkdir_p(gdir);
                if (r < 0)
                        return r;
                if (symlink(gtarget, glink) < 0 || symlink(back_target, back) < 0)
                        return negative_errno();
        }

        if (symlink(bus_target, bus_link) < 0)
                return negative_errno();

        if (driver) {
                r = bind_device(f, addr, driver);
                if (r < 0)
                        return r;
        }
        return sync_group_node(f, group);
}

/* Creates VFs 0..n-1 of a PF that has none, and records the count in sriov_numvfs. */
static int create_vfs(Fixture *f, const char *pf, unsigned n) {
        _cleanup_free_ char *driver = NULL, *numvfs = NULL;
        int group, r;
        char num[32];

        r = device_link_name(f, pf, "driver", &driver);
        if (r < 0 && r != -ENOENT)
                return r;
        r = device_group(f, pf, &group);
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
                target = path_join("..", vf);
                if (!link || !target)
                        return -ENOMEM;
                if (symlink(target, link) < 0)
                        return negative_errno();
        }

        numvfs = sys_path(f, DEVICES_DIR "/%s/sriov_numvfs", pf);
        if (!numvfs)
                return -ENOMEM;
        (void) snprintf(num, sizeof num, "%u\n", n);
        return create_file(numvfs, num);
}

int fixture_add_pf(Fixture *f, const char *pf_addr, const char *driver, unsigned total_vfs, unsigned num_vfs,
                   int iommu_group_base) {
        int r;

        r = check_address(pf_addr);
        if (r < 0)
                return r;
        if (num_vfs > total_vfs || total_vfs > 0xffff)
                return -EINVAL;

        /* Check every address first, so that a clash leaves the tree as it was. */
        if (device_exists(f, pf_addr))
                return -EEXIST;
        for (unsigned i = 0; i < num_vfs; i++) {
                char vf[PCI_ADDRESS_MAX];

                r = vf_address(pf_addr, i, vf);
                if (r < 0)
                        return r;
                if (device_exists(f, vf))
                        return -EEXIST;
        }

        r = add_device(f, pf_addr, driver, iommu_group_base, NULL, total_vfs);
        if (r < 0)
                return r;
        return create_vfs(f, pf_addr, num_vfs);
}

int fixture_add_device(Fixture *f, const char *addr, const char *driver, int iommu_group) {
        int r;

        r = check_address(addr);
        if (r < 0)
                return r;
        if (device_exists(f, addr))
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
        if (!device_exists(f, addr))
                return -ENOENT;

        r = remove_vfs(f, addr);
        if (r < 0)
                return r;

        /* A VF removed on its own: its PF no longer lists it. */
        r = device_link_name(f, addr, "physfn", &physfn);
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
                        l = path_join(pfdir, de->d_name);
                        if (!l)
                                return -ENOMEM;
                        if (link_name(l, &name) >= 0 && streq(name, addr))
                                (void) unlink(l);
                }
        }

        r = device_group(f, addr, &group);
        if (r < 0)
                return r;
        r = unbind_device(f, addr);
        if (r < 0)
                return r;
        if (group >= 0) {
                _cleanup_free_ char *gdir = sys_path(f, "kernel/iommu_groups/%d", group),
                                    *devices = sys_path(f, "kernel/iommu_groups/%d/devices", group),
                                    *back = sys_path(f, "kernel/iommu_groups/%d/devices/%s", group, addr);

                if (!gdir || !devices || !back)
                        return -ENOMEM;
                r = unlink_if_present(back);
                if (r < 0)
                        return r;
                /* The kernel drops a group with its last device (rmdir fails while others remain). */
                if (rmdir(devices) >= 0)
                        (void) rmdir(gdir);
        }

        /* The bus link goes first: lookups by address fail from then on. */
        r = unlink_if_present(bus_link);
        if (r < 0)
                return r;
        r = rm_rf(dir);
        if (r < 0)
                return r;
        return sync_group_node(f, group);
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
                l = path_join(dir, de->d_name);
                if (!l)
                        return -ENOMEM;
                r = link_name(l, &vf);
                if (r < 0)
                        return r;
                if (unlink(l) < 0)
                        return negative_errno();
                if (device_exists(f, vf)) {
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

        r = check_address(addr);
        if (r < 0)
                return r;
        return remove_device(f, addr);
}

int fixture_set_num_vfs(Fixture *f, const char *pf_addr, unsigned n) {
        _cleanup_free_ char *rel = NULL, *total = NULL;
        int r;

        r = check_address(pf_addr);
        if (r < 0)
                return r;
        if (!device_exists(f, pf_addr))
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

        r = check_address(pf_addr);
        if (r < 0)
                return r;
        if (asprintf(&link, "%s/" DEVICES_DIR "/%s/virtfn%u", f->sys, pf_addr, n) < 0)
                return -ENOMEM;
        if (unlink(link) < 0)
                return negative_errno();
        return 0;
}

/* Contents of a written sysfs file without the trailing newline `echo` adds. */
static int read_value(Fixture *f, const char *relpath, char **ret) {
        char *s;
        size_t len;
        int r;

        r = fixture_read_file(f, relpath, &s);
        if (r < 0)
                return r;
        len = strlen(s);
        if (len > 0 && s[len - 1] == '\n')
                s[len - 1] = '\0';
        *ret = s;
        return 0;
}

int fixture_simulate_bind(Fixture *f, const char *addr) {
        _cleanup_free_ char *driver = NULL, *rel = NULL, *written = NULL, *override = NULL;
        int r;

        r = check_address(addr);
        if (r < 0)
                return r;
        if (!device_exists(f, addr))
                return -ENOENT;

        r = device_link_name(f, addr, "driver", &driver);
        if (r < 0 && r != -ENOENT)
                return r;
        if (driver) {
                if (asprintf(&rel, "sys/bus/pci/drivers/%s/unbind", driver) < 0)
                        return -ENOMEM;
                r = read_value(f, rel, &written);
                if (r < 0)
                        return r;
                if (streq(written, addr)) {
                        r = fixture_write_file(f, rel, "");
                        if (r < 0)
                                return r;
                        r = fixture_set_driver(f, addr, NULL);
                        if (r < 0)
                                return r;
                        driver = mfree(driver);
                }
                written = mfree(written);
        }

        r = read_value(f, "sys/bus/pci/drivers_probe", &written);
        if (r < 0)
                return r;
        if (!streq(written, addr))
                return 0;
        r = fixture_write_file(f, "sys/bus/pci/drivers_probe", "");
        if (r < 0)
                return r;
        if (driver)
                return 0;

        rel = mfree(rel);
        if (asprintf(&rel, "sys/" DEVICES_DIR "/%s/driver_override", addr) < 0)
                return -ENOMEM;
        r = read_value(f, rel, &override);
        if (r < 0)
                return r;
        if (!*override || streq(override, "(null)"))
                return 0;
        {
                _cleanup_free_ char *dir = sys_path(f, "bus/pci/drivers/%s", override);
                struct stat st;

                if (!dir)
                        return -ENOMEM;
                if (stat(dir, &st) < 0)
                        return 0; /* not loaded: the device stays unbound, as with the kernel */
        }
        return fixture_set_driver(f, addr, override);
}

int fixture_read_file(Fixture *f, const char *relpath, char **ret) {
        _cleanup_free_ char *p = path_join(f->base, relpath), *buf = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = 0, allocated = 0;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        for (;;) {
                ssize_t n;

                if (allocated - len < 2) {
                        char *b = realloc(buf, allocated + 4096);

                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated += 4096;
                }
                n = read(fd, buf + len, allocated - len - 1);
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

int fixture_write_file(Fixture *f, const char *relpath, const char *contents) {
        _cleanup_free_ char *p = path_join(f->base, relpath);

        if (!p)
                return -ENOMEM;
        return write_file(p, contents, O_TRUNC);
}

const char *fixture_base(const Fixture *f) {
        return f->base;
}

const char *fixture_sysfs(const Fixture *f) {
        return f->sys;
}

const char *fixture_dev(const Fixture *f) {
        return f->dev;
}

void fixture_keep(Fixture *f) {
        f->keep = true;
}

Fixture *fixture_free(Fixture *f) {
        if (!f)
                return NULL;
        if (!f->keep) {
                if (f->created_base)
                        (void) rm_rf(f->base);
                else {
                        (void) rm_rf(f->sys);
                        (void) rm_rf(f->dev);
                }
        }
        free(f->base);
        free(f->sys);
        free(f->dev);
        return mfree(f);
}

static int fixture_populate(Fixture *f) {
        static const char *const dirs[] = {
                ("sys/" DEVICES_DIR), "sys/bus/pci/devices", "sys/bus/pci/drivers",
                "sys/kernel/iommu_groups", "dev/vfio",
        };
        _cleanup_free_ char *probe = NULL, *container = NULL, *marker = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = path_join(f->base, dirs[i]);

                if (!p)
                        return -ENOMEM;
                r = mkdir_p(p);
                if (r < 0)
                        return r;
        }

        probe = path_join(f->sys, "bus/pci/drivers_probe");
        container = path_join(f->dev, "vfio/vfio");
        marker = path_join(f->dev, "vfio/.kmodel-sysfs");
        if (!probe || !container || !marker)
                return -ENOMEM;
        r = touch(probe);
        if (r < 0)
                return r;
        r = touch(container);
        if (r < 0)
                return r;

        /* Re-pointed every time: the base may have been moved since it was made. */
        r = unlink_if_present(marker);
        if (r < 0)
                return r;
        if (symlink(f->sys, marker) < 0)
                return negative_errno();

        return fixture_add_driver(f, VFIO_PCI_DRIVER);
}

int fixture_new(const char *base, Fixture **ret) {
        _cleanup_(fixture_freep) Fixture *f = NULL;
        _cleanup_free_ char *template = NULL;
        bool created = false;
        int r;

        f = calloc(1, sizeof(Fixture));
        if (!f)
                return -ENOMEM;
        f->keep = true; /* until we know what is ours to remove: nothing yet */

        if (!base) {
                const char *tmp = getenv("TMPDIR");

                if (asprintf(&template, "%s/vfio-tokend-fixture.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                        return -ENOMEM;
                if (!mkdtemp(template))
                        return negative_errno();
                base = template;
                created = true;
        } else if (mkdir(base, 0755) >= 0)
                created = true;
        else if (errno != EEXIST)
                return negative_errno();

        f->base = realpath(base, NULL);
        if (!f->base) {
                r = negative_errno();
                if (created)
                        (void) rmdir(base);
                return r;
        }
        f->created_base = created;
        /* A failure below removes a tree we made, never one that was there before. */
        f->keep = !created;
        f->sys = path_join(f->base, "sys");
        f->dev = path_join(f->base, "dev");
        if (!f->sys || !f->dev)
                return -ENOMEM;

        r = fixture_populate(f);
        if (r < 0)
                return r;

        f->keep = false;
        *ret = TAKE_PTR(f);
        return 0;
}
