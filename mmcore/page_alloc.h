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

#include "gfp.h"
#include "zone.h"

struct mm_machine;

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
/* Order 0 from the first eligible zone, as __alloc_pages() would; PFN_NIL: use it. */
pfn_t alloc_page_fast(struct mm_machine *m, gfp_t gfp, unsigned int cpu);
bool __zone_watermark_ok(const struct zone *z, unsigned int order, unsigned long mark,
			 unsigned int highest_zoneidx, unsigned int alloc_flags, long free_pages);
void drain_all_pages(struct mm_machine *m);
/* __free_pages(): drop the reference of the caller; free what the kernel frees. */
void __free_pages(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu);
/* The order-@order block at @pfn has no users left (free_pages_prepare + free_the_page). */
void free_pages_prepared(struct mm_machine *m, pfn_t pfn, unsigned int order, unsigned int cpu);

#endif /* MM_PAGE_ALLOC_H */
