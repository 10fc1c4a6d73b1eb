/*
 * test-kvmalloc.c - kvmalloc/kvzalloc/kvfree (mmcore/util.c): the choice on both sides of
 * every branch of 6.1's kvmalloc_node() (a page, a page and a byte, a size kmalloc serves,
 * fragmented memory where only vmalloc can, above KMALLOC_MAX_SIZE, above INT_MAX, masks that
 * may not block), what __GFP_NORETRY changes in the slow path, bad frees of every kind
 * refused with their reason and nothing changed, and the snapshot. Each test runs on 686
 * (_i = 0) and 686-pae (_i = 1), the checker in every teardown.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "machine.h" /* white box: allocstall, the slab counters */
#include "common.h"
#include "snapmem.h"

static struct mm_error err;

static mm_gfp_t gfp(const char *text)
{
	mm_gfp_t g;

	ck_assert_int_eq(mm_gfp_parse(text, &g, &err), 0);
	return g;
}

static struct mm_kvmalloc kv(uint32_t size, const char *mask)
{
	struct mm_kvmalloc a;

	ck_assert_msg(mm_kvmalloc(m, 0, size, gfp(mask), &a, &err) == 0, "kvmalloc(%u, %s): %s",
		      size, mask, err.msg);
	ck_assert_uint_eq(a.size, size);
	ck_assert_uint_eq(a.gfp, gfp(mask));
	return a;
}

static void kvf(uint32_t addr, bool vmalloc)
{
	bool v = !vmalloc, freed = false;

	ck_assert_msg(mm_kvfree(m, 0, addr, &v, &freed, &err) == 0, "kvfree(%#x): %s", addr,
		      err.msg);
	ck_assert(freed);
	ck_assert(v == vmalloc);
}

static struct mm_vmap_area_info area_at(uint32_t addr)
{
	struct mm_vmap_area_info a;

	for (unsigned int i = 0; i < mm_vmap_area_count(m, MM_VMAP_BUSY); i++) {
		ck_assert_int_eq(mm_vmap_area_get(m, MM_VMAP_BUSY, i, &a), 0);
		if (a.va_start == addr)
			return a;
	}
	ck_abort_msg("no area at %#x", addr);
	return a;
}

static uint64_t allocstall(void)
{
	uint64_t n = 0;

	for (int z = 0; z < MAX_NR_ZONES; z++)
		n += m->allocstall[z];
	return n;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static int failure_reports(void)
{
	char *d = render("dmesg");
	int n = count(d, "page allocation failure");

	free(d);
	return n;
}

static bool pae_of(int i)
{
	return i & 1;
}

/* ---- the choice by size, on a machine with room ------------------------------------------ */

START_TEST(choice_by_size)
{
	struct mm_kvmalloc a;
	struct mm_vmap_area_info ai;
	uint32_t before;

	boot("256M", pae_of(_i), 1, "");
	/* a page: plain kmalloc, the caller's flags untouched */
	a = kv(4096, "GFP_KERNEL");
	ck_assert(!a.vmalloc);
	ck_assert_str_eq(a.km.cache, "kmalloc-4k");
	ck_assert_uint_eq(a.kmalloc_gfp, gfp("GFP_KERNEL"));
	ck_assert_uint_eq(a.addr, a.km.addr);
	kvf(a.addr, false);
	/* a page and a byte: kmalloc still, with __GFP_NOWARN|__GFP_NORETRY added */
	a = kv(4097, "GFP_KERNEL");
	ck_assert(!a.vmalloc);
	ck_assert_str_eq(a.km.cache, "kmalloc-8k");
	ck_assert_uint_eq(a.kmalloc_gfp, gfp("GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY"));
	kvf(a.addr, false);
	/* __GFP_RETRY_MAYFAIL keeps the attempt retrying; __GFP_NOFAIL is left to vmalloc */
	a = kv(20000, "GFP_KERNEL|__GFP_RETRY_MAYFAIL");
	ck_assert_uint_eq(a.kmalloc_gfp, gfp("GFP_KERNEL|__GFP_RETRY_MAYFAIL|__GFP_NOWARN"));
	kvf(a.addr, false);
	a = kv(20000, "GFP_KERNEL|__GFP_NOFAIL");
	ck_assert_uint_eq(a.kmalloc_gfp, gfp("GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY"));
	kvf(a.addr, false);
	/* 64 KiB on a machine with room: kmalloc_large, an order-4 compound page */
	a = kv(65536, "GFP_KERNEL");
	ck_assert(!a.vmalloc && a.km.large);
	ck_assert_uint_eq(a.km.order, 4);
	kvf(a.addr, false);
	/* above KMALLOC_MAX_SIZE the attempt fails at once, silently: vmalloc */
	before = (uint32_t)failure_reports();
	a = kv((4u << 20) + 1, "GFP_KERNEL");
	ck_assert(a.vmalloc);
	ck_assert_ptr_nonnull(strstr(a.kmalloc_error, "KMALLOC_MAX_SIZE"));
	ai = area_at(a.addr);
	ck_assert_uint_eq(ai.nr_pages, 1025);
	ck_assert_uint_eq(ai.flags, 0x2u | 0x400u); /* VM_ALLOC | VM_ALLOW_HUGE_VMAP */
	ck_assert_str_eq(ai.caller, "kvmalloc");
	ck_assert_uint_eq((uint32_t)failure_reports(), before);
	kvf(a.addr, true);
	/* size 0: kmalloc's ZERO_SIZE_PTR; kvfree of it (and of NULL) frees nothing */
	a = kv(0, "GFP_KERNEL");
	ck_assert(!a.vmalloc);
	ck_assert_uint_eq(a.addr, 16);
	{
		bool v = true, freed = true;

		ck_assert_int_eq(mm_kvfree(m, 0, 16, &v, &freed, &err), 0);
		ck_assert(!v && !freed);
		ck_assert_int_eq(mm_kvfree(m, 0, 0, &v, &freed, &err), 0);
		ck_assert(!freed);
	}
	/* refused before anything: a bad CPU, a bad mask, above INT_MAX, or above
	 * KMALLOC_MAX_SIZE with a mask that may not block */
	ck_assert_int_eq(mm_kvmalloc(m, 3, 100, gfp("GFP_KERNEL"), &a, &err), -EINVAL);
	ck_assert_int_eq(mm_kvmalloc(m, 0, 100, 0x3u, &a, &err), -EINVAL);
	ck_assert_int_eq(mm_kvmalloc(m, 0, 0x80000000u, gfp("GFP_KERNEL"), &a, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "INT_MAX"));
	ck_assert_int_eq(mm_kvmalloc(m, 0, 5u << 20, gfp("GFP_ATOMIC"), &a, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "do not allow blocking"));
	/* above the vmalloc range: vmalloc's refusal */
	ck_assert_int_eq(mm_kvmalloc(m, 0, 0x7f000000u, gfp("GFP_KERNEL"), &a, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "vmalloc range"));
}
END_TEST

/* kvzalloc zeroes on both paths (init_on_alloc=0, so that only __GFP_ZERO does): a reused
 * object of kmalloc-8k, and the reused pages of a vmalloc'd area. */
static uint8_t big_junk[5u << 20], big_back[5u << 20];

/* mm_mem_write/read of any length, MM_MEM_MAX at a time, through the kernel's tables */
static void kwrite(uint32_t va, const uint8_t *p, uint32_t len)
{
	for (uint32_t off = 0; off < len; off += MM_MEM_MAX)
		ck_assert_msg(mm_mem_write(m, 0, MM_SPACE_KERNEL, va + off, p + off,
					   MM_MIN(MM_MEM_MAX, len - off), &err) == 0,
			      "%s", err.msg);
}

static void kread(uint32_t va, uint8_t *p, uint32_t len)
{
	for (uint32_t off = 0; off < len; off += MM_MEM_MAX)
		ck_assert_msg(mm_mem_read(m, 0, MM_SPACE_KERNEL, va + off,
					  MM_MIN(MM_MEM_MAX, len - off), p + off, &err) == 0,
			      "%s", err.msg);
}

START_TEST(kvzalloc_zeroes)
{
	struct mm_kvmalloc a, b;
	uint8_t junk[64], back[64], zero[64] = {0};
	const uint32_t big = 5u << 20;
	size_t nz;

	boot("256M", pae_of(_i), 1, "init_on_alloc=0");
	memset(junk, 0xa5, sizeof(junk));
	a = kv(6000, "GFP_KERNEL");
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, a.addr + 100, junk, 64, &err), 0);
	kvf(a.addr, false);
	b = kv(6000, "GFP_KERNEL"); /* the same object back, not zeroed */
	ck_assert_uint_eq(b.addr, a.addr);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, b.addr + 100, 64, back, &err), 0);
	ck_assert(!memcmp(back, junk, 64));
	kvf(b.addr, false);
	b = kv(6000, "GFP_KERNEL|__GFP_ZERO");
	ck_assert_uint_eq(b.addr, a.addr);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, b.addr + 100, 64, back, &err), 0);
	ck_assert(!memcmp(back, zero, 64));
	kvf(b.addr, false);

	/* vmalloc: junk in every page, freed; kvmalloc finds junk again, kvzalloc none */
	memset(big_junk, 0x5a, big);
	a = kv(big, "GFP_KERNEL");
	ck_assert(a.vmalloc);
	kwrite(a.addr, big_junk, big);
	kvf(a.addr, true);
	a = kv(big, "GFP_KERNEL");
	kread(a.addr, big_back, big);
	for (nz = 0; nz < big && big_back[nz] != 0x5a; nz++)
		;
	ck_assert_uint_lt(nz, big); /* the old bytes are there */
	kwrite(a.addr, big_junk, big);
	kvf(a.addr, true);
	a = kv(big, "GFP_KERNEL|__GFP_ZERO");
	ck_assert(a.vmalloc);
	ck_assert_str_eq(area_at(a.addr).caller, "kvzalloc");
	kread(a.addr, big_back, big);
	for (nz = 0; nz < big && big_back[nz] == 0; nz++)
		;
	ck_assert_uint_eq(nz, big);
	kvf(a.addr, true);
}
END_TEST

/* ---- fragmented memory: kmalloc cannot, vmalloc can ------------------------------------- */

static uint32_t frames[70000];

/*
 * Take every free page of lowmem (GFP_KERNEL, silently), then give back every other one
 * (the even frames): half the memory is free again, all of it order 0, none of it able to
 * merge. Returns the pages freed.
 */
static unsigned int fragment(void)
{
	struct mm_page_alloc pa;
	unsigned int n = 0, freed = 0;

	while (n < sizeof(frames) / sizeof(frames[0]) &&
	       mm_alloc_pages(m, 0, gfp("GFP_KERNEL|__GFP_MEMALLOC|__GFP_NOWARN"), 0, &pa, &err) ==
		       0)
		frames[n++] = pa.pfn;
	ck_assert_int_eq(err.code, -ENOSPC);
	for (unsigned int i = 0; i < n; i++)
		if (!(frames[i] & 1)) {
			ck_assert_int_eq(mm_free_pages(m, 0, frames[i], 0, NULL, &err), 0);
			freed++;
		}
	ck_assert_uint_gt(freed, 1000);
	/* what merged all the same (pages the per-CPU lists held through the loop) is taken
	 * again: free memory is order 0 only */
	for (unsigned int o = 10; o >= 1; o--)
		while (mm_alloc_pages(m, 0, gfp("GFP_KERNEL|__GFP_MEMALLOC|__GFP_NOWARN"), o, &pa,
				      &err) == 0)
			;
	return freed;
}

START_TEST(fallback_when_fragmented)
{
	struct mm_kvmalloc a;
	struct mm_kmalloc k;
	uint64_t stall;
	int reports;

	boot("128M", pae_of(_i), 1, "");
	fragment();
	/* a page: kmalloc-4k takes a single page when its order-3 slab is not to be had */
	a = kv(4096, "GFP_KERNEL");
	ck_assert(!a.vmalloc);
	ck_assert_str_eq(a.km.cache, "kmalloc-4k");
	kvf(a.addr, false);

	/* plain kmalloc of 64 KiB (order 4, costly): one direct reclaim, then the report */
	stall = allocstall();
	reports = failure_reports();
	ck_assert_int_eq(mm_kmalloc(m, 0, 65536, gfp("GFP_KERNEL"), &k, &err), -ENOSPC);
	ck_assert_uint_eq(allocstall(), stall + 1);
	ck_assert_int_eq(failure_reports(), reports + 1);

	/* kvmalloc: the attempt has __GFP_NORETRY: it gives up after the (skipped) compaction,
	 * before reclaim, and silently; vmalloc serves it from single pages */
	stall = allocstall();
	reports = failure_reports();
	a = kv(65536, "GFP_KERNEL");
	ck_assert(a.vmalloc);
	ck_assert_uint_eq(allocstall(), stall);
	ck_assert_int_eq(failure_reports(), reports);
	ck_assert_ptr_nonnull(strstr(a.kmalloc_error, "page allocation failure"));
	ck_assert_uint_eq(area_at(a.addr).nr_pages, 16);
	kvf(a.addr, true);

	/* with __GFP_RETRY_MAYFAIL the attempt reclaims once, still silent, then vmalloc */
	stall = allocstall();
	a = kv(65536, "GFP_KERNEL|__GFP_RETRY_MAYFAIL");
	ck_assert(a.vmalloc);
	ck_assert_uint_eq(allocstall(), stall + 1);
	ck_assert_int_eq(failure_reports(), reports);
	kvf(a.addr, true);

	/* a page and a byte: kmalloc-8k needs two contiguous pages at least: vmalloc */
	a = kv(4097, "GFP_KERNEL");
	ck_assert(a.vmalloc);
	ck_assert_ptr_nonnull(strstr(a.kmalloc_error, "kmalloc-8k"));
	ck_assert_uint_eq(area_at(a.addr).nr_pages, 2);
	kvf(a.addr, true);

	/* GFP_NOFS may block: 6.1 falls back (vmalloc honours it through the scope API) */
	a = kv(65536, "GFP_NOFS");
	ck_assert(a.vmalloc);
	kvf(a.addr, true);

	/* GFP_ATOMIC and GFP_NOWAIT never fall back: the request fails */
	stall = allocstall();
	ck_assert_int_eq(mm_kvmalloc(m, 0, 65536, gfp("GFP_ATOMIC"), &a, &err), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(err.msg, "do not allow blocking"));
	ck_assert_int_eq(mm_kvmalloc(m, 0, 16384, gfp("GFP_NOWAIT"), &a, &err), -ENOSPC);
	ck_assert_uint_eq(allocstall(), stall); /* neither may reclaim */
	ck_assert_int_eq(failure_reports(), reports);
}
END_TEST

/* ---- bad frees --------------------------------------------------------------------------- */

static uint8_t *snap(size_t *len)
{
	struct mem b = {0};

	ck_assert_int_eq(mm_snapshot_save(m, mem_write, &b, &err), 0);
	*len = b.len;
	return b.p;
}

START_TEST(bad_frees)
{
	struct mm_kvmalloc k, v, big;
	struct mm_kmalloc obj;
	struct mm_page_alloc pa;
	struct mm_cache_info ci;
	struct mm_layout l;
	uint8_t *s0, *s1;
	size_t l0, l1;
	bool freed;

	boot("256M", pae_of(_i), 2, "slab_nomerge"); /* "kvt" a cache of its own */
	mm_get_layout(m, &l);
	ck_assert_int_eq(mm_alloc_pages(m, 0, gfp("GFP_KERNEL"), 0, &pa, &err), 0);
	k = kv(64, "GFP_KERNEL");
	big = kv(20000, "GFP_KERNEL");
	v = kv(5u << 20, "GFP_KERNEL");
	ck_assert(!k.vmalloc && big.km.large && v.vmalloc);
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "kvt", 200, 0, 0, &ci, &err), 0);
	ck_assert(!ci.merged);
	ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "kvt", gfp("GFP_KERNEL"), &obj, &err), 0);
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "kvt", obj.addr, &err), 0);
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "kvt", &err), 0);

	s0 = snap(&l0);
	/* vfree of a kmalloc object names the cache */
	ck_assert_int_eq(mm_vfree(m, 0, k.addr, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, "is a kmalloc object of cache kmalloc-64, not a vmalloc "
				      "area; use kfree"),
		      "%s", err.msg);
	ck_assert_int_eq(mm_vfree(m, 0, k.addr + 8, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "inside a kmalloc object of cache kmalloc-64"));
	ck_assert_int_eq(mm_vfree(m, 0, big.addr, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "a kmalloc'd block of order 3"));
	ck_assert_int_eq(mm_vfree(m, 0, pa.vaddr, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a vmalloc address"));
	/* kfree of a vmalloc address names vfree */
	ck_assert_int_eq(mm_kfree(m, 0, v.addr, &freed, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "vfree"));
	/* kvfree: inside an object, inside an area, neither kind of address */
	ck_assert_int_eq(mm_kvfree(m, 0, k.addr + 4, NULL, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "calls kfree"));
	ck_assert_ptr_nonnull(strstr(err.msg, "not the start of an object"));
	ck_assert_int_eq(mm_kvfree(m, 0, v.addr + 4096, NULL, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "calls vfree"));
	ck_assert_ptr_nonnull(strstr(err.msg, "inside the area"));
	ck_assert_int_eq(mm_kvfree(m, 0, pa.vaddr, NULL, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "neither a slab"));
	ck_assert_int_eq(mm_kvfree(m, 0, l.vmalloc_end - 4096, NULL, NULL, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "nonexistent vm area"));
	ck_assert_int_eq(mm_kvfree(m, 0, 0x1000, NULL, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "direct map"));
	/* an object of a destroyed cache: its slab went back to the page allocator */
	ck_assert_int_eq(mm_kvfree(m, 0, obj.addr, NULL, NULL, &err), -EBUSY);
	ck_assert_msg(strstr(err.msg, "kmem_cache_destroy"), "%s", err.msg);
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "kvt", obj.addr, &err), -ENOENT);
	ck_assert_int_eq(mm_kvfree(m, 5, k.addr, NULL, NULL, &err), -EINVAL); /* no CPU 5 */
	s1 = snap(&l1);
	ck_assert_uint_eq(l0, l1);
	ck_assert_msg(!memcmp(s0, s1, l0), "a refused free changed the machine");
	free(s0);
	free(s1);

	/* double frees, each after a good one */
	kvf(k.addr, false);
	ck_assert_int_eq(mm_kvfree(m, 1, k.addr, NULL, NULL, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "double free"));
	kvf(v.addr, true);
	ck_assert_int_eq(mm_kvfree(m, 0, v.addr, NULL, NULL, &err), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err.msg, "lazy purge"));
	kvf(big.addr, false);
	ck_assert_int_eq(mm_kvfree(m, 0, big.addr, NULL, NULL, &err), -EBUSY);
}
END_TEST

/* ---- snapshot ---------------------------------------------------------------------------- */

START_TEST(snapshot_roundtrip)
{
	struct mm_kvmalloc a, b;
	struct mem s = {0};
	struct mm_machine *r = NULL;
	char *t1, *t2, *v1, *v2;

	boot("256M", pae_of(_i), 2, "");
	a = kv(3000, "GFP_KERNEL");
	b = kv(5u << 20, "GFP_KERNEL|__GFP_ZERO");
	ck_assert_int_eq(mm_snapshot_save(m, mem_write, &s, &err), 0);
	ck_assert_int_eq(mm_snapshot_load(mem_read, &s, &r, &err), 0);
	for (uint64_t pfn = 0; pfn < mm_ram_pages(m); pfn++)
		if (mm_ram_page_touched(m, pfn))
			ck_assert_int_eq(mm_ram_page_load(r, pfn, mm_ram_page(m, pfn), &err), 0);
	t1 = render("slabinfo");
	v1 = render("vmallocinfo");
	mm_machine_destroy(m);
	m = r;
	t2 = render("slabinfo");
	v2 = render("vmallocinfo");
	ck_assert_str_eq(t1, t2);
	ck_assert_str_eq(v1, v2);
	kvf(a.addr, false);
	kvf(b.addr, true);
	free(t1);
	free(t2);
	free(v1);
	free(v2);
	free(s.p);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("kvmalloc");
	TCase *tc = tcase_create("kvmalloc");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, choice_by_size, 0, 2);
	tcase_add_loop_test(tc, kvzalloc_zeroes, 0, 2);
	tcase_add_loop_test(tc, fallback_when_fragmented, 0, 2);
	tcase_add_loop_test(tc, bad_frees, 0, 2);
	tcase_add_loop_test(tc, snapshot_roundtrip, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
