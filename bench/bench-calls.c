/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the calls the benchmark makes and what it checks of their replies: Peer.Ping to the
 * daemon, polkit's CheckAuthorization with the question the daemon asks, AcquireToken and
 * Release; one at a time (timed from the send to the reply, the message built beforehand) or
 * many in flight on one sd-event loop. A grant's token is checked (shape, and the PF's one token)
 * and never printed; the leases of a run's grants are held until the run is over, as a burst
 * of clients starting would hold them, and ended afterwards, outside its time. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "macro.h"
#include "vfio-token-names.h"

#define RUN_TIMEOUT_USEC (300ULL * 1000000ULL)

const char *arg_device = "0000:01:00.2";
char pf_address[64]; /* the device's PF, as the daemon names it: polkit's "pf" detail */

static const char *const call_names[_CALL_MAX] = {
        [CALL_PING] = "Ping",
        [CALL_CHECK] = "CheckAuthorization",
        [CALL_ACQUIRE] = "AcquireToken",
        [CALL_RELEASE] = "Release",
};

static void set_error(char *buf, const char *what, const sd_bus_error *e, int r) {
        if (e && e->name)
                snprintf(buf, ERROR_TEXT_MAX, "%s: %s: %s", what, e->name, e->message ?: "");
        else
                snprintf(buf, ERROR_TEXT_MAX, "%s: %s", what, strerror(r < 0 ? -r : r));
}

int token_check(TokenCheck *tc, const char *token) {
        if (strlen(token) != TOKEN_LEN)
                return -EBADMSG;
        if (!tc)
                return 0;
        if (!tc->have) {
                memcpy(tc->token, token, sizeof tc->token);
                tc->have = true;
                return 0;
        }
        return memcmp(tc->token, token, TOKEN_LEN) == 0 ? 0 : -EBADMSG;
}

void token_check_done(TokenCheck *tc) {
        explicit_bzero(tc, sizeof *tc);
}

static int call_new(sd_bus *bus, CallKind kind, const char *arg, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        switch (kind) {
        case CALL_PING:
                r = sd_bus_message_new_method_call(bus, &m, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                                                   "org.freedesktop.DBus.Peer", "Ping");
                break;
        case CALL_CHECK:
                /* Exactly the question the daemon asks (daemon/polkit.c): the caller's connection as
                 * a system-bus-name subject, the PF and the device as details, not interactive. */
                r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.PolicyKit1",
                                                   "/org/freedesktop/PolicyKit1/Authority",
                                                   "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
                if (r >= 0)
                        r = sd_bus_message_append(m, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s", arg,
                                                  VFIO_TOKEN_ACTION_ACQUIRE, 2, "pf", pf_address, "device",
                                                  arg_device, 0, "");
                break;
        case CALL_ACQUIRE:
                r = sd_bus_message_new_method_call(bus, &m, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                                                   VFIO_TOKEN_MANAGER_INTERFACE, "AcquireToken");
                if (r >= 0)
                        r = sd_bus_message_append(m, "sa{sv}", arg, 0);
                break;
        case CALL_RELEASE:
                r = sd_bus_message_new_method_call(bus, &m, VFIO_TOKEN_BUS_NAME, arg, VFIO_TOKEN_LEASE_INTERFACE,
                                                   "Release");
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Checks a successful reply; for a grant, its token and where its lease is. */
static int call_reply(CallKind kind, sd_bus_message *reply, TokenCheck *tc, char lease[LEASE_PATH_MAX]) {
        const char *token, *path;
        int authorized = 0, challenge = 0, r;

        switch (kind) {
        case CALL_CHECK:
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0)
                        return r;
                return authorized ? 0 : -EACCES;
        case CALL_ACQUIRE:
                /* The reply holds the token: have sd-bus wipe it when the message is freed. */
                (void) sd_bus_message_sensitive(reply);
                r = sd_bus_message_read(reply, "so", &token, &path);
                if (r < 0)
                        return r;
                r = token_check(tc, token);
                if (r < 0)
                        return r;
                if (strlen(path) >= LEASE_PATH_MAX)
                        return -ENAMETOOLONG;
                strcpy(lease, path);
                return 0;
        default:
                return 0;
        }
}

int bus_connect(sd_event *event, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        /* Hello and the first call done now, outside any timing. */
        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH, "org.freedesktop.DBus.Peer",
                               "Ping", NULL, NULL, NULL);
        if (r < 0)
                return r;
        if (event) {
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(bus);
        return 0;
}

int call_sync(sd_bus *bus, CallKind kind, const char *arg, TokenCheck *tc, Outcome *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        Outcome o = {};
        uint64_t t0, c0;
        int r;

        r = call_new(bus, kind, arg, &m);
        if (r < 0)
                return r;
        c0 = cpu_self_ns();
        t0 = now_ns();
        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &e, &reply);
        o.latency_ns = now_ns() - t0;
        o.client_cpu_ns = cpu_self_ns() - c0;
        if (r >= 0)
                r = call_reply(kind, reply, tc, o.lease);
        if (r < 0) {
                o.r = r;
                set_error(o.error, call_names[kind], &e, r);
        }
        *ret = o;
        return 0;
}

/* ---- Calls in flight ---- */

typedef struct Runner Runner;

typedef struct Client {
        Runner *run;
        const Lane *lane;
        unsigned index;
        sd_bus_slot *slot; /* ours, so that no callback outlives the run */
        uint64_t sent_ns;
} Client;

struct Runner {
        CallKind kind;
        Client clients[CLIENTS_MAX];
        unsigned target, sent, replied, errors;
        uint64_t *latency_ns;
        TokenCheck *tc;
        Held *held;
        unsigned n_held;
        bool timed_out;
        char first_error[ERROR_TEXT_MAX];
};

static void runner_error(Runner *run, const char *what, const sd_bus_error *e, int r) {
        if (run->errors++ == 0)
                set_error(run->first_error, what, e, r);
}

static int send_one(Client *c);

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Client *c = userdata;
        Runner *run = c->run;
        char lease[LEASE_PATH_MAX];
        int r;

        c->slot = sd_bus_slot_unref(c->slot);
        run->latency_ns[run->replied++] = now_ns() - c->sent_ns;
        if (sd_bus_message_is_method_error(reply, NULL))
                runner_error(run, call_names[run->kind], sd_bus_message_get_error(reply), 0);
        else {
                r = call_reply(run->kind, reply, run->tc, lease);
                if (r < 0)
                        runner_error(run, call_names[run->kind], NULL, r);
                else if (run->kind == CALL_ACQUIRE) {
                        run->held[run->n_held].lane = c->index;
                        memcpy(run->held[run->n_held++].lease, lease, LEASE_PATH_MAX);
                }
        }

        if (run->sent < run->target) {
                r = send_one(c);
                if (r < 0) {
                        runner_error(run, "sending", NULL, r);
                        run->target = run->sent; /* stop here rather than wait for what never comes */
                }
        }
        return 0;
}

static int send_one(Client *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Runner *run = c->run;
        int r;

        r = call_new(c->lane->bus, run->kind, c->lane->arg, &m);
        if (r < 0)
                return r;
        c->sent_ns = now_ns();
        r = sd_bus_call_async(c->lane->bus, &c->slot, m, on_reply, c, CALL_TIMEOUT_USEC);
        if (r < 0)
                return r;
        run->sent++;
        return 0;
}

static int on_run_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Runner *run = userdata;

        runner_error(run, "run", NULL, ETIMEDOUT);
        run->timed_out = true;
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

void sort_u64(uint64_t *v, size_t n) {
        qsort(v, n, sizeof(uint64_t), cmp_u64);
}

/* `count` calls of `kind`, each lane keeping one in flight, on buses attached to `event`. The
 * leases of grants are kept in `held` (room for `count`), for release_held() after the run. */
int run_lanes(sd_event *event, CallKind kind, const Lane *lanes, unsigned n_lanes, unsigned count,
              TokenCheck *tc, Held *held, unsigned *ret_n_held, RunResult *ret) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *timeout = NULL;
        _cleanup_free_ uint64_t *latency = NULL;
        Runner run = { .kind = kind, .target = count, .tc = tc, .held = held };
        RunResult res = {};
        uint64_t start, c0;
        int r;

        if (n_lanes == 0 || n_lanes > CLIENTS_MAX || count < n_lanes || (kind == CALL_ACQUIRE && !held))
                return -EINVAL;
        latency = calloc(count, sizeof(uint64_t));
        if (!latency)
                return -ENOMEM;
        run.latency_ns = latency;
        r = sd_event_add_time_relative(event, &timeout, CLOCK_MONOTONIC, RUN_TIMEOUT_USEC, 0, on_run_timeout,
                                       &run);
        if (r < 0)
                return r;

        c0 = cpu_self_ns();
        start = now_ns();
        for (unsigned i = 0; i < n_lanes; i++)
                run.clients[i] = (Client) { .run = &run, .lane = &lanes[i], .index = i };
        for (unsigned i = 0; i < n_lanes && r >= 0; i++)
                r = send_one(&run.clients[i]);
        /* Not sd_event_loop(): an event loop that has exited cannot run again, and the next run
         * uses the same loop and connections. */
        while (r >= 0 && run.replied < run.target && !run.timed_out)
                r = sd_event_run(event, UINT64_MAX);
        if (r >= 0 && run.timed_out)
                r = -ETIMEDOUT;
        res.elapsed_ns = now_ns() - start;
        res.client_cpu_ns = cpu_self_ns() - c0;
        /* Cancels whatever is still in flight after a failure: its callbacks must not run later. */
        for (unsigned i = 0; i < n_lanes; i++)
                run.clients[i].slot = sd_bus_slot_unref(run.clients[i].slot);
        if (ret_n_held)
                *ret_n_held = run.n_held;
        if (r < 0)
                return r;

        sort_u64(latency, run.replied);
        res.n = run.replied;
        res.errors = run.errors;
        if (run.replied > 0) {
                res.median_ns = latency[run.replied / 2];
                res.p99_ns = latency[(run.replied * 99 + 99) / 100 - 1];
                res.max_ns = latency[run.replied - 1];
        }
        for (unsigned i = run.replied; i > 0 && latency[i - 1] >= STALL_NS; i--)
                res.stalled++;
        memcpy(res.first_error, run.first_error, sizeof res.first_error);
        *ret = res;
        return 0;
}

/* Ends the leases a run kept, each by the connection that holds it; returns how many failed and
 * the first failure. */
unsigned release_held(const Lane *lanes, const Held *held, unsigned n, char first_error[ERROR_TEXT_MAX]) {
        unsigned failed = 0;
        Outcome o;

        for (unsigned i = 0; i < n; i++) {
                int r = call_sync(lanes[held[i].lane].bus, CALL_RELEASE, held[i].lease, NULL, &o);
                if (r < 0 || o.r < 0) {
                        if (failed++ == 0)
                                snprintf(first_error, ERROR_TEXT_MAX, "%s", r < 0 ? strerror(-r) : o.error);
                }
        }
        return failed;
}

/* ---- What the daemon says of itself ---- */

int daemon_pf_of(sd_bus *bus, const char *device, char **ret_path, char **ret_address) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL, *address = NULL;
        const char *p;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE,
                               "GetPhysicalFunction", NULL, &reply, "s", device);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return r;
        path = strdup(p);
        if (!path)
                return -ENOMEM;
        if (ret_address) {
                r = sd_bus_get_property_string(bus, VFIO_TOKEN_BUS_NAME, path, VFIO_TOKEN_PF_INTERFACE, "Address",
                                               NULL, &address);
                if (r < 0)
                        return r;
                *ret_address = TAKE_PTR(address);
        }
        *ret_path = TAKE_PTR(path);
        return 0;
}

/* The PF's Leases property: how many leases the daemon holds on it. */
int daemon_lease_count(sd_bus *bus, const char *pf_path, unsigned *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *prop = NULL;
        const char *lease;
        unsigned n = 0;
        int r;

        r = sd_bus_get_property(bus, VFIO_TOKEN_BUS_NAME, pf_path, VFIO_TOKEN_PF_INTERFACE, "Leases", NULL, &prop,
                                "ao");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(prop, 'a', "o");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(prop, "o", &lease)) > 0)
                n++;
        if (r < 0)
                return r;
        *ret = n;
        return 0;
}
