/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests for daemon/config.c, daemon/config-files.c and daemon/parse-util.c: the grammar, the
 * value grammars (time spans as systemd writes them), drop-in semantics, and the exact error and
 * warning messages an admin sees, in the order they see them. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "parse-util.h"
#include "strv.h"
#include "time-util.h"
/* Not "config.h": with automake's -I. that is the generated autoheader file of the same name. */
#include "config.h"
#include "test-util.h"
#include "vfio.h"

#define SEC(x) ((uint64_t) (x) * USEC_PER_SEC)

/* ---- helpers ---- */

/* Each test works in its own directory under topdir; main() removes topdir at the end, so
 * nothing is left behind even when a test fails half-way (in its forked child). */
static char *topdir;
static char *tmpdir;

static void tmpdir_setup(void) {
        ck_assert_int_ge(asprintf(&tmpdir, "%s/XXXXXX", topdir), 0);
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* test_rm_rf() never follows a symlink, nor chmod()s through one: one here points at /dev/null. */
static void tmpdir_teardown(void) {
        ck_assert_int_eq(test_rm_rf(tmpdir), 0);
        tmpdir = mfree(tmpdir);
}

/* Writes `size` bytes of `data` (or strlen(data) if size is -1) to tmpdir/name. */
static char *write_file_n(const char *name, const char *data, ssize_t size) {
        size_t n = size < 0 ? strlen(data) : (size_t) size;
        char *path;

        ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
        ck_assert_int_eq(test_write_file_at(AT_FDCWD, path, data, n, 0644), 0);
        return path;
}

static char *write_file(const char *name, const char *data) {
        return write_file_n(name, data, -1);
}

static char *tmp_path(const char *name) {
        char *path;

        ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
        return path;
}

/* Asserts that `errors` is exactly the NULL-terminated list of expected messages. */
static void check_errors(char **errors, ...) {
        const char *expected;
        size_t i = 0;
        va_list ap;

        ck_assert_ptr_nonnull(errors);
        va_start(ap, errors);
        while ((expected = va_arg(ap, const char *))) {
                ck_assert_msg(errors[i], "missing error #%zu: %s", i, expected);
                ck_assert_str_eq(errors[i], expected);
                i++;
        }
        va_end(ap);
        ck_assert_msg(!errors[i], "unexpected extra error: %s", errors[i]);
}

/* Loads a string that must fail with exactly the given errors. */
#define CHECK_STRING_ERRORS(text, ...)                                                    \
        do {                                                                              \
                _cleanup_strv_free_ char **_errors = NULL;                                \
                Config *_c = NULL;                                                        \
                ck_assert_int_eq(config_load_string("t.conf", (text), &_c, &_errors), -EINVAL); \
                ck_assert_ptr_null(_c);                                                   \
                check_errors(_errors, __VA_ARGS__, NULL);                                 \
        } while (0)

static Config *load_string_ok(const char *text) {
        _cleanup_strv_free_ char **errors = NULL;
        Config *c = NULL;
        int r;

        r = config_load_string("t.conf", text, &c, &errors);
        ck_assert_msg(r == 0, "load failed (%d): %s", r, errors && errors[0] ? errors[0] : "(no message)");
        ck_assert_ptr_null(errors);
        ck_assert_ptr_nonnull(c);
        return c;
}

/* ---- good configurations ---- */

START_TEST(test_design_example) {
        /* The example from DESIGN.md, verbatim, inline comments and all. */
        _cleanup_(config_freep) Config *c = load_string_ok(
                "[Daemon]\n"
                "RotateIntervalSec=0          # 0 = never on a timer\n"
                "[PhysicalFunction]\n"
                "Address=0000:3b:00.0\n"
                "NumVFs=4                     # optional: enable this many VFs (0/absent: leave as is)\n"
                "BindVFIO=yes                 # optional: bind the PF and its VFs to vfio-pci\n"
                "RotateWhenIdle=yes           # rotate when the last lease ends\n"
                "RotateIntervalSec=86400      # per-PF override\n"
                "Api=auto                     # auto|group|cdev: auto = group where the kernel has it, else cdev\n");

        ck_assert_uint_eq(c->rotate_interval_usec, 0);
        ck_assert_uint_eq(c->n_pfs, 1);
        ck_assert_str_eq(c->pfs[0].address, "0000:3b:00.0");
        ck_assert_uint_eq(c->pfs[0].num_vfs, 4);
        ck_assert(c->pfs[0].bind_vfio);
        ck_assert(c->pfs[0].rotate_when_idle);
        ck_assert_uint_eq(c->pfs[0].rotate_interval_usec, SEC(86400));
        ck_assert_int_eq(c->pfs[0].api, PF_API_AUTO);
        ck_assert_str_eq(c->pfs[0].file, "t.conf");
        ck_assert_uint_eq(c->pfs[0].line, 3);
}
END_TEST

START_TEST(test_api) {
        static const struct {
                const char *text;
                PfApi api;
        } cases[] = {
                { "Api=group\n", PF_API_GROUP }, { "Api=cdev\n", PF_API_CDEV }, { "Api=auto\n", PF_API_AUTO },
                { "Api=\n", PF_API_AUTO },        { "", PF_API_AUTO },
                /* the last assignment wins, as for every key; empty resets to the default */
                { "Api=cdev\nApi=group\n", PF_API_GROUP }, { "Api=cdev\nApi=\n", PF_API_AUTO },
        };
        _cleanup_free_ char *dev = NULL, *vfio = NULL, *container = NULL;
        PfConfig pc = {};

        tmpdir_setup();
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(config_freep) Config *c = NULL;

                ck_assert_int_ge(asprintf(&text, "[PhysicalFunction]\nAddress=0000:3b:00.0\n%s", cases[i].text), 0);
                c = load_string_ok(text);
                ck_assert_msg(c->pfs[0].api == cases[i].api, "%s", cases[i].text);
                ck_assert_str_eq(pf_api_config_to_string(c->pfs[0].api),
                                 cases[i].api == PF_API_CDEV ? "cdev" : cases[i].api == PF_API_GROUP ? "group" : "auto");
        }
        ck_assert_int_eq(pf_api_from_string("cdev"), PF_API_CDEV);
        ck_assert_int_eq(pf_api_from_string("Group"), -EINVAL);
        ck_assert_ptr_null(pf_api_config_to_string(_PF_API_MAX));

        /* auto: the group API where the kernel has it (<dev>/vfio/vfio), else cdev; the explicit
         * choices whatever the kernel has. */
        dev = tmp_path("dev");
        vfio = tmp_path("dev/vfio");
        container = tmp_path("dev/vfio/vfio");
        ck_assert_int_eq(mkdir(dev, 0755), 0);
        ck_assert_int_eq(mkdir(vfio, 0755), 0);
        pc.api = PF_API_AUTO;
        ck_assert_int_eq(pf_config_vfio_api(&pc, dev), VFIO_API_CDEV);
        pc.api = PF_API_GROUP;
        ck_assert_int_eq(pf_config_vfio_api(&pc, dev), VFIO_API_GROUP);
        ck_assert_int_eq(test_write_file_at(AT_FDCWD, container, "", 0, 0600), 0);
        pc.api = PF_API_AUTO;
        ck_assert_int_eq(pf_config_vfio_api(&pc, dev), VFIO_API_GROUP);
        pc.api = PF_API_CDEV;
        ck_assert_int_eq(pf_config_vfio_api(&pc, dev), VFIO_API_CDEV);
        tmpdir_teardown();
}
END_TEST

START_TEST(test_defaults_and_empty) {
        _cleanup_(config_freep) Config *c = NULL;

        c = load_string_ok("");
        ck_assert_uint_eq(c->rotate_interval_usec, 0);
        ck_assert_uint_eq(c->n_pfs, 0);
        ck_assert_ptr_null(config_find_pf(c, "0000:3b:00.0"));
        c = config_free(c);

        c = load_string_ok("# only a comment\n\n   \n; another\n");
        ck_assert_uint_eq(c->n_pfs, 0);
        c = config_free(c);

        c = load_string_ok("[PhysicalFunction]\nAddress=0000:3b:00.0");
        ck_assert_uint_eq(c->n_pfs, 1);
        ck_assert_uint_eq(c->pfs[0].num_vfs, 0);
        ck_assert(!c->pfs[0].bind_vfio);
        ck_assert(!c->pfs[0].rotate_when_idle);
        ck_assert_uint_eq(c->pfs[0].rotate_interval_usec, 0);
}
END_TEST

START_TEST(test_syntax_variants) {
        /* Whitespace everywhere it may be, CRLF line ends, ';' comments, a repeated [Daemon],
         * a repeated key (later wins), and keys in an order other than the example's. */
        _cleanup_(config_freep) Config *c = load_string_ok(
                "  ; leading comment\r\n"
                "\t[Daemon]   ; why not\r\n"
                "RotateIntervalSec = 1h\r\n"
                "[PhysicalFunction]\r\n"
                "  NumVFs\t=\t7  \r\n"
                "Address =   0000:3B:1F.7\r\n"
                "NumVFs=3\r\n"
                "[Daemon]\r\n"
                "RotateIntervalSec=2h\t# later [Daemon] wins\r\n");

        ck_assert_uint_eq(c->rotate_interval_usec, SEC(7200));
        ck_assert_uint_eq(c->n_pfs, 1);
        ck_assert_str_eq(c->pfs[0].address, "0000:3b:1f.7");
        ck_assert_uint_eq(c->pfs[0].num_vfs, 3);
        ck_assert_uint_eq(c->pfs[0].rotate_interval_usec, SEC(7200));
}
END_TEST

START_TEST(test_canonical_address_and_find) {
        _cleanup_(config_freep) Config *c = load_string_ok(
                "[PhysicalFunction]\n"
                "Address=0000:3B:00.0\n"
                "[PhysicalFunction]\n"
                "Address=1000A:0a:02.1\n"
                "NumVFs=65535\n");

        ck_assert_uint_eq(c->n_pfs, 2);
        ck_assert_str_eq(c->pfs[0].address, "0000:3b:00.0");
        ck_assert_str_eq(c->pfs[1].address, "1000a:0a:02.1");
        ck_assert_uint_eq(c->pfs[1].num_vfs, 65535);

        ck_assert_ptr_eq(config_find_pf(c, "0000:3b:00.0"), &c->pfs[0]);
        ck_assert_ptr_eq(config_find_pf(c, "0000:3B:00.0"), &c->pfs[0]);
        ck_assert_ptr_eq(config_find_pf(c, "1000a:0a:02.1"), &c->pfs[1]);
        ck_assert_ptr_null(config_find_pf(c, "0000:3b:00.1"));
        ck_assert_ptr_null(config_find_pf(c, "garbage"));
        ck_assert_ptr_null(config_find_pf(NULL, "0000:3b:00.0"));
}
END_TEST

START_TEST(test_booleans) {
        static const struct {
                const char *text;
                bool value;
        } cases[] = {
                { "yes", true }, { "YES", true },   { "true", true },  { "True", true },
                { "on", true },  { "1", true },     { "no", false },   { "No", false },
                { "false", false }, { "FALSE", false }, { "off", false }, { "0", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(config_freep) Config *c = NULL;

                ck_assert_int_ge(asprintf(&text, "[PhysicalFunction]\nAddress=0000:3b:00.0\n"
                                                 "BindVFIO=%s\nRotateWhenIdle=%s\n",
                                          cases[i].text, cases[i].text), 0);
                c = load_string_ok(text);
                ck_assert_msg(c->pfs[0].bind_vfio == cases[i].value, "%s", cases[i].text);
                ck_assert_msg(c->pfs[0].rotate_when_idle == cases[i].value, "%s", cases[i].text);
        }
}
END_TEST

START_TEST(test_time_spans) {
        static const struct {
                const char *text;
                uint64_t sec;
        } cases[] = {
                { "0", 0 },           { "86400", 86400 },     { "45s", 45 },        { "10 sec", 10 },
                { "90min", 5400 },    { "5m", 300 },          { "12h", 43200 },     { "1 hour", 3600 },
                { "1d", 86400 },      { "2day", 172800 },     { "1w", 604800 },     { "2week", 1209600 },
                { "1h 30min", 5400 }, { "1h30min", 5400 },    { "1d 1h 1min 1s", 90061 },
                { "0h", 0 },          { "3 weeks", 1814400 },
                /* systemd's fractions (systemd.time(7)). */
                { "1.5h", 5400 },     { "0.5d", 43200 },      { "90min 30s", 5430 }, { ".5h", 1800 },
                { "1.25 min", 75 },   { "2.0", 2 },           { "1.5h 30min", 7200 }, { "0.5w", 302400 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL;
                _cleanup_(config_freep) Config *c = NULL;

                ck_assert_int_ge(asprintf(&text, "[Daemon]\nRotateIntervalSec=%s\n"
                                                 "[PhysicalFunction]\nAddress=0000:3b:00.0\n"
                                                 "RotateIntervalSec=%s\n",
                                          cases[i].text, cases[i].text), 0);
                c = load_string_ok(text);
                ck_assert_msg(c->rotate_interval_usec == SEC(cases[i].sec), "%s", cases[i].text);
                ck_assert_msg(c->pfs[0].rotate_interval_usec == SEC(cases[i].sec), "%s", cases[i].text);
        }
}
END_TEST

START_TEST(test_inherit_in_one_file) {
        /* The [Daemon] section may come after the PFs: inheritance is resolved at the end. */
        _cleanup_(config_freep) Config *c = load_string_ok(
                "[PhysicalFunction]\n"
                "Address=0000:3b:00.0\n"
                "[PhysicalFunction]\n"
                "Address=0000:3c:00.0\n"
                "RotateIntervalSec=0\n"
                "[PhysicalFunction]\n"
                "Address=0000:3d:00.0\n"
                "RotateIntervalSec=1h\n"
                "RotateIntervalSec=\n" /* empty: back to inheriting */
                "[Daemon]\n"
                "RotateIntervalSec=1d\n");

        ck_assert_uint_eq(c->n_pfs, 3);
        ck_assert_uint_eq(c->pfs[0].rotate_interval_usec, SEC(86400));
        ck_assert_uint_eq(c->pfs[1].rotate_interval_usec, 0); /* explicit "never" beats [Daemon] */
        ck_assert_uint_eq(c->pfs[2].rotate_interval_usec, SEC(86400));
}
END_TEST

START_TEST(test_dropins) {
        _cleanup_free_ char *main_conf = NULL, *dir = NULL, *f10 = NULL, *f20 = NULL, *f30 = NULL;
        _cleanup_free_ char *ignored1 = NULL, *ignored2 = NULL, *ignored3 = NULL, *masked = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        const PfConfig *pf;

        tmpdir_setup();
        main_conf = write_file("main.conf",
                "[Daemon]\n"
                "RotateIntervalSec=1d\n"
                "\n"
                "[PhysicalFunction]\n"         /* 4: A, inherits */
                "Address=0000:3b:00.0\n"
                "NumVFs=4\n"
                "BindVFIO=yes\n"
                "\n"
                "[PhysicalFunction]\n"         /* 9: B, own interval */
                "Address=0000:3c:00.0\n"
                "RotateIntervalSec=12h\n"
                "RotateWhenIdle=yes\n"
                "Api=group\n"
                "\n"
                "[PhysicalFunction]\n"         /* 14: C, own interval, reset to inherit later */
                "Address=0000:3D:00.0\n"
                "RotateIntervalSec=5min\n");
        ck_assert_int_eq(mkdir(dir = tmp_path("conf.d"), 0755), 0);
        /* Written out of order: the parser must sort by name. */
        f30 = write_file("conf.d/30-new.conf",
                "[PhysicalFunction]\n"
                "Address=0000:5e:00.1\n"
                "NumVFs=2\n");
        f20 = write_file("conf.d/20-more.conf",
                "[PhysicalFunction]\n"
                "Address=0000:3b:00.0\n"
                "NumVFs=16\n"                  /* overrides 10-'s 8 */
                "Api=cdev\n"
                "[PhysicalFunction]\n"
                "Address=0000:3d:00.0\n"
                "RotateIntervalSec=\n");       /* back to inheriting */
        f10 = write_file("conf.d/10-tune.conf",
                "[Daemon]\n"
                "RotateIntervalSec=2h\n"
                "[PhysicalFunction]\n"
                "Address=0000:3B:00.0\n"
                "NumVFs=8\n");
        /* None of these may be read: they are not regular *.conf files, or are hidden. */
        ignored1 = write_file("conf.d/README", "this is not a config\n");
        ignored2 = write_file("conf.d/40-x.conf.bak", "[Bogus]\n");
        ignored3 = write_file("conf.d/.50-hidden.conf", "[Bogus]\n");
        ck_assert_int_eq(mkdir(masked = tmp_path("conf.d/60-dir.conf"), 0755), 0);
        free(masked);
        ck_assert_int_eq(symlink("/dev/null", masked = tmp_path("conf.d/70-null.conf")), 0);
        free(masked);
        ck_assert_int_eq(symlink("nonexistent", masked = tmp_path("conf.d/80-dangling.conf")), 0);
        free(masked);
        /* A FIFO must be skipped, not block the daemon. */
        ck_assert_int_eq(mkfifo(masked = tmp_path("conf.d/90-fifo.conf"), 0644), 0);

        ck_assert_int_eq(config_load(main_conf, true, dir, &c, &errors), 0);
        ck_assert_ptr_null(errors);

        ck_assert_uint_eq(c->rotate_interval_usec, SEC(7200)); /* from 10-tune.conf */
        ck_assert_uint_eq(c->n_pfs, 4);

        pf = config_find_pf(c, "0000:3b:00.0");
        ck_assert_ptr_eq(pf, &c->pfs[0]);
        ck_assert_uint_eq(pf->num_vfs, 16);
        ck_assert(pf->bind_vfio);         /* kept from main: the drop-ins did not set it */
        ck_assert(!pf->rotate_when_idle);
        ck_assert_int_eq(pf->api, PF_API_CDEV);
        ck_assert_uint_eq(pf->rotate_interval_usec, SEC(7200)); /* inherits the drop-in's [Daemon] */
        ck_assert_str_eq(pf->file, main_conf);                   /* where it was first defined */
        ck_assert_uint_eq(pf->line, 4);

        pf = config_find_pf(c, "0000:3c:00.0");
        ck_assert_ptr_eq(pf, &c->pfs[1]);
        ck_assert_uint_eq(pf->rotate_interval_usec, SEC(43200));
        ck_assert(pf->rotate_when_idle);
        ck_assert_int_eq(pf->api, PF_API_GROUP); /* kept: the drop-ins did not set it */
        ck_assert_uint_eq(pf->line, 9);

        pf = config_find_pf(c, "0000:3d:00.0");
        ck_assert_ptr_eq(pf, &c->pfs[2]);
        ck_assert_uint_eq(pf->rotate_interval_usec, SEC(7200));
        ck_assert_int_eq(pf->api, PF_API_AUTO);

        pf = config_find_pf(c, "0000:5e:00.1");
        ck_assert_ptr_eq(pf, &c->pfs[3]);
        ck_assert_uint_eq(pf->num_vfs, 2);
        ck_assert(!pf->bind_vfio);
        ck_assert_uint_eq(pf->rotate_interval_usec, SEC(7200));
        ck_assert_str_eq(pf->file, f30);
        ck_assert_uint_eq(pf->line, 1);

        tmpdir_teardown();
}
END_TEST

START_TEST(test_missing_files) {
        _cleanup_free_ char *missing = NULL, *dir = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        tmpdir_setup();
        missing = tmp_path("nope.conf");
        dir = tmp_path("nope.d");

        /* Missing main file and drop-in dir: fine unless the file must exist. */
        ck_assert_int_eq(config_load(missing, false, dir, &c, &errors), 0);
        ck_assert_ptr_null(errors);
        ck_assert_uint_eq(c->n_pfs, 0);
        c = config_free(c);
        ck_assert_int_eq(config_load(missing, false, NULL, &c, NULL), 0);
        c = config_free(c);

        ck_assert_int_eq(config_load(missing, true, dir, &c, &errors), -ENOENT);
        ck_assert_ptr_null(c);
        {
                _cleanup_free_ char *msg = NULL;

                ck_assert_int_ge(asprintf(&msg, "%s: cannot open: No such file or directory", missing), 0);
                check_errors(errors, msg, NULL);
        }
        tmpdir_teardown();
}
END_TEST

START_TEST(test_unreadable_files) {
        _cleanup_free_ char *main_conf = NULL, *dir = NULL, *loop = NULL, *noperm = NULL;
        _cleanup_free_ char *msg1 = NULL, *msg2 = NULL, *msg3 = NULL, *msg4 = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        tmpdir_setup();
        /* The main "file" is a directory: opens, but cannot be read. */
        ck_assert_int_eq(mkdir(main_conf = tmp_path("main.conf"), 0755), 0);
        ck_assert_int_eq(mkdir(dir = tmp_path("conf.d"), 0755), 0);
        /* A symlink loop cannot be opened even by root. */
        ck_assert_int_eq(symlink("10-loop.conf", loop = tmp_path("conf.d/10-loop.conf")), 0);
        /* A file we have no permission to read (only testable when not root). */
        noperm = write_file("conf.d/20-noperm.conf", "[Daemon]\n");
        ck_assert_int_eq(chmod(noperm, 0), 0);
        /* Parsing goes on after unreadable files: errors in later files are reported too. */
        free(write_file("conf.d/30-bad.conf", "[Daemon]\nFoo=1\n"));

        ck_assert_int_eq(config_load(main_conf, true, dir, &c, &errors), -EISDIR);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(asprintf(&msg1, "%s: cannot read: Is a directory", main_conf), 0);
        ck_assert_int_ge(asprintf(&msg2, "%s: cannot open: Too many levels of symbolic links", loop), 0);
        ck_assert_int_ge(asprintf(&msg3, "%s: cannot open: Permission denied", noperm), 0);
        ck_assert_int_ge(asprintf(&msg4, "%s/conf.d/30-bad.conf:2: Foo: unknown key in [Daemon]",
                                  tmpdir), 0);
        if (geteuid() == 0)
                check_errors(errors, msg1, msg2, msg4, NULL);
        else
                check_errors(errors, msg1, msg2, msg3, msg4, NULL);
        errors = strv_free(errors);

        /* A drop-in "dir" that is a file. */
        ck_assert_int_eq(config_load(NULL, false, noperm, &c, &errors), -ENOTDIR);
        free(msg1);
        ck_assert_int_ge(asprintf(&msg1, "%s: cannot open directory: Not a directory", noperm), 0);
        check_errors(errors, msg1, NULL);

        tmpdir_teardown();
}
END_TEST

START_TEST(test_nul_and_long_lines) {
        _cleanup_free_ char *path = NULL, *msg1 = NULL, *text = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        static const char data[] =
                "[Daemon]\nRotate\0IntervalSec=1\n[PhysicalFunction]\nAddress=0000:3b:00.0\n";
        size_t n;

        tmpdir_setup();
        path = write_file_n("nul.conf", data, sizeof data - 1);
        ck_assert_int_eq(config_load(path, true, NULL, &c, &errors), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(asprintf(&msg1, "%s:2: line contains a NUL byte", path), 0);
        check_errors(errors, msg1, NULL);
        tmpdir_teardown();

        /* A line of exactly CONFIG_MAX_LINE bytes is fine (here a comment), one more is not. */
        n = strlen("[Daemon]\n") + CONFIG_MAX_LINE + 1 + CONFIG_MAX_LINE + 1 + 1 + strlen("Foo=1\n");
        text = malloc(n + 1);
        ck_assert_ptr_nonnull(text);
        strcpy(text, "[Daemon]\n");
        memset(text + 9, '#', CONFIG_MAX_LINE);
        text[9 + CONFIG_MAX_LINE] = '\n';
        memset(text + 10 + CONFIG_MAX_LINE, '#', CONFIG_MAX_LINE + 1);
        text[11 + 2 * CONFIG_MAX_LINE] = '\n';
        strcpy(text + 12 + 2 * CONFIG_MAX_LINE, "Foo=1\n");
        ck_assert_uint_eq(strlen(text), n);
        CHECK_STRING_ERRORS(text,
                "t.conf:3: line is longer than 4096 bytes",
                "t.conf:4: Foo: unknown key in [Daemon]");
}
END_TEST

START_TEST(test_error_messages) {
        CHECK_STRING_ERRORS("[Daemon]\nRotateInterval=1\n",
                "t.conf:2: RotateInterval: unknown key in [Daemon]");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVF=1\n",
                "t.conf:3: NumVF: unknown key in [PhysicalFunction]");
        CHECK_STRING_ERRORS("[Daemon]\n[Deamon]\nRotateIntervalSec=1\nFoo=bar\n",
                "t.conf:2: [Deamon]: unknown section (expected [Daemon] or [PhysicalFunction])");
        CHECK_STRING_ERRORS("[Daemon\n", "t.conf:1: [Daemon: not a valid section header");
        CHECK_STRING_ERRORS("[]\n", "t.conf:1: []: not a valid section header");
        CHECK_STRING_ERRORS("# hello\nRotateIntervalSec=1\n[Daemon]\n",
                "t.conf:2: RotateIntervalSec: assignment outside of any section "
                "(expected [Daemon] or [PhysicalFunction] first)");
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec\n",
                "t.conf:2: RotateIntervalSec: not a Key=Value assignment");
        CHECK_STRING_ERRORS("[Daemon]\n = 5\n", "t.conf:2: =5: missing key before '='");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00\n",
                "t.conf:2: Address=0000:3b:00: not a PCI address (expected DDDD:BB:DD.F)");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=\n",
                "t.conf:2: Address=: not a PCI address (expected DDDD:BB:DD.F)");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=abc\n",
                "t.conf:3: NumVFs=abc: not a number");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=-1\n",
                "t.conf:3: NumVFs=-1: not a number");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=4 VFs\n",
                "t.conf:3: NumVFs=4 VFs: not a number");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=65536\n",
                "t.conf:3: NumVFs=65536: out of range (0..65535)");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=99999999999999999999999\n",
                "t.conf:3: NumVFs=99999999999999999999999: out of range (0..65535)");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nBindVFIO=maybe\n",
                "t.conf:3: BindVFIO=maybe: not a boolean (expected yes or no)");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nRotateWhenIdle=2\n",
                "t.conf:3: RotateWhenIdle=2: not a boolean (expected yes or no)");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nApi=iommufd\n",
                "t.conf:3: Api=iommufd: not auto, group or cdev");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nApi=CDEV\n",
                "t.conf:3: Api=CDEV: not auto, group or cdev");
        CHECK_STRING_ERRORS("[Daemon]\nApi=cdev\n", "t.conf:2: Api: unknown key in [Daemon]");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nNumVFs=1\n",
                "t.conf:1: [PhysicalFunction]: Address= is missing");
        CHECK_STRING_ERRORS("[PhysicalFunction]\n[PhysicalFunction]\nAddress=0000:3b:00.0\n",
                "t.conf:1: [PhysicalFunction]: Address= is missing");
        CHECK_STRING_ERRORS("[PhysicalFunction]\n"
                            "Address=0000:3b:00.0\n"
                            "\n"
                            "[PhysicalFunction]\n"
                            "NumVFs=2\n"
                            "Address=0000:3B:00.0\n",
                "t.conf:6: Address=0000:3b:00.0: already configured at line 2");
}
END_TEST

START_TEST(test_bad_time_spans) {
        static const char *const invalid[] = {
                "abc", "1x", "-5", "h", "1M", "1y", "1h-", "1 h x", "1H", "1.h", "1.", ".", ".h",
                "1. 5h", "1.-5h", "5.5.5", "1..5h", "1,5h", "1.5e3s", "+1h", "1 .5h",
        };

        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                _cleanup_free_ char *text = NULL, *msg1 = NULL, *msg2 = NULL;

                ck_assert_int_ge(asprintf(&text, "[Daemon]\nRotateIntervalSec=%s\n[PhysicalFunction]\n"
                                                 "Address=0000:3b:00.0\nRotateIntervalSec=%s\n",
                                          invalid[i], invalid[i]), 0);
                ck_assert_int_ge(asprintf(&msg1, "t.conf:2: RotateIntervalSec=%s: not a time span "
                                                 "(e.g. 86400, 12h, 1.5d, 1h 30min)", invalid[i]), 0);
                ck_assert_int_ge(asprintf(&msg2, "t.conf:5: RotateIntervalSec=%s: not a time span "
                                                 "(e.g. 86400, 12h, 1.5d, 1h 30min)", invalid[i]), 0);
                CHECK_STRING_ERRORS(text, msg1, msg2);
        }

        /* Overflow, in the number itself, in the unit multiplication, in the sum, in µs. */
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec=99999999999999999999\n",
                "t.conf:2: RotateIntervalSec=99999999999999999999: out of range");
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec=18446744073709551615w\n",
                "t.conf:2: RotateIntervalSec=18446744073709551615w: out of range");
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec=18446744073709551615s 1s\n",
                "t.conf:2: RotateIntervalSec=18446744073709551615s 1s: out of range");
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec=18446744073710s\n",
                "t.conf:2: RotateIntervalSec=18446744073710s: out of range");
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec=30500569w\n",
                "t.conf:2: RotateIntervalSec=30500569w: out of range");
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec=18446744073709.551615s\n",
                "t.conf:2: RotateIntervalSec=18446744073709.551615s: out of range"); /* = UINT64_MAX µs */
        /* Not 0 ("never"), yet less than the 1 µs the daemon counts in. */
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec=0.0000001s\n",
                "t.conf:2: RotateIntervalSec=0.0000001s: out of range");
}
END_TEST

/* parse_timespan() itself: whole µs, what systemd makes of each form, and the range. */
START_TEST(test_parse_timespan) {
        static const struct {
                const char *text;
                uint64_t usec;
        } cases[] = {
                { "1.5h", UINT64_C(5400000000) },
                { "0.5d", UINT64_C(43200000000) },
                { "90min 30s", UINT64_C(5430000000) },
                { "2.5", UINT64_C(2500000) },
                { "250ms", UINT64_C(250000) },
                { "1.5ms", UINT64_C(1500) },
                { "10us", 10 },
                { "10usec", 10 },
                { "10\xc2\xb5s", 10 },           /* micro sign */
                { "10\xce\xbcs", 10 },           /* Greek mu */
                { "1s 500ms", UINT64_C(1500000) },
                { "0.0000015s", 1 },              /* below 1 µs: cut off */
                { "0.1234567s", UINT64_C(123456) },
                { "0.333333333333333333333333w", UINT64_C(201599999999) }, /* the floor, exactly */
                { "1.000000000000000000000001s", UINT64_C(1000000) },
                { "18446744073709.551614s", UINT64_MAX - 1 },
                { "0", 0 },
                { "0.0", 0 },
        };
        uint64_t v;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                v = 12345;
                ck_assert_msg(parse_timespan(cases[i].text, &v) == 0, "%s", cases[i].text);
                ck_assert_msg(v == cases[i].usec, "%s: %" PRIu64 " != %" PRIu64, cases[i].text, v, cases[i].usec);
        }

        /* Outputs are written only on success. */
        v = 12345;
        ck_assert_int_eq(parse_timespan("1.5x", &v), -EINVAL);
        ck_assert_int_eq(parse_timespan("", &v), -EINVAL);
        ck_assert_int_eq(parse_timespan("   ", &v), -EINVAL);
        ck_assert_int_eq(parse_timespan("1M", &v), -EINVAL);
        ck_assert_int_eq(parse_timespan("18446744073709.551615s", &v), -ERANGE);
        ck_assert_int_eq(parse_timespan("0.0000009s", &v), -ERANGE);
        ck_assert_uint_eq(v, 12345);
}
END_TEST

/* format_timespan() gives what parse_timespan() reads back, in systemd's style. */
START_TEST(test_format_timespan) {
        static const struct {
                uint64_t usec;
                const char *text;
        } cases[] = {
                { 0, "0" },
                { UINT64_C(86400000000), "1d" },
                { UINT64_C(5400000000), "1h 30min" },
                { UINT64_C(1500000), "1s 500ms" },
                { UINT64_C(604800000000) + 1, "1w 1us" },
                { UINT64_C(90061000000), "1d 1h 1min 1s" },
                { UINT64_MAX - 1, "30500568w 6d 8h 1min 49s 551ms 614us" },
        };
        char buf[FORMAT_TIMESPAN_MAX], small[8];
        uint64_t v;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ck_assert_str_eq(format_timespan(buf, sizeof buf, cases[i].usec), cases[i].text);
                ck_assert_int_eq(parse_timespan(buf, &v), 0);
                ck_assert_msg(v == cases[i].usec, "%s", buf);
        }
        /* Cut at a component boundary to fit, never overflowing. */
        ck_assert_str_eq(format_timespan(small, sizeof small, UINT64_C(5400000000)), "1h");
}
END_TEST

START_TEST(test_multiple_errors) {
        /* Every problem is reported, in order, and a bad Address= does not also say "missing". */
        CHECK_STRING_ERRORS(
                "Stray=1\n"                       /* 1 */
                "[Daemon]\n"
                "RotateIntervalSec=soon\n"        /* 3 */
                "Verbose=yes\n"                   /* 4 */
                "[PhysicalFunction]\n"            /* 5 */
                "Address=0000:zz:00.0\n"          /* 6 */
                "NumVFs=lots\n"                   /* 7 */
                "[PhysicalFunction]\n"            /* 8 */
                "BindVFIO=yes\n"
                "[Extra]\n"                       /* 10 */
                "Whatever=1\n"
                "[PhysicalFunction]\n"            /* 12 */
                "Address=0000:3b:00.0\n"          /* 13 */
                "RotateWhenIdle=sometimes\n"      /* 14 */
                "[PhysicalFunction]\n"
                "Address=0000:3b:00.0\n",         /* 16 */
                "t.conf:1: Stray: assignment outside of any section "
                "(expected [Daemon] or [PhysicalFunction] first)",
                "t.conf:3: RotateIntervalSec=soon: not a time span (e.g. 86400, 12h, 1.5d, 1h 30min)",
                "t.conf:4: Verbose: unknown key in [Daemon]",
                "t.conf:6: Address=0000:zz:00.0: not a PCI address (expected DDDD:BB:DD.F)",
                "t.conf:7: NumVFs=lots: not a number",
                "t.conf:8: [PhysicalFunction]: Address= is missing",
                "t.conf:10: [Extra]: unknown section (expected [Daemon] or [PhysicalFunction])",
                "t.conf:14: RotateWhenIdle=sometimes: not a boolean (expected yes or no)",
                "t.conf:16: Address=0000:3b:00.0: already configured at line 13");
}
END_TEST

START_TEST(test_dropin_duplicate_in_same_file) {
        _cleanup_free_ char *main_conf = NULL, *dir = NULL, *msg = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        /* Amending a PF from an earlier file is fine, twice in the same drop-in is not. */
        tmpdir_setup();
        main_conf = write_file("main.conf", "[PhysicalFunction]\nAddress=0000:3b:00.0\n");
        ck_assert_int_eq(mkdir(dir = tmp_path("conf.d"), 0755), 0);
        free(write_file("conf.d/a.conf", "[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=1\n"
                                         "[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=2\n"));
        ck_assert_int_eq(config_load(main_conf, true, dir, &c, &errors), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(asprintf(&msg, "%s/conf.d/a.conf:5: Address=0000:3b:00.0: already configured "
                                        "at line 2", tmpdir), 0);
        check_errors(errors, msg, NULL);
        tmpdir_teardown();
}
END_TEST

START_TEST(test_too_many_pfs) {
        _cleanup_free_ char *text = NULL;
        size_t n = 0, size = (CONFIG_MAX_PFS + 2) * 64;
        char msg[128];

        text = malloc(size);
        ck_assert_ptr_nonnull(text);
        for (unsigned i = 0; i < CONFIG_MAX_PFS + 2; i++)
                n += (size_t) snprintf(text + n, size - n, "[PhysicalFunction]\nAddress=0000:%02x:%02x.%u\n",
                                       i / 32, i % 32, 0);

        /* Exactly CONFIG_MAX_PFS are fine. */
        {
                _cleanup_(config_freep) Config *c = NULL;
                char *end = text;

                for (unsigned i = 0; i < CONFIG_MAX_PFS; i++)
                        end = strchr(strchr(end, '\n') + 1, '\n') + 1;
                *end = '\0';
                c = load_string_ok(text);
                ck_assert_uint_eq(c->n_pfs, CONFIG_MAX_PFS);
                *end = '[';
        }

        /* One error, at the first section over the limit, not one per extra section. */
        snprintf(msg, sizeof msg,
                 "t.conf:%u: [PhysicalFunction]: more than %u physical functions configured",
                 2 * CONFIG_MAX_PFS + 1, CONFIG_MAX_PFS);
        CHECK_STRING_ERRORS(text, msg);
}
END_TEST

START_TEST(test_escaped_messages) {
        _cleanup_free_ char *text = NULL, *msg = NULL;
        char long_value[200];

        /* Control characters never reach a log line raw. */
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=\x1b[31mred\n",
                "t.conf:3: NumVFs=\\x1b[31mred: not a number");
        CHECK_STRING_ERRORS("[Daemon]\nFo\x01o=1\n", "t.conf:2: Fo\\x01o: unknown key in [Daemon]");

        /* Long values are cut. */
        memset(long_value, 'x', sizeof long_value - 1);
        long_value[sizeof long_value - 1] = '\0';
        ck_assert_int_ge(asprintf(&text, "[PhysicalFunction]\nAddress=0000:3b:00.0\nNumVFs=%s\n",
                                  long_value), 0);
        ck_assert_int_ge(asprintf(&msg, "t.conf:3: NumVFs=%.64s...: not a number", long_value), 0);
        CHECK_STRING_ERRORS(text, msg);
}
END_TEST

START_TEST(test_file_name_with_line_break) {
        _cleanup_free_ char *dir = NULL, *msg = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        /* Even a file name cannot split a message into two lines. */
        tmpdir_setup();
        ck_assert_int_eq(mkdir(dir = tmp_path("conf.d"), 0755), 0);
        free(write_file("conf.d/a\nb.conf", "[Bogus]\n"));
        ck_assert_int_eq(config_load(NULL, false, dir, NULL, &errors), -EINVAL);
        ck_assert_int_ge(asprintf(&msg, "%s/a?b.conf:1: [Bogus]: unknown section (expected [Daemon] or "
                                        "[PhysicalFunction])", dir), 0);
        check_errors(errors, msg, NULL);
        tmpdir_teardown();
}
END_TEST

START_TEST(test_quotas) {
        _cleanup_(config_freep) Config *d = load_string_ok("[PhysicalFunction]\nAddress=0000:3b:00.0\n");
        _cleanup_(config_freep) Config *c = load_string_ok(
                "[Daemon]\nMaxPendingChecksPerUser=4\nMaxLeasesPerUser=2000\n"
                "[Daemon]\nMaxPendingChecksPerUser=8\n"); /* a later [Daemon] wins */
        _cleanup_(config_freep) Config *e = load_string_ok(
                "[Daemon]\nMaxPendingChecksPerUser=4\nMaxLeasesPerUser=9\n"
                "MaxPendingChecksPerUser=\nMaxLeasesPerUser=\n"); /* empty: back to the default */

        /* The defaults: 16 checks; leases 0, i.e. computed from the PFs by the manager. */
        ck_assert_uint_eq(d->max_pending_checks_per_user, CONFIG_DEFAULT_MAX_PENDING_CHECKS_PER_USER);
        ck_assert_uint_eq(d->max_pending_checks_per_user, 16);
        ck_assert_uint_eq(d->max_leases_per_user, 0);
        ck_assert_uint_eq(c->max_pending_checks_per_user, 8);
        ck_assert_uint_eq(c->max_leases_per_user, 2000);
        ck_assert_uint_eq(e->max_pending_checks_per_user, 16);
        ck_assert_uint_eq(e->max_leases_per_user, 0);

        CHECK_STRING_ERRORS("[Daemon]\nMaxPendingChecksPerUser=0\n",
                            "t.conf:2: MaxPendingChecksPerUser=0: out of range (1..1024)");
        CHECK_STRING_ERRORS("[Daemon]\nMaxPendingChecksPerUser=1025\n",
                            "t.conf:2: MaxPendingChecksPerUser=1025: out of range (1..1024)");
        CHECK_STRING_ERRORS("[Daemon]\nMaxPendingChecksPerUser=many\n",
                            "t.conf:2: MaxPendingChecksPerUser=many: not a number");
        CHECK_STRING_ERRORS("[Daemon]\nMaxLeasesPerUser=0\n", "t.conf:2: MaxLeasesPerUser=0: out of range (1..65536)");
        CHECK_STRING_ERRORS("[Daemon]\nMaxLeasesPerUser=65537\n",
                            "t.conf:2: MaxLeasesPerUser=65537: out of range (1..65536)");
        CHECK_STRING_ERRORS("[PhysicalFunction]\nAddress=0000:3b:00.0\nMaxLeasesPerUser=5\n",
                            "t.conf:3: MaxLeasesPerUser: unknown key in [PhysicalFunction]");
}
END_TEST

START_TEST(test_errors_sorted) {
        _cleanup_free_ char *main_conf = NULL, *dir = NULL, *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
        _cleanup_free_ char *m5 = NULL, *m6 = NULL;
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;

        /* A missing Address= is only known when its section ends, after the errors in its keys;
         * a duplicate Address= likewise. The list still comes in line order. */
        CHECK_STRING_ERRORS("[PhysicalFunction]\n"   /* 1 */
                            "NumVFs=x\n"             /* 2 */
                            "Foo=1\n"                /* 3 */
                            "[PhysicalFunction]\n"   /* 4 */
                            "Address=0000:3b:00.0\n" /* 5 */
                            "[PhysicalFunction]\n"   /* 6 */
                            "Address=0000:3b:00.0\n" /* 7 */
                            "BindVFIO=perhaps\n",    /* 8 */
                "t.conf:1: [PhysicalFunction]: Address= is missing",
                "t.conf:2: NumVFs=x: not a number",
                "t.conf:3: Foo: unknown key in [PhysicalFunction]",
                "t.conf:7: Address=0000:3b:00.0: already configured at line 5",
                "t.conf:8: BindVFIO=perhaps: not a boolean (expected yes or no)");

        /* Across files: the main file, then the drop-ins in the order read (by name), however
         * the lines compare; within each by line; a file that cannot be read where it comes. */
        tmpdir_setup();
        main_conf = write_file("main.conf", "[PhysicalFunction]\nBindVFIO=1\nNumVFs=x\n");
        ck_assert_int_eq(mkdir(dir = tmp_path("conf.d"), 0755), 0);
        free(write_file("conf.d/20-b.conf", "[Daemon]\n\n\nFoo=1\n"));
        free(write_file("conf.d/10-a.conf", "\n\n\n\n\n\n\n\n[Daemon]\nBar=2\n"));
        ck_assert_int_eq(mkdir(m6 = tmp_path("conf.d/15-dir"), 0755), 0);
        ck_assert_int_eq(symlink("15-loop.conf", m5 = tmp_path("conf.d/15-loop.conf")), 0);
        ck_assert_int_eq(config_load(main_conf, true, dir, &c, &errors), -ELOOP);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(asprintf(&m1, "%s:1: [PhysicalFunction]: Address= is missing", main_conf), 0);
        ck_assert_int_ge(asprintf(&m2, "%s:3: NumVFs=x: not a number", main_conf), 0);
        ck_assert_int_ge(asprintf(&m3, "%s/10-a.conf:10: Bar: unknown key in [Daemon]", dir), 0);
        ck_assert_int_ge(asprintf(&m4, "%s/20-b.conf:4: Foo: unknown key in [Daemon]", dir), 0);
        free(m6);
        ck_assert_int_ge(asprintf(&m6, "%s: cannot open: Too many levels of symbolic links", m5), 0);
        check_errors(errors, m1, m2, m3, m6, m4, NULL);
        tmpdir_teardown();
}
END_TEST

START_TEST(test_short_interval_warnings) {
        _cleanup_free_ char *main_conf = NULL, *dir = NULL, *msg1 = NULL, *msg2 = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        Config *c;

        /* Under a minute: allowed, with a warning naming file, line, key and value, in line
         * order; 0 (never) and a minute or more: none. */
        c = load_string_ok("[PhysicalFunction]\n"
                           "Address=0000:3b:00.0\n"
                           "RotateIntervalSec=59.9s\n"
                           "[Daemon]\n"
                           "RotateIntervalSec=1s\n"
                           "[PhysicalFunction]\n"
                           "Address=0000:3c:00.0\n"
                           "RotateIntervalSec=1min\n"
                           "[PhysicalFunction]\n"
                           "Address=0000:3d:00.0\n"
                           "RotateIntervalSec=0\n");
        ck_assert_uint_eq(c->pfs[0].rotate_interval_usec, UINT64_C(59900000));
        check_errors(c->warnings,
                     "t.conf:3: RotateIntervalSec=59.9s: shorter than a minute; every rotation makes the "
                     "holders of leases acquire the token again before they open another VF",
                     "t.conf:5: RotateIntervalSec=1s: shorter than a minute; every rotation makes the "
                     "holders of leases acquire the token again before they open another VF",
                     NULL);
        c = config_free(c);

        c = load_string_ok("[Daemon]\nRotateIntervalSec=1min\n[PhysicalFunction]\nAddress=0000:3b:00.0\n"
                           "RotateIntervalSec=0\n");
        ck_assert_ptr_null(c->warnings);
        c = config_free(c);

        /* Only the values in force: a later key, an empty value or a drop-in that changes the
         * interval takes its warning away; one a section given up on never had one. */
        c = load_string_ok("[Daemon]\nRotateIntervalSec=5s\nRotateIntervalSec=1h\n"
                           "[PhysicalFunction]\nAddress=0000:3b:00.0\nRotateIntervalSec=5s\nRotateIntervalSec=\n");
        ck_assert_ptr_null(c->warnings);
        c = config_free(c);

        tmpdir_setup();
        main_conf = write_file("main.conf", "[Daemon]\nRotateIntervalSec=10s\n"
                                            "[PhysicalFunction]\nAddress=0000:3b:00.0\nRotateIntervalSec=10s\n"
                                            "[PhysicalFunction]\nAddress=0000:3c:00.0\nRotateIntervalSec=1d\n");
        ck_assert_int_eq(mkdir(dir = tmp_path("conf.d"), 0755), 0);
        free(write_file("conf.d/50-fix.conf", "[PhysicalFunction]\nAddress=0000:3b:00.0\nRotateIntervalSec=1d\n"
                                              "[PhysicalFunction]\nAddress=0000:3c:00.0\nRotateIntervalSec=2s\n"));
        ck_assert_int_eq(config_load(main_conf, true, dir, &c, &errors), 0);
        ck_assert_int_ge(asprintf(&msg1, "%s:2: RotateIntervalSec=10s: shorter than a minute; every rotation "
                                         "makes the holders of leases acquire the token again before they "
                                         "open another VF", main_conf), 0);
        ck_assert_int_ge(asprintf(&msg2, "%s/50-fix.conf:6: RotateIntervalSec=2s: shorter than a minute; every "
                                         "rotation makes the holders of leases acquire the token again before "
                                         "they open another VF", dir), 0);
        check_errors(c->warnings, msg1, msg2, NULL);
        c = config_free(c);
        tmpdir_teardown();

        /* A configuration with errors gives the errors only. */
        CHECK_STRING_ERRORS("[Daemon]\nRotateIntervalSec=1s\nFoo=1\n", "t.conf:3: Foo: unknown key in [Daemon]");
}
END_TEST

START_TEST(test_null_outputs) {
        _cleanup_strv_free_ char **errors = NULL;

        /* Validation only: no Config wanted. */
        ck_assert_int_eq(config_load_string("t.conf", "[PhysicalFunction]\nAddress=0000:3b:00.0\n",
                                            NULL, NULL), 0);
        ck_assert_int_eq(config_load_string("t.conf", "[Nope]\n", NULL, NULL), -EINVAL);
        ck_assert_int_eq(config_load_string("t.conf", "[Nope]\n", NULL, &errors), -EINVAL);
        check_errors(errors, "t.conf:1: [Nope]: unknown section (expected [Daemon] or [PhysicalFunction])",
                     NULL);
        ck_assert_ptr_null(config_free(NULL));
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc;

        tc = tcase_create("good");
        tcase_add_test(tc, test_design_example);
        tcase_add_test(tc, test_defaults_and_empty);
        tcase_add_test(tc, test_syntax_variants);
        tcase_add_test(tc, test_canonical_address_and_find);
        tcase_add_test(tc, test_booleans);
        tcase_add_test(tc, test_api);
        tcase_add_test(tc, test_time_spans);
        tcase_add_test(tc, test_parse_timespan);
        tcase_add_test(tc, test_format_timespan);
        tcase_add_test(tc, test_inherit_in_one_file);
        tcase_add_test(tc, test_dropins);
        suite_add_tcase(s, tc);

        tc = tcase_create("bad");
        tcase_add_test(tc, test_missing_files);
        tcase_add_test(tc, test_unreadable_files);
        tcase_add_test(tc, test_nul_and_long_lines);
        tcase_add_test(tc, test_error_messages);
        tcase_add_test(tc, test_bad_time_spans);
        tcase_add_test(tc, test_multiple_errors);
        tcase_add_test(tc, test_dropin_duplicate_in_same_file);
        tcase_add_test(tc, test_too_many_pfs);
        tcase_add_test(tc, test_escaped_messages);
        tcase_add_test(tc, test_file_name_with_line_break);
        tcase_add_test(tc, test_quotas);
        tcase_add_test(tc, test_errors_sorted);
        tcase_add_test(tc, test_short_interval_warnings);
        tcase_add_test(tc, test_null_outputs);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        int failed, r;

        r = test_tmpdir_new("test-config", &topdir);
        if (r < 0) {
                fprintf(stderr, "mkdtemp: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        failed = TEST_RUN_SUITE(config_suite());

        r = test_rm_rf(topdir);
        if (r < 0) {
                fprintf(stderr, "removing test directory: %s\n", strerror(-r));
                failed++;
        }
        free(topdir);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
