/* SPDX-License-Identifier: MIT */
/*
 * http-alloc.c - the page allocator over HTTP, measured against the real mm32d.
 *
 * Starts MM32D (argv[1]) on a free loopback port with a database in a new temporary
 * directory (under $TMPDIR, else /tmp), creates a 1 GiB machine and measures, on one
 * keep-alive connection:
 *  (a) REST pairs: POST /v1/machines/{id}/pages {"gfp":"GFP_KERNEL"} then
 *      DELETE /v1/machines/{id}/pages/{pfn}, as alloc+free pairs per second;
 *  (b) batches: POST /v1/machines/{id}/commands with 1000 commands, alternately 1000
 *      order-0 alloc_pages and the 1000 free_pages of what they returned, as guest
 *      operations (commands) per second;
 *  (c) the same batches from several connections at once, one machine each;
 *  (d) the reference of (b) and (c): the executor alone (api_command_exec_text(), in this
 *      process, no HTTP, no journal) over the same commands on a machine of the same size.
 * Every command is journaled (SQLite, synchronous=FULL) before its answer, as always.
 * Then GET /check must still be ok. Prints the figures; exits non-zero on any failure.
 *
 * Usage: http-alloc MM32D [--seconds S] [--batch N] [--connections C]
 * C11 + POSIX, no library beyond libc: it is a client, not part of mm32.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "httpc.h"

static double seconds = 3.0;
static int batch = 1000;
static int connections = 2;
static struct httpc_daemon dmn;

#define die(...) httpc_die(&dmn, __VA_ARGS__)

static void create_machine(struct httpc_conn *c, const char *name)
{
	char body[128];
	struct httpc_response r;
	int n = snprintf(body, sizeof(body), "{\"name\":\"%s\",\"mem\":\"1G\",\"cpus\":2}", name);

	if (httpc_request(c, "POST", "/v1/machines", body, (size_t)n, &r) < 0 || r.status != 201)
		die("creating machine %s failed (%d)", name, r.status);
}

/* ---- (a) REST alloc+free pairs ------------------------------------------------------------- */

static long parse_pfn(const char *s)
{
	const char *p = strstr(s, "\"pfn\":");

	return p ? strtol(p + 6, NULL, 10) : -1;
}

static void bench_rest(void)
{
	static const char body[] = "{\"gfp\":\"GFP_KERNEL\"}";
	struct httpc_conn c;
	struct httpc_response r;
	char path[128];
	long pairs = 0;
	double t0, t;

	if (httpc_open(&c, dmn.port) < 0)
		die("connect: %s", strerror(errno));
	create_machine(&c, "rest");
	t0 = bench_now();
	do {
		for (int i = 0; i < 100; i++) {
			long pfn;

			if (httpc_request(&c, "POST", "/v1/machines/rest/pages", body,
					  sizeof(body) - 1, &r) < 0 ||
			    r.status != 201)
				die("POST /pages answered %d: %.300s", r.status, r.body);
			pfn = parse_pfn(r.body);
			snprintf(path, sizeof(path), "/v1/machines/rest/pages/%ld", pfn);
			if (httpc_request(&c, "DELETE", path, "", 0, &r) < 0 || r.status != 200)
				die("DELETE %s answered %d: %.300s", path, r.status, r.body);
			pairs++;
		}
		t = bench_now() - t0;
	} while (t < seconds);
	printf("REST alloc+free pairs, 1 connection:   %9.0f pairs/s  (%.1f us per pair, "
	       "%ld pairs)\n",
	       (double)pairs / t, t / (double)pairs * 1e6, pairs);
	if (httpc_request(&c, "GET", "/v1/machines/rest/check", "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	httpc_close(&c);
}

/* ---- (b), (c) batches --------------------------------------------------------------------- */

struct batch_run {
	char name[32];
	long ops;
	double secs;
	double t_alloc, t_free; /* time in alloc and free batches */
};

/* @v in decimal at @p; returns the length. */
static size_t put_long(char *p, long v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void *batch_thread(void *arg)
{
	struct batch_run *br = arg;
	size_t cap = (size_t)batch * 64 + 16, off, alloc_len;
	char *body = malloc(cap), *alloc_body = malloc(cap), path[96];
	long *pfns = malloc((size_t)batch * sizeof(*pfns));
	struct httpc_conn c;
	struct httpc_response r;
	double t0, t1, t;

	if (!body || !alloc_body || !pfns)
		die("out of memory");
	if (httpc_open(&c, dmn.port) < 0)
		die("connect: %s", strerror(errno));
	create_machine(&c, br->name);
	snprintf(path, sizeof(path), "/v1/machines/%s/commands", br->name);
	/* the client stays out of the way: the alloc batch is always the same text, the free
	 * batch is written without printf */
	alloc_len = (size_t)snprintf(alloc_body, cap, "[");
	for (int i = 0; i < batch; i++)
		alloc_len += (size_t)snprintf(alloc_body + alloc_len, cap - alloc_len,
					      "%s{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\","
					      "\"cpu\":%d}",
					      i ? "," : "", i & 1);
	alloc_len += (size_t)snprintf(alloc_body + alloc_len, cap - alloc_len, "]");
	t0 = bench_now();
	do {
		const char *p;

		t1 = bench_now();
		if (httpc_request(&c, "POST", path, alloc_body, alloc_len, &r) < 0 ||
		    r.status != 200)
			die("alloc batch answered %d: %.300s", r.status, r.body);
		br->t_alloc += bench_now() - t1;
		p = r.body;
		for (int i = 0; i < batch; i++) {
			p = strstr(p, "\"pfn\":");
			if (!p)
				die("alloc batch: %d results, not %d", i, batch);
			pfns[i] = strtol(p + 6, (char **)&p, 10);
		}
		off = 0;
		body[off++] = '[';
		for (int i = 0; i < batch; i++) {
			static const char head[] = "{\"op\":\"free_pages\",\"pfn\":";

			if (i)
				body[off++] = ',';
			memcpy(body + off, head, sizeof(head) - 1);
			off += sizeof(head) - 1;
			off += put_long(body + off, pfns[i]);
			memcpy(body + off, i & 1 ? ",\"cpu\":1}" : ",\"cpu\":0}", 9);
			off += 9;
		}
		body[off++] = ']';
		t1 = bench_now();
		if (httpc_request(&c, "POST", path, body, off, &r) < 0 || r.status != 200)
			die("free batch answered %d: %.300s", r.status, r.body);
		br->t_free += bench_now() - t1;
		br->ops += 2L * batch;
		t = bench_now() - t0;
	} while (t < seconds);
	br->secs = t;
	snprintf(path, sizeof(path), "/v1/machines/%s/check", br->name);
	if (httpc_request(&c, "GET", path, "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	httpc_close(&c);
	free(body);
	free(alloc_body);
	free(pfns);
	return NULL;
}

static double bench_batches(int n)
{
	static int round;
	struct batch_run *br = calloc((size_t)n, sizeof(*br));
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	double ops = 0, secs = 0, ta = 0, tf = 0;

	if (!br || !th)
		die("out of memory");
	round++;
	for (int i = 0; i < n; i++) {
		snprintf(br[i].name, sizeof(br[i].name), "batch%d-%d", round, i);
		if (pthread_create(&th[i], NULL, batch_thread, &br[i]))
			die("pthread_create failed");
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ops += (double)br[i].ops;
		secs = br[i].secs > secs ? br[i].secs : secs;
		ta += br[i].t_alloc;
		tf += br[i].t_free;
	}
	printf("batches of %d, %d connection(s):     %9.0f guest ops/s (alloc batch %.2f ms, "
	       "free batch %.2f ms)\n",
	       batch, n, ops / secs, ta / (ops / 2 / batch) * 1e3, tf / (ops / 2 / batch) * 1e3);
	free(br);
	free(th);
	return ops / secs;
}

/* (d) The executor alone: the alloc batch's commands, then the free_pages of what they
 * returned, one by one in this process, for as long as a figure takes; commands per second. */
static double executor_alone(void)
{
	struct mm_config cfg;
	struct mm_machine *m;
	struct mm_error err = {0};
	struct api_text out = {0};
	long *pfns = malloc((size_t)batch * sizeof(*pfns));
	long ops = 0;
	double t0 = bench_now(), t;

	mm_config_init(&cfg, false);
	cfg.mem = 1ull << 30;
	cfg.cpus = 2;
	if (!pfns || mm_machine_create(&cfg, &m, &err) < 0)
		die("executor alone: %s", err.msg);
	do {
		for (int i = 0; i < batch; i++) {
			char cmd[96];
			int n = snprintf(
				cmd, sizeof(cmd),
				"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"cpu\":%d}",
				i & 1);
			const char *p;

			out.len = 0;
			if (api_command_exec_text(m, cmd, (size_t)n, &out, NULL, &err) < 0)
				die("executor alone: %s", err.msg);
			p = strstr(out.data, "\"pfn\":");
			pfns[i] = p ? strtol(p + 6, NULL, 10) : -1;
		}
		for (int i = 0; i < batch; i++) {
			char cmd[96];
			int n = snprintf(cmd, sizeof(cmd),
					 "{\"op\":\"free_pages\",\"pfn\":%ld,\"cpu\":%d}", pfns[i],
					 i & 1);

			out.len = 0;
			if (api_command_exec_text(m, cmd, (size_t)n, &out, NULL, &err) < 0)
				die("executor alone: %s", err.msg);
		}
		ops += 2L * batch;
		t = bench_now() - t0;
	} while (t < seconds);
	api_text_free(&out);
	mm_machine_destroy(m);
	free(pfns);
	printf("the executor alone, same commands:   %9.0f guest ops/s\n", (double)ops / t);
	return (double)ops / t;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s MM32D [--seconds S] [--batch N] [--connections C]\n",
			argv[0]);
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--batch"))
			batch = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--connections"))
			connections = atoi(argv[i + 1]);
		else
			die("unknown option %s", argv[i]);
	}
	if (seconds <= 0 || batch < 1 || batch > 10000 || connections < 1)
		die("bad option value");
	static const char *const extra[] = {"--log-level", "warn", "--threads", "2", NULL};

	signal(SIGPIPE, SIG_IGN);
	httpc_daemon_start(&dmn, "http-alloc", argv[1], extra);
	printf("mm32d %s, database in %s, 1 GiB machines (686, 2 CPUs), %.1f s per figure\n",
	       argv[1], dmn.tmpdir, seconds);
	bench_rest();
	double one = bench_batches(1), many = connections > 1 ? bench_batches(connections) : 0;

	httpc_daemon_stop(&dmn);
	double exec = executor_alone();
	char figure[96];

	snprintf(figure, sizeof(figure), "batches of %d over HTTP, 1 connection", batch);
	bench_row("http-alloc", figure, one, "guest ops/s", "the executor alone", exec, 1,
		  ">= 1M ops/s and >= 0.3x");
	if (connections > 1) {
		snprintf(figure, sizeof(figure), "batches of %d over HTTP, %d connections", batch,
			 connections);
		bench_row("http-alloc", figure, many, "guest ops/s", "the executor alone", exec, 1,
			  ">= 1M ops/s and >= 0.3x");
	}
	return 0;
}
