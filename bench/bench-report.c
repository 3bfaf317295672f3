/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns what bench-grant prints and the figure lines it hands to bench/run.sh: the latency table
 * (quantiles and each process's CPU time per call), the throughput table (wall-clock and CPU
 * rates), how busy the pinned CPU was, and the three ratios of issue 9 it measures. */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

/* %s: the user's name. */
const char *const series_labels[_S_MAX] = {
        [S_PING] = "Peer.Ping to the daemon",
        [S_ROOT_GRANT] = "AcquireToken as root",
        [S_ROOT_RELEASE] = "Release as root",
        [S_ROOT_FIRST_GRANT] = "AcquireToken as root, new connection",
        [S_CHECK] = "CheckAuthorization about %s",
        [S_USER_GRANT] = "AcquireToken as %s (polkit)",
        [S_USER_RELEASE] = "Release as %s",
};

const char *const throughput_labels[_T_MAX] = {
        [T_CHECK] = "CheckAuthorization, 64 in flight",
        [T_USER_GRANT] = "AcquireToken as the user, 64 clients",
        [T_ROOT_GRANT] = "AcquireToken as root, 64 clients",
};

static void print_us(double us) {
        if (us < 1000)
                printf(" %7.1fµs", us);
        else
                printf(" %7.2fms", us / 1000);
}

double series_quantile_us(const Series *s, unsigned per_cent) {
        if (s->n == 0)
                return 0;
        if (per_cent == 50)
                return s->latency_ns[s->n / 2] / 1000.0;
        return s->latency_ns[(s->n * per_cent + 99) / 100 - 1] / 1000.0;
}

static void print_cpu(uint64_t client, const uint64_t server[_PROC_MAX], unsigned n) {
        uint64_t sum = client;

        print_us(client / 1000.0 / n);
        for (size_t p = 0; p < _PROC_MAX; p++) {
                print_us(server[p] / 1000.0 / n);
                sum += server[p];
        }
        print_us(sum / 1000.0 / n);
}

static void series_label(SeriesKind k, const char *user, char *buf, size_t size) {
        const char *l = series_labels[k], *p = strstr(l, "%s");

        if (p)
                snprintf(buf, size, "%.*s%s%s", (int) (p - l), l, user ?: "the user", p + 2);
        else
                snprintf(buf, size, "%s", l);
}

void print_series(const Series series[_S_MAX], const char *user, unsigned samples) {
        printf("\nOne call at a time from an idle harness, %u samples of each kind, interleaved\n", samples);
        printf("%-38s %9s %9s %9s %9s |CPU/call %9s %9s %9s %9s %9s\n", "", "median", "p90", "p99", "max",
               "client", "bus", "daemon", "polkitd", "all");
        for (size_t k = 0; k < _S_MAX; k++) {
                const Series *s = &series[k];
                char label[64];

                if (s->n == 0)
                        continue;
                series_label(k, user, label, sizeof label);
                printf("%-38s", label);
                print_us(series_quantile_us(s, 50));
                print_us(series_quantile_us(s, 90));
                print_us(series_quantile_us(s, 99));
                print_us(s->latency_ns[s->n - 1] / 1000.0);
                printf(" |        ");
                print_cpu(s->client_cpu_ns, s->server_ns, s->n);
                if (s->unquiet)
                        printf("  (%u not idle after 100 ms)", s->unquiet);
                if (s->errors)
                        printf("  %u error(s), first: %s", s->errors, s->first_error);
                printf("\n");
        }
}

/* Calls per second of the harness's CPU time: what the pinned CPU gives when the harness has it
 * to itself (then it equals the wall-clock rate, the CPU being saturated), and what it would
 * give when other load takes a share, which changes the wall-clock rates unevenly: the
 * scheduler shares the CPU by runnable tasks, and a grant keeps one more of ours runnable. */
double throughput_cpu_rate(const Throughput *t) {
        uint64_t cpu = t->client_cpu_ns;

        for (size_t p = 0; p < _PROC_MAX; p++)
                cpu += t->server_ns[p];
        return cpu ? t->n * 1e9 / (double) cpu : 0;
}

double throughput_rate(const Throughput *t) {
        return t->elapsed_ns ? t->n * 1e9 / (double) t->elapsed_ns : 0;
}

void print_throughput(Throughput tp[_T_MAX], unsigned rounds, unsigned per_round) {
        printf("\n64 calls in flight, %u rounds of %u calls of each kind, interleaved; a round's leases held to "
               "its end\n",
               rounds, per_round);
        printf("%-40s %9s %9s %9s %9s |CPU/call %9s %9s %9s %9s %9s\n", "", "rate", "CPU rate", "median",
               "max", "client", "bus", "daemon", "polkitd", "all");
        for (size_t k = 0; k < _T_MAX; k++) {
                Throughput *t = &tp[k];

                if (t->n == 0)
                        continue;
                sort_u64(t->median_ns, t->rounds);
                printf("%-40s %7.0f/s %7.0f/s", throughput_labels[k], throughput_rate(t),
                       throughput_cpu_rate(t));
                print_us(t->median_ns[t->rounds / 2] / 1000.0);
                print_us(t->max_ns / 1000.0);
                printf(" |        ");
                print_cpu(t->client_cpu_ns, t->server_ns, t->n);
                if (t->discarded)
                        printf("  %u round(s) with polkit's 15 s stall left out", t->discarded);
                if (t->errors)
                        printf("  %u error(s), first: %s", t->errors, t->first_error);
                printf("\n");
        }
}

/* How busy the pinned CPU was, and how much of that was the harness (the benchmark, its child,
 * dbus-daemon, the daemon, polkitd). /proc/stat counts in ticks, so the split is approximate. */
void print_load(int cpu, const CpuTicks *t0, const CpuTicks *t1, uint64_t ours_ns) {
        double hz = (double) sysconf(_SC_CLK_TCK), total = (double) (t1->total - t0->total);
        double busy = (double) (t1->busy - t0->busy), ours = ours_ns * hz / 1e9;

        if (cpu < 0) {
                printf("\nNot pinned to one CPU: the latencies include the scheduler's choices.\n");
                return;
        }
        if (total <= 0)
                return;
        printf("\nCPU %d during the run: busy %.0f%%, of which the harness about %.0f%% and anything else about "
               "%.0f%%; stolen by the hypervisor %.1f%%\n",
               cpu, 100.0 * busy / total, 100.0 * ours / total,
               busy > ours ? 100.0 * (busy - ours) / total : 0.0,
               100.0 * (double) (t1->steal - t0->steal) / total);
}

int write_figures(const char *path, const Series series[_S_MAX], const Throughput tp[_T_MAX]) {
        double ping = series_quantile_us(&series[S_PING], 50);
        FILE *f;

        if (!path)
                return 0;
        f = fopen(path, "ae");
        if (!f)
                return -errno;
        fprintf(f, "ratio root-grant/ping %.1f\n", series_quantile_us(&series[S_ROOT_GRANT], 50) / ping);
        if (series[S_USER_GRANT].n > 0) {
                fprintf(f, "ratio polkit-grant/(check+ping) %.2f\n",
                        series_quantile_us(&series[S_USER_GRANT], 50) /
                                (series_quantile_us(&series[S_CHECK], 50) + ping));
                fprintf(f, "ratio grants-at-64/checks-at-64 %.2f\n",
                        throughput_cpu_rate(&tp[T_USER_GRANT]) / throughput_cpu_rate(&tp[T_CHECK]));
        }
        return fclose(f) == 0 ? 0 : -errno;
}
