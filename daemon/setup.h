/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The privileged half (vfio-tokend --setup, ExecStartPre=+ under systemd): binds configured PFs
 * to vfio-pci, enables their VFs, and hands each PF's IOMMU group node (or, for Api=cdev, its
 * cdev node and an ACL entry on /dev/iommu) to the service user.
 * Idempotent: it runs before every (re)start, also while the PF's fds sit in the fd store and
 * VFs are in use, and then must leave an already bound, already enabled PF exactly as it is. */

#include <sys/types.h>

#include "config.h"

#define SERVICE_USER "vfio-tokend"

/* Sets up every PF; a PF that cannot be set up is reported and skipped. Returns the number of
 * PFs that failed (>= 0). owner_uid (uid_t) -1: leave ownership alone. */
int setup_all(const Config *c, const char *sysfs_root, const char *dev_root, uid_t owner_uid, gid_t owner_gid);
