/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests daemon/vfio.c's iommufd cdev backend (VFIO_API_CDEV) on the kernel model: the PF's cdev
 * found through sysfs, bound with and without a token, its token probed and set, VFs opened by a
 * raw cdev opener with VFIO_DEVICE_BIND_FLAG_TOKEN and through the group API, the fds adopted
 * after a "restart" without a rebind, the request eventfd, and the errors vfio.h promises. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture.h"
#include "kmodel.h"
#include "macro.h"
#include "scenarios.h"
#include "sysfs.h"
#include "test-util.h"
#include "token.h"
#include "vfio-uapi.h"
#include "vfio.h"

#define PF "0000:01:00.0"
#define VF1 "0000:01:00.1"
#define VF2 "0000:01:00.2"
#define PF_GROUP 1
#define VF2_GROUP 3

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

/* N of the device's /dev/vfio/devices/vfioN, as the daemon finds it (sysfs vfio-dev/). */
static int cdev_of(const char *address) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;

        ck_assert_int_eq(sysfs_device_read(env.sys_root, address, &d), 0);
        ck_assert_int_ge(d->vfio_cdev, 0);
        return d->vfio_cdev;
}

/* A VMM opening a VF by its cdev: iommufd, cdev, bind (with the token if t). Returns the bind's
 * result; on success *ret_cdev and *ret_iommufd hold the fds. */
static int raw_bind(const char *address, const Token *t, int *ret_iommufd, int *ret_cdev) {
        _cleanup_close_ int iommufd = -1, cdev = -1;
        int r;

        iommufd = kmodel_open_iommufd(env.dev_root);
        ck_assert_int_ge(iommufd, 0);
        cdev = kmodel_open_cdev(env.dev_root, cdev_of(address));
        ck_assert_int_ge(cdev, 0);
        if (t)
                r = kmodel_device_bind_iommufd(cdev, sizeof(VfioBindIommufd), VFIO_DEVICE_BIND_FLAG_TOKEN, iommufd, t);
        else
                r = kmodel_device_bind_iommufd(cdev, BIND_IOMMUFD_MINSZ, 0, iommufd, NULL);
        if (r < 0)
                return r;
        *ret_iommufd = TAKE_FD(iommufd);
        *ret_cdev = TAKE_FD(cdev);
        return 0;
}

static int try_raw_bind(const char *address, const Token *t) {
        int iommufd = -1, cdev = -1, r;

        r = raw_bind(address, t, &iommufd, &cdev);
        safe_close(cdev);
        safe_close(iommufd);
        return r;
}

static void assert_token(const Token *want) {
        _cleanup_token_ Token now = {};

        ck_assert_int_eq(kmodel_peek_token(env.dev_root, PF, &now), 0);
        ck_assert(token_equal(want, &now));
}

START_TEST(test_cdev_open_and_set) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL, *again = NULL;
        _cleanup_token_ Token t = {}, wrong = {};
        int iommufd = -1, cdev = -1;

        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), NULL, &pf), 0);
        ck_assert_int_eq(vfio_pf_api(pf), VFIO_API_CDEV);
        ck_assert_int_eq(kmodel_fd_kind(vfio_pf_fd(pf, VFIO_FD_CONTAINER)), KMODEL_FD_IOMMUFD);
        ck_assert_int_eq(vfio_pf_fd(pf, VFIO_FD_GROUP), -1);
        ck_assert_int_eq(kmodel_fd_kind(vfio_pf_fd(pf, VFIO_FD_DEVICE)), KMODEL_FD_CDEV);
        ck_assert_int_eq(kmodel_device_is_open(env.dev_root, PF), 1);

        ck_assert_int_eq(vfio_pf_probe_token(pf), 0);
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_set_token(pf, t.bytes), 0);
        assert_token(&t);

        /* One opener per cdev (the kernel's EINVAL, as vfio.h's EBUSY); the group is blocked. */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), NULL, &again), -EBUSY);
        ck_assert_ptr_null(again);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, NULL, &again), -EBUSY);

        /* VFs: by cdev bind only with the token; by the group API as well. */
        token_generate(&wrong);
        ck_assert_int_eq(try_raw_bind(VF1, NULL), -EACCES);
        ck_assert_str_eq(kmodel_last_message(), "vfio-pci " VF1 ": VF token required to access device");
        ck_assert_int_eq(try_raw_bind(VF1, &wrong), -EACCES);
        ck_assert_str_eq(kmodel_last_message(), "vfio-pci " VF1 ": Incorrect VF token provided for device");
        ck_assert_int_eq(raw_bind(VF1, &t, &iommufd, &cdev), 0);
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 1);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, VF2, VF2_GROUP, t.bytes, &again), 0);
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 2);
        ck_assert_int_eq(vfio_pf_probe_token(again), -ENOTTY); /* a VF has no token feature */
        again = vfio_pf_free(again);

        /* SET while a VF is bound: its fd keeps working, later binds need the new token. */
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_set_token(pf, t.bytes), 0);
        {
                struct vfio_device_info info = { .argsz = sizeof info };

                ck_assert_int_eq(kmodel_device_get_info(cdev, &info), 0);
        }

        /* The PF let go while a VF is bound: it binds again only with the current token, as the
         * daemon's reopen (committed, then pending token) relies on. */
        pf = vfio_pf_free(pf);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), NULL, &pf), -EACCES);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), wrong.bytes, &pf), -EACCES);
        ck_assert_ptr_null(pf);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), t.bytes, &pf), 0);
        assert_token(&t);
        pf = vfio_pf_free(pf);

        safe_close(cdev);
        safe_close(iommufd);
        ck_assert_int_eq(kmodel_vf_users(env.dev_root, PF), 0);

        /* No VF in use: a bind with a token sets it. */
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), t.bytes, &pf), 0);
        assert_token(&t);
}
END_TEST

START_TEST(test_cdev_group_mix) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL;
        _cleanup_token_ Token t = {};
        int iommufd = -1, cdev = -1;

        /* PF through the group API, VF by cdev bind. */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, PF, PF_GROUP, NULL, &pf), 0);
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_set_token(pf, t.bytes), 0);
        ck_assert_int_eq(try_raw_bind(VF1, NULL), -EACCES);
        ck_assert_int_eq(raw_bind(VF1, &t, &iommufd, &cdev), 0);
        /* The PF's cdev cannot be bound while its group is held. */
        ck_assert_int_eq(try_raw_bind(PF, &t), -EBUSY);
        safe_close(cdev);
        safe_close(iommufd);
}
END_TEST

START_TEST(test_cdev_adopt) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL, *adopted = NULL;
        _cleanup_token_ Token t = {};
        int fds[_VFIO_FD_MAX], iommufd = -1, cdev = -1, efd;
        uint64_t n = 0;

        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), NULL, &pf), 0);
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_set_token(pf, t.bytes), 0);
        ck_assert_int_eq(raw_bind(VF1, &t, &iommufd, &cdev), 0);

        /* The fd store's copies outlive the daemon; adoption checks them without a rebind (a
         * rebind while the VF is bound would need the token). */
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                fds[i] = i == VFIO_FD_GROUP ? -1 : fcntl(vfio_pf_fd(pf, (VfioFdKind) i), F_DUPFD_CLOEXEC, 3);
        pf = vfio_pf_free(pf);
        ck_assert_int_eq(kmodel_device_is_open(env.dev_root, PF), 1);
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_CDEV, PF, fds, &adopted), 0);
        for (size_t i = 0; i < _VFIO_FD_MAX; i++)
                ck_assert_int_eq(fds[i], -1);
        ck_assert_int_eq(vfio_pf_api(adopted), VFIO_API_CDEV);
        ck_assert_int_eq(vfio_pf_probe_token(adopted), 0);
        token_generate(&t);
        ck_assert_int_eq(vfio_pf_set_token(adopted, t.bytes), 0);
        assert_token(&t);

        /* The request eventfd, as for the group API. */
        efd = vfio_pf_request_fd(adopted);
        ck_assert_int_ge(efd, 0);
        ck_assert_int_eq(vfio_pf_request_fd(adopted), efd);
        ck_assert_int_eq(vfio_model_request_release(vfio_pf_fd(adopted, VFIO_FD_DEVICE)), 1);
        ck_assert_int_eq(read(efd, &n, sizeof n), (ssize_t) sizeof n);
        ck_assert_uint_eq(n, 1);

        safe_close(cdev);
        safe_close(iommufd);
}
END_TEST

START_TEST(test_cdev_adopt_errors) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL, *adopted = NULL, *group = NULL;
        int fds[_VFIO_FD_MAX], unbound, p[2];

        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), NULL, &pf), 0);

        /* A cdev fd that was never bound: the kernel answers EINVAL, vfio.h says EBADFD. */
        unbound = kmodel_open_cdev(env.dev_root, cdev_of(VF1));
        ck_assert_int_ge(unbound, 0);
        fds[VFIO_FD_CONTAINER] = fcntl(vfio_pf_fd(pf, VFIO_FD_CONTAINER), F_DUPFD_CLOEXEC, 3);
        fds[VFIO_FD_GROUP] = -1;
        fds[VFIO_FD_DEVICE] = unbound;
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_CDEV, PF, fds, &adopted), -EBADFD);
        ck_assert_int_eq(fcntl(unbound, F_GETFD), -1); /* closed by adopt */

        /* The two fds swapped: the cdev answers no IOMMU_OPTION. */
        fds[VFIO_FD_CONTAINER] = fcntl(vfio_pf_fd(pf, VFIO_FD_DEVICE), F_DUPFD_CLOEXEC, 3);
        fds[VFIO_FD_GROUP] = -1;
        fds[VFIO_FD_DEVICE] = fcntl(vfio_pf_fd(pf, VFIO_FD_CONTAINER), F_DUPFD_CLOEXEC, 3);
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_CDEV, PF, fds, &adopted), -ENOTTY);

        /* A group fd where the cdev API has none. */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_GROUP, VF2, VF2_GROUP, NULL, &group), -EACCES);
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        fds[VFIO_FD_CONTAINER] = fcntl(vfio_pf_fd(pf, VFIO_FD_CONTAINER), F_DUPFD_CLOEXEC, 3);
        fds[VFIO_FD_GROUP] = p[0];
        fds[VFIO_FD_DEVICE] = fcntl(vfio_pf_fd(pf, VFIO_FD_DEVICE), F_DUPFD_CLOEXEC, 3);
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_CDEV, PF, fds, &adopted), -EBADFD);
        ck_assert_int_eq(fcntl(p[0], F_GETFD), -1);

        /* Not character devices at all. */
        fds[VFIO_FD_CONTAINER] = p[1];
        fds[VFIO_FD_GROUP] = -1;
        fds[VFIO_FD_DEVICE] = fcntl(vfio_pf_fd(pf, VFIO_FD_DEVICE), F_DUPFD_CLOEXEC, 3);
        ck_assert_int_eq(vfio_pf_adopt(VFIO_API_CDEV, PF, fds, &adopted), -EBADFD);
        ck_assert_ptr_null(adopted);

        /* The originals still work: nothing above touched the binding. */
        ck_assert_int_eq(vfio_pf_probe_token(pf), 0);
}
END_TEST

START_TEST(test_cdev_open_errors) {
        _cleanup_(vfio_pf_freep) VfioPf *pf = NULL;
        _cleanup_free_ char *iommu = NULL;

        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, -1, NULL, &pf), -EINVAL);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, "bogus", 0, NULL, &pf), -EINVAL);
        /* No such cdev node (a kernel without CONFIG_VFIO_DEVICE_CDEV has none). */
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, 77, NULL, &pf), -ENOENT);
        /* A token given to a device that is neither PF nor VF. */
        {
                _cleanup_(pci_device_freep) PciDevice *d = NULL;
                _cleanup_token_ Token t = {};

                token_generate(&t);
                ck_assert_int_eq(sysfs_device_read(env.sys_root, "0000:03:00.0", &d), 0);
                ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, "0000:03:00.0", d->vfio_cdev, t.bytes, &pf),
                                 -EINVAL);
        }
        /* The PF unbound from vfio-pci: its cdev is gone. */
        ck_assert_int_eq(fixture_set_driver(fixture, PF, NULL), 0);
        {
                _cleanup_(pci_device_freep) PciDevice *d = NULL;

                ck_assert_int_eq(sysfs_device_read(env.sys_root, PF, &d), 0);
                ck_assert_int_eq(d->vfio_cdev, -1);
        }
        ck_assert_int_eq(fixture_set_driver(fixture, PF, "vfio-pci"), 0);
        /* No /dev/iommu: a kernel without CONFIG_IOMMUFD. */
        ck_assert_int_ge(asprintf(&iommu, "%s/iommu", env.dev_root), 0);
        ck_assert_int_eq(unlink(iommu), 0);
        ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), NULL, &pf), -ENOENT);
        /* The node's permissions are not the kernel's token refusal. */
        if (geteuid() != 0) {
                safe_close(open(iommu, O_CREAT | O_WRONLY | O_CLOEXEC, 0));
                ck_assert_int_eq(vfio_pf_open(env.dev_root, VFIO_API_CDEV, PF, cdev_of(PF), NULL, &pf), -EPERM);
        }
        ck_assert_ptr_null(pf);
}
END_TEST

START_TEST(test_cdev_names) {
        ck_assert_ptr_nonnull(strstr(vfio_strerror(VFIO_OP_OPEN, -EOPNOTSUPP), "6.19"));
        ck_assert_ptr_nonnull(strstr(vfio_strerror(VFIO_OP_OPEN, -ENOENT), "CONFIG_VFIO_DEVICE_CDEV"));
        ck_assert_ptr_nonnull(strstr(vfio_strerror(VFIO_OP_ADOPT, -EBADFD), "iommufd"));
}
END_TEST

static Suite *vfio_cdev_suite(void) {
        Suite *s = suite_create("vfio-cdev");
        TCase *tc = tcase_create("cdev");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cdev_open_and_set);
        tcase_add_test(tc, test_cdev_group_mix);
        tcase_add_test(tc, test_cdev_adopt);
        tcase_add_test(tc, test_cdev_adopt_errors);
        tcase_add_test(tc, test_cdev_open_errors);
        tcase_add_test(tc, test_cdev_names);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(vfio_cdev_suite);
