/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the bus-*.c files: the state of the bus face, the vtables each object file
 * defines, and the request a method keeps while the caller is identified and authorised. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "bus-manager.h"
#include "pci-address.h"

typedef struct Pf Pf;
typedef struct PeerSet PeerSet;
typedef struct Polkit Polkit;

struct BusFace {
        Manager *manager;
        sd_bus *bus;
        PeerSet *peers;
        Polkit *polkit;
        sd_bus_slot *disconnected;
        sd_bus_slot *slots[6];
};

/* The BusFace of the object vtable being dispatched. */
BusFace *bus_face_of(sd_bus_message *call);

extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_pf_vtable[];
extern const sd_bus_vtable bus_lease_vtable[];

int bus_pf_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error);
int bus_pf_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error);
int bus_lease_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);
int bus_lease_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error);

/* Who is calling, from the bus's credentials of the sender's connection (bus-peer.c). */
typedef struct Caller {
        const char *sender;
        uid_t uid;
        pid_t pid;
} Caller;

/* One audit line for every grant, refusal and rotation, with structured fields. */
void bus_audit(int level, const char *event, const Caller *c, const char *pf, const char *device,
               uint64_t lease, const char *outcome);

/* Replies with a named error; for replies sent after the method returned. */
int bus_reply_error(sd_bus_message *call, const char *name, const char *fmt, ...) _printf_(3, 4);

typedef enum RequestKind {
        REQUEST_ACQUIRE,
        REQUEST_ROTATE,
} RequestKind;

/* A method call on its way through identification, quotas and polkit. */
typedef struct Request {
        BusFace *face;
        RequestKind kind;
        sd_bus_message *call;
        Caller caller;
        char pf[PCI_ADDRESS_MAX];
        char device[PCI_ADDRESS_MAX]; /* AcquireToken */
        bool force;                   /* Rotate */
} Request;

/* Starts the request's journey: identifies the caller (asynchronously unless known), then
 * lets root through and asks polkit for anyone else, within the quotas. Replies on every path.
 * Returns what a method handler returns. */
int bus_request_start(BusFace *f, sd_bus_message *call, RequestKind kind, const char *pf, const char *device,
                      bool force, sd_bus_error *error);

/* AcquireToken on the Manager (scope NULL) or on one PF. */
int bus_method_acquire(sd_bus_message *call, BusFace *f, Pf *scope, sd_bus_error *error);
