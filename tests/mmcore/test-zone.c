/* test-zone.c - watermarks, protection and pcp sizing, at boot and after sysctl writes
 * (against the steps of the real 686-1024M-dyn experiment), and CPU-count effects. */
#include <stdio.h>

#include "common.h"
#include "oracle.h"

static void set(const char *name, const char *value)
{
	struct mm_error err = {0};

	ck_assert_msg(mm_sysctl_set(m, name, value, &err) == 0, "%s=%s: %s", name, value, err.msg);
}

static void compare_step(const char *step)
{
	static const char *const zones[] = {"DMA", "Normal", "HighMem"};
	static const char *const keys[] = {"min", "low", "high", "high:", "batch:"};
	char dir[1024];
	char *real, *mine;
	unsigned int z, k;

	snprintf(dir, sizeof(dir), "%s/686-1024M-dyn/steps/%s", oracle_root(), step);
	real = oracle_read(dir, "zoneinfo");
	ck_assert_ptr_nonnull(real);
	mine = render("zoneinfo");
	for (z = 0; z < 3; z++) {
		long a[4], b[4];

		for (k = 0; k < 5; k++)
			ck_assert_msg(oracle_zone_value(mine, zones[z], keys[k]) ==
					      oracle_zone_value(real, zones[z], keys[k]),
				      "%s %s %s: %ld, real %ld", step, zones[z], keys[k],
				      oracle_zone_value(mine, zones[z], keys[k]),
				      oracle_zone_value(real, zones[z], keys[k]));
		ck_assert(oracle_zone_protection(mine, zones[z], a));
		ck_assert(oracle_zone_protection(real, zones[z], b));
		for (k = 0; k < 4; k++)
			ck_assert_msg(a[k] == b[k], "%s %s protection[%u] %ld, real %ld", step,
				      zones[z], k, a[k], b[k]);
	}
	free(real);
	free(mine);
}

START_TEST(dyn_steps)
{
	struct mm_config cfg;
	struct mm_error err = {0};
	char dir[1024];

	snprintf(dir, sizeof(dir), "%s/686-1024M-dyn", oracle_root());
	ck_assert(oracle_config(dir, &cfg));
	ck_assert_int_eq(mm_machine_create(&cfg, &m, &err), 0);
	compare_step("a-boot");
	set("min_free_kbytes", "8192");
	compare_step("b-min_free_kbytes-8192");
	set("watermark_scale_factor", "200");
	compare_step("c-min_free_kbytes-8192+watermark_scale_factor-200");
	set("min_free_kbytes", "43144");
	compare_step("c2-watermark_scale_factor-200-only");
	set("watermark_scale_factor", "10");
	compare_step("c3-defaults-restored-tmpfs-mounted");
}
END_TEST

START_TEST(sysctl_refusals_leave_state)
{
	struct mm_error err = {0};
	struct mm_buf b = {0};
	struct mm_totals before, after;

	boot("1G", false, 1, "");
	mm_get_totals(m, &before);
	ck_assert_int_eq(mm_sysctl_set(m, "watermark_scale_factor", "0", &err), -EINVAL);
	ck_assert_int_eq(mm_sysctl_set(m, "watermark_scale_factor", "3001", &err), -EINVAL);
	ck_assert_int_eq(mm_sysctl_set(m, "min_free_kbytes", "-1", &err), -EINVAL);
	ck_assert_int_eq(mm_sysctl_set(m, "min_free_kbytes", "12abc", &err), -EINVAL);
	ck_assert_int_eq(mm_sysctl_set(m, "percpu_pagelist_high_fraction", "7", &err), -EINVAL);
	ck_assert_int_eq(mm_sysctl_set(m, "lowmem_reserve_ratio", "1 2 3 4 5", &err), -EINVAL);
	ck_assert_int_eq(mm_sysctl_set(m, "swappiness", "1", &err), -ENOENT);
	mm_get_totals(m, &after);
	ck_assert_int_eq(memcmp(&before, &after, sizeof(before)), 0);
	ck_assert_int_eq(mm_sysctl_get(m, "lowmem_reserve_ratio", &b, &err), 0);
	ck_assert_str_eq(b.data, "256\t32\t0\t0\n");
	mm_buf_free(&b);
	ck_assert_int_eq(mm_sysctl_get(m, "nope", &b, &err), -ENOENT);
}
END_TEST

START_TEST(lowmem_reserve_ratio_write)
{
	struct mm_zone_info dma, normal, high;

	boot("1G", false, 1, "");
	set("lowmem_reserve_ratio", "128 0");
	mm_get_zone(m, 0, &dma);
	mm_get_zone(m, 1, &normal);
	mm_get_zone(m, 2, &high);
	ck_assert_int_eq(dma.lowmem_reserve[1], normal.managed / 128);
	ck_assert_int_eq(dma.lowmem_reserve[2], (normal.managed + high.managed) / 128);
	ck_assert_int_eq(normal.lowmem_reserve[2], 0);
}
END_TEST

START_TEST(pcp_fraction_and_cpus)
{
	struct mm_zone_info z;
	unsigned int cpu;

	boot("2G", false, 4, "");
	mm_get_zone(m, 1, &z);
	ck_assert_uint_eq(z.nr_cpus, 4);
	for (cpu = 0; cpu < 4; cpu++) {
		ck_assert_int_eq(z.pcp[cpu].batch, 63);
		ck_assert_int_eq(z.pcp[cpu].high, (int)(z.wmark_low / 4));
	}
	ck_assert_int_eq(z.stat_threshold, 2 * 3 * (1 + 3)); /* fls(4) = 3, fls(managed>>15) = 3 */
	set("percpu_pagelist_high_fraction", "8");
	mm_get_zone(m, 1, &z);
	ck_assert_int_eq(z.pcp[0].high, (int)(z.managed / 8 / 4));
}
END_TEST

START_TEST(small_machine_no_thp)
{
	struct mm_totals t;

	boot("256M", false, 1, "");
	mm_get_totals(m, &t);
	/* below 512 MiB THP stays off: min_free_kbytes is int_sqrt(16 x lowmem KiB) */
	ck_assert_int_lt(t.min_free_kbytes, 2500);
	ck_assert_int_gt(t.min_free_kbytes, 1500);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("zone");
	TCase *tc = tcase_create("watermarks");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, dyn_steps);
	tcase_add_test(tc, sysctl_refusals_leave_state);
	tcase_add_test(tc, lowmem_reserve_ratio_write);
	tcase_add_test(tc, pcp_fraction_and_cpus);
	tcase_add_test(tc, small_machine_no_thp);
	suite_add_tcase(s, tc);
	return s;
}
