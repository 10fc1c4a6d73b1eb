/* SPDX-License-Identifier: MIT */
/*
 * util.c - kvmalloc/kvzalloc/kvfree: "To kmalloc() or to vmalloc()?" answered at run time.
 *
 * Mirrors: mm/util.c (kvmalloc_node, kvfree) and mm/vmalloc.c (is_vmalloc_addr) of 6.1.
 *
 * kmalloc() gives physically contiguous memory from the direct map, cheap to reach and to
 * free, but a big request needs a high-order block, which fragmentation makes rare.
 * vmalloc() gives virtually contiguous memory from single pages anywhere (HighMem first),
 * mapped page by page in the vmalloc range: it rarely fails, but costs page tables, a guard
 * page and TLB entries. kvmalloc_node() tries the first and falls back to the second:
 *
 *  1. size <= PAGE_SIZE: kmalloc() with the caller's flags, and that is all: a request of
 *     a page or less never falls back (vmalloc could not do better than a single page).
 *  2. size > PAGE_SIZE: kmalloc() with __GFP_NOWARN added (a failure is expected and has a
 *     fallback, so no "page allocation failure" report), __GFP_NORETRY added unless the
 *     caller passed __GFP_RETRY_MAYFAIL (do not reclaim hard nor invoke the OOM killer for
 *     a block vmalloc can replace), and __GFP_NOFAIL removed (the fallback implements it).
 *  3. If that failed: no fallback when the flags do not allow blocking (no
 *     __GFP_DIRECT_RECLAIM: GFP_ATOMIC, GFP_NOWAIT): vmalloc sleeps, so NULL. (6.1's rule:
 *     before 5.17 any mask without all of GFP_KERNEL's bits skipped the fallback; since
 *     a421ef303008 vmalloc honours GFP_NOFS/GFP_NOIO through the scope API, so those fall
 *     back too, and the GFP_ATOMIC fix of 6.1 ("mm: fix BUG splat with kvmalloc +
 *     GFP_ATOMIC") refuses only the non-blocking masks.)
 *  4. size > INT_MAX: refused (the kernel's WARN_ON_ONCE unless __GFP_NOWARN).
 *  5. __vmalloc_node_range() over VMALLOC_START..VMALLOC_END with the caller's flags
 *     (__GFP_ZERO for kvzalloc) and VM_ALLOW_HUGE_VMAP, which changes nothing on i386 (no
 *     HAVE_ARCH_HUGE_VMALLOC): order-0 pages, one PTE each.
 *
 * Sizes above KMALLOC_MAX_SIZE (4 MiB) make step 2 fail at once (the page allocator has no
 * such order; __GFP_NOWARN silences its warning) and go to vmalloc with nothing changed.
 *
 * What __GFP_NORETRY changes in mm32. mm32 has nothing to reclaim (no page cache, no
 * anonymous memory) and does not model compaction (it is taken to find nothing to
 * migrate: COMPACT_SKIPPED). So the kmalloc attempt fails exactly when the free lists
 * cannot give the block at the zone's watermark, with or without __GFP_NORETRY, as the
 * kernel's does when reclaim and compaction make no progress. What differs is the path
 * the slow path takes, and that shows in /proc/vmstat: a costly order (above
 * PAGE_ALLOC_COSTLY_ORDER, 3: kmalloc of more than 32 KiB) with __GFP_NORETRY gives up
 * right after the skipped compaction, before direct reclaim (allocstall unchanged); with
 * __GFP_RETRY_MAYFAIL it runs direct reclaim (allocstall + 1 per round: one round when no
 * block of the order is free, as on fragmented memory) and then gives up; a plain kmalloc()
 * of the same size also reclaims once and, without __GFP_NOWARN, prints
 * the "page allocation failure" report that kvmalloc's attempt never prints. A real
 * kernel's __GFP_NORETRY attempt could still succeed where mm32's fails when compaction
 * would have assembled the block from movable pages; mm32 says so instead of guessing.
 *
 * kvfree(addr): is_vmalloc_addr() (VMALLOC_START <= addr < VMALLOC_END) -> vfree(), else
 * kfree(). A free either refuses is refused here too, naming which one refused and why,
 * and nothing changes.
 */
#include <stdio.h>
#include <string.h>

#include "machine.h"
#include "slab.h"
#include "vmalloc.h"

#define INT_MAX_32 0x7fffffffu

/*
 * kvmalloc_node - the choice above, for CPU @cpu. Readiness, @cpu and @flags are checked
 * by the caller.
 */
static int kvmalloc_node(struct mm_machine *m, unsigned int cpu, uint32_t size, gfp_t flags,
			 struct mm_kvmalloc *out, struct mm_error *err)
{
	gfp_t kmalloc_flags = flags;
	struct mm_error kerr = {0};
	char mask[160];
	bool changed;
	uint32_t addr = 0;
	int r;

	memset(out, 0, sizeof(*out));
	out->size = size;
	out->gfp = flags;
	if (size > PAGE_SIZE) {
		kmalloc_flags |= __GFP_NOWARN;
		if (!(kmalloc_flags & __GFP_RETRY_MAYFAIL))
			kmalloc_flags |= __GFP_NORETRY;
		kmalloc_flags &= ~(gfp_t)__GFP_NOFAIL; /* the vmalloc fallback implements it */
	}
	out->kmalloc_gfp = kmalloc_flags;
	r = mm_kmalloc(m, cpu, size, kmalloc_flags, &out->km, &kerr);
	if (r == 0) {
		out->addr = out->km.addr;
		return 0;
	}
	/* -ENOSPC: the page allocator was asked and moved counters; -EINVAL: above
	 * KMALLOC_MAX_SIZE, no order for it, nothing asked */
	if (r != -ENOSPC && !(r == -EINVAL && size > KMALLOC_MAX_SIZE))
		return mm_set_error(err, r, "%s", kerr.msg);
	changed = r == -ENOSPC;
	snprintf(out->kmalloc_error, sizeof(out->kmalloc_error), "%s", kerr.msg);
	mm_gfp_format(flags, mask, sizeof(mask));
	if (size <= PAGE_SIZE)
		return mm_set_error(err, -ENOSPC,
				    "kvmalloc(%u, %s): kmalloc failed (%s); a request of a page or "
				    "less never falls back to vmalloc",
				    size, mask, kerr.msg);
	if (!(flags & __GFP_DIRECT_RECLAIM))
		return mm_set_error(err, changed ? -ENOSPC : -EINVAL,
				    "kvmalloc(%u, %s): kmalloc failed (%s), and vmalloc is not "
				    "tried: the flags do not allow blocking (no "
				    "__GFP_DIRECT_RECLAIM, as GFP_ATOMIC and GFP_NOWAIT), and "
				    "vmalloc sleeps",
				    size, mask, kerr.msg);
	if (size > INT_MAX_32)
		return mm_set_error(err, -EINVAL,
				    "kvmalloc(%u): above INT_MAX: the kernel refuses such a size "
				    "(with a warning unless __GFP_NOWARN) and returns NULL",
				    size);
	r = __vmalloc_node(m, cpu, size, flags, VM_ALLOW_HUGE_VMAP,
			   (flags & __GFP_ZERO) ? "kvzalloc" : "kvmalloc", &addr, err);
	if (r == -EINVAL && changed)
		r = -ENOSPC; /* the kmalloc attempt's counters stay: not "nothing changed" */
	if (r)
		return r;
	out->addr = addr;
	out->vmalloc = true;
	return 0;
}

int mm_kvmalloc(struct mm_machine *m, unsigned int cpu, uint32_t size, mm_gfp_t gfp,
		struct mm_kvmalloc *out, struct mm_error *err)
{
	int r = slab_ready(m, cpu, err);

	if (!r)
		r = vmalloc_ready(m, cpu, err);
	if (!r)
		r = slab_check_gfp(gfp, err);
	if (r)
		return r;
	return kvmalloc_node(m, cpu, size, gfp, out, err);
}

/* Mirrors: kvfree(). */
int mm_kvfree(struct mm_machine *m, unsigned int cpu, uint32_t addr, bool *vmalloc, bool *freed,
	      struct mm_error *err)
{
	struct mm_error e = {0};
	int r;

	if (vmalloc)
		*vmalloc = false;
	if (freed)
		*freed = false;
	if (is_vmalloc_addr(m, addr)) {
		r = mm_vfree(m, cpu, addr, &e);
		if (r)
			return mm_set_error(err, r, "kvfree calls vfree: %s", e.msg);
		if (vmalloc)
			*vmalloc = true;
		if (freed)
			*freed = true;
		return 0;
	}
	r = mm_kfree(m, cpu, addr, freed, &e);
	if (r)
		return mm_set_error(err, r, "kvfree calls kfree: %s", e.msg);
	return 0;
}
