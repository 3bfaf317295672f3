/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the loop bench/profile.sh profiles the daemon through, one call at a time with the
 * harness idle before each, in phases of N calls: as root on one connection, Peer.Ping
 * ("ping"), AcquireToken each followed by its Release ("grant"); with a user, polkit's
 * CheckAuthorization about the user's connection ("check") and AcquireToken and Release as the
 * user ("usergrant"). Every call's start is written to a trace file (CLOCK_REALTIME, in ns, and
 * the call's name), so that a tracer's log with wall-clock times (strace -ttt, dbus-monitor
 * --profile) can be cut into what each call made happen. A hook command runs before the first
 * phase ("start") and after each (its name), e.g. to make callgrind dump its counters there. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "macro.h"

/* After the harness is idle, a little more, so that a slowed daemon (strace, callgrind) has
 * surely finished too; it is outside every call. */
#define GAP_NS 2000000

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static int hook(const char *cmd, const char *phase) {
        char line[1024];

        if (!cmd)
                return 0;
        fflush(stdout);
        snprintf(line, sizeof line, "%s %s", cmd, phase);
        return system(line) == 0 ? 0 : -ECHILD;
}

static int one(sd_bus *bus, UserAgent *agent, CallKind kind, const char *name, const char *arg, FILE *trace,
               Outcome *ret) {
        const struct timespec gap = { .tv_nsec = GAP_NS };
        struct timespec now;
        CpuSnapshot idle;
        int r;

        (void) cpu_quiesce(&idle);
        (void) nanosleep(&gap, NULL);
        if (trace) {
                clock_gettime(CLOCK_REALTIME, &now);
                fprintf(trace, "%lld%09ld %s\n", (long long) now.tv_sec, now.tv_nsec, name);
                fflush(trace);
        }
        r = agent ? user_agent_call(agent, kind, ret) : call_sync(bus, kind, arg, NULL, ret);
        if (r >= 0 && ret->r < 0) {
                fprintf(stderr, "bench-grant: %s\n", ret->error);
                r = ret->r;
        }
        return r;
}

int loop_calls(sd_bus *bus, UserAgent *agent, unsigned n, const char *trace_path, const char *hook_cmd) {
        _cleanup_(fclosep) FILE *trace = NULL;
        Outcome o;
        int r;

        if (trace_path) {
                trace = fopen(trace_path, "we");
                if (!trace)
                        return -errno;
        }
        r = hook(hook_cmd, "start");
        for (unsigned i = 0; i < n && r >= 0; i++)
                r = one(bus, NULL, CALL_PING, "Ping", NULL, trace, &o);
        if (r >= 0)
                r = hook(hook_cmd, "ping");
        for (unsigned i = 0; i < n && r >= 0; i++) {
                r = one(bus, NULL, CALL_ACQUIRE, "AcquireToken", arg_device, trace, &o);
                if (r >= 0)
                        r = one(bus, NULL, CALL_RELEASE, "Release", o.lease, trace, &o);
        }
        if (r >= 0)
                r = hook(hook_cmd, "grant");
        if (agent) {
                for (unsigned i = 0; i < n && r >= 0; i++)
                        r = one(bus, NULL, CALL_CHECK, "CheckAuthorization", agent->names[0], trace, &o);
                if (r >= 0)
                        r = hook(hook_cmd, "check");
                for (unsigned i = 0; i < n && r >= 0; i++) {
                        r = one(NULL, agent, CALL_ACQUIRE, "AcquireToken(polkit)", NULL, trace, &o);
                        if (r >= 0)
                                r = one(NULL, agent, CALL_RELEASE, "Release(polkit)", NULL, trace, &o);
                }
                if (r >= 0)
                        r = hook(hook_cmd, "usergrant");
        }
        if (r >= 0)
                r = one(bus, NULL, CALL_PING, "end", NULL, trace, &o);
        return r;
}
