/* SPDX-License-Identifier: MIT */
/*
 * pgtable.c - page-table entries in emulated RAM and the hardware walk; see pgtable.h.
 *
 * The walk is the CPU's, not the kernel's: it reads entries from RAM as the MMU does,
 * combines the rights of every level (RW and USER must be set at each level, NX at any
 * level forbids execution), and stops at the first entry that is not present or has a
 * reserved bit set. It changes nothing: setting the accessed and dirty bits is the job of
 * the access that uses the translation (mmu.c), after it knows the access is allowed.
 */
#include <stdio.h>
#include <string.h>

#include "machine.h"
#include "pgtable.h"

unsigned int pt_entry_size(const struct mm_machine *m)
{
	return m->cfg.pae ? 8u : 4u;
}

pteval_t pt_read(const struct mm_machine *m, uint64_t addr)
{
	if (addr + pt_entry_size(m) > m->ram_size)
		return 0; /* no RAM there: the bus reads zeros */
	if (m->cfg.pae) {
		uint64_t v;

		memcpy(&v, m->ram + addr, 8);
		return v;
	} else {
		uint32_t v;

		memcpy(&v, m->ram + addr, 4);
		return v;
	}
}

void pt_write(struct mm_machine *m, uint64_t addr, pteval_t v)
{
	if (addr + pt_entry_size(m) > m->ram_size)
		return;
	if (m->cfg.pae) {
		memcpy(m->ram + addr, &v, 8);
	} else {
		uint32_t w = (uint32_t)v;

		memcpy(m->ram + addr, &w, 4);
	}
	if (m->pgstate && (addr >> PAGE_SHIFT) < m->pgstate_pfns)
		m->pgstate[addr >> PAGE_SHIFT] |= PGS_RAM_DIRTY;
}

uint64_t pt_entry_addr(const struct mm_machine *m, pteval_t e, bool large)
{
	if (m->cfg.pae)
		return e & PTE_PFN_MASK_PAE & (large ? ~0x1fffffull : ~0ull);
	if (large) /* PSE-36: bits 20..13 of the PDE are physical bits 39..32 */
		return (e & 0xffc00000ull) | (((e >> 13) & 0xffull) << 32);
	return e & PTE_PFN_MASK_2L;
}

static bool rsvd_bits(const struct mm_machine *m, const struct mm_cpu_state *cpu, pteval_t e,
		      int level, bool large)
{
	if (!m->cfg.pae)
		return large && (e & (1ull << 21)); /* PSE-36 with MAXPHYADDR 36: bit 21 */
	if (e & 0x7ffffff000000000ull & ~_PAGE_NX)
		return true; /* above MAXPHYADDR (36) */
	if ((e & _PAGE_NX) && !cpu->nxe)
		return true;
	if (level == 0) /* PDPTE: only P, PWT, PCD and the address */
		return (e & 0x1e6ull) != 0 || (e & _PAGE_NX);
	if (large && (e & 0x1fe000ull))
		return true;
	return false;
}

void pt_walk(const struct mm_machine *m, const struct mm_cpu_state *cpu, uint32_t va,
	     struct pt_walk *w)
{
	uint64_t table = cpu->cr3;
	unsigned int i;

	memset(w, 0, sizeof(*w));
	if (!cpu->pg) {
		w->present = true;
		w->phys = va;
		w->shift = PAGE_SHIFT;
		w->rw = w->user = true;
		return;
	}
	w->rw = w->user = true;
	if (cpu->pae) {
		static const char *const names[3] = {"pgd", "pmd", "pte"};
		const unsigned int shifts[3] = {30, 21, 12};

		table &= ~0x1full;
		for (i = 0; i < 3; i++) {
			struct pt_level *l = &w->lvl[w->nr_levels++];
			unsigned int n = i == 0 ? 4 : 512;
			bool large;

			l->name = names[i];
			l->table = table;
			l->index = (va >> shifts[i]) & (n - 1);
			l->entry_addr = table + (uint64_t)l->index * 8;
			l->raw = pt_read(m, l->entry_addr);
			if (!(l->raw & _PAGE_PRESENT))
				return;
			large = i == 1 && (l->raw & _PAGE_PSE);
			if (rsvd_bits(m, cpu, l->raw, (int)i, large)) {
				w->rsvd = true;
				return;
			}
			if (i > 0) {
				w->rw &= !!(l->raw & _PAGE_RW);
				w->user &= !!(l->raw & _PAGE_USER);
				w->nx |= cpu->nxe && (l->raw & _PAGE_NX);
			}
			if (large || i == 2) {
				w->present = true;
				w->shift = shifts[i];
				w->leaf = l->raw;
				w->phys = pt_entry_addr(m, l->raw, large) |
					  (va & ((1u << shifts[i]) - 1));
				w->global = l->raw & _PAGE_GLOBAL;
				w->dirty = l->raw & _PAGE_DIRTY;
				return;
			}
			table = pt_entry_addr(m, l->raw, false);
		}
		return;
	}
	for (i = 0; i < 2; i++) {
		struct pt_level *l = &w->lvl[w->nr_levels++];
		unsigned int shift = i == 0 ? 22 : 12;
		bool large;

		l->name = i == 0 ? "pgd" : "pte";
		l->table = table & ~0xfffull;
		l->index = (va >> shift) & 1023;
		l->entry_addr = l->table + (uint64_t)l->index * 4;
		l->raw = pt_read(m, l->entry_addr);
		if (!(l->raw & _PAGE_PRESENT))
			return;
		large = i == 0 && cpu->pse && (l->raw & _PAGE_PSE);
		if (rsvd_bits(m, cpu, l->raw, (int)i, large)) {
			w->rsvd = true;
			return;
		}
		w->rw &= !!(l->raw & _PAGE_RW);
		w->user &= !!(l->raw & _PAGE_USER);
		if (large || i == 1) {
			w->present = true;
			w->shift = shift;
			w->leaf = l->raw;
			w->phys = pt_entry_addr(m, l->raw, large) | (va & ((1u << shift) - 1));
			w->global = l->raw & _PAGE_GLOBAL;
			w->dirty = l->raw & _PAGE_DIRTY;
			return;
		}
		table = pt_entry_addr(m, l->raw, false);
	}
}

/* "USR RW/ro PWT PCD PSE|PAT GLB NX|x", each column padded, as the dump prints them. */
size_t pt_flags_text(pteval_t e, bool pae, bool large, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%-3s %-2s %-3s %-3s %-3s %-3s %-2s",
			 (e & _PAGE_USER) ? "USR" : "", (e & _PAGE_RW) ? "RW" : "ro",
			 (e & _PAGE_PWT) ? "PWT" : "", (e & _PAGE_PCD) ? "PCD" : "",
			 (e & _PAGE_PSE) ? (large ? "PSE" : "PAT") : "",
			 (e & _PAGE_GLOBAL) ? "GLB" : "", (pae && (e & _PAGE_NX)) ? "NX" : "x");
	return n > 0 ? (size_t)n : 0;
}
