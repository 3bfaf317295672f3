/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The text table printer of vfio-tokenctl's listings (table.h): holding the cells, measuring the
 * columns and writing the padded rows. What goes in the cells is the verbs' business. */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

struct Table {
        size_t n_columns;
        size_t n_cells; /* the headings included */
        char **cells;
        int error;
};

static void table_add_text(Table *t, char *s) {
        char **a;

        if (!s) {
                t->error = -ENOMEM;
                return;
        }
        a = reallocarray(t->cells, t->n_cells + 1, sizeof(char *));
        if (!a) {
                free(s);
                t->error = -ENOMEM;
                return;
        }
        t->cells = a;
        t->cells[t->n_cells++] = s;
}

Table *table_new(const char *const *headings) {
        _cleanup_(table_freep) Table *t = NULL;

        if (!headings || !headings[0])
                return NULL;

        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        for (const char *const *h = headings; *h; h++) {
                table_add_text(t, strdup(*h));
                t->n_columns++;
        }
        return t->error < 0 ? NULL : TAKE_PTR(t);
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;

        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        return mfree(t);
}

void table_add_cell(Table *t, const char *format, ...) {
        va_list ap;
        char *s;
        int r;

        if (t->error < 0)
                return;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        table_add_text(t, r < 0 ? NULL : s);
}

size_t table_n_rows(const Table *t) {
        return t->n_cells / t->n_columns - 1;
}

int table_print(Table *t, FILE *f, bool headings) {
        _cleanup_free_ size_t *widths = NULL;
        size_t first = headings ? 0 : t->n_columns;

        if (t->error < 0)
                return t->error;
        if (t->n_cells % t->n_columns != 0)
                return -EINVAL;

        widths = calloc(t->n_columns, sizeof(size_t));
        if (!widths)
                return -ENOMEM;

        /* The headings count even when left out: the columns stay where they are. */
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t w = strlen(t->cells[i]);

                if (w > widths[i % t->n_columns])
                        widths[i % t->n_columns] = w;
        }
        for (size_t i = first; i < t->n_cells; i++) {
                bool last = i % t->n_columns == t->n_columns - 1;

                if (last)
                        fprintf(f, "%s\n", t->cells[i]);
                else
                        fprintf(f, "%-*s  ", (int) widths[i % t->n_columns], t->cells[i]);
        }
        return 0;
}
