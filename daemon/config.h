/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The configuration: /etc/vfio-tokend/vfio-tokend.conf plus conf.d/ drop-ins (see
 * vfio-tokend.conf(5) and docs/contract.md). Parsing never logs: errors and warnings come back
 * as text naming file, line and key, and the caller decides how to report them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "pci-address.h"

/* SYSCONFDIR comes from configure's --sysconfdir (Makefile.am passes it to every compile), so
 * the daemon reads the configuration from where `make install` and the package put it. */
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/vfio-tokend/vfio-tokend.conf"
#define CONFIG_DEFAULT_DROPIN_DIR SYSCONFDIR "/vfio-tokend/conf.d"
#define CONFIG_MAX_PFS 256
#define CONFIG_MAX_LINE 4096
#define CONFIG_MAX_NUM_VFS 65535

/* RotateIntervalSec= not given in a [PhysicalFunction]: inherit [Daemon]'s. */
#define ROTATE_INTERVAL_INHERIT UINT64_MAX

/* [PhysicalFunction] Api=: which VFIO API the daemon holds the PF through. */
typedef enum PfApi {
        PF_API_AUTO,  /* group where the kernel has it (/dev/vfio/vfio), else cdev */
        PF_API_GROUP,
        PF_API_CDEV,
        _PF_API_MAX,
} PfApi;

const char *pf_api_config_to_string(PfApi api); /* "auto", "group", "cdev" */
int pf_api_from_string(const char *s);          /* PfApi, or -EINVAL */

typedef struct PfConfig PfConfig;
/* The VFIO API Api= means on the kernel behind dev_root ("/dev"): auto is the group API where
 * the kernel has it (<dev_root>/vfio/vfio exists), else the cdev API. */
int pf_config_vfio_api(const PfConfig *c, const char *dev_root);

struct PfConfig {
        char address[PCI_ADDRESS_MAX]; /* canonical */
        unsigned num_vfs;              /* 0: leave the VF count as it is */
        bool bind_vfio;                /* bind the PF and its VFs to vfio-pci */
        bool rotate_when_idle;         /* rotate when the PF's last lease ends */
        PfApi api;                     /* Api=, default auto */
        uint64_t rotate_interval_usec; /* effective value after load: 0 = never on a timer */
        char *file;                    /* where the section started, for messages */
        unsigned line;
};

/* Quotas of [Daemon] (vfio-tokend.conf(5)). */
#define CONFIG_DEFAULT_MAX_PENDING_CHECKS_PER_USER 16
#define CONFIG_MAX_PENDING_CHECKS_PER_USER 1024
#define CONFIG_DEFAULT_MAX_LEASES_PER_USER 256
#define CONFIG_MAX_LEASES_PER_USER 65536

typedef struct Config {
        uint64_t rotate_interval_usec;        /* [Daemon] RotateIntervalSec=, 0 = never */
        unsigned max_pending_checks_per_user; /* [Daemon] MaxPendingChecksPerUser= */
        unsigned max_leases_per_user;         /* [Daemon] MaxLeasesPerUser=, 0 = the default: 256 or the
                                               * number of VFs of all managed PFs, whichever is larger */
        PfConfig *pfs;
        size_t n_pfs;
        char **warnings; /* NULL-terminated, or NULL: things allowed but likely slips, sorted by
                          * file and line ("FILE:LINE: KEY=VALUE: what is odd") */
} Config;

/* Loads `path` and then every `*.conf` in `dropin_dir` (sorted by file name; NULL = none).
 * A missing `path` is an error only if `path_must_exist`. On failure returns -EINVAL (or
 * another -errno for I/O) and, if ret_errors is not NULL, a NULL-terminated list of every
 * problem found, in the order of the files as read and of the lines in each, each one line of
 * the form "FILE:LINE: KEY=VALUE: what is wrong" ("FILE:LINE: KEY: ..." for an unknown key,
 * "FILE: ..." for a file that cannot be read). */
int config_load(const char *path, bool path_must_exist, const char *dropin_dir, Config **ret,
                char ***ret_errors);
/* The same for a config given as a string (tests, fuzzing); `name` is used in messages. */
int config_load_string(const char *name, const char *text, Config **ret, char ***ret_errors);

Config *config_free(Config *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

const PfConfig *config_find_pf(const Config *c, const char *address);
