/* SPDX-License-Identifier: MIT */
/*
 * test-commands.c - the command executor (api/commands.c) against a real machine.
 *
 * Every failing command must leave the machine unchanged; the teardown runs mm_check()
 * on the machine so that no command can corrupt it unnoticed.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "problem.h"

static struct mm_machine *m;

static void setup(void)
{
	struct mm_config *cfg = malloc(sizeof(*cfg));
	struct mm_error err = {0};

	ck_assert_ptr_nonnull(cfg);
	mm_config_init(cfg, false);
	cfg->mem = 256ULL << 20;
	cfg->cpus = 2;
	ck_assert_msg(mm_machine_create(cfg, &m, &err) == 0, "%s", err.msg);
	free(cfg);
}

static void teardown(void)
{
	ck_assert_int_eq(mm_check(m, NULL), 0);
	mm_machine_destroy(m);
	m = NULL;
}

/* Run @text as a command; returns the executor's code, result in *ret (may be NULL). */
static int run(const char *text, json_t **ret, struct mm_error *err)
{
	json_error_t jerr;
	json_t *cmd = json_loads(text, 0, &jerr), *res = NULL;
	int r;

	ck_assert_msg(cmd != NULL, "test command is not JSON: %s", jerr.text);
	r = api_command_exec(m, cmd, &res, err);
	json_decref(cmd);
	if (ret)
		*ret = res;
	else
		json_decref(res);
	return r;
}

static json_int_t sysctl_int(const char *name)
{
	json_t *v;
	json_int_t x;

	ck_assert_int_eq(api_sysctl_get_json(m, name, &v, NULL), 0);
	ck_assert(json_is_integer(v));
	x = json_integer_value(v);
	json_decref(v);
	return x;
}

START_TEST(set_min_free_kbytes)
{
	struct mm_error err = {0};
	json_t *res = NULL;

	ck_assert_msg(run("{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":8192}",
			  &res, &err) == 0,
		      "%s", err.msg);
	ck_assert_str_eq(json_string_value(json_object_get(res, "name")), "min_free_kbytes");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "value")), 8192);
	ck_assert_uint_eq(json_object_size(res), 2);
	ck_assert_int_eq(sysctl_int("min_free_kbytes"), 8192);
	json_decref(res);
}
END_TEST

START_TEST(set_with_cpu)
{
	struct mm_error err = {0};

	ck_assert_msg(run("{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\","
			  "\"value\":100,\"cpu\":1}",
			  NULL, &err) == 0,
		      "%s", err.msg);
	ck_assert_int_eq(sysctl_int("watermark_scale_factor"), 100);
	ck_assert_int_eq(run("{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\","
			     "\"value\":100,\"cpu\":2}",
			     NULL, &err),
			 -EINVAL);
	ck_assert_int_eq(run("{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\","
			     "\"value\":100,\"cpu\":\"0\"}",
			     NULL, &err),
			 -EINVAL);
}
END_TEST

START_TEST(set_lowmem_reserve_ratio_array_and_string)
{
	struct mm_error err = {0};
	json_t *res = NULL, *want;

	ck_assert_msg(run("{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\","
			  "\"value\":[128,64,0,0]}",
			  &res, &err) == 0,
		      "%s", err.msg);
	want = json_pack("[iiii]", 128, 64, 0, 0);
	ck_assert(json_equal(json_object_get(res, "value"), want));
	json_decref(res);
	ck_assert_msg(run("{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\","
			  "\"value\":\"256 32 0 0\"}",
			  &res, &err) == 0,
		      "%s", err.msg);
	json_decref(want);
	want = json_pack("[iiii]", 256, 32, 0, 0);
	ck_assert(json_equal(json_object_get(res, "value"), want));
	json_decref(want);
	json_decref(res);
}
END_TEST

START_TEST(unknown_op)
{
	struct mm_error err = {0};

	ck_assert_int_eq(run("{\"op\":\"reboot\"}", NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "reboot"));
	ck_assert_int_eq(run("{\"name\":\"min_free_kbytes\",\"value\":1}", NULL, &err), -EINVAL);
	ck_assert_int_eq(run("{\"op\":7}", NULL, &err), -EINVAL);
	ck_assert_int_eq(run("[]", NULL, &err), -EINVAL);
}
END_TEST

START_TEST(unknown_field)
{
	struct mm_error err = {0};
	json_int_t before = sysctl_int("min_free_kbytes");

	ck_assert_int_eq(run("{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":9000,"
			     "\"force\":true}",
			     NULL, &err),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "force"));
	ck_assert_int_eq(sysctl_int("min_free_kbytes"), before);
}
END_TEST

static const char *const bad_values[] = {
	"{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":\"8192\"}",
	"{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":8192.5}",
	"{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":[8192]}",
	"{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":null}",
	"{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\"}",
	"{\"op\":\"set_sysctl\",\"value\":1}",
	"{\"op\":\"set_sysctl\",\"name\":5,\"value\":1}",
	"{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\",\"value\":[1,2,3]}",
	"{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\",\"value\":[1,2,3,\"4\"]}",
	"{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\",\"value\":256}",
	"{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\",\"value\":0}",
	"{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\",\"value\":3001}",
	"{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":-1}",
};

START_TEST(bad_value)
{
	struct mm_error err = {0};
	json_int_t before = sysctl_int("min_free_kbytes");

	ck_assert_int_eq(run(bad_values[_i], NULL, &err), -EINVAL);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(sysctl_int("min_free_kbytes"), before);
}
END_TEST

START_TEST(unknown_sysctl)
{
	struct mm_error err = {0};

	ck_assert_int_eq(
		run("{\"op\":\"set_sysctl\",\"name\":\"swappiness\",\"value\":1}", NULL, &err),
		-ENOENT);
}
END_TEST

/* ---- the page allocator ---------------------------------------------------------------- */

static uint64_t nr_free(void)
{
	struct mm_totals t;

	mm_get_totals(m, &t);
	return t.nr_free_pages;
}

/* Free pages on the buddy lists plus pages on the per-CPU lists. */
static uint64_t nr_free_or_pcp(void)
{
	struct mm_zone_info *z = malloc(sizeof(*z));
	uint64_t n = nr_free();

	ck_assert_ptr_nonnull(z);
	for (int i = 0; i < MM_NR_ZONES; i++) {
		ck_assert_int_eq(mm_get_zone(m, i, z), 0);
		for (unsigned int cpu = 0; cpu < z->nr_cpus; cpu++)
			n += (uint64_t)z->pcp[cpu].count;
	}
	free(z);
	return n;
}

static int frame_state(uint32_t pfn)
{
	struct mm_frame_info f;

	ck_assert_int_eq(mm_get_frame(m, pfn, &f, NULL), 0);
	return f.state;
}

/* alloc_pages through the executor; returns the pfn. */
static uint32_t alloc(const char *gfp, unsigned int order, unsigned int cpu)
{
	struct mm_error err = {0};
	char cmd[160];
	json_t *res = NULL;
	uint32_t pfn;

	snprintf(cmd, sizeof(cmd),
		 "{\"op\":\"alloc_pages\",\"gfp\":\"%s\",\"order\":%u,\"cpu\":%u}", gfp, order,
		 cpu);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s: %s", cmd, err.msg);
	ck_assert_uint_eq(json_integer_value(json_object_get(res, "order")), order);
	pfn = (uint32_t)json_integer_value(json_object_get(res, "pfn"));
	json_decref(res);
	return pfn;
}

static int free_pages(uint32_t pfn, unsigned int order, struct mm_error *err)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "{\"op\":\"free_pages\",\"pfn\":%u,\"order\":%u}", pfn, order);
	return run(cmd, NULL, err);
}

START_TEST(alloc_free_round_trip)
{
	struct mm_error err = {0};
	uint64_t free0 = nr_free_or_pcp();
	json_t *res = NULL;
	uint32_t pfn;
	char want[32], cmd[96];

	ck_assert_msg(
		run("{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL|__GFP_ZERO\"}", &res, &err) == 0,
		"%s", err.msg);
	ck_assert_uint_eq(json_object_size(res), 6);
	ck_assert(json_is_integer(json_object_get(res, "pfn")));
	pfn = (uint32_t)json_integer_value(json_object_get(res, "pfn"));
	ck_assert_int_eq(json_integer_value(json_object_get(res, "order")), 0);
	/* 256 MiB: everything is lowmem, in the direct map at PAGE_OFFSET */
	ck_assert_str_eq(json_string_value(json_object_get(res, "zone")),
			 pfn < 4096 ? "DMA" : "Normal");
	ck_assert_str_eq(json_string_value(json_object_get(res, "migratetype")), "Unmovable");
	snprintf(want, sizeof(want), "0x%x", 0xc0000000u + (pfn << 12));
	ck_assert_str_eq(json_string_value(json_object_get(res, "address")), want);
	snprintf(want, sizeof(want), "0x%x", pfn << 12);
	ck_assert_str_eq(json_string_value(json_object_get(res, "phys")), want);
	json_decref(res);
	ck_assert_int_eq(frame_state(pfn), MM_FRAME_ALLOCATED);
	ck_assert_uint_eq(nr_free_or_pcp(), free0 - 1);

	snprintf(cmd, sizeof(cmd), "{\"op\":\"free_pages\",\"pfn\":%u,\"cpu\":1}", pfn);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pfn")), pfn);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "order")), 0);
	ck_assert(json_is_true(json_object_get(res, "freed")));
	ck_assert_uint_eq(json_object_size(res), 3);
	json_decref(res);
	ck_assert_int_ne(frame_state(pfn), MM_FRAME_ALLOCATED);
	ck_assert_uint_eq(nr_free_or_pcp(), free0);
}
END_TEST

START_TEST(alloc_each_order_and_movable)
{
	struct mm_error err = {0};
	uint32_t pfn[MM_MAX_ORDER];

	for (unsigned int o = 0; o < MM_MAX_ORDER; o++) {
		pfn[o] = alloc("GFP_HIGHUSER_MOVABLE", o, o % 2);
		ck_assert_uint_eq(pfn[o] & ((1u << o) - 1), 0);
	}
	for (unsigned int o = 0; o < MM_MAX_ORDER; o++)
		ck_assert_msg(free_pages(pfn[o], o, &err) == 0, "order %u: %s", o, err.msg);
}
END_TEST

START_TEST(unknown_gfp_name)
{
	struct mm_error err = {0};
	uint64_t free0 = nr_free();

	ck_assert_int_eq(
		run("{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL|__GFP_BOGUS\"}", NULL, &err),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "__GFP_BOGUS"));
	ck_assert_uint_eq(nr_free(), free0);
}
END_TEST

static const char *const bad_alloc[] = {
	"{\"op\":\"alloc_pages\"}",
	"{\"op\":\"alloc_pages\",\"gfp\":3264}",
	"{\"op\":\"alloc_pages\",\"gfp\":null}",
	"{\"op\":\"alloc_pages\",\"gfp\":\"\"}",
	"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":11}",
	"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":-1}",
	"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":\"1\"}",
	"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":1.0}",
	"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"cpu\":2}",
	"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"pfn\":1}",
	"{\"op\":\"free_pages\"}",
	"{\"op\":\"free_pages\",\"pfn\":-1}",
	"{\"op\":\"free_pages\",\"pfn\":\"100\"}",
	"{\"op\":\"free_pages\",\"pfn\":4294967296}",
	"{\"op\":\"free_pages\",\"pfn\":100,\"order\":11}",
	"{\"op\":\"free_pages\",\"pfn\":100,\"gfp\":\"GFP_KERNEL\"}",
	"{\"op\":\"get_page\"}",
	"{\"op\":\"get_page\",\"pfn\":1,\"order\":0}",
	"{\"op\":\"put_page\",\"pfn\":true}",
};

START_TEST(bad_page_commands)
{
	struct mm_error err = {0};
	uint64_t free0 = nr_free();

	ck_assert_int_eq(run(bad_alloc[_i], NULL, &err), -EINVAL);
	ck_assert_str_ne(err.msg, "");
	ck_assert_uint_eq(nr_free(), free0);
}
END_TEST

/* A refused free leaves the machine as it was, with a message naming the check. */
static void bad_free(uint32_t pfn, unsigned int order, int want)
{
	struct mm_error err = {0};
	uint64_t free0 = nr_free();
	struct mm_frame_info before, after;

	ck_assert_int_eq(mm_get_frame(m, pfn, &before, NULL), 0);
	ck_assert_int_eq(free_pages(pfn, order, &err), want);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(mm_get_frame(m, pfn, &after, NULL), 0);
	ck_assert_int_eq(after.state, before.state);
	ck_assert_int_eq(after.refcount, before.refcount);
	ck_assert_uint_eq(nr_free(), free0);
}

START_TEST(bad_frees)
{
	struct mm_error err = {0};
	uint32_t a = alloc("GFP_KERNEL", 0, 0), c = alloc("GFP_KERNEL|__GFP_COMP", 2, 0);
	uint32_t b = alloc("GFP_KERNEL", 1, 0);

	ck_assert_int_eq(free_pages(a, 0, &err), 0);
	bad_free(a, 0, -EBUSY);	 /* double free */
	bad_free(b, 0, -EINVAL); /* wrong order */
	bad_free(b, 2, -EINVAL);
	bad_free(c + 1, 0, -EINVAL); /* a tail page */
	bad_free(c + 3, 0, -EINVAL);
	bad_free(1, 0, -EBUSY);	 /* reserved (memblock) */
	bad_free(0, 0, -EINVAL); /* not RAM: the kernel trims the first page from e820 */
	ck_assert_int_eq(free_pages(mm_max_pfn(m), 0, &err), -EINVAL); /* out of range */
	ck_assert_int_eq(free_pages(UINT32_MAX, 0, &err), -EINVAL);
	ck_assert_int_eq(free_pages(b, 1, &err), 0);
	ck_assert_int_eq(free_pages(c, 2, &err), 0);
}
END_TEST

START_TEST(get_put_page)
{
	struct mm_error err = {0};
	uint32_t pfn = alloc("GFP_KERNEL", 0, 1);
	json_t *res = NULL;
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "{\"op\":\"get_page\",\"pfn\":%u}", pfn);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "refcount")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pfn")), pfn);
	json_decref(res);

	snprintf(cmd, sizeof(cmd), "{\"op\":\"put_page\",\"pfn\":%u,\"cpu\":1}", pfn);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "refcount")), 1);
	ck_assert(json_is_false(json_object_get(res, "freed")));
	json_decref(res);
	ck_assert_int_eq(frame_state(pfn), MM_FRAME_ALLOCATED);

	/* free_pages drops a reference too; the last one frees */
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "refcount")), 0);
	ck_assert(json_is_true(json_object_get(res, "freed")));
	json_decref(res);
	ck_assert_int_ne(frame_state(pfn), MM_FRAME_ALLOCATED);

	ck_assert_int_eq(run(cmd, NULL, &err), -EBUSY);
	snprintf(cmd, sizeof(cmd), "{\"op\":\"get_page\",\"pfn\":%u}", pfn);
	ck_assert_int_eq(run(cmd, NULL, &err), -EBUSY);
}
END_TEST

START_TEST(free_with_references_left)
{
	struct mm_error err = {0};
	uint32_t pfn = alloc("GFP_KERNEL", 0, 0);
	json_t *res = NULL;
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "{\"op\":\"get_page\",\"pfn\":%u}", pfn);
	ck_assert_int_eq(run(cmd, NULL, &err), 0);
	snprintf(cmd, sizeof(cmd), "{\"op\":\"free_pages\",\"pfn\":%u}", pfn);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert(json_is_false(json_object_get(res, "freed")));
	json_decref(res);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert(json_is_true(json_object_get(res, "freed")));
	json_decref(res);
}
END_TEST

/* Allocating until failure answers -ENOSPC; freeing everything gives back every page. */
START_TEST(exhaustion_is_enospc)
{
	struct mm_error err = {0};
	uint32_t *pfns = malloc(70000 * sizeof(*pfns));
	uint64_t free0 = nr_free_or_pcp();
	size_t n = 0;
	json_t *res;
	int r;

	ck_assert_ptr_nonnull(pfns);
	for (;;) {
		res = NULL;
		r = run("{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL|__GFP_NOWARN\"}", &res, &err);
		if (r < 0)
			break;
		ck_assert_uint_lt(n, 70000);
		pfns[n++] = (uint32_t)json_integer_value(json_object_get(res, "pfn"));
		json_decref(res);
	}
	ck_assert_int_eq(r, -ENOSPC);
	ck_assert_str_ne(err.msg, "");
	ck_assert_uint_gt(n, 1000);
	{
		/* the failure moved the allocator's counters: it is to be journaled, with its
		 * error as the result */
		static const char cmd[] =
			"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL|__GFP_NOWARN\"}";
		struct api_text t = {0};
		struct mm_error e = {0};
		bool journal = false;
		json_t *j;

		ck_assert_int_eq(api_command_exec_text(m, cmd, strlen(cmd), &t, &journal, &e),
				 -ENOSPC);
		ck_assert(journal);
		j = json_loads(t.data, 0, NULL);
		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(
			json_string_value(json_object_get(json_object_get(j, "error"), "type")),
			"https://mm32.dev/problems/guest-out-of-memory");
		ck_assert_int_eq(
			json_integer_value(json_object_get(json_object_get(j, "error"), "status")),
			409);
		ck_assert_str_eq(
			json_string_value(json_object_get(json_object_get(j, "error"), "detail")),
			e.msg);
		json_decref(j);
		api_text_free(&t);
		/* refused by validation: nothing to journal, nothing written */
		ck_assert_int_eq(
			api_command_exec_text(m, "{\"op\":\"alloc_pages\"}", 20, &t, &journal, &e),
			-EINVAL);
		ck_assert(!journal);
		ck_assert_uint_eq(t.len, 0);
		api_text_free(&t);
	}
	while (n)
		ck_assert_int_eq(free_pages(pfns[--n], 0, &err), 0);
	free(pfns);
	/* every page is back, on a free list or a per-CPU list */
	ck_assert_uint_eq(nr_free_or_pcp(), free0);
	ck_assert_int_eq(mm_check(m, NULL), 0);
}
END_TEST

/* ---- paging: boot phases, memory, TLBs ------------------------------------------------- */

/* Run @text through the text entry point (as the journal and replay do). */
static int run_text(struct mm_machine *mm, const char *text, bool *journal, json_t **ret,
		    struct mm_error *err)
{
	struct api_text t = {0};
	bool j = false;
	int r = api_command_exec_text(mm, text, strlen(text), &t, &j, err);

	if (journal)
		*journal = j;
	if (ret)
		*ret = t.len ? json_loads(t.data, 0, NULL) : NULL;
	if (r == 0 || j)
		ck_assert_msg(t.len > 0, "%s: no result", text);
	else
		ck_assert_uint_eq(t.len, 0);
	api_text_free(&t);
	return r;
}

static struct mm_machine *machine_at(int phase, bool pae, const char *cmdline)
{
	struct mm_config *cfg = malloc(sizeof(*cfg));
	struct mm_error err = {0};
	struct mm_machine *mm;

	ck_assert_ptr_nonnull(cfg);
	mm_config_init(cfg, pae);
	cfg->mem = 256ULL << 20;
	cfg->cpus = 2;
	cfg->stop_after = phase;
	snprintf(cfg->cmdline, sizeof(cfg->cmdline), "%s", cmdline);
	ck_assert_msg(mm_machine_create(cfg, &mm, &err) == 0, "%s", err.msg);
	free(cfg);
	return mm;
}

START_TEST(boot_continue_phases)
{
	struct mm_machine *mm = machine_at(MM_PHASE_EARLY_PAGE_TABLES, _i, "");
	struct mm_error err = {0};
	bool journal;
	json_t *res;

	/* what needs the allocator answers -EAGAIN naming the phases, unjournaled */
	ck_assert_int_eq(run_text(mm, "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}", &journal,
				  NULL, &err),
			 -EAGAIN);
	ck_assert(!journal);
	ck_assert_ptr_nonnull(strstr(err.msg, "early_page_tables"));
	ck_assert_ptr_nonnull(strstr(err.msg, "buddy"));
	ck_assert_int_eq(
		run_text(mm, "{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":1}",
			 &journal, NULL, &err),
		-EAGAIN);
	ck_assert_int_eq(run_text(mm, "{\"op\":\"boot_continue\"}", &journal, &res, &err), 0);
	ck_assert(journal);
	ck_assert_str_eq(json_string_value(json_object_get(res, "phase")), "paging_enabled");
	ck_assert_uint_eq(json_object_size(res), 1);
	json_decref(res);
	ck_assert_int_eq(run_text(mm, "{\"op\":\"boot_continue\",\"until\":\"final_page_tables\"}",
				  NULL, &res, &err),
			 0);
	ck_assert_str_eq(json_string_value(json_object_get(res, "phase")), "final_page_tables");
	json_decref(res);
	/* refused: the machine stays where it is, nothing to journal */
	ck_assert_int_eq(run_text(mm, "{\"op\":\"boot_continue\",\"until\":\"memblock\"}", &journal,
				  NULL, &err),
			 -EINVAL);
	ck_assert(!journal);
	ck_assert_int_eq(run_text(mm, "{\"op\":\"boot_continue\",\"until\":\"zones\"}", &journal,
				  NULL, &err),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "zones"));
	ck_assert_int_eq(
		run_text(mm, "{\"op\":\"boot_continue\",\"until\":4}", &journal, NULL, &err),
		-EINVAL);
	ck_assert_int_eq(
		run_text(mm, "{\"op\":\"boot_continue\",\"to\":\"buddy\"}", &journal, NULL, &err),
		-EINVAL);
	ck_assert_int_eq(mm_machine_phase(mm), MM_PHASE_FINAL_PAGE_TABLES);
	ck_assert_int_eq(
		run_text(mm, "{\"op\":\"boot_continue\",\"until\":\"buddy\"}", NULL, NULL, &err),
		0);
	ck_assert_int_eq(run_text(mm, "{\"op\":\"boot_continue\"}", &journal, NULL, &err), -EINVAL);
	ck_assert(!journal);
	ck_assert_ptr_nonnull(strstr(err.msg, "finished"));
	ck_assert_int_eq(
		run_text(mm, "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}", NULL, NULL, &err),
		0);
	ck_assert_int_eq(mm_check(mm, NULL), 0);
	mm_machine_destroy(mm);
}
END_TEST

/* A configuration that cannot boot is refused when the machine is created, even when it
 * would stop before the failing step: mmcore boots a scratch copy through first, so a
 * boot_continue can never fail half way. */
START_TEST(unbootable_stopped_machine_refused)
{
	struct mm_config *cfg = malloc(sizeof(*cfg));
	struct mm_error err = {0};
	struct mm_machine *mm = NULL;

	ck_assert_ptr_nonnull(cfg);
	mm_config_init(cfg, false);
	cfg->mem = 256ULL << 20;
	cfg->stop_after = MM_PHASE_PAGING_ENABLED;
	snprintf(cfg->cmdline, sizeof(cfg->cmdline), "vmalloc=1000M");
	ck_assert_int_eq(mm_machine_create(cfg, &mm, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "vmalloc"));
	ck_assert_ptr_null(mm);
	free(cfg);
}
END_TEST

/* The pfn and kernel address of two fresh lowmem pages (order 1). */
static uint32_t lowmem_page(uint32_t *va)
{
	json_t *res = NULL;
	struct mm_error err = {0};
	uint64_t a;
	uint32_t pfn;

	ck_assert_msg(run("{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL|__GFP_ZERO\",\"order\":1}",
			  &res, &err) == 0,
		      "%s", err.msg);
	pfn = (uint32_t)json_integer_value(json_object_get(res, "pfn"));
	ck_assert_int_eq(api_parse_addr("address",
					json_string_value(json_object_get(res, "address")),
					UINT32_MAX, &a, NULL),
			 0);
	*va = (uint32_t)a;
	json_decref(res);
	return pfn;
}

START_TEST(memory_round_trip)
{
	struct mm_error err = {0};
	char cmd[256];
	uint32_t va, pfn = lowmem_page(&va);
	json_t *res = NULL;

	/* through the kernel address, back through the physical one; and the other way */
	snprintf(cmd, sizeof(cmd),
		 "{\"op\":\"memory_write\",\"addr\":\"0x%x\",\"data\":\"DEADbeef0102\","
		 "\"space\":\"kernel\",\"cpu\":1}",
		 va + 0xffe);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "len")), 6);
	ck_assert_str_eq(json_string_value(json_object_get(res, "space")), "kernel");
	ck_assert_ptr_null(json_object_get(res, "data"));
	json_decref(res);
	snprintf(cmd, sizeof(cmd),
		 "{\"op\":\"memory_read\",\"addr\":%u,\"len\":8,\"space\":\"phys\"}",
		 (pfn << 12) + 0xffe);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(json_string_value(json_object_get(res, "data")), "deadbeef01020000");
	json_decref(res);
	snprintf(cmd, sizeof(cmd),
		 "{\"op\":\"memory_write\",\"addr\":\"%u\",\"data\":\"a5\",\"space\":\"phys\"}",
		 (pfn << 12) + 0x10);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	json_decref(res);
	snprintf(cmd, sizeof(cmd),
		 "{\"op\":\"memory_read\",\"addr\":\"0x%x\",\"len\":2,\"space\":\"kernel\"}",
		 va + 0xf);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(json_string_value(json_object_get(res, "data")), "00a5");
	snprintf(cmd, sizeof(cmd), "0x%x", va + 0xf);
	ck_assert_str_eq(json_string_value(json_object_get(res, "addr")), cmd);
	json_decref(res);
}
END_TEST

static const struct {
	const char *cmd;
	int code;
	const char *mentions;
} bad_memory[] = {
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":16}", -EINVAL, "space"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":16,\"space\":\"user\"}", -EINVAL,
	 "user"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":16,\"space\":1}", -EINVAL,
	 "space"},
	{"{\"op\":\"memory_read\",\"len\":16,\"space\":\"kernel\"}", -EINVAL, "addr"},
	{"{\"op\":\"memory_read\",\"addr\":\"c0100000\",\"len\":16,\"space\":\"kernel\"}", -EINVAL,
	 "addr"},
	{"{\"op\":\"memory_read\",\"addr\":\"0x100000000\",\"len\":1,\"space\":\"kernel\"}",
	 -EINVAL, "0xffffffff"},
	{"{\"op\":\"memory_read\",\"addr\":-1,\"len\":1,\"space\":\"phys\"}", -EINVAL, "addr"},
	{"{\"op\":\"memory_read\",\"addr\":true,\"len\":1,\"space\":\"phys\"}", -EINVAL, "addr"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"space\":\"kernel\"}", -EINVAL, "len"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":0,\"space\":\"kernel\"}", -EINVAL,
	 "len"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":65537,\"space\":\"kernel\"}",
	 -EINVAL, "65536"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":\"16\",\"space\":\"kernel\"}",
	 -EINVAL, "len"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":16,\"space\":\"kernel\","
	 "\"cpu\":2}",
	 -EINVAL, "cpu"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xfffff000\",\"len\":16,\"space\":\"phys\"}", -EINVAL,
	 "not RAM"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xfffffff0\",\"len\":32,\"space\":\"kernel\"}",
	 -EINVAL, "32-bit"},
	{"{\"op\":\"memory_read\",\"addr\":\"0x1000\",\"len\":16,\"space\":\"kernel\"}", -EACCES,
	 "not-present page"},
	{"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":16,\"space\":\"kernel\","
	 "\"data\":\"00\"}",
	 -EINVAL, "data"},
	{"{\"op\":\"memory_write\",\"addr\":\"0xc1000000\",\"data\":\"00\",\"space\":\"kernel\"}",
	 -EACCES, "permissions violation"},
	{"{\"op\":\"memory_write\",\"addr\":\"0xc1000000\",\"data\":\"0\",\"space\":\"phys\"}",
	 -EINVAL, "data"},
	{"{\"op\":\"memory_write\",\"addr\":\"0xc1000000\",\"data\":\"zz\",\"space\":\"phys\"}",
	 -EINVAL, "hex"},
	{"{\"op\":\"memory_write\",\"addr\":\"0xc1000000\",\"data\":\"\",\"space\":\"phys\"}",
	 -EINVAL, "data"},
	{"{\"op\":\"memory_write\",\"addr\":\"0xc1000000\",\"data\":12,\"space\":\"phys\"}",
	 -EINVAL, "data"},
	{"{\"op\":\"memory_write\",\"addr\":\"0xc1000000\",\"space\":\"phys\"}", -EINVAL, "data"},
	{"{\"op\":\"memory_write\",\"addr\":\"0xc1000000\",\"data\":\"00\",\"space\":\"kernel\","
	 "\"len\":1}",
	 -EINVAL, "len"},
	{"{\"op\":\"invlpg\"}", -EINVAL, "va"},
	{"{\"op\":\"invlpg\",\"va\":\"0x1\",\"cpu\":-1}", -EINVAL, "cpu"},
	{"{\"op\":\"invlpg\",\"va\":\"0x100000000\"}", -EINVAL, "va"},
	{"{\"op\":\"flush_tlb\",\"keep_global\":\"yes\"}", -EINVAL, "keep_global"},
	{"{\"op\":\"flush_tlb\",\"keep_global\":null}", -EINVAL, "keep_global"},
	{"{\"op\":\"flush_tlb\",\"va\":\"0x1\"}", -EINVAL, "va"},
};

/* Refused, and nothing moved: not the TLBs, not an accessed bit, not a byte. */
START_TEST(bad_memory_commands)
{
	struct mm_error err = {0};
	struct mm_cpu_info c0, c1, a0, a1;
	struct mm_translation t0, t1;
	uint8_t text0[64], text1[64];
	bool journal = true;

	ck_assert_int_eq(mm_get_cpu(m, 0, &c0, NULL), 0);
	ck_assert_int_eq(mm_get_cpu(m, 1, &c1, NULL), 0);
	ck_assert_int_eq(mm_translate(m, 0, 0xc1000000u, MM_ACCESS_READ, &t0, NULL), 0);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, 0x1000000, sizeof(text0), text0, NULL),
			 0);
	ck_assert_int_eq(run_text(m, bad_memory[_i].cmd, &journal, NULL, &err),
			 bad_memory[_i].code);
	ck_assert(!journal);
	ck_assert_msg(strstr(err.msg, bad_memory[_i].mentions) != NULL,
		      "'%s' does not mention '%s'", err.msg, bad_memory[_i].mentions);
	ck_assert_int_eq(mm_get_cpu(m, 0, &a0, NULL), 0);
	ck_assert_int_eq(mm_get_cpu(m, 1, &a1, NULL), 0);
	ck_assert_mem_eq(&a0, &c0, sizeof(c0));
	ck_assert_mem_eq(&a1, &c1, sizeof(c1));
	ck_assert_int_eq(mm_translate(m, 0, 0xc1000000u, MM_ACCESS_READ, &t1, NULL), 0);
	ck_assert_uint_eq(t1.levels[0].raw, t0.levels[0].raw);
	ck_assert_uint_eq(t1.levels[t1.nr_levels - 1].raw, t0.levels[t0.nr_levels - 1].raw);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, 0x1000000, sizeof(text1), text1, NULL),
			 0);
	ck_assert_mem_eq(text1, text0, sizeof(text0));
}
END_TEST

START_TEST(tlb_commands)
{
	struct mm_error err = {0};
	struct mm_cpu_info c;
	char cmd[160];
	uint32_t va;
	json_t *res = NULL;

	lowmem_page(&va);
	snprintf(cmd, sizeof(cmd),
		 "{\"op\":\"memory_read\",\"addr\":\"0x%x\",\"len\":4,\"space\":\"kernel\"}", va);
	ck_assert_msg(run(cmd, NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(run(cmd, NULL, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c, NULL), 0);
	ck_assert_uint_eq(c.tlb_misses, 1);
	ck_assert_uint_eq(c.tlb_hits, 1);
	snprintf(cmd, sizeof(cmd), "{\"op\":\"invlpg\",\"va\":\"0x%x\"}", va + 5);
	ck_assert_msg(run(cmd, &res, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "cpu")), 0);
	json_decref(res);
	ck_assert_msg(run("{\"op\":\"flush_tlb\",\"cpu\":1}", &res, &err) == 0, "%s", err.msg);
	ck_assert(json_is_false(json_object_get(res, "keep_global")));
	ck_assert_int_eq(json_integer_value(json_object_get(res, "cpu")), 1);
	json_decref(res);
	ck_assert_msg(run("{\"op\":\"flush_tlb\",\"keep_global\":true}", &res, &err) == 0, "%s",
		      err.msg);
	ck_assert(json_is_true(json_object_get(res, "keep_global")));
	json_decref(res);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c, NULL), 0);
	ck_assert_uint_eq(c.tlb_invlpgs, 1);
	ck_assert_uint_eq(c.tlb_flushes, 1);
	ck_assert_int_eq(mm_get_cpu(m, 1, &c, NULL), 0);
	ck_assert_uint_ge(c.tlb_flushes_all, 1);
}
END_TEST

/* ---- the command scanner --------------------------------------------------------------- */

START_TEST(scan_common_shape)
{
	char text[] =
		" {\n\"op\" : \"alloc_pages\",\"gfp\":\"GFP_KERNEL|__GFP_ZERO\" ,\"order\":-0,"
		"\"cpu\":1,\"pfn\":123456789012345678} ";
	struct api_cmd v;
	size_t end;

	ck_assert_int_eq(api_command_scan(text, strlen(text), &v, NULL), 0);
	ck_assert_uint_eq(v.n, 5);
	ck_assert_str_eq(v.f[0].key, "op");
	ck_assert_uint_eq(v.f[0].key_len, 2);
	ck_assert_int_eq(v.f[0].type, API_FIELD_STRING);
	ck_assert_str_eq(v.f[0].str, "alloc_pages");
	ck_assert_str_eq(v.f[1].str, "GFP_KERNEL|__GFP_ZERO");
	ck_assert_int_eq(v.f[2].type, API_FIELD_INT);
	ck_assert_int_eq(v.f[2].i, 0);
	ck_assert_int_eq(v.f[3].i, 1);
	ck_assert_int_eq(v.f[4].i, 123456789012345678LL);
	ck_assert_ptr_null(v.f[4].json);

	char two[] = "{\"op\":\"get_page\",\"pfn\":-7},{\"op\":\"x\"}";
	ck_assert_int_eq(api_command_scan(two, strlen(two), &v, &end), 0);
	ck_assert_uint_eq(end, 26);
	ck_assert_int_eq(v.f[1].i, -7);
	ck_assert_int_eq(api_command_scan(two, strlen(two), &v, NULL), -EINVAL);

	char empty[] = "{ }";
	ck_assert_int_eq(api_command_scan(empty, strlen(empty), &v, NULL), 0);
	ck_assert_uint_eq(v.n, 0);

	char bools[] = "{\"op\":\"flush_tlb\",\"keep_global\": true ,\"x\":false}";
	ck_assert_int_eq(api_command_scan(bools, strlen(bools), &v, NULL), 0);
	ck_assert_uint_eq(v.n, 3);
	ck_assert_int_eq(v.f[1].type, API_FIELD_BOOL);
	ck_assert_int_eq(v.f[1].i, 1);
	ck_assert_int_eq(v.f[2].type, API_FIELD_BOOL);
	ck_assert_int_eq(v.f[2].i, 0);
}
END_TEST

/* Anything but the common shape is left to Jansson (the caller falls back). */
static const char *const not_scanned[] = {
	"",
	"[]",
	"{",
	"{\"op\"}",
	"{\"op\":}",
	"{\"op\":\"a\",}",
	"{\"op\":\"a\"} x",
	"{\"op\":\"a\",\"op\":\"b\"}",
	"{\"op\":\"a\\\"b\"}",
	"{\"op\":\"caf\xc3\xa9\"}",
	"{\"op\":\"tab\there\"}",
	"{\"o\\u0070\":\"a\"}",
	"{\"pfn\":01}",
	"{\"pfn\":+1}",
	"{\"pfn\":1.0}",
	"{\"pfn\":1e3}",
	"{\"pfn\":-}",
	"{\"pfn\":1234567890123456789}",
	/* 20 and 40 digits: counted, never accumulated (signed overflow, UBSan) */
	"{\"pfn\":99999999999999999999}",
	"{\"pfn\":-9999999999999999999999999999999999999999}",
	"{\"pfn\":tru}",
	"{\"pfn\":truex}",
	"{\"pfn\":False}",
	"{\"pfn\":null}",
	"{\"value\":[1,2,3,4]}",
	"{\"value\":{}}",
	"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8}", /* > API_CMD_FIELDS */
	"{'op':'a'}",
};

START_TEST(scan_refuses_the_rest)
{
	char *text = strdup(not_scanned[_i]);
	struct api_cmd v;

	ck_assert_int_eq(api_command_scan(text, strlen(text), &v, NULL), -EINVAL);
	free(text);
}
END_TEST

/* A command runs the same from a json_t and from its text. */
START_TEST(text_and_json_agree)
{
	static const char *const cmds[] = {
		"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":2,\"cpu\":1}",
		"{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\",\"value\":[128,16,0,0]}",
		"{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":8192}",
		"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_BOGUS\"}",
		"{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"x\":1}",
		"{\"op\":\"free_pages\",\"pfn\":1}",
		"{\"op\":\"nope\"}",
		"[1]",
		"{\"op\":\"memory_read\",\"addr\":\"0xc0100000\",\"len\":16,\"space\":\"kernel\"}",
		"{\"op\":\"memory_write\",\"addr\":\"0x8000000\",\"data\":\"0102\",\"space\":"
		"\"phys\"}",
		"{\"op\":\"memory_write\",\"addr\":\"0xc1000000\",\"data\":\"00\",\"space\":"
		"\"kernel\"}",
		"{\"op\":\"flush_tlb\",\"keep_global\":true,\"cpu\":1}",
		"{\"op\":\"flush_tlb\",\"keep_global\":1}",
		"{\"op\":\"invlpg\",\"va\":\"0xc0100000\"}",
		"{\"op\":\"boot_continue\"}",
	};
	struct mm_config *cfg = malloc(sizeof(*cfg));
	struct mm_machine *m2;

	ck_assert_ptr_nonnull(cfg);
	mm_config_init(cfg, false);
	cfg->mem = 256ULL << 20;
	cfg->cpus = 2;
	ck_assert_int_eq(mm_machine_create(cfg, &m2, NULL), 0);
	free(cfg);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct mm_error e1 = {0}, e2 = {0};
		struct api_text t = {0};
		json_t *res = NULL, *j;
		int r1 = run(cmds[i], &res, &e1);
		int r2 = api_command_exec_text(m2, cmds[i], strlen(cmds[i]), &t, NULL, &e2);

		ck_assert_int_eq(r1, r2);
		ck_assert_str_eq(e1.msg, e2.msg);
		if (r1 == 0) {
			j = json_loads(t.data, 0, NULL);
			ck_assert_ptr_nonnull(j);
			ck_assert_msg(json_equal(j, res), "%s: %s", cmds[i], t.data);
			json_decref(j);
		} else {
			ck_assert_uint_eq(t.len, 0);
		}
		json_decref(res);
		api_text_free(&t);
	}
	ck_assert_int_eq(mm_check(m2, NULL), 0);
	mm_machine_destroy(m2);
}
END_TEST

/* ---- snapshot_restore: the executor's environment ------------------------------------------ */

/* A fake store: snapshot 7 is a copy of the machine given at creation; 8 is of another
 * configuration; the rest do not exist. */
struct fake_env {
	int calls;
	struct mm_machine *copy_of;
};

static int fake_load(void *data, int64_t id, const struct mm_machine *cur, struct mm_machine **ret,
		     struct api_snapshot_ref *ref, struct mm_error *err)
{
	struct fake_env *fe = data;
	struct mm_config *cfg = malloc(sizeof(*cfg));
	int r;

	fe->calls++;
	ck_assert_ptr_nonnull(cfg);
	if (id == 8) {
		free(cfg);
		return api_error(err, -EINVAL, "snapshot 8 is of another configuration");
	}
	if (id != 7) {
		free(cfg);
		return api_error(err, -ENOENT, "no snapshot %lld", (long long)id);
	}
	*cfg = *mm_machine_config(cur);
	r = mm_machine_create(cfg, ret, err);
	free(cfg);
	if (r < 0)
		return r;
	*ref = (struct api_snapshot_ref){.id = 7, .seq = 41};
	snprintf(ref->machine, sizeof(ref->machine), "origin");
	snprintf(ref->state_hash, sizeof(ref->state_hash), "%032x", 7);
	return 0;
}

static int restore(const char *text, struct fake_env *fe, struct api_text *t,
		   struct api_command_outcome *oc, struct mm_error *err)
{
	struct api_exec_env env = {.snapshot_load = fake_load, .data = fe};

	t->len = 0;
	return api_command_exec_text_env(m, fe ? &env : NULL, text, strlen(text), t, oc, err);
}

START_TEST(snapshot_restore_replaces_the_machine)
{
	struct fake_env fe = {0};
	struct api_command_outcome oc;
	struct api_text t = {0};
	struct mm_error err = {0};
	json_t *res;

	ck_assert_int_eq(restore("{\"op\":\"snapshot_restore\",\"snapshot\":7,\"cpu\":1}", &fe, &t,
				 &oc, &err),
			 0);
	ck_assert_int_eq(fe.calls, 1);
	ck_assert(oc.journal);
	ck_assert_str_eq(oc.op, "snapshot_restore");
	ck_assert_ptr_nonnull(oc.replace);
	ck_assert_ptr_ne(oc.replace, m);
	res = json_loadb(t.data, t.len, 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "snapshot")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "seq")), 41);
	ck_assert_str_eq(json_string_value(json_object_get(res, "machine")), "origin");
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(res, "state_hash"))), 32);
	ck_assert_uint_eq(json_object_size(res), 4);
	json_decref(res);
	/* the caller takes the new machine */
	mm_machine_destroy(m);
	m = oc.replace;
	api_text_free(&t);
}
END_TEST

START_TEST(snapshot_restore_refused)
{
	static const struct {
		const char *cmd;
		int code;
		int calls; /* the environment was asked */
	} cases[] = {
		{"{\"op\":\"snapshot_restore\",\"snapshot\":8}", -EINVAL, 1},
		{"{\"op\":\"snapshot_restore\",\"snapshot\":9}", -ENOENT, 1},
		{"{\"op\":\"snapshot_restore\"}", -EINVAL, 0},
		{"{\"op\":\"snapshot_restore\",\"snapshot\":0}", -EINVAL, 0},
		{"{\"op\":\"snapshot_restore\",\"snapshot\":\"7\"}", -EINVAL, 0},
		{"{\"op\":\"snapshot_restore\",\"snapshot\":7,\"x\":1}", -EINVAL, 0},
	};
	struct api_command_outcome oc;
	struct api_text t = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_env fe = {0};
		struct mm_error err = {0};

		ck_assert_int_eq(restore(cases[i].cmd, &fe, &t, &oc, &err), cases[i].code);
		ck_assert_int_eq(fe.calls, cases[i].calls);
		ck_assert(!oc.journal);
		ck_assert_ptr_null(oc.replace);
		ck_assert_uint_eq(t.len, 0);
		ck_assert_str_ne(err.msg, "");
	}
	/* without an environment (no store) it is refused too, and so through the plain entry
	 * points */
	{
		struct mm_error err = {0};
		bool journal = true;

		ck_assert_int_eq(restore("{\"op\":\"snapshot_restore\",\"snapshot\":7}", NULL, &t,
					 &oc, &err),
				 -EINVAL);
		ck_assert_ptr_nonnull(strstr(err.msg, "no store"));
		ck_assert_int_eq(
			api_command_exec_text(m, "{\"op\":\"snapshot_restore\",\"snapshot\":7}", 38,
					      &t, &journal, &err),
			-EINVAL);
		ck_assert(!journal);
		ck_assert_int_eq(run("{\"op\":\"snapshot_restore\",\"snapshot\":7}", NULL, &err),
				 -EINVAL);
	}
	api_text_free(&t);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */

Suite *test_suite(void)
{
	Suite *s = suite_create("commands");
	TCase *tc = tcase_create("set_sysctl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, set_min_free_kbytes);
	tcase_add_test(tc, set_with_cpu);
	tcase_add_test(tc, set_lowmem_reserve_ratio_array_and_string);
	tcase_add_test(tc, unknown_op);
	tcase_add_test(tc, unknown_field);
	tcase_add_loop_test(tc, bad_value, 0, sizeof(bad_values) / sizeof(bad_values[0]));
	tcase_add_test(tc, unknown_sysctl);
	suite_add_tcase(s, tc);

	tc = tcase_create("page_alloc");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, alloc_free_round_trip);
	tcase_add_test(tc, alloc_each_order_and_movable);
	tcase_add_test(tc, unknown_gfp_name);
	tcase_add_loop_test(tc, bad_page_commands, 0, sizeof(bad_alloc) / sizeof(bad_alloc[0]));
	tcase_add_test(tc, bad_frees);
	tcase_add_test(tc, get_put_page);
	tcase_add_test(tc, free_with_references_left);
	tcase_add_test(tc, exhaustion_is_enospc);
	suite_add_tcase(s, tc);

	tc = tcase_create("paging");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, boot_continue_phases, 0, 2);
	tcase_add_test(tc, unbootable_stopped_machine_refused);
	tcase_add_test(tc, memory_round_trip);
	tcase_add_loop_test(tc, bad_memory_commands, 0, sizeof(bad_memory) / sizeof(bad_memory[0]));
	tcase_add_test(tc, tlb_commands);
	suite_add_tcase(s, tc);

	tc = tcase_create("snapshot_restore");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, snapshot_restore_replaces_the_machine);
	tcase_add_test(tc, snapshot_restore_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("scan");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, scan_common_shape);
	tcase_add_loop_test(tc, scan_refuses_the_rest, 0,
			    sizeof(not_scanned) / sizeof(not_scanned[0]));
	tcase_add_test(tc, text_and_json_agree);
	suite_add_tcase(s, tc);
	return s;
}
