/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the daemon's face on the bus: the named errors, the Manager object and its methods,
 * registering every object (the PhysicalFunction ones live in bus-pf.c, the Lease ones in
 * bus-lease.c, the caller and audit in bus-caller.c), and the signals and property changes the
 * rest of the daemon emits. */

#include <errno.h>
#include <stdarg.h>

#include "bus-args.h"
#include "bus-lease.h"
#include "bus-pf.h"
#include "bus.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "pf.h"

static const sd_bus_error_map vfio_tokend_errors[] = {
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ENODEV),
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_DEVICE_GONE, ENXIO),
        SD_BUS_ERROR_MAP_END,
};

/* ---- Manager ---- */

static int method_list_pfs(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(so)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_pfs; i++) {
                r = sd_bus_message_append(reply, "(so)", m->pfs[i]->config.address, m->pfs[i]->object_path);
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
        Manager *m = userdata;
        Pf *pf;
        int r;

        r = bus_read_device_arg(call, device, error);
        if (r < 0)
                return r;
        pf = bus_find_pf_for_device(m, NULL, device);
        if (!pf)
                return sd_bus_error_setf(error, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE,
                                         "%s is neither a managed PF nor a VF of one.", device);
        return sd_bus_reply_method_return(call, "o", pf->object_path);
}

static int method_manager_acquire(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return bus_acquire_token(call, userdata, NULL, error);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Manager, version), SD_BUS_VTABLE_PROPERTY_CONST),
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

int bus_register(Manager *m) {
        int r;

        r = sd_bus_error_add_map(vfio_tokend_errors);
        if (r < 0)
                return log_error_errno(r, "Failed to register error map: %m");
        r = sd_bus_add_object_vtable(m->bus, NULL, VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager object: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, VFIO_TOKEN_PF_PATH_PREFIX, VFIO_TOKEN_PF_INTERFACE, bus_pf_vtable, bus_pf_find,
                                       m);
        if (r < 0)
                return log_error_errno(r, "Failed to register PhysicalFunction objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, VFIO_TOKEN_PF_PATH_PREFIX, bus_pf_enumerate, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the PF enumerator: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, VFIO_TOKEN_LEASE_PATH_PREFIX, VFIO_TOKEN_LEASE_INTERFACE, bus_lease_vtable,
                                       bus_lease_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register Lease objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, VFIO_TOKEN_LEASE_PATH_PREFIX, bus_lease_enumerate, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the lease enumerator: %m");
        r = sd_bus_add_object_manager(m->bus, NULL, VFIO_TOKEN_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to register the ObjectManager: %m");
        return 0;
}

void bus_pf_emit_changed(Pf *pf, const char *property, ...) {
        char *names[16];
        size_t n = 0;
        va_list ap;

        if (!pf->manager->bus || !property)
                return;
        va_start(ap, property);
        for (const char *p = property; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = (char *) p;
        va_end(ap);
        names[n] = NULL;
        (void) sd_bus_emit_properties_changed_strv(pf->manager->bus, pf->object_path, VFIO_TOKEN_PF_INTERFACE, names);
}

void bus_emit_token_rotated(Pf *pf) {
        if (!pf->manager->bus)
                return;
        (void) sd_bus_emit_signal(pf->manager->bus, VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE, "TokenRotated", "sot",
                                  pf->config.address, pf->object_path, pf->state->generation);
}
