/*
 * test-vmalloc.c - the vmalloc range: placement, guard pages, lazy purge and its flush,
 * vmalloc'd bytes reaching their frames, vmap, ioremap, set_memory_* and the direct-map
 * alias, bad frees, the kernel's own pages refused to free_pages, put_page and physical
 * writes, the boot's areas against every capture, the snapshot. Each test runs on 686
 * (_i = 0) and 686-pae (_i = 1). The corruption tests of the range's invariants are in
 * test-check.c, beside the others.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h" /* white box: the corruption tests poke struct vmap_state */
#include "common.h"
#include "oracle.h"

static struct mm_error err;

static struct mm_vmalloc_info info(void)
{
	struct mm_vmalloc_info i;

	mm_vmalloc_get_info(m, &i);
	return i;
}

static struct mm_vmap_area_info area_at(uint32_t addr)
{
	struct mm_vmap_area_info a;
	unsigned int i;

	for (i = 0; i < mm_vmap_area_count(m, MM_VMAP_BUSY); i++) {
		ck_assert_int_eq(mm_vmap_area_get(m, MM_VMAP_BUSY, i, &a), 0);
		if (a.va_start == addr)
			return a;
	}
	ck_abort_msg("no area at %#x", addr);
	return a;
}

static uint32_t vmalloc_ok(uint64_t size)
{
	uint32_t addr = 0;

	ck_assert_msg(mm_vmalloc(m, 0, size, false, NULL, &addr, &err) == 0, "vmalloc: %s",
		      err.msg);
	return addr;
}

static struct mm_translation tr(uint32_t va)
{
	struct mm_translation t;

	ck_assert_int_eq(mm_translate(m, 0, va, MM_ACCESS_READ, &t, &err), 0);
	return t;
}

static long meminfo(const char *key)
{
	char *t = render("meminfo");
	long v = oracle_meminfo(t, key);

	free(t);
	return v;
}

static uint32_t max_low(void)
{
	struct mm_layout l;

	mm_get_layout(m, &l);
	return l.max_low_pfn;
}

#include "snapmem.h"

/* A copy of @src through a snapshot, RAM frames included. */
static struct mm_machine *snapshot_clone(struct mm_machine *src)
{
	struct mem b = {0};
	struct mm_machine *c = NULL;
	uint64_t pfn;

	ck_assert_msg(mm_snapshot_save(src, mem_write, &b, &err) == 0, "save: %s", err.msg);
	ck_assert_msg(mm_snapshot_load(mem_read, &b, &c, &err) == 0, "load: %s", err.msg);
	ck_assert_uint_eq(b.pos, b.len);
	for (pfn = 0; pfn < mm_ram_pages(src); pfn++)
		if (mm_ram_page_touched(src, pfn))
			ck_assert_int_eq(mm_ram_page_load(c, pfn, mm_ram_page(src, pfn), &err), 0);
	free(b.p);
	return c;
}

static void run_check(void)
{
	struct mm_report rep = {0};

	ck_assert_int_eq(mm_check(m, &rep), 0);
}

/* The first hole after boot: the one the boot's transient range left behind memremap. */
#define FIRST_HOLE(l) ((l).vmalloc_start + 0xd000u)

/* ---- placement, guard pages, holes ---------------------------------------------------- */

START_TEST(placement_and_guard)
{
	struct mm_layout l;
	uint32_t a, b, c;
	struct mm_vmap_area_info ai;

	boot("1G", _i, 1, "");
	mm_get_layout(m, &l);
	/* the lowest fit: the hole of the boot's first transient range (70 pages) */
	a = vmalloc_ok(1);
	ck_assert_uint_eq(a, FIRST_HOLE(l));
	ai = area_at(a);
	ck_assert_uint_eq(ai.size, 2 * 4096); /* one page and its guard */
	ck_assert_uint_eq(ai.nr_pages, 1);
	ck_assert_uint_eq(ai.flags, 0x2); /* VM_ALLOC, VM_UNINITIALIZED cleared */
	ck_assert_str_eq(ai.caller, "vmalloc");
	b = vmalloc_ok(3 * 4096 + 1); /* four pages */
	ck_assert_uint_eq(b, a + 2 * 4096);
	ck_assert_uint_eq(area_at(b).nr_pages, 4);
	/* the guard page is never mapped: the access faults */
	ck_assert(tr(b + 3 * 4096).ok);
	ck_assert(!tr(b + 4 * 4096).ok);
	ck_assert(!tr(a + 4096).ok);
	/* a request bigger than the hole goes past the busy areas behind it */
	c = vmalloc_ok(100 * 4096);
	ck_assert_uint_gt(c, FIRST_HOLE(l) + 70 * 4096);
	/* vmallocinfo names the caller and the page count, in address order */
	{
		char *t = render("vmallocinfo"), line[128];

		snprintf(line, sizeof(line), "0x%08x-0x%08x   20480 vmalloc pages=4 vmalloc\n", b,
			 b + 20480);
		ck_assert_msg(strstr(t, line), "%s", t);
		free(t);
	}
	ck_assert_int_eq(meminfo("VmallocUsed"), (68 + 1 + 4 + 100) * 4);
	run_check();
}
END_TEST

START_TEST(holes_reused_after_purge)
{
	uint32_t a, b, c, d;
	struct mm_vmalloc_info vi;

	boot("1G", _i, 1, "");
	a = vmalloc_ok(4096);
	b = vmalloc_ok(2 * 4096);
	c = vmalloc_ok(4096);
	ck_assert_int_eq(mm_vfree(m, 0, b, &err), 0);
	vi = info();
	ck_assert_uint_eq(vi.vmap_lazy_nr, 3); /* two pages and the guard wait */
	ck_assert_uint_eq(mm_vmap_area_count(m, MM_VMAP_LAZY), 1);
	{
		char *t = render("vmallocinfo"), line[128];

		snprintf(line, sizeof(line), "0x%08x-0x%08x   12288 unpurged vm_area\n", b,
			 b + 12288);
		ck_assert_msg(strstr(t, line), "%s", t);
		free(t);
	}
	/* the lazily freed addresses are not reused before the purge */
	d = vmalloc_ok(2 * 4096);
	ck_assert_uint_eq(d, c + 2 * 4096);
	/* set_memory_* calls vm_unmap_aliases(): the purge; then the hole is reused */
	ck_assert_int_eq(mm_set_memory(m, d, 1, MM_SET_MEMORY_RO, &err), 0);
	ck_assert_uint_eq(info().vmap_lazy_nr, 0);
	ck_assert_uint_eq(vmalloc_ok(2 * 4096), b);
	(void)a;
	run_check();
}
END_TEST

/* ---- lazy purge ------------------------------------------------------------------------ */

START_TEST(lazy_purge_one_flush)
{
	struct mm_cpu_info c0, c1;
	struct mm_vmalloc_info vi;
	uint32_t big[3], small, v;
	unsigned int i, cpu;
	uint8_t byte;

	boot("1G", _i, 2, "");
	vi = info();
	ck_assert_uint_eq(vi.lazy_max_pages, 16384); /* fls(2) * 32 MiB / 4 KiB */
	small = vmalloc_ok(4096);
	/* a stale translation: read through it, free it, the TLB still has it */
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, small, 1, &byte, &err), 0);
	ck_assert_int_eq(mm_vfree(m, 0, small, &err), 0);
	ck_assert(tr(small).tlb_hit);
	ck_assert(tr(small).ok); /* the PTE is gone, the TLB entry is not: the lazy bargain */
	for (i = 0; i < 3; i++)
		big[i] = vmalloc_ok(6000 * 4096ull);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c0, &err), 0);
	ck_assert_int_eq(mm_get_cpu(m, 1, &c1, &err), 0);
	ck_assert_int_eq(mm_vfree(m, 0, big[0], &err), 0);
	ck_assert_int_eq(mm_vfree(m, 0, big[1], &err), 0);
	vi = info();
	/* each area of 6000 pages has its page array vmalloc'd too: 6 pages and a guard */
	ck_assert_uint_eq(vi.vmap_lazy_nr, 2 + 2 * (6001 + 7));
	ck_assert_uint_eq(vi.nr_purges, 1); /* the boot's, at mark_rodata_ro() */
	/* the third free crosses lazy_max_pages(): one purge at the end of that command */
	ck_assert_int_eq(mm_vfree(m, 0, big[2], &err), 0);
	vi = info();
	ck_assert_uint_eq(vi.vmap_lazy_nr, 0);
	ck_assert_uint_eq(vi.nr_purges, 2);
	ck_assert_uint_eq(vi.nr_purged_pages - 781, 2 + 3 * (6001 + 7));
	for (cpu = 0; cpu < 2; cpu++) {
		struct mm_cpu_info a = cpu ? c1 : c0, b;

		ck_assert_int_eq(mm_get_cpu(m, cpu, &b, &err), 0);
		ck_assert_uint_eq(b.tlb_flushes_all - a.tlb_flushes_all, 1); /* one flush each */
		ck_assert_uint_eq(b.tlb_invlpgs, a.tlb_invlpgs);
	}
	ck_assert(!tr(small).tlb_hit);
	ck_assert(!tr(small).ok);
	ck_assert_uint_eq(mm_vmap_area_count(m, MM_VMAP_LAZY), 0);
	/* the addresses are free again: the lowest fit is the first hole once more */
	v = vmalloc_ok(4096);
	ck_assert_uint_eq(v, small);
	run_check();
}
END_TEST

/* ---- the frames behind the addresses ----------------------------------------------------- */

START_TEST(bytes_reach_frames)
{
	static const uint8_t msg[] = "through vmalloc";
	struct mm_vmap_area_info ai;
	uint8_t back[sizeof(msg)];
	uint32_t a;
	int k;

	boot("1G", _i, 1, "");
	a = vmalloc_ok(3 * 4096);
	ai = area_at(a);
	ck_assert_uint_eq(ai.nr_pfns, 3);
	for (k = 0; k < 3; k++) {
		uint32_t va = a + (uint32_t)k * 4096 + 100;

		ck_assert_uint_ge(ai.pfns[k], max_low()); /* HighMem first */
		ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, va, msg, sizeof(msg), &err),
				 0);
		ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, (uint64_t)ai.pfns[k] * 4096 + 100,
					     sizeof(back), back, &err),
				 0);
		ck_assert_mem_eq(back, msg, sizeof(msg));
		ck_assert_uint_eq(tr(va).phys, (uint64_t)ai.pfns[k] * 4096 + 100);
		ck_assert(tr(va).nx == (bool)_i); /* PAGE_KERNEL: NX where the CPU has it */
	}
	/* vzalloc's pages read back as zero */
	{
		uint32_t z;
		uint8_t buf[64] = {1};

		ck_assert_int_eq(mm_vmalloc(m, 0, 4096, true, NULL, &z, &err), 0);
		ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, z, 64, buf, &err), 0);
		for (k = 0; k < 64; k++)
			ck_assert_uint_eq(buf[k], 0);
		ck_assert_str_eq(area_at(z).caller, "vzalloc");
	}
	/* on a machine without HighMem the pages are lowmem */
	run_check();
	check_teardown();
	boot("128M", _i, 1, "");
	a = vmalloc_ok(4096);
	ck_assert_uint_lt(area_at(a).pfns[0], max_low());
	run_check();
}
END_TEST

/* The bulk allocator's rule: a zone serves a request of n pages only if it stays above its
 * low watermark with all n gone; one page goes through the single-page path. */
START_TEST(bulk_watermark_moves_down)
{
	struct mm_zone_info hz;
	struct mm_page_alloc p;
	struct mm_vmap_area_info ai;
	uint32_t a, k;

	boot("1G", _i, 1, "");
	/* no watermark boost when the fill steals the boot's unmovable HighMem block back */
	ck_assert_int_eq(mm_sysctl_set(m, "watermark_boost_factor", "0", &err), 0);
	for (;;) {
		ck_assert_int_eq(mm_get_zone(m, MM_ZONE_HIGHMEM, &hz), 0);
		if (hz.free <= hz.wmark_low + 90)
			break;
		ck_assert_int_eq(
			mm_alloc_pages(m, 0, 0x100cca /* GFP_HIGHUSER_MOVABLE */, 0, &p, &err), 0);
		ck_assert_int_eq(p.zone, MM_ZONE_HIGHMEM);
	}
	ck_assert_uint_gt(hz.free, hz.wmark_low + 2); /* single pages still come from HighMem */
	a = vmalloc_ok(100 * 4096);
	ai = area_at(a);
	for (k = 0; k < 100; k++)
		ck_assert_uint_lt(ai.pfns[k], max_low()); /* all 100 from Normal */
	a = vmalloc_ok(4096);
	ck_assert_uint_ge(area_at(a).pfns[0], max_low()); /* one page: HighMem still */
	run_check();
}
END_TEST

START_TEST(vpages_array)
{
	struct mm_vmap_area_info ai;
	uint32_t a;
	char *t;

	boot("1G", _i, 1, "");
	/* 1025 pages: the array of page pointers is over a page, so it is vmalloc'd too */
	a = vmalloc_ok(1025 * 4096ull);
	ai = area_at(a);
	ck_assert_uint_ne(ai.pages_area, 0);
	ck_assert_uint_eq(ai.pages_kmalloc, 0);
	ck_assert_uint_eq(area_at(ai.pages_area).nr_pages, 2);
	/* __vmalloc_node(array_size, ..., area->caller): the array's area under the same caller
	 * (2 pages and the guard), itself with a kmalloc'd array (2 pages: kmalloc-8) */
	ck_assert_uint_ne(area_at(ai.pages_area).pages_kmalloc, 0);
	t = render("vmallocinfo");
	ck_assert_ptr_nonnull(strstr(t, "   12288 vmalloc pages=2 vmalloc\n"));
	ck_assert_ptr_nonnull(strstr(t, " 4202496 vmalloc pages=1025 vmalloc vpages\n"));
	free(t);
	ck_assert_int_eq(meminfo("VmallocUsed"), (68 + 1025 + 2) * 4);
	ck_assert_int_eq(mm_vfree(m, 0, a, &err), 0);
	ck_assert_int_eq(meminfo("VmallocUsed"), 68 * 4);
	ck_assert_uint_eq(mm_vmap_area_count(m, MM_VMAP_LAZY), 2);
	run_check();
}
END_TEST

/* The page array of an area up to 1024 pages is kmalloc'd (nested_gfp: GFP_KERNEL |
 * __GFP_ZERO, a normal kmalloc cache), 4 bytes a page: kmalloc-8 for 2 pages, kmalloc-4k for
 * 1024; no "vpages"; kfree refuses it, vfree frees it. */
START_TEST(kmalloc_page_array)
{
	static const struct {
		uint32_t pages, ksize;
		const char *cache;
	} t[] = {{1, 8, "kmalloc-8"},
		 {2, 8, "kmalloc-8"},
		 {3, 16, "kmalloc-16"},
		 {32, 128, "kmalloc-128"},
		 {1024, 4096, "kmalloc-4k"}};
	struct mm_cache_info ci;
	struct mm_vmap_area_info ai;
	uint32_t a, arr, ks;
	unsigned long before;
	char *v;

	boot("1G", _i, 1, "");
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		ck_assert_int_eq(mm_slab_cache_find(m, t[k].cache, &ci, &err), 0);
		before = ci.num_objs;
		a = vmalloc_ok(t[k].pages * 4096ull);
		ai = area_at(a);
		arr = ai.pages_kmalloc;
		ck_assert_uint_eq(ai.pages_area, 0);
		ck_assert_uint_ge(arr, 0xc0000000u);
		ck_assert_int_eq(mm_ksize(m, arr, &ks, &err), 0);
		ck_assert_uint_eq(ks, t[k].ksize);
		ck_assert_int_eq(mm_slab_cache_find(m, t[k].cache, &ci, &err), 0);
		ck_assert_uint_ge(ci.num_objs, before);
		v = render("vmallocinfo");
		ck_assert_ptr_null(strstr(v, "vpages"));
		free(v);
		/* the array is the area's: kfree (and kvfree) refuse it, nothing changes */
		ck_assert_int_eq(mm_kfree(m, 0, arr, NULL, &err), -EBUSY);
		ck_assert_ptr_nonnull(strstr(err.msg, "page array of the vmalloc area"));
		ck_assert_int_eq(mm_ksize(m, arr, &ks, &err), 0);
		ck_assert_int_eq(mm_vfree(m, 0, a, &err), 0);
		/* kvfree(area->pages): the object is free again */
		ck_assert_int_eq(mm_kfree(m, 0, arr, NULL, &err), -EBUSY);
		ck_assert_ptr_nonnull(strstr(err.msg, "free already"));
		run_check();
	}
}
END_TEST

/* ---- vmap and ioremap ------------------------------------------------------------------- */

START_TEST(vmap_frames)
{
	struct mm_page_alloc p[2];
	uint32_t pfns[2], a, v = 0x12345678, back = 0;
	char *t;

	boot("1G", _i, 1, "");
	ck_assert_int_eq(mm_alloc_pages(m, 0, 0xcc0 /* GFP_KERNEL */, 0, &p[0], &err), 0);
	ck_assert_int_eq(mm_alloc_pages(m, 0, 0xcc0, 0, &p[1], &err), 0);
	pfns[0] = p[1].pfn; /* in any order */
	pfns[1] = p[0].pfn;
	ck_assert_int_eq(mm_vmap(m, 0, pfns, 2, NULL, &a, &err), 0);
	ck_assert_uint_eq(area_at(a).nr_pages, 0); /* vmap() keeps no page count */
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, a + 4096, &v, 4, &err), 0);
	ck_assert_int_eq(
		mm_mem_read(m, 0, MM_SPACE_PHYS, (uint64_t)p[0].pfn * 4096, 4, &back, &err), 0);
	ck_assert_uint_eq(back, v);
	t = render("vmallocinfo");
	{
		char line[96];

		snprintf(line, sizeof(line), "0x%08x-0x%08x   12288 vmap vmap\n", a, a + 12288);
		ck_assert_msg(strstr(t, line), "%s", t);
	}
	free(t);
	/* free pages cannot be vmapped; vunmap leaves the pages allocated */
	pfns[0] = p[0].pfn;
	ck_assert_int_eq(mm_vunmap(m, 0, a, &err), 0);
	ck_assert_int_eq(mm_free_pages(m, 0, p[1].pfn, 0, NULL, &err), 0);
	pfns[1] = p[1].pfn;
	ck_assert_int_eq(mm_vmap(m, 0, pfns, 2, NULL, &a, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "free page"));
	run_check();
}
END_TEST

START_TEST(ioremap_rules)
{
	struct mm_vmap_area_info ai;
	struct mm_layout l;
	uint32_t a, b;
	char *t;

	boot("1G", _i, 1, "");
	mm_get_layout(m, &l);
	/* 3 pages: aligned to 16 KiB (the next power of two), the offset kept */
	ck_assert_int_eq(mm_ioremap(m, 0, 0xfebf0010ull, 3 * 4096 - 0x20, NULL, &a, &err), 0);
	ck_assert_uint_eq(a & 0xfff, 0x10);
	ai = area_at(a & ~0xfffu);
	ck_assert_uint_eq(ai.va_start % 16384, 0);
	ck_assert_uint_eq(ai.size, 4 * 4096);
	ck_assert_uint_eq(ai.phys_addr, 0xfebf0000ull);
	ck_assert(tr(a).phys == 0xfebf0010ull);
	ck_assert((tr(a).leaf & 0x10) != 0); /* PCD: UC- */
	t = render("vmallocinfo");
	ck_assert_ptr_nonnull(strstr(t, _i ? "ioremap phys=0x00000000febf0000 ioremap\n"
					   : "ioremap phys=0xfebf0000 ioremap\n"));
	free(t);
	/* 5 MiB: aligned to a pmd at most (4 MiB, 2 MiB with PAE) */
	ck_assert_int_eq(mm_ioremap(m, 0, 0xe0000000ull, 5u << 20, NULL, &b, &err), 0);
	ck_assert_uint_eq(b % (_i ? 2u << 20 : 4u << 20), 0);
	/* refused: RAM in use, size 0, beyond the physical address space */
	ck_assert_int_eq(mm_ioremap(m, 0, 0x2000000, 4096, NULL, &b, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "ioremap on RAM"));
	ck_assert_int_eq(mm_ioremap(m, 0, 0xfed00000, 0, NULL, &b, &err), -EINVAL);
	ck_assert_int_eq(mm_ioremap(m, 0, _i ? 1ull << 36 : 1ull << 32, 4096, NULL, &b, &err),
			 -EINVAL);
	/* iounmap takes the returned address, offset and all */
	ck_assert_int_eq(mm_iounmap(m, 0, a, &err), 0);
	(void)l;
	run_check();
}
END_TEST

/* PAE maps a pmd-aligned ioremap with 2 MiB entries (HAVE_ARCH_HUGE_VMAP); 686 never. */
START_TEST(ioremap_huge_pmd)
{
	uint32_t a;
	struct mm_translation t;

	boot("1G", _i, 1, "");
	ck_assert_int_eq(mm_ioremap(m, 0, 0xe0000000ull, 5u << 20, NULL, &a, &err), 0);
	t = tr(a + (1u << 20));
	ck_assert(t.ok);
	ck_assert_uint_eq(t.phys, 0xe0100000ull);
	ck_assert_uint_eq(t.page_size, _i ? 2u << 20 : 4096);
	ck_assert_uint_eq(tr(a + (4u << 20) + 4096).page_size, 4096); /* the tail in PTEs */
	run_check();
	ck_assert_int_eq(mm_iounmap(m, 0, a, &err), 0);
	ck_assert_int_eq(mm_flush_tlb(m, 0, false, &err), 0);
	ck_assert(!tr(a + (1u << 20)).ok);
	ck_assert(!tr(a + (4u << 20) + 4096).ok);
	run_check();
}
END_TEST

/* ---- set_memory_* ----------------------------------------------------------------------- */

START_TEST(set_memory_lowmem_splits_alias)
{
	struct mm_vmap_area_info ai;
	long k4, big;
	uint32_t a, alias;
	const char *bigkey = _i ? "DirectMap2M" : "DirectMap4M";
	long large_kb = _i ? 2048 : 4096;

	boot("128M", _i, 1, "");
	k4 = meminfo("DirectMap4k");
	big = meminfo(bigkey);
	/* find a page whose alias is still in a large page: allocate until one is */
	for (;;) {
		a = vmalloc_ok(4096);
		ai = area_at(a);
		alias = 0xc0000000u + ai.pfns[0] * 4096u;
		if (tr(alias).page_size != 4096)
			break;
	}
	ck_assert(tr(alias).rw);
	ck_assert_int_eq(mm_set_memory(m, a, 1, MM_SET_MEMORY_RO, &err), 0);
	ck_assert(!tr(a).rw);
	ck_assert(!tr(alias).rw);		      /* the alias changed too ... */
	ck_assert_uint_eq(tr(alias).page_size, 4096); /* ... in a split large page */
	ck_assert_int_eq(meminfo("DirectMap4k"), k4 + large_kb);
	ck_assert_int_eq(meminfo(bigkey), big - large_kb);
	ck_assert_int_eq(mm_set_memory(m, a, 1, MM_SET_MEMORY_RW, &err), 0);
	ck_assert(tr(a).rw && tr(alias).rw);
	ck_assert_int_eq(meminfo("DirectMap4k"), k4 + large_kb); /* a split stays split */
	/* x/nx do not check aliases; without NX (686) they change nothing */
	ck_assert_int_eq(mm_set_memory(m, a, 1, MM_SET_MEMORY_X, &err), 0);
	ck_assert(!tr(a).nx);
	ck_assert(tr(alias).nx == (bool)_i);
	ck_assert_int_eq(mm_set_memory(m, a, 1, MM_SET_MEMORY_NX, &err), 0);
	ck_assert(tr(a).nx == (bool)_i);
	/* the guard page is not part of it */
	ck_assert_int_eq(mm_set_memory(m, a, 2, MM_SET_MEMORY_RO, &err), -EINVAL);
	ck_assert_int_eq(mm_vfree(m, 0, a, &err), 0);
	run_check();
}
END_TEST

START_TEST(set_memory_highmem_no_alias)
{
	long k4;
	uint32_t a;

	boot("1G", _i, 1, "");
	k4 = meminfo("DirectMap4k");
	a = vmalloc_ok(4 * 4096);
	ck_assert_uint_ge(area_at(a).pfns[0], max_low());
	ck_assert_int_eq(mm_set_memory(m, a, 4, MM_SET_MEMORY_RO, &err), 0);
	ck_assert(!tr(a + 3 * 4096).rw);
	ck_assert_int_eq(meminfo("DirectMap4k"), k4); /* HighMem has no alias */
	ck_assert_int_eq(mm_vfree(m, 0, a, &err), 0);
	run_check();
}
END_TEST

/* ---- refusals ------------------------------------------------------------------------- */

/* A vmalloc'd page and a page table of the range are the kernel's own (PGS_KERNEL): free_pages
 * (DELETE /pages/{pfn}) and put_page refuse them naming the area, a physical write needs
 * "force"; nothing changes. vfree gives the pages back (their PGS_KERNEL gone with them). */
START_TEST(kernel_pages_refused)
{
	uint32_t a, pfn, table;
	uint8_t byte = 0x5a;
	struct mm_vmalloc_info before;

	boot("1G", _i, 1, "");
	a = vmalloc_ok(2 * 4096);
	pfn = find_vmap_area(m, a)->vm.pages[1];
	table = (uint32_t)(pt_entry_addr(m, pt_read(m, kernel_pmd_entry(m, a)), false) >> 12);
	ck_assert(m->pgstate[pfn] & PGS_KERNEL);
	ck_assert(m->pgstate[table] & PGS_KERNEL);
	before = info();
	ck_assert_int_eq(mm_free_pages(m, 0, pfn, 0, NULL, &err), -EBUSY);
	ck_assert_msg(strstr(err.msg, "the kernel's own: page 1 of the vmalloc area at"), "%s",
		      err.msg);
	ck_assert_int_eq(mm_put_page(m, 0, pfn, NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(mm_free_pages(m, 0, table, 0, NULL, &err), -EBUSY);
	ck_assert_msg(strstr(err.msg, "the page table of the vmalloc range"), "%s", err.msg);
	ck_assert_int_eq(mm_put_page(m, 0, table, NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_PHYS, PFN_PHYS(pfn), &byte, 1, &err), -EBUSY);
	ck_assert_msg(strstr(err.msg, "vmalloc area"), "%s", err.msg);
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_PHYS, PFN_PHYS(table), &byte, 1, &err),
			 -EBUSY);
	ck_assert_uint_eq(info().nr_vmalloc_pages, before.nr_vmalloc_pages);
	ck_assert_int_eq(m->mem_map[pfn]._refcount, 1);
	ck_assert(!mm_machine_tainted(m));
	ck_assert_int_eq(mm_vfree(m, 0, a, &err), 0);
	ck_assert(!(m->pgstate[pfn] & PGS_KERNEL));
	ck_assert(m->pgstate[table] & PGS_KERNEL); /* the table stays the kernel's */
}
END_TEST

START_TEST(bad_frees_change_nothing)
{
	struct mm_layout l;
	uint32_t a, io;
	char *before, *after;

	boot("1G", _i, 1, "");
	mm_get_layout(m, &l);
	a = vmalloc_ok(2 * 4096);
	ck_assert_int_eq(mm_ioremap(m, 0, 0xfebf0000ull, 4096, NULL, &io, &err), 0);
	before = render("vmallocinfo");
	ck_assert_int_eq(mm_vfree(m, 0, a + 4096, &err), -EINVAL); /* not the start */
	ck_assert_ptr_nonnull(strstr(err.msg, "inside the area"));
	ck_assert_int_eq(mm_vfree(m, 0, a + 1, &err), -EINVAL); /* not aligned */
	ck_assert_int_eq(mm_iounmap(m, 0, a, &err), -EINVAL);	/* a vmalloc area */
	ck_assert_ptr_nonnull(strstr(err.msg, "vmalloc area"));
	ck_assert_int_eq(mm_vfree(m, 0, io, &err), -EINVAL);
	ck_assert_int_eq(mm_vunmap(m, 0, a, &err), -EINVAL);
	ck_assert_int_eq(mm_vfree(m, 0, l.vmalloc_start, &err), -EINVAL);	  /* an ioremap */
	ck_assert_int_eq(mm_vfree(m, 0, l.vmalloc_start + 0x7000, &err), -EBUSY); /* BPF's */
	ck_assert_int_eq(mm_vfree(m, 0, l.vmalloc_end - 4096, &err), -ENOENT);
	ck_assert_int_eq(mm_vmalloc(m, 0, 0, false, NULL, &a, &err), -EINVAL);
	ck_assert_int_eq(mm_vmalloc(m, 0, (uint64_t)(l.vmalloc_end - l.vmalloc_start), false, NULL,
				    &a, &err),
			 -EINVAL);
	ck_assert_int_eq(mm_vmalloc(m, 5, 4096, false, NULL, &a, &err), -EINVAL);
	after = render("vmallocinfo");
	ck_assert_str_eq(before, after);
	free(after);
	/* a double vfree: the second finds the area waiting for the purge */
	a = area_at(a).va_start;
	ck_assert_int_eq(mm_vfree(m, 0, a, &err), 0);
	ck_assert_int_eq(mm_vfree(m, 0, a, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "lazy purge"));
	free(before);
	run_check();
}
END_TEST

START_TEST(range_exhausted)
{
	struct mm_layout l;
	uint32_t a;
	char *log;

	boot("2G", _i, 1, "");
	mm_get_layout(m, &l);
	/* 100 MiB fits once in 120 MiB, not twice: the kernel's warning, -ENOSPC */
	a = vmalloc_ok(100u << 20);
	ck_assert_int_eq(mm_vmalloc(m, 0, 100u << 20, false, NULL, &a, &err), -ENOSPC);
	log = render("dmesg");
	ck_assert_ptr_nonnull(strstr(log, "vmap allocation for size 104861696 failed: use "
					  "vmalloc=<size> to increase size"));
	free(log);
	run_check();
}
END_TEST

/* ---- the boot's areas against the real kernels ------------------------------------------ */

START_TEST(boot_areas_equal_captures)
{
	static char dirs[64][512];
	int nr_dirs = oracle_dirs(dirs, 64), n = 0;

	ck_assert_int_gt(nr_dirs, 0);
	for (int k = 0; k < nr_dirs; k++) {
		const char *dir = dirs[k];
		char *real, *mine, *rm;
		struct mm_config cfg;

		ck_assert(oracle_config(dir, &cfg));
		if (cfg.pae != (bool)_i)
			continue;
		ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "%s: %s", dir, err.msg);
		real = oracle_read(dir, "vmallocinfo");
		mine = render("vmallocinfo");
		ck_assert_msg(!strcmp(real, mine), "%s:\nreal\n%s\nmine\n%s", dir, real, mine);
		rm = oracle_read(dir, "meminfo");
		ck_assert_int_eq(meminfo("VmallocTotal"), oracle_meminfo(rm, "VmallocTotal"));
		ck_assert_int_eq(meminfo("VmallocUsed"), oracle_meminfo(rm, "VmallocUsed"));
		ck_assert_int_eq(meminfo("VmallocChunk"), oracle_meminfo(rm, "VmallocChunk"));
		ck_assert_int_eq(meminfo("DirectMap4k"), oracle_meminfo(rm, "DirectMap4k"));
		free(real);
		free(mine);
		free(rm);
		check_teardown();
		n++;
	}
	ck_assert_int_gt(n, 0);
}
END_TEST

START_TEST(boot_areas_per_cpu)
{
	char *t;
	const char *p;
	int n = 0;

	boot("1G", _i, 3, "");
	t = render("vmallocinfo");
	for (p = t; (p = strstr(p, "crypto_scomp_init_tfm+0x")); p++)
		n++;
	ck_assert_int_eq(n, 6); /* a source and a destination buffer per possible CPU */
	ck_assert_int_eq(meminfo("VmallocUsed"), (1 + 6 * 32 + 3) * 4);
	ck_assert_uint_eq(info().lazy_max_pages, 16384); /* fls(3) = 2 */
	free(t);
}
END_TEST

START_TEST(snapshot_keeps_areas)
{
	struct mm_machine *orig;
	uint32_t a, b;
	char *t1, *t2;

	boot("1G", _i, 1, "");
	a = vmalloc_ok(3 * 4096);
	b = vmalloc_ok(4096);
	ck_assert_int_eq(mm_vfree(m, 0, a, &err), 0);
	t1 = render("vmallocinfo");
	orig = m;
	m = snapshot_clone(orig);
	t2 = render("vmallocinfo");
	ck_assert_str_eq(t1, t2);
	run_check();
	ck_assert_int_eq(mm_vfree(m, 0, b, &err), 0);
	run_check();
	mm_machine_destroy(m);
	m = orig;
	free(t1);
	free(t2);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("vmalloc");
	TCase *tc = tcase_create("vmalloc");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, placement_and_guard, 0, 2);
	tcase_add_loop_test(tc, holes_reused_after_purge, 0, 2);
	tcase_add_loop_test(tc, lazy_purge_one_flush, 0, 2);
	tcase_add_loop_test(tc, bytes_reach_frames, 0, 2);
	tcase_add_loop_test(tc, vpages_array, 0, 2);
	tcase_add_loop_test(tc, kmalloc_page_array, 0, 2);
	tcase_add_loop_test(tc, bulk_watermark_moves_down, 0, 2);
	tcase_add_loop_test(tc, vmap_frames, 0, 2);
	tcase_add_loop_test(tc, ioremap_rules, 0, 2);
	tcase_add_loop_test(tc, ioremap_huge_pmd, 0, 2);
	tcase_add_loop_test(tc, set_memory_lowmem_splits_alias, 0, 2);
	tcase_add_loop_test(tc, set_memory_highmem_no_alias, 0, 2);
	tcase_add_loop_test(tc, bad_frees_change_nothing, 0, 2);
	tcase_add_loop_test(tc, kernel_pages_refused, 0, 2);
	tcase_add_loop_test(tc, range_exhausted, 0, 2);
	tcase_add_loop_test(tc, boot_areas_equal_captures, 0, 2);
	tcase_add_loop_test(tc, boot_areas_per_cpu, 0, 2);
	tcase_add_loop_test(tc, snapshot_keeps_areas, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
