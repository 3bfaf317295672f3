/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the bus-*.c files: the journey of an AcquireToken, Rotate or Retry call once its
 * arguments and device are checked: identification, quotas, polkit (root is let through), the
 * manager's answer, and the one reply every call gets. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

typedef struct BusFace BusFace;

typedef enum RequestKind {
        REQUEST_ACQUIRE,
        REQUEST_ROTATE,
        REQUEST_RETRY, /* authorised like Rotate */
} RequestKind;

/* Returns what a method handler returns (1: the reply comes later). */
int bus_request_start(BusFace *f, sd_bus_message *call, RequestKind kind, const char *pf, const char *device,
                      bool force, sd_bus_error *error);
