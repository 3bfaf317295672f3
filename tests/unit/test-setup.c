/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/setup.c (the root half, vfio-tokend --setup) on fixture sysfs trees: what it
 * writes, what it refuses to touch, and above all that it is idempotent: run again before every
 * (re)start, it must leave an already bound, already enabled PF exactly as it is. */

#include <check.h>
#include <endian.h>
#include <stdint.h>
#include <sys/xattr.h>
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
#include "test-util.h"

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

/* ---- Api=cdev: the PF's cdev node to the service user (0600), /dev/iommu through an ACL ---- */

typedef struct AclEntryLE {
        uint16_t tag, perm;
        uint32_t id;
} AclEntryLE;

/* dev/iommu's ACL entries (tag, perm, id), as the kernel keeps them; returns how many. */
static size_t iommu_acl(AclEntryLE *e, size_t max) {
        uint8_t buf[4 + 64 * 8];
        char path[4096];
        ssize_t n;
        uint32_t v;

        snprintf(path, sizeof path, "%s/iommu", fixture_dev(fixture));
        n = getxattr(path, "system.posix_acl_access", buf, sizeof buf);
        ck_assert_int_ge(n, 4);
        memcpy(&v, buf, 4);
        ck_assert_uint_eq(le32toh(v), 2);
        ck_assert_int_eq((n - 4) % 8, 0);
        ck_assert_uint_le((size_t) (n - 4) / 8, max);
        for (size_t i = 0; i < (size_t) (n - 4) / 8; i++) {
                memcpy(&e[i], buf + 4 + 8 * i, 8);
                e[i] = (AclEntryLE) { le16toh(e[i].tag), le16toh(e[i].perm), le32toh(e[i].id) };
        }
        return (size_t) (n - 4) / 8;
}

static void stat_dev(const char *rel, struct stat *st) {
        char path[4096];

        snprintf(path, sizeof path, "%s/%s", fixture_dev(fixture), rel);
        ck_assert_int_eq(stat(path, st), 0);
}

START_TEST(test_cdev_nodes) {
        static const char conf_cdev[] = "[PhysicalFunction]\nAddress=" PF "\nApi=cdev\n";
        AclEntryLE e[64];
        struct stat st;
        size_t n;

        ck_assert_int_eq(fixture_add_pf(fixture, PF, "vfio-pci", 4, 2, 10), 0);
        /* Another user's entry (as udev's uaccess makes) is there first and must stay. */
        ck_assert_int_eq(run(conf_cdev, 1234, 1234), 0);
        for (int i = 0; i < 2; i++)
                ck_assert_int_eq(run(conf_cdev, 65534, 65534), 0);

        stat_dev("vfio/devices/vfio0", &st);
        ck_assert_uint_eq(st.st_uid, 65534);
        ck_assert_uint_eq(st.st_gid, 65534);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        /* The group node is not the daemon's on this API. */
        stat_dev("vfio/10", &st);
        ck_assert_uint_eq(st.st_uid, 0);

        /* USER_OBJ, USER 1234, USER 65534, GROUP_OBJ, MASK, OTHER: in the kernel's order, each
         * user once, rw, the mask letting rw through, the owner's bits as they were. */
        n = iommu_acl(e, ELEMENTSOF(e));
        ck_assert_uint_eq(n, 6);
        ck_assert_uint_eq(e[0].tag, 0x01);
        ck_assert_uint_eq(e[1].tag, 0x02);
        ck_assert_uint_eq(e[1].id, 1234);
        ck_assert_uint_eq(e[1].perm, 6);
        ck_assert_uint_eq(e[2].tag, 0x02);
        ck_assert_uint_eq(e[2].id, 65534);
        ck_assert_uint_eq(e[2].perm, 6);
        ck_assert_uint_eq(e[3].tag, 0x04);
        ck_assert_uint_eq(e[4].tag, 0x10);
        ck_assert_uint_eq(e[4].perm & 6, 6);
        ck_assert_uint_eq(e[5].tag, 0x20);
        stat_dev("iommu", &st);
        ck_assert_uint_eq(st.st_uid, 0);
        ck_assert_uint_eq((st.st_mode >> 3) & 7, e[4].perm); /* the group bits show the mask */
}
END_TEST

/* Api=auto on a kernel without the group API (no /dev/vfio/vfio) sets up the cdev; Api=cdev on
 * one without cdevs is a failure of that PF, named. */
START_TEST(test_cdev_auto_and_missing) {
        char path[4096];
        struct stat st;

        ck_assert_int_eq(fixture_add_pf(fixture, PF, "vfio-pci", 4, 2, 10), 0);
        snprintf(path, sizeof path, "%s/vfio/vfio", fixture_dev(fixture));
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\n", 65534, 65534), 0);
        stat_dev("vfio/devices/vfio0", &st);
        ck_assert_uint_eq(st.st_uid, 65534);

        snprintf(path, sizeof path, "%s/bus/pci/devices/" PF "/vfio-dev", fixture_sysfs(fixture));
        ck_assert_int_eq(test_rm_rf(path), 0);
        ck_assert_int_eq(run("[PhysicalFunction]\nAddress=" PF "\nApi=cdev\n", 65534, 65534), 1);
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
        tcase_add_test(tc, test_cdev_nodes);
        tcase_add_test(tc, test_cdev_auto_and_missing);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
