/* SPDX-License-Identifier: MIT */
/*
 * test-ratelimit.c - the per-client token buckets: bursts, refill, Retry-After, clients kept
 * apart, and memory that stays bounded.
 */
#include <check.h>
#include <stdio.h>

#include "ratelimit.h"

static struct api_ratelimit *rl;

static void setup(void)
{
	ck_assert_int_eq(api_ratelimit_create(&rl), 0);
}

static void teardown(void)
{
	api_ratelimit_destroy(rl);
	rl = NULL;
}

START_TEST(no_limit)
{
	for (int i = 0; i < 10000; i++)
		ck_assert(api_ratelimit_take(rl, "a", 0, 0, 1, NULL));
	ck_assert_uint_eq(api_ratelimit_clients(rl), 0);
}
END_TEST

START_TEST(burst_then_rate)
{
	unsigned int retry = 0;

	/* 2 per second, bursts of 3 */
	for (int i = 0; i < 3; i++)
		ck_assert(api_ratelimit_take(rl, "a", 10.0, 2, 3, &retry));
	ck_assert(!api_ratelimit_take(rl, "a", 10.0, 2, 3, &retry));
	ck_assert_uint_eq(retry, 1); /* half a second, rounded up */
	ck_assert(!api_ratelimit_take(rl, "a", 10.4, 2, 3, &retry));
	ck_assert(api_ratelimit_take(rl, "a", 10.5, 2, 3, &retry));
	ck_assert(!api_ratelimit_take(rl, "a", 10.6, 2, 3, &retry));
	/* long idle: back to a full burst, not more */
	for (int i = 0; i < 3; i++)
		ck_assert(api_ratelimit_take(rl, "a", 100.0, 2, 3, &retry));
	ck_assert(!api_ratelimit_take(rl, "a", 100.0, 2, 3, &retry));
}
END_TEST

START_TEST(retry_after_rounds_up)
{
	unsigned int retry = 0;

	/* one per 10 s: after the burst of 1, the next is 10 s away */
	ck_assert(api_ratelimit_take(rl, "slow", 0, 1, 1, &retry));
	ck_assert(!api_ratelimit_take(rl, "slow", 0.25, 1, 1, &retry));
	ck_assert_uint_eq(retry, 1);
	ck_assert(api_ratelimit_take(rl, "slow", 1.0, 1, 1, &retry));
	/* 1000 per second: never less than 1 s */
	for (int i = 0; i < 5; i++)
		api_ratelimit_take(rl, "fast", 0, 1000, 5, &retry);
	ck_assert(!api_ratelimit_take(rl, "fast", 0, 1000, 5, &retry));
	ck_assert_uint_eq(retry, 1);
}
END_TEST

START_TEST(clients_apart)
{
	ck_assert(api_ratelimit_take(rl, "127.0.0.1", 0, 1, 1, NULL));
	ck_assert(!api_ratelimit_take(rl, "127.0.0.1", 0, 1, 1, NULL));
	ck_assert(api_ratelimit_take(rl, "127.0.0.2", 0, 1, 1, NULL));
	ck_assert(api_ratelimit_take(rl, "uid:1000", 0, 1, 1, NULL));
	ck_assert_uint_eq(api_ratelimit_clients(rl), 3);
}
END_TEST

START_TEST(rate_change_keeps_buckets)
{
	/* a reload lowers the burst: a full bucket holds no more than the new burst */
	for (int i = 0; i < 10; i++)
		ck_assert(api_ratelimit_take(rl, "a", 0, 1, 100, NULL));
	ck_assert(api_ratelimit_take(rl, "a", 0, 1, 2, NULL));
	ck_assert(api_ratelimit_take(rl, "a", 0, 1, 2, NULL));
	ck_assert(!api_ratelimit_take(rl, "a", 0, 1, 2, NULL));
}
END_TEST

START_TEST(bounded_memory)
{
	char key[32];

	int ok = 0;

	/* many clients at once, each leaving a partly empty bucket: past 65536 of them, new
	 * clients share one bucket */
	for (int i = 0; i < 70000; i++) {
		snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		ok += api_ratelimit_take(rl, key, 0, 1, 2, NULL);
	}
	ck_assert_uint_eq(api_ratelimit_clients(rl), 65536);
	ck_assert_int_eq(ok, 65536 + 2);
	/* their buckets refilled: a new client sweeps them away */
	ck_assert(api_ratelimit_take(rl, "new", 10.0, 1, 2, NULL));
	ck_assert_uint_le(api_ratelimit_clients(rl), 4096);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */
Suite *test_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("buckets");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, no_limit);
	tcase_add_test(tc, burst_then_rate);
	tcase_add_test(tc, retry_after_rounds_up);
	tcase_add_test(tc, clients_apart);
	tcase_add_test(tc, rate_change_keeps_buckets);
	tcase_add_test(tc, bounded_memory);
	suite_add_tcase(s, tc);
	return s;
}
