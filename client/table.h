/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A plain text table for vfio-tokenctl's listings: a heading row, then the cells, filled row by
 * row; columns are padded to their widest cell, two spaces apart, and the last column is not
 * padded. Cells are copied. An allocation failure while filling is sticky and reported by
 * table_print(), so that callers fill a whole table without checking every cell.
 *
 * Library-like: nothing here prints but table_print(), and that only the table. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"

typedef struct Table Table;

/* A table with these column headings (a NULL-terminated list, at least one). NULL if out of
 * memory. */
Table *table_new(const char *const *headings);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);

/* Adds the next cell, formatted as printf() does. */
void table_add_cell(Table *t, const char *format, ...) _printf_(2, 3);

/* The number of rows filled, the headings not counted. */
size_t table_n_rows(const Table *t);

/* Writes the table to f, with the headings or (for scripts) without. 0, the sticky error of
 * filling it, or -EINVAL if the last row is not complete. */
int table_print(Table *t, FILE *f, bool headings);
