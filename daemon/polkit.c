/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the daemon's conversation with polkitd (org.freedesktop.PolicyKit1.Authority) and the
 * bounds on it (see polkit.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "polkit.h"
#include "string-util.h"
#include "time-util.h"
#include "uid-count.h"
#include "vfio-token-names.h"

#define POLKIT_SERVICE "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"

typedef struct PolkitQuery {
        Polkit *polkit;
        sd_bus_message *call;     /* the method call being authorised */
        sd_bus_message *check;    /* our CheckAuthorization, built at once, sent when there is room */
        sd_bus_slot *slot;        /* non-NULL while in flight */
        char cancellation_id[64];
        uid_t uid;
        uint64_t deadline_usec;   /* CLOCK_MONOTONIC */
        PolkitDone done;
        void *userdata;
        void (*free_userdata)(void *);
        struct PolkitQuery *next, *prev;             /* all queries */
        struct PolkitQuery *queue_next;              /* waiting to be sent, oldest first */
} PolkitQuery;

struct Polkit {
        sd_bus *bus;
        unsigned max_per_user;
        PolkitQuery *queries;
        unsigned n_queries, n_in_flight;
        PolkitQuery *queue, **queue_tail;
        UidCount *uids;           /* checks waiting per uid */
        uint64_t next_id;
};

unsigned polkit_pending(const Polkit *p) {
        return p ? p->n_queries : 0;
}

unsigned polkit_pending_uid(const Polkit *p, uid_t uid) {
        return p ? uid_count_get(p->uids, uid) : 0;
}

static void queue_remove(Polkit *p, PolkitQuery *q) {
        for (PolkitQuery **i = &p->queue; *i; i = &(*i)->queue_next)
                if (*i == q) {
                        *i = q->queue_next;
                        if (p->queue_tail == &q->queue_next)
                                p->queue_tail = i;
                        q->queue_next = NULL;
                        return;
                }
}

/* Tells polkitd to stop working on a check we no longer wait for (no reply wanted). */
static void send_cancel(Polkit *p, const char *id) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        if (sd_bus_message_new_method_call(p->bus, &m, POLKIT_SERVICE, POLKIT_PATH, POLKIT_INTERFACE,
                                           "CancelCheckAuthorization") < 0 ||
            sd_bus_message_append(m, "s", id) < 0 || sd_bus_message_set_expect_reply(m, 0) < 0)
                return;
        (void) sd_bus_send(p->bus, m, NULL);
}

static void dispatch(Polkit *p);

/* Ends a query without calling done (done, if due, has been called already). */
static PolkitQuery *query_free(PolkitQuery *q) {
        Polkit *p;

        if (!q)
                return NULL;
        p = q->polkit;
        if (q->prev)
                q->prev->next = q->next;
        else
                p->queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        p->n_queries--;
        if (q->slot) {
                q->slot = sd_bus_slot_unref(q->slot);
                p->n_in_flight--;
        } else
                queue_remove(p, q);
        uid_count_dec(&p->uids, q->uid);
        sd_bus_message_unref(q->check);
        sd_bus_message_unref(q->call);
        if (q->free_userdata)
                q->free_userdata(q->userdata);
        return mfree(q);
}

int polkit_new(sd_bus *bus, unsigned max_per_user, Polkit **ret) {
        Polkit *p = calloc(1, sizeof(Polkit));

        if (!p)
                return -ENOMEM;
        p->bus = sd_bus_ref(bus);
        p->max_per_user = max_per_user;
        p->queue_tail = &p->queue;
        *ret = p;
        return 0;
}

Polkit *polkit_free(Polkit *p) {
        if (!p)
                return NULL;
        while (p->queries) {
                if (p->queries->slot)
                        send_cancel(p, p->queries->cancellation_id);
                query_free(p->queries);
        }
        uid_count_free(&p->uids);
        sd_bus_unref(p->bus);
        return mfree(p);
}

void polkit_set_max_per_user(Polkit *p, unsigned max_per_user) {
        p->max_per_user = max_per_user;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        Polkit *p = q->polkit;
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        /* Out of flight: the next queued check may go. */
        q->slot = sd_bus_slot_unref(q->slot);
        p->n_in_flight--;

        e = sd_bus_message_get_error(reply);
        if (e) {
                r = -sd_bus_error_get_errno(e);
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT)) {
                        r = -ETIMEDOUT;
                        send_cancel(p, q->cancellation_id);
                }
                log_warning("polkit could not answer a check of uid %u: %s: %s", (unsigned) q->uid, e->name,
                            e->message ?: "");
                q->done(q->call, r < 0 ? r : -EIO, e, q->userdata);
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        log_warning_errno(r, "Malformed reply from polkit: %m");
                        q->done(q->call, -EBADMSG, NULL, q->userdata);
                } else
                        q->done(q->call,
                                authorized  ? POLKIT_ALLOWED
                                : challenge ? POLKIT_CHALLENGE
                                            : POLKIT_DENIED,
                                NULL, q->userdata);
        }
        query_free(q);
        dispatch(p);
        return 0;
}

/* Sends queued checks while there is room in flight. A check whose deadline passed in the queue
 * is answered with -ETIMEDOUT without bothering polkitd. */
static void dispatch(Polkit *p) {
        while (p->queue && p->n_in_flight < POLKIT_MAX_IN_FLIGHT) {
                PolkitQuery *q = p->queue;
                uint64_t now = now_monotonic_usec();
                int r;

                p->queue = q->queue_next;
                if (!p->queue)
                        p->queue_tail = &p->queue;
                q->queue_next = NULL;

                r = now < q->deadline_usec ? 0 : -ETIMEDOUT;
                if (r >= 0)
                        r = sd_bus_call_async(p->bus, &q->slot, q->check, on_reply, q, q->deadline_usec - now);
                if (r < 0) {
                        q->slot = NULL;
                        if (r != -ETIMEDOUT)
                                log_warning_errno(r, "Failed to ask polkit: %m");
                        q->done(q->call, r, NULL, q->userdata);
                        query_free(q);
                        continue;
                }
                p->n_in_flight++;
        }
}

static int build_check(Polkit *p, PolkitQuery *q, sd_bus_message *call, const char *sender, const char *action,
                       const char *const *details) {
        bool interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0;
        int r;

        r = sd_bus_message_new_method_call(p->bus, &q->check, POLKIT_SERVICE, POLKIT_PATH, POLKIT_INTERFACE,
                                           "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(q->check, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(q->check, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(q->check, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(q->check);
        if (r < 0)
                return r;
        snprintf(q->cancellation_id, sizeof q->cancellation_id, "vfio-tokend-%u-%" PRIu64, (unsigned) getpid(),
                 ++p->next_id);
        q->deadline_usec = now_monotonic_usec() +
                           (interactive ? VFIO_TOKEN_INTERACTIVE_AUTH_TIMEOUT_USEC : VFIO_TOKEN_AUTH_TIMEOUT_USEC);
        return sd_bus_message_append(q->check, "us", (uint32_t) interactive, q->cancellation_id);
}

int polkit_check_async(Polkit *p, sd_bus_message *call, uid_t uid, const char *action,
                       const char *const *details, PolkitDone done, void *userdata,
                       void (*free_userdata)(void *)) {
        const char *sender = sd_bus_message_get_sender(call);
        PolkitQuery *q;
        int r;

        if (!sender)
                return -EBADMSG;
        if (uid_count_get(p->uids, uid) >= p->max_per_user)
                return -EUSERS;
        if (p->n_queries >= POLKIT_MAX_PENDING)
                return -ENOSPC;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->polkit = p;
        q->uid = uid;
        q->done = done;
        r = build_check(p, q, call, sender, action, details);
        if (r >= 0)
                r = uid_count_inc(&p->uids, uid);
        if (r < 0) {
                sd_bus_message_unref(q->check);
                free(q);
                return r;
        }
        q->call = sd_bus_message_ref(call);
        q->next = p->queries;
        if (p->queries)
                p->queries->prev = q;
        p->queries = q;
        p->n_queries++;
        *p->queue_tail = q;
        p->queue_tail = &q->queue_next;
        /* Only now does the query own userdata: on failure above the caller keeps it. */
        q->userdata = userdata;
        q->free_userdata = free_userdata;
        dispatch(p);
        return 0;
}

void polkit_forget_sender(Polkit *p, const char *sender) {
        PolkitQuery *q, *next;

        if (!p)
                return;
        for (q = p->queries; q; q = next) {
                next = q->next;
                if (!streq_ptr(sd_bus_message_get_sender(q->call), sender))
                        continue;
                log_debug("Caller %s left during an authorisation check, dropping it.", sender);
                if (q->slot)
                        send_cancel(p, q->cancellation_id);
                query_free(q);
        }
        dispatch(p);
}
