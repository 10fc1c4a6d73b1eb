/* SPDX-License-Identifier: MIT */
/*
 * http-restart.c - how soon a restarted mm32d answers, and how soon its machines are all
 * back (issue 16: the store opens, the daemon answers, the machines are restored in the
 * background and on first use).
 *
 * Starts MM32D (argv[1]) as bench/httpc.h does and measures, in the same run:
 *  - the reference: the daemon started over an empty database, until GET /v1/health answers;
 *  - N machines of 1 GiB (686) created, one command journaled on every tenth (an order-0
 *    alloc_pages), the daemon stopped (SIGTERM) and started again over the same database:
 *    the time until GET /v1/health answers, and until GET /v1/machines lists every machine
 *    "ready" (none "restoring"); the time the N creates took is printed beside it;
 *  - a request for the last machine right after the restart: answered (waited for, it is
 *    restored first) or 503 with Retry-After; either is counted.
 * Then GET /v1/machines/m0/check must be ok.
 *
 * Usage: http-restart MM32D [--machines N]   (N default 200; 1000 or 10000 by hand)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "httpc.h"

static struct httpc_daemon dmn;

#define die(...) httpc_die(&dmn, __VA_ARGS__)

static const char *const extra[] = {
	"--log-level", "warn", "--max-machines", "1000000", "--max-host-memory", "1P", NULL};

/* Start @exe over @db on @port (the arguments httpc_daemon_start() gave); the time until
 * GET /v1/health answered 200, in seconds. */
static double start_at(const char *exe, const char *db, unsigned short port)
{
	char listen[32];
	const char *argv[32];
	struct httpc_conn c;
	struct httpc_response r;
	double t0 = bench_now();
	int n = 0;

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	argv[n++] = exe;
	argv[n++] = "--config=";
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--db";
	argv[n++] = db;
	argv[n++] = "--no-default-machine";
	for (int i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	dmn.pid = fork();
	if (dmn.pid < 0)
		die("fork: %s", strerror(errno));
	if (dmn.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!freopen(dmn.log, "a", stderr))
			_exit(126);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	for (;;) {
		if (httpc_open(&c, port) == 0) {
			int ok = httpc_request(&c, "GET", "/v1/health", "", 0, &r) == 0 &&
				 r.status == 200;

			httpc_close(&c);
			if (ok)
				return bench_now() - t0;
		}
		if (waitpid(dmn.pid, NULL, WNOHANG) == dmn.pid) {
			dmn.pid = -1;
			die("%s exited at start-up (log: %s)", exe, dmn.log);
		}
		if (bench_now() - t0 > 600)
			die("no /v1/health after 600 s");
		usleep(1000);
	}
}

static void stop(void)
{
	if (dmn.pid > 0) {
		kill(dmn.pid, SIGTERM);
		waitpid(dmn.pid, NULL, 0);
		dmn.pid = -1;
	}
}

static unsigned int count(const char *s, const char *what)
{
	unsigned int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

int main(int argc, char **argv)
{
	unsigned int n = 200, ready = 0, restoring = 0, waited = 0, refused = 0;
	struct httpc_conn c;
	struct httpc_response r;
	double t0, created, health_empty, health, all;
	char body[128], db[300], path[128], cpu[256];

	if (argc < 2) {
		fprintf(stderr, "usage: %s MM32D [--machines N]\n", argv[0]);
		return 2;
	}
	if (argc == 4 && !strcmp(argv[2], "--machines"))
		n = (unsigned int)atoi(argv[3]);
	if (!n)
		n = 1;
	signal(SIGPIPE, SIG_IGN);
	bench_host_cpu(cpu, sizeof(cpu));
	printf("mm32d %s, restart with %u machines of 1 GiB (686); host: %s\n", argv[1], n, cpu);
	httpc_daemon_start(&dmn, "http-restart", argv[1], extra);
	snprintf(db, sizeof(db), "%s/mm32.db", dmn.tmpdir);
	/* the reference: the same daemon over an empty database */
	stop();
	unlink(db);
	health_empty = start_at(argv[1], db, dmn.port);
	if (httpc_open(&c, dmn.port) < 0)
		die("connect: %s", strerror(errno));
	t0 = bench_now();
	for (unsigned int i = 0; i < n; i++) {
		int len = snprintf(body, sizeof(body), "{\"name\":\"m%u\",\"mem\":\"1G\"}", i);

		if (httpc_request(&c, "POST", "/v1/machines", body, (size_t)len, &r) < 0 ||
		    r.status != 201)
			die("creating m%u answered %d: %.300s", i, r.status, r.body);
		if (i % 10)
			continue;
		snprintf(path, sizeof(path), "/v1/machines/m%u/pages", i);
		if (httpc_request(&c, "POST", path, "{\"gfp\":\"GFP_KERNEL\"}", 20, &r) < 0 ||
		    r.status / 100 != 2)
			die("alloc on m%u answered %d: %.300s", i, r.status, r.body);
	}
	created = bench_now() - t0;
	httpc_close(&c);
	stop();

	health = start_at(argv[1], db, dmn.port);
	t0 = bench_now() - health;
	if (httpc_open(&c, dmn.port) < 0)
		die("connect: %s", strerror(errno));
	snprintf(path, sizeof(path), "/v1/machines/m%u", n - 1);
	if (httpc_request(&c, "GET", path, "", 0, &r) < 0)
		die("GET %s failed", path);
	if (r.status == 200)
		waited++;
	else if (r.status == 503)
		refused++;
	else
		die("GET %s answered %d: %.300s", path, r.status, r.body);
	for (;;) {
		if (httpc_request(&c, "GET", "/v1/machines", "", 0, &r) < 0 || r.status != 200)
			die("GET /v1/machines answered %d", r.status);
		ready = count(r.body, "\"state\": \"ready\"") +
			count(r.body, "\"state\":\"ready\"");
		restoring = count(r.body, "\"restoring\"");
		if (!restoring)
			break;
		if (bench_now() - t0 > 3600)
			die("%u machines still restoring after an hour", restoring);
		usleep(100000); /* a list of 10000 machines is work for the daemon too */
	}
	all = bench_now() - t0;
	if (ready != n)
		die("%u of %u machines ready after the restore: %.300s", ready, n, r.body);
	if (httpc_request(&c, "GET", "/v1/machines/m0/check", "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	httpc_close(&c);
	printf("created %u machines in %.2f s; empty database: /v1/health after %.1f ms\n", n,
	       created, health_empty * 1e3);
	printf("restart: /v1/health after %.1f ms, all %u ready after %.2f s (%.2f ms each); "
	       "GET of the last one right away: %s\n",
	       health * 1e3, n, all, all / n * 1e3, waited ? "answered (waited)" : "503");
	bench_row("http-restart", "restart: until /v1/health answers (ms)", health * 1e3, "ms",
		  "start over an empty database", health_empty * 1e3, 0, "<= 1 s");
	bench_row("http-restart", "restart: until every machine is restored (s)", all, "s",
		  "creating the same machines over HTTP", created, 0, NULL);
	return httpc_daemon_stop(&dmn) ? 1 : 0;
}
