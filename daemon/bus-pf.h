/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the bus-*.c files: the PhysicalFunction objects, for registration, and the
 * AcquireToken method the Manager object shares with them. */

#include <systemd/sd-bus.h>

typedef struct BusFace BusFace;
typedef struct Pf Pf;

extern const sd_bus_vtable bus_pf_vtable[];

/* sd-bus fallback lookup and node enumerator under VFIO_TOKEN_PF_PATH_PREFIX; userdata: BusFace. */
int bus_pf_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error);
int bus_pf_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error);

/* AcquireToken on the Manager (scope NULL) or on one PF: arguments, then the device, then the
 * request's journey (bus-request.h). */
int bus_method_acquire(sd_bus_message *call, BusFace *f, Pf *scope, sd_bus_error *error);
