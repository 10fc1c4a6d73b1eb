/* SPDX-License-Identifier: MIT */
/*
 * viewcache.h - views rendered once per state: a machine's /proc texts and JSON views, kept
 * as the bytes of their answer and served again while the machine has not changed.
 *
 * What it is for: a class reading /proc/zoneinfo of one machine a hundred times between two
 * commands pays for one rendering. A view is a function of the machine's state, and the
 * state is named by its version, struct api_state_version: the host's generation of the
 * machine (new with every struct mm_machine the host puts behind the id: a creation, a
 * delete and re-create under the same id, a snapshot_restore, a rebuild after a failed
 * commit) and the seq of its last journal entry (every command that changed it). The same
 * version is the same state, so the same bytes; the dashboard's ETag is that pair too.
 *
 * Invariants: an entry is served only for the version it was rendered at (a lookup at
 * another version empties the cache first); only 200 answers of routes marked .cache are
 * kept (views that read the machine alone, nothing of the store or the clock); the cache of
 * one machine holds at most API_VIEW_CACHE_ENTRIES answers of API_VIEW_CACHE_MAX_BYTES
 * each, API_VIEW_CACHE_BUDGET bytes in all (the least recently used goes first).
 *
 * Locking: none of its own; the caller holds the machine's lease (its lock).
 */
#ifndef API_VIEWCACHE_H
#define API_VIEWCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_VIEW_CACHE_ENTRIES 16
#define API_VIEW_CACHE_MAX_BYTES (64u << 10)
#define API_VIEW_CACHE_BUDGET (256u << 10)

/* The version of a machine's state: equal versions, equal states. */
struct api_state_version {
	uint64_t generation; /* the host's: a new struct mm_machine behind the id */
	int64_t seq;	     /* its last journal entry (0: none) */
};

struct api_view_cache;

struct api_view_cache *api_view_cache_new(void);
void api_view_cache_free(struct api_view_cache *vc); /* accepts NULL */

/*
 * api_view_cache_get - the answer kept for @key (a request's path, query and Accept) at
 * version @v: a malloc'd copy of its bytes in *@ret (free() it), its length and its
 * Content-Type (static storage). Return: true on a hit.
 */
bool api_view_cache_get(struct api_view_cache *vc, struct api_state_version v, const char *key,
			char **ret, size_t *ret_len, const char **ret_ctype);
/* Keep @len bytes of @body (copied) as the answer for @key at version @v; nothing when it is
 * larger than API_VIEW_CACHE_MAX_BYTES or memory runs out. */
void api_view_cache_put(struct api_view_cache *vc, struct api_state_version v, const char *key,
			const char *body, size_t len, const char *ctype);

/* Hits and misses since it was made, for tests and /metrics. */
void api_view_cache_counts(const struct api_view_cache *vc, uint64_t *hits, uint64_t *misses);

#endif /* API_VIEWCACHE_H */
