/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the root-only PF setup: driver binding, VF enablement, device node ownership. */

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "setup.h"
#include "string-util.h"
#include "sysfs.h"
#include "vfio.h"

/* Hands the node the daemon opens the PF through (the IOMMU group's /dev/vfio/N, or the PF's
 * cdev /dev/vfio/devices/vfioN) to the service user, and not more: 0600. */
static int setup_node(const char *path, uid_t uid, gid_t gid) {
        if (uid == (uid_t) -1)
                return 0;
        if (chown(path, uid, gid) < 0)
                return -errno;
        if (chmod(path, 0600) < 0)
                return -errno;
        return 0;
}

/* POSIX ACLs as the kernel stores them in the system.posix_acl_access xattr (little endian):
 * a version, then entries sorted by tag (and named users by uid), with a mask whenever there
 * are named entries. */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_XATTR_VERSION 2
#define ACL_ENTRIES_MAX 64
enum {
        ACL_TAG_USER_OBJ = 0x01,
        ACL_TAG_USER = 0x02,
        ACL_TAG_GROUP_OBJ = 0x04,
        ACL_TAG_GROUP = 0x08,
        ACL_TAG_MASK = 0x10,
        ACL_TAG_OTHER = 0x20,
};
#define ACL_ID_NONE UINT32_MAX

typedef struct AclEntry {
        uint16_t tag, perm;
        uint32_t id;
} AclEntry;

static bool acl_entry_before(const AclEntry *a, const AclEntry *b) {
        return a->tag != b->tag ? a->tag < b->tag : a->id < b->id;
}

/* Puts `add` where it belongs in the sorted e[0..*n), which has room for it. */
static void acl_insert(AclEntry *e, size_t *n, AclEntry add) {
        size_t i = 0;

        while (i < *n && acl_entry_before(&e[i], &add))
                i++;
        memmove(e + i + 1, e + i, (*n - i) * sizeof *e);
        e[i] = add;
        (*n)++;
}

/* Adds rw for uid to the ACL in e[0..*n) (or makes one from mode when *n == 0): an existing
 * entry of uid gains rw, every other entry is kept, the mask is recomputed. */
static int acl_grant_user_rw(AclEntry *e, size_t *n, size_t max, mode_t mode, uid_t uid) {
        AclEntry mine = { ACL_TAG_USER, 6, (uint32_t) uid }, mask = { ACL_TAG_MASK, 0, ACL_ID_NONE };
        size_t i, j, k = *n;
        bool found = false;

        if (k == 0) {
                e[k++] = (AclEntry) { ACL_TAG_USER_OBJ, (mode >> 6) & 7, ACL_ID_NONE };
                e[k++] = (AclEntry) { ACL_TAG_GROUP_OBJ, (mode >> 3) & 7, ACL_ID_NONE };
                e[k++] = (AclEntry) { ACL_TAG_OTHER, mode & 7, ACL_ID_NONE };
        }
        for (i = 0; i < k; i++)
                if (e[i].tag == ACL_TAG_USER && e[i].id == mine.id) {
                        e[i].perm |= 6;
                        found = true;
                }
        /* Drop the old mask; insert our entry (if new) and a fresh mask in order. */
        for (i = j = 0; i < k; i++)
                if (e[i].tag != ACL_TAG_MASK)
                        e[j++] = e[i];
        k = j;
        for (i = 0; i < k; i++)
                if (e[i].tag == ACL_TAG_USER || e[i].tag == ACL_TAG_GROUP_OBJ || e[i].tag == ACL_TAG_GROUP)
                        mask.perm |= e[i].perm;
        mask.perm |= mine.perm;
        if (k + 2 > max)
                return -E2BIG;
        if (!found)
                acl_insert(e, &k, mine);
        acl_insert(e, &k, mask);
        *n = k;
        return 0;
}

/* /dev/iommu is every iommufd user's node: the service user gets rw on it through an entry in
 * its ACL (as udev's uaccess does for logged-in users), not by owning it; entries others put
 * there stay. */
static int setup_iommu_node(const char *dev_root, uid_t uid) {
        uint8_t buf[4 + ACL_ENTRIES_MAX * 8];
        AclEntry e[ACL_ENTRIES_MAX];
        char path[4096];
        struct stat st;
        size_t n = 0;
        ssize_t len;
        uint32_t v;
        int r;

        if (uid == (uid_t) -1)
                return 0;
        r = vfio_node_path(dev_root, VFIO_API_CDEV, VFIO_FD_CONTAINER, -1, path, sizeof path);
        if (r < 0)
                return r;
        if (stat(path, &st) < 0)
                return -errno;
        len = getxattr(path, ACL_XATTR, buf, sizeof buf);
        if (len < 0 && errno != ENODATA)
                return -errno;
        if (len >= 0) {
                memcpy(&v, buf, 4);
                if (len < 4 || (len - 4) % 8 != 0 || le32toh(v) != ACL_XATTR_VERSION)
                        return -EBADMSG;
                n = (size_t) (len - 4) / 8;
                for (size_t i = 0; i < n; i++) {
                        memcpy(&e[i], buf + 4 + 8 * i, 8);
                        e[i] = (AclEntry) { le16toh(e[i].tag), le16toh(e[i].perm), le32toh(e[i].id) };
                }
        }
        r = acl_grant_user_rw(e, &n, ELEMENTSOF(e), st.st_mode, uid);
        if (r < 0)
                return r;
        v = htole32(ACL_XATTR_VERSION);
        memcpy(buf, &v, 4);
        for (size_t i = 0; i < n; i++) {
                AclEntry le = { htole16(e[i].tag), htole16(e[i].perm), htole32(e[i].id) };

                memcpy(buf + 4 + 8 * i, &le, 8);
        }
        if (setxattr(path, ACL_XATTR, buf, 4 + 8 * n, 0) < 0)
                return -errno;
        return 0;
}

static int setup_pf(const PfConfig *c, const char *sysfs_root, const char *dev_root, uid_t uid, gid_t gid) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        const char *a = c->address;
        char node[4096];
        VfioApi api;
        int n, r;

        r = sysfs_device_read(sysfs_root, a, &d);
        if (r == -ENOENT || r == -ENODEV)
                return log_pf_error_errno(a, 0, r, "No such PCI device, skipping setup.");
        if (r < 0)
                return log_pf_error_errno(a, 0, r, "Failed to read the device from sysfs: %m");
        if (!d->sriov_capable)
                return log_pf_error_errno(a, 0, -EOPNOTSUPP, "Not an SR-IOV physical function, skipping setup.");

        if (!streq_ptr(d->driver, "vfio-pci")) {
                if (!c->bind_vfio)
                        return log_pf_error_errno(a, 0, -EMEDIUMTYPE,
                                                  "Bound to %s, not vfio-pci, and BindVFIO=no: skipping.",
                                                  d->driver ?: "no driver");
                if (d->num_vfs > 0)
                        /* vfio-pci refuses such a PF (EBUSY); disabling VFs would pull them from
                         * under their users, which is the admin's call, not ours. */
                        return log_pf_error_errno(a, 0, -EBUSY,
                                                  "Has %u VF(s) enabled under %s; vfio-pci cannot bind a PF with "
                                                  "VFs. Disable them first (echo 0 > %s/bus/pci/devices/%s/sriov_numvfs).",
                                                  d->num_vfs, d->driver ?: "no driver", sysfs_root, a);
                r = sysfs_bind_vfio(sysfs_root, a);
                if (r < 0)
                        return log_pf_error_errno(a, 0, r, "Failed to bind to vfio-pci: %s", sysfs_strerror(r, false));
                log_pf_info(a, 0, "Bound to vfio-pci (was %s).", d->driver ?: "unbound");
        }

        if (c->num_vfs > 0 && d->num_vfs != c->num_vfs) {
                if (d->num_vfs != 0)
                        /* Changing a live count means going through 0, which blocks while a VF is open
                         * and pulls VFs from their users. */
                        return log_pf_error_errno(a, 0, -EBUSY,
                                                  "Has %u VF(s) enabled, the configuration asks for %u; not changing "
                                                  "a live VF count.",
                                                  d->num_vfs, c->num_vfs);
                if (c->num_vfs > d->total_vfs)
                        return log_pf_error_errno(a, 0, -ERANGE, "NumVFs=%u exceeds the device's %u VFs.",
                                                  c->num_vfs, d->total_vfs);
                r = sysfs_set_num_vfs(sysfs_root, a, c->num_vfs);
                if (r < 0)
                        return log_pf_error_errno(a, 0, r, "Failed to enable %u VFs: %s", c->num_vfs,
                                                  sysfs_strerror(r, true));
                log_pf_info(a, 0, "Enabled %u VF(s).", c->num_vfs);
        }

        /* Re-read: binding and enabling changed what sysfs shows. */
        pci_device_free(TAKE_PTR(d));
        r = sysfs_device_read(sysfs_root, a, &d);
        if (r < 0)
                return log_pf_error_errno(a, 0, r, "Device vanished during setup: %m");

        if (c->bind_vfio)
                for (size_t i = 0; i < d->n_vfs; i++) {
                        _cleanup_(pci_device_freep) PciDevice *vf = NULL;

                        if (sysfs_device_read(sysfs_root, d->vfs[i], &vf) < 0 || streq_ptr(vf->driver, "vfio-pci"))
                                continue;
                        r = sysfs_bind_vfio(sysfs_root, d->vfs[i]);
                        if (r < 0)
                                log_pf_warning_errno(a, 0, r, "Failed to bind VF %s to vfio-pci: %s", d->vfs[i],
                                                     sysfs_strerror(r, false));
                }

        if (d->iommu_group < 0)
                return log_pf_error_errno(a, 0, -ENODEV, "No IOMMU group (is the IOMMU enabled?).");
        api = pf_config_vfio_api(c, dev_root);
        n = pci_device_vfio_node(d, api);
        if (n < 0) /* the IOMMU group is there (above): it is the cdev that is missing */
                return log_pf_error_errno(a, 0, -ENODEV, "No VFIO cdev (CONFIG_VFIO_DEVICE_CDEV?).");
        r = vfio_node_path(dev_root, api, api == VFIO_API_CDEV ? VFIO_FD_DEVICE : VFIO_FD_GROUP, n, node,
                           sizeof node);
        if (r < 0)
                return log_pf_error_errno(a, 0, r, "Device node path under %s: %m", dev_root);
        r = setup_node(node, uid, gid);
        if (r < 0)
                return log_pf_error_errno(a, 0, r, "Failed to hand %s to the service user: %m", node);
        if (api == VFIO_API_CDEV) {
                r = setup_iommu_node(dev_root, uid);
                if (r < 0)
                        return log_pf_error_errno(a, 0, r, "Failed to give the service user %s/iommu: %m", dev_root);
        }
        return 0;
}

int setup_all(const Config *c, const char *sysfs_root, const char *dev_root, uid_t owner_uid, gid_t owner_gid) {
        int failed = 0;

        for (size_t i = 0; i < c->n_pfs; i++)
                if (setup_pf(&c->pfs[i], sysfs_root, dev_root, owner_uid, owner_gid) < 0)
                        failed++;
        return failed;
}
