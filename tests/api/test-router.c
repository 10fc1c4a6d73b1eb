/* SPDX-License-Identifier: MIT */
/*
 * test-router.c - routes end to end inside one process: api_dispatch() against an
 * in-memory api_host (no sockets, no SQLite). Pins the order of checks (404, 405 + Allow,
 * 413, 415, 400, unknown machine), the journal contract (a command is journaled before
 * the reply; failures are not) and the batch semantics (stop at the first failure).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call-int.h"
#include "problem.h"
#include "router.h"
#include "txn.h"

#define FAKE_MAX 4

static struct fake {
	char id[FAKE_MAX][API_NAME_MAX];
	struct mm_machine *m[FAKE_MAX];
	json_t *journal[FAKE_MAX];
	int n;
	bool fail_journal;
	bool fail_rebuild;
	bool diverged[FAKE_MAX];
	int appends;	/* calls of journal_append */
	int rebuilds;	/* calls of machine_rebuild */
	char last[512]; /* the commands of the last append, as the journal got them */
	/* views rendered once per state (viewcache.h), as the daemon keeps them */
	struct api_view_cache *cache[FAKE_MAX];
	uint64_t gen[FAKE_MAX], generations;
} fake;

static int fake_find(const char *id)
{
	for (int i = 0; i < fake.n; i++)
		if (!strcmp(fake.id[i], id))
			return i;
	return -1;
}

static int fake_create(void *data, const char *name, const struct mm_config *cfg,
		       struct api_lease *ret, struct mm_error *err)
{
	char id[API_NAME_MAX];
	int r;

	if (name[0] && fake_find(name) >= 0)
		return api_error(err, -EEXIST, "a machine named '%s' already exists", name);
	if (fake.n == FAKE_MAX)
		return api_error(err, -ENOMEM, "fake host is full");
	if (name[0])
		snprintf(id, sizeof(id), "%s", name);
	else
		for (int k = 1; snprintf(id, sizeof(id), "m%d", k), fake_find(id) >= 0; k++)
			;
	r = mm_machine_create(cfg, &fake.m[fake.n], err);
	if (r < 0)
		return r;
	snprintf(fake.id[fake.n], API_NAME_MAX, "%s", id);
	fake.journal[fake.n] = json_array();
	fake.cache[fake.n] = api_view_cache_new();
	fake.gen[fake.n] = ++fake.generations;
	*ret = (struct api_lease){
		.id = fake.id[fake.n], .m = fake.m[fake.n], .handle = (void *)(intptr_t)fake.n};
	fake.n++;
	return 0;
}

static int fake_delete(void *data, const char *id, struct mm_error *err)
{
	int i = fake_find(id);

	if (i < 0)
		return api_error(err, -ENOENT, "no machine '%s'", id);
	ck_assert_int_eq(mm_check(fake.m[i], NULL), 0);
	mm_machine_destroy(fake.m[i]);
	json_decref(fake.journal[i]);
	api_view_cache_free(fake.cache[i]);
	fake.n--;
	memmove(&fake.cache[i], &fake.cache[i + 1], (size_t)(fake.n - i) * sizeof(fake.cache[0]));
	memmove(&fake.gen[i], &fake.gen[i + 1], (size_t)(fake.n - i) * sizeof(fake.gen[0]));
	memmove(&fake.id[i], &fake.id[i + 1], (size_t)(fake.n - i) * sizeof(fake.id[0]));
	memmove(&fake.m[i], &fake.m[i + 1], (size_t)(fake.n - i) * sizeof(fake.m[0]));
	memmove(&fake.journal[i], &fake.journal[i + 1],
		(size_t)(fake.n - i) * sizeof(fake.journal[0]));
	return 0;
}

static int fake_ids(void *data, json_t **ret, struct mm_error *err)
{
	*ret = json_array();
	for (int i = 0; i < fake.n; i++)
		json_array_append_new(*ret, json_string(fake.id[i]));
	return 0;
}

static int fake_acquire(void *data, const char *id, struct api_lease *ret, struct mm_error *err)
{
	int i = fake_find(id);

	if (i < 0)
		return api_error(err, -ENOENT, "no machine '%s'", id);
	*ret = (struct api_lease){
		.id = fake.id[i],
		.m = fake.m[i],
		.handle = (void *)(intptr_t)i,
		.diverged = fake.diverged[i],
		.version = {fake.gen[i], (int64_t)json_array_size(fake.journal[i])},
		.cache = fake.cache[i]};
	return 0;
}

static void fake_release(void *data, struct api_lease *lease)
{
}

static int fake_append(void *data, struct api_lease *lease, const struct api_journal_batch *b,
		       int64_t *ret_first_seq, struct mm_error *err)
{
	json_t *j = fake.journal[(intptr_t)lease->handle], *cmds, *results;
	json_error_t jerr;

	fake.appends++;
	if (fake.fail_journal)
		return api_error(err, -EIO, "disk on fire");
	snprintf(fake.last, sizeof(fake.last), "%.*s", (int)b->commands_len, b->commands);
	/* the batch is two JSON arrays of n elements */
	cmds = json_loadb(b->commands, b->commands_len, 0, &jerr);
	ck_assert_msg(cmds != NULL, "commands are not JSON: %s", jerr.text);
	results = json_loadb(b->results, b->results_len, 0, &jerr);
	ck_assert_msg(results != NULL, "results are not JSON: %s", jerr.text);
	ck_assert_uint_eq(json_array_size(cmds), b->n);
	ck_assert_uint_eq(json_array_size(results), b->n);
	*ret_first_seq = (int64_t)json_array_size(j) + 1;
	for (size_t i = 0; i < b->n; i++)
		json_array_append_new(j,
				      json_pack("{s:I, s:s, s:O, s:O}", "seq",
						(json_int_t)(*ret_first_seq + (int64_t)i), "time",
						"now", "command", json_array_get(cmds, i), "result",
						json_array_get(results, i)));
	json_decref(cmds);
	json_decref(results);
	return 0;
}

static int fake_journal(void *data, struct api_lease *lease, int64_t after, size_t limit,
			json_t **ret, bool *ret_more, struct mm_error *err)
{
	json_t *all = fake.journal[(intptr_t)lease->handle], *page = json_array(), *e;
	size_t k;

	*ret_more = false;
	json_array_foreach(all, k, e) {
		if (json_integer_value(json_object_get(e, "seq")) <= after)
			continue;
		if (limit && json_array_size(page) == limit) {
			*ret_more = true;
			break;
		}
		json_array_append_new(page, json_deep_copy(e));
	}
	*ret = page;
	return 0;
}

/* The machine as its journal has it: its configuration booted again, and every journaled
 * command run through the transaction, as the daemon's rebuild does (daemon/rebuild.c). */
static int fake_rebuild(void *data, struct api_lease *lease, struct mm_error *err)
{
	int i = (int)(intptr_t)lease->handle;
	struct mm_machine *m;
	struct api_txn t;
	json_t *e;
	size_t k;
	int r;

	fake.rebuilds++;
	if (fake.fail_rebuild) {
		fake.diverged[i] = lease->diverged = true;
		return api_error(err, -EIO, "the store is gone too");
	}
	r = mm_machine_create(mm_machine_config(fake.m[i]), &m, err);
	if (r < 0)
		return r;
	api_txn_init(&t, m, NULL);
	json_array_foreach(fake.journal[i], k, e) {
		char *text = json_dumps(json_object_get(e, "command"), JSON_COMPACT);
		struct api_txn_step st;
		struct mm_error e2 = {0};

		ck_assert_ptr_nonnull(text);
		api_txn_reset(&t);
		r = api_txn_step_text(&t, text, strlen(text), &st, &e2);
		ck_assert_msg(r == 0 || st.journal, "journal entry %zu: %s", k + 1, e2.msg);
		free(text);
	}
	api_txn_finish(&t);
	mm_machine_destroy(fake.m[i]);
	fake.m[i] = t.m;
	fake.gen[i] = ++fake.generations;
	lease->m = t.m;
	fake.diverged[i] = lease->diverged = false;
	return 0;
}

static const struct api_host_ops fake_ops = {
	.machine_create = fake_create,
	.machine_delete = fake_delete,
	.machine_ids = fake_ids,
	.machine_acquire = fake_acquire,
	.machine_release = fake_release,
	.journal_append = fake_append,
	.journal_list = fake_journal,
	.machine_rebuild = fake_rebuild,
};
static const struct api_host host = {&fake_ops, NULL};

static struct api_reply rep;
static const char *req_accept; /* the Accept header of the next requests, NULL for none */

/* @url may carry a query string ("?a=1&b"), split here as the transport would (no %-decoding). */
static void req_ct(const char *method, const char *url, const char *ctype, const char *body)
{
	struct api_request rq = {.method = method,
				 .url = url,
				 .content_type = ctype,
				 .accept = req_accept,
				 .body = body,
				 .body_len = body ? strlen(body) : 0};
	struct api_query_arg q[8];
	char path[256], query[256], *save = NULL;
	const char *mark = strchr(url, '?');

	if (mark) {
		ck_assert_uint_lt((size_t)(mark - url), sizeof(path));
		snprintf(path, sizeof(path), "%.*s", (int)(mark - url), url);
		snprintf(query, sizeof(query), "%s", mark + 1);
		rq.url = path;
		for (char *tok = strtok_r(query, "&", &save); tok;
		     tok = strtok_r(NULL, "&", &save)) {
			char *eq = strchr(tok, '=');

			ck_assert_uint_lt(rq.nquery, 8);
			if (eq)
				*eq = '\0';
			q[rq.nquery++] = (struct api_query_arg){tok, eq ? eq + 1 : NULL};
		}
		rq.query = q;
	}
	api_reply_finish(&rep);
	api_dispatch(&host, &rq, &rep);
	/* a body the router wrote as text: read it back for the assertions */
	if (!rep.json && rep.json_text &&
	    (!rep.content_type || !strcmp(rep.content_type, "application/json"))) {
		json_error_t jerr;

		rep.json = json_loadb(rep.json_text, rep.json_text_len, 0, &jerr);
		ck_assert_msg(rep.json != NULL, "the reply is not JSON: %s", jerr.text);
		ck_assert_int_eq(rep.json_text[rep.json_text_len - 1], '\n');
	}
}

static void req(const char *method, const char *url, const char *body)
{
	req_ct(method, url, body ? "application/json" : NULL, body);
}

static const char *slug(void)
{
	const char *t = json_string_value(json_object_get(rep.json, "type"));

	ck_assert_msg(rep.problem && t, "not a problem (status %u)", rep.status);
	return t + strlen(API_PROBLEM_BASE);
}

static void setup(void)
{
	memset(&fake, 0, sizeof(fake));
	memset(&rep, 0, sizeof(rep));
	req_accept = NULL;
	req("POST", "/v1/machines", "{\"name\":\"default\",\"mem\":\"256M\",\"cpus\":2}");
	ck_assert_uint_eq(rep.status, 201);
}

static void teardown(void)
{
	api_reply_finish(&rep);
	for (int i = 0; i < fake.n; i++) {
		ck_assert_int_eq(mm_check(fake.m[i], NULL), 0);
		mm_machine_destroy(fake.m[i]);
		json_decref(fake.journal[i]);
		api_view_cache_free(fake.cache[i]);
	}
}

START_TEST(health_and_version)
{
	req("GET", "/v1/health", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(rep.json, "status")), "ok");
	req("HEAD", "/v1/version", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(rep.json, "kernel")), "6.1");
}
END_TEST

START_TEST(unknown_routes)
{
	static const char *const urls[] = {"/web/nope.js",  "/web",
					   "/v1",	    "/v2/health",
					   "/v1/healthz",   "/v1/machines/default/nope",
					   "/v1//machines", "/v1/machines/default/sysctl/kernel/x",
					   "health"};

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		req("GET", urls[i], NULL);
		ck_assert_msg(rep.status == 404, "%s -> %u", urls[i], rep.status);
		ck_assert_str_eq(slug(), "not-found");
		ck_assert_str_eq(json_string_value(json_object_get(rep.json, "instance")), urls[i]);
	}
}
END_TEST

/* The value of response header @name among the reply's extra headers, NULL when absent. */
static const char *reply_header(const struct api_reply *r, const char *name)
{
	for (const char *const *h = r->headers; h && h[0]; h += 2)
		if (!strcmp(h[0], name))
			return h[1];
	return NULL;
}

/* The dashboard's files (api/web.c): by exact name, with their type, ETag, CSP, and 304. */
START_TEST(web_files)
{
	struct api_request rq = {.method = "GET", .url = "/"};
	struct api_reply r = {0};
	const char *etag, *csp;
	json_t *views;

	api_dispatch(&host, &rq, &r);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(r.json_text, "<script type=\"module\" src=\"/web/app.js\">"));
	etag = reply_header(&r, "ETag");
	ck_assert_ptr_nonnull(etag);
	ck_assert_uint_eq(strlen(etag), 18);
	csp = reply_header(&r, "Content-Security-Policy");
	ck_assert_ptr_nonnull(csp);
	ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'; script-src 'self';"));
	ck_assert_str_eq(reply_header(&r, "Cache-Control"), "no-cache");
	api_reply_finish(&r);
	/* the same ETag among others: 304 without a body; another one: 200 */
	rq.if_none_match = "\"0123456789abcdef\", W/\"x\"";
	api_dispatch(&host, &rq, &r);
	ck_assert_uint_eq(r.status, 200);
	api_reply_finish(&r);
	{
		char inm[64];

		snprintf(inm, sizeof(inm), "\"0123456789abcdef\", %s", etag);
		rq.if_none_match = inm;
		api_dispatch(&host, &rq, &r);
		ck_assert_uint_eq(r.status, 304);
		ck_assert_ptr_null(r.json_text);
		ck_assert_str_eq(reply_header(&r, "ETag"), etag);
		api_reply_finish(&r);
	}
	rq.if_none_match = NULL;
	/* the view modules are listed; a file by its name, with its type */
	rq.url = "/web/views.json";
	api_dispatch(&host, &rq, &r);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "application/json");
	views = json_loadb(r.json_text, r.json_text_len, 0, NULL);
	ck_assert(json_is_array(views));
	ck_assert_uint_ge(json_array_size(views), 10);
	for (size_t i = 0; i < json_array_size(views); i++)
		ck_assert_int_eq(strncmp(json_string_value(json_array_get(views, i)), "view-", 5),
				 0);
	json_decref(views);
	api_reply_finish(&r);
	rq.url = "/web/app.js";
	api_dispatch(&host, &rq, &r);
	ck_assert_uint_eq(r.status, 200);
	ck_assert_str_eq(r.content_type, "text/javascript; charset=utf-8");
	ck_assert_str_ne(reply_header(&r, "ETag"), etag);
	api_reply_finish(&r);
	/* no other name, and a refusal carries none of the file's headers */
	rq.url = "/web/embed.c";
	api_dispatch(&host, &rq, &r);
	ck_assert_uint_eq(r.status, 404);
	ck_assert_ptr_null(r.headers);
	api_reply_finish(&r);
	rq.method = "POST";
	rq.url = "/";
	api_dispatch(&host, &rq, &r);
	ck_assert_uint_eq(r.status, 405);
	api_reply_finish(&r);
}
END_TEST

START_TEST(method_not_allowed)
{
	req("DELETE", "/v1/health", NULL);
	ck_assert_uint_eq(rep.status, 405);
	ck_assert_str_eq(slug(), "method-not-allowed");
	ck_assert_str_eq(rep.allow, "GET, HEAD");
	req("PUT", "/v1/machines", "{}");
	ck_assert_str_eq(rep.allow, "GET, HEAD, POST");
	req("POST", "/v1/machines/default", "{}");
	ck_assert_str_eq(rep.allow, "GET, HEAD, DELETE");
	req("POST", "/v1/machines/default/sysctl/vm/min_free_kbytes", "{}");
	ck_assert_str_eq(rep.allow, "GET, HEAD, PUT");
	req("GET", "/v1/machines/default/commands", NULL);
	ck_assert_str_eq(rep.allow, "POST");
	ck_assert_uint_eq(rep.status, 405);
}
END_TEST

/* The routes the server runs on its slow pool (server.c): a boot, a deletion; never a read. */
START_TEST(slow_routes)
{
	ck_assert(api_route_slow(&host, "POST", "/v1/machines"));
	ck_assert(api_route_slow(&host, "POST", "/v1/machines/"));
	ck_assert(api_route_slow(&host, "DELETE", "/v1/machines/default"));
	ck_assert(!api_route_slow(&host, "GET", "/v1/machines"));
	ck_assert(!api_route_slow(&host, "HEAD", "/v1/machines/default"));
	ck_assert(!api_route_slow(&host, "POST", "/v1/machines/default/pages"));
	ck_assert(!api_route_slow(&host, "POST", "/v1/machines/default/commands"));
	ck_assert(!api_route_slow(&host, "POST", "/v1/nowhere"));
	ck_assert(!api_route_slow(&host, "BREW", "/v1/machines"));
	ck_assert(!api_route_slow(&host, "POST", "v1/machines"));
}
END_TEST

START_TEST(body_checks)
{
	struct api_request rq = {.method = "POST", .url = "/v1/machines", .body_too_large = true};

	api_reply_finish(&rep);
	api_dispatch(&host, &rq, &rep);
	ck_assert_uint_eq(rep.status, 413);
	ck_assert_str_eq(slug(), "payload-too-large");

	req_ct("POST", "/v1/machines", "text/plain", "{\"mem\":\"1G\"}");
	ck_assert_uint_eq(rep.status, 415);
	req_ct("POST", "/v1/machines", "application/json; charset=utf-8", "{\"mem\":\"1G\"}");
	ck_assert_uint_eq(rep.status, 201);
	req_ct("POST", "/v1/machines", NULL, "{\"mem\":\"1G\"}");
	ck_assert_uint_eq(rep.status, 201);
	req_ct("POST", "/v1/machines", "application/merge-patch+json", "{\"mem\":\"1G\"}");
	ck_assert_uint_eq(rep.status, 201);

	req("POST", "/v1/machines", "{\"mem\": }");
	ck_assert_uint_eq(rep.status, 400);
	ck_assert_str_eq(slug(), "bad-request");
	ck_assert_ptr_nonnull(
		strstr(json_string_value(json_object_get(rep.json, "detail")), "line 1 column"));
	req("POST", "/v1/machines", "{\"mem\":\"1G\",\"mem\":\"2G\"}");
	ck_assert_uint_eq(rep.status, 400);
	req("POST", "/v1/machines", NULL);
	ck_assert_uint_eq(rep.status, 422);
	req_ct("POST", "/v1/machines", "application/json", "");
	ck_assert_uint_eq(rep.status, 400);
	req("POST", "/v1/machines", "42");
	ck_assert_uint_eq(rep.status, 422);
	req("POST", "/v1/machines", "x");
	ck_assert_uint_eq(rep.status, 400);
}
END_TEST

START_TEST(create_list_delete)
{
	req("POST", "/v1/machines", "{\"mem\":\"128M\"}");
	ck_assert_uint_eq(rep.status, 201);
	ck_assert_str_eq(rep.location, "/v1/machines/m1");
	ck_assert_str_eq(json_string_value(json_object_get(rep.json, "id")), "m1");
	ck_assert_ptr_nonnull(json_object_get(rep.json, "layout"));
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "zones")), MM_NR_ZONES);
	ck_assert_ptr_nonnull(json_object_get(rep.json, "totals"));

	req("POST", "/v1/machines", "{\"name\":\"default\",\"mem\":\"128M\"}");
	ck_assert_uint_eq(rep.status, 409);
	ck_assert_str_eq(slug(), "conflict");
	req("POST", "/v1/machines", "{\"mem\":\"128M\",\"cpus\":99}");
	ck_assert_uint_eq(rep.status, 422);
	ck_assert_ptr_nonnull(
		strstr(json_string_value(json_object_get(rep.json, "detail")), "cpus"));

	req("GET", "/v1/machines", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "machines")), 2);
	{
		/* the summary: counters, not the zones' whole documents */
		json_t *m0 = json_array_get(json_object_get(rep.json, "machines"), 0);
		json_t *z0 = json_array_get(json_object_get(m0, "zones"), 0);

		ck_assert_ptr_null(json_object_get(m0, "layout"));
		ck_assert_uint_eq(json_object_size(z0), 6);
		ck_assert_str_eq(json_string_value(json_object_get(z0, "name")), "DMA");
		ck_assert_int_gt(json_integer_value(json_object_get(m0, "mem_total_kb")), 0);
		ck_assert_int_le(json_integer_value(json_object_get(m0, "mem_free_kb")),
				 json_integer_value(json_object_get(m0, "mem_total_kb")));
		ck_assert(json_is_null(json_object_get(rep.json, "next")));
	}

	req("DELETE", "/v1/machines/m1", NULL);
	ck_assert_uint_eq(rep.status, 204);
	ck_assert_ptr_null(rep.json);
	req("GET", "/v1/machines/m1", NULL);
	ck_assert_uint_eq(rep.status, 404);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(rep.json, "detail")), "m1"));
	req("DELETE", "/v1/machines/m1", NULL);
	ck_assert_uint_eq(rep.status, 404);
}
END_TEST

START_TEST(text_views)
{
	static const char *const files[] = {"zoneinfo", "buddyinfo", "pagetypeinfo", "meminfo",
					    "vmstat",	"slabinfo",  "vmallocinfo"};
	char url[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(url, sizeof(url), "/v1/machines/default/proc/%s", files[i]);
		req("GET", url, NULL);
		ck_assert_msg(rep.status == 200, "%s", url);
		ck_assert_ptr_null(rep.json);
		ck_assert_uint_gt(rep.text.len, 0);
	}
	req("GET", "/v1/machines/default/proc/sched_debug", NULL);
	ck_assert_uint_eq(rep.status, 404);
	req("GET", "/v1/machines/default/dmesg", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_uint_gt(rep.text.len, 0);
	req("GET", "/v1/machines/nope/dmesg", NULL);
	ck_assert_uint_eq(rep.status, 404);
}
END_TEST

START_TEST(json_views)
{
	req("GET", "/v1/machines/default/layout", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(json_string_value(json_object_get(rep.json, "PAGE_OFFSET")), "0xc0000000");
	req("GET", "/v1/machines/default/zones", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "zones")), MM_NR_ZONES);
	req("GET", "/v1/machines/default/e820", NULL);
	ck_assert_uint_eq(rep.status, 200);
	req("GET", "/v1/machines/default/memblock", NULL);
	ck_assert_uint_eq(rep.status, 200);
	req("GET", "/v1/machines/default/check", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert(json_is_true(json_object_get(rep.json, "ok")));
}
END_TEST

START_TEST(sysctl_put_is_journaled)
{
	req("GET", "/v1/machines/default/sysctl/vm/lowmem_reserve_ratio", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "value")), MM_NR_ZONES);

	req("PUT", "/v1/machines/default/sysctl/vm/min_free_kbytes", "{\"value\":8192}");
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "value")), 8192);
	ck_assert_uint_eq(json_array_size(fake.journal[0]), 1);
	ck_assert_str_eq(
		json_string_value(json_object_get(
			json_object_get(json_array_get(fake.journal[0], 0), "command"), "op")),
		"set_sysctl");

	req("GET", "/v1/machines/default/sysctl/vm/min_free_kbytes", NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "value")), 8192);

	req("PUT", "/v1/machines/default/sysctl/vm/watermark_scale_factor", "{\"value\":0}");
	ck_assert_uint_eq(rep.status, 422);
	req("PUT", "/v1/machines/default/sysctl/vm/min_free_kbytes", "{\"value\":1,\"x\":1}");
	ck_assert_uint_eq(rep.status, 422);
	req("PUT", "/v1/machines/default/sysctl/vm/swappiness", "{\"value\":1}");
	ck_assert_uint_eq(rep.status, 404);
	req("GET", "/v1/machines/default/sysctl/vm/swappiness", NULL);
	ck_assert_uint_eq(rep.status, 404);
	ck_assert_uint_eq(json_array_size(fake.journal[0]), 1);

	fake.fail_journal = true;
	req("PUT", "/v1/machines/default/sysctl/vm/min_free_kbytes", "{\"value\":9000}");
	ck_assert_uint_eq(rep.status, 500);
	ck_assert_str_eq(slug(), "storage-error");
	fake.fail_journal = false;
	/* the change that is not in the journal is not in the machine either */
	ck_assert_int_eq(fake.rebuilds, 1);
	req("GET", "/v1/machines/default/sysctl/vm/min_free_kbytes", NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "value")), 8192);

	req("GET", "/v1/machines/default/journal", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "entries")), 1);
}
END_TEST

START_TEST(commands_single_and_batch)
{
	json_t *results;

	req("POST", "/v1/machines/default/commands",
	    "{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":4096}");
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "seq")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(rep.json, "op")), "set_sysctl");
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(rep.json, "result"), "value")),
		4096);

	req("POST", "/v1/machines/default/commands",
	    "[{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":5000},"
	    "{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\",\"value\":20,\"cpu\":1}]");
	ck_assert_uint_eq(rep.status, 200);
	results = json_object_get(rep.json, "results");
	ck_assert_uint_eq(json_array_size(results), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(results, 1), "seq")), 3);

	req("POST", "/v1/machines/default/commands",
	    "[{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":6000},"
	    "{\"op\":\"explode\"},"
	    "{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":7000}]");
	ck_assert_uint_eq(rep.status, 422);
	ck_assert_str_eq(slug(), "invalid-argument");
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "index")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "results")), 1);
	ck_assert_uint_eq(json_array_size(fake.journal[0]), 4);

	req("GET", "/v1/machines/default/sysctl/vm/min_free_kbytes", NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "value")), 6000);

	req("POST", "/v1/machines/default/commands", "[]");
	ck_assert_uint_eq(rep.status, 200);
	req("POST", "/v1/machines/default/commands", "7");
	ck_assert_uint_eq(rep.status, 422); /* JSON, but not a command */
	req("POST", "/v1/machines/default/commands", "set_sysctl");
	ck_assert_uint_eq(rep.status, 400); /* not JSON */
	req("POST", "/v1/machines/default/commands",
	    "{\"op\":\"set_sysctl\",\"name\":\"nope\",\"value\":1}");
	ck_assert_uint_eq(rep.status, 404);
}
END_TEST

START_TEST(batch_too_large)
{
	size_t n = API_BATCH_MAX + 1, len = n * 40 + 8;
	char *body = malloc(len), *p = body;

	*p++ = '[';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s{\"op\":\"nope\"}", i ? "," : "");
	strcpy(p, "]");
	req("POST", "/v1/machines/default/commands", body);
	free(body);
	ck_assert_uint_eq(rep.status, 413);
	ck_assert_uint_eq(json_array_size(fake.journal[0]), 0);
}
END_TEST

/* ---- the page allocator ---------------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	ck_assert_msg(v != NULL, "member '%s' is not a string", key);
	return v;
}

static json_int_t num(const json_t *o, const char *key)
{
	ck_assert_msg(json_is_integer(json_object_get(o, key)), "member '%s' is not an integer",
		      key);
	return json_integer_value(json_object_get(o, key));
}

static size_t journal_len(void)
{
	return json_array_size(fake.journal[0]);
}

static const json_t *journal_cmd(size_t i)
{
	return json_object_get(json_array_get(fake.journal[0], i), "command");
}

START_TEST(pages_rest_round_trip)
{
	char url[128], want[128];
	json_int_t pfn;

	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\",\"order\":1,\"cpu\":1}");
	ck_assert_uint_eq(rep.status, 201);
	pfn = num(rep.json, "pfn");
	ck_assert_int_eq(num(rep.json, "order"), 1);
	ck_assert_int_eq(pfn & 1, 0);
	ck_assert_str_eq(str(rep.json, "migratetype"), "Unmovable");
	snprintf(want, sizeof(want), "0x%llx", 0xc0000000ull + ((unsigned long long)pfn << 12));
	ck_assert_str_eq(str(rep.json, "address"), want);
	snprintf(want, sizeof(want), "/v1/machines/default/frames/%lld", (long long)pfn);
	ck_assert_str_eq(rep.location, want);
	ck_assert_uint_eq(journal_len(), 1);
	ck_assert_str_eq(str(journal_cmd(0), "op"), "alloc_pages");
	ck_assert_str_eq(str(journal_cmd(0), "gfp"), "GFP_KERNEL");
	ck_assert_int_eq(num(journal_cmd(0), "cpu"), 1);

	req("GET", want, NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(num(rep.json, "pfn"), pfn);
	ck_assert_str_eq(str(rep.json, "state"), mm_frame_state_name(MM_FRAME_ALLOCATED));
	ck_assert_int_eq(num(rep.json, "refcount"), 1);
	ck_assert_int_eq(num(json_object_get(rep.json, "block"), "pfn"), pfn);
	ck_assert_int_eq(num(json_object_get(rep.json, "block"), "order"), 1);
	ck_assert(json_is_false(json_object_get(json_object_get(rep.json, "compound"), "head")));
	ck_assert(json_is_null(json_object_get(rep.json, "buddy_order")));
	ck_assert(json_is_null(json_object_get(rep.json, "pcp_cpu")));
	snprintf(url, sizeof(url), "/v1/machines/default/frames/%lld", (long long)pfn + 1);
	req("GET", url, NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(str(rep.json, "state"), mm_frame_state_name(MM_FRAME_ALLOCATED_TAIL));

	snprintf(url, sizeof(url), "/v1/machines/default/pages/%lld?order=1&cpu=1", (long long)pfn);
	req("DELETE", url, NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(num(rep.json, "pfn"), pfn);
	ck_assert_int_eq(num(rep.json, "order"), 1);
	ck_assert(json_is_true(json_object_get(rep.json, "freed")));
	ck_assert_uint_eq(journal_len(), 2);
	ck_assert_str_eq(str(journal_cmd(1), "op"), "free_pages");
	ck_assert_int_eq(num(journal_cmd(1), "pfn"), pfn);
	ck_assert_int_eq(num(journal_cmd(1), "order"), 1);
	ck_assert_int_eq(num(journal_cmd(1), "cpu"), 1);

	/* a double free is refused and not journaled */
	req("DELETE", url, NULL);
	ck_assert_uint_eq(rep.status, 409);
	ck_assert_str_eq(slug(), "conflict");
	ck_assert_uint_eq(journal_len(), 2);
	req("GET", "/v1/machines/default/check", NULL);
	ck_assert_uint_eq(rep.status, 200);

	/* the allocator's events are part of the totals */
	req("GET", "/v1/machines/default/zones", NULL);
	ck_assert(json_is_object(
		json_object_get(json_object_get(rep.json, "totals"), "alloc_events")));
	/* after boot every free page is in a Movable pageblock (memmap_init marks them all
	 * Movable): the first Unmovable request falls back once, stealing a pageblock
	 * (__rmqueue_fallback), and the rest of the pcp refill comes from that block */
	ck_assert_int_eq(num(json_object_get(json_object_get(rep.json, "totals"), "alloc_events"),
			     "fallbacks"),
			 1);
}
END_TEST

static const struct {
	const char *method, *url, *body;
	unsigned int status;
} bad_pages[] = {
	{"POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_NOPE\"}", 422},
	{"POST", "/v1/machines/default/pages", "{}", 422},
	{"POST", "/v1/machines/default/pages", "[]", 422},
	{"POST", "/v1/machines/default/pages", "7", 422},
	{"POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\",\"op\":\"free_pages\"}",
	 422},
	{"POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\",\"pfn\":5}", 422},
	{"POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\",\"order\":11}", 422},
	{"POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\",\"cpu\":2}", 422},
	{"POST", "/v1/machines/default/pages", "{\"gfp\":", 400},
	{"POST", "/v1/machines/nope/pages", "{\"gfp\":\"GFP_KERNEL\"}", 404},
	{"DELETE", "/v1/machines/default/pages/abc", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/-1", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/+1", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/0x10", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/99999999999", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/65504", NULL, 422}, /* max_pfn of 256 MiB */
	{"DELETE", "/v1/machines/default/pages/0", NULL, 422},	   /* not RAM */
	{"DELETE", "/v1/machines/default/pages/1", NULL, 409},	   /* reserved */
	{"DELETE", "/v1/machines/default/pages/100?order=x", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/100?order=", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/100?order", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/100?order=11", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/100?order=-1", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/100?order=0&order=0", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/100?bogus=1", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/100?cpu=2", NULL, 422},
	{"DELETE", "/v1/machines/default/pages/100?cpu=1.0", NULL, 422},
	{"DELETE", "/v1/machines/nope/pages/100", NULL, 404},
	{"GET", "/v1/machines/default/frames/65504", NULL, 422},
	{"GET", "/v1/machines/default/frames/x", NULL, 422},
	{"GET", "/v1/machines/default/frames/4294967296", NULL, 422},
	{"GET", "/v1/machines/default/frames?count=4097", NULL, 422},
	{"GET", "/v1/machines/default/frames?count=0", NULL, 422},
	{"GET", "/v1/machines/default/frames?start=65504", NULL, 422},
	{"GET", "/v1/machines/default/frames?start=abc", NULL, 422},
	{"GET", "/v1/machines/default/frames?start=1&start=2", NULL, 422},
	{"GET", "/v1/machines/default/frames?pfn=1", NULL, 422},
	{"GET", "/v1/machines/nope/frames", NULL, 404},
	{"GET", "/v1/machines/nope/frames/1", NULL, 404},
};

START_TEST(pages_bad_input)
{
	req(bad_pages[_i].method, bad_pages[_i].url, bad_pages[_i].body);
	ck_assert_msg(rep.status == bad_pages[_i].status, "%s %s %s -> %u", bad_pages[_i].method,
		      bad_pages[_i].url, bad_pages[_i].body ? bad_pages[_i].body : "", rep.status);
	ck_assert(rep.problem);
	ck_assert_str_ne(str(rep.json, "detail"), "");
	ck_assert_uint_eq(journal_len(), 0);
	if (bad_pages[_i].body && strstr(bad_pages[_i].body, "GFP_NOPE"))
		ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "GFP_NOPE"));
	if (strstr(bad_pages[_i].url, "bogus"))
		ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "bogus"));
}
END_TEST

START_TEST(pages_methods)
{
	req("GET", "/v1/machines/default/pages", NULL);
	ck_assert_uint_eq(rep.status, 405);
	ck_assert_str_eq(rep.allow, "POST");
	req("GET", "/v1/machines/default/pages/1", NULL);
	ck_assert_uint_eq(rep.status, 405);
	ck_assert_str_eq(rep.allow, "DELETE");
	req("POST", "/v1/machines/default/frames", "{}");
	ck_assert_str_eq(rep.allow, "GET, HEAD");
	req("DELETE", "/v1/machines/default/frames/1", NULL);
	ck_assert_str_eq(rep.allow, "GET, HEAD");
}
END_TEST

START_TEST(frames_range)
{
	json_t *frames;

	req("GET", "/v1/machines/default/frames", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(num(rep.json, "start"), 0);
	ck_assert_int_eq(num(rep.json, "count"), 64);
	ck_assert_int_eq(num(rep.json, "max_pfn"), 65504); /* QEMU's e820 for 256 MiB */
	ck_assert_int_eq(num(rep.json, "next"), 64);
	frames = json_object_get(rep.json, "frames");
	ck_assert_uint_eq(json_array_size(frames), 64);
	for (size_t i = 0; i < 64; i++)
		ck_assert_int_eq(num(json_array_get(frames, i), "pfn"), (json_int_t)i);
	/* pfn 0 is not RAM for the kernel (trimmed from e820), pfn 1 is reserved */
	ck_assert_str_eq(str(json_array_get(frames, 0), "state"),
			 mm_frame_state_name(MM_FRAME_ABSENT));
	ck_assert_str_eq(str(json_array_get(frames, 1), "state"),
			 mm_frame_state_name(MM_FRAME_RESERVED));

	req("GET", "/v1/machines/default/frames?start=100&count=4096", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(num(rep.json, "count"), 4096);
	ck_assert_int_eq(num(rep.json, "next"), 4196);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "frames")), 4096);

	req("GET", "/v1/machines/default/frames?count=64&start=65498", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(num(rep.json, "count"), 6);
	ck_assert(json_is_null(json_object_get(rep.json, "next")));
	ck_assert_int_eq(num(json_array_get(json_object_get(rep.json, "frames"), 5), "pfn"), 65503);

	req("GET", "/v1/machines/default/frames/1", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_ptr_nonnull(json_object_get(rep.json, "flags"));
	ck_assert_int_eq(strncmp(str(json_object_get(rep.json, "flags"), "raw"), "0x", 2), 0);
	ck_assert_str_eq(json_string_value(json_array_get(
				 json_object_get(json_object_get(rep.json, "flags"), "names"), 0)),
			 "reserved");
}
END_TEST

/* A batch of N commands is one journal append of N entries, with the commands' own text. */
START_TEST(batch_one_journal_append)
{
	size_t len = 1000 * 80 + 16, off = 0;
	char *body = malloc(len);
	json_t *results;
	json_int_t pfn[1000];

	ck_assert_ptr_nonnull(body);
	off += (size_t)snprintf(body + off, len - off, " [\n");
	for (int i = 0; i < 1000; i++)
		off += (size_t)snprintf(body + off, len - off,
					"%s{ \"op\" : \"alloc_pages\", \"gfp\":\"GFP_KERNEL\", "
					"\"cpu\": %d }\n",
					i ? " ,\t" : "", i % 2);
	snprintf(body + off, len - off, "]\r\n");
	req("POST", "/v1/machines/default/commands", body);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(fake.appends, 1);
	ck_assert_uint_eq(journal_len(), 1000);
	results = json_object_get(rep.json, "results");
	ck_assert_uint_eq(json_array_size(results), 1000);
	for (size_t i = 0; i < 1000; i++) {
		json_t *e = json_array_get(results, i);

		ck_assert_int_eq(num(e, "seq"), (json_int_t)i + 1);
		ck_assert_str_eq(str(e, "op"), "alloc_pages");
		pfn[i] = num(json_object_get(e, "result"), "pfn");
	}

	off = (size_t)snprintf(body, len, "[");
	for (int i = 0; i < 1000; i++)
		off += (size_t)snprintf(body + off, len - off,
					"%s{\"op\":\"free_pages\",\"pfn\":%lld}", i ? "," : "",
					(long long)pfn[i]);
	snprintf(body + off, len - off, "]");
	req("POST", "/v1/machines/default/commands", body);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(fake.appends, 2);
	ck_assert_uint_eq(journal_len(), 2000);
	ck_assert_int_eq(num(json_array_get(json_object_get(rep.json, "results"), 999), "seq"),
			 2000);

	/* stops at the first failure: the commands before it are journaled in one append */
	req("POST", "/v1/machines/default/commands",
	    "[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"},{\"op\":\"free_pages\",\"pfn\":1},"
	    "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}]");
	ck_assert_uint_eq(rep.status, 409);
	ck_assert_str_eq(slug(), "conflict");
	ck_assert_int_eq(num(rep.json, "index"), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "results")), 1);
	ck_assert_int_eq(fake.appends, 3);
	ck_assert_uint_eq(journal_len(), 2001);
	pfn[0] = num(
		json_object_get(json_array_get(json_object_get(rep.json, "results"), 0), "result"),
		"pfn");

	/* failing at index 0: nothing to journal */
	req("POST", "/v1/machines/default/commands",
	    "[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_NOPE\"},{\"op\":\"free_pages\",\"pfn\":1}]");
	ck_assert_uint_eq(rep.status, 422);
	ck_assert_int_eq(num(rep.json, "index"), 0);
	ck_assert_int_eq(fake.appends, 3);

	snprintf(body, len, "{\"op\":\"free_pages\",\"pfn\":%lld}", (long long)pfn[0]);
	req("POST", "/v1/machines/default/commands", body);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(num(rep.json, "seq"), 2002);
	free(body);
}
END_TEST

/* The zones and totals of the default machine: what a journal failure must leave unchanged. */
static json_t *zones_now(void)
{
	req("GET", "/v1/machines/default/zones", NULL);
	ck_assert_uint_eq(rep.status, 200);
	return rep.json; /* borrowed from rep */
}

START_TEST(batch_journal_failure)
{
	json_t *before;

	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\",\"order\":2}");
	ck_assert_uint_eq(rep.status, 201);
	before = json_deep_copy(zones_now());
	fake.fail_journal = true;
	req("POST", "/v1/machines/default/commands",
	    "[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"},"
	    "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}]");
	fake.fail_journal = false;
	ck_assert_uint_eq(rep.status, 500);
	ck_assert_str_eq(slug(), "storage-error");
	ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "2 command(s) were not journaled"));
	ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "rebuilt from its journal"));
	ck_assert_ptr_null(json_object_get(rep.json, "index"));
	ck_assert_uint_eq(journal_len(), 1);
	ck_assert_int_eq(fake.rebuilds, 1);
	/* the machine is the one its journal rebuilds: the two allocations are undone */
	ck_assert(json_equal(zones_now(), before));

	fake.fail_journal = true;
	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\"}");
	fake.fail_journal = false;
	ck_assert_uint_eq(rep.status, 500);
	ck_assert_str_eq(slug(), "storage-error");
	ck_assert_str_eq(rep.location, "");
	ck_assert(json_equal(zones_now(), before));

	/* the rebuild fails too: the machine is diverged and refuses changes (503) until a
	 * rebuild succeeds; reads still answer */
	fake.fail_journal = true;
	fake.fail_rebuild = true;
	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\"}");
	fake.fail_journal = false;
	ck_assert_uint_eq(rep.status, 500);
	ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "refuses changes"));
	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\"}");
	ck_assert_uint_eq(rep.status, 503);
	ck_assert_str_eq(slug(), "machine-diverged");
	ck_assert_uint_eq(journal_len(), 1);
	fake.fail_rebuild = false;
	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\"}");
	ck_assert_uint_eq(rep.status, 201);
	ck_assert_uint_eq(journal_len(), 2);
	json_decref(before);
}
END_TEST

/* The journal keeps a command's canonical text: the same command journals the same bytes
 * whether the scanner or Jansson read it, whatever its spelling, and from a REST route. */
START_TEST(journal_is_canonical)
{
	static const struct {
		const char *url, *method, *body;
	} same[] = {
		{"/v1/machines/default/commands", "POST",
		 "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":1,\"cpu\":1}"},
		/* another order of members, white space: the scanner */
		{"/v1/machines/default/commands", "POST",
		 "[ {\"cpu\": 1, \"order\" : 1,\n\"gfp\":\"GFP_KERNEL\", \"op\":\"alloc_pages\"} "
		 "]"},
		/* an escape: Jansson */
		{"/v1/machines/default/commands", "POST",
		 "[{\"gfp\":\"GFP_\\u004bERNEL\",\"op\":\"alloc_pages\",\"cpu\":1,\"order\":1}]"},
		/* the REST route */
		{"/v1/machines/default/pages", "POST",
		 "{\"order\":1,\"cpu\":1,\"gfp\":\"GFP_KERNEL\"}"},
	};

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		req(same[i].method, same[i].url, same[i].body);
		ck_assert_msg(rep.status == 200 || rep.status == 201, "%zu: %u", i, rep.status);
		ck_assert_str_eq(fake.last,
				 "[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":1,"
				 "\"cpu\":1}]");
	}
	req("PUT", "/v1/machines/default/sysctl/vm/lowmem_reserve_ratio",
	    "{\"value\": [ 256, 32, 0, 0 ]}");
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(fake.last, "[{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\","
				    "\"value\":[256,32,0,0]}]");
	req("POST", "/v1/machines/default/cpus/1/tlb/flush?keep_global=true", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(fake.last, "[{\"op\":\"flush_tlb\",\"keep_global\":true,\"cpu\":1}]");
}
END_TEST

/* Batches in the common shape skip Jansson; the others must be answered exactly the same. */
START_TEST(batch_bodies_outside_the_fast_path)
{
	static const struct {
		const char *body;
		unsigned int status;
		size_t journaled;
	} cases[] = {
		{"[{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\",\"value\":[128,16,0,0]}"
		 ","
		 "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}]",
		 200, 2},
		{"[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":1.5}]", 422, 0},
		{"[{\"op\":\"free_pages\",\"pfn\":01}]", 400, 0},
		{"[{\"op\":\"alloc_pages\",\"op\":\"free_pages\"}]", 400, 0},
		{"[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"},]", 400, 0},
		{"[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}] x", 400, 0},
		{"[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}", 400, 0},
		{"[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KE\\u0052NEL\"}]", 200, 1},
		{"[7]", 422, 0},
		{"[[]]", 422, 0},
		{" [ ] ", 200, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t before = journal_len();

		req("POST", "/v1/machines/default/commands", cases[i].body);
		ck_assert_msg(rep.status == cases[i].status, "%s -> %u", cases[i].body, rep.status);
		ck_assert_uint_eq(journal_len() - before, cases[i].journaled);
		if (cases[i].status == 200)
			ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "results")),
					  cases[i].journaled);
	}
	/* the escaped GFP name was read as GFP_KERNEL and journaled as sent */
	ck_assert_str_eq(str(journal_cmd(journal_len() - 1), "gfp"), "GFP_KERNEL");
}
END_TEST

/* ---- paging ---------------------------------------------------------------------------- */

/* The kernel address of two fresh lowmem pages (order 1), allocated over REST. */
static uint32_t rest_lowmem_page(void)
{
	unsigned long long a;

	req("POST", "/v1/machines/default/pages",
	    "{\"gfp\":\"GFP_KERNEL|__GFP_ZERO\",\"order\":1}");
	ck_assert_uint_eq(rep.status, 201);
	ck_assert_int_eq(sscanf(str(rep.json, "address"), "0x%llx", &a), 1);
	return (uint32_t)a;
}

static json_int_t tlb_counter(unsigned int cpu, const char *name)
{
	char url[96];

	snprintf(url, sizeof(url), "/v1/machines/default/cpus/%u/tlb", cpu);
	req("GET", url, NULL);
	ck_assert_uint_eq(rep.status, 200);
	return num(json_object_get(rep.json, "counters"), name);
}

START_TEST(paging_routes)
{
	uint32_t va = rest_lowmem_page();
	char url[160], body[200], phys[32];
	size_t j0;

	/* translate: pure, level by level */
	snprintf(url, sizeof(url), "/v1/machines/default/translate?va=0x%x&cpu=1&access=write",
		 va + 0x123);
	req("GET", url, NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert(json_is_true(json_object_get(rep.json, "ok")));
	ck_assert(json_is_true(json_object_get(rep.json, "paging")));
	ck_assert(json_is_false(json_object_get(rep.json, "tlb_hit")));
	ck_assert_int_eq(num(rep.json, "cpu"), 1);
	ck_assert_str_eq(str(rep.json, "access"), "write");
	/* a 4M page, or 4K pages where the boot's read-only BPF page (lowmem on this 256 MiB
	 * machine) split the 4M page that holds it */
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "levels")),
			  num(rep.json, "page_size") == 4096 ? 2 : 1);
	snprintf(phys, sizeof(phys), "0x%x", va + 0x123 - 0xc0000000u);
	ck_assert_str_eq(str(rep.json, "phys"), phys);
	ck_assert(num(rep.json, "page_size") == 4 << 20 || num(rep.json, "page_size") == 4096);
	ck_assert(json_is_null(json_object_get(rep.json, "fault")));

	/* memory: kernel writes and reads are journaled commands; phys reads are not */
	j0 = journal_len();
	snprintf(body, sizeof(body),
		 "{\"addr\":\"0x%x\",\"data\":\"cafe0001\",\"space\":\"kernel\",\"cpu\":1}",
		 va + 0xffe);
	req("PUT", "/v1/machines/default/memory", body);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_int_eq(num(rep.json, "len"), 4);
	ck_assert_uint_eq(journal_len(), j0 + 1);
	ck_assert_str_eq(str(journal_cmd(j0), "op"), "memory_write");
	snprintf(url, sizeof(url), "/v1/machines/default/memory?addr=%u&len=6&space=phys",
		 va + 0xffd - 0xc0000000u);
	req("GET", url, NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(str(rep.json, "data"), "00cafe000100");
	ck_assert_str_eq(str(rep.json, "space"), "phys");
	ck_assert_uint_eq(journal_len(), j0 + 1);
	snprintf(url, sizeof(url), "/v1/machines/default/memory?addr=0x%x&len=2&space=kernel",
		 va + 0x1000);
	req("GET", url, NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(str(rep.json, "data"), "0001");
	ck_assert_uint_eq(journal_len(), j0 + 2);
	ck_assert_str_eq(str(journal_cmd(j0 + 1), "op"), "memory_read");
	/* the second access on CPU 0 hit the TLB the first one filled */
	req("GET", url, NULL);
	ck_assert_int_eq(tlb_counter(0, "misses"), 1);
	ck_assert_int_eq(tlb_counter(0, "hits"), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "entries")), 1);
	ck_assert(json_is_true(json_object_get(json_object_get(rep.json, "cr0"), "pg")));

	/* the REST forms of invlpg and flush_tlb */
	/* the page read above (its 4K entry, or the 4M entry holding it) */
	snprintf(url, sizeof(url), "/v1/machines/default/cpus/0/tlb/invlpg?va=0x%x", va + 0x1000);
	req("POST", url, NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_uint_eq(journal_len(), j0 + 4);
	ck_assert_str_eq(str(journal_cmd(j0 + 3), "op"), "invlpg");
	ck_assert_int_eq(tlb_counter(0, "invlpgs"), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "entries")), 0);
	req("POST", "/v1/machines/default/cpus/1/tlb/flush?keep_global=true", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert(json_is_true(json_object_get(rep.json, "keep_global")));
	ck_assert_int_eq(tlb_counter(1, "flushes"), 1);
	req("POST", "/v1/machines/default/cpus/1/tlb/flush", NULL);
	ck_assert(json_is_false(json_object_get(rep.json, "keep_global")));
	ck_assert_uint_eq(journal_len(), j0 + 6);

	req("GET", "/v1/machines/default/cpus", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "cpus")), 2);

	/* the page-table dump: text unless JSON is asked for */
	req("GET", "/v1/machines/default/page-tables/kernel", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_ptr_null(rep.json);
	ck_assert_uint_gt(rep.text.len, 0);
	ck_assert_int_eq(strncmp(rep.text.data, "# Kernel half of swapper_pg_dir", 31), 0);
	req("GET", "/v1/machines/default/page-tables/kernel?format=json", NULL);
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_uint_gt(json_array_size(json_object_get(rep.json, "entries")), 0);
	ck_assert_uint_gt(json_array_size(json_object_get(rep.json, "ranges")), 0);
	req_accept = "application/json";
	req("GET", "/v1/machines/default/page-tables/kernel", NULL);
	ck_assert_ptr_nonnull(json_object_get(rep.json, "ranges"));
	req_accept = "text/plain, application/json";
	req("GET", "/v1/machines/default/page-tables/kernel", NULL);
	ck_assert_ptr_null(rep.json);
	req("GET", "/v1/machines/default/page-tables/kernel?format=text", NULL);
	ck_assert_ptr_null(rep.json);
	ck_assert_uint_gt(rep.text.len, 0);
	req_accept = NULL;
	ck_assert_uint_eq(journal_len(), j0 + 6);
}
END_TEST

static const struct {
	const char *method, *url, *body;
	unsigned int status;
} bad_paging[] = {
	{"GET", "/v1/machines/default/translate", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0x100000000", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0xzz", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=-1", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0x1&cpu=2", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0x1&cpu=x", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0x1&space=phys", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0x1&space=user", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0x1&access=fetch", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0x1&va=0x2", NULL, 422},
	{"GET", "/v1/machines/default/translate?va=0x1&bogus=1", NULL, 422},
	{"GET", "/v1/machines/nope/translate?va=0x1", NULL, 404},
	{"GET", "/v1/machines/default/memory?addr=0xc0100000&len=16", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0xc0100000&space=kernel", NULL, 422},
	{"GET", "/v1/machines/default/memory?len=16&space=kernel", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0xc0100000&len=0&space=kernel", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0xc0100000&len=65537&space=kernel", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0xc0100000&len=16&space=virt", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0x100000000&len=16&space=kernel", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0x10000000&len=16&space=phys", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0xc0100000&len=16&space=kernel&cpu=2", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0x1000&len=16&space=kernel", NULL, 422},
	{"GET", "/v1/machines/default/memory?addr=0xfffffff0&len=32&space=kernel", NULL, 422},
	{"PUT", "/v1/machines/default/memory",
	 "{\"addr\":\"0xc1000000\",\"data\":\"00\",\"space\":\"kernel\"}", 422},
	{"PUT", "/v1/machines/default/memory",
	 "{\"addr\":\"0xc0100000\",\"data\":\"0\",\"space\":\"kernel\"}", 422},
	{"PUT", "/v1/machines/default/memory",
	 "{\"addr\":\"0xc0100000\",\"data\":\"00\",\"space\":\"kernel\",\"len\":1}", 422},
	{"PUT", "/v1/machines/default/memory", "{\"addr\":\"0xc0100000\",\"data\":\"00\"}", 422},
	{"PUT", "/v1/machines/default/memory", "[]", 422},
	{"PUT", "/v1/machines/default/memory", NULL, 422},
	{"PUT", "/v1/machines/default/memory", "{", 400},
	{"GET", "/v1/machines/default/cpus/2/tlb", NULL, 422},
	{"GET", "/v1/machines/default/cpus/x/tlb", NULL, 422},
	{"GET", "/v1/machines/default/cpus/-1/tlb", NULL, 422},
	{"POST", "/v1/machines/default/cpus/0/tlb/flush?keep_global=1", NULL, 422},
	{"POST", "/v1/machines/default/cpus/0/tlb/flush?va=0x1", NULL, 422},
	{"POST", "/v1/machines/default/cpus/2/tlb/flush", NULL, 422},
	{"POST", "/v1/machines/default/cpus/0/tlb/invlpg", NULL, 422},
	{"POST", "/v1/machines/default/cpus/0/tlb/invlpg?va=0x100000000", NULL, 422},
	{"GET", "/v1/machines/default/page-tables/kernel?format=xml", NULL, 422},
	{"GET", "/v1/machines/default/page-tables/user", NULL, 404},
	{"POST", "/v1/machines/default/boot/continue", NULL, 422},
	{"POST", "/v1/machines/default/boot/continue", "{\"until\":\"buddy\"}", 422},
	{"POST", "/v1/machines/default/boot/continue", "{\"until\":\"nope\"}", 422},
	{"POST", "/v1/machines/default/boot/continue", "{\"to\":\"buddy\"}", 422},
	{"POST", "/v1/machines/default/boot/continue", "[]", 422},
};

START_TEST(paging_bad_input)
{
	req(bad_paging[_i].method, bad_paging[_i].url, bad_paging[_i].body);
	ck_assert_msg(rep.status == bad_paging[_i].status, "%s %s %s -> %u", bad_paging[_i].method,
		      bad_paging[_i].url, bad_paging[_i].body ? bad_paging[_i].body : "",
		      rep.status);
	ck_assert(rep.problem);
	ck_assert_str_ne(str(rep.json, "detail"), "");
	ck_assert_uint_eq(journal_len(), 0);
	ck_assert_int_eq(tlb_counter(0, "fills"), 0);
}
END_TEST

/* A write to read-only kernel text faults: 422 page-fault, and nothing moved. */
START_TEST(page_fault_leaves_state)
{
	json_t *before;

	req("GET", "/v1/machines/default/translate?va=0xc1000000", NULL);
	before = json_incref(rep.json);
	req("PUT", "/v1/machines/default/memory",
	    "{\"addr\":\"0xc1000000\",\"data\":\"90\",\"space\":\"kernel\"}");
	ck_assert_uint_eq(rep.status, 422);
	ck_assert_str_eq(slug(), "page-fault");
	ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "#PF: supervisor write access"));
	ck_assert_str_eq(str(json_object_get(rep.json, "fault"), "address"), "0xc1000000");
	ck_assert_int_eq(num(json_object_get(rep.json, "fault"), "error_code"), 3);
	ck_assert_uint_eq(journal_len(), 0);
	req("GET", "/v1/machines/default/translate?va=0xc1000000", NULL);
	ck_assert(json_equal(rep.json, before));
	json_decref(before);
	req("GET", "/v1/machines/default/memory?addr=0x1000000&len=1&space=phys", NULL);
	ck_assert_str_ne(str(rep.json, "data"), "90");
	ck_assert_int_eq(tlb_counter(0, "fills"), 0);
	req("GET", "/v1/machines/default/check", NULL);
	ck_assert_uint_eq(rep.status, 200);
}
END_TEST

/* Every route on a machine stopped at each phase before buddy: what exists answers, what
 * does not yet answers 409 boot-phase; boot/continue brings it to the end. */
START_TEST(early_machine_routes)
{
	static const struct {
		const char *method, *path, *body;
		unsigned int status; /* 0: 200 or 409 boot-phase, as the phase allows */
	} routes[] = {
		{"GET", "", NULL, 200},
		{"GET", "/proc/zoneinfo", NULL, 409},
		{"GET", "/proc/meminfo", NULL, 409},
		{"GET", "/dmesg", NULL, 200},
		{"GET", "/layout", NULL, 200},
		{"GET", "/zones", NULL, 409},
		{"GET", "/e820", NULL, 200},
		{"GET", "/memblock", NULL, 200},
		{"GET", "/sysctl/vm/min_free_kbytes", NULL, 409},
		{"PUT", "/sysctl/vm/min_free_kbytes", "{\"value\":8192}", 409},
		{"POST", "/pages", "{\"gfp\":\"GFP_KERNEL\"}", 409},
		{"DELETE", "/pages/300", NULL, 409},
		{"GET", "/frames", NULL, 409},
		{"GET", "/frames/300", NULL, 409},
		{"POST", "/commands", "{\"op\":\"get_page\",\"pfn\":300}", 409},
		{"GET", "/check", NULL, 200},
		{"GET", "/journal", NULL, 200},
		{"GET", "/cpus", NULL, 200},
		{"GET", "/cpus/1/tlb", NULL, 200},
		{"GET", "/translate?va=0xc0100000", NULL, 200},
		{"GET", "/translate?va=0x100000&access=exec", NULL, 200},
		{"GET", "/memory?addr=0x100000&len=64&space=phys", NULL, 200},
		{"GET", "/memory?addr=0x100000&len=64&space=kernel", NULL, 0},
		{"POST", "/cpus/1/tlb/flush", NULL, 200},
		{"POST", "/cpus/0/tlb/invlpg?va=0x100000", NULL, 200},
		{"GET", "/page-tables/kernel", NULL, 200},
		{"GET", "/page-tables/kernel?format=json", NULL, 200},
	};
	char url[160], body[160];

	snprintf(body, sizeof(body),
		 "{\"name\":\"early\",\"mem\":\"256M\",\"cpus\":2,\"pae\":%s,"
		 "\"boot\":{\"stop_after\":\"%s\"}}",
		 _i % 2 ? "true" : "false", mm_boot_phase_name(_i / 2));
	req("POST", "/v1/machines", body);
	ck_assert_uint_eq(rep.status, 201);
	ck_assert_str_eq(str(rep.json, "phase"), mm_boot_phase_name(_i / 2));
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "zones")), 0);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		snprintf(url, sizeof(url), "/v1/machines/early%s", routes[i].path);
		req(routes[i].method, url, routes[i].body);
		if (routes[i].status == 409) {
			ck_assert_msg(rep.status == 409, "%s %s -> %u", routes[i].method, url,
				      rep.status);
			ck_assert_str_eq(slug(), "boot-phase");
			ck_assert_ptr_nonnull(
				strstr(str(rep.json, "detail"), mm_boot_phase_name(_i / 2)));
		} else if (routes[i].status) {
			ck_assert_msg(rep.status == routes[i].status, "%s %s -> %u: %s",
				      routes[i].method, url, rep.status,
				      rep.problem ? str(rep.json, "detail") : "");
		} else {
			/* a kernel-space read of 0x100000: with paging off it is the identity, and
			 * head_32's provisional tables map the low range at 0 too; from
			 * setup_arch() on (swapper_pg_dir, the memblock phase) the identity mapping
			 * is gone */
			unsigned int want = _i / 2 < MM_PHASE_MEMBLOCK ? 200 : 422;

			ck_assert_msg(rep.status == want, "%s -> %u, not %u", url, rep.status,
				      want);
			if (want == 422)
				ck_assert_str_eq(slug(), "page-fault");
		}
	}
	req("POST", "/v1/machines/early/boot/continue", "{\"until\":\"buddy\"}");
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(str(rep.json, "phase"), "buddy");
	req("GET", "/v1/machines/early/zones", NULL);
	ck_assert_uint_eq(rep.status, 200);
	req("POST", "/v1/machines/early/pages", "{\"gfp\":\"GFP_KERNEL\"}");
	ck_assert_uint_eq(rep.status, 201);
	req("POST", "/v1/machines/early/boot/continue", NULL);
	ck_assert_uint_eq(rep.status, 422);
	ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "finished"));
}
END_TEST

/* An allocation that fails as the kernel's would is journaled with its error. */
START_TEST(failed_allocation_is_journaled)
{
	char *body = malloc(5000 * 64);
	size_t off = 0;
	json_t *last;
	json_int_t n;

	ck_assert_ptr_nonnull(body);
	off += (size_t)sprintf(body, "[");
	for (int i = 0; i < 5000; i++)
		off += (size_t)sprintf(body + off, "%s{\"op\":\"alloc_pages\",\"gfp\":\"GFP_DMA\"}",
				       i ? "," : "");
	sprintf(body + off, "]");
	req("POST", "/v1/machines/default/commands", body);
	free(body);
	ck_assert_uint_eq(rep.status, 409);
	ck_assert_str_eq(slug(), "guest-out-of-memory");
	n = num(rep.json, "index");
	ck_assert_int_gt(n, 1000);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "results")), (size_t)n);
	/* the failing command is the journal's last entry, and the problem says which */
	ck_assert_uint_eq(journal_len(), (size_t)n + 1);
	ck_assert_int_eq(num(rep.json, "seq"), n + 1);
	last = json_array_get(fake.journal[0], (size_t)n);
	ck_assert_str_eq(str(json_object_get(last, "command"), "gfp"), "GFP_DMA");
	ck_assert_str_eq(str(json_object_get(json_object_get(last, "result"), "error"), "type"),
			 API_PROBLEM_BASE "guest-out-of-memory");
	ck_assert_int_eq(fake.appends, 1);
	/* the REST form too */
	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_DMA|__GFP_NOWARN\"}");
	ck_assert_uint_eq(rep.status, 409);
	ck_assert_int_eq(num(rep.json, "seq"), n + 2);
	ck_assert_str_eq(rep.location, "");
	ck_assert_uint_eq(journal_len(), (size_t)n + 2);
	/* refused before it ran: not journaled, no seq */
	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_DMA\",\"order\":11}");
	ck_assert_uint_eq(rep.status, 422);
	ck_assert_ptr_null(json_object_get(rep.json, "seq"));
	ck_assert_uint_eq(journal_len(), (size_t)n + 2);
}
END_TEST

/* A host without a store: the persistence routes are the daemon's (daemon/routes.c), so this
 * host has none of them: 404 whatever the method, and snapshot_restore is refused without
 * touching the machine. */
/* http.c: If-None-Match's weak comparison, and Accept's q-values. */
START_TEST(conditional_and_negotiation)
{
	static const char *const two[] = {"text/plain", "application/json"};
	static const struct {
		const char *accept;
		int want;
	} cases[] = {
		{NULL, 0},
		{"", 0},
		{"*/*", 0},
		{"application/json", 1},
		{"application/json, text/plain", 0}, /* a tie: the route's order */
		{"text/plain;q=0.5, application/json", 1},
		{"text/plain; q=0.5 ,application/json;q=0.4", 0},
		{"text/*;q=0, */*;q=0.1", 1},
		{"application/*", 1},
		{"TEXT/PLAIN;Q=0.2, application/json;q=0.1", 0},
		{"application/json;q=0.001, text/plain;q=0", 1},
		{"image/png", -1},
		{"text/plain;q=0, application/json;q=0.000", -1},
		{"*/*;q=0", -1},
		{"text/plain;q=2, application/json;q=0.5", 1}, /* a bad q excludes its range */
		{"text/plain;level=1;q=0.3, application/json;q=0.2", 0},
	};
	const char *tag = "\"ab-1-7-j\"";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(api_accept_choose(cases[i].accept, two, 2) == cases[i].want, "%s",
			      cases[i].accept ? cases[i].accept : "(none)");
	ck_assert(api_etag_matches(tag, tag));
	ck_assert(api_etag_matches("W/\"ab-1-7-j\"", tag));
	ck_assert(api_etag_matches("\"x\", W/\"ab-1-7-j\"", tag));
	ck_assert(api_etag_matches(" * ", tag));
	ck_assert(!api_etag_matches("\"ab-1-7-t\"", tag));
	ck_assert(!api_etag_matches("\"ab-1-7\"", tag));
	ck_assert(!api_etag_matches("ab-1-7-j", tag));
	ck_assert(!api_etag_matches("\"ab-1-7-j", tag));
	ck_assert(!api_etag_matches(NULL, tag));
	ck_assert(!api_etag_matches("*", ""));
}
END_TEST

START_TEST(persistence_without_a_store)
{
	static const char *const gets[] = {"/v1/machines/default/state-hash",
					   "/v1/machines/default/snapshots",
					   "/v1/machines/default/snapshots/1",
					   "/v1/jobs",
					   "/v1/jobs/1",
					   "/v1/sessions",
					   "/v1/sessions/default",
					   "/v1/sessions/default/journal"};

	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
		req("GET", gets[i], NULL);
		ck_assert_uint_eq(rep.status, 404);
		ck_assert_str_eq(slug(), "not-found");
		ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "no such resource"));
	}
	req("POST", "/v1/machines/default/snapshots", "{}");
	ck_assert_uint_eq(rep.status, 404);
	req("POST", "/v1/machines/default/snapshots/1/restore", NULL);
	ck_assert_uint_eq(rep.status, 404);
	req("DELETE", "/v1/machines/default/snapshots/1", NULL);
	ck_assert_uint_eq(rep.status, 404);
	req("POST", "/v1/sessions/default/replay", "{}");
	ck_assert_uint_eq(rep.status, 404);
	req_ct("POST", "/v1/sessions", "application/x-ndjson", "{}\n");
	ck_assert_uint_eq(rep.status, 404);
	/* a clone needs the host's machine_clone */
	req("POST", "/v1/machines", "{\"from_snapshot\": 1}");
	ck_assert_uint_eq(rep.status, 404);
	ck_assert_ptr_nonnull(strstr(str(rep.json, "detail"), "no snapshots or sessions"));
	req("PUT", "/v1/machines/default/snapshots", "{}");
	ck_assert_uint_eq(rep.status, 404);
	ck_assert_str_eq(rep.allow, "");
	req("DELETE", "/v1/sessions/default", NULL);
	ck_assert_uint_eq(rep.status, 404);
	req("POST", "/v1/machines/default/commands",
	    "{\"op\":\"snapshot_restore\",\"snapshot\":1}");
	ck_assert_uint_eq(rep.status, 422);
	ck_assert_int_eq(fake.appends, 0);
}
END_TEST

/* The bytes of the reply as the transport sends them: the text, or JSON with its newline. */
static char *reply_bytes(size_t *len, const char **ctype)
{
	char *b;

	if (rep.json_text) {
		*len = rep.json_text_len;
		*ctype = rep.content_type ? rep.content_type : "application/json";
		b = malloc(*len + 1);
		memcpy(b, rep.json_text, *len);
	} else if (rep.json) {
		char *s = json_dumps(rep.json, JSON_COMPACT | JSON_ENSURE_ASCII);

		*len = strlen(s) + 1;
		*ctype = "application/json";
		b = malloc(*len + 1);
		memcpy(b, s, *len - 1);
		b[*len - 1] = '\n';
		free(s);
	} else {
		*len = rep.text.len;
		*ctype = "text/plain; charset=utf-8";
		b = malloc(*len + 1);
		memcpy(b, rep.text.data, *len);
	}
	b[*len] = '\0';
	return b;
}

static void cache_counts(int i, uint64_t *hits, uint64_t *misses)
{
	api_view_cache_counts(fake.cache[i], hits, misses);
}

/* A view asked twice at one state is rendered once; the second answer is the same bytes
 * and Content-Type. */
START_TEST(views_cached_per_state)
{
	static const char *const urls[] = {
		"/v1/machines/default/proc/zoneinfo", "/v1/machines/default/zones",
		"/v1/machines/default/frames?start=8192&count=2",
		"/v1/machines/default/frames?start=8192&count=3", "/v1/machines/default/dmesg"};
	uint64_t hits, misses;

	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		const char *ct1, *ct2;
		size_t n1, n2;
		char *a, *b;

		cache_counts(0, &hits, &misses);
		req("GET", urls[i], NULL);
		ck_assert_uint_eq(rep.status, 200);
		a = reply_bytes(&n1, &ct1);
		req("GET", urls[i], NULL);
		ck_assert_uint_eq(rep.status, 200);
		b = reply_bytes(&n2, &ct2);
		ck_assert_msg(n1 == n2 && !memcmp(a, b, n1), "%s: another answer from the cache",
			      urls[i]);
		ck_assert_str_eq(ct1, ct2);
		/* the second came from the cache, as the transport's bytes */
		ck_assert_ptr_nonnull(rep.json_text);
		{
			uint64_t h, m;

			cache_counts(0, &h, &m);
			ck_assert_uint_eq(h, hits + 1);
			ck_assert_uint_eq(m, misses + 1);
		}
		free(a);
		free(b);
	}
	/* the Accept header is part of the key */
	req("GET", "/v1/machines/default/page-tables/kernel", NULL);
	ck_assert_ptr_null(rep.json);
	ck_assert_uint_gt(rep.text.len, 0);
	req_accept = "application/json";
	req("GET", "/v1/machines/default/page-tables/kernel", NULL);
	ck_assert_ptr_nonnull(rep.json);
	req_accept = NULL;
	req("GET", "/v1/machines/default/page-tables/kernel", NULL);
	ck_assert_str_eq(rep.content_type, "text/plain; charset=utf-8");
	/* a failure is not kept */
	cache_counts(0, &hits, &misses);
	req("GET", "/v1/machines/default/frames/99999999", NULL);
	ck_assert_uint_ne(rep.status, 200);
	req("GET", "/v1/machines/default/frames/99999999", NULL);
	ck_assert_uint_ne(rep.status, 200);
	{
		uint64_t h, m;

		cache_counts(0, &h, &m);
		ck_assert_uint_eq(h, hits);
		ck_assert_uint_eq(m, misses + 2);
	}
}
END_TEST

/* A command moves the seq: the next view is rendered again, and shows the change. A failed
 * commit (the machine rebuilt) and a machine deleted and made again under the same id are new
 * generations: nothing of the old state is served. */
START_TEST(views_cache_follows_the_state)
{
	uint64_t hits, misses, h2, m2;
	const char *ct;
	size_t n1, n2;
	char *a, *b;

	req("GET", "/v1/machines/default/proc/buddyinfo", NULL);
	a = reply_bytes(&n1, &ct);
	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\",\"order\":3}");
	ck_assert_uint_eq(rep.status, 201);
	cache_counts(0, &hits, &misses);
	req("GET", "/v1/machines/default/proc/buddyinfo", NULL);
	b = reply_bytes(&n2, &ct);
	cache_counts(0, &h2, &m2);
	ck_assert_uint_eq(h2, hits);
	ck_assert_uint_eq(m2, misses + 1);
	ck_assert_msg(n1 != n2 || memcmp(a, b, n1), "buddyinfo did not change");
	free(a);
	free(b);

	/* a commit that fails: the commands are undone by a rebuild, a new generation */
	req("GET", "/v1/machines/default/proc/buddyinfo", NULL);
	a = reply_bytes(&n1, &ct);
	fake.fail_journal = true;
	req("POST", "/v1/machines/default/pages", "{\"gfp\":\"GFP_KERNEL\",\"order\":3}");
	ck_assert_uint_eq(rep.status, 500);
	fake.fail_journal = false;
	cache_counts(0, &hits, &misses);
	req("GET", "/v1/machines/default/proc/buddyinfo", NULL);
	b = reply_bytes(&n2, &ct);
	cache_counts(0, &h2, &m2);
	ck_assert_uint_eq(m2, misses + 1);
	ck_assert_msg(n1 == n2 && !memcmp(a, b, n1), "the rebuilt machine shows another state");
	free(a);
	free(b);

	/* deleted and made again under the same id, with another size: its own texts */
	req("GET", "/v1/machines/default/proc/zoneinfo", NULL);
	a = reply_bytes(&n1, &ct);
	req("DELETE", "/v1/machines/default", NULL);
	ck_assert_uint_eq(rep.status, 204);
	req("POST", "/v1/machines", "{\"name\":\"default\",\"mem\":\"128M\",\"cpus\":2}");
	ck_assert_uint_eq(rep.status, 201);
	req("GET", "/v1/machines/default/proc/zoneinfo", NULL);
	b = reply_bytes(&n2, &ct);
	ck_assert_msg(n1 != n2 || memcmp(a, b, n1), "zoneinfo of the old machine served");
	free(a);
	free(b);
}
END_TEST

/* The cache's bounds: entries, bytes per answer, bytes in all; and a version that moves
 * empties it. */
START_TEST(view_cache_bounds)
{
	struct api_view_cache *vc = api_view_cache_new();
	struct api_state_version v1 = {1, 5}, v2 = {1, 6}, v3 = {2, 5};
	static char big[API_VIEW_CACHE_MAX_BYTES + 1];
	const char *ct;
	char key[32], *b;
	size_t len;

	ck_assert_ptr_nonnull(vc);
	api_view_cache_put(vc, v1, "a", "hello", 5, "text/plain");
	ck_assert(api_view_cache_get(vc, v1, "a", &b, &len, &ct));
	ck_assert_uint_eq(len, 5);
	ck_assert(!memcmp(b, "hello", 5));
	ck_assert_str_eq(ct, "text/plain");
	free(b);
	ck_assert(!api_view_cache_get(vc, v1, "b", &b, &len, &ct));
	/* another seq, another generation: not the same state */
	ck_assert(!api_view_cache_get(vc, v2, "a", &b, &len, &ct));
	api_view_cache_put(vc, v2, "a", "hello", 5, "text/plain");
	ck_assert(!api_view_cache_get(vc, v3, "a", &b, &len, &ct));
	ck_assert(!api_view_cache_get(vc, v2, "a", &b, &len, &ct));
	/* too large: not kept */
	api_view_cache_put(vc, v3, "big", big, sizeof(big), "text/plain");
	ck_assert(!api_view_cache_get(vc, v3, "big", &b, &len, &ct));
	/* at most API_VIEW_CACHE_ENTRIES: the least recently used goes */
	for (int i = 0; i < API_VIEW_CACHE_ENTRIES; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		api_view_cache_put(vc, v3, key, key, strlen(key), "text/plain");
	}
	ck_assert(api_view_cache_get(vc, v3, "k0", &b, &len, &ct)); /* k1 is the oldest now */
	free(b);
	api_view_cache_put(vc, v3, "one more", "x", 1, "text/plain");
	ck_assert(!api_view_cache_get(vc, v3, "k1", &b, &len, &ct));
	ck_assert(api_view_cache_get(vc, v3, "k0", &b, &len, &ct));
	free(b);
	ck_assert(api_view_cache_get(vc, v3, "one more", &b, &len, &ct));
	free(b);
	/* the byte budget: four answers of the largest size fit, a fifth pushes one out */
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "b%d", i);
		api_view_cache_put(vc, v3, key, big, API_VIEW_CACHE_MAX_BYTES, "text/plain");
	}
	ck_assert(!api_view_cache_get(vc, v3, "b0", &b, &len, &ct));
	ck_assert(api_view_cache_get(vc, v3, "b4", &b, &len, &ct));
	ck_assert_uint_eq(len, API_VIEW_CACHE_MAX_BYTES);
	free(b);
	api_view_cache_free(vc);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */

Suite *test_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("routes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, health_and_version);
	tcase_add_test(tc, conditional_and_negotiation);
	tcase_add_test(tc, unknown_routes);
	tcase_add_test(tc, web_files);
	tcase_add_test(tc, method_not_allowed);
	tcase_add_test(tc, slow_routes);
	tcase_add_test(tc, body_checks);
	tcase_add_test(tc, create_list_delete);
	tcase_add_test(tc, text_views);
	tcase_add_test(tc, views_cached_per_state);
	tcase_add_test(tc, views_cache_follows_the_state);
	tcase_add_test(tc, view_cache_bounds);
	tcase_add_test(tc, json_views);
	tcase_add_test(tc, sysctl_put_is_journaled);
	tcase_add_test(tc, commands_single_and_batch);
	tcase_add_test(tc, batch_too_large);
	tcase_add_test(tc, pages_rest_round_trip);
	tcase_add_loop_test(tc, pages_bad_input, 0, sizeof(bad_pages) / sizeof(bad_pages[0]));
	tcase_add_test(tc, pages_methods);
	tcase_add_test(tc, frames_range);
	tcase_add_test(tc, batch_one_journal_append);
	tcase_add_test(tc, batch_journal_failure);
	tcase_add_test(tc, journal_is_canonical);
	tcase_add_test(tc, batch_bodies_outside_the_fast_path);
	tcase_add_test(tc, paging_routes);
	tcase_add_loop_test(tc, paging_bad_input, 0, sizeof(bad_paging) / sizeof(bad_paging[0]));
	tcase_add_test(tc, page_fault_leaves_state);
	tcase_add_loop_test(tc, early_machine_routes, 0, 2 * MM_PHASE_BUDDY);
	tcase_add_test(tc, failed_allocation_is_journaled);
	tcase_add_test(tc, persistence_without_a_store);
	suite_add_tcase(s, tc);
	return s;
}
