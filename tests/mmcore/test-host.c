/* SPDX-License-Identifier: MIT */
/*
 * test-host.c - host-oom: the Nth host allocation fails, for every N until none does
 * (Jansson's test_chaos, SQLite's malloc failure loop).
 *
 * Through a whole boot (both flavours, a machine that stops early and so boots a scratch
 * copy first): each failure gives -ENOMEM with a message and no machine, and nothing leaks
 * (the ASan build, meson setup -Db_sanitize=address,undefined, checks that). Through a
 * sequence of calls on a booted machine (the checker, the page-table dump, /proc text, a
 * snapshot, allocations): each call succeeds or fails with -ENOMEM and the machine stays
 * whole. The API answers -ENOMEM with 503 host-out-of-memory (tests/api/test-problem.c).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mmcore.h"

static void config(struct mm_config *cfg, bool pae, const char *mem, int stop_after)
{
	mm_config_init(cfg, pae);
	ck_assert_int_eq(mm_parse_size(mem, &cfg->mem), 0);
	cfg->cpus = 2;
	cfg->stop_after = stop_after;
}

/* Fail allocation 1, 2, ... of the boot of @cfg until one boot makes no Nth allocation;
 * returns how many allocations a whole boot makes. */
static uint64_t boot_each_failure(const struct mm_config *cfg)
{
	for (uint64_t n = 1;; n++) {
		struct mm_host host = {.fail_nth = n};
		struct mm_machine *m = (struct mm_machine *)&host; /* written only on success */
		struct mm_error err = {0};
		int r = mm_machine_create_host(cfg, &host, &m, &err);

		if (host.nr_allocs < n) { /* the boot made fewer: nothing failed */
			ck_assert_msg(r == 0, "boot with no failure: %d %s", r, err.msg);
			mm_machine_destroy(m);
			return host.nr_allocs;
		}
		ck_assert_msg(r == -ENOMEM, "allocation %llu failed, the boot says %d (%s)",
			      (unsigned long long)n, r, err.msg);
		ck_assert_msg(strstr(err.msg, "host "), "%s", err.msg);
		ck_assert_ptr_eq(m, (struct mm_machine *)&host);
	}
}

START_TEST(boot_686)
{
	struct mm_config cfg;

	config(&cfg, false, "1G", MM_PHASE_BUDDY);
	ck_assert_uint_ge(boot_each_failure(&cfg), 10);
}
END_TEST

START_TEST(boot_pae)
{
	struct mm_config cfg;

	config(&cfg, true, "2G", MM_PHASE_BUDDY);
	ck_assert_uint_ge(boot_each_failure(&cfg), 10);
}
END_TEST

START_TEST(boot_stopped_early)
{
	struct mm_config cfg;

	config(&cfg, false, "128M", MM_PHASE_MEMBLOCK);
	ck_assert_uint_ge(boot_each_failure(&cfg), 10);
}
END_TEST

static int discard(void *ctx, const void *data, size_t len)
{
	(void)data;
	*(size_t *)ctx += len;
	return 0;
}

/* One round of calls that make host allocations; returns how many failed (-ENOMEM). */
static int sequence(struct mm_machine *m, struct mm_host *host)
{
	struct mm_error err = {0};
	struct mm_report rep = {0};
	struct mm_page_tables pt;
	struct mm_buf text = {.host = host};
	struct mm_page_alloc a;
	size_t bytes = 0;
	int failed = 0, r;

	r = mm_alloc_pages(m, 0, 0xcc0 /* GFP_KERNEL */, 0, &a, &err);
	ck_assert_int_eq(r, 0);
	r = mm_check(m, &rep);
	ck_assert(r == 0 || r == -ENOMEM);
	failed += r == -ENOMEM;
	r = mm_page_tables_get(m, &pt, &err);
	ck_assert(r == 0 || r == -ENOMEM);
	failed += r == -ENOMEM;
	mm_page_tables_free(&pt);
	r = mm_proc_render(m, "zoneinfo", &text, &err);
	ck_assert(r == 0 || r == -ENOMEM);
	failed += r == -ENOMEM;
	mm_buf_free(&text);
	r = mm_snapshot_save(m, discard, &bytes, &err);
	ck_assert(r == 0 || r == -ENOMEM);
	failed += r == -ENOMEM;
	ck_assert_int_eq(mm_free_pages(m, 0, a.pfn, 0, NULL, &err), 0);
	return failed;
}

START_TEST(calls)
{
	struct mm_config cfg;
	struct mm_machine *m;
	struct mm_error err = {0};

	config(&cfg, false, "512M", MM_PHASE_BUDDY);
	ck_assert_int_eq(mm_machine_create(&cfg, &m, &err), 0);
	for (uint64_t n = 1;; n++) {
		struct mm_host host = {.fail_nth = n};
		int failed;

		mm_machine_set_host(m, &host);
		failed = sequence(m, &host);
		mm_machine_set_host(m, NULL);
		ck_assert_int_eq(failed, host.nr_allocs >= n);
		ck_assert_int_eq(mm_check(m, NULL), 0);
		if (host.nr_allocs < n) {
			ck_assert_uint_ge(n, 5);
			break;
		}
	}
	mm_machine_destroy(m);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("host-oom");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, boot_686);
	tcase_add_test(tc, boot_pae);
	tcase_add_test(tc, boot_stopped_early);
	tcase_add_test(tc, calls);
	suite_add_tcase(s, tc);
	return s;
}
