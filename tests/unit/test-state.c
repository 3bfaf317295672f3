/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/state.c on a real temporary directory: format, atomicity, damage detection,
 * rotation recovery and the directory's permissions. */

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "state.h"
#include "string-util.h"
#include "test-util.h"

#define ADDR "0000:3b:00.0"
#define FILE_NAME "pf-0000_3b_00.0.state"
#define STATE_TEST_BIG 4200 /* more than the 4 KiB a state file may have */

static char *tmp_root;

static void setup(void) {
        ck_assert_int_eq(test_tmpdir_new("test-state", &tmp_root), 0);
}

static void teardown(void) {
        (void) test_rm_rf(tmp_root);
        tmp_root = mfree(tmp_root);
}

/* Opens <tmp_root>/state through the code under test. */
static int open_state_dir(void) {
        char path[512];
        int fd = -1;

        snprintf(path, sizeof path, "%s/state", tmp_root);
        ck_assert_int_eq(state_dir_open(path, &fd), 0);
        ck_assert_int_ge(fd, 0);
        return fd;
}

static char *read_at(int dir_fd, const char *name, size_t *ret_len) {
        char *buf = NULL;

        ck_assert_int_eq(test_read_file_at(dir_fd, name, &buf, ret_len), 0);
        return buf;
}

static void write_at(int dir_fd, const char *name, const char *p, size_t n) {
        ck_assert_int_eq(test_write_file_at(dir_fd, name, p, n, 0600), 0);
}

static bool exists_at(int dir_fd, const char *name) {
        struct stat st;

        return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Names in the directory other than . and .., as one "a b c" string (sorted is not needed: tests
 * compare against a single expected name or count them). */
static unsigned count_entries(int dir_fd, char *ret_first, size_t size) {
        unsigned n = 0;
        DIR *d;

        d = fdopendir(fcntl(dir_fd, F_DUPFD_CLOEXEC, 3));
        ck_assert_ptr_nonnull(d);
        rewinddir(d);
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (n == 0 && ret_first)
                        snprintf(ret_first, size, "%s", de->d_name);
                n++;
        }
        closedir(d);
        return n;
}

static Token *new_token(void) {
        Token *t = token_new();

        ck_assert_ptr_nonnull(t);
        token_generate(t);
        return t;
}

static PfState *state_with(const Token *current, uint64_t gen, uint64_t set_usec) {
        PfState *s = pf_state_new();

        ck_assert_ptr_nonnull(s);
        if (current) {
                s->current = token_new();
                ck_assert_ptr_nonnull(s->current);
                token_copy(s->current, current);
        }
        s->generation = gen;
        s->set_usec = set_usec;
        return s;
}

static void assert_token(const Token *got, const Token *want) {
        if (!want) {
                ck_assert_ptr_null(got);
                return;
        }
        ck_assert_ptr_nonnull(got);
        ck_assert(token_equal(got, want));
}

static uint64_t fnv1a64(const char *p, size_t n) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < n; i++) {
                h ^= (uint8_t) p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

/* Writes `body` followed by a correct checksum line: to test what the parser does with files
 * that are well-formed at the checksum level but wrong in content. */
static void write_with_checksum(int dir_fd, const char *name, const char *body) {
        char buf[8192];
        int n;

        n = snprintf(buf, sizeof buf, "%sChecksum=%016" PRIx64 "\n", body, fnv1a64(body, strlen(body)));
        ck_assert_int_lt(n, (int) sizeof buf);
        write_at(dir_fd, name, buf, (size_t) n);
}

START_TEST(test_file_name) {
        char buf[64];

        state_file_name("0000:3b:00.0", buf, sizeof buf);
        ck_assert_str_eq(buf, "pf-0000_3b_00.0.state");
        state_file_name("10000:00:1f.7", buf, sizeof buf);
        ck_assert_str_eq(buf, "pf-10000_00_1f.7.state");
}
END_TEST

START_TEST(test_round_trip) {
        _cleanup_(token_freep) Token *a = new_token(), *b = new_token();
        _cleanup_(pf_state_freep) PfState *s = NULL, *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();
        size_t used = token_pool_used();

        /* No record yet. */
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -ENOENT);
        ck_assert_ptr_null(l);

        /* Nothing on record but the fact that we manage it. */
        s = state_with(NULL, 0, 0);
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        assert_token(l->current, NULL);
        assert_token(l->pending, NULL);
        ck_assert_uint_eq(l->generation, 0);
        ck_assert_uint_eq(l->set_usec, 0);
        l = pf_state_free(l);
        s = pf_state_free(s);

        /* A token, then a token with a rotation in flight; the address may be given in any case. */
        s = state_with(a, 3, UINT64_C(1700000000123456));
        ck_assert_int_eq(state_save(dir_fd, "0000:3B:00.0", s), 0);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        assert_token(l->current, a);
        assert_token(l->pending, NULL);
        ck_assert_uint_eq(l->generation, 3);
        ck_assert_uint_eq(l->set_usec, UINT64_C(1700000000123456));
        ck_assert_uint_eq(l->pending_generation, 0);
        l = pf_state_free(l);

        s->pending = token_new();
        token_copy(s->pending, b);
        s->pending_generation = 4;
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        ck_assert_int_eq(state_load(dir_fd, "0000:3b:00.0", &l), 0);
        assert_token(l->current, a);
        assert_token(l->pending, b);
        ck_assert_uint_eq(l->generation, 3);
        ck_assert_uint_eq(l->pending_generation, 4);
        l = pf_state_free(l);

        /* Extremes of the numbers survive. */
        s->generation = UINT64_MAX - 1;
        s->pending_generation = UINT64_MAX;
        s->set_usec = UINT64_MAX;
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        ck_assert_uint_eq(l->generation, UINT64_MAX - 1);
        ck_assert_uint_eq(l->pending_generation, UINT64_MAX);
        ck_assert_uint_eq(l->set_usec, UINT64_MAX);
        l = pf_state_free(l);

        /* Another PF has its own file. */
        ck_assert_int_eq(state_load(dir_fd, "0000:3b:00.1", &l), -ENOENT);

        /* Everything loaded was released: no token left behind in the pool. */
        s = pf_state_free(s);
        ck_assert_uint_eq(token_pool_used(), used);
}
END_TEST

START_TEST(test_file_format) {
        _cleanup_(token_freep) Token *a = new_token();
        _cleanup_(pf_state_freep) PfState *s = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();
        _cleanup_free_ char *text = NULL;
        TokenString ts;
        char expect[1024];
        size_t len;

        s = state_with(a, 7, 42);
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        text = read_at(dir_fd, FILE_NAME, &len);
        token_to_string(a, &ts);
        snprintf(expect, sizeof expect,
                 "# vfio-tokend state: do not edit, do not share (holds a secret)\n"
                 "Version=1\n"
                 "Address=0000:3b:00.0\n"
                 "Token=%s\n"
                 "Generation=7\n"
                 "SetTimestampUSec=42\n",
                 ts.s);
        ck_assert_uint_eq(strncmp(text, expect, strlen(expect)), 0);
        /* The checksum is FNV-1a 64 of every byte before it, as documented. */
        snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "Checksum=%016" PRIx64 "\n",
                 fnv1a64(expect, strlen(expect)));
        ck_assert_str_eq(text, expect);
        ck_assert_uint_eq(len, strlen(expect));
        explicit_bzero(text, len);
        token_string_wipe(&ts);
}
END_TEST

START_TEST(test_modes) {
        _cleanup_(token_freep) Token *a = new_token();
        _cleanup_(pf_state_freep) PfState *s = state_with(a, 1, 1);
        char path[512];
        struct stat st;
        int dir_fd;

        /* Whatever the umask, the promise holds: 0700 directory (created), 0600 file. */
        umask(0);
        dir_fd = open_state_dir();
        snprintf(path, sizeof path, "%s/state", tmp_root);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0700);

        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        ck_assert_int_eq(fstatat(dir_fd, FILE_NAME, &st, 0), 0);
        ck_assert(S_ISREG(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        ck_assert_uint_eq(st.st_uid, geteuid());

        umask(0277);
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        ck_assert_int_eq(fstatat(dir_fd, FILE_NAME, &st, 0), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
        umask(022);
        close(dir_fd);

        /* O_CLOEXEC on the directory fd. */
        dir_fd = open_state_dir();
        ck_assert_int_ne(fcntl(dir_fd, F_GETFD) & FD_CLOEXEC, 0);
        close(dir_fd);
}
END_TEST

static unsigned count_occurrences(const char *hay, const char *needle) {
        unsigned n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

START_TEST(test_token_only_in_file) {
        _cleanup_(token_freep) Token *a = new_token(), *b = new_token();
        _cleanup_(pf_state_freep) PfState *s = state_with(a, 1, 5);
        _cleanup_close_ int dir_fd = open_state_dir();
        _cleanup_free_ char *text = NULL;
        TokenString ta, tb;
        char first[256];

        token_to_string(a, &ta);
        token_to_string(b, &tb);
        ck_assert_int_eq(state_begin_rotation(dir_fd, ADDR, s, b), 0);

        /* One file in the directory, no temp file left behind, each token in it exactly once. */
        ck_assert_uint_eq(count_entries(dir_fd, first, sizeof first), 1);
        ck_assert_str_eq(first, FILE_NAME);
        text = read_at(dir_fd, FILE_NAME, NULL);
        ck_assert_uint_eq(count_occurrences(text, ta.s), 1);
        ck_assert_uint_eq(count_occurrences(text, tb.s), 1);
        text = mfree(text);

        /* After commit the old token is gone from disk too. */
        ck_assert_int_eq(state_commit_rotation(dir_fd, ADDR, s, 6), 0);
        ck_assert_uint_eq(count_entries(dir_fd, first, sizeof first), 1);
        text = read_at(dir_fd, FILE_NAME, NULL);
        ck_assert_uint_eq(count_occurrences(text, ta.s), 0);
        ck_assert_uint_eq(count_occurrences(text, tb.s), 1);
        token_string_wipe(&ta);
        token_string_wipe(&tb);
}
END_TEST

START_TEST(test_stale_temp_ignored) {
        _cleanup_(token_freep) Token *a = new_token(), *b = new_token();
        _cleanup_(pf_state_freep) PfState *s = state_with(a, 2, 9), *l = NULL, *n = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();
        _cleanup_free_ char *full = NULL;
        char path[512];
        size_t len;

        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);

        /* An interrupted write of a newer state: the temp file got half its text, no rename. */
        n = state_with(b, 3, 10);
        ck_assert_int_eq(state_save(dir_fd, "0000:3b:00.1", n), 0);
        full = read_at(dir_fd, "pf-0000_3b_00.1.state", &len);
        write_at(dir_fd, ".#" FILE_NAME "0123456789abcdef", full, len / 2);
        write_at(dir_fd, ".#" FILE_NAME "fedcba9876543210", "", 0);
        ck_assert_int_eq(unlinkat(dir_fd, "pf-0000_3b_00.1.state", 0), 0);

        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        assert_token(l->current, a);
        ck_assert_uint_eq(l->generation, 2);
        l = pf_state_free(l);

        /* A later save is not disturbed by them. */
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        ck_assert(exists_at(dir_fd, ".#" FILE_NAME "0123456789abcdef"));

        /* Opening the directory (as at start) clears the leftovers, nothing else. */
        snprintf(path, sizeof path, "%s/state", tmp_root);
        close(TAKE_FD(dir_fd));
        ck_assert_int_eq(state_dir_open(path, &dir_fd), 0);
        ck_assert(!exists_at(dir_fd, ".#" FILE_NAME "0123456789abcdef"));
        ck_assert(!exists_at(dir_fd, ".#" FILE_NAME "fedcba9876543210"));
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        assert_token(l->current, a);
        explicit_bzero(full, len);
}
END_TEST

/* Puts a rotation to `pending` in flight in `s`, saves it and returns the file's text: a full
 * record, to be damaged. */
static char *save_pending(int dir_fd, PfState *s, const Token *pending, size_t *ret_len) {
        s->pending = token_new();
        token_copy(s->pending, pending);
        s->pending_generation = s->generation + 1;
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        return read_at(dir_fd, FILE_NAME, ret_len);
}

START_TEST(test_truncated) {
        _cleanup_(token_freep) Token *a = new_token(), *b = new_token();
        _cleanup_(pf_state_freep) PfState *s = state_with(a, 2, 9), *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();
        _cleanup_free_ char *full = NULL;
        struct stat st;
        size_t len;

        full = save_pending(dir_fd, s, b, &len);

        /* Cut anywhere, the file is refused and left in place for the admin. */
        for (size_t cut = 0; cut < len; cut++) {
                write_at(dir_fd, FILE_NAME, full, cut);
                ck_assert_msg(state_load(dir_fd, ADDR, &l) == -EBADMSG, "cut at %zu accepted", cut);
                ck_assert_ptr_null(l);
                ck_assert_int_eq(fstatat(dir_fd, FILE_NAME, &st, 0), 0);
                ck_assert_int_eq(st.st_size, (off_t) cut);
        }
        write_at(dir_fd, FILE_NAME, full, len);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        explicit_bzero(full, len);
}
END_TEST

START_TEST(test_corrupted_bytes) {
        _cleanup_(token_freep) Token *a = new_token(), *b = new_token();
        _cleanup_(pf_state_freep) PfState *s = state_with(a, 2, 9), *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();
        _cleanup_free_ char *full = NULL, *longer = NULL;
        size_t len;

        full = save_pending(dir_fd, s, b, &len);

        /* Any single changed byte is caught (the checksum, or the grammar of the last line). */
        for (size_t i = 0; i < len; i++)
                for (unsigned bit = 0; bit < 8; bit++) {
                        full[i] ^= (char) (1u << bit);
                        write_at(dir_fd, FILE_NAME, full, len);
                        full[i] ^= (char) (1u << bit);
                        ck_assert_msg(state_load(dir_fd, ADDR, &l) == -EBADMSG, "flip at %zu.%u accepted",
                                      i, bit);
                }

        /* Appended garbage, and the file of another PF under this PF's name. */
        longer = malloc(len + 6);
        ck_assert_ptr_nonnull(longer);
        memcpy(longer, full, len);
        longer[len] = 'x';
        write_at(dir_fd, FILE_NAME, longer, len + 1);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -EBADMSG);
        memcpy(longer + len, "Foo=1\n", 6);
        write_at(dir_fd, FILE_NAME, longer, len + 6);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -EBADMSG);
        explicit_bzero(longer, len + 6);
        write_at(dir_fd, FILE_NAME, full, len);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        l = pf_state_free(l);
        ck_assert_int_eq(state_save(dir_fd, "0000:3b:00.1", s), 0);
        ck_assert_int_eq(renameat(dir_fd, "pf-0000_3b_00.1.state", dir_fd, FILE_NAME), 0);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -EBADMSG);
        explicit_bzero(full, len);
}
END_TEST

START_TEST(test_bad_content) {
        static const char *const bodies[] = {
                /* missing keys */
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nSetTimestampUSec=0\n",
                "# c\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=0\n",
                "# c\nVersion=1\nGeneration=0\nSetTimestampUSec=0\n",
                /* unknown key, duplicate key, comment or blank line in the middle */
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=0\nFoo=1\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nGeneration=0\nSetTimestampUSec=0\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\n# x\nGeneration=0\nSetTimestampUSec=0\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\n\nGeneration=0\nSetTimestampUSec=0\n",
                /* no comment line; Version not first; another version */
                "Version=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=0\n",
                "# c\nAddress=0000:3b:00.0\nVersion=1\nGeneration=0\nSetTimestampUSec=0\n",
                "# c\nVersion=2\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=0\n",
                /* wrong address, or one not in canonical form */
                "# c\nVersion=1\nAddress=0000:3b:00.1\nGeneration=0\nSetTimestampUSec=0\n",
                "# c\nVersion=1\nAddress=0000:3B:00.0\nGeneration=0\nSetTimestampUSec=0\n",
                /* numbers: sign, leading zero, blank, overflow, empty */
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=+1\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=01\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec= 1\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\n"
                "SetTimestampUSec=18446744073709551616\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=\n",
                /* tokens: malformed; a generation without a token and the reverse */
                "# c\nVersion=1\nAddress=0000:3b:00.0\nToken=not-a-uuid\nGeneration=1\nSetTimestampUSec=0\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nToken=6f1c2b1e-4b7a-4d0e-9c53-1f0d2a3b4c5\n"
                "Generation=1\nSetTimestampUSec=0\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=1\nSetTimestampUSec=0\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=5\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nToken=6f1c2b1e-4b7a-4d0e-9c53-1f0d2a3b4c5d\n"
                "Generation=0\nSetTimestampUSec=0\n",
                /* pending: without its generation, the reverse, the wrong generation */
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=0\n"
                "PendingToken=6f1c2b1e-4b7a-4d0e-9c53-1f0d2a3b4c5d\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=0\n"
                "PendingGeneration=1\n",
                "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=0\n"
                "PendingToken=6f1c2b1e-4b7a-4d0e-9c53-1f0d2a3b4c5d\nPendingGeneration=2\n",
        };
        _cleanup_(pf_state_freep) PfState *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();
        size_t used = token_pool_used();

        /* The grammar accepts what we write, here with a foreign comment and keys in another order. */
        write_with_checksum(dir_fd, FILE_NAME,
                "# anything\nVersion=1\nSetTimestampUSec=0\nGeneration=0\nAddress=0000:3b:00.0\n"
                "PendingGeneration=1\nPendingToken=6F1C2B1E-4B7A-4D0E-9C53-1F0D2A3B4C5D\n");
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        ck_assert_ptr_null(l->current);
        ck_assert_ptr_nonnull(l->pending);
        ck_assert_uint_eq(l->pending_generation, 1);
        l = pf_state_free(l);

        for (size_t i = 0; i < ELEMENTSOF(bodies); i++) {
                write_with_checksum(dir_fd, FILE_NAME, bodies[i]);
                ck_assert_msg(state_load(dir_fd, ADDR, &l) == -EBADMSG, "body %zu accepted", i);
                ck_assert_ptr_null(l);
        }
        /* A NUL byte inside, under a correct checksum. */
        {
                static const char body[] = "# c\nVersion=1\nAddress=0000:3b:00.0\nGeneration=0\n"
                                           "SetTimestampUSec=0\0\n";
                char buf[256];
                int n;

                memcpy(buf, body, sizeof body - 1);
                n = snprintf(buf + sizeof body - 1, sizeof buf - sizeof body + 1,
                             "Checksum=%016" PRIx64 "\n", fnv1a64(body, sizeof body - 1));
                write_at(dir_fd, FILE_NAME, buf, sizeof body - 1 + (size_t) n);
                ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -EBADMSG);
        }

        /* Tokens parsed before the error was found are released. */
        ck_assert_uint_eq(token_pool_used(), used);
}
END_TEST

START_TEST(test_not_a_file) {
        _cleanup_(pf_state_freep) PfState *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();
        char big[STATE_TEST_BIG];

        /* Too long (beyond the 4 KiB bound) even if well-formed otherwise. */
        memset(big, 'x', sizeof big);
        big[0] = '#';
        big[sizeof big - 2] = '\n';
        big[sizeof big - 1] = '\0';
        {
                char body[sizeof big + 200];

                snprintf(body, sizeof body, "%s%s", big,
                         "Version=1\nAddress=0000:3b:00.0\nGeneration=0\nSetTimestampUSec=0\n");
                write_with_checksum(dir_fd, FILE_NAME, body);
        }
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -EBADMSG);

        /* A directory or a symlink where the file should be. */
        ck_assert_int_eq(unlinkat(dir_fd, FILE_NAME, 0), 0);
        ck_assert_int_eq(mkdirat(dir_fd, FILE_NAME, 0700), 0);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -EBADMSG);
        ck_assert_int_eq(unlinkat(dir_fd, FILE_NAME, AT_REMOVEDIR), 0);
        ck_assert_int_eq(symlinkat("/etc/passwd", dir_fd, FILE_NAME), 0);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -EBADMSG);
        ck_assert(exists_at(dir_fd, FILE_NAME));
}
END_TEST

START_TEST(test_arguments) {
        _cleanup_(token_freep) Token *a = new_token();
        _cleanup_(pf_state_freep) PfState *s = state_with(a, 1, 1), *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();

        ck_assert_int_eq(state_save(dir_fd, "0000:3b:00", s), -EINVAL);
        ck_assert_int_eq(state_load(dir_fd, "../etc/passwd", &l), -EINVAL);
        ck_assert_int_eq(state_remove(dir_fd, "x"), -EINVAL);

        /* States that break the invariants are never written. */
        s->generation = 0;
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), -EINVAL);
        s->generation = 1;
        s->pending_generation = 2;
        ck_assert_int_eq(state_save(dir_fd, ADDR, s), -EINVAL);
        s->pending_generation = 0;
        ck_assert_int_eq(count_entries(dir_fd, NULL, 0), 0);

        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);
        ck_assert_int_eq(state_remove(dir_fd, ADDR), 1);
        ck_assert_int_eq(state_remove(dir_fd, ADDR), 0);
        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), -ENOENT);
}
END_TEST

/* "Crash" = forget everything in memory and recover from the disk alone. */
static PfState *reload(int dir_fd) {
        PfState *l = NULL;

        ck_assert_int_eq(state_load(dir_fd, ADDR, &l), 0);
        return l;
}

START_TEST(test_rotation_crash_points) {
        _cleanup_(token_freep) Token *old = new_token(), *next = new_token(), *third = new_token();
        _cleanup_(pf_state_freep) PfState *s = state_with(old, 5, 100), *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();

        ck_assert_int_eq(state_save(dir_fd, ADDR, s), 0);

        /* After begin (and equally after the SET ioctl, which writes nothing): both on record,
         * the kernel holds one of them. */
        ck_assert_int_eq(state_begin_rotation(dir_fd, ADDR, s, next), 0);
        assert_token(s->current, old);
        assert_token(s->pending, next);
        ck_assert_uint_eq(s->pending_generation, 6);
        l = reload(dir_fd);
        assert_token(l->current, old);
        assert_token(l->pending, next);
        ck_assert_uint_eq(l->generation, 5);
        ck_assert_uint_eq(l->set_usec, 100);
        ck_assert_uint_eq(l->pending_generation, 6);
        l = pf_state_free(l);

        /* A second begin while one is pending would lose a token the kernel may hold. */
        ck_assert_int_eq(state_begin_rotation(dir_fd, ADDR, s, third), -EBUSY);
        l = reload(dir_fd);
        assert_token(l->pending, next);
        l = pf_state_free(l);

        /* After commit: the new token alone. */
        ck_assert_int_eq(state_commit_rotation(dir_fd, ADDR, s, 200), 0);
        assert_token(s->current, next);
        assert_token(s->pending, NULL);
        ck_assert_uint_eq(s->generation, 6);
        ck_assert_uint_eq(s->set_usec, 200);
        ck_assert_uint_eq(s->pending_generation, 0);
        l = reload(dir_fd);
        assert_token(l->current, next);
        assert_token(l->pending, NULL);
        ck_assert_uint_eq(l->generation, 6);
        ck_assert_uint_eq(l->set_usec, 200);
        l = pf_state_free(l);
        ck_assert_int_eq(state_commit_rotation(dir_fd, ADDR, s, 300), -EINVAL);

        /* A failed SET: abort keeps the old token, and the next rotation goes ahead. */
        ck_assert_int_eq(state_begin_rotation(dir_fd, ADDR, s, third), 0);
        ck_assert_int_eq(state_abort_rotation(dir_fd, ADDR, s), 0);
        assert_token(s->current, next);
        assert_token(s->pending, NULL);
        ck_assert_uint_eq(s->generation, 6);
        l = reload(dir_fd);
        assert_token(l->current, next);
        assert_token(l->pending, NULL);
        ck_assert_uint_eq(l->generation, 6);
        ck_assert_uint_eq(l->set_usec, 200);
        l = pf_state_free(l);
        ck_assert_int_eq(state_abort_rotation(dir_fd, ADDR, s), 0);

        /* Recovery after a crash mid-rotation continues from the loaded state. */
        ck_assert_int_eq(state_begin_rotation(dir_fd, ADDR, s, third), 0);
        s = pf_state_free(s);
        s = reload(dir_fd);
        ck_assert_int_eq(state_commit_rotation(dir_fd, ADDR, s, 400), 0);
        l = reload(dir_fd);
        assert_token(l->current, third);
        ck_assert_uint_eq(l->generation, 7);
        ck_assert_uint_eq(l->set_usec, 400);
}
END_TEST

START_TEST(test_first_rotation) {
        _cleanup_(token_freep) Token *t = new_token();
        _cleanup_(pf_state_freep) PfState *s = pf_state_new(), *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir();

        /* From no token on record: pending is generation 1. */
        ck_assert_int_eq(state_begin_rotation(dir_fd, ADDR, s, t), 0);
        l = reload(dir_fd);
        assert_token(l->current, NULL);
        assert_token(l->pending, t);
        ck_assert_uint_eq(l->pending_generation, 1);
        l = pf_state_free(l);
        ck_assert_int_eq(state_commit_rotation(dir_fd, ADDR, s, 1), 0);
        l = reload(dir_fd);
        assert_token(l->current, t);
        ck_assert_uint_eq(l->generation, 1);
}
END_TEST

static void assert_unchanged(const PfState *s, const Token *cur_ptr, const Token *cur, uint64_t gen,
                             uint64_t set_usec, const Token *pend_ptr, const Token *pend,
                             uint64_t pend_gen) {
        ck_assert_ptr_eq(s->current, cur_ptr);
        assert_token(s->current, cur);
        ck_assert_uint_eq(s->generation, gen);
        ck_assert_uint_eq(s->set_usec, set_usec);
        ck_assert_ptr_eq(s->pending, pend_ptr);
        assert_token(s->pending, pend);
        ck_assert_uint_eq(s->pending_generation, pend_gen);
}

START_TEST(test_failing_save) {
        _cleanup_(token_freep) Token *old = new_token(), *next = new_token();
        _cleanup_(pf_state_freep) PfState *s = state_with(old, 5, 100), *l = NULL;
        _cleanup_close_ int dir_fd = open_state_dir(), gone_fd = -1;
        char gone[512];
        Token *cur_ptr = s->current, *pend_ptr;
        size_t used;

        /* Injection 1: the directory was removed under us (works as root too). */
        snprintf(gone, sizeof gone, "%s/gone", tmp_root);
        ck_assert_int_eq(mkdir(gone, 0700), 0);
        gone_fd = open(gone, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ck_assert_int_ge(gone_fd, 0);
        ck_assert_int_eq(rmdir(gone), 0);

        used = token_pool_used();
        ck_assert_int_lt(state_begin_rotation(gone_fd, ADDR, s, next), 0);
        assert_unchanged(s, cur_ptr, old, 5, 100, NULL, NULL, 0);
        ck_assert_uint_eq(token_pool_used(), used);
        ck_assert_int_lt(state_begin_rotation(-1, ADDR, s, next), 0);
        assert_unchanged(s, cur_ptr, old, 5, 100, NULL, NULL, 0);

        ck_assert_int_eq(state_begin_rotation(dir_fd, ADDR, s, next), 0);
        pend_ptr = s->pending;
        ck_assert_int_lt(state_commit_rotation(gone_fd, ADDR, s, 200), 0);
        assert_unchanged(s, cur_ptr, old, 5, 100, pend_ptr, next, 6);
        ck_assert_int_lt(state_abort_rotation(gone_fd, ADDR, s), 0);
        assert_unchanged(s, cur_ptr, old, 5, 100, pend_ptr, next, 6);

        /* Injection 2: the temp file is written but the rename fails (a non-empty directory sits
         * where the file goes). Memory is unchanged, no temp file (with the token) is left. */
        ck_assert_int_eq(unlinkat(dir_fd, FILE_NAME, 0), 0);
        ck_assert_int_eq(mkdirat(dir_fd, FILE_NAME, 0700), 0);
        {
                char inner[600];

                snprintf(inner, sizeof inner, "%s/state/%s/x", tmp_root, FILE_NAME);
                ck_assert_int_eq(close(open(inner, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        }
        ck_assert_int_lt(state_commit_rotation(dir_fd, ADDR, s, 200), 0);
        assert_unchanged(s, cur_ptr, old, 5, 100, pend_ptr, next, 6);
        ck_assert_int_lt(state_abort_rotation(dir_fd, ADDR, s), 0);
        assert_unchanged(s, cur_ptr, old, 5, 100, pend_ptr, next, 6);
        ck_assert_uint_eq(count_entries(dir_fd, NULL, 0), 1);

        /* Once the disk is writable again the same step goes through. */
        {
                char inner[600];

                snprintf(inner, sizeof inner, "%s/state/%s/x", tmp_root, FILE_NAME);
                ck_assert_int_eq(unlink(inner), 0);
                ck_assert_int_eq(unlinkat(dir_fd, FILE_NAME, AT_REMOVEDIR), 0);
        }
        ck_assert_int_eq(state_commit_rotation(dir_fd, ADDR, s, 200), 0);
        l = reload(dir_fd);
        assert_token(l->current, next);
        ck_assert_uint_eq(l->generation, 6);
}
END_TEST

START_TEST(test_dir_open) {
        char path[512], file[512];
        struct stat st;
        int fd = -1;

        /* Created with parents, 0700. */
        snprintf(path, sizeof path, "%s/a/b/c", tmp_root);
        ck_assert_int_eq(state_dir_open(path, &fd), 0);
        close(fd);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0700);

        /* Open to others: refused, and left as the admin made it. */
        ck_assert_int_eq(chmod(path, 0755), 0);
        fd = -1;
        ck_assert_int_eq(state_dir_open(path, &fd), -EPERM);
        ck_assert_int_eq(fd, -1);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
        ck_assert_int_eq(chmod(path, 0710), 0);
        ck_assert_int_eq(state_dir_open(path, &fd), -EPERM);
        ck_assert_int_eq(chmod(path, 0701), 0);
        ck_assert_int_eq(state_dir_open(path, &fd), -EPERM);
        ck_assert_int_eq(chmod(path, 0700), 0);
        ck_assert_int_eq(state_dir_open(path, &fd), 0);
        close(fd);

        /* Owned by someone else (only root can arrange that). */
        if (geteuid() == 0) {
                ck_assert_int_eq(chown(path, 65534, 65534), 0);
                ck_assert_int_eq(state_dir_open(path, &fd), -EPERM);
                ck_assert_int_eq(chown(path, 0, 0), 0);
        }

        /* Not a directory. */
        snprintf(file, sizeof file, "%s/file", tmp_root);
        ck_assert_int_eq(close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        ck_assert_int_eq(state_dir_open(file, &fd), -ENOTDIR);
        ck_assert_int_eq(state_dir_open("", &fd), -EINVAL);
}
END_TEST

static Suite *state_suite(void) {
        Suite *s = suite_create("state");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_file_name);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_file_format);
        tcase_add_test(tc, test_modes);
        tcase_add_test(tc, test_token_only_in_file);
        tcase_add_test(tc, test_stale_temp_ignored);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_corrupted_bytes);
        tcase_add_test(tc, test_bad_content);
        tcase_add_test(tc, test_not_a_file);
        tcase_add_test(tc, test_arguments);
        tcase_add_test(tc, test_rotation_crash_points);
        tcase_add_test(tc, test_first_rotation);
        tcase_add_test(tc, test_failing_save);
        tcase_add_test(tc, test_dir_open);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(state_suite);
