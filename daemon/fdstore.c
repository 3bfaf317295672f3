/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the daemon's use of systemd's file descriptor store: the names PF fds are stored under,
 * handing them over (FDSTORE=1), asking for them to be dropped (FDSTOREREMOVE=1), and taking
 * them back at start.
 *
 * Names are "pf-<address with ':' as '_'>-<kind>": -container, -group, -device for the group
 * API; -iommufd and -cdev for the cdev API. The kind names of the two APIs differ, so the
 * names alone say which API a stored set belongs to. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "fd-util.h"
#include "fdstore.h"
#include "macro.h"
#include "pci-address.h"
#include "string-util.h"
#include "strv.h"

#define FDSTORE_NAME_MAX 64

typedef struct FdStoreEntry {
        char *name;
        int fd; /* -1 once taken */
} FdStoreEntry;

struct FdStore {
        FdStoreEntry *entries;
        size_t n_entries;
};

/* The name suffix of each fd kind per API; NULL where the API has no such fd. */
static const char *const kind_suffix[_VFIO_API_MAX][_VFIO_FD_MAX] = {
        [VFIO_API_GROUP] = {
                [VFIO_FD_CONTAINER] = "container",
                [VFIO_FD_GROUP] = "group",
                [VFIO_FD_DEVICE] = "device",
        },
        [VFIO_API_CDEV] = {
                [VFIO_FD_CONTAINER] = "iommufd",
                [VFIO_FD_GROUP] = NULL,
                [VFIO_FD_DEVICE] = "cdev",
        },
};

static const char *suffix_of(VfioApi api, VfioFdKind kind) {
        if ((unsigned) api >= _VFIO_API_MAX || (unsigned) kind >= _VFIO_FD_MAX)
                return NULL;
        return kind_suffix[api][kind];
}

void fdstore_name(const char *address, VfioApi api, VfioFdKind kind, char *buf, size_t size) {
        char escaped[PCI_ADDRESS_MAX];
        const char *suffix;

        if (size == 0)
                return;
        suffix = suffix_of(api, kind);
        if (!suffix) {
                /* A kind this API does not have: no name, so nothing can match it. */
                buf[0] = '\0';
                return;
        }
        pci_address_escape(address, escaped);
        (void) snprintf(buf, size, "pf-%s-%s", escaped, suffix);
}

/* ---- Taking fds back -------------------------------------------------------------------- */

FdStore *fdstore_free(FdStore *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++) {
                safe_close(s->entries[i].fd);
                free(s->entries[i].name);
        }
        free(s->entries);
        return mfree(s);
}

static void close_listen_fds(int n) {
        for (int i = 0; i < n; i++)
                safe_close(SD_LISTEN_FDS_START + i);
}

int fdstore_collect(FdStore **ret) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_(fdstore_freep) FdStore *s = NULL;
        int n;

        if (!ret)
                return -EINVAL;

        /* The environment is left in place until the names are known to match the fds: on a
         * mismatch sd_listen_fds_with_names() fails after it would already have unset it, and we
         * would no longer know how many fds we own. */
        n = sd_listen_fds_with_names(false, &names);
        if (n < 0) {
                int m = sd_listen_fds(true);

                if (m > 0)
                        close_listen_fds(m);
                return n;
        }
        (void) unsetenv("LISTEN_PID");
        (void) unsetenv("LISTEN_FDS");
        (void) unsetenv("LISTEN_FDNAMES");

        s = calloc(1, sizeof(FdStore));
        if (!s) {
                close_listen_fds(n);
                return -ENOMEM;
        }
        if (n > 0) {
                s->entries = calloc((size_t) n, sizeof(FdStoreEntry));
                if (!s->entries) {
                        close_listen_fds(n);
                        return -ENOMEM;
                }
        }
        /* From here on the store owns each fd as soon as it is recorded; the rest are closed if
         * we give up half way. systemd keeps its own copies, so closing ours loses nothing. */
        for (int i = 0; i < n; i++) {
                int fd = SD_LISTEN_FDS_START + i, flags;

                s->entries[i].fd = fd;
                s->n_entries++;
                s->entries[i].name = strdup(names[i]);
                if (!s->entries[i].name) {
                        for (int j = i + 1; j < n; j++)
                                safe_close(SD_LISTEN_FDS_START + j);
                        return -ENOMEM;
                }
                /* sd_listen_fds() does this too; we do not rely on it: these fds hold PFs and must
                 * never leak into anything we run. */
                flags = fcntl(fd, F_GETFD);
                if (flags >= 0 && !(flags & FD_CLOEXEC))
                        (void) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }

        *ret = TAKE_PTR(s);
        return 0;
}

/* Which kind of which API `name` is for PF `escaped`; false if it is none of them. */
static bool name_match(const char *name, const char *escaped, VfioApi *ret_api, VfioFdKind *ret_kind) {
        size_t l = strlen(escaped);
        const char *suffix;

        if (strncmp(name, "pf-", 3) != 0 || strncmp(name + 3, escaped, l) != 0 || name[3 + l] != '-')
                return false;
        suffix = name + 3 + l + 1;
        for (VfioApi api = 0; api < _VFIO_API_MAX; api++)
                for (VfioFdKind kind = 0; kind < _VFIO_FD_MAX; kind++)
                        if (streq_ptr(kind_suffix[api][kind], suffix)) {
                                *ret_api = api;
                                *ret_kind = kind;
                                return true;
                        }
        return false;
}

int fdstore_take(FdStore *s, const char *address, int ret_fds[static _VFIO_FD_MAX]) {
        char canonical[PCI_ADDRESS_MAX], escaped[PCI_ADDRESS_MAX];
        FdStoreEntry *found[_VFIO_API_MAX][_VFIO_FD_MAX] = {};
        bool any = false, bad = false;
        int api = -1, r;

        if (!s)
                return -ENOENT;
        r = pci_address_parse(address, canonical);
        if (r < 0)
                return r;
        pci_address_escape(canonical, escaped);

        for (size_t i = 0; i < s->n_entries; i++) {
                FdStoreEntry *e = s->entries + i;
                VfioFdKind k;
                VfioApi a;

                if (e->fd < 0 || !name_match(e->name, escaped, &a, &k))
                        continue;
                /* Two fds under one name, or fds of both APIs: not a set we can trust. */
                if (found[a][k] || (api >= 0 && api != (int) a))
                        bad = true;
                found[a][k] = e;
                api = (int) a;
                any = true;
        }
        if (!any)
                return -ENOENT;

        if (!bad)
                for (VfioFdKind k = 0; k < _VFIO_FD_MAX; k++)
                        if (kind_suffix[api][k] && !found[api][k])
                                bad = true;

        if (bad) {
                /* Close every fd of this PF, so none lingers half-used; the caller reopens. */
                for (size_t i = 0; i < s->n_entries; i++) {
                        FdStoreEntry *e = s->entries + i;
                        VfioFdKind k;
                        VfioApi a;

                        if (e->fd >= 0 && name_match(e->name, escaped, &a, &k))
                                e->fd = safe_close(e->fd);
                }
                return -EBADMSG;
        }

        for (VfioFdKind k = 0; k < _VFIO_FD_MAX; k++)
                ret_fds[k] = found[api][k] ? TAKE_FD(found[api][k]->fd) : -1;
        return api;
}

char **fdstore_leftover_names(const FdStore *s) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;

        l = calloc((s ? s->n_entries : 0) + 1, sizeof(char *));
        if (!l)
                return NULL;
        for (size_t i = 0; s && i < s->n_entries; i++) {
                if (s->entries[i].fd < 0)
                        continue;
                l[n] = strdup(s->entries[i].name);
                if (!l[n])
                        return NULL;
                n++;
        }
        return TAKE_PTR(l);
}

/* ---- Handing fds over ------------------------------------------------------------------- */

static bool have_notify_socket(void) {
        const char *e = getenv("NOTIFY_SOCKET");

        return e && *e;
}

static int notify_name(const char *field, const char *name, const int *fd) {
        char msg[STRLEN("FDSTOREREMOVE=1\nFDNAME=") + FDSTORE_NAME_MAX];

        (void) snprintf(msg, sizeof msg, "%s=1\nFDNAME=%s", field, name);
        return sd_pid_notify_with_fds(0, false, msg, fd, fd ? 1 : 0);
}

int fdstore_remove(const char *address) {
        char canonical[PCI_ADDRESS_MAX], name[FDSTORE_NAME_MAX];
        int r, sent = 0;

        r = pci_address_parse(address, canonical);
        if (r < 0)
                return r;
        if (!have_notify_socket())
                return 0;

        /* Every name this PF could have under either API: we may not know which was stored. */
        for (VfioApi api = 0; api < _VFIO_API_MAX; api++)
                for (VfioFdKind kind = 0; kind < _VFIO_FD_MAX; kind++) {
                        if (!suffix_of(api, kind))
                                continue;
                        fdstore_name(canonical, api, kind, name, sizeof name);
                        r = notify_name("FDSTOREREMOVE", name, NULL);
                        if (r < 0)
                                return r;
                        sent += r > 0;
                }
        return sent;
}

int fdstore_remove_name(const char *name) {
        if (!have_notify_socket())
                return 0;
        return notify_name("FDSTOREREMOVE", name, NULL);
}

int fdstore_push_fds(const char *address, VfioApi api, const int fds[static _VFIO_FD_MAX]) {
        char canonical[PCI_ADDRESS_MAX], name[FDSTORE_NAME_MAX];
        int r, sent = 0;

        r = pci_address_parse(address, canonical);
        if (r < 0)
                return r;
        if ((unsigned) api >= _VFIO_API_MAX)
                return -EINVAL;
        /* Exactly the API's set, or a restart would find a set fdstore_take() rejects. */
        for (VfioFdKind kind = 0; kind < _VFIO_FD_MAX; kind++)
                if (!suffix_of(api, kind) != (fds[kind] < 0))
                        return -EINVAL;
        if (!have_notify_socket())
                return 0;

        /* FDNAME= names every fd of a message, so each fd goes in a message of its own. */
        for (VfioFdKind kind = 0; kind < _VFIO_FD_MAX; kind++) {
                if (fds[kind] < 0)
                        continue;
                fdstore_name(canonical, api, kind, name, sizeof name);
                r = notify_name("FDSTORE", name, &fds[kind]);
                if (r < 0) {
                        /* Do not leave a partial set behind for the next start to trip over. */
                        if (sent > 0)
                                (void) fdstore_remove(canonical);
                        return r;
                }
                sent += r > 0;
        }
        return sent;
}

int fdstore_push(const char *address, const VfioPf *pf) {
        int fds[_VFIO_FD_MAX];

        if (!pf)
                return -EINVAL;
        for (VfioFdKind kind = 0; kind < _VFIO_FD_MAX; kind++)
                fds[kind] = vfio_pf_fd(pf, kind);
        return fdstore_push_fds(address, vfio_pf_api(pf), fds);
}
