/* SPDX-License-Identifier: MIT */
/*
 * vmalloc.h - the vmap areas of the kernel's vmalloc range, and what is built on them:
 * vmalloc/vzalloc/vfree, vmap/vunmap, ioremap/iounmap, set_memory_* on their pages.
 *
 * Mirrors: mm/vmalloc.c (struct vmap_area, the busy, free and purge lists,
 * alloc_vmap_area, __get_vm_area_node, __vmalloc_node_range, __vunmap, free_vmap_area_noflush,
 * __purge_vmap_area_lazy, vm_unmap_aliases), include/linux/vmalloc.h (struct vm_struct,
 * VM_* flags), arch/x86/mm/ioremap.c (__ioremap_caller, iounmap), arch/x86/mm/pat/
 * set_memory.c (change_page_attr_set_clr, cpa_process_alias).
 *
 * The kernel keeps three address-sorted sets of struct vmap_area: busy (vmap_area_root),
 * free (free_vmap_area_root, augmented with the largest free size below each node) and
 * lazily freed (purge_vmap_area_root). mm32 keeps each as an address-sorted array and takes
 * the first entry that fits, which is the lowest-address fit find_vmap_lowest_match() finds.
 * (One corner differs: for an alignment above a page the kernel prunes subtrees by
 * size + align - 1, so it can pass over a smaller free area that would fit once aligned.)
 * The free set starts as [1, ULONG_MAX) (vmap_init_free_space()) and every allocation
 * is restricted to its [vstart, vend), VMALLOC_START..VMALLOC_END for all of these.
 *
 * Invariants (rows of check.c's table, the functions at the end of vmalloc.c, each with a
 * corruption test in tests/mmcore/test-check.c):
 *  (V1) vmap-areas-tile: the free, busy and purge areas are each sorted and disjoint, and
 *       together they tile [1, ULONG_MAX) exactly: every address is in exactly one;
 *  (V2) vmap-areas-merged: no two free areas (nor two purge areas) touch: they would have
 *       been merged;
 *  (V3) vmap-area-vm: a busy area with a vm_struct has vm.addr == va_start,
 *       vm.size == va_end - va_start and lies inside [VMALLOC_START, VMALLOC_END);
 *  (V4) vmalloc-ptes: every present PTE of the vmalloc range belongs to the mapped part of
 *       exactly one busy area (never a guard page, never a lazily freed area) and maps that
 *       area's frame for its offset; every page an area maps is present;
 *  (V5) vmalloc-pages-owned: every page of a VM_ALLOC area, and every page table under the
 *       vmalloc range, is allocated and the kernel's own (PGS_KERNEL: free_pages and
 *       put_page from outside refuse it, a physical write needs "force"); no page belongs
 *       to two areas;
 *  (V6) vmalloc-counters: nr_vmalloc_pages is the sum of nr_pages of the VM_ALLOC areas
 *       and vmap_lazy_nr the number of pages on the purge list;
 *  (V7) vmalloc-page-array: a VM_ALLOC area's page array (nr_pages * 4 bytes) is a busy
 *       VM_ALLOC area of that many bytes' pages when it is over a page, else (boot model 4
 *       on) an allocated object of the normal kmalloc cache of its size, else none.
 */
#ifndef MM_VMALLOC_H
#define MM_VMALLOC_H

#include "gfp.h"
#include "types.h"

struct mm_machine;

/* include/linux/vmalloc.h */
#define VM_IOREMAP 0x1u
#define VM_ALLOC 0x2u
#define VM_MAP 0x4u
#define VM_USERMAP 0x8u
#define VM_DMA_COHERENT 0x10u
#define VM_UNINITIALIZED 0x20u
#define VM_NO_GUARD 0x40u
#define VM_KASAN 0x80u
#define VM_FLUSH_RESET_PERMS 0x100u
#define VM_MAP_PUT_PAGES 0x200u
#define VM_ALLOW_HUGE_VMAP 0x400u /* kvmalloc()'s; no huge vmalloc on i386 */

#define VM_CALLER_MAX 48

/* struct vm_struct: what a busy area holds. */
struct vm_struct {
	uint32_t addr;
	uint32_t size;	   /* with the guard page */
	uint32_t flags;	   /* VM_* */
	uint32_t nr_pages; /* the kernel's field: VM_ALLOC (and VM_MAP_PUT_PAGES) only */
	phys_addr_t phys_addr;
	uint32_t pages_area;	    /* area->pages: vmalloc'd ("vpages") or kmalloc'd here, or 0 */
	uint32_t nr_pfns;	    /* host: frames mapped from addr on (vmalloc and vmap) */
	pfn_t *pages;		    /* host copy of the kernel's page array: nr_pfns frames */
	bool api;		    /* made by a command, not by the modelled boot */
	char caller[VM_CALLER_MAX]; /* %pS of the caller: "n_tty_open+0x16/0x90" */
};

/* struct vmap_area: [va_start, va_end); vm only while busy. */
struct vmap_area {
	uint64_t va_start, va_end;
	bool has_vm;
	struct vm_struct vm;
};

/* A free or lazily freed range (the union of vmap_area holds no vm there). */
struct vmap_range {
	uint64_t va_start, va_end;
};

struct vmap_state {
	bool ready; /* vmalloc_init() ran */
	struct vmap_area *busy;
	uint32_t nr_busy, cap_busy;
	struct vmap_range *free;
	uint32_t nr_free, cap_free;
	struct vmap_range *purge;
	uint32_t nr_purge, cap_purge;
	uint64_t vmap_lazy_nr;	   /* pages on the purge list */
	uint64_t nr_vmalloc_pages; /* VmallocUsed */
	bool drain_pending;	   /* vmap_lazy_nr > lazy_max_pages(): drain_vmap_work queued */
	uint64_t nr_purges;	   /* __purge_vmap_area_lazy() runs that purged something */
	uint64_t nr_purged_pages;
};

/* vmalloc_init(): the free space [1, ULONG_MAX). */
int vmalloc_init(struct mm_machine *m, struct mm_error *err);
void vmalloc_finish(struct mm_machine *m);
/* vm_unmap_aliases(): purge every lazily freed area now (change_page_attr calls it). */
void vm_unmap_aliases(struct mm_machine *m);
/* drain_vmap_area_work: the purge a free queued, run at the end of that command. */
void vmalloc_run_deferred(struct mm_machine *m);
/* lazy_max_pages() */
uint64_t lazy_max_pages(const struct mm_machine *m);

/* The areas of a booted kernel, as boot steps in the kernel's order (machine.c). */
int vmalloc_boot_acpi_early(struct mm_machine *m, struct mm_error *err);
int vmalloc_boot_hpet(struct mm_machine *m, struct mm_error *err);
int vmalloc_boot_bpf(struct mm_machine *m, struct mm_error *err);
int vmalloc_boot_acpi_init(struct mm_machine *m, struct mm_error *err);
int vmalloc_boot_dmi(struct mm_machine *m, struct mm_error *err);
/* Pages of the two ranges a real boot holds around the crypto buffers and frees before
 * it ends (the holes of every capture's vmallocinfo; what they are is not identified). */
#define VMALLOC_BOOT_HOLE_1 70u
#define VMALLOC_BOOT_HOLE_2 711u
int vmalloc_boot_transient(struct mm_machine *m, uint32_t pages, struct mm_error *err);
int vmalloc_boot_crypto_scomp(struct mm_machine *m, struct mm_error *err);
int vmalloc_boot_n_tty(struct mm_machine *m, struct mm_error *err);

/* The vmalloc range is up, @cpu exists, the machine is not tainted. */
int vmalloc_ready(const struct mm_machine *m, unsigned int cpu, struct mm_error *err);
/* __vmalloc_node(): vmalloc with the caller's @gfp and @vm_flags (kvmalloc_node()'s
 * fallback); vmalloc()'s refusals, the machine's readiness checked by the caller. */
int __vmalloc_node(struct mm_machine *m, unsigned int cpu, uint64_t size, gfp_t gfp,
		   uint32_t vm_flags, const char *caller, uint32_t *ret_addr, struct mm_error *err);
/* is_vmalloc_addr(): @addr in [VMALLOC_START, VMALLOC_END). */
bool is_vmalloc_addr(const struct mm_machine *m, uint32_t addr);

/* Is @addr the kmalloc'd page array of a busy vmalloc area (boot model 4 on)? Its address
 * in @area. kfree() refuses it: vfree() frees it with the area. */
bool vmalloc_pages_array_of(const struct mm_machine *m, uint32_t addr, uint32_t *area);

/* The busy area holding @addr, or NULL. */
const struct vmap_area *find_vmap_area(const struct mm_machine *m, uint64_t addr);

/* The kernel's own @pfn (PGS_KERNEL) as the vmalloc range has it, in words, for the
 * refusal of a free or a physical write; false when it is not the range's. */
bool vmalloc_kernel_page(const struct mm_machine *m, pfn_t pfn, char *buf, size_t len);

#endif /* MM_VMALLOC_H */
