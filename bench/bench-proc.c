/* SPDX-License-Identifier: MIT */
/*
 * bench-proc.c - rendering the /proc texts (mmcore/procfs.c): ns per rendering of each file
 * on a 1 GiB 686 machine with 2 CPUs, beside copying the same bytes into a new buffer (the
 * floor of any renderer: what serving a text already rendered costs). What a cache miss of
 * a view costs (api/viewcache.h keeps the texts once rendered). Measured, never asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mmcore.h"

#define RUNS 5
#define ITERS 20000

int main(void)
{
	static const char *const files[] = {"zoneinfo", "buddyinfo", "pagetypeinfo", "meminfo",
					    "vmstat"};
	struct mm_config cfg;
	struct mm_machine *m;
	struct mm_error err = {0};
	char cpu[128];
	volatile size_t sink = 0;

	mm_config_init(&cfg, false);
	cfg.mem = 1ull << 30;
	cfg.cpus = 2;
	if (mm_machine_create(&cfg, &m, &err) < 0) {
		fprintf(stderr, "bench-proc: %s\n", err.msg);
		return 1;
	}
	bench_host_cpu(cpu, sizeof(cpu));
	printf("bench-proc: %s; ns per rendering, best of %d runs of %d, 1 GiB 686, 2 CPUs\n", cpu,
	       RUNS, ITERS);
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		double best = 1e30, best_copy = 1e30;
		struct mm_buf text = {0};
		char fig[64];

		if (mm_proc_render(m, files[f], &text, &err) < 0) {
			fprintf(stderr, "bench-proc: %s\n", err.msg);
			return 1;
		}
		for (int r = 0; r < RUNS; r++) {
			double t0 = bench_now_ns();

			for (int i = 0; i < ITERS; i++) {
				struct mm_buf b = {0};

				mm_proc_render(m, files[f], &b, &err);
				sink += b.len;
				mm_buf_free(&b);
			}
			best = (bench_now_ns() - t0) / ITERS < best ? (bench_now_ns() - t0) / ITERS
								    : best;
			t0 = bench_now_ns();
			for (int i = 0; i < ITERS; i++) {
				char *c = malloc(text.len + 1);

				memcpy(c, text.data, text.len + 1);
				sink += (size_t)c[text.len / 2];
				free(c);
			}
			best_copy = (bench_now_ns() - t0) / ITERS < best_copy
					    ? (bench_now_ns() - t0) / ITERS
					    : best_copy;
		}
		printf("/proc/%-13s %6zu B  %9.0f ns  copy %6.0f ns  x%.1f\n", files[f], text.len,
		       best, best_copy, best / best_copy);
		snprintf(fig, sizeof(fig), "render /proc/%s (%zu B)", files[f], text.len);
		bench_row("proc", fig, best, "ns", "a copy of the same bytes", best_copy, 0, NULL);
		mm_buf_free(&text);
	}
	mm_machine_destroy(m);
	return sink == 0;
}
