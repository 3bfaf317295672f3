/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the expected results of the VFIO scenarios and the runner (see scenarios.h). The stories
 * are scenario-stories.c's; the two backends, real ioctls and the kernel model, scenario-ops.c's. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "fixture.h"
#include "macro.h"
#include "scenario-stories.h"
#include "string-util.h"
#include "sysfs.h"


/* The expected answer of each check. "row:" quotes KERNEL-SEMANTICS.md; "source:" is what the
 * kernel source says where no observation exists yet. */
typedef struct Expectation {
        const char *name;
        int expected;
        const char *why;
} Expectation;

static const Expectation expectations[] = {
        /* story_fresh */
        { "vf-plain-before-set", -EACCES, "row: VF open, plain name, before any SET" },
        { "vf-zero-token-before-set", -EACCES, "row: VF open, all-zero token, before any SET" },
        /* story_pf_feature */
        { "pf-plain-no-vf-open", 0, "row: PF open, plain name, no VF open" },
        { "pf-feature-probe-set", 0, "row: FEATURE PROBE|SET|PCI_VF_TOKEN on the PF" },
        { "pf-feature-get", -EINVAL, "row: FEATURE GET on the PF" },
        { "pf-feature-probe-get", -EINVAL, "row: FEATURE PROBE|GET on the PF" },
        { "pf-feature-get-set", -EINVAL, "row: FEATURE GET|SET on the PF" },
        { "pf-feature-set-short", -EINVAL, "row: FEATURE SET with argsz short of 16 bytes of data" },
        { "pf-feature-argsz-below-header", -EINVAL, "source: vfio_ioctl_device_feature() argsz < minsz" },
        { "pf-feature-unknown-flag", -EINVAL, "source: vfio_ioctl_device_feature() unknown flags" },
        { "pf-feature-probe-set-no-data", 0, "source: vfio_check_feature() PROBE before the size check" },
        { "pf-feature-set", 0, "row: SET on the PF" },
        /* story_vf_tokens */
        { "vf-plain", -EACCES, "row: VF open, plain name" },
        { "vf-wrong-token", -EACCES, "row: VF open, wrong token" },
        { "vf-token-malformed", -EINVAL, "row: VF open, vf_token= malformed" },
        { "vf-token-short", -EINVAL, "row: VF open, vf_token= too short" },
        { "vf-token-twice", -EINVAL, "row: VF open, vf_token= given twice" },
        { "vf-token-unknown-option", -EINVAL, "row: VF open, with an unknown option" },
        { "vf-unknown-option-only", -EINVAL, "source: vfio_pci_core_match() unknown option" },
        { "vf-token-trailing-garbage", -EINVAL, "source: vfio_pci_core_match() text after the UUID" },
        { "vf-token-extra-spaces", 0, "source: vfio_pci_core_match() skips spaces" },
        { "vf-name-suffix", -ENODEV, "source: vfio_pci_core_match() no match, non-space after name" },
        { "vf-right-token", 0, "row: VF open, right token" },
        { "vf-feature-probe", -ENOTTY, "row: FEATURE PROBE on a VF fd" },
        { "vf-feature-set", -ENOTTY, "row: FEATURE SET on a VF fd" },
        { "vf-feature-get", -ENOTTY, "source: vfio_pci_core_feature_token() no vf_token before flags" },
        /* story_set_while_open */
        { "set-while-vf-open", 0, "row: SET a new token while a VF fd is open" },
        { "vf-fd-works-after-set", 0, "row: ...the open fd keeps working" },
        { "vf-old-token-after-set", -EACCES, "row: after that: VF open with the old token" },
        { "vf-second-fd-old-token-after-set", -EACCES, "row: after that: 2nd fd of the same VF, old token" },
        { "vf-new-token-after-set", 0, "row: after that: VF open with the new token" },
        { "vf-second-fd-new-token-after-set", 0, "row: after that: 2nd fd of the same VF, new token" },
        { "pf-reopen-plain-with-vf-open", -EACCES, "row: PF closed while VFs open, reopen plain" },
        { "pf-reopen-stale-token-with-vf-open", -EACCES, "row: ... reopen with a stale token" },
        { "pf-reopen-new-token-with-vf-open", -EACCES, "row: ... reopen with a new token" },
        { "pf-reopen-current-token-with-vf-open", 0, "row: PF reopen with the current token, VFs open" },
        { "pf-set-after-reopen-with-vf-open", 0, "row: ... and SET through it works" },
        { "vf-open-no-pf-fd", 0, "row: VF open with the current token while no PF fd is open" },
        /* story_pf_token_open */
        { "pf-token-open-no-vf-open", 0, "row: PF open as \"ADDR vf_token=X\" with no VF open" },
        { "vf-token-set-by-pf-open", 0, "row: ... and the token becomes X" },
        /* Since the container check moved into vfio_device_open() (Linux 5.19): before, it came
         * first and the token was left alone. */
        { "pf-token-open-no-container", -EINVAL, "source: match (sets the token) before container check" },
        { "vf-token-set-by-failed-pf-open", 0, "source: ... the token is set all the same" },
        /* story_groups */
        { "group-open-twice", -EBUSY, "source: vfio_group_fops_open() one opener per group" },
        { "group-busy-while-device-open", -EBUSY, "source: device fds hold the group file" },
        { "group-free-after-device-close", 0, "source: vfio_group_fops_release()" },
        { "device-no-container", -EINVAL, "source: vfio_df_group_open() needs a container" },
        { "device-no-iommu", -EINVAL, "source: a container without VFIO_SET_IOMMU" },
        { "device-name-other-group", -ENODEV, "source: vfio_device_get_from_name() no such device" },
        /* story_other_driver */
        { "vf-other-driver-pf-plain", 0, "row: VF open when the PF is on another driver, plain" },
        { "vf-other-driver-pf-token", -EINVAL, "row: ... with a token" },
        /* story_plain_device */
        { "plain-device-open", 0, "source: a device that is neither PF nor VF, plain" },
        { "plain-device-feature-probe", -ENOTTY, "source: ... FEATURE (no vf_token)" },
        { "plain-device-token", -EINVAL, "source: ... with a token (not a PF or VF)" },
        /* story_cdev_pf (drivers/vfio/device_cdev.c; Linux 6.19+ for the token flag) */
        { "cdev-pf-bind-plain", 0, "source: PF bind without a token, no VF open" },
        { "cdev-pf-feature-probe-set", 0, "source: FEATURE PROBE|SET|PCI_VF_TOKEN on a bound PF cdev" },
        { "cdev-pf-feature-set", 0, "source: SET on a bound PF cdev" },
        { "cdev-ioctl-before-bind", -EINVAL, "source: vfio_device_fops_unl_ioctl() !access_granted" },
        { "cdev-pf-bind-second-fd", -EINVAL, "source: vfio_df_open() one opener per cdev" },
        { "cdev-pf-group-open-while-bound", -EBUSY, "source: vfio_group_fops_open() cdev_device_open_cnt" },
        { "cdev-vf-bind-plain", -EACCES, "issue 13: VF bind without a token" },
        { "cdev-vf-bind-wrong-token", -EACCES, "issue 13: VF bind with a wrong token" },
        { "cdev-vf-bind-right-token", 0, "issue 13: VF bind with the right token" },
        { "cdev-vf-feature-probe", -ENOTTY, "source: vfio_pci_core_feature_token() on a VF" },
        { "cdev-vf-group-open-right-token", 0, "issue 13: a VF of a cdev-bound PF opens through its group" },
        { "cdev-pf-set-while-vf-bound", 0, "source: SET while a VF is bound" },
        { "cdev-vf-fd-works-after-set", 0, "source: ...the bound VF keeps working" },
        { "cdev-vf-bind-old-token-after-set", -EACCES, "source: after that: VF bind with the old token" },
        { "cdev-vf-bind-new-token-after-set", 0, "source: after that: VF bind with the new token" },
        { "cdev-pf-rebind-plain-with-vf-open", -EACCES, "source: PF let go while a VF is bound, rebind plain" },
        { "cdev-pf-rebind-stale-token-with-vf-open", -EACCES, "source: ... with a stale token" },
        { "cdev-pf-rebind-current-token", 0, "source: ... with the current token" },
        /* story_cdev_pf_token_bind */
        { "cdev-pf-token-bind-no-vf", 0, "source: PF bind with a token, no VF open" },
        { "cdev-vf-token-set-by-pf-bind", 0, "source: ... and the token becomes it" },
        /* story_cdev_second_bind */
        { "cdev-pf-second-bind-token", -EINVAL, "source: a second bind of a bound PF, with a token" },
        { "cdev-vf-token-set-by-second-bind", 0, "source: vfio_df_check_token() before vfio_df_open()" },
        { "cdev-bind-container-as-iommufd", -EBADFD, "source: iommufd_ctx_from_fd() of another file" },
        /* story_group_pf_cdev_vf */
        { "group-pf-cdev-vf-plain", -EACCES, "source: VF bind without a token, PF held by its group" },
        { "group-pf-cdev-vf-right-token", 0, "source: VF bind with the token SET through the group" },
        { "group-pf-cdev-vf-blocks-group", -EBUSY, "source: vfio_group_fops_open() cdev_device_open_cnt" },
        { "group-pf-cdev-pf-bind", -EBUSY, "source: vfio_device_block_group() of the held PF group" },
};

void scenario_record(ScenarioCtx *c, const char *name, int result, const char *step) {
        char buf[32];

        if (c->run->n_checks < SCENARIO_CHECKS_MAX)
                c->run->checks[c->run->n_checks++] = (ScenarioCheck) {
                        .name = name, .result = result, .setup_failed = !!step, .step = step
                };
        if (!c->out)
                return;
        if (step)
                fprintf(c->out, "%s: SETUP %s: %s\n", name, step, scenario_result_to_string(result, buf));
        else
                fprintf(c->out, "%s: %s\n", name, scenario_result_to_string(result, buf));
        fflush(c->out);
}

static bool story_runs(const ScenarioEnv *env, size_t i) {
        if (scenario_stories[i].needs != NEEDS_PF && env->basic)
                return false;
        if ((scenario_stories[i].needs & NEEDS_OTHER_VF) && !env->other_vf)
                return false;
        if ((scenario_stories[i].needs & NEEDS_PLAIN) && !env->plain)
                return false;
        if ((scenario_stories[i].needs & NEEDS_CDEV) && !env->cdev)
                return false;
        return true;
}

static ssize_t expectation_index(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(expectations); i++)
                if (streq(expectations[i].name, name))
                        return (ssize_t) i;
        return -1;
}

/* The story whose checks include expectations[i], or -1. */
static ssize_t expectation_story(size_t i) {
        for (size_t s = 0; s < scenario_n_stories; s++) {
                ssize_t a = expectation_index(scenario_stories[s].first);
                ssize_t b = expectation_index(scenario_stories[s].last);

                if (a >= 0 && b >= 0 && (ssize_t) i >= a && (ssize_t) i <= b)
                        return (ssize_t) s;
        }
        return -1;
}

static bool expectation_runs(const ScenarioEnv *env, size_t i) {
        ssize_t s = expectation_story(i);

        return s >= 0 && story_runs(env, (size_t) s);
}

int scenario_expected(const char *name, bool *ret_found) {
        ssize_t i = expectation_index(name);

        if (ret_found)
                *ret_found = i >= 0;
        return i >= 0 ? expectations[i].expected : -ENOENT;
}

int scenarios_run(const ScenarioEnv *env, FILE *out, ScenarioRun *ret) {
        ScenarioCtx c = { .env = env, .ops = env->ops, .run = ret, .out = out };

        if (!env->ops || !env->dev_root || !env->sys_root || !env->pf || !env->vf[0] || !env->vf[1])
                return -EINVAL;
        ret->n_checks = 0;
        for (size_t i = 1; i < ELEMENTSOF(c.t); i++)
                token_generate(&c.t[i]);

        for (size_t i = 0; i < scenario_n_stories; i++) {
                if (!story_runs(env, i))
                        continue;
                c.story = scenario_stories[i].name;
                (void) scenario_stories[i].run(&c);
        }
        return 0;
}

size_t scenarios_compare(const ScenarioEnv *env, const ScenarioRun *run, FILE *out) {
        size_t differences = 0;
        char a[32], b[32];

        for (size_t i = 0; i < run->n_checks; i++) {
                const ScenarioCheck *k = &run->checks[i];
                bool found;
                int e;

                if (k->setup_failed) {
                        if (out)
                                fprintf(out, "story %s: setup step '%s' failed: %s\n", k->name, k->step,
                                        scenario_result_to_string(k->result, a));
                        differences++;
                        continue;
                }
                e = scenario_expected(k->name, &found);
                if (!found || e != k->result) {
                        if (out)
                                fprintf(out, "%s: got %s, expected %s (%s)\n", k->name,
                                        scenario_result_to_string(k->result, a),
                                        found ? scenario_result_to_string(e, b) : "nothing",
                                        found ? expectations[expectation_index(k->name)].why
                                              : "unknown check");
                        differences++;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(expectations); i++) {
                bool seen = false;

                if (expectation_story(i) < 0) {
                        if (out)
                                fprintf(out, "%s: belongs to no story\n", expectations[i].name);
                        differences++;
                        continue;
                }
                if (!expectation_runs(env, i))
                        continue;
                for (size_t j = 0; j < run->n_checks && !seen; j++)
                        seen = !run->checks[j].setup_failed &&
                               streq(run->checks[j].name, expectations[i].name);
                if (!seen) {
                        if (out)
                                fprintf(out, "%s: did not run (%s)\n", expectations[i].name,
                                        expectations[i].why);
                        differences++;
                }
        }
        return differences;
}

void scenarios_print_expected(const ScenarioEnv *env, FILE *out) {
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(expectations); i++)
                if (expectation_runs(env, i))
                        fprintf(out, "%s: %s\n", expectations[i].name,
                                scenario_result_to_string(expectations[i].expected, buf));
}

const char *scenario_result_to_string(int result, char buf[static 32]) {
        const char *n;

        if (result >= 0)
                return "OK";
        n = strerrorname_np(-result);
        if (n)
                return n;
        snprintf(buf, 32, "E%d", -result);
        return buf;
}

int scenario_env_discover(ScenarioEnv *env, const char *pf, ScenarioStorage *storage) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        size_t n = 0;
        int r;

        r = sysfs_device_read(env->sys_root, pf, &d);
        if (r < 0)
                return r;
        if (!streq_ptr(d->driver, "vfio-pci") || !d->sriov_capable)
                return -ENODEV;
        storage->strings[0] = strdup(d->address);
        if (!storage->strings[0])
                return -ENOMEM;
        for (size_t i = 0; i < d->n_vfs && n < 2; i++) {
                _cleanup_(pci_device_freep) PciDevice *v = NULL;

                if (sysfs_device_read(env->sys_root, d->vfs[i], &v) < 0 || !streq_ptr(v->driver, "vfio-pci"))
                        continue;
                storage->strings[1 + n] = strdup(v->address);
                if (!storage->strings[1 + n])
                        return -ENOMEM;
                n++;
        }
        if (n < 2)
                return -ENODEV;
        env->pf = storage->strings[0];
        env->vf[0] = storage->strings[1];
        env->vf[1] = storage->strings[2];
        return 0;
}

bool scenario_env_has_cdev(const ScenarioEnv *env) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        char path[4096];

        snprintf(path, sizeof path, "%s/iommu", env->dev_root);
        if (access(path, F_OK) < 0)
                return false;
        return sysfs_device_read(env->sys_root, env->pf, &d) >= 0 && d->vfio_cdev >= 0;
}

void scenario_storage_free(ScenarioStorage *storage) {
        for (size_t i = 0; i < ELEMENTSOF(storage->strings); i++)
                storage->strings[i] = mfree(storage->strings[i]);
}

int scenario_fixture_setup(Fixture *f, ScenarioEnv *env) {
        int r;

        r = fixture_add_pf(f, "0000:01:00.0", "vfio-pci", 2, 2, 1);
        if (r < 0 && r != -EEXIST)
                return r;
        r = fixture_add_pf(f, "0000:02:00.0", "nvme", 1, 1, 4);
        if (r < 0 && r != -EEXIST)
                return r;
        r = fixture_set_driver(f, "0000:02:00.1", "vfio-pci");
        if (r < 0)
                return r;
        r = fixture_add_device(f, "0000:03:00.0", "vfio-pci", 6);
        if (r < 0 && r != -EEXIST)
                return r;

        *env = (ScenarioEnv) {
                .ops = &scenario_ops_model,
                .dev_root = fixture_dev(f),
                .sys_root = fixture_sysfs(f),
                .pf = "0000:01:00.0",
                .vf = { "0000:01:00.1", "0000:01:00.2" },
                .other_vf = "0000:02:00.1",
                .plain = "0000:03:00.0",
                .cdev = true,
        };
        return 0;
}
