/*
 * bench-mmu.c - what a kernel-virtual memory access costs in mmcore (the TLB, the page walk),
 * beside a bare soft TLB and page walk written for comparison and run in the same process
 * (issue 4). Measured, never asserted: `make bench` prints it.
 *
 * Every row is a 4-byte read, mm_mem_read(m, 0, MM_SPACE_KERNEL, va, 4, buf), on CPU 0 of a
 * fully booted 1 GiB 686 or 8 GiB 686-pae machine (64 TLB entries: 16 sets of 4 ways for
 * 4 KiB pages, 8 fully associative for large pages), in ns per read, best of RUNS runs:
 *  - hits: the same address, 8 addresses in 8 small pages of 8 sets, 4 addresses in 4
 *    large pages; all stay in the TLB;
 *  - misses: every 4 KiB-mapped page of the direct map in turn (far more than 64), every
 *    large page of the direct map in turn (far more than 8): each read misses and walks;
 *  - invlpg alone (the entry already gone), and invlpg + read of one address, whose
 *    difference is the read after an invlpg (invlpg of a present entry costs a little more
 *    than of an absent one, so the difference overstates the read slightly).
 * The bare MMU: a flat byte array of the same size as the machine's RAM holding a real
 * 2-level x86 page directory built here in the shape of the 686 direct map (4 KiB page
 * tables for the first 4 MiB, the 4 MiB after the kernel image and the last partial 4 MiB of
 * lowmem, 4 MiB PSE pages elsewhere, the kernel text read-only); a TLB of the same geometry
 * and LRU rule; a walk that checks present, RW (CR0.WP) and NX and nothing else (no
 * accessed/dirty bits, no counters but hits and misses). Its calls are kept out of line, as
 * calls into mmcore are. The 686-pae rows are compared with the same 2-level bare MMU: the
 * hit path does not depend on the paging mode; a PAE walk reads one level more.
 * Before the miss rows, each page they read is touched once (the same bytes written back,
 * by physical address) in both, so both read distinct host frames, not the zero page.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "mmcore.h"

#define ITERS 2000000
#define RUNS 7
#define MAX_PAGES 4096
#define PAGE_OFFSET 0xc0000000u

static volatile uint32_t sink;

/* ==== the bare MMU ====================================================================== */

/* The bare MMU's entry points are compiled as calls into a library are: out of line and,
 * with GCC, not specialised for the constant arguments of this file's callers either. */
#if defined(__GNUC__) && !defined(__clang__)
#define BARE_CALL __attribute__((noipa))
#else
#define BARE_CALL __attribute__((noinline))
#endif

#define BARE_SETS 16 /* 64 entries, 4-way */
#define BARE_WAYS 4
#define BARE_LARGE 8 /* fully associative, for 4 MiB pages */

#define BARE_P 0x001u
#define BARE_RW 0x002u
#define BARE_PSE 0x080u
#define BARE_G 0x100u

enum { BARE_READ, BARE_WRITE, BARE_EXEC };

struct bare_tlb_entry {
	uint32_t vpn, pfn, stamp;
	uint8_t valid, shift, rw, nx;
};

struct bare_mmu {
	uint8_t *ram;
	uint64_t ram_size;
	uint32_t cr3;
	bool wp, nxe;
	struct bare_tlb_entry small[BARE_SETS][BARE_WAYS];
	struct bare_tlb_entry large[BARE_LARGE];
	uint32_t clock;
	uint64_t hits, misses;
};

static struct bare_tlb_entry *bare_tlb_find(struct bare_mmu *b, uint32_t va)
{
	uint32_t vpn = va >> 12;
	struct bare_tlb_entry *set = b->small[vpn % BARE_SETS];
	unsigned int i;

	for (i = 0; i < BARE_WAYS; i++)
		if (set[i].valid && set[i].vpn == vpn)
			return &set[i];
	for (i = 0; i < BARE_LARGE; i++)
		if (b->large[i].valid && (b->large[i].vpn >> 10) == (vpn >> 10))
			return &b->large[i];
	return NULL;
}

/* The 2-level walk: 0 with @e filled (not yet in the TLB), or -EFAULT (not present). */
static int bare_walk(const struct bare_mmu *b, uint32_t va, struct bare_tlb_entry *e)
{
	uint32_t pde, pte, pt;
	uint64_t a = (b->cr3 & 0xfffff000u) + (va >> 22) * 4;

	if (a + 4 > b->ram_size)
		return -EFAULT;
	memcpy(&pde, b->ram + a, 4);
	if (!(pde & BARE_P))
		return -EFAULT;
	e->vpn = va >> 12;
	e->nx = 0; /* 2-level entries have no NX bit */
	if (pde & BARE_PSE) {
		e->vpn &= ~0x3ffu;
		e->pfn = (pde & 0xffc00000u) >> 12;
		e->shift = 22;
		e->rw = !!(pde & BARE_RW);
		return 0;
	}
	pt = pde & 0xfffff000u;
	a = (uint64_t)pt + ((va >> 12) & 1023) * 4;
	if (a + 4 > b->ram_size)
		return -EFAULT;
	memcpy(&pte, b->ram + a, 4);
	if (!(pte & BARE_P))
		return -EFAULT;
	e->pfn = pte >> 12;
	e->shift = 12;
	e->rw = !!(pde & pte & BARE_RW);
	return 0;
}

/* Cache @n (from a walk): a free way of its set, else the least recently used one. */
static struct bare_tlb_entry *bare_tlb_fill(struct bare_mmu *b, const struct bare_tlb_entry *n)
{
	struct bare_tlb_entry *slots, *victim;
	unsigned int i, ways;

	if (n->shift == 12) {
		slots = b->small[n->vpn % BARE_SETS];
		ways = BARE_WAYS;
	} else {
		slots = b->large;
		ways = BARE_LARGE;
	}
	victim = &slots[0];
	for (i = 0; i < ways; i++) {
		if (!slots[i].valid) {
			victim = &slots[i];
			break;
		}
		if (slots[i].stamp < victim->stamp)
			victim = &slots[i];
	}
	*victim = *n;
	victim->valid = 1;
	victim->stamp = ++b->clock;
	return victim;
}

static bool bare_allowed(const struct bare_mmu *b, const struct bare_tlb_entry *e, int access)
{
	if (access == BARE_WRITE && !e->rw && b->wp)
		return false;
	if (access == BARE_EXEC && e->nx && b->nxe)
		return false;
	return true;
}

/* Physical address of @va for @access through the TLB (filled on a miss); -EFAULT. */
static int bare_translate(struct bare_mmu *b, uint32_t va, int access, uint64_t *pa)
{
	struct bare_tlb_entry *e = bare_tlb_find(b, va), n;

	if (e) {
		b->hits++;
		e->stamp = ++b->clock;
	} else {
		if (bare_walk(b, va, &n))
			return -EFAULT;
		b->misses++;
		e = bare_tlb_fill(b, &n);
	}
	if (!bare_allowed(b, e, access))
		return -EFAULT;
	*pa = ((uint64_t)e->pfn << 12) | (va & ((1u << e->shift) - 1));
	return 0;
}

/* Read (@out) or write (@in) @len bytes at kernel virtual @va, page by page. */
static BARE_CALL int bare_mem_access(struct bare_mmu *b, uint32_t va, size_t len, void *out,
				     const void *in)
{
	int access = in ? BARE_WRITE : BARE_READ;
	size_t done = 0;

	while (done < len) {
		uint32_t a = va + (uint32_t)done;
		size_t chunk = 4096 - (a & 4095);
		uint64_t pa;

		if (chunk > len - done)
			chunk = len - done;
		if (bare_translate(b, a, access, &pa) || pa + chunk > b->ram_size)
			return -EFAULT;
		if (in)
			memcpy(b->ram + pa, (const uint8_t *)in + done, chunk);
		else
			memcpy((uint8_t *)out + done, b->ram + pa, chunk);
		done += chunk;
	}
	return 0;
}

static BARE_CALL void bare_invlpg(struct bare_mmu *b, uint32_t va)
{
	struct bare_tlb_entry *e;

	while ((e = bare_tlb_find(b, va)) != NULL)
		e->valid = 0;
}

/*
 * @ram_size bytes of RAM; lowmem [0, @lowmem) mapped at PAGE_OFFSET by a page directory at
 * @pgd whose page tables follow it. 4 KiB pages in the first 4 MiB, in [@small, @small + 4M)
 * and in the last partial 4 MiB; 4 MiB pages elsewhere, read-only in [@ro, @ro_end).
 */
static int bare_init(struct bare_mmu *b, uint64_t ram_size, uint32_t lowmem, uint32_t pgd,
		     uint32_t small, uint32_t ro, uint32_t ro_end)
{
	uint32_t pt = pgd + 4096, pa;

	memset(b, 0, sizeof(*b));
	b->ram = calloc(1, ram_size); /* lazily committed by the host, as mmcore's RAM */
	if (!b->ram)
		return -ENOMEM;
	b->ram_size = ram_size;
	b->cr3 = pgd;
	b->wp = b->nxe = true;
	for (pa = 0; pa < lowmem; pa += 4u << 20) {
		uint32_t pde_i = (PAGE_OFFSET + pa) >> 22, pde, i;
		bool rw = pa < ro || pa >= ro_end;

		if (pa != 0 && pa != small && pa + (4u << 20) <= lowmem) {
			pde = pa | BARE_P | BARE_PSE | BARE_G | (rw ? BARE_RW : 0);
			memcpy(b->ram + pgd + pde_i * 4, &pde, 4);
			continue;
		}
		for (i = 0; i < 1024 && pa + i * 4096 < lowmem; i++) {
			uint32_t pte = (pa + i * 4096) | BARE_P | BARE_G | (rw ? BARE_RW : 0);

			memcpy(b->ram + pt + i * 4, &pte, 4);
		}
		pde = pt | BARE_P | BARE_RW | 0x060u; /* _KERNPG_TABLE */
		memcpy(b->ram + pgd + pde_i * 4, &pde, 4);
		pt += 4096;
	}
	return 0;
}

static void bare_finish(struct bare_mmu *b)
{
	free(b->ram);
}

/* The first virtual address of every present 4 KiB (@large false) or 4 MiB page of the
 * kernel half, read from the bare page directory; at most MAX_PAGES. */
static uint32_t bare_pages(const struct bare_mmu *b, bool large, uint32_t *va)
{
	uint32_t n = 0, i, j;

	for (i = PAGE_OFFSET >> 22; i < 1024 && n < MAX_PAGES; i++) {
		uint32_t pde;

		memcpy(&pde, b->ram + b->cr3 + i * 4, 4);
		if (!(pde & BARE_P))
			continue;
		if (pde & BARE_PSE) {
			if (large)
				va[n++] = i << 22;
			continue;
		}
		for (j = 0; !large && j < 1024 && n < MAX_PAGES; j++) {
			uint32_t pte;

			memcpy(&pte, b->ram + (pde & 0xfffff000u) + j * 4, 4);
			if (pte & BARE_P)
				va[n++] = (i << 22) | (j << 12);
		}
	}
	return n;
}

/* ==== measurements ====================================================================== */

enum pattern {
	PAT_READ,	 /* read va[0], va[1], ..., va[n - 1], va[0], ... */
	PAT_INVLPG,	 /* invlpg va[0] */
	PAT_INVLPG_READ, /* invlpg va[0], read va[0] */
};

struct result {
	double ns;	   /* per iteration, best run */
	double miss_ratio; /* TLB misses per read (all runs) */
};

static struct mm_machine *boot(const char *mem, bool pae)
{
	struct mm_config cfg;
	struct mm_machine *m;
	struct mm_error err;

	mm_config_init(&cfg, pae);
	mm_parse_size(mem, &cfg.mem);
	if (mm_machine_create(&cfg, &m, &err)) {
		fprintf(stderr, "bench-mmu: booting %s %s: %s\n", mem, pae ? "686-pae" : "686",
			err.msg);
		return NULL;
	}
	return m;
}

static uint64_t mm_misses(const struct mm_machine *m)
{
	struct mm_cpu_info ci;

	return mm_get_cpu(m, 0, &ci, NULL) ? 0 : ci.tlb_misses;
}

static int mm_run(struct mm_machine *m, enum pattern p, const uint32_t *va, uint32_t n,
		  struct result *r)
{
	uint64_t misses = mm_misses(m);
	struct mm_error err;
	uint32_t buf = 0, j = 0, i, at = va[0];
	int run, ret = 0;

	r->ns = 1e30;
	for (run = 0; run < RUNS; run++) {
		double t0 = bench_now_ns(), t;

		switch (p) {
		case PAT_READ:
			for (i = 0; i < ITERS && !ret; i++) {
				at = va[j];
				ret = mm_mem_read(m, 0, MM_SPACE_KERNEL, at, 4, &buf, &err);
				sink = buf;
				if (++j == n)
					j = 0;
			}
			break;
		case PAT_INVLPG:
			for (i = 0; i < ITERS && !ret; i++)
				ret = mm_invlpg(m, 0, va[0], &err);
			break;
		case PAT_INVLPG_READ:
			for (i = 0; i < ITERS && !ret; i++) {
				ret = mm_invlpg(m, 0, va[0], &err) ||
				      mm_mem_read(m, 0, MM_SPACE_KERNEL, va[0], 4, &buf, &err);
				sink = buf;
			}
			break;
		}
		if (ret) {
			fprintf(stderr, "bench-mmu: mmcore at %#x: %s\n", at, err.msg);
			return -1;
		}
		t = (bench_now_ns() - t0) / ITERS;
		if (t < r->ns)
			r->ns = t;
	}
	r->miss_ratio = p == PAT_INVLPG ? 0 : (double)(mm_misses(m) - misses) / (RUNS * ITERS);
	return 0;
}

static int bare_run(struct bare_mmu *b, enum pattern p, const uint32_t *va, uint32_t n,
		    struct result *r)
{
	uint64_t misses = b->misses;
	uint32_t buf = 0, j = 0, i, at = va[0];
	int run, ret = 0;

	r->ns = 1e30;
	for (run = 0; run < RUNS; run++) {
		double t0 = bench_now_ns(), t;

		switch (p) {
		case PAT_READ:
			for (i = 0; i < ITERS && !ret; i++) {
				at = va[j];
				ret = bare_mem_access(b, at, 4, &buf, NULL);
				sink = buf;
				if (++j == n)
					j = 0;
			}
			break;
		case PAT_INVLPG:
			for (i = 0; i < ITERS; i++)
				bare_invlpg(b, va[0]);
			break;
		case PAT_INVLPG_READ:
			for (i = 0; i < ITERS && !ret; i++) {
				bare_invlpg(b, va[0]);
				ret = bare_mem_access(b, va[0], 4, &buf, NULL);
				sink = buf;
			}
			break;
		}
		if (ret) {
			fprintf(stderr, "bench-mmu: bare read at %#x faulted\n", at);
			return -1;
		}
		t = (bench_now_ns() - t0) / ITERS;
		if (t < r->ns)
			r->ns = t;
	}
	r->miss_ratio = p == PAT_INVLPG ? 0 : (double)(b->misses - misses) / (RUNS * ITERS);
	return 0;
}

/* The first virtual address of every present 4 KiB (@large false) or large page of the
 * direct map in @m's kernel page tables (its own dump); at most MAX_PAGES. */
static uint32_t mm_pages(const struct mm_machine *m, bool large, uint32_t *va)
{
	struct mm_page_tables pt;
	struct mm_error err;
	uint32_t n = 0, i;

	if (mm_page_tables_get(m, &pt, &err)) {
		fprintf(stderr, "bench-mmu: page tables: %s\n", err.msg);
		return 0;
	}
	for (i = 0; i < pt.nr_ranges && n < MAX_PAGES; i++) {
		const struct mm_pt_range *rg = &pt.ranges[i];
		uint64_t step = large ? (pt.pae ? 2u << 20 : 4u << 20) : 4096, a;

		/* the direct map only (not the fixmap): va - PAGE_OFFSET is the address */
		if (!rg->mapped || rg->large != large || rg->va_start < PAGE_OFFSET ||
		    !rg->contiguous || rg->phys != rg->va_start - PAGE_OFFSET)
			continue;
		for (a = rg->va_start; a < rg->va_end && n < MAX_PAGES; a += step)
			va[n++] = (uint32_t)a;
	}
	mm_page_tables_free(&pt);
	return n;
}

/* Fault in the host frame behind each address of @va (its bytes written back as they are),
 * through the physical address so nothing of the emulated MMU changes. */
static int mm_touch(struct mm_machine *m, const uint32_t *va, uint32_t n)
{
	struct mm_error err;
	uint32_t i, v;

	for (i = 0; i < n; i++) {
		uint64_t pa = va[i] - PAGE_OFFSET;

		int r = mm_mem_read(m, 0, MM_SPACE_PHYS, pa, 4, &v, &err);

		/* a frame the kernel owns refuses a physical write (-EBUSY): the boot wrote it */
		if (!r)
			r = mm_mem_write(m, 0, MM_SPACE_PHYS, pa, &v, 4, &err);
		if (r && r != -EBUSY) {
			fprintf(stderr, "bench-mmu: touching %#llx: %s\n", (unsigned long long)pa,
				err.msg);
			return -1;
		}
	}
	return 0;
}

static void bare_touch(struct bare_mmu *b, const uint32_t *va, uint32_t n)
{
	volatile uint8_t *ram = b->ram;
	uint32_t i;

	for (i = 0; i < n; i++)
		ram[va[i] - PAGE_OFFSET] = ram[va[i] - PAGE_OFFSET];
}

/* The rows, in the order printed. */
enum {
	ROW_HIT_1,
	ROW_HIT_8,
	ROW_HIT_LARGE,
	ROW_INVLPG,
	ROW_INVLPG_READ,
	ROW_AFTER_INVLPG, /* computed: ROW_INVLPG_READ - ROW_INVLPG */
	ROW_MISS_4K,
	ROW_MISS_LARGE,
	NR_ROWS
};

struct addrs {
	uint32_t hit8[8], hit_large[4];
	uint32_t *small, *large;
	uint32_t nr_small, nr_large;
};

/* Addresses in the direct map: 0x100 into the pages (the large ones from @large). */
static int addrs_init(struct addrs *a, uint32_t nr_large)
{
	uint32_t i;

	if (nr_large < 8)
		return -1;
	for (i = 0; i < 8; i++)
		a->hit8[i] = PAGE_OFFSET + 0x100000 + i * 4096 + 0x100;
	for (i = 0; i < 4; i++)
		a->hit_large[i] = a->large[i * 2 + 1] + 0x100;
	for (i = 0; i < a->nr_small; i++)
		a->small[i] += 0x100;
	for (i = 0; i < a->nr_large; i++)
		a->large[i] += 0x100;
	return 0;
}

static int mm_rows(struct mm_machine *m, const struct addrs *a, struct result *r)
{
	if (mm_run(m, PAT_READ, a->hit8, 1, &r[ROW_HIT_1]) ||
	    mm_run(m, PAT_READ, a->hit8, 8, &r[ROW_HIT_8]) ||
	    mm_run(m, PAT_READ, a->hit_large, 4, &r[ROW_HIT_LARGE]) ||
	    mm_run(m, PAT_INVLPG, a->hit8, 1, &r[ROW_INVLPG]) ||
	    mm_run(m, PAT_INVLPG_READ, a->hit8, 1, &r[ROW_INVLPG_READ]) ||
	    mm_run(m, PAT_READ, a->small, a->nr_small, &r[ROW_MISS_4K]) ||
	    mm_run(m, PAT_READ, a->large, a->nr_large, &r[ROW_MISS_LARGE]))
		return -1;
	r[ROW_AFTER_INVLPG].ns = r[ROW_INVLPG_READ].ns - r[ROW_INVLPG].ns;
	r[ROW_AFTER_INVLPG].miss_ratio = r[ROW_INVLPG_READ].miss_ratio;
	return 0;
}

static int bare_rows(struct bare_mmu *b, const struct addrs *a, struct result *r)
{
	if (bare_run(b, PAT_READ, a->hit8, 1, &r[ROW_HIT_1]) ||
	    bare_run(b, PAT_READ, a->hit8, 8, &r[ROW_HIT_8]) ||
	    bare_run(b, PAT_READ, a->hit_large, 4, &r[ROW_HIT_LARGE]) ||
	    bare_run(b, PAT_INVLPG, a->hit8, 1, &r[ROW_INVLPG]) ||
	    bare_run(b, PAT_INVLPG_READ, a->hit8, 1, &r[ROW_INVLPG_READ]) ||
	    bare_run(b, PAT_READ, a->small, a->nr_small, &r[ROW_MISS_4K]) ||
	    bare_run(b, PAT_READ, a->large, a->nr_large, &r[ROW_MISS_LARGE]))
		return -1;
	r[ROW_AFTER_INVLPG].ns = r[ROW_INVLPG_READ].ns - r[ROW_INVLPG].ns;
	r[ROW_AFTER_INVLPG].miss_ratio = r[ROW_INVLPG_READ].miss_ratio;
	return 0;
}

/* Every address of @a reads the same bytes through its kernel virtual and its physical
 * address (a bench of wrong translations would measure nothing). This first pass also sets
 * the accessed bits, so the walks measured later write nothing. */
static int mm_verify(struct mm_machine *m, const struct addrs *a)
{
	struct mm_error err;
	uint32_t i, v, p;

	for (i = 0; i < a->nr_small + a->nr_large; i++) {
		uint32_t va = i < a->nr_small ? a->small[i] : a->large[i - a->nr_small];

		if (mm_mem_read(m, 0, MM_SPACE_KERNEL, va, 4, &v, &err) ||
		    mm_mem_read(m, 0, MM_SPACE_PHYS, va - PAGE_OFFSET, 4, &p, &err)) {
			fprintf(stderr, "bench-mmu: %#x: %s\n", va, err.msg);
			return -1;
		}
		if (v != p) {
			fprintf(stderr, "bench-mmu: %#x reads %#x, its physical address %#x\n", va,
				v, p);
			return -1;
		}
	}
	return 0;
}

/* The same for the bare MMU, and a write to its read-only text must fault. */
static int bare_verify(struct bare_mmu *b, const struct addrs *a)
{
	uint32_t i, v = 0x5a5a5a5a, w = 0;

	for (i = 0; i < a->nr_small + a->nr_large; i++) {
		uint32_t va = i < a->nr_small ? a->small[i] : a->large[i - a->nr_small];

		if (bare_mem_access(b, va, 4, &w, NULL) ||
		    memcmp(&w, b->ram + (va - PAGE_OFFSET), 4)) {
			fprintf(stderr, "bench-mmu: bare %#x does not read its physical address\n",
				va);
			return -1;
		}
	}
	/* the text is read-only: a write faults (CR0.WP) and changes nothing */
	if (!bare_mem_access(b, PAGE_OFFSET + 0x1000000, 4, NULL, &v)) {
		fprintf(stderr, "bench-mmu: bare write to read-only text did not fault\n");
		return -1;
	}
	return 0;
}

static const char *const row_names[NR_ROWS] = {
	[ROW_HIT_1] = "read hit, 1 address (4 KiB page)",
	[ROW_HIT_8] = "read hit, 8 addresses (8 pages, 8 sets)",
	[ROW_HIT_LARGE] = "read hit, 4 addresses (4 large pages)",
	[ROW_INVLPG] = "invlpg alone (entry already gone)",
	[ROW_INVLPG_READ] = "invlpg + read, 1 address (4 KiB page)",
	[ROW_AFTER_INVLPG] = "  = read after invlpg (miss + 4 KiB walk)",
	[ROW_MISS_4K] = "read miss + walk, cycling the 4 KiB pages",
	[ROW_MISS_LARGE] = "read miss + walk, cycling the large pages",
};

/* One figure of the report: a time beside the bare reference's (bench.h). The title names
 * the machine; quotes and backslashes have no place in a figure's name. */
static void row_report(const char *figure, double ns, double bare_ns)
{
	char f[200];
	size_t k = 0;

	for (const char *p = figure; *p && k + 1 < sizeof(f); p++)
		if (*p != '"' && *p != '\\' && *p != '\n')
			f[k++] = *p;
	f[k] = '\0';
	bench_row("mmu", f, ns, "ns", "bare soft TLB and walk", bare_ns, 0, NULL);
}

static void print_rows(const char *title, const struct result *mm, const struct result *bare,
		       const struct addrs *a)
{
	int i;

	printf("%s\n", title);
	for (i = 0; i < NR_ROWS; i++) {
		char what[96];

		if (i == ROW_MISS_4K)
			snprintf(what, sizeof(what), "%s (%u)", row_names[i], a->nr_small);
		else if (i == ROW_MISS_LARGE)
			snprintf(what, sizeof(what), "%s (%u)", row_names[i], a->nr_large);
		else
			snprintf(what, sizeof(what), "%s", row_names[i]);
		printf("  %-52s %8.1f %8.1f %7.2fx", what, mm[i].ns, bare[i].ns,
		       mm[i].ns / bare[i].ns);
		{
			char fig[200];

			snprintf(fig, sizeof(fig), "%s: %s", title, what);
			row_report(fig, mm[i].ns, bare[i].ns);
		}
		if (i == ROW_INVLPG)
			printf("\n");
		else
			printf(" %7.3f %7.3f\n", mm[i].miss_ratio, bare[i].miss_ratio);
	}
}

int main(void)
{
	static uint32_t small[MAX_PAGES], large[MAX_PAGES], bsmall[MAX_PAGES], blarge[MAX_PAGES];
	struct result mm686[NR_ROWS], mmpae[NR_ROWS], bare[NR_ROWS];
	struct addrs a686 = {.small = small, .large = large};
	struct addrs apae = {.small = small, .large = large};
	struct addrs abare = {.small = bsmall, .large = blarge};
	struct mm_machine *m;
	struct bare_mmu b;
	char cpu[128];
	bool met;

	/* 1 GiB 686: the mmcore rows */
	m = boot("1G", false);
	if (!m)
		return 1;
	a686.nr_small = mm_pages(m, false, small);
	a686.nr_large = mm_pages(m, true, large);
	if (addrs_init(&a686, a686.nr_large) || mm_touch(m, small, a686.nr_small) ||
	    mm_touch(m, large, a686.nr_large) || mm_verify(m, &a686) || mm_rows(m, &a686, mm686))
		return 1;
	mm_machine_destroy(m);

	/* the bare MMU in the shape of that direct map: lowmem [0, 0x36bfe000) as a 1 GiB 686
	 * maps it, 4 KiB pages also in [28 MiB, 32 MiB) where the page directory and its page
	 * tables sit (from 0x1fe0000), the text [16 MiB, 28 MiB) read-only */
	if (bare_init(&b, 1ull << 30, 0x36bfe000u, 0x01fe0000u, 0x01c00000u, 0x01000000u,
		      0x01c00000u)) {
		fprintf(stderr, "bench-mmu: out of host memory\n");
		return 1;
	}
	abare.nr_small = bare_pages(&b, false, bsmall);
	abare.nr_large = bare_pages(&b, true, blarge);
	if (addrs_init(&abare, abare.nr_large))
		return 1;
	bare_touch(&b, bsmall, abare.nr_small);
	bare_touch(&b, blarge, abare.nr_large);
	if (bare_verify(&b, &abare) || bare_rows(&b, &abare, bare))
		return 1;
	bare_finish(&b);

	/* 8 GiB 686-pae: the mmcore rows */
	m = boot("8G", true);
	if (!m)
		return 1;
	apae.nr_small = mm_pages(m, false, small);
	apae.nr_large = mm_pages(m, true, large);
	if (addrs_init(&apae, apae.nr_large) || mm_touch(m, small, apae.nr_small) ||
	    mm_touch(m, large, apae.nr_large) || mm_verify(m, &apae) || mm_rows(m, &apae, mmpae))
		return 1;
	mm_machine_destroy(m);

	bench_host_cpu(cpu, sizeof(cpu));
	printf("host: %s; ns per operation, best of %d runs of %d\n", cpu, RUNS, ITERS);
	printf("mmcore: mm_mem_read(m, 0, MM_SPACE_KERNEL, va, 4, buf) and mm_invlpg(); "
	       "TLB 64 entries (16 sets x 4) + 8 large\n");
	printf("bare: same TLB geometry and LRU, 2-level walk over a flat array of real PDEs/PTEs "
	       "(%u 4 KiB + %u 4 MiB pages), present/RW/NX checks only\n",
	       abare.nr_small, abare.nr_large);
	printf("miss/read: TLB misses per read as each side counted them\n\n");
	printf("  %-52s %8s %8s %8s %7s %7s\n", "operation", "mmcore", "bare", "ratio", "mm miss",
	       "bare");
	print_rows("1 GiB 686 (2-level, 4 MiB large pages)", mm686, bare, &a686);
	print_rows("8 GiB 686-pae (3-level, 2 MiB large pages; bare: the 2-level one above)", mmpae,
		   bare, &apae);
	met = mm686[ROW_HIT_1].ns <= 2 * bare[ROW_HIT_1].ns;
	printf("\nTLB-hit goal (issue 4): within 2x of bare: %s (%.2fx on 686, %.2fx on 686-pae)\n",
	       met ? "met" : "NOT met", mm686[ROW_HIT_1].ns / bare[ROW_HIT_1].ns,
	       mmpae[ROW_HIT_1].ns / bare[ROW_HIT_1].ns);
	return 0;
}
