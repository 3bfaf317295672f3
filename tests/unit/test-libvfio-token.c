/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libvfio-token (client/libvfio-token.c) against a stand-in for vfio-tokend, with no root and no
 * dbus-daemon, as systemd's own sd-bus tests do it: a socketpair, a server sd_bus on one end in a
 * forked child that answers AcquireToken and Release as the device name tells it to, and the
 * library on the other end.
 *
 * A direct connection has no bus to route by name, and sd-bus dispatches a call by path and
 * interface whatever its destination. The stand-in checks that the destination is
 * VFIO_TOKEN_BUS_NAME all the same, so the library is still seen to address the daemon by its
 * bus name; a call that breaks the contract gets a reply the tests cannot take for success, and
 * makes the stand-in exit non-zero, which the fixture's teardown checks. */

#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

#include "macro.h"
#include "string-util.h"
#include "vfio-token.h"

#define TEST_TOKEN "0f3c2a51-7f0e-4c8e-9a4b-1d2e3f405162"
#define TEST_DEVICE "0000:3b:02.0"
/* AcquireToken of "error:<NAME>" is answered with the D-Bus error NAME. */
#define ERROR_DEVICE_PREFIX "error:"
#define ERROR_MESSAGE_PREFIX "test: "

/* ---- The stand-in daemon, in the child ---------------------------------------------------- */

#define LEASES_MAX 64

typedef struct Server {
        unsigned n_leases;          /* granted, ids 1..n_leases */
        bool ended[LEASES_MAX + 1]; /* by id */
        bool broken;                /* a call broke the contract */
} Server;

/* Grants lease `id` (a number, or a word for a lease with a behaviour of its own). */
static int reply_grant(sd_bus_message *m, const char *token, const char *id) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sd_bus_path_encode(VFIO_TOKEN_LEASE_PATH_PREFIX, id, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, "so", token, path);
}

static int grant_new_lease(Server *s, sd_bus_message *m) {
        char id[16];

        if (s->n_leases >= LEASES_MAX)
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_LIMITS_EXCEEDED, "Too many leases.");
        snprintf(id, sizeof(id), "%u", ++s->n_leases);
        return reply_grant(m, TEST_TOKEN, id);
}

/* AcquireToken, as a plain object callback rather than a vtable method: sd-bus holds a vtable
 * method's replies to its declared signature (-ENOMSG otherwise), and some of these must not
 * match it. */
static int on_manager_message(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Server *s = userdata;
        const char *device;
        size_t n_options = 0;
        int r;

        if (!sd_bus_message_is_method_call(m, VFIO_TOKEN_MANAGER_INTERFACE, "AcquireToken"))
                return 0; /* sd-bus answers UnknownMethod */
        if (!sd_bus_message_has_signature(m, "sa{sv}")) {
                s->broken = true;
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INVALID_ARGS, "Wrong arguments.");
        }
        if (!streq_ptr(sd_bus_message_get_destination(m), VFIO_TOKEN_BUS_NAME)) {
                s->broken = true;
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED, "Sent to %s, not to the daemon.",
                                                  sd_bus_message_get_destination(m) ?: "nobody");
        }

        r = sd_bus_message_read(m, "s", &device);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_skip(m, "{sv}")) > 0)
                n_options++;
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (n_options > 0) {
                s->broken = true;
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED, "No options were asked for.");
        }

        if (streq(device, TEST_DEVICE))
                return grant_new_lease(s, m);
        if (strncmp(device, ERROR_DEVICE_PREFIX, STRLEN(ERROR_DEVICE_PREFIX)) == 0) {
                const char *name = device + STRLEN(ERROR_DEVICE_PREFIX);

                return sd_bus_reply_method_errorf(m, name, ERROR_MESSAGE_PREFIX "%s", name);
        }
        if (streq(device, "interactive")) {
                if (!sd_bus_message_get_allow_interactive_authorization(m))
                        return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                          "Authentication is required.");
                return grant_new_lease(s, m);
        }
        /* Leases whose Release() has an answer of its own: see method_release(). */
        if (streq(device, "lease:refused"))
                return reply_grant(m, TEST_TOKEN, "refused");
        if (streq(device, "lease:ended"))
                return reply_grant(m, TEST_TOKEN, "ended");
        /* Replies of the wrong shape. */
        if (streq(device, "reply:short-token"))
                return reply_grant(m, "0f3c2a51-7f0e-4c8e-9a4b-1d2e3f40516", "1");
        if (streq(device, "reply:long-token"))
                return reply_grant(m, TEST_TOKEN "0", "1");
        if (streq(device, "reply:no-lease"))
                return sd_bus_reply_method_return(m, "s", TEST_TOKEN);
        if (streq(device, "reply:wrong-types"))
                return sd_bus_reply_method_return(m, "ss", TEST_TOKEN, "/org/vfio/Tokend1/lease/_31");
        if (streq(device, "reply:empty"))
                return sd_bus_reply_method_return(m, NULL);

        return sd_bus_reply_method_errorf(m, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "No device %s.", device);
}

static int method_release(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *id = NULL;
        Server *s = userdata;
        unsigned long n;
        char *end;
        int r;

        if (!streq_ptr(sd_bus_message_get_destination(m), VFIO_TOKEN_BUS_NAME)) {
                s->broken = true;
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_FAILED, "Not sent to the daemon.");
        }

        r = sd_bus_path_decode(sd_bus_message_get_path(m), VFIO_TOKEN_LEASE_PATH_PREFIX, &id);
        if (r < 0)
                return r;
        if (r > 0 && streq(id, "refused"))
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_ACCESS_DENIED, "Not your lease.");

        n = r > 0 ? strtoul(id, &end, 10) : 0;
        if (n == 0 || *end || n > s->n_leases || s->ended[n])
                return sd_bus_reply_method_errorf(m, SD_BUS_ERROR_UNKNOWN_OBJECT, "Unknown object '%s'.",
                                                  sd_bus_message_get_path(m));
        s->ended[n] = true;
        return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable lease_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Release", "", "", method_release, 0),
        SD_BUS_VTABLE_END
};

/* Serves the connection on fd until the other end closes it. 0, 1 if a call broke the contract,
 * or -errno. */
static int serve(int fd) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Server s = {};
        sd_id128_t id;
        int r;

        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0)
                return r;
        r = sd_bus_set_server(bus, 1, id);
        if (r < 0)
                return r;
        r = sd_bus_set_anonymous(bus, 1);
        if (r < 0)
                return r;
        r = sd_bus_add_object(bus, NULL, VFIO_TOKEN_MANAGER_PATH, on_manager_message, &s);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, VFIO_TOKEN_LEASE_PATH_PREFIX, VFIO_TOKEN_LEASE_INTERFACE,
                                       lease_vtable, NULL, &s);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;

        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r == -ENOTCONN || r == -ECONNRESET)
                        break; /* the client has gone */
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0 && r != -EINTR)
                        return r;
        }
        return s.broken;
}

/* ---- The fixture: a connected client, the stand-in in a child ----------------------------- */

static sd_bus *client;
static pid_t server_pid;

static void server_start(void) {
        int pair[2];
        int r;

        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);

        server_pid = fork();
        if (server_pid == 0) {
                (void) close(pair[0]);
                r = serve(pair[1]);
                if (r < 0)
                        fprintf(stderr, "test server: %s\n", strerror(-r));
                _exit(r == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
        }
        ck_assert_int_ge(server_pid, 0); /* the parent only: see CHILD_CHECK in test-util.h */
        (void) close(pair[1]);

        ck_assert_int_eq(sd_bus_new(&client), 0);
        ck_assert_int_eq(sd_bus_set_fd(client, pair[0], pair[0]), 0);
        ck_assert_int_eq(sd_bus_start(client), 0);
}

/* Closing the client ends the child, which must have seen nothing but calls by the contract. */
static void server_stop(void) {
        int status;

        client = sd_bus_flush_close_unref(client);
        if (server_pid <= 0)
                return;
        ck_assert_int_eq(waitpid(server_pid, &status, 0), server_pid);
        server_pid = 0;
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), EXIT_SUCCESS);
}

/* ---- Tests ---------------------------------------------------------------------------------- */

#define TOKEN_UNTOUCHED "untouched"

START_TEST(test_acquire) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char token[VFIO_TOKEN_STRING_MAX];
        VfioTokenLease *lease = NULL, *second = NULL;

        ck_assert_int_eq(vfio_token_acquire(client, TEST_DEVICE, 0, &error, &lease, token), 0);
        ck_assert(!sd_bus_error_is_set(&error));
        ck_assert_str_eq(token, TEST_TOKEN);
        ck_assert_ptr_nonnull(lease);
        ck_assert_str_eq(vfio_token_lease_path(lease), VFIO_TOKEN_LEASE_PATH_PREFIX "/_31");
        ck_assert_ptr_eq(vfio_token_lease_bus(lease), client);

        /* A second grant is a lease of its own on the same connection. */
        ck_assert_int_eq(vfio_token_acquire(client, TEST_DEVICE, 0, NULL, &second, token), 0);
        ck_assert_str_eq(vfio_token_lease_path(second), VFIO_TOKEN_LEASE_PATH_PREFIX "/_32");

        ck_assert_int_eq(vfio_token_release(lease, &error), 0);
        ck_assert(!sd_bus_error_is_set(&error));
        /* Freed without Release(): the daemon would keep it until the connection closes. */
        ck_assert_ptr_null(vfio_token_lease_free(second));
        ck_assert_ptr_null(vfio_token_lease_free(NULL));
        ck_assert_ptr_null(vfio_token_lease_path(NULL));
        ck_assert_ptr_null(vfio_token_lease_bus(NULL));
        explicit_bzero(token, sizeof(token));
}
END_TEST

START_TEST(test_acquire_without_lease_object) {
        char token[VFIO_TOKEN_STRING_MAX];

        /* The caller's connection holds the lease: no object is needed. */
        ck_assert_int_eq(vfio_token_acquire(client, TEST_DEVICE, 0, NULL, NULL, token), 0);
        ck_assert_str_eq(token, TEST_TOKEN);
        explicit_bzero(token, sizeof(token));
}
END_TEST

START_TEST(test_interactive) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char token[VFIO_TOKEN_STRING_MAX] = TOKEN_UNTOUCHED;
        VfioTokenLease *lease = NULL;

        ck_assert_int_eq(vfio_token_acquire(client, "interactive", 0, &error, &lease, token), -EACCES);
        ck_assert(sd_bus_error_has_name(&error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED));
        ck_assert_ptr_null(lease);
        ck_assert_str_eq(token, TOKEN_UNTOUCHED);

        ck_assert_int_eq(vfio_token_acquire(client, "interactive", VFIO_TOKEN_ALLOW_INTERACTIVE, NULL, &lease,
                                            token),
                         0);
        ck_assert_str_eq(token, TEST_TOKEN);
        ck_assert_int_eq(vfio_token_release(lease, NULL), 0);
        explicit_bzero(token, sizeof(token));
}
END_TEST

/* The table of <vfio-token.h>, and what falls through to sd-bus's own mapping. */
static const struct {
        const char *name;
        int code;
} error_table[] = {
        { SD_BUS_ERROR_ACCESS_DENIED, EACCES },
        { SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, EACCES },
        { SD_BUS_ERROR_INVALID_ARGS, EINVAL },
        { VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ENODEV },
        { VFIO_TOKEN_ERROR_BUSY, EBUSY },
        { VFIO_TOKEN_ERROR_DEVICE_GONE, ENXIO },
        { VFIO_TOKEN_ERROR_NOT_SUPPORTED, EOPNOTSUPP },
        { VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE, EAGAIN },
        { SD_BUS_ERROR_LIMITS_EXCEEDED, EUSERS },
        { SD_BUS_ERROR_SERVICE_UNKNOWN, EHOSTUNREACH },
        { SD_BUS_ERROR_NAME_HAS_NO_OWNER, EHOSTUNREACH },
        { SD_BUS_ERROR_UNKNOWN_OBJECT, ENOENT },
        { SD_BUS_ERROR_NO_REPLY, ETIMEDOUT },
        { SD_BUS_ERROR_TIMEOUT, ETIMEDOUT },
        { SD_BUS_ERROR_FAILED, EIO },
        { "org.example.Error.Unheard", EIO },
        { "System.Error.ENOSPC", ENOSPC },
};

START_TEST(test_errors) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *device = NULL, *message = NULL;
        char token[VFIO_TOKEN_STRING_MAX] = TOKEN_UNTOUCHED;
        VfioTokenLease *lease = NULL;
        const char *name = error_table[_i].name;

        ck_assert_int_ge(asprintf(&device, ERROR_DEVICE_PREFIX "%s", name), 0);
        ck_assert_int_ge(asprintf(&message, ERROR_MESSAGE_PREFIX "%s", name), 0);

        ck_assert_int_eq(vfio_token_acquire(client, device, 0, &error, &lease, token), -error_table[_i].code);
        ck_assert_str_eq(error.name, name);
        ck_assert_str_eq(error.message, message);
        ck_assert_int_eq(vfio_token_error_to_errno(&error), -error_table[_i].code);
        /* Out-parameters are written only on success. */
        ck_assert_ptr_null(lease);
        ck_assert_str_eq(token, TOKEN_UNTOUCHED);

        /* The same without an error to fill in. */
        ck_assert_int_eq(vfio_token_acquire(client, device, 0, NULL, &lease, token), -error_table[_i].code);
        ck_assert_ptr_null(lease);
}
END_TEST

START_TEST(test_error_unset) {
        sd_bus_error error = SD_BUS_ERROR_NULL;

        ck_assert_int_eq(vfio_token_error_to_errno(NULL), -EIO);
        ck_assert_int_eq(vfio_token_error_to_errno(&error), -EIO);
}
END_TEST

static const char *const malformed_replies[] = {
        "reply:short-token", "reply:long-token", "reply:no-lease", "reply:wrong-types", "reply:empty",
};

START_TEST(test_malformed_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char token[VFIO_TOKEN_STRING_MAX] = TOKEN_UNTOUCHED;
        VfioTokenLease *lease = NULL;

        ck_assert_int_eq(vfio_token_acquire(client, malformed_replies[_i], 0, &error, &lease, token),
                         -EBADMSG);
        /* Not the daemon's error: nothing for the caller to read. */
        ck_assert(!sd_bus_error_is_set(&error));
        ck_assert_ptr_null(lease);
        ck_assert_str_eq(token, TOKEN_UNTOUCHED);
}
END_TEST

START_TEST(test_release) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char token[VFIO_TOKEN_STRING_MAX];
        VfioTokenLease *lease = NULL;

        ck_assert_int_eq(vfio_token_release(NULL, &error), 0);
        ck_assert(!sd_bus_error_is_set(&error));

        ck_assert_int_eq(vfio_token_acquire(client, TEST_DEVICE, 0, NULL, &lease, token), 0);
        ck_assert_int_eq(vfio_token_release(lease, &error), 0);
        ck_assert(!sd_bus_error_is_set(&error));

        /* The lease object is freed on failure too (valgrind would see it leak). */
        ck_assert_int_eq(vfio_token_acquire(client, "lease:ended", 0, NULL, &lease, token), 0);
        ck_assert_int_eq(vfio_token_release(lease, &error), -ENOENT);
        ck_assert(sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT));
        sd_bus_error_free(&error);

        ck_assert_int_eq(vfio_token_acquire(client, "lease:refused", 0, NULL, &lease, token), 0);
        ck_assert_int_eq(vfio_token_release(lease, &error), -EACCES);
        ck_assert(sd_bus_error_has_name(&error, SD_BUS_ERROR_ACCESS_DENIED));
        ck_assert_str_eq(error.message, "Not your lease.");
        explicit_bzero(token, sizeof(token));
}
END_TEST

START_TEST(test_invalid_arguments) {
        char token[VFIO_TOKEN_STRING_MAX] = TOKEN_UNTOUCHED;
        VfioTokenLease *lease = NULL;

        ck_assert_int_eq(vfio_token_acquire(client, NULL, 0, NULL, &lease, token), -EINVAL);
        ck_assert_int_eq(vfio_token_acquire(client, TEST_DEVICE, 0, NULL, &lease, NULL), -EINVAL);
        ck_assert_int_eq(vfio_token_acquire(client, TEST_DEVICE, 1u << 7, NULL, &lease, token), -EINVAL);
        /* A lease nobody holds on a connection nobody holds would end at once. */
        ck_assert_int_eq(vfio_token_acquire(NULL, TEST_DEVICE, 0, NULL, NULL, token), -EINVAL);
        ck_assert_ptr_null(lease);
        ck_assert_str_eq(token, TOKEN_UNTOUCHED);
}
END_TEST

/* With no bus given, the library opens the system bus; failing to reach it is sd-bus's error,
 * with no D-Bus error to read. */
START_TEST(test_no_system_bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char token[VFIO_TOKEN_STRING_MAX] = TOKEN_UNTOUCHED;
        VfioTokenLease *lease = NULL;
        char *saved = getenv("DBUS_SYSTEM_BUS_ADDRESS");
        _cleanup_free_ char *restore = saved ? strdup(saved) : NULL;
        int r;

        ck_assert_int_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/vfio-tokend-test", 1), 0);
        r = vfio_token_acquire(NULL, TEST_DEVICE, 0, &error, &lease, token);
        if (restore)
                ck_assert_int_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", restore, 1), 0);
        else
                ck_assert_int_eq(unsetenv("DBUS_SYSTEM_BUS_ADDRESS"), 0);

        ck_assert_int_eq(r, -ENOENT);
        ck_assert(!sd_bus_error_is_set(&error));
        ck_assert_ptr_null(lease);
        ck_assert_str_eq(token, TOKEN_UNTOUCHED);
}
END_TEST

static Suite *libvfio_token_suite(void) {
        Suite *s = suite_create("libvfio-token");
        TCase *tc;

        tc = tcase_create("daemon");
        tcase_add_checked_fixture(tc, server_start, server_stop);
        tcase_add_test(tc, test_acquire);
        tcase_add_test(tc, test_acquire_without_lease_object);
        tcase_add_test(tc, test_interactive);
        tcase_add_loop_test(tc, test_errors, 0, (int) ELEMENTSOF(error_table));
        tcase_add_loop_test(tc, test_malformed_reply, 0, (int) ELEMENTSOF(malformed_replies));
        tcase_add_test(tc, test_release);
        tcase_add_test(tc, test_invalid_arguments);
        suite_add_tcase(s, tc);

        tc = tcase_create("no daemon");
        tcase_add_test(tc, test_error_unset);
        tcase_add_test(tc, test_no_system_bus);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        SRunner *sr = srunner_create(libvfio_token_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
