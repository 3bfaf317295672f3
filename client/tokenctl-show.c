/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl's read-only verbs: list, status and leases. Everything comes from the daemon's
 * objects: PF paths from ListPhysicalFunctions / GetPhysicalFunction (never built here), the
 * rest from Properties.GetAll. Properties this version does not know, or of an unexpected type,
 * are skipped, so an older client keeps working against a newer daemon.
 *
 * --json keys are the D-Bus names: an object's property names, plus "Path" for its object path
 * (and "PhysicalFunctionAddress" in leases, for the PF's address next to its path). */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "json-out.h"
#include "macro.h"
#include "string-util.h"
#include "strv.h"
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
        char *path;
        char *physical_function;
        char *device;
        char *owner;
        uint32_t uid;
        uint32_t pid;
        uint64_t acquired;
} LeaseInfo;

typedef struct PropMap {
        const char *name;
        const char *signature; /* "s", "o", "u", "t", "as" or "ao" */
        size_t offset;
} PropMap;

static const PropMap pf_props[] = {
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

static const PropMap lease_props[] = {
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
        free(p->address);
        free(p->driver);
        free(p->state);
        free(p->api);
        strv_free(p->virtual_functions);
        strv_free(p->leases);
        *p = (PfInfo) {};
}

static void pf_infos_free(PfInfo *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                pf_info_done(p + i);
        free(p);
}

static void lease_info_done(LeaseInfo *l) {
        free(l->path);
        free(l->physical_function);
        free(l->device);
        free(l->owner);
        *l = (LeaseInfo) {};
}

static int read_prop_value(sd_bus_message *m, const PropMap *p, void *userdata) {
        void *field = (uint8_t *) userdata + p->offset;
        const char *s;
        char *copy;
        char **l = NULL;
        int r;

        switch (p->signature[0]) {
        case 's':
        case 'o':
                r = sd_bus_message_read_basic(m, p->signature[0], &s);
                if (r < 0)
                        return r;
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
                free(*(char **) field);
                *(char **) field = copy;
                return 0;
        case 'u':
                return sd_bus_message_read_basic(m, 'u', field);
        case 't':
                return sd_bus_message_read_basic(m, 't', field);
        case 'a':
                r = sd_bus_message_read_strv(m, &l);
                if (r < 0)
                        return r;
                strv_free(*(char ***) field);
                *(char ***) field = l;
                return 0;
        }
        return -EINVAL;
}

/* Reads the a{sv} of a GetAll reply into the struct at userdata. */
static int read_props(sd_bus_message *m, const PropMap *map, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const PropMap *p = NULL;
                const char *name, *contents;

                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;

                for (const PropMap *i = map; i->name; i++)
                        if (streq(i->name, name)) {
                                p = i;
                                break;
                        }

                if (p && streq(contents, p->signature)) {
                        r = sd_bus_message_enter_container(m, 'v', contents);
                        if (r < 0)
                                return r;
                        r = read_prop_value(m, p, userdata);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;

        return sd_bus_message_exit_container(m);
}

/* GetAll of interface on path into the struct at userdata. A D-Bus error lands in e. */
static int get_all(sd_bus *bus, const char *path, const char *interface, const PropMap *map,
                   sd_bus_error *e, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", e,
                               &reply, "s", interface);
        if (r < 0)
                return r;

        r = read_props(reply, map, userdata);
        return r < 0 ? -EBADMSG : 0;
}

/* get_all() of an object that may have gone since it was listed: that is no error, but 0 (and
 * the struct is left as it was). 1 if it was read. */
static int get_all_if_present(sd_bus *bus, const char *path, const char *interface, const PropMap *map,
                              sd_bus_error *e, void *userdata) {
        int r;

        r = get_all(bus, path, interface, map, e, userdata);
        if (r < 0 && sd_bus_error_has_names(e, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE)) {
                sd_bus_error_free(e);
                return 0;
        }
        return r < 0 ? r : 1;
}

/* Every managed PF with its properties, in the daemon's order. Returns an exit code. */
static int get_pfs(sd_bus *bus, PfInfo **ret, size_t *ret_n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        PfInfo *pfs = NULL;
        size_t n = 0;
        const char *address, *path;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH,
                               VFIO_TOKEN_MANAGER_INTERFACE, "ListPhysicalFunctions", &e, &reply, NULL);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to list physical functions");

        r = sd_bus_message_enter_container(reply, 'a', "(so)");
        if (r < 0)
                goto bad_message;
        while ((r = sd_bus_message_read(reply, "(so)", &address, &path)) > 0) {
                PfInfo *a;

                a = reallocarray(pfs, n + 1, sizeof(PfInfo));
                if (!a) {
                        r = -ENOMEM;
                        goto fail;
                }
                pfs = a;
                pfs[n] = (PfInfo) {};
                n++;
                pfs[n - 1].path = strdup(path);
                pfs[n - 1].address = strdup(address);
                if (!pfs[n - 1].path || !pfs[n - 1].address) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        if (r < 0)
                goto bad_message;

        for (size_t i = 0; i < n; i++) {
                /* One removed since the listing shows what the list said. */
                r = get_all_if_present(bus, pfs[i].path, VFIO_TOKEN_PF_INTERFACE, pf_props, &e, pfs + i);
                if (r < 0) {
                        r = tokenctl_fail(r, &e, "failed to read the properties of %s", pfs[i].address);
                        pf_infos_free(pfs, n);
                        return r;
                }
        }

        *ret = pfs;
        *ret_n = n;
        return EXIT_OK;

bad_message:
        r = -EBADMSG;
fail:
        pf_infos_free(pfs, n);
        return tokenctl_fail(r, NULL, "failed to list physical functions");
}

/* The PF that device (a PF or VF address) belongs to. Returns an exit code. */
static int get_pf(sd_bus *bus, const char *device, PfInfo *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        PfInfo pf = {};
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

        r = get_all(bus, pf.path, VFIO_TOKEN_PF_INTERFACE, pf_props, &e, &pf);
        if (r < 0) {
                pf_info_done(&pf);
                return tokenctl_fail(r, &e, "failed to read the properties of %s", device);
        }

        *ret = pf;
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

/* A plain text table: cells are copied, columns padded to their widest cell. */
typedef struct Table {
        size_t n_columns;
        size_t n_cells;
        char **cells;
        int error;
} Table;

static void table_add(Table *t, const char *format, ...) _printf_(2, 3);
static void table_add(Table *t, const char *format, ...) {
        va_list ap;
        char **a, *s;
        int r;

        if (t->error < 0)
                return;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0) {
                t->error = -ENOMEM;
                return;
        }
        a = reallocarray(t->cells, t->n_cells + 1, sizeof(char *));
        if (!a) {
                free(s);
                t->error = -ENOMEM;
                return;
        }
        t->cells = a;
        t->cells[t->n_cells++] = s;
}

/* Starts a table with these column headings (NULL-terminated), one column each. */
static void table_begin(Table *t, const char *const *headings) {
        *t = (Table) {};
        for (const char *const *h = headings; *h; h++) {
                table_add(t, "%s", *h);
                t->n_columns++;
        }
}

static void table_done(Table *t) {
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        *t = (Table) {};
}

static int table_print_and_free(Table *t) {
        size_t widths[16] = {};
        int r = t->error;

        if (r >= 0 && t->n_columns <= ELEMENTSOF(widths)) {
                for (size_t i = 0; i < t->n_cells; i++) {
                        size_t w = strlen(t->cells[i]);

                        if (w > widths[i % t->n_columns])
                                widths[i % t->n_columns] = w;
                }
                for (size_t i = 0; i < t->n_cells; i++) {
                        bool last = i % t->n_columns == t->n_columns - 1;

                        if (last)
                                printf("%s\n", t->cells[i]);
                        else
                                printf("%-*s  ", (int) widths[i % t->n_columns], t->cells[i]);
                }
        }

        table_done(t);
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

/* --json of a list of PFs: an array of their objects. Frees pfs; returns an exit code. */
static int pfs_print_json_and_free(PfInfo *pfs, size_t n) {
        JsonOut j = JSON_OUT_INIT;

        json_begin_array(&j);
        for (size_t i = 0; i < n; i++)
                pf_to_json(&j, pfs + i);
        json_end_array(&j);
        pf_infos_free(pfs, n);
        return tokenctl_json_print(&j);
}

int verb_list(sd_bus *bus, int argc, char **argv) {
        PfInfo *pfs = NULL;
        size_t n = 0;
        Table t;
        int r;

        r = get_pfs(bus, &pfs, &n);
        if (r != EXIT_OK)
                return r;

        if (arg_json)
                return pfs_print_json_and_free(pfs, n);

        table_begin(&t, (const char *const[]) {
                "ADDRESS", "DRIVER", "STATE", "API", "VFS", "GENERATION", "TOKEN SET", "LEASES", NULL });
        for (size_t i = 0; i < n; i++) {
                char ts[64];

                table_add(&t, "%s", strdash(pfs[i].address));
                table_add(&t, "%s", strdash(pfs[i].driver));
                table_add(&t, "%s", strdash(pfs[i].state));
                table_add(&t, "%s", strdash(pfs[i].api));
                table_add(&t, "%" PRIu32 "/%" PRIu32, pfs[i].num_vfs, pfs[i].total_vfs);
                table_add(&t, "%" PRIu64, pfs[i].token_generation);
                table_add(&t, "%s", format_timestamp(ts, sizeof(ts), pfs[i].token_set_timestamp));
                table_add(&t, "%zu", strv_length(pfs[i].leases));
        }
        pf_infos_free(pfs, n);
        return table_print_and_free(&t);
}

int verb_status(sd_bus *bus, int argc, char **argv) {
        PfInfo *pfs = NULL;
        size_t n = 0;
        int r;

        if (argc > 1) {
                JsonOut j = JSON_OUT_INIT;
                PfInfo pf;

                r = get_pf(bus, argv[1], &pf);
                if (r != EXIT_OK)
                        return r;
                if (arg_json) {
                        pf_to_json(&j, &pf);
                        pf_info_done(&pf);
                        return tokenctl_json_print(&j);
                }
                pf_print(&pf);
                pf_info_done(&pf);
                return EXIT_OK;
        }

        r = get_pfs(bus, &pfs, &n);
        if (r != EXIT_OK)
                return r;

        if (arg_json)
                return pfs_print_json_and_free(pfs, n);

        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        printf("\n");
                pf_print(pfs + i);
        }
        pf_infos_free(pfs, n);
        return EXIT_OK;
}

int verb_leases(sd_bus *bus, int argc, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        PfInfo *pfs = NULL;
        size_t n = 0;
        Table t = {};
        JsonOut j = JSON_OUT_INIT;
        int r;

        r = get_pfs(bus, &pfs, &n);
        if (r != EXIT_OK)
                return r;

        if (arg_json)
                json_begin_array(&j);
        else
                table_begin(&t, (const char *const[]) {
                        "LEASE", "PF", "DEVICE", "OWNER", "UID", "PID", "ACQUIRED", NULL });

        for (size_t i = 0; i < n; i++)
                for (char **p = pfs[i].leases; p && *p; p++) {
                        LeaseInfo l = {};
                        char ts[64];

                        r = get_all_if_present(bus, *p, VFIO_TOKEN_LEASE_INTERFACE, lease_props, &e, &l);
                        if (r == 0) /* ended since the PF was read */
                                continue;
                        if (r < 0) {
                                r = tokenctl_fail(r, &e, "failed to read lease %s", *p);
                                lease_info_done(&l);
                                pf_infos_free(pfs, n);
                                json_out_done(&j);
                                table_done(&t);
                                return r;
                        }

                        if (arg_json) {
                                json_begin_object(&j);
                                json_key_string(&j, "Path", *p);
                                json_key_string(&j, "PhysicalFunction", l.physical_function);
                                json_key_string(&j, "PhysicalFunctionAddress", pfs[i].address);
                                json_key_string(&j, "Device", l.device);
                                json_key_string(&j, "Owner", l.owner);
                                json_key_uint(&j, "UID", l.uid);
                                json_key_uint(&j, "PID", l.pid);
                                json_key_uint(&j, "Acquired", l.acquired);
                                json_end_object(&j);
                        } else {
                                table_add(&t, "%s", *p);
                                table_add(&t, "%s", strdash(pfs[i].address));
                                table_add(&t, "%s", strdash(l.device));
                                table_add(&t, "%s", strdash(l.owner));
                                table_add(&t, "%" PRIu32, l.uid);
                                table_add(&t, "%" PRIu32, l.pid);
                                table_add(&t, "%s", format_timestamp(ts, sizeof(ts), l.acquired));
                        }
                        lease_info_done(&l);
                }
        pf_infos_free(pfs, n);

        if (arg_json) {
                json_end_array(&j);
                return tokenctl_json_print(&j);
        }
        return table_print_and_free(&t);
}
