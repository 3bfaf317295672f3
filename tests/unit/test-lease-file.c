/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests for daemon/lease-file.c: the leases on disk, their text, round trips, refusals of
 * damaged files, and the file in a state directory (0600, no symlink followed). */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "lease-file.h"
#include "macro.h"
#include "state-file.h"
#include "test-util.h"

static LeaseRecords two(void) {
        static LeaseRecord r[2] = {
                { .id = 3, .pf = "0000:3b:00.0", .device = "0000:3b:02.1", .owner = ":1.42", .uid = 1000, .pid = 4242,
                  .acquired_usec = 1700000000000000 },
                { .id = 9, .pf = "0000:3b:00.0", .device = "0000:3b:00.0", .owner = ":1.7", .uid = 0, .pid = 1,
                  .acquired_usec = 1 },
        };
        return (LeaseRecords) { .next_id = 10, .records = r, .n = 2 };
}

START_TEST(test_round_trip) {
        _cleanup_free_ char *text = NULL;
        LeaseRecords in = two(), out = {};
        size_t len;

        ck_assert_int_eq(lease_records_format(&in, &text, &len), 0);
        ck_assert_int_eq(lease_records_parse(text, len, &out), 0);
        ck_assert_uint_eq(out.next_id, 10);
        ck_assert_uint_eq(out.n, 2);
        for (size_t i = 0; i < 2; i++) {
                ck_assert_uint_eq(out.records[i].id, in.records[i].id);
                ck_assert_str_eq(out.records[i].pf, in.records[i].pf);
                ck_assert_str_eq(out.records[i].device, in.records[i].device);
                ck_assert_str_eq(out.records[i].owner, in.records[i].owner);
                ck_assert_uint_eq(out.records[i].uid, in.records[i].uid);
                ck_assert_uint_eq(out.records[i].pid, in.records[i].pid);
                ck_assert_uint_eq(out.records[i].acquired_usec, in.records[i].acquired_usec);
        }
        lease_records_done(&out);

        /* No leases: still a valid file, keeping the next id. */
        free(text);
        text = NULL;
        in.n = 0;
        ck_assert_int_eq(lease_records_format(&in, &text, &len), 0);
        ck_assert_int_eq(lease_records_parse(text, len, &out), 0);
        ck_assert_uint_eq(out.n, 0);
        ck_assert_uint_eq(out.next_id, 10);
        lease_records_done(&out);
}
END_TEST

START_TEST(test_every_cut_and_damage_refused) {
        _cleanup_free_ char *text = NULL;
        LeaseRecords in = two(), out = {};
        size_t len;
        static const char *const bad[] = {
                "lease 3 0000:3b:00.0 0000:3b:02.1 :1.42 1000 4242 1\n",            /* no header, no next */
                "# vfio-tokend leases, version 1: no token in here\nlease 3 0000:3b:00.0 0000:3b:02.1 :1.42 1000 4242 1\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 3\nlease 3 0000:3b:00.0 0000:3b:02.1 :1.42 1000 4242 1\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nlease 0 0000:3b:00.0 0000:3b:02.1 :1.42 1000 4242 1\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nlease 3 0000:3b:00 0000:3b:02.1 :1.42 1000 4242 1\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nlease 3 0000:3b:00.0 0000:3b:02.1 1.42 1000 4242 1\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nlease 3 0000:3b:00.0 0000:3b:02.1 :1.4/2 1000 4242 1\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nlease 3 0000:3b:00.0 0000:3b:02.1 :1.42 -1 4242 1\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nlease 3 0000:3b:00.0 0000:3b:02.1 :1.42 1000 0 1\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nlease 3 0000:3b:00.0 0000:3b:02.1 :1.42 1000 4242\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nlease 3 0000:3b:00.0 0000:3b:02.1 :1.42 1000 4242 1 x\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\ntoken 0123\n"
                "end\n",
                "# vfio-tokend leases, version 1: no token in here\nnext 9\nend\nlease 3 0000:3b:00.0 0000:3b:02.1 :1.42 1000 4242 1\n",
                "# vfio-tokend leases, version 2: no token in here\nnext 9\n"
                "end\n",
        };

        ck_assert_int_eq(lease_records_format(&in, &text, &len), 0);
        /* A file cut anywhere is refused whole (every line ends with a newline, the file with "end"). */
        for (size_t cut = 0; cut < len; cut++)
                ck_assert_int_eq(lease_records_parse(text, cut, &out), -EBADMSG);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(lease_records_parse(bad[i], strlen(bad[i]), &out) == -EBADMSG, "accepted: %s", bad[i]);
}
END_TEST

START_TEST(test_file) {
        _cleanup_free_ char *dir = NULL, *path = NULL;
        _cleanup_close_ int fd = -1;
        LeaseRecords in = two(), out = {};
        struct stat st;

        ck_assert_int_ge(asprintf(&dir, "%s/test-lease-file-XXXXXX", getenv("TMPDIR") ?: "/tmp"), 0);
        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(state_dir_open(dir, &fd), 0);
        ck_assert_int_eq(lease_file_load(fd, &out), -ENOENT);

        ck_assert_int_eq(lease_file_save(fd, &in), 0);
        ck_assert_int_ge(asprintf(&path, "%s/" LEASE_FILE_NAME, dir), 0);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(lease_file_load(fd, &out), 0);
        ck_assert_uint_eq(out.n, 2);
        lease_records_done(&out);

        /* A symlink in its place is never followed. */
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(symlink("/etc/passwd", path), 0);
        ck_assert_int_eq(lease_file_load(fd, &out), -EBADMSG);
        ck_assert_int_eq(unlink(path), 0);
        ck_assert_int_eq(test_rm_rf(dir), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("lease-file");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_every_cut_and_damage_refused);
        tcase_add_test(tc, test_file);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
