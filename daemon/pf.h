/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One managed SR-IOV physical function: its sysfs view, its open VFIO fds, its token state and
 * its timers. The PF's token is held here (in locked memory, via PfState) and nowhere else in
 * the daemon. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "fdstore.h"
#include "macro.h"
#include "time-util.h"
#include "state.h"
#include "sysfs.h"
#include "token.h"
#include "vfio.h"

typedef struct Manager Manager;
typedef struct Lease Lease;

typedef enum PfStatus {
        PF_STATUS_READY,  /* open, token known */
        PF_STATUS_LOCKED, /* VFs in use and no token on record the kernel accepts */
        PF_STATUS_GONE,   /* absent, not SR-IOV capable, not on vfio-pci, or otherwise unusable */
        _PF_STATUS_MAX,
} PfStatus;

/* Retry interval for PFs that are locked or gone: doubles after each failed retry, up to the
 * maximum, so a PF that stays away costs a log line every few minutes, not every few seconds. */
#define PF_RETRY_USEC (10 * USEC_PER_SEC)
#define PF_RETRY_MAX_USEC (10 * 60 * USEC_PER_SEC)

typedef struct Pf {
        Manager *manager;
        PfConfig config;        /* copy; config.file is not owned and is NULL */
        char *object_path;

        PciDevice *device;      /* last sysfs view; NULL before the first discovery */
        VfioPf *vfio;           /* NULL unless status == READY */
        PfState *state;         /* never NULL; current == NULL when no token is known */
        PfStatus status;
        int status_error;       /* -errno that explains LOCKED/GONE */
        bool adopted;           /* fds came from the fd store this run */
        bool state_damaged;     /* the state file on disk failed to load (-EBADMSG) */

        sd_event_source *rotate_timer;
        sd_event_source *retry_timer;
        uint64_t retry_usec;             /* next retry interval */
        sd_event_source *request_source; /* the kernel asking for the device back */

        Lease *leases;          /* list, newest first */
        unsigned n_leases;
} Pf;

int pf_new(Manager *m, const PfConfig *c, Pf **ret);
Pf *pf_free(Pf *pf);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pf *, pf_free);

/* Brings the PF up: discovery, fds from the store or a (re)open with the token on record,
 * roll-forward of a rotation that was in flight, a first token if none is known, fds to the
 * store, timers. A PF that cannot be brought up is left LOCKED or GONE with a retry timer and
 * this returns 0: only fatal errors (OOM, state I/O) are returned. */
int pf_start(Pf *pf, FdStore *store);

/* Replaces the token: pending on disk, SET, commit; the new generation is then in
 * pf->state->generation. Leases are the caller's business (see manager_rotate_pf()). */
int pf_rotate(Pf *pf, const char *reason);

/* Copies the current token into ret; -EAGAIN if the PF is not READY. */
int pf_get_token(Pf *pf, Token *ret);

/* Is `address` this PF or one of its VFs (by the sysfs view)? */
bool pf_owns_device(const Pf *pf, const char *address);

/* (Re)arms the interval rotation timer from the token's set time and the policy. */
int pf_schedule_rotation(Pf *pf);

const char *pf_status_to_string(PfStatus s);

/* Called by leases when one ends (drives RotateWhenIdle). */
void pf_lease_ended(Pf *pf);
