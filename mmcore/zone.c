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
#include <stdio.h>

#include "machine.h"
#include "host.h"
#include "snapshot.h"

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

/* ---- snapshot sections NODE and ZONE: pglist_data and its zones ------------------------ */

static void put_list(struct snap_out *o, const struct pfn_list *l)
{
	snap_put_u32(o, l->first);
	snap_put_u32(o, l->last);
}

static void get_list(struct snap_in *in, struct pfn_list *l)
{
	l->first = snap_get_u32(in);
	l->last = snap_get_u32(in);
}

/* NODE v1: the node's span and counters, node_stat[] (count first), the sysctls. */
void node_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	const struct pglist_data *pgdat = &m->pgdat;
	unsigned int i;

	snap_put_u32(o, pgdat->node_start_pfn);
	snap_put_u32(o, pgdat->node_spanned_pages);
	snap_put_u32(o, pgdat->node_present_pages);
	snap_put_u32(o, pgdat->nr_cpus);
	snap_put_u32(o, pgdat->movable_zone);
	snap_put_bool(o, pgdat->page_group_by_mobility_disabled);
	snap_put_u32(o, NR_VM_NODE_STAT_ITEMS);
	for (i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
		snap_put_i64(o, pgdat->node_stat[i]);
	snap_put_u64(o, pgdat->nr_kernel_pages);
	snap_put_u64(o, pgdat->nr_all_pages);
	snap_put_u64(o, pgdat->totalram_pages);
	snap_put_u64(o, pgdat->totalhigh_pages);
	snap_put_u64(o, pgdat->totalreserve_pages);
	snap_put_i32(o, pgdat->min_free_kbytes);
	snap_put_i32(o, pgdat->user_min_free_kbytes);
	snap_put_i32(o, pgdat->watermark_scale_factor);
	snap_put_i32(o, pgdat->watermark_boost_factor);
	for (i = 0; i < MAX_NR_ZONES; i++)
		snap_put_i32(o, pgdat->sysctl_lowmem_reserve_ratio[i]);
	snap_put_i32(o, pgdat->percpu_pagelist_high_fraction);
	snap_put_bool(o, pgdat->thp_enabled);
}

/* A node_stat[] shorter than this build's (items appended later) reads its tail as 0. */
int node_snap_load(struct mm_machine *m, struct snap_in *in)
{
	struct pglist_data *pgdat = &m->pgdat;
	unsigned int i, n;

	pgdat->node_start_pfn = snap_get_u32(in);
	pgdat->node_spanned_pages = snap_get_u32(in);
	pgdat->node_present_pages = snap_get_u32(in);
	pgdat->nr_cpus = snap_get_u32(in);
	pgdat->movable_zone = snap_get_u32(in);
	pgdat->page_group_by_mobility_disabled = snap_get_bool(in);
	n = snap_get_count(in, NR_VM_NODE_STAT_ITEMS, "node_stat's items");
	for (i = 0; i < n; i++)
		pgdat->node_stat[i] = (long)snap_get_i64(in);
	pgdat->nr_kernel_pages = snap_get_u64(in);
	pgdat->nr_all_pages = snap_get_u64(in);
	pgdat->totalram_pages = snap_get_u64(in);
	pgdat->totalhigh_pages = snap_get_u64(in);
	pgdat->totalreserve_pages = snap_get_u64(in);
	pgdat->min_free_kbytes = snap_get_i32(in);
	pgdat->user_min_free_kbytes = snap_get_i32(in);
	pgdat->watermark_scale_factor = snap_get_i32(in);
	pgdat->watermark_boost_factor = snap_get_i32(in);
	for (i = 0; i < MAX_NR_ZONES; i++)
		pgdat->sysctl_lowmem_reserve_ratio[i] = snap_get_i32(in);
	pgdat->percpu_pagelist_high_fraction = snap_get_i32(in);
	pgdat->thp_enabled = snap_get_bool(in);
	if (in->ret)
		return in->ret;
	if (pgdat->nr_cpus != m->cfg.cpus || pgdat->movable_zone >= MAX_NR_ZONES)
		return snap_corrupt(in, "%u CPUs for a machine of %u, movable zone %u",
				    pgdat->nr_cpus, m->cfg.cpus, pgdat->movable_zone);
	return 0;
}

/*
 * ZONE v1, per zone: the span, the watermarks and reserves, free_area[] (lists and counts),
 * the pageblock flags, vm_stat[] (count first), the pcp of every possible CPU (count first).
 */
void zones_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	unsigned int z, i, k;

	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];

		snap_put_u32(o, zone->idx);
		snap_put_u32(o, zone->zone_start_pfn);
		snap_put_u32(o, zone->spanned_pages);
		snap_put_u32(o, zone->present_pages);
		snap_put_u32(o, zone->managed_pages);
		for (i = 0; i < NR_WMARK; i++)
			snap_put_u64(o, zone->_watermark[i]);
		snap_put_u64(o, zone->watermark_boost);
		for (i = 0; i < MAX_NR_ZONES; i++)
			snap_put_i64(o, zone->lowmem_reserve[i]);
		snap_put_u64(o, zone->nr_reserved_highatomic);
		snap_put_bool(o, zone->flags_boosted);
		for (i = 0; i < MAX_ORDER; i++) {
			const struct free_area *area = &zone->free_area[i];

			for (k = 0; k < MIGRATE_TYPES; k++) {
				put_list(o, &area->free_list[k]);
				snap_put_u32(o, area->nr_free_mt[k]);
			}
			snap_put_u32(o, area->nr_free);
		}
		snap_put_u32(o, zone->pageblock_flags ? zone->nr_pageblocks : 0);
		if (zone->pageblock_flags)
			snap_put_bytes(o, zone->pageblock_flags, zone->nr_pageblocks);
		snap_put_u32(o, NR_VM_ZONE_STAT_ITEMS);
		for (i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
			snap_put_i64(o, zone->vm_stat[i]);
		snap_put_i32(o, zone->stat_threshold);
		snap_put_u32(o, NR_CPUS);
		for (i = 0; i < NR_CPUS; i++) {
			const struct per_cpu_pages *pcp = &zone->pcp[i];

			snap_put_i32(o, pcp->count);
			snap_put_i32(o, pcp->high);
			snap_put_i32(o, pcp->batch);
			snap_put_i32(o, pcp->free_factor);
			for (k = 0; k < NR_PCP_LISTS; k++)
				put_list(o, &pcp->lists[k]);
		}
	}
}

/*
 * Walk one list as the allocator will: every pfn a frame of mem_map not yet on any list
 * (@seen), its block inside [@lo, @hi), lru_prev pointing back, last where it ends.
 * Returns the number of blocks, or -1 after snap_corrupt().
 */
static long walk_list(struct mm_machine *m, struct snap_in *in, const struct pfn_list *l,
		      unsigned int order, pfn_t lo, pfn_t hi, uint8_t *seen, const char *what)
{
	pfn_t pfn = l->first, prev = PFN_NIL;
	long n = 0;

	while (pfn != PFN_NIL) {
		if (pfn < lo || pfn >= hi || hi - pfn < (1u << order) ||
		    seen[pfn / 8] & (1u << (pfn % 8))) {
			snap_corrupt(in, "%s: pfn %#x out of its zone or on two lists", what, pfn);
			return -1;
		}
		seen[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
		if (m->mem_map[pfn].lru_prev != prev) {
			snap_corrupt(in, "%s: pfn %#x does not link back to %#x", what, pfn, prev);
			return -1;
		}
		prev = pfn;
		pfn = m->mem_map[pfn].lru_next;
		n++;
	}
	if (l->last != prev) {
		snap_corrupt(in, "%s: ends at %#x, says %#x", what, prev, l->last);
		return -1;
	}
	return n;
}

/* The lists and their counters agree, so nothing the allocator follows leaves mem_map. */
static int check_zone_lists(struct mm_machine *m, struct snap_in *in, struct zone *zone,
			    uint8_t *seen)
{
	pfn_t lo = zone->zone_start_pfn, hi = lo + zone->spanned_pages;
	unsigned int o, mt, cpu, k;
	char what[64];
	long n;

	for (o = 0; o < MAX_ORDER; o++) {
		uint32_t sum = 0;

		for (mt = 0; mt < MIGRATE_TYPES; mt++) {
			snprintf(what, sizeof(what), "zone %u free_area[%u] type %u", zone->idx, o,
				 mt);
			n = walk_list(m, in, &zone->free_area[o].free_list[mt], o, lo, hi, seen,
				      what);
			if (n < 0)
				return in->ret;
			if ((uint32_t)n != zone->free_area[o].nr_free_mt[mt])
				return snap_corrupt(in, "%s: %ld blocks, nr_free_mt %u", what, n,
						    zone->free_area[o].nr_free_mt[mt]);
			sum += (uint32_t)n;
		}
		if (sum != zone->free_area[o].nr_free)
			return snap_corrupt(in, "zone %u order %u: %u blocks, nr_free %u",
					    zone->idx, o, sum, zone->free_area[o].nr_free);
	}
	for (cpu = 0; cpu < NR_CPUS; cpu++) {
		struct per_cpu_pages *pcp = &zone->pcp[cpu];
		long pages = 0;

		/* batch sizes every refill and drain loop: at least 1, as pageset_update() */
		if (pcp->batch < 1 || pcp->high < 0 || pcp->free_factor < 0)
			return snap_corrupt(in, "zone %u cpu %u: pcp batch %d, high %d, factor %d",
					    zone->idx, cpu, pcp->batch, pcp->high,
					    pcp->free_factor);

		for (k = 0; k < NR_PCP_LISTS; k++) {
			unsigned int order = k >= 12 ? pageblock_order(m) : k / 3;

			snprintf(what, sizeof(what), "zone %u cpu %u pcp list %u", zone->idx, cpu,
				 k);
			n = walk_list(m, in, &pcp->lists[k], order, 0, m->mem_map_pfns, seen, what);
			if (n < 0)
				return in->ret;
			pages += n << order;
		}
		if (pages != pcp->count)
			return snap_corrupt(in,
					    "zone %u cpu %u: %ld pages on the pcp lists, count %d",
					    zone->idx, cpu, pages, pcp->count);
	}
	return 0;
}

int zones_snap_load(struct mm_machine *m, struct snap_in *in)
{
	bool booted = m->phase >= MM_PHASE_BUDDY;
	unsigned int z, i, k, n, pb_order = pageblock_order(m);
	uint8_t *seen = NULL;
	int r = 0;

	for (z = 0; z < MAX_NR_ZONES && !in->ret; z++) {
		struct zone *zone = &m->pgdat.node_zones[z];
		uint64_t blocks;

		zone->idx = snap_get_u32(in);
		zone->zone_start_pfn = snap_get_u32(in);
		zone->spanned_pages = snap_get_u32(in);
		zone->present_pages = snap_get_u32(in);
		zone->managed_pages = snap_get_u32(in);
		for (i = 0; i < NR_WMARK; i++)
			zone->_watermark[i] = (unsigned long)snap_get_u64(in);
		zone->watermark_boost = (unsigned long)snap_get_u64(in);
		for (i = 0; i < MAX_NR_ZONES; i++)
			zone->lowmem_reserve[i] = (long)snap_get_i64(in);
		zone->nr_reserved_highatomic = (unsigned long)snap_get_u64(in);
		zone->flags_boosted = snap_get_bool(in);
		for (i = 0; i < MAX_ORDER; i++) {
			struct free_area *area = &zone->free_area[i];

			for (k = 0; k < MIGRATE_TYPES; k++) {
				get_list(in, &area->free_list[k]);
				area->nr_free_mt[k] = snap_get_u32(in);
			}
			area->nr_free = snap_get_u32(in);
		}
		if (in->ret)
			break;
		/* the span inside mem_map; pageblock flags as setup_usemap() sized them */
		if (zone->idx != (booted ? z : 0) || (!booted && zone->spanned_pages) ||
		    (uint64_t)zone->zone_start_pfn + zone->spanned_pages > m->mem_map_pfns ||
		    zone->present_pages > zone->spanned_pages)
			return snap_corrupt(in, "zone %u spans [%#x, +%#x) of %#x frames", z,
					    zone->zone_start_pfn, zone->spanned_pages,
					    m->mem_map_pfns);
		blocks = zone->spanned_pages ? (zone->spanned_pages +
						(zone->zone_start_pfn & ((1u << pb_order) - 1)) +
						(1u << pb_order) - 1) >>
						       pb_order
					     : 0;
		n = snap_get_count(in, 1u << 20, "the pageblocks");
		if (in->ret)
			break;
		if (n != blocks)
			return snap_corrupt(in, "zone %u has %u pageblocks, its span %llu", z, n,
					    (unsigned long long)blocks);
		if (n) {
			zone->pageblock_flags = host_calloc(m->host, n, 1);
			if (!zone->pageblock_flags)
				return snap_nomem(in, "the pageblock flags");
			zone->nr_pageblocks = n;
			if (snap_get_bytes(in, zone->pageblock_flags, n))
				break;
			for (i = 0; i < n; i++)
				if ((zone->pageblock_flags[i] & 7u) >= MIGRATE_TYPES)
					return snap_corrupt(in, "zone %u pageblock %u has type %u",
							    z, i, zone->pageblock_flags[i] & 7u);
		}
		n = snap_get_count(in, NR_VM_ZONE_STAT_ITEMS, "vm_stat's items");
		for (i = 0; i < n; i++)
			zone->vm_stat[i] = (long)snap_get_i64(in);
		zone->stat_threshold = snap_get_i32(in);
		n = snap_get_count(in, NR_CPUS, "the pcp CPUs");
		for (i = 0; i < NR_CPUS; i++) {
			struct per_cpu_pages *pcp = &zone->pcp[i];

			if (i >= n) { /* written with fewer possible CPUs: the boot pageset */
				if (booted) {
					for (k = 0; k < NR_PCP_LISTS; k++)
						pfn_list_init(&pcp->lists[k]);
					pcp->batch = 1;
				}
				continue;
			}
			pcp->count = snap_get_i32(in);
			pcp->high = snap_get_i32(in);
			pcp->batch = snap_get_i32(in);
			pcp->free_factor = snap_get_i32(in);
			for (k = 0; k < NR_PCP_LISTS; k++)
				get_list(in, &pcp->lists[k]);
		}
	}
	/* a clone's stream (clone.c) comes from a live machine, not from a file: its lists are
	 * that machine's, and walking them would touch every shared page of mem_map */
	if (in->ret || !booted || in->share_src)
		return in->ret;
	seen = host_calloc(m->host, m->mem_map_pfns / 8 + 1, 1);
	if (!seen)
		return snap_nomem(in, "the list check");
	for (z = 0; z < MAX_NR_ZONES && !r; z++)
		r = check_zone_lists(m, in, &m->pgdat.node_zones[z], seen);
	host_free(seen);
	return r;
}
