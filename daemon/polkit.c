/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the daemon's conversation with polkitd (org.freedesktop.PolicyKit1.Authority). */

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "manager.h"
#include "polkit.h"
#include "time-util.h"

/* polkit 122 can stall a check for 15 s before answering correctly; give it room. */
#define POLKIT_TIMEOUT_USEC (25 * USEC_PER_SEC)
#define POLKIT_MAX_IN_FLIGHT 1024

typedef struct PolkitQuery {
        Polkit *polkit;
        sd_bus_message *call;
        sd_bus_slot *slot;
        sd_bus_track *caller;
        PolkitDone done;
        void *userdata;
        void (*free_userdata)(void *);
        struct PolkitQuery *next, *prev;
} PolkitQuery;

struct Polkit {
        Manager *manager;
        PolkitQuery *queries;
        unsigned n_queries;
};

static PolkitQuery *query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        if (q->prev)
                q->prev->next = q->next;
        else
                q->polkit->queries = q->next;
        if (q->next)
                q->next->prev = q->prev;
        q->polkit->n_queries--;
        sd_bus_slot_unref(q->slot);
        sd_bus_track_unref(q->caller);
        sd_bus_message_unref(q->call);
        if (q->free_userdata)
                q->free_userdata(q->userdata);
        return mfree(q);
}

int polkit_new(Manager *m, Polkit **ret) {
        Polkit *p = calloc(1, sizeof(Polkit));

        if (!p)
                return -ENOMEM;
        p->manager = m;
        *ret = p;
        return 0;
}

Polkit *polkit_free(Polkit *p) {
        if (!p)
                return NULL;
        while (p->queries)
                query_free(p->queries);
        return mfree(p);
}

unsigned polkit_in_flight(const Polkit *p) {
        return p ? p->n_queries : 0;
}

static int on_caller_gone(sd_bus_track *t, void *userdata) {
        PolkitQuery *q = userdata;

        log_debug("Caller %s left during an authorisation check, dropping it.", sd_bus_message_get_sender(q->call));
        query_free(q);
        return 0;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        const sd_bus_error *e;
        int authorized = 0, challenge = 0, r;

        e = sd_bus_message_get_error(reply);
        if (e) {
                log_warning("polkit check failed: %s: %s", e->name, e->message ?: "");
                q->done(q->call, -sd_bus_error_get_errno(e), e, q->userdata);
                query_free(q);
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_warning_errno(r, "Malformed reply from polkit: %m");
                q->done(q->call, -EBADMSG, NULL, q->userdata);
        } else
                q->done(q->call, authorized ? POLKIT_ALLOWED : challenge ? POLKIT_CHALLENGE : POLKIT_DENIED, NULL,
                        q->userdata);
        query_free(q);
        return 0;
}

int polkit_check_async(Polkit *p, sd_bus_message *call, const char *action, const char *const *details,
                       PolkitDone done, void *userdata, void (*free_userdata)(void *)) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus = sd_bus_message_get_bus(call);
        const char *sender = sd_bus_message_get_sender(call);
        PolkitQuery *q;
        int r;

        if (!sender)
                return -EBADMSG;
        if (p->n_queries >= POLKIT_MAX_IN_FLIGHT)
                return -EBUSY;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(m, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "us", (uint32_t) sd_bus_message_get_allow_interactive_authorization(call),
                                  "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->polkit = p;
        q->call = sd_bus_message_ref(call);
        q->done = done;
        q->next = p->queries;
        if (p->queries)
                p->queries->prev = q;
        p->queries = q;
        p->n_queries++;

        /* Watch the caller first: our AddMatch reaches the bus before the check does, so a caller
         * that leaves is seen either by this track or by polkit failing to resolve it. */
        r = sd_bus_track_new(bus, &q->caller, on_caller_gone, q);
        if (r >= 0)
                r = sd_bus_track_add_name(q->caller, sender);
        if (r >= 0)
                r = sd_bus_call_async(bus, &q->slot, m, on_reply, q, POLKIT_TIMEOUT_USEC);
        if (r < 0) {
                query_free(q);
                return r;
        }
        /* Only now does the query own userdata: on failure above the caller keeps it. */
        q->userdata = userdata;
        q->free_userdata = free_userdata;
        return 0;
}
