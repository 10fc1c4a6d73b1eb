/* SPDX-License-Identifier: MIT */
/*
 * viewcache.c - views rendered once per state (see viewcache.h): a small array of answers per
 * machine, all of one state version, searched linearly (at most API_VIEW_CACHE_ENTRIES) and
 * emptied as a whole when the version moves.
 */
#include <stdlib.h>
#include <string.h>

#include "viewcache.h"

struct entry {
	char *key;
	char *body;
	size_t len;
	const char *ctype;
	uint64_t used; /* the tick of its last hit or put: the smallest goes first */
};

struct api_view_cache {
	struct api_state_version v; /* of every entry */
	struct entry e[API_VIEW_CACHE_ENTRIES];
	size_t n, bytes;
	uint64_t tick, hits, misses;
};

struct api_view_cache *api_view_cache_new(void)
{
	return calloc(1, sizeof(struct api_view_cache));
}

static void drop(struct api_view_cache *vc, size_t i)
{
	vc->bytes -= vc->e[i].len;
	free(vc->e[i].key);
	free(vc->e[i].body);
	vc->e[i] = vc->e[--vc->n];
	memset(&vc->e[vc->n], 0, sizeof(vc->e[vc->n]));
}

static void clear(struct api_view_cache *vc)
{
	while (vc->n)
		drop(vc, vc->n - 1);
}

void api_view_cache_free(struct api_view_cache *vc)
{
	if (!vc)
		return;
	clear(vc);
	free(vc);
}

/* Empty it when @v is not the version of its entries. */
static void at_version(struct api_view_cache *vc, struct api_state_version v)
{
	if (vc->v.generation == v.generation && vc->v.seq == v.seq)
		return;
	clear(vc);
	vc->v = v;
}

bool api_view_cache_get(struct api_view_cache *vc, struct api_state_version v, const char *key,
			char **ret, size_t *ret_len, const char **ret_ctype)
{
	at_version(vc, v);
	for (size_t i = 0; i < vc->n; i++) {
		struct entry *e = &vc->e[i];
		char *copy;

		if (strcmp(e->key, key))
			continue;
		copy = malloc(e->len ? e->len : 1);
		if (!copy)
			break;
		memcpy(copy, e->body, e->len);
		e->used = ++vc->tick;
		vc->hits++;
		*ret = copy;
		*ret_len = e->len;
		*ret_ctype = e->ctype;
		return true;
	}
	vc->misses++;
	return false;
}

void api_view_cache_put(struct api_view_cache *vc, struct api_state_version v, const char *key,
			const char *body, size_t len, const char *ctype)
{
	struct entry e = {.len = len, .ctype = ctype};

	if (len > API_VIEW_CACHE_MAX_BYTES)
		return;
	at_version(vc, v);
	for (size_t i = 0; i < vc->n; i++)
		if (!strcmp(vc->e[i].key, key)) {
			drop(vc, i);
			break;
		}
	/* room: the least recently used answers go */
	while (vc->n &&
	       (vc->n == API_VIEW_CACHE_ENTRIES || vc->bytes + len > API_VIEW_CACHE_BUDGET)) {
		size_t lru = 0;

		for (size_t i = 1; i < vc->n; i++)
			if (vc->e[i].used < vc->e[lru].used)
				lru = i;
		drop(vc, lru);
	}
	e.key = strdup(key);
	e.body = malloc(len ? len : 1);
	if (!e.key || !e.body) {
		free(e.key);
		free(e.body);
		return;
	}
	memcpy(e.body, body, len);
	e.used = ++vc->tick;
	vc->e[vc->n++] = e;
	vc->bytes += len;
}

void api_view_cache_counts(const struct api_view_cache *vc, uint64_t *hits, uint64_t *misses)
{
	*hits = vc ? vc->hits : 0;
	*misses = vc ? vc->misses : 0;
}
