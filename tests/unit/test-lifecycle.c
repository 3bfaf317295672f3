/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's life cycle as the service manager sees it, on the kernel model: a child process
 * runs manager_start() + manager_run() with NOTIFY_SOCKET pointing at a datagram socket of this
 * test, standing in for systemd. It must send FDSTORE=1 for the PF's fds, then READY=1, ping the
 * watchdog when WATCHDOG_USEC is set, say STATUS= with READY=1, live through SIGPIPE, reload on
 * SIGHUP (RELOADING=1, READY=1, no PF reopened), and on SIGTERM send STOPPING=1 and exit 0
 * without asking for its fds to be dropped (a restart must find them in the store). */

#include <check.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "config.h"
#include "manager.h"
#include "pf-internal.h"
#include "test-util.h"

#define PF "0000:01:00.0"

static TestEnv env;

static void setup(void) {
        ck_assert_int_eq(test_env_setup(&env, "test-lifecycle", PF, 1), 0);
}

static void teardown(void) {
        test_env_done(&env);
}

#define CONF "[PhysicalFunction]\nAddress=" PF "\n"

/* What SIGHUP reloads: the same PF, now with a rotation interval. */
static int reload_config(Config **ret) {
        return config_load_string("reloaded.conf", CONF "RotateIntervalSec=1d\n", ret, NULL);
}

/* The daemon side, in the child: what main() does after the privileged part. */
static _noreturn_ void run_daemon(void) {
        _cleanup_(manager_freep) Manager *m = NULL;
        char pid[32];

        snprintf(pid, sizeof pid, "%d", (int) getpid());
        setenv("WATCHDOG_PID", pid, 1);
        setenv("WATCHDOG_USEC", "200000", 1);
        (void) signal(SIGPIPE, SIG_IGN); /* as main() does */
        if (test_env_manager_new(&env, CONF, &m) < 0 || manager_start(m) < 0)
                _exit(10);
        m->load_config = reload_config;
        _exit(manager_run(m) < 0 ? 11 : 0);
}

/* The next notification (its fds closed, counted in *n_fds): 1, or 0 if none comes in a minute. A
 * bound against a hung child, not a timing assertion. */
static int read_notify(int sock, TestNotify *ret, unsigned *n_fds) {
        int r;

        r = test_notify_receive(sock, 60 * 1000, ret);
        if (r > 0)
                *n_fds += (unsigned) ret->n_fds;
        test_notify_done(ret);
        return r;
}

START_TEST(test_ready_watchdog_stop) {
        bool ready = false, watchdog = false, stopping = false, removed = false;
        unsigned fdstore_msgs = 0, n_fds = 0;
        int sock, status;
        TestNotify msg;
        pid_t pid;

        sock = test_notify_open(env.tmp_root);
        ck_assert_int_ge(sock, 0);

        pid = fork();
        if (pid == 0)
                run_daemon();
        ck_assert_int_ge(pid, 0); /* the parent only: see CHILD_CHECK in test-util.h */

        /* Up to READY=1 and then the first watchdog ping. */
        while (!ready || !watchdog) {
                int r = read_notify(sock, &msg, &n_fds);
                ck_assert_msg(r > 0, "no notification from the daemon (%d)", r);
                if (strstr(msg.text, "FDSTORE=1"))
                        fdstore_msgs++;
                if (strstr(msg.text, "FDSTOREREMOVE=1"))
                        removed = true;
                if (strstr(msg.text, "READY=1")) {
                        ck_assert_ptr_nonnull(strstr(msg.text, "STATUS=Managing 1 PF(s), 1 ready, 0 locked, 0 gone; "
                                                              "0 lease(s)."));
                        ready = true;
                }
                if (strstr(msg.text, "WATCHDOG=1")) {
                        ck_assert_msg(ready, "watchdog ping before READY=1");
                        watchdog = true;
                }
        }
        ck_assert_uint_eq(fdstore_msgs, 3); /* container, group, device */
        ck_assert_uint_eq(n_fds, 3);

        /* SIGPIPE does nothing; SIGHUP reloads: RELOADING=1, then READY=1 with the status, and the
         * PF is not reopened (no new FDSTORE=1). */
        ck_assert_int_eq(kill(pid, SIGPIPE), 0);
        ck_assert_int_eq(kill(pid, SIGHUP), 0);
        for (bool reloading = false, reloaded = false; !reloaded;) {
                int r = read_notify(sock, &msg, &n_fds);
                ck_assert_msg(r > 0, "no READY=1 after SIGHUP (%d)", r);
                ck_assert_ptr_null(strstr(msg.text, "FDSTORE=1"));
                if (strstr(msg.text, "RELOADING=1"))
                        reloading = true;
                if (strstr(msg.text, "READY=1")) {
                        ck_assert_msg(reloading, "READY=1 without RELOADING=1 first");
                        ck_assert_ptr_nonnull(strstr(msg.text, "STATUS=Managing 1 PF(s), 1 ready"));
                        reloaded = true;
                }
        }
        ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0); /* still running */

        ck_assert_int_eq(kill(pid, SIGTERM), 0);
        while (!stopping) {
                int r = read_notify(sock, &msg, &n_fds);
                ck_assert_msg(r > 0, "no STOPPING=1 after SIGTERM (%d)", r);
                if (strstr(msg.text, "FDSTOREREMOVE=1"))
                        removed = true;
                if (strstr(msg.text, "STOPPING=1"))
                        stopping = true;
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        ck_assert_msg(!removed, "the daemon dropped its fds from the store on a clean stop");
        test_notify_close(sock);
}
END_TEST

static Suite *lifecycle_suite(void) {
        Suite *s = suite_create("lifecycle");
        TCase *tc = tcase_create("notify");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_ready_watchdog_stop);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(lifecycle_suite);
