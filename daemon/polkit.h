/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous polkit checks: CheckAuthorization with a `system-bus-name` subject (so polkit
 * identifies the caller from the bus itself), never blocking the event loop while polkit thinks.
 * Bounded: at most `max_per_user` checks of one uid and POLKIT_MAX_PENDING in all wait at once
 * (beyond that a check is refused at once), and at most POLKIT_MAX_IN_FLIGHT are sent to polkitd
 * at a time (the rest queue in arrival order), which keeps the daemon under dbus-daemon's limit
 * of pending replies per connection. Each check has a unique cancellation id; a check whose
 * caller left, or that polkit did not answer in time, is cancelled with
 * CancelCheckAuthorization. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct Polkit Polkit;

#define POLKIT_MAX_IN_FLIGHT 96
#define POLKIT_MAX_PENDING 1024

typedef enum PolkitVerdict {
        POLKIT_DENIED,
        POLKIT_ALLOWED,
        POLKIT_CHALLENGE, /* would be allowed after interactive authentication the caller did not allow */
} PolkitVerdict;

/* Called once per check with the verdict, or a -errno when polkit could not be asked or did not
 * answer (-ETIMEDOUT after VFIO_TOKEN_AUTH_TIMEOUT_USEC); `error` carries polkit's or the bus's
 * D-Bus error, if any. `call` is the method call being authorised. Not called if the caller left
 * the bus (polkit_forget_sender()) or the Polkit is freed: then only free_userdata runs. */
typedef void (*PolkitDone)(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata);

int polkit_new(sd_bus *bus, unsigned max_per_user, Polkit **ret);
Polkit *polkit_free(Polkit *p); /* cancels every check */
DEFINE_TRIVIAL_CLEANUP_FUNC(Polkit *, polkit_free);
void polkit_set_max_per_user(Polkit *p, unsigned max_per_user);

/* Starts a check of `action` for the sender of `call`, whose uid is `uid`, with `details` (a
 * NULL-terminated key, value, key, value, ... list). AllowUserInteraction is set only if the
 * caller set ALLOW_INTERACTIVE_AUTHORIZATION on its message. On success (0) the check owns
 * `userdata` and frees it with `free_userdata` when it ends, whichever way. -EUSERS if `uid` has
 * its quota of checks waiting, -ENOSPC if the daemon has, -EBADMSG without a sender. */
int polkit_check_async(Polkit *p, sd_bus_message *call, uid_t uid, const char *action,
                       const char *const *details, PolkitDone done, void *userdata,
                       void (*free_userdata)(void *));

/* The sender left the bus: its checks end without a reply (those sent are cancelled). */
void polkit_forget_sender(Polkit *p, const char *sender);

unsigned polkit_pending(const Polkit *p);
unsigned polkit_pending_uid(const Polkit *p, uid_t uid);
