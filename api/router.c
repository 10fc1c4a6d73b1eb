/* SPDX-License-Identifier: MIT */
/*
 * router.c - the route table and its handlers (see router.h and ROUTES.md).
 *
 * A route is a pattern of path segments ("*" matches one segment), a method and a
 * handler. The order of checks is fixed so that answers are predictable:
 * unknown path 404 -> wrong method 405 -> body too large 413 -> non-JSON body 415 ->
 * malformed JSON 400 -> unknown machine 404 -> the handler. For routes under
 * /v1/machines/{id} the router acquires the machine before the handler runs and releases
 * it after the reply is built, so handlers never see an unlocked machine.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

#include "commands.h"
#include "metrics.h"
#include "problem.h"
#include "router.h"

#define MAX_SEGS 8

enum { M_GET = 1, M_POST = 2, M_PUT = 4, M_DELETE = 8 };

/* A batch body read by api_command_scan(), without Jansson (see fast_batch_scan()). */
struct fast_batch {
	size_t n;
	struct api_json_span *spans; /* each command's text in the request body */
	struct api_cmd *cmds;	     /* each command's fields, pointing into @copy */
	char *copy;		     /* the body, with NULs written after keys and strings */
};

struct ctx {
	const struct api_host *host;
	const struct api_request *req;
	const char *cap[2];	/* the "*" segments */
	json_t *body;		/* parsed body for POST/PUT routes */
	struct fast_batch fast; /* or, for a batch of commands, the body as scanned */
	struct api_lease lease; /* for machine routes */
	json_t *extra;		/* extra problem members set by a failing handler */
};

typedef int handler_fn(struct ctx *c, struct api_reply *out, struct mm_error *err);

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

static int reply_json(struct api_reply *out, unsigned int status, json_t *doc, struct mm_error *err)
{
	if (!doc)
		return api_error(err, -ENOMEM, "out of memory building the response");
	out->status = status;
	out->json = doc;
	return 0;
}

/* The code a codec left in @err when it returned NULL. */
static int failed_code(const struct mm_error *err)
{
	return err->code < 0 ? err->code : -ENOMEM;
}

static int call_failed(int r, struct mm_error *err, const char *what)
{
	/* mmcore fills @err; make sure a code without a message still says something */
	if (err->msg[0] == '\0')
		api_error(err, r, "%s failed (%d)", what, r);
	return r;
}

/* ---- /v1 ----------------------------------------------------------------------------- */

static int h_health(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	return reply_json(out, 200, json_pack("{s:s}", "status", "ok"), err);
}

static int h_version(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	return reply_json(
		out, 200,
		json_pack("{s:s, s:s}", "mm32", MM32_VERSION, "kernel", MM_VERSION_KERNEL), err);
}

static int h_list(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *ids, *list = json_array(), *id;
	size_t i;
	int r;

	if (!list)
		return api_error(err, -ENOMEM, "out of memory");
	r = c->host->ops->machine_ids(c->host->data, &ids, err);
	if (r < 0) {
		json_decref(list);
		return r;
	}
	json_array_foreach(ids, i, id) {
		struct api_lease lease;
		struct mm_error ignore;
		json_t *o;

		/* a machine deleted since machine_ids() is simply not listed */
		if (c->host->ops->machine_acquire(c->host->data, json_string_value(id), &lease,
						  &ignore) < 0)
			continue;
		o = api_machine_summary(lease.id, lease.m, err);
		c->host->ops->machine_release(c->host->data, &lease);
		if (!o || json_array_append_new(list, o)) {
			json_decref(ids);
			json_decref(list);
			return api_error(err, -ENOMEM, "out of memory");
		}
	}
	json_decref(ids);
	return reply_json(out, 200, json_pack("{s:o}", "machines", list), err);
}

static int h_clone(struct ctx *c, struct api_reply *out, struct mm_error *err);

static int h_create(struct ctx *c, struct api_reply *out, struct mm_error *err)
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
		call_failed(r, err, "mm_machine_create");
		goto out;
	}
	doc = api_machine_to_json(lease.id, lease.m, err);
	snprintf(out->location, sizeof(out->location), "/v1/machines/%s", lease.id);
	c->host->ops->machine_release(c->host->data, &lease);
	r = doc ? reply_json(out, 201, doc, err) : failed_code(err);
out:
	free(cfg);
	return r;
}

/* ---- /v1/machines/{id}... -------------------------------------------------------------- */

static int h_machine(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *doc = api_machine_to_json(c->lease.id, c->lease.m, err);

	return doc ? reply_json(out, 200, doc, err) : failed_code(err);
}

static int h_delete(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	int r = c->host->ops->machine_delete(c->host->data, c->cap[0], err);

	if (r < 0)
		return r;
	out->status = 204;
	return 0;
}

static int h_proc(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	int r = mm_proc_render(c->lease.m, c->cap[1], &out->text, err);

	if (r < 0)
		return call_failed(r, err, "mm_proc_render");
	out->status = 200;
	return 0;
}

static int h_dmesg(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	int r = mm_dmesg_render(c->lease.m, &out->text, err);

	if (r < 0)
		return call_failed(r, err, "mm_dmesg_render");
	out->status = 200;
	return 0;
}

static int h_layout(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_layout l;

	mm_get_layout(c->lease.m, &l);
	return reply_json(out, 200, api_layout_to_json(&l), err);
}

static int h_zones(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *zones = api_zones_array(c->lease.m, err);

	if (!zones)
		return failed_code(err);
	return reply_json(out, 200,
			  json_pack("{s:o, s:o}", "zones", zones, "totals",
				    api_machine_totals_json(c->lease.m)),
			  err);
}

static int h_e820(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *doc = api_e820_json(c->lease.m, err);

	return doc ? reply_json(out, 200, doc, err) : failed_code(err);
}

static int h_memblock(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *doc = api_memblock_json(c->lease.m, err);

	return doc ? reply_json(out, 200, doc, err) : failed_code(err);
}

static int h_sysctl_get(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *v;
	int r = api_sysctl_get_json(c->lease.m, c->cap[1], &v, err);

	if (r < 0)
		return call_failed(r, err, "mm_sysctl_get");
	return reply_json(out, 200, json_pack("{s:s, s:o}", "name", c->cap[1], "value", v), err);
}

/* ---- commands ------------------------------------------------------------------------ */

/* Where the commands of a request come from: a json_t (one object, or an array), or a
 * batch scanned from text. */
struct source {
	size_t n;
	const json_t *json;
	bool batch;
	const struct fast_batch *fast;
};

/* What run_commands() did. */
struct run {
	size_t done;		 /* commands that ran (and were journaled when it returned 0) */
	bool command_failed;	 /* it stopped at command @done */
	bool failure_journaled;	 /* ... which changed the machine and is journaled too */
	int64_t first_seq;	 /* of the first, in the journal */
	struct api_text results; /* "[r0,r1,...]", the results as JSON text */
	size_t *where;		 /* result i: at results.data + where[2i], where[2i+1] bytes */
	const char **ops;	 /* the op of each */
};

static void run_finish(struct run *run)
{
	api_text_free(&run->results);
	free(run->where);
	free(run->ops);
}

/* Command @i of @src as a view; its text is appended to @cmds. */
static int source_get(const struct source *src, size_t i, struct api_cmd *view,
		      struct api_text *cmds, struct mm_error *err)
{
	const json_t *cmd;
	int r;

	if (src->fast) {
		*view = src->fast->cmds[i];
		api_text_put(cmds, src->fast->spans[i].text, src->fast->spans[i].len);
		return 0;
	}
	cmd = src->batch ? json_array_get(src->json, i) : src->json;
	r = api_command_view(cmd, view, err);
	if (r < 0)
		return r;
	api_text_json(cmds, cmd);
	return 0;
}

/*
 * Run the commands of @src in order, stop at the first failure, and journal the ones that
 * succeeded in one append, before any reply is built. A failing command that changed the
 * machine before it failed (api_command_outcome.journal) is journaled too, with its error
 * as the result, and the problem says where: "seq" (in c->extra).
 * Return: 0; the failing command's code (run->command_failed, with run->done the number
 * of commands before it, which ran and are journaled); or the journal's code, when none of
 * the commands that ran was journaled (run->done of them changed the machine).
 */
static int run_commands(struct ctx *c, const struct source *src, struct run *run,
			struct mm_error *err)
{
	struct api_text cmds = {0};
	struct api_journal_batch b;
	struct mm_error jerr = {0};
	int r = 0, rj;

	memset(run, 0, sizeof(*run));
	run->where = malloc((src->n ? src->n : 1) * 2 * sizeof(*run->where));
	run->ops = malloc((src->n ? src->n : 1) * sizeof(*run->ops));
	if (!run->where || !run->ops)
		return api_error(err, -ENOMEM, "out of memory");
	api_text_put(&cmds, "[", 1);
	api_text_put(&run->results, "[", 1);
	for (; run->done < src->n; run->done++) {
		size_t cmds_mark = cmds.len, res_mark = run->results.len, start;
		struct api_cmd view;

		if (run->done) {
			api_text_put(&cmds, ",", 1);
			api_text_put(&run->results, ",", 1);
		}
		start = run->results.len;
		r = source_get(src, run->done, &view, &cmds, err);
		if (r == 0) {
			const struct api_persist_ops *po = c->host->ops->persist;
			struct api_command_outcome oc;

			r = api_command_run_env(c->lease.m,
						po ? po->exec_env(c->host->data, &c->lease) : NULL,
						&view, &run->results, &oc, err);
			/* snapshot_restore: what follows runs on the restored machine */
			if (oc.replace)
				po->machine_replace(c->host->data, &c->lease, oc.replace);
			run->ops[run->done] = oc.op;
			run->failure_journaled = r < 0 && oc.journal;
		}
		if (r < 0) {
			if (!run->failure_journaled) {
				cmds.len = cmds_mark;
				run->results.len = res_mark;
			}
			run->command_failed = true;
			call_failed(r, err, "the command");
			break;
		}
		run->where[2 * run->done] = start;
		run->where[2 * run->done + 1] = run->results.len - start;
	}
	api_text_put(&cmds, "]", 1);
	api_text_put(&run->results, "]", 1);
	if (run->done == 0 && !run->failure_journaled)
		goto out;
	b = (struct api_journal_batch){.n = run->done + run->failure_journaled,
				       .commands = cmds.data,
				       .commands_len = cmds.len,
				       .results = run->results.data,
				       .results_len = run->results.len};
	if (cmds.oom || run->results.oom) {
		rj = api_error(&jerr, -ENOMEM, "out of memory writing the journal entries");
	} else {
		rj = c->host->ops->journal_append(c->host->data, &c->lease, &b, &run->first_seq,
						  &jerr);
		if (rj < 0)
			call_failed(rj, &jerr, "appending to the journal");
	}
	if (rj < 0) {
		r = api_error(err, rj,
			      "%.160s; %zu command(s) changed the machine but are not journaled",
			      jerr.msg, run->done + run->failure_journaled);
		run->command_failed = false;
	} else if (run->failure_journaled) {
		json_decref(c->extra);
		c->extra = json_pack("{s:I}", "seq", (json_int_t)(run->first_seq + run->done));
	}
out:
	api_text_free(&cmds);
	return r;
}

/* The result of command @i of @run as a json_t (new reference), or NULL. */
static json_t *run_result_json(const struct run *run, size_t i)
{
	return json_loadb(run->results.data + run->where[2 * i], run->where[2 * i + 1],
			  JSON_DECODE_ANY, NULL);
}

/* Append {"seq","op","result"} of command @i. */
static void entry_text(struct api_text *t, const struct run *run, size_t i)
{
	api_text_puts(t, "{\"seq\":");
	api_text_int(t, run->first_seq + (int64_t)i);
	api_text_puts(t, ",\"op\":");
	api_text_str(t, run->ops[i]);
	api_text_puts(t, ",\"result\":");
	api_text_put(t, run->results.data + run->where[2 * i], run->where[2 * i + 1]);
	api_text_puts(t, "}");
}

/* Append [{"seq","op","result"}...] of the commands that ran. */
static void entries_text(struct api_text *t, const struct run *run)
{
	api_text_reserve(t, run->results.len + run->done * 48 + 2);
	api_text_put(t, "[", 1);
	for (size_t i = 0; i < run->done; i++) {
		if (i)
			api_text_put(t, ",", 1);
		entry_text(t, run, i);
	}
	api_text_put(t, "]", 1);
}

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

/* Run the one command @cmd (steals it) built by a REST handler; *@ret_result its result. */
static int run_built_command(struct ctx *c, json_t *cmd, json_t **ret_result, struct mm_error *err)
{
	struct source src = {.n = 1, .json = cmd};
	struct run run;
	int r;

	if (!cmd)
		return api_error(err, -ENOMEM, "out of memory");
	r = run_commands(c, &src, &run, err);
	json_decref(cmd);
	if (r == 0) {
		*ret_result = run_result_json(&run, 0);
		if (!*ret_result)
			r = api_error(err, -ENOMEM, "out of memory");
	}
	run_finish(&run);
	return r;
}

static int h_sysctl_put(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *result;
	const char *key;
	json_t *v;
	int r;

	if (!json_is_object(c->body))
		return api_error(err, -EINVAL, "the body must be an object {\"value\": ...}");
	json_object_foreach(c->body, key, v) {
		if (strcmp(key, "value"))
			return api_error(err, -EINVAL, "unknown field '%.64s' (known: value)", key);
	}
	if (!json_object_get(c->body, "value"))
		return api_error(err, -EINVAL, "field 'value' is required");
	if (!api_sysctl_known(c->cap[1]))
		return api_error(err, -ENOENT, "no sysctl vm.%.64s", c->cap[1]);
	r = run_built_command(c,
			      json_pack("{s:s, s:s, s:O}", "op", "set_sysctl", "name", c->cap[1],
					"value", json_object_get(c->body, "value")),
			      &result, err);
	if (r < 0)
		return r;
	return reply_json(out, 200, result, err);
}

static int h_commands(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	struct source src = {.json = c->body};
	struct api_text t = {0};
	struct run run;
	int r;

	if (c->fast.cmds) {
		src = (struct source){.n = c->fast.n, .batch = true, .fast = &c->fast};
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
	r = run_commands(c, &src, &run, err);
	if (r < 0) {
		/* where a batch stopped: "index", and the results before it (applied) */
		if (src.batch && run.command_failed) {
			json_t *extra;

			api_text_puts(&t, "{\"index\":");
			api_text_int(&t, (int64_t)run.done);
			api_text_puts(&t, ",\"results\":");
			entries_text(&t, &run);
			api_text_puts(&t, "}");
			extra = t.oom ? NULL : json_loadb(t.data, t.len, 0, NULL);
			if (extra && c->extra)
				json_object_update(extra, c->extra); /* "seq" */
			json_decref(c->extra);
			c->extra = extra;
			api_text_free(&t);
		}
		run_finish(&run);
		return r;
	}
	if (src.batch) {
		api_text_puts(&t, "{\"results\":");
		entries_text(&t, &run);
		api_text_puts(&t, "}");
	} else {
		entry_text(&t, &run, 0);
	}
	run_finish(&run);
	return reply_text(out, 200, &t, err);
}

/*
 * Read a batch body with api_command_scan(): the common shape of a batch (an array of flat
 * commands) needs no json_t at all. Anything else, including every malformed body, is
 * left to Jansson, so the answers (400 with line and column, 413, 422) stay its.
 */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool fast_batch_scan(const struct api_request *req, struct fast_batch *fb)
{
	const char *body = req->body;
	size_t len = req->body_len, i = 0, cap = 0, n = 0;

	memset(fb, 0, sizeof(*fb));
	while (i < len && is_ws(body[i]))
		i++;
	if (i >= len || body[i] != '[')
		return false;
	fb->copy = malloc(len + 1);
	if (!fb->copy)
		return false;
	memcpy(fb->copy, body, len);
	fb->copy[len] = '\0';
	/* '[' ws (object ws (',' ws object ws)*)? ']' ws: the end of each object is known from
	 * reading it, so the array is walked once */
	for (i++; i < len && is_ws(body[i]); i++)
		;
	if (i < len && body[i] == ']') {
		i++;
	} else {
		for (;;) {
			size_t end;

			if (n == API_BATCH_MAX)
				goto fail; /* Jansson's path answers 413 */
			if (n == cap) {
				struct api_json_span *sp;
				struct api_cmd *cmds;

				cap = cap ? cap * 2 : 64;
				sp = realloc(fb->spans, cap * sizeof(*sp));
				if (sp)
					fb->spans = sp;
				cmds = realloc(fb->cmds, cap * sizeof(*cmds));
				if (cmds)
					fb->cmds = cmds;
				if (!sp || !cmds)
					goto fail;
			}
			if (api_command_scan(fb->copy + i, len - i, &fb->cmds[n], &end) < 0)
				goto fail;
			fb->spans[n++] = (struct api_json_span){body + i, end};
			for (i += end; i < len && is_ws(body[i]); i++)
				;
			if (i < len && body[i] == ',') {
				for (i++; i < len && is_ws(body[i]); i++)
					;
				continue;
			}
			if (i < len && body[i] == ']') {
				i++;
				break;
			}
			goto fail;
		}
	}
	while (i < len && is_ws(body[i]))
		i++;
	if (i != len)
		goto fail;
	if (!fb->cmds && !(fb->cmds = malloc(sizeof(*fb->cmds))))
		goto fail;
	fb->n = n;
	return true;
fail:
	free(fb->spans);
	free(fb->copy);
	free(fb->cmds);
	memset(fb, 0, sizeof(*fb));
	return false;
}

static void fast_batch_free(struct fast_batch *fb)
{
	free(fb->spans);
	free(fb->copy);
	free(fb->cmds);
	memset(fb, 0, sizeof(*fb));
}

/* ---- the page allocator ------------------------------------------------------------------ */

/* A query argument as an integer: decimal digits only, at most @max. */
static int parse_uint(const char *what, const char *s, uint32_t max, uint32_t *ret,
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
static int query_check(const struct ctx *c, const char *const *known, struct mm_error *err)
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
static int query_uint(const struct ctx *c, const char *key, uint32_t max, uint32_t *ret,
		      bool *present, struct mm_error *err)
{
	char what[80];

	for (size_t i = 0; i < c->req->nquery; i++) {
		if (strcmp(c->req->query[i].key, key))
			continue;
		snprintf(what, sizeof(what), "query parameter '%s'", key);
		if (present)
			*present = true;
		return parse_uint(what, c->req->query[i].value, max, ret, err);
	}
	return 0;
}

static int h_pages_post(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *cmd, *result, *v;
	const char *key;
	int r;

	if (!json_is_object(c->body))
		return api_error(err, -EINVAL,
				 "the body must be an object {\"gfp\", \"order\"?, \"cpu\"?}");
	json_object_foreach(c->body, key, v) {
		if (strcmp(key, "gfp") && strcmp(key, "order") && strcmp(key, "cpu"))
			return api_error(err, -EINVAL,
					 "unknown field '%.64s' (known: gfp, order, cpu)", key);
	}
	cmd = json_deep_copy(c->body);
	if (cmd && json_object_set_new(cmd, "op", json_string("alloc_pages"))) {
		json_decref(cmd);
		cmd = NULL;
	}
	r = run_built_command(c, cmd, &result, err);
	if (r < 0)
		return r;
	snprintf(out->location, sizeof(out->location),
		 "/v1/machines/%s/frames/%" JSON_INTEGER_FORMAT, c->lease.id,
		 json_integer_value(json_object_get(result, "pfn")));
	return reply_json(out, 201, result, err);
}

static int h_pages_delete(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"order", "cpu", NULL};
	uint32_t pfn, order = 0, cpu = 0;
	bool have_cpu = false;
	json_t *cmd, *result;
	int r;

	r = parse_uint("the pfn", c->cap[1], UINT32_MAX, &pfn, err);
	if (r < 0)
		return r;
	r = query_check(c, known, err);
	if (r < 0)
		return r;
	r = query_uint(c, "order", MM_MAX_ORDER - 1, &order, NULL, err);
	if (r < 0)
		return r;
	r = query_uint(c, "cpu", UINT32_MAX, &cpu, &have_cpu, err);
	if (r < 0)
		return r;
	cmd = json_pack("{s:s, s:I, s:I}", "op", "free_pages", "pfn", (json_int_t)pfn, "order",
			(json_int_t)order);
	if (cmd && have_cpu && json_object_set_new(cmd, "cpu", json_integer(cpu))) {
		json_decref(cmd);
		cmd = NULL;
	}
	r = run_built_command(c, cmd, &result, err);
	if (r < 0)
		return r;
	return reply_json(out, 200, result, err);
}

static int h_frame(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_frame_info f;
	uint32_t pfn;
	json_t *doc;
	int r;

	r = parse_uint("the pfn", c->cap[1], UINT32_MAX, &pfn, err);
	if (r < 0)
		return r;
	r = mm_get_frame(c->lease.m, pfn, &f, err);
	if (r < 0)
		return call_failed(r, err, "mm_get_frame");
	doc = api_frame_to_json(&f);
	return doc ? reply_json(out, 200, doc, err)
		   : api_error(err, -ENOMEM, "out of memory building the frame");
}

#define FRAMES_DEFAULT 64
#define FRAMES_MAX 4096

static int h_frames(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"start", "count", NULL};
	uint32_t start = 0, count = FRAMES_DEFAULT, max_pfn = mm_max_pfn(c->lease.m), n;
	json_t *frames, *doc;
	int r;

	r = query_check(c, known, err);
	if (r < 0)
		return r;
	if (mm_machine_phase(c->lease.m) < MM_PHASE_BUDDY) {
		struct mm_frame_info f;

		/* no struct pages yet: mmcore says which boot phase makes them (409) */
		r = mm_get_frame(c->lease.m, 0, &f, err);
		if (r < 0)
			return call_failed(r, err, "mm_get_frame");
	}
	r = query_uint(c, "start", UINT32_MAX, &start, NULL, err);
	if (r < 0)
		return r;
	r = query_uint(c, "count", UINT32_MAX, &count, NULL, err);
	if (r < 0)
		return r;
	if (count < 1 || count > FRAMES_MAX)
		return api_error(err, -EINVAL,
				 "query parameter 'count' must be 1..%d, not %" PRIu32, FRAMES_MAX,
				 count);
	if (start >= max_pfn)
		return api_error(err, -EINVAL,
				 "query parameter 'start' must be below max_pfn %" PRIu32
				 ", not %" PRIu32,
				 max_pfn, start);
	n = max_pfn - start < count ? max_pfn - start : count;
	frames = json_array();
	if (!frames)
		return api_error(err, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct mm_frame_info f;

		r = mm_get_frame(c->lease.m, start + i, &f, err);
		if (r < 0) {
			json_decref(frames);
			return call_failed(r, err, "mm_get_frame");
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
	return reply_json(out, 200, doc, err);
}

/* ---- paging: boot phases, translations, memory, TLBs, page tables ----------------------- */

/* The value of query argument @key ("" for "?key" without '='), or NULL when absent. */
static const char *query_value(const struct ctx *c, const char *key, bool *present)
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

/* The {cpu} path segment: a decimal integer below the machine's cpus (else 422). */
static int cpu_param(const struct ctx *c, unsigned int *ret, struct mm_error *err)
{
	unsigned int ncpus = mm_machine_config(c->lease.m)->cpus;
	uint32_t cpu;
	int r = parse_uint("the cpu", c->cap[1], UINT32_MAX, &cpu, err);

	if (r < 0)
		return r;
	if (cpu >= ncpus)
		return api_error(err, -EINVAL,
				 "cpu %" PRIu32 " does not exist (the machine has %u)", cpu, ncpus);
	*ret = cpu;
	return 0;
}

/* The address in query argument @key, required, at most @max. */
static int query_addr(const struct ctx *c, const char *key, uint64_t max, uint64_t *ret,
		      struct mm_error *err)
{
	char what[64];
	bool present;
	const char *v = query_value(c, key, &present);

	snprintf(what, sizeof(what), "query parameter '%s'", key);
	if (!present)
		return api_error(err, -EINVAL, "%s (an address such as 0xc0000000) is required",
				 what);
	return api_parse_addr(what, v, max, ret, err);
}

static int h_boot_continue(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *cmd, *result, *v;
	const char *key;
	int r;

	if (!json_is_null(c->body) && !json_is_object(c->body))
		return api_error(err, -EINVAL, "the body must be an object {\"until\"?} or empty");
	if (json_is_object(c->body)) {
		json_object_foreach(c->body, key, v) {
			if (strcmp(key, "until"))
				return api_error(err, -EINVAL,
						 "unknown field '%.64s' (known: until)", key);
		}
		cmd = json_deep_copy(c->body);
	} else {
		cmd = json_object();
	}
	if (cmd && json_object_set_new(cmd, "op", json_string("boot_continue"))) {
		json_decref(cmd);
		cmd = NULL;
	}
	r = run_built_command(c, cmd, &result, err);
	if (r < 0)
		return r;
	return reply_json(out, 200, result, err);
}

static int h_translate(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"va", "cpu", "space", "access", NULL};
	int space = MM_SPACE_KERNEL, access = MM_ACCESS_READ, r;
	struct mm_translation *t;
	const char *v;
	bool present;
	uint32_t cpu = 0;
	uint64_t va;
	json_t *doc;

	r = query_check(c, known, err);
	if (r < 0)
		return r;
	r = query_addr(c, "va", UINT32_MAX, &va, err);
	if (r < 0)
		return r;
	r = query_uint(c, "cpu", UINT32_MAX, &cpu, NULL, err);
	if (r < 0)
		return r;
	v = query_value(c, "space", &present);
	if (present && (r = api_parse_space("query parameter 'space'", v, &space, err)) < 0)
		return r;
	if (space != MM_SPACE_KERNEL)
		return api_error(
			err, -EINVAL,
			"query parameter 'space' must be \"kernel\": a translation walks "
			"the page tables of a virtual address (a physical one needs none)");
	v = query_value(c, "access", &present);
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
		return call_failed(r, err, "mm_translate");
	return doc ? reply_json(out, 200, doc, err)
		   : api_error(err, -ENOMEM, "out of memory building the translation");
}

static int h_memory_get(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"addr", "len", "space", "cpu", NULL};
	uint32_t len = 0, cpu = 0;
	bool present, have_cpu = false;
	const char *v;
	json_t *cmd, *result;
	uint64_t addr;
	int space, r;

	r = query_check(c, known, err);
	if (r < 0)
		return r;
	v = query_value(c, "space", &present);
	if (!present)
		return api_error(err, -EINVAL,
				 "query parameter 'space' (\"kernel\" or \"phys\") is required");
	r = api_parse_space("query parameter 'space'", v, &space, err);
	if (r < 0)
		return r;
	r = query_addr(c, "addr", space == MM_SPACE_KERNEL ? UINT32_MAX : UINT64_MAX, &addr, err);
	if (r < 0)
		return r;
	query_value(c, "len", &present);
	if (!present)
		return api_error(err, -EINVAL, "query parameter 'len' (1..%u bytes) is required",
				 MM_MEM_MAX);
	r = query_uint(c, "len", UINT32_MAX, &len, NULL, err);
	if (r < 0)
		return r;
	if (len < 1 || len > MM_MEM_MAX)
		return api_error(err, -EINVAL,
				 "query parameter 'len' must be 1..%u bytes, not %" PRIu32,
				 MM_MEM_MAX, len);
	r = query_uint(c, "cpu", UINT32_MAX, &cpu, &have_cpu, err);
	if (r < 0)
		return r;
	cmd = json_pack("{s:s, s:o, s:I, s:s}", "op", "memory_read", "addr", api_json_hex(addr),
			"len", (json_int_t)len, "space", api_space_name(space));
	if (cmd && have_cpu && json_object_set_new(cmd, "cpu", json_integer(cpu))) {
		json_decref(cmd);
		cmd = NULL;
	}
	if (space == MM_SPACE_KERNEL) {
		/* through the TLB and the walk: TLB fills and accessed bits are changes */
		r = run_built_command(c, cmd, &result, err);
	} else {
		/* a physical read changes nothing: the same executor, no journal entry */
		r = cmd ? api_command_exec(c->lease.m, cmd, &result, err)
			: api_error(err, -ENOMEM, "out of memory");
		json_decref(cmd);
		if (r < 0)
			call_failed(r, err, "memory_read");
	}
	if (r < 0)
		return r;
	return reply_json(out, 200, result, err);
}

static int h_memory_put(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *cmd, *result, *v;
	const char *key;
	int r;

	if (!json_is_object(c->body))
		return api_error(err, -EINVAL,
				 "the body must be an object {\"addr\", \"data\", \"space\", "
				 "\"cpu\"?}");
	json_object_foreach(c->body, key, v) {
		if (strcmp(key, "addr") && strcmp(key, "data") && strcmp(key, "space") &&
		    strcmp(key, "cpu"))
			return api_error(err, -EINVAL,
					 "unknown field '%.64s' (known: addr, data, space, cpu)",
					 key);
	}
	cmd = json_deep_copy(c->body);
	if (cmd && json_object_set_new(cmd, "op", json_string("memory_write"))) {
		json_decref(cmd);
		cmd = NULL;
	}
	r = run_built_command(c, cmd, &result, err);
	if (r < 0)
		return r;
	return reply_json(out, 200, result, err);
}

static int h_cpus(struct ctx *c, struct api_reply *out, struct mm_error *err)
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
			return call_failed(r, err, "mm_get_cpu");
		}
		if (json_array_append_new(arr, api_cpu_to_json(cpu, &info))) {
			json_decref(arr);
			return api_error(err, -ENOMEM, "out of memory building the CPUs");
		}
	}
	return reply_json(out, 200, json_pack("{s:o}", "cpus", arr), err);
}

static int h_tlb(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	struct mm_tlb_entry *ents;
	struct mm_cpu_info info;
	unsigned int cpu, max;
	json_t *doc, *arr;
	int r, n;

	r = cpu_param(c, &cpu, err);
	if (r < 0)
		return r;
	r = mm_get_cpu(c->lease.m, cpu, &info, err);
	if (r < 0)
		return call_failed(r, err, "mm_get_cpu");
	max = info.tlb_entries + info.tlb_large_entries;
	ents = calloc(max ? max : 1, sizeof(*ents));
	if (!ents)
		return api_error(err, -ENOMEM, "out of memory");
	n = mm_tlb_entries(c->lease.m, cpu, ents, max, err);
	if (n < 0) {
		free(ents);
		return call_failed(n, err, "mm_tlb_entries");
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
	return reply_json(out, 200, doc, err);
}

static int h_tlb_flush(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"keep_global", NULL};
	bool present, keep = false;
	json_t *result;
	unsigned int cpu;
	const char *v;
	int r;

	r = cpu_param(c, &cpu, err);
	if (r < 0)
		return r;
	r = query_check(c, known, err);
	if (r < 0)
		return r;
	v = query_value(c, "keep_global", &present);
	if (present) {
		if (strcmp(v, "true") && strcmp(v, "false"))
			return api_error(err, -EINVAL,
					 "query parameter 'keep_global' must be true or false, not "
					 "\"%.32s\"",
					 v);
		keep = !strcmp(v, "true");
	}
	r = run_built_command(c,
			      json_pack("{s:s, s:I, s:b}", "op", "flush_tlb", "cpu",
					(json_int_t)cpu, "keep_global", keep),
			      &result, err);
	if (r < 0)
		return r;
	return reply_json(out, 200, result, err);
}

static int h_tlb_invlpg(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"va", NULL};
	json_t *result;
	unsigned int cpu;
	uint64_t va;
	int r;

	r = cpu_param(c, &cpu, err);
	if (r < 0)
		return r;
	r = query_check(c, known, err);
	if (r < 0)
		return r;
	r = query_addr(c, "va", UINT32_MAX, &va, err);
	if (r < 0)
		return r;
	r = run_built_command(c,
			      json_pack("{s:s, s:I, s:o}", "op", "invlpg", "cpu", (json_int_t)cpu,
					"va", api_json_hex(va)),
			      &result, err);
	if (r < 0)
		return r;
	return reply_json(out, 200, result, err);
}

/* Does the Accept header ask for JSON before text? (media ranges in order; q ignored) */
static bool accepts_json(const char *accept)
{
	const char *j = accept ? strstr(accept, "application/json") : NULL;
	const char *t = accept ? strstr(accept, "text/plain") : NULL;

	return j && (!t || j < t);
}

static int h_page_tables(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"format", NULL};
	struct mm_page_tables pt;
	bool present, json;
	const char *v;
	json_t *doc;
	int r;

	r = query_check(c, known, err);
	if (r < 0)
		return r;
	v = query_value(c, "format", &present);
	if (present && strcmp(v, "text") && strcmp(v, "json"))
		return api_error(err, -EINVAL,
				 "query parameter 'format' must be \"text\" or \"json\", not "
				 "\"%.32s\"",
				 v);
	json = present ? !strcmp(v, "json") : accepts_json(c->req->accept);
	if (!json) {
		r = mm_page_tables_render(c->lease.m, &out->text, err);
		if (r < 0)
			return call_failed(r, err, "mm_page_tables_render");
		out->status = 200;
		return 0;
	}
	r = mm_page_tables_get(c->lease.m, &pt, err);
	if (r < 0)
		return call_failed(r, err, "mm_page_tables_get");
	doc = api_page_tables_to_json(&pt);
	mm_page_tables_free(&pt);
	return doc ? reply_json(out, 200, doc, err)
		   : api_error(err, -ENOMEM, "out of memory building the page tables");
}

/* ---- persistence: the state hash, snapshots, jobs, sessions ------------------------------ */

static const struct api_persist_ops *persist(const struct ctx *c, struct mm_error *err)
{
	const struct api_persist_ops *po = c->host->ops->persist;

	if (!po)
		api_error(err, -ENOENT, "this server keeps no snapshots or sessions");
	return po;
}

/* A {snapshot} or {job} path segment: a decimal id; anything else names nothing (404). */
static int path_id(const char *what, const char *s, int64_t *ret, struct mm_error *err)
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

static int h_state_hash(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	r = po->state_hash(c->host->data, &c->lease, &doc, err);
	if (r < 0)
		return call_failed(r, err, "the state hash");
	return reply_json(out, 200, doc, err);
}

static int h_snapshot_create(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	const char *label = NULL, *key;
	bool job = false;
	int async = -1, r;
	json_t *doc, *v;

	if (!po)
		return -ENOENT;
	if (!json_is_null(c->body) && !json_is_object(c->body))
		return api_error(err, -EINVAL,
				 "the body must be an object {\"label\"?, \"async\"?} or empty");
	if (json_is_object(c->body)) {
		json_object_foreach(c->body, key, v) {
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
	r = po->snapshot_create(c->host->data, &c->lease, label, async, &doc, &job, err);
	if (r < 0)
		return call_failed(r, err, "the snapshot");
	if (job)
		snprintf(out->location, sizeof(out->location), "/v1/jobs/%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(doc, "id")));
	else
		snprintf(out->location, sizeof(out->location),
			 "/v1/machines/%s/snapshots/%" JSON_INTEGER_FORMAT, c->lease.id,
			 json_integer_value(json_object_get(doc, "id")));
	return reply_json(out, job ? 202 : 201, doc, err);
}

static int h_snapshots(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	r = po->snapshot_list(c->host->data, &c->lease, &doc, err);
	if (r < 0)
		return call_failed(r, err, "listing the snapshots");
	return reply_json(out, 200, doc, err);
}

static int h_snapshot(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	int64_t id;
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	r = path_id("snapshot", c->cap[1], &id, err);
	if (r < 0)
		return r;
	r = po->snapshot_get(c->host->data, &c->lease, id, &doc, err);
	if (r < 0)
		return call_failed(r, err, "reading the snapshot");
	return reply_json(out, 200, doc, err);
}

static int h_snapshot_delete(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	int64_t id;
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	r = path_id("snapshot", c->cap[1], &id, err);
	if (r < 0)
		return r;
	r = po->snapshot_delete(c->host->data, c->cap[0], id, &doc, err);
	if (r < 0)
		return call_failed(r, err, "deleting the snapshot");
	return reply_json(out, 200, doc, err);
}

/* Restore in place: the command snapshot_restore, journaled like every command. */
static int h_snapshot_restore(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *result;
	int64_t id;
	int r;

	if (!persist(c, err))
		return -ENOENT;
	r = path_id("snapshot", c->cap[1], &id, err);
	if (r < 0)
		return r;
	r = run_built_command(
		c, json_pack("{s:s, s:I}", "op", "snapshot_restore", "snapshot", (json_int_t)id),
		&result, err);
	if (r < 0)
		return r;
	return reply_json(out, 200, result, err);
}

/* POST /v1/machines {"from_snapshot": id, "name"?}: a clone. */
static int h_clone(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	json_t *from = json_object_get(c->body, "from_snapshot"), *name, *doc, *v;
	struct api_lease lease;
	const char *key;
	int r;

	if (!po)
		return -ENOENT;
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
	r = po->machine_clone(c->host->data, name ? json_string_value(name) : "",
			      json_integer_value(from), &lease, err);
	if (r < 0)
		return call_failed(r, err, "the clone");
	doc = api_machine_to_json(lease.id, lease.m, err);
	snprintf(out->location, sizeof(out->location), "/v1/machines/%s", lease.id);
	c->host->ops->machine_release(c->host->data, &lease);
	return doc ? reply_json(out, 201, doc, err) : failed_code(err);
}

static int h_jobs(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	r = po->job_list(c->host->data, &doc, err);
	if (r < 0)
		return call_failed(r, err, "listing the jobs");
	return reply_json(out, 200, doc, err);
}

static int h_job(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	int64_t id;
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	r = path_id("job", c->cap[0], &id, err);
	if (r < 0)
		return r;
	r = po->job_get(c->host->data, id, &doc, err);
	if (r < 0)
		return call_failed(r, err, "reading the job");
	return reply_json(out, 200, doc, err);
}

static int h_sessions(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	r = po->session_list(c->host->data, &doc, err);
	if (r < 0)
		return call_failed(r, err, "listing the sessions");
	return reply_json(out, 200, doc, err);
}

static int h_session(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	r = po->session_get(c->host->data, c->cap[0], &doc, err);
	if (r < 0)
		return call_failed(r, err, "reading the session");
	return reply_json(out, 200, doc, err);
}

#define NDJSON_CONTENT_TYPE "application/x-ndjson"

static int h_session_journal(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	struct api_text t = {0};
	int r;

	if (!po)
		return -ENOENT;
	r = po->session_export(c->host->data, c->cap[0], &t, err);
	if (r < 0) {
		api_text_free(&t);
		return call_failed(r, err, "exporting the session");
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

static int h_session_import(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	static const char *const known[] = {"name", NULL};
	const struct api_persist_ops *po = persist(c, err);
	const char *name;
	bool present;
	json_t *doc;
	int r;

	if (!po)
		return -ENOENT;
	if (c->req->content_type && !content_type_is_ndjson(c->req->content_type))
		return api_error(err, -EMEDIUMTYPE,
				 "Content-Type '%.64s' is not NDJSON; send application/x-ndjson",
				 c->req->content_type);
	r = query_check(c, known, err);
	if (r < 0)
		return r;
	name = query_value(c, "name", &present);
	if (present && !api_name_valid(name))
		return api_error(err, -EINVAL,
				 "query parameter 'name' must match "
				 "^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
	r = po->session_import(c->host->data, present ? name : "", c->req->body, c->req->body_len,
			       &doc, err);
	if (r < 0)
		return call_failed(r, err, "the import");
	snprintf(out->location, sizeof(out->location), "/v1/sessions/%s",
		 json_string_value(json_object_get(doc, "session")));
	return reply_json(out, 201, doc, err);
}

static int h_session_replay(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_persist_ops *po = persist(c, err);
	struct api_replay_req req = {.name = "", .until_seq = -1, .verify = true};
	const char *key;
	json_t *doc, *v;
	int r;

	if (!po)
		return -ENOENT;
	if (!json_is_null(c->body) && !json_is_object(c->body))
		return api_error(err, -EINVAL,
				 "the body must be an object {\"until_seq\"?, \"verify\"?, "
				 "\"name\"?} or empty");
	if (json_is_object(c->body)) {
		json_object_foreach(c->body, key, v) {
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
	r = po->session_replay(c->host->data, c->cap[0], &req, &doc, err);
	if (r < 0)
		return call_failed(r, err, "the replay");
	snprintf(out->location, sizeof(out->location), "/v1/machines/%s",
		 json_string_value(json_object_get(doc, "machine")));
	return reply_json(out, 201, doc, err);
}

#define CHECK_MAX_MSGS 64

static int h_check(struct ctx *c, struct api_reply *out, struct mm_error *err)
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
		return reply_json(out, 200, json_pack("{s:b, s:o}", "ok", 1, "violations", v), err);
	c->extra = json_pack("{s:b, s:o}", "ok", 0, "violations", v);
	return api_error(err, -EFAULT, "%u invariant violation(s) found", rep.nr);
}

static int h_journal(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	json_t *entries;
	int r = c->host->ops->journal_list(c->host->data, &c->lease, &entries, err);

	if (r < 0)
		return call_failed(r, err, "reading the journal");
	return reply_json(out, 200, json_pack("{s:o}", "entries", entries), err);
}

/* ---- /metrics ------------------------------------------------------------------------ */

static int h_metrics(struct ctx *c, struct api_reply *out, struct mm_error *err)
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

/* ---- the table ------------------------------------------------------------------------- */

struct route {
	const char *pattern; /* segments separated by '/'; "*" matches one segment */
	unsigned int method;
	bool machine; /* the first "*" is a machine id: hold its lease during the handler */
	bool body;    /* the handler reads a JSON body */
	handler_fn *fn;
	bool batch; /* the body may be a batch of commands: try fast_batch_scan() first */
};

static const struct route routes[] = {
	{"v1/health", M_GET, false, false, h_health},
	{"v1/version", M_GET, false, false, h_version},
	{"metrics", M_GET, false, false, h_metrics},
	{"v1/machines", M_GET, false, false, h_list},
	{"v1/machines", M_POST, false, true, h_create},
	{"v1/machines/*", M_GET, true, false, h_machine},
	{"v1/machines/*", M_DELETE, false, false, h_delete},
	{"v1/machines/*/proc/*", M_GET, true, false, h_proc},
	{"v1/machines/*/dmesg", M_GET, true, false, h_dmesg},
	{"v1/machines/*/layout", M_GET, true, false, h_layout},
	{"v1/machines/*/zones", M_GET, true, false, h_zones},
	{"v1/machines/*/e820", M_GET, true, false, h_e820},
	{"v1/machines/*/memblock", M_GET, true, false, h_memblock},
	{"v1/machines/*/sysctl/vm/*", M_GET, true, false, h_sysctl_get},
	{"v1/machines/*/sysctl/vm/*", M_PUT, true, true, h_sysctl_put},
	{"v1/machines/*/commands", M_POST, true, true, h_commands, true},
	{"v1/machines/*/pages", M_POST, true, true, h_pages_post},
	{"v1/machines/*/pages/*", M_DELETE, true, false, h_pages_delete},
	{"v1/machines/*/frames", M_GET, true, false, h_frames},
	{"v1/machines/*/frames/*", M_GET, true, false, h_frame},
	{"v1/machines/*/check", M_GET, true, false, h_check},
	{"v1/machines/*/journal", M_GET, true, false, h_journal},
	{"v1/machines/*/boot/continue", M_POST, true, true, h_boot_continue},
	{"v1/machines/*/translate", M_GET, true, false, h_translate},
	{"v1/machines/*/memory", M_GET, true, false, h_memory_get},
	{"v1/machines/*/memory", M_PUT, true, true, h_memory_put},
	{"v1/machines/*/cpus", M_GET, true, false, h_cpus},
	{"v1/machines/*/cpus/*/tlb", M_GET, true, false, h_tlb},
	{"v1/machines/*/cpus/*/tlb/flush", M_POST, true, false, h_tlb_flush},
	{"v1/machines/*/cpus/*/tlb/invlpg", M_POST, true, false, h_tlb_invlpg},
	{"v1/machines/*/page-tables/kernel", M_GET, true, false, h_page_tables},
	/* persistence */
	{"v1/machines/*/state-hash", M_GET, true, false, h_state_hash},
	{"v1/machines/*/snapshots", M_GET, true, false, h_snapshots},
	{"v1/machines/*/snapshots", M_POST, true, true, h_snapshot_create},
	{"v1/machines/*/snapshots/*", M_GET, true, false, h_snapshot},
	{"v1/machines/*/snapshots/*", M_DELETE, false, false, h_snapshot_delete},
	{"v1/machines/*/snapshots/*/restore", M_POST, true, false, h_snapshot_restore},
	{"v1/jobs", M_GET, false, false, h_jobs},
	{"v1/jobs/*", M_GET, false, false, h_job},
	{"v1/sessions", M_GET, false, false, h_sessions},
	{"v1/sessions", M_POST, false, false, h_session_import},
	{"v1/sessions/*", M_GET, false, false, h_session},
	{"v1/sessions/*/journal", M_GET, false, false, h_session_journal},
	{"v1/sessions/*/replay", M_POST, false, true, h_session_replay},
};

static unsigned int method_bit(const char *m)
{
	if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
		return M_GET;
	if (!strcmp(m, "POST"))
		return M_POST;
	if (!strcmp(m, "PUT"))
		return M_PUT;
	if (!strcmp(m, "DELETE"))
		return M_DELETE;
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
			if (k < 2)
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

static int dispatch(struct ctx *c, struct api_reply *out, struct mm_error *err)
{
	const struct api_request *req = c->req;
	char path[1024], *segs[MAX_SEGS], *save = NULL, *tok;
	const struct route *rt = NULL;
	unsigned int allowed = 0, want = method_bit(req->method);
	const char *cap[2] = {NULL, NULL};
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

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *try[2] = {NULL, NULL};

		if (!route_match(routes[i].pattern, segs, n, try))
			continue;
		allowed |= routes[i].method;
		if (routes[i].method == want && !rt) {
			rt = &routes[i];
			cap[0] = try[0];
			cap[1] = try[1];
		}
	}
	if (!allowed)
		return api_error(err, -ENOENT, "no such resource: %.200s", req->url);
	if (!rt) {
		static const struct {
			unsigned int bit;
			const char *names;
		} order[] = {{M_GET, "GET, HEAD"},
			     {M_POST, "POST"},
			     {M_PUT, "PUT"},
			     {M_DELETE, "DELETE"}};
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
	out->route = rt->pattern;

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
		else if (rt->batch && fast_batch_scan(req, &c->fast))
			c->body = NULL;
		else
			c->body = json_loadb(req->body, req->body_len,
					     JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (!c->body && !c->fast.cmds)
			return api_error(err, -EBADMSG, "invalid JSON at line %d column %d: %s",
					 jerr.line, jerr.column, jerr.text);
	}
	if (rt->machine) {
		r = c->host->ops->machine_acquire(c->host->data, c->cap[0], &c->lease, err);
		if (r < 0)
			return api_error(err, r, "no machine '%.64s'", c->cap[0]);
		r = rt->fn(c, out, err);
		c->host->ops->machine_release(c->host->data, &c->lease);
		return r;
	}
	return rt->fn(c, out, err);
}

void api_dispatch(const struct api_host *host, const struct api_request *req, struct api_reply *out)
{
	struct ctx c = {.host = host, .req = req};
	struct mm_error err = {0};
	const struct api_problem_type *pt;
	int r;

	memset(out, 0, sizeof(*out));
	r = dispatch(&c, out, &err);
	json_decref(c.body);
	fast_batch_free(&c.fast);
	if (r >= 0) {
		json_decref(c.extra);
		return;
	}
	api_reply_finish(out);
	pt = api_problem_lookup(r);
	out->status = pt->status;
	out->problem = true;
	out->json = api_problem_new(r, err.msg, req->url);
	if (out->json && c.extra)
		json_object_update(out->json, c.extra);
	json_decref(c.extra);
	out->location[0] = '\0';
	if (pt->status != 405)
		out->allow[0] = '\0';
}
