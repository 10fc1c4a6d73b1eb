/* SPDX-License-Identifier: MIT */
/*
 * test-debug-full.c - the hook of -Dmm_debug=full: api/commands.c is compiled again for
 * this test with API_DEBUG_FULL=1 (tests/api/meson.build), whatever the build's option.
 *
 * With it every command that changed a machine is followed by mm_check(): a clean machine
 * goes through a whole session unchanged in behaviour, and a machine whose allocator was
 * corrupted is tainted by the next command, which fails with -EFAULT naming the invariant,
 * is journaled with its error, and every later change is refused.
 */
#include "machine.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "problem.h"

static struct mm_machine *m;

static void setup(void)
{
	struct mm_config cfg;
	struct mm_error err = {0};

	mm_config_init(&cfg, false);
	cfg.mem = 256ULL << 20;
	cfg.cpus = 2;
	ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "%s", err.msg);
}

static void teardown(void)
{
	mm_machine_destroy(m);
	m = NULL;
}

/* Run @text; *@journal says whether it goes into the journal, @out gets its result. */
static int run(const char *text, struct api_text *out, bool *journal, struct mm_error *err)
{
	out->len = 0;
	return api_command_exec_text(m, text, strlen(text), out, journal, err);
}

START_TEST(clean_session)
{
	static const char *const cmds[] = {
		"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":0}",
		"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL|__GFP_COMP\",\"order\":3,\"cpu\":1}",
		"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_HIGHUSER_MOVABLE\",\"order\":9}",
		"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_ATOMIC\",\"order\":2}",
		"{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":4096}",
		"{\"op\":\"set_sysctl\",\"name\":\"percpu_pagelist_high_fraction\",\"value\":8}",
		("{\"op\":\"memory_write\",\"space\":\"kernel\",\"addr\":\"0xc0001000\","
		 "\"data\":\"ab\"}"),
		"{\"op\":\"flush_tlb\"}",
	};
	struct api_text out = {0};
	struct mm_error err = {0};
	bool journal;

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		ck_assert_msg(run(cmds[i], &out, &journal, &err) == 0, "%s: %s", cmds[i], err.msg);
		ck_assert(journal);
	}
	ck_assert(!mm_machine_tainted(m));
	/* a refused command changes nothing and is not checked */
	ck_assert_int_eq(run("{\"op\":\"free_pages\",\"pfn\":0,\"order\":0}", &out, &journal, &err),
			 -EINVAL);
	ck_assert(!journal);
	api_text_free(&out);
}
END_TEST

/* The checker's scratch map is the first host allocation after the command: without it
 * the check is skipped, and the command keeps its success. */
START_TEST(checker_without_memory)
{
	struct mm_host host = {.fail_nth = 1};
	struct api_text out = {0};
	struct mm_error err = {0};
	bool journal;

	mm_machine_set_host(m, &host);
	ck_assert_int_eq(run("{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":0}", &out,
			     &journal, &err),
			 0);
	mm_machine_set_host(m, NULL);
	ck_assert_uint_eq(host.nr_allocs, 1);
	ck_assert(journal);
	ck_assert(!mm_machine_tainted(m));
	ck_assert_int_eq(mm_check(m, NULL), 0);
	api_text_free(&out);
}
END_TEST

START_TEST(corruption_taints)
{
	struct api_text out = {0};
	struct mm_error err = {0};
	bool journal;

	m->pgdat.node_zones[ZONE_NORMAL].free_area[3].nr_free++; /* a bug somewhere */
	ck_assert_int_eq(run("{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\","
			     "\"value\":20}",
			     &out, &journal, &err),
			 -EFAULT);
	ck_assert_msg(strstr(err.msg, "tainted") && strstr(err.msg, "free-counts"), "%s", err.msg);
	ck_assert(journal); /* the journal keeps the failure, replay meets it again */
	ck_assert_msg(strstr(out.data, "{\"error\":{\"type\":\"" API_PROBLEM_BASE
				       "invariant-violated\",\"status\":500"),
		      "%s", out.data);
	ck_assert(mm_machine_tainted(m));
	ck_assert_ptr_nonnull(strstr(mm_machine_taint(m), "free-counts"));
	ck_assert_int_eq(run("{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":0}", &out,
			     &journal, &err),
			 -EFAULT);
	/* every command is refused now, unjournaled: a sysctl and a memory write too */
	ck_assert_int_eq(run("{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\","
			     "\"value\":30}",
			     &out, &journal, &err),
			 -EFAULT);
	ck_assert(!journal);
	ck_assert_ptr_nonnull(strstr(err.msg, "free-counts"));
	ck_assert_int_eq(run("{\"op\":\"flush_tlb\"}", &out, &journal, &err), -EFAULT);
	ck_assert(!journal);
	api_text_free(&out);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("debug-full");
	TCase *tc = tcase_create("hook");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, clean_session);
	tcase_add_test(tc, checker_without_memory);
	tcase_add_test(tc, corruption_taints);
	suite_add_tcase(s, tc);
	return s;
}
