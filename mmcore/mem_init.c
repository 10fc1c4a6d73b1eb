/* SPDX-License-Identifier: MIT */
/*
 * mem_init.c - the end of memblock: boot memory handed over to the page allocator.
 *
 * Mirrors: arch/x86/mm/init_32.c mem_init() (set_highmem_pages_init(), then
 * mm/memblock.c memblock_free_all() -> free_low_memory_core_early()), and the later
 * free_reserved_area() calls of mm/page_alloc.c that return boot-only memory.
 * Invariants: after mem_init() every frame below max_low_pfn that memblock did not reserve
 * is free in the buddy allocator; every frame memblock reserved is PG_reserved; highmem
 * frames are free unless reserved; totalram_pages is the number of frames handed over.
 */
#include "machine.h"

#include <stdio.h>
#include <string.h>

#include "page_alloc.h"

/*
 * Mirrors: mm/page_alloc.c free_reserved_area(): give the pages of [@start, @end) to the
 * page allocator one by one, after filling them with @poison (0..0xff; -1 leaves them), and
 * print "Freeing @what memory". Used for the init sections, the SMP alternatives and the
 * initrd once the kernel is done with them.
 */
void free_reserved_area(struct mm_machine *m, uint64_t start, uint64_t end, int poison,
			const char *what)
{
	pfn_t pfn, s = PFN_UP(start), e = PFN_DOWN(end);

	for (pfn = s; pfn < e; pfn++) {
		if ((unsigned int)poison <= 0xff) {
			memset(m->ram + PFN_PHYS(pfn), poison, PAGE_SIZE);
			if (poison)
				m->pgstate[pfn] |= PGS_RAM_DIRTY;
		}
		free_reserved_page(m, pfn, 0);
	}
	if (e > s && what)
		printk(m, "Freeing %s memory: %luK\n", what, (unsigned long)(e - s) << 2);
}

/*
 * Mirrors: arch/x86/mm/init_32.c mem_init(): the hand-over of boot memory to the buddy
 * allocator. First set_highmem_pages_init() frees every free highmem frame page by page
 * (free_highmem_page()); then memblock_free_all() marks every reserved range PG_reserved
 * and frees the free ranges of lowmem in the largest naturally aligned chunks up to
 * MAX_ORDER - 1 (__free_pages_memory()), which is why a fresh buddyinfo is mostly order 10.
 * totalram_pages counts what was handed over; the "Memory:" line reports it.
 */
void mem_init(struct mm_machine *m)
{
	struct pglist_data *pgdat = &m->pgdat;
	struct mm_layout *l = &m->layout;
	const struct mm_kernel_image *img = &m->cfg.image;
	uint64_t idx, count = 0, physpages = 0;
	phys_addr_t start, end;
	unsigned int z;
	pfn_t pfn;

	/* set_highmem_pages_init() */
	for (z = 0; z < MAX_NR_ZONES; z++)
		pgdat->node_zones[z].managed_pages = 0;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pgdat->node_zones[z];
		pfn_t zs = zone->zone_start_pfn, ze = (pfn_t)zone_end_pfn(zone);

		if (!is_highmem_idx(pgdat, z))
			continue;
		printk(m, "Initializing %s for node 0 (%08lx:%08lx)\n", mm_zone_name((int)z),
		       (unsigned long)zs, (unsigned long)ze);
		idx = 0;
		while (memblock_next_free_range(&m->memblock, &idx, &start, &end)) {
			pfn_t s = MM_MIN(MM_MAX(PFN_UP(start), zs), ze);
			pfn_t e = MM_MIN(MM_MAX(PFN_DOWN(end), zs), ze);

			for (pfn = s; pfn < e; pfn++)
				if (pfn < l->max_pfn)
					free_reserved_page(m, pfn, 0);
		}
	}

	/* memblock_free_all(): mark reserved, then free the rest of lowmem */
	for (idx = 0; idx < m->memblock.reserved.cnt; idx++) {
		const struct memblock_region *r = &m->memblock.reserved.regions[idx];
		pfn_t s = PFN_DOWN(r->base), e = PFN_UP(r->base + r->size);

		for (pfn = s; pfn < e && pfn < m->mem_map_pfns; pfn++)
			if (pfn < l->max_pfn)
				SetPageReserved(pfn_to_page(m, pfn));
	}
	idx = 0;
	while (memblock_next_free_range(&m->memblock, &idx, &start, &end)) {
		pfn_t s = PFN_UP(start), e = MM_MIN(PFN_DOWN(end), l->max_low_pfn);

		if (s >= e)
			continue;
		count += e - s;
		while (s < e) {
			unsigned int order = MM_MIN(MAX_ORDER - 1u, ffs_u32(s));

			while (s + (1u << order) > e)
				order--;
			free_pages_core(m, s, order);
			s += 1u << order;
		}
	}
	pgdat->totalram_pages += count;
	/* lowmem pages the loop above did not hand over stay reserved */
	for (pfn = 0; pfn < l->max_low_pfn; pfn++) {
		struct page *p = pfn_to_page(m, pfn);

		if (p->_refcount && !PageBuddy(p) && !PageReserved(p))
			SetPageReserved(p);
	}

	printk(m, "Checking if this processor honours the WP bit even in supervisor mode...Ok.\n");
	for (z = 0; z < MAX_NR_ZONES; z++)
		physpages += pgdat->node_zones[z].present_pages;
	{
		uint64_t nr_free = 0;

		for (z = 0; z < MAX_NR_ZONES; z++)
			nr_free += (uint64_t)pgdat->node_zones[z].vm_stat[NR_FREE_PAGES];
		printk(m,
		       "Memory: %lluK/%lluK available (%uK kernel code, %uK rwdata, %uK rodata, "
		       "%uK init, %uK bss, %lluK reserved, 0K cma-reserved, %lluK highmem)\n",
		       (unsigned long long)nr_free << 2, (unsigned long long)physpages << 2,
		       img->text >> 10, img->rwdata >> 10, img->rodata >> 10, img->init >> 10,
		       img->bss >> 10, (unsigned long long)(physpages - pgdat->totalram_pages) << 2,
		       (unsigned long long)pgdat->totalhigh_pages << 2);
	}
}
