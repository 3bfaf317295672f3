/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the on-disk record of each PF's token: the state directory, the file format, atomic
 * replacement, and the steps of a rotation.
 *
 * A state file is small key=value text ending in a checksum line, so that a torn or damaged file
 * is recognised and left alone rather than half-trusted:
 *
 *   # vfio-tokend state: do not edit, do not share (holds a secret)
 *   Version=1
 *   Address=0000:3b:00.0
 *   Token=<uuid>              (absent when none is on record)
 *   Generation=3
 *   SetTimestampUSec=1700000000000000
 *   PendingToken=<uuid>       (only while a rotation is in flight)
 *   PendingGeneration=4
 *   Checksum=<FNV-1a 64 of every byte before this line, 16 lower-case hex digits>
 *
 * The file holds a secret, so it is never read or written through stdio (whose buffers we could
 * not wipe) and every buffer that held its text is wiped with explicit_bzero(). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "io-util.h"
#include "macro.h"
#include "pci-address.h"
#include "state.h"
#include "string-util.h"

#define STATE_FILE_MAX 4096
#define STATE_VERSION 1
#define STATE_COMMENT "# vfio-tokend state: do not edit, do not share (holds a secret)\n"
#define STATE_NAME_MAX 64
/* Temp files are ".#<state file name><16 hex digits>"; anything starting so is a leftover. */
#define STATE_TEMP_PREFIX ".#pf-"
#define STATE_CHECKSUM_KEY "Checksum="
#define STATE_CHECKSUM_DIGITS 16

/* The text of a state file, on the stack; wiped by its cleanup whatever the path out. */
typedef struct StateText {
        char s[STATE_FILE_MAX + 1];
        size_t len;
} StateText;

static void state_text_wipe(StateText *t) {
        explicit_bzero(t, sizeof(StateText));
}
#define _cleanup_state_text_ _cleanup_(state_text_wipe)

PfState *pf_state_new(void) {
        return calloc(1, sizeof(PfState));
}

PfState *pf_state_free(PfState *s) {
        if (!s)
                return NULL;
        token_free(s->current);
        token_free(s->pending);
        return mfree(s);
}

void state_file_name(const char *address, char *buf, size_t size) {
        char escaped[PCI_ADDRESS_MAX];

        pci_address_escape(address, escaped);
        (void) snprintf(buf, size, "pf-%s.state", escaped);
}

static uint64_t fnv1a64(const char *p, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++) {
                h ^= (uint8_t) p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

/* The invariants every file we write keeps, and every file we load must keep: a generation
 * exactly when a token is on record, and a pending token one generation ahead of the current. */
static bool state_is_consistent(const PfState *s) {
        if (!s->current && (s->generation != 0 || s->set_usec != 0))
                return false;
        if (s->current && s->generation == 0)
                return false;
        if (!s->pending)
                return s->pending_generation == 0;
        return s->generation < UINT64_MAX && s->pending_generation == s->generation + 1;
}

/* ---- Writing ---------------------------------------------------------------------------- */

static int text_append(StateText *t, const char *s) {
        size_t n = strlen(s);

        if (n > STATE_FILE_MAX - t->len)
                return -ENOBUFS;
        memcpy(t->s + t->len, s, n);
        t->len += n;
        t->s[t->len] = '\0';
        return 0;
}

static int text_append_u64(StateText *t, const char *key, uint64_t v) {
        char num[STRLEN("18446744073709551615") + 1];
        int r;

        (void) snprintf(num, sizeof num, "%" PRIu64, v);
        r = text_append(t, key);
        if (r < 0)
                return r;
        r = text_append(t, num);
        if (r < 0)
                return r;
        return text_append(t, "\n");
}

/* The token is copied into the text with memcpy only: no printf machinery ever sees it. */
static int text_append_token(StateText *t, const char *key, const Token *token) {
        _cleanup_token_string_ TokenString ts;
        int r;

        token_to_string(token, &ts);
        r = text_append(t, key);
        if (r < 0)
                return r;
        r = text_append(t, ts.s);
        if (r < 0)
                return r;
        return text_append(t, "\n");
}

static int state_format(const char *address, const PfState *s, StateText *t) {
        char sum[STRLEN(STATE_CHECKSUM_KEY) + STATE_CHECKSUM_DIGITS + 2];
        int r;

        t->len = 0;
        r = text_append(t, STATE_COMMENT);
        if (r >= 0)
                r = text_append_u64(t, "Version=", STATE_VERSION);
        if (r >= 0)
                r = text_append(t, "Address=");
        if (r >= 0)
                r = text_append(t, address);
        if (r >= 0)
                r = text_append(t, "\n");
        if (r >= 0 && s->current)
                r = text_append_token(t, "Token=", s->current);
        if (r >= 0)
                r = text_append_u64(t, "Generation=", s->generation);
        if (r >= 0)
                r = text_append_u64(t, "SetTimestampUSec=", s->set_usec);
        if (r >= 0 && s->pending) {
                r = text_append_token(t, "PendingToken=", s->pending);
                if (r >= 0)
                        r = text_append_u64(t, "PendingGeneration=", s->pending_generation);
        }
        if (r < 0)
                return r;

        (void) snprintf(sum, sizeof sum, STATE_CHECKSUM_KEY "%016" PRIx64 "\n", fnv1a64(t->s, t->len));
        return text_append(t, sum);
}

static void temp_name(const char *name, char *buf, size_t size) {
        static uint64_t counter;
        uint64_t r;

        /* Uniqueness is what O_EXCL enforces; randomness only makes a clash unlikely. */
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t) sizeof r)
                r = ((uint64_t) getpid() << 32) ^ (uint64_t) time(NULL) ^ ++counter;
        (void) snprintf(buf, size, ".#%s%016" PRIx64, name, r);
}

/* Replaces dir_fd/name with the text: temp file (0600), fsync, rename, fsync of the directory.
 * A reader sees the old file or the new one, never a mix. If the directory fsync fails the
 * rename may or may not survive a power cut; either file is a state we can recover from. */
static int write_atomic(int dir_fd, const char *name, const StateText *t) {
        char tmp[STATE_NAME_MAX + 24];
        _cleanup_close_ int fd = -1;
        int r;

        for (unsigned attempt = 0; fd < 0; attempt++) {
                temp_name(name, tmp, sizeof tmp);
                fd = openat(dir_fd, tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                            0600);
                if (fd < 0 && (errno != EEXIST || attempt >= 16))
                        return negative_errno();
        }

        /* The umask may only have removed bits; make the mode exactly what we promise. */
        if (fchmod(fd, 0600) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = loop_write(fd, t->s, t->len);
        if (r < 0)
                goto fail;
        if (fsync(fd) < 0) {
                r = negative_errno();
                goto fail;
        }
        r = close(TAKE_FD(fd));
        if (r < 0) {
                r = negative_errno();
                goto fail;
        }
        if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (fsync(dir_fd) < 0)
                return negative_errno();
        return 0;

fail:
        (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

int state_save(int dir_fd, const char *address, const PfState *s) {
        _cleanup_state_text_ StateText t;
        char canonical[PCI_ADDRESS_MAX], name[STATE_NAME_MAX];
        int r;

        if (dir_fd < 0 || !s)
                return -EINVAL;
        r = pci_address_parse(address, canonical);
        if (r < 0)
                return r;
        /* Never write what state_load() would refuse. */
        if (!state_is_consistent(s))
                return -EINVAL;

        r = state_format(canonical, s, &t);
        if (r < 0)
                return r;
        state_file_name(canonical, name, sizeof name);
        return write_atomic(dir_fd, name, &t);
}

/* ---- Reading ---------------------------------------------------------------------------- */

/* Plain decimal: no sign, no blanks, no leading zeros, no overflow. */
static int parse_u64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
                return -EBADMSG;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EBADMSG;
                if (v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        *ret = v;
        return 0;
}

static int parse_token(const char *s, Token **ret) {
        _cleanup_(token_freep) Token *t = NULL;

        t = token_new();
        if (!t)
                return -ENOMEM;
        if (token_from_string(s, t) < 0)
                return -EBADMSG;
        *ret = TAKE_PTR(t);
        return 0;
}

enum {
        KEY_VERSION = 1 << 0,
        KEY_ADDRESS = 1 << 1,
        KEY_TOKEN = 1 << 2,
        KEY_GENERATION = 1 << 3,
        KEY_SET_TIMESTAMP = 1 << 4,
        KEY_PENDING_TOKEN = 1 << 5,
        KEY_PENDING_GENERATION = 1 << 6,
};

static int parse_line(char *line, const char *address, unsigned *seen, PfState *s) {
        static const struct {
                const char *key;
                unsigned bit;
        } keys[] = {
                { "Version", KEY_VERSION },
                { "Address", KEY_ADDRESS },
                { "Token", KEY_TOKEN },
                { "Generation", KEY_GENERATION },
                { "SetTimestampUSec", KEY_SET_TIMESTAMP },
                { "PendingToken", KEY_PENDING_TOKEN },
                { "PendingGeneration", KEY_PENDING_GENERATION },
        };
        unsigned bit = 0;
        uint64_t v;
        char *value;
        int r;

        value = strchr(line, '=');
        if (!value)
                return -EBADMSG;
        *value++ = '\0';
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (streq(line, keys[i].key))
                        bit = keys[i].bit;
        if (bit == 0 || (*seen & bit))
                return -EBADMSG;
        /* Version comes first, so that a later format can change everything after it. */
        if (*seen == 0 && bit != KEY_VERSION)
                return -EBADMSG;
        *seen |= bit;

        switch (bit) {
        case KEY_VERSION:
                r = parse_u64(value, &v);
                if (r < 0 || v != STATE_VERSION)
                        return -EBADMSG;
                return 0;
        case KEY_ADDRESS:
                return streq(value, address) ? 0 : -EBADMSG;
        case KEY_TOKEN:
                return parse_token(value, &s->current);
        case KEY_GENERATION:
                return parse_u64(value, &s->generation);
        case KEY_SET_TIMESTAMP:
                return parse_u64(value, &s->set_usec);
        case KEY_PENDING_TOKEN:
                return parse_token(value, &s->pending);
        case KEY_PENDING_GENERATION:
                return parse_u64(value, &s->pending_generation);
        }
        return -EBADMSG;
}

/* Parses the text in place (it is wiped by the caller). */
static int state_parse(StateText *t, const char *address, PfState **ret) {
        _cleanup_(pf_state_freep) PfState *s = NULL;
        const unsigned required = KEY_VERSION | KEY_ADDRESS | KEY_GENERATION | KEY_SET_TIMESTAMP;
        char *p, *end, *last, *eol;
        unsigned seen = 0;
        uint64_t sum;
        int r;

        /* A file cut short anywhere lacks the final newline or the checksum line. */
        if (t->len == 0 || t->s[t->len - 1] != '\n' || memchr(t->s, '\0', t->len))
                return -EBADMSG;
        t->s[t->len] = '\0';

        /* The last line is the checksum over everything before it. */
        end = t->s + t->len - 1;
        *end = '\0';
        last = strrchr(t->s, '\n');
        if (!last)
                return -EBADMSG;
        last++;
        if (strncmp(last, STATE_CHECKSUM_KEY, STRLEN(STATE_CHECKSUM_KEY)) != 0)
                return -EBADMSG;
        p = last + STRLEN(STATE_CHECKSUM_KEY);
        if (strlen(p) != STATE_CHECKSUM_DIGITS || strspn(p, "0123456789abcdef") != STATE_CHECKSUM_DIGITS)
                return -EBADMSG;
        sum = strtoull(p, NULL, 16);
        if (sum != fnv1a64(t->s, (size_t) (last - t->s)))
                return -EBADMSG;
        last[-1] = '\0';

        s = pf_state_new();
        if (!s)
                return -ENOMEM;

        /* The first line is the warning comment; no other comments or blank lines. */
        p = t->s;
        if (*p != '#')
                return -EBADMSG;
        eol = strchr(p, '\n');
        if (!eol)
                return -EBADMSG;
        for (p = eol + 1; p < last; p = eol + 1) {
                eol = strchr(p, '\n');
                if (eol)
                        *eol = '\0';
                else
                        eol = last - 1;
                r = parse_line(p, address, &seen, s);
                if (r < 0)
                        return r;
        }

        if ((seen & required) != required)
                return -EBADMSG;
        if (!!(seen & KEY_PENDING_TOKEN) != !!(seen & KEY_PENDING_GENERATION))
                return -EBADMSG;
        if (!state_is_consistent(s))
                return -EBADMSG;

        *ret = TAKE_PTR(s);
        return 0;
}

int state_load(int dir_fd, const char *address, PfState **ret) {
        _cleanup_state_text_ StateText t;
        char canonical[PCI_ADDRESS_MAX], name[STATE_NAME_MAX];
        _cleanup_close_ int fd = -1;
        struct stat st;
        ssize_t n;
        int r;

        if (dir_fd < 0 || !ret)
                return -EINVAL;
        r = pci_address_parse(address, canonical);
        if (r < 0)
                return r;
        state_file_name(canonical, name, sizeof name);

        t.len = 0;
        fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP ? -EBADMSG : negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;

        /* Bounded: one byte more than the largest valid file tells us it is too long. */
        n = loop_read(fd, t.s, sizeof t.s);
        if (n < 0)
                return (int) n;
        t.len = (size_t) n;
        if (t.len > STATE_FILE_MAX)
                return -EBADMSG;

        return state_parse(&t, canonical, ret);
}

/* Removes the PF's state file, or renames it to its name plus `suffix` when that is not NULL;
 * either way the change of the directory is made durable. 1 if there was a file. */
static int state_unlink_or_rename(int dir_fd, const char *address, const char *suffix) {
        char canonical[PCI_ADDRESS_MAX], name[STATE_NAME_MAX], aside[STATE_NAME_MAX + 16];
        int r;

        if (dir_fd < 0)
                return -EINVAL;
        r = pci_address_parse(address, canonical);
        if (r < 0)
                return r;
        state_file_name(canonical, name, sizeof name);

        if (suffix) {
                snprintf(aside, sizeof aside, "%s%s", name, suffix);
                r = renameat(dir_fd, name, dir_fd, aside);
        } else
                r = unlinkat(dir_fd, name, 0);
        if (r < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (fsync(dir_fd) < 0)
                return negative_errno();
        return 1;
}

int state_remove(int dir_fd, const char *address) {
        return state_unlink_or_rename(dir_fd, address, NULL);
}

int state_set_aside(int dir_fd, const char *address) {
        /* Replaces an older damaged copy: the newest damage is the one worth looking at. */
        return state_unlink_or_rename(dir_fd, address, ".damaged");
}

/* ---- The directory ---------------------------------------------------------------------- */

static int mkdir_parents_and_self(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;

        p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
                *slash = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *slash = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* Temp files are never the record (only the rename makes them so), so removing leftovers of an
 * interrupted write loses nothing. Best effort: they are ignored by state_load() anyway. */
static void remove_stale_temp_files(int dir_fd) {
        DIR *d;
        int fd;

        fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return;
        d = fdopendir(fd);
        if (!d) {
                safe_close(fd);
                return;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (strncmp(de->d_name, STATE_TEMP_PREFIX, STRLEN(STATE_TEMP_PREFIX)) == 0)
                        (void) unlinkat(dir_fd, de->d_name, 0);
        closedir(d);
}

int state_dir_open(const char *path, int *ret_fd) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        if (!path || !*path || !ret_fd)
                return -EINVAL;

        r = mkdir_parents_and_self(path, 0700);
        if (r < 0)
                return r;
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* Tokens live here: nobody but us may look in or drop files in. */
        if (st.st_uid != geteuid() || (st.st_mode & 0077) != 0)
                return -EPERM;

        remove_stale_temp_files(fd);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* ---- Rotation ----------------------------------------------------------------------------
 * Each step saves the would-be state first and changes the caller's PfState only once that is on
 * disk, so memory and disk never disagree and a failed save loses nothing. */

int state_begin_rotation(int dir_fd, const char *address, PfState *s, const Token *next) {
        _cleanup_(token_freep) Token *pending = NULL;
        PfState n;
        int r;

        if (!s || !next)
                return -EINVAL;
        /* The kernel may already hold the pending token: replacing it could lose the only one
         * it accepts. The caller resolves it (commit or abort) first. */
        if (s->pending)
                return -EBUSY;
        if (s->generation == UINT64_MAX)
                return -EOVERFLOW;

        pending = token_new();
        if (!pending)
                return -ENOMEM;
        token_copy(pending, next);

        n = *s;
        n.pending = pending;
        n.pending_generation = s->generation + 1;
        r = state_save(dir_fd, address, &n);
        if (r < 0)
                return r;

        s->pending = TAKE_PTR(pending);
        s->pending_generation = n.pending_generation;
        return 0;
}

int state_commit_rotation(int dir_fd, const char *address, PfState *s, uint64_t now_usec) {
        PfState n;
        int r;

        if (!s || !s->pending)
                return -EINVAL;

        n = (PfState) {
                .current = s->pending,
                .generation = s->pending_generation,
                .set_usec = now_usec,
        };
        r = state_save(dir_fd, address, &n);
        if (r < 0)
                return r;

        token_free(s->current);
        *s = n;
        return 0;
}

int state_abort_rotation(int dir_fd, const char *address, PfState *s) {
        PfState n;
        int r;

        if (!s)
                return -EINVAL;
        if (!s->pending)
                return 0;

        n = *s;
        n.pending = NULL;
        n.pending_generation = 0;
        r = state_save(dir_fd, address, &n);
        if (r < 0)
                return r;

        token_free(s->pending);
        *s = n;
        return 0;
}
