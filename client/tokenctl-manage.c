/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl's verbs that change the daemon's state without receiving a token: rotate (which
 * needs polkit, so it may run an authentication agent) and release. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "json-out.h"
#include "macro.h"
#include "polkit-agent.h"
#include "tokenctl.h"
#include "vfio-token.h"

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

/* Busy from Rotate means leases are held: whatever the daemon's words, the way out is named. */
static int fail_busy(const sd_bus_error *e, const char *device) {
        const char *message = e->message && *e->message ? e->message : "the PF has leases";

        if (strstr(message, "--force"))
                return tokenctl_fail(-EBUSY, e, "failed to rotate the token of %s", device);
        return tokenctl_error(EXIT_BUSY, "failed to rotate the token of %s: %s (--force rotates anyway)", device,
                              message);
}

int verb_rotate(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        const char *device = argv[1];
        uint64_t generation;
        int r;

        r = tokenctl_get_pf_path(bus, device, &path);
        if (r != EXIT_OK)
                return r;

        r = call_authorized(bus, path, VFIO_TOKEN_PF_INTERFACE, "Rotate", &e, &reply, "b", (int) arg_force);
        if (r < 0 && sd_bus_error_has_name(&e, VFIO_TOKEN_ERROR_BUSY))
                return fail_busy(&e, device);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to rotate the token of %s", device);
        r = sd_bus_message_read(reply, "t", &generation);
        if (r < 0)
                return tokenctl_fail(-EBADMSG, NULL, "failed to rotate the token of %s", device);

        if (arg_json) {
                JsonOut j = JSON_OUT_INIT;

                json_begin_object(&j);
                json_key_string(&j, "device", device);
                json_key_string(&j, "pf_path", path);
                json_key_uint(&j, "token_generation", generation);
                json_end_object(&j);
                return tokenctl_json_print(&j);
        }
        if (!arg_quiet)
                printf("%" PRIu64 "\n", generation);
        return EXIT_OK;
}

/* Asks for an immediate retry of a locked or gone PF (udev's setup unit does, once it has bound
 * a PF that appeared) and prints the PF's state afterwards. */
int verb_retry(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        const char *device = argv[1], *state;
        int r;

        r = tokenctl_get_pf_path(bus, device, &path);
        if (r != EXIT_OK)
                return r;

        r = call_authorized(bus, path, VFIO_TOKEN_PF_INTERFACE, "Retry", &e, &reply, NULL);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to retry %s", device);
        r = sd_bus_message_read(reply, "s", &state);
        if (r < 0)
                return tokenctl_fail(-EBADMSG, NULL, "failed to retry %s", device);
        if (arg_json) {
                JsonOut j = JSON_OUT_INIT;

                json_begin_object(&j);
                json_key_string(&j, "device", device);
                json_key_string(&j, "pf_path", path);
                json_key_string(&j, "state", state);
                json_end_object(&j);
                return tokenctl_json_print(&j);
        }
        if (!arg_quiet)
                printf("%s\n", state);
        return EXIT_OK;
}

int verb_release(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *found = NULL;
        const char *path = argv[1];
        int r;

        /* A lease number (as `leases` shows at the end of each path): the daemon's listing says
         * which object it is. */
        if (path[0] != '/') {
                r = tokenctl_find_lease(bus, argv[1], &found);
                if (r != EXIT_OK)
                        return r;
                path = found;
        }

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, path, VFIO_TOKEN_LEASE_INTERFACE, "Release", &e, NULL,
                               NULL);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to release %s", path);
        return EXIT_OK;
}
