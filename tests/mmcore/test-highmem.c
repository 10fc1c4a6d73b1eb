/* test-highmem.c - kmap on the pkmap table, kmap_local/kmap_atomic on the fixmap slots,
 * page_address(), the cpu_entry_area a real kernel fills, and the checker's highmem
 * invariants, each broken on purpose. Every case runs on 686 (_i = 0) and PAE (_i = 1). */
#include <stdio.h>

#include "machine.h" /* before common.h: its inline helpers name their machine m */
#include "page_alloc.h"
#include "common.h"
#include "oracle.h"

static unsigned int last_pkmap_of(bool pae)
{
	return pae ? 512 : 1024;
}

static uint32_t alloc(const char *gfp_text, unsigned int cpu)
{
	struct mm_error err = {0};
	struct mm_page_alloc a;
	mm_gfp_t gfp;

	ck_assert_int_eq(mm_gfp_parse(gfp_text, &gfp, &err), 0);
	ck_assert_msg(mm_alloc_pages(m, cpu, gfp, 0, &a, &err) == 0, "%s", err.msg);
	return a.pfn;
}

static uint32_t alloc_high(void)
{
	struct mm_frame_info fi;
	struct mm_error err = {0};
	uint32_t pfn = alloc("GFP_HIGHUSER", 0);

	ck_assert_int_eq(mm_get_frame(m, pfn, &fi, &err), 0);
	ck_assert_int_eq(fi.zone, MM_ZONE_HIGHMEM);
	return pfn;
}

static struct mm_kmap kmap_ok(uint32_t pfn)
{
	struct mm_error err = {0};
	struct mm_kmap k;

	ck_assert_msg(mm_kmap(m, 0, pfn, &k, &err) == 0, "kmap %#x: %s", pfn, err.msg);
	return k;
}

static struct mm_translation walk(unsigned int cpu, uint32_t va)
{
	struct mm_translation t;
	struct mm_error err = {0};

	ck_assert_int_eq(mm_translate(m, cpu, va, MM_ACCESS_READ, &t, &err), 0);
	return t;
}

/* ---- kmap / kunmap ---------------------------------------------------------------- */

START_TEST(kmap_lowmem_takes_no_slot)
{
	struct mm_error err = {0};
	struct mm_pkmap_info *before = malloc(sizeof(*before)), *after = malloc(sizeof(*after));
	struct mm_kmap k;
	uint32_t pfn;

	boot("1G", _i, 1, "");
	pfn = alloc("GFP_KERNEL", 0);
	ck_assert_int_eq(mm_get_pkmap(m, before, &err), 0);
	k = kmap_ok(pfn);
	ck_assert_uint_eq(k.address, 0xc0000000u + (pfn << 12));
	ck_assert_int_eq(k.slot, -1);
	ck_assert_int_eq(mm_kunmap(m, 0, pfn, &k, &err), 0);
	ck_assert_int_eq(mm_get_pkmap(m, after, &err), 0);
	ck_assert_int_eq(memcmp(before, after, sizeof(*before)), 0);
	free(before);
	free(after);
}
END_TEST

START_TEST(kmap_highmem_first_slot_is_one)
{
	struct mm_error err = {0};
	struct mm_pkmap_info *pk = malloc(sizeof(*pk));
	struct mm_frame_info fi;
	struct mm_translation t;
	struct mm_layout l;
	struct mm_kmap k;
	uint32_t pfn;

	boot("1G", _i, 1, "");
	mm_get_layout(m, &l);
	pfn = alloc_high();
	ck_assert_int_eq(mm_get_frame(m, pfn, &fi, &err), 0);
	ck_assert_uint_eq(fi.vaddr, 0); /* no address before kmap */
	k = kmap_ok(pfn);
	ck_assert_int_eq(k.slot, 1);
	ck_assert_uint_eq(k.address, l.pkmap_base + 4096);
	ck_assert_int_eq(k.count, 2);
	ck_assert(!k.flushed);
	ck_assert_int_eq(mm_get_frame(m, pfn, &fi, &err), 0);
	ck_assert_uint_eq(fi.vaddr, k.address); /* page_address() through the hash */
	t = walk(0, k.address + 0x123);
	ck_assert(t.ok);
	ck_assert_uint_eq(t.phys, ((uint64_t)pfn << 12) + 0x123);
	ck_assert(t.rw);
	ck_assert(t.nx == (bool)_i);
	/* a second kmap of the same page: the same slot, one more user */
	k = kmap_ok(pfn);
	ck_assert_int_eq(k.slot, 1);
	ck_assert_int_eq(k.count, 3);
	ck_assert_int_eq(mm_kunmap(m, 0, pfn, &k, &err), 0);
	ck_assert_int_eq(k.count, 2);
	ck_assert(!k.woke);
	ck_assert_int_eq(mm_kunmap(m, 0, pfn, &k, &err), 0);
	ck_assert_int_eq(k.count, 1);
	ck_assert(k.woke);
	/* count 1: still mapped until the wrap-around flush */
	ck_assert_int_eq(mm_get_pkmap(m, pk, &err), 0);
	ck_assert_int_eq(pk->count[1], 1);
	ck_assert_uint_eq(pk->pfn[1], pfn);
	ck_assert_uint_eq(pk->last_pkmap_nr, 1);
	ck_assert_int_eq(mm_kunmap(m, 0, pfn, &k, &err), -ENOENT);
	free(pk);
}
END_TEST

/* Every slot filled, the wrap-around, the "sleep", and the flush that frees a slot. */
START_TEST(kmap_every_slot_wrap_and_flush)
{
	unsigned int n = last_pkmap_of(_i), i;
	struct mm_error err = {0};
	struct mm_pkmap_info *pk = malloc(sizeof(*pk));
	struct mm_cpu_info c0, c1;
	uint32_t *pfn = calloc(n + 2, sizeof(*pfn));
	struct mm_kmap k;
	uint8_t byte = 0;

	boot("1G", _i, 2, "");
	for (i = 0; i < n + 1; i++)
		pfn[i] = alloc_high();
	/* slots 1 .. n-1, then the wrap (nothing to flush) and slot 0 */
	for (i = 0; i < n; i++) {
		k = kmap_ok(pfn[i]);
		ck_assert_int_eq(k.slot, (int)((i + 1) % n));
		ck_assert(!k.flushed);
	}
	ck_assert_int_eq(mm_get_pkmap(m, pk, &err), 0);
	ck_assert_uint_eq(pk->in_use, n);
	ck_assert_uint_eq(pk->last_pkmap_nr, 0);
	ck_assert_uint_eq(pk->flushes, 0);
	/* full: kmap would sleep; nothing changes */
	ck_assert_int_eq(mm_kmap(m, 0, pfn[n], &k, &err), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(err.msg, "pkmap_map_wait"));
	ck_assert_int_eq(mm_get_pkmap(m, pk, &err), 0);
	ck_assert_uint_eq(pk->last_pkmap_nr, 0);
	/* a page kmapped already gets its slot even now */
	k = kmap_ok(pfn[5]);
	ck_assert_int_eq(k.slot, 6);
	ck_assert_int_eq(mm_kunmap(m, 0, pfn[5], &k, &err), 0);
	/* write through slot 7's address, then kunmap it: the stale mapping still works */
	byte = 0xa7;
	ck_assert_int_eq(
		mm_mem_write(m, 1, MM_SPACE_KERNEL, pk->pkmap_base + 7 * 4096, &byte, 1, &err), 0);
	ck_assert_int_eq(mm_kunmap(m, 0, pfn[6], &k, &err), 0);
	ck_assert(k.woke);
	byte = 0;
	ck_assert_int_eq(
		mm_mem_read(m, 1, MM_SPACE_KERNEL, pk->pkmap_base + 7 * 4096, 1, &byte, &err), 0);
	ck_assert_uint_eq(byte, 0xa7);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c0, &err), 0);
	ck_assert_int_eq(mm_get_cpu(m, 1, &c1, &err), 0);
	/* the waiter's retry: scan to the wrap, flush slot 7, take it */
	k = kmap_ok(pfn[n]);
	ck_assert_int_eq(k.slot, 7);
	ck_assert(k.flushed);
	{
		struct mm_cpu_info d0, d1;

		ck_assert_int_eq(mm_get_cpu(m, 0, &d0, &err), 0);
		ck_assert_int_eq(mm_get_cpu(m, 1, &d1, &err), 0);
		ck_assert_uint_eq(d0.tlb_flushes_all, c0.tlb_flushes_all + 1);
		ck_assert_uint_eq(d1.tlb_flushes_all, c1.tlb_flushes_all + 1);
	}
	ck_assert_int_eq(mm_get_pkmap(m, pk, &err), 0);
	ck_assert_uint_eq(pk->last_pkmap_nr, 7);
	ck_assert_uint_eq(pk->flushes, 1);
	ck_assert_uint_eq(pk->pfn[7], pfn[n]);
	/* the old page's address now reaches the new page */
	ck_assert_uint_eq(walk(1, pk->pkmap_base + 7 * 4096).phys, (uint64_t)pfn[n] << 12);
	ck_assert_uint_eq(mm_page_address(m, pfn[6]), 0);
	free(pk);
	free(pfn);
}
END_TEST

/* After kunmap and the flush, the old address faults; before it, the TLB still reaches. */
START_TEST(kunmap_then_flush_old_address_faults)
{
	unsigned int n = last_pkmap_of(_i), i;
	struct mm_error err = {0};
	struct mm_layout l;
	struct mm_kmap k;
	uint32_t a, va;
	uint8_t byte = 0x5c;

	boot("1G", _i, 1, "");
	mm_get_layout(m, &l);
	a = alloc_high();
	va = kmap_ok(a).address;
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, va, &byte, 1, &err), 0);
	ck_assert_int_eq(mm_kunmap(m, 0, a, &k, &err), 0);
	byte = 0;
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, va, 1, &byte, &err), 0);
	ck_assert_uint_eq(byte, 0x5c);
	for (i = 2; i < n; i++) /* slots 2 .. n-1 */
		ck_assert_int_eq(kmap_ok(alloc_high()).slot, (int)i);
	k = kmap_ok(alloc_high()); /* wrap: slot 1 flushed, slot 0 taken */
	ck_assert_int_eq(k.slot, 0);
	ck_assert(k.flushed);
	ck_assert(!walk(0, va).ok);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, va, 1, &byte, &err), -EACCES);
	ck_assert_uint_eq(mm_page_address(m, a), 0);
	(void)l;
}
END_TEST

/* Bytes through kmap, read back by physical address and through kmap_local. */
START_TEST(bytes_through_every_mapping)
{
	struct mm_error err = {0};
	struct mm_kmap_local kl;
	uint32_t pfn, va;
	char buf[16] = {0};

	boot("1G", _i, 2, "");
	pfn = alloc_high();
	va = kmap_ok(pfn).address;
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, va + 100, "highmem!", 8, &err), 0);
	ck_assert_int_eq(
		mm_mem_read(m, 0, MM_SPACE_PHYS, ((uint64_t)pfn << 12) + 100, 8, buf, &err), 0);
	ck_assert_str_eq(buf, "highmem!");
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(mm_kmap_local(m, 1, pfn, false, &kl, &err), 0);
	ck_assert_uint_eq(kl.address, 0xfffbb000u - 16 * 4096); /* CPU 1, slot 0 */
	ck_assert_int_eq(kl.fix_idx, 68 + 16);
	ck_assert_int_eq(mm_mem_read(m, 1, MM_SPACE_KERNEL, kl.address + 100, 8, buf, &err), 0);
	ck_assert_str_eq(buf, "highmem!");
	/* kmap_local is invisible to page_address() */
	ck_assert_uint_eq(mm_page_address(m, pfn), va);
	ck_assert_int_eq(mm_kunmap_local(m, 1, kl.address + 100, false, &kl, &err), 0);
	ck_assert(!walk(1, 0xfffbb000u - 16 * 4096).ok);
}
END_TEST

/* ---- kmap_local / kmap_atomic ------------------------------------------------------ */

START_TEST(kmap_local_stack_lifo)
{
	struct mm_error err = {0};
	struct mm_kmap_local a, b, x;
	struct mm_kmap_local_stack st;
	struct mm_cpu_info c, d;
	uint32_t p, q, low;

	boot("1G", _i, 1, "");
	p = alloc_high();
	q = alloc_high();
	low = alloc("GFP_KERNEL", 0);
	ck_assert_int_eq(mm_kmap_local(m, 0, low, false, &x, &err), 0);
	ck_assert_uint_eq(x.address, 0xc0000000u + (low << 12));
	ck_assert_int_eq(x.idx, -1);
	ck_assert_int_eq(mm_kmap_local(m, 0, p, false, &a, &err), 0);
	ck_assert_int_eq(mm_kmap_local(m, 0, q, false, &b, &err), 0);
	ck_assert_uint_eq(a.address, 0xfffbb000u);
	ck_assert_uint_eq(b.address, 0xfffba000u);
	ck_assert_int_eq(b.idx, 1);
	ck_assert_uint_eq(walk(0, b.address).phys, (uint64_t)q << 12);
	ck_assert_int_eq(mm_get_kmap_local(m, 0, &st, &err), 0);
	ck_assert_uint_eq(st.depth, 2);
	ck_assert_uint_eq(st.slots[0].pfn, p);
	/* not the top: refused with the kernel's warning, nothing changes */
	ck_assert_int_eq(mm_kunmap_local(m, 0, a.address, false, &x, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "kunmap_local_indexed"));
	ck_assert_uint_eq(walk(0, a.address).phys, (uint64_t)p << 12);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c, &err), 0);
	ck_assert_int_eq(mm_kunmap_local(m, 0, b.address, false, &x, &err), 0);
	ck_assert_uint_eq(x.pfn, q);
	ck_assert_int_eq(mm_get_cpu(m, 0, &d, &err), 0);
	ck_assert_uint_eq(d.tlb_invlpgs, c.tlb_invlpgs + 1);
	ck_assert(!walk(0, b.address).ok);
	ck_assert_int_eq(mm_kunmap_local(m, 0, a.address, false, &x, &err), 0);
	ck_assert_int_eq(mm_kunmap_local(m, 0, a.address, false, &x, &err), -ENOENT);
	/* a direct-map address undoes nothing; anything else is refused */
	ck_assert_int_eq(mm_kunmap_local(m, 0, 0xc0000000u + (low << 12), false, &x, &err), 0);
	ck_assert_int_eq(mm_kunmap_local(m, 0, 0x1000, false, &x, &err), -EINVAL);
	ck_assert_int_eq(mm_kunmap_local(m, 0, 0xfffbb000u, false, &x, &err), -ENOENT);
	ck_assert_int_eq(mm_kmap_local(m, 1, p, false, &x, &err), -EINVAL); /* no CPU 1 */
}
END_TEST

START_TEST(kmap_local_overflow)
{
	struct mm_error err = {0};
	struct mm_kmap_local x;
	uint32_t p = 0;
	unsigned int i;

	boot("1G", _i, 1, "");
	p = alloc_high();
	for (i = 0; i < 16; i++) {
		ck_assert_int_eq(mm_kmap_local(m, 0, p, false, &x, &err), 0);
		ck_assert_uint_eq(x.address, 0xfffbb000u - i * 4096);
	}
	ck_assert_int_eq(mm_kmap_local(m, 0, p, false, &x, &err), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(err.msg, "KM_MAX_IDX"));
	for (i = 16; i-- > 0;)
		ck_assert_int_eq(mm_kunmap_local(m, 0, 0xfffbb000u - i * 4096, false, &x, &err), 0);
}
END_TEST

START_TEST(kmap_atomic_context)
{
	struct mm_error err = {0};
	struct mm_kmap_local a, x;
	struct mm_page_alloc pa;
	struct mm_kmap k;
	mm_gfp_t gfp;
	uint32_t p, q, l;

	boot("1G", _i, 2, "");
	p = alloc_high();
	q = alloc_high();
	l = alloc("GFP_KERNEL", 0);
	ck_assert_int_eq(mm_kmap_local(m, 0, p, true, &a, &err), 0);
	ck_assert(a.atomic);
	ck_assert_int_eq(mm_kmap(m, 0, q, &k, &err), -EDEADLK);
	ck_assert_ptr_nonnull(strstr(err.msg, "scheduling while atomic"));
	ck_assert_int_eq(mm_kmap(m, 0, l, &k, &err), -EDEADLK); /* might_sleep() even for lowmem */
	ck_assert_int_eq(mm_kmap(m, 1, q, &k, &err), 0);	/* the other CPU may sleep */
	ck_assert_int_eq(mm_gfp_parse("GFP_KERNEL", &gfp, &err), 0);
	ck_assert_int_eq(mm_alloc_pages(m, 0, gfp, 0, &pa, &err), -EDEADLK);
	ck_assert_int_eq(mm_gfp_parse("GFP_ATOMIC", &gfp, &err), 0);
	ck_assert_int_eq(mm_alloc_pages(m, 0, gfp, 0, &pa, &err), 0);
	ck_assert_int_eq(mm_kunmap_local(m, 0, a.address, false, &x, &err), -EINVAL);
	ck_assert_int_eq(mm_kunmap_local(m, 0, a.address, true, &x, &err), 0);
	ck_assert_int_eq(mm_kmap(m, 0, q, &k, &err), 0);
	/* a lowmem kmap_atomic takes no slot but still makes the CPU atomic */
	ck_assert_int_eq(mm_kmap_local(m, 1, l, true, &x, &err), 0);
	ck_assert_int_eq(x.idx, -1);
	ck_assert_int_eq(mm_kmap(m, 1, q, &k, &err), -EDEADLK);
	ck_assert_int_eq(mm_kunmap_local(m, 1, x.address, true, &x, &err), 0);
	ck_assert_int_eq(mm_kunmap_local(m, 1, 0xc0000000u + (l << 12), true, &x, &err), -EINVAL);
	ck_assert_int_eq(mm_kmap(m, 1, q, &k, &err), 0);
}
END_TEST

START_TEST(bad_input)
{
	struct mm_error err = {0};
	struct mm_kmap_local x;
	struct mm_kmap k;
	uint32_t p;

	boot("1G", _i, 1, "");
	p = alloc_high();
	ck_assert_int_eq(mm_kmap(m, 0, mm_max_pfn(m), &k, &err), -EINVAL);
	ck_assert_int_eq(mm_kmap(m, 3, p, &k, &err), -EINVAL);
	ck_assert_int_eq(mm_kmap(m, 0, p + 1, &k, &err), -EINVAL); /* free */
	ck_assert_ptr_nonnull(strstr(err.msg, "free"));
	ck_assert_int_eq(mm_kunmap(m, 0, p, &k, &err), -ENOENT);
	ck_assert_int_eq(mm_kmap_local(m, 0, p + 1, false, &x, &err), -EINVAL);
	ck_assert_int_eq(mm_kmap_local(m, 0, mm_max_pfn(m) + 5, true, &x, &err), -EINVAL);
}
END_TEST

/* ---- the checker ------------------------------------------------------------------- */

/*
 * mm_check() names exactly the invariant @name (mm_report.invariants), and its first message
 * says @what: one corruption, one invariant, as tests/mmcore/test-check.c does for the
 * allocator's (mmdebug.h); these need a machine with highmem, so they live here.
 */
static void expect_violation_of(const char *name, const char *what)
{
	struct mm_report rep = {0};
	char msgs[4][MM_ERR_MAX];
	unsigned int i, n = 0;

	rep.max = 4;
	rep.msgs = msgs;
	ck_assert_int_eq(mm_check(m, &rep), -EFAULT);
	for (i = 0; i < mm_nr_invariants(); i++)
		if (rep.invariants & (1ull << i)) {
			n++;
			ck_assert_msg(!strcmp(mm_invariant_name(i), name), "%s violated, not %s",
				      mm_invariant_name(i), name);
		}
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(strstr(msgs[0], what) != NULL, "expected '%s', got '%s'", what, msgs[0]);
}

START_TEST(checker_pkmap_count_without_pte)
{
	boot("1G", _i, 1, "");
	m->hm.pkmap_count[9] = 2;
	expect_violation_of("pkmap-count", "pkmap slot 9: count 2 but its PTE");
	m->hm.pkmap_count[9] = 0;
}
END_TEST

START_TEST(checker_pkmap_negative)
{
	boot("1G", _i, 1, "");
	m->hm.pkmap_count[3] = -1;
	expect_violation_of("pkmap-count", "pkmap_count[3] is -1");
	m->hm.pkmap_count[3] = 0;
}
END_TEST

START_TEST(checker_page_address_wrong)
{
	uint32_t pfn;
	int slot;

	boot("1G", _i, 1, "");
	pfn = alloc_high();
	slot = kmap_ok(pfn).slot;
	m->hm.page_address_maps[slot].virtual += 4096;
	expect_violation_of("page-address-hash", "not PKMAP_ADDR");
	m->hm.page_address_maps[slot].virtual -= 4096;
}
END_TEST

START_TEST(checker_page_address_wrong_bucket)
{
	uint32_t pfn;
	int slot;

	boot("1G", _i, 1, "");
	pfn = alloc_high();
	slot = kmap_ok(pfn).slot;
	m->hm.page_address_maps[slot].page = pfn + 1;
	expect_violation_of("page-address-hash", "not its own");
	m->hm.page_address_maps[slot].page = pfn;
}
END_TEST

START_TEST(checker_last_pkmap_nr)
{
	unsigned int keep;

	boot("1G", _i, 1, "");
	keep = m->hm.last_pkmap_nr;
	m->hm.last_pkmap_nr = last_pkmap_of(_i);
	expect_violation_of("pkmap-cursor", "last_pkmap_nr");
	m->hm.last_pkmap_nr = keep;
}
END_TEST

START_TEST(checker_kmap_local_pte)
{
	struct mm_error err = {0};
	struct mm_kmap_local x;
	uint32_t p;

	boot("1G", _i, 1, "");
	p = alloc_high();
	ck_assert_int_eq(mm_kmap_local(m, 0, p, false, &x, &err), 0);
	m->hm.kmap_ctrl[0].pteval[0] ^= 0x1000;
	expect_violation_of("kmap-local-stack", "CPU 0 slot 0 PTE");
	m->hm.kmap_ctrl[0].pteval[0] ^= 0x1000;
	m->hm.kmap_ctrl[0].idx = 0; /* a mapping above the stack */
	expect_violation_of("kmap-local-stack", "above the stack");
	m->hm.kmap_ctrl[0].idx = 1;
}
END_TEST

START_TEST(checker_atomic_depth)
{
	struct mm_error err = {0};
	struct mm_kmap_local x;
	uint32_t p;

	boot("1G", _i, 1, "");
	p = alloc_high();
	ck_assert_int_eq(mm_kmap_local(m, 0, p, true, &x, &err), 0);
	m->hm.atomic_depth[0] = 0;
	expect_violation_of("kmap-atomic-depth", "atomic depth");
	m->hm.atomic_depth[0] = 1;
}
END_TEST

/* Freeing a kmapped page is refused; done behind the API's back, the checker sees it. */
/* A command in atomic context: kmap and sleeping allocations refused, the rest runs. */
START_TEST(preempt_disable_refuses_sleeping)
{
	struct mm_error err = {0};
	struct mm_page_alloc pa;
	struct mm_kmap k;
	mm_gfp_t gfp;
	uint32_t p;

	boot("1G", _i, 2, "");
	p = alloc_high();
	ck_assert_int_eq(mm_preempt_disable(m, 2, &err), -EINVAL);
	ck_assert_int_eq(mm_preempt_disable(m, 1, &err), 0);
	ck_assert_int_eq(mm_kmap(m, 1, p, &k, &err), -EDEADLK);
	ck_assert_ptr_nonnull(strstr(err.msg, "scheduling while atomic"));
	ck_assert_int_eq(mm_gfp_parse("GFP_KERNEL", &gfp, &err), 0);
	ck_assert_int_eq(mm_alloc_pages(m, 1, gfp, 0, &pa, &err), -EDEADLK);
	ck_assert_int_eq(mm_kmap(m, 0, p, &k, &err), 0); /* CPU 0 may sleep */
	expect_violation_of("kmap-atomic-depth", "preempt_count 1 left");
	mm_preempt_enable(m, 1);
	ck_assert_int_eq(mm_kmap(m, 1, p, &k, &err), 0);
	ck_assert_int_eq(mm_alloc_pages(m, 1, gfp, 0, &pa, &err), 0);
}
END_TEST

START_TEST(checker_mapped_page_freed)
{
	struct mm_error err = {0};
	struct mm_kmap_local kl;
	struct mm_kmap k;
	uint32_t p, q;
	int rc;

	boot("1G", _i, 1, "");
	p = alloc_high();
	q = alloc_high();
	kmap_ok(p);
	ck_assert_int_eq(mm_free_pages(m, 0, p, 0, NULL, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "still mapped"));
	ck_assert_int_eq(mm_put_page(m, 0, p, &rc, NULL, &err), -EBUSY);
	ck_assert_int_eq(mm_kmap_local(m, 0, q, false, &kl, &err), 0);
	ck_assert_int_eq(mm_free_pages(m, 0, q, 0, NULL, &err), -EBUSY);
	ck_assert_int_eq(mm_kunmap_local(m, 0, kl.address, false, &kl, &err), 0);
	ck_assert_int_eq(mm_free_pages(m, 0, q, 0, NULL, &err), 0);
	ck_assert_int_eq(mm_check(m, NULL), 0);
	__free_pages(m, p, 0, 0); /* a use after free, as a careless kernel caller does */
	expect_violation_of("kmapped-not-free", "which is free");
	(void)k;
	mm_machine_destroy(m); /* beyond repair: no teardown check */
	m = NULL;
}
END_TEST

/* (g): a cpu_entry_area entry changed behind the boot's back (the TSS made read-only). */
START_TEST(checker_cpu_entry_area)
{
	struct mm_layout l;
	struct mm_translation t;
	uint64_t pte;
	pteval_t raw;

	boot("1G", _i, 2, "");
	mm_get_layout(m, &l);
	t = walk(1, l.cpu_entry_area_base + 4096 + 43 * 4096 + 5 * 4096); /* CPU 1's TSS */
	ck_assert(t.ok && t.rw);
	pte = t.levels[t.nr_levels - 1].entry_addr;
	raw = pt_read(m, pte);
	pt_write(m, pte, raw & ~(pteval_t)0x2); /* RW */
	expect_violation_of("cpu-entry-area", "cpu_entry_area: CPU 1 page 5");
	pt_write(m, pte, raw);
}
END_TEST

/*
 * (g) as on a machine of boot model 1 or 2, whose boot left the cpu_entry_area empty: a wholly
 * empty area passes; one entry back (the IDT alias) is a partial fill and does not.
 */
START_TEST(checker_cpu_entry_area_empty)
{
	struct mm_layout l;
	uint64_t pte, idt;
	pteval_t idt_raw;
	unsigned int i;

	boot("1G", _i, 2, "");
	mm_get_layout(m, &l);
	idt = kernel_pte_addr(m, l.cpu_entry_area_base);
	ck_assert_uint_ne(idt, 0);
	idt_raw = pt_read(m, idt);
	ck_assert(idt_raw & 1);
	for (i = 0; i <= l.cpu_entry_area_pages; i++) {
		pte = kernel_pte_addr(m, l.cpu_entry_area_base + i * 4096u);
		if (pte)
			pt_write(m, pte, 0);
	}
	ck_assert_int_eq(mm_check(m, NULL), 0);
	pt_write(m, idt, idt_raw);
	expect_violation_of("cpu-entry-area", "cpu_entry_area: CPU 0 page 0");
	pt_write(m, idt, 0); /* empty again, for the teardown's check */
}
END_TEST

/* ---- the fixmap and cpu_entry_area of a fresh machine ------------------------------ */

/* Part 2 lines at and above @from, as text. */
static char *top_lines(const char *text, uint32_t from)
{
	const char *p = strstr(text, "## Part 2");
	size_t cap = 8192, len = 0;
	char *out = calloc(1, cap);

	ck_assert_ptr_nonnull(p);
	p = strchr(p, '\n') + 1;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (strtoul(p, NULL, 16) >= from && strncmp(p, "0x", 2) == 0) {
			ck_assert_uint_lt(len + n, cap);
			memcpy(out + len, p, n);
			len += n;
		}
		p += n;
	}
	return out;
}

/* Part 1 lines of the top-level entries at and above @from: the PTE page each uses (from the
 * pgt_buf, memblock or .bss, as on the real kernel) and how many entries it holds. */
static char *top_entries(const char *text, uint32_t from, bool pae)
{
	const char *p = strstr(text, "## Part 1"), *end = strstr(text, "## Part 2");
	size_t cap = 8192, len = 0;
	char *out = calloc(1, cap);

	ck_assert_ptr_nonnull(p);
	p = strchr(p, '\n') + 1;
	while (p < end) {
		const char *nl = strchr(p, '\n');
		unsigned long idx = strtoul(p, NULL, 10);
		uint32_t va = pae ? 0xc0000000u + (uint32_t)(idx << 21) : (uint32_t)(idx << 22);
		const char *pt = strstr(p, "pt_phys");

		if (va >= from && pt && pt < nl) {
			int n = snprintf(out + len, cap - len, "%lu %.*s\n", idx, (int)(nl - pt),
					 pt);

			len += (size_t)n;
		}
		p = nl + 1;
	}
	return out;
}

START_TEST(oracle_fixmap_and_cpu_entry_area)
{
	static const char *const dirs[] = {
		"686-1024M",	 "686-128M",	  "686-2048M",
		"686-4096M",	 "686-512M",	  "686-512M-highmem256M",
		"686-pae-1024M", "686-pae-8192M",
	};
	unsigned int d, done = 0;

	for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char dir[1024], *text, *real, *mine, *re, *me;
		struct mm_config cfg;
		struct mm_error err = {0};
		struct mm_layout l;
		struct mm_buf b = {0};

		snprintf(dir, sizeof(dir), "%s/%s", oracle_root(), dirs[d]);
		text = oracle_read(dir, "page_tables_kernel");
		if (!text)
			continue;
		ck_assert(oracle_config(dir, &cfg));
		ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "%s: %s", dir, err.msg);
		mm_get_layout(m, &l);
		ck_assert_int_eq(mm_page_tables_render(m, &b, &err), 0);
		real = top_lines(text, l.cpu_entry_area_base);
		mine = top_lines(b.data, l.cpu_entry_area_base);
		ck_assert_msg(!strcmp(real, mine), "%s:\nreal:\n%s\nmine:\n%s", dir, real, mine);
		re = top_entries(text, l.pkmap_base, cfg.pae);
		me = top_entries(b.data, l.pkmap_base, cfg.pae);
		ck_assert_msg(!strcmp(re, me), "%s:\nreal:\n%s\nmine:\n%s", dir, re, me);
		free(real);
		free(mine);
		free(re);
		free(me);
		free(text);
		mm_buf_free(&b);
		check_teardown();
		done++;
	}
	ck_assert_msg(done, "no oracle fixtures under %s (set MM32_ORACLE_DIR)", oracle_root());
}
END_TEST

/* Two CPUs: two cpu_entry_areas, each aliasing its own CPU's per-CPU pages. */
START_TEST(cpu_entry_area_per_cpu)
{
	struct mm_layout l;
	struct mm_translation t0, t1, idt;
	uint32_t cea0, cea1;

	boot("1G", _i, 2, "");
	mm_get_layout(m, &l);
	cea0 = l.cpu_entry_area_base + 4096;
	cea1 = cea0 + 43 * 4096;
	idt = walk(0, l.cpu_entry_area_base);
	ck_assert(idt.ok && !idt.rw && idt.global);
	t0 = walk(0, cea0); /* GDT */
	t1 = walk(1, cea1);
	ck_assert(t0.ok && t0.rw && t0.global);
	ck_assert(t1.ok && t1.rw);
	ck_assert_uint_eq(t1.phys, t0.phys + 135168);
	ck_assert(!walk(0, cea1 + 4096).ok);	  /* guard page */
	ck_assert(walk(1, cea1 + 2 * 4096).ok);	  /* entry stack */
	ck_assert(walk(1, cea1 + 10 * 4096).ok);  /* debug store */
	ck_assert(!walk(1, cea1 + 11 * 4096).ok); /* PROT_NONE debug buffers */
	ck_assert(!walk(1, cea1 + 43 * 4096).ok); /* no third CPU */
}
END_TEST

/* The pkmap and kmap_local state survives a snapshot. */
static int buf_write(void *ctx, const void *data, size_t len)
{
	struct mm_buf *b = ctx;

	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		char *p = realloc(b->data, cap);

		if (!p)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static size_t rpos;
static int buf_read(void *ctx, void *data, size_t len)
{
	struct mm_buf *b = ctx;

	if (rpos + len > b->len)
		return -1;
	memcpy(data, b->data + rpos, len);
	rpos += len;
	return 0;
}

START_TEST(snapshot_keeps_kmaps)
{
	struct mm_error err = {0};
	struct mm_buf b = {0};
	struct mm_machine *c = NULL;
	struct mm_pkmap_info *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
	struct mm_kmap_local_stack s1, s2;
	struct mm_kmap_local kl;
	uint32_t p, q;
	uint64_t pfn;

	boot("1G", _i, 1, "");
	p = alloc_high();
	q = alloc_high();
	kmap_ok(p);
	ck_assert_int_eq(mm_kmap_local(m, 0, q, true, &kl, &err), 0);
	ck_assert_int_eq(mm_snapshot_save(m, buf_write, &b, &err), 0);
	rpos = 0;
	ck_assert_msg(mm_snapshot_load(buf_read, &b, &c, &err) == 0, "%s", err.msg);
	for (pfn = 0; pfn < mm_ram_pages(m); pfn++)
		if (mm_ram_page_touched(m, pfn))
			ck_assert_int_eq(mm_ram_page_load(c, pfn, mm_ram_page(m, pfn), &err), 0);
	ck_assert_int_eq(mm_get_pkmap(m, x, &err), 0);
	ck_assert_int_eq(mm_get_pkmap(c, y, &err), 0);
	ck_assert_int_eq(memcmp(x, y, sizeof(*x)), 0);
	ck_assert_int_eq(mm_get_kmap_local(m, 0, &s1, &err), 0);
	ck_assert_int_eq(mm_get_kmap_local(c, 0, &s2, &err), 0);
	ck_assert_int_eq(memcmp(&s1, &s2, sizeof(s1)), 0);
	ck_assert_uint_eq(mm_page_address(c, p), mm_page_address(m, p));
	ck_assert_int_eq(mm_check(c, NULL), 0);
	ck_assert_int_eq(mm_kunmap_local(c, 0, kl.address, true, &kl, &err), 0);
	mm_machine_destroy(c);
	mm_buf_free(&b);
	free(x);
	free(y);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("highmem");
	TCase *tc = tcase_create("kmap");
	TCase *tl = tcase_create("kmap_local");
	TCase *tk = tcase_create("checker");
	TCase *tf = tcase_create("fixmap");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_add_checked_fixture(tl, NULL, check_teardown);
	tcase_add_checked_fixture(tk, NULL, check_teardown);
	tcase_add_checked_fixture(tf, NULL, check_teardown);
	tcase_set_timeout(tc, 60);
	tcase_set_timeout(tf, 120);
	tcase_add_loop_test(tc, kmap_lowmem_takes_no_slot, 0, 2);
	tcase_add_loop_test(tc, kmap_highmem_first_slot_is_one, 0, 2);
	tcase_add_loop_test(tc, kmap_every_slot_wrap_and_flush, 0, 2);
	tcase_add_loop_test(tc, kunmap_then_flush_old_address_faults, 0, 2);
	tcase_add_loop_test(tc, bytes_through_every_mapping, 0, 2);
	tcase_add_loop_test(tc, bad_input, 0, 2);
	tcase_add_loop_test(tc, snapshot_keeps_kmaps, 0, 2);
	tcase_add_loop_test(tl, kmap_local_stack_lifo, 0, 2);
	tcase_add_loop_test(tl, kmap_local_overflow, 0, 2);
	tcase_add_loop_test(tl, kmap_atomic_context, 0, 2);
	tcase_add_loop_test(tk, checker_pkmap_count_without_pte, 0, 2);
	tcase_add_loop_test(tk, checker_pkmap_negative, 0, 2);
	tcase_add_loop_test(tk, checker_page_address_wrong, 0, 2);
	tcase_add_loop_test(tk, checker_page_address_wrong_bucket, 0, 2);
	tcase_add_loop_test(tk, checker_last_pkmap_nr, 0, 2);
	tcase_add_loop_test(tk, checker_kmap_local_pte, 0, 2);
	tcase_add_loop_test(tk, checker_atomic_depth, 0, 2);
	tcase_add_loop_test(tk, checker_mapped_page_freed, 0, 2);
	tcase_add_loop_test(tk, checker_cpu_entry_area, 0, 2);
	tcase_add_loop_test(tk, checker_cpu_entry_area_empty, 0, 2);
	tcase_add_loop_test(tk, preempt_disable_refuses_sleeping, 0, 2);
	tcase_add_test(tf, oracle_fixmap_and_cpu_entry_area);
	tcase_add_loop_test(tf, cpu_entry_area_per_cpu, 0, 2);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tl);
	suite_add_tcase(s, tk);
	suite_add_tcase(s, tf);
	return s;
}
