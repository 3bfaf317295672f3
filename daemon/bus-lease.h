/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the bus-*.c files: the Lease objects, for registration. */

#include <systemd/sd-bus.h>

extern const sd_bus_vtable bus_lease_vtable[];

/* sd-bus fallback lookup and node enumerator under VFIO_TOKEN_LEASE_PATH_PREFIX; userdata: BusFace. */
int bus_lease_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);
int bus_lease_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error);
