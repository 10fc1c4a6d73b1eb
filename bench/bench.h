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

/*
 * One figure of the benchmark report, printed as one line that `make bench` collects:
 * "BENCH-ROW " and a JSON object. value and reference_value are in the same unit and were
 * measured in the same run; ratio = value / reference_value, so for a throughput
 * (higher_is_better) a ratio >= 1 means mm32 is at least as fast as the reference, for a
 * time (ns/op, ms) a ratio of 4.4 means 4.4 times the reference's time. goal is free text
 * such as "<= 2x" or ">= 1.0x", or NULL. Names must not contain '"' or '\\'.
 */
static inline void bench_row(const char *bench, const char *figure, double value, const char *unit,
			     const char *reference, double reference_value, int higher_is_better,
			     const char *goal)
{
	double ratio = reference_value > 0 ? value / reference_value : 0;

	printf("BENCH-ROW {\"bench\": \"%s\", \"figure\": \"%s\", \"value\": %.6g, "
	       "\"unit\": \"%s\", \"reference\": \"%s\", \"reference_value\": %.6g, "
	       "\"ratio\": %.4g, \"higher_is_better\": %s, \"goal\": %s%s%s}\n",
	       bench, figure, value, unit, reference, reference_value, ratio,
	       higher_is_better ? "true" : "false", goal ? "\"" : "", goal ? goal : "null",
	       goal ? "\"" : "");
	fflush(stdout);
}

#endif /* MM32_BENCH_H */
