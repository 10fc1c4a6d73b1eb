/* SPDX-License-Identifier: MIT */
/*
 * ptdump.c - the kernel half of the page tables, read back from emulated RAM.
 *
 * Mirrors: arch/x86/mm/dump_pagetables.c (debugfs page_tables/kernel: leaf mappings with
 * the same flags merged, USR RW/ro PWT PCD PSE|PAT GLB NX|x), in the two-part text format
 * of the oracle's page_tables_kernel captures (read from a real swapper_pg_dir through
 * /proc/kcore): part 1, one line per present top-level entry of the kernel half (the pgd
 * entries 768..1023 on 686, the 512 pmd entries under pgd[3] on PAE); part 2, the merged
 * leaf ranges, unmapped gaps included, up to the last mapping.
 * Reads only: accessed and dirty bits are ignored, as in the captures.
 */
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "machine.h"
#include "pgtable.h"

#define FLAG_BITS                                                                                  \
	(_PAGE_USER | _PAGE_RW | _PAGE_PWT | _PAGE_PCD | _PAGE_PSE | _PAGE_GLOBAL | _PAGE_NX)

/* The pgd CPU 0 runs on: initial_page_table until setup_arch() loads swapper_pg_dir. */
static uint64_t dump_pgd(const struct mm_machine *m)
{
	return m->phase >= MM_PHASE_MEMBLOCK ? m->pt.swapper_pg_dir : m->pt.initial_page_table;
}

/* The kernel-half top-level table: its address, entry count, VA span per entry. */
static void top_table(const struct mm_machine *m, uint64_t *table, unsigned int *first,
		      unsigned int *n, unsigned int *shift)
{
	uint64_t pgd = dump_pgd(m);

	if (m->cfg.pae) {
		pteval_t e = pt_read(m, pgd + 3 * 8);

		*table = (e & _PAGE_PRESENT) ? pt_entry_addr(m, e, false) : 0;
		*first = 0;
		*n = 512;
		*shift = 21;
	} else {
		*table = pgd;
		*first = 768;
		*n = 1024;
		*shift = 22;
	}
}

static int add_range(struct mm_host *host, struct mm_page_tables *pt, size_t *cap, uint32_t va,
		     uint64_t size, bool mapped, uint64_t flags, bool large, uint64_t phys)
{
	struct mm_pt_range *r = pt->nr_ranges ? &pt->ranges[pt->nr_ranges - 1] : NULL;

	if (r && r->va_end == va && r->mapped == mapped &&
	    (!mapped || (r->flags == flags && r->large == large))) {
		if (mapped && r->phys + (r->va_end - r->va_start) != phys)
			r->contiguous = false;
		r->va_end += size;
		r->n++;
		return 0;
	}
	if (pt->nr_ranges == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct mm_pt_range *nr = host_realloc(host, pt->ranges, ncap, sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		pt->ranges = nr;
		*cap = ncap;
	}
	pt->ranges[pt->nr_ranges++] = (struct mm_pt_range){.va_start = va,
							   .va_end = (uint64_t)va + size,
							   .mapped = mapped,
							   .flags = flags,
							   .large = large,
							   .n = 1,
							   .phys = phys,
							   .contiguous = true};
	return 0;
}

int mm_page_tables_get(const struct mm_machine *m, struct mm_page_tables *pt, struct mm_error *err)
{
	uint64_t table;
	unsigned int first, n, shift, i, j, ptrs = m->cfg.pae ? 512 : 1024;
	size_t cap = 0;
	unsigned int esz = pt_entry_size(m);

	memset(pt, 0, sizeof(*pt));
	pt->pae = m->cfg.pae;
	pt->pgd = dump_pgd(m);
	if (m->phase < MM_PHASE_EARLY_PAGE_TABLES)
		return mm_need_phase(m, MM_PHASE_EARLY_PAGE_TABLES, "the page tables", err);
	top_table(m, &table, &first, &n, &shift);
	pt->entries = host_calloc(m->host, n - first, sizeof(*pt->entries));
	if (!pt->entries)
		return mm_set_error(err, -ENOMEM, "out of host memory");
	for (i = first; table && i < n; i++) {
		pteval_t e = pt_read(m, table + (uint64_t)i * esz);
		uint32_t va = m->cfg.pae ? 0xc0000000u + (i << shift) : i << shift;
		uint64_t size = 1ull << shift;
		struct mm_pt_entry *pe;

		if (!(e & _PAGE_PRESENT)) {
			if (add_range(m->host, pt, &cap, va, size, false, 0, false, 0))
				goto nomem;
			continue;
		}
		pe = &pt->entries[pt->nr_entries++];
		pe->index = i;
		pe->va_start = va;
		pe->va_end = (uint64_t)va + size;
		pe->raw = e;
		pe->large = e & _PAGE_PSE;
		pe->phys = pt_entry_addr(m, e, pe->large);
		pe->ptrs_per_table = ptrs;
		if (pe->large) {
			if (add_range(m->host, pt, &cap, va, size, true, e & FLAG_BITS, true,
				      pe->phys))
				goto nomem;
			continue;
		}
		for (j = 0; j < ptrs; j++) {
			pteval_t p = pt_read(m, pe->phys + (uint64_t)j * esz);
			uint32_t pva = va + (j << PAGE_SHIFT);

			if (p)
				pe->nonzero_ptes++;
			if (p & _PAGE_PRESENT)
				pe->present_ptes++;
			if (add_range(m->host, pt, &cap, pva, PAGE_SIZE, p & _PAGE_PRESENT,
				      p & FLAG_BITS, false, pt_entry_addr(m, p, false)))
				goto nomem;
		}
	}
	while (pt->nr_ranges && !pt->ranges[pt->nr_ranges - 1].mapped)
		pt->nr_ranges--; /* the captures end at the last mapping */
	return 0;
nomem:
	mm_page_tables_free(pt);
	return mm_set_error(err, -ENOMEM, "out of host memory");
}

void mm_page_tables_free(struct mm_page_tables *pt)
{
	host_free(pt->entries);
	host_free(pt->ranges);
	pt->entries = NULL;
	pt->ranges = NULL;
	pt->nr_entries = pt->nr_ranges = 0;
}

static void size_text(uint64_t size, char *buf, size_t n)
{
	static const char units[] = "KMG";
	unsigned int u = 0;

	size >>= 10;
	while (u < 2 && size && !(size & 1023)) {
		size >>= 10;
		u++;
	}
	snprintf(buf, n, "%llu%c", (unsigned long long)size, units[u]);
}

int mm_page_tables_render(const struct mm_machine *m, struct mm_buf *b, struct mm_error *err)
{
	struct mm_page_tables pt;
	const char *level = m->cfg.pae ? "pmd" : "pde";
	unsigned int i;
	int r = mm_page_tables_get(m, &pt, err);

	if (r)
		return r;
	mm_buf_printf(b, "# Kernel half of %s, read through /proc/kcore (%s paging).\n",
		      dump_pgd(m) == m->pt.swapper_pg_dir ? "swapper_pg_dir" : "initial_page_table",
		      m->cfg.pae ? "PAE 3-level" : "2-level non-PAE");
	mm_buf_printf(b, "# Part 1: one line per present %s entry.\n", m->cfg.pae ? "PMD" : "PDE");
	mm_buf_puts(b, "# Part 2: merged leaf mappings (same flags, contiguous VA), like debugfs "
		       "page_tables/kernel.\n");
	mm_buf_puts(b, "# flags: USR RW/ro PWT PCD PSE|PAT GLB NX|x ; Accessed/Dirty ignored.\n\n");
	mm_buf_printf(b,
		      "## Part 1: %s entries (index, VA range, kind, phys, present PTEs, "
		      "first..last mapped VA)\n",
		      m->cfg.pae ? "PMD" : "PDE");
	for (i = 0; i < pt.nr_entries; i++) {
		const struct mm_pt_entry *e = &pt.entries[i];
		char flags[64];

		mm_buf_printf(b, "%4u 0x%08x-0x%08llx  ", e->index, e->va_start,
			      (unsigned long long)e->va_end);
		if (e->large) {
			pt_flags_text(e->raw, m->cfg.pae, true, flags, sizeof(flags));
			mm_buf_printf(b, "large %-5s phys=0x%09llx  %s\n", m->cfg.pae ? "2M" : "4M",
				      (unsigned long long)e->phys, flags);
			continue;
		}
		mm_buf_printf(
			b, "table       pt_phys=0x%08llx  present_ptes=%4u/%u nonzero=%4u  mapped ",
			(unsigned long long)e->phys, e->present_ptes, e->ptrs_per_table,
			e->nonzero_ptes);
		if (e->present_ptes) {
			uint32_t lo = 0, hi = 0;
			unsigned int j;
			bool seen = false;

			for (j = 0; j < pt.nr_ranges; j++) {
				const struct mm_pt_range *rg = &pt.ranges[j];

				if (!rg->mapped || rg->va_end <= e->va_start ||
				    rg->va_start >= e->va_end)
					continue;
				if (!seen)
					lo = MM_MAX(rg->va_start, e->va_start);
				hi = (uint32_t)(MM_MIN(rg->va_end, e->va_end) - 1);
				seen = true;
			}
			mm_buf_printf(b, "0x%08x..0x%08x", lo, hi);
		} else {
			mm_buf_puts(b, "-");
		}
		if (e->phys == m->pt.pkmap_page_table && m->pt.pkmap_page_table)
			mm_buf_printf(b, "  <= pkmap_page_table (PKMAP_BASE=0x%08x)",
				      m->layout.pkmap_base);
		mm_buf_puts(b, "\n");
	}
	mm_buf_puts(b, "\n## Part 2: merged leaf mappings\n");
	for (i = 0; i < pt.nr_ranges; i++) {
		const struct mm_pt_range *rg = &pt.ranges[i];
		char size[32], flags[64];

		size_text(rg->va_end - rg->va_start, size, sizeof(size));
		mm_buf_printf(b, "0x%08x-0x%08llx %9s  ", rg->va_start,
			      (unsigned long long)rg->va_end, size);
		if (!rg->mapped) {
			mm_buf_printf(b, "%-26s %-3sunmapped\n", "", "");
			continue;
		}
		pt_flags_text(rg->flags, m->cfg.pae, rg->large, flags, sizeof(flags));
		mm_buf_printf(b, "%s %s  n=%-5u phys=0x%09llx%s\n", flags,
			      rg->large ? level : "pte", rg->n, (unsigned long long)rg->phys,
			      rg->contiguous ? "" : " (non-contiguous phys)");
	}
	mm_page_tables_free(&pt);
	if (mm_buf_status(b))
		return mm_set_error(err, -ENOMEM, "out of host memory rendering the page tables");
	return 0;
}
