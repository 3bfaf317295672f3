/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl's read-only verbs: list, status and leases. This file owns what they show: which
 * objects they read (PF paths from ListPhysicalFunctions / GetPhysicalFunction, never built
 * here; leases from each PF's Leases), which of their properties (the maps below), and how
 * those look as text and as --json. Reading properties is bus-props.c's job, laying out tables
 * table.c's.
 *
 * --json keys are the D-Bus names: an object's property names, plus "Path" for its object path
 * (and "PhysicalFunctionAddress" in leases, for the PF's address next to its path). */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
} LeaseInfo;

static const BusPropMap pf_props[] = {
        { "Address", "s", offsetof(PfInfo, address) },
        { "Driver", "s", offsetof(PfInfo, driver) },
        { "State", "s", offsetof(PfInfo, state) },
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

/* The PF that device (a PF or VF address) belongs to. Returns an exit code. */
static int get_pf(sd_bus *bus, const char *device, PfInfo *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(pf_info_done) PfInfo pf = {};
        const char *path;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                               VFIO_TOKEN_MANAGER_INTERFACE, "GetPhysicalFunction", &e, &reply, "s", device);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to look up %s", device);
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return tokenctl_fail(-EBADMSG, NULL, "failed to look up %s", device);

        pf.path = strdup(path);
        if (!pf.path)
                return tokenctl_fail(-ENOMEM, NULL, "failed to look up %s", device);

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

/* Prints a filled table. Returns an exit code. */
static int print_table(Table *t) {
        int r;

        r = table_print(t, stdout);
        return r < 0 ? tokenctl_fail(r, NULL, "failed to format the output") : EXIT_OK;
}

static void pf_to_json(JsonOut *j, const PfInfo *pf) {
        json_begin_object(j);
        json_key_string(j, "Address", pf->address);
        json_key_string(j, "Path", pf->path);
        json_key_string(j, "Driver", pf->driver);
        json_key_string(j, "State", pf->state);
        json_key_string(j, "Api", pf->api);
        json_key_uint(j, "NumVFs", pf->num_vfs);
        json_key_uint(j, "TotalVFs", pf->total_vfs);
        json_key_strv(j, "VirtualFunctions", pf->virtual_functions);
        json_key_uint(j, "TokenGeneration", pf->token_generation);
        json_key_uint(j, "TokenSetTimestamp", pf->token_set_timestamp);
        json_key_strv(j, "Leases", pf->leases);
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
        return print_table(t);
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

static void lease_to_json(JsonOut *j, const char *path, const PfInfo *pf, const LeaseInfo *l) {
        json_begin_object(j);
        json_key_string(j, "Path", path);
        json_key_string(j, "PhysicalFunction", l->physical_function);
        json_key_string(j, "PhysicalFunctionAddress", pf->address);
        json_key_string(j, "Device", l->device);
        json_key_string(j, "Owner", l->owner);
        json_key_uint(j, "UID", l->uid);
        json_key_uint(j, "PID", l->pid);
        json_key_uint(j, "Acquired", l->acquired);
        json_end_object(j);
}

static void lease_to_row(Table *t, const char *path, const PfInfo *pf, const LeaseInfo *l) {
        char ts[64];

        table_add_cell(t, "%s", path);
        table_add_cell(t, "%s", strdash(pf->address));
        table_add_cell(t, "%s", strdash(l->device));
        table_add_cell(t, "%s", strdash(l->owner));
        table_add_cell(t, "%" PRIu32, l->uid);
        table_add_cell(t, "%" PRIu32, l->pid);
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
                        "LEASE", "PF", "DEVICE", "OWNER", "UID", "PID", "ACQUIRED", NULL });
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

                        if (arg_json)
                                lease_to_json(&j, *p, pfs.pfs + i, &l);
                        else
                                lease_to_row(t, *p, pfs.pfs + i, &l);
                }

        if (arg_json) {
                json_end_array(&j);
                return tokenctl_json_print(&j);
        }
        return print_table(t);
}
