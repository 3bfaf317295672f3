/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel boundary: the only interface through which the daemon issues VFIO ioctls.
 * daemon/vfio.c implements it; test binaries run the very same code on the kernel model by
 * swapping its system calls (daemon/vfio-syscalls.h, tests/model/vfio-model.c).
 *
 * A VfioPf is one opened PF: with the legacy API a container fd, a group fd and a device fd;
 * with the iommufd cdev API an iommufd (/dev/iommu) and the device's cdev fd, bound to it. The
 * daemon opens each PF once and keeps these fds for good (and in systemd's fd store across
 * restarts). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* A VF token as the kernel takes it: the 16 bytes of a UUID. */
#define VFIO_VF_TOKEN_SIZE 16

typedef enum VfioApi {
        VFIO_API_GROUP, /* /dev/vfio/vfio + /dev/vfio/N */
        VFIO_API_CDEV,  /* /dev/iommu + /dev/vfio/devices/vfioN (Linux >= 6.19 for VF tokens) */
        _VFIO_API_MAX,
} VfioApi;

typedef enum VfioFdKind {
        VFIO_FD_CONTAINER, /* group API: /dev/vfio/vfio; cdev API: /dev/iommu */
        VFIO_FD_GROUP,     /* group API only */
        VFIO_FD_DEVICE,
        _VFIO_FD_MAX,
} VfioFdKind;

typedef struct VfioPf VfioPf;

const char *vfio_api_to_string(VfioApi api);      /* "group", "cdev" */
const char *vfio_fd_kind_to_string(VfioFdKind k); /* "container", "group", "device" */

/* The path of the node an API opens for `kind` under `dev_root` ("/dev" in production): group
 * API, the container <dev_root>/vfio/vfio and the group <dev_root>/vfio/NODE; cdev API,
 * <dev_root>/iommu and the device's cdev <dev_root>/vfio/devices/vfioNODE (`node` as for
 * vfio_pf_open(); unused for the container). 0, -ENOENT for a kind the API opens no node for
 * (group API: the device; cdev API: the group), -ENAMETOOLONG if it does not fit in `size`. */
int vfio_node_path(const char *dev_root, VfioApi api, VfioFdKind kind, int node, char *buf, size_t size);

/* Opens the PF `address` under `dev_root` ("/dev" in production). `node` names the node to open:
 * group API: the IOMMU group number (<dev_root>/vfio/N, sysfs iommu_group); cdev API: the N of
 * <dev_root>/vfio/devices/vfioN (sysfs <device>/vfio-dev/vfioN, PciDevice.vfio_cdev).
 * With vf_token (VFIO_VF_TOKEN_SIZE bytes, or NULL) the kernel accepts the open while VFs are in
 * use only if that is its current token, and with no VF in use *sets* its token to it: group API,
 * the device is requested as "ADDRESS vf_token=UUID"; cdev API, VFIO_DEVICE_BIND_IOMMUFD with
 * VFIO_DEVICE_BIND_FLAG_TOKEN. Without a token it is requested by plain name / bound plainly.
 * Errors: -EACCES (VFs in use and the token missing or wrong), -ENOENT/-ENODEV (device, group or
 * cdev node gone; cdev API: also a kernel without CONFIG_IOMMUFD/CONFIG_VFIO_DEVICE_CDEV), -EBUSY
 * (someone else holds the group or device), -EOPNOTSUPP (cdev API with a token: the kernel's bind
 * takes none, before Linux 6.19), -EINVAL, -EPERM ... */
int vfio_pf_open(const char *dev_root, VfioApi api, const char *address, int node, const uint8_t *vf_token,
                 VfioPf **ret);

/* Rebuilds a VfioPf from fds taken back from the fd store (ownership of the fds passes to the
 * VfioPf, also on failure). Checks that they are still a usable VFIO device of this API, without
 * reopening or rebinding anything (cdev API: an iommufd, and a cdev fd that is bound). */
int vfio_pf_adopt(VfioApi api, const char *address, int fds[static _VFIO_FD_MAX], VfioPf **ret);

/* VFIO_DEVICE_FEATURE PROBE|SET of VFIO_DEVICE_FEATURE_PCI_VF_TOKEN: 0 if supported,
 * -ENOTTY for a device that is not an SR-IOV PF on vfio-pci, -EINVAL/-ENOTTY on kernels
 * without the feature. */
int vfio_pf_probe_token(VfioPf *pf);
/* SET: replaces the PF's VF token. Open VF fds keep working; later VF opens need the new one. */
int vfio_pf_set_token(VfioPf *pf, const uint8_t vf_token[static VFIO_VF_TOKEN_SIZE]);

/* An eventfd (owned by the VfioPf) that becomes readable when the kernel asks for the device
 * back (driver unbind, hot-unplug): the holder must then close every fd of the PF, or the
 * removal waits forever. Registered on first call; -errno if the device cannot signal it. */
int vfio_pf_request_fd(VfioPf *pf);

VfioApi vfio_pf_api(const VfioPf *pf);
/* The fd of that kind, or -1 if this API has none. The VfioPf keeps ownership. */
int vfio_pf_fd(const VfioPf *pf, VfioFdKind kind);

VfioPf *vfio_pf_free(VfioPf *pf);
DEFINE_TRIVIAL_CLEANUP_FUNC(VfioPf *, vfio_pf_free);

typedef enum VfioOp {
        VFIO_OP_OPEN,
        VFIO_OP_PROBE,
        VFIO_OP_SET,
        VFIO_OP_ADOPT,
} VfioOp;

/* What an error of an operation means, in words an admin can act on (never NULL). */
const char *vfio_strerror(VfioOp op, int error);
