/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A main() for the fuzz targets without libFuzzer: fuzz/replay-TARGET FILE... feeds each file to
 * the target's LLVMFuzzerTestOneInput() once. `make check` builds every target this way with the
 * project's compiler and sanitizers and replays its seed corpus (fuzz/replay-corpus.sh), so a
 * target that no longer builds or links, or a seed that now crashes, fails there and not only in
 * `make check-fuzz`. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads all of FILE into a malloc'ed buffer (never NULL on success, even when empty). */
static int read_whole(const char *path, uint8_t **ret, size_t *ret_size) {
        uint8_t *buf = NULL;
        size_t size = 0, allocated = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                if (allocated - size < 4096) {
                        uint8_t *n = realloc(buf, allocated + 65536);
                        if (!n) {
                                free(buf);
                                fclose(f);
                                return -ENOMEM;
                        }
                        buf = n;
                        allocated += 65536;
                }
                size_t k = fread(buf + size, 1, allocated - size, f);
                size += k;
                if (k == 0)
                        break;
        }
        if (ferror(f)) {
                free(buf);
                fclose(f);
                return -EIO;
        }
        fclose(f);
        *ret = buf;
        *ret_size = size;
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc < 2) {
                fprintf(stderr, "Usage: %s FILE...\n", argv[0]);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                uint8_t *data = NULL;
                size_t size = 0;
                int r = read_whole(argv[i], &data, &size);

                if (r < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(-r));
                        return 1;
                }
                LLVMFuzzerTestOneInput(data, size);
                free(data);
        }
        return 0;
}
