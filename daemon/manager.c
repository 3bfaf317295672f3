/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the daemon's life cycle, the set of managed PFs, and the grant decision. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "bus-emit.h"
#include "fd-util.h"
#include "fdstore.h"
#include "lease-file.h"
#include "lease.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "state.h"
#include "sysfs.h"
#include "time-util.h"
#include "token.h"
#include "udev-monitor.h"
#include "string-util.h"
#include "strv.h"

static int pick_path(const char *given, const char *env, const char *fallback, char **ret) {
        const char *e = given ?: (env ? getenv(env) : NULL);
        char *s;

        if (!e || !*e)
                e = fallback;
        s = strdup(e);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static void manager_schedule_lease_save(Manager *m);

static void manager_pf_changed(void *userdata) {
        Manager *m = userdata;

        manager_status_changed(m);
        manager_schedule_lease_save(m);
}

int manager_new(Config *config, const ManagerPaths *paths, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        static const ManagerPaths no_paths = {};
        int r;

        if (!paths)
                paths = &no_paths;
        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->version = PACKAGE_VERSION;
        m->state_fd = -1;
        m->config = config;

        if (pick_path(paths->sysfs_root, "VFIO_TOKEND_SYSFS_ROOT", SYSFS_DEFAULT_ROOT, &m->sysfs_root) < 0 ||
            pick_path(paths->dev_root, "VFIO_TOKEND_DEV_ROOT", "/dev", &m->dev_root) < 0 ||
            pick_path(paths->state_dir, "STATE_DIRECTORY", STATE_DEFAULT_DIR, &m->state_dir) < 0)
                return -ENOMEM;
        /* $STATE_DIRECTORY may list several directories separated by ':'; ours is the first. */
        if (!paths->state_dir)
                m->state_dir[strcspn(m->state_dir, ":")] = '\0';

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = lease_registry_new(&m->bus, config->max_leases_per_user ?: CONFIG_DEFAULT_MAX_LEASES_PER_USER,
                               &m->leases);
        if (r < 0)
                return r;
        m->pf_ctx = (PfContext) {
                .event = m->event,
                .sysfs_root = m->sysfs_root,
                .dev_root = m->dev_root,
                .state_dir = m->state_dir,
                .state_fd = -1,
                .changed = manager_pf_changed,
                .userdata = m,
        };
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* Leases first: they point at PFs. */
        m->leases = lease_registry_free(m->leases);
        for (size_t i = 0; i < m->n_pfs; i++)
                pf_free(m->pfs[i]);
        free(m->pfs);
        fdstore_free(m->fdstore);
        sd_event_source_disable_unref(m->sigterm_source);
        sd_event_source_disable_unref(m->sigint_source);
        sd_event_source_disable_unref(m->sighup_source);
        udev_monitor_free(m->udev);
        sd_event_source_disable_unref(m->status_timer);
        sd_event_source_disable_unref(m->lease_save_timer);
        free(m->status_sent);
        sd_bus_unref(m->bus);
        sd_event_unref(m->event);
        safe_close(m->state_fd);
        config_free(m->config);
        free(m->sysfs_root);
        free(m->dev_root);
        free(m->state_dir);
        return mfree(m);
}

Pf *manager_find_pf(Manager *m, const char *address) {
        for (size_t i = 0; i < m->n_pfs; i++)
                if (streq(pf_address(m->pfs[i]), address))
                        return m->pfs[i];
        return NULL;
}

Pf *manager_find_pf_for_device(Manager *m, const char *address) {
        for (size_t i = 0; i < m->n_pfs; i++)
                if (pf_owns_device(m->pfs[i], address))
                        return m->pfs[i];
        return NULL;
}

/* All of a host's VMs usually run as one user (libvirt-qemu), which must be able to hold every
 * VF: the default per-user lease quota grows with the VFs managed. */
static void manager_apply_lease_quota(Manager *m) {
        unsigned max = m->config->max_leases_per_user;

        if (max == 0) {
                unsigned vfs = 0;

                for (size_t i = 0; i < m->n_pfs; i++)
                        vfs += pf_total_vfs(m->pfs[i]);
                max = MAX(vfs, (unsigned) CONFIG_DEFAULT_MAX_LEASES_PER_USER);
        }
        lease_registry_set_max_per_user(m->leases, max);
}

int manager_start(Manager *m) {
        _cleanup_strv_free_ char **left = NULL;
        int r;

        r = state_dir_open(m->state_dir, &m->state_fd);
        if (r == -EPERM)
                return log_error_errno(r, "State directory %s is accessible to others or owned by another user; "
                                          "it holds secrets and must be 0700 and ours.",
                                       m->state_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to open state directory %s: %m", m->state_dir);

        m->pf_ctx.state_fd = m->state_fd;

        r = fdstore_collect(&m->fdstore);
        if (r < 0)
                log_warning_errno(r, "Failed to collect fds from the service manager, reopening PFs: %m");

        m->pfs = calloc(m->config->n_pfs + 1, sizeof(Pf *));
        if (!m->pfs)
                return log_oom();
        for (size_t i = 0; i < m->config->n_pfs; i++) {
                r = pf_new(&m->pf_ctx, &m->config->pfs[i], &m->pfs[m->n_pfs]);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up PF %s: %m", m->config->pfs[i].address);
                m->n_pfs++;
        }
        m->pf_ctx.fdstore = m->fdstore;
        for (size_t i = 0; i < m->n_pfs; i++) {
                r = pf_start(m->pfs[i], m->fdstore);
                if (r < 0)
                        return r;
        }
        m->pf_ctx.fdstore = NULL;

        manager_apply_lease_quota(m);

        left = m->fdstore ? fdstore_leftover_names(m->fdstore) : NULL;
        for (char **n = left; n && *n; n++) {
                log_warning("Closing fd '%s' from the fd store: it belongs to no configured PF.", *n);
                /* The service manager's copy too, or the device stays busy. */
                (void) fdstore_remove_name(*n);
        }
        m->fdstore = fdstore_free(m->fdstore);

        if (m->n_pfs == 0)
                log_warning("No PFs configured: add [PhysicalFunction] sections to the configuration.");
        return 0;
}

void manager_set_bus(Manager *m, sd_bus *bus) {
        sd_bus_unref(m->bus);
        m->bus = bus ? sd_bus_ref(bus) : NULL;
        m->pf_ctx.bus = m->bus;
}

Pf *manager_resolve_device(Manager *m, Pf *scope, const char *address) {
        Pf *pf;

        if (scope)
                pf = pf_owns_device(scope, address) ? scope : NULL;
        else
                pf = manager_find_pf_for_device(m, address);
        if (pf)
                return pf;

        /* Not known: maybe a VF created after we looked. One readlink tells its PF. */
        for (size_t i = 0; i < m->n_pfs; i++) {
                if (scope && m->pfs[i] != scope)
                        continue;
                if (pf_claims_new_vf(m->pfs[i], address))
                        return m->pfs[i];
        }
        return NULL;
}

int manager_check_lease_quota(Manager *m, const char *owner, uid_t uid) {
        return lease_registry_check_quota(m->leases, owner, uid);
}

int manager_grant(Manager *m, const char *owner, uid_t uid, pid_t pid, const char *pf_address,
                  const char *device, Token *ret_token, Lease **ret_lease) {
        Lease *lease;
        Pf *pf;
        int r;

        /* The PF may have changed state while polkit was thinking. */
        pf = manager_find_pf(m, pf_address);
        if (!pf)
                return -ENODEV;
        switch (pf_status(pf)) {
        case PF_STATUS_READY:
                break;
        case PF_STATUS_LOCKED:
                return -EBUSY;
        default:
                return -ENXIO;
        }

        r = lease_new(m->leases, pf, device, owner, uid, pid, &lease);
        if (r < 0)
                return r;
        r = pf_get_token(pf, ret_token);
        if (r < 0) {
                lease_free(lease);
                return -ENXIO;
        }
        *ret_lease = lease;
        return 0;
}

void manager_owner_gone(Manager *m, const char *owner) {
        (void) lease_registry_end_owner(m->leases, owner, "owner left the bus");
}

/* ---- STATUS= ---- */

#define STATUS_MIN_USEC (USEC_PER_SEC / 10)

static char *status_text(Manager *m) {
        unsigned ready = 0, locked = 0;
        char *text;

        for (size_t i = 0; i < m->n_pfs; i++) {
                ready += pf_status(m->pfs[i]) == PF_STATUS_READY;
                locked += pf_status(m->pfs[i]) == PF_STATUS_LOCKED;
        }
        if (asprintf(&text, "Managing %zu PF(s), %u ready, %u locked, %zu gone; %u lease(s).", m->n_pfs, ready,
                     locked, m->n_pfs - ready - locked, lease_registry_count(m->leases)) < 0)
                return NULL;
        return text;
}

/* STATUS= now, and remembered; with READY=1 (start-up, after a reload) always, else only when
 * the text changed. */
static void status_send(Manager *m, bool ready) {
        _cleanup_free_ char *text = status_text(m);

        if (!ready && (!text || streq_ptr(text, m->status_sent)))
                return;
        (void) sd_notifyf(false, "%sSTATUS=%s", ready ? "READY=1\n" : "", text ?: "");
        m->status_sent_usec = now_monotonic_usec();
        free(m->status_sent);
        m->status_sent = TAKE_PTR(text);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->status_timer = sd_event_source_disable_unref(m->status_timer);
        status_send(m, false);
        return 0;
}

void manager_status_changed(Manager *m) {
        uint64_t due;

        /* Before manager_run() said READY=1, the first STATUS= goes with it. */
        if (!m->status_sent || m->status_timer || !m->event)
                return;
        /* Under a burst of grants this is one datagram every STATUS_MIN_USEC, not one each. */
        due = m->status_sent_usec + STATUS_MIN_USEC;
        (void) sd_event_add_time(m->event, &m->status_timer, CLOCK_MONOTONIC, due, 0, on_status_timer, m);
}

/* ---- leases on disk ---- */

#define LEASE_SAVE_DELAY_USEC (USEC_PER_SEC / 10)

void manager_save_leases(Manager *m) {
        _cleanup_(lease_records_done) LeaseRecords recs = {};
        int r;

        m->lease_save_timer = sd_event_source_disable_unref(m->lease_save_timer);
        if (!m->leases_dirty || m->state_fd < 0)
                return;
        r = lease_registry_records(m->leases, &recs);
        if (r >= 0)
                r = lease_file_save(m->state_fd, &recs);
        if (r < 0) {
                log_warning_errno(r, "Failed to save the leases (a restart now would drop them): %m");
                return;
        }
        m->leases_dirty = false;
}

static int on_lease_save_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_save_leases(userdata);
        return 0;
}

/* A burst of grants costs one write, not one each: the file follows within LEASE_SAVE_DELAY_USEC
 * (and at stop). A kill -9 inside that window loses the newest leases, whose holders acquire
 * again when they see the daemon back without them. */
static void manager_schedule_lease_save(Manager *m) {
        m->leases_dirty = true;
        if (m->lease_save_timer || !m->event || m->state_fd < 0)
                return;
        (void) sd_event_add_time_relative(m->event, &m->lease_save_timer, CLOCK_MONOTONIC, LEASE_SAVE_DELAY_USEC, 0,
                                          on_lease_save_timer, m);
}

int manager_load_lease_records(Manager *m, LeaseRecords *ret) {
        int r = lease_file_load(m->state_fd, ret);

        if (r == -EBADMSG)
                log_warning("The leases file in %s is damaged: no lease is restored.", m->state_dir);
        else if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to read the leases file in %s: %m", m->state_dir);
        return r;
}

int manager_restore_lease(Manager *m, const LeaseRecord *rec) {
        Lease *l;
        Pf *pf;
        int r;

        pf = manager_find_pf(m, rec->pf);
        if (!pf)
                return -ENODEV;
        r = lease_restore(m->leases, pf, rec, &l);
        if (r < 0)
                return r;
        log_info("Lease %" PRIu64 " restored: uid=%u pid=%u owner=%s pf=%s device=%s.", rec->id, (unsigned) rec->uid,
                 (unsigned) rec->pid, rec->owner, rec->pf, rec->device);
        return 0;
}

void manager_restore_done(Manager *m, const LeaseRecords *records) {
        lease_registry_reserve_ids(m->leases, records ? records->next_id : 0);
        manager_schedule_lease_save(m);
        /* A PF whose leases all went with the restart is idle now. */
        for (size_t i = 0; records && i < records->n; i++) {
                Pf *pf = manager_find_pf(m, records->records[i].pf);

                if (pf && pf_n_leases(pf) == 0)
                        pf_lease_ended(pf);
        }
}

/* ---- reload ---- */

int manager_apply_config(Manager *m, Config *config) {
        _cleanup_(config_freep) Config *c = config;
        Pf **pfs;
        size_t n = 0;
        int r;

        pfs = calloc(c->n_pfs + 1, sizeof(Pf *));
        if (!pfs)
                return log_oom();

        /* PFs that stay keep their fds, token and leases; only their policy changes. */
        for (size_t i = 0; i < c->n_pfs; i++) {
                Pf *pf = manager_find_pf(m, c->pfs[i].address);

                if (pf)
                        pf_update_config(pf, &c->pfs[i]);
                else {
                        r = pf_new(&m->pf_ctx, &c->pfs[i], &pf);
                        if (r < 0) {
                                log_error_errno(r, "Failed to set up PF %s: %m", c->pfs[i].address);
                                continue;
                        }
                        log_info("PF %s: newly configured.", c->pfs[i].address);
                }
                pfs[n++] = pf;
        }

        /* PFs no longer configured: their leases end (their holders learn it from the bus), then
         * their fds are closed for good. */
        for (size_t i = 0; i < m->n_pfs; i++) {
                Pf *pf = m->pfs[i];
                bool kept = false;

                for (size_t j = 0; j < n && !kept; j++)
                        kept = pfs[j] == pf;
                if (kept)
                        continue;
                (void) lease_registry_end_pf(m->leases, pf, "PF removed from the configuration");
                bus_emit_object_removed(m->bus, pf_object_path(pf));
                pf_release(pf);
                pf_free(pf);
        }

        /* New PFs: brought up like at start (without an fd store: they were not ours). */
        for (size_t i = 0; i < n; i++) {
                bool old = false;

                for (size_t j = 0; j < m->n_pfs && !old; j++)
                        old = m->pfs[j] == pfs[i];
                if (old)
                        continue;
                r = pf_start(pfs[i], NULL);
                if (r < 0)
                        log_error_errno(r, "Failed to start PF %s: %m", pf_address(pfs[i]));
                bus_emit_object_added(m->bus, pf_object_path(pfs[i]));
        }

        free(m->pfs);
        m->pfs = pfs;
        m->n_pfs = n;
        config_free(m->config);
        m->config = TAKE_PTR(c);
        manager_apply_lease_quota(m);
        manager_status_changed(m);
        return 0;
}

int manager_reload(Manager *m) {
        Config *c = NULL;
        int r;

        if (!m->load_config)
                return -EOPNOTSUPP;
        (void) sd_notifyf(false, "RELOADING=1\nSTATUS=Reloading the configuration.\nMONOTONIC_USEC=%" PRIu64,
                          now_monotonic_usec());
        r = m->load_config(&c);
        if (r < 0)
                log_error("The new configuration is invalid: keeping the running one.");
        else {
                r = manager_apply_config(m, c);
                if (r >= 0)
                        log_info("Configuration reloaded: %zu PF(s).", m->n_pfs);
        }
        status_send(m, true);
        return r;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_info("Received SIGHUP, reloading the configuration.");
        (void) manager_reload(userdata);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        /* The leases survive the restart: on disk now, given back when the daemon is up again. */
        manager_save_leases(userdata);
        /* The PF fds stay in the fd store: a restart must not reopen (and reset) any PF. */
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping.");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void on_udev_event(const char *address, const char *action, const char *driver, void *userdata) {
        manager_device_event(userdata, address, action, driver);
}

int manager_run(Manager *m) {
        unsigned ready = 0;
        sigset_t ss;
        int r;

        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, &m->sigterm_source, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sigint_source, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, &m->sighup_source, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        for (size_t i = 0; i < m->n_pfs; i++)
                ready += pf_status(m->pfs[i]) == PF_STATUS_READY;
        if (token_pool_used() > 0 && !token_pool_locked())
                log_warning("Token memory could not be locked (RLIMIT_MEMLOCK too low?): tokens may be swapped out.");
        else if (token_pool_used() > 0)
                log_debug("Tokens are kept in %s memory.", token_pool_secret() ? "memfd_secret" : "mlock()ed");
        status_send(m, true);
        log_info("Started: managing %zu PF(s), %u ready.", m->n_pfs, ready);

        /* PFs that come and go are seen at once, not at the next retry. */
        r = udev_monitor_start(m->event, on_udev_event, m, &m->udev);
        if (r < 0)
                log_warning_errno(r, "Failed to watch udev for PCI devices (PFs that appear are found at the next "
                                     "retry): %m");

        /* Pings the watchdog on its own when WATCHDOG_USEC is set for us (the first ping goes out
         * now, after READY=1). */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog: %m");

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

int manager_retry_pf(Manager *m, Pf *pf) {
        return pf_retry_now(pf);
}

void manager_device_event(Manager *m, const char *address, const char *action, const char *driver) {
        char canonical[PCI_ADDRESS_MAX], physfn[PCI_ADDRESS_MAX];
        Pf *pf;

        if (pci_address_parse(address, canonical) < 0)
                return;
        pf = manager_find_pf(m, canonical);
        if (pf) {
                log_debug("PF %s: udev says '%s' (driver %s).", canonical, action, driver ?: "none");
                if (streq(action, "remove"))
                        pf_device_removed(pf);
                else if (pf_status(pf) != PF_STATUS_READY &&
                         (streq(action, "add") || streq(action, "bind") || streq(action, "change") ||
                          streq(action, "move")))
                        (void) pf_retry_now(pf);
                return;
        }
        /* A VF of one of ours, enabled or disabled: the PF's view of its VFs follows. */
        if (streq(action, "add") || streq(action, "bind")) {
                if (sysfs_read_physfn(m->sysfs_root, canonical, physfn) >= 0 && (pf = manager_find_pf(m, physfn)))
                        pf_refresh_vfs(pf);
        } else if (streq(action, "remove")) {
                pf = manager_find_pf_for_device(m, canonical);
                if (pf)
                        pf_refresh_vfs(pf);
        }
}

int manager_rotate_pf(Manager *m, Pf *pf, bool force, const char *reason) {
        return pf_rotate_request(pf, force, reason);
}
