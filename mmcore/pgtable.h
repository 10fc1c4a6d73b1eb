/* SPDX-License-Identifier: MIT */
/*
 * pgtable.h - x86 page-table entries as they sit in the emulated RAM, and the hardware
 * page walk.
 *
 * Mirrors: arch/x86/include/asm/pgtable_types.h (_PAGE_* bits, __PAGE_KERNEL...),
 * pgtable-2level.h / pgtable-3level.h (entry sizes, index shifts), and the walk the CPU
 * does (Intel SDM vol. 3, 4.3 "32-bit paging" and 4.4 "PAE paging").
 *  - 686 (2-level): CR3 -> page directory (1024 x 4 bytes) -> page table (1024 x 4 bytes),
 *    or a 4 MiB page when PDE.PS and CR4.PSE. Linux calls the directory the pgd (the pmd
 *    is folded into it).
 *  - 686-pae (3-level): CR3 -> PDPT (4 x 8 bytes, Linux's pgd) -> page directory (512 x 8,
 *    the pmd) -> page table (512 x 8), or a 2 MiB page when PDE.PS. PDPTEs carry only P,
 *    PWT and PCD; NX is bit 63 of the lower levels.
 * Invariant: every entry lives in a frame of emulated RAM; reading an entry reads RAM, so a
 * table written through a physical address is what the next walk sees.
 */
#ifndef MM_PGTABLE_H
#define MM_PGTABLE_H

#include "types.h"

struct mm_machine;

typedef uint64_t pteval_t;

#define _PAGE_PRESENT 0x001ull
#define _PAGE_RW 0x002ull
#define _PAGE_USER 0x004ull
#define _PAGE_PWT 0x008ull
#define _PAGE_PCD 0x010ull
#define _PAGE_ACCESSED 0x020ull
#define _PAGE_DIRTY 0x040ull
#define _PAGE_PSE 0x080ull /* PDE: large page; PTE: PAT */
#define _PAGE_GLOBAL 0x100ull
#define _PAGE_NX (1ull << 63)

/* head_32.S early attributes and the kernel's protections (pgtable_types.h) */
#define PTE_IDENT_ATTR 0x003ull
#define PDE_IDENT_ATTR 0x063ull
#define PGD_IDENT_ATTR 0x001ull
#define _PAGE_TABLE 0x067ull   /* P RW USER A D */
#define _KERNPG_TABLE 0x063ull /* P RW A D */
#define __PAGE_KERNEL_EXEC 0x163ull
#define __PAGE_KERNEL (__PAGE_KERNEL_EXEC | _PAGE_NX)
#define __PAGE_KERNEL_RO (0x161ull | _PAGE_NX)
#define __PAGE_KERNEL_LARGE_EXEC (__PAGE_KERNEL_EXEC | _PAGE_PSE)
#define __PAGE_KERNEL_LARGE (__PAGE_KERNEL | _PAGE_PSE)

/* Address bits of an entry: 2-level 31..12 (a PSE-36 PDE adds bits 20..13 as 39..32);
 * PAE 51..12, here 35..12 (36-bit physical addresses, MAXPHYADDR of qemu32). */
#define PTE_PFN_MASK_PAE 0x0000000ffffff000ull
#define PTE_PFN_MASK_2L 0xfffff000ull
/* PAE: the pfn bits a PROT_NONE entry stores inverted (pgtable-invert.h, L1TF) */
#define PTE_PFN_INVERT_MASK_PAE 0x000ffffffffff000ull

/* The control state of one CPU that the MMU reads. */
struct mm_cpu_state {
	bool pg;      /* CR0.PG */
	bool wp;      /* CR0.WP: supervisor writes honour read-only pages */
	uint32_t cr3; /* physical address of the pgd (PDPT with PAE) */
	bool pse;     /* CR4.PSE */
	bool pae;     /* CR4.PAE */
	bool pge;     /* CR4.PGE: global entries survive a CR3 write */
	bool nxe;     /* EFER.NXE */
};

/* One level of a walk. */
struct pt_level {
	const char *name; /* "pgd", "pmd", "pte" */
	uint64_t table;	  /* physical address of the table */
	unsigned int index;
	uint64_t entry_addr;
	pteval_t raw;
};

/* The outcome of a walk: every level visited, and the leaf or the reason it stopped. */
struct pt_walk {
	unsigned int nr_levels;
	struct pt_level lvl[3];
	bool present;	    /* a leaf was found */
	uint64_t phys;	    /* the physical address of @va */
	unsigned int shift; /* page size: 12, 21 or 22 */
	pteval_t leaf;	    /* the leaf entry */
	bool rw, user, nx;  /* effective rights over all levels */
	bool global, dirty; /* of the leaf */
	bool rsvd;	    /* a reserved bit was set */
};

/* Entry size and counts of the machine's flavour. */
unsigned int pt_entry_size(const struct mm_machine *m);
pteval_t pt_read(const struct mm_machine *m, uint64_t addr);
void pt_write(struct mm_machine *m, uint64_t addr, pteval_t v);
/* Physical address an entry points to (table or page), for the flavour and level. */
uint64_t pt_entry_addr(const struct mm_machine *m, pteval_t e, bool large);

/* Walk @va under @cpu's control state without touching anything (no A/D, no TLB). With
 * paging off the walk is the identity. */
void pt_walk(const struct mm_machine *m, const struct mm_cpu_state *cpu, uint32_t va,
	     struct pt_walk *w);

/* Decoded flags of an entry as the dump prints them ("RW", "GLB", "NX"...). */
size_t pt_flags_text(pteval_t e, bool pae, bool large, char *buf, size_t size);

#endif /* MM_PGTABLE_H */
