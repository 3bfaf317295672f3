/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the Lease objects on the bus: their lookup and enumeration, their properties, and
 * Release. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-caller.h"
#include "bus-face.h"
#include "bus-lease.h"
#include "bus-peer.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "pf.h"
#include "string-util.h"
#include "strv.h"

int bus_lease_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        BusFace *f = userdata;
        Lease *l = lease_registry_find_path(f->manager->leases, path);

        if (!l)
                return 0;
        *found = l;
        return 1;
}

int bus_lease_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                        sd_bus_error *error) {
        BusFace *f = userdata;
        LeaseRegistry *reg = f->manager->leases;
        size_t n = 0;
        char **l;

        l = calloc(lease_registry_count(reg) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (Lease *x = lease_registry_first(reg); x; x = lease_registry_next(x)) {
                l[n] = strdup(x->path);
                if (!l[n++]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *ret_nodes = l;
        return 1;
}

#define LEASE_PROPERTY(name, sig, expr) BUS_PROPERTY_GETTER(Lease, name, sig, expr)

LEASE_PROPERTY(pf, "o", pf_object_path(obj->pf))
LEASE_PROPERTY(device, "s", obj->device)
LEASE_PROPERTY(owner, "s", lease_owner_name(obj))
LEASE_PROPERTY(uid, "u", (uint32_t) obj->uid)
LEASE_PROPERTY(pid, "u", (uint32_t) obj->pid)
LEASE_PROPERTY(acquired, "t", obj->acquired_usec)

typedef struct ReleaseRequest {
        sd_bus_message *call;
        LeaseRegistry *registry;
        char *path;
} ReleaseRequest;

static void on_release_identified(const PeerIdentity *id, int error, void *userdata) {
        ReleaseRequest *req = userdata;
        Caller c = { .sender = sd_bus_message_get_sender(req->call) ?: "", .uid = (uid_t) -1 };
        Lease *l;

        if (!id) {
                if (error != -ESRCH && error != -ECANCELED)
                        (void) bus_reply_error(req->call, SD_BUS_ERROR_FAILED, "Cannot identify the caller: %s",
                                               strerror(-error));
                goto done;
        }
        c.uid = id->uid;
        c.pid = id->pid;

        /* Looked up again: the lease may have ended while the caller was being identified. */
        l = lease_registry_find_path(req->registry, req->path);
        if (!l) {
                (void) bus_reply_error(req->call, SD_BUS_ERROR_UNKNOWN_OBJECT, "Lease %s has ended.", req->path);
                goto done;
        }
        if (c.uid != 0 && !streq(c.sender, lease_owner_name(l))) {
                bus_audit(LOG_NOTICE, "release", &c, pf_address(l->pf), l->device, l->id, "refused: not the owner");
                (void) bus_reply_error(req->call, SD_BUS_ERROR_ACCESS_DENIED,
                                       "Lease %s belongs to another connection; only its owner or root may "
                                       "release it.",
                                       l->path);
                goto done;
        }
        /* The lease's own line names its owner; this one names who released it. */
        bus_audit(LOG_INFO, "release", &c, pf_address(l->pf), l->device, l->id,
                  streq(c.sender, lease_owner_name(l)) ? "by its owner" : "by root");
        lease_end(l, "released");
        (void) sd_bus_reply_method_return(req->call, NULL);
done:
        sd_bus_message_unref(req->call);
        free(req->path);
        free(req);
}

static int method_lease_release(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_of(call);
        Lease *l = userdata;
        ReleaseRequest *req;
        int r;

        req = calloc(1, sizeof(ReleaseRequest));
        if (!req)
                return -ENOMEM;
        req->call = sd_bus_message_ref(call);
        req->registry = f->manager->leases;
        req->path = strdup(l->path);
        if (!req->path) {
                sd_bus_message_unref(req->call);
                free(req);
                return -ENOMEM;
        }
        r = peer_identify(f->peers, sd_bus_message_get_sender(call) ?: "", on_release_identified, req);
        if (r < 0) {
                sd_bus_message_unref(req->call);
                free(req->path);
                free(req);
                if (r == -EUSERS || r == -ENOSPC)
                        return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                "Refused: too many calls of this connection wait already.");
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m");
        }
        return 1;
}

const sd_bus_vtable bus_lease_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PhysicalFunction", "o", prop_pf, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Device", "s", prop_device, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "s", prop_owner, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UID", "u", prop_uid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PID", "u", prop_pid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Acquired", "t", prop_acquired, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD("Release", NULL, NULL, method_lease_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
