/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fake sysfs and /dev trees for tests and the demo: no kernel, just files laid out as the kernel
 * lays them out, so daemon/sysfs.c reads a fixture exactly as it reads /sys.
 *
 * Under a base directory a fixture holds:
 *
 *   sys/devices/pci0000:00/<addr>/            one real directory per device (PFs and VFs alike)
 *       driver -> ../../../bus/pci/drivers/<drv>      absent when unbound
 *       driver_override                        "(null)\n" until written
 *       iommu_group -> ../../../kernel/iommu_groups/<n>
 *       sriov_totalvfs, sriov_numvfs           SR-IOV capable PFs only
 *       virtfn<i> -> ../<vf addr>              PFs, one per VF, i = 0..numvfs-1
 *       physfn -> ../<pf addr>                 VFs only
 *   sys/bus/pci/devices/<addr> -> ../../../devices/pci0000:00/<addr>
 *   sys/bus/pci/drivers/<drv>/{bind,unbind}   and <addr> -> ../../../../devices/pci0000:00/<addr>
 *   sys/bus/pci/drivers_probe
 *   sys/kernel/iommu_groups/<n>/devices/<addr> -> ../../../../devices/pci0000:00/<addr>
 *   dev/vfio/vfio                              regular file standing for the container node
 *   dev/vfio/<n>                               regular file; exists while a device of group n
 *                                              is bound to vfio-pci (as the kernel's group node)
 *   dev/vfio/devices/vfio<N>                   regular file holding "<addr>\n": the device's VFIO cdev,
 *                                              while it is bound to vfio-pci and has an IOMMU group
 *       (and sys/devices/pci0000:00/<addr>/vfio-dev/vfio<N>/; N the lowest free index)
 *   dev/iommu                                  regular file standing for the iommufd node
 *   dev/vfio/.kmodel-sysfs -> <absolute path of sys/>
 *
 * The last one is a convention for the kernel model (tests/model/): it is handed only a dev root,
 * and follows <dev>/vfio/.kmodel-sysfs to the sysfs tree to learn, through daemon/sysfs.h, whether
 * a device is a PF or a VF, its PF, the PF's driver and the IOMMU group.
 *
 * The vfio-pci driver directory exists from fixture_new() on (as if the module were loaded).
 *
 * Writing to fixture files does nothing by itself (they are plain files): tests read back what
 * was written with fixture_read_file(), and fixture_simulate_bind() plays the kernel's part of a
 * driver_override/unbind/drivers_probe sequence afterwards.
 *
 * The fixture keeps no state beyond its paths: everything is read back from the tree, so several
 * processes (mkfixture, a test, the model) may work on the same tree, one after the other.
 * Functions return 0 or -errno and never log. Addresses must be canonical ("0000:3b:00.0"). */

#include "macro.h"

typedef struct Fixture Fixture;

/* Creates (or reopens) a fixture under `base`; with NULL, under a fresh mkdtemp() directory in
 * $TMPDIR (or /tmp). An existing fixture in `base` is reused as it is. */
int fixture_new(const char *base, Fixture **ret);

/* Removes the sys/ and dev/ trees (and the base directory if fixture_new() created it), unless
 * fixture_keep() was called. Accepts NULL; returns NULL. */
Fixture *fixture_free(Fixture *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(Fixture *, fixture_free);
void fixture_keep(Fixture *f);

const char *fixture_base(const Fixture *f);  /* absolute */
const char *fixture_sysfs(const Fixture *f); /* <base>/sys: the `root` for daemon/sysfs.h */
const char *fixture_dev(const Fixture *f);   /* <base>/dev: the dev root for the kernel model */

/* Creates sys/bus/pci/drivers/<driver>/ (a loaded driver). Idempotent. */
int fixture_add_driver(Fixture *f, const char *driver);
/* Removes it (an unloaded module); -EBUSY while devices are bound to it. */
int fixture_remove_driver(Fixture *f, const char *driver);

/* Adds a PF in IOMMU group `iommu_group_base` with `num_vfs` VFs enabled out of `total_vfs`.
 * VF i (0-based) sits at routing ID PF+1+i (".1", ".2", ... then the following device numbers,
 * as with VF offset 1 and stride 1), in its own group iommu_group_base+1+i (no group if
 * iommu_group_base < 0), bound to the PF's driver. `driver` NULL leaves the PF (and its VFs) unbound. total_vfs 0 makes a device that is
 * not SR-IOV capable (no sriov_* files); num_vfs must not exceed total_vfs.
 * -EEXIST if any of the addresses is taken. */
int fixture_add_pf(Fixture *f, const char *pf_addr, const char *driver, unsigned total_vfs, unsigned num_vfs,
                   int iommu_group_base);

/* Adds a plain device (no SR-IOV). driver NULL: unbound. iommu_group < 0: no IOMMU group. */
int fixture_add_device(Fixture *f, const char *addr, const char *driver, int iommu_group);

/* Removes the device as a hot-unplug does (a PF takes its VFs with it): links to it go first,
 * then its directory. -ENOENT if there is no such device. */
int fixture_remove_device(Fixture *f, const char *addr);

/* Re-binds the device to `driver` (NULL: unbinds it), loading the driver if needed, and keeps
 * the dev/vfio/<group> node in step. */
int fixture_set_driver(Fixture *f, const char *addr, const char *driver);

/* Destroys the PF's VFs and creates n new ones (same addresses, groups and driver as
 * fixture_add_pf() gives), updating sriov_numvfs: what a write of 0 then n would do. */
int fixture_set_num_vfs(Fixture *f, const char *pf_addr, unsigned n);

/* Deletes the PF's virtfn<n> link only, leaving the VF in place (a broken tree). */
int fixture_remove_virtfn(Fixture *f, const char *pf_addr, unsigned n);

/* Plays the kernel's part after sysfs_bind_vfio()'s writes: a device whose driver's unbind file
 * holds its address is unbound; then, if sys/bus/pci/drivers_probe holds its address and its
 * driver_override names a loaded driver, it is bound to it. The files written are emptied. */
int fixture_simulate_bind(Fixture *f, const char *addr);

/* Whole contents of <base>/<relpath> (e.g. "sys/bus/pci/drivers_probe"), NUL-terminated. */
int fixture_read_file(Fixture *f, const char *relpath, char **ret);
/* Replaces the contents of the existing file <base>/<relpath>. */
int fixture_write_file(Fixture *f, const char *relpath, const char *contents);
