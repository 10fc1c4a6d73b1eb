/* SPDX-License-Identifier: MIT */
/*
 * check.c - the invariant checker: verifies the whole machine and reports every violation.
 *
 * Checked (see page.h, zone.h, page_alloc.h):
 *  - every frame below max_pfn is accounted for exactly once: the head or a tail of one
 *    free block on a free list of its order, on exactly one pcp list, reserved, or
 *    allocated (refcount > 0);
 *  - free lists: PageBuddy heads with private == order, aligned, inside their zone, on the
 *    list of the migratetype recorded in page->index; nr_free and nr_free_mt match;
 *  - no two free buddies of one order are left unmerged (outside pcp lists);
 *  - NR_FREE_PAGES equals the pages on the free lists; pcp->count equals its lists;
 *  - zones: managed <= present <= spanned, watermarks ordered; totals add up.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "machine.h"

static void report(struct mm_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(struct mm_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->msgs && rep->nr < rep->max) {
		va_start(ap, fmt);
		vsnprintf(rep->msgs[rep->nr], MM_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	rep->nr++;
}

enum { OWN_NONE, OWN_FREE, OWN_PCP };

int mm_check(const struct mm_machine *m, struct mm_report *rep_in)
{
	struct mm_report dummy = {0}, *rep = rep_in ? rep_in : &dummy;
	const struct pglist_data *pgdat = &m->pgdat;
	uint8_t *own;
	pfn_t pfn, max_pfn = m->layout.max_pfn;
	unsigned int z, o, mt, cpu, k;
	uint64_t managed = 0, high = 0;

	rep->nr = 0;
	own = host_calloc(max_pfn ? max_pfn : 1, 1);
	if (!own) {
		report(rep, "out of host memory while checking");
		return -ENOMEM;
	}
	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &pgdat->node_zones[z];
		uint64_t free_pages = 0;

		managed += zone->managed_pages;
		if (is_highmem_idx(pgdat, z))
			high += zone->managed_pages;
		if (zone->managed_pages > zone->present_pages ||
		    zone->present_pages > zone->spanned_pages)
			report(rep, "zone %s: managed %u, present %u, spanned %u out of order",
			       mm_zone_name((int)z), zone->managed_pages, zone->present_pages,
			       zone->spanned_pages);
		if (min_wmark_pages(zone) > low_wmark_pages(zone) ||
		    low_wmark_pages(zone) > high_wmark_pages(zone))
			report(rep, "zone %s: watermarks min %lu low %lu high %lu out of order",
			       mm_zone_name((int)z), min_wmark_pages(zone), low_wmark_pages(zone),
			       high_wmark_pages(zone));
		for (o = 0; o < MAX_ORDER; o++) {
			uint32_t nr = 0;

			for (mt = 0; mt < MIGRATE_TYPES; mt++) {
				uint32_t nr_mt = 0, guard = 0;

				for (pfn = zone->free_area[o].free_list[mt].first; pfn != PFN_NIL;
				     pfn = m->mem_map[pfn].lru_next) {
					const struct page *p = &m->mem_map[pfn];
					pfn_t i;

					if (++guard > max_pfn) {
						report(rep, "zone %s order %u %s: free list loops",
						       mm_zone_name((int)z), o,
						       mm_migratetype_name((int)mt));
						break;
					}
					nr_mt++;
					if (!PageBuddy(p) || p->private != o || p->index != mt)
						report(rep,
						       "pfn %#x on free_area[%u] %s but buddy %d "
						       "order %u type %u",
						       pfn, o, mm_migratetype_name((int)mt),
						       PageBuddy(p), p->private, p->index);
					if (pfn & ((1u << o) - 1))
						report(rep,
						       "free block at pfn %#x is not aligned to "
						       "order %u",
						       pfn, o);
					if (!zone_spans_pfn(zone, pfn) || pfn + (1u << o) > max_pfn)
						report(rep,
						       "free block pfn %#x order %u outside zone "
						       "%s",
						       pfn, o, mm_zone_name((int)z));
					for (i = pfn; i < pfn + (1u << o) && i < max_pfn; i++) {
						if (own[i] != OWN_NONE)
							report(rep, "pfn %#x is on two lists", i);
						own[i] = OWN_FREE;
						if (page_zonenum(&m->mem_map[i]) != z)
							report(rep,
							       "pfn %#x in a %s free block has "
							       "zone %u",
							       i, mm_zone_name((int)z),
							       page_zonenum(&m->mem_map[i]));
					}
					free_pages += 1u << o;
				}
				if (nr_mt != zone->free_area[o].nr_free_mt[mt])
					report(rep,
					       "zone %s order %u %s: %u on the list, nr_free says "
					       "%u",
					       mm_zone_name((int)z), o,
					       mm_migratetype_name((int)mt), nr_mt,
					       zone->free_area[o].nr_free_mt[mt]);
				nr += nr_mt;
			}
			if (nr != zone->free_area[o].nr_free)
				report(rep, "zone %s order %u: %u blocks listed, nr_free %u",
				       mm_zone_name((int)z), o, nr, zone->free_area[o].nr_free);
		}
		if ((long)free_pages != zone->vm_stat[NR_FREE_PAGES])
			report(rep, "zone %s: %llu pages on free lists, NR_FREE_PAGES %ld",
			       mm_zone_name((int)z), (unsigned long long)free_pages,
			       zone->vm_stat[NR_FREE_PAGES]);
		for (cpu = 0; cpu < pgdat->nr_cpus; cpu++) {
			const struct per_cpu_pages *pcp = &zone->pcp[cpu];
			int count = 0;

			for (k = 0; k < NR_PCP_LISTS; k++) {
				unsigned int order = k >= 12 ? m->geo.pageblock_order : k / 3;

				for (pfn = pcp->lists[k].first; pfn != PFN_NIL;
				     pfn = m->mem_map[pfn].lru_next) {
					pfn_t i;

					count += 1 << order;
					if (m->mem_map[pfn]._refcount != 0 ||
					    PageBuddy(&m->mem_map[pfn]))
						report(rep,
						       "pfn %#x on cpu %u pcp list has refcount %d",
						       pfn, cpu, m->mem_map[pfn]._refcount);
					for (i = pfn; i < pfn + (1u << order) && i < max_pfn; i++) {
						if (own[i] != OWN_NONE)
							report(rep,
							       "pfn %#x on a pcp list is also "
							       "elsewhere",
							       i);
						own[i] = OWN_PCP;
					}
					if (count > (int)max_pfn)
						break;
				}
			}
			if (count != pcp->count)
				report(rep,
				       "zone %s cpu %u: pcp lists hold %d pages, count says %d",
				       mm_zone_name((int)z), cpu, count, pcp->count);
		}
	}
	/* every other frame: reserved or allocated, never both, never neither */
	for (pfn = 0; pfn < max_pfn; pfn++) {
		const struct page *p = &m->mem_map[pfn];

		if (own[pfn] != OWN_NONE) {
			if (PageReserved(p))
				report(rep, "pfn %#x is free but PageReserved", pfn);
			continue;
		}
		if (PageBuddy(p))
			report(rep, "pfn %#x is PageBuddy but on no free list", pfn);
		else if (!PageReserved(p) && p->_refcount <= 0)
			report(rep, "pfn %#x is neither free, reserved nor allocated (refcount %d)",
			       pfn, p->_refcount);
	}
	/* no two free buddies of the same order left unmerged */
	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &pgdat->node_zones[z];

		for (o = 0; o + 1 < MAX_ORDER; o++)
			for (mt = 0; mt < MIGRATE_TYPES; mt++)
				for (pfn = zone->free_area[o].free_list[mt].first; pfn != PFN_NIL;
				     pfn = m->mem_map[pfn].lru_next) {
					pfn_t b = pfn ^ (1u << o);
					const struct page *bp;

					if (b >= m->mem_map_pfns)
						continue;
					bp = &m->mem_map[b];
					if (PageBuddy(bp) && bp->private == o &&
					    page_zonenum(bp) == z &&
					    (o < m->geo.pageblock_order ||
					     (bp->index < MIGRATE_PCPTYPES &&
					      mt < MIGRATE_PCPTYPES) ||
					     bp->index == mt))
						report(rep,
						       "free buddies %#x and %#x of order %u were "
						       "not merged",
						       MM_MIN(pfn, b), MM_MAX(pfn, b), o);
				}
	}
	if (managed != pgdat->totalram_pages)
		report(rep, "zones manage %llu pages, totalram_pages is %llu",
		       (unsigned long long)managed, (unsigned long long)pgdat->totalram_pages);
	if (high != pgdat->totalhigh_pages)
		report(rep, "highmem zones manage %llu pages, totalhigh_pages is %llu",
		       (unsigned long long)high, (unsigned long long)pgdat->totalhigh_pages);
	host_free(own);
	return rep->nr ? -EFAULT : 0;
}
