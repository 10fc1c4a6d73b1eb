/* SPDX-License-Identifier: MIT */
/*
 * views.c - the routes that read: a machine and its kernel's structures as JSON and text.
 *
 * Each handler reads the leased machine through mmcore's getters and writes what codec.c
 * makes of it; none changes a machine (the ones that do are command routes, routes.c). Also
 * here: the machines' collection (list with each machine's summary, create, clone, delete),
 * which the host owns, the invariant checker's report, the journal (paged), the journal as it
 * grows (GET .../events: the replay and the subscription; the transport streams it),
 * /metrics and /openapi.yaml.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#include "call-int.h"
#include "metrics.h"
#include "problem.h"

/* The code a codec left in @err when it returned NULL. */
static int failed_code(const struct mm_error *err)
{
	return err->code < 0 ? err->code : -ENOMEM;
}

static int h_clone(struct api_call *c, struct api_reply *out, struct mm_error *err);

int h_health(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	return api_reply_json(out, 200, json_pack("{s:s}", "status", "ok"), err);
}

int h_version(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	return api_reply_json(out, 200,
			      json_pack("{s:s, s:s, s:i}", "mm32", MM32_VERSION, "kernel",
					MM_VERSION_KERNEL, "boot_revision", MM_BOOT_REVISION),
			      err);
}

/*
 * What a dashboard's first screen needs of a machine, from counters only (no /proc text is
 * rendered): its seq and ETag (the ETag of GET /v1/machines/{id}), MemTotal and MemFree in kB
 * as /proc/meminfo says them (totalram_pages and NR_FREE_PAGES, 4 kB pages), and each zone's
 * free pages against its watermarks.
 */
static int list_summary(const struct api_call *c, const struct api_lease *lease, json_t *o)
{
	struct mm_zone_info *z;
	struct api_state_id id = {0};
	struct mm_totals t;
	json_t *zones = json_array();
	char etag[80];

	if (!zones)
		return -ENOMEM;
	api_view_etag(c->host, lease, 'j', etag, sizeof(etag));
	if (c->host->ops->machine_state)
		c->host->ops->machine_state(c->host->data, lease, &id);
	mm_get_totals(lease->m, &t);
	z = mm_machine_phase(lease->m) >= MM_PHASE_BUDDY ? malloc(sizeof(*z)) : NULL;
	for (int i = 0; z && i < MM_NR_ZONES; i++) {
		if (mm_get_zone(lease->m, i, z) < 0 || !z->populated)
			continue;
		json_array_append_new(zones, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "name",
						       mm_zone_name(i), "free", (json_int_t)z->free,
						       "min", (json_int_t)z->wmark_min, "low",
						       (json_int_t)z->wmark_low, "high",
						       (json_int_t)z->wmark_high, "managed",
						       (json_int_t)z->managed));
	}
	free(z);
	if (json_object_set_new(o, "seq", json_integer(id.seq)) ||
	    json_object_set_new(o, "etag", etag[0] ? json_string(etag) : json_null()) ||
	    json_object_set_new(o, "mem_total_kb",
				json_integer((json_int_t)t.totalram_pages * 4)) ||
	    json_object_set_new(o, "mem_free_kb", json_integer((json_int_t)t.nr_free_pages * 4)) ||
	    json_object_set_new(o, "zones", zones))
		return -ENOMEM;
	return 0;
}

/* GET /v1/machines?after=&limit=: a page of the machines, by id, each with its summary. */
int h_list(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"after", "limit", NULL};
	json_t *ids, *list = json_array(), *id;
	const char *after, *last = NULL;
	bool more = false;
	size_t i, limit;
	int r;

	if (!list)
		return api_error(err, -ENOMEM, "out of memory");
	r = api_query_check(c, known, err);
	if (r == 0)
		r = api_query_page(c, false, NULL, &after, API_PAGE_DEFAULT, API_PAGE_MAX, &limit,
				   err);
	if (r == 0)
		r = c->host->ops->machine_ids(c->host->data, &ids, err);
	if (r < 0) {
		json_decref(list);
		return r;
	}
	json_array_foreach(ids, i, id) {
		struct api_lease lease;
		struct mm_error ignore;
		const char *state = "ready";
		char why[200] = "";
		json_t *o;

		if (after && strcmp(json_string_value(id), after) <= 0)
			continue;
		if (json_array_size(list) == limit) {
			more = true;
			break;
		}
		/* a machine being restored or left unloaded is listed with its state, unwaited */
		if (c->host->ops->machine_status &&
		    c->host->ops->machine_status(c->host->data, json_string_value(id), &state, why,
						 sizeof(why)) < 0)
			continue;
		if (strcmp(state, "ready")) {
			o = json_pack("{s:O, s:O, s:s}", "id", id, "name", id, "state", state);
			if (o && why[0] && json_object_set_new(o, "reason", json_string(why))) {
				json_decref(o);
				o = NULL;
			}
			if (!o || json_array_append_new(list, o)) {
				json_decref(ids);
				json_decref(list);
				return api_error(err, -ENOMEM, "out of memory");
			}
			last = json_string_value(id);
			continue;
		}
		/* a machine deleted since machine_ids() is simply not listed */
		if (c->host->ops->machine_acquire(c->host->data, json_string_value(id), &lease,
						  &ignore) < 0)
			continue;
		o = api_machine_summary(lease.id, lease.m, err);
		if (o && list_summary(c, &lease, o) < 0) {
			json_decref(o);
			o = NULL;
		}
		c->host->ops->machine_release(c->host->data, &lease);
		if (o && json_object_set_new(o, "state", json_string("ready"))) {
			json_decref(o);
			o = NULL;
		}
		if (!o || json_array_append_new(list, o)) {
			json_decref(ids);
			json_decref(list);
			return api_error(err, -ENOMEM, "out of memory");
		}
		last = json_string_value(id);
	}
	if (more && last)
		api_reply_next(c, out, last, limit);
	r = api_reply_json(out, 200,
			   json_pack("{s:o, s:o}", "machines", list, "next",
				     more && last ? json_string(last) : json_null()),
			   err);
	json_decref(ids);
	return r;
}

int h_create(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_config *cfg;
	char name[API_NAME_MAX];
	struct api_lease lease;
	json_t *doc;
	int r;

	if (json_is_object(c->body) && json_object_get(c->body, "from_snapshot"))
		return h_clone(c, out, err);
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return api_error(err, -ENOMEM, "out of memory");
	r = api_machine_spec_parse(c->body, cfg, name, err);
	if (r < 0)
		goto out;
	r = c->host->ops->machine_create(c->host->data, name, cfg, &lease, err);
	if (r < 0) {
		api_call_failed(r, err, "mm_machine_create");
		goto out;
	}
	doc = api_machine_to_json(lease.id, lease.m, err);
	snprintf(out->location, sizeof(out->location), "/v1/machines/%s", lease.id);
	c->host->ops->machine_release(c->host->data, &lease);
	r = doc ? api_reply_json(out, 201, doc, err) : failed_code(err);
out:
	free(cfg);
	return r;
}

int h_machine(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	json_t *doc = api_machine_to_json(c->lease.id, c->lease.m, err);

	return doc ? api_reply_json(out, 200, doc, err) : failed_code(err);
}

int h_delete(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	int r = c->host->ops->machine_delete(c->host->data, c->cap[0], err);

	if (r < 0)
		return r;
	/* its event streams say so and end */
	if (c->host->events_gone)
		c->host->events_gone(c->host->transport, c->cap[0]);
	out->status = 204;
	return 0;
}

int h_proc(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	int r = mm_proc_render(c->lease.m, c->cap[1], &out->text, err);

	if (r < 0)
		return api_call_failed(r, err, "mm_proc_render");
	out->status = 200;
	return 0;
}

int h_dmesg(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	int r = mm_dmesg_render(c->lease.m, &out->text, err);

	if (r < 0)
		return api_call_failed(r, err, "mm_dmesg_render");
	out->status = 200;
	return 0;
}

int h_layout(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_layout l;

	mm_get_layout(c->lease.m, &l);
	return api_reply_json(out, 200, api_layout_to_json(&l), err);
}

int h_zones(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	json_t *zones = api_zones_array(c->lease.m, err);

	if (!zones)
		return failed_code(err);
	return api_reply_json(out, 200,
			      json_pack("{s:o, s:o}", "zones", zones, "totals",
					api_machine_totals_json(c->lease.m)),
			      err);
}

int h_e820(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	json_t *doc = api_e820_json(c->lease.m, err);

	return doc ? api_reply_json(out, 200, doc, err) : failed_code(err);
}

int h_memblock(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	json_t *doc = api_memblock_json(c->lease.m, err);

	return doc ? api_reply_json(out, 200, doc, err) : failed_code(err);
}

int h_sysctl_get(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	json_t *v;
	int r = api_sysctl_get_json(c->lease.m, c->cap[1], &v, err);

	if (r < 0)
		return api_call_failed(r, err, "mm_sysctl_get");
	return api_reply_json(out, 200, json_pack("{s:s, s:o}", "name", c->cap[1], "value", v),
			      err);
}

/* POST /v1/machines {"from_snapshot": id, "name"?}: a clone. */
static int h_clone(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	json_t *from = json_object_get(c->body, "from_snapshot"), *name, *doc, *v;
	struct api_lease lease;
	const char *key;
	int r;

	if (!c->host->ops->machine_clone)
		return api_error(err, -ENOENT, "this server keeps no snapshots or sessions");
	json_object_foreach(c->body, key, v) {
		if (strcmp(key, "from_snapshot") && strcmp(key, "name"))
			return api_error(err, -EINVAL,
					 "unknown field '%.64s': a clone takes its configuration "
					 "from the snapshot (known: from_snapshot, name)",
					 key);
	}
	if (!json_is_integer(from) || json_integer_value(from) < 1)
		return api_error(err, -EINVAL, "field 'from_snapshot' must be a snapshot id");
	name = json_object_get(c->body, "name");
	if (name && (!json_is_string(name) || !api_name_valid(json_string_value(name))))
		return api_error(err, -EINVAL,
				 "field 'name' must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
	r = c->host->ops->machine_clone(c->host->data, name ? json_string_value(name) : "",
					json_integer_value(from), &lease, err);
	if (r < 0)
		return api_call_failed(r, err, "the clone");
	doc = api_machine_to_json(lease.id, lease.m, err);
	snprintf(out->location, sizeof(out->location), "/v1/machines/%s", lease.id);
	c->host->ops->machine_release(c->host->data, &lease);
	return doc ? api_reply_json(out, 201, doc, err) : failed_code(err);
}

int h_frame(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_frame_info f;
	uint32_t pfn;
	json_t *doc;
	int r;

	r = api_parse_uint("the pfn", c->cap[1], UINT32_MAX, &pfn, err);
	if (r < 0)
		return r;
	r = mm_get_frame(c->lease.m, pfn, &f, err);
	if (r < 0)
		return api_call_failed(r, err, "mm_get_frame");
	doc = api_frame_to_json(&f);
	return doc ? api_reply_json(out, 200, doc, err)
		   : api_error(err, -ENOMEM, "out of memory building the frame");
}

/* GET .../slab: every cache with its geometry and slabs; GET .../slab/caches/{name}: one. */
int h_slab(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	json_t *doc;
	int r = api_slab_json(c->lease.m, &doc, err);

	if (r < 0)
		return api_call_failed(r, err, "the slab view");
	return api_reply_json(out, 200, doc, err);
}

int h_slab_cache(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	json_t *doc;
	int r = api_cache_json(c->lease.m, c->cap[1], &doc, err);

	if (r < 0)
		return api_call_failed(r, err, "the cache view");
	return api_reply_json(out, 200, doc, err);
}

#define FRAMES_DEFAULT 64
#define FRAMES_MAX 4096

/*
 * The frames a range view answers for (GET /frames, GET /memmap): its query `start` and
 * `count` (default @count, 1..@max) checked against the machine (before the buddy phase
 * there are no struct pages: mmcore's 409), the range cut at max_pfn. 0 and *@start, *@n.
 */
int api_frame_range(struct api_call *c, uint32_t count, uint32_t max, uint32_t *start, uint32_t *n,
		    struct mm_error *err)
{
	static const char *const known[] = {"start", "count", NULL};
	uint32_t max_pfn = mm_max_pfn(c->lease.m);
	int r;

	*start = 0;
	r = api_query_check(c, known, err);
	if (r < 0)
		return r;
	if (mm_machine_phase(c->lease.m) < MM_PHASE_BUDDY) {
		struct mm_frame_info f;

		/* no struct pages yet: mmcore says which boot phase makes them (409) */
		r = mm_get_frame(c->lease.m, 0, &f, err);
		if (r < 0)
			return api_call_failed(r, err, "mm_get_frame");
	}
	r = api_query_uint(c, "start", UINT32_MAX, start, NULL, err);
	if (r < 0)
		return r;
	r = api_query_uint(c, "count", UINT32_MAX, &count, NULL, err);
	if (r < 0)
		return r;
	if (count < 1 || count > max)
		return api_error(err, -EINVAL,
				 "query parameter 'count' must be 1..%" PRIu32 ", not %" PRIu32,
				 max, count);
	if (*start >= max_pfn)
		return api_error(err, -EINVAL,
				 "query parameter 'start' must be below max_pfn %" PRIu32
				 ", not %" PRIu32,
				 max_pfn, *start);
	*n = max_pfn - *start < count ? max_pfn - *start : count;
	return 0;
}

int h_frames(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	uint32_t start, n, max_pfn = mm_max_pfn(c->lease.m);
	json_t *frames, *doc;
	int r;

	r = api_frame_range(c, FRAMES_DEFAULT, FRAMES_MAX, &start, &n, err);
	if (r < 0)
		return r;
	frames = json_array();
	if (!frames)
		return api_error(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct mm_frame_info f;

		r = mm_get_frame(c->lease.m, start + i, &f, err);
		if (r < 0) {
			json_decref(frames);
			return api_call_failed(r, err, "mm_get_frame");
		}
		if (json_array_append_new(frames, api_frame_to_json(&f))) {
			json_decref(frames);
			return api_error(err, -ENOMEM, "out of memory building the frames");
		}
	}
	doc = json_pack("{s:I, s:I, s:I, s:o, s:o}", "start", (json_int_t)start, "count",
			(json_int_t)n, "max_pfn", (json_int_t)max_pfn, "next",
			start + n < max_pfn ? json_integer((json_int_t)start + n) : json_null(),
			"frames", frames);
	return api_reply_json(out, 200, doc, err);
}

int h_translate(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"va", "cpu", "space", "access", NULL};
	int space = MM_SPACE_KERNEL, access = MM_ACCESS_READ, r;
	struct mm_translation *t;
	const char *v;
	bool present;
	uint32_t cpu = 0;
	uint64_t va;
	json_t *doc;

	r = api_query_check(c, known, err);
	if (r < 0)
		return r;
	r = api_query_addr(c, "va", UINT32_MAX, &va, err);
	if (r < 0)
		return r;
	r = api_query_uint(c, "cpu", UINT32_MAX, &cpu, NULL, err);
	if (r < 0)
		return r;
	v = api_query_value(c, "space", &present);
	if (present && (r = api_parse_space("query parameter 'space'", v, &space, err)) < 0)
		return r;
	if (space != MM_SPACE_KERNEL)
		return api_error(
			err, -EINVAL,
			"query parameter 'space' must be \"kernel\": a translation walks "
			"the page tables of a virtual address (a physical one needs none)");
	v = api_query_value(c, "access", &present);
	if (present && (r = api_parse_access("query parameter 'access'", v, &access, err)) < 0)
		return r;
	t = malloc(sizeof(*t));
	if (!t)
		return api_error(err, -ENOMEM, "out of memory");
	r = mm_translate(c->lease.m, cpu, (uint32_t)va, access, t, err);
	doc = r < 0 ? NULL
		    : api_translation_to_json((uint32_t)va, cpu, access,
					      mm_machine_config(c->lease.m)->pae, t);
	free(t);
	if (r < 0)
		return api_call_failed(r, err, "mm_translate");
	return doc ? api_reply_json(out, 200, doc, err)
		   : api_error(err, -ENOMEM, "out of memory building the translation");
}

/* The {cpu} path segment: a decimal integer below the machine's cpus (else 422). */
static int cpu_param(const struct api_call *c, unsigned int *ret, struct mm_error *err)
{
	unsigned int ncpus = mm_machine_config(c->lease.m)->cpus;
	uint32_t cpu;
	int r = api_parse_uint("the cpu", c->cap[1], UINT32_MAX, &cpu, err);

	if (r < 0)
		return r;
	if (cpu >= ncpus)
		return api_error(err, -EINVAL,
				 "cpu %" PRIu32 " does not exist (the machine has %u)", cpu, ncpus);
	*ret = cpu;
	return 0;
}

int h_cpus(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	unsigned int ncpus = mm_machine_config(c->lease.m)->cpus;
	json_t *arr = json_array();

	if (!arr)
		return api_error(err, -ENOMEM, "out of memory");
	for (unsigned int cpu = 0; cpu < ncpus; cpu++) {
		struct mm_cpu_info info;
		int r = mm_get_cpu(c->lease.m, cpu, &info, err);

		if (r < 0) {
			json_decref(arr);
			return api_call_failed(r, err, "mm_get_cpu");
		}
		if (json_array_append_new(arr, api_cpu_to_json(cpu, &info))) {
			json_decref(arr);
			return api_error(err, -ENOMEM, "out of memory building the CPUs");
		}
	}
	return api_reply_json(out, 200, json_pack("{s:o}", "cpus", arr), err);
}

int h_tlb(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_tlb_entry *ents;
	struct mm_cpu_info info;
	unsigned int cpu = 0, max;
	json_t *doc, *arr;
	int r, n;

	r = cpu_param(c, &cpu, err);
	if (r < 0)
		return r;
	r = mm_get_cpu(c->lease.m, cpu, &info, err);
	if (r < 0)
		return api_call_failed(r, err, "mm_get_cpu");
	max = info.tlb_entries + info.tlb_large_entries;
	ents = calloc(max ? max : 1, sizeof(*ents));
	if (!ents)
		return api_error(err, -ENOMEM, "out of memory");
	n = mm_tlb_entries(c->lease.m, cpu, ents, max, err);
	if (n < 0) {
		free(ents);
		return api_call_failed(n, err, "mm_tlb_entries");
	}
	doc = api_cpu_to_json(cpu, &info);
	arr = json_array();
	for (int i = 0; doc && arr && i < n && (unsigned int)i < max; i++) {
		if (json_array_append_new(arr, api_tlb_entry_to_json(&ents[i]))) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free(ents);
	if (!doc || !arr || json_object_set_new(doc, "entries", arr)) {
		json_decref(doc);
		return api_error(err, -ENOMEM, "out of memory building the TLB");
	}
	return api_reply_json(out, 200, doc, err);
}

int h_page_tables(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"format", NULL};
	struct mm_page_tables pt;
	bool present, json;
	const char *v;
	json_t *doc;
	int r;

	r = api_query_check(c, known, err);
	if (r < 0)
		return r;
	v = api_query_value(c, "format", &present);
	if (present && strcmp(v, "text") && strcmp(v, "json"))
		return api_error(err, -EINVAL,
				 "query parameter 'format' must be \"text\" or \"json\", not "
				 "\"%.32s\"",
				 v);
	if (present) {
		json = !strcmp(v, "json");
	} else {
		/* the kernel's dump first; JSON when Accept prefers it (q-values, http.c) */
		static const char *const offers[] = {"text/plain", "application/json"};
		int k = api_accept_choose(c->req->accept, offers, 2);

		out->vary_accept = true;
		if (k < 0)
			return api_error(
				err, -EPROTONOSUPPORT,
				"Accept '%.64s' takes none of text/plain, application/json "
				"(or ?format=text|json)",
				c->req->accept);
		json = k == 1;
	}
	if (!json) {
		r = mm_page_tables_render(c->lease.m, &out->text, err);
		if (r < 0)
			return api_call_failed(r, err, "mm_page_tables_render");
		out->status = 200;
		return 0;
	}
	r = mm_page_tables_get(c->lease.m, &pt, err);
	if (r < 0)
		return api_call_failed(r, err, "mm_page_tables_get");
	doc = api_page_tables_to_json(&pt);
	mm_page_tables_free(&pt);
	return doc ? api_reply_json(out, 200, doc, err)
		   : api_error(err, -ENOMEM, "out of memory building the page tables");
}

#define CHECK_MAX_MSGS 64

int h_check(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	char(*msgs)[MM_ERR_MAX] = calloc(CHECK_MAX_MSGS, sizeof(*msgs));
	struct mm_report rep = {.max = CHECK_MAX_MSGS, .msgs = msgs};
	json_t *v;
	int r;

	if (!msgs)
		return api_error(err, -ENOMEM, "out of memory");
	r = mm_check(c->lease.m, &rep);
	v = json_array();
	for (unsigned int i = 0; v && i < rep.nr && i < rep.max; i++)
		json_array_append_new(v, json_string(msgs[i]));
	free(msgs);
	if (!v)
		return api_error(err, -ENOMEM, "out of memory");
	if (r == 0 && rep.nr == 0)
		return api_reply_json(out, 200, json_pack("{s:b, s:o}", "ok", 1, "violations", v),
				      err);
	c->extra = json_pack("{s:b, s:o}", "ok", 0, "violations", v);
	return api_error(err, -EFAULT, "%u invariant violation(s) found", rep.nr);
}

/* GET .../journal?after=&limit=: a page of the journal, oldest first; "next" (and the Link
 * header) is the ?after= of the next page, null on the last; "compacted" the snapshot a
 * compacted journal starts after (null: it is whole). */
int h_journal(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"after", "limit", NULL};
	json_t *entries, *last;
	int64_t after, base = 0, base_seq = 0;
	size_t limit;
	bool more = false;
	char next[24];
	int r;

	r = api_query_check(c, known, err);
	if (r == 0)
		r = api_query_page(c, true, &after, NULL, API_PAGE_DEFAULT, API_PAGE_MAX, &limit,
				   err);
	if (r < 0)
		return r;
	r = c->host->ops->journal_list(c->host->data, &c->lease, after, limit, &entries, &more,
				       err);
	if (r < 0)
		return api_call_failed(r, err, "reading the journal");
	/* where it starts: after the snapshot it was compacted behind, or at the start */
	if (c->host->ops->journal_base)
		r = c->host->ops->journal_base(c->host->data, &c->lease, &base, &base_seq, err);
	if (r < 0) {
		json_decref(entries);
		return api_call_failed(r, err, "reading the journal");
	}
	last = json_array_get(entries, json_array_size(entries) - 1);
	more = more && last;
	snprintf(next, sizeof(next), "%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(last, "seq")));
	if (more)
		api_reply_next(c, out, next, limit);
	return api_reply_json(
		out, 200,
		json_pack("{s:o, s:o, s:o}", "entries", entries, "next",
			  more ? json_integer(json_integer_value(json_object_get(last, "seq")))
			       : json_null(),
			  "compacted",
			  base ? json_pack("{s:I, s:I}", "snapshot", (json_int_t)base, "seq",
					   (json_int_t)base_seq)
			       : json_null()),
		err);
}

int h_metrics(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct api_text t = {0};
	int r = api_metrics_render(c->host, c->host->metrics, &t, err);

	if (r < 0) {
		api_text_free(&t);
		return r;
	}
	out->status = 200;
	out->json_text = t.data;
	out->json_text_len = t.len;
	out->content_type = API_METRICS_CONTENT_TYPE;
	return 0;
}

/* ---- highmem: the pkmap table, a CPU's kmap_local stack --------------------------------- */

/* GET /kmap: every pkmap slot with its count and page, last_pkmap_nr, the waiting kmaps. */
int h_kmap(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_pkmap_info *pk = malloc(sizeof(*pk));
	json_t *doc = NULL, *slots, *waiters;
	int r;

	if (!pk)
		return api_error(err, -ENOMEM, "out of memory");
	r = mm_get_pkmap(c->lease.m, pk, err);
	if (r < 0) {
		free(pk);
		return api_call_failed(r, err, "mm_get_pkmap");
	}
	slots = json_array();
	for (unsigned int i = 0; slots && i < pk->last_pkmap; i++) {
		json_t *s = json_pack("{s:I, s:o, s:I, s:o}", "slot", (json_int_t)i, "address",
				      api_json_hex(pk->pkmap_base + ((uint64_t)i << 12)), "count",
				      (json_int_t)pk->count[i], "pfn",
				      pk->pfn[i] == UINT32_MAX ? json_null()
							       : json_integer(pk->pfn[i]));

		if (!s || json_array_append_new(slots, s)) {
			json_decref(slots);
			slots = NULL;
		}
	}
	waiters = c->host->kmap_waiters ? c->host->kmap_waiters(c->host->transport, c->cap[0])
					: json_array();
	if (slots && waiters) { /* json_pack() steals them, also when it fails */
		doc = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "pkmap_base",
				api_json_hex(pk->pkmap_base), "last_pkmap",
				(json_int_t)pk->last_pkmap, "last_pkmap_nr",
				(json_int_t)pk->last_pkmap_nr, "in_use", (json_int_t)pk->in_use,
				"unused", (json_int_t)pk->unused, "flushes",
				(json_int_t)pk->flushes, "slots", slots, "waiters", waiters);
	} else {
		json_decref(slots);
		json_decref(waiters);
	}
	free(pk);
	return api_reply_json(out, 200, doc, err);
}

/* GET /cpus/{cpu}/kmap-local: the CPU's stack, bottom first. */
int h_kmap_local(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_kmap_local_stack st;
	unsigned int cpu;
	json_t *arr;
	int r;

	r = cpu_param(c, &cpu, err);
	if (r < 0)
		return r;
	r = mm_get_kmap_local(c->lease.m, cpu, &st, err);
	if (r < 0)
		return api_call_failed(r, err, "mm_get_kmap_local");
	arr = json_array();
	for (unsigned int i = 0; arr && i < st.depth; i++) {
		const struct mm_kmap_local *k = &st.slots[i];
		json_t *e = json_pack("{s:I, s:I, s:I, s:o, s:b}", "idx", (json_int_t)k->idx,
				      "fix_idx", (json_int_t)k->fix_idx, "pfn", (json_int_t)k->pfn,
				      "address", api_json_hex(k->address), "atomic", k->atomic);

		if (!e || json_array_append_new(arr, e)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return api_reply_json(out, 200,
			      arr ? json_pack("{s:I, s:I, s:I, s:o}", "cpu", (json_int_t)cpu,
					      "depth", (json_int_t)st.depth, "atomic_depth",
					      (json_int_t)st.atomic_depth, "stack", arr)
				  : NULL,
			      err);
}
/* GET .../vmalloc: the range, the counters, and the busy, lazy and free vmap areas. */
int h_vmalloc(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const lists[] = {"busy", "lazy", "free"};
	static const struct {
		unsigned int bit;
		const char *name;
	} flags[] = {{0x1, "VM_IOREMAP"},
		     {0x2, "VM_ALLOC"},
		     {0x4, "VM_MAP"},
		     {0x8, "VM_USERMAP"},
		     {0x10, "VM_DMA_COHERENT"},
		     {0x20, "VM_UNINITIALIZED"},
		     {0x40, "VM_NO_GUARD"},
		     {0x80, "VM_KASAN"},
		     {0x100, "VM_FLUSH_RESET_PERMS"},
		     {0x200, "VM_MAP_PUT_PAGES"},
		     {0x400, "VM_ALLOW_HUGE_VMAP"}};
	struct mm_machine *m = c->lease.m;
	struct mm_vmalloc_info vi;
	json_t *doc;
	char hex[24];

	if (mm_machine_phase(m) < MM_PHASE_BUDDY)
		return api_error(err, -EAGAIN,
				 "the vmalloc area does not exist yet: the machine stopped after "
				 "boot phase '%s'; it needs 'buddy'",
				 mm_boot_phase_name(mm_machine_phase(m)));
	mm_vmalloc_get_info(m, &vi);
	doc = json_object();
	if (!doc)
		return api_error(err, -ENOMEM, "out of memory");
#define HEX(v) (snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)(v)), json_string(hex))
	json_object_set_new(doc, "vmalloc_start", HEX(vi.vmalloc_start));
	json_object_set_new(doc, "vmalloc_end", HEX(vi.vmalloc_end));
	json_object_set_new(doc, "vmalloc_used_pages",
			    json_integer((json_int_t)vi.nr_vmalloc_pages));
	json_object_set_new(doc, "vmap_lazy_nr", json_integer((json_int_t)vi.vmap_lazy_nr));
	json_object_set_new(doc, "lazy_max_pages", json_integer((json_int_t)vi.lazy_max_pages));
	json_object_set_new(doc, "purges", json_integer((json_int_t)vi.nr_purges));
	json_object_set_new(doc, "purged_pages", json_integer((json_int_t)vi.nr_purged_pages));
	for (int l = 0; l < 3; l++) {
		unsigned int n = mm_vmap_area_count(m, l);
		json_t *arr = json_array();

		for (unsigned int i = 0; arr && i < n; i++) {
			struct mm_vmap_area_info a;
			json_t *o = json_object(), *fl, *pg;

			mm_vmap_area_get(m, l, i, &a);
			json_object_set_new(o, "va_start", HEX(a.va_start));
			json_object_set_new(o, "va_end", HEX(a.va_end));
			json_object_set_new(o, "size",
					    json_integer((json_int_t)(a.va_end - a.va_start)));
			if (l == MM_VMAP_BUSY && a.has_vm) {
				json_object_set_new(o, "caller", json_string(a.caller));
				fl = json_array();
				for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++)
					if (a.flags & flags[f].bit)
						json_array_append_new(fl,
								      json_string(flags[f].name));
				json_object_set_new(o, "flags", fl);
				json_object_set_new(o, "nr_pages", json_integer(a.nr_pages));
				if (a.phys_addr)
					json_object_set_new(o, "phys_addr", HEX(a.phys_addr));
				if (a.pages_area)
					json_object_set_new(o, "pages_area", HEX(a.pages_area));
				if (a.pages_kmalloc)
					json_object_set_new(o, "pages_kmalloc",
							    HEX(a.pages_kmalloc));
				json_object_set_new(o, "kernel", json_boolean(!a.api));
				pg = json_array();
				for (uint32_t k = 0; k < a.nr_pfns; k++)
					json_array_append_new(pg, json_integer(a.pfns[k]));
				json_object_set_new(o, "pages", pg);
			}
			json_array_append_new(arr, o);
		}
		json_object_set_new(doc, lists[l], arr);
	}
#undef HEX
	return api_reply_json(out, 200, doc, err);
}

/* ---- GET .../events: the machine's journal as Server-Sent Events ------------------------ */

#define EVENTS_REPLAY_MAX 1000

/*
 * A new event stream of the leased machine: first, when the client says where it stopped
 * (Last-Event-ID, or ?after= for a client that cannot set headers), what the journal holds
 * after that seq, at most EVENTS_REPLAY_MAX entries (a longer replay ends the stream there:
 * the client reconnects with the last id it got); then every command as it is journaled. The
 * machine stays leased from the replay to the subscription, so no command falls between.
 */
int h_events(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"after", NULL};
	const struct api_host *h = c->host;
	const char *from = c->req->last_event_id;
	struct api_text t = {0};
	int64_t after = -1;
	bool more = false, present;
	json_t *entries = NULL, *e;
	size_t i;
	int r;

	if (!h->events_subscribe)
		return api_error(err, -ENOENT, "this server streams no events");
	r = api_query_check(c, known, err);
	if (r < 0)
		return r;
	if (!from)
		from = api_query_value(c, "after", &present);
	if (from) {
		int64_t x = 0;
		size_t k;

		for (k = 0; from[k] >= '0' && from[k] <= '9' && k < 18; k++)
			x = x * 10 + (from[k] - '0');
		if (!from[0] || from[k])
			return api_error(
				err, -EINVAL,
				"Last-Event-ID (or ?after=) must be a seq, a decimal integer "
				">= 0, not \"%.32s\"",
				from);
		after = x;
	}
	/* how long a browser waits before it reconnects */
	api_text_puts(&t, "retry: 2000\n\n");
	if (after >= 0) {
		r = h->ops->journal_list(h->data, &c->lease, after, EVENTS_REPLAY_MAX, &entries,
					 &more, err);
		if (r < 0) {
			api_text_free(&t);
			return api_call_failed(r, err, "reading the journal");
		}
	}
	json_array_foreach(entries, i, e) {
		char *cmd = json_dumps(json_object_get(e, "command"),
				       JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
		char *res = json_dumps(json_object_get(e, "result"),
				       JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);

		if (cmd && res)
			api_event_command(&t, json_integer_value(json_object_get(e, "seq")),
					  json_string_value(json_object_get(e, "time")), cmd,
					  strlen(cmd), res, strlen(res));
		else
			t.oom = true;
		free(cmd);
		free(res);
	}
	json_decref(entries);
	if (t.oom) {
		api_text_free(&t);
		return api_error(err, -ENOMEM, "out of memory");
	}
	r = h->events_subscribe(h->transport, c->lease.id, c->req->client ? c->req->client : "",
				t.data, t.len, more, &out->stream, err);
	api_text_free(&t);
	if (r < 0)
		return r;
	out->status = 200;
	return 0;
}

/* ---- GET /openapi.yaml: the contract, embedded at build time ----------------------------- */

extern const char api_openapi_yaml[];
extern const size_t api_openapi_yaml_len;

int h_openapi(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	char *t = malloc(api_openapi_yaml_len);

	if (!t)
		return api_error(err, -ENOMEM, "out of memory");
	memcpy(t, api_openapi_yaml, api_openapi_yaml_len);
	out->status = 200;
	out->json_text = t;
	out->json_text_len = api_openapi_yaml_len;
	out->content_type = "application/yaml";
	return 0;
}
