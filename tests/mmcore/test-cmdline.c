/* test-cmdline.c - memparse, the command line parser and what it refuses. */
#include "common.h"

START_TEST(parse_sizes)
{
	uint64_t v;

	ck_assert_int_eq(mm_parse_size("1G", &v), 0);
	ck_assert_uint_eq(v, 1ULL << 30);
	ck_assert_int_eq(mm_parse_size("512M", &v), 0);
	ck_assert_uint_eq(v, 512ULL << 20);
	ck_assert_int_eq(mm_parse_size("4096k", &v), 0);
	ck_assert_uint_eq(v, 4096ULL << 10);
	ck_assert_int_eq(mm_parse_size("0x1000", &v), 0);
	ck_assert_uint_eq(v, 4096);
	ck_assert_int_eq(mm_parse_size("1GiB", &v), 0);
	ck_assert_uint_eq(v, 1ULL << 30);
	ck_assert_int_eq(mm_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(mm_parse_size("abc", &v), -EINVAL);
	ck_assert_int_eq(mm_parse_size("12Q", &v), -EINVAL);
}
END_TEST

static int try_cmdline(const char *cmdline, struct mm_error *err)
{
	struct mm_config cfg;
	struct mm_machine *mm = NULL;
	int ret;

	mm_config_init(&cfg, false);
	strcpy(cfg.cmdline, cmdline);
	ret = mm_machine_create(&cfg, &mm, err);
	mm_machine_destroy(mm);
	return ret;
}

START_TEST(refuses_malformed)
{
	struct mm_error err = {0};

	ck_assert_int_eq(try_cmdline("mem=abc", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "mem"));
	ck_assert_int_eq(try_cmdline("mem=", &err), -EINVAL);
	ck_assert_int_eq(try_cmdline("memmap=64M@junk", &err), -EINVAL);
	ck_assert_int_eq(try_cmdline("memmap=64M*16M", &err), -EINVAL);
	ck_assert_int_eq(try_cmdline("highmem=x", &err), -EINVAL);
	ck_assert_int_eq(try_cmdline("vmalloc=2G", &err), -EINVAL);
	ck_assert_int_eq(try_cmdline("console=\"ttyS0", &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "quote"));
}
END_TEST

START_TEST(accepts_other_params)
{
	struct mm_error err = {0};

	ck_assert_int_eq(try_cmdline("console=ttyS0,115200 panic=-1 nokaslr quiet", &err), 0);
	ck_assert_int_eq(try_cmdline("mem=nopentium", &err), 0);
	ck_assert_int_eq(try_cmdline("foo=\"a b\" -- mem=abc", &err),
			 0); /* after -- goes to init */
}
END_TEST

START_TEST(mem_limits_ram)
{
	char *d;

	boot("1G", false, 1, "mem=512M");
	d = render("dmesg");
	ck_assert_ptr_nonnull(strstr(d, "user-defined physical RAM map:\n"));
	ck_assert_ptr_nonnull(
		strstr(d, "e820: remove [mem 0x20000000-0xfffffffffffffffe] usable\n"));
	ck_assert_ptr_nonnull(
		strstr(d, "user: [mem 0x0000000000100000-0x000000001fffffff] usable\n"));
	ck_assert_ptr_nonnull(strstr(d, "0MB HIGHMEM available.\n"));
	free(d);
}
END_TEST

START_TEST(memmap_reserves)
{
	struct mm_zone_info zi;
	char *d;

	boot("1G", false, 1, "memmap=16M$256M");
	d = render("dmesg");
	ck_assert_ptr_nonnull(
		strstr(d, "user: [mem 0x0000000010000000-0x0000000010ffffff] reserved\n"));
	free(d);
	ck_assert_int_eq(mm_get_zone(m, 1, &zi), 0);
	ck_assert_uint_eq(zi.present, 220158 - 4096);
}
END_TEST

START_TEST(highmem_param)
{
	struct mm_layout l;

	boot("512M", false, 1, "highmem=256M");
	mm_get_layout(m, &l);
	ck_assert_uint_eq(l.max_low_pfn, 0xffe0);
	ck_assert_uint_eq(l.max_pfn, 0x1ffe0);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("cmdline");
	TCase *tc = tcase_create("parse");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_add_test(tc, parse_sizes);
	tcase_add_test(tc, refuses_malformed);
	tcase_add_test(tc, accepts_other_params);
	tcase_add_test(tc, mem_limits_ram);
	tcase_add_test(tc, memmap_reserves);
	tcase_add_test(tc, highmem_param);
	suite_add_tcase(s, tc);
	return s;
}
