/* SPDX-License-Identifier: MIT */
/*
 * highmem.h - mapping frames that have no permanent kernel address: the pkmap table of
 * kmap(), the per-CPU fixmap slots of kmap_local_page()/kmap_atomic(), page_address().
 *
 * Mirrors: mm/highmem.c (kmap_high, map_new_virtual, flush_all_zero_pkmaps, kunmap_high,
 * page_address, set_page_address, __kmap_local_pfn_prot, kunmap_local_indexed),
 * include/linux/highmem-internal.h (kmap, kunmap, kmap_local_page, kmap_atomic,
 * kunmap_atomic), arch/x86/include/asm/highmem.h (LAST_PKMAP, PKMAP_BASE, PKMAP_NR),
 * asm-generic/kmap_size.h (KM_MAX_IDX), arch/x86/include/asm/fixmap.h (FIX_KMAP_BEGIN).
 *
 * State, all in struct mm_machine (no host pointers, so a snapshot images it as it is):
 *  - pkmap_count[LAST_PKMAP]: 0 free, and no stale TLB entry can exist; 1 mapped by a
 *    PTE that no one uses any more (the TLBs may still hold it: flush before reuse);
 *    n > 1: n - 1 users. last_pkmap_nr: where map_new_virtual() scanned last.
 *  - page_address_maps[LAST_PKMAP] in PA_HASH_ORDER-bit buckets keyed by hash_ptr() of
 *    the struct page's kernel address: what page_address() finds for a highmem page.
 *  - kmap_ctrl per CPU: the stack depth and the PTE of each of its KM_MAX_IDX slots; the
 *    kernel keeps it per task, mm32 has one task per CPU. kmap_atomic adds the CPU's
 *    atomic depth (preempt and page faults disabled) until kunmap_atomic; a command run in
 *    "atomic" context holds preempt_count for its duration.
 * Locking: none; the daemon serializes calls on one machine (the kernel's kmap_lock).
 * Invariants (rows of check.c's table, checked in highmem.c: pkmap-count (a),
 * page-address-hash (b), pkmap-cursor (c), kmap-local-stack (d), kmap-atomic-depth (e),
 * kmapped-not-free (f), cpu-entry-area (g)):
 *  (a) pkmap_count[i] >= 0, and pkmap_count[i] == 0  <=>  the pkmap PTE of slot i is none
 *  (b) pkmap_count[i] >= 1  <=>  page_address_maps[i] holds the page its PTE maps, on the
 *      bucket hash_ptr(page), with virtual == PKMAP_ADDR(i); no page is on two slots
 *  (c) last_pkmap_nr < LAST_PKMAP
 *  (d) kmap_ctrl[cpu].idx <= KM_MAX_IDX; slot i < idx has the PTE pteval[i] (present),
 *      slot i >= idx has none
 *  (e) atomic_depth[cpu] >= the kmap_atomic entries on cpu's stack; preempt_count[cpu]
 *      is 0 between calls
 *  (f) a page mapped by pkmap (count > 1) or a kmap_local slot is not free
 *  (g) the fixmap's cpu_entry_area holds what setup_cpu_entry_areas() and init_IRQ() put
 *      there: the read-only IDT alias, each CPU's GDT, stacks, TSS and debug store; or
 *      nothing at all (a machine of boot model 1 or 2, whose boot left it empty)
 */
#ifndef MM_HIGHMEM_H
#define MM_HIGHMEM_H

#include "pgtable.h"
#include "types.h"

#define LAST_PKMAP_MAX 1024 /* 686; 512 on PAE (m->geo.last_pkmap) */
#define PA_HASH_ORDER 7
#define KM_MAX_IDX 16
/* fixmap.h: FIX_HOLE, FIX_DBGP_BASE, FIX_EARLYCON_MEM_BASE, FIX_APIC_BASE, then
 * MAX_IO_APICS (64) IO-APIC slots; Debian has no FIX_OHCI1394_BASE */
#define FIX_KMAP_BEGIN (4u + 64u)
#define FIX_KMAP_END (FIX_KMAP_BEGIN + KM_MAX_IDX * NR_CPUS - 1u)
#define FIXADDR_TOP 0xfffff000u
#define __fix_to_virt(idx) (FIXADDR_TOP - ((uint32_t)(idx) << PAGE_SHIFT))
#define GOLDEN_RATIO_32 0x61C88647u

/* One entry of page_address_maps[]: slot i maps page at virtual, next in its bucket. */
struct page_address_map {
	pfn_t page; /* PFN_NIL when the slot's entry is on no bucket */
	uint32_t virtual;
	int16_t next; /* index of the next entry of the bucket, -1 at its end */
};

/* current->kmap_ctrl of the task running on one CPU. */
struct kmap_ctrl {
	unsigned int idx;	     /* stack depth */
	pteval_t pteval[KM_MAX_IDX]; /* the PTE of each slot, 0 when free */
	pfn_t pfn[KM_MAX_IDX];	     /* the page of each slot */
	uint8_t atomic[KM_MAX_IDX];  /* mapped by kmap_atomic() */
};

struct mm_highmem {
	int pkmap_count[LAST_PKMAP_MAX];
	unsigned int last_pkmap_nr;
	struct page_address_map page_address_maps[LAST_PKMAP_MAX];
	int16_t page_address_htable[1u << PA_HASH_ORDER]; /* first entry, -1: empty */
	struct kmap_ctrl kmap_ctrl[NR_CPUS];
	unsigned int atomic_depth[NR_CPUS];  /* kmap_atomic()s not yet undone */
	unsigned int preempt_count[NR_CPUS]; /* mm_preempt_disable()s not yet undone */
	uint64_t nr_kmap_high, nr_flush_all_zero, nr_kmap_local;
};

struct mm_machine;

/* permanent_kmaps_init() done: an empty table, an empty hash, empty stacks. */
void highmem_init(struct mm_machine *m);
/* page_address(): __va() for lowmem, the pkmap address of a kmapped highmem page, else 0. */
uint32_t page_address(const struct mm_machine *m, pfn_t pfn);
/* The bucket page_address_htable[] uses for @pfn: hash_ptr(page, PA_HASH_ORDER). */
unsigned int page_slot(const struct mm_machine *m, pfn_t pfn);
/* The physical address of the PTE of kernel address @va (0 when no PTE page maps it). */
uint64_t kernel_pte_addr(const struct mm_machine *m, uint32_t va);
/* kmap_local slot @i of @cpu: its fixmap address. */
static inline uint32_t kmap_local_vaddr(unsigned int cpu, unsigned int i)
{
	return __fix_to_virt(FIX_KMAP_BEGIN + i + KM_MAX_IDX * cpu);
}
/* Is @cpu in atomic context because of kmap_atomic() (might_sleep() would complain)? */
static inline bool highmem_in_atomic(const struct mm_highmem *hm, unsigned int cpu)
{
	return hm->atomic_depth[cpu] > 0 || hm->preempt_count[cpu] > 0;
}

/* The first page of [pfn, pfn + 2^order) that kmap() maps (pkmap users) or a kmap_local
 * slot holds, or PFN_NIL. */
pfn_t __highmem_block_mapped(const struct mm_machine *m, pfn_t pfn, unsigned int order);
static inline pfn_t highmem_block_mapped(const struct mm_machine *m, pfn_t pfn, unsigned int order,
					 pfn_t max_low_pfn)
{
	if (pfn + (1u << order) <= max_low_pfn)
		return PFN_NIL; /* lowmem is never kmapped into a slot */
	return __highmem_block_mapped(m, pfn, order);
}

#endif /* MM_HIGHMEM_H */
