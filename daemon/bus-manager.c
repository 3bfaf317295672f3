/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the bus face (see bus-manager.h): the connection and its loss, the named errors, the
 * registration of every object, the Manager object's methods, and what happens when a caller
 * leaves the bus. */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <stdlib.h>

#include "bus-args.h"
#include "bus-face.h"
#include "bus-lease.h"
#include "bus-manager.h"
#include "bus-pf.h"
#include "lease-file.h"
#include "bus-peer.h"
#include "log.h"
#include "manager.h"
#include "pf.h"
#include "polkit.h"
#include "vfio-token-names.h"

static const sd_bus_error_map vfio_tokend_errors[] = {
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ENODEV),
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_DEVICE_GONE, ENXIO),
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE, EAGAIN),
        SD_BUS_ERROR_MAP_END,
};

/* ---- the Manager object ---- */

static int method_list_pfs(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        BusFace *f = userdata;
        Manager *m = f->manager;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(so)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_pfs; i++) {
                r = sd_bus_message_append(reply, "(so)", pf_address(m->pfs[i]), pf_object_path(m->pfs[i]));
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_pf(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        char device[PCI_ADDRESS_MAX];
        BusFace *f = userdata;
        Pf *pf;
        int r;

        r = bus_read_device_arg(call, device, error);
        if (r < 0)
                return r;
        pf = manager_resolve_device(f->manager, NULL, device);
        if (!pf)
                return sd_bus_error_setf(error, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE,
                                         "%s is neither a managed PF nor a VF of one.", device);
        return sd_bus_reply_method_return(call, "o", pf_object_path(pf));
}

static int method_manager_acquire(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return bus_method_acquire(call, userdata, NULL, error);
}

static int prop_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;

        return sd_bus_message_append(reply, "s", f->manager->version);
}

static const sd_bus_vtable bus_manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", prop_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ListPhysicalFunctions", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", pfs),
                                method_list_pfs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPhysicalFunction", SD_BUS_ARGS("s", device), SD_BUS_RESULT("o", path),
                                method_get_pf, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AcquireToken", SD_BUS_ARGS("s", device, "a{sv}", options),
                                SD_BUS_RESULT("s", token, "o", lease), method_manager_acquire,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_SIGNAL_WITH_ARGS("TokenRotated", SD_BUS_ARGS("s", pf, "o", path, "t", generation), 0),
        SD_BUS_VTABLE_END,
};

/* ---- the face ---- */

/* A unique name left the bus: its checks end unanswered, its leases end. */
static void on_peer_gone(const char *name, void *userdata) {
        BusFace *f = userdata;

        polkit_forget_sender(f->polkit, name);
        manager_owner_gone(f->manager, name);
}

/* sd-bus turns a lost connection (the bus daemon died, or closed us for exceeding its limits)
 * into this local signal. Without the bus nobody can be served, and the fds are safe in the
 * fd store: exit with a failure status so that the service manager restarts us. */
static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        BusFace *f = userdata;

        log_error("Lost the connection to the system bus; exiting so that the service manager restarts the "
                  "daemon (PF fds stay in its fd store).");
        return sd_event_exit(f->manager->event, EXIT_FAILURE);
}

BusFace *bus_face_free(BusFace *f) {
        if (!f)
                return NULL;
        manager_set_bus(f->manager, NULL);
        f->polkit = polkit_free(f->polkit);
        f->peers = peer_set_free(f->peers);
        for (size_t i = 0; i < ELEMENTSOF(f->slots); i++)
                sd_bus_slot_unref(f->slots[i]);
        sd_bus_slot_unref(f->disconnected);
        if (f->owns_bus)
                sd_bus_flush_close_unref(f->bus);
        else
                sd_bus_unref(f->bus);
        return mfree(f);
}

int bus_face_new_on(Manager *m, sd_bus *bus, BusFace **ret) {
        _cleanup_(bus_face_freep) BusFace *f = NULL;
        int r;

        f = calloc(1, sizeof(BusFace));
        if (!f)
                return log_oom();
        f->manager = m;
        f->bus = sd_bus_ref(bus);

        if (!sd_bus_get_event(bus)) {
                r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        }
        r = sd_bus_match_signal(bus, &f->disconnected, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, f);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the bus connection: %m");
        r = peer_set_new(bus, on_peer_gone, f, &f->peers);
        if (r < 0)
                return log_error_errno(r, "Failed to watch callers leaving the bus: %m");
        r = polkit_new(bus, m->config->max_pending_checks_per_user, &f->polkit);
        if (r < 0)
                return log_oom();

        r = sd_bus_error_add_map(vfio_tokend_errors);
        if (r < 0)
                return log_error_errno(r, "Failed to register the error map: %m");
        r = sd_bus_add_object_vtable(bus, &f->slots[0], VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE,
                                     bus_manager_vtable, f);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager object: %m");
        r = sd_bus_add_fallback_vtable(bus, &f->slots[1], VFIO_TOKEN_PF_PATH_PREFIX, VFIO_TOKEN_PF_INTERFACE,
                                       bus_pf_vtable, bus_pf_find, f);
        if (r < 0)
                return log_error_errno(r, "Failed to register PhysicalFunction objects: %m");
        r = sd_bus_add_node_enumerator(bus, &f->slots[2], VFIO_TOKEN_PF_PATH_PREFIX, bus_pf_enumerate, f);
        if (r < 0)
                return log_error_errno(r, "Failed to register the PF enumerator: %m");
        r = sd_bus_add_fallback_vtable(bus, &f->slots[3], VFIO_TOKEN_LEASE_PATH_PREFIX, VFIO_TOKEN_LEASE_INTERFACE,
                                       bus_lease_vtable, bus_lease_find, f);
        if (r < 0)
                return log_error_errno(r, "Failed to register Lease objects: %m");
        r = sd_bus_add_node_enumerator(bus, &f->slots[4], VFIO_TOKEN_LEASE_PATH_PREFIX, bus_lease_enumerate, f);
        if (r < 0)
                return log_error_errno(r, "Failed to register the lease enumerator: %m");
        r = sd_bus_add_object_manager(bus, &f->slots[5], VFIO_TOKEN_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to register the ObjectManager: %m");

        manager_set_bus(m, bus);
        *ret = TAKE_PTR(f);
        return 0;
}

/* Before the name is taken (nobody can call yet): each lease on disk goes back to its owner if
 * that unique name is still on the bus as the same uid and pid (a reused pid under another uid,
 * or another process, is not the owner). Unique names are never reused by a bus, so a name on
 * the bus with the same process behind it is the connection that held the lease. */
static void restore_leases(BusFace *f) {
        _cleanup_(lease_records_done) LeaseRecords recs = {};
        unsigned restored = 0, dropped = 0;
        int r;

        r = manager_load_lease_records(f->manager, &recs);
        if (r < 0) {
                manager_restore_done(f->manager, NULL);
                return;
        }
        for (size_t i = 0; i < recs.n; i++) {
                const LeaseRecord *rec = &recs.records[i];
                uid_t uid;
                pid_t pid;

                r = peer_identify_now(f->peers, rec->owner, &uid, &pid);
                if (r >= 0 && (uid != rec->uid || pid != rec->pid))
                        r = -ESTALE;
                if (r >= 0)
                        r = manager_restore_lease(f->manager, rec);
                if (r >= 0) {
                        restored++;
                        continue;
                }
                dropped++;
                log_info("Lease %" PRIu64 " of %s (uid %u, pid %u) on %s dropped: %s.", rec->id, rec->owner,
                         (unsigned) rec->uid, (unsigned) rec->pid, rec->pf,
                         r == -ESRCH    ? "its owner left the bus"
                         : r == -ESTALE ? "its owner's name is another process now"
                         : r == -ENODEV ? "the PF is no longer configured"
                                        : strerror(-r));
        }
        if (recs.n > 0)
                log_info("Leases from before the restart: %u restored, %u dropped.", restored, dropped);
        manager_restore_done(f->manager, &recs);
}

int bus_face_new(Manager *m, BusFace **ret) {
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        _cleanup_(bus_face_freep) BusFace *f = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = bus_face_new_on(m, bus, &f);
        if (r < 0)
                return r;
        f->owns_bus = true;
        restore_leases(f);
        r = sd_bus_request_name(bus, VFIO_TOKEN_BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name %s (is another instance running, and does "
                                          "the bus policy let us own it?): %m",
                                       VFIO_TOKEN_BUS_NAME);
        *ret = TAKE_PTR(f);
        return 0;
}
