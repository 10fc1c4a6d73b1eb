/* SPDX-License-Identifier: MIT */
/*
 * vmalloc.c - noncontiguous memory: the vmap areas of [VMALLOC_START, VMALLOC_END) and
 * the mappings built on them.
 *
 * Mirrors: mm/vmalloc.c, arch/x86/mm/ioremap.c, arch/x86/mm/pat/set_memory.c (the alias
 * rule), and the boot-time users of the range on Debian's 6.1 i386 kernels.
 *
 * What a student sees here, in the kernel's words:
 *  - An area is carved from the free space at the lowest address that fits, aligned as
 *    asked, one guard page longer than asked unless VM_NO_GUARD; the guard page is never
 *    mapped, so running off the end of a vmalloc'd buffer faults instead of corrupting the
 *    next one.
 *  - vmalloc() takes its pages from the page allocator's bulk path, up to 100 at a time,
 *    with GFP_KERNEL | __GFP_HIGHMEM: HighMem first, since only the kernel's own page
 *    tables need to reach them; a zone serves a request only if it stays above its low
 *    watermark with all of it gone, so a big vmalloc moves down to Normal earlier than
 *    single pages would. The PTEs go into swapper_pg_dir in emulated RAM; a PTE page is
 *    allocated (GFP_KERNEL | __GFP_ZERO, lowmem) the first time a pmd of the range is used,
 *    and stays for good.
 *  - vfree() clears the PTEs at once but does not flush the TLBs: the area goes on the
 *    purge list ("unpurged vm_area" in /proc/vmallocinfo) and its addresses are not
 *    reused until a purge, which flushes the whole batch with one flush_tlb_kernel_range().
 *    A purge happens when more than lazy_max_pages() are waiting (at the end of the command
 *    whose free crossed it), when an allocation finds no room, and in vm_unmap_aliases(),
 *    which every set_memory_*() calls first. Until then a CPU may still hold a stale
 *    translation of a freed address: the kernel's bargain, visible here.
 *  - set_memory_ro()/rw() on a vmalloc'd lowmem page change its direct-map alias too
 *    (cpa_process_alias()), which splits a 4 MiB (2 MiB) direct-map page; _x/_nx do not
 *    check aliases. HighMem pages have no alias.
 * Invariants: see vmalloc.h (V1..V6), checked by check_vmalloc() in check.c.
 *  - The array of struct page pointers an area's vm_struct keeps (area->pages, 4 bytes a
 *    page) is kmalloc'd when it fits a page (areas up to 1024 pages: kmalloc-8 for one or
 *    two pages, kmalloc-4k for 1024) and vmalloc'd itself beyond that ("vpages" in
 *    /proc/vmallocinfo, the inner area under the same caller), with the caller's reclaim
 *    bits and __GFP_ZERO; vfree() frees it the same way (kvfree()). Boot model 4 on: the
 *    boot's own vmalloc areas take theirs from SLUB too; models 1-3 kmalloc none.
 * Not modelled: the kmalloc'd struct vmap_area and vm_struct, the array's contents (the
 * frames are kept on the host), vm_map_ram()'s per-CPU blocks.
 */
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "machine.h"
#include "mmdebug.h"
#include "page_alloc.h"
#include "slab.h"
#include "snapshot.h"

#define ULONG_MAX_32 0xffffffffULL
#define IOREMAP_MAX_ORDER(m) ((m)->geo.pmd_shift)
#define TLB_SINGLE_PAGE_FLUSH_CEILING 33u /* arch/x86/mm/tlb.c */

/* ---- the three sets ------------------------------------------------------------------- */

static int grow(struct mm_host *h, void **arr, uint32_t *cap, uint32_t need, size_t elem)
{
	uint32_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	n = host_realloc(h, *arr, ncap, elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

/* Index of the first range with va_end > @addr (binary search). */
static uint32_t range_lower(const struct vmap_range *r, uint32_t n, uint64_t addr)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (r[mid].va_end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint32_t busy_lower(const struct vmap_state *v, uint64_t addr)
{
	uint32_t lo = 0, hi = v->nr_busy;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v->busy[mid].va_end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * merge_or_add_vmap_area(): put [start, end) into a sorted set, coalescing with the
 * neighbours it touches.
 */
static int merge_or_add(struct mm_host *h, struct vmap_range **arr, uint32_t *nr, uint32_t *cap,
			uint64_t start, uint64_t end)
{
	uint32_t i = range_lower(*arr, *nr, start);
	struct vmap_range *r;
	bool prev, next;

	/* i: first with va_end > start; the one before may end exactly at start */
	if (i > 0 && (*arr)[i - 1].va_end == start)
		i--;
	r = *arr;
	prev = i < *nr && r[i].va_end == start;
	next = (prev ? i + 1 : i) < *nr && r[prev ? i + 1 : i].va_start == end;
	if (prev && next) {
		r[i].va_end = r[i + 1].va_end;
		memmove(&r[i + 1], &r[i + 2], (size_t)(*nr - i - 2) * sizeof(*r));
		(*nr)--;
		return 0;
	}
	if (prev) {
		r[i].va_end = end;
		return 0;
	}
	if (next) {
		r[i].va_start = start;
		return 0;
	}
	if (grow(h, (void **)arr, cap, *nr + 1, sizeof(**arr)))
		return -ENOMEM;
	r = *arr;
	memmove(&r[i + 1], &r[i], (size_t)(*nr - i) * sizeof(*r));
	r[i].va_start = start;
	r[i].va_end = end;
	(*nr)++;
	return 0;
}

static int insert_busy(struct mm_host *h, struct vmap_state *v, const struct vmap_area *va)
{
	uint32_t i = busy_lower(v, va->va_start);

	if (grow(h, (void **)&v->busy, &v->cap_busy, v->nr_busy + 1, sizeof(*v->busy)))
		return -ENOMEM;
	memmove(&v->busy[i + 1], &v->busy[i], (size_t)(v->nr_busy - i) * sizeof(*v->busy));
	v->busy[i] = *va;
	v->nr_busy++;
	return 0;
}

static void remove_busy(struct vmap_state *v, uint32_t i)
{
	memmove(&v->busy[i], &v->busy[i + 1], (size_t)(v->nr_busy - i - 1) * sizeof(*v->busy));
	v->nr_busy--;
}

int vmalloc_init(struct mm_machine *m, struct mm_error *err)
{
	struct vmap_state *v = &m->vmap;

	if (grow(m->host, (void **)&v->free, &v->cap_free, 1, sizeof(*v->free)))
		return mm_set_error(err, -ENOMEM, "out of host memory for the vmap areas");
	/* vmap_init_free_space(): no early vmlist areas on i386 */
	v->free[0].va_start = 1;
	v->free[0].va_end = ULONG_MAX_32;
	v->nr_free = 1;
	v->ready = true;
	return 0;
}

void vmalloc_finish(struct mm_machine *m)
{
	struct vmap_state *v = &m->vmap;
	uint32_t i;

	for (i = 0; v->busy && i < v->nr_busy; i++)
		host_free(v->busy[i].vm.pages);
	host_free(v->busy);
	host_free(v->free);
	host_free(v->purge);
	memset(v, 0, sizeof(*v));
}

const struct vmap_area *find_vmap_area(const struct mm_machine *m, uint64_t addr)
{
	const struct vmap_state *v = &m->vmap;
	uint32_t i = busy_lower(v, addr);

	if (i < v->nr_busy && v->busy[i].va_start <= addr)
		return &v->busy[i];
	return NULL;
}

uint64_t lazy_max_pages(const struct mm_machine *m)
{
	return (uint64_t)fls_u64(m->cfg.cpus) * ((32u << 20) >> PAGE_SHIFT);
}

/* ---- TLB ------------------------------------------------------------------------------ */

/*
 * flush_tlb_kernel_range() on every CPU: page by page with invlpg up to
 * tlb_single_page_flush_ceiling pages, else one full flush (globals included).
 */
static void flush_tlb_kernel_range(struct mm_machine *m, uint64_t start, uint64_t end)
{
	unsigned int cpu;
	uint64_t va;

	for (cpu = 0; cpu < m->cfg.cpus; cpu++) {
		if (((end - start) >> PAGE_SHIFT) > TLB_SINGLE_PAGE_FLUSH_CEILING) {
			tlb_flush(&m->cpus[cpu].tlb, false);
			continue;
		}
		for (va = start; va < end; va += PAGE_SIZE)
			tlb_invlpg(&m->cpus[cpu].tlb, (uint32_t)va);
	}
}

/* ---- allocation of an area ------------------------------------------------------------ */

/* is_within_this_va() */
static bool is_within_this_va(const struct vmap_range *va, uint64_t size, uint64_t align,
			      uint64_t vstart, uint64_t *nva)
{
	uint64_t s = va->va_start > vstart ? va->va_start : vstart;

	s = (s + align - 1) & ~(align - 1);
	if (s < vstart)
		return false;
	*nva = s;
	return s + size <= va->va_end;
}

/*
 * __purge_vmap_area_lazy(): one flush for the whole batch, then every lazily freed range
 * goes back to the free set, merged with its neighbours. False when nothing was waiting.
 */
static bool purge_vmap_area_lazy(struct mm_machine *m)
{
	struct vmap_state *v = &m->vmap;
	uint32_t i;

	if (!v->nr_purge)
		return false;
	flush_tlb_kernel_range(m, v->purge[0].va_start, v->purge[v->nr_purge - 1].va_end);
	for (i = 0; i < v->nr_purge; i++) {
		uint64_t pages = (v->purge[i].va_end - v->purge[i].va_start) >> PAGE_SHIFT;

		/* the free set only grows by merging or by one entry, reserved below */
		if (merge_or_add(m->host, &v->free, &v->nr_free, &v->cap_free, v->purge[i].va_start,
				 v->purge[i].va_end))
			break;
		v->vmap_lazy_nr -= pages;
		v->nr_purged_pages += pages;
	}
	if (i < v->nr_purge) { /* host OOM: keep the rest waiting, nothing is lost */
		memmove(v->purge, &v->purge[i], (size_t)(v->nr_purge - i) * sizeof(*v->purge));
		v->nr_purge -= i;
	} else {
		v->nr_purge = 0;
	}
	v->nr_purges++;
	v->drain_pending = false;
	return true;
}

void vm_unmap_aliases(struct mm_machine *m)
{
	if (m->vmap.ready)
		purge_vmap_area_lazy(m);
}

void vmalloc_run_deferred(struct mm_machine *m)
{
	if (m->vmap.ready && m->vmap.drain_pending && m->vmap.vmap_lazy_nr > lazy_max_pages(m))
		purge_vmap_area_lazy(m);
	m->vmap.drain_pending = false;
}

/*
 * alloc_vmap_area(): the lowest free address in [vstart, vend) where @size bytes start
 * at a multiple of @align. The fit is cut out of its free area (whole, left edge, right
 * edge or middle: adjust_va_to_fit_type()). With no room, the lazily freed areas are
 * purged once and the search retried, then the kernel's warning is logged.
 * Return: 0 and *@ret; -ENOSPC with the warning; -ENOMEM for the host.
 */
static int alloc_vmap_area(struct mm_machine *m, uint64_t size, uint64_t align, uint64_t vstart,
			   uint64_t vend, bool nowarn, uint64_t *ret, struct mm_error *err)
{
	struct vmap_state *v = &m->vmap;
	bool purged = false;
	uint64_t nva = 0;
	uint32_t i;

retry:
	for (i = range_lower(v->free, v->nr_free, vstart); i < v->nr_free; i++)
		if (is_within_this_va(&v->free[i], size, align, vstart, &nva))
			break;
	if (i == v->nr_free || nva + size > vend) {
		if (!purged) {
			purged = purge_vmap_area_lazy(m);
			if (purged)
				goto retry;
		}
		if (!nowarn)
			printk(m,
			       "vmap allocation for size %llu failed: use vmalloc=<size> to "
			       "increase size\n",
			       (unsigned long long)size);
		return mm_set_error(err, -ENOSPC,
				    "vmap allocation for size %llu failed: no free range of the "
				    "vmalloc area [%#llx, %#llx) fits (use vmalloc=<size> to "
				    "increase size)",
				    (unsigned long long)size, (unsigned long long)vstart,
				    (unsigned long long)vend);
	}
	{
		struct vmap_range *va = &v->free[i];

		if (va->va_start == nva && va->va_end == nva + size) { /* FL_FIT_TYPE */
			memmove(va, va + 1, (size_t)(v->nr_free - i - 1) * sizeof(*va));
			v->nr_free--;
		} else if (va->va_start == nva) { /* LE_FIT_TYPE */
			va->va_start += size;
		} else if (va->va_end == nva + size) { /* RE_FIT_TYPE */
			va->va_end = nva;
		} else { /* NE_FIT_TYPE: split */
			uint64_t end = va->va_end;

			if (grow(m->host, (void **)&v->free, &v->cap_free, v->nr_free + 1,
				 sizeof(*v->free)))
				return mm_set_error(err, -ENOMEM, "out of host memory");
			va = &v->free[i];
			memmove(va + 2, va + 1, (size_t)(v->nr_free - i - 1) * sizeof(*va));
			va->va_end = nva;
			va[1].va_start = nva + size;
			va[1].va_end = end;
			v->nr_free++;
		}
	}
	*ret = nva;
	return 0;
}

/*
 * free_vmap_area_noflush(): the busy area at index @i leaves the busy set for the purge
 * set; the drain is queued once more than lazy_max_pages() wait.
 */
static int free_vmap_area_noflush(struct mm_machine *m, uint32_t i)
{
	struct vmap_state *v = &m->vmap;
	uint64_t s = v->busy[i].va_start, e = v->busy[i].va_end;

	if (merge_or_add(m->host, &v->purge, &v->nr_purge, &v->cap_purge, s, e))
		return -ENOMEM;
	host_free(v->busy[i].vm.pages);
	remove_busy(v, i);
	v->vmap_lazy_nr += (e - s) >> PAGE_SHIFT;
	if (v->vmap_lazy_nr > lazy_max_pages(m))
		v->drain_pending = true;
	return 0;
}

/* order_base_2() / get_count_order_long() */
static unsigned int order_base_2(uint64_t n)
{
	return n <= 1 ? 0 : fls_u64(n - 1);
}

/*
 * __get_vm_area_node(): page-align @size, align an ioremap to its own size (up to a pmd),
 * add the guard page, find the addresses, and record the vm_struct in the busy set.
 * Returns the busy index through *@idx.
 */
static int get_vm_area(struct mm_machine *m, uint64_t size, uint64_t align, uint32_t flags,
		       const char *caller, bool api, uint32_t *idx, struct mm_error *err)
{
	struct vmap_area va;
	uint64_t addr;
	int r;

	size = PAGE_ALIGN(size);
	if (!size)
		return mm_set_error(err, -EINVAL, "a vmap area of size 0");
	if (flags & VM_IOREMAP) {
		unsigned int o = order_base_2(size);

		o = MM_MAX(o, (unsigned int)PAGE_SHIFT);
		o = MM_MIN(o, IOREMAP_MAX_ORDER(m));
		align = 1ULL << o;
	}
	if (!(flags & VM_NO_GUARD))
		size += PAGE_SIZE;
	r = alloc_vmap_area(m, size, align, m->layout.vmalloc_start, m->layout.vmalloc_end, false,
			    &addr, err);
	if (r)
		return r;
	memset(&va, 0, sizeof(va));
	va.va_start = addr;
	va.va_end = addr + size;
	va.has_vm = true;
	va.vm.addr = (uint32_t)addr;
	va.vm.size = (uint32_t)size;
	va.vm.flags = flags;
	va.vm.api = api;
	snprintf(va.vm.caller, sizeof(va.vm.caller), "%s", caller);
	if (insert_busy(m->host, &m->vmap, &va)) {
		merge_or_add(m->host, &m->vmap.free, &m->vmap.nr_free, &m->vmap.cap_free, addr,
			     addr + size);
		return mm_set_error(err, -ENOMEM, "out of host memory");
	}
	*idx = busy_lower(&m->vmap, addr);
	return 0;
}

static uint32_t area_index(const struct mm_machine *m, uint32_t addr)
{
	return busy_lower(&m->vmap, addr);
}

/* ---- page tables of the range ----------------------------------------------------------- */

/*
 * pte_alloc_kernel(): the PTE slot of @va, with a zeroed lowmem page from the page
 * allocator (GFP_PGTABLE_KERNEL) hooked into the pmd the first time it is needed.
 */
static int pte_alloc_kernel(struct mm_machine *m, uint32_t va, unsigned int cpu, uint64_t *pte,
			    struct mm_error *err)
{
	uint64_t pmde = kernel_pmd_entry(m, va), pt;
	pteval_t e = pt_read(m, pmde);
	unsigned int n = m->cfg.pae ? 512u : 1024u;
	bool forever;

	if (!(e & _PAGE_PRESENT)) {
		pfn_t pfn = __alloc_pages(m, GFP_KERNEL | __GFP_ZERO, 0, cpu, &forever);

		if (pfn == PFN_NIL)
			return mm_set_error(err, -ENOSPC,
					    "no page for a page table of the vmalloc range");
		m->pgstate[pfn] |= PGS_KERNEL; /* the kernel's page table: not the API's to free */
		memset(m->ram + PFN_PHYS(pfn), 0, PAGE_SIZE);
		pt_write(m, pmde, PFN_PHYS(pfn) | _KERNPG_TABLE); /* pmd_populate_kernel() */
		e = pt_read(m, pmde);
	}
	pt = pt_entry_addr(m, e, false);
	*pte = pt + (uint64_t)((va >> PAGE_SHIFT) & (n - 1)) * pt_entry_size(m);
	return 0;
}

/* The PTE slot of @va if its page table exists, else 0. */
static uint64_t pte_lookup(const struct mm_machine *m, uint32_t va)
{
	uint64_t pmde = kernel_pmd_entry(m, va);
	pteval_t e = pt_read(m, pmde);
	unsigned int n = m->cfg.pae ? 512u : 1024u;

	if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE))
		return 0;
	return pt_entry_addr(m, e, false) +
	       (uint64_t)((va >> PAGE_SHIFT) & (n - 1)) * pt_entry_size(m);
}

/*
 * vmap_try_huge_pmd() of ioremap_page_range(), PAE only (HAVE_ARCH_HUGE_VMAP is
 * X86_64 || X86_PAE): a whole pmd of the area, virtual and physical addresses 2 MiB
 * aligned, becomes one large entry (pmd_set_huge()); an empty PTE page left under it by
 * earlier areas is freed first (pmd_free_pte_page()).
 */
static bool ioremap_try_huge_pmd(struct mm_machine *m, uint32_t va, phys_addr_t pa, uint32_t left,
				 pteval_t prot, unsigned int cpu)
{
	uint64_t pmd = m->layout.pmd_size, pmde;
	pteval_t e;

	if (!m->cfg.pae || !m->cpu_pse || (va & (pmd - 1)) || (pa & (pmd - 1)) ||
	    (uint64_t)left * PAGE_SIZE < pmd)
		return false;
	pmde = kernel_pmd_entry(m, va);
	e = pt_read(m, pmde);
	if ((e & _PAGE_PRESENT) && !(e & _PAGE_PSE)) {
		pfn_t table = (pfn_t)(pt_entry_addr(m, e, false) >> PAGE_SHIFT);

		pt_write(m, pmde, 0);
		flush_tlb_kernel_range(m, va, (uint64_t)va + pmd);
		__free_pages(m, table, 0, cpu);
	}
	pt_write(m, pmde, pa | kernel_pte_mask(m, prot) | _PAGE_PSE);
	return true;
}

/* vmap_pages_range() / ioremap_page_range(): @n PTEs from @addr on. */
static int map_pages(struct mm_machine *m, uint32_t addr, const pfn_t *pages, phys_addr_t phys,
		     uint32_t n, pteval_t prot, unsigned int cpu, struct mm_error *err)
{
	uint32_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (!pages &&
		    ioremap_try_huge_pmd(m, addr + i * PAGE_SIZE, phys + (uint64_t)i * PAGE_SIZE,
					 n - i, prot, cpu)) {
			i += (uint32_t)(m->layout.pmd_size >> PAGE_SHIFT) - 1;
			continue;
		}
		uint32_t va = addr + i * PAGE_SIZE;
		uint64_t pte = 0, pa = pages ? PFN_PHYS(pages[i]) : phys + (uint64_t)i * PAGE_SIZE;

		r = pte_alloc_kernel(m, va, cpu, &pte, err);
		if (r)
			return r;
		pt_write(m, pte, pa | kernel_pte_mask(m, prot));
	}
	return 0;
}

/* vunmap_range_noflush(): clear the PTEs of [start, end) (a large pmd entry whole:
 * pmd_clear_huge()); no TLB flush. */
static void unmap_range_noflush(struct mm_machine *m, uint64_t start, uint64_t end)
{
	uint64_t va;

	for (va = start; va < end; va += PAGE_SIZE) {
		uint64_t pmde = kernel_pmd_entry(m, (uint32_t)va), pte;

		if ((pt_read(m, pmde) & (_PAGE_PRESENT | _PAGE_PSE)) ==
		    (_PAGE_PRESENT | _PAGE_PSE)) {
			pt_write(m, pmde, 0);
			va = (va | (m->layout.pmd_size - 1)) + 1 - PAGE_SIZE;
			continue;
		}
		pte = pte_lookup(m, (uint32_t)va);

		if (pte)
			pt_write(m, pte, 0);
	}
}

/* ---- vmalloc / vfree ---------------------------------------------------------------- */

static int vfree_index(struct mm_machine *m, uint32_t i, unsigned int cpu, struct mm_error *err);

/*
 * __vmalloc_node_range() over [VMALLOC_START, VMALLOC_END) with align 1, PAGE_KERNEL:
 * the area first, then the page array (kmalloc'd up to one page of pointers, else itself
 * vmalloc'd: "vpages"), the pages (HighMem first), the PTEs.
 */
static int __vmalloc(struct mm_machine *m, unsigned int cpu, uint64_t size, gfp_t gfp,
		     uint32_t vm_flags, const char *caller, bool api, uint32_t *ret_addr,
		     struct mm_error *err)
{
	struct vmap_area *va;
	uint32_t idx, addr, nr, pages_area = 0, i;
	pfn_t *pages;
	bool forever;
	int r;

	nr = (uint32_t)(PAGE_ALIGN(size) >> PAGE_SHIFT);
	r = get_vm_area(m, size, 1, VM_ALLOC | VM_UNINITIALIZED | vm_flags, caller, api, &idx, err);
	if (r) {
		if (r == -ENOSPC)
			printk(m, "vmalloc error: size %llu, vm_struct allocation failed\n",
			       (unsigned long long)size);
		return r;
	}
	addr = m->vmap.busy[idx].vm.addr;
	if (boot_allocates_slab_pages(m)) {
		/* the array of struct page pointers: nested_gfp keeps only the reclaim bits of
		 * the caller's mask (no zone, no __GFP_ACCOUNT), zeroed; up to a page from
		 * kmalloc (kmalloc-8 .. kmalloc-4k), beyond that vmalloc'd itself, under the
		 * same caller */
		gfp_t nested_gfp = (gfp & GFP_RECLAIM_MASK) | __GFP_ZERO;
		uint32_t array_size = nr * 4;

		if (array_size > PAGE_SIZE)
			r = __vmalloc(m, cpu, array_size, nested_gfp, 0, caller, api, &pages_area,
				      err);
		else
			r = slab_kmalloc(m, array_size, nested_gfp, cpu, &pages_area, err);
		if (r) {
			printk(m,
			       "vmalloc error: size %llu, failed to allocated page array size "
			       "%u\n",
			       (unsigned long long)nr << PAGE_SHIFT, array_size);
			goto fail_area;
		}
	} else if ((uint64_t)nr * 4 > PAGE_SIZE) { /* boot models 1-3: vmalloc'd arrays only */
		r = __vmalloc(m, cpu, (uint64_t)nr * 4, (gfp & ~(gfp_t)__GFP_HIGHMEM) | __GFP_ZERO,
			      0, caller, api, &pages_area, err);
		if (r)
			goto fail_area;
	}
	pages = host_calloc(m->host, nr, sizeof(*pages));
	if (!pages) {
		r = mm_set_error(err, -ENOMEM, "out of host memory");
		goto fail_area;
	}
	va = &m->vmap.busy[area_index(m, addr)];
	va->vm.pages = pages;
	va->vm.pages_area = pages_area;
	/* vm_area_alloc_pages(): the bulk allocator in requests of at most 100 pages, then
	 * single pages for what it did not give; HighMem unless the caller asked for a DMA
	 * zone (__vmalloc_area_node()) */
	gfp |= __GFP_NOWARN;
	if (!(gfp & (__GFP_DMA | __GFP_DMA32)))
		gfp |= __GFP_HIGHMEM;
	for (i = 0; i < nr;) {
		unsigned int req = MM_MIN(100u, nr - i),
			     got = __alloc_pages_bulk(m, gfp & ~(gfp_t)__GFP_NOFAIL, req, cpu,
						      pages + i);

		for (unsigned int k = i; k < i + got; k++)
			m->pgstate[pages[k]] |= PGS_KERNEL; /* vfree frees them, not free_pages */
		i += got;
		va->vm.nr_pages = va->vm.nr_pfns = i;
		if (got != req)
			break;
	}
	for (; i < nr; i++) {
		pfn_t pfn = __alloc_pages(m, gfp, 0, cpu, &forever);

		if (pfn == PFN_NIL)
			break;
		m->pgstate[pfn] |= PGS_KERNEL;
		pages[i] = pfn;
		va->vm.nr_pages = va->vm.nr_pfns = i + 1;
	}
	m->vmap.nr_vmalloc_pages += va->vm.nr_pages;
	if (i < nr) {
		printk(m, "vmalloc error: size %llu, page order 0, failed to allocate pages\n",
		       (unsigned long long)size);
		mm_set_error(err, -ENOSPC,
			     "vmalloc of %llu bytes: only %u of %u pages could be allocated",
			     (unsigned long long)size, i, nr);
		r = -ENOSPC;
		goto fail_area;
	}
	r = map_pages(m, addr, pages, 0, nr, __PAGE_KERNEL, cpu, err);
	if (r)
		goto fail_area;
	m->vmap.busy[area_index(m, addr)].vm.flags &= ~VM_UNINITIALIZED;
	*ret_addr = addr;
	return 0;
fail_area : {
	struct mm_error e2;

	vfree_index(m, area_index(m, addr), cpu, &e2); /* __vfree(area->addr) */
	return r;
}
}

/*
 * __vunmap(): remove_vm_area() (PTEs cleared now, addresses freed lazily), reset the
 * direct map of VM_FLUSH_RESET_PERMS areas, then free the pages, the count and the
 * page array (vfree'd too when it was vmalloc'd).
 */
static int vfree_index(struct mm_machine *m, uint32_t i, unsigned int cpu, struct mm_error *err)
{
	struct vm_struct vm = m->vmap.busy[i].vm;
	uint32_t k;
	pfn_t *pages = vm.pages;
	int r;

	unmap_range_noflush(m, m->vmap.busy[i].va_start, m->vmap.busy[i].va_end);
	m->vmap.busy[i].vm.pages = NULL; /* kept here until the pages are freed */
	r = free_vmap_area_noflush(m, i);
	if (r) {
		host_free(pages);
		return mm_set_error(err, r, "out of host memory");
	}
	if ((vm.flags & VM_FLUSH_RESET_PERMS) && pages && (vm.flags & VM_ALLOC)) {
		/* vm_remove_mappings(): the alias invalid, one flush of the direct-map range
		 * (with the purge when one is due), then the alias back to its default */
		uint64_t ds = UINT64_MAX, de = 0;

		for (k = 0; k < vm.nr_pfns; k++)
			if (pages[k] < m->layout.max_low_pfn) {
				uint64_t pa = PFN_PHYS(pages[k]);

				cpa_direct_map(m, pa, pa + PAGE_SIZE, 0, _PAGE_PRESENT | _PAGE_RW,
					       false, err);
				ds = MM_MIN(ds, PAGE_OFFSET + pa);
				de = MM_MAX(de, PAGE_OFFSET + pa + PAGE_SIZE);
			}
		if (!purge_vmap_area_lazy(m) && de)
			flush_tlb_kernel_range(m, ds, de);
		for (k = 0; k < vm.nr_pfns; k++)
			if (pages[k] < m->layout.max_low_pfn)
				cpa_direct_map(m, PFN_PHYS(pages[k]),
					       PFN_PHYS(pages[k]) + PAGE_SIZE,
					       _PAGE_PRESENT | _PAGE_RW, 0, false, err);
	} else if (vm.flags & VM_FLUSH_RESET_PERMS)
		vm_unmap_aliases(m); /* vunmap(): the pages stay their owner's, the flush is due */
	if (vm.flags & VM_ALLOC) {
		for (k = 0; k < vm.nr_pages; k++)
			__free_pages(m, pages[k], 0, cpu);
		m->vmap.nr_vmalloc_pages -= vm.nr_pages;
		if (vm.pages_area && is_vmalloc_addr(m, vm.pages_area)) { /* kvfree() */
			uint32_t j = area_index(m, vm.pages_area);

			if (j < m->vmap.nr_busy && m->vmap.busy[j].vm.addr == vm.pages_area)
				vfree_index(m, j, cpu, err);
		} else if (vm.pages_area)
			slab_kfree(m, vm.pages_area, cpu);
	}
	host_free(pages);
	return 0;
}

/* ---- vmap ----------------------------------------------------------------------------- */

static int __vmap(struct mm_machine *m, unsigned int cpu, const pfn_t *pfns, uint32_t count,
		  const char *caller, bool api, uint32_t *ret_addr, struct mm_error *err)
{
	uint32_t idx, addr;
	pfn_t *pages;
	int r;

	pages = host_calloc(m->host, count, sizeof(*pages));
	if (!pages)
		return mm_set_error(err, -ENOMEM, "out of host memory");
	memcpy(pages, pfns, (size_t)count * sizeof(*pages));
	r = get_vm_area(m, (uint64_t)count << PAGE_SHIFT, 1, VM_MAP, caller, api, &idx, err);
	if (r) {
		host_free(pages);
		return r;
	}
	addr = m->vmap.busy[idx].vm.addr;
	m->vmap.busy[idx].vm.pages = pages; /* host only: vm->nr_pages stays 0 */
	m->vmap.busy[idx].vm.nr_pfns = count;
	r = map_pages(m, addr, pages, 0, count, __PAGE_KERNEL, cpu, err); /* pgprot_nx() */
	if (r) {
		struct mm_error e2;

		vfree_index(m, area_index(m, addr), cpu, &e2);
		return r;
	}
	*ret_addr = addr;
	return 0;
}

/* ---- ioremap ---------------------------------------------------------------------------- */

/* Is [phys, phys+size) in use as RAM (an e820 RAM page whose struct page is not reserved)? */
static bool ioremap_on_ram(const struct mm_machine *m, uint64_t phys, uint64_t size)
{
	uint64_t pa;

	for (pa = phys & ~(uint64_t)(PAGE_SIZE - 1); pa < phys + size; pa += PAGE_SIZE) {
		pfn_t pfn = (pfn_t)(pa >> PAGE_SHIFT);

		if (pfn < m->layout.max_pfn && pfn < m->mem_map_pfns &&
		    e820_all_mapped(&m->e820, pa, pa + PAGE_SIZE, MM_E820_RAM) &&
		    !PageReserved(&m->mem_map[pfn]))
			return true;
	}
	return false;
}

/*
 * __ioremap_caller(): whole pages around [phys, phys+size), an area aligned to its size
 * (up to a pmd), PAGE_KERNEL_IO with the cache mode (@pcd: UC-, ioremap(); else WB,
 * ioremap_cache()/memremap()), the direct map of lowmem made uncached to match.
 * Returns the address of @phys itself (area + offset).
 */
static int __ioremap(struct mm_machine *m, unsigned int cpu, uint64_t phys, uint64_t size, bool pcd,
		     const char *caller, bool api, uint32_t *ret_addr, struct mm_error *err)
{
	uint64_t last = phys + size - 1, offset, low_end = PFN_PHYS(m->layout.max_low_pfn);
	uint64_t max_phys = m->cfg.pae ? (1ULL << 36) : (1ULL << 32);
	pteval_t prot = __PAGE_KERNEL | (pcd ? _PAGE_PCD : 0);
	uint32_t idx, addr;
	int r;

	if (!size || last < phys)
		return mm_set_error(err, -EINVAL, "ioremap of size 0 (or wrapping around)");
	if (last >= max_phys)
		return mm_set_error(err, -EINVAL,
				    "ioremap: invalid physical address %llx (beyond the %u-bit "
				    "physical address space)",
				    (unsigned long long)last, m->cfg.pae ? 36 : 32);
	if (ioremap_on_ram(m, phys, size))
		return mm_set_error(err, -EINVAL,
				    "ioremap on RAM at %#llx - %#llx: that RAM belongs to the page "
				    "allocator",
				    (unsigned long long)phys, (unsigned long long)last);
	offset = phys & (PAGE_SIZE - 1);
	phys &= ~(uint64_t)(PAGE_SIZE - 1);
	size = PAGE_ALIGN(last + 1) - phys;
	if (size > (uint64_t)(m->layout.vmalloc_end - m->layout.vmalloc_start))
		return mm_set_error(err, -EINVAL,
				    "ioremap of %llu bytes is larger than the vmalloc area",
				    (unsigned long long)size);
	r = get_vm_area(m, size, 1, VM_IOREMAP, caller, api, &idx, err);
	if (r)
		return r;
	addr = m->vmap.busy[idx].vm.addr;
	m->vmap.busy[idx].vm.phys_addr = phys;
	if (pcd && phys < low_end) /* memtype_kernel_map_sync(): the alias uncached too */
		cpa_direct_map(m, phys, MM_MIN(phys + size, low_end), _PAGE_PCD, _PAGE_PWT, true,
			       err);
	r = map_pages(m, addr, NULL, phys, (uint32_t)(size >> PAGE_SHIFT), prot, cpu, err);
	if (r) {
		struct mm_error e2;

		vfree_index(m, area_index(m, addr), cpu, &e2);
		return r;
	}
	*ret_addr = addr + (uint32_t)offset;
	return 0;
}

/* ---- set_memory_* --------------------------------------------------------------------- */

/*
 * change_page_attr_set_clr() on @numpages pages from @addr in the vmalloc range:
 * vm_unmap_aliases() first, each PTE changed, then for RW changes the direct-map alias of
 * a lowmem page (cpa_process_alias(), which may split a large page), and the flush.
 */
static int set_memory(struct mm_machine *m, uint32_t addr, uint32_t numpages, pteval_t set,
		      pteval_t clr, struct mm_error *err)
{
	bool alias = (set | clr) != _PAGE_NX, flushed_all = false;
	uint32_t k;
	int r;

	if ((set | clr) & _PAGE_NX) {
		if (!m->cfg.pae || !m->cpu_nx)
			return 0; /* set_memory_x/nx: no NX, nothing to do */
	}
	vm_unmap_aliases(m);
	for (k = 0; k < numpages; k++) {
		uint32_t va = addr + k * PAGE_SIZE;
		uint64_t pte = pte_lookup(m, va);
		pteval_t e = pte ? pt_read(m, pte) : 0;
		pfn_t pfn;

		if (!(e & _PAGE_PRESENT))
			continue;
		pt_write(m, pte, (e | set) & ~clr);
		pfn = (pfn_t)(pt_entry_addr(m, e, false) >> PAGE_SHIFT);
		if (alias && pfn < m->layout.max_low_pfn) {
			r = cpa_direct_map(m, PFN_PHYS(pfn), PFN_PHYS(pfn) + PAGE_SIZE, set, clr,
					   false, err);
			if (r)
				return r;
			flushed_all = true; /* cpa->force_flush_all */
		}
	}
	if (flushed_all || numpages > TLB_SINGLE_PAGE_FLUSH_CEILING) {
		unsigned int cpu;

		for (cpu = 0; cpu < m->cfg.cpus; cpu++)
			tlb_flush(&m->cpus[cpu].tlb, false);
	} else {
		flush_tlb_kernel_range(m, addr, (uint64_t)addr + (uint64_t)numpages * PAGE_SIZE);
	}
	return 0;
}

/* ---- the areas of a booted kernel ----------------------------------------------------- */

/*
 * Where the firmware keeps the ACPI tables: an e820 ACPI range if the map has one, else
 * the reserved block SeaBIOS leaves right after the top RAM range below 4 GiB (QEMU's pc
 * machine: 128 KiB, FACS at its start, the DSDT from +0x40 to +0x198b, the FADT after it).
 */
static bool acpi_tables_base(const struct mm_machine *m, uint64_t *base)
{
	const struct e820_table *t = &m->e820_firmware;
	uint64_t ram_top = 0;
	unsigned int i;

	for (i = 0; i < t->nr_entries; i++)
		if (t->entries[i].type == MM_E820_ACPI) {
			*base = t->entries[i].addr;
			return true;
		}
	for (i = 0; i < t->nr_entries; i++) {
		uint64_t end = t->entries[i].addr + t->entries[i].size;

		if (t->entries[i].type == MM_E820_RAM && t->entries[i].addr >= SZ_1M &&
		    end <= 0x100000000ULL && end > ram_top)
			ram_top = end;
	}
	for (i = 0; ram_top && i < t->nr_entries; i++)
		if (t->entries[i].type == MM_E820_RESERVED && t->entries[i].addr == ram_top) {
			*base = ram_top;
			return true;
		}
	return false;
}

#define ACPI_DSDT_OFFSET 0x40u	 /* after the 64-byte FACS */
#define ACPI_DSDT_LENGTH 0x194cu /* QEMU 7.2's DSDT for the pc machine */
#define ACPI_FADT_OFFSET 0x198cu
#define ACPI_FADT_LENGTH 0x74u
#define HPET_ADDRESS 0xfed00000u /* the ACPI HPET table's base */
#define HPET_MMAP_SIZE 1024u
#define DMI_TABLE_ADDRESS 0xf5000u /* SeaBIOS's SMBIOS structure table (f-segment) */
#define DMI_TABLE_LENGTH 0x200u
#define SCOMP_SCRATCH_SIZE 131072u /* crypto/scompress.c */
#define N_TTY_DATA_SIZE 12288u	   /* sizeof(struct n_tty_data), 3 pages on i386 */
#define BPF_PROG_PAGES 1u

static const char *sym(const struct mm_machine *m, const char *np, const char *pae)
{
	return m->cfg.pae ? pae : np;
}

/* acpi_os_map_iomem(): whole pages, ioremap_cache() */
static int acpi_map(struct mm_machine *m, uint64_t phys, uint64_t len, struct mm_error *err)
{
	uint64_t pg = phys & ~(uint64_t)(PAGE_SIZE - 1), sz = PAGE_ALIGN(phys + len) - pg;
	uint32_t addr;

	return __ioremap(m, 0, pg, sz, false,
			 sym(m, "acpi_os_map_iomem+0x211/0x240", "acpi_os_map_iomem+0x215/0x240"),
			 false, &addr, err);
}

/* The boot's areas are made from boot model 2 on (mmcore.h): a machine created with model 1
 * (before they were modelled) boots with an empty vmalloc range, as it did then. */
static bool boot_makes_vmalloc_areas(const struct mm_machine *m)
{
	return !m->cfg.boot_model || m->cfg.boot_model >= 2;
}

/* acpi_early_init() -> acpi_load_tables(): the FADT's page, then the DSDT, stay mapped. */
int vmalloc_boot_acpi_early(struct mm_machine *m, struct mm_error *err)
{
	uint64_t base;
	int r;

	if (!boot_makes_vmalloc_areas(m))
		return 0;

	if (!acpi_tables_base(m, &base))
		return 0;
	r = acpi_map(m, base + ACPI_FADT_OFFSET, ACPI_FADT_LENGTH, err);
	if (!r)
		r = acpi_map(m, base + ACPI_DSDT_OFFSET, ACPI_DSDT_LENGTH, err);
	return r;
}

/* late_time_init() -> hpet_enable(): ioremap() of the HPET's registers (uncached). */
int vmalloc_boot_hpet(struct mm_machine *m, struct mm_error *err)
{
	uint32_t addr;

	if (!boot_makes_vmalloc_areas(m))
		return 0;

	return __ioremap(m, 0, HPET_ADDRESS, HPET_MMAP_SIZE, true,
			 sym(m, "hpet_enable+0xc5/0x3da", "hpet_enable+0xc7/0x3dc"), false, &addr,
			 err);
}

/*
 * A BPF program of the initcalls: bpf_prog_alloc_no_stats() __vmalloc()s it (one page,
 * GFP_KERNEL_ACCOUNT | __GFP_ZERO), then bpf_prog_lock_ro() marks it
 * VM_FLUSH_RESET_PERMS and set_memory_ro(): on a machine without HighMem the page is
 * lowmem and its direct-map alias splits a large page.
 */
int vmalloc_boot_bpf(struct mm_machine *m, struct mm_error *err)
{
	uint32_t addr;
	int r;

	if (!boot_makes_vmalloc_areas(m))
		return 0;
	r = __vmalloc(m, 0, BPF_PROG_PAGES * PAGE_SIZE, GFP_KERNEL | __GFP_ZERO, 0,
		      "bpf_prog_alloc_no_stats+0x2b/0x1b0", false, &addr, err);

	if (r)
		return r;
	m->vmap.busy[area_index(m, addr)].vm.flags |= VM_FLUSH_RESET_PERMS;
	return set_memory(m, addr, BPF_PROG_PAGES, 0, _PAGE_RW, err);
}

/* acpi_init(): the DSDT's HPET OperationRegion is mapped when the namespace is evaluated. */
int vmalloc_boot_acpi_init(struct mm_machine *m, struct mm_error *err)
{
	uint64_t base;

	if (!boot_makes_vmalloc_areas(m))
		return 0;

	if (!acpi_tables_base(m, &base))
		return 0;
	return acpi_map(m, HPET_ADDRESS, HPET_MMAP_SIZE, err);
}

/* dmi_init(): memremap(MEMREMAP_WB) of the SMBIOS table for /sys/firmware/dmi/tables. */
int vmalloc_boot_dmi(struct mm_machine *m, struct mm_error *err)
{
	uint32_t addr;

	if (!boot_makes_vmalloc_areas(m))
		return 0;

	return __ioremap(m, 0, DMI_TABLE_ADDRESS, DMI_TABLE_LENGTH, false,
			 sym(m, "memremap+0xa9/0x170", "memremap+0xc4/0x1a0"), false, &addr, err);
}

/*
 * Addresses a real boot holds and frees before it ends (the holes in every capture's
 * vmallocinfo): taken, then freed lazily, so they are purged by mark_rodata_ro()'s
 * vm_unmap_aliases() and later areas do not reuse them.
 */
int vmalloc_boot_transient(struct mm_machine *m, uint32_t pages, struct mm_error *err)
{
	struct vmap_area va;
	uint64_t addr;
	int r;

	if (!boot_makes_vmalloc_areas(m))
		return 0;

	r = alloc_vmap_area(m, (uint64_t)pages << PAGE_SHIFT, 1, m->layout.vmalloc_start,
			    m->layout.vmalloc_end, false, &addr, err);
	if (r)
		return r;
	memset(&va, 0, sizeof(va));
	va.va_start = addr;
	va.va_end = addr + ((uint64_t)pages << PAGE_SHIFT);
	if (insert_busy(m->host, &m->vmap, &va))
		return mm_set_error(err, -ENOMEM, "out of host memory");
	if (free_vmap_area_noflush(m, area_index(m, (uint32_t)addr)))
		return mm_set_error(err, -ENOMEM, "out of host memory for the vmap areas");
	return 0;
}

/* crypto_scomp_alloc_scratches(): a source and a destination buffer per possible CPU. */
int vmalloc_boot_crypto_scomp(struct mm_machine *m, struct mm_error *err)
{
	unsigned int cpu;
	uint32_t addr;
	int r = 0;

	if (!boot_makes_vmalloc_areas(m))
		return 0;

	for (cpu = 0; !r && cpu < m->cfg.cpus; cpu++) {
		r = __vmalloc(m, 0, SCOMP_SCRATCH_SIZE, GFP_KERNEL, 0,
			      "crypto_scomp_init_tfm+0x65/0xb0", false, &addr, err);
		if (!r)
			r = __vmalloc(m, 0, SCOMP_SCRATCH_SIZE, GFP_KERNEL, 0,
				      "crypto_scomp_init_tfm+0x78/0xb0", false, &addr, err);
	}
	return r;
}

/* console_on_rootfs() opens /dev/console: n_tty_open() vzalloc()s its n_tty_data. */
int vmalloc_boot_n_tty(struct mm_machine *m, struct mm_error *err)
{
	uint32_t addr;

	if (!boot_makes_vmalloc_areas(m))
		return 0;

	return __vmalloc(m, 0, N_TTY_DATA_SIZE, GFP_KERNEL | __GFP_ZERO, 0, "n_tty_open+0x16/0x90",
			 false, &addr, err);
}

/* ---- the public operations (mmcore.h) ------------------------------------------------- */

int vmalloc_ready(const struct mm_machine *m, unsigned int cpu, struct mm_error *err)
{
	int r = mm_need_phase(m, MM_PHASE_BUDDY, "the vmalloc area", err);

	if (r)
		return r;
	if (!m->vmap.ready)
		return mm_set_error(err, -EAGAIN, "vmalloc_init() has not run");
	if (cpu >= m->cfg.cpus)
		return mm_set_error(err, -EINVAL, "cpu %u: the machine has %u CPUs", cpu,
				    m->cfg.cpus);
	if (m->tainted)
		return mm_set_error(err, -EFAULT, "the machine is tainted: %s", m->diag);
	return 0;
}

static const char *caller_or(const char *caller, const char *dflt)
{
	return caller && *caller ? caller : dflt;
}

/*
 * __vmalloc_node - vmalloc() with the caller's GFP mask and vm flags, for mmcore's own
 * callers (kvmalloc_node()): refused like vmalloc() (-EINVAL, nothing changes) for size 0,
 * beyond the range, or above the total pages; then __vmalloc_node_range() over the range.
 * The readiness of the machine is the caller's to check.
 * Mirrors: mm/vmalloc.c __vmalloc_node(), __vmalloc_node_range().
 */
int __vmalloc_node(struct mm_machine *m, unsigned int cpu, uint64_t size, gfp_t gfp,
		   uint32_t vm_flags, const char *caller, uint32_t *ret_addr, struct mm_error *err)
{
	uint64_t range = (uint64_t)(m->layout.vmalloc_end - m->layout.vmalloc_start);
	int r;

	if (!size)
		return mm_set_error(err, -EINVAL,
				    "vmalloc of size 0 (the kernel warns and "
				    "returns NULL)");
	if (PAGE_ALIGN(size) + PAGE_SIZE > range)
		return mm_set_error(err, -EINVAL,
				    "vmalloc of %llu bytes: beyond the vmalloc range of %llu bytes "
				    "(with its guard page)",
				    (unsigned long long)size, (unsigned long long)range);
	if ((PAGE_ALIGN(size) >> PAGE_SHIFT) > m->pgdat.totalram_pages)
		return mm_set_error(
			err, -EINVAL, "vmalloc error: size %llu, exceeds total pages (%llu)",
			(unsigned long long)size, (unsigned long long)m->pgdat.totalram_pages);
	r = __vmalloc(m, cpu, size, gfp, vm_flags, caller, true, ret_addr, err);
	vmalloc_run_deferred(m);
	return r;
}

int mm_vmalloc(struct mm_machine *m, unsigned int cpu, uint64_t size, bool zero, const char *caller,
	       uint32_t *ret_addr, struct mm_error *err)
{
	int r = vmalloc_ready(m, cpu, err);

	if (r)
		return r;
	return __vmalloc_node(m, cpu, size, GFP_KERNEL | (zero ? __GFP_ZERO : 0), 0,
			      caller_or(caller, zero ? "vzalloc" : "vmalloc"), ret_addr, err);
}

/* (V7) vmalloc-page-array (vmalloc.h) */
void check_vmalloc_page_array(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	const struct vmap_state *v = &m->vmap;
	bool kmallocs = boot_allocates_slab_pages(m);

	if (!v->ready)
		return;
	for (uint32_t i = 0; i < v->nr_busy; i++) {
		const struct vm_struct *vm = &v->busy[i].vm;
		uint64_t array = (uint64_t)vm->nr_pages * 4;

		if (!v->busy[i].has_vm || !(vm->flags & VM_ALLOC) || (vm->flags & VM_UNINITIALIZED))
			continue;
		if (array > PAGE_SIZE) {
			const struct vmap_area *pa =
				vm->pages_area ? find_vmap_area(m, vm->pages_area) : NULL;

			if (!pa || !pa->has_vm || pa->vm.addr != vm->pages_area ||
			    !(pa->vm.flags & VM_ALLOC) ||
			    pa->vm.nr_pages != PAGE_ALIGN(array) >> PAGE_SHIFT)
				check_report(c,
					     "area %#x (%u pages): its page array of %llu bytes is "
					     "no vmalloc area of its size (pages %#x)",
					     vm->addr, vm->nr_pages, (unsigned long long)array,
					     vm->pages_area);
		} else if (kmallocs ? !slab_is_kmalloc_object(m, vm->pages_area, (uint32_t)array)
				    : vm->pages_area != 0)
			check_report(c, "area %#x (%u pages): page array %#x is %s", vm->addr,
				     vm->nr_pages, vm->pages_area,
				     kmallocs ? "no allocated object of kmalloc's cache for its "
						"size"
					      : "set on a machine of boot model 1-3");
	}
}

bool vmalloc_pages_array_of(const struct mm_machine *m, uint32_t addr, uint32_t *area)
{
	if (is_vmalloc_addr(m, addr))
		return false;
	for (uint32_t i = 0; i < m->vmap.nr_busy; i++)
		if (m->vmap.busy[i].has_vm && m->vmap.busy[i].vm.pages_area == addr) {
			*area = m->vmap.busy[i].vm.addr;
			return true;
		}
	return false;
}

/* Mirrors: is_vmalloc_addr(): inside [VMALLOC_START, VMALLOC_END). */
bool is_vmalloc_addr(const struct mm_machine *m, uint32_t addr)
{
	return addr >= m->layout.vmalloc_start && addr < m->layout.vmalloc_end;
}

/* The busy index of the area starting at @addr, or a refusal naming what is there. */
static int find_area_start(struct mm_machine *m, uint32_t addr, const char *op, uint32_t flag,
			   uint32_t *idx, struct mm_error *err)
{
	const struct vmap_area *va = find_vmap_area(m, addr);
	uint32_t i;
	static const char *const kinds[] = {"ioremap", "vmalloc", "vmap"};
	const char *kind = "";

	if (!is_vmalloc_addr(m, addr)) {
		char what[96];

		if (slab_object_describe(m, addr, what, sizeof(what)))
			return mm_set_error(err, -EINVAL,
					    "%s(%#x): %#x is %s, not a vmalloc area; use kfree", op,
					    addr, addr, what);
		return mm_set_error(err, -EINVAL,
				    "%s(%#x): not a vmalloc address (VMALLOC_START %#x .. "
				    "VMALLOC_END %#x): no vm area can be there",
				    op, addr, m->layout.vmalloc_start, m->layout.vmalloc_end);
	}
	if (addr & (PAGE_SIZE - 1))
		return mm_set_error(err, -EINVAL,
				    "Trying to %s() bad address (%#x): not page aligned", op, addr);
	if (!va) {
		for (i = 0; i < m->vmap.nr_purge; i++)
			if (m->vmap.purge[i].va_start <= addr && addr < m->vmap.purge[i].va_end)
				return mm_set_error(err, -ENOENT,
						    "Trying to %s() nonexistent vm area (%#x): it "
						    "was freed and waits for the lazy purge",
						    op, addr);
		return mm_set_error(err, -ENOENT, "Trying to %s() nonexistent vm area (%#x)", op,
				    addr);
	}
	if (!va->has_vm || va->va_start != addr)
		return mm_set_error(
			err, -EINVAL, "%s(%#x): inside the area %#llx-%#llx, which starts at %#llx",
			op, addr, (unsigned long long)va->va_start, (unsigned long long)va->va_end,
			(unsigned long long)va->va_start);
	for (i = 0; i < 3; i++)
		if (va->vm.flags & (1u << i))
			kind = kinds[i];
	if (!(va->vm.flags & flag))
		return mm_set_error(err, -EINVAL,
				    "%s(%#x): the area is a%s %s area, not one %s made", op, addr,
				    kind[0] == 'i' ? "n" : "", kind,
				    flag == VM_ALLOC ? "vmalloc"
				    : flag == VM_MAP ? "vmap"
						     : "ioremap");
	if (!va->vm.api)
		return mm_set_error(err, -EBUSY, "%s(%#x): the kernel's own area (%s) is in use",
				    op, addr, va->vm.caller);
	*idx = (uint32_t)(va - m->vmap.busy);
	return 0;
}

static int free_op(struct mm_machine *m, unsigned int cpu, uint32_t addr, const char *op,
		   uint32_t flag, struct mm_error *err)
{
	uint32_t idx;
	int r = vmalloc_ready(m, cpu, err);

	if (!r)
		r = find_area_start(m, addr, op, flag, &idx, err);
	if (!r)
		r = vfree_index(m, idx, cpu, err);
	vmalloc_run_deferred(m);
	return r;
}

int mm_vfree(struct mm_machine *m, unsigned int cpu, uint32_t addr, struct mm_error *err)
{
	return free_op(m, cpu, addr, "vfree", VM_ALLOC, err);
}

int mm_vmap(struct mm_machine *m, unsigned int cpu, const uint32_t *pfns, unsigned int count,
	    const char *caller, uint32_t *ret_addr, struct mm_error *err)
{
	uint64_t range = (uint64_t)(m->layout.vmalloc_end - m->layout.vmalloc_start);
	unsigned int i;
	int r = vmalloc_ready(m, cpu, err);

	if (r)
		return r;
	if (!count)
		return mm_set_error(err, -EINVAL, "vmap of no pages");
	if (((uint64_t)count + 1) << PAGE_SHIFT > range || count > m->pgdat.totalram_pages)
		return mm_set_error(err, -EINVAL, "vmap of %u pages: beyond the vmalloc range",
				    count);
	for (i = 0; i < count; i++) {
		const struct page *p;

		if (pfns[i] >= m->layout.max_pfn || pfns[i] >= m->mem_map_pfns)
			return mm_set_error(err, -EINVAL, "pfn %u is beyond max_pfn %u", pfns[i],
					    m->layout.max_pfn);
		p = &m->mem_map[pfns[i]];
		if (PageBuddy(p) || (!p->_refcount && !PageReserved(p)))
			return mm_set_error(err, -EINVAL,
					    "pfn %u is a free page: vmap() maps pages its caller "
					    "holds",
					    pfns[i]);
	}
	r = __vmap(m, cpu, pfns, count, caller_or(caller, "vmap"), true, ret_addr, err);
	vmalloc_run_deferred(m);
	return r;
}

int mm_vunmap(struct mm_machine *m, unsigned int cpu, uint32_t addr, struct mm_error *err)
{
	return free_op(m, cpu, addr, "vunmap", VM_MAP, err);
}

int mm_ioremap(struct mm_machine *m, unsigned int cpu, uint64_t phys, uint64_t size,
	       const char *caller, uint32_t *ret_addr, struct mm_error *err)
{
	int r = vmalloc_ready(m, cpu, err);

	if (r)
		return r;
	r = __ioremap(m, cpu, phys, size, true, caller_or(caller, "ioremap"), true, ret_addr, err);
	vmalloc_run_deferred(m);
	return r;
}

int mm_iounmap(struct mm_machine *m, unsigned int cpu, uint32_t addr, struct mm_error *err)
{
	return free_op(m, cpu, addr & ~(PAGE_SIZE - 1), "iounmap", VM_IOREMAP, err);
}

int mm_set_memory(struct mm_machine *m, uint32_t addr, unsigned int numpages, int attr,
		  struct mm_error *err)
{
	static const pteval_t set[] = {0, _PAGE_RW, 0, _PAGE_NX};
	static const pteval_t clr[] = {_PAGE_RW, 0, _PAGE_NX, 0};
	const struct vmap_area *va;
	uint32_t mapped;
	int r = vmalloc_ready(m, 0, err);

	if (r)
		return r;
	if (attr < 0 || attr > MM_SET_MEMORY_NX)
		return mm_set_error(err, -EINVAL, "attr must be ro, rw, x or nx");
	if (addr & (PAGE_SIZE - 1))
		return mm_set_error(err, -EINVAL, "set_memory: %#x is not page aligned", addr);
	if (!numpages)
		return mm_set_error(err, -EINVAL, "set_memory of 0 pages");
	va = find_vmap_area(m, addr);
	if (!va || !va->has_vm)
		return mm_set_error(err, -ENOENT, "set_memory: no vmalloc area holds %#x", addr);
	mapped = va->vm.size - ((va->vm.flags & VM_NO_GUARD) ? 0 : PAGE_SIZE);
	if ((uint64_t)addr + (uint64_t)numpages * PAGE_SIZE > (uint64_t)va->vm.addr + mapped)
		return mm_set_error(err, -EINVAL,
				    "set_memory: %u pages from %#x run past the mapped part of the "
				    "area %#x-%#llx (its guard page is never mapped)",
				    numpages, addr, va->vm.addr,
				    (unsigned long long)va->vm.addr + mapped);
	if (!va->vm.api)
		return mm_set_error(err, -EBUSY, "set_memory: the kernel's own area (%s)",
				    va->vm.caller);
	/* the callers of set_memory_*() on vmalloc memory mark it for vfree() first */
	m->vmap.busy[va - m->vmap.busy].vm.flags |= VM_FLUSH_RESET_PERMS;
	return set_memory(m, addr, numpages, set[attr], clr[attr], err);
}

/* ---- views ---------------------------------------------------------------------------- */

unsigned int mm_vmap_area_count(const struct mm_machine *m, int list)
{
	switch (list) {
	case MM_VMAP_BUSY:
		return m->vmap.nr_busy;
	case MM_VMAP_LAZY:
		return m->vmap.nr_purge;
	case MM_VMAP_FREE:
		return m->vmap.nr_free;
	default:
		return 0;
	}
}

int mm_vmap_area_get(const struct mm_machine *m, int list, unsigned int i,
		     struct mm_vmap_area_info *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= mm_vmap_area_count(m, list))
		return -ENOENT;
	if (list == MM_VMAP_BUSY) {
		const struct vmap_area *va = &m->vmap.busy[i];

		out->va_start = va->va_start;
		out->va_end = va->va_end;
		out->has_vm = va->has_vm;
		out->addr = va->vm.addr;
		out->size = va->vm.size;
		out->flags = va->vm.flags;
		out->nr_pages = va->vm.nr_pages;
		out->phys_addr = va->vm.phys_addr;
		if (is_vmalloc_addr(m, va->vm.pages_area))
			out->pages_area = va->vm.pages_area;
		else
			out->pages_kmalloc = va->vm.pages_area;
		out->caller = va->vm.caller;
		out->pfns = va->vm.pages;
		out->nr_pfns = va->vm.nr_pfns;
		out->api = va->vm.api;
		return 0;
	}
	{
		const struct vmap_range *r = list == MM_VMAP_LAZY ? m->vmap.purge : m->vmap.free;

		out->va_start = r[i].va_start;
		out->va_end = r[i].va_end;
	}
	return 0;
}

void mm_vmalloc_get_info(const struct mm_machine *m, struct mm_vmalloc_info *out)
{
	memset(out, 0, sizeof(*out));
	out->vmalloc_start = m->layout.vmalloc_start;
	out->vmalloc_end = m->layout.vmalloc_end;
	out->vmap_lazy_nr = m->vmap.vmap_lazy_nr;
	out->lazy_max_pages = lazy_max_pages(m);
	out->nr_vmalloc_pages = m->vmap.nr_vmalloc_pages;
	out->nr_purges = m->vmap.nr_purges;
	out->nr_purged_pages = m->vmap.nr_purged_pages;
}

/* ---- snapshot section VMAP ---------------------------------------------------------------- */

/*
 * VMAP v1: the counters, then the busy areas (each with its vm_struct and its frames), the
 * free and the lazily freed ranges, field by field (snapshot.h). The page tables the areas
 * map through and the pages' PGS_KERNEL marks are RAM and PAGE's.
 */
static void range_snap_save(struct snap_out *o, const struct vmap_range *r, uint32_t n)
{
	snap_put_u32(o, n);
	for (uint32_t i = 0; i < n; i++) {
		snap_put_u64(o, r[i].va_start);
		snap_put_u64(o, r[i].va_end);
	}
}

void vmalloc_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	const struct vmap_state *v = &m->vmap;

	snap_put_bool(o, v->ready);
	snap_put_u64(o, v->vmap_lazy_nr);
	snap_put_u64(o, v->nr_vmalloc_pages);
	snap_put_bool(o, v->drain_pending);
	snap_put_u64(o, v->nr_purges);
	snap_put_u64(o, v->nr_purged_pages);
	snap_put_u32(o, v->nr_busy);
	for (uint32_t i = 0; i < v->nr_busy; i++) {
		const struct vmap_area *a = &v->busy[i];
		const struct vm_struct *vm = &a->vm;

		snap_put_u64(o, a->va_start);
		snap_put_u64(o, a->va_end);
		snap_put_bool(o, a->has_vm);
		if (!a->has_vm)
			continue;
		snap_put_u32(o, vm->addr);
		snap_put_u32(o, vm->size);
		snap_put_u32(o, vm->flags);
		snap_put_u32(o, vm->nr_pages);
		snap_put_u64(o, vm->phys_addr);
		snap_put_u32(o, vm->pages_area);
		snap_put_bool(o, vm->api);
		snap_put_str(o, vm->caller);
		snap_put_u32(o, vm->pages ? vm->nr_pfns : 0);
		for (uint32_t k = 0; vm->pages && k < vm->nr_pfns; k++)
			snap_put_u32(o, vm->pages[k]);
	}
	range_snap_save(o, v->free, v->nr_free);
	range_snap_save(o, v->purge, v->nr_purge);
}

/* A free or lazily freed set: sorted, disjoint, inside [1, ULONG_MAX]. */
static int range_snap_load(struct mm_machine *m, struct snap_in *in, struct vmap_range **arr,
			   uint32_t *nr, uint32_t *cap, const char *what)
{
	uint32_t n = snap_get_count(in, 1u << 20, what);

	if (in->ret)
		return in->ret;
	if (n && grow(m->host, (void **)arr, cap, n, sizeof(**arr)))
		return snap_nomem(in, "the vmap areas");
	for (uint32_t i = 0; i < n && !in->ret; i++) {
		struct vmap_range *r = &(*arr)[i];

		r->va_start = snap_get_u64(in);
		r->va_end = snap_get_u64(in);
		if (in->ret)
			break;
		if (!r->va_start || r->va_end <= r->va_start || r->va_end > ULONG_MAX_32 ||
		    (i && r->va_start < (*arr)[i - 1].va_end))
			return snap_corrupt(in,
					    "%s %u (%#llx-%#llx) is empty, out of range or out of "
					    "order",
					    what, i, (unsigned long long)r->va_start,
					    (unsigned long long)r->va_end);
		*nr = i + 1;
	}
	return in->ret;
}

/* PAGE v1 migration (snapshot.h): the pages of the VM_ALLOC areas are the kernel's own. */
void vmalloc_mark_kernel_pages(struct mm_machine *m)
{
	const struct vmap_state *v = &m->vmap;

	for (uint32_t i = 0; i < v->nr_busy; i++) {
		const struct vm_struct *vm = &v->busy[i].vm;

		if (!v->busy[i].has_vm || !(vm->flags & VM_ALLOC) || !vm->pages)
			continue;
		for (uint32_t k = 0; k < vm->nr_pages; k++)
			if (vm->pages[k] < m->pgstate_pfns &&
			    (m->pgstate[vm->pages[k]] & (PGS_ALLOC_MASK | PGS_PCP)) == 1)
				m->pgstate[vm->pages[k]] |= PGS_KERNEL;
	}
}

/* The three sets tile [1, ULONG_MAX) exactly (vmap-areas-tile): what alloc_vmap_area() and
 * the purge rely on. */
static bool vmap_sets_tile(const struct vmap_state *v)
{
	uint32_t b = 0, f = 0, p = 0;
	uint64_t at = 1;

	while (b < v->nr_busy || f < v->nr_free || p < v->nr_purge) {
		if (b < v->nr_busy && v->busy[b].va_start == at)
			at = v->busy[b++].va_end;
		else if (f < v->nr_free && v->free[f].va_start == at)
			at = v->free[f++].va_end;
		else if (p < v->nr_purge && v->purge[p].va_start == at)
			at = v->purge[p++].va_end;
		else
			return false;
	}
	return at == ULONG_MAX_32;
}

/*
 * Version 0: a snapshot from before vmalloc was modelled. Its machine made no vmap area,
 * and none can be made for it now: the boot's areas would have taken their pages before
 * every allocation its journal made. It gets the empty range vmalloc_init() starts from
 * (once its boot got that far), a machine that has vmalloc'd nothing.
 */
int vmalloc_snap_load(struct mm_machine *m, struct snap_in *in)
{
	struct vmap_state *v = &m->vmap;
	uint32_t nb;

	if (in->version == 0) {
		if (m->phase < MM_PHASE_BUDDY)
			return 0;
		if (grow(m->host, (void **)&v->free, &v->cap_free, 1, sizeof(*v->free)))
			return snap_nomem(in, "the vmap areas");
		v->free[0].va_start = 1;
		v->free[0].va_end = ULONG_MAX_32;
		v->nr_free = 1;
		v->ready = true;
		return 0;
	}
	v->ready = snap_get_bool(in);
	v->vmap_lazy_nr = snap_get_u64(in);
	v->nr_vmalloc_pages = snap_get_u64(in);
	v->drain_pending = snap_get_bool(in);
	v->nr_purges = snap_get_u64(in);
	v->nr_purged_pages = snap_get_u64(in);
	nb = snap_get_count(in, 1u << 20, "the busy vmap areas");
	if (in->ret)
		return in->ret;
	if (nb && grow(m->host, (void **)&v->busy, &v->cap_busy, nb, sizeof(*v->busy)))
		return snap_nomem(in, "the vmap areas");
	for (uint32_t i = 0; i < nb && !in->ret; i++) {
		struct vmap_area *a = &v->busy[i];
		struct vm_struct *vm = &a->vm;
		uint32_t n;

		memset(a, 0, sizeof(*a));
		v->nr_busy = i + 1; /* owned from here: vmalloc_finish() frees its pages */
		a->va_start = snap_get_u64(in);
		a->va_end = snap_get_u64(in);
		a->has_vm = snap_get_bool(in);
		if (in->ret)
			break;
		if (!a->va_start || a->va_end <= a->va_start || a->va_end > ULONG_MAX_32 ||
		    (i && a->va_start < v->busy[i - 1].va_end))
			return snap_corrupt(
				in, "busy area %u is empty, out of range or out of order", i);
		if (!a->has_vm)
			continue;
		vm->addr = snap_get_u32(in);
		vm->size = snap_get_u32(in);
		vm->flags = snap_get_u32(in);
		vm->nr_pages = snap_get_u32(in);
		vm->phys_addr = snap_get_u64(in);
		vm->pages_area = snap_get_u32(in);
		vm->api = snap_get_bool(in);
		snap_get_str(in, vm->caller, sizeof(vm->caller));
		n = snap_get_count(in, (uint32_t)((a->va_end - a->va_start) >> PAGE_SHIFT),
				   "an area's frames");
		if (in->ret)
			break;
		if (vm->addr != a->va_start || (uint64_t)vm->addr + vm->size != a->va_end ||
		    vm->nr_pages > n || (n && !(vm->flags & (VM_ALLOC | VM_MAP))))
			return snap_corrupt(in, "the vm_struct of busy area %u disagrees with it",
					    i);
		vm->nr_pfns = n;
		if (!n)
			continue;
		vm->pages = host_calloc(m->host, n, sizeof(*vm->pages));
		if (!vm->pages)
			return snap_nomem(in, "an area's frames");
		for (uint32_t k = 0; k < n && !in->ret; k++) {
			vm->pages[k] = snap_get_u32(in);
			if (!in->ret && vm->pages[k] >= m->layout.max_pfn)
				return snap_corrupt(
					in, "frame %u of busy area %u is beyond max_pfn", k, i);
		}
	}
	if (range_snap_load(m, in, &v->free, &v->nr_free, &v->cap_free, "free vmap area") ||
	    range_snap_load(m, in, &v->purge, &v->nr_purge, &v->cap_purge, "lazily freed area"))
		return in->ret;
	if (v->ready && !vmap_sets_tile(v))
		return snap_corrupt(in, "the busy, free and lazily freed areas do not tile the "
					"address space");
	return in->ret;
}

/* ---- invariants (mmdebug.h: rows of check.c's table) ----------------------------------- */

/*
 * vmap-areas-tile (V1): the busy, free and lazily freed areas, walked in address order from
 * 1, each start where the one before ends, none empty, up to ULONG_MAX: every address is in
 * exactly one area. Each set sorted on its own (an unsorted or overlapping pair).
 */
void check_vmap_areas_tile(struct mm_check_ctx *c)
{
	const struct vmap_state *v = &c->m->vmap;
	uint32_t b = 0, f = 0, p = 0, i;
	uint64_t at = 1;

	if (!v->ready)
		return;
	for (i = 1; i < v->nr_free; i++)
		if (v->free[i].va_start < v->free[i - 1].va_end)
			check_report(
				c, "free areas %#llx-%#llx and %#llx-%#llx overlap or are unsorted",
				(unsigned long long)v->free[i - 1].va_start,
				(unsigned long long)v->free[i - 1].va_end,
				(unsigned long long)v->free[i].va_start,
				(unsigned long long)v->free[i].va_end);
	for (i = 1; i < v->nr_purge; i++)
		if (v->purge[i].va_start < v->purge[i - 1].va_end)
			check_report(
				c, "lazily freed areas at %#llx and %#llx overlap or are unsorted",
				(unsigned long long)v->purge[i - 1].va_start,
				(unsigned long long)v->purge[i].va_start);
	while (b < v->nr_busy || f < v->nr_free || p < v->nr_purge) {
		uint64_t s, e;
		const char *kind;

		if (b < v->nr_busy && v->busy[b].va_start == at) {
			s = v->busy[b].va_start, e = v->busy[b++].va_end, kind = "busy";
		} else if (f < v->nr_free && v->free[f].va_start == at) {
			s = v->free[f].va_start, e = v->free[f++].va_end, kind = "free";
		} else if (p < v->nr_purge && v->purge[p].va_start == at) {
			s = v->purge[p].va_start, e = v->purge[p++].va_end, kind = "lazily freed";
		} else {
			check_report(c, "address %#llx is in no area, or in more than one",
				     (unsigned long long)at);
			return;
		}
		if (e <= s) {
			check_report(c, "%s area %#llx-%#llx is empty or inverted", kind,
				     (unsigned long long)s, (unsigned long long)e);
			return;
		}
		at = e;
	}
	if (at != ULONG_MAX_32)
		check_report(c, "the areas end at %#llx, not at ULONG_MAX", (unsigned long long)at);
}

/* vmap-areas-merged (V2): no two free areas, nor two lazily freed ones, touch: merging
 * (merge_or_add_vmap_area()) would have made them one. */
void check_vmap_areas_merged(struct mm_check_ctx *c)
{
	const struct vmap_state *v = &c->m->vmap;
	uint32_t i;

	if (!v->ready)
		return;
	for (i = 1; i < v->nr_free; i++)
		if (v->free[i].va_start == v->free[i - 1].va_end)
			check_report(c,
				     "free areas %#llx-%#llx and %#llx-%#llx touch but were not "
				     "merged",
				     (unsigned long long)v->free[i - 1].va_start,
				     (unsigned long long)v->free[i - 1].va_end,
				     (unsigned long long)v->free[i].va_start,
				     (unsigned long long)v->free[i].va_end);
	for (i = 1; i < v->nr_purge; i++)
		if (v->purge[i].va_start == v->purge[i - 1].va_end)
			check_report(c,
				     "lazily freed areas at %#llx and %#llx touch but were not "
				     "merged",
				     (unsigned long long)v->purge[i - 1].va_start,
				     (unsigned long long)v->purge[i].va_start);
}

/* vmap-area-vm (V3): a busy area's vm_struct says where it is (vm.addr == va_start,
 * vm.size == va_end - va_start, guard page included) and it lies inside the range. */
void check_vmap_area_vm(struct mm_check_ctx *c)
{
	const struct vmap_state *v = &c->m->vmap;
	const struct mm_layout *l = &c->m->layout;

	if (!v->ready)
		return;
	for (uint32_t i = 0; i < v->nr_busy; i++) {
		const struct vmap_area *a = &v->busy[i];

		if (!a->has_vm)
			continue;
		if (a->vm.addr != a->va_start || (uint64_t)a->vm.addr + a->vm.size != a->va_end)
			check_report(c, "area %#llx-%#llx: vm_struct says %#x + %u",
				     (unsigned long long)a->va_start, (unsigned long long)a->va_end,
				     a->vm.addr, a->vm.size);
		if (a->va_start < l->vmalloc_start || a->va_end > l->vmalloc_end)
			check_report(c, "area %#llx-%#llx is outside [VMALLOC_START, VMALLOC_END)",
				     (unsigned long long)a->va_start,
				     (unsigned long long)a->va_end);
	}
}

/* The bytes an area maps: all of it but the guard page (va_end, not vm.size: vmap-area-vm
 * judges the vm_struct). */
static uint64_t area_mapped(const struct vmap_area *a)
{
	return a->va_end - a->va_start - ((a->vm.flags & VM_NO_GUARD) ? 0 : PAGE_SIZE);
}

/*
 * vmalloc-ptes (V4): every present PTE of the range is in the mapped part of one busy area
 * (never a guard page, never a lazily freed area) and maps that area's frame for its
 * offset; a large pmd entry is an ioremap's (PAE), whole inside it, at its physical
 * address; and every page an area maps is present.
 */
void check_vmalloc_ptes(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	const struct vmap_state *v = &m->vmap;
	const struct mm_layout *l = &m->layout;
	unsigned int n = m->cfg.pae ? 512u : 1024u, esz = pt_entry_size(m);
	uint64_t va;
	uint32_t i, k;

	if (!v->ready)
		return;
	for (va = l->vmalloc_start & ~(uint64_t)(l->pmd_size - 1); va < l->vmalloc_end;
	     va += l->pmd_size) {
		pteval_t e = pt_read(m, kernel_pmd_entry(m, (uint32_t)va));
		uint64_t table;

		if (!(e & _PAGE_PRESENT))
			continue;
		if (e & _PAGE_PSE) { /* an ioremap's huge pmd (PAE) */
			const struct vmap_area *a = find_vmap_area(m, va);

			if (!a || !a->has_vm || !(a->vm.flags & VM_IOREMAP) ||
			    va + l->pmd_size > a->va_start + area_mapped(a) ||
			    pt_entry_addr(m, e, true) != a->vm.phys_addr + (va - a->va_start))
				check_report(c, "the large page at %#llx is no ioremap's pmd",
					     (unsigned long long)va);
			continue;
		}
		table = pt_entry_addr(m, e, false);
		for (k = 0; k < n; k++) {
			uint64_t addr = va + (uint64_t)k * PAGE_SIZE, want;
			pteval_t pte = pt_read(m, table + (uint64_t)k * esz);
			const struct vmap_area *a;
			uint32_t idx;

			if (!(pte & _PAGE_PRESENT) || addr < l->vmalloc_start ||
			    addr >= l->vmalloc_end)
				continue;
			a = find_vmap_area(m, addr);
			if (!a || !a->has_vm) {
				check_report(c, "%#llx is mapped (pte %#llx) but in no busy area",
					     (unsigned long long)addr, (unsigned long long)pte);
				continue;
			}
			idx = (uint32_t)((addr - a->va_start) >> PAGE_SHIFT);
			if (addr >= a->va_start + area_mapped(a)) {
				check_report(
					c, "the guard page %#llx of the area at %#llx is mapped",
					(unsigned long long)addr, (unsigned long long)a->va_start);
				continue;
			}
			if (a->vm.flags & VM_IOREMAP)
				want = a->vm.phys_addr + (uint64_t)idx * PAGE_SIZE;
			else if (a->vm.pages && idx < a->vm.nr_pfns)
				want = PFN_PHYS(a->vm.pages[idx]);
			else
				want = UINT64_MAX;
			if (pt_entry_addr(m, pte, false) != want)
				check_report(c, "%#llx maps %#llx, its area says %#llx",
					     (unsigned long long)addr,
					     (unsigned long long)pt_entry_addr(m, pte, false),
					     (unsigned long long)want);
		}
	}
	for (i = 0; i < v->nr_busy; i++) {
		const struct vmap_area *a = &v->busy[i];
		uint32_t pages;

		if (!a->has_vm || (a->vm.flags & VM_UNINITIALIZED))
			continue;
		pages = (a->vm.flags & VM_IOREMAP) ? (uint32_t)(area_mapped(a) >> PAGE_SHIFT)
						   : a->vm.nr_pfns;
		for (k = 0; k < pages; k++) {
			uint32_t addr = (uint32_t)a->va_start + k * PAGE_SIZE;
			pteval_t pmde = pt_read(m, kernel_pmd_entry(m, addr)), pte = 0;

			if ((pmde & _PAGE_PRESENT) && !(pmde & _PAGE_PSE))
				pte = pt_read(m,
					      pt_entry_addr(m, pmde, false) +
						      (uint64_t)((addr >> PAGE_SHIFT) & (n - 1)) *
							      esz);
			else if (pmde & _PAGE_PRESENT)
				pte = pmde; /* a huge ioremap pmd maps it */
			if (!(pte & _PAGE_PRESENT)) {
				check_report(c, "page %u (%#x) of the area at %#llx is not mapped",
					     k, addr, (unsigned long long)a->va_start);
				break;
			}
		}
	}
}

/*
 * vmalloc-pages-owned (V5): every page of a VM_ALLOC area, and every page table under the
 * range, is an allocation of the page allocator and the kernel's own (PGS_KERNEL: no
 * free_pages from outside); no page belongs to two areas.
 */
void check_vmalloc_pages_owned(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	const struct vmap_state *v = &m->vmap;
	const struct mm_layout *l = &m->layout;
	pfn_t max_pfn = l->max_pfn;
	uint8_t *owner;
	uint64_t va;

	if (!v->ready || !c->own)
		return;
	owner = host_calloc(m->host, max_pfn ? max_pfn : 1, 1);
	if (!owner) {
		c->oom = true;
		return;
	}
	for (uint32_t i = 0; i < v->nr_busy; i++) {
		const struct vm_struct *vm = &v->busy[i].vm;

		if (!v->busy[i].has_vm || !(vm->flags & VM_ALLOC) || !vm->pages)
			continue;
		for (uint32_t k = 0; k < vm->nr_pages; k++) {
			pfn_t pfn = vm->pages[k];

			if (pfn >= max_pfn || !(c->own[pfn] & OWN_ALLOC) ||
			    !(m->pgstate[pfn] & PGS_KERNEL)) {
				check_report(c,
					     "page %u (pfn %#x) of the area at %#llx is not an "
					     "allocation of the kernel's own",
					     k, pfn, (unsigned long long)v->busy[i].va_start);
				continue;
			}
			if (owner[pfn])
				check_report(c, "pfn %#x belongs to two areas (one at %#llx)", pfn,
					     (unsigned long long)v->busy[i].va_start);
			owner[pfn] = 1;
		}
	}
	host_free(owner);
	for (va = l->vmalloc_start & ~(uint64_t)(l->pmd_size - 1); va < l->vmalloc_end;
	     va += l->pmd_size) {
		pteval_t e = pt_read(m, kernel_pmd_entry(m, (uint32_t)va));
		pfn_t table = (pfn_t)(pt_entry_addr(m, e, false) >> PAGE_SHIFT);

		if (!(e & _PAGE_PRESENT) || (e & _PAGE_PSE))
			continue;
		if (table >= max_pfn || !(c->own[table] & OWN_ALLOC) ||
		    !(m->pgstate[table] & PGS_KERNEL))
			check_report(c,
				     "the page table %#llx of %#llx is not an allocation of the "
				     "kernel's own",
				     (unsigned long long)PFN_PHYS(table), (unsigned long long)va);
	}
}

/* vmalloc-counters (V6): nr_vmalloc_pages (VmallocUsed) is the sum of nr_pages of the
 * VM_ALLOC areas, vmap_lazy_nr the pages of the lazily freed areas. */
void check_vmalloc_counters(struct mm_check_ctx *c)
{
	const struct vmap_state *v = &c->m->vmap;
	uint64_t used = 0, lazy = 0;
	uint32_t i;

	if (!v->ready)
		return;
	for (i = 0; i < v->nr_busy; i++)
		if (v->busy[i].has_vm && (v->busy[i].vm.flags & VM_ALLOC))
			used += v->busy[i].vm.nr_pages;
	for (i = 0; i < v->nr_purge; i++)
		if (v->purge[i].va_end > v->purge[i].va_start)
			lazy += (v->purge[i].va_end - v->purge[i].va_start) >> PAGE_SHIFT;
	if (used != v->nr_vmalloc_pages)
		check_report(c, "nr_vmalloc_pages is %llu, the vmalloc areas hold %llu",
			     (unsigned long long)v->nr_vmalloc_pages, (unsigned long long)used);
	if (lazy != v->vmap_lazy_nr)
		check_report(c, "vmap_lazy_nr is %llu, the lazily freed areas hold %llu pages",
			     (unsigned long long)v->vmap_lazy_nr, (unsigned long long)lazy);
}

/* What the kernel's own page @pfn is to the vmalloc range, for the messages of a refused
 * free or physical write: a vmalloc'd page (which area) or a page table of the range. */
bool vmalloc_kernel_page(const struct mm_machine *m, pfn_t pfn, char *buf, size_t len)
{
	const struct vmap_state *v = &m->vmap;
	const struct mm_layout *l = &m->layout;
	uint64_t va;

	if (!v->ready)
		return false;
	for (uint32_t i = 0; i < v->nr_busy; i++) {
		const struct vm_struct *vm = &v->busy[i].vm;

		if (!v->busy[i].has_vm || !(vm->flags & VM_ALLOC) || !vm->pages)
			continue;
		for (uint32_t k = 0; k < vm->nr_pages; k++)
			if (vm->pages[k] == pfn) {
				snprintf(buf, len,
					 "page %u of the vmalloc area at %#x (%s); vfree frees it",
					 k, vm->addr, vm->caller);
				return true;
			}
	}
	for (va = l->vmalloc_start & ~(uint64_t)(l->pmd_size - 1); va < l->vmalloc_end;
	     va += l->pmd_size) {
		pteval_t e = pt_read(m, kernel_pmd_entry(m, (uint32_t)va));

		if ((e & _PAGE_PRESENT) && !(e & _PAGE_PSE) &&
		    pt_entry_addr(m, e, false) == PFN_PHYS(pfn)) {
			snprintf(buf, len, "the page table of the vmalloc range at %#llx",
				 (unsigned long long)va);
			return true;
		}
	}
	return false;
}
