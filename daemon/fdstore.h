/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* systemd's file descriptor store: each PF's fds are handed to the service manager with
 * FDSTORE=1 and an FDNAME that encodes the address (':' is not allowed in names:
 * "pf-0000_3b_00.0-group"), and taken back at start from sd_listen_fds_with_names(), so a
 * restart never reopens (and so never resets) a PF. Without NOTIFY_SOCKET this is a no-op. */

#include <stdbool.h>

#include "macro.h"
#include "vfio.h"

typedef struct FdStore FdStore;

/* Collects the fds systemd passed us (LISTEN_FDS/LISTEN_FDNAMES), taking ownership. An empty
 * store if there are none. Unset the LISTEN_* variables. */
int fdstore_collect(FdStore **ret);
FdStore *fdstore_free(FdStore *s); /* closes any fds nobody took */
DEFINE_TRIVIAL_CLEANUP_FUNC(FdStore *, fdstore_free);

/* Takes the fds stored for PF `address` out of the store (caller owns them; unused kinds are -1).
 * Returns the API they belong to, or -ENOENT if none were stored for this PF, -EBADMSG if only
 * some were, or a name twice, or names of both APIs (our copies are closed; the service manager
 * still holds its own, so the caller should fdstore_remove() before reopening the PF). */
int fdstore_take(FdStore *s, const char *address, int ret_fds[static _VFIO_FD_MAX]);
/* Names of fds nobody has taken (for a warning); NULL-terminated, caller frees. */
char **fdstore_leftover_names(const FdStore *s);

/* Hands the fds of an open PF to the service manager (no-op without NOTIFY_SOCKET; returns 0
 * then, > 0 if sent). */
int fdstore_push(const char *address, const VfioPf *pf);
/* The same for a set of fds of `api`, indexed by VfioFdKind (-1 for kinds the API has none of;
 * -EINVAL unless exactly the API's kinds are given). One message per fd, as FDNAME= names all
 * fds of a message. If one fails, the ones already sent are asked back (FDSTOREREMOVE). */
int fdstore_push_fds(const char *address, VfioApi api, const int fds[static _VFIO_FD_MAX]);
/* Asks the service manager to drop this PF's fds (FDSTOREREMOVE=1), e.g. when it is removed
 * from the config. */
int fdstore_remove(const char *address);
/* The same for one fd by its name (e.g. one left over from a PF no longer configured). */
int fdstore_remove_name(const char *name);

/* "pf-0000_3b_00.0-group": fd-store name of an fd of a PF. Group API: -container, -group,
 * -device; cdev API: -iommufd (VFIO_FD_CONTAINER), -cdev (VFIO_FD_DEVICE). An empty string for
 * a kind the API does not have. */
void fdstore_name(const char *address, VfioApi api, VfioFdKind kind, char *buf, size_t size);
