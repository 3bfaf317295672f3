/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the signals and property-change notifications of the daemon (see bus-emit.h). */

#include "bus-emit.h"
#include "macro.h"
#include "vfio-token-names.h"

void bus_emit_pf_changed(sd_bus *bus, const char *pf_path, unsigned changes) {
        char *names[8];
        size_t n = 0;

        if (!bus)
                return;
        if (changes & PF_CHANGED_STATE) {
                names[n++] = (char *) "State";
                names[n++] = (char *) "StateReason";
                names[n++] = (char *) "Api";
        }
        if (changes & PF_CHANGED_TOKEN) {
                names[n++] = (char *) "TokenGeneration";
                names[n++] = (char *) "TokenSetTimestamp";
        }
        if (changes & PF_CHANGED_LEASES)
                names[n++] = (char *) "Leases";
        if (changes & PF_CHANGED_VFS) {
                names[n++] = (char *) "NumVFs";
                names[n++] = (char *) "VirtualFunctions";
        }
        if (n == 0)
                return;
        names[n] = NULL;
        (void) sd_bus_emit_properties_changed_strv(bus, pf_path, VFIO_TOKEN_PF_INTERFACE, names);
}

void bus_emit_token_rotated(sd_bus *bus, const char *pf_address, const char *pf_path, uint64_t generation) {
        if (!bus)
                return;
        (void) sd_bus_emit_signal(bus, VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE, "TokenRotated", "sot",
                                  pf_address, pf_path, generation);
}

void bus_emit_object_added(sd_bus *bus, const char *path) {
        if (bus)
                (void) sd_bus_emit_object_added(bus, path);
}

void bus_emit_object_removed(sd_bus *bus, const char *path) {
        if (bus)
                (void) sd_bus_emit_object_removed(bus, path);
}
