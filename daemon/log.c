/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the daemon's log output: journal (structured) or stderr (plain lines). */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"

static int max_level = LOG_INFO;
static int target_journal = -1;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_target_journal(int journal) {
        target_journal = journal;
}

/* journald sets JOURNAL_STREAM=dev:ino for the stderr it hands to a service; only if our stderr
 * is still that stream do we talk to the journal natively. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (target_journal >= 0)
                return target_journal;
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static int log_dispatch(int level, int error, const char *prefix, const char *const *fields,
                        const char *file, int line, const char *func, const char *format, va_list ap) {
        char buf[2048];
        int saved_errno = errno;

        if (error < 0)
                error = -error;
        errno = error; /* so %m expands to the error we were given */
        (void) vsnprintf(buf, sizeof buf, format, ap);
        errno = saved_errno;

        if (stderr_is_journal()) {
                struct iovec iov[32];
                char pri[32], msg[sizeof buf + 64], code_file[512], code_line[32], code_func[256], err[32];
                size_t n = 0;

                snprintf(pri, sizeof pri, "PRIORITY=%d", level);
                snprintf(msg, sizeof msg, "MESSAGE=%s%s", prefix ?: "", buf);
                snprintf(code_file, sizeof code_file, "CODE_FILE=%s", file);
                snprintf(code_line, sizeof code_line, "CODE_LINE=%d", line);
                snprintf(code_func, sizeof code_func, "CODE_FUNC=%s", func);
                iov[n++] = (struct iovec) { pri, strlen(pri) };
                iov[n++] = (struct iovec) { msg, strlen(msg) };
                iov[n++] = (struct iovec) { code_file, strlen(code_file) };
                iov[n++] = (struct iovec) { code_line, strlen(code_line) };
                iov[n++] = (struct iovec) { code_func, strlen(code_func) };
                if (error > 0) {
                        snprintf(err, sizeof err, "ERRNO=%d", error);
                        iov[n++] = (struct iovec) { err, strlen(err) };
                }
                for (const char *const *f = fields; f && *f && n < ELEMENTSOF(iov); f++)
                        iov[n++] = (struct iovec) { (void *) *f, strlen(*f) };
                if (sd_journal_sendv(iov, (int) n) >= 0)
                        return 0;
                /* Fall through to stderr if the journal socket is gone. */
        }

        fprintf(stderr, "%s%s\n", prefix ?: "", buf);
        return 0;
}

int log_internal(int level, int error, const char *const *fields, const char *file, int line,
                 const char *func, const char *format, ...) {
        va_list ap;

        if (level <= max_level) {
                va_start(ap, format);
                log_dispatch(level, error, NULL, fields, file, line, func, format, ap);
                va_end(ap);
        }
        return error == 0 ? 0 : -abs(error);
}

int log_pf_internal(int level, int error, const char *pf, unsigned long long generation, const char *file,
                    int line, const char *func, const char *format, ...) {
        char f_pf[64], f_gen[64], prefix[64];
        const char *fields[3] = {};
        va_list ap;

        if (level <= max_level) {
                snprintf(f_pf, sizeof f_pf, "PF_ADDRESS=%s", pf);
                fields[0] = f_pf;
                if (generation > 0) {
                        snprintf(f_gen, sizeof f_gen, "TOKEN_GENERATION=%llu", generation);
                        fields[1] = f_gen;
                }
                snprintf(prefix, sizeof prefix, "PF %s: ", pf);
                va_start(ap, format);
                log_dispatch(level, error, prefix, fields, file, line, func, format, ap);
                va_end(ap);
        }
        return error == 0 ? 0 : -abs(error);
}
