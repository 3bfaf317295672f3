/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the pieces of the fixture share, and nothing a test uses (tests include fixture.h): the
 * Fixture itself, the fixed names in its tree, and each piece's helpers for the others (test-util.c
 * also hands two of the file helpers on to the tests). Like the public functions, these return 0
 * or -errno (or NULL when out of memory) and never log. */

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

#include "fixture.h"
#include "macro.h"
#include "pci-address.h"

#define VFIO_PCI_DRIVER "vfio-pci"
#define DEVICES_DIR "devices/pci0000:00" /* under sys/ */

struct Fixture {
        char *base; /* absolute */
        char *sys;
        char *dev;
        bool created_base;
        bool keep;
};

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* fixture.c */
_printf_(2, 3) char *sys_path(const Fixture *f, const char *fmt, ...);

/* fixture-files.c */
char *fx_path_join(const char *a, const char *b);
int fx_mkdir_p(const char *path);
int fx_write_file(const char *path, const char *contents, int flags);
int fx_create_file(const char *path, const char *contents);
int fx_touch(const char *path);
int fx_unlink_if_present(const char *path);
int fx_link_name(const char *path, char **ret);
/* Behind test_rm_rf() and test_read_file_at(), whose contracts (test-util.h) they keep. */
int fx_rm_rf(const char *path);
int fx_read_file_at(int dir_fd, const char *path, char **ret, size_t *ret_size);

/* fixture-devices.c */
int fx_device_link_name(Fixture *f, const char *addr, const char *link, char **ret);
int fx_device_group(Fixture *f, const char *addr, int *ret);
int fx_check_address(const char *addr);
bool fx_device_exists(Fixture *f, const char *addr);

/* fixture-drivers.c */
int fx_sync_group_node(Fixture *f, int group);
int fx_unbind_device(Fixture *f, const char *addr);
int fx_bind_device(Fixture *f, const char *addr, const char *driver);
