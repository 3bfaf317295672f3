/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The udev boundary: PCI device events (add, remove, bind, unbind, change) as udev reports them,
 * so that a configured PF that appears is set up at once and one that goes is let go at once,
 * rather than at the next retry. Events carry the PCI address and the driver (if any); the
 * daemon re-reads sysfs itself before it trusts anything. Nothing here logs. */

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct UdevMonitor UdevMonitor;

/* action: "add", "remove", "bind", "unbind", "change", ...; driver may be NULL. */
typedef void (*UdevPciHandler)(const char *address, const char *action, const char *driver, void *userdata);

int udev_monitor_start(sd_event *event, UdevPciHandler handler, void *userdata, UdevMonitor **ret);
UdevMonitor *udev_monitor_free(UdevMonitor *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(UdevMonitor *, udev_monitor_free);
