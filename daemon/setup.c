/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the root-only PF setup: driver binding, VF enablement, device node ownership. */

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "setup.h"
#include "string-util.h"
#include "sysfs.h"

static int setup_group_node(const char *dev_root, int group, uid_t uid, gid_t gid) {
        char path[4096];

        if (uid == (uid_t) -1)
                return 0;
        snprintf(path, sizeof path, "%s/vfio/%d", dev_root, group);
        /* Hand the node, not more: the daemon needs exactly this one to open the PF. */
        if (chown(path, uid, gid) < 0)
                return -errno;
        if (chmod(path, 0600) < 0)
                return -errno;
        return 0;
}

static int setup_pf(const PfConfig *c, const char *sysfs_root, const char *dev_root, uid_t uid, gid_t gid) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        const char *a = c->address;
        int r;

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
        r = setup_group_node(dev_root, d->iommu_group, uid, gid);
        if (r < 0)
                return log_pf_error_errno(a, 0, r, "Failed to hand %s/vfio/%d to the service user: %m", dev_root,
                                          d->iommu_group);
        return 0;
}

int setup_all(const Config *c, const char *sysfs_root, const char *dev_root, uid_t owner_uid, gid_t owner_gid) {
        int failed = 0;

        for (size_t i = 0; i < c->n_pfs; i++)
                if (setup_pf(&c->pfs[i], sysfs_root, dev_root, owner_uid, owner_gid) < 0)
                        failed++;
        return failed;
}
