/* test-e820.c - QEMU's map, sanitizing, explicit maps, the non-PAE 4 GiB limit. */
#include "common.h"

static unsigned int count_type(uint32_t type)
{
	unsigned int i, n = 0;
	struct mm_e820_entry e;

	for (i = 0; i < mm_e820_count(m); i++) {
		ck_assert_int_eq(mm_e820_get(m, i, &e), 0);
		n += e.type == type;
	}
	return n;
}

START_TEST(qemu_map_small)
{
	struct mm_e820_entry e;

	boot("128M", false, 1, "");
	ck_assert_uint_eq(mm_e820_firmware_count(m), 6);
	ck_assert_int_eq(mm_e820_firmware_get(m, 3, &e), 0);
	ck_assert_uint_eq(e.addr, 0x100000);
	ck_assert_uint_eq(e.addr + e.size, 0x7fe0000);
	/* the kernel's table: page 0 reserved, 0xa0000-0xfffff dropped */
	ck_assert_int_eq(mm_e820_get(m, 0, &e), 0);
	ck_assert_uint_eq(e.addr, 0);
	ck_assert_uint_eq(e.size, 0x1000);
	ck_assert_uint_eq(e.type, MM_E820_RESERVED);
	ck_assert_uint_eq(count_type(MM_E820_RAM), 2);
}
END_TEST

START_TEST(qemu_map_above_4g)
{
	struct mm_e820_entry e;
	unsigned int n = mm_e820_firmware_count(boot("8G", true, 1, ""));

	ck_assert_int_eq(mm_e820_firmware_get(m, n - 1, &e), 0);
	ck_assert_uint_eq(e.addr, 0x100000000ULL);
	ck_assert_uint_eq(e.size, 5ULL << 30);
}
END_TEST

START_TEST(nonpae_ignores_above_4g)
{
	struct mm_layout l;

	boot("8G", false, 1, "");
	mm_get_layout(m, &l);
	ck_assert_uint_eq(l.max_pfn, 0xbffe0); /* RAM above 4 GiB is not addressable */
}
END_TEST

START_TEST(explicit_map_sanitized)
{
	struct mm_config cfg;
	struct mm_error err = {0};
	struct mm_e820_entry e;

	mm_config_init(&cfg, false);
	cfg.nr_e820 = 3;
	cfg.e820[0] = (struct mm_e820_entry){0, 0x9f000, MM_E820_RAM};
	cfg.e820[1] = (struct mm_e820_entry){0x100000, 0x20000000, MM_E820_RAM};
	/* overlapping reservation: the higher type wins */
	cfg.e820[2] = (struct mm_e820_entry){0x10000000, 0x1000000, MM_E820_RESERVED};
	ck_assert_int_eq(mm_machine_create(&cfg, &m, &err), 0);
	ck_assert_int_eq(mm_e820_get(m, 2, &e), 0);
	ck_assert_uint_eq(e.addr, 0x100000);
	ck_assert_uint_eq(e.addr + e.size, 0x10000000);
	ck_assert_int_eq(mm_e820_get(m, 3, &e), 0);
	ck_assert_uint_eq(e.type, MM_E820_RESERVED);
	ck_assert_uint_eq(e.addr + e.size, 0x11000000);
}
END_TEST

START_TEST(bad_configs)
{
	struct mm_config cfg;
	struct mm_machine *mm = NULL;
	struct mm_error err = {0};

	mm_config_init(&cfg, false);
	cfg.mem = 0;
	ck_assert_int_eq(mm_machine_create(&cfg, &mm, &err), -EINVAL);
	cfg.mem = (64ULL << 30) + 4096;
	ck_assert_int_eq(mm_machine_create(&cfg, &mm, &err), -EINVAL);
	cfg.mem = 1ULL << 30;
	cfg.cpus = 0;
	ck_assert_int_eq(mm_machine_create(&cfg, &mm, &err), -EINVAL);
	cfg.cpus = 33;
	ck_assert_int_eq(mm_machine_create(&cfg, &mm, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "cpus"));
	ck_assert_ptr_null(mm);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("e820");
	TCase *tc = tcase_create("maps");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_add_test(tc, qemu_map_small);
	tcase_add_test(tc, qemu_map_above_4g);
	tcase_add_test(tc, nonpae_ignores_above_4g);
	tcase_add_test(tc, explicit_map_sanitized);
	tcase_add_test(tc, bad_configs);
	suite_add_tcase(s, tc);
	return s;
}
