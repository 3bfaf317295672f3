/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The state directory (0700; files 0600) and one state file per PF in it. Every write is atomic:
 * temp file, fsync, rename, fsync of the directory. The text of the files is state-format.h's.
 * Nothing here logs; nothing here ever formats a token into an error message. */

#include <stdbool.h>
#include <stddef.h>

#include "state-format.h"

/* LOCALSTATEDIR comes from configure's --localstatedir (Makefile.am passes it to every compile). */
#define STATE_DEFAULT_DIR LOCALSTATEDIR "/lib/vfio-tokend"

/* Opens (creating it and its parents, mode 0700) the state directory and returns an O_DIRECTORY
 * fd. Refuses a directory with any group/other permission bit or owned by another user (-EPERM),
 * since tokens live there. Removes leftover temp files of interrupted writes. */
int state_dir_open(const char *path, int *ret_fd);

/* Loads the state of PF `address`. -ENOENT if none is on record; -EBADMSG if the file is
 * damaged (the caller decides; the file is left in place for the admin). Stale temp files from
 * an interrupted write are ignored. */
int state_load(int dir_fd, const char *address, PfState **ret);
/* Atomically replaces the state of PF `address`. -EINVAL for a state that breaks the invariants
 * (a generation exactly when a token is on record; a pending token exactly one generation ahead),
 * which is never written. */
int state_save(int dir_fd, const char *address, const PfState *s);
/* Removes the record: 1 if there was one, 0 if there was none. */
int state_remove(int dir_fd, const char *address);
/* Renames a damaged state file to "pf-....state.damaged" (0600 like the rest), so the admin keeps
 * the evidence when a new token replaces it. 1 if renamed, 0 if there was none. */
int state_set_aside(int dir_fd, const char *address);

/* Any other file of the state directory (e.g. the leases): written atomically (temp file 0600,
 * rename; with fsync of the file and the directory when `durable`), read bounded to `max` bytes
 * (-EFBIG beyond; NUL-terminated), never through a symlink (-EBADMSG). */
int state_dir_write_file(int dir_fd, const char *name, const void *data, size_t len, bool durable);
int state_dir_read_file(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len);

/* The state file name for a PF: "pf-0000_3b_00.0.state". */
void state_file_name(const char *address, char *buf, size_t size);
