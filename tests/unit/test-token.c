/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "test-util.h"
#include "token.h"

START_TEST(test_generate_and_format) {
        _cleanup_(token_freep) Token *a = token_new(), *b = token_new();
        _cleanup_token_string_ TokenString s = {};
        _cleanup_token_ Token back = {};

        ck_assert_ptr_nonnull(a);
        ck_assert_ptr_nonnull(b);
        ck_assert(token_is_null(a));
        token_generate(a);
        token_generate(b);
        ck_assert(!token_is_null(a));
        ck_assert(!token_equal(a, b));
        /* Version 4, RFC 4122 variant. */
        ck_assert_int_eq(a->bytes[6] >> 4, 4);
        ck_assert_int_eq(a->bytes[8] >> 6, 2);

        token_to_string(a, &s);
        ck_assert_uint_eq(strlen(s.s), 36);
        for (size_t i = 0; i < 36; i++)
                ck_assert(s.s[i] == '-' || (s.s[i] >= '0' && s.s[i] <= '9') || (s.s[i] >= 'a' && s.s[i] <= 'f'));
        ck_assert_int_eq(token_from_string(s.s, &back), 0);
        ck_assert(token_equal(a, &back));
}
END_TEST

START_TEST(test_parse) {
        _cleanup_token_ Token t = {}, u = {};
        _cleanup_token_string_ TokenString s = {};

        ck_assert_int_eq(token_from_string("BD8D9D2B-5A5F-4F5A-A211-F591514BA1F3", &t), 0);
        token_to_string(&t, &s);
        ck_assert_str_eq(s.s, "bd8d9d2b-5a5f-4f5a-a211-f591514ba1f3");

        memset(&u, 0x55, sizeof u);
        ck_assert_int_eq(token_from_string("bd8d9d2b-5a5f-4f5a-a211-f591514ba1f", &u), -EINVAL);
        ck_assert_int_eq(token_from_string("bd8d9d2b-5a5f-4f5a-a211-f591514ba1f33", &u), -EINVAL);
        ck_assert_int_eq(token_from_string("bd8d9d2b5a5f-4f5a-a211-f591514ba1f3-", &u), -EINVAL);
        ck_assert_int_eq(token_from_string("gd8d9d2b-5a5f-4f5a-a211-f591514ba1f3", &u), -EINVAL);
        ck_assert_int_eq(token_from_string(" d8d9d2b-5a5f-4f5a-a211-f591514ba1f3", &u), -EINVAL);
        ck_assert_int_eq(token_from_string("", &u), -EINVAL);
        ck_assert_int_eq(token_from_string(NULL, &u), -EINVAL);
        /* Untouched on error. */
        for (size_t i = 0; i < TOKEN_SIZE; i++)
                ck_assert_int_eq(u.bytes[i], 0x55);
}
END_TEST

START_TEST(test_wipe) {
        TokenString s;
        Token t;

        token_generate(&t);
        token_to_string(&t, &s);
        token_wipe(&t);
        token_string_wipe(&s);
        ck_assert(token_is_null(&t));
        for (size_t i = 0; i < sizeof s.s; i++)
                ck_assert_int_eq(s.s[i], 0);
}
END_TEST

START_TEST(test_pool) {
        Token *many[300];
        size_t before = token_pool_used();

        /* More than one page of slots: the pool grows, and frees give slots back, wiped. */
        for (size_t i = 0; i < 300; i++) {
                many[i] = token_new();
                ck_assert_ptr_nonnull(many[i]);
                token_generate(many[i]);
        }
        ck_assert_uint_eq(token_pool_used(), before + 300);
        /* Token memory is locked (mlock or memfd_secret) within the default RLIMIT_MEMLOCK. */
        ck_assert(token_pool_locked());
        for (size_t i = 0; i < 300; i++)
                ck_assert_ptr_null(token_free(many[i]));
        ck_assert_uint_eq(token_pool_used(), before);
        Token *again = token_new();
        ck_assert(token_is_null(again));
        token_free(again);
        ck_assert_ptr_null(token_free(NULL));
}
END_TEST

START_TEST(test_equal_constant_shape) {
        Token a = {}, b = {};

        ck_assert(token_equal(&a, &b));
        b.bytes[15] = 1;
        ck_assert(!token_equal(&a, &b));
        b.bytes[15] = 0;
        b.bytes[0] = 0x80;
        ck_assert(!token_equal(&a, &b));
        token_copy(&a, &b);
        ck_assert(token_equal(&a, &b));
}
END_TEST

static Suite *token_suite(void) {
        Suite *s = suite_create("token");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_generate_and_format);
        tcase_add_test(tc, test_parse);
        tcase_add_test(tc, test_wipe);
        tcase_add_test(tc, test_pool);
        tcase_add_test(tc, test_equal_constant_shape);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(token_suite);
