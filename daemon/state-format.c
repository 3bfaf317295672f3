/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the PfState record and the text of a PF's state file: serializing, parsing, the checksum
 * and the invariants both keep. Pure (no file descriptors, no I/O, no logging); state-file.c
 * puts the text on disk and reads it back.
 *
 * A state file is small key=value text ending in a checksum line, so that a torn or damaged file
 * is recognised and left alone rather than half-trusted:
 *
 *   # vfio-tokend state: do not edit, do not share (holds a secret)
 *   Version=1
 *   Address=0000:3b:00.0
 *   Token=<uuid>              (absent when none is on record)
 *   Generation=3
 *   SetTimestampUSec=1700000000000000
 *   PendingToken=<uuid>       (only while a rotation is in flight)
 *   PendingGeneration=4
 *   Checksum=<FNV-1a 64 of every byte before this line, 16 lower-case hex digits>
 *
 * The parser also accepts any first comment line, the keys in any order after Version, and
 * tokens in upper case; it refuses everything else. The text holds a secret, so it never goes
 * through printf machinery, and every buffer that held it is wiped with explicit_bzero(). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "pci-address.h"
#include "state-format.h"
#include "string-util.h"

#define STATE_VERSION 1
#define STATE_COMMENT "# vfio-tokend state: do not edit, do not share (holds a secret)\n"
#define STATE_CHECKSUM_KEY "Checksum="
#define STATE_CHECKSUM_DIGITS 16

PfState *pf_state_new(void) {
        return calloc(1, sizeof(PfState));
}

PfState *pf_state_free(PfState *s) {
        if (!s)
                return NULL;
        token_free(s->current);
        token_free(s->pending);
        return mfree(s);
}

static uint64_t fnv1a64(const char *p, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++) {
                h ^= (uint8_t) p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

/* The invariants every file we write keeps, and every file we load must keep: a generation
 * exactly when a token is on record, and a pending token one generation ahead of the current. */
static bool state_is_consistent(const PfState *s) {
        if (!s->current && (s->generation != 0 || s->set_usec != 0))
                return false;
        if (s->current && s->generation == 0)
                return false;
        if (!s->pending)
                return s->pending_generation == 0;
        return s->generation < UINT64_MAX && s->pending_generation == s->generation + 1;
}

static bool address_is_canonical(const char *address) {
        char canonical[PCI_ADDRESS_MAX];

        return address && pci_address_parse(address, canonical) >= 0 && streq(canonical, address);
}

/* ---- Serializing ------------------------------------------------------------------------ */

static int text_append(StateText *t, const char *s) {
        size_t n = strlen(s);

        if (n > STATE_FILE_MAX - t->len)
                return -ENOBUFS;
        memcpy(t->s + t->len, s, n);
        t->len += n;
        t->s[t->len] = '\0';
        return 0;
}

static int text_append_u64(StateText *t, const char *key, uint64_t v) {
        char num[STRLEN("18446744073709551615") + 1];
        int r;

        (void) snprintf(num, sizeof num, "%" PRIu64, v);
        r = text_append(t, key);
        if (r < 0)
                return r;
        r = text_append(t, num);
        if (r < 0)
                return r;
        return text_append(t, "\n");
}

/* The token is copied into the text with memcpy only: no printf machinery ever sees it. */
static int text_append_token(StateText *t, const char *key, const Token *token) {
        _cleanup_token_string_ TokenString ts;
        int r;

        token_to_string(token, &ts);
        r = text_append(t, key);
        if (r < 0)
                return r;
        r = text_append(t, ts.s);
        if (r < 0)
                return r;
        return text_append(t, "\n");
}

int state_text_seal(StateText *t) {
        char sum[STRLEN(STATE_CHECKSUM_KEY) + STATE_CHECKSUM_DIGITS + 2];

        if (!t || t->len > STATE_FILE_MAX)
                return -EINVAL;
        (void) snprintf(sum, sizeof sum, STATE_CHECKSUM_KEY "%016" PRIx64 "\n", fnv1a64(t->s, t->len));
        return text_append(t, sum);
}

int state_serialize(const char *address, const PfState *s, StateText *ret) {
        _cleanup_state_text_ StateText t = {};
        int r;

        if (!s || !ret || !address_is_canonical(address) || !state_is_consistent(s))
                return -EINVAL;

        r = text_append(&t, STATE_COMMENT);
        if (r >= 0)
                r = text_append_u64(&t, "Version=", STATE_VERSION);
        if (r >= 0)
                r = text_append(&t, "Address=");
        if (r >= 0)
                r = text_append(&t, address);
        if (r >= 0)
                r = text_append(&t, "\n");
        if (r >= 0 && s->current)
                r = text_append_token(&t, "Token=", s->current);
        if (r >= 0)
                r = text_append_u64(&t, "Generation=", s->generation);
        if (r >= 0)
                r = text_append_u64(&t, "SetTimestampUSec=", s->set_usec);
        if (r >= 0 && s->pending) {
                r = text_append_token(&t, "PendingToken=", s->pending);
                if (r >= 0)
                        r = text_append_u64(&t, "PendingGeneration=", s->pending_generation);
        }
        if (r >= 0)
                r = state_text_seal(&t);
        if (r < 0)
                return r;

        *ret = t;
        return 0;
}

/* ---- Parsing ---------------------------------------------------------------------------- */

/* Plain decimal: no sign, no blanks, no leading zeros, no overflow. */
static int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

static int parse_token(const char *s, Token **ret) {
        _cleanup_(token_freep) Token *t = NULL;

        t = token_new();
        if (!t)
                return -ENOMEM;
        if (token_from_string(s, t) < 0)
                return -EBADMSG;
        *ret = TAKE_PTR(t);
        return 0;
}

enum {
        KEY_VERSION = 1 << 0,
        KEY_ADDRESS = 1 << 1,
        KEY_TOKEN = 1 << 2,
        KEY_GENERATION = 1 << 3,
        KEY_SET_TIMESTAMP = 1 << 4,
        KEY_PENDING_TOKEN = 1 << 5,
        KEY_PENDING_GENERATION = 1 << 6,
};

static int parse_line(char *line, const char *address, unsigned *seen, PfState *s) {
        static const struct {
                const char *key;
                unsigned bit;
        } keys[] = {
                { "Version", KEY_VERSION },
                { "Address", KEY_ADDRESS },
                { "Token", KEY_TOKEN },
                { "Generation", KEY_GENERATION },
                { "SetTimestampUSec", KEY_SET_TIMESTAMP },
                { "PendingToken", KEY_PENDING_TOKEN },
                { "PendingGeneration", KEY_PENDING_GENERATION },
        };
        unsigned bit = 0;
        uint64_t v;
        char *value;
        int r;

        value = strchr(line, '=');
        if (!value)
                return -EBADMSG;
        *value++ = '\0';
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(line, keys[i].key))
                        bit = keys[i].bit;
        if (bit == 0 || (*seen & bit))
                return -EBADMSG;
        /* Version comes first, so that a later format can change everything after it. */
        if (*seen == 0 && bit != KEY_VERSION)
                return -EBADMSG;
        *seen |= bit;

        switch (bit) {
        case KEY_VERSION:
                r = parse_u64(value, &v);
                if (r < 0 || v != STATE_VERSION)
                        return -EBADMSG;
                return 0;
        case KEY_ADDRESS:
                return streq(value, address) ? 0 : -EBADMSG;
        case KEY_TOKEN:
                return parse_token(value, &s->current);
        case KEY_GENERATION:
                return parse_u64(value, &s->generation);
        case KEY_SET_TIMESTAMP:
                return parse_u64(value, &s->set_usec);
        case KEY_PENDING_TOKEN:
                return parse_token(value, &s->pending);
        case KEY_PENDING_GENERATION:
                return parse_u64(value, &s->pending_generation);
        }
        return -EBADMSG;
}

/* Checks the last line, the checksum over everything before it, and cuts it off: on success the
 * text ends (NUL) where the checksum line began, and *ret_end points there. */
static int verify_checksum(StateText *t, char **ret_end) {
        char *last, *digits;

        /* A file cut short anywhere lacks the final newline or the checksum line. */
        if (t->len == 0 || t->s[t->len - 1] != '\n' || memchr(t->s, '\0', t->len))
                return -EBADMSG;
        t->s[t->len - 1] = '\0';

        last = strrchr(t->s, '\n');
        if (!last)
                return -EBADMSG;
        last++;
        if (strncmp(last, STATE_CHECKSUM_KEY, STRLEN(STATE_CHECKSUM_KEY)) != 0)
                return -EBADMSG;
        digits = last + STRLEN(STATE_CHECKSUM_KEY);
        if (strlen(digits) != STATE_CHECKSUM_DIGITS ||
            strspn(digits, "0123456789abcdef") != STATE_CHECKSUM_DIGITS)
                return -EBADMSG;
        if (strtoull(digits, NULL, 16) != fnv1a64(t->s, (size_t) (last - t->s)))
                return -EBADMSG;

        last[-1] = '\0';
        *ret_end = last;
        return 0;
}

int state_parse(const char *text, size_t len, const char *address, PfState **ret) {
        _cleanup_(pf_state_freep) PfState *s = NULL;
        _cleanup_state_text_ StateText t;
        const unsigned required = KEY_VERSION | KEY_ADDRESS | KEY_GENERATION | KEY_SET_TIMESTAMP;
        char *p, *end, *eol;
        unsigned seen = 0;
        int r;

        if ((!text && len > 0) || !address || !ret)
                return -EINVAL;
        if (len > STATE_FILE_MAX)
                return -EBADMSG;

        /* Parsed in place, in a copy that the cleanup wipes. */
        if (len > 0)
                memcpy(t.s, text, len);
        t.s[len] = '\0';
        t.len = len;

        r = verify_checksum(&t, &end);
        if (r < 0)
                return r;

        s = pf_state_new();
        if (!s)
                return -ENOMEM;

        /* The first line is the warning comment; no other comments or blank lines. */
        p = t.s;
        if (*p != '#')
                return -EBADMSG;
        eol = strchr(p, '\n');
        if (!eol)
                return -EBADMSG;
        for (p = eol + 1; p < end; p = eol + 1) {
                eol = strchr(p, '\n');
                if (eol)
                        *eol = '\0';
                else
                        eol = end - 1;
                r = parse_line(p, address, &seen, s);
                if (r < 0)
                        return r;
        }

        if ((seen & required) != required)
                return -EBADMSG;
        if (!!(seen & KEY_PENDING_TOKEN) != !!(seen & KEY_PENDING_GENERATION))
                return -EBADMSG;
        if (!state_is_consistent(s))
                return -EBADMSG;

        *ret = TAKE_PTR(s);
        return 0;
}
