/* SPDX-License-Identifier: MIT */
/*
 * load.c - a busy class against the real mm32d: many keep-alive connections for a while, a
 * mixed workload over several machines, and what came back.
 *
 * Starts MM32D (argv[1]) on a free loopback port (httpc.h), creates --machines machines
 * (256 MiB; every other one PAE, 2 CPUs), then runs --connections threads for --seconds,
 * each on its own keep-alive connection, picking for each step (weights in parentheses):
 *   reads (40): /proc/zoneinfo, /proc/buddyinfo, /proc/meminfo, the machine, its zones;
 *   a REST alloc+free pair (25): POST /pages (order 0..3), DELETE /pages/{pfn};
 *   a batch (15): 100 alloc_pages, then the 100 free_pages of what they returned;
 *   listings (10): /v1/machines, /metrics, /check;
 *   a snapshot (5): POST /snapshots, then DELETE it;
 *   a machine's life (5): POST /v1/machines (64 MiB), DELETE it.
 * Machines are shared: thread i works on machine i mod --machines, so requests on one
 * machine contend for its lock, as a class does. Every command is journaled as always.
 *
 * Prints requests per second, latency percentiles (p50, p90, p99, p99.9, max) for all
 * requests and per kind, and the answers by status class. Afterwards every machine's
 * /check must answer 200. Exits 1 on any 5xx, any connection that failed, or a failed
 * check: the acceptance of the hardening issue is "0 5xx". Never a timed assertion: the
 * figures are printed, not compared.
 *
 * Usage: load MM32D [--seconds S] [--connections C] [--machines M] [-- MM32D-OPTIONS...]
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "httpc.h"

enum kind { K_READ, K_PAIR, K_BATCH, K_LIST, K_SNAPSHOT, K_MACHINE, K_NR };
static const char *const kind_name[K_NR] = {"reads",	"alloc+free", "batches",
					    "listings", "snapshots",  "machines"};
static const int kind_weight[K_NR] = {40, 25, 15, 10, 5, 5};

static double seconds = 60;
static int connections = 64, machines = 8;
static struct httpc_daemon dmn;

#define die(...) httpc_die(&dmn, __VA_ARGS__)

struct lat {
	double *v; /* seconds */
	size_t n, cap;
};

struct worker {
	int id;
	pthread_t th;
	uint64_t rng;
	struct lat all, by_kind[K_NR];
	long status_class[6]; /* [2] 2xx, [4] 4xx, [5] 5xx */
	long conn_errors;
	char first_5xx[256];
};

static void lat_add(struct lat *l, double v)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		double *p = realloc(l->v, cap * sizeof(*p));

		if (!p)
			die("out of memory");
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = v;
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* One request, timed and counted; the connection is reopened after a failure. */
static int call(struct worker *w, struct httpc_conn *c, enum kind k, const char *method,
		const char *path, const char *body, struct httpc_response *r)
{
	double t0 = bench_now(), t;
	int rc;

	if (c->fd < 0 && httpc_open(c, dmn.port) < 0) {
		w->conn_errors++;
		return -1;
	}
	rc = httpc_request(c, method, path, body, body ? strlen(body) : 0, r);
	t = bench_now() - t0;
	if (rc < 0) {
		w->conn_errors++;
		httpc_close(c);
		return -1;
	}
	lat_add(&w->all, t);
	lat_add(&w->by_kind[k], t);
	if (r->status >= 100 && r->status < 600)
		w->status_class[r->status / 100]++;
	if (r->status >= 500 && !w->first_5xx[0])
		snprintf(w->first_5xx, sizeof(w->first_5xx), "%s %s: %d %.160s", method, path,
			 r->status, r->body);
	return 0;
}

static long json_long(const char *body, const char *key)
{
	const char *p = strstr(body, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static void step(struct worker *w, struct httpc_conn *c, char *buf, size_t cap)
{
	static const char *const reads[] = {"proc/zoneinfo", "proc/buddyinfo", "proc/meminfo", "",
					    "zones"};
	static const char *const lists[] = {"/v1/machines", "/metrics", NULL};
	char path[160], m[32];
	struct httpc_response r;
	int pick = (int)(next_rand(&w->rng) % 100), k = 0;

	while (pick >= kind_weight[k])
		pick -= kind_weight[k++];
	snprintf(m, sizeof(m), "load%d", w->id % machines);
	switch ((enum kind)k) {
	case K_READ: {
		const char *v = reads[next_rand(&w->rng) % 5];

		snprintf(path, sizeof(path), "/v1/machines/%s%s%s", m, *v ? "/" : "", v);
		call(w, c, K_READ, "GET", path, NULL, &r);
		break;
	}
	case K_PAIR: {
		long pfn, order = (long)(next_rand(&w->rng) % 4);

		snprintf(path, sizeof(path), "/v1/machines/%s/pages", m);
		snprintf(buf, cap, "{\"gfp\":\"GFP_KERNEL\",\"order\":%ld}", order);
		if (call(w, c, K_PAIR, "POST", path, buf, &r) < 0 || r.status != 201)
			break;
		pfn = json_long(r.body, "\"pfn\":");
		snprintf(path, sizeof(path), "/v1/machines/%s/pages/%ld?order=%ld", m, pfn, order);
		call(w, c, K_PAIR, "DELETE", path, NULL, &r);
		break;
	}
	case K_BATCH: {
		size_t off = 0;
		long pfns[100];
		const char *p;
		int n = 0;

		snprintf(path, sizeof(path), "/v1/machines/%s/commands", m);
		off += (size_t)snprintf(buf + off, cap - off, "[");
		for (int i = 0; i < 100; i++)
			off += (size_t)snprintf(buf + off, cap - off,
						"%s{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}",
						i ? "," : "");
		snprintf(buf + off, cap - off, "]");
		if (call(w, c, K_BATCH, "POST", path, buf, &r) < 0 || r.status != 200)
			break;
		for (p = r.body; n < 100 && (p = strstr(p, "\"pfn\":")); p += 6)
			pfns[n++] = strtol(p + 6, NULL, 10);
		off = (size_t)snprintf(buf, cap, "[");
		for (int i = 0; i < n; i++)
			off += (size_t)snprintf(buf + off, cap - off,
						"%s{\"op\":\"free_pages\",\"pfn\":%ld}",
						i ? "," : "", pfns[i]);
		snprintf(buf + off, cap - off, "]");
		if (n)
			call(w, c, K_BATCH, "POST", path, buf, &r);
		break;
	}
	case K_LIST: {
		const char *l = lists[next_rand(&w->rng) % 3];

		if (!l)
			snprintf(path, sizeof(path), "/v1/machines/%s/check", m);
		call(w, c, K_LIST, "GET", l ? l : path, NULL, &r);
		break;
	}
	case K_SNAPSHOT: {
		long sid;

		snprintf(path, sizeof(path), "/v1/machines/%s/snapshots", m);
		if (call(w, c, K_SNAPSHOT, "POST", path, "{\"async\":false}", &r) < 0 ||
		    r.status != 201)
			break;
		sid = json_long(r.body, "\"id\":");
		snprintf(path, sizeof(path), "/v1/machines/%s/snapshots/%ld", m, sid);
		call(w, c, K_SNAPSHOT, "DELETE", path, NULL, &r);
		break;
	}
	case K_MACHINE:
		snprintf(buf, cap, "{\"name\":\"tmp%d\",\"mem\":\"64M\"}", w->id);
		if (call(w, c, K_MACHINE, "POST", "/v1/machines", buf, &r) < 0 || r.status != 201)
			break;
		snprintf(path, sizeof(path), "/v1/machines/tmp%d", w->id);
		call(w, c, K_MACHINE, "DELETE", path, NULL, &r);
		break;
	default:
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	size_t cap = 16384;
	char *buf = malloc(cap);
	struct httpc_conn c = {.fd = -1};
	double end = bench_now() + seconds;

	if (!buf)
		die("out of memory");
	while (bench_now() < end)
		step(w, &c, buf, cap);
	httpc_close(&c);
	free(buf);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double pct(const struct lat *l, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);

	return l->n ? l->v[i] * 1e3 : 0;
}

static void print_lat(const char *name, struct lat *l, double secs)
{
	if (!l->n) {
		printf("  %-12s %9s\n", name, "none");
		return;
	}
	qsort(l->v, l->n, sizeof(*l->v), cmp_double);
	printf("  %-12s %9zu %9.0f/s  p50 %7.2f  p90 %7.2f  p99 %7.2f  p99.9 %7.2f  max %8.2f ms\n",
	       name, l->n, (double)l->n / secs, pct(l, 50), pct(l, 90), pct(l, 99), pct(l, 99.9),
	       l->v[l->n - 1] * 1e3);
}

static void merge(struct lat *to, const struct lat *from)
{
	for (size_t i = 0; i < from->n; i++)
		lat_add(to, from->v[i]);
}

int main(int argc, char **argv)
{
	const char *extra[32] = {"--log-level", "warn", "--max-body", "4M"};
	int nextra = 4, bad = 0;
	struct worker *w;
	struct lat all = {0}, by_kind[K_NR] = {{0}};
	long cls[6] = {0}, conn_errors = 0;
	struct httpc_conn c;
	struct httpc_response r;
	char cpu[128], body[128], path[96];
	double t0, secs;
	int i;

	if (argc < 2) {
		fprintf(stderr,
			"usage: %s MM32D [--seconds S] [--connections C] [--machines M] "
			"[-- MM32D-OPTIONS...]\n",
			argv[0]);
		return 2;
	}
	dmn.who = "load";
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			for (i++; i < argc && nextra < 31; i++)
				extra[nextra++] = argv[i];
			break;
		}
		if (i + 1 >= argc)
			die("option %s needs a value", argv[i]);
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--connections"))
			connections = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--machines"))
			machines = atoi(argv[++i]);
		else
			die("unknown option %s", argv[i]);
	}
	if (seconds <= 0 || connections < 1 || connections > 1024 || machines < 1 || machines > 256)
		die("bad option value");
	extra[nextra] = NULL;
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0); /* every line out at once, whatever ends the run */
	httpc_daemon_start(&dmn, "load", argv[1], extra);
	bench_host_cpu(cpu, sizeof(cpu));
	printf("mm32d %s on %s\n%d connections, %d machines of 256 MiB, %.0f s\n", argv[1], cpu,
	       connections, machines, seconds);
	if (httpc_open(&c, dmn.port) < 0)
		die("connect: %s", strerror(errno));
	for (i = 0; i < machines; i++) {
		int n = snprintf(body, sizeof(body),
				 "{\"name\":\"load%d\",\"mem\":\"256M\",\"pae\":%s,\"cpus\":2}", i,
				 i & 1 ? "true" : "false");

		if (httpc_request(&c, "POST", "/v1/machines", body, (size_t)n, &r) < 0 ||
		    r.status != 201)
			die("creating load%d: %d %.200s", i, r.status, r.body);
	}
	/* the workers' connections only, so that --connections 64 fits mm32d's default
	 * max-client-connections (64) */
	httpc_close(&c);
	w = calloc((size_t)connections, sizeof(*w));
	if (!w)
		die("out of memory");
	t0 = bench_now();
	for (i = 0; i < connections; i++) {
		w[i].id = i;
		w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]))
			die("pthread_create failed");
	}
	for (i = 0; i < connections; i++)
		pthread_join(w[i].th, NULL);
	secs = bench_now() - t0;
	for (i = 0; i < connections; i++) {
		merge(&all, &w[i].all);
		for (int k = 0; k < K_NR; k++)
			merge(&by_kind[k], &w[i].by_kind[k]);
		for (int s = 0; s < 6; s++)
			cls[s] += w[i].status_class[s];
		conn_errors += w[i].conn_errors;
		if (w[i].first_5xx[0] && !bad++)
			printf("first 5xx: %s\n", w[i].first_5xx);
	}
	if (httpc_open(&c, dmn.port) < 0)
		die("connect: %s", strerror(errno));
	printf("requests (latency in ms)\n");
	print_lat("all", &all, secs);
	for (int k = 0; k < K_NR; k++)
		print_lat(kind_name[k], &by_kind[k], secs);
	printf("answers: %ld 2xx, %ld 4xx, %ld 5xx; %ld failed connections\n", cls[2], cls[4],
	       cls[5], conn_errors);
	for (i = 0; i < machines; i++) {
		snprintf(path, sizeof(path), "/v1/machines/load%d/check", i);
		if (httpc_request(&c, "GET", path, "", 0, &r) < 0 || r.status != 200) {
			printf("load%d: check answered %d: %.300s\n", i, r.status, r.body);
			bad++;
		}
	}
	httpc_close(&c);
	if (httpc_daemon_stop(&dmn)) {
		printf("mm32d printed sanitizer reports (above)\n");
		bad++;
	}
	for (i = 0; i < connections; i++) {
		free(w[i].all.v);
		for (int k = 0; k < K_NR; k++)
			free(w[i].by_kind[k].v);
	}
	free(w);
	free(all.v);
	for (int k = 0; k < K_NR; k++)
		free(by_kind[k].v);
	if (cls[5] || conn_errors || bad) {
		printf("FAILED: %ld 5xx, %ld failed connections, %d failed checks or reports\n",
		       cls[5], conn_errors, bad);
		return 1;
	}
	printf("ok: 0 5xx, every machine's check is clean\n");
	return 0;
}
