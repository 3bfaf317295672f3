/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the kernel model's side of daemon/vfio-syscalls.h: each system call daemon/vfio.c's sequence
 * makes, answered by its kmodel_*() counterpart, so that a daemon linked with this file runs its
 * own open/adopt/probe/set sequence on a kernel that follows the model's rules. A constructor
 * installs the table, so every program linked with this object (MODEL_LIBS: the tests and
 * tests/vfio-tokend-model) uses the model without code of its own. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmodel.h"
#include "macro.h"
#include "vfio-syscalls.h"

/* The model knows two kinds of node by their path: "<dev>/vfio/vfio" and "<dev>/vfio/<group>". */
static int model_open_node(const char *path) {
        _cleanup_free_ char *dev_root = NULL;
        const char *leaf;
        size_t n;
        char *end;
        long group;

        leaf = strrchr(path, '/');
        if (!leaf)
                return -ENOENT;
        n = leaf - path;
        leaf++;
        if (n < STRLEN("/vfio") || memcmp(path + n - STRLEN("/vfio"), "/vfio", STRLEN("/vfio")) != 0)
                return -ENOENT;
        dev_root = strndup(path, n - STRLEN("/vfio"));
        if (!dev_root)
                return -ENOMEM;

        if (streq(leaf, "vfio"))
                return kmodel_open_container(dev_root);
        errno = 0;
        group = strtol(leaf, &end, 10);
        if (errno != 0 || end == leaf || *end || leaf[0] == '-' || leaf[0] == '+' || group > INT32_MAX)
                return -ENOENT;
        return kmodel_open_group(dev_root, (int) group);
}

/* The model's nodes stand for VFIO's character devices; any other fd is not one. */
static int model_fstat_is_chr(int fd) {
        int r;

        r = kmodel_fd_kind(fd);
        if (r < 0)
                return r;
        /* As on the kernel: the container and group nodes are character devices, a device fd
         * is an anonymous inode. */
        return r == KMODEL_FD_CONTAINER || r == KMODEL_FD_GROUP;
}

static int model_ioctl(int fd, unsigned long request, void *arg) {
        switch (request) {
        case VFIO_GET_API_VERSION:
                return kmodel_get_api_version(fd);
        case VFIO_CHECK_EXTENSION:
                return kmodel_check_extension(fd, (unsigned long) (uintptr_t) arg);
        case VFIO_SET_IOMMU:
                return kmodel_set_iommu(fd, (unsigned long) (uintptr_t) arg);
        case VFIO_GROUP_GET_STATUS:
                return kmodel_group_get_status(fd, arg);
        case VFIO_GROUP_SET_CONTAINER:
                if (!arg)
                        return -EFAULT;
                return kmodel_group_set_container(fd, *(const int *) arg);
        case VFIO_GROUP_GET_DEVICE_FD:
                if (!arg)
                        return -EFAULT;
                return kmodel_group_get_device_fd(fd, arg);
        case VFIO_DEVICE_GET_INFO:
                return kmodel_device_get_info(fd, arg);
        case VFIO_DEVICE_FEATURE: {
                const struct vfio_device_feature *f = arg;

                if (!f)
                        return -EFAULT;
                return kmodel_device_feature(fd, f->flags, f->argsz, f->data);
        }
        default:
                return -ENOTTY; /* not modelled: as from a driver that does not know it */
        }
}

static const VfioSyscalls model_syscalls = {
        .open_node = model_open_node,
        .fstat_is_chr = model_fstat_is_chr,
        .ioctl = model_ioctl,
};

static void __attribute__((constructor)) vfio_model_install(void) {
        vfio_set_syscalls(&model_syscalls);
}
