/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-grant: what a grant costs, against the bare bus and polkit round trips it is made of.
 *
 * In one run on one bus it measures, with plain sd-bus clients driven by one sd-event loop:
 *   - org.freedesktop.DBus.Peer.Ping to the daemon (the bare bus round trip);
 *   - polkit's CheckAuthorization for the subject the daemon would ask about (the bare polkit
 *     round trip), one at a time and with 8 and 64 in flight;
 *   - AcquireToken as root (no polkit) and as an unprivileged, polkit-authorised user (--user,
 *     run in a child process that drops to that user), with 1, 8 and 64 concurrent clients:
 *     N connections, each with one call outstanding; every lease is released right away;
 *   - the daemon's RSS before and after, and its lease count after (must be back to zero).
 * It only prints: no timing is ever asserted. It exits non-zero if a call failed, a grant's
 * token differed from the others, or leases were left behind. Tokens are never printed. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "fd-util.h"
#include "macro.h"

#define CALL_TIMEOUT_USEC (60ULL * 1000000ULL) /* above polkit 122's 15 s stall */
#define RUN_TIMEOUT_USEC (300ULL * 1000000ULL)
#define CLIENTS_MAX 64
/* polkit 122 sometimes answers a CheckAuthorization after exactly 15 s (a race fixed in 123). */
#define STALL_NS (14ULL * 1000000000ULL)
#define TOKEN_LEN 36

static const char *arg_device = "0000:01:00.2";
static const char *arg_user = NULL;
static pid_t arg_daemon_pid = 0;
static unsigned arg_pings = 2000;
static unsigned arg_checks = 500;
static unsigned arg_grants = 500;
static char pf_address[64]; /* the device's PF, as the daemon names it: polkit's "pf" detail */

static const unsigned levels[] = { 1, 8, 64 };
#define N_LEVELS ELEMENTSOF(levels)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

typedef enum Op {
        OP_PING,
        OP_POLKIT,
        OP_ACQUIRE,
} Op;

/* What one measured run gives; plain data, so a child can send it through a pipe. */
typedef struct Stats {
        unsigned n, errors, stalled;
        double median_us, p99_us, max_us, rate;
        double daemon_cpu_us; /* the daemon's CPU time (user + system) per call, -1 if unknown */
        char first_error[160];
} Stats;

typedef struct Run Run;

typedef struct Client {
        Run *run;
        sd_bus *bus;
        uint64_t sent_ns;
} Client;

struct Run {
        Op op;
        sd_event *event;
        Client clients[CLIENTS_MAX];
        unsigned n_clients;
        unsigned target, sent, replied, releases_pending;
        uint64_t *latency_ns;
        unsigned errors;
        char first_error[160];
        const char *polkit_subject; /* unique name, for OP_POLKIT */
        char token[TOKEN_LEN + 1];  /* the first grant's, to compare the others with */
        bool have_token;
};

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* The daemon's CPU time so far (utime + stime of /proc/PID/stat), in µs; -1 if unknown. */
static double daemon_cpu_us(void) {
        _cleanup_(fclosep) FILE *f = NULL;
        unsigned long long utime, stime;
        char path[64], buf[1024], *p;
        long hz = sysconf(_SC_CLK_TCK);
        size_t n;

        if (arg_daemon_pid <= 0 || hz <= 0)
                return -1;
        snprintf(path, sizeof path, "/proc/%d/stat", (int) arg_daemon_pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        /* Fields 14 and 15, counted after the parenthesised command name (field 2). */
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
                return -1;
        return (double) (utime + stime) * 1e6 / (double) hz;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

static void run_error(Run *run, const char *what, const sd_bus_error *e, int r) {
        run->errors++;
        if (run->first_error[0])
                return;
        if (e && e->name)
                snprintf(run->first_error, sizeof run->first_error, "%s: %s: %s", what, e->name,
                         e->message ?: "");
        else
                snprintf(run->first_error, sizeof run->first_error, "%s: %s", what, strerror(r < 0 ? -r : r));
}

static bool run_finished(const Run *run) {
        return run->replied >= run->target && run->releases_pending == 0;
}

static int send_one(Client *c);

static int on_release(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Run *run = userdata;

        if (sd_bus_message_is_method_error(reply, NULL))
                run_error(run, "Release", sd_bus_message_get_error(reply), 0);
        run->releases_pending--;
        if (run_finished(run))
                sd_event_exit(run->event, 0);
        return 0;
}

/* A grant's reply: check the token's shape and that it is the PF's one token, then end the lease
 * with Release() without waiting for it, so the connection's next AcquireToken goes out at once
 * and the daemon never holds more than two leases per connection. */
static void handle_grant(Client *c, sd_bus_message *reply) {
        Run *run = c->run;
        const char *token, *lease;
        int r;

        /* The reply holds the token: have sd-bus wipe it when the message is freed. */
        (void) sd_bus_message_sensitive(reply);
        r = sd_bus_message_read(reply, "so", &token, &lease);
        if (r < 0) {
                run_error(run, "AcquireToken reply", NULL, r);
                return;
        }
        if (strlen(token) != TOKEN_LEN)
                run_error(run, "AcquireToken", NULL, EBADMSG);
        else if (!run->have_token) {
                memcpy(run->token, token, sizeof run->token);
                run->have_token = true;
        } else if (memcmp(run->token, token, TOKEN_LEN) != 0)
                run_error(run, "AcquireToken (token differs between grants)", NULL, EBADMSG);

        r = sd_bus_call_method_async(c->bus, NULL, BUS_NAME, lease, BUS_IFACE_LEASE, "Release", on_release, run,
                                     NULL);
        if (r < 0)
                run_error(run, "Release", NULL, r);
        else
                run->releases_pending++;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Client *c = userdata;
        Run *run = c->run;
        const sd_bus_error *e;
        int r;

        run->latency_ns[run->replied++] = now_ns() - c->sent_ns;

        e = sd_bus_message_get_error(reply);
        if (e)
                run_error(run, run->op == OP_PING ? "Ping" : run->op == OP_POLKIT ? "CheckAuthorization"
                                                                                 : "AcquireToken",
                          e, 0);
        else if (run->op == OP_ACQUIRE)
                handle_grant(c, reply);
        else if (run->op == OP_POLKIT) {
                int authorized = 0, challenge = 0;

                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0 || !authorized)
                        run_error(run, "CheckAuthorization (not authorised)", NULL, r < 0 ? r : EACCES);
        }

        if (run->sent < run->target) {
                r = send_one(c);
                if (r < 0) {
                        run_error(run, "sending", NULL, r);
                        run->target = run->sent; /* stop here rather than wait for what never comes */
                }
        }
        if (run_finished(run))
                sd_event_exit(run->event, 0);
        return 0;
}

static int send_one(Client *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        Run *run = c->run;
        int r;

        switch (run->op) {
        case OP_PING:
                r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Peer",
                                                   "Ping");
                break;
        case OP_POLKIT:
                r = sd_bus_message_new_method_call(c->bus, &m, "org.freedesktop.PolicyKit1",
                                                   "/org/freedesktop/PolicyKit1/Authority",
                                                   "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
                /* Exactly the question the daemon asks (daemon/polkit.c). */
                if (r >= 0)
                        r = sd_bus_message_append(m, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                                                  run->polkit_subject, POLKIT_ACTION_ACQUIRE, 2, "pf",
                                                  pf_address, "device", arg_device, 0, "");
                break;
        case OP_ACQUIRE:
                r = sd_bus_message_new_method_call(c->bus, &m, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER,
                                                   "AcquireToken");
                if (r >= 0)
                        r = sd_bus_message_append(m, "sa{sv}", arg_device, 0);
                break;
        default:
                abort();
        }
        if (r < 0)
                return r;
        c->sent_ns = now_ns();
        r = sd_bus_call_async(c->bus, NULL, m, on_reply, c, CALL_TIMEOUT_USEC);
        if (r < 0)
                return r;
        run->sent++;
        return 0;
}

static int on_run_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Run *run = userdata;

        run_error(run, "run", NULL, ETIMEDOUT);
        return sd_event_exit(run->event, -ETIMEDOUT);
}

static void run_done(Run *run) {
        for (unsigned i = 0; i < run->n_clients; i++)
                run->clients[i].bus = sd_bus_flush_close_unref(run->clients[i].bus);
        run->latency_ns = mfree(run->latency_ns);
        run->event = sd_event_unref(run->event);
        explicit_bzero(run->token, sizeof run->token);
}

/* Runs `count` calls of `op` over `n_clients` fresh connections, each with one call in flight.
 * Connection setup (Hello) and a first Ping to the daemon on each are done before the clock
 * starts, so only the calls themselves are timed. */
static int measure(Op op, unsigned n_clients, unsigned count, const char *polkit_subject, Stats *ret) {
        _cleanup_(sd_event_source_unrefp) sd_event_source *timeout = NULL;
        Run run = { .op = op, .target = count, .polkit_subject = polkit_subject };
        uint64_t start, elapsed;
        double cpu_start, cpu_end;
        int r;

        if (n_clients > CLIENTS_MAX || n_clients == 0 || count < n_clients)
                return -EINVAL;
        run.latency_ns = calloc(count, sizeof(uint64_t));
        if (!run.latency_ns)
                return -ENOMEM;
        r = sd_event_new(&run.event);
        if (r < 0)
                goto finish;
        for (unsigned i = 0; i < n_clients; i++) {
                Client *c = &run.clients[i];

                c->run = &run;
                r = sd_bus_open_system(&c->bus);
                if (r < 0)
                        goto finish;
                run.n_clients++;
                r = sd_bus_call_method(c->bus, BUS_NAME, BUS_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL,
                                       NULL, NULL);
                if (r < 0)
                        goto finish;
                r = sd_bus_attach_event(c->bus, run.event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        goto finish;
        }
        r = sd_event_add_time_relative(run.event, &timeout, CLOCK_MONOTONIC, RUN_TIMEOUT_USEC, 0, on_run_timeout,
                                       &run);
        if (r < 0)
                goto finish;

        cpu_start = daemon_cpu_us();
        start = now_ns();
        for (unsigned i = 0; i < n_clients; i++) {
                r = send_one(&run.clients[i]);
                if (r < 0)
                        goto finish;
        }
        r = sd_event_loop(run.event);
        elapsed = now_ns() - start;
        cpu_end = daemon_cpu_us();
        if (r < 0)
                goto finish;

        qsort(run.latency_ns, run.replied, sizeof(uint64_t), cmp_u64);
        *ret = (Stats) {
                .n = run.replied,
                .errors = run.errors,
                .median_us = run.replied ? run.latency_ns[run.replied / 2] / 1000.0 : 0,
                .p99_us = run.replied ? run.latency_ns[(run.replied * 99 + 99) / 100 - 1] / 1000.0 : 0,
                .max_us = run.replied ? run.latency_ns[run.replied - 1] / 1000.0 : 0,
                .rate = elapsed ? run.replied * 1e9 / (double) elapsed : 0,
                .daemon_cpu_us = cpu_start >= 0 && cpu_end >= 0 && run.replied ? (cpu_end - cpu_start) / run.replied
                                                                               : -1,
        };
        for (unsigned i = run.replied; i > 0 && run.latency_ns[i - 1] >= STALL_NS; i--)
                ret->stalled++;
        memcpy(ret->first_error, run.first_error, sizeof ret->first_error);
        r = 0;
finish:
        timeout = sd_event_source_unref(timeout);
        run_done(&run);
        return r;
}

static long daemon_kb(const char *field) {
        char path[64], line[256];
        _cleanup_(fclosep) FILE *f = NULL;
        size_t len = strlen(field);
        long v = -1;

        if (arg_daemon_pid <= 0)
                return -1;
        snprintf(path, sizeof path, "/proc/%d/status", (int) arg_daemon_pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, field, len) == 0 && line[len] == ':') {
                        v = strtol(line + len + 1, NULL, 10);
                        break;
                }
        return v;
}

/* The object path of the device's PF (a fresh string). */
static int daemon_pf_path(sd_bus *bus, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        char *p;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, BUS_PATH, BUS_IFACE_MANAGER, "GetPhysicalFunction", NULL, &reply,
                               "s", arg_device);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static int daemon_pf_address(sd_bus *bus) {
        _cleanup_free_ char *path = NULL, *address = NULL;
        int r;

        r = daemon_pf_path(bus, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(bus, BUS_NAME, path, BUS_IFACE_PF, "Address", NULL, &address);
        if (r < 0)
                return r;
        snprintf(pf_address, sizeof pf_address, "%s", address);
        return 0;
}

/* The PF's Leases property: how many leases the daemon still holds on it. */
static int daemon_leases(sd_bus *bus, unsigned *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *prop = NULL;
        _cleanup_free_ char *path = NULL;
        const char *lease;
        unsigned n = 0;
        int r;

        r = daemon_pf_path(bus, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property(bus, BUS_NAME, path, BUS_IFACE_PF, "Leases", NULL, &prop, "ao");
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

/* ---- the unprivileged, polkit-authorised side: a child process that becomes --user ---- */

typedef struct UserResults {
        int r;
        Stats grant[N_LEVELS];
} UserResults;

static int become_user(const char *user) {
        struct passwd *pw = getpwnam(user);

        if (!pw)
                return -ESRCH;
        if (initgroups(user, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                return -errno;
        return 0;
}

static bool write_all(int fd, const void *p, size_t n) {
        for (size_t done = 0; done < n;) {
                ssize_t k = write(fd, (const char *) p + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                done += (size_t) k;
        }
        return true;
}

static bool read_all(int fd, void *p, size_t n) {
        for (size_t done = 0; done < n;) {
                ssize_t k = read(fd, (char *) p + done, n - done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                done += (size_t) k;
        }
        return true;
}

/* The child: connects as the user, tells the parent its unique name (the polkit subject the
 * parent checks), waits for the parent to finish, then measures its own grants. */
static _noreturn_ void user_child(int to_parent, int from_parent) {
        UserResults res = {};
        sd_bus *bus = NULL;
        char name[256] = {};
        const char *unique;
        char go;

        res.r = become_user(arg_user);
        if (res.r >= 0)
                res.r = sd_bus_open_system(&bus);
        if (res.r >= 0)
                res.r = sd_bus_get_unique_name(bus, &unique);
        if (res.r >= 0)
                snprintf(name, sizeof name, "%s", unique);
        if (!write_all(to_parent, name, sizeof name))
                _exit(EXIT_FAILURE);
        if (res.r >= 0 && read_all(from_parent, &go, 1))
                for (size_t i = 0; i < N_LEVELS && res.r >= 0; i++)
                        res.r = measure(OP_ACQUIRE, levels[i], arg_grants, NULL, &res.grant[i]);
        (void) write_all(to_parent, &res, sizeof res);
        sd_bus_flush_close_unref(bus);
        _exit(EXIT_SUCCESS);
}

/* ---- output ---- */

static void print_time(double us) {
        if (us < 1000)
                printf(" %8.1f µs", us);
        else
                printf(" %8.2f ms", us / 1000);
}

static void print_row(const char *what, const Stats *s) {
        printf("%-44s %6u", what, s->n);
        print_time(s->median_us);
        print_time(s->p99_us);
        print_time(s->max_us);
        printf(" %9.0f/s", s->rate);
        if (s->daemon_cpu_us >= 0)
                print_time(s->daemon_cpu_us);
        else
                printf(" %11s", "-");
        if (s->stalled)
                printf("  %u call(s) took over 14 s (polkit 122's 15 s stall)", s->stalled);
        if (s->errors)
                printf("  %u error(s), first: %s", s->errors, s->first_error);
        printf("\n");
}

static void help(void) {
        printf("Usage: bench-grant [OPTIONS]\n"
               "Measures AcquireToken against bare bus and polkit round trips on the system bus\n"
               "(DBUS_SYSTEM_BUS_ADDRESS). Run as root; see bench/run.sh.\n"
               "  --device=ADDR      VF (or PF) to acquire (default %s)\n"
               "  --user=USER        also measure grants as USER, authorised by polkit\n"
               "  --daemon-pid=PID   read the daemon's RSS from /proc/PID/status\n"
               "  --pings=N --checks=N --grants=N   counts (defaults %u, %u, %u)\n",
               arg_device, arg_pings, arg_checks, arg_grants);
}

static int parse_count(const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || end == s || *end || v < CLIENTS_MAX || v > 10000000)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },       { "device", required_argument, NULL, 'd' },
                { "user", required_argument, NULL, 'u' }, { "daemon-pid", required_argument, NULL, 'p' },
                { "pings", required_argument, NULL, 'P' }, { "checks", required_argument, NULL, 'C' },
                { "grants", required_argument, NULL, 'G' }, {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
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
                        arg_daemon_pid = (pid_t) atoi(optarg);
                        break;
                case 'P':
                case 'C':
                case 'G':
                        if (parse_count(optarg, c == 'P' ? &arg_pings : c == 'C' ? &arg_checks : &arg_grants) < 0) {
                                fprintf(stderr, "bench-grant: counts must be %d..10000000: %s\n", CLIENTS_MAX,
                                        optarg);
                                return -EINVAL;
                        }
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "bench-grant: unexpected argument %s\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Stats ping = {}, check[N_LEVELS] = {}, root[N_LEVELS] = {};
        UserResults user = { .r = -ENOENT };
        char subject[256] = {}, label[96];
        long rss_before, rss_after, hwm;
        int to_parent[2] = { -1, -1 }, to_child[2] = { -1, -1 };
        unsigned leases = 0, errors = 0;
        const char *who = "own connection, uid 0: no rules run", *unique;
        pid_t child = 0;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (geteuid() != 0) {
                fprintf(stderr, "bench-grant: must run as root (polkit's CheckAuthorization and the root grants)\n");
                return EXIT_FAILURE;
        }
        /* A child that dies must not kill us with SIGPIPE half-way through the report. */
        signal(SIGPIPE, SIG_IGN);

        rss_before = daemon_kb("VmRSS");
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "bench-grant: cannot connect to the system bus: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        r = daemon_pf_address(bus);
        if (r < 0) {
                fprintf(stderr, "bench-grant: the daemon does not know %s: %s\n", arg_device, strerror(-r));
                return EXIT_FAILURE;
        }

        r = measure(OP_PING, 1, arg_pings, NULL, &ping);
        if (r < 0)
                goto fail;

        /* The polkit subject: the user's connection if there is one (its rules run, as for a real
         * grant), else our own (uid 0: polkit's shortcut, no rules). */
        r = sd_bus_get_unique_name(bus, &unique);
        if (r < 0)
                goto fail;
        snprintf(subject, sizeof subject, "%s", unique);
        if (arg_user) {
                if (pipe2(to_parent, O_CLOEXEC) < 0 || pipe2(to_child, O_CLOEXEC) < 0) {
                        r = -errno;
                        goto fail;
                }
                fflush(stdout);
                child = fork();
                if (child < 0) {
                        r = -errno;
                        goto fail;
                }
                if (child == 0)
                        user_child(to_parent[1], to_child[0]);
                to_parent[1] = safe_close(to_parent[1]);
                to_child[0] = safe_close(to_child[0]);
                if (!read_all(to_parent[0], subject, sizeof subject) || !subject[0]) {
                        fprintf(stderr, "bench-grant: the %s client could not connect to the bus\n", arg_user);
                        r = -EIO;
                        goto fail;
                }
                subject[sizeof subject - 1] = '\0';
                who = arg_user;
        }

        for (size_t i = 0; i < N_LEVELS; i++) {
                r = measure(OP_POLKIT, levels[i], arg_checks, subject, &check[i]);
                if (r < 0)
                        goto fail;
        }
        for (size_t i = 0; i < N_LEVELS; i++) {
                r = measure(OP_ACQUIRE, levels[i], arg_grants, NULL, &root[i]);
                if (r < 0)
                        goto fail;
        }
        if (child > 0) {
                /* Our measurements are over: the user's run has the bus and polkitd to itself. */
                if (!write_all(to_child[1], "g", 1) || !read_all(to_parent[0], &user, sizeof user))
                        user.r = -EIO;
                (void) waitpid(child, NULL, 0);
                child = 0;
        }

        r = daemon_leases(bus, &leases);
        if (r < 0)
                fprintf(stderr, "bench-grant: cannot read the PF's leases: %s\n", strerror(-r));
        rss_after = daemon_kb("VmRSS");
        hwm = daemon_kb("VmHWM");

        printf("vfio-tokend grant benchmark: device %s of PF %s, daemon pid %d\n", arg_device, pf_address,
               (int) arg_daemon_pid);
        printf("%-44s %6s %11s %11s %11s %11s %11s\n", "", "calls", "median", "p99", "max", "rate",
               "daemon CPU");
        print_row("Peer.Ping to the daemon (bus round trip)", &ping);
        for (size_t i = 0; i < N_LEVELS; i++) {
                snprintf(label, sizeof label, "polkit CheckAuthorization, %u in flight", levels[i]);
                print_row(label, &check[i]);
        }
        for (size_t i = 0; i < N_LEVELS; i++) {
                snprintf(label, sizeof label, "AcquireToken as root, %u client(s)", levels[i]);
                print_row(label, &root[i]);
        }
        if (arg_user && user.r >= 0)
                for (size_t i = 0; i < N_LEVELS; i++) {
                        snprintf(label, sizeof label, "AcquireToken as %s (polkit), %u client(s)", arg_user,
                                 levels[i]);
                        print_row(label, &user.grant[i]);
                }
        else if (arg_user)
                printf("AcquireToken as %s: failed to run: %s\n", arg_user, strerror(-user.r));
        printf("polkit subject: system-bus-name of %s\n", who);

        printf("ratios (median): AcquireToken as root / Ping = %.1f; ", root[0].median_us / ping.median_us);
        if (arg_user && user.r >= 0)
                printf("as %s / Ping = %.1f; as %s / CheckAuthorization = %.2f\n", arg_user,
                       user.grant[0].median_us / ping.median_us, arg_user,
                       user.grant[0].median_us / check[0].median_us);
        else
                printf("as root / CheckAuthorization = %.2f\n", root[0].median_us / check[0].median_us);
        if (arg_user && user.r >= 0)
                printf("grants/s as %s at 1/8/64 clients: %.0f / %.0f / %.0f (bare CheckAuthorization: "
                       "%.0f / %.0f / %.0f)\n",
                       arg_user, user.grant[0].rate, user.grant[1].rate, user.grant[2].rate, check[0].rate,
                       check[1].rate, check[2].rate);
        printf("daemon RSS: %ld kB before, %ld kB after (peak %ld kB); leases held after: %u\n", rss_before,
               rss_after, hwm, leases);

        errors = ping.errors;
        for (size_t i = 0; i < N_LEVELS; i++)
                errors += check[i].errors + root[i].errors + (arg_user ? user.grant[i].errors : 0);
        safe_close(to_parent[0]);
        safe_close(to_child[1]);
        if (errors > 0 || leases > 0 || (arg_user && user.r < 0)) {
                fprintf(stderr, "bench-grant: %u failed call(s), %u lease(s) left behind\n", errors, leases);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;

fail:
        fprintf(stderr, "bench-grant: %s\n", strerror(-r));
        if (child > 0) {
                (void) kill(child, SIGTERM);
                (void) waitpid(child, NULL, 0);
        }
        return EXIT_FAILURE;
}
