/* SPDX-License-Identifier: MIT */
/*
 * page_alloc.c - the binary buddy allocator over struct zone, and the per-CPU page lists
 * in front of it; see page_alloc.h for the invariants.
 *
 * Freeing, as mm/page_alloc.c does it: an order-0..3 or THP-order page goes to the
 * freeing CPU's pcp list (at the head); when the list count reaches pcp->high a batch is
 * drained from the tails, round-robin over the lists, into __free_one_page(), which merges
 * the block with its buddy while the buddy is a free block of the same order in the same
 * zone, and queues the result at the head of its free list, or at the tail when a further
 * merge looks likely (buddy_merge_likely) or the caller asks (FPI_TO_TAIL, boot hand-over).
 */
#include "page_alloc.h"

#include <string.h>

#include "machine.h"
#include "mmdebug.h"
#include "snapshot.h"

/* Mirrors: bad_range(): the page is outside the zone it is being put on or taken from. */
static bool bad_range(const struct zone *z, pfn_t pfn)
{
	return !zone_spans_pfn(z, pfn);
}

/* PageType(page, 0): _mapcount holds no mapcount, only page-type bits (page-flags.h). */
static bool page_type_free(const struct page *page)
{
	return ((uint32_t)page->_mapcount & PAGE_TYPE_BASE) == PAGE_TYPE_BASE;
}

/* Mirrors: set_buddy_order() with __SetPageBuddy()'s VM_BUG_ON_PAGE(!PageType(page, 0)):
 * the head of a free block of @order, queued as @mt. False (and tainted) when the page
 * already has a type or is mapped: it cannot become a buddy. */
static bool set_buddy_order(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int mt)
{
	struct page *page = pfn_to_page(m, pfn);

	if (MM_WARN_ON_ONCE(m, !page_type_free(page),
			    "VM_BUG_ON_PAGE(!PageType(page, 0)): pfn %#x has _mapcount %#x, it "
			    "cannot become PageBuddy",
			    pfn, (uint32_t)page->_mapcount))
		return false;
	__SetPageBuddy(page);
	page->private = order;
	page->index = mt;
	return true;
}

static inline void add_to_free_list(struct mm_machine *m, struct zone *z, pfn_t pfn,
				    unsigned int order, unsigned int mt, bool tail)
{
	struct free_area *area = &z->free_area[order];

	if (tail)
		pfn_list_add_tail(m->mem_map, &area->free_list[mt], pfn);
	else
		pfn_list_add(m->mem_map, &area->free_list[mt], pfn);
	area->nr_free++;
	area->nr_free_mt[mt]++;
}

/*
 * Mirrors: del_page_from_free_list(), with __ClearPageBuddy()'s VM_BUG_ON_PAGE(!PageBuddy)
 * and the order check later kernels add: only the head of a free block of @order may be
 * unlinked. False (and tainted) otherwise, and nothing is touched.
 */
static inline bool del_page_from_free_list(struct mm_machine *m, struct zone *z, pfn_t pfn,
					   unsigned int order, unsigned int mt)
{
	struct page *page = pfn_to_page(m, pfn);
	struct free_area *area = &z->free_area[order];

	if (MM_WARN_ON_ONCE(m, !PageBuddy(page) || page->private != order || page->index != mt,
			    "VM_BUG_ON_PAGE(!PageBuddy(page) || buddy_order(page) != order): pfn "
			    "%#x taken off free_area[%u] %s is buddy %d, order %u, type %u",
			    pfn, order, mm_migratetype_name((int)mt), PageBuddy(page),
			    page->private, page->index))
		return false;
	pfn_list_del(m->mem_map, &area->free_list[mt], pfn);
	__ClearPageBuddy(page);
	page->private = 0;
	area->nr_free--;
	area->nr_free_mt[mt]--;
	return true;
}

/* The list a free block sits on is the migratetype it was queued with, kept in index. */
static inline bool page_is_buddy(const struct page *page, const struct page *buddy,
				 unsigned int order)
{
	if (!PageBuddy(buddy))
		return false;
	if (buddy->private != order)
		return false;
	return page_zonenum(page) == page_zonenum(buddy);
}

static bool find_buddy(struct mm_machine *m, pfn_t pfn, unsigned int order, pfn_t *buddy_pfn)
{
	pfn_t b = pfn ^ (1u << order);

	*buddy_pfn = b;
	if (b >= m->mem_map_pfns)
		return false;
	return page_is_buddy(&m->mem_map[pfn], &m->mem_map[b], order);
}

static bool migratetype_is_mergeable(unsigned int mt)
{
	return mt < MIGRATE_PCPTYPES;
}

/* Mirrors: buddy_merge_likely(). */
static bool buddy_merge_likely(struct mm_machine *m, pfn_t pfn, pfn_t buddy_pfn, unsigned int order)
{
	pfn_t higher, unused;

	if (order >= MAX_ORDER - 2)
		return false;
	higher = buddy_pfn & pfn;
	return find_buddy(m, higher, order + 1, &unused);
}

/*
 * __free_one_page - give the free block of 2^@order pages at @pfn back to @z's free lists,
 * merging it with its buddy for as long as it can.
 *
 * Mirrors: mm/page_alloc.c __free_one_page(), find_buddy_page_pfn() and page_is_buddy()
 * (mm/internal.h).
 *
 * The buddy system keeps, for each order k, lists of free blocks of 2^k pages whose first
 * pfn is a multiple of 2^k. Two such blocks are buddies when together they form one block
 * of order k + 1 that is again aligned: that is, when their pfns differ only in bit k. So
 * the buddy of the block at pfn is at
 *
 *	buddy_pfn = pfn ^ (1 << order)
 *
 * (the lower half finds its upper half by setting the bit, the upper half its lower half by
 * clearing it), and the merged block starts at pfn & buddy_pfn, the lower of the two. The
 * loop climbs: while the buddy is itself a free block of exactly this order in the same
 * zone (PageBuddy, private == order: page_is_buddy()), take it off its list, merge, and try
 * again one order up; it stops at MAX_ORDER - 1 or at the first buddy that is in use, split
 * smaller, or in another zone. From pageblock_order up two blocks merge only if their
 * pageblocks' types may mix (Unmovable, Movable and Reclaimable may; HighAtomic and Isolate
 * merge only with their own type), so that a reserved pageblock keeps its type.
 *
 * The merged block goes to the head of its list, or to the tail when the caller asks
 * (FPI_TO_TAIL: the boot hand-over) or when buddy_merge_likely() sees that its own buddy
 * one order up is free already: a block likely to merge soon is the last to be handed out.
 * NR_FREE_PAGES grows by 2^order unless the block is Isolate (__mod_zone_freepage_state).
 *
 * Preconditions, the kernel's VM_BUG_ON_PAGE lines (MM_WARN_ON_ONCE: the block is then not
 * freed and the machine is tainted): the page carries no PAGE_FLAGS_CHECK_AT_PREP flags and
 * no page type, pfn is aligned to its order, and @z spans it (bad_range()).
 */
void __free_one_page(struct mm_machine *m, struct zone *z, pfn_t pfn, unsigned int order,
		     unsigned int mt, unsigned int fpi)
{
	unsigned int pb_order = pageblock_order(m);
	struct page *page = pfn_to_page(m, pfn);
	pfn_t buddy_pfn = pfn;
	bool to_tail;

	if (MM_WARN_ON_ONCE(m, page->flags & PAGE_FLAGS_CHECK_AT_PREP,
			    "VM_BUG_ON_PAGE(page->flags & PAGE_FLAGS_CHECK_AT_PREP): pfn %#x has "
			    "flags %#x",
			    pfn, page->flags & PAGE_FLAGS_CHECK_AT_PREP) ||
	    MM_WARN_ON_ONCE(m, pfn & ((1u << order) - 1),
			    "VM_BUG_ON_PAGE(pfn & ((1 << order) - 1)): pfn %#x is not aligned to "
			    "order %u",
			    pfn, order) ||
	    MM_WARN_ON_ONCE(m, bad_range(z, pfn),
			    "VM_BUG_ON_PAGE(bad_range(zone, page)): pfn %#x is outside zone %s",
			    pfn, mm_zone_name((int)z->idx)) ||
	    MM_WARN_ON_ONCE(m, !page_type_free(page),
			    "VM_BUG_ON_PAGE(!PageType(page, 0)): pfn %#x has _mapcount %#x", pfn,
			    (uint32_t)page->_mapcount))
		return;
	if (mt != MIGRATE_ISOLATE)
		z->vm_stat[NR_FREE_PAGES] += 1L << order;

	while (order < MAX_ORDER - 1) {
		if (!find_buddy(m, pfn, order, &buddy_pfn))
			break;
		if (order >= pb_order) {
			unsigned int buddy_mt = get_pfnblock_migratetype(z, buddy_pfn, pb_order);

			if (mt != buddy_mt &&
			    (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(buddy_mt)))
				break;
		}
		if (!del_page_from_free_list(m, z, buddy_pfn, order, m->mem_map[buddy_pfn].index))
			break;
		pfn &= buddy_pfn;
		order++;
	}

	set_buddy_order(m, pfn, order, mt);
	if (fpi & FPI_TO_TAIL)
		to_tail = true;
	else
		to_tail = buddy_merge_likely(m, pfn, buddy_pfn, order);
	add_to_free_list(m, z, pfn, order, mt, to_tail);
}

static inline unsigned int pindex_to_order(const struct mm_machine *m, int pindex)
{
	if (pindex >= NR_LOWORDER_PCP_LISTS)
		return m->geo.pageblock_order;
	return (unsigned int)pindex / MIGRATE_PCPTYPES;
}

/*
 * free_pcppages_bulk - give @count pages of CPU @cpu's per-CPU lists of @z back to the
 * buddy free lists.
 *
 * Mirrors: mm/page_alloc.c free_pcppages_bulk().
 *
 * In front of the buddy lists, which the kernel guards with zone->lock, each CPU keeps its
 * own short lists of free blocks (per order up to PAGE_ALLOC_COSTLY_ORDER, and the THP
 * order, per Unmovable/Movable/Reclaimable): a free goes to the head of one without a lock,
 * an allocation takes from it, and only when a list runs empty (rmqueue_bulk(), @batch
 * blocks at once) or pcp->count reaches pcp->high does the CPU take the zone lock. This is
 * the second half of that: called when count >= high with nr_pcp_free() pages (at least
 * @batch, more while frees keep coming: free_factor doubles it), by drain_all_pages() with
 * all of them.
 *
 * It starts with the list the last free went to (@pindex), then goes round-robin over the
 * non-empty lists, taking blocks from each list's tail (the oldest, cache cold) until that
 * list is empty or @count is reached; each block goes through __free_one_page() with the
 * migratetype it was queued with, so it merges as any freed block would. A pcp block is
 * counted in NR_FREE_PAGES only once it reaches the buddy lists.
 */
void free_pcppages_bulk(struct mm_machine *m, struct zone *z, int count, unsigned int cpu,
			int pindex)
{
	struct per_cpu_pages *pcp = &z->pcp[cpu];
	int min_pindex = 0, max_pindex = NR_PCP_LISTS - 1;

	count = MM_MIN(count, pcp->count);
	pindex = pindex - 1; /* drain the requested list first */
	while (count > 0) {
		struct pfn_list *list;
		unsigned int order;
		int nr_pages;

		for (;;) {
			if (++pindex > max_pindex)
				pindex = min_pindex;
			list = &pcp->lists[pindex];
			if (!pfn_list_empty(list))
				break;
			if (pindex == max_pindex)
				max_pindex--;
			if (pindex == min_pindex)
				min_pindex++;
		}
		order = pindex_to_order(m, pindex);
		nr_pages = 1 << order;
		do {
			pfn_t pfn = list->last;
			unsigned int mt = m->mem_map[pfn].index;

			pfn_list_del(m->mem_map, list, pfn);
			m->pgstate[pfn] &= (uint8_t) ~(PGS_PCP | PGS_ALLOC_MASK);
			count -= nr_pages;
			pcp->count -= nr_pages;
			__free_one_page(m, z, pfn, order, mt, FPI_NONE);
		} while (count > 0 && !pfn_list_empty(list));
	}
}

/* Mirrors: free_unref_page() + free_unref_page_commit(). */
static void free_unref_page(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu)
{
	struct zone *z = page_zone(m, pfn);
	struct per_cpu_pages *pcp = &z->pcp[cpu];
	unsigned int mt = get_pfnblock_migratetype(z, pfn, pageblock_order(m));
	bool free_high;
	int pindex, high;

	m->mem_map[pfn].index = mt;
	if (mt >= MIGRATE_PCPTYPES) {
		if (mt == MIGRATE_ISOLATE) {
			__free_one_page(m, z, pfn, order, mt, FPI_NONE);
			m->pgfree += 1u << order;
			return;
		}
		mt = MIGRATE_MOVABLE;
	}
	m->pgfree += 1u << order;
	pindex = order_to_pindex(mt, order);
	pfn_list_add(m->mem_map, &pcp->lists[pindex], pfn);
	m->pgstate[pfn] = (uint8_t)((m->pgstate[pfn] & ~PGS_ALLOC_MASK) | PGS_PCP | (order + 1));
	pcp->count += 1 << order;
	free_high = pcp->free_factor && order && order <= PAGE_ALLOC_COSTLY_ORDER;
	high = nr_pcp_high(pcp, free_high);
	if (pcp->count >= high)
		free_pcppages_bulk(m, z, nr_pcp_free(pcp, high, pcp->batch, free_high), cpu,
				   pindex);
}

static bool pcp_allowed_order(const struct mm_machine *m, unsigned int order)
{
	return order <= PAGE_ALLOC_COSTLY_ORDER || order == m->geo.pageblock_order;
}

void free_the_page(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu)
{
	if (pcp_allowed_order(m, order)) {
		free_unref_page(m, pfn, order, cpu);
	} else {
		struct zone *z = page_zone(m, pfn);

		__free_one_page(m, z, pfn, order,
				get_pfnblock_migratetype(z, pfn, pageblock_order(m)), FPI_NONE);
		m->pgfree += 1u << order;
	}
}

/* Mirrors: memblock_free_pages() -> __free_pages_core() -> __free_pages_ok(FPI_TO_TAIL). */
void free_pages_core(struct mm_machine *m, pfn_t pfn, unsigned int order)
{
	struct zone *z = page_zone(m, pfn);
	unsigned int i, n = 1u << order;

	for (i = 0; i < n; i++) {
		struct page *p = pfn_to_page(m, pfn + i);

		ClearPageReserved(p);
		p->_refcount = 0;
	}
	z->managed_pages += n;
	__free_one_page(m, z, pfn, order, get_pfnblock_migratetype(z, pfn, pageblock_order(m)),
			FPI_TO_TAIL);
	m->pgfree += n;
}

/* Mirrors: free_reserved_page() + adjust_managed_page_count(page, 1). */
void free_reserved_page(struct mm_machine *m, pfn_t pfn, unsigned int cpu)
{
	struct page *p = pfn_to_page(m, pfn);
	struct zone *z = page_zone(m, pfn);

	ClearPageReserved(p);
	p->_refcount = 0; /* init_page_count() then the put_page() of __free_page() */
	free_the_page(m, pfn, 0, cpu);
	z->managed_pages++;
	m->pgdat.totalram_pages++;
	if (is_highmem_idx(&m->pgdat, z->idx))
		m->pgdat.totalhigh_pages++;
}

/* ==== allocation ======================================================================= */

/*
 * expand - split the free block of order @high at @pfn (already off its list) down to
 * order @low, giving back every upper half.
 *
 * Mirrors: mm/page_alloc.c expand().
 *
 * Each round halves the block: the upper half, at pfn + 2^(high-1), becomes a free block of
 * order high - 1 at the head of its list (of the allocation's type @mt), and the lower half
 * is split further. What remains is the lowest 2^@low pages, the allocation. So an order-0
 * page taken from an order-10 block leaves one free block of each order 9, 8, ..., 0 behind
 * it, and a run of small allocations carved from one block goes up in pfn order.
 *
 * Preconditions (VM_BUG_ON_PAGE, MM_WARN_ON_ONCE): each half lies inside @z (bad_range())
 * and has no page type; otherwise the split stops there and the machine is tainted.
 */
static void expand(struct mm_machine *m, struct zone *z, pfn_t pfn, unsigned int low,
		   unsigned int high, unsigned int mt)
{
	unsigned int size = 1u << high;

	while (high > low) {
		high--;
		size >>= 1;
		if (MM_WARN_ON_ONCE(m, bad_range(z, pfn + size),
				    "VM_BUG_ON_PAGE(bad_range(zone, &page[size])): pfn %#x is "
				    "outside zone %s",
				    pfn + size, mm_zone_name((int)z->idx)) ||
		    !set_buddy_order(m, pfn + size, high, mt))
			return;
		add_to_free_list(m, z, pfn + size, high, mt, false);
	}
}

/*
 * __rmqueue_smallest - take a block of 2^@order pages of migratetype @mt from @z: the head
 * of the smallest non-empty free list of @mt at @order or above, split down by expand().
 *
 * Mirrors: mm/page_alloc.c __rmqueue_smallest().
 *
 * Best fit by order: a request is served from a block as small as possible, so that large
 * blocks stay whole for the requests that need them. The head of the list is taken (freed
 * blocks that are unlikely to merge were put at the head: the most recently freed, cache
 * warm). Only lists of @mt are searched; when all are empty __rmqueue() falls back to
 * stealing from another type (steal_suitable_fallback()) and tries again. The caller
 * adjusts NR_FREE_PAGES. PFN_NIL when no list of @mt can serve it.
 */
static pfn_t __rmqueue_smallest(struct mm_machine *m, struct zone *z, unsigned int order,
				unsigned int mt)
{
	unsigned int co;

	for (co = order; co < MAX_ORDER; co++) {
		pfn_t pfn = z->free_area[co].free_list[mt].first;

		if (pfn == PFN_NIL)
			continue;
		if (!del_page_from_free_list(m, z, pfn, co, mt))
			return PFN_NIL;
		expand(m, z, pfn, order, co, mt);
		m->mem_map[pfn].index = mt; /* set_pcppage_migratetype() */
		return pfn;
	}
	return PFN_NIL;
}

/* fallbacks[]: which free lists a migratetype may borrow from, in order. */
static const int fallbacks[MIGRATE_TYPES][2] = {
	[MIGRATE_UNMOVABLE] = {MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE},
	[MIGRATE_MOVABLE] = {MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE},
	[MIGRATE_RECLAIMABLE] = {MIGRATE_UNMOVABLE, MIGRATE_MOVABLE},
};

static bool can_steal_fallback(const struct mm_machine *m, unsigned int order,
			       unsigned int start_mt)
{
	unsigned int pb = pageblock_order(m);

	if (order >= pb)
		return true;
	return order >= pb / 2 || start_mt == MIGRATE_RECLAIMABLE ||
	       start_mt == MIGRATE_UNMOVABLE || m->pgdat.page_group_by_mobility_disabled;
}

/* Mirrors: find_suitable_fallback(). */
static int find_suitable_fallback(const struct mm_machine *m, const struct free_area *area,
				  unsigned int order, unsigned int mt, bool only_stealable,
				  bool *can_steal)
{
	unsigned int i;

	if (area->nr_free == 0 || mt >= MIGRATE_PCPTYPES)
		return -1;
	*can_steal = false;
	for (i = 0; i < 2; i++) {
		int fmt = fallbacks[mt][i];

		if (pfn_list_empty(&area->free_list[fmt]))
			continue;
		if (can_steal_fallback(m, order, mt))
			*can_steal = true;
		if (!only_stealable || *can_steal)
			return fmt;
	}
	return -1;
}

/* Mirrors: move_to_free_list(): to the tail of another type's list, same order. */
static void move_to_free_list(struct mm_machine *m, struct zone *z, pfn_t pfn, unsigned int order,
			      unsigned int mt)
{
	struct page *p = pfn_to_page(m, pfn);
	struct free_area *area = &z->free_area[order];
	unsigned int old = p->index;

	pfn_list_del(m->mem_map, &area->free_list[old], pfn);
	area->nr_free_mt[old]--;
	pfn_list_add_tail(m->mem_map, &area->free_list[mt], pfn);
	area->nr_free_mt[mt]++;
	p->index = mt;
}

/* Mirrors: move_freepages_block(): every free block in @pfn's pageblock to @mt's lists;
 * in-use pages that are LRU or movable are counted in *@movable. Returns pages moved. */
static unsigned int move_freepages_block(struct mm_machine *m, struct zone *z, pfn_t pfn,
					 unsigned int mt, unsigned int *movable)
{
	unsigned int nr = pageblock_nr_pages(m), moved = 0;
	pfn_t start = pfn & ~(nr - 1), end = start + nr - 1, i;

	*movable = 0;
	if (!zone_spans_pfn(z, start))
		start = pfn;
	if (!zone_spans_pfn(z, end))
		return 0;
	for (i = start; i <= end;) {
		struct page *p = pfn_to_page(m, i);

		if (!PageBuddy(p)) {
			if (PageFlag(p, PG_lru))
				(*movable)++;
			i++;
			continue;
		}
		move_to_free_list(m, z, i, p->private, mt);
		moved += 1u << p->private;
		i += 1u << p->private;
	}
	return moved;
}

/* Mirrors: boost_watermark(). */
static bool boost_watermark(struct mm_machine *m, struct zone *z)
{
	unsigned long max_boost, pb = pageblock_nr_pages(m);

	if (!m->pgdat.watermark_boost_factor)
		return false;
	if (pb * 4 > z->managed_pages)
		return false;
	/* mult_frac(high, factor, 10000) */
	max_boost =
		z->_watermark[WMARK_HIGH] / 10000 * (unsigned long)m->pgdat.watermark_boost_factor +
		z->_watermark[WMARK_HIGH] % 10000 * (unsigned long)m->pgdat.watermark_boost_factor /
			10000;
	if (!max_boost)
		return false;
	max_boost = MM_MAX(pb, max_boost);
	z->watermark_boost = MM_MIN(z->watermark_boost + pb, max_boost);
	return true;
}

/*
 * steal_suitable_fallback - an allocation of type @start_type found nothing on its own
 * lists and takes the free block at @pfn from another type's list: move it, and perhaps its
 * whole pageblock, over to @start_type.
 *
 * Mirrors: mm/page_alloc.c steal_suitable_fallback(), with can_steal_fallback() and
 * boost_watermark().
 *
 * Memory is grouped by mobility in pageblocks (2^pageblock_order pages: 4 MiB on 686, 2 MiB
 * on PAE) so that unmovable allocations do not end up scattered over every block, where they
 * would keep large blocks from ever forming again. When a type must borrow (fallbacks[]:
 * Unmovable tries Reclaimable then Movable, and so on), it borrows big: __rmqueue_fallback()
 * takes the largest block of the fallback type, and this function decides how much of its
 * pageblock changes hands:
 *  - a block of a HighAtomic pageblock: only the block moves, the reserve stays;
 *  - a block of pageblock_order or more: every pageblock it covers becomes @start_type;
 *  - otherwise the zone's watermark is boosted (a fallback is a sign of fragmentation:
 *    kswapd is asked to reclaim a little more), and when stealing the whole block is allowed
 *    (can_steal_fallback(): a large enough order, or an Unmovable/Reclaimable request) every
 *    free block of the pageblock moves to @start_type's lists; the pageblock's type changes
 *    only if its free pages plus the used pages that are alike (movable ones for a Movable
 *    request; for an old Movable block, the ones that are not movable) are at least half
 *    the pageblock. A claim of fewer moves only what is free and keeps the block's type.
 */
static void steal_suitable_fallback(struct mm_machine *m, struct zone *z, pfn_t pfn,
				    unsigned int alloc_flags, unsigned int start_type,
				    bool whole_block)
{
	unsigned int order = m->mem_map[pfn].private, pb = pageblock_order(m);
	unsigned int old = get_pfnblock_migratetype(z, pfn, pb);
	unsigned int free_pages, movable, alike;

	if (old == MIGRATE_HIGHATOMIC)
		goto single_page;
	if (order >= pb) {
		pfn_t i;

		for (i = pfn; i < pfn + (1u << order); i += pageblock_nr_pages(m))
			set_pageblock_migratetype(&m->pgdat, z, i, pb, start_type);
		m->events.pageblocks_stolen++;
		goto single_page;
	}
	if (boost_watermark(m, z) && (alloc_flags & ALLOC_KSWAPD))
		z->flags_boosted = true;
	if (!whole_block)
		goto single_page;
	free_pages = move_freepages_block(m, z, pfn, start_type, &movable);
	if (!free_pages)
		goto single_page;
	if (start_type == MIGRATE_MOVABLE)
		alike = movable;
	else if (old == MIGRATE_MOVABLE)
		alike = pageblock_nr_pages(m) - (free_pages + movable);
	else
		alike = 0;
	if (free_pages + alike >= (1u << (pb - 1)) || m->pgdat.page_group_by_mobility_disabled) {
		set_pageblock_migratetype(&m->pgdat, z, pfn, pb, start_type);
		m->events.pageblocks_stolen++;
	}
	return;
single_page:
	move_to_free_list(m, z, pfn, order, start_type);
}

/* Mirrors: __rmqueue_fallback(): the largest block of another type, stolen. */
static bool __rmqueue_fallback(struct mm_machine *m, struct zone *z, unsigned int order,
			       unsigned int start_mt, unsigned int alloc_flags)
{
	const struct free_area *area = NULL;
	int co, fmt = -1;
	bool can_steal = false;

	for (co = MAX_ORDER - 1; co >= (int)order; co--) {
		area = &z->free_area[co];
		fmt = find_suitable_fallback(m, area, (unsigned int)co, start_mt, false,
					     &can_steal);
		if (fmt == -1)
			continue;
		if (!can_steal && start_mt == MIGRATE_MOVABLE && co > (int)order)
			goto find_smallest;
		goto do_steal;
	}
	return false;
find_smallest:
	for (co = (int)order; co < MAX_ORDER; co++) {
		area = &z->free_area[co];
		fmt = find_suitable_fallback(m, area, (unsigned int)co, start_mt, false,
					     &can_steal);
		if (fmt != -1)
			break;
	}
	if (fmt == -1)
		return false;
do_steal:
	steal_suitable_fallback(m, z, area->free_list[fmt].first, alloc_flags, start_mt, can_steal);
	m->events.fallbacks++;
	return true;
}

/* Mirrors: __rmqueue(). NR_FREE_PAGES is the caller's to adjust. */
static pfn_t __rmqueue(struct mm_machine *m, struct zone *z, unsigned int order, unsigned int mt,
		       unsigned int alloc_flags)
{
	pfn_t pfn;

	for (;;) {
		pfn = __rmqueue_smallest(m, z, order, mt);
		if (pfn != PFN_NIL || m->tainted ||
		    !__rmqueue_fallback(m, z, order, mt, alloc_flags))
			return pfn;
	}
}

static void mod_zone_freepage_state(struct zone *z, long nr, unsigned int mt)
{
	if (mt != MIGRATE_ISOLATE)
		z->vm_stat[NR_FREE_PAGES] += nr;
}

/*
 * Mirrors: check_new_page_bad() via check_new_pages(): every page of a block leaving the
 * free lists must look free: unmapped, no mapping, refcount 0, no flag of
 * PAGE_FLAGS_CHECK_AT_PREP. The kernel reports bad_page() and leaks the block; mm32 warns
 * (MM_WARN_ON_ONCE), taints the machine and does not hand the block out. True when bad.
 */
static bool check_new_pages(struct mm_machine *m, pfn_t pfn, unsigned int order)
{
	for (pfn_t i = pfn; i < pfn + (1u << order); i++) {
		const struct page *p = pfn_to_page(m, i);
		const char *why = p->_mapcount != -1 ? "nonzero mapcount"
				  : p->mapping	     ? "non-NULL mapping"
				  : p->_refcount     ? "nonzero _refcount"
				  : p->flags & PAGE_FLAGS_CHECK_AT_PREP
					  ? "PAGE_FLAGS_CHECK_AT_PREP "
					    "flag(s) set"
					  : NULL;

		if (MM_WARN_ON_ONCE(m, why, "bad_page: Bad page state: pfn %#x: %s", i, why))
			return true;
	}
	return false;
}

/* Mirrors: rmqueue_bulk(): @count blocks onto the tail of a pcp list. Without CONFIG_DEBUG_VM
 * (mm_debug off) the kernel checks each block here (check_pcp_refill()), with it when it
 * leaves the pcp list (check_new_pcp()). */
static int rmqueue_bulk(struct mm_machine *m, struct zone *z, unsigned int order, int count,
			struct pfn_list *list, unsigned int mt, unsigned int alloc_flags)
{
	int i, allocated = 0;

	for (i = 0; i < count; i++) {
		pfn_t pfn = __rmqueue(m, z, order, mt, alloc_flags);

		if (pfn == PFN_NIL)
			break;
		if (!MM_DEBUG_CHECKS && check_new_pages(m, pfn, order))
			break;
		pfn_list_add_tail(m->mem_map, list, pfn);
		m->pgstate[pfn] =
			(uint8_t)((m->pgstate[pfn] & ~PGS_ALLOC_MASK) | PGS_PCP | (order + 1));
		allocated++;
		mod_zone_freepage_state(z, -(1L << order), m->mem_map[pfn].index);
	}
	return allocated;
}

/* Mirrors: __rmqueue_pcplist(): the list's first page, the list refilled by a batch first
 * when it is empty. */
static pfn_t __rmqueue_pcplist(struct mm_machine *m, struct zone *z, unsigned int order,
			       unsigned int mt, unsigned int alloc_flags, unsigned int cpu)
{
	struct per_cpu_pages *pcp = &z->pcp[cpu];
	struct pfn_list *list;
	pfn_t pfn;

	list = &pcp->lists[order_to_pindex(mt, order)];
	if (pfn_list_empty(list)) {
		int batch = pcp->batch;

		if (batch > 1)
			batch = MM_MAX(batch >> order, 2);
		pcp->count += rmqueue_bulk(m, z, order, batch, list, mt, alloc_flags) << order;
		if (pfn_list_empty(list))
			return PFN_NIL;
	}
	pfn = list->first;
	if (MM_DEBUG_CHECKS && check_new_pages(m, pfn, order))
		return PFN_NIL;
	pfn_list_del(m->mem_map, list, pfn);
	m->pgstate[pfn] &= (uint8_t) ~(PGS_PCP | PGS_ALLOC_MASK);
	pcp->count -= 1 << order;
	return pfn;
}

/* Mirrors: rmqueue_pcplist(). */
static pfn_t rmqueue_pcplist(struct mm_machine *m, struct zone *z, unsigned int order,
			     unsigned int mt, unsigned int alloc_flags, unsigned int cpu)
{
	z->pcp[cpu].free_factor >>= 1;
	return __rmqueue_pcplist(m, z, order, mt, alloc_flags, cpu);
}

/* Mirrors: rmqueue_buddy(). */
static pfn_t rmqueue_buddy(struct mm_machine *m, struct zone *z, unsigned int order,
			   unsigned int alloc_flags, unsigned int mt)
{
	pfn_t pfn = PFN_NIL;

	if (order > 0 && (alloc_flags & ALLOC_HARDER))
		pfn = __rmqueue_smallest(m, z, order, MIGRATE_HIGHATOMIC);
	if (pfn == PFN_NIL) {
		pfn = __rmqueue(m, z, order, mt, alloc_flags);
		if (pfn == PFN_NIL)
			return PFN_NIL;
	}
	mod_zone_freepage_state(z, -(1L << order), m->mem_map[pfn].index);
	if (check_new_pages(m, pfn, order))
		return PFN_NIL;
	return pfn;
}

static void wakeup_kswapd(struct mm_machine *m, struct zone *z, unsigned int order,
			  unsigned int highest_zoneidx)
{
	(void)z;
	(void)order;
	(void)highest_zoneidx;
	/* kswapd is not modelled yet: the wake-up is recorded (the watermark boost stays
	 * until a kswapd exists to reclaim it) */
	m->events.kswapd_wakeups++;
}

/* Mirrors: rmqueue(). */
pfn_t rmqueue(struct mm_machine *m, struct zone *z, unsigned int order, unsigned int mt,
	      unsigned int alloc_flags, unsigned int cpu)
{
	pfn_t pfn = PFN_NIL;

	if (pcp_allowed_order(m, order))
		pfn = rmqueue_pcplist(m, z, order, mt, alloc_flags, cpu);
	if (pfn == PFN_NIL)
		pfn = rmqueue_buddy(m, z, order, alloc_flags, mt);
	if (pfn != PFN_NIL)
		m->pgalloc[z->idx] += 1u << order;
	if (z->flags_boosted) {
		z->flags_boosted = false;
		wakeup_kswapd(m, z, 0, z->idx);
	}
	return pfn;
}

/* Mirrors: __zone_watermark_unusable_free(). */
static long zone_watermark_unusable_free(const struct zone *z, unsigned int order,
					 unsigned int alloc_flags)
{
	long unusable = (1L << order) - 1;

	if (!(alloc_flags & (ALLOC_HARDER | ALLOC_OOM)))
		unusable += (long)z->nr_reserved_highatomic;
	return unusable;
}

/*
 * __zone_watermark_ok - may an allocation of order @order take pages from @z, which has
 * @free_pages free, without going below @mark?
 *
 * Mirrors: mm/page_alloc.c __zone_watermark_ok() and __zone_watermark_unusable_free().
 *
 * Three corrections, then two tests. The pages that cannot serve this request are not
 * counted: the 2^order - 1 that a block of this order could leave behind, and the
 * highatomic reserve unless the request may use it (ALLOC_HARDER, ALLOC_OOM). The mark is
 * lowered for requests that may dig deeper: ALLOC_HIGH (__GFP_HIGH) by half, then
 * ALLOC_HARDER (GFP_ATOMIC) by a quarter of what is left (ALLOC_OOM by half): GFP_ATOMIC
 * may go down to 3/8 of the min watermark. Then
 *  1. free pages must stay above mark + lowmem_reserve[highest_zoneidx]: the protection
 *     this zone keeps against requests that could have been served by a higher zone (a
 *     GFP_KERNEL request in DMA must leave DMA's reserve for the requests that need DMA);
 *  2. for order > 0, enough pages are not enough: some free list of order @order or above
 *     must hold a block of a type the request may take (the three mergeable types, or
 *     HighAtomic for ALLOC_HARDER). Free pages scattered in small blocks do not count.
 */
bool __zone_watermark_ok(const struct zone *z, unsigned int order, unsigned long mark,
			 unsigned int highest_zoneidx, unsigned int alloc_flags, long free_pages)
{
	long min = (long)mark;
	bool harder = alloc_flags & (ALLOC_HARDER | ALLOC_OOM);
	unsigned int o, mt;

	free_pages -= zone_watermark_unusable_free(z, order, alloc_flags);
	if (alloc_flags & ALLOC_HIGH)
		min -= min / 2;
	if (harder) {
		if (alloc_flags & ALLOC_OOM)
			min -= min / 2;
		else
			min -= min / 4;
	}
	if (free_pages <= min + z->lowmem_reserve[highest_zoneidx])
		return false;
	if (!order)
		return true;
	for (o = order; o < MAX_ORDER; o++) {
		const struct free_area *area = &z->free_area[o];

		if (!area->nr_free)
			continue;
		for (mt = 0; mt < MIGRATE_PCPTYPES; mt++)
			if (!pfn_list_empty(&area->free_list[mt]))
				return true;
		if (harder && !pfn_list_empty(&area->free_list[MIGRATE_HIGHATOMIC]))
			return true;
	}
	return false;
}

/* Mirrors: zone_watermark_fast(). */
static bool zone_watermark_fast(const struct zone *z, unsigned int order, unsigned long mark,
				unsigned int highest_zoneidx, unsigned int alloc_flags, gfp_t gfp)
{
	long free_pages = z->vm_stat[NR_FREE_PAGES];

	if (!order) {
		long usable = free_pages,
		     reserved = zone_watermark_unusable_free(z, 0, alloc_flags);

		usable -= MM_MIN(usable, reserved);
		if (usable > (long)mark + z->lowmem_reserve[highest_zoneidx])
			return true;
	}
	if (__zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages))
		return true;
	if (!order && (gfp & __GFP_ATOMIC) && z->watermark_boost &&
	    (alloc_flags & ALLOC_WMARK_MASK) == WMARK_MIN)
		return __zone_watermark_ok(z, order, z->_watermark[WMARK_MIN], highest_zoneidx,
					   alloc_flags, free_pages);
	return false;
}

static unsigned long wmark_pages(const struct zone *z, unsigned int i)
{
	return z->_watermark[i] + z->watermark_boost;
}

/* Mirrors: reserve_highatomic_pageblock(). */
static void reserve_highatomic_pageblock(struct mm_machine *m, struct zone *z, pfn_t pfn)
{
	unsigned int pb = pageblock_order(m), mt, movable;
	unsigned long max_managed = z->managed_pages / 100 + pageblock_nr_pages(m);

	if (z->nr_reserved_highatomic >= max_managed)
		return;
	mt = get_pfnblock_migratetype(z, pfn, pb);
	if (mt >= MIGRATE_PCPTYPES) /* HIGHATOMIC, ISOLATE (and CMA) stay as they are */
		return;
	z->nr_reserved_highatomic += pageblock_nr_pages(m);
	set_pageblock_migratetype(&m->pgdat, z, pfn, pb, MIGRATE_HIGHATOMIC);
	move_freepages_block(m, z, pfn, MIGRATE_HIGHATOMIC, &movable);
	m->events.highatomic_reserved++;
}

/* Mirrors: unreserve_highatomic_pageblock(): give a reserved block back to @mt. */
static bool unreserve_highatomic_pageblock(struct mm_machine *m, unsigned int highest_zoneidx,
					   unsigned int mt, bool force)
{
	unsigned int pb = pageblock_order(m), movable, o;
	int zi;

	for (zi = (int)highest_zoneidx; zi >= 0; zi--) {
		struct zone *z = &m->pgdat.node_zones[zi];

		if (!managed_zone(z))
			continue;
		/* keep one pageblock per zone unless forced (the OOM is near) */
		if (!force && z->nr_reserved_highatomic <= pageblock_nr_pages(m))
			continue;
		for (o = 0; o < MAX_ORDER; o++) {
			pfn_t pfn = z->free_area[o].free_list[MIGRATE_HIGHATOMIC].first;

			if (pfn == PFN_NIL)
				continue;
			if (get_pfnblock_migratetype(z, pfn, pb) == MIGRATE_HIGHATOMIC)
				z->nr_reserved_highatomic -=
					MM_MIN(pageblock_nr_pages(m), z->nr_reserved_highatomic);
			set_pageblock_migratetype(&m->pgdat, z, pfn, pb, mt);
			if (move_freepages_block(m, z, pfn, mt, &movable))
				return true;
		}
	}
	return false;
}

struct alloc_context {
	unsigned int highest_zoneidx;
	unsigned int migratetype;
	unsigned int cpu;
};

/* Clear @pfn's block as init_on_alloc/__GFP_ZERO does (kernel_init_pages). */
static void kernel_init_pages(struct mm_machine *m, pfn_t pfn, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (!(m->pgstate[pfn + i] & PGS_RAM_DIRTY))
			continue;
		memset(m->ram + PFN_PHYS(pfn + i), 0, PAGE_SIZE);
		m->pgstate[pfn + i] &= (uint8_t)~PGS_RAM_DIRTY;
	}
}

/* Mirrors: prep_compound_page(). */
static void prep_compound_page(struct mm_machine *m, pfn_t pfn, unsigned int order)
{
	unsigned int i, nr = 1u << order;

	SetPageFlag(pfn_to_page(m, pfn), PG_head);
	for (i = 1; i < nr; i++) {
		struct page *p = pfn_to_page(m, pfn + i);

		p->mapping = TAIL_MAPPING;
		p->lru_next = pfn; /* compound_head = head | 1 */
		p->lru_prev = PFN_TAIL;
		p->private = 0;
	}
	/* prep_compound_head(): dtor, order, compound_mapcount -1, compound_pincount 0 */
	m->mem_map[pfn + 1].index = order | COMPOUND_PAGE_DTOR << 8;
	m->mem_map[pfn + 1].mapping = (uint32_t)-1;
}

/* Mirrors: prep_new_page() -> post_alloc_hook(). */
void prep_new_page(struct mm_machine *m, pfn_t pfn, unsigned int order, gfp_t gfp)
{
	struct page *p = pfn_to_page(m, pfn);

	p->private = 0;
	/* set_page_refcounted() */
	MM_WARN_ON_ONCE(m, p->_refcount,
			"set_page_refcounted: VM_BUG_ON_PAGE(page_ref_count(page)): pfn %#x leaves "
			"the allocator with refcount %d",
			pfn, p->_refcount);
	p->_refcount = 1;
	p->lru_next = p->lru_prev = PFN_NIL;
	if (!m->init_on_free && ((gfp & __GFP_ZERO) || m->init_on_alloc))
		kernel_init_pages(m, pfn, 1u << order);
	if (order && (gfp & __GFP_COMP))
		prep_compound_page(m, pfn, order);
	m->pgstate[pfn] = (uint8_t)((m->pgstate[pfn] & ~PGS_ALLOC_MASK) | (order + 1));
}

/* Mirrors: get_page_from_freelist(): the zonelist from the preferred zone down. */
static pfn_t get_page_from_freelist(struct mm_machine *m, gfp_t gfp, unsigned int order,
				    unsigned int alloc_flags, const struct alloc_context *ac)
{
	int zi;

	for (zi = (int)ac->highest_zoneidx; zi >= 0 && !m->tainted; zi--) {
		struct zone *z = &m->pgdat.node_zones[zi];
		unsigned long mark;
		pfn_t pfn;

		if (!managed_zone(z)) /* build_zonerefs_node() lists managed zones only */
			continue;
		mark = wmark_pages(z, alloc_flags & ALLOC_WMARK_MASK);
		if (!zone_watermark_fast(z, order, mark, ac->highest_zoneidx, alloc_flags, gfp) &&
		    !(alloc_flags & ALLOC_NO_WATERMARKS))
			continue; /* node_reclaim_mode is 0 */
		pfn = rmqueue(m, z, order, ac->migratetype, alloc_flags, ac->cpu);
		if (pfn == PFN_NIL)
			continue;
		prep_new_page(m, pfn, order, gfp);
		if (order && (alloc_flags & ALLOC_HARDER))
			reserve_highatomic_pageblock(m, z, pfn);
		return pfn;
	}
	return PFN_NIL;
}

static void wake_all_kswapds(struct mm_machine *m, unsigned int order,
			     const struct alloc_context *ac)
{
	int zi;

	/* one wakeup_kswapd() per node, for the first eligible zone */
	for (zi = (int)ac->highest_zoneidx; zi >= 0; zi--)
		if (managed_zone(&m->pgdat.node_zones[zi])) {
			wakeup_kswapd(m, &m->pgdat.node_zones[zi], order, ac->highest_zoneidx);
			return;
		}
}

/* Mirrors: drain_all_pages(NULL): every CPU's pcp lists of every zone to the buddy. */
void drain_all_pages(struct mm_machine *m)
{
	unsigned int z, cpu;

	for (z = 0; z < MAX_NR_ZONES; z++)
		for (cpu = 0; cpu < m->pgdat.nr_cpus; cpu++) {
			struct per_cpu_pages *pcp = &m->pgdat.node_zones[z].pcp[cpu];

			if (pcp->count)
				free_pcppages_bulk(m, &m->pgdat.node_zones[z], pcp->count, cpu, 0);
		}
	m->events.pcp_drains++;
}

/* Mirrors: __perform_reclaim() -> try_to_free_pages(): counts an allocation stall; with no
 * LRU pages modelled yet it reclaims nothing. */
static unsigned long perform_reclaim(struct mm_machine *m, const struct alloc_context *ac)
{
	m->allocstall[ac->highest_zoneidx]++;
	m->events.direct_reclaims++;
	return 0;
}

/* Mirrors: should_reclaim_retry(). */
static bool should_reclaim_retry(struct mm_machine *m, unsigned int order,
				 const struct alloc_context *ac, unsigned int alloc_flags,
				 bool progress, int *no_progress_loops)
{
	int zi;

	if (progress && order <= PAGE_ALLOC_COSTLY_ORDER)
		*no_progress_loops = 0;
	else
		(*no_progress_loops)++;
	if (*no_progress_loops > 16) /* MAX_RECLAIM_RETRIES */
		return unreserve_highatomic_pageblock(m, ac->highest_zoneidx, ac->migratetype,
						      true);
	for (zi = (int)ac->highest_zoneidx; zi >= 0; zi--) {
		const struct zone *z = &m->pgdat.node_zones[zi];
		long available;

		if (!managed_zone(z))
			continue;
		available = z->vm_stat[NR_FREE_PAGES]; /* + zone_reclaimable_pages(): none */
		if (__zone_watermark_ok(z, order, min_wmark_pages(z), ac->highest_zoneidx,
					alloc_flags, available))
			return true;
	}
	return false;
}

/* show_free_areas() as __show_mem() prints it, for zones up to @max_zone_idx. */
static void show_free_areas(struct mm_machine *m, unsigned int max_zone_idx)
{
	struct pglist_data *pgdat = &m->pgdat;
	unsigned long free = 0, free_pcp = 0, ram = 0, highmem = 0, reserved = 0;
	unsigned int z, o, mt, cpu;

	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &pgdat->node_zones[z];

		free += (unsigned long)zone->vm_stat[NR_FREE_PAGES];
		for (cpu = 0; cpu < pgdat->nr_cpus; cpu++)
			free_pcp += (unsigned long)zone->pcp[cpu].count;
	}
	printk(m, "Mem-Info:\n");
	printk(m,
	       "active_anon:0 inactive_anon:0 isolated_anon:0\n"
	       " active_file:0 inactive_file:0 isolated_file:0\n"
	       " unevictable:0 dirty:0 writeback:0\n"
	       " slab_reclaimable:0 slab_unreclaimable:0\n"
	       " mapped:0 shmem:0 pagetables:0\n"
	       " sec_pagetables:0 bounce:0\n"
	       " kernel_misc_reclaimable:0\n"
	       " free:%lu free_pcp:%lu free_cma:0\n",
	       free, free_pcp);
	printk(m, "Node 0 active_anon:0kB inactive_anon:0kB active_file:0kB inactive_file:0kB "
		  "unevictable:0kB isolated(anon):0kB isolated(file):0kB mapped:0kB dirty:0kB "
		  "writeback:0kB shmem:0kB shmem_thp: 0kB shmem_pmdmapped: 0kB anon_thp: 0kB "
		  "writeback_tmp:0kB kernel_stack:0kB pagetables:0kB sec_pagetables:0kB "
		  "all_unreclaimable? no\n");
	for (z = 0; z <= max_zone_idx && z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &pgdat->node_zones[z];
		unsigned long zpcp = 0;
		unsigned int i;

		if (!populated_zone(zone))
			continue;
		for (cpu = 0; cpu < pgdat->nr_cpus; cpu++)
			zpcp += (unsigned long)zone->pcp[cpu].count;
		printk(m,
		       "%s free:%lukB boost:%lukB min:%lukB low:%lukB high:%lukB "
		       "reserved_highatomic:%luKB active_anon:0kB inactive_anon:0kB "
		       "active_file:0kB inactive_file:0kB unevictable:0kB writepending:0kB "
		       "present:%lukB managed:%lukB mlocked:0kB bounce:0kB free_pcp:%lukB "
		       "local_pcp:%ukB free_cma:0kB\n",
		       mm_zone_name((int)z), (unsigned long)zone->vm_stat[NR_FREE_PAGES] << 2,
		       zone->watermark_boost << 2, min_wmark_pages(zone) << 2,
		       low_wmark_pages(zone) << 2, high_wmark_pages(zone) << 2,
		       zone->nr_reserved_highatomic << 2, (unsigned long)zone->present_pages << 2,
		       (unsigned long)zone->managed_pages << 2, zpcp << 2,
		       (unsigned int)zone->pcp[0].count << 2);
		printk(m, "lowmem_reserve[]:");
		for (i = 0; i < MAX_NR_ZONES; i++)
			pr_cont(m, " %ld", zone->lowmem_reserve[i]);
		pr_cont(m, "\n");
	}
	for (z = 0; z <= max_zone_idx && z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &pgdat->node_zones[z];
		unsigned long total = 0;

		if (!populated_zone(zone))
			continue;
		printk(m, "%s: ", mm_zone_name((int)z));
		for (o = 0; o < MAX_ORDER; o++) {
			unsigned long nr = zone->free_area[o].nr_free;

			total += nr << o;
			pr_cont(m, "%lu*%lukB ", nr, 4ul << o);
			if (nr) {
				static const char letters[MIGRATE_TYPES] = {'U', 'M', 'E', 'H',
									    'I'};

				pr_cont(m, "(");
				for (mt = 0; mt < MIGRATE_TYPES; mt++)
					if (!pfn_list_empty(&zone->free_area[o].free_list[mt]))
						pr_cont(m, "%c", letters[mt]);
				pr_cont(m, ") ");
			}
		}
		pr_cont(m, "= %lukB\n", total << 2);
	}
	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &pgdat->node_zones[z];

		if (!populated_zone(zone))
			continue;
		ram += zone->present_pages;
		if (is_highmem_idx(pgdat, z))
			highmem += zone->present_pages;
		reserved += zone->present_pages - zone->managed_pages;
	}
	printk(m,
	       "Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=%ukB\n",
	       4u << pageblock_order(m));
	printk(m, "0 total pagecache pages\n");
	printk(m, "0 pages in swap cache\n");
	printk(m, "Free swap  = 0kB\n");
	printk(m, "Total swap = 0kB\n");
	printk(m, "%lu pages RAM\n", ram);
	printk(m, "%lu pages HighMem/MovableOnly\n", highmem);
	printk(m, "%lu pages reserved\n", reserved);
	printk(m, "0 pages hwpoisoned\n");
}

/* Mirrors: warn_alloc() with its "nopage" ratelimit (burst 10; mm32's clock does not run
 * between commands, so after ten reports the rest are counted as suppressed). */
static void warn_alloc(struct mm_machine *m, gfp_t gfp, unsigned int order,
		       const struct alloc_context *ac)
{
	char mask[256];

	m->events.alloc_failures++;
	if (gfp & __GFP_NOWARN)
		return;
	if (m->nopage_printed >= 10) {
		m->nopage_suppressed++;
		return;
	}
	m->nopage_printed++;
	mm_gfp_format(gfp, mask, sizeof(mask));
	printk(m,
	       "mm32-cpu%u: page allocation failure: order:%u, mode:%#x(%s), "
	       "nodemask=(null),cpuset=/,mems_allowed=0\n",
	       ac->cpu, order, gfp, mask);
	printk(m, "CPU: %u PID: 1 Comm: mm32-cpu%u Not tainted 6.1.0-mm32-%s #1\n", ac->cpu,
	       ac->cpu, m->cfg.pae ? "686-pae" : "686");
	printk(m, "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS "
		  "1.16.2-debian-1.16.2-1 04/01/2014\n");
	printk(m, "Call Trace:\n");
	printk(m, " dump_stack_lvl+0x34/0x44\n");
	printk(m, " warn_alloc+0xba/0x130\n");
	printk(m, " __alloc_pages_slowpath.constprop.0+0x8a4/0x9a0\n");
	printk(m, " __alloc_pages+0x24a/0x270\n");
	show_free_areas(m, ac->highest_zoneidx);
}

/* Mirrors: __alloc_pages_may_oom(): the last freelist attempt at the high watermark; the
 * OOM killer itself is not modelled yet and is taken to free nothing. */
static pfn_t alloc_pages_may_oom(struct mm_machine *m, gfp_t gfp, unsigned int order,
				 const struct alloc_context *ac, bool *progress)
{
	pfn_t pfn;

	*progress = false;
	pfn = get_page_from_freelist(m, (gfp | __GFP_HARDWALL) & ~__GFP_DIRECT_RECLAIM, order,
				     ALLOC_WMARK_HIGH | ALLOC_CPUSET, ac);
	if (pfn != PFN_NIL)
		return pfn;
	if (order > PAGE_ALLOC_COSTLY_ORDER || (gfp & (__GFP_RETRY_MAYFAIL | __GFP_THISNODE)) ||
	    ac->highest_zoneidx < ZONE_NORMAL)
		return PFN_NIL;
	/* out_of_memory() would run here; with __GFP_NOFAIL the kernel then lets the
	 * allocation ignore the watermarks */
	if (gfp & __GFP_NOFAIL) {
		*progress = true;
		return get_page_from_freelist(m, gfp, order, ALLOC_NO_WATERMARKS, ac);
	}
	return PFN_NIL;
}

/* Mirrors: __alloc_pages_slowpath(). Compaction and reclaim are not modelled yet: both
 * make no progress, so the loops below end where the kernel's end when they don't.
 * Returns PFN_NIL and sets *@loops_forever where the kernel would retry without end. */
static pfn_t alloc_pages_slowpath(struct mm_machine *m, gfp_t gfp, unsigned int order,
				  const struct alloc_context *ac, bool *loops_forever)
{
	bool can_direct_reclaim = gfp & __GFP_DIRECT_RECLAIM;
	bool costly = order > PAGE_ALLOC_COSTLY_ORDER, progress;
	unsigned int alloc_flags, reserve_flags;
	int no_progress_loops = 0, nofail_rounds = 0;
	pfn_t pfn;

	*loops_forever = false;
	if ((gfp & (__GFP_ATOMIC | __GFP_DIRECT_RECLAIM)) == (__GFP_ATOMIC | __GFP_DIRECT_RECLAIM))
		gfp &= ~__GFP_ATOMIC;
	alloc_flags = gfp_to_alloc_flags(gfp);
	if (alloc_flags & ALLOC_KSWAPD)
		wake_all_kswapds(m, order, ac);
	pfn = get_page_from_freelist(m, gfp, order, alloc_flags, ac);
	if (pfn != PFN_NIL)
		return pfn;
	/* direct compaction (ASYNC) for costly or non-movable high orders: not modelled,
	 * it reports COMPACT_SKIPPED */
	if (can_direct_reclaim && (costly || (order > 0 && ac->migratetype != MIGRATE_MOVABLE)) &&
	    !(gfp & __GFP_MEMALLOC)) {
		if (costly && (gfp & __GFP_NORETRY))
			goto nopage;
	}
retry:
	if (alloc_flags & ALLOC_KSWAPD)
		wake_all_kswapds(m, order, ac);
	reserve_flags = (gfp & __GFP_NOMEMALLOC) ? 0
			: (gfp & __GFP_MEMALLOC) ? ALLOC_NO_WATERMARKS
						 : 0;
	if (reserve_flags)
		alloc_flags = reserve_flags | (alloc_flags & ALLOC_KSWAPD);
	pfn = get_page_from_freelist(m, gfp, order, alloc_flags, ac);
	if (pfn != PFN_NIL)
		return pfn;
	if (!can_direct_reclaim)
		goto nopage;
	/* __alloc_pages_direct_reclaim(): no progress, so no drain and no second try */
	progress = perform_reclaim(m, ac) != 0;
	if (gfp & __GFP_NORETRY)
		goto nopage;
	if (costly && !(gfp & __GFP_RETRY_MAYFAIL))
		goto nopage;
	if (should_reclaim_retry(m, order, ac, alloc_flags, progress, &no_progress_loops))
		goto retry;
	pfn = alloc_pages_may_oom(m, gfp, order, ac, &progress);
	if (pfn != PFN_NIL)
		return pfn;
	if (progress) {
		no_progress_loops = 0;
		if (++nofail_rounds > 1) {
			*loops_forever = true;
			return PFN_NIL;
		}
		goto retry;
	}
nopage:
	if (gfp & __GFP_NOFAIL) {
		if (!can_direct_reclaim)
			goto fail;
		/* __alloc_pages_cpuset_fallback(ALLOC_HARDER), then retry without end */
		pfn = get_page_from_freelist(m, gfp, order, ALLOC_HARDER, ac);
		if (pfn != PFN_NIL)
			return pfn;
		*loops_forever = true;
		return PFN_NIL;
	}
fail:
	warn_alloc(m, gfp, order, ac);
	return PFN_NIL;
}

/*
 * alloc_page_fast - the common case of __alloc_pages() for one page, without its layers:
 * the first zone of the zonelist, as the fast path's get_page_from_freelist() tries it,
 * when that zone is above its low watermark and the pcp list of the request's type has a
 * page. PFN_NIL sends the caller on to __alloc_pages(), as it always has: with nothing
 * changed when the first zone is below its low watermark (the full path decides), or after
 * rmqueue() found no page in that zone (as the full path's own first try would have).
 *
 * Mirrors: the order-0 walk through __alloc_pages() -> get_page_from_freelist() ->
 * zone_watermark_fast() -> rmqueue() -> rmqueue_pcplist() -> __rmqueue_pcplist() ->
 * prep_new_page(), flattened: the same tests on the same fields in the same order, the
 * same stores, so a machine cannot tell which path served it.
 *
 * What it takes, step by step (a student following one page):
 *  - gfp_zone() picks the highest zone the mask may use; the zonelist walks down from it
 *    to the first zone that manages pages;
 *  - zone_watermark_fast() at order 0: NR_FREE_PAGES less the highatomic reserve must stay
 *    above the low watermark (with its boost) plus lowmem_reserve[] for that zone; when it
 *    does not, the full path decides (it may still succeed further down the zonelist);
 *  - rmqueue_pcplist(): halve the CPU's free_factor, take the first page of the list of
 *    the request's migratetype (pindex = migratetype at order 0); an empty list means a
 *    refill from the buddy (rmqueue_bulk()), left to the full rmqueue();
 *  - prep_new_page(): refcount 1, off every list, the allocation recorded in pgstate;
 *    a page whose RAM must be zeroed (init_on_alloc, __GFP_ZERO) or whose refcount is not
 *    0 (a bad page: the warning) goes through the full prep_new_page().
 * The pcp list is the intrusive list on struct page (lru links as pfns), as the kernel's.
 */
pfn_t alloc_page_fast(struct mm_machine *m, gfp_t gfp, unsigned int cpu)
{
	unsigned int hz = gfp_zone(gfp), zi = hz, mt;
	unsigned int flags = ALLOC_WMARK_LOW | (gfp & ALLOC_KSWAPD);
	struct zone *z = &m->pgdat.node_zones[hz];
	struct per_cpu_pages *pcp;
	struct pfn_list *list;
	struct page *p;
	long free, usable;
	pfn_t pfn, next;
	uint8_t s;

	while (!managed_zone(z)) {
		if (!zi)
			return PFN_NIL;
		z = &m->pgdat.node_zones[--zi];
	}
	/* zone_watermark_fast(z, 0, low_wmark_pages(z), hz, flags): its first test, which at
	 * order 0 without ALLOC_HIGH/HARDER/OOM is also its only way to say yes */
	free = z->vm_stat[NR_FREE_PAGES];
	usable = free - MM_MIN(free, (long)z->nr_reserved_highatomic);
	if (usable <= (long)(z->_watermark[WMARK_LOW] + z->watermark_boost) + z->lowmem_reserve[hz])
		return PFN_NIL;
	mt = gfp_migratetype(gfp, m->pgdat.page_group_by_mobility_disabled);
	pcp = &z->pcp[cpu];
	list = &pcp->lists[order_to_pindex(mt, 0)];
	pfn = list->first;
	if (MM_DEBUG_CHECKS || pfn == PFN_NIL || z->flags_boosted) {
		pfn = rmqueue(m, z, 0, mt, flags, cpu);
		if (pfn != PFN_NIL)
			prep_new_page(m, pfn, 0, gfp);
		return pfn;
	}
	/* __rmqueue_pcplist(): the first page off the list */
	pcp->free_factor >>= 1;
	p = &m->mem_map[pfn];
	next = p->lru_next;
	list->first = next;
	if (next != PFN_NIL)
		m->mem_map[next].lru_prev = PFN_NIL;
	else
		list->last = PFN_NIL;
	p->lru_next = p->lru_prev = PFN_NIL;
	s = (uint8_t)(m->pgstate[pfn] & ~(PGS_PCP | PGS_ALLOC_MASK));
	pcp->count--;
	m->pgalloc[z->idx]++;
	/* prep_new_page() */
	if (p->_refcount ||
	    ((s & PGS_RAM_DIRTY) && !m->init_on_free && ((gfp & __GFP_ZERO) || m->init_on_alloc))) {
		m->pgstate[pfn] = s;
		prep_new_page(m, pfn, 0, gfp);
		return pfn;
	}
	p->private = 0;
	p->_refcount = 1;
	m->pgstate[pfn] = (uint8_t)(s | 1u); /* order 0 + 1 */
	return pfn;
}

/* Mirrors: __alloc_pages(). */
pfn_t __alloc_pages(struct mm_machine *m, gfp_t gfp, unsigned int order, unsigned int cpu,
		    bool *loops_forever)
{
	struct alloc_context ac = {
		.highest_zoneidx = gfp_zone(gfp),
		.migratetype = gfp_migratetype(gfp, m->pgdat.page_group_by_mobility_disabled),
		.cpu = cpu,
	};
	pfn_t pfn;

	*loops_forever = false;
	pfn = get_page_from_freelist(m, gfp, order, ALLOC_WMARK_LOW | (gfp & ALLOC_KSWAPD), &ac);
	if (pfn == PFN_NIL)
		pfn = alloc_pages_slowpath(m, gfp, order, &ac, loops_forever);
	return pfn;
}

/*
 * Mirrors: __alloc_pages_bulk() with a page array, as vmalloc calls it: order-0 pages
 * from the first zone of the zonelist that stays above its low watermark with all @nr
 * pages gone (the mark is raised by @nr), taken one by one from that zone's per-CPU list
 * (refilled by batches as it empties) without the fast path's per-page checks. One page,
 * no such zone, or no page at all from the list: one __alloc_pages() instead.
 * Return: the pages put in @pfns (from index 0).
 */
unsigned int __alloc_pages_bulk(struct mm_machine *m, gfp_t gfp, unsigned int nr, unsigned int cpu,
				pfn_t *pfns)
{
	unsigned int flags = ALLOC_WMARK_LOW | (gfp & ALLOC_KSWAPD), got, mt;
	struct zone *z = NULL;
	int zi, preferred = -1;
	bool forever;
	pfn_t pfn;

	if (!nr)
		return 0;
	if (nr == 1)
		goto failed;
	mt = gfp_migratetype(gfp, m->pgdat.page_group_by_mobility_disabled);
	for (zi = (int)gfp_zone(gfp); zi >= 0; zi--) {
		struct zone *c = &m->pgdat.node_zones[zi];

		if (!managed_zone(c))
			continue;
		if (preferred < 0)
			preferred = zi; /* zonelist_zone_idx(ac.preferred_zoneref) */
		if (zone_watermark_fast(c, 0, wmark_pages(c, WMARK_LOW) + nr,
					(unsigned int)preferred, flags, gfp)) {
			z = c;
			break;
		}
	}
	if (!z)
		goto failed;
	for (got = 0; got < nr; got++) {
		pfn = __rmqueue_pcplist(m, z, 0, mt, flags, cpu);
		if (pfn == PFN_NIL) {
			if (!got)
				goto failed;
			break;
		}
		prep_new_page(m, pfn, 0, gfp);
		pfns[got] = pfn;
	}
	m->pgalloc[z->idx] += got;
	return got;
failed:
	pfn = __alloc_pages(m, gfp, 0, cpu, &forever);
	if (pfn == PFN_NIL)
		return 0;
	pfns[0] = pfn;
	return 1;
}

/* ==== freeing by the page's user ======================================================= */

/*
 * Mirrors: free_pages_prepare()'s bad-page checks (free_page_is_bad(),
 * free_tail_pages_check()): what frame.c's refusals cannot see, because it takes a
 * corrupted page to get there. True (the machine tainted, the block not freed, as the
 * kernel leaks a bad page) when one is bad.
 */
static bool free_pages_bad(struct mm_machine *m, pfn_t pfn, unsigned int order)
{
	const struct page *page = pfn_to_page(m, pfn);

	if (MM_WARN_ON_ONCE(m, page->mapping, "bad_page: Bad page state: pfn %#x: non-NULL mapping",
			    pfn) ||
	    MM_WARN_ON_ONCE(m, page->flags & PAGE_FLAGS_CHECK_AT_FREE,
			    "bad_page: Bad page state: pfn %#x: PAGE_FLAGS_CHECK_AT_FREE flag(s) "
			    "set (%#x)",
			    pfn, page->flags & PAGE_FLAGS_CHECK_AT_FREE))
		return true;
	if (!PageHead(page))
		return false;
	for (pfn_t i = pfn + 1; i < pfn + (1u << order); i++) {
		const struct page *t = pfn_to_page(m, i);

		if (MM_WARN_ON_ONCE(m, !PageTail(t) || t->lru_next != pfn,
				    "bad_page: Bad page state: pfn %#x: corrupted compound_head "
				    "(%#x, not %#x)",
				    i, PageTail(t) ? t->lru_next : i, pfn) ||
		    MM_WARN_ON_ONCE(m, i > pfn + 1 && t->mapping != TAIL_MAPPING,
				    "bad_page: Bad page state: pfn %#x: corrupted mapping in tail "
				    "page",
				    i))
			return true;
	}
	return false;
}

/* Mirrors: free_pages_prepare() + free_the_page(). */
void free_pages_prepared(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu)
{
	struct page *page = pfn_to_page(m, pfn);
	unsigned int i, nr = 1u << order;

	if (free_pages_bad(m, pfn, order))
		return;
	if (PageHead(page)) {
		for (i = 1; i < nr; i++) {
			struct page *t = pfn_to_page(m, pfn + i);

			t->mapping = 0;
			t->index = 0;
			t->lru_next = t->lru_prev = PFN_NIL; /* clear_compound_head() */
			t->flags &= ~PAGE_FLAGS_CHECK_AT_PREP;
		}
	}
	page->mapping = 0;
	page->flags &= ~PAGE_FLAGS_CHECK_AT_PREP;
	page->_refcount = 0;
	m->pgstate[pfn] &= (uint8_t) ~(PGS_ALLOC_MASK | PGS_KERNEL);
	if (m->init_on_free)
		for (i = 0; i < nr; i++) {
			if (m->pgstate[pfn + i] & PGS_RAM_DIRTY)
				memset(m->ram + PFN_PHYS(pfn + i), 0, PAGE_SIZE);
			m->pgstate[pfn + i] &= (uint8_t)~PGS_RAM_DIRTY;
		}
	free_the_page(m, pfn, order, cpu);
}

/*
 * free_page_fast - free_pages_prepared() + free_the_page() for one order-0 page that its
 * only user gives back (the caller has checked: an order-0 allocation, refcount 1, not
 * mapped, not reserved, not the kernel's or the slab's, not kmapped).
 *
 * Mirrors: free_pages_prepare() -> free_unref_page() -> free_unref_page_commit(),
 * flattened as alloc_page_fast() is: the page goes to the head of the pcp list of its
 * pageblock's migratetype on @cpu, pgfree counts it, and when the list count reaches
 * pcp->high a batch is drained to the buddy (free_pcppages_bulk(), nr_pcp_free()).
 * Anything uncommon goes the full way: a page that would fail free_pages_prepare()'s
 * bad-page checks (a mapping, PAGE_FLAGS_CHECK_AT_FREE flags: the warning), init_on_free
 * (zeroing), a pageblock of type HighAtomic or Isolate (free_unref_page()'s own rules).
 */
void free_page_fast(struct mm_machine *m, pfn_t pfn, unsigned int cpu)
{
	struct page *p = &m->mem_map[pfn];
	struct per_cpu_pages *pcp;
	struct pfn_list *list;
	struct zone *z;
	unsigned int mt;
	pfn_t first;

	if (p->mapping || (p->flags & PAGE_FLAGS_CHECK_AT_FREE) || m->init_on_free) {
		free_pages_prepared(m, pfn, 0, cpu);
		return;
	}
	p->flags &= ~PAGE_FLAGS_CHECK_AT_PREP;
	p->_refcount = 0;
	z = &m->pgdat.node_zones[page_zonenum(p)];
	mt = get_pfnblock_migratetype(z, pfn, pageblock_order(m));
	if (mt >= MIGRATE_PCPTYPES) {
		m->pgstate[pfn] &= (uint8_t) ~(PGS_ALLOC_MASK | PGS_KERNEL);
		free_the_page(m, pfn, 0, cpu);
		return;
	}
	/* free_unref_page_commit() */
	p->index = mt;
	m->pgfree++;
	pcp = &z->pcp[cpu];
	list = &pcp->lists[order_to_pindex(mt, 0)];
	first = list->first;
	p->lru_prev = PFN_NIL;
	p->lru_next = first;
	if (first != PFN_NIL)
		m->mem_map[first].lru_prev = pfn;
	else
		list->last = pfn;
	list->first = pfn;
	m->pgstate[pfn] =
		(uint8_t)((m->pgstate[pfn] & ~(PGS_ALLOC_MASK | PGS_KERNEL)) | PGS_PCP | 1u);
	if (++pcp->count >= nr_pcp_high(pcp, false))
		free_pcppages_bulk(m, z,
				   nr_pcp_free(pcp, nr_pcp_high(pcp, false), pcp->batch, false),
				   cpu, order_to_pindex(mt, 0));
}

/* Mirrors: __free_pages(): put_page_testzero(), and for a non-compound block whose head
 * is still referenced, the sub-blocks page + 2^k for k = order-1 .. 0. */
void __free_pages(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu)
{
	struct page *page = pfn_to_page(m, pfn);
	bool head = PageHead(page);

	if (--page->_refcount == 0) {
		free_pages_prepared(m, pfn, order, cpu);
		return;
	}
	if (head)
		return;
	m->pgstate[pfn] = (uint8_t)((m->pgstate[pfn] & ~PGS_ALLOC_MASK) | 1u); /* now order 0 */
	while (order-- > 0) {
		pfn_t sub = pfn + (1u << order);

		m->pgstate[sub] = (uint8_t)((m->pgstate[sub] & ~PGS_ALLOC_MASK) | (order + 1));
		pfn_to_page(m, sub)->_refcount = 0;
		free_pages_prepared(m, sub, order, cpu);
	}
}

/* ---- snapshot section VMEV: the allocator's event counters (/proc/vmstat) ---------------- */

void vm_events_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	const struct mm_alloc_events *ev = &m->events;
	unsigned int z;

	snap_put_u64(o, m->pgfree);
	for (z = 0; z < MAX_NR_ZONES; z++)
		snap_put_u64(o, m->pgalloc[z]);
	for (z = 0; z < MAX_NR_ZONES; z++)
		snap_put_u64(o, m->allocstall[z]);
	snap_put_u64(o, ev->kswapd_wakeups);
	snap_put_u64(o, ev->direct_reclaims);
	snap_put_u64(o, ev->alloc_failures);
	snap_put_u64(o, ev->pcp_drains);
	snap_put_u64(o, ev->highatomic_reserved);
	snap_put_u64(o, ev->pageblocks_stolen);
	snap_put_u64(o, ev->fallbacks);
	snap_put_u32(o, m->nopage_printed);
	snap_put_u32(o, m->nopage_suppressed);
}

int vm_events_snap_load(struct mm_machine *m, struct snap_in *in)
{
	struct mm_alloc_events *ev = &m->events;
	unsigned int z;

	m->pgfree = snap_get_u64(in);
	for (z = 0; z < MAX_NR_ZONES; z++)
		m->pgalloc[z] = snap_get_u64(in);
	for (z = 0; z < MAX_NR_ZONES; z++)
		m->allocstall[z] = snap_get_u64(in);
	ev->kswapd_wakeups = snap_get_u64(in);
	ev->direct_reclaims = snap_get_u64(in);
	ev->alloc_failures = snap_get_u64(in);
	ev->pcp_drains = snap_get_u64(in);
	ev->highatomic_reserved = snap_get_u64(in);
	ev->pageblocks_stolen = snap_get_u64(in);
	ev->fallbacks = snap_get_u64(in);
	m->nopage_printed = snap_get_u32(in);
	m->nopage_suppressed = snap_get_u32(in);
	return in->ret;
}
