/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the steps of a token rotation as the state file records them: begin (the new token on
 * disk as pending, before the SET ioctl), commit (pending becomes current, after it) and abort
 * (the SET failed; the kernel kept the old token). The file itself is state-file.c's.
 *
 * Each step saves the would-be state first and changes the caller's PfState only once that is on
 * disk, so memory and disk never disagree and a failed save loses nothing. */

#include <errno.h>

#include "macro.h"
#include "state.h"

int state_begin_rotation(int dir_fd, const char *address, PfState *s, const Token *next) {
        _cleanup_(token_freep) Token *pending = NULL;
        PfState n;
        int r;

        if (!s || !next)
                return -EINVAL;
        /* The kernel may already hold the pending token: replacing it could lose the only one
         * it accepts. The caller resolves it (commit or abort) first. */
        if (s->pending)
                return -EBUSY;
        if (s->generation == UINT64_MAX)
                return -EOVERFLOW;

        pending = token_new();
        if (!pending)
                return -ENOMEM;
        token_copy(pending, next);

        n = *s;
        n.pending = pending;
        n.pending_generation = s->generation + 1;
        r = state_save(dir_fd, address, &n);
        if (r < 0)
                return r;

        s->pending = TAKE_PTR(pending);
        s->pending_generation = n.pending_generation;
        return 0;
}

int state_commit_rotation(int dir_fd, const char *address, PfState *s, uint64_t now_usec) {
        PfState n;
        int r;

        if (!s || !s->pending)
                return -EINVAL;

        n = (PfState) {
                .current = s->pending,
                .generation = s->pending_generation,
                .set_usec = now_usec,
        };
        r = state_save(dir_fd, address, &n);
        if (r < 0)
                return r;

        token_free(s->current);
        *s = n;
        return 0;
}

int state_abort_rotation(int dir_fd, const char *address, PfState *s) {
        PfState n;
        int r;

        if (!s)
                return -EINVAL;
        if (!s->pending)
                return 0;

        n = *s;
        n.pending = NULL;
        n.pending_generation = 0;
        r = state_save(dir_fd, address, &n);
        if (r < 0)
                return r;

        token_free(s->pending);
        *s = n;
        return 0;
}

void state_commit_in_memory(PfState *s, uint64_t now_usec) {
        if (!s || !s->pending)
                return;
        token_free(s->current);
        *s = (PfState) {
                .current = s->pending,
                .generation = s->pending_generation,
                .set_usec = now_usec,
        };
}

void state_abort_in_memory(PfState *s) {
        if (!s || !s->pending)
                return;
        s->pending = token_free(s->pending);
        s->pending_generation = 0;
}
