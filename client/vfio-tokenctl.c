/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl: the command line client of vfio-tokend. This file parses the command line,
 * connects to the bus, maps failures to the documented exit codes and holds the small verbs
 * (rotate, release); the listing verbs are in tokenctl-show.c and the token-receiving ones in
 * tokenctl-acquire.c. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "io-util.h"
#include "json-out.h"
#include "macro.h"
#include "polkit-agent.h"
#include "string-util.h"
#include "tokenctl.h"
#include "vfio-token.h"

bool arg_json = false;
bool arg_ask_password = true;
bool arg_hold = false;
bool arg_force = false;
const char *arg_address = NULL;

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The errors the daemon or the bus sent, by the errno vfio_token_error_to_errno() maps them to:
 * the exit code, and what to say when the error came without a message of its own. */
static const struct {
        int errnum;
        int code;
        const char *text;
} answer_map[] = {
        { EINVAL, EXIT_USAGE, "invalid argument" },
        { EACCES, EXIT_ACCESS_DENIED, "access denied" },
        { EPERM, EXIT_ACCESS_DENIED, "access denied" },
        { ENODEV, EXIT_NO_SUCH_DEVICE, "not a managed PF or one of its VFs" },
        { ENOENT, EXIT_NO_SUCH_DEVICE, "no such object" },
        { EBUSY, EXIT_BUSY, "busy" },
        { ENXIO, EXIT_DEVICE_GONE, "the device is gone" },
        { EOPNOTSUPP, EXIT_DEVICE_GONE, "not supported" },
        { EHOSTUNREACH, EXIT_UNREACHABLE, "vfio-tokend is not running" },
        { ETIMEDOUT, EXIT_UNREACHABLE, "no reply" },
        /* Not a refusal: asking again later may well succeed. */
        { EAGAIN, EXIT_AUTH_UNAVAILABLE, "the authorisation could not be checked, try again later" },
        { EUSERS, EXIT_LIMITS_EXCEEDED, "a limit on requests or leases was reached" },
};

/* Prints the daemon's (or the bus's) answer e and returns its exit code. */
static int fail_answer(const sd_bus_error *e) {
        const char *message = e->message && *e->message ? e->message : NULL;
        int errnum = -vfio_token_error_to_errno(e);

        for (size_t i = 0; i < ELEMENTSOF(answer_map); i++)
                if (answer_map[i].errnum == errnum) {
                        fprintf(stderr, ": %s\n", message ?: answer_map[i].text);
                        return answer_map[i].code;
                }

        fprintf(stderr, ": %s\n", message ?: e->name);
        return EXIT_FAIL;
}

int tokenctl_fail(int r, const sd_bus_error *e, const char *format, ...) {
        va_list ap;

        fputs("vfio-tokenctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);

        /* The daemon's (or the bus's) answer: its name decides the exit code. sd-bus reports its
         * own failures as "System.Error.<ERRNO>": those are local, below. */
        if (sd_bus_error_is_set(e) && !startswith(e->name, "System.Error."))
                return fail_answer(e);

        if (sd_bus_error_is_set(e)) {
                r = -sd_bus_error_get_errno(e);
                fprintf(stderr, ": %s\n", e->message ?: strerror(-r));
        } else
                fprintf(stderr, ": %s\n", strerror(r < 0 ? -r : r));
        /* A local failure: only a lost connection or an unanswered call has a code of its own. */
        switch (-r) {
        case ECONNRESET:
        case ENOTCONN:
        case ETIMEDOUT:
        case ECONNREFUSED:
                return EXIT_UNREACHABLE;
        default:
                return EXIT_FAIL;
        }
}

int tokenctl_error(int code, const char *format, ...) {
        va_list ap;

        fputs("vfio-tokenctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputs("\n", stderr);
        return code;
}

int tokenctl_json_print(JsonOut *j) {
        const char *text;
        size_t len;
        int r;

        r = json_out_finish(j, &text, &len);
        if (r >= 0) {
                fflush(stdout);
                r = loop_write(STDOUT_FILENO, text, len);
        }
        json_out_done(j);
        return r < 0 ? tokenctl_fail(r, NULL, "failed to write the output") : EXIT_OK;
}

/* Calls a method that may need polkit: interactive unless --no-ask-password, with an agent
 * while it runs. */
static int call_authorized(sd_bus *bus, const char *path, const char *interface, const char *member,
                           sd_bus_error *e, sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        pid_t agent = 0;
        uint64_t timeout;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, VFIO_TOKEN_BUS_NAME, path, interface, member);
        if (r < 0)
                return r;
        r = sd_bus_message_set_allow_interactive_authorization(m, arg_ask_password);
        if (r < 0)
                return r;
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }

        if (arg_ask_password)
                agent = polkit_agent_open(arg_address);
        timeout = arg_ask_password ? VFIO_TOKEN_INTERACTIVE_TIMEOUT_USEC : VFIO_TOKEN_CALL_TIMEOUT_USEC;
        r = sd_bus_call(bus, m, timeout, e, reply);
        agent = polkit_agent_close(agent);
        return r;
}

static int verb_rotate(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        const char *p;
        uint64_t generation;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                               VFIO_TOKEN_MANAGER_INTERFACE, "GetPhysicalFunction", &e, &reply, "s", argv[1]);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to look up %s", argv[1]);
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return tokenctl_fail(-EBADMSG, NULL, "failed to look up %s", argv[1]);
        path = strdup(p);
        if (!path)
                return tokenctl_fail(-ENOMEM, NULL, "failed to look up %s", argv[1]);
        reply = sd_bus_message_unref(reply);

        r = call_authorized(bus, path, VFIO_TOKEN_PF_INTERFACE, "Rotate", &e, &reply, "b", (int) arg_force);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to rotate the token of %s", argv[1]);
        r = sd_bus_message_read(reply, "t", &generation);
        if (r < 0)
                return tokenctl_fail(-EBADMSG, NULL, "failed to rotate the token of %s", argv[1]);

        if (arg_json) {
                JsonOut j = JSON_OUT_INIT;

                json_begin_object(&j);
                /* Keys as Rotate's out-argument (and acquire's: token, lease). */
                json_key_uint(&j, "generation", generation);
                json_end_object(&j);
                return tokenctl_json_print(&j);
        }
        printf("%" PRIu64 "\n", generation);
        return EXIT_OK;
}

static int verb_release(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, argv[1], VFIO_TOKEN_LEASE_INTERFACE, "Release", &e,
                               NULL, NULL);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to release %s", argv[1]);
        return EXIT_OK;
}

static void help(void) {
        printf("vfio-tokenctl [OPTIONS...] COMMAND ...\n"
               "\n"
               "Query vfio-tokend and get VF tokens of vfio-pci SR-IOV physical functions.\n"
               "\n"
               "Commands:\n"
               "  list                      List the managed physical functions\n"
               "  status [DEVICE]           Show all properties of all PFs, or of the PF of DEVICE\n"
               "  acquire DEVICE [--hold]   Print the token for DEVICE (a VF or PF address); with\n"
               "                            --hold keep the lease until SIGINT/SIGTERM\n"
               "  exec DEVICE -- CMD [ARG...]\n"
               "                            Run CMD with VFIO_VF_TOKEN set, holding the lease while\n"
               "                            it runs; exits with CMD's status\n"
               "  rotate DEVICE [--force]   Give the PF of DEVICE a new token and print its generation;\n"
               "                            --force rotates even while leases are held\n"
               "  leases                    List all leases\n"
               "  release LEASE_PATH        End a lease\n"
               "\n"
               "Options:\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n"
               "     --address=ADDRESS      Connect to this D-Bus address, not the system bus\n"
               "     --json                 Print JSON\n"
               "     --no-ask-password      Do not ask for authentication\n"
               "\n"
               "Exit status: 0 success, 1 failure, 2 usage error or invalid argument, 3 access denied,\n"
               "4 no such device or lease, 5 busy (leases held), 6 device gone or not supported,\n"
               "7 bus or daemon not reachable, 8 authorisation could not be checked (try again later),\n"
               "9 a limit on requests or leases reached.\n");
}

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* not counting the verb; -1: any */
        int (*run)(sd_bus *bus, int argc, char **argv);
} Verb;

static const Verb verbs[] = {
        { "list", 0, 0, verb_list },
        { "status", 0, 1, verb_status },
        { "acquire", 1, 1, verb_acquire },
        { "exec", 2, -1, verb_exec },
        { "rotate", 1, 1, verb_rotate },
        { "leases", 0, 0, verb_leases },
        { "release", 1, 1, verb_release },
};

/* Parses the options in argv[1..] (argv[0] is the program or verb name, skipped). With
 * in_order, stops at the first non-option, else GNU-style lets options and arguments mix.
 * Leaves optind at the first argument. Returns -1 to go on, else an exit code. */
static int parse_options(int argc, char **argv, bool in_order) {
        enum {
                ARG_VERSION = 0x100,
                ARG_ADDRESS,
                ARG_JSON,
                ARG_NO_ASK_PASSWORD,
                ARG_HOLD,
                ARG_FORCE,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "hold", no_argument, NULL, ARG_HOLD },
                { "force", no_argument, NULL, ARG_FORCE },
                {}
        };
        int c;

        /* Messages of our own: getopt's would name argv[0], which may be the verb. */
        opterr = 0;
        optind = 0; /* GNU: full reinitialisation, as this runs more than once */
        while ((c = getopt_long(argc, argv, in_order ? "+:h" : ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_VERSION:
                        printf("vfio-tokenctl %s\n", PACKAGE_VERSION);
                        return EXIT_OK;
                case ARG_ADDRESS:
                        if (!*optarg)
                                return tokenctl_usage_error("--address= needs a D-Bus address");
                        arg_address = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case ARG_HOLD:
                        arg_hold = true;
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        break;
                case ':':
                        return tokenctl_usage_error("option '%s' needs an argument (see --help)",
                                                    argv[optind - 1]);
                default:
                        if (optopt > 0 && optopt < 0x100)
                                return tokenctl_usage_error("invalid option -- '%c' (see --help)", optopt);
                        return tokenctl_usage_error("unrecognized option '%s' (see --help)",
                                                    argv[optind - 1]);
                }
        return -1;
}

/* Splits the command line into options and the verb's arguments, written to ret_args (verb
 * first, NULL-terminated; the strings are argv's). Options may come before the verb and among
 * its arguments, except for exec: everything after its DEVICE is the command (an optional "--"
 * in between is dropped), so the command's own options need no quoting. Returns -1 to go on,
 * else an exit code. */
static int parse_argv(int argc, char **argv, const Verb **ret_verb, char ***ret_args) {
        const Verb *verb = NULL;
        char **sub_argv, **args;
        int r, sub_argc, n = 0;

        r = parse_options(argc, argv, /* in_order= */ true);
        if (r >= 0)
                return r;
        if (optind >= argc)
                return tokenctl_usage_error("missing command (see --help)");

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind])) {
                        verb = verbs + i;
                        break;
                }
        if (!verb)
                return tokenctl_usage_error("unknown command '%s' (see --help)", argv[optind]);

        sub_argc = argc - optind;
        sub_argv = argv + optind;
        r = parse_options(sub_argc, sub_argv, /* in_order= */ streq(verb->name, "exec"));
        if (r >= 0)
                return r;

        args = calloc((size_t) (sub_argc - optind) + 2, sizeof(char *));
        if (!args)
                return tokenctl_fail(-ENOMEM, NULL, "failed to parse the command line");
        args[n++] = sub_argv[0];
        for (int i = optind; i < sub_argc; i++) {
                if (streq(verb->name, "exec") && n == 2 && i == optind + 1 && streq(sub_argv[i], "--"))
                        continue;
                args[n++] = sub_argv[i];
        }

        *ret_verb = verb;
        *ret_args = args;
        return -1;
}

static int connect_bus(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (!arg_address) {
                r = sd_bus_open_system(&bus);
                if (r < 0) {
                        fprintf(stderr, "vfio-tokenctl: cannot connect to the system bus: %s\n",
                                strerror(-r));
                        return EXIT_UNREACHABLE;
                }
        } else {
                r = sd_bus_new(&bus);
                if (r >= 0)
                        r = sd_bus_set_address(bus, arg_address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(bus, true);
                if (r >= 0)
                        r = sd_bus_start(bus);
                if (r < 0) {
                        fprintf(stderr, "vfio-tokenctl: cannot connect to the bus at %s: %s\n", arg_address,
                                strerror(-r));
                        return EXIT_UNREACHABLE;
                }
        }

        *ret = TAKE_PTR(bus);
        return EXIT_OK;
}

int main(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char **args = NULL;
        const Verb *verb = NULL;
        int r, n_args = 0;

        r = parse_argv(argc, argv, &verb, &args);
        if (r >= 0)
                return r;

        while (args[n_args + 1])
                n_args++;
        if (n_args < verb->min_args)
                return tokenctl_usage_error("too few arguments for '%s' (see --help)", verb->name);
        if (verb->max_args >= 0 && n_args > verb->max_args)
                return tokenctl_usage_error("too many arguments for '%s' (see --help)", verb->name);
        if (arg_hold && !streq(verb->name, "acquire"))
                return tokenctl_usage_error("--hold is only for 'acquire'");
        if (arg_force && !streq(verb->name, "rotate"))
                return tokenctl_usage_error("--force is only for 'rotate'");

        /* Arguments the daemon would not even be asked about. */
        if (streq(verb->name, "release") && !sd_bus_object_path_is_valid(args[1]))
                return tokenctl_usage_error("not a D-Bus object path: %s", args[1]);

        r = connect_bus(&bus);
        if (r != EXIT_OK)
                return r;

        return verb->run(bus, n_args + 1, args);
}
