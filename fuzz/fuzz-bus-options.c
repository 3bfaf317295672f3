/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the AcquireToken input path: the fuzz bytes become a real sd-bus method
 * call "sa{sv}" (a device string and an options dictionary of any shape the type system allows),
 * which then goes through the daemon's own argument checks (daemon/bus-args.c), as sd-bus hands
 * it to the method after checking the signature. Any input must give either a canonical device
 * and an empty dictionary, or an InvalidArgs error that sd-bus can actually send back. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>

#include "bus-args.h"
#include "macro.h"
#include "string-util.h"
#include "vfio-token-names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEYS_MAX 40 /* the daemon refuses the first key; many keys still must not upset it */
#define NEST_MAX 4

typedef struct Input {
        const uint8_t *p;
        size_t left;
} Input;

static uint8_t take_byte(Input *in) {
        if (in->left == 0)
                return 0;
        in->left--;
        return *in->p++;
}

static uint64_t take_u64(Input *in, size_t n) {
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v = v << 8 | take_byte(in);
        return v;
}

/* A string of length given by the next byte; NUL-terminated copy, so an embedded NUL ends it. */
static char *take_string(Input *in) {
        size_t n = take_byte(in);
        char *s;

        if (n > in->left)
                n = in->left;
        s = malloc(n + 1);
        if (!s)
                return NULL;
        memcpy(s, in->p, n);
        s[n] = '\0';
        in->p += n;
        in->left -= n;
        return s;
}

static int append_variant(sd_bus_message *m, Input *in, unsigned depth);

static int append_dict(sd_bus_message *m, Input *in, unsigned depth, unsigned max_keys) {
        unsigned n = take_byte(in) % (max_keys + 1);
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n && in->left > 0; i++) {
                _cleanup_free_ char *key = take_string(in);

                if (!key)
                        return -ENOMEM;
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "s", key);
                if (r < 0)
                        return r;
                r = append_variant(m, in, depth + 1);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int append_variant(sd_bus_message *m, Input *in, unsigned depth) {
        uint8_t kind = take_byte(in);
        int r;

        if (depth > NEST_MAX)
                kind = 1; /* a leaf */

        switch (kind % 16) {
        case 0:
                return sd_bus_message_append(m, "v", "b", (int) (take_byte(in) & 1));
        case 1:
                return sd_bus_message_append(m, "v", "y", take_byte(in));
        case 2:
                return sd_bus_message_append(m, "v", "n", (int16_t) take_u64(in, 2));
        case 3:
                return sd_bus_message_append(m, "v", "q", (uint16_t) take_u64(in, 2));
        case 4:
                return sd_bus_message_append(m, "v", "i", (int32_t) take_u64(in, 4));
        case 5:
                return sd_bus_message_append(m, "v", "u", (uint32_t) take_u64(in, 4));
        case 6:
                return sd_bus_message_append(m, "v", "x", (int64_t) take_u64(in, 8));
        case 7:
                return sd_bus_message_append(m, "v", "t", take_u64(in, 8));
        case 8: {
                uint64_t bits = take_u64(in, 8);
                double d;

                memcpy(&d, &bits, sizeof d);
                return sd_bus_message_append(m, "v", "d", d);
        }
        case 9: {
                _cleanup_free_ char *s = take_string(in);

                return s ? sd_bus_message_append(m, "v", "s", s) : -ENOMEM;
        }
        case 10: {
                _cleanup_free_ char *s = take_string(in);

                if (!s)
                        return -ENOMEM;
                /* Fuzz bytes are rarely a valid path; don't throw the whole input away for it. */
                return sd_bus_message_append(m, "v", "o", sd_bus_object_path_is_valid(s) ? s : "/");
        }
        case 11: {
                _cleanup_free_ char *s = take_string(in);

                return s ? sd_bus_message_append(m, "v", "g", s) : -ENOMEM;
        }
        case 12: {
                unsigned n = take_byte(in) % 8;

                r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                for (unsigned i = 0; r >= 0 && i < n; i++) {
                        _cleanup_free_ char *s = take_string(in);

                        r = s ? sd_bus_message_append(m, "s", s) : -ENOMEM;
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r;
        }
        case 13: {
                size_t n = take_byte(in);

                if (n > in->left)
                        n = in->left;
                r = sd_bus_message_open_container(m, 'v', "ay");
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', in->p, n);
                in->p += n;
                in->left -= n;
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r;
        }
        case 14:
                r = sd_bus_message_open_container(m, 'v', "a{sv}");
                if (r >= 0)
                        r = append_dict(m, in, depth, 4);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r;
        default:
                r = sd_bus_message_open_container(m, 'v', "v");
                if (r >= 0)
                        r = append_variant(m, in, depth + 1);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r;
        }
}

/* A bus that never talks to anyone: sd-bus refuses to make messages on a bus that was never
 * started, so start it on one end of a socketpair (it then waits for authentication forever). */
static sd_bus *fuzz_bus(void) {
        static sd_bus *bus = NULL;
        int fds[2];

        if (bus)
                return bus;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) < 0)
                abort();
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0)
                abort();
        /* fds[1] stays open for the life of the process, so the bus is never seen as closed. */
        return bus;
}

/* An error the daemon sets must be one sd-bus can put in a reply: if building the reply fails,
 * the caller gets no answer at all. */
static void check_error_sendable(sd_bus_message *call, const sd_bus_error *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        if (!sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS) || !e->message)
                abort();
        if (sd_bus_message_new_method_error(call, &reply, e) < 0)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *device = NULL;
        char canonical[PCI_ADDRESS_MAX], expected[PCI_ADDRESS_MAX];
        Input in = { .p = data, .left = size };
        bool expect_device;
        unsigned n_keys;
        int r;

        if (sd_bus_message_new_method_call(fuzz_bus(), &m, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE,
                                           "AcquireToken") < 0)
                abort();

        device = take_string(&in);
        if (!device)
                return 0;
        /* Invalid UTF-8 and the like: sd-bus itself refuses to carry it, so the daemon never
         * sees it. The same for anything below. */
        if (sd_bus_message_append(m, "s", device) < 0)
                return 0;
        if (append_dict(m, &in, 0, KEYS_MAX) < 0)
                return 0;
        if (sd_bus_message_seal(m, 1, 0) < 0)
                return 0;
        if (sd_bus_message_rewind(m, true) < 0)
                abort();

        n_keys = 0;
        {
                /* What the checks must conclude, worked out independently. */
                r = sd_bus_message_skip(m, "s");
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'a', "{sv}");
                while (r >= 0 && (r = sd_bus_message_skip(m, "{sv}")) > 0)
                        n_keys++;
                if (r < 0)
                        abort();
                if (sd_bus_message_rewind(m, true) < 0)
                        abort();
        }
        expect_device = strlen(device) <= BUS_DEVICE_MAX && pci_address_parse(device, expected) >= 0;

        memset(canonical, 0, sizeof canonical);
        r = bus_read_device_arg(m, canonical, &error);
        if (!expect_device) {
                if (r != -EINVAL)
                        abort();
                check_error_sendable(m, &error);
                return 0;
        }
        if (r < 0 || sd_bus_error_is_set(&error) || !streq(canonical, expected))
                abort();

        r = bus_read_options_arg(m, &error);
        if (n_keys > 0) {
                /* Any key at all is refused (none are defined yet). */
                if (r != -EINVAL)
                        abort();
                check_error_sendable(m, &error);
                return 0;
        }
        if (r < 0 || sd_bus_error_is_set(&error))
                abort();
        /* Both arguments consumed: nothing left over for the method to trip on. */
        if (sd_bus_message_at_end(m, true) <= 0)
                abort();
        return 0;
}
