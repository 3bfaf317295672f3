/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the file and link helpers of tests/common: paths joined, directories made, files created,
 * written and read whole, links read back, trees removed, and fixture_read_file() and
 * fixture_write_file(). They know nothing of PCI. fx_rm_rf() and fx_read_file_at() are also the unit
 * tests' (test-util.c passes test_rm_rf() and test_read_file_at() on to them): one copy of each,
 * here, so that the fixture needs nothing of test-util.c, which needs a Manager. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "fixture-internal.h"
#include "macro.h"
#include "string-util.h"

char *fx_path_join(const char *a, const char *b) {
        char *p;

        if (asprintf(&p, "%s/%s", a, b) < 0)
                return NULL;
        return p;
}

int fx_mkdir_p(const char *path) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return negative_errno();
                *s = '/';
        }
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

int fx_write_file(const char *path, const char *contents, int flags) {
        _cleanup_close_ int fd = -1;
        size_t len = strlen(contents);

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY | flags, 0644);
        if (fd < 0)
                return negative_errno();
        if (len > 0 && write(fd, contents, len) != (ssize_t) len)
                return -EIO;
        return 0;
}

int fx_create_file(const char *path, const char *contents) {
        return fx_write_file(path, contents, O_CREAT | O_TRUNC);
}

int fx_touch(const char *path) {
        return fx_write_file(path, "", O_CREAT);
}

int fx_unlink_if_present(const char *path) {
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

/* Basename of the symlink at path, -ENOENT if there is none. */
int fx_link_name(const char *path, char **ret) {
        char target[PATH_MAX];
        const char *b;
        ssize_t n;

        n = readlink(path, target, sizeof target - 1);
        if (n < 0)
                return negative_errno();
        target[n] = '\0';
        b = strrchr(target, '/');
        b = b ? b + 1 : target;
        *ret = strdup(b);
        return *ret ? 0 : -ENOMEM;
}

static int rm_rf_at(int dir_fd, const char *name);

/* Empties the directory open at fd; takes fd. */
static int rm_rf_children(int fd) {
        DIR *d;
        int r = 0;

        d = fdopendir(fd);
        if (!d) {
                r = negative_errno();
                safe_close(fd);
                return r;
        }
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                int q;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                q = rm_rf_at(dirfd(d), de->d_name);
                if (q < 0 && r == 0)
                        r = q;
        }
        if (errno != 0 && r == 0)
                r = negative_errno();
        closedir(d);
        return r;
}

static int rm_rf_at(int dir_fd, const char *name) {
        struct stat st;
        int fd, r;

        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? negative_errno() : 0;

        /* A test may have taken our own rights away (chmod 000). AT_SYMLINK_NOFOLLOW: should the
         * directory have been replaced by a link since, this fails rather than follow it. */
        if ((st.st_mode & 0700) != 0700)
                (void) fchmodat(dir_fd, name, 0700, AT_SYMLINK_NOFOLLOW);
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        r = rm_rf_children(fd);
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = negative_errno();
        return r;
}

/* Never follows a symlink, nor chmod()s through one: a link is removed, never what it points at
 * (a test's link to /dev/null must not cost the machine its /dev/null). */
int fx_rm_rf(const char *path) {
        return rm_rf_at(AT_FDCWD, path);
}

int fx_read_file_at(int dir_fd, const char *path, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;
        ssize_t n;

        fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        do {
                if (size + 1 >= allocated) {
                        char *p = realloc(buf, allocated + 4096);

                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        allocated += 4096;
                }
                n = read(fd, buf + size, allocated - size - 1);
                if (n > 0)
                        size += (size_t) n;
        } while (n > 0);
        if (n < 0)
                return negative_errno();

        buf[size] = '\0';
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int fixture_read_file(Fixture *f, const char *relpath, char **ret) {
        _cleanup_free_ char *p = fx_path_join(f->base, relpath);

        if (!p)
                return -ENOMEM;
        return fx_read_file_at(AT_FDCWD, p, ret, NULL);
}

int fixture_write_file(Fixture *f, const char *relpath, const char *contents) {
        _cleanup_free_ char *p = fx_path_join(f->base, relpath);

        if (!p)
                return -ENOMEM;
        return fx_write_file(p, contents, O_TRUNC);
}
