/* SPDX-License-Identifier: MIT */
/*
 * mmdebug.h - the two ways mmcore catches its own bugs: the invariant checker, a table of
 * named invariants that mm_check() runs over a whole machine, and MM_WARN_ON_ONCE, the
 * always-built precondition of one primitive that taints the machine.
 *
 * Mirrors: include/linux/mmdebug.h (VM_BUG_ON_PAGE, VM_WARN_ON_ONCE), mm/page_alloc.c
 * bad_page() + add_taint(TAINT_BAD_PAGE), and SQLite's integrity_check, which collects
 * every violation instead of stopping at the first.
 *
 * An invariant is one row of check_invariants[] in check.c: a stable name that every
 * violation is reported under ("free-counts: zone Normal order 3: ..."), the phase from
 * which it holds, and one function. A mechanism that keeps state (kmap, vmalloc, slab)
 * adds its own rows, each function beside the state it checks (declared here), and one
 * test in tests/mmcore/test-check.c that corrupts exactly that invariant and expects
 * mm_check() to name it and nothing else. A check that no test can break proves nothing.
 *
 * MM_WARN_ON_ONCE(m, cond, fmt, ...) is the kernel's VM_BUG_ON_PAGE turned into
 * warn-and-recover: when @cond holds it stores "<function>: <message>" in m->diag (the
 * first warning only), sets m->tainted, puts a WARNING line in the machine's log, and
 * evaluates to true, so that the primitive can back out instead of corrupting memory it
 * does not own. The public call that ran into it returns -EFAULT (mm_warned()); the
 * allocator's calls refuse a tainted machine (mm_need_phase()), and the executor refuses
 * every command on it but snapshot_restore, which replaces it (api/commands.c).
 * With -Dmm_debug=checks (or full) MM_DEBUG_CHECKS moves the bad-page check of a block
 * handed out from a pcp list to where CONFIG_DEBUG_VM puts it (check_new_pcp(): each
 * allocation, instead of each refill), as the kernel's debug builds do.
 */
#ifndef MM_MMDEBUG_H
#define MM_MMDEBUG_H

#include <stdint.h>

#include "config.h"
#include "machine.h"

/* ---- the invariant checker ------------------------------------------------------------ */

/* What frames the lists and allocation records say each pfn belongs to (bits). */
#define OWN_FREE 0x01u	    /* inside a block on a free_area list */
#define OWN_FREE_HEAD 0x02u /* the first page of such a block */
#define OWN_PCP 0x04u	    /* inside a block on a pcp list */
#define OWN_ALLOC 0x08u	    /* inside an allocation (pgstate record) */
#define OWN_TWICE 0x10u	    /* claimed again by a second block of the same kind */

struct mm_check_ctx {
	const struct mm_machine *m;
	const uint8_t *own; /* per pfn below max_pfn, OWN_*; NULL before the buddy phase */
	struct mm_report *rep;
	unsigned int inv; /* the invariant running: its index in check_invariants[] */
	/* free lists that loop or leave mem_map: free-list-membership reports them; the
	 * invariants that count cannot count them and leave them alone */
	bool broken[MAX_NR_ZONES][MAX_ORDER][MIGRATE_TYPES];
	/* an invariant found no host memory for its own scratch: mm_check() returns -ENOMEM */
	bool oom;
};

struct mm_invariant {
	const char *name; /* stable; reported with every violation */
	int min_phase;	  /* enum mm_boot_phase from which it holds */
	void (*check)(struct mm_check_ctx *c);
};

/* The vmalloc range's invariants (vmalloc.c; vmalloc.h V1..V7). */
void check_vmap_areas_tile(struct mm_check_ctx *c);
void check_vmap_areas_merged(struct mm_check_ctx *c);
void check_vmap_area_vm(struct mm_check_ctx *c);
void check_vmalloc_ptes(struct mm_check_ctx *c);
void check_vmalloc_pages_owned(struct mm_check_ctx *c);
void check_vmalloc_counters(struct mm_check_ctx *c);
void check_vmalloc_page_array(struct mm_check_ctx *c);

/* Report a violation of the running invariant, prefixed with its name. */
void check_report(struct mm_check_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Walk a free or pcp list without trusting it: stops at its end, at a pfn outside mem_map,
 * or after more entries than there are frames (a loop). After the loop @pfn is PFN_NIL
 * exactly when the list ended properly.
 */
#define for_each_listed_pfn(m, list, pfn, guard)                                                   \
	for ((pfn) = (list)->first, (guard) = 0;                                                   \
	     (pfn) != PFN_NIL && (pfn) < (m)->mem_map_pfns && (guard)++ < (m)->mem_map_pfns;       \
	     (pfn) = (m)->mem_map[(pfn)].lru_next)

/* highmem.c: the invariants (a)-(g) of highmem.h */
void check_pkmap_count(struct mm_check_ctx *c);
void check_page_address_hash(struct mm_check_ctx *c);
void check_pkmap_cursor(struct mm_check_ctx *c);
void check_kmap_local_stack(struct mm_check_ctx *c);
void check_kmap_atomic_depth(struct mm_check_ctx *c);
void check_kmapped_not_free(struct mm_check_ctx *c);
void check_cpu_entry_area(struct mm_check_ctx *c);
/* slab.c: the invariants of slab.h (a)-(d) */
void check_slab_lists(struct mm_check_ctx *c);
void check_slab_objects(struct mm_check_ctx *c);
void check_slab_node_counts(struct mm_check_ctx *c);
void check_slab_stat(struct mm_check_ctx *c);

/* ---- MM_WARN_ON_ONCE ------------------------------------------------------------------- */

void mm_warn(struct mm_machine *m, const char *func, const char *fmt, ...)
	__attribute__((cold, format(printf, 3, 4)));

#define MM_WARN_ON_ONCE(m, cond, ...)                                                              \
	(__builtin_expect(!!(cond), 0) ? (mm_warn((m), __func__, __VA_ARGS__), 1) : 0)

/* At the end of a public call: -EFAULT with the machine's diagnosis when a warning fired
 * (or the machine was tainted before), else 0. */
int mm_warned(const struct mm_machine *m, struct mm_error *err);

#endif /* MM_MMDEBUG_H */
