/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to config.c (the grammar) and config-files.c (reading files): the parser's state,
 * which outlives one file so that drop-ins can amend earlier sections, and the grammar's entry
 * points for the file reader. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "macro.h"
#include "pci-address.h"

typedef enum SectionType {
        SECTION_NONE,   /* before the first section header */
        SECTION_IGNORE, /* inside a bad or unknown section: already reported, skip its keys */
        SECTION_DAEMON,
        SECTION_PF,
} SectionType;

/* One error or warning: its text ("FILE:LINE: ...") and where it belongs, so that the list can be
 * given in the order of the files as they were read and of the lines in each, whatever order
 * the parser found the problems in (a missing Address= is only known at the end of its
 * section, after the errors in its keys). */
typedef struct ConfigMessage {
        char *text;
        unsigned file_seq; /* counts the files messages were about, in the order they were read */
        unsigned line;     /* 0: about the whole file, which comes first */
        size_t seq;        /* the order it was found in, for equal places */
} ConfigMessage;

/* The [PhysicalFunction] section being read: which keys it set, so that a drop-in section can
 * amend an earlier PF with exactly those. */
typedef struct PfSection {
        unsigned line;
        bool has_address, address_bad;
        char address[PCI_ADDRESS_MAX];
        unsigned address_line;
        bool set_num_vfs, set_bind_vfio, set_rotate_when_idle, set_rotate_interval, set_api;
        PfApi api;
        unsigned num_vfs;
        bool bind_vfio, rotate_when_idle;
        uint64_t rotate_interval_usec;
        ConfigMessage interval_warning; /* for its RotateIntervalSec= (text NULL: none) */
} PfSection;

typedef struct PfEntry {
        PfConfig pf;
        unsigned file_index; /* the last file that had a section for this PF */
        unsigned address_line;
        ConfigMessage interval_warning; /* for the RotateIntervalSec= in force (text NULL: none) */
} PfEntry;

typedef struct Parser {
        uint64_t rotate_interval_usec;
        unsigned max_pending_checks_per_user;
        unsigned max_leases_per_user;
        PfEntry *pfs;
        size_t n_pfs;

        ConfigMessage daemon_interval_warning; /* for [Daemon]'s RotateIntervalSec= in force */

        ConfigMessage *errors;
        size_t n_errors;
        size_t n_messages;   /* errors and warnings made so far: the next one's seq */
        char *message_file;  /* the file of the last message, and its file_seq: */
        unsigned message_file_seq;
        bool too_many_pfs_reported;
        bool oom;
        int io_error; /* the first I/O failure, returned instead of -EINVAL */

        /* Per file. */
        const char *file;
        unsigned file_index;
        SectionType section;
        PfSection pf;
} Parser;


void config_parser_done(Parser *p);

/* Adds "FILE:LINE: <message>" (or "FILE: <message>" with line 0). Never fails: running out of
 * memory is reported by config_parser_finish(). Errors are given back sorted by file (in the
 * order read) and line. */
void config_add_error(Parser *p, const char *file, unsigned line, const char *fmt, ...) _printf_(4, 5);

/* Parses one file's contents as the next file; `data` need not be NUL-terminated and may contain
 * NUL bytes. */
void config_parse_buffer(Parser *p, const char *file, const char *data, size_t size);

/* Turns the parser's result into a Config (with its warnings, sorted), or its errors, sorted,
 * into the caller's list. */
int config_parser_finish(Parser *p, Config **ret, char ***ret_errors);
