/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the PhysicalFunction objects on the bus: their lookup and enumeration, their properties,
 * AcquireToken (the Manager's too: finding the PF of a device, polkit, the grant and every
 * refusal) and Rotate. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-args.h"
#include "bus-caller.h"
#include "bus-pf.h"
#include "bus.h"
#include "lease.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "pf.h"
#include "polkit.h"
#include "string-util.h"
#include "strv.h"

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

Pf *bus_find_pf_for_device(Manager *m, Pf *scope, const char *device) {
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
                bus_audit(LOG_NOTICE, "refuse", c, pf_address, device, 0, "no such device");
                return reply_error_errno(call, -ENODEV, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "PF %s is not managed.",
                                         pf_address);
        }
        if (pf->status != PF_STATUS_READY) {
                bus_audit(LOG_NOTICE, "refuse", c, pf_address, device, 0, pf_status_to_string(pf->status));
                if (pf->status == PF_STATUS_LOCKED)
                        return reply_error_errno(call, -EBUSY, VFIO_TOKEN_ERROR_BUSY,
                                                 "PF %s is locked: its VFs are in use with a token the daemon "
                                                 "does not hold; it is retried periodically.",
                                                 pf_address);
                return reply_error_errno(call, -ENXIO, VFIO_TOKEN_ERROR_DEVICE_GONE,
                                         "PF %s is not usable right now (%s); see the daemon's log.", pf_address,
                                         pf->status_error < 0 ? strerror(-pf->status_error) : "gone");
        }
        if (lease_count_owner(m, c->sender) >= LEASES_PER_OWNER_MAX) {
                bus_audit(LOG_NOTICE, "refuse", c, pf_address, device, 0, "too many leases");
                return reply_error_errno(call, -ENOBUFS, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "This connection holds %d leases already; release some first.",
                                         LEASES_PER_OWNER_MAX);
        }

        r = pf_get_token(pf, &token);
        if (r < 0)
                return reply_error_errno(call, r, VFIO_TOKEN_ERROR_DEVICE_GONE, "PF %s has no token right now.", pf_address);

        r = lease_new(pf, device, c->sender, c->uid, c->pid, c->unit, &lease);
        if (r < 0) {
                bus_audit(LOG_WARNING, "refuse", c, pf_address, device, 0, "lease failed");
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
        bus_audit(LOG_INFO, "grant", c, pf_address, device, lease->id, "granted");
        return 1;
}

static void acquire_polkit_done(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata) {
        AuthRequest *req = userdata;
        const Caller *c = &req->caller;

        if (verdict == POLKIT_ALLOWED) {
                (void) grant(req->manager, call, c, req->pf, req->device);
                return;
        }
        bus_audit(LOG_NOTICE, "refuse", c, req->pf, req->device, 0,
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
                                         VFIO_TOKEN_ACTION_ACQUIRE);
}

int bus_acquire_token(sd_bus_message *call, Manager *m, Pf *scope, sd_bus_error *error) {
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

        r = bus_caller_get(call, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m");

        pf = bus_find_pf_for_device(m, scope, device);
        if (!pf) {
                bus_audit(LOG_NOTICE, "refuse", &c, scope ? scope->config.address : NULL, device, 0,
                          "no such device");
                bus_caller_done(&c);
                if (scope)
                        return sd_bus_error_setf(error, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE,
                                                 "%s is neither PF %s nor one of its VFs.", device,
                                                 scope->config.address);
                return sd_bus_error_setf(error, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE,
                                         "%s is neither a managed PF nor a VF of one.", device);
        }

        if (c.uid == 0) {
                r = grant(m, call, &c, pf->config.address, device);
                bus_caller_done(&c);
                return r;
        }

        req = bus_auth_request_new(m, &c, pf->config.address, device);
        if (!req) {
                bus_caller_done(&c);
                return -ENOMEM;
        }
        details[0] = "pf";
        details[1] = req->pf;
        details[2] = "device";
        details[3] = req->device;
        details[4] = NULL;
        r = polkit_check_async(m->polkit, call, VFIO_TOKEN_ACTION_ACQUIRE, details, acquire_polkit_done, req,
                               bus_auth_request_free);
        if (r < 0) {
                bus_auth_request_free(req);
                return sd_bus_error_set_errnof(error, r, "Failed to start the authorisation check: %m");
        }
        return 1; /* the reply comes from acquire_polkit_done() */
}

static int method_pf_acquire(sd_bus_message *call, void *userdata, sd_bus_error *error) {
        Pf *pf = userdata;

        return bus_acquire_token(call, pf->manager, pf, error);
}

/* ---- The objects: lookup, properties, Rotate ---- */

int bus_pf_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                sd_bus_error *error) {
        _cleanup_free_ char *address = NULL;
        Manager *m = userdata;
        Pf *pf;
        int r;

        r = sd_bus_path_decode(path, VFIO_TOKEN_PF_PATH_PREFIX, &address);
        if (r <= 0)
                return r;
        pf = manager_find_pf(m, address);
        if (!pf)
                return 0;
        *found = pf;
        return 1;
}

int bus_pf_enumerate(sd_bus *bus, const char *path, void *userdata, char ***ret_nodes, sd_bus_error *error) {
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
                return reply_error_errno(call, -ENODEV, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "PF %s is not managed.", pf_address);
        r = manager_rotate_pf(m, pf, force, "requested");
        if (r == -EBUSY) {
                bus_audit(LOG_NOTICE, "rotate", c, pf_address, NULL, 0, "refused: leases held");
                return reply_error_errno(call, r, VFIO_TOKEN_ERROR_BUSY,
                                         "PF %s has %u lease(s); rotate with force to do it anyway.", pf_address,
                                         pf->n_leases);
        }
        if (r == -EAGAIN) {
                bus_audit(LOG_NOTICE, "rotate", c, pf_address, NULL, 0, "refused: not ready");
                return reply_error_errno(call, r, VFIO_TOKEN_ERROR_DEVICE_GONE, "PF %s is %s, cannot rotate.", pf_address,
                                         pf_status_to_string(pf->status));
        }
        if (r < 0) {
                bus_audit(LOG_WARNING, "rotate", c, pf_address, NULL, 0, "failed");
                return reply_error_errno(call, r, SD_BUS_ERROR_FAILED, "Rotation of PF %s failed: %s", pf_address,
                                         strerror(-r));
        }
        bus_audit(LOG_INFO, "rotate", c, pf_address, NULL, 0, force ? "done (forced)" : "done");
        return sd_bus_reply_method_return(call, "t", pf->state->generation);
}

static void rotate_polkit_done(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata) {
        AuthRequest *req = userdata;

        if (verdict == POLKIT_ALLOWED) {
                (void) do_rotate(req->manager, call, &req->caller, req->pf, req->force);
                return;
        }
        bus_audit(LOG_NOTICE, "rotate", &req->caller, req->pf, NULL, 0, "refused by polkit");
        (void) reply_error_errno(call, -EACCES,
                                 verdict == POLKIT_CHALLENGE ? SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED
                                                             : SD_BUS_ERROR_ACCESS_DENIED,
                                 "Not authorised to rotate the VF token of PF %s (polkit action %s).", req->pf,
                                 VFIO_TOKEN_ACTION_ROTATE);
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
        r = bus_caller_get(call, &c);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m");
        if (c.uid == 0) {
                r = do_rotate(pf->manager, call, &c, pf->config.address, force);
                bus_caller_done(&c);
                return r;
        }

        req = bus_auth_request_new(pf->manager, &c, pf->config.address, NULL);
        if (!req) {
                bus_caller_done(&c);
                return -ENOMEM;
        }
        req->force = force;
        details[0] = "pf";
        details[1] = req->pf;
        details[2] = NULL;
        r = polkit_check_async(pf->manager->polkit, call, VFIO_TOKEN_ACTION_ROTATE, details, rotate_polkit_done, req,
                               bus_auth_request_free);
        if (r < 0) {
                bus_auth_request_free(req);
                return sd_bus_error_set_errnof(error, r, "Failed to start the authorisation check: %m");
        }
        return 1;
}

const sd_bus_vtable bus_pf_vtable[] = {
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
