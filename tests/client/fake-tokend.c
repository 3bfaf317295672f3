/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A stand-in for vfio-tokend on a private bus, for tests/client/test-cli-usage.sh: it owns
 * org.vfio.Tokend1 and serves fixed objects (two PFs, one lease) and fixed answers, so that the
 * test can pin vfio-tokenctl's output and map every D-Bus error the daemon may send to its exit
 * code, with no root, no devices and no polkit. Which answer a call gets is chosen by its
 * argument (see acquire_answers below). Usage: fake-tokend BUS-ADDRESS; prints "ready" once it
 * owns the name, and serves until the bus goes away. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "string-util.h"
#include "vfio-token-names.h"

#define TOKEN "5d2c4f0e-8a1b-4c3d-9e7f-0a1b2c3d4e5f"
#define LEASE_PATH VFIO_TOKEN_LEASE_PATH_PREFIX "/_31"

typedef struct FakePf {
        const char *address;
        const char *path; /* as sd_bus_path_encode() makes it */
        const char *driver;
        const char *state;
        const char *state_reason;
        const char *api;
        uint32_t num_vfs;
        uint32_t total_vfs;
        const char *const *virtual_functions;
        uint64_t token_generation;
        uint64_t token_set_timestamp;
        const char *const *leases;
} FakePf;

static FakePf pfs[] = {
        {
                .address = "0000:3b:00.0",
                .path = VFIO_TOKEN_PF_PATH_PREFIX "/0000_3a3b_3a00_2e0",
                .driver = "vfio-pci",
                .state = "ready",
                .state_reason = "",
                .api = "group",
                .num_vfs = 2,
                .total_vfs = 8,
                .virtual_functions = (const char *const[]) { "0000:3b:02.0", "0000:3b:02.1", NULL },
                .token_generation = 3,
                .token_set_timestamp = UINT64_C(1714564800000000), /* 2024-05-01 12:00:00 UTC */
                .leases = (const char *const[]) { LEASE_PATH, NULL },
        },
        {
                .address = "0000:af:00.0",
                .path = VFIO_TOKEN_PF_PATH_PREFIX "/0000_3aaf_3a00_2e0",
                .driver = "vfio-pci",
                .state = "locked",
                .state_reason = "VFs in use with a token not on record",
                .api = "cdev",
                .num_vfs = 0,
                .total_vfs = 16,
                .virtual_functions = (const char *const[]) { NULL },
                .token_generation = 0,
                .token_set_timestamp = 0,
                .leases = (const char *const[]) { NULL },
        },
};

typedef struct FakeLease {
        const char *pf_path;
        const char *device;
        const char *owner;
        uint32_t uid, pid;
        uint64_t acquired;
} FakeLease;

static FakeLease lease = {
        .pf_path = VFIO_TOKEN_PF_PATH_PREFIX "/0000_3a3b_3a00_2e0",
        .device = "0000:3b:02.0",
        .owner = ":1.42",
        .uid = 107,
        .pid = 4242,
        .acquired = UINT64_C(1714568400000000), /* 2024-05-01 13:00:00 UTC */
};

/* AcquireToken's answer by device: NULL name = a grant; NULL message = an error without one. */
static const struct {
        const char *device;
        const char *name;
        const char *message;
} acquire_answers[] = {
        { "0000:3b:02.0", NULL, NULL },
        { "0000:3b:02.1", SD_BUS_ERROR_ACCESS_DENIED, "Not authorized to get the token of 0000:3b:00.0." },
        { "0000:3b:02.2", VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE,
          "Cannot check the authorization now: polkit did not answer." },
        { "0000:3b:02.3", SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many leases for uid 0 (limit 1)." },
        { "0000:3b:02.4", SD_BUS_ERROR_FAILED, "Granting failed: Input/output error" },
        { "0000:3b:02.5", VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE, NULL },
        { "0000:3b:02.6", SD_BUS_ERROR_LIMITS_EXCEEDED, NULL },
        { "0000:3b:02.7", VFIO_TOKEN_ERROR_BUSY, "PF 0000:3b:00.0 is locked." },
        { "0000:1:00.1", SD_BUS_ERROR_INVALID_ARGS, "Invalid PCI address '0000:1:00.1'." },
};

static int reply_error(sd_bus_message *m, const char *name, const char *message) {
        const sd_bus_error e = SD_BUS_ERROR_MAKE_CONST(name, message);

        return sd_bus_reply_method_error(m, &e);
}

static int method_list(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(so)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(pfs); i++) {
                r = sd_bus_message_append(reply, "(so)", pfs[i].address, pfs[i].path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_pf(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *device;
        int r;

        r = sd_bus_message_read(m, "s", &device);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(pfs); i++) {
                if (streq(device, pfs[i].address))
                        return sd_bus_reply_method_return(m, "o", pfs[i].path);
                for (const char *const *vf = pfs[i].virtual_functions; *vf; vf++)
                        if (streq(device, *vf))
                                return sd_bus_reply_method_return(m, "o", pfs[i].path);
        }
        return sd_bus_reply_method_errorf(m, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "%s is not a managed PF or VF.",
                                          device);
}

static int method_acquire(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *device;
        int r;

        r = sd_bus_message_read(m, "s", &device);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(acquire_answers); i++)
                if (streq(device, acquire_answers[i].device))
                        return acquire_answers[i].name
                                       ? reply_error(m, acquire_answers[i].name, acquire_answers[i].message)
                                       : sd_bus_reply_method_return(m, "so", TOKEN, LEASE_PATH);
        return sd_bus_reply_method_errorf(m, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "%s is not a managed PF or VF.",
                                          device);
}

static int method_rotate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakePf *pf = userdata;
        int force, r;

        r = sd_bus_message_read(m, "b", &force);
        if (r < 0)
                return r;
        if (pf->leases[0] && !force)
                return reply_error(m, VFIO_TOKEN_ERROR_BUSY, "PF has leases; not rotating without force.");
        if (streq(pf->state, "locked"))
                return reply_error(m, VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE, NULL);
        return sd_bus_reply_method_return(m, "t", pf->token_generation + 1);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return sd_bus_reply_method_return(m, NULL);
}

/* VirtualFunctions (as) and Leases (ao). */
static int get_list(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        FakePf *pf = userdata;
        bool leases = streq(property, "Leases");
        int r;

        r = sd_bus_message_open_container(reply, 'a', leases ? "o" : "s");
        if (r < 0)
                return r;
        for (const char *const *i = leases ? pf->leases : pf->virtual_functions; *i; i++) {
                r = sd_bus_message_append_basic(reply, leases ? 'o' : 's', *i);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("ListPhysicalFunctions", "", "a(so)", method_list, 0),
        SD_BUS_METHOD("GetPhysicalFunction", "s", "o", method_get_pf, 0),
        SD_BUS_METHOD("AcquireToken", "sa{sv}", "so", method_acquire, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

/* In an order of its own, with a property vfio-tokenctl does not know. */
static const sd_bus_vtable pf_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("StateReason", "s", NULL, offsetof(FakePf, state_reason), 0),
        SD_BUS_PROPERTY("Address", "s", NULL, offsetof(FakePf, address), 0),
        SD_BUS_PROPERTY("Driver", "s", NULL, offsetof(FakePf, driver), 0),
        SD_BUS_PROPERTY("NumVFs", "u", NULL, offsetof(FakePf, num_vfs), 0),
        SD_BUS_PROPERTY("TotalVFs", "u", NULL, offsetof(FakePf, total_vfs), 0),
        SD_BUS_PROPERTY("VirtualFunctions", "as", get_list, 0, 0),
        SD_BUS_PROPERTY("TokenGeneration", "t", NULL, offsetof(FakePf, token_generation), 0),
        SD_BUS_PROPERTY("TokenSetTimestamp", "t", NULL, offsetof(FakePf, token_set_timestamp), 0),
        SD_BUS_PROPERTY("Leases", "ao", get_list, 0, 0),
        SD_BUS_PROPERTY("Api", "s", NULL, offsetof(FakePf, api), 0),
        SD_BUS_PROPERTY("State", "s", NULL, offsetof(FakePf, state), 0),
        SD_BUS_METHOD("Rotate", "b", "t", method_rotate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static const sd_bus_vtable lease_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PhysicalFunction", "o", NULL, offsetof(FakeLease, pf_path), 0),
        SD_BUS_PROPERTY("Device", "s", NULL, offsetof(FakeLease, device), 0),
        SD_BUS_PROPERTY("Owner", "s", NULL, offsetof(FakeLease, owner), 0),
        SD_BUS_PROPERTY("UID", "u", NULL, offsetof(FakeLease, uid), 0),
        SD_BUS_PROPERTY("PID", "u", NULL, offsetof(FakeLease, pid), 0),
        SD_BUS_PROPERTY("Acquired", "t", NULL, offsetof(FakeLease, acquired), 0),
        SD_BUS_METHOD("Release", "", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

static int run(const char *address) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, address);
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, true);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0)
                return r;

        r = sd_bus_add_object_vtable(bus, NULL, VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE,
                                     manager_vtable, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(pfs); i++) {
                r = sd_bus_add_object_vtable(bus, NULL, pfs[i].path, VFIO_TOKEN_PF_INTERFACE, pf_vtable,
                                             pfs + i);
                if (r < 0)
                        return r;
        }
        r = sd_bus_add_object_vtable(bus, NULL, LEASE_PATH, VFIO_TOKEN_LEASE_INTERFACE, lease_vtable,
                                     &lease);
        if (r < 0)
                return r;
        r = sd_bus_request_name(bus, VFIO_TOKEN_BUS_NAME, 0);
        if (r < 0)
                return r;

        r = sd_event_default(&event);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        /* The bus going away ends the loop, and us. */
        r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0)
                return r;

        printf("ready\n");
        fflush(stdout);

        r = sd_event_loop(event);
        return r < 0 ? r : 0;
}

int main(int argc, char **argv) {
        int r;

        if (argc != 2) {
                fprintf(stderr, "usage: fake-tokend BUS-ADDRESS\n");
                return EXIT_FAILURE;
        }
        r = run(argv[1]);
        if (r < 0) {
                fprintf(stderr, "fake-tokend: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
