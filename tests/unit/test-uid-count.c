/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/uid-count.c: counts per uid that forget a uid at zero, behind the per-user
 * quotas of leases (lease.c) and waiting checks (polkit.c). */

#include <check.h>
#include <stdlib.h>

#include "test-util.h"
#include "uid-count.h"

START_TEST(test_counts) {
        UidCount *list = NULL;

        ck_assert_uint_eq(uid_count_get(list, 1000), 0);
        ck_assert_int_eq(uid_count_inc(&list, 1000), 0);
        ck_assert_int_eq(uid_count_inc(&list, 1000), 0);
        ck_assert_int_eq(uid_count_inc(&list, 0), 0);
        ck_assert_int_eq(uid_count_inc(&list, (uid_t) -2), 0);
        ck_assert_uint_eq(uid_count_get(list, 1000), 2);
        ck_assert_uint_eq(uid_count_get(list, 0), 1);
        ck_assert_uint_eq(uid_count_get(list, (uid_t) -2), 1);
        ck_assert_uint_eq(uid_count_get(list, 1001), 0);

        /* At zero a uid is forgotten, whichever place in the list it had. */
        uid_count_dec(&list, 0);
        ck_assert_uint_eq(uid_count_get(list, 0), 0);
        uid_count_dec(&list, 1000);
        ck_assert_uint_eq(uid_count_get(list, 1000), 1);
        uid_count_dec(&list, (uid_t) -2);
        uid_count_dec(&list, 1000);
        ck_assert_ptr_null(list);

        /* A uid not counted stays at zero: no underflow. */
        uid_count_dec(&list, 1000);
        ck_assert_uint_eq(uid_count_get(list, 1000), 0);
        ck_assert_ptr_null(list);
}
END_TEST

START_TEST(test_free) {
        UidCount *list = NULL;

        for (uid_t u = 0; u < 100; u++)
                ck_assert_int_eq(uid_count_inc(&list, u), 0);
        ck_assert_uint_eq(uid_count_get(list, 99), 1);
        uid_count_free(&list);
        ck_assert_ptr_null(list);
        uid_count_free(&list);
}
END_TEST

static Suite *uid_count_suite(void) {
        Suite *s = suite_create("uid-count");
        TCase *tc = tcase_create("uid-count");

        tcase_add_test(tc, test_counts);
        tcase_add_test(tc, test_free);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(uid_count_suite);
