/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the kernel model's iommufd cdev syscalls (kmodel.h): /dev/iommu, the device's cdev
 * /dev/vfio/devices/vfioN, and VFIO_DEVICE_BIND_IOMMUFD with its token check
 * (drivers/vfio/device_cdev.c, drivers/iommu/iommufd/main.c), check for check in the kernel's
 * order. The token rules themselves are kmodel.c's (the same vfio_pci_core_match_token_uuid()
 * serves both APIs); the state, kmodel-world.c's. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "kmodel-world.h"
#include "macro.h"
#include "pci-address.h"
#include "string-util.h"
#include "vfio-uapi.h"

/* open("/dev/iommu"): iommufd_fops_open() gives every opener a new context; the model keeps none. */
int kmodel_open_iommufd(const char *dev_root) {
        _cleanup_free_ char *node = NULL;
        int fd;

        if (!dev_root)
                return -EINVAL;
        if (asprintf(&node, "%s/iommu", dev_root) < 0)
                return -ENOMEM;
        fd = open(node, O_RDWR | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? negative_errno() : fd;
}

/* iommufd_option() + iommufd_option_rlimit_mode() */
int kmodel_iommufd_option_get(int iommufd, uint32_t option_id, uint32_t object_id, uint64_t *ret) {
        FdId id;
        int r;

        r = fd_identify(iommufd, &id);
        if (r < 0)
                return r;
        if (id.kind != KMODEL_FD_IOMMUFD)
                return -ENOTTY;
        if (option_id != TOKEND_IOMMU_OPTION_RLIMIT_MODE)
                return -EOPNOTSUPP; /* IOMMU_OPTION_HUGE_PAGES needs an IOAS: none is modelled */
        if (object_id != 0)
                return -EOPNOTSUPP;
        *ret = 0; /* IOPT_PAGES_ACCOUNT_USER, the default */
        return 0;
}

/* The device a fixture's cdev node names ("<addr>\n"). */
static int cdev_node_device(const char *node, char ret[static PCI_ADDRESS_MAX]) {
        _cleanup_close_ int fd = -1;
        char buf[64];
        ssize_t n;

        /* The node's own permissions decide who may open it, as for the real one. */
        fd = open(node, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return pci_address_parse(buf, ret) < 0 ? -ENODEV : 0;
}

/* vfio_device_fops_cdev_open(): any number of opens; access is granted only by the bind. */
int kmodel_open_cdev(const char *dev_root, int n) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        _cleanup_free_ char *node = NULL, *path = NULL;
        char address[PCI_ADDRESS_MAX];
        int r;

        if (!dev_root || n < 0)
                return -EINVAL;
        if (asprintf(&node, "%s/vfio/devices/vfio%d", dev_root, n) < 0)
                return -ENOMEM;
        r = cdev_node_device(node, address);
        if (r < 0)
                return r;

        r = world_open_dev(dev_root, &w);
        if (r < 0)
                return r;
        /* vfio_device_try_get_registration(): the device is still on vfio-pci. */
        r = world_device(w, address, &d);
        if (r == -ENOENT)
                return -ENODEV;
        if (r < 0)
                return r;
        if (!driver_is_vfio(d))
                return -ENODEV;

        if (asprintf(&path, "%s/cdev/%s@XXXXXX", w->state_dir, address) < 0)
                return -ENOMEM;
        /* Held for the life of the fd and its copies: the open file of the cdev. */
        return world_create_held(path);
}

/* vfio_df_ioctl_bind_iommufd(): argument checks, vfio_device_block_group(), one bind per fd,
 * vfio_df_check_token() (which may set a PF's token though the bind then fails), the iommufd,
 * then vfio_df_open()'s one opener per device. */
int kmodel_device_bind_iommufd(int cdev_fd, uint32_t argsz, uint32_t flags, int iommufd, const Token *token) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        FdId id, iid;
        int r;

        r = fd_identify(cdev_fd, &id);
        if (r < 0)
                return r;
        if (id.kind == KMODEL_FD_DEVICE)
                return -EINVAL; /* "BIND_IOMMUFD only allowed for cdev fds" */
        if (id.kind != KMODEL_FD_CDEV)
                return -ENOTTY;
        if (argsz < BIND_IOMMUFD_MINSZ)
                return -EINVAL;
        if (iommufd < 0 || (flags & ~(uint32_t) VFIO_DEVICE_BIND_FLAG_TOKEN))
                return -EINVAL;

        r = world_open(id.vfio_dir, &w);
        if (r < 0)
                return r;
        r = world_device(w, id.device, &d);
        if (r == -ENOENT)
                return -ENODEV;
        if (r < 0)
                return r;

        if (d->iommu_group >= 0) {
                r = world_group_opened_file(w, d->iommu_group);
                if (r < 0)
                        return r;
                if (r > 0)
                        return -EBUSY;
        }
        r = world_cdev_bound(w, id.name);
        if (r < 0)
                return r;
        if (r > 0)
                return -EINVAL; /* "one device cannot be bound twice" */

        if (flags & VFIO_DEVICE_BIND_FLAG_TOKEN) {
                if (argsz < sizeof(VfioBindIommufd))
                        return -EFAULT; /* token_uuid_ptr was not passed: copied as 0 */
                if (!token)
                        return -EFAULT;
        }
        r = kmodel_match_token(w, d, (flags & VFIO_DEVICE_BIND_FLAG_TOKEN) ? token : NULL);
        if (r < 0)
                return r;

        r = fd_identify(iommufd, &iid);
        if (r < 0)
                return r;
        if (iid.kind != KMODEL_FD_IOMMUFD)
                return -EBADFD;

        r = world_device_is_open(w, d->address);
        if (r < 0)
                return r;
        if (r > 0)
                return -EINVAL; /* "the device cdev path doesn't have a secure way for it" */
        return world_cdev_set_bound(w, id.name);
}
