/* SPDX-License-Identifier: MIT */
/*
 * http-machines.c - a class of fresh machines in one mm32d (issue 16): creation time and the
 * host memory each costs, with the template cache (daemon/templates.c) beside the same
 * daemon without it (MM32_TEMPLATES=0: every machine booted from scratch), in the same run.
 *
 * Starts MM32D (argv[1]) as bench/httpc.h does, twice: first with its templates, creating
 * N machines of 1 GiB (686, 1 CPU) with POST /v1/machines; then with MM32_TEMPLATES=0,
 * creating R of them. For each: the time of a create (mean and the slowest), and the host
 * memory the machines added, per machine: the daemon's proportional set size
 * (/proc/PID/smaps_rollup Pss: a page shared by k mappings counts 1/k) plus the bytes of
 * the templates' memory files, which no mapping may be holding (st_blocks of each
 * memfd:mm32-template); the resident set size (VmRSS, which counts a shared page once per
 * mapping) is printed too. Then GET /v1/machines/m0/state-hash must equal the scratch
 * machine's: a clone is the machine a boot gives.
 *
 * Usage: http-machines MM32D [--machines N] [--reference R]
 *        (N default 100; 1000 or 10000 for the class; R default min(N, 50))
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "httpc.h"

static struct httpc_daemon dmn;

#define die(...) httpc_die(&dmn, __VA_ARGS__)

/* A number of KiB after @key in /proc/@pid/@file, in bytes; 0 when absent. */
static double proc_kib(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	double v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key))) {
			v = atof(line + strlen(key)) * 1024.0;
			break;
		}
	fclose(f);
	return v;
}

/* The bytes the templates' memory files hold (allocated blocks). */
static double template_bytes(pid_t pid)
{
	char dir[64], path[384], link[256];
	struct dirent *e;
	double v = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		struct stat st;
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strstr(link, "memfd:mm32-template") && !stat(path, &st))
			v += (double)st.st_blocks * 512.0;
	}
	closedir(d);
	return v;
}

struct class_run {
	double create_ms, slowest_ms, pss, rss, files; /* per machine */
	char hash[200];
};

static void run_class(const char *exe, unsigned int n, bool templates, struct class_run *out)
{
	static const char *const extra[] = {
		"--log-level", "warn", "--max-machines", "1000000", "--max-host-memory",
		"1P",	       NULL};
	struct httpc_conn c;
	struct httpc_response r;
	double pss0, rss0, t0, total = 0, slowest = 0;
	char body[128];

	if (templates)
		unsetenv("MM32_TEMPLATES");
	else
		setenv("MM32_TEMPLATES", "0", 1);
	httpc_daemon_start(&dmn, "http-machines", exe, extra);
	if (httpc_open(&c, dmn.port) < 0)
		die("connect: %s", strerror(errno));
	pss0 = proc_kib(dmn.pid, "smaps_rollup", "Pss:");
	rss0 = proc_kib(dmn.pid, "status", "VmRSS:");
	for (unsigned int i = 0; i < n; i++) {
		int len = snprintf(body, sizeof(body), "{\"name\":\"m%u\",\"mem\":\"1G\"}", i);
		double t;

		t0 = bench_now();
		if (httpc_request(&c, "POST", "/v1/machines", body, (size_t)len, &r) < 0 ||
		    r.status != 201)
			die("creating machine m%u answered %d: %.300s", i, r.status, r.body);
		t = bench_now() - t0;
		total += t;
		if (t > slowest)
			slowest = t;
	}
	out->create_ms = total / n * 1e3;
	out->slowest_ms = slowest * 1e3;
	out->pss = (proc_kib(dmn.pid, "smaps_rollup", "Pss:") - pss0) / n;
	out->rss = (proc_kib(dmn.pid, "status", "VmRSS:") - rss0) / n;
	out->files = template_bytes(dmn.pid) / n;
	if (httpc_request(&c, "GET", "/v1/machines/m0/state-hash", "", 0, &r) < 0 ||
	    r.status != 200)
		die("GET /state-hash answered %d", r.status);
	snprintf(out->hash, sizeof(out->hash), "%.199s", r.body);
	if (httpc_request(&c, "GET", "/v1/machines/m0/check", "", 0, &r) < 0 || r.status != 200)
		die("GET /check answered %d: %.300s", r.status, r.body);
	httpc_close(&c);
	if (httpc_daemon_stop(&dmn))
		exit(1);
	printf("%-28s %6u machines: create %7.2f ms each (slowest %7.1f ms); per machine: "
	       "PSS %7.3f MiB + template files %6.3f MiB, RSS %7.3f MiB\n",
	       templates ? "with templates" : "MM32_TEMPLATES=0 (scratch)", n, out->create_ms,
	       out->slowest_ms, out->pss / 1048576, out->files / 1048576, out->rss / 1048576);
}

int main(int argc, char **argv)
{
	unsigned int n = 100, ref = 0;
	struct class_run with, without;
	char cpu[256];

	if (argc < 2) {
		fprintf(stderr, "usage: %s MM32D [--machines N] [--reference R]\n", argv[0]);
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--machines"))
			n = (unsigned int)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--reference"))
			ref = (unsigned int)atoi(argv[i + 1]);
		else {
			fprintf(stderr, "unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!n)
		n = 1;
	if (!ref)
		ref = n < 50 ? n : 50;
	signal(SIGPIPE, SIG_IGN);
	bench_host_cpu(cpu, sizeof(cpu));
	printf("mm32d %s, fresh 1 GiB 686 machines (1 CPU) over HTTP; host: %s\n", argv[1], cpu);
	run_class(argv[1], n, true, &with);
	run_class(argv[1], ref, false, &without);
	if (strcmp(with.hash, without.hash)) {
		fprintf(stderr,
			"http-machines: a clone's state hash differs from a scratch boot's:\n"
			"%s\n%s\n",
			with.hash, without.hash);
		return 1;
	}
	printf("state hash of m0: the same with and without templates\n");
	bench_row("http-machines", "create a fresh 1 GiB 686 machine (ms)", with.create_ms, "ms",
		  "the same create booted from scratch (MM32_TEMPLATES=0)", without.create_ms, 0,
		  "milliseconds");
	bench_row("http-machines", "host memory per fresh 1 GiB machine (MiB, PSS + templates)",
		  (with.pss + with.files) / 1048576, "MiB",
		  "a machine booted from scratch (MM32_TEMPLATES=0)",
		  (without.pss + without.files) / 1048576, 0, "<= 1 MiB");
	return 0;
}
