/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers the unit tests share (see test-util.h). */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture-internal.h"
#include "kmodel.h"
#include "log.h"
#include "macro.h"
#include "strv.h"
#include "test-util.h"

/* Where received fds go, and where passed ones wait before they are moved to 3..: apart from each
 * other and from what a test holds. */
#define RECEIVED_FDS_MIN 300
#define PASSED_FDS_TMP_MIN 200

/* ---- Files -------------------------------------------------------------------------------- */

int test_tmpdir_new(const char *prefix, char **ret) {
        const char *tmp = getenv("TMPDIR");
        char *p;

        if (asprintf(&p, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix) < 0)
                return -ENOMEM;
        if (!mkdtemp(p)) {
                int r = negative_errno();

                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

/* These two are the fixture's (fixture-files.c). The fixture must not depend on this file: that
 * would pull a Manager, and so the whole daemon, into mkfixture, kmodel-open and vfio-scenarios. */
int test_rm_rf(const char *path) {
        return fx_rm_rf(path);
}

int test_read_file_at(int dir_fd, const char *path, char **ret, size_t *ret_size) {
        return fx_read_file_at(dir_fd, path, ret, ret_size);
}

int test_write_file_at(int dir_fd, const char *path, const void *data, size_t size, mode_t mode) {
        _cleanup_close_ int fd = -1;
        ssize_t n;

        fd = openat(dir_fd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        /* Test files are small: one write() takes them whole, or something is wrong. */
        n = write(fd, data, size);
        if (n < 0)
                return negative_errno();
        return (size_t) n == size ? 0 : -EIO;
}

/* ---- A daemon on the kernel model --------------------------------------------------------- */

int test_env_setup(TestEnv *env, const char *prefix, const char *pf, int pf_group) {
        int r;

        *env = (TestEnv) {};
        unsetenv("NOTIFY_SOCKET");
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
        log_set_target_journal(0);

        r = fixture_new(NULL, &env->fixture);
        if (r >= 0)
                r = fixture_add_pf(env->fixture, pf, "vfio-pci", 4, 2, pf_group);
        if (r >= 0)
                r = test_tmpdir_new(prefix, &env->tmp_root);
        if (r >= 0 && asprintf(&env->state_dir, "%s/state", env->tmp_root) < 0) {
                env->state_dir = NULL;
                r = -ENOMEM;
        }
        if (r < 0)
                test_env_done(env);
        return r;
}

void test_env_done(TestEnv *env) {
        env->fixture = fixture_free(env->fixture);
        if (env->tmp_root)
                (void) test_rm_rf(env->tmp_root);
        env->tmp_root = mfree(env->tmp_root);
        env->state_dir = mfree(env->state_dir);
}

int test_env_manager_new(const TestEnv *env, const char *conf, Manager **ret) {
        const ManagerPaths paths = {
                .sysfs_root = fixture_sysfs(env->fixture),
                .dev_root = fixture_dev(env->fixture),
                .state_dir = env->state_dir,
        };
        _cleanup_strv_free_ char **errors = NULL;
        Config *c = NULL;
        int r;

        r = config_load_string("test.conf", conf, &c, &errors);
        if (r < 0)
                return r;
        if (errors) {
                config_free(c);
                return -EINVAL;
        }
        return manager_new(c, &paths, ret);
}

int test_make_due(sd_event_source *s) {
        clockid_t clock;
        uint64_t now;
        int r;

        if (!s)
                return -EINVAL;
        r = sd_event_source_get_time_clock(s, &clock);
        if (r < 0)
                return r;
        r = sd_event_now(sd_event_source_get_event(s), clock, &now);
        if (r < 0)
                return r;
        return sd_event_source_set_time(s, now);
}

int test_run_loop(sd_event *e) {
        for (unsigned i = 0; i < 8; i++) {
                int r = sd_event_run(e, 0);

                if (r < 0)
                        return r;
        }
        return 0;
}

void test_opener_close(TestOpener *o) {
        o->device = safe_close(o->device);
        o->group = safe_close(o->group);
        o->container = safe_close(o->container);
}

int test_opener_open(TestOpener *o, const char *dev_root, int group, const char *address, const Token *t) {
        char name[128];

        *o = (TestOpener) { -1, -1, -1 };
        if (t) {
                _cleanup_token_string_ TokenString s;

                token_to_string(t, &s);
                snprintf(name, sizeof name, "%s vf_token=%s", address, s.s);
        } else
                snprintf(name, sizeof name, "%s", address);

        o->container = kmodel_open_container(dev_root);
        o->group = kmodel_open_group(dev_root, group);
        if (o->container < 0 || o->group < 0 || kmodel_group_set_container(o->group, o->container) < 0 ||
            kmodel_set_iommu(o->container, VFIO_TYPE1v2_IOMMU) < 0) {
                explicit_bzero(name, sizeof name);
                test_opener_close(o);
                return -EIO;
        }
        o->device = kmodel_group_get_device_fd(o->group, name);
        explicit_bzero(name, sizeof name);
        if (o->device < 0) {
                int r = o->device;

                o->device = -1;
                test_opener_close(o);
                return r;
        }
        return 0;
}

/* ---- The service manager ------------------------------------------------------------------ */

int test_notify_open(const char *dir) {
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify", dir) >= (int) sizeof sa.sun_path)
                return -ENAMETOOLONG;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return negative_errno();
        if (setenv("NOTIFY_SOCKET", sa.sun_path, 1) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

int test_notify_close(int fd) {
        unsetenv("NOTIFY_SOCKET");
        return safe_close(fd);
}

void test_notify_done(TestNotify *m) {
        for (size_t i = 0; i < m->n_fds; i++)
                m->fds[i] = safe_close(m->fds[i]);
        m->n_fds = 0;
}

int test_notify_receive(int fd, int timeout_msec, TestNotify *ret) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * TEST_NOTIFY_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = { .iov_base = ret->text, .iov_len = sizeof ret->text - 1 };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        int r;

        memset(ret, 0, sizeof *ret);
        for (size_t i = 0; i < ELEMENTSOF(ret->fds); i++)
                ret->fds[i] = -1;

        /* A bound against a hung sender, not a timing assertion. */
        r = poll(&p, 1, timeout_msec);
        if (r < 0)
                return negative_errno();
        if (r == 0)
                return 0;
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN ? 0 : negative_errno();
        ret->text[n] = '\0';
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                        int received, high;

                        memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        high = fcntl(received, F_DUPFD_CLOEXEC, RECEIVED_FDS_MIN);
                        close(received);
                        if (ret->n_fds < ELEMENTSOF(ret->fds))
                                ret->fds[ret->n_fds++] = high;
                        else
                                safe_close(high);
                }
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                test_notify_done(ret);
                return -EMSGSIZE;
        }
        return 1;
}

int test_pass_fds(const char *const *names, const int *fds, size_t n) {
        _cleanup_free_ char *joined = NULL;
        int tmp[64];
        char num[32];
        size_t len = 1;

        if (n > ELEMENTSOF(tmp))
                return -E2BIG;
        for (size_t i = 0; i < n; i++)
                len += strlen(names[i]) + 1;
        joined = calloc(1, len);
        if (!joined)
                return -ENOMEM;

        /* Moved out of the way first, so that dup2() clobbers nothing still needed. */
        for (size_t i = 0; i < n; i++) {
                int fd = fds ? fds[i] : memfd_create("passed", MFD_CLOEXEC);

                if (fd < 0)
                        return negative_errno();
                tmp[i] = fcntl(fd, F_DUPFD_CLOEXEC, PASSED_FDS_TMP_MIN);
                if (!fds)
                        close(fd);
                if (tmp[i] < 0)
                        return negative_errno();
        }
        for (size_t i = 0; i < n; i++) {
                int target = SD_LISTEN_FDS_START + (int) i;

                /* dup2() leaves the copy inheritable, as the service manager passes it. */
                if (dup2(tmp[i], target) != target)
                        return negative_errno();
                close(tmp[i]);
                if (i > 0)
                        strcat(joined, ":");
                strcat(joined, names[i]);
        }

        snprintf(num, sizeof num, "%d", (int) getpid());
        if (setenv("LISTEN_PID", num, 1) < 0)
                return negative_errno();
        snprintf(num, sizeof num, "%zu", n);
        if (setenv("LISTEN_FDS", num, 1) < 0 || setenv("LISTEN_FDNAMES", joined, 1) < 0)
                return negative_errno();
        return 0;
}

int test_run_in_child(void (*fn)(void *userdata), void *userdata) {
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                fn(userdata);
                _exit(0);
        }
        if (waitpid(pid, &status, 0) != pid)
                return negative_errno();
        return status;
}
