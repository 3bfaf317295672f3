/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager: the set of PFs from the config, the event loop, the state directory, the fd
 * store, the leases, the grant decision, and the daemon's life cycle (start, READY=1, watchdog,
 * stop). The bus face (bus-manager.c) calls in here and only here; changes go back out through
 * bus-emit.h. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "lease.h"
#include "macro.h"
#include "pf.h"

typedef struct Token Token;
typedef struct UdevMonitor UdevMonitor;

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

        PfContext pf_ctx; /* what every PF shares (points into the fields above) */
        Pf **pfs;
        size_t n_pfs;
        FdStore *fdstore;
        LeaseRegistry *leases;

        sd_event_source *sigterm_source;
        sd_event_source *sigint_source;
        sd_event_source *sighup_source;
        UdevMonitor *udev;

        /* The leases on disk (lease-file.h): saved soon after they change, and at stop. */
        sd_event_source *lease_save_timer;
        bool leases_dirty;

        /* STATUS= for the service manager: sent when it changes, at most every STATUS_MIN_USEC. */
        sd_event_source *status_timer;
        uint64_t status_sent_usec;
        char *status_sent;

        /* Reloads the configuration (SIGHUP); set by main(), which knows where it comes from.
         * Fills *ret on success; on failure it has logged why. */
        int (*load_config)(Config **ret);
} Manager;

/* Takes ownership of config. */
int manager_new(Config *config, const ManagerPaths *paths, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Opens the state dir, collects the fd store, brings up every PF. */
int manager_start(Manager *m);
/* The bus connection the core emits its changes on (bus-emit.h); NULL to stop. */
void manager_set_bus(Manager *m, sd_bus *bus);
/* READY=1, watchdog, signals; runs until SIGTERM/SIGINT (returns 0) or until the loop is left
 * with a failure status (returns it, > 0), e.g. when the bus is lost; < 0 on errors. */
int manager_run(Manager *m);

Pf *manager_find_pf(Manager *m, const char *address);
/* The PF that `address` is, or is a VF of; NULL if none of ours. */
Pf *manager_find_pf_for_device(Manager *m, const char *address);
/* The same, within `scope` if not NULL, and for a VF enabled since the PF was last looked at:
 * asks sysfs for that one device's PF (one readlink), never rescans every PF. */
Pf *manager_resolve_device(Manager *m, Pf *scope, const char *address);

/* The grant decision, in the contract's order after the arguments and the device: the PF must
 * still be managed and ready, the lease must fit the quotas, then the token is copied out and
 * the lease made for `owner` (a unique bus name) with the caller's uid and pid.
 * Errors: -ENODEV (not managed), -EBUSY (locked), -ENXIO (gone), -EDQUOT (this connection's
 * lease quota), -EUSERS (this uid's), -ENOSPC (the daemon's), -ENOMEM. */
int manager_grant(Manager *m, const char *owner, uid_t uid, pid_t pid, const char *pf_address,
                  const char *device, Token *ret_token, Lease **ret_lease);
/* The lease quotas alone, to refuse before asking polkit: 0 or -EDQUOT/-EUSERS/-ENOSPC. */
int manager_check_lease_quota(Manager *m, const char *owner, uid_t uid);
/* A bus peer left: its leases end. */
void manager_owner_gone(Manager *m, const char *owner);

/* Rotation by request: -EAGAIN if the PF is not ready, -EBUSY if leases are held and !force. */
int manager_rotate_pf(Manager *m, Pf *pf, bool force, const char *reason);
/* An immediate retry of a locked or gone PF (vfio-tokenctl retry). */
int manager_retry_pf(Manager *m, Pf *pf);

/* A PCI device event from udev (udev-monitor.h): a configured PF that appears or is bound is
 * retried at once, one removed is let go at once; VFs appearing or going refresh their PF. */
void manager_device_event(Manager *m, const char *address, const char *action, const char *driver);

/* Applies a new configuration (takes ownership): new PFs are set up and served, removed ones let
 * go (their leases end, fds closed, fd-store entries removed), changed policies apply; a PF that
 * stays is never reopened. */
int manager_apply_config(Manager *m, Config *config);
/* SIGHUP: load_config() and manager_apply_config(); a bad configuration is logged and the
 * running one kept. */
int manager_reload(Manager *m);
/* "Managing N PF(s), N ready, N lease(s)." now, and to the service manager soon. */
void manager_status_changed(Manager *m);

/* Leases across a restart. The bus face loads the records, gives back those whose owner is
 * still on the bus as the same uid and pid (manager_restore_lease()), then calls
 * manager_restore_done(), which drops the rest (RotateWhenIdle applies to PFs left idle). */
int manager_load_lease_records(Manager *m, LeaseRecords *ret);
int manager_restore_lease(Manager *m, const LeaseRecord *rec);
void manager_restore_done(Manager *m, const LeaseRecords *records);
/* Writes the leases to disk now (at stop), if they changed since the last save. */
void manager_save_leases(Manager *m);
