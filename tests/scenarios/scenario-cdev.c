/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the VFIO scenario stories of the iommufd cdev API (/dev/iommu + /dev/vfio/devices/vfioN):
 * the PF bound through its cdev with VFs bound through theirs (a raw opener with
 * VFIO_DEVICE_BIND_FLAG_TOKEN) or opened through the group API, and the PF held through the group
 * API with VFs bound through their cdev. They run where the kernel has the cdev (env.cdev), after
 * the group API's stories, and like them close everything they opened. */

#include <errno.h>
#include <stdio.h>

#include "macro.h"
#include "scenario-stories.h"
#include "sysfs.h"

/* The fds of one cdev opener: an iommufd and the device's cdev. */
typedef struct CdevHandle {
        const ScenarioOps *ops;
        int iommufd, cdev;
} CdevHandle;

static CdevHandle cdev_handle_init(ScenarioCtx *c) {
        return (CdevHandle) { .ops = c->ops, .iommufd = -1, .cdev = -1 };
}

static void cdev_handle_close(CdevHandle *h) {
        if (h->cdev >= 0)
                (void) h->ops->close_fd(h->cdev);
        if (h->iommufd >= 0)
                (void) h->ops->close_fd(h->iommufd);
        h->cdev = h->iommufd = -1;
}

/* N of the device's /dev/vfio/devices/vfioN, from sysfs. */
static int cdev_of(ScenarioCtx *c, const char *address) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        int r;

        r = sysfs_device_read(c->env->sys_root, address, &d);
        if (r < 0)
                return r;
        return d->vfio_cdev >= 0 ? d->vfio_cdev : -ENODEV;
}

/* Setup steps: an iommufd and the device's cdev, not bound. */
static int cdev_open(ScenarioCtx *c, CdevHandle *h, const char *address) {
        int n;

        n = SETUP(c, "find the cdev", cdev_of(c, address));
        h->iommufd = SETUP(c, "open /dev/iommu", c->ops->open_iommufd(c->env->dev_root));
        h->cdev = SETUP(c, "open the cdev", c->ops->open_cdev(c->env->dev_root, n));
        return 0;
}

/* Opens and binds, with the token if t is not NULL: the bind's result is the check's. */
static int cdev_bind(ScenarioCtx *c, CdevHandle *h, const char *address, const Token *t) {
        int r;

        r = cdev_open(c, h, address);
        if (r != 0)
                return r;
        return c->ops->bind_iommufd(h->cdev, h->iommufd, t ? t->bytes : NULL);
}

static int cdev_try_bind(ScenarioCtx *c, const char *address, const Token *t) {
        CdevHandle h = cdev_handle_init(c);
        int r;

        r = cdev_bind(c, &h, address, t);
        cdev_handle_close(&h);
        return r;
}

int story_cdev_pf(ScenarioCtx *c) {
        CdevHandle pf = cdev_handle_init(c), pf2 = cdev_handle_init(c), vf = cdev_handle_init(c);
        const char *vf0 = c->env->vf[0], *vf1 = c->env->vf[1];
        int group, r;

        /* No VF open: the PF binds without a token, and its token is set through it. */
        r = CHECK(c, "cdev-pf-bind-plain", cdev_bind(c, &pf, c->env->pf, NULL));
        if (r < 0)
                goto out;
        CHECK(c, "cdev-pf-feature-probe-set", story_feature(c, pf.cdev, F_PROBE | F_SET | F_TOKEN, FEATURE_ARGSZ, NULL));
        CHECK(c, "cdev-pf-feature-set", story_feature(c, pf.cdev, F_SET | F_TOKEN, FEATURE_ARGSZ, &c->t[1]));

        /* Opening the node checks nothing; an unbound fd answers nothing but the bind, and a
         * second bind of a bound device fails. */
        r = cdev_open(c, &pf2, c->env->pf);
        if (r != 0)
                goto out;
        CHECK(c, "cdev-ioctl-before-bind", c->ops->device_get_info(pf2.cdev));
        CHECK(c, "cdev-pf-bind-second-fd", c->ops->bind_iommufd(pf2.cdev, pf2.iommufd, NULL));
        cdev_handle_close(&pf2);
        group = story_group_of(c, c->env->pf);
        r = group < 0 ? group : c->ops->open_group(c->env->dev_root, group);
        CHECK(c, "cdev-pf-group-open-while-bound", r < 0 ? r : c->ops->close_fd(r));

        /* VFs: the token is checked at the bind, through the cdev as through the group. */
        CHECK(c, "cdev-vf-bind-plain", cdev_try_bind(c, vf0, NULL));
        CHECK(c, "cdev-vf-bind-wrong-token", cdev_try_bind(c, vf0, &c->t[2]));
        r = CHECK(c, "cdev-vf-bind-right-token", cdev_bind(c, &vf, vf0, &c->t[1]));
        if (r < 0)
                goto out;
        CHECK(c, "cdev-vf-feature-probe", story_feature(c, vf.cdev, F_PROBE | F_SET | F_TOKEN, FEATURE_ARGSZ, NULL));
        CHECK(c, "cdev-vf-group-open-right-token", story_try_open_token(c, vf1, &c->t[1]));

        /* A new token while a VF is bound: the bound VF keeps working, later binds need it. */
        CHECK(c, "cdev-pf-set-while-vf-bound", story_feature(c, pf.cdev, F_SET | F_TOKEN, FEATURE_ARGSZ, &c->t[2]));
        CHECK(c, "cdev-vf-fd-works-after-set", c->ops->device_get_info(vf.cdev));
        CHECK(c, "cdev-vf-bind-old-token-after-set", cdev_try_bind(c, vf1, &c->t[1]));
        CHECK(c, "cdev-vf-bind-new-token-after-set", cdev_try_bind(c, vf1, &c->t[2]));

        /* The PF let go while a VF is bound: it binds again only with the current token. */
        cdev_handle_close(&pf);
        CHECK(c, "cdev-pf-rebind-plain-with-vf-open", cdev_try_bind(c, c->env->pf, NULL));
        CHECK(c, "cdev-pf-rebind-stale-token-with-vf-open", cdev_try_bind(c, c->env->pf, &c->t[1]));
        CHECK(c, "cdev-pf-rebind-current-token", cdev_try_bind(c, c->env->pf, &c->t[2]));
        r = 0;
out:
        cdev_handle_close(&vf);
        cdev_handle_close(&pf2);
        cdev_handle_close(&pf);
        return r < 0 ? SCENARIO_ABORT : r;
}

int story_cdev_pf_token_bind(ScenarioCtx *c) {
        /* No VF open: a token given with the PF's bind becomes its token. */
        CHECK(c, "cdev-pf-token-bind-no-vf", cdev_try_bind(c, c->env->pf, &c->t[4]));
        CHECK(c, "cdev-vf-token-set-by-pf-bind", story_try_open_token(c, c->env->vf[0], &c->t[4]));
        return 0;
}

int story_cdev_second_bind(ScenarioCtx *c) {
        CdevHandle pf = cdev_handle_init(c), pf2 = cdev_handle_init(c);
        StoryHandle g = story_handle_init(c);
        int r;

        /* vfio_df_check_token() runs before vfio_df_open()'s one-opener check: with no VF open,
         * a second opener of a bound PF's cdev sets the token, then fails. Only the node's
         * permissions keep others from doing so to the daemon's PF. */
        r = cdev_bind(c, &pf, c->env->pf, NULL);
        if (r != 0) {
                cdev_handle_close(&pf);
                return r == SCENARIO_ABORT ? r : story_setup_failed(c, "bind the PF", r);
        }
        r = cdev_bind(c, &pf2, c->env->pf, &c->t[5]);
        CHECK(c, "cdev-pf-second-bind-token", r);
        cdev_handle_close(&pf2);
        cdev_handle_close(&pf);
        CHECK(c, "cdev-vf-token-set-by-second-bind", cdev_try_bind(c, c->env->vf[0], &c->t[5]));

        /* The iommufd is checked after the token: a VFIO container in its place. */
        r = cdev_open(c, &pf, c->env->pf);
        if (r != 0)
                return r;
        g.container = c->ops->open_container(c->env->dev_root);
        if (g.container < 0) {
                cdev_handle_close(&pf);
                return story_setup_failed(c, "open container", g.container);
        }
        CHECK(c, "cdev-bind-container-as-iommufd", c->ops->bind_iommufd(pf.cdev, g.container, NULL));
        story_handle_close(&g);
        cdev_handle_close(&pf);
        return 0;
}

int story_group_pf_cdev_vf(ScenarioCtx *c) {
        CdevHandle vf = cdev_handle_init(c), pf = cdev_handle_init(c);
        StoryHandle g = story_handle_init(c);
        int group, r;

        r = story_handle_open(c, &g, c->env->pf, NULL);
        if (r != 0) {
                story_handle_close(&g);
                return r == SCENARIO_ABORT ? r : story_setup_failed(c, "open PF", r);
        }
        r = story_feature(c, g.device, F_SET | F_TOKEN, FEATURE_ARGSZ, &c->t[1]);
        if (r < 0) {
                story_handle_close(&g);
                return story_setup_failed(c, "set the token", r);
        }

        CHECK(c, "group-pf-cdev-vf-plain", cdev_try_bind(c, c->env->vf[0], NULL));
        r = CHECK(c, "group-pf-cdev-vf-right-token", cdev_bind(c, &vf, c->env->vf[0], &c->t[1]));
        if (r == 0) {
                /* A bound cdev keeps its group from being opened (cdev_device_open_cnt). */
                group = story_group_of(c, c->env->vf[0]);
                r = group < 0 ? group : c->ops->open_group(c->env->dev_root, group);
                CHECK(c, "group-pf-cdev-vf-blocks-group", r < 0 ? r : c->ops->close_fd(r));
        }
        /* The PF's group is held: its cdev cannot be bound (vfio_device_block_group()). */
        CHECK(c, "group-pf-cdev-pf-bind", cdev_try_bind(c, c->env->pf, &c->t[1]));
        cdev_handle_close(&pf);
        cdev_handle_close(&vf);
        story_handle_close(&g);
        return 0;
}
