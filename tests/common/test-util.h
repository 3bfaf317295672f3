/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the unit tests (tests/unit/) would otherwise each write again: temporary directories made
 * and removed, files read and written whole, a PF on the kernel model with a state directory for
 * a Manager, a VF user's fds, a stand-in for the service manager (its NOTIFY_SOCKET, and fds
 * passed at 3.. as after exec), and the check programs' main().
 *
 * The functions return 0 (or what is said) or -errno and never call check's assertions: they
 * also run in forked children, which must not (a failure would be reported into the parent's
 * channel), and in main() outside any test. The caller asserts. Only the macros at the end use
 * check, and only where a test program expands them; this file needs no <check.h>. */

#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include "fixture.h"
#include "manager.h"
#include "pf-internal.h"
#include "token.h"

/* ---- Files -------------------------------------------------------------------------------- */

/* Creates a fresh directory "$TMPDIR/<prefix>-XXXXXX" (under /tmp when $TMPDIR is unset or
 * empty) and returns its path. */
int test_tmpdir_new(const char *prefix, char **ret);

/* Removes `path` and everything below it; a missing path is not an error. Never follows a
 * symlink: a link is removed, never what it points at (a test's link to /dev/null must not cost
 * the machine its /dev/null). A directory a test made inaccessible is made accessible to its
 * owner first; only directories are chmod()ed, and never through a link. */
int test_rm_rf(const char *path);

/* The whole file at `path` (relative to dir_fd, which may be AT_FDCWD), NUL-terminated; its
 * size in *ret_size unless that is NULL. */
int test_read_file_at(int dir_fd, const char *path, char **ret, size_t *ret_size);

/* Creates the file with `mode` (or truncates it) and writes the `size` bytes at `data` to it. */
int test_write_file_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode);

/* ---- A daemon on the kernel model --------------------------------------------------------- */

typedef struct TestEnv {
        Fixture *fixture;
        char *tmp_root;  /* a fresh temporary directory, the test's own */
        char *state_dir; /* <tmp_root>/state, not created: the Manager does that */
} TestEnv;

/* Keeps whatever service manager runs the tests out of them (unsets NOTIFY_SOCKET and LISTEN_*,
 * so that it gets none of our fds), logs to stderr, and sets up a fixture with the PF `pf` on
 * vfio-pci (2 of 4 VFs enabled, IOMMU groups from `pf_group` on) and a temporary directory
 * "<prefix>-XXXXXX". On failure, what was set up is undone. */
int test_env_setup(TestEnv *env, const char *prefix, const char *pf, int pf_group);
/* Frees the fixture and removes the temporary directory. */
void test_env_done(TestEnv *env);

/* A Manager (not started) for the configuration text `conf`, on env's fixture and state
 * directory. A configuration that does not load cleanly is -EINVAL. */
int test_env_manager_new(const TestEnv *env, const char *conf, Manager **ret);

/* Makes the timer `s` due now, on its own clock, without waiting for it. -EINVAL for NULL. */
int test_make_due(sd_event_source *s);
/* Runs the event loop for a bounded number of non-blocking iterations. */
int test_run_loop(sd_event *e);

/* The fds of one VFIO user (QEMU, DPDK), opened through the model's group API as QEMU does. */
typedef struct TestOpener {
        int container, group, device;
} TestOpener;

/* Opens `address` in IOMMU group `group` of the model under dev_root, with the VF token `t`
 * (NULL: none). Returns the result of VFIO_GROUP_GET_DEVICE_FD, the fds left open only on
 * success, or -EIO if a step before it fails (no test expects that of a device open). */
int test_opener_open(TestOpener *o, const char *dev_root, int group, const char *address, const Token *t);
void test_opener_close(TestOpener *o);

/* ---- The service manager ------------------------------------------------------------------ */

#define TEST_NOTIFY_MAX_FDS 16

/* One message to the service manager. */
typedef struct TestNotify {
        char text[4096];
        int fds[TEST_NOTIFY_MAX_FDS]; /* passed along with it (SCM_RIGHTS), -1 beyond n_fds */
        size_t n_fds;
} TestNotify;

/* Binds a datagram socket at <dir>/notify and points NOTIFY_SOCKET at it; returns the socket. The
 * socket's file goes with the directory. */
int test_notify_open(const char *dir);
/* Unsets NOTIFY_SOCKET and closes the socket. Returns -1. */
int test_notify_close(int fd);

/* Receives the next message: 1, or 0 if none comes within timeout_msec (0: none is queued), or
 * -errno (-EMSGSIZE if it was cut). The fds passed with it are moved to 300 and up, well clear of
 * 3.., where children place fds passed to them. */
int test_notify_receive(int fd, int timeout_msec, TestNotify *ret);
/* Closes the message's fds. */
void test_notify_done(TestNotify *m);

/* In a child, which is to go on as if exec()ed by the service manager: places the files `fds`
 * (fresh memfds if NULL) at SD_LISTEN_FDS_START (3), 4, ..., inheritable, and names them in
 * LISTEN_PID (this process), LISTEN_FDS and LISTEN_FDNAMES. `fds` stay open. */
int test_pass_fds(const char *const *names, const int *fds, size_t n);

/* Runs fn(userdata) in a child process, which exits 0 when fn returns. Returns the child's wait
 * status, so 0 if it exited 0, or -errno. */
int test_run_in_child(void (*fn)(void *userdata), void *userdata);

/* The assertion of those children, and of every child a test forks: prints what failed and
 * exits 1. A child must never call check's ck_* macros, not even one that passes: each writes a
 * record to check's channel, a file the child shares with the parent, offset and all. Written
 * after the parent has rewound the file to read the test's result, it overwrites the head of
 * that file and check reads garbage ("Bad message type"). So after fork() the parent alone
 * asserts that it worked. */
#define CHILD_CHECK(expr)                                                                        \
        do {                                                                                     \
                if (!(expr)) {                                                                   \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        _exit(1);                                                                \
                }                                                                                \
        } while (0)

/* ---- check ---------------------------------------------------------------------------------
 * For test programs, which include <check.h>. */

/* Runs the Suite `s`: the number of tests that failed. */
#define TEST_RUN_SUITE(s)                                       \
        ({                                                      \
                SRunner *_sr_ = srunner_create(s);              \
                int _failed_;                                   \
                                                                \
                srunner_run_all(_sr_, CK_NORMAL);               \
                _failed_ = srunner_ntests_failed(_sr_);         \
                srunner_free(_sr_);                             \
                _failed_;                                       \
        })

/* main() running the Suite that suite_func() makes: success only if every test passed. */
#define DEFINE_TEST_MAIN(suite_func)                                                    \
        int main(void) {                                                                \
                return TEST_RUN_SUITE(suite_func()) == 0 ? EXIT_SUCCESS : EXIT_FAILURE; \
        }
