/* SPDX-License-Identifier: MIT */
/*
 * slab.h - SLUB: kmem caches, their slabs, kmalloc's size classes.
 *
 * Mirrors: mm/slub.c (struct kmem_cache, kmem_cache_cpu, kmem_cache_node, calculate_sizes,
 * calculate_order, ___slab_alloc, __slab_free, put_cpu_partial, deactivate_slab,
 * __kmem_cache_do_shrink), mm/slab.h (struct slab, the overlay of struct page),
 * mm/slab_common.c (kmem_cache_create_usercopy, find_mergeable, create_kmalloc_caches,
 * kmalloc_slab, kmalloc_size_roundup, __ksize), include/linux/slab.h (SLAB_* flags,
 * kmalloc_index, kmalloc_type).
 *
 * A slab is a page (compound for order > 0) taken from the page allocator with the
 * cache's GFP: PG_slab set, and the struct slab fields where the kernel overlays them
 * on struct page: slab_list on lru, slab_cache in mapping (the guest address of the
 * struct kmem_cache object), freelist in index (the guest address of the first free
 * object), counters in private (inuse:16, objects:15, frozen:1). The free pointer of a
 * free object is a 32-bit guest address stored in emulated RAM at object + s->offset.
 *
 * Every slab is on exactly one of these (mm32 also keeps the "full" list the kernel keeps
 * only under SLAB_STORE_USER, so that no slab is nowhere):
 *   a CPU's slab (c->slab; frozen)        its free objects: c->freelist, plus slab->freelist
 *                                         for objects other CPUs freed meanwhile
 *   a CPU's partial list (frozen)         objects on slab->freelist
 *   the node's partial list (not frozen)  0 < inuse < objects, or empty below min_partial
 *   the node's full list (not frozen)     inuse == objects
 * Invariants (check_slab() in check.c):
 *  (a) each slab page is PG_slab, its cache's order, and on exactly one of the lists above
 *  (b) each of its objects is either on a free list (c->freelist or slab->freelist) once,
 *      or allocated; free count + inuse == objects (inuse counts c->freelist objects as
 *      in use, as SLUB does)
 *  (c) node nr_partial, nr_slabs and total_objects equal what the lists hold
 *  (d) NR_SLAB_RECLAIMABLE_B + NR_SLAB_UNRECLAIMABLE_B equal the slab pages (+ kmalloc_large)
 */
#ifndef MM_SLAB_H
#define MM_SLAB_H

#include "gfp.h"
#include "page.h"

/* slab_flags_t bits (include/linux/slab.h, 6.1) */
#define SLAB_CONSISTENCY_CHECKS 0x00000100u
#define SLAB_RED_ZONE 0x00000400u
#define SLAB_POISON 0x00000800u
#define SLAB_HWCACHE_ALIGN 0x00002000u
#define SLAB_CACHE_DMA 0x00004000u
#define SLAB_CACHE_DMA32 0x00008000u
#define SLAB_STORE_USER 0x00010000u
#define SLAB_RECLAIM_ACCOUNT 0x00020000u
#define SLAB_PANIC 0x00040000u
#define SLAB_TYPESAFE_BY_RCU 0x00080000u
#define SLAB_MEM_SPREAD 0x00100000u
#define SLAB_TRACE 0x00200000u
#define SLAB_NOLEAKTRACE 0x00800000u
#define SLAB_ACCOUNT 0x04000000u
/* mm32's marker for a boot cache the kernel creates with a constructor or a usercopy
 * region (both exempt it from merging); not a kernel flag, never shown */
#define SLAB_BOOT_UNMERGEABLE 0x80000000u
/* and for one the kernel creates with a constructor (init_on_alloc does not zero its
 * objects: slab_want_init_on_alloc()) */
#define SLAB_BOOT_CTOR 0x40000000u

#define SLAB_NEVER_MERGE                                                                           \
	(SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE | SLAB_TYPESAFE_BY_RCU |       \
	 SLAB_NOLEAKTRACE)
#define SLAB_MERGE_SAME (SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT)

/* include/linux/slab.h for i386: KMALLOC_MIN_SIZE 8, the largest cache 8 KiB */
#define KMALLOC_SHIFT_LOW 3
#define KMALLOC_SHIFT_HIGH (PAGE_SHIFT + 1)
#define KMALLOC_MAX_CACHE_SIZE (1u << KMALLOC_SHIFT_HIGH)
#define KMALLOC_MAX_SIZE (1u << (MAX_ORDER + PAGE_SHIFT - 1))
#define ZERO_SIZE_PTR 16u

enum kmalloc_cache_type {
	KMALLOC_NORMAL,
	KMALLOC_CGROUP,
	KMALLOC_RECLAIM,
	KMALLOC_DMA,
	NR_KMALLOC_TYPES
};

/* node_stat_item indices of the slab counters (mmzone.h; /proc/zoneinfo order). The kernel
 * counts them in bytes (the _B items) and prints pages; slabs are whole pages, so mm32
 * keeps pages. */
#define NR_SLAB_RECLAIMABLE_B 5
#define NR_SLAB_UNRECLAIMABLE_B 6

#define SLAB_MAX_CACHES 320
#define SLAB_MAX_ALIASES 96
#define SLAB_NAME_MAX 32
#define MAX_OBJS_PER_PAGE 32767

/* counters word of struct slab (page->private) */
#define SLAB_INUSE(p) ((p)->private & 0xffffu)
#define SLAB_OBJECTS(p) (((p)->private >> 16) & 0x7fffu)
#define SLAB_FROZEN(p) ((p)->private >> 31)
static inline uint32_t slab_counters(unsigned int inuse, unsigned int objects, bool frozen)
{
	return inuse | objects << 16 | (uint32_t)frozen << 31;
}

struct kmem_cache_cpu {
	uint32_t freelist;	 /* first free object of the CPU slab (0: none) */
	pfn_t slab;		 /* the CPU slab, or PFN_NIL */
	struct pfn_list partial; /* frozen partial slabs, newest first */
	uint32_t partial_slabs;	 /* slab->slabs of the first one */
};

struct kmem_cache_node {
	struct pfn_list partial;
	uint32_t nr_partial;
	struct pfn_list full;
	uint32_t nr_slabs;
	uint32_t total_objects;
};

struct kmem_cache {
	bool used;
	bool boot; /* created by the kernel's boot: never destroyed */
	char name[SLAB_NAME_MAX];
	uint32_t flags;
	uint32_t object_size; /* what the creator asked for */
	uint32_t size;	      /* object + free pointer (if outside) aligned: the stride */
	uint32_t align;
	uint32_t offset; /* of the free pointer inside a free object */
	uint32_t inuse;
	uint32_t usersize;
	unsigned int oo_order, oo_objects; /* the preferred slab */
	unsigned int min_order, min_objects;
	gfp_t allocflags;
	int refcount; /* -1: never merged into */
	unsigned int min_partial;
	unsigned int cpu_partial, cpu_partial_slabs;
	uint32_t addr;	    /* guest address of its struct kmem_cache (from "kmem_cache") */
	uint32_t node_addr; /* its struct kmem_cache_node (from "kmem_cache_node") */
	uint32_t name_addr; /* kstrdup()'d name for caches made at run time, else 0 */
	uint32_t seq;	    /* creation order: slab_caches is newest first */
	struct kmem_cache_node node;
	struct kmem_cache_cpu cpu_slab[NR_CPUS];
};

struct slab_alias {
	char name[SLAB_NAME_MAX];
	int16_t cache; /* slot of the cache it merged into; -1: unused */
	bool boot;     /* merged at boot */
};

struct slab_state {
	bool up;			/* kmem_cache_init() ran */
	bool bootstrapped;		/* the first slabs exist (slab_bootstrap()) */
	bool bootstrapping;		/* within slab_bootstrap(), never outside a call */
	unsigned int min_objects_param; /* slub_min_objects= (0: derived from the CPUs) */
	unsigned int min_order, max_order;
	bool nomerge;	      /* slab_nomerge */
	unsigned int hwalign; /* cache_line_size() */
	unsigned int nr_cpus; /* num_present_cpus() */
	uint32_t next_seq;
	int16_t kmem_cache, kmem_cache_node;
	int16_t kmalloc_caches[NR_KMALLOC_TYPES][KMALLOC_SHIFT_HIGH + 1];
	uint64_t kmalloc_large_pages;	      /* pages of kmalloc_large blocks now allocated */
	uint32_t cache_addr[SLAB_MAX_CACHES]; /* caches[i].addr, dense for slab_cache_of() */
	struct kmem_cache caches[SLAB_MAX_CACHES];
	struct slab_alias aliases[SLAB_MAX_ALIASES];
};

struct mm_machine;
struct mm_buf;

/* mm_init(): kmem_cache_init() and the caches the 6.1 boot creates. */
int kmem_cache_init(struct mm_machine *m, struct mm_error *err);
/* The cache whose struct kmem_cache is at guest address @addr (page->mapping), or NULL. */
const struct kmem_cache *slab_cache_of(const struct mm_machine *m, uint32_t addr);
/* The slab allocator is up and @cpu exists (-EAGAIN, -EINVAL); @gfp is a mask kmalloc takes
 * (-EINVAL). */
int slab_ready(const struct mm_machine *m, unsigned int cpu, struct mm_error *err);
int slab_check_gfp(gfp_t gfp, struct mm_error *err);
/* What @addr is to the slab allocator, in words, for another allocator's refusal to free
 * it ("a kmalloc object of cache kmalloc-64"); false when it is no slab memory. */
bool slab_object_describe(const struct mm_machine *m, uint32_t addr, char *buf, size_t len);
/* kmalloc()/kfree() for mmcore's own users (vmalloc's page arrays): an object of kmalloc's
 * cache for @size (at most KMALLOC_MAX_CACHE_SIZE) and @gfp; a free of what is no allocated
 * slab object does nothing. */
int slab_kmalloc(struct mm_machine *m, uint32_t size, gfp_t gfp, unsigned int cpu, uint32_t *ret,
		 struct mm_error *err);
void slab_kfree(struct mm_machine *m, uint32_t addr, unsigned int cpu);
/* Is @addr the start of an allocated object of the normal kmalloc cache for @size? */
bool slab_is_kmalloc_object(const struct mm_machine *m, uint32_t addr, uint32_t size);
/* /proc/slabinfo */
void slabinfo_render(const struct mm_machine *m, struct mm_buf *b);

#endif /* MM_SLAB_H */
