/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the kernel boundary: the system calls daemon/vfio.c's open/adopt/probe/set sequence
 * is written against. vfio.c implements them on the kernel and uses that table unless told
 * otherwise; the kernel model (tests/model/vfio-model.c) installs its own, so that tests and
 * tests/vfio-tokend-model run the daemon's one sequence. Not part of vfio.h: nothing in the daemon
 * may replace the kernel. */

typedef struct VfioSyscalls {
        /* open(path, O_RDWR|O_CLOEXEC|O_NOCTTY) of a /dev/vfio node: a new fd, or -errno. */
        int (*open_node)(const char *path);
        /* fstat(fd) and S_ISCHR(): > 0 for a character device, 0 for anything else, or -errno. */
        int (*fstat_is_chr)(int fd);
        /* ioctl(fd, request, arg), with the VFIO requests' value arguments (VFIO_CHECK_EXTENSION,
         * VFIO_SET_IOMMU) passed as (void *) (uintptr_t) value: the result (>= 0), or -errno. */
        int (*ioctl)(int fd, unsigned long request, void *arg);
} VfioSyscalls;

/* Replaces the table the sequence calls (NULL: the kernel's). The table must outlive its use. */
void vfio_set_syscalls(const VfioSyscalls *s);
/* The table in use (tests wrap it to inject failures). */
const VfioSyscalls *vfio_get_syscalls(void);
