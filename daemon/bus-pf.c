/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the PhysicalFunction objects on the bus: their lookup and enumeration, their properties,
 * and their methods (AcquireToken, also the Manager's, and Rotate), which check the arguments
 * and the device, then hand the call to bus-request.c. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-args.h"
#include "bus-face.h"
#include "bus-pf.h"
#include "bus-request.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "pf.h"
#include "strv.h"
#include "vfio-token-names.h"

int bus_method_acquire(sd_bus_message *call, BusFace *f, Pf *scope, sd_bus_error *error) {
        char device[PCI_ADDRESS_MAX];
        Pf *pf;
        int r;

        /* Order (DESIGN.md): arguments, device, authorisation, grant. */
        r = bus_read_device_arg(call, device, error);
        if (r < 0)
                return r;
        r = bus_read_options_arg(call, error);
        if (r < 0)
                return r;

        pf = manager_resolve_device(f->manager, scope, device);
        if (!pf) {
                if (scope)
                        return sd_bus_error_setf(error, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE,
                                                 "%s is neither PF %s nor one of its VFs.", device, pf_address(scope));
                return sd_bus_error_setf(error, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE,
                                         "%s is neither a managed PF nor a VF of one.", device);
        }
        return bus_request_start(f, call, REQUEST_ACQUIRE, pf_address(pf), device, false, error);
}

static int method_pf_acquire(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return bus_method_acquire(call, bus_face_of(call), userdata, error);
}

static int method_pf_rotate(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;
        int force, r;

        r = sd_bus_message_read(call, "b", &force);
        if (r < 0)
                return r;
        return bus_request_start(bus_face_of(call), call, REQUEST_ROTATE, pf_address(pf), NULL, force, error);
}

static int method_pf_retry(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return bus_request_start(bus_face_of(call), call, REQUEST_RETRY, pf_address(userdata), NULL, false, error);
}

int bus_pf_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error) {
        _cleanup_free_ char *address = NULL;
        BusFace *f = userdata;
        Pf *pf;
        int r;

        r = sd_bus_path_decode(path, VFIO_TOKEN_PF_PATH_PREFIX, &address);
        if (r <= 0)
                return r;
        pf = manager_find_pf(f->manager, address);
        if (!pf)
                return 0;
        *found = pf;
        return 1;
}

int bus_pf_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        char **l;

        l = calloc(m->n_pfs + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_pfs; i++) {
                l[i] = strdup(pf_object_path(m->pfs[i]));
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *ret_nodes = l;
        return 1;
}

#define PF_PROPERTY(name, sig, expr) BUS_PROPERTY_GETTER(Pf, name, sig, expr)

PF_PROPERTY(address, "s", pf_address(obj))
PF_PROPERTY(driver, "s", pf_driver(obj))
PF_PROPERTY(num_vfs, "u", (uint32_t) pf_num_vfs(obj))
PF_PROPERTY(total_vfs, "u", (uint32_t) pf_total_vfs(obj))
PF_PROPERTY(generation, "t", pf_generation(obj))
PF_PROPERTY(set_usec, "t", pf_token_set_usec(obj))
PF_PROPERTY(api, "s", pf_api_to_string(obj))
PF_PROPERTY(state, "s", pf_status_to_string(pf_status(obj)))
PF_PROPERTY(state_reason, "s", pf_state_reason(obj))

static int prop_vfs(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_strv(reply, (char **) pf_vfs(userdata));
}

static int prop_leases(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const Pf *pf = userdata;
        BusFace *f = bus_face_of_bus(bus);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        /* Oldest first: the registry is in the order of ids. */
        for (Lease *l = lease_registry_first(f->manager->leases); l; l = lease_registry_next(l))
                if (l->pf == pf) {
                        r = sd_bus_message_append(reply, "o", l->path);
                        if (r < 0)
                                return r;
                }
        return sd_bus_message_close_container(reply);
}

const sd_bus_vtable bus_pf_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", prop_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Driver", "s", prop_driver, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("NumVFs", "u", prop_num_vfs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TotalVFs", "u", prop_total_vfs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("VirtualFunctions", "as", prop_vfs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TokenGeneration", "t", prop_generation, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TokenSetTimestamp", "t", prop_set_usec, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Invalidation only: with many leases the list itself would make every grant's signal
         * grow with the number of leases. */
        SD_BUS_PROPERTY("Leases", "ao", prop_leases, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("Api", "s", prop_api, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", prop_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StateReason", "s", prop_state_reason, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("AcquireToken", SD_BUS_ARGS("s", device, "a{sv}", options),
                                SD_BUS_RESULT("s", token, "o", lease), method_pf_acquire,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Rotate", SD_BUS_ARGS("b", force), SD_BUS_RESULT("t", generation),
                                method_pf_rotate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Retry", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", state), method_pf_retry,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
