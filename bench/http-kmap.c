/* SPDX-License-Identifier: MIT */
/*
 * http-kmap.c - the highmem routes over HTTP, measured against the real mm32d (issue 12).
 *
 * Starts MM32D (argv[1]) on a free loopback port (httpc.h), creates a 1 GiB 686 and a
 * 1 GiB 686-pae machine, and measures on one keep-alive connection, for S seconds each, in
 * request pairs per second, each beside references measured in the same run:
 *  (a) POST /kmap {"pfn"} + DELETE /kmap/{pfn} of a highmem page;
 *  (b) POST /cpus/0/kmap-local {"pfn"} + DELETE /cpus/0/kmap-local/{address};
 *  (c) references: POST /pages + DELETE /pages/{pfn} (the same path through the executor and
 *      the journal), and two GET /v1/health (HTTP alone: no machine, no journal).
 * Every command is journaled (SQLite, synchronous=FULL) before its answer, as always.
 * Then (d): with every pkmap slot of the PAE machine in use, W clients send a kmap that
 * waits (their connections suspended in mm32d), and GET /v1/machines/{id}/zones is measured
 * beside the same GETs with no waiter; then the waiters are released by kunmaps and must all
 * answer 200. Exits non-zero on any failure.
 *
 * Usage: http-kmap MM32D [--seconds S] [--waiters W] [--sync full|normal]
 * (--sync: mm32d's, default full: every journal entry on the disk before the answer).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "httpc.h"

static double seconds = 2.0;
static struct httpc_daemon daemon_;
static const char *sync_mode = "full"; /* mm32d --sync */
static int waiters = 48;	       /* mm32d allows 64 connections per client by default */

static void create(struct httpc_conn *c, const char *name, bool pae)
{
	char body[160];
	struct httpc_response r;
	int n = snprintf(body, sizeof(body),
			 "{\"name\":\"%s\",\"mem\":\"1G\",\"cpus\":2,\"pae\":%s}", name,
			 pae ? "true" : "false");

	if (httpc_request(c, "POST", "/v1/machines", body, (size_t)n, &r) < 0 || r.status != 201)
		httpc_die(&daemon_, "creating machine %s failed (%d)", name, r.status);
}

static long json_long(const char *s, const char *key)
{
	const char *p = strstr(s, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* alloc_pages @n times with @gfp; the pfns into @out. */
static void alloc_pages(struct httpc_conn *c, const char *m, const char *gfp, int n, long *out)
{
	size_t cap = (size_t)n * 48 + 16, len = 0;
	char *body = malloc(cap), path[96];
	struct httpc_response r;
	const char *p;

	if (!body)
		httpc_die(&daemon_, "out of memory");
	body[len++] = '[';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"%s{\"op\":\"alloc_pages\",\"gfp\":\"%s\"}", i ? "," : "",
					gfp);
	body[len++] = ']';
	snprintf(path, sizeof(path), "/v1/machines/%s/commands", m);
	if (httpc_request(c, "POST", path, body, len, &r) < 0 || r.status != 200)
		httpc_die(&daemon_, "alloc_pages batch on %s failed (%d)", m, r.status);
	p = r.body;
	for (int i = 0; i < n; i++) {
		p = strstr(p, "\"pfn\":");
		if (!p)
			httpc_die(&daemon_, "alloc_pages batch: %d results, not %d", i, n);
		out[i] = strtol(p + 6, NULL, 10);
		p += 6;
	}
	free(body);
}

/* Pairs of requests per second for @seconds; @pair returns 0 or dies. */
static double rate(void (*pair)(struct httpc_conn *, const char *, long), struct httpc_conn *c,
		   const char *m, long pfn)
{
	double t0 = bench_now(), t;
	long n = 0;

	do {
		for (int i = 0; i < 50; i++)
			pair(c, m, pfn);
		n += 50;
		t = bench_now();
	} while (t - t0 < seconds);
	return (double)n / (t - t0);
}

static void pair_kmap(struct httpc_conn *c, const char *m, long pfn)
{
	char path[96], body[48];
	struct httpc_response r;
	int n = snprintf(body, sizeof(body), "{\"pfn\":%ld}", pfn);

	snprintf(path, sizeof(path), "/v1/machines/%s/kmap", m);
	if (httpc_request(c, "POST", path, body, (size_t)n, &r) < 0 || r.status != 200)
		httpc_die(&daemon_, "kmap failed (%d)", r.status);
	snprintf(path, sizeof(path), "/v1/machines/%s/kmap/%ld", m, pfn);
	if (httpc_request(c, "DELETE", path, "", 0, &r) < 0 || r.status != 200)
		httpc_die(&daemon_, "kunmap failed (%d)", r.status);
}

static void pair_kmap_local(struct httpc_conn *c, const char *m, long pfn)
{
	char path[128], body[48], addr[24];
	struct httpc_response r;
	const char *a;
	int n = snprintf(body, sizeof(body), "{\"pfn\":%ld}", pfn);

	snprintf(path, sizeof(path), "/v1/machines/%s/cpus/0/kmap-local", m);
	if (httpc_request(c, "POST", path, body, (size_t)n, &r) < 0 || r.status != 200)
		httpc_die(&daemon_, "kmap_local failed (%d)", r.status);
	a = strstr(r.body, "\"address\":\"");
	if (!a)
		httpc_die(&daemon_, "kmap_local: no address");
	snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(a + 11, "\""), a + 11);
	snprintf(path, sizeof(path), "/v1/machines/%s/cpus/0/kmap-local/%s", m, addr);
	if (httpc_request(c, "DELETE", path, "", 0, &r) < 0 || r.status != 200)
		httpc_die(&daemon_, "kunmap_local failed (%d)", r.status);
}

static void pair_alloc(struct httpc_conn *c, const char *m, long unused)
{
	static const char body[] = "{\"gfp\":\"GFP_HIGHUSER\"}";
	char path[96];
	struct httpc_response r;
	long pfn;

	(void)unused;
	snprintf(path, sizeof(path), "/v1/machines/%s/pages", m);
	if (httpc_request(c, "POST", path, body, sizeof(body) - 1, &r) < 0 || r.status != 201)
		httpc_die(&daemon_, "alloc failed (%d)", r.status);
	pfn = json_long(r.body, "\"pfn\":");
	snprintf(path, sizeof(path), "/v1/machines/%s/pages/%ld", m, pfn);
	if (httpc_request(c, "DELETE", path, "", 0, &r) < 0 || r.status != 200)
		httpc_die(&daemon_, "free failed (%d)", r.status);
}

static void pair_health(struct httpc_conn *c, const char *m, long unused)
{
	struct httpc_response r;

	(void)m;
	(void)unused;
	for (int i = 0; i < 2; i++)
		if (httpc_request(c, "GET", "/v1/health", "", 0, &r) < 0 || r.status != 200)
			httpc_die(&daemon_, "health failed (%d)", r.status);
}

static void pair_zones(struct httpc_conn *c, const char *m, long unused)
{
	char path[96];
	struct httpc_response r;

	(void)unused;
	snprintf(path, sizeof(path), "/v1/machines/%s/zones", m);
	for (int i = 0; i < 2; i++)
		if (httpc_request(c, "GET", path, "", 0, &r) < 0 || r.status != 200)
			httpc_die(&daemon_, "zones failed (%d): %s", r.status, strerror(errno));
}

/* Send a request and do not read its answer (yet). */
static void send_only(struct httpc_conn *c, const char *method, const char *path, const char *body)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, path, strlen(body), body);

	if (write(c->fd, buf, (size_t)n) != n)
		httpc_die(&daemon_, "send: %s", strerror(errno));
}

/* The status of the answer to a request sent with send_only(). */
static int read_status(struct httpc_conn *c)
{
	char buf[4096];
	ssize_t n = read(c->fd, buf, sizeof(buf) - 1);
	int status = -1;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	return status;
}

/*
 * (d) GET /zones with W kmaps waiting beside the same GETs with none, alternated ROUNDS
 * times (the host is shared: alternating keeps a change of its load from reading as an
 * effect); each round's waiters are served by W kunmaps and must answer 200.
 */
#define ROUNDS 3
static void bench_waiting(struct httpc_conn *c)
{
	const char *m = "kpae";
	int last = 512, nw = waiters;
	long *pfns = malloc(sizeof(long) * (size_t)(last + ROUNDS * nw));
	struct httpc_conn *w = calloc((size_t)nw, sizeof(*w));
	char path[96], body[64];
	double idle = 0, busy = 0;

	if (!pfns || !w)
		httpc_die(&daemon_, "out of memory");
	alloc_pages(c, m, "GFP_HIGHUSER", last + ROUNDS * nw, pfns);
	for (int i = 0; i < last; i++) {
		struct httpc_response r;
		int n = snprintf(body, sizeof(body), "{\"op\":\"kmap\",\"pfn\":%ld}", pfns[i]);

		snprintf(path, sizeof(path), "/v1/machines/%s/commands", m);
		if (httpc_request(c, "POST", path, body, (size_t)n, &r) < 0 || r.status != 200)
			httpc_die(&daemon_, "filling the pkmap table failed (%d)", r.status);
	}
	for (int round = 0; round < ROUNDS; round++) {
		/* the slots of this round's kunmaps: pages mapped by the fill or a round before */
		const long *unmap = round ? pfns + last + (round - 1) * nw : pfns;
		const long *want = pfns + last + round * nw;

		idle += rate(pair_zones, c, m, 0);
		snprintf(path, sizeof(path), "/v1/machines/%s/kmap?timeout=120", m);
		for (int i = 0; i < nw; i++) {
			if (httpc_open(&w[i], daemon_.port) < 0)
				httpc_die(&daemon_, "connecting waiter %d failed", i);
			snprintf(body, sizeof(body), "{\"pfn\":%ld}", want[i]);
			send_only(&w[i], "POST", path, body);
		}
		usleep(300000);
		busy += rate(pair_zones, c, m, 0);
		for (int i = 0; i < nw; i++) {
			struct httpc_response r;

			snprintf(path, sizeof(path), "/v1/machines/%s/kmap/%ld", m, unmap[i]);
			if (httpc_request(c, "DELETE", path, "", 0, &r) < 0 || r.status != 200)
				httpc_die(&daemon_, "kunmap of round %d, %d failed (%d): %s", round,
					  i, r.status, strerror(errno));
		}
		for (int i = 0; i < nw; i++) {
			int st = read_status(&w[i]);

			if (st != 200)
				httpc_die(&daemon_, "waiter %d of round %d answered %d, not 200", i,
					  round, st);
			httpc_close(&w[i]);
		}
	}
	printf("while %d kmaps wait: GET /zones %8.0f requests/s, with none waiting %8.0f (x%.2f); "
	       "every waiter served after a kunmap\n",
	       nw, 2 * busy / ROUNDS, 2 * idle / ROUNDS, busy / idle);
	bench_row("http-kmap", "GET /zones while kmaps wait", 2 * busy / ROUNDS, "req/s",
		  "GET /zones with none waiting", 2 * idle / ROUNDS, 1, NULL);
	free(pfns);
	free(w);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		bool pae;
	} machines[] = {{"k686", false}, {"kpae", true}};
	struct httpc_conn c;
	char cpu[128];

	if (argc < 2) {
		fprintf(stderr,
			"usage: %s MM32D [--seconds S] [--waiters W] [--sync full|normal]\n",
			argv[0]);
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--waiters"))
			waiters = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--sync"))
			sync_mode = argv[i + 1];
	}
	signal(SIGPIPE, SIG_IGN);
	{
		const char *extra[] = {"--sync", sync_mode, NULL};

		httpc_daemon_start(&daemon_, "http-kmap", argv[1], extra);
	}
	if (httpc_open(&c, daemon_.port) < 0)
		httpc_die(&daemon_, "cannot connect");
	bench_host_cpu(cpu, sizeof(cpu));
	printf("http-kmap: %s; request pairs per second over one keep-alive connection, %.1f s "
	       "each, mm32d --sync %s\n",
	       cpu, seconds, sync_mode);
	for (unsigned int i = 0; i < 2; i++) {
		long pfn;

		create(&c, machines[i].name, machines[i].pae);
		alloc_pages(&c, machines[i].name, "GFP_HIGHUSER", 1, &pfn);
		const char *flavour = machines[i].pae ? "686-pae" : "686";
		double kmap = rate(pair_kmap, &c, machines[i].name, pfn);
		double local = rate(pair_kmap_local, &c, machines[i].name, pfn);
		double alloc = rate(pair_alloc, &c, machines[i].name, 0);
		char fig[64];

		printf("%-8s kmap+kunmap             %7.0f pairs/s\n", flavour, kmap);
		printf("%-8s kmap_local+kunmap_local %7.0f pairs/s\n", flavour, local);
		printf("%-8s alloc+free (reference)  %7.0f pairs/s\n", flavour, alloc);
		snprintf(fig, sizeof(fig), "%s REST kmap+kunmap", flavour);
		bench_row("http-kmap", fig, kmap, "pairs/s", "REST alloc+free", alloc, 1, NULL);
		snprintf(fig, sizeof(fig), "%s REST kmap_local+kunmap_local", flavour);
		bench_row("http-kmap", fig, local, "pairs/s", "REST alloc+free", alloc, 1, NULL);
	}
	printf("GET /v1/health x2 (HTTP alone)  %7.0f pairs/s\n", rate(pair_health, &c, NULL, 0));
	bench_waiting(&c);
	httpc_close(&c);
	return httpc_daemon_stop(&daemon_) ? 1 : 0;
}
