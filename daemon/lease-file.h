/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The leases on disk ("leases" in the state directory, 0600, replaced atomically): what a
 * restarted daemon needs to give each still-connected owner its lease back under the same id
 * and object path. No token is in it. The text is a header, "next ID", one "lease" line per
 * lease and "end";
 * the parser is pure and refuses the whole file on any malformed line (then no lease is
 * restored, which is what happens without the file). */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "pci-address.h"

#define LEASE_FILE_NAME "leases"
#define LEASE_OWNER_MAX 256 /* a unique bus name, ":1.42" */

typedef struct LeaseRecord {
        uint64_t id;
        char pf[PCI_ADDRESS_MAX];
        char device[PCI_ADDRESS_MAX];
        char owner[LEASE_OWNER_MAX];
        uid_t uid;
        pid_t pid;
        uint64_t acquired_usec;
} LeaseRecord;

typedef struct LeaseRecords {
        uint64_t next_id; /* ids are never reused: not even across a restart */
        LeaseRecord *records;
        size_t n;
} LeaseRecords;

void lease_records_done(LeaseRecords *l);

/* Text of the file. */
int lease_records_format(const LeaseRecords *l, char **ret, size_t *ret_len);
/* -EBADMSG for anything but a well-formed file. */
int lease_records_parse(const char *text, size_t len, LeaseRecords *ret);

/* The file in the state directory. Load: -ENOENT if there is none. Save: not fsync'd (a lease
 * outlives a daemon restart, not a reboot, which ends every bus connection anyway). */
int lease_file_load(int dir_fd, LeaseRecords *ret);
int lease_file_save(int dir_fd, const LeaseRecords *l);
