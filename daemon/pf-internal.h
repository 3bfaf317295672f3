/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The inside of a Pf: for daemon/pf.c and its unit tests only. Everything else uses pf.h. */

#include <systemd/sd-event.h>

#include "fdstore.h"
#include "pf.h"
#include "state.h"
#include "sysfs.h"
#include "time-util.h"
#include "token.h"
#include "vfio.h"

/* Retry interval for PFs that are locked or gone: doubles after each failed retry, up to the
 * maximum, so a PF that stays away costs a log line every few minutes, not every few seconds. */
#define PF_RETRY_USEC (10 * USEC_PER_SEC)
#define PF_RETRY_MAX_USEC (10 * 60 * USEC_PER_SEC)

/* Saves the state again later, with a back-off, until it works: after a failed save left the
 * disk behind memory. */
void pf_schedule_save(Pf *pf);

struct Pf {
        const PfContext *ctx;
        PfConfig config;        /* copy; config.file is not owned and is NULL */
        char *object_path;

        PciDevice *device;      /* last sysfs view; NULL before the first discovery */
        VfioPf *vfio;           /* NULL unless status == READY */
        VfioApi api;            /* the API Api= resolves to on this kernel (pf_discover()) */
        PfState *state;         /* never NULL; current == NULL when no token is known */
        PfStatus status;
        int status_error;       /* -errno that explains LOCKED/GONE */
        bool adopted;           /* fds came from the fd store this run */
        bool state_damaged;     /* the state file on disk failed to load (-EBADMSG) */

        sd_event_source *rotate_timer;
        uint64_t rotate_retry_usec;      /* back-off after a failed timed rotation */
        sd_event_source *retry_timer;
        sd_event_source *save_timer;     /* the state on disk is behind memory: save again */
        uint64_t save_retry_usec;
        uint64_t retry_usec;             /* next retry interval */
        sd_event_source *request_source; /* the kernel asking for the device back */

        unsigned n_leases;      /* the leases themselves are in the manager's LeaseRegistry */
};
