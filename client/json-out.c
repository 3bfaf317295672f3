/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* JSON text for vfio-tokenctl --json: compact, one document per run, strings escaped per
 * RFC 8259. The buffer never leaves copies behind: growing it copies and wipes rather than
 * realloc()ing, since one of the documents holds a token. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-out.h"

void json_out_done(JsonOut *j) {
        if (j->buf) {
                explicit_bzero(j->buf, j->allocated);
                free(j->buf);
        }
        *j = JSON_OUT_INIT;
}

static void json_append(JsonOut *j, const char *s, size_t n) {
        if (j->error < 0)
                return;

        if (j->len + n + 1 > j->allocated) {
                size_t want = j->allocated ? j->allocated : 256;
                char *b;

                while (want < j->len + n + 1) {
                        if (want > SIZE_MAX / 2) {
                                j->error = -ENOMEM;
                                return;
                        }
                        want *= 2;
                }
                b = malloc(want);
                if (!b) {
                        j->error = -ENOMEM;
                        return;
                }
                if (j->buf) {
                        memcpy(b, j->buf, j->len);
                        explicit_bzero(j->buf, j->allocated);
                        free(j->buf);
                }
                j->buf = b;
                j->allocated = want;
        }

        memcpy(j->buf + j->len, s, n);
        j->len += n;
        j->buf[j->len] = 0;
}

static void json_append_str(JsonOut *j, const char *s) {
        json_append(j, s, strlen(s));
}

static void json_fail(JsonOut *j, int error) {
        if (j->error >= 0)
                j->error = error;
}

static void json_separator(JsonOut *j) {
        if (j->has_items[j->depth])
                json_append(j, ",", 1);
        j->has_items[j->depth] = true;
}

/* Called before every value: inside an object a value must follow its key. */
static void json_item(JsonOut *j) {
        if (j->after_key) {
                j->after_key = false;
                return;
        }
        if (j->depth > 0 && j->kind[j->depth] == '{') {
                json_fail(j, -EINVAL);
                return;
        }
        json_separator(j);
}

static void json_open(JsonOut *j, char c) {
        json_item(j);
        if (j->depth >= JSON_DEPTH_MAX) {
                json_fail(j, -E2BIG);
                return;
        }
        json_append(j, &c, 1);
        j->depth++;
        j->kind[j->depth] = c;
        j->has_items[j->depth] = false;
}

static void json_close(JsonOut *j, char c) {
        if (j->depth == 0 || j->after_key || j->kind[j->depth] != (c == '}' ? '{' : '[')) {
                json_fail(j, -EINVAL);
                return;
        }
        json_append(j, &c, 1);
        j->depth--;
}

void json_begin_object(JsonOut *j) {
        json_open(j, '{');
}

void json_end_object(JsonOut *j) {
        json_close(j, '}');
}

void json_begin_array(JsonOut *j) {
        json_open(j, '[');
}

void json_end_array(JsonOut *j) {
        json_close(j, ']');
}

static void json_append_escaped(JsonOut *j, const char *s) {
        json_append(j, "\"", 1);
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                char esc[7];

                switch (c) {
                case '"':
                        json_append(j, "\\\"", 2);
                        break;
                case '\\':
                        json_append(j, "\\\\", 2);
                        break;
                case '\b':
                        json_append(j, "\\b", 2);
                        break;
                case '\f':
                        json_append(j, "\\f", 2);
                        break;
                case '\n':
                        json_append(j, "\\n", 2);
                        break;
                case '\r':
                        json_append(j, "\\r", 2);
                        break;
                case '\t':
                        json_append(j, "\\t", 2);
                        break;
                default:
                        if (c < 0x20) {
                                snprintf(esc, sizeof(esc), "\\u%04x", c);
                                json_append(j, esc, 6);
                        } else
                                json_append(j, p, 1);
                }
        }
        json_append(j, "\"", 1);
}

void json_key(JsonOut *j, const char *key) {
        if (j->depth == 0 || j->kind[j->depth] != '{' || j->after_key) {
                json_fail(j, -EINVAL);
                return;
        }
        json_separator(j);
        json_append_escaped(j, key);
        json_append(j, ":", 1);
        j->after_key = true;
}

void json_string(JsonOut *j, const char *s) {
        if (!s) {
                json_null(j);
                return;
        }
        json_item(j);
        json_append_escaped(j, s);
}

void json_uint(JsonOut *j, uint64_t v) {
        char b[21];

        json_item(j);
        snprintf(b, sizeof(b), "%" PRIu64, v);
        json_append_str(j, b);
}

void json_bool(JsonOut *j, bool b) {
        json_item(j);
        json_append_str(j, b ? "true" : "false");
}

void json_null(JsonOut *j) {
        json_item(j);
        json_append_str(j, "null");
}

void json_strv(JsonOut *j, char *const *l) {
        json_begin_array(j);
        for (char *const *i = l; i && *i; i++)
                json_string(j, *i);
        json_end_array(j);
}

int json_out_finish(JsonOut *j, const char **ret_text, size_t *ret_len) {
        if (j->error < 0)
                return j->error;
        if (j->depth != 0 || j->after_key || j->len == 0)
                return -EINVAL;

        json_append(j, "\n", 1);
        if (j->error < 0)
                return j->error;

        *ret_text = j->buf;
        *ret_len = j->len;
        return 0;
}
