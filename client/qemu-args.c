/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* QEMU's -device options in both syntaxes, the rewritten command line and the -readconfig
 * sections of `vfio-tokenctl qemu` (see qemu-args.h). The key=value parser follows QEMU's
 * QemuOpts (util/qemu-option.c) step by step, the JSON one QEMU's JSON grammar, so that a device
 * reads here as it reads to QEMU. Section texts hold a token: they are wiped when freed. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "qemu-args.h"
#include "string-util.h"
#include "strv.h"

/* QEMU's readconfig parser reads lines into a 1024-byte buffer and keys of at most 63 bytes. */
#define CONFIG_LINE_MAX 1023
#define CONFIG_NAME_MAX 63
/* Nesting of JSON values we skip over (no vfio-pci property has any). */
#define JSON_DEPTH_MAX 32
#define ID_PREFIX "vfio-tokend-"

static bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void wipe_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

static void device_done(QemuDevice *d) {
        for (size_t i = 0; i < d->n_props; i++) {
                free(d->props[i].key);
                free(d->props[i].value);
        }
        free(d->props);
        wipe_free(d->config);
        *d = (QemuDevice) {};
}

QemuArgs *qemu_args_free(QemuArgs *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < a->n_devices; i++)
                device_done(a->devices + i);
        free(a->devices);
        return mfree(a);
}
/* Takes key and value (also on failure). */
static int device_add_prop(QemuDevice *d, char *key, char *value) {
        QemuProp *p;

        if (!key || !value) {
                free(key);
                free(value);
                return -ENOMEM;
        }
        p = realloc(d->props, (d->n_props + 1) * sizeof(QemuProp));
        if (!p) {
                free(key);
                free(value);
                return -ENOMEM;
        }
        d->props = p;
        d->props[d->n_props++] = (QemuProp) { .key = key, .value = value };
        return 0;
}

const char *qemu_device_get(const QemuDevice *d, const char *key) {
        /* QemuOpts and JSON alike: the last one counts (JSON has no duplicates). */
        for (size_t i = d->n_props; i > 0; i--)
                if (streq(d->props[i - 1].key, key))
                        return d->props[i - 1].value;
        return NULL;
}

bool qemu_device_is_vfio_pci(const QemuDevice *d) {
        const char *driver = qemu_device_get(d, "driver");

        return driver && (streq(driver, "vfio-pci") || streq(driver, "vfio-pci-nohotplug"));
}

/* ------------------------------------------------------------------------------------------
 * key=value (QemuOpts) */

/* A value up to the next single ',' (",," is a ','). Sets *p past it. */
static char *keyval_value(const char **p) {
        const char *s = *p;
        char *v, *q;

        v = q = malloc(strlen(s) + 1);
        if (!v)
                return NULL;
        while (*s) {
                if (*s == ',') {
                        if (s[1] != ',')
                                break;
                        s++;
                }
                *q++ = *s++;
        }
        *q = '\0';
        *p = s;
        return v;
}

/* firstname: the key of a first element without '=' (QEMU's implied option name). */
static int parse_keyval(const char *s, const char *firstname, QemuDevice *d) {
        const char *p = s;
        int r;

        while (*p) {
                size_t len = strcspn(p, "=,");
                char *key, *value;

                if (p[len] != '=') {
                        if (firstname) {
                                key = strdup(firstname);
                                value = keyval_value(&p);
                        } else {
                                /* A flag: "x" is x=on, "nox" is x=off. */
                                bool no = len >= 2 && startswith(p, "no");

                                key = strndup(p + (no ? 2 : 0), len - (no ? 2 : 0));
                                value = strdup(no ? "off" : "on");
                                p += len;
                        }
                } else {
                        key = strndup(p, len);
                        p += len + 1;
                        value = keyval_value(&p);
                }
                r = device_add_prop(d, key, value);
                if (r < 0)
                        return r;
                if (*p == ',')
                        p++;
                firstname = NULL;
        }
        return 0;
}

/* ------------------------------------------------------------------------------------------
 * JSON (QEMU's grammar: also 'single-quoted' strings) */

typedef struct Json {
        const char *p;
} Json;

static void json_skip_space(Json *j) {
        while (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n')
                j->p++;
}

static int json_hex4(const char *s, unsigned *ret) {
        char buf[5];

        for (int i = 0; i < 4; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return -EINVAL;
        memcpy(buf, s, 4);
        buf[4] = '\0';
        *ret = (unsigned) strtoul(buf, NULL, 16);
        return 0;
}

static char *utf8_put(char *q, unsigned c) {
        if (c < 0x80)
                *q++ = (char) c;
        else if (c < 0x800) {
                *q++ = (char) (0xc0 | (c >> 6));
                *q++ = (char) (0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
                *q++ = (char) (0xe0 | (c >> 12));
                *q++ = (char) (0x80 | ((c >> 6) & 0x3f));
                *q++ = (char) (0x80 | (c & 0x3f));
        } else {
                *q++ = (char) (0xf0 | (c >> 18));
                *q++ = (char) (0x80 | ((c >> 12) & 0x3f));
                *q++ = (char) (0x80 | ((c >> 6) & 0x3f));
                *q++ = (char) (0x80 | (c & 0x3f));
        }
        return q;
}

/* A string at j->p (which is at its quote), decoded; ret may be NULL to skip it. */
static int json_string(Json *j, char **ret) {
        char quote = *j->p++, *v = NULL, *q = NULL;

        if (ret) {
                /* Decoding never makes a string longer (\uXXXX is 6 bytes for at most 4). */
                v = q = malloc(strlen(j->p) + 1);
                if (!v)
                        return -ENOMEM;
        }
        for (;;) {
                char c = *j->p++;
                unsigned u, lo;

                if (c == quote)
                        break;
                if (c == '\0' || (unsigned char) c < 0x20)
                        goto invalid;
                if (c != '\\') {
                        if (q)
                                *q++ = c;
                        continue;
                }
                c = *j->p++;
                switch (c) {
                case '"':
                case '\'':
                case '\\':
                case '/':
                        break;
                case 'b':
                        c = '\b';
                        break;
                case 'f':
                        c = '\f';
                        break;
                case 'n':
                        c = '\n';
                        break;
                case 'r':
                        c = '\r';
                        break;
                case 't':
                        c = '\t';
                        break;
                case 'u':
                        if (json_hex4(j->p, &u) < 0)
                                goto invalid;
                        j->p += 4;
                        if (u >= 0xd800 && u < 0xdc00) {
                                if (j->p[0] != '\\' || j->p[1] != 'u' || json_hex4(j->p + 2, &lo) < 0 ||
                                    lo < 0xdc00 || lo >= 0xe000)
                                        goto invalid;
                                j->p += 6;
                                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                        } else if ((u >= 0xdc00 && u < 0xe000) || u == 0)
                                goto invalid;
                        if (q)
                                q = utf8_put(q, u);
                        continue;
                default:
                        goto invalid;
                }
                if (q)
                        *q++ = c;
        }
        if (ret) {
                *q = '\0';
                *ret = v;
        }
        return 0;

invalid:
        free(v);
        return -EINVAL;
}

static int json_value(Json *j, unsigned depth, char **ret_scalar);

/* An object or array at j->p, skipped. */
static int json_skip_container(Json *j, unsigned depth) {
        char close = *j->p == '{' ? '}' : ']';
        bool object = close == '}';
        int r;

        if (depth >= JSON_DEPTH_MAX)
                return -EINVAL;
        j->p++;
        json_skip_space(j);
        if (*j->p == close) {
                j->p++;
                return 0;
        }
        for (;;) {
                if (object) {
                        if (*j->p != '"' && *j->p != '\'')
                                return -EINVAL;
                        r = json_string(j, NULL);
                        if (r < 0)
                                return r;
                        json_skip_space(j);
                        if (*j->p++ != ':')
                                return -EINVAL;
                }
                r = json_value(j, depth + 1, NULL);
                if (r < 0)
                        return r;
                json_skip_space(j);
                if (*j->p == close) {
                        j->p++;
                        return 0;
                }
                if (*j->p++ != ',')
                        return -EINVAL;
                json_skip_space(j);
        }
}

static int json_number(Json *j, char **ret) {
        const char *s = j->p;

        if (*j->p == '-')
                j->p++;
        if (*j->p == '0')
                j->p++;
        else if (*j->p >= '1' && *j->p <= '9')
                while (isdigit((unsigned char) *j->p))
                        j->p++;
        else
                return -EINVAL;
        if (*j->p == '.') {
                j->p++;
                if (!isdigit((unsigned char) *j->p))
                        return -EINVAL;
                while (isdigit((unsigned char) *j->p))
                        j->p++;
        }
        if (*j->p == 'e' || *j->p == 'E') {
                j->p++;
                if (*j->p == '+' || *j->p == '-')
                        j->p++;
                if (!isdigit((unsigned char) *j->p))
                        return -EINVAL;
                while (isdigit((unsigned char) *j->p))
                        j->p++;
        }
        if (ret) {
                *ret = strndup(s, (size_t) (j->p - s));
                if (!*ret)
                        return -ENOMEM;
        }
        return 0;
}

/* A value at j->p (after white space). *ret_scalar (if ret_scalar) is its QemuOpts text, or NULL
 * for an object, array or null, which have none. */
static int json_value(Json *j, unsigned depth, char **ret_scalar) {
        static const struct {
                const char *word;
                const char *text;
        } words[] = {
                { "true", "on" },
                { "false", "off" },
                { "null", NULL },
        };
        char *v = NULL;
        int r;

        json_skip_space(j);
        if (*j->p == '"' || *j->p == '\'')
                r = json_string(j, ret_scalar ? &v : NULL);
        else if (*j->p == '{' || *j->p == '[')
                r = json_skip_container(j, depth);
        else if (*j->p == '-' || isdigit((unsigned char) *j->p))
                r = json_number(j, ret_scalar ? &v : NULL);
        else {
                r = -EINVAL;
                for (size_t i = 0; i < ELEMENTSOF(words); i++)
                        if (startswith(j->p, words[i].word)) {
                                j->p += strlen(words[i].word);
                                r = 0;
                                if (ret_scalar && words[i].text) {
                                        v = strdup(words[i].text);
                                        if (!v)
                                                r = -ENOMEM;
                                }
                                break;
                        }
        }
        if (r < 0)
                return r;
        if (ret_scalar)
                *ret_scalar = v;
        return 0;
}

static int parse_json(const char *s, QemuDevice *d) {
        Json j = { .p = s };
        int r;

        json_skip_space(&j);
        if (*j.p++ != '{')
                return -EINVAL;
        json_skip_space(&j);
        if (*j.p == '}')
                j.p++;
        else
                for (;;) {
                        char *key = NULL, *value = NULL;

                        if (*j.p != '"' && *j.p != '\'')
                                return -EINVAL;
                        r = json_string(&j, &key);
                        if (r < 0)
                                return r;
                        json_skip_space(&j);
                        /* QEMU refuses duplicate keys. */
                        if (*j.p++ != ':' || qemu_device_get(d, key)) {
                                free(key);
                                return -EINVAL;
                        }
                        r = json_value(&j, 1, &value);
                        if (r < 0) {
                                free(key);
                                return r;
                        }
                        if (!value) {
                                /* No QemuOpts form; the device is used as it is. */
                                d->plain = false;
                                free(key);
                        } else {
                                r = device_add_prop(d, key, value);
                                if (r < 0)
                                        return r;
                        }
                        json_skip_space(&j);
                        if (*j.p == '}') {
                                j.p++;
                                break;
                        }
                        if (*j.p++ != ',')
                                return -EINVAL;
                        json_skip_space(&j);
                }
        json_skip_space(&j);
        return *j.p == '\0' ? 0 : -EINVAL;
}

/* ------------------------------------------------------------------------------------------
 * The command line */

static bool key_is_plain(const char *k) {
        if (!*k || strlen(k) > CONFIG_NAME_MAX)
                return false;
        for (; *k; k++)
                if (*k == ',' || *k == '=' || *k == '"' || isspace((unsigned char) *k))
                        return false;
        return true;
}

static bool value_is_plain(const char *v) {
        return !strpbrk(v, "\"\n");
}

/* -device VALUE, --device VALUE, -device=VALUE, --device=VALUE: the value and the number of
 * arguments the option takes, or NULL. */
static const char *device_option(char *const *argv, size_t i, size_t *ret_n) {
        const char *o = argv[i];

        if (o[0] != '-')
                return NULL;
        o += o[1] == '-' ? 2 : 1;
        if (streq(o, "device") && argv[i + 1]) {
                *ret_n = 2;
                return argv[i + 1];
        }
        if (startswith(o, "device=")) {
                *ret_n = 1;
                return o + STRLEN("device=");
        }
        return NULL;
}

int qemu_args_parse(char *const *argv, QemuArgs **ret) {
        _cleanup_(qemu_args_freep) QemuArgs *a = NULL;
        int r;

        a = calloc(1, sizeof(QemuArgs));
        if (!a)
                return -ENOMEM;

        /* Options of QEMU that take a value are not known here: a value that reads "-device"
         * (say, "-append -device") would be taken for the option. QEMU has none that would. */
        for (size_t i = 1; argv[0] && argv[i]; i++) {
                QemuDevice d = { .arg = i, .plain = true, .config_fd = -1 };
                const char *value;
                QemuDevice *n;

                value = device_option(argv, i, &d.n_args);
                if (!value)
                        continue;
                i += d.n_args - 1;

                d.json = value[0] == '{';
                r = d.json ? parse_json(value, &d) : parse_keyval(value, "driver", &d);
                if (r == -ENOMEM) {
                        device_done(&d);
                        return r;
                }
                if (r < 0) {
                        device_done(&d);
                        continue;
                }
                for (size_t k = 0; k < d.n_props; k++)
                        if (!key_is_plain(d.props[k].key) || !value_is_plain(d.props[k].value))
                                d.plain = false;

                n = realloc(a->devices, (a->n_devices + 1) * sizeof(QemuDevice));
                if (!n) {
                        device_done(&d);
                        return -ENOMEM;
                }
                a->devices = n;
                a->devices[a->n_devices++] = d;
        }

        *ret = TAKE_PTR(a);
        return 0;
}

/* QEMU's PCIHostDeviceAddress syntax, read as QEMU reads it: "[domain:]bus:slot.function", the
 * function in decimal, the rest hexadecimal. */
static int parse_host(const char *s, char ret[static PCI_ADDRESS_MAX]) {
        unsigned long dom = 0, bus, slot, func;
        const char *p = s;
        char *e;

        bus = strtoul(p, &e, 16);
        if (e == p || *e != ':')
                return -EINVAL;
        p = e + 1;
        slot = strtoul(p, &e, 16);
        if (e == p)
                return -EINVAL;
        if (*e == ':') {
                dom = bus;
                bus = slot;
                p = e + 1;
                slot = strtoul(p, &e, 16);
                if (e == p)
                        return -EINVAL;
        }
        if (*e != '.')
                return -EINVAL;
        p = e + 1;
        func = strtoul(p, &e, 10);
        if (e == p || *e || dom > 0xffff || bus > 0xff || slot > 0x1f || func > 7)
                return -EINVAL;
        snprintf(ret, PCI_ADDRESS_MAX, "%04lx:%02lx:%02lx.%lx", dom, bus, slot, func);
        return 0;
}

int qemu_device_host(const QemuDevice *d, char ret[static PCI_ADDRESS_MAX]) {
        const char *host = qemu_device_get(d, "host"), *sysfsdev, *slash;

        if (host)
                return parse_host(host, ret);
        sysfsdev = qemu_device_get(d, "sysfsdev");
        if (!sysfsdev)
                return -ENOENT;
        /* QEMU names the device by the path's last element: the kernel's name of it. */
        slash = strrchr(sysfsdev, '/');
        return pci_address_parse(slash ? slash + 1 : sysfsdev, ret);
}

/* Appends text to the growing string *s (length *n). */
static int append(char **s, size_t *n, const char *text, size_t len) {
        char *t = realloc(*s, *n + len + 1);

        if (!t)
                return -ENOMEM;
        memcpy(t + *n, text, len);
        *n += len;
        t[*n] = '\0';
        *s = t;
        return 0;
}

/* v with every ',' doubled, as QemuOpts reads it back. */
static char *keyval_escape(const char *v) {
        size_t n = strlen(v);
        char *e, *q;

        for (const char *c = v; *c; c++)
                n += *c == ',';
        e = q = malloc(n + 1);
        if (!e)
                return NULL;
        for (; *v; v++) {
                *q++ = *v;
                if (*v == ',')
                        *q++ = ',';
        }
        *q = '\0';
        return e;
}

/* The key=value form of a plain device: every property "key=value" in order. */
static int device_keyval(const QemuDevice *d, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t n = 0;
        int r;

        r = append(&s, &n, "", 0);
        for (size_t i = 0; r >= 0 && i < d->n_props; i++) {
                _cleanup_free_ char *v = keyval_escape(d->props[i].value), *item = NULL;

                if (!v || asprintf(&item, "%s%s=%s", i > 0 ? "," : "", d->props[i].key, v) < 0)
                        return -ENOMEM;
                r = append(&s, &n, item, strlen(item));
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

static bool id_taken(const QemuArgs *a, const char *id) {
        for (size_t i = 0; i < a->n_devices; i++) {
                const QemuDevice *d = a->devices + i;

                if (streq_ptr(qemu_device_get(d, "id"), id) || streq_ptr(d->config_id, id))
                        return true;
        }
        return false;
}

/* d's own id, or "vfio-tokend-DDDD_BB_DD.F" (with "-2", "-3", ... if taken), kept in *ret_buf. */
static int device_config_id(const QemuArgs *a, const QemuDevice *d, char **ret_buf, const char **ret) {
        char host[PCI_ADDRESS_MAX], escaped[PCI_ADDRESS_MAX] = "device";
        const char *id = qemu_device_get(d, "id");

        if (id) {
                if (strlen(id) > CONFIG_NAME_MAX)
                        return -EINVAL;
                *ret = id;
                return 0;
        }
        if (qemu_device_host(d, host) >= 0)
                pci_address_escape(host, escaped);
        for (unsigned n = 1;; n++) {
                char *t;

                if ((n == 1 ? asprintf(&t, ID_PREFIX "%s", escaped) : asprintf(&t, ID_PREFIX "%s-%u", escaped, n)) < 0)
                        return -ENOMEM;
                if (!id_taken(a, t)) {
                        *ret = *ret_buf = t;
                        return 0;
                }
                free(t);
        }
}

#define CONFIG_HEADER "# vfio-tokenctl qemu: a device with the VF token of its PF\n[device \"%s\"]\n"
#define CONFIG_LINE "  %s = \"%s\"\n"

/* The -readconfig section of d: every property but its id, then the token. Sized before it is
 * written, so that no copy of the token is left behind by a realloc(). */
static int device_config(const QemuDevice *d, const char *id, char **ret) {
        size_t size, n;
        char *s;

        size = (size_t) snprintf(NULL, 0, CONFIG_HEADER, id) + 1;
        for (size_t i = 0; i <= d->n_props; i++) {
                const char *key = i < d->n_props ? d->props[i].key : "vf-token";
                const char *value = i < d->n_props ? d->props[i].value : d->token;
                size_t line = (size_t) snprintf(NULL, 0, CONFIG_LINE, key, value);

                if (streq(key, "id"))
                        continue;
                if (line > CONFIG_LINE_MAX)
                        return -EINVAL;
                size += line;
        }

        s = malloc(size);
        if (!s)
                return -ENOMEM;
        n = (size_t) snprintf(s, size, CONFIG_HEADER, id);
        for (size_t i = 0; i <= d->n_props; i++) {
                const char *key = i < d->n_props ? d->props[i].key : "vf-token";
                const char *value = i < d->n_props ? d->props[i].value : d->token;

                if (!streq(key, "id"))
                        n += (size_t) snprintf(s + n, size - n, CONFIG_LINE, key, value);
        }
        *ret = s;
        return 0;
}

int qemu_args_rewrite(char *const *argv, QemuArgs *a, char ***ret_argv) {
        _cleanup_strv_free_ char **out = NULL;
        size_t argc = strv_length(argv), n = 0, last_moved = 0;
        int r;

        for (size_t i = 0; i < a->n_devices; i++)
                if (a->devices[i].token)
                        last_moved = a->devices[i].arg;

        /* At most two arguments for each one. */
        out = calloc(2 * argc + 1, sizeof(char *));
        if (!out)
                return -ENOMEM;

        for (size_t i = 0, k = 0; i < argc;) {
                QemuDevice *d = k < a->n_devices && a->devices[k].arg == i ? a->devices + k++ : NULL;
                char *first = NULL, *second = NULL;
                bool two = d && d->n_args == 2;

                if (d && d->token) {
                        _cleanup_free_ char *made_id = NULL;
                        const char *id;

                        if (!d->plain)
                                return -EINVAL;
                        r = device_config_id(a, d, &made_id, &id);
                        if (r < 0)
                                return r;
                        r = device_config(d, id, &d->config);
                        if (r < 0)
                                return r;
                        /* Kept with the device, so that id_taken() sees it for the next one. */
                        if (made_id) {
                                r = device_add_prop(d, strdup("id"), TAKE_PTR(made_id));
                                if (r < 0)
                                        return r;
                        }
                        d->config_id = qemu_device_get(d, "id");
                        first = strdup("-readconfig");
                        if (asprintf(&second, "/proc/self/fd/%d", d->config_fd) < 0)
                                second = NULL;
                        two = true;
                } else if (d && d->json && d->arg < last_moved && d->plain) {
                        first = strdup("-device");
                        r = device_keyval(d, &second);
                        if (r < 0) {
                                free(first);
                                return r;
                        }
                        two = true;
                } else {
                        if (d && d->json && d->arg < last_moved)
                                d->order_kept = true;
                        first = strdup(argv[i]);
                        if (two)
                                second = strdup(argv[i + 1]);
                }
                if (!first || (two && !second)) {
                        free(first);
                        free(second);
                        return -ENOMEM;
                }
                out[n++] = first;
                if (two)
                        out[n++] = second;
                i += d ? d->n_args : 1;
        }

        *ret_argv = TAKE_PTR(out);
        return 0;
}

/* ------------------------------------------------------------------------------------------
 * -m and -version */

int qemu_args_ram_size(char *const *argv, uint64_t *ret) {
        const char *value = NULL;
        QemuDevice m = {};
        const char *size;
        char *end;
        double v;
        uint64_t unit = 1024 * 1024;
        int r;

        for (size_t i = 1; argv[0] && argv[i]; i++) {
                const char *o = argv[i];

                if (o[0] != '-')
                        continue;
                o += o[1] == '-' ? 2 : 1;
                if (streq(o, "m") && argv[i + 1])
                        value = argv[++i];
                else if (startswith(o, "m="))
                        value = o + 2;
        }
        if (!value) {
                *ret = 128 * unit;
                return 0;
        }

        r = parse_keyval(value, "size", &m);
        size = r < 0 ? NULL : qemu_device_get(&m, "size");
        if (!size || !isdigit((unsigned char) *size)) {
                device_done(&m);
                return r == -ENOMEM ? r : -EINVAL;
        }
        errno = 0;
        v = strtod(size, &end);
        r = errno != 0 ? -EINVAL : 0;
        if (r >= 0 && *end) {
                static const char units[] = "BKMGTPE";
                const char *u = strchr(units, toupper((unsigned char) *end));

                if (!u || end[1])
                        r = -EINVAL;
                else
                        unit = 1ULL << (10 * (u - units));
        }
        device_done(&m);
        if (r < 0)
                return r;
        if (v * (double) unit >= 18446744073709551615.0)
                return -EINVAL;
        *ret = (uint64_t) (v * (double) unit);
        return 0;
}

int qemu_version_parse(const char *text, unsigned *ret) {
        const char *p = strstr(text, "version ");
        unsigned major, minor, micro = 0;

        if (!p)
                return -EINVAL;
        p += STRLEN("version ");
        if (sscanf(p, "%u.%u.%u", &major, &minor, &micro) < 2 || minor > 99 || micro > 99)
                return -EINVAL;
        *ret = major * 10000 + minor * 100 + micro;
        return 0;
}
