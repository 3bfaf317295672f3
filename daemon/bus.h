/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The D-Bus face of the daemon (DESIGN.md "D-Bus API"): object vtables for the Manager, each
 * PhysicalFunction and each Lease, the ObjectManager, signals, and the named errors. */

#include <systemd/sd-bus.h>

#include "vfio-token-names.h"

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
