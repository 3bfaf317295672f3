/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the benchmark's parts share: the calls it makes (bench-calls.c), the CPU time and memory
 * of the harness's processes (bench-cpu.c), the polkit-authorised client in a child process
 * (bench-user.c), the figures they add up to (bench-grant.c, bench-report.c, bench-hold.c) and
 * the loop the profile runs (bench-loop.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define CLIENTS_MAX 64
#define TOKEN_LEN 36
#define LEASE_PATH_MAX 128
#define BUS_NAME_MAX 64
#define ERROR_TEXT_MAX 160
/* Above polkit 122's 15 s stall (fixed in 123), so a stalled check is counted, not lost. */
#define CALL_TIMEOUT_USEC (60ULL * 1000000ULL)
#define STALL_NS (14ULL * 1000000000ULL)

/* ---- bench-cpu.c ---- */

/* The processes whose CPU time a call is charged with, beside the client's own. */
typedef enum Proc {
        PROC_BUS,
        PROC_DAEMON,
        PROC_POLKITD,
        _PROC_MAX,
} Proc;

typedef struct CpuSnapshot {
        uint64_t ns[_PROC_MAX];
} CpuSnapshot;

/* Ticks of one CPU from /proc/stat: all, not idle, and stolen by the hypervisor. */
typedef struct CpuTicks {
        uint64_t total, busy, steal;
} CpuTicks;

extern const char *const proc_names[_PROC_MAX];

int cpu_watch(Proc p, pid_t pid);
void cpu_snapshot(CpuSnapshot *ret);
bool cpu_quiesce(CpuSnapshot *ret);
uint64_t cpu_self_ns(void);
uint64_t cpu_pid_ns(pid_t pid);
uint64_t now_ns(void);
long proc_status_kib(pid_t pid, const char *field);
int cpu_pinned(void);
int cpu_ticks(int cpu, CpuTicks *ret);

/* ---- bench-calls.c ---- */

typedef enum CallKind {
        CALL_PING,
        CALL_CHECK,
        CALL_ACQUIRE,
        CALL_RELEASE,
        _CALL_MAX,
} CallKind;

/* One call's outcome, as a client sees it. */
typedef struct Outcome {
        int r; /* 0 or -errno; a D-Bus error gives its errno, its name is in error */
        uint64_t latency_ns, client_cpu_ns;
        char lease[LEASE_PATH_MAX]; /* what an AcquireToken gave */
        char error[ERROR_TEXT_MAX];
} Outcome;

/* Every grant of one PF gives the PF's one token: the first is kept to compare the others with. */
typedef struct TokenCheck {
        char token[TOKEN_LEN + 1];
        bool have;
} TokenCheck;

/* A run with calls in flight: what the client sees of it. */
typedef struct RunResult {
        unsigned n, errors, stalled;
        uint64_t elapsed_ns, client_cpu_ns;
        uint64_t median_ns, p99_ns, max_ns;
        char first_error[ERROR_TEXT_MAX];
} RunResult;

/* One call kept in flight on a connection; several lanes may share one. */
typedef struct Lane {
        sd_bus *bus;
        const char *arg;
} Lane;

/* A lease a run's grant gave, and the lane whose connection holds it. */
typedef struct Held {
        unsigned lane;
        char lease[LEASE_PATH_MAX];
} Held;

extern const char *arg_device;
extern char pf_address[64];

int bus_connect(sd_event *event, sd_bus **ret);
int call_sync(sd_bus *bus, CallKind kind, const char *arg, TokenCheck *tc, Outcome *ret);
int run_lanes(sd_event *event, CallKind kind, const Lane *lanes, unsigned n_lanes, unsigned count,
              TokenCheck *tc, Held *held, unsigned *ret_n_held, RunResult *ret);
unsigned release_held(const Lane *lanes, const Held *held, unsigned n, char first_error[ERROR_TEXT_MAX]);
void sort_u64(uint64_t *v, size_t n);
int token_check(TokenCheck *tc, const char *token);
void token_check_done(TokenCheck *tc);
int daemon_pf_of(sd_bus *bus, const char *device, char **ret_path, char **ret_address);
int daemon_lease_count(sd_bus *bus, const char *pf_path, unsigned *ret);

/* ---- bench-user.c ---- */

/* The polkit-authorised client: a child process that has become the user, with one connection
 * for calls one at a time and CLIENTS_MAX for calls in flight, driven through pipes. */
typedef struct UserAgent {
        pid_t pid;
        int to_child, from_child;
        char names[1 + CLIENTS_MAX][BUS_NAME_MAX]; /* its connections' unique names: polkit subjects */
} UserAgent;

int user_agent_start(const char *user, UserAgent *ret);
int user_agent_call(UserAgent *a, CallKind kind, Outcome *ret);
int user_agent_run(UserAgent *a, unsigned count, RunResult *ret);
int user_agent_release_held(UserAgent *a, unsigned *ret_failed, char first_error[ERROR_TEXT_MAX]);
void user_agent_stop(UserAgent *a);

/* ---- bench-report.c: the figures of bench-grant.c ---- */

#define ROUNDS_MAX 64

/* Calls made one at a time, from an idle harness. */
typedef enum SeriesKind {
        S_PING,
        S_ROOT_GRANT,
        S_ROOT_RELEASE,
        S_ROOT_FIRST_GRANT,
        S_CHECK,
        S_USER_GRANT,
        S_USER_RELEASE,
        _S_MAX,
} SeriesKind;

typedef struct Series {
        uint64_t *latency_ns;
        unsigned n, errors, unquiet;
        uint64_t client_cpu_ns, server_ns[_PROC_MAX];
        char first_error[ERROR_TEXT_MAX];
} Series;

/* Calls kept in flight, summed over the rounds. */
typedef enum ThroughputKind {
        T_CHECK,
        T_USER_GRANT,
        T_ROOT_GRANT,
        _T_MAX,
} ThroughputKind;

typedef struct Throughput {
        unsigned n, errors, rounds, discarded;
        uint64_t elapsed_ns, client_cpu_ns, server_ns[_PROC_MAX];
        uint64_t median_ns[ROUNDS_MAX], max_ns;
        char first_error[ERROR_TEXT_MAX];
} Throughput;

extern const char *const series_labels[_S_MAX];
extern const char *const throughput_labels[_T_MAX];

double series_quantile_us(const Series *s, unsigned per_cent);
double throughput_rate(const Throughput *t);
double throughput_cpu_rate(const Throughput *t);
void print_series(const Series series[_S_MAX], const char *user, unsigned samples);
void print_throughput(Throughput tp[_T_MAX], unsigned rounds, unsigned per_round);
void print_load(int cpu, const CpuTicks *t0, const CpuTicks *t1, uint64_t ours_ns);
int write_figures(const char *path, const Series series[_S_MAX], const Throughput tp[_T_MAX]);

/* ---- bench-loop.c ---- */

int loop_calls(sd_bus *bus, UserAgent *agent, unsigned n, const char *trace_path, const char *hook_cmd);

/* ---- bench-hold.c ---- */

int hold_leases(sd_bus *bus, pid_t daemon_pid, unsigned connections, unsigned per_connection,
                const char *figures);
