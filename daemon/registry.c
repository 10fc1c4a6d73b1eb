/* SPDX-License-Identifier: MIT */
/*
 * registry.c - machines by id (see registry.h for locking and persistence).
 *
 * Machines live in an array kept sorted by id, so listing is ordered and lookup is a
 * binary search. A machine leaves the array only under the registry write lock and with
 * its own mutex held, so whoever holds a lease holds a live machine: the deleter waits
 * for the lease to be released before it destroys.
 *
 * The journal's next seq is kept per machine and only advanced after the entry was
 * committed; it is read and written under the machine's mutex.
 *
 * Replay re-creates a machine from its stored configuration, boot.stop_after included (a
 * machine created stopped at an early boot phase comes back stopped there), then re-runs
 * its journal: the boot_continue commands boot it further at the same points as before.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "problem.h"
#include "registry.h"

struct machine {
	char id[API_NAME_MAX];
	struct mm_machine *m;
	pthread_mutex_t lock;
	int64_t next_seq;
};

struct registry {
	pthread_rwlock_t lock;
	struct machine **v; /* sorted by id */
	size_t n, cap;
	struct store *st;
};

static void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

int registry_create(struct store *st, struct registry **ret, struct mm_error *err)
{
	struct registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return api_error(err, -ENOMEM, "out of memory");
	pthread_rwlock_init(&reg->lock, NULL);
	reg->st = st;
	*ret = reg;
	return 0;
}

static void machine_free(struct machine *mc)
{
	if (!mc)
		return;
	mm_machine_destroy(mc->m);
	pthread_mutex_destroy(&mc->lock);
	free(mc);
}

void registry_destroy(struct registry *reg)
{
	if (!reg)
		return;
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

static struct machine *machine_new(const char *id, struct mm_machine *m)
{
	struct machine *mc = calloc(1, sizeof(*mc));

	if (!mc)
		return NULL;
	snprintf(mc->id, sizeof(mc->id), "%s", id);
	mc->m = m;
	mc->next_seq = 1;
	pthread_mutex_init(&mc->lock, NULL);
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

/* ---- the api_host ----------------------------------------------------------------------- */

static int host_create(void *data, const char *name, const struct mm_config *cfg,
		       struct api_lease *ret, struct mm_error *err)
{
	struct registry *reg = data;
	json_auto_t *cj = NULL;
	_cleanup_free_ char *config = NULL;
	struct mm_machine *m = NULL;
	struct machine *mc = NULL;
	char id[API_NAME_MAX];
	int r;

	/* cheap early answer for the common duplicate; re-checked under the write lock */
	if (name[0] && registry_contains(reg, name))
		return api_error(err, -EEXIST, "a machine named '%s' already exists", name);
	r = mm_machine_create(cfg, &m, err);
	if (r < 0)
		return r;
	cj = api_config_to_json(mm_machine_config(m));
	config = cj ? json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!config) {
		mm_machine_destroy(m);
		return api_error(err, -ENOMEM, "out of memory");
	}

	pthread_rwlock_wrlock(&reg->lock);
	if (name[0]) {
		snprintf(id, sizeof(id), "%s", name);
		if (find(reg, id) >= 0) {
			r = api_error(err, -EEXIST, "a machine named '%s' already exists", name);
			goto fail;
		}
	} else {
		for (unsigned long k = 1;; k++) {
			snprintf(id, sizeof(id), "m%lu", k);
			if (find(reg, id) < 0)
				break;
		}
	}
	mc = machine_new(id, m);
	if (!mc) {
		r = api_error(err, -ENOMEM, "out of memory");
		goto fail;
	}
	r = store_machine_insert(reg->st, id, config, err);
	if (r < 0)
		goto fail;
	if (insert(reg, mc) < 0) {
		struct mm_error ignore;

		store_machine_delete(reg->st, id, &ignore);
		r = api_error(err, -ENOMEM, "out of memory");
		goto fail;
	}
	pthread_mutex_lock(&mc->lock);
	pthread_rwlock_unlock(&reg->lock);
	log_machine(LOG_LEVEL_INFO, id, "machine %s created (mem %llu, %s, %u cpu)", id,
		    (unsigned long long)cfg->mem, cfg->pae ? "pae" : "686", cfg->cpus);
	*ret = (struct api_lease){.id = mc->id, .m = mc->m, .handle = mc};
	return 0;
fail:
	pthread_rwlock_unlock(&reg->lock);
	if (mc)
		machine_free(mc);
	else
		mm_machine_destroy(m);
	return r;
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
	/* wait for the current lease holder; no new one can come while we hold the registry */
	pthread_mutex_lock(&mc->lock);
	r = store_machine_delete(reg->st, id, err);
	if (r < 0 && r != -ENOENT) {
		pthread_mutex_unlock(&mc->lock);
		pthread_rwlock_unlock(&reg->lock);
		return r;
	}
	memmove(&reg->v[pos], &reg->v[pos + 1], (reg->n - (size_t)pos - 1) * sizeof(*reg->v));
	reg->n--;
	pthread_rwlock_unlock(&reg->lock);
	pthread_mutex_unlock(&mc->lock);
	log_machine(LOG_LEVEL_INFO, mc->id, "machine %s deleted", mc->id);
	machine_free(mc);
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
	pthread_rwlock_unlock(&reg->lock);
	*ret = (struct api_lease){.id = mc->id, .m = mc->m, .handle = mc};
	return 0;
}

static void host_release(void *data, struct api_lease *lease)
{
	struct machine *mc = lease->handle;

	pthread_mutex_unlock(&mc->lock);
	lease->m = NULL;
	lease->handle = NULL;
}

static int host_journal_append(void *data, struct api_lease *lease,
			       const struct api_journal_batch *b, int64_t *ret_first_seq,
			       struct mm_error *err)
{
	struct registry *reg = data;
	struct machine *mc = lease->handle;
	char now[32];
	int r;

	store_now(now);
	r = store_journal_append(reg->st, mc->id, mc->next_seq, (int64_t)b->n, now, b->commands,
				 b->commands_len, b->results, b->results_len, err);
	if (r < 0)
		return r;
	*ret_first_seq = mc->next_seq;
	mc->next_seq += (int64_t)b->n;
	return 0;
}

/*
 * The commands and results of one stored batch, each as the text of its @n elements.
 * Return: 0 with *@ret_c and *@ret_r (free() both); -EINVAL when they are not two arrays
 * of @n elements.
 */
static int split_batch(int64_t n, const char *commands, size_t commands_len, const char *results,
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

struct journal_list_ctx {
	json_t *arr;
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

	if (split_batch(n, commands, commands_len, results, results_len, &c, &r) < 0) {
		log_error("journal entries %lld..%lld are not %lld commands and results",
			  (long long)first_seq, (long long)(first_seq + n - 1), (long long)n);
		return 0;
	}
	for (int64_t i = 0; i < n && ret == 0; i++) {
		json_t *e = json_pack("{s:I, s:s?, s:o, s:o}", "seq", (json_int_t)(first_seq + i),
				      "time", time, "command", load_or_null(&c[i]), "result",
				      load_or_null(&r[i]));

		ret = e && !json_array_append_new(ctx->arr, e) ? 0 : -ENOMEM;
	}
	free(c);
	free(r);
	return ret;
}

static int host_journal_list(void *data, struct api_lease *lease, json_t **ret,
			     struct mm_error *err)
{
	struct registry *reg = data;
	struct machine *mc = lease->handle;
	struct journal_list_ctx ctx = {.arr = json_array()};
	int r;

	if (!ctx.arr)
		return api_error(err, -ENOMEM, "out of memory");
	r = store_journal_foreach(reg->st, mc->id, journal_list_batch, &ctx, err);
	if (r < 0) {
		json_decref(ctx.arr);
		return r == -ENOMEM ? api_error(err, r, "out of memory") : r;
	}
	*ret = ctx.arr;
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
};

struct api_host registry_host(struct registry *reg)
{
	return (struct api_host){.ops = &registry_ops, .data = reg};
}

/* ---- start-up: re-create and replay ----------------------------------------------------- */

struct stored {
	char *id, *config;
};

struct load_ctx {
	struct stored *v;
	size_t n, cap;
};

static int collect_machine(void *data, const char *id, const char *config, const char *created)
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
	ctx->v[ctx->n].id = strdup(id ? id : "");
	ctx->v[ctx->n].config = strdup(config ? config : "");
	if (!ctx->v[ctx->n].id || !ctx->v[ctx->n].config) {
		free(ctx->v[ctx->n].id);
		free(ctx->v[ctx->n].config);
		return -ENOMEM;
	}
	ctx->n++;
	return 0;
}

struct replay_ctx {
	struct machine *mc;
	unsigned long replayed, mismatched, failed;
};

/* Does @got say what the journal says (@want)? Byte for byte, or as JSON values (a journal
 * written by an older mm32d may format its results differently). */
static bool same_result(const struct api_text *got, const struct api_json_span *want)
{
	json_t *a, *b;
	bool same;

	if (got->len == want->len && !memcmp(got->data, want->text, want->len))
		return true;
	a = json_loadb(got->data ? got->data : "", got->len, JSON_DECODE_ANY, NULL);
	b = json_loadb(want->text, want->len, JSON_DECODE_ANY, NULL);
	same = a && b && json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return same;
}

static int replay_batch(void *data, int64_t first_seq, int64_t n, const char *time,
			const char *commands, size_t commands_len, const char *results,
			size_t results_len)
{
	struct replay_ctx *ctx = data;
	struct api_json_span *c, *r;
	struct api_text got = {0};

	ctx->mc->next_seq = first_seq + (n > 0 ? n : 1);
	if (split_batch(n, commands, commands_len, results, results_len, &c, &r) < 0) {
		log_machine(LOG_LEVEL_ERROR, ctx->mc->id,
			    "machine %s: journal entries %lld..%lld are not %lld commands and "
			    "results; skipped",
			    ctx->mc->id, (long long)first_seq, (long long)(first_seq + n - 1),
			    (long long)n);
		ctx->failed += n > 0 ? (unsigned long)n : 1;
		return 0;
	}
	for (int64_t i = 0; i < n; i++) {
		struct mm_error err = {0};
		bool journaled = false;

		got.len = 0;
		/* a command that failed after it changed the machine is journaled with its
		 * error as the result: it fails again here, and the errors are compared */
		if (api_command_exec_text(ctx->mc->m, c[i].text, c[i].len, &got, &journaled, &err) <
			    0 &&
		    !journaled) {
			log_machine(LOG_LEVEL_ERROR, ctx->mc->id,
				    "machine %s: replaying journal entry %lld failed: %s",
				    ctx->mc->id, (long long)(first_seq + i), err.msg);
			ctx->failed++;
			continue;
		}
		ctx->replayed++;
		if (!same_result(&got, &r[i])) {
			log_machine(
				LOG_LEVEL_WARN, ctx->mc->id,
				"machine %s: journal entry %lld replayed to a different result: "
				"%.*s instead of %.*s",
				ctx->mc->id, (long long)(first_seq + i),
				(int)(got.len > 200 ? 200 : got.len), got.data ? got.data : "",
				(int)(r[i].len > 200 ? 200 : r[i].len), r[i].text);
			ctx->mismatched++;
		}
	}
	api_text_free(&got);
	free(c);
	free(r);
	return 0;
}

static int load_machine(struct registry *reg, const struct stored *s, struct mm_error *err)
{
	json_auto_t *cj = NULL;
	_cleanup_free_ struct mm_config *cfg = malloc(sizeof(*cfg));
	struct replay_ctx ctx = {0};
	json_error_t jerr;
	char name[API_NAME_MAX];
	struct mm_machine *m;
	int r;

	if (!cfg)
		return api_error(err, -ENOMEM, "out of memory");
	cj = json_loads(s->config, 0, &jerr);
	if (!cj)
		return api_error(err, -EINVAL, "stored config is not JSON: %s", jerr.text);
	r = api_machine_spec_parse(cj, cfg, name, err);
	if (r < 0)
		return r;
	r = mm_machine_create(cfg, &m, err);
	if (r < 0)
		return r;
	ctx.mc = machine_new(s->id, m);
	if (!ctx.mc) {
		mm_machine_destroy(m);
		return api_error(err, -ENOMEM, "out of memory");
	}
	r = store_journal_foreach(reg->st, s->id, replay_batch, &ctx, err);
	if (r < 0)
		goto fail;
	pthread_rwlock_wrlock(&reg->lock);
	r = find(reg, s->id) >= 0 ? -EEXIST : insert(reg, ctx.mc);
	pthread_rwlock_unlock(&reg->lock);
	if (r < 0) {
		api_error(err, r, "cannot register");
		goto fail;
	}
	log_machine(LOG_LEVEL_INFO, s->id,
		    "machine %s restored: %lu command(s) replayed, %lu failed, %lu mismatched",
		    s->id, ctx.replayed, ctx.failed, ctx.mismatched);
	return 0;
fail:
	machine_free(ctx.mc);
	return r;
}

int registry_load(struct registry *reg, struct mm_error *err)
{
	struct load_ctx ctx = {0};
	int r;

	r = store_machines_foreach(reg->st, collect_machine, &ctx, err);
	if (r == -ENOMEM)
		api_error(err, r, "out of memory");
	for (size_t i = 0; r == 0 && i < ctx.n; i++) {
		struct mm_error e = {0};

		if (!api_name_valid(ctx.v[i].id) || load_machine(reg, &ctx.v[i], &e) < 0)
			log_machine(LOG_LEVEL_ERROR, ctx.v[i].id,
				    "machine %s could not be restored: %s", ctx.v[i].id,
				    e.msg[0] ? e.msg : "invalid id");
	}
	for (size_t i = 0; i < ctx.n; i++) {
		free(ctx.v[i].id);
		free(ctx.v[i].config);
	}
	free(ctx.v);
	return r;
}
