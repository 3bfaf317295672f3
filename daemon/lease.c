/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns leases: creation, owner tracking, ending, and the audit lines for releases. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bus.h"
#include "lease.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "pf.h"
#include "string-util.h"
#include "time-util.h"

static int on_owner_gone(sd_bus_track *t, void *userdata) {
        Lease *l = userdata;

        lease_end(l, "owner left the bus");
        return 0;
}

int lease_new(Pf *pf, const char *device, const char *owner, uid_t uid, pid_t pid, const char *unit,
              Lease **ret) {
        Manager *m = pf->manager;
        Lease *l;
        char id[32];
        int r;

        if (m->n_leases >= LEASES_MAX)
                return -ENOSPC;

        l = calloc(1, sizeof(Lease));
        if (!l)
                return -ENOMEM;
        l->pf = pf;
        l->id = ++m->next_lease_id;
        snprintf(id, sizeof id, "%" PRIu64, l->id);
        snprintf(l->device, sizeof l->device, "%s", device);
        l->uid = uid;
        l->pid = pid;
        l->acquired_usec = now_realtime_usec();
        l->owner = strdup(owner);
        l->unit = unit ? strdup(unit) : NULL;
        if (!l->owner || (unit && !l->unit)) {
                lease_free(l);
                return -ENOMEM;
        }
        /* "/org/vfio/Tokend1/lease/<n>": digits are valid in object path elements as they are. */
        if (asprintf(&l->path, VFIO_TOKEN_LEASE_PATH_PREFIX "/%s", id) < 0) {
                l->path = NULL;
                lease_free(l);
                return -ENOMEM;
        }

        /* Link first, so that lease_free() can unlink on any failure below. */
        l->next = pf->leases;
        if (pf->leases)
                pf->leases->prev = l;
        pf->leases = l;
        pf->n_leases++;
        m->n_leases++;

        if (m->bus) {
                r = sd_bus_track_new(m->bus, &l->track, on_owner_gone, l);
                if (r >= 0)
                        r = sd_bus_track_add_name(l->track, owner);
                if (r < 0) {
                        lease_free(l);
                        return r;
                }
        }

        if (m->bus)
                (void) sd_bus_emit_object_added(m->bus, l->path);
        bus_pf_emit_changed(pf, "Leases", NULL);
        *ret = l;
        return 0;
}

Lease *lease_free(Lease *l) {
        if (!l)
                return NULL;
        if (l->prev)
                l->prev->next = l->next;
        else if (l->pf->leases == l)
                l->pf->leases = l->next;
        if (l->next)
                l->next->prev = l->prev;
        l->pf->n_leases--;
        l->pf->manager->n_leases--;
        sd_bus_track_unref(l->track);
        free(l->path);
        free(l->owner);
        free(l->unit);
        return mfree(l);
}

void lease_end(Lease *l, const char *why) {
        Pf *pf = l->pf;
        char f_uid[32], f_pid[32], f_lease[64], f_pf[64], f_dev[64];
        const char *fields[] = { f_uid, f_pid, f_lease, f_pf, f_dev, "AUDIT_EVENT=release", NULL };

        snprintf(f_uid, sizeof f_uid, "CALLER_UID=%u", (unsigned) l->uid);
        snprintf(f_pid, sizeof f_pid, "CALLER_PID=%u", (unsigned) l->pid);
        snprintf(f_lease, sizeof f_lease, "LEASE=%" PRIu64, l->id);
        snprintf(f_pf, sizeof f_pf, "PF_ADDRESS=%s", pf->config.address);
        snprintf(f_dev, sizeof f_dev, "DEVICE=%s", l->device);
        log_struct(LOG_INFO, fields, "Lease %" PRIu64 " ended (%s): uid=%u pid=%u unit=%s pf=%s device=%s.", l->id,
                   why, (unsigned) l->uid, (unsigned) l->pid, l->unit ?: "-", pf->config.address, l->device);

        /* InterfacesRemoved needs the object still in place. */
        if (pf->manager->bus)
                (void) sd_bus_emit_object_removed(pf->manager->bus, l->path);
        lease_free(l);
        bus_pf_emit_changed(pf, "Leases", NULL);
        pf_lease_ended(pf);
}

unsigned lease_count_owner(Manager *m, const char *owner) {
        unsigned n = 0;

        for (size_t i = 0; i < m->n_pfs; i++)
                for (Lease *l = m->pfs[i]->leases; l; l = l->next)
                        if (streq(l->owner, owner))
                                n++;
        return n;
}

Lease *lease_find_by_path(Manager *m, const char *path) {
        for (size_t i = 0; i < m->n_pfs; i++)
                for (Lease *l = m->pfs[i]->leases; l; l = l->next)
                        if (streq(l->path, path))
                                return l;
        return NULL;
}
