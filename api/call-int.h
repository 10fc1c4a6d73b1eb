/* SPDX-License-Identifier: MIT */
/*
 * call-int.h - struct api_call, shared by the files of api/ that answer requests (router.c,
 * views.c, query.c). Handlers outside api/ (the daemon's routes) see it only through the
 * api_call_*() accessors of router.h.
 */
#ifndef API_CALL_INT_H
#define API_CALL_INT_H

#include "router.h"
#include "scan.h"

struct api_call {
	const struct api_host *host;
	const struct api_request *req;
	const struct api_route *route;
	const char *cap[3];	    /* the "*" segments */
	json_t *body;		    /* parsed body for routes with one */
	struct api_scan_batch fast; /* or, for a batch of commands, the body as scanned */
	struct api_lease lease;	    /* for machine routes */
	json_t *extra;		    /* extra problem members set by a failing handler */
};

/* The view handlers of api/ (views.c), named in the route table (routes.c). */
api_handler_fn h_health, h_version, h_metrics, h_list, h_create, h_machine, h_delete, h_proc,
	h_dmesg, h_layout, h_zones, h_e820, h_memblock, h_sysctl_get, h_frames, h_frame, h_check,
	h_journal, h_translate, h_cpus, h_tlb, h_page_tables, h_kmap, h_kmap_local, h_slab,
	h_slab_cache, h_vmalloc, h_events, h_openapi;
/* GET .../memmap: one byte per frame (memmap.c); GET / and /web/{file}: the dashboard (web.c) */
api_handler_fn h_memmap, h_web_index, h_web_file;
/* POST /v1/machines/{id}/commands: one command or a batch (router.c) */
api_handler_fn h_commands;
/* A command route's request made into its command and run (router.c) */
api_handler_fn api_route_command;

/* A query argument or path segment as an unsigned integer: decimal digits only, at most
 * @max; -EINVAL naming @what otherwise. */
int api_parse_uint(const char *what, const char *s, uint32_t max, uint32_t *ret,
		   struct mm_error *err);
/* The query argument @key as an integer 0..@max; *@ret untouched when absent. */
/* GET /frames' and /memmap's query: the frames [*@start, *@start + *@n) (views.c). */
int api_frame_range(struct api_call *c, uint32_t count, uint32_t max, uint32_t *start, uint32_t *n,
		    struct mm_error *err);

int api_query_uint(const struct api_call *c, const char *key, uint32_t max, uint32_t *ret,
		   bool *present, struct mm_error *err);
/* The address in query argument @key, required, at most @max. */
int api_query_addr(const struct api_call *c, const char *key, uint64_t max, uint64_t *ret,
		   struct mm_error *err);

/* ---- http.c: conditional requests, negotiation, paging, ?diff= ---- */

/* The ETag of a view of the leased machine, @kind 'j' (JSON) or 't' (text); "" when the host
 * tells no state identity. */
void api_view_etag(const struct api_host *host, const struct api_lease *lease, char kind, char *buf,
		   size_t size);
/* Does the If-None-Match header @inm match @etag (weak comparison, lists, "*")? */
bool api_etag_matches(const char *inm, const char *etag);
/* The index of the offer @accept prefers (q-values; ties: the earlier offer); 0 without
 * Accept; -1 when none is acceptable (406). */
int api_accept_choose(const char *accept, const char *const *offers, size_t n);
/* ?diff=zones of a command route: a capture of the zones before it (NULL when not asked),
 * and the "diff" member added to its answer after it (frees the capture). */
struct api_diff;
int api_diff_begin(const struct api_call *c, struct api_diff **ret, struct mm_error *err);
int api_diff_end(struct api_call *c, struct api_diff *d, struct api_reply *out,
		 struct mm_error *err);

#endif /* API_CALL_INT_H */
