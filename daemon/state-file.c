/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the state directory and the I/O of each PF's state file in it: opening (and securing) the
 * directory, atomic replacement, loading, removing, and setting aside a damaged file. What the
 * file says is state-format.c's.
 *
 * The file holds a secret, so it is never read or written through stdio (whose buffers we could
 * not wipe) and the buffer that held its text is wiped by its cleanup. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "io-util.h"
#include "macro.h"
#include "pci-address.h"
#include "state-file.h"
#include "string-util.h"

#define STATE_NAME_MAX 64
/* Temp files are ".#<state file name><16 hex digits>"; anything starting so is a leftover. */
#define STATE_TEMP_PREFIX ".#pf-"

void state_file_name(const char *address, char *buf, size_t size) {
        char escaped[PCI_ADDRESS_MAX];

        pci_address_escape(address, escaped);
        (void) snprintf(buf, size, "pf-%s.state", escaped);
}

/* The canonical form of `address` and its state file's name; -EINVAL for a malformed address. */
static int state_file_name_checked(const char *address, char canonical[static PCI_ADDRESS_MAX],
                                   char name[static STATE_NAME_MAX]) {
        int r;

        r = pci_address_parse(address, canonical);
        if (r < 0)
                return r;
        state_file_name(canonical, name, STATE_NAME_MAX);
        return 0;
}

/* ---- Writing ---------------------------------------------------------------------------- */

static void temp_name(const char *name, char *buf, size_t size) {
        static uint64_t counter;
        uint64_t r;

        /* Uniqueness is what O_EXCL enforces; randomness only makes a clash unlikely. */
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t) sizeof r)
                r = ((uint64_t) getpid() << 32) ^ (uint64_t) time(NULL) ^ ++counter;
        (void) snprintf(buf, size, ".#%s%016" PRIx64, name, r);
}

/* Replaces dir_fd/name with the text: temp file (0600), fsync, rename, fsync of the directory.
 * A reader sees the old file or the new one, never a mix. If the directory fsync fails the
 * rename may or may not survive a power cut; either file is a state we can recover from. */
static int write_atomic_data(int dir_fd, const char *name, const void *data, size_t len, bool durable) {
        char tmp[STATE_NAME_MAX + 24];
        _cleanup_close_ int fd = -1;
        int r;

        for (unsigned attempt = 0; fd < 0; attempt++) {
                temp_name(name, tmp, sizeof tmp);
                fd = openat(dir_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                            0600);
                if (fd < 0 && (errno != EEXIST || attempt >= 16))
                        return negative_errno();
        }

        /* The umask may only have removed bits; make the mode exactly what we promise. */
        if (fchmod(fd, 0600) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = loop_write(fd, data, len);
        if (r < 0)
                goto fail;
        if (durable && fsync(fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = close(TAKE_FD(fd));
        if (r < 0) {
                r = negative_errno();
                goto fail;
        }
        if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (durable && fsync(dir_fd) < 0)
                return negative_errno();
        return 0;

fail:
        (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

static int write_atomic(int dir_fd, const char *name, const StateText *t) {
        return write_atomic_data(dir_fd, name, t->s, t->len, true);
}

int state_dir_write_file(int dir_fd, const char *name, const void *data, size_t len, bool durable) {
        if (dir_fd < 0 || !name || strlen(name) >= STATE_NAME_MAX || strchr(name, '/') || name[0] == '.')
                return -EINVAL;
        return write_atomic_data(dir_fd, name, data, len, durable);
}

int state_dir_read_file(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;

        if (dir_fd < 0 || !name || strchr(name, '/') || !ret || !ret_len)
                return -EINVAL;
        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        n = loop_read(fd, buf, max + 1);
        if (n < 0)
                return (int) n;
        if ((size_t) n > max)
                return -EFBIG;
        buf[n] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = (size_t) n;
        return 0;
}

int state_save(int dir_fd, const char *address, const PfState *s) {
        _cleanup_state_text_ StateText t;
        char canonical[PCI_ADDRESS_MAX], name[STATE_NAME_MAX];
        int r;

        if (dir_fd < 0 || !s)
                return -EINVAL;
        r = state_file_name_checked(address, canonical, name);
        if (r < 0)
                return r;
        /* Refuses a state that breaks the invariants: never write what state_load() would refuse. */
        r = state_serialize(canonical, s, &t);
        if (r < 0)
                return r;
        return write_atomic(dir_fd, name, &t);
}

/* ---- Reading ---------------------------------------------------------------------------- */

int state_load(int dir_fd, const char *address, PfState **ret) {
        _cleanup_state_text_ StateText t;
        char canonical[PCI_ADDRESS_MAX], name[STATE_NAME_MAX];
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;
        int r;

        if (dir_fd < 0 || !ret)
                return -EINVAL;
        r = state_file_name_checked(address, canonical, name);
        if (r < 0)
                return r;

        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;

        /* Bounded: one byte more than the largest valid file tells state_parse() it is too long. */
        n = loop_read(fd, t.s, sizeof t.s);
        if (n < 0)
                return (int) n;
        t.len = (size_t) n;

        return state_parse(t.s, t.len, canonical, ret);
}

/* Removes the PF's state file, or renames it to its name plus `suffix` when that is not NULL;
 * either way the change of the directory is made durable. 1 if there was a file. */
static int state_unlink_or_rename(int dir_fd, const char *address, const char *suffix) {
        char canonical[PCI_ADDRESS_MAX], name[STATE_NAME_MAX], aside[STATE_NAME_MAX + 16];
        int r;

        if (dir_fd < 0)
                return -EINVAL;
        r = state_file_name_checked(address, canonical, name);
        if (r < 0)
                return r;

        if (suffix) {
                (void) snprintf(aside, sizeof aside, "%s%s", name, suffix);
                r = renameat(dir_fd, name, dir_fd, aside);
        } else
                r = unlinkat(dir_fd, name, 0);
        if (r < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (fsync(dir_fd) < 0)
                return negative_errno();
        return 1;
}

int state_remove(int dir_fd, const char *address) {
        return state_unlink_or_rename(dir_fd, address, NULL);
}

int state_set_aside(int dir_fd, const char *address) {
        /* Replaces an older damaged copy: the newest damage is the one worth looking at. */
        return state_unlink_or_rename(dir_fd, address, ".damaged");
}

/* ---- The directory ---------------------------------------------------------------------- */

static int mkdir_parents_and_self(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;

        p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *slash = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* Temp files are never the record (only the rename makes them so), so removing leftovers of an
 * interrupted write loses nothing. Best effort: they are ignored by state_load() anyway. */
static void remove_stale_temp_files(int dir_fd) {
        DIR *d;
        int fd;

        fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (strncmp(de->d_name, STATE_TEMP_PREFIX, STRLEN(STATE_TEMP_PREFIX)) == 0)
                        (void) unlinkat(dir_fd, de->d_name, 0);
        closedir(d);
}

int state_dir_open(const char *path, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (!path || !*path || !ret_fd)
                return -EINVAL;

        r = mkdir_parents_and_self(path, 0700);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* Tokens live here: nobody but us may look in or drop files in. */
        if (st.st_uid != geteuid() || (st.st_mode & 0077) != 0)
                return -EPERM;

        remove_stale_temp_files(fd);
        *ret_fd = TAKE_FD(fd);
        return 0;
}
