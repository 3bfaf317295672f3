/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/pf.c end to end on the kernel model: bringing a PF up, the rotation policy
 * (requests, leases, RotateWhenIdle, the interval timer), recovery after a crash at each step of
 * a rotation with a VF held open as a VMM holds it, a PF with no usable token on record, a
 * damaged state file, and a PF that disappears. Managers run without a bus; the event loop is
 * driven by hand with timers made due, never by waiting. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture.h"
#include "kmodel.h"
#include "lease.h"
#include "macro.h"
#include "manager.h"
#include "pf-internal.h"
#include "pf.h"
#include "vfio-syscalls.h"
#include "state.h"
#include "string-util.h"
#include "test-util.h"
#include "time-util.h"

#define PF "0000:01:00.0"
#define VF1 "0000:01:00.1"
#define VF2 "0000:01:00.2"
#define PF_GROUP 1
#define VF1_GROUP 2
#define VF2_GROUP 3
#define STATE_FILE "pf-0000_01_00.0.state"

#define CONF_IDLE "[PhysicalFunction]\nAddress=" PF "\nRotateWhenIdle=yes\n"
#define CONF_PLAIN "[PhysicalFunction]\nAddress=" PF "\n"
#define CONF_CDEV CONF_PLAIN "Api=cdev\n"

static TestEnv env;

static void setup(void) {
        ck_assert_int_eq(test_env_setup(&env, "test-pf", PF, PF_GROUP), 0);
}

static void teardown(void) {
        test_env_done(&env);
}

/* ---- Helpers ------------------------------------------------------------------------------ */

/* A started manager for `conf`, on the fixture and the test's state directory. */
/* The manager of the test running: lease() makes leases in its registry. */
static Manager *current;

static Manager *manager_up(const char *conf) {
        Manager *m = NULL;

        ck_assert_int_eq(test_env_manager_new(&env, conf, &m), 0);
        ck_assert_int_eq(manager_start(m), 0);
        current = m;
        return m;
}

static Pf *the_pf(Manager *m) {
        Pf *pf = manager_find_pf(m, PF);

        ck_assert_ptr_nonnull(pf);
        return pf;
}

/* The model's token for the PF, i.e. what the kernel would compare. */
static void peek(Token *ret) {
        ck_assert_int_eq(kmodel_peek_token(fixture_dev(env.fixture), PF, ret), 0);
}

static bool model_has(const Token *t) {
        _cleanup_token_ Token k = {};

        peek(&k);
        return token_equal(&k, t);
}

/* Opens `address` in IOMMU group `group`, with token `t` (NULL: none), as a VMM does. */
static int opener_open(TestOpener *o, const char *address, int group, const Token *t) {
        return test_opener_open(o, fixture_dev(env.fixture), group, address, t);
}

/* Opens VF2 with `t` and closes it again: can a VMM open a (further) VF with this token? */
static int try_vf(const Token *t) {
        TestOpener o;
        int r;

        r = opener_open(&o, VF2, VF2_GROUP, t);
        test_opener_close(&o);
        return r;
}

/* A VF held open by a VMM keeps working: its device fd still answers device ioctls. */
static bool vf_works(const TestOpener *o) {
        struct vfio_device_info info = { .argsz = sizeof info };

        return kmodel_device_get_info(o->device, &info) == 0 && (info.flags & VFIO_DEVICE_FLAGS_PCI);
}

static int state_dir_fd(void) {
        int fd = -1;

        ck_assert_int_eq(state_dir_open(env.state_dir, &fd), 0);
        return fd;
}

/* The record on disk, as a fresh daemon would read it. */
static int load_disk(PfState **ret) {
        _cleanup_close_ int fd = state_dir_fd();

        return state_load(fd, PF, ret);
}

static char *state_path(void) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", env.state_dir, STATE_FILE), 0);
        return p;
}

static uint64_t now_realtime(void) {
        struct timespec ts;

        ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &ts), 0);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Makes a timer due now (on its own clock), without waiting for it. */
static void make_due(sd_event_source *s) {
        ck_assert_int_eq(test_make_due(s), 0);
}

/* Runs the loop for a bounded number of non-blocking iterations. */
static void run_loop(Manager *m) {
        ck_assert_int_eq(test_run_loop(m->event), 0);
}

static Lease *lease(Pf *pf, const char *owner) {
        Lease *l = NULL;

        ck_assert_int_eq(lease_new(current->leases, pf, VF1, owner, 1000, 4242, &l), 0);
        ck_assert_ptr_nonnull(l);
        return l;
}

/* ---- Start -------------------------------------------------------------------------------- */

START_TEST(test_start_ready) {
        _cleanup_(manager_freep) Manager *m = manager_up(CONF_IDLE);
        _cleanup_(pf_state_freep) PfState *disk = NULL;
        _cleanup_free_ char *path = state_path();
        _cleanup_token_ Token other = {};
        Pf *pf = the_pf(m);
        struct stat st;
        TestOpener vf;

        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_int_eq(pf->status_error, 0);
        ck_assert_ptr_nonnull(pf->vfio);
        ck_assert(!pf->adopted);
        ck_assert_ptr_nonnull(pf->device);
        ck_assert_uint_eq(pf->device->n_vfs, 2);
        ck_assert_ptr_null(pf->retry_timer);
        ck_assert_ptr_null(pf->rotate_timer); /* no interval configured */

        /* A first token, on record and in the kernel. */
        ck_assert_ptr_nonnull(pf->state->current);
        ck_assert_ptr_null(pf->state->pending);
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert_uint_gt(pf->state->set_usec, 0);
        ck_assert(model_has(pf->state->current));
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF), 1);

        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_int_eq(st.st_mode & 07777, 0600);
        ck_assert_int_eq(stat(env.state_dir, &st), 0);
        ck_assert_int_eq(st.st_mode & 07777, 0700);
        ck_assert_int_eq(load_disk(&disk), 0);
        ck_assert_uint_eq(disk->generation, 1);
        ck_assert(token_equal(disk->current, pf->state->current));
        ck_assert_ptr_null(disk->pending);

        /* The token opens a VF; none or another does not. */
        ck_assert_int_eq(opener_open(&vf, VF1, VF1_GROUP, pf->state->current), 0);
        ck_assert(vf_works(&vf));
        ck_assert_int_eq(kmodel_vf_users(fixture_dev(env.fixture), PF), 1);
        kmodel_clear_message();
        ck_assert_int_eq(try_vf(NULL), -EACCES);
        ck_assert_str_eq(kmodel_last_message(), "vfio-pci " VF2 ": VF token required to access device");
        token_generate(&other);
        ck_assert_int_eq(try_vf(&other), -EACCES);
        ck_assert_str_eq(kmodel_last_message(), "vfio-pci " VF2 ": Incorrect VF token provided for device");
        ck_assert_int_eq(try_vf(pf->state->current), 0);

        /* pf_get_token() hands out exactly that. */
        ck_assert_int_eq(pf_get_token(pf, &other), 0);
        ck_assert(token_equal(&other, pf->state->current));
        test_opener_close(&vf);
}
END_TEST

/* A second start on the same state (a clean restart without the fd store) keeps the token. */
START_TEST(test_restart_keeps_token) {
        _cleanup_token_ Token t1 = {};
        Manager *m = manager_up(CONF_PLAIN);
        TestOpener vf;

        token_copy(&t1, the_pf(m)->state->current);
        manager_free(m);

        /* Also with no VF open, where the reopen sets the token: it must set the same one. */
        m = manager_up(CONF_PLAIN);
        ck_assert_int_eq(the_pf(m)->status, PF_STATUS_READY);
        ck_assert_uint_eq(the_pf(m)->state->generation, 1);
        ck_assert(token_equal(the_pf(m)->state->current, &t1));
        ck_assert(model_has(&t1));
        ck_assert_int_eq(opener_open(&vf, VF1, VF1_GROUP, &t1), 0);
        manager_free(m);

        m = manager_up(CONF_PLAIN);
        ck_assert_int_eq(the_pf(m)->status, PF_STATUS_READY);
        ck_assert(token_equal(the_pf(m)->state->current, &t1));
        ck_assert(vf_works(&vf));
        manager_free(m);
        test_opener_close(&vf);
}
END_TEST

/* ---- Rotation policy ---------------------------------------------------------------------- */

START_TEST(test_rotate_busy_then_forced) {
        _cleanup_(manager_freep) Manager *m = manager_up(CONF_IDLE);
        _cleanup_(pf_state_freep) PfState *disk = NULL;
        _cleanup_token_ Token t1 = {};
        Pf *pf = the_pf(m);
        TestOpener vf;
        Lease *held;

        token_copy(&t1, pf->state->current);
        ck_assert_int_eq(opener_open(&vf, VF1, VF1_GROUP, &t1), 0);
        held = lease(pf, ":1.42");
        ck_assert_uint_eq(pf->n_leases, 1);

        /* A lease is held: a plain request is refused and changes nothing. */
        ck_assert_int_eq(manager_rotate_pf(m, pf, false, "test"), -EBUSY);
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert(token_equal(pf->state->current, &t1));
        ck_assert(model_has(&t1));

        /* Forced: a new generation everywhere; the open VF keeps working, later opens need the
         * new token, and the lease stays. */
        ck_assert_int_eq(manager_rotate_pf(m, pf, true, "test"), 0);
        ck_assert_uint_eq(pf->state->generation, 2);
        ck_assert(!token_equal(pf->state->current, &t1));
        ck_assert(model_has(pf->state->current));
        ck_assert_ptr_null(pf->state->pending);
        ck_assert_uint_eq(pf->n_leases, 1);
        ck_assert(vf_works(&vf));
        ck_assert_int_eq(try_vf(&t1), -EACCES);
        ck_assert_int_eq(try_vf(pf->state->current), 0);

        ck_assert_int_eq(load_disk(&disk), 0);
        ck_assert_uint_eq(disk->generation, 2);
        ck_assert(token_equal(disk->current, pf->state->current));
        ck_assert_ptr_null(disk->pending);

        /* Without leases a plain request rotates. */
        lease_free(held);
        ck_assert_int_eq(manager_rotate_pf(m, pf, false, "test"), 0);
        ck_assert_uint_eq(pf->state->generation, 3);
        ck_assert(model_has(pf->state->current));
        ck_assert(vf_works(&vf));
        test_opener_close(&vf);
}
END_TEST

START_TEST(test_rotate_when_idle) {
        _cleanup_(manager_freep) Manager *m = manager_up(CONF_IDLE);
        _cleanup_token_ Token t1 = {};
        Pf *pf = the_pf(m);
        Lease *a, *b;

        token_copy(&t1, pf->state->current);
        a = lease(pf, ":1.1");
        b = lease(pf, ":1.2");

        /* Not the last one: nothing happens. */
        lease_end(a, "released");
        ck_assert_uint_eq(pf->n_leases, 1);
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert(model_has(&t1));

        /* The last one: the token the holders knew is replaced. */
        lease_end(b, "released");
        ck_assert_uint_eq(pf->n_leases, 0);
        ck_assert_uint_eq(pf->state->generation, 2);
        ck_assert(!token_equal(pf->state->current, &t1));
        ck_assert(model_has(pf->state->current));
        ck_assert_int_eq(try_vf(&t1), -EACCES);
}
END_TEST

START_TEST(test_no_rotate_when_idle) {
        _cleanup_(manager_freep) Manager *m = manager_up(CONF_PLAIN);
        _cleanup_token_ Token t1 = {};
        Pf *pf = the_pf(m);

        ck_assert(!pf->config.rotate_when_idle);
        token_copy(&t1, pf->state->current);
        lease_end(lease(pf, ":1.1"), "released");
        ck_assert_uint_eq(pf->n_leases, 0);
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert(token_equal(pf->state->current, &t1));
        ck_assert(model_has(&t1));
}
END_TEST

/* Puts a committed token on record, set `age_usec` ago, before any daemon runs. */
static void record_token(const Token *t, uint64_t generation, uint64_t age_usec) {
        _cleanup_(pf_state_freep) PfState *s = pf_state_new();
        _cleanup_close_ int fd = state_dir_fd();

        ck_assert_ptr_nonnull(s);
        s->current = token_new();
        ck_assert_ptr_nonnull(s->current);
        token_copy(s->current, t);
        s->generation = generation;
        s->set_usec = now_realtime() - age_usec;
        ck_assert_int_eq(state_save(fd, PF, s), 0);
}

/* ---- udev events and Retry ---------------------------------------------------------------- */

START_TEST(test_udev_events) {
        _cleanup_token_ Token t1 = {};
        Manager *m = manager_up(CONF_PLAIN);
        Pf *pf = the_pf(m);

        token_copy(&t1, pf->state->current);

        /* Events of other devices change nothing. */
        manager_device_event(m, "0000:7f:00.0", "remove", NULL);
        manager_device_event(m, "not-an-address", "add", NULL);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);

        /* udev says the PF went: let go at once, not at the next failed ioctl. */
        ck_assert_int_eq(fixture_remove_device(env.fixture, PF), 0);
        manager_device_event(m, PF, "remove", NULL);
        ck_assert_int_eq(pf->status, PF_STATUS_GONE);
        ck_assert_ptr_null(pf->vfio);
        ck_assert_str_eq(pf_state_reason(pf), "the device is absent");
        ck_assert_ptr_nonnull(pf->retry_timer);

        /* It comes back (bound to vfio-pci by the setup udev starts): ready at once, same token. */
        ck_assert_int_eq(fixture_add_pf(env.fixture, PF, "vfio-pci", 4, 2, PF_GROUP), 0);
        manager_device_event(m, PF, "bind", "vfio-pci");
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_ptr_null(pf->retry_timer);
        ck_assert_str_eq(pf_state_reason(pf), "");
        ck_assert(token_equal(pf->state->current, &t1));
        ck_assert(model_has(&t1));
        manager_free(m);
}
END_TEST

START_TEST(test_retry_now) {
        Manager *m;
        Pf *pf;

        ck_assert_int_eq(fixture_remove_device(env.fixture, PF), 0);
        m = manager_up(CONF_PLAIN);
        pf = the_pf(m);
        ck_assert_int_eq(pf->status, PF_STATUS_GONE);

        /* Still absent: stays gone, with the reason, and a retry timer. */
        ck_assert_int_eq(manager_retry_pf(m, pf), 0);
        ck_assert_int_eq(pf->status, PF_STATUS_GONE);
        ck_assert_ptr_nonnull(pf->retry_timer);

        ck_assert_int_eq(fixture_add_pf(env.fixture, PF, "vfio-pci", 4, 2, PF_GROUP), 0);
        ck_assert_int_eq(manager_retry_pf(m, pf), 0);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_int_eq(manager_retry_pf(m, pf), 0); /* a ready PF: nothing to do */
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        manager_free(m);
}
END_TEST

/* ---- Failures in the middle of a rotation ------------------------------------------------ */

/* Wraps the model's system calls: on the next VF token SET, first makes the state file
 * unwritable (a non-empty directory in its place: rename() fails even for root), then either
 * lets the SET through or fails it with `set_error`. */
static const VfioSyscalls *model_sys;
static bool break_state_on_set;
static int set_error;

static void state_file_to_dir(void) {
        _cleanup_free_ char *p = state_path(), *inner = NULL;

        ck_assert_int_eq(unlink(p), 0);
        ck_assert_int_eq(mkdir(p, 0700), 0);
        ck_assert_int_ge(asprintf(&inner, "%s/x", p), 0);
        ck_assert_int_eq(mkdir(inner, 0700), 0);
}

static void state_dir_to_file(void) {
        _cleanup_free_ char *p = state_path(), *inner = NULL;

        ck_assert_int_ge(asprintf(&inner, "%s/x", p), 0);
        ck_assert_int_eq(rmdir(inner), 0);
        ck_assert_int_eq(rmdir(p), 0);
}

static int failing_ioctl(int fd, unsigned long request, void *arg) {
        if (request == VFIO_DEVICE_FEATURE &&
            (((struct vfio_device_feature *) arg)->flags & VFIO_DEVICE_FEATURE_SET) &&
            !(((struct vfio_device_feature *) arg)->flags & VFIO_DEVICE_FEATURE_PROBE)) {
                if (break_state_on_set) {
                        break_state_on_set = false;
                        state_file_to_dir();
                }
                if (set_error < 0) {
                        int e = set_error;

                        set_error = 0;
                        return e;
                }
        }
        return model_sys->ioctl(fd, request, arg);
}

static VfioSyscalls failing_sys;

static void install_failures(void) {
        model_sys = vfio_get_syscalls();
        failing_sys = *model_sys;
        failing_sys.ioctl = failing_ioctl;
        vfio_set_syscalls(&failing_sys);
}

START_TEST(test_commit_fails) {
        _cleanup_(manager_freep) Manager *m = manager_up(CONF_PLAIN);
        _cleanup_(pf_state_freep) PfState *disk = NULL;
        _cleanup_token_ Token t1 = {}, got = {};
        Pf *pf = the_pf(m);

        token_copy(&t1, pf->state->current);
        install_failures();
        break_state_on_set = true;

        /* The kernel took the new token but the commit could not be saved: the daemon hands out
         * the kernel's token, not the old one, stays ready, and saves again later. */
        ck_assert_int_eq(manager_rotate_pf(m, pf, false, "test"), 0);
        ck_assert_uint_eq(pf->status, PF_STATUS_READY);
        ck_assert_uint_eq(pf->state->generation, 2);
        ck_assert_ptr_null(pf->state->pending);
        ck_assert_int_eq(pf_get_token(pf, &got), 0);
        ck_assert(!token_equal(&got, &t1));
        ck_assert(model_has(&got));
        ck_assert_int_eq(try_vf(&got), 0);
        ck_assert_ptr_nonnull(pf->save_timer);

        /* Once the disk takes writes again, the retry commits it there. */
        state_dir_to_file();
        make_due(pf->save_timer);
        run_loop(m);
        ck_assert_ptr_null(pf->save_timer);
        ck_assert_int_eq(load_disk(&disk), 0);
        ck_assert_uint_eq(disk->generation, 2);
        ck_assert(token_equal(disk->current, &got));
        ck_assert_ptr_null(disk->pending);

        /* And later rotations are not refused as "busy". */
        ck_assert_int_eq(manager_rotate_pf(m, pf, false, "test"), 0);
        ck_assert_uint_eq(pf->state->generation, 3);
        ck_assert(model_has(pf->state->current));
        vfio_set_syscalls(model_sys);
}
END_TEST

START_TEST(test_set_and_abort_fail) {
        _cleanup_(manager_freep) Manager *m = manager_up(CONF_PLAIN);
        _cleanup_token_ Token t1 = {}, got = {};
        Pf *pf = the_pf(m);

        token_copy(&t1, pf->state->current);
        install_failures();
        break_state_on_set = true;
        set_error = -EIO;

        /* The SET failed and forgetting the pending token on disk failed too: the kernel kept the
         * old token, which is what is still handed out, and nothing is left pending in memory. */
        ck_assert_int_eq(manager_rotate_pf(m, pf, false, "test"), -EIO);
        ck_assert_uint_eq(pf->status, PF_STATUS_READY);
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert_ptr_null(pf->state->pending);
        ck_assert_int_eq(pf_get_token(pf, &got), 0);
        ck_assert(token_equal(&got, &t1));
        ck_assert(model_has(&t1));

        /* The next rotation goes through once the disk works (it saves the whole state). */
        state_dir_to_file();
        ck_assert_int_eq(manager_rotate_pf(m, pf, false, "test"), 0);
        ck_assert_uint_eq(pf->state->generation, 2);
        ck_assert(model_has(pf->state->current));
        ck_assert_ptr_null(pf->save_timer);
        vfio_set_syscalls(model_sys);
}
END_TEST

START_TEST(test_rotate_interval_retried) {
        _cleanup_token_ Token t0 = {};
        Manager *m;
        Pf *pf;

        /* Overdue at start; the first timed attempt fails: it is tried again, not forgotten. */
        token_generate(&t0);
        record_token(&t0, 7, 10 * 24 * 3600 * USEC_PER_SEC);
        m = manager_up(CONF_PLAIN "RotateIntervalSec=3600\n");
        pf = the_pf(m);
        ck_assert_ptr_nonnull(pf->rotate_timer);

        install_failures();
        set_error = -EIO;
        run_loop(m);
        ck_assert_uint_eq(pf->state->generation, 7);
        ck_assert_ptr_nonnull(pf->rotate_timer);
        ck_assert_uint_eq(pf->status, PF_STATUS_READY);

        make_due(pf->rotate_timer);
        run_loop(m);
        ck_assert_uint_eq(pf->state->generation, 8);
        ck_assert(model_has(pf->state->current));
        vfio_set_syscalls(model_sys);
        manager_free(m);
}
END_TEST

START_TEST(test_rotate_interval_due) {
        _cleanup_token_ Token t0 = {};
        Manager *m;
        Pf *pf;
        uint64_t when;

        /* Set ten days ago, to be rotated hourly: overdue the moment the daemon starts. */
        token_generate(&t0);
        record_token(&t0, 7, 10 * 24 * 3600 * USEC_PER_SEC);
        m = manager_up(CONF_PLAIN "RotateIntervalSec=3600\n");
        pf = the_pf(m);

        /* Started with the token on record (no VF open: the open sets it in the kernel). */
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_uint_eq(pf->state->generation, 7);
        ck_assert(token_equal(pf->state->current, &t0));
        ck_assert(model_has(&t0));
        ck_assert_ptr_nonnull(pf->rotate_timer);

        /* A lease does not hold the admin's interval back. */
        (void) lease(pf, ":1.9");
        run_loop(m);
        ck_assert_uint_eq(pf->state->generation, 8);
        ck_assert(!token_equal(pf->state->current, &t0));
        ck_assert(model_has(pf->state->current));
        ck_assert_int_eq(try_vf(&t0), -EACCES);

        /* The next one is an interval after this one, and not due now. */
        ck_assert_ptr_nonnull(pf->rotate_timer);
        ck_assert_int_eq(sd_event_source_get_time(pf->rotate_timer, &when), 0);
        ck_assert_uint_eq(when, pf->state->set_usec + 3600 * USEC_PER_SEC);
        run_loop(m);
        ck_assert_uint_eq(pf->state->generation, 8);
        manager_free(m);
}
END_TEST

START_TEST(test_rotate_interval_not_due) {
        _cleanup_token_ Token t0 = {};
        Manager *m;
        Pf *pf;

        token_generate(&t0);
        record_token(&t0, 3, 60 * USEC_PER_SEC);
        m = manager_up(CONF_PLAIN "RotateIntervalSec=3600\n");
        pf = the_pf(m);
        ck_assert_ptr_nonnull(pf->rotate_timer);
        run_loop(m);
        ck_assert_uint_eq(pf->state->generation, 3);
        ck_assert(model_has(&t0));
        manager_free(m);

        /* RotateIntervalSec=0: no timer at all, however old the token. */
        record_token(&t0, 3, 10 * 24 * 3600 * USEC_PER_SEC);
        m = manager_up(CONF_PLAIN "RotateIntervalSec=0\n");
        pf = the_pf(m);
        ck_assert_ptr_null(pf->rotate_timer);
        run_loop(m);
        ck_assert_uint_eq(pf->state->generation, 3);
        manager_free(m);
}
END_TEST

/* ---- Crash recovery ----------------------------------------------------------------------
 * A crash is kill -9: the Manager is freed (which closes its fds, as the kernel does for a
 * killed process) with no other cleanup, and a new one starts on the same state and model. A
 * VMM holds VF1 open all along, so the kernel demands the current token when the PF is
 * reopened. */

typedef enum CrashPoint {
        CRASH_AFTER_BEGIN,  /* pending on disk; the kernel has the old token */
        CRASH_AFTER_SET,    /* pending on disk; the kernel has the new token */
        CRASH_AFTER_COMMIT, /* committed */
} CrashPoint;

static void crash_recovery(CrashPoint point, const char *conf) {
        _cleanup_(pf_state_freep) PfState *disk = NULL;
        _cleanup_token_ Token t1 = {}, t2 = {};
        Manager *m = manager_up(conf);
        Pf *pf = the_pf(m);
        TestOpener vmm;

        token_copy(&t1, pf->state->current);
        ck_assert_int_eq(opener_open(&vmm, VF1, VF1_GROUP, &t1), 0);

        token_generate(&t2);
        ck_assert_int_eq(state_begin_rotation(m->state_fd, PF, pf->state, &t2), 0);
        if (point >= CRASH_AFTER_SET)
                ck_assert_int_eq(vfio_pf_set_token(pf->vfio, t2.bytes), 0);
        if (point >= CRASH_AFTER_COMMIT)
                ck_assert_int_eq(state_commit_rotation(m->state_fd, PF, pf->state, now_realtime()), 0);
        ck_assert(model_has(point >= CRASH_AFTER_SET ? &t2 : &t1));
        manager_free(m); /* kill -9 */
        ck_assert(vf_works(&vmm));

        m = manager_up(conf);
        pf = the_pf(m);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert(!pf->adopted);
        ck_assert_str_eq(pf_api_to_string(pf), strstr(conf, "Api=cdev") ? "cdev" : "group");

        /* Whichever step it died after, the rotation is complete now: the token it was rotating
         * to is current everywhere, at the generation it was meant to have, nothing pending. */
        ck_assert(token_equal(pf->state->current, &t2));
        ck_assert_uint_eq(pf->state->generation, 2);
        ck_assert_ptr_null(pf->state->pending);
        ck_assert_uint_eq(pf->state->pending_generation, 0);
        ck_assert(model_has(&t2));
        ck_assert_int_eq(load_disk(&disk), 0);
        ck_assert(token_equal(disk->current, &t2));
        ck_assert_uint_eq(disk->generation, 2);
        ck_assert_ptr_null(disk->pending);

        /* The VMM never noticed; new opens need the new token. */
        ck_assert(vf_works(&vmm));
        ck_assert_int_eq(kmodel_vf_users(fixture_dev(env.fixture), PF), 1);
        ck_assert_int_eq(try_vf(&t1), -EACCES);
        ck_assert_int_eq(try_vf(&t2), 0);

        /* And the daemon goes on rotating from there. */
        ck_assert_int_eq(manager_rotate_pf(m, pf, false, "test"), 0);
        ck_assert_uint_eq(pf->state->generation, 3);
        ck_assert(model_has(pf->state->current));
        ck_assert(vf_works(&vmm));

        manager_free(m);
        test_opener_close(&vmm);
}

START_TEST(test_crash_after_begin) {
        crash_recovery(CRASH_AFTER_BEGIN, CONF_PLAIN);
}
END_TEST

START_TEST(test_cdev_crash_after_begin) {
        crash_recovery(CRASH_AFTER_BEGIN, CONF_CDEV);
}
END_TEST

START_TEST(test_crash_after_set) {
        crash_recovery(CRASH_AFTER_SET, CONF_PLAIN);
}
END_TEST

START_TEST(test_cdev_crash_after_set) {
        crash_recovery(CRASH_AFTER_SET, CONF_CDEV);
}
END_TEST

START_TEST(test_crash_after_commit) {
        crash_recovery(CRASH_AFTER_COMMIT, CONF_PLAIN);
}
END_TEST

START_TEST(test_cdev_crash_after_commit) {
        crash_recovery(CRASH_AFTER_COMMIT, CONF_CDEV);
}
END_TEST

/* No token on record while a VF is open: the kernel refuses the PF, and guessing or resetting
 * is not ours to do. The PF is LOCKED and retried; once the VMM lets go, it comes up. */
START_TEST(test_locked_without_state) {
        _cleanup_free_ char *path = state_path();
        _cleanup_token_ Token t1 = {};
        Manager *m = manager_up(CONF_PLAIN);
        Pf *pf = the_pf(m);
        TestOpener vmm;

        token_copy(&t1, pf->state->current);
        ck_assert_int_eq(opener_open(&vmm, VF1, VF1_GROUP, &t1), 0);
        manager_free(m);
        ck_assert_int_eq(unlink(path), 0);

        m = manager_up(CONF_PLAIN);
        pf = the_pf(m);
        ck_assert_int_eq(pf->status, PF_STATUS_LOCKED);
        ck_assert_int_eq(pf->status_error, -EACCES);
        ck_assert_ptr_null(pf->vfio);
        ck_assert_ptr_null(pf->state->current);
        ck_assert_ptr_nonnull(pf->retry_timer);
        ck_assert_ptr_null(pf->rotate_timer);
        ck_assert_int_eq(manager_rotate_pf(m, pf, true, "test"), -EAGAIN);
        ck_assert_int_eq(pf_get_token(pf, &t1), -EAGAIN);
        ck_assert_int_eq(access(path, F_OK), -1);
        /* The kernel's token and the VMM are untouched. */
        ck_assert(model_has(&t1));
        ck_assert(vf_works(&vmm));

        /* Still locked on a retry while the VF is open... */
        make_due(pf->retry_timer);
        run_loop(m);
        ck_assert_int_eq(pf->status, PF_STATUS_LOCKED);
        ck_assert_ptr_nonnull(pf->retry_timer);

        /* ...and up with a fresh token once it is closed. */
        test_opener_close(&vmm);
        make_due(pf->retry_timer);
        run_loop(m);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_ptr_null(pf->retry_timer);
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert(!token_equal(pf->state->current, &t1));
        ck_assert(model_has(pf->state->current));
        ck_assert_int_eq(access(path, F_OK), 0);
        manager_free(m);
}
END_TEST

static const char damaged[] = "Version=1\nAddress=" PF "\nGeneration=5\nChecksum=0000000000000000\n";

static void write_damaged(void) {
        _cleanup_free_ char *path = state_path();

        ck_assert_int_eq(test_write_file_at(AT_FDCWD, path, damaged, strlen(damaged), 0600), 0);
}

static bool file_is_damaged_one(void) {
        _cleanup_free_ char *path = state_path(), *text = NULL;

        ck_assert_int_eq(test_read_file_at(AT_FDCWD, path, &text, NULL), 0);
        return streq(text, damaged);
}

/* A damaged state file and no VF open: the daemon opens the PF and sets a fresh token anyway.
 * The first token's record replaces the damaged file, which is kept beside it as ".damaged". */
START_TEST(test_damaged_state_no_vfs) {
        _cleanup_(pf_state_freep) PfState *disk = NULL;
        Manager *m;
        Pf *pf;

        close(state_dir_fd()); /* creates the directory */
        write_damaged();
        ck_assert_int_eq(load_disk(&disk), -EBADMSG);

        m = manager_up(CONF_PLAIN);
        pf = the_pf(m);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert(model_has(pf->state->current));

        ck_assert(!file_is_damaged_one());
        {
                _cleanup_free_ char *path = state_path(), *aside = NULL, *text = NULL;

                ck_assert_int_ge(asprintf(&aside, "%s.damaged", path), 0);
                ck_assert_int_eq(test_read_file_at(AT_FDCWD, aside, &text, NULL), 0);
                ck_assert_str_eq(text, damaged);
        }
        ck_assert_int_eq(load_disk(&disk), 0);
        ck_assert_uint_eq(disk->generation, 1);
        ck_assert(token_equal(disk->current, pf->state->current));
        manager_free(m);
}
END_TEST

/* A damaged state file while a VF is open: LOCKED, and the file is left exactly as it was. */
START_TEST(test_damaged_state_vfs_open) {
        _cleanup_token_ Token t1 = {};
        Manager *m = manager_up(CONF_PLAIN);
        Pf *pf = the_pf(m);
        TestOpener vmm;

        token_copy(&t1, pf->state->current);
        ck_assert_int_eq(opener_open(&vmm, VF1, VF1_GROUP, &t1), 0);
        manager_free(m);
        write_damaged();

        m = manager_up(CONF_PLAIN);
        pf = the_pf(m);
        ck_assert_int_eq(pf->status, PF_STATUS_LOCKED);
        ck_assert_int_eq(pf->status_error, -EACCES);
        ck_assert_ptr_nonnull(pf->retry_timer);
        ck_assert(file_is_damaged_one());
        ck_assert(model_has(&t1));
        ck_assert(vf_works(&vmm));
        manager_free(m);
        test_opener_close(&vmm);
}
END_TEST

/* ---- A PF that disappears ----------------------------------------------------------------- */

/* Gone while the daemon was down: GONE at start, retried without harm, back when it returns. */
START_TEST(test_vanished_while_down) {
        _cleanup_token_ Token t1 = {};
        _cleanup_free_ char *path = state_path();
        Manager *m = manager_up(CONF_PLAIN);
        Pf *pf;

        token_copy(&t1, the_pf(m)->state->current);
        manager_free(m);
        ck_assert_int_eq(fixture_remove_device(env.fixture, PF), 0);

        m = manager_up(CONF_PLAIN);
        pf = the_pf(m);
        ck_assert_int_eq(pf->status, PF_STATUS_GONE);
        ck_assert_int_eq(pf->status_error, -ENOENT);
        ck_assert_ptr_null(pf->vfio);
        ck_assert_ptr_nonnull(pf->retry_timer);
        ck_assert_ptr_null(manager_find_pf_for_device(m, VF1));

        /* Each failed retry doubles the interval, up to the maximum. */
        ck_assert_uint_eq(pf->retry_usec, 2 * PF_RETRY_USEC);
        for (uint64_t want = 4 * PF_RETRY_USEC; want <= 2 * PF_RETRY_MAX_USEC; want *= 2) {
                make_due(pf->retry_timer);
                run_loop(m);
                ck_assert_int_eq(pf->status, PF_STATUS_GONE);
                ck_assert_ptr_nonnull(pf->retry_timer);
                ck_assert_uint_eq(pf->retry_usec, want < PF_RETRY_MAX_USEC ? want : PF_RETRY_MAX_USEC);
        }
        /* The token on record is kept for when it comes back. */
        ck_assert_int_eq(access(path, F_OK), 0);

        ck_assert_int_eq(fixture_add_pf(env.fixture, PF, "vfio-pci", 4, 2, PF_GROUP), 0);
        make_due(pf->retry_timer);
        run_loop(m);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_uint_eq(pf->retry_usec, 0); /* back to the short interval next time */
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert(token_equal(pf->state->current, &t1));
        ck_assert(model_has(&t1));
        ck_assert_ptr_eq(manager_find_pf_for_device(m, VF1), pf);
        manager_free(m);
}
END_TEST

/* The kernel asks for the device back (driver unbind, hot-unplug: the VFIO request interrupt):
 * the daemon lets go at once, or the unbind would wait for it; the PF turns GONE and is retried. */
START_TEST(test_request_release) {
        Manager *m = manager_up(CONF_PLAIN);
        Pf *pf = the_pf(m);
        int device_fd;

        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_ptr_nonnull(pf->request_source);
        device_fd = vfio_pf_fd(pf->vfio, VFIO_FD_DEVICE);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF), 1);

        ck_assert_int_eq(vfio_model_request_release(device_fd), 1);
        run_loop(m);
        ck_assert_int_eq(pf->status, PF_STATUS_GONE);
        ck_assert_int_eq(pf->status_error, -ENODEV);
        ck_assert_ptr_null(pf->vfio);
        ck_assert_ptr_null(pf->request_source);
        ck_assert_ptr_nonnull(pf->retry_timer);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF), 0);

        /* Still bound to vfio-pci here, so the retry takes it back, with the same token. */
        make_due(pf->retry_timer);
        run_loop(m);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_uint_eq(pf->state->generation, 1);
        manager_free(m);
}
END_TEST

/* Gone under a running daemon (the model lets sysfs go while fds are open): the next use of the
 * device notices, the PF turns GONE and is retried, and comes back when the device does. */
START_TEST(test_vanished_while_ready) {
        _cleanup_(pf_state_freep) PfState *disk = NULL;
        _cleanup_token_ Token t1 = {};
        Manager *m = manager_up(CONF_PLAIN);
        Pf *pf = the_pf(m);

        token_copy(&t1, pf->state->current);
        ck_assert_int_eq(fixture_remove_device(env.fixture, PF), 0);

        ck_assert_int_eq(manager_rotate_pf(m, pf, false, "test"), -ENODEV);
        ck_assert_int_eq(pf->status, PF_STATUS_GONE);
        ck_assert_ptr_null(pf->vfio);
        ck_assert_ptr_nonnull(pf->retry_timer);
        ck_assert_int_eq(pf_get_token(pf, &t1), -EAGAIN);
        /* The failed SET was taken back on disk. */
        ck_assert_uint_eq(pf->state->generation, 1);
        ck_assert_ptr_null(pf->state->pending);
        ck_assert_int_eq(load_disk(&disk), 0);
        ck_assert_uint_eq(disk->generation, 1);
        ck_assert_ptr_null(disk->pending);
        ck_assert(token_equal(disk->current, &t1));

        make_due(pf->retry_timer);
        run_loop(m);
        ck_assert_int_eq(pf->status, PF_STATUS_GONE);
        ck_assert_int_eq(pf->status_error, -ENOENT);

        ck_assert_int_eq(fixture_add_pf(env.fixture, PF, "vfio-pci", 4, 2, PF_GROUP), 0);
        make_due(pf->retry_timer);
        run_loop(m);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert(token_equal(pf->state->current, &t1));
        ck_assert(model_has(&t1));
        manager_free(m);
}
END_TEST


/* ---- Api= ---------------------------------------------------------------------------------
 * The PF held through its iommufd cdev: opened and bound by the daemon, its token set with the
 * same feature ioctl; VMMs open VFs through either API with it. */

START_TEST(test_cdev_start) {
        _cleanup_token_ Token t1 = {};
        Manager *m = manager_up(CONF_CDEV);
        Pf *pf = the_pf(m);
        TestOpener vf;
        int fd;

        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_int_eq(vfio_pf_api(pf->vfio), VFIO_API_CDEV);
        ck_assert_str_eq(pf_api_to_string(pf), "cdev");
        ck_assert_int_eq(vfio_pf_fd(pf->vfio, VFIO_FD_GROUP), -1);
        fd = vfio_pf_fd(pf->vfio, VFIO_FD_CONTAINER); /* /dev/iommu on the cdev API */
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(kmodel_fd_kind(fd), KMODEL_FD_IOMMUFD);
        ck_assert_int_eq(kmodel_fd_kind(vfio_pf_fd(pf->vfio, VFIO_FD_DEVICE)), KMODEL_FD_CDEV);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF), 1);
        ck_assert(model_has(pf->state->current));
        token_copy(&t1, pf->state->current);

        /* VFs open with that token only. */
        ck_assert_int_eq(try_vf(NULL), -EACCES);
        ck_assert_int_eq(opener_open(&vf, VF1, VF1_GROUP, &t1), 0);

        /* A forced rotation with the VF held, then a restart that must bind with the token. */
        ck_assert_int_eq(manager_rotate_pf(m, pf, true, "test"), 0);
        ck_assert_uint_eq(pf->state->generation, 2);
        ck_assert(model_has(pf->state->current));
        ck_assert(!token_equal(pf->state->current, &t1));
        ck_assert_int_eq(try_vf(&t1), -EACCES);
        ck_assert_int_eq(try_vf(pf->state->current), 0);
        token_copy(&t1, pf->state->current);
        manager_free(m);
        ck_assert(vf_works(&vf));

        m = manager_up(CONF_CDEV);
        pf = the_pf(m);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_str_eq(pf_api_to_string(pf), "cdev");
        ck_assert_uint_eq(pf->state->generation, 2);
        ck_assert(token_equal(pf->state->current, &t1));
        ck_assert(vf_works(&vf));
        manager_free(m);
        test_opener_close(&vf);
}
END_TEST

/* Api=auto: the group API while the kernel has it, the cdev API on a kernel without
 * /dev/vfio/vfio (CONFIG_VFIO_GROUP off). */
START_TEST(test_api_auto) {
        _cleanup_free_ char *container = NULL;
        Manager *m = manager_up(CONF_PLAIN "Api=auto\n");

        ck_assert_str_eq(pf_api_to_string(the_pf(m)), "group");
        ck_assert_int_eq(vfio_pf_api(the_pf(m)->vfio), VFIO_API_GROUP);
        manager_free(m);

        ck_assert_int_ge(asprintf(&container, "%s/vfio/vfio", fixture_dev(env.fixture)), 0);
        ck_assert_int_eq(unlink(container), 0);
        m = manager_up(CONF_PLAIN);
        ck_assert_int_eq(the_pf(m)->status, PF_STATUS_READY);
        ck_assert_int_eq(vfio_pf_api(the_pf(m)->vfio), VFIO_API_CDEV);
        ck_assert_str_eq(pf_api_to_string(the_pf(m)), "cdev");
        manager_free(m);
}
END_TEST

/* Api=cdev on a kernel without CONFIG_VFIO_DEVICE_CDEV (no <device>/vfio-dev): the PF is not
 * served, and says why; Api=group still works there. */
START_TEST(test_cdev_missing) {
        _cleanup_free_ char *vfio_dev = NULL;
        Manager *m;
        Pf *pf;

        ck_assert_int_ge(asprintf(&vfio_dev, "%s/bus/pci/devices/" PF "/vfio-dev", fixture_sysfs(env.fixture)), 0);
        ck_assert_int_eq(test_rm_rf(vfio_dev), 0);
        m = manager_up(CONF_CDEV);
        pf = the_pf(m);
        ck_assert_int_eq(pf->status, PF_STATUS_GONE);
        ck_assert_int_eq(pf->status_error, -ENODEV);
        ck_assert_ptr_null(pf->vfio);
        ck_assert_int_eq(kmodel_device_is_open(fixture_dev(env.fixture), PF), 0);
        manager_free(m);

        m = manager_up(CONF_PLAIN "Api=group\n");
        ck_assert_int_eq(the_pf(m)->status, PF_STATUS_READY);
        manager_free(m);
}
END_TEST

/* A reload that changes Api= does not reopen a PF that stays (DESIGN.md: never reopened); the
 * new API applies when it is next opened. */
START_TEST(test_api_change_on_reload) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_token_ Token t1 = {};
        Manager *m = manager_up(CONF_PLAIN);
        Pf *pf = the_pf(m);

        token_copy(&t1, pf->state->current);
        ck_assert_int_eq(config_load_string("t.conf", CONF_CDEV, &c, NULL), 0);
        pf_update_config(pf, &c->pfs[0]);
        ck_assert_int_eq(pf->status, PF_STATUS_READY);
        ck_assert_int_eq(vfio_pf_api(pf->vfio), VFIO_API_GROUP);
        ck_assert_str_eq(pf_api_to_string(pf), "group");
        ck_assert_int_eq(pf->config.api, PF_API_CDEV);
        ck_assert(token_equal(pf->state->current, &t1));
        manager_free(m);

        m = manager_up(CONF_CDEV);
        ck_assert_str_eq(pf_api_to_string(the_pf(m)), "cdev");
        ck_assert(token_equal(the_pf(m)->state->current, &t1));
        manager_free(m);
}
END_TEST

static Suite *pf_suite(void) {
        Suite *s = suite_create("pf");
        TCase *tc;

        tc = tcase_create("start");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_start_ready);
        tcase_add_test(tc, test_restart_keeps_token);
        suite_add_tcase(s, tc);

        tc = tcase_create("rotation");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_rotate_busy_then_forced);
        tcase_add_test(tc, test_rotate_when_idle);
        tcase_add_test(tc, test_no_rotate_when_idle);
        tcase_add_test(tc, test_rotate_interval_due);
        tcase_add_test(tc, test_rotate_interval_not_due);
        suite_add_tcase(s, tc);

        tc = tcase_create("recovery");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_crash_after_begin);
        tcase_add_test(tc, test_crash_after_set);
        tcase_add_test(tc, test_crash_after_commit);
        tcase_add_test(tc, test_locked_without_state);
        tcase_add_test(tc, test_request_release);
        tcase_add_test(tc, test_damaged_state_no_vfs);
        tcase_add_test(tc, test_damaged_state_vfs_open);
        suite_add_tcase(s, tc);

        tc = tcase_create("api");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cdev_start);
        tcase_add_test(tc, test_cdev_crash_after_begin);
        tcase_add_test(tc, test_cdev_crash_after_set);
        tcase_add_test(tc, test_cdev_crash_after_commit);
        tcase_add_test(tc, test_api_auto);
        tcase_add_test(tc, test_cdev_missing);
        tcase_add_test(tc, test_api_change_on_reload);
        suite_add_tcase(s, tc);

        tc = tcase_create("vanish");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_vanished_while_down);
        tcase_add_test(tc, test_vanished_while_ready);
        tcase_add_test(tc, test_udev_events);
        tcase_add_test(tc, test_retry_now);
        tcase_add_test(tc, test_commit_fails);
        tcase_add_test(tc, test_set_and_abort_fail);
        tcase_add_test(tc, test_rotate_interval_retried);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(pf_suite);
