/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns a fixture's life (fixture.h): laying out the skeleton of the fake sysfs and /dev trees, or
 * reopening one that is there, the paths the other pieces build on, and removing what it made.
 * The tree is the only state: every operation reads back what it needs (a PF's driver and group,
 * its VF links), so that trees made by mkfixture in another process can be changed later like any
 * other. Drivers and binding are fixture-drivers.c's, devices fixture-devices.c's, and the file
 * helpers fixture-files.c's. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture-internal.h"
#include "macro.h"

/* <base>/sys/<printf-formatted relative path>, NULL when out of memory. */
_printf_(2, 3) char *sys_path(const Fixture *f, const char *fmt, ...) {
        _cleanup_free_ char *rel = NULL;
        va_list ap;
        char *p;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&rel, fmt, ap);
        va_end(ap);
        if (r < 0)
                return NULL;
        if (asprintf(&p, "%s/%s", f->sys, rel) < 0)
                return NULL;
        return p;
}

const char *fixture_base(const Fixture *f) {
        return f->base;
}

const char *fixture_sysfs(const Fixture *f) {
        return f->sys;
}

const char *fixture_dev(const Fixture *f) {
        return f->dev;
}

void fixture_keep(Fixture *f) {
        f->keep = true;
}

Fixture *fixture_free(Fixture *f) {
        if (!f)
                return NULL;
        if (!f->keep) {
                if (f->created_base)
                        (void) fx_rm_rf(f->base);
                else {
                        (void) fx_rm_rf(f->sys);
                        (void) fx_rm_rf(f->dev);
                }
        }
        free(f->base);
        free(f->sys);
        free(f->dev);
        return mfree(f);
}

static int fixture_populate(Fixture *f) {
        static const char *const dirs[] = {
                ("sys/" DEVICES_DIR), "sys/bus/pci/devices", "sys/bus/pci/drivers",
                "sys/kernel/iommu_groups", "dev/vfio",
        };
        _cleanup_free_ char *probe = NULL, *container = NULL, *marker = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = fx_path_join(f->base, dirs[i]);

                if (!p)
                        return -ENOMEM;
                r = fx_mkdir_p(p);
                if (r < 0)
                        return r;
        }

        probe = fx_path_join(f->sys, "bus/pci/drivers_probe");
        container = fx_path_join(f->dev, "vfio/vfio");
        marker = fx_path_join(f->dev, "vfio/.kmodel-sysfs");
        if (!probe || !container || !marker)
                return -ENOMEM;
        r = fx_touch(probe);
        if (r < 0)
                return r;
        r = fx_touch(container);
        if (r < 0)
                return r;
        {
                _cleanup_free_ char *iommu = fx_path_join(f->dev, "iommu");

                if (!iommu)
                        return -ENOMEM;
                r = fx_touch(iommu);
                if (r < 0)
                        return r;
        }

        /* Re-pointed every time: the base may have been moved since it was made. */
        r = fx_unlink_if_present(marker);
        if (r < 0)
                return r;
        if (symlink(f->sys, marker) < 0)
                return negative_errno();

        return fixture_add_driver(f, VFIO_PCI_DRIVER);
}

int fixture_new(const char *base, Fixture **ret) {
        _cleanup_(fixture_freep) Fixture *f = NULL;
        _cleanup_free_ char *template = NULL;
        bool created = false;
        int r;

        f = calloc(1, sizeof(Fixture));
        if (!f)
                return -ENOMEM;
        f->keep = true; /* until we know what is ours to remove: nothing yet */

        if (!base) {
                const char *tmp = getenv("TMPDIR");

                if (asprintf(&template, "%s/vfio-tokend-fixture.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
                        return -ENOMEM;
                if (!mkdtemp(template))
                        return negative_errno();
                base = template;
                created = true;
        } else if (mkdir(base, 0755) >= 0)
                created = true;
        else if (errno != EEXIST)
                return negative_errno();

        f->base = realpath(base, NULL);
        if (!f->base) {
                r = negative_errno();
                if (created)
                        (void) rmdir(base);
                return r;
        }
        f->created_base = created;
        /* A failure below removes a tree we made, never one that was there before. */
        f->keep = !created;
        f->sys = fx_path_join(f->base, "sys");
        f->dev = fx_path_join(f->base, "dev");
        if (!f->sys || !f->dev)
                return -ENOMEM;

        r = fixture_populate(f);
        if (r < 0)
                return r;

        f->keep = false;
        *ret = TAKE_PTR(f);
        return 0;
}
