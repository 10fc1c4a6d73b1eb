/* SPDX-License-Identifier: MIT */
/*
 * views.c - the read-only views of mmcore.h: a zone, the totals, the layout, the e820
 * tables and memblock as plain structs for the front end.
 *
 * Mirrors no kernel function: these are what /proc/zoneinfo, /proc/iomem and
 * /sys/kernel/debug/memblock show, copied out of struct mm_machine without formatting
 * (procfs.c formats the kernel's text).
 * Invariants: nothing here changes the machine; an index out of range is -ENOENT and a
 * view of a structure the boot has not built yet is -EAGAIN.
 */
#include "machine.h"

#include <string.h>

#include "page_alloc.h"

const char *mm_zone_name(int zone)
{
	static const char *const names[MAX_NR_ZONES] = {"DMA", "Normal", "HighMem", "Movable"};

	return zone >= 0 && zone < MAX_NR_ZONES ? names[zone] : "?";
}

const char *mm_migratetype_name(int mt)
{
	static const char *const names[MIGRATE_TYPES] = {"Unmovable", "Movable", "Reclaimable",
							 "HighAtomic", "Isolate"};

	return mt >= 0 && mt < MIGRATE_TYPES ? names[mt] : "?";
}

void mm_get_layout(const struct mm_machine *m, struct mm_layout *out)
{
	*out = m->layout;
}

int mm_get_zone(const struct mm_machine *m, int zone, struct mm_zone_info *out)
{
	const struct zone *z;
	unsigned int i, mt;
	if (m->phase < MM_PHASE_BUDDY)
		return -EAGAIN; /* zones are made in the buddy phase */

	if (zone < 0 || zone >= MAX_NR_ZONES)
		return -ENOENT;
	z = &m->pgdat.node_zones[zone];
	memset(out, 0, sizeof(*out));
	out->name = mm_zone_name(zone);
	out->populated = populated_zone(z);
	out->zone_start_pfn = z->zone_start_pfn;
	out->spanned = z->spanned_pages;
	out->present = z->present_pages;
	out->managed = z->managed_pages;
	out->free = (uint64_t)z->vm_stat[NR_FREE_PAGES];
	out->wmark_min = (uint32_t)min_wmark_pages(z);
	out->wmark_low = (uint32_t)low_wmark_pages(z);
	out->wmark_high = (uint32_t)high_wmark_pages(z);
	out->wmark_promo = (uint32_t)(z->_watermark[WMARK_PROMO] + z->watermark_boost);
	out->watermark_boost = (uint32_t)z->watermark_boost;
	for (i = 0; i < MAX_NR_ZONES; i++)
		out->lowmem_reserve[i] = z->lowmem_reserve[i];
	for (i = 0; i < MAX_ORDER; i++) {
		out->nr_free[i] = z->free_area[i].nr_free;
		for (mt = 0; mt < MIGRATE_TYPES; mt++)
			out->nr_free_mt[i][mt] = z->free_area[i].nr_free_mt[mt];
	}
	out->nr_reserved_highatomic = (uint32_t)z->nr_reserved_highatomic;
	out->stat_threshold = z->stat_threshold;
	out->nr_cpus = m->pgdat.nr_cpus;
	for (i = 0; i < m->pgdat.nr_cpus; i++) {
		out->pcp[i].count = z->pcp[i].count;
		out->pcp[i].high = z->pcp[i].high;
		out->pcp[i].batch = z->pcp[i].batch;
	}
	return 0;
}

void mm_get_totals(const struct mm_machine *m, struct mm_totals *out)
{
	const struct pglist_data *pgdat = &m->pgdat;
	unsigned int z;

	memset(out, 0, sizeof(*out));
	out->totalram_pages = pgdat->totalram_pages;
	out->totalhigh_pages = pgdat->totalhigh_pages;
	out->totalreserve_pages = pgdat->totalreserve_pages;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		out->nr_free_pages += (uint64_t)pgdat->node_zones[z].vm_stat[NR_FREE_PAGES];
		out->present_pages += pgdat->node_zones[z].present_pages;
		out->lowmem_reserve_ratio[z] = pgdat->sysctl_lowmem_reserve_ratio[z];
	}
	out->min_free_kbytes = pgdat->min_free_kbytes;
	out->user_min_free_kbytes = pgdat->user_min_free_kbytes;
	out->watermark_scale_factor = pgdat->watermark_scale_factor;
	out->watermark_boost_factor = pgdat->watermark_boost_factor;
	out->percpu_pagelist_high_fraction = pgdat->percpu_pagelist_high_fraction;
	out->mobility_grouping = !pgdat->page_group_by_mobility_disabled;
	out->movable_zone = pgdat->movable_zone;
}

unsigned int mm_e820_count(const struct mm_machine *m)
{
	return m->e820.nr_entries;
}

int mm_e820_get(const struct mm_machine *m, unsigned int i, struct mm_e820_entry *out)
{
	if (i >= m->e820.nr_entries)
		return -ENOENT;
	*out = m->e820.entries[i];
	return 0;
}

unsigned int mm_e820_firmware_count(const struct mm_machine *m)
{
	return m->e820_firmware.nr_entries;
}

int mm_e820_firmware_get(const struct mm_machine *m, unsigned int i, struct mm_e820_entry *out)
{
	if (i >= m->e820_firmware.nr_entries)
		return -ENOENT;
	*out = m->e820_firmware.entries[i];
	return 0;
}

unsigned int mm_memblock_count(const struct mm_machine *m, int type)
{
	return type ? m->memblock.reserved.cnt : m->memblock.memory.cnt;
}

int mm_memblock_get(const struct mm_machine *m, int type, unsigned int i,
		    struct mm_memblock_region *out)
{
	const struct memblock_type *t = type ? &m->memblock.reserved : &m->memblock.memory;

	if (i >= t->cnt)
		return -ENOENT;
	out->base = t->regions[i].base;
	out->size = t->regions[i].size;
	out->name = t->regions[i].name[0] ? t->regions[i].name : "memory";
	return 0;
}
