/* SPDX-License-Identifier: MIT */
/*
 * check.c - the invariant checker: verifies a whole machine and reports every violation,
 * each under the name of the invariant it breaks (see mmdebug.h for how to add one).
 *
 * Mirrors: nothing in the kernel checks all of this at once; the pieces are the
 * VM_BUG_ON_PAGE lines of mm/page_alloc.c and include/linux/page-flags.h, and the
 * counters /proc/zoneinfo and /proc/buddyinfo print, which must agree with the lists.
 *
 * First one pass reads where every frame is, according to the free lists, the pcp lists
 * and the allocation records (c->own); it judges nothing. Then each invariant of
 * check_invariants[] runs on its own and reports only what it owns, so that breaking one
 * invariant is reported under exactly one name. The invariants, in the words of the
 * headers that state them (page_alloc.h (a)-(e), page.h, zone.h):
 *
 *  zone-spans            managed_pages <= present_pages <= spanned_pages
 *  zone-watermarks       min <= low <= high
 *  free-list-membership  (a) page on free_area[k].free_list[mt] <=> PageBuddy(page),
 *                        page->private == k, page->index == mt; lists end, no loops
 *  free-block-aligned    (b) a free block of order k starts at a multiple of 2^k
 *  free-block-zone       a free block lies inside its zone; each page has that zone
 *  buddies-merged        (c) no two free buddies that __free_one_page() would merge
 *  nr-free-pages         (d) the pages on the free lists (Isolate aside) = NR_FREE_PAGES
 *  free-counts           (e) free_area[k].nr_free and nr_free_mt[mt] = the list lengths
 *  pcp-count             pcp->count = the pages on that CPU's lists; the lists end
 *  pcp-page-state        a pcp block: refcount 0, host record "pcp, order k"
 *  frame-owned-once      no frame is in two blocks (free, pcp, allocated)
 *  frame-accounted       every frame is free, on a pcp list, allocated or PG_reserved;
 *                        a free frame is not PG_reserved and has no allocation record
 *  alloc-head            an allocation: aligned order, refcount > 0, not PG_reserved
 *  alloc-tail            the other pages of an allocation: refcount 0, no record
 *  compound-pages        a compound head's order is its allocation's; every tail's
 *                        compound_head is that head
 *  highatomic-reserve    nr_reserved_highatomic = the pages of HighAtomic pageblocks
 *  totalram-pages        sum of managed_pages = totalram_pages (highmem: totalhigh_pages)
 *  pgd-user-half-empty   swapper_pg_dir maps nothing below PAGE_OFFSET
 *  direct-map            PAGE_OFFSET + pa maps pa for all lowmem RAM and the first MiB;
 *                        no page table of it is free in the page allocator
 *  pkmap-count ... cpu-entry-area   highmem.h (a)-(g), checked in highmem.c
 *  slab-lists            (slab.h (a)) each PG_slab page on exactly one list of its cache,
 *                        frozen exactly on the CPU lists, with the cache's geometry
 *  slab-objects          (b) free objects on a freelist once, inside their slab,
 *                        objects - inuse of them on the slab's own
 *  slab-node-counts      (c) nr_partial, nr_slabs, total_objects, CPU partial counts
 *  slab-stat             (d) NR_SLAB_*_B = the slab pages (kmalloc_large unreclaimable)
 *  vmap-areas-tile       (vmalloc.c, V1) the busy, free and lazily freed vmap areas tile
 *                        [1, ULONG_MAX): every address in exactly one
 *  vmap-areas-merged     (V2) no two free (or two lazily freed) areas touch
 *  vmap-area-vm          (V3) a busy area's vm_struct: addr, size with the guard page;
 *                        inside [VMALLOC_START, VMALLOC_END)
 *  vmalloc-ptes          (V4) every PTE of the range in the mapped part of one busy area,
 *                        mapping its frame; every page an area maps present
 *  vmalloc-pages-owned   (V5) every vmalloc'd page and page table of the range an
 *                        allocation of the kernel's own (PGS_KERNEL), in no two areas
 *  vmalloc-counters      (V6) nr_vmalloc_pages and vmap_lazy_nr add up
 *  vmalloc-page-array    (V7) each VM_ALLOC area's page array vmalloc'd over a page, else
 *                        (boot model 4 on) an allocated object of its kmalloc cache
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mmdebug.h"
#include "host.h"

void check_report(struct mm_check_ctx *c, const char *fmt, ...)
{
	struct mm_report *rep = c->rep;
	va_list ap;

	rep->invariants |= 1ull << c->inv;
	if (rep->msgs && rep->nr < rep->max) {
		char *msg = rep->msgs[rep->nr];
		int n = snprintf(msg, MM_ERR_MAX, "%s: ", mm_invariant_name(c->inv));

		va_start(ap, fmt);
		vsnprintf(msg + n, MM_ERR_MAX - (size_t)n, fmt, ap);
		va_end(ap);
	}
	rep->nr++;
}

static const char *zname(unsigned int z)
{
	return mm_zone_name((int)z);
}

static const char *mtname(unsigned int mt)
{
	return mm_migratetype_name((int)mt);
}

/* ---- zones ------------------------------------------------------------------------------ */

static void check_zone_spans(struct mm_check_ctx *c)
{
	for (unsigned int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &c->m->pgdat.node_zones[z];

		if (zone->managed_pages > zone->present_pages ||
		    zone->present_pages > zone->spanned_pages)
			check_report(c, "zone %s: managed %u, present %u, spanned %u out of order",
				     zname(z), zone->managed_pages, zone->present_pages,
				     zone->spanned_pages);
	}
}

static void check_zone_watermarks(struct mm_check_ctx *c)
{
	for (unsigned int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &c->m->pgdat.node_zones[z];

		if (min_wmark_pages(zone) > low_wmark_pages(zone) ||
		    low_wmark_pages(zone) > high_wmark_pages(zone))
			check_report(c, "zone %s: watermarks min %lu low %lu high %lu out of order",
				     zname(z), min_wmark_pages(zone), low_wmark_pages(zone),
				     high_wmark_pages(zone));
	}
}

static void check_totalram_pages(struct mm_check_ctx *c)
{
	const struct pglist_data *pgdat = &c->m->pgdat;
	uint64_t managed = 0, high = 0;

	for (unsigned int z = 0; z < MAX_NR_ZONES; z++) {
		managed += pgdat->node_zones[z].managed_pages;
		if (is_highmem_idx(pgdat, z))
			high += pgdat->node_zones[z].managed_pages;
	}
	if (managed != pgdat->totalram_pages)
		check_report(c, "zones manage %llu pages, totalram_pages is %llu",
			     (unsigned long long)managed,
			     (unsigned long long)pgdat->totalram_pages);
	if (high != pgdat->totalhigh_pages)
		check_report(c, "highmem zones manage %llu pages, totalhigh_pages is %llu",
			     (unsigned long long)high, (unsigned long long)pgdat->totalhigh_pages);
}

static void check_highatomic_reserve(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];
		unsigned long ha = 0;

		for (uint32_t b = 0; b < zone->nr_pageblocks; b++)
			if ((zone->pageblock_flags[b] & 7) == MIGRATE_HIGHATOMIC)
				ha += pageblock_nr_pages(m);
		if (ha != zone->nr_reserved_highatomic)
			check_report(c,
				     "zone %s: %lu pages in HighAtomic pageblocks, "
				     "nr_reserved_highatomic %lu",
				     zname(z), ha, zone->nr_reserved_highatomic);
	}
}

/* ---- the free lists --------------------------------------------------------------------- */

/* Calls @fn for every block on every free list of every zone (the lists as far as they
 * can be walked; free-list-membership reports where they cannot). */
static void for_each_free_block(struct mm_check_ctx *c,
				void (*fn)(struct mm_check_ctx *c, const struct zone *zone,
					   unsigned int o, unsigned int mt, pfn_t pfn))
{
	const struct mm_machine *m = c->m;

	for (unsigned int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];

		for (unsigned int o = 0; o < MAX_ORDER; o++)
			for (unsigned int mt = 0; mt < MIGRATE_TYPES; mt++) {
				pfn_t pfn, guard;

				for_each_listed_pfn(m, &zone->free_area[o].free_list[mt], pfn,
						    guard)
					fn(c, zone, o, mt, pfn);
			}
	}
}

static void membership_one(struct mm_check_ctx *c, const struct zone *zone, unsigned int o,
			   unsigned int mt, pfn_t pfn)
{
	const struct page *p = &c->m->mem_map[pfn];

	if (!PageBuddy(p) || p->private != o || p->index != mt)
		check_report(c, "pfn %#x on free_area[%u] %s of %s but buddy %d order %u type %u",
			     pfn, o, mtname(mt), zname(zone->idx), PageBuddy(p), p->private,
			     p->index);
}

/* (a), both ways: listed => PageBuddy of that order and type; PageBuddy => listed. */
static void check_free_list_membership(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for_each_free_block(c, membership_one);
	for (unsigned int z = 0; z < MAX_NR_ZONES; z++)
		for (unsigned int o = 0; o < MAX_ORDER; o++)
			for (unsigned int mt = 0; mt < MIGRATE_TYPES; mt++) {
				const struct pfn_list *l =
					&m->pgdat.node_zones[z].free_area[o].free_list[mt];
				pfn_t pfn, guard;

				for_each_listed_pfn(m, l, pfn, guard)
					;
				if (pfn != PFN_NIL)
					check_report(c,
						     "zone %s free_area[%u] %s: the list %s at "
						     "pfn %#x",
						     zname(z), o, mtname(mt),
						     pfn < m->mem_map_pfns ? "loops"
									   : "leaves mem_map",
						     pfn);
			}
	for (pfn_t pfn = 0; pfn < m->layout.max_pfn; pfn++)
		if (PageBuddy(&m->mem_map[pfn]) && !(c->own[pfn] & OWN_FREE_HEAD))
			check_report(c, "pfn %#x is PageBuddy but heads no block on a free list",
				     pfn);
}

static void aligned_one(struct mm_check_ctx *c, const struct zone *zone, unsigned int o,
			unsigned int mt, pfn_t pfn)
{
	if (pfn & ((1u << o) - 1))
		check_report(c, "free block at pfn %#x is not aligned to its order %u", pfn, o);
}

static void check_free_block_aligned(struct mm_check_ctx *c)
{
	for_each_free_block(c, aligned_one);
}

static void zone_one(struct mm_check_ctx *c, const struct zone *zone, unsigned int o,
		     unsigned int mt, pfn_t pfn)
{
	const struct mm_machine *m = c->m;

	if (!zone_spans_pfn(zone, pfn) || pfn + (1u << o) > zone_end_pfn(zone) ||
	    pfn + (1u << o) > m->layout.max_pfn) {
		check_report(c, "free block pfn %#x order %u is outside zone %s", pfn, o,
			     zname(zone->idx));
		return;
	}
	for (pfn_t i = pfn; i < pfn + (1u << o); i++)
		if (page_zonenum(&m->mem_map[i]) != zone->idx)
			check_report(c, "pfn %#x in a free block of zone %s has zone %s", i,
				     zname(zone->idx), zname(page_zonenum(&m->mem_map[i])));
}

static void check_free_block_zone(struct mm_check_ctx *c)
{
	for_each_free_block(c, zone_one);
}

/* (c): the buddy __free_one_page() would have merged with is not free at that order. */
static void merged_one(struct mm_check_ctx *c, const struct zone *zone, unsigned int o,
		       unsigned int mt, pfn_t pfn)
{
	const struct mm_machine *m = c->m;
	pfn_t b = pfn ^ (1u << o);
	const struct page *bp;

	if (o + 1 >= MAX_ORDER || b >= m->mem_map_pfns || b < pfn)
		return; /* each pair once, from its lower half */
	bp = &m->mem_map[b];
	if (PageBuddy(bp) && bp->private == o && page_zonenum(bp) == zone->idx &&
	    (o < m->geo.pageblock_order ||
	     (bp->index < MIGRATE_PCPTYPES && mt < MIGRATE_PCPTYPES) || bp->index == mt))
		check_report(c, "free buddies %#x and %#x of order %u were not merged", pfn, b, o);
}

static void check_buddies_merged(struct mm_check_ctx *c)
{
	for_each_free_block(c, merged_one);
}

/* (d) */
static void check_nr_free_pages(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];
		uint64_t free_pages = 0;
		bool countable = true;

		for (unsigned int o = 0; o < MAX_ORDER; o++)
			for (unsigned int mt = 0; mt < MIGRATE_TYPES; mt++) {
				pfn_t pfn, guard;

				if (c->broken[z][o][mt])
					countable = false;
				if (mt == MIGRATE_ISOLATE) /* __mod_zone_freepage_state() */
					continue;
				for_each_listed_pfn(m, &zone->free_area[o].free_list[mt], pfn,
						    guard)
					free_pages += 1u << o;
			}
		if (countable && (long)free_pages != zone->vm_stat[NR_FREE_PAGES])
			check_report(c, "zone %s: %llu pages on the free lists, NR_FREE_PAGES %ld",
				     zname(z), (unsigned long long)free_pages,
				     zone->vm_stat[NR_FREE_PAGES]);
	}
}

/* (e) */
static void check_free_counts(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];

		for (unsigned int o = 0; o < MAX_ORDER; o++) {
			const struct free_area *area = &zone->free_area[o];
			uint32_t nr = 0;

			for (unsigned int mt = 0; mt < MIGRATE_TYPES; mt++) {
				uint32_t nr_mt = 0;
				pfn_t pfn, guard;

				if (c->broken[z][o][mt]) {
					nr = area->nr_free; /* not countable */
					break;
				}
				for_each_listed_pfn(m, &area->free_list[mt], pfn, guard)
					nr_mt++;
				if (nr_mt != area->nr_free_mt[mt])
					check_report(c,
						     "zone %s order %u %s: %u blocks on the list, "
						     "nr_free_mt %u",
						     zname(z), o, mtname(mt), nr_mt,
						     area->nr_free_mt[mt]);
				nr += nr_mt;
			}
			if (nr != area->nr_free)
				check_report(c, "zone %s order %u: %u blocks listed, nr_free %u",
					     zname(z), o, nr, area->nr_free);
		}
	}
}

/* ---- per-CPU lists --------------------------------------------------------------------- */

static unsigned int pcp_order(const struct mm_machine *m, unsigned int k)
{
	return k >= NR_LOWORDER_PCP_LISTS ? m->geo.pageblock_order : k / MIGRATE_PCPTYPES;
}

static void check_pcp_count(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int z = 0; z < MAX_NR_ZONES; z++)
		for (unsigned int cpu = 0; cpu < m->pgdat.nr_cpus; cpu++) {
			const struct per_cpu_pages *pcp = &m->pgdat.node_zones[z].pcp[cpu];
			long count = 0;

			for (unsigned int k = 0; k < NR_PCP_LISTS; k++) {
				pfn_t pfn, guard;

				for_each_listed_pfn(m, &pcp->lists[k], pfn, guard)
					count += 1L << pcp_order(m, k);
				if (pfn != PFN_NIL)
					check_report(c,
						     "zone %s cpu %u pcp list %u is broken at %#x",
						     zname(z), cpu, k, pfn);
			}
			if (count != pcp->count)
				check_report(c,
					     "zone %s cpu %u: pcp lists hold %ld pages, count %d",
					     zname(z), cpu, count, pcp->count);
		}
}

static void check_pcp_page_state(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int z = 0; z < MAX_NR_ZONES; z++)
		for (unsigned int cpu = 0; cpu < m->pgdat.nr_cpus; cpu++)
			for (unsigned int k = 0; k < NR_PCP_LISTS; k++) {
				const struct per_cpu_pages *pcp = &m->pgdat.node_zones[z].pcp[cpu];
				unsigned int order = pcp_order(m, k);
				pfn_t pfn, guard;

				for_each_listed_pfn(m, &pcp->lists[k], pfn, guard) {
					if ((m->pgstate[pfn] & (PGS_PCP | PGS_ALLOC_MASK)) !=
					    (PGS_PCP | (order + 1)))
						check_report(
							c,
							"pfn %#x on cpu %u pcp list (order %u) "
							"has host state %#x",
							pfn, cpu, order, m->pgstate[pfn]);
					if (m->mem_map[pfn]._refcount != 0)
						check_report(c,
							     "pfn %#x on cpu %u pcp list has "
							     "refcount %d",
							     pfn, cpu, m->mem_map[pfn]._refcount);
				}
			}
}

/* ---- frames ------------------------------------------------------------------------------ */

static bool owned_twice(uint8_t own)
{
	unsigned int kinds = own & (OWN_FREE | OWN_PCP | OWN_ALLOC);

	return (own & OWN_TWICE) || (kinds & (kinds - 1));
}

static void check_frame_owned_once(struct mm_check_ctx *c)
{
	for (pfn_t pfn = 0; pfn < c->m->layout.max_pfn; pfn++)
		if (owned_twice(c->own[pfn]))
			check_report(c, "pfn %#x is in more than one block (%s%s%s%s)", pfn,
				     c->own[pfn] & OWN_FREE ? " free" : "",
				     c->own[pfn] & OWN_PCP ? " pcp" : "",
				     c->own[pfn] & OWN_ALLOC ? " allocated" : "",
				     c->own[pfn] & OWN_TWICE ? " twice" : "");
}

static void check_frame_accounted(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (pfn_t pfn = 0; pfn < m->layout.max_pfn; pfn++) {
		const struct page *p = &m->mem_map[pfn];
		uint8_t own = c->own[pfn];

		if (own & (OWN_FREE | OWN_PCP)) {
			if (PageReserved(p))
				check_report(c, "pfn %#x is free but PG_reserved", pfn);
			if ((own & OWN_FREE) && (m->pgstate[pfn] & (PGS_ALLOC_MASK | PGS_PCP)))
				check_report(c, "free pfn %#x has host state %#x", pfn,
					     m->pgstate[pfn]);
		} else if (own & OWN_ALLOC) {
			continue;
		} else if (m->pgstate[pfn] & PGS_PCP) {
			check_report(c, "pfn %#x is marked pcp but on no pcp list", pfn);
		} else if (!PageReserved(p) && !PageBuddy(p)) {
			check_report(c,
				     "pfn %#x is neither free, reserved nor allocated "
				     "(refcount %d)",
				     pfn, p->_refcount);
		}
	}
}

/* The allocation records: pfn heads an allocation of order (pgstate & mask) - 1. */
static bool alloc_record(const struct mm_machine *m, pfn_t pfn, unsigned int *order)
{
	uint8_t st = m->pgstate[pfn];

	if (!(st & PGS_ALLOC_MASK) || (st & PGS_PCP))
		return false;
	*order = (st & PGS_ALLOC_MASK) - 1u;
	return true;
}

static bool alloc_order_ok(const struct mm_machine *m, pfn_t pfn, unsigned int order)
{
	return order < MAX_ORDER && !(pfn & ((1u << order) - 1)) &&
	       pfn + (1u << order) <= m->layout.max_pfn;
}

static void check_alloc_head(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	unsigned int order;

	for (pfn_t pfn = 0; pfn < m->layout.max_pfn; pfn++) {
		const struct page *p = &m->mem_map[pfn];

		if (!alloc_record(m, pfn, &order))
			continue;
		if (!alloc_order_ok(m, pfn, order)) {
			check_report(c, "allocation at pfn %#x has a bad order %u", pfn, order);
			continue;
		}
		if (p->_refcount <= 0)
			check_report(c, "allocated pfn %#x has refcount %d", pfn, p->_refcount);
		if (PageReserved(p))
			check_report(c, "allocated pfn %#x is PG_reserved", pfn);
	}
}

static void check_alloc_tail(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	unsigned int order;

	for (pfn_t pfn = 0; pfn < m->layout.max_pfn; pfn++) {
		if (!alloc_record(m, pfn, &order) || !alloc_order_ok(m, pfn, order))
			continue;
		for (pfn_t i = pfn + 1; i < pfn + (1u << order); i++) {
			const struct page *t = &m->mem_map[i];

			if (t->_refcount != 0 || PageReserved(t) ||
			    (m->pgstate[i] & (PGS_ALLOC_MASK | PGS_PCP)))
				check_report(c,
					     "pfn %#x inside the allocation at %#x: refcount %d, "
					     "reserved %d, host state %#x",
					     i, pfn, t->_refcount, PageReserved(t), m->pgstate[i]);
		}
	}
}

static void check_compound_pages(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	unsigned int order;

	for (pfn_t pfn = 0; pfn < m->layout.max_pfn; pfn++) {
		const struct page *p = &m->mem_map[pfn];

		if (!alloc_record(m, pfn, &order) || !alloc_order_ok(m, pfn, order))
			continue;
		if (PageHead(p) && (order == 0 || (m->mem_map[pfn + 1].index & 0xff) != order))
			check_report(c,
				     "compound head pfn %#x: allocation order %u, "
				     "compound_order %u",
				     pfn, order, order ? m->mem_map[pfn + 1].index & 0xff : 0);
		for (pfn_t i = pfn + 1; i < pfn + (1u << order); i++) {
			const struct page *t = &m->mem_map[i];

			if (PageHead(p) != (PageTail(t) && t->lru_next == pfn))
				check_report(c,
					     "pfn %#x: compound_head %#x does not match the "
					     "allocation's %s %#x",
					     i, PageTail(t) ? t->lru_next : i,
					     PageHead(p) ? "head" : "non-compound first page", pfn);
		}
	}
}

/* ---- the kernel's page tables ----------------------------------------------------------- */

static void check_pgd_user_half_empty(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	uint64_t pgd = m->pt.swapper_pg_dir;
	unsigned int esz = pt_entry_size(m), user_slots = m->cfg.pae ? 3 : 768;

	for (unsigned int i = 0; i < user_slots; i++)
		if (pt_read(m, pgd + (uint64_t)i * esz))
			check_report(c, "swapper_pg_dir entry %u (user half) is %#llx, not empty",
				     i, (unsigned long long)pt_read(m, pgd + (uint64_t)i * esz));
}

/* The direct map sends PAGE_OFFSET + pa to pa for all of lowmem, and no table page of it
 * is free in the page allocator (c->own, once there is one). */
static void check_direct_map(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	uint64_t pgd = m->pt.swapper_pg_dir, pmd_size = m->layout.pmd_size;
	unsigned int esz = pt_entry_size(m), n = m->cfg.pae ? 512 : 1024, i;
	uint64_t low_end = PFN_PHYS(m->layout.max_low_pfn), pa;

	for (pa = 0; pa < low_end; pa += pmd_size) {
		uint32_t va = (uint32_t)(PAGE_OFFSET + pa);
		uint64_t pmde = m->cfg.pae ? pt_entry_addr(m, pt_read(m, pgd + 3 * 8), false) +
						     (uint64_t)((va >> 21) & 511) * 8
					   : pgd + (uint64_t)(va >> 22) * 4;
		pteval_t e = pt_read(m, pmde), pte;
		uint64_t table;

		if (!(e & _PAGE_PRESENT)) {
			if (memblock_memory_in(&m->memblock, pa, MM_MIN(pa + pmd_size, low_end)))
				check_report(c, "%#x (pa %#llx) has no pmd entry", va,
					     (unsigned long long)pa);
			continue;
		}
		if (e & _PAGE_PSE) {
			if (pt_entry_addr(m, e, true) != pa)
				check_report(c, "large page at %#x maps %#llx, not %#llx", va,
					     (unsigned long long)pt_entry_addr(m, e, true),
					     (unsigned long long)pa);
			continue;
		}
		table = pt_entry_addr(m, e, false);
		if (c->own && (table >> PAGE_SHIFT) < m->layout.max_pfn &&
		    (c->own[table >> PAGE_SHIFT] & (OWN_FREE | OWN_PCP)))
			check_report(c, "page table %#llx of %#x is free in the page allocator",
				     (unsigned long long)table, va);
		for (i = 0; i < n && pa + (uint64_t)i * PAGE_SIZE < low_end; i++) {
			uint64_t want = pa + (uint64_t)i * PAGE_SIZE;

			pte = pt_read(m, table + (uint64_t)i * esz);
			if (!(pte & _PAGE_PRESENT) && want >= SZ_1M &&
			    !memblock_memory_in(&m->memblock, want, want + PAGE_SIZE))
				continue; /* a hole in RAM is not mapped */
			if (!(pte & _PAGE_PRESENT) || pt_entry_addr(m, pte, false) != want)
				check_report(c, "%#llx is mapped to %#llx (present %d)",
					     (unsigned long long)(PAGE_OFFSET + want),
					     (unsigned long long)pt_entry_addr(m, pte, false),
					     (int)(pte & _PAGE_PRESENT));
		}
	}
}

/* ---- the table ---------------------------------------------------------------------------- */

static const struct mm_invariant check_invariants[] = {
	{.name = "zone-spans", .min_phase = MM_PHASE_BUDDY, .check = check_zone_spans},
	{.name = "zone-watermarks", .min_phase = MM_PHASE_BUDDY, .check = check_zone_watermarks},
	{.name = "free-list-membership",
	 .min_phase = MM_PHASE_BUDDY,
	 .check = check_free_list_membership},
	{.name = "free-block-aligned",
	 .min_phase = MM_PHASE_BUDDY,
	 .check = check_free_block_aligned},
	{.name = "free-block-zone", .min_phase = MM_PHASE_BUDDY, .check = check_free_block_zone},
	{.name = "buddies-merged", .min_phase = MM_PHASE_BUDDY, .check = check_buddies_merged},
	{.name = "nr-free-pages", .min_phase = MM_PHASE_BUDDY, .check = check_nr_free_pages},
	{.name = "free-counts", .min_phase = MM_PHASE_BUDDY, .check = check_free_counts},
	{.name = "pcp-count", .min_phase = MM_PHASE_BUDDY, .check = check_pcp_count},
	{.name = "pcp-page-state", .min_phase = MM_PHASE_BUDDY, .check = check_pcp_page_state},
	{.name = "frame-owned-once", .min_phase = MM_PHASE_BUDDY, .check = check_frame_owned_once},
	{.name = "frame-accounted", .min_phase = MM_PHASE_BUDDY, .check = check_frame_accounted},
	{.name = "alloc-head", .min_phase = MM_PHASE_BUDDY, .check = check_alloc_head},
	{.name = "alloc-tail", .min_phase = MM_PHASE_BUDDY, .check = check_alloc_tail},
	{.name = "compound-pages", .min_phase = MM_PHASE_BUDDY, .check = check_compound_pages},
	{.name = "highatomic-reserve",
	 .min_phase = MM_PHASE_BUDDY,
	 .check = check_highatomic_reserve},
	{.name = "totalram-pages", .min_phase = MM_PHASE_BUDDY, .check = check_totalram_pages},
	{.name = "pgd-user-half-empty",
	 .min_phase = MM_PHASE_FINAL_PAGE_TABLES,
	 .check = check_pgd_user_half_empty},
	{.name = "direct-map", .min_phase = MM_PHASE_FINAL_PAGE_TABLES, .check = check_direct_map},
	/* highmem.c (highmem.h (a)-(g)) */
	{.name = "pkmap-count", .min_phase = MM_PHASE_BUDDY, .check = check_pkmap_count},
	{.name = "page-address-hash",
	 .min_phase = MM_PHASE_BUDDY,
	 .check = check_page_address_hash},
	{.name = "pkmap-cursor", .min_phase = MM_PHASE_BUDDY, .check = check_pkmap_cursor},
	{.name = "kmap-local-stack", .min_phase = MM_PHASE_BUDDY, .check = check_kmap_local_stack},
	{.name = "kmap-atomic-depth",
	 .min_phase = MM_PHASE_BUDDY,
	 .check = check_kmap_atomic_depth},
	{.name = "kmapped-not-free", .min_phase = MM_PHASE_BUDDY, .check = check_kmapped_not_free},
	{.name = "cpu-entry-area", .min_phase = MM_PHASE_BUDDY, .check = check_cpu_entry_area},
	/* slab.c (slab.h (a)-(d)) */
	{.name = "slab-lists", .min_phase = MM_PHASE_BUDDY, .check = check_slab_lists},
	{.name = "slab-objects", .min_phase = MM_PHASE_BUDDY, .check = check_slab_objects},
	{.name = "slab-node-counts", .min_phase = MM_PHASE_BUDDY, .check = check_slab_node_counts},
	{.name = "slab-stat", .min_phase = MM_PHASE_BUDDY, .check = check_slab_stat},
	/* the vmalloc range (vmalloc.c, vmalloc.h V1..V7) */
	{.name = "vmap-areas-tile",
	 .min_phase = MM_PHASE_FINAL_PAGE_TABLES,
	 .check = check_vmap_areas_tile},
	{.name = "vmap-areas-merged",
	 .min_phase = MM_PHASE_FINAL_PAGE_TABLES,
	 .check = check_vmap_areas_merged},
	{.name = "vmap-area-vm",
	 .min_phase = MM_PHASE_FINAL_PAGE_TABLES,
	 .check = check_vmap_area_vm},
	{.name = "vmalloc-ptes",
	 .min_phase = MM_PHASE_FINAL_PAGE_TABLES,
	 .check = check_vmalloc_ptes},
	{.name = "vmalloc-pages-owned",
	 .min_phase = MM_PHASE_FINAL_PAGE_TABLES,
	 .check = check_vmalloc_pages_owned},
	{.name = "vmalloc-counters",
	 .min_phase = MM_PHASE_FINAL_PAGE_TABLES,
	 .check = check_vmalloc_counters},
	{.name = "vmalloc-page-array",
	 .min_phase = MM_PHASE_BUDDY,
	 .check = check_vmalloc_page_array},
};

#define NR_INVARIANTS (sizeof(check_invariants) / sizeof(check_invariants[0]))
_Static_assert(NR_INVARIANTS <= 64, "struct mm_report.invariants has 64 bits");

unsigned int mm_nr_invariants(void)
{
	return NR_INVARIANTS;
}

const char *mm_invariant_name(unsigned int i)
{
	return i < NR_INVARIANTS ? check_invariants[i].name : NULL;
}

/* Mark [pfn, pfn + 2^order) as @kind in @own; a frame claimed twice by @kind gets
 * OWN_TWICE (frame-owned-once judges it). */
static void own_block(uint8_t *own, pfn_t max_pfn, pfn_t pfn, unsigned int order, uint8_t kind)
{
	for (pfn_t i = pfn; i < pfn + (1u << order) && i < max_pfn; i++) {
		if (own[i] & kind)
			own[i] |= OWN_TWICE;
		own[i] |= kind;
	}
}

/*
 * Where every frame is, as the lists and the allocation records say; judges nothing but
 * whether a free list can be walked: one that reaches a block already seen (a loop, or
 * into another list) or leaves mem_map is marked broken and read up to there.
 */
static void read_ownership(struct mm_check_ctx *c, uint8_t *own)
{
	const struct mm_machine *m = c->m;
	pfn_t max_pfn = m->layout.max_pfn;

	for (unsigned int z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];

		for (unsigned int o = 0; o < MAX_ORDER; o++)
			for (unsigned int mt = 0; mt < MIGRATE_TYPES; mt++) {
				pfn_t pfn, guard;

				for_each_listed_pfn(m, &zone->free_area[o].free_list[mt], pfn,
						    guard) {
					if (pfn >= max_pfn || (own[pfn] & OWN_FREE_HEAD))
						break;
					own[pfn] |= OWN_FREE_HEAD;
					own_block(own, max_pfn, pfn, o, OWN_FREE);
				}
				c->broken[z][o][mt] = pfn != PFN_NIL;
			}
		for (unsigned int cpu = 0; cpu < m->pgdat.nr_cpus; cpu++)
			for (unsigned int k = 0; k < NR_PCP_LISTS; k++) {
				pfn_t pfn, guard;

				for_each_listed_pfn(m, &zone->pcp[cpu].lists[k], pfn, guard)
					own_block(own, max_pfn, pfn, pcp_order(m, k), OWN_PCP);
			}
	}
	for (pfn_t pfn = 0; pfn < max_pfn; pfn++) {
		unsigned int order;

		if (alloc_record(m, pfn, &order) && order < MAX_ORDER)
			own_block(own, max_pfn, pfn, order, OWN_ALLOC);
	}
}

int mm_check(const struct mm_machine *m, struct mm_report *rep_in)
{
	struct mm_report dummy = {0}, *rep = rep_in ? rep_in : &dummy;
	struct mm_check_ctx c = {.m = m, .rep = rep};
	uint8_t *own = NULL;

	rep->nr = 0;
	rep->invariants = 0;
	if (m->phase >= MM_PHASE_BUDDY) {
		own = host_calloc(m->host, m->layout.max_pfn ? m->layout.max_pfn : 1, 1);
		if (!own)
			return -ENOMEM;
		read_ownership(&c, own);
		c.own = own;
	}
	for (c.inv = 0; c.inv < NR_INVARIANTS; c.inv++)
		if (m->phase >= check_invariants[c.inv].min_phase)
			check_invariants[c.inv].check(&c);
	host_free(own);
	if (c.oom)
		return -ENOMEM;
	return rep->nr ? -EFAULT : 0;
}

/* ---- MM_WARN_ON_ONCE ---------------------------------------------------------------------- */

void mm_warn(struct mm_machine *m, const char *func, const char *fmt, ...)
{
	char msg[MM_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m->tainted)
		return; /* once: the first warning is the diagnosis */
	snprintf(m->diag, sizeof(m->diag), "%.40s: %.200s", func, msg);
	m->tainted = true;
	printk(m, "WARNING: CPU: 0 PID: 1 at %s: %s\n", func, msg);
	printk(m, "mm32: the machine is tainted; it refuses every further change\n");
}

int mm_debug_check(struct mm_machine *m, struct mm_error *err)
{
	char msg[1][MM_ERR_MAX];
	struct mm_report rep = {.max = 1, .msgs = msg};
	int r = mm_check(m, &rep);

	if (r == -ENOMEM)
		return mm_set_error(err, -ENOMEM, "out of host memory for the checker");
	if (r)
		mm_warn(m, "mm_check", "%u violation(s), the first: %s", rep.nr, msg[0]);
	return mm_warned(m, err);
}

const char *mm_machine_taint(const struct mm_machine *m)
{
	return m->tainted ? m->diag : NULL;
}

int mm_warned(const struct mm_machine *m, struct mm_error *err)
{
	if (!m->tainted)
		return 0;
	return mm_set_error(err, -EFAULT, "the machine is tainted: %s", m->diag);
}
