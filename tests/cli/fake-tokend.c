/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A stand-in for vfio-tokend on a private bus, for tests/cli/test-tokenctl-*.sh: it owns
 * org.vfio.Tokend1 and serves fixed objects (two PFs, two leases) and fixed answers, so that the
 * test can pin vfio-tokenctl's output and map every D-Bus error the daemon may send to its exit
 * code, with no root, no devices and no polkit. Which answer a call gets is chosen by its
 * argument (see acquire_answers below) or object (the PFs' and leases' answer fields). Object
 * paths are made as the daemon makes them (sd_bus_path_encode() for PFs, the plain number for
 * leases). Usage: fake-tokend BUS-ADDRESS; prints "ready" once it owns the name, and serves
 * until the bus goes away. */

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
#define LEASE1_PATH VFIO_TOKEN_LEASE_PATH_PREFIX "/1"
#define LEASE2_PATH VFIO_TOKEN_LEASE_PATH_PREFIX "/2"

typedef struct FakePf {
        const char *address;
        char *path; /* made by sd_bus_path_encode() at start */
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
        const char *busy_message;        /* Rotate(false): Busy with these words */
        const char *forced_error;        /* Rotate(true): this error, without a message */
} FakePf;

static FakePf pfs[] = {
        {
                .address = "0000:3b:00.0",
                .driver = "vfio-pci",
                .state = "ready",
                .state_reason = "",
                .api = "group",
                .num_vfs = 2,
                .total_vfs = 8,
                .virtual_functions = (const char *const[]) { "0000:3b:02.0", "0000:3b:02.1", NULL },
                .token_generation = 3,
                .token_set_timestamp = UINT64_C(1714564800000000), /* 2024-05-01 12:00:00 UTC */
                .leases = (const char *const[]) { LEASE1_PATH, LEASE2_PATH, NULL },
                /* The daemon's words. */
                .busy_message = "PF 0000:3b:00.0 has 2 lease(s); rotate with force (vfio-tokenctl rotate "
                                "--force) to do it anyway.",
        },
        {
                .address = "0000:af:00.0",
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
                /* Words that do not name the option, as an older daemon's did. */
                .busy_message = "PF has leases; not rotating without force.",
                .forced_error = VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE,
        },
};

typedef struct FakeLease {
        const char *path;
        const char *pf_path; /* set at start, from its PF */
        const char *device;
        const char *owner;
        uint32_t uid, pid;
        uint64_t acquired;
        const char *release_error; /* Release(): this error, or NULL to end it */
} FakeLease;

/* Both on pfs[0]: one of root's (a user every system has), one of a uid no system has. */
static FakeLease fake_leases[] = {
        {
                .path = LEASE1_PATH,
                .device = "0000:3b:02.0",
                .owner = ":1.42",
                .uid = 0,
                .pid = 4242,
                .acquired = UINT64_C(1714568400000000), /* 2024-05-01 13:00:00 UTC */
        },
        {
                .path = LEASE2_PATH,
                .device = "0000:3b:02.1",
                .owner = ":1.1337",
                .uid = 3999999,
                .pid = 77,
                .acquired = UINT64_C(1714572000000000), /* 2024-05-01 14:00:00 UTC */
                .release_error = SD_BUS_ERROR_ACCESS_DENIED,
        },
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
        /* Well-formed, so that vfio-tokenctl asks: as if an option were unknown. */
        { "0000:3b:03.0", SD_BUS_ERROR_INVALID_ARGS, "Unknown option 'frobnicate'." },
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
                                       : sd_bus_reply_method_return(m, "so", TOKEN, LEASE1_PATH);
        return sd_bus_reply_method_errorf(m, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "%s is not a managed PF or VF.",
                                          device);
}

static int method_rotate(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakePf *pf = userdata;
        int force, r;

        r = sd_bus_message_read(m, "b", &force);
        if (r < 0)
                return r;
        if (!force)
                return reply_error(m, VFIO_TOKEN_ERROR_BUSY, pf->busy_message);
        if (pf->forced_error)
                return reply_error(m, pf->forced_error, NULL);
        return sd_bus_reply_method_return(m, "t", pf->token_generation + 1);
}

/* Retry(): the PF's state, as after an attempt that changed nothing. */
static int method_retry(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakePf *pf = userdata;

        return sd_bus_reply_method_return(m, "s", pf->state);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeLease *l = userdata;

        if (l->release_error)
                return reply_error(m, l->release_error, "Only the lease's owner or root may release it.");
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
        SD_BUS_METHOD("Retry", "", "s", method_retry, SD_BUS_VTABLE_UNPRIVILEGED),
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
                r = sd_bus_path_encode(VFIO_TOKEN_PF_PATH_PREFIX, pfs[i].address, &pfs[i].path);
                if (r < 0)
                        return r;
                r = sd_bus_add_object_vtable(bus, NULL, pfs[i].path, VFIO_TOKEN_PF_INTERFACE, pf_vtable,
                                             pfs + i);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ELEMENTSOF(fake_leases); i++) {
                fake_leases[i].pf_path = pfs[0].path;
                r = sd_bus_add_object_vtable(bus, NULL, fake_leases[i].path, VFIO_TOKEN_LEASE_INTERFACE,
                                             lease_vtable, fake_leases + i);
                if (r < 0)
                        return r;
        }
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
