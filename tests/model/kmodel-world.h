/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel model's state, inside the model only (kmodel.c is its one user): the world lock,
 * which object an fd is, the topology read from the fixture's sysfs, who holds which device open,
 * the PFs' tokens and the group/container state files (layout in kmodel.h). Every function
 * expects the world lock held, i.e. a World from world_open(). */

#include <limits.h>
#include <stdbool.h>

#include "kmodel.h"
#include "macro.h"
#include "pci-address.h"
#include "string-util.h"
#include "sysfs.h"

#define VFIO_PCI "vfio-pci"

/* One lock for the whole model world, held from world_open() to world_free(). */
typedef struct World {
        char *vfio_dir;  /* <dev>/vfio */
        char *state_dir; /* <dev>/vfio/.kmodel */
        char *sys_root;  /* <dev>/vfio/.kmodel-sysfs */
        int lock_fd;
} World;

int world_open(const char *vfio_dir, World **ret);
int world_open_dev(const char *dev_root, World **ret);
World *world_free(World *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(World *, world_free);

/* Which model object an fd is, found from the path of the file it refers to. */
typedef struct FdId {
        KmodelFdKind kind;
        char vfio_dir[PATH_MAX];
        char name[NAME_MAX + 1]; /* device address, container id, group number, cdev file */
        char device[PCI_ADDRESS_MAX]; /* the device of a device or cdev fd */
} FdId;

/* -EBADF if fd is not open; kind KMODEL_FD_OTHER for anything the model did not hand out. */
int fd_identify(int fd, FdId *ret);

/* Creates a state file from a mkostemp() template (its name written back), shared by every user
 * of the world, and holds flock(LOCK_SH) on it for the life of the returned fd and its copies:
 * a model object (container, cdev open file) that lives as long as some fd refers to it. */
int world_create_held(char *path_template);

/* Opens (creating) a state file readable and writable by every user of the world. */
int world_open_shared(const char *path, int flags);

/* Records what vfio-pci would print for the device (kmodel_last_message(), .kmodel/dmesg). */
void world_log(World *w, const char *address, const char *message);

int world_device(World *w, const char *address, PciDevice **ret);
static inline bool driver_is_vfio(const PciDevice *d) {
        return streq_ptr(d->driver, VFIO_PCI);
}

/* The devices of an IOMMU group, sorted (a NULL-terminated list, never NULL on success). */
int world_group_members(World *w, int group, char ***ret);
/* 1 if the device is open anywhere (a device fd from its group, or its cdev bound), else 0. */
int world_device_is_open(World *w, const char *address);
/* 1 if the device's cdev is bound by an fd still open somewhere. */
int world_device_cdev_bound(World *w, const char *address);
/* 1 if the group's node is held, or a device was opened through it (group->opened_file). */
int world_group_opened_file(World *w, int group);
/* An open file of a cdev: .kmodel/cdev/<addr>@<random>, "bound\n" once VFIO_DEVICE_BIND_IOMMUFD
 * succeeded on it. */
int world_cdev_bound(World *w, const char *name);
int world_cdev_set_bound(World *w, const char *name);
/* The PF's VFs that are open: the kernel's vf_token->users. */
int world_vf_users(World *w, const PciDevice *pf);
/* 1 if a device fd of a device in the group is open. */
int world_group_devices_open(World *w, int group);
/* 1 if no device of the group is bound to a host driver that does DMA. */
int world_group_viable(World *w, int group);

/* The PF's token for its current binding to vfio-pci (random on first use after a bind). */
int world_token_load(World *w, const char *pf, Token *ret);
int world_token_store(World *w, const char *pf, const Token *t);

typedef struct ContainerState {
        unsigned groups;
        unsigned long iommu; /* 0: VFIO_SET_IOMMU not done */
} ContainerState;

int world_container_read(World *w, const char *id, ContainerState *ret);
int world_container_write(World *w, const char *id, const ContainerState *s);
/* The group's container id (group->container), "" for none. */
int world_group_container(World *w, const char *group, char ret[static NAME_MAX + 1]);
int world_group_set_container(World *w, const char *group, const char *id);
/* Removes the state of containers that no fd and no group refers to any more. */
int world_gc_containers(World *w);

/* kmodel.c, for kmodel-cdev.c: vfio_pci_core_match_token_uuid() on a device bound to vfio-pci
 * (uuid NULL: no token given). */
int kmodel_match_token(World *w, const PciDevice *d, const Token *uuid);
