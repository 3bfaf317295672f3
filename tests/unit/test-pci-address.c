/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>

#include "pci-address.h"
#include "test-util.h"

START_TEST(test_valid) {
        char a[PCI_ADDRESS_MAX];

        ck_assert_int_eq(pci_address_parse("0000:3b:02.3", a), 0);
        ck_assert_str_eq(a, "0000:3b:02.3");
        ck_assert_int_eq(pci_address_parse("0000:3B:1F.7", a), 0);
        ck_assert_str_eq(a, "0000:3b:1f.7");
        ck_assert_int_eq(pci_address_parse("10000:00:00.0", a), 0); /* VMD domain */
        ck_assert_str_eq(a, "10000:00:00.0");
        ck_assert_int_eq(pci_address_parse("00000001:01:00.0", a), 0);
        ck_assert_str_eq(a, "0001:01:00.0");
}
END_TEST

START_TEST(test_invalid) {
        static const char *const bad[] = {
                "", "0000:3b:02", "0000:3b:02.8", "0000:3b:20.0", "000:3b:02.3", "0000:3b:2.3", "0000:3b:02.3 ",
                " 0000:3b:02.3", "0000:3b:02.3 vf_token=x", "0000-3b-02.3", "000000000:3b:02.3", "0000:3g:02.3",
                "0000:3b:02.", "0000:3b:02.33", "../../etc", "0000:3b:02.3/../x",
        };
        char a[PCI_ADDRESS_MAX] = "untouched";

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                ck_assert_msg(pci_address_parse(bad[i], a) == -EINVAL, "accepted '%s'", bad[i]);
                ck_assert(!pci_address_is_valid(bad[i]));
        }
        ck_assert_int_eq(pci_address_parse(NULL, a), -EINVAL);
        ck_assert_str_eq(a, "untouched");
}
END_TEST

START_TEST(test_escape) {
        char e[PCI_ADDRESS_MAX];

        pci_address_escape("0000:3b:00.0", e);
        ck_assert_str_eq(e, "0000_3b_00.0");
}
END_TEST

static Suite *pci_address_suite(void) {
        Suite *s = suite_create("pci-address");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_valid);
        tcase_add_test(tc, test_invalid);
        tcase_add_test(tc, test_escape);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(pci_address_suite);
