/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns what the benchmark reads of the processes and the CPU under it: the CPU time of the bus,
 * the daemon and polkitd (each process's CPU clock: every thread, in ns), waiting until none of
 * them runs, the daemon's memory from /proc/PID/status and the pinned CPU's ticks.
 *
 * Waiting for quiet matters on one CPU: a reply wakes the client before the daemon has finished
 * what it does after replying (its audit line, the bus's routing of what came after), and that
 * work would otherwise land in the next call's latency and CPU. */

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "macro.h"

/* Nothing of ours ran for this long: the harness is idle. */
#define QUIET_NS 200000ULL
#define QUIET_TIMEOUT_NS 100000000ULL

const char *const proc_names[_PROC_MAX] = {
        [PROC_BUS] = "dbus-daemon",
        [PROC_DAEMON] = "daemon",
        [PROC_POLKITD] = "polkitd",
};

static clockid_t clocks[_PROC_MAX];
static pid_t pids[_PROC_MAX];
static bool watched[_PROC_MAX];

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t clock_ns(clockid_t c) {
        struct timespec ts;

        if (clock_gettime(c, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* The calling thread's CPU time: a client's cost of a call, without the benchmark's bookkeeping
 * around it. */
uint64_t cpu_self_ns(void) {
        return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t cpu_pid_ns(pid_t pid) {
        clockid_t c;

        if (pid <= 0 || clock_getcpuclockid(pid, &c) != 0)
                return 0;
        return clock_ns(c);
}

int cpu_watch(Proc p, pid_t pid) {
        int r;

        if (pid <= 0)
                return 0;
        r = clock_getcpuclockid(pid, &clocks[p]);
        if (r != 0)
                return -r;
        pids[p] = pid;
        watched[p] = true;
        return 1;
}

void cpu_snapshot(CpuSnapshot *ret) {
        for (size_t p = 0; p < _PROC_MAX; p++)
                ret->ns[p] = watched[p] ? clock_ns(clocks[p]) : 0;
}

/* Whether a thread of a watched process waits for the CPU: under other load a process can be
 * held off the CPU for longer than QUIET_NS with work still to do. */
static bool any_runnable(void) {
        for (size_t p = 0; p < _PROC_MAX; p++) {
                _cleanup_(closedirp) DIR *d = NULL;
                char path[64];
                struct dirent *de;

                if (!watched[p])
                        continue;
                snprintf(path, sizeof path, "/proc/%d/task", (int) pids[p]);
                d = opendir(path);
                if (!d)
                        continue;
                while ((de = readdir(d))) {
                        _cleanup_(fclosep) FILE *f = NULL;
                        char buf[512], *state;

                        if (de->d_name[0] == '.')
                                continue;
                        snprintf(buf, sizeof buf, "%s/%s/stat", path, de->d_name);
                        f = fopen(buf, "re");
                        if (!f || !fgets(buf, sizeof buf, f))
                                continue;
                        state = strrchr(buf, ')');
                        if (state && state[1] == ' ' && state[2] == 'R')
                                return true;
                }
        }
        return false;
}

/* Waits until no watched process has run for QUIET_NS and none waits to run, at most
 * QUIET_TIMEOUT_NS; returns the CPU times then, and whether it got quiet. */
bool cpu_quiesce(CpuSnapshot *ret) {
        const struct timespec pause = { .tv_nsec = QUIET_NS };
        uint64_t start = now_ns();
        CpuSnapshot a, b;

        cpu_snapshot(&a);
        for (;;) {
                (void) nanosleep(&pause, NULL);
                cpu_snapshot(&b);
                if (memcmp(&a, &b, sizeof a) == 0 && !any_runnable()) {
                        *ret = b;
                        return true;
                }
                if (now_ns() - start > QUIET_TIMEOUT_NS) {
                        *ret = b;
                        return false;
                }
                a = b;
        }
}

/* A "Field:   123 kB" line of /proc/PID/status, in KiB; -1 if there is none. */
long proc_status_kib(pid_t pid, const char *field) {
        _cleanup_(fclosep) FILE *f = NULL;
        char path[64], line[256];
        size_t len = strlen(field);

        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, field, len) == 0 && line[len] == ':')
                        return strtol(line + len + 1, NULL, 10);
        return -1;
}

/* The one CPU this process may run on, or -1 if it may run on more. */
int cpu_pinned(void) {
        cpu_set_t set;

        if (sched_getaffinity(0, sizeof set, &set) < 0 || CPU_COUNT(&set) != 1)
                return -1;
        for (int i = 0; i < CPU_SETSIZE; i++)
                if (CPU_ISSET(i, &set))
                        return i;
        return -1;
}

int cpu_ticks(int cpu, CpuTicks *ret) {
        _cleanup_(fclosep) FILE *f = NULL;
        unsigned long long v[8];
        char line[512], want[32];

        snprintf(want, sizeof want, "cpu%d ", cpu);
        f = fopen("/proc/stat", "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                if (strncmp(line, want, strlen(want)) != 0)
                        continue;
                /* user nice system idle iowait irq softirq steal */
                if (sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                           &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
                        return -EBADMSG;
                ret->total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
                ret->busy = ret->total - v[3] - v[4];
                ret->steal = v[7];
                return 0;
        }
        return -ENOENT;
}
