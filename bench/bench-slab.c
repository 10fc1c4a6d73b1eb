/*
 * bench-slab.c - what the slab allocator costs per operation (issue 14), beside two bare
 * references measured in the same process: a freelist cache written for comparison and the
 * host's malloc/free. Measured, never asserted, except that mm_check() must pass after the
 * runs: `make bench` prints the figures.
 *
 * Rows (ns per kmalloc+kfree pair on CPU 0, GFP_KERNEL, best of several runs), on a 1 GiB 686
 * machine with 1 CPU:
 *  - 64 B and 4 KiB (the CPU slab's fast paths: pop and push of c->freelist, with kfree's
 *    lookup of the cache from the page and its double-free check), with Debian's
 *    init_on_alloc=1 (the object is zeroed in emulated RAM) and with init_on_alloc=0;
 *  - 64 KiB: kmalloc_large, an order-4 compound page from the page allocator and back (what
 *    kvmalloc tries first);
 *  - kvmalloc+kvfree of 64 KiB: on the same machine (kmalloc_large serves it, through
 *    kvmalloc_node()'s choice and kvfree's is_vmalloc_addr()), and on a 128 MiB machine whose
 *    free memory is all single pages (the kmalloc attempt fails with __GFP_NORETRY, vmalloc
 *    maps 16 pages; kvfree unmaps them and leaves the addresses to the lazy purge, whose
 *    runs are part of the figure), beside malloc/free of 64 KiB.
 * The bare cache is SLUB's fast path alone: one slab of objects in a host buffer, a LIFO
 * freelist threaded through the objects, no lookup, no checks; its calls are kept out of
 * line, as calls into mmcore are.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "mmcore.h"

#define PAIR_ITERS 1000000
#define LARGE_ITERS 100000
#define RUNS 5
#define GFP_KERNEL 0xcc0u
#define BENCH_MIN(a, b) ((a) < (b) ? (a) : (b))

static volatile uintptr_t sink;

/* ---- the bare reference: one slab, a freelist through the objects ---- */

struct bare_cache {
	unsigned char *mem;
	size_t size;
	void *freelist;
	bool zero;
};

static void bare_init(struct bare_cache *c, size_t size, size_t objects, bool zero)
{
	c->mem = malloc(size * objects);
	c->size = size;
	c->zero = zero;
	c->freelist = NULL;
	for (size_t i = objects; i-- > 0;) {
		void *o = c->mem + i * size;

		memcpy(o, &c->freelist, sizeof(void *));
		c->freelist = o;
	}
}

__attribute__((noinline)) static void *bare_alloc(struct bare_cache *c)
{
	void *o = c->freelist;

	memcpy(&c->freelist, o, sizeof(void *));
	if (c->zero)
		memset(o, 0, c->size);
	return o;
}

__attribute__((noinline)) static void bare_free(struct bare_cache *c, void *o)
{
	memcpy(o, &c->freelist, sizeof(void *));
	c->freelist = o;
}

static double bare_pairs(size_t size, bool zero)
{
	struct bare_cache c;
	double best = 1e30;

	bare_init(&c, size, 64, zero);
	for (int run = 0; run < RUNS; run++) {
		double t0 = bench_now_ns();

		for (int i = 0; i < PAIR_ITERS; i++) {
			void *o = bare_alloc(&c);

			sink = (uintptr_t)o;
			bare_free(&c, o);
		}
		best = BENCH_MIN(best, (bench_now_ns() - t0) / PAIR_ITERS);
	}
	free(c.mem);
	return best;
}

static double malloc_pairs(size_t size, int iters)
{
	double best = 1e30;

	for (int run = 0; run < RUNS; run++) {
		double t0 = bench_now_ns();

		for (int i = 0; i < iters; i++) {
			void *o = malloc(size);

			sink = (uintptr_t)o;
			free(o);
		}
		best = BENCH_MIN(best, (bench_now_ns() - t0) / iters);
	}
	return best;
}

/* ---- mmcore ---- */

static struct mm_machine *boot(const char *cmdline)
{
	struct mm_config cfg;
	struct mm_error err;
	struct mm_machine *m;

	mm_config_init(&cfg, false);
	mm_parse_size("1G", &cfg.mem);
	snprintf(cfg.cmdline, sizeof(cfg.cmdline), "%s", cmdline);
	if (mm_machine_create(&cfg, &m, &err)) {
		fprintf(stderr, "bench-slab: boot failed: %s\n", err.msg);
		exit(1);
	}
	return m;
}

static double mm_pairs(struct mm_machine *m, uint32_t size, int iters)
{
	struct mm_kmalloc a;
	struct mm_error err;
	double best = 1e30;

	for (int run = 0; run < RUNS; run++) {
		double t0 = bench_now_ns();

		for (int i = 0; i < iters; i++) {
			if (mm_kmalloc(m, 0, size, GFP_KERNEL, &a, &err) ||
			    mm_kfree(m, 0, a.addr, NULL, &err)) {
				fprintf(stderr, "bench-slab: %s\n", err.msg);
				exit(1);
			}
		}
		best = BENCH_MIN(best, (bench_now_ns() - t0) / iters);
	}
	return best;
}

static double kv_pairs(struct mm_machine *m, uint32_t size, int iters, bool want_vmalloc)
{
	struct mm_kvmalloc a;
	struct mm_error err;
	double best = 1e30;

	for (int run = 0; run < RUNS; run++) {
		double t0 = bench_now_ns();

		for (int i = 0; i < iters; i++) {
			if (mm_kvmalloc(m, 0, size, GFP_KERNEL, &a, &err) ||
			    a.vmalloc != want_vmalloc ||
			    mm_kvfree(m, 0, a.addr, NULL, NULL, &err)) {
				fprintf(stderr, "bench-slab: kvmalloc: %s\n",
					a.vmalloc != want_vmalloc ? "the other allocator served it"
								  : err.msg);
				exit(1);
			}
		}
		best = BENCH_MIN(best, (bench_now_ns() - t0) / iters);
	}
	return best;
}

/* A 128 MiB machine whose free memory is single pages only: every page taken (past the
 * watermarks), the even ones given back, whatever merged taken again. */
static struct mm_machine *fragmented(void)
{
	struct mm_config cfg;
	struct mm_error err;
	struct mm_machine *m;
	struct mm_page_alloc pa;
	const uint32_t take = GFP_KERNEL | 0x20000u | 0x2000u; /* __GFP_MEMALLOC|__GFP_NOWARN */
	static uint32_t pfns[40000];
	unsigned int n = 0;

	mm_config_init(&cfg, false);
	mm_parse_size("128M", &cfg.mem);
	if (mm_machine_create(&cfg, &m, &err)) {
		fprintf(stderr, "bench-slab: boot failed: %s\n", err.msg);
		exit(1);
	}
	while (n < 40000 && !mm_alloc_pages(m, 0, take, 0, &pa, &err))
		pfns[n++] = pa.pfn;
	for (unsigned int i = 0; i < n; i++)
		if (!(pfns[i] & 1))
			mm_free_pages(m, 0, pfns[i], 0, NULL, &err);
	for (unsigned int o = 10; o >= 1; o--)
		while (!mm_alloc_pages(m, 0, take, o, &pa, &err))
			;
	return m;
}

static void check(struct mm_machine *m)
{
	struct mm_report rep = {0};

	if (mm_check(m, &rep)) {
		fprintf(stderr, "bench-slab: the checker found %u violations\n", rep.nr);
		exit(1);
	}
	mm_machine_destroy(m);
}

int main(void)
{
	struct mm_machine *on = boot(""), *off = boot("init_on_alloc=0");
	char cpu[256];
	double b64 = bare_pairs(64, true), b4k = bare_pairs(4096, true);
	double b64n = bare_pairs(64, false), b4kn = bare_pairs(4096, false);
	double m64 = malloc_pairs(64, PAIR_ITERS), m4k = malloc_pairs(4096, PAIR_ITERS);
	double m64k = malloc_pairs(65536, LARGE_ITERS);
	double k64 = mm_pairs(on, 64, PAIR_ITERS), k4k = mm_pairs(on, 4096, PAIR_ITERS);
	double k64n = mm_pairs(off, 64, PAIR_ITERS), k4kn = mm_pairs(off, 4096, PAIR_ITERS);
	double k64k = mm_pairs(on, 65536, LARGE_ITERS);
	struct mm_machine *frag = fragmented();
	double kv64k = kv_pairs(on, 65536, LARGE_ITERS, false);
	double kv64kv = kv_pairs(frag, 65536, LARGE_ITERS / 10, true);

	bench_host_cpu(cpu, sizeof(cpu));
	printf("slab allocator, kmalloc+kfree pairs on CPU 0 of a 1 GiB 686 machine, GFP_KERNEL, "
	       "best of %d runs; host: %s\n",
	       RUNS, cpu);
	printf("%-34s %10s %12s %12s %8s\n", "", "mmcore ns", "bare ns", "malloc ns", "x bare");
	printf("%-34s %10.1f %12.1f %12.1f %8.1f\n", "64 B, init_on_alloc=1 (zeroed)", k64, b64,
	       m64, k64 / b64);
	printf("%-34s %10.1f %12.1f %12.1f %8.1f\n", "64 B, init_on_alloc=0", k64n, b64n, m64,
	       k64n / b64n);
	printf("%-34s %10.1f %12.1f %12.1f %8.1f\n", "4 KiB, init_on_alloc=1 (zeroed)", k4k, b4k,
	       m4k, k4k / b4k);
	printf("%-34s %10.1f %12.1f %12.1f %8.1f\n", "4 KiB, init_on_alloc=0", k4kn, b4kn, m4k,
	       k4kn / b4kn);
	printf("%-34s %10.1f %12s %12.1f %8s\n", "64 KiB (kmalloc_large, order 4)", k64k, "-", m64k,
	       "-");
	printf("%-34s %10.1f %12s %12.1f %8s\n", "64 KiB kvmalloc+kvfree (kmalloc)", kv64k, "-",
	       m64k, "-");
	printf("%-34s %10.1f %12s %12.1f %8s\n", "64 KiB kvmalloc+kvfree (vmalloc)", kv64kv, "-",
	       m64k, "-");
	bench_row("slab", "kmalloc+kfree 64 B (ns)", k64, "ns", "bare freelist cache", b64, 0,
		  NULL);
	bench_row("slab", "kmalloc+kfree 4 KiB (ns)", k4k, "ns", "bare freelist cache", b4k, 0,
		  NULL);
	bench_row("slab", "kmalloc+kfree 64 KiB (ns)", k64k, "ns", "malloc+free 64 KiB", m64k, 0,
		  NULL);
	bench_row("slab", "kvmalloc+kvfree 64 KiB, kmalloc (ns)", kv64k, "ns", "malloc+free 64 KiB",
		  m64k, 0, NULL);
	bench_row("slab", "kvmalloc+kvfree 64 KiB, vmalloc fallback (ns)", kv64kv, "ns",
		  "malloc+free 64 KiB", m64k, 0, NULL);
	check(on);
	check(off);
	check(frag);
	return 0;
}
