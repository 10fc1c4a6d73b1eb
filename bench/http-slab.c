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
 *    64 KiB (kmalloc_large: an order-4 compound page; what kvmalloc tries first);
 *  - REST kvmalloc+kvfree pairs of 64 KiB (POST /kvmalloc, DELETE /kvmalloc/{address}) on
 *    that machine (kmalloc serves them) and on a 128 MiB machine whose free memory is single
 *    pages only, made so by batches of commands (the vmalloc fallback serves them).
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
	printf("%-44s %9.0f %s/s  (%7.1f us each, %ld)\n", what, (double)n / t, unit,
	       t / (double)n * 1e6, n);
}

static double bench_health(struct httpc_conn *c)
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
	return (double)n / t;
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

/* Pairs of POST /@what and DELETE /@what/{address} on machine @mid: pairs per second. */
static double bench_alloc(struct httpc_conn *c, const char *mid, const char *what,
			  unsigned int size, const char *want)
{
	struct httpc_response r;
	char body[96], path[160], addr[32], label[64], kind[16];
	int len = snprintf(body, sizeof(body), "{\"size\":%u,\"gfp\":\"GFP_KERNEL\"}", size);
	double t0 = bench_now(), t;
	long n = 0;

	snprintf(path, sizeof(path), "/v1/machines/%s/%s", mid, what);
	do {
		for (int i = 0; i < 20; i++, n++) {
			char del[200];

			if (httpc_request(c, "POST", path, body, (size_t)len, &r) < 0 ||
			    r.status != 201)
				die("POST %s answered %d: %.300s", path, r.status, r.body);
			json_str(r.body, "address", addr, sizeof(addr));
			json_str(r.body, "kind", kind, sizeof(kind));
			if (want && strcmp(kind, want))
				die("POST %s: %s served it, not %s", path, kind, want);
			snprintf(del, sizeof(del), "%s/%s", path, addr);
			if (httpc_request(c, "DELETE", del, "", 0, &r) < 0 || r.status != 200)
				die("DELETE %s answered %d: %.300s", del, r.status, r.body);
		}
		t = bench_now() - t0;
	} while (t < seconds);
	snprintf(label, sizeof(label), "REST %s %u B%s%s",
		 strcmp(what, "kvmalloc") ? "kmalloc+kfree" : "kvmalloc+kvfree", size,
		 want ? ", " : "", want ? want : "");
	row(label, t, n, "pairs");
	return (double)n / t;
}

/* Machine "frag", 128 MiB: every page taken past the watermarks, the even ones given back,
 * whatever merged taken again; batches of commands, as a client would send them. */
static void fragment(struct httpc_conn *c)
{
	static const char create[] = "{\"name\":\"frag\",\"mem\":\"128M\"}";
	static const char take[] = "{\"op\":\"alloc_pages\",\"gfp\":"
				   "\"GFP_KERNEL|__GFP_MEMALLOC|__GFP_NOWARN\",\"order\":%u}";
	const char *cmds = "/v1/machines/frag/commands";
	size_t cap = 8000 * 96 + 16, len;
	char *buf = malloc(cap);
	long *pfns = malloc(40000 * sizeof(long));
	struct httpc_response r;
	int n = 0;

	if (!buf || !pfns)
		die("out of memory");
	if (httpc_request(c, "POST", "/v1/machines", create, sizeof(create) - 1, &r) < 0 ||
	    r.status != 201)
		die("creating the machine frag failed (%d)", r.status);
	for (int done = 0; !done;) {
		len = 0;
		buf[len++] = '[';
		for (int i = 0; i < 8000; i++) {
			if (i)
				buf[len++] = ',';
			len += (size_t)snprintf(buf + len, cap - len, take, 0u);
		}
		buf[len++] = ']';
		if (httpc_request(c, "POST", cmds, buf, len, &r) < 0)
			die("POST %s failed", cmds);
		done = r.status != 200;
		for (const char *p = strstr(r.body, "\"pfn\":"); p && n < 40000;
		     p = strstr(p + 6, "\"pfn\":"))
			pfns[n++] = strtol(p + 6, NULL, 10);
	}
	for (int i = 0; i < n;) {
		len = 0;
		buf[len++] = '[';
		for (int k = 0; i < n && k < 8000; i++) {
			if (pfns[i] & 1)
				continue;
			if (k++)
				buf[len++] = ',';
			len += (size_t)snprintf(buf + len, cap - len,
						"{\"op\":\"free_pages\",\"pfn\":%ld}", pfns[i]);
		}
		buf[len++] = ']';
		if (httpc_request(c, "POST", cmds, buf, len, &r) < 0 || r.status != 200)
			die("freeing the even pages answered %d: %.300s", r.status, r.body);
	}
	for (unsigned int o = 10; o >= 1; o--) {
		int status = 200;

		while (status == 200) {
			len = (size_t)snprintf(buf, cap, "[");
			len += (size_t)snprintf(buf + len, cap - len, take, o);
			buf[len++] = ']';
			if (httpc_request(c, "POST", cmds, buf, len, &r) < 0)
				die("POST %s failed", cmds);
			status = r.status;
		}
	}
	free(buf);
	free(pfns);
}

int main(int argc, char **argv)
{
	static const char *const extra[] = {"--log-level", "warn", "--threads", "2", NULL};
	static const char body[] = "{\"name\":\"slab\",\"mem\":\"1G\",\"cpus\":2}";
	struct httpc_conn c;
	struct httpc_response r;
	char cpu[256];
	double health, k64, k4k, k64k, kv, kvv;

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
	health = bench_health(&c);
	bench_pages(&c);
	k64 = bench_alloc(&c, "slab", "kmalloc", 64, NULL);
	k4k = bench_alloc(&c, "slab", "kmalloc", 4096, NULL);
	k64k = bench_alloc(&c, "slab", "kmalloc", 65536, NULL);
	kv = bench_alloc(&c, "slab", "kvmalloc", 65536, "kmalloc");
	fragment(&c);
	kvv = bench_alloc(&c, "frag", "kvmalloc", 65536, "vmalloc");
	bench_row("http-slab", "REST kmalloc+kfree 64 B (pairs/s)", k64, "pairs/s",
		  "GET /v1/health", health, 1, NULL);
	bench_row("http-slab", "REST kmalloc+kfree 4 KiB (pairs/s)", k4k, "pairs/s",
		  "GET /v1/health", health, 1, NULL);
	bench_row("http-slab", "REST kmalloc+kfree 64 KiB (pairs/s)", k64k, "pairs/s",
		  "GET /v1/health", health, 1, NULL);
	bench_row("http-slab", "REST kvmalloc+kvfree 64 KiB, kmalloc (pairs/s)", kv, "pairs/s",
		  "GET /v1/health", health, 1, NULL);
	bench_row("http-slab", "REST kvmalloc+kvfree 64 KiB, vmalloc fallback (pairs/s)", kvv,
		  "pairs/s", "GET /v1/health", health, 1, NULL);
	if (httpc_request(&c, "GET", "/v1/machines/slab/check", "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	if (httpc_request(&c, "GET", "/v1/machines/frag/check", "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	httpc_close(&c);
	return httpc_daemon_stop(&dmn) ? 1 : 0;
}
