/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the memory figure: root holds CONNS × LEASES leases spread over every VF of every PF the
 * daemon manages, the daemon's RSS is read with all of them held (and a few grants are timed
 * then, to show what held leases do to a grant), then every lease is released and must be gone. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "macro.h"
#include "string-util.h"
#include "strv.h"
#include "vfio-token-names.h"

#define READY_TIMEOUT_NS (60ULL * 1000000000ULL)
#define PROBE_GRANTS 200

typedef struct Pfs {
        char **paths;
        char **vfs; /* every VF of every PF */
        size_t n_pfs, n_vfs;
        unsigned vfs_per_pf; /* 0 if they differ */
} Pfs;

static void pfs_done(Pfs *p) {
        p->paths = strv_free(p->paths);
        p->vfs = strv_free(p->vfs);
}

static int strv_push(char ***l, size_t *n, const char *s) {
        char **m = realloc(*l, (*n + 2) * sizeof(char *));

        if (!m)
                return -ENOMEM;
        *l = m;
        m[*n] = strdup(s);
        if (!m[*n])
                return -ENOMEM;
        m[++*n] = NULL;
        return 0;
}

/* Waits until the PF is ready (the daemon sets PFs up one after the other), then adds its VFs. */
static int pf_add_vfs(sd_bus *bus, const char *path, Pfs *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *prop = NULL;
        const struct timespec pause = { .tv_nsec = 20000000 };
        uint64_t start = now_ns();
        const char *vf;
        size_t before = p->n_vfs;
        int r;

        for (;;) {
                _cleanup_free_ char *state = NULL;

                r = sd_bus_get_property_string(bus, VFIO_TOKEN_BUS_NAME, path, VFIO_TOKEN_PF_INTERFACE, "State",
                                               NULL, &state);
                if (r < 0)
                        return r;
                if (streq(state, "ready"))
                        break;
                if (now_ns() - start > READY_TIMEOUT_NS) {
                        fprintf(stderr, "bench-grant: %s is still %s\n", path, state);
                        return -ETIMEDOUT;
                }
                (void) nanosleep(&pause, NULL);
        }
        r = sd_bus_get_property(bus, VFIO_TOKEN_BUS_NAME, path, VFIO_TOKEN_PF_INTERFACE, "VirtualFunctions",
                                NULL, &prop, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(prop, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(prop, "s", &vf)) > 0) {
                r = strv_push(&p->vfs, &p->n_vfs, vf);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (p->n_pfs == 1)
                p->vfs_per_pf = (unsigned) (p->n_vfs - before);
        else if (p->vfs_per_pf != p->n_vfs - before)
                p->vfs_per_pf = 0;
        return 0;
}

static int pfs_load(sd_bus *bus, Pfs *ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *address, *path;
        Pfs p = {};
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE,
                               "ListPhysicalFunctions", NULL, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(so)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(so)", &address, &path)) > 0) {
                r = strv_push(&p.paths, &p.n_pfs, path);
                if (r >= 0)
                        r = pf_add_vfs(bus, path, &p);
        }
        if (r >= 0 && p.n_vfs == 0)
                r = -ENODEV;
        if (r < 0) {
                pfs_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

static int count_leases(sd_bus *bus, const Pfs *p, unsigned *ret) {
        unsigned sum = 0, n;
        int r;

        for (size_t i = 0; i < p->n_pfs; i++) {
                r = daemon_lease_count(bus, p->paths[i], &n);
                if (r < 0)
                        return r;
                sum += n;
        }
        *ret = sum;
        return 0;
}

/* Grants as root one at a time while the leases are held, on the first VF: the PF's Leases
 * property, sent with every grant, is as long as the leases held on it. Returns the median. */
static int probe_grants(sd_bus *bus, const char *device, uint64_t *ret_median_ns) {
        uint64_t latency[PROBE_GRANTS];
        CpuSnapshot idle;
        Outcome o;
        int r;

        for (size_t i = 0; i < PROBE_GRANTS; i++) {
                (void) cpu_quiesce(&idle);
                r = call_sync(bus, CALL_ACQUIRE, device, NULL, &o);
                if (r >= 0 && o.r >= 0) {
                        latency[i] = o.latency_ns;
                        r = call_sync(bus, CALL_RELEASE, o.lease, NULL, &o);
                }
                if (r >= 0 && o.r < 0) {
                        fprintf(stderr, "bench-grant: %s\n", o.error);
                        r = o.r;
                }
                if (r < 0)
                        return r;
        }
        sort_u64(latency, PROBE_GRANTS);
        *ret_median_ns = latency[PROBE_GRANTS / 2];
        return 0;
}

int hold_leases(sd_bus *bus, pid_t daemon_pid, unsigned connections, unsigned per_connection,
                const char *figures) {
        unsigned total = connections * per_connection, granted = 0, held = 0, left = 0;
        _cleanup_free_ char(*leases)[LEASE_PATH_MAX] = NULL;
        _cleanup_free_ sd_bus **conns = NULL;
        long rss_idle, rss_held, rss_after, hwm;
        uint64_t probe_ns = 0;
        CpuSnapshot idle;
        Pfs p = {};
        Outcome o;
        int r;

        if (daemon_pid <= 0)
                return -EINVAL;
        leases = calloc(total, sizeof *leases);
        conns = calloc(connections, sizeof *conns);
        if (!leases || !conns)
                return -ENOMEM;
        r = pfs_load(bus, &p);
        if (r < 0) {
                fprintf(stderr, "bench-grant: cannot list the PFs and their VFs: %s\n", strerror(-r));
                return r;
        }

        (void) cpu_quiesce(&idle);
        rss_idle = proc_status_kib(daemon_pid, "VmRSS");
        for (unsigned c = 0; c < connections && r >= 0; c++) {
                r = bus_connect(NULL, &conns[c]);
                for (unsigned j = 0; j < per_connection && r >= 0; j++) {
                        const char *vf = p.vfs[(c * per_connection + j) % p.n_vfs];

                        r = call_sync(conns[c], CALL_ACQUIRE, vf, NULL, &o);
                        if (r >= 0 && o.r < 0) {
                                fprintf(stderr, "bench-grant: grant %u: %s\n", granted + 1, o.error);
                                r = o.r;
                        }
                        if (r >= 0)
                                memcpy(leases[granted++], o.lease, LEASE_PATH_MAX);
                }
        }
        if (r >= 0) {
                (void) cpu_quiesce(&idle);
                r = count_leases(bus, &p, &held);
        }
        rss_held = proc_status_kib(daemon_pid, "VmRSS");
        hwm = proc_status_kib(daemon_pid, "VmHWM");
        if (r >= 0)
                r = probe_grants(bus, p.vfs[0], &probe_ns);

        /* Every lease ends, whatever happened above. */
        for (unsigned i = 0; i < granted; i++) {
                int k = call_sync(conns[i / per_connection], CALL_RELEASE, leases[i], NULL, &o);
                if ((k < 0 || o.r < 0) && r >= 0) {
                        fprintf(stderr, "bench-grant: %s\n", k < 0 ? strerror(-k) : o.error);
                        r = k < 0 ? k : o.r;
                }
        }
        (void) cpu_quiesce(&idle);
        if (count_leases(bus, &p, &left) < 0 && r >= 0)
                r = -EIO;
        rss_after = proc_status_kib(daemon_pid, "VmRSS");
        for (unsigned c = 0; c < connections; c++)
                sd_bus_flush_close_unref(conns[c]);

        printf("\nLeases held by root: %u PF(s), %zu VFs, %u connections of %u leases\n", (unsigned) p.n_pfs,
               p.n_vfs, connections, per_connection);
        printf("Daemon RSS: %ld KiB idle, %ld KiB with %u leases %s (peak %ld KiB), %ld KiB after releasing "
               "them; %.2f KiB per lease\n",
               rss_idle, rss_held, held ?: granted,
               held ? "held" : "granted (the daemon could not count them)",
               hwm, rss_after, (double) (rss_held - rss_idle) / (held ?: granted ?: 1));
        if (probe_ns)
                printf("AcquireToken as root with those leases held (%zu on its PF): median %.1f µs\n",
                       held / p.n_pfs, probe_ns / 1000.0);
        printf("Leases granted %u, held %u, left after release %u\n", granted, held, left);
        fflush(stdout);

        if (r >= 0 && (held != total || left != 0)) {
                fprintf(stderr, "bench-grant: %u leases held of %u, %u left behind\n", held, total, left);
                r = -EIO;
        }
        if (r >= 0 && figures) {
                FILE *f = fopen(figures, "ae");

                if (!f)
                        r = -errno;
                else {
                        fprintf(f, "rss-kib %zupf-%uvf-%uleases %ld\n", p.n_pfs, p.vfs_per_pf, held, rss_held);
                        if (fclose(f) != 0)
                                r = -errno;
                }
        }
        pfs_done(&p);
        return r;
}
