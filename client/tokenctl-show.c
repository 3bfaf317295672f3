/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl's read-only verbs: list, status and leases. This file owns what they show: which
 * objects they read (PF paths from ListPhysicalFunctions / GetPhysicalFunction, never built
 * here; leases from each PF's Leases), which of their properties (the maps below), and how
 * those look as text and as --json. Reading properties is bus-props.c's job, laying out tables
 * table.c's.
 *
 * --json keys follow one rule, for these verbs and the others alike (vfio-tokenctl(1), "JSON
 * OUTPUT"): snake_case; an object's D-Bus properties under their names in snake_case (NumVFs:
 * num_vfs, UID: uid); "path" for the object's own path; a reference to another object named by
 * its kind (a lease's PhysicalFunction: pf_path, and beside it pf_address). */

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "bus-props.h"
#include "json-out.h"
#include "macro.h"
#include "string-util.h"
#include "strv.h"
#include "table.h"
#include "tokenctl.h"
#include "vfio-token.h"

typedef struct PfInfo {
        char *path;
        char *address;
        char *driver;
        char *state;
        char *state_reason;
        char *api;
        uint32_t num_vfs;
        uint32_t total_vfs;
        char **virtual_functions;
        uint64_t token_generation;
        uint64_t token_set_timestamp;
        char **leases;
} PfInfo;

typedef struct LeaseInfo {
        char *physical_function;
        char *device;
        char *owner;
        uint32_t uid;
        uint32_t pid;
        uint64_t acquired;
        char *user; /* the name of uid, NULL if it has none */
} LeaseInfo;

static const BusPropMap pf_props[] = {
        { "Address", "s", offsetof(PfInfo, address) },
        { "Driver", "s", offsetof(PfInfo, driver) },
        { "State", "s", offsetof(PfInfo, state) },
        { "StateReason", "s", offsetof(PfInfo, state_reason) },
        { "Api", "s", offsetof(PfInfo, api) },
        { "NumVFs", "u", offsetof(PfInfo, num_vfs) },
        { "TotalVFs", "u", offsetof(PfInfo, total_vfs) },
        { "VirtualFunctions", "as", offsetof(PfInfo, virtual_functions) },
        { "TokenGeneration", "t", offsetof(PfInfo, token_generation) },
        { "TokenSetTimestamp", "t", offsetof(PfInfo, token_set_timestamp) },
        { "Leases", "ao", offsetof(PfInfo, leases) },
        {}
};

static const BusPropMap lease_props[] = {
        { "PhysicalFunction", "o", offsetof(LeaseInfo, physical_function) },
        { "Device", "s", offsetof(LeaseInfo, device) },
        { "Owner", "s", offsetof(LeaseInfo, owner) },
        { "UID", "u", offsetof(LeaseInfo, uid) },
        { "PID", "u", offsetof(LeaseInfo, pid) },
        { "Acquired", "t", offsetof(LeaseInfo, acquired) },
        {}
};

static void pf_info_done(PfInfo *p) {
        free(p->path);
        bus_props_done(pf_props, p);
        *p = (PfInfo) {};
}

static void lease_info_done(LeaseInfo *l) {
        bus_props_done(lease_props, l);
        free(l->user);
        *l = (LeaseInfo) {};
}

/* The PFs of a listing, in the daemon's order. */
typedef struct PfList {
        PfInfo *pfs;
        size_t n;
} PfList;

static void pf_list_done(PfList *l) {
        for (size_t i = 0; i < l->n; i++)
                pf_info_done(l->pfs + i);
        l->pfs = mfree(l->pfs);
        l->n = 0;
}

static int pf_list_add(PfList *l, const char *address, const char *path) {
        PfInfo *a;

        a = reallocarray(l->pfs, l->n + 1, sizeof(PfInfo));
        if (!a)
                return -ENOMEM;
        l->pfs = a;
        l->pfs[l->n++] = (PfInfo) {
                .path = strdup(path),
                .address = strdup(address),
        };
        return l->pfs[l->n - 1].path && l->pfs[l->n - 1].address ? 0 : -ENOMEM;
}

/* Every managed PF with its properties, in the daemon's order. Returns an exit code. */
static int get_pfs(sd_bus *bus, PfList *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(pf_list_done) PfList l = {};
        const char *address, *path;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                               VFIO_TOKEN_MANAGER_INTERFACE, "ListPhysicalFunctions", &e, &reply, NULL);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to list physical functions");

        r = sd_bus_message_enter_container(reply, 'a', "(so)");
        if (r < 0)
                return tokenctl_fail(-EBADMSG, NULL, "failed to list physical functions");
        while ((r = sd_bus_message_read(reply, "(so)", &address, &path)) > 0) {
                r = pf_list_add(&l, address, path);
                if (r < 0)
                        return tokenctl_fail(r, NULL, "failed to list physical functions");
        }
        if (r < 0)
                return tokenctl_fail(-EBADMSG, NULL, "failed to list physical functions");

        for (size_t i = 0; i < l.n; i++) {
                /* One removed since the listing shows what the list said. */
                r = bus_props_get_all_if_present(bus, VFIO_TOKEN_BUS_NAME, l.pfs[i].path,
                                                 VFIO_TOKEN_PF_INTERFACE, pf_props, &e, l.pfs + i);
                if (r < 0)
                        return tokenctl_fail(r, &e, "failed to read the properties of %s", l.pfs[i].address);
        }

        *ret = l;
        l = (PfList) {};
        return EXIT_OK;
}

int tokenctl_get_pf_path(sd_bus *bus, const char *device, char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                               VFIO_TOKEN_MANAGER_INTERFACE, "GetPhysicalFunction", &e, &reply, "s", device);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to look up %s", device);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return tokenctl_fail(-EBADMSG, NULL, "failed to look up %s", device);

        *ret_path = strdup(path);
        if (!*ret_path)
                return tokenctl_fail(-ENOMEM, NULL, "failed to look up %s", device);
        return EXIT_OK;
}

/* The PF that device (a PF or VF address) belongs to. Returns an exit code. */
static int get_pf(sd_bus *bus, const char *device, PfInfo *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(pf_info_done) PfInfo pf = {};
        int r;

        r = tokenctl_get_pf_path(bus, device, &pf.path);
        if (r != EXIT_OK)
                return r;

        r = bus_props_get_all(bus, VFIO_TOKEN_BUS_NAME, pf.path, VFIO_TOKEN_PF_INTERFACE, pf_props, &e, &pf);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to read the properties of %s", device);

        *ret = pf;
        pf = (PfInfo) {};
        return EXIT_OK;
}

/* "2024-05-01 12:00:00 UTC" in local time, or "-" for 0 (never set). */
static const char *format_timestamp(char *buf, size_t size, uint64_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                return "-";
        return buf;
}

static const char *strdash(const char *s) {
        return s && *s ? s : "-";
}

/* Prints a filled table and, as loginctl does, a footer that counts its rows ("2 leases
 * listed."), both headings and footer left out with --no-legend. Returns an exit code. */
static int print_table(Table *t, const char *singular, const char *plural) {
        size_t n = table_n_rows(t);
        int r;

        r = table_print(t, stdout, arg_legend);
        if (r < 0)
                return tokenctl_fail(r, NULL, "failed to format the output");
        if (arg_legend)
                printf("\n%zu %s listed.\n", n, n == 1 ? singular : plural);
        return EXIT_OK;
}

static void pf_to_json(JsonOut *j, const PfInfo *pf) {
        json_begin_object(j);
        json_key_string(j, "address", pf->address);
        json_key_string(j, "path", pf->path);
        json_key_string(j, "driver", pf->driver);
        json_key_string(j, "state", pf->state);
        json_key_string(j, "state_reason", pf->state_reason ?: "");
        json_key_string(j, "api", pf->api);
        json_key_uint(j, "num_vfs", pf->num_vfs);
        json_key_uint(j, "total_vfs", pf->total_vfs);
        json_key_strv(j, "virtual_functions", pf->virtual_functions);
        json_key_uint(j, "token_generation", pf->token_generation);
        json_key_uint(j, "token_set_timestamp", pf->token_set_timestamp);
        json_key_strv(j, "leases", pf->leases);
        json_end_object(j);
}

/* A list field of pf_print(): its items one a line under each other, or "-" for none. */
static void print_strv_field(const char *label, char **l) {
        printf("%18s", label);
        if (!l || !l[0])
                printf(" -\n");
        for (char **i = l; i && *i; i++)
                printf("%s%s\n", i == l ? " " : "                   ", *i);
}

static void pf_print(const PfInfo *pf) {
        char ts[64];

        printf("%s\n", strdash(pf->address));
        printf("%18s %s\n", "Path:", pf->path);
        printf("%18s %s\n", "State:", strdash(pf->state));
        /* Why a PF is locked or gone; a ready one has no reason to show. */
        if (!isempty_str(pf->state_reason))
                printf("%18s %s\n", "StateReason:", pf->state_reason);
        printf("%18s %s\n", "Driver:", strdash(pf->driver));
        printf("%18s %s\n", "Api:", strdash(pf->api));
        printf("%18s %" PRIu32 " of %" PRIu32 "\n", "NumVFs:", pf->num_vfs, pf->total_vfs);
        print_strv_field("VirtualFunctions:", pf->virtual_functions);
        printf("%18s %" PRIu64 "\n", "TokenGeneration:", pf->token_generation);
        printf("%18s %s\n", "TokenSetTimestamp:", format_timestamp(ts, sizeof(ts), pf->token_set_timestamp));
        print_strv_field("Leases:", pf->leases);
}

/* --json of a list of PFs: an array of their objects. Returns an exit code. */
static int pfs_print_json(const PfList *l) {
        JsonOut j = JSON_OUT_INIT;

        json_begin_array(&j);
        for (size_t i = 0; i < l->n; i++)
                pf_to_json(&j, l->pfs + i);
        json_end_array(&j);
        return tokenctl_json_print(&j);
}

int verb_list(sd_bus *bus, int argc, char **argv) {
        _cleanup_(pf_list_done) PfList l = {};
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        r = get_pfs(bus, &l);
        if (r != EXIT_OK)
                return r;

        if (arg_json)
                return pfs_print_json(&l);

        t = table_new((const char *const[]) {
                "ADDRESS", "DRIVER", "STATE", "API", "VFS", "GENERATION", "TOKEN SET", "LEASES", NULL });
        if (!t)
                return tokenctl_fail(-ENOMEM, NULL, "failed to format the output");
        for (size_t i = 0; i < l.n; i++) {
                const PfInfo *pf = l.pfs + i;
                char ts[64];

                table_add_cell(t, "%s", strdash(pf->address));
                table_add_cell(t, "%s", strdash(pf->driver));
                table_add_cell(t, "%s", strdash(pf->state));
                table_add_cell(t, "%s", strdash(pf->api));
                table_add_cell(t, "%" PRIu32 "/%" PRIu32, pf->num_vfs, pf->total_vfs);
                table_add_cell(t, "%" PRIu64, pf->token_generation);
                table_add_cell(t, "%s", format_timestamp(ts, sizeof(ts), pf->token_set_timestamp));
                table_add_cell(t, "%zu", strv_length(pf->leases));
        }
        return print_table(t, "physical function", "physical functions");
}

int verb_status(sd_bus *bus, int argc, char **argv) {
        _cleanup_(pf_list_done) PfList l = {};
        int r;

        if (argc > 1) {
                _cleanup_(pf_info_done) PfInfo pf = {};

                r = get_pf(bus, argv[1], &pf);
                if (r != EXIT_OK)
                        return r;
                if (arg_json) {
                        JsonOut j = JSON_OUT_INIT;

                        pf_to_json(&j, &pf);
                        return tokenctl_json_print(&j);
                }
                pf_print(&pf);
                return EXIT_OK;
        }

        r = get_pfs(bus, &l);
        if (r != EXIT_OK)
                return r;

        if (arg_json)
                return pfs_print_json(&l);

        for (size_t i = 0; i < l.n; i++) {
                if (i > 0)
                        printf("\n");
                pf_print(l.pfs + i);
        }
        return EXIT_OK;
}

/* The name of uid, or NULL if the user database has none (or cannot be read). */
static char *user_name(uid_t uid) {
        _cleanup_free_ char *buf = NULL;
        struct passwd pw, *found = NULL;
        long size = sysconf(_SC_GETPW_R_SIZE_MAX);
        int r;

        for (size_t n = size > 0 ? (size_t) size : 1024; n <= 1024 * 1024; n *= 2) {
                free(buf);
                buf = malloc(n);
                if (!buf)
                        return NULL;
                r = getpwuid_r(uid, &pw, buf, n, &found);
                if (r != ERANGE)
                        break;
        }
        return found ? strdup(found->pw_name) : NULL;
}

static void lease_to_json(JsonOut *j, const char *path, const PfInfo *pf, const LeaseInfo *l) {
        json_begin_object(j);
        json_key_string(j, "path", path);
        json_key_string(j, "pf_path", l->physical_function);
        json_key_string(j, "pf_address", pf->address);
        json_key_string(j, "device", l->device);
        json_key_uint(j, "uid", l->uid);
        json_key_string(j, "user", l->user); /* null: no such user here */
        json_key_uint(j, "pid", l->pid);
        json_key_string(j, "owner", l->owner);
        json_key_uint(j, "acquired", l->acquired);
        json_end_object(j);
}

static void lease_to_row(Table *t, const char *path, const PfInfo *pf, const LeaseInfo *l) {
        char ts[64];

        table_add_cell(t, "%s", path);
        table_add_cell(t, "%s", strdash(pf->address));
        table_add_cell(t, "%s", strdash(l->device));
        table_add_cell(t, "%" PRIu32, l->uid);
        if (l->user)
                table_add_cell(t, "%s", l->user);
        else
                table_add_cell(t, "%" PRIu32, l->uid);
        table_add_cell(t, "%" PRIu32, l->pid);
        table_add_cell(t, "%s", strdash(l->owner));
        table_add_cell(t, "%s", format_timestamp(ts, sizeof(ts), l->acquired));
}

int verb_leases(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(pf_list_done) PfList pfs = {};
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_(json_out_done) JsonOut j = JSON_OUT_INIT;
        int r;

        r = get_pfs(bus, &pfs);
        if (r != EXIT_OK)
                return r;

        if (arg_json)
                json_begin_array(&j);
        else {
                t = table_new((const char *const[]) {
                        "LEASE", "PF", "DEVICE", "UID", "USER", "PID", "OWNER", "ACQUIRED", NULL });
                if (!t)
                        return tokenctl_fail(-ENOMEM, NULL, "failed to format the output");
        }

        for (size_t i = 0; i < pfs.n; i++)
                for (char **p = pfs.pfs[i].leases; p && *p; p++) {
                        _cleanup_(lease_info_done) LeaseInfo l = {};

                        r = bus_props_get_all_if_present(bus, VFIO_TOKEN_BUS_NAME, *p,
                                                         VFIO_TOKEN_LEASE_INTERFACE, lease_props, &e, &l);
                        if (r == 0) /* ended since the PF was read */
                                continue;
                        if (r < 0)
                                return tokenctl_fail(r, &e, "failed to read lease %s", *p);
                        l.user = user_name((uid_t) l.uid);

                        if (arg_json)
                                lease_to_json(&j, *p, pfs.pfs + i, &l);
                        else
                                lease_to_row(t, *p, pfs.pfs + i, &l);
                }

        if (arg_json) {
                json_end_array(&j);
                return tokenctl_json_print(&j);
        }
        return print_table(t, "lease", "leases");
}

int tokenctl_find_lease(sd_bus *bus, const char *number, char **ret_path) {
        _cleanup_(pf_list_done) PfList pfs = {};
        int r;

        r = get_pfs(bus, &pfs);
        if (r != EXIT_OK)
                return r;

        for (size_t i = 0; i < pfs.n; i++)
                for (char **p = pfs.pfs[i].leases; p && *p; p++) {
                        const char *last = strrchr(*p, '/');

                        if (!last || !streq(last + 1, number))
                                continue;
                        *ret_path = strdup(*p);
                        if (!*ret_path)
                                return tokenctl_fail(-ENOMEM, NULL, "failed to look up lease %s", number);
                        return EXIT_OK;
                }

        return tokenctl_error(EXIT_NO_SUCH_DEVICE, "no lease %s (see 'vfio-tokenctl leases')", number);
}
