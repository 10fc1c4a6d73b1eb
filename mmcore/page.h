/* SPDX-License-Identifier: MIT */
/*
 * page.h - struct page, the descriptor of one page frame, and mem_map.
 *
 * Mirrors: include/linux/mm_types.h (struct page), include/linux/page-flags.h,
 * include/linux/page_ref.h. The guest's struct page is 40 bytes (MEMCG) and mem_map
 * occupies that much emulated RAM (memblock reserves it); the host copy below is a
 * compact 32-byte twin holding the same fields.
 *
 * Invariants (checked in check.c):
 *  - page_zonenum(page) is the zone whose span holds the pfn (pfn 0 belongs to DMA);
 *  - PageBuddy(page) <=> the page heads a free block on free_area[private] of its zone;
 *  - a page on a pcp list has _refcount 0, is not PageBuddy, and index = its migratetype;
 *  - a reserved page (PG_reserved) is on no list.
 */
#ifndef MM_PAGE_H
#define MM_PAGE_H

#include "types.h"

enum pageflags {
	PG_locked,
	PG_referenced,
	PG_uptodate,
	PG_dirty,
	PG_lru,
	PG_active,
	PG_workingset,
	PG_waiters,
	PG_error,
	PG_slab,
	PG_owner_priv_1,
	PG_arch_1,
	PG_reserved,
	PG_private,
	PG_private_2,
	PG_writeback,
	PG_head,
	PG_mappedtodisk,
	PG_reclaim,
	PG_swapbacked,
	PG_unevictable,
	PG_mlocked,
	PG_uncached,
	PG_hwpoison,
	NR_PAGEFLAGS
};

/* include/linux/page-flags.h: the flags a page may not carry when it is handed out, and
 * when it is freed (no LRU_GEN bits on i386's Debian config) */
#define PAGE_FLAGS_CHECK_AT_PREP (((1u << NR_PAGEFLAGS) - 1) & ~(1u << PG_hwpoison))
#define PAGE_FLAGS_CHECK_AT_FREE                                                                   \
	(1u << PG_lru | 1u << PG_locked | 1u << PG_private | 1u << PG_private_2 |                  \
	 1u << PG_writeback | 1u << PG_reserved | 1u << PG_slab | 1u << PG_active |                \
	 1u << PG_unevictable | 1u << PG_mlocked)

#define ZONES_PGSHIFT 30
#define ZONES_MASK 3u

/* page_type values live in _mapcount (include/linux/page-flags.h PAGE_TYPE_OPS). */
#define PAGE_TYPE_BASE 0xf0000000u
#define PG_buddy 0x00000080u
#define PG_table 0x00000200u

struct page {
	uint32_t flags;	   /* PG_* bits 0..23, zone in bits 31..30 */
	int32_t _refcount; /* 0 while free */
	int32_t _mapcount; /* -1 unmapped; page_type when it "has a type" */
	uint32_t private;  /* order of a free buddy block */
	pfn_t lru_next;	   /* buddy_list / pcp_list / lru links */
	pfn_t lru_prev;
	uint32_t index; /* pcp: the migratetype the page was queued with */
	uint32_t mapping;
};

static inline bool PageFlag(const struct page *p, enum pageflags f)
{
	return p->flags & (1u << f);
}
static inline void SetPageFlag(struct page *p, enum pageflags f)
{
	p->flags |= 1u << f;
}
static inline void ClearPageFlag(struct page *p, enum pageflags f)
{
	p->flags &= ~(1u << f);
}
#define PageReserved(p) PageFlag(p, PG_reserved)
#define SetPageReserved(p) SetPageFlag(p, PG_reserved)
#define ClearPageReserved(p) ClearPageFlag(p, PG_reserved)

static inline unsigned int page_zonenum(const struct page *p)
{
	return p->flags >> ZONES_PGSHIFT;
}
static inline void set_page_zone(struct page *p, unsigned int zone)
{
	p->flags = (p->flags & ~(ZONES_MASK << ZONES_PGSHIFT)) | (zone << ZONES_PGSHIFT);
}

static inline bool PageBuddy(const struct page *p)
{
	return ((uint32_t)p->_mapcount & (PAGE_TYPE_BASE | PG_buddy)) == PAGE_TYPE_BASE;
}
static inline void __SetPageBuddy(struct page *p)
{
	p->_mapcount = (int32_t)((uint32_t)p->_mapcount & ~PG_buddy);
}
static inline void __ClearPageBuddy(struct page *p)
{
	p->_mapcount = (int32_t)((uint32_t)p->_mapcount | PG_buddy);
}

/* Mirrors: mm/page_alloc.c __init_single_page(): refcount 1, unmapped, zone set. */
static inline void init_single_page(struct page *p, unsigned int zone)
{
	p->flags = 0;
	set_page_zone(p, zone);
	p->_refcount = 1;
	p->_mapcount = -1;
	p->private = 0;
	p->lru_next = p->lru_prev = PFN_NIL;
	p->index = 0;
	p->mapping = 0;
}

/*
 * Host-only per-frame state (mm_machine.pgstate), not part of the guest's struct page.
 *  PGS_ALLOC_MASK: order + 1 of the allocation that starts at this frame (0: none);
 *  PGS_PCP:        the frame heads a block on some CPU's pcp list;
 *  PGS_RAM_DIRTY:  the frame's RAM may hold non-zero bytes (clear: all zero, so zeroing
 *                  it again can be skipped without changing what the guest sees);
 *  PGS_KERNEL:     the allocation that starts here is the kernel's own (a page table of
 *                  the direct map that split_large_page() took): only the kernel frees
 *                  it, a free_pages or put_page from outside is refused as a bad free (in
 *                  a real kernel such a free would hand out a page that still maps memory).
 *  PGS_SLAB:       the frame heads a slab or a kmalloc_large block (slab.c): only kfree()
 *                  or kmem_cache_free() may give it back.
 */
#define PGS_ALLOC_MASK 0x0fu
#define PGS_PCP 0x10u
#define PGS_RAM_DIRTY 0x20u
#define PGS_KERNEL 0x40u
#define PGS_SLAB 0x80u

/* Tail pages (include/linux/mm_types.h): compound_head = head | 1 aliases lru.next. The
 * host twin keeps the head pfn in lru_next and this marker in lru_prev; the first tail
 * keeps compound_order | compound_dtor << 8 in index and compound_mapcount in mapping. */
#define PFN_TAIL (UINT32_MAX - 1)
#define TAIL_MAPPING 0x400u
#define COMPOUND_PAGE_DTOR 1u
static inline bool PageTail(const struct page *p)
{
	return p->lru_prev == PFN_TAIL;
}
#define PageHead(p) PageFlag(p, PG_head)

/* Page lists linked through pfns (list_head on page->lru). @mm is the mem_map base. */
static inline void pfn_list_init(struct pfn_list *l)
{
	l->first = l->last = PFN_NIL;
}

static inline void pfn_list_add(struct page *mm, struct pfn_list *l, pfn_t pfn)
{
	struct page *p = &mm[pfn];

	p->lru_prev = PFN_NIL;
	p->lru_next = l->first;
	if (l->first != PFN_NIL)
		mm[l->first].lru_prev = pfn;
	else
		l->last = pfn;
	l->first = pfn;
}

static inline void pfn_list_add_tail(struct page *mm, struct pfn_list *l, pfn_t pfn)
{
	struct page *p = &mm[pfn];

	p->lru_next = PFN_NIL;
	p->lru_prev = l->last;
	if (l->last != PFN_NIL)
		mm[l->last].lru_next = pfn;
	else
		l->first = pfn;
	l->last = pfn;
}

static inline void pfn_list_del(struct page *mm, struct pfn_list *l, pfn_t pfn)
{
	struct page *p = &mm[pfn];

	if (p->lru_prev != PFN_NIL)
		mm[p->lru_prev].lru_next = p->lru_next;
	else
		l->first = p->lru_next;
	if (p->lru_next != PFN_NIL)
		mm[p->lru_next].lru_prev = p->lru_prev;
	else
		l->last = p->lru_prev;
	p->lru_next = p->lru_prev = PFN_NIL;
}

static inline bool pfn_list_empty(const struct pfn_list *l)
{
	return l->first == PFN_NIL;
}

#endif /* MM_PAGE_H */
