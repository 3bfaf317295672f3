/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tiny JSON emitter for vfio-tokenctl --json. It builds the document in a buffer of its own,
 * not in stdio's, because one document (acquire's) carries a token: the buffer is wiped when
 * it grows and when it is released, and goes out with write(2).
 *
 * Usage: JsonOut j = JSON_OUT_INIT; json_begin_object(&j); json_key_string(&j, "a", "b");
 * json_end_object(&j); r = json_out_finish(&j, &text, &len); ...write it...; json_out_done(&j);
 * Errors (OOM, nesting too deep, unbalanced, a value without its key in an object) are sticky
 * and reported by json_out_finish(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_DEPTH_MAX 16

typedef struct JsonOut {
        char *buf;
        size_t len, allocated;
        unsigned depth;
        bool has_items[JSON_DEPTH_MAX + 1]; /* per level: a comma goes before the next item */
        char kind[JSON_DEPTH_MAX + 1];      /* per level: '{' or '[' */
        bool after_key;
        int error;
} JsonOut;

#define JSON_OUT_INIT ((JsonOut) {})

/* Wipes and frees the buffer. */
void json_out_done(JsonOut *j);

void json_begin_object(JsonOut *j);
void json_end_object(JsonOut *j);
void json_begin_array(JsonOut *j);
void json_end_array(JsonOut *j);
void json_key(JsonOut *j, const char *key);

/* NULL gives null. The string must be UTF-8 (D-Bus strings are); it is escaped as JSON needs. */
void json_string(JsonOut *j, const char *s);
void json_uint(JsonOut *j, uint64_t v);
void json_bool(JsonOut *j, bool b);
void json_null(JsonOut *j);
/* An array of strings; NULL gives []. */
void json_strv(JsonOut *j, char *const *l);

static inline void json_key_string(JsonOut *j, const char *key, const char *s) {
        json_key(j, key);
        json_string(j, s);
}
static inline void json_key_uint(JsonOut *j, const char *key, uint64_t v) {
        json_key(j, key);
        json_uint(j, v);
}
static inline void json_key_strv(JsonOut *j, const char *key, char *const *l) {
        json_key(j, key);
        json_strv(j, l);
}

/* Ends the document with a newline and returns it (owned by j, valid until json_out_done()).
 * Returns 0, a sticky error, or -EINVAL if the document is not complete. */
int json_out_finish(JsonOut *j, const char **ret_text, size_t *ret_len);
