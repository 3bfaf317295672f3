/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-tokend: command line, privilege split, and the top-level flow. */

#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-manager.h"
#include "config.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "parse-util.h"
#include "setup.h"
#include "state.h"
#include "strv.h"
#include "sysfs.h"
#include "vfio.h"

static const char *arg_config = NULL;
static const char *arg_state_dir = NULL;
static bool arg_setup = false;
static bool arg_check_config = false;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Owns SR-IOV PFs bound to vfio-pci, sets and rotates their VF tokens, and hands\n"
               "them to authorised callers over D-Bus (org.vfio.Tokend1).\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --config=FILE       Configuration file (default " CONFIG_DEFAULT_PATH ")\n"
               "     --state-dir=DIR     State directory (default $STATE_DIRECTORY or " STATE_DEFAULT_DIR ")\n"
               "     --setup             As root: bind PFs to vfio-pci, enable VFs, hand the device\n"
               "                         nodes to the service user, then exit\n"
               "     --check-config      Validate the configuration without touching devices\n\n"
               "See vfio-tokend(8) and vfio-tokend.conf(5).\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_STATE_DIR, ARG_SETUP, ARG_CHECK_CONFIG };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "setup", no_argument, NULL, ARG_SETUP },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
                        return 0;
                case ARG_CONFIG:
                        arg_config = optarg;
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_SETUP:
                        arg_setup = true;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("%s takes no positional arguments (got '%s'); see --help.", program_invocation_short_name,
                          argv[optind]);
                return -EINVAL;
        }
        if (arg_setup && arg_check_config) {
                log_error("--setup and --check-config exclude each other.");
                return -EINVAL;
        }
        return 1;
}

/* The conf.d next to an explicit --config is read too, so tests and admins get drop-ins. */
static const char *dropin_dir_for(const char *config, char *buf, size_t size) {
        const char *slash = strrchr(config, '/');

        snprintf(buf, size, "%.*s/conf.d", slash ? (int) (slash - config) : 1, slash ? config : ".");
        return buf;
}

/* Loads the configuration and logs what is wrong with it, in file and line order: every error
 * (then `verdict`, unless NULL) on failure, every warning on success. Returns the number of
 * errors through ret_n_errors (0 on success), for --check-config's verdict. */
static int load_config_with_dropins(Config **ret, const char *verdict, size_t *ret_n_errors) {
        _cleanup_strv_free_ char **errors = NULL;
        const char *path = arg_config ?: CONFIG_DEFAULT_PATH;
        char dropins[4096];
        size_t n = 0;
        int r;

        r = config_load(path, !!arg_config,
                        arg_config ? dropin_dir_for(arg_config, dropins, sizeof dropins) : CONFIG_DEFAULT_DROPIN_DIR,
                        ret, &errors);
        if (r < 0) {
                for (char **e = errors; e && *e; e++)
                        log_error("%s", *e);
                n = strv_length(errors);
                if (n == 0) {
                        log_error_errno(r, "Failed to load configuration %s: %m", path);
                        n = 1;
                }
                if (verdict)
                        log_error("Configuration is invalid, %s.", verdict);
        } else
                for (char **w = (*ret)->warnings; w && *w; w++)
                        log_warning("%s", *w);
        if (ret_n_errors)
                *ret_n_errors = n;
        return r;
}

/* --check-config: the verdict, and on success the settings in force, the way they would be
 * written in the configuration. */
static int check_config(void) {
        _cleanup_(config_freep) Config *config = NULL;
        char span[FORMAT_TIMESPAN_MAX];
        size_t n_errors, n_warnings;
        int r;

        r = load_config_with_dropins(&config, NULL, &n_errors);
        if (r < 0) {
                fflush(stdout);
                fprintf(stderr, "Configuration invalid: %zu error(s).\n", n_errors);
                return r;
        }

        printf("[Daemon] RotateIntervalSec=%s MaxPendingChecksPerUser=%u MaxLeasesPerUser=",
               format_timespan(span, sizeof span, config->rotate_interval_usec),
               config->max_pending_checks_per_user);
        if (config->max_leases_per_user > 0)
                printf("%u\n", config->max_leases_per_user);
        else
                printf("max(%u, VFs of all PFs)\n", (unsigned) CONFIG_DEFAULT_MAX_LEASES_PER_USER);
        for (size_t i = 0; i < config->n_pfs; i++) {
                const PfConfig *p = &config->pfs[i];

                printf("[PhysicalFunction] Address=%s NumVFs=%u BindVFIO=%s RotateWhenIdle=%s "
                       "RotateIntervalSec=%s Api=%s\n",
                       p->address, p->num_vfs, p->bind_vfio ? "yes" : "no", p->rotate_when_idle ? "yes" : "no",
                       format_timespan(span, sizeof span, p->rotate_interval_usec), pf_api_config_to_string(p->api));
        }
        n_warnings = strv_length(config->warnings);
        if (n_warnings > 0)
                printf("Configuration OK: %zu PF(s), %zu warning(s).\n", config->n_pfs, n_warnings);
        else
                printf("Configuration OK: %zu PF(s).\n", config->n_pfs);
        return 0;
}

/* SIGHUP: the same files again. */
static int reload_config(Config **ret) {
        return load_config_with_dropins(ret, "keeping the running one", NULL);
}

static int lookup_service_user(uid_t *ret_uid, gid_t *ret_gid) {
        struct passwd *pw;

        errno = 0;
        pw = getpwnam(SERVICE_USER);
        if (!pw)
                return errno > 0 ? -errno : -ESRCH;
        *ret_uid = pw->pw_uid;
        *ret_gid = pw->pw_gid;
        return 0;
}

/* Hands the state directory, and the state files in it, to the service user: a run as root (an
 * older version, or an admin's test) may have left files the daemon could not replace. Never
 * follows a symlink: the directory is opened O_NOFOLLOW and changed through its fd, the files
 * with AT_SYMLINK_NOFOLLOW, and only regular files are touched. */
static int take_state_dir(const char *state_dir, uid_t uid, gid_t gid) {
        _cleanup_close_ int fd = -1;
        struct dirent *de;
        struct stat st;
        DIR *d;

        if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create state directory %s: %m", state_dir);
        fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open state directory %s%s: %m", state_dir,
                                       errno == ELOOP || errno == ENOTDIR ? " (a symlink or not a directory?)" : "");
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat state directory %s: %m", state_dir);
        if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
                return log_error_errno(errno, "Failed to hand state directory %s to %s: %m", state_dir,
                                       SERVICE_USER);
        if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
                return log_error_errno(errno, "Failed to make state directory %s 0700: %m", state_dir);

        d = fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                return log_error_errno(errno, "Failed to read state directory %s: %m", state_dir);
        while ((de = readdir(d))) {
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if ((st.st_uid != uid || st.st_gid != gid) &&
                    fchownat(dirfd(d), de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        log_warning_errno(errno, "Failed to hand %s/%s to %s: %m", state_dir, de->d_name,
                                          SERVICE_USER);
                else if (st.st_uid != uid)
                        log_notice("Handed %s/%s (owned by uid %u) to %s.", state_dir, de->d_name,
                                   (unsigned) st.st_uid, SERVICE_USER);
        }
        closedir(d);
        return 0;
}

/* Started by hand as root, one process does the setup and then keeps nothing it no longer needs:
 * it becomes the service user. It never stays uid 0: uid 0 owns /etc and /usr even without
 * capabilities. */
static int drop_privileges(const char *state_dir, uid_t uid, gid_t gid, bool have_user) {
        int r;

        if (!have_user)
                return log_error_errno(ESRCH,
                                       "No user %s: refusing to run the daemon as uid 0. Create it with "
                                       "'systemd-sysusers' (vfio-tokend installs a sysusers.d entry) or "
                                       "'useradd --system --no-create-home --shell /usr/sbin/nologin %s'.",
                                       SERVICE_USER, SERVICE_USER);

        /* The state directory must be the service user's. */
        r = take_state_dir(state_dir, uid, gid);
        if (r < 0)
                return r;
        capng_clear(CAPNG_SELECT_BOTH);
        r = capng_change_id((int) uid, (int) gid, CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
        if (r < 0)
                return log_error_errno(EPERM, "Failed to change to user %s (libcap-ng error %d).", SERVICE_USER, r);
        log_info("Dropped privileges to user %s (uid %u), no capabilities.", SERVICE_USER, (unsigned) uid);
        return 0;
}

/* Whether this process may open the nodes the PF is opened through (Api=): the container and
 * the group node, or /dev/iommu and the PF's cdev. 0 yes, 1 cannot tell (an absent or odd PF,
 * reported per PF later), or -errno with the refused node in `node`. */
static int pf_nodes_access(const Manager *m, const PfConfig *c, char *node, size_t size) {
        _cleanup_(pci_device_freep) PciDevice *d = NULL;
        VfioApi api;
        int n;

        if (sysfs_device_read(m->sysfs_root, c->address, &d) < 0 || d->iommu_group < 0)
                return 1;
        api = pf_config_vfio_api(c, m->dev_root);
        n = pci_device_vfio_node(d, api);
        if (n < 0)
                return 1;
        for (VfioFdKind kind = 0; kind < _VFIO_FD_MAX; kind++) {
                int r = vfio_node_path(m->dev_root, api, kind, n, node, size);

                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                if (access(node, R_OK | W_OK) < 0)
                        return -errno;
        }
        return 0;
}

/* Started without root, the daemon needs the nodes --setup hands to the service user. If it
 * can use none of the configured PFs' nodes, starting would only serve a bus of dead PFs:
 * refuse with one message that says what to do. */
static int check_device_access(Manager *m) {
        char node[4096], first[4096] = "";
        int first_error = 0, r;

        /* PFs it cannot tell about count neither way: they are reported one by one later. */
        for (size_t i = 0; i < m->config->n_pfs; i++) {
                r = pf_nodes_access(m, &m->config->pfs[i], node, sizeof node);
                if (r == 0)
                        return 0;
                if (r > 0)
                        continue;
                if (!first_error) {
                        first_error = -r;
                        snprintf(first, sizeof first, "%s", node);
                }
        }
        if (!first_error)
                return 0;
        return log_error_errno(first_error,
                               "Cannot use the VFIO nodes of any configured PF as uid %u (%s: %m). Start "
                               "vfio-tokend as root, or as user %s after 'vfio-tokend --setup' has handed it "
                               "the nodes.",
                               (unsigned) geteuid(), first, SERVICE_USER);
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(bus_face_freep) BusFace *face = NULL;
        _cleanup_(config_freep) Config *config = NULL;
        ManagerPaths paths = {};
        uid_t uid = (uid_t) -1;
        gid_t gid = (gid_t) -1;
        bool have_user;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;

        if (arg_check_config)
                return check_config();

        r = load_config_with_dropins(&config, "refusing to start", NULL);
        if (r < 0)
                return r;

        have_user = lookup_service_user(&uid, &gid) >= 0;
        paths.state_dir = arg_state_dir;

        r = manager_new(TAKE_PTR(config), &paths, &m);
        if (r < 0)
                return log_error_errno(r, "Failed to create the manager: %m");
        m->load_config = reload_config;

        if (arg_setup || geteuid() == 0) {
                if (geteuid() != 0)
                        return log_error_errno(EPERM, "--setup must run as root.");
                r = setup_all(m->config, m->sysfs_root, m->dev_root, have_user ? uid : (uid_t) -1, gid);
                if (arg_setup) {
                        if (r > 0)
                                log_warning("Setup failed for %d PF(s); the daemon will report them.", r);
                        /* State files a root run left behind would keep the daemon from its PFs. */
                        if (have_user)
                                (void) take_state_dir(m->state_dir, uid, gid);
                        return 0;
                }
                r = drop_privileges(m->state_dir, uid, gid, have_user);
                if (r < 0)
                        return r;
        } else {
                r = check_device_access(m);
                if (r < 0)
                        return r;
        }

        r = manager_start(m);
        if (r < 0)
                return r;
        r = bus_face_new(m, &face);
        if (r < 0)
                return r;
        return manager_run(m);
}

int main(int argc, char *argv[]) {
        int r;

        /* A peer that goes away mid-write must cost an EPIPE, never the daemon. */
        (void) signal(SIGPIPE, SIG_IGN);
        /* The process holds the tokens: no core dumps, no ptrace by the same uid, no /proc/PID/mem. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        r = run(argc, argv);
        return r != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
