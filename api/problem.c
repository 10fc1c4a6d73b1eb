/* SPDX-License-Identifier: MIT */
/*
 * problem.c - the errno -> HTTP status -> problem type table (see problem.h).
 *
 * The first eight rows are the contract of mmcore.h and STYLE.md; the rest belong to the
 * HTTP layer. The table is searched linearly: it is short and read once per failed request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"

static const struct api_problem_type problem_types[] = {
	{-EINVAL, 422, "invalid-argument", "Invalid argument"},
	{-ENOENT, 404, "not-found", "Not found"},
	{-EBUSY, 409, "conflict", "Conflict"},
	{-ENOSPC, 409, "guest-out-of-memory", "Guest out of memory"},
	{-ENOMEM, 503, "host-out-of-memory", "Host out of memory"},
	{-EFAULT, 500, "invariant-violated", "Invariant violated"},
	{-EAGAIN, 409, "boot-phase", "Not booted that far"},
	{-EACCES, 422, "page-fault", "Page fault"},
	{-EDEADLK, 409, "scheduling-while-atomic", "Scheduling while atomic"},
	{-ETIMEDOUT, 503, "kmap-timeout", "Timed out waiting for a pkmap slot"},
	/* HTTP layer and daemon */
	{-EEXIST, 409, "conflict", "Conflict"},
	{-EBADMSG, 400, "bad-request", "Malformed request body"},
	{-E2BIG, 413, "payload-too-large", "Payload too large"},
	{-EOPNOTSUPP, 405, "method-not-allowed", "Method not allowed"},
	{-EMEDIUMTYPE, 415, "unsupported-media-type", "Unsupported media type"},
	{-EIO, 500, "storage-error", "Storage error"},
	{-ESTALE, 503, "machine-diverged", "Machine differs from its journal"},
	{-EXFULL, 507, "over-capacity", "Over capacity"},
	{-EINPROGRESS, 503, "machine-restoring", "Machine being restored"},
	/* access (api/server.c) */
	{-ENOKEY, 401, "unauthorized", "Unauthorized"},
	{-EDQUOT, 429, "too-many-requests", "Too many requests"},
	/* the dashboard's API (api/http.c, api/server.c) */
	{-EPROTONOSUPPORT, 406, "not-acceptable", "Not acceptable"},
	{-EPERM, 403, "origin-not-allowed", "Origin not allowed"},
	{-EUSERS, 503, "event-streams-full", "Every event stream is in use"},
	{-EMFILE, 429, "too-many-event-streams", "Too many event streams"},
};

static const struct api_problem_type problem_internal = {0, 500, "internal-error",
							 "Internal error"};

const struct api_problem_type *api_problem_lookup(int err)
{
	for (size_t i = 0; i < sizeof(problem_types) / sizeof(problem_types[0]); i++)
		if (problem_types[i].err == err)
			return &problem_types[i];
	return &problem_internal;
}

/* A JSON string for @s, or for @fallback when @s is not valid UTF-8 (a raw request path). */
static json_t *string_or(const char *s, const char *fallback)
{
	json_t *j = json_string(s);

	return j ? j : json_string(fallback);
}

/*
 * The "fault" member of a page-fault problem, read back from the oops lines of mmcore's
 * message: "... for address: %08x" (or "dereference, address: %08x") and
 * "#PF: error_code(0x%04x)". NULL when the lines do not say both.
 */
json_t *api_fault_from_oops(const char *oops)
{
	const char *a = oops ? strstr(oops, "address: ") : NULL;
	const char *e = oops ? strstr(oops, "error_code(") : NULL;
	unsigned long long addr, ec;
	char *end, hex[24];

	if (!a || !e)
		return NULL;
	addr = strtoull(a + 9, &end, 16);
	if (end == a + 9 || addr > UINT32_MAX)
		return NULL;
	ec = strtoull(e + 11, &end, 16);
	if (end == e + 11 || *end != ')')
		return NULL;
	snprintf(hex, sizeof(hex), "0x%llx", addr);
	return json_pack("{s:s, s:I}", "address", hex, "error_code", (json_int_t)ec);
}

json_t *api_problem_new(int err, const char *detail, const char *instance)
{
	const struct api_problem_type *pt = api_problem_lookup(err);
	char type[128];
	json_t *p;

	snprintf(type, sizeof(type), API_PROBLEM_BASE "%s", pt->slug);
	p = json_object();
	if (!p)
		return NULL;
	if (json_object_set_new(p, "type", json_string(type)) ||
	    json_object_set_new(p, "title", json_string(pt->title)) ||
	    json_object_set_new(p, "status", json_integer(pt->status)) ||
	    json_object_set_new(p, "detail",
				string_or(detail && *detail ? detail : pt->title, pt->title)) ||
	    json_object_set_new(p, "instance", string_or(instance ? instance : "", ""))) {
		json_decref(p);
		return NULL;
	}
	if (err == -EACCES) {
		json_t *fault = api_fault_from_oops(detail);

		if (fault && json_object_set_new(p, "fault", fault)) {
			json_decref(p);
			return NULL;
		}
	}
	return p;
}

int api_error(struct mm_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}
