/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the subscription to udev's PCI device events (see udev-monitor.h). */

#include <errno.h>
#include <stdlib.h>
#include <systemd/sd-device.h>

#include "udev-monitor.h"

struct UdevMonitor {
        sd_device_monitor *monitor;
        UdevPciHandler handler;
        void *userdata;
};

static const char *action_name(sd_device *d) {
        static const char *const names[] = {
                [SD_DEVICE_ADD] = "add",       [SD_DEVICE_REMOVE] = "remove", [SD_DEVICE_CHANGE] = "change",
                [SD_DEVICE_MOVE] = "move",     [SD_DEVICE_ONLINE] = "online", [SD_DEVICE_OFFLINE] = "offline",
                [SD_DEVICE_BIND] = "bind",     [SD_DEVICE_UNBIND] = "unbind",
        };
        sd_device_action_t a;

        if (sd_device_get_action(d, &a) < 0 || a < 0 || (size_t) a >= sizeof names / sizeof names[0])
                return "unknown";
        return names[a];
}

static int on_event(sd_device_monitor *monitor, sd_device *d, void *userdata) {
        UdevMonitor *m = userdata;
        const char *name = NULL, *driver = NULL;

        if (sd_device_get_sysname(d, &name) < 0 || !name)
                return 0;
        (void) sd_device_get_driver(d, &driver);
        m->handler(name, action_name(d), driver, m->userdata);
        return 0;
}

int udev_monitor_start(sd_event *event, UdevPciHandler handler, void *userdata, UdevMonitor **ret) {
        UdevMonitor *m;
        int r;

        m = calloc(1, sizeof(UdevMonitor));
        if (!m)
                return -ENOMEM;
        m->handler = handler;
        m->userdata = userdata;
        r = sd_device_monitor_new(&m->monitor);
        if (r >= 0)
                r = sd_device_monitor_filter_add_match_subsystem_devtype(m->monitor, "pci", NULL);
        if (r >= 0)
                r = sd_device_monitor_attach_event(m->monitor, event);
        if (r >= 0)
                r = sd_device_monitor_start(m->monitor, on_event, m);
        if (r < 0) {
                udev_monitor_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

UdevMonitor *udev_monitor_free(UdevMonitor *m) {
        if (!m)
                return NULL;
        sd_device_monitor_unref(m->monitor);
        return mfree(m);
}
