/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the kernel boundary: the only file that issues VFIO ioctls (include/uapi/linux/vfio.h).
 * It opens a PF through the legacy group/container API (Linux >= 5.7 for VF tokens) or through
 * its iommufd cdev (/dev/iommu + /dev/vfio/devices/vfioN; VF tokens at bind from Linux 6.19 and
 * fixed 6.17/6.18 stables), probes and sets its VF token, and checks fds handed back from the fd
 * store. The sequence goes through a
 * table of the system calls it needs (vfio-syscalls.h): the kernel's, defined here, or the kernel
 * model's (tests/model/vfio-model.c), which test binaries install, so that tests run this very
 * sequence. */

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <uuid/uuid.h>

#include "fd-util.h"
#include "macro.h"
#include "pci-address.h"
#include "string-util.h"
#include "vfio-syscalls.h"
#include "vfio-uapi.h"
#include "vfio.h"


struct VfioPf {
        VfioApi api;
        char address[PCI_ADDRESS_MAX];
        int fds[_VFIO_FD_MAX]; /* cdev API: container = /dev/iommu, no group */
        int request_fd;        /* eventfd the kernel signals to ask for the device back, or -1 */
};

/* "ADDRESS vf_token=UUID" */
#define UUID_STRING_MAX 37
#define DEVICE_NAME_MAX (PCI_ADDRESS_MAX + STRLEN(" vf_token=") + UUID_STRING_MAX)

/* VFIO_DEVICE_FEATURE with the 16 bytes of a PCI_VF_TOKEN after the header. */
typedef union VfTokenFeature {
        struct vfio_device_feature header;
        uint8_t raw[sizeof(struct vfio_device_feature) + VFIO_VF_TOKEN_SIZE];
} VfTokenFeature;

/* The kernel's side of vfio-syscalls.h: the daemon's only open(2)/ioctl(2) calls on VFIO nodes. */
static int kernel_open_node(const char *path) {
        int fd;

        fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? negative_errno() : fd;
}

static int kernel_fstat_is_chr(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        return S_ISCHR(st.st_mode);
}

static int kernel_ioctl(int fd, unsigned long request, void *arg) {
        int r;

        r = ioctl(fd, request, arg);
        return r < 0 ? negative_errno() : r;
}

static const VfioSyscalls kernel_syscalls = {
        .open_node = kernel_open_node,
        .fstat_is_chr = kernel_fstat_is_chr,
        .ioctl = kernel_ioctl,
};

/* Every step of the sequence below goes through this table, never to the kernel directly. */
static const VfioSyscalls *sys = &kernel_syscalls;

void vfio_set_syscalls(const VfioSyscalls *s) {
        sys = s ?: &kernel_syscalls;
}

const VfioSyscalls *vfio_get_syscalls(void) {
        return sys;
}

static VfioPf *vfio_pf_new(VfioApi api, const char *address) {
        VfioPf *pf;

        pf = calloc(1, sizeof(VfioPf));
        if (!pf)
                return NULL;
        pf->api = api;
        snprintf(pf->address, sizeof pf->address, "%s", address);
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                pf->fds[i] = -1;
        pf->request_fd = -1;
        return pf;
}

VfioPf *vfio_pf_free(VfioPf *pf) {
        if (!pf)
                return NULL;
        /* Device first: the kernel releases the group and container after their users. */
        for (size_t i = _VFIO_FD_MAX; i > 0; i--)
                safe_close(pf->fds[i - 1]);
        safe_close(pf->request_fd);
        return mfree(pf);
}

VfioApi vfio_pf_api(const VfioPf *pf) {
        return pf->api;
}

int vfio_pf_fd(const VfioPf *pf, VfioFdKind kind) {
        if ((unsigned) kind >= _VFIO_FD_MAX)
                return -1;
        return pf->fds[kind];
}

int vfio_node_path(const char *dev_root, VfioApi api, VfioFdKind kind, int node, char *buf, size_t size) {
        int n;

        if (kind == VFIO_FD_CONTAINER)
                n = snprintf(buf, size, api == VFIO_API_CDEV ? "%s/iommu" : "%s/vfio/vfio", dev_root);
        else if (api == VFIO_API_GROUP && kind == VFIO_FD_GROUP)
                n = snprintf(buf, size, "%s/vfio/%d", dev_root, node);
        else if (api == VFIO_API_CDEV && kind == VFIO_FD_DEVICE)
                n = snprintf(buf, size, "%s/vfio/devices/vfio%d", dev_root, node);
        else
                return -ENOENT;
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

/* Opens the node of `kind` (vfio_node_path()) into the PF's fd of that kind. EACCES from the
 * node's permissions must not read as the kernel's token refusal (vfio.h). */
static int open_node(VfioPf *pf, VfioFdKind kind, const char *dev_root, int node) {
        char path[PATH_MAX];
        int fd, r;

        r = vfio_node_path(dev_root, pf->api, kind, node, path, sizeof path);
        if (r < 0)
                return r;
        fd = sys->open_node(path);
        if (fd < 0)
                return fd == -EACCES ? -EPERM : fd;
        pf->fds[kind] = fd;
        return fd;
}

/* Type1v2 where the kernel has it (all kernels with VF tokens do), else Type1. */
static int container_iommu_type(int container_fd, unsigned long *ret) {
        static const unsigned long types[] = { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU };

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                int r = sys->ioctl(container_fd, VFIO_CHECK_EXTENSION, (void *) (uintptr_t) types[i]);

                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret = types[i];
                        return 0;
                }
        }
        return -ENXIO;
}

static int group_open(VfioPf *pf, const char *dev_root, int iommu_group, const uint8_t *vf_token) {
        struct vfio_group_status status = { .argsz = sizeof status };
        char name[DEVICE_NAME_MAX];
        unsigned long iommu_type;
        int fd, r;

        fd = open_node(pf, VFIO_FD_CONTAINER, dev_root, -1);
        if (fd < 0)
                return fd;
        r = sys->ioctl(fd, VFIO_GET_API_VERSION, NULL);
        if (r < 0)
                return r;
        if (r != VFIO_API_VERSION)
                return -EPROTO;
        /* Ask before attaching a group, so a kernel without Type1 fails with a clear error. */
        r = container_iommu_type(fd, &iommu_type);
        if (r < 0)
                return r;

        fd = open_node(pf, VFIO_FD_GROUP, dev_root, iommu_group);
        if (fd < 0)
                return fd;
        r = sys->ioctl(fd, VFIO_GROUP_GET_STATUS, &status);
        if (r < 0)
                return r;
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                return -EXDEV;
        r = sys->ioctl(fd, VFIO_GROUP_SET_CONTAINER, &pf->fds[VFIO_FD_CONTAINER]);
        if (r < 0)
                return r;
        r = sys->ioctl(pf->fds[VFIO_FD_CONTAINER], VFIO_SET_IOMMU, (void *) (uintptr_t) iommu_type);
        if (r < 0)
                return r;

        if (vf_token) {
                char t[UUID_STRING_MAX];

                uuid_unparse_lower(vf_token, t);
                snprintf(name, sizeof name, "%s vf_token=%s", pf->address, t);
                explicit_bzero(t, sizeof t);
        } else
                snprintf(name, sizeof name, "%s", pf->address);
        fd = sys->ioctl(pf->fds[VFIO_FD_GROUP], VFIO_GROUP_GET_DEVICE_FD, name);
        explicit_bzero(name, sizeof name);
        if (fd < 0)
                return fd;
        pf->fds[VFIO_FD_DEVICE] = fd; /* the kernel opens it O_CLOEXEC */
        return 0;
}

/* The kernel's answers to VFIO_DEVICE_BIND_IOMMUFD, in the words of vfio.h. */
static int bind_error(int r, bool with_token) {
        switch (r) {
        case -EINVAL:
                /* vfio_df_open(): one bind per device ("the cdev path doesn't have a secure way"
                 * for more); with a token it may also be a kernel without the token flag. */
                return with_token ? -EINVAL : -EBUSY;
        case -E2BIG:
                /* Kernels before the fix of 6.19 (6.17/6.18) refuse a non-zero token_uuid_ptr. */
                return with_token ? -EOPNOTSUPP : r;
        default:
                return r;
        }
}

/* /dev/iommu, the device's cdev, then the bind, which checks the token as
 * VFIO_GROUP_GET_DEVICE_FD does (vfio_df_check_token()): with no VF open a token given with the
 * PF sets it. The device needs no IOAS attached for VFIO_DEVICE_FEATURE or the request IRQ, and
 * the daemon maps no DMA, so none is allocated: the device stays in a blocking domain. */
static int cdev_open(VfioPf *pf, const char *dev_root, int cdev, const uint8_t *vf_token) {
        uint8_t token[VFIO_VF_TOKEN_SIZE];
        VfioBindIommufd bind = {};
        int fd, r;

        fd = open_node(pf, VFIO_FD_CONTAINER, dev_root, -1);
        if (fd < 0)
                return fd;
        fd = open_node(pf, VFIO_FD_DEVICE, dev_root, cdev);
        if (fd < 0)
                return fd;

        bind.argsz = BIND_IOMMUFD_MINSZ;
        bind.iommufd = pf->fds[VFIO_FD_CONTAINER];
        if (vf_token) {
                memcpy(token, vf_token, sizeof token);
                bind.argsz = sizeof bind;
                bind.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
                bind.token_uuid_ptr = (uint64_t) (uintptr_t) token;
        }
        r = sys->ioctl(pf->fds[VFIO_FD_DEVICE], VFIO_DEVICE_BIND_IOMMUFD, &bind);
        explicit_bzero(token, sizeof token);
        return r < 0 ? bind_error(r, vf_token) : 0;
}

int vfio_pf_open(const char *dev_root, VfioApi api, const char *address, int node, const uint8_t *vf_token,
                 VfioPf **ret) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL;
        char canonical[PCI_ADDRESS_MAX];
        int r;

        if (!dev_root || !ret || pci_address_parse(address, canonical) < 0)
                return -EINVAL;
        if ((api != VFIO_API_GROUP && api != VFIO_API_CDEV) || node < 0)
                return -EINVAL;

        pf = vfio_pf_new(api, canonical);
        if (!pf)
                return -ENOMEM;
        if (api == VFIO_API_CDEV)
                r = cdev_open(pf, dev_root, node, vf_token);
        else
                r = group_open(pf, dev_root, node, vf_token);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pf);
        return 0;
}

static int fd_check_chr(int fd) {
        int r;

        if (fd < 0)
                return -EBADF;
        r = sys->fstat_is_chr(fd);
        if (r < 0)
                return r;
        return r > 0 ? 0 : -EBADFD;
}

/* Each fd must be what it is named: a container of our API version, a group attached to a
 * container, a PCI device. An ioctl of another kind's fd fails with ENOTTY. */
static int adopt_check(const int fds[static _VFIO_FD_MAX]) {
        struct vfio_group_status status = { .argsz = sizeof status };
        struct vfio_device_info info = { .argsz = sizeof info };
        int r;

        /* The container and group fds are the /dev/vfio nodes (character devices); the device fd
         * from VFIO_GROUP_GET_DEVICE_FD is an anonymous inode ("anon_inode:[vfio-device]"), which
         * VFIO_DEVICE_GET_INFO below checks instead. */
        for (size_t i = 0; i < _VFIO_FD_MAX; i++) {
                if (i == VFIO_FD_DEVICE)
                        continue;
                r = fd_check_chr(fds[i]);
                if (r < 0)
                        return r;
        }
        r = sys->ioctl(fds[VFIO_FD_CONTAINER], VFIO_GET_API_VERSION, NULL);
        if (r < 0)
                return r;
        if (r != VFIO_API_VERSION)
                return -EBADFD;
        r = sys->ioctl(fds[VFIO_FD_GROUP], VFIO_GROUP_GET_STATUS, &status);
        if (r < 0)
                return r;
        if (!(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
                return -EBADFD;
        r = sys->ioctl(fds[VFIO_FD_DEVICE], VFIO_DEVICE_GET_INFO, &info);
        if (r < 0)
                return r;
        if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
                return -EBADFD;
        return 0;
}

/* The device fd must be bound (an unbound cdev fd answers every ioctl but the bind with EINVAL)
 * and a PCI device; the container fd an iommufd. Both are the nodes' own files, character
 * devices. */
static int adopt_check_cdev(const int fds[static _VFIO_FD_MAX]) {
        struct vfio_device_info info = { .argsz = sizeof info };
        IommuOption option = {
                .size = sizeof option,
                .option_id = TOKEND_IOMMU_OPTION_RLIMIT_MODE,
                .op = TOKEND_IOMMU_OPTION_OP_GET,
        };
        int r;

        if (fds[VFIO_FD_GROUP] >= 0)
                return -EBADFD;
        r = fd_check_chr(fds[VFIO_FD_CONTAINER]);
        if (r < 0)
                return r;
        r = fd_check_chr(fds[VFIO_FD_DEVICE]);
        if (r < 0)
                return r;
        r = sys->ioctl(fds[VFIO_FD_CONTAINER], TOKEND_IOMMU_OPTION, &option);
        if (r < 0)
                return r;
        r = sys->ioctl(fds[VFIO_FD_DEVICE], VFIO_DEVICE_GET_INFO, &info);
        if (r == -EINVAL)
                return -EBADFD; /* a cdev fd that was never bound */
        if (r < 0)
                return r;
        if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
                return -EBADFD;
        return 0;
}

int vfio_pf_adopt(VfioApi api, const char *address, int fds[static _VFIO_FD_MAX], VfioPf **ret) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL;
        char canonical[PCI_ADDRESS_MAX];
        int r;

        /* The fds are ours from here on, whatever happens. */
        pf = vfio_pf_new(api, address && pci_address_parse(address, canonical) >= 0 ? canonical : "");
        if (!pf) {
                for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                        fds[i] = safe_close(fds[i]);
                return -ENOMEM;
        }
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                pf->fds[i] = TAKE_FD(fds[i]);

        if (!ret || !pf->address[0])
                return -EINVAL;
        if (api == VFIO_API_CDEV)
                r = adopt_check_cdev(pf->fds);
        else if (api == VFIO_API_GROUP)
                r = adopt_check(pf->fds);
        else
                return -EINVAL;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pf);
        return 0;
}

static int feature_token(VfioPf *pf, uint32_t flags, const uint8_t *vf_token) {
        VfTokenFeature f = {};
        int r;

        if (pf->fds[VFIO_FD_DEVICE] < 0)
                return -EBADF;
        f.header.argsz = sizeof f.raw;
        f.header.flags = flags | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
        if (vf_token)
                memcpy(f.header.data, vf_token, VFIO_VF_TOKEN_SIZE);
        r = sys->ioctl(pf->fds[VFIO_FD_DEVICE], VFIO_DEVICE_FEATURE, &f);
        explicit_bzero(&f, sizeof f);
        return r < 0 ? r : 0;
}

/* vfio-pci cannot finish an unbind or a hot-unplug while the device is open: it signals the
 * PCI "request" interrupt to the holder, again and again, and waits. Registering an eventfd
 * for it is how the holder hears the request. */
int vfio_pf_request_fd(VfioPf *pf) {
        union {
                struct vfio_irq_set set;
                uint8_t raw[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
        } irq = {};
        int32_t efd;
        int r;

        if (pf->request_fd >= 0)
                return pf->request_fd;
        if (pf->fds[VFIO_FD_DEVICE] < 0)
                return -EBADF;

        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
                return negative_errno();
        irq.set.argsz = sizeof irq.raw;
        irq.set.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
        irq.set.index = VFIO_PCI_REQ_IRQ_INDEX;
        irq.set.start = 0;
        irq.set.count = 1;
        memcpy(irq.set.data, &efd, sizeof efd);
        r = sys->ioctl(pf->fds[VFIO_FD_DEVICE], VFIO_DEVICE_SET_IRQS, &irq);
        if (r < 0) {
                safe_close(efd);
                return r;
        }
        pf->request_fd = efd;
        return efd;
}

int vfio_pf_probe_token(VfioPf *pf) {
        return feature_token(pf, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET, NULL);
}

int vfio_pf_set_token(VfioPf *pf, const uint8_t vf_token[static VFIO_VF_TOKEN_SIZE]) {
        if (!vf_token)
                return -EINVAL;
        return feature_token(pf, VFIO_DEVICE_FEATURE_SET, vf_token);
}
