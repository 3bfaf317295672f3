/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the Lease objects on the bus: their lookup and enumeration, their properties, and
 * Release. */

#include <errno.h>
#include <stdlib.h>

#include "bus-caller.h"
#include "bus-lease.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "string-util.h"
#include "strv.h"

int bus_lease_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        Lease *l = lease_find_by_path(userdata, path);

        if (!l)
                return 0;
        *found = l;
        return 1;
}

int bus_lease_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                        sd_bus_error *error) {
        Manager *m = userdata;
        size_t n = 0;
        char **l;

        l = calloc(m->n_leases + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_pfs; i++)
                for (Lease *x = m->pfs[i]->leases; x && n < m->n_leases; x = x->next) {
                        l[n] = strdup(x->path);
                        if (!l[n++]) {
                                strv_free(l);
                                return -ENOMEM;
                        }
                }
        *ret_nodes = l;
        return 1;
}

static int prop_lease(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;

        if (streq(property, "PhysicalFunction"))
                return sd_bus_message_append(reply, "o", l->pf->object_path);
        if (streq(property, "Device"))
                return sd_bus_message_append(reply, "s", l->device);
        if (streq(property, "Owner"))
                return sd_bus_message_append(reply, "s", l->owner);
        if (streq(property, "UID"))
                return sd_bus_message_append(reply, "u", (uint32_t) l->uid);
        if (streq(property, "PID"))
                return sd_bus_message_append(reply, "u", (uint32_t) l->pid);
        return sd_bus_message_append(reply, "t", l->acquired_usec);
}

static int method_lease_release(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;
        Caller c = {};
        int r;

        r = bus_caller_get(call, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m");
        if (c.uid != 0 && !streq_ptr(c.sender, l->owner)) {
                bus_audit(LOG_NOTICE, "release", &c, l->pf->config.address, l->device, l->id,
                          "refused: not the owner");
                bus_caller_done(&c);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Lease %s belongs to another connection; only its owner or root may "
                                         "release it.",
                                         l->path);
        }
        /* The lease's own line names its owner; this one names who released it. */
        bus_audit(LOG_INFO, "release", &c, l->pf->config.address, l->device, l->id,
                  streq_ptr(c.sender, l->owner) ? "by its owner" : "by root");
        bus_caller_done(&c);
        lease_end(l, "released");
        return sd_bus_reply_method_return(call, NULL);
}

const sd_bus_vtable bus_lease_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PhysicalFunction", "o", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Device", "s", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "s", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UID", "u", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PID", "u", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Acquired", "t", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD("Release", NULL, NULL, method_lease_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
