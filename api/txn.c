/* SPDX-License-Identifier: MIT */
/*
 * txn.c - the command transaction (see txn.h): parse, run, canonical text, journal, compare.
 *
 * A step writes its entry as it goes: "[" c0 "," c1 ... into t->cmds and the results likewise
 * into t->results, and api_txn_batch() closes both arrays when the entries are journaled. A
 * failing step leaves nothing behind unless the executor says the machine changed before it
 * failed: then the entry is the command and its error, as a replay will meet it again.
 *
 * api_txn_live() is the HTTP transaction. Its order is the invariant of txn.h: run, then
 * commit, then answer; a commit that fails is undone by the host's rebuild before the answer,
 * so what the next request sees is what a restart would rebuild.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "problem.h"
#include "router.h"
#include "scan.h"
#include "txn.h"

void api_txn_init(struct api_txn *t, struct mm_machine *m, const struct api_exec_env *env)
{
	memset(t, 0, sizeof(*t));
	t->m = m;
	t->env = env;
	api_text_put(&t->cmds, "[", 1);
	api_text_put(&t->results, "[", 1);
}

void api_txn_finish(struct api_txn *t)
{
	api_text_free(&t->cmds);
	api_text_free(&t->results);
	api_text_free(&t->got);
	free(t->where);
	free(t->ops);
	t->where = NULL;
	t->ops = NULL;
	t->n = t->cap = 0;
}

void api_txn_reset(struct api_txn *t)
{
	t->cmds.len = 0;
	t->results.len = 0;
	t->n = 0;
	api_text_put(&t->cmds, "[", 1);
	api_text_put(&t->results, "[", 1);
}

static int grow(struct api_txn *t, struct mm_error *err)
{
	size_t cap = t->cap ? t->cap * 2 : 16;
	size_t *where;
	const char **ops;

	if (t->n < t->cap)
		return 0;
	where = realloc(t->where, cap * 2 * sizeof(*where));
	if (where)
		t->where = where;
	ops = realloc(t->ops, cap * sizeof(*ops));
	if (ops)
		t->ops = ops;
	if (!where || !ops)
		return api_error(err, -ENOMEM, "out of memory");
	t->cap = cap;
	return 0;
}

int api_txn_step(struct api_txn *t, const struct api_cmd *view, struct api_txn_step *ret,
		 struct mm_error *err)
{
	struct api_text *out = t->no_entries ? &t->got : &t->results;
	struct api_command_outcome oc;
	size_t mark = t->results.len, start, cstart;
	int r;

	*ret = (struct api_txn_step){0};
	r = grow(t, err);
	if (r < 0)
		return r;
	if (t->no_entries) {
		t->got.len = 0;
		if (t->got.data)
			t->got.data[0] = '\0';
	} else if (t->n) {
		api_text_put(&t->results, ",", 1);
	}
	start = out->len;
	/* the result goes straight where the journal takes it from */
	r = api_command_run_env(t->m, t->env, view, out, &oc, err);
	ret->op = oc.op;
	if (oc.replace) {
		/* snapshot_restore: what follows runs on the restored machine */
		if (t->replace)
			t->replace(t->replace_data, oc.replace);
		else
			mm_machine_destroy(t->m);
		t->m = oc.replace;
	}
	if (r < 0 && !oc.journal) {
		if (!t->no_entries) {
			t->results.len = mark;
			if (t->results.data)
				t->results.data[mark] = '\0';
		}
		return r;
	}
	ret->journal = true;
	if (t->no_entries)
		return r;
	if (t->n)
		api_text_put(&t->cmds, ",", 1);
	cstart = t->cmds.len;
	api_command_canon(view, oc.def, &t->cmds);
	t->where[2 * t->n] = start;
	t->where[2 * t->n + 1] = t->results.len - start;
	t->ops[t->n] = oc.op;
	t->n++;
	ret->cmd = (struct api_json_span){t->cmds.data + cstart, t->cmds.len - cstart};
	ret->result = api_txn_result(t, t->n - 1);
	return r;
}

int api_txn_step_text(struct api_txn *t, const char *text, size_t len, struct api_txn_step *ret,
		      struct mm_error *err)
{
	struct api_cmd_text ct;
	struct api_cmd view;
	int r;

	*ret = (struct api_txn_step){0};
	r = api_command_parse(text, len, &ct, &view, err);
	if (r == 0)
		r = api_txn_step(t, &view, ret, err);
	api_command_parse_finish(&ct);
	return r;
}

struct api_json_span api_txn_result(const struct api_txn *t, size_t i)
{
	return (struct api_json_span){t->results.data + t->where[2 * i], t->where[2 * i + 1]};
}

int api_txn_batch(struct api_txn *t, struct api_journal_batch *ret, struct mm_error *err)
{
	api_text_put(&t->cmds, "]", 1);
	api_text_put(&t->results, "]", 1);
	if (t->cmds.oom || t->results.oom)
		return api_error(err, -ENOMEM, "out of memory writing the journal entries");
	*ret = (struct api_journal_batch){.n = t->n,
					  .commands = t->cmds.data,
					  .commands_len = t->cmds.len,
					  .results = t->results.data,
					  .results_len = t->results.len};
	/* the brackets go again with the next step (a batch is journaled once) */
	t->cmds.len--;
	t->results.len--;
	return 0;
}

bool api_txn_same_result(const char *got, size_t got_len, const char *want, size_t want_len)
{
	json_t *a, *b;
	bool same;

	if (got_len == want_len && !memcmp(got, want, want_len))
		return true;
	a = json_loadb(got, got_len, JSON_DECODE_ANY, NULL);
	b = json_loadb(want, want_len, JSON_DECODE_ANY, NULL);
	same = a && b && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return same;
}

int api_txn_split_batch(int64_t n, const char *commands, size_t commands_len, const char *results,
			size_t results_len, struct api_json_span **ret_c,
			struct api_json_span **ret_r)
{
	struct api_json_span *c = NULL, *r = NULL;
	size_t nc = 0, nr = 0;

	if (n < 1 || api_json_array_split(commands, commands_len, (size_t)n, &c, &nc) < 0 ||
	    api_json_array_split(results, results_len, (size_t)n, &r, &nr) < 0 || nc != (size_t)n ||
	    nr != (size_t)n) {
		free(c);
		free(r);
		return -EINVAL;
	}
	*ret_c = c;
	*ret_r = r;
	return 0;
}

/* ---- HTTP ------------------------------------------------------------------------------- */

static void live_replace(void *data, struct mm_machine *nm)
{
	struct api_txn_live *run = data;

	run->host->ops->machine_replace(run->host->data, run->lease, nm);
}

/* Command @i of @src as a view. */
static int source_get(const struct api_txn_source *src, size_t i, struct api_cmd *view,
		      struct mm_error *err)
{
	if (src->cmds) {
		*view = src->cmds[i];
		return 0;
	}
	return api_command_view(src->batch ? json_array_get(src->json, i) : src->json, view, err);
}

/* A diverged machine: try to rebuild it from its journal first; -ESTALE if that fails. */
static int live_check(const struct api_host *host, struct api_lease *lease, struct mm_error *err)
{
	struct mm_error rerr = {0};

	if (!lease->diverged)
		return 0;
	if (host->ops->machine_rebuild && host->ops->machine_rebuild(host->data, lease, &rerr) == 0)
		return 0;
	return api_error(err, -ESTALE,
			 "machine '%s' differs from its journal and could not be rebuilt (%.120s); "
			 "it refuses changes until it can be",
			 lease->id, rerr.msg[0] ? rerr.msg : "no rebuild");
}

/* The commit failed (@jerr): undo by rebuilding from the journal, and say what happened. */
static int live_undo(const struct api_host *host, struct api_lease *lease, size_t n, int rj,
		     const struct mm_error *jerr, struct mm_error *err)
{
	struct mm_error rerr = {0};
	int rr = host->ops->machine_rebuild
			 ? host->ops->machine_rebuild(host->data, lease, &rerr)
			 : api_error(&rerr, -EOPNOTSUPP, "this host cannot rebuild");

	if (rr == 0)
		return api_error(err, rj,
				 "%.160s; %zu command(s) were not journaled and are undone: the "
				 "machine was rebuilt from its journal",
				 jerr->msg, n);
	return api_error(err, rj,
			 "%.160s; %zu command(s) changed the machine but are not journaled, and "
			 "rebuilding it from its journal failed (%.120s): it refuses changes until "
			 "it is rebuilt",
			 jerr->msg, n, rerr.msg);
}

/* The time of a commit, as the journal keeps it: UTC, ISO 8601 with milliseconds. */
static void commit_time(char buf[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

int api_txn_live(const struct api_host *host, struct api_lease *lease,
		 const struct api_txn_source *src, bool allow_pure, struct api_txn_live *run,
		 json_t **ret_extra, struct mm_error *err)
{
	struct api_journal_batch b;
	struct mm_error jerr = {0};
	char now[32];
	int r, rj;

	memset(run, 0, sizeof(*run));
	*ret_extra = NULL;
	api_txn_init(&run->t, lease->m,
		     host->ops->exec_env ? host->ops->exec_env(host->data, lease) : NULL);
	run->t.replace = host->ops->machine_replace ? live_replace : NULL;
	run->t.replace_data = run;
	run->host = host;
	run->lease = lease;
	r = live_check(host, lease, err);
	/* a full journal refuses before anything runs (a batch that fills it is undone) */
	if (r == 0 && !allow_pure && host->ops->journal_room)
		r = host->ops->journal_room(host->data, lease, src->n, err);
	if (r < 0)
		return r;
	run->t.m = lease->m;
	run->pure = allow_pure;
	for (; run->done < src->n; run->done++) {
		struct api_txn_step st;
		struct api_cmd view;

		r = source_get(src, run->done, &view, err);
		if (r == 0) {
			r = api_txn_step(&run->t, &view, &st, err);
			run->failure_journaled = r < 0 && st.journal;
			if (r == 0 && !(allow_pure && api_command_pure(&view, st.op)))
				run->pure = false;
		}
		if (r < 0) {
			run->command_failed = true;
			if (run->failure_journaled)
				run->pure = false;
			if (err->msg[0] == '\0')
				api_error(err, r, "the command failed (%d)", r);
			break;
		}
	}
	if (run->t.n == 0 || run->pure)
		return r;
	rj = api_txn_batch(&run->t, &b, &jerr);
	if (rj == 0) {
		commit_time(now);
		b.time = now;
		rj = host->ops->journal_append(host->data, lease, &b, &run->first_seq, &jerr);
		if (rj < 0 && jerr.msg[0] == '\0')
			api_error(&jerr, rj, "appending to the journal failed (%d)", rj);
	}
	if (rj < 0) {
		run->command_failed = false;
		return live_undo(host, lease, run->t.n, rj, &jerr, err);
	}
	/* durable now: the machine's event streams may tell it (never before the commit) */
	if (host->events_publish)
		host->events_publish(host->transport, lease->id, run->first_seq, &b);
	if (run->failure_journaled)
		*ret_extra = json_pack("{s:I}", "seq", (json_int_t)(run->first_seq + run->done));
	return r;
}

void api_txn_live_finish(struct api_txn_live *run)
{
	api_txn_finish(&run->t);
}

void api_txn_entry_text(struct api_text *t, const struct api_txn_live *run, size_t i)
{
	struct api_json_span res = api_txn_result(&run->t, i);

	api_text_puts(t, "{\"seq\":");
	api_text_int(t, run->first_seq + (int64_t)i);
	api_text_puts(t, ",\"op\":");
	api_text_str(t, run->t.ops[i]);
	api_text_puts(t, ",\"result\":");
	api_text_put(t, res.text, res.len);
	api_text_puts(t, "}");
}

void api_txn_entries_text(struct api_text *t, const struct api_txn_live *run)
{
	api_text_reserve(t, run->t.results.len + run->done * 48 + 2);
	api_text_put(t, "[", 1);
	for (size_t i = 0; i < run->done; i++) {
		if (i)
			api_text_put(t, ",", 1);
		api_txn_entry_text(t, run, i);
	}
	api_text_put(t, "]", 1);
}
