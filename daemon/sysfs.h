/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sysfs boundary: PCI / SR-IOV discovery and setup under <root>/bus/pci. `root` is "/sys" in
 * production and a fixture tree in tests; nothing here issues ioctls or logs. Errors are -errno,
 * and sysfs_strerror() explains the ones the kernel gives for SR-IOV setup. */

#include <stdbool.h>

#include "macro.h"
#include "pci-address.h"
#include "vfio.h"

#define SYSFS_DEFAULT_ROOT "/sys"
#define SYSFS_MAX_VFS 4096

typedef struct PciDevice {
        char address[PCI_ADDRESS_MAX];
        char *driver;          /* basename of the driver link, NULL when unbound */
        bool sriov_capable;    /* sriov_totalvfs exists */
        unsigned total_vfs;    /* sriov_totalvfs */
        unsigned num_vfs;      /* sriov_numvfs */
        char **vfs;            /* VF addresses from virtfn0..N-1 links, NULL-terminated, never NULL */
        size_t n_vfs;
        char physfn[PCI_ADDRESS_MAX]; /* for a VF: its PF; "" otherwise */
        int iommu_group;       /* number, -1 when the device has none */
        int vfio_cdev;         /* N of vfio-dev/vfioN (/dev/vfio/devices/vfioN), -1 when none */
} PciDevice;

/* Reads what sysfs says of one device. -ENOENT if <root>/bus/pci/devices/<address> is absent;
 * a device that vanishes half-way through also gives -ENOENT or -ENODEV. */
int sysfs_device_read(const char *root, const char *address, PciDevice **ret);
/* The PF of VF `address` from its physfn link, in one readlink: -ENOENT if the device is
 * absent or not a VF. */
int sysfs_read_physfn(const char *root, const char *address, char ret[static PCI_ADDRESS_MAX]);
PciDevice *pci_device_free(PciDevice *d);
/* The `node` vfio_pf_open() and vfio_node_path() take for the device on an API: its IOMMU group,
 * or the N of its cdev; -1 when it has none. */
int pci_device_vfio_node(const PciDevice *d, VfioApi api);
DEFINE_TRIVIAL_CLEANUP_FUNC(PciDevice *, pci_device_free);

bool sysfs_device_exists(const char *root, const char *address);

/* Binds the device to vfio-pci: driver_override, unbind from its current driver, drivers_probe.
 * Does nothing if it is bound to vfio-pci already. */
int sysfs_bind_vfio(const char *root, const char *address);

/* Writes sriov_numvfs. Returns 0 without writing if the count is already n. */
int sysfs_set_num_vfs(const char *root, const char *address, unsigned n);

/* A human explanation of an error from sysfs_set_num_vfs()/sysfs_bind_vfio() (e.g. ENOENT from
 * sriov_numvfs on a vfio-pci PF means vfio-pci was loaded without enable_sriov=1). */
const char *sysfs_strerror(int error, bool numvfs);
