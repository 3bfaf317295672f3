/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A VF token: the 16-byte UUID the kernel compares when a VF (or a PF with VFs in use) is
 * opened. It is a shared secret: tokens live in locked, non-dumpable memory (token_new()), every
 * copy, binary or text, is wiped with explicit_bzero() when released, and no token is ever
 * logged. */

#include <stdbool.h>
#include <stdint.h>
#include <uuid/uuid.h>

#include "macro.h"

#define TOKEN_SIZE 16
#define TOKEN_STRING_MAX 37 /* 36 characters of canonical UUID text + NUL */

typedef struct Token {
        uint8_t bytes[TOKEN_SIZE];
} Token;

/* Canonical lower-case text form; wiped by its cleanup. */
typedef struct TokenString {
        char s[TOKEN_STRING_MAX];
} TokenString;

/* Allocates a zeroed token in locked memory. Returns NULL on OOM. */
Token *token_new(void);
/* Wipes and releases; accepts NULL, returns NULL. */
Token *token_free(Token *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Token *, token_free);

/* Fills t with a fresh random (version 4) UUID from the kernel's CSPRNG. */
void token_generate(Token *t);
void token_copy(Token *dst, const Token *src);
bool token_equal(const Token *a, const Token *b);
bool token_is_null(const Token *t);
void token_wipe(Token *t);

/* Canonical lower-case "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx". */
void token_to_string(const Token *t, TokenString *ret);
/* Parses the canonical form (either case); -EINVAL on anything else. Does not touch ret on error. */
int token_from_string(const char *s, Token *ret);

void token_string_wipe(TokenString *s);
static inline void token_wipep(Token *t) {
        token_wipe(t);
}
static inline void token_string_wipep(TokenString *s) {
        token_string_wipe(s);
}
/* For stack copies: `_cleanup_token_ Token t = {};` and `_cleanup_token_string_ TokenString s;` */
#define _cleanup_token_ _cleanup_(token_wipep)
#define _cleanup_token_string_ _cleanup_(token_string_wipep)


/* How many tokens are allocated now and whether their memory is locked (for tests/status). */
size_t token_pool_used(void);
bool token_pool_locked(void);
/* Whether every pool page is memfd_secret memory (false when the kernel does not allow it). */
bool token_pool_secret(void);
