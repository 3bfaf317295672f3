/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns reading the configuration from disk: the main file, then the conf.d/ drop-ins in name
 * order, each handed as text to the grammar (config.c), and config_load() that does both.
 *
 * config_load() lives here rather than in config.c with the rest of the public API so that the
 * dependency runs one way: this file calls the grammar through config-internal.h, the grammar
 * knows nothing of files, and config.c builds and fuzzes on its own. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "macro.h"
#include "string-util.h"
#include "strv.h"
#include "config-internal.h"
#include "config.h"

/* Far beyond any sane config (256 PFs take a few dozen KiB); stops a stray huge file early. */
#define CONFIG_MAX_FILE_SIZE (4U * 1024U * 1024U)

static void io_error(Parser *p, const char *file, int r, const char *what) {
        config_add_error(p, file, 0, "%s: %s", what, strerror(-r));
        if (p->io_error == 0)
                p->io_error = r;
}

static int read_fd(int fd, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, allocated = 0;

        for (;;) {
                ssize_t n;

                if (allocated - size < 4096) {
                        size_t a = allocated ? allocated * 2 : 16384;
                        char *b;

                        if (a > CONFIG_MAX_FILE_SIZE + 1)
                                a = CONFIG_MAX_FILE_SIZE + 1;
                        if (a <= size)
                                return -EFBIG;
                        b = realloc(buf, a);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                        allocated = a;
                }
                n = read(fd, buf + size, allocated - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        if (size > CONFIG_MAX_FILE_SIZE)
                return -EFBIG;
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* Reads and parses one file. Problems go to the error list; only -ENOMEM is returned. */
static int parse_fd(Parser *p, int fd, const char *file) {
        _cleanup_free_ char *data = NULL;
        size_t size;
        int r;

        r = read_fd(fd, &data, &size);
        if (r == -ENOMEM)
                return r;
        if (r == -EFBIG)
                config_add_error(p, file, 0, "file is larger than %u bytes", CONFIG_MAX_FILE_SIZE);
        else if (r < 0)
                io_error(p, file, r, "cannot read");
        else
                config_parse_buffer(p, file, data, size);
        return 0;
}

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_dropin_name(const char *name) {
        size_t n = strlen(name);

        /* Hidden files are editor and package-manager leftovers, as in systemd. */
        return name[0] != '.' && n > STRLEN(".conf") && streq(name + n - STRLEN(".conf"), ".conf");
}

static int parse_dropins(Parser *p, const char *dir) {
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = -1;
        size_t n = 0;
        DIR *d;
        int r = 0, dirfd_copy;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                if (errno != ENOENT)
                        io_error(p, dir, negative_errno(), "cannot open directory");
                return 0;
        }
        /* readdir() gets its own fd, dfd stays for openat(). */
        dirfd_copy = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        d = dirfd_copy >= 0 ? fdopendir(dirfd_copy) : NULL;
        if (!d) {
                io_error(p, dir, negative_errno(), "cannot read directory");
                safe_close(dirfd_copy);
                return 0;
        }
        for (;;) {
                struct dirent *de;
                char **l;

                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                io_error(p, dir, negative_errno(), "cannot read directory");
                        break;
                }
                if (!is_dropin_name(de->d_name))
                        continue;
                l = reallocarray(names, n + 2, sizeof(char *));
                if (!l) {
                        r = -ENOMEM;
                        break;
                }
                names = l;
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -ENOMEM;
                        break;
                }
                names[++n] = NULL;
        }
        (void) closedir(d);
        if (r < 0)
                return r;
        if (n > 0)
                qsort(names, n, sizeof(char *), compare_names);

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                _cleanup_close_ int fd = -1;
                struct stat st;

                if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
                        return -ENOMEM;
                /* Only regular files are read (a symlink to /dev/null masks a drop-in, as in
                 * systemd). Checked before opening, since opening a device or FIFO can block or
                 * have side effects, and again after, as the name may have been replaced. */
                if (fstatat(dfd, names[i], &st, 0) < 0) {
                        if (errno != ENOENT) /* removed since readdir(), or a dangling symlink */
                                io_error(p, path, negative_errno(), "cannot open");
                        continue;
                }
                if (!S_ISREG(st.st_mode))
                        continue;
                fd = openat(dfd, names[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (fd < 0) {
                        if (errno != ENOENT)
                                io_error(p, path, negative_errno(), "cannot open");
                        continue;
                }
                if (fstat(fd, &st) < 0) {
                        io_error(p, path, negative_errno(), "cannot open");
                        continue;
                }
                if (!S_ISREG(st.st_mode))
                        continue;
                r = parse_fd(p, fd, path);
                if (r < 0)
                        return r;
        }
        return 0;
}

int config_load(const char *path, bool path_must_exist, const char *dropin_dir, Config **ret,
                char ***ret_errors) {
        Parser p = { .max_pending_checks_per_user = CONFIG_DEFAULT_MAX_PENDING_CHECKS_PER_USER };
        int r = 0;

        if (path) {
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

                if (fd >= 0)
                        r = parse_fd(&p, fd, path);
                else if (errno != ENOENT || path_must_exist)
                        io_error(&p, path, negative_errno(), "cannot open");
        }
        if (r >= 0 && dropin_dir)
                r = parse_dropins(&p, dropin_dir);
        if (r >= 0)
                r = config_parser_finish(&p, ret, ret_errors);

        config_parser_done(&p);
        return r;
}
