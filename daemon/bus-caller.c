/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the caller of a bus method: its identity from the bus's credentials, the audit line of
 * what it asked and got, and the request kept for it while polkit decides. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus-caller.h"
#include "log.h"

void bus_caller_done(Caller *c) {
        c->creds = sd_bus_creds_unref(c->creds);
}

int bus_caller_get(sd_bus_message *call, Caller *ret) {
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

void bus_audit(int level, const char *event, const Caller *c, const char *pf, const char *device,
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

void bus_auth_request_free(void *p) {
        AuthRequest *req = p;

        if (req) {
                bus_caller_done(&req->caller);
                free(req);
        }
}

AuthRequest *bus_auth_request_new(Manager *m, Caller *c, const char *pf, const char *device) {
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
