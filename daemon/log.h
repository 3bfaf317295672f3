/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging: to the journal with structured fields when stderr is connected to journald
 * (JOURNAL_STREAM matches), else one line per message on stderr. Never pass a token to any of
 * these: a token is a secret and has no business in a log. */

#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
/* Forces the target: 1 = journal, 0 = stderr, -1 = decide from JOURNAL_STREAM (default). */
void log_set_target_journal(int journal);

/* Logs a message with optional structured fields (a NULL-terminated list of "KEY=value"
 * strings, may be NULL). Returns -abs(error) if error != 0, else 0, so callers can write
 * `return log_error_errno(r, ...)`. "%m" in the format expands to strerror(error). */
int log_internal(int level, int error, const char *const *fields, const char *file, int line,
                 const char *func, const char *format, ...) _printf_(7, 8);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), NULL, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)

/* Per-PF messages carry PF_ADDRESS= (and TOKEN_GENERATION= when gen > 0) journal fields, and
 * are prefixed "PF <address>: " on stderr. */
int log_pf_internal(int level, int error, const char *pf, unsigned long long generation, const char *file,
                    int line, const char *func, const char *format, ...) _printf_(8, 9);
#define log_pf_full_errno(level, error, pf, gen, ...) \
        log_pf_internal((level), (error), (pf), (gen), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_pf_info(pf, gen, ...) log_pf_full_errno(LOG_INFO, 0, pf, gen, __VA_ARGS__)
#define log_pf_notice(pf, gen, ...) log_pf_full_errno(LOG_NOTICE, 0, pf, gen, __VA_ARGS__)
#define log_pf_warning_errno(pf, gen, e, ...) log_pf_full_errno(LOG_WARNING, e, pf, gen, __VA_ARGS__)
#define log_pf_error_errno(pf, gen, e, ...) log_pf_full_errno(LOG_ERR, e, pf, gen, __VA_ARGS__)
#define log_pf_debug(pf, gen, ...) log_pf_full_errno(LOG_DEBUG, 0, pf, gen, __VA_ARGS__)

/* Messages with arbitrary extra fields ("KEY=value", NULL-terminated), e.g. the audit trail. */
#define log_struct(level, fields, ...) \
        log_internal((level), 0, (fields), __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
#define log_oom_pf(pf) log_pf_error_errno(pf, 0, ENOMEM, "Out of memory.")
