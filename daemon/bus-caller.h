/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the bus-*.c files: who is calling a method, the audit line that names them, and
 * the request a method keeps while polkit decides. */

#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "pci-address.h"

typedef struct Manager Manager;

/* Who is calling, from the bus's own credentials of the sender (dbus-daemon's
 * GetConnectionCredentials), never from guesses in /proc. The unit is for the audit line only. */
typedef struct Caller {
        uid_t uid;
        pid_t pid;
        const char *unit;
        const char *sender;
        sd_bus_creds *creds;
} Caller;

void bus_caller_done(Caller *c);
int bus_caller_get(sd_bus_message *call, Caller *ret);

/* One audit line for every grant, refusal and rotation, with structured fields. */
void bus_audit(int level, const char *event, const Caller *c, const char *pf, const char *device,
               uint64_t lease, const char *outcome);

/* What a method waiting for polkit needs when the answer comes: the caller as identified when
 * the call arrived (no second credentials lookup), and the method's arguments. */
typedef struct AuthRequest {
        Manager *manager;
        Caller caller;
        char pf[PCI_ADDRESS_MAX];
        char device[PCI_ADDRESS_MAX]; /* AcquireToken */
        int force;                    /* Rotate */
} AuthRequest;

void bus_auth_request_free(void *p);
/* Takes over *c (its creds reference) on success. */
AuthRequest *bus_auth_request_new(Manager *m, Caller *c, const char *pf, const char *device);
