/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the state file parser (daemon/state-format.c). Each input is parsed twice:
 * as a whole file, and as the body of a file with a correct checksum line appended (else nearly
 * every mutation would stop at the checksum and the grammar behind it would go untested). Either
 * way it must be refused (-EBADMSG) or give a state that round-trips: it serializes, the text
 * parses again to the same state, and that state serializes to the very same text. Never a crash,
 * a leak, a token left allocated, a write to the input or undefined behaviour. The PF is fixed
 * (the seed corpus holds its files, and bodies of them: *.body). */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "state-format.h"
#include "token.h"

#define ADDR "0000:3b:00.0"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool token_same(const Token *a, const Token *b) {
        if (!a || !b)
                return a == b;
        return token_equal(a, b);
}

static bool state_same(const PfState *a, const PfState *b) {
        return token_same(a->current, b->current) && a->generation == b->generation &&
                a->set_usec == b->set_usec && token_same(a->pending, b->pending) &&
                a->pending_generation == b->pending_generation;
}

static void check_parse(const char *text, size_t len) {
        _cleanup_(pf_state_freep) PfState *s = NULL, *again = NULL, *other = NULL;
        _cleanup_state_text_ StateText t, t_again;
        size_t used = token_pool_used();
        int r;

        r = state_parse(text, len, ADDR, &s);
        if (r == -EBADMSG || r == -ENOMEM) {
                /* Refused: nothing returned, no token left behind. */
                if (s || token_pool_used() != used)
                        abort();
                return;
        }
        if (r != 0 || !s || len > STATE_FILE_MAX)
                abort();

        /* What was accepted is something the serializer writes, and it reads back the same. */
        if (state_serialize(ADDR, s, &t) != 0 || t.len > STATE_FILE_MAX || strlen(t.s) != t.len)
                abort();
        if (state_parse(t.s, t.len, ADDR, &again) != 0 || !state_same(s, again))
                abort();
        if (state_serialize(ADDR, again, &t_again) != 0 || t_again.len != t.len ||
            memcmp(t_again.s, t.s, t.len) != 0)
                abort();

        /* It is this PF's file and no other's. */
        if (state_parse(t.s, t.len, "0000:3b:00.1", &other) != -EBADMSG || other)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_state_text_ StateText sealed;

        check_parse((const char *) data, size);

        if (size > STATE_FILE_MAX)
                return 0;
        if (size > 0)
                memcpy(sealed.s, data, size);
        sealed.s[size] = '\0';
        sealed.len = size;
        if (state_text_seal(&sealed) == 0)
                check_parse(sealed.s, sealed.len);
        return 0;
}
