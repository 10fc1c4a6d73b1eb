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
#include "highmem.h"
#include "memblock.h"
#include "physmem.h"
#include "pgtable.h"
#include "printk.h"
#include "slab.h"
#include "tlb.h"
#include "vmalloc.h"
#include "zone.h"

/* Page-table geometry of the two flavours (arch/x86/include/asm/pgtable-{2,3}level_types.h) */
struct paging_geometry {
	unsigned int pmd_shift;	      /* large page: 22 (4 MiB) / 21 (2 MiB) */
	unsigned int pageblock_order; /* HPAGE_SHIFT - PAGE_SHIFT: 10 / 9 */
	unsigned int last_pkmap;      /* 1024 / 512 */
	uint64_t max_arch_pfn;	      /* 1 << 20 / 1 << 24 */
	unsigned int ptrs_per_pte;    /* 1024 / 512 */
};

/* One CPU as the MMU sees it. */
struct mm_cpu {
	struct mm_cpu_state cr;
	struct tlb tlb;
};

/* Where the kernel's page tables are (init_32.c). */
struct kernel_page_tables {
	uint64_t initial_page_table; /* head_32's pgd, with the identity mapping */
	uint64_t initial_pg_pmd;     /* PAE: the one kernel pmd page (KPMDS = 1) */
	uint64_t initial_pg_fixmap;  /* the fixmap's PTE page at the top */
	uint64_t swapper_pg_dir;     /* init_mm.pgd from setup_arch() on */
	uint64_t empty_zero_page;
	uint64_t idt_table; /* made read-only by init_IRQ() */
	uint64_t bm_pte;    /* early_ioremap's PTE page */
	uint64_t pkmap_page_table;
	uint64_t real_mode_base; /* the trampoline below 1 MiB, 0 if none */
	uint64_t pgt_buf_start;	 /* the brk pgt_buf */
	unsigned int pgt_buf_used;
	unsigned int early_pte_pages; /* head_32's PTE pages from __brk_base */
	unsigned int table_pages;     /* alloc_low_page() calls */
	unsigned int split_pages;     /* large pages split by set_memory_*() */
	bool pti;		      /* page table isolation: kernel mappings not global */
};

/* clone.c: the sealed memory file holding a template's mem_map and RAM, which the template
 * and each of its clones map copy-on-write (host.h host_map_cow()). */
struct mm_share {
	int fd;
	size_t mem_map_off, ram_off; /* where each array starts in the file */
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
	phys_addr_t mem_map_phys;	   /* where mem_map sits (its kernel address hashes) */
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
	pfn_t pgstate_pfns; /* frames pgstate covers: all RAM and all of mem_map */

	/* vm events (/proc/vmstat) */
	uint64_t pgfree;
	uint64_t pgalloc[MAX_NR_ZONES];
	uint64_t allocstall[MAX_NR_ZONES];
	struct mm_alloc_events events;
	unsigned int nopage_printed; /* warn_alloc ratelimit: burst of 10 (virtual time) */
	unsigned int nopage_suppressed;

	/* init_on_alloc= / init_on_free= (mm/page_alloc.c; Debian: alloc on, free off) */
	bool init_on_alloc, init_on_free;

	/* paging: per-CPU MMU state and the kernel's tables; boot phase reached */
	struct mm_cpu cpus[NR_CPUS];
	struct kernel_page_tables pt;
	int phase;

	/* highmem.c: the pkmap table, page_address_htable, the kmap_local stacks */
	struct mm_highmem hm;
	/* SLUB: the caches, their per-CPU and node lists (slab.h) */
	struct slab_state slab;
	/* the vmalloc range: vmap areas (vmalloc.c) */
	struct vmap_state vmap;

	bool tainted;
	char diag[MM_ERR_MAX];

	struct mm_host *host; /* borrowed: counts host allocations (host.h), NULL: none */
	/* host: a template's shared frames (mm_machine_share(), clone.c); NULL: its own */
	struct mm_share *share;

	/* host: what a snapshot loaded from older sections still owes once its RAM frames are
	 * in (SNAP_MIGRATE_*, snapshot.h); mm_snapshot_finish() does it and clears it */
	unsigned int snap_migrate;
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

/* A phase error: what @what needs does not exist before @phase. */
int mm_need_phase(const struct mm_machine *m, int phase, const char *what, struct mm_error *err);

/* machine.c: grow the host-only per-frame bookkeeping to cover frames [0, @pfns). */
int pgstate_cover(struct mm_machine *m, pfn_t pfns);

/* setup_arch.c: the boot phases "memblock" and "final_page_tables" */
int setup_arch_memblock(struct mm_machine *m, struct mm_error *err);
int setup_arch_final_page_tables(struct mm_machine *m, struct mm_error *err);
/* memblock_alloc() that names a lowmem shortage as the kernel's boot panic (-EINVAL). */
int memblock_alloc_named(struct mm_machine *m, uint64_t size, uint64_t align, const char *name,
			 phys_addr_t *ret, struct mm_error *err);

/* free_area_init.c: zones and mem_map from memblock (paging_init() -> zone_sizes_init()) */
int free_area_init(struct mm_machine *m, struct mm_error *err);

/* mem_init.c: boot memory handed over to the page allocator */
void mem_init(struct mm_machine *m);
void free_reserved_area(struct mm_machine *m, uint64_t start, uint64_t end, int poison,
			const char *what);

/* start_kernel.c: the boot phase "buddy" */
int start_kernel(struct mm_machine *m, struct mm_error *err);

/* init_32.c: the kernel's page tables, in boot order */
void paging_place_tables(struct mm_machine *m);
unsigned int mk_early_pgtbl_32(struct mm_machine *m);
void paging_enable(struct mm_machine *m);
void paging_switch_to_swapper(struct mm_machine *m);
void paging_early_ioremap_init(struct mm_machine *m);
int paging_setup_cpu_entry_areas(struct mm_machine *m, struct mm_error *err);
int paging_reserve_real_mode(struct mm_machine *m, struct mm_error *err);
int paging_init_mem_mapping(struct mm_machine *m, struct mm_error *err);
void paging_bring_up_cpus(struct mm_machine *m);
void paging_map_apic(struct mm_machine *m);
int paging_set_real_mode_permissions(struct mm_machine *m, struct mm_error *err);
int paging_protect_idt(struct mm_machine *m, struct mm_error *err);
int paging_mark_rodata_ro(struct mm_machine *m, struct mm_error *err);
/* Boot model 3 on (mmcore.h) fills the cpu_entry_area over the kernel's boot layout; a machine
 * created with model 1 or 2 boots as it did then (an empty cpu_entry_area). */
static inline bool boot_fills_cpu_entry_area(const struct mm_machine *m)
{
	return !m->cfg.boot_model || m->cfg.boot_model > MM_BOOT_MODEL_NO_CPU_ENTRY_AREA;
}
/* Boot model 4 on (mmcore.h): SLUB's bootstrap slabs and each cache's own objects at
 * kmem_cache_init(), vmalloc's page arrays allocated; models 1-3 defer the former to first
 * use and allocate no page array below a page of pointers. */
static inline bool boot_allocates_slab_pages(const struct mm_machine *m)
{
	return !m->cfg.boot_model || m->cfg.boot_model > MM_BOOT_MODEL_NO_SLAB_PAGES;
}
/* The cpu_entry_area's entries against what the boot wrote: how many differ, the first in @msg */
unsigned int paging_check_cpu_entry_areas(const struct mm_machine *m, char *msg, size_t size);
/* @prot as the kernel's PAGE_KERNEL* reach a PTE (__default_kernel_pte_mask, NX support) */
pteval_t paging_kernel_prot(const struct mm_machine *m, pteval_t prot);
/* for vmalloc.c: the pmd entry (pgd entry on 686) of @va in swapper_pg_dir; @prot with the
 * bits this CPU and kernel leave out (NX, GLB under PTI); the direct map's attributes of
 * [start, end) changed without vm_unmap_aliases(), flushed only when @flush */
uint64_t kernel_pmd_entry(const struct mm_machine *m, uint32_t va);
pteval_t kernel_pte_mask(const struct mm_machine *m, pteval_t prot);
int cpa_direct_map(struct mm_machine *m, uint64_t start, uint64_t end, pteval_t set, pteval_t clr,
		   bool flush, struct mm_error *err);

/* layout.c */
void layout_compute_constants(struct mm_machine *m);
int layout_find_low_pfn_range(struct mm_machine *m, struct mm_error *err);
void layout_place_kernel(struct mm_machine *m);
void layout_set_high_memory(struct mm_machine *m);

#endif /* MM_MACHINE_H */
