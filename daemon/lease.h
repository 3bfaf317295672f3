/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A lease: one grant of a PF's token to one bus peer, alive until released or until the peer
 * leaves the bus (tracked with sd_bus_track on its unique name). Leases decide whether a
 * rotation needs force, and the last one ending drives RotateWhenIdle. */

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "pci-address.h"

typedef struct Pf Pf;

#define LEASES_MAX 4096          /* in the whole daemon */
#define LEASES_PER_OWNER_MAX 64  /* per bus connection */

typedef struct Lease {
        Pf *pf;
        uint64_t id;
        char *path;
        char device[PCI_ADDRESS_MAX];
        char *owner; /* unique bus name */
        uid_t uid;
        pid_t pid;
        char *unit; /* may be NULL */
        uint64_t acquired_usec;
        sd_bus_track *track;
        struct Lease *next, *prev;
} Lease;

/* Creates a lease for `owner` (a unique name) on `pf` and starts tracking the owner. */
int lease_new(Pf *pf, const char *device, const char *owner, uid_t uid, pid_t pid, const char *unit,
              Lease **ret);
/* Frees without side effects (teardown). */
Lease *lease_free(Lease *l);
/* Ends a lease: audit log line, Leases property change, then RotateWhenIdle if it was the last. */
void lease_end(Lease *l, const char *why);

typedef struct Manager Manager;
unsigned lease_count_owner(Manager *m, const char *owner);
Lease *lease_find_by_path(Manager *m, const char *path);
