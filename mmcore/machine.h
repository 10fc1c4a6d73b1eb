/* SPDX-License-Identifier: MIT */
/*
 * machine.h - struct mm_machine: one emulated PC and everything its kernel keeps.
 * Private to mmcore; the front end sees only mmcore.h.
 *
 * Mirrors the kernel's globals of a single-node, FLATMEM i386 kernel: the e820 table,
 * memblock, max_low_pfn/max_pfn/high_memory, contig_page_data (pgdat) and mem_map.
 * Invariants: see check.c; every frame below max_pfn has exactly one struct page.
 */
#ifndef MM_MACHINE_H
#define MM_MACHINE_H

#include <errno.h>

#include "cmdline.h"
#include "memblock.h"
#include "physmem.h"
#include "printk.h"
#include "zone.h"

/* Page-table geometry of the two flavours (arch/x86/include/asm/pgtable-{2,3}level_types.h) */
struct paging_geometry {
	unsigned int pmd_shift;	      /* large page: 22 (4 MiB) / 21 (2 MiB) */
	unsigned int pageblock_order; /* HPAGE_SHIFT - PAGE_SHIFT: 10 / 9 */
	unsigned int last_pkmap;      /* 1024 / 512 */
	uint64_t max_arch_pfn;	      /* 1 << 20 / 1 << 24 */
	unsigned int ptrs_per_pte;    /* 1024 / 512 */
};

struct mm_machine {
	struct mm_config cfg;
	struct mm_cmdline cmdline;
	struct paging_geometry geo;
	bool cpu_pse, cpu_pge, cpu_nx;
	bool e820_userdef;

	struct e820_table e820_firmware; /* as handed over */
	struct e820_table e820;		 /* the kernel's table */
	struct memblock memblock;
	struct mm_layout layout;
	long highmem_pages; /* highmem= in pages, -1 when absent */

	/* emulated RAM */
	uint8_t *ram;
	uint64_t ram_size;

	/* mem_map: FLATMEM, from pfn 0 to mem_map_pfns */
	struct page *mem_map;
	pfn_t mem_map_pfns;
	size_t mem_map_bytes;

	struct pglist_data pgdat;
	struct printk_log log;

	/* boot-time bookkeeping shown by the Memory: line and meminfo */
	uint64_t percpu_pages;		   /* pcpu_nr_pages() */
	uint64_t direct_pages_4k;	   /* DirectMap4k in pages */
	uint64_t direct_pages_large;	   /* DirectMap4M / DirectMap2M in large pages */
	uint64_t initrd_start, initrd_end; /* physical, where the kernel keeps it */
	uint64_t swiotlb_bytes;
	phys_addr_t swiotlb_base;

	/*
	 * Host-only bookkeeping per frame, beside mem_map (PGS_* in page.h): the order of
	 * the allocation a frame starts, pcp membership, whether its RAM may be non-zero.
	 * The kernel trusts its callers; mm32 keeps this to refuse bad frees.
	 */
	uint8_t *pgstate;

	/* vm events (/proc/vmstat) */
	uint64_t pgfree;
	uint64_t pgalloc[MAX_NR_ZONES];
	uint64_t allocstall[MAX_NR_ZONES];
	struct mm_alloc_events events;
	unsigned int nopage_printed; /* warn_alloc ratelimit: burst of 10 (virtual time) */
	unsigned int nopage_suppressed;

	/* init_on_alloc= / init_on_free= (mm/page_alloc.c; Debian: alloc on, free off) */
	bool init_on_alloc, init_on_free;

	bool tainted;
	char diag[MM_ERR_MAX];
};

static inline struct page *pfn_to_page(struct mm_machine *m, pfn_t pfn)
{
	return &m->mem_map[pfn];
}

static inline struct zone *page_zone(struct mm_machine *m, pfn_t pfn)
{
	return &m->pgdat.node_zones[page_zonenum(&m->mem_map[pfn])];
}

static inline unsigned int pageblock_order(const struct mm_machine *m)
{
	return m->geo.pageblock_order;
}

static inline unsigned int pageblock_nr_pages(const struct mm_machine *m)
{
	return 1u << m->geo.pageblock_order;
}

int mm_set_error(struct mm_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* layout.c */
void layout_compute_constants(struct mm_machine *m);
int layout_find_low_pfn_range(struct mm_machine *m, struct mm_error *err);
void layout_place_kernel(struct mm_machine *m);
void layout_set_high_memory(struct mm_machine *m);

#endif /* MM_MACHINE_H */
