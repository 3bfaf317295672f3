/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The record of one PF's token (PfState) and the text of its state file, with the checksum that
 * tells a damaged file from a good one. Pure: no file descriptors, no I/O, no logging, so that
 * it can be fuzzed (fuzz/fuzz-state-format.c). The file I/O is in state-file.h. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "token.h"

/* The largest state file we write or accept. */
#define STATE_FILE_MAX 4096

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

/* The text of a state file, on the stack (one byte more than the largest valid file, so that a
 * bounded read can tell a file that is too long). It holds a secret: declare it with
 * _cleanup_state_text_ so that it is wiped whatever the path out. */
typedef struct StateText {
        char s[STATE_FILE_MAX + 1];
        size_t len;
} StateText;

static inline void state_text_wipe(StateText *t) {
        explicit_bzero(t, sizeof(StateText));
}
#define _cleanup_state_text_ _cleanup_(state_text_wipe)

/* Writes the text of the state file of PF `address` (canonical form) holding `s`, with its
 * checksum line, to *ret (NUL-terminated, length in ret->len). -EINVAL for an address not in
 * canonical form or for a state that breaks the invariants (a generation exactly when a token is
 * on record; a pending token exactly one generation ahead): nothing is ever written that
 * state_parse() would refuse. */
int state_serialize(const char *address, const PfState *s, StateText *ret);

/* Appends the checksum line over the t->len bytes of text before it (the last step of
 * state_serialize(); for tests and the fuzzer, to put any text behind a correct checksum).
 * -ENOBUFS if the result would not fit in a state file. */
int state_text_seal(StateText *t);

/* Parses the `len` bytes at `text` as the state file of PF `address` (canonical form). -EBADMSG
 * for a file that is torn or damaged (a wrong checksum, an unknown or repeated key, a missing
 * one, a malformed value), another PF's, or breaks the invariants; -ENOMEM. The input is not
 * modified; every copy of it made here is wiped. */
int state_parse(const char *text, size_t len, const char *address, PfState **ret);
