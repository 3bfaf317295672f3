/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Persistent per-PF token state in the state directory, so a cold restart can reopen a PF whose
 * VFs are in use. The one header callers include; the work is split by job:
 *   state-format.h  the PfState record and the text of its file, with the checksum (pure);
 *   state-file.h    the state directory and the atomic I/O of each PF's file;
 *   state.h         (this file, state.c) the steps of a rotation.
 * A rotation writes the new token as *pending* before the SET ioctl and commits it after, so
 * whatever instant the daemon dies at, a token the kernel accepts is on record. Nothing here
 * logs; nothing here ever formats a token into an error message. */

#include <stdint.h>

#include "state-file.h"
#include "state-format.h"
#include "token.h"

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

/* When the save of a commit or an abort fails, memory must still follow the kernel (the token
 * handed out must be one it accepts): these make the step in memory only. The disk then holds
 * the pending token beside the committed one, which a restart resolves (committed, then pending),
 * and the caller saves `s` again later (state_save()). */
void state_commit_in_memory(PfState *s, uint64_t now_usec);
void state_abort_in_memory(PfState *s);
