/* SPDX-License-Identifier: MIT */
/*
 * http-vmalloc.c - vmalloc+vfree over HTTP against the real mm32d, beside references measured
 * in the same run (issue 13).
 *
 * For --sync full (an fsync per journaled command) and --sync normal (the process without
 * the disk), starts MM32D (argv[1]) on a free loopback port (httpc.h), creates a 1 GiB 686
 * machine and a 1 GiB 686-pae machine and measures on one keep-alive connection, as pairs per
 * second:
 *  - POST /v1/machines/{id}/vmalloc {"size": N pages} then DELETE .../vmalloc/{address}, for
 *    1, 16 and 256 pages;
 *  - POST .../pages {"gfp": "GFP_KERNEL"} then DELETE .../pages/{pfn}: the cheapest pair of
 *    journaled commands (HTTP, executor and journal);
 *  - GET /v1/health twice: HTTP alone.
 * Then GET .../check must be ok. Prints the figures (measured, never asserted).
 *
 * Usage: http-vmalloc MM32D [--seconds S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "httpc.h"

static double seconds = 2.0;
static struct httpc_daemon daemon_;
static struct httpc_conn conn;

static const char *call(const char *method, const char *path, const char *body, int want)
{
	struct httpc_response r;

	if (httpc_request(&conn, method, path, body, body ? strlen(body) : 0, &r))
		httpc_die(&daemon_, "%s %s: the connection failed", method, path);
	if (r.status != want)
		httpc_die(&daemon_, "%s %s: %d %.200s", method, path, r.status, r.body);
	return r.body;
}

/* The string value of "@key":"..." in @json, into @out. */
static void json_str(const char *json, const char *key, char *out, size_t size)
{
	char k[64];
	const char *p, *e;

	snprintf(k, sizeof(k), "\"%s\":\"", key);
	p = strstr(json, k);
	if (!p || !(e = strchr(p + strlen(k), '"')) || (size_t)(e - p - strlen(k)) >= size)
		httpc_die(&daemon_, "no \"%s\" in %.200s", key, json);
	p += strlen(k);
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
}

static long json_int(const char *json, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(json, k);
	if (!p)
		httpc_die(&daemon_, "no \"%s\" in %.200s", key, json);
	return strtol(p + strlen(k), NULL, 10);
}

enum pair { VMALLOC, PAGES, HEALTH };

static void one(const char *base, enum pair kind, unsigned int pages)
{
	char path[160], body[96], addr[32];
	const char *r;

	switch (kind) {
	case VMALLOC:
		snprintf(path, sizeof(path), "%s/vmalloc", base);
		snprintf(body, sizeof(body), "{\"size\":%u}", pages * 4096);
		r = call("POST", path, body, 201);
		json_str(r, "address", addr, sizeof(addr));
		snprintf(path, sizeof(path), "%s/vmalloc/%s", base, addr);
		call("DELETE", path, NULL, 200);
		break;
	case PAGES:
		snprintf(path, sizeof(path), "%s/pages", base);
		r = call("POST", path, "{\"gfp\":\"GFP_KERNEL\"}", 201);
		snprintf(path, sizeof(path), "%s/pages/%ld", base, json_int(r, "pfn"));
		call("DELETE", path, NULL, 200);
		break;
	case HEALTH:
		call("GET", "/v1/health", NULL, 200);
		call("GET", "/v1/health", NULL, 200);
		break;
	}
}

static double rate(const char *base, enum pair kind, unsigned int pages)
{
	double t0 = bench_now(), t;
	long n = 0;

	do {
		one(base, kind, pages);
		n++;
		t = bench_now() - t0;
	} while (t < seconds);
	return (double)n / t;
}

static void run(const char *exe, const char *sync)
{
	static const char *const names[2] = {"h", "hp"};
	const char *extra[] = {"--sync", sync, NULL};
	int pae;

	httpc_daemon_start(&daemon_, "http-vmalloc", exe, extra);
	if (httpc_open(&conn, daemon_.port))
		httpc_die(&daemon_, "cannot connect");
	printf("--sync %s\n%-8s %-26s %10s %10s\n", sync, "flavour", "pair", "pairs/s", "us/pair");
	for (pae = 0; pae < 2; pae++) {
		char body[96], base[64], label[40];
		static const unsigned int sizes[] = {1, 16, 256};
		double r;
		unsigned int i;

		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"mem\":\"1G\",\"pae\":%s}",
			 names[pae], pae ? "true" : "false");
		call("POST", "/v1/machines", body, 201);
		snprintf(base, sizeof(base), "/v1/machines/%s", names[pae]);
		double rv[3];

		for (i = 0; i < 3; i++) {
			r = rv[i] = rate(base, VMALLOC, sizes[i]);
			snprintf(label, sizeof(label), "vmalloc+vfree %u", sizes[i]);
			printf("%-8s %-26s %10.0f %10.1f\n", pae ? "686-pae" : "686", label, r,
			       1e6 / r);
		}
		r = rate(base, PAGES, 1);
		printf("%-8s %-26s %10.0f %10.1f\n", pae ? "686-pae" : "686",
		       "alloc_pages+free_pages", r, 1e6 / r);
		for (i = 0; i < 3; i++) {
			char fig[64];

			snprintf(fig, sizeof(fig), "%s REST vmalloc+vfree of %u pages, --sync %s",
				 pae ? "686-pae" : "686", sizes[i], sync);
			bench_row("http-vmalloc", fig, rv[i], "pairs/s",
				  "REST alloc_pages+free_pages", r, 1, NULL);
		}
		r = rate(base, HEALTH, 0);
		printf("%-8s %-26s %10.0f %10.1f\n", pae ? "686-pae" : "686", "GET /v1/health x2",
		       r, 1e6 / r);
		snprintf(body, sizeof(body), "%s/check", base);
		if (!strstr(call("GET", body, NULL, 200), "\"ok\":true"))
			httpc_die(&daemon_, "the checker failed");
	}
	httpc_close(&conn);
	if (httpc_daemon_stop(&daemon_))
		exit(1);
}

int main(int argc, char **argv)
{
	char cpu[128];

	if (argc < 2) {
		fprintf(stderr, "usage: http-vmalloc MM32D [--seconds S]\n");
		return 2;
	}
	if (argc >= 4 && !strcmp(argv[2], "--seconds"))
		seconds = atof(argv[3]);
	bench_host_cpu(cpu, sizeof(cpu));
	printf("vmalloc+vfree over HTTP, pairs per second (%.0f s each), host %s\n", seconds, cpu);
	setvbuf(stdout, NULL, _IOLBF, 0);
	run(argv[1], "full");
	run(argv[1], "normal");
	return 0;
}
