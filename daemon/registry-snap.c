/* SPDX-License-Identifier: MIT */
/*
 * registry-snap.c - what the registry does with snapshots: the state hash of a machine,
 * snapshots taken under its lease or by a job (a big machine: 202), listed, read and deleted,
 * clones made from one, and the environment a snapshot_restore command reads its snapshot
 * through (live: the use is recorded first, so a delete keeps it for the journal's replay).
 *
 * A snapshot covers what was journaled when it was asked for: its seq is the machine's last
 * journal entry, and a job reserves the machine before the request that started it lets go.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "problem.h"
#include "registry-int.h"

/* ---- persistence: the state hash, snapshots, jobs, sessions ------------------------------ */

int registry_state_hash(struct registry *reg, struct api_lease *lease, json_t **ret,
			struct mm_error *err)
{
	struct machine *mc = lease->handle;
	char hex[STORE_HASH_HEX];
	int r = snapshot_state_hash(mc->m, hex, err);

	if (r < 0)
		return r;
	*ret = json_pack("{s:s, s:s, s:I}", "algorithm", SNAPSHOT_HASH_ALGORITHM, "hash", hex,
			 "seq", (json_int_t)(mc->next_seq - 1));
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}

/* snapshot_restore on a live machine: a snapshot that is listed (not deleted), of this
 * machine's configuration; its use is recorded before it is read, so that a delete from
 * now on keeps it for the replay of this machine's journal. */
int registry_live_snapshot_load(void *data, int64_t id, const struct mm_machine *m,
				struct mm_machine **ret, struct api_snapshot_ref *ref,
				struct mm_error *err)
{
	struct machine *mc = data;
	struct store *st = mc->reg->st;
	_cleanup_free_ char *config = snapshot_config_text(m);
	struct store_snapshot meta;
	int r;

	if (!config)
		return api_error(err, -ENOMEM, "out of memory");
	r = store_snapshot_get(st, id, &meta, err);
	if (r < 0)
		return r;
	if (meta.deleted) {
		store_snapshot_finish(&meta);
		return api_error(err, -ENOENT, "no snapshot %lld", (long long)id);
	}
	r = snapshot_check_config(&meta, config, err);
	store_snapshot_finish(&meta);
	if (r < 0)
		return r;
	r = store_snapshot_use(st, id, mc->id, err);
	if (r < 0)
		return r;
	return snapshot_restore_load(st, id, true, m, ret, ref, err);
}

/* snapshot_restore replayed at start-up: the snapshot may have been deleted since (it was
 * kept for this), and its use is already recorded. */
int registry_replay_snapshot_load(void *data, int64_t id, const struct mm_machine *m,
				  struct mm_machine **ret, struct api_snapshot_ref *ref,
				  struct mm_error *err)
{
	struct registry *reg = data;

	return snapshot_restore_load(reg->st, id, true, m, ret, ref, err);
}

/* Snapshot @mc (its lock held); *@ret is the snapshot's document. */
static int take_snapshot(struct registry *reg, struct machine *mc, const char *label,
			 struct snapshot_progress *p, json_t **ret, struct mm_error *err)
{
	struct store_snapshot meta = {0};
	int r;

	snprintf(meta.machine_id, sizeof(meta.machine_id), "%s", mc->id);
	snprintf(meta.label, sizeof(meta.label), "%s", label ? label : "");
	meta.seq = mc->next_seq - 1;
	meta.config = snapshot_config_text(mc->m);
	if (!meta.config)
		return api_error(err, -ENOMEM, "out of memory");
	r = snapshot_save(reg->st, mc->m, &meta, p, err);
	if (r == 0) {
		*ret = snapshot_to_json(&meta);
		if (!*ret)
			r = api_error(err, -ENOMEM, "out of memory");
		else
			log_machine(LOG_LEVEL_INFO, mc->id,
				    "machine %s: snapshot %lld at seq %lld (%lld frames, %lld new, "
				    "%lld bytes added)",
				    mc->id, (long long)meta.id, (long long)meta.seq,
				    (long long)meta.nr_frames, (long long)meta.new_frames,
				    (long long)(meta.new_frame_bytes + meta.state_bytes +
						meta.map_bytes));
	}
	store_snapshot_finish(&meta);
	return r;
}

struct snapshot_job {
	struct registry *reg;
	struct machine *mc;
	char label[STORE_LABEL_MAX];
};

static int snapshot_job_run(void *data, struct snapshot_progress *p, json_t **ret,
			    struct mm_error *err)
{
	struct snapshot_job *sj = data;
	struct machine *mc = sj->mc;
	int r;

	pthread_mutex_lock(&mc->lock);
	mc->reserved--;
	if (atomic_load(&mc->doomed)) {
		r = api_error(err, -ENOENT, "the snapshot was cancelled: machine '%s' was deleted",
			      mc->id);
		goto out;
	}
	if (atomic_load(&p->cancel)) {
		r = api_error(err, -ECANCELED, "the snapshot was cancelled: mm32d is stopping");
		goto out;
	}
	pthread_mutex_lock(&mc->job_lock);
	mc->job = p;
	pthread_mutex_unlock(&mc->job_lock);
	r = take_snapshot(sj->reg, mc, sj->label, p, ret, err);
	pthread_mutex_lock(&mc->job_lock);
	mc->job = NULL;
	pthread_mutex_unlock(&mc->job_lock);
	if (r == -ECANCELED && atomic_load(&mc->doomed))
		r = api_error(err, -ENOENT, "the snapshot was cancelled: machine '%s' was deleted",
			      mc->id);
out:
	/* the ones waiting for the reservation to end wake (and then wait for the lock) */
	pthread_cond_broadcast(&mc->cond);
	pthread_mutex_unlock(&mc->lock);
	return r;
}

/* max-snapshots-per-machine: room for one more beside the listed ones and the jobs queued
 * for it (its lock held)? 0 or -EXFULL naming the cap. */
static int snapshot_room(struct registry *reg, struct machine *mc, struct mm_error *err)
{
	unsigned int cap = __atomic_load_n(&reg->max_snapshots, __ATOMIC_RELAXED);
	int64_t n = 0;
	int r;

	if (!cap)
		return 0;
	r = store_snapshot_count(reg->st, mc->id, &n, err);
	if (r < 0)
		return r;
	n += mc->reserved;
	if (n >= (int64_t)cap)
		return api_error(err, -EXFULL,
				 "machine '%s' has %lld snapshots, its max-snapshots-per-machine "
				 "(%u): delete one first",
				 mc->id, (long long)n, cap);
	return 0;
}

int registry_snapshot_create(struct registry *reg, struct api_lease *lease, const char *label,
			     int async, json_t **ret, bool *ret_job, struct mm_error *err)
{
	struct machine *mc = lease->handle;
	struct snapshot_job *sj;
	int r;

	/* a snapshot says "the machine after journal entry seq": not true of a diverged one */
	if (mc->diverged)
		return api_error(
			err, -ESTALE,
			"machine '%s' differs from its journal (a journal write failed and "
			"so did its rebuild): it is not snapshotted until it is rebuilt",
			mc->id);
	r = snapshot_room(reg, mc, err);
	if (r < 0)
		return r;
	if (async < 0)
		async = snapshot_touched_frames(mc->m) > SNAPSHOT_SYNC_FRAMES;
	if (!async) {
		*ret_job = false;
		return take_snapshot(reg, mc, label, NULL, ret, err);
	}
	sj = calloc(1, sizeof(*sj));
	if (!sj)
		return api_error(err, -ENOMEM, "out of memory");
	sj->reg = reg;
	sj->mc = mc;
	snprintf(sj->label, sizeof(sj->label), "%s", label ? label : "");
	/* we hold the lock: the job is next, before anyone who acquires after us */
	mc->reserved++;
	r = jobs_start(reg->jobs, "snapshot", mc->id, snapshot_job_run, sj, free, ret, err);
	if (r < 0) {
		mc->reserved--;
		free(sj);
		return r;
	}
	*ret_job = true;
	return 0;
}

static int snapshot_list_one(void *data, const struct store_snapshot *s)
{
	json_t *o = snapshot_to_json(s);

	return o && !json_array_append_new(data, o) ? 0 : -ENOMEM;
}

int registry_snapshot_list(struct registry *reg, struct api_lease *lease, json_t **ret,
			   struct mm_error *err)
{
	struct machine *mc = lease->handle;
	struct store_stats stats;
	json_t *arr = json_array();
	int r;

	if (!arr)
		return api_error(err, -ENOMEM, "out of memory");
	r = store_snapshots_foreach(reg->st, mc->id, snapshot_list_one, arr, err);
	if (r == 0)
		r = store_stats(reg->st, &stats, err);
	if (r < 0) {
		json_decref(arr);
		return r == -ENOMEM ? api_error(err, r, "out of memory") : r;
	}
	*ret = json_pack("{s:o, s:o}", "snapshots", arr, "storage",
			 snapshot_storage_to_json(&stats));
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}

int registry_snapshot_get(struct registry *reg, struct api_lease *lease, int64_t id, json_t **ret,
			  struct mm_error *err)
{
	struct machine *mc = lease->handle;
	struct store_snapshot s;
	int r = store_snapshot_get(reg->st, id, &s, err);

	if (r < 0)
		return r == -ENOENT ? api_error(err, r, "machine '%s' has no snapshot %lld", mc->id,
						(long long)id)
				    : r;
	if (s.deleted || strcmp(s.machine_id, mc->id)) {
		store_snapshot_finish(&s);
		return api_error(err, -ENOENT, "machine '%s' has no snapshot %lld", mc->id,
				 (long long)id);
	}
	*ret = snapshot_to_json(&s);
	store_snapshot_finish(&s);
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}

int registry_snapshot_delete(struct registry *reg, const char *machine, int64_t id, json_t **ret,
			     struct mm_error *err)
{
	struct store_gc_stats gc;
	bool retained = false;
	int r;

	if (!registry_contains(reg, machine))
		return api_error(err, -ENOENT, "no machine '%.64s'", machine);
	r = store_snapshot_delete(reg->st, machine, id, &retained, err);
	if (r < 0)
		return r;
	r = store_gc(reg->st, &gc, err);
	if (r < 0)
		return r;
	log_machine(LOG_LEVEL_INFO, machine,
		    "machine %s: snapshot %lld deleted%s; %lld frames (%lld bytes) collected",
		    machine, (long long)id,
		    retained ? " (kept for a journal that restores it)" : "", (long long)gc.frames,
		    (long long)gc.bytes);
	*ret = json_pack("{s:I, s:b, s:b, s:{s:I, s:I}}", "id", (json_int_t)id, "deleted", 1,
			 "retained", retained, "collected", "frames", (json_int_t)gc.frames,
			 "bytes", (json_int_t)gc.bytes);
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}

int registry_journal_compact(struct registry *reg, struct api_lease *lease, int64_t id,
			     json_t **ret, struct mm_error *err)
{
	struct machine *mc = lease->handle;
	struct store_compact sc;
	int r;

	struct store_gc_stats gc = {0};
	struct mm_error gc_err = {0};

	r = store_journal_compact(reg->st, mc->id, id, &sc, err);
	if (r < 0)
		return r;
	mc->journal_start = sc.seq;
	/* what the store says of it changed: a new state identity (no ETag of before matches) */
	mc->generation = atomic_fetch_add(&reg->generations, 1) + 1;
	/* the frames of the deleted snapshots the dropped entries kept */
	if (store_gc(reg->st, &gc, &gc_err) < 0)
		log_warn("collecting frames after compacting machine %s's journal: %s", mc->id,
			 gc_err.msg);
	log_machine(LOG_LEVEL_INFO, mc->id,
		    "machine %s: journal compacted behind snapshot %lld (seq %lld): %lld entries "
		    "in %lld batches, %lld bytes, dropped",
		    mc->id, (long long)id, (long long)sc.seq, (long long)sc.entries,
		    (long long)sc.batches, (long long)sc.bytes);
	*ret = json_pack("{s:s, s:{s:I, s:I}, s:{s:I, s:I, s:I}, s:I}", "machine", mc->id,
			 "compacted", "snapshot", (json_int_t)id, "seq", (json_int_t)sc.seq,
			 "dropped", "entries", (json_int_t)sc.entries, "batches",
			 (json_int_t)sc.batches, "bytes", (json_int_t)sc.bytes, "next_seq",
			 (json_int_t)mc->next_seq);
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}

int registry_clone(void *data, const char *name, int64_t id, struct api_lease *ret,
		   struct mm_error *err)
{
	struct registry *reg = data;
	struct store_snapshot meta;
	struct mm_machine *m;
	char origin[256];
	struct registry_new nw = {.name = name};
	int r;

	if (name[0] && registry_contains(reg, name))
		return api_error(err, -EEXIST, "a machine named '%s' already exists", name);
	r = snapshot_load(reg->st, id, false, NULL, &m, &meta, NULL, err);
	if (r < 0)
		return r;
	snprintf(origin, sizeof(origin),
		 "{\"kind\":\"clone\",\"snapshot\":%lld,\"machine\":\"%s\",\"seq\":%lld}",
		 (long long)id, meta.machine_id, (long long)meta.seq);
	nw.m = m;
	nw.config = meta.config;
	nw.base_snapshot = id;
	nw.origin = origin;
	r = registry_adopt_locked(reg, &nw, ret, err);
	store_snapshot_finish(&meta);
	if (r < 0) {
		mm_machine_destroy(m);
		return r;
	}
	log_machine(LOG_LEVEL_INFO, ret->id, "machine %s cloned from snapshot %lld", ret->id,
		    (long long)id);
	return 0;
}

int registry_job_get(struct registry *reg, int64_t id, json_t **ret, struct mm_error *err)
{

	return jobs_get(reg->jobs, id, ret, err);
}

int registry_job_list(struct registry *reg, json_t **ret, struct mm_error *err)
{

	return jobs_list(reg->jobs, ret, err);
}
