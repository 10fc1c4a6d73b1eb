/* SPDX-License-Identifier: MIT */
/*
 * routes.c - the daemon's routes: what needs the store (the state hash, snapshots, jobs,
 * sessions), as rows of the router's table (api/router.h) that the daemon registers through
 * api_host.routes. api/ knows nothing of them: a host without a store (the tests' fake host)
 * has none of these routes, and they answer 404 there.
 *
 * Restoring a snapshot in place is a command (snapshot_restore) and its route is a command
 * row like api/'s: the router makes the command, the transaction runs and journals it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "problem.h"
#include "registry.h"
#include "routes.h"
#include "sessions.h"

static int h_state_hash(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	json_t *doc;
	int r;

	r = registry_state_hash(reg, api_call_lease(c), &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "the state hash");
	return api_reply_json(out, 200, doc, err);
}

static int h_snapshot_create(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	const char *label = NULL, *key;
	bool job = false;
	int async = -1, r;
	json_t *doc, *v;

	if (!json_is_null(api_call_body(c)) && !json_is_object(api_call_body(c)))
		return api_error(err, -EINVAL,
				 "the body must be an object {\"label\"?, \"async\"?} or empty");
	if (json_is_object(api_call_body(c))) {
		json_object_foreach(api_call_body(c), key, v) {
			if (!strcmp(key, "label")) {
				if (!json_is_string(v) || json_string_length(v) > 127)
					return api_error(err, -EINVAL,
							 "field 'label' must be a string of at "
							 "most 127 bytes");
				label = json_string_value(v);
			} else if (!strcmp(key, "async")) {
				if (!json_is_boolean(v))
					return api_error(err, -EINVAL,
							 "field 'async' must be true or false");
				async = json_is_true(v);
			} else {
				return api_error(err, -EINVAL,
						 "unknown field '%.64s' (known: label, async)",
						 key);
			}
		}
	}
	r = registry_snapshot_create(reg, api_call_lease(c), label, async, &doc, &job, err);
	if (r < 0)
		return api_call_failed(r, err, "the snapshot");
	if (job)
		snprintf(out->location, sizeof(out->location), "/v1/jobs/%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(doc, "id")));
	else
		snprintf(out->location, sizeof(out->location),
			 "/v1/machines/%s/snapshots/%" JSON_INTEGER_FORMAT, api_call_lease(c)->id,
			 json_integer_value(json_object_get(doc, "id")));
	return api_reply_json(out, job ? 202 : 201, doc, err);
}

static int h_snapshots(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	json_t *doc;
	int r;

	r = registry_snapshot_list(reg, api_call_lease(c), &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "listing the snapshots");
	return api_page_list(c, out, doc, "snapshots", "id", true, err);
}

static int h_snapshot(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	int64_t id;
	json_t *doc;
	int r;

	r = api_path_id("snapshot", api_call_segment(c, 1), &id, err);
	if (r < 0)
		return r;
	r = registry_snapshot_get(reg, api_call_lease(c), id, &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "reading the snapshot");
	return api_reply_json(out, 200, doc, err);
}

static int h_snapshot_delete(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	int64_t id;
	json_t *doc;
	int r;

	r = api_path_id("snapshot", api_call_segment(c, 1), &id, err);
	if (r < 0)
		return r;
	r = registry_snapshot_delete(reg, api_call_segment(c, 0), id, &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "deleting the snapshot");
	return api_reply_json(out, 200, doc, err);
}

static int h_journal_compact(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	json_t *body = api_call_body(c), *v = json_object_get(body, "snapshot");
	json_t *doc;
	int r;

	if (!json_is_object(body) || json_object_size(body) != 1 || !json_is_integer(v) ||
	    json_integer_value(v) < 1)
		return api_error(err, -EINVAL,
				 "the body must be {\"snapshot\": <id>}: the snapshot of this "
				 "machine to compact its journal behind");
	r = registry_journal_compact(reg, api_call_lease(c), json_integer_value(v), &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "compacting the journal");
	return api_reply_json(out, 200, doc, err);
}

static int h_jobs(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	json_t *doc;
	int r;

	r = registry_job_list(reg, &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "listing the jobs");
	return api_page_list(c, out, doc, "jobs", "id", true, err);
}

static int h_job(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	int64_t id;
	json_t *doc;
	int r;

	r = api_path_id("job", api_call_segment(c, 0), &id, err);
	if (r < 0)
		return r;
	r = registry_job_get(reg, id, &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "reading the job");
	return api_reply_json(out, 200, doc, err);
}

static int h_sessions(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	json_t *doc;
	int r;

	r = session_list(registry_store(reg), &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "listing the sessions");
	return api_page_list(c, out, doc, "sessions", "id", false, err);
}

static int h_session(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	json_t *doc;
	int r;

	r = session_get(registry_store(reg), api_call_segment(c, 0), &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "reading the session");
	return api_reply_json(out, 200, doc, err);
}

#define NDJSON_CONTENT_TYPE "application/x-ndjson"

static int h_session_journal(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	struct api_text t = {0};
	int r;

	r = session_export(registry_store(reg), api_call_segment(c, 0), &t, err);
	if (r < 0) {
		api_text_free(&t);
		return api_call_failed(r, err, "exporting the session");
	}
	if (t.oom) {
		api_text_free(&t);
		return api_error(err, -ENOMEM, "out of memory");
	}
	out->status = 200;
	out->json_text = t.data;
	out->json_text_len = t.len;
	out->content_type = NDJSON_CONTENT_TYPE;
	return 0;
}

/* Is @ct (a Content-Type) one that NDJSON may come as? None at all is fine too. */
static bool content_type_is_ndjson(const char *ct)
{
	static const char *const ok[] = {"application/x-ndjson",
					 "application/ndjson",
					 "application/jsonl",
					 "application/x-jsonlines",
					 "application/x-www-form-urlencoded", /* curl -d */
					 NULL};
	size_t len = strcspn(ct, ";");

	while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	for (const char *const *k = ok; *k; k++)
		if (strlen(*k) == len && !strncasecmp(ct, *k, len))
			return true;
	return false;
}

static int h_session_import(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"name", NULL};
	struct registry *reg = api_call_host(c)->data;
	const char *name;
	bool present;
	json_t *doc;
	int r;

	if (api_call_request(c)->content_type &&
	    !content_type_is_ndjson(api_call_request(c)->content_type))
		return api_error(err, -EMEDIUMTYPE,
				 "Content-Type '%.64s' is not NDJSON; send application/x-ndjson",
				 api_call_request(c)->content_type);
	r = api_query_check(c, known, err);
	if (r < 0)
		return r;
	name = api_query_value(c, "name", &present);
	if (present && !api_name_valid(name))
		return api_error(err, -EINVAL,
				 "query parameter 'name' must match "
				 "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
	r = session_import(reg, present ? name : "", api_call_request(c)->body,
			   api_call_request(c)->body_len, &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "the import");
	snprintf(out->location, sizeof(out->location), "/v1/sessions/%s",
		 json_string_value(json_object_get(doc, "session")));
	return api_reply_json(out, 201, doc, err);
}

static int h_session_replay(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct registry *reg = api_call_host(c)->data;
	struct session_replay_req req = {.name = "", .until_seq = -1, .verify = true};
	const char *key;
	json_t *doc, *v;
	int r;

	if (!json_is_null(api_call_body(c)) && !json_is_object(api_call_body(c)))
		return api_error(err, -EINVAL,
				 "the body must be an object {\"until_seq\"?, \"verify\"?, "
				 "\"name\"?} or empty");
	if (json_is_object(api_call_body(c))) {
		json_object_foreach(api_call_body(c), key, v) {
			if (!strcmp(key, "until_seq")) {
				if (!json_is_integer(v) || json_integer_value(v) < 0)
					return api_error(err, -EINVAL,
							 "field 'until_seq' must be an integer "
							 ">= 0");
				req.until_seq = json_integer_value(v);
			} else if (!strcmp(key, "verify")) {
				if (!json_is_boolean(v))
					return api_error(err, -EINVAL,
							 "field 'verify' must be true or false");
				req.verify = json_is_true(v);
			} else if (!strcmp(key, "name")) {
				if (!json_is_string(v) || !api_name_valid(json_string_value(v)))
					return api_error(err, -EINVAL,
							 "field 'name' must match "
							 "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
				req.name = json_string_value(v);
			} else {
				return api_error(err, -EINVAL,
						 "unknown field '%.64s' (known: until_seq, verify, "
						 "name)",
						 key);
			}
		}
	}
	r = session_replay(reg, api_call_segment(c, 0), &req, &doc, err);
	if (r < 0)
		return api_call_failed(r, err, "the replay");
	snprintf(out->location, sizeof(out->location), "/v1/machines/%s",
		 json_string_value(json_object_get(doc, "machine")));
	return api_reply_json(out, 201, doc, err);
}

static const struct api_route_arg restore_args[] = {
	{.name = "snapshot", .from = API_FROM_PATH_ID, .seg = 1},
	{0},
};

#define M(p) "v1/machines/*" p

static const struct api_route routes[] = {
	{.pattern = M("/state-hash"), .method = API_GET, .machine = true, .fn = h_state_hash},
	/* the store's snapshots change without a command: no ETag */
	{.pattern = M("/snapshots"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_snapshots,
	 .volatile_view = true},
	{.pattern = M("/snapshots"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .fn = h_snapshot_create,
	 .slow = true},
	{.pattern = M("/snapshots/*"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_snapshot,
	 .volatile_view = true},
	{.pattern = M("/snapshots/*"), .method = API_DELETE, .fn = h_snapshot_delete},
	{.pattern = M("/snapshots/*/restore"),
	 .method = API_POST,
	 .machine = true,
	 .op = "snapshot_restore",
	 .args = restore_args,
	 .slow = true},
	{.pattern = M("/journal/compact"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .fn = h_journal_compact},
	{.pattern = "v1/jobs", .method = API_GET, .fn = h_jobs},
	{.pattern = "v1/jobs/*", .method = API_GET, .fn = h_job},
	{.pattern = "v1/sessions", .method = API_GET, .fn = h_sessions},
	{.pattern = "v1/sessions", .method = API_POST, .fn = h_session_import, .slow = true},
	{.pattern = "v1/sessions/*", .method = API_GET, .fn = h_session},
	{.pattern = "v1/sessions/*/journal", .method = API_GET, .fn = h_session_journal},
	{.pattern = "v1/sessions/*/replay",
	 .method = API_POST,
	 .body = true,
	 .fn = h_session_replay,
	 .slow = true},
};

const struct api_route *daemon_routes(size_t *ret_n)
{
	*ret_n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
