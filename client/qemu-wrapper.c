/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* $(libexecdir)/vfio-tokend/qemu-system-x86_64: an emulator libvirt can be given as <emulator>.
 * It runs `vfio-tokenctl --no-ask-password qemu REAL-QEMU ARG...`, where REAL-QEMU is the first
 * program of its own name in $PATH that is not this one: the system's QEMU gets the VF tokens of
 * its vfio-pci devices without them in any argv, and holds the leases for its life (see
 * vfio-tokenctl(1)). Installed under another name (a link named qemu-system-aarch64), it stands
 * for that QEMU.
 *
 * libvirt runs the emulator with a cleared environment and as its QEMU user: the system bus is
 * the default one, and without $PATH the usual directories are searched. Nobody is there to
 * authenticate, hence --no-ask-password. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define TOKENCTL BINDIR "/vfio-tokenctl"

/* The first executable named name in path that is not the file self, written to ret. */
static int find_real(const char *name, const char *path, const struct stat *self, char ret[PATH_MAX]) {
        for (const char *p = path; *p;) {
                size_t len = strcspn(p, ":");
                struct stat st;

                /* An empty element is the current directory: not where a system QEMU lives. */
                if (len > 0 && (size_t) snprintf(ret, PATH_MAX, "%.*s/%s", (int) len, p, name) < PATH_MAX &&
                    ret[0] == '/' && stat(ret, &st) >= 0 && S_ISREG(st.st_mode) && access(ret, X_OK) >= 0 &&
                    !(st.st_dev == self->st_dev && st.st_ino == self->st_ino))
                        return 0;
                p += len;
                if (*p == ':')
                        p++;
        }
        return -ENOENT;
}

int main(int argc, char **argv) {
        const char *name, *path;
        char real[PATH_MAX];
        struct stat self;
        char **args;
        int n = 0;

        name = argc > 0 && argv[0][0] ? strrchr(argv[0], '/') : NULL;
        name = name ? name + 1 : argc > 0 && argv[0][0] ? argv[0] : "qemu-system-x86_64";
        if (stat("/proc/self/exe", &self) < 0) {
                fprintf(stderr, "%s (vfio-tokend): cannot tell which program runs: %m\n", name);
                return 127;
        }
        path = getenv("PATH");
        if (find_real(name, path && *path ? path : DEFAULT_PATH, &self, real) < 0) {
                fprintf(stderr, "%s (vfio-tokend): no %s in %s other than this wrapper\n", name, name,
                        path && *path ? path : DEFAULT_PATH);
                return 127;
        }

        args = calloc((size_t) argc + 4, sizeof(char *));
        if (!args) {
                fprintf(stderr, "%s (vfio-tokend): %m\n", name);
                return 127;
        }
        args[n++] = (char *) TOKENCTL;
        args[n++] = (char *) "--no-ask-password";
        args[n++] = (char *) "qemu";
        args[n++] = real;
        for (int i = 1; i < argc; i++)
                args[n++] = argv[i];

        execv(TOKENCTL, args);
        fprintf(stderr, "%s (vfio-tokend): cannot run %s: %m\n", name, TOKENCTL);
        free(args);
        return 127;
}
