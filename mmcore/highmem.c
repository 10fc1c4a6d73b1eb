/* SPDX-License-Identifier: MIT */
/*
 * highmem.c - reaching the frames above high_memory: kmap() on the pkmap table,
 * kmap_local_page() and kmap_atomic() on per-CPU fixmap slots, page_address().
 *
 * Mirrors: mm/highmem.c, include/linux/highmem-internal.h, arch/x86/include/asm/highmem.h.
 *
 * A 32-bit kernel maps only lowmem permanently (the direct map, PAGE_OFFSET + pa). A frame
 * of ZONE_HIGHMEM has no kernel address until someone gives it one, in one of two ways:
 *
 *  - kmap(page) borrows one of LAST_PKMAP pages of virtual space at PKMAP_BASE (one PTE
 *    page: 1024 slots on 686, 512 on PAE). The mapping is global (any CPU, any task) and
 *    may be held across sleeps; finding a slot may itself sleep. Slots are handed out by a
 *    cursor, last_pkmap_nr, that moves forward and wraps; a slot whose last user left
 *    (pkmap_count 1) keeps its PTE until the cursor wraps, when flush_all_zero_pkmaps()
 *    clears every such PTE at once and flushes the TLBs of every CPU once, instead of once
 *    per kunmap. Until then a CPU may still reach the old frame through a stale TLB entry:
 *    the lesson of the lecture's TLB part. page_address() finds a kmapped page through a
 *    small hash of struct page addresses (page_address_htable).
 *  - kmap_local_page(page) takes the next of KM_MAX_IDX fixmap slots of the CPU it runs on,
 *    a stack: it is cheap (no lock, no hash, one PTE and one invlpg at unmap) but the
 *    mapping is valid only on that CPU and must be undone in reverse order. kmap_atomic()
 *    does the same and also disables preemption and page faults until kunmap_atomic():
 *    the CPU is in atomic context, where nothing may sleep (kmap() may, so it is refused).
 * Lowmem pages need neither: both return their direct-map address and take no slot.
 *
 * mm32 keeps the kernel's state word for word (highmem.h) and writes the PTEs into the
 * page tables in emulated RAM, so a read through the returned address walks to the frame.
 * Where the kernel would sleep (every pkmap slot busy), mm_kmap() changes nothing and
 * answers -ENOSPC: the front end waits for a kunmap and runs the command again, which then
 * does what the woken kernel thread does (rescan from the cursor, wrap, flush, take a slot).
 * Invariants: see highmem.h; checked by highmem_check() (check.c).
 */
#include <string.h>

#include "machine.h"
#include "mmdebug.h"
#include "page_alloc.h"
#include "snapshot.h"

static unsigned int last_pkmap(const struct mm_machine *m)
{
	return m->geo.last_pkmap;
}

#define PKMAP_ADDR(m, nr) ((m)->layout.pkmap_base + ((uint32_t)(nr) << PAGE_SHIFT))
#define PKMAP_NR(m, va) (((va) - (m)->layout.pkmap_base) >> PAGE_SHIFT)

void highmem_init(struct mm_machine *m)
{
	struct mm_highmem *hm = &m->hm;
	unsigned int i;

	memset(hm, 0, sizeof(*hm));
	for (i = 0; i < LAST_PKMAP_MAX; i++) {
		hm->page_address_maps[i].page = PFN_NIL;
		hm->page_address_maps[i].next = -1;
	}
	for (i = 0; i < ARRAY_SIZE(hm->page_address_htable); i++)
		hm->page_address_htable[i] = -1;
}

/*
 * page_slot(): hash_ptr(page, PA_HASH_ORDER) on 32-bit, hash_32() of the struct page's
 * kernel address (mem_map in the direct map, 40 bytes a page): multiply by
 * GOLDEN_RATIO_32, keep the top PA_HASH_ORDER bits.
 */
unsigned int page_slot(const struct mm_machine *m, pfn_t pfn)
{
	uint32_t page = (uint32_t)(PAGE_OFFSET + m->mem_map_phys) + pfn * 40u;

	return (uint32_t)(page * GOLDEN_RATIO_32) >> (32 - PA_HASH_ORDER);
}

/*
 * page_address() with HASHED_PAGE_VIRTUAL: a lowmem page's direct-map address; a highmem
 * page's pkmap address when kmap() mapped it (the first match on its bucket), else 0.
 * kmap_local and kmap_atomic mappings are not visible here, as in the kernel.
 */
uint32_t page_address(const struct mm_machine *m, pfn_t pfn)
{
	const struct mm_highmem *hm = &m->hm;
	int i;

	if (pfn < m->layout.max_low_pfn)
		return PAGE_OFFSET + (pfn << PAGE_SHIFT);
	for (i = hm->page_address_htable[page_slot(m, pfn)]; i >= 0;
	     i = hm->page_address_maps[i].next)
		if (hm->page_address_maps[i].page == pfn)
			return hm->page_address_maps[i].virtual;
	return 0;
}

/*
 * set_page_address(): @virtual non-zero puts slot PKMAP_NR(virtual)'s entry at the tail of
 * the page's bucket; zero removes the first entry of the bucket that holds the page.
 */
static void set_page_address(struct mm_machine *m, pfn_t pfn, uint32_t virtual)
{
	struct mm_highmem *hm = &m->hm;
	int16_t *link = &hm->page_address_htable[page_slot(m, pfn)];

	if (virtual) {
		int16_t nr = (int16_t)PKMAP_NR(m, virtual);
		struct page_address_map *pam = &hm->page_address_maps[nr];

		pam->page = pfn;
		pam->virtual = virtual;
		pam->next = -1;
		while (*link >= 0)
			link = &hm->page_address_maps[*link].next;
		*link = nr;
		return;
	}
	for (; *link >= 0; link = &hm->page_address_maps[*link].next) {
		struct page_address_map *pam = &hm->page_address_maps[*link];

		if (pam->page == pfn) {
			*link = pam->next;
			pam->page = PFN_NIL;
			pam->virtual = 0;
			pam->next = -1;
			return;
		}
	}
}

static uint64_t pkmap_pte(const struct mm_machine *m, unsigned int nr)
{
	return m->pt.pkmap_page_table + (uint64_t)nr * pt_entry_size(m);
}

/* flush_tlb_kernel_range() of the whole pkmap area: more than 33 pages, so flush_tlb_all()
 * on every CPU (global entries included). */
static void flush_tlb_all_cpus(struct mm_machine *m)
{
	unsigned int cpu;

	for (cpu = 0; cpu < m->cfg.cpus; cpu++)
		tlb_flush(&m->cpus[cpu].tlb, false);
}

/*
 * flush_all_zero_pkmaps(): every slot whose last user left (count 1) is freed for good:
 * count 0, PTE cleared, page_address() forgets the page. If any was, the TLBs are flushed
 * once for the whole area. Returns whether they were.
 */
static bool flush_all_zero_pkmaps(struct mm_machine *m)
{
	struct mm_highmem *hm = &m->hm;
	bool need_flush = false;
	unsigned int i;

	for (i = 0; i < last_pkmap(m); i++) {
		pteval_t pte;

		if (hm->pkmap_count[i] != 1)
			continue;
		hm->pkmap_count[i] = 0;
		pte = pt_read(m, pkmap_pte(m, i));
		pt_write(m, pkmap_pte(m, i), 0);
		set_page_address(m, (pfn_t)(pt_entry_addr(m, pte, false) >> PAGE_SHIFT), 0);
		need_flush = true;
	}
	if (need_flush) {
		flush_tlb_all_cpus(m);
		hm->nr_flush_all_zero++;
	}
	return need_flush;
}

/* Would map_new_virtual() find a slot now, or sleep? A slot at 0 is free; one at 1 is
 * freed by the flush of the wrap-around the scan is certain to reach. */
static bool pkmap_would_sleep(const struct mm_machine *m)
{
	unsigned int i;

	for (i = 0; i < last_pkmap(m); i++)
		if (m->hm.pkmap_count[i] <= 1)
			return false;
	return true;
}

/*
 * map_new_virtual(): move the cursor to the next slot, wrapping to 0 with a
 * flush_all_zero_pkmaps() (and a fresh count of LAST_PKMAP tries), until a slot is free;
 * write the PTE (kmap_prot = PAGE_KERNEL), count 1, and hash the page. The caller made
 * sure a slot will be found.
 */
static uint32_t map_new_virtual(struct mm_machine *m, pfn_t pfn, bool *flushed)
{
	struct mm_highmem *hm = &m->hm;
	unsigned int count = last_pkmap(m), mask = last_pkmap(m) - 1;
	uint32_t vaddr;

	for (;;) {
		hm->last_pkmap_nr = (hm->last_pkmap_nr + 1) & mask;
		if (!hm->last_pkmap_nr) {
			*flushed |= flush_all_zero_pkmaps(m);
			count = last_pkmap(m);
		}
		if (!hm->pkmap_count[hm->last_pkmap_nr])
			break;
		if (--count == 0)
			return 0; /* the kernel sleeps here; pkmap_would_sleep() said it won't */
	}
	vaddr = PKMAP_ADDR(m, hm->last_pkmap_nr);
	pt_write(m, pkmap_pte(m, hm->last_pkmap_nr),
		 PFN_PHYS(pfn) | paging_kernel_prot(m, __PAGE_KERNEL));
	hm->pkmap_count[hm->last_pkmap_nr] = 1;
	set_page_address(m, pfn, vaddr);
	return vaddr;
}

static int check_cpu(const struct mm_machine *m, unsigned int cpu, struct mm_error *err)
{
	if (cpu >= m->cfg.cpus)
		return mm_set_error(err, -EINVAL, "cpu %u does not exist (the machine has %u)", cpu,
				    m->cfg.cpus);
	return 0;
}

/* The page may be mapped: it exists and is not free (kmap of a free page is a use after
 * free the kernel would not catch). */
static int check_mappable(const struct mm_machine *m, pfn_t pfn, const char *what,
			  struct mm_error *err)
{
	struct mm_frame_info fi;
	int r;

	if (pfn >= m->layout.max_pfn)
		return mm_set_error(err, -EINVAL, "%s: pfn %#x is beyond max_pfn %#x", what, pfn,
				    m->layout.max_pfn);
	/* the common case: the head of an allocation (frame.c's is_alloc_head()) */
	if ((m->pgstate[pfn] & PGS_ALLOC_MASK) && !(m->pgstate[pfn] & PGS_PCP) &&
	    !PageBuddy(&m->mem_map[pfn]))
		return 0;
	r = mm_get_frame(m, pfn, &fi, err);
	if (r)
		return r;
	switch (fi.state) {
	case MM_FRAME_ALLOCATED:
	case MM_FRAME_ALLOCATED_TAIL:
	case MM_FRAME_RESERVED:
		return 0;
	case MM_FRAME_ABSENT:
		return mm_set_error(err, -EINVAL, "%s: pfn %#x is a hole: it has no RAM", what,
				    pfn);
	default:
		return mm_set_error(err, -EINVAL,
				    "%s: pfn %#x is free (%s): map only a page you allocated", what,
				    pfn, mm_frame_state_name(fi.state));
	}
}

static int setup(const struct mm_machine *m, unsigned int cpu, struct mm_error *err)
{
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "kmap (the page allocator)", err);
	if (m->tainted)
		return mm_set_error(err, -EFAULT, "the machine is tainted: %s", m->diag);
	return check_cpu(m, cpu, err);
}

/*
 * kmap() -> kmap_high(): a lowmem page answers its direct-map address and takes no slot.
 * A highmem page already kmapped gets one more user on its slot; otherwise
 * map_new_virtual() gives it a slot. kmap() may sleep (might_sleep()): on a CPU in atomic
 * context it is a bug the kernel reports as "scheduling while atomic" (-EDEADLK here).
 * When every slot is in use the kernel sleeps on pkmap_map_wait until a kunmap(): here
 * -ENOSPC, nothing changed; run it again after a kunmap.
 */
int mm_kmap(struct mm_machine *m, unsigned int cpu, uint32_t pfn, struct mm_kmap *out,
	    struct mm_error *err)
{
	struct mm_highmem *hm = &m->hm;
	bool flushed = false;
	uint32_t vaddr;
	int r;

	r = setup(m, cpu, err);
	if (!r)
		r = check_mappable(m, pfn, "kmap", err);
	if (r)
		return r;
	if (highmem_in_atomic(hm, cpu))
		return mm_set_error(err, -EDEADLK,
				    "BUG: scheduling while atomic: kmap() may sleep, and CPU %u is "
				    "in atomic context (%s)",
				    cpu,
				    hm->preempt_count[cpu] ? "the command runs in atomic context"
							   : "kmap_atomic() not undone");
	memset(out, 0, sizeof(*out));
	out->pfn = pfn;
	out->slot = -1;
	if (pfn < m->layout.max_low_pfn) {
		out->address = page_address(m, pfn);
		return 0;
	}
	vaddr = page_address(m, pfn);
	if (!vaddr) {
		if (pkmap_would_sleep(m))
			return mm_set_error(err, -ENOSPC,
					    "kmap: all %u pkmap slots are in use: kmap_high() "
					    "sleeps on pkmap_map_wait until a kunmap()",
					    last_pkmap(m));
		vaddr = map_new_virtual(m, pfn, &flushed);
	}
	hm->pkmap_count[PKMAP_NR(m, vaddr)]++;
	hm->nr_kmap_high++;
	out->address = vaddr;
	out->slot = (int)PKMAP_NR(m, vaddr);
	out->count = hm->pkmap_count[out->slot];
	out->flushed = flushed;
	return 0;
}

/*
 * kunmap() -> kunmap_high(): one user less on the page's slot. When the count falls to 1
 * the slot is free for the next wrap-around (its PTE and TLB entries stay until then) and
 * the waiters on pkmap_map_wait are woken (*@out->woke). Lowmem: nothing to do. A page
 * that is not kmapped is refused (the kernel would BUG()).
 */
int mm_kunmap(struct mm_machine *m, unsigned int cpu, uint32_t pfn, struct mm_kmap *out,
	      struct mm_error *err)
{
	struct mm_highmem *hm = &m->hm;
	uint32_t vaddr;
	unsigned int nr;
	int r;

	r = setup(m, cpu, err);
	if (r)
		return r;
	if (pfn >= m->layout.max_pfn)
		return mm_set_error(err, -EINVAL, "kunmap: pfn %#x is beyond max_pfn %#x", pfn,
				    m->layout.max_pfn);
	memset(out, 0, sizeof(*out));
	out->pfn = pfn;
	out->slot = -1;
	if (pfn < m->layout.max_low_pfn) {
		out->address = page_address(m, pfn);
		return 0;
	}
	vaddr = page_address(m, pfn);
	nr = vaddr ? PKMAP_NR(m, vaddr) : 0;
	if (!vaddr || hm->pkmap_count[nr] < 2)
		return mm_set_error(err, -ENOENT,
				    "kunmap: pfn %#x is not kmapped (kunmap_high() would BUG)",
				    pfn);
	hm->pkmap_count[nr]--;
	out->address = vaddr;
	out->slot = (int)nr;
	out->count = hm->pkmap_count[nr];
	out->woke = hm->pkmap_count[nr] == 1;
	return 0;
}

/*
 * kmap_local_page() / kmap_atomic(): a lowmem page answers its direct-map address (and
 * kmap_atomic still enters atomic context). A highmem page takes the next slot of the
 * CPU's stack, idx = FIX_KMAP_BEGIN + KM_MAX_IDX * cpu + depth, whose PTE must be none;
 * the PTE is written, no TLB flush is needed (the slot was flushed when it was unmapped).
 * More than KM_MAX_IDX nested mappings: refused (the kernel BUG()s).
 */
int mm_kmap_local(struct mm_machine *m, unsigned int cpu, uint32_t pfn, bool atomic,
		  struct mm_kmap_local *out, struct mm_error *err)
{
	struct mm_highmem *hm = &m->hm;
	struct kmap_ctrl *kc;
	uint32_t vaddr;
	uint64_t pte;
	unsigned int i;
	int r;

	r = setup(m, cpu, err);
	if (!r)
		r = check_mappable(m, pfn, atomic ? "kmap_atomic" : "kmap_local_page", err);
	if (r)
		return r;
	kc = &hm->kmap_ctrl[cpu];
	memset(out, 0, sizeof(*out));
	out->pfn = pfn;
	out->atomic = atomic;
	out->idx = -1;
	if (pfn < m->layout.max_low_pfn) {
		out->address = page_address(m, pfn);
		if (atomic)
			hm->atomic_depth[cpu]++;
		return 0;
	}
	if (kc->idx >= KM_MAX_IDX)
		return mm_set_error(err, -ENOSPC,
				    "%s: CPU %u already holds KM_MAX_IDX (%u) kmap_local mappings: "
				    "the kernel would BUG()",
				    atomic ? "kmap_atomic" : "kmap_local_page", cpu, KM_MAX_IDX);
	i = kc->idx;
	vaddr = kmap_local_vaddr(cpu, i);
	pte = kernel_pte_addr(m, vaddr);
	if (!pte || pt_read(m, pte))
		return mm_set_error(err, -EFAULT,
				    "kmap_local: the PTE of slot %u of CPU %u (%#x) is not none", i,
				    cpu, vaddr);
	kc->pteval[i] = PFN_PHYS(pfn) | paging_kernel_prot(m, __PAGE_KERNEL);
	kc->pfn[i] = pfn;
	kc->atomic[i] = atomic;
	pt_write(m, pte, kc->pteval[i]);
	kc->idx++;
	if (atomic)
		hm->atomic_depth[cpu]++;
	hm->nr_kmap_local++;
	out->address = vaddr;
	out->idx = (int)i;
	out->fix_idx = (int)(FIX_KMAP_BEGIN + i + KM_MAX_IDX * cpu);
	return 0;
}

/*
 * kunmap_local() / kunmap_atomic() -> kunmap_local_indexed(): an address outside the
 * kmap_local fixmap slots is a direct-map address, nothing to undo (the kernel warns when
 * it is below PAGE_OFFSET; mm32 refuses any address that is neither). Otherwise it must
 * be the top of the CPU's stack: its PTE is cleared and its TLB entry flushed on this CPU
 * (flush_tlb_one_kernel()). kunmap_atomic leaves atomic context; mixing the two kinds of
 * unmap is refused.
 */
int mm_kunmap_local(struct mm_machine *m, unsigned int cpu, uint32_t addr, bool atomic,
		    struct mm_kmap_local *out, struct mm_error *err)
{
	struct mm_highmem *hm = &m->hm;
	const char *fn = atomic ? "kunmap_atomic" : "kunmap_local";
	uint32_t a = addr & ~(PAGE_SIZE - 1), top;
	struct kmap_ctrl *kc;
	unsigned int i;
	int r;

	r = setup(m, cpu, err);
	if (r)
		return r;
	kc = &hm->kmap_ctrl[cpu];
	memset(out, 0, sizeof(*out));
	out->address = addr;
	out->atomic = atomic;
	out->idx = -1;
	if (a < __fix_to_virt(FIX_KMAP_END) || a > __fix_to_virt(FIX_KMAP_BEGIN)) {
		if (a < PAGE_OFFSET || a >= m->layout.high_memory)
			return mm_set_error(err, -EINVAL,
					    "%s(%#x): not a kmap_local address nor a direct-map "
					    "one (WARN_ON_ONCE(addr < PAGE_OFFSET) in "
					    "kunmap_local_indexed())",
					    fn, addr);
		if (atomic && !hm->atomic_depth[cpu])
			return mm_set_error(err, -EINVAL,
					    "kunmap_atomic(%#x): CPU %u is not in kmap_atomic "
					    "context (unbalanced)",
					    addr, cpu);
		if (atomic)
			hm->atomic_depth[cpu]--;
		out->pfn = (a - PAGE_OFFSET) >> PAGE_SHIFT;
		return 0;
	}
	if (!kc->idx)
		return mm_set_error(err, -ENOENT, "%s(%#x): CPU %u's kmap_local stack is empty", fn,
				    addr, cpu);
	i = kc->idx - 1;
	top = kmap_local_vaddr(cpu, i);
	if (a != top)
		return mm_set_error(err, -EINVAL,
				    "WARNING: mm/highmem.c: kunmap_local_indexed(): %s(%#x) is not "
				    "the top of CPU %u's kmap_local stack (%#x, slot %u): unmap "
				    "in the reverse order of mapping",
				    fn, addr, cpu, top, i);
	if ((bool)kc->atomic[i] != atomic)
		return mm_set_error(err, -EINVAL, "%s(%#x): the slot was mapped by %s", fn, addr,
				    kc->atomic[i] ? "kmap_atomic(): use kunmap_atomic()"
						  : "kmap_local_page(): use kunmap_local()");
	pt_write(m, kernel_pte_addr(m, a), 0);
	tlb_invlpg(&m->cpus[cpu].tlb, a);
	out->pfn = kc->pfn[i];
	out->idx = (int)i;
	out->fix_idx = (int)(FIX_KMAP_BEGIN + i + KM_MAX_IDX * cpu);
	kc->pteval[i] = 0;
	kc->pfn[i] = 0;
	kc->atomic[i] = 0;
	kc->idx--;
	if (atomic)
		hm->atomic_depth[cpu]--;
	return 0;
}

int mm_get_pkmap(const struct mm_machine *m, struct mm_pkmap_info *out, struct mm_error *err)
{
	const struct mm_highmem *hm = &m->hm;
	unsigned int i;

	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "the pkmap table", err);
	memset(out, 0, sizeof(*out));
	out->pkmap_base = m->layout.pkmap_base;
	out->last_pkmap = last_pkmap(m);
	out->last_pkmap_nr = hm->last_pkmap_nr;
	out->flushes = hm->nr_flush_all_zero;
	for (i = 0; i < last_pkmap(m); i++) {
		pteval_t pte = pt_read(m, pkmap_pte(m, i));

		out->count[i] = hm->pkmap_count[i];
		out->pfn[i] = (pte & _PAGE_PRESENT)
				      ? (uint32_t)(pt_entry_addr(m, pte, false) >> PAGE_SHIFT)
				      : UINT32_MAX;
		if (hm->pkmap_count[i] > 1)
			out->in_use++;
		if (hm->pkmap_count[i] == 1)
			out->unused++;
	}
	return 0;
}

int mm_get_kmap_local(const struct mm_machine *m, unsigned int cpu, struct mm_kmap_local_stack *out,
		      struct mm_error *err)
{
	const struct kmap_ctrl *kc;
	unsigned int i;
	int r;

	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "the kmap_local slots", err);
	r = check_cpu(m, cpu, err);
	if (r)
		return r;
	kc = &m->hm.kmap_ctrl[cpu];
	memset(out, 0, sizeof(*out));
	out->depth = kc->idx;
	out->atomic_depth = m->hm.atomic_depth[cpu];
	for (i = 0; i < kc->idx; i++) {
		out->slots[i].pfn = kc->pfn[i];
		out->slots[i].address = kmap_local_vaddr(cpu, i);
		out->slots[i].idx = (int)i;
		out->slots[i].fix_idx = (int)(FIX_KMAP_BEGIN + i + KM_MAX_IDX * cpu);
		out->slots[i].atomic = kc->atomic[i];
	}
	return 0;
}

uint32_t mm_page_address(const struct mm_machine *m, uint32_t pfn)
{
	if (m->phase < MM_PHASE_BUDDY || pfn >= m->layout.max_pfn)
		return 0;
	return page_address(m, pfn);
}

/*
 * Freeing a page that is still kmapped is a use after free the kernel does not catch; mm32
 * refuses it (frame.c), as it refuses other bad frees. A page of the block with pkmap users
 * (count > 1: a slot at 1 is only a stale mapping the next wrap-around flushes) or on a
 * kmap_local stack.
 */
pfn_t __highmem_block_mapped(const struct mm_machine *m, pfn_t pfn, unsigned int order)
{
	const struct mm_highmem *hm = &m->hm;
	pfn_t end = pfn + (1u << order), p;
	unsigned int cpu, i;

	for (p = pfn; p < end; p++) {
		uint32_t va = p < m->layout.max_low_pfn ? 0 : page_address(m, p);

		if (va && hm->pkmap_count[PKMAP_NR(m, va)] > 1)
			return p;
	}
	for (cpu = 0; cpu < m->cfg.cpus; cpu++)
		for (i = 0; i < hm->kmap_ctrl[cpu].idx; i++)
			if (hm->kmap_ctrl[cpu].pfn[i] >= pfn && hm->kmap_ctrl[cpu].pfn[i] < end)
				return hm->kmap_ctrl[cpu].pfn[i];
	return PFN_NIL;
}

int mm_preempt_disable(struct mm_machine *m, unsigned int cpu, struct mm_error *err)
{
	int r = check_cpu(m, cpu, err);

	if (r)
		return r;
	m->hm.preempt_count[cpu]++;
	return 0;
}

void mm_preempt_enable(struct mm_machine *m, unsigned int cpu)
{
	if (cpu < m->cfg.cpus && m->hm.preempt_count[cpu])
		m->hm.preempt_count[cpu]--;
}

/* ---- the invariants (highmem.h (a)-(g)), rows of check.c's table ------------------------ */

static pteval_t pkmap_pte_of(const struct mm_machine *m, unsigned int i)
{
	return pt_read(m, pkmap_pte(m, i));
}

/* (a) pkmap_count[i] >= 0, and 0 exactly when the slot's PTE is none. */
void check_pkmap_count(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int i = 0; i < last_pkmap(m); i++) {
		int n = m->hm.pkmap_count[i];
		pteval_t pte = pkmap_pte_of(m, i);

		if (n < 0)
			check_report(c, "pkmap_count[%u] is %d", i, n);
		else if ((n == 0) != (pte == 0))
			check_report(c, "pkmap slot %u: count %d but its PTE is %#llx", i, n,
				     (unsigned long long)pte);
	}
}

/* (b) every hashed entry is its slot's, on its page's bucket, at PKMAP_ADDR(slot), once;
 * every slot in use (count >= 1) is hashed with the page its PTE maps. */
void check_page_address_hash(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	const struct mm_highmem *hm = &m->hm;
	unsigned int n = last_pkmap(m);
	uint8_t seen[LAST_PKMAP_MAX] = {0};

	for (unsigned int b = 0; b < ARRAY_SIZE(hm->page_address_htable); b++) {
		unsigned int guard = 0;

		for (int e = hm->page_address_htable[b]; e >= 0;
		     e = hm->page_address_maps[e].next) {
			const struct page_address_map *pam = &hm->page_address_maps[e];

			if (++guard > n || e >= (int)n) {
				check_report(c, "bucket %u loops or leaves the table", b);
				break;
			}
			if (seen[e]++)
				check_report(c, "page_address_maps[%d] is hashed twice", e);
			if (pam->page == PFN_NIL || pam->page >= m->layout.max_pfn ||
			    page_slot(m, pam->page) != b)
				check_report(c,
					     "page_address_maps[%d] (pfn %#x) is on bucket %u, "
					     "not its own",
					     e, pam->page, b);
			if (pam->virtual != PKMAP_ADDR(m, e))
				check_report(c,
					     "page_address_maps[%d] says %#x, not PKMAP_ADDR(%d)",
					     e, pam->virtual, e);
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		pteval_t pte = pkmap_pte_of(m, i);
		pfn_t pfn = (pfn_t)(pt_entry_addr(m, pte, false) >> PAGE_SHIFT);

		if (hm->pkmap_count[i] >= 1 && pte &&
		    (!seen[i] || hm->page_address_maps[i].page != pfn))
			check_report(c,
				     "pkmap slot %u maps pfn %#x, but page_address() does not "
				     "say so",
				     i, pfn);
		if (hm->pkmap_count[i] == 0 && seen[i])
			check_report(c, "pkmap slot %u is free but still hashed", i);
	}
}

/* (c) last_pkmap_nr < LAST_PKMAP. */
void check_pkmap_cursor(struct mm_check_ctx *c)
{
	if (c->m->hm.last_pkmap_nr >= last_pkmap(c->m))
		check_report(c, "last_pkmap_nr %u is not below LAST_PKMAP %u",
			     c->m->hm.last_pkmap_nr, last_pkmap(c->m));
}

/* (d) each CPU's stack: depth <= KM_MAX_IDX, its slots' PTEs the recorded ones, none above. */
void check_kmap_local_stack(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int cpu = 0; cpu < NR_CPUS; cpu++) {
		const struct kmap_ctrl *kc = &m->hm.kmap_ctrl[cpu];

		if (kc->idx > KM_MAX_IDX || (cpu >= m->cfg.cpus && kc->idx)) {
			check_report(c, "CPU %u: stack depth %u", cpu, kc->idx);
			continue;
		}
		if (cpu >= m->cfg.cpus)
			continue;
		for (unsigned int i = 0; i < KM_MAX_IDX; i++) {
			uint64_t pa = kernel_pte_addr(m, kmap_local_vaddr(cpu, i));
			pteval_t pte = pa ? pt_read(m, pa) : 0;

			if (i < kc->idx && (!(pte & _PAGE_PRESENT) || pte != kc->pteval[i]))
				check_report(c, "CPU %u slot %u PTE is %#llx, its pteval %#llx",
					     cpu, i, (unsigned long long)pte,
					     (unsigned long long)kc->pteval[i]);
			else if (i >= kc->idx && pte)
				check_report(c, "CPU %u slot %u above the stack has PTE %#llx", cpu,
					     i, (unsigned long long)pte);
		}
	}
}

/* (e) atomic_depth covers the kmap_atomic slots; no preempt_count left between calls. */
void check_kmap_atomic_depth(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int cpu = 0; cpu < NR_CPUS; cpu++) {
		const struct kmap_ctrl *kc = &m->hm.kmap_ctrl[cpu];
		unsigned int atomic = 0;

		for (unsigned int i = 0; i < kc->idx && i < KM_MAX_IDX; i++)
			atomic += kc->atomic[i];
		if (m->hm.atomic_depth[cpu] < atomic)
			check_report(c, "CPU %u has %u kmap_atomic slots but atomic depth %u", cpu,
				     atomic, m->hm.atomic_depth[cpu]);
		if (m->hm.preempt_count[cpu])
			check_report(c, "CPU %u: preempt_count %u left between commands", cpu,
				     m->hm.preempt_count[cpu]);
	}
}

/* (f) no page with pkmap users or on a kmap_local stack is free (c->own). */
void check_kmapped_not_free(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;

	for (unsigned int i = 0; i < last_pkmap(m); i++) {
		pfn_t pfn = (pfn_t)(pt_entry_addr(m, pkmap_pte_of(m, i), false) >> PAGE_SHIFT);

		if (m->hm.pkmap_count[i] > 1 && pfn < m->layout.max_pfn &&
		    (c->own[pfn] & (OWN_FREE | OWN_PCP)))
			check_report(c, "pkmap slot %u maps pfn %#x, which is free", i, pfn);
	}
	for (unsigned int cpu = 0; cpu < m->cfg.cpus; cpu++) {
		const struct kmap_ctrl *kc = &m->hm.kmap_ctrl[cpu];

		for (unsigned int i = 0; i < kc->idx && i < KM_MAX_IDX; i++)
			if (kc->pfn[i] < m->layout.max_pfn &&
			    (c->own[kc->pfn[i]] & (OWN_FREE | OWN_PCP)))
				check_report(c,
					     "CPU %u kmap_local slot %u maps pfn %#x, which is "
					     "free",
					     cpu, i, kc->pfn[i]);
	}
}

/* (g) the cpu_entry_area as the boot filled it. */
void check_cpu_entry_area(struct mm_check_ctx *c)
{
	char msg[MM_ERR_MAX];
	unsigned int bad = paging_check_cpu_entry_areas(c->m, msg, sizeof(msg));

	if (bad)
		check_report(c, "%s (%u entries differ)", msg, bad);
}

/* ---- the snapshot section HIGH (snapshot.h) --------------------------------------------- */

/*
 * Version 1: where mem_map sits (page_slot() hashes struct page addresses), the cursor, every
 * pkmap slot's count and hash entry, the buckets, and per CPU the kmap_local stack and the
 * atomic and preempt depths, then the counters. Version 0 (a snapshot from before kmap): the
 * empty state this build's boot gives (highmem_init()), mem_map where memblock says.
 */
void highmem_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	const struct mm_highmem *hm = &m->hm;
	unsigned int i, j;

	snap_put_u64(o, m->mem_map_phys);
	snap_put_u32(o, hm->last_pkmap_nr);
	for (i = 0; i < LAST_PKMAP_MAX; i++) {
		snap_put_i32(o, hm->pkmap_count[i]);
		snap_put_u32(o, hm->page_address_maps[i].page);
		snap_put_u32(o, hm->page_address_maps[i].virtual);
		snap_put_u16(o, (uint16_t)hm->page_address_maps[i].next);
	}
	for (i = 0; i < ARRAY_SIZE(hm->page_address_htable); i++)
		snap_put_u16(o, (uint16_t)hm->page_address_htable[i]);
	for (i = 0; i < NR_CPUS; i++) {
		const struct kmap_ctrl *kc = &hm->kmap_ctrl[i];

		snap_put_u32(o, kc->idx);
		for (j = 0; j < KM_MAX_IDX; j++) {
			snap_put_u64(o, kc->pteval[j]);
			snap_put_u32(o, kc->pfn[j]);
			snap_put_u8(o, kc->atomic[j]);
		}
		snap_put_u32(o, hm->atomic_depth[i]);
		snap_put_u32(o, hm->preempt_count[i]);
	}
	snap_put_u64(o, hm->nr_kmap_high);
	snap_put_u64(o, hm->nr_flush_all_zero);
	snap_put_u64(o, hm->nr_kmap_local);
}

int highmem_snap_load(struct mm_machine *m, struct snap_in *in)
{
	struct mm_highmem *hm = &m->hm;
	unsigned int i, j;

	if (in->version == 0) {
		const struct memblock_type *r = &m->memblock.reserved;

		/* as this build's boot leaves it: empty from permanent_kmaps_init() on, all zero
		 * before (setup_arch_final_page_tables()) */
		memset(hm, 0, sizeof(*hm));
		if (m->phase >= MM_PHASE_FINAL_PAGE_TABLES)
			highmem_init(m);

		for (i = 0; i < r->cnt; i++)
			if (!strcmp(r->regions[i].name, "mem_map"))
				m->mem_map_phys = r->regions[i].base;
		return 0;
	}
	memset(hm, 0, sizeof(*hm));
	m->mem_map_phys = snap_get_u64(in);
	hm->last_pkmap_nr = snap_get_u32(in);
	for (i = 0; i < LAST_PKMAP_MAX; i++) {
		hm->pkmap_count[i] = snap_get_i32(in);
		hm->page_address_maps[i].page = snap_get_u32(in);
		hm->page_address_maps[i].virtual = snap_get_u32(in);
		hm->page_address_maps[i].next = (int16_t)snap_get_u16(in);
	}
	for (i = 0; i < ARRAY_SIZE(hm->page_address_htable); i++)
		hm->page_address_htable[i] = (int16_t)snap_get_u16(in);
	for (i = 0; i < NR_CPUS; i++) {
		struct kmap_ctrl *kc = &hm->kmap_ctrl[i];

		kc->idx = snap_get_u32(in);
		for (j = 0; j < KM_MAX_IDX; j++) {
			kc->pteval[j] = snap_get_u64(in);
			kc->pfn[j] = snap_get_u32(in);
			kc->atomic[j] = snap_get_u8(in);
		}
		hm->atomic_depth[i] = snap_get_u32(in);
		hm->preempt_count[i] = snap_get_u32(in);
	}
	hm->nr_kmap_high = snap_get_u64(in);
	hm->nr_flush_all_zero = snap_get_u64(in);
	hm->nr_kmap_local = snap_get_u64(in);
	if (in->ret)
		return in->ret;
	/* hostile input: what the readers of this state index with must be in range */
	if (hm->last_pkmap_nr >= LAST_PKMAP_MAX)
		return snap_corrupt(in, "last_pkmap_nr %u", hm->last_pkmap_nr);
	for (i = 0; i < LAST_PKMAP_MAX; i++)
		if (hm->page_address_maps[i].next < -1 ||
		    hm->page_address_maps[i].next >= LAST_PKMAP_MAX)
			return snap_corrupt(in, "page_address_maps[%u].next %d", i,
					    hm->page_address_maps[i].next);
	for (i = 0; i < ARRAY_SIZE(hm->page_address_htable); i++)
		if (hm->page_address_htable[i] < -1 || hm->page_address_htable[i] >= LAST_PKMAP_MAX)
			return snap_corrupt(in, "page_address_htable[%u] %d", i,
					    hm->page_address_htable[i]);
	for (i = 0; i < NR_CPUS; i++)
		if (hm->kmap_ctrl[i].idx > KM_MAX_IDX)
			return snap_corrupt(in, "CPU %u's kmap_local depth %u", i,
					    hm->kmap_ctrl[i].idx);
	return 0;
}
