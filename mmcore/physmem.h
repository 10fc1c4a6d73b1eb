/* SPDX-License-Identifier: MIT */
/*
 * physmem.h - the firmware's memory map (e820) and the emulated RAM behind it.
 *
 * Mirrors: arch/x86/kernel/e820.c (e820__update_table, __e820__range_update,
 * e820__range_remove, e820_end_pfn, e820__print_table) and the map QEMU's `pc`
 * machine with SeaBIOS hands the kernel.
 * Invariants: after e820_update_table() the table is sorted by address, entries do not
 * overlap, and adjacent entries of one type are merged (PRAM and soft-reserved excepted).
 */
#ifndef MM_PHYSMEM_H
#define MM_PHYSMEM_H

#include "types.h"

struct mm_machine;

struct e820_table {
	unsigned int nr_entries;
	struct mm_e820_entry entries[MM_MAX_E820];
};

/* The map of QEMU's pc machine (i440FX, SeaBIOS) with @mem bytes of RAM. */
void e820_build_qemu(struct e820_table *t, uint64_t mem);
/* Sanitize: sort, resolve overlaps (higher type wins), merge. -EINVAL if it cannot. */
int e820_update_table(struct e820_table *t, struct mm_host *host);
int e820_range_add(struct e820_table *t, uint64_t start, uint64_t size, uint32_t type);
/* These print the kernel's "e820: update/remove" lines to @m's log. */
void e820_range_update(struct mm_machine *m, struct e820_table *t, uint64_t start, uint64_t size,
		       uint32_t old_type, uint32_t new_type);
void e820_range_remove(struct mm_machine *m, struct e820_table *t, uint64_t start, uint64_t size,
		       uint32_t old_type, bool check_type);
void e820_print_table(struct mm_machine *m, const struct e820_table *t, const char *who);
/* Highest end pfn of RAM below @limit_pfn, as e820_end_pfn() computes it (no print). */
pfn_t e820_end_pfn(const struct e820_table *t, pfn_t limit_pfn, uint32_t type);
bool e820_all_mapped(const struct e820_table *t, uint64_t start, uint64_t end, uint32_t type);
/* The "reserve RAM buffer" lines: the slack after each RAM range up to its alignment. */
void e820_reserve_resources_late(struct mm_machine *m);

/* Emulated RAM: a lazily committed host mapping covering [0, ram_end). */
int physmem_init(struct mm_machine *m, uint64_t ram_end);
/* Grow the RAM to cover [0, ram_end) (memmap= can declare RAM the firmware did not). */
int physmem_grow(struct mm_machine *m, uint64_t ram_end);
void physmem_finish(struct mm_machine *m);

#endif /* MM_PHYSMEM_H */
