/* SPDX-License-Identifier: MIT */
/*
 * mmu.c - memory accesses of the emulated CPUs: the TLB first, the page walk on a miss,
 * the accessed and dirty bits, page faults.
 *
 * Mirrors the hardware the kernel programs against (Intel SDM vol. 3, 4.7 page-fault
 * exceptions, 4.8 accessed and dirty flags, 4.10 TLBs) and reports faults in the words of
 * arch/x86/mm/fault.c (show_fault_oops). Every access is checked in full before it acts:
 * a multi-page access that faults on its last page has changed nothing, not even a TLB
 * entry or an accessed bit.
 * Rules kept: a write through a TLB entry whose dirty bit is clear walks again to set it
 * (so the dirty bit in RAM is never missed); a TLB hit is used as it is, even when the
 * page tables changed since (that is what a missing flush looks like).
 */
#include <stdio.h>
#include <string.h>

#include "machine.h"
#include "mmdebug.h"
#include "pgtable.h"

#define PF_PROT 0x1u
#define PF_WRITE 0x2u
#define PF_RSVD 0x8u
#define PF_INSTR 0x10u

static int check_cpu(const struct mm_machine *m, unsigned int cpu, struct mm_error *err)
{
	if (cpu >= m->cfg.cpus)
		return mm_set_error(err, -EINVAL, "cpu %u does not exist (the machine has %u)", cpu,
				    m->cfg.cpus);
	return 0;
}

static const char *access_words(int access)
{
	return access == MM_ACCESS_WRITE  ? "write access"
	       : access == MM_ACCESS_EXEC ? "instruction fetch"
					  : "read access";
}

/* show_fault_oops(): the lines the kernel prints for this fault. */
static void oops_words(char *buf, size_t size, uint32_t va, int access, uint32_t ec)
{
	const char *what = (ec & PF_RSVD)   ? "reserved bit violation"
			   : (ec & PF_PROT) ? "permissions violation"
					    : "not-present page";
	int n = 0;

	if (va < PAGE_SIZE)
		n = snprintf(buf, size, "BUG: kernel NULL pointer dereference, address: %08x\n",
			     va);
	else if (access == MM_ACCESS_EXEC && (ec & PF_PROT))
		n = snprintf(buf, size,
			     "kernel tried to execute NX-protected page - exploit attempt? "
			     "(uid: 0)\nBUG: unable to handle page fault for address: %08x\n",
			     va);
	else
		n = snprintf(buf, size, "BUG: unable to handle page fault for address: %08x\n", va);
	if (n < 0 || (size_t)n >= size)
		return;
	snprintf(buf + n, size - (size_t)n,
		 "#PF: supervisor %s in kernel mode\n#PF: error_code(0x%04x) - %s",
		 access_words(access), ec, what);
}

static bool allowed(const struct mm_cpu_state *c, bool rw, bool nx, int access)
{
	if (access == MM_ACCESS_WRITE && !rw && c->wp)
		return false;
	if (access == MM_ACCESS_EXEC && nx && c->nxe)
		return false;
	return true;
}

static uint32_t fault_code(const struct mm_cpu_state *c, bool prot, bool rsvd, int access)
{
	uint32_t ec = prot ? PF_PROT : 0;

	if (rsvd)
		ec |= PF_RSVD | PF_PROT;
	if (access == MM_ACCESS_WRITE)
		ec |= PF_WRITE;
	if (access == MM_ACCESS_EXEC && c->nxe)
		ec |= PF_INSTR;
	return ec;
}

/* Set the accessed bits of the levels used and, on a write, the leaf's dirty bit. */
static void set_ad_bits(struct mm_machine *m, const struct pt_walk *w, bool write)
{
	unsigned int i;

	for (i = 0; i < w->nr_levels; i++) {
		const struct pt_level *l = &w->lvl[i];
		pteval_t v = l->raw;

		if (m->cfg.pae && i == 0)
			continue; /* PDPTEs have no accessed bit in PAE mode */
		v |= _PAGE_ACCESSED;
		if (write && i == w->nr_levels - 1)
			v |= _PAGE_DIRTY;
		if (v != l->raw)
			pt_write(m, l->entry_addr, v);
	}
}

/* What one access needs once it is known to be allowed: the TLB entry it hits, or the
 * walk that found the page. */
struct xlat {
	uint64_t phys;
	struct tlb_entry *te; /* hit: the entry to use */
	bool walked;	      /* miss (or a write through a clean entry): the walk below */
	struct pt_walk w;
};

static int __attribute__((noinline))
fault(uint32_t va, int access, uint32_t ec, struct mm_error *err)
{
	char oops[MM_ERR_MAX];

	oops_words(oops, sizeof(oops), va, access, ec);
	return mm_set_error(err, -EACCES, "%s", oops);
}

/* Step 1 of an access by @cpu at @va: find the translation and check it; changes nothing.
 * 0 with @x filled, or -EACCES with the kernel's oops lines. */
static int mmu_lookup(const struct mm_machine *m, unsigned int cpu, uint32_t va, int access,
		      struct xlat *x, struct mm_error *err)
{
	const struct mm_cpu *c = &m->cpus[cpu];
	struct tlb_entry *te;

	x->te = NULL;
	x->walked = false;
	if (!c->cr.pg) {
		x->phys = va;
		return 0;
	}
	te = tlb_peek(&c->tlb, va);
	if (te) {
		if (!allowed(&c->cr, te->rw, te->nx, access))
			return fault(va, access, fault_code(&c->cr, true, false, access), err);
		x->te = te;
		if (access != MM_ACCESS_WRITE || te->dirty) {
			x->phys = tlb_phys(te, va);
			return 0;
		}
		/* a write through a clean entry: the CPU walks to set the dirty bit */
	}
	pt_walk(m, &c->cr, va, &x->w);
	if (!x->w.present)
		return fault(va, access, fault_code(&c->cr, false, x->w.rsvd, access), err);
	if (!allowed(&c->cr, x->w.rw, x->w.nx, access))
		return fault(va, access, fault_code(&c->cr, true, false, access), err);
	x->walked = true;
	x->phys = x->w.phys;
	return 0;
}

/* Step 2: do it: the TLB use or fill, the accessed and dirty bits, the counters. */
static void mmu_commit(struct mm_machine *m, unsigned int cpu, uint32_t va, int access,
		       struct xlat *x)
{
	struct mm_cpu *c = &m->cpus[cpu];
	const struct pt_walk *w = &x->w;

	if (!c->cr.pg)
		return;
	if (!x->walked) {
		tlb_touch(&c->tlb, x->te);
		c->tlb.hits++;
		return;
	}
	if (!x->te)
		c->tlb.misses++;
	set_ad_bits(m, w, access == MM_ACCESS_WRITE);
	tlb_fill(&c->tlb, va, w->phys, w->shift, w->rw, w->user, w->nx, w->global && c->cr.pge,
		 w->dirty || access == MM_ACCESS_WRITE);
}

int mm_translate(const struct mm_machine *m, unsigned int cpu, uint32_t va, int access,
		 struct mm_translation *out, struct mm_error *err)
{
	const struct mm_cpu *c;
	const struct tlb_entry *te;
	struct pt_walk w;
	unsigned int i;
	int r = check_cpu(m, cpu, err);

	if (r)
		return r;
	if (access < MM_ACCESS_READ || access > MM_ACCESS_EXEC)
		return mm_set_error(err, -EINVAL, "unknown access type %d", access);
	c = &m->cpus[cpu];
	memset(out, 0, sizeof(*out));
	out->paging = c->cr.pg;
	pt_walk(m, &c->cr, va, &w);
	out->nr_levels = w.nr_levels;
	for (i = 0; i < w.nr_levels; i++) {
		out->levels[i].name = w.lvl[i].name;
		out->levels[i].table = w.lvl[i].table;
		out->levels[i].index = w.lvl[i].index;
		out->levels[i].entry_addr = w.lvl[i].entry_addr;
		out->levels[i].raw = w.lvl[i].raw;
	}
	te = c->cr.pg ? tlb_peek(&c->tlb, va) : NULL;
	out->tlb_hit = te != NULL;
	if (te) {
		out->ok = allowed(&c->cr, te->rw, te->nx, access);
		out->phys = tlb_phys(te, va);
		out->page_size = 1u << te->shift;
		out->rw = te->rw;
		out->user = te->user;
		out->nx = te->nx;
		out->global = te->global;
		out->dirty = te->dirty;
		out->accessed = true;
		out->leaf = w.leaf;
		if (!out->ok)
			out->error_code = fault_code(&c->cr, true, false, access);
	} else if (!w.present) {
		out->error_code = fault_code(&c->cr, false, w.rsvd, access);
	} else {
		out->ok = allowed(&c->cr, w.rw, w.nx, access);
		out->phys = w.phys;
		out->page_size = 1u << w.shift;
		out->leaf = w.leaf;
		out->rw = w.rw;
		out->user = w.user;
		out->nx = w.nx;
		out->global = w.global;
		out->dirty = w.dirty;
		out->accessed = w.leaf & _PAGE_ACCESSED;
		if (!out->ok)
			out->error_code = fault_code(&c->cr, true, false, access);
	}
	if (!out->ok)
		oops_words(out->fault, sizeof(out->fault), va, access, out->error_code);
	return 0;
}

static int check_range(const struct mm_machine *m, int space, uint64_t addr, size_t len,
		       struct mm_error *err)
{
	if (len == 0 || len > MM_MEM_MAX)
		return mm_set_error(err, -EINVAL, "length must be 1..%u bytes, not %zu", MM_MEM_MAX,
				    len);
	if (space == MM_SPACE_PHYS) {
		if (addr >= m->ram_size || len > m->ram_size - addr)
			return mm_set_error(err, -EINVAL,
					    "[%#llx, %#llx) is not RAM: the machine's RAM ends at "
					    "%#llx",
					    (unsigned long long)addr,
					    (unsigned long long)(addr + len),
					    (unsigned long long)m->ram_size);
		return 0;
	}
	if (space != MM_SPACE_KERNEL)
		return mm_set_error(err, -EINVAL, "unknown address space %d", space);
	if (addr > 0xffffffffULL || len > 0x100000000ULL - addr)
		return mm_set_error(err, -EINVAL, "[%#llx, +%zu) leaves the 32-bit address space",
				    (unsigned long long)addr, len);
	return 0;
}

static int not_ram(uint32_t va, uint64_t pa, struct mm_error *err)
{
	return mm_set_error(err, -EINVAL,
			    "%#x maps %#llx, which is not RAM (device memory is not emulated)", va,
			    (unsigned long long)pa);
}

static void copy(struct mm_machine *m, uint64_t pa, size_t n, void *out, const void *in)
{
	if (in) {
		memcpy(m->ram + pa, in, n);
		if ((pa >> PAGE_SHIFT) < m->pgstate_pfns)
			m->pgstate[pa >> PAGE_SHIFT] |= PGS_RAM_DIRTY;
	} else {
		memcpy(out, m->ram + pa, n);
	}
}

/*
 * The first frame of the physical range [addr, addr + len) that the kernel owns, or PFN_NIL:
 * PG_reserved (its image, the early page tables, mem_map, what memblock kept) or PGS_KERNEL
 * (a page table it took from the page allocator). A write there from outside, like one
 * through /dev/mem, corrupts the kernel under its feet: refused unless forced.
 */
static pfn_t kernel_frame(const struct mm_machine *m, uint64_t addr, size_t len)
{
	for (pfn_t pfn = (pfn_t)(addr >> PAGE_SHIFT); (uint64_t)pfn << PAGE_SHIFT < addr + len;
	     pfn++)
		if (pfn < m->mem_map_pfns) {
			const struct page *p = &m->mem_map[pfn];
			/* a slab's or kmalloc_large block's tail pages: their head is flagged */
			pfn_t head =
				PageTail(p) && p->lru_next < m->mem_map_pfns ? p->lru_next : pfn;

			if (PageReserved(p) ||
			    (pfn < m->pgstate_pfns && (m->pgstate[pfn] & PGS_KERNEL)) ||
			    (head < m->pgstate_pfns && (m->pgstate[head] & PGS_SLAB)))
				return pfn;
		}
	return PFN_NIL;
}

/* Check every page of [addr, addr + len) first, then do it: a fault changes nothing. */
static int mem_access(struct mm_machine *m, unsigned int cpu, int space, uint64_t addr, size_t len,
		      void *out, const void *in, bool force, struct mm_error *err)
{
	int access = in ? MM_ACCESS_WRITE : MM_ACCESS_READ;
	struct xlat x;
	size_t done;
	int r = check_cpu(m, cpu, err);

	if (!r)
		r = check_range(m, space, addr, len, err);
	if (r)
		return r;
	if (space == MM_SPACE_PHYS) {
		pfn_t kpfn = in ? kernel_frame(m, addr, len) : PFN_NIL;

		char why[160] = "a page table";

		if (kpfn != PFN_NIL && !force) {
			if (PageReserved(&m->mem_map[kpfn]))
				snprintf(why, sizeof(why), "PG_reserved");
			else if (!(m->pgstate[kpfn] & PGS_KERNEL))
				snprintf(why, sizeof(why), "a slab, or a kmalloc_large block");
			else
				vmalloc_kernel_page(m, kpfn, why, sizeof(why));
			return mm_set_error(
				err, -EBUSY,
				"memory_write: pfn %#x is the kernel's own (%s): a physical write "
				"would change the kernel under its feet; send \"force\": true to "
				"do it "
				"anyway, which taints the machine",
				kpfn, why);
		}
		for (done = 0; done < len;) {
			uint64_t a = addr + done;
			size_t chunk =
				MM_MIN(len - done, PAGE_SIZE - (size_t)(a & (PAGE_SIZE - 1)));

			/* a write has no @out: no arithmetic on its NULL (undefined behaviour) */
			copy(m, a, chunk, out ? (uint8_t *)out + done : NULL,
			     in ? (const uint8_t *)in + done : NULL);
			done += chunk;
		}
		if (kpfn != PFN_NIL) /* forced: add_taint(TAINT_USER), as the kernel's own words */
			mm_warn(m, "memory_write",
				"forced physical write of %zu byte(s) at %#llx into the kernel's "
				"pfn %#x",
				len, (unsigned long long)addr, kpfn);
		return 0;
	}
	if ((addr & (PAGE_SIZE - 1)) + len <= PAGE_SIZE) { /* one page: one lookup */
		r = mmu_lookup(m, cpu, (uint32_t)addr, access, &x, err);
		if (r)
			return r;
		if (x.phys + len > m->ram_size)
			return not_ram((uint32_t)addr, x.phys, err);
		mmu_commit(m, cpu, (uint32_t)addr, access, &x);
		copy(m, x.phys, len, out, in);
		return 0;
	}
	for (done = 0; done < len;) {
		uint32_t va = (uint32_t)(addr + done);
		size_t chunk = MM_MIN(len - done, PAGE_SIZE - (va & (PAGE_SIZE - 1)));

		r = mmu_lookup(m, cpu, va, access, &x, err);
		if (r)
			return r;
		if (x.phys + chunk > m->ram_size)
			return not_ram(va, x.phys, err);
		done += chunk;
	}
	/* each page again: the commits before it may have changed the TLB it meets */
	for (done = 0; done < len;) {
		uint32_t va = (uint32_t)(addr + done);
		size_t chunk = MM_MIN(len - done, PAGE_SIZE - (va & (PAGE_SIZE - 1)));

		r = mmu_lookup(m, cpu, va, access, &x, err);
		if (r) /* cannot happen after the check above */
			return r;
		mmu_commit(m, cpu, va, access, &x);
		copy(m, x.phys, chunk, out ? (uint8_t *)out + done : NULL,
		     in ? (const uint8_t *)in + done : NULL);
		done += chunk;
	}
	return 0;
}

/* The common case, a kernel access within one page that hits the TLB, without detours. */
static inline bool tlb_hit_fast(struct mm_machine *m, unsigned int cpu, int space, uint64_t addr,
				size_t len, bool write, uint64_t *pa)
{
	struct mm_cpu *c;
	struct tlb_entry *te;

	if (space != MM_SPACE_KERNEL || cpu >= m->cfg.cpus || len == 0 ||
	    (addr & (PAGE_SIZE - 1)) + len > PAGE_SIZE || addr > 0xffffffffULL)
		return false;
	c = &m->cpus[cpu];
	if (!c->cr.pg || !(te = tlb_peek(&c->tlb, (uint32_t)addr)))
		return false;
	if (write && (!te->dirty || (!te->rw && c->cr.wp)))
		return false;
	*pa = tlb_phys(te, (uint32_t)addr);
	if (*pa + len > m->ram_size)
		return false;
	tlb_touch(&c->tlb, te);
	c->tlb.hits++;
	return true;
}

int mm_mem_read(struct mm_machine *m, unsigned int cpu, int space, uint64_t addr, size_t len,
		void *out, struct mm_error *err)
{
	uint64_t pa;

	if (tlb_hit_fast(m, cpu, space, addr, len, false, &pa)) {
		memcpy(out, m->ram + pa, len);
		return 0;
	}
	return mem_access(m, cpu, space, addr, len, out, NULL, false, err);
}

int mm_mem_write(struct mm_machine *m, unsigned int cpu, int space, uint64_t addr, const void *in,
		 size_t len, struct mm_error *err)
{
	uint64_t pa;

	if (tlb_hit_fast(m, cpu, space, addr, len, true, &pa)) {
		copy(m, pa, len, NULL, in);
		return 0;
	}
	return mem_access(m, cpu, space, addr, len, NULL, in, false, err);
}

int mm_mem_write_force(struct mm_machine *m, unsigned int cpu, int space, uint64_t addr,
		       const void *in, size_t len, struct mm_error *err)
{
	return mem_access(m, cpu, space, addr, len, NULL, in, true, err);
}

int mm_invlpg(struct mm_machine *m, unsigned int cpu, uint32_t va, struct mm_error *err)
{
	int r = check_cpu(m, cpu, err);

	if (r)
		return r;
	tlb_invlpg(&m->cpus[cpu].tlb, va);
	return 0;
}

int mm_flush_tlb(struct mm_machine *m, unsigned int cpu, bool keep_global, struct mm_error *err)
{
	int r = check_cpu(m, cpu, err);

	if (r)
		return r;
	tlb_flush(&m->cpus[cpu].tlb, keep_global && m->cpus[cpu].cr.pge);
	return 0;
}

int mm_get_cpu(const struct mm_machine *m, unsigned int cpu, struct mm_cpu_info *out,
	       struct mm_error *err)
{
	const struct mm_cpu *c;
	int r = check_cpu(m, cpu, err);

	if (r)
		return r;
	c = &m->cpus[cpu];
	memset(out, 0, sizeof(*out));
	out->pg = c->cr.pg;
	out->wp = c->cr.wp;
	out->pse = c->cr.pse;
	out->pae = c->cr.pae;
	out->pge = c->cr.pge;
	out->nxe = c->cr.nxe;
	out->cr3 = c->cr.cr3;
	out->tlb_entries = c->tlb.nr_small;
	out->tlb_large_entries = c->tlb.nr_large;
	out->tlb_hits = c->tlb.hits;
	out->tlb_misses = c->tlb.misses;
	out->tlb_fills = c->tlb.fills;
	out->tlb_flushes = c->tlb.flushes;
	out->tlb_flushes_all = c->tlb.flushes_all;
	out->tlb_invlpgs = c->tlb.invlpgs;
	out->tlb_evictions = c->tlb.evictions;
	return 0;
}

static void entry_out(const struct tlb_entry *e, struct mm_tlb_entry *o)
{
	o->va = e->vpn << PAGE_SHIFT;
	o->phys = (uint64_t)e->pfn << PAGE_SHIFT;
	o->page_size = 1u << e->shift;
	o->rw = e->rw;
	o->user = e->user;
	o->nx = e->nx;
	o->global = e->global;
	o->dirty = e->dirty;
}

int mm_tlb_entries(const struct mm_machine *m, unsigned int cpu, struct mm_tlb_entry *out,
		   unsigned int max, struct mm_error *err)
{
	const struct tlb *t;
	unsigned int i, n = 0;
	int r = check_cpu(m, cpu, err);

	if (r)
		return r;
	t = &m->cpus[cpu].tlb;
	for (i = 0; i < t->nr_small; i++)
		if (t->small[i].valid) {
			if (n < max)
				entry_out(&t->small[i], &out[n]);
			n++;
		}
	for (i = 0; i < t->nr_large; i++)
		if (t->large[i].valid) {
			if (n < max)
				entry_out(&t->large[i], &out[n]);
			n++;
		}
	return (int)n;
}
