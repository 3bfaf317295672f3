/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the parts of vfio-tokenctl share: the parsed global options, the exit codes (a
 * documented interface: scripts test them) and the one-line error reporting. */

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-bus.h>

#include "io-util.h"
#include "macro.h"

enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,            /* bad command line, or the daemon said InvalidArgs */
        EXIT_ACCESS_DENIED = 3,    /* AccessDenied, InteractiveAuthorizationRequired */
        EXIT_NO_SUCH_DEVICE = 4,   /* NoSuchDevice, or no such lease object */
        EXIT_BUSY = 5,             /* Busy */
        EXIT_DEVICE_GONE = 6,      /* DeviceGone, NotSupported */
        EXIT_UNREACHABLE = 7,      /* no bus, daemon not running, connection lost, no reply */
        EXIT_AUTH_UNAVAILABLE = 8, /* AuthorizationUnavailable: polkit could not be asked */
        EXIT_LIMITS_EXCEEDED = 9,  /* LimitsExceeded: a quota of the caller's */
};

extern bool arg_json;
extern bool arg_ask_password;
extern bool arg_hold;
extern bool arg_force;
extern bool arg_legend; /* table headings and the "N listed." footer */
extern bool arg_quiet;
extern int arg_token_fd; /* -1: stdout (acquire) or the environment (exec) */
extern const char *arg_address;

/* Prints "vfio-tokenctl: <what>: <message>" on stderr, the message being the D-Bus error's if
 * e is set, else strerror(-r), and returns the exit code for the failure. */
int tokenctl_fail(int r, const sd_bus_error *e, const char *format, ...) _printf_(3, 4);
/* Prints "vfio-tokenctl: <message>" on stderr and returns code. */
int tokenctl_error(int code, const char *format, ...) _printf_(2, 3);
#define tokenctl_usage_error(...) tokenctl_error(EXIT_USAGE, __VA_ARGS__)

/* Writes a finished --json document to stdout and wipes it. Returns an exit code. */
struct JsonOut;
int tokenctl_json_print(struct JsonOut *j);

/* The object path of the PF that device (a PF or VF address) is or belongs to, as the daemon's
 * GetPhysicalFunction says. Returns an exit code; failures are reported. */
int tokenctl_get_pf_path(sd_bus *bus, const char *device, char **ret_path);

/* The object path of the lease numbered `number` (the last element of its path, as `leases`
 * shows it), found among the leases the PFs list: paths are the daemon's to make. Returns an
 * exit code; a lease not listed is EXIT_NO_SUCH_DEVICE, reported. */
int tokenctl_find_lease(sd_bus *bus, const char *number, char **ret_path);

/* Verbs; each returns an exit code. argv[0] is the verb. */
int verb_list(sd_bus *bus, int argc, char **argv);
int verb_status(sd_bus *bus, int argc, char **argv);
int verb_leases(sd_bus *bus, int argc, char **argv);
int verb_acquire(sd_bus *bus, int argc, char **argv);
int verb_exec(sd_bus *bus, int argc, char **argv);
int verb_rotate(sd_bus *bus, int argc, char **argv);
int verb_retry(sd_bus *bus, int argc, char **argv);
int verb_release(sd_bus *bus, int argc, char **argv);
/* Runs QEMU in place (tokenctl-qemu.c); bus is NULL: it connects only if it needs to. */
int verb_qemu(sd_bus *bus, int argc, char **argv);
/* Connects to the system bus or --address; on failure says so and returns EXIT_UNREACHABLE. */
int connect_bus(sd_bus **ret);
