/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the configuration grammar: a small systemd-style INI parser for vfio-tokend.conf and its
 * conf.d/ drop-ins, and the Config it produces. Reading the files and the drop-in directory is
 * config-files.c's; this file only ever sees text, which is what the fuzzer feeds it.
 *
 * Hand-written rather than libinih: inih (as Debian builds it) gives the handler no line
 * numbers, no callback when a new section starts (so two [PhysicalFunction] sections in a row
 * cannot be told apart) and a 200-byte line limit.
 *
 * Semantics, as in systemd unit files:
 * - A key given twice in one section: the later one wins. An empty value resets the key to its
 *   default (for a [PhysicalFunction] RotateIntervalSec=: back to inheriting [Daemon]'s).
 * - [Daemon] may appear more than once; later keys override earlier ones.
 * - The same Address= in two sections of one file is an error (almost certainly a copy-paste
 *   slip). In a later file (a drop-in) it is an override: that section amends the PF, changing
 *   only the keys it sets, so conf.d/50-foo.conf can say just "[PhysicalFunction]
 *   Address=... NumVFs=8" to change one PF's VF count. The PF keeps the file and line where it
 *   was first defined.
 * - A PF without its own RotateIntervalSec= gets [Daemon]'s, resolved after every file is read,
 *   so a drop-in changing [Daemon] applies to all PFs that do not override it.
 *
 * Every problem is collected (not just the first), so an admin fixes a file in one go. */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#include "macro.h"
#include "string-util.h"
#include "strv.h"
#include "time-util.h"
#include "config-internal.h"
#include "config.h"
#include "parse-util.h"
#include "vfio.h"

/* Values and keys echoed in messages are cut here, so one message stays one readable line. */
#define MESSAGE_TEXT_MAX 64

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* A rotation interval this short is almost certainly a slip (seconds meant as minutes, "1s"
 * for "1d"): each rotation makes every lease holder acquire the token again before it opens
 * another VF. Allowed, since tests and demos want it, but said. */
#define ROTATE_INTERVAL_WARN_USEC (60 * USEC_PER_SEC)

static void message_clear(ConfigMessage *m) {
        m->text = mfree(m->text);
}

void config_parser_done(Parser *p) {
        for (size_t i = 0; i < p->n_pfs; i++) {
                free(p->pfs[i].pf.file);
                message_clear(&p->pfs[i].interval_warning);
        }
        free(p->pfs);
        message_clear(&p->pf.interval_warning);
        message_clear(&p->daemon_interval_warning);
        for (size_t i = 0; i < p->n_errors; i++)
                message_clear(&p->errors[i]);
        free(p->errors);
        free(p->message_file);
}

/* Copies s for a message: printable ASCII as is, anything else as \xNN, cut at
 * MESSAGE_TEXT_MAX characters. A config line must not be able to inject terminal escapes or
 * line breaks into a log. */
static const char *escape_text(const char *s, char buf[static MESSAGE_TEXT_MAX * 4 + 4]) {
        size_t n = 0, i;

        for (i = 0; s[i] && i < MESSAGE_TEXT_MAX; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c >= 0x20 && c < 0x7f)
                        buf[n++] = (char) c;
                else
                        n += (size_t) sprintf(buf + n, "\\x%02x", c);
        }
        if (s[i]) {
                memcpy(buf + n, "...", 3);
                n += 3;
        }
        buf[n] = '\0';
        return buf;
}

/* Formats "FILE:LINE: <message>" (or "FILE: <message>" with line 0) into *ret, with its place.
 * Allocation failure is remembered and turned into -ENOMEM at the end, which keeps every caller
 * simple. */
static void message_vformat(Parser *p, ConfigMessage *ret, const char *file, unsigned line, const char *fmt,
                            va_list ap) {
        _cleanup_free_ char *msg = NULL;
        char *text;
        int r;

        r = vasprintf(&msg, fmt, ap);
        if (r < 0) {
                msg = NULL;
                p->oom = true;
                return;
        }
        if (line > 0)
                r = asprintf(&text, "%s:%u: %s", file, line, msg);
        else
                r = asprintf(&text, "%s: %s", file, msg);
        if (r < 0) {
                p->oom = true;
                return;
        }
        /* Values and keys come escaped; this catches a file name with a line break in it. */
        for (char *c = text; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = '?';

        /* Files are read one after the other, so all messages about one file are made before
         * any about the next: a new file name starts the next file_seq. */
        if (!p->message_file || !streq(p->message_file, file)) {
                char *f = strdup(file);

                if (!f) {
                        free(text);
                        p->oom = true;
                        return;
                }
                free(p->message_file);
                p->message_file = f;
                p->message_file_seq++;
        }
        message_clear(ret);
        *ret = (ConfigMessage) {
                .text = text,
                .file_seq = p->message_file_seq,
                .line = line,
                .seq = p->n_messages++,
        };
}

void config_add_error(Parser *p, const char *file, unsigned line, const char *fmt, ...) {
        ConfigMessage *l;
        va_list ap;

        l = reallocarray(p->errors, p->n_errors + 1, sizeof(ConfigMessage));
        if (!l) {
                p->oom = true;
                return;
        }
        p->errors = l;
        l[p->n_errors] = (ConfigMessage) {};

        va_start(ap, fmt);
        message_vformat(p, &l[p->n_errors], file, line, fmt, ap);
        va_end(ap);
        if (l[p->n_errors].text)
                p->n_errors++;
}

static void set_warning(Parser *p, ConfigMessage *slot, unsigned line, const char *fmt, ...) _printf_(4, 5);
static void set_warning(Parser *p, ConfigMessage *slot, unsigned line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        message_vformat(p, slot, p->file, line, fmt, ap);
        va_end(ap);
}

static int compare_messages(const void *a, const void *b) {
        const ConfigMessage *x = a, *y = b;

        if (x->file_seq != y->file_seq)
                return x->file_seq < y->file_seq ? -1 : 1;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts n messages and moves their texts into a new NULL-terminated list; the messages keep
 * nothing. NULL if out of memory (the texts are then left where they are). */
static char **messages_to_strv(ConfigMessage *m, size_t n) {
        char **l;

        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return NULL;
        if (n > 0)
                qsort(m, n, sizeof(ConfigMessage), compare_messages);
        for (size_t i = 0; i < n; i++)
                l[i] = TAKE_PTR(m[i].text);
        return l;
}

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                e--;
        *e = '\0';
        return s;
}

/* Cuts "  # comment" / "\t; comment" off the end: a comment needs whitespace before it, so a
 * '#' inside a value stays part of it. */
static void strip_inline_comment(char *s) {
        for (char *c = s; *c; c++)
                if ((*c == '#' || *c == ';') && c > s && isspace((unsigned char) c[-1])) {
                        *c = '\0';
                        return;
                }
}

static void bad_value(Parser *p, unsigned line, const char *key, const char *value, int r,
                      const char *invalid, const char *range) {
        char buf[MESSAGE_TEXT_MAX * 4 + 4];

        config_add_error(p, p->file, line, "%s=%s: %s", key, escape_text(value, buf),
                         r == -ERANGE && range ? range : invalid);
}

/* A time span; a non-zero one under a minute sets the warning in `warning`, any other value
 * clears it. */
static bool parse_interval(Parser *p, unsigned line, const char *key, const char *value, uint64_t *ret,
                           ConfigMessage *warning) {
        char buf[MESSAGE_TEXT_MAX * 4 + 4];
        int r = parse_timespan(value, ret);

        if (r < 0) {
                bad_value(p, line, key, value, r, "not a time span (e.g. 86400, 12h, 1.5d, 1h 30min)",
                          "out of range");
                return false;
        }
        message_clear(warning);
        if (*ret > 0 && *ret < ROTATE_INTERVAL_WARN_USEC)
                set_warning(p, warning, line,
                            "%s=%s: shorter than a minute; every rotation makes the holders of leases "
                            "acquire the token again before they open another VF",
                            key, escape_text(value, buf));
        return true;
}

static bool parse_bool_key(Parser *p, unsigned line, const char *key, const char *value, bool *ret) {
        int r = parse_boolean(value, ret);

        if (r < 0)
                bad_value(p, line, key, value, r, "not a boolean (expected yes or no)", NULL);
        return r >= 0;
}

static void daemon_assignment(Parser *p, unsigned line, const char *key, const char *value) {
        char buf[MESSAGE_TEXT_MAX * 4 + 4];

        if (streq(key, "RotateIntervalSec")) {
                if (*value == '\0') {
                        p->rotate_interval_usec = 0;
                        message_clear(&p->daemon_interval_warning);
                } else
                        (void) parse_interval(p, line, key, value, &p->rotate_interval_usec,
                                              &p->daemon_interval_warning);
        } else if (streq(key, "MaxPendingChecksPerUser")) {
                unsigned v = CONFIG_DEFAULT_MAX_PENDING_CHECKS_PER_USER;
                int r = *value ? parse_unsigned(value, CONFIG_MAX_PENDING_CHECKS_PER_USER, &v) : 0;

                if (r >= 0 && v == 0)
                        r = -ERANGE;
                if (r < 0)
                        bad_value(p, line, key, value, r, "not a number",
                                  "out of range (1.." STRINGIFY(CONFIG_MAX_PENDING_CHECKS_PER_USER) ")");
                else
                        p->max_pending_checks_per_user = v;
        } else if (streq(key, "MaxLeasesPerUser")) {
                unsigned v = 0;
                int r = *value ? parse_unsigned(value, CONFIG_MAX_LEASES_PER_USER, &v) : 0;

                if (r >= 0 && *value && v == 0)
                        r = -ERANGE;
                if (r < 0)
                        bad_value(p, line, key, value, r, "not a number",
                                  "out of range (1.." STRINGIFY(CONFIG_MAX_LEASES_PER_USER) ")");
                else
                        p->max_leases_per_user = v;
        } else
                config_add_error(p, p->file, line, "%s: unknown key in [Daemon]", escape_text(key, buf));
}

static void pf_assignment(Parser *p, unsigned line, const char *key, const char *value) {
        PfSection *s = &p->pf;
        char buf[MESSAGE_TEXT_MAX * 4 + 4];
        int r;

        if (streq(key, "Address")) {
                s->address_line = line;
                r = pci_address_parse(value, s->address);
                s->has_address = r >= 0;
                s->address_bad = r < 0;
                if (r < 0)
                        bad_value(p, line, key, value, r, "not a PCI address (expected DDDD:BB:DD.F)", NULL);

        } else if (streq(key, "NumVFs")) {
                s->num_vfs = 0;
                r = *value ? parse_unsigned(value, CONFIG_MAX_NUM_VFS, &s->num_vfs) : 0;
                if (r < 0)
                        bad_value(p, line, key, value, r, "not a number",
                                  "out of range (0.." STRINGIFY(CONFIG_MAX_NUM_VFS) ")");
                s->set_num_vfs = r >= 0;

        } else if (streq(key, "BindVFIO")) {
                s->bind_vfio = false;
                s->set_bind_vfio = !*value || parse_bool_key(p, line, key, value, &s->bind_vfio);

        } else if (streq(key, "RotateWhenIdle")) {
                s->rotate_when_idle = false;
                s->set_rotate_when_idle =
                        !*value || parse_bool_key(p, line, key, value, &s->rotate_when_idle);

        } else if (streq(key, "Api")) {
                /* Empty means the default, auto, like every other key. */
                r = *value ? pf_api_from_string(value) : PF_API_AUTO;
                if (r < 0)
                        bad_value(p, line, key, value, r, "not auto, group or cdev", NULL);
                s->api = r < 0 ? PF_API_AUTO : (PfApi) r;
                s->set_api = r >= 0;

        } else if (streq(key, "RotateIntervalSec")) {
                s->rotate_interval_usec = ROTATE_INTERVAL_INHERIT;
                message_clear(&s->interval_warning);
                s->set_rotate_interval =
                        !*value ||
                        parse_interval(p, line, key, value, &s->rotate_interval_usec, &s->interval_warning);

        } else
                config_add_error(p, p->file, line, "%s: unknown key in [PhysicalFunction]",
                                 escape_text(key, buf));
}

static PfEntry *find_entry(Parser *p, const char *address) {
        for (size_t i = 0; i < p->n_pfs; i++)
                if (streq(p->pfs[i].pf.address, address))
                        return &p->pfs[i];
        return NULL;
}

static PfEntry *new_entry(Parser *p, const PfSection *s) {
        PfEntry *l, *e;

        if (p->n_pfs >= CONFIG_MAX_PFS) {
                if (!p->too_many_pfs_reported)
                        config_add_error(p, p->file, s->line,
                                         "[PhysicalFunction]: more than " STRINGIFY(CONFIG_MAX_PFS)
                                         " physical functions configured");
                p->too_many_pfs_reported = true;
                return NULL;
        }

        l = reallocarray(p->pfs, p->n_pfs + 1, sizeof(PfEntry));
        if (!l) {
                p->oom = true;
                return NULL;
        }
        p->pfs = l;

        e = &l[p->n_pfs];
        *e = (PfEntry) {
                .pf.rotate_interval_usec = ROTATE_INTERVAL_INHERIT,
                .pf.line = s->line,
                .pf.file = strdup(p->file),
        };
        if (!e->pf.file) {
                p->oom = true;
                return NULL;
        }
        memcpy(e->pf.address, s->address, sizeof e->pf.address);
        p->n_pfs++;
        return e;
}

/* Called when a [PhysicalFunction] section ends (next header or end of file). */
static void pf_section_end(Parser *p) {
        PfSection *s = &p->pf;
        char buf[MESSAGE_TEXT_MAX * 4 + 4];
        PfEntry *e;

        if (!s->has_address) {
                if (!s->address_bad) /* a bad one was reported already */
                        config_add_error(p, p->file, s->line, "[PhysicalFunction]: Address= is missing");
                return;
        }

        e = find_entry(p, s->address);
        if (e && e->file_index == p->file_index) {
                config_add_error(p, p->file, s->address_line, "Address=%s: already configured at line %u",
                                 escape_text(s->address, buf), e->address_line);
                return;
        }
        if (!e) {
                e = new_entry(p, s);
                if (!e)
                        return;
        }

        e->file_index = p->file_index;
        e->address_line = s->address_line;
        if (s->set_num_vfs)
                e->pf.num_vfs = s->num_vfs;
        if (s->set_bind_vfio)
                e->pf.bind_vfio = s->bind_vfio;
        if (s->set_rotate_when_idle)
                e->pf.rotate_when_idle = s->rotate_when_idle;
        if (s->set_api)
                e->pf.api = s->api;
        if (s->set_rotate_interval) {
                e->pf.rotate_interval_usec = s->rotate_interval_usec;
                message_clear(&e->interval_warning);
                e->interval_warning = s->interval_warning;
                s->interval_warning = (ConfigMessage) {};
        }
}

static void section_end(Parser *p) {
        if (p->section == SECTION_PF)
                pf_section_end(p);
        /* A section given up on (a bad or duplicate Address=) leaves no warning behind. */
        message_clear(&p->pf.interval_warning);
        p->section = SECTION_NONE;
}

static void section_header(Parser *p, unsigned line, char *text) {
        char buf[MESSAGE_TEXT_MAX * 4 + 4];
        size_t n = strlen(text);

        section_end(p);
        p->section = SECTION_IGNORE;

        if (n < 3 || text[n - 1] != ']') {
                config_add_error(p, p->file, line, "%s: not a valid section header",
                                 escape_text(text, buf));
                return;
        }
        if (streq(text, "[Daemon]"))
                p->section = SECTION_DAEMON;
        else if (streq(text, "[PhysicalFunction]")) {
                p->section = SECTION_PF;
                message_clear(&p->pf.interval_warning);
                p->pf = (PfSection) { .line = line };
        } else
                config_add_error(p, p->file, line,
                                 "%s: unknown section (expected [Daemon] or [PhysicalFunction])",
                                 escape_text(text, buf));
}

static void parse_line(Parser *p, unsigned line, char *text) {
        char buf[MESSAGE_TEXT_MAX * 4 + 4];
        char *key, *value, *eq;

        text = strip(text);
        if (*text == '\0' || *text == '#' || *text == ';')
                return;
        strip_inline_comment(text);
        text = strip(text);

        if (*text == '[') {
                section_header(p, line, text);
                return;
        }

        eq = strchr(text, '=');
        if (!eq) {
                config_add_error(p, p->file, line, "%s: not a Key=Value assignment", escape_text(text, buf));
                return;
        }
        *eq = '\0';
        key = strip(text);
        value = strip(eq + 1);
        if (*key == '\0') {
                config_add_error(p, p->file, line, "=%s: missing key before '='", escape_text(value, buf));
                return;
        }

        switch (p->section) {
        case SECTION_NONE:
                config_add_error(p, p->file, line,
                                 "%s: assignment outside of any section (expected [Daemon] or "
                                 "[PhysicalFunction] first)", escape_text(key, buf));
                break;
        case SECTION_IGNORE:
                break;
        case SECTION_DAEMON:
                daemon_assignment(p, line, key, value);
                break;
        case SECTION_PF:
                pf_assignment(p, line, key, value);
                break;
        }
}

void config_parse_buffer(Parser *p, const char *file, const char *data, size_t size) {
        char buf[CONFIG_MAX_LINE + 1];
        unsigned line = 0;

        p->file = file;
        p->file_index++;
        p->section = SECTION_NONE;

        for (size_t pos = 0; pos < size;) {
                const char *nl = memchr(data + pos, '\n', size - pos);
                size_t len = nl ? (size_t) (nl - (data + pos)) : size - pos;

                line++;
                if (len > CONFIG_MAX_LINE)
                        config_add_error(p, file, line,
                                         "line is longer than " STRINGIFY(CONFIG_MAX_LINE) " bytes");
                else if (memchr(data + pos, '\0', len))
                        config_add_error(p, file, line, "line contains a NUL byte");
                else {
                        memcpy(buf, data + pos, len);
                        buf[len] = '\0';
                        parse_line(p, line, buf);
                }
                pos += len + 1;
        }
        section_end(p);
}

/* The warnings about the values in force: [Daemon]'s, then each PF's own. */
static char **collect_warnings(Parser *p, bool *ret_oom) {
        _cleanup_free_ ConfigMessage *w = NULL;
        size_t n = 0;
        char **l;

        *ret_oom = false;
        w = calloc(p->n_pfs + 1, sizeof(ConfigMessage));
        if (!w) {
                *ret_oom = true;
                return NULL;
        }
        if (p->daemon_interval_warning.text)
                w[n++] = p->daemon_interval_warning;
        for (size_t i = 0; i < p->n_pfs; i++)
                if (p->pfs[i].interval_warning.text)
                        w[n++] = p->pfs[i].interval_warning;
        if (n == 0)
                return NULL;
        l = messages_to_strv(w, n);
        if (!l) {
                *ret_oom = true;
                return NULL;
        }
        /* The texts moved into l: forget them where they came from. */
        p->daemon_interval_warning.text = NULL;
        for (size_t i = 0; i < p->n_pfs; i++)
                p->pfs[i].interval_warning.text = NULL;
        return l;
}

int config_parser_finish(Parser *p, Config **ret, char ***ret_errors) {
        Config *c;
        bool oom;

        if (p->oom)
                return -ENOMEM;
        if (p->n_errors > 0) {
                if (ret_errors) {
                        char **l = messages_to_strv(p->errors, p->n_errors);

                        if (!l)
                                return -ENOMEM;
                        *ret_errors = l;
                }
                return p->io_error < 0 ? p->io_error : -EINVAL;
        }

        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        c->rotate_interval_usec = p->rotate_interval_usec;
        c->max_pending_checks_per_user = p->max_pending_checks_per_user;
        c->max_leases_per_user = p->max_leases_per_user;
        c->warnings = collect_warnings(p, &oom);
        if (oom)
                return config_free(c), -ENOMEM;
        if (p->n_pfs > 0) {
                c->pfs = calloc(p->n_pfs, sizeof(PfConfig));
                if (!c->pfs)
                        return config_free(c), -ENOMEM;
        }
        for (size_t i = 0; i < p->n_pfs; i++) {
                c->pfs[i] = p->pfs[i].pf;
                p->pfs[i].pf.file = NULL; /* now owned by c */
                if (c->pfs[i].rotate_interval_usec == ROTATE_INTERVAL_INHERIT)
                        c->pfs[i].rotate_interval_usec = c->rotate_interval_usec;
        }
        c->n_pfs = p->n_pfs;

        if (ret)
                *ret = c;
        else
                config_free(c);
        if (ret_errors)
                *ret_errors = NULL;
        return 0;
}

int config_load_string(const char *name, const char *text, Config **ret, char ***ret_errors) {
        Parser p = { .max_pending_checks_per_user = CONFIG_DEFAULT_MAX_PENDING_CHECKS_PER_USER };
        int r;

        if (!text)
                return -EINVAL;
        config_parse_buffer(&p, name ?: "(string)", text, strlen(text));
        r = config_parser_finish(&p, ret, ret_errors);
        config_parser_done(&p);
        return r;
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_pfs; i++)
                free(c->pfs[i].file);
        free(c->pfs);
        strv_free(c->warnings);
        return mfree(c);
}

const PfConfig *config_find_pf(const Config *c, const char *address) {
        char canonical[PCI_ADDRESS_MAX];

        if (!c || pci_address_parse(address, canonical) < 0)
                return NULL;
        for (size_t i = 0; i < c->n_pfs; i++)
                if (streq(c->pfs[i].address, canonical))
                        return &c->pfs[i];
        return NULL;
}

static const char *const pf_api_names[_PF_API_MAX] = {
        [PF_API_AUTO] = "auto",
        [PF_API_GROUP] = "group",
        [PF_API_CDEV] = "cdev",
};

const char *pf_api_config_to_string(PfApi api) {
        return (unsigned) api < _PF_API_MAX ? pf_api_names[api] : NULL;
}

int pf_api_from_string(const char *s) {
        for (PfApi api = 0; api < _PF_API_MAX; api++)
                if (streq(s, pf_api_names[api]))
                        return (int) api;
        return -EINVAL;
}

int pf_config_vfio_api(const PfConfig *c, const char *dev_root) {
        char path[4096];

        if (c->api == PF_API_GROUP)
                return VFIO_API_GROUP;
        if (c->api == PF_API_CDEV)
                return VFIO_API_CDEV;
        if (vfio_node_path(dev_root, VFIO_API_GROUP, VFIO_FD_CONTAINER, -1, path, sizeof path) < 0)
                return VFIO_API_GROUP; /* a dev_root that long names nothing: let the open say so */
        return access(path, F_OK) == 0 ? VFIO_API_GROUP : VFIO_API_CDEV;
}
