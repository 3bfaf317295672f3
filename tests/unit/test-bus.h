/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the tests of the daemon's bus face share (test-bus.c, test-bus-polkit.c): a Manager on
 * the kernel model serving one end of a direct connection (tests/common/test-bus-util.h), calls
 * from the other end with the caller's unique name written in as a bus daemon writes it, and
 * readers of properties and signals. Each test program includes it once. */

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

static inline void setup(void) {
        ck_assert_int_eq(test_env_setup(&env, "test-bus", PF, PF_GROUP), 0);
}

static inline void teardown(void) {
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
static inline void up(const char *conf, bool as_user, FakePolkitAnswer answer) {
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
static inline sd_bus_message *call(const char *sender, const char *path, const char *interface, const char *member,
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

static inline void assert_ok(sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        ck_assert_msg(!e, "unexpected error %s: %s", e ? e->name : "", e ? e->message : "");
}

static inline void assert_error(sd_bus_message *reply, const char *name) {
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
static inline void acquire(const char *sender, const char *device, char *ret_lease, char *ret_token) {
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
static inline sd_bus_message *get(const char *path, const char *interface, const char *name) {
        sd_bus_message *reply = call(ME, path, PROPERTIES_INTERFACE, "Get", "ss", interface, name);

        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_enter_container(reply, 'v', NULL), 0);
        return reply;
}

/* A property of type `type` ("s" or "o"), copied. */
static inline char *get_string(const char *path, const char *interface, const char *name, const char *type) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = get(path, interface, name);
        const char *s;
        char *copy;

        ck_assert_int_ge(sd_bus_message_read(reply, type, &s), 0);
        copy = strdup(s);
        ck_assert_ptr_nonnull(copy);
        return copy;
}

static inline uint64_t get_number(const char *path, const char *interface, const char *name) {
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
static inline char **get_strv(const char *path, const char *interface, const char *name) {
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
static inline void assert_pf_leases(size_t n, ...) {
        _cleanup_strv_free_ char **l = get_strv(PF_OBJECT, "Leases");
        va_list ap;

        ck_assert_uint_eq(strv_length(l), n);
        va_start(ap, n);
        for (size_t i = 0; i < n; i++)
                ck_assert_str_eq(l[i], va_arg(ap, const char *));
        va_end(ap);
}

static inline void settle(void) {
        ck_assert_int_eq(test_bus_settle(t.m->event), 0);
}

static inline int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Seen *s = userdata;

        sd_bus_message_unref(s->last);
        s->last = sd_bus_message_ref(m);
        s->n++;
        return 0;
}

/* Collects the signal `member` of `interface` from the Manager's path into `s`. */
static inline void watch(Seen *s, sd_bus_slot **ret_slot, const char *interface, const char *member) {
        const char *path = VFIO_TOKEN_MANAGER_PATH;
        int r;

        r = sd_bus_match_signal(t.client, ret_slot, NULL, path, interface, member, on_signal, s);
        ck_assert_int_ge(r, 0);
}

static inline void seen_done(Seen *s) {
        s->last = sd_bus_message_unref(s->last);
}

/* The kernel's (the model's) current token for the PF, as text. */
static inline void kernel_token(char ret[static TOKEN_STRING_MAX]) {
        _cleanup_token_string_ TokenString s = {};
        _cleanup_token_ Token k = {};

        ck_assert_int_eq(kmodel_peek_token(fixture_dev(env.fixture), PF, &k), 0);
        token_to_string(&k, &s);
        memcpy(ret, s.s, TOKEN_STRING_MAX);
}

static inline bool is_canonical_uuid(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
                        return false;
        }
        return true;
}

static inline uint64_t rotate_ok(const char *sender, bool force) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t generation;

        reply = call(sender, PF_OBJECT, "Rotate", "b", force);
        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_read(reply, "t", &generation), 0);
        return generation;
}
