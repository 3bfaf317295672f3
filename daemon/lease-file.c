/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the leases file: its text (format and pure parser) and its place in the state directory
 * (see lease-file.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease-file.h"
#include "state-file.h"
#include "string-util.h"

#define LEASE_FILE_HEADER "# vfio-tokend leases, version 1: no token in here\n"
#define LEASE_FILE_MAX (4 * 1024 * 1024)
#define LEASE_RECORDS_MAX 65536

void lease_records_done(LeaseRecords *l) {
        l->records = mfree(l->records);
        l->n = 0;
        l->next_id = 0;
}

int lease_records_format(const LeaseRecords *l, char **ret, size_t *ret_len) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs(LEASE_FILE_HEADER, f);
        fprintf(f, "next %" PRIu64 "\n", l->next_id);
        for (size_t i = 0; i < l->n; i++) {
                const LeaseRecord *r = &l->records[i];

                fprintf(f, "lease %" PRIu64 " %s %s %s %u %u %" PRIu64 "\n", r->id, r->pf, r->device, r->owner,
                        (unsigned) r->uid, (unsigned) r->pid, r->acquired_usec);
        }
        fputs("end\n", f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        *ret_len = size;
        return 0;
}

static int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!*s)
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

/* A unique bus name: ':' then dot-separated elements of [A-Za-z0-9_-]. */
static bool unique_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 2 || n >= LEASE_OWNER_MAX || s[0] != ':')
                return false;
        for (const char *p = s + 1; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_' || *p == '-' || *p == '.'))
                        return false;
        return true;
}

static int parse_lease(char *line, LeaseRecord *r) {
        char *f[7], *save = NULL;
        uint64_t uid, pid;
        size_t n = 0;

        for (char *t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (n == ELEMENTSOF(f))
                        return -EBADMSG;
                f[n++] = t;
        }
        if (n != ELEMENTSOF(f))
                return -EBADMSG;
        *r = (LeaseRecord) {};
        if (parse_u64(f[0], &r->id) < 0 || r->id == 0 || pci_address_parse(f[1], r->pf) < 0 ||
            pci_address_parse(f[2], r->device) < 0 || !unique_name_valid(f[3]) || parse_u64(f[4], &uid) < 0 ||
            uid > UINT32_MAX - 1 || parse_u64(f[5], &pid) < 0 || pid == 0 || pid > INT32_MAX ||
            parse_u64(f[6], &r->acquired_usec) < 0)
                return -EBADMSG;
        strcpy(r->owner, f[3]);
        r->uid = (uid_t) uid;
        r->pid = (pid_t) pid;
        return 0;
}

int lease_records_parse(const char *text, size_t len, LeaseRecords *ret) {
        _cleanup_free_ char *copy = NULL;
        LeaseRecords l = {};
        bool have_next = false, ended = false;
        char *p, *nl;
        int r = 0;

        if (len < STRLEN(LEASE_FILE_HEADER) || memcmp(text, LEASE_FILE_HEADER, STRLEN(LEASE_FILE_HEADER)) != 0 ||
            memchr(text, '\0', len))
                return -EBADMSG;
        copy = strndup(text + STRLEN(LEASE_FILE_HEADER), len - STRLEN(LEASE_FILE_HEADER));
        if (!copy)
                return -ENOMEM;
        for (p = copy; *p; p = nl + 1) {
                nl = strchr(p, '\n');
                if (!nl) {
                        r = -EBADMSG; /* every line ends with a newline: a cut file is refused */
                        break;
                }
                *nl = '\0';
                if (ended) {
                        r = -EBADMSG; /* nothing after the end */
                        break;
                }
                if (streq(p, "end") && have_next)
                        ended = true;
                else if (strncmp(p, "next ", 5) == 0 && !have_next) {
                        r = parse_u64(p + 5, &l.next_id);
                        have_next = true;
                } else if (strncmp(p, "lease ", 6) == 0 && have_next) {
                        LeaseRecord *a;

                        if (l.n >= LEASE_RECORDS_MAX) {
                                r = -EBADMSG;
                                break;
                        }
                        a = realloc(l.records, (l.n + 1) * sizeof(LeaseRecord));
                        if (!a) {
                                r = -ENOMEM;
                                break;
                        }
                        l.records = a;
                        r = parse_lease(p + 6, &l.records[l.n]);
                        if (r >= 0 && l.records[l.n].id >= l.next_id)
                                r = -EBADMSG; /* ids are below the next one */
                        if (r >= 0)
                                l.n++;
                } else
                        r = -EBADMSG;
                if (r < 0)
                        break;
        }
        if (r >= 0 && !ended)
                r = -EBADMSG; /* a file cut at a line boundary has no end line */
        if (r < 0) {
                lease_records_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

int lease_file_load(int dir_fd, LeaseRecords *ret) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = state_dir_read_file(dir_fd, LEASE_FILE_NAME, LEASE_FILE_MAX, &text, &len);
        if (r < 0)
                return r == -EFBIG ? -EBADMSG : r;
        return lease_records_parse(text, len, ret);
}

int lease_file_save(int dir_fd, const LeaseRecords *l) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = lease_records_format(l, &text, &len);
        if (r < 0)
                return r;
        return state_dir_write_file(dir_fd, LEASE_FILE_NAME, text, len, false);
}
