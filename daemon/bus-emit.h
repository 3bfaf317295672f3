/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one way changes flow from the daemon's core (manager, PFs, leases) back to the bus: the
 * core says what changed, in plain data, and this turns it into D-Bus signals. It knows the
 * API's names and sd-bus, nothing of the core, so the core never includes the bus face. Every
 * function is a no-op when bus is NULL (before the connection, and in unit tests). Signals
 * never carry a token. */

#include <stdint.h>
#include <systemd/sd-bus.h>

typedef enum PfChange {
        PF_CHANGED_STATE = 1u << 0,  /* State, StateReason, Api */
        PF_CHANGED_TOKEN = 1u << 1,  /* TokenGeneration, TokenSetTimestamp */
        PF_CHANGED_LEASES = 1u << 2, /* Leases */
        PF_CHANGED_VFS = 1u << 3,    /* NumVFs, VirtualFunctions */
} PfChange;

void bus_emit_pf_changed(sd_bus *bus, const char *pf_path, unsigned changes);
/* TokenRotated(s pf, o path, t generation) on the manager object. */
void bus_emit_token_rotated(sd_bus *bus, const char *pf_address, const char *pf_path, uint64_t generation);
/* ObjectManager's InterfacesAdded/InterfacesRemoved for a lease or PF object (removed: while the
 * object can still be found). */
void bus_emit_object_added(sd_bus *bus, const char *path);
void bus_emit_object_removed(sd_bus *bus, const char *path);
