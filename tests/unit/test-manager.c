/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/manager.c end to end on the kernel model: a set of PFs where some cannot be
 * served (never fatal for the others), the state directory's checks, and the fd store: the fds
 * pushed to a stand-in for the service manager's NOTIFY_SOCKET, and a restart that takes them
 * back from LISTEN_FDS without reopening (and so without resetting) the PF. Managers run
 * without a bus. */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture.h"
#include "kmodel.h"
#include "macro.h"
#include "manager.h"
#include "pf-internal.h"
#include "pf.h"
#include "state.h"
#include "string-util.h"
#include "test-util.h"

#define PF_A "0000:01:00.0"   /* vfio-pci, 2 of 4 VFs: served */
#define VF_A1 "0000:01:00.1"
#define PF_B "0000:02:00.0"   /* absent */
#define PF_C "0000:03:00.0"   /* on vfio-pci, but no SR-IOV */
#define PF_D "0000:04:00.0"   /* SR-IOV, bound to another driver */
#define PF_E "0000:05:00.0"   /* vfio-pci, 1 of 2 VFs: served */
#define PF_F "0000:06:00.0"   /* SR-IOV on vfio-pci without an IOMMU group */
#define PF_G "0000:07:00.0"   /* SR-IOV, unbound */
#define A_GROUP 1
#define VF_A1_GROUP 2

#define SECTION(a) "[PhysicalFunction]\nAddress=" a "\n"
#define CONF_A SECTION(PF_A)

static TestEnv env;

static void setup(void) {
        ck_assert_int_eq(test_env_setup(&env, "test-manager", PF_A, A_GROUP), 0);
}

static void teardown(void) {
        test_env_done(&env);
}

/* ---- Helpers (no check assertions: some run in forked children) ------------------------- */

static Manager *manager_up(const char *conf) {
        Manager *m = NULL;

        ck_assert_int_eq(test_env_manager_new(&env, conf, &m), 0);
        ck_assert_int_eq(manager_start(m), 0);
        return m;
}

static bool model_has(const char *pf, const Token *t) {
        _cleanup_token_ Token k = {};

        return kmodel_peek_token(fixture_dev(env.fixture), pf, &k) == 0 && token_equal(&k, t);
}

static bool same_file(int a, int b) {
        struct stat sa, sb;

        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The model's containers: one file each under .kmodel/containers (kmodel.h), created by every
 * open of /dev/vfio/vfio, so any PF (re)open leaves a new name here. Sorted, joined by ' ';
 * NULL on error. */
static char *containers(void) {
        char path[PATH_MAX], *names[64], *joined;
        size_t n = 0, len = 1;
        struct dirent *de;
        DIR *d;

        snprintf(path, sizeof path, "%s/vfio/" KMODEL_STATE_DIR "/containers", fixture_dev(env.fixture));
        d = opendir(path);
        if (!d)
                return NULL;
        while ((de = readdir(d)) && n < ELEMENTSOF(names)) {
                size_t i;

                if (de->d_name[0] == '.')
                        continue;
                names[n] = strdup(de->d_name);
                if (!names[n])
                        break;
                for (i = n; i > 0 && strcmp(names[i - 1], names[i]) > 0; i--) {
                        char *t = names[i];

                        names[i] = names[i - 1];
                        names[i - 1] = t;
                }
                len += strlen(names[n++]) + 1;
        }
        closedir(d);
        joined = calloc(1, len);
        for (size_t i = 0; i < n; i++) {
                if (joined) {
                        if (i > 0)
                                strcat(joined, " ");
                        strcat(joined, names[i]);
                }
                free(names[i]);
        }
        return joined;
}

static bool vf_works(const TestOpener *o) {
        struct vfio_device_info info = { .argsz = sizeof info };

        return kmodel_device_get_info(o->device, &info) == 0;
}

static bool state_file_exists(const char *address) {
        char name[64], path[PATH_MAX + 64];

        state_file_name(address, name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", env.state_dir, name);
        return access(path, F_OK) == 0;
}

/* ---- A set of PFs ------------------------------------------------------------------------- */

START_TEST(test_unusable_pfs_never_fatal) {
        _cleanup_token_ Token ta = {}, te = {};
        Manager *m;
        Pf *a, *b, *c, *d, *e, *f, *g;

        ck_assert_int_eq(fixture_add_device(env.fixture, PF_C, "vfio-pci", 10), 0);
        ck_assert_int_eq(fixture_add_pf(env.fixture, PF_D, "ixgbe", 4, 2, 20), 0);
        ck_assert_int_eq(fixture_add_pf(env.fixture, PF_E, "vfio-pci", 2, 1, 30), 0);
        ck_assert_int_eq(fixture_add_pf(env.fixture, PF_F, "vfio-pci", 2, 0, -1), 0);
        ck_assert_int_eq(fixture_add_pf(env.fixture, PF_G, NULL, 2, 0, 40), 0);

        /* The served ones listed among, before and after the others. */
        m = manager_up(SECTION(PF_B) SECTION(PF_C) SECTION(PF_A) SECTION(PF_D) SECTION(PF_F)
                               SECTION(PF_G) SECTION(PF_E));
        ck_assert_uint_eq(m->n_pfs, 7);
        a = manager_find_pf(m, PF_A);
        b = manager_find_pf(m, PF_B);
        c = manager_find_pf(m, PF_C);
        d = manager_find_pf(m, PF_D);
        e = manager_find_pf(m, PF_E);
        f = manager_find_pf(m, PF_F);
        g = manager_find_pf(m, PF_G);
        ck_assert(a && b && c && d && e && f && g);

        ck_assert_int_eq(b->status, PF_STATUS_GONE);
        ck_assert_int_eq(b->status_error, -ENOENT);
        ck_assert_int_eq(c->status, PF_STATUS_GONE);
        ck_assert_int_eq(c->status_error, -EOPNOTSUPP);
        ck_assert_int_eq(d->status, PF_STATUS_GONE);
        ck_assert_int_eq(d->status_error, -EMEDIUMTYPE);
        ck_assert_int_eq(f->status, PF_STATUS_GONE);
        ck_assert_int_eq(f->status_error, -ENODEV);
        ck_assert_int_eq(g->status, PF_STATUS_GONE);
        ck_assert_int_eq(g->status_error, -EMEDIUMTYPE);
        for (Pf *const *p = (Pf *const[]) { b, c, d, f, g, NULL }; *p; p++) {
                ck_assert_ptr_null((*p)->vfio);
                ck_assert_ptr_null((*p)->state->current);
                ck_assert_ptr_nonnull((*p)->retry_timer);
                ck_assert(!state_file_exists((*p)->config.address));
                ck_assert_int_eq(manager_rotate_pf(m, *p, true, "test"), -EAGAIN);
        }
        /* Nothing touched the device on another driver. */
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF_D), 0);
        ck_assert_int_eq(kmodel_peek_token(fixture_dev(env.fixture), PF_D, &ta), -EMEDIUMTYPE);

        /* The others are served, each with a token of its own. */
        ck_assert_int_eq(a->status, PF_STATUS_READY);
        ck_assert_int_eq(e->status, PF_STATUS_READY);
        ck_assert_ptr_null(a->retry_timer);
        ck_assert_uint_eq(a->state->generation, 1);
        ck_assert_uint_eq(e->state->generation, 1);
        ck_assert(model_has(PF_A, a->state->current));
        ck_assert(model_has(PF_E, e->state->current));
        ck_assert(!token_equal(a->state->current, e->state->current));
        ck_assert(state_file_exists(PF_A) && state_file_exists(PF_E));
        token_copy(&ta, a->state->current);
        token_copy(&te, e->state->current);

        /* Lookups by PF and by VF. */
        ck_assert_ptr_eq(manager_find_pf_for_device(m, PF_A), a);
        ck_assert_ptr_eq(manager_find_pf_for_device(m, VF_A1), a);
        ck_assert_ptr_eq(manager_find_pf_for_device(m, "0000:05:00.1"), e);
        ck_assert_ptr_null(manager_find_pf_for_device(m, "0000:05:00.2"));
        ck_assert_ptr_null(manager_find_pf(m, "0000:09:00.0"));

        /* The admin binds D to vfio-pci: the retry brings it up, the others stay as they are. */
        ck_assert_int_eq(fixture_set_driver(env.fixture, PF_D, "vfio-pci"), 0);
        ck_assert_int_eq(test_make_due(d->retry_timer), 0);
        ck_assert_int_eq(test_run_loop(m->event), 0);
        ck_assert_int_eq(d->status, PF_STATUS_READY);
        ck_assert_ptr_null(d->retry_timer);
        ck_assert_uint_eq(d->state->generation, 1);
        ck_assert(model_has(PF_D, d->state->current));
        ck_assert(token_equal(a->state->current, &ta));
        ck_assert(token_equal(e->state->current, &te));
        ck_assert_int_eq(c->status, PF_STATUS_GONE);
        manager_free(m);
}
END_TEST

START_TEST(test_no_pfs) {
        Manager *m = manager_up("[Daemon]\nRotateIntervalSec=0\n");

        ck_assert_uint_eq(m->n_pfs, 0);
        ck_assert_ptr_null(manager_find_pf_for_device(m, PF_A));
        manager_free(m);
}
END_TEST

/* Tokens live there: a directory others may read is refused, and no PF is touched. */
START_TEST(test_state_dir_refused) {
        Manager *m = NULL;

        ck_assert_int_eq(mkdir(env.state_dir, 0700), 0);
        ck_assert_int_eq(chmod(env.state_dir, 0755), 0);
        ck_assert_int_eq(test_env_manager_new(&env, CONF_A, &m), 0);
        ck_assert_int_eq(manager_start(m), -EPERM);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF_A), 0);
        manager_free(m);
}
END_TEST

/* ---- The fd store ------------------------------------------------------------------------- */

static int notify_fd = -1;

/* A stand-in for the service manager's NOTIFY_SOCKET. */
static void notify_setup(void) {
        setup();
        notify_fd = test_notify_open(env.tmp_root);
        ck_assert_int_ge(notify_fd, 0);
}

static void notify_teardown(void) {
        notify_fd = test_notify_close(notify_fd);
        teardown();
}

/* The next message to the service manager: 1, 0 if none is queued, or -errno. */
static int receive(TestNotify *ret) {
        return test_notify_receive(notify_fd, 0, ret);
}

/* Expects the three FDSTORE=1 messages of a PF's group-API fds, one fd each, in kind order;
 * returns the fds indexed by VfioFdKind. */
static void receive_pushed(const char *address, int ret_fds[static _VFIO_FD_MAX]) {
        for (VfioFdKind k = 0; k < _VFIO_FD_MAX; k++) {
                char name[64], expected[128];
                TestNotify d;

                fdstore_name(address, VFIO_API_GROUP, k, name, sizeof name);
                snprintf(expected, sizeof expected, "FDSTORE=1\nFDNAME=%s", name);
                ck_assert_int_eq(receive(&d), 1);
                ck_assert_str_eq(d.text, expected);
                ck_assert_uint_eq(d.n_fds, 1);
                ck_assert_int_ge(d.fds[0], 0);
                ret_fds[k] = d.fds[0];
        }
}

static bool nothing_queued(void) {
        TestNotify d;
        int r = receive(&d);

        test_notify_done(&d);
        return r == 0;
}

typedef struct Restart {
        int kept[_VFIO_FD_MAX]; /* what the service manager holds, by kind */
        Token token;            /* the token the restarted daemon must end up with */
        uint64_t generation;    /* and its generation */
        char *containers;       /* the model's containers before the restart */
} Restart;

static void child_restart_adopts(void *userdata) {
        Restart *rs = userdata;
        static const VfioFdKind order[] = { VFIO_FD_DEVICE, VFIO_FD_CONTAINER, VFIO_FD_GROUP };
        char namebuf[ELEMENTSOF(order)][64], *after;
        const char *names[ELEMENTSOF(order)];
        int fds[ELEMENTSOF(order)];
        Manager *m = NULL;
        Pf *pf;

        /* In an order of the service manager's choosing. */
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                fdstore_name(PF_A, VFIO_API_GROUP, order[i], namebuf[i], sizeof namebuf[i]);
                names[i] = namebuf[i];
                fds[i] = rs->kept[order[i]];
        }
        CHILD_CHECK(test_pass_fds(names, fds, ELEMENTSOF(order)) == 0);

        CHILD_CHECK(test_env_manager_new(&env, CONF_A, &m) == 0);
        CHILD_CHECK(manager_start(m) == 0);
        pf = manager_find_pf(m, PF_A);
        CHILD_CHECK(pf);
        CHILD_CHECK(pf->status == PF_STATUS_READY);
        CHILD_CHECK(pf->adopted);
        /* The very files the service manager kept... */
        for (VfioFdKind k = 0; k < _VFIO_FD_MAX; k++)
                CHILD_CHECK(same_file(vfio_pf_fd(pf->vfio, k), rs->kept[k]));
        /* ...and no open of /dev/vfio/vfio at all, so no PF reopen was even tried. */
        after = containers();
        CHILD_CHECK(after && streq(after, rs->containers));
        free(after);
        /* The token is the expected one everywhere, nothing left pending. */
        CHILD_CHECK(pf->state->generation == rs->generation);
        CHILD_CHECK(token_equal(pf->state->current, &rs->token));
        CHILD_CHECK(!pf->state->pending);
        CHILD_CHECK(model_has(PF_A, &rs->token));
        CHILD_CHECK(!getenv("LISTEN_FDS"));
        manager_free(m);
}

/* First run pushes the fds; the daemon then dies, after `crash` (NULL: a clean stop); the
 * restart, with the fds passed back, must adopt them without opening anything. A VMM holds a VF
 * open throughout. */
static void restart_adopts(void (*crash)(Manager *m, Pf *pf, Token *ret_next)) {
        _cleanup_(pf_state_freep) PfState *disk = NULL;
        _cleanup_close_ int dir_fd = -1;
        Restart rs = {};
        int again[_VFIO_FD_MAX];
        Manager *m;
        Pf *pf;
        TestOpener vmm;

        m = manager_up(CONF_A);
        pf = manager_find_pf(m, PF_A);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        receive_pushed(PF_A, rs.kept);
        ck_assert(nothing_queued());
        for (VfioFdKind k = 0; k < _VFIO_FD_MAX; k++)
                ck_assert(same_file(rs.kept[k], vfio_pf_fd(pf->vfio, k)));
        token_copy(&rs.token, pf->state->current);
        rs.generation = 1;
        ck_assert_int_eq(test_opener_open(&vmm, fixture_dev(env.fixture), VF_A1_GROUP, VF_A1, &rs.token), 0);
        if (crash) {
                crash(m, pf, &rs.token);
                rs.generation = 2;
        }

        /* The daemon stops (or dies): the service manager's copies keep the PF open. */
        manager_free(m);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF_A), 1);
        ck_assert(vf_works(&vmm));
        rs.containers = containers();
        ck_assert_ptr_nonnull(rs.containers);

        ck_assert_int_eq(test_run_in_child(child_restart_adopts, &rs), 0);

        /* The restarted daemon handed the same fds back to the service manager. */
        receive_pushed(PF_A, again);
        ck_assert(nothing_queued());
        for (VfioFdKind k = 0; k < _VFIO_FD_MAX; k++) {
                ck_assert(same_file(again[k], rs.kept[k]));
                safe_close(again[k]);
        }
        ck_assert(vf_works(&vmm));
        ck_assert(model_has(PF_A, &rs.token));
        ck_assert_int_eq(state_dir_open(env.state_dir, &dir_fd), 0);
        ck_assert_int_eq(state_load(dir_fd, PF_A, &disk), 0);
        ck_assert_uint_eq(disk->generation, rs.generation);
        ck_assert(token_equal(disk->current, &rs.token));
        ck_assert_ptr_null(disk->pending);

        /* Only when the service manager lets go as well is the PF closed. */
        for (VfioFdKind k = 0; k < _VFIO_FD_MAX; k++)
                safe_close(rs.kept[k]);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF_A), 0);
        test_opener_close(&vmm);
        free(rs.containers);
        token_wipe(&rs.token);
}

START_TEST(test_fdstore_restart_adopts) {
        restart_adopts(NULL);
}
END_TEST

/* Died in a rotation, after the SET and before the commit: the kept fds are adopted and the
 * rotation completed on them. */
static void crash_after_set(Manager *m, Pf *pf, Token *ret_next) {
        token_generate(ret_next);
        ck_assert_int_eq(state_begin_rotation(m->state_fd, PF_A, pf->state, ret_next), 0);
        ck_assert_int_eq(vfio_pf_set_token(pf->vfio, ret_next->bytes), 0);
}

START_TEST(test_fdstore_restart_mid_rotation) {
        restart_adopts(crash_after_set);
}
END_TEST

/* Fds in the store that are not the PF's (after a reboot of the model, say), plus one that
 * belongs to no configured PF. */
static void child_restart_stale(void *userdata) {
        static const char *const names[] = {
                "pf-0000_01_00.0-container", "pf-0000_01_00.0-group", "pf-0000_01_00.0-device", "stray",
        };
        struct stat passed[ELEMENTSOF(names)];
        int fds[ELEMENTSOF(names)];
        Manager *m = NULL;
        Pf *pf;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                int fd = memfd_create("stale", MFD_CLOEXEC);

                /* Kept clear of 3.., where test_pass_fds() puts them. */
                CHILD_CHECK(fd >= 0);
                CHILD_CHECK((fds[i] = fcntl(fd, F_DUPFD_CLOEXEC, 100)) >= 100);
                close(fd);
                CHILD_CHECK(fstat(fds[i], &passed[i]) == 0);
        }
        CHILD_CHECK(test_pass_fds(names, fds, ELEMENTSOF(names)) == 0);
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                close(fds[i]);

        CHILD_CHECK(test_env_manager_new(&env, CONF_A, &m) == 0);
        CHILD_CHECK(manager_start(m) == 0);
        pf = manager_find_pf(m, PF_A);
        CHILD_CHECK(pf && pf->status == PF_STATUS_READY);
        CHILD_CHECK(!pf->adopted);
        CHILD_CHECK(pf->state->generation == 1);
        CHILD_CHECK(model_has(PF_A, pf->state->current));
        /* None of the passed files is held any more: the stale set was refused and closed, the
         * stray one closed as belonging to no PF. */
        for (int fd = 0; fd < 1024; fd++) {
                struct stat st;

                if (fstat(fd, &st) < 0)
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(names); i++)
                        CHILD_CHECK(st.st_dev != passed[i].st_dev || st.st_ino != passed[i].st_ino);
        }
        manager_free(m);
}

START_TEST(test_fdstore_stale_fds) {
        int fds[_VFIO_FD_MAX];
        unsigned removes = 0;
        TestNotify d;

        ck_assert_int_eq(test_run_in_child(child_restart_stale, NULL), 0);

        /* First the service manager is asked to drop the stale set (every name this PF could
         * have), and only then is the reopened PF's set handed over: the other order would make
         * it drop the new fds. */
        while (receive(&d) == 1 && strncmp(d.text, "FDSTOREREMOVE=1\n", 16) == 0) {
                ck_assert_uint_eq(d.n_fds, 0);
                ck_assert(strstr(d.text, "\nFDNAME=pf-0000_01_00.0-"));
                removes++;
        }
        ck_assert_uint_eq(removes, 5); /* container, group, device, iommufd, cdev */
        ck_assert_str_eq(d.text, "FDSTORE=1\nFDNAME=pf-0000_01_00.0-container");
        test_notify_done(&d);
        for (VfioFdKind k = VFIO_FD_GROUP; k < _VFIO_FD_MAX; k++) {
                char name[64], expected[128];

                fdstore_name(PF_A, VFIO_API_GROUP, k, name, sizeof name);
                snprintf(expected, sizeof expected, "FDSTORE=1\nFDNAME=%s", name);
                ck_assert_int_eq(receive(&d), 1);
                ck_assert_str_eq(d.text, expected);
                fds[k] = d.fds[0];
        }
        /* The stray fd belongs to no PF: the service manager is asked to drop its copy too. */
        ck_assert_int_eq(receive(&d), 1);
        ck_assert_str_eq(d.text, "FDSTOREREMOVE=1\nFDNAME=stray");
        test_notify_done(&d);
        ck_assert(nothing_queued());
        ck_assert_int_eq(kmodel_fd_kind(fds[VFIO_FD_GROUP]), KMODEL_FD_GROUP);
        ck_assert_int_eq(kmodel_fd_kind(fds[VFIO_FD_DEVICE]), KMODEL_FD_DEVICE);
        safe_close(fds[VFIO_FD_GROUP]);
        safe_close(fds[VFIO_FD_DEVICE]);
}
END_TEST

/* The cdev API's pair in the fd store (DESIGN.md: pf-ADDR-iommufd, pf-ADDR-cdev), adopted by a
 * restart without a rebind, whatever Api= says now: the daemon never reopens a PF it holds. */
typedef struct CdevRestart {
        int kept[2]; /* iommufd, cdev */
        const char *conf;
        Token token;
} CdevRestart;

static void child_cdev_adopts(void *userdata) {
        static const char *const names[] = { "pf-0000_01_00.0-cdev", "pf-0000_01_00.0-iommufd" };
        CdevRestart *rs = userdata;
        int fds[] = { rs->kept[1], rs->kept[0] };
        Manager *m = NULL;
        Pf *pf;

        CHILD_CHECK(test_pass_fds(names, fds, ELEMENTSOF(names)) == 0);
        CHILD_CHECK(test_env_manager_new(&env, rs->conf, &m) == 0);
        CHILD_CHECK(manager_start(m) == 0);
        pf = manager_find_pf(m, PF_A);
        CHILD_CHECK(pf && pf->status == PF_STATUS_READY);
        CHILD_CHECK(pf->adopted);
        CHILD_CHECK(vfio_pf_api(pf->vfio) == VFIO_API_CDEV);
        CHILD_CHECK(streq(pf_api_to_string(pf), "cdev"));
        CHILD_CHECK(same_file(vfio_pf_fd(pf->vfio, VFIO_FD_CONTAINER), rs->kept[0]));
        CHILD_CHECK(same_file(vfio_pf_fd(pf->vfio, VFIO_FD_DEVICE), rs->kept[1]));
        CHILD_CHECK(token_equal(pf->state->current, &rs->token));
        CHILD_CHECK(model_has(PF_A, &rs->token));
        manager_free(m);
}

/* The two FDSTORE=1 messages of a cdev PF, iommufd first. */
static void receive_pushed_cdev(int ret_fds[static 2]) {
        static const char *const expected[] = {
                "FDSTORE=1\nFDNAME=pf-0000_01_00.0-iommufd",
                "FDSTORE=1\nFDNAME=pf-0000_01_00.0-cdev",
        };

        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                TestNotify d;

                ck_assert_int_eq(receive(&d), 1);
                ck_assert_str_eq(d.text, expected[i]);
                ck_assert_uint_eq(d.n_fds, 1);
                ret_fds[i] = d.fds[0];
        }
        ck_assert_int_eq(kmodel_fd_kind(ret_fds[0]), KMODEL_FD_IOMMUFD);
        ck_assert_int_eq(kmodel_fd_kind(ret_fds[1]), KMODEL_FD_CDEV);
}

START_TEST(test_fdstore_cdev_restart) {
        static const char *const confs[] = { CONF_A "Api=cdev\n", CONF_A "Api=group\n" };
        CdevRestart rs = {};
        TestOpener vmm;
        Manager *m;
        Pf *pf;

        m = manager_up(CONF_A "Api=cdev\n");
        pf = manager_find_pf(m, PF_A);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        receive_pushed_cdev(rs.kept);
        ck_assert(nothing_queued());
        token_copy(&rs.token, pf->state->current);
        ck_assert_int_eq(test_opener_open(&vmm, fixture_dev(env.fixture), VF_A1_GROUP, VF_A1, &rs.token), 0);
        manager_free(m);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF_A), 1);

        for (size_t i = 0; i < ELEMENTSOF(confs); i++) {
                int again[2];

                rs.conf = confs[i];
                ck_assert_int_eq(test_run_in_child(child_cdev_adopts, &rs), 0);
                receive_pushed_cdev(again);
                ck_assert(nothing_queued());
                ck_assert(same_file(again[0], rs.kept[0]));
                ck_assert(same_file(again[1], rs.kept[1]));
                safe_close(again[0]);
                safe_close(again[1]);
                ck_assert(vf_works(&vmm));
        }

        safe_close(rs.kept[0]);
        safe_close(rs.kept[1]);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF_A), 0);
        test_opener_close(&vmm);
        token_wipe(&rs.token);
}
END_TEST

static Suite *manager_suite(void) {
        Suite *s = suite_create("manager");
        TCase *tc;

        tc = tcase_create("pfs");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_unusable_pfs_never_fatal);
        tcase_add_test(tc, test_no_pfs);
        tcase_add_test(tc, test_state_dir_refused);
        suite_add_tcase(s, tc);

        tc = tcase_create("fdstore");
        tcase_add_checked_fixture(tc, notify_setup, notify_teardown);
        tcase_add_test(tc, test_fdstore_restart_adopts);
        tcase_add_test(tc, test_fdstore_restart_mid_rotation);
        tcase_add_test(tc, test_fdstore_stale_fds);
        tcase_add_test(tc, test_fdstore_cdev_restart);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(manager_suite);
