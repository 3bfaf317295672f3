/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the words for the kernel boundary (daemon/vfio.c): the names of the VFIO APIs and fd
 * kinds, and what each error of each VFIO operation means to an admin. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio.h"

static const char *const api_names[_VFIO_API_MAX] = {
        [VFIO_API_GROUP] = "group",
        [VFIO_API_CDEV] = "cdev",
};

static const char *const fd_kind_names[_VFIO_FD_MAX] = {
        [VFIO_FD_CONTAINER] = "container",
        [VFIO_FD_GROUP] = "group",
        [VFIO_FD_DEVICE] = "device",
};

const char *vfio_api_to_string(VfioApi api) {
        if ((unsigned) api >= _VFIO_API_MAX)
                return NULL;
        return api_names[api];
}

const char *vfio_fd_kind_to_string(VfioFdKind k) {
        if ((unsigned) k >= _VFIO_FD_MAX)
                return NULL;
        return fd_kind_names[k];
}

/* vfio_pf_open() maps EACCES from opening a /dev/vfio node to EPERM, so that EACCES means one
 * thing only: the kernel refused the VF token (vfio_pci_core_match_token_uuid()). */
static const char *open_strerror(int error) {
        switch (error) {
        case EACCES:
                return "VFs of this PF are in use and the kernel wants their current VF token; the token on "
                       "record is missing or wrong";
        case ENOENT:
                return "device, IOMMU group or cdev node is gone (is the PF bound to vfio-pci? for Api=cdev: "
                       "does the kernel have CONFIG_IOMMUFD and CONFIG_VFIO_DEVICE_CDEV?)";
        case ENODEV:
                return "the kernel has no such VFIO device in this IOMMU group (is the PF bound to "
                       "vfio-pci, and is the IOMMU group right?)";
        case EBUSY:
                return "already opened by another process (the IOMMU group or the device is held elsewhere)";
        case EPERM:
                return "permission denied opening a VFIO node (the group node, or the cdev and /dev/iommu, "
                       "must be open to the service user: run 'vfio-tokend --setup' as root)";
        case EXDEV:
                return "the IOMMU group is not viable: another device in it is bound to a host driver; bind "
                       "every device of the group to vfio-pci";
        case EINVAL:
                return "the kernel rejected the request (malformed device name or VF token, no IOMMU set "
                       "on the container; cdev API with a token: the device is bound elsewhere, or the "
                       "kernel predates VFIO_DEVICE_BIND_FLAG_TOKEN)";
        case EPROTO:
                return "the kernel speaks another VFIO API version";
        case ENXIO:
                return "the kernel offers no Type1 IOMMU for VFIO (is the IOMMU enabled and "
                       "vfio_iommu_type1 loaded?)";
        case EOPNOTSUPP:
                return "this kernel's iommufd cdev bind takes no VF token (Linux >= 6.19 or a fixed 6.17/6.18 "
                       "stable is needed); use Api=group";
        case ENOTTY:
                return "a VFIO node does not answer VFIO ioctls (not a VFIO or iommufd character device?)";
        default:
                return NULL;
        }
}

static const char *feature_strerror(int error, bool set) {
        switch (error) {
        case ENOTTY:
                return "not an SR-IOV PF on vfio-pci, or the kernel lacks VF token support (Linux >= 5.7)";
        case EINVAL:
                return set ? "the kernel rejected the VF token request (malformed VFIO_DEVICE_FEATURE)"
                           : "the kernel rejected the VF token probe (malformed VFIO_DEVICE_FEATURE)";
        case ENODEV:
        case EIO:
                return "the device is gone or not responding";
        case EBADF:
                return "the PF's device fd is not open";
        default:
                return NULL;
        }
}

static const char *adopt_strerror(int error) {
        switch (error) {
        case EBADF:
                return "a kept fd is not open";
        case EBADFD:
                return "a kept fd is not the VFIO container, group, iommufd or bound PCI device it should be";
        case ENOTTY:
                return "a kept fd does not answer VFIO ioctls (not a VFIO or iommufd fd)";
        case ENODEV:
        case EIO:
                return "the device behind the kept fds is gone";
        default:
                return NULL;
        }
}

const char *vfio_strerror(VfioOp op, int error) {
        const char *s = NULL;

        error = abs(error);
        switch (op) {
        case VFIO_OP_OPEN:
                s = open_strerror(error);
                break;
        case VFIO_OP_PROBE:
                s = feature_strerror(error, false);
                break;
        case VFIO_OP_SET:
                s = feature_strerror(error, true);
                break;
        case VFIO_OP_ADOPT:
                s = adopt_strerror(error);
                break;
        }
        if (!s)
                s = error == ENOMEM ? "out of memory" : strerror(error);
        return s ?: "unknown error";
}
