/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager: the set of PFs from the config, the event loop, the state directory, the fd
 * store, the bus connection, and the daemon's life cycle (start, READY=1, watchdog, stop). */

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "fdstore.h"
#include "macro.h"
#include "pf.h"

typedef struct Polkit Polkit;

typedef struct ManagerPaths {
        const char *sysfs_root; /* NULL: /sys, or $VFIO_TOKEND_SYSFS_ROOT */
        const char *dev_root;   /* NULL: /dev, or $VFIO_TOKEND_DEV_ROOT */
        const char *state_dir;  /* NULL: $STATE_DIRECTORY, else /var/lib/vfio-tokend */
} ManagerPaths;

typedef struct Manager {
        const char *version; /* the Version property */
        sd_event *event;
        sd_bus *bus;
        Config *config;
        char *sysfs_root;
        char *dev_root;
        char *state_dir;
        int state_fd;

        Pf **pfs;
        size_t n_pfs;
        FdStore *fdstore;

        /* Leases: ids are never reused within a run. */
        uint64_t next_lease_id;
        unsigned n_leases;
        Polkit *polkit;

        sd_event_source *sigterm_source;
        sd_event_source *sigint_source;
} Manager;

/* Takes ownership of config. */
int manager_new(Config *config, const ManagerPaths *paths, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Opens the state dir, collects the fd store, brings up every PF. */
int manager_start(Manager *m);
/* Connects to the system bus, registers objects, takes the bus name. */
int manager_connect_bus(Manager *m);
/* READY=1, watchdog, signals; runs until SIGTERM/SIGINT. */
int manager_run(Manager *m);

Pf *manager_find_pf(Manager *m, const char *address);
/* The PF that `address` is, or is a VF of; NULL if none of ours. */
Pf *manager_find_pf_for_device(Manager *m, const char *address);

/* Rotation by request: -EBUSY if leases are held and !force. */
int manager_rotate_pf(Manager *m, Pf *pf, bool force, const char *reason);
