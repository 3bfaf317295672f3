/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-flood: many concurrent AcquireToken calls, as a hostile (or merely busy) local user makes
 * them, for the adversarial suite (tests/adversarial/). A plain sd-bus client: it never links the
 * daemon and knows it only by the names in vfio-token-names.h.
 *
 * It opens N connections to the bus in $DBUS_SYSTEM_BUS_ADDRESS (which must be set, and must be
 * a private bus: a unix socket other than the host's system bus, or TCP on loopback), sends M
 * asynchronous AcquireToken(DEVICE, {}) calls to the Manager on each, and counts the replies by
 * outcome: "ok" (a token of the canonical form) or the error name. On stdout, one line each:
 *
 *     sent 2000
 *     ok 37
 *     org.freedesktop.DBus.Error.LimitsExceeded 1963
 *     done
 *
 * ("unanswered N" counts calls still without a reply when --timeout ran out, "connect-failed N"
 * connections the bus refused, "send-failed N" calls that could not be queued). Modes:
 *   answer-all        wait for every reply (at most --timeout), print, close, exit;
 *   hold              the same, then keep every connection (and so every lease granted on it)
 *                     until stdin reaches EOF, SIGINT/SIGTERM/SIGHUP, --hold-timeout, or the bus
 *                     closes all of them;
 *   disconnect-early  close each connection right after its calls are written, before any
 *                     reply can come: prints only "sent" and "done".
 * Counts, in-flight calls and time are bounded; it always stops by itself. Tokens are read in
 * place in replies marked sensitive (sd-bus wipes them when freed): never copied, never printed.
 * Exit status: 0 when the counts were printed, 1 on a failure before that, 2 on a usage error. */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "macro.h"
#include "string-util.h"
#include "time-util.h"
#include "vfio-token-names.h"

#define CONNECTIONS_MAX 1000U
#define CALLS_PER_CONNECTION_MAX 1000U
#define CALLS_MAX 20000U
/* dbus-daemon refuses a connection's call beyond max_replies_per_connection (128 on the system
 * bus) with the same LimitsExceeded the daemon uses for its quotas: stay below it. */
#define IN_FLIGHT_PER_CONNECTION_MAX 100U
#define TIMEOUT_MAX_SEC 600U
#define OUTCOMES_MAX 32U
#define TOKEN_LEN 36U

typedef enum Mode {
        MODE_ANSWER_ALL,
        MODE_HOLD,
        MODE_DISCONNECT_EARLY,
} Mode;

static const char *const mode_names[] = {
        [MODE_ANSWER_ALL] = "answer-all",
        [MODE_HOLD] = "hold",
        [MODE_DISCONNECT_EARLY] = "disconnect-early",
};

static unsigned arg_connections = 1;
static unsigned arg_calls = 1;
static unsigned arg_max_in_flight = 0; /* 0: no limit but the per-connection one */
static unsigned arg_timeout_sec = 60;
static unsigned arg_hold_timeout_sec = 300;
static Mode arg_mode = MODE_ANSWER_ALL;
static const char *arg_address = NULL;
static const char *arg_device = NULL;

typedef struct Outcome {
        char name[160];
        unsigned n;
} Outcome;

typedef struct Flood Flood;

typedef struct Conn {
        Flood *flood;
        sd_bus *bus;
        unsigned to_send, in_flight;
} Conn;

struct Flood {
        sd_event *event;
        Conn *conns;
        unsigned n_conns;
        unsigned unsent, in_flight, sent, next;
        unsigned connect_failed;
        Outcome outcomes[OUTCOMES_MAX];
        unsigned n_outcomes, other_outcomes;
        bool counting; /* false once the counts are printed: later replies are not counted */
        sd_event_source *timeout, *hold_check, *input;
};

static void outcome_add(Flood *f, const char *name) {
        for (unsigned i = 0; i < f->n_outcomes; i++)
                if (streq(f->outcomes[i].name, name)) {
                        f->outcomes[i].n++;
                        return;
                }
        if (f->n_outcomes >= OUTCOMES_MAX) {
                f->other_outcomes++;
                return;
        }
        snprintf(f->outcomes[f->n_outcomes].name, sizeof f->outcomes[0].name, "%s", name);
        f->outcomes[f->n_outcomes++].n = 1;
}

static int cmp_outcome(const void *a, const void *b) {
        const Outcome *x = a, *y = b;

        /* "ok" first, then the error names in order. */
        if (streq(x->name, "ok") != streq(y->name, "ok"))
                return streq(x->name, "ok") ? -1 : 1;
        return strcmp(x->name, y->name);
}

static void print_counts(Flood *f) {
        f->counting = false;
        qsort(f->outcomes, f->n_outcomes, sizeof(Outcome), cmp_outcome);
        printf("sent %u\n", f->sent);
        for (unsigned i = 0; i < f->n_outcomes; i++)
                printf("%s %u\n", f->outcomes[i].name, f->outcomes[i].n);
        if (f->other_outcomes > 0)
                printf("other-outcomes %u\n", f->other_outcomes);
        if (arg_mode != MODE_DISCONNECT_EARLY && f->in_flight + f->unsent > 0)
                printf("unanswered %u\n", f->in_flight + f->unsent);
        if (f->connect_failed > 0)
                printf("connect-failed %u\n", f->connect_failed);
        printf("done\n");
        fflush(stdout);
}

/* A token as the daemon sends it: the canonical lower-case UUID string. Read in place. */
static bool is_token(const char *s) {
        if (strlen(s) != TOKEN_LEN)
                return false;
        for (unsigned i = 0; i < TOKEN_LEN; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
                        return false;
        }
        return true;
}

static const char *classify(sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *token = NULL, *lease = NULL;

        if (e)
                return e->name ?: "unnamed-error";
        if (sd_bus_message_read(reply, "so", &token, &lease) < 0 || !is_token(token))
                return "malformed-reply";
        return "ok";
}

static int start_hold(Flood *f);

/* The counting phase is over (every call answered, the timeout, or a signal): print, then hold
 * or stop. */
static void replies_done(Flood *f) {
        if (!f->counting)
                return;
        print_counts(f);
        if (arg_mode != MODE_HOLD || start_hold(f) <= 0)
                (void) sd_event_exit(f->event, 0);
}

static int send_acquire(Conn *c, sd_bus_message_handler_t callback) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &m, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                                           VFIO_TOKEN_MANAGER_INTERFACE, "AcquireToken");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sa{sv}", arg_device, 0);
        if (r < 0)
                return r;
        if (!callback)
                return sd_bus_send(c->bus, m, NULL);
        /* A little longer than our own bound, so that a call without an answer is counted as
         * "unanswered" by us rather than as a timeout made up by sd-bus. */
        return sd_bus_call_async(c->bus, NULL, m, callback, c, (arg_timeout_sec + 5) * USEC_PER_SEC);
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

/* Sends what the limits allow, round robin over the connections. */
static void pump(Flood *f) {
        unsigned idle = 0;

        while (idle < f->n_conns && (arg_max_in_flight == 0 || f->in_flight < arg_max_in_flight)) {
                Conn *c = &f->conns[f->next];

                f->next = (f->next + 1) % f->n_conns;
                if (!c->bus || c->to_send == 0 || c->in_flight >= IN_FLIGHT_PER_CONNECTION_MAX) {
                        idle++;
                        continue;
                }
                idle = 0;
                c->to_send--;
                f->unsent--;
                if (send_acquire(c, on_reply) < 0) {
                        outcome_add(f, "send-failed");
                        continue;
                }
                c->in_flight++;
                f->in_flight++;
                f->sent++;
        }
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Conn *c = userdata;
        Flood *f = c->flood;

        /* Have sd-bus wipe the token when it frees the message. */
        (void) sd_bus_message_sensitive(reply);
        c->in_flight--;
        f->in_flight--;
        if (!f->counting)
                return 0;
        outcome_add(f, classify(reply));
        pump(f);
        if (f->in_flight == 0 && f->unsent == 0)
                replies_done(f);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Flood *f = userdata;

        if (f->counting)
                replies_done(f);
        else
                (void) sd_event_exit(f->event, 0);
        return 0;
}

/* Whatever the phase, a signal ends the run. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Flood *f = userdata;

        if (f->counting)
                print_counts(f);
        return sd_event_exit(f->event, 0);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Flood *f = userdata;
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);

        if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
                return 0;
        return sd_event_exit(f->event, 0);
}

/* Ends the hold once the bus has closed every connection (it went away): nothing is held. */
static int on_hold_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Flood *f = userdata;

        for (unsigned i = 0; i < f->n_conns; i++)
                if (f->conns[i].bus && sd_bus_is_open(f->conns[i].bus) > 0) {
                        (void) sd_event_source_set_time_relative(s, USEC_PER_SEC);
                        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                }
        return sd_event_exit(f->event, 0);
}

static int conn_open(const char *address, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *unique;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, address);
        if (r < 0)
                return r;
        r = sd_bus_set_bus_client(bus, true);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        /* Waits for Hello: the connection counts as the bus's before any call goes out. */
        r = sd_bus_get_unique_name(bus, &unique);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

static void flood_done(Flood *f) {
        for (unsigned i = 0; i < f->n_conns; i++)
                f->conns[i].bus = sd_bus_flush_close_unref(f->conns[i].bus);
        f->conns = mfree(f->conns);
        f->timeout = sd_event_source_unref(f->timeout);
        f->hold_check = sd_event_source_unref(f->hold_check);
        f->input = sd_event_source_unref(f->input);
        f->event = sd_event_unref(f->event);
}

/* disconnect-early: every call written, then the connection closed, one connection after the
 * other; all of them were connected before the first call went out. */
static int run_disconnect_early(Flood *f) {
        for (unsigned i = 0; i < f->n_conns; i++) {
                Conn *c = &f->conns[i];

                if (!c->bus)
                        continue;
                for (; c->to_send > 0; c->to_send--, f->unsent--) {
                        if (send_acquire(c, NULL) < 0)
                                outcome_add(f, "send-failed");
                        else
                                f->sent++;
                }
                c->bus = sd_bus_flush_close_unref(c->bus);
        }
        print_counts(f);
        return 0;
}

/* Holds every connection, and so every lease, until told to let go. Returns 0 if there is
 * nothing to wait for (stdin is a file or /dev/null: at EOF already, as far as holding goes). */
static int start_hold(Flood *f) {
        int r;

        r = sd_event_source_set_time_relative(f->timeout, arg_hold_timeout_sec * USEC_PER_SEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(f->timeout, SD_EVENT_ONESHOT);
        if (r >= 0)
                r = sd_event_add_time_relative(f->event, &f->hold_check, CLOCK_MONOTONIC, USEC_PER_SEC, 0,
                                               on_hold_check, f);
        if (r >= 0)
                r = sd_event_add_io(f->event, &f->input, STDIN_FILENO, EPOLLIN, on_stdin, f);
        if (r == -EPERM)
                return 0;
        if (r < 0) {
                fprintf(stderr, "bus-flood: cannot hold: %s\n", strerror(-r));
                return r;
        }
        return 1;
}

static int run_flood(Flood *f) {
        int r;

        r = sd_event_add_time_relative(f->event, &f->timeout, CLOCK_MONOTONIC, arg_timeout_sec * USEC_PER_SEC, 0,
                                       on_timeout, f);
        if (r < 0)
                return r;
        pump(f);
        if (f->in_flight == 0 && f->unsent == 0)
                replies_done(f);
        r = sd_event_loop(f->event);
        if (f->counting) /* the loop ended some other way */
                print_counts(f);
        return r < 0 ? r : 0;
}

static int check_address(const char *address) {
        static const char *const system_sockets[] = { "/run/dbus/system_bus_socket",
                                                      "/var/run/dbus/system_bus_socket" };
        _cleanup_free_ char *copy = strdup(address), *real = NULL;
        char *p, *host = NULL, *path = NULL;
        bool unix_socket;

        if (!copy)
                return -ENOMEM;
        if (strchr(address, ';'))
                return -EINVAL; /* one address, so that it is the one checked */
        unix_socket = strncmp(address, "unix:", 5) == 0;
        if (!unix_socket && strncmp(address, "tcp:", 4) != 0 && strncmp(address, "nonce-tcp:", 10) != 0)
                return -EINVAL;
        for (p = strtok(strchr(copy, ':') + 1, ","); p; p = strtok(NULL, ","))
                if (strncmp(p, "path=", 5) == 0)
                        path = p + 5;
                else if (strncmp(p, "host=", 5) == 0)
                        host = p + 5;
        if (!unix_socket)
                return host && (streq(host, "127.0.0.1") || streq(host, "::1") || streq(host, "localhost"))
                               ? 0
                               : -EINVAL;
        if (!path)
                return 0; /* abstract=, or a directory: never the host's system bus socket */
        real = realpath(path, NULL);
        for (unsigned i = 0; i < ELEMENTSOF(system_sockets); i++)
                if (streq(path, system_sockets[i]) || (real && streq(real, system_sockets[i])))
                        return -EINVAL;
        return 0;
}

static void help(void) {
        printf("bus-flood [OPTIONS...] DEVICE\n\n"
               "Sends AcquireToken(DEVICE, {}) to %s on a private bus ($DBUS_SYSTEM_BUS_ADDRESS)\n"
               "over many connections at once and counts the replies by outcome.\n\n"
               "  --connections=N      connections to open (1..%u, default 1)\n"
               "  --calls=M            calls per connection (1..%u, default 1; N*M <= %u)\n"
               "  --mode=MODE          answer-all (default), hold or disconnect-early\n"
               "  --max-in-flight=K    at most K calls without an answer at any time (default: all;\n"
               "                       never more than %u per connection)\n"
               "  --timeout=SEC        wait at most SEC for the replies (default 60, max %u)\n"
               "  --hold-timeout=SEC   with --mode=hold: let go after SEC at the latest (default 300)\n"
               "  --address=ADDRESS    the bus (default $DBUS_SYSTEM_BUS_ADDRESS)\n",
               VFIO_TOKEN_BUS_NAME, CONNECTIONS_MAX, CALLS_PER_CONNECTION_MAX, CALLS_MAX,
               IN_FLIGHT_PER_CONNECTION_MAX, TIMEOUT_MAX_SEC);
}

static int parse_unsigned(const char *name, const char *s, unsigned min, unsigned max, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || s[0] == '-' || v < min || v > max) {
                fprintf(stderr, "bus-flood: --%s must be a number from %u to %u: %s\n", name, min, max, s);
                return -EINVAL;
        }
        *ret = (unsigned) v;
        return 0;
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_CONNECTIONS = 0x100, ARG_CALLS, ARG_MODE, ARG_MAX_IN_FLIGHT, ARG_TIMEOUT, ARG_HOLD_TIMEOUT,
               ARG_ADDRESS };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "connections", required_argument, NULL, ARG_CONNECTIONS },
                { "calls", required_argument, NULL, ARG_CALLS },
                { "mode", required_argument, NULL, ARG_MODE },
                { "max-in-flight", required_argument, NULL, ARG_MAX_IN_FLIGHT },
                { "timeout", required_argument, NULL, ARG_TIMEOUT },
                { "hold-timeout", required_argument, NULL, ARG_HOLD_TIMEOUT },
                { "address", required_argument, NULL, ARG_ADDRESS },
                {}
        };
        int c, r = 0;

        while (r == 0 && (c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_CONNECTIONS:
                        r = parse_unsigned("connections", optarg, 1, CONNECTIONS_MAX, &arg_connections);
                        break;
                case ARG_CALLS:
                        r = parse_unsigned("calls", optarg, 1, CALLS_PER_CONNECTION_MAX, &arg_calls);
                        break;
                case ARG_MAX_IN_FLIGHT:
                        r = parse_unsigned("max-in-flight", optarg, 1, CALLS_MAX, &arg_max_in_flight);
                        break;
                case ARG_TIMEOUT:
                        r = parse_unsigned("timeout", optarg, 1, TIMEOUT_MAX_SEC, &arg_timeout_sec);
                        break;
                case ARG_HOLD_TIMEOUT:
                        r = parse_unsigned("hold-timeout", optarg, 1, TIMEOUT_MAX_SEC, &arg_hold_timeout_sec);
                        break;
                case ARG_MODE:
                        r = -EINVAL;
                        for (unsigned i = 0; i < ELEMENTSOF(mode_names); i++)
                                if (streq(optarg, mode_names[i])) {
                                        arg_mode = (Mode) i;
                                        r = 0;
                                }
                        if (r < 0)
                                fprintf(stderr, "bus-flood: unknown --mode: %s\n", optarg);
                        break;
                case ARG_ADDRESS:
                        arg_address = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (r < 0)
                return r;
        if (optind != argc - 1) {
                fprintf(stderr, "bus-flood: expected one DEVICE argument (see --help)\n");
                return -EINVAL;
        }
        arg_device = argv[optind];
        if (arg_connections * arg_calls > CALLS_MAX) {
                fprintf(stderr, "bus-flood: at most %u calls in all\n", CALLS_MAX);
                return -EINVAL;
        }
        if (!arg_address)
                arg_address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        if (!arg_address || !*arg_address) {
                fprintf(stderr, "bus-flood: no bus: set DBUS_SYSTEM_BUS_ADDRESS to a private bus\n");
                return -EINVAL;
        }
        if (check_address(arg_address) < 0) {
                fprintf(stderr, "bus-flood: %s is not a private bus (one unix socket other than the system "
                                "bus's, or TCP on loopback)\n",
                        arg_address);
                return -EINVAL;
        }
        return 1;
}

/* Room for one fd per connection, as far as the hard limit allows. */
static void raise_fd_limit(unsigned want) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
                return;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char *argv[]) {
        Flood f = { .counting = true };
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        raise_fd_limit(arg_connections + 64);
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&f.event);
        if (r >= 0)
                r = sd_event_add_signal(f.event, NULL, SIGINT, on_signal, &f);
        if (r >= 0)
                r = sd_event_add_signal(f.event, NULL, SIGTERM, on_signal, &f);
        if (r >= 0)
                r = sd_event_add_signal(f.event, NULL, SIGHUP, on_signal, &f);
        f.conns = calloc(arg_connections, sizeof(Conn));
        if (r < 0 || !f.conns) {
                fprintf(stderr, "bus-flood: setting up: %s\n", strerror(r < 0 ? -r : ENOMEM));
                flood_done(&f);
                return 1;
        }

        f.n_conns = arg_connections;
        for (unsigned i = 0; i < f.n_conns; i++) {
                Conn *c = &f.conns[i];

                c->flood = &f;
                r = conn_open(arg_address, &c->bus);
                if (r >= 0 && arg_mode != MODE_DISCONNECT_EARLY)
                        r = sd_bus_attach_event(c->bus, f.event, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0) {
                        c->bus = sd_bus_flush_close_unref(c->bus);
                        f.connect_failed++;
                        continue;
                }
                c->to_send = arg_calls;
                f.unsent += arg_calls;
        }
        if (f.connect_failed == f.n_conns) {
                fprintf(stderr, "bus-flood: could not connect to %s: %s\n", arg_address, strerror(-r));
                flood_done(&f);
                return 1;
        }

        r = arg_mode == MODE_DISCONNECT_EARLY ? run_disconnect_early(&f) : run_flood(&f);
        flood_done(&f);
        if (r < 0) {
                fprintf(stderr, "bus-flood: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
