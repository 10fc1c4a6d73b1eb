/* SPDX-License-Identifier: MIT */
/*
 * bench-persist.c - persistence, each figure beside a reference measured in the same run.
 *
 *  1. Snapshot and restore of guest RAM: a 4 GiB 686-pae machine with 1 GiB written through
 *     mm_mem_write() (every other page pseudo-random, the others text-like), saved with
 *     snapshot_save() into a new store (the daemon's code: zstd, XXH3, SQLite, synced), then
 *     restored with snapshot_load() with the database out of the page cache. Reference: `dd`
 *     of the same bytes to the same disk (bs=1M conv=fdatasync) and back, the file out of
 *     the page cache too. Then what the snapshot costs in the store.
 *  2. The journal: batches of 1000 commands (alloc_pages, then the free_pages of what they
 *     returned) through the router and the registry into the store, --sync full and normal.
 *     Reference: the same batches through the router with a journal that stores nothing.
 *  3. Replay: POST /v1/sessions/{id}/replay (verified) of the session of 2, and a restart
 *     (registry_load()) replaying it. Reference: the executor alone over the same commands.
 *
 * Measured, never asserted: `make bench` prints the figures.
 * Usage: bench-persist [--dir DIR] [--touched-mib N] [--batches N] [--only snapshot|journal]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "commands.h"
#include "log.h"
#include "registry.h"
#include "sessions.h"
#include "txn.h"
#include "snapshot.h"
#include "store.h"

#define MiB (1024.0 * 1024.0)

static char dir[512];
static unsigned long touched_mib = 1024;
static unsigned int nbatches = 200;
static const char *only = ""; /* "snapshot" or "journal": run that part only */

static void die(const char *what, const struct mm_error *err)
{
	fprintf(stderr, "bench-persist: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* Sync @path and drop it from the page cache: the next read comes from the disk. */
static void uncache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

/* A page as a kernel might hold it: half of them pseudo-random, half text-like. */
static void fill_page(uint8_t *p, uint64_t pfn)
{
	static const char *const words[] = {"alloc_pages",    "free_pages",  "zone=Normal",
					    "order=",	      "migratetype", "Unmovable",
					    "pfn=",	      "HighMem",     "kmalloc-64 ",
					    "vm_area_struct", "\n",	     "0x"};

	if (pfn & 1) {
		for (size_t i = 0; i < 4096; i += 8) {
			uint64_t x = next();

			memcpy(p + i, &x, 8);
		}
		return;
	}
	for (size_t i = 0; i < 4096;) {
		uint64_t x = next();
		const char *w = words[x % 12];
		int n = (x >> 8) % 3 ? snprintf((char *)p + i, 4096 - i, "%s ", w)
				     : snprintf((char *)p + i, 4096 - i, "%s%u ", w,
						(unsigned int)(x >> 20) % 100000);

		i += n > 0 ? (size_t)n : 1;
		if (i >= 4096)
			break;
	}
}

/* Run dd with @args; its elapsed seconds, or a negative number. */
static double dd(const char *args)
{
	char cmd[1600], log[600], line[512];
	double secs = -1;
	FILE *f;

	path_of(log, sizeof(log), "dd.log");
	snprintf(cmd, sizeof(cmd), "dd %s 2> '%s'", args, log);
	if (system(cmd) != 0)
		return -1;
	f = fopen(log, "r");
	while (f && fgets(line, sizeof(line), f)) {
		const char *c = strstr(line, "copied, ");

		if (c)
			secs = atof(c + 8);
	}
	if (f)
		fclose(f);
	return secs;
}

/* ---- 1. snapshot and restore ------------------------------------------------------------- */

static void bench_snapshot(void)
{
	char db[600], data[600], out[600], args[1400];
	struct mm_config cfg;
	struct mm_machine *m, *m2;
	struct store_snapshot meta = {0}, meta2;
	struct store_stats s0, s1;
	struct store *st;
	struct mm_error err = {0};
	uint8_t *buf = malloc(65536);
	uint64_t base = 1ull << 30, bytes = (uint64_t)touched_mib << 20;
	double t, t_snap, t_close, t_restore, t_ddw, t_ddr;
	FILE *f;

	path_of(db, sizeof(db), "snap.db");
	path_of(data, sizeof(data), "ram.bin");
	path_of(out, sizeof(out), "dd.out");
	mm_config_init(&cfg, true);
	cfg.mem = 4ull << 30;
	if (!buf || mm_machine_create(&cfg, &m, &err))
		die("creating a 4 GiB 686-pae machine", &err);
	f = fopen(data, "w");
	if (!f)
		die(data, NULL);
	for (uint64_t off = 0; off < bytes; off += 65536) {
		for (unsigned int i = 0; i < 16; i++)
			fill_page(buf + i * 4096, (base + off) / 4096 + i);
		if (mm_mem_write(m, 0, MM_SPACE_PHYS, base + off, buf, 65536, &err))
			die("writing guest RAM", &err);
		if (fwrite(buf, 1, 65536, f) != 65536)
			die(data, NULL);
	}
	fclose(f);

	if (store_open(db, &st, &err) || store_stats(st, &s0, &err))
		die(db, &err);
	snprintf(meta.machine_id, sizeof(meta.machine_id), "bench");
	meta.config = snapshot_config_text(m);
	t = bench_now();
	if (snapshot_save(st, m, &meta, NULL, &err))
		die("snapshot_save", &err);
	t_snap = bench_now() - t;
	if (store_stats(st, &s1, &err))
		die("stats", &err);
	t = bench_now();
	store_close(st); /* checkpoints the WAL into the database file */
	t_close = bench_now() - t;
	uncache(db);
	{
		char fr[700];

		snprintf(fr, sizeof(fr), "%s.frames", db); /* the frames' file beside it */
		uncache(fr);
	}

	if (store_open(db, &st, &err))
		die(db, &err);
	t = bench_now();
	if (snapshot_load(st, meta.id, false, meta.config, &m2, &meta2, NULL, &err))
		die("snapshot_load", &err);
	t_restore = bench_now() - t;
	store_snapshot_finish(&meta2);
	store_close(st);
	mm_machine_destroy(m2);
	mm_machine_destroy(m);

	snprintf(args, sizeof(args), "if='%s' of='%s' bs=1M conv=fdatasync", data, out);
	t_ddw = dd(args);
	uncache(out);
	snprintf(args, sizeof(args), "if='%s' of=/dev/null bs=1M", out);
	t_ddr = dd(args);

	double ram = (double)meta.nr_frames * 4096;

	printf("1. snapshot and restore: a 4 GiB 686-pae machine, %lu MiB written "
	       "(half random, half text-like)\n",
	       touched_mib);
	printf("   guest RAM in the snapshot  %8.1f MiB (%lld non-zero frames)\n", ram / MiB,
	       (long long)meta.nr_frames);
	printf("   snapshot                   %8.1f MB/s  (%.2f s, synced; +%.2f s to "
	       "checkpoint the WAL at close)\n",
	       ram / t_snap / 1e6, t_snap, t_close);
	printf("   dd write, same bytes       %8.1f MB/s  (%.2f s, bs=1M conv=fdatasync)\n",
	       t_ddw > 0 ? (double)bytes / t_ddw / 1e6 : 0, t_ddw);
	printf("   snapshot / dd write        %8.2f x   (goal >= 0.5)\n",
	       t_ddw > 0 ? (ram / t_snap) / ((double)bytes / t_ddw) : 0);
	printf("   restore (database uncached)%8.1f MB/s  (%.2f s, state hash verified)\n",
	       ram / t_restore / 1e6, t_restore);
	printf("   dd read, same file uncached%8.1f MB/s  (%.2f s)\n",
	       t_ddr > 0 ? (double)bytes / t_ddr / 1e6 : 0, t_ddr);
	printf("   restore / dd write         %8.2f x   (goal >= 1)\n",
	       t_ddw > 0 ? (ram / t_restore) / ((double)bytes / t_ddw) : 0);
	printf("   restore / dd read          %8.2f x\n",
	       t_ddr > 0 ? (ram / t_restore) / ((double)bytes / t_ddr) : 0);
	bench_row("persist", "snapshot of 1 GiB of guest RAM (synced)", ram / t_snap / 1e6, "MB/s",
		  "dd of the same bytes, bs=1M conv=fdatasync",
		  t_ddw > 0 ? (double)bytes / t_ddw / 1e6 : 0, 1, ">= 0.5x");
	bench_row("persist", "restore of it, database uncached", ram / t_restore / 1e6, "MB/s",
		  "dd read of the same bytes, uncached",
		  t_ddr > 0 ? (double)bytes / t_ddr / 1e6 : 0, 1, NULL);
	printf("   size in the store: frames %.1f MiB (%lld distinct), state %.1f KiB (%.1f MiB "
	       "raw), map %.1f KiB;\n"
	       "   database grew by %.1f MiB for %.1f MiB of guest RAM (%.0f %%), RAM size 4096 "
	       "MiB\n",
	       (double)meta.new_frame_bytes / MiB, (long long)meta.new_frames,
	       (double)meta.state_bytes / 1024, (double)meta.state_size / MiB,
	       (double)meta.map_bytes / 1024,
	       (double)((s1.pages - s1.free_pages) - (s0.pages - s0.free_pages)) *
		       (double)s1.page_size / MiB,
	       ram / MiB,
	       100.0 * (double)((s1.pages - s1.free_pages) - (s0.pages - s0.free_pages)) *
		       (double)s1.page_size / ram);
	free(meta.config);
	free(buf);
	unlink(data);
	unlink(out);
}

/* ---- 2. the journal; 3. replay ---------------------------------------------------------- */

static struct api_reply rep;

static unsigned int dispatch(const struct api_host *host, const char *method, const char *url,
			     const char *body, size_t len)
{
	struct api_request rq = {.method = method,
				 .url = url,
				 .body = body,
				 .body_len = len,
				 .content_type = body ? "application/json" : NULL};

	api_reply_finish(&rep);
	api_dispatch(host, &rq, &rep);
	return rep.status;
}

static int no_journal(void *data, struct api_lease *lease, const struct api_journal_batch *b,
		      int64_t *ret_first_seq, struct mm_error *err)
{
	static int64_t seq = 1;

	*ret_first_seq = seq;
	seq += (int64_t)b->n;
	return 0;
}

/* @n batches of 1000 on machine @id: alloc_pages, then the free_pages of their pfns. Returns
 * the seconds spent in the router, the client's own work left out. */
static double run_batches(const struct api_host *host, const char *id, unsigned int n)
{
	static char body[1000 * 80];
	static uint32_t pfns[1000];
	char url[128];
	double spent = 0;

	snprintf(url, sizeof(url), "/v1/machines/%s/commands", id);
	for (unsigned int b = 0; b < n; b++) {
		size_t off = 0;
		double t;

		off += (size_t)snprintf(body + off, sizeof(body) - off, "[");
		for (int i = 0; i < 1000; i++)
			off += (size_t)snprintf(
				body + off, sizeof(body) - off,
				b % 2 ? "%s{\"op\":\"free_pages\",\"pfn\":%u}"
				      : "%s{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}",
				i ? "," : "", pfns[i]);
		off += (size_t)snprintf(body + off, sizeof(body) - off, "]");
		t = bench_now();
		if (dispatch(host, "POST", url, body, off) != 200) {
			fprintf(stderr, "bench-persist: batch answered %u: %.*s\n", rep.status,
				(int)rep.json_text_len, rep.json_text ? rep.json_text : "");
			exit(1);
		}
		spent += bench_now() - t;
		if (b % 2 == 0) {
			/* the pfns the allocations returned, for the frees */
			json_t *doc = json_loadb(rep.json_text, rep.json_text_len, 0, NULL);
			json_t *res = json_object_get(doc, "results");

			for (int i = 0; i < 1000; i++)
				pfns[i] = (uint32_t)json_integer_value(json_object_get(
					json_object_get(json_array_get(res, (size_t)i), "result"),
					"pfn"));
			json_decref(doc);
		}
	}
	return spent;
}

struct texts {
	char **v;
	size_t *len, n, cap;
};

static int collect(void *data, int64_t first_seq, int64_t n, const char *time, const char *commands,
		   size_t commands_len, const char *results, size_t results_len)
{
	struct texts *t = data;
	struct api_json_span *c, *r;

	if (api_txn_split_batch(n, commands, commands_len, results, results_len, &c, &r) < 0)
		return -EIO;
	for (int64_t i = 0; i < n; i++) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 4096;
			t->v = realloc(t->v, t->cap * sizeof(*t->v));
			t->len = realloc(t->len, t->cap * sizeof(*t->len));
			if (!t->v || !t->len)
				return -ENOMEM;
		}
		t->v[t->n] = strndup(c[i].text, c[i].len);
		t->len[t->n++] = c[i].len;
	}
	free(c);
	free(r);
	return 0;
}

static void bench_journal_replay(void)
{
	char db[600];
	struct store *st;
	struct registry *reg = NULL;
	struct api_host host, nohost;
	struct api_host_ops noops;
	struct mm_error err = {0};
	unsigned long n = (unsigned long)nbatches * 1000;
	double t_full, t_normal, t_none, t, t_replay, t_exec, t_restart;
	struct texts tx = {0};
	long long replayed;

	path_of(db, sizeof(db), "journal.db");
	if (store_open(db, &st, &err) || registry_create(st, &reg, &err))
		die(db, &err);
	host = registry_host(reg);
	noops = *host.ops;
	noops.journal_append = no_journal;
	nohost = host;
	nohost.ops = &noops;
	if (dispatch(&host, "POST", "/v1/machines", "{\"name\":\"j\",\"mem\":\"1G\"}", 23) != 201 ||
	    dispatch(&host, "POST", "/v1/machines", "{\"name\":\"n\",\"mem\":\"1G\"}", 23) != 201)
		die("creating the machines", NULL);
	t_none = run_batches(&nohost, "n", nbatches);
	t_full = run_batches(&host, "j", nbatches);
	if (store_set_sync(st, STORE_SYNC_NORMAL, &err))
		die("sync normal", &err);
	t_normal = run_batches(&host, "j", nbatches);
	if (store_set_sync(st, STORE_SYNC_FULL, &err))
		die("sync full", &err);

	printf("2. the journal: batches of 1000 commands (alloc_pages, then their free_pages) "
	       "through the router, %lu commands each\n",
	       n);
	printf("   journaled, --sync full     %10.0f commands/s  (%.0f batches/s; goal >= "
	       "100000)\n",
	       (double)n / t_full, nbatches / t_full);
	printf("   journaled, --sync normal   %10.0f commands/s\n", (double)n / t_normal);
	printf("   not journaled (reference)  %10.0f commands/s\n", (double)n / t_none);
	bench_row("persist", "batches of 1000 journaled, --sync full (router, no HTTP)",
		  (double)n / t_full, "commands/s", "the same, not journaled", (double)n / t_none,
		  1, NULL);
	bench_row("persist", "batches of 1000 journaled, --sync normal (router, no HTTP)",
		  (double)n / t_normal, "commands/s", "the same, not journaled", (double)n / t_none,
		  1, NULL);

	/* 3. replay: the session of "j" (2 x n commands), verified, into a new machine */
	t = bench_now();
	if (dispatch(&host, "POST", "/v1/sessions/j/replay", "{\"verify\":true,\"name\":\"r\"}",
		     26) != 201)
		die("replay", NULL);
	t_replay = bench_now() - t;
	{
		json_t *doc =
			json_loadb(rep.json_text ? rep.json_text : "", rep.json_text_len, 0, NULL);

		if (!doc)
			doc = json_incref(rep.json);
		replayed = json_integer_value(json_object_get(doc, "replayed"));
		if (json_integer_value(json_object_get(doc, "divergences")))
			fprintf(stderr, "bench-persist: the replay diverged\n");
		json_decref(doc);
	}
	/* the reference: the executor alone over the same command texts */
	if (store_journal_foreach(st, "j", 0, collect, &tx, &err))
		die("reading the journal", &err);
	{
		struct mm_config cfg;
		struct mm_machine *m;
		struct api_text out = {0};
		bool journal;

		mm_config_init(&cfg, false);
		cfg.mem = 1ull << 30;
		if (mm_machine_create(&cfg, &m, &err))
			die("machine", &err);
		t = bench_now();
		for (size_t i = 0; i < tx.n; i++) {
			out.len = 0;
			if (api_command_exec_text(m, tx.v[i], tx.len[i], &out, &journal, &err) < 0)
				die("executing", &err);
		}
		t_exec = bench_now() - t;
		api_text_free(&out);
		mm_machine_destroy(m);
	}
	/* a restart: the registry again, "j" replayed from its journal ("r" and "n" too) */
	if (dispatch(&host, "DELETE", "/v1/machines/r", NULL, 0) != 204 ||
	    dispatch(&host, "DELETE", "/v1/machines/n", NULL, 0) != 204)
		die("deleting", NULL);
	api_reply_finish(&rep);
	registry_destroy(reg);
	if (registry_create(st, &reg, &err))
		die("registry", &err);
	t = bench_now();
	if (registry_load(reg, &err))
		die("registry_load", &err);
	t_restart = bench_now() - t;

	printf("3. replay of that session (%lld commands)\n", replayed);
	printf("   POST /sessions/j/replay    %10.0f commands/s  (verified, into a new machine "
	       "with its journal; goal >= 500000)\n",
	       (double)replayed / t_replay);
	printf("   restart (registry_load)    %10.0f commands/s\n", (double)tx.n / t_restart);
	printf("   executor alone (reference) %10.0f commands/s\n", (double)tx.n / t_exec);
	bench_row("persist", "replay of a session (verified)", (double)replayed / t_replay,
		  "commands/s", "the executor alone", (double)tx.n / t_exec, 1, NULL);
	bench_row("persist", "restart replaying the journal", (double)tx.n / t_restart,
		  "commands/s", "the executor alone", (double)tx.n / t_exec, 1, NULL);

	registry_destroy(reg);
	store_close(st);
	for (size_t i = 0; i < tx.n; i++)
		free(tx.v[i]);
	free(tx.v);
	free(tx.len);
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");
	char cmd[700];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--dir"))
			base = argv[i + 1];
		else if (!strcmp(argv[i], "--touched-mib"))
			touched_mib = strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--batches"))
			nbatches = (unsigned int)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--only"))
			only = argv[i + 1];
	}
	if (touched_mib < 1 || touched_mib > 2048 || nbatches < 2) {
		fprintf(stderr, "usage: bench-persist [--dir DIR] [--touched-mib 1..2048] "
				"[--batches N]\n");
		return 2;
	}
	nbatches &= ~1u;
	snprintf(dir, sizeof(dir), "%s/mm32-bench-persist-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(dir))
		die(dir, NULL);
	log_init(LOG_LEVEL_ERROR);
	printf("bench-persist: in %s\n", dir);
	if (strcmp(only, "journal"))
		bench_snapshot();
	if (strcmp(only, "snapshot"))
		bench_journal_replay();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-persist: could not remove %s\n", dir);
	return 0;
}
