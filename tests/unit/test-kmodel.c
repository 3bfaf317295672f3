/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests the kernel model (tests/model/kmodel.h) and the vfio.h backend on it: the scenario table
 * of KERNEL-SEMANTICS.md, the kernel's log lines, state shared across processes (fork, SCM_RIGHTS,
 * kill -9), and the daemon's view through daemon/vfio.h. */

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture.h"
#include "kmodel.h"
#include "macro.h"
#include "scenarios.h"
#include "test-util.h"
#include "vfio.h"

#define PF "0000:01:00.0"
#define VF1 "0000:01:00.1"
#define VF2 "0000:01:00.2"
#define OTHER_VF "0000:02:00.1"
#define PLAIN "0000:03:00.0"
#define PF_GROUP 1
#define VF1_GROUP 2
#define VF2_GROUP 3
#define OTHER_VF_GROUP 5
#define PLAIN_GROUP 6

static Fixture *fixture;
static ScenarioEnv env;

static void setup(void) {
        ck_assert_int_eq(fixture_new(NULL, &fixture), 0);
        ck_assert_int_eq(scenario_fixture_setup(fixture, &env), 0);
        kmodel_clear_message();
}

static void teardown(void) {
        fixture = fixture_free(fixture);
}

/* The fds of one opener, as a test client (QEMU, DPDK) holds them. */
typedef struct Opener {
        int container, group, device;
} Opener;

static void opener_close(Opener *o) {
        o->device = safe_close(o->device);
        o->group = safe_close(o->group);
        o->container = safe_close(o->container);
}

/* Opens `name` through the group `group` the way QEMU does; returns the device step's result. */
static int opener_open(Opener *o, int group, const char *name) {
        *o = (Opener) { -1, -1, -1 };
        o->container = kmodel_open_container(env.dev_root);
        ck_assert_int_ge(o->container, 0);
        o->group = kmodel_open_group(env.dev_root, group);
        ck_assert_int_ge(o->group, 0);
        ck_assert_int_eq(kmodel_group_set_container(o->group, o->container), 0);
        ck_assert_int_eq(kmodel_set_iommu(o->container, VFIO_TYPE1v2_IOMMU), 0);
        o->device = kmodel_group_get_device_fd(o->group, name);
        if (o->device < 0) {
                int r = o->device;

                o->device = -1;
                opener_close(o);
                return r;
        }
        return 0;
}

static int try_name(int group, const char *name) {
        Opener o;
        int r;

        r = opener_open(&o, group, name);
        opener_close(&o);
        return r;
}

static const char *with_token(const char *address, const Token *t, char buf[static 128]) {
        TokenString s;

        token_to_string(t, &s);
        snprintf(buf, 128, "%s vf_token=%s", address, s.s);
        return buf;
}

static int pf_set(int device_fd, const Token *t) {
        return kmodel_device_feature(device_fd, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
                                     sizeof(struct vfio_device_feature) + TOKEN_SIZE, t->bytes);
}

/* Sets the PF's token with nothing else open. */
static void set_token(const Token *t) {
        Opener o;

        ck_assert_int_eq(opener_open(&o, PF_GROUP, PF), 0);
        ck_assert_int_eq(pf_set(o.device, t), 0);
        opener_close(&o);
}

START_TEST(test_scenarios) {
        _cleanup_free_ ScenarioRun *run = calloc(1, sizeof(ScenarioRun));
        size_t expected = 0;

        ck_assert_ptr_nonnull(run);
        ck_assert_int_eq(scenarios_run(&env, NULL, run), 0);
        ck_assert_uint_eq(scenarios_compare(&env, run, stderr), 0);

        /* Every expected check ran once: the table has no dead rows. */
        for (size_t i = 0; i < run->n_checks; i++) {
                bool found;

                ck_assert(!run->checks[i].setup_failed);
                (void) scenario_expected(run->checks[i].name, &found);
                ck_assert(found);
                for (size_t j = 0; j < i; j++)
                        ck_assert_str_ne(run->checks[i].name, run->checks[j].name);
                expected++;
        }
        ck_assert_uint_ge(expected, 50);

        /* Everything was closed again. */
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 0);
        ck_assert_int_eq(kmodel_device_is_open(env.dev_root, PF), 0);
}
END_TEST

START_TEST(test_scenarios_basic) {
        _cleanup_free_ ScenarioRun *run = calloc(1, sizeof(ScenarioRun));

        ck_assert_ptr_nonnull(run);
        env.basic = true;
        ck_assert_int_eq(scenarios_run(&env, NULL, run), 0);
        ck_assert_uint_eq(scenarios_compare(&env, run, stderr), 0);
        for (size_t i = 0; i < run->n_checks; i++)
                ck_assert(strncmp(run->checks[i].name, "plain-", 6) != 0 &&
                          strncmp(run->checks[i].name, "vf-other-driver", 15) != 0);
}
END_TEST

START_TEST(test_result_strings) {
        char buf[32];

        ck_assert_str_eq(scenario_result_to_string(0, buf), "OK");
        ck_assert_str_eq(scenario_result_to_string(-EACCES, buf), "EACCES");
        ck_assert_str_eq(scenario_result_to_string(-ENOTTY, buf), "ENOTTY");
        ck_assert_str_eq(scenario_result_to_string(-4095, buf), "E4095");
}
END_TEST

START_TEST(test_kernel_messages) {
        _cleanup_free_ char *dmesg = NULL;
        Token t = {}, wrong = {};
        char buf[128];

        token_generate(&t);
        token_generate(&wrong);
        set_token(&t);

        ck_assert_int_eq(try_name(VF1_GROUP, VF1), -EACCES);
        ck_assert_str_eq(kmodel_last_message(), "vfio-pci " VF1 ": VF token required to access device");
        ck_assert_int_eq(try_name(VF1_GROUP, with_token(VF1, &wrong, buf)), -EACCES);
        ck_assert_str_eq(kmodel_last_message(), "vfio-pci " VF1 ": Incorrect VF token provided for device");
        ck_assert_int_eq(try_name(OTHER_VF_GROUP, with_token(OTHER_VF, &t, buf)), -EINVAL);
        ck_assert_str_eq(kmodel_last_message(),
                         "vfio-pci " OTHER_VF ": VF token incorrectly provided, PF not bound to vfio-pci");
        ck_assert_int_eq(try_name(PLAIN_GROUP, with_token(PLAIN, &t, buf)), -EINVAL);
        ck_assert_str_eq(kmodel_last_message(),
                         "vfio-pci " PLAIN ": VF token incorrectly provided, not a PF or VF");

        kmodel_clear_message();
        ck_assert_int_eq(try_name(VF1_GROUP, with_token(VF1, &t, buf)), 0);
        ck_assert_str_eq(kmodel_last_message(), "");

        /* The same lines went to the model's dmesg, and no token with them. */
        ck_assert_int_eq(fixture_read_file(fixture, "dev/vfio/.kmodel/dmesg", &dmesg), 0);
        ck_assert_ptr_nonnull(strstr(dmesg, "VF token required to access device"));
        ck_assert_ptr_nonnull(strstr(dmesg, "not a PF or VF"));
        ck_assert_ptr_null(strstr(dmesg, "vf_token"));
}
END_TEST

/* The kernel's name parsing (vfio_pci_core_match()), beyond the scenario rows. */
START_TEST(test_name_parsing) {
        _cleanup_free_ char *huge = NULL;
        Token t = {};
        TokenString s;
        char buf[256];

        token_generate(&t);
        set_token(&t);
        token_to_string(&t, &s);

        /* Upper-case hex parses as the same UUID. */
        for (char *p = s.s; *p; p++)
                *p = (char) toupper((unsigned char) *p);
        snprintf(buf, sizeof buf, "%s vf_token=%s", VF1, s.s);
        ck_assert_int_eq(try_name(VF1_GROUP, buf), 0);

        /* Braces, a missing dash, a truncated UUID. */
        token_to_string(&t, &s);
        snprintf(buf, sizeof buf, "%s vf_token={%s}", VF1, s.s);
        ck_assert_int_eq(try_name(VF1_GROUP, buf), -EINVAL);
        s.s[8] = '0';
        snprintf(buf, sizeof buf, "%s vf_token=%s", VF1, s.s);
        ck_assert_int_eq(try_name(VF1_GROUP, buf), -EINVAL);
        token_to_string(&t, &s);
        s.s[35] = '\0';
        snprintf(buf, sizeof buf, "%s vf_token=%s", VF1, s.s);
        ck_assert_int_eq(try_name(VF1_GROUP, buf), -EINVAL);

        /* A trailing space alone, and an empty option list, are the plain name. */
        snprintf(buf, sizeof buf, "%s ", PF);
        ck_assert_int_eq(try_name(PF_GROUP, buf), 0);

        /* A tab is not a separator: no device matches. */
        snprintf(buf, sizeof buf, "%s\tvf_token=%s", VF1, s.s);
        ck_assert_int_eq(try_name(VF1_GROUP, buf), -ENODEV);

        /* Names are copied with strndup_user(arg, PAGE_SIZE). */
        huge = malloc(5000);
        ck_assert_ptr_nonnull(huge);
        memset(huge, ' ', 4999);
        memcpy(huge, PF, strlen(PF));
        huge[4999] = '\0';
        ck_assert_int_eq(try_name(PF_GROUP, huge), -EINVAL);
        huge[4095] = '\0';
        ck_assert_int_eq(try_name(PF_GROUP, huge), 0);
}
END_TEST

START_TEST(test_container_rules) {
        int c, c2, g, p[2];
        struct vfio_group_status st = { .argsz = sizeof st };

        c = kmodel_open_container(env.dev_root);
        ck_assert_int_ge(c, 0);
        ck_assert_int_eq(kmodel_fd_kind(c), KMODEL_FD_CONTAINER);
        ck_assert_int_eq(kmodel_get_api_version(c), VFIO_API_VERSION);
        ck_assert_int_eq(kmodel_check_extension(c, VFIO_TYPE1v2_IOMMU), 1);
        ck_assert_int_eq(kmodel_check_extension(c, VFIO_TYPE1_IOMMU), 1);
        ck_assert_int_eq(kmodel_check_extension(c, VFIO_SPAPR_TCE_IOMMU), 0);
        /* No IOMMU for a container without a group. */
        ck_assert_int_eq(kmodel_set_iommu(c, VFIO_TYPE1v2_IOMMU), -EINVAL);

        g = kmodel_open_group(env.dev_root, PF_GROUP);
        ck_assert_int_ge(g, 0);
        ck_assert_int_eq(kmodel_fd_kind(g), KMODEL_FD_GROUP);
        ck_assert_int_eq(kmodel_group_get_status(g, &st), 0);
        ck_assert_uint_eq(st.flags, VFIO_GROUP_FLAGS_VIABLE);
        st.argsz = 4;
        ck_assert_int_eq(kmodel_group_get_status(g, &st), -EINVAL);
        st.argsz = sizeof st;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        ck_assert_int_eq(kmodel_fd_kind(p[0]), KMODEL_FD_OTHER);
        ck_assert_int_eq(kmodel_group_set_container(g, p[0]), -EBADFD);
        ck_assert_int_eq(kmodel_group_set_container(g, 999), -EBADF);
        ck_assert_int_eq(kmodel_group_set_container(g, g), -EBADFD);
        /* Ioctls of another kind's fd. */
        ck_assert_int_eq(kmodel_group_set_container(c, c), -ENOTTY);
        ck_assert_int_eq(kmodel_get_api_version(g), -ENOTTY);
        ck_assert_int_eq(kmodel_group_get_device_fd(p[0], PF), -ENOTTY);
        safe_close(p[0]);
        safe_close(p[1]);

        ck_assert_int_eq(kmodel_group_set_container(g, c), 0);
        ck_assert_int_eq(kmodel_group_set_container(g, c), -EINVAL);
        ck_assert_int_eq(kmodel_group_get_status(g, &st), 0);
        ck_assert_uint_eq(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
        ck_assert_int_eq(kmodel_set_iommu(c, VFIO_SPAPR_TCE_IOMMU), -ENODEV);
        ck_assert_int_eq(kmodel_set_iommu(c, VFIO_TYPE1v2_IOMMU), 0);
        ck_assert_int_eq(kmodel_set_iommu(c, VFIO_TYPE1v2_IOMMU), -EINVAL);

        /* A second group joins the same container, which has its IOMMU already. */
        c2 = kmodel_open_group(env.dev_root, PLAIN_GROUP);
        ck_assert_int_ge(c2, 0);
        ck_assert_int_eq(kmodel_group_set_container(c2, c), 0);
        ck_assert_int_ge(kmodel_group_get_device_fd(c2, PLAIN), 0);

        ck_assert_int_eq(kmodel_fd_kind(999), -EBADF);
        safe_close(c2);
        safe_close(g);
        safe_close(c);
}
END_TEST

START_TEST(test_nodes) {
        /* No group node: ENOENT, as for a group whose devices left vfio-pci. */
        ck_assert_int_eq(kmodel_open_group(env.dev_root, 77), -ENOENT);
        ck_assert_int_eq(kmodel_open_container("/nonexistent"), -ENOENT);

        /* A device of the group on a host driver makes it non-viable: no container for it. */
        ck_assert_int_eq(fixture_add_device(fixture, "0000:04:00.0", "vfio-pci", 40), 0);
        ck_assert_int_eq(fixture_add_device(fixture, "0000:04:00.1", "e1000e", 40), 0);
        {
                struct vfio_group_status st = { .argsz = sizeof st };
                int c, g;

                c = kmodel_open_container(env.dev_root);
                g = kmodel_open_group(env.dev_root, 40);
                ck_assert_int_ge(c, 0);
                ck_assert_int_ge(g, 0);
                ck_assert_int_eq(kmodel_group_get_status(g, &st), 0);
                ck_assert_uint_eq(st.flags, 0);
                ck_assert_int_eq(kmodel_group_set_container(g, c), -EBUSY);
                safe_close(g);
                safe_close(c);
        }
}
END_TEST

/* The token lives as long as the PF is bound to vfio-pci: not an fd, not the VFs. */
START_TEST(test_token_lifetime) {
        Token t = {}, now = {};

        token_generate(&t);
        set_token(&t);
        ck_assert_int_eq(kmodel_peek_token(env.dev_root, PF, &now), 0);
        ck_assert(token_equal(&t, &now));

        ck_assert_int_eq(fixture_set_num_vfs(fixture, PF, 0), 0);
        ck_assert_int_eq(fixture_set_num_vfs(fixture, PF, 2), 0);
        ck_assert_int_eq(kmodel_peek_token(env.dev_root, PF, &now), 0);
        ck_assert(token_equal(&t, &now));

        /* A rebind makes a new random token. */
        ck_assert_int_eq(fixture_set_num_vfs(fixture, PF, 0), 0);
        ck_assert_int_eq(fixture_set_driver(fixture, PF, NULL), 0);
        ck_assert_int_eq(kmodel_peek_token(env.dev_root, PF, &now), -EMEDIUMTYPE);
        ck_assert_int_eq(fixture_set_driver(fixture, PF, "vfio-pci"), 0);
        ck_assert_int_eq(fixture_set_num_vfs(fixture, PF, 2), 0);
        ck_assert_int_eq(kmodel_peek_token(env.dev_root, PF, &now), 0);
        ck_assert(!token_equal(&t, &now));
        ck_assert(!token_is_null(&now));
}
END_TEST

static void write_byte(int fd) {
        ck_assert_int_eq(write(fd, "x", 1), 1);
}

static void read_byte(int fd) {
        char c;

        ck_assert_int_eq(read(fd, &c, 1), 1);
}

/* A child holds a VF open with the token; the parent rotates through its PF fd. */
START_TEST(test_cross_process_set) {
        int to_child[2], to_parent[2], status;
        Token t1 = {}, t2 = {};
        Opener pf;
        pid_t pid;

        token_generate(&t1);
        token_generate(&t2);
        set_token(&t1);
        ck_assert_int_eq(opener_open(&pf, PF_GROUP, PF), 0);
        ck_assert_int_eq(pipe2(to_child, O_CLOEXEC), 0);
        ck_assert_int_eq(pipe2(to_parent, O_CLOEXEC), 0);

        pid = fork();
        if (pid == 0) {
                struct vfio_device_info info = { .argsz = sizeof info };
                char buf[128];
                Opener vf;
                int r;

                r = opener_open(&vf, VF1_GROUP, with_token(VF1, &t1, buf));
                write_byte(to_parent[1]);
                if (r < 0)
                        _exit(10);
                read_byte(to_child[0]); /* the parent has set t2 */
                if (kmodel_device_get_info(vf.device, &info) < 0 || !(info.flags & VFIO_DEVICE_FLAGS_PCI))
                        _exit(11);
                if (try_name(VF2_GROUP, with_token(VF2, &t1, buf)) != -EACCES)
                        _exit(12);
                if (try_name(VF2_GROUP, with_token(VF2, &t2, buf)) != 0)
                        _exit(13);
                opener_close(&vf);
                _exit(0);
        }
        ck_assert_int_ge(pid, 0); /* the parent only: see CHILD_CHECK in test-util.h */

        read_byte(to_parent[0]);
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 1);
        ck_assert_int_eq(pf_set(pf.device, &t2), 0);
        write_byte(to_child[1]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 0);

        opener_close(&pf);
        for (size_t i = 0; i < 2; i++) {
                safe_close(to_child[i]);
                safe_close(to_parent[i]);
        }
}
END_TEST

/* kill -9 of the VF holder frees the VF: the PF can be opened plain again. */
START_TEST(test_cross_process_kill) {
        int to_parent[2], status;
        Token t = {};
        pid_t pid;

        token_generate(&t);
        set_token(&t);
        ck_assert_int_eq(pipe2(to_parent, O_CLOEXEC), 0);

        pid = fork();
        if (pid == 0) {
                char buf[128];
                Opener vf;

                if (opener_open(&vf, VF1_GROUP, with_token(VF1, &t, buf)) < 0)
                        _exit(10);
                write_byte(to_parent[1]);
                for (;;)
                        pause();
        }
        ck_assert_int_ge(pid, 0); /* the parent only: see CHILD_CHECK in test-util.h */

        read_byte(to_parent[0]);
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 1);
        ck_assert_int_eq(kmodel_device_is_open(env.dev_root, VF1), 1);
        ck_assert_int_eq(try_name(PF_GROUP, PF), -EACCES);
        ck_assert_int_eq(kmodel_open_group(env.dev_root, VF1_GROUP), -EBUSY);

        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status));

        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 0);
        ck_assert_int_eq(try_name(PF_GROUP, PF), 0);
        safe_close(to_parent[0]);
        safe_close(to_parent[1]);
}
END_TEST

static void send_fd(int sock, int fd) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {};
        struct iovec iov = { .iov_base = (char *) "x", .iov_len = 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
        };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        ck_assert_int_eq(sendmsg(sock, &mh, 0), 1);
}

static int recv_fd(int sock) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {}, c;
        struct iovec iov = { .iov_base = &c, .iov_len = 1 };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf
        };
        struct cmsghdr *cm;
        int fd;

        ck_assert_int_eq(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC), 1);
        cm = CMSG_FIRSTHDR(&mh);
        ck_assert_ptr_nonnull(cm);
        ck_assert_int_eq(cm->cmsg_type, SCM_RIGHTS);
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        return fd;
}

/* A device fd passed over SCM_RIGHTS keeps the device open after its opener exits. */
START_TEST(test_fd_passing) {
        struct vfio_device_info info = { .argsz = sizeof info };
        int sv[2], status, fd;
        Token t = {};
        pid_t pid;

        token_generate(&t);
        set_token(&t);
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);

        pid = fork();
        if (pid == 0) {
                char buf[128];
                Opener vf;

                if (opener_open(&vf, VF1_GROUP, with_token(VF1, &t, buf)) < 0)
                        _exit(10);
                send_fd(sv[1], vf.device);
                opener_close(&vf);
                _exit(0);
        }
        ck_assert_int_ge(pid, 0); /* the parent only: see CHILD_CHECK in test-util.h */
        fd = recv_fd(sv[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), 0);

        ck_assert_int_eq(kmodel_fd_kind(fd), KMODEL_FD_DEVICE);
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 1);
        ck_assert_int_eq(kmodel_device_get_info(fd, &info), 0);
        ck_assert_int_eq(try_name(PF_GROUP, PF), -EACCES);
        /* The group stays busy while its device is open, as device fds hold the group. */
        ck_assert_int_eq(kmodel_open_group(env.dev_root, VF1_GROUP), -EBUSY);
        safe_close(fd);
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 0);
        ck_assert_int_eq(try_name(PF_GROUP, PF), 0);
        safe_close(sv[0]);
        safe_close(sv[1]);
}
END_TEST

/* daemon/vfio.h on the model, as the daemon uses it. */
START_TEST(test_vfio_api) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL, *again = NULL, *adopted = NULL;
        int fds[_VFIO_FD_MAX];
        Token t = {}, now = {};
        char buf[128];
        Opener vf;

        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, NULL, &pf), 0);
        ck_assert_int_eq(vfio_pf_api(pf), VFIO_API_GROUP);
        ck_assert_int_eq(kmodel_fd_kind(vfio_pf_fd(pf, VFIO_FD_CONTAINER)), KMODEL_FD_CONTAINER);
        ck_assert_int_eq(kmodel_fd_kind(vfio_pf_fd(pf, VFIO_FD_GROUP)), KMODEL_FD_GROUP);
        ck_assert_int_eq(kmodel_fd_kind(vfio_pf_fd(pf, VFIO_FD_DEVICE)), KMODEL_FD_DEVICE);
        ck_assert_int_eq(vfio_pf_fd(pf, _VFIO_FD_MAX), -1);
        ck_assert_int_eq(vfio_pf_probe_token(pf), 0);
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_set_token(pf, t.bytes), 0);
        ck_assert_int_eq(kmodel_peek_token(env.dev_root, PF, &now), 0);
        ck_assert(token_equal(&t, &now));

        /* One holder per group. */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, NULL, &again), -EBUSY);
        ck_assert_ptr_null(again);

        /* A VF with the token opens; the PF's fds survive a dup into a new VfioPf (the fd store). */
        ck_assert_int_eq(opener_open(&vf, VF1_GROUP, with_token(VF1, &t, buf)), 0);
        for (size_t i = 0; i < _VFIO_FD_MAX; i++) {
                fds[i] = fcntl(vfio_pf_fd(pf, (VfioFdKind) i), F_DUPFD_CLOEXEC, 3);
                ck_assert_int_ge(fds[i], 0);
        }
        pf = vfio_pf_free(pf);
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_GROUP, PF, fds, &adopted), 0);
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                ck_assert_int_eq(fds[i], -1);
        ck_assert_int_eq(vfio_pf_probe_token(adopted), 0);
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_set_token(adopted, t.bytes), 0);
        ck_assert_int_eq(kmodel_peek_token(env.dev_root, PF, &now), 0);
        ck_assert(token_equal(&t, &now));
        adopted = vfio_pf_free(adopted);

        /* VFs in use: the PF opens only with the current token. */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, NULL, &pf), -EACCES);
        token_generate(&now);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, now.bytes, &pf), -EACCES);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, t.bytes, &pf), 0);
        pf = vfio_pf_free(pf);
        opener_close(&vf);

        /* No VF in use: opening with a token sets it. */
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, t.bytes, &pf), 0);
        ck_assert_int_eq(kmodel_peek_token(env.dev_root, PF, &now), 0);
        ck_assert(token_equal(&t, &now));

        /* A VF has no token feature. */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, VF2, VF2_GROUP, t.bytes, &again), 0);
        ck_assert_int_eq(vfio_pf_probe_token(again), -ENOTTY);
        ck_assert_int_eq(vfio_pf_set_token(again, t.bytes), -ENOTTY);
}
END_TEST

START_TEST(test_vfio_api_errors) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL, *adopted = NULL;
        int fds[_VFIO_FD_MAX], p[2];

        /* cdev API: no /dev/vfio/devices/vfio77 (test-vfio-cdev has the rest). */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, 77, NULL, &pf), -ENOENT);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, (VfioApi) 7, PF, PF_GROUP, NULL, &pf), -EINVAL);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, "bogus", PF_GROUP, NULL, &pf), -EINVAL);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, 77, NULL, &pf), -ENOENT);
        /* The right node, the wrong group: no such device in it. */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, VF1_GROUP, NULL, &pf), -ENODEV);
        ck_assert_ptr_null(pf);

        /* Non-viable group. */
        ck_assert_int_eq(fixture_add_device(fixture, "0000:04:00.0", "vfio-pci", 40), 0);
        ck_assert_int_eq(fixture_add_device(fixture, "0000:04:00.1", "e1000e", 40), 0);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, "0000:04:00.0", 40, NULL, &pf), -EXDEV);

        /* Adopt: fds of the wrong kind or not VFIO at all are refused, and closed. */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, NULL, &pf), 0);
        fds[VFIO_FD_CONTAINER] = fcntl(vfio_pf_fd(pf, VFIO_FD_CONTAINER), F_DUPFD_CLOEXEC, 3);
        fds[VFIO_FD_GROUP] = fcntl(vfio_pf_fd(pf, VFIO_FD_DEVICE), F_DUPFD_CLOEXEC, 3);
        fds[VFIO_FD_DEVICE] = fcntl(vfio_pf_fd(pf, VFIO_FD_GROUP), F_DUPFD_CLOEXEC, 3);
        /* A device fd is an anonymous inode, not a /dev/vfio node, as on the kernel. */
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_GROUP, PF, fds, &adopted), -EBADFD);
        ck_assert_ptr_null(adopted);
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                ck_assert_int_eq(fds[i], -1);

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        fds[VFIO_FD_CONTAINER] = fcntl(vfio_pf_fd(pf, VFIO_FD_CONTAINER), F_DUPFD_CLOEXEC, 3);
        fds[VFIO_FD_GROUP] = p[0];
        fds[VFIO_FD_DEVICE] = fcntl(vfio_pf_fd(pf, VFIO_FD_DEVICE), F_DUPFD_CLOEXEC, 3);
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_GROUP, PF, fds, &adopted), -EBADFD);
        ck_assert_int_eq(fcntl(p[0], F_GETFD), -1); /* closed by adopt */
        safe_close(p[1]);

        fds[VFIO_FD_CONTAINER] = -1;
        fds[VFIO_FD_GROUP] = -1;
        fds[VFIO_FD_DEVICE] = -1;
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_GROUP, PF, fds, &adopted), -EBADF);
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_CDEV, PF, fds, &adopted), -EBADF);
        ck_assert_ptr_null(adopted);
}
END_TEST

START_TEST(test_vfio_names) {
        static const int errors[] = { EACCES, ENOENT, ENODEV, EBUSY, EPERM, EXDEV, EINVAL, ENOTTY, EBADF,
                                      EBADFD, EOPNOTSUPP, EIO, ENOMEM, 4095 };

        ck_assert_str_eq(vfio_api_to_string(VFIO_API_GROUP), "group");
        ck_assert_str_eq(vfio_api_to_string(VFIO_API_CDEV), "cdev");
        ck_assert_ptr_null(vfio_api_to_string(_VFIO_API_MAX));
        ck_assert_str_eq(vfio_fd_kind_to_string(VFIO_FD_CONTAINER), "container");
        ck_assert_str_eq(vfio_fd_kind_to_string(VFIO_FD_GROUP), "group");
        ck_assert_str_eq(vfio_fd_kind_to_string(VFIO_FD_DEVICE), "device");
        ck_assert_ptr_null(vfio_fd_kind_to_string(_VFIO_FD_MAX));

        ck_assert_ptr_nonnull(strstr(vfio_strerror(VFIO_OP_OPEN, -EACCES), "VF token"));
        ck_assert_ptr_nonnull(strstr(vfio_strerror(VFIO_OP_OPEN, EBUSY), "another process"));
        ck_assert_ptr_nonnull(strstr(vfio_strerror(VFIO_OP_OPEN, -ENOENT), "vfio-pci"));
        ck_assert_ptr_nonnull(strstr(vfio_strerror(VFIO_OP_PROBE, -ENOTTY), "5.7"));
        ck_assert_ptr_nonnull(strstr(vfio_strerror(VFIO_OP_OPEN, -EPERM), "permission"));
        for (VfioOp op = VFIO_OP_OPEN; op <= VFIO_OP_ADOPT; op++)
                for (size_t i = 0; i < ELEMENTSOF(errors); i++) {
                        const char *s = vfio_strerror(op, -errors[i]);

                        ck_assert_ptr_nonnull(s);
                        ck_assert_uint_gt(strlen(s), 0);
                }
}
END_TEST

static Suite *kmodel_suite(void) {
        Suite *s = suite_create("kmodel");
        TCase *tc;

        tc = tcase_create("scenarios");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_scenarios);
        tcase_add_test(tc, test_scenarios_basic);
        tcase_add_test(tc, test_result_strings);
        suite_add_tcase(s, tc);

        tc = tcase_create("model");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_kernel_messages);
        tcase_add_test(tc, test_name_parsing);
        tcase_add_test(tc, test_container_rules);
        tcase_add_test(tc, test_nodes);
        tcase_add_test(tc, test_token_lifetime);
        suite_add_tcase(s, tc);

        tc = tcase_create("processes");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cross_process_set);
        tcase_add_test(tc, test_cross_process_kill);
        tcase_add_test(tc, test_fd_passing);
        suite_add_tcase(s, tc);

        tc = tcase_create("vfio-api");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_vfio_api);
        tcase_add_test(tc, test_vfio_api_errors);
        tcase_add_test(tc, test_vfio_names);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(kmodel_suite);
