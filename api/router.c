/* SPDX-License-Identifier: MIT */
/*
 * router.c - from a request to its route, and from a command route to its command.
 *
 * A route is a row (struct api_route, router.h): api/'s rows are in routes.c, the host's are
 * its own (api_host.routes). The order of checks is fixed so that answers are predictable:
 * unknown path 404 -> wrong method 405 -> body too large 413 -> non-JSON body 415 ->
 * malformed JSON 400 -> unknown machine 404 -> the handler. For routes under
 * /v1/machines/{id} the router acquires the machine before the handler runs and releases
 * it after the reply is built, so handlers never see an unlocked machine.
 *
 * A command route has no handler of its own: api_route_command() makes the command from the
 * row (its op, and each field from the body, a path segment or the query, read as the type the
 * executor's op table declares) and runs it in the transaction (txn.h), which checks every
 * field against that table and journals it. Adding an op's route is adding a row.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call-int.h"
#include "commands.h"
#include "problem.h"
#include "txn.h"

#define MAX_SEGS 8

void api_reply_finish(struct api_reply *r)
{
	json_decref(r->json);
	r->json = NULL;
	free(r->json_text);
	r->json_text = NULL;
	r->json_text_len = 0;
	mm_buf_free(&r->text);
	memset(&r->text, 0, sizeof(r->text));
}

int api_reply_json(struct api_reply *out, unsigned int status, json_t *doc, struct mm_error *err)
{
	if (!doc)
		return api_error(err, -ENOMEM, "out of memory building the response");
	out->status = status;
	out->json = doc;
	return 0;
}

int api_call_failed(int r, struct mm_error *err, const char *what)
{
	/* mmcore fills @err; make sure a code without a message still says something */
	if (err->msg[0] == '\0')
		api_error(err, r, "%s failed (%d)", what, r);
	return r;
}

const struct api_host *api_call_host(const struct api_call *c)
{
	return c->host;
}

const struct api_request *api_call_request(const struct api_call *c)
{
	return c->req;
}

const char *api_call_segment(const struct api_call *c, unsigned int i)
{
	return i < 3 ? c->cap[i] : NULL;
}

json_t *api_call_body(const struct api_call *c)
{
	return c->body;
}

struct api_lease *api_call_lease(struct api_call *c)
{
	return &c->lease;
}

void api_call_set_extra(struct api_call *c, json_t *extra)
{
	json_decref(c->extra);
	c->extra = extra;
}

/* ---- commands --------------------------------------------------------------------------- */

/* Answer @status with the JSON text @t (stolen), plus the final newline. */
static int reply_text(struct api_reply *out, unsigned int status, struct api_text *t,
		      struct mm_error *err)
{
	api_text_put(t, "\n", 1);
	if (t->oom) {
		api_text_free(t);
		return api_error(err, -ENOMEM, "out of memory building the response");
	}
	out->status = status;
	out->json_text = t->data;
	out->json_text_len = t->len;
	memset(t, 0, sizeof(*t));
	return 0;
}

int h_commands(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	struct api_txn_source src = {.json = c->body};
	struct api_text t = {0};
	struct api_txn_live run;
	json_t *extra = NULL;
	int r;

	if (c->fast.cmds) {
		src = (struct api_txn_source){.n = c->fast.n, .batch = true, .cmds = c->fast.cmds};
	} else if (json_is_object(c->body)) {
		src.n = 1;
	} else if (json_is_array(c->body)) {
		src.n = json_array_size(c->body);
		src.batch = true;
	} else {
		return api_error(err, -EINVAL, "the body must be a command object or an array");
	}
	if (src.n > API_BATCH_MAX)
		return api_error(err, -E2BIG, "a batch holds at most %d commands, not %zu",
				 API_BATCH_MAX, src.n);
	r = api_txn_live(c->host, &c->lease, &src, false, &run, &extra, err);
	if (r < 0) {
		/* where a batch stopped: "index", and the results before it (applied) */
		if (src.batch && run.command_failed) {
			json_t *where;

			api_text_puts(&t, "{\"index\":");
			api_text_int(&t, (int64_t)run.done);
			api_text_puts(&t, ",\"results\":");
			api_txn_entries_text(&t, &run);
			api_text_puts(&t, "}");
			where = t.oom ? NULL : json_loadb(t.data, t.len, 0, NULL);
			if (where && extra)
				json_object_update(where, extra); /* "seq" */
			json_decref(extra);
			extra = where;
			api_text_free(&t);
		}
		api_call_set_extra(c, extra);
		api_txn_live_finish(&run);
		return r;
	}
	json_decref(extra);
	if (src.batch) {
		api_text_puts(&t, "{\"results\":");
		api_txn_entries_text(&t, &run);
		api_text_puts(&t, "}");
	} else {
		api_txn_entry_text(&t, &run, 0);
	}
	api_txn_live_finish(&run);
	return reply_text(out, 200, &t, err);
}

/* A field of a command route read from a path segment or a query argument: as the type the
 * op declares (@a; NULL for "cpu", an integer). */
static int text_arg(const char *what, const struct api_op_arg *a, const char *s, bool id,
		    json_t **ret, struct mm_error *err)
{
	enum api_arg_kind kind = a ? a->kind : API_ARG_INT;
	uint32_t u;
	int64_t x;
	int r;

	if (id) {
		r = api_path_id(a ? a->name : "cpu", s, &x, err);
		*ret = r < 0 ? NULL : json_integer(x);
		return r;
	}
	switch (kind) {
	case API_ARG_INT:
		r = api_parse_uint(what, s, UINT32_MAX, &u, err);
		*ret = r < 0 ? NULL : json_integer(u);
		return r;
	case API_ARG_BOOL:
		if (strcmp(s, "true") && strcmp(s, "false"))
			return api_error(err, -EINVAL, "%s must be true or false, not \"%.32s\"",
					 what, s);
		*ret = json_boolean(!strcmp(s, "true"));
		return 0;
	default:
		*ret = json_string(s);
		return 0;
	}
}

/* "{\"gfp\", \"order\"?, \"cpu\"?}": the body a command route takes. */
static void body_shape(const struct api_route *rt, const struct api_command_op *op, char *buf,
		       size_t size, bool *ret_optional)
{
	size_t off = 0;

	*ret_optional = true;
	off += (size_t)snprintf(buf + off, size - off, "{");
	for (const struct api_route_arg *a = rt->args; a->name && off < size; a++) {
		const struct api_op_arg *oa = api_command_arg(op, a->name);
		bool req = oa && oa->required;

		if (a->from != API_FROM_BODY)
			continue;
		if (req)
			*ret_optional = false;
		off += (size_t)snprintf(buf + off, size - off, "%s\"%s\"%s", off > 1 ? ", " : "",
					a->name, req ? "" : "?");
	}
	if (off < size)
		snprintf(buf + off, size - off, "}");
}

/* The command of a command route's request (a new reference in *@ret). */
static int route_command(struct api_call *c, const struct api_command_op *op, json_t **ret,
			 struct mm_error *err)
{
	const struct api_route *rt = c->route;
	const char *known[10];
	size_t nknown = 0;
	json_t *cmd = json_pack("{s:s}", "op", rt->op), *v = NULL;
	const char *key;
	char what[80];
	int r = 0;

	if (!cmd)
		return api_error(err, -ENOMEM, "out of memory");
	for (const struct api_route_arg *a = rt->args; a->name; a++)
		if (a->from == API_FROM_QUERY && nknown < 7)
			known[nknown++] = a->name;
	if (rt->wait) /* how long the request may wait (api_route_command()), not a field */
		known[nknown++] = "timeout";
	if (rt->method != API_GET) /* what it changed (dispatch(), http.c), not a field */
		known[nknown++] = "diff";
	known[nknown] = NULL;
	/* a route that reads the query refuses what it does not read */
	if (nknown)
		r = api_query_check(c, known, err);
	/* the path (what it names) and the query, then the body */
	for (const struct api_route_arg *a = rt->args; r == 0 && a->name; a++) {
		const struct api_op_arg *oa = api_command_arg(op, a->name);
		const char *s;
		bool present = true;

		if (a->from == API_FROM_BODY)
			continue;
		s = a->from == API_FROM_QUERY ? api_query_value(c, a->name, &present)
					      : c->cap[a->seg];
		if (!present)
			continue;
		if (a->from == API_FROM_QUERY)
			snprintf(what, sizeof(what), "query parameter '%s'", a->name);
		else
			snprintf(what, sizeof(what), "the %s", a->name);
		r = text_arg(what, oa, s, a->from == API_FROM_PATH_ID, &v, err);
		if (r == 0 && (!v || json_object_set_new(cmd, a->name, v)))
			r = api_error(err, -ENOMEM, "out of memory");
	}
	if (r == 0 && rt->body) {
		char shape[160];
		bool optional;

		body_shape(rt, op, shape, sizeof(shape), &optional);
		if (!json_is_object(c->body) && !(optional && json_is_null(c->body)))
			r = api_error(err, -EINVAL, "the body must be an object %s%s", shape,
				      optional ? " or empty" : "");
		json_object_foreach(json_is_object(c->body) ? c->body : NULL, key, v) {
			const struct api_route_arg *a;

			for (a = rt->args; a->name; a++)
				if (a->from == API_FROM_BODY && !strcmp(a->name, key))
					break;
			if (!a->name) {
				r = api_error(err, -EINVAL, "unknown field '%.64s' (known: %s)",
					      key, shape);
				break;
			}
			if (json_object_set(cmd, key, v)) {
				r = api_error(err, -ENOMEM, "out of memory");
				break;
			}
		}
	}
	if (r < 0) {
		json_decref(cmd);
		return r;
	}
	*ret = cmd;
	return 0;
}

#define WAIT_DEFAULT_MS 30000u
#define WAIT_MAX_MS 300000u

/* A .wait route's ?timeout=: seconds (decimals allowed), 0..300, default 30. */
static int wait_timeout(const struct api_call *c, unsigned int *ret_ms, struct mm_error *err)
{
	bool present;
	const char *v = api_query_value(c, "timeout", &present);
	char *end = NULL;
	double t;

	*ret_ms = WAIT_DEFAULT_MS;
	if (!present)
		return 0;
	t = v && *v ? strtod(v, &end) : -1;
	if (!v || !*v || *end || !(t >= 0) || t * 1000 > WAIT_MAX_MS)
		return api_error(err, -EINVAL,
				 "query parameter 'timeout' must be seconds from 0 to %u, not "
				 "\"%.32s\"",
				 WAIT_MAX_MS / 1000, v ? v : "");
	*ret_ms = (unsigned int)(t * 1000);
	return 0;
}

/*
 * A command route's request made into its command and run through the transaction. On a
 * .wait route a command that would sleep (-ENOSPC: every pkmap slot in use, as the kernel's
 * kmap_high() sleeps on pkmap_map_wait) answers 503 kmap-timeout with Retry-After, and asks
 * the transport (api_reply.wait_ms) to hold the request back and dispatch it again when the
 * machine is woken, for up to ?timeout seconds: nothing changed and nothing was journaled,
 * so the kmap is journaled where it completes.
 */
/*
 * Location: /v1/machines/{id}/<.location>/<the result's .location_member>, each "*" of
 * .location the request's next path segment after the machine's, the member an integer
 * (a pfn) or a string (an address, a name).
 */
static void route_location(const struct api_call *c, const struct api_route *rt,
			   const json_t *result, struct api_reply *out)
{
	const json_t *v = json_object_get(result, rt->location_member);
	size_t off, len = sizeof(out->location);
	unsigned int seg = 1;

	off = (size_t)snprintf(out->location, len, "/v1/machines/%s/", c->lease.id);
	for (const char *p = rt->location; *p && off < len; p++) {
		if (*p == '*' && seg < 3 && c->cap[seg])
			off += (size_t)snprintf(out->location + off, len - off, "%s",
						c->cap[seg++]);
		else
			out->location[off++] = *p;
	}
	if (off >= len) {
		out->location[len - 1] = '\0';
		return;
	}
	out->location[off] = '\0';
	if (json_is_string(v))
		snprintf(out->location + off, len - off, "/%s", json_string_value(v));
	else
		snprintf(out->location + off, len - off, "/%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
}

int api_route_command(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_route *rt = c->route;
	const struct api_command_op *op = api_command_op_find(rt->op);
	struct api_txn_source src = {.n = 1};
	struct api_txn_live run;
	struct api_json_span res;
	json_t *cmd = NULL, *result, *extra = NULL;
	unsigned int wait_ms = 0;
	int r;

	if (!op)
		return api_error(err, -EINVAL, "unknown op '%s'", rt->op);
	r = route_command(c, op, &cmd, err);
	if (r == 0 && rt->wait)
		r = wait_timeout(c, &wait_ms, err);
	if (r < 0) {
		json_decref(cmd);
		return r;
	}
	src.json = cmd;
	r = api_txn_live(c->host, &c->lease, &src, rt->pure, &run, &extra, err);
	json_decref(cmd);
	if (r == -ENOSPC && rt->wait) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		json_decref(extra);
		api_txn_live_finish(&run);
		out->retry_after = 1;
		out->wait_ms = wait_ms;
		snprintf(out->wait_machine, sizeof(out->wait_machine), "%s", c->lease.id);
		return api_error(err, -ETIMEDOUT,
				 "%.180s; no kunmap() freed one within the timeout (%u ms)", why,
				 wait_ms);
	}
	api_call_set_extra(c, extra);
	if (r < 0) {
		api_txn_live_finish(&run);
		return r;
	}
	res = api_txn_result(&run.t, 0);
	result = json_loadb(res.text, res.len, JSON_DECODE_ANY, NULL);
	api_txn_live_finish(&run);
	if (!result)
		return api_error(err, -ENOMEM, "out of memory");
	if (rt->location)
		route_location(c, rt, result, out);
	if (rt->location && json_is_string(json_object_get(result, rt->location_member)))
		snprintf(out->location, sizeof(out->location), "/v1/machines/%s/%s/%s", c->lease.id,
			 rt->location,
			 json_string_value(json_object_get(result, rt->location_member)));
	else if (rt->location)
		snprintf(out->location, sizeof(out->location),
			 "/v1/machines/%s/%s/%" JSON_INTEGER_FORMAT, c->lease.id, rt->location,
			 json_integer_value(json_object_get(result, rt->location_member)));
	return api_reply_json(out, rt->status ? rt->status : 200, result, err);
}

/* ---- dispatch --------------------------------------------------------------------------- */

static unsigned int method_bit(const char *m)
{
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		return API_GET;
	if (!strcmp(m, "POST"))
		return API_POST;
	if (!strcmp(m, "PUT"))
		return API_PUT;
	if (!strcmp(m, "DELETE"))
		return API_DELETE;
	return 0;
}

static bool route_match(const char *pattern, char *const *segs, int n, const char **cap)
{
	int i = 0, k = 0;

	for (const char *p = pattern; *p; i++) {
		size_t len = strcspn(p, "/");

		if (i >= n)
			return false;
		if (len == 1 && *p == '*') {
			if (k < 3)
				cap[k++] = segs[i];
		} else if (strlen(segs[i]) != len || strncmp(p, segs[i], len)) {
			return false;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	return i == n;
}

bool api_route_slow(const struct api_host *host, const char *method, const char *url)
{
	char path[1024], *segs[MAX_SEGS], *save = NULL, *tok;
	unsigned int want = method_bit(method);
	size_t len = strlen(url);
	int n = 0;

	if (url[0] != '/' || len >= sizeof(path) || !want)
		return false;
	memcpy(path, url, len + 1);
	for (tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (n == MAX_SEGS)
			return false;
		segs[n++] = tok;
	}
	for (int t = 0; t < 2; t++) {
		size_t nr;
		const struct api_route *routes = t ? host->routes : api_routes(&nr);

		if (t)
			nr = host->routes ? host->nroutes : 0;
		for (size_t i = 0; i < nr; i++) {
			const char *cap[3];

			if (routes[i].method == want &&
			    route_match(routes[i].pattern, segs, n, cap))
				return routes[i].slow;
		}
	}
	return false;
}

static bool content_type_is_json(const char *ct)
{
	size_t len = strcspn(ct, ";");

	while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	while (len && (*ct == ' ' || *ct == '\t')) {
		ct++;
		len--;
	}
	if (len == 16 && !strncasecmp(ct, "application/json", 16))
		return true;
	/* what `curl -d` sends unless told otherwise: the body is still read as JSON */
	if (len == 33 && !strncasecmp(ct, "application/x-www-form-urlencoded", 33))
		return true;
	return len > 5 && !strncasecmp(ct + len - 5, "+json", 5);
}

/*
 * A view of a machine (GET, answered 200) carries the ETag of the machine's state and of its
 * representation; If-None-Match naming it turns the answer into 304 without a body. Not for
 * views that show more than the machine (.volatile_view) or a stream.
 */
static void view_etag(struct api_call *c, const struct api_route *rt, struct api_reply *out)
{
	/* a text kept by the view cache is json_text with text/plain: a text all the same */
	bool cached_text = out->json_text && out->content_type &&
			   !strncmp(out->content_type, "text/plain", 10);

	if (rt->volatile_view || out->status != 200 || out->stream ||
	    (out->json_text && out->content_type && !cached_text))
		return;
	api_view_etag(c->host, &c->lease, (out->json || out->json_text) && !cached_text ? 'j' : 't',
		      out->etag, sizeof(out->etag));
	if (out->etag[0] && api_etag_matches(c->req->if_none_match, out->etag)) {
		api_reply_finish(out);
		out->status = 304;
		out->not_modified = true;
	}
}

/* @s (malloc'd, @len bytes) with the final newline the transport adds to JSON; frees @s and
 * returns NULL when memory runs out. */
static char *realloc_newline(char *s, size_t *len)
{
	char *t = realloc(s, *len + 2);

	if (!t) {
		free(s);
		return NULL;
	}
	t[(*len)++] = '\n';
	t[*len] = '\0';
	return t;
}

/* The key of a cached view: the path, each query argument and the Accept header, each with
 * its length, so that no two requests share one. NULL when memory runs out. */
static char *view_key(const struct api_request *req)
{
	struct api_text k = {0};
	char num[24];

#define KEY_PART(s)                                                                                \
	do {                                                                                       \
		const char *s_ = (s) ? (s) : "";                                                   \
		snprintf(num, sizeof(num), "%zu:", strlen(s_));                                    \
		api_text_puts(&k, num);                                                            \
		api_text_puts(&k, s_);                                                             \
	} while (0)
	KEY_PART(req->method);
	KEY_PART(req->url);
	for (size_t i = 0; i < req->nquery; i++) {
		KEY_PART(req->query[i].key);
		api_text_puts(&k, req->query[i].value ? "=" : "-");
		KEY_PART(req->query[i].value);
	}
	KEY_PART(req->accept);
#undef KEY_PART
	if (k.oom) {
		api_text_free(&k);
		return NULL;
	}
	return k.data;
}

/*
 * A .cache view: the answer kept for this request at the machine's state version, else the
 * handler's, kept for the next request (viewcache.h). A hit answers the same bytes the
 * handler's reply would serialize to: JSON as the transport writes it, or the text.
 */
static int cached_view(struct api_call *c, const struct api_route *rt, struct api_reply *out,
		       struct mm_error *err)
{
	const char *ctype;
	char *key = view_key(c->req), *body;
	size_t len;
	int r;

	if (key && api_view_cache_get(c->lease.cache, c->lease.version, key, &body, &len, &ctype)) {
		out->status = 200;
		out->json_text = body;
		out->json_text_len = len;
		/* JSON as the transport's default type, as the handler's own answer has it */
		out->content_type = strcmp(ctype, "application/json") ? ctype : NULL;
		free(key);
		return 0;
	}
	r = rt->fn(c, out, err);
	if (r == 0 && key && out->status == 200 && !out->problem) {
		if (out->json) {
			body = json_dumps(out->json, JSON_COMPACT | JSON_ENSURE_ASCII);
			len = body ? strlen(body) : 0;
			if (body)
				body = realloc_newline(body, &len);
			if (body)
				api_view_cache_put(c->lease.cache, c->lease.version, key, body, len,
						   "application/json");
			free(body);
		} else if (out->json_text) {
			api_view_cache_put(c->lease.cache, c->lease.version, key, out->json_text,
					   out->json_text_len,
					   out->content_type ? out->content_type
							     : "application/json");
		} else if (out->text.data) {
			api_view_cache_put(c->lease.cache, c->lease.version, key, out->text.data,
					   out->text.len, "text/plain; charset=utf-8");
		}
	}
	free(key);
	return r;
}

static int dispatch(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_request *req = c->req;
	char path[1024], *segs[MAX_SEGS], *save = NULL, *tok;
	const struct api_route *rt = NULL;
	unsigned int allowed = 0, want = method_bit(req->method);
	const char *cap[3] = {NULL, NULL, NULL};
	size_t len = strlen(req->url);
	int n = 0, r;

	if (req->url[0] != '/' || len >= sizeof(path))
		return api_error(err, -ENOENT, "no such resource");
	memcpy(path, req->url, len + 1);
	if (len > 1 && path[len - 1] == '/')
		path[len - 1] = '\0';
	/* "//" would vanish under strtok_r: refuse it instead of aliasing another route */
	if (strstr(path, "//"))
		return api_error(err, -ENOENT, "no such resource");
	for (tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (n == MAX_SEGS)
			return api_error(err, -ENOENT, "no such resource");
		segs[n++] = tok;
	}

	for (int t = 0; t < 2; t++) {
		size_t nr;
		const struct api_route *routes = t ? c->host->routes : api_routes(&nr);

		if (t)
			nr = c->host->routes ? c->host->nroutes : 0;
		for (size_t i = 0; i < nr; i++) {
			const char *try[3] = {NULL, NULL, NULL};

			if (!route_match(routes[i].pattern, segs, n, try))
				continue;
			allowed |= routes[i].method;
			if (routes[i].method == want && !rt) {
				rt = &routes[i];
				cap[0] = try[0];
				cap[1] = try[1];
				cap[2] = try[2];
			}
		}
	}
	if (!allowed)
		return api_error(err, -ENOENT, "no such resource: %.200s", req->url);
	if (!rt) {
		static const struct {
			unsigned int bit;
			const char *names;
		} order[] = {{API_GET, "GET, HEAD"},
			     {API_POST, "POST"},
			     {API_PUT, "PUT"},
			     {API_DELETE, "DELETE"}};
		size_t off = 0;

		for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
			if (allowed & order[i].bit)
				off += (size_t)snprintf(out->allow + off, sizeof(out->allow) - off,
							"%s%s", off ? ", " : "", order[i].names);
		return api_error(err, -EOPNOTSUPP, "%s is not allowed on %.200s; allowed: %s",
				 req->method, req->url, out->allow);
	}
	c->cap[0] = cap[0];
	c->cap[1] = cap[1];
	c->cap[2] = cap[2];
	out->route = rt->pattern;
	c->route = rt;

	if (req->body_too_large)
		return api_error(err, -E2BIG,
				 "the request body is larger than this server accepts");
	if (rt->body) {
		json_error_t jerr;

		if (req->body_len && req->content_type && !content_type_is_json(req->content_type))
			return api_error(err, -EMEDIUMTYPE,
					 "Content-Type '%.64s' is not JSON; send application/json",
					 req->content_type);
		/* no body and no Content-Type is "no document": the handler answers 422 as
		 * for null; zero bytes declared as JSON are malformed JSON (400). Any JSON
		 * value parses, so a scalar gets 422 (wrong type), not 400 */
		if (req->body_len == 0 && !req->content_type)
			c->body = json_null();
		else if (rt->batch && api_scan_batch(req->body, req->body_len, &c->fast))
			c->body = NULL;
		else
			c->body = json_loadb(req->body, req->body_len,
					     JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (!c->body && !c->fast.cmds)
			return api_error(err, -EBADMSG, "invalid JSON at line %d column %d: %s",
					 jerr.line, jerr.column, jerr.text);
	}
	if (rt->machine) {
		struct api_diff *diff = NULL;

		r = c->host->ops->machine_acquire(c->host->data, c->cap[0], &c->lease, err);
		if (r == -ENOENT)
			return api_error(err, r, "no machine '%.64s'", c->cap[0]);
		if (r < 0) /* being restored, or unloaded: the host said why */
			return r;
		/* a command route's ?diff=: what it changed, read under its lease (http.c) */
		if (rt->method != API_GET && (rt->op || rt->fn == h_commands))
			r = api_diff_begin(c, &diff, err);
		if (r == 0 && rt->cache && c->lease.cache)
			r = cached_view(c, rt, out, err);
		else if (r == 0)
			r = (rt->fn ? rt->fn : api_route_command)(c, out, err);
		if (r == 0)
			r = api_diff_end(c, diff, out, err);
		else
			free(diff);
		if (r == 0 && rt->method == API_GET)
			view_etag(c, rt, out);
		c->host->ops->machine_release(c->host->data, &c->lease);
	} else {
		r = (rt->fn ? rt->fn : api_route_command)(c, out, err);
	}
	/* a request that may have changed a machine (a kunmap freed a pkmap slot, a restore,
	 * a deletion): that machine's first waiting kmap runs again (api_reply.wake); not a
	 * kmap that is about to wait itself (it changed nothing, and would wake itself) */
	if (rt->method != API_GET && c->cap[0] && !out->wait_ms &&
	    !strncmp(rt->pattern, "v1/machines/*", 13))
		snprintf(out->wake, sizeof(out->wake), "%s", c->cap[0]);
	return r;
}

void api_dispatch(const struct api_host *host, const struct api_request *req, struct api_reply *out)
{
	struct api_call c = {.host = host, .req = req};
	struct mm_error err = {0};
	const struct api_problem_type *pt;
	int r;

	memset(out, 0, sizeof(*out));
	r = dispatch(&c, out, &err);
	json_decref(c.body);
	api_scan_batch_free(&c.fast);
	if (r >= 0) {
		json_decref(c.extra);
		return;
	}
	api_reply_finish(out);
	pt = api_problem_lookup(r);
	out->status = pt->status;
	if (r == -EINPROGRESS) /* a machine being restored at start-up: soon there */
		out->retry_after = 1;
	out->problem = true;
	out->json = api_problem_new(r, err.msg, req->url);
	if (out->json && c.extra)
		json_object_update(out->json, c.extra);
	json_decref(c.extra);
	out->location[0] = '\0';
	out->headers = NULL;
	if (pt->status != 405)
		out->allow[0] = '\0';
}
