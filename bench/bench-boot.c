/*
 * bench-boot.c - how long creating (booting) and destroying a machine takes, and how much
 * host memory a booted machine holds. Measured, never asserted: `make bench` prints it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "mmcore.h"

/* resident set of this process in KiB (/proc/self/statm is the host's, not the guest's) */
static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * 4;
}

int main(void)
{
	static const struct {
		const char *mem;
		bool pae;
	} cases[] = {{"1G", false}, {"4G", false}, {"8G", true}, {"64G", true}};
	size_t i;

	printf("%-10s %12s %12s %14s\n", "machine", "create ms", "destroy ms", "host RSS MiB");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mm_config cfg;
		struct mm_machine *m;
		struct mm_error err;
		double t0, t1, t2, best_c = 1e9, best_d = 1e9;
		long rss = 0, base;
		int rep;

		for (rep = 0; rep < 3; rep++) {
			mm_config_init(&cfg, cases[i].pae);
			mm_parse_size(cases[i].mem, &cfg.mem);
			base = rss_kib();
			t0 = bench_now();
			if (mm_machine_create(&cfg, &m, &err)) {
				fprintf(stderr, "%s: %s\n", cases[i].mem, err.msg);
				return 1;
			}
			t1 = bench_now();
			rss = rss_kib() - base;
			mm_machine_destroy(m);
			t2 = bench_now();
			if (t1 - t0 < best_c)
				best_c = t1 - t0;
			if (t2 - t1 < best_d)
				best_d = t2 - t1;
		}
		printf("%-4s %-5s %12.2f %12.2f %14.1f\n", cases[i].mem,
		       cases[i].pae ? "pae" : "686", best_c * 1e3, best_d * 1e3,
		       (double)rss / 1024);
	}
	return 0;
}
