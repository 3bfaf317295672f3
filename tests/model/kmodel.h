/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A model of the kernel's VFIO rules that matter for VF tokens, for tests and the demo only (never
 * linked into the installed daemon). Each function stands for one syscall or ioctl and answers as
 * the kernel does (drivers/vfio/group.c, container.c, vfio_main.c, pci/vfio_pci_core.c), with
 * -errno where the syscall would fail with errno:
 *
 *   kmodel_open_container(dev)          open("<dev>/vfio/vfio", O_RDWR)
 *   kmodel_get_api_version(c)           ioctl(c, VFIO_GET_API_VERSION)
 *   kmodel_check_extension(c, ext)      ioctl(c, VFIO_CHECK_EXTENSION, ext)
 *   kmodel_set_iommu(c, type)           ioctl(c, VFIO_SET_IOMMU, type)
 *   kmodel_open_group(dev, n)           open("<dev>/vfio/<n>", O_RDWR)
 *   kmodel_group_get_status(g, st)      ioctl(g, VFIO_GROUP_GET_STATUS, st)
 *   kmodel_group_set_container(g, c)    ioctl(g, VFIO_GROUP_SET_CONTAINER, &c)
 *   kmodel_group_get_device_fd(g, name) ioctl(g, VFIO_GROUP_GET_DEVICE_FD, name)
 *   kmodel_device_get_info(d, info)     ioctl(d, VFIO_DEVICE_GET_INFO, info)
 *   kmodel_device_feature(d, ...)       ioctl(d, VFIO_DEVICE_FEATURE, feature)
 *   kmodel_open_iommufd(dev)            open("<dev>/iommu", O_RDWR)
 *   kmodel_iommufd_option_get(i, ...)   ioctl(i, IOMMU_OPTION, GET)
 *   kmodel_open_cdev(dev, n)            open("<dev>/vfio/devices/vfio<n>", O_RDWR)
 *   kmodel_device_bind_iommufd(d, ...)  ioctl(d, VFIO_DEVICE_BIND_IOMMUFD, bind)
 *
 * Device ioctls (get_info, feature) take a device fd from a group or a bound cdev fd alike.
 *
 * The world is a fixture (tests/common/fixture.h): the model is handed the dev root, and learns the
 * topology (PF or VF, the PF of a VF, drivers, IOMMU groups) from the sysfs tree that
 * <dev>/vfio/.kmodel-sysfs points to, through daemon/sysfs.h. Kernel state lives in files under
 * <dev>/vfio/.kmodel/, so that several processes share one kernel (a daemon, test clients, a
 * restarted daemon), and every fd handed out is a real fd whose open file description carries the
 * state the kernel ties to a struct file. The fds therefore survive fork, SCM_RIGHTS and systemd's
 * fd store, and what they hold is released when the last copy is closed, also by kill -9:
 *
 *   - a group fd is the group node itself, holding flock(LOCK_EX): a second opener gets EBUSY;
 *   - a device fd is an fd on .kmodel/dev/<addr> holding flock(LOCK_SH): "the device is open" is
 *     "someone holds that lock", which is how the PF's count of VF users is known, and an open
 *     device keeps its group busy after the group fd is closed, as device fds hold the group file
 *     in the kernel;
 *   - a container fd is an fd on its own file under .kmodel/containers/, which holds its state,
 *     with flock(LOCK_SH) so that containers nobody refers to any more can be removed;
 *   - an iommufd is the node <dev>/iommu itself (the model keeps no IOAS or other object in it);
 *   - a cdev fd is an fd on its own file .kmodel/cdev/<addr>@<random> (the fixture's node
 *     <dev>/vfio/devices/vfioN names the device), holding flock(LOCK_SH) for its life; the file
 *     says "bound" once VFIO_DEVICE_BIND_IOMMUFD succeeded on it, and a bound cdev fd counts as
 *     an open device (for VF users, "one opener", and the group it keeps busy);
 *   - the PF's VF token lives in .kmodel/<pf>.token, created at random the first time it is
 *     needed, stamped with the PF's driver binding: it lives as long as the PF stays bound to
 *     vfio-pci (a rebind gives a new random token), not as long as any fd.
 *
 * Every operation runs under one lock (.kmodel/lock), so token read-modify-write and the checks of
 * who holds what are atomic across processes. The kernel log lines vfio-pci would print are kept
 * (kmodel_last_message()) and appended to .kmodel/dmesg.
 *
 * Not modelled: VFIO_GROUP_UNSET_CONTAINER, DMA mapping, iommufd objects (IOAS, HWPT: the cdev is
 * bound, never attached), the E2BIG of 6.17/6.18 kernels for a bind with a token, and the
 * detaching of a group from its container when the group closes (a container that once had a
 * group stays usable for VFIO_SET_IOMMU). */

#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>

#include "token.h"

#define KMODEL_STATE_DIR ".kmodel"       /* under <dev>/vfio */
#define KMODEL_SYSFS_LINK ".kmodel-sysfs" /* <dev>/vfio/.kmodel-sysfs -> sysfs root */

typedef enum KmodelFdKind {
        KMODEL_FD_OTHER,     /* an open fd the model did not hand out */
        KMODEL_FD_CONTAINER,
        KMODEL_FD_GROUP,
        KMODEL_FD_DEVICE,
        KMODEL_FD_IOMMUFD,   /* <dev>/iommu */
        KMODEL_FD_CDEV,      /* <dev>/vfio/devices/vfioN, bound or not */
} KmodelFdKind;

int kmodel_open_container(const char *dev_root);
int kmodel_get_api_version(int container_fd);
int kmodel_check_extension(int container_fd, unsigned long extension);
int kmodel_set_iommu(int container_fd, unsigned long type);

int kmodel_open_group(const char *dev_root, int iommu_group);
int kmodel_group_get_status(int group_fd, struct vfio_group_status *status);
int kmodel_group_set_container(int group_fd, int container_fd);
/* Returns a new device fd (O_CLOEXEC), parsing `name` as vfio_pci_core_match() does:
 * "ADDR" or "ADDR vf_token=UUID". */
int kmodel_group_get_device_fd(int group_fd, const char *name);

int kmodel_device_get_info(int device_fd, struct vfio_device_info *info);
/* `data` holds argsz - sizeof(struct vfio_device_feature) bytes (may be NULL when that is 0). */
int kmodel_device_feature(int device_fd, uint32_t flags, uint32_t argsz, const void *data);

int kmodel_open_iommufd(const char *dev_root);
/* IOMMU_OPTION GET of `option_id` (only IOMMU_OPTION_RLIMIT_MODE is modelled: 0). */
int kmodel_iommufd_option_get(int iommufd, uint32_t option_id, uint32_t object_id, uint64_t *ret);
/* vfio_device_fops_cdev_open(): checks nothing but that the device is still there. */
int kmodel_open_cdev(const char *dev_root, int n);
/* vfio_df_ioctl_bind_iommufd(): `token` is what token_uuid_ptr points to (NULL for a bad
 * pointer: EFAULT when the flag asks for it); out_devid is not modelled. */
int kmodel_device_bind_iommufd(int cdev_fd, uint32_t argsz, uint32_t flags, int iommufd, const Token *token);

/* Which model object an fd is: a KmodelFdKind, or -EBADF if fd is not open. */
int kmodel_fd_kind(int fd);

/* The last line the model's vfio-pci "printed" in this process (e.g. "vfio-pci 0000:01:00.1: VF
 * token required to access device"), "" if none since kmodel_clear_message(). */
const char *kmodel_last_message(void);
void kmodel_clear_message(void);

/* Introspection for tests: things a test may ask of the model that nobody can ask of a kernel. */
/* The PF's current VF token. -EMEDIUMTYPE if the PF is not bound to vfio-pci. */
int kmodel_peek_token(const char *dev_root, const char *pf_address, Token *ret);
/* How many of the PF's VFs are open (the kernel's vf_token->users). */
int kmodel_vf_users(const char *dev_root, const char *pf_address);
/* Whether any device fd of this device is open anywhere: 1 or 0. */
int kmodel_device_is_open(const char *dev_root, const char *address);

/* tests/model/vfio-model.c: signals the request eventfd(s) that the holder of `device_fd`
 * registered (VFIO_DEVICE_SET_IRQS, VFIO_PCI_REQ_IRQ_INDEX), as the kernel does when it wants the
 * device back (unbind, hot-unplug). Returns how many were signalled. In this process only. */
int vfio_model_request_release(int device_fd);
