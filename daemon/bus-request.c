/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the journey of an AcquireToken or Rotate call after its arguments and device are
 * checked: identifying the caller, the quotas, polkit (root is let through), then the
 * manager's grant or rotation, and the one reply every call gets. The order is the contract's:
 * arguments, device, authorisation, grant. */

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "bus-caller.h"
#include "bus-face.h"
#include "bus-request.h"
#include "bus-peer.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "pci-address.h"
#include "pf.h"
#include "polkit.h"
#include "token.h"
#include "vfio-token-names.h"

/* A method call on its way through identification, quotas and polkit. */
typedef struct Request {
        BusFace *face;
        RequestKind kind;
        sd_bus_message *call;
        Caller caller;
        char pf[PCI_ADDRESS_MAX];
        char device[PCI_ADDRESS_MAX]; /* AcquireToken */
        bool force;                   /* Rotate */
} Request;

static void request_free(void *p) {
        Request *req = p;

        if (req) {
                sd_bus_message_unref(req->call);
                free(req);
        }
}

static int reply_limits(Request *req, int error) {
        const char *what = error == -EDQUOT ? "this connection holds the most leases it may"
                           : error == -EUSERS && req->caller.uid != (uid_t) -1
                                   ? "this user has the most requests or leases it may"
                                   : "the daemon is at its limit";

        bus_audit(LOG_NOTICE, req->kind == REQUEST_ACQUIRE ? "refuse" : "rotate", &req->caller, req->pf,
                  req->kind == REQUEST_ACQUIRE ? req->device : NULL, 0, "over a quota");
        return bus_reply_error(req->call, SD_BUS_ERROR_LIMITS_EXCEEDED, "Refused: %s; try again later.", what);
}

static void finish_acquire(Request *req) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_token_string_ TokenString text = {};
        _cleanup_token_ Token token = {};
        Manager *m = req->face->manager;
        const Caller *c = &req->caller;
        Lease *lease = NULL;
        int r;

        r = manager_grant(m, c->sender, c->uid, c->pid, req->pf, req->device, &token, &lease);
        switch (r) {
        case 0:
                break;
        case -ENODEV:
                bus_audit(LOG_NOTICE, "refuse", c, req->pf, req->device, 0, "no such device");
                (void) bus_reply_error(req->call, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "PF %s is not managed.", req->pf);
                return;
        case -EBUSY:
                bus_audit(LOG_NOTICE, "refuse", c, req->pf, req->device, 0, "locked");
                (void) bus_reply_error(req->call, VFIO_TOKEN_ERROR_BUSY,
                                       "PF %s is locked: its VFs are in use with a token the daemon does not "
                                       "hold; it is retried periodically.",
                                       req->pf);
                return;
        case -ENXIO: {
                Pf *pf = manager_find_pf(m, req->pf);

                bus_audit(LOG_NOTICE, "refuse", c, req->pf, req->device, 0, "gone");
                (void) bus_reply_error(req->call, VFIO_TOKEN_ERROR_DEVICE_GONE,
                                       "PF %s is not usable right now (%s); see the daemon's log.", req->pf,
                                       pf ? pf_state_reason(pf) : "gone");
                return;
        }
        case -EDQUOT:
        case -EUSERS:
        case -ENOSPC:
                (void) reply_limits(req, r);
                return;
        default:
                bus_audit(LOG_WARNING, "refuse", c, req->pf, req->device, 0, "lease failed");
                (void) bus_reply_error(req->call, SD_BUS_ERROR_FAILED, "Failed to create a lease: %s",
                                       strerror(-r));
                return;
        }

        token_to_string(&token, &text);
        r = sd_bus_message_new_method_return(req->call, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "so", text.s, lease->path);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to send the token reply: %m");
                lease_end(lease, "the reply could not be sent");
                return;
        }
        bus_audit(LOG_INFO, "grant", c, req->pf, req->device, lease->id, "granted");
}

static void finish_rotate(Request *req) {
        Manager *m = req->face->manager;
        const Caller *c = &req->caller;
        Pf *pf = manager_find_pf(m, req->pf);
        int r;

        if (!pf) {
                (void) bus_reply_error(req->call, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "PF %s is not managed.", req->pf);
                return;
        }
        r = manager_rotate_pf(m, pf, req->force, "requested");
        if (r == -EBUSY) {
                bus_audit(LOG_NOTICE, "rotate", c, req->pf, NULL, 0, "refused: leases held");
                (void) bus_reply_error(req->call, VFIO_TOKEN_ERROR_BUSY,
                                       "PF %s has %u lease(s); rotate with force (vfio-tokenctl rotate --force) to "
                                       "do it anyway.",
                                       req->pf, pf_n_leases(pf));
        } else if (r == -EAGAIN) {
                bus_audit(LOG_NOTICE, "rotate", c, req->pf, NULL, 0, "refused: not ready");
                (void) bus_reply_error(req->call, VFIO_TOKEN_ERROR_DEVICE_GONE, "PF %s is %s (%s), cannot rotate.",
                                       req->pf, pf_status_to_string(pf_status(pf)), pf_state_reason(pf));
        } else if (r < 0) {
                bus_audit(LOG_WARNING, "rotate", c, req->pf, NULL, 0, "failed");
                (void) bus_reply_error(req->call, SD_BUS_ERROR_FAILED, "Rotation of PF %s failed: %s", req->pf,
                                       strerror(-r));
        } else {
                bus_audit(LOG_INFO, "rotate", c, req->pf, NULL, 0, req->force ? "done (forced)" : "done");
                (void) sd_bus_reply_method_return(req->call, "t", pf_generation(pf));
        }
}

static void finish_retry(Request *req) {
        Manager *m = req->face->manager;
        Pf *pf = manager_find_pf(m, req->pf);
        int r;

        if (!pf) {
                (void) bus_reply_error(req->call, VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, "PF %s is not managed.", req->pf);
                return;
        }
        r = manager_retry_pf(m, pf);
        if (r < 0) {
                (void) bus_reply_error(req->call, SD_BUS_ERROR_FAILED, "Retrying PF %s failed: %s", req->pf,
                                       strerror(-r));
                return;
        }
        bus_audit(LOG_INFO, "retry", &req->caller, req->pf, NULL, 0, pf_status_to_string(pf_status(pf)));
        (void) sd_bus_reply_method_return(req->call, "s", pf_status_to_string(pf_status(pf)));
}

static void finish(Request *req) {
        switch (req->kind) {
        case REQUEST_ACQUIRE:
                finish_acquire(req);
                break;
        case REQUEST_ROTATE:
                finish_rotate(req);
                break;
        case REQUEST_RETRY:
                finish_retry(req);
                break;
        }
}

static void on_polkit(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata) {
        Request *req = userdata;
        const char *action = req->kind == REQUEST_ACQUIRE ? VFIO_TOKEN_ACTION_ACQUIRE : VFIO_TOKEN_ACTION_ROTATE;
        const char *what = req->kind == REQUEST_ACQUIRE  ? "get the VF token of"
                           : req->kind == REQUEST_ROTATE ? "rotate the VF token of"
                                                         : "retry";
        const char *event = req->kind == REQUEST_ACQUIRE ? "refuse" : req->kind == REQUEST_ROTATE ? "rotate" : "retry";
        const char *device = req->kind == REQUEST_ACQUIRE ? req->device : NULL;

        if (verdict == POLKIT_ALLOWED) {
                finish(req);
                return;
        }
        if (verdict < 0) {
                /* polkit could not be asked: not a refusal, and never reported as one. */
                bus_audit(LOG_WARNING, event, &req->caller, req->pf, device, 0, "authorisation unavailable");
                (void) bus_reply_error(call, VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE,
                                       "Could not check authorisation with polkit (%s); try again later.",
                                       error && error->name ? error->name
                                       : verdict == -ETIMEDOUT ? "no answer in time"
                                                               : strerror(-verdict));
                return;
        }
        if (verdict == POLKIT_CHALLENGE) {
                bus_audit(LOG_NOTICE, event, &req->caller, req->pf, device, 0, "needs interactive authorisation");
                (void) bus_reply_error(call, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                       "Authentication is required to %s PF %s; allow interactive authorisation.",
                                       what, req->pf);
                return;
        }
        bus_audit(LOG_NOTICE, event, &req->caller, req->pf, device, 0, "denied by polkit");
        (void) bus_reply_error(call, SD_BUS_ERROR_ACCESS_DENIED, "Not authorised to %s PF %s (polkit action %s).",
                               what, req->pf, action);
}

static void on_identified(const PeerIdentity *id, int error, void *userdata) {
        Request *req = userdata;
        const char *details[5];
        int r;

        if (!id) {
                /* The caller left (or the daemon stops): nobody to answer, or an answer it may see. */
                if (error != -ESRCH && error != -ECANCELED)
                        (void) bus_reply_error(req->call, SD_BUS_ERROR_FAILED, "Cannot identify the caller: %s",
                                               strerror(-error));
                request_free(req);
                return;
        }
        req->caller.uid = id->uid;
        req->caller.pid = id->pid;

        if (id->uid == 0) {
                finish(req);
                request_free(req);
                return;
        }

        /* Refuse what could not be granted anyway before bothering polkit. */
        if (req->kind == REQUEST_ACQUIRE) {
                r = manager_check_lease_quota(req->face->manager, req->caller.sender, id->uid);
                if (r < 0) {
                        (void) reply_limits(req, r);
                        request_free(req);
                        return;
                }
        }

        details[0] = "pf";
        details[1] = req->pf;
        details[2] = req->kind == REQUEST_ACQUIRE ? "device" : NULL;
        details[3] = req->device;
        details[4] = NULL;
        r = polkit_check_async(req->face->polkit, req->call, id->uid,
                               req->kind == REQUEST_ACQUIRE ? VFIO_TOKEN_ACTION_ACQUIRE : VFIO_TOKEN_ACTION_ROTATE,
                               details, on_polkit, req, request_free);
        if (r == -EUSERS || r == -ENOSPC) {
                (void) reply_limits(req, r);
                request_free(req);
        } else if (r < 0) {
                bus_audit(LOG_WARNING, req->kind == REQUEST_ACQUIRE ? "refuse" : "rotate", &req->caller, req->pf,
                          NULL, 0, "authorisation unavailable");
                (void) bus_reply_error(req->call, VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE,
                                       "Could not start the authorisation check: %s", strerror(-r));
                request_free(req);
        }
}

int bus_request_start(BusFace *f, sd_bus_message *call, RequestKind kind, const char *pf, const char *device,
                      bool force, sd_bus_error *error) {
        Request *req;
        int r;

        req = calloc(1, sizeof(Request));
        if (!req)
                return -ENOMEM;
        req->face = f;
        req->kind = kind;
        req->call = sd_bus_message_ref(call);
        req->caller = (Caller) { .sender = sd_bus_message_get_sender(call) ?: "", .uid = (uid_t) -1 };
        snprintf(req->pf, sizeof req->pf, "%s", pf);
        snprintf(req->device, sizeof req->device, "%s", device ?: "");
        req->force = force;

        r = peer_identify(f->peers, req->caller.sender, on_identified, req);
        if (r < 0) {
                request_free(req);
                if (r == -EUSERS || r == -ENOSPC)
                        return sd_bus_error_set(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                "Refused: too many calls of this connection wait already; try "
                                                "again later.");
                return sd_bus_error_set_errnof(error, r, "Cannot identify the caller: %m");
        }
        return 1;
}
