/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the daemon (DESIGN.md "D-Bus API"): object vtables for the Manager, each
 * PhysicalFunction and each Lease, the ObjectManager, signals, and the named errors. */

#include <systemd/sd-bus.h>

#define BUS_NAME "org.vfio.Tokend1"
#define BUS_PATH "/org/vfio/Tokend1"
#define BUS_PF_PREFIX "/org/vfio/Tokend1/pf"
#define BUS_LEASE_PREFIX "/org/vfio/Tokend1/lease"
#define BUS_IFACE_MANAGER "org.vfio.Tokend1.Manager"
#define BUS_IFACE_PF "org.vfio.Tokend1.PhysicalFunction"
#define BUS_IFACE_LEASE "org.vfio.Tokend1.Lease"

#define BUS_ERROR_NO_SUCH_DEVICE "org.vfio.Tokend1.Error.NoSuchDevice"
#define BUS_ERROR_NOT_SUPPORTED "org.vfio.Tokend1.Error.NotSupported"
#define BUS_ERROR_BUSY "org.vfio.Tokend1.Error.Busy"
#define BUS_ERROR_DEVICE_GONE "org.vfio.Tokend1.Error.DeviceGone"

#define POLKIT_ACTION_ACQUIRE "org.vfio.tokend.acquire-token"
#define POLKIT_ACTION_ROTATE "org.vfio.tokend.rotate-token"

/* Bounds on what a caller may send. */
#define BUS_DEVICE_MAX 64

typedef struct Manager Manager;
typedef struct Pf Pf;

int bus_register(Manager *m);

/* PropertiesChanged for the named PhysicalFunction properties (NULL-terminated). No-op without
 * a bus. */
void bus_pf_emit_changed(Pf *pf, const char *property, ...);
/* TokenRotated(s pf, o path, t generation): never the token. */
void bus_emit_token_rotated(Pf *pf);
