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
 * without polkit skip (not fail) when not run as root. What anyone else may do, through
 * polkit, is test-bus-polkit.c's. */

#include "test-bus.h"

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


START_TEST(test_retry_root) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *state;

        ROOT_ONLY();
        up(CONF, false, FAKE_POLKIT_ALLOW);
        /* A ready PF: nothing to do, its state comes back. */
        reply = call(ME, PF_OBJECT, "Retry", NULL);
        assert_ok(reply);
        ck_assert_int_ge(sd_bus_message_read(reply, "s", &state), 0);
        ck_assert_str_eq(state, "ready");
        ck_assert_uint_eq(t.polkit->n_checks, 0);
}
END_TEST

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
        tcase_add_test(tc, test_retry_root);
        suite_add_tcase(s, tc);

        tc = tcase_create("order");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_argument_checks);
        tcase_add_test(tc, test_quota_per_connection_user);
        suite_add_tcase(s, tc);

        tc = tcase_create("signals");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_token_rotated_signal);
        tcase_add_test(tc, test_lease_object_signals);
        suite_add_tcase(s, tc);

        return s;
}

DEFINE_TEST_MAIN(bus_suite)
