/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Checks of the arguments callers send to the bus methods: the first thing every method does,
 * before any lookup. Kept apart from the vtables so the fuzzers can reach them. */

#include <systemd/sd-bus.h>

#include "pci-address.h"

/* Bounds on what a caller may send. */
#define BUS_DEVICE_MAX 64

/* Reads an "s" device argument, a PCI address of at most BUS_DEVICE_MAX bytes, and writes its
 * canonical form to ret. A malformed one sets InvalidArgs on error. */
int bus_read_device_arg(sd_bus_message *m, char ret[static PCI_ADDRESS_MAX], sd_bus_error *error);

/* Reads an "a{sv}" options argument. No key is defined yet, so any key sets InvalidArgs. */
int bus_read_options_arg(sd_bus_message *m, sd_bus_error *error);
