/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the kernel boundary: the iommufd cdev uapi bits daemon/vfio.c needs that the build
 * host's <linux/vfio.h> may lack (Debian 12's headers are Linux 6.1's; the cdev came in 6.6, the
 * token flag in 6.17) and that <linux/iommufd.h> would give, defined here once for vfio.c and the
 * kernel model that answers it (tests/model/, tests/scenarios/). The values are the kernel's
 * (include/uapi/linux/vfio.h, iommufd.h); the names of our own structs are ours, since headers of
 * 6.6-6.16 have a struct vfio_device_bind_iommufd without token_uuid_ptr. */

#include <linux/vfio.h>
#include <stddef.h>
#include <stdint.h>

/* VFIO_DEVICE_BIND_IOMMUFD on /dev/vfio/devices/vfioN (Linux 6.6+; VFIO_DEVICE_BIND_FLAG_TOKEN
 * 6.17+, usable with a token from 6.19 and the fixed 6.17/6.18 stables). */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
#endif
#ifndef VFIO_DEVICE_BIND_FLAG_TOKEN
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)
#endif
typedef struct VfioBindIommufd {
        uint32_t argsz;
        uint32_t flags;
        int32_t iommufd;
        uint32_t out_devid;
        uint64_t token_uuid_ptr; /* __aligned_u64: the 16 bytes of the token */
} VfioBindIommufd;
_Static_assert(sizeof(VfioBindIommufd) == 24, "struct vfio_device_bind_iommufd is 24 bytes");
/* Without a token the kernel is given only the fields every kernel with the cdev knows. */
#define BIND_IOMMUFD_MINSZ offsetof(VfioBindIommufd, token_uuid_ptr)

/* include/uapi/linux/iommufd.h (Linux 6.2+): IOMMU_OPTION GET of the RLIMIT_MODE option, a
 * read-only question every iommufd answers, is how an fd is recognised as one. */
#define TOKEND_IOMMUFD_TYPE ';'
#define TOKEND_IOMMUFD_CMD_OPTION 0x87
#define TOKEND_IOMMU_OPTION _IO(TOKEND_IOMMUFD_TYPE, TOKEND_IOMMUFD_CMD_OPTION)
#define TOKEND_IOMMU_OPTION_RLIMIT_MODE 0
#define TOKEND_IOMMU_OPTION_OP_GET 1
typedef struct IommuOption {
        uint32_t size;
        uint32_t option_id;
        uint16_t op;
        uint16_t reserved;
        uint32_t object_id;
        uint64_t val64;
} IommuOption;
_Static_assert(sizeof(IommuOption) == 24, "struct iommu_option is 24 bytes");
