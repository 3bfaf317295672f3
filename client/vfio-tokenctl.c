/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl: the command line client of vfio-tokend. This file parses the command line,
 * checks what can be checked before connecting (so that a usage error is exit 2 whether or not
 * the daemon runs), connects to the bus and runs the verb: the listing verbs are in
 * tokenctl-show.c, the token-receiving ones in tokenctl-acquire.c, rotate and release in
 * tokenctl-manage.c, and the reporting of failures in tokenctl-error.c. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "io-util.h"
#include "json-out.h"
#include "macro.h"
#include "pci-address.h"
#include "string-util.h"
#include "tokenctl.h"
#include "vfio-token.h"

bool arg_json = false;
bool arg_ask_password = true;
bool arg_hold = false;
bool arg_force = false;
bool arg_legend = true;
bool arg_quiet = false;
int arg_token_fd = -1;
const char *arg_address = NULL;

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

static void help(void) {
        printf("vfio-tokenctl [OPTIONS...] [COMMAND] ...\n"
               "\n"
               "Query vfio-tokend and get VF tokens of vfio-pci SR-IOV physical functions.\n"
               "\n"
               "Commands:\n"
               "  list                      List the managed physical functions (the default)\n"
               "  status [DEVICE]           Show all properties of all PFs, or of the PF of DEVICE\n"
               "  acquire DEVICE [--hold]   Print the token for DEVICE (a VF or PF address); with\n"
               "                            --hold keep the lease until SIGINT/SIGTERM\n"
               "  exec DEVICE [--] CMD [ARG...]\n"
               "                            Run CMD with VFIO_VF_TOKEN set, holding the lease while\n"
               "                            it runs; exits with CMD's status\n"
               "  rotate DEVICE [--force]   Give the PF of DEVICE a new token and print its generation;\n"
               "                            --force rotates even while leases are held\n"
               "  retry DEVICE              Try to bring the PF of DEVICE up now (it is locked or gone)\n"
               "                            and print its state\n"
               "  leases                    List all leases\n"
               "  release LEASE             End a lease, given by its number or object path\n"
               "  qemu QEMU [ARG...]        Run QEMU in place with the VF tokens of its vfio-pci devices,\n"
               "                            in no argv, each lease held for QEMU's life\n"
               "\n"
               "Options:\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n"
               "     --address=ADDRESS      Connect to this D-Bus address, not the system bus\n"
               "     --json                 Print JSON (keys in snake_case, see vfio-tokenctl(1))\n"
               "     --no-legend            Do not print the column headings and the footer\n"
               "     --no-pager             Accepted for systemd's tools' sake: there is no pager\n"
               "  -q --quiet                Print no informational output (rotate, retry: nothing)\n"
               "     --no-ask-password      Do not ask for authentication\n"
               "     --token-fd=FD          acquire: write the token to FD instead of stdout;\n"
               "                            exec: give it to CMD on FD instead of in the environment\n"
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
        bool device_arg; /* the first argument is a DEVICE */
} Verb;

static const Verb verbs[] = {
        { "list", 0, 0, verb_list },
        { "status", 0, 1, verb_status, true },
        { "acquire", 1, 1, verb_acquire, true },
        { "exec", 2, -1, verb_exec, true },
        { "rotate", 1, 1, verb_rotate, true },
        { "retry", 1, 1, verb_retry, true },
        { "leases", 0, 0, verb_leases },
        { "release", 1, 1, verb_release },
        { "qemu", 1, -1, verb_qemu },
};

/* What a bare `vfio-tokenctl [OPTIONS]` runs, as systemd's tools do. */
#define DEFAULT_VERB (verbs + 0)

static int parse_fd(const char *s, int *ret) {
        char *end;
        long v;

        if (!*s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || *end || v > INT_MAX)
                return -EINVAL;
        *ret = (int) v;
        return 0;
}

/* Parses the options in argv[1..] (argv[0] is the program or verb name, skipped). With
 * in_order, stops at the first non-option, else GNU-style lets options and arguments mix.
 * Leaves optind at the first argument. Returns -1 to go on, else an exit code. */
static int parse_options(int argc, char **argv, bool in_order) {
        enum {
                ARG_VERSION = 0x100,
                ARG_ADDRESS,
                ARG_JSON,
                ARG_NO_ASK_PASSWORD,
                ARG_NO_LEGEND,
                ARG_NO_PAGER,
                ARG_HOLD,
                ARG_FORCE,
                ARG_TOKEN_FD,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "json", no_argument, NULL, ARG_JSON },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "no-legend", no_argument, NULL, ARG_NO_LEGEND },
                { "no-pager", no_argument, NULL, ARG_NO_PAGER },
                { "quiet", no_argument, NULL, 'q' },
                { "hold", no_argument, NULL, ARG_HOLD },
                { "force", no_argument, NULL, ARG_FORCE },
                { "token-fd", required_argument, NULL, ARG_TOKEN_FD },
                {}
        };
        int c;

        /* Messages of our own: getopt's would name argv[0], which may be the verb. */
        opterr = 0;
        optind = 0; /* GNU: full reinitialisation, as this runs more than once */
        while ((c = getopt_long(argc, argv, in_order ? "+:hq" : ":hq", options, NULL)) >= 0)
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
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        break;
                case ARG_NO_PAGER:
                        /* Nothing to turn off: the output is never piped into a pager. */
                        break;
                case 'q':
                        arg_quiet = true;
                        break;
                case ARG_HOLD:
                        arg_hold = true;
                        break;
                case ARG_FORCE:
                        arg_force = true;
                        break;
                case ARG_TOKEN_FD:
                        if (parse_fd(optarg, &arg_token_fd) < 0)
                                return tokenctl_usage_error("--token-fd= needs a file descriptor number, not '%s'",
                                                            optarg);
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
 * in between is dropped), so the command's own options need no quoting. No verb is `list`.
 * Returns -1 to go on, else an exit code. */
static int parse_argv(int argc, char **argv, const Verb **ret_verb, char ***ret_args) {
        static char *default_argv[] = { (char *) "list", NULL };
        const Verb *verb = NULL;
        char **sub_argv, **args;
        int r, sub_argc, n = 0;

        r = parse_options(argc, argv, /* in_order= */ true);
        if (r >= 0)
                return r;

        if (optind >= argc) {
                verb = DEFAULT_VERB;
                sub_argc = 1;
                sub_argv = default_argv;
                optind = 1;
        } else {
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (streq(verbs[i].name, argv[optind])) {
                                verb = verbs + i;
                                break;
                        }
                if (!verb)
                        return tokenctl_usage_error("unknown command '%s' (see --help)", argv[optind]);

                sub_argc = argc - optind;
                sub_argv = argv + optind;
                r = parse_options(sub_argc, sub_argv, /* in_order= */ streq(verb->name, "exec") ||
                                                                   streq(verb->name, "qemu"));
                if (r >= 0)
                        return r;
        }

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

static bool is_lease_number(const char *s) {
        return *s && strspn(s, "0123456789") == strlen(s);
}

/* Everything about the command line that needs no daemon. Returns -1 to go on, else an exit
 * code. */
static int check_args(const Verb *verb, int n_args, char **args) {
        int flags;

        if (n_args < verb->min_args)
                return tokenctl_usage_error("too few arguments for '%s' (see --help)", verb->name);
        if (verb->max_args >= 0 && n_args > verb->max_args)
                return tokenctl_usage_error("too many arguments for '%s' (see --help)", verb->name);
        if (arg_hold && !streq(verb->name, "acquire"))
                return tokenctl_usage_error("--hold is only for 'acquire'");
        if (arg_force && !streq(verb->name, "rotate"))
                return tokenctl_usage_error("--force is only for 'rotate'");
        if (arg_token_fd >= 0 && !streq(verb->name, "acquire") && !streq(verb->name, "exec"))
                return tokenctl_usage_error("--token-fd is only for 'acquire' and 'exec'");

        if (verb->device_arg && n_args > 0 && !pci_address_is_valid(args[1]))
                return tokenctl_usage_error("invalid PCI address '%s' (expected DDDD:BB:DD.F)", args[1]);
        if (streq(verb->name, "release") && !is_lease_number(args[1]) && !sd_bus_object_path_is_valid(args[1]))
                return tokenctl_usage_error("not a lease number or D-Bus object path: %s", args[1]);

        /* acquire writes to the fd in this process; exec's is the command's, set up there. */
        if (arg_token_fd >= 0 && streq(verb->name, "acquire")) {
                flags = fcntl(arg_token_fd, F_GETFL);
                if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY)
                        return tokenctl_usage_error("--token-fd=%d: not a file descriptor open for writing",
                                                    arg_token_fd);
        }
        return -1;
}

int connect_bus(sd_bus **ret) {
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
        r = check_args(verb, n_args, args);
        if (r >= 0)
                return r;

        /* qemu connects only if QEMU gets a device that needs a token. */
        if (streq(verb->name, "qemu"))
                return verb->run(NULL, n_args + 1, args);

        r = connect_bus(&bus);
        if (r != EXIT_OK)
                return r;

        return verb->run(bus, n_args + 1, args);
}
