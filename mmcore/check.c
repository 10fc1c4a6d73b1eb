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
 *  - zones: managed <= present <= spanned, watermarks ordered; totals add up;
 *  - page tables: swapper_pg_dir maps nothing below PAGE_OFFSET and all lowmem RAM (and
 *    the first MiB) at PAGE_OFFSET + pa, and none of its table pages is free.
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

enum { OWN_NONE, OWN_FREE, OWN_PCP, OWN_ALLOC };

/*
 * The kernel's page tables (once swapper_pg_dir is built): nothing mapped below
 * PAGE_OFFSET, the direct map sends PAGE_OFFSET + pa to pa for all of lowmem, and no
 * table page of the kernel half is free in the page allocator (@own from the lists).
 */
static void check_page_tables(const struct mm_machine *m, const uint8_t *own, struct mm_report *rep)
{
	uint64_t pgd = m->pt.swapper_pg_dir, pmd_size = m->layout.pmd_size;
	unsigned int esz = pt_entry_size(m), n = m->cfg.pae ? 512 : 1024, i, user_slots;
	uint64_t low_end = PFN_PHYS(m->layout.max_low_pfn), pa;

	user_slots = m->cfg.pae ? 3 : 768;
	for (i = 0; i < user_slots; i++)
		if (pt_read(m, pgd + (uint64_t)i * esz))
			report(rep, "swapper_pg_dir entry %u (user half) is %#llx, not empty", i,
			       (unsigned long long)pt_read(m, pgd + (uint64_t)i * esz));
	for (pa = 0; pa < low_end; pa += pmd_size) {
		uint32_t va = (uint32_t)(PAGE_OFFSET + pa);
		uint64_t pmde = m->cfg.pae ? pt_entry_addr(m, pt_read(m, pgd + 3 * 8), false) +
						     (uint64_t)((va >> 21) & 511) * 8
					   : pgd + (uint64_t)(va >> 22) * 4;
		pteval_t e = pt_read(m, pmde), pte;
		uint64_t table;

		if (!(e & _PAGE_PRESENT)) {
			if (memblock_memory_in(&m->memblock, pa, MM_MIN(pa + pmd_size, low_end)))
				report(rep, "direct map: %#x (pa %#llx) has no pmd entry", va,
				       (unsigned long long)pa);
			continue;
		}
		if (e & _PAGE_PSE) {
			if (pt_entry_addr(m, e, true) != pa)
				report(rep, "direct map: large page at %#x maps %#llx, not %#llx",
				       va, (unsigned long long)pt_entry_addr(m, e, true),
				       (unsigned long long)pa);
			continue;
		}
		table = pt_entry_addr(m, e, false);
		if ((table >> PAGE_SHIFT) < m->layout.max_pfn && own &&
		    (own[table >> PAGE_SHIFT] == OWN_FREE || own[table >> PAGE_SHIFT] == OWN_PCP))
			report(rep, "page table %#llx of %#x is free in the page allocator",
			       (unsigned long long)table, va);
		for (i = 0; i < n && pa + (uint64_t)i * PAGE_SIZE < low_end; i++) {
			uint64_t want = pa + (uint64_t)i * PAGE_SIZE;

			pte = pt_read(m, table + (uint64_t)i * esz);
			if (!(pte & _PAGE_PRESENT) && want >= SZ_1M &&
			    !memblock_memory_in(&m->memblock, want, want + PAGE_SIZE))
				continue; /* a hole in RAM is not mapped */
			if (!(pte & _PAGE_PRESENT) || pt_entry_addr(m, pte, false) != want)
				report(rep, "direct map: %#llx is mapped to %#llx (present %d)",
				       (unsigned long long)(PAGE_OFFSET + want),
				       (unsigned long long)pt_entry_addr(m, pte, false),
				       (int)(pte & _PAGE_PRESENT));
		}
	}
}

int mm_check(const struct mm_machine *m, struct mm_report *rep_in)
{
	struct mm_report dummy = {0}, *rep = rep_in ? rep_in : &dummy;
	const struct pglist_data *pgdat = &m->pgdat;
	uint8_t *own;
	pfn_t pfn, max_pfn = m->layout.max_pfn;
	unsigned int z, o, mt, cpu, k;
	uint64_t managed = 0, high = 0;

	rep->nr = 0;
	if (m->phase < MM_PHASE_BUDDY) {
		/* no zones, no struct pages yet: only the page tables, once built */
		if (m->phase >= MM_PHASE_FINAL_PAGE_TABLES)
			check_page_tables(m, NULL, rep);
		return rep->nr ? -EFAULT : 0;
	}
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
					if ((m->pgstate[pfn] & (PGS_PCP | PGS_ALLOC_MASK)) !=
					    (PGS_PCP | (order + 1)))
						report(rep,
						       "pfn %#x on cpu %u pcp list (order %u) has "
						       "host state %#x",
						       pfn, cpu, order, m->pgstate[pfn]);
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
	/* allocations: the host record of each, its head referenced, compound tails linked */
	for (pfn = 0; pfn < max_pfn; pfn++) {
		const struct page *p = &m->mem_map[pfn];
		uint8_t st = m->pgstate[pfn];
		unsigned int order, nr;
		pfn_t i;

		if (!(st & PGS_ALLOC_MASK) || (st & PGS_PCP))
			continue;
		order = (st & PGS_ALLOC_MASK) - 1u;
		nr = 1u << order;
		if (order >= MAX_ORDER || (pfn & (nr - 1)) || pfn + nr > max_pfn) {
			report(rep, "allocation at pfn %#x has a bad order %u", pfn, order);
			continue;
		}
		if (p->_refcount <= 0)
			report(rep, "allocated pfn %#x has refcount %d", pfn, p->_refcount);
		if (PageReserved(p) || PageBuddy(p))
			report(rep, "allocated pfn %#x is %s", pfn,
			       PageReserved(p) ? "PG_reserved" : "PageBuddy");
		if (PageHead(p) && (order == 0 || (m->mem_map[pfn + 1].index & 0xff) != order))
			report(rep, "compound head pfn %#x: allocation order %u, compound_order %u",
			       pfn, order, order ? m->mem_map[pfn + 1].index & 0xff : 0);
		for (i = pfn; i < pfn + nr; i++) {
			const struct page *t = &m->mem_map[i];

			if (own[i] != OWN_NONE)
				report(rep, "allocated pfn %#x is also on a list", i);
			own[i] = OWN_ALLOC;
			if (i == pfn)
				continue;
			if (t->_refcount != 0 || PageBuddy(t) || PageReserved(t) ||
			    (m->pgstate[i] & (PGS_ALLOC_MASK | PGS_PCP)))
				report(rep,
				       "pfn %#x inside the allocation at %#x: refcount %d, "
				       "state %#x",
				       i, pfn, t->_refcount, m->pgstate[i]);
			if (PageHead(p) != (PageTail(t) && t->lru_next == pfn))
				report(rep, "pfn %#x: compound tail link does not match head %#x",
				       i, pfn);
		}
	}
	/* every other frame: reserved, never free and reserved, never neither */
	for (pfn = 0; pfn < max_pfn; pfn++) {
		const struct page *p = &m->mem_map[pfn];

		if (own[pfn] == OWN_FREE || own[pfn] == OWN_PCP) {
			if (PageReserved(p))
				report(rep, "pfn %#x is free but PageReserved", pfn);
			if (own[pfn] == OWN_FREE && (m->pgstate[pfn] & (PGS_ALLOC_MASK | PGS_PCP)))
				report(rep, "free pfn %#x has host state %#x", pfn,
				       m->pgstate[pfn]);
			continue;
		}
		if (own[pfn] == OWN_ALLOC)
			continue;
		if (PageBuddy(p))
			report(rep, "pfn %#x is PageBuddy but on no free list", pfn);
		else if (m->pgstate[pfn] & PGS_PCP)
			report(rep, "pfn %#x is marked pcp but on no pcp list", pfn);
		else if (!PageReserved(p))
			report(rep, "pfn %#x is neither free, reserved nor allocated (refcount %d)",
			       pfn, p->_refcount);
	}
	/* the highatomic reserve counts its pageblocks */
	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &pgdat->node_zones[z];
		unsigned long ha = 0;
		uint32_t b;

		for (b = 0; b < zone->nr_pageblocks; b++)
			if ((zone->pageblock_flags[b] & 7) == MIGRATE_HIGHATOMIC)
				ha += pageblock_nr_pages(m);
		if (ha != zone->nr_reserved_highatomic)
			report(rep,
			       "zone %s: %lu pages in HighAtomic pageblocks, "
			       "nr_reserved_highatomic %lu",
			       mm_zone_name((int)z), ha, zone->nr_reserved_highatomic);
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
	check_page_tables(m, own, rep);
	host_free(own);
	return rep->nr ? -EFAULT : 0;
}
