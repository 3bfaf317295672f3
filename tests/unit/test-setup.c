/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/setup.c (the root half, vfio-tokend --setup) on fixture sysfs trees: what it
 * writes, what it refuses to touch, and above all that it is idempotent: run again before every
 * (re)start, it must leave an already bound, already enabled PF exactly as it is. */

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "fixture.h"
#include "log.h"
#include "macro.h"
#include "setup.h"

#define PF "0000:01:00.0"
#define PF_DEV "sys/bus/pci/devices/" PF "/"

static Fixture *fixture;

static void setup(void) {
        log_set_target_journal(0);
        ck_assert_int_eq(fixture_new(NULL, &fixture), 0);
}

static void teardown(void) {
        fixture = fixture_free(fixture);
}

static Config *conf(const char *text) {
        Config *c = NULL;

        ck_assert_int_eq(config_load_string("test.conf", text, &c, NULL), 0);
        return c;
}

static char *file(const char *rel) {
        char *s = NULL;

        ck_assert_int_eq(fixture_read_file(fixture, rel, &s), 0);
        return s;
}

static int run(const char *text, uid_t uid, gid_t gid) {
        _cleanup_(config_freep) Config *c = conf(text);

        return setup_all(c, fixture_sysfs(fixture), fixture_dev(fixture), uid, gid);
}

/* Already bound, already enabled: nothing is written, however often it runs; only the group
 * node is handed to the service user. */
START_TEST(test_idempotent) {
        _cleanup_free_ char *override = NULL, *numvfs = NULL, *probe = NULL;
        char node[4096];
        struct stat st;

        ck_assert_int_eq(fixture_add_pf(fixture, PF, "vfio-pci", 4, 2, 10), 0);
        for (int i = 0; i < 3; i++)
                ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\nNumVFs=2\nBindVFIO=yes\n", 65534, 65534), 0);

        override = file(PF_DEV "driver_override");
        ck_assert_str_eq(override, "(null)\n");
        numvfs = file(PF_DEV "sriov_numvfs");
        ck_assert_str_eq(numvfs, "2\n");
        probe = file("sys/bus/pci/drivers_probe");
        ck_assert_str_eq(probe, "");

        snprintf(node, sizeof node, "%s/vfio/10", fixture_dev(fixture));
        ck_assert_int_eq(stat(node, &st), 0);
        ck_assert_uint_eq(st.st_uid, 65534);
        ck_assert_uint_eq(st.st_gid, 65534);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
}
END_TEST

/* On another driver with BindVFIO=yes: driver_override, unbind, drivers_probe, in that order of
 * files (a fixture cannot bind, so the PF stays on nvme and setup reports it). */
START_TEST(test_bind) {
        _cleanup_free_ char *override = NULL, *unbind = NULL, *probe = NULL;

        ck_assert_int_eq(fixture_add_pf(fixture, PF, "nvme", 4, 0, 10), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\nBindVFIO=yes\n", (uid_t) -1, (gid_t) -1), 1);
        override = file(PF_DEV "driver_override");
        ck_assert_str_eq(override, "vfio-pci");
        unbind = file("sys/bus/pci/drivers/nvme/unbind");
        ck_assert_str_eq(unbind, PF);
        probe = file("sys/bus/pci/drivers_probe");
        ck_assert_str_eq(probe, PF);
}
END_TEST

/* On another driver without BindVFIO: left alone. */
START_TEST(test_no_bind) {
        _cleanup_free_ char *override = NULL, *probe = NULL;

        ck_assert_int_eq(fixture_add_pf(fixture, PF, "nvme", 4, 0, 10), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\n", (uid_t) -1, (gid_t) -1), 1);
        override = file(PF_DEV "driver_override");
        ck_assert_str_eq(override, "(null)\n");
        probe = file("sys/bus/pci/drivers_probe");
        ck_assert_str_eq(probe, "");
}
END_TEST

/* VFs enabled under another driver: vfio-pci would refuse the PF (EBUSY), and disabling the VFs
 * is the admin's call: nothing is written. */
START_TEST(test_bind_refused_with_vfs) {
        _cleanup_free_ char *override = NULL, *numvfs = NULL;

        ck_assert_int_eq(fixture_add_pf(fixture, PF, "nvme", 4, 2, 10), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\nBindVFIO=yes\n", (uid_t) -1, (gid_t) -1), 1);
        override = file(PF_DEV "driver_override");
        ck_assert_str_eq(override, "(null)\n");
        numvfs = file(PF_DEV "sriov_numvfs");
        ck_assert_str_eq(numvfs, "2\n");
}
END_TEST

/* No VFs yet: NumVFs is written. A live, different count is never changed (that would mean
 * going through 0, which blocks while a VF is open and pulls VFs from their users). */
START_TEST(test_num_vfs) {
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(fixture_add_pf(fixture, PF, "vfio-pci", 4, 0, 10), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\nNumVFs=2\n", (uid_t) -1, (gid_t) -1), 0);
        a = file(PF_DEV "sriov_numvfs");
        ck_assert_str_eq(a, "2");

        ck_assert_int_eq(fixture_set_num_vfs(fixture, PF, 2), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\nNumVFs=3\n", (uid_t) -1, (gid_t) -1), 1);
        b = file(PF_DEV "sriov_numvfs");
        ck_assert_str_eq(b, "2\n");
}
END_TEST

START_TEST(test_num_vfs_beyond_total) {
        _cleanup_free_ char *a = NULL;

        ck_assert_int_eq(fixture_add_pf(fixture, PF, "vfio-pci", 4, 0, 10), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\nNumVFs=8\n", (uid_t) -1, (gid_t) -1), 1);
        a = file(PF_DEV "sriov_numvfs");
        ck_assert_str_eq(a, "0\n");
}
END_TEST

/* One PF that cannot be set up never stops the others. */
START_TEST(test_others_go_on) {
        ck_assert_int_eq(fixture_add_pf(fixture, PF, "vfio-pci", 4, 2, 10), 0);
        ck_assert_int_eq(fixture_add_device(fixture, "0000:03:00.0", "vfio-pci", 30), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=0000:02:00.0\n"
                             "[PhysicalFunction]\nAddress=0000:03:00.0\n"
                             "[PhysicalFunction]\nAddress=" PF "\nNumVFs=2\n",
                             65534, 65534),
                         2);
        {
                char node[4096];
                struct stat st;

                snprintf(node, sizeof node, "%s/vfio/10", fixture_dev(fixture));
                ck_assert_int_eq(stat(node, &st), 0);
                ck_assert_uint_eq(st.st_uid, 65534);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("setup");
        TCase *tc = tcase_create("setup");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_idempotent);
        tcase_add_test(tc, test_bind);
        tcase_add_test(tc, test_no_bind);
        tcase_add_test(tc, test_bind_refused_with_vfs);
        tcase_add_test(tc, test_num_vfs);
        tcase_add_test(tc, test_num_vfs_beyond_total);
        tcase_add_test(tc, test_others_go_on);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
