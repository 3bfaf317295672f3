/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* How vfio-tokenctl reports a failure: one line on stderr, and the exit code (tokenctl.h) that
 * scripts tell failures apart by. The daemon's D-Bus error names decide the code, through the
 * errno libvfio-token maps them to, so that the CLI and the library never disagree. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "macro.h"
#include "tokenctl.h"
#include "vfio-token.h"

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The errors the daemon or the bus sent, by the errno vfio_token_error_to_errno() maps them to:
 * the exit code, and what to say when the error came without a message of its own (or, with
 * own_text, always: the bus's words for an absent daemon are about activation files). */
static const struct {
        int errnum;
        int code;
        const char *text;
        bool own_text;
} answer_map[] = {
        { EINVAL, EXIT_USAGE, "invalid argument" },
        { EACCES, EXIT_ACCESS_DENIED, "access denied" },
        { EPERM, EXIT_ACCESS_DENIED, "access denied" },
        { ENODEV, EXIT_NO_SUCH_DEVICE, "not a managed PF or one of its VFs" },
        { ENOENT, EXIT_NO_SUCH_DEVICE, "no such object" },
        { EBUSY, EXIT_BUSY, "busy" },
        { ENXIO, EXIT_DEVICE_GONE, "the device is gone" },
        { EOPNOTSUPP, EXIT_DEVICE_GONE, "not supported" },
        { EHOSTUNREACH, EXIT_UNREACHABLE, "vfio-tokend is not running", true },
        { ETIMEDOUT, EXIT_UNREACHABLE, "no reply" },
        /* Not a refusal: asking again later may well succeed. */
        { EAGAIN, EXIT_AUTH_UNAVAILABLE, "the authorisation could not be checked, try again later" },
        { EUSERS, EXIT_LIMITS_EXCEEDED, "a limit on requests or leases was reached" },
};

/* Prints the daemon's (or the bus's) answer e and returns its exit code. */
static int fail_answer(const sd_bus_error *e) {
        const char *message = e->message && *e->message ? e->message : NULL;
        int errnum = -vfio_token_error_to_errno(e);

        /* The bus could not start the daemon (activation): as good as not running. */
        if (startswith(e->name, "org.freedesktop.DBus.Error.Spawn.")) {
                fprintf(stderr, ": vfio-tokend could not be started: %s\n", message ?: e->name);
                return EXIT_UNREACHABLE;
        }

        for (size_t i = 0; i < ELEMENTSOF(answer_map); i++)
                if (answer_map[i].errnum == errnum) {
                        fprintf(stderr, ": %s\n",
                                answer_map[i].own_text ? answer_map[i].text : message ?: answer_map[i].text);
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
