/* test-layout.c - the virtual layout of reference §1.4 for both flavours. */
#include "common.h"

START_TEST(layout_686)
{
	struct mm_layout l;

	boot("2G", false, 1, "");
	mm_get_layout(m, &l);
	ck_assert_uint_eq(l.page_offset, 0xc0000000u);
	ck_assert_uint_eq(l.fixaddr_top, 0xfffff000u);
	ck_assert_uint_eq(l.fixaddr_start, 0xffdb8000u);
	ck_assert_uint_eq(l.fixaddr_tot_start, 0xff9fe000u);
	ck_assert_uint_eq(l.cpu_entry_area_base, 0xff400000u);
	ck_assert_uint_eq(l.ldt_base, 0xff000000u);
	ck_assert_uint_eq(l.pkmap_base, 0xfec00000u);
	ck_assert_uint_eq(l.last_pkmap, 1024);
	ck_assert_uint_eq(l.vmalloc_end, 0xfebfe000u);
	ck_assert_uint_eq(l.maxmem_pfn, 0x36bfe);
	ck_assert_uint_eq(l.high_memory, 0xf6bfe000u);
	ck_assert_uint_eq(l.vmalloc_start, 0xf73fe000u);
	ck_assert_uint_eq(l.pageblock_order, 10);
}
END_TEST

START_TEST(layout_pae)
{
	struct mm_layout l;

	boot("2G", true, 1, "");
	mm_get_layout(m, &l);
	ck_assert_uint_eq(l.pkmap_base, 0xff000000u);
	ck_assert_uint_eq(l.ldt_base, 0xff200000u);
	ck_assert_uint_eq(l.last_pkmap, 512);
	ck_assert_uint_eq(l.vmalloc_end, 0xfeffe000u);
	ck_assert_uint_eq(l.maxmem_pfn, 0x36ffe);
	ck_assert_uint_eq(l.high_memory, 0xf6ffe000u);
	ck_assert_uint_eq(l.pageblock_order, 9);
}
END_TEST

START_TEST(layout_small_and_vmalloc)
{
	struct mm_layout l;

	boot("128M", false, 1, "vmalloc=256M");
	mm_get_layout(m, &l);
	ck_assert_uint_eq(l.high_memory, 0xc7fe0000u); /* all RAM is lowmem */
	ck_assert_uint_eq(l.vmalloc_start, 0xc87e0000u);
	ck_assert_uint_eq(l.vmalloc_reserve, (256u + 8) << 20);
}
END_TEST

START_TEST(layout_vmalloc_shrinks_lowmem)
{
	struct mm_layout l;

	boot("1G", false, 1, "vmalloc=256M");
	mm_get_layout(m, &l);
	ck_assert_uint_eq(l.max_low_pfn, 0x2e3fe);
	ck_assert_uint_eq(l.vmalloc_end - l.vmalloc_start, 256u << 20);
}
END_TEST

START_TEST(kernel_image_placement)
{
	struct mm_layout l;

	boot("1G", false, 1, "");
	mm_get_layout(m, &l);
	ck_assert_uint_eq(l.text_start, 0x1000000);
	ck_assert_uint_eq(l.text_end, 0x191bc80);
	ck_assert_uint_eq(l.data_start, 0x1c39000);
	ck_assert_uint_eq(l.init_start, 0x1d86000);
	ck_assert_uint_eq(l.bss_start, 0x1e72000);
	ck_assert_uint_eq(l.bss_end, 0x1ee6000);
	ck_assert_uint_eq(l.image_end, 0x200c000);
	ck_assert_uint_eq(l.max_pfn_mapped, l.max_low_pfn);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("layout");
	TCase *tc = tcase_create("layout");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_add_test(tc, layout_686);
	tcase_add_test(tc, layout_pae);
	tcase_add_test(tc, layout_small_and_vmalloc);
	tcase_add_test(tc, layout_vmalloc_shrinks_lowmem);
	tcase_add_test(tc, kernel_image_placement);
	suite_add_tcase(s, tc);
	return s;
}
