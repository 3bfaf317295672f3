/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's face on the bus (org.vfio.Tokend1(5)): the connection, the objects (the Manager
 * here, PhysicalFunction objects in bus-pf.c, Lease objects in bus-lease.c), the named errors,
 * the callers' identities (bus-peer.c) and their authorisation (polkit.c). It calls the manager
 * and only the manager; the manager's changes come back through bus-emit.h. */

#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct Manager Manager;
typedef struct BusFace BusFace;

/* Connects to the system bus, registers every object and takes the bus name. Losing the bus
 * later is fatal: the event loop is left with EXIT_FAILURE, and that is logged. */
int bus_face_new(Manager *m, BusFace **ret);
/* The same on a connection given (e.g. one end of a socketpair in unit tests), without a bus
 * name; the connection stays the caller's (bus_face_free() only drops its reference). */
int bus_face_new_on(Manager *m, sd_bus *bus, BusFace **ret);
BusFace *bus_face_free(BusFace *f); /* ends every pending check; leases stay with the manager */
DEFINE_TRIVIAL_CLEANUP_FUNC(BusFace *, bus_face_free);
