/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the VFIO scenario stories: short sequences of opens and ioctls, each ending in named checks
 * whose expected results are scenarios.c's table. A story needs only that no fd of the devices is
 * open (it sets the PF's token itself where the token matters) and closes everything it opened,
 * so it runs the same on a freshly bound PF, on the model, and after any other story. */

#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "scenario-stories.h"
#include "sysfs.h"

StoryHandle story_handle_init(ScenarioCtx *c) {
        return (StoryHandle) { .ops = c->ops, .container = -1, .group = -1, .device = -1 };
}

static void fd_closep(const ScenarioOps *ops, int *fd) {
        if (*fd >= 0)
                (void) ops->close_fd(*fd);
        *fd = -1;
}

void story_handle_close(StoryHandle *h) {
        fd_closep(h->ops, &h->device);
        fd_closep(h->ops, &h->group);
        fd_closep(h->ops, &h->container);
}

int story_setup_failed(ScenarioCtx *c, const char *step, int r) {
        scenario_record(c, c->story, r, step);
        return SCENARIO_ABORT;
}

int story_group_of(ScenarioCtx *c, const char *address) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        int r;

        r = sysfs_device_read(c->env->sys_root, address, &d);
        if (r < 0)
                return r;
        return d->iommu_group >= 0 ? d->iommu_group : -ENODEV;
}

/* Container (if wanted) + group + container attached + IOMMU (if wanted): setup steps. */
static int handle_group(ScenarioCtx *c, StoryHandle *h, const char *address, bool container, bool iommu) {
        int group;

        group = SETUP(c, "find IOMMU group", story_group_of(c, address));
        if (container)
                h->container = SETUP(c, "open container", c->ops->open_container(c->env->dev_root));
        h->group = SETUP(c, "open group", c->ops->open_group(c->env->dev_root, group));
        if (container) {
                SETUP(c, "set container", c->ops->group_set_container(h->group, h->container));
                if (iommu)
                        SETUP(c, "set IOMMU", c->ops->set_iommu(h->container));
        }
        return 0;
}

/* "ADDRESS", "ADDRESS OPTIONS" */
static void device_name(const char *address, const char *options, char *buf, size_t size) {
        if (options)
                snprintf(buf, size, "%s %s", address, options);
        else
                snprintf(buf, size, "%s", address);
}

const char *story_token_option(const Token *t, char buf[static 64]) {
        TokenString s;

        token_to_string(t, &s);
        snprintf(buf, 64, "vf_token=%s", s.s);
        return buf;
}

/* Opens the group of `address` with a container and an IOMMU, then asks for the device by
 * `name`: the device step's result is the check's. */
static int handle_open_name(ScenarioCtx *c, StoryHandle *h, const char *address, const char *name) {
        int r;

        r = handle_group(c, h, address, true, true);
        if (r != 0)
                return r;
        r = c->ops->get_device_fd(h->group, name);
        if (r < 0)
                return r;
        h->device = r;
        return 0;
}

int story_handle_open(ScenarioCtx *c, StoryHandle *h, const char *address, const char *options) {
        char name[256];

        device_name(address, options, name, sizeof name);
        return handle_open_name(c, h, address, name);
}

/* Opens and closes at once: for checks that only ask whether an open works. */
static int try_open_name(ScenarioCtx *c, const char *address, const char *name) {
        StoryHandle h = story_handle_init(c);
        int r;

        r = handle_open_name(c, &h, address, name);
        story_handle_close(&h);
        return r;
}

static int try_open(ScenarioCtx *c, const char *address, const char *options) {
        char name[256];

        device_name(address, options, name, sizeof name);
        return try_open_name(c, address, name);
}

int story_try_open_token(ScenarioCtx *c, const char *address, const Token *t) {
        char opt[64];

        return try_open(c, address, story_token_option(t, opt));
}

int story_feature(ScenarioCtx *c, int fd, uint32_t flags, uint32_t argsz, const Token *t) {
        static const uint8_t zero[TOKEN_SIZE];

        return c->ops->device_feature(fd, flags, argsz, t ? t->bytes : zero);
}

/* Sets the PF's token with nothing else open: open plain, SET, close. */
int story_reset_token(ScenarioCtx *c, const Token *t) {
        StoryHandle h = story_handle_init(c);
        int r;

        r = story_handle_open(c, &h, c->env->pf, NULL);
        if (r == SCENARIO_ABORT)
                return r;
        if (r < 0) {
                story_handle_close(&h);
                return story_setup_failed(c, "open PF to reset the token", r);
        }
        r = story_feature(c, h.device, F_SET | F_TOKEN, FEATURE_ARGSZ, t);
        story_handle_close(&h);
        if (r < 0)
                return story_setup_failed(c, "reset the token", r);
        return 0;
}

static int story_fresh(ScenarioCtx *c) {
        CHECK(c, "vf-plain-before-set", try_open(c, c->env->vf[0], NULL));
        CHECK(c, "vf-zero-token-before-set", story_try_open_token(c, c->env->vf[0], &c->t[0]));
        return 0;
}

static int story_pf_feature(ScenarioCtx *c) {
        StoryHandle pf = story_handle_init(c);

        REQUIRE(c, "pf-plain-no-vf-open", story_handle_open(c, &pf, c->env->pf, NULL));
        const int d = pf.device;
        const Token *t = &c->t[1];

        CHECK(c, "pf-feature-probe-set", story_feature(c, d, F_PROBE | F_SET | F_TOKEN, FEATURE_ARGSZ, NULL));
        CHECK(c, "pf-feature-get", story_feature(c, d, F_GET | F_TOKEN, FEATURE_ARGSZ, NULL));
        CHECK(c, "pf-feature-probe-get", story_feature(c, d, F_PROBE | F_GET | F_TOKEN, FEATURE_ARGSZ, NULL));
        CHECK(c, "pf-feature-get-set", story_feature(c, d, F_GET | F_SET | F_TOKEN, FEATURE_ARGSZ, t));
        CHECK(c, "pf-feature-set-short", story_feature(c, d, F_SET | F_TOKEN, FEATURE_ARGSZ - 1, t));
        CHECK(c, "pf-feature-argsz-below-header", story_feature(c, d, F_SET | F_TOKEN, 4, t));
        CHECK(c, "pf-feature-unknown-flag", story_feature(c, d, F_SET | F_TOKEN | (1u << 19), FEATURE_ARGSZ, t));
        CHECK(c, "pf-feature-probe-set-no-data", story_feature(c, d, F_PROBE | F_SET | F_TOKEN, 8, NULL));
        CHECK(c, "pf-feature-set", story_feature(c, d, F_SET | F_TOKEN, FEATURE_ARGSZ, t));
        story_handle_close(&pf);
        return 0;
}

static int story_vf_tokens(ScenarioCtx *c) {
        static const char malformed[] = "vf_token=0123456g-89ab-cdef-0123-456789abcdef";
        const char *vf = c->env->vf[0];
        char opt[64], twice[160], buf[160];
        StoryHandle h = story_handle_init(c);
        TokenString s;
        int r;

        r = story_reset_token(c, &c->t[1]);
        if (r != 0)
                return r;
        story_token_option(&c->t[1], opt);
        token_to_string(&c->t[1], &s);

        CHECK(c, "vf-plain", try_open(c, vf, NULL));
        CHECK(c, "vf-wrong-token", story_try_open_token(c, vf, &c->t[2]));
        CHECK(c, "vf-token-malformed", try_open(c, vf, malformed));
        CHECK(c, "vf-token-short", try_open(c, vf, "vf_token=0123"));
        snprintf(twice, sizeof twice, "%s %s", opt, opt);
        CHECK(c, "vf-token-twice", try_open(c, vf, twice));
        snprintf(buf, sizeof buf, "%s foo=bar", opt);
        CHECK(c, "vf-token-unknown-option", try_open(c, vf, buf));
        CHECK(c, "vf-unknown-option-only", try_open(c, vf, "foo=bar"));
        snprintf(buf, sizeof buf, "%sx", opt);
        CHECK(c, "vf-token-trailing-garbage", try_open(c, vf, buf));
        snprintf(buf, sizeof buf, "  %s  ", opt);
        CHECK(c, "vf-token-extra-spaces", try_open(c, vf, buf));
        snprintf(buf, sizeof buf, "%sx", vf);
        CHECK(c, "vf-name-suffix", try_open_name(c, vf, buf));

        REQUIRE(c, "vf-right-token", story_handle_open(c, &h, vf, opt));
        CHECK(c, "vf-feature-probe", story_feature(c, h.device, F_PROBE | F_SET | F_TOKEN, FEATURE_ARGSZ, NULL));
        CHECK(c, "vf-feature-set", story_feature(c, h.device, F_SET | F_TOKEN, FEATURE_ARGSZ, &c->t[1]));
        CHECK(c, "vf-feature-get", story_feature(c, h.device, F_GET | F_TOKEN, FEATURE_ARGSZ, NULL));
        story_handle_close(&h);
        return 0;
}

static int story_set_while_open(ScenarioCtx *c) {
        const char *vf0 = c->env->vf[0], *vf1 = c->env->vf[1];
        StoryHandle v = story_handle_init(c), pf = story_handle_init(c);
        char opt[64], name[160];
        int r;

        r = story_reset_token(c, &c->t[1]);
        if (r != 0)
                return r;
        /* The PF first: once a VF is open, a plain open of the PF is refused. */
        r = story_handle_open(c, &pf, c->env->pf, NULL);
        if (r != 0) {
                story_handle_close(&pf);
                return r == SCENARIO_ABORT ? r : story_setup_failed(c, "open PF", r);
        }
        r = story_handle_open(c, &v, vf0, story_token_option(&c->t[1], opt));
        if (r != 0) {
                story_handle_close(&v);
                story_handle_close(&pf);
                return r == SCENARIO_ABORT ? r : story_setup_failed(c, "open VF with the token", r);
        }

        CHECK(c, "set-while-vf-open", story_feature(c, pf.device, F_SET | F_TOKEN, FEATURE_ARGSZ, &c->t[2]));
        CHECK(c, "vf-fd-works-after-set", c->ops->device_get_info(v.device));
        CHECK(c, "vf-old-token-after-set", story_try_open_token(c, vf1, &c->t[1]));
        device_name(vf0, story_token_option(&c->t[1], opt), name, sizeof name);
        r = c->ops->get_device_fd(v.group, name);
        CHECK(c, "vf-second-fd-old-token-after-set", r < 0 ? r : c->ops->close_fd(r));
        CHECK(c, "vf-new-token-after-set", story_try_open_token(c, vf1, &c->t[2]));
        device_name(vf0, story_token_option(&c->t[2], opt), name, sizeof name);
        r = c->ops->get_device_fd(v.group, name);
        CHECK(c, "vf-second-fd-new-token-after-set", r < 0 ? r : c->ops->close_fd(r));

        story_handle_close(&pf);
        CHECK(c, "pf-reopen-plain-with-vf-open", try_open(c, c->env->pf, NULL));
        CHECK(c, "pf-reopen-stale-token-with-vf-open", story_try_open_token(c, c->env->pf, &c->t[1]));
        CHECK(c, "pf-reopen-new-token-with-vf-open", story_try_open_token(c, c->env->pf, &c->t[3]));
        r = CHECK(c, "pf-reopen-current-token-with-vf-open",
                  story_handle_open(c, &pf, c->env->pf, story_token_option(&c->t[2], opt)));
        if (r == 0)
                CHECK(c, "pf-set-after-reopen-with-vf-open",
                      story_feature(c, pf.device, F_SET | F_TOKEN, FEATURE_ARGSZ, &c->t[3]));
        story_handle_close(&pf);
        if (r == 0)
                CHECK(c, "vf-open-no-pf-fd", story_try_open_token(c, vf1, &c->t[3]));
        story_handle_close(&v);
        return 0;
}

static int story_pf_token_open(ScenarioCtx *c) {
        StoryHandle h = story_handle_init(c);
        char opt[64], name[160];
        int r;

        CHECK(c, "pf-token-open-no-vf-open", story_try_open_token(c, c->env->pf, &c->t[4]));
        CHECK(c, "vf-token-set-by-pf-open", story_try_open_token(c, c->env->vf[0], &c->t[4]));

        r = handle_group(c, &h, c->env->pf, false, false);
        if (r != 0)
                return r;
        device_name(c->env->pf, story_token_option(&c->t[5], opt), name, sizeof name);
        r = c->ops->get_device_fd(h.group, name);
        CHECK(c, "pf-token-open-no-container", r < 0 ? r : c->ops->close_fd(r));
        story_handle_close(&h);
        CHECK(c, "vf-token-set-by-failed-pf-open", story_try_open_token(c, c->env->vf[0], &c->t[5]));
        return 0;
}

static int story_groups(ScenarioCtx *c) {
        StoryHandle h = story_handle_init(c);
        char opt[64];
        int group, r;

        /* One opener per group node. */
        r = handle_group(c, &h, c->env->pf, true, false);
        if (r != 0) {
                story_handle_close(&h);
                return r;
        }
        group = story_group_of(c, c->env->pf);
        r = c->ops->open_group(c->env->dev_root, group);
        CHECK(c, "group-open-twice", r < 0 ? r : c->ops->close_fd(r));
        story_handle_close(&h);

        /* A device fd keeps its group busy after the group fd is closed. */
        r = story_reset_token(c, &c->t[1]);
        if (r != 0)
                return r;
        r = story_handle_open(c, &h, c->env->vf[0], story_token_option(&c->t[1], opt));
        if (r != 0) {
                story_handle_close(&h);
                return r == SCENARIO_ABORT ? r : story_setup_failed(c, "open VF with the token", r);
        }
        fd_closep(c->ops, &h.group);
        fd_closep(c->ops, &h.container);
        group = story_group_of(c, c->env->vf[0]);
        r = c->ops->open_group(c->env->dev_root, group);
        CHECK(c, "group-busy-while-device-open", r < 0 ? r : c->ops->close_fd(r));
        fd_closep(c->ops, &h.device);
        r = c->ops->open_group(c->env->dev_root, group);
        CHECK(c, "group-free-after-device-close", r < 0 ? r : c->ops->close_fd(r));

        /* GET_DEVICE_FD needs a container with an IOMMU, and a device of this group. */
        r = handle_group(c, &h, c->env->pf, false, false);
        if (r != 0)
                return r;
        r = c->ops->get_device_fd(h.group, c->env->pf);
        CHECK(c, "device-no-container", r < 0 ? r : c->ops->close_fd(r));
        story_handle_close(&h);
        r = handle_group(c, &h, c->env->pf, true, false);
        if (r != 0) {
                story_handle_close(&h);
                return r;
        }
        r = c->ops->get_device_fd(h.group, c->env->pf);
        CHECK(c, "device-no-iommu", r < 0 ? r : c->ops->close_fd(r));
        story_handle_close(&h);
        r = handle_group(c, &h, c->env->pf, true, true);
        if (r != 0) {
                story_handle_close(&h);
                return r;
        }
        r = c->ops->get_device_fd(h.group, c->env->vf[0]);
        CHECK(c, "device-name-other-group", r < 0 ? r : c->ops->close_fd(r));
        story_handle_close(&h);
        return 0;
}

static int story_other_driver(ScenarioCtx *c) {
        CHECK(c, "vf-other-driver-pf-plain", try_open(c, c->env->other_vf, NULL));
        CHECK(c, "vf-other-driver-pf-token", story_try_open_token(c, c->env->other_vf, &c->t[1]));
        return 0;
}

static int story_plain_device(ScenarioCtx *c) {
        StoryHandle h = story_handle_init(c);

        REQUIRE(c, "plain-device-open", story_handle_open(c, &h, c->env->plain, NULL));
        CHECK(c, "plain-device-feature-probe",
              story_feature(c, h.device, F_PROBE | F_SET | F_TOKEN, FEATURE_ARGSZ, NULL));
        story_handle_close(&h);
        CHECK(c, "plain-device-token", story_try_open_token(c, c->env->plain, &c->t[1]));
        return 0;
}

/* In the order they run: "fresh" first, while the PF still has the token of its binding. */
const ScenarioStory scenario_stories[] = {
        { "fresh", story_fresh, NEEDS_PF, "vf-plain-before-set", "vf-zero-token-before-set" },
        { "pf-feature", story_pf_feature, NEEDS_PF, "pf-plain-no-vf-open", "pf-feature-set" },
        { "vf-tokens", story_vf_tokens, NEEDS_PF, "vf-plain", "vf-feature-get" },
        { "set-while-open", story_set_while_open, NEEDS_PF, "set-while-vf-open", "vf-open-no-pf-fd" },
        { "pf-token-open", story_pf_token_open, NEEDS_PF, "pf-token-open-no-vf-open",
          "vf-token-set-by-failed-pf-open" },
        { "groups", story_groups, NEEDS_PF, "group-open-twice", "device-name-other-group" },
        { "other-driver", story_other_driver, NEEDS_OTHER_VF, "vf-other-driver-pf-plain",
          "vf-other-driver-pf-token" },
        { "plain-device", story_plain_device, NEEDS_PLAIN, "plain-device-open", "plain-device-token" },
        /* The iommufd cdev API (scenario-cdev.c), on kernels that have it. */
        { "cdev-pf", story_cdev_pf, NEEDS_CDEV, "cdev-pf-bind-plain", "cdev-pf-rebind-current-token" },
        { "cdev-pf-token-bind", story_cdev_pf_token_bind, NEEDS_CDEV, "cdev-pf-token-bind-no-vf",
          "cdev-vf-token-set-by-pf-bind" },
        { "cdev-second-bind", story_cdev_second_bind, NEEDS_CDEV, "cdev-pf-second-bind-token",
          "cdev-bind-container-as-iommufd" },
        { "group-pf-cdev-vf", story_group_pf_cdev_vf, NEEDS_CDEV, "group-pf-cdev-vf-plain",
          "group-pf-cdev-pf-bind" },
};

const size_t scenario_n_stories = ELEMENTSOF(scenario_stories);
