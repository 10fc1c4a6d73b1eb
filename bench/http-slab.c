/* SPDX-License-Identifier: MIT */
/*
 * http-slab.c - the slab allocator over HTTP, measured against the real mm32d (issue 14).
 *
 * Starts MM32D (argv[1]) as bench/httpc.h does, creates a 1 GiB 686 machine with 2 CPUs and
 * measures on one keep-alive connection, in the same run:
 *  - GET /v1/health: the HTTP round trip alone, the bare reference;
 *  - REST alloc_pages+free_pages pairs (POST /pages, DELETE /pages/{pfn}): the page
 *    allocator's journaled pair, the reference of a changing command;
 *  - REST kmalloc+kfree pairs (POST /kmalloc, DELETE /kmalloc/{address}) of 64 B, 4 KiB and
 *    64 KiB (kmalloc_large: an order-4 compound page; what kvmalloc would try first).
 * Every command is journaled (SQLite, synchronous=FULL) before its answer. Then GET /check
 * must be ok. Prints the figures; exits non-zero on any failure.
 *
 * Usage: http-slab MM32D [--seconds S]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "httpc.h"

static double seconds = 2.0;
static struct httpc_daemon dmn;

#define die(...) httpc_die(&dmn, __VA_ARGS__)

/* The value of "@key":"..." in @s, into @out. */
static void json_str(const char *s, const char *key, char *out, size_t size)
{
	char pat[64];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	out[0] = '\0';
	p = strstr(s, pat);
	if (!p)
		return;
	p += strlen(pat);
	while (p[n] && p[n] != '"' && n + 1 < size) {
		out[n] = p[n];
		n++;
	}
	out[n] = '\0';
}

/* @what done over and over for @seconds: returns pairs per second; prints the row. */
static void row(const char *what, double t, long n, const char *unit)
{
	printf("%-34s %9.0f %s/s  (%7.1f us each, %ld)\n", what, (double)n / t, unit,
	       t / (double)n * 1e6, n);
}

static void bench_health(struct httpc_conn *c)
{
	struct httpc_response r;
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 100; i++, n++)
			if (httpc_request(c, "GET", "/v1/health", "", 0, &r) < 0 || r.status != 200)
				die("GET /v1/health answered %d", r.status);
		t = bench_now() - t0;
	} while (t < seconds);
	row("GET /v1/health (bare round trip)", t, n, "req");
}

static void bench_pages(struct httpc_conn *c)
{
	static const char body[] = "{\"gfp\":\"GFP_KERNEL\"}";
	struct httpc_response r;
	char path[128];
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 20; i++, n++) {
			const char *p;

			if (httpc_request(c, "POST", "/v1/machines/slab/pages", body,
					  sizeof(body) - 1, &r) < 0 ||
			    r.status != 201)
				die("POST /pages answered %d: %.300s", r.status, r.body);
			p = strstr(r.body, "\"pfn\":");
			snprintf(path, sizeof(path), "/v1/machines/slab/pages/%ld",
				 p ? strtol(p + 6, NULL, 10) : -1L);
			if (httpc_request(c, "DELETE", path, "", 0, &r) < 0 || r.status != 200)
				die("DELETE %s answered %d: %.300s", path, r.status, r.body);
		}
		t = bench_now() - t0;
	} while (t < seconds);
	row("REST alloc_pages+free_pages", t, n, "pairs");
}

static void bench_kmalloc(struct httpc_conn *c, unsigned int size)
{
	struct httpc_response r;
	char body[96], path[160], addr[32], what[64];
	int len = snprintf(body, sizeof(body), "{\"size\":%u,\"gfp\":\"GFP_KERNEL\"}", size);
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 20; i++, n++) {
			if (httpc_request(c, "POST", "/v1/machines/slab/kmalloc", body, (size_t)len,
					  &r) < 0 ||
			    r.status != 201)
				die("POST /kmalloc answered %d: %.300s", r.status, r.body);
			json_str(r.body, "address", addr, sizeof(addr));
			snprintf(path, sizeof(path), "/v1/machines/slab/kmalloc/%s", addr);
			if (httpc_request(c, "DELETE", path, "", 0, &r) < 0 || r.status != 200)
				die("DELETE %s answered %d: %.300s", path, r.status, r.body);
		}
		t = bench_now() - t0;
	} while (t < seconds);
	snprintf(what, sizeof(what), "REST kmalloc+kfree %u B", size);
	row(what, t, n, "pairs");
}

int main(int argc, char **argv)
{
	static const char *const extra[] = {"--log-level", "warn", "--threads", "2", NULL};
	static const char body[] = "{\"name\":\"slab\",\"mem\":\"1G\",\"cpus\":2}";
	struct httpc_conn c;
	struct httpc_response r;
	char cpu[256];

	if (argc < 2) {
		fprintf(stderr, "usage: %s MM32D [--seconds S]\n", argv[0]);
		return 2;
	}
	if (argc == 4 && !strcmp(argv[2], "--seconds"))
		seconds = atof(argv[3]);
	if (seconds <= 0)
		die("bad option value");
	signal(SIGPIPE, SIG_IGN);
	httpc_daemon_start(&dmn, "http-slab", argv[1], extra);
	bench_host_cpu(cpu, sizeof(cpu));
	printf("mm32d %s, a 1 GiB 686 machine with 2 CPUs, journal synchronous=FULL, %.1f s per "
	       "figure; host: %s\n",
	       argv[1], seconds, cpu);
	if (httpc_open(&c, dmn.port) < 0)
		die("connect: %s", strerror(errno));
	if (httpc_request(&c, "POST", "/v1/machines", body, sizeof(body) - 1, &r) < 0 ||
	    r.status != 201)
		die("creating the machine failed (%d)", r.status);
	bench_health(&c);
	bench_pages(&c);
	bench_kmalloc(&c, 64);
	bench_kmalloc(&c, 4096);
	bench_kmalloc(&c, 65536);
	if (httpc_request(&c, "GET", "/v1/machines/slab/check", "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	httpc_close(&c);
	return httpc_daemon_stop(&dmn) ? 1 : 0;
}
