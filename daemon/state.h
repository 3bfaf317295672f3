/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Persistent per-PF token state in the state directory (0700; files 0600), so a cold restart
 * can reopen a PF whose VFs are in use. Every write is atomic: temp file, fsync, rename, fsync
 * of the directory. A rotation writes the new token as *pending* before the SET ioctl and
 * commits it after, so whatever instant the daemon dies at, a token the kernel accepts is on
 * record. Nothing here logs; nothing here ever formats a token into an error message. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "token.h"

#define STATE_DEFAULT_DIR "/var/lib/vfio-tokend"

typedef struct PfState {
        Token *current;         /* NULL: no token on record */
        uint64_t generation;    /* of current; 0 when none */
        uint64_t set_usec;      /* CLOCK_REALTIME when current was set */
        Token *pending;         /* NULL unless a rotation was in flight */
        uint64_t pending_generation;
} PfState;

PfState *pf_state_new(void);
PfState *pf_state_free(PfState *s); /* wipes the tokens */
DEFINE_TRIVIAL_CLEANUP_FUNC(PfState *, pf_state_free);

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

/* The state file name for a PF: "pf-0000_3b_00.0.state". */
void state_file_name(const char *address, char *buf, size_t size);

/* Steps of a rotation, each saved atomically before it returns:
 *   state_begin_rotation: record `next` as pending with generation current+1;
 *   state_commit_rotation: pending becomes current (set_usec = now);
 *   state_abort_rotation: forget pending (the SET failed and the kernel kept the old token).
 * If the save fails, `s` is left exactly as it was (memory never runs ahead of the disk).
 * begin gives -EBUSY while a rotation is pending (the kernel may hold that token: resolve it with
 * commit or abort first); commit gives -EINVAL with nothing pending; abort with nothing pending
 * is a no-op. */
int state_begin_rotation(int dir_fd, const char *address, PfState *s, const Token *next);
int state_commit_rotation(int dir_fd, const char *address, PfState *s, uint64_t now_usec);
int state_abort_rotation(int dir_fd, const char *address, PfState *s);
