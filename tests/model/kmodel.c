/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the kernel model's syscalls (kmodel.h): the VFIO group/container/device rules and
 * vfio-pci's VF token rules. Each kmodel_*() call follows the kernel function named in its
 * comment, check for check and in the kernel's order, since the order decides which errno a caller
 * sees (and, for a PF opened with a token, whether the token is set though the open then fails).
 * The state they read and write is kmodel-world.c's. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
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
#include "strv.h"

#define VF_TOKEN_ARG "vf_token="
#define UUID_STRING_LEN 36
#define NAME_BUF_MAX 4096 /* strndup_user(arg, PAGE_SIZE) */

int kmodel_fd_kind(int fd) {
        FdId id;
        int r;

        r = fd_identify(fd, &id);
        if (r < 0)
                return r;
        return (int) id.kind;
}

/* An ioctl on an fd of the wrong kind reaches a driver that does not know it: ENOTTY. */
static int fd_expect(int fd, KmodelFdKind kind, FdId *ret) {
        int r;

        r = fd_identify(fd, ret);
        if (r < 0)
                return r;
        return ret->kind == kind ? 0 : -ENOTTY;
}

/* open("/dev/vfio/vfio"): vfio_fops_open() gives every opener a new container. */
int kmodel_open_container(const char *dev_root) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_free_ char *node = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        ContainerState s = {};
        int r;

        if (!dev_root)
                return -EINVAL;
        /* The node's own permissions decide who may open it, as for the real one. */
        if (asprintf(&node, "%s/vfio/vfio", dev_root) < 0)
                return -ENOMEM;
        fd = open(node, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        fd = safe_close(fd);

        r = world_open_dev(dev_root, &w);
        if (r < 0)
                return r;
        r = world_gc_containers(w);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/containers/c-XXXXXX", w->state_dir) < 0)
                return -ENOMEM;
        /* Held for the life of the fd and its copies, so that world_gc_containers() knows. */
        fd = world_create_held(path);
        if (fd < 0)
                return fd;
        r = world_container_write(w, strrchr(path, '/') + 1, &s);
        if (r < 0) {
                (void) unlink(path);
                return r;
        }
        return TAKE_FD(fd);
}

int kmodel_get_api_version(int container_fd) {
        FdId id;
        int r;

        r = fd_expect(container_fd, KMODEL_FD_CONTAINER, &id);
        if (r < 0)
                return r;
        return VFIO_API_VERSION;
}

/* The Type1 driver answers for both Type1 flavours; no other IOMMU driver is modelled. */
static bool iommu_type_supported(unsigned long type) {
        return type == VFIO_TYPE1_IOMMU || type == VFIO_TYPE1v2_IOMMU;
}

int kmodel_check_extension(int container_fd, unsigned long extension) {
        FdId id;
        int r;

        r = fd_expect(container_fd, KMODEL_FD_CONTAINER, &id);
        if (r < 0)
                return r;
        return iommu_type_supported(extension) ? 1 : 0;
}

/* vfio_ioctl_set_iommu(): only a container with a group may get an IOMMU, and only once. */
int kmodel_set_iommu(int container_fd, unsigned long type) {
        _cleanup_(world_freep) World *w = NULL;
        ContainerState s;
        FdId id;
        int r;

        r = fd_expect(container_fd, KMODEL_FD_CONTAINER, &id);
        if (r < 0)
                return r;
        r = world_open(id.vfio_dir, &w);
        if (r < 0)
                return r;
        r = world_container_read(w, id.name, &s);
        if (r < 0)
                return r;
        if (s.groups == 0 || s.iommu != 0)
                return -EINVAL;
        if (!iommu_type_supported(type))
                return -ENODEV;
        s.iommu = type;
        return world_container_write(w, id.name, &s);
}

/* vfio_group_fops_open(): one open file per group node. */
int kmodel_open_group(const char *dev_root, int iommu_group) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_free_ char *node = NULL;
        _cleanup_close_ int fd = -1;
        char name[32];
        int r;

        if (!dev_root || iommu_group < 0)
                return -EINVAL;
        if (asprintf(&node, "%s/vfio/%d", dev_root, iommu_group) < 0)
                return -ENOMEM;
        fd = open(node, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        r = world_open_dev(dev_root, &w);
        if (r < 0)
                return r;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
        r = world_group_devices_open(w, iommu_group);
        if (r < 0)
                return r;
        if (r > 0)
                return -EBUSY;

        /* A new opener starts with no container (the last release detached it). */
        snprintf(name, sizeof name, "%d", iommu_group);
        r = world_group_set_container(w, name, "");
        if (r < 0)
                return r;
        return TAKE_FD(fd);
}

/* vfio_group_ioctl_get_status() */
int kmodel_group_get_status(int group_fd, struct vfio_group_status *status) {
        _cleanup_(world_freep) World *w = NULL;
        char container[NAME_MAX + 1];
        FdId id;
        int r;

        r = fd_expect(group_fd, KMODEL_FD_GROUP, &id);
        if (r < 0)
                return r;
        if (!status)
                return -EFAULT;
        if (status->argsz < sizeof(struct vfio_group_status))
                return -EINVAL;
        r = world_open(id.vfio_dir, &w);
        if (r < 0)
                return r;
        r = world_group_container(w, id.name, container);
        if (r < 0)
                return r;
        status->flags = 0;
        if (container[0])
                status->flags = VFIO_GROUP_FLAGS_CONTAINER_SET | VFIO_GROUP_FLAGS_VIABLE;
        else {
                r = world_group_viable(w, atoi(id.name));
                if (r < 0)
                        return r;
                if (r > 0)
                        status->flags = VFIO_GROUP_FLAGS_VIABLE;
        }
        return 0;
}

/* vfio_group_ioctl_set_container() + vfio_container_attach_group() */
int kmodel_group_set_container(int group_fd, int container_fd) {
        _cleanup_(world_freep) World *w = NULL;
        char current[NAME_MAX + 1];
        ContainerState s;
        FdId gid, cid;
        int r;

        r = fd_expect(group_fd, KMODEL_FD_GROUP, &gid);
        if (r < 0)
                return r;
        if (fcntl(container_fd, F_GETFD) < 0)
                return -EBADF;
        r = world_open(gid.vfio_dir, &w);
        if (r < 0)
                return r;
        r = world_group_container(w, gid.name, current);
        if (r < 0)
                return r;
        if (current[0])
                return -EINVAL;
        r = fd_identify(container_fd, &cid);
        if (r < 0)
                return r;
        if (cid.kind != KMODEL_FD_CONTAINER || !streq(cid.vfio_dir, gid.vfio_dir))
                return -EBADFD; /* "The FD passed is not recognized." */
        r = world_group_viable(w, atoi(gid.name));
        if (r < 0)
                return r;
        if (r == 0)
                return -EBUSY; /* iommu_group_claim_dma_owner() */

        r = world_container_read(w, cid.name, &s);
        if (r < 0)
                return r;
        s.groups++;
        r = world_container_write(w, cid.name, &s);
        if (r < 0)
                return r;
        return world_group_set_container(w, gid.name, cid.name);
}

/* UUID text as lib/uuid.c's uuid_parse() reads it: only the first 36 characters are looked at. */
static int kernel_uuid_parse(const char *s, Token *ret) {
        static const uint8_t si[TOKEN_SIZE] = { 0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34 };

        for (size_t i = 0; i < UUID_STRING_LEN; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return -EINVAL;
                } else if (!isxdigit((unsigned char) s[i]))
                        return -EINVAL;
        }
        for (size_t i = 0; i < TOKEN_SIZE; i++) {
                char hex[3] = { s[si[i]], s[si[i] + 1], '\0' };

                ret->bytes[i] = (uint8_t) strtoul(hex, NULL, 16);
        }
        return 0;
}

/* vfio_pci_core_match(): 1 if `buf` names the device (its options parsed), 0 if it does not, or
 * -EINVAL for options the kernel rejects. */
static int match_name(const char *pci_name, const char *buf, bool *ret_has_token, Token *ret_token) {
        size_t len = strlen(pci_name);
        bool vf_token = false;
        int r;

        if (strncmp(pci_name, buf, len) != 0)
                return 0;
        if (strlen(buf) > len) {
                buf += len;
                if (*buf != ' ')
                        return 0; /* non-whitespace after the name */
                while (*buf) {
                        if (*buf == ' ') {
                                buf++;
                                continue;
                        }
                        if (!vf_token && strncmp(buf, VF_TOKEN_ARG, STRLEN(VF_TOKEN_ARG)) == 0) {
                                buf += STRLEN(VF_TOKEN_ARG);
                                if (strlen(buf) < UUID_STRING_LEN)
                                        return -EINVAL;
                                r = kernel_uuid_parse(buf, ret_token);
                                if (r < 0)
                                        return r;
                                vf_token = true;
                                buf += UUID_STRING_LEN;
                        } else
                                return -EINVAL; /* unknown or duplicate option */
                }
        }
        *ret_has_token = vf_token;
        return 1;
}

/* The check both a VF and a PF with VF users go through: a token is required, and it must be
 * the PF's current one. Logs as the kernel does, under the name of the device being opened. */
static int require_current_token(World *w, const char *device, const char *pf, const Token *uuid) {
        _cleanup_token_ Token current = {};
        int r;

        if (!uuid) {
                world_log(w, device, "VF token required to access device");
                return -EACCES;
        }
        r = world_token_load(w, pf, &current);
        if (r < 0)
                return r;
        if (!token_equal(uuid, &current)) {
                world_log(w, device, "Incorrect VF token provided for device");
                return -EACCES;
        }
        return 0;
}

/* vfio_pci_core_match_token_uuid(): `d` is a device bound to vfio-pci. The group path calls it
 * from vfio_pci_core_match(), the cdev path from vfio_df_check_token() at the bind. */
int kmodel_match_token(World *w, const PciDevice *d, const Token *uuid) {
        int r;

        if (d->physfn[0]) {
                _cleanup_(pci_device_freep) PciDevice *pf = NULL;

                /* sriov_pf_core_dev: set when vfio-pci created the VF, i.e. the PF is on vfio-pci
                 * (vfio-pci will not bind a PF whose VFs already exist). */
                r = world_device(w, d->physfn, &pf);
                if (r < 0 && r != -ENOENT && r != -ENODEV)
                        return r;
                if (!pf || !driver_is_vfio(pf) || !pf->sriov_capable) {
                        if (!uuid)
                                return 0;
                        world_log(w, d->address, "VF token incorrectly provided, PF not bound to vfio-pci");
                        return -EINVAL;
                }
                return require_current_token(w, d->address, pf->address, uuid);
        }
        if (d->sriov_capable) {
                r = world_vf_users(w, d);
                if (r < 0)
                        return r;
                if (r > 0)
                        return require_current_token(w, d->address, d->address, uuid);
                /* No VF in use: a token given with the PF sets it. */
                return uuid ? world_token_store(w, d->address, uuid) : 0;
        }
        if (uuid) {
                world_log(w, d->address, "VF token incorrectly provided, not a PF or VF");
                return -EINVAL;
        }
        return 0;
}

/* vfio_group_ioctl_get_device_fd(): find the device by name (vfio_device_get_from_name(), which
 * runs the token checks), then open it (vfio_df_group_open(): the group needs a container with an
 * IOMMU). */
int kmodel_group_get_device_fd(int group_fd, const char *name) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_strv_free_ char **members = NULL;
        _cleanup_free_ char *path = NULL;
        _cleanup_token_ Token uuid = {};
        char container[NAME_MAX + 1], address[PCI_ADDRESS_MAX] = "";
        ContainerState s;
        FdId id;
        int fd, r;

        r = fd_expect(group_fd, KMODEL_FD_GROUP, &id);
        if (r < 0)
                return r;
        if (!name)
                return -EFAULT;
        if (strnlen(name, NAME_BUF_MAX) >= NAME_BUF_MAX)
                return -EINVAL;
        r = world_open(id.vfio_dir, &w);
        if (r < 0)
                return r;

        r = world_group_members(w, atoi(id.name), &members);
        if (r < 0)
                return r;
        for (char **m = members; *m; m++) {
                _cleanup_(pci_device_freep) PciDevice *d = NULL;
                bool has_token = false;

                r = world_device(w, *m, &d);
                if (r == -ENOENT || r == -ENODEV)
                        continue;
                if (r < 0)
                        return r;
                if (!driver_is_vfio(d))
                        continue; /* not a vfio device of this group */
                r = match_name(d->address, name, &has_token, &uuid);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                r = kmodel_match_token(w, d, has_token ? &uuid : NULL);
                if (r < 0)
                        return r;
                strcpy(address, d->address);
                break;
        }
        if (!address[0])
                return -ENODEV;

        r = world_group_container(w, id.name, container);
        if (r < 0)
                return r;
        if (!container[0])
                return -EINVAL;
        r = world_container_read(w, container, &s);
        if (r < 0)
                return r;
        if (s.iommu == 0)
                return -EINVAL;

        if (asprintf(&path, "%s/dev/%s", w->state_dir, address) < 0)
                return -ENOMEM;
        fd = world_open_shared(path, O_RDWR);
        if (fd < 0)
                return fd;
        while (flock(fd, LOCK_SH) < 0)
                if (errno != EINTR) {
                        r = negative_errno();
                        safe_close(fd);
                        return r;
                }
        return fd;
}

/* The device behind a device fd (from a group, or a cdev fd that is bound: until then
 * vfio_device_fops_unl_ioctl() answers EINVAL), which must still exist. */
static int device_of_fd(int device_fd, FdId *id, World **ret_world, PciDevice **ret_device) {
        _cleanup_(world_freep) World *w = NULL;
        int r;

        r = fd_identify(device_fd, id);
        if (r < 0)
                return r;
        if (id->kind != KMODEL_FD_DEVICE && id->kind != KMODEL_FD_CDEV)
                return -ENOTTY;
        r = world_open(id->vfio_dir, &w);
        if (r < 0)
                return r;
        if (id->kind == KMODEL_FD_CDEV) {
                r = world_cdev_bound(w, id->name);
                if (r < 0)
                        return r;
                if (r == 0)
                        return -EINVAL;
        }
        r = world_device(w, id->device, ret_device);
        if (r == -ENOENT)
                return -ENODEV;
        if (r < 0)
                return r;
        *ret_world = TAKE_PTR(w);
        return 0;
}

/* vfio_pci_ioctl_get_info() */
int kmodel_device_get_info(int device_fd, struct vfio_device_info *info) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        FdId id;
        int r;

        r = device_of_fd(device_fd, &id, &w, &d);
        if (r < 0)
                return r;
        if (!info)
                return -EFAULT;
        if (info->argsz < offsetof(struct vfio_device_info, num_irqs) + sizeof(info->num_irqs))
                return -EINVAL;
        info->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
        info->num_regions = VFIO_PCI_NUM_REGIONS;
        info->num_irqs = VFIO_PCI_NUM_IRQS;
        return 0;
}

/* vfio_check_feature() */
static int check_feature(uint32_t flags, size_t argsz, uint32_t supported_ops, size_t minsz) {
        if ((flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)) & ~supported_ops)
                return -EINVAL;
        if (flags & VFIO_DEVICE_FEATURE_PROBE)
                return 0;
        if (!(flags & (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET)))
                return -EINVAL;
        if (argsz < minsz)
                return -EINVAL;
        return 1;
}

/* vfio_pci_core_feature_token(): only a PF on vfio-pci has a vf_token. */
static int feature_token(World *w, const PciDevice *d, uint32_t flags, size_t argsz, const void *data) {
        _cleanup_token_ Token uuid = {};
        int r;

        if (d->physfn[0] || !d->sriov_capable)
                return -ENOTTY;
        r = check_feature(flags, argsz, VFIO_DEVICE_FEATURE_SET, TOKEN_SIZE);
        if (r != 1)
                return r;
        if (!data)
                return -EFAULT;
        memcpy(uuid.bytes, data, TOKEN_SIZE);
        return world_token_store(w, d->address, &uuid);
}

/* vfio_ioctl_device_feature() + vfio_pci_core_ioctl_feature() */
int kmodel_device_feature(int device_fd, uint32_t flags, uint32_t argsz, const void *data) {
        const size_t minsz = sizeof(struct vfio_device_feature);
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        FdId id;
        int r;

        r = device_of_fd(device_fd, &id, &w, &d);
        if (r < 0)
                return r;
        if (argsz < minsz)
                return -EINVAL;
        if (flags & ~(VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_GET |
                      VFIO_DEVICE_FEATURE_PROBE))
                return -EINVAL;
        /* GET and SET are mutually exclusive except with PROBE. */
        if (!(flags & VFIO_DEVICE_FEATURE_PROBE) && (flags & VFIO_DEVICE_FEATURE_SET) &&
            (flags & VFIO_DEVICE_FEATURE_GET))
                return -EINVAL;

        switch (flags & VFIO_DEVICE_FEATURE_MASK) {
        case VFIO_DEVICE_FEATURE_PCI_VF_TOKEN:
                return feature_token(w, d, flags, argsz - minsz, data);
        default:
                /* Migration, DMA logging and power features are not modelled: a device without
                 * them answers ENOTTY. */
                return -ENOTTY;
        }
}

int kmodel_peek_token(const char *dev_root, const char *pf_address, Token *ret) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        int r;

        r = world_open_dev(dev_root, &w);
        if (r < 0)
                return r;
        r = world_device(w, pf_address, &d);
        if (r < 0)
                return r;
        if (!driver_is_vfio(d) || !d->sriov_capable || d->physfn[0])
                return -EMEDIUMTYPE;
        return world_token_load(w, d->address, ret);
}

int kmodel_vf_users(const char *dev_root, const char *pf_address) {
        _cleanup_(world_freep) World *w = NULL;
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        int r;

        r = world_open_dev(dev_root, &w);
        if (r < 0)
                return r;
        r = world_device(w, pf_address, &d);
        if (r < 0)
                return r;
        return world_vf_users(w, d);
}

int kmodel_device_is_open(const char *dev_root, const char *address) {
        _cleanup_(world_freep) World *w = NULL;
        char canonical[PCI_ADDRESS_MAX];
        int r;

        if (pci_address_parse(address, canonical) < 0)
                return -EINVAL;
        r = world_open_dev(dev_root, &w);
        if (r < 0)
                return r;
        return world_device_is_open(w, canonical);
}
