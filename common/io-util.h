/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one read loop and the one write loop of the project: EINTR retried, short transfers
 * continued. Library-like: they never log. */

#include <stddef.h>
#include <sys/types.h>

/* Writes all n bytes. 0, or -errno (-EIO if the fd takes nothing). */
int loop_write(int fd, const void *buf, size_t n);

/* Reads until end of file or until n bytes are in buf. Returns the number of bytes read, or
 * -errno. A return of n means the input may go on: callers that bound their input read one
 * byte more than the largest valid input and treat n as "too long". */
ssize_t loop_read(int fd, void *buf, size_t n);
