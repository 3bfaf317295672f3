/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the kernel model's side of daemon/vfio-syscalls.h: each system call daemon/vfio.c's sequence
 * makes, answered by its kmodel_*() counterpart, so that a daemon linked with this file runs its
 * own open/adopt/probe/set sequence on a kernel that follows the model's rules. A constructor
 * installs the table, so every program linked with this object (MODEL_LIBS: the tests and
 * tests/vfio-tokend-model) uses the model without code of its own. */

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmodel.h"
#include "macro.h"
#include "string-util.h"
#include "vfio-syscalls.h"
#include "vfio-uapi.h"

/* A decimal number that is all of s (no sign, no space), or -1. */
static int parse_index(const char *s) {
        char *end;
        long v;

        if (*s < '0' || *s > '9')
                return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || *end || v > INT32_MAX)
                return -1;
        return (int) v;
}

/* The model knows its nodes by their path: "<dev>/vfio/vfio", "<dev>/vfio/<group>",
 * "<dev>/iommu" and "<dev>/vfio/devices/vfio<n>". */
static int model_open_node(const char *path) {
        _cleanup_free_ char *dev_root = NULL;
        const char *leaf;
        size_t n;
        int group;

        leaf = strrchr(path, '/');
        if (!leaf)
                return -ENOENT;
        n = leaf - path;
        leaf++;
        if (streq(leaf, "iommu")) {
                dev_root = strndup(path, n);
                return dev_root ? kmodel_open_iommufd(dev_root) : -ENOMEM;
        }
        if (n >= STRLEN("/vfio/devices") &&
            memcmp(path + n - STRLEN("/vfio/devices"), "/vfio/devices", STRLEN("/vfio/devices")) == 0) {
                int cdev = strncmp(leaf, "vfio", 4) == 0 ? parse_index(leaf + 4) : -1;

                if (cdev < 0)
                        return -ENOENT;
                dev_root = strndup(path, n - STRLEN("/vfio/devices"));
                return dev_root ? kmodel_open_cdev(dev_root, cdev) : -ENOMEM;
        }
        if (n < STRLEN("/vfio") || memcmp(path + n - STRLEN("/vfio"), "/vfio", STRLEN("/vfio")) != 0)
                return -ENOENT;
        dev_root = strndup(path, n - STRLEN("/vfio"));
        if (!dev_root)
                return -ENOMEM;

        if (streq(leaf, "vfio"))
                return kmodel_open_container(dev_root);
        group = parse_index(leaf);
        if (group < 0)
                return -ENOENT;
        return kmodel_open_group(dev_root, group);
}

/* The model's nodes stand for VFIO's character devices; any other fd is not one. */
static int model_fstat_is_chr(int fd) {
        int r;

        r = kmodel_fd_kind(fd);
        if (r < 0)
                return r;
        /* As on the kernel: the container, group, iommu and cdev nodes are character devices, a
         * device fd from a group is an anonymous inode. */
        return r == KMODEL_FD_CONTAINER || r == KMODEL_FD_GROUP || r == KMODEL_FD_IOMMUFD || r == KMODEL_FD_CDEV;
}

/* The PCI request interrupt (VFIO_PCI_REQ_IRQ_INDEX): the eventfds the holder registered, per
 * device fd, in this process. The model has no driver core that could unbind a device, so a
 * test plays the kernel's part with vfio_model_request_release(). */
#define MODEL_REQUESTS_MAX 64
static struct {
        int device_fd;
        int eventfd;
} model_requests[MODEL_REQUESTS_MAX];
static size_t n_model_requests;

static int model_set_irqs(int fd, const struct vfio_irq_set *set) {
        int32_t efd;
        int copy, r;

        if (!set)
                return -EFAULT;
        r = kmodel_fd_kind(fd);
        if (r < 0)
                return r;
        if (r == KMODEL_FD_CDEV) {
                struct vfio_device_info info = { .argsz = sizeof info };

                r = kmodel_device_get_info(fd, &info); /* EINVAL until the cdev is bound */
                if (r < 0)
                        return r;
        } else if (r != KMODEL_FD_DEVICE)
                return -ENOTTY;
        if (set->argsz < sizeof(*set) + sizeof(int32_t) || set->index != VFIO_PCI_REQ_IRQ_INDEX ||
            set->start != 0 || set->count != 1 ||
            set->flags != (VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER))
                return -EINVAL; /* only what vfio.c asks for is modelled */
        memcpy(&efd, set->data, sizeof efd);
        copy = fcntl(efd, F_DUPFD_CLOEXEC, 3); /* the kernel takes its own reference */
        if (copy < 0)
                return -errno;
        /* A device fd number seen before belongs to a newer open now: replace its entry. */
        for (size_t i = 0; i < n_model_requests; i++)
                if (model_requests[i].device_fd == fd) {
                        close(model_requests[i].eventfd);
                        model_requests[i].eventfd = copy;
                        return 0;
                }
        if (n_model_requests >= MODEL_REQUESTS_MAX) {
                close(copy);
                return -ENOSPC;
        }
        model_requests[n_model_requests].device_fd = fd;
        model_requests[n_model_requests].eventfd = copy;
        n_model_requests++;
        return 0;
}

int vfio_model_request_release(int device_fd) {
        uint64_t one = 1;
        int n = 0;

        for (size_t i = 0; i < n_model_requests; i++)
                if (model_requests[i].device_fd == device_fd) {
                        if (write(model_requests[i].eventfd, &one, sizeof one) != sizeof one)
                                return -errno;
                        n++;
                }
        return n;
}

/* VFIO_DEVICE_BIND_IOMMUFD: the token is read where token_uuid_ptr points, as copy_from_user()
 * does. */
static int model_bind_iommufd(int fd, const VfioBindIommufd *bind) {
        _cleanup_token_ Token token = {};
        bool with_token;

        if (!bind)
                return -EFAULT;
        with_token = bind->argsz >= sizeof *bind && bind->token_uuid_ptr != 0;
        if (with_token)
                memcpy(token.bytes, (const void *) (uintptr_t) bind->token_uuid_ptr, TOKEN_SIZE);
        return kmodel_device_bind_iommufd(fd, bind->argsz, bind->flags, bind->iommufd, with_token ? &token : NULL);
}

static int model_iommu_option(int fd, IommuOption *o) {
        if (!o)
                return -EFAULT;
        if (o->size < sizeof *o)
                return -EINVAL;
        if (o->reserved)
                return -EOPNOTSUPP;
        if (o->op != TOKEND_IOMMU_OPTION_OP_GET)
                return -EPERM; /* SET needs CAP_SYS_RESOURCE; not modelled */
        return kmodel_iommufd_option_get(fd, o->option_id, o->object_id, &o->val64);
}

static int model_ioctl(int fd, unsigned long request, void *arg) {
        switch (request) {
        case VFIO_DEVICE_BIND_IOMMUFD:
                return model_bind_iommufd(fd, arg);
        case TOKEND_IOMMU_OPTION:
                return model_iommu_option(fd, arg);
        case VFIO_DEVICE_SET_IRQS:
                return model_set_irqs(fd, arg);
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
