/* SPDX-License-Identifier: MIT */
/*
 * types.h - the basic types and constants of an i386 kernel, as mmcore uses them.
 *
 * Mirrors: arch/x86/include/asm/page_types.h, page_32_types.h, include/linux/mmzone.h.
 * A pfn is a 32-bit page frame number (PAE reaches 64 GiB = 2^24 frames); a physical
 * address is 64-bit so that PAE addresses above 4 GiB fit. Lists of pages are linked
 * through pfns, not pointers, so that mem_map can be serialized as it is.
 */
#ifndef MM_TYPES_H
#define MM_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmcore.h"

typedef uint64_t phys_addr_t;
typedef uint32_t pfn_t;

#define PAGE_SHIFT 12
#define PAGE_SIZE (1u << PAGE_SHIFT)
#define PFN_UP(x) ((pfn_t)(((x) + PAGE_SIZE - 1) >> PAGE_SHIFT))
#define PFN_DOWN(x) ((pfn_t)((x) >> PAGE_SHIFT))
#define PFN_PHYS(x) ((phys_addr_t)(x) << PAGE_SHIFT)
#define PAGE_ALIGN(x) (((x) + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1))

#define SZ_1K 0x400u
#define SZ_1M 0x100000u
#define SZ_16M 0x1000000u

#define MAX_ORDER MM_MAX_ORDER
#define MAX_ORDER_NR_PAGES (1u << (MAX_ORDER - 1))
#define MAX_NR_ZONES MM_NR_ZONES
#define NR_CPUS MM_NR_CPUS

#define PAGE_OFFSET 0xc0000000u
#define MAX_DMA_PFN 0x1000u /* 16 MiB */
#define LOAD_PHYSICAL_ADDR 0x1000000u
#define SMP_CACHE_BYTES 64u

enum zone_type { ZONE_DMA, ZONE_NORMAL, ZONE_HIGHMEM, ZONE_MOVABLE };

enum migratetype {
	MIGRATE_UNMOVABLE,
	MIGRATE_MOVABLE,
	MIGRATE_RECLAIMABLE,
	MIGRATE_PCPTYPES,
	MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES,
	MIGRATE_ISOLATE,
	MIGRATE_TYPES
};

#define PFN_NIL UINT32_MAX

/* A list of pages linked through page->lru_{next,prev} (pfns). */
struct pfn_list {
	pfn_t first;
	pfn_t last;
};

#define MM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MM_MAX(a, b) ((a) > (b) ? (a) : (b))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline unsigned int fls_u64(uint64_t x)
{
	return x ? 64 - (unsigned int)__builtin_clzll(x) : 0;
}

static inline uint64_t rounddown_pow_of_two(uint64_t x)
{
	return x ? 1ULL << (fls_u64(x) - 1) : 0;
}

static inline uint64_t roundup_pow_of_two(uint64_t x)
{
	return x <= 1 ? 1 : 1ULL << fls_u64(x - 1);
}

static inline unsigned int ilog2_u64(uint64_t x)
{
	return fls_u64(x) - 1;
}

static inline bool is_power_of_2_u32(uint32_t x)
{
	return x && !(x & (x - 1));
}

static inline unsigned int ffs_u32(uint32_t x) /* __ffs: index of lowest set bit */
{
	return (unsigned int)__builtin_ctz(x);
}

/* int_sqrt() of lib/math/int_sqrt.c: floor of the square root. */
static inline uint64_t int_sqrt(uint64_t x)
{
	uint64_t r = 0, b = 1ULL << 62;

	while (b > x)
		b >>= 2;
	while (b) {
		if (x >= r + b) {
			x -= r + b;
			r = (r >> 1) + b;
		} else {
			r >>= 1;
		}
		b >>= 2;
	}
	return r;
}

#endif /* MM_TYPES_H */
