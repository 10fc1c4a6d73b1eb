/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what every benchmark in bench/ needs: a monotonic clock and the host's CPU
 * model for the figures' heading. Header-only: each benchmark is one executable.
 */
#ifndef MM32_BENCH_H
#define MM32_BENCH_H

#include <stdio.h>
#include <string.h>
#include <time.h>

/* CLOCK_MONOTONIC in seconds. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The "model name" of /proc/cpuinfo, or "unknown CPU". */
static inline void bench_host_cpu(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, size, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			snprintf(buf, size, "%s", c + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

#endif /* MM32_BENCH_H */
