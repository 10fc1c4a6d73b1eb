/* SPDX-License-Identifier: MIT */
/*
 * page_alloc.h - the buddy allocator and its per-CPU lists.
 *
 * Mirrors: mm/page_alloc.c (__free_one_page, buddy_merge_likely, free_pcppages_bulk,
 * free_unref_page, free_unref_page_commit, nr_pcp_free, nr_pcp_high, __free_pages_core,
 * free_reserved_page, adjust_managed_page_count).
 * Locking: none in mmcore; the daemon serializes all calls on one machine.
 * Invariants (check.c, each under its name; tests/mmcore/test-check.c breaks each one):
 *  (a) page on free_area[k].free_list[mt]  <=>  PageBuddy(page) && page->private == k
 *      && page->index == mt                                       [free-list-membership]
 *  (b) a free block of order k starts at a pfn with (pfn & ((1 << k) - 1)) == 0
 *                                                                   [free-block-aligned]
 *  (c) outside pcp lists no free block has a free buddy of the same order that it could
 *      have merged with (same zone, and mergeable types above pageblock order)
 *                                                                       [buddies-merged]
 *  (d) sum over the lists (Isolate aside) of (blocks << k) == NR_FREE_PAGES [nr-free-pages]
 *  (e) free_area[k].nr_free and nr_free_mt[mt] == the lengths of the lists  [free-counts]
 *  (a)-(e) give the kernel's sum over k of (free_area[k].nr_free << k) == NR_FREE_PAGES.
 *  Also pcp-count, pcp-page-state, frame-owned-once, frame-accounted, alloc-head,
 *  alloc-tail, compound-pages, highatomic-reserve (see check.c).
 * Preconditions: the kernel's VM_BUG_ON_PAGE lines of the list and buddy primitives, as
 * MM_WARN_ON_ONCE (mmdebug.h): a corrupted machine is tainted, the call fails -EFAULT.
 */
#ifndef MM_PAGE_ALLOC_H
#define MM_PAGE_ALLOC_H

#include "config.h"
#include "gfp.h"
#include "machine.h"
#include "zone.h"

#define FPI_NONE 0u
#define FPI_TO_TAIL (1u << 1)

#define PAGE_ALLOC_COSTLY_ORDER 3

void __free_one_page(struct mm_machine *m, struct zone *z, pfn_t pfn, unsigned int order,
		     unsigned int mt, unsigned int fpi);
/* Free an order-@order block whose refcount just reached zero (free_the_page()). */
void free_the_page(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu);
/* Boot: hand a block from memblock to the buddy (memblock_free_pages -> __free_pages_core). */
void free_pages_core(struct mm_machine *m, pfn_t pfn, unsigned int order);
/* free_reserved_page(): a reserved page goes to the allocator, managed += 1. */
void free_reserved_page(struct mm_machine *m, pfn_t pfn, unsigned int cpu);
void free_pcppages_bulk(struct mm_machine *m, struct zone *z, int count, unsigned int cpu,
			int pindex);

/* __alloc_pages(): the pfn of the block, or PFN_NIL; *@loops_forever when the kernel
 * would keep retrying (a __GFP_NOFAIL request nothing can satisfy). */
pfn_t __alloc_pages(struct mm_machine *m, gfp_t gfp, unsigned int order, unsigned int cpu,
		    bool *loops_forever);
/* __alloc_pages_bulk() into an array (vmalloc's pages): the pages put in @pfns. */
unsigned int __alloc_pages_bulk(struct mm_machine *m, gfp_t gfp, unsigned int nr, unsigned int cpu,
				pfn_t *pfns);
bool __zone_watermark_ok(const struct zone *z, unsigned int order, unsigned long mark,
			 unsigned int highest_zoneidx, unsigned int alloc_flags, long free_pages);
void drain_all_pages(struct mm_machine *m);
/* __free_pages(): drop the reference of the caller; free what the kernel frees. */
void __free_pages(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu);
/* The order-@order block at @pfn has no users left (free_pages_prepare + free_the_page). */
void free_pages_prepared(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu);
/* rmqueue(): a block of @order from @z (its pcp list, else the buddy), counted in pgalloc;
 * prep_new_page(): made ready for its user (refcount 1, zeroed as asked, recorded). */
pfn_t rmqueue(struct mm_machine *m, struct zone *z, unsigned int order, unsigned int mt,
	      unsigned int alloc_flags, unsigned int cpu);
void prep_new_page(struct mm_machine *m, pfn_t pfn, unsigned int order, gfp_t gfp);

/* ==== the order-0 pair, inline ==========================================================
 *
 * An order-0 alloc_pages() and its free_pages() are most of what a machine's allocator
 * does, and most of them meet a pcp list that has a page, or room for one. The two below
 * walk the kernel's own path for that case with every test and every store the full path
 * makes, in the same order, flattened into one function each and inlined into their
 * callers; whatever is uncommon (an empty list, a watermark to examine, a page to zero, a
 * bad page, an unusual pageblock type, a batch to drain) calls the full path at the point
 * where the two part. A machine cannot tell which path served it.
 */

/* Mirrors: order_to_pindex(): the pcp list of (@mt, @order). */
static inline int order_to_pindex(unsigned int mt, unsigned int order)
{
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		return NR_LOWORDER_PCP_LISTS + (mt == MIGRATE_MOVABLE);
	return (int)(MIGRATE_PCPTYPES * order + mt);
}

/* Mirrors: nr_pcp_free(): how many pages a drain at high gives back (free_factor grows
 * it while frees keep coming, up to high - batch). */
static inline int nr_pcp_free(struct per_cpu_pages *pcp, int high, int batch, bool free_high)
{
	int min_nr_free, max_nr_free;

	if (free_high)
		return pcp->count;
	if (high < batch) /* pcp disabled or boot pageset */
		return 1;
	min_nr_free = batch;
	max_nr_free = high - batch;
	batch <<= pcp->free_factor;
	if (batch < max_nr_free)
		pcp->free_factor++;
	return MM_MAX(min_nr_free, MM_MIN(batch, max_nr_free));
}

/* Mirrors: nr_pcp_high(). */
static inline int nr_pcp_high(const struct per_cpu_pages *pcp, bool free_high)
{
	if (!pcp->high || free_high)
		return 0;
	return pcp->high;
}

/*
 * alloc_page_fast - the common case of __alloc_pages() for one page, without its layers:
 * the first zone of the zonelist, as the fast path's get_page_from_freelist() tries it.
 * PFN_NIL sends the caller on to __alloc_pages(), as it always has: with nothing changed
 * when the first zone is below its low watermark (the full path decides), or after
 * rmqueue() found no page in that zone (as the full path's own first try would have).
 * (page_alloc.c; alloc_page_pcp() below is its common case, inline.)
 */
pfn_t alloc_page_fast(struct mm_machine *m, gfp_t gfp, unsigned int cpu);
/* free_pages_prepared(m, pfn, 0, cpu) for an order-0 allocation with one reference,
 * unmapped, given back by its user (the caller has checked it may be freed): the pcp
 * path flattened (page_alloc.c; free_page_pcp() below is its common case, inline). */
void free_page_fast(struct mm_machine *m, pfn_t pfn, unsigned int cpu);

/*
 * alloc_page_pcp - alloc_page_fast() when nothing is uncommon: the first zone of the
 * zonelist is the one gfp_zone() names, it is above its low watermark, and the pcp list of
 * the request's migratetype on @cpu has a page that needs no zeroing and looks free. Then
 * that page, taken as the kernel takes it; else PFN_NIL with nothing changed (the caller
 * goes on with alloc_page_fast(), which handles the rest).
 *
 * Mirrors, flattened: __alloc_pages() -> get_page_from_freelist() -> zone_watermark_fast()
 * -> rmqueue() -> rmqueue_pcplist() -> __rmqueue_pcplist() -> prep_new_page(). Step by step
 * (a student following one page):
 *  - gfp_zone() picks the highest zone the mask may use (GFP_KERNEL: Normal);
 *  - zone_watermark_fast() at order 0: NR_FREE_PAGES less the highatomic reserve must stay
 *    above the low watermark (with its boost) plus lowmem_reserve[] for that zone; at order
 *    0, without ALLOC_HIGH/HARDER/OOM, that first test is also its only way to say yes;
 *  - rmqueue_pcplist(): halve the CPU's free_factor and take the first page of the list of
 *    the request's migratetype (pindex = migratetype at order 0); an empty list would need
 *    a refill from the buddy (rmqueue_bulk()), and a boosted zone a kswapd wake-up;
 *  - prep_new_page(): refcount 1, off every list, the allocation recorded in pgstate; a
 *    page to zero (init_on_alloc, __GFP_ZERO, its RAM written) or one that does not look
 *    free (check_new_page()'s refcount) is left to the full path.
 * Every test comes before the first store, so that PFN_NIL changes nothing; the stores
 * are the ones the full path makes, with the same values.
 */
static inline pfn_t alloc_page_pcp(struct mm_machine *m, gfp_t gfp, unsigned int cpu)
{
	unsigned int hz = gfp_zone(gfp), mt;
	struct zone *z = &m->pgdat.node_zones[hz];
	struct per_cpu_pages *pcp;
	struct pfn_list *list;
	struct page *p;
	long free;
	pfn_t pfn, next;
	uint8_t s;

	if (MM_DEBUG_CHECKS || !managed_zone(z) || z->flags_boosted)
		return PFN_NIL;
	free = z->vm_stat[NR_FREE_PAGES];
	if (free - MM_MIN(free, (long)z->nr_reserved_highatomic) <=
	    (long)(z->_watermark[WMARK_LOW] + z->watermark_boost) + z->lowmem_reserve[hz])
		return PFN_NIL;
	mt = gfp_migratetype(gfp, m->pgdat.page_group_by_mobility_disabled);
	pcp = &z->pcp[cpu];
	list = &pcp->lists[order_to_pindex(mt, 0)];
	pfn = list->first;
	if (pfn == PFN_NIL)
		return PFN_NIL;
	p = &m->mem_map[pfn];
	s = m->pgstate[pfn];
	if (p->_refcount ||
	    ((s & PGS_RAM_DIRTY) && !m->init_on_free && ((gfp & __GFP_ZERO) || m->init_on_alloc)))
		return PFN_NIL;
	/* __rmqueue_pcplist(): the first page off the list */
	pcp->free_factor >>= 1;
	next = p->lru_next;
	list->first = next;
	if (next != PFN_NIL)
		m->mem_map[next].lru_prev = PFN_NIL;
	else
		list->last = PFN_NIL;
	p->lru_next = p->lru_prev = PFN_NIL;
	pcp->count--;
	m->pgalloc[z->idx]++;
	/* prep_new_page() */
	p->private = 0;
	p->_refcount = 1;
	m->pgstate[pfn] = (uint8_t)((s & ~(PGS_PCP | PGS_ALLOC_MASK)) | 1u); /* order 0 + 1 */
	return pfn;
}

/*
 * free_page_pcp - free_page_fast() when nothing is uncommon: the page passes
 * free_pages_prepare()'s bad-page checks, init_on_free is off, its pageblock is of a pcp
 * type, and one more page keeps @cpu's list count below pcp->high (no drain). Then the page
 * goes to the head of the pcp list of its pageblock's migratetype, as the kernel puts it,
 * and true; else false with nothing changed (the caller goes on with free_page_fast()).
 *
 * Mirrors, flattened: free_pages_prepare() -> free_unref_page() -> free_unref_page_commit():
 * flags cleared, refcount 0, the migratetype read from the pageblock and kept in the page
 * (index), pgfree counted, list_add() to the pcp list, pcp->count up by one.
 */
static inline bool free_page_pcp(struct mm_machine *m, pfn_t pfn, unsigned int cpu)
{
	struct page *p = &m->mem_map[pfn];
	struct per_cpu_pages *pcp;
	struct pfn_list *list;
	struct zone *z;
	unsigned int mt;
	pfn_t first;

	if (p->mapping || (p->flags & PAGE_FLAGS_CHECK_AT_FREE) || m->init_on_free)
		return false;
	z = &m->pgdat.node_zones[page_zonenum(p)];
	mt = get_pfnblock_migratetype(z, pfn, pageblock_order(m));
	if (mt >= MIGRATE_PCPTYPES)
		return false;
	pcp = &z->pcp[cpu];
	if (pcp->count + 1 >= nr_pcp_high(pcp, false))
		return false;
	p->flags &= ~PAGE_FLAGS_CHECK_AT_PREP;
	p->_refcount = 0;
	p->index = mt;
	m->pgfree++;
	list = &pcp->lists[order_to_pindex(mt, 0)];
	first = list->first;
	p->lru_prev = PFN_NIL;
	p->lru_next = first;
	if (first != PFN_NIL)
		m->mem_map[first].lru_prev = pfn;
	else
		list->last = pfn;
	list->first = pfn;
	pcp->count++;
	m->pgstate[pfn] =
		(uint8_t)((m->pgstate[pfn] & ~(PGS_ALLOC_MASK | PGS_KERNEL)) | PGS_PCP | 1u);
	return true;
}

#endif /* MM_PAGE_ALLOC_H */
