/* SPDX-License-Identifier: MIT */
/*
 * bench-highmem.c - what kmap+kunmap and kmap_local+kunmap_local cost in mmcore, beside a
 * bare pkmap table and a bare kmap_local stack written here for comparison and run in the
 * same process (issue 12). Measured, never asserted: `make bench` prints it.
 *
 * Rows, in ns per map+unmap pair, best of RUNS runs, on a booted 1 GiB 686 and 1 GiB
 * 686-pae machine (2 CPUs):
 *  - kmap+kunmap of one highmem page that stays in the table (kmap finds it through
 *    page_address(): pkmap_count 1 -> 2 -> 1);
 *  - kmap+kunmap cycling over 2 x LAST_PKMAP pages: each kmap takes a new slot
 *    (map_new_virtual(): the cursor, a PTE write, the hash), and every LAST_PKMAP kmaps the
 *    cursor wraps and flush_all_zero_pkmaps() clears LAST_PKMAP - 1 slots and flushes both
 *    CPUs' TLBs;
 *  - kmap_local_page+kunmap_local of one highmem page (a PTE write, then its clear and an
 *    invlpg).
 * mmcore's calls validate their arguments (the cpu, the pfn, that the page is allocated:
 * mm_get_frame()) and read and write PTEs in emulated RAM through the page walk of
 * swapper_pg_dir; the bare versions run the same algorithms on plain arrays (a PTE array,
 * the counts, a 128-bucket hash of page indexes; a 64-entry TLB array for the invlpg) with
 * no checks. Their calls are kept out of line, as calls into mmcore are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mmcore.h"

#define ITERS 1000000
#define RUNS 5

#if defined(__GNUC__) && !defined(__clang__)
#define BARE_CALL __attribute__((noipa))
#else
#define BARE_CALL __attribute__((noinline))
#endif

/* ==== the bare pkmap table and kmap_local stack ========================================== */

struct bare_pkmap {
	unsigned int last, nr;
	int count[1024];
	uint32_t pte[1024];
	uint32_t page[1024];
	int16_t next[1024];
	int16_t bucket[128];
	uint32_t base;
	uint64_t flushes;
};

static unsigned int bare_hash(uint32_t page)
{
	return (page * 40u * 0x61C88647u) >> 25;
}

static uint32_t bare_page_address(struct bare_pkmap *b, uint32_t page)
{
	for (int i = b->bucket[bare_hash(page)]; i >= 0; i = b->next[i])
		if (b->page[i] == page)
			return b->base + ((uint32_t)i << 12);
	return 0;
}

static void bare_unhash(struct bare_pkmap *b, uint32_t page)
{
	int16_t *l = &b->bucket[bare_hash(page)];

	for (; *l >= 0; l = &b->next[*l])
		if (b->page[*l] == page) {
			*l = b->next[*l];
			return;
		}
}

BARE_CALL static uint32_t bare_kmap(struct bare_pkmap *b, uint32_t page)
{
	uint32_t v = bare_page_address(b, page);
	unsigned int count = b->nr;

	if (!v) {
		for (;;) {
			b->last = (b->last + 1) & (b->nr - 1);
			if (!b->last) {
				bool flush = false;

				for (unsigned int i = 0; i < b->nr; i++)
					if (b->count[i] == 1) {
						b->count[i] = 0;
						b->pte[i] = 0;
						bare_unhash(b, b->page[i]);
						flush = true;
					}
				b->flushes += flush;
				count = b->nr;
			}
			if (!b->count[b->last])
				break;
			if (--count == 0)
				return 0;
		}
		b->pte[b->last] = (page << 12) | 0x163;
		b->count[b->last] = 1;
		b->page[b->last] = page;
		b->next[b->last] = -1;
		{
			int16_t *l = &b->bucket[bare_hash(page)];

			while (*l >= 0)
				l = &b->next[*l];
			*l = (int16_t)b->last;
		}
		v = b->base + (b->last << 12);
	}
	b->count[(v - b->base) >> 12]++;
	return v;
}

BARE_CALL static void bare_kunmap(struct bare_pkmap *b, uint32_t page)
{
	uint32_t v = bare_page_address(b, page);

	b->count[(v - b->base) >> 12]--;
}

struct bare_local {
	unsigned int idx;
	uint32_t pte[16];
	uint32_t tlb_va[64];
};

BARE_CALL static uint32_t bare_kmap_local(struct bare_local *s, uint32_t page)
{
	unsigned int i = s->idx++;

	s->pte[i] = (page << 12) | 0x163;
	return 0xfffbb000u - (i << 12);
}

BARE_CALL static void bare_kunmap_local(struct bare_local *s, uint32_t va)
{
	unsigned int i = --s->idx;

	s->pte[i] = 0;
	if (s->tlb_va[(va >> 12) & 63] == va)
		s->tlb_va[(va >> 12) & 63] = 0;
}

/* ==== measuring =========================================================================== */

static struct mm_machine *boot(bool pae)
{
	struct mm_config cfg;
	struct mm_error err = {0};
	struct mm_machine *m;

	mm_config_init(&cfg, pae);
	cfg.cpus = 2;
	if (mm_machine_create(&cfg, &m, &err)) {
		fprintf(stderr, "bench-highmem: boot: %s\n", err.msg);
		exit(1);
	}
	return m;
}

static uint32_t *highmem_pages(struct mm_machine *m, unsigned int n)
{
	uint32_t *p = calloc(n, sizeof(*p));
	struct mm_error err = {0};
	mm_gfp_t gfp;

	mm_gfp_parse("GFP_HIGHUSER", &gfp, &err);
	for (unsigned int i = 0; p && i < n; i++) {
		struct mm_page_alloc a;

		if (mm_alloc_pages(m, 0, gfp, 0, &a, &err) || a.zone != MM_ZONE_HIGHMEM) {
			fprintf(stderr, "bench-highmem: alloc: %s\n", err.msg);
			exit(1);
		}
		p[i] = a.pfn;
	}
	return p;
}

static void fail(const char *what, const struct mm_error *err)
{
	fprintf(stderr, "bench-highmem: %s: %s\n", what, err->msg);
	exit(1);
}

static double best(double a, double b)
{
	return a < b ? a : b;
}

static void run_flavour(bool pae)
{
	struct mm_machine *m = boot(pae);
	unsigned int last = pae ? 512 : 1024, n = 2 * last;
	uint32_t *pages = highmem_pages(m, n);
	struct bare_pkmap *bp = calloc(1, sizeof(*bp));
	struct bare_local *bl = calloc(1, sizeof(*bl));
	struct mm_error err = {0};
	double t_hit = 1e30, t_cycle = 1e30, t_local = 1e30;
	double b_hit = 1e30, b_cycle = 1e30, b_local = 1e30;
	volatile uint32_t sink = 0;

	bp->nr = last;
	bp->base = pae ? 0xff000000u : 0xfec00000u;
	memset(bp->bucket, 0xff, sizeof(bp->bucket));
	for (int r = 0; r < RUNS; r++) {
		struct mm_kmap k;
		struct mm_kmap_local kl;
		double t0;

		t0 = bench_now_ns();
		for (int i = 0; i < ITERS; i++) {
			if (mm_kmap(m, 0, pages[0], &k, &err) ||
			    mm_kunmap(m, 0, pages[0], &k, &err))
				fail("kmap", &err);
		}
		t_hit = best(t_hit, (bench_now_ns() - t0) / ITERS);
		t0 = bench_now_ns();
		for (int i = 0; i < ITERS; i++) {
			uint32_t p = pages[(unsigned int)i % n];

			if (mm_kmap(m, 0, p, &k, &err) || mm_kunmap(m, 0, p, &k, &err))
				fail("kmap cycle", &err);
		}
		t_cycle = best(t_cycle, (bench_now_ns() - t0) / ITERS);
		t0 = bench_now_ns();
		for (int i = 0; i < ITERS; i++) {
			if (mm_kmap_local(m, 0, pages[1], false, &kl, &err) ||
			    mm_kunmap_local(m, 0, kl.address, false, &kl, &err))
				fail("kmap_local", &err);
		}
		t_local = best(t_local, (bench_now_ns() - t0) / ITERS);

		t0 = bench_now_ns();
		for (int i = 0; i < ITERS; i++) {
			sink += bare_kmap(bp, pages[0]);
			bare_kunmap(bp, pages[0]);
		}
		b_hit = best(b_hit, (bench_now_ns() - t0) / ITERS);
		t0 = bench_now_ns();
		for (int i = 0; i < ITERS; i++) {
			uint32_t p = pages[(unsigned int)i % n];

			sink += bare_kmap(bp, p);
			bare_kunmap(bp, p);
		}
		b_cycle = best(b_cycle, (bench_now_ns() - t0) / ITERS);
		t0 = bench_now_ns();
		for (int i = 0; i < ITERS; i++) {
			uint32_t va = bare_kmap_local(bl, pages[1]);

			bare_kunmap_local(bl, va);
			sink += va;
		}
		b_local = best(b_local, (bench_now_ns() - t0) / ITERS);
	}
	printf("%-8s kmap+kunmap, page in the table   %7.1f ns   bare %6.1f ns   x%.1f\n",
	       pae ? "686-pae" : "686", t_hit, b_hit, t_hit / b_hit);
	printf("%-8s kmap+kunmap, new slot each time  %7.1f ns   bare %6.1f ns   x%.1f\n",
	       pae ? "686-pae" : "686", t_cycle, b_cycle, t_cycle / b_cycle);
	printf("%-8s kmap_local+kunmap_local          %7.1f ns   bare %6.1f ns   x%.1f\n",
	       pae ? "686-pae" : "686", t_local, b_local, t_local / b_local);
	bench_row("highmem",
		  pae ? "686-pae kmap+kunmap, page in the table"
		      : "686 kmap+kunmap, page in the table",
		  t_hit, "ns", "bare pkmap table", b_hit, 0, NULL);
	bench_row("highmem",
		  pae ? "686-pae kmap+kunmap, new slot each time"
		      : "686 kmap+kunmap, new slot each time",
		  t_cycle, "ns", "bare pkmap table", b_cycle, 0, NULL);
	bench_row("highmem",
		  pae ? "686-pae kmap_local+kunmap_local" : "686 kmap_local+kunmap_local", t_local,
		  "ns", "bare kmap_local stack", b_local, 0, NULL);
	if (mm_check(m, NULL)) {
		fprintf(stderr, "bench-highmem: the checker complains after the run\n");
		exit(1);
	}
	(void)sink;
	free(pages);
	free(bp);
	free(bl);
	mm_machine_destroy(m);
}

int main(void)
{
	char cpu[128];

	bench_host_cpu(cpu, sizeof(cpu));
	printf("bench-highmem: %s; ns per map+unmap pair, best of %d runs of %d\n", cpu, RUNS,
	       ITERS);
	run_flavour(false);
	run_flavour(true);
	return 0;
}
