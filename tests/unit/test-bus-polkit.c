/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the daemon's bus face for callers other than root, through polkit: here a fake
 * authority on the caller's end of a direct connection (a direct connection delivers the
 * daemon's CheckAuthorization there). Run as root, the connection is made as uid NOBODY, so CI
 * covers this path too. The subject, details and interactive flag of each check, every verdict
 * (AccessDenied only for "no"; AuthorizationUnavailable when polkit fails), the quotas on
 * pending checks, the lease quota checked again after polkit, and Release by a non-owner. */

#include "test-bus.h"

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

static Suite *bus_polkit_suite(void) {
        Suite *s = suite_create("bus-polkit");
        TCase *tc;

        tc = tcase_create("polkit");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_acquire_with_polkit);
        tcase_add_test(tc, test_quota_before_polkit);
        tcase_add_test(tc, test_polkit_verdicts);
        tcase_add_test(tc, test_interactive_flag);
        tcase_add_test(tc, test_rotate_with_polkit);
        tcase_add_test(tc, test_release_not_owner);
        tcase_add_test(tc, test_pending_checks_per_user);
        tcase_add_test(tc, test_quota_rechecked_after_polkit);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(bus_polkit_suite)
