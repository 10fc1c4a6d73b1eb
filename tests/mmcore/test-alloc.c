/* test-alloc.c - the page allocator: GFP text, zonelist fallback, watermark refusals (the
 * kernel's rule recomputed here from zone state, not from the implementation), refcounts,
 * compound pages, bad frees refused without a trace, and long random sequences checked by
 * mm_check(), ending with every page freed and buddyinfo back to its post-boot state. */
#include <stdio.h>

#include "machine.h"	/* RAM contents for the __GFP_ZERO test, zone state for the pcp one */
#include "page_alloc.h" /* alloc_page_pcp(), free_page_pcp() */

#include "common.h"
#include "snapmem.h"

static mm_gfp_t gfp(const char *text)
{
	struct mm_error err = {0};
	mm_gfp_t g = 0;

	ck_assert_msg(mm_gfp_parse(text, &g, &err) == 0, "%s: %s", text, err.msg);
	return g;
}

/* Does the rendered @file contain @words? */
static bool shows(const char *file, const char *words)
{
	char *text = render(file);
	bool yes = strstr(text, words) != NULL;

	free(text);
	return yes;
}

static struct mm_zone_info zone(int z)
{
	struct mm_zone_info zi;

	ck_assert_int_eq(mm_get_zone(m, z, &zi), 0);
	return zi;
}

static int try_alloc(unsigned int cpu, mm_gfp_t g, unsigned int order, struct mm_page_alloc *a)
{
	struct mm_error err = {0};

	return mm_alloc_pages(m, cpu, g, order, a, &err);
}

static void free_ok(unsigned int cpu, uint32_t pfn, unsigned int order)
{
	struct mm_error err = {0};

	ck_assert_msg(mm_free_pages(m, cpu, pfn, order, NULL, &err) == 0, "free %#x/%u: %s", pfn,
		      order, err.msg);
}

START_TEST(gfp_text)
{
	char buf[128];
	struct mm_error err = {0};
	mm_gfp_t g;

	ck_assert_uint_eq(gfp("GFP_KERNEL"), 0xcc0);
	ck_assert_uint_eq(gfp("GFP_ATOMIC"), 0xa20);
	ck_assert_uint_eq(gfp("GFP_HIGHUSER_MOVABLE"), 0x100cca);
	ck_assert_uint_eq(gfp("GFP_KERNEL|__GFP_ZERO"), 0xdc0);
	ck_assert_uint_eq(gfp(" GFP_NOWAIT | __GFP_NOWARN "), 0x2800);
	ck_assert_uint_eq(gfp("0x40cc0"), 0x40cc0);
	mm_gfp_format(0x40cc0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "GFP_KERNEL|__GFP_COMP");
	mm_gfp_format(0x1c24ca, buf, sizeof(buf));
	ck_assert_str_eq(buf, "GFP_TRANSHUGE");
	mm_gfp_format(0x100cca, buf, sizeof(buf));
	ck_assert_str_eq(buf, "GFP_HIGHUSER_MOVABLE");
	mm_gfp_format(0x2a20 | 0x1000000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "GFP_ATOMIC|__GFP_NOWARN|0x1000000");
	/* what %pGg prints parses back */
	ck_assert_uint_eq(gfp("GFP_ATOMIC|__GFP_NOWARN|0x1000000"), 0x1002a20);
	ck_assert_int_eq(mm_gfp_parse("GFP_KERNAL", &g, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "GFP_KERNAL"));
	ck_assert_int_eq(mm_gfp_parse("GFP_KERNEL||__GFP_ZERO", &g, &err), -EINVAL);
	ck_assert_int_eq(mm_gfp_parse("", &g, &err), -EINVAL);
	ck_assert_int_eq(mm_gfp_parse("0x80000000", &g, &err), -EINVAL);
}
END_TEST

/* Order-0 GFP_HIGHUSER_MOVABLE until failure: HighMem, Normal, DMA at the low watermark,
 * then again at min in the slow path; each zone stops at watermark + protection, less at
 * most one pcp batch taken by the last refill. */
START_TEST(highuser_fill_order)
{
	static const int want[] = {MM_ZONE_HIGHMEM, MM_ZONE_NORMAL, MM_ZONE_DMA,
				   MM_ZONE_HIGHMEM, MM_ZONE_NORMAL, MM_ZONE_DMA};
	struct mm_page_alloc a;
	mm_gfp_t g = gfp("GFP_HIGHUSER_MOVABLE");
	int seq[16], nseq = 0, z;
	unsigned long n = 0;
	uint32_t boost0[MM_NR_ZONES];

	boot("1G", false, 1, "");
	/* the boot's vmalloc pages (unmovable, HighMem first) stole a HighMem pageblock and
	 * boosted its watermark; kswapd, which would reset it, is not modelled yet */
	for (z = MM_ZONE_DMA; z <= MM_ZONE_HIGHMEM; z++)
		boost0[z] = zone(z).watermark_boost;
	while (try_alloc(0, g, 0, &a) == 0) {
		if (!nseq || seq[nseq - 1] != a.zone) {
			ck_assert_int_lt(nseq, 16);
			seq[nseq++] = a.zone;
		}
		n++;
	}
	/* the slow path's round skips HighMem when the last pcp refill of the first round
	 * already took it below min (the boot's vmalloc areas moved HighMem's pcp lists) */
	ck_assert_int_ge(nseq, 5);
	for (z = 0; z < 3; z++)
		ck_assert_int_eq(seq[z], want[z]);
	for (z = 3; z < nseq; z++)
		ck_assert_int_eq(seq[z], want[z + 6 - nseq]);
	for (z = MM_ZONE_DMA; z <= MM_ZONE_HIGHMEM; z++) {
		struct mm_zone_info zi = zone(z);
		long mark = (long)zi.wmark_min + zi.lowmem_reserve[MM_ZONE_MOVABLE];

		/* no stealing for movable, except back from the pageblock the boot's vmalloc
		 * made unmovable in HighMem */
		if (z == MM_ZONE_HIGHMEM) {
			/* the last refill may come from the stolen unmovable block: at most
			 * min + protection is left, never more */
			ck_assert_int_le((long)zi.free, mark);
			continue;
		}
		ck_assert_uint_eq(zi.watermark_boost, boost0[z]);
		ck_assert_msg((long)zi.free <= mark && (long)zi.free > mark - zi.pcp[0].batch,
			      "%s free %llu, min+protection %ld, batch %d", zi.name,
			      (unsigned long long)zi.free, mark, zi.pcp[0].batch);
	}
	/* DMA's batch is 1: it stops exactly at min + protection */
	ck_assert_int_eq(zone(MM_ZONE_DMA).pcp[0].batch, 1);
	ck_assert_uint_eq(zone(MM_ZONE_DMA).free,
			  zone(MM_ZONE_DMA).wmark_min + zone(MM_ZONE_DMA).lowmem_reserve[3]);
	ck_assert(shows("dmesg", "page allocation failure: order:0, "
				 "mode:0x100cca(GFP_HIGHUSER_MOVABLE)"));
	ck_assert_uint_gt(n, 200000);
}
END_TEST

static unsigned long fill(mm_gfp_t g, unsigned long *per_zone)
{
	struct mm_page_alloc a;
	unsigned long n = 0;

	while (try_alloc(0, g, 0, &a) == 0) {
		per_zone[a.zone]++;
		n++;
	}
	return n;
}

START_TEST(gfp_zone_limits)
{
	unsigned long per[MM_NR_ZONES] = {0};

	boot("1G", false, 1, "");
	ck_assert_uint_gt(fill(gfp("GFP_KERNEL"), per), 100000);
	ck_assert_uint_eq(per[MM_ZONE_HIGHMEM], 0);
	ck_assert_uint_gt(per[MM_ZONE_NORMAL], 0);
	ck_assert_uint_gt(per[MM_ZONE_DMA], 0);
	mm_machine_destroy(m);
	m = NULL;
	memset(per, 0, sizeof(per));
	boot("1G", false, 1, "");
	ck_assert_uint_gt(fill(gfp("GFP_DMA"), per), 1000);
	ck_assert_uint_eq(per[MM_ZONE_NORMAL] + per[MM_ZONE_HIGHMEM], 0);
	/* GFP_DMA: DMA at min, and no OOM killer for a zone below Normal */
	ck_assert_uint_eq(zone(MM_ZONE_DMA).free, zone(MM_ZONE_DMA).wmark_min);
}
END_TEST

/* The atomic reserve: min reduced by half (ALLOC_HIGH), then by a quarter (ALLOC_HARDER). */
static long atomic_min(long min)
{
	min -= min / 2;
	return min - min / 4;
}

START_TEST(atomic_below_min)
{
	unsigned long per[MM_NR_ZONES] = {0};
	struct mm_zone_info n, d;
	long refills, expect, t_n, t_d;
	unsigned long got;

	boot("1G", false, 1, "");
	/* pcp lists are per migratetype: start empty so that what GFP_KERNEL leaves
	 * stranded there is all on the Unmovable list GFP_ATOMIC takes from */
	ck_assert_int_eq(mm_drain_all_pages(m, NULL), 0);
	fill(gfp("GFP_KERNEL"), per);
	n = zone(MM_ZONE_NORMAL);
	d = zone(MM_ZONE_DMA);
	/* GFP_KERNEL stopped at min (+ the boost its pageblock stealing raised) */
	ck_assert((long)n.free <= (long)n.wmark_min);
	ck_assert((long)n.free > (long)n.wmark_min - n.pcp[0].batch);
	/* GFP_ATOMIC may go on in Normal to atomic_min(unboosted min), taking the pages
	 * stranded on the pcp list first, then refilling a batch while the check passes;
	 * then DMA down to atomic_min + protection (batch 1) */
	t_n = atomic_min((long)n.wmark_min - (long)n.watermark_boost);
	t_d = atomic_min((long)d.wmark_min) + d.lowmem_reserve[MM_ZONE_NORMAL];
	refills =
		(long)n.free > t_n ? ((long)n.free - t_n + n.pcp[0].batch - 1) / n.pcp[0].batch : 0;
	/* the refill that takes free to the threshold serves one allocation; the rest of
	 * its batch stays on the list, behind a watermark check that now fails */
	expect = n.pcp[0].count + (refills ? (refills - 1) * n.pcp[0].batch + 1 : 0) +
		 MM_MAX(0, (long)d.free - t_d);
	memset(per, 0, sizeof(per));
	got = fill(gfp("GFP_ATOMIC"), per);
	ck_assert_msg((long)got == expect,
		      "GFP_ATOMIC got %lu pages below GFP_KERNEL's stop, rule "
		      "says %ld",
		      got, expect);
	ck_assert_uint_eq(per[MM_ZONE_HIGHMEM], 0);
	ck_assert_uint_gt(got, 1000);
}
END_TEST

START_TEST(refcounts_and_compound)
{
	struct mm_page_alloc a, c;
	struct mm_frame_info f;
	struct mm_error err = {0};
	int ref;
	bool freed;

	boot("256M", false, 2, "");
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL"), 0, &a), 0);
	ck_assert_int_eq(mm_get_page(m, a.pfn, &ref, &err), 0);
	ck_assert_int_eq(ref, 2);
	ck_assert_int_eq(mm_free_pages(m, 0, a.pfn, 0, &freed, &err), 0);
	ck_assert(!freed);
	ck_assert_int_eq(mm_get_frame(m, a.pfn, &f, &err), 0);
	ck_assert_int_eq(f.state, MM_FRAME_ALLOCATED);
	ck_assert_int_eq(f.refcount, 1);
	ck_assert_int_eq(mm_put_page(m, 1, a.pfn, &ref, &freed, &err), 0);
	ck_assert(freed);
	ck_assert_int_eq(mm_get_frame(m, a.pfn, &f, &err), 0);
	ck_assert_int_eq(f.state, MM_FRAME_PCP);
	ck_assert_int_eq(f.pcp_cpu, 1);
	ck_assert_int_eq(f.refcount, 0);

	/* compound: head and tails, get_page on a tail takes the head's reference */
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL|__GFP_COMP"), 3, &c), 0);
	ck_assert_int_eq(mm_get_frame(m, c.pfn, &f, &err), 0);
	ck_assert(f.head && !f.tail);
	ck_assert_int_eq(f.compound_order, 3);
	ck_assert_ptr_nonnull(strstr(mm_pageflag_name(16), "head"));
	ck_assert_int_eq(mm_get_frame(m, c.pfn + 5, &f, &err), 0);
	ck_assert(f.tail && !f.head);
	ck_assert_uint_eq(f.compound_head, c.pfn);
	ck_assert_uint_eq(f.mapping, 0x400); /* TAIL_MAPPING */
	ck_assert_int_eq(f.state, MM_FRAME_ALLOCATED_TAIL);
	ck_assert_int_eq(mm_get_page(m, c.pfn + 5, &ref, &err), 0);
	ck_assert_int_eq(ref, 2);
	ck_assert_int_eq(mm_put_page(m, 0, c.pfn + 7, &ref, &freed, &err), 0);
	ck_assert(!freed);
	ck_assert_int_eq(mm_put_page(m, 0, c.pfn, &ref, &freed, &err), 0);
	ck_assert(freed);
	ck_assert_int_eq(mm_get_frame(m, c.pfn + 5, &f, &err), 0);
	ck_assert(!f.tail);
	/* back on the pcp list, or in the buddy if that list was just drained */
	ck_assert_msg(f.state == MM_FRAME_PCP_TAIL || f.state == MM_FRAME_BUDDY_TAIL, "state %s",
		      mm_frame_state_name(f.state));

	/* non-compound order 2 with a second reference: free_pages gives back the
	 * sub-blocks, the first page stays with its other user */
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL"), 2, &a), 0);
	ck_assert_int_eq(mm_get_page(m, a.pfn, &ref, &err), 0);
	ck_assert_int_eq(mm_put_page(m, 0, a.pfn + 1, &ref, &freed, &err), -EBUSY);
	ck_assert_int_eq(mm_free_pages(m, 0, a.pfn, 2, &freed, &err), 0);
	ck_assert(freed);
	ck_assert_int_eq(mm_get_frame(m, a.pfn + 2, &f, &err), 0);
	/* on the pcp list as order 1, or merged in the buddy when free_high drained it */
	ck_assert_msg(f.state == MM_FRAME_PCP || f.state == MM_FRAME_BUDDY ||
			      f.state == MM_FRAME_BUDDY_TAIL,
		      "state %s", mm_frame_state_name(f.state));
	ck_assert_int_ge(f.block_order, 1);
	ck_assert_int_eq(mm_get_frame(m, a.pfn, &f, &err), 0);
	ck_assert_int_eq(f.state, MM_FRAME_ALLOCATED);
	ck_assert_int_eq(f.block_order, 0);
	ck_assert_int_eq(mm_put_page(m, 0, a.pfn, &ref, &freed, &err), 0);
	ck_assert(freed);
}
END_TEST

/* Every refused free leaves every view byte-for-byte as it was. */
static void refused(uint32_t pfn, unsigned int order, int code, const char *words)
{
	struct mm_error err = {0};
	char *before = render("zoneinfo"), *bi = render("pagetypeinfo"), *after, *ai;
	bool freed = true;

	ck_assert_int_eq(mm_free_pages(m, 0, pfn, order, &freed, &err), code);
	ck_assert_msg(strstr(err.msg, words), "'%s' does not say '%s'", err.msg, words);
	after = render("zoneinfo");
	ai = render("pagetypeinfo");
	ck_assert_str_eq(before, after);
	ck_assert_str_eq(bi, ai);
	free(before);
	free(after);
	free(bi);
	free(ai);
}

START_TEST(bad_frees)
{
	struct mm_page_alloc a, c, d;
	struct mm_error err = {0};

	boot("512M", false, 1, "");
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL"), 0, &a), 0);
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL|__GFP_COMP"), 2, &c), 0);
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL"), 3, &d), 0);
	refused(c.pfn, 3, -EINVAL, "wrong order");
	refused(c.pfn + 1, 0, -EINVAL, "tail page");
	refused(d.pfn + 4, 2, -EINVAL, "inside the order-3 allocation");
	refused(0x1000, 0, -EBUSY, "PG_reserved"); /* kernel text at 16 MiB */
	refused(0, 0, -EINVAL, "not RAM");	   /* e820 gives page 0 to the BIOS */
	refused(mm_max_pfn(m), 0, -EINVAL, "beyond max_pfn");
	refused(a.pfn, 11, -EINVAL, "MAX_ORDER");
	free_ok(0, a.pfn, 0);
	refused(a.pfn, 0, -EBUSY, "double free");
	free_ok(0, c.pfn, 2);
	free_ok(0, d.pfn, 3);
	refused(d.pfn, 3, -EBUSY, "double free");
	ck_assert_int_eq(mm_get_page(m, a.pfn, NULL, &err), -EBUSY);
	ck_assert_int_eq(mm_put_page(m, 0, a.pfn, NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL"), 11, &a), -EINVAL);
	ck_assert_int_eq(try_alloc(5, gfp("GFP_KERNEL"), 0, &a), -EINVAL);
	ck_assert_int_eq(try_alloc(0, 0x3 /* DMA|HIGHMEM */, 0, &a), -EINVAL); /* GFP_ZONE_BAD */
	/* __GFP_MOVABLE|__GFP_RECLAIMABLE is no migratetype (fuzz-commands: it made __rmqueue()
	 * loop without end), at any order, through kmalloc too */
	for (unsigned int o = 0; o < 4; o++)
		ck_assert_int_eq(
			try_alloc(0, gfp("GFP_KERNEL|__GFP_MOVABLE|__GFP_RECLAIMABLE"), o, &a),
			-EINVAL);
	{
		struct mm_kmalloc k;

		ck_assert_int_eq(mm_kmalloc(m, 0, 64,
					    gfp("GFP_KERNEL|__GFP_MOVABLE|__GFP_RECLAIMABLE"), &k,
					    &err),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(err.msg, "__GFP_MOVABLE and __GFP_RECLAIMABLE"));
	}
}
END_TEST

/* The page tables split_large_page() took from the page allocator at boot are the kernel's:
 * free_pages and put_page refuse them, on both flavours (issue 15: freed, one was handed out
 * again and zeroed while it still mapped the direct map). */
START_TEST(kernel_page_tables_are_not_freed)
{
	static const bool flavours[] = {false, true};

	for (size_t f = 0; f < 2; f++) {
		struct mm_error err = {0};
		unsigned int found = 0, vmalloc_owned = 0;
		int rc;

		boot("1G", flavours[f], 1, "");
		ck_assert_uint_gt(m->pt.split_pages, 0);
		for (uint32_t pfn = 0; pfn < mm_max_pfn(m); pfn++) {
			if (!(m->pgstate[pfn] & PGS_KERNEL))
				continue;
			refused(pfn, 0, -EBUSY, "the kernel's own");
			ck_assert_int_eq(mm_put_page(m, 0, pfn, NULL, NULL, &err), -EBUSY);
			/* the boot's vmalloc'd pages and the vmalloc range's page tables are the
			 * kernel's too (test-vmalloc.c); the rest are split_large_page()'s */
			if (strstr(err.msg, "vmalloc")) {
				vmalloc_owned++;
				continue;
			}
			found++;
			ck_assert_ptr_nonnull(strstr(err.msg, "page table of the direct map"));
			/* a reference taken and given back is fine; the last one is not */
			ck_assert_int_eq(mm_get_page(m, pfn, &rc, &err), 0);
			ck_assert_int_eq(rc, 2);
			ck_assert_int_eq(mm_put_page(m, 0, pfn, &rc, NULL, &err), 0);
			ck_assert_int_eq(rc, 1);
			ck_assert_int_eq(mm_put_page(m, 0, pfn, NULL, NULL, &err), -EBUSY);
		}
		ck_assert_uint_eq(found, m->pt.split_pages);
		/* ... exactly the pages vmalloc holds and the range's page tables */
		{
			struct mm_layout l;
			unsigned int tables = 0;

			mm_get_layout(m, &l);
			for (uint64_t va = l.vmalloc_start & ~(uint64_t)(l.pmd_size - 1);
			     va < l.vmalloc_end; va += l.pmd_size) {
				pteval_t e = pt_read(m, kernel_pmd_entry(m, (uint32_t)va));

				tables += (e & _PAGE_PRESENT) && !(e & _PAGE_PSE);
			}
			ck_assert_uint_gt(m->vmap.nr_vmalloc_pages, 0);
			ck_assert_uint_eq(vmalloc_owned, m->vmap.nr_vmalloc_pages + tables);
		}
		if (!f)
			check_teardown(); /* the checker, then the next flavour */
	}
}
END_TEST

/* Fallback: an unmovable request on a machine whose blocks are all movable steals. */
START_TEST(fallback_steals_pageblock)
{
	struct mm_page_alloc a;
	struct mm_frame_info f;
	struct mm_error err = {0};
	struct mm_alloc_events ev;

	boot("1G", false, 1, "");
	/* no Reclaimable block exists after boot (mark_rodata_ro's split made an
	 * Unmovable one): the first reclaimable request falls back to the largest Movable
	 * block and claims its pageblock */
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL|__GFP_RECLAIMABLE"), 0, &a), 0);
	ck_assert_int_eq(mm_get_frame(m, a.pfn, &f, &err), 0);
	ck_assert_int_eq(f.pageblock_migratetype, 2);
	mm_get_alloc_events(m, &ev);
	ck_assert_uint_ge(ev.fallbacks, 1);
	ck_assert_uint_ge(ev.pageblocks_stolen, 1);
	/* the largest block: stolen from order 10 (a whole pageblock on 686) */
	ck_assert_uint_eq(a.pfn & 1023, 0);
	ck_assert_int_eq(a.zone, MM_ZONE_NORMAL);
	ck_assert_uint_eq(a.vaddr, 0xc0000000u + (a.pfn << 12));
}
END_TEST

/* Pageblocks of each type in Normal, from pagetypeinfo's "Number of blocks type" table. */
static void normal_blocks(unsigned long *u, unsigned long *mv, unsigned long *e)
{
	char *pt = render("pagetypeinfo"), *l = strstr(pt, "Number of blocks type");

	ck_assert_ptr_nonnull(l);
	l = strstr(l, "zone   Normal");
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(sscanf(l, "zone   Normal %lu %lu %lu", u, mv, e), 3);
	free(pt);
}

/* fallbacks[]: Reclaimable borrows Unmovable before Movable, from the largest free block
 * first (__rmqueue_fallback); whole blocks change type. */
START_TEST(fallback_table_order)
{
	unsigned long u0, m0, e0, u, mv, e;
	struct mm_page_alloc a;

	boot("1G", false, 1, "");
	normal_blocks(&u0, &m0, &e0);
	ck_assert_uint_eq(e0, 0);
	/* an order-10 unmovable allocation steals whole Movable blocks (the pcp refill of
	 * pageblock order takes two); freed and drained they sit on the Unmovable list */
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL"), 10, &a), 0);
	free_ok(0, a.pfn, 10);
	ck_assert_int_eq(mm_drain_all_pages(m, NULL), 0);
	normal_blocks(&u, &mv, &e);
	ck_assert_uint_eq(u, u0 + 2);
	ck_assert_uint_eq(mv, m0 - 2);
	/* Reclaimable: at order 10 both Unmovable and Movable have blocks; the table says
	 * Unmovable first */
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL|__GFP_RECLAIMABLE"), 0, &a), 0);
	normal_blocks(&u, &mv, &e);
	ck_assert_uint_eq(e, 1);
	ck_assert_uint_eq(u, u0 + 1);
	ck_assert_uint_eq(mv, m0 - 2);
	/* an order-10 reclaimable request (two blocks for its pcp refill) takes the last
	 * Unmovable order-10 block first, then a Movable one */
	ck_assert_int_eq(try_alloc(0, gfp("GFP_KERNEL|__GFP_RECLAIMABLE"), 10, &a), 0);
	normal_blocks(&u, &mv, &e);
	ck_assert_uint_eq(e, 3);
	ck_assert_uint_eq(u, u0);
	ck_assert_uint_eq(mv, m0 - 3);
}
END_TEST

/* An order > 0 atomic allocation reserves its pageblock as HighAtomic; only ALLOC_HARDER
 * callers see those free pages in the watermark check. */
START_TEST(highatomic_reserve)
{
	struct mm_page_alloc a, b;
	struct mm_frame_info f;
	struct mm_zone_info z;
	struct mm_error err = {0};
	unsigned long per[MM_NR_ZONES] = {0};

	boot("1G", false, 1, "");
	/* the fast path has no ALLOC_HARDER: reserves are made in the slow path only */
	ck_assert_int_eq(try_alloc(0, gfp("GFP_ATOMIC"), 2, &a), 0);
	ck_assert_uint_eq(zone(a.zone).nr_reserved_highatomic, 0);
	free_ok(0, a.pfn, 2);
	fill(gfp("GFP_KERNEL"), per);
	ck_assert_int_eq(try_alloc(0, gfp("GFP_ATOMIC"), 2, &a), 0);
	z = zone(a.zone);
	ck_assert_uint_eq(z.nr_reserved_highatomic, 1024); /* one pageblock, order 10 */
	ck_assert_int_eq(mm_get_frame(m, a.pfn, &f, &err), 0);
	ck_assert_int_eq(f.pageblock_migratetype, 3);
	ck_assert(shows("pagetypeinfo", "HighAtomic"));
	/* pagetypeinfo counts the block as HighAtomic */
	{
		char *pt = render("pagetypeinfo"), *l = strstr(pt, "Number of blocks type");
		unsigned long u, mv, e, h;

		ck_assert_ptr_nonnull(l);
		l = strstr(l, "zone   Normal");
		ck_assert_ptr_nonnull(l);
		ck_assert_int_eq(sscanf(l, "zone   Normal %lu %lu %lu %lu", &u, &mv, &e, &h), 4);
		ck_assert_uint_eq(h, 1);
		free(pt);
	}
	(void)b;
	free_ok(0, a.pfn, 2);
	ck_assert_int_eq(mm_get_frame(m, a.pfn, &f, &err), 0);
	ck_assert_int_eq(f.pageblock_migratetype, 3); /* the reserve outlives its users */
}
END_TEST

START_TEST(zeroing)
{
	struct mm_page_alloc a;
	mm_gfp_t k = gfp("GFP_KERNEL");
	pfn_t dirty = PFN_NIL;
	unsigned long n = 0;

	/* init_on_alloc=0: pages keep what they held; the freed initmem holds 0xcc */
	boot("128M", false, 1, "init_on_alloc=0");
	ck_assert(shows("dmesg", "heap alloc:off, heap free:off"));
	/* __GFP_MEMALLOC ignores the watermarks: every free page can come back */
	while (try_alloc(0, k | 0x20000, 0, &a) == 0 && n++ < 40000)
		if (m->ram[PFN_PHYS(a.pfn)] == 0xcc) {
			dirty = a.pfn;
			break;
		}
	ck_assert_msg(dirty != PFN_NIL, "no page of the freed initmem came back");
	free_ok(0, dirty, 0);
	ck_assert_int_eq(try_alloc(0, k | 0x20000 | 0x100 /* __GFP_ZERO */, 0, &a), 0);
	ck_assert_uint_eq(a.pfn, dirty); /* the pcp list is LIFO */
	for (unsigned int i = 0; i < 4096; i++)
		ck_assert_uint_eq(m->ram[PFN_PHYS(a.pfn) + i], 0);
}
END_TEST

/* The machine's whole state as a snapshot stream (the caller frees .p). */
static struct mem snap_of(void)
{
	struct mem b = {0};
	struct mm_error err = {0};

	ck_assert_msg(mm_snapshot_save(m, mem_write, &b, &err) == 0, "%s", err.msg);
	return b;
}

/* Nothing changed since @before was taken (and @before is freed). */
static void unchanged_since(struct mem *before, const char *what)
{
	struct mem now = snap_of();

	ck_assert_msg(now.len == before->len && !memcmp(now.p, before->p, now.len),
		      "%s changed the machine", what);
	free(now.p);
	free(before->p);
}

/*
 * The order-0 pair's inline common case (alloc_page_pcp(), free_page_pcp(), issue 16)
 * declines with nothing changed wherever the kernel's path does something uncommon, and
 * the public calls then do what the full path does: an empty pcp list (refill), RAM to
 * zero (init_on_alloc), a boosted zone (kswapd), a zone below its low watermark, a
 * pageblock of type HighAtomic (the Movable list, index kept), a list at pcp->high (a
 * drain), init_on_free, and a pcp page that does not look free (the warning).
 */
START_TEST(pcp_common_case_declines)
{
	mm_gfp_t k = gfp("GFP_KERNEL");
	struct mm_page_alloc a, b;
	struct mm_error err = {0};
	struct zone *z;
	struct mem s;
	unsigned long mark, kswapd;
	unsigned char ram[64];
	pfn_t pfn;
	int count, high;

	boot("1G", false, 1, ""); /* init_on_alloc=1, Debian's default */
	z = &m->pgdat.node_zones[ZONE_NORMAL];
	/* the common case: LIFO through the Normal zone's Unmovable list */
	ck_assert_int_eq(try_alloc(0, k, 0, &a), 0);
	free_ok(0, a.pfn, 0);
	pfn = alloc_page_pcp(m, k, 0);
	ck_assert_uint_eq(pfn, a.pfn);
	ck_assert(free_page_pcp(m, pfn, 0));

	/* an empty list: rmqueue_bulk() refills it with a batch */
	ck_assert_int_eq(mm_drain_all_pages(m, &err), 0);
	s = snap_of();
	ck_assert_uint_eq(alloc_page_pcp(m, k, 0), PFN_NIL);
	unchanged_since(&s, "alloc_page_pcp on an empty list");
	ck_assert_int_eq(try_alloc(0, k, 0, &a), 0);
	ck_assert_int_eq(z->pcp[0].count, z->pcp[0].batch - 1);

	/* RAM written, init_on_alloc: the full path zeroes it */
	memset(ram, 0x5a, sizeof(ram));
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_PHYS, PFN_PHYS(a.pfn), ram, sizeof(ram), &err),
			 0);
	free_ok(0, a.pfn, 0);
	s = snap_of();
	ck_assert_uint_eq(alloc_page_pcp(m, k, 0), PFN_NIL);
	unchanged_since(&s, "alloc_page_pcp on a page to zero");
	ck_assert_int_eq(try_alloc(0, k, 0, &b), 0);
	ck_assert_uint_eq(b.pfn, a.pfn);
	ck_assert_uint_eq(m->ram[PFN_PHYS(b.pfn)], 0);
	free_ok(0, b.pfn, 0);

	/* a boosted zone: the full path's rmqueue() wakes kswapd */
	z->flags_boosted = true;
	kswapd = m->events.kswapd_wakeups;
	s = snap_of();
	ck_assert_uint_eq(alloc_page_pcp(m, k, 0), PFN_NIL);
	unchanged_since(&s, "alloc_page_pcp in a boosted zone");
	ck_assert_int_eq(try_alloc(0, k, 0, &a), 0);
	ck_assert(!z->flags_boosted);
	ck_assert_uint_eq(m->events.kswapd_wakeups, kswapd + 1);
	free_ok(0, a.pfn, 0);

	/* at the low watermark: the full path decides (here: DMA, the next zone down) */
	mark = z->_watermark[WMARK_LOW];
	z->_watermark[WMARK_LOW] = (unsigned long)z->vm_stat[NR_FREE_PAGES];
	s = snap_of();
	ck_assert_uint_eq(alloc_page_pcp(m, k, 0), PFN_NIL);
	unchanged_since(&s, "alloc_page_pcp at the low watermark");
	ck_assert_int_eq(try_alloc(0, k, 0, &a), 0);
	ck_assert_int_eq(a.zone, MM_ZONE_DMA);
	free_ok(0, a.pfn, 0);
	z->_watermark[WMARK_LOW] = mark;

	/* a HighAtomic pageblock: free_unref_page() queues it on the Movable list */
	ck_assert_int_eq(try_alloc(0, k, 0, &a), 0);
	set_pageblock_migratetype(&m->pgdat, z, a.pfn, pageblock_order(m), MIGRATE_HIGHATOMIC);
	s = snap_of();
	ck_assert(!free_page_pcp(m, a.pfn, 0));
	unchanged_since(&s, "free_page_pcp into a HighAtomic pageblock");
	free_ok(0, a.pfn, 0);
	ck_assert_uint_eq(z->pcp[0].lists[MIGRATE_MOVABLE].first, a.pfn);
	ck_assert_uint_eq(m->mem_map[a.pfn].index, MIGRATE_HIGHATOMIC);
	ck_assert_int_eq(mm_drain_all_pages(m, &err), 0);
	set_pageblock_migratetype(&m->pgdat, z, a.pfn, pageblock_order(m), MIGRATE_MOVABLE);

	/* one page short of pcp->high: the free drains a batch */
	ck_assert_int_eq(try_alloc(0, k, 0, &a), 0);
	count = z->pcp[0].count;
	high = z->pcp[0].high;
	z->pcp[0].high = count + 1;
	s = snap_of();
	ck_assert(!free_page_pcp(m, a.pfn, 0));
	unchanged_since(&s, "free_page_pcp at pcp->high");
	free_ok(0, a.pfn, 0);
	ck_assert_int_lt(z->pcp[0].count, count + 1); /* free_pcppages_bulk() ran */
	z->pcp[0].high = high;

	/* a pcp page with a reference: prep_new_page()'s warning, on the full path */
	ck_assert_int_eq(try_alloc(0, k, 0, &a), 0);
	free_ok(0, a.pfn, 0);
	pfn = z->pcp[0].lists[MIGRATE_UNMOVABLE].first;
	ck_assert_uint_ne(pfn, PFN_NIL);
	m->mem_map[pfn]._refcount = 3;
	s = snap_of();
	ck_assert_uint_eq(alloc_page_pcp(m, k, 0), PFN_NIL);
	unchanged_since(&s, "alloc_page_pcp on a page that does not look free");
	ck_assert_int_eq(mm_alloc_pages(m, 0, k, 0, &a, &err), -EFAULT);
	ck_assert_ptr_nonnull(strstr(err.msg, "set_page_refcounted"));
	mm_machine_destroy(m);
	m = NULL;

	/* init_on_free: the full path zeroes on free */
	boot("1G", false, 1, "init_on_free=1");
	ck_assert_int_eq(try_alloc(0, k, 0, &a), 0);
	s = snap_of();
	ck_assert(!free_page_pcp(m, a.pfn, 0));
	unchanged_since(&s, "free_page_pcp with init_on_free");
	free_ok(0, a.pfn, 0);
}
END_TEST

/* xorshift64* */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 2685821657736338717ull;
}

struct held {
	uint32_t pfn;
	unsigned int order;
};

static void check_now(const char *when, unsigned long step)
{
	char msgs[4][MM_ERR_MAX];
	struct mm_report rep = {.max = 4, .msgs = msgs};

	ck_assert_msg(mm_check(m, &rep) == 0, "%s %lu: %u violations, first: %s", when, step,
		      rep.nr, msgs[0]);
}

/* Random alloc/free/get/put over every order, GFP class and CPU; mm_check() every
 * @check_every steps; at the end free everything and drain: buddyinfo must be the
 * post-boot one (also drained). */
static void random_run(unsigned long steps, unsigned long check_every, unsigned int cpus,
		       bool exact_buddyinfo)
{
	static const char *const classes[] = {
		"GFP_KERNEL",
		"GFP_HIGHUSER_MOVABLE",
		"GFP_ATOMIC",
		"GFP_DMA",
		"GFP_KERNEL|__GFP_COMP",
		"GFP_NOWAIT|__GFP_NOWARN",
		"GFP_KERNEL|__GFP_RECLAIMABLE",
		"GFP_HIGHUSER|__GFP_COMP|__GFP_NORETRY",
		"GFP_KERNEL|__GFP_RETRY_MAYFAIL|__GFP_NOWARN",
		"GFP_ATOMIC|__GFP_COMP",
	};
	mm_gfp_t g[sizeof(classes) / sizeof(classes[0])];
	struct held *held = calloc(1u << 20, sizeof(*held));
	struct mm_error err = {0};
	size_t nheld = 0, cap = 1u << 20, i;
	char *post_boot;
	unsigned long step, fails = 0;

	ck_assert_ptr_nonnull(held);
	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++)
		g[i] = gfp(classes[i]);
	ck_assert_int_eq(mm_drain_all_pages(m, &err), 0);
	post_boot = render("buddyinfo");
	for (step = 0; step < steps; step++) {
		uint64_t r = rnd();
		unsigned int cpu = (unsigned int)(r % cpus), op = (unsigned int)(r >> 8) % 100;
		/* bias: fill for a while, then drain, so the run reaches exhaustion and back */
		bool filling = (step / 50000) % 2 == 0;

		if ((filling ? op < 65 : op < 35) && nheld < cap) {
			unsigned int order = (r >> 16) % 8 == 0 ? (unsigned int)(r >> 20) % 11
								: (unsigned int)(r >> 20) % 4;
			struct mm_page_alloc a;

			if (mm_alloc_pages(m, cpu, g[(r >> 32) % (sizeof(g) / sizeof(g[0]))], order,
					   &a, &err) == 0)
				held[nheld++] = (struct held){a.pfn, a.order};
			else
				fails++;
		} else if (nheld && op < 97) {
			size_t k = (size_t)((r >> 24) % nheld);

			free_ok(cpu, held[k].pfn, held[k].order);
			held[k] = held[--nheld];
		} else if (nheld) {
			size_t k = (size_t)((r >> 24) % nheld);
			bool freed;

			ck_assert_int_eq(mm_get_page(m, held[k].pfn, NULL, &err), 0);
			ck_assert_int_eq(mm_put_page(m, cpu, held[k].pfn, NULL, &freed, &err), 0);
			ck_assert(!freed);
		}
		if (check_every && step % check_every == 0)
			check_now("step", step);
	}
	check_now("end of run", steps);
	while (nheld) {
		nheld--;
		free_ok((unsigned int)(nheld % cpus), held[nheld].pfn, held[nheld].order);
	}
	ck_assert_int_eq(mm_drain_all_pages(m, &err), 0);
	check_now("all freed", steps);
	{
		char *now = render("buddyinfo");
		struct mm_alloc_events ev;

		mm_get_alloc_events(m, &ev);
		/* HighAtomic pageblocks stay reserved and do not merge above pageblock
		 * order; on 686 pageblock order is MAX_ORDER - 1, so nothing is blocked */
		if (exact_buddyinfo || !ev.highatomic_reserved)
			ck_assert_str_eq(now, post_boot);
		free(now);
	}
	ck_assert_uint_gt(fails, 0); /* the run did reach the watermarks */
	free(post_boot);
	free(held);
}

START_TEST(random_small_checked_every_step)
{
	boot("64M", false, 3, "");
	random_run(20000, 1, 3, true);
}
END_TEST

START_TEST(random_pae_checked_often)
{
	boot("256M", true, 2, "");
	random_run(60000, 97, 2, false);
}
END_TEST

START_TEST(random_million)
{
	boot("1G", false, 4, "");
	random_run(1000000, 50000, 4, true);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("page_alloc");
	TCase *tr = tcase_create("random");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, gfp_text);
	tcase_add_test(tc, highuser_fill_order);
	tcase_add_test(tc, gfp_zone_limits);
	tcase_add_test(tc, atomic_below_min);
	tcase_add_test(tc, refcounts_and_compound);
	tcase_add_test(tc, bad_frees);
	tcase_add_test(tc, kernel_page_tables_are_not_freed);
	tcase_add_test(tc, fallback_steals_pageblock);
	tcase_add_test(tc, zeroing);
	tcase_add_test(tc, highatomic_reserve);
	tcase_add_test(tc, fallback_table_order);
	tcase_add_test(tc, pcp_common_case_declines);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tr, NULL, check_teardown);
	tcase_set_timeout(tr, 280);
	tcase_add_test(tr, random_small_checked_every_step);
	tcase_add_test(tr, random_pae_checked_often);
	tcase_add_test(tr, random_million);
	suite_add_tcase(s, tr);
	return s;
}
