/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns daemon/vfio.h on the kernel model: the same sequence as daemon/vfio.c, step for step, with
 * each ioctl replaced by its kmodel_*() counterpart, so a daemon linked with this file behaves as
 * on a kernel that follows the model's rules. Linked only into test binaries and
 * tests/vfio-tokend-model. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmodel.h"
#include "pci-address.h"
#include "vfio.h"

struct VfioPf {
        VfioApi api;
        char address[PCI_ADDRESS_MAX];
        int fds[_VFIO_FD_MAX];
};

#define DEVICE_NAME_MAX (PCI_ADDRESS_MAX + STRLEN(" vf_token=") + TOKEN_STRING_MAX)

static VfioPf *vfio_pf_new(VfioApi api, const char *address) {
        VfioPf *pf;

        pf = calloc(1, sizeof(VfioPf));
        if (!pf)
                return NULL;
        pf->api = api;
        snprintf(pf->address, sizeof pf->address, "%s", address);
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                pf->fds[i] = -1;
        return pf;
}

VfioPf *vfio_pf_free(VfioPf *pf) {
        if (!pf)
                return NULL;
        for (size_t i = _VFIO_FD_MAX; i > 0; i--)
                safe_close(pf->fds[i - 1]);
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

static int node_error(int r) {
        return r == -EACCES ? -EPERM : r;
}

static int container_iommu_type(int container_fd, unsigned long *ret) {
        static const unsigned long types[] = { VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU };

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                int r = kmodel_check_extension(container_fd, types[i]);

                if (r < 0)
                        return r;
                if (r > 0) {
                        *ret = types[i];
                        return 0;
                }
        }
        return -ENXIO;
}

static int group_open(VfioPf *pf, const char *dev_root, int iommu_group, const Token *token) {
        struct vfio_group_status status = { .argsz = sizeof status };
        char name[DEVICE_NAME_MAX];
        unsigned long iommu_type;
        int fd, r;

        fd = kmodel_open_container(dev_root);
        if (fd < 0)
                return node_error(fd);
        pf->fds[VFIO_FD_CONTAINER] = fd;
        r = kmodel_get_api_version(fd);
        if (r < 0)
                return r;
        if (r != VFIO_API_VERSION)
                return -EPROTO;
        r = container_iommu_type(fd, &iommu_type);
        if (r < 0)
                return r;

        fd = kmodel_open_group(dev_root, iommu_group);
        if (fd < 0)
                return node_error(fd);
        pf->fds[VFIO_FD_GROUP] = fd;
        r = kmodel_group_get_status(fd, &status);
        if (r < 0)
                return r;
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
                return -EXDEV;
        r = kmodel_group_set_container(fd, pf->fds[VFIO_FD_CONTAINER]);
        if (r < 0)
                return r;
        r = kmodel_set_iommu(pf->fds[VFIO_FD_CONTAINER], iommu_type);
        if (r < 0)
                return r;

        if (token) {
                _cleanup_token_string_ TokenString t;

                token_to_string(token, &t);
                snprintf(name, sizeof name, "%s vf_token=%s", pf->address, t.s);
        } else
                snprintf(name, sizeof name, "%s", pf->address);
        fd = kmodel_group_get_device_fd(pf->fds[VFIO_FD_GROUP], name);
        explicit_bzero(name, sizeof name);
        if (fd < 0)
                return fd;
        pf->fds[VFIO_FD_DEVICE] = fd;
        return 0;
}

int vfio_pf_open(const char *dev_root, VfioApi api, const char *address, int iommu_group, const Token *token,
                 VfioPf **ret) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL;
        char canonical[PCI_ADDRESS_MAX];
        int r;

        if (!dev_root || !ret || pci_address_parse(address, canonical) < 0)
                return -EINVAL;
        if (api == VFIO_API_CDEV)
                return -EOPNOTSUPP;
        if (api != VFIO_API_GROUP || iommu_group < 0)
                return -EINVAL;

        pf = vfio_pf_new(api, canonical);
        if (!pf)
                return -ENOMEM;
        r = group_open(pf, dev_root, iommu_group, token);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pf);
        return 0;
}

/* As daemon/vfio.c's adopt_check(), with the model telling what kind each fd is instead of
 * fstat()'s S_ISCHR. */
static int adopt_check(const int fds[static _VFIO_FD_MAX]) {
        static const KmodelFdKind kinds[_VFIO_FD_MAX] = {
                [VFIO_FD_CONTAINER] = KMODEL_FD_CONTAINER,
                [VFIO_FD_GROUP] = KMODEL_FD_GROUP,
                [VFIO_FD_DEVICE] = KMODEL_FD_DEVICE,
        };
        struct vfio_group_status status = { .argsz = sizeof status };
        struct vfio_device_info info = { .argsz = sizeof info };
        int r;

        for (size_t i = 0; i < _VFIO_FD_MAX; i++) {
                if (fds[i] < 0)
                        return -EBADF;
                r = kmodel_fd_kind(fds[i]);
                if (r < 0)
                        return r;
                if (r == KMODEL_FD_OTHER)
                        return -EBADFD; /* not a character device of VFIO's */
                if (r != (int) kinds[i])
                        return -ENOTTY; /* another kind's ioctl */
        }
        r = kmodel_get_api_version(fds[VFIO_FD_CONTAINER]);
        if (r < 0)
                return r;
        if (r != VFIO_API_VERSION)
                return -EBADFD;
        r = kmodel_group_get_status(fds[VFIO_FD_GROUP], &status);
        if (r < 0)
                return r;
        if (!(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
                return -EBADFD;
        r = kmodel_device_get_info(fds[VFIO_FD_DEVICE], &info);
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
                return -EOPNOTSUPP;
        if (api != VFIO_API_GROUP)
                return -EINVAL;
        r = adopt_check(pf->fds);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pf);
        return 0;
}

static int feature_token(VfioPf *pf, uint32_t flags, const Token *token) {
        uint8_t data[TOKEN_SIZE] = {};
        int r;

        if (pf->fds[VFIO_FD_DEVICE] < 0)
                return -EBADF;
        if (token)
                memcpy(data, token->bytes, TOKEN_SIZE);
        r = kmodel_device_feature(pf->fds[VFIO_FD_DEVICE], flags | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
                                  sizeof(struct vfio_device_feature) + TOKEN_SIZE, data);
        explicit_bzero(data, sizeof data);
        return r;
}

int vfio_pf_probe_token(VfioPf *pf) {
        return feature_token(pf, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET, NULL);
}

int vfio_pf_set_token(VfioPf *pf, const Token *token) {
        if (!token)
                return -EINVAL;
        return feature_token(pf, VFIO_DEVICE_FEATURE_SET, token);
}
