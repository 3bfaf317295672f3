/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* client/qemu-args.c: QEMU's -device options in both syntaxes, and the command line that hands
 * devices to QEMU through -readconfig sections with no token in any argument. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "qemu-args.h"
#include "strv.h"
#include "test-util.h"

#define TOKEN "3f1e6b0c-2d4a-4c5e-9b7a-0e8d1c2b3a45"
#define TOKEN2 "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

static QemuArgs *parse(char **argv) {
        QemuArgs *a = NULL;

        ck_assert_int_eq(qemu_args_parse(argv, &a), 0);
        ck_assert_ptr_nonnull(a);
        return a;
}

/* The properties of d as "key=value;key=value;...". */
static char *props(const QemuDevice *d) {
        static char buf[4096];
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < d->n_props; i++)
                n += (size_t) snprintf(buf + n, sizeof(buf) - n, "%s%s=%s", i ? ";" : "", d->props[i].key,
                                       d->props[i].value);
        return buf;
}

static void assert_argv(char **got, const char *const *want) {
        size_t i;

        for (i = 0; want[i]; i++) {
                ck_assert_msg(got[i], "argument %zu missing (want '%s')", i, want[i]);
                ck_assert_str_eq(got[i], want[i]);
        }
        ck_assert_msg(!got[i], "extra argument %zu: '%s'", i, got[i]);
}

static void assert_no_token(char **argv) {
        for (size_t i = 0; argv[i]; i++) {
                ck_assert_msg(!strstr(argv[i], TOKEN), "token in argument %zu: %s", i, argv[i]);
                ck_assert_msg(!strstr(argv[i], TOKEN2), "token in argument %zu: %s", i, argv[i]);
        }
}

/* Moves device i of a (token TOKEN, memfd fd), rewrites argv and checks that the result is want
 * and has no token in it. */
static char **rewrite_moving(char **argv, QemuArgs *a, size_t i, int fd, const char *const *want) {
        char **out = NULL;

        a->devices[i].token = TOKEN;
        a->devices[i].config_fd = fd;
        ck_assert_int_eq(qemu_args_rewrite(argv, a, &out), 0);
        assert_argv(out, want);
        assert_no_token(out);
        return out;
}

START_TEST(test_keyval) {
        char *argv[] = { "qemu", "-M", "q35", "-device", "vfio-pci,host=0000:01:00.1,id=hostdev0,bus=pci.1,addr=0x0",
                         "-S", NULL };
        QemuArgs *a = parse(argv);
        QemuDevice *d;

        ck_assert_uint_eq(a->n_devices, 1);
        d = a->devices;
        ck_assert_uint_eq(d->arg, 3);
        ck_assert_uint_eq(d->n_args, 2);
        ck_assert(!d->json);
        ck_assert(d->plain);
        ck_assert_str_eq(props(d), "driver=vfio-pci;host=0000:01:00.1;id=hostdev0;bus=pci.1;addr=0x0");
        ck_assert(qemu_device_is_vfio_pci(d));
        ck_assert_str_eq(qemu_device_get(d, "id"), "hostdev0");
        ck_assert_ptr_null(qemu_device_get(d, "vf-token"));
        qemu_args_free(a);
}
END_TEST

START_TEST(test_keyval_escaping_and_flags) {
        char *argv[] = { "qemu", "-device", "vfio-pci,romfile=/a,,b.rom,host=01:00.1,x-no-mmap,nomultifunction,rombar=0",
                         "-device", "vfio-pci,,host=0000:01:00.2", "-device", "driver=vfio-pci,host=0000:01:00.3,host=0000:01:00.2",
                         NULL };
        QemuArgs *a = parse(argv);
        char host[PCI_ADDRESS_MAX];

        ck_assert_uint_eq(a->n_devices, 3);
        /* ",," is a comma inside the value; a bare word is a flag, "no" turns it off. */
        ck_assert_str_eq(props(a->devices + 0),
                         "driver=vfio-pci;romfile=/a,b.rom;host=01:00.1;x-no-mmap=on;multifunction=off;rombar=0");
        ck_assert_int_eq(qemu_device_host(a->devices + 0, host), 0);
        ck_assert_str_eq(host, "0000:01:00.1");
        /* As QEMU reads it: the driver is "vfio-pci,host=0000:01:00.2". */
        ck_assert_str_eq(props(a->devices + 1), "driver=vfio-pci,host=0000:01:00.2");
        ck_assert(!qemu_device_is_vfio_pci(a->devices + 1));
        /* The last of a repeated key counts. */
        ck_assert_int_eq(qemu_device_host(a->devices + 2, host), 0);
        ck_assert_str_eq(host, "0000:01:00.2");
        ck_assert(qemu_device_is_vfio_pci(a->devices + 2));
        qemu_args_free(a);
}
END_TEST

START_TEST(test_json) {
        char *argv[] = { "qemu", "-device",
                         "{\"driver\":\"vfio-pci\", \"host\":\"0000:01:00.1\",\"id\":\"hostdev0\",\"bus\":\"pci.1\","
                         "\"addr\":\"0x0\",\"rombar\":0,\"x-pci-sub-device-id\":-1,\"multifunction\":true,"
                         "\"x-no-mmap\":false,\"romfile\":\"a,b\\u00e9\\/\"}",
                         "--device", "{'driver':'virtio-net-pci','mac':'52:54:00:00:00:01'}", NULL };
        QemuArgs *a = parse(argv);

        ck_assert_uint_eq(a->n_devices, 2);
        ck_assert(a->devices[0].json);
        ck_assert(a->devices[0].plain);
        ck_assert_str_eq(props(a->devices + 0),
                         "driver=vfio-pci;host=0000:01:00.1;id=hostdev0;bus=pci.1;addr=0x0;rombar=0;"
                         "x-pci-sub-device-id=-1;multifunction=on;x-no-mmap=off;romfile=a,b\xc3\xa9/");
        ck_assert(qemu_device_is_vfio_pci(a->devices + 0));
        /* QEMU's single-quoted strings. */
        ck_assert_str_eq(props(a->devices + 1), "driver=virtio-net-pci;mac=52:54:00:00:00:01");
        ck_assert(!qemu_device_is_vfio_pci(a->devices + 1));
        qemu_args_free(a);
}
END_TEST

START_TEST(test_json_not_plain_or_invalid) {
        char *argv[] = { "qemu",
                         "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.1\",\"x\":{\"a\":[1,2,{}]}}",
                         "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.2\",\"romfile\":\"a\\\"b\"}",
                         "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.3\",\"x\":null}",
                         /* Not JSON QEMU would take: skipped, QEMU says what is wrong. */
                         "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.4\"",
                         "-device", "{\"driver\":\"vfio-pci\",\"driver\":\"x\"}",
                         "-device", "{\"driver\":\"vfio-pci\"} trailing",
                         "-device", "{\"driver\":\"vfio-pci\",\"a\":01}",
                         "-device", "{\"driver\":\"vfio-pci\",\"a\":\"\\ud800\"}",
                         "-device", "{driver:\"vfio-pci\"}",
                         "-device", NULL };
        QemuArgs *a = parse(argv);
        char host[PCI_ADDRESS_MAX];

        ck_assert_uint_eq(a->n_devices, 3);
        for (size_t i = 0; i < 3; i++) {
                ck_assert(!a->devices[i].plain);
                ck_assert(qemu_device_is_vfio_pci(a->devices + i));
        }
        ck_assert_int_eq(qemu_device_host(a->devices + 2, host), 0);
        ck_assert_str_eq(host, "0000:01:00.3");
        qemu_args_free(a);
}
END_TEST

START_TEST(test_option_spellings) {
        char *argv[] = { "qemu", "--device", "e1000", "-device=virtio-rng-pci", "--device=vfio-pci,host=00:02.0",
                         "-devices", "x", "device", "-readconfig", "f", NULL };
        QemuArgs *a = parse(argv);

        ck_assert_uint_eq(a->n_devices, 3);
        ck_assert_uint_eq(a->devices[0].arg, 1);
        ck_assert_uint_eq(a->devices[0].n_args, 2);
        ck_assert_str_eq(props(a->devices + 0), "driver=e1000");
        ck_assert_uint_eq(a->devices[1].arg, 3);
        ck_assert_uint_eq(a->devices[1].n_args, 1);
        ck_assert_str_eq(props(a->devices + 1), "driver=virtio-rng-pci");
        ck_assert_uint_eq(a->devices[2].arg, 4);
        ck_assert_str_eq(props(a->devices + 2), "driver=vfio-pci;host=00:02.0");
        qemu_args_free(a);
}
END_TEST

START_TEST(test_host) {
        static const struct {
                const char *dev, *want;
                int r;
        } cases[] = {
                { "vfio-pci,host=0000:3b:02.3", "0000:3b:02.3", 0 },
                { "vfio-pci,host=3B:02.3", "0000:3b:02.3", 0 },
                { "vfio-pci,host=1:2:3.4", "0001:02:03.4", 0 },
                { "vfio-pci,sysfsdev=/sys/bus/pci/devices/0000:01:00.2", "0000:01:00.2", 0 },
                { "vfio-pci,sysfsdev=/sys/bus/pci/devices/10000:01:00.2", "10000:01:00.2", 0 },
                { "vfio-pci,host=0000:3b:02", NULL, -EINVAL },
                { "vfio-pci,host=0000:3b:20.0", NULL, -EINVAL },
                { "vfio-pci,host=0000:3b:02.8", NULL, -EINVAL },
                { "vfio-pci,host=10000:3b:02.0", NULL, -EINVAL },
                { "vfio-pci,host=0000:3b:02.3x", NULL, -EINVAL },
                { "vfio-pci,host=", NULL, -EINVAL },
                { "vfio-pci,sysfsdev=/sys/devices/whatever", NULL, -EINVAL },
                { "vfio-pci", NULL, -ENOENT },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *argv[] = { "qemu", "-device", (char *) cases[i].dev, NULL };
                QemuArgs *a = parse(argv);
                char host[PCI_ADDRESS_MAX] = "";

                ck_assert_uint_eq(a->n_devices, 1);
                ck_assert_msg(qemu_device_host(a->devices, host) == cases[i].r, "%s", cases[i].dev);
                if (cases[i].want)
                        ck_assert_str_eq(host, cases[i].want);
                qemu_args_free(a);
        }
}
END_TEST

START_TEST(test_vfio_pci_drivers) {
        char *argv[] = { "qemu", "-device", "vfio-pci-nohotplug,host=01:00.1", "-device", "vfio-pci-igd-lpc-bridge",
                         "-device", "virtio-net-pci", "-device", "{\"host\":\"01:00.1\"}", NULL };
        QemuArgs *a = parse(argv);

        ck_assert_uint_eq(a->n_devices, 4);
        ck_assert(qemu_device_is_vfio_pci(a->devices + 0));
        ck_assert(!qemu_device_is_vfio_pci(a->devices + 1));
        ck_assert(!qemu_device_is_vfio_pci(a->devices + 2));
        ck_assert(!qemu_device_is_vfio_pci(a->devices + 3));
        qemu_args_free(a);
}
END_TEST

START_TEST(test_rewrite_keyval) {
        char *argv[] = { "qemu-system-x86_64", "-M", "q35", "-device",
                         "pcie-root-port,id=pci.1,bus=pcie.0,chassis=1", "-device",
                         "vfio-pci,host=0000:01:00.1,id=hostdev0,bus=pci.1,addr=0x0,romfile=/x,,y", "-S", NULL };
        static const char *const want[] = { "qemu-system-x86_64", "-M", "q35", "-device",
                                            "pcie-root-port,id=pci.1,bus=pcie.0,chassis=1", "-readconfig",
                                            "/proc/self/fd/5", "-S", NULL };
        QemuArgs *a = parse(argv);
        char **out;

        ck_assert_uint_eq(a->n_devices, 2);
        out = rewrite_moving(argv, a, 1, 5, want);
        ck_assert_ptr_null(a->devices[0].config);
        ck_assert_str_eq(a->devices[1].config_id, "hostdev0");
        ck_assert_str_eq(a->devices[1].config,
                         "# vfio-tokenctl qemu: a device with the VF token of its PF\n"
                         "[device \"hostdev0\"]\n"
                         "  driver = \"vfio-pci\"\n"
                         "  host = \"0000:01:00.1\"\n"
                         "  bus = \"pci.1\"\n"
                         "  addr = \"0x0\"\n"
                         "  romfile = \"/x,y\"\n"
                         "  vf-token = \"" TOKEN "\"\n");
        strv_free(out);
        qemu_args_free(a);
}
END_TEST

START_TEST(test_rewrite_generated_ids) {
        char *argv[] = { "qemu", "-device", "vfio-pci,host=01:00.1", "-device", "e1000,id=vfio-tokend-0000_01_00.2",
                         "-device=vfio-pci,host=0000:01:00.2", "-device", "vfio-pci,host=0000:01:00.1", NULL };
        static const char *const want[] = { "qemu", "-readconfig", "/proc/self/fd/7", "-device",
                                            "e1000,id=vfio-tokend-0000_01_00.2", "-readconfig", "/proc/self/fd/8",
                                            "-readconfig", "/proc/self/fd/9", NULL };
        QemuArgs *a = parse(argv);
        char **out = NULL;
        int fd = 7;

        ck_assert_uint_eq(a->n_devices, 4);
        for (size_t i = 0; i < a->n_devices; i++)
                if (i != 1) {
                        a->devices[i].token = TOKEN;
                        a->devices[i].config_fd = fd++;
                }
        ck_assert_int_eq(qemu_args_rewrite(argv, a, &out), 0);
        assert_argv(out, want);
        assert_no_token(out);
        ck_assert_str_eq(a->devices[0].config_id, "vfio-tokend-0000_01_00.1");
        /* Taken by the e1000: the next free one. */
        ck_assert_str_eq(a->devices[2].config_id, "vfio-tokend-0000_01_00.2-2");
        /* The same host twice (QEMU will refuse it, not us): ids stay unique. */
        ck_assert_str_eq(a->devices[3].config_id, "vfio-tokend-0000_01_00.1-2");
        ck_assert(strstr(a->devices[2].config, "[device \"vfio-tokend-0000_01_00.2-2\"]\n  driver = \"vfio-pci\"\n"
                                               "  host = \"0000:01:00.2\"\n  vf-token = \"" TOKEN "\"\n"));
        strv_free(out);
        qemu_args_free(a);
}
END_TEST

/* What libvirt writes: every device in JSON, the VF behind a root port that is a JSON device too.
 * QEMU creates readconfig devices before JSON ones, so the JSON devices before the VF become
 * key=value ones, in order; those after it stay as they are. */
START_TEST(test_rewrite_libvirt_json) {
        char *argv[] = {
                "/usr/bin/qemu-system-x86_64", "-name", "guest=vm1,debug-threads=on", "-S", "-machine",
                "pc-q35-10.0,usb=off", "-m", "size=65536k",
                "-device", "{\"driver\":\"pcie-root-port\",\"port\":8,\"chassis\":1,\"id\":\"pci.1\",\"bus\":\"pcie.0\","
                           "\"multifunction\":true,\"addr\":\"0x1\"}",
                "-device", "{\"driver\":\"pcie-root-port\",\"port\":9,\"chassis\":2,\"id\":\"pci.2\",\"bus\":\"pcie.0\","
                           "\"addr\":\"0x1.0x1\",\"x-name\":\"a,b\"}",
                "-device", "{\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.1\",\"id\":\"hostdev0\",\"bus\":\"pci.1\","
                           "\"addr\":\"0x0\"}",
                "-device", "{\"driver\":\"virtio-balloon-pci\",\"id\":\"balloon0\",\"bus\":\"pci.2\",\"addr\":\"0x0\"}",
                "-msg", "timestamp=on", NULL };
        static const char *const want[] = {
                "/usr/bin/qemu-system-x86_64", "-name", "guest=vm1,debug-threads=on", "-S", "-machine",
                "pc-q35-10.0,usb=off", "-m", "size=65536k",
                "-device", "driver=pcie-root-port,port=8,chassis=1,id=pci.1,bus=pcie.0,multifunction=on,addr=0x1",
                "-device", "driver=pcie-root-port,port=9,chassis=2,id=pci.2,bus=pcie.0,addr=0x1.0x1,x-name=a,,b",
                "-readconfig", "/proc/self/fd/3",
                "-device", "{\"driver\":\"virtio-balloon-pci\",\"id\":\"balloon0\",\"bus\":\"pci.2\",\"addr\":\"0x0\"}",
                "-msg", "timestamp=on", NULL };
        QemuArgs *a = parse(argv);
        QemuArgs *b;
        char **out;

        ck_assert_uint_eq(a->n_devices, 4);
        out = rewrite_moving(argv, a, 2, 3, want);
        for (size_t i = 0; i < a->n_devices; i++)
                ck_assert(!a->devices[i].order_kept);
        ck_assert_str_eq(a->devices[2].config,
                         "# vfio-tokenctl qemu: a device with the VF token of its PF\n"
                         "[device \"hostdev0\"]\n"
                         "  driver = \"vfio-pci\"\n"
                         "  host = \"0000:01:00.1\"\n"
                         "  bus = \"pci.1\"\n"
                         "  addr = \"0x0\"\n"
                         "  vf-token = \"" TOKEN "\"\n");

        /* The key=value forms read back as the same devices. */
        b = parse(out);
        ck_assert_uint_eq(b->n_devices, 3);
        ck_assert_str_eq(props(b->devices + 0), props(a->devices + 0));
        ck_assert_str_eq(props(b->devices + 1), props(a->devices + 1));
        qemu_args_free(b);
        strv_free(out);
        qemu_args_free(a);
}
END_TEST

START_TEST(test_rewrite_order_kept) {
        char *argv[] = { "qemu", "-device", "{\"driver\":\"x\",\"list\":[1]}", "-device", "vfio-pci,host=01:00.1",
                         "-device", "{\"driver\":\"y\",\"list\":[2]}", NULL };
        QemuArgs *a = parse(argv);
        char **out = NULL;

        a->devices[1].token = TOKEN;
        a->devices[1].config_fd = 4;
        ck_assert_int_eq(qemu_args_rewrite(argv, a, &out), 0);
        ck_assert_str_eq(out[2], argv[2]);
        ck_assert_str_eq(out[3], "-readconfig");
        ck_assert_str_eq(out[6], argv[6]);
        /* Only the one before the moved device is out of order. */
        ck_assert(a->devices[0].order_kept);
        ck_assert(!a->devices[2].order_kept);
        strv_free(out);
        qemu_args_free(a);
}
END_TEST

START_TEST(test_rewrite_nothing_moved) {
        char *argv[] = { "qemu", "-device", "{\"driver\":\"pcie-root-port\",\"id\":\"pci.1\"}", "-device",
                         "vfio-pci,host=0000:01:00.1", "-device=e1000", "-device", NULL };
        QemuArgs *a = parse(argv);
        char **out = NULL;

        ck_assert_uint_eq(a->n_devices, 3);
        ck_assert_int_eq(qemu_args_rewrite(argv, a, &out), 0);
        assert_argv(out, (const char *const *) argv);
        for (size_t i = 0; i < a->n_devices; i++)
                ck_assert_ptr_null(a->devices[i].config);
        strv_free(out);
        qemu_args_free(a);

        {
                char *bare[] = { "qemu", NULL };

                a = parse(bare);
                ck_assert_uint_eq(a->n_devices, 0);
                ck_assert_int_eq(qemu_args_rewrite(bare, a, &out), 0);
                assert_argv(out, (const char *const *) bare);
                strv_free(out);
                qemu_args_free(a);
        }
}
END_TEST

START_TEST(test_rewrite_refused) {
        char long_id[80];
        char dev[160];
        char *argv[] = { "qemu", "-device", "{\"driver\":\"vfio-pci\",\"host\":\"01:00.1\",\"x\":[1]}", "-device", dev,
                         NULL };
        QemuArgs *a;
        char **out = NULL;

        memset(long_id, 'a', 64);
        long_id[64] = '\0';
        snprintf(dev, sizeof(dev), "vfio-pci,host=01:00.2,id=%s", long_id);

        /* A JSON value a section cannot hold. */
        a = parse(argv);
        a->devices[0].token = TOKEN;
        ck_assert_int_eq(qemu_args_rewrite(argv, a, &out), -EINVAL);
        ck_assert_ptr_null(out);
        qemu_args_free(a);

        /* An id longer than a section header takes. */
        a = parse(argv);
        a->devices[1].token = TOKEN;
        ck_assert_int_eq(qemu_args_rewrite(argv, a, &out), -EINVAL);
        qemu_args_free(a);

        /* 63 characters are fine. */
        long_id[63] = '\0';
        snprintf(dev, sizeof(dev), "vfio-pci,host=01:00.2,id=%s", long_id);
        a = parse(argv);
        a->devices[1].token = TOKEN2;
        a->devices[1].config_fd = 3;
        ck_assert_int_eq(qemu_args_rewrite(argv, a, &out), 0);
        assert_no_token(out);
        strv_free(out);
        qemu_args_free(a);
}
END_TEST

START_TEST(test_ram_size) {
        static const struct {
                const char *opt, *value;
                uint64_t want;
                int r;
        } cases[] = {
                { "-m", "64", 64ULL << 20, 0 },
                { "-m", "2G", 2ULL << 30, 0 },
                { "-m", "size=65536k,slots=2,maxmem=1G", 64ULL << 20, 0 },
                { "--m", "1.5g", 3ULL << 29, 0 },
                { "-m=512M", NULL, 512ULL << 20, 0 },
                { "-m", "foo", 0, -EINVAL },
                { "-m", "64X", 0, -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *argv[] = { "qemu", "-m", "1", (char *) cases[i].opt, (char *) cases[i].value, NULL };
                uint64_t v = 0;

                ck_assert_msg(qemu_args_ram_size(argv, &v) == cases[i].r, "%s %s", cases[i].opt,
                              cases[i].value ?: "");
                if (cases[i].r == 0)
                        ck_assert_uint_eq(v, cases[i].want);
        }
        {
                char *argv[] = { "qemu", "-M", "q35", NULL };
                uint64_t v = 0;

                ck_assert_int_eq(qemu_args_ram_size(argv, &v), 0);
                ck_assert_uint_eq(v, 128ULL << 20);
        }
}
END_TEST

START_TEST(test_version) {
        unsigned v = 0;

        ck_assert_int_eq(qemu_version_parse("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n"
                                            "Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n",
                                            &v),
                         0);
        ck_assert_uint_eq(v, 100002);
        ck_assert_int_eq(qemu_version_parse("QEMU emulator version 8.1.3\n", &v), 0);
        ck_assert_uint_eq(v, 80103);
        ck_assert_int_eq(qemu_version_parse("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n", &v),
                         0);
        ck_assert_uint_eq(v, 70222);
        ck_assert_int_eq(qemu_version_parse("QEMU emulator version 9.1\n", &v), 0);
        ck_assert_uint_eq(v, 90100);
        ck_assert_int_eq(qemu_version_parse("something else\n", &v), -EINVAL);
        ck_assert_int_eq(qemu_version_parse("QEMU emulator version x\n", &v), -EINVAL);
}
END_TEST

static Suite *qemu_args_suite(void) {
        Suite *s = suite_create("qemu-args");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_keyval);
        tcase_add_test(tc, test_keyval_escaping_and_flags);
        tcase_add_test(tc, test_json);
        tcase_add_test(tc, test_json_not_plain_or_invalid);
        tcase_add_test(tc, test_option_spellings);
        tcase_add_test(tc, test_host);
        tcase_add_test(tc, test_vfio_pci_drivers);
        tcase_add_test(tc, test_rewrite_keyval);
        tcase_add_test(tc, test_rewrite_generated_ids);
        tcase_add_test(tc, test_rewrite_libvirt_json);
        tcase_add_test(tc, test_rewrite_order_kept);
        tcase_add_test(tc, test_rewrite_nothing_moved);
        tcase_add_test(tc, test_rewrite_refused);
        tcase_add_test(tc, test_ram_size);
        tcase_add_test(tc, test_version);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(qemu_args_suite);
