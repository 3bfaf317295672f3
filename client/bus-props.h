/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading an object's D-Bus properties into a C struct: one Properties.GetAll call, and a map
 * from property names to the struct's fields. It knows nothing of vfio-tokend's objects; the
 * verbs bring the maps. Properties the map does not name, or of another type than it says, are
 * skipped, so an older client keeps working against a newer service.
 *
 * Library-like: nothing here prints; the caller decides what a failure means. */

#include <stddef.h>

#include <systemd/sd-bus.h>

typedef struct BusPropMap {
        const char *name;
        const char *signature; /* "s", "o" (char *), "u" (uint32_t), "t" (uint64_t), "as" or "ao" (char **) */
        size_t offset;         /* of the field in the struct */
} BusPropMap;

/* Reads the a{sv} of a GetAll reply into the struct at userdata, by the map (ended by an entry
 * with a NULL name). Strings and string arrays are copied; a field read twice keeps the later. */
int bus_props_read(sd_bus_message *m, const BusPropMap *map, void *userdata);

/* GetAll of interface on path at destination into the struct at userdata. A D-Bus error lands
 * in e; a reply of another shape is -EBADMSG. */
int bus_props_get_all(sd_bus *bus, const char *destination, const char *path, const char *interface,
                      const BusPropMap *map, sd_bus_error *e, void *userdata);

/* bus_props_get_all() of an object that may have gone since it was listed: its absence (an
 * unknown object or interface) is 0 with e left unset, and the struct is left as it was. 1 if it
 * was read. */
int bus_props_get_all_if_present(sd_bus *bus, const char *destination, const char *path,
                                 const char *interface, const BusPropMap *map, sd_bus_error *e,
                                 void *userdata);

/* Frees the strings and string arrays the map names in the struct at userdata and sets those
 * fields to NULL. Numbers are left alone. */
void bus_props_done(const BusPropMap *map, void *userdata);
