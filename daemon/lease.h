/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Leases: one grant of a PF's token to one bus peer (its unique name), alive until released or
 * until the peer leaves the bus (the bus face tells the registry, see lease_registry_end_owner()).
 * Leases decide whether a rotation needs force, and the last one of a PF ending drives
 * RotateWhenIdle. The registry owns every lease, indexes them by owner, and keeps the lease
 * quotas: per connection, per uid and in all. */

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "pci-address.h"

typedef struct Pf Pf;
typedef struct LeaseRegistry LeaseRegistry;
typedef struct LeaseOwner LeaseOwner;

#define LEASES_MAX 4096          /* in the whole daemon */
#define LEASES_PER_OWNER_MAX 64  /* per bus connection */

typedef struct Lease {
        LeaseRegistry *registry;
        Pf *pf;
        uint64_t id;
        char *path;
        char device[PCI_ADDRESS_MAX];
        LeaseOwner *owner;
        uid_t uid;
        pid_t pid;
        uint64_t acquired_usec;
        struct Lease *owner_next, *owner_prev; /* in the owner's list */
} Lease;

/* `bus` points at the connection signals go out on (may hold NULL: no signals). */
int lease_registry_new(sd_bus *const *bus, unsigned max_per_user, LeaseRegistry **ret);
LeaseRegistry *lease_registry_free(LeaseRegistry *r); /* frees every lease, no side effects */
DEFINE_TRIVIAL_CLEANUP_FUNC(LeaseRegistry *, lease_registry_free);
void lease_registry_set_max_per_user(LeaseRegistry *r, unsigned max_per_user);
unsigned lease_registry_max_per_user(const LeaseRegistry *r);

/* Would one more lease for `owner` (unique name) with `uid` fit the quotas? 0, or -EDQUOT (this
 * connection's), -EUSERS (this uid's) or -ENOSPC (the daemon's). */
int lease_registry_check_quota(const LeaseRegistry *r, const char *owner, uid_t uid);

/* Creates a lease for `owner` on `pf` after checking the quotas as above. */
int lease_new(LeaseRegistry *r, Pf *pf, const char *device, const char *owner, uid_t uid, pid_t pid,
              Lease **ret);
/* Frees without side effects (teardown). */
Lease *lease_free(Lease *l);
/* Ends a lease: audit log line, Leases property change, then RotateWhenIdle if it was the last. */
void lease_end(Lease *l, const char *why);
/* Ends every lease of `owner` (it left the bus). Returns how many ended. */
unsigned lease_registry_end_owner(LeaseRegistry *r, const char *owner, const char *why);
/* Ends every lease on `pf` (it is no longer managed). Returns how many ended. */
unsigned lease_registry_end_pf(LeaseRegistry *r, Pf *pf, const char *why);

unsigned lease_registry_count(const LeaseRegistry *r);
unsigned lease_registry_count_owner(const LeaseRegistry *r, const char *owner);
unsigned lease_registry_count_uid(const LeaseRegistry *r, uid_t uid);
/* By object path (VFIO_TOKEN_LEASE_PATH_PREFIX "/<id>"); NULL if none. */
Lease *lease_registry_find_path(const LeaseRegistry *r, const char *path);
/* Every lease, in no particular order: for enumeration. Returns the first; next with
 * lease_registry_next(). */
Lease *lease_registry_first(const LeaseRegistry *r);
Lease *lease_registry_next(const Lease *l);

const char *lease_owner_name(const Lease *l);

/* Persistence across a restart (lease-file.h): the records of every lease, and a lease given back
 * under its old id (no quota applies: it was granted within them; the id must be new to this
 * run). Ids of new leases continue after the largest of `next_id` and every id restored. */
typedef struct LeaseRecords LeaseRecords;
typedef struct LeaseRecord LeaseRecord;
int lease_registry_records(const LeaseRegistry *r, LeaseRecords *ret);
int lease_restore(LeaseRegistry *r, Pf *pf, const LeaseRecord *rec, Lease **ret);
void lease_registry_reserve_ids(LeaseRegistry *r, uint64_t next_id);
