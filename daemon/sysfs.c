/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the sysfs boundary: what the kernel says of a PCI device (driver, SR-IOV counts, VFs, PF,
 * IOMMU group) and the two setup writes (bind to vfio-pci, set the VF count).
 *
 * Every read goes through one directory fd on the device, so a device that goes away half-way
 * gives an error rather than a mix of two devices; links that are legitimately absent (driver,
 * physfn, iommu_group) are only trusted once the device is known to be still the same. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "io-util.h"
#include "macro.h"
#include "string-util.h"
#include "strv.h"
#include "sysfs.h"

#define VFIO_PCI_DRIVER "vfio-pci"
#define ATTR_MAX 64 /* the attributes read here are numbers */

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* Opens <root>/bus/pci/devices/<address> (a symlink into /sys/devices in real sysfs) and gives
 * the canonical address and the path used, so that callers can check the device is still there. */
static int device_open(const char *root, const char *address, char canonical[static PCI_ADDRESS_MAX],
                       char **ret_path, int *ret_fd) {
        _cleanup_free_ char *path = NULL;
        int fd;

        if (pci_address_parse(address, canonical) < 0)
                return -EINVAL;
        if (asprintf(&path, "%s/bus/pci/devices/%s", root ?: SYSFS_DEFAULT_ROOT, canonical) < 0)
                return -ENOMEM;

        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOTDIR ? -ENOENT : negative_errno();

        if (ret_path)
                *ret_path = TAKE_PTR(path);
        *ret_fd = fd;
        return 0;
}

/* The device directory may be removed (hot unplug, VFs disabled) while we hold an fd on it: then
 * its path is gone, or names a new device with another inode. */
static int device_check_same(const char *path, int dfd) {
        struct stat a, b;

        if (fstat(dfd, &a) < 0)
                return negative_errno();
        if (stat(path, &b) < 0)
                return errno == ENOENT || errno == ENOTDIR ? -ENODEV : negative_errno();
        if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
                return -ENODEV;
        return 0;
}

/* The last component of the symlink `name` under dfd: sysfs names drivers, groups and devices by
 * the basename of their links. -ENOENT if there is no such link. */
static int read_link_name(int dfd, const char *name, char *ret, size_t size) {
        char target[PATH_MAX];
        const char *base;
        ssize_t n;
        size_t len;

        n = readlinkat(dfd, name, target, sizeof target);
        if (n < 0)
                return errno == EINVAL ? -EBADMSG : negative_errno(); /* EINVAL: not a symlink */
        if ((size_t) n >= sizeof target)
                return -ENAMETOOLONG;
        while (n > 1 && target[n - 1] == '/')
                n--;
        target[n] = '\0';

        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (!*base || streq(base, ".") || streq(base, ".."))
                return -EBADMSG;
        len = strlen(base);
        if (len >= size)
                return -ENAMETOOLONG;
        memcpy(ret, base, len + 1);
        return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v;
        char *end;

        if (*s < '0' || *s > '9')
                return -EBADMSG;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end || v > max)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* Reads a decimal attribute such as sriov_numvfs ("4\n"). */
static int read_uint_at(int dfd, const char *name, unsigned *ret) {
        _cleanup_close_ int fd = -1;
        char buf[ATTR_MAX];
        unsigned long v;
        size_t len = 0;
        ssize_t n;
        int r;

        fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        n = loop_read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return (int) n; /* ENODEV: the device was removed under us */
        if ((size_t) n >= sizeof buf - 1)
                return -EBADMSG; /* longer than any number we expect */
        len = (size_t) n;
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        buf[len] = '\0';

        r = parse_uint(buf, UINT_MAX, &v);
        if (r < 0)
                return r;
        *ret = (unsigned) v;
        return 0;
}

/* Writes an attribute in a single write(): sysfs takes one write as the whole value, so a short
 * write cannot be completed by another. O_TRUNC is harmless on sysfs (the shell's '>' uses it)
 * and leaves a fixture's plain file holding exactly what was written. */
static int write_string_at(int dfd, const char *name, const char *s) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(s);
        ssize_t n;

        fd = openat(dfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        n = write(fd, s, len);
        if (n < 0)
                return negative_errno();
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

typedef struct VfLink {
        unsigned index;
        char address[PCI_ADDRESS_MAX];
} VfLink;

static int vf_link_compare(const void *a, const void *b) {
        const VfLink *x = a, *y = b;

        return x->index < y->index ? -1 : x->index > y->index;
}

/* "virtfn<N>" as the kernel prints it (no leading zeros), N below the 16-bit VF count limit. */
static bool parse_virtfn_name(const char *name, unsigned *ret) {
        unsigned long v;
        const char *p;

        if (strncmp(name, "virtfn", STRLEN("virtfn")) != 0)
                return false;
        p = name + STRLEN("virtfn");
        if (p[0] == '0' && p[1] != '\0')
                return false;
        if (parse_uint(p, 0xffff, &v) < 0)
                return false;
        *ret = (unsigned) v;
        return true;
}

/* Collects the virtfn<N> links by scanning the directory rather than counting up from 0, so that a
 * missing link leaves a gap instead of hiding the VFs after it; sorted by N. */
static int read_vfs(int dfd, char ***ret, size_t *ret_n) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_close_ int fd = -1;
        _cleanup_free_ VfLink *links = NULL;
        _cleanup_strv_free_ char **vfs = NULL;
        size_t n = 0, allocated = 0;

        fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        TAKE_FD(fd);

        for (;;) {
                char name[NAME_MAX + 1];
                struct dirent *de;
                unsigned index;
                int r;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return negative_errno();
                        break;
                }
                if (!parse_virtfn_name(de->d_name, &index))
                        continue;
                if (n >= SYSFS_MAX_VFS)
                        return -E2BIG;
                if (n >= allocated) {
                        size_t a = allocated ? allocated * 2 : 8;
                        VfLink *l = reallocarray(links, a, sizeof(VfLink));

                        if (!l)
                                return -ENOMEM;
                        links = l;
                        allocated = a;
                }

                r = read_link_name(dirfd(d), de->d_name, name, sizeof name);
                if (r == -ENOENT)
                        continue; /* VFs being disabled right now: report what is still there */
                if (r < 0)
                        return r;
                if (pci_address_parse(name, links[n].address) < 0)
                        return -EBADMSG;
                links[n].index = index;
                n++;
        }

        if (n > 0)
                qsort(links, n, sizeof(VfLink), vf_link_compare);

        vfs = calloc(n + 1, sizeof(char *));
        if (!vfs)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                vfs[i] = strdup(links[i].address);
                if (!vfs[i])
                        return -ENOMEM;
        }

        *ret = TAKE_PTR(vfs);
        *ret_n = n;
        return 0;
}

static int parse_group(const char *name, int *ret) {
        unsigned long v;

        if (parse_uint(name, INT_MAX, &v) < 0)
                return -EBADMSG;
        *ret = (int) v;
        return 0;
}

/* <device>/vfio-dev/vfioN: the device's VFIO cdev (/dev/vfio/devices/vfioN), present while a VFIO
 * driver holds the device on a kernel with CONFIG_VFIO_DEVICE_CDEV. -ENOENT when there is none. */
static int read_vfio_cdev(int dfd, int *ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        unsigned long v;
        int fd;

        fd = openat(dfd, "vfio-dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOTDIR ? -ENOENT : negative_errno();
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return negative_errno();
        }
        while ((errno = 0, de = readdir(d)))
                if (strncmp(de->d_name, "vfio", 4) == 0 && parse_uint(de->d_name + 4, INT_MAX, &v) >= 0) {
                        *ret = (int) v;
                        return 0;
                }
        return errno > 0 ? -errno : -ENOENT;
}

int pci_device_vfio_node(const PciDevice *d, VfioApi api) {
        return api == VFIO_API_CDEV ? d->vfio_cdev : d->iommu_group;
}

PciDevice *pci_device_free(PciDevice *d) {
        if (!d)
                return NULL;
        free(d->driver);
        strv_free(d->vfs);
        return mfree(d);
}

int sysfs_read_physfn(const char *root, const char *address, char ret[static PCI_ADDRESS_MAX]) {
        _cleanup_free_ char *path = NULL;
        char canonical[PCI_ADDRESS_MAX], target[PATH_MAX], name[PCI_ADDRESS_MAX];
        const char *base;
        ssize_t n;

        if (pci_address_parse(address, canonical) < 0)
                return -EINVAL;
        if (asprintf(&path, "%s/bus/pci/devices/%s/physfn", root ?: SYSFS_DEFAULT_ROOT, canonical) < 0)
                return -ENOMEM;
        n = readlink(path, target, sizeof target);
        if (n < 0)
                return errno == ENOTDIR ? -ENOENT : errno == EINVAL ? -EBADMSG : negative_errno();
        if ((size_t) n >= sizeof target)
                return -ENAMETOOLONG;
        target[n] = '\0';
        base = strrchr(target, '/');
        base = base ? base + 1 : target;
        if (strlen(base) >= sizeof name)
                return -EBADMSG;
        strcpy(name, base);
        if (pci_address_parse(name, ret) < 0)
                return -EBADMSG;
        return 0;
}

int sysfs_device_read(const char *root, const char *address, PciDevice **ret) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int dfd = -1;
        char name[NAME_MAX + 1];
        int r;

        d = calloc(1, sizeof(PciDevice));
        if (!d)
                return -ENOMEM;
        d->iommu_group = -1;
        d->vfio_cdev = -1;

        r = device_open(root, address, d->address, &path, &dfd);
        if (r < 0)
                return r;

        r = read_link_name(dfd, "driver", name, sizeof name);
        if (r >= 0) {
                d->driver = strdup(name);
                if (!d->driver)
                        return -ENOMEM;
        } else if (r != -ENOENT)
                return r;

        r = read_uint_at(dfd, "sriov_totalvfs", &d->total_vfs);
        if (r >= 0) {
                d->sriov_capable = true;

                r = read_uint_at(dfd, "sriov_numvfs", &d->num_vfs);
                if (r == -ENOENT)
                        return -ENODEV; /* the kernel creates both together: the device went away */
                if (r < 0)
                        return r;

                r = read_vfs(dfd, &d->vfs, &d->n_vfs);
                if (r == -ENOENT)
                        return -ENODEV; /* the directory itself is gone (a dead directory) */
                if (r < 0)
                        return r;
        } else if (r != -ENOENT)
                return r;

        if (!d->vfs) {
                d->vfs = calloc(1, sizeof(char *));
                if (!d->vfs)
                        return -ENOMEM;
        }

        r = read_link_name(dfd, "physfn", name, sizeof name);
        if (r >= 0) {
                if (pci_address_parse(name, d->physfn) < 0)
                        return -EBADMSG;
        } else if (r != -ENOENT)
                return r;

        r = read_link_name(dfd, "iommu_group", name, sizeof name);
        if (r >= 0) {
                r = parse_group(name, &d->iommu_group);
                if (r < 0)
                        return r;
        } else if (r != -ENOENT)
                return r;

        r = read_vfio_cdev(dfd, &d->vfio_cdev);
        if (r < 0 && r != -ENOENT)
                return r;

        /* An absent link or cdev above reads as "unbound", "no group" or "no cdev" only if the
         * device is still here. */
        r = device_check_same(path, dfd);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(d);
        return 0;
}

bool sysfs_device_exists(const char *root, const char *address) {
        char canonical[PCI_ADDRESS_MAX];
        _cleanup_close_ int dfd = -1;

        return device_open(root, address, canonical, NULL, &dfd) >= 0;
}

int sysfs_bind_vfio(const char *root, const char *address) {
        _cleanup_close_ int dfd = -1, rootfd = -1;
        char canonical[PCI_ADDRESS_MAX], driver[NAME_MAX + 1];
        unsigned num_vfs;
        bool bound;
        int r;

        r = device_open(root, address, canonical, NULL, &dfd);
        if (r < 0)
                return r == -ENOENT ? -ENODEV : r;

        r = read_link_name(dfd, "driver", driver, sizeof driver);
        if (r < 0 && r != -ENOENT)
                return r;
        bound = r >= 0;
        if (bound && streq(driver, VFIO_PCI_DRIVER))
                return 0;

        /* vfio-pci refuses a PF whose VFs exist, and unbinding it first would already have taken
         * the VFs away from whoever uses them: refuse before touching anything. */
        r = read_uint_at(dfd, "sriov_numvfs", &num_vfs);
        if (r >= 0 && num_vfs > 0)
                return -EBUSY;
        if (r < 0 && r != -ENOENT)
                return r;

        /* drivers_probe does not load modules: without vfio-pci the device would be left unbound. */
        rootfd = open(root ?: SYSFS_DEFAULT_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return negative_errno();
        if (faccessat(rootfd, "bus/pci/drivers/" VFIO_PCI_DRIVER, F_OK, 0) < 0)
                return errno == ENOENT ? -ENXIO : negative_errno();

        r = write_string_at(dfd, "driver_override", VFIO_PCI_DRIVER);
        if (r < 0)
                return r == -ENOENT ? -ENODEV : r; /* every PCI device has one: it went away */

        if (bound) {
                /* Through the device's own driver link, so it is the driver it is bound to now.
                 * ENOENT/ENODEV: it let go of the device meanwhile, which is what we want. */
                r = write_string_at(dfd, "driver/unbind", canonical);
                if (r < 0 && r != -ENOENT && r != -ENODEV)
                        return r;
        }

        r = write_string_at(rootfd, "bus/pci/drivers_probe", canonical);
        if (r < 0)
                return r;

        /* A failed probe is not reported by drivers_probe (the kernel lets the next driver try):
         * the driver link is the only answer. */
        r = read_link_name(dfd, "driver", driver, sizeof driver);
        if (r == -ENOENT || (r >= 0 && !streq(driver, VFIO_PCI_DRIVER)))
                return -EIO;
        return r < 0 ? r : 0;
}

int sysfs_set_num_vfs(const char *root, const char *address, unsigned n) {
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int dfd = -1;
        char canonical[PCI_ADDRESS_MAX], buf[32];
        unsigned total, current;
        int r;

        r = device_open(root, address, canonical, &path, &dfd);
        if (r < 0)
                return r == -ENOENT ? -ENODEV : r;

        r = read_uint_at(dfd, "sriov_totalvfs", &total);
        if (r == -ENOENT) {
                r = device_check_same(path, dfd);
                return r < 0 ? r : -EOPNOTSUPP;
        }
        if (r < 0)
                return r;
        r = read_uint_at(dfd, "sriov_numvfs", &current);
        if (r < 0)
                return r == -ENOENT ? -ENODEV : r;

        /* Writing the same count again is not a no-op for the kernel: 0 blocks while VFs are open,
         * and a non-zero count gives EBUSY. */
        if (current == n)
                return 0;

        /* The PCI core's own checks, made here too so that nothing is written in vain; the kernel
         * gives the same errors. */
        if (n > total)
                return -ERANGE;
        if (current != 0 && n != 0)
                return -EBUSY;

        (void) snprintf(buf, sizeof buf, "%u", n);
        r = write_string_at(dfd, "sriov_numvfs", buf);
        if (r == -ENOENT) {
                /* The driver's answer (no SR-IOV through sysfs, or vfio-pci without enable_sriov),
                 * unless the file was missing because the device just went away. */
                int q = device_check_same(path, dfd);

                return q < 0 ? q : r;
        }
        return r;
}

const char *sysfs_strerror(int error, bool numvfs) {
        error = abs(error);

        switch (error) {
        case EPERM:
        case EACCES:
                return "permission denied writing to sysfs: setting up PFs needs root "
                       "(vfio-tokend --setup runs as root)";
        case ENODEV:
                return "no such PCI device in sysfs (it is absent or was removed; check the address "
                       "with lspci -D)";
        case EINVAL:
                return "malformed PCI address (expected DDDD:BB:DD.F, e.g. 0000:3b:00.0)";
        case EBADMSG:
                return "unexpected contents in the device's sysfs directory";
        }

        if (numvfs)
                switch (error) {
                case ENOENT:
                        return "vfio-pci refuses to enable VFs: load vfio-pci with enable_sriov=1 "
                               "(modprobe vfio-pci enable_sriov=1, or echo 1 > "
                               "/sys/module/vfio_pci/parameters/enable_sriov); on another driver, "
                               "that driver does not support setting sriov_numvfs";
                case ERANGE:
                        return "more VFs requested than the device supports (see its sriov_totalvfs)";
                case EBUSY:
                        return "VFs are already enabled with another count, and the kernel changes a "
                               "non-zero count only through 0 (echo 0 > sriov_numvfs first, which "
                               "destroys the VFs and waits until none is in use)";
                case EOPNOTSUPP:
                        return "the device is not SR-IOV capable (it has no sriov_totalvfs)";
                }
        else
                switch (error) {
                case ENOENT:
                        return "no such PCI device in sysfs (check the address with lspci -D)";
                case EBUSY:
                        return "the PF has VFs enabled, and vfio-pci refuses to bind such a PF: set its "
                               "sriov_numvfs to 0 first (this destroys the VFs)";
                case ENXIO:
                        return "the vfio-pci driver is not loaded (modprobe vfio-pci)";
                case EIO:
                        return "the device did not bind to vfio-pci: see the kernel log (dmesg); vfio-pci "
                               "needs an enabled IOMMU (intel_iommu=on or amd_iommu=on) and an IOMMU "
                               "group for the device";
                }

        return strerror(error);
}
