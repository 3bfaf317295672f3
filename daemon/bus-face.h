/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal to the bus-*.c files: the state of the bus face, shared by its objects. */

#include <stdbool.h>
#include <systemd/sd-bus.h>

typedef struct Manager Manager;
typedef struct PeerSet PeerSet;
typedef struct Polkit Polkit;
typedef struct BusFace BusFace;

struct BusFace {
        Manager *manager;
        sd_bus *bus;
        bool owns_bus; /* bus_face_new() opened it: closed with the face */
        PeerSet *peers;
        Polkit *polkit;
        sd_bus_slot *disconnected;
        sd_bus_slot *slots[6];
};

/* The BusFace whose object vtable is being dispatched (method handlers, property getters): the
 * userdata every vtable of the face is registered with. */
static inline BusFace *bus_face_of_bus(sd_bus *bus) {
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus));
}

static inline BusFace *bus_face_of(sd_bus_message *call) {
        return bus_face_of_bus(sd_bus_message_get_bus(call));
}

/* A property getter prop_NAME that appends `expr` with signature `sig`, where `expr` may use
 * `obj`, the object's userdata as a `const type *`. */
#define BUS_PROPERTY_GETTER(type, name, sig, expr)                                                       \
        static int prop_##name(sd_bus *bus, const char *path, const char *interface, const char *property, \
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {             \
                const type *obj = userdata;                                                                \
                return sd_bus_message_append(reply, sig, expr);                                            \
        }
