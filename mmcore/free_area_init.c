/* SPDX-License-Identifier: MIT */
/*
 * free_area_init.c - the zones and mem_map of node 0, built from memblock.
 *
 * Mirrors: mm/page_alloc.c free_area_init() and what it calls, in its order:
 *   free_area_init()              the zone boundaries from max_zone_pfn[] ("Zone ranges")
 *   find_zone_movable_pfns_for_nodes()   movable_zone: the highest populated zone
 *   free_area_init_node()         the node's span ("Initmem setup node 0")
 *     calculate_node_totalpages() each zone's start, spanned and present pages
 *     alloc_node_mem_map()        FLATMEM mem_map from memblock, MAX_ORDER aligned
 *     free_area_init_core()       provisional managed pages (spanned - present - memmap),
 *                                 empty free lists, the boot pageset, setup_usemap()
 *   memmap_init()                 every struct page of a memblock range initialised in its
 *                                 zone, each pageblock MIGRATE_MOVABLE; holes reserved
 * i386 calls it from paging_init() -> zone_sizes_init() with max_zone_pfn[] = {DMA: 16 MiB,
 * Normal: max_low_pfn, HighMem: max_pfn}.
 * Invariants: the zones tile [node_start_pfn, node_end_pfn) in order without overlap;
 * present_pages <= spanned_pages; every pfn below max_pfn has an initialised struct page
 * whose zone is the zone spanning it (or PG_reserved in a hole); mem_map covers whole
 * MAX_ORDER blocks.
 */
#include "machine.h"

#include <stdio.h>
#include <string.h>

#include "host.h"
#include "page_alloc.h"

/* Mirrors: mm/page_alloc.c __absent_pages_in_range(). */
static uint32_t absent_pages_in_range(const struct memblock *mb, pfn_t start, pfn_t end)
{
	uint64_t present = memblock_memory_in(mb, PFN_PHYS(start), PFN_PHYS(end));

	return (end - start) - (uint32_t)(present >> PAGE_SHIFT);
}

/* Mirrors: mm/page_alloc.c init_unavailable_range(): holes become reserved pages. */
static void init_unavailable_range(struct mm_machine *m, pfn_t spfn, pfn_t epfn, unsigned int zone)
{
	pfn_t pfn;
	uint64_t pgcnt = 0;

	for (pfn = spfn; pfn < epfn; pfn++) {
		struct page *p = pfn_to_page(m, pfn);

		if (pfn >= m->layout.max_pfn)
			continue; /* !pfn_valid() */
		init_single_page(p, zone);
		SetPageReserved(p);
		pgcnt++;
	}
	if (pgcnt)
		printk(m, "On node 0, zone %s: %llu pages in unavailable ranges",
		       mm_zone_name((int)zone), (unsigned long long)pgcnt);
}

/*
 * Mirrors: mm/page_alloc.c calculate_node_totalpages() with zone_spanned_pages_in_node()
 * and zone_absent_pages_in_node(): each zone is its range [@lowest, @highest) clipped to the
 * node; present is spanned minus the holes memblock.memory leaves in it.
 */
static void calculate_node_totalpages(struct mm_machine *m, pfn_t node_start, pfn_t node_end,
				      const pfn_t *lowest, const pfn_t *highest)
{
	struct pglist_data *pgdat = &m->pgdat;
	struct memblock *mb = &m->memblock;
	unsigned int z;

	pgdat->node_start_pfn = node_start;
	pgdat->node_spanned_pages = node_end - node_start;
	pgdat->node_present_pages = 0;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pgdat->node_zones[z];
		pfn_t zs = MM_MIN(MM_MAX(node_start, lowest[z]), highest[z]);
		pfn_t ze = MM_MIN(MM_MAX(node_end, lowest[z]), highest[z]);

		zone->idx = z;
		zone->zone_start_pfn = zs < ze ? zs : 0;
		zone->spanned_pages = zs < ze ? ze - zs : 0;
		zone->present_pages =
			zone->spanned_pages
				? zone->spanned_pages - absent_pages_in_range(mb, zs, ze)
				: 0;
		pgdat->node_present_pages += zone->present_pages;
	}
}

/* Mirrors: mm/page_alloc.c alloc_node_mem_map(): FLATMEM, MAX_ORDER-aligned. */
static int alloc_node_mem_map(struct mm_machine *m, pfn_t node_start, pfn_t node_end,
			      struct mm_error *err)
{
	pfn_t mm_start, mm_end;
	phys_addr_t pa;
	int ret;

	mm_start = node_start & ~(MAX_ORDER_NR_PAGES - 1);
	mm_end = (node_end + MAX_ORDER_NR_PAGES - 1) & ~(MAX_ORDER_NR_PAGES - 1);
	ret = memblock_alloc_named(m, (uint64_t)(mm_end - mm_start) * 40, SMP_CACHE_BYTES,
				   "mem_map", &pa, err);
	if (ret)
		return ret;
	m->mem_map_pfns = mm_end;
	m->mem_map_phys = pa;
	m->mem_map_bytes = (size_t)mm_end * sizeof(struct page);
	m->mem_map = host_map(m->host, m->mem_map_bytes);
	if (!m->mem_map)
		return mm_set_error(err, -ENOMEM, "out of host memory for mem_map");
	if (pgstate_cover(m, mm_end))
		return mm_set_error(err, -ENOMEM, "out of host memory for mem_map");
	return 0;
}

/*
 * Mirrors: mm/page_alloc.c free_area_init_core(): the provisional managed counts (present
 * minus the zone's share of mem_map, for lowmem zones), nr_kernel_pages and nr_all_pages that
 * size the boot hash tables, empty free lists, the boot pageset (high 0, batch 1), and
 * setup_usemap()'s pageblock flags.
 */
static int free_area_init_core(struct mm_machine *m, struct mm_error *err)
{
	struct pglist_data *pgdat = &m->pgdat;
	unsigned int i, z, pb_order = pageblock_order(m);
	phys_addr_t pa;
	int ret;

	pgdat->nr_kernel_pages = pgdat->nr_all_pages = 0;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pgdat->node_zones[z];
		uint64_t size = zone->spanned_pages, freesize = zone->present_pages;
		uint64_t memmap_pages = PAGE_ALIGN(size * 40) >> PAGE_SHIFT;

		if (!is_highmem_idx(pgdat, z) && freesize >= memmap_pages)
			freesize -= memmap_pages;
		if (!is_highmem_idx(pgdat, z))
			pgdat->nr_kernel_pages += freesize;
		else if (pgdat->nr_kernel_pages > memmap_pages * 2)
			pgdat->nr_kernel_pages -= memmap_pages;
		pgdat->nr_all_pages += freesize;
		zone->managed_pages = (uint32_t)freesize;
		for (i = 0; i < MAX_ORDER; i++) {
			unsigned int mt;

			for (mt = 0; mt < MIGRATE_TYPES; mt++)
				pfn_list_init(&zone->free_area[i].free_list[mt]);
		}
		for (i = 0; i < NR_CPUS; i++) {
			unsigned int k;

			for (k = 0; k < NR_PCP_LISTS; k++)
				pfn_list_init(&zone->pcp[i].lists[k]);
			zone->pcp[i].high = 0; /* the boot pageset */
			zone->pcp[i].batch = 1;
		}
		if (!zone->spanned_pages)
			continue;
		/* setup_usemap(): 4 bits per pageblock, rounded to an unsigned long */
		{
			uint64_t blocks = (zone->spanned_pages +
					   (zone->zone_start_pfn & ((1u << pb_order) - 1)) +
					   (1u << pb_order) - 1) >>
					  pb_order;
			uint64_t bytes = ((blocks * 4 + 31) / 32) * 4;

			zone->nr_pageblocks = (uint32_t)blocks;
			zone->pageblock_flags = host_calloc(m->host, blocks, 1);
			if (!zone->pageblock_flags)
				return mm_set_error(err, -ENOMEM,
						    "out of host memory for pageblock flags");
			ret = memblock_alloc_named(m, bytes, SMP_CACHE_BYTES, "pageblock flags",
						   &pa, err);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Mirrors: mm/page_alloc.c free_area_init_node() for node 0. */
static int free_area_init_node(struct mm_machine *m, const pfn_t *lowest, const pfn_t *highest,
			       struct mm_error *err)
{
	struct memblock *mb = &m->memblock;
	pfn_t node_start, node_end;
	int ret;

	node_start = PFN_DOWN(memblock_start_of_DRAM(mb));
	node_end = PFN_DOWN(memblock_end_of_DRAM(mb));
	printk(m, "Initmem setup node 0 [mem 0x%016llx-0x%016llx]\n",
	       (unsigned long long)PFN_PHYS(node_start),
	       (unsigned long long)PFN_PHYS(node_end) - 1);
	calculate_node_totalpages(m, node_start, node_end, lowest, highest);
	ret = alloc_node_mem_map(m, node_start, node_end, err);
	if (ret)
		return ret;
	return free_area_init_core(m, err);
}

/*
 * Mirrors: mm/page_alloc.c memmap_init(): per memblock range and zone, every struct page
 * initialised (zone, refcount 1, reserved until mem_init() frees it), each pageblock marked
 * MIGRATE_MOVABLE; the holes between ranges become reserved pages.
 */
static void memmap_init(struct mm_machine *m)
{
	struct pglist_data *pgdat = &m->pgdat;
	struct memblock *mb = &m->memblock;
	unsigned int i, z, pb_order = pageblock_order(m);
	pfn_t hole_pfn = 0;

	for (i = 0; i < mb->memory.cnt; i++) {
		pfn_t rs = PFN_DOWN(mb->memory.regions[i].base);
		pfn_t re = PFN_DOWN(mb->memory.regions[i].base + mb->memory.regions[i].size);

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pgdat->node_zones[z];
			pfn_t s, e, pfn;

			if (!populated_zone(zone))
				continue;
			s = MM_MIN(MM_MAX(rs, zone->zone_start_pfn), (pfn_t)zone_end_pfn(zone));
			e = MM_MIN(MM_MAX(re, zone->zone_start_pfn), (pfn_t)zone_end_pfn(zone));
			if (s >= e)
				continue;
			for (pfn = s; pfn < e; pfn++) {
				init_single_page(pfn_to_page(m, pfn), z);
				if (!(pfn & ((1u << pb_order) - 1)))
					set_pageblock_migratetype(pgdat, zone, pfn, pb_order,
								  MIGRATE_MOVABLE);
			}
			if (hole_pfn < s)
				init_unavailable_range(m, hole_pfn, s, z);
			hole_pfn = e;
		}
	}
}

/*
 * Mirrors: mm/page_alloc.c free_area_init(max_zone_pfn): the zone boundaries, each zone
 * starting where the one below ends ("Zone ranges"; ZONE_MOVABLE stays empty without
 * kernelcore=), the node's memory ranges, then free_area_init_node() and memmap_init().
 */
int free_area_init(struct mm_machine *m, struct mm_error *err)
{
	struct pglist_data *pgdat = &m->pgdat;
	struct mm_layout *l = &m->layout;
	struct memblock *mb = &m->memblock;
	pfn_t max_zone_pfn[MAX_NR_ZONES], lowest[MAX_NR_ZONES], highest[MAX_NR_ZONES];
	pfn_t start_pfn;
	unsigned int i, z;
	int ret;

	max_zone_pfn[ZONE_DMA] = MM_MIN(MAX_DMA_PFN, l->max_low_pfn);
	max_zone_pfn[ZONE_NORMAL] = l->max_low_pfn;
	max_zone_pfn[ZONE_HIGHMEM] = l->max_pfn;
	max_zone_pfn[ZONE_MOVABLE] = 0;
	start_pfn = PFN_DOWN(memblock_start_of_DRAM(mb));
	printk(m, "Zone ranges:\n");
	for (z = 0; z < MAX_NR_ZONES; z++) {
		pfn_t end = MM_MAX(max_zone_pfn[z], start_pfn);

		lowest[z] = start_pfn;
		highest[z] = end;
		start_pfn = end;
		if (z == ZONE_MOVABLE) {
			lowest[z] = highest[z] = 0;
			continue;
		}
		printk(m, "  %-8s ", mm_zone_name((int)z));
		if (lowest[z] == highest[z])
			pr_cont(m, "empty\n");
		else
			pr_cont(m, "[mem 0x%016llx-0x%016llx]\n",
				(unsigned long long)PFN_PHYS(lowest[z]),
				(unsigned long long)PFN_PHYS(highest[z]) - 1);
	}
	/* find_zone_movable_pfns_for_nodes(): the highest populated zone */
	pgdat->movable_zone = l->max_pfn > l->max_low_pfn ? ZONE_HIGHMEM : ZONE_NORMAL;
	printk(m, "Movable zone start for each node\n");
	printk(m, "Early memory node ranges\n");
	for (i = 0; i < mb->memory.cnt; i++)
		printk(m, "  node %3d: [mem 0x%016llx-0x%016llx]\n", 0,
		       (unsigned long long)mb->memory.regions[i].base,
		       (unsigned long long)(mb->memory.regions[i].base +
					    mb->memory.regions[i].size - 1));
	ret = free_area_init_node(m, lowest, highest, err);
	if (ret)
		return ret;
	memmap_init(m);
	return 0;
}
