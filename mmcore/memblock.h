/* SPDX-License-Identifier: MIT */
/*
 * memblock.h - the boot-time allocator: "memory" (what RAM exists) and "reserved" (what
 * is taken), until mem_init() hands the rest to the buddy allocator.
 *
 * Mirrors: mm/memblock.c. Allocation is top-down below current_limit, as on x86
 * (memblock.bottom_up is false), byte-granular with an alignment, so small allocations
 * share pages exactly as in the kernel.
 * Invariants: both arrays are sorted by base and non-overlapping; memory regions are
 * merged when adjacent; reserved regions keep the name of whoever reserved them and are
 * merged only with an adjacent region of the same name.
 */
#ifndef MM_MEMBLOCK_H
#define MM_MEMBLOCK_H

#include "types.h"

#define MEMBLOCK_NAME_MAX 32

struct memblock_region {
	phys_addr_t base;
	phys_addr_t size;
	char name[MEMBLOCK_NAME_MAX]; /* who reserved it; "" for memory */
};

struct memblock_type {
	unsigned int cnt;
	unsigned int max;
	struct memblock_region *regions;
	struct mm_host *host; /* the machine's (host.h) */
};

struct memblock {
	struct memblock_type memory;
	struct memblock_type reserved;
	phys_addr_t current_limit;
};

int memblock_init(struct memblock *mb, struct mm_host *host);
void memblock_finish(struct memblock *mb);
int memblock_add(struct memblock *mb, phys_addr_t base, phys_addr_t size);
int memblock_reserve(struct memblock *mb, phys_addr_t base, phys_addr_t size, const char *name);
/* Release part of a reservation (free_reserved_area() bookkeeping). */
int memblock_phys_free(struct memblock *mb, phys_addr_t base, phys_addr_t size);
/* Trim memory regions to whole pages (memblock_trim_memory(PAGE_SIZE)). */
void memblock_trim_memory(struct memblock *mb);
/* Top-down allocation below current_limit; returns 0 with *ret set or -ENOSPC. */
int memblock_alloc(struct memblock *mb, phys_addr_t size, phys_addr_t align, const char *name,
		   phys_addr_t *ret);
/* The same within [start, end) (memblock_phys_alloc_range). */
int memblock_alloc_range(struct memblock *mb, phys_addr_t size, phys_addr_t align,
			 phys_addr_t start, phys_addr_t end, const char *name, phys_addr_t *ret);
phys_addr_t memblock_start_of_DRAM(const struct memblock *mb);
phys_addr_t memblock_end_of_DRAM(const struct memblock *mb);
/* Bytes of memory in [start, end). */
uint64_t memblock_memory_in(const struct memblock *mb, phys_addr_t start, phys_addr_t end);
/* Iterate free ranges (memory minus reserved) in ascending order: *idx starts at 0. */
bool memblock_next_free_range(const struct memblock *mb, uint64_t *idx, phys_addr_t *start,
			      phys_addr_t *end);

#endif /* MM_MEMBLOCK_H */
