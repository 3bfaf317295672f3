/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the daemon's bus face (daemon/bus-*.c) through D-Bus itself: a Manager on the kernel
 * model serves one end of a direct connection (tests/common/test-bus-util.h) and the tests call
 * it from the other end, as a client would, with the caller's unique name written into each
 * call as a bus daemon writes it. The methods of the Manager, PhysicalFunction and Lease
 * objects, their properties, the order of the checks (arguments, device, authorisation), the
 * quotas, rotation, and the signals (TokenRotated never carries the token; InterfacesAdded and
 * InterfacesRemoved for leases).
 *
 * The daemon knows its callers by the socket's peer credentials. Tests of what root may do
 * without polkit skip (not fail) when not run as root. Tests of what anyone else may do go
 * through polkit, here a fake authority on the caller's end of the connection (a direct
 * connection delivers the daemon's CheckAuthorization there): run as root, they make the
 * connection as uid NOBODY, so that they cover that path in CI as well. */

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-manager.h"
#include "fixture.h"
#include "kmodel.h"
#include "lease.h"
#include "macro.h"
#include "manager.h"
#include "string-util.h"
#include "strv.h"
#include "test-bus-util.h"
#include "test-util.h"
#include "token.h"
#include "vfio-token-names.h"

#define PF "0000:01:00.0"
#define VF1 "0000:01:00.1"
#define VF2 "0000:01:00.2"
#define VF3 "0000:01:00.3" /* the PF could have it (4 VFs in all), but only 2 are enabled */
#define STRANGER "0000:02:00.0"
#define PF_GROUP 1
#define CONF "[PhysicalFunction]\nAddress=" PF "\n"
#define CONF_MAX3 "[Daemon]\nMaxLeasesPerUser=3\n" CONF

/* Callers: unique names, as the bus daemon writes them into each message. */
#define ME ":1.1"
#define OTHER ":1.2"
#define NOBODY 65534

/* An object and its interface, as the arguments of call() and test_bus_new_call() take them. */
#define MANAGER VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE
#define PF_OBJECT t.pf_path, VFIO_TOKEN_PF_INTERFACE

#define LEASE_PREFIX VFIO_TOKEN_LEASE_PATH_PREFIX "/"
#define LEASE_PATH_MAX 128
#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER_INTERFACE "org.freedesktop.DBus.ObjectManager"

#define ROOT_ONLY()                                                                       \
        do {                                                                              \
                if (geteuid() != 0) {                                                     \
                        fprintf(stderr, "SKIP: %s: the caller must be root.\n", __func__); \
                        return;                                                           \
                }                                                                         \
        } while (0)

static TestEnv env;

static struct {
        Manager *m;
        sd_bus *server, *client;
        BusFace *face;
        FakePolkit *polkit;
        char *pf_path;
        uid_t uid; /* the caller, as the daemon sees it */
} t;

/* A signal as the client saw it: the last one and how many came. */
typedef struct Seen {
        sd_bus_message *last;
        unsigned n;
} Seen;

static void setup(void) {
        ck_assert_int_eq(test_env_setup(&env, "test-bus", PF, PF_GROUP), 0);
}

static void teardown(void) {
        /* Deliver what is under way first: closing flushes, and must not wait for a reader. */
        if (t.m)
                (void) test_bus_settle(t.m->event);
        t.polkit = fake_polkit_free(t.polkit);
        t.face = bus_face_free(t.face); /* closes the server end */
        t.server = sd_bus_unref(t.server);
        t.client = sd_bus_close_unref(t.client);
        t.m = manager_free(t.m);
        t.pf_path = mfree(t.pf_path);
        test_env_done(&env);
}

/* The daemon for `conf`, serving a connection from a caller who is root, if we are, or not
 * (`as_user`): then from NOBODY if we are root, else from us. The fake polkit authority
 * answers `answer`. */
static void up(const char *conf, bool as_user, FakePolkitAnswer answer) {
        uid_t peer = (uid_t) -1;

        ck_assert_int_eq(test_env_manager_new(&env, conf, &t.m), 0);
        ck_assert_int_eq(manager_start(t.m), 0);
        if (as_user && geteuid() == 0)
                peer = NOBODY;
        t.uid = peer != (uid_t) -1 ? peer : geteuid();
        ck_assert_int_eq(test_bus_pair_new(t.m->event, peer, &t.server, &t.client), 0);
        ck_assert_int_eq(bus_face_new_on(t.m, t.server, &t.face), 0);
        ck_assert_int_eq(fake_polkit_new(t.client, answer, &t.polkit), 0);
        ck_assert_int_ge(sd_bus_path_encode(VFIO_TOKEN_PF_PATH_PREFIX, PF, &t.pf_path), 0);
}

/* ---- Calls -------------------------------------------------------------------------------- */

/* The reply to `member` called by `sender` with the arguments `types`, .... */
static sd_bus_message *call(const char *sender, const char *path, const char *interface, const char *member,
                            const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_message *reply = NULL;
        va_list ap;
        int r = 0;

        ck_assert_int_eq(test_bus_new_call(t.client, sender, path, interface, member, &m), 0);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        ck_assert_int_ge(r, 0);
        ck_assert_int_eq(test_bus_call(t.m->event, m, &reply), 0);
        return reply;
}

static void assert_ok(sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        ck_assert_msg(!e, "unexpected error %s: %s", e ? e->name : "", e ? e->message : "");
}

static void assert_error(sd_bus_message *reply, const char *name) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        ck_assert_msg(e, "expected %s, got a method return", name);
        ck_assert_msg(streq(e->name, name), "expected %s, got %s: %s", name, e->name, e->message);
}

/* Calls and expects the error `name`. */
#define CALL_ERROR(name, ...)                                                             \
        do {                                                                              \
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *_r_ = call(__VA_ARGS__); \
                assert_error(_r_, name);                                                  \
        } while (0)

/* Calls and expects a method return. */
#define CALL_OK(...)                                                                      \
        do {                                                                              \
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *_r_ = call(__VA_ARGS__); \
                assert_ok(_r_);                                                           \
        } while (0)

/* AcquireToken of the Manager for `device`, which must succeed: the lease's path in `ret_lease`
 * (LEASE_PATH_MAX bytes, or NULL) and the token in `ret_token` (TOKEN_STRING_MAX bytes, or NULL). */
static void acquire(const char *sender, const char *device, char *ret_lease, char *ret_token) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply =
                call(sender, MANAGER, "AcquireToken", "sa{sv}", device, 0);
        const char *token, *lease;

        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_read(reply, "so", &token, &lease), 0);
        if (ret_lease)
                snprintf(ret_lease, LEASE_PATH_MAX, "%s", lease);
        if (ret_token)
                snprintf(ret_token, TOKEN_STRING_MAX, "%s", token);
}

/* Property `name` of `interface` at `path`, read with Properties.Get and entered. */
static sd_bus_message *get(const char *path, const char *interface, const char *name) {
        sd_bus_message *reply = call(ME, path, PROPERTIES_INTERFACE, "Get", "ss", interface, name);

        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'v', NULL), 0);
        return reply;
}

/* A property of type `type` ("s" or "o"), copied. */
static char *get_string(const char *path, const char *interface, const char *name, const char *type) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = get(path, interface, name);
        const char *s;
        char *copy;

        ck_assert_int_ge(sd_bus_message_read(reply, type, &s), 0);
        copy = strdup(s);
        ck_assert_ptr_nonnull(copy);
        return copy;
}

static uint64_t get_number(const char *path, const char *interface, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = get(path, interface, name);
        char type;
        uint32_t u;
        uint64_t v;

        ck_assert_int_ge(sd_bus_message_peek_type(reply, &type, NULL), 0);
        if (type == 'u') {
                ck_assert_int_ge(sd_bus_message_read(reply, "u", &u), 0);
                return u;
        }
        ck_assert_int_ge(sd_bus_message_read(reply, "t", &v), 0);
        return v;
}

/* An "as" or "ao" property. */
static char **get_strv(const char *path, const char *interface, const char *name) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = get(path, interface, name);
        char **l = NULL;

        ck_assert_int_ge(sd_bus_message_read_strv(reply, &l), 0);
        return l;
}

#define ASSERT_STRING(path, interface, name, type, expect)                          \
        do {                                                                        \
                _cleanup_free_ char *_v_ = get_string(path, interface, name, type); \
                ck_assert_str_eq(_v_, expect);                                      \
        } while (0)

#define PF_STRING(name, expect) ASSERT_STRING(t.pf_path, VFIO_TOKEN_PF_INTERFACE, name, "s", expect)

/* The PF's Leases, which must be `n` paths, `...`, in this order. */
static void assert_pf_leases(size_t n, ...) {
        _cleanup_strv_free_ char **l = get_strv(PF_OBJECT, "Leases");
        va_list ap;

        ck_assert_uint_eq(strv_length(l), n);
        va_start(ap, n);
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(l[i], va_arg(ap, const char *));
        va_end(ap);
}

static void settle(void) {
        ck_assert_int_eq(test_bus_settle(t.m->event), 0);
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Seen *s = userdata;

        sd_bus_message_unref(s->last);
        s->last = sd_bus_message_ref(m);
        s->n++;
        return 0;
}

/* Collects the signal `member` of `interface` from the Manager's path into `s`. */
static void watch(Seen *s, sd_bus_slot **ret_slot, const char *interface, const char *member) {
        const char *path = VFIO_TOKEN_MANAGER_PATH;
        int r;

        r = sd_bus_match_signal(t.client, ret_slot, NULL, path, interface, member, on_signal, s);
        ck_assert_int_ge(r, 0);
}

static void seen_done(Seen *s) {
        s->last = sd_bus_message_unref(s->last);
}

/* The kernel's (the model's) current token for the PF, as text. */
static void kernel_token(char ret[static TOKEN_STRING_MAX]) {
        _cleanup_token_string_ TokenString s = {};
        _cleanup_token_ Token k = {};

        ck_assert_int_eq(kmodel_peek_token(fixture_dev(env.fixture), PF, &k), 0);
        token_to_string(&k, &s);
        memcpy(ret, s.s, TOKEN_STRING_MAX);
}

static bool is_canonical_uuid(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
                        return false;
        }
        return true;
}

/* ---- Manager: PFs ------------------------------------------------------------------------- */

START_TEST(test_list_pfs) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *address, *path;

        up(CONF, true, FAKE_POLKIT_DENY);
        reply = call(ME, MANAGER, "ListPhysicalFunctions", NULL);
        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "(so)"), 0);
        ck_assert_int_gt(sd_bus_message_read(reply, "(so)", &address, &path), 0);
        ck_assert_str_eq(address, PF);
        ck_assert_str_eq(path, t.pf_path);
        ck_assert_int_eq(sd_bus_message_read(reply, "(so)", &address, &path), 0);
        ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);

        ASSERT_STRING(VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE, "Version", "s", t.m->version);
        ck_assert_uint_eq(t.polkit->n_checks, 0);
}
END_TEST

START_TEST(test_get_pf) {
        static const char *const ours[] = { PF, VF1, VF2 };
        static const char *const malformed[] = {
                "", "nonsense", "0000:01:00", "0000:01:00.8", "0000:01:20.0", "0000:01:00.1 vf_token=x",
                "0000:001:00.1", "0000:01:00.1\n",
        };
        char longest[300];

        up(CONF, true, FAKE_POLKIT_DENY);
        for (size_t i = 0; i < ELEMENTSOF(ours); i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply =
                        call(ME, MANAGER, "GetPhysicalFunction", "s", ours[i]);
                const char *path;

                assert_ok(reply);
                ck_assert_int_ge(sd_bus_message_read(reply, "o", &path), 0);
                ck_assert_str_eq(path, t.pf_path);
        }
        for (size_t i = 0; i < ELEMENTSOF(malformed); i++)
                CALL_ERROR(SD_BUS_ERROR_INVALID_ARGS, ME, MANAGER, "GetPhysicalFunction", "s", malformed[i]);
        memset(longest, '0', sizeof longest - 1);
        longest[sizeof longest - 1] = '\0';
        CALL_ERROR(SD_BUS_ERROR_INVALID_ARGS, ME, MANAGER, "GetPhysicalFunction", "s", longest);

        CALL_ERROR(VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ME, MANAGER, "GetPhysicalFunction", "s", STRANGER);
        CALL_ERROR(VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ME, MANAGER, "GetPhysicalFunction", "s", VF3);
        ck_assert_uint_eq(t.polkit->n_checks, 0);
}
END_TEST

/* ---- PhysicalFunction properties ---------------------------------------------------------- */

START_TEST(test_pf_properties) {
        static const char *const names[] = {
                "Address", "Driver", "NumVFs", "TotalVFs", "VirtualFunctions", "TokenGeneration",
                "TokenSetTimestamp", "Leases", "Api", "State", "StateReason",
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *all = NULL;
        _cleanup_strv_free_ char **vfs = NULL, **leases = NULL;
        bool seen[ELEMENTSOF(names)] = {};
        const char *name;
        int r;

        up(CONF, true, FAKE_POLKIT_DENY);
        PF_STRING("State", "ready");
        PF_STRING("StateReason", "");
        PF_STRING("Api", "group");
        PF_STRING("Address", PF);
        PF_STRING("Driver", "vfio-pci");
        ck_assert_uint_eq(get_number(PF_OBJECT, "NumVFs"), 2);
        ck_assert_uint_eq(get_number(PF_OBJECT, "TotalVFs"), 4);
        ck_assert_uint_eq(get_number(PF_OBJECT, "TokenGeneration"), 1);
        ck_assert_uint_gt(get_number(PF_OBJECT, "TokenSetTimestamp"), 0);
        vfs = get_strv(PF_OBJECT, "VirtualFunctions");
        ck_assert_uint_eq(strv_length(vfs), 2);
        ck_assert_str_eq(vfs[0], VF1);
        ck_assert_str_eq(vfs[1], VF2);
        leases = get_strv(PF_OBJECT, "Leases");
        ck_assert_uint_eq(strv_length(leases), 0);

        /* GetAll: every property, once, with the same values. */
        all = call(ME, t.pf_path, PROPERTIES_INTERFACE, "GetAll", "s", VFIO_TOKEN_PF_INTERFACE);
        assert_ok(all);
        ck_assert_int_ge(sd_bus_message_enter_container(all, 'a', "{sv}"), 0);
        while ((r = sd_bus_message_enter_container(all, 'e', "sv")) > 0) {
                size_t i;

                ck_assert_int_ge(sd_bus_message_read(all, "s", &name), 0);
                for (i = 0; i < ELEMENTSOF(names) && !streq(names[i], name); i++)
                        ;
                ck_assert_msg(i < ELEMENTSOF(names), "unexpected property %s", name);
                ck_assert_msg(!seen[i], "property %s twice", name);
                seen[i] = true;
                if (streq(name, "State")) {
                        const char *v;

                        ck_assert_int_ge(sd_bus_message_read(all, "v", "s", &v), 0);
                        ck_assert_str_eq(v, "ready");
                } else if (streq(name, "NumVFs")) {
                        uint32_t v;

                        ck_assert_int_ge(sd_bus_message_read(all, "v", "u", &v), 0);
                        ck_assert_uint_eq(v, 2);
                } else
                        ck_assert_int_ge(sd_bus_message_skip(all, "v"), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(all), 0);
        }
        ck_assert_int_ge(r, 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                ck_assert_msg(seen[i], "property %s missing", names[i]);
}
END_TEST

/* ---- AcquireToken and leases as root ------------------------------------------------------ */

START_TEST(test_acquire_root) {
        char lease[LEASE_PATH_MAX], lease2[LEASE_PATH_MAX], lease3[LEASE_PATH_MAX];
        char token[TOKEN_STRING_MAX], kernel[TOKEN_STRING_MAX];
        _cleanup_free_ char *pf_of_lease = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *token2, *path2;

        ROOT_ONLY();
        up(CONF, false, FAKE_POLKIT_DENY);
        acquire(ME, VF1, lease, token);

        ck_assert_msg(is_canonical_uuid(token), "not a canonical UUID: %s", token);
        kernel_token(kernel);
        ck_assert_str_eq(token, kernel);
        ck_assert_uint_gt(strlen(lease), STRLEN(LEASE_PREFIX));
        ck_assert(strncmp(lease, LEASE_PREFIX, STRLEN(LEASE_PREFIX)) == 0);

        ASSERT_STRING(lease, VFIO_TOKEN_LEASE_INTERFACE, "Owner", "s", ME);
        ASSERT_STRING(lease, VFIO_TOKEN_LEASE_INTERFACE, "Device", "s", VF1);
        ASSERT_STRING(lease, VFIO_TOKEN_LEASE_INTERFACE, "PhysicalFunction", "o", t.pf_path);
        ck_assert_uint_eq(get_number(lease, VFIO_TOKEN_LEASE_INTERFACE, "UID"), 0);
        ck_assert_uint_eq(get_number(lease, VFIO_TOKEN_LEASE_INTERFACE, "PID"), (uint64_t) getpid());
        ck_assert_uint_gt(get_number(lease, VFIO_TOKEN_LEASE_INTERFACE, "Acquired"), 0);
        assert_pf_leases(1, lease);

        /* On the PF itself, for a VF of it and for the PF; and the same token. */
        reply = call(OTHER, PF_OBJECT, "AcquireToken", "sa{sv}", VF2, 0);
        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_read(reply, "so", &token2, &path2), 0);
        ck_assert_str_eq(token2, token);
        snprintf(lease2, sizeof lease2, "%s", path2);
        ck_assert_str_ne(lease2, lease);
        pf_of_lease = get_string(lease2, VFIO_TOKEN_LEASE_INTERFACE, "PhysicalFunction", "o");
        ck_assert_str_eq(pf_of_lease, t.pf_path);
        ASSERT_STRING(lease2, VFIO_TOKEN_LEASE_INTERFACE, "Owner", "s", OTHER);
        acquire(ME, PF, lease3, NULL);
        ASSERT_STRING(lease3, VFIO_TOKEN_LEASE_INTERFACE, "Device", "s", PF);
        assert_pf_leases(3, lease, lease2, lease3);
        CALL_ERROR(VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ME, PF_OBJECT, "AcquireToken", "sa{sv}", STRANGER, 0);

        ck_assert_uint_eq(lease_registry_count(t.m->leases), 3);
        ck_assert_uint_eq(t.polkit->n_checks, 0); /* root is not asked about */
}
END_TEST

START_TEST(test_release_root) {
        char mine[LEASE_PATH_MAX], theirs[LEASE_PATH_MAX];

        ROOT_ONLY();
        up(CONF, false, FAKE_POLKIT_DENY);
        acquire(ME, VF1, mine, NULL);
        acquire(OTHER, VF2, theirs, NULL);
        assert_pf_leases(2, mine, theirs);

        CALL_OK(ME, mine, VFIO_TOKEN_LEASE_INTERFACE, "Release", NULL);
        assert_pf_leases(1, theirs);
        CALL_ERROR(SD_BUS_ERROR_UNKNOWN_OBJECT, ME, mine, PROPERTIES_INTERFACE, "Get", "ss",
                   VFIO_TOKEN_LEASE_INTERFACE, "Owner");
        CALL_ERROR(SD_BUS_ERROR_UNKNOWN_OBJECT, ME, mine, VFIO_TOKEN_LEASE_INTERFACE, "Release", NULL);

        /* Root may end anyone's lease. */
        CALL_OK(ME, theirs, VFIO_TOKEN_LEASE_INTERFACE, "Release", NULL);
        assert_pf_leases(0);
        ck_assert_uint_eq(lease_registry_count(t.m->leases), 0);
}
END_TEST

/* ---- The order of the checks -------------------------------------------------------------- */

START_TEST(test_argument_checks) {
        up(CONF, true, FAKE_POLKIT_ALLOW);

        /* Unknown option keys, on the Manager and on the PF. */
        CALL_ERROR(SD_BUS_ERROR_INVALID_ARGS, ME, MANAGER,
                   "AcquireToken", "sa{sv}", VF1, 1, "Interactive", "b", 1);
        CALL_ERROR(SD_BUS_ERROR_INVALID_ARGS, ME, PF_OBJECT, "AcquireToken", "sa{sv}",
                   VF1, 2, "x", "s", "y", "z", "u", 3);
        /* A malformed address. */
        CALL_ERROR(SD_BUS_ERROR_INVALID_ARGS, ME, MANAGER, "AcquireToken", "sa{sv}", "0000:01:00", 0);

        /* Arguments before the device: a malformed address is not an unknown device, and an
         * unknown option is refused whatever the device. */
        CALL_ERROR(SD_BUS_ERROR_INVALID_ARGS, ME, MANAGER, "AcquireToken", "sa{sv}", "nonsense", 0);
        CALL_ERROR(SD_BUS_ERROR_INVALID_ARGS, ME, MANAGER,
                   "AcquireToken", "sa{sv}", STRANGER, 1, "x", "s", "y");
        CALL_ERROR(SD_BUS_ERROR_INVALID_ARGS, ME, PF_OBJECT, "AcquireToken", "sa{sv}", "0000:02:00", 0);

        /* The device before authorisation: polkit is not asked about a device not ours. */
        CALL_ERROR(VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ME, MANAGER, "AcquireToken", "sa{sv}", STRANGER, 0);
        CALL_ERROR(VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ME, MANAGER, "AcquireToken", "sa{sv}", VF3, 0);
        CALL_ERROR(VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ME, PF_OBJECT, "AcquireToken", "sa{sv}", STRANGER, 0);

        ck_assert_uint_eq(t.polkit->n_checks, 0);
        ck_assert_uint_eq(lease_registry_count(t.m->leases), 0);
}
END_TEST

/* ---- Quotas ------------------------------------------------------------------------------- */

/* 64 leases on one connection, the 65th refused; root's refused at the grant, anyone else's
 * before polkit is asked. */
static void quota_per_connection(bool as_user) {
        char first[LEASE_PATH_MAX];

        up(CONF, as_user, FAKE_POLKIT_ALLOW);
        acquire(ME, VF1, first, NULL);
        for (unsigned i = 1; i < LEASES_PER_OWNER_MAX; i++)
                acquire(ME, i % 2 ? VF2 : VF1, NULL, NULL);
        ck_assert_uint_eq(lease_registry_count_owner(t.m->leases, ME), LEASES_PER_OWNER_MAX);
        ck_assert_uint_eq(t.polkit->n_checks, (as_user ? LEASES_PER_OWNER_MAX : 0));
        CALL_ERROR(SD_BUS_ERROR_LIMITS_EXCEEDED, ME, MANAGER, "AcquireToken", "sa{sv}", VF1, 0);
        ck_assert_uint_eq(lease_registry_count(t.m->leases), LEASES_PER_OWNER_MAX);
        ck_assert_uint_eq(t.polkit->n_checks, (as_user ? LEASES_PER_OWNER_MAX : 0));

        /* The quota is the connection's: another one may, and a lease released makes room. */
        acquire(OTHER, VF1, NULL, NULL);
        CALL_OK(ME, first, VFIO_TOKEN_LEASE_INTERFACE, "Release", NULL);
        acquire(ME, VF1, NULL, NULL);
        CALL_ERROR(SD_BUS_ERROR_LIMITS_EXCEEDED, ME, MANAGER, "AcquireToken", "sa{sv}", VF2, 0);
}

START_TEST(test_quota_per_connection_root) {
        ROOT_ONLY();
        quota_per_connection(false);
}
END_TEST

START_TEST(test_quota_per_connection_user) {
        quota_per_connection(true);
}
END_TEST

START_TEST(test_max_leases_per_user) {
        static const char *const callers[] = { ":1.11", ":1.12", ":1.13" };
        char first[LEASE_PATH_MAX];

        ROOT_ONLY();
        up(CONF_MAX3, false, FAKE_POLKIT_DENY);
        ck_assert_uint_eq(lease_registry_max_per_user(t.m->leases), 3);
        /* Each from another connection: the quota is the user's. */
        acquire(callers[0], VF1, first, NULL);
        acquire(callers[1], VF1, NULL, NULL);
        acquire(callers[2], VF2, NULL, NULL);
        CALL_ERROR(SD_BUS_ERROR_LIMITS_EXCEEDED, ":1.14", MANAGER, "AcquireToken", "sa{sv}", VF1, 0);
        ck_assert_uint_eq(lease_registry_count(t.m->leases), 3);

        CALL_OK(callers[0], first, VFIO_TOKEN_LEASE_INTERFACE, "Release", NULL);
        acquire(":1.14", VF1, NULL, NULL);
}
END_TEST

/* ---- Rotation as root --------------------------------------------------------------------- */

static uint64_t rotate_ok(const char *sender, bool force) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t generation;

        reply = call(sender, PF_OBJECT, "Rotate", "b", force);
        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_read(reply, "t", &generation), 0);
        return generation;
}

START_TEST(test_rotate_root) {
        char before[TOKEN_STRING_MAX], after[TOKEN_STRING_MAX], lease[LEASE_PATH_MAX];

        ROOT_ONLY();
        up(CONF, false, FAKE_POLKIT_DENY);
        kernel_token(before);
        ck_assert_uint_eq(rotate_ok(ME, false), 2);
        ck_assert_uint_eq(get_number(PF_OBJECT, "TokenGeneration"), 2);
        kernel_token(after);
        ck_assert_str_ne(after, before);

        /* A lease held: not without force. */
        acquire(ME, VF1, lease, NULL);
        CALL_ERROR(VFIO_TOKEN_ERROR_BUSY, ME, PF_OBJECT, "Rotate", "b", 0);
        ck_assert_uint_eq(get_number(PF_OBJECT, "TokenGeneration"), 2);
        kernel_token(before);
        ck_assert_str_eq(before, after);

        /* With force; the lease stays. */
        ck_assert_uint_eq(rotate_ok(OTHER, true), 3);
        ck_assert_uint_eq(get_number(PF_OBJECT, "TokenGeneration"), 3);
        assert_pf_leases(1, lease);
        ck_assert_uint_eq(t.polkit->n_checks, 0);
}
END_TEST

/* ---- Signals ------------------------------------------------------------------------------ */

START_TEST(test_token_rotated_signal) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        char old[TOKEN_STRING_MAX], new[TOKEN_STRING_MAX];
        _cleanup_(seen_done) Seen seen = {};
        const char *address, *path;
        uint64_t generation;

        up(CONF, true, FAKE_POLKIT_ALLOW);
        watch(&seen, &slot, VFIO_TOKEN_MANAGER_INTERFACE, "TokenRotated");
        kernel_token(old);
        ck_assert_uint_eq(rotate_ok(ME, false), 2);
        settle();
        kernel_token(new);

        ck_assert_uint_eq(seen.n, 1);
        ck_assert(sd_bus_message_is_signal(seen.last, VFIO_TOKEN_MANAGER_INTERFACE, "TokenRotated"));
        ck_assert_str_eq(sd_bus_message_get_path(seen.last), VFIO_TOKEN_MANAGER_PATH);
        ck_assert_str_eq(sd_bus_message_get_signature(seen.last, true), "sot");
        ck_assert_int_ge(sd_bus_message_read(seen.last, "sot", &address, &path, &generation), 0);
        ck_assert_str_eq(address, PF);
        ck_assert_str_eq(path, t.pf_path);
        ck_assert_uint_eq(generation, 2);
        ck_assert(sd_bus_message_at_end(seen.last, true) > 0);
        /* Neither the new token nor the old one, anywhere in it. */
        ck_assert_int_eq(test_bus_message_contains(seen.last, new), 0);
        ck_assert_int_eq(test_bus_message_contains(seen.last, old), 0);
        ck_assert_int_eq(test_bus_message_contains(seen.last, PF), 1); /* the search does find things */
}
END_TEST

START_TEST(test_lease_object_signals) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *added_slot = NULL, *removed_slot = NULL;
        _cleanup_(seen_done) Seen added = {}, removed = {};
        char lease[LEASE_PATH_MAX], token[TOKEN_STRING_MAX];
        const char *path, *interface, *property, *device = NULL;
        bool lease_interface = false;
        _cleanup_strv_free_ char **interfaces = NULL;
        int r;

        up(CONF, true, FAKE_POLKIT_ALLOW);
        watch(&added, &added_slot, OBJECT_MANAGER_INTERFACE, "InterfacesAdded");
        watch(&removed, &removed_slot, OBJECT_MANAGER_INTERFACE, "InterfacesRemoved");
        acquire(ME, VF2, lease, token);
        settle();

        ck_assert_uint_eq(added.n, 1);
        ck_assert_int_ge(sd_bus_message_read(added.last, "o", &path), 0);
        ck_assert_str_eq(path, lease);
        ck_assert_int_ge(sd_bus_message_enter_container(added.last, 'a', "{sa{sv}}"), 0);
        while ((r = sd_bus_message_enter_container(added.last, 'e', "sa{sv}")) > 0) {
                ck_assert_int_ge(sd_bus_message_read(added.last, "s", &interface), 0);
                if (!streq(interface, VFIO_TOKEN_LEASE_INTERFACE)) {
                        ck_assert_int_ge(sd_bus_message_skip(added.last, "a{sv}"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(added.last), 0);
                        continue;
                }
                lease_interface = true;
                ck_assert_int_ge(sd_bus_message_enter_container(added.last, 'a', "{sv}"), 0);
                while (sd_bus_message_enter_container(added.last, 'e', "sv") > 0) {
                        ck_assert_int_ge(sd_bus_message_read(added.last, "s", &property), 0);
                        if (streq(property, "Device"))
                                ck_assert_int_ge(sd_bus_message_read(added.last, "v", "s", &device), 0);
                        else
                                ck_assert_int_ge(sd_bus_message_skip(added.last, "v"), 0);
                        ck_assert_int_ge(sd_bus_message_exit_container(added.last), 0);
                }
                ck_assert_int_ge(sd_bus_message_exit_container(added.last), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(added.last), 0);
        }
        ck_assert_int_ge(r, 0);
        ck_assert(lease_interface);
        ck_assert_ptr_nonnull(device);
        ck_assert_str_eq(device, VF2);
        ck_assert_int_eq(test_bus_message_contains(added.last, token), 0);
        ck_assert_uint_eq(removed.n, 0);

        CALL_OK(ME, lease, VFIO_TOKEN_LEASE_INTERFACE, "Release", NULL);
        settle();
        ck_assert_uint_eq(removed.n, 1);
        ck_assert_int_ge(sd_bus_message_read(removed.last, "o", &path), 0);
        ck_assert_str_eq(path, lease);
        ck_assert_int_ge(sd_bus_message_read_strv(removed.last, &interfaces), 0);
        ck_assert(strv_length(interfaces) >= 1);
        ck_assert_uint_eq(added.n, 1);
}
END_TEST

/* ---- Callers other than root: polkit ------------------------------------------------------ */

START_TEST(test_acquire_with_polkit) {
        char lease[LEASE_PATH_MAX], token[TOKEN_STRING_MAX], kernel[TOKEN_STRING_MAX];
        const FakePolkitCheck *c;

        up(CONF, true, FAKE_POLKIT_ALLOW);
        ck_assert_uint_ne(t.uid, 0);
        acquire(ME, VF1, lease, token);
        kernel_token(kernel);
        ck_assert_str_eq(token, kernel);
        ck_assert_uint_eq(get_number(lease, VFIO_TOKEN_LEASE_INTERFACE, "UID"), t.uid);
        ASSERT_STRING(lease, VFIO_TOKEN_LEASE_INTERFACE, "Owner", "s", ME);

        /* What polkit was asked: about the caller's bus name, with the PF and the device. */
        ck_assert_uint_eq(t.polkit->n_checks, 1);
        c = &t.polkit->checks[0];
        ck_assert_str_eq(c->subject_kind, "system-bus-name");
        ck_assert_str_eq(c->subject_name, ME);
        ck_assert_str_eq(c->action, VFIO_TOKEN_ACTION_ACQUIRE);
        ck_assert_uint_eq(strv_length(c->details), 4);
        ck_assert_str_eq(fake_polkit_detail(c, "pf"), PF);
        ck_assert_str_eq(fake_polkit_detail(c, "device"), VF1);
        ck_assert_uint_eq(c->flags, 0); /* the caller did not allow interaction */
}
END_TEST

START_TEST(test_polkit_verdicts) {
        static const struct {
                FakePolkitAnswer answer;
                const char *error;
        } cases[] = {
                { FAKE_POLKIT_DENY, SD_BUS_ERROR_ACCESS_DENIED },
                { FAKE_POLKIT_CHALLENGE, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED },
                { FAKE_POLKIT_ERROR, VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE },
                { FAKE_POLKIT_MALFORMED, VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE },
        };

        up(CONF, true, FAKE_POLKIT_DENY);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                t.polkit->answer = cases[i].answer;
                CALL_ERROR(cases[i].error, ME, MANAGER, "AcquireToken", "sa{sv}", VF1, 0);
                CALL_ERROR(cases[i].error, ME, PF_OBJECT, "Rotate", "b", 1);
                ck_assert_uint_eq(t.polkit->n_checks, 2 * (i + 1));
        }
        ck_assert_uint_eq(lease_registry_count(t.m->leases), 0);
        ck_assert_uint_eq(get_number(PF_OBJECT, "TokenGeneration"), 1);
}
END_TEST

START_TEST(test_interactive_flag) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;

        up(CONF, true, FAKE_POLKIT_CHALLENGE);
        ck_assert_int_eq(test_bus_new_call(t.client, ME, MANAGER, "AcquireToken", &m), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "sa{sv}", VF2, 0), 0);
        ck_assert_int_ge(sd_bus_message_set_allow_interactive_authorization(m, 1), 0);
        ck_assert_int_eq(test_bus_call(t.m->event, m, &reply), 0);
        assert_error(reply, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED);
        ck_assert_uint_eq(t.polkit->n_checks, 1);
        ck_assert_uint_eq(t.polkit->checks[0].flags, 1);
        ck_assert_str_eq(fake_polkit_detail(&t.polkit->checks[0], "device"), VF2);
}
END_TEST

START_TEST(test_rotate_with_polkit) {
        const FakePolkitCheck *c;
        char lease[LEASE_PATH_MAX];

        up(CONF, true, FAKE_POLKIT_ALLOW);
        ck_assert_uint_eq(rotate_ok(ME, false), 2);
        ck_assert_uint_eq(t.polkit->n_checks, 1);
        c = &t.polkit->checks[0];
        ck_assert_str_eq(c->action, VFIO_TOKEN_ACTION_ROTATE);
        ck_assert_str_eq(c->subject_name, ME);
        ck_assert_uint_eq(strv_length(c->details), 2);
        ck_assert_str_eq(fake_polkit_detail(c, "pf"), PF);

        acquire(OTHER, VF1, lease, NULL);
        CALL_ERROR(VFIO_TOKEN_ERROR_BUSY, ME, PF_OBJECT, "Rotate", "b", 0);
        ck_assert_uint_eq(rotate_ok(ME, true), 3);
        assert_pf_leases(1, lease);
}
END_TEST

START_TEST(test_quota_before_polkit) {
        up(CONF_MAX3, true, FAKE_POLKIT_ALLOW);
        acquire(":1.11", VF1, NULL, NULL);
        acquire(":1.12", VF1, NULL, NULL);
        acquire(":1.13", VF2, NULL, NULL);
        ck_assert_uint_eq(t.polkit->n_checks, 3);
        CALL_ERROR(SD_BUS_ERROR_LIMITS_EXCEEDED, ":1.14", MANAGER, "AcquireToken", "sa{sv}", VF1, 0);
        /* Refused before polkit was bothered. */
        ck_assert_uint_eq(t.polkit->n_checks, 3);
        ck_assert_uint_eq(lease_registry_count_uid(t.m->leases, t.uid), 3);
}
END_TEST

/* A call sent without waiting for its answer. */
typedef struct Pending {
        sd_bus_slot *slot;
        sd_bus_message *reply;
} Pending;

static int on_pending_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;

        p->reply = sd_bus_message_ref(m);
        return 0;
}

static void acquire_async(Pending *p, const char *sender, const char *device) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        ck_assert_int_eq(test_bus_new_call(t.client, sender, MANAGER, "AcquireToken", &m), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "sa{sv}", device, 0), 0);
        ck_assert_int_ge(sd_bus_call_async(t.client, &p->slot, m, on_pending_reply, p, 0), 0);
}

static void pending_done(Pending *p) {
        p->slot = sd_bus_slot_unref(p->slot);
        p->reply = sd_bus_message_unref(p->reply);
}

/* The user's calls waiting for polkit are bounded ([Daemon] MaxPendingChecksPerUser=); an answer
 * frees a place, and a call still waiting when the daemon stops gets no answer and leaks
 * nothing. */
START_TEST(test_pending_checks_per_user) {
        Pending p[4] = {};
        const char *token, *lease;

        up("[Daemon]\nMaxPendingChecksPerUser=2\n" CONF, true, FAKE_POLKIT_HOLD);
        acquire_async(&p[0], ":1.11", VF1);
        acquire_async(&p[1], ":1.12", VF1);
        acquire_async(&p[2], ":1.13", VF2);
        settle();
        ck_assert_uint_eq(t.polkit->n_checks, 2);
        ck_assert_ptr_null(p[0].reply);
        ck_assert_ptr_null(p[1].reply);
        ck_assert_ptr_nonnull(p[2].reply);
        assert_error(p[2].reply, SD_BUS_ERROR_LIMITS_EXCEEDED);

        ck_assert_int_eq(fake_polkit_answer(t.polkit, 0, FAKE_POLKIT_ALLOW), 0);
        ck_assert_int_eq(fake_polkit_answer(t.polkit, 1, FAKE_POLKIT_DENY), 0);
        settle();
        ck_assert_ptr_nonnull(p[0].reply);
        assert_ok(p[0].reply);
        ck_assert_int_ge(sd_bus_message_read(p[0].reply, "so", &token, &lease), 0);
        ck_assert(is_canonical_uuid(token));
        ck_assert_ptr_nonnull(p[1].reply);
        assert_error(p[1].reply, SD_BUS_ERROR_ACCESS_DENIED);

        /* Room again; this one is still waiting for polkit at teardown. */
        acquire_async(&p[3], ":1.14", VF2);
        settle();
        ck_assert_uint_eq(t.polkit->n_checks, 3);
        ck_assert_ptr_null(p[3].reply);
        ck_assert_uint_eq(lease_registry_count(t.m->leases), 1);
        for (size_t i = 0; i < ELEMENTSOF(p); i++)
                pending_done(&p[i]);
}
END_TEST

START_TEST(test_release_not_owner) {
        char lease[LEASE_PATH_MAX];

        up(CONF, true, FAKE_POLKIT_ALLOW);
        acquire(ME, VF1, lease, NULL);
        /* Same uid, another connection: not the owner, and not root. */
        CALL_ERROR(SD_BUS_ERROR_ACCESS_DENIED, OTHER, lease, VFIO_TOKEN_LEASE_INTERFACE, "Release", NULL);
        assert_pf_leases(1, lease);
        CALL_OK(ME, lease, VFIO_TOKEN_LEASE_INTERFACE, "Release", NULL);
        assert_pf_leases(0);
}
END_TEST

START_TEST(test_managed_objects) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char lease[LEASE_PATH_MAX];
        bool have_pf = false, have_lease = false;
        const char *path;
        int r;

        up(CONF, true, FAKE_POLKIT_ALLOW);
        acquire(ME, VF1, lease, NULL);
        reply = call(ME, VFIO_TOKEN_MANAGER_PATH, OBJECT_MANAGER_INTERFACE, "GetManagedObjects", NULL);
        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}"), 0);
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                ck_assert_int_ge(sd_bus_message_read(reply, "o", &path), 0);
                have_pf = have_pf || streq(path, t.pf_path);
                have_lease = have_lease || streq(path, lease);
                ck_assert_int_ge(sd_bus_message_skip(reply, "a{sa{sv}}"), 0);
                ck_assert_int_ge(sd_bus_message_exit_container(reply), 0);
        }
        ck_assert_int_ge(r, 0);
        ck_assert(have_pf);
        ck_assert(have_lease);
}
END_TEST

/* Calls that all fit the quota when they arrive, but not all together: the grant checks again,
 * after polkit. */
START_TEST(test_quota_rechecked_after_polkit) {
        Pending p[4] = {};
        unsigned granted = 0, refused = 0;

        up(CONF_MAX3, true, FAKE_POLKIT_HOLD);
        for (size_t i = 0; i < ELEMENTSOF(p); i++)
                acquire_async(&p[i], i % 2 ? ":1.11" : ":1.12", VF1);
        settle();
        ck_assert_uint_eq(t.polkit->n_checks, ELEMENTSOF(p));
        for (size_t i = 0; i < ELEMENTSOF(p); i++)
                ck_assert_int_eq(fake_polkit_answer(t.polkit, i, FAKE_POLKIT_ALLOW), 0);
        settle();
        for (size_t i = 0; i < ELEMENTSOF(p); i++) {
                ck_assert_ptr_nonnull(p[i].reply);
                if (sd_bus_message_is_method_error(p[i].reply, NULL)) {
                        assert_error(p[i].reply, SD_BUS_ERROR_LIMITS_EXCEEDED);
                        refused++;
                } else
                        granted++;
                pending_done(&p[i]);
        }
        ck_assert_uint_eq(granted, 3);
        ck_assert_uint_eq(refused, 1);
        ck_assert_uint_eq(lease_registry_count_uid(t.m->leases, t.uid), 3);
}
END_TEST

static Suite *bus_suite(void) {
        Suite *s = suite_create("bus");
        TCase *tc;

        tc = tcase_create("manager");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_list_pfs);
        tcase_add_test(tc, test_get_pf);
        tcase_add_test(tc, test_pf_properties);
        tcase_add_test(tc, test_managed_objects);
        suite_add_tcase(s, tc);

        tc = tcase_create("root");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_acquire_root);
        tcase_add_test(tc, test_release_root);
        tcase_add_test(tc, test_quota_per_connection_root);
        tcase_add_test(tc, test_max_leases_per_user);
        tcase_add_test(tc, test_rotate_root);
        suite_add_tcase(s, tc);

        tc = tcase_create("order");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_argument_checks);
        tcase_add_test(tc, test_quota_before_polkit);
        tcase_add_test(tc, test_quota_per_connection_user);
        suite_add_tcase(s, tc);

        tc = tcase_create("signals");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_token_rotated_signal);
        tcase_add_test(tc, test_lease_object_signals);
        suite_add_tcase(s, tc);

        tc = tcase_create("polkit");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_acquire_with_polkit);
        tcase_add_test(tc, test_polkit_verdicts);
        tcase_add_test(tc, test_interactive_flag);
        tcase_add_test(tc, test_rotate_with_polkit);
        tcase_add_test(tc, test_release_not_owner);
        tcase_add_test(tc, test_pending_checks_per_user);
        tcase_add_test(tc, test_quota_rechecked_after_polkit);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(bus_suite)
