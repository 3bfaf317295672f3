/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns a fixture's drivers and as much of the kernel's driver core as the tests need: loaded
 * drivers, a device bound to one or to none (with its dev/vfio/<group> node kept in step), and the
 * kernel's part of a driver_override/unbind/drivers_probe sequence (fixture_simulate_bind()). */

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

/* dev/vfio/<n> exists while a device of group n is bound to vfio-pci, as the kernel's group
 * node exists while vfio-pci holds a device of the group. */
int fx_sync_group_node(Fixture *f, int group) {
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
                if (fx_device_link_name(f, de->d_name, "driver", &driver) >= 0 &&
                    streq(driver, VFIO_PCI_DRIVER))
                        vfio = true;
        }

        return vfio ? fx_touch(node) : fx_unlink_if_present(node);
}

int fixture_add_driver(Fixture *f, const char *driver) {
        _cleanup_free_ char *dir = NULL, *bind = NULL, *unbind = NULL;
        int r;

        if (!driver || !*driver || strchr(driver, '/'))
                return -EINVAL;
        dir = sys_path(f, "bus/pci/drivers/%s", driver);
        if (!dir)
                return -ENOMEM;
        bind = fx_path_join(dir, "bind");
        unbind = fx_path_join(dir, "unbind");
        if (!bind || !unbind)
                return -ENOMEM;
        r = fx_mkdir_p(dir);
        if (r < 0)
                return r;
        r = fx_touch(bind);
        if (r < 0)
                return r;
        return fx_touch(unbind);
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
        return fx_rm_rf(dir);
}

/* The N of the device's <device>/vfio-dev/vfioN, or -ENOENT. */
static int device_cdev(Fixture *f, const char *addr, int *ret) {
        _cleanup_free_ char *dir = sys_path(f, DEVICES_DIR "/%s/vfio-dev", addr);
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;

        if (!dir)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                return negative_errno();
        while ((de = readdir(d)))
                if (strncmp(de->d_name, "vfio", 4) == 0 && de->d_name[4] >= '0' && de->d_name[4] <= '9') {
                        *ret = atoi(de->d_name + 4);
                        return 0;
                }
        return -ENOENT;
}

/* The kernel's VFIO cdev (CONFIG_VFIO_DEVICE_CDEV) of a device bound to vfio-pci with an IOMMU
 * group: <device>/vfio-dev/vfioN and dev/vfio/devices/vfioN, N the lowest free index. The node
 * holds the device's address: that is how the kernel model knows whose cdev it is. */
static int add_cdev(Fixture *f, const char *addr) {
        _cleanup_free_ char *devices = NULL, *dir = NULL, *contents = NULL;
        int group, n, r;

        r = fx_device_group(f, addr, &group);
        if (r < 0)
                return r;
        if (group < 0 || device_cdev(f, addr, &n) >= 0)
                return 0;
        if (asprintf(&devices, "%s/vfio/devices", f->dev) < 0 || asprintf(&contents, "%s\n", addr) < 0)
                return -ENOMEM;
        r = fx_mkdir_p(devices);
        if (r < 0)
                return r;
        for (n = 0;; n++) {
                _cleanup_free_ char *node = NULL;

                if (asprintf(&node, "%s/vfio%d", devices, n) < 0)
                        return -ENOMEM;
                if (access(node, F_OK) == 0)
                        continue;
                r = fx_create_file(node, contents);
                if (r < 0)
                        return r;
                break;
        }
        dir = sys_path(f, DEVICES_DIR "/%s/vfio-dev/vfio%d", addr, n);
        if (!dir)
                return -ENOMEM;
        return fx_mkdir_p(dir);
}

static int remove_cdev(Fixture *f, const char *addr) {
        _cleanup_free_ char *node = NULL, *dir = NULL;
        int n, r;

        r = device_cdev(f, addr, &n);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        dir = sys_path(f, DEVICES_DIR "/%s/vfio-dev", addr);
        if (!dir || asprintf(&node, "%s/vfio/devices/vfio%d", f->dev, n) < 0)
                return -ENOMEM;
        r = fx_unlink_if_present(node);
        if (r < 0)
                return r;
        return fx_rm_rf(dir);
}

int fx_unbind_device(Fixture *f, const char *addr) {
        _cleanup_free_ char *old = NULL, *back = NULL, *link = NULL;
        int r;

        r = remove_cdev(f, addr);
        if (r < 0)
                return r;
        r = fx_device_link_name(f, addr, "driver", &old);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        link = sys_path(f, DEVICES_DIR "/%s/driver", addr);
        if (asprintf(&back, "%s/bus/pci/drivers/%s/%s", f->sys, old, addr) < 0 || !link)
                return -ENOMEM;
        r = fx_unlink_if_present(back);
        if (r < 0)
                return r;
        return fx_unlink_if_present(link);
}

int fx_bind_device(Fixture *f, const char *addr, const char *driver) {
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
        return streq(driver, VFIO_PCI_DRIVER) ? add_cdev(f, addr) : 0;
}

int fixture_set_driver(Fixture *f, const char *addr, const char *driver) {
        int group, r;

        r = fx_check_address(addr);
        if (r < 0)
                return r;
        if (!fx_device_exists(f, addr))
                return -ENOENT;
        r = fx_unbind_device(f, addr);
        if (r < 0)
                return r;
        if (driver) {
                r = fx_bind_device(f, addr, driver);
                if (r < 0)
                        return r;
        }
        r = fx_device_group(f, addr, &group);
        if (r < 0)
                return r;
        return fx_sync_group_node(f, group);
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

        r = fx_check_address(addr);
        if (r < 0)
                return r;
        if (!fx_device_exists(f, addr))
                return -ENOENT;

        r = fx_device_link_name(f, addr, "driver", &driver);
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
