/* SPDX-License-Identifier: MIT */
/*
 * tlb.h - one CPU's translation lookaside buffer.
 *
 * Mirrors what the kernel must assume of x86 hardware (arch/x86/mm/tlb.c, asm/tlbflush.h):
 * translations are cached per CPU; a write to CR3 drops every entry except the global ones
 * (when CR4.PGE is set); invlpg drops the entries covering one address, global or not;
 * a full flush (toggling CR4.PGE, __flush_tlb_all) drops everything. Nothing else removes
 * an entry, so a page-table change the kernel does not flush stays invisible: the stale
 * entry keeps translating, as on real hardware.
 * The model: @nr entries for 4 KiB pages (rounded up to a power of two, at least 4),
 * 4-way set associative by virtual page number, and nr/8 (at least 4) fully associative
 * entries for large pages; LRU replacement.
 * Invariant: a valid entry caches a translation that was present and allowed when it was
 * filled; the counters count every lookup, fill and flush.
 */
#ifndef MM_TLB_H
#define MM_TLB_H

#include "types.h"

#define TLB_WAYS 4
#define TLB_DEFAULT_ENTRIES 64
#define TLB_MAX_ENTRIES 4096

struct tlb_entry {
	uint32_t vpn;	/* virtual address >> 12 of the page's start */
	uint32_t pfn;	/* physical address >> 12 of the page's start */
	uint32_t stamp; /* LRU clock at the last use */
	uint8_t shift;	/* 12, 21 or 22 */
	uint8_t valid : 1, rw : 1, user : 1, nx : 1, global : 1, dirty : 1;
};

struct tlb {
	unsigned int nr_small, nr_large; /* entries */
	uint32_t set_mask;		 /* nr_small / TLB_WAYS - 1 */
	struct tlb_entry *small;	 /* nr_small / TLB_WAYS sets of TLB_WAYS */
	struct tlb_entry *large;
	uint32_t clock;
	uint64_t hits, misses, fills, flushes, flushes_all, invlpgs, evictions;
};

int tlb_init(struct tlb *t, unsigned int entries, struct mm_host *host);
void tlb_finish(struct tlb *t);
/* The entry translating @va, or NULL; nothing changes (tlb_touch() records a use). */
static inline struct tlb_entry *tlb_peek(const struct tlb *t, uint32_t va)
{
	uint32_t vpn = va >> PAGE_SHIFT;
	struct tlb_entry *set = &t->small[(vpn & t->set_mask) * TLB_WAYS];
	unsigned int i;

	for (i = 0; i < TLB_WAYS; i++)
		if (set[i].valid && set[i].vpn == vpn)
			return &set[i];
	for (i = 0; i < t->nr_large; i++) {
		struct tlb_entry *e = &t->large[i];
		unsigned int sh = e->shift - PAGE_SHIFT;

		if (e->valid && (vpn >> sh) == (e->vpn >> sh))
			return e;
	}
	return NULL;
}

/* The physical address @e translates @va to. */
static inline uint64_t tlb_phys(const struct tlb_entry *e, uint32_t va)
{
	return ((uint64_t)e->pfn << PAGE_SHIFT) | (va & ((1u << e->shift) - 1));
}

/* A use of @e: it becomes the most recently used of its set. */
static inline void tlb_touch(struct tlb *t, struct tlb_entry *e)
{
	e->stamp = ++t->clock;
}
/* Cache a translation; evicts the least recently used entry of the set when full. */
struct tlb_entry *tlb_fill(struct tlb *t, uint32_t va, uint64_t phys, unsigned int shift, bool rw,
			   bool user, bool nx, bool global, bool dirty);
/* CR3 write: drop everything but global entries when @keep_global. */
void tlb_flush(struct tlb *t, bool keep_global);
/* invlpg: drop what covers @va. Returns the number dropped. */
unsigned int tlb_invlpg(struct tlb *t, uint32_t va);

#endif /* MM_TLB_H */
