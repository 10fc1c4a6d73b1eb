/* SPDX-License-Identifier: MIT */
/*
 * frame.c - the page frame seen from outside: where a frame is (free block, pcp list,
 * allocation, reserved), its struct page decoded as the kernel keeps it, and the calls a
 * page's user makes: alloc_pages(), free_pages(), get_page(), put_page().
 *
 * Mirrors: include/linux/mm_types.h and page-flags.h (the descriptor), mm/page_alloc.c
 * (__alloc_pages, __free_pages, free_pages_prepare's bad_page checks), mm/swap.c and
 * include/linux/mm.h (get_page, put_page, compound_head, compound_order).
 *
 * The kernel trusts the callers of free_pages(): a double free or a wrong order corrupts
 * it, and bad_page() only catches some of it. mm32 refuses every such call before touching
 * anything, using the host-only pgstate bytes (page.h): the order of each allocation, and
 * which frames head pcp blocks. So a refused call leaves the machine exactly as it was.
 * Invariant: for every frame, mm_frame_state() agrees with what check.c reconstructs from
 * the lists.
 */
#include <stdio.h>
#include <string.h>

#include "machine.h"
#include "mmdebug.h"
#include "page_alloc.h"
#include "host.h"
#include "snapshot.h"

static const char *const state_names[MM_NR_FRAME_STATES] = {
	"absent", "reserved", "buddy",	   "buddy_tail",
	"pcp",	  "pcp_tail", "allocated", "allocated_tail",
};

const char *mm_frame_state_name(int state)
{
	return state >= 0 && state < MM_NR_FRAME_STATES ? state_names[state] : "?";
}

/* %pGp names (include/trace/events/mmflags.h) */
static const char *const pageflag_names[NR_PAGEFLAGS] = {
	"locked",     "referenced", "uptodate",	   "dirty",	"lru",		"active",
	"workingset", "waiters",    "error",	   "slab",	"owner_priv_1", "arch_1",
	"reserved",   "private",    "private_2",   "writeback", "head",		"mappedtodisk",
	"reclaim",    "swapbacked", "unevictable", "mlocked",	"uncached",	"hwpoison",
};

const char *mm_pageflag_name(unsigned int bit)
{
	return bit < NR_PAGEFLAGS ? pageflag_names[bit] : NULL;
}

uint32_t mm_max_pfn(const struct mm_machine *m)
{
	return m->layout.max_pfn;
}

static unsigned int pgs_order(uint8_t s)
{
	return (s & PGS_ALLOC_MASK) - 1u;
}

static bool is_alloc_head(uint8_t s)
{
	return (s & PGS_ALLOC_MASK) && !(s & PGS_PCP);
}

/* The block holding @pfn: *block and *order; returns the state. */
static int frame_state(const struct mm_machine *m, pfn_t pfn, pfn_t *block, int *order)
{
	const struct page *p = &m->mem_map[pfn];
	unsigned int k;

	*block = pfn;
	*order = -1;
	if (PageReserved(p)) {
		const struct memblock_type *mem = &m->memblock.memory;
		phys_addr_t pa = PFN_PHYS(pfn);
		unsigned int i;

		for (i = 0; i < mem->cnt; i++)
			if (pa >= mem->regions[i].base &&
			    pa < mem->regions[i].base + mem->regions[i].size)
				return MM_FRAME_RESERVED;
		return MM_FRAME_ABSENT;
	}
	if (PageBuddy(p)) {
		*order = (int)p->private;
		return MM_FRAME_BUDDY;
	}
	if (m->pgstate[pfn] & PGS_PCP) {
		*order = (int)pgs_order(m->pgstate[pfn]);
		return MM_FRAME_PCP;
	}
	if (is_alloc_head(m->pgstate[pfn])) {
		*order = (int)pgs_order(m->pgstate[pfn]);
		return MM_FRAME_ALLOCATED;
	}
	for (k = 1; k < MAX_ORDER; k++) {
		pfn_t h = pfn & ~((1u << k) - 1);
		const struct page *hp = &m->mem_map[h];
		uint8_t s = m->pgstate[h];

		if (PageBuddy(hp) && hp->private >= k) {
			*block = h;
			*order = (int)hp->private;
			return MM_FRAME_BUDDY_TAIL;
		}
		if ((s & PGS_ALLOC_MASK) && pgs_order(s) >= k) {
			*block = h;
			*order = (int)pgs_order(s);
			return (s & PGS_PCP) ? MM_FRAME_PCP_TAIL : MM_FRAME_ALLOCATED_TAIL;
		}
	}
	return MM_FRAME_ALLOCATED; /* referenced without an allocation record: never so */
}

int mm_get_frame(const struct mm_machine *m, uint32_t pfn, struct mm_frame_info *out,
		 struct mm_error *err)
{
	const struct page *p;
	pfn_t block;
	int order;
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "struct page (mem_map)", err);

	if (pfn >= m->layout.max_pfn)
		return mm_set_error(err, -EINVAL, "pfn %#x is beyond max_pfn %#x", pfn,
				    m->layout.max_pfn);
	p = &m->mem_map[pfn];
	memset(out, 0, sizeof(*out));
	out->pfn = pfn;
	out->phys = PFN_PHYS(pfn);
	out->state = frame_state(m, pfn, &block, &order);
	out->flags = p->flags;
	out->refcount = p->_refcount;
	out->mapcount = p->_mapcount;
	out->page_type = (uint32_t)p->_mapcount;
	if (PageBuddy(p))
		out->page_type_name = "buddy";
	else if (((uint32_t)p->_mapcount & (PAGE_TYPE_BASE | PG_table)) == PAGE_TYPE_BASE)
		out->page_type_name = "table";
	out->mapping = p->mapping;
	/* the first tail keeps compound_order/dtor in the host twin's index; the guest's
	 * index word there is compound_pincount, 0 */
	out->index = PageTail(p) && p->lru_next + 1 == pfn ? 0 : p->index;
	out->private = p->private;
	out->zone = (int)page_zonenum(p);
	out->pageblock_migratetype = (int)get_pfnblock_migratetype(
		&m->pgdat.node_zones[page_zonenum(p)], pfn, m->geo.pageblock_order);
	out->buddy_order = PageBuddy(p) ? (int)p->private : -1;
	out->free_list_migratetype = PageBuddy(p) ? (int)p->index : -1;
	out->block_pfn = order >= 0 ? (int)block : -1;
	out->block_order = order;
	out->pcp_cpu = -1;
	if (out->state == MM_FRAME_PCP || out->state == MM_FRAME_PCP_TAIL) {
		const struct zone *z = &m->pgdat.node_zones[page_zonenum(p)];
		unsigned int cpu, k;

		for (cpu = 0; cpu < m->pgdat.nr_cpus && out->pcp_cpu < 0; cpu++)
			for (k = 0; k < NR_PCP_LISTS && out->pcp_cpu < 0; k++)
				for (pfn_t i = z->pcp[cpu].lists[k].first; i != PFN_NIL;
				     i = m->mem_map[i].lru_next)
					if (i == block) {
						out->pcp_cpu = (int)cpu;
						break;
					}
	}
	out->head = PageHead(p);
	out->tail = PageTail(p);
	out->compound_head = out->tail ? p->lru_next : pfn;
	if (out->head)
		out->compound_order = (int)(m->mem_map[pfn + 1].index & 0xff);
	else if (out->tail)
		out->compound_order = (int)(m->mem_map[p->lru_next + 1].index & 0xff);
	out->lowmem = pfn < m->layout.max_low_pfn;
	out->vaddr = page_address(m, pfn); /* a kmapped highmem page has one too */
	if (PageFlag(p, PG_slab)) {
		/* struct slab overlays struct page: slab_cache in mapping, freelist in index,
		 * counters (inuse:16, objects:15, frozen:1) in private */
		const struct kmem_cache *s = slab_cache_of(m, p->mapping);

		out->slab_cache = s ? s->name : NULL;
		out->slab_inuse = (int)SLAB_INUSE(p);
		out->slab_objects = (int)SLAB_OBJECTS(p);
		out->slab_frozen = SLAB_FROZEN(p);
		out->slab_freelist = p->index;
	}
	out->kmalloc_large = !PageFlag(p, PG_slab) && (m->pgstate[pfn] & PGS_SLAB);
	out->kernel_own = (m->pgstate[pfn] & PGS_KERNEL) != 0;
	return 0;
}

void mm_get_alloc_events(const struct mm_machine *m, struct mm_alloc_events *out)
{
	*out = m->events;
}

/* ---- alloc_pages / free_pages / get_page / put_page ---------------------------------- */

/* Why __alloc_pages() gave nothing (kept out of mm_alloc_pages(): its buffer and its
 * formatting would weigh on every call). */
static int alloc_failed(mm_gfp_t gfp, unsigned int order, bool forever, struct mm_error *err)
{
	char mask[256];

	mm_gfp_format(gfp, mask, sizeof(mask));
	if (forever)
		return mm_set_error(err, -ENOSPC,
				    "page allocation order:%u, mode:%#x(%s) cannot be "
				    "satisfied: the kernel would retry this __GFP_NOFAIL "
				    "allocation for ever (reclaim and the OOM killer are not "
				    "modelled yet)",
				    order, gfp, mask);
	return mm_set_error(err, -ENOSPC,
			    "page allocation failure: order:%u, mode:%#x(%s): no zone up to "
			    "%s can give it without dipping below what the mask may use, "
			    "and reclaim made no progress",
			    order, gfp, mask, mm_zone_name((int)gfp_zone(gfp)));
}

/* mm_alloc_pages()'s refusals, in the order it makes them: 0 when none applies. */
static int alloc_refused(const struct mm_machine *m, unsigned int cpu, mm_gfp_t gfp,
			 unsigned int order, struct mm_error *err)
{
	if (m->tainted) /* it refuses every change (mmdebug.h) */
		return mm_warned(m, err);
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "the page allocator", err);

	if (cpu >= m->pgdat.nr_cpus)
		return mm_set_error(err, -EINVAL, "cpu %u does not exist (the machine has %u)", cpu,
				    m->pgdat.nr_cpus);
	if (order >= MAX_ORDER)
		return mm_set_error(err, -EINVAL, "order %u is not below MAX_ORDER (%u)", order,
				    MAX_ORDER);
	/* prepare_alloc_pages(): might_sleep_if(gfp & __GFP_DIRECT_RECLAIM) */
	if ((gfp & __GFP_DIRECT_RECLAIM) && highmem_in_atomic(&m->hm, cpu))
		return mm_set_error(err, -EDEADLK,
				    "BUG: sleeping function called from invalid context: "
				    "alloc_pages() may sleep (__GFP_DIRECT_RECLAIM), and CPU %u is "
				    "in atomic context",
				    cpu);
	return gfp_check_mask(gfp, err);
}

/* What mm_alloc_pages() answers for the block it got at @pfn. */
static inline void alloc_result(const struct mm_machine *m, pfn_t pfn, mm_gfp_t gfp,
				unsigned int order, struct mm_page_alloc *out)
{
	out->pfn = pfn;
	out->order = order;
	out->zone = (int)page_zonenum(&m->mem_map[pfn]);
	out->migratetype = (int)gfp_migratetype(gfp, m->pgdat.page_group_by_mobility_disabled);
	out->lowmem = pfn < m->layout.max_low_pfn;
	out->vaddr = out->lowmem ? PAGE_OFFSET + (pfn << PAGE_SHIFT) : 0;
}

/* mm_alloc_pages() past its refusals, without alloc_page_pcp(): alloc_page_fast() at order
 * 0, __alloc_pages() when that gives nothing, then the answer. */
static int __attribute__((noinline))
alloc_pages_full(struct mm_machine *m, unsigned int cpu, mm_gfp_t gfp, unsigned int order,
		 struct mm_page_alloc *out, struct mm_error *err)
{
	bool forever = false;
	pfn_t pfn;

	pfn = order ? PFN_NIL : alloc_page_fast(m, gfp, cpu);
	if (pfn == PFN_NIL && !m->tainted)
		pfn = __alloc_pages(m, gfp, order, cpu, &forever);
	if (m->tainted) /* a precondition of the allocator failed on the way */
		return mm_warned(m, err);
	if (pfn == PFN_NIL)
		return alloc_failed(gfp, order, forever, err);
	alloc_result(m, pfn, gfp, order, out);
	return 0;
}

/* mm_alloc_pages() for a call its common case does not take: the refusals, then the rest. */
static int __attribute__((noinline))
alloc_pages_checked(struct mm_machine *m, unsigned int cpu, mm_gfp_t gfp, unsigned int order,
		    struct mm_page_alloc *out, struct mm_error *err)
{
	int r = alloc_refused(m, cpu, gfp, order, err);

	if (r)
		return r;
	return alloc_pages_full(m, cpu, gfp, order, out, err);
}

/*
 * The common call (order 0, a machine that may allocate, a mask with nothing to refuse, a
 * pcp list ready to give a page) is served by alloc_page_pcp() inline and calls nothing;
 * any other goes on to the full path, the refusals one by one first, so that the answer to
 * every call is the same whichever way it came.
 */
int mm_alloc_pages(struct mm_machine *m, unsigned int cpu, mm_gfp_t gfp, unsigned int order,
		   struct mm_page_alloc *out, struct mm_error *err)
{
	pfn_t pfn;

	if (order || m->tainted || m->phase < MM_PHASE_BUDDY || cpu >= m->pgdat.nr_cpus ||
	    (gfp & ~__GFP_BITS_MASK) || gfp_zone_bad(gfp) || gfp_migratetype_bad(gfp) ||
	    ((gfp & __GFP_DIRECT_RECLAIM) && highmem_in_atomic(&m->hm, cpu)))
		return alloc_pages_checked(m, cpu, gfp, order, out, err);
	pfn = alloc_page_pcp(m, gfp, cpu);
	if (pfn == PFN_NIL)
		return alloc_pages_full(m, cpu, gfp, 0, out, err);
	alloc_result(m, pfn, gfp, 0, out);
	return 0;
}

/* The checks free_pages_prepare()/bad_page() would make, and the ones the kernel cannot. */
static int check_free(const struct mm_machine *m, pfn_t pfn, const char *what, struct mm_error *err)
{
	const struct page *p;
	pfn_t block;
	int order, state;

	if (pfn >= m->layout.max_pfn)
		return mm_set_error(err, -EINVAL, "%s: pfn %#x is beyond max_pfn %#x", what, pfn,
				    m->layout.max_pfn);
	p = &m->mem_map[pfn];
	state = frame_state(m, pfn, &block, &order);
	switch (state) {
	case MM_FRAME_ABSENT:
		return mm_set_error(err, -EINVAL, "%s: pfn %#x is not RAM (a hole in the e820 map)",
				    what, pfn);
	case MM_FRAME_RESERVED:
		return mm_set_error(err, -EBUSY,
				    "%s: bad_page: PAGE_FLAGS_CHECK_AT_FREE flag(s) set: pfn %#x "
				    "is PG_reserved",
				    what, pfn);
	case MM_FRAME_BUDDY:
	case MM_FRAME_BUDDY_TAIL:
		return mm_set_error(err, -EBUSY,
				    "%s: double free: pfn %#x is already free (in the buddy "
				    "allocator, order-%d block at pfn %#x)",
				    what, pfn, order, block);
	case MM_FRAME_PCP:
	case MM_FRAME_PCP_TAIL:
		return mm_set_error(err, -EBUSY,
				    "%s: double free: pfn %#x is already free (on a per-CPU "
				    "list, order-%d block at pfn %#x)",
				    what, pfn, order, block);
	case MM_FRAME_ALLOCATED_TAIL:
		if (PageTail(p))
			return mm_set_error(err, -EINVAL,
					    "%s: pfn %#x is a tail page of the compound page at "
					    "pfn %#x (order %d); free its head",
					    what, pfn, p->lru_next, order);
		return mm_set_error(err, -EINVAL,
				    "%s: pfn %#x is inside the order-%d allocation at pfn %#x; "
				    "free that pfn",
				    what, pfn, order, block);
	default:
		break;
	}
	if (m->pgstate[pfn] & PGS_KERNEL) {
		char why[160];

		if (vmalloc_kernel_page(m, pfn, why, sizeof(why)))
			return mm_set_error(err, -EBUSY,
					    "%s: pfn %#x is the kernel's own: %s; freeing it would "
					    "hand out a page the kernel still uses",
					    what, pfn, why);
		return mm_set_error(
			err, -EBUSY,
			"%s: pfn %#x is the kernel's own: a page table of the direct map "
			"(split_large_page() allocated it); freeing it would hand out a "
			"page that still maps memory",
			what, pfn);
	}
	if (m->pgstate[pfn] & PGS_SLAB)
		return mm_set_error(err, -EBUSY,
				    "%s: pfn %#x belongs to the slab allocator (%s): its objects "
				    "go back with kfree() or kmem_cache_free()",
				    what, pfn,
				    PageFlag(p, PG_slab) ? "a slab, PG_slab" : "a kmalloc'd block");
	if (!is_alloc_head(m->pgstate[pfn]) || p->_refcount <= 0)
		return mm_set_error(err, -EBUSY, "%s: pfn %#x has refcount %d and no allocation",
				    what, pfn, p->_refcount);
	if (p->_mapcount != -1)
		return mm_set_error(err, -EBUSY, "%s: bad_page: nonzero mapcount on pfn %#x", what,
				    pfn);
	if (p->_refcount == 1 && highmem_block_mapped(m, pfn, pgs_order(m->pgstate[pfn]),
						      m->layout.max_low_pfn) != PFN_NIL)
		return mm_set_error(err, -EBUSY,
				    "%s: pfn %#x is still mapped by kmap() or kmap_local (at pfn "
				    "%#x): unmap it first",
				    what, pfn,
				    highmem_block_mapped(m, pfn, pgs_order(m->pgstate[pfn]),
							 m->layout.max_low_pfn));
	return 0;
}

/* mm_free_pages() for a call its common case does not take: every check in its order. */
static int __attribute__((noinline))
free_pages_checked(struct mm_machine *m, unsigned int cpu, uint32_t pfn, unsigned int order,
		   bool *freed, struct mm_error *err)
{
	unsigned int alloc_order;
	int r;

	if (m->tainted) /* it refuses every change (mmdebug.h) */
		return mm_warned(m, err);
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "the page allocator", err);
	/* an order-0 page with one reference, as alloc_pages() gave it: straight to pcp */
	if (!order && cpu < m->pgdat.nr_cpus && pfn < m->layout.max_pfn &&
	    (m->pgstate[pfn] & (PGS_ALLOC_MASK | PGS_PCP | PGS_KERNEL | PGS_SLAB)) == 1 &&
	    m->mem_map[pfn]._refcount == 1 && m->mem_map[pfn]._mapcount == -1 &&
	    !PageReserved(&m->mem_map[pfn]) &&
	    highmem_block_mapped(m, pfn, 0, m->layout.max_low_pfn) == PFN_NIL) {
		if (freed)
			*freed = true;
		free_page_fast(m, pfn, cpu);
		return m->tainted ? mm_warned(m, err) : 0;
	}
	if (cpu >= m->pgdat.nr_cpus)
		return mm_set_error(err, -EINVAL, "cpu %u does not exist (the machine has %u)", cpu,
				    m->pgdat.nr_cpus);
	if (order >= MAX_ORDER)
		return mm_set_error(err, -EINVAL,
				    "free_pages: order %u is not below MAX_ORDER (%u)", order,
				    MAX_ORDER);
	/* the common case needs none of check_free()'s diagnosis */
	if (pfn >= m->layout.max_pfn || !is_alloc_head(m->pgstate[pfn]) ||
	    (m->pgstate[pfn] & (PGS_KERNEL | PGS_SLAB)) || PageReserved(&m->mem_map[pfn]) ||
	    m->mem_map[pfn]._refcount <= 0 || m->mem_map[pfn]._mapcount != -1 ||
	    (m->mem_map[pfn]._refcount == 1 &&
	     highmem_block_mapped(m, pfn, pgs_order(m->pgstate[pfn]), m->layout.max_low_pfn) !=
		     PFN_NIL)) {
		r = check_free(m, pfn, "free_pages", err);
		if (r)
			return r;
	}
	alloc_order = pgs_order(m->pgstate[pfn]);
	if (order != alloc_order)
		return mm_set_error(err, -EINVAL,
				    "free_pages: wrong order: pfn %#x was allocated with order %u, "
				    "not %u",
				    pfn, alloc_order, order);
	if (freed)
		*freed = m->mem_map[pfn]._refcount == 1 || (!PageHead(&m->mem_map[pfn]) && order);
	__free_pages(m, pfn, order, cpu);
	return mm_warned(m, err);
}

/*
 * The common call (order 0, a lowmem page with one reference, as alloc_pages() gave it,
 * that free_page_pcp() can queue without a drain) calls nothing; any other goes through
 * every check in free_pages_checked(), which then frees it as the full path does.
 */
int mm_free_pages(struct mm_machine *m, unsigned int cpu, uint32_t pfn, unsigned int order,
		  bool *freed, struct mm_error *err)
{
	if (!order && !m->tainted && m->phase >= MM_PHASE_BUDDY && cpu < m->pgdat.nr_cpus &&
	    pfn < m->layout.max_low_pfn && pfn < m->layout.max_pfn &&
	    (m->pgstate[pfn] & (PGS_ALLOC_MASK | PGS_PCP | PGS_KERNEL | PGS_SLAB)) == 1 &&
	    m->mem_map[pfn]._refcount == 1 && m->mem_map[pfn]._mapcount == -1 &&
	    !PageReserved(&m->mem_map[pfn]) && free_page_pcp(m, pfn, cpu)) {
		if (freed)
			*freed = true;
		return 0;
	}
	return free_pages_checked(m, cpu, pfn, order, freed, err);
}

static pfn_t compound_head(const struct mm_machine *m, pfn_t pfn)
{
	return PageTail(&m->mem_map[pfn]) ? m->mem_map[pfn].lru_next : pfn;
}

int mm_get_page(struct mm_machine *m, uint32_t pfn, int *refcount, struct mm_error *err)
{
	struct page *p;
	if (m->tainted) /* it refuses every change (mmdebug.h) */
		return mm_warned(m, err);
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "struct page (mem_map)", err);

	if (pfn >= m->layout.max_pfn)
		return mm_set_error(err, -EINVAL, "get_page: pfn %#x is beyond max_pfn %#x", pfn,
				    m->layout.max_pfn);
	p = &m->mem_map[compound_head(m, pfn)];
	if (p->_refcount <= 0)
		return mm_set_error(err, -EBUSY,
				    "get_page: pfn %#x has refcount 0 (free, or inside a "
				    "non-compound allocation): the kernel's VM_BUG_ON_PAGE",
				    pfn);
	p->_refcount++;
	if (refcount)
		*refcount = p->_refcount;
	return 0;
}

int mm_put_page(struct mm_machine *m, unsigned int cpu, uint32_t pfn, int *refcount, bool *freed,
		struct mm_error *err)
{
	pfn_t head;
	struct page *p;
	if (m->tainted) /* it refuses every change (mmdebug.h) */
		return mm_warned(m, err);
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "the page allocator", err);

	if (cpu >= m->pgdat.nr_cpus)
		return mm_set_error(err, -EINVAL, "cpu %u does not exist (the machine has %u)", cpu,
				    m->pgdat.nr_cpus);
	if (pfn >= m->layout.max_pfn)
		return mm_set_error(err, -EINVAL, "put_page: pfn %#x is beyond max_pfn %#x", pfn,
				    m->layout.max_pfn);
	head = compound_head(m, pfn);
	p = &m->mem_map[head];
	if (p->_refcount <= 0)
		return mm_set_error(err, -EBUSY,
				    "put_page: pfn %#x has refcount 0 (free, or inside a "
				    "non-compound allocation)",
				    pfn);
	if (p->_refcount == 1) {
		int r = check_free(m, head, "put_page", err);

		if (r)
			return r;
		if (!PageHead(p) && pgs_order(m->pgstate[head]) > 0)
			return mm_set_error(
				err, -EBUSY,
				"put_page: the last reference of a non-compound order-%u "
				"block at pfn %#x would free only its first page (the "
				"kernel leaks the rest); use free_pages with order %u",
				pgs_order(m->pgstate[head]), head, pgs_order(m->pgstate[head]));
		free_pages_prepared(m, head, pgs_order(m->pgstate[head]), cpu);
		if (refcount)
			*refcount = 0;
		if (freed)
			*freed = true;
		return mm_warned(m, err);
	}
	p->_refcount--;
	if (refcount)
		*refcount = p->_refcount;
	if (freed)
		*freed = false;
	return 0;
}

int mm_drain_all_pages(struct mm_machine *m, struct mm_error *err)
{
	if (m->tainted) /* it refuses every change (mmdebug.h) */
		return mm_warned(m, err);
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "the per-CPU page lists", err);
	drain_all_pages(m);
	return mm_warned(m, err);
}

/* ---- snapshot section PAGE: mem_map, every struct page, and the host's pgstate --------- */

#define PAGE_RECORD 32u /* the eight words of a struct page */
#define PAGE_CHUNK 128u

/*
 * PAGE v2: mem_map_pfns, then each struct page's eight words; pgstate_pfns, then each
 * frame's host state without PGS_RAM_DIRTY (the frames loaded later set it again).
 * PAGE v1 (before PGS_KERNEL): the same bytes, no PGS_KERNEL bit; the loaded machine gets
 * the bit back from its page tables once its frames are in (mm_snapshot_finish()).
 * PAGE v3 adds PGS_SLAB (slab.c); v1 and v2 never have it (no slab before v3).
 */
void mem_map_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	uint8_t chunk[1024], rec[PAGE_CHUNK * PAGE_RECORD];
	pfn_t pfn;

	snap_put_u32(o, m->mem_map ? m->mem_map_pfns : 0);
	if (o->frames_shared) { /* a clone's stream (clone.c): the clone maps them */
		snap_put_u32(o, m->pgstate_pfns);
		return;
	}
	if (m->mem_map && snap_counting(o))
		snap_put_skip(o, (uint64_t)m->mem_map_pfns * PAGE_RECORD);
	for (pfn = 0; m->mem_map && !snap_counting(o) && pfn < m->mem_map_pfns; pfn += PAGE_CHUNK) {
		unsigned int n = MM_MIN(PAGE_CHUNK, m->mem_map_pfns - pfn), k;

		for (k = 0; k < n; k++) {
			const struct page *p = &m->mem_map[pfn + k];
			uint8_t *r = rec + k * PAGE_RECORD;

			snap_le32(r, p->flags);
			snap_le32(r + 4, (uint32_t)p->_refcount);
			snap_le32(r + 8, (uint32_t)p->_mapcount);
			snap_le32(r + 12, p->private);
			snap_le32(r + 16, p->lru_next);
			snap_le32(r + 20, p->lru_prev);
			snap_le32(r + 24, p->index);
			snap_le32(r + 28, p->mapping);
		}
		snap_put_bytes(o, rec, (size_t)n * PAGE_RECORD);
	}
	snap_put_u32(o, m->pgstate_pfns);
	if (snap_counting(o))
		snap_put_skip(o, m->pgstate_pfns);
	for (pfn = 0; !snap_counting(o) && pfn < m->pgstate_pfns; pfn += sizeof(chunk)) {
		size_t n = MM_MIN(sizeof(chunk), (size_t)(m->pgstate_pfns - pfn)), k;

		for (k = 0; k < n; k++)
			chunk[k] = m->pgstate[pfn + k] & (uint8_t)~PGS_RAM_DIRTY;
		snap_put_bytes(o, chunk, n);
	}
}

/* A clone's PAGE (clone.c): mem_map copy-on-write from the template's file, pgstate copied
 * whole (the "RAM may be non-zero" hints included: the clone's RAM is the template's). */
static int clone_mem_map(struct mm_machine *m, const struct mm_machine *src, pfn_t n,
			 struct snap_in *in)
{
	pfn_t ps = snap_get_u32(in);

	if (in->ret)
		return in->ret;
	if (n != (src->mem_map ? src->mem_map_pfns : 0) || ps != src->pgstate_pfns)
		return snap_corrupt(in, "a clone's frames differ from its template's");
	if (n) {
		m->mem_map = host_map_cow(m->host, src->share->fd, src->share->mem_map_off,
					  src->mem_map_bytes);
		if (!m->mem_map)
			return snap_nomem(in, "mem_map");
		m->mem_map_bytes = src->mem_map_bytes;
		m->mem_map_pfns = n;
	}
	m->pgstate = host_calloc(m->host, ps ? ps : 1, 1);
	if (!m->pgstate)
		return snap_nomem(in, "pgstate");
	m->pgstate_pfns = ps;
	memcpy(m->pgstate, src->pgstate, ps);
	return 0;
}

static bool link_ok(const struct mm_machine *m, pfn_t link)
{
	return link < m->mem_map_pfns || link == PFN_NIL || link == PFN_TAIL;
}

/*
 * mem_map exists from the buddy phase on and covers max_pfn in whole MAX_ORDER blocks;
 * every lru link is a frame of it or a sentinel; pgstate covers all RAM and all of mem_map.
 */
int mem_map_snap_load(struct mm_machine *m, struct snap_in *in)
{
	uint8_t rec[PAGE_CHUNK * PAGE_RECORD];
	pfn_t pfn, n = snap_get_count(in, 1u << 25, "mem_map's frames");

	if (in->ret)
		return in->ret;
	if ((m->phase >= MM_PHASE_BUDDY) != (n != 0) || n % MAX_ORDER_NR_PAGES ||
	    (n && n < m->layout.max_pfn))
		return snap_corrupt(in, "mem_map of %u frames in boot phase '%s' (max_pfn %#x)", n,
				    mm_boot_phase_name(m->phase), m->layout.max_pfn);
	if (in->share_src)
		return clone_mem_map(m, in->share_src, n, in);
	if (n) {
		m->mem_map = host_map(m->host, (size_t)n * sizeof(struct page));
		if (!m->mem_map)
			return snap_nomem(in, "mem_map");
		m->mem_map_bytes = (size_t)n * sizeof(struct page);
		m->mem_map_pfns = n;
	}
	for (pfn = 0; pfn < n; pfn += PAGE_CHUNK) {
		unsigned int c = MM_MIN(PAGE_CHUNK, n - pfn), k;

		if (snap_get_bytes(in, rec, (size_t)c * PAGE_RECORD))
			return in->ret;
		for (k = 0; k < c; k++) {
			struct page *p = &m->mem_map[pfn + k];
			const uint8_t *r = rec + k * PAGE_RECORD;

			p->flags = snap_from_le32(r);
			p->_refcount = (int32_t)snap_from_le32(r + 4);
			p->_mapcount = (int32_t)snap_from_le32(r + 8);
			p->private = snap_from_le32(r + 12);
			p->lru_next = snap_from_le32(r + 16);
			p->lru_prev = snap_from_le32(r + 20);
			p->index = snap_from_le32(r + 24);
			p->mapping = snap_from_le32(r + 28);
			if (!link_ok(m, p->lru_next) || !link_ok(m, p->lru_prev))
				return snap_corrupt(in, "pfn %#x links to %#x/%#x, beyond mem_map",
						    pfn + k, p->lru_next, p->lru_prev);
		}
	}
	n = snap_get_count(in, 1u << 25, "pgstate's frames");
	if (in->ret)
		return in->ret;
	if (n % MAX_ORDER_NR_PAGES || n < m->mem_map_pfns || n < (m->ram_size >> PAGE_SHIFT))
		return snap_corrupt(in, "pgstate of %u frames for %u of mem_map and %llu of RAM", n,
				    m->mem_map_pfns,
				    (unsigned long long)(m->ram_size >> PAGE_SHIFT));
	m->pgstate = host_calloc(m->host, n ? n : 1, 1);
	if (!m->pgstate)
		return snap_nomem(in, "pgstate");
	m->pgstate_pfns = n;
	if (snap_get_bytes(in, m->pgstate, n))
		return in->ret;
	for (pfn = 0; pfn < n; pfn++) {
		uint8_t s = m->pgstate[pfn];

		if (s & ~(PGS_ALLOC_MASK | PGS_PCP | (in->version >= 2 ? PGS_KERNEL : 0) |
			  (in->version >= 3 ? PGS_SLAB : 0)))
			return snap_corrupt(in, "pfn %#x has host state %#x", pfn, s);
		/* the kernel's own: the head of an order-0 allocation, never on a pcp list */
		if ((s & PGS_KERNEL) && (s & (PGS_ALLOC_MASK | PGS_PCP)) != 1)
			return snap_corrupt(in, "pfn %#x is the kernel's but has host state %#x",
					    pfn, s);
	}
	if (in->version < 2 && n)
		m->snap_migrate |= SNAP_MIGRATE_PGS_KERNEL;
	return 0;
}
