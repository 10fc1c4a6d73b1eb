/* SPDX-License-Identifier: MIT */
/*
 * test-problem.c - the errno -> HTTP status -> problem type table (api/problem.c).
 *
 * The table is a contract with clients (types are stable URIs) and with mmcore (the
 * meaning of each errno), so every row is pinned here, and so is the body's shape.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "problem.h"

static const struct {
	int err;
	unsigned int status;
	const char *slug;
} rows[] = {
	{-EINVAL, 422, "invalid-argument"},
	{-ENOENT, 404, "not-found"},
	{-EBUSY, 409, "conflict"},
	{-ENOSPC, 409, "guest-out-of-memory"},
	{-ENOMEM, 503, "host-out-of-memory"},
	{-EFAULT, 500, "invariant-violated"},
	{-EAGAIN, 409, "boot-phase"},
	{-EACCES, 422, "page-fault"},
	{-EEXIST, 409, "conflict"},
	{-EBADMSG, 400, "bad-request"},
	{-E2BIG, 413, "payload-too-large"},
	{-EOPNOTSUPP, 405, "method-not-allowed"},
	{-EMEDIUMTYPE, 415, "unsupported-media-type"},
	{-EIO, 500, "storage-error"},
	{-EDEADLK, 409, "scheduling-while-atomic"},
	{-ETIMEDOUT, 503, "kmap-timeout"},
	{-EINPROGRESS, 503, "machine-restoring"},
};

START_TEST(table_row)
{
	const struct api_problem_type *pt = api_problem_lookup(rows[_i].err);

	ck_assert_uint_eq(pt->status, rows[_i].status);
	ck_assert_str_eq(pt->slug, rows[_i].slug);
	ck_assert_ptr_nonnull(pt->title);
}
END_TEST

START_TEST(unknown_errno_is_internal)
{
	const struct api_problem_type *pt = api_problem_lookup(-EPIPE);

	ck_assert_uint_eq(pt->status, 500);
	ck_assert_str_eq(pt->slug, "internal-error");
	ck_assert_uint_eq(api_problem_lookup(0)->status, 500);
}
END_TEST

START_TEST(body_shape)
{
	json_t *p = api_problem_new(-ENOSPC, "zone Normal is exhausted", "/v1/machines/a");

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(json_string_value(json_object_get(p, "type")),
			 "https://mm32.dev/problems/guest-out-of-memory");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 409);
	ck_assert_str_eq(json_string_value(json_object_get(p, "detail")),
			 "zone Normal is exhausted");
	ck_assert_str_eq(json_string_value(json_object_get(p, "instance")), "/v1/machines/a");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(p, "title")));
	ck_assert_uint_eq(json_object_size(p), 5);
	json_decref(p);
}
END_TEST

START_TEST(body_survives_bad_utf8_and_empty_detail)
{
	json_t *p = api_problem_new(-EINVAL, "", "/v1/\xff\xfe");

	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(json_string_value(json_object_get(p, "instance")), "");
	ck_assert_str_eq(json_string_value(json_object_get(p, "detail")),
			 json_string_value(json_object_get(p, "title")));
	json_decref(p);
}
END_TEST

/* A page fault's problem carries the faulting address and error code of the oops lines. */
START_TEST(page_fault_member)
{
	static const char oops[] = "BUG: unable to handle page fault for address: c1000000\n"
				   "#PF: supervisor write access in kernel mode\n"
				   "#PF: error_code(0x0003) - permissions violation";
	json_t *p = api_problem_new(-EACCES, oops, "/v1/machines/a/memory"), *f;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "status")), 422);
	ck_assert_str_eq(json_string_value(json_object_get(p, "detail")), oops);
	f = json_object_get(p, "fault");
	ck_assert_str_eq(json_string_value(json_object_get(f, "address")), "0xc1000000");
	ck_assert_int_eq(json_integer_value(json_object_get(f, "error_code")), 3);
	ck_assert_uint_eq(json_object_size(f), 2);
	json_decref(p);

	p = api_problem_new(-EACCES,
			    "BUG: kernel NULL pointer dereference, address: 00000010\n"
			    "#PF: supervisor read access in kernel mode\n"
			    "#PF: error_code(0x0000) - not-present page",
			    "/x");
	f = json_object_get(p, "fault");
	ck_assert_str_eq(json_string_value(json_object_get(f, "address")), "0x10");
	ck_assert_int_eq(json_integer_value(json_object_get(f, "error_code")), 0);
	json_decref(p);

	/* lines that do not say both: no member, the detail as it is */
	p = api_problem_new(-EACCES, "something else", "/x");
	ck_assert_ptr_null(json_object_get(p, "fault"));
	ck_assert_uint_eq(json_object_size(p), 5);
	json_decref(p);
	p = api_problem_new(-EAGAIN, "the page allocator does not exist yet", "/x");
	ck_assert_str_eq(json_string_value(json_object_get(p, "type")),
			 "https://mm32.dev/problems/boot-phase");
	ck_assert_uint_eq(json_object_size(p), 5);
	json_decref(p);
}
END_TEST

START_TEST(error_helper)
{
	struct mm_error err = {0};

	ck_assert_int_eq(api_error(&err, -EINVAL, "field '%s' bad", "cpus"), -EINVAL);
	ck_assert_int_eq(err.code, -EINVAL);
	ck_assert_str_eq(err.msg, "field 'cpus' bad");
	ck_assert_int_eq(api_error(NULL, -ENOENT, "x"), -ENOENT);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */

Suite *test_suite(void)
{
	Suite *s = suite_create("problem");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, table_row, 0, sizeof(rows) / sizeof(rows[0]));
	tcase_add_test(tc, unknown_errno_is_internal);
	tcase_add_test(tc, body_shape);
	tcase_add_test(tc, body_survives_bad_utf8_and_empty_detail);
	tcase_add_test(tc, page_fault_member);
	tcase_add_test(tc, error_helper);
	suite_add_tcase(s, tc);
	return s;
}
