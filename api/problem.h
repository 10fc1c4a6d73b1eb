/* SPDX-License-Identifier: MIT */
/*
 * problem.h - the one table from a negative errno to an RFC 9457 problem.
 *
 * Every failure in api/ is a negative errno plus a message a person can act on, exactly
 * as mmcore reports its own (struct mm_error). This table is the only place that decides
 * which HTTP status and which stable problem type a code becomes; handlers never pick a
 * status for an error themselves. Codes that mmcore never returns are used by the HTTP
 * layer for its own failures (-EBADMSG: malformed JSON, -E2BIG: payload too large,
 * -EOPNOTSUPP: method not allowed, -EMEDIUMTYPE: unsupported media type, -EEXIST:
 * duplicate name, -EIO: the store failed, -ESTALE: a machine that differs from its journal
 * after a failed append and a failed rebuild refuses changes, -ENOKEY: no valid bearer token,
 * -EDQUOT: over the per-client rate limit).
 *
 * Two codes come from the emulated machine rather than from the request: -EAGAIN (409
 * boot-phase: the machine stopped at an earlier boot phase than the call needs; the detail
 * names both phases) and -EACCES (422 page-fault: the emulated CPU faulted; the detail is
 * the kernel's oops lines, and the problem carries "fault": {"address", "error_code"}).
 *
 * Invariant: every code maps to exactly one entry; unknown codes map to 500 internal-error.
 */
#ifndef API_PROBLEM_H
#define API_PROBLEM_H

#include <jansson.h>

#include "mmcore.h"

#define API_PROBLEM_BASE "https://mm32.dev/problems/"

struct api_problem_type {
	int err;	     /* negative errno */
	unsigned int status; /* HTTP status */
	const char *slug;    /* the last segment of the type URI */
	const char *title;   /* short, human, stable */
};

/* The entry for @err (a negative errno); never NULL. */
const struct api_problem_type *api_problem_lookup(int err);

/*
 * api_problem_new - build a problem+json body for @err.
 * @detail: may be NULL or empty (then the title is repeated); @instance: the request path.
 * For -EACCES the body also has "fault" (api_fault_from_oops()) when @detail tells it.
 * Return: a new reference, or NULL if the host is out of memory.
 */
json_t *api_problem_new(int err, const char *detail, const char *instance);

/* {"address": "0x..", "error_code": N} read from mmcore's oops lines (new reference), or
 * NULL when they do not name both. */
json_t *api_fault_from_oops(const char *oops);

/*
 * api_error - fill @err (may be NULL) with @code and a printf-style message.
 * Return: @code, so that callers can write "return api_error(err, -EINVAL, ...);".
 */
int api_error(struct mm_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* API_PROBLEM_H */
