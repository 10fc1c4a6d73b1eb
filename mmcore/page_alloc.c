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

#include "machine.h"

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

static inline void del_page_from_free_list(struct mm_machine *m, struct zone *z, pfn_t pfn,
					   unsigned int order, unsigned int mt)
{
	struct page *page = pfn_to_page(m, pfn);
	struct free_area *area = &z->free_area[order];

	pfn_list_del(m->mem_map, &area->free_list[mt], pfn);
	__ClearPageBuddy(page);
	page->private = 0;
	area->nr_free--;
	area->nr_free_mt[mt]--;
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

/* Mirrors: __free_one_page(). */
void __free_one_page(struct mm_machine *m, struct zone *z, pfn_t pfn, unsigned int order,
		     unsigned int mt, unsigned int fpi)
{
	unsigned int pb_order = pageblock_order(m);
	pfn_t buddy_pfn = pfn;
	bool to_tail;

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
		del_page_from_free_list(m, z, buddy_pfn, order, m->mem_map[buddy_pfn].index);
		pfn &= buddy_pfn;
		order++;
	}

	{
		struct page *page = pfn_to_page(m, pfn);

		__SetPageBuddy(page);
		page->private = order;
		page->index = mt;
	}
	if (fpi & FPI_TO_TAIL)
		to_tail = true;
	else
		to_tail = buddy_merge_likely(m, pfn, buddy_pfn, order);
	add_to_free_list(m, z, pfn, order, mt, to_tail);
}

static inline int order_to_pindex(unsigned int mt, unsigned int order)
{
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		return NR_LOWORDER_PCP_LISTS + (mt == MIGRATE_MOVABLE);
	return (int)(MIGRATE_PCPTYPES * order + mt);
}

static inline unsigned int pindex_to_order(const struct mm_machine *m, int pindex)
{
	if (pindex >= NR_LOWORDER_PCP_LISTS)
		return m->geo.pageblock_order;
	return (unsigned int)pindex / MIGRATE_PCPTYPES;
}

/* Mirrors: free_pcppages_bulk(). */
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
			count -= nr_pages;
			pcp->count -= nr_pages;
			__free_one_page(m, z, pfn, order, mt, FPI_NONE);
		} while (count > 0 && !pfn_list_empty(list));
	}
}

static int nr_pcp_free(struct per_cpu_pages *pcp, int high, int batch, bool free_high)
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

static int nr_pcp_high(const struct per_cpu_pages *pcp, bool free_high)
{
	if (!pcp->high || free_high)
		return 0;
	return pcp->high;
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
	m->pgfree++;
	pindex = order_to_pindex(mt, order);
	pfn_list_add(m->mem_map, &pcp->lists[pindex], pfn);
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
