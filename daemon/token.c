/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the VF token type: generation, text form, and the locked memory tokens live in. */

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "token.h"

/* Tokens are allocated from pages that are mlock()ed (never swapped out) and excluded from core
 * dumps. The pool grows a page at a time; pages are kept for the life of the process, which is
 * fine: a daemon manages a handful of PFs. A page that cannot be locked (RLIMIT_MEMLOCK) is still
 * used, and token_pool_locked() reports it. */
#define SLOTS_PER_PAGE 128

typedef struct PoolPage {
        struct PoolPage *next;
        Token *slots; /* one page, SLOTS_PER_PAGE tokens */
        uint8_t used[SLOTS_PER_PAGE];
        bool locked;
        bool secret; /* memfd_secret */
} PoolPage;

static PoolPage *pool;
static size_t pool_used;

/* memfd_secret(2) memory is locked, and unmapped from the kernel's direct map, so not even
 * the kernel can read it casually. It exists from Linux 5.14 and may be disabled (ENOSYS) or
 * refused (EPERM under a seccomp filter); then an mlock()ed anonymous mapping does. */
static void *map_secret(size_t size, bool *ret_secret) {
#ifdef SYS_memfd_secret
        int fd = (int) syscall(SYS_memfd_secret, (unsigned) O_CLOEXEC);
        if (fd >= 0) {
                void *m = MAP_FAILED;

                if (ftruncate(fd, (off_t) size) == 0)
                        m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
                close(fd);
                if (m != MAP_FAILED) {
                        *ret_secret = true;
                        return m;
                }
        }
#endif
        *ret_secret = false;
        return mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static PoolPage *pool_page_new(void) {
        size_t size = SLOTS_PER_PAGE * sizeof(Token);
        PoolPage *p;
        void *m;

        p = calloc(1, sizeof(PoolPage));
        if (!p)
                return NULL;
        m = map_secret(size, &p->secret);
        if (m == MAP_FAILED) {
                free(p);
                return NULL;
        }
        if (p->secret)
                p->locked = true; /* secretmem pages are locked by the kernel */
        else {
                (void) madvise(m, size, MADV_DONTDUMP);
                (void) madvise(m, size, MADV_WIPEONFORK);
                /* The raw syscall: sanitizer runtimes turn mlock() into a no-op, and the
                 * sanitizer builds must keep tokens locked like the others. */
                p->locked = syscall(SYS_mlock, m, size) == 0;
        }
        p->slots = m;
        p->next = pool;
        pool = p;
        return p;
}

Token *token_new(void) {
        for (PoolPage *p = pool;; p = p->next) {
                if (!p) {
                        p = pool_page_new();
                        if (!p)
                                return NULL;
                }
                for (size_t i = 0; i < SLOTS_PER_PAGE; i++)
                        if (!p->used[i]) {
                                p->used[i] = 1;
                                pool_used++;
                                explicit_bzero(&p->slots[i], sizeof(Token));
                                return &p->slots[i];
                        }
        }
}

Token *token_free(Token *t) {
        if (!t)
                return NULL;
        explicit_bzero(t, sizeof(Token));
        for (PoolPage *p = pool; p; p = p->next)
                if (t >= p->slots && t < p->slots + SLOTS_PER_PAGE) {
                        p->used[t - p->slots] = 0;
                        pool_used--;
                        return NULL;
                }
        abort(); /* not one of ours: a bug we must not paper over */
}

size_t token_pool_used(void) {
        return pool_used;
}

bool token_pool_secret(void) {
        for (PoolPage *p = pool; p; p = p->next)
                if (!p->secret)
                        return false;
        return pool != NULL;
}

bool token_pool_locked(void) {
        for (PoolPage *p = pool; p; p = p->next)
                if (!p->locked)
                        return false;
        return true;
}

void token_generate(Token *t) {
        uuid_generate_random(t->bytes);
}

void token_copy(Token *dst, const Token *src) {
        memcpy(dst->bytes, src->bytes, TOKEN_SIZE);
}

bool token_equal(const Token *a, const Token *b) {
        uint8_t d = 0;

        /* Constant time: a comparison of secrets should not leak where they differ. */
        for (size_t i = 0; i < TOKEN_SIZE; i++)
                d |= a->bytes[i] ^ b->bytes[i];
        return d == 0;
}

bool token_is_null(const Token *t) {
        uint8_t d = 0;

        for (size_t i = 0; i < TOKEN_SIZE; i++)
                d |= t->bytes[i];
        return d == 0;
}

void token_wipe(Token *t) {
        explicit_bzero(t, sizeof(Token));
}

void token_to_string(const Token *t, TokenString *ret) {
        uuid_unparse_lower(t->bytes, ret->s);
}

int token_from_string(const char *s, Token *ret) {
        uuid_t u;

        if (!s || strlen(s) != TOKEN_STRING_MAX - 1)
                return -EINVAL;
        /* uuid_parse() is lenient on nothing we care about, but check the shape ourselves so the
         * accepted grammar is exactly the kernel's (8-4-4-4-12 hex digits). */
        for (size_t i = 0; i < TOKEN_STRING_MAX - 1; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return -EINVAL;
                } else if (!isxdigit((unsigned char) s[i]))
                        return -EINVAL;
        }
        if (uuid_parse(s, u) < 0)
                return -EINVAL;
        memcpy(ret->bytes, u, TOKEN_SIZE);
        explicit_bzero(u, sizeof u);
        return 0;
}

void token_string_wipe(TokenString *s) {
        explicit_bzero(s, sizeof(TokenString));
}
