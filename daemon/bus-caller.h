/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the bus-*.c files: who is calling (the identity the bus vouches for, from
 * bus-peer.c), the audit line of what they asked and got, and error replies sent after the
 * method returned. */

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct Caller {
        const char *sender; /* unique bus name ("" on a direct connection) */
        uid_t uid;
        pid_t pid;
} Caller;

/* One audit line for every grant, refusal and rotation, with structured fields. */
void bus_audit(int level, const char *event, const Caller *c, const char *pf, const char *device,
               uint64_t lease, const char *outcome);

int bus_reply_error(sd_bus_message *call, const char *name, const char *fmt, ...) _printf_(3, 4);
