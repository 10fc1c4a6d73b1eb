/* SPDX-License-Identifier: MIT */
/*
 * query.c - what a URL carries besides its route: query arguments and path segments.
 *
 * A query argument is decoded by the transport (server.c); here it is read as a value: a
 * decimal integer, an address, a known key. Unknown or repeated arguments are refused (422),
 * never ignored, so that a typo does not silently read the default. A path segment that is an
 * id (a snapshot, a job) and is not a decimal id names nothing: 404, as an unknown id.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "call-int.h"
#include "problem.h"

/* A query argument as an integer: decimal digits only, at most @max. */
int api_parse_uint(const char *what, const char *s, uint32_t max, uint32_t *ret,
		   struct mm_error *err)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; s && s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 19)
			break;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (!s || !s[0] || s[i])
		return api_error(err, -EINVAL, "%s must be a decimal integer, not \"%.32s\"", what,
				 s ? s : "");
	if (x > max)
		return api_error(err, -EINVAL, "%s must be at most %" PRIu32 ", not %" PRIu64, what,
				 max, x);
	*ret = (uint32_t)x;
	return 0;
}

/* Refuse query arguments other than @known (NULL-terminated) and repeated ones. */
int api_query_check(const struct api_call *c, const char *const *known, struct mm_error *err)
{
	for (size_t i = 0; i < c->req->nquery; i++) {
		const char *key = c->req->query[i].key;
		const char *const *k;

		for (k = known; *k && strcmp(*k, key); k++)
			;
		if (!*k)
			return api_error(err, -EINVAL, "unknown query parameter '%.64s'", key);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->req->query[j].key, key))
				return api_error(err, -EINVAL,
						 "query parameter '%.64s' is given twice", key);
	}
	return 0;
}

/* The query argument @key as an integer 0..@max; *@ret untouched when absent. */
int api_query_uint(const struct api_call *c, const char *key, uint32_t max, uint32_t *ret,
		   bool *present, struct mm_error *err)
{
	char what[80];

	for (size_t i = 0; i < c->req->nquery; i++) {
		if (strcmp(c->req->query[i].key, key))
			continue;
		snprintf(what, sizeof(what), "query parameter '%s'", key);
		if (present)
			*present = true;
		return api_parse_uint(what, c->req->query[i].value, max, ret, err);
	}
	return 0;
}

/* The value of query argument @key ("" for "?key" without '='), or NULL when absent. */
const char *api_query_value(const struct api_call *c, const char *key, bool *present)
{
	for (size_t i = 0; i < c->req->nquery; i++) {
		if (!strcmp(c->req->query[i].key, key)) {
			*present = true;
			return c->req->query[i].value ? c->req->query[i].value : "";
		}
	}
	*present = false;
	return NULL;
}

/* The address in query argument @key, required, at most @max. */
int api_query_addr(const struct api_call *c, const char *key, uint64_t max, uint64_t *ret,
		   struct mm_error *err)
{
	char what[64];
	bool present;
	const char *v = api_query_value(c, key, &present);

	snprintf(what, sizeof(what), "query parameter '%s'", key);
	if (!present)
		return api_error(err, -EINVAL, "%s (an address such as 0xc0000000) is required",
				 what);
	return api_parse_addr(what, v, max, ret, err);
}

/* A {snapshot} or {job} path segment: a decimal id; anything else names nothing (404). */
int api_path_id(const char *what, const char *s, int64_t *ret, struct mm_error *err)
{
	int64_t x = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9' && i < 18; i++)
		x = x * 10 + (s[i] - '0');
	if (!s[0] || s[i] || x == 0)
		return api_error(err, -ENOENT, "no %s '%.32s'", what, s);
	*ret = x;
	return 0;
}
