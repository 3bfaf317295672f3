/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One list of VFIO scenarios, run against the kernel model (unit tests) and against a real kernel
 * (the VM tests), so the two can be compared line by line. Each scenario is a short story of
 * opens and ioctls that ends in named checks; each check prints one line, "name: OK" or
 * "name: EACCES", the same on both backends when the model is right. The expected answer of every
 * check is written once, here, from /work/shared/KERNEL-SEMANTICS.md (rows observed on 6.1 and
 * 6.12) and from the kernel source where no row exists yet (marked "source" in scenarios.c), so
 * the VM tests confirm those too.
 *
 * Topology: a PF bound to vfio-pci with at least two VFs on vfio-pci (the VM: 0000:01:00.0 with
 * .1 and .2); optionally a VF on vfio-pci whose PF is on another driver, and a device on vfio-pci
 * that is neither PF nor VF. Stories that need an optional device are skipped without output when
 * it is absent. The scenarios leave the PF's token set to a random value and every fd closed. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>


/* The syscalls a scenario makes; each returns the fd or 0, or -errno as the syscall failed. */
typedef struct ScenarioOps {
        const char *name;
        int (*open_container)(const char *dev_root);          /* + VFIO_GET_API_VERSION check */
        int (*open_group)(const char *dev_root, int group);
        int (*group_set_container)(int group_fd, int container_fd);
        int (*set_iommu)(int container_fd);                   /* Type1v2, else Type1 */
        int (*get_device_fd)(int group_fd, const char *name);
        int (*device_feature)(int device_fd, uint32_t flags, uint32_t argsz, const uint8_t data[16]);
        int (*device_get_info)(int device_fd);                /* 0 if a vfio-pci device answers */
        int (*close_fd)(int fd);
        /* The iommufd cdev API (Linux 6.6+, tokens at bind 6.19+): open("<dev>/iommu"),
         * open("<dev>/vfio/devices/vfio<n>"), VFIO_DEVICE_BIND_IOMMUFD (with
         * VFIO_DEVICE_BIND_FLAG_TOKEN and the token when `token` is not NULL). */
        int (*open_iommufd)(const char *dev_root);
        int (*open_cdev)(const char *dev_root, int n);
        int (*bind_iommufd)(int cdev_fd, int iommufd, const uint8_t *token);
} ScenarioOps;

extern const ScenarioOps scenario_ops_kernel; /* real ioctls */
extern const ScenarioOps scenario_ops_model;  /* tests/model/kmodel.h */

typedef struct ScenarioEnv {
        const ScenarioOps *ops;
        const char *dev_root; /* "/dev", or a fixture's dev */
        const char *sys_root; /* "/sys", or a fixture's sys: IOMMU groups are read from it */
        const char *pf;       /* SR-IOV PF on vfio-pci */
        const char *vf[2];    /* two of its VFs, on vfio-pci */
        const char *other_vf; /* optional: a VF on vfio-pci whose PF is on another driver */
        const char *plain;    /* optional: a device on vfio-pci that is neither PF nor VF */
        bool basic;           /* run only the stories that need pf and vf[] */
        bool cdev;            /* also the stories of the iommufd cdev API (the kernel has it) */
} ScenarioEnv;

#define SCENARIO_CHECKS_MAX 128

typedef struct ScenarioCheck {
        const char *name;
        int result;          /* 0 or -errno */
        bool setup_failed;   /* a story's setup step failed: `name` is the story, `result` its error */
        const char *step;    /* the setup step that failed */
} ScenarioCheck;

typedef struct ScenarioRun {
        ScenarioCheck checks[SCENARIO_CHECKS_MAX];
        size_t n_checks;
} ScenarioRun;

/* Runs every story in order, printing one line per check to `out` (may be NULL). Returns 0, or
 * -errno if the environment is unusable (checks that fail are results, not errors). */
int scenarios_run(const ScenarioEnv *env, FILE *out, ScenarioRun *ret);

/* Compares a run with the expected table, printing every difference to `out` (may be NULL).
 * Checks of stories that did not run (optional devices absent, `basic`) are not expected.
 * Returns the number of differences. */
size_t scenarios_compare(const ScenarioEnv *env, const ScenarioRun *run, FILE *out);

/* Prints the expected table in the output format of scenarios_run(). */
void scenarios_print_expected(const ScenarioEnv *env, FILE *out);

/* The expected result of the named check (0 or -errno); -ENOENT in *ret_found = false. */
int scenario_expected(const char *name, bool *ret_found);

/* "OK" or the errno name ("EACCES"); buf is used for unnamed errnos. */
const char *scenario_result_to_string(int result, char buf[static 32]);

/* Fills env's devices from sysfs: vf[] are the PF's first two VFs. -ENODEV if the PF is not on
 * vfio-pci or has fewer than two VFs on vfio-pci. Strings are owned by `storage` (freed with
 * scenario_storage_free()). */
typedef struct ScenarioStorage {
        char *strings[4];
} ScenarioStorage;
int scenario_env_discover(ScenarioEnv *env, const char *pf, ScenarioStorage *storage);
void scenario_storage_free(ScenarioStorage *storage);
/* Whether the kernel has the iommufd cdev API for env's PF: <dev>/iommu and the PF's
 * <sys>/.../vfio-dev/vfioN. */
bool scenario_env_has_cdev(const ScenarioEnv *env);

/* The model's world for the scenarios, built in a fixture (tests/common/fixture.h): PF
 * 0000:01:00.0 with VFs .1/.2 on vfio-pci, a VF 0000:02:00.1 on vfio-pci under a PF on "nvme",
 * and 0000:03:00.0 on vfio-pci. Reuses the devices if they exist. Fills env (ops = model). */
typedef struct Fixture Fixture;
int scenario_fixture_setup(Fixture *f, ScenarioEnv *env);
