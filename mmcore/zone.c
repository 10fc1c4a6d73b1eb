/* SPDX-License-Identifier: MIT */
/*
 * zone.c - watermarks, lowmem_reserve ("protection"), totalreserve, per-CPU pageset sizing
 * and the boot-time choice of min_free_kbytes; see zone.h.
 *
 * Mirrors: mm/page_alloc.c __setup_per_zone_wmarks(), setup_per_zone_lowmem_reserve(),
 * calculate_totalreserve_pages(), zone_batchsize(), zone_highsize(),
 * zone_set_pageset_high_and_batch(), calculate_min_free_kbytes(),
 * init_per_zone_wmark_min(); mm/khugepaged.c set_recommended_min_free_kbytes();
 * mm/huge_memory.c hugepage_init(); mm/vmstat.c calculate_normal_threshold().
 * Everything here is a pure function of the zones' managed counts and the sysctls at the
 * moment it runs, which is why boot order matters: the initcalls run before the init
 * sections are freed, so the watermarks of a fresh machine see the smaller managed count.
 */
#include "machine.h"

#define SWAP_CLUSTER_MAX 32UL

bool is_highmem_idx(const struct pglist_data *pgdat, unsigned int idx)
{
	return idx == ZONE_HIGHMEM || (idx == ZONE_MOVABLE && pgdat->movable_zone == ZONE_HIGHMEM);
}

void pgdat_init_tunables(struct pglist_data *pgdat)
{
	pgdat->min_free_kbytes = 1024;
	pgdat->user_min_free_kbytes = -1;
	pgdat->watermark_scale_factor = 10;
	pgdat->watermark_boost_factor = 15000;
	pgdat->sysctl_lowmem_reserve_ratio[ZONE_DMA] = 256;
	pgdat->sysctl_lowmem_reserve_ratio[ZONE_NORMAL] = 32;
	pgdat->sysctl_lowmem_reserve_ratio[ZONE_HIGHMEM] = 0;
	pgdat->sysctl_lowmem_reserve_ratio[ZONE_MOVABLE] = 0;
	pgdat->percpu_pagelist_high_fraction = 0;
}

/* Σ over zones <= @highest of max(0, managed - high watermark). */
uint64_t nr_free_zone_pages(const struct pglist_data *pgdat, unsigned int highest_zoneidx)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i <= highest_zoneidx && i < MAX_NR_ZONES; i++) {
		const struct zone *z = &pgdat->node_zones[i];
		unsigned long high = high_wmark_pages(z);

		if (z->managed_pages > high)
			sum += z->managed_pages - high;
	}
	return sum;
}

uint64_t nr_free_buffer_pages(const struct pglist_data *pgdat)
{
	return nr_free_zone_pages(pgdat, ZONE_NORMAL); /* gfp_zone(GFP_USER) */
}

static unsigned long mult_frac(unsigned long x, unsigned long n, unsigned long d)
{
	return (x / d) * n + ((x % d) * n) / d;
}

void calculate_totalreserve_pages(struct pglist_data *pgdat)
{
	unsigned int i, j;

	pgdat->totalreserve_pages = 0;
	for (i = 0; i < MAX_NR_ZONES; i++) {
		const struct zone *z = &pgdat->node_zones[i];
		long max = 0;

		for (j = i; j < MAX_NR_ZONES; j++)
			if (z->lowmem_reserve[j] > max)
				max = z->lowmem_reserve[j];
		max += (long)high_wmark_pages(z);
		if (max > (long)z->managed_pages)
			max = (long)z->managed_pages;
		pgdat->totalreserve_pages += (uint64_t)max;
	}
}

static int zone_batchsize(const struct zone *z)
{
	unsigned long batch = MM_MIN(z->managed_pages >> 10, SZ_1M / PAGE_SIZE);

	batch /= 4; /* we effectively *= 4 below */
	if (batch < 1)
		batch = 1;
	/* clamp to 2^n - 1: powers of two alias badly in the cache */
	return (int)rounddown_pow_of_two(batch + batch / 2) - 1;
}

static int zone_highsize(const struct pglist_data *pgdat, const struct zone *z, int batch,
			 int cpu_online)
{
	unsigned long total;
	int nr_split_cpus, high;

	if (!pgdat->percpu_pagelist_high_fraction)
		total = low_wmark_pages(z);
	else
		total = z->managed_pages / (unsigned long)pgdat->percpu_pagelist_high_fraction;
	nr_split_cpus = (int)pgdat->nr_cpus + cpu_online;
	if (!nr_split_cpus)
		nr_split_cpus = (int)pgdat->nr_cpus;
	high = (int)(total / (unsigned long)nr_split_cpus);
	return MM_MAX(high, batch << 2);
}

/* Mirrors: zone_pcp_update(zone, 0) -> zone_set_pageset_high_and_batch(). */
void zone_pcp_update(struct pglist_data *pgdat, struct zone *z)
{
	int batch, high;
	unsigned int cpu;

	if (!populated_zone(z))
		return;
	batch = MM_MAX(1, zone_batchsize(z));
	high = zone_highsize(pgdat, z, batch, 0);
	for (cpu = 0; cpu < pgdat->nr_cpus; cpu++) {
		z->pcp[cpu].high = high;
		z->pcp[cpu].batch = batch;
	}
}

/* Mirrors: __setup_per_zone_wmarks() followed by the pcp updates of setup_per_zone_wmarks(). */
void setup_per_zone_wmarks(struct pglist_data *pgdat)
{
	unsigned long pages_min = (unsigned long)pgdat->min_free_kbytes >> (PAGE_SHIFT - 10);
	unsigned long lowmem_pages = 0;
	unsigned int i;

	for (i = 0; i < MAX_NR_ZONES; i++)
		if (!is_highmem_idx(pgdat, i))
			lowmem_pages += pgdat->node_zones[i].managed_pages;

	for (i = 0; i < MAX_NR_ZONES; i++) {
		struct zone *z = &pgdat->node_zones[i];
		uint64_t tmp =
			lowmem_pages ? (uint64_t)pages_min * z->managed_pages / lowmem_pages : 0;

		if (is_highmem_idx(pgdat, i)) {
			unsigned long min_pages = z->managed_pages / 1024;

			min_pages = MM_MAX(min_pages, SWAP_CLUSTER_MAX);
			min_pages = MM_MIN(min_pages, 128UL);
			z->_watermark[WMARK_MIN] = min_pages;
		} else {
			z->_watermark[WMARK_MIN] = (unsigned long)tmp;
		}
		tmp = MM_MAX(tmp >> 2,
			     (uint64_t)mult_frac(z->managed_pages,
						 (unsigned long)pgdat->watermark_scale_factor,
						 10000));
		z->watermark_boost = 0;
		z->_watermark[WMARK_LOW] = min_wmark_pages(z) + (unsigned long)tmp;
		z->_watermark[WMARK_HIGH] = low_wmark_pages(z) + (unsigned long)tmp;
		z->_watermark[WMARK_PROMO] = high_wmark_pages(z) + (unsigned long)tmp;
	}
	calculate_totalreserve_pages(pgdat);
	for (i = 0; i < MAX_NR_ZONES; i++)
		zone_pcp_update(pgdat, &pgdat->node_zones[i]);
}

void setup_per_zone_lowmem_reserve(struct pglist_data *pgdat)
{
	unsigned int i, j;

	for (i = 0; i < MAX_NR_ZONES - 1; i++) {
		struct zone *z = &pgdat->node_zones[i];
		int ratio = pgdat->sysctl_lowmem_reserve_ratio[i];
		bool clear = !ratio || !z->managed_pages;
		unsigned long managed = 0;

		for (j = i + 1; j < MAX_NR_ZONES; j++) {
			managed += pgdat->node_zones[j].managed_pages;
			z->lowmem_reserve[j] = clear ? 0 : (long)(managed / (unsigned long)ratio);
		}
	}
	calculate_totalreserve_pages(pgdat);
}

void refresh_zone_stat_thresholds(struct pglist_data *pgdat)
{
	unsigned int i;

	for (i = 0; i < MAX_NR_ZONES; i++) {
		struct zone *z = &pgdat->node_zones[i];
		unsigned long mem = z->managed_pages >> (27 - PAGE_SHIFT); /* 128 MiB units */
		int threshold;

		if (!populated_zone(z))
			continue;
		threshold = 2 * (int)fls_u64(pgdat->nr_cpus) * (1 + (int)fls_u64(mem));
		z->stat_threshold = MM_MIN(125, threshold);
	}
}

/* Mirrors: calculate_min_free_kbytes(). */
static void calculate_min_free_kbytes(struct mm_machine *m)
{
	struct pglist_data *pgdat = &m->pgdat;
	uint64_t lowmem_kbytes = nr_free_buffer_pages(pgdat) * (PAGE_SIZE >> 10);
	int new_min = (int)int_sqrt(lowmem_kbytes * 16);

	if (new_min > pgdat->user_min_free_kbytes)
		pgdat->min_free_kbytes = MM_MIN(MM_MAX(new_min, 128), 262144);
	else
		printk(m,
		       "min_free_kbytes is not updated to %d because user defined value %d is "
		       "preferred\n",
		       new_min, pgdat->user_min_free_kbytes);
}

void init_per_zone_wmark_min(struct mm_machine *m)
{
	calculate_min_free_kbytes(m);
	setup_per_zone_wmarks(&m->pgdat);
	refresh_zone_stat_thresholds(&m->pgdat);
	setup_per_zone_lowmem_reserve(&m->pgdat);
}

/* Mirrors: hugepage_init() -> start_stop_khugepaged() -> set_recommended_min_free_kbytes(). */
void hugepage_init(struct mm_machine *m)
{
	struct pglist_data *pgdat = &m->pgdat;
	unsigned long nr_zones = 0, rec, pb = pageblock_nr_pages(m);
	unsigned int i;

	pgdat->thp_enabled = false;
	if (!m->cpu_pse) /* has_transparent_hugepage() */
		return;
	if (pgdat->totalram_pages < (512u << (20 - PAGE_SHIFT)))
		return; /* THP off on small machines */
	pgdat->thp_enabled = true;
	for (i = 0; i <= ZONE_NORMAL; i++)
		if (populated_zone(&pgdat->node_zones[i]))
			nr_zones++;
	rec = pb * nr_zones * 2 + pb * nr_zones * MIGRATE_PCPTYPES * MIGRATE_PCPTYPES;
	rec = MM_MIN(rec, (unsigned long)(nr_free_buffer_pages(pgdat) / 20));
	rec <<= PAGE_SHIFT - 10;
	if (rec > (unsigned long)pgdat->min_free_kbytes) {
		if (pgdat->user_min_free_kbytes >= 0)
			printk(m,
			       "raising min_free_kbytes from %d to %lu to help transparent "
			       "hugepage "
			       "allocations\n",
			       pgdat->min_free_kbytes, rec);
		pgdat->min_free_kbytes = (int)rec;
	}
	setup_per_zone_wmarks(pgdat);
}

void set_pageblock_migratetype(struct pglist_data *pgdat, struct zone *z, pfn_t pfn,
			       unsigned int pb_order, unsigned int mt)
{
	uint8_t *f = &z->pageblock_flags[pageblock_index(z, pfn, pb_order)];

	if (pgdat->page_group_by_mobility_disabled && mt < MIGRATE_PCPTYPES)
		mt = MIGRATE_UNMOVABLE;
	*f = (uint8_t)((*f & ~7u) | mt);
}
