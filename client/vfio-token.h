/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_TOKEN_H
#define VFIO_TOKEN_H

/* libvfio-token: get the VF token of a vfio-pci PF from vfio-tokend over D-Bus.
 *
 *   #include <vfio-token.h>          (pkg-config --cflags --libs vfio-token)
 *
 *   char token[VFIO_TOKEN_STRING_MAX];
 *   VfioTokenLease *lease = NULL;
 *   int r = vfio_token_acquire(NULL, "0000:3b:02.3", 0, NULL, &lease, token);
 *   if (r < 0) ... -r is an errno, see below ...
 *   ... open "0000:3b:02.3 vf_token=<token>", then: explicit_bzero(token, sizeof(token));
 *   vfio_token_release(lease, NULL);
 *
 * The token is a secret: it opens every VF of the PF. The library never logs it and wipes its
 * own copies (the reply message is marked sensitive); the caller wipes ret_token when done.
 *
 * A grant comes with a lease, which the daemon ties to the caller's bus connection (its unique
 * name): it ends when released or when that connection closes. The token itself keeps working
 * after the lease ends, until the PF's token is rotated; leases tell the daemon (and admins)
 * who depends on the current token, and a PF configured with RotateWhenIdle rotates when its
 * last lease ends. So keep the lease (and its connection) for as long as the device is in use.
 *
 * All calls are synchronous. A lease object, and the bus it refers to, must be used from one
 * thread at a time, as with any sd_bus. The library does not install signal handlers or
 * register anything process-wide.
 *
 * Errors: functions return 0 on success or a negative errno-style code. When the daemon (or
 * the bus) answered with a D-Bus error, the optional `error` argument receives its name and
 * message (free it with sd_bus_error_free()), and the code follows this table:
 *
 *   org.freedesktop.DBus.Error.AccessDenied                       -EACCES   polkit said no
 *   org.freedesktop.DBus.Error.InteractiveAuthorizationRequired   -EACCES   authentication would
 *                        be needed: retry with VFIO_TOKEN_ALLOW_INTERACTIVE (tell the two apart with
 *                        sd_bus_error_has_name(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
 *   org.freedesktop.DBus.Error.InvalidArgs                        -EINVAL   malformed address
 *   org.vfio.Tokend1.Error.NoSuchDevice                           -ENODEV   not a managed PF or VF
 *   org.vfio.Tokend1.Error.Busy                                   -EBUSY
 *   org.vfio.Tokend1.Error.DeviceGone                             -ENXIO
 *   org.vfio.Tokend1.Error.NotSupported                           -EOPNOTSUPP
 *   org.vfio.Tokend1.Error.AuthorizationUnavailable               -EAGAIN   polkit could not be asked
 *   org.freedesktop.DBus.Error.LimitsExceeded                     -EUSERS   a quota of the caller
 *   org.freedesktop.DBus.Error.ServiceUnknown, .NameHasNoOwner    -EHOSTUNREACH  daemon not running
 *   org.freedesktop.DBus.Error.UnknownObject                      -ENOENT   e.g. a lease already gone
 *   org.freedesktop.DBus.Error.NoReply, .Timeout                  -ETIMEDOUT
 *   org.freedesktop.DBus.Error.Failed                             -EIO      the daemon failed
 *   anything else                                                 sd_bus_error_get_errno()'s mapping
 *
 * Failures to reach the bus at all come straight from sd-bus (e.g. -ENOENT, -ECONNREFUSED,
 * -EACCES from connecting) with `error` left unset; -EBADMSG means the daemon's reply did not
 * have the documented shape. */

#include <systemd/sd-bus.h>

#include <vfio-token-names.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 36 characters of canonical lower-case UUID text plus the terminating NUL. */
#define VFIO_TOKEN_STRING_MAX 37

enum {
        /* Let polkit ask the user to authenticate (through a polkit agent) instead of refusing
         * with InteractiveAuthorizationRequired. */
        VFIO_TOKEN_ALLOW_INTERACTIVE = 1u << 0,
};

typedef struct VfioTokenLease VfioTokenLease;

/* Asks the daemon for the token of the PF that `device` (a VF, or the PF itself, as
 * "DDDD:BB:DD.F") belongs to, with AcquireToken on the manager object.
 *
 * bus: a connected bus to use, or NULL to open a new connection to the system bus (honouring
 *      DBUS_SYSTEM_BUS_ADDRESS); the lease then owns that connection, and freeing the lease
 *      closes it. A bus passed in is referenced by the lease, so it stays open while the lease
 *      exists.
 * error: optional, receives the D-Bus error on failure.
 * ret_lease: receives the lease. May be NULL only if bus is not NULL: the lease then lives as
 *      long as that connection.
 * ret_token: receives the NUL-terminated token text; written only on success. Wipe it
 *      (explicit_bzero) when done. */
int vfio_token_acquire(sd_bus *bus, const char *device, unsigned flags, sd_bus_error *error,
                       VfioTokenLease **ret_lease, char ret_token[VFIO_TOKEN_STRING_MAX]);

/* Ends the lease with Release() and frees it (also when the call fails; a lease the library
 * opened the connection for then ends anyway as the connection closes). Accepts NULL. */
int vfio_token_release(VfioTokenLease *lease, sd_bus_error *error);

/* Frees the lease object without calling Release(): the daemon keeps the lease until its owner's
 * connection closes. If the library opened that connection, this closes it, so the lease ends
 * now. Accepts NULL; returns NULL. */
VfioTokenLease *vfio_token_lease_free(VfioTokenLease *lease);

/* The lease's D-Bus object path ("/org/vfio/Tokend1/lease/<n>"), owned by the lease. */
const char *vfio_token_lease_path(const VfioTokenLease *lease);

/* The connection the lease belongs to (not a new reference). */
sd_bus *vfio_token_lease_bus(const VfioTokenLease *lease);

/* The negative errno for a D-Bus error, per the table above. A non-set error gives -EIO. */
int vfio_token_error_to_errno(const sd_bus_error *error);

#ifdef __cplusplus
}
#endif

#endif /* VFIO_TOKEN_H */
