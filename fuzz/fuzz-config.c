/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target for the configuration parser: any input must give either a Config or a list
 * of errors, never a crash, a leak or undefined behaviour. */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"
/* By path: a plain "config.h" may find the generated autoheader file of the same name. */
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The LINE of "fuzz.conf:LINE: ...", 0 for "fuzz.conf: ...". */
static unsigned long message_line(const char *m) {
        const char *p = m + strlen("fuzz.conf");

        return *p == ':' && p[1] >= '0' && p[1] <= '9' ? strtoul(p + 1, NULL, 10) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_strv_free_ char **errors = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        /* The parser takes a C string; an embedded NUL just ends the text early. */
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        r = config_load_string("fuzz.conf", text, &c, &errors);
        if (r == 0) {
                /* A successful load is internally consistent. */
                if (errors || !c || c->n_pfs > CONFIG_MAX_PFS)
                        abort();
                for (size_t i = 0; i < c->n_pfs; i++) {
                        if (!pci_address_is_valid(c->pfs[i].address) ||
                            c->pfs[i].rotate_interval_usec == ROTATE_INTERVAL_INHERIT ||
                            c->pfs[i].num_vfs > CONFIG_MAX_NUM_VFS ||
                            config_find_pf(c, c->pfs[i].address) != &c->pfs[i])
                                abort();
                }
                /* Warnings are whole lines too, and in line order. */
                for (char **w = c->warnings; w && *w; w++)
                        if (strchr(*w, '\n') || (w != c->warnings && message_line(w[-1]) > message_line(*w)))
                                abort();
        } else if (r == -EINVAL) {
                if (c || !errors || !errors[0])
                        abort();
                /* One file: errors come in line order (0, about the whole file, first). */
                for (char **e = errors; *e; e++)
                        if (strchr(*e, '\n') || (e != errors && message_line(e[-1]) > message_line(*e)))
                                abort();
        } else if (r != -ENOMEM)
                abort();
        return 0;
}
