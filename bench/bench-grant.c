/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-grant: what a grant costs, against the bare bus and polkit round trips it is made of.
 *
 * Meant to run with the whole harness on one CPU (bench/run.sh), where a call's latency is the
 * CPU time of everything on its path. In one run on one bus it measures:
 *   - latency, one call at a time, each started from an idle harness (see bench-cpu.c), the kinds
 *     interleaved sample by sample so that a change in the machine's load hits them alike:
 *     Peer.Ping to the daemon, AcquireToken and Release as root (no polkit), a root grant on a
 *     new connection, polkit's CheckAuthorization with the daemon's own question about the
 *     user's connection, and AcquireToken and Release as that user (--user, a child process,
 *     see bench-user.c); every call's CPU time in the client, dbus-daemon, the daemon and
 *     polkitd is added up;
 *   - throughput with 64 calls in flight, in rounds that interleave the kinds: checks on one
 *     connection (as the daemon sends them), grants over 64 connections of the user and of root;
 *     a round's leases are held until it ends (a burst of clients starting) and released after
 *     it, outside its time; rates by the wall clock and per second of the harness's CPU time;
 *   - the daemon's RSS before and after, its leases after (must be none).
 * With --hold it instead holds leases as root over many connections and reports the daemon's
 * RSS (bench-hold.c); with --loop it makes calls for bench/profile.sh (bench-loop.c). It only
 * prints (and with --figures appends the summary lines to a file): no timing is ever asserted.
 * It exits non-zero if a call failed, a grant's token differed from the others, or a lease was
 * left behind. Tokens are never printed. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "macro.h"

static const char *arg_user = NULL;
static pid_t arg_pids[_PROC_MAX];
static unsigned arg_samples = 2000;
static unsigned arg_rounds = 8;
static unsigned arg_per_round = 256;
static unsigned arg_hold_connections = 0, arg_hold_leases = 0;
static const char *arg_figures = NULL;
static unsigned arg_loop = 0;
static const char *arg_trace = NULL, *arg_hook = NULL;

static void add_server_cpu(uint64_t sum[_PROC_MAX], const CpuSnapshot *before, const CpuSnapshot *after) {
        for (size_t p = 0; p < _PROC_MAX; p++)
                sum[p] += after->ns[p] - before->ns[p];
}

/* One call from an idle harness, charged with everything it made the harness do until it was
 * idle again. A failed call is counted; only a failure of the benchmark itself is returned. */
static int measure(Series *s, UserAgent *agent, sd_bus *bus, CallKind kind, const char *arg, TokenCheck *tc,
                   Outcome *ret) {
        CpuSnapshot before, after;
        Outcome o;
        int r;

        (void) cpu_quiesce(&before);
        r = agent ? user_agent_call(agent, kind, &o) : call_sync(bus, kind, arg, tc, &o);
        if (r < 0)
                return r;
        if (!cpu_quiesce(&after))
                s->unquiet++;
        s->latency_ns[s->n++] = o.latency_ns;
        s->client_cpu_ns += o.client_cpu_ns;
        add_server_cpu(s->server_ns, &before, &after);
        if (o.r < 0 && s->errors++ == 0)
                memcpy(s->first_error, o.error, sizeof s->first_error);
        if (ret)
                *ret = o;
        return 0;
}

/* The first grant of a connection: what a one-shot client (vfio-tokenctl) pays, the daemon not
 * knowing the caller yet. Connecting and ending the lease are not counted. */
static int first_grant(Series *s, TokenCheck *tc) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Outcome o, released;
        int r;

        r = bus_connect(NULL, &bus);
        if (r >= 0)
                r = measure(s, NULL, bus, CALL_ACQUIRE, arg_device, tc, &o);
        if (r >= 0 && o.r >= 0) {
                r = call_sync(bus, CALL_RELEASE, o.lease, NULL, &released);
                if (r >= 0 && released.r < 0 && s->errors++ == 0)
                        memcpy(s->first_error, released.error, sizeof s->first_error);
        }
        return r;
}

static int latency_phase(Series series[_S_MAX], sd_bus *root, UserAgent *agent, TokenCheck *tc) {
        Outcome o;
        int r;

        for (unsigned i = 0; i < arg_samples; i++) {
                r = measure(&series[S_PING], NULL, root, CALL_PING, NULL, NULL, NULL);
                if (r >= 0)
                        r = measure(&series[S_ROOT_GRANT], NULL, root, CALL_ACQUIRE, arg_device, tc, &o);
                if (r >= 0 && o.r >= 0)
                        r = measure(&series[S_ROOT_RELEASE], NULL, root, CALL_RELEASE, o.lease, NULL, NULL);
                if (r >= 0)
                        r = first_grant(&series[S_ROOT_FIRST_GRANT], tc);
                if (r >= 0 && agent)
                        r = measure(&series[S_CHECK], NULL, root, CALL_CHECK, agent->names[0], NULL, NULL);
                if (r >= 0 && agent)
                        r = measure(&series[S_USER_GRANT], agent, NULL, CALL_ACQUIRE, NULL, NULL, &o);
                if (r >= 0 && agent && o.r >= 0)
                        r = measure(&series[S_USER_RELEASE], agent, NULL, CALL_RELEASE, NULL, NULL, NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int throughput_round(Throughput *t, sd_event *event, UserAgent *agent, CallKind kind, const Lane *lanes,
                            TokenCheck *tc) {
        _cleanup_free_ Held *held = NULL;
        char release_error[ERROR_TEXT_MAX] = "";
        CpuSnapshot before, after;
        unsigned n_held = 0, failed = 0;
        RunResult res;
        int r;

        if (!agent && kind == CALL_ACQUIRE) {
                held = calloc(arg_per_round, sizeof(Held));
                if (!held)
                        return -ENOMEM;
        }
        (void) cpu_quiesce(&before);
        r = agent ? user_agent_run(agent, arg_per_round, &res)
                  : run_lanes(event, kind, lanes, CLIENTS_MAX, arg_per_round, tc, held, &n_held, &res);
        if (r >= 0)
                (void) cpu_quiesce(&after);
        /* The leases of the round end after it, outside its time, whatever happened. */
        if (agent)
                (void) user_agent_release_held(agent, &failed, release_error);
        else if (held)
                failed = release_held(lanes, held, n_held, release_error);
        if (r < 0)
                return r;
        /* polkit 122 sometimes holds every check in flight for 15 s (fixed in 123): such a round
         * measures polkit's bug, not the daemon; it is counted and made again. */
        if (res.stalled > 0 && res.errors == 0) {
                t->discarded++;
                return 0;
        }

        add_server_cpu(t->server_ns, &before, &after);
        t->n += res.n;
        t->elapsed_ns += res.elapsed_ns;
        t->client_cpu_ns += res.client_cpu_ns;
        t->median_ns[t->rounds++] = res.median_ns;
        t->max_ns = res.max_ns > t->max_ns ? res.max_ns : t->max_ns;
        if (res.errors > 0 && t->errors == 0)
                memcpy(t->first_error, res.first_error, sizeof t->first_error);
        else if (failed > 0 && res.errors + t->errors == 0)
                memcpy(t->first_error, release_error, sizeof t->first_error);
        t->errors += res.errors + failed;
        return 0;
}

static int throughput_phase(Throughput tp[_T_MAX], sd_event *event, sd_bus *root, sd_bus *pool[],
                            UserAgent *agent, TokenCheck *tc) {
        Lane checks[CLIENTS_MAX], grants[CLIENTS_MAX];
        int r = 0;

        for (size_t i = 0; i < CLIENTS_MAX; i++) {
                checks[i] = (Lane) { .bus = root, .arg = agent ? agent->names[1 + i] : NULL };
                grants[i] = (Lane) { .bus = pool[i], .arg = arg_device };
        }
        /* Until each kind has its rounds; a round discarded for polkit's stall is made again, up
         * to as many times as there are rounds. */
        for (unsigned i = 0; i < 2 * arg_rounds && r >= 0; i++) {
                if (agent && tp[T_CHECK].rounds < arg_rounds)
                        r = throughput_round(&tp[T_CHECK], event, NULL, CALL_CHECK, checks, NULL);
                if (r >= 0 && agent && tp[T_USER_GRANT].rounds < arg_rounds)
                        r = throughput_round(&tp[T_USER_GRANT], event, agent, CALL_ACQUIRE, NULL, NULL);
                if (r >= 0 && tp[T_ROOT_GRANT].rounds < arg_rounds)
                        r = throughput_round(&tp[T_ROOT_GRANT], event, NULL, CALL_ACQUIRE, grants, tc);
        }
        return r;
}

/* ---- Options ---- */

static void help(void) {
        printf("Usage: bench-grant [OPTIONS]\n"
               "Measures AcquireToken against bare bus and polkit round trips on the system bus\n"
               "(DBUS_SYSTEM_BUS_ADDRESS). Run as root, best with everything on one CPU; see bench/run.sh.\n"
               "  --device=ADDR          VF (or PF) to acquire (default %s)\n"
               "  --user=USER            also measure polkit checks and grants for USER\n"
               "  --daemon-pid=PID --bus-pid=PID --polkitd-pid=PID\n"
               "                         processes whose CPU time is counted (and the daemon's RSS)\n"
               "  --samples=N            calls of each kind one at a time (default %u)\n"
               "  --rounds=N --per-round=N   rounds of calls in flight (default %u of %u)\n"
               "  --hold=CONNSxLEASES    instead: hold leases on every VF of every PF as root, report RSS\n"
               "  --loop=N               instead: N Pings, grants and releases as root, and with --user\n"
               "                         checks and the user's grants and releases, one at a time\n"
               "  --trace=FILE           with --loop: write when each call started to FILE\n"
               "  --hook=CMD             with --loop: run CMD start, then after each phase CMD ping|grant|\n"
               "                         check|usergrant\n"
               "  --figures=FILE         append the summary lines to FILE\n",
               arg_device, arg_samples, arg_rounds, arg_per_round);
}

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_hold(const char *s) {
        char buf[32], *x;

        snprintf(buf, sizeof buf, "%s", s);
        x = strchr(buf, 'x');
        if (!x)
                return -EINVAL;
        *x = '\0';
        if (parse_unsigned(buf, 1, 4096, &arg_hold_connections) < 0)
                return -EINVAL;
        return parse_unsigned(x + 1, 1, 4096, &arg_hold_leases);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_BUS_PID = 0x100,
                ARG_POLKITD_PID,
                ARG_SAMPLES,
                ARG_ROUNDS,
                ARG_PER_ROUND,
                ARG_HOLD,
                ARG_FIGURES,
                ARG_LOOP,
                ARG_TRACE,
                ARG_HOOK,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "device", required_argument, NULL, 'd' },
                { "user", required_argument, NULL, 'u' },
                { "daemon-pid", required_argument, NULL, 'p' },
                { "bus-pid", required_argument, NULL, ARG_BUS_PID },
                { "polkitd-pid", required_argument, NULL, ARG_POLKITD_PID },
                { "samples", required_argument, NULL, ARG_SAMPLES },
                { "rounds", required_argument, NULL, ARG_ROUNDS },
                { "per-round", required_argument, NULL, ARG_PER_ROUND },
                { "hold", required_argument, NULL, ARG_HOLD },
                { "figures", required_argument, NULL, ARG_FIGURES },
                { "loop", required_argument, NULL, ARG_LOOP },
                { "trace", required_argument, NULL, ARG_TRACE },
                { "hook", required_argument, NULL, ARG_HOOK },
                {},
        };
        unsigned v;
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'd':
                        arg_device = optarg;
                        break;
                case 'u':
                        arg_user = optarg;
                        break;
                case 'p':
                case ARG_BUS_PID:
                case ARG_POLKITD_PID:
                        r = parse_unsigned(optarg, 1, INT32_MAX, &v);
                        if (r >= 0)
                                arg_pids[c == 'p'           ? PROC_DAEMON
                                         : c == ARG_BUS_PID ? PROC_BUS
                                                            : PROC_POLKITD] = (pid_t) v;
                        break;
                case ARG_SAMPLES:
                        r = parse_unsigned(optarg, 1, 1000000, &arg_samples);
                        break;
                case ARG_ROUNDS:
                        r = parse_unsigned(optarg, 1, ROUNDS_MAX, &arg_rounds);
                        break;
                case ARG_PER_ROUND:
                        r = parse_unsigned(optarg, CLIENTS_MAX, 1000000, &arg_per_round);
                        break;
                case ARG_HOLD:
                        r = parse_hold(optarg);
                        break;
                case ARG_FIGURES:
                        arg_figures = optarg;
                        break;
                case ARG_LOOP:
                        r = parse_unsigned(optarg, 1, 1000000, &arg_loop);
                        break;
                case ARG_TRACE:
                        arg_trace = optarg;
                        break;
                case ARG_HOOK:
                        arg_hook = optarg;
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0) {
                        fprintf(stderr, "bench-grant: invalid value: %s\n", optarg);
                        return r;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "bench-grant: unexpected argument %s\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* ---- The run ---- */

static int connect_pool(sd_event *event, sd_bus *pool[]) {
        for (size_t i = 0; i < CLIENTS_MAX; i++) {
                int r = bus_connect(event, &pool[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int run(sd_event *event, sd_bus *root, const char *pf_path, UserAgent *agent) {
        Series series[_S_MAX] = {};
        Throughput tp[_T_MAX] = {};
        sd_bus *pool[CLIENTS_MAX] = {};
        TokenCheck tc = {};
        CpuTicks t0 = {}, t1 = {};
        CpuSnapshot s0, s1;
        pid_t daemon = arg_pids[PROC_DAEMON];
        int cpu = cpu_pinned(), r;
        uint64_t self0, self1, child0 = 0, child1 = 0, ours = 0;
        long rss_before, rss_after, hwm;
        unsigned leases = 0, errors = 0;

        for (size_t k = 0; k < _S_MAX; k++) {
                series[k].latency_ns = calloc(arg_samples, sizeof(uint64_t));
                if (!series[k].latency_ns) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        r = connect_pool(event, pool);
        if (r < 0)
                goto finish;

        (void) cpu_quiesce(&s0);
        rss_before = proc_status_kib(daemon, "VmRSS");
        if (cpu >= 0)
                (void) cpu_ticks(cpu, &t0);
        self0 = cpu_pid_ns(getpid());
        if (agent)
                child0 = cpu_pid_ns(agent->pid);

        r = latency_phase(series, root, agent, &tc);
        if (r >= 0)
                r = throughput_phase(tp, event, root, pool, agent, &tc);
        if (r < 0)
                goto finish;

        (void) cpu_quiesce(&s1);
        if (cpu >= 0)
                (void) cpu_ticks(cpu, &t1);
        self1 = cpu_pid_ns(getpid());
        if (agent)
                child1 = cpu_pid_ns(agent->pid);
        ours = (self1 - self0) + (child1 - child0);
        for (size_t p = 0; p < _PROC_MAX; p++)
                ours += s1.ns[p] - s0.ns[p];
        r = daemon_lease_count(root, pf_path, &leases);
        if (r < 0) {
                fprintf(stderr, "bench-grant: cannot read the PF's leases: %s\n", strerror(-r));
                goto finish;
        }
        rss_after = proc_status_kib(daemon, "VmRSS");
        hwm = proc_status_kib(daemon, "VmHWM");

        for (size_t k = 0; k < _S_MAX; k++) {
                sort_u64(series[k].latency_ns, series[k].n);
                errors += series[k].errors;
        }
        for (size_t k = 0; k < _T_MAX; k++) {
                errors += tp[k].errors;
                if ((agent || k == T_ROOT_GRANT) && tp[k].rounds < arg_rounds) {
                        fprintf(stderr, "bench-grant: %s: only %u of %u rounds without polkit's stall\n",
                                throughput_labels[k], tp[k].rounds, arg_rounds);
                        errors++;
                }
        }

        printf("vfio-tokend grant benchmark: device %s of PF %s, daemon pid %d, %s\n", arg_device, pf_address,
               (int) daemon, cpu >= 0 ? "everything on one CPU" : "not pinned");
        print_series(series, arg_user, arg_samples);
        print_throughput(tp, arg_rounds, arg_per_round);
        if (tp[T_CHECK].n > 0)
                printf("grants-at-64/checks-at-64: %.2f by the CPU rates (the figure), %.2f by the wall-clock "
                       "rates\n",
                       throughput_cpu_rate(&tp[T_USER_GRANT]) / throughput_cpu_rate(&tp[T_CHECK]),
                       throughput_rate(&tp[T_USER_GRANT]) / throughput_rate(&tp[T_CHECK]));
        print_load(cpu, &t0, &t1, ours);
        printf("Daemon RSS: %ld KiB before, %ld KiB after (peak %ld KiB); leases held after: %u\n", rss_before,
               rss_after, hwm, leases);
        fflush(stdout);

        if (errors > 0 || leases > 0) {
                fprintf(stderr, "bench-grant: %u failed call(s), %u lease(s) left behind\n", errors, leases);
                r = -EIO;
                goto finish;
        }
        r = write_figures(arg_figures, series, tp);
        if (r < 0)
                fprintf(stderr, "bench-grant: cannot write %s: %s\n", arg_figures, strerror(-r));
finish:
        token_check_done(&tc);
        for (size_t i = 0; i < CLIENTS_MAX; i++)
                sd_bus_flush_close_unref(pool[i]);
        for (size_t k = 0; k < _S_MAX; k++)
                free(series[k].latency_ns);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *root = NULL;
        _cleanup_free_ char *pf_path = NULL, *address = NULL;
        sd_event *event = NULL;
        UserAgent agent = {};
        bool have_agent = false;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (geteuid() != 0) {
                fprintf(stderr, "bench-grant: must run as root (polkit's checks, the root grants)\n");
                return EXIT_FAILURE;
        }
        /* A child that dies must not kill us with SIGPIPE half-way through the report. */
        signal(SIGPIPE, SIG_IGN);

        for (size_t p = 0; p < _PROC_MAX; p++) {
                r = cpu_watch(p, arg_pids[p]);
                if (r < 0) {
                        fprintf(stderr, "bench-grant: cannot read the CPU time of %s (pid %d): %s\n",
                                proc_names[p], (int) arg_pids[p], strerror(-r));
                        return EXIT_FAILURE;
                }
        }

        /* The child first: it must not inherit our connections. */
        if (arg_user && arg_hold_connections == 0) {
                r = user_agent_start(arg_user, &agent);
                if (r < 0) {
                        fprintf(stderr, "bench-grant: the client as %s could not connect to the bus: %s\n",
                                arg_user, strerror(-r));
                        return EXIT_FAILURE;
                }
                have_agent = true;
        }

        r = sd_event_new(&event);
        if (r >= 0)
                r = bus_connect(event, &root);
        if (r < 0) {
                fprintf(stderr, "bench-grant: cannot reach the daemon on the system bus: %s\n", strerror(-r));
                goto finish;
        }

        if (arg_hold_connections > 0) {
                r = hold_leases(root, arg_pids[PROC_DAEMON], arg_hold_connections, arg_hold_leases,
                                arg_figures);
                goto finish;
        }
        r = daemon_pf_of(root, arg_device, &pf_path, &address);
        if (r < 0) {
                fprintf(stderr, "bench-grant: the daemon does not know %s: %s\n", arg_device, strerror(-r));
                goto finish;
        }
        snprintf(pf_address, sizeof pf_address, "%s", address);
        if (arg_loop > 0) {
                r = loop_calls(root, have_agent ? &agent : NULL, arg_loop, arg_trace, arg_hook);
                if (r < 0)
                        fprintf(stderr, "bench-grant: %s\n", strerror(-r));
                goto finish;
        }
        r = run(event, root, pf_path, have_agent ? &agent : NULL);
        if (r < 0 && r != -EIO)
                fprintf(stderr, "bench-grant: %s\n", strerror(-r));
finish:
        if (have_agent)
                user_agent_stop(&agent);
        root = sd_bus_flush_close_unref(root);
        sd_event_unref(event);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
