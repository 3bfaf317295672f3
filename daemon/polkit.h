/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous polkit checks: CheckAuthorization with a `system-bus-name` subject (so polkit
 * identifies the caller from the bus itself), never blocking the event loop while polkit thinks.
 * Many checks can be in flight at once. A caller that leaves the bus mid-check is forgotten
 * without a reply. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct Manager Manager;
typedef struct Polkit Polkit;

typedef enum PolkitVerdict {
        POLKIT_DENIED,
        POLKIT_ALLOWED,
        POLKIT_CHALLENGE, /* would be allowed after interactive authentication the caller did not allow */
} PolkitVerdict;

/* Called once per query with the verdict or a -errno (polkit unreachable, ...); `error` carries
 * polkit's D-Bus error, if any. `call` is the method call being authorised. Not called if the
 * caller left the bus or the manager stops. */
typedef void (*PolkitDone)(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata);

int polkit_new(Manager *m, Polkit **ret);
Polkit *polkit_free(Polkit *p); /* cancels every query in flight */
DEFINE_TRIVIAL_CLEANUP_FUNC(Polkit *, polkit_free);

/* Starts a check of `action` for the sender of `call`, with `details` (NULL-terminated key,
 * value, key, value, ... list). AllowUserInteraction is set only if the caller set
 * ALLOW_INTERACTIVE_AUTHORIZATION on its message. `userdata` is freed with `free_userdata` when
 * the query ends, whichever way. Returns 0 when the query is in flight. */
int polkit_check_async(Polkit *p, sd_bus_message *call, const char *action, const char *const *details,
                       PolkitDone done, void *userdata, void (*free_userdata)(void *));

unsigned polkit_in_flight(const Polkit *p);
