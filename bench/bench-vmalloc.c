/*
 * bench-vmalloc.c - what a vmalloc+vfree pair costs in mmcore, beside a bare reference run
 * in the same process (issue 13). Measured, never asserted, except that mm_check() passes
 * after the runs.
 *
 * Rows (ns per vmalloc+vfree pair, best of several runs), for 1, 16 and 256 pages on a
 * 1 GiB 686 machine and a 1 GiB 686-pae machine, CPU 0:
 *  - mmcore: mm_vmalloc() + mm_vfree(): the lowest-fit search over the free areas, the
 *    pages from the page allocator one by one (HighMem, pcp lists), the PTEs written into
 *    the page tables in emulated RAM, the lazy free and, every lazy_max_pages(), the purge
 *    with its TLB flush, as the kernel does them;
 *  - the page allocator alone: the same number of mm_alloc_pages()+mm_free_pages() pairs
 *    (the floor vmalloc cannot go under);
 *  - bare: a first-fit allocator over a sorted array of free ranges, a stack of frame
 *    numbers and a flat array of 32-bit PTEs, written for comparison: no guard page, no
 *    lazy free, no zones or watermarks, no checks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mmcore.h"

#define RUNS 5
#define GFP_KERNEL_HIGHMEM 0xcc2u

static const unsigned int sizes[] = {1, 16, 256};
static volatile int64_t bare_sink; /* keeps the bare calls' results alive */

/* ---- the bare reference ---------------------------------------------------------------- */

struct bare {
	uint32_t *pte;	  /* one per page of the range */
	uint32_t *frames; /* a stack of free frames */
	uint32_t nr_frames;
	uint32_t free_start[1024], free_end[1024]; /* free ranges, in pages, sorted */
	uint32_t nr_free;
	uint32_t range;
};

static void bare_init(struct bare *b, uint32_t range_pages, uint32_t frames)
{
	uint32_t i;

	b->pte = calloc(range_pages, sizeof(*b->pte));
	b->frames = malloc(frames * sizeof(*b->frames));
	for (i = 0; i < frames; i++)
		b->frames[i] = frames - i;
	b->nr_frames = frames;
	b->free_start[0] = 0;
	b->free_end[0] = range_pages;
	b->nr_free = 1;
	b->range = range_pages;
}

static __attribute__((noinline)) int64_t bare_vmalloc(struct bare *b, uint32_t pages)
{
	uint32_t i, start;

	for (i = 0; i < b->nr_free; i++)
		if (b->free_end[i] - b->free_start[i] >= pages)
			break;
	if (i == b->nr_free || b->nr_frames < pages)
		return -1;
	start = b->free_start[i];
	b->free_start[i] += pages;
	if (b->free_start[i] == b->free_end[i]) {
		memmove(&b->free_start[i], &b->free_start[i + 1], (b->nr_free - i - 1) * 4);
		memmove(&b->free_end[i], &b->free_end[i + 1], (b->nr_free - i - 1) * 4);
		b->nr_free--;
	}
	for (i = 0; i < pages; i++)
		b->pte[start + i] = (b->frames[--b->nr_frames] << 12) | 0x163;
	return start;
}

static __attribute__((noinline)) void bare_vfree(struct bare *b, uint32_t start, uint32_t pages)
{
	uint32_t i;

	for (i = 0; i < pages; i++) {
		b->frames[b->nr_frames++] = b->pte[start + i] >> 12;
		b->pte[start + i] = 0;
	}
	for (i = 0; i < b->nr_free && b->free_start[i] < start; i++)
		;
	if (i > 0 && b->free_end[i - 1] == start) {
		b->free_end[i - 1] += pages;
		if (i < b->nr_free && b->free_start[i] == b->free_end[i - 1]) {
			b->free_end[i - 1] = b->free_end[i];
			memmove(&b->free_start[i], &b->free_start[i + 1], (b->nr_free - i - 1) * 4);
			memmove(&b->free_end[i], &b->free_end[i + 1], (b->nr_free - i - 1) * 4);
			b->nr_free--;
		}
		return;
	}
	if (i < b->nr_free && b->free_start[i] == start + pages) {
		b->free_start[i] = start;
		return;
	}
	memmove(&b->free_start[i + 1], &b->free_start[i], (b->nr_free - i) * 4);
	memmove(&b->free_end[i + 1], &b->free_end[i], (b->nr_free - i) * 4);
	b->free_start[i] = start;
	b->free_end[i] = start + pages;
	b->nr_free++;
}

/* ---- runs ----------------------------------------------------------------------------- */

static unsigned int iters_for(unsigned int pages)
{
	return pages == 1 ? 200000 : pages == 16 ? 40000 : 4000;
}

static double run_mmcore(struct mm_machine *m, unsigned int pages)
{
	struct mm_error err;
	unsigned int i, n = iters_for(pages);
	double best = 1e30;
	int r;

	for (r = 0; r < RUNS; r++) {
		double t0 = bench_now_ns(), t;

		for (i = 0; i < n; i++) {
			uint32_t a;

			if (mm_vmalloc(m, 0, (uint64_t)pages * 4096, false, NULL, &a, &err) ||
			    mm_vfree(m, 0, a, &err)) {
				fprintf(stderr, "bench-vmalloc: %s\n", err.msg);
				exit(1);
			}
		}
		t = (bench_now_ns() - t0) / n;
		best = t < best ? t : best;
	}
	return best;
}

static double run_pages(struct mm_machine *m, unsigned int pages)
{
	struct mm_error err;
	struct mm_page_alloc a[256];
	unsigned int i, k, n = iters_for(pages);
	double best = 1e30;
	int r;

	for (r = 0; r < RUNS; r++) {
		double t0 = bench_now_ns(), t;

		for (i = 0; i < n; i++) {
			for (k = 0; k < pages; k++)
				if (mm_alloc_pages(m, 0, GFP_KERNEL_HIGHMEM, 0, &a[k], &err))
					exit(1);
			for (k = 0; k < pages; k++)
				if (mm_free_pages(m, 0, a[k].pfn, 0, NULL, &err))
					exit(1);
		}
		t = (bench_now_ns() - t0) / n;
		best = t < best ? t : best;
	}
	return best;
}

static double run_bare(unsigned int pages)
{
	struct bare b;
	unsigned int i, n = iters_for(pages);
	double best = 1e30;
	int r;

	bare_init(&b, 30720, 262144);
	for (r = 0; r < RUNS; r++) {
		double t0 = bench_now_ns(), t;

		for (i = 0; i < n; i++) {
			int64_t s = bare_vmalloc(&b, pages);

			bare_sink += s;
			bare_vfree(&b, (uint32_t)s, pages);
		}
		t = (bench_now_ns() - t0) / n;
		best = t < best ? t : best;
	}
	free(b.pte);
	free(b.frames);
	return best;
}

int main(void)
{
	char cpu[128];
	int pae;

	bench_host_cpu(cpu, sizeof(cpu));
	printf("vmalloc+vfree pairs, ns per pair (best of %d), host %s\n", RUNS, cpu);
	printf("%-8s %6s %12s %12s %12s %10s\n", "flavour", "pages", "mmcore", "page-alloc", "bare",
	       "mmcore/bare");
	for (pae = 0; pae <= 1; pae++) {
		struct mm_config cfg;
		struct mm_error err;
		struct mm_machine *m;
		struct mm_report rep = {0};
		unsigned int s;

		mm_config_init(&cfg, pae);
		cfg.mem = 1ull << 30;
		if (mm_machine_create(&cfg, &m, &err)) {
			fprintf(stderr, "bench-vmalloc: %s\n", err.msg);
			return 1;
		}
		for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			double tm = run_mmcore(m, sizes[s]);
			double tp = run_pages(m, sizes[s]);
			double tb = run_bare(sizes[s]);

			printf("%-8s %6u %12.0f %12.0f %12.0f %10.1f\n", pae ? "686-pae" : "686",
			       sizes[s], tm, tp, tb, tm / tb);
			{
				char fig[96];

				snprintf(fig, sizeof(fig), "%s vmalloc+vfree of %u pages",
					 pae ? "686-pae" : "686", sizes[s]);
				bench_row("vmalloc", fig, tm, "ns", "bare first-fit allocator", tb,
					  0, NULL);
			}
		}
		if (mm_check(m, &rep)) {
			fprintf(stderr, "bench-vmalloc: the checker found %u violations\n", rep.nr);
			return 1;
		}
		mm_machine_destroy(m);
	}
	return 0;
}
