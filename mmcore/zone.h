/* SPDX-License-Identifier: MIT */
/*
 * zone.h - zones, the node that holds them, watermarks, lowmem_reserve, pcp sizing.
 *
 * Mirrors: include/linux/mmzone.h (struct zone, struct free_area, struct per_cpu_pages,
 * pglist_data), mm/page_alloc.c (free_area_init, __setup_per_zone_wmarks,
 * setup_per_zone_lowmem_reserve, calculate_totalreserve_pages, zone_batchsize,
 * zone_highsize, init_per_zone_wmark_min), mm/khugepaged.c
 * (set_recommended_min_free_kbytes), mm/vmstat.c (calculate_normal_threshold).
 * Invariants: zones are ordered and disjoint: DMA < Normal < HighMem, Movable empty;
 * managed <= present <= spanned; watermarks min <= low <= high <= promo.
 */
#ifndef MM_ZONE_H
#define MM_ZONE_H

#include "page.h"

enum zone_watermarks { WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO, NR_WMARK };

/* Per-zone counters, in the order /proc/zoneinfo prints them. */
enum zone_stat_item {
	NR_FREE_PAGES,
	NR_ZONE_INACTIVE_ANON,
	NR_ZONE_ACTIVE_ANON,
	NR_ZONE_INACTIVE_FILE,
	NR_ZONE_ACTIVE_FILE,
	NR_ZONE_UNEVICTABLE,
	NR_ZONE_WRITE_PENDING,
	NR_MLOCK,
	NR_BOUNCE,
	NR_ZSPAGES,
	NR_FREE_CMA_PAGES,
	NR_VM_ZONE_STAT_ITEMS
};

#define NR_VM_NODE_STAT_ITEMS 41
/* orders 0..3 x {U, M, E}, then pageblock order (THP) unmovable and movable: Debian 6.1.176
 * has 14 lists (fixtures _kernel/FLAVOUR/constants.txt) */
#define NR_LOWORDER_PCP_LISTS 12
#define NR_PCP_LISTS 14

struct free_area {
	struct pfn_list free_list[MIGRATE_TYPES];
	uint32_t nr_free; /* blocks, not pages */
	uint32_t nr_free_mt[MIGRATE_TYPES];
};

struct per_cpu_pages {
	int count;	 /* pages on all lists */
	int high;	 /* drain above this */
	int batch;	 /* refill/drain chunk */
	int free_factor; /* batch scaling factor during free */
	struct pfn_list lists[NR_PCP_LISTS];
};

struct zone {
	unsigned int idx;
	pfn_t zone_start_pfn;
	uint32_t spanned_pages;
	uint32_t present_pages;
	uint32_t managed_pages;
	unsigned long _watermark[NR_WMARK];
	unsigned long watermark_boost;
	long lowmem_reserve[MAX_NR_ZONES];
	unsigned long nr_reserved_highatomic;
	bool flags_boosted; /* ZONE_BOOSTED_WATERMARK: wake kswapd after this rmqueue */
	struct free_area free_area[MAX_ORDER];
	uint8_t *pageblock_flags; /* one byte per pageblock: migratetype (3 bits) + skip */
	uint32_t nr_pageblocks;
	long vm_stat[NR_VM_ZONE_STAT_ITEMS];
	int stat_threshold;
	struct per_cpu_pages pcp[NR_CPUS];
};

struct pglist_data {
	struct zone node_zones[MAX_NR_ZONES];
	pfn_t node_start_pfn;
	uint32_t node_spanned_pages;
	uint32_t node_present_pages;
	unsigned int nr_cpus;
	unsigned int movable_zone;
	bool page_group_by_mobility_disabled;
	long node_stat[NR_VM_NODE_STAT_ITEMS];
	/* what free_area_init_core() counted for hash-table sizing */
	uint64_t nr_kernel_pages;
	uint64_t nr_all_pages;
	/* the global counters and tunables (mm/page_alloc.c, mm/vmscan.c) */
	uint64_t totalram_pages;
	uint64_t totalhigh_pages;
	uint64_t totalreserve_pages;
	int min_free_kbytes;
	int user_min_free_kbytes;
	int watermark_scale_factor;
	int watermark_boost_factor;
	int sysctl_lowmem_reserve_ratio[MAX_NR_ZONES];
	int percpu_pagelist_high_fraction;
	bool thp_enabled;
};

static inline bool populated_zone(const struct zone *z)
{
	return z->present_pages != 0;
}

static inline bool managed_zone(const struct zone *z)
{
	return z->managed_pages != 0;
}

static inline unsigned long zone_end_pfn(const struct zone *z)
{
	return z->zone_start_pfn + z->spanned_pages;
}

static inline bool zone_spans_pfn(const struct zone *z, pfn_t pfn)
{
	return pfn >= z->zone_start_pfn && pfn < zone_end_pfn(z);
}

bool is_highmem_idx(const struct pglist_data *pgdat, unsigned int idx);
static inline unsigned long min_wmark_pages(const struct zone *z)
{
	return z->_watermark[WMARK_MIN] + z->watermark_boost;
}
static inline unsigned long low_wmark_pages(const struct zone *z)
{
	return z->_watermark[WMARK_LOW] + z->watermark_boost;
}
static inline unsigned long high_wmark_pages(const struct zone *z)
{
	return z->_watermark[WMARK_HIGH] + z->watermark_boost;
}

struct mm_machine;

void pgdat_init_tunables(struct pglist_data *pgdat);
uint64_t nr_free_buffer_pages(const struct pglist_data *pgdat);
uint64_t nr_free_zone_pages(const struct pglist_data *pgdat, unsigned int highest_zoneidx);
void setup_per_zone_wmarks(struct pglist_data *pgdat);
void setup_per_zone_lowmem_reserve(struct pglist_data *pgdat);
void calculate_totalreserve_pages(struct pglist_data *pgdat);
void zone_pcp_update(struct pglist_data *pgdat, struct zone *z);
void refresh_zone_stat_thresholds(struct pglist_data *pgdat);
/* postcore init_per_zone_wmark_min(): the int_sqrt rule, then everything above. */
void init_per_zone_wmark_min(struct mm_machine *m);
/* subsys hugepage_init(): THP's raise of min_free_kbytes (khugepaged). */
void hugepage_init(struct mm_machine *m);

/* Pageblock migratetype of @pfn in @z. */
static inline unsigned int pageblock_index(const struct zone *z, pfn_t pfn, unsigned int pb_order)
{
	pfn_t base = z->zone_start_pfn & ~((1u << pb_order) - 1);

	return (pfn - base) >> pb_order;
}

static inline unsigned int get_pfnblock_migratetype(const struct zone *z, pfn_t pfn,
						    unsigned int pb_order)
{
	return z->pageblock_flags[pageblock_index(z, pfn, pb_order)] & 7u;
}

void set_pageblock_migratetype(struct pglist_data *pgdat, struct zone *z, pfn_t pfn,
			       unsigned int pb_order, unsigned int mt);

#endif /* MM_ZONE_H */
