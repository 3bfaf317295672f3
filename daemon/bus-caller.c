/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the audit line of what a caller asked and got, and late error replies. The caller's
 * identity comes from bus-peer.c; the unit is not looked up at all (the uid and pid are what
 * the bus vouches for, and a cgroup lookup per call would cost more than the call). */

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "bus-caller.h"
#include "log.h"

void bus_audit(int level, const char *event, const Caller *c, const char *pf, const char *device,
               uint64_t lease, const char *outcome) {
        char f_ev[64], f_uid[32], f_pid[32], f_pf[64], f_dev[128], f_lease[64], lease_text[32] = "-";
        const char *fields[] = { f_ev, f_uid, f_pid, f_pf, f_dev, f_lease, NULL };

        snprintf(f_ev, sizeof f_ev, "AUDIT_EVENT=%s", event);
        snprintf(f_uid, sizeof f_uid, "CALLER_UID=%u", (unsigned) c->uid);
        snprintf(f_pid, sizeof f_pid, "CALLER_PID=%u", (unsigned) c->pid);
        snprintf(f_pf, sizeof f_pf, "PF_ADDRESS=%s", pf ?: "");
        snprintf(f_dev, sizeof f_dev, "DEVICE=%s", device ?: "");
        snprintf(f_lease, sizeof f_lease, "LEASE=%" PRIu64, lease);
        if (lease > 0)
                snprintf(lease_text, sizeof lease_text, "%" PRIu64, lease);
        log_struct(level, fields, "%s %s: uid=%u pid=%u sender=%s pf=%s device=%s lease=%s.", event, outcome,
                   (unsigned) c->uid, (unsigned) c->pid, c->sender ?: "-", pf ?: "-", device ?: "-", lease_text);
}

int bus_reply_error(sd_bus_message *call, const char *name, const char *fmt, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        char buf[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        (void) sd_bus_error_set(&e, name, buf);
        return sd_bus_reply_method_error(call, &e);
}
