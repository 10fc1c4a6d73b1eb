/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.h - a token bucket per client, for the per-client request rate limit.
 *
 * A client (a key chosen by the caller: an IP address, an IPv6 /64, "uid:N" on a UNIX
 * socket) may make @burst requests at once and then @rate per second. The rate and the
 * burst are passed on every call, so that a reload changes them without a reset.
 *
 * Memory: one small entry per client seen. A client whose bucket has refilled is the same
 * as one never seen, so such entries are dropped whenever the table grows past a bound;
 * past a hard bound, clients never seen before share one bucket (a flood of addresses
 * cannot exhaust the host).
 *
 * Locking: a mutex inside; callable from any thread. Time is the caller's (seconds on a
 * monotonic clock), which keeps the arithmetic testable.
 */
#ifndef API_RATELIMIT_H
#define API_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

struct api_ratelimit;

int api_ratelimit_create(struct api_ratelimit **ret);
/* Accepts NULL. */
void api_ratelimit_destroy(struct api_ratelimit *rl);

/*
 * api_ratelimit_take - take one request from @key's bucket at time @now.
 * @rate: requests per second (0: no limit, always true); @burst: the bucket's size (>= 1).
 * @ret_retry_after: when false is returned, whole seconds until a request would be
 * accepted (>= 1), for Retry-After.
 * Return: whether the request may proceed.
 */
bool api_ratelimit_take(struct api_ratelimit *rl, const char *key, double now, unsigned int rate,
			unsigned int burst, unsigned int *ret_retry_after);

/* The number of clients tracked now (for tests). */
size_t api_ratelimit_clients(struct api_ratelimit *rl);

#endif /* API_RATELIMIT_H */
