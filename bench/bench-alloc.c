/*
 * bench-alloc.c - what the page allocator costs per operation, beside a bare allocator
 * written for comparison and run in the same process (issues 3 and 16). Measured, never
 * asserted, except that mm_check() must pass after the fill/free run: `make bench` prints
 * it, and collects the BENCH-ROW lines (bench.h) into its report.
 *
 * Rows (ns per operation, best of several runs, mmcore's and the bare allocator's runs
 * taking turns so that both meet the same load on a shared host):
 *  - an order-0 and an order-3 alloc+free pair on CPU 0 of a 1 GiB 686 machine, GFP_KERNEL
 *    (served by the Normal zone's pcp lists), with init_on_alloc=0 and with Debian's
 *    default init_on_alloc=1 (zeroing is skipped while the frame's RAM is known zero),
 *    through the public calls mm_alloc_pages() + mm_free_pages(): the figure of issue 16's
 *    goal, within 2x of the bare pair;
 *  - the order-0 pair of the allocator alone: alloc_page_pcp() + free_page_pcp(), the
 *    inline common case those calls take, without their refusals, their answer and the
 *    call itself; the difference to the row above is what the public calls add;
 *  - on a 4 GiB 686 machine (init_on_alloc=0): order-0 GFP_HIGHUSER_MOVABLE allocations
 *    until 1M or failure, then all freed in a fixed-seed random order.
 * The bare allocator is a per-CPU array cache (stacks of pfns, the kernel's pcp high/batch
 * rules with the zone's own high and batch) in front of a binary buddy over a flat array
 * with intrusive doubly linked free lists per order: no zones, no migrate types, no
 * watermarks, no struct page, no counters, no checks. Its calls are kept out of line, as
 * calls into mmcore are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "machine.h"
#include "mmcore.h"
#include "page_alloc.h"

#define PAIR_ITERS 200000 /* short runs: on a shared host one of them meets no other load */
#define PAIR_RUNS 25
#define FILL_MAX 1048576u
#define FILL_RUNS 3

/* GFP_KERNEL, GFP_HIGHUSER_MOVABLE: gfp.h (include/linux/gfp_types.h) */

static volatile uint32_t sink;

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Fisher-Yates with a fixed seed: every run frees in the same order. */
static void shuffle(uint32_t *v, uint32_t n)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	uint32_t i;

	for (i = n; i > 1; i--) {
		uint32_t j = (uint32_t)(xorshift64(&s) % i);
		uint32_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* ==== the bare allocator ================================================================ */

#define BARE_MAX_ORDER 11
#define BARE_PCP_ORDERS 4 /* orders 0..PAGE_ALLOC_COSTLY_ORDER go through the pcp */
#define BARE_NIL UINT32_MAX

struct bare_page {
	uint32_t next, prev; /* free list links */
	uint8_t order;	     /* of the free block it heads */
	uint8_t free;	     /* heads a free block */
};

struct bare_pcp {
	int count; /* pages on all lists */
	int high, batch, free_factor;
	int nr[BARE_PCP_ORDERS];
	uint32_t *stack[BARE_PCP_ORDERS]; /* top = most recently freed */
};

struct bare {
	struct bare_page *map;
	uint32_t nr_pages;
	uint32_t free_head[BARE_MAX_ORDER];
	struct bare_pcp pcp; /* one CPU */
};

static void bare_list_add(struct bare *b, uint32_t pfn, unsigned int order)
{
	struct bare_page *p = &b->map[pfn];
	uint32_t head = b->free_head[order];

	p->prev = BARE_NIL;
	p->next = head;
	if (head != BARE_NIL)
		b->map[head].prev = pfn;
	b->free_head[order] = pfn;
	p->order = (uint8_t)order;
	p->free = 1;
}

static void bare_list_del(struct bare *b, uint32_t pfn, unsigned int order)
{
	struct bare_page *p = &b->map[pfn];

	if (p->prev != BARE_NIL)
		b->map[p->prev].next = p->next;
	else
		b->free_head[order] = p->next;
	if (p->next != BARE_NIL)
		b->map[p->next].prev = p->prev;
	p->free = 0;
}

static void bare_buddy_free(struct bare *b, uint32_t pfn, unsigned int order)
{
	while (order < BARE_MAX_ORDER - 1) {
		uint32_t buddy = pfn ^ (1u << order);

		if (buddy >= b->nr_pages || !b->map[buddy].free || b->map[buddy].order != order)
			break;
		bare_list_del(b, buddy, order);
		pfn &= buddy;
		order++;
	}
	bare_list_add(b, pfn, order);
}

static uint32_t bare_buddy_alloc(struct bare *b, unsigned int order)
{
	unsigned int co;
	uint32_t pfn;

	for (co = order; co < BARE_MAX_ORDER; co++)
		if (b->free_head[co] != BARE_NIL)
			break;
	if (co == BARE_MAX_ORDER)
		return BARE_NIL;
	pfn = b->free_head[co];
	bare_list_del(b, pfn, co);
	while (co > order) {
		co--;
		bare_list_add(b, pfn + (1u << co), co);
	}
	return pfn;
}

/* free_pcppages_bulk(): @count pages from the oldest ends of the lists, starting with
 * the list of @order, round-robin. */
static void bare_pcp_drain(struct bare *b, int count, unsigned int order)
{
	struct bare_pcp *pcp = &b->pcp;

	if (count > pcp->count)
		count = pcp->count;
	while (count > 0) {
		int take, i, n;

		while (!pcp->nr[order])
			order = (order + 1) % BARE_PCP_ORDERS;
		n = pcp->nr[order];
		take = (count + (1 << order) - 1) >> order;
		if (take > n)
			take = n;
		for (i = 0; i < take; i++)
			bare_buddy_free(b, pcp->stack[order][i], order);
		memmove(pcp->stack[order], pcp->stack[order] + take,
			(size_t)(n - take) * sizeof(uint32_t));
		pcp->nr[order] = n - take;
		pcp->count -= take << order;
		count -= take << order;
		order = (order + 1) % BARE_PCP_ORDERS;
	}
}

static __attribute__((noinline)) uint32_t bare_alloc(struct bare *b, unsigned int order)
{
	struct bare_pcp *pcp = &b->pcp;
	int n;

	if (order >= BARE_PCP_ORDERS)
		return bare_buddy_alloc(b, order);
	pcp->free_factor >>= 1;
	n = pcp->nr[order];
	if (!n) { /* rmqueue_bulk(): a batch scaled to the order */
		int batch = pcp->batch > 1 ? pcp->batch >> order : pcp->batch;

		if (pcp->batch > 1 && batch < 2)
			batch = 2;
		while (n < batch) {
			uint32_t pfn = bare_buddy_alloc(b, order);

			if (pfn == BARE_NIL)
				break;
			pcp->stack[order][n++] = pfn;
		}
		if (!n)
			return BARE_NIL;
		pcp->count += n << order;
	}
	pcp->nr[order] = --n;
	pcp->count -= 1 << order;
	return pcp->stack[order][n];
}

static __attribute__((noinline)) void bare_free(struct bare *b, uint32_t pfn, unsigned int order)
{
	struct bare_pcp *pcp = &b->pcp;
	int high, batch, nr;
	bool free_high;

	if (order >= BARE_PCP_ORDERS) {
		bare_buddy_free(b, pfn, order);
		return;
	}
	pcp->stack[order][pcp->nr[order]++] = pfn;
	pcp->count += 1 << order;
	/* nr_pcp_high() and nr_pcp_free(), as mm/page_alloc.c */
	free_high = pcp->free_factor && order;
	high = free_high ? 0 : pcp->high;
	if (pcp->count < high)
		return;
	batch = pcp->batch;
	if (free_high) {
		nr = pcp->count;
	} else if (high < batch) {
		nr = 1;
	} else {
		int max_nr = high - batch;

		batch <<= pcp->free_factor;
		if (batch < max_nr)
			pcp->free_factor++;
		nr = batch < max_nr ? batch : max_nr;
		if (nr < pcp->batch)
			nr = pcp->batch;
	}
	bare_pcp_drain(b, nr, order);
}

/* @nr_pages frames, all free, in the largest aligned blocks; pcp with @high/@batch. */
static int bare_init(struct bare *b, uint32_t nr_pages, int high, int batch)
{
	uint32_t pfn = 0;
	unsigned int o;
	int cap = high + 2 * batch + 2;

	memset(b, 0, sizeof(*b));
	b->nr_pages = nr_pages;
	b->map = calloc(nr_pages, sizeof(*b->map));
	if (!b->map)
		return -1;
	for (o = 0; o < BARE_MAX_ORDER; o++)
		b->free_head[o] = BARE_NIL;
	for (o = 0; o < BARE_PCP_ORDERS; o++) {
		b->pcp.stack[o] = malloc((size_t)cap * sizeof(uint32_t));
		if (!b->pcp.stack[o])
			return -1;
	}
	b->pcp.high = high;
	b->pcp.batch = batch;
	while (pfn < nr_pages) {
		o = BARE_MAX_ORDER - 1;
		while ((pfn & ((1u << o) - 1)) || pfn + (1u << o) > nr_pages)
			o--;
		bare_buddy_free(b, pfn, o);
		pfn += 1u << o;
	}
	return 0;
}

static void bare_finish(struct bare *b)
{
	unsigned int o;

	for (o = 0; o < BARE_PCP_ORDERS; o++)
		free(b->pcp.stack[o]);
	free(b->map);
}

/* ==== measurements ====================================================================== */

struct fill_result {
	uint32_t n;	  /* allocations made */
	double alloc_ns;  /* per allocation, best run */
	double free_ns;	  /* per free, best run */
	bool check_ok;	  /* mm_check() passed after every run */
	uint32_t managed; /* pages the zones manage */
	int high, batch;  /* HighMem pcp of CPU 0 */
};

static int boot(const char *mem, const char *cmdline, struct mm_machine **m)
{
	struct mm_config cfg;
	struct mm_error err;

	mm_config_init(&cfg, false);
	mm_parse_size(mem, &cfg.mem);
	snprintf(cfg.cmdline, sizeof(cfg.cmdline), "%s", cmdline);
	if (mm_machine_create(&cfg, m, &err)) {
		fprintf(stderr, "bench-alloc: booting %s 686 (%s): %s\n", mem, cmdline, err.msg);
		return -1;
	}
	return 0;
}

/* ns per alloc+free pair of @order on CPU 0 of @m, one run; < 0 on a failed call. */
static double mm_pair(struct mm_machine *m, unsigned int order)
{
	struct mm_page_alloc a;
	struct mm_error err;
	double t0 = bench_now_ns();
	int i;

	for (i = 0; i < PAIR_ITERS; i++) {
		if (mm_alloc_pages(m, 0, GFP_KERNEL, order, &a, &err) ||
		    mm_free_pages(m, 0, a.pfn, order, NULL, &err)) {
			fprintf(stderr, "bench-alloc: order-%u pair: %s\n", order, err.msg);
			return -1;
		}
		sink = a.pfn;
	}
	return (bench_now_ns() - t0) / PAIR_ITERS;
}

/* The allocator alone, one run: the inline common case of the two calls above, which
 * must take it every time here (< 0 if it declines: then this row measures nothing). */
static double core_pair(struct mm_machine *m)
{
	double t0 = bench_now_ns();
	int i;

	for (i = 0; i < PAIR_ITERS; i++) {
		pfn_t pfn = alloc_page_pcp(m, GFP_KERNEL, 0);

		if (pfn == PFN_NIL || !free_page_pcp(m, pfn, 0)) {
			fprintf(stderr, "bench-alloc: alloc_page_pcp/free_page_pcp declined\n");
			return -1;
		}
		sink = pfn;
	}
	return (bench_now_ns() - t0) / PAIR_ITERS;
}

static double bare_pair(struct bare *b, unsigned int order)
{
	double t0 = bench_now_ns();
	int i;

	for (i = 0; i < PAIR_ITERS; i++) {
		uint32_t pfn = bare_alloc(b, order);

		if (pfn == BARE_NIL) {
			fprintf(stderr, "bench-alloc: bare order-%u pair failed\n", order);
			return -1;
		}
		bare_free(b, pfn, order);
		sink = pfn;
	}
	return (bench_now_ns() - t0) / PAIR_ITERS;
}

/* Keep the best (lowest) of @t into *@best; false when the run failed. */
static bool best_of(double *best, double t)
{
	if (t < 0)
		return false;
	if (t < *best)
		*best = t;
	return true;
}

/* Fill/free on fresh 4 GiB 686 machines; @pfns holds FILL_MAX entries. */
static int mm_fill(uint32_t *pfns, struct fill_result *r)
{
	int run;

	r->alloc_ns = r->free_ns = 1e30;
	r->check_ok = true;
	for (run = 0; run < FILL_RUNS; run++) {
		struct mm_machine *m;
		struct mm_page_alloc a;
		struct mm_error err;
		struct mm_report rep = {0};
		double t0, t1;
		uint32_t n = 0, i;

		if (boot("4G", "init_on_alloc=0", &m))
			return -1;
		if (run == 0) {
			struct mm_zone_info zi;
			int z;

			r->managed = 0;
			for (z = 0; z < MM_NR_ZONES; z++)
				if (!mm_get_zone(m, z, &zi))
					r->managed += zi.managed;
			mm_get_zone(m, MM_ZONE_HIGHMEM, &zi);
			r->high = zi.pcp[0].high;
			r->batch = zi.pcp[0].batch;
		}
		t0 = bench_now_ns();
		while (n < FILL_MAX && !mm_alloc_pages(m, 0, GFP_HIGHUSER_MOVABLE, 0, &a, NULL))
			pfns[n++] = a.pfn;
		t1 = bench_now_ns();
		if ((t1 - t0) / n < r->alloc_ns)
			r->alloc_ns = (t1 - t0) / n;
		r->n = n;
		shuffle(pfns, n);
		t0 = bench_now_ns();
		for (i = 0; i < n; i++)
			if (mm_free_pages(m, 0, pfns[i], 0, NULL, &err)) {
				fprintf(stderr, "bench-alloc: free of pfn %#x: %s\n", pfns[i],
					err.msg);
				mm_machine_destroy(m);
				return -1;
			}
		t1 = bench_now_ns();
		if ((t1 - t0) / n < r->free_ns)
			r->free_ns = (t1 - t0) / n;
		if (mm_check(m, &rep)) {
			fprintf(stderr, "bench-alloc: mm_check after fill/free: %u violations\n",
				rep.nr);
			r->check_ok = false;
		}
		mm_machine_destroy(m);
	}
	return 0;
}

/* The same number of allocations as mmcore made, over as many pages as its zones manage. */
static int bare_fill(uint32_t *pfns, const struct fill_result *mr, struct fill_result *r)
{
	int run;

	*r = *mr;
	r->alloc_ns = r->free_ns = 1e30;
	for (run = 0; run < FILL_RUNS; run++) {
		struct bare b;
		double t0, t1;
		uint32_t i;

		if (bare_init(&b, mr->managed, mr->high, mr->batch)) {
			fprintf(stderr, "bench-alloc: out of host memory\n");
			return -1;
		}
		t0 = bench_now_ns();
		for (i = 0; i < mr->n; i++) {
			pfns[i] = bare_alloc(&b, 0);
			if (pfns[i] == BARE_NIL) {
				fprintf(stderr, "bench-alloc: bare fill failed after %u\n", i);
				bare_finish(&b);
				return -1;
			}
		}
		t1 = bench_now_ns();
		if ((t1 - t0) / mr->n < r->alloc_ns)
			r->alloc_ns = (t1 - t0) / mr->n;
		shuffle(pfns, mr->n);
		t0 = bench_now_ns();
		for (i = 0; i < mr->n; i++)
			bare_free(&b, pfns[i], 0);
		t1 = bench_now_ns();
		if ((t1 - t0) / mr->n < r->free_ns)
			r->free_ns = (t1 - t0) / mr->n;
		bare_finish(&b);
	}
	return 0;
}

static void row(const char *what, double mm, double bare, const char *goal)
{
	printf("%-52s %10.1f %10.1f %8.2fx\n", what, mm, bare, mm / bare);
	bench_row("alloc", what, mm, "ns", "bare pcp+buddy, same process", bare, 0, goal);
}

int main(void)
{
	static const char *const init[2] = {"init_on_alloc=0", "init_on_alloc=1 (default)"};
	double mm[2][2], bare[2], core = 1e30; /* [init_on_alloc][order 0, 3] */
	struct mm_machine *m[2];
	struct fill_result mf, bf;
	struct mm_zone_info zi;
	struct bare b;
	uint32_t *pfns;
	char cpu[128], what[96];
	int i, run;
	bool ok = true;

	for (i = 0; i < 2; i++)
		if (boot("1G", i ? "" : "init_on_alloc=0", &m[i]))
			return 1;
	mm_get_zone(m[0], MM_ZONE_NORMAL, &zi);
	if (bare_init(&b, zi.managed, zi.pcp[0].high, zi.pcp[0].batch)) {
		fprintf(stderr, "bench-alloc: out of host memory\n");
		return 1;
	}
	mm[0][0] = mm[0][1] = mm[1][0] = mm[1][1] = bare[0] = bare[1] = 1e30;
	for (run = 0; run < PAIR_RUNS && ok; run++) /* in turns: the same load for each */
		ok = best_of(&mm[0][0], mm_pair(m[0], 0)) && best_of(&core, core_pair(m[0])) &&
		     best_of(&bare[0], bare_pair(&b, 0)) && best_of(&mm[1][0], mm_pair(m[1], 0)) &&
		     best_of(&mm[0][1], mm_pair(m[0], 3)) && best_of(&bare[1], bare_pair(&b, 3)) &&
		     best_of(&mm[1][1], mm_pair(m[1], 3));
	bare_finish(&b);
	for (i = 0; i < 2; i++)
		mm_machine_destroy(m[i]);
	if (!ok)
		return 1;

	pfns = malloc(FILL_MAX * sizeof(*pfns));
	if (!pfns || mm_fill(pfns, &mf) || bare_fill(pfns, &mf, &bf))
		return 1;
	free(pfns);

	bench_host_cpu(cpu, sizeof(cpu));
	printf("host: %s; ns per operation, best of %d runs (pairs: %d each, fill: %d runs)\n", cpu,
	       PAIR_RUNS, PAIR_ITERS, FILL_RUNS);
	printf("pairs: 1G 686, 1 CPU, GFP_KERNEL on CPU 0, Normal zone pcp high %d batch %d\n",
	       zi.pcp[0].high, zi.pcp[0].batch);
	printf("fill:  4G 686, 1 CPU, init_on_alloc=0, GFP_HIGHUSER_MOVABLE, HighMem pcp high %d "
	       "batch %d; bare over %u pages\n",
	       mf.high, mf.batch, mf.managed);
	printf("bare:  pcp stacks (same high/batch) + binary buddy, no zeroing, no checks\n\n");
	printf("%-52s %10s %10s %9s\n", "operation", "mmcore", "bare", "ratio");
	for (i = 0; i < 2; i++) {
		snprintf(what, sizeof(what), "order-0 alloc+free pair, %s", init[i]);
		row(what, mm[i][0], bare[0], "<= 2x");
	}
	row("order-0 pair, the allocator alone (no API)", core, bare[0], NULL);
	for (i = 0; i < 2; i++) {
		snprintf(what, sizeof(what), "order-3 alloc+free pair, %s", init[i]);
		row(what, mm[i][1], bare[1], NULL);
	}
	snprintf(what, sizeof(what), "fill %u frames (until %s): per alloc", mf.n,
		 mf.n < FILL_MAX ? "failure" : "1M");
	row(what, mf.alloc_ns, bf.alloc_ns, NULL);
	snprintf(what, sizeof(what), "free them in random order: per free");
	row(what, mf.free_ns, bf.free_ns, NULL);
	printf("\norder-0 pair goal (issues 3, 16): within 2x of bare: %s (%.2fx; the allocator "
	       "alone %.2fx)\n",
	       mm[0][0] <= 2 * bare[0] ? "met" : "NOT met", mm[0][0] / bare[0], core / bare[0]);
	printf("mm_check() after each fill/free run: %s\n", mf.check_ok ? "clean" : "VIOLATIONS");
	return mf.check_ok ? 0 : 1;
}
