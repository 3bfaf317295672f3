/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the bus-*.c files: the PhysicalFunction objects, for bus_register(), and what the
 * Manager's methods share with them. */

#include <systemd/sd-bus.h>

typedef struct Manager Manager;
typedef struct Pf Pf;

extern const sd_bus_vtable bus_pf_vtable[];

/* sd-bus fallback lookup and node enumerator under VFIO_TOKEN_PF_PATH_PREFIX; userdata is the Manager. */
int bus_pf_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error);
int bus_pf_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error);

/* The PF that `device` is or is a VF of, within `scope` if not NULL; rereads sysfs before
 * giving up, since VFs may have been created since. NULL if none. */
Pf *bus_find_pf_for_device(Manager *m, Pf *scope, const char *device);

/* AcquireToken on the Manager (scope NULL) or on one PF: replies, now or once polkit answers. */
int bus_acquire_token(sd_bus_message *call, Manager *m, Pf *scope, sd_bus_error *error);
