/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the two backends the scenarios run on: the real VFIO ioctls (for the VM tests) and the
 * kernel model (tests/model/kmodel.h). They take the same arguments and return -errno alike, so
 * a scenario cannot tell them apart except by the answers. */

#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fd-util.h"
#include "kmodel.h"
#include "scenarios.h"
#include "vfio-uapi.h"

#define FEATURE_BUF_MAX (sizeof(struct vfio_device_feature) + 16)

static int ret_errno(int r) {
        return r < 0 ? negative_errno() : r;
}

static int close_fd(int fd) {
        return close(fd) < 0 ? negative_errno() : 0;
}

static int kernel_open_node(const char *dev_root, const char *node) {
        char path[4096];

        snprintf(path, sizeof path, "%s/vfio/%s", dev_root, node);
        return ret_errno(open(path, O_RDWR | O_CLOEXEC | O_NOCTTY));
}

static int kernel_open_container(const char *dev_root) {
        int fd, r;

        fd = kernel_open_node(dev_root, "vfio");
        if (fd < 0)
                return fd;
        r = ret_errno(ioctl(fd, VFIO_GET_API_VERSION));
        if (r != VFIO_API_VERSION) {
                close(fd);
                return r < 0 ? r : -EPROTO;
        }
        return fd;
}

static int kernel_open_group(const char *dev_root, int group) {
        char node[16];

        snprintf(node, sizeof node, "%d", group);
        return kernel_open_node(dev_root, node);
}

static int kernel_group_set_container(int group_fd, int container_fd) {
        return ret_errno(ioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &container_fd));
}

static int kernel_set_iommu(int container_fd) {
        unsigned long type = VFIO_TYPE1v2_IOMMU;
        int r;

        r = ret_errno(ioctl(container_fd, VFIO_CHECK_EXTENSION, type));
        if (r == 0)
                type = VFIO_TYPE1_IOMMU;
        else if (r < 0)
                return r;
        return ret_errno(ioctl(container_fd, VFIO_SET_IOMMU, type));
}

static int kernel_get_device_fd(int group_fd, const char *name) {
        return ret_errno(ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, name));
}

static int kernel_device_feature(int device_fd, uint32_t flags, uint32_t argsz, const uint8_t data[16]) {
        union {
                struct vfio_device_feature header;
                uint8_t raw[FEATURE_BUF_MAX];
        } f = {};

        /* The buffer always holds the header and 16 bytes; argsz tells the kernel how much of it
         * to consider, as a short or lying caller would. */
        f.header.argsz = argsz;
        f.header.flags = flags;
        memcpy(f.header.data, data, 16);
        return ret_errno(ioctl(device_fd, VFIO_DEVICE_FEATURE, &f));
}

static int kernel_device_get_info(int device_fd) {
        struct vfio_device_info info = { .argsz = sizeof info };

        if (ioctl(device_fd, VFIO_DEVICE_GET_INFO, &info) < 0)
                return negative_errno();
        return info.flags & VFIO_DEVICE_FLAGS_PCI ? 0 : -EBADFD;
}

static int kernel_open_iommufd(const char *dev_root) {
        char path[4096];

        snprintf(path, sizeof path, "%s/iommu", dev_root);
        return ret_errno(open(path, O_RDWR | O_CLOEXEC | O_NOCTTY));
}

static int kernel_open_cdev(const char *dev_root, int n) {
        char node[32];

        snprintf(node, sizeof node, "devices/vfio%d", n);
        return kernel_open_node(dev_root, node);
}

/* As a VMM binds a device it opened by its cdev; the token travels by pointer. */
static int kernel_bind_iommufd(int cdev_fd, int iommufd, const uint8_t *token) {
        uint8_t t[16];
        VfioBindIommufd bind = { .argsz = BIND_IOMMUFD_MINSZ, .iommufd = iommufd };
        int r;

        if (token) {
                memcpy(t, token, sizeof t);
                bind.argsz = sizeof bind;
                bind.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
                bind.token_uuid_ptr = (uint64_t) (uintptr_t) t;
        }
        r = ret_errno(ioctl(cdev_fd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
        explicit_bzero(t, sizeof t);
        return r;
}

const ScenarioOps scenario_ops_kernel = {
        .name = "kernel",
        .open_container = kernel_open_container,
        .open_group = kernel_open_group,
        .group_set_container = kernel_group_set_container,
        .set_iommu = kernel_set_iommu,
        .get_device_fd = kernel_get_device_fd,
        .device_feature = kernel_device_feature,
        .device_get_info = kernel_device_get_info,
        .close_fd = close_fd,
        .open_iommufd = kernel_open_iommufd,
        .open_cdev = kernel_open_cdev,
        .bind_iommufd = kernel_bind_iommufd,
};

static int model_open_container(const char *dev_root) {
        int fd, r;

        fd = kmodel_open_container(dev_root);
        if (fd < 0)
                return fd;
        r = kmodel_get_api_version(fd);
        if (r != VFIO_API_VERSION) {
                close(fd);
                return r < 0 ? r : -EPROTO;
        }
        return fd;
}

static int model_set_iommu(int container_fd) {
        unsigned long type = VFIO_TYPE1v2_IOMMU;
        int r;

        r = kmodel_check_extension(container_fd, type);
        if (r == 0)
                type = VFIO_TYPE1_IOMMU;
        else if (r < 0)
                return r;
        return kmodel_set_iommu(container_fd, type);
}

static int model_device_feature(int device_fd, uint32_t flags, uint32_t argsz, const uint8_t data[16]) {
        return kmodel_device_feature(device_fd, flags, argsz, data);
}

static int model_device_get_info(int device_fd) {
        struct vfio_device_info info = { .argsz = sizeof info };
        int r;

        r = kmodel_device_get_info(device_fd, &info);
        if (r < 0)
                return r;
        return info.flags & VFIO_DEVICE_FLAGS_PCI ? 0 : -EBADFD;
}

static int model_bind_iommufd(int cdev_fd, int iommufd, const uint8_t *token) {
        Token t = {};
        int r;

        if (!token)
                return kmodel_device_bind_iommufd(cdev_fd, BIND_IOMMUFD_MINSZ, 0, iommufd, NULL);
        memcpy(t.bytes, token, TOKEN_SIZE);
        r = kmodel_device_bind_iommufd(cdev_fd, sizeof(VfioBindIommufd), VFIO_DEVICE_BIND_FLAG_TOKEN, iommufd, &t);
        explicit_bzero(&t, sizeof t);
        return r;
}

const ScenarioOps scenario_ops_model = {
        .name = "model",
        .open_container = model_open_container,
        .open_group = kmodel_open_group,
        .group_set_container = kmodel_group_set_container,
        .set_iommu = model_set_iommu,
        .get_device_fd = kmodel_group_get_device_fd,
        .device_feature = model_device_feature,
        .device_get_info = model_device_get_info,
        .close_fd = close_fd,
        .open_iommufd = kmodel_open_iommufd,
        .open_cdev = kmodel_open_cdev,
        .bind_iommufd = model_bind_iommufd,
};
