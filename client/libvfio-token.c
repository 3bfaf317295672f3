/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The client library: AcquireToken and Release over sd-bus, and the mapping of the daemon's
 * D-Bus errors to errno codes. It is linked into other people's programs, so it never logs,
 * never touches process-wide state (no sd_bus_error_add_map(), no signal handlers) and
 * never keeps a copy of a token it does not wipe. */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "macro.h"
#include "vfio-token.h"

struct VfioTokenLease {
        sd_bus *bus;
        bool owns_bus; /* opened by vfio_token_acquire(): closed when the lease is freed */
        char *path;
};

static const struct {
        const char *name;
        int code;
} error_map[] = {
        { SD_BUS_ERROR_ACCESS_DENIED, EACCES },
        { SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED, EACCES },
        { SD_BUS_ERROR_INVALID_ARGS, EINVAL },
        { VFIO_TOKEN_ERROR_NO_SUCH_DEVICE, ENODEV },
        { VFIO_TOKEN_ERROR_BUSY, EBUSY },
        { VFIO_TOKEN_ERROR_DEVICE_GONE, ENXIO },
        { VFIO_TOKEN_ERROR_NOT_SUPPORTED, EOPNOTSUPP },
        /* Not a refusal: the same request may succeed later. */
        { VFIO_TOKEN_ERROR_AUTHORIZATION_UNAVAILABLE, EAGAIN },
        /* sd-bus would say ENOBUFS, which reads as a local shortage. */
        { SD_BUS_ERROR_LIMITS_EXCEEDED, EUSERS },
        /* sd-bus would say EACCES, which here means that polkit said no. */
        { SD_BUS_ERROR_FAILED, EIO },
        /* sd-bus maps NameHasNoOwner to ENXIO, which here already means DeviceGone. */
        { SD_BUS_ERROR_SERVICE_UNKNOWN, EHOSTUNREACH },
        { SD_BUS_ERROR_NAME_HAS_NO_OWNER, EHOSTUNREACH },
        { SD_BUS_ERROR_UNKNOWN_OBJECT, ENOENT },
        { SD_BUS_ERROR_NO_REPLY, ETIMEDOUT },
        { SD_BUS_ERROR_TIMEOUT, ETIMEDOUT },
};

int vfio_token_error_to_errno(const sd_bus_error *error) {
        int r;

        if (!sd_bus_error_is_set(error))
                return -EIO;

        for (size_t i = 0; i < ELEMENTSOF(error_map); i++)
                if (sd_bus_error_has_name(error, error_map[i].name))
                        return -error_map[i].code;

        r = sd_bus_error_get_errno(error);
        return r > 0 ? -r : -EIO;
}

/* Turns the result of a failed call into the return code, handing the D-Bus error (if there is
 * one) to the caller's optional `error`. */
static int call_failed(int r, sd_bus_error *e, sd_bus_error *error) {
        if (!sd_bus_error_is_set(e))
                return r;

        r = vfio_token_error_to_errno(e);
        if (error)
                (void) sd_bus_error_move(error, e);
        return r;
}

VfioTokenLease *vfio_token_lease_free(VfioTokenLease *lease) {
        if (!lease)
                return NULL;

        if (lease->owns_bus)
                sd_bus_flush_close_unref(lease->bus);
        else
                sd_bus_unref(lease->bus);
        free(lease->path);
        return mfree(lease);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(VfioTokenLease *, vfio_token_lease_free);

const char *vfio_token_lease_path(const VfioTokenLease *lease) {
        return lease ? lease->path : NULL;
}

sd_bus *vfio_token_lease_bus(const VfioTokenLease *lease) {
        return lease ? lease->bus : NULL;
}

int vfio_token_acquire(sd_bus *bus, const char *device, unsigned flags, sd_bus_error *error,
                       VfioTokenLease **ret_lease, char ret_token[VFIO_TOKEN_STRING_MAX]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *own_bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(vfio_token_lease_freep) VfioTokenLease *lease = NULL;
        bool interactive = flags & VFIO_TOKEN_ALLOW_INTERACTIVE;
        const char *token, *path;
        int r;

        if (!device || !ret_token || (flags & ~(unsigned) VFIO_TOKEN_ALLOW_INTERACTIVE))
                return -EINVAL;
        /* A lease nobody holds on a connection nobody holds would end at once. */
        if (!bus && !ret_lease)
                return -EINVAL;

        if (!bus) {
                r = sd_bus_open_system(&own_bus);
                if (r < 0)
                        return r;
                bus = own_bus;
        }

        r = sd_bus_message_new_method_call(bus, &m, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                                           VFIO_TOKEN_MANAGER_INTERFACE, "AcquireToken");
        if (r < 0)
                return r;
        r = sd_bus_message_set_allow_interactive_authorization(m, interactive);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sa{sv}", device, 0);
        if (r < 0)
                return r;

        r = sd_bus_call(bus, m,
                        interactive ? VFIO_TOKEN_INTERACTIVE_TIMEOUT_USEC : VFIO_TOKEN_CALL_TIMEOUT_USEC,
                        &e, &reply);
        if (r < 0)
                return call_failed(r, &e, error);

        /* Wipe the reply's buffers when it is freed: they hold the token. */
        (void) sd_bus_message_sensitive(reply);

        r = sd_bus_message_read(reply, "so", &token, &path);
        if (r < 0)
                return -EBADMSG;
        if (strlen(token) != VFIO_TOKEN_STRING_MAX - 1)
                return -EBADMSG;

        lease = calloc(1, sizeof(*lease));
        if (!lease)
                return -ENOMEM;
        lease->path = strdup(path);
        if (!lease->path)
                return -ENOMEM;
        if (own_bus) {
                lease->bus = TAKE_PTR(own_bus);
                lease->owns_bus = true;
        } else
                lease->bus = sd_bus_ref(bus);

        memcpy(ret_token, token, VFIO_TOKEN_STRING_MAX);
        if (ret_lease)
                *ret_lease = TAKE_PTR(lease);
        return 0;
}

int vfio_token_release(VfioTokenLease *lease, sd_bus_error *error) {
        _cleanup_(vfio_token_lease_freep) VfioTokenLease *l = lease;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        if (!l)
                return 0;

        r = sd_bus_call_method(l->bus, VFIO_TOKEN_BUS_NAME, l->path, VFIO_TOKEN_LEASE_INTERFACE, "Release",
                               &e, NULL, NULL);
        if (r < 0)
                return call_failed(r, &e, error);
        return 0;
}
