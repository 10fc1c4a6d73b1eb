/* SPDX-License-Identifier: MIT */
/*
 * slab.c - SLUB as a 6.1 i386 kernel builds it: kmem caches with the kernel's geometry,
 * their slabs in emulated RAM, kmalloc/kfree/ksize, named caches, /proc/slabinfo.
 *
 * Mirrors: mm/slub.c, mm/slab_common.c, include/linux/slab.h (see slab.h for the structs
 * and the invariants check_slab() verifies).
 *
 * "To kmalloc() or to vmalloc()?" The page allocator hands out 2^order pages; most of what
 * the kernel allocates is far smaller. A slab cache carves slabs (one or a few contiguous
 * pages) into objects of one size. kmalloc() is a family of such caches, one per size class
 * (8 .. 8192 bytes, with 96 and 192), in four flavours chosen by the GFP mask: normal,
 * __GFP_ACCOUNT (kmalloc-cg-*), __GFP_RECLAIMABLE (kmalloc-rcl-*) and __GFP_DMA
 * (dma-kmalloc-*). Bigger requests go straight to the page allocator as a compound page.
 *
 * Geometry (calculate_sizes, calculate_order). The stride s->size is the object size
 * rounded to the pointer size, plus a free pointer after the object for caches with a
 * constructor or SLAB_TYPESAFE_BY_RCU, aligned. The slab order is the smallest order,
 * from get_order(min_objects * size) up to slub_max_order (3), that wastes at most 1/16
 * of the slab (then 1/8, 1/4), where min_objects = 4 * (fls(nr_cpus) + 1), decreased
 * until something fits: so the number of CPUs changes the orders (kmalloc-512 is one page
 * of 8 objects with one CPU, two pages of 16 with two).
 *
 * Allocation (slab_alloc_node, ___slab_alloc). Each CPU owns a "CPU slab" whose free
 * objects it pops without touching the slab (c->freelist). When that runs dry it takes
 * the objects other CPUs freed into the slab meanwhile (get_freelist); a slab with none
 * left becomes full and leaves the CPU. Next come the CPU's partial slabs, then the node's
 * partial list (taking a few more slabs to the CPU's partial list, up to half of
 * cpu_partial_slabs), then a new slab from the page allocator.
 *
 * Freeing (do_slab_free, __slab_free). An object of the CPU's own slab goes back on
 * c->freelist. Otherwise it goes on its slab's freelist: a full slab becomes frozen and
 * joins this CPU's partial list (which is flushed to the node when it holds
 * cpu_partial_slabs already); a slab on the node's partial list that becomes empty is
 * given back to the page allocator when the node keeps min_partial slabs already, and
 * stays on the partial list otherwise.
 *
 * Objects are handed out in address order within a new slab (the order without
 * CONFIG_SLAB_FREELIST_RANDOM), and free pointers are stored plain (without
 * CONFIG_SLAB_FREELIST_HARDENED's XOR): the machine stays a deterministic function of its
 * commands, and a student can follow the chain in RAM. Neither changes a count.
 *
 * The caches a 6.1 boot creates (boot_caches[]) carry their sizes as the 686 and 686-pae
 * builds computed them (struct sizes are facts of the binary); their orders and objects per
 * slab are computed here by the rule above. A cache created later may be merged into an
 * existing compatible one (find_mergeable), as the kernel does unless slab_nomerge.
 */
#include "slab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "machine.h"
#include "mmdebug.h"
#include "page_alloc.h"
#include "snapshot.h"
#include "vmalloc.h"

#define ARCH_KMALLOC_MINALIGN 8u
#define ARCH_SLAB_MINALIGN 8u
#define PTR_SIZE 4u
#define MIN_PARTIAL 5u
#define MAX_PARTIAL 10u
#define SHRINK_PROMOTE_MAX 32
#define CACHE_LINE_SIZE 32u /* cache_line_size(): QEMU's qemu32 reports clflush 32 */

#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint32_t)(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint32_t)(a)-1))

static struct slab_state *S(struct mm_machine *m)
{
	return &m->slab;
}

/* ==== emulated memory of objects ====================================================== */

static uint32_t slab_va(pfn_t pfn)
{
	return PAGE_OFFSET + (pfn << PAGE_SHIFT);
}

static pfn_t va_pfn(uint32_t va)
{
	return (va - PAGE_OFFSET) >> PAGE_SHIFT;
}

/* get_freepointer(): the next free object, read from the object in RAM. */
static uint32_t get_freepointer(const struct mm_machine *m, const struct kmem_cache *s,
				uint32_t object)
{
	const uint8_t *p = m->ram + (object - PAGE_OFFSET + s->offset);

	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* set_freepointer(): link @object to @fp in RAM. */
static void set_freepointer(struct mm_machine *m, const struct kmem_cache *s, uint32_t object,
			    uint32_t fp)
{
	uint32_t pa = object - PAGE_OFFSET + s->offset;
	uint8_t *p = m->ram + pa;

	p[0] = (uint8_t)fp;
	p[1] = (uint8_t)(fp >> 8);
	p[2] = (uint8_t)(fp >> 16);
	p[3] = (uint8_t)(fp >> 24);
	m->pgstate[pa >> PAGE_SHIFT] |= PGS_RAM_DIRTY;
}

static void zero_object(struct mm_machine *m, uint32_t object, uint32_t len)
{
	uint32_t pa = object - PAGE_OFFSET;

	memset(m->ram + pa, 0, len);
}

/* ==== geometry ========================================================================= */

static unsigned int get_order(uint64_t size)
{
	unsigned int order = 0;

	size = (size - 1) >> PAGE_SHIFT;
	while (size) {
		order++;
		size >>= 1;
	}
	return order;
}

static unsigned int fls32(uint32_t x)
{
	return x ? 32 - (unsigned int)__builtin_clz(x) : 0;
}

static unsigned int order_objects(unsigned int order, unsigned int size)
{
	return (unsigned int)(((uint64_t)PAGE_SIZE << order) / size);
}

/* Mirrors: calc_slab_order(). */
static unsigned int calc_slab_order(const struct slab_state *st, unsigned int size,
				    unsigned int min_objects, unsigned int max_order,
				    unsigned int fract_leftover)
{
	unsigned int order;

	if (order_objects(st->min_order, size) > MAX_OBJS_PER_PAGE)
		return get_order((uint64_t)size * MAX_OBJS_PER_PAGE) - 1;
	for (order = MM_MAX(st->min_order, get_order((uint64_t)min_objects * size));
	     order <= max_order; order++) {
		uint64_t slab_size = (uint64_t)PAGE_SIZE << order;

		if (slab_size % size <= slab_size / fract_leftover)
			break;
	}
	return order;
}

/*
 * calculate_order - the slab order of a cache of stride @size
 *
 * SLUB wants at least min_objects objects per slab so that the per-CPU fast path runs
 * long between slow paths, but no more than slub_max_order (3) pages, and little waste:
 * it tries the waste fractions 1/16, 1/8, 1/4 for min_objects, then for one object fewer,
 * and so on; a single object per slab with any waste comes last.
 * Mirrors: mm/slub.c calculate_order().
 */
static int calculate_order(const struct slab_state *st, unsigned int size)
{
	unsigned int order, min_objects, max_objects, nr_cpus;

	min_objects = st->min_objects_param;
	if (!min_objects) {
		nr_cpus = st->nr_cpus; /* num_present_cpus(), nr_cpu_ids if <= 1 */
		min_objects = 4 * (fls32(nr_cpus) + 1);
	}
	max_objects = order_objects(st->max_order, size);
	min_objects = MM_MIN(min_objects, max_objects);
	while (min_objects > 1) {
		unsigned int fraction;

		for (fraction = 16; fraction >= 4; fraction /= 2) {
			order = calc_slab_order(st, size, min_objects, st->max_order, fraction);
			if (order <= st->max_order)
				return (int)order;
		}
		min_objects--;
	}
	order = calc_slab_order(st, size, 1, st->max_order, 1);
	if (order <= st->max_order)
		return (int)order;
	order = calc_slab_order(st, size, 1, MAX_ORDER, 1);
	if (order < MAX_ORDER)
		return (int)order;
	return -ENOSYS;
}

/* Mirrors: mm/slab_common.c calculate_alignment(). */
static unsigned int calculate_alignment(uint32_t flags, unsigned int align, unsigned int size)
{
	if (flags & SLAB_HWCACHE_ALIGN) {
		unsigned int ralign = CACHE_LINE_SIZE;

		while (size <= ralign / 2)
			ralign /= 2;
		align = MM_MAX(align, ralign);
	}
	align = MM_MAX(align, ARCH_SLAB_MINALIGN);
	return ALIGN_UP(align, PTR_SIZE);
}

/* Mirrors: set_cpu_partial() (CONFIG_SLUB_CPU_PARTIAL) and set_min_partial(). */
static void set_partials(struct kmem_cache *s)
{
	unsigned int nr_objects;

	if (s->size >= PAGE_SIZE)
		nr_objects = 6;
	else if (s->size >= 1024)
		nr_objects = 24;
	else if (s->size >= 256)
		nr_objects = 52;
	else
		nr_objects = 120;
	s->cpu_partial = nr_objects;
	s->cpu_partial_slabs = (nr_objects * 2 + s->oo_objects - 1) / s->oo_objects;
	s->min_partial = MM_MIN(MAX_PARTIAL, MM_MAX(MIN_PARTIAL, ilog2_u64(s->size) / 2));
}

/*
 * calculate_sizes - the layout of one object and the order of the slab
 * @final_size: the boot table's caches give the build's s->size; the object size and
 *              alignment then only describe it.
 * Mirrors: mm/slub.c calculate_sizes() without debug flags (no red zone, no poison, no
 * tracking: Debian boots without slub_debug).
 */
static int calculate_sizes(struct slab_state *st, struct kmem_cache *s, bool final_size)
{
	uint32_t size = ALIGN_UP(s->object_size, PTR_SIZE);
	int order;

	s->inuse = size;
	if (!final_size && (s->flags & (SLAB_TYPESAFE_BY_RCU | SLAB_POISON))) {
		s->offset = size; /* the free pointer may not overlay a live RCU object */
		size += PTR_SIZE;
	} else {
		s->offset = ALIGN_DOWN(s->object_size / 2, PTR_SIZE);
	}
	size = ALIGN_UP(size, s->align);
	s->size = size;
	order = calculate_order(st, size);
	if (order < 0)
		return -EINVAL;
	s->allocflags = 0;
	if (order)
		s->allocflags |= __GFP_COMP;
	if (s->flags & SLAB_CACHE_DMA)
		s->allocflags |= GFP_DMA;
	if (s->flags & SLAB_RECLAIM_ACCOUNT)
		s->allocflags |= __GFP_RECLAIMABLE;
	s->oo_order = (unsigned int)order;
	s->oo_objects = order_objects((unsigned int)order, size);
	s->min_order = get_order(size);
	s->min_objects = order_objects(s->min_order, size);
	if (!s->oo_objects)
		return -EINVAL;
	set_partials(s);
	return 0;
}

/* ==== lists ============================================================================= */

static struct kmem_cache *cache_at(struct mm_machine *m, int slot)
{
	return slot >= 0 ? &m->slab.caches[slot] : NULL;
}

const struct kmem_cache *slab_cache_of(const struct mm_machine *m, uint32_t addr)
{
	unsigned int i;

	if (!addr)
		return NULL;
	for (i = 0; i < SLAB_MAX_CACHES; i++) /* a dense array: one pass over 1.25 KiB */
		if (m->slab.cache_addr[i] == addr)
			return &m->slab.caches[i];
	return NULL;
}

/* The slot's struct kmem_cache address, as slab_cache_of() looks it up. */
static void set_cache_addr(struct mm_machine *m, struct kmem_cache *s, uint32_t addr)
{
	s->addr = addr;
	m->slab.cache_addr[s - m->slab.caches] = addr;
}

static struct kmem_cache *cache_of_page(struct mm_machine *m, pfn_t pfn)
{
	return (struct kmem_cache *)slab_cache_of(m, m->mem_map[pfn].mapping);
}

static void add_partial(struct mm_machine *m, struct kmem_cache *s, pfn_t slab, bool tail)
{
	if (tail)
		pfn_list_add_tail(m->mem_map, &s->node.partial, slab);
	else
		pfn_list_add(m->mem_map, &s->node.partial, slab);
	s->node.nr_partial++;
}

static void remove_partial(struct mm_machine *m, struct kmem_cache *s, pfn_t slab)
{
	pfn_list_del(m->mem_map, &s->node.partial, slab);
	s->node.nr_partial--;
}

static void set_counters(struct page *p, unsigned int inuse, unsigned int objects, bool frozen)
{
	p->private = slab_counters(inuse, objects, frozen);
}

static int slab_materialize(struct mm_machine *m, struct kmem_cache *s, unsigned int cpu);
static uint32_t slab_alloc(struct mm_machine *m, struct kmem_cache *s, gfp_t gfp, unsigned int cpu);
static void slab_free(struct mm_machine *m, struct kmem_cache *s, pfn_t slab, uint32_t object,
		      unsigned int cpu);
static pfn_t head_of(const struct mm_machine *m, pfn_t pfn);

/* ==== slabs from the page allocator ====================================================== */

/*
 * allocate_slab - a new slab for @s: the preferred order with __GFP_NORETRY|__GFP_NOWARN
 * (no reclaim when that order is above the minimal one), then the minimal order with the
 * caller's flags. The pages get PG_slab, the slab fields, and a freelist threading every
 * object in address order.
 * Mirrors: mm/slub.c allocate_slab(), alloc_slab_page(), account_slab(), shuffle_freelist()
 * (not built: address order).
 */
static pfn_t allocate_slab(struct mm_machine *m, struct kmem_cache *s, gfp_t flags,
			   unsigned int cpu)
{
	gfp_t alloc_gfp;
	unsigned int order = s->oo_order, objects = s->oo_objects, i, nr;
	bool forever;
	pfn_t pfn;
	uint32_t start, p;
	struct page *page;

	if (slab_materialize(m, s, cpu))
		return PFN_NIL;
	flags |= s->allocflags;
	alloc_gfp = (flags | __GFP_NOWARN | __GFP_NORETRY) & ~__GFP_NOFAIL;
	if ((alloc_gfp & __GFP_DIRECT_RECLAIM) && order > s->min_order)
		alloc_gfp = (alloc_gfp | __GFP_NOMEMALLOC) & ~__GFP_RECLAIM;
	pfn = order ? PFN_NIL : alloc_page_fast(m, alloc_gfp, cpu);
	if (pfn == PFN_NIL)
		pfn = __alloc_pages(m, alloc_gfp, order, cpu, &forever);
	if (pfn == PFN_NIL && order != s->min_order) {
		order = s->min_order;
		objects = s->min_objects;
		alloc_gfp = flags;
		if (!(alloc_gfp & __GFP_COMP) && order)
			alloc_gfp |= __GFP_COMP;
		pfn = order ? PFN_NIL : alloc_page_fast(m, alloc_gfp, cpu);
		if (pfn == PFN_NIL)
			pfn = __alloc_pages(m, alloc_gfp, order, cpu, &forever);
	}
	if (pfn == PFN_NIL)
		return PFN_NIL;
	page = &m->mem_map[pfn];
	SetPageFlag(page, PG_slab);
	m->pgstate[pfn] |= PGS_SLAB;
	nr = 1u << order;
	m->pgdat.node_stat[(s->flags & SLAB_RECLAIM_ACCOUNT) ? NR_SLAB_RECLAIMABLE_B
							     : NR_SLAB_UNRECLAIMABLE_B] += nr;
	page->mapping = s->addr;
	set_counters(page, 0, objects, false);
	start = slab_va(pfn);
	for (i = 0, p = start; i + 1 < objects; i++, p += s->size)
		set_freepointer(m, s, p, p + s->size);
	set_freepointer(m, s, p, 0);
	page->index = start;
	s->node.nr_slabs++;
	s->node.total_objects += objects;
	return pfn;
}

/* Mirrors: discard_slab() -> __free_slab(): PG_slab and slab_cache cleared, unaccounted,
 * the pages back to the page allocator through @cpu. */
static void discard_slab(struct mm_machine *m, struct kmem_cache *s, pfn_t pfn, unsigned int cpu)
{
	struct page *page = &m->mem_map[pfn];
	unsigned int order = PageHead(page) ? (m->mem_map[pfn + 1].index & 0xff) : 0;

	s->node.nr_slabs--;
	s->node.total_objects -= SLAB_OBJECTS(page);
	page->mapping = 0;
	page->index = 0;
	page->private = 0;
	page->lru_next = page->lru_prev = PFN_NIL;
	ClearPageFlag(page, PG_slab);
	m->pgstate[pfn] &= (uint8_t)~PGS_SLAB;
	m->pgdat.node_stat[(s->flags & SLAB_RECLAIM_ACCOUNT) ? NR_SLAB_RECLAIMABLE_B
							     : NR_SLAB_UNRECLAIMABLE_B] -= 1u
											   << order;
	__free_pages(m, pfn, order, cpu);
}

/* ==== the CPU's partial slabs ============================================================ */

/*
 * __unfreeze_partials - a CPU's partial slabs go back to the node: each unfrozen and added
 * to the tail of the node's partial list, except empty ones while the node holds
 * min_partial slabs already, which go back to the page allocator.
 */
static void unfreeze_partials(struct mm_machine *m, struct kmem_cache *s, struct pfn_list *list,
			      unsigned int cpu)
{
	pfn_t discard[64];
	unsigned int nr_discard = 0, i;

	while (!pfn_list_empty(list)) {
		pfn_t slab = list->first;
		struct page *p = &m->mem_map[slab];

		pfn_list_del(m->mem_map, list, slab);
		set_counters(p, SLAB_INUSE(p), SLAB_OBJECTS(p), false);
		if (!SLAB_INUSE(p) && s->node.nr_partial >= s->min_partial &&
		    nr_discard < ARRAY_SIZE(discard))
			discard[nr_discard++] = slab;
		else
			add_partial(m, s, slab, true);
	}
	for (i = 0; i < nr_discard; i++)
		discard_slab(m, s, discard[i], cpu);
}

/* Mirrors: put_cpu_partial(): push @slab (frozen) on @cpu's partial list; with @drain, a
 * list that holds cpu_partial_slabs already goes to the node first. */
static void put_cpu_partial(struct mm_machine *m, struct kmem_cache *s, pfn_t slab,
			    unsigned int cpu, bool drain)
{
	struct kmem_cache_cpu *c = &s->cpu_slab[cpu];
	struct pfn_list old = {PFN_NIL, PFN_NIL};

	if (!pfn_list_empty(&c->partial) && drain && c->partial_slabs >= s->cpu_partial_slabs) {
		old = c->partial;
		pfn_list_init(&c->partial);
		c->partial_slabs = 0;
	}
	pfn_list_add(m->mem_map, &c->partial, slab);
	c->partial_slabs++;
	if (!pfn_list_empty(&old))
		unfreeze_partials(m, s, &old, cpu);
}

/*
 * deactivate_slab - the CPU gives up its slab: the objects of c->freelist are spliced in
 * front of the slab's own freelist, the slab is unfrozen, and goes to the node's partial
 * list (its tail if other CPUs had freed into it), or to the full list, or back to the page
 * allocator when empty and the node has min_partial slabs.
 */
static void deactivate_slab(struct mm_machine *m, struct kmem_cache *s, pfn_t slab,
			    uint32_t freelist, unsigned int cpu)
{
	struct page *p = &m->mem_map[slab];
	uint32_t tail_obj = 0, it;
	unsigned int free_delta = 0, inuse;
	bool tail = p->index != 0;

	for (it = freelist; it; it = get_freepointer(m, s, it)) {
		tail_obj = it;
		free_delta++;
	}
	inuse = SLAB_INUSE(p);
	if (tail_obj) {
		inuse -= free_delta;
		set_freepointer(m, s, tail_obj, p->index);
		p->index = freelist;
	}
	set_counters(p, inuse, SLAB_OBJECTS(p), false);
	if (!inuse && s->node.nr_partial >= s->min_partial)
		discard_slab(m, s, slab, cpu);
	else if (p->index)
		add_partial(m, s, slab, tail);
	else
		pfn_list_add(m->mem_map, &s->node.full, slab);
}

/* flush_cpu_slab(): the CPU slab deactivated, the CPU's partial slabs unfrozen. */
static void flush_cpu_slab(struct mm_machine *m, struct kmem_cache *s, unsigned int cpu)
{
	struct kmem_cache_cpu *c = &s->cpu_slab[cpu];

	if (c->slab != PFN_NIL) {
		pfn_t slab = c->slab;
		uint32_t freelist = c->freelist;

		c->slab = PFN_NIL;
		c->freelist = 0;
		deactivate_slab(m, s, slab, freelist, cpu);
	}
	if (!pfn_list_empty(&c->partial)) {
		struct pfn_list l = c->partial;

		pfn_list_init(&c->partial);
		c->partial_slabs = 0;
		unfreeze_partials(m, s, &l, cpu);
	}
}

static void flush_all(struct mm_machine *m, struct kmem_cache *s, unsigned int cpu)
{
	unsigned int i;

	for (i = 0; i < m->slab.nr_cpus; i++)
		flush_cpu_slab(m, s, i);
	(void)cpu;
}

/* ==== allocation ========================================================================== */

/* Mirrors: get_freelist(): take the slab's freelist for the CPU; none left: unfreeze. */
static uint32_t get_freelist(struct mm_machine *m, struct kmem_cache *s, pfn_t slab)
{
	struct page *p = &m->mem_map[slab];
	uint32_t freelist = p->index;

	p->index = 0;
	set_counters(p, SLAB_OBJECTS(p), SLAB_OBJECTS(p), freelist != 0);
	return freelist;
}

/* Mirrors: acquire_slab(): off the node's partial list, frozen; @take: its objects go to
 * the CPU (inuse = objects), else they stay on the slab's freelist. */
static uint32_t acquire_slab(struct mm_machine *m, struct kmem_cache *s, pfn_t slab, bool take)
{
	struct page *p = &m->mem_map[slab];
	uint32_t freelist = p->index;

	remove_partial(m, s, slab);
	if (take) {
		p->index = 0;
		set_counters(p, SLAB_OBJECTS(p), SLAB_OBJECTS(p), true);
	} else {
		set_counters(p, SLAB_INUSE(p), SLAB_OBJECTS(p), true);
	}
	return freelist;
}

/* Mirrors: get_partial_node(): the first partial slab for the CPU, and more onto the CPU's
 * partial list until it holds more than half of cpu_partial_slabs. */
static uint32_t get_partial(struct mm_machine *m, struct kmem_cache *s, unsigned int cpu,
			    pfn_t *ret_slab)
{
	uint32_t object = 0;
	unsigned int partial_slabs = 0;

	while (!pfn_list_empty(&s->node.partial)) {
		pfn_t slab = s->node.partial.first;

		if (!object) {
			object = acquire_slab(m, s, slab, true);
			*ret_slab = slab;
		} else {
			acquire_slab(m, s, slab, false);
			put_cpu_partial(m, s, slab, cpu, false);
			partial_slabs++;
		}
		if (partial_slabs > s->cpu_partial_slabs / 2)
			break;
	}
	return object;
}

/*
 * slab_alloc - one object of @s for CPU @cpu
 * Return: its guest address, 0 when the page allocator could not give a slab.
 * Mirrors: slab_alloc_node() and ___slab_alloc() (one node, no preemption: the
 * transaction ids and cmpxchg retries have nothing to do).
 */
static uint32_t slab_alloc(struct mm_machine *m, struct kmem_cache *s, gfp_t gfp, unsigned int cpu)
{
	struct kmem_cache_cpu *c = &s->cpu_slab[cpu];
	uint32_t object;
	pfn_t slab;

	if (c->slab != PFN_NIL && c->freelist)
		goto load_freelist_fast;
	if (c->slab != PFN_NIL) {
		object = get_freelist(m, s, c->slab);
		if (object)
			goto load_freelist;
		/* full: it leaves the CPU (the kernel keeps it on no list) */
		pfn_list_add(m->mem_map, &s->node.full, c->slab);
		c->slab = PFN_NIL;
	}
	if (!pfn_list_empty(&c->partial)) {
		slab = c->partial.first;
		pfn_list_del(m->mem_map, &c->partial, slab);
		c->partial_slabs--;
		c->slab = slab;
		object = get_freelist(m, s, slab);
		goto load_freelist;
	}
	slab = PFN_NIL;
	object = get_partial(m, s, cpu, &slab);
	if (!object) {
		gfp_t flags =
			gfp & (__GFP_RECLAIM | __GFP_HIGH | __GFP_IO | __GFP_FS | __GFP_NOWARN |
			       __GFP_RETRY_MAYFAIL | __GFP_NOFAIL | __GFP_NORETRY | __GFP_MEMALLOC |
			       __GFP_NOMEMALLOC | __GFP_HARDWALL | __GFP_THISNODE | __GFP_ATOMIC);

		slab = allocate_slab(m, s, flags, cpu);
		if (slab == PFN_NIL)
			return 0;
		object = get_freelist(m, s, slab);
	}
	c->slab = slab;
load_freelist:
	c->freelist = get_freepointer(m, s, object);
	return object;
load_freelist_fast:
	object = c->freelist;
	c->freelist = get_freepointer(m, s, object);
	return object;
}

/* slab_want_init_on_alloc(): init_on_alloc zeroes every object but those of caches with a
 * constructor or SLAB_TYPESAFE_BY_RCU; otherwise __GFP_ZERO does. */
static void slab_post_alloc(struct mm_machine *m, const struct kmem_cache *s, gfp_t gfp,
			    uint32_t object)
{
	bool init = m->init_on_alloc ? !(s->flags & (SLAB_TYPESAFE_BY_RCU | SLAB_BOOT_CTOR))
				     : (gfp & __GFP_ZERO) != 0;

	if (init || (gfp & __GFP_ZERO))
		zero_object(m, object, s->object_size);
}

/*
 * slab_free - give @object (of the slab at @slab) back, from CPU @cpu
 * Mirrors: do_slab_free() (the fast path: the CPU's own slab) and __slab_free().
 */
static void slab_free(struct mm_machine *m, struct kmem_cache *s, pfn_t slab, uint32_t object,
		      unsigned int cpu)
{
	struct kmem_cache_cpu *c = &s->cpu_slab[cpu];
	struct page *p = &m->mem_map[slab];
	uint32_t prior;
	unsigned int inuse;
	bool was_frozen;

	if (slab == c->slab) {
		set_freepointer(m, s, object, c->freelist);
		c->freelist = object;
		return;
	}
	prior = p->index;
	was_frozen = SLAB_FROZEN(p);
	set_freepointer(m, s, object, prior);
	p->index = object;
	inuse = SLAB_INUSE(p) - 1;
	set_counters(p, inuse, SLAB_OBJECTS(p), was_frozen);
	if (was_frozen)
		return; /* a CPU slab or on a CPU's partial list: it stays there */
	if (!prior) {
		/* was full: frozen, onto this CPU's partial list */
		pfn_list_del(m->mem_map, &s->node.full, slab);
		set_counters(p, inuse, SLAB_OBJECTS(p), true);
		put_cpu_partial(m, s, slab, cpu, true);
		return;
	}
	if (!inuse && s->node.nr_partial >= s->min_partial) {
		remove_partial(m, s, slab);
		discard_slab(m, s, slab, cpu);
	}
}

/* ==== looking an object up ================================================================= */

static bool on_freelist(const struct mm_machine *m, const struct kmem_cache *s, uint32_t list,
			uint32_t object, unsigned int max)
{
	while (list && max--) {
		if (list == object)
			return true;
		list = get_freepointer(m, s, list);
	}
	return false;
}

/* Is @object (in the slab at @slab) free? On the slab's freelist or a CPU's. */
static bool object_is_free(const struct mm_machine *m, const struct kmem_cache *s, pfn_t slab,
			   uint32_t object)
{
	const struct page *p = &m->mem_map[slab];
	unsigned int cpu;

	if (on_freelist(m, s, p->index, object, SLAB_OBJECTS(p)))
		return true;
	for (cpu = 0; cpu < m->slab.nr_cpus; cpu++)
		if (s->cpu_slab[cpu].slab == slab &&
		    on_freelist(m, s, s->cpu_slab[cpu].freelist, object, SLAB_OBJECTS(p)))
			return true;
	return false;
}

static pfn_t head_of(const struct mm_machine *m, pfn_t pfn)
{
	return PageTail(&m->mem_map[pfn]) ? m->mem_map[pfn].lru_next : pfn;
}

static unsigned int block_order(const struct mm_machine *m, pfn_t head)
{
	return PageHead(&m->mem_map[head]) ? (m->mem_map[head + 1].index & 0xff) : 0;
}

enum obj_kind { OBJ_SLAB, OBJ_LARGE };

/*
 * find_object - what @addr is to kfree(): an object of a slab (its cache and slab), or a
 * kmalloc_large block. Refused: an address that is not in the direct map (a vmalloc one
 * names vfree), not a slab page nor a kmalloc'd block, inside an object rather than at its
 * start, or free already.
 */
static int find_object(struct mm_machine *m, const char *what, uint32_t addr,
		       struct kmem_cache **ret_s, pfn_t *ret_slab, enum obj_kind *kind,
		       struct mm_error *err)
{
	const struct mm_layout *l = &m->layout;
	struct kmem_cache *s;
	pfn_t pfn, head;
	uint32_t base, off;

	if (addr >= l->vmalloc_start && addr < l->vmalloc_end)
		return mm_set_error(err, -EINVAL,
				    "%s: %#x is a vmalloc address (VMALLOC_START %#x .. "
				    "VMALLOC_END %#x), not kmalloc memory: free it with vfree",
				    what, addr, l->vmalloc_start, l->vmalloc_end);
	if (addr < PAGE_OFFSET || addr >= l->high_memory)
		return mm_set_error(err, -EINVAL,
				    "%s: %#x is not in the direct map [%#x, high_memory %#x): "
				    "kmalloc never returns it",
				    what, addr, PAGE_OFFSET, l->high_memory);
	pfn = va_pfn(addr);
	if (pfn >= m->layout.max_pfn || !(m->pgstate[head_of(m, pfn)] & PGS_SLAB)) {
		pfn_t h = pfn < m->layout.max_pfn ? head_of(m, pfn) : pfn;
		bool allocated = pfn < m->layout.max_pfn && (m->pgstate[h] & PGS_ALLOC_MASK) &&
				 !(m->pgstate[h] & PGS_PCP) && m->mem_map[h]._refcount > 0;

		if (!allocated && pfn < m->layout.max_pfn && !PageReserved(&m->mem_map[pfn]))
			return mm_set_error(err, -EBUSY,
					    "%s: double free: %#x is in free pfn %#x: its slab was "
					    "released (last object freed, kmem_cache_shrink, "
					    "kmem_cache_destroy) or its kmalloc'd block freed",
					    what, addr, pfn);
		return mm_set_error(err, -EINVAL,
				    "%s: %#x is in pfn %#x, which is neither a slab nor a block "
				    "kmalloc took from the page allocator",
				    what, addr, pfn);
	}
	head = head_of(m, pfn);
	base = slab_va(head);
	if (!PageFlag(&m->mem_map[head], PG_slab)) {
		if (addr != base)
			return mm_set_error(err, -EINVAL,
					    "%s: %#x is inside the kmalloc'd block at %#x (order "
					    "%u); kfree its start",
					    what, addr, base, block_order(m, head));
		*kind = OBJ_LARGE;
		*ret_slab = head;
		*ret_s = NULL;
		return 0;
	}
	s = cache_of_page(m, head);
	if (!s)
		return mm_set_error(err, -EFAULT, "%s: slab at pfn %#x names no cache", what, head);
	off = addr - base;
	if (off % s->size || off / s->size >= SLAB_OBJECTS(&m->mem_map[head]))
		return mm_set_error(err, -EINVAL,
				    "%s: %#x is not the start of an object of %s (objects of %u "
				    "bytes from %#x; this address is %u bytes into object %u)",
				    what, addr, s->name, s->size, base, off % s->size,
				    off / s->size);
	if (object_is_free(m, s, head, addr))
		return mm_set_error(err, -EBUSY,
				    "%s: double free or corruption: object %#x of %s is free "
				    "already",
				    what, addr, s->name);
	*kind = OBJ_SLAB;
	*ret_s = s;
	*ret_slab = head;
	return 0;
}

/* Is @s one of kmalloc's own caches (any family)? */
static bool is_kmalloc_cache(const struct mm_machine *m, const struct kmem_cache *s)
{
	int slot = (int)(s - m->slab.caches);

	for (unsigned int t = 0; t < NR_KMALLOC_TYPES; t++)
		for (unsigned int i = 0; i <= KMALLOC_SHIFT_HIGH; i++)
			if (m->slab.kmalloc_caches[t][i] == slot)
				return true;
	return false;
}

/*
 * slab_object_describe - what @addr is to the slab allocator, in words ("a kmalloc object
 * of cache kmalloc-64", "an object of cache dentry", "inside an object of ...", "a free
 * object of ...", "a kmalloc'd block of order 2"), for the refusal of a free that is not
 * kfree's (vfree, vunmap, iounmap, kvfree). False: the address is no slab memory.
 */
bool slab_object_describe(const struct mm_machine *m, uint32_t addr, char *buf, size_t len)
{
	const struct kmem_cache *s;
	const struct page *p;
	pfn_t pfn, head;
	uint32_t off;
	bool inside, free, kmalloc;

	if (!m->slab.up || addr < PAGE_OFFSET || addr >= m->layout.high_memory)
		return false;
	pfn = va_pfn(addr);
	if (pfn >= m->layout.max_pfn)
		return false;
	head = head_of(m, pfn);
	if (!(m->pgstate[head] & PGS_SLAB))
		return false;
	p = &m->mem_map[head];
	off = addr - slab_va(head);
	if (!PageFlag(p, PG_slab)) {
		snprintf(buf, len, "%s kmalloc'd block of order %u (kmalloc_large)",
			 off ? "inside a" : "a", block_order(m, head));
		return true;
	}
	s = slab_cache_of(m, p->mapping);
	if (!s)
		return false;
	inside = off % s->size != 0;
	free = !inside && object_is_free(m, s, head, addr);
	kmalloc = is_kmalloc_cache(m, s);
	snprintf(buf, len, "%s%s%s%sobject of cache %s", inside ? "inside " : "",
		 free || kmalloc ? "a " : "an ", free ? "free " : "", kmalloc ? "kmalloc " : "",
		 s->name);
	return true;
}

/* ==== creating caches ===================================================================== */

static int find_slot(const struct slab_state *st)
{
	int i;

	for (i = 0; i < SLAB_MAX_CACHES; i++)
		if (!st->caches[i].used)
			return i;
	return -1;
}

static struct kmem_cache *find_by_name(struct mm_machine *m, const char *name, bool *alias)
{
	struct slab_state *st = S(m);
	unsigned int i;

	for (i = 0; i < SLAB_MAX_CACHES; i++)
		if (st->caches[i].used && !strcmp(st->caches[i].name, name)) {
			if (alias)
				*alias = false;
			return &st->caches[i];
		}
	for (i = 0; i < SLAB_MAX_ALIASES; i++)
		if (st->aliases[i].cache >= 0 && !strcmp(st->aliases[i].name, name)) {
			if (alias)
				*alias = true;
			return &st->caches[st->aliases[i].cache];
		}
	return NULL;
}

/* Mirrors: slab_unmergeable(). */
static bool slab_unmergeable(const struct slab_state *st, const struct kmem_cache *s)
{
	return st->nomerge || (s->flags & (SLAB_NEVER_MERGE | SLAB_BOOT_UNMERGEABLE)) ||
	       s->usersize || s->refcount < 0;
}

/*
 * find_mergeable - an existing cache a new one may share: not exempt from merging, the
 * same accounting/DMA flags, big enough but less than a pointer bigger, and aligned as
 * the new one needs. The oldest such cache wins (slab_caches walked in reverse).
 * Mirrors: mm/slab_common.c find_mergeable().
 */
static struct kmem_cache *find_mergeable(struct mm_machine *m, unsigned int size,
					 unsigned int align, uint32_t flags)
{
	struct slab_state *st = S(m);
	struct kmem_cache *best = NULL;
	unsigned int i;

	if (st->nomerge || (flags & (SLAB_NEVER_MERGE | SLAB_BOOT_UNMERGEABLE)))
		return NULL;
	size = ALIGN_UP(size, PTR_SIZE);
	align = calculate_alignment(flags, align, size);
	size = ALIGN_UP(size, align);
	for (i = 0; i < SLAB_MAX_CACHES; i++) {
		struct kmem_cache *s = &st->caches[i];

		if (!s->used || slab_unmergeable(st, s))
			continue;
		if (size > s->size)
			continue;
		if ((flags & SLAB_MERGE_SAME) != (s->flags & SLAB_MERGE_SAME))
			continue;
		if ((s->size & ~(align - 1)) != s->size)
			continue;
		if (s->size - size >= PTR_SIZE)
			continue;
		if (!best || s->seq < best->seq)
			best = s;
	}
	return best;
}

static int kmalloc_object(struct mm_machine *m, uint32_t size, gfp_t gfp, unsigned int cpu,
			  uint32_t *ret, struct mm_error *err);
static struct kmem_cache *kmalloc_slab(struct mm_machine *m, uint32_t size, gfp_t gfp);

/*
 * create_cache - a new struct kmem_cache: its object from "kmem_cache", its node from
 * "kmem_cache_node", a kstrdup()'d name for caches made at run time, the geometry.
 * Mirrors: create_cache() -> __kmem_cache_create() -> kmem_cache_open().
 */
static int create_cache(struct mm_machine *m, const char *name, unsigned int size,
			unsigned int align, uint32_t flags, uint32_t usersize, bool boot,
			unsigned int cpu, struct kmem_cache **ret, struct mm_error *err)
{
	struct slab_state *st = S(m);
	struct kmem_cache *kc = cache_at(m, st->kmem_cache), *kn = cache_at(m, st->kmem_cache_node);
	int slot = find_slot(st);
	struct kmem_cache *s;
	uint32_t obj = 0, node = 0, name_addr = 0;
	unsigned int i;
	gfp_t ogfp;
	bool eager;

	if (slot < 0)
		return mm_set_error(err, -ENOSPC, "mm32 keeps at most %d slab caches",
				    SLAB_MAX_CACHES);
	s = &st->caches[slot];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->flags = flags;
	s->object_size = size;
	s->usersize = usersize;
	s->align = calculate_alignment(flags, align, size);
	if (boot)
		while (size & (s->align - 1))
			s->align >>= 1;
	if (calculate_sizes(st, s, boot))
		return mm_set_error(err, -EINVAL,
				    "kmem_cache_create: %s: objects of %u bytes fit no slab "
				    "below MAX_ORDER",
				    name, size);
	s->refcount = 1;
	pfn_list_init(&s->node.partial);
	pfn_list_init(&s->node.full);
	for (i = 0; i < NR_CPUS; i++) {
		s->cpu_slab[i].slab = PFN_NIL;
		pfn_list_init(&s->cpu_slab[i].partial);
	}
	/* kstrdup_const() of a name that is not the kernel's own text, then the cache's own
	 * objects: its struct kmem_cache (create_cache()), its kmem_cache_node
	 * (init_kmem_cache_nodes()) */
	if (!boot) {
		size_t len = strlen(name);

		if (kmalloc_object(m, (uint32_t)len + 1, GFP_KERNEL, cpu, &name_addr, err))
			goto out_nomem;
		for (i = 0; i <= len; i++)
			m->ram[name_addr - PAGE_OFFSET + i] = (uint8_t)name[i];
		m->pgstate[va_pfn(name_addr)] |= PGS_RAM_DIRTY;
	}
	/* the boot's caches too from boot model 4 on (models 1-3 defer theirs to first use:
	 * slab_materialize()); create_kmalloc_cache() takes its object with GFP_NOWAIT */
	eager = !boot || boot_allocates_slab_pages(m);
	ogfp = boot && !st->up ? GFP_NOWAIT : GFP_KERNEL;
	if (kc && eager) {
		obj = slab_alloc(m, kc, ogfp, cpu);
		if (!obj)
			goto out_free_name;
		slab_post_alloc(m, kc, ogfp | __GFP_ZERO, obj);
	}
	if (kn && eager) {
		node = slab_alloc(m, kn, GFP_KERNEL, cpu);
		if (!node)
			goto out_free_obj;
		slab_post_alloc(m, kn, GFP_KERNEL, node);
	}
	s->used = true;
	s->boot = boot;
	set_cache_addr(m, s, obj);
	s->node_addr = node;
	s->name_addr = name_addr;
	s->seq = st->next_seq++;
	*ret = s;
	return 0;
out_free_obj:
	if (obj)
		slab_free(m, kc, head_of(m, va_pfn(obj)), obj, cpu);
out_free_name:
	if (name_addr) {
		struct kmem_cache *ns = kmalloc_slab(m, (uint32_t)strlen(name) + 1, GFP_KERNEL);

		slab_free(m, ns, head_of(m, va_pfn(name_addr)), name_addr, cpu);
	}
out_nomem:
	memset(s, 0, sizeof(*s));
	return mm_set_error(err, -ENOSPC,
			    "kmem_cache_create: %s: no memory for the cache's own structures",
			    name);
}

/* ==== kmalloc's caches ====================================================================== */

static const char *const kmalloc_prefix[NR_KMALLOC_TYPES] = {"kmalloc-", "kmalloc-cg-",
							     "kmalloc-rcl-", "dma-kmalloc-"};
static const uint32_t kmalloc_type_flags[NR_KMALLOC_TYPES] = {0, SLAB_ACCOUNT, SLAB_RECLAIM_ACCOUNT,
							      SLAB_CACHE_DMA};

static unsigned int kmalloc_size_of(unsigned int idx)
{
	return idx == 1 ? 96 : idx == 2 ? 192 : 1u << idx;
}

static void kmalloc_name(char *buf, size_t len, unsigned int type, unsigned int idx)
{
	unsigned int size = kmalloc_size_of(idx);

	if (size >= 1024)
		snprintf(buf, len, "%s%uk", kmalloc_prefix[type], size >> 10);
	else
		snprintf(buf, len, "%s%u", kmalloc_prefix[type], size);
}

/* Mirrors: kmalloc_type(): DMA before reclaimable before accounted. */
static unsigned int kmalloc_type(gfp_t flags)
{
	if (!(flags & (__GFP_RECLAIMABLE | __GFP_DMA | __GFP_ACCOUNT)))
		return KMALLOC_NORMAL;
	if (flags & __GFP_DMA)
		return KMALLOC_DMA;
	if (flags & __GFP_RECLAIMABLE)
		return KMALLOC_RECLAIM;
	return KMALLOC_CGROUP;
}

/*
 * kmalloc_index - the size class of @size: 1..192 through size_index[] (so 65..96 go to
 * the 96-byte cache, index 1, and 129..192 to the 192-byte one, index 2), above that the
 * next power of two. 0 for size 0.
 * Mirrors: kmalloc_slab() with size_index[] and kmalloc_index().
 */
static unsigned int kmalloc_index(uint32_t size)
{
	static const uint8_t size_index[24] = {3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1,
					       7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2};

	if (!size)
		return 0;
	if (size <= 192)
		return size_index[(size - 1) / 8];
	return fls32(size - 1);
}

static struct kmem_cache *kmalloc_slab(struct mm_machine *m, uint32_t size, gfp_t gfp)
{
	return cache_at(m, m->slab.kmalloc_caches[kmalloc_type(gfp)][kmalloc_index(size)]);
}

uint32_t mm_kmalloc_size_roundup(uint32_t size)
{
	if (!size)
		return 0;
	if (size > KMALLOC_MAX_CACHE_SIZE)
		return PAGE_SIZE << get_order(size);
	return kmalloc_size_of(kmalloc_index(size));
}

/* GFP_SLAB_BUG_MASK: what a slab allocation may not carry; kmalloc_fix_flags() warns and
 * strips it. */
#define GFP_SLAB_BUG_MASK (__GFP_DMA32 | __GFP_HIGHMEM | ~__GFP_BITS_MASK)

static gfp_t kmalloc_fix_flags(struct mm_machine *m, gfp_t flags)
{
	gfp_t invalid = flags & GFP_SLAB_BUG_MASK;
	char a[256], b[256];

	if (!invalid)
		return flags;
	mm_gfp_format(invalid, a, sizeof(a));
	mm_gfp_format(flags & ~GFP_SLAB_BUG_MASK, b, sizeof(b));
	printk(m, "Unexpected gfp: %#x (%s). Fixing up to gfp: %#x (%s). Fix your code!\n", invalid,
	       a, flags & ~GFP_SLAB_BUG_MASK, b);
	return flags & ~GFP_SLAB_BUG_MASK;
}

/*
 * kmalloc_large - a compound page from the page allocator for sizes above
 * KMALLOC_MAX_CACHE_SIZE, counted in NR_SLAB_UNRECLAIMABLE_B; kfree() recognizes it by its
 * page (not PG_slab).
 * Mirrors: mm/slab_common.c __kmalloc_large_node(), free_large_kmalloc().
 */
static int kmalloc_large(struct mm_machine *m, uint32_t size, gfp_t flags, unsigned int cpu,
			 pfn_t *ret, struct mm_error *err)
{
	unsigned int order = get_order(size);
	bool forever;
	pfn_t pfn;

	flags = kmalloc_fix_flags(m, flags) | __GFP_COMP;
	pfn = __alloc_pages(m, flags, order, cpu, &forever);
	if (pfn == PFN_NIL)
		return mm_set_error(err, -ENOSPC,
				    "kmalloc(%u): page allocation failure: order:%u, mode:%#x",
				    size, order, flags);
	m->pgstate[pfn] |= PGS_SLAB;
	m->pgdat.node_stat[NR_SLAB_UNRECLAIMABLE_B] += 1u << order;
	m->slab.kmalloc_large_pages += 1u << order;
	*ret = pfn;
	return 0;
}

static void free_large_kmalloc(struct mm_machine *m, pfn_t pfn, unsigned int cpu)
{
	unsigned int order = block_order(m, pfn);

	m->pgstate[pfn] &= (uint8_t)~PGS_SLAB;
	m->pgdat.node_stat[NR_SLAB_UNRECLAIMABLE_B] -= 1u << order;
	m->slab.kmalloc_large_pages -= 1u << order;
	__free_pages(m, pfn, order, cpu);
}

/* kmalloc() for mmcore's own users (names of caches): the object's address. */
static int kmalloc_object(struct mm_machine *m, uint32_t size, gfp_t gfp, unsigned int cpu,
			  uint32_t *ret, struct mm_error *err)
{
	struct kmem_cache *s = kmalloc_slab(m, size, gfp);
	uint32_t obj;

	obj = slab_alloc(m, s, gfp, cpu);
	if (!obj)
		return mm_set_error(err, -ENOSPC, "kmalloc(%u): no slab could be allocated", size);
	slab_post_alloc(m, s, gfp, obj);
	*ret = obj;
	return 0;
}

/*
 * slab_kmalloc, slab_kfree - kmalloc()/kfree() for another part of mmcore (vmalloc's page
 * arrays): @size up to KMALLOC_MAX_CACHE_SIZE from kmalloc's cache for @gfp; a free of
 * what is no allocated object of a slab changes nothing (its owner checked it).
 */
int slab_kmalloc(struct mm_machine *m, uint32_t size, gfp_t gfp, unsigned int cpu, uint32_t *ret,
		 struct mm_error *err)
{
	if (!m->slab.up || !size || size > KMALLOC_MAX_CACHE_SIZE)
		return mm_set_error(err, -EINVAL, "kmalloc(%u) for mmcore: not a slab's size",
				    size);
	return kmalloc_object(m, size, gfp, cpu, ret, err);
}

void slab_kfree(struct mm_machine *m, uint32_t addr, unsigned int cpu)
{
	struct kmem_cache *s;
	struct mm_error e;
	enum obj_kind kind;
	pfn_t slab;

	if (!find_object(m, "kfree", addr, &s, &slab, &kind, &e) && kind == OBJ_SLAB)
		slab_free(m, s, slab, addr, cpu);
}

bool slab_is_kmalloc_object(const struct mm_machine *m, uint32_t addr, uint32_t size)
{
	const struct slab_state *st = &m->slab;
	const struct kmem_cache *s;
	int16_t slot;
	pfn_t head;
	uint32_t off;

	if (!st->up || !size || size > KMALLOC_MAX_CACHE_SIZE || addr < PAGE_OFFSET ||
	    addr >= m->layout.high_memory || va_pfn(addr) >= m->layout.max_pfn)
		return false;
	slot = st->kmalloc_caches[KMALLOC_NORMAL][kmalloc_index(size)];
	head = head_of(m, va_pfn(addr));
	if (slot < 0 || !(m->pgstate[head] & PGS_SLAB) || !PageFlag(&m->mem_map[head], PG_slab))
		return false;
	s = slab_cache_of(m, m->mem_map[head].mapping);
	off = addr - slab_va(head);
	return s == &st->caches[slot] && !(off % s->size) &&
	       off / s->size < SLAB_OBJECTS(&m->mem_map[head]) && !object_is_free(m, s, head, addr);
}

/* ==== boot ==================================================================================== */

#define BOOT_IF_HIGHMEM 1

/*
 * The caches a Debian 6.1 i386 kernel has after boot besides kmem_cache, kmem_cache_node
 * and kmalloc's, in creation order: name, s->size on 686 and on 686-pae (the builds'
 * struct sizes with their alignment), flags. seq_file (686) and pid_namespace and the
 * sgpool-* caches (686-pae) are created too, and merge into an older cache of their size
 * as find_mergeable() says; bio-96 is the bounce bioset, made only when there is highmem
 * (mm/bounce.c init_emergency_pool()). Flags: R SLAB_RECLAIM_ACCOUNT, A SLAB_ACCOUNT, H
 * SLAB_HWCACHE_ALIGN (already in the size), RCU SLAB_TYPESAFE_BY_RCU, C a constructor, U a
 * usercopy region: C and U exempt a cache from merging (slab_unmergeable()). Which visible
 * cache is exempt is read from the captures: a cache the capture lists beside an older
 * compatible one cannot be mergeable.
 */
static const struct boot_cache {
	const char *name;
	uint16_t size, size_pae;
	uint32_t flags;
	int cond;
} boot_caches[] = {
#define R SLAB_RECLAIM_ACCOUNT
#define A SLAB_ACCOUNT
#define H SLAB_HWCACHE_ALIGN
#define U SLAB_BOOT_UNMERGEABLE
#define C (SLAB_BOOT_CTOR | SLAB_BOOT_UNMERGEABLE)
#define RCU SLAB_TYPESAFE_BY_RCU
	{"vmap_area", 32, 32, 0, 0},
	{"mm_struct", 576, 576, H | A | U, 0},
	{"task_group", 384, 384, 0, 0},
	{"radix_tree_node", 304, 304, R | C, 0},
	{"maple_node", 256, 256, H | U, 0},
	{"ftrace_event_field", 40, 40, 0, 0},
	{"trace_event_file", 56, 56, 0, 0},
	{"perf_event", 848, 848, 0, 0},
	{"Acpi-State", 48, 48, 0, 0},
	{"pid", 64, 64, H | A, 0},
	{"anon_vma", 56, 56, A | RCU | C, 0},
	{"anon_vma_chain", 32, 32, A, 0},
	{"cred_jar", 128, 128, H | A, 0},
	{"task_struct", 2944, 3008, A | U, 0},
	{"sighand_cache", 1312, 1312, H | A | RCU | C, 0},
	{"signal_cache", 736, 736, H | A, 0},
	{"files_cache", 256, 256, H | A, 0},
	{"vm_area_struct", 72, 80, A, 0},
	{"nsproxy", 40, 40, A, 0},
	{"uts_namespace", 416, 416, A | U, 0},
	{"key_jar", 160, 160, H, 0},
	{"lsm_file_cache", 16, 16, 0, 0},
	{"iint_cache", 80, 80, C, 0},
	{"net_namespace", 3264, 3264, 0, 0},
	{"names_cache", 4096, 4096, H | U, 0},
	{"dentry", 128, 128, R | A | U, 0},
	{"inode_cache", 416, 416, R | A | C, 0},
	{"filp", 160, 160, H | A, 0},
	{"mnt_cache", 192, 192, H | U, 0},
	{"kernfs_node_cache", 80, 80, 0, 0},
	{"kernfs_iattrs_cache", 64, 64, 0, 0},
	{"shmem_inode_cache", 488, 488, A | C, 0},
	{"bdev_cache", 992, 992, R | A | C, 0},
	{"sigqueue", 48, 48, A, 0},
	{"seq_file", 72, 72, A, 0},
	{"proc_inode_cache", 456, 456, R | A | C, 0},
	{"pde_opener", 24, 24, A, 0},
	{"proc_dir_entry", 128, 128, U, 0},
	{"taskstats", 416, 416, 0, 0},
	{"buffer_head", 64, 64, R, 0},
	{"fsnotify_mark_connector", 24, 24, 0, 0},
	{"file_lock_cache", 128, 128, 0, 0},
	{"skbuff_head_cache", 192, 192, H | U, 0},
	{"sock_inode_cache", 608, 608, H | R | A | C, 0},
	{"uid_cache", 96, 96, H, 0},
	{"user_namespace", 416, 416, A, 0},
	{"biovec-16", 192, 192, H, 0},
	{"biovec-64", 768, 768, H, 0},
	{"biovec-128", 1536, 1536, H, 0},
	{"biovec-max", 3072, 3072, H, 0},
	{"bio-144", 160, 160, H | RCU | U, 0},
	{"request_queue", 552, 552, 0, 0},
	{"request_queue_srcu", 760, 760, 0, 0},
	{"sgpool-16", 320, 384, H, 0},
	{"sgpool-32", 640, 768, H, 0},
	{"sgpool-64", 1280, 1536, H, 0},
	{"sgpool-128", 2560, 3072, H, 0},
	{"ep_head", 8, 8, A, 0},
	{"bio-188", 192, 192, H | RCU | U, 0},
	{"dquot", 160, 160, R, 0},
	{"hugetlbfs_inode_cache", 424, 424, A | C, 0},
	{"TCP", 1792, 1792, H | RCU | U, 0},
	{"request_sock_TCP", 240, 240, H | U, 0},
	{"tw_sock_TCP", 208, 208, H | U, 0},
	{"UDP", 896, 896, H | U, 0},
	{"RAW", 768, 768, H | U, 0},
	{"xfrm_state", 544, 544, H, 0},
	{"xfrm_dst_cache", 224, 224, H | U, 0},
	{"request_sock_subflow_v4", 296, 296, H | U, 0},
	{"MPTCP", 1472, 1472, H | U, 0},
	{"ip4-frags", 136, 136, 0, 0},
	{"UNIX", 768, 768, H | A | U, 0},
	{"posix_timers_cache", 168, 168, A, 0},
	{"pid_namespace", 80, 80, A, 0},
	{"userfaultfd_ctx_cache", 96, 96, A | C, 0},
	{"kioctx", 448, 448, H | A, 0},
	{"mqueue_inode_cache", 640, 640, H | A | C, 0},
	{"bio-208", 224, 224, H | RCU | U, 0},
	{"bio-96", 128, 128, H | RCU | U, BOOT_IF_HIGHMEM},
	{"TCPv6", 1888, 1888, H | RCU | U, 0},
	{"request_sock_TCPv6", 240, 240, H | U, 0},
	{"tw_sock_TCPv6", 208, 208, H | U, 0},
	{"UDPv6", 1024, 1024, H | U, 0},
	{"RAWv6", 896, 896, H | U, 0},
	{"request_sock_subflow_v6", 296, 296, H | U, 0},
	{"MPTCPv6", 1568, 1568, H | U, 0},
	{"fscrypt_info", 96, 96, R, 0},
	{"fsverity_info", 240, 240, R, 0},
#undef R
#undef A
#undef H
#undef U
#undef C
#undef RCU
};

static int add_alias(struct mm_machine *m, const char *name, struct kmem_cache *s, bool boot,
		     struct mm_error *err)
{
	unsigned int i;

	for (i = 0; i < SLAB_MAX_ALIASES; i++)
		if (m->slab.aliases[i].cache < 0) {
			snprintf(m->slab.aliases[i].name, SLAB_NAME_MAX, "%s", name);
			m->slab.aliases[i].cache = (int16_t)(s - m->slab.caches);
			m->slab.aliases[i].boot = boot;
			return 0;
		}
	return mm_set_error(err, -ENOSPC, "mm32 keeps at most %d merged cache names",
			    SLAB_MAX_ALIASES);
}

/*
 * kmem_cache_create_usercopy - a cache, or an alias of a compatible one.
 * Mirrors: mm/slab_common.c kmem_cache_create_usercopy(), __kmem_cache_alias().
 */
static int kmem_cache_create(struct mm_machine *m, const char *name, unsigned int size,
			     unsigned int align, uint32_t flags, bool boot, unsigned int cpu,
			     struct kmem_cache **ret, bool *merged, struct mm_error *err)
{
	struct kmem_cache *s = find_mergeable(m, size, align, flags);
	int r;

	*merged = false;
	if (s) {
		r = add_alias(m, name, s, boot, err);
		if (r)
			return r;
		s->refcount++;
		s->object_size = MM_MAX(s->object_size, size);
		s->inuse = MM_MAX(s->inuse, ALIGN_UP(size, PTR_SIZE));
		*merged = true;
		*ret = s;
		return 0;
	}
	return create_cache(m, name, size, align, flags, 0, boot, cpu, ret, err);
}

/* create_boot_cache() for the two bootstrap caches, before either can allocate. */
static void boot_cache_init(struct mm_machine *m, struct kmem_cache *s, const char *name,
			    unsigned int size)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->flags = SLAB_HWCACHE_ALIGN;
	s->object_size = size;
	s->align = calculate_alignment(s->flags, 0, size);
	calculate_sizes(&m->slab, s, true);
	s->refcount = -1;
	s->used = true;
	s->boot = true;
	s->seq = m->slab.next_seq++;
	pfn_list_init(&s->node.partial);
	pfn_list_init(&s->node.full);
	for (i = 0; i < NR_CPUS; i++) {
		s->cpu_slab[i].slab = PFN_NIL;
		pfn_list_init(&s->cpu_slab[i].partial);
	}
}

/*
 * slab_bootstrap - the first slabs: kmem_cache_node's own node structure is the first
 * object of its first slab (early_kmem_cache_node_alloc(), GFP_NOWAIT), kmem_cache's node
 * comes from it, then both are copied into objects of kmem_cache (bootstrap(), which
 * flushes their CPU slabs). From boot model 4 on this runs in kmem_cache_init(), where the
 * kernel does it, and every cache created after takes its struct kmem_cache and its
 * kmem_cache_node at creation (create_cache()): a fresh machine's kmem_cache holds one
 * object per cache. Machines of models 1-3 run it when they first need a slab, so that
 * their boot takes no page from the page allocator and their journals replay to the same
 * pages (see slab_materialize()).
 */
static int slab_bootstrap(struct mm_machine *m)
{
	struct slab_state *st = &m->slab;
	struct kmem_cache *kn = &st->caches[st->kmem_cache_node], *kc = &st->caches[st->kmem_cache];
	uint32_t obj;
	pfn_t slab;

	st->bootstrapping = true;
	slab = allocate_slab(m, kn, GFP_NOWAIT, 0);
	if (slab == PFN_NIL)
		goto out_nomem;
	obj = m->mem_map[slab].index; /* early_kmem_cache_node_alloc() */
	m->mem_map[slab].index = get_freepointer(m, kn, obj);
	set_counters(&m->mem_map[slab], 1, SLAB_OBJECTS(&m->mem_map[slab]), false);
	add_partial(m, kn, slab, false);
	slab_post_alloc(m, kn, __GFP_ZERO, obj);
	kn->node_addr = obj;

	kc->node_addr = slab_alloc(m, kn, GFP_NOWAIT, 0);
	if (!kc->node_addr)
		goto out_nomem;
	slab_post_alloc(m, kn, GFP_NOWAIT, kc->node_addr);

	/* bootstrap(): each copied into an object of kmem_cache, its CPU slab flushed */
	set_cache_addr(m, kc, slab_alloc(m, kc, GFP_NOWAIT, 0));
	if (!kc->addr)
		goto out_nomem;
	slab_post_alloc(m, kc, __GFP_ZERO, kc->addr);
	for (slab = kc->node.partial.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
		m->mem_map[slab].mapping = kc->addr;
	m->mem_map[kc->cpu_slab[0].slab].mapping = kc->addr;
	flush_cpu_slab(m, kc, 0);
	set_cache_addr(m, kn, slab_alloc(m, kc, GFP_NOWAIT, 0));
	if (!kn->addr)
		goto out_nomem;
	slab_post_alloc(m, kc, __GFP_ZERO, kn->addr);
	for (slab = kn->node.partial.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
		m->mem_map[slab].mapping = kn->addr;
	if (kn->cpu_slab[0].slab != PFN_NIL)
		m->mem_map[kn->cpu_slab[0].slab].mapping = kn->addr;
	flush_cpu_slab(m, kn, 0);
	st->bootstrapping = false;
	st->bootstrapped = true;
	return 0;
out_nomem:
	st->bootstrapping = false;
	return -ENOSPC;
}

/*
 * slab_materialize - boot models 1-3: a cache of the boot gets its struct kmem_cache and
 * kmem_cache_node objects when it first needs a slab (the kernel allocates them when it
 * creates the cache, as model 4 does; here the object counts of "kmem_cache" and
 * "kmem_cache_node" grow as caches come into use). Nothing to do on model 4.
 */
static int slab_materialize(struct mm_machine *m, struct kmem_cache *s, unsigned int cpu)
{
	struct slab_state *st = &m->slab;
	struct kmem_cache *kc, *kn;
	uint32_t obj, node;

	if (s->addr || st->bootstrapping)
		return 0;
	if (!st->bootstrapped && slab_bootstrap(m))
		return -ENOSPC;
	if (s->addr) /* kmem_cache or kmem_cache_node: bootstrap() gave them theirs */
		return 0;
	kc = &st->caches[st->kmem_cache];
	kn = &st->caches[st->kmem_cache_node];
	obj = slab_alloc(m, kc, GFP_KERNEL, cpu);
	if (!obj)
		return -ENOSPC;
	slab_post_alloc(m, kc, GFP_KERNEL | __GFP_ZERO, obj);
	node = slab_alloc(m, kn, GFP_KERNEL, cpu);
	if (!node) {
		slab_free(m, kc, head_of(m, va_pfn(obj)), obj, cpu);
		return -ENOSPC;
	}
	slab_post_alloc(m, kn, GFP_KERNEL, node);
	set_cache_addr(m, s, obj);
	s->node_addr = node;
	return 0;
}

/*
 * kmem_cache_init - SLUB comes up: kmem_cache_node first (its own node structure is the
 * first object of its first slab, early_kmem_cache_node_alloc()), then kmem_cache, both
 * copied into objects of kmem_cache (bootstrap(), which flushes their CPU slabs), then the
 * kmalloc caches (create_kmalloc_caches(): per type, 8 .. 8k with 96 after 64 and 192
 * after 128), then the caches the rest of the boot creates, in order.
 * Mirrors: mm/slub.c kmem_cache_init(), bootstrap(); mm/slab_common.c
 * create_kmalloc_caches(), new_kmalloc_cache().
 */
int kmem_cache_init(struct mm_machine *m, struct mm_error *err)
{
	struct slab_state *st = &m->slab;
	struct kmem_cache *kn, *kc, *s;
	unsigned int i, type, idx;
	bool merged;
	int r;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < SLAB_MAX_ALIASES; i++)
		st->aliases[i].cache = -1;
	for (type = 0; type < NR_KMALLOC_TYPES; type++)
		for (idx = 0; idx <= KMALLOC_SHIFT_HIGH; idx++)
			st->kmalloc_caches[type][idx] = -1;
	st->kmem_cache = st->kmem_cache_node = -1;
	st->max_order = PAGE_ALLOC_COSTLY_ORDER;
	st->nr_cpus = m->cfg.cpus;
	st->hwalign = CACHE_LINE_SIZE;
	for (i = 0; i < m->cmdline.nr; i++) {
		const struct cmdline_param *p = &m->cmdline.params[i];

		if (p->kind == EARLY_SLUB_MIN_OBJECTS)
			st->min_objects_param = (unsigned int)strtoul(p->value, NULL, 0);
		else if (p->kind == EARLY_SLUB_MAX_ORDER)
			st->max_order =
				MM_MIN((unsigned int)strtoul(p->value, NULL, 0), MAX_ORDER - 1);
		else if (p->kind == EARLY_SLUB_MIN_ORDER)
			st->min_order =
				MM_MIN((unsigned int)strtoul(p->value, NULL, 0), MAX_ORDER - 1);
		else if (p->kind == EARLY_SLAB_NOMERGE)
			st->nomerge = p->value[0] == '1';
	}
	if (st->min_order > st->max_order)
		st->max_order = st->min_order;

	/* kmem_cache_node: struct kmem_cache_node, 32 bytes with SLUB_DEBUG */
	kn = &st->caches[0];
	boot_cache_init(m, kn, "kmem_cache_node", 32);
	st->kmem_cache_node = 0;
	/* kmem_cache: struct kmem_cache up to its node pointer, 160 bytes on i386 */
	kc = &st->caches[1];
	boot_cache_init(m, kc, "kmem_cache", 140);
	st->kmem_cache = 1;
	kc->seq = st->next_seq++; /* list_add() in bootstrap order */
	kn->seq = st->next_seq++;
	/* boot model 4 on: the first slabs now, as the kernel takes them (models 1-3 defer them
	 * to the first slab a machine needs, so that their journals replay to the same pages) */
	if (boot_allocates_slab_pages(m) && slab_bootstrap(m))
		return mm_set_error(err, -ENOSPC,
				    "kmem_cache_init: no memory for the bootstrap slabs of "
				    "kmem_cache_node and kmem_cache");

	/* create_kmalloc_caches() */
	for (type = 0; type < NR_KMALLOC_TYPES; type++) {
		for (i = KMALLOC_SHIFT_LOW; i <= KMALLOC_SHIFT_HIGH; i++) {
			unsigned int add[2] = {i, 0}, k;

			if (i == 6)
				add[1] = 1;
			if (i == 7)
				add[1] = 2;
			for (k = 0; k < 2; k++) {
				char name[SLAB_NAME_MAX];
				unsigned int size;

				if (k && !add[1])
					break;
				idx = add[k];
				size = kmalloc_size_of(idx);
				kmalloc_name(name, sizeof(name), type, idx);
				r = create_cache(m, name, size,
						 is_power_of_2_u32(size) ? size
									 : ARCH_KMALLOC_MINALIGN,
						 kmalloc_type_flags[type], size, true, 0, &s, err);
				if (r)
					return r;
				if (type == KMALLOC_NORMAL)
					s->refcount = -1;
				st->kmalloc_caches[type][idx] = (int16_t)(s - st->caches);
			}
		}
	}
	st->up = true;

	/* the rest of the boot */
	for (i = 0; i < ARRAY_SIZE(boot_caches); i++) {
		const struct boot_cache *b = &boot_caches[i];
		unsigned int size = m->cfg.pae ? b->size_pae : b->size;

		if (b->cond == BOOT_IF_HIGHMEM && m->layout.max_pfn <= m->layout.max_low_pfn)
			continue;
		r = kmem_cache_create(m, b->name, size, 0, b->flags, true, 0, &s, &merged, err);
		if (r)
			return r;
	}
	return 0;
}

/* ==== /proc/slabinfo ====================================================================== */

struct slabinfo {
	unsigned long active_objs, num_objs, num_slabs;
};

/* Mirrors: get_slabinfo(): objects free on the node's partial slabs are the inactive ones;
 * free objects of CPU slabs and CPU partial slabs count as active. */
static void get_slabinfo(const struct mm_machine *m, const struct kmem_cache *s,
			 struct slabinfo *out)
{
	unsigned long nr_free = 0;
	pfn_t slab;

	for (slab = s->node.partial.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
		nr_free += SLAB_OBJECTS(&m->mem_map[slab]) - SLAB_INUSE(&m->mem_map[slab]);
	out->num_slabs = s->node.nr_slabs;
	out->num_objs = s->node.total_objects;
	out->active_objs = out->num_objs - nr_free;
}

/* slab_caches in list order: the newest first. */
static unsigned int caches_in_order(const struct mm_machine *m, int16_t *out)
{
	const struct slab_state *st = &m->slab;
	unsigned int n = 0, i, j;

	for (i = 0; i < SLAB_MAX_CACHES; i++)
		if (st->caches[i].used)
			out[n++] = (int16_t)i;
	for (i = 1; i < n; i++) { /* insertion sort by seq, descending */
		int16_t v = out[i];

		for (j = i; j > 0 && st->caches[out[j - 1]].seq < st->caches[v].seq; j--)
			out[j] = out[j - 1];
		out[j] = v;
	}
	return n;
}

/*
 * slabinfo_render - /proc/slabinfo, version 2.1, as SLUB prints it: the newest cache
 * first, tunables always 0 (SLUB has none), active_slabs = num_slabs.
 * Mirrors: mm/slab_common.c print_slabinfo_header(), cache_show().
 */
void slabinfo_render(const struct mm_machine *m, struct mm_buf *b)
{
	int16_t order[SLAB_MAX_CACHES];
	unsigned int n = caches_in_order(m, order), i;

	mm_buf_puts(b, "slabinfo - version: 2.1\n");
	mm_buf_puts(b, "# name            <active_objs> <num_objs> <objsize> <objperslab> "
		       "<pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata "
		       "<active_slabs> <num_slabs> <sharedavail>\n");
	for (i = 0; i < n; i++) {
		const struct kmem_cache *s = &m->slab.caches[order[i]];
		struct slabinfo si;

		get_slabinfo(m, s, &si);
		mm_buf_printf(b, "%-17s %6lu %6lu %6u %4u %4d", s->name, si.active_objs,
			      si.num_objs, s->size, s->oo_objects, 1 << s->oo_order);
		mm_buf_printf(b, " : tunables %4u %4u %4u", 0u, 0u, 0u);
		mm_buf_printf(b, " : slabdata %6lu %6lu %6lu", si.num_slabs, si.num_slabs, 0ul);
		mm_buf_puts(b, "\n");
	}
}

/* ==== the public calls (mmcore.h) ============================================================ */

int slab_ready(const struct mm_machine *m, unsigned int cpu, struct mm_error *err)
{
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "the slab allocator", err);
	if (!m->slab.up)
		return mm_set_error(err, -EAGAIN,
				    "this machine was restored from a snapshot written before mm32 "
				    "had the slab allocator: it has none (rebuild it from its "
				    "journal to have one)");
	if (cpu >= m->slab.nr_cpus)
		return mm_set_error(err, -EINVAL, "cpu %u does not exist (the machine has %u)", cpu,
				    m->slab.nr_cpus);
	return 0;
}

int slab_check_gfp(gfp_t gfp, struct mm_error *err)
{
	return gfp_check_mask(gfp, err);
}

static void fill_alloc(const struct mm_machine *m, const struct kmem_cache *s, uint32_t addr,
		       uint32_t size, struct mm_kmalloc *out)
{
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->size = size;
	if (s) {
		snprintf(out->cache, sizeof(out->cache), "%s", s->name);
		out->ksize = (s->flags & SLAB_TYPESAFE_BY_RCU) ? s->inuse : s->size;
		out->pfn = head_of(m, va_pfn(addr));
		out->order = s->oo_order;
	}
}

int mm_kmalloc(struct mm_machine *m, unsigned int cpu, uint32_t size, mm_gfp_t gfp,
	       struct mm_kmalloc *out, struct mm_error *err)
{
	struct kmem_cache *s;
	uint32_t obj;
	int r;

	r = slab_ready(m, cpu, err);
	if (!r)
		r = slab_check_gfp(gfp, err);
	if (r)
		return r;
	if (size > KMALLOC_MAX_SIZE)
		return mm_set_error(err, -EINVAL,
				    "kmalloc(%u): above KMALLOC_MAX_SIZE (%u): the page allocator "
				    "has no order for it (the kernel warns and returns NULL)",
				    size, KMALLOC_MAX_SIZE);
	if (!size) {
		memset(out, 0, sizeof(*out));
		out->addr = ZERO_SIZE_PTR;
		return 0;
	}
	if (size > KMALLOC_MAX_CACHE_SIZE) {
		pfn_t pfn = PFN_NIL;

		r = kmalloc_large(m, size, gfp, cpu, &pfn, err);
		if (r)
			return r;
		memset(out, 0, sizeof(*out));
		out->addr = slab_va(pfn);
		out->size = size;
		out->large = true;
		out->pfn = pfn;
		out->order = get_order(size);
		out->ksize = PAGE_SIZE << out->order;
		return 0;
	}
	gfp = kmalloc_fix_flags(m, gfp);
	s = kmalloc_slab(m, size, gfp);
	obj = slab_alloc(m, s, gfp, cpu);
	if (!obj)
		return mm_set_error(err, -ENOSPC,
				    "kmalloc(%u): %s: the page allocator could not give a slab "
				    "of order %u or %u",
				    size, s->name, s->oo_order, s->min_order);
	slab_post_alloc(m, s, gfp, obj);
	fill_alloc(m, s, obj, size, out);
	return 0;
}

int mm_kfree(struct mm_machine *m, unsigned int cpu, uint32_t addr, bool *freed,
	     struct mm_error *err)
{
	uint32_t owner;
	struct kmem_cache *s;
	enum obj_kind kind;
	pfn_t slab;
	int r;

	r = slab_ready(m, cpu, err);
	if (r)
		return r;
	if (freed)
		*freed = false;
	if (addr <= ZERO_SIZE_PTR) /* ZERO_OR_NULL_PTR(): nothing to do */
		return 0;
	r = find_object(m, "kfree", addr, &s, &slab, &kind, err);
	if (r)
		return r;
	if (kind == OBJ_SLAB && vmalloc_pages_array_of(m, addr, &owner))
		return mm_set_error(err, -EBUSY,
				    "kfree: %#x is the page array of the vmalloc area at %#x "
				    "(__vmalloc_area_node() kmalloc'd it): vfree that area",
				    addr, owner);
	if (kind == OBJ_LARGE)
		free_large_kmalloc(m, slab, cpu);
	else
		slab_free(m, s, slab, addr, cpu);
	if (freed)
		*freed = true;
	return 0;
}

int mm_ksize(struct mm_machine *m, uint32_t addr, uint32_t *ret, struct mm_error *err)
{
	struct kmem_cache *s;
	enum obj_kind kind;
	pfn_t slab;
	int r;

	r = slab_ready(m, 0, err);
	if (r)
		return r;
	if (addr == ZERO_SIZE_PTR) {
		*ret = 0;
		return 0;
	}
	r = find_object(m, "ksize", addr, &s, &slab, &kind, err);
	if (r)
		return r;
	if (kind == OBJ_LARGE)
		*ret = PAGE_SIZE << block_order(m, slab);
	else
		*ret = (s->flags & SLAB_TYPESAFE_BY_RCU) ? s->inuse : s->size;
	return 0;
}

const char *mm_kmalloc_cache_name(struct mm_machine *m, uint32_t size, mm_gfp_t gfp)
{
	const struct kmem_cache *s;

	if (!m->slab.up || !size || size > KMALLOC_MAX_CACHE_SIZE)
		return NULL;
	s = kmalloc_slab(m, size, gfp & ~GFP_SLAB_BUG_MASK);
	return s ? s->name : NULL;
}

/* ---- flags as text ---- */

static const struct {
	const char *name;
	uint32_t bit;
} slab_flag_names[] = {
	{"SLAB_HWCACHE_ALIGN", SLAB_HWCACHE_ALIGN},
	{"SLAB_CACHE_DMA", SLAB_CACHE_DMA},
	{"SLAB_RECLAIM_ACCOUNT", SLAB_RECLAIM_ACCOUNT},
	{"SLAB_PANIC", SLAB_PANIC},
	{"SLAB_TYPESAFE_BY_RCU", SLAB_TYPESAFE_BY_RCU},
	{"SLAB_MEM_SPREAD", SLAB_MEM_SPREAD},
	{"SLAB_ACCOUNT", SLAB_ACCOUNT},
	{"SLAB_TEMPORARY", SLAB_RECLAIM_ACCOUNT},
};

int mm_slab_flags_parse(const char *text, uint32_t *ret, struct mm_error *err)
{
	uint32_t flags = 0;
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, "|");
		unsigned int i;
		bool found = false;

		while (len && (*p == ' ')) {
			p++;
			len--;
		}
		for (i = 0; i < ARRAY_SIZE(slab_flag_names); i++)
			if (strlen(slab_flag_names[i].name) == len &&
			    !strncmp(slab_flag_names[i].name, p, len)) {
				flags |= slab_flag_names[i].bit;
				found = true;
			}
		if (!found && len == 1 && *p == '0')
			found = true;
		if (!found)
			return mm_set_error(
				err, -EINVAL,
				"unknown or unsupported slab flag \"%.*s\" (known: "
				"SLAB_HWCACHE_ALIGN, SLAB_CACHE_DMA, "
				"SLAB_RECLAIM_ACCOUNT, SLAB_ACCOUNT, SLAB_PANIC, "
				"SLAB_TYPESAFE_BY_RCU, SLAB_MEM_SPREAD; debug flags are "
				"not modelled)",
				(int)len, p);
		p += len;
		if (*p == '|')
			p++;
	}
	*ret = flags;
	return 0;
}

size_t mm_slab_flags_format(uint32_t flags, char *buf, size_t size)
{
	size_t n = 0;
	unsigned int i;

	if (size)
		buf[0] = '\0';
	for (i = 0; i + 1 < ARRAY_SIZE(slab_flag_names); i++) {
		if (!(flags & slab_flag_names[i].bit))
			continue;
		n += (size_t)snprintf(buf + MM_MIN(n, size), size > n ? size - n : 0, "%s%s",
				      n ? "|" : "", slab_flag_names[i].name);
	}
	if (!n)
		n = (size_t)snprintf(buf, size, "0");
	return n;
}

/* ---- named caches ---- */

static void fill_info(const struct mm_machine *m, const struct kmem_cache *s,
		      struct mm_cache_info *out)
{
	struct slabinfo si;
	unsigned int i, cpu;
	pfn_t slab;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", s->name);
	out->object_size = s->object_size;
	out->size = s->size;
	out->align = s->align;
	out->offset = s->offset;
	out->flags = s->flags & ~(SLAB_BOOT_UNMERGEABLE | SLAB_BOOT_CTOR);
	out->order = s->oo_order;
	out->objperslab = s->oo_objects;
	out->min_order = s->min_order;
	out->min_objects = s->min_objects;
	out->allocflags = s->allocflags;
	out->refcount = s->refcount;
	out->min_partial = s->min_partial;
	out->cpu_partial = s->cpu_partial;
	out->cpu_partial_slabs = s->cpu_partial_slabs;
	out->addr = s->addr;
	out->boot = s->boot;
	out->reclaimable = (s->flags & SLAB_RECLAIM_ACCOUNT) != 0;
	get_slabinfo(m, s, &si);
	out->active_objs = si.active_objs;
	out->num_objs = si.num_objs;
	out->num_slabs = si.num_slabs;
	out->nr_partial = s->node.nr_partial;
	for (slab = s->node.full.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
		out->nr_full++;
	for (cpu = 0; cpu < m->slab.nr_cpus; cpu++) {
		if (s->cpu_slab[cpu].slab != PFN_NIL)
			out->nr_cpu_slabs++;
		out->nr_cpu_partial += s->cpu_slab[cpu].partial_slabs;
	}
	for (i = 0; i < SLAB_MAX_ALIASES; i++)
		if (m->slab.aliases[i].cache == s - m->slab.caches && out->nr_aliases < 8)
			snprintf(out->aliases[out->nr_aliases++], SLAB_NAME_MAX, "%s",
				 m->slab.aliases[i].name);
}

unsigned int mm_slab_cache_count(const struct mm_machine *m)
{
	unsigned int i, n = 0;

	for (i = 0; i < SLAB_MAX_CACHES; i++)
		n += m->slab.caches[i].used;
	return n;
}

int mm_slab_cache_get(const struct mm_machine *m, unsigned int i, struct mm_cache_info *out,
		      struct mm_error *err)
{
	int16_t order[SLAB_MAX_CACHES];
	unsigned int n = caches_in_order(m, order);

	if (i >= n)
		return mm_set_error(err, -ENOENT, "no cache %u", i);
	fill_info(m, &m->slab.caches[order[i]], out);
	return 0;
}

int mm_slab_cache_find(struct mm_machine *m, const char *name, struct mm_cache_info *out,
		       struct mm_error *err)
{
	struct kmem_cache *s;
	bool alias;

	if (!m->slab.up)
		return mm_need_phase(m, MM_PHASE_BUDDY, "the slab allocator", err);
	s = find_by_name(m, name, &alias);
	if (!s)
		return mm_set_error(err, -ENOENT, "no slab cache named \"%s\"", name);
	fill_info(m, s, out);
	return 0;
}

static void slab_list_fill(const struct mm_machine *m, const struct kmem_cache *s, pfn_t slab,
			   const char *list, int cpu, struct mm_slab_info *o)
{
	const struct page *p = &m->mem_map[slab];

	o->pfn = slab;
	o->addr = slab_va(slab);
	o->order = block_order(m, slab);
	o->inuse = SLAB_INUSE(p);
	o->objects = SLAB_OBJECTS(p);
	o->frozen = SLAB_FROZEN(p);
	o->freelist = p->index;
	o->list = list;
	o->cpu = cpu;
	o->cpu_freelist = cpu >= 0 && !strcmp(list, "cpu") ? s->cpu_slab[cpu].freelist : 0;
}

int mm_slab_cache_slabs(const struct mm_machine *m, const char *name, struct mm_slab_info *out,
			unsigned int max, struct mm_error *err)
{
	const struct kmem_cache *s = NULL;
	unsigned int i, n = 0, cpu;
	pfn_t slab;

	for (i = 0; i < SLAB_MAX_CACHES; i++)
		if (m->slab.caches[i].used && !strcmp(m->slab.caches[i].name, name))
			s = &m->slab.caches[i];
	if (!s)
		return mm_set_error(err, -ENOENT, "no slab cache named \"%s\"", name);
#define ADD(slab_, list_, cpu_)                                                                    \
	do {                                                                                       \
		if (n < max)                                                                       \
			slab_list_fill(m, s, slab_, list_, cpu_, &out[n]);                         \
		n++;                                                                               \
	} while (0)
	for (cpu = 0; cpu < m->slab.nr_cpus; cpu++) {
		if (s->cpu_slab[cpu].slab != PFN_NIL)
			ADD(s->cpu_slab[cpu].slab, "cpu", (int)cpu);
		for (slab = s->cpu_slab[cpu].partial.first; slab != PFN_NIL;
		     slab = m->mem_map[slab].lru_next)
			ADD(slab, "cpu_partial", (int)cpu);
	}
	for (slab = s->node.partial.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
		ADD(slab, "partial", -1);
	for (slab = s->node.full.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
		ADD(slab, "full", -1);
#undef ADD
	return (int)n;
}

static bool valid_name(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len >= SLAB_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f ||
		    name[i] == '/')
			return false;
	return true;
}

int mm_kmem_cache_create(struct mm_machine *m, unsigned int cpu, const char *name, uint32_t size,
			 uint32_t align, uint32_t flags, struct mm_cache_info *out,
			 struct mm_error *err)
{
	struct kmem_cache *s;
	bool merged;
	int r;

	r = slab_ready(m, cpu, err);
	if (r)
		return r;
	if (!valid_name(name))
		return mm_set_error(err, -EINVAL,
				    "kmem_cache_create: the name must be 1 to %d printable "
				    "characters without spaces or '/'",
				    SLAB_NAME_MAX - 1);
	if (find_by_name(m, name, NULL))
		return mm_set_error(err, -EBUSY,
				    "kmem_cache_create: a cache named \"%s\" exists (sysfs would "
				    "refuse the duplicate)",
				    name);
	if (!size || size > KMALLOC_MAX_SIZE)
		return mm_set_error(err, -EINVAL,
				    "kmem_cache_create: %s: size %u is not in 1 .. %u (an object "
				    "must fit a slab below MAX_ORDER)",
				    name, size, KMALLOC_MAX_SIZE);
	if (align & (align - 1) || align > PAGE_SIZE)
		return mm_set_error(err, -EINVAL,
				    "kmem_cache_create: %s: align %u is not a power of two up "
				    "to %u",
				    name, align, PAGE_SIZE);
	if (flags & ~(SLAB_HWCACHE_ALIGN | SLAB_CACHE_DMA | SLAB_RECLAIM_ACCOUNT | SLAB_PANIC |
		      SLAB_TYPESAFE_BY_RCU | SLAB_MEM_SPREAD | SLAB_ACCOUNT))
		return mm_set_error(err, -EINVAL,
				    "kmem_cache_create: %s: flags %#x are not modelled", name,
				    flags);
	r = kmem_cache_create(m, name, size, align, flags, false, cpu, &s, &merged, err);
	if (r)
		return r;
	fill_info(m, s, out);
	out->merged = merged;
	return 0;
}

static int lookup(struct mm_machine *m, const char *what, const char *name, struct kmem_cache **ret,
		  bool *alias, struct mm_error *err)
{
	*ret = find_by_name(m, name, alias);
	if (!*ret)
		return mm_set_error(err, -ENOENT,
				    "%s: no slab cache named \"%s\" (never created, or destroyed)",
				    what, name);
	return 0;
}

int mm_kmem_cache_alloc(struct mm_machine *m, unsigned int cpu, const char *name, mm_gfp_t gfp,
			struct mm_kmalloc *out, struct mm_error *err)
{
	struct kmem_cache *s;
	uint32_t obj;
	bool alias;
	int r;

	r = slab_ready(m, cpu, err);
	if (!r)
		r = slab_check_gfp(gfp, err);
	if (!r)
		r = lookup(m, "kmem_cache_alloc", name, &s, &alias, err);
	if (r)
		return r;
	gfp = kmalloc_fix_flags(m, gfp);
	obj = slab_alloc(m, s, gfp, cpu);
	if (!obj)
		return mm_set_error(err, -ENOSPC,
				    "kmem_cache_alloc(%s): the page allocator could not give a "
				    "slab of order %u or %u",
				    s->name, s->oo_order, s->min_order);
	slab_post_alloc(m, s, gfp, obj);
	fill_alloc(m, s, obj, s->object_size, out);
	return 0;
}

int mm_kmem_cache_free(struct mm_machine *m, unsigned int cpu, const char *name, uint32_t addr,
		       struct mm_error *err)
{
	struct kmem_cache *s, *real;
	enum obj_kind kind;
	pfn_t slab;
	bool alias;
	int r;

	r = slab_ready(m, cpu, err);
	if (!r)
		r = lookup(m, "kmem_cache_free", name, &s, &alias, err);
	if (!r)
		r = find_object(m, "kmem_cache_free", addr, &real, &slab, &kind, err);
	if (r)
		return r;
	if (kind != OBJ_SLAB || real != s)
		return mm_set_error(err, -EINVAL,
				    "cache_from_obj: Wrong slab cache. %s but object is from %s",
				    name, kind == OBJ_SLAB ? real->name : "kmalloc_large");
	slab_free(m, s, slab, addr, cpu);
	return 0;
}

/* Objects allocated: all objects minus every free one (node partial, CPU slabs' and CPU
 * partial slabs' freelists). */
static unsigned long live_objects(const struct mm_machine *m, const struct kmem_cache *s)
{
	unsigned long live = 0;
	unsigned int cpu;
	pfn_t slab;
	uint32_t it;

	for (slab = s->node.partial.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
		live += SLAB_INUSE(&m->mem_map[slab]);
	for (slab = s->node.full.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
		live += SLAB_INUSE(&m->mem_map[slab]);
	for (cpu = 0; cpu < m->slab.nr_cpus; cpu++) {
		const struct kmem_cache_cpu *c = &s->cpu_slab[cpu];

		for (slab = c->partial.first; slab != PFN_NIL; slab = m->mem_map[slab].lru_next)
			live += SLAB_INUSE(&m->mem_map[slab]);
		if (c->slab != PFN_NIL) {
			live += SLAB_INUSE(&m->mem_map[c->slab]);
			for (it = c->freelist; it; it = get_freepointer(m, s, it))
				live--;
		}
	}
	return live;
}

/*
 * __kmem_cache_do_shrink - every CPU's slabs flushed to the node, empty partial slabs back
 * to the page allocator whatever min_partial says, and the rest sorted: the slabs with the
 * fewest free objects first, so that allocations fill them and the emptier ones can go.
 */
int mm_kmem_cache_shrink(struct mm_machine *m, unsigned int cpu, const char *name,
			 unsigned int *ret_freed, struct mm_error *err)
{
	struct pfn_list promote[SHRINK_PROMOTE_MAX], keep;
	struct kmem_cache *s;
	unsigned int freed = 0;
	bool alias;
	pfn_t slab, next;
	int r, i;

	r = slab_ready(m, cpu, err);
	if (!r)
		r = lookup(m, "kmem_cache_shrink", name, &s, &alias, err);
	if (r)
		return r;
	flush_all(m, s, cpu);
	for (i = 0; i < SHRINK_PROMOTE_MAX; i++)
		pfn_list_init(&promote[i]);
	pfn_list_init(&keep);
	for (slab = s->node.partial.first; slab != PFN_NIL; slab = next) {
		struct page *p = &m->mem_map[slab];
		unsigned int free = SLAB_OBJECTS(p) - SLAB_INUSE(p);

		next = p->lru_next;
		pfn_list_del(m->mem_map, &s->node.partial, slab);
		s->node.nr_partial--;
		if (free == SLAB_OBJECTS(p)) {
			discard_slab(m, s, slab, cpu);
			freed++;
		} else if (free <= SHRINK_PROMOTE_MAX) {
			pfn_list_add_tail(m->mem_map, &promote[free - 1], slab);
		} else {
			pfn_list_add_tail(m->mem_map, &keep, slab);
		}
	}
	for (i = 0; i < SHRINK_PROMOTE_MAX; i++)
		while (!pfn_list_empty(&promote[i])) {
			pfn_t sl = promote[i].first;

			pfn_list_del(m->mem_map, &promote[i], sl);
			add_partial(m, s, sl, true);
		}
	while (!pfn_list_empty(&keep)) {
		pfn_t sl = keep.first;

		pfn_list_del(m->mem_map, &keep, sl);
		add_partial(m, s, sl, true);
	}
	if (ret_freed)
		*ret_freed = freed;
	return 0;
}

int mm_kmem_cache_destroy(struct mm_machine *m, unsigned int cpu, const char *name,
			  struct mm_error *err)
{
	struct kmem_cache *s, *kc, *kn;
	unsigned long live;
	bool alias;
	unsigned int i;
	pfn_t slab;
	int r;

	r = slab_ready(m, cpu, err);
	if (!r)
		r = lookup(m, "kmem_cache_destroy", name, &s, &alias, err);
	if (r)
		return r;
	if (alias) {
		for (i = 0; i < SLAB_MAX_ALIASES; i++)
			if (m->slab.aliases[i].cache >= 0 && !strcmp(m->slab.aliases[i].name, name))
				break;
		if (m->slab.aliases[i].boot)
			return mm_set_error(err, -EBUSY,
					    "kmem_cache_destroy: %s was created by the kernel's "
					    "boot (merged into %s) and is in use by it",
					    name, s->name);
		/* kmem_cache_destroy() of a merged name: one reference less */
		memset(&m->slab.aliases[i], 0, sizeof(m->slab.aliases[i]));
		m->slab.aliases[i].cache = -1;
		s->refcount--;
		return 0;
	}
	if (s->boot)
		return mm_set_error(err, -EBUSY,
				    "kmem_cache_destroy: %s was created by the kernel's boot and "
				    "is in use by it",
				    name);
	if (s->refcount > 1)
		return mm_set_error(err, -EBUSY,
				    "kmem_cache_destroy: %s: %d other cache names are merged into "
				    "it; destroy those first",
				    name, s->refcount - 1);
	live = live_objects(m, s);
	if (live)
		return mm_set_error(err, -EBUSY,
				    "kmem_cache_destroy %s: Slab cache still has objects (%lu "
				    "allocated): free them first",
				    name, live);
	flush_all(m, s, cpu);
	while ((slab = s->node.partial.first) != PFN_NIL) {
		remove_partial(m, s, slab);
		discard_slab(m, s, slab, cpu);
	}
	/* slab_kmem_cache_release(): the node structure, the kstrdup()'d name, the cache */
	kc = cache_at(m, m->slab.kmem_cache);
	kn = cache_at(m, m->slab.kmem_cache_node);
	slab_free(m, kn, head_of(m, va_pfn(s->node_addr)), s->node_addr, cpu);
	if (s->name_addr) {
		struct kmem_cache *ns = kmalloc_slab(m, (uint32_t)strlen(s->name) + 1, GFP_KERNEL);

		slab_free(m, ns, head_of(m, va_pfn(s->name_addr)), s->name_addr, cpu);
	}
	slab_free(m, kc, head_of(m, va_pfn(s->addr)), s->addr, cpu);
	set_cache_addr(m, s, 0);
	memset(s, 0, sizeof(*s));
	return 0;
}

/* ==== the invariants (mmdebug.h; rows of check_invariants[] in check.c) ===================== */

/* Every slab of every cache with the list it is on: @fn(c, s, pfn, list, frozen_there,
 * cpu_freelist, arg). Lists are walked without trusting them (a loop ends the walk). */
typedef void slab_visit_fn(struct mm_check_ctx *c, const struct kmem_cache *s, pfn_t pfn,
			   const char *list, bool frozen, uint32_t cpu_freelist, void *arg);

static void slab_check_walk_list(struct mm_check_ctx *c, const struct kmem_cache *s,
				 const struct pfn_list *l, const char *name, bool frozen,
				 slab_visit_fn *fn, void *arg)
{
	const struct mm_machine *m = c->m;
	pfn_t pfn, guard;

	for_each_listed_pfn(m, l, pfn, guard)
		fn(c, s, pfn, name, frozen, 0, arg);
}

static void for_each_slab(struct mm_check_ctx *c, slab_visit_fn *fn, void *arg)
{
	const struct slab_state *st = &c->m->slab;

	for (unsigned int i = 0; i < SLAB_MAX_CACHES; i++) {
		const struct kmem_cache *s = &st->caches[i];

		if (!s->used)
			continue;
		for (unsigned int cpu = 0; cpu < st->nr_cpus; cpu++) {
			const struct kmem_cache_cpu *cc = &s->cpu_slab[cpu];

			if (cc->slab != PFN_NIL && cc->slab < c->m->mem_map_pfns)
				fn(c, s, cc->slab, "cpu", true, cc->freelist, arg);
			slab_check_walk_list(c, s, &cc->partial, "cpu_partial", true, fn, arg);
		}
		slab_check_walk_list(c, s, &s->node.partial, "partial", false, fn, arg);
		slab_check_walk_list(c, s, &s->node.full, "full", false, fn, arg);
	}
}

/* The order of the slab whose head page is @pfn, as its first tail page records it; the
 * checker reads corrupted machines too: a head at the last pfn reads as order 0. */
static unsigned int slab_order_of(const struct mm_machine *m, pfn_t pfn)
{
	if (!PageHead(&m->mem_map[pfn]) || pfn + 1 >= m->layout.max_pfn)
		return 0;
	return m->mem_map[pfn + 1].index & 0xff;
}

static void visit_lists(struct mm_check_ctx *c, const struct kmem_cache *s, pfn_t pfn,
			const char *list, bool frozen, uint32_t cpu_freelist, void *arg)
{
	const struct mm_machine *m = c->m;
	const struct page *p = &m->mem_map[pfn];
	uint8_t *on_list = arg;
	unsigned int order;

	(void)cpu_freelist;
	if (pfn >= m->layout.max_pfn) {
		check_report(c, "cache %s: %s slab pfn %#x beyond max_pfn", s->name, list, pfn);
		return;
	}
	if (on_list[pfn]++) {
		check_report(c, "slab %s pfn %#x is on more than one list (again on %s)", s->name,
			     pfn, list);
		return;
	}
	if (!PageFlag(p, PG_slab) || !(m->pgstate[pfn] & PGS_SLAB) || PageTail(p))
		check_report(c, "slab %s pfn %#x (%s) is not a PG_slab head page", s->name, pfn,
			     list);
	if (p->mapping != s->addr)
		check_report(c, "slab pfn %#x on a list of %s names cache %#x", pfn, s->name,
			     p->mapping);
	if ((bool)SLAB_FROZEN(p) != frozen)
		check_report(c, "slab %s pfn %#x on the %s list is%s frozen", s->name, pfn, list,
			     frozen ? " not" : "");
	order = slab_order_of(m, pfn);
	if (!((order == s->oo_order && SLAB_OBJECTS(p) == s->oo_objects) ||
	      (order == s->min_order && SLAB_OBJECTS(p) == s->min_objects)))
		check_report(c, "slab %s pfn %#x: order %u with %u objects is not the cache's",
			     s->name, pfn, order, SLAB_OBJECTS(p));
	if (!strcmp(list, "full") && SLAB_INUSE(p) != SLAB_OBJECTS(p))
		check_report(c, "slab %s pfn %#x is on the full list with %u of %u in use", s->name,
			     pfn, SLAB_INUSE(p), SLAB_OBJECTS(p));
}

/* slab-lists: (a) each PG_slab page on exactly one list of its cache, as its head page with
 * the cache's geometry, frozen exactly on the CPU lists; the full list holds full slabs. */
void check_slab_lists(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	uint8_t *on_list;

	if (!m->slab.up)
		return;
	on_list = host_calloc(m->host, m->layout.max_pfn ? m->layout.max_pfn : 1, 1);
	if (!on_list) {
		c->oom = true; /* mm_check() says -ENOMEM: not a violation of the machine */
		return;
	}
	for_each_slab(c, visit_lists, on_list);
	for (pfn_t pfn = 0; pfn < m->layout.max_pfn; pfn++)
		if (PageFlag(&m->mem_map[pfn], PG_slab) && !on_list[pfn])
			check_report(c, "PG_slab page pfn %#x is on no list of any cache", pfn);
	host_free(on_list);
}

/* The objects on the freelist from @obj: inside slab @pfn at an object's start, each once
 * (@seen); -1 when the list is broken (reported). */
static int count_freelist(struct mm_check_ctx *c, const struct kmem_cache *s, pfn_t pfn,
			  uint32_t obj, uint8_t *seen, const char *which)
{
	const struct mm_machine *m = c->m;
	uint32_t base = slab_va(pfn);
	unsigned int objects = SLAB_OBJECTS(&m->mem_map[pfn]);
	int n = 0;

	while (obj) {
		uint32_t off = obj - base, idx;

		if (obj < base || off % s->size || off / s->size >= objects) {
			check_report(c, "slab %s pfn %#x: %s freelist leads outside the slab (%#x)",
				     s->name, pfn, which, obj);
			return -1;
		}
		idx = off / s->size;
		if (seen[idx]) {
			check_report(c, "slab %s pfn %#x: object %#x is on a freelist twice",
				     s->name, pfn, obj);
			return -1;
		}
		seen[idx] = 1;
		n++;
		obj = get_freepointer(m, s, obj);
	}
	return n;
}

static void visit_objects(struct mm_check_ctx *c, const struct kmem_cache *s, pfn_t pfn,
			  const char *list, bool frozen, uint32_t cpu_freelist, void *arg)
{
	const struct mm_machine *m = c->m;
	const struct page *p = &m->mem_map[pfn];
	uint8_t *seen = arg;
	int nf;

	(void)list;
	(void)frozen;
	if (pfn >= m->layout.max_pfn || !SLAB_OBJECTS(p))
		return;
	memset(seen, 0, SLAB_OBJECTS(p));
	nf = count_freelist(c, s, pfn, p->index, seen, "its");
	if (nf >= 0 && (unsigned int)nf != SLAB_OBJECTS(p) - SLAB_INUSE(p))
		check_report(c,
			     "slab %s pfn %#x: %d free objects on its freelist, but inuse %u of %u",
			     s->name, pfn, nf, SLAB_INUSE(p), SLAB_OBJECTS(p));
	if (nf >= 0 && cpu_freelist)
		count_freelist(c, s, pfn, cpu_freelist, seen, "the CPU's");
}

/* slab-objects: (b) every free object is on its slab's freelist or its CPU's c->freelist
 * once, inside the slab, and objects - inuse of them are on the slab's own. */
void check_slab_objects(struct mm_check_ctx *c)
{
	const struct slab_state *st = &c->m->slab;
	uint8_t *seen;

	if (!st->up)
		return;
	for (unsigned int i = 0; i < SLAB_MAX_CACHES; i++)
		for (unsigned int cpu = 0; cpu < st->nr_cpus; cpu++)
			if (st->caches[i].used && st->caches[i].cpu_slab[cpu].slab == PFN_NIL &&
			    st->caches[i].cpu_slab[cpu].freelist)
				check_report(c, "cache %s cpu %u: a freelist without a CPU slab",
					     st->caches[i].name, cpu);
	seen = host_calloc(c->m->host, MAX_OBJS_PER_PAGE + 1, 1);
	if (!seen) {
		c->oom = true; /* mm_check() says -ENOMEM: not a violation of the machine */
		return;
	}
	for_each_slab(c, visit_objects, seen);
	host_free(seen);
}

struct node_count {
	const struct kmem_cache *s;
	uint16_t *stamp; /* per pfn: the cache slot + 1 that counted it */
	uint32_t slabs, objects, partial, cpu_partial[NR_CPUS];
};

static void visit_counts(struct mm_check_ctx *c, const struct kmem_cache *s, pfn_t pfn,
			 const char *list, bool frozen, uint32_t cpu_freelist, void *arg)
{
	struct node_count *nc = arg;
	uint16_t slot = (uint16_t)(s - c->m->slab.caches + 1);

	(void)frozen;
	(void)cpu_freelist;
	if (s != nc->s || pfn >= c->m->layout.max_pfn)
		return;
	if (!strcmp(list, "partial"))
		nc->partial++;
	if (nc->stamp[pfn] == slot)
		return; /* on two lists: slab-lists reports it */
	nc->stamp[pfn] = slot;
	nc->slabs++;
	nc->objects += SLAB_OBJECTS(&c->m->mem_map[pfn]);
}

/* slab-node-counts: (c) the node's nr_partial, nr_slabs and total_objects, and each CPU's
 * count of partial slabs, are what the lists hold. */
void check_slab_node_counts(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	const struct slab_state *st = &m->slab;
	struct node_count nc = {0};

	if (!st->up)
		return;
	nc.stamp =
		host_calloc(m->host, m->layout.max_pfn ? m->layout.max_pfn : 1, sizeof(uint16_t));
	if (!nc.stamp) {
		c->oom = true; /* mm_check() says -ENOMEM: not a violation of the machine */
		return;
	}
	for (unsigned int i = 0; i < SLAB_MAX_CACHES; i++) {
		const struct kmem_cache *s = &st->caches[i];

		if (!s->used)
			continue;
		nc.s = s;
		nc.slabs = nc.objects = nc.partial = 0;
		for_each_slab(c, visit_counts, &nc);
		if (nc.partial != s->node.nr_partial)
			check_report(c, "cache %s: nr_partial %u but %u slabs on the partial list",
				     s->name, s->node.nr_partial, nc.partial);
		if (nc.slabs != s->node.nr_slabs)
			check_report(c, "cache %s: nr_slabs %u but %u slabs on its lists", s->name,
				     s->node.nr_slabs, nc.slabs);
		if (nc.objects != s->node.total_objects)
			check_report(c, "cache %s: total_objects %u but its slabs hold %u", s->name,
				     s->node.total_objects, nc.objects);
		for (unsigned int cpu = 0; cpu < st->nr_cpus; cpu++) {
			pfn_t pfn, guard;
			uint32_t n = 0;

			for_each_listed_pfn(m, &s->cpu_slab[cpu].partial, pfn, guard)
				n++;
			if (n != s->cpu_slab[cpu].partial_slabs)
				check_report(c, "cache %s cpu %u: %u CPU partial slabs, counted %u",
					     s->name, cpu, n, s->cpu_slab[cpu].partial_slabs);
		}
	}
	host_free(nc.stamp);
}

/* slab-stat: (d) NR_SLAB_RECLAIMABLE_B and NR_SLAB_UNRECLAIMABLE_B are the pages of the
 * PG_slab pages of reclaimable and other caches, kmalloc_large blocks counted unreclaimable. */
void check_slab_stat(struct mm_check_ctx *c)
{
	const struct mm_machine *m = c->m;
	uint64_t rec = 0, unrec = 0;
	unsigned int order;

	if (!m->slab.up)
		return;
	for (pfn_t pfn = 0; pfn < m->layout.max_pfn; pfn++) {
		const struct page *p = &m->mem_map[pfn];
		const struct kmem_cache *s;

		if (PageTail(p) || !(PageFlag(p, PG_slab) || (m->pgstate[pfn] & PGS_SLAB)))
			continue;
		s = PageFlag(p, PG_slab) ? slab_cache_of(m, p->mapping) : NULL;
		order = slab_order_of(m, pfn);
		if (order >= MAX_ORDER) { /* a corrupted head: slab-lists names the slab */
			check_report(c, "slab pfn %#x: order %u is not below MAX_ORDER", pfn,
				     order);
			continue;
		}
		if (s && (s->flags & SLAB_RECLAIM_ACCOUNT))
			rec += 1u << order;
		else
			unrec += 1u << order;
	}
	if ((uint64_t)m->pgdat.node_stat[NR_SLAB_RECLAIMABLE_B] != rec ||
	    (uint64_t)m->pgdat.node_stat[NR_SLAB_UNRECLAIMABLE_B] != unrec)
		check_report(
			c,
			"NR_SLAB_RECLAIMABLE_B %ld / NR_SLAB_UNRECLAIMABLE_B %ld pages, but the "
			"slab pages are %llu / %llu",
			m->pgdat.node_stat[NR_SLAB_RECLAIMABLE_B],
			m->pgdat.node_stat[NR_SLAB_UNRECLAIMABLE_B], (unsigned long long)rec,
			(unsigned long long)unrec);
}

/* ==== snapshot section SLAB (snapshot.h) ===================================================== */

/*
 * SLAB v1: whether SLUB is up and its parameters, the kmalloc table, then each cache in use
 * (its slot, every field, the node, all NR_CPUS kmem_cache_cpu), then each merged name. The
 * slabs themselves are struct pages (section PAGE); the objects and free pointers are RAM.
 * A stream without the section (written before mm32 had SLUB) loads a machine without the
 * slab allocator: its calls say so (slab_ready()), everything else works.
 */
static void put_list(struct snap_out *o, const struct pfn_list *l)
{
	snap_put_u32(o, l->first);
	snap_put_u32(o, l->last);
}

void slab_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	const struct slab_state *st = &m->slab;
	uint32_t n = 0;

	snap_put_bool(o, st->up);
	if (!st->up)
		return;
	snap_put_u32(o, st->min_objects_param);
	snap_put_u32(o, st->min_order);
	snap_put_u32(o, st->max_order);
	snap_put_bool(o, st->nomerge);
	snap_put_u32(o, st->hwalign);
	snap_put_u32(o, st->nr_cpus);
	snap_put_u32(o, st->next_seq);
	snap_put_bool(o, st->bootstrapped);
	snap_put_u16(o, (uint16_t)st->kmem_cache);
	snap_put_u16(o, (uint16_t)st->kmem_cache_node);
	for (unsigned int t = 0; t < NR_KMALLOC_TYPES; t++)
		for (unsigned int i = 0; i <= KMALLOC_SHIFT_HIGH; i++)
			snap_put_u16(o, (uint16_t)st->kmalloc_caches[t][i]);
	snap_put_u64(o, st->kmalloc_large_pages);
	for (unsigned int i = 0; i < SLAB_MAX_CACHES; i++)
		n += st->caches[i].used;
	snap_put_u32(o, n);
	for (unsigned int i = 0; i < SLAB_MAX_CACHES; i++) {
		const struct kmem_cache *s = &st->caches[i];

		if (!s->used)
			continue;
		snap_put_u32(o, i);
		snap_put_bool(o, s->boot);
		snap_put_str(o, s->name);
		snap_put_u32(o, s->flags);
		snap_put_u32(o, s->object_size);
		snap_put_u32(o, s->size);
		snap_put_u32(o, s->align);
		snap_put_u32(o, s->offset);
		snap_put_u32(o, s->inuse);
		snap_put_u32(o, s->usersize);
		snap_put_u32(o, s->oo_order);
		snap_put_u32(o, s->oo_objects);
		snap_put_u32(o, s->min_order);
		snap_put_u32(o, s->min_objects);
		snap_put_u32(o, s->allocflags);
		snap_put_i32(o, s->refcount);
		snap_put_u32(o, s->min_partial);
		snap_put_u32(o, s->cpu_partial);
		snap_put_u32(o, s->cpu_partial_slabs);
		snap_put_u32(o, s->addr);
		snap_put_u32(o, s->node_addr);
		snap_put_u32(o, s->name_addr);
		snap_put_u32(o, s->seq);
		put_list(o, &s->node.partial);
		snap_put_u32(o, s->node.nr_partial);
		put_list(o, &s->node.full);
		snap_put_u32(o, s->node.nr_slabs);
		snap_put_u32(o, s->node.total_objects);
		for (unsigned int c = 0; c < NR_CPUS; c++) {
			snap_put_u32(o, s->cpu_slab[c].freelist);
			snap_put_u32(o, s->cpu_slab[c].slab);
			put_list(o, &s->cpu_slab[c].partial);
			snap_put_u32(o, s->cpu_slab[c].partial_slabs);
		}
	}
	n = 0;
	for (unsigned int i = 0; i < SLAB_MAX_ALIASES; i++)
		n += st->aliases[i].cache >= 0;
	snap_put_u32(o, n);
	for (unsigned int i = 0; i < SLAB_MAX_ALIASES; i++) {
		const struct slab_alias *a = &st->aliases[i];

		if (a->cache < 0)
			continue;
		snap_put_u32(o, i);
		snap_put_str(o, a->name);
		snap_put_u16(o, (uint16_t)a->cache);
		snap_put_bool(o, a->boot);
	}
}

static bool link_in(const struct mm_machine *m, pfn_t pfn)
{
	return pfn == PFN_NIL || pfn < m->mem_map_pfns;
}

static int get_list(const struct mm_machine *m, struct snap_in *in, struct pfn_list *l)
{
	l->first = snap_get_u32(in);
	l->last = snap_get_u32(in);
	if (!in->ret && (!link_in(m, l->first) || !link_in(m, l->last)))
		return snap_corrupt(in, "a slab list links to %#x/%#x, beyond mem_map", l->first,
				    l->last);
	return in->ret;
}

static bool slot_ok(int v)
{
	return v == -1 || (v >= 0 && v < SLAB_MAX_CACHES);
}

int slab_snap_load(struct mm_machine *m, struct snap_in *in)
{
	struct slab_state *st = &m->slab;
	uint32_t n;

	if (in->version == 0) {
		/* written before mm32 had SLUB: what this build's boot gives (no page taken) */
		if (m->phase >= MM_PHASE_BUDDY && kmem_cache_init(m, in->err))
			return snap_corrupt(in, "SLUB's boot state: %s", in->err->msg);
		return 0;
	}
	if (!snap_get_bool(in))
		return in->ret; /* no SLUB: as a machine stopped before the buddy phase */
	if (m->phase < MM_PHASE_BUDDY)
		return snap_corrupt(in, "SLUB is up in boot phase '%s'",
				    mm_boot_phase_name(m->phase));
	st->up = true;
	st->min_objects_param = snap_get_u32(in);
	st->min_order = snap_get_u32(in);
	st->max_order = snap_get_u32(in);
	st->nomerge = snap_get_bool(in);
	st->hwalign = snap_get_u32(in);
	st->nr_cpus = snap_get_u32(in);
	st->next_seq = snap_get_u32(in);
	st->bootstrapped = snap_get_bool(in);
	st->kmem_cache = (int16_t)snap_get_u16(in);
	st->kmem_cache_node = (int16_t)snap_get_u16(in);
	for (unsigned int t = 0; t < NR_KMALLOC_TYPES; t++)
		for (unsigned int i = 0; i <= KMALLOC_SHIFT_HIGH; i++) {
			st->kmalloc_caches[t][i] = (int16_t)snap_get_u16(in);
			if (!slot_ok(st->kmalloc_caches[t][i]))
				return snap_corrupt(in, "kmalloc cache %u/%u in slot %d", t, i,
						    st->kmalloc_caches[t][i]);
		}
	st->kmalloc_large_pages = snap_get_u64(in);
	if (in->ret)
		return in->ret;
	if (st->nr_cpus != m->cfg.cpus || st->max_order >= MAX_ORDER ||
	    st->min_order > st->max_order || !slot_ok(st->kmem_cache) ||
	    !slot_ok(st->kmem_cache_node))
		return snap_corrupt(in, "SLUB's parameters (CPUs %u, orders %u-%u) do not fit",
				    st->nr_cpus, st->min_order, st->max_order);
	for (unsigned int i = 0; i < SLAB_MAX_ALIASES; i++)
		st->aliases[i].cache = -1;
	n = snap_get_count(in, SLAB_MAX_CACHES, "caches");
	for (uint32_t k = 0; k < n && !in->ret; k++) {
		uint32_t i = snap_get_u32(in);
		struct kmem_cache *s;

		if (in->ret || i >= SLAB_MAX_CACHES || st->caches[i].used)
			return in->ret ? in->ret : snap_corrupt(in, "cache slot %u", i);
		s = &st->caches[i];
		s->used = true;
		s->boot = snap_get_bool(in);
		if (snap_get_str(in, s->name, sizeof(s->name)))
			return in->ret;
		s->flags = snap_get_u32(in);
		s->object_size = snap_get_u32(in);
		s->size = snap_get_u32(in);
		s->align = snap_get_u32(in);
		s->offset = snap_get_u32(in);
		s->inuse = snap_get_u32(in);
		s->usersize = snap_get_u32(in);
		s->oo_order = snap_get_u32(in);
		s->oo_objects = snap_get_u32(in);
		s->min_order = snap_get_u32(in);
		s->min_objects = snap_get_u32(in);
		s->allocflags = snap_get_u32(in);
		s->refcount = snap_get_i32(in);
		s->min_partial = snap_get_u32(in);
		s->cpu_partial = snap_get_u32(in);
		s->cpu_partial_slabs = snap_get_u32(in);
		s->addr = snap_get_u32(in);
		s->node_addr = snap_get_u32(in);
		s->name_addr = snap_get_u32(in);
		s->seq = snap_get_u32(in);
		if (get_list(m, in, &s->node.partial))
			return in->ret;
		s->node.nr_partial = snap_get_u32(in);
		if (get_list(m, in, &s->node.full))
			return in->ret;
		s->node.nr_slabs = snap_get_u32(in);
		s->node.total_objects = snap_get_u32(in);
		for (unsigned int c = 0; c < NR_CPUS; c++) {
			s->cpu_slab[c].freelist = snap_get_u32(in);
			s->cpu_slab[c].slab = snap_get_u32(in);
			if (get_list(m, in, &s->cpu_slab[c].partial))
				return in->ret;
			s->cpu_slab[c].partial_slabs = snap_get_u32(in);
			if (!link_in(m, s->cpu_slab[c].slab))
				return snap_corrupt(in, "cache %s: CPU slab %#x beyond mem_map",
						    s->name, s->cpu_slab[c].slab);
		}
		if (in->ret)
			return in->ret;
		/* what the rules derive must be what was written: stride, geometry, pointer */
		if (!s->size || s->size < s->object_size || s->offset + PTR_SIZE > s->size ||
		    s->oo_order >= MAX_ORDER || s->min_order > s->oo_order ||
		    s->oo_objects != order_objects(s->oo_order, s->size) ||
		    s->min_objects != order_objects(s->min_order, s->size) ||
		    (s->addr && (s->addr < PAGE_OFFSET || s->addr >= m->layout.high_memory)))
			return snap_corrupt(in, "cache %s: geometry %u/%u/%u does not hold",
					    s->name, s->size, s->oo_order, s->oo_objects);
		st->cache_addr[i] = s->addr;
	}
	n = snap_get_count(in, SLAB_MAX_ALIASES, "merged names");
	for (uint32_t k = 0; k < n && !in->ret; k++) {
		uint32_t i = snap_get_u32(in);
		struct slab_alias *a;

		if (in->ret || i >= SLAB_MAX_ALIASES || st->aliases[i].cache >= 0)
			return in->ret ? in->ret : snap_corrupt(in, "merged name slot %u", i);
		a = &st->aliases[i];
		if (snap_get_str(in, a->name, sizeof(a->name)))
			return in->ret;
		a->cache = (int16_t)snap_get_u16(in);
		a->boot = snap_get_bool(in);
		if (!in->ret &&
		    (a->cache < 0 || a->cache >= SLAB_MAX_CACHES || !st->caches[a->cache].used))
			return snap_corrupt(in, "merged name %s names slot %d", a->name, a->cache);
	}
	return in->ret;
}
