/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The shape of a DEVICE argument, checked before vfio-tokenctl connects, so that a typo is a
 * usage error (exit 2) whether or not the daemon runs. The daemon stays the judge of what it
 * manages; this only keeps to its grammar of PCI addresses, never stricter: "DDDD:BB:DD.F", a
 * domain of 4 to 8 hex digits, bus and device of 2 (device at most 1f), function 0 to 7, as
 * org.vfio.Tokend1(5) documents it. Library-like: nothing here prints. */

#include <stdbool.h>

bool device_address_is_valid(const char *s);
