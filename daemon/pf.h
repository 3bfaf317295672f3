/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One managed SR-IOV physical function: its sysfs view, its open VFIO fds, its token state and
 * its timers. The PF's token is held here (in locked memory, via PfState) and nowhere else in
 * the daemon. The type is opaque: the manager and the bus face use the functions below; only
 * pf.c (and its unit tests, through pf-internal.h) see the kernel boundary behind it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"

typedef struct Pf Pf;
typedef struct FdStore FdStore;
typedef struct Token Token;

/* What every PF shares, owned by the manager: the event loop, the roots of the system's trees,
 * the state directory, the fd store (only during start-up), and the bus connection for the
 * property changes and signals of bus-emit.h (NULL until connected, and in tests). */
typedef struct PfContext {
        sd_event *event;
        sd_bus *bus;
        const char *sysfs_root;
        const char *dev_root;
        const char *state_dir;
        int state_fd;
        FdStore *fdstore;
        /* Called whenever a PF's state or lease count changes (the manager's STATUS=, and the
         * leases on disk); may be NULL. */
        void (*changed)(void *userdata);
        void *userdata;
} PfContext;

typedef enum PfStatus {
        PF_STATUS_READY,  /* open, token known */
        PF_STATUS_LOCKED, /* VFs in use and no token on record the kernel accepts */
        PF_STATUS_GONE,   /* absent, not SR-IOV capable, not on vfio-pci, or otherwise unusable */
        _PF_STATUS_MAX,
} PfStatus;

int pf_new(const PfContext *ctx, const PfConfig *c, Pf **ret);
Pf *pf_free(Pf *pf);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pf *, pf_free);

/* Brings the PF up: discovery, fds from the store or a (re)open with the token on record,
 * roll-forward of a rotation that was in flight, a first token if none is known, fds to the
 * store, timers. A PF that cannot be brought up is left LOCKED or GONE with a retry timer and
 * this returns 0: only fatal errors (OOM, state I/O) are returned. */
int pf_start(Pf *pf, FdStore *store);

/* Replaces the token: pending on disk, SET, commit. Leases are the caller's business (see
 * pf_rotate_request()). */
int pf_rotate(Pf *pf, const char *reason);
/* Rotation by request: -EAGAIN if the PF is not ready, -EBUSY if leases are held and !force. */
int pf_rotate_request(Pf *pf, bool force, const char *reason);

/* Copies the current token into ret; -EAGAIN if the PF is not READY. */
int pf_get_token(Pf *pf, Token *ret);

/* Is `address` this PF or one of its VFs (by the last sysfs view)? */
bool pf_owns_device(const Pf *pf, const char *address);
/* Is `address` a VF of this PF by sysfs (its physfn link), now? One readlink, no rescan; if it
 * is, the PF's view of its VFs is refreshed. */
bool pf_claims_new_vf(Pf *pf, const char *address);

/* (Re)arms the interval rotation timer from the token's set time and the policy. */
int pf_schedule_rotation(Pf *pf);

/* Tries to bring a locked or gone PF up now (udev reported it, or an admin asked), rather than
 * at the next retry. 0 whatever the outcome (see pf_status()); -errno only for fatal errors. */
int pf_retry_now(Pf *pf);
/* udev says the device is gone: let go now (the kernel may not ask, e.g. for a device that
 * vanished while unbound). */
void pf_device_removed(Pf *pf);
/* Re-reads the PF's view of its VFs (VFs enabled or disabled). */
void pf_refresh_vfs(Pf *pf);

/* A reloaded configuration for this PF (same address): the rotation policy applies at once; the
 * PF is never reopened. */
void pf_update_config(Pf *pf, const PfConfig *c);
/* Lets go of the PF for good (removed from the configuration): fds closed, fd-store entries
 * removed. Its leases must have been ended first. */
void pf_release(Pf *pf);

/* Leases of this PF are kept by lease.c, which tells the PF of each one made or removed, and of
 * each one that ended (after its removal: drives RotateWhenIdle). */
void pf_lease_added(Pf *pf);
void pf_lease_removed(Pf *pf);
void pf_lease_ended(Pf *pf);

/* Accessors for the bus face. Strings are owned by the PF. */
const char *pf_address(const Pf *pf);
const char *pf_object_path(const Pf *pf);
PfStatus pf_status(const Pf *pf);
const char *pf_status_to_string(PfStatus s);
/* Why the PF is locked or gone, in words; "" when ready. */
const char *pf_state_reason(const Pf *pf);
const char *pf_api_to_string(const Pf *pf); /* "group" or "cdev" */
const char *pf_driver(const Pf *pf);        /* "" when unknown */
unsigned pf_num_vfs(const Pf *pf);
unsigned pf_total_vfs(const Pf *pf);
char *const *pf_vfs(const Pf *pf); /* NULL-terminated, may be NULL */
uint64_t pf_generation(const Pf *pf);
uint64_t pf_token_set_usec(const Pf *pf);
unsigned pf_n_leases(const Pf *pf);
