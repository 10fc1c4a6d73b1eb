/* SPDX-License-Identifier: MIT */
/*
 * gfp.h - GFP masks: the bits, the composites, gfp_zone(), gfp_migratetype() and the
 * alloc_flags the page allocator derives from a mask.
 *
 * Mirrors: include/linux/gfp_types.h (bit values), include/linux/gfp.h (gfp_zone with
 * GFP_ZONE_TABLE, gfp_migratetype), mm/internal.h (ALLOC_* flags), mm/page_alloc.c
 * (gfp_to_alloc_flags), include/trace/events/mmflags.h (the %pGg names).
 * Invariant: every mask mmcore accepts fits in __GFP_BITS_SHIFT bits.
 */
#ifndef MM_GFP_H
#define MM_GFP_H

#include "types.h"

typedef uint32_t gfp_t;

#define __GFP_DMA 0x1u
#define __GFP_HIGHMEM 0x2u
#define __GFP_DMA32 0x4u
#define __GFP_MOVABLE 0x8u
#define __GFP_RECLAIMABLE 0x10u
#define __GFP_HIGH 0x20u
#define __GFP_IO 0x40u
#define __GFP_FS 0x80u
#define __GFP_ZERO 0x100u
#define __GFP_ATOMIC 0x200u
#define __GFP_DIRECT_RECLAIM 0x400u
#define __GFP_KSWAPD_RECLAIM 0x800u
#define __GFP_WRITE 0x1000u
#define __GFP_NOWARN 0x2000u
#define __GFP_RETRY_MAYFAIL 0x4000u
#define __GFP_NOFAIL 0x8000u
#define __GFP_NORETRY 0x10000u
#define __GFP_MEMALLOC 0x20000u
#define __GFP_COMP 0x40000u
#define __GFP_NOMEMALLOC 0x80000u
#define __GFP_HARDWALL 0x100000u
#define __GFP_THISNODE 0x200000u
#define __GFP_ACCOUNT 0x400000u
#define __GFP_ZEROTAGS 0x800000u
#define __GFP_BITS_SHIFT 27
#define __GFP_BITS_MASK ((1u << __GFP_BITS_SHIFT) - 1)

#define __GFP_RECLAIM (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
/* mm/internal.h: the bits that only steer watermarks and reclaim, not placement (6.1 also
 * has __GFP_NOLOCKDEP, which mm32 does not model) */
#define GFP_RECLAIM_MASK                                                                           \
	(__GFP_RECLAIM | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_NOWARN | __GFP_RETRY_MAYFAIL |   \
	 __GFP_NOFAIL | __GFP_NORETRY | __GFP_MEMALLOC | __GFP_NOMEMALLOC | __GFP_ATOMIC)
#define GFP_ZONEMASK (__GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE)
#define GFP_MOVABLE_MASK (__GFP_RECLAIMABLE | __GFP_MOVABLE)
#define GFP_MOVABLE_SHIFT 3

#define GFP_ATOMIC (__GFP_HIGH | __GFP_ATOMIC | __GFP_KSWAPD_RECLAIM)
#define GFP_KERNEL (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_KERNEL_ACCOUNT (GFP_KERNEL | __GFP_ACCOUNT)
#define GFP_NOWAIT (__GFP_KSWAPD_RECLAIM)
#define GFP_NOIO (__GFP_RECLAIM)
#define GFP_NOFS (__GFP_RECLAIM | __GFP_IO)
#define GFP_USER (__GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL)
#define GFP_DMA __GFP_DMA
#define GFP_DMA32 __GFP_DMA32
#define GFP_HIGHUSER (GFP_USER | __GFP_HIGHMEM)
#define GFP_HIGHUSER_MOVABLE (GFP_HIGHUSER | __GFP_MOVABLE)
#define GFP_TRANSHUGE_LIGHT                                                                        \
	((GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM)
#define GFP_TRANSHUGE (GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM)

/* alloc_flags (mm/internal.h, 6.1 names) */
#define ALLOC_WMARK_MIN 0u
#define ALLOC_WMARK_LOW 1u
#define ALLOC_WMARK_HIGH 2u
#define ALLOC_NO_WATERMARKS 0x04u
#define ALLOC_WMARK_MASK (ALLOC_NO_WATERMARKS - 1)
#define ALLOC_OOM 0x08u
#define ALLOC_HARDER 0x10u
#define ALLOC_HIGH 0x20u
#define ALLOC_CPUSET 0x40u
#define ALLOC_CMA 0x80u
#define ALLOC_NOFRAGMENT 0x0u /* needs ZONE_DMA32: never on i386 */
#define ALLOC_KSWAPD 0x800u

/* gfp_to_alloc_flags() of the slow path (no RT task, no cpusets in mm32). */
unsigned int gfp_to_alloc_flags(gfp_t gfp);
/* gfp_zone(): the highest zone index the mask may use; gfp_zone_bad(): the zone bits
 * combine in a way the kernel calls bad; gfp_migratetype(): UNMOVABLE, MOVABLE or
 * RECLAIMABLE from the mobility bits. */
#define GFP_ZONE_TABLE 0x1310121u
#define GFP_ZONES_SHIFT 2
#define GFP_ZONE_BAD 0xe8e8u

static inline unsigned int gfp_zone(gfp_t gfp)
{
	unsigned int bit = gfp & GFP_ZONEMASK;

	return (GFP_ZONE_TABLE >> (bit * GFP_ZONES_SHIFT)) & ((1u << GFP_ZONES_SHIFT) - 1);
}

static inline bool gfp_zone_bad(gfp_t gfp)
{
	return (GFP_ZONE_BAD >> (gfp & GFP_ZONEMASK)) & 1;
}

/*
 * Both mobility bits: gfp_migratetype() warns (VM_WARN_ON) and would give 3, which is
 * MIGRATE_HIGHATOMIC, a type no caller may ask for (the kernel's fallbacks[] has no row for
 * it; mm32's __rmqueue() looped on it without end: found by fuzz-commands). Refused, like
 * GFP_ZONE_BAD.
 */
static inline bool gfp_migratetype_bad(gfp_t gfp)
{
	return (gfp & GFP_MOVABLE_MASK) == GFP_MOVABLE_MASK;
}

static inline unsigned int gfp_migratetype(gfp_t gfp, bool mobility_disabled)
{
	if (mobility_disabled)
		return MIGRATE_UNMOVABLE;
	return (gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT;
}

/* -EINVAL (named) for a mask the allocators refuse outright, else 0 (gfp.c). */
struct mm_error;
int gfp_check_mask(gfp_t gfp, struct mm_error *err);

#endif /* MM_GFP_H */
