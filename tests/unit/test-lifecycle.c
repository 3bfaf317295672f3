/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's life cycle as the service manager sees it, on the kernel model: a child process
 * runs manager_start() + manager_run() with NOTIFY_SOCKET pointing at a datagram socket of this
 * test, standing in for systemd. It must send FDSTORE=1 for the PF's fds, then READY=1, ping the
 * watchdog when WATCHDOG_USEC is set, and on SIGTERM send STOPPING=1 and exit 0 without asking
 * for its fds to be dropped (a restart must find them in the store). */

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "fixture.h"
#include "log.h"
#include "manager.h"

#define PF "0000:01:00.0"

static Fixture *fixture;
static char tmp_root[PATH_MAX - 64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

static void setup(void) {
        const char *t = getenv("TMPDIR");

        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        log_set_target_journal(0);
        ck_assert_int_eq(fixture_new(NULL, &fixture), 0);
        ck_assert_int_eq(fixture_add_pf(fixture, PF, "vfio-pci", 4, 2, 1), 0);
        snprintf(tmp_root, sizeof tmp_root, "%s/test-lifecycle-XXXXXX", t && *t ? t : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(tmp_root));
}

static void teardown(void) {
        fixture = fixture_free(fixture);
        (void) nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The daemon side, in the child: what main() does after the privileged part. */
static _noreturn_ void run_daemon(const char *state_dir) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config *c = NULL;
        ManagerPaths paths = {
                .sysfs_root = fixture_sysfs(fixture),
                .dev_root = fixture_dev(fixture),
                .state_dir = state_dir,
        };
        char pid[32];

        snprintf(pid, sizeof pid, "%d", (int) getpid());
        setenv("WATCHDOG_PID", pid, 1);
        setenv("WATCHDOG_USEC", "200000", 1);
        if (config_load_string("test.conf", "[PhysicalFunction]\nAddress=" PF "\n", &c, NULL) < 0 ||
            manager_new(c, &paths, &m) < 0 || manager_start(m) < 0)
                _exit(10);
        _exit(manager_run(m) < 0 ? 11 : 0);
}

/* Reads one datagram (closing any fds it carries, counting them); 0 on timeout. */
static ssize_t read_notify(int sock, char *buf, size_t size, unsigned *n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * 16)];
        } control;
        struct iovec iov = { buf, size - 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control,
        };
        struct pollfd p = { .fd = sock, .events = POLLIN };
        ssize_t n;

        /* A bound against a hung child, not a timing assertion. */
        if (poll(&p, 1, 60 * 1000) <= 0)
                return 0;
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++)
                                close(((int *) CMSG_DATA(c))[i]);
                        *n_fds += (unsigned) k;
                }
        return n;
}

START_TEST(test_ready_watchdog_stop) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char state_dir[PATH_MAX], buf[4096];
        bool ready = false, watchdog = false, stopping = false, removed = false;
        unsigned fdstore_msgs = 0, n_fds = 0;
        int sock, status;
        pid_t pid;

        snprintf(state_dir, sizeof state_dir, "%s/state", tmp_root);
        ck_assert_uint_lt(strlen(tmp_root) + STRLEN("/notify"), sizeof sa.sun_path);
        memcpy(sa.sun_path, tmp_root, strlen(tmp_root));
        memcpy(sa.sun_path + strlen(tmp_root), "/notify", STRLEN("/notify") + 1);
        sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(sock, 0);
        ck_assert_int_eq(bind(sock, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(setenv("NOTIFY_SOCKET", sa.sun_path, 1), 0);

        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                run_daemon(state_dir);

        /* Up to READY=1 and then the first watchdog ping. */
        while (!ready || !watchdog) {
                ssize_t n = read_notify(sock, buf, sizeof buf, &n_fds);
                ck_assert_msg(n > 0, "no notification from the daemon (%zd)", n);
                if (strstr(buf, "FDSTORE=1"))
                        fdstore_msgs++;
                if (strstr(buf, "FDSTOREREMOVE=1"))
                        removed = true;
                if (strstr(buf, "READY=1"))
                        ready = true;
                if (strstr(buf, "WATCHDOG=1")) {
                        ck_assert_msg(ready, "watchdog ping before READY=1");
                        watchdog = true;
                }
        }
        ck_assert_uint_eq(fdstore_msgs, 3); /* container, group, device */
        ck_assert_uint_eq(n_fds, 3);

        ck_assert_int_eq(kill(pid, SIGTERM), 0);
        while (!stopping) {
                ssize_t n = read_notify(sock, buf, sizeof buf, &n_fds);
                ck_assert_msg(n > 0, "no STOPPING=1 after SIGTERM (%zd)", n);
                if (strstr(buf, "FDSTOREREMOVE=1"))
                        removed = true;
                if (strstr(buf, "STOPPING=1"))
                        stopping = true;
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        ck_assert_msg(!removed, "the daemon dropped its fds from the store on a clean stop");
        unsetenv("NOTIFY_SOCKET");
        close(sock);
}
END_TEST

int main(void) {
        Suite *s = suite_create("lifecycle");
        TCase *tc = tcase_create("notify");
        SRunner *sr;
        int failed;

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_ready_watchdog_stop);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
