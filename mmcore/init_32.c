/* SPDX-License-Identifier: MIT */
/*
 * init_32.c - the kernel's page tables, built in emulated RAM in the order the kernel
 * builds them.
 *
 * Mirrors: arch/x86/kernel/head32.c (mk_early_pgtbl_32) and head_32.S, arch/x86/kernel/
 * setup.c (the switch to swapper_pg_dir), arch/x86/mm/init.c (probe_page_size_mask,
 * init_mem_mapping, split_mem_range), arch/x86/mm/init_32.c (kernel_physical_mapping_init,
 * one_page_table_init, page_table_range_init, early_ioremap_page_table_range_init,
 * permanent_kmaps_init, mark_rodata_ro, mark_nxdata_nx), arch/x86/mm/pat/set_memory.c
 * (change_page_attr splitting a large page), arch/x86/realmode/init.c (the trampoline's
 * permissions).
 *
 * Where the tables live, as in the kernel: initial_page_table, initial_pg_pmd (PAE),
 * initial_pg_fixmap, swapper_pg_dir and empty_zero_page are pages of the image's .bss;
 * head_32's PTE pages come from __brk_base; the direct map's further tables from the brk
 * pgt_buf (INIT_PGT_BUF_PAGES), then memblock; tables split by set_memory_*() from the
 * page allocator.
 * Invariants: swapper_pg_dir maps [PAGE_OFFSET, high_memory) onto [0, max_low_pfn) and
 * nothing below PAGE_OFFSET; every table page an entry points to is a frame of RAM that
 * nothing else uses.
 */
#include <stdio.h>
#include <string.h>

#include "highmem.h"
#include "machine.h"
#include "page_alloc.h"
#include "pgtable.h"
#include "snapshot.h"
#include "vmalloc.h"

#define INIT_PGT_BUF_PAGES 6
#define REALMODE_SIZE 0x4000u /* the trampoline blob of Debian's 6.1 image */
#define REALMODE_RO_PAGES 2u  /* text and rodata: set_memory_ro */
#define REALMODE_TEXT_PAGE 1u /* trampoline text: set_memory_x */
#define KERNEL_PGD_BOUNDARY_2L 768u

static unsigned int ptrs_per_pte(const struct mm_machine *m)
{
	return m->cfg.pae ? 512u : 1024u;
}

/* Physical address of the pmd entry for @va in the kernel half (pgd entry on 686). */
static uint64_t pmd_entry_addr(const struct mm_machine *m, uint64_t pgd, uint32_t va)
{
	if (m->cfg.pae) {
		pteval_t pgde = pt_read(m, pgd + (uint64_t)(va >> 30) * 8);

		return pt_entry_addr(m, pgde, false) + (uint64_t)((va >> 21) & 511) * 8;
	}
	return pgd + (uint64_t)(va >> 22) * 4;
}

static uint64_t pte_entry_addr(const struct mm_machine *m, uint64_t pt, uint32_t va)
{
	unsigned int n = ptrs_per_pte(m);

	return pt + (uint64_t)((va >> PAGE_SHIFT) & (n - 1)) * pt_entry_size(m);
}

static void zero_page(struct mm_machine *m, uint64_t pa)
{
	memset(m->ram + pa, 0, PAGE_SIZE);
	if (m->pgstate && (pa >> PAGE_SHIFT) < m->pgstate_pfns)
		m->pgstate[pa >> PAGE_SHIFT] &= (uint8_t)~PGS_RAM_DIRTY;
}

/*
 * Where the .bss pages sit, in the order of Debian's images (kallsyms and the captured
 * tables): 686: initial_page_table, initial_pg_fixmap, swapper_pg_dir, empty_zero_page,
 * idt_table; PAE: initial_pg_pmd, initial_pg_fixmap, (initial_page_table, in .data on a
 * real image), swapper_pg_dir 8 KiB aligned with its PTI half, empty_zero_page, idt_table.
 */
void paging_place_tables(struct mm_machine *m)
{
	uint64_t p = m->layout.bss_start;

	if (m->cfg.pae) {
		m->pt.initial_pg_pmd = p; /* KPMDS = 1 for the 3G split */
		m->pt.initial_pg_fixmap = p + PAGE_SIZE;
		m->pt.initial_page_table = p + 2 * PAGE_SIZE;
		m->pt.swapper_pg_dir = p + 4 * PAGE_SIZE;
		m->pt.empty_zero_page = p + 6 * PAGE_SIZE;
		m->pt.idt_table = p + 7 * PAGE_SIZE;
		m->pt.bm_pte = p + 8 * PAGE_SIZE;
	} else {
		m->pt.initial_page_table = p;
		m->pt.initial_pg_fixmap = p + PAGE_SIZE;
		m->pt.swapper_pg_dir = p + 2 * PAGE_SIZE;
		m->pt.empty_zero_page = p + 3 * PAGE_SIZE;
		m->pt.idt_table = p + 4 * PAGE_SIZE;
		m->pt.bm_pte = p + 5 * PAGE_SIZE;
	}
}

/*
 * head_32.S + mk_early_pgtbl_32(): PTE pages from __brk_base mapping [0, _end +
 * INIT_MAP_SIZE) in whole PTE pages, each hooked at its identity slot and at PAGE_OFFSET;
 * then initial_pg_fixmap at the top. Returns the pages used.
 */
unsigned int mk_early_pgtbl_32(struct mm_machine *m)
{
	struct mm_layout *l = &m->layout;
	uint64_t lowmem_pages = (0x100000000ULL - PAGE_OFFSET) >> PAGE_SHIFT;
	uint64_t table_size = m->cfg.pae ? (lowmem_pages / 512 + 4) : lowmem_pages / 1024;
	uint64_t limit = l->image_end + table_size * PAGE_SIZE;
	uint64_t pt = l->brk_start, mapped = 0;
	unsigned int n = ptrs_per_pte(m), esz = pt_entry_size(m), pages = 0, i;
	uint64_t pgd = m->pt.initial_page_table;

	zero_page(m, pgd);
	zero_page(m, m->pt.initial_pg_fixmap);
	if (m->cfg.pae)
		zero_page(m, m->pt.initial_pg_pmd);
	while (mapped < limit) {
		zero_page(m, pt);
		for (i = 0; i < n; i++) {
			pt_write(m, pt + (uint64_t)i * esz, mapped | PTE_IDENT_ATTR);
			mapped += PAGE_SIZE;
		}
		if (m->cfg.pae) {
			pt_write(m, m->pt.initial_pg_pmd + (uint64_t)pages * 8,
				 pt | PDE_IDENT_ATTR);
		} else {
			pt_write(m, pgd + (uint64_t)pages * 4, pt | PDE_IDENT_ATTR);
			pt_write(m, pgd + (uint64_t)(pages + KERNEL_PGD_BOUNDARY_2L) * 4,
				 pt | PDE_IDENT_ATTR);
		}
		pt += PAGE_SIZE;
		pages++;
	}
	if (m->cfg.pae) {
		/* PGD[0] and the kernel slot share initial_pg_pmd */
		pt_write(m, pgd, m->pt.initial_pg_pmd | PGD_IDENT_ATTR);
		pt_write(m, pgd + 3 * 8, m->pt.initial_pg_pmd | PGD_IDENT_ATTR);
		pt_write(m, m->pt.initial_pg_pmd + 511 * 8,
			 m->pt.initial_pg_fixmap | PDE_IDENT_ATTR);
	} else {
		pt_write(m, pgd + 1023 * 4, m->pt.initial_pg_fixmap | PDE_IDENT_ATTR);
	}
	l->brk_end += (uint64_t)pages * PAGE_SIZE;
	l->max_pfn_mapped = (uint32_t)(mapped >> PAGE_SHIFT);
	m->pt.early_pte_pages = pages;
	return pages;
}

/* The boot CPU turns paging on over initial_page_table (head_32.S). */
void paging_enable(struct mm_machine *m)
{
	struct mm_cpu_state *c = &m->cpus[0].cr;

	c->cr3 = (uint32_t)m->pt.initial_page_table;
	c->pae = m->cfg.pae;
	c->pg = true;
	c->wp = true;
	tlb_flush(&m->cpus[0].tlb, false);
}

/*
 * setup_arch(): copy the kernel half of initial_page_table into swapper_pg_dir and load
 * it; the identity mapping is left behind with initial_page_table.
 */
void paging_switch_to_swapper(struct mm_machine *m)
{
	uint64_t pgd = m->pt.swapper_pg_dir;

	zero_page(m, pgd);
	if (m->cfg.pae) {
		/* clone_pgd_range() copies the pgd entry: the kernel pmd is initial_pg_pmd */
		pt_write(m, pgd + 3 * 8, pt_read(m, m->pt.initial_page_table + 3 * 8));
	} else {
		memcpy(m->ram + pgd + KERNEL_PGD_BOUNDARY_2L * 4,
		       m->ram + m->pt.initial_page_table + KERNEL_PGD_BOUNDARY_2L * 4,
		       (1024 - KERNEL_PGD_BOUNDARY_2L) * 4);
	}
	m->cpus[0].cr.cr3 = (uint32_t)pgd;
	tlb_flush(&m->cpus[0].tlb, false); /* load_cr3 + __flush_tlb_all */
}

/* early_ioremap_init(): bm_pte (.bss) becomes the PTE page of the boot-time fixmap slots. */
void paging_early_ioremap_init(struct mm_machine *m)
{
	uint32_t va = 0xfffff000u - (1535u << PAGE_SHIFT); /* __fix_to_virt(FIX_BTMAP_BEGIN) */

	zero_page(m, m->pt.bm_pte);
	pt_write(m, pmd_entry_addr(m, m->pt.swapper_pg_dir, va), m->pt.bm_pte | _PAGE_TABLE);
}

/*
 * alloc_low_pages(): @n physically contiguous pages, from the brk pgt_buf while it has room
 * for all of them, then from memblock (top down, inside the mapped lowmem).
 */
static int alloc_low_pages(struct mm_machine *m, unsigned int n, uint64_t *pa, struct mm_error *err)
{
	unsigned int i;

	if (m->pt.pgt_buf_used + n <= INIT_PGT_BUF_PAGES) {
		*pa = m->pt.pgt_buf_start + (uint64_t)m->pt.pgt_buf_used * PAGE_SIZE;
		m->pt.pgt_buf_used += n;
	} else {
		phys_addr_t p;
		int r = memblock_alloc(&m->memblock, (uint64_t)n * PAGE_SIZE, PAGE_SIZE,
				       "page tables", &p);

		if (r == -ENOSPC)
			return mm_set_error(err, -EINVAL,
					    "no lowmem left for page tables: the kernel would "
					    "panic; give more RAM");
		if (r)
			return mm_set_error(err, r, "out of host memory in memblock");
		*pa = p;
	}
	for (i = 0; i < n; i++)
		zero_page(m, *pa + (uint64_t)i * PAGE_SIZE);
	m->pt.table_pages += n;
	return 0;
}

static int alloc_low_page(struct mm_machine *m, uint64_t *pa, struct mm_error *err)
{
	return alloc_low_pages(m, 1, pa, err);
}

/* one_page_table_init(): the PTE page under a pmd entry, made if absent (or large). */
static int one_page_table_init(struct mm_machine *m, uint64_t pmde_addr, uint64_t *pt,
			       struct mm_error *err)
{
	pteval_t e = pt_read(m, pmde_addr);
	int r;

	if ((e & _PAGE_PRESENT) && !(e & _PAGE_PSE)) {
		*pt = pt_entry_addr(m, e, false);
		return 0;
	}
	r = alloc_low_page(m, pt, err);
	if (r)
		return r;
	pt_write(m, pmde_addr, *pt | _PAGE_TABLE);
	return 0;
}

static pteval_t kernel_mask(const struct mm_machine *m, pteval_t prot)
{
	if (!m->cfg.pae || !m->cpu_nx)
		prot &= ~_PAGE_NX;
	if (!m->cpu_pge || m->pt.pti)
		prot &= ~_PAGE_GLOBAL; /* __default_kernel_pte_mask */
	return prot;
}

static bool in_kernel_text(const struct mm_machine *m, uint64_t pa)
{
	return pa >= m->layout.text_start && pa <= m->layout.init_end;
}

/* kernel_physical_mapping_init() for [start, end) with pages of 1 << @shift. */
static int map_range(struct mm_machine *m, uint64_t start, uint64_t end, bool large,
		     struct mm_error *err)
{
	uint64_t pgd = m->pt.swapper_pg_dir, pmd_size = m->layout.pmd_size, pa;
	int r;

	for (pa = start; pa < end;) {
		uint32_t va = (uint32_t)(pa + PAGE_OFFSET);
		uint64_t pmde = pmd_entry_addr(m, pgd, va), pt;

		if (large) {
			pteval_t prot =
				in_kernel_text(m, pa) || in_kernel_text(m, pa + pmd_size - 1)
					? __PAGE_KERNEL_LARGE_EXEC
					: __PAGE_KERNEL_LARGE;

			pt_write(m, pmde, pa | kernel_mask(m, prot));
			m->direct_pages_large++;
			pa += pmd_size;
			continue;
		}
		r = one_page_table_init(m, pmde, &pt, err);
		if (r)
			return r;
		for (; pa < end; pa += PAGE_SIZE) {
			pteval_t prot = in_kernel_text(m, pa) ? __PAGE_KERNEL_EXEC : __PAGE_KERNEL;

			pt_write(m, pte_entry_addr(m, pt, (uint32_t)(pa + PAGE_OFFSET)),
				 pa | kernel_mask(m, prot));
			m->direct_pages_4k++;
			if (((pa + PAGE_SIZE) & (pmd_size - 1)) == 0) {
				pa += PAGE_SIZE;
				break;
			}
		}
	}
	return 0;
}

struct map_range {
	uint64_t s, e;
	bool large;
};

/* split_mem_range() + adjust_range_page_size_mask() for one init_memory_mapping(). */
static int init_memory_mapping(struct mm_machine *m, uint64_t start, uint64_t end,
			       struct mm_error *err)
{
	uint64_t pmd = m->layout.pmd_size, low_end = PFN_PHYS(m->layout.max_low_pfn);
	uint64_t head_end, mid_end;
	struct map_range piece[3];
	unsigned int n = 0, i;
	int r;

	head_end = start == 0 ? pmd : (start + pmd - 1) & ~(pmd - 1);
	if (head_end > end)
		head_end = end;
	if (start < head_end)
		piece[n++] = (struct map_range){start, head_end, false};
	mid_end = end & ~(pmd - 1);
	if (head_end < mid_end)
		piece[n++] = (struct map_range){head_end, mid_end, m->cpu_pse};
	if (MM_MAX(head_end, mid_end) < end)
		piece[n++] = (struct map_range){MM_MAX(head_end, mid_end), end, false};
	for (i = 0; i < n; i++) {
		uint64_t rs = piece[i].s & ~(pmd - 1), re = (piece[i].e + pmd - 1) & ~(pmd - 1);

		if (!piece[i].large && m->cpu_pse && rs != 0 && re <= low_end &&
		    memblock_memory_in(&m->memblock, rs, re) == re - rs) {
			piece[i].s = rs;
			piece[i].e = re;
			piece[i].large = true;
		}
		r = map_range(m, piece[i].s, piece[i].e, piece[i].large, err);
		if (r)
			return r;
	}
	return 0;
}

/* The pmds (va >> PMD_SHIFT) of the first and the last kmap_local fixmap slot. */
static void kmap_pmd_range(const struct mm_machine *m, uint32_t *lo, uint32_t *hi)
{
	*lo = __fix_to_virt(FIX_KMAP_END) >> m->geo.pmd_shift;
	*hi = __fix_to_virt(FIX_KMAP_BEGIN) >> m->geo.pmd_shift;
	if (!boot_fills_cpu_entry_area(m)) /* boot models 1, 2: not made contiguous */
		*lo = *hi;
}

/*
 * page_table_range_init(): PTE pages for every pmd of [start, end). Where the kmap_local
 * fixmap slots span several pmds (PAE: 0xffdbc000..0xfffbb000 crosses 0xffe00000), their
 * PTE pages are moved into one physically contiguous run taken up front
 * (page_table_range_init_count + page_table_kmap_check), so that the slots' PTEs form one
 * array, as kmap_local indexes them; the page one_page_table_init() made for such a pmd
 * is left behind, as the kernel leaves it.
 */
static int page_table_range_init(struct mm_machine *m, uint32_t start, uint64_t end,
				 uint64_t *first, struct mm_error *err)
{
	uint32_t lo, hi, count = 0;
	uint64_t va, pt, adr = 0;
	int r;

	kmap_pmd_range(m, &lo, &hi);
	for (va = start; lo != hi && va < end; va += m->layout.pmd_size)
		if ((va >> m->geo.pmd_shift) >= lo && (va >> m->geo.pmd_shift) <= hi)
			count++;
	if (count) {
		r = alloc_low_pages(m, count, &adr, err);
		if (r)
			return r;
	}
	for (va = start; va < end; va += m->layout.pmd_size) {
		uint64_t pmde = pmd_entry_addr(m, m->pt.swapper_pg_dir, (uint32_t)va);

		r = one_page_table_init(m, pmde, &pt, err);
		if (r)
			return r;
		if (count && (va >> m->geo.pmd_shift) >= lo && (va >> m->geo.pmd_shift) <= hi) {
			memcpy(m->ram + adr, m->ram + pt, PAGE_SIZE);
			if (m->pgstate && (adr >> PAGE_SHIFT) < m->pgstate_pfns)
				m->pgstate[adr >> PAGE_SHIFT] |= PGS_RAM_DIRTY;
			pt_write(m, pmde, adr | _PAGE_TABLE);
			pt = adr;
			adr += PAGE_SIZE;
		}
		if (first && va == start)
			*first = pt;
	}
	return 0;
}

/*
 * init_mem_mapping() and the page tables of paging_init(): probe_page_size_mask(), the
 * direct map of [0, 1 MiB) then of lowmem RAM top down, the fixmap's tables
 * (early_ioremap_page_table_range_init) and the pkmap page table (permanent_kmaps_init).
 */
int paging_init_mem_mapping(struct mm_machine *m, struct mm_error *err)
{
	const struct memblock_type *mem = &m->memblock.memory;
	struct mm_layout *l = &m->layout;
	struct mm_cpu_state *c = &m->cpus[0].cr;
	uint64_t low_end = PFN_PHYS(l->max_low_pfn), pmd = l->pmd_size;
	unsigned int i;
	int r;

	/* probe_page_size_mask(); PTI (PAE kernels on a Meltdown-affected CPU) keeps the
	 * kernel's mappings out of the global TLB */
	c->pse = m->cpu_pse;
	c->pge = m->cpu_pge;
	c->nxe = m->cfg.pae && m->cpu_nx;
	m->pt.pti = m->cfg.pae;
	m->pt.pgt_buf_start = l->brk_end - INIT_PGT_BUF_PAGES * PAGE_SIZE;
	m->pt.pgt_buf_used = 0;
	m->direct_pages_4k = m->direct_pages_large = 0;

	r = init_memory_mapping(m, 0, SZ_1M, err);
	for (i = 0; !r && i < mem->cnt; i++) {
		uint64_t s = MM_MAX(mem->regions[i].base, (uint64_t)SZ_1M);
		uint64_t e = MM_MIN(mem->regions[i].base + mem->regions[i].size, low_end);

		if (s < e)
			r = init_memory_mapping(m, s, e, err);
	}
	if (r)
		return r;
	/* early_ioremap_page_table_range_init() */
	r = page_table_range_init(m, l->fixaddr_tot_start & ~(uint32_t)(pmd - 1), 0x100000000ULL,
				  NULL, err);
	if (r)
		return r;
	/* permanent_kmaps_init() */
	r = page_table_range_init(m, l->pkmap_base,
				  (uint64_t)l->pkmap_base + (uint64_t)l->last_pkmap * PAGE_SIZE,
				  &m->pt.pkmap_page_table, err);
	if (r)
		return r;
	tlb_flush(&m->cpus[0].tlb, false); /* __flush_tlb_all() */
	return 0;
}

/* The PTE of kernel address @va in swapper_pg_dir; 0 when no PTE page maps it. */
uint64_t kernel_pte_addr(const struct mm_machine *m, uint32_t va)
{
	pteval_t pmde;

	if (m->cfg.pae && !(pt_read(m, m->pt.swapper_pg_dir + 3 * 8) & _PAGE_PRESENT))
		return 0;
	pmde = pt_read(m, pmd_entry_addr(m, m->pt.swapper_pg_dir, va));
	if (!(pmde & _PAGE_PRESENT) || (pmde & _PAGE_PSE))
		return 0;
	return pte_entry_addr(m, pt_entry_addr(m, pmde, false), va);
}

pteval_t paging_kernel_prot(const struct mm_machine *m, pteval_t prot)
{
	return kernel_mask(m, prot);
}

/*
 * cea_pte(): the entry cea_set_pte() writes for a cpu_entry_area page. Its entries are
 * shared by the user and the kernel page tables, so they are global whenever the CPU has
 * PGE, PTI or not; a PROT_NONE entry (not present) never is, and on PAE its pfn is stored
 * inverted (the L1TF mitigation: pfn 0 reads as all ones).
 */
static pteval_t cea_pte(const struct mm_machine *m, uint64_t pa, pteval_t prot)
{
	pteval_t e;

	if (!m->cfg.pae || !m->cpu_nx)
		prot &= ~_PAGE_NX;
	if (prot & _PAGE_PRESENT) {
		e = pa | prot;
		if (m->cpu_pge)
			e |= _PAGE_GLOBAL;
		else
			e &= ~_PAGE_GLOBAL;
	} else {
		e = prot | (m->cfg.pae ? ((~pa) & PTE_PFN_INVERT_MASK_PAE) : pa);
	}
	return e;
}

/*
 * Where the per-CPU variables the cpu_entry_area aliases sit in each CPU's unit of the
 * first percpu chunk: the start of .data..percpu..page_aligned in Debian's 686 and
 * 686-pae images (cpu_debug_store, cpu_tss_rw, gdt_page, doublefault_stack,
 * entry_stack_storage, in link order).
 */
#define PCPU_DEBUG_STORE 0u
#define PCPU_TSS 1u /* 5 pages */
#define PCPU_GDT 6u
#define PCPU_DOUBLEFAULT_STACK 7u
#define PCPU_ENTRY_STACK 8u
/* struct cpu_entry_area of 32-bit, in pages: gdt, guard, entry stack, guard, doublefault
 * stack, tss (5), debug_store, debug_store_buffers (32) */
#define CEA_GDT 0u
#define CEA_ENTRY_STACK 2u
#define CEA_DOUBLEFAULT_STACK 4u
#define CEA_TSS 5u
#define CEA_TSS_PAGES 5u
#define CEA_DEBUG_STORE 10u
#define CEA_DEBUG_BUFFERS 11u
#define CEA_DEBUG_BUFFER_PAGES 32u
#define CEA_CPU_PAGES 43u
#define PAGE_NONE_BITS 0x120ull /* _PAGE_PROTNONE | _PAGE_ACCESSED */

/*
 * Where pcpu_embed_first_chunk() put the first chunk (CPU n's unit at n * unit): memblock's
 * reservation "percpu first chunk" (setup_per_cpu_areas(), start_kernel.c), which every
 * machine past the percpu phase keeps, a restored one too.
 */
static phys_addr_t pcpu_first_chunk(const struct mm_machine *m)
{
	const struct memblock_type *r = &m->memblock.reserved;
	unsigned int i;

	for (i = 0; i < r->cnt; i++)
		if (!strcmp(r->regions[i].name, "percpu first chunk"))
			return r->regions[i].base;
	return 0;
}

/*
 * setup_cpu_entry_area(@cpu): the entry each page of the CPU's slot gets (0: none, the
 * guard pages): the GDT, the entry stack, the doublefault stack and the TSS (all
 * read-write on 32-bit: task switches write them), the Intel debug store, and PROT_NONE
 * entries for the debug store buffers (so that their page tables exist when perf maps them).
 */
static void cea_cpu_ptes(const struct mm_machine *m, unsigned int cpu, pteval_t pte[CEA_CPU_PAGES])
{
	uint64_t pcpu = pcpu_first_chunk(m) + cpu * PAGE_ALIGN(m->cfg.image.percpu_unit);
	unsigned int i;

#define PCPU(n) (pcpu + (uint64_t)(n)*PAGE_SIZE)
	memset(pte, 0, CEA_CPU_PAGES * sizeof(*pte));
	pte[CEA_GDT] = cea_pte(m, PCPU(PCPU_GDT), __PAGE_KERNEL);
	pte[CEA_ENTRY_STACK] = cea_pte(m, PCPU(PCPU_ENTRY_STACK), __PAGE_KERNEL);
	pte[CEA_DOUBLEFAULT_STACK] = cea_pte(m, PCPU(PCPU_DOUBLEFAULT_STACK), __PAGE_KERNEL);
	for (i = 0; i < CEA_TSS_PAGES; i++)
		pte[CEA_TSS + i] = cea_pte(m, PCPU(PCPU_TSS + i), __PAGE_KERNEL);
	pte[CEA_DEBUG_STORE] = cea_pte(m, PCPU(PCPU_DEBUG_STORE), __PAGE_KERNEL);
	for (i = 0; i < CEA_DEBUG_BUFFER_PAGES; i++)
		pte[CEA_DEBUG_BUFFERS + i] = cea_pte(m, 0, PAGE_NONE_BITS);
#undef PCPU
}

static uint32_t cea_cpu_base(const struct mm_machine *m, unsigned int cpu)
{
	return m->layout.cpu_entry_area_base + PAGE_SIZE + cpu * CEA_CPU_PAGES * PAGE_SIZE;
}

/*
 * trap_init() -> setup_cpu_entry_areas(): setup_cpu_entry_area_ptes() makes the PTE pages
 * of the whole area ([CPU_ENTRY_AREA_BASE, + CPU_ENTRY_AREA_MAP_SIZE), populate_extra_pte:
 * alloc_low_page(), from memblock once the pgt_buf is spent, as on PAE), then
 * setup_cpu_entry_area() aliases each possible CPU's per-CPU pages in its 43-page slot,
 * after the read-only IDT page at the base (mapped later, by init_IRQ()).
 */
int paging_setup_cpu_entry_areas(struct mm_machine *m, struct mm_error *err)
{
	const struct mm_layout *l = &m->layout;
	pteval_t pte[CEA_CPU_PAGES];
	unsigned int cpu, i;
	int r;

	r = page_table_range_init(m, l->cpu_entry_area_base,
				  (uint64_t)l->cpu_entry_area_base +
					  (uint64_t)(l->cpu_entry_area_pages + 1) * PAGE_SIZE,
				  NULL, err);
	if (r)
		return r;
	for (cpu = 0; boot_fills_cpu_entry_area(m) && cpu < m->cfg.cpus; cpu++) {
		cea_cpu_ptes(m, cpu, pte);
		for (i = 0; i < CEA_CPU_PAGES; i++)
			if (pte[i])
				pt_write(m,
					 kernel_pte_addr(m, cea_cpu_base(m, cpu) + i * PAGE_SIZE),
					 pte[i]);
	}
	return 0;
}

/*
 * The cpu_entry_area as setup_cpu_entry_areas() and init_IRQ() left it: every page of each
 * CPU's slot and the IDT alias hold the entry they were given (checked once the boot is
 * done). Reports the first difference into @msg; returns how many differ.
 */
unsigned int paging_check_cpu_entry_areas(const struct mm_machine *m, char *msg, size_t size)
{
	pteval_t want[CEA_CPU_PAGES];
	unsigned int cpu, i, bad = 0, used = 0;
	uint32_t va = m->layout.cpu_entry_area_base;
	pteval_t have = pt_read(m, kernel_pte_addr(m, va));

	/* A machine of boot model 1 or 2 (mmcore.h, boot_fills_cpu_entry_area()) has an
	 * empty cpu_entry_area: that boot did not fill it. Its state stays a state of that
	 * model; any entry at all must be the whole fill. */
	for (i = 0; i <= m->layout.cpu_entry_area_pages; i++) {
		uint64_t a = kernel_pte_addr(m, va + i * PAGE_SIZE);

		if (a && pt_read(m, a))
			used++;
	}
	if (!used)
		return 0;
	if (have != cea_pte(m, m->pt.idt_table, __PAGE_KERNEL_RO)) {
		snprintf(msg, size, "cpu_entry_area: the IDT alias at %#x is %#llx", va,
			 (unsigned long long)have);
		bad++;
	}
	for (cpu = 0; cpu < m->cfg.cpus; cpu++) {
		cea_cpu_ptes(m, cpu, want);
		for (i = 0; i < CEA_CPU_PAGES; i++) {
			va = cea_cpu_base(m, cpu) + i * PAGE_SIZE;
			have = pt_read(m, kernel_pte_addr(m, va));
			if (have == want[i])
				continue;
			if (!bad++)
				snprintf(msg, size,
					 "cpu_entry_area: CPU %u page %u (%#x) is %#llx, not %#llx",
					 cpu, i, va, (unsigned long long)have,
					 (unsigned long long)want[i]);
		}
	}
	return bad;
}

/*
 * init_apic_mappings() + io_apic_init_mappings(): set_fixmap_nocache() of the local APIC
 * (FIX_APIC_BASE, 0xfee00000) and the first IO-APIC (FIX_IO_APIC_BASE_0, 0xfec00000).
 * Debian's image has no FIX_OHCI1394_BASE, so they are fixmap slots 3 and 4.
 */
void paging_map_apic(struct mm_machine *m)
{
	static const struct {
		unsigned int idx;
		uint64_t phys;
	} fix[2] = {{3, 0xfee00000u}, {4, 0xfec00000u}};
	unsigned int i;

	for (i = 0; i < 2; i++) {
		uint32_t va = 0xfffff000u - (fix[i].idx << PAGE_SHIFT);
		pteval_t pmde = pt_read(m, pmd_entry_addr(m, m->pt.swapper_pg_dir, va));

		if (!(pmde & _PAGE_PRESENT))
			continue;
		pt_write(m, pte_entry_addr(m, pt_entry_addr(m, pmde, false), va),
			 fix[i].phys | kernel_mask(m, __PAGE_KERNEL | _PAGE_PCD | _PAGE_PWT));
	}
}

/* The CPUs brought up by smp_init() run on swapper_pg_dir with the boot CPU's features. */
void paging_bring_up_cpus(struct mm_machine *m)
{
	unsigned int cpu;

	for (cpu = 1; cpu < m->cfg.cpus; cpu++) {
		m->cpus[cpu].cr = m->cpus[0].cr;
		tlb_flush(&m->cpus[cpu].tlb, false);
	}
}

/*
 * split_large_page(): a PTE page from the page allocator carries the large page's
 * protections page by page; the pmd entry becomes a _KERNPG_TABLE.
 */
static int split_large_page(struct mm_machine *m, uint64_t pmde, struct mm_error *err)
{
	pteval_t e = pt_read(m, pmde);
	uint64_t base = pt_entry_addr(m, e, true), pt;
	pteval_t prot = e & ~(pteval_t)(m->cfg.pae ? PTE_PFN_MASK_PAE : PTE_PFN_MASK_2L);
	unsigned int i, n = ptrs_per_pte(m);
	bool forever;
	pfn_t pfn;

	prot &= ~_PAGE_PSE;
	if (!m->cfg.pae)
		prot &= ~(0xffull << 13); /* PSE-36 address bits */
	pfn = __alloc_pages(m, GFP_KERNEL, 0, 0, &forever);
	if (pfn == PFN_NIL)
		return mm_set_error(err, -ENOSPC, "no page for splitting a large page");
	m->pgstate[pfn] |= PGS_KERNEL; /* not the API's to free */
	pt = PFN_PHYS(pfn);
	zero_page(m, pt);
	for (i = 0; i < n; i++)
		pt_write(m, pt + (uint64_t)i * pt_entry_size(m),
			 (base + (uint64_t)i * PAGE_SIZE) | prot);
	pt_write(m, pmde, pt | _KERNPG_TABLE);
	m->direct_pages_large--;
	m->direct_pages_4k += n;
	m->pt.split_pages++;
	return 0;
}

/*
 * change_page_attr_set_clr() on the direct map of [start, end): set @set and clear @clr on
 * every 4k entry, splitting large pages the range does not cover whole.
 */
static int __change_page_attr(struct mm_machine *m, uint64_t start, uint64_t end, pteval_t set,
			      pteval_t clr, bool flush, struct mm_error *err)
{
	uint64_t pmd = m->layout.pmd_size, pa;
	unsigned int cpu;
	int r;

	if (!m->cfg.pae || !m->cpu_nx) {
		set &= ~_PAGE_NX;
		clr &= ~_PAGE_NX;
	}
	if (!set && !clr)
		return 0; /* e.g. set_memory_nx() without NX support */
	for (pa = start; pa < end;) {
		uint32_t va = (uint32_t)(pa + PAGE_OFFSET);
		uint64_t pmde = pmd_entry_addr(m, m->pt.swapper_pg_dir, va);
		pteval_t e = pt_read(m, pmde);

		if (!(e & _PAGE_PRESENT)) {
			pa += PAGE_SIZE;
			continue;
		}
		if (e & _PAGE_PSE) {
			if ((pa & (pmd - 1)) == 0 && pa + pmd <= end) {
				pt_write(m, pmde, (e | set) & ~clr);
				pa += pmd;
				continue;
			}
			if (((e | set) & ~clr) == e) { /* should_split_large_page(): no change */
				pa = (pa & ~(pmd - 1)) + pmd;
				continue;
			}
			r = split_large_page(m, pmde, err);
			if (r)
				return r;
			e = pt_read(m, pmde);
		}
		{
			uint64_t pte = pte_entry_addr(m, pt_entry_addr(m, e, false), va);

			pt_write(m, pte, (pt_read(m, pte) | set) & ~clr);
		}
		pa += PAGE_SIZE;
	}
	for (cpu = 0; flush && cpu < m->cfg.cpus; cpu++) /* cpa_flush(): flush_tlb_all() */
		tlb_flush(&m->cpus[cpu].tlb, false);
	return 0;
}

/* change_page_attr_set_clr() on the direct map: vm_unmap_aliases() first, then the change
 * and one flush. */
static int change_page_attr(struct mm_machine *m, uint64_t start, uint64_t end, pteval_t set,
			    pteval_t clr, struct mm_error *err)
{
	pteval_t s = set, c = clr;

	if (!m->cfg.pae || !m->cpu_nx) {
		s &= ~_PAGE_NX;
		c &= ~_PAGE_NX;
	}
	if (!s && !c)
		return 0;
	vm_unmap_aliases(m);
	return __change_page_attr(m, start, end, set, clr, true, err);
}

/* reserve_real_mode(): the trampoline blob, top down below 1 MiB. */
int paging_reserve_real_mode(struct mm_machine *m, struct mm_error *err)
{
	phys_addr_t pa;
	int r = memblock_alloc_range(&m->memblock, REALMODE_SIZE, PAGE_SIZE, 0, SZ_1M,
				     "real mode trampoline", &pa);

	if (r == -ENOSPC) {
		m->pt.real_mode_base = 0; /* "Failed to allocate real mode area": no trampoline */
		return 0;
	}
	if (r)
		return mm_set_error(err, r, "out of host memory in memblock");
	m->pt.real_mode_base = pa;
	return 0;
}

/* early_initcall set_real_mode_permissions(): NX all, ro text+rodata, x the text. */
int paging_set_real_mode_permissions(struct mm_machine *m, struct mm_error *err)
{
	uint64_t b = m->pt.real_mode_base;
	int r;

	if (!b)
		return 0;
	r = change_page_attr(m, b, b + REALMODE_SIZE, _PAGE_NX, 0, err);
	if (!r)
		r = change_page_attr(m, b, b + REALMODE_RO_PAGES * PAGE_SIZE, 0, _PAGE_RW, err);
	if (!r)
		r = change_page_attr(m, b + REALMODE_TEXT_PAGE * PAGE_SIZE,
				     b + (REALMODE_TEXT_PAGE + 1) * PAGE_SIZE, 0, _PAGE_NX, err);
	return r;
}

/*
 * init_IRQ() -> idt_setup_apic_and_irq_gates(): the IDT is aliased read-only at the base of
 * the cpu_entry_area (idt_map_in_cea(), what the CPUs' IDTR points to), and its page in
 * the direct map becomes read-only.
 */
int paging_protect_idt(struct mm_machine *m, struct mm_error *err)
{
	if (boot_fills_cpu_entry_area(m))
		pt_write(m, kernel_pte_addr(m, m->layout.cpu_entry_area_base),
			 cea_pte(m, m->pt.idt_table, __PAGE_KERNEL_RO));
	return change_page_attr(m, m->pt.idt_table, m->pt.idt_table + PAGE_SIZE, 0, _PAGE_RW, err);
}

/* mark_rodata_ro() + mark_nxdata_nx(); PTI's kernel text stays global (no PCID). */
int paging_mark_rodata_ro(struct mm_machine *m, struct mm_error *err)
{
	const struct mm_layout *l = &m->layout;
	uint64_t ro_end = PAGE_ALIGN(l->rodata_end); /* __end_rodata */
	uint64_t hpage = l->pmd_size;
	uint64_t nx_start = PAGE_ALIGN(l->text_end);
	uint64_t nx_end = (l->init_end + hpage) & ~(hpage - 1);
	int r;

	r = change_page_attr(m, l->text_start, ro_end, 0, _PAGE_RW, err);
	if (!r)
		r = change_page_attr(m, nx_start, nx_end, _PAGE_NX, 0, err);
	if (!r && m->pt.pti && m->cpu_pge)
		r = change_page_attr(m, l->text_start, ro_end, _PAGE_GLOBAL, 0, err);
	return r;
}

/*
 * The page tables split_large_page() took, found again: every page table of the kernel half
 * that the page allocator handed out (its frame heads an allocation) is the kernel's own,
 * PGS_KERNEL. The early tables came from brk and memblock and head no allocation. Used for a
 * snapshot whose PAGE section predates the mark (mm_snapshot_finish()); the tables are read
 * from RAM, so only once the frames are loaded.
 */
void paging_mark_kernel_tables(struct mm_machine *m)
{
	uint64_t pmd = m->layout.pmd_size, va;

	if (!m->pgstate || !m->pt.swapper_pg_dir || !pmd)
		return;
	for (va = PAGE_OFFSET; va < (1ull << 32); va += pmd) {
		pteval_t e;
		pfn_t pfn;

		if (m->cfg.pae &&
		    !(pt_read(m, m->pt.swapper_pg_dir + (va >> 30) * 8) & _PAGE_PRESENT))
			continue;
		e = pt_read(m, pmd_entry_addr(m, m->pt.swapper_pg_dir, (uint32_t)va));
		if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE))
			continue;
		pfn = (pfn_t)(pt_entry_addr(m, e, false) >> PAGE_SHIFT);
		if (pfn < m->pgstate_pfns && (m->pgstate[pfn] & (PGS_ALLOC_MASK | PGS_PCP)) == 1)
			m->pgstate[pfn] |= PGS_KERNEL;
	}
}

/* ---- snapshot section KPGT: where the kernel's page tables are ------------------------------ */

/* KPGT v1: struct kernel_page_tables; the tables themselves are RAM frames. */
void paging_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	const struct kernel_page_tables *pt = &m->pt;

	snap_put_u64(o, pt->initial_page_table);
	snap_put_u64(o, pt->initial_pg_pmd);
	snap_put_u64(o, pt->initial_pg_fixmap);
	snap_put_u64(o, pt->swapper_pg_dir);
	snap_put_u64(o, pt->empty_zero_page);
	snap_put_u64(o, pt->idt_table);
	snap_put_u64(o, pt->bm_pte);
	snap_put_u64(o, pt->pkmap_page_table);
	snap_put_u64(o, pt->real_mode_base);
	snap_put_u64(o, pt->pgt_buf_start);
	snap_put_u32(o, pt->pgt_buf_used);
	snap_put_u32(o, pt->early_pte_pages);
	snap_put_u32(o, pt->table_pages);
	snap_put_u32(o, pt->split_pages);
	snap_put_bool(o, pt->pti);
}

/* Every table address is read through pt_read(), which stays inside the RAM. */
int paging_snap_load(struct mm_machine *m, struct snap_in *in)
{
	struct kernel_page_tables *pt = &m->pt;

	pt->initial_page_table = snap_get_u64(in);
	pt->initial_pg_pmd = snap_get_u64(in);
	pt->initial_pg_fixmap = snap_get_u64(in);
	pt->swapper_pg_dir = snap_get_u64(in);
	pt->empty_zero_page = snap_get_u64(in);
	pt->idt_table = snap_get_u64(in);
	pt->bm_pte = snap_get_u64(in);
	pt->pkmap_page_table = snap_get_u64(in);
	pt->real_mode_base = snap_get_u64(in);
	pt->pgt_buf_start = snap_get_u64(in);
	pt->pgt_buf_used = snap_get_u32(in);
	pt->early_pte_pages = snap_get_u32(in);
	pt->table_pages = snap_get_u32(in);
	pt->split_pages = snap_get_u32(in);
	pt->pti = snap_get_bool(in);
	if (in->ret)
		return in->ret;
	if (pt->swapper_pg_dir + PAGE_SIZE > m->ram_size ||
	    pt->initial_page_table + PAGE_SIZE > m->ram_size ||
	    pt->pgt_buf_start + (uint64_t)pt->pgt_buf_used * PAGE_SIZE > m->ram_size)
		return snap_corrupt(in, "page tables beyond the RAM");
	return 0;
}

/* ---- for vmalloc.c: the kernel's tables beyond the direct map ---------------------------- */

uint64_t kernel_pmd_entry(const struct mm_machine *m, uint32_t va)
{
	return pmd_entry_addr(m, m->pt.swapper_pg_dir, va);
}

pteval_t kernel_pte_mask(const struct mm_machine *m, pteval_t prot)
{
	return kernel_mask(m, prot);
}

int cpa_direct_map(struct mm_machine *m, uint64_t start, uint64_t end, pteval_t set, pteval_t clr,
		   bool flush, struct mm_error *err)
{
	return __change_page_attr(m, start, end, set, clr, flush, err);
}
