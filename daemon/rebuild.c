/* SPDX-License-Identifier: MIT */
/*
 * rebuild.c - machine_rebuild(): newest snapshot, else base, else configuration, then the
 * journal through the transaction (see rebuild.h).
 *
 * "Newest snapshot that loads" walks back one snapshot at a time: a snapshot that does not
 * load (a format this build cannot read, a corrupt one) is logged and passed over for an
 * older one, down to the base snapshot or the configuration, because the journal holds the
 * whole history after any of them, unless the journal was compacted behind a snapshot
 * (store_journal_compact()): then the walk stops at that snapshot, its base, which must load
 * (the entries before it are gone), and a rebuild to an entry before it is refused. The
 * journal is read batch by batch (one row per request);
 * each batch's entries run in one struct api_txn, reset between batches so that a long
 * journal needs no more memory than its biggest request.
 * A snapshot of the old format 1 has no reader; where its state is needed (a restore, a
 * clone's base, a session import) machine_rebuild_snapshot() gets it from the same
 * rebuild: machine_rebuild() of the machine it was taken of up to its seq, strictly (an
 * entry that fails or gives another result fails it). Restores inside that journal recurse,
 * at most OLD_SNAPSHOT_MAX_DEPTH deep.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "problem.h"
#include "rebuild.h"
#include "snapshot.h"
#include "templates.h"

/* Restores of old snapshots inside the journals they are rebuilt from nest at most this deep. */
#define OLD_SNAPSHOT_MAX_DEPTH 8

static int snapshot_at(struct store *st, int64_t id, const char *config, struct mm_machine **ret,
		       int depth, struct mm_error *err);

/* Where @src starts: ret->m, ret->from_snapshot, ret->after. @depth: how many old snapshots
 * are being rebuilt around this rebuild. */
static int rebuild_start(struct store *st, const struct rebuild_source *src, int64_t until_seq,
			 struct rebuild *ret, int depth, struct mm_error *err)
{
	struct store_snapshot meta;
	struct mm_config *cfg;
	char name[API_NAME_MAX];
	int64_t max_seq = until_seq;
	bool skipped = false;
	int64_t base = 0, base_seq = 0;
	json_t *cj;
	int r;

	/* a journal compacted behind a snapshot: nothing before it can be rebuilt */
	r = store_journal_base(st, src->id, &base, &base_seq, err);
	if (r < 0)
		return r;
	if (base && until_seq >= 0 && until_seq < base_seq)
		return api_error(err, -ENOENT,
				 "machine '%s''s journal is compacted behind snapshot %lld: its "
				 "entries up to seq %lld are gone",
				 src->id, (long long)base, (long long)base_seq);
	while (store_snapshot_latest(st, src->id, max_seq, &meta, NULL) == 0) {
		struct mm_error e = {0};

		if (base && meta.seq < base_seq) {
			store_snapshot_finish(&meta);
			break;
		}

		r = snapshot_load(st, meta.id, false, src->config, &ret->m, NULL, NULL, &e);
		if (r == 0) {
			ret->after = meta.seq;
			ret->from_snapshot = meta.id;
			store_snapshot_finish(&meta);
			return 0;
		}
		log_machine(LOG_LEVEL_WARN, src->id,
			    "machine %s: snapshot %lld does not load (%s); trying an older one",
			    src->id, (long long)meta.id, e.msg);
		skipped = true;
		max_seq = meta.seq - 1;
		store_snapshot_finish(&meta);
		if (max_seq < 0)
			break;
	}
	if (base) { /* the newer ones did not load: the base must */
		r = snapshot_load(st, base, true, src->config, &ret->m, NULL, NULL, err);
		if (r < 0)
			return r;
		ret->after = base_seq;
		ret->from_snapshot = base;
		return 0;
	}
	ret->after = 0;
	ret->from_snapshot = src->base_snapshot;
	if (skipped) /* every snapshot failed: said above, one by one */
		log_machine(LOG_LEVEL_WARN, src->id,
			    "machine %s: no snapshot of it loads; it is rebuilt from %s and its "
			    "whole journal",
			    src->id,
			    src->base_snapshot ? "its base snapshot" : "its configuration");
	if (src->base_snapshot) /* a clone: its base is read, or rebuilt when it is old */
		return snapshot_at(st, src->base_snapshot, src->config, &ret->m, depth + 1, err);
	cj = json_loads(src->config ? src->config : "", 0, NULL);
	cfg = malloc(sizeof(*cfg));
	if (!cj || !cfg) {
		json_decref(cj);
		free(cfg);
		return api_error(err, cfg ? -EIO : -ENOMEM,
				 "the configuration of machine '%s' is not readable", src->id);
	}
	r = api_machine_spec_parse_stored(cj, cfg, name, err);
	json_decref(cj);
	if (r == 0)
		r = machine_boot(cfg, &ret->m, err);
	free(cfg);
	return r;
}

struct rebuild_ctx {
	const struct rebuild_source *src;
	struct rebuild *rb;
	struct api_txn t;
	int64_t until;
	rebuild_entry_fn *fn;
	void *data;
	int failed; /* the code that stopped it */
	struct mm_error *err;
};

/* What a restart does with an entry: log what did not come out as recorded. */
static void entry_log(struct rebuild_ctx *x, int64_t seq, const struct api_json_span *want, int r,
		      const struct api_txn_step *st, const struct mm_error *e)
{
	const char *id = x->src->id;
	const struct api_text *got = &x->t.got;

	if (r < 0 && !st->journal) {
		log_machine(LOG_LEVEL_ERROR, id,
			    "machine %s: replaying journal entry %lld failed: %s", id,
			    (long long)seq, e->msg);
		x->rb->failed++;
		return;
	}
	if (!api_txn_same_result(got->data ? got->data : "", got->len, want->text, want->len)) {
		log_machine(LOG_LEVEL_WARN, id,
			    "machine %s: journal entry %lld replayed to a different result: %.*s "
			    "instead of %.*s",
			    id, (long long)seq, (int)(got->len > 200 ? 200 : got->len),
			    got->data ? got->data : "", (int)(want->len > 200 ? 200 : want->len),
			    want->text);
		x->rb->mismatched++;
	}
}

static int rebuild_batch(void *data, int64_t first_seq, int64_t n, const char *time,
			 const char *commands, size_t commands_len, const char *results,
			 size_t results_len)
{
	struct rebuild_ctx *x = data;
	struct api_json_span *c, *w;
	int ret = 0;

	if (x->until >= 0 && first_seq > x->until)
		return 1; /* done: stop the iteration */
	x->rb->next_seq = first_seq + (n > 0 ? n : 1);
	if (api_txn_split_batch(n, commands, commands_len, results, results_len, &c, &w) < 0) {
		if (x->fn)
			return x->failed = api_error(x->err, -EIO,
						     "journal entries %lld..%lld are not %lld "
						     "commands and results",
						     (long long)first_seq,
						     (long long)(first_seq + n - 1), (long long)n);
		log_machine(LOG_LEVEL_ERROR, x->src->id,
			    "machine %s: journal entries %lld..%lld are not %lld commands and "
			    "results; skipped",
			    x->src->id, (long long)first_seq, (long long)(first_seq + n - 1),
			    (long long)n);
		x->rb->failed += n > 0 ? (unsigned long)n : 1;
		return 0;
	}
	api_txn_reset(&x->t);
	for (int64_t i = 0; i < n && ret >= 0; i++) {
		int64_t seq = first_seq + i;
		struct api_txn_step st;
		struct mm_error e = {0};
		int r;

		if (seq <= x->rb->after || (x->until >= 0 && seq > x->until))
			continue;
		r = api_txn_step_text(&x->t, c[i].text, c[i].len, &st, &e);
		if (r == 0 || st.journal)
			x->rb->replayed++;
		if (x->fn) {
			ret = x->fn(x->data, seq, &c[i], &w[i], r, &st, &x->t, &e);
			if (ret < 0)
				x->failed = ret;
		} else {
			entry_log(x, seq, &w[i], r, &st, &e);
		}
	}
	free(c);
	free(w);
	return ret;
}

static int rebuild_at(struct store *st, const struct rebuild_source *src, int64_t until_seq,
		      const struct api_exec_env *env, rebuild_entry_fn *fn, void *data,
		      struct rebuild *ret, int depth, struct mm_error *err)
{
	struct rebuild_ctx x = {
		.src = src, .rb = ret, .until = until_seq, .fn = fn, .data = data, .err = err};
	int r;

	memset(ret, 0, sizeof(*ret));
	r = rebuild_start(st, src, until_seq, ret, depth, err);
	if (r < 0)
		return r;
	ret->next_seq = ret->after + 1;
	api_txn_init(&x.t, ret->m, env);
	x.t.no_entries = !fn; /* only the results are compared */
	r = store_journal_foreach(st, src->id, ret->after, rebuild_batch, &x, err);
	ret->m = x.t.m; /* a snapshot_restore replaced it */
	api_txn_finish(&x.t);
	if (r == 1)
		r = 0; /* stopped at until_seq */
	if (r == 0 && x.failed < 0)
		r = x.failed;
	if (r < 0) {
		mm_machine_destroy(ret->m);
		ret->m = NULL;
		return r;
	}
	return 0;
}

int machine_rebuild(struct store *st, const struct rebuild_source *src, int64_t until_seq,
		    const struct api_exec_env *env, rebuild_entry_fn *fn, void *data,
		    struct rebuild *ret, struct mm_error *err)
{
	return rebuild_at(st, src, until_seq, env, fn, data, ret, 0, err);
}

/* ---- snapshots of a format this mm32d no longer reads ------------------------------------ */

/* The machines row of an old snapshot's machine. */
struct owner {
	char *config;
	int64_t base;
	bool found;
};

static int find_owner(void *data, const struct store_machine *sm)
{
	struct owner *o = data;

	o->config = strdup(sm->config ? sm->config : "");
	o->base = sm->base_snapshot;
	o->found = true;
	return o->config ? 0 : -ENOMEM;
}

/* An old snapshot's rebuild: its environment (a snapshot_restore inside the journal goes one
 * level deeper) and where an entry that does not give its journaled result is reported. */
struct old_rebuild {
	struct store *st;
	int depth;
	struct mm_error *err;
};

static int old_restore(void *data, int64_t id, const struct mm_machine *m, struct mm_machine **ret,
		       struct api_snapshot_ref *ref, struct mm_error *err)
{
	struct old_rebuild *o = data;
	char *config = snapshot_config_text(m);
	struct store_snapshot meta;
	int r;

	if (!config)
		return api_error(err, -ENOMEM, "out of memory");
	r = store_snapshot_get(o->st, id, &meta, err);
	if (r == 0) {
		r = snapshot_check_config(&meta, config, err);
		if (r == 0)
			r = snapshot_at(o->st, id, config, ret, o->depth + 1, err);
		if (r == 0)
			snapshot_ref(&meta, ref);
		store_snapshot_finish(&meta);
	}
	free(config);
	return r;
}

/* Every entry up to the snapshot's seq must give its journaled result: else the state rebuilt
 * is not the snapshot's, and the rebuild fails. */
static int old_entry(void *data, int64_t seq, const struct api_json_span *cmd,
		     const struct api_json_span *want, int r, const struct api_txn_step *st,
		     struct api_txn *t, const struct mm_error *e)
{
	struct old_rebuild *o = data;

	(void)cmd;
	if (r < 0 && !st->journal)
		return api_error(o->err, -EIO, "journal entry %lld fails: %s", (long long)seq,
				 e->msg);
	if (t->results.oom || t->cmds.oom)
		return api_error(o->err, -ENOMEM, "out of memory");
	if (!api_txn_same_result(st->result.text, st->result.len, want->text, want->len))
		return api_error(o->err, -EIO,
				 "journal entry %lld gives another result than it gave",
				 (long long)seq);
	return 0;
}

/* Machine @meta->machine_id after its journal entry @meta->seq. */
static int rebuild_old(struct store *st, const struct store_snapshot *meta, struct mm_machine **ret,
		       int depth, struct mm_error *err)
{
	struct old_rebuild o = {.st = st, .depth = depth, .err = err};
	const struct api_exec_env env = {.snapshot_load = old_restore, .data = &o};
	struct owner own = {0};
	struct rebuild rb;
	int r;

	if (depth > OLD_SNAPSHOT_MAX_DEPTH)
		return api_error(err, -EIO, "snapshot restores nest deeper than %d",
				 OLD_SNAPSHOT_MAX_DEPTH);
	r = store_machines_foreach(st, meta->machine_id, find_owner, &own, err);
	if (r == -ENOENT || (r == 0 && !own.found))
		r = api_error(err, -ENOENT,
			      "machine '%s', whose journal would rebuild it, was deleted",
			      meta->machine_id);
	if (r == 0) {
		const struct rebuild_source src = {
			.id = meta->machine_id, .config = own.config, .base_snapshot = own.base};

		r = rebuild_at(st, &src, meta->seq, &env, old_entry, &o, &rb, depth, err);
		if (r == 0)
			*ret = rb.m;
	}
	free(own.config);
	return r;
}

/* Snapshot @id read (deleted ones too), or rebuilt when it is of an older format. */
static int snapshot_at(struct store *st, int64_t id, const char *config, struct mm_machine **ret,
		       int depth, struct mm_error *err)
{
	struct store_snapshot meta;
	char why[MM_ERR_MAX];
	int r;

	r = store_snapshot_get(st, id, &meta, err);
	if (r < 0)
		return r;
	if (meta.format >= MM_SNAPSHOT_VERSION) {
		store_snapshot_finish(&meta);
		return snapshot_load(st, id, true, config, ret, NULL, NULL, err);
	}
	r = config ? snapshot_check_config(&meta, config, err) : 0;
	if (r == 0) {
		r = rebuild_old(st, &meta, ret, depth, err);
		if (r < 0) {
			snprintf(why, sizeof(why), "%s", err->msg);
			api_error(
				err, -EIO,
				"snapshot %lld is in the old format %d, and the journal of machine "
				"'%s' does not rebuild it: %s",
				(long long)id, meta.format, meta.machine_id, why);
		} else {
			log_warn(
				"snapshot %lld is in the old format %d: its state was rebuilt from "
				"the journal of machine '%s' up to seq %lld",
				(long long)id, meta.format, meta.machine_id, (long long)meta.seq);
		}
	}
	store_snapshot_finish(&meta);
	return r;
}

int machine_rebuild_snapshot(struct store *st, int64_t id, const char *config,
			     struct mm_machine **ret, struct mm_error *err)
{
	return snapshot_at(st, id, config, ret, 0, err);
}
