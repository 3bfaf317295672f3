/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* PCI addresses as the kernel names devices: "DDDD:BB:DD.F" (domain of 4 to 8 hex digits, as VMD
 * domains can be wider). Everything that takes an address from outside (config, bus) goes through
 * pci_address_parse() first. */

#include <stdbool.h>

#define PCI_ADDRESS_MAX 20 /* "ffffffff:ff:1f.7" + NUL, rounded up */

/* Validates s and writes its canonical lower-case form to ret. -EINVAL if malformed.
 * Does not touch ret on error. */
int pci_address_parse(const char *s, char ret[static PCI_ADDRESS_MAX]);
bool pci_address_is_valid(const char *s);

/* The address with ':' replaced by '_' ("0000_3b_00.0"), usable in fd-store names and file
 * names. The input must be a valid canonical address. */
void pci_address_escape(const char *address, char ret[static PCI_ADDRESS_MAX]);
