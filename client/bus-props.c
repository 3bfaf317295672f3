/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The generic D-Bus property reader of vfio-tokenctl: Properties.GetAll into a struct through a
 * property map (bus-props.h). Which objects and properties exist is the caller's business. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "bus-props.h"
#include "macro.h"
#include "string-util.h"
#include "strv.h"

static void *field_of(const BusPropMap *p, void *userdata) {
        return (uint8_t *) userdata + p->offset;
}

static int read_value(sd_bus_message *m, const BusPropMap *p, void *userdata) {
        void *field = field_of(p, userdata);
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
        case 't':
                return sd_bus_message_read_basic(m, p->signature[0], field);
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

static const BusPropMap *map_find(const BusPropMap *map, const char *name) {
        for (const BusPropMap *i = map; i->name; i++)
                if (streq(i->name, name))
                        return i;
        return NULL;
}

int bus_props_read(sd_bus_message *m, const BusPropMap *map, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const BusPropMap *p;
                const char *name, *contents;

                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;

                p = map_find(map, name);
                if (p && streq(contents, p->signature)) {
                        r = sd_bus_message_enter_container(m, 'v', contents);
                        if (r < 0)
                                return r;
                        r = read_value(m, p, userdata);
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

int bus_props_get_all(sd_bus *bus, const char *destination, const char *path, const char *interface,
                      const BusPropMap *map, sd_bus_error *e, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, destination, path, "org.freedesktop.DBus.Properties", "GetAll", e, &reply,
                               "s", interface);
        if (r < 0)
                return r;

        r = bus_props_read(reply, map, userdata);
        /* Out of memory is ours; anything else is the reply's shape. */
        return r == -ENOMEM ? r : r < 0 ? -EBADMSG : 0;
}

int bus_props_get_all_if_present(sd_bus *bus, const char *destination, const char *path,
                                 const char *interface, const BusPropMap *map, sd_bus_error *e,
                                 void *userdata) {
        int r;

        r = bus_props_get_all(bus, destination, path, interface, map, e, userdata);
        if (r < 0 && sd_bus_error_has_names(e, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE)) {
                sd_bus_error_free(e);
                return 0;
        }
        return r < 0 ? r : 1;
}

void bus_props_done(const BusPropMap *map, void *userdata) {
        for (const BusPropMap *p = map; p->name; p++)
                switch (p->signature[0]) {
                case 's':
                case 'o':
                        *(char **) field_of(p, userdata) = mfree(*(char **) field_of(p, userdata));
                        break;
                case 'a':
                        *(char ***) field_of(p, userdata) = strv_free(*(char ***) field_of(p, userdata));
                        break;
                }
}
