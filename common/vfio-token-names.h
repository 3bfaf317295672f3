/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_TOKEN_NAMES_H
#define VFIO_TOKEN_NAMES_H

/* The names of vfio-tokend's D-Bus API (org.vfio.Tokend1(5)), in one place for the daemon, the
 * client library, vfio-tokenctl and the benchmark. Installed beside <vfio-token.h>, which
 * includes it. Object paths below the prefixes are made by the daemon with sd_bus_path_encode();
 * clients never build them, they ask GetPhysicalFunction or take them from replies. */

#define VFIO_TOKEN_BUS_NAME "org.vfio.Tokend1"
#define VFIO_TOKEN_MANAGER_PATH "/org/vfio/Tokend1"
#define VFIO_TOKEN_PF_PATH_PREFIX "/org/vfio/Tokend1/pf"
#define VFIO_TOKEN_LEASE_PATH_PREFIX "/org/vfio/Tokend1/lease"

#define VFIO_TOKEN_MANAGER_INTERFACE "org.vfio.Tokend1.Manager"
#define VFIO_TOKEN_PF_INTERFACE "org.vfio.Tokend1.PhysicalFunction"
#define VFIO_TOKEN_LEASE_INTERFACE "org.vfio.Tokend1.Lease"

#define VFIO_TOKEN_ERROR_NO_SUCH_DEVICE "org.vfio.Tokend1.Error.NoSuchDevice"
#define VFIO_TOKEN_ERROR_NOT_SUPPORTED "org.vfio.Tokend1.Error.NotSupported"
#define VFIO_TOKEN_ERROR_BUSY "org.vfio.Tokend1.Error.Busy"
#define VFIO_TOKEN_ERROR_DEVICE_GONE "org.vfio.Tokend1.Error.DeviceGone"
/* polkit could not be asked (unreachable, timed out, over its limits): not a refusal. */
#define VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE "org.vfio.Tokend1.Error.AuthorizationUnavailable"

/* The polkit actions (polkit/org.vfio.tokend.policy). */
#define VFIO_TOKEN_ACTION_ACQUIRE "org.vfio.tokend.acquire-token"
#define VFIO_TOKEN_ACTION_ROTATE "org.vfio.tokend.rotate-token"

/* How long the daemon waits for polkit to answer one non-interactive check before it answers
 * AuthorizationUnavailable (and cancels the check). polkit 122 can stall a check for 15 s
 * before answering correctly. Clients wait VFIO_TOKEN_CALL_TIMEOUT_USEC, a little longer, so
 * that they always see the daemon's answer rather than a timeout of their own. */
#define VFIO_TOKEN_AUTH_TIMEOUT_USEC (25ULL * 1000000ULL)
#define VFIO_TOKEN_CALL_TIMEOUT_USEC (30ULL * 1000000ULL)
/* The same for a check the caller allowed to be interactive: a human types a password. */
#define VFIO_TOKEN_INTERACTIVE_AUTH_TIMEOUT_USEC (290ULL * 1000000ULL)
#define VFIO_TOKEN_INTERACTIVE_TIMEOUT_USEC (300ULL * 1000000ULL)

#endif /* VFIO_TOKEN_NAMES_H */
