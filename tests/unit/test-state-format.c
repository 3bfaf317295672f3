/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/state-format.c, in memory only: every state survives a round trip and
 * serializes the same way again, and every cut and every single flipped bit of a file is
 * refused. (The files on disk and the exact text are test-state.c's.) */

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "state-format.h"
#include "test-util.h"

#define ADDR "0000:3b:00.0"

/* The kinds of record a daemon writes: a PF it manages with no token yet, the first rotation in
 * flight, a token, a later rotation in flight, and the numbers at their extremes. */
enum {
        KIND_NONE,
        KIND_FIRST_PENDING,
        KIND_CURRENT,
        KIND_CURRENT_AND_PENDING,
        KIND_EXTREMES,
        _KIND_MAX,
};

static Token *new_token(void) {
        Token *t = token_new();

        ck_assert_ptr_nonnull(t);
        token_generate(t);
        return t;
}

static PfState *state_of_kind(unsigned kind) {
        PfState *s = pf_state_new();

        ck_assert_ptr_nonnull(s);
        switch (kind) {
        case KIND_NONE:
                break;
        case KIND_FIRST_PENDING:
                s->pending = new_token();
                s->pending_generation = 1;
                break;
        case KIND_CURRENT:
                s->current = new_token();
                s->generation = 3;
                s->set_usec = UINT64_C(1700000000123456);
                break;
        case KIND_CURRENT_AND_PENDING:
                s->current = new_token();
                s->generation = 3;
                s->set_usec = UINT64_C(1700000000123456);
                s->pending = new_token();
                s->pending_generation = 4;
                break;
        case KIND_EXTREMES:
                s->current = new_token();
                s->generation = UINT64_MAX - 1;
                s->set_usec = UINT64_MAX;
                s->pending = new_token();
                s->pending_generation = UINT64_MAX;
                break;
        default:
                ck_abort();
        }
        return s;
}

static bool token_same(const Token *a, const Token *b) {
        if (!a || !b)
                return a == b;
        return token_equal(a, b);
}

static void assert_same_state(const PfState *a, const PfState *b) {
        ck_assert(token_same(a->current, b->current));
        ck_assert_uint_eq(a->generation, b->generation);
        ck_assert_uint_eq(a->set_usec, b->set_usec);
        ck_assert(token_same(a->pending, b->pending));
        ck_assert_uint_eq(a->pending_generation, b->pending_generation);
}

/* Parses text that must be refused, and checks that the out-parameter was not written. */
static void assert_refused(const char *text, size_t len, const char *address, const char *what,
                           size_t at) {
        static PfState untouched;
        PfState *l = &untouched;

        ck_assert_msg(state_parse(text, len, address, &l) == -EBADMSG, "%s at %zu accepted", what, at);
        ck_assert_ptr_eq(l, &untouched);
}

START_TEST(test_round_trip) {
        size_t used = token_pool_used();

        for (unsigned kind = 0; kind < _KIND_MAX; kind++) {
                _cleanup_(pf_state_freep) PfState *s = state_of_kind(kind), *l = NULL;
                _cleanup_state_text_ StateText t, again;

                ck_assert_int_eq(state_serialize(ADDR, s, &t), 0);
                ck_assert_uint_eq(strlen(t.s), t.len);
                ck_assert_uint_le(t.len, STATE_FILE_MAX);
                ck_assert_int_eq(state_parse(t.s, t.len, ADDR, &l), 0);
                assert_same_state(l, s);

                /* One state, one text: what was parsed serializes to the very same bytes. */
                ck_assert_int_eq(state_serialize(ADDR, l, &again), 0);
                ck_assert_uint_eq(again.len, t.len);
                ck_assert_mem_eq(again.s, t.s, t.len);
        }

        /* Tokens parsed and released: none left behind in the pool. */
        ck_assert_uint_eq(token_pool_used(), used);
}
END_TEST

START_TEST(test_truncations) {
        size_t used = token_pool_used();

        /* A file cut short anywhere (as by a crash while the temp file was written) is refused. */
        for (unsigned kind = 0; kind < _KIND_MAX; kind++) {
                _cleanup_(pf_state_freep) PfState *s = state_of_kind(kind);
                _cleanup_state_text_ StateText t;

                ck_assert_int_eq(state_serialize(ADDR, s, &t), 0);
                for (size_t cut = 0; cut < t.len; cut++)
                        assert_refused(t.s, cut, ADDR, "cut", cut);
        }
        ck_assert_uint_eq(token_pool_used(), used);
}
END_TEST

START_TEST(test_bit_flips) {
        size_t used = token_pool_used();

        /* Any single flipped bit, in any byte, is caught: by the checksum, or where it hits the
         * checksum line, by that line's grammar. */
        for (unsigned kind = 0; kind < _KIND_MAX; kind++) {
                _cleanup_(pf_state_freep) PfState *s = state_of_kind(kind), *l = NULL;
                _cleanup_state_text_ StateText t;

                ck_assert_int_eq(state_serialize(ADDR, s, &t), 0);
                for (size_t i = 0; i < t.len; i++)
                        for (unsigned bit = 0; bit < 8; bit++) {
                                t.s[i] ^= (char) (1u << bit);
                                assert_refused(t.s, t.len, ADDR, "flip", i * 8 + bit);
                                t.s[i] ^= (char) (1u << bit);
                        }

                /* The input is read, never written: the text is intact and still parses. */
                ck_assert_int_eq(state_parse(t.s, t.len, ADDR, &l), 0);
                assert_same_state(l, s);
        }
        ck_assert_uint_eq(token_pool_used(), used);
}
END_TEST

START_TEST(test_parse_refuses) {
        _cleanup_(pf_state_freep) PfState *s = state_of_kind(KIND_CURRENT_AND_PENDING), *l = NULL;
        _cleanup_state_text_ StateText t, longer;
        static char big[STATE_FILE_MAX + 2];

        ck_assert_int_eq(state_serialize(ADDR, s, &t), 0);

        /* The file of another PF, or the address in another spelling. */
        assert_refused(t.s, t.len, "0000:3b:00.1", "other PF", 0);
        assert_refused(t.s, t.len, "0000:3B:00.0", "upper case", 0);

        /* Anything after the checksum line. */
        longer = t;
        memcpy(longer.s + t.len, "Foo=1\n", 6);
        assert_refused(longer.s, t.len + 6, ADDR, "appended", t.len);
        assert_refused(longer.s, t.len + 1, ADDR, "appended", t.len);

        /* Nothing, and more than a state file may hold (the input is not read beyond that). */
        assert_refused(NULL, 0, ADDR, "empty", 0);
        assert_refused("", 0, ADDR, "empty", 0);
        memset(big, '#', sizeof big);
        assert_refused(big, STATE_FILE_MAX + 1, ADDR, "too long", STATE_FILE_MAX + 1);

        /* Arguments. */
        ck_assert_int_eq(state_parse(t.s, t.len, NULL, &l), -EINVAL);
        ck_assert_int_eq(state_parse(NULL, 1, ADDR, &l), -EINVAL);
        ck_assert_int_eq(state_parse(t.s, t.len, ADDR, NULL), -EINVAL);
        ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_serialize_refuses) {
        _cleanup_(pf_state_freep) PfState *s = state_of_kind(KIND_CURRENT);
        _cleanup_state_text_ StateText t;

        /* Only the canonical address: it is what the parser compares against. */
        ck_assert_int_eq(state_serialize("0000:3B:00.0", s, &t), -EINVAL);
        ck_assert_int_eq(state_serialize("0000:3b:00", s, &t), -EINVAL);
        ck_assert_int_eq(state_serialize(ADDR "\nToken=x", s, &t), -EINVAL);
        ck_assert_int_eq(state_serialize(NULL, s, &t), -EINVAL);
        ck_assert_int_eq(state_serialize(ADDR, NULL, &t), -EINVAL);
        ck_assert_int_eq(state_serialize(ADDR, s, NULL), -EINVAL);

        /* States that break the invariants, which the parser would refuse. */
        s->generation = 0;
        ck_assert_int_eq(state_serialize(ADDR, s, &t), -EINVAL);
        s->generation = 3;
        s->pending_generation = 4;
        ck_assert_int_eq(state_serialize(ADDR, s, &t), -EINVAL);
        s->pending = new_token();
        s->pending_generation = 5;
        ck_assert_int_eq(state_serialize(ADDR, s, &t), -EINVAL);
        s->generation = UINT64_MAX;
        s->pending_generation = 0;
        ck_assert_int_eq(state_serialize(ADDR, s, &t), -EINVAL);
        s->pending = token_free(s->pending);
        ck_assert_int_eq(state_serialize(ADDR, s, &t), 0);
        s->current = token_free(s->current);
        s->generation = 0;
        ck_assert_int_eq(state_serialize(ADDR, s, &t), -EINVAL); /* set_usec without a token */
        s->set_usec = 0;
        ck_assert_int_eq(state_serialize(ADDR, s, &t), 0);
}
END_TEST

START_TEST(test_seal) {
        static const char foreign[] = "# anything\nVersion=1\nSetTimestampUSec=0\nGeneration=0\n"
                                      "Address=0000:3b:00.0\nPendingGeneration=1\n"
                                      "PendingToken=6F1C2B1E-4B7A-4D0E-9C53-1F0D2A3B4C5D\n";
        _cleanup_(pf_state_freep) PfState *s = state_of_kind(KIND_CURRENT), *l = NULL;
        _cleanup_state_text_ StateText t, body;
        char *last;

        /* A serialized file is its body sealed: the checksum line is the last step. */
        ck_assert_int_eq(state_serialize(ADDR, s, &t), 0);
        t.s[t.len - 1] = '\0';
        last = strrchr(t.s, '\n');
        ck_assert_ptr_nonnull(last);
        t.s[t.len - 1] = '\n';
        body = t;
        body.len = (size_t) (last + 1 - t.s);
        ck_assert_int_eq(state_text_seal(&body), 0);
        ck_assert_uint_eq(body.len, t.len);
        ck_assert_mem_eq(body.s, t.s, t.len);

        /* What the parser accepts besides: any first comment, keys in any order after Version,
         * tokens in upper case. */
        memcpy(body.s, foreign, sizeof foreign);
        body.len = strlen(foreign);
        ck_assert_int_eq(state_text_seal(&body), 0);
        ck_assert_int_eq(state_parse(body.s, body.len, ADDR, &l), 0);
        ck_assert_ptr_null(l->current);
        ck_assert_ptr_nonnull(l->pending);
        ck_assert_uint_eq(l->pending_generation, 1);

        /* No room for the checksum line: nothing appended. */
        memset(body.s, '#', STATE_FILE_MAX);
        body.len = STATE_FILE_MAX - 10;
        ck_assert_int_eq(state_text_seal(&body), -ENOBUFS);
        ck_assert_uint_eq(body.len, STATE_FILE_MAX - 10);
}
END_TEST

static Suite *state_format_suite(void) {
        Suite *s = suite_create("state-format");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_truncations);
        tcase_add_test(tc, test_bit_flips);
        tcase_add_test(tc, test_parse_refuses);
        tcase_add_test(tc, test_serialize_refuses);
        tcase_add_test(tc, test_seal);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(state_format_suite);
