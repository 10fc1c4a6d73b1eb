/* SPDX-License-Identifier: MIT */
/*
 * test-check.c - every invariant of mm_check() broken on purpose, one at a time.
 *
 * Each test boots a clean machine (256 MiB, 686, 2 CPUs: DMA and Normal), checks that it
 * is clean, corrupts exactly one invariant the way a bug in the allocator would (a PG_buddy
 * flag flipped, nr_free bumped, a pfn on two lists, NR_FREE_PAGES out of step, a compound
 * tail pointing at the wrong head, ...) and expects mm_check() to name that invariant and
 * no other, in mm_report.invariants and at the start of its first message. Removing the
 * invariant's row from check.c makes its test fail (see README.md "Invariants"). The
 * vmalloc range's invariants (vmalloc.c) run on 686 (_i = 0) and on PAE (_i = 1).
 *
 * The second case, "preconditions", runs the kernel's VM_BUG_ON_PAGE checks of the buddy
 * primitives (MM_WARN_ON_ONCE, mmdebug.h): after a corruption the call that meets it fails
 * with -EFAULT, names the primitive, and the machine is tainted and refuses every change.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "machine.h"
#include "mmdebug.h"
#include "page_alloc.h"

#include "common.h"

static struct zone *normal(void)
{
	return &m->pgdat.node_zones[ZONE_NORMAL];
}

static void setup(void)
{
	boot("256M", false, 2, "");
	ck_assert_int_eq(mm_check(m, NULL), 0);
}

static void teardown(void)
{
	mm_machine_destroy(m);
	m = NULL;
}

static char msgs[8][MM_ERR_MAX];
static char names[1024];

/* mm_check() on the corrupted machine: the names of the invariants it found violated. */
static const char *violated(void)
{
	struct mm_report rep = {.max = 8, .msgs = msgs};
	size_t off = 0;

	names[0] = '\0';
	ck_assert_int_eq(mm_check(m, &rep), -EFAULT);
	ck_assert_uint_gt(rep.nr, 0);
	for (unsigned int i = 0; i < mm_nr_invariants(); i++)
		if (rep.invariants & (1ull << i))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
						off ? "," : "", mm_invariant_name(i));
	/* the first message names its invariant */
	ck_assert_msg(!strncmp(msgs[0], names, strcspn(names, ",")), "%s: %s", names, msgs[0]);
	return names;
}

static uint32_t alloc(mm_gfp_t gfp, unsigned int order)
{
	struct mm_page_alloc a;
	struct mm_error err = {0};

	ck_assert_msg(mm_alloc_pages(m, 0, gfp, order, &a, &err) == 0, "%s", err.msg);
	return a.pfn;
}

/* Turn [pfn, pfn + 2^order) into a free block on its free list, counters included. */
static void make_free(pfn_t pfn, unsigned int order)
{
	struct zone *z = page_zone(m, pfn);
	unsigned int mt = get_pfnblock_migratetype(z, pfn, pageblock_order(m));
	struct page *p = &m->mem_map[pfn];

	m->pgstate[pfn] &= (uint8_t)~PGS_ALLOC_MASK;
	p->_refcount = 0;
	__SetPageBuddy(p);
	p->private = order;
	p->index = mt;
	pfn_list_add(m->mem_map, &z->free_area[order].free_list[mt], pfn);
	z->free_area[order].nr_free++;
	z->free_area[order].nr_free_mt[mt]++;
	z->vm_stat[NR_FREE_PAGES] += 1L << order;
}

/* Make [pfn, pfn + 2^order) an allocation with one reference. */
static void make_alloc(pfn_t pfn, unsigned int order)
{
	m->pgstate[pfn] = (uint8_t)((m->pgstate[pfn] & ~PGS_ALLOC_MASK) | (order + 1));
	m->mem_map[pfn]._refcount = 1;
}

/* The head of the first non-empty Movable free list of Normal, from order @from down. */
static pfn_t free_head(unsigned int from, unsigned int *order)
{
	for (int o = (int)from; o >= 0; o--) {
		pfn_t pfn = normal()->free_area[o].free_list[MIGRATE_MOVABLE].first;

		if (pfn != PFN_NIL) {
			*order = (unsigned int)o;
			return pfn;
		}
	}
	ck_abort_msg("no free block");
	return PFN_NIL;
}

/* ---- one test per invariant ------------------------------------------------------------- */

START_TEST(zone_spans)
{
	normal()->present_pages = normal()->spanned_pages + 1;
	ck_assert_str_eq(violated(), "zone-spans");
}
END_TEST

START_TEST(zone_watermarks)
{
	normal()->_watermark[WMARK_MIN] = normal()->_watermark[WMARK_LOW] + 1;
	ck_assert_str_eq(violated(), "zone-watermarks");
}
END_TEST

START_TEST(free_list_membership_flag)
{
	unsigned int o;

	__ClearPageBuddy(&m->mem_map[free_head(MAX_ORDER - 1, &o)]); /* PG_buddy flipped */
	ck_assert_str_eq(violated(), "free-list-membership");
}
END_TEST

START_TEST(free_list_membership_order)
{
	unsigned int o;
	pfn_t pfn = free_head(MAX_ORDER - 1, &o);

	m->mem_map[pfn].private = o - 1;
	ck_assert_str_eq(violated(), "free-list-membership");
}
END_TEST

START_TEST(free_list_membership_unlisted)
{
	__SetPageBuddy(&m->mem_map[alloc(GFP_KERNEL, 0)]); /* PageBuddy, on no list */
	ck_assert_str_eq(violated(), "free-list-membership");
}
END_TEST

START_TEST(free_list_membership_loop)
{
	unsigned int o;
	pfn_t last;

	free_head(MAX_ORDER - 1, &o);
	last = normal()->free_area[o].free_list[MIGRATE_MOVABLE].last;
	m->mem_map[last].lru_next = last; /* the list loops on its last block */
	ck_assert_str_eq(violated(), "free-list-membership");
}
END_TEST

/* An order-2 allocation A..A+3 reshaped: A and A+3 order-0 allocations, A+1 an order-1
 * free block, which is misaligned. */
START_TEST(free_block_aligned)
{
	pfn_t a = alloc(GFP_KERNEL, 2);

	make_alloc(a, 0);
	make_alloc(a + 3, 0);
	make_free(a + 1, 1);
	ck_assert_str_eq(violated(), "free-block-aligned");
}
END_TEST

START_TEST(free_block_zone)
{
	unsigned int o;
	pfn_t pfn = free_head(MAX_ORDER - 1, &o);

	set_page_zone(&m->mem_map[pfn + 1], ZONE_DMA);
	ck_assert_str_eq(violated(), "free-block-zone");
}
END_TEST

/* An order-1 allocation freed as two order-0 blocks that never merged. */
START_TEST(buddies_merged)
{
	pfn_t a = alloc(GFP_KERNEL, 1);

	make_free(a, 0);
	make_free(a + 1, 0);
	ck_assert_str_eq(violated(), "buddies-merged");
}
END_TEST

START_TEST(nr_free_pages)
{
	normal()->vm_stat[NR_FREE_PAGES]++; /* NR_FREE_PAGES out of step */
	ck_assert_str_eq(violated(), "nr-free-pages");
}
END_TEST

START_TEST(free_counts)
{
	normal()->free_area[3].nr_free++; /* nr_free bumped */
	ck_assert_str_eq(violated(), "free-counts");
}
END_TEST

START_TEST(free_counts_mt)
{
	normal()->free_area[MAX_ORDER - 1].nr_free_mt[MIGRATE_MOVABLE]--;
	normal()->free_area[MAX_ORDER - 1].nr_free_mt[MIGRATE_UNMOVABLE]++;
	ck_assert_str_eq(violated(), "free-counts");
}
END_TEST

START_TEST(pcp_count)
{
	alloc(GFP_KERNEL, 0); /* fills cpu 0's Unmovable list with a batch */
	ck_assert_int_gt(normal()->pcp[0].count, 0);
	normal()->pcp[0].count++;
	ck_assert_str_eq(violated(), "pcp-count");
}
END_TEST

START_TEST(pcp_page_state)
{
	pfn_t pfn;

	alloc(GFP_KERNEL, 0);
	pfn = normal()->pcp[0].lists[MIGRATE_UNMOVABLE].first;
	ck_assert_uint_ne(pfn, PFN_NIL);
	m->mem_map[pfn]._refcount = 1;
	ck_assert_str_eq(violated(), "pcp-page-state");
}
END_TEST

/* An order-2 allocation A..A+3 reshaped: A an order-1 free block (A, A+1), A+1 also an
 * order-0 free block, A+2 an order-1 allocation. A+1 is on two free lists. */
START_TEST(frame_owned_once_two_lists)
{
	pfn_t a = alloc(GFP_KERNEL, 2);

	make_free(a, 1);
	make_free(a + 1, 0);
	make_alloc(a + 2, 1);
	ck_assert_str_eq(violated(), "frame-owned-once");
}
END_TEST

/* The second page of an order-1 allocation is also a free block. */
START_TEST(frame_owned_once_free_and_allocated)
{
	pfn_t a = alloc(GFP_KERNEL, 1);

	make_free(a + 1, 0);
	ck_assert_str_eq(violated(), "frame-owned-once");
}
END_TEST

START_TEST(frame_accounted)
{
	pfn_t text = (pfn_t)(m->layout.text_start >> PAGE_SHIFT);

	ck_assert(PageReserved(&m->mem_map[text]));
	ClearPageReserved(&m->mem_map[text]); /* neither free, reserved nor allocated */
	ck_assert_str_eq(violated(), "frame-accounted");
}
END_TEST

START_TEST(frame_accounted_reserved_free)
{
	unsigned int o;

	SetPageReserved(&m->mem_map[free_head(MAX_ORDER - 1, &o) + 5]);
	ck_assert_str_eq(violated(), "frame-accounted");
}
END_TEST

START_TEST(alloc_head)
{
	m->mem_map[alloc(GFP_KERNEL, 0)]._refcount = 0;
	ck_assert_str_eq(violated(), "alloc-head");
}
END_TEST

START_TEST(alloc_tail)
{
	m->mem_map[alloc(GFP_KERNEL, 1) + 1]._refcount = 1;
	ck_assert_str_eq(violated(), "alloc-tail");
}
END_TEST

START_TEST(compound_tail_head)
{
	pfn_t a = alloc(GFP_KERNEL | __GFP_COMP, 1), b = alloc(GFP_KERNEL | __GFP_COMP, 1);

	m->mem_map[a + 1].lru_next = b; /* a compound tail pointing at the wrong head */
	ck_assert_str_eq(violated(), "compound-pages");
}
END_TEST

START_TEST(compound_order)
{
	pfn_t a = alloc(GFP_KERNEL | __GFP_COMP, 2);

	m->mem_map[a + 1].index = (m->mem_map[a + 1].index & ~0xffu) | 1u;
	ck_assert_str_eq(violated(), "compound-pages");
}
END_TEST

START_TEST(highatomic_reserve)
{
	normal()->nr_reserved_highatomic += pageblock_nr_pages(m);
	ck_assert_str_eq(violated(), "highatomic-reserve");
}
END_TEST

START_TEST(totalram_pages)
{
	m->pgdat.totalram_pages++;
	ck_assert_str_eq(violated(), "totalram-pages");
}
END_TEST

START_TEST(pgd_user_half_empty)
{
	pt_write(m, m->pt.swapper_pg_dir + 4, 0x1063); /* pgd[1] maps 4 MiB..8 MiB */
	ck_assert_str_eq(violated(), "pgd-user-half-empty");
}
END_TEST

START_TEST(direct_map)
{
	/* the large page of PAGE_OFFSET + 64 MiB sent 4 MiB further */
	uint64_t pde = m->pt.swapper_pg_dir + (uint64_t)((PAGE_OFFSET + (64u << 20)) >> 22) * 4;
	pteval_t e = pt_read(m, pde);

	ck_assert(e & _PAGE_PSE);
	pt_write(m, pde, e + 0x400000);
	ck_assert_str_eq(violated(), "direct-map");
}
END_TEST

/* ---- the vmalloc range (vmalloc.c) ------------------------------------------------------ */

/* _i = 1: the same corruption on a PAE machine (the fixture's machine replaced). */
static void flavour(int pae)
{
	if (!pae)
		return;
	mm_machine_destroy(m);
	boot("256M", true, 2, "");
	ck_assert_int_eq(mm_check(m, NULL), 0);
}

/* A one-page vmalloc area made over the API: its vmap_area. */
static struct vmap_area *vmalloc_area(void)
{
	struct mm_error e = {0};
	uint32_t addr = 0;

	ck_assert_msg(mm_vmalloc(m, 0, 4096, false, NULL, &addr, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(mm_check(m, NULL), 0);
	return (struct vmap_area *)find_vmap_area(m, addr);
}

/* The PTE slot of @va in the kernel's page tables. */
static uint64_t pte_slot(uint32_t va)
{
	pteval_t pmde = pt_read(m, kernel_pmd_entry(m, va));

	ck_assert(pmde & _PAGE_PRESENT);
	ck_assert(!(pmde & _PAGE_PSE));
	return pt_entry_addr(m, pmde, false) +
	       (uint64_t)((va >> PAGE_SHIFT) & (m->cfg.pae ? 511u : 1023u)) * pt_entry_size(m);
}

START_TEST(vmap_areas_tile)
{
	flavour(_i);
	/* the last page of the free space below VMALLOC_START in no area */
	m->vmap.free[0].va_end -= PAGE_SIZE;
	ck_assert_str_eq(violated(), "vmap-areas-tile");
}
END_TEST

START_TEST(vmap_areas_merged)
{
	struct vmap_state *v;

	flavour(_i); /* replaces m: v after it */
	v = &m->vmap;
	/* the first free range split into two that touch */
	if (v->cap_free < v->nr_free + 1) {
		v->free = realloc(v->free, (v->nr_free + 1) * sizeof(*v->free));
		v->cap_free = v->nr_free + 1;
	}
	memmove(&v->free[1], &v->free[0], v->nr_free * sizeof(*v->free));
	v->free[0].va_end = v->free[0].va_start + PAGE_SIZE;
	v->free[1].va_start = v->free[0].va_end;
	v->nr_free++;
	ck_assert_str_eq(violated(), "vmap-areas-merged");
}
END_TEST

START_TEST(vmap_area_vm)
{
	flavour(_i);
	vmalloc_area()->vm.size += PAGE_SIZE;
	ck_assert_str_eq(violated(), "vmap-area-vm");
}
END_TEST

START_TEST(vmalloc_ptes_guard)
{
	struct vmap_area *a;
	uint64_t slot;

	flavour(_i);
	a = vmalloc_area();
	slot = pte_slot((uint32_t)a->va_start);
	/* the guard page mapped behind vmalloc's back */
	pt_write(m, slot + pt_entry_size(m), pt_read(m, slot));
	ck_assert_str_eq(violated(), "vmalloc-ptes");
}
END_TEST

START_TEST(vmalloc_ptes_frame)
{
	struct vmap_area *a;
	uint64_t slot;

	flavour(_i);
	a = vmalloc_area();
	slot = pte_slot((uint32_t)a->va_start);
	pt_write(m, slot, pt_read(m, slot) + PAGE_SIZE); /* the next frame */
	ck_assert_str_eq(violated(), "vmalloc-ptes");
}
END_TEST

START_TEST(vmalloc_ptes_large)
{
	uint64_t pmd, pmde;

	flavour(_i);
	pmd = m->cfg.pae ? (2u << 20) : (4u << 20);
	/* a large entry in the range that no ioremap made */
	pmde = kernel_pmd_entry(m, (uint32_t)((m->layout.vmalloc_end - (16u << 20)) & ~(pmd - 1)));
	ck_assert_uint_eq(pt_read(m, pmde), 0);
	pt_write(m, pmde, 0x2000000 | 0xe3);
	ck_assert_str_eq(violated(), "vmalloc-ptes");
}
END_TEST

START_TEST(vmalloc_pages_owned_page)
{
	flavour(_i);
	/* a vmalloc'd page that free_pages would take */
	m->pgstate[vmalloc_area()->vm.pages[0]] &= (uint8_t)~PGS_KERNEL;
	ck_assert_str_eq(violated(), "vmalloc-pages-owned");
}
END_TEST

START_TEST(vmalloc_pages_owned_table)
{
	struct vmap_area *a;

	flavour(_i);
	a = vmalloc_area();
	m->pgstate[pte_slot((uint32_t)a->va_start) >> PAGE_SHIFT] &= (uint8_t)~PGS_KERNEL;
	ck_assert_str_eq(violated(), "vmalloc-pages-owned");
}
END_TEST

START_TEST(vmalloc_counters)
{
	flavour(_i);
	m->vmap.nr_vmalloc_pages++;
	ck_assert_str_eq(violated(), "vmalloc-counters");
	m->vmap.nr_vmalloc_pages--;
	m->vmap.vmap_lazy_nr++;
	ck_assert_str_eq(violated(), "vmalloc-counters");
}
END_TEST

START_TEST(vmalloc_page_array)
{
	struct vmap_area *a;
	struct mm_error e = {0};
	uint32_t arr, big = 0;

	flavour(_i);
	a = vmalloc_area();
	arr = a->vm.pages_area; /* kmalloc-8 */
	ck_assert_uint_ne(arr, 0);
	a->vm.pages_area = 0; /* no array */
	ck_assert_str_eq(violated(), "vmalloc-page-array");
	a->vm.pages_area = arr + 8; /* a free object of kmalloc-8 beside it */
	ck_assert_str_eq(violated(), "vmalloc-page-array");
	a->vm.pages_area = arr;
	ck_assert_int_eq(mm_check(m, NULL), 0);
	/* over a page: the array's own area must be there, of its size */
	ck_assert_int_eq(mm_vmalloc(m, 0, 1025 * 4096ull, false, NULL, &big, &e), 0);
	a = (struct vmap_area *)find_vmap_area(m, big);
	a->vm.pages_area = arr;
	ck_assert_str_eq(violated(), "vmalloc-page-array");
}
END_TEST

/* Before the buddy phase only the page tables are checked, and a clean machine passes. */
START_TEST(early_phase)
{
	struct mm_config cfg;
	struct mm_error err = {0};
	struct mm_machine *e;
	struct mm_report rep = {0};

	mm_config_init(&cfg, false);
	cfg.mem = 256ull << 20;
	cfg.stop_after = MM_PHASE_FINAL_PAGE_TABLES;
	ck_assert_int_eq(mm_machine_create(&cfg, &e, &err), 0);
	ck_assert_int_eq(mm_check(e, &rep), 0);
	pt_write(e, e->pt.swapper_pg_dir + 4, 0x1063);
	ck_assert_int_eq(mm_check(e, &rep), -EFAULT);
	ck_assert_uint_eq(rep.nr, 1);
	mm_machine_destroy(e);
}
END_TEST

START_TEST(names_are_unique)
{
	ck_assert_uint_ge(mm_nr_invariants(), 25);
	ck_assert_ptr_null(mm_invariant_name(mm_nr_invariants()));
	for (unsigned int i = 0; i < mm_nr_invariants(); i++)
		for (unsigned int j = 0; j < i; j++)
			ck_assert_str_ne(mm_invariant_name(i), mm_invariant_name(j));
}
END_TEST

/* ---- preconditions: MM_WARN_ON_ONCE ------------------------------------------------------ */

static struct mm_error err;

/* The call failed with -EFAULT naming @what, and the machine is tainted for good. */
static void expect_warning(int r, const char *what)
{
	struct mm_page_alloc a;
	struct mm_buf log = {0};

	ck_assert_msg(r == -EFAULT, "%d: %s / %s", r, err.msg, m->diag);
	ck_assert_msg(strstr(err.msg, what), "'%s' does not name %s", err.msg, what);
	ck_assert(mm_machine_tainted(m));
	ck_assert_int_eq(mm_alloc_pages(m, 0, GFP_KERNEL, 0, &a, &err), -EFAULT);
	ck_assert_msg(strstr(err.msg, "tainted") && strstr(err.msg, what), "%s", err.msg);
	ck_assert_int_eq(mm_dmesg_render(m, &log, &err), 0);
	ck_assert_msg(strstr(log.data, "WARNING: CPU: 0 PID: 1 at "), "no WARNING in dmesg");
	mm_buf_free(&log);
}

/* The block an order-@order Movable allocation will split: the head of the smallest
 * non-empty Movable list of Normal from @order up; *@co is its order. */
static pfn_t next_block(unsigned int order, unsigned int *co)
{
	for (*co = order; *co < MAX_ORDER; (*co)++) {
		pfn_t pfn = normal()->free_area[*co].free_list[MIGRATE_MOVABLE].first;

		if (pfn != PFN_NIL)
			return pfn;
	}
	ck_abort_msg("no Movable block");
	return PFN_NIL;
}

static int try_alloc(mm_gfp_t gfp, unsigned int order)
{
	struct mm_page_alloc a;

	return mm_alloc_pages(m, 0, gfp, order, &a, &err);
}

START_TEST(del_page_from_free_list_not_buddy)
{
	unsigned int co;

	__ClearPageBuddy(&m->mem_map[next_block(8, &co)]);
	expect_warning(try_alloc(GFP_HIGHUSER_MOVABLE, 8),
		       "del_page_from_free_list: VM_BUG_ON_PAGE(!PageBuddy(page)");
}
END_TEST

START_TEST(del_page_from_free_list_order)
{
	unsigned int co;
	pfn_t pfn = next_block(8, &co);

	m->mem_map[pfn].private = co - 1;
	expect_warning(try_alloc(GFP_HIGHUSER_MOVABLE, 8),
		       "del_page_from_free_list: VM_BUG_ON_PAGE(!PageBuddy(page)");
}
END_TEST

START_TEST(expand_page_type)
{
	unsigned int order = 9, co;
	pfn_t pfn;

	/* empty the order-9 list: the next order-9 request splits an order-10 block */
	while (normal()->free_area[order].free_list[MIGRATE_MOVABLE].first != PFN_NIL)
		alloc(GFP_HIGHUSER_MOVABLE, order);
	pfn = next_block(order, &co);
	ck_assert_uint_gt(co, order);
	m->mem_map[pfn + (1u << (co - 1))]._mapcount = 0; /* the first upper half, mapped */
	expect_warning(try_alloc(GFP_HIGHUSER_MOVABLE, order),
		       "VM_BUG_ON_PAGE(!PageType(page, 0))");
}
END_TEST

/* The zone ends in the middle of the block being split (a corrupted span). */
START_TEST(expand_bad_range)
{
	unsigned int order = 9, co;
	pfn_t pfn;

	while (normal()->free_area[order].free_list[MIGRATE_MOVABLE].first != PFN_NIL)
		alloc(GFP_HIGHUSER_MOVABLE, order);
	pfn = next_block(order, &co);
	ck_assert_uint_eq(co, order + 1);
	normal()->spanned_pages = pfn + (1u << order) - normal()->zone_start_pfn;
	expect_warning(try_alloc(GFP_HIGHUSER_MOVABLE, order), "bad_range(zone, &page[size])");
}
END_TEST

/* A page on a pcp list that got mapped cannot become PageBuddy. */
START_TEST(free_one_page_page_type)
{
	pfn_t pfn;

	ck_assert_int_eq(mm_drain_all_pages(m, &err), 0);
	pfn = alloc(GFP_KERNEL, 0);
	ck_assert_int_eq(mm_free_pages(m, 0, pfn, 0, NULL, &err), 0);
	m->mem_map[pfn]._mapcount = 0;
	expect_warning(mm_drain_all_pages(m, &err), "VM_BUG_ON_PAGE(!PageType(page, 0))");
}
END_TEST

START_TEST(check_new_pages_mapping)
{
	unsigned int co;

	m->mem_map[next_block(8, &co)].mapping = 0x1234;
	expect_warning(try_alloc(GFP_HIGHUSER_MOVABLE, 8), "non-NULL mapping");
}
END_TEST

START_TEST(set_page_refcounted)
{
	pfn_t pfn;

	alloc(GFP_KERNEL, 0);
	pfn = normal()->pcp[0].lists[MIGRATE_UNMOVABLE].first;
	ck_assert_uint_ne(pfn, PFN_NIL);
	m->mem_map[pfn]._refcount = 1;
	/* checked when the page leaves the pcp list only with CONFIG_DEBUG_VM */
	expect_warning(try_alloc(GFP_KERNEL, 0),
		       MM_DEBUG_CHECKS ? "nonzero _refcount" : "set_page_refcounted");
}
END_TEST

START_TEST(free_one_page_flags)
{
	pfn_t pfn;

	ck_assert_int_eq(mm_drain_all_pages(m, &err), 0); /* the boot filled the lists */
	pfn = alloc(GFP_KERNEL, 0);
	ck_assert_int_eq(mm_free_pages(m, 0, pfn, 0, NULL, &err), 0); /* on cpu 0's list */
	ck_assert_uint_eq(m->pgstate[pfn] & PGS_PCP, PGS_PCP);
	SetPageFlag(&m->mem_map[pfn], PG_dirty);
	expect_warning(mm_drain_all_pages(m, &err), "PAGE_FLAGS_CHECK_AT_PREP");
}
END_TEST

/* An order-1 allocation whose second page claims to head an order-1 block of its own. */
START_TEST(free_one_page_aligned)
{
	pfn_t a = alloc(GFP_KERNEL, 1);
	int r;

	make_alloc(a + 1, 1);
	r = mm_free_pages(m, 0, a + 1, 1, NULL, &err); /* to the pcp list, or through it */
	if (r == 0)
		r = mm_drain_all_pages(m, &err);
	expect_warning(r, "VM_BUG_ON_PAGE(pfn & ((1 << order) - 1))");
}
END_TEST

/* A Normal page found on DMA's pcp list goes back to DMA's free lists. */
START_TEST(free_one_page_bad_range)
{
	struct zone *dma = &m->pgdat.node_zones[ZONE_DMA];
	pfn_t pfn;

	ck_assert_int_eq(mm_drain_all_pages(m, &err), 0);
	alloc(GFP_KERNEL, 0);
	pfn = normal()->pcp[0].lists[MIGRATE_UNMOVABLE].first;
	ck_assert_uint_ne(pfn, PFN_NIL);
	pfn_list_del(m->mem_map, &normal()->pcp[0].lists[MIGRATE_UNMOVABLE], pfn);
	normal()->pcp[0].count--;
	pfn_list_add(m->mem_map, &dma->pcp[0].lists[MIGRATE_UNMOVABLE], pfn);
	dma->pcp[0].count++;
	expect_warning(mm_drain_all_pages(m, &err), "bad_range(zone, page)");
}
END_TEST

START_TEST(free_pages_prepare_flags)
{
	pfn_t pfn = alloc(GFP_KERNEL, 0);

	SetPageFlag(&m->mem_map[pfn], PG_lru);
	expect_warning(mm_free_pages(m, 0, pfn, 0, NULL, &err), "PAGE_FLAGS_CHECK_AT_FREE");
}
END_TEST

START_TEST(free_pages_prepare_mapping)
{
	pfn_t pfn = alloc(GFP_KERNEL, 0);

	m->mem_map[pfn].mapping = 0x1234;
	expect_warning(mm_free_pages(m, 0, pfn, 0, NULL, &err), "non-NULL mapping");
}
END_TEST

START_TEST(free_pages_prepare_compound_head)
{
	pfn_t a = alloc(GFP_KERNEL | __GFP_COMP, 2);

	m->mem_map[a + 2].lru_next = a + 1;
	expect_warning(mm_free_pages(m, 0, a, 2, NULL, &err), "corrupted compound_head");
}
END_TEST

START_TEST(free_pages_prepare_tail_mapping)
{
	pfn_t a = alloc(GFP_KERNEL | __GFP_COMP, 2);

	m->mem_map[a + 3].mapping = 0;
	expect_warning(mm_free_pages(m, 0, a, 2, NULL, &err), "corrupted mapping in tail page");
}
END_TEST

/* Only the first warning is the diagnosis; the machine stays tainted. */
START_TEST(warn_once)
{
	pfn_t a = alloc(GFP_KERNEL, 0), b = alloc(GFP_KERNEL, 0);

	SetPageFlag(&m->mem_map[a], PG_lru);
	m->mem_map[b].mapping = 0x1234;
	expect_warning(mm_free_pages(m, 0, a, 0, NULL, &err), "PAGE_FLAGS_CHECK_AT_FREE");
	expect_warning(mm_free_pages(m, 0, b, 0, NULL, &err), "PAGE_FLAGS_CHECK_AT_FREE");
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("check");
	TCase *tc = tcase_create("invariants");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, zone_spans);
	tcase_add_test(tc, zone_watermarks);
	tcase_add_test(tc, free_list_membership_flag);
	tcase_add_test(tc, free_list_membership_order);
	tcase_add_test(tc, free_list_membership_unlisted);
	tcase_add_test(tc, free_list_membership_loop);
	tcase_add_test(tc, free_block_aligned);
	tcase_add_test(tc, free_block_zone);
	tcase_add_test(tc, buddies_merged);
	tcase_add_test(tc, nr_free_pages);
	tcase_add_test(tc, free_counts);
	tcase_add_test(tc, free_counts_mt);
	tcase_add_test(tc, pcp_count);
	tcase_add_test(tc, pcp_page_state);
	tcase_add_test(tc, frame_owned_once_two_lists);
	tcase_add_test(tc, frame_owned_once_free_and_allocated);
	tcase_add_test(tc, frame_accounted);
	tcase_add_test(tc, frame_accounted_reserved_free);
	tcase_add_test(tc, alloc_head);
	tcase_add_test(tc, alloc_tail);
	tcase_add_test(tc, compound_tail_head);
	tcase_add_test(tc, compound_order);
	tcase_add_test(tc, highatomic_reserve);
	tcase_add_test(tc, totalram_pages);
	tcase_add_test(tc, pgd_user_half_empty);
	tcase_add_test(tc, direct_map);
	tcase_add_loop_test(tc, vmap_areas_tile, 0, 2);
	tcase_add_loop_test(tc, vmap_areas_merged, 0, 2);
	tcase_add_loop_test(tc, vmap_area_vm, 0, 2);
	tcase_add_loop_test(tc, vmalloc_ptes_guard, 0, 2);
	tcase_add_loop_test(tc, vmalloc_ptes_frame, 0, 2);
	tcase_add_loop_test(tc, vmalloc_ptes_large, 0, 2);
	tcase_add_loop_test(tc, vmalloc_pages_owned_page, 0, 2);
	tcase_add_loop_test(tc, vmalloc_pages_owned_table, 0, 2);
	tcase_add_loop_test(tc, vmalloc_counters, 0, 2);
	tcase_add_loop_test(tc, vmalloc_page_array, 0, 2);
	tcase_add_test(tc, early_phase);
	tcase_add_test(tc, names_are_unique);
	suite_add_tcase(s, tc);

	tc = tcase_create("preconditions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, del_page_from_free_list_not_buddy);
	tcase_add_test(tc, del_page_from_free_list_order);
	tcase_add_test(tc, expand_page_type);
	tcase_add_test(tc, expand_bad_range);
	tcase_add_test(tc, check_new_pages_mapping);
	tcase_add_test(tc, set_page_refcounted);
	tcase_add_test(tc, free_one_page_flags);
	tcase_add_test(tc, free_one_page_aligned);
	tcase_add_test(tc, free_one_page_bad_range);
	tcase_add_test(tc, free_one_page_page_type);
	tcase_add_test(tc, free_pages_prepare_flags);
	tcase_add_test(tc, free_pages_prepare_mapping);
	tcase_add_test(tc, free_pages_prepare_compound_head);
	tcase_add_test(tc, free_pages_prepare_tail_mapping);
	tcase_add_test(tc, warn_once);
	suite_add_tcase(s, tc);
	return s;
}
