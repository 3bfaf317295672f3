/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* QEMU's command line as `vfio-tokenctl qemu` reads and rewrites it: the -device options in both
 * of QEMU's syntaxes, and a new command line that hands chosen devices to QEMU through
 * -readconfig sections read from inherited file descriptors, so that their vf-token is in no
 * argv. Also the few other things the verb reads of QEMU: the guest's RAM size (-m) and the
 * version QEMU prints. Library-like: no bus, no files, nothing printed
 * (tests/unit/test-qemu-args.c covers it).
 *
 * The two -device syntaxes, parsed as QEMU parses them:
 *   key=value  "vfio-pci,host=0000:01:00.1,id=hostdev0" (QemuOpts): a first element without '='
 *              names the driver, a later one is a flag ("x" is x=on, "nox" is x=off), and ",,"
 *              is a comma inside a value;
 *   JSON       '{"driver":"vfio-pci","host":"0000:01:00.1","id":"hostdev0"}' (what libvirt
 *              writes), also with QEMU's single-quoted strings.
 * QEMU creates the devices of key=value -device options and of -readconfig sections in
 * command-line order, and every JSON -device after all of them. A device moved into a section
 * would so be created before the JSON devices that came before it on the command line, the PCIe
 * root port it sits on among them: qemu_args_rewrite() therefore turns those JSON options into
 * key=value ones. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "pci-address.h"

typedef struct QemuProp {
        char *key;
        /* As QemuOpts would hold it: JSON true/false are "on"/"off", numbers their text. */
        char *value;
} QemuProp;

typedef struct QemuDevice {
        size_t arg;    /* index in argv of the option: "-device" (value in the next) or "-device=VALUE" */
        size_t n_args; /* 2 or 1 */
        bool json;
        /* Every key and value has a key=value (and -readconfig) form: JSON with no object, array
         * or null value, no key containing ',', '=', '"' or white space, no value with '"' or a
         * newline. */
        bool plain;
        QemuProp *props; /* in command-line order, "driver" and "id" included */
        size_t n_props;

        /* In: set by the caller for each device to hand over through -readconfig. */
        const char *token;
        int config_fd;
        /* Out, from qemu_args_rewrite() for such a device: its section, token included (wiped
         * when freed), and the id it has there (its own, or one made up). */
        char *config;
        const char *config_id;
        /* Out: a JSON device before a moved one that could not be put in key=value form, so
         * that QEMU may create it after the moved device. */
        bool order_kept;
} QemuDevice;

typedef struct QemuArgs {
        QemuDevice *devices;
        size_t n_devices;
} QemuArgs;

/* Finds every -device option (also spelled --device, -device=VALUE, --device=VALUE) of argv
 * (NULL-terminated; argv[0] is QEMU itself). A value that does not parse in its syntax is
 * skipped: QEMU will say what is wrong with it. Returns 0 or -ENOMEM. */
int qemu_args_parse(char *const *argv, QemuArgs **ret);
QemuArgs *qemu_args_free(QemuArgs *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(QemuArgs *, qemu_args_free);

/* The last value of key, as QEMU would use it, or NULL. */
const char *qemu_device_get(const QemuDevice *d, const char *key);

/* The driver is vfio-pci (or its vfio-pci-nohotplug variant). */
bool qemu_device_is_vfio_pci(const QemuDevice *d);

/* The device's host PCI address, from host= ("[DDDD:]BB:DD.F", as QEMU reads it) or else from
 * sysfsdev= (".../DDDD:BB:DD.F"), written to ret in canonical form (pci-address.h). -ENOENT if
 * the device names none, -EINVAL if it is malformed. */
int qemu_device_host(const QemuDevice *d, char ret[static PCI_ADDRESS_MAX]);

/* The command line QEMU is to run with (NULL-terminated, every string a copy): each device with
 * a token is replaced, at its place, by "-readconfig /proc/self/fd/N" (N its config_fd), and
 * its [device "ID"] section (every property but its id, then vf-token) is put in its config;
 * a device without an id gets "vfio-tokend-DDDD_BB_DD.F" (made unique). JSON devices before the
 * last moved device are rewritten in key=value form, where they have one (else order_kept is
 * set). Everything else is copied unchanged. -EINVAL if a moved device is not plain, has an id
 * longer than 63 characters (QEMU's limit in a section header) or a property line of more than
 * QEMU's 1023 characters; -ENOMEM. */
int qemu_args_rewrite(char *const *argv, QemuArgs *a, char ***ret_argv);

/* The guest RAM of the last -m option ("-m 512", "-m 2G", "-m size=65536k,slots=2,..."; no unit
 * is MiB), or QEMU's default of 128 MiB without one, in bytes. -EINVAL if it does not parse. */
int qemu_args_ram_size(char *const *argv, uint64_t *ret);

/* The version in the first line QEMU prints for -version ("QEMU emulator version 10.0.2 (...)")
 * as major * 10000 + minor * 100 + micro, e.g. 80103 for 8.1.3. -EINVAL if none is found. */
int qemu_version_parse(const char *text, unsigned *ret);
