/* SPDX-License-Identifier: MIT */
/*
 * registry.c - machines by id (see registry.h for locking and persistence).
 *
 * Machines live in an array kept sorted by id, so listing is ordered and lookup is a
 * binary search. A machine leaves the array only under the registry write lock and with
 * its own mutex held, so whoever holds a lease holds a live machine: the deleter waits
 * for the lease to be released before it destroys. A deleter first cancels the machine's
 * running snapshot job, and waits for the jobs that reserved the machine to give it up.
 *
 * The journal's next seq is kept per machine and only advanced after the entry was
 * committed; it is read and written under the machine's mutex.
 *
 * A start registers every stored machine at once, "restoring", and one restore thread
 * rebuilds them while the daemon answers (registry_load()): a request for a machine not back
 * yet puts it at the front of the queue and waits for it without the registry lock, counted
 * in the machine's waiters (a deleter waits for them); a machine over the caps, or whose
 * restore failed, stays "unloaded" with the reason, not charged to the caps.
 * Restarts re-create every machine with machine_rebuild() (rebuild.h): from its newest
 * snapshot, its base snapshot (a clone), or its stored configuration, boot.stop_after included
 * (a machine created stopped at an early boot phase comes back stopped there, and its
 * boot_continue commands boot it further at the same points as before), then its journal. The
 * same rebuild undoes a journal append that failed (host_machine_rebuild()); a machine it
 * cannot rebuild is diverged. Snapshots, snapshot jobs and clones are registry-snap.c's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "codec.h"
#include "log.h"
#include "problem.h"
#include "rebuild.h"
#include "registry-int.h"
#include "routes.h"
#include "service.h"
#include "templates.h"
#include "txn.h"

int registry_create(struct store *st, struct registry **ret, struct mm_error *err)
{
	struct registry *reg = calloc(1, sizeof(*reg));
	int r;

	if (!reg)
		return api_error(err, -ENOMEM, "out of memory");
	r = jobs_create(&reg->jobs, err);
	if (r < 0) {
		free(reg);
		return r;
	}
	pthread_rwlock_init(&reg->lock, NULL);
	pthread_mutex_init(&reg->rs.lock, NULL);
	reg->st = st;
	/* a restart starts the generations again: the instance keeps old ETags from matching */
	if (getrandom(&reg->instance, sizeof(reg->instance), 0) != sizeof(reg->instance)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		reg->instance = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	*ret = reg;
	return 0;
}

void registry_set_limits(struct registry *reg, unsigned int max_machines, uint64_t max_host_bytes)
{
	pthread_rwlock_wrlock(&reg->lock);
	reg->max_machines = max_machines;
	reg->max_host_bytes = max_host_bytes;
	pthread_rwlock_unlock(&reg->lock);
}

void registry_set_machine_limits(struct registry *reg, unsigned int max_snapshots,
				 unsigned int max_session_commands)
{
	__atomic_store_n(&reg->max_snapshots, max_snapshots, __ATOMIC_RELAXED);
	__atomic_store_n(&reg->max_session_commands, max_session_commands, __ATOMIC_RELAXED);
}

unsigned int registry_max_session_commands(struct registry *reg)
{
	return __atomic_load_n(&reg->max_session_commands, __ATOMIC_RELAXED);
}

/* Would one more machine of @cost bytes fit? 0, or -EXFULL naming the cap. Under @lock. */
static int fits_locked(const struct registry *reg, uint64_t cost, struct mm_error *err)
{
	if (reg->max_machines && reg->n - reg->n_unloaded >= reg->max_machines)
		return api_error(
			err, -EXFULL,
			"this mm32d holds %zu machines, its max-machines; delete one first",
			reg->n - reg->n_unloaded);
	if (reg->max_host_bytes && reg->host_bytes + cost > reg->max_host_bytes)
		return api_error(
			err, -EXFULL,
			"the machine would hold %llu MiB of host memory beside the %llu MiB "
			"the machines hold, over max-host-memory (%llu MiB); delete a "
			"machine or ask for less RAM",
			(unsigned long long)(cost >> 20),
			(unsigned long long)(reg->host_bytes >> 20),
			(unsigned long long)(reg->max_host_bytes >> 20));
	return 0;
}

int registry_fits(struct registry *reg, uint64_t cost, struct mm_error *err)
{
	int r;

	pthread_rwlock_rdlock(&reg->lock);
	r = fits_locked(reg, cost, err);
	pthread_rwlock_unlock(&reg->lock);
	return r;
}

struct store *registry_store(struct registry *reg)
{
	return reg->st;
}

static void machine_free(struct machine *mc)
{
	if (!mc)
		return;
	mm_machine_destroy(mc->m);
	api_view_cache_free(mc->views);
	free(mc->config);
	pthread_mutex_destroy(&mc->lock);
	pthread_cond_destroy(&mc->cond);
	pthread_mutex_destroy(&mc->job_lock);
	free(mc);
}

void registry_destroy(struct registry *reg)
{
	if (!reg)
		return;
	/* first the restore thread and the jobs: they hold machines */
	atomic_store(&reg->rs.stop, true);
	if (reg->rs.started)
		pthread_join(reg->rs.thread, NULL);
	free(reg->rs.order);
	free(reg->rs.wanted);
	pthread_mutex_destroy(&reg->rs.lock);
	jobs_destroy(reg->jobs);
	for (size_t i = 0; i < reg->n; i++)
		machine_free(reg->v[i]);
	free(reg->v);
	pthread_rwlock_destroy(&reg->lock);
	free(reg);
}

/* Index of @id, or -(insertion point) - 1. Caller holds the registry lock. */
static long find(const struct registry *reg, const char *id)
{
	size_t lo = 0, hi = reg->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(reg->v[mid]->id, id);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

/* Insert @mc (its id not present). Caller holds the write lock. */
static int insert(struct registry *reg, struct machine *mc)
{
	long pos = -find(reg, mc->id) - 1;

	if (reg->n == reg->cap) {
		size_t cap = reg->cap ? reg->cap * 2 : 8;
		struct machine **v = realloc(reg->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		reg->v = v;
		reg->cap = cap;
	}
	memmove(&reg->v[pos + 1], &reg->v[pos], (reg->n - (size_t)pos) * sizeof(*reg->v));
	reg->v[pos] = mc;
	reg->n++;
	return 0;
}

static struct machine *machine_new(struct registry *reg, const char *id, struct mm_machine *m)
{
	struct machine *mc = calloc(1, sizeof(*mc));

	if (!mc)
		return NULL;
	snprintf(mc->id, sizeof(mc->id), "%s", id);
	mc->reg = reg;
	machine_set(mc, m);
	mc->next_seq = 1;
	mc->env = (struct api_exec_env){.snapshot_load = registry_live_snapshot_load, .data = mc};
	pthread_mutex_init(&mc->lock, NULL);
	pthread_cond_init(&mc->cond, NULL);
	pthread_mutex_init(&mc->job_lock, NULL);
	return mc;
}

bool registry_contains(struct registry *reg, const char *id)
{
	bool found;

	pthread_rwlock_rdlock(&reg->lock);
	found = find(reg, id) >= 0;
	pthread_rwlock_unlock(&reg->lock);
	return found;
}

/* ---- the background restore of a start-up ------------------------------------------------ */

/* A request waits for @mc (being restored): it comes next. Under @mc's lock (the registry's
 * may be held too: the order is registry, machine, restorer). */
static void restore_want(struct registry *reg, struct machine *mc)
{
	pthread_mutex_lock(&reg->rs.lock);
	if (!mc->taken && reg->rs.wanted) {
		size_t i;

		for (i = 0; i < reg->rs.nwanted && reg->rs.wanted[i] != mc; i++)
			;
		if (i == reg->rs.nwanted && reg->rs.nwanted < reg->rs.n)
			reg->rs.wanted[reg->rs.nwanted++] = mc;
	}
	pthread_mutex_unlock(&reg->rs.lock);
}

/* @mc leaves the registry: the restorer's lists must not point at it. */
static void restore_forget(struct registry *reg, struct machine *mc)
{
	pthread_mutex_lock(&reg->rs.lock);
	for (size_t i = 0; i < reg->rs.n; i++)
		if (reg->rs.order[i] == mc)
			reg->rs.order[i] = NULL;
	for (size_t i = 0; i < reg->rs.nwanted; i++)
		if (reg->rs.wanted[i] == mc)
			reg->rs.wanted[i] = NULL;
	pthread_mutex_unlock(&reg->rs.lock);
}

/* Under @mc's lock: wait until it is restored (or unloaded), at most RESTORE_WAIT_MS.
 * 0, or -EINPROGRESS (503, Retry-After). */
static int wait_restored(struct machine *mc, struct mm_error *err)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += RESTORE_WAIT_MS / 1000;
	until.tv_nsec += (long)(RESTORE_WAIT_MS % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (atomic_load(&mc->state) == MACHINE_RESTORING && !atomic_load(&mc->doomed))
		if (pthread_cond_timedwait(&mc->cond, &mc->lock, &until) == ETIMEDOUT)
			break;
	if (atomic_load(&mc->state) == MACHINE_RESTORING)
		return api_error(err, -EINPROGRESS,
				 "machine '%.64s' is being restored (the daemon has just started); "
				 "retry in a moment",
				 mc->id);
	return 0;
}

/* ---- adopting a machine ------------------------------------------------------------------ */

/*
 * Persist @nw and register it; on success *@ret is its lease, locked. The store insert and
 * the registration happen under the registry write lock, so a name is never half taken.
 */
int registry_adopt_locked(struct registry *reg, const struct registry_new *nw,
			  struct api_lease *ret, struct mm_error *err)
{
	struct store_machine sm;
	struct machine *mc = NULL;
	char id[API_NAME_MAX];
	int r;

	uint64_t cost = mm_config_host_bytes(mm_machine_config(nw->m));

	pthread_rwlock_wrlock(&reg->lock);
	r = fits_locked(reg, cost, err);
	if (r < 0)
		goto fail;
	if (nw->name && nw->name[0]) {
		snprintf(id, sizeof(id), "%s", nw->name);
		if (find(reg, id) >= 0) {
			r = api_error(err, -EEXIST, "a machine named '%s' already exists", id);
			goto fail;
		}
	} else {
		for (unsigned long k = 1;; k++) {
			snprintf(id, sizeof(id), "m%lu", k);
			if (find(reg, id) < 0)
				break;
		}
	}
	mc = machine_new(reg, id, nw->m);
	if (!mc) {
		r = api_error(err, -ENOMEM, "out of memory");
		goto fail;
	}
	mc->next_seq = nw->next_seq > 0 ? nw->next_seq : 1;
	mc->host_bytes = cost;
	sm = (struct store_machine){.id = id,
				    .config = nw->config,
				    .origin = nw->origin,
				    .base_snapshot = nw->base_snapshot};
	r = store_machine_insert(reg->st, &sm, nw->batches, nw->nbatches, nw->uses, nw->nuses, err);
	if (r < 0)
		goto fail;
	if (insert(reg, mc) < 0) {
		struct mm_error ignore;

		store_machine_delete(reg->st, id, &ignore);
		r = api_error(err, -ENOMEM, "out of memory");
		goto fail;
	}
	reg->host_bytes += cost;
	pthread_mutex_lock(&mc->lock);
	pthread_rwlock_unlock(&reg->lock);
	*ret = (struct api_lease){.id = mc->id, .m = mc->m, .handle = mc};
	return 0;
fail:
	pthread_rwlock_unlock(&reg->lock);
	if (mc) {
		mc->m = NULL; /* still the caller's */
		machine_free(mc);
	}
	return r;
}

int registry_adopt(struct registry *reg, const struct registry_new *nw, char ret_id[API_NAME_MAX],
		   struct mm_error *err)
{
	struct api_lease lease;
	int r = registry_adopt_locked(reg, nw, &lease, err);

	if (r < 0)
		return r;
	snprintf(ret_id, API_NAME_MAX, "%s", lease.id);
	log_machine(LOG_LEVEL_INFO, lease.id, "machine %s created (%s)", lease.id,
		    nw->origin ? nw->origin : "");
	pthread_mutex_unlock(&((struct machine *)lease.handle)->lock);
	return 0;
}

/* ---- the api_host ----------------------------------------------------------------------- */

static int host_create(void *data, const char *name, const struct mm_config *cfg,
		       struct api_lease *ret, struct mm_error *err)
{
	struct registry *reg = data;
	_cleanup_free_ char *config = NULL;
	struct registry_new nw = {.name = name, .origin = "{\"kind\":\"created\"}"};
	struct mm_machine *m = NULL;
	int r;

	/* cheap early answer for the common duplicate; re-checked under the write lock */
	if (name[0] && registry_contains(reg, name))
		return api_error(err, -EEXIST, "a machine named '%s' already exists", name);
	/* and for the caps, before a machine that would not fit is built */
	r = registry_fits(reg, mm_config_host_bytes(cfg), err);
	if (r < 0)
		return r;
	r = machine_boot(cfg, &m, err);
	if (r < 0)
		return r;
	config = snapshot_config_text(m);
	if (!config) {
		mm_machine_destroy(m);
		return api_error(err, -ENOMEM, "out of memory");
	}
	nw.m = m;
	nw.config = config;
	r = registry_adopt_locked(reg, &nw, ret, err);
	if (r < 0) {
		mm_machine_destroy(m);
		return r;
	}
	log_machine(LOG_LEVEL_INFO, ret->id, "machine %s created (mem %llu, %s, %u cpu)", ret->id,
		    (unsigned long long)cfg->mem, cfg->pae ? "pae" : "686", cfg->cpus);
	return 0;
}

int registry_add(struct registry *reg, const char *name, const struct mm_config *cfg,
		 struct mm_error *err)
{
	struct api_lease lease;
	int r = host_create(reg, name, cfg, &lease, err);

	if (r < 0)
		return r;
	pthread_mutex_unlock(&((struct machine *)lease.handle)->lock);
	return 0;
}

static int host_delete(void *data, const char *id, struct mm_error *err)
{
	struct registry *reg = data;
	struct store_gc_stats gc;
	struct mm_error gc_err = {0};
	struct machine *mc;
	long pos;
	int r;

	pthread_rwlock_wrlock(&reg->lock);
	pos = find(reg, id);
	if (pos < 0) {
		pthread_rwlock_unlock(&reg->lock);
		return api_error(err, -ENOENT, "no machine '%.64s'", id);
	}
	mc = reg->v[pos];
	pthread_mutex_lock(&mc->lock);
	if (mc->state == MACHINE_RESTORING) { /* it comes next; deleted once it is back */
		restore_want(reg, mc);
		pthread_mutex_unlock(&mc->lock);
		pthread_rwlock_unlock(&reg->lock);
		return api_error(
			err, -EINPROGRESS,
			"machine '%.64s' is being restored (start-up); delete it once it is "
			"(GET /v1/machines shows its state)",
			id);
	}
	pthread_mutex_unlock(&mc->lock);
	/* a snapshot of it being written stops; jobs waiting for it give up */
	atomic_store(&mc->doomed, true);
	pthread_mutex_lock(&mc->job_lock);
	if (mc->job)
		atomic_store(&mc->job->cancel, true);
	pthread_mutex_unlock(&mc->job_lock);
	/* wait for the current lease holder; no new one can come while we hold the registry */
	pthread_mutex_lock(&mc->lock);
	while (mc->reserved || mc->waiters)
		pthread_cond_wait(&mc->cond, &mc->lock);
	r = store_machine_delete(reg->st, id, err);
	if (r < 0 && r != -ENOENT) {
		atomic_store(&mc->doomed, false);
		pthread_mutex_unlock(&mc->lock);
		pthread_rwlock_unlock(&reg->lock);
		return r;
	}
	memmove(&reg->v[pos], &reg->v[pos + 1], (reg->n - (size_t)pos - 1) * sizeof(*reg->v));
	reg->n--;
	reg->host_bytes -= mc->host_bytes;
	if (mc->state == MACHINE_UNLOADED)
		reg->n_unloaded--;
	restore_forget(reg, mc);
	pthread_rwlock_unlock(&reg->lock);
	pthread_mutex_unlock(&mc->lock);
	log_machine(LOG_LEVEL_INFO, mc->id, "machine %s deleted", mc->id);
	machine_free(mc);
	/* the frames only its snapshots had */
	if (store_gc(reg->st, &gc, &gc_err) < 0)
		log_warn("collecting frames after deleting machine %s: %s", id, gc_err.msg);
	return 0;
}

static int host_ids(void *data, json_t **ret, struct mm_error *err)
{
	struct registry *reg = data;
	json_t *arr = json_array();

	if (!arr)
		return api_error(err, -ENOMEM, "out of memory");
	pthread_rwlock_rdlock(&reg->lock);
	for (size_t i = 0; i < reg->n; i++) {
		if (json_array_append_new(arr, json_string(reg->v[i]->id))) {
			pthread_rwlock_unlock(&reg->lock);
			json_decref(arr);
			return api_error(err, -ENOMEM, "out of memory");
		}
	}
	pthread_rwlock_unlock(&reg->lock);
	*ret = arr;
	return 0;
}

static int host_acquire(void *data, const char *id, struct api_lease *ret, struct mm_error *err)
{
	struct registry *reg = data;
	struct machine *mc;
	long pos;

	pthread_rwlock_rdlock(&reg->lock);
	pos = find(reg, id);
	if (pos < 0) {
		pthread_rwlock_unlock(&reg->lock);
		return api_error(err, -ENOENT, "no machine '%.64s'", id);
	}
	mc = reg->v[pos];
	pthread_mutex_lock(&mc->lock);
	if (mc->state != MACHINE_RESTORING) {
		while (mc->reserved)
			pthread_cond_wait(&mc->cond, &mc->lock);
		pthread_rwlock_unlock(&reg->lock);
	} else {
		int r;

		/* wait for its restore without the registry lock; counted in @waiters, so that a
		 * deleter waits for us before it frees the machine */
		mc->waiters++;
		pthread_rwlock_unlock(&reg->lock);
		restore_want(reg, mc);
		r = wait_restored(mc, err);
		while (!r && mc->reserved)
			pthread_cond_wait(&mc->cond, &mc->lock);
		mc->waiters--;
		pthread_cond_broadcast(&mc->cond);
		if (!r && atomic_load(&mc->doomed))
			r = api_error(err, -ENOENT, "no machine '%.64s'", id);
		if (r < 0) {
			pthread_mutex_unlock(&mc->lock);
			return r;
		}
	}
	if (mc->state == MACHINE_UNLOADED) {
		int r = api_error(err, mc->unloaded_code, "machine '%.64s' is not loaded: %s", id,
				  mc->unloaded_why);

		pthread_mutex_unlock(&mc->lock);
		return r;
	}
	if (!mc->views)
		mc->views = api_view_cache_new(); /* NULL: no cache, answers rendered each time */
	*ret = (struct api_lease){.id = mc->id,
				  .m = mc->m,
				  .handle = mc,
				  .diverged = mc->diverged,
				  .version = {mc->generation, mc->next_seq - 1},
				  .cache = mc->views};
	return 0;
}

static int host_state(void *data, const char *id, const char **state, char *reason, size_t size)
{
	static const char *const names[] = {"ready", "restoring", "unloaded"};
	struct registry *reg = data;
	long pos;

	pthread_rwlock_rdlock(&reg->lock);
	pos = find(reg, id);
	if (pos >= 0) {
		struct machine *mc = reg->v[pos];

		int st = atomic_load(&mc->state); /* not its lock: a request may hold that */

		*state = names[st];
		snprintf(reason, size, "%s", st == MACHINE_UNLOADED ? mc->unloaded_why : "");
	}
	pthread_rwlock_unlock(&reg->lock);
	return pos >= 0 ? 0 : -ENOENT;
}

static void host_release(void *data, struct api_lease *lease)
{
	struct machine *mc = lease->handle;

	pthread_mutex_unlock(&mc->lock);
	lease->m = NULL;
	lease->handle = NULL;
}

/* Room for @n more entries in @mc's journal under max-session-commands? 0 or -EXFULL. */
static int session_room(struct registry *reg, const struct machine *mc, size_t n,
			struct mm_error *err)
{
	unsigned int cap = registry_max_session_commands(reg);

	int64_t held = mc->next_seq - 1 - mc->journal_start;

	if (cap && held + (int64_t)n > (int64_t)cap)
		return api_error(err, -EXFULL,
				 "machine '%s' has %lld commands in its journal; %zu more would go "
				 "over max-session-commands (%u): compact its journal behind a "
				 "snapshot (POST .../journal/compact), or start a new machine from "
				 "a snapshot of it",
				 mc->id, (long long)held, n, cap);
	return 0;
}

static int host_journal_room(void *data, struct api_lease *lease, size_t n, struct mm_error *err)
{
	(void)n; /* commands that fail or change nothing are not journaled: room for one */
	return session_room(data, lease->handle, 1, err);
}

static int host_journal_append(void *data, struct api_lease *lease,
			       const struct api_journal_batch *b, int64_t *ret_first_seq,
			       struct mm_error *err)
{
	struct registry *reg = data;
	struct machine *mc = lease->handle;
	char now[32];
	int r;

	/* max-session-commands: refused before anything is written (the transaction undoes) */
	r = session_room(reg, mc, b->n, err);
	if (r < 0)
		return r;
	if (b->time)
		snprintf(now, sizeof(now), "%s", b->time);
	else
		store_now(now);
	r = store_journal_append(reg->st, mc->id, mc->next_seq, (int64_t)b->n, now, b->commands,
				 b->commands_len, b->results, b->results_len, err);
	if (r < 0)
		return r;
	*ret_first_seq = mc->next_seq;
	mc->next_seq += (int64_t)b->n;
	return 0;
}

struct journal_list_ctx {
	json_t *arr;
	int64_t after; /* list the entries after this seq */
	size_t limit;  /* at most this many (0: all) */
	bool more;     /* one more was there */
};

static json_t *load_or_null(const struct api_json_span *sp)
{
	json_t *j = json_loadb(sp->text, sp->len, JSON_DECODE_ANY, NULL);

	return j ? j : json_null();
}

static int journal_list_batch(void *data, int64_t first_seq, int64_t n, const char *time,
			      const char *commands, size_t commands_len, const char *results,
			      size_t results_len)
{
	struct journal_list_ctx *ctx = data;
	struct api_json_span *c, *r;
	int ret = 0;

	if (api_txn_split_batch(n, commands, commands_len, results, results_len, &c, &r) < 0) {
		log_error("journal entries %lld..%lld are not %lld commands and results",
			  (long long)first_seq, (long long)(first_seq + n - 1), (long long)n);
		return 0;
	}
	for (int64_t i = 0; i < n && ret == 0; i++) {
		json_t *e;

		if (first_seq + i <= ctx->after)
			continue;
		if (ctx->limit && json_array_size(ctx->arr) == ctx->limit) {
			ctx->more = true;
			ret = 1; /* stop: the page is full */
			break;
		}
		e = json_pack("{s:I, s:s?, s:o, s:o}", "seq", (json_int_t)(first_seq + i), "time",
			      time, "command", load_or_null(&c[i]), "result", load_or_null(&r[i]));

		ret = e && !json_array_append_new(ctx->arr, e) ? 0 : -ENOMEM;
	}
	free(c);
	free(r);
	return ret;
}

static int host_journal_list(void *data, struct api_lease *lease, int64_t after, size_t limit,
			     json_t **ret, bool *ret_more, struct mm_error *err)
{
	struct registry *reg = data;
	struct machine *mc = lease->handle;
	struct journal_list_ctx ctx = {.arr = json_array(), .after = after, .limit = limit};
	int r;

	if (!ctx.arr)
		return api_error(err, -ENOMEM, "out of memory");
	r = store_journal_foreach(reg->st, mc->id, after, journal_list_batch, &ctx, err);
	if (r > 0)
		r = 0;
	*ret_more = ctx.more;
	if (r < 0) {
		json_decref(ctx.arr);
		return r == -ENOMEM ? api_error(err, r, "out of memory") : r;
	}
	*ret = ctx.arr;
	return 0;
}

static int host_journal_base(void *data, struct api_lease *lease, int64_t *ret_snapshot,
			     int64_t *ret_seq, struct mm_error *err)
{
	struct registry *reg = data;
	struct machine *mc = lease->handle;

	return store_journal_base(reg->st, mc->id, ret_snapshot, ret_seq, err);
}

static const struct api_exec_env *host_exec_env(void *data, struct api_lease *lease)
{
	struct machine *mc = lease->handle;

	return &mc->env;
}

static void host_machine_replace(void *data, struct api_lease *lease, struct mm_machine *m)
{
	struct machine *mc = lease->handle;

	mm_machine_destroy(mc->m);
	machine_set(mc, m);
	lease->m = m;
}

static void host_machine_state(void *data, const struct api_lease *lease, struct api_state_id *ret)
{
	struct registry *reg = data;
	const struct machine *mc = lease->handle;

	*ret = (struct api_state_id){
		.instance = reg->instance, .generation = mc->generation, .seq = mc->next_seq - 1};
}

static int stored_one(void *data, const struct store_machine *sm)
{
	struct stored *s = data;

	s->config = strdup(sm->config ? sm->config : "");
	s->base_snapshot = sm->base_snapshot;
	return s->config ? 0 : -ENOMEM;
}

/*
 * Rebuild the leased machine from the store (a journal append failed, or it is diverged): the
 * machine the journal holds replaces the one in memory. On failure it is marked diverged.
 */
static int host_machine_rebuild(void *data, struct api_lease *lease, struct mm_error *err)
{
	struct registry *reg = data;
	struct machine *mc = lease->handle;
	const struct api_exec_env env = {.snapshot_load = registry_replay_snapshot_load,
					 .data = reg};
	struct stored s = {.id = mc->id};
	struct rebuild_source src;
	struct rebuild rb;
	int r;

	r = store_machines_foreach(reg->st, mc->id, stored_one, &s, err);
	if (r == -ENOMEM)
		api_error(err, r, "out of memory");
	if (r == 0) {
		src = (struct rebuild_source){
			.id = mc->id, .config = s.config, .base_snapshot = s.base_snapshot};
		r = machine_rebuild(reg->st, &src, -1, &env, NULL, NULL, &rb, err);
	}
	free(s.config);
	if (r < 0) {
		mc->diverged = true;
		lease->diverged = true;
		log_machine(LOG_LEVEL_ERROR, mc->id,
			    "machine %s differs from its journal and could not be rebuilt: %s",
			    mc->id, err->msg);
		return r;
	}
	mm_machine_destroy(mc->m);
	machine_set(mc, rb.m);
	mc->next_seq = rb.next_seq;
	mc->diverged = false;
	lease->m = rb.m;
	lease->diverged = false;
	log_machine(LOG_LEVEL_WARN, mc->id,
		    "machine %s rebuilt from its journal (%lu command(s) after %s %lld)", mc->id,
		    rb.replayed, rb.from_snapshot ? "snapshot" : "seq",
		    (long long)(rb.from_snapshot ? rb.from_snapshot : rb.after));
	return 0;
}

static const struct api_host_ops registry_ops = {
	.machine_create = host_create,
	.machine_delete = host_delete,
	.machine_ids = host_ids,
	.machine_acquire = host_acquire,
	.machine_release = host_release,
	.journal_append = host_journal_append,
	.journal_list = host_journal_list,
	.exec_env = host_exec_env,
	.machine_replace = host_machine_replace,
	.machine_rebuild = host_machine_rebuild,
	.machine_clone = registry_clone,
	.machine_state = host_machine_state,
	.machine_status = host_state,
	.journal_room = host_journal_room,
	.journal_base = host_journal_base,
};

struct api_host registry_host(struct registry *reg)
{
	size_t n;
	const struct api_route *routes = daemon_routes(&n);

	return (struct api_host){.ops = &registry_ops, .data = reg, .routes = routes, .nroutes = n};
}

/* ---- start-up: re-create and replay ----------------------------------------------------- */

struct load_ctx {
	struct stored *v;
	size_t n, cap;
};

static int collect_machine(void *data, const struct store_machine *sm)
{
	struct load_ctx *ctx = data;

	if (ctx->n == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 8;
		struct stored *v = realloc(ctx->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ctx->v = v;
		ctx->cap = cap;
	}
	ctx->v[ctx->n].id = strdup(sm->id ? sm->id : "");
	ctx->v[ctx->n].config = strdup(sm->config ? sm->config : "");
	ctx->v[ctx->n].base_snapshot = sm->base_snapshot;
	if (!ctx->v[ctx->n].id || !ctx->v[ctx->n].config) {
		free(ctx->v[ctx->n].id);
		free(ctx->v[ctx->n].config);
		return -ENOMEM;
	}
	ctx->n++;
	return 0;
}

/* Bring @mc back (its restore thread): rebuilt from its store, then ready; or unloaded with
 * the reason when that fails (its charge given back). */
static void restore_one(struct registry *reg, struct machine *mc)
{
	const struct rebuild_source src = {
		.id = mc->id, .config = mc->config, .base_snapshot = mc->base_snapshot};
	const struct api_exec_env env = {.snapshot_load = registry_replay_snapshot_load,
					 .data = reg};
	struct mm_error e = {0};
	struct rebuild rb = {0};
	int64_t base, start = 0;
	int r = machine_rebuild(reg->st, &src, -1, &env, NULL, NULL, &rb, &e);

	/* where its journal starts: after the snapshot it was compacted behind, if it was */
	if (r == 0 && (r = store_journal_base(reg->st, mc->id, &base, &start, &e)) < 0) {
		mm_machine_destroy(rb.m);
		rb.m = NULL;
	}
	if (r < 0) {
		log_machine(LOG_LEVEL_ERROR, mc->id, "machine %s could not be restored: %s", mc->id,
			    e.msg);
		pthread_rwlock_wrlock(&reg->lock); /* the order: registry, then machine */
		pthread_mutex_lock(&mc->lock);
		snprintf(mc->unloaded_why, sizeof(mc->unloaded_why), "its restore failed: %.170s",
			 e.msg);
		mc->unloaded_code = -EIO;
		reg->host_bytes -= mc->host_bytes;
		mc->host_bytes = 0;
		reg->n_unloaded++;
		atomic_store(&mc->state, MACHINE_UNLOADED);
		pthread_cond_broadcast(&mc->cond);
		pthread_mutex_unlock(&mc->lock);
		pthread_rwlock_unlock(&reg->lock);
		return;
	}
	pthread_mutex_lock(&mc->lock);
	machine_set(mc, rb.m); /* a new generation: the views of its state start afresh */
	mc->next_seq = rb.next_seq;
	mc->journal_start = start;
	atomic_store(&mc->state, MACHINE_READY);
	pthread_cond_broadcast(&mc->cond);
	pthread_mutex_unlock(&mc->lock);
	if (rb.from_snapshot)
		log_machine(LOG_LEVEL_INFO, mc->id,
			    "machine %s restored: %lu command(s) replayed, %lu failed, %lu "
			    "mismatched (after snapshot %lld at seq %lld)",
			    mc->id, rb.replayed, rb.failed, rb.mismatched,
			    (long long)rb.from_snapshot, (long long)rb.after);
	else
		log_machine(LOG_LEVEL_INFO, mc->id,
			    "machine %s restored: %lu command(s) replayed, %lu failed, %lu "
			    "mismatched",
			    mc->id, rb.replayed, rb.failed, rb.mismatched);
}

/* The next machine to restore: one a request waits for, else the next in id order. */
static struct machine *restore_next(struct registry *reg)
{
	struct machine *mc = NULL;

	pthread_mutex_lock(&reg->rs.lock);
	while (!mc && reg->rs.nwanted) {
		mc = reg->rs.wanted[--reg->rs.nwanted];
		if (mc && mc->taken)
			mc = NULL;
	}
	while (!mc && reg->rs.next < reg->rs.n) {
		mc = reg->rs.order[reg->rs.next++];
		if (mc && mc->taken)
			mc = NULL;
	}
	if (mc)
		mc->taken = true;
	pthread_mutex_unlock(&reg->rs.lock);
	return mc;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The restore thread: every machine of the store, one after another, while the daemon
 * answers; systemd sees the progress in STATUS= (at most ten times a second). */
static void *restore_main(void *data)
{
	struct registry *reg = data;
	double t0 = now_s(), last = 0;
	struct machine *mc;
	size_t done = 0, unloaded;
	/* MM32_RESTORE_DELAY_MS: a pause before each restore, for the tests that must see a
	 * machine still being restored (tests/e2e/test_scale.py); never set in service */
	const char *delay = getenv("MM32_RESTORE_DELAY_MS");
	long delay_ms = delay ? strtol(delay, NULL, 10) : 0;

	while (!atomic_load(&reg->rs.stop) && (mc = restore_next(reg))) {
		for (long t = 0; t < delay_ms && !atomic_load(&reg->rs.stop); t += 10)
			nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
		restore_one(reg, mc);
		atomic_store(&reg->rs.done, ++done);
		if (now_s() - last >= 0.1) {
			last = now_s();
			service_notify("STATUS=Restoring machines: %zu of %zu", done, reg->rs.n);
		}
	}
	pthread_rwlock_rdlock(&reg->lock);
	unloaded = reg->n_unloaded;
	pthread_rwlock_unlock(&reg->lock);
	if (!atomic_load(&reg->rs.stop)) {
		service_notify("STATUS=Restored %zu machine(s) in %.1f s; %zu unloaded", done,
			       now_s() - t0, unloaded);
		log_info("restored %zu machine(s) in %.2f s in the background; %zu left unloaded",
			 done, now_s() - t0, unloaded);
	}
	return NULL;
}

/* Register stored machine @s: restoring when it fits the caps, else unloaded (the reason
 * shown in GET /v1/machines). Steals @s->config. */
static int register_stored(struct registry *reg, struct stored *s)
{
	struct machine *mc = machine_new(reg, s->id, NULL);
	struct mm_config *cfg = malloc(sizeof(*cfg));
	json_t *cj = json_loads(s->config ? s->config : "", 0, NULL);
	struct mm_error e = {0};
	char name[API_NAME_MAX];
	int r;

	if (!mc || !cfg) {
		free(cfg);
		json_decref(cj);
		machine_free(mc);
		return -ENOMEM;
	}
	mc->config = s->config;
	s->config = NULL;
	mc->base_snapshot = s->base_snapshot;
	r = cj ? api_machine_spec_parse_stored(cj, cfg, name, &e)
	       : api_error(&e, -EIO, "its configuration is not JSON");
	json_decref(cj);
	pthread_rwlock_wrlock(&reg->lock);
	if (r < 0) {
		mc->unloaded_code = -EIO;
		snprintf(mc->unloaded_why, sizeof(mc->unloaded_why),
			 "its configuration cannot be read: %.150s", e.msg);
	} else {
		mc->host_bytes = mm_config_host_bytes(cfg);
		r = fits_locked(reg, mc->host_bytes, &e);
		if (r < 0) {
			mc->unloaded_code = r;
			mc->host_bytes = 0;
			snprintf(mc->unloaded_why, sizeof(mc->unloaded_why),
				 "it does not fit the caps: %.160s", e.msg);
		}
	}
	free(cfg);
	atomic_store(&mc->state, r < 0 ? MACHINE_UNLOADED : MACHINE_RESTORING);
	if (find(reg, mc->id) >= 0 || insert(reg, mc) < 0) {
		pthread_rwlock_unlock(&reg->lock);
		machine_free(mc);
		return -ENOMEM;
	}
	if (r < 0) {
		reg->n_unloaded++;
	} else {
		reg->host_bytes += mc->host_bytes;
		reg->rs.order[reg->rs.n++] = mc;
	}
	pthread_rwlock_unlock(&reg->lock);
	if (r < 0)
		log_machine(LOG_LEVEL_WARN, mc->id, "machine %s left unloaded: %s", mc->id,
			    mc->unloaded_why);
	return 0;
}

int registry_load(struct registry *reg, struct mm_error *err)
{
	struct load_ctx ctx = {0};
	int r;

	r = store_machines_foreach(reg->st, NULL, collect_machine, &ctx, err);
	if (r == -ENOMEM)
		api_error(err, r, "out of memory");
	if (r == 0 && ctx.n) {
		reg->rs.order = calloc(ctx.n, sizeof(*reg->rs.order));
		reg->rs.wanted = calloc(ctx.n, sizeof(*reg->rs.wanted));
		if (!reg->rs.order || !reg->rs.wanted)
			r = api_error(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; r == 0 && i < ctx.n; i++) {
		if (!api_name_valid(ctx.v[i].id)) {
			log_machine(LOG_LEVEL_ERROR, ctx.v[i].id,
				    "machine %s could not be restored: invalid id", ctx.v[i].id);
			continue;
		}
		if (register_stored(reg, &ctx.v[i]) < 0)
			r = api_error(err, -ENOMEM, "out of memory");
		/* the start is not over until the machines are registered: systemd waits */
		if (i % 1000 == 999)
			service_notify("EXTEND_TIMEOUT_USEC=10000000\nSTATUS=Reading machines: %zu "
				       "of %zu",
				       i + 1, ctx.n);
	}
	for (size_t i = 0; i < ctx.n; i++) {
		free(ctx.v[i].id);
		free(ctx.v[i].config);
	}
	free(ctx.v);
	if (r == 0 && reg->rs.n) {
		if (pthread_create(&reg->rs.thread, NULL, restore_main, reg))
			return api_error(err, -ENOMEM, "cannot start the restore thread");
		reg->rs.started = true;
	}
	return r;
}
