/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns leases: the registry of all of them (by id, by owner, counts per uid), their creation
 * within the quotas, their ending, and the audit line of an ending. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-emit.h"
#include "lease-file.h"
#include "lease.h"
#include "log.h"
#include "macro.h"
#include "pf.h"
#include "string-util.h"
#include "time-util.h"
#include "uid-count.h"
#include "vfio-token-names.h"

struct LeaseOwner {
        char *name; /* unique bus name */
        unsigned n_leases;
        Lease *leases;
        struct LeaseOwner *next, *prev;
};

struct LeaseRegistry {
        sd_bus *const *bus;
        unsigned max_per_user;
        uint64_t next_id;      /* ids are never reused within a run */
        Lease **by_id;         /* sorted by id: ids only grow, so appending keeps the order */
        size_t n, allocated;
        LeaseOwner *owners;
        UidCount *uids;        /* leases per uid */
};

int lease_registry_new(sd_bus *const *bus, unsigned max_per_user, LeaseRegistry **ret) {
        LeaseRegistry *r = calloc(1, sizeof(LeaseRegistry));

        if (!r)
                return -ENOMEM;
        r->bus = bus;
        r->max_per_user = max_per_user;
        *ret = r;
        return 0;
}

LeaseRegistry *lease_registry_free(LeaseRegistry *r) {
        if (!r)
                return NULL;
        while (r->n > 0)
                lease_free(r->by_id[r->n - 1]);
        free(r->by_id);
        uid_count_free(&r->uids);
        return mfree(r);
}

void lease_registry_set_max_per_user(LeaseRegistry *r, unsigned max_per_user) {
        r->max_per_user = max_per_user;
}

unsigned lease_registry_max_per_user(const LeaseRegistry *r) {
        return r->max_per_user;
}

static LeaseOwner *owner_find(const LeaseRegistry *r, const char *name) {
        for (LeaseOwner *o = r->owners; o; o = o->next)
                if (streq(o->name, name))
                        return o;
        return NULL;
}

unsigned lease_registry_count(const LeaseRegistry *r) {
        return (unsigned) r->n;
}

unsigned lease_registry_count_owner(const LeaseRegistry *r, const char *owner) {
        LeaseOwner *o = owner_find(r, owner);

        return o ? o->n_leases : 0;
}

unsigned lease_registry_count_uid(const LeaseRegistry *r, uid_t uid) {
        return uid_count_get(r->uids, uid);
}

int lease_registry_check_quota(const LeaseRegistry *r, const char *owner, uid_t uid) {
        if (lease_registry_count_owner(r, owner) >= LEASES_PER_OWNER_MAX)
                return -EDQUOT;
        if (lease_registry_count_uid(r, uid) >= r->max_per_user)
                return -EUSERS;
        if (r->n >= LEASES_MAX)
                return -ENOSPC;
        return 0;
}

static void owner_unlink(LeaseRegistry *r, LeaseOwner *o) {
        if (o->prev)
                o->prev->next = o->next;
        else
                r->owners = o->next;
        if (o->next)
                o->next->prev = o->prev;
        free(o->name);
        free(o);
}

/* Takes the lease out of every index of the registry. */
static void registry_unlink(Lease *l) {
        LeaseRegistry *r = l->registry;
        LeaseOwner *o = l->owner;
        size_t lo = 0, hi = r->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (r->by_id[mid]->id < l->id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < r->n && r->by_id[lo] == l) {
                memmove(r->by_id + lo, r->by_id + lo + 1, (r->n - lo - 1) * sizeof(Lease *));
                r->n--;
        }

        if (o) {
                if (l->owner_prev)
                        l->owner_prev->owner_next = l->owner_next;
                else
                        o->leases = l->owner_next;
                if (l->owner_next)
                        l->owner_next->owner_prev = l->owner_prev;
                if (--o->n_leases == 0)
                        owner_unlink(r, o);
                l->owner = NULL;
        }

        uid_count_dec(&r->uids, l->uid);
}

/* Makes a lease with id `id` (0: the next one) and links it everywhere. */
static int lease_insert(LeaseRegistry *r, Pf *pf, uint64_t id, const char *device, const char *owner, uid_t uid,
                        pid_t pid, uint64_t acquired_usec, Lease **ret) {
        _cleanup_free_ Lease *l = NULL;
        LeaseOwner *o;
        size_t pos;

        if (r->n == r->allocated) {
                size_t a = r->allocated ? r->allocated * 2 : 16;
                Lease **b = realloc(r->by_id, a * sizeof(Lease *));

                if (!b)
                        return -ENOMEM;
                r->by_id = b;
                r->allocated = a;
        }
        o = owner_find(r, owner);
        if (!o) {
                o = calloc(1, sizeof(LeaseOwner));
                if (!o)
                        return -ENOMEM;
                o->name = strdup(owner);
                if (!o->name) {
                        free(o);
                        return -ENOMEM;
                }
                o->next = r->owners;
                if (r->owners)
                        r->owners->prev = o;
                r->owners = o;
        }

        l = calloc(1, sizeof(Lease));
        if (!l)
                goto fail;
        l->registry = r;
        l->pf = pf;
        l->id = id ?: r->next_id + 1;
        snprintf(l->device, sizeof l->device, "%s", device);
        l->uid = uid;
        l->pid = pid;
        l->acquired_usec = acquired_usec ?: now_realtime_usec();
        /* "/org/vfio/Tokend1/lease/<n>": digits are valid in object path elements as they are. */
        if (asprintf(&l->path, VFIO_TOKEN_LEASE_PATH_PREFIX "/%" PRIu64, l->id) < 0) {
                l->path = NULL;
                goto fail;
        }
        if (uid_count_inc(&r->uids, uid) < 0) {
                l->path = mfree(l->path);
                goto fail;
        }
        if (l->id > r->next_id)
                r->next_id = l->id;

        /* New ids are the largest; a restored one goes where its id belongs. */
        pos = r->n;
        while (pos > 0 && r->by_id[pos - 1]->id > l->id)
                pos--;
        memmove(r->by_id + pos + 1, r->by_id + pos, (r->n - pos) * sizeof(Lease *));
        r->by_id[pos] = l;
        r->n++;
        l->owner = o;
        l->owner_next = o->leases;
        if (o->leases)
                o->leases->owner_prev = l;
        o->leases = l;
        o->n_leases++;

        pf_lease_added(pf);
        bus_emit_object_added(*r->bus, l->path);
        *ret = TAKE_PTR(l);
        return 0;

fail:
        if (o->n_leases == 0)
                owner_unlink(r, o);
        return -ENOMEM;
}

int lease_new(LeaseRegistry *r, Pf *pf, const char *device, const char *owner, uid_t uid, pid_t pid,
              Lease **ret) {
        int q;

        q = lease_registry_check_quota(r, owner, uid);
        if (q < 0)
                return q;
        return lease_insert(r, pf, 0, device, owner, uid, pid, 0, ret);
}

int lease_restore(LeaseRegistry *r, Pf *pf, const LeaseRecord *rec, Lease **ret) {
        if (rec->id == 0 || r->n >= LEASES_MAX)
                return -EINVAL;
        for (size_t i = 0; i < r->n; i++)
                if (r->by_id[i]->id == rec->id)
                        return -EEXIST;
        return lease_insert(r, pf, rec->id, rec->device, rec->owner, rec->uid, rec->pid, rec->acquired_usec, ret);
}

void lease_registry_reserve_ids(LeaseRegistry *r, uint64_t next_id) {
        /* next_id is the first free one; r->next_id is the last used. */
        if (next_id > 0 && next_id - 1 > r->next_id)
                r->next_id = next_id - 1;
}

int lease_registry_records(const LeaseRegistry *r, LeaseRecords *ret) {
        LeaseRecords l = { .next_id = r->next_id + 1 };

        if (r->n > 0) {
                l.records = calloc(r->n, sizeof(LeaseRecord));
                if (!l.records)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < r->n; i++) {
                const Lease *x = r->by_id[i];
                LeaseRecord *rec = &l.records[l.n++];

                rec->id = x->id;
                snprintf(rec->pf, sizeof rec->pf, "%s", pf_address(x->pf));
                snprintf(rec->device, sizeof rec->device, "%s", x->device);
                snprintf(rec->owner, sizeof rec->owner, "%s", lease_owner_name(x));
                rec->uid = x->uid;
                rec->pid = x->pid;
                rec->acquired_usec = x->acquired_usec;
        }
        *ret = l;
        return 0;
}

Lease *lease_free(Lease *l) {
        if (!l)
                return NULL;
        registry_unlink(l);
        if (l->pf)
                pf_lease_removed(l->pf);
        free(l->path);
        return mfree(l);
}

/* The audit line and the signals of an ending, and the lease freed. */
static void lease_end_quiet(Lease *l, const char *why) {
        Pf *pf = l->pf;
        LeaseRegistry *r = l->registry;
        char f_uid[32], f_pid[32], f_lease[64], f_pf[64], f_dev[64];
        const char *fields[] = { f_uid, f_pid, f_lease, f_pf, f_dev, "AUDIT_EVENT=release", NULL };

        snprintf(f_uid, sizeof f_uid, "CALLER_UID=%u", (unsigned) l->uid);
        snprintf(f_pid, sizeof f_pid, "CALLER_PID=%u", (unsigned) l->pid);
        snprintf(f_lease, sizeof f_lease, "LEASE=%" PRIu64, l->id);
        snprintf(f_pf, sizeof f_pf, "PF_ADDRESS=%s", pf_address(pf));
        snprintf(f_dev, sizeof f_dev, "DEVICE=%s", l->device);
        log_struct(LOG_INFO, fields, "Lease %" PRIu64 " ended (%s): uid=%u pid=%u pf=%s device=%s.", l->id, why,
                   (unsigned) l->uid, (unsigned) l->pid, pf_address(pf), l->device);

        /* InterfacesRemoved needs the object still in place. */
        bus_emit_object_removed(*r->bus, l->path);
        lease_free(l);
}

void lease_end(Lease *l, const char *why) {
        Pf *pf = l->pf;

        lease_end_quiet(l, why);
        pf_lease_ended(pf);
}

unsigned lease_registry_end_owner(LeaseRegistry *r, const char *owner, const char *why) {
        unsigned n = 0;
        LeaseOwner *o;

        /* Each lease_end() may free the owner entry with its last lease: look it up again. */
        while ((o = owner_find(r, owner)) && o->leases) {
                lease_end(o->leases, why);
                n++;
        }
        return n;
}

unsigned lease_registry_end_pf(LeaseRegistry *r, Pf *pf, const char *why) {
        unsigned n = 0;

        /* Backwards: ending one shifts those after it. */
        for (size_t i = r->n; i > 0; i--)
                if (i <= r->n && r->by_id[i - 1]->pf == pf) {
                        Lease *l = r->by_id[i - 1];

                        /* No RotateWhenIdle for a PF on its way out: end without pf_lease_ended(). */
                        lease_end_quiet(l, why);
                        n++;
                }
        return n;
}

Lease *lease_registry_find_path(const LeaseRegistry *r, const char *path) {
        const char *p = path;
        uint64_t id = 0;
        size_t lo = 0, hi = r->n;

        if (strncmp(p, VFIO_TOKEN_LEASE_PATH_PREFIX "/", STRLEN(VFIO_TOKEN_LEASE_PATH_PREFIX "/")) != 0)
                return NULL;
        p += STRLEN(VFIO_TOKEN_LEASE_PATH_PREFIX "/");
        if (*p < '1' || *p > '9')
                return NULL;
        for (; *p; p++) {
                if (*p < '0' || *p > '9' || id > (UINT64_MAX - 9) / 10)
                        return NULL;
                id = id * 10 + (uint64_t) (*p - '0');
        }
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (r->by_id[mid]->id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < r->n && r->by_id[lo]->id == id ? r->by_id[lo] : NULL;
}

Lease *lease_registry_first(const LeaseRegistry *r) {
        return r->n > 0 ? r->by_id[0] : NULL;
}

Lease *lease_registry_next(const Lease *l) {
        LeaseRegistry *r = l->registry;
        size_t lo = 0, hi = r->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (r->by_id[mid]->id <= l->id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < r->n ? r->by_id[lo] : NULL;
}

const char *lease_owner_name(const Lease *l) {
        return l->owner ? l->owner->name : "";
}
