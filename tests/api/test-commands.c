/* SPDX-License-Identifier: MIT */
/*
 * test-commands.c - the command executor (api/commands.c) against a real machine.
 *
 * Every failing command must leave the machine unchanged; the teardown runs mm_check()
 * on the machine so that no command can corrupt it unnoticed.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"

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
	return s;
}
