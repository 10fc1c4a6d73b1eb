/* SPDX-License-Identifier: MIT */
/*
 * templates.c - the template cache behind machine_boot() (see templates.h).
 *
 * A miss boots the configuration from scratch, makes that machine the template
 * (mm_machine_share(): its frames move into a sealed memory file) and hands out a clone of
 * it; a hit only clones. Two creates of one new configuration at once both boot; the second
 * to finish finds the first's template and keeps its own machine as it is (a scratch boot
 * is what a clone is anyway). Cloning reads the template under the mutex, so eviction never
 * frees a template being cloned.
 */
#include "templates.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct template
{
	struct mm_machine *m;
	uint64_t bytes;	   /* mm_config_host_bytes() */
	uint64_t last_use; /* tick of the last clone */
};

static struct {
	pthread_mutex_t lock;
	struct template v[TEMPLATES_MAX];
	unsigned int n;
	uint64_t bytes, tick, boots, clones;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* MM32_TEMPLATES=0 in the environment: every machine booted from scratch (the reference of
 * bench/http-machines.c, and a way out should a host refuse memory files). */
static bool templates_on(void)
{
	const char *v = getenv("MM32_TEMPLATES");

	return !v || strcmp(v, "0");
}

static struct template *find_locked(const struct mm_config *cfg)
{
	for (unsigned int i = 0; i < cache.n; i++)
		if (mm_config_same(mm_machine_config(cache.v[i].m), cfg))
			return &cache.v[i];
	return NULL;
}

static void drop_locked(unsigned int i)
{
	mm_machine_destroy(cache.v[i].m);
	cache.bytes -= cache.v[i].bytes;
	cache.v[i] = cache.v[--cache.n];
}

/* Room for @bytes more: the least recently used go first. */
static void make_room_locked(uint64_t bytes)
{
	while (cache.n && (cache.n >= TEMPLATES_MAX || cache.bytes + bytes > TEMPLATES_MAX_BYTES)) {
		unsigned int lru = 0;

		for (unsigned int i = 1; i < cache.n; i++)
			if (cache.v[i].last_use < cache.v[lru].last_use)
				lru = i;
		drop_locked(lru);
	}
}

static int clone_locked(struct template *t, struct mm_machine **ret, struct mm_error *err)
{
	int r = mm_machine_clone(t->m, NULL, ret, err);

	if (!r) {
		t->last_use = ++cache.tick;
		cache.clones++;
	}
	return r;
}

int machine_boot(const struct mm_config *cfg, struct mm_machine **ret, struct mm_error *err)
{
	struct mm_machine *m = NULL, *c = NULL;
	struct template *t;
	uint64_t bytes = mm_config_host_bytes(cfg);
	int r;

	if (cfg->stop_after != MM_PHASE_BUDDY || bytes > TEMPLATE_MAX_ONE_BYTES || !templates_on())
		return mm_machine_create(cfg, ret, err);
	pthread_mutex_lock(&cache.lock);
	t = find_locked(cfg);
	if (t) {
		r = clone_locked(t, ret, err);
		pthread_mutex_unlock(&cache.lock);
		return r;
	}
	pthread_mutex_unlock(&cache.lock);

	r = mm_machine_create(cfg, &m, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&cache.lock);
	cache.boots++;
	if (find_locked(cfg) || mm_machine_share(m, NULL) < 0) {
		/* another create made it meanwhile, or no memory file: a scratch boot it is */
		pthread_mutex_unlock(&cache.lock);
		*ret = m;
		return 0;
	}
	make_room_locked(bytes);
	t = &cache.v[cache.n++];
	*t = (struct template){.m = m, .bytes = bytes};
	cache.bytes += bytes;
	r = clone_locked(t, &c, err);
	pthread_mutex_unlock(&cache.lock);
	if (r < 0)
		return r;
	*ret = c;
	return 0;
}

void templates_stats(struct templates_stats *out)
{
	pthread_mutex_lock(&cache.lock);
	*out = (struct templates_stats){cache.n, cache.bytes, cache.boots, cache.clones};
	pthread_mutex_unlock(&cache.lock);
}

void templates_clear(void)
{
	pthread_mutex_lock(&cache.lock);
	while (cache.n)
		drop_locked(cache.n - 1);
	pthread_mutex_unlock(&cache.lock);
}
