/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the D-Bus objects: Manager, PhysicalFunction and Lease vtables, grants and refusals. */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-args.h"
#include "bus.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "pf.h"
#include "polkit.h"

static const sd_bus_error_map vfio_tokend_errors[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_DEVICE, ENODEV),
        SD_BUS_ERROR_MAP(BUS_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(BUS_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(BUS_ERROR_DEVICE_GONE, ENXIO),
        SD_BUS_ERROR_MAP_END,
};

/* Who is calling, from the bus's own credentials of the sender (dbus-daemon's
 * GetConnectionCredentials), never from guesses in /proc. The unit is for the audit line only. */
typedef struct Caller {
        uid_t uid;
        pid_t pid;
        const char *unit;
        const char *sender;
        sd_bus_creds *creds;
} Caller;

static void caller_done(Caller *c) {
        c->creds = sd_bus_creds_unref(c->creds);
}

static int caller_get(sd_bus_message *call, Caller *ret) {
        Caller c = { .uid = (uid_t) -1, .pid = 0 };
        int r;

        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID | SD_BUS_CREDS_AUGMENT |
                                                    SD_BUS_CREDS_UNIT,
                                      &c.creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(c.creds, &c.uid);
        if (r < 0) {
                sd_bus_creds_unref(c.creds);
                return r;
        }
        (void) sd_bus_creds_get_pid(c.creds, &c.pid);
        (void) sd_bus_creds_get_unit(c.creds, &c.unit);
        c.sender = sd_bus_message_get_sender(call);
        *ret = c;
        return 0;
}

/* One audit line for every grant, refusal and rotation, with structured fields. */
static void audit(int level, const char *event, const Caller *c, const char *pf, const char *device,
                  uint64_t lease, const char *outcome) {
        char f_ev[64], f_uid[32], f_pid[32], f_unit[256], f_pf[64], f_dev[128], f_lease[64], lease_text[32] = "-";
        const char *fields[] = { f_ev, f_uid, f_pid, f_unit, f_pf, f_dev, f_lease, NULL };

        snprintf(f_ev, sizeof f_ev, "AUDIT_EVENT=%s", event);
        snprintf(f_uid, sizeof f_uid, "CALLER_UID=%u", (unsigned) c->uid);
        snprintf(f_pid, sizeof f_pid, "CALLER_PID=%u", (unsigned) c->pid);
        snprintf(f_unit, sizeof f_unit, "CALLER_UNIT=%s", c->unit ?: "");
        snprintf(f_pf, sizeof f_pf, "PF_ADDRESS=%s", pf ?: "");
        snprintf(f_dev, sizeof f_dev, "DEVICE=%s", device ?: "");
        snprintf(f_lease, sizeof f_lease, "LEASE=%" PRIu64, lease);
        if (lease > 0)
                snprintf(lease_text, sizeof lease_text, "%" PRIu64, lease);
        log_struct(level, fields, "%s %s: uid=%u pid=%u unit=%s pf=%s device=%s lease=%s.", event, outcome,
                   (unsigned) c->uid, (unsigned) c->pid, c->unit ?: "-", pf ?: "-", device ?: "-", lease_text);
}

/* Refreshes a PF's view of its VFs when a device is not in it: VFs may have been enabled since. */
static void pf_refresh_device(Pf *pf) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        unsigned old_num = pf->device ? pf->device->num_vfs : 0;

        if (sysfs_device_read(pf->manager->sysfs_root, pf->config.address, &d) < 0)
                return;
        pci_device_free(pf->device);
        pf->device = TAKE_PTR(d);
        if (pf->device->num_vfs != old_num)
                bus_pf_emit_changed(pf, "NumVFs", "VirtualFunctions", NULL);
}

static Pf *find_pf_for_device(Manager *m, Pf *scope, const char *device) {
        Pf *pf = scope ? (pf_owns_device(scope, device) ? scope : NULL) : manager_find_pf_for_device(m, device);

        if (pf)
                return pf;
        /* Not known: maybe a VF created after we looked. Ask sysfs who its PF is. */
        for (size_t i = 0; i < m->n_pfs; i++) {
                Pf *p = m->pfs[i];
                if (scope && p != scope)
                        continue;
                pf_refresh_device(p);
                if (pf_owns_device(p, device))
                        return p;
        }
        return NULL;
}

/* ---- AcquireToken ---- */

/* What a method waiting for polkit needs when the answer comes: the caller as identified when
 * the call arrived (no second credentials lookup), and the method's arguments. */
typedef struct AuthRequest {
        Manager *manager;
        Caller caller;
        char pf[PCI_ADDRESS_MAX];
        char device[PCI_ADDRESS_MAX]; /* AcquireToken */
        int force;                    /* Rotate */
} AuthRequest;

static void auth_request_free(void *p) {
        AuthRequest *req = p;

        if (req) {
                caller_done(&req->caller);
                free(req);
        }
}

/* Takes over *c (its creds reference) on success. */
static AuthRequest *auth_request_new(Manager *m, Caller *c, const char *pf, const char *device) {
        AuthRequest *req = calloc(1, sizeof(AuthRequest));

        if (!req)
                return NULL;
        req->manager = m;
        req->caller = *c;
        *c = (Caller) {};
        snprintf(req->pf, sizeof req->pf, "%s", pf);
        snprintf(req->device, sizeof req->device, "%s", device ?: "");
        return req;
}

static int reply_error_errno(sd_bus_message *call, int r, const char *name, const char *fmt, ...) _printf_(4, 5);
static int reply_error_errno(sd_bus_message *call, int r, const char *name, const char *fmt, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        sd_bus_error_set(&e, name, buf);
        return sd_bus_reply_method_error(call, &e);
}

static int grant(Manager *m, sd_bus_message *call, const Caller *c, const char *pf_address, const char *device) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_token_string_ TokenString text = {};
        _cleanup_token_ Token token = {};
        Lease *lease;
        Pf *pf;
        int r;

        /* The PF may have changed state while polkit was thinking. */
        pf = manager_find_pf(m, pf_address);
        if (!pf) {
                audit(LOG_NOTICE, "refuse", c, pf_address, device, 0, "no such device");
                return reply_error_errno(call, -ENODEV, BUS_ERROR_NO_SUCH_DEVICE, "PF %s is not managed.",
                                         pf_address);
        }
        if (pf->status != PF_STATUS_READY) {
                audit(LOG_NOTICE, "refuse", c, pf_address, device, 0, pf_status_to_string(pf->status));
                if (pf->status == PF_STATUS_LOCKED)
                        return reply_error_errno(call, -EBUSY, BUS_ERROR_BUSY,
                                                 "PF %s is locked: its VFs are in use with a token the daemon "
                                                 "does not hold; it is retried periodically.",
                                                 pf_address);
                return reply_error_errno(call, -ENXIO, BUS_ERROR_DEVICE_GONE,
                                         "PF %s is not usable right now (%s); see the daemon's log.", pf_address,
                                         pf->status_error < 0 ? strerror(-pf->status_error) : "gone");
        }
        if (lease_count_owner(m, c->sender) >= LEASES_PER_OWNER_MAX) {
                audit(LOG_NOTICE, "refuse", c, pf_address, device, 0, "too many leases");
                return reply_error_errno(call, -ENOBUFS, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "This connection holds %d leases already; release some first.",
                                         LEASES_PER_OWNER_MAX);
        }

        r = pf_get_token(pf, &token);
        if (r < 0)
                return reply_error_errno(call, r, BUS_ERROR_DEVICE_GONE, "PF %s has no token right now.", pf_address);

        r = lease_new(pf, device, c->sender, c->uid, c->pid, c->unit, &lease);
        if (r < 0) {
                audit(LOG_WARNING, "refuse", c, pf_address, device, 0, "lease failed");
                return reply_error_errno(call, r, r == -ENOSPC ? SD_BUS_ERROR_LIMITS_EXCEEDED : SD_BUS_ERROR_FAILED,
                                         "Failed to create a lease: %s", strerror(-r));
        }

        token_to_string(&token, &text);
        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "so", text.s, lease->path);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0) {
                (void) sd_bus_emit_object_removed(m->bus, lease->path);
                lease_free(lease);
                bus_pf_emit_changed(pf, "Leases", NULL);
                return log_error_errno(r, "Failed to send the token reply: %m");
        }
        audit(LOG_INFO, "grant", c, pf_address, device, lease->id, "granted");
        return 1;
}

static void acquire_polkit_done(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata) {
        AuthRequest *req = userdata;
        const Caller *c = &req->caller;

        if (verdict == POLKIT_ALLOWED) {
                (void) grant(req->manager, call, c, req->pf, req->device);
                return;
        }
        audit(LOG_NOTICE, "refuse", c, req->pf, req->device, 0,
              verdict == POLKIT_CHALLENGE ? "needs interactive authorisation"
              : verdict < 0              ? "authorisation check failed"
                                         : "denied by polkit");
        if (verdict == POLKIT_CHALLENGE)
                (void) reply_error_errno(call, -EACCES, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                         "Authentication is required to get the VF token of PF %s; "
                                         "allow interactive authorisation.",
                                         req->pf);
        else if (verdict < 0)
                (void) reply_error_errno(call, verdict, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Could not check authorisation with polkit (%s).",
                                         error && error->name ? error->name : strerror(-verdict));
        else
                (void) reply_error_errno(call, -EACCES, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Not authorised to get the VF token of PF %s (polkit action %s).", req->pf,
                                         POLKIT_ACTION_ACQUIRE);
}

static int acquire_token(sd_bus_message *call, Manager *m, Pf *scope, sd_bus_error *error) {
        char device[PCI_ADDRESS_MAX];
        const char *details[5];
        AuthRequest *req;
        Caller c = {};
        Pf *pf;
        int r;

        /* Order (DESIGN.md): arguments, device, authorisation, grant. */
        r = bus_read_device_arg(call, device, error);
        if (r < 0)
                return r;
        r = bus_read_options_arg(call, error);
        if (r < 0)
                return r;

        r = caller_get(call, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m");

        pf = find_pf_for_device(m, scope, device);
        if (!pf) {
                audit(LOG_NOTICE, "refuse", &c, scope ? scope->config.address : NULL, device, 0, "no such device");
                caller_done(&c);
                if (scope)
                        return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                                 "%s is neither PF %s nor one of its VFs.", device,
                                                 scope->config.address);
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "%s is neither a managed PF nor a VF of one.", device);
        }

        if (c.uid == 0) {
                r = grant(m, call, &c, pf->config.address, device);
                caller_done(&c);
                return r;
        }

        req = auth_request_new(m, &c, pf->config.address, device);
        if (!req) {
                caller_done(&c);
                return -ENOMEM;
        }
        details[0] = "pf";
        details[1] = req->pf;
        details[2] = "device";
        details[3] = req->device;
        details[4] = NULL;
        r = polkit_check_async(m->polkit, call, POLKIT_ACTION_ACQUIRE, details, acquire_polkit_done, req,
                               auth_request_free);
        if (r < 0) {
                auth_request_free(req);
                return sd_bus_error_set_errnof(error, r, "Failed to start the authorisation check: %m");
        }
        return 1; /* the reply comes from acquire_polkit_done() */
}

static int method_manager_acquire(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        return acquire_token(call, userdata, NULL, error);
}

static int method_pf_acquire(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;

        return acquire_token(call, pf->manager, pf, error);
}

/* ---- Manager ---- */

static int method_list_pfs(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(so)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_pfs; i++) {
                r = sd_bus_message_append(reply, "(so)", m->pfs[i]->config.address, m->pfs[i]->object_path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_pf(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        char device[PCI_ADDRESS_MAX];
        Manager *m = userdata;
        Pf *pf;
        int r;

        r = bus_read_device_arg(call, device, error);
        if (r < 0)
                return r;
        pf = find_pf_for_device(m, NULL, device);
        if (!pf)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_DEVICE,
                                         "%s is neither a managed PF nor a VF of one.", device);
        return sd_bus_reply_method_return(call, "o", pf->object_path);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", NULL, offsetof(Manager, version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("ListPhysicalFunctions", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", pfs),
                                method_list_pfs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPhysicalFunction", SD_BUS_ARGS("s", device), SD_BUS_RESULT("o", path),
                                method_get_pf, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AcquireToken", SD_BUS_ARGS("s", device, "a{sv}", options),
                                SD_BUS_RESULT("s", token, "o", lease), method_manager_acquire,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_SIGNAL_WITH_ARGS("TokenRotated", SD_BUS_ARGS("s", pf, "o", path, "t", generation), 0),
        SD_BUS_VTABLE_END,
};

/* ---- PhysicalFunction ---- */

static int pf_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        _cleanup_free_ char *address = NULL;
        Manager *m = userdata;
        Pf *pf;
        int r;

        r = sd_bus_path_decode(path, BUS_PF_PREFIX, &address);
        if (r <= 0)
                return r;
        pf = manager_find_pf(m, address);
        if (!pf)
                return 0;
        *found = pf;
        return 1;
}

static int pf_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error) {
        Manager *m = userdata;
        char **l;

        l = calloc(m->n_pfs + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_pfs; i++) {
                l[i] = strdup(m->pfs[i]->object_path);
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *ret_nodes = l;
        return 1;
}

static int prop_pf_driver(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;

        return sd_bus_message_append(reply, "s", pf->device && pf->device->driver ? pf->device->driver : "");
}

static int prop_pf_u(sd_bus *bus, const char *path, const char *interface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;
        uint32_t v = 0;

        if (pf->device)
                v = streq(property, "NumVFs") ? pf->device->num_vfs : pf->device->total_vfs;
        return sd_bus_message_append(reply, "u", v);
}

static int prop_pf_vfs(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;

        return sd_bus_message_append_strv(reply, pf->device ? pf->device->vfs : NULL);
}

static int prop_pf_t(sd_bus *bus, const char *path, const char *interface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;

        return sd_bus_message_append(reply, "t",
                                     streq(property, "TokenGeneration") ? pf->state->generation : pf->state->set_usec);
}

static int prop_pf_leases(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        /* Oldest first: the list is kept newest first. */
        Lease *last = pf->leases;
        while (last && last->next)
                last = last->next;
        for (Lease *l = last; l; l = l->prev) {
                r = sd_bus_message_append(reply, "o", l->path);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int prop_pf_s(sd_bus *bus, const char *path, const char *interface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;
        const char *v;

        if (streq(property, "Address"))
                v = pf->config.address;
        else if (streq(property, "Api"))
                v = vfio_api_to_string(pf->vfio ? vfio_pf_api(pf->vfio) : VFIO_API_GROUP);
        else
                v = pf_status_to_string(pf->status);
        return sd_bus_message_append(reply, "s", v);
}

static int do_rotate(Manager *m, sd_bus_message *call, const Caller *c, const char *pf_address, bool force) {
        Pf *pf = manager_find_pf(m, pf_address);
        int r;

        if (!pf)
                return reply_error_errno(call, -ENODEV, BUS_ERROR_NO_SUCH_DEVICE, "PF %s is not managed.", pf_address);
        r = manager_rotate_pf(m, pf, force, "requested");
        if (r == -EBUSY) {
                audit(LOG_NOTICE, "rotate", c, pf_address, NULL, 0, "refused: leases held");
                return reply_error_errno(call, r, BUS_ERROR_BUSY,
                                         "PF %s has %u lease(s); rotate with force to do it anyway.", pf_address,
                                         pf->n_leases);
        }
        if (r == -EAGAIN) {
                audit(LOG_NOTICE, "rotate", c, pf_address, NULL, 0, "refused: not ready");
                return reply_error_errno(call, r, BUS_ERROR_DEVICE_GONE, "PF %s is %s, cannot rotate.", pf_address,
                                         pf_status_to_string(pf->status));
        }
        if (r < 0) {
                audit(LOG_WARNING, "rotate", c, pf_address, NULL, 0, "failed");
                return reply_error_errno(call, r, SD_BUS_ERROR_FAILED, "Rotation of PF %s failed: %s", pf_address,
                                         strerror(-r));
        }
        audit(LOG_INFO, "rotate", c, pf_address, NULL, 0, force ? "done (forced)" : "done");
        return sd_bus_reply_method_return(call, "t", pf->state->generation);
}

static void rotate_polkit_done(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata) {
        AuthRequest *req = userdata;

        if (verdict == POLKIT_ALLOWED) {
                (void) do_rotate(req->manager, call, &req->caller, req->pf, req->force);
                return;
        }
        audit(LOG_NOTICE, "rotate", &req->caller, req->pf, NULL, 0, "refused by polkit");
        (void) reply_error_errno(call, -EACCES,
                                 verdict == POLKIT_CHALLENGE ? SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED
                                                             : SD_BUS_ERROR_ACCESS_DENIED,
                                 "Not authorised to rotate the VF token of PF %s (polkit action %s).", req->pf,
                                 POLKIT_ACTION_ROTATE);
}

static int method_pf_rotate(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        const char *details[3];
        AuthRequest *req;
        Pf *pf = userdata;
        Caller c = {};
        int force, r;

        r = sd_bus_message_read(call, "b", &force);
        if (r < 0)
                return r;
        r = caller_get(call, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m");
        if (c.uid == 0) {
                r = do_rotate(pf->manager, call, &c, pf->config.address, force);
                caller_done(&c);
                return r;
        }

        req = auth_request_new(pf->manager, &c, pf->config.address, NULL);
        if (!req) {
                caller_done(&c);
                return -ENOMEM;
        }
        req->force = force;
        details[0] = "pf";
        details[1] = req->pf;
        details[2] = NULL;
        r = polkit_check_async(pf->manager->polkit, call, POLKIT_ACTION_ROTATE, details, rotate_polkit_done, req,
                               auth_request_free);
        if (r < 0) {
                auth_request_free(req);
                return sd_bus_error_set_errnof(error, r, "Failed to start the authorisation check: %m");
        }
        return 1;
}

static const sd_bus_vtable pf_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Address", "s", prop_pf_s, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Driver", "s", prop_pf_driver, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("NumVFs", "u", prop_pf_u, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TotalVFs", "u", prop_pf_u, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("VirtualFunctions", "as", prop_pf_vfs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TokenGeneration", "t", prop_pf_t, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TokenSetTimestamp", "t", prop_pf_t, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Leases", "ao", prop_pf_leases, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Api", "s", prop_pf_s, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", prop_pf_s, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("AcquireToken", SD_BUS_ARGS("s", device, "a{sv}", options),
                                SD_BUS_RESULT("s", token, "o", lease), method_pf_acquire,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Rotate", SD_BUS_ARGS("b", force), SD_BUS_RESULT("t", generation),
                                method_pf_rotate, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* ---- Lease ---- */

static int lease_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        Lease *l = lease_find_by_path(userdata, path);

        if (!l)
                return 0;
        *found = l;
        return 1;
}

static int lease_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes,
                           sd_bus_error *error) {
        Manager *m = userdata;
        size_t n = 0;
        char **l;

        l = calloc(m->n_leases + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_pfs; i++)
                for (Lease *x = m->pfs[i]->leases; x && n < m->n_leases; x = x->next) {
                        l[n] = strdup(x->path);
                        if (!l[n++]) {
                                strv_free(l);
                                return -ENOMEM;
                        }
                }
        *ret_nodes = l;
        return 1;
}

static int prop_lease(sd_bus *bus, const char *path, const char *interface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;

        if (streq(property, "PhysicalFunction"))
                return sd_bus_message_append(reply, "o", l->pf->object_path);
        if (streq(property, "Device"))
                return sd_bus_message_append(reply, "s", l->device);
        if (streq(property, "Owner"))
                return sd_bus_message_append(reply, "s", l->owner);
        if (streq(property, "UID"))
                return sd_bus_message_append(reply, "u", (uint32_t) l->uid);
        if (streq(property, "PID"))
                return sd_bus_message_append(reply, "u", (uint32_t) l->pid);
        return sd_bus_message_append(reply, "t", l->acquired_usec);
}

static int method_lease_release(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;
        Caller c = {};
        int r;

        r = caller_get(call, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m");
        if (c.uid != 0 && !streq_ptr(c.sender, l->owner)) {
                audit(LOG_NOTICE, "release", &c, l->pf->config.address, l->device, l->id, "refused: not the owner");
                caller_done(&c);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Lease %s belongs to another connection; only its owner or root may "
                                         "release it.",
                                         l->path);
        }
        /* The lease's own line names its owner; this one names who released it. */
        audit(LOG_INFO, "release", &c, l->pf->config.address, l->device, l->id,
              streq_ptr(c.sender, l->owner) ? "by its owner" : "by root");
        caller_done(&c);
        lease_end(l, "released");
        return sd_bus_reply_method_return(call, NULL);
}

static const sd_bus_vtable lease_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PhysicalFunction", "o", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Device", "s", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "s", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("UID", "u", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PID", "u", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Acquired", "t", prop_lease, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD("Release", NULL, NULL, method_lease_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int bus_register(Manager *m) {
        int r;

        r = sd_bus_error_add_map(vfio_tokend_errors);
        if (r < 0)
                return log_error_errno(r, "Failed to register error map: %m");
        r = sd_bus_add_object_vtable(m->bus, NULL, BUS_PATH, BUS_IFACE_MANAGER, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the Manager object: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, BUS_PF_PREFIX, BUS_IFACE_PF, pf_vtable, pf_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register PhysicalFunction objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, BUS_PF_PREFIX, pf_enumerate, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the PF enumerator: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, BUS_LEASE_PREFIX, BUS_IFACE_LEASE, lease_vtable, lease_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register Lease objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, BUS_LEASE_PREFIX, lease_enumerate, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register the lease enumerator: %m");
        r = sd_bus_add_object_manager(m->bus, NULL, BUS_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to register the ObjectManager: %m");
        return 0;
}

void bus_pf_emit_changed(Pf *pf, const char *property, ...) {
        char *names[16];
        size_t n = 0;
        va_list ap;

        if (!pf->manager->bus || !property)
                return;
        va_start(ap, property);
        for (const char *p = property; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = (char *) p;
        va_end(ap);
        names[n] = NULL;
        (void) sd_bus_emit_properties_changed_strv(pf->manager->bus, pf->object_path, BUS_IFACE_PF, names);
}

void bus_emit_token_rotated(Pf *pf) {
        if (!pf->manager->bus)
                return;
        (void) sd_bus_emit_signal(pf->manager->bus, BUS_PATH, BUS_IFACE_MANAGER, "TokenRotated", "sot",
                                  pf->config.address, pf->object_path, pf->state->generation);
}
