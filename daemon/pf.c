/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns one PF's life: discovery, open or recovery, the token and its rotation, timers. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bus-emit.h"
#include "log.h"
#include "macro.h"
#include "pf-internal.h"
#include "vfio-token-names.h"
#include "string-util.h"
#include "time-util.h"

/* Crash injection for the VM tests, which must show that a kill at any step of a rotation loses
 * no token on the real kernel: only in tests/vfio-tokend-crashpoints, built with
 * -DVFIO_TOKEND_CRASH_POINTS; never in the installed daemon. $VFIO_TOKEND_CRASH_AT names the
 * step ("pending": after the pending token is on disk; "set": after the SET ioctl, before the
 * commit) and the daemon SIGKILLs itself there, once the rotation count reaches
 * $VFIO_TOKEND_CRASH_ROTATION (default 2, so the first token is set normally). */
#ifdef VFIO_TOKEND_CRASH_POINTS
static void crash_point(const char *step) {
        static unsigned rotations[2];
        const char *at = getenv("VFIO_TOKEND_CRASH_AT"), *n = getenv("VFIO_TOKEND_CRASH_ROTATION");
        unsigned *count = &rotations[streq(step, "set")];

        if (!at || !streq(at, step))
                return;
        if (++*count < (n ? (unsigned) atoi(n) : 2))
                return;
        log_notice("Crash point '%s' reached: killing myself.", step);
        raise(SIGKILL);
}
#define CRASH_POINT(step) crash_point(step)
#else
#define CRASH_POINT(step) do { } while (0)
#endif

static const char *const pf_status_table[_PF_STATUS_MAX] = {
        [PF_STATUS_READY] = "ready",
        [PF_STATUS_LOCKED] = "locked",
        [PF_STATUS_GONE] = "gone",
};

const char *pf_status_to_string(PfStatus s) {
        return s >= 0 && s < _PF_STATUS_MAX ? pf_status_table[s] : NULL;
}

int pf_new(const PfContext *ctx, const PfConfig *c, Pf **ret) {
        _cleanup_(pf_freep) Pf *pf = NULL;
        int r;

        pf = calloc(1, sizeof(Pf));
        if (!pf)
                return -ENOMEM;
        pf->ctx = ctx;
        pf->config = *c;
        pf->config.file = NULL;
        pf->status = PF_STATUS_GONE;
        pf->status_error = -ENOENT;
        pf->state = pf_state_new();
        if (!pf->state)
                return -ENOMEM;
        r = sd_bus_path_encode(VFIO_TOKEN_PF_PATH_PREFIX, c->address, &pf->object_path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(pf);
        return 0;
}

static void pf_close(Pf *pf) {
        pf->request_source = sd_event_source_disable_unref(pf->request_source);
        pf->vfio = vfio_pf_free(pf->vfio);
        pf->adopted = false;
}

Pf *pf_free(Pf *pf) {
        if (!pf)
                return NULL;
        /* Leases point at their PF: the registry, freed first (manager_free()), has ended them. */
        sd_event_source_disable_unref(pf->rotate_timer);
        sd_event_source_disable_unref(pf->retry_timer);
        sd_event_source_disable_unref(pf->save_timer);
        pf_close(pf);
        pci_device_free(pf->device);
        pf_state_free(pf->state);
        free(pf->object_path);
        return mfree(pf);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Pf *pf = userdata;

        pf->retry_timer = sd_event_source_disable_unref(pf->retry_timer);
        log_pf_debug(pf->config.address, 0, "Retrying.");
        (void) pf_start(pf, pf->ctx->fdstore);
        return 0;
}

static void pf_set_status(Pf *pf, PfStatus status, int error);

static void pf_notify_changed(Pf *pf) {
        if (pf->ctx->changed)
                pf->ctx->changed(pf->ctx->userdata);
}

/* The kernel wants the device back (its driver is being unbound, or it is being removed) and
 * waits until every fd of it is closed, including systemd's copies in the fd store. Let go;
 * the retry timer picks the PF up again if it comes back on vfio-pci. */
static int on_request(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        const char *a;
        uint64_t n;
        Pf *pf = userdata;

        a = pf->config.address;
        (void) read(fd, &n, sizeof n);
        log_pf_notice(a, pf->state->generation,
                      "The kernel asks for the PF back (driver unbind or device removal): releasing it.");
        pf_set_status(pf, PF_STATUS_GONE, -ENODEV);
        return 0;
}

static void pf_watch_request(Pf *pf) {
        int fd, r;

        if (!pf->ctx->event || pf->request_source)
                return;
        fd = vfio_pf_request_fd(pf->vfio);
        if (fd < 0) {
                log_pf_debug(pf->config.address, 0, "The device cannot ask for itself back (%s); an unbind will wait "
                             "for the daemon to stop.", strerror(-fd));
                return;
        }
        r = sd_event_add_io(pf->ctx->event, &pf->request_source, fd, EPOLLIN, on_request, pf);
        if (r < 0)
                log_pf_warning_errno(pf->config.address, 0, r, "Failed to watch for device release requests: %m");
}

static void pf_set_status(Pf *pf, PfStatus status, int error) {
        bool changed = pf->status != status;

        /* Letting go of an open PF: systemd's copies of its fds must go too, or the device
         * stays busy and a later open fails. */
        if (status != PF_STATUS_READY && pf->vfio)
                (void) fdstore_remove(pf->config.address);

        pf->status = status;
        pf->status_error = error;

        if (status != PF_STATUS_READY) {
                pf_close(pf);
                pf->rotate_timer = sd_event_source_disable_unref(pf->rotate_timer);
                if (!pf->retry_timer && pf->ctx->event) {
                        if (pf->retry_usec == 0)
                                pf->retry_usec = PF_RETRY_USEC;
                        (void) sd_event_add_time_relative(pf->ctx->event, &pf->retry_timer, CLOCK_MONOTONIC,
                                                          pf->retry_usec, USEC_PER_SEC, on_retry, pf);
                        pf->retry_usec = pf->retry_usec * 2 > PF_RETRY_MAX_USEC ? PF_RETRY_MAX_USEC
                                                                                : pf->retry_usec * 2;
                }
        } else {
                pf->retry_timer = sd_event_source_disable_unref(pf->retry_timer);
                pf->retry_usec = 0;
        }

        if (changed) {
                bus_emit_pf_changed(pf->ctx->bus, pf->object_path, PF_CHANGED_STATE);
                pf_notify_changed(pf);
        }
}

/* Sysfs checks before any open: the PF must exist, be SR-IOV capable and sit on vfio-pci
 * (binding is --setup's job, which runs with privileges the daemon does not keep). */
static int pf_discover(Pf *pf) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        const char *a = pf->config.address;
        int r;

        r = sysfs_device_read(pf->ctx->sysfs_root, a, &d);
        if (r < 0) {
                if (r == -ENOENT || r == -ENODEV)
                        return log_pf_error_errno(a, 0, r, "No such PCI device in %s/bus/pci/devices, skipping.",
                                                  pf->ctx->sysfs_root);
                return log_pf_error_errno(a, 0, r, "Failed to read the device from sysfs: %m");
        }
        if (!d->sriov_capable)
                return log_pf_error_errno(a, 0, -EOPNOTSUPP,
                                          "Not an SR-IOV physical function (no sriov_totalvfs), skipping.");
        if (!streq_ptr(d->driver, "vfio-pci"))
                return log_pf_error_errno(a, 0, -EMEDIUMTYPE,
                                          "Bound to %s, not vfio-pci; %s, skipping.", d->driver ?: "no driver",
                                          pf->config.bind_vfio ? "run 'vfio-tokend --setup' as root to bind it"
                                                               : "set BindVFIO=yes or bind it to vfio-pci");
        if (d->iommu_group < 0)
                return log_pf_error_errno(a, 0, -ENODEV, "Device has no IOMMU group (is the IOMMU enabled?), skipping.");
        pf->api = pf_config_vfio_api(&pf->config, pf->ctx->dev_root);
        if (pci_device_vfio_node(d, pf->api) < 0)
                return log_pf_error_errno(a, 0, -ENODEV, "%s, but the device has no VFIO cdev (vfio-dev/vfioN: "
                                          "does the kernel have CONFIG_VFIO_DEVICE_CDEV?), skipping.",
                                          pf->config.api == PF_API_CDEV ? "Api=cdev"
                                                                         : "No VFIO group API (/dev/vfio/vfio)");

        pci_device_free(pf->device);
        pf->device = TAKE_PTR(d);
        return 0;
}

static int pf_node(const Pf *pf) {
        return pci_device_vfio_node(pf->device, pf->api);
}

/* Tries the tokens on record in the order that matters after any crash: committed, then
 * pending (see state.h). Returns which one opened: 1 = current, 2 = pending, 0 = plain (no
 * token on record). */
static int pf_open_cold(Pf *pf) {
        const Token *tries[2] = { pf->state->current, pf->state->pending };
        const char *a = pf->config.address;
        int r = -EACCES;

        if (!pf->state->current && !pf->state->pending) {
                r = vfio_pf_open(pf->ctx->dev_root, pf->api, a, pf_node(pf), NULL, &pf->vfio);
                if (r < 0)
                        return log_pf_error_errno(a, 0, r, "Failed to open PF (no token on record): %s",
                                                  vfio_strerror(VFIO_OP_OPEN, r));
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(tries); i++) {
                if (!tries[i])
                        continue;
                r = vfio_pf_open(pf->ctx->dev_root, pf->api, a, pf_node(pf), tries[i]->bytes, &pf->vfio);
                if (r >= 0)
                        return (int) i + 1;
                if (r != -EACCES)
                        break;
                log_pf_debug(a, 0, "The kernel refused the %s token on record.", i == 0 ? "committed" : "pending");
        }
        return log_pf_error_errno(a, pf->state->generation, r, "Failed to open PF: %s",
                                  vfio_strerror(VFIO_OP_OPEN, r));
}

/* After any successful open or adoption: make the state and the kernel agree. A rotation that
 * was in flight is rolled forward (SET is allowed at any time and we hold the fd), a PF with no
 * token on record gets its first one. */
static int pf_settle(Pf *pf, int opened_with) {
        const char *a = pf->config.address;
        int r;

        r = vfio_pf_probe_token(pf->vfio);
        if (r < 0)
                return log_pf_error_errno(a, 0, r, "VF token feature not available: %s",
                                          vfio_strerror(VFIO_OP_PROBE, r));

        if (opened_with == 2) {
                /* The kernel had the pending token: the crash came after the SET. */
                r = state_commit_rotation(pf->ctx->state_fd, a, pf->state, now_realtime_usec());
                if (r < 0)
                        return log_pf_error_errno(a, 0, r, "Failed to commit recovered token: %m");
                log_pf_notice(a, pf->state->generation, "Recovered the token of an interrupted rotation.");
                return 0;
        }

        if (pf->state->pending) {
                r = vfio_pf_set_token(pf->vfio, pf->state->pending->bytes);
                if (r < 0)
                        return log_pf_error_errno(a, 0, r, "Failed to complete interrupted rotation: %s",
                                                  vfio_strerror(VFIO_OP_SET, r));
                r = state_commit_rotation(pf->ctx->state_fd, a, pf->state, now_realtime_usec());
                if (r < 0)
                        return log_pf_error_errno(a, 0, r, "Failed to commit token: %m");
                log_pf_notice(a, pf->state->generation, "Completed an interrupted rotation.");
                return 0;
        }

        if (!pf->state->current) {
                if (pf->state_damaged) {
                        /* Keep the evidence for the admin beside the new record. */
                        r = state_set_aside(pf->ctx->state_fd, a);
                        if (r < 0)
                                log_pf_warning_errno(a, 0, r, "Failed to set the damaged state file aside: %m");
                        else if (r > 0)
                                log_pf_notice(a, 0, "Kept the damaged state file with the suffix .damaged.");
                        pf->state_damaged = false;
                }
                r = pf_rotate(pf, "first token");
                if (r < 0)
                        return r;
        }
        return 0;
}

int pf_start(Pf *pf, FdStore *store) {
        int fds[_VFIO_FD_MAX], opened_with = 1, r;
        const char *a = pf->config.address;
        _cleanup_(pf_state_freep) PfState *loaded = NULL;
        VfioApi api;

        if (pf->status == PF_STATUS_READY)
                return 0;

        r = pf_discover(pf);
        if (r < 0) {
                /* fds of it in the store (from before it went away) are of no use now. */
                if (store)
                        (void) fdstore_remove(a);
                pf_set_status(pf, PF_STATUS_GONE, r);
                return 0;
        }

        r = state_load(pf->ctx->state_fd, a, &loaded);
        if (r == -EBADMSG) {
                /* Without a trustworthy token we can still open a PF whose VFs are unused; the
                 * damaged file is set aside only when a new record replaces it (pf_settle()). */
                char name[256];

                state_file_name(a, name, sizeof name);
                log_pf_error_errno(a, 0, r, "State file %s/%s is damaged, ignoring the token on record.",
                                   pf->ctx->state_dir, name);
                pf->state_damaged = true;
        }
        else if (r < 0 && r != -ENOENT) {
                log_pf_error_errno(a, 0, r, "Failed to load state: %m");
                pf_set_status(pf, PF_STATUS_GONE, r);
                return 0;
        }
        if (loaded) {
                pf_state_free(pf->state);
                pf->state = TAKE_PTR(loaded);
        }

        r = store ? fdstore_take(store, a, fds) : -ENOENT;
        if (r >= 0) {
                r = vfio_pf_adopt((VfioApi) r, a, fds, &pf->vfio);
                if (r < 0) {
                        log_pf_warning_errno(a, 0, r, "Ignoring fds from the fd store: %s",
                                             vfio_strerror(VFIO_OP_ADOPT, r));
                        /* systemd keeps its own copies: drop them, or the group stays busy. */
                        (void) fdstore_remove(a);
                } else {
                        pf->adopted = true;
                        log_pf_info(a, pf->state->generation, "Took the PF's fds back from the fd store.");
                        /* Kept as they are: reopening through another API would close the PF
                         * for a moment under its VFs' users, for no gain in what it grants. */
                        if (vfio_pf_api(pf->vfio) != pf->api)
                                log_pf_notice(a, pf->state->generation,
                                              "Holding the PF through the %s API as before the restart, "
                                              "not Api=%s (stop and start the service to reopen it).",
                                              vfio_api_to_string(vfio_pf_api(pf->vfio)),
                                              pf_api_config_to_string(pf->config.api));
                }
        } else if (r == -EBADMSG) {
                log_pf_warning_errno(a, 0, r, "Incomplete fd set in the fd store, reopening.");
                (void) fdstore_remove(a);
        }

        if (!pf->vfio) {
                r = pf_open_cold(pf);
                if (r < 0) {
                        pf_set_status(pf, r == -EACCES ? PF_STATUS_LOCKED : PF_STATUS_GONE, r);
                        return 0;
                }
                opened_with = r;
        }

        r = pf_settle(pf, opened_with);
        if (r < 0) {
                pf_set_status(pf, PF_STATUS_GONE, r);
                return r == -ENOMEM ? r : 0;
        }

        r = fdstore_push(a, pf->vfio);
        if (r < 0)
                log_pf_warning_errno(a, 0, r, "Failed to hand the PF's fds to the fd store, a restart will reopen it: %m");

        pf_set_status(pf, PF_STATUS_READY, 0);
        pf_watch_request(pf);
        (void) pf_schedule_rotation(pf);
        api = vfio_pf_api(pf->vfio);
        log_pf_info(a, pf->state->generation, "Ready (%s API, %s, %s%d, %u of %u VFs enabled).",
                    vfio_api_to_string(api), pf->adopted ? "fds kept" : "opened",
                    api == VFIO_API_CDEV ? "vfio" : "IOMMU group ", pci_device_vfio_node(pf->device, api),
                    pf->device->num_vfs, pf->device->total_vfs);
        return 0;
}

int pf_rotate(Pf *pf, const char *reason) {
        _cleanup_(token_freep) Token *next = NULL;
        const char *a = pf->config.address;
        int r;

        if (!pf->vfio)
                return -EAGAIN;

        next = token_new();
        if (!next)
                return log_oom_pf(a);
        token_generate(next);

        r = state_begin_rotation(pf->ctx->state_fd, a, pf->state, next);
        if (r < 0)
                return log_pf_error_errno(a, 0, r, "Failed to record the pending token, not rotating: %m");
        /* Saving the whole state also caught up with anything an earlier failed save left behind. */
        pf->save_timer = sd_event_source_disable_unref(pf->save_timer);
        CRASH_POINT("pending");

        r = vfio_pf_set_token(pf->vfio, next->bytes);
        if (r < 0) {
                int q = state_abort_rotation(pf->ctx->state_fd, a, pf->state);
                if (q < 0) {
                        /* The kernel kept the old token, which is still current: forget the pending
                         * one in memory (else every later rotation would be refused) and save later. */
                        log_pf_warning_errno(a, 0, q, "Failed to forget the pending token on disk, retrying: %m");
                        state_abort_in_memory(pf->state);
                        pf_schedule_save(pf);
                }
                log_pf_error_errno(a, pf->state->generation, r, "Failed to set the VF token: %s",
                                   vfio_strerror(VFIO_OP_SET, r));
                /* The device went away under our fds: they hold no PF any more. Report it and
                 * let the retry timer find it again, rather than stay "ready" for a dead fd. */
                if (r == -ENODEV)
                        pf_set_status(pf, PF_STATUS_GONE, r);
                return r;
        }

        CRASH_POINT("set");
        r = state_commit_rotation(pf->ctx->state_fd, a, pf->state, now_realtime_usec());
        if (r < 0) {
                /* The kernel has the new token, so it is what must be handed out from now on. It is
                 * on disk as pending, which a restart would also find; commit it there later. */
                log_pf_warning_errno(a, 0, r, "Failed to commit the new token on disk, retrying: %m");
                state_commit_in_memory(pf->state, now_realtime_usec());
                pf_schedule_save(pf);
        }

        log_pf_notice(a, pf->state->generation, "Token set (%s), generation %" PRIu64 ".", reason,
                      pf->state->generation);
        bus_emit_pf_changed(pf->ctx->bus, pf->object_path, PF_CHANGED_TOKEN);
        bus_emit_token_rotated(pf->ctx->bus, pf->config.address, pf->object_path, pf->state->generation);
        (void) pf_schedule_rotation(pf);
        return 0;
}

int pf_get_token(Pf *pf, Token *ret) {
        if (pf->status != PF_STATUS_READY || !pf->state->current)
                return -EAGAIN;
        token_copy(ret, pf->state->current);
        return 0;
}

bool pf_owns_device(const Pf *pf, const char *address) {
        if (streq(pf->config.address, address))
                return true;
        if (!pf->device)
                return false;
        for (size_t i = 0; i < pf->device->n_vfs; i++)
                if (streq(pf->device->vfs[i], address))
                        return true;
        return false;
}

static int on_rotate_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Pf *pf = userdata;
        int r;

        pf->rotate_timer = sd_event_source_disable_unref(pf->rotate_timer);
        /* The interval is the admin's policy: it applies with leases held, like a forced
         * rotation (open VFs keep working; holders learn of it from TokenRotated). */
        r = pf_rotate_request(pf, true, "interval");
        if (r >= 0) {
                pf->rotate_retry_usec = 0;
                return 0;
        }
        /* Overdue still: try again after a back-off rather than never (or in a tight loop). */
        if (pf->status == PF_STATUS_READY && pf->ctx->event) {
                pf->rotate_retry_usec = pf->rotate_retry_usec == 0 ? PF_RETRY_USEC
                                        : MIN(pf->rotate_retry_usec * 2, PF_RETRY_MAX_USEC);
                log_pf_warning_errno(pf->config.address, pf->state->generation, r,
                                     "Timed rotation failed, retrying in %" PRIu64 " s.",
                                     pf->rotate_retry_usec / USEC_PER_SEC);
                (void) sd_event_add_time_relative(pf->ctx->event, &pf->rotate_timer, CLOCK_MONOTONIC,
                                                  pf->rotate_retry_usec, USEC_PER_SEC, on_rotate_timer, pf);
        }
        return 0;
}

static int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Pf *pf = userdata;
        int r;

        pf->save_timer = sd_event_source_disable_unref(pf->save_timer);
        r = state_save(pf->ctx->state_fd, pf->config.address, pf->state);
        if (r < 0) {
                log_pf_warning_errno(pf->config.address, pf->state->generation, r,
                                     "Still failing to save the state: %m");
                pf_schedule_save(pf);
                return 0;
        }
        pf->save_retry_usec = 0;
        log_pf_notice(pf->config.address, pf->state->generation, "State saved; disk and memory agree again.");
        return 0;
}

void pf_schedule_save(Pf *pf) {
        if (pf->save_timer || !pf->ctx->event)
                return;
        pf->save_retry_usec = pf->save_retry_usec == 0 ? USEC_PER_SEC : MIN(pf->save_retry_usec * 2, PF_RETRY_MAX_USEC);
        (void) sd_event_add_time_relative(pf->ctx->event, &pf->save_timer, CLOCK_MONOTONIC, pf->save_retry_usec,
                                          USEC_PER_SEC / 10, on_save_timer, pf);
}

int pf_schedule_rotation(Pf *pf) {
        uint64_t when;

        pf->rotate_timer = sd_event_source_disable_unref(pf->rotate_timer);
        if (pf->config.rotate_interval_usec == 0 || pf->status != PF_STATUS_READY || !pf->ctx->event)
                return 0;

        when = pf->state->set_usec + pf->config.rotate_interval_usec;
        if (when < pf->state->set_usec) /* overflow: never */
                return 0;
        return sd_event_add_time(pf->ctx->event, &pf->rotate_timer, CLOCK_REALTIME, when, USEC_PER_SEC,
                                 on_rotate_timer, pf);
}

void pf_lease_ended(Pf *pf) {
        if (pf->n_leases > 0 || !pf->config.rotate_when_idle || pf->status != PF_STATUS_READY)
                return;
        (void) pf_rotate_request(pf, false, "last lease ended");
}

int pf_rotate_request(Pf *pf, bool force, const char *reason) {
        if (pf->status != PF_STATUS_READY)
                return -EAGAIN;
        if (pf->n_leases > 0 && !force)
                return -EBUSY;
        return pf_rotate(pf, reason);
}

/* Replaces the PF's sysfs view with a fresh one, and says so on the bus if its VFs changed. */
static int pf_reread_device(Pf *pf) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        unsigned old_num = pf->device ? pf->device->num_vfs : 0;
        int r;

        r = sysfs_device_read(pf->ctx->sysfs_root, pf->config.address, &d);
        if (r < 0)
                return r;
        pci_device_free(pf->device);
        pf->device = TAKE_PTR(d);
        if (pf->device->num_vfs != old_num)
                bus_emit_pf_changed(pf->ctx->bus, pf->object_path, PF_CHANGED_VFS);
        return 0;
}

bool pf_claims_new_vf(Pf *pf, const char *address) {
        char physfn[PCI_ADDRESS_MAX];

        if (sysfs_read_physfn(pf->ctx->sysfs_root, address, physfn) < 0 || !streq(physfn, pf->config.address))
                return false;
        /* VFs were enabled since we looked: refresh the view, so that NumVFs and VirtualFunctions
         * tell the truth too. */
        if (pf_reread_device(pf) < 0)
                return false;
        return pf_owns_device(pf, address);
}

void pf_lease_added(Pf *pf) {
        pf->n_leases++;
        bus_emit_pf_changed(pf->ctx->bus, pf->object_path, PF_CHANGED_LEASES);
        pf_notify_changed(pf);
}

void pf_lease_removed(Pf *pf) {
        if (pf->n_leases > 0)
                pf->n_leases--;
        bus_emit_pf_changed(pf->ctx->bus, pf->object_path, PF_CHANGED_LEASES);
        pf_notify_changed(pf);
}

int pf_retry_now(Pf *pf) {
        if (pf->status == PF_STATUS_READY)
                return 0;
        pf->retry_timer = sd_event_source_disable_unref(pf->retry_timer);
        pf->retry_usec = 0;
        log_pf_debug(pf->config.address, 0, "Retrying now.");
        return pf_start(pf, NULL);
}

void pf_device_removed(Pf *pf) {
        if (pf->status == PF_STATUS_GONE && pf->status_error == -ENODEV)
                return;
        log_pf_notice(pf->config.address, pf->state->generation, "The device was removed: letting go of it.");
        pf_set_status(pf, PF_STATUS_GONE, -ENODEV);
}

void pf_refresh_vfs(Pf *pf) {
        /* A PF never seen has no view to refresh: its discovery makes one. */
        if (pf->device)
                (void) pf_reread_device(pf);
}

void pf_update_config(Pf *pf, const PfConfig *c) {
        bool idle_now = c->rotate_when_idle && !pf->config.rotate_when_idle;
        uint64_t old_interval = pf->config.rotate_interval_usec;

        /* A PF that stays is never reopened (nor are fds taken from the fd store): the API the
         * daemon holds it through changes when it is next opened, after it was let go. */
        if (c->api != pf->config.api && pf->vfio)
                log_pf_notice(c->address, pf->state->generation,
                              "Api=%s now, the PF stays open through the %s API until it is let go "
                              "(stop and start the service to reopen it).",
                              pf_api_config_to_string(c->api), vfio_api_to_string(vfio_pf_api(pf->vfio)));
        pf->config = *c;
        pf->config.file = NULL;
        if (old_interval != c->rotate_interval_usec) {
                log_pf_info(c->address, pf->state->generation, "Rotation interval now %" PRIu64 " s.",
                            c->rotate_interval_usec / USEC_PER_SEC);
                pf->rotate_retry_usec = 0;
                (void) pf_schedule_rotation(pf);
        }
        /* RotateWhenIdle turned on for a PF that is idle already: it is due now. */
        if (idle_now)
                pf_lease_ended(pf);
}

void pf_release(Pf *pf) {
        log_pf_notice(pf->config.address, pf->state->generation,
                      "No longer configured: closing its fds (the kernel keeps its token while it stays "
                      "bound to vfio-pci).");
        (void) fdstore_remove(pf->config.address);
        pf->rotate_timer = sd_event_source_disable_unref(pf->rotate_timer);
        pf->retry_timer = sd_event_source_disable_unref(pf->retry_timer);
        pf->save_timer = sd_event_source_disable_unref(pf->save_timer);
        pf_close(pf);
}

const char *pf_address(const Pf *pf) {
        return pf->config.address;
}

const char *pf_object_path(const Pf *pf) {
        return pf->object_path;
}

PfStatus pf_status(const Pf *pf) {
        return pf->status;
}

const char *pf_state_reason(const Pf *pf) {
        if (pf->status == PF_STATUS_READY)
                return "";
        if (pf->status == PF_STATUS_LOCKED)
                return "its VFs are in use with a token the daemon does not hold";
        switch (pf->status_error) {
        case -ENOENT:
        case -ENODEV:
                return "the device is absent";
        case -EOPNOTSUPP:
                return "not an SR-IOV physical function";
        case -EMEDIUMTYPE:
                return "not bound to vfio-pci";
        default:
                /* Past discovery, what failed was opening or settling the PF: the kernel boundary
                 * has the words for it. */
                return pf->status_error < 0 ? vfio_strerror(VFIO_OP_OPEN, pf->status_error) : "unknown";
        }
}

const char *pf_api_to_string(const Pf *pf) {
        /* Not held: the API it would be opened through now. */
        return vfio_api_to_string(pf->vfio ? vfio_pf_api(pf->vfio) : (VfioApi) pf_config_vfio_api(&pf->config, pf->ctx->dev_root));
}

const char *pf_driver(const Pf *pf) {
        return pf->device && pf->device->driver ? pf->device->driver : "";
}

unsigned pf_num_vfs(const Pf *pf) {
        return pf->device ? pf->device->num_vfs : 0;
}

unsigned pf_total_vfs(const Pf *pf) {
        return pf->device ? pf->device->total_vfs : 0;
}

char *const *pf_vfs(const Pf *pf) {
        return pf->device ? pf->device->vfs : NULL;
}

uint64_t pf_generation(const Pf *pf) {
        return pf->state->generation;
}

uint64_t pf_token_set_usec(const Pf *pf) {
        return pf->state->set_usec;
}

unsigned pf_n_leases(const Pf *pf) {
        return pf->n_leases;
}
