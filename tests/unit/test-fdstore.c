/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/fdstore.c against the real protocol: a datagram socket standing in for the
 * service manager's NOTIFY_SOCKET, and fds placed at 3.. with LISTEN_* as systemd passes them. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fdstore.h"
#include "macro.h"
#include "string-util.h"
#include "strv.h"
#include "test-util.h"

#define ADDR "0000:3b:00.0"

/* ---- Names ------------------------------------------------------------------------------ */

START_TEST(test_names) {
        char buf[64];

        fdstore_name(ADDR, VFIO_API_GROUP, VFIO_FD_CONTAINER, buf, sizeof buf);
        ck_assert_str_eq(buf, "pf-0000_3b_00.0-container");
        fdstore_name(ADDR, VFIO_API_GROUP, VFIO_FD_GROUP, buf, sizeof buf);
        ck_assert_str_eq(buf, "pf-0000_3b_00.0-group");
        fdstore_name(ADDR, VFIO_API_GROUP, VFIO_FD_DEVICE, buf, sizeof buf);
        ck_assert_str_eq(buf, "pf-0000_3b_00.0-device");
        fdstore_name(ADDR, VFIO_API_CDEV, VFIO_FD_CONTAINER, buf, sizeof buf);
        ck_assert_str_eq(buf, "pf-0000_3b_00.0-iommufd");
        fdstore_name(ADDR, VFIO_API_CDEV, VFIO_FD_DEVICE, buf, sizeof buf);
        ck_assert_str_eq(buf, "pf-0000_3b_00.0-cdev");
        fdstore_name(ADDR, VFIO_API_CDEV, VFIO_FD_GROUP, buf, sizeof buf);
        ck_assert_str_eq(buf, "");
        fdstore_name("10000:00:1f.7", VFIO_API_GROUP, VFIO_FD_DEVICE, buf, sizeof buf);
        ck_assert_str_eq(buf, "pf-10000_00_1f.7-device");
        ck_assert_ptr_null(strchr(buf, ':'));
}
END_TEST

/* ---- Pushing ---------------------------------------------------------------------------- */

static char *sock_dir;
static int notify_fd = -1;

/* A bound datagram socket in a fresh directory, and NOTIFY_SOCKET pointing at it. */
static void notify_setup(void) {
        ck_assert_int_eq(test_tmpdir_new("test-fdstore", &sock_dir), 0);
        notify_fd = test_notify_open(sock_dir);
        ck_assert_int_ge(notify_fd, 0);
}

static void notify_teardown(void) {
        notify_fd = test_notify_close(notify_fd);
        (void) test_rm_rf(sock_dir);
        sock_dir = mfree(sock_dir);
}

/* The next datagram: 1, or 0 if none is queued, or -errno. No check assertions in here: it also
 * runs in the children below. */
static int receive(TestNotify *ret) {
        return test_notify_receive(notify_fd, 0, ret);
}

static bool same_file(int a, int b) {
        struct stat sa, sb;

        ck_assert_int_eq(fstat(a, &sa), 0);
        ck_assert_int_eq(fstat(b, &sb), 0);
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int new_file(void) {
        int fd = memfd_create("test-fdstore", MFD_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        return fd;
}

static void expect_push(const char *name, int original) {
        TestNotify d;
        char want[128];

        ck_assert_int_eq(receive(&d), 1);
        snprintf(want, sizeof want, "FDSTORE=1\nFDNAME=%s", name);
        ck_assert_str_eq(d.text, want);
        ck_assert_uint_eq(d.n_fds, 1);
        ck_assert(same_file(d.fds[0], original));
        test_notify_done(&d);
}

static void expect_remove(const char *name) {
        TestNotify d;
        char want[128];

        ck_assert_int_eq(receive(&d), 1);
        snprintf(want, sizeof want, "FDSTOREREMOVE=1\nFDNAME=%s", name);
        ck_assert_str_eq(d.text, want);
        ck_assert_uint_eq(d.n_fds, 0);
}

static void expect_remove_all(void) {
        expect_remove("pf-0000_3b_00.0-container");
        expect_remove("pf-0000_3b_00.0-group");
        expect_remove("pf-0000_3b_00.0-device");
        expect_remove("pf-0000_3b_00.0-iommufd");
        expect_remove("pf-0000_3b_00.0-cdev");
}

static bool nothing_queued(void) {
        TestNotify d;
        int r;

        r = receive(&d);
        ck_assert_int_ge(r, 0);
        test_notify_done(&d);
        return r == 0;
}

START_TEST(test_push_group) {
        int fds[_VFIO_FD_MAX] = { new_file(), new_file(), new_file() };

        ck_assert_int_eq(fdstore_push_fds(ADDR, VFIO_API_GROUP, fds), 3);
        expect_push("pf-0000_3b_00.0-container", fds[VFIO_FD_CONTAINER]);
        expect_push("pf-0000_3b_00.0-group", fds[VFIO_FD_GROUP]);
        expect_push("pf-0000_3b_00.0-device", fds[VFIO_FD_DEVICE]);
        ck_assert(nothing_queued());

        /* Our fds stay ours. */
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                ck_assert_int_eq(close(fds[i]), 0);
}
END_TEST

START_TEST(test_push_cdev) {
        int fds[_VFIO_FD_MAX] = { new_file(), -1, new_file() };

        ck_assert_int_eq(fdstore_push_fds(ADDR, VFIO_API_CDEV, fds), 2);
        expect_push("pf-0000_3b_00.0-iommufd", fds[VFIO_FD_CONTAINER]);
        expect_push("pf-0000_3b_00.0-cdev", fds[VFIO_FD_DEVICE]);
        ck_assert(nothing_queued());
        close(fds[0]);
        close(fds[2]);
}
END_TEST

START_TEST(test_push_invalid) {
        int a = new_file(), b = new_file(), c = new_file();

        /* Exactly the API's set, or nothing is sent: a partial set would be refused at restart. */
        ck_assert_int_eq(fdstore_push_fds(ADDR, VFIO_API_GROUP, (int[]) { a, -1, c }), -EINVAL);
        ck_assert_int_eq(fdstore_push_fds(ADDR, VFIO_API_CDEV, (int[]) { a, b, c }), -EINVAL);
        ck_assert_int_eq(fdstore_push_fds(ADDR, VFIO_API_CDEV, (int[]) { -1, -1, c }), -EINVAL);
        ck_assert_int_eq(fdstore_push_fds(ADDR, _VFIO_API_MAX, (int[]) { a, b, c }), -EINVAL);
        ck_assert_int_eq(fdstore_push_fds("0000:3b:00", VFIO_API_GROUP, (int[]) { a, b, c }), -EINVAL);
        ck_assert_int_eq(fdstore_remove("nope"), -EINVAL);
        ck_assert(nothing_queued());
        close(a);
        close(b);
        close(c);
}
END_TEST

START_TEST(test_push_failure_takes_back) {
        int a = new_file(), c = new_file(), closed;

        /* The second message fails (a bad fd): the first one is asked back. The bad fd number is
         * high so that the socket sd_notify opens cannot take it. */
        closed = fcntl(a, F_DUPFD_CLOEXEC, 500);
        ck_assert_int_ge(closed, 500);
        close(closed);
        ck_assert_int_eq(fdstore_push_fds(ADDR, VFIO_API_GROUP, (int[]) { a, closed, c }), -EBADF);
        expect_push("pf-0000_3b_00.0-container", a);
        expect_remove_all();
        ck_assert(nothing_queued());
        close(a);
        close(c);
}
END_TEST

START_TEST(test_remove) {
        ck_assert_int_eq(fdstore_remove("0000:3B:00.0"), 5);
        expect_remove_all();
        ck_assert(nothing_queued());
}
END_TEST

START_TEST(test_no_notify_socket) {
        int fds[_VFIO_FD_MAX] = { new_file(), new_file(), new_file() };

        unsetenv("NOTIFY_SOCKET");
        ck_assert_int_eq(fdstore_push_fds(ADDR, VFIO_API_GROUP, fds), 0);
        ck_assert_int_eq(fdstore_remove(ADDR), 0);
        ck_assert(nothing_queued());
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                close(fds[i]);
}
END_TEST

/* ---- Collecting --------------------------------------------------------------------------
 * These run in a child of their own: they put fds at 3.. as systemd does, which would clobber
 * whatever the test framework keeps there (check's own channel in fork mode). The child reports
 * failures on stderr and through its exit status; it must not call ck_assert. */

#define MAX_PASSED 32

typedef struct Passed {
        const char *names[MAX_PASSED];
        ino_t inodes[MAX_PASSED];
        size_t n;
} Passed;

static ino_t inode_of(int fd) {
        struct stat st;

        CHILD_CHECK(fstat(fd, &st) == 0);
        return st.st_ino;
}

static bool is_open(int fd) {
        return fcntl(fd, F_GETFD) >= 0;
}

/* Places the files `src` (fresh ones if NULL) at 3, 4, ... (inheritable, as after exec) and sets
 * LISTEN_* for them. */
static void pass_fds(Passed *p, const char *const *names, const int *src, size_t n) {
        CHILD_CHECK(n <= MAX_PASSED);
        CHILD_CHECK(test_pass_fds(names, src, n) == 0);
        for (size_t i = 0; i < n; i++) {
                p->names[i] = names[i];
                p->inodes[i] = inode_of(SD_LISTEN_FDS_START + (int) i);
        }
        p->n = n;
}

static ino_t passed_inode(const Passed *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (streq(p->names[i], name))
                        return p->inodes[i];
        CHILD_CHECK(!"name not passed");
        return 0;
}

static void child_collect_take(void *userdata) {
        static const char *const names[] = {
                /* a full group-API set, in an order of systemd's choosing */
                "pf-0000_3b_00.0-device", "pf-0000_3b_00.0-container", "pf-0000_3b_00.0-group",
                /* a full cdev set */
                "pf-0000_5e_00.0-cdev", "pf-0000_5e_00.0-iommufd",
                /* partial: the device fd is missing */
                "pf-0000_af_00.0-container", "pf-0000_af_00.0-group",
                /* both APIs mixed */
                "pf-0000_d8_00.0-iommufd", "pf-0000_d8_00.0-container", "pf-0000_d8_00.0-group",
                "pf-0000_d8_00.0-device",
                /* a name twice */
                "pf-0000_3b_00.1-container", "pf-0000_3b_00.1-container", "pf-0000_3b_00.1-group",
                "pf-0000_3b_00.1-device",
                /* not ours / not a kind we know */
                "stray", "pf-0000_3b_00.2-foo",
        };
        FdStore *s = NULL;
        char **left;
        Passed p = {};
        int fds[_VFIO_FD_MAX], r;
        const int first = SD_LISTEN_FDS_START, n = (int) ELEMENTSOF(names);

        pass_fds(&p, names, NULL, ELEMENTSOF(names));
        CHILD_CHECK(fdstore_collect(&s) == 0);
        CHILD_CHECK(s);
        CHILD_CHECK(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES"));
        for (int fd = first; fd < first + n; fd++)
                CHILD_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);

        /* The group set, in kind order whatever order it was passed in. */
        r = fdstore_take(s, "0000:3B:00.0", fds);
        CHILD_CHECK(r == VFIO_API_GROUP);
        CHILD_CHECK(inode_of(fds[VFIO_FD_CONTAINER]) == passed_inode(&p, "pf-0000_3b_00.0-container"));
        CHILD_CHECK(inode_of(fds[VFIO_FD_GROUP]) == passed_inode(&p, "pf-0000_3b_00.0-group"));
        CHILD_CHECK(inode_of(fds[VFIO_FD_DEVICE]) == passed_inode(&p, "pf-0000_3b_00.0-device"));
        for (size_t k = 0; k < _VFIO_FD_MAX; k++)
                close(fds[k]);
        /* Taken means gone from the store. */
        CHILD_CHECK(fdstore_take(s, "0000:3b:00.0", fds) == -ENOENT);

        r = fdstore_take(s, "0000:5e:00.0", fds);
        CHILD_CHECK(r == VFIO_API_CDEV);
        CHILD_CHECK(inode_of(fds[VFIO_FD_CONTAINER]) == passed_inode(&p, "pf-0000_5e_00.0-iommufd"));
        CHILD_CHECK(fds[VFIO_FD_GROUP] == -1);
        CHILD_CHECK(inode_of(fds[VFIO_FD_DEVICE]) == passed_inode(&p, "pf-0000_5e_00.0-cdev"));
        close(fds[VFIO_FD_CONTAINER]);
        close(fds[VFIO_FD_DEVICE]);

        /* Partial, mixed and duplicated sets are refused and their fds closed (passed 5..14). */
        fds[0] = fds[1] = fds[2] = 12345;
        CHILD_CHECK(fdstore_take(s, "0000:af:00.0", fds) == -EBADMSG);
        CHILD_CHECK(fds[0] == 12345 && fds[1] == 12345 && fds[2] == 12345);
        CHILD_CHECK(!is_open(first + 5) && !is_open(first + 6));
        CHILD_CHECK(fdstore_take(s, "0000:af:00.0", fds) == -ENOENT);
        CHILD_CHECK(fdstore_take(s, "0000:d8:00.0", fds) == -EBADMSG);
        CHILD_CHECK(fdstore_take(s, "0000:3b:00.1", fds) == -EBADMSG);
        for (int fd = first + 5; fd < first + 15; fd++)
                CHILD_CHECK(!is_open(fd));

        /* Unknown PFs and malformed addresses. */
        CHILD_CHECK(fdstore_take(s, "0000:00:00.0", fds) == -ENOENT);
        CHILD_CHECK(fdstore_take(s, "0000:3b:00.2", fds) == -ENOENT);
        CHILD_CHECK(fdstore_take(s, "stray", fds) == -EINVAL);

        /* What nobody took, still open until the store is freed. */
        left = fdstore_leftover_names(s);
        CHILD_CHECK(left);
        CHILD_CHECK(left[0] && streq(left[0], "stray"));
        CHILD_CHECK(left[1] && streq(left[1], "pf-0000_3b_00.2-foo"));
        CHILD_CHECK(!left[2]);
        strv_free(left);
        CHILD_CHECK(is_open(first + 15) && is_open(first + 16));

        s = fdstore_free(s);
        for (int fd = first; fd < first + n; fd++)
                CHILD_CHECK(!is_open(fd));
}

START_TEST(test_collect_take) {
        ck_assert_int_eq(test_run_in_child(child_collect_take, NULL), 0);
}
END_TEST

static void child_collect_empty(void *userdata) {
        FdStore *s = NULL;
        char **left;
        int fds[_VFIO_FD_MAX];

        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        CHILD_CHECK(fdstore_collect(&s) == 0);
        CHILD_CHECK(s);
        CHILD_CHECK(fdstore_take(s, ADDR, fds) == -ENOENT);
        left = fdstore_leftover_names(s);
        CHILD_CHECK(left && !left[0]);
        strv_free(left);
        fdstore_free(s);

        /* fds meant for another process (LISTEN_PID not ours) are not ours to take. */
        {
                static const char *const names[] = { "pf-0000_3b_00.0-container" };
                Passed p = {};

                pass_fds(&p, names, NULL, 1);
                CHILD_CHECK(setenv("LISTEN_PID", "1", 1) == 0);
                CHILD_CHECK(fdstore_collect(&s) == 0);
                CHILD_CHECK(fdstore_take(s, ADDR, fds) == -ENOENT);
                fdstore_free(s);
                CHILD_CHECK(is_open(SD_LISTEN_FDS_START));
        }
}

START_TEST(test_collect_empty) {
        ck_assert_int_eq(test_run_in_child(child_collect_empty, NULL), 0);
}
END_TEST

static void child_collect_mismatch(void *userdata) {
        static const char *const names[] = { "a", "b", "c" };
        FdStore *s = NULL;
        Passed p = {};

        /* Three fds but two names: refused, and the fds (ours now) are closed, not leaked. */
        pass_fds(&p, names, NULL, 3);
        CHILD_CHECK(setenv("LISTEN_FDNAMES", "a:b", 1) == 0);
        CHILD_CHECK(fdstore_collect(&s) < 0);
        CHILD_CHECK(!s);
        CHILD_CHECK(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS"));
        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + 3; fd++)
                CHILD_CHECK(!is_open(fd));
}

START_TEST(test_collect_mismatch) {
        ck_assert_int_eq(test_run_in_child(child_collect_mismatch, NULL), 0);
}
END_TEST

/* The round trip a restart makes: push, then receive the same fds back under the same names. */
static void child_round_trip(void *userdata) {
        int orig[_VFIO_FD_MAX], fds[_VFIO_FD_MAX], got[_VFIO_FD_MAX], r;
        const char *names[_VFIO_FD_MAX];
        char namebuf[_VFIO_FD_MAX][64];
        Passed p = {};
        TestNotify d[_VFIO_FD_MAX];
        FdStore *s = NULL;

        for (size_t k = 0; k < _VFIO_FD_MAX; k++) {
                int fd = memfd_create("orig", MFD_CLOEXEC);

                CHILD_CHECK(fd >= 0);
                orig[k] = fcntl(fd, F_DUPFD_CLOEXEC, 100);
                close(fd);
        }
        CHILD_CHECK(fdstore_push_fds(ADDR, VFIO_API_GROUP, orig) == 3);
        for (size_t k = 0; k < _VFIO_FD_MAX; k++) {
                CHILD_CHECK(receive(&d[k]) == 1);
                CHILD_CHECK(d[k].n_fds == 1);
                CHILD_CHECK(strncmp(d[k].text, "FDSTORE=1\nFDNAME=", 17) == 0);
                snprintf(namebuf[k], sizeof namebuf[k], "%s", d[k].text + 17);
                names[k] = namebuf[k];
                got[k] = d[k].fds[0];
        }

        /* As the service manager passes them back at the next start. */
        pass_fds(&p, names, got, _VFIO_FD_MAX);
        for (size_t k = 0; k < _VFIO_FD_MAX; k++)
                test_notify_done(&d[k]);
        CHILD_CHECK(fdstore_collect(&s) == 0);
        r = fdstore_take(s, ADDR, fds);
        CHILD_CHECK(r == VFIO_API_GROUP);
        for (size_t k = 0; k < _VFIO_FD_MAX; k++) {
                CHILD_CHECK(inode_of(fds[k]) == inode_of(orig[k]));
                close(fds[k]);
                close(orig[k]);
        }
        fdstore_free(s);
}

START_TEST(test_round_trip) {
        ck_assert_int_eq(test_run_in_child(child_round_trip, NULL), 0);
}
END_TEST

static Suite *fdstore_suite(void) {
        Suite *s = suite_create("fdstore");
        TCase *tc;

        tc = tcase_create("names");
        tcase_add_test(tc, test_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("push");
        tcase_add_checked_fixture(tc, notify_setup, notify_teardown);
        tcase_add_test(tc, test_push_group);
        tcase_add_test(tc, test_push_cdev);
        tcase_add_test(tc, test_push_invalid);
        tcase_add_test(tc, test_push_failure_takes_back);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_no_notify_socket);
        tcase_add_test(tc, test_round_trip);
        suite_add_tcase(s, tc);

        tc = tcase_create("collect");
        tcase_add_test(tc, test_collect_take);
        tcase_add_test(tc, test_collect_empty);
        tcase_add_test(tc, test_collect_mismatch);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(fdstore_suite);
