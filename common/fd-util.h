/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* File descriptors: closing that keeps errno, cleanup, ownership transfer, and -errno of the
 * last failed libc call. */

#include <errno.h>
#include <unistd.h>

/* Returns -errno of the last failed libc call, never 0 (a libc bug must not read as success). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -1;
}

static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ __attribute__((cleanup(closep)))

/* Hands ownership of an fd to the caller: the cleanup attribute then sees -1. */
#define TAKE_FD(fd)                             \
        ({                                      \
                int _fd_ = (fd);                \
                (fd) = -1;                      \
                _fd_;                           \
        })
