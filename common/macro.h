/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Compiler attributes and scope-based cleanup in the style of systemd's macro.h, so that every
 * resource is released on every path without goto ladders. Topic helpers live beside this file
 * (fd-util.h, io-util.h, string-util.h, strv.h, time-util.h); this one has no functions but the
 * generic free helpers the cleanup macros need. */

#include <stdlib.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define MIN(a, b)                                       \
        ({                                              \
                __typeof__(a) _a_ = (a);                \
                __typeof__(b) _b_ = (b);                \
                _a_ < _b_ ? _a_ : _b_;                  \
        })

#define MAX(a, b)                                       \
        ({                                              \
                __typeof__(a) _a_ = (a);                \
                __typeof__(b) _b_ = (b);                \
                _a_ > _b_ ? _a_ : _b_;                  \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                 \
        static inline void func##p(type *p) {                   \
                if (*p)                                         \
                        *p = func(*p);                          \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Hands ownership of a pointer to the caller: the cleanup attribute then sees NULL. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _p_ = (p);        \
                (p) = NULL;                     \
                _p_;                            \
        })
