/* SPDX-License-Identifier: MIT */
/*
 * store-snap.c - snapshots and their frames in SQLite (see store.h, schema/003_snapshots.sql).
 *
 * The frame map of a snapshot: for each non-zero frame in ascending pfn order, two unsigned
 * LEB128 varints, the pfn minus (the previous pfn + 1) and the zigzag-encoded difference of
 * its frames.id to the previous one; the whole zstd-compressed. Runs of consecutive frames
 * whose contents were stored together are runs of (0, 2) pairs, which zstd shrinks to
 * almost nothing, so an unchanged snapshot costs little more than its state.
 *
 * The writer keeps the frames it has not written yet in memory (up to FLUSH_BYTES) and writes
 * them in one transaction each time that fills up. A hash table holds the frames it added
 * and, when the store is not much bigger than the snapshot, every frame of the store (read
 * once from the hash index), so that most lookups never reach SQLite. It numbers new frames
 * itself from max(id) + 1: it holds the snapshot lock, the only way frames are added or
 * deleted, so nobody else takes those ids.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "problem.h"
#include "store-int.h"

#define FLUSH_BYTES (4u << 20)
#define FLUSH_FRAMES 2048u
#define MAP_ZSTD_LEVEL 3
#define GC_CHUNK 4096

/* ---- the frame map ----------------------------------------------------------------------- */

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static bool bytes_reserve(struct bytes *b, size_t n)
{
	if (b->len + n <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;

	while (cap < b->len + n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);

	if (!p)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

static void put_varint(struct bytes *b, uint64_t v)
{
	while (v >= 0x80) {
		b->p[b->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (uint8_t)v;
}

static bool get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *ret)
{
	uint64_t v = 0;

	for (unsigned int shift = 0; shift < 64; shift += 7) {
		if (*pos >= len)
			return false;
		uint8_t c = p[(*pos)++];

		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* A map iterator over a decompressed map. */
struct map_iter {
	const uint8_t *p;
	size_t len, pos;
	int64_t left;
	uint64_t next_pfn;
	int64_t prev_id;
};

/* 1 with the next entry, 0 at the end, -1 when the map is corrupt. */
static int map_next(struct map_iter *it, uint64_t *pfn, int64_t *id)
{
	uint64_t dp, dz;

	if (it->left == 0)
		return it->pos == it->len ? 0 : -1;
	if (!get_varint(it->p, it->len, &it->pos, &dp) ||
	    !get_varint(it->p, it->len, &it->pos, &dz))
		return -1;
	*pfn = it->next_pfn + dp;
	it->next_pfn = *pfn + 1;
	it->prev_id += unzigzag(dz);
	*id = it->prev_id;
	it->left--;
	return *id > 0 ? 1 : -1;
}

/* Decompress a stored map; *@ret malloc'd (NULL for an empty one). */
static int map_decompress(const void *z, size_t zlen, uint8_t **ret, size_t *ret_len,
			  struct mm_error *err)
{
	unsigned long long n = ZSTD_getFrameContentSize(z, zlen);
	uint8_t *p;
	size_t got;

	if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR || n > (1ull << 34))
		return api_error(err, -EIO, "a snapshot's frame map is corrupt");
	p = malloc(n ? (size_t)n : 1);
	if (!p)
		return api_error(err, -ENOMEM, "out of memory reading a frame map");
	got = ZSTD_decompress(p, (size_t)n, z, zlen);
	if (ZSTD_isError(got) || got != n) {
		free(p);
		return api_error(err, -EIO, "a snapshot's frame map is corrupt");
	}
	*ret = p;
	*ret_len = (size_t)n;
	return 0;
}

/* ---- snapshot rows ------------------------------------------------------------------------ */

#define SNAPSHOT_COLUMNS                                                                           \
	"id, machine_id, seq, created_at, label, config, format, state_hash, state_size, "         \
	"length(state), nr_frames, length(frame_map), new_frames, new_frame_bytes, deleted, "      \
	"(SELECT count(*) FROM snapshot_uses u WHERE u.snapshot_id = s.id)"

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
	snprintf(dst, size, "%s", src ? (const char *)src : "");
}

/* The row @s (SNAPSHOT_COLUMNS) as @ret; -ENOMEM. */
static int snapshot_row(sqlite3_stmt *s, struct store_snapshot *ret, bool with_config)
{
	memset(ret, 0, sizeof(*ret));
	ret->id = sqlite3_column_int64(s, 0);
	copy_text(ret->machine_id, sizeof(ret->machine_id), sqlite3_column_text(s, 1));
	ret->seq = sqlite3_column_int64(s, 2);
	copy_text(ret->created_at, sizeof(ret->created_at), sqlite3_column_text(s, 3));
	copy_text(ret->label, sizeof(ret->label), sqlite3_column_text(s, 4));
	if (with_config) {
		const unsigned char *c = sqlite3_column_text(s, 5);

		ret->config = strdup(c ? (const char *)c : "");
		if (!ret->config)
			return -ENOMEM;
	}
	ret->format = sqlite3_column_int(s, 6);
	copy_text(ret->state_hash, sizeof(ret->state_hash), sqlite3_column_text(s, 7));
	ret->state_size = sqlite3_column_int64(s, 8);
	ret->state_bytes = sqlite3_column_int64(s, 9);
	ret->nr_frames = sqlite3_column_int64(s, 10);
	ret->map_bytes = sqlite3_column_int64(s, 11);
	ret->new_frames = sqlite3_column_int64(s, 12);
	ret->new_frame_bytes = sqlite3_column_int64(s, 13);
	ret->deleted = sqlite3_column_int(s, 14) != 0;
	ret->uses = sqlite3_column_int64(s, 15);
	return 0;
}

void store_snapshot_finish(struct store_snapshot *s)
{
	if (!s)
		return;
	free(s->config);
	s->config = NULL;
}

/* One snapshot by a query whose parameters are bound by @bind; -ENOENT when none. */
static int snapshot_query(struct store *st, const char *sql, int64_t a, const char *b,
			  struct store_snapshot *ret, struct mm_error *err, const char *what)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = 0, rc;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 1, a) != SQLITE_OK ||
	    (b && sqlite3_bind_text(s, 2, b, -1, SQLITE_TRANSIENT) != SQLITE_OK)) {
		r = store_db_error(st->db, err, what);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = snapshot_row(s, ret, true) < 0 ? api_error(err, -ENOMEM, "out of memory") : 0;
	else if (rc == SQLITE_DONE)
		r = -ENOENT;
	else
		r = store_db_error(st->db, err, what);
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_snapshot_get(struct store *st, int64_t id, struct store_snapshot *ret,
		       struct mm_error *err)
{
	int r = snapshot_query(st, "SELECT " SNAPSHOT_COLUMNS " FROM snapshots s WHERE id = ?1", id,
			       NULL, ret, err, "reading a snapshot");

	return r == -ENOENT ? api_error(err, r, "no snapshot %lld", (long long)id) : r;
}

int store_snapshot_latest(struct store *st, const char *machine_id, int64_t max_seq,
			  struct store_snapshot *ret, struct mm_error *err)
{
	int r = snapshot_query(st,
			       "SELECT " SNAPSHOT_COLUMNS " FROM snapshots s WHERE machine_id = ?2 "
			       "AND deleted = 0 AND (?1 < 0 OR seq <= ?1) "
			       "ORDER BY seq DESC, id DESC LIMIT 1",
			       max_seq, machine_id, ret, err, "finding a snapshot");

	return r == -ENOENT ? api_error(err, r, "machine '%s' has no snapshot", machine_id) : r;
}

int store_snapshot_count(struct store *st, const char *machine_id, int64_t *ret,
			 struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = 0;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(
		    st->db, "SELECT count(*) FROM snapshots WHERE machine_id = ?1 AND deleted = 0",
		    -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		r = store_db_error(st->db, err, "counting snapshots");
	else
		*ret = sqlite3_column_int64(s, 0);
	sqlite3_reset(s); /* no read transaction left open (a later BEGIN IMMEDIATE) */
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_snapshots_foreach(struct store *st, const char *machine_id, store_snapshot_fn *fn,
			    void *data, struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = 0, rc;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT " SNAPSHOT_COLUMNS " FROM snapshots s WHERE machine_id = ?1 "
			       "AND deleted = 0 ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, machine_id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = store_db_error(st->db, err, "listing snapshots");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_snapshot snap;

		if (snapshot_row(s, &snap, true) < 0) {
			r = api_error(err, -ENOMEM, "out of memory");
			goto out;
		}
		r = fn(data, &snap);
		store_snapshot_finish(&snap);
		if (r < 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = store_db_error(st->db, err, "listing snapshots");
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_snapshot_delete(struct store *st, const char *machine_id, int64_t id, bool *ret_retained,
			  struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *mark = NULL, *left = NULL, *base = NULL;
	int r = 0;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = store_db_error(st->db, err, "deleting the snapshot");
		goto out;
	}
	/* the base of a compacted journal: what came before it is nowhere else */
	if (sqlite3_prepare_v2(st->db,
			       "SELECT m.id, s.seq FROM machines m JOIN snapshots s "
			       "ON s.id = m.journal_base WHERE m.journal_base = ?1",
			       -1, &base, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(base, 1, id) != SQLITE_OK) {
		r = store_db_error(st->db, err, "deleting the snapshot");
		goto rollback;
	}
	if (sqlite3_step(base) == SQLITE_ROW) {
		r = api_error(err, -EBUSY,
			      "snapshot %lld is the base of machine '%.64s''s journal, compacted "
			      "behind it at seq %lld (the entries before are gone): it cannot be "
			      "deleted while that machine exists",
			      (long long)id, (const char *)sqlite3_column_text(base, 0),
			      (long long)sqlite3_column_int64(base, 1));
		goto rollback;
	}
	sqlite3_reset(base);
	if (sqlite3_prepare_v2(st->db,
			       "UPDATE snapshots SET deleted = 1 "
			       "WHERE id = ?1 AND machine_id = ?2 AND deleted = 0",
			       -1, &mark, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(mark, 1, id) != SQLITE_OK ||
	    sqlite3_bind_text(mark, 2, machine_id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(mark) != SQLITE_DONE) {
		r = store_db_error(st->db, err, "deleting the snapshot");
		goto rollback;
	}
	if (!sqlite3_changes(st->db)) {
		r = api_error(err, -ENOENT, "machine '%.64s' has no snapshot %lld", machine_id,
			      (long long)id);
		goto rollback;
	}
	r = store_purge_snapshots_locked(st, err);
	if (r)
		goto rollback;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM snapshots WHERE id = ?1", -1, &left, NULL) !=
		    SQLITE_OK ||
	    sqlite3_bind_int64(left, 1, id) != SQLITE_OK) {
		r = store_db_error(st->db, err, "deleting the snapshot");
		goto rollback;
	}
	*ret_retained = sqlite3_step(left) == SQLITE_ROW;
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = store_db_error(st->db, err, "deleting the snapshot");
		goto rollback;
	}
	goto out;
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* ---- writing ----------------------------------------------------------------------------- */

struct pending {
	int64_t id;
	size_t off, len; /* in the writer's @buf */
	uint8_t hash[16];
};

/* A frame the writer knows: its content hash and id. */
struct known {
	uint8_t hash[16];
	int64_t id; /* 0: an empty slot */
};

struct store_snap_writer {
	struct store *st;
	sqlite3_stmt *insert, *insert_key;
	int64_t first_id, next_id; /* the ids this writer gives: first_id .. next_id - 1 */
	struct pending *pend;
	size_t npend;
	struct bytes buf; /* the pending frames' bytes */
	/* every frame of the store and those it added, by hash */
	struct known *tab;
	size_t tabcap, tabn; /* tabcap a power of two */
	struct bytes map;    /* the map as it grows */
	uint64_t next_pfn;   /* the pfn after the last mapped one */
	int64_t prev_id;
	int64_t nr_frames, new_frames, new_frame_bytes;
	bool committed;
};

static void on_snap_wal(void *data);

static int snap_wal_hook(void *data, sqlite3 *db, const char *name, int pages)
{
	if (pages >= STORE_CKPT_PAGES)
		on_snap_wal(data);
	return SQLITE_OK;
}

static void on_snap_wal(void *data)
{
	store_checkpoint_wanted(data);
}

/*
 * The snapshot connection writes frames with synchronous=NORMAL in both files: a batch of
 * frames reaches the disk with the next sync of its file's WAL. The snapshot row's own commit
 * (with the store's mode) syncs the main file's WAL only, since the frames are in a file of
 * their own: so before it, frames_sync() makes the frames' WAL durable with one write of its
 * own (fr's user_version, a commit of synchronous=FULL), so that a snapshot on the disk never
 * maps a frame that is not.
 */
static int frames_sync(sqlite3 *db, struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	char sql[96];
	int64_t v = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA fr.user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	snprintf(sql, sizeof(sql),
		 "PRAGMA fr.synchronous = FULL; BEGIN IMMEDIATE; PRAGMA fr.user_version = %d; "
		 "COMMIT",
		 (int)((v + 1) & 0x3fffffff));
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		int r = store_db_error(db, err, "syncing the snapshot's frames");

		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return 0;
}

static int snap_db(struct store *st, struct mm_error *err)
{
	int r;

	if (st->snap_db)
		return 0;
	r = store_reader_open(st, &st->snap_db, err);
	if (r < 0)
		return r;
	/* the frames' transactions need not reach the disk one by one: the snapshot's own
	 * commit syncs the WAL, and with it every frame before it. The WAL is copied into the
	 * database by the checkpointer thread, never by the snapshot */
	sqlite3_wal_autocheckpoint(st->snap_db, 0);
	sqlite3_wal_hook(st->snap_db, snap_wal_hook, st);
	if (store_apply_sync(st->snap_db, STORE_SYNC_NORMAL) < 0) {
		r = store_db_error(st->snap_db, err, "opening the snapshot connection");
		sqlite3_close(st->snap_db);
		st->snap_db = NULL;
	}
	return r;
}

static size_t slot_of(const uint8_t hash[16], size_t cap)
{
	uint64_t h;

	memcpy(&h, hash + 8, sizeof(h)); /* XXH3-128's low half: well mixed */
	return (size_t)h & (cap - 1);
}

static struct known *tab_find(struct store_snap_writer *w, const uint8_t hash[16])
{
	for (size_t i = slot_of(hash, w->tabcap);; i = (i + 1) & (w->tabcap - 1)) {
		struct known *k = &w->tab[i];

		if (!k->id || !memcmp(k->hash, hash, 16))
			return k;
	}
}

static bool tab_add(struct store_snap_writer *w, const uint8_t hash[16], int64_t id)
{
	struct known *k;

	if ((w->tabn + 1) * 2 > w->tabcap) {
		struct known *old = w->tab;
		size_t oldcap = w->tabcap, cap = oldcap ? oldcap * 2 : 4096;

		w->tab = calloc(cap, sizeof(*w->tab));
		if (!w->tab) {
			w->tab = old;
			return false;
		}
		w->tabcap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].id)
				*tab_find(w, old[i].hash) = old[i];
		free(old);
	}
	k = tab_find(w, hash);
	if (!k->id) {
		memcpy(k->hash, hash, 16);
		k->id = id;
		w->tabn++;
	}
	return true;
}

/* Every frame of the store into the table: frame_keys read once, no lookup per frame. */
static int preload(struct store_snap_writer *w, struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	sqlite3 *db = w->st->snap_db;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT hash, id FROM frame_keys", -1, &s, NULL) != SQLITE_OK)
		return store_db_error(db, err, "reading the frames' hashes");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) != 16)
			continue;
		if (!tab_add(w, sqlite3_column_blob(s, 0), sqlite3_column_int64(s, 1)))
			return api_error(err, -ENOMEM, "out of memory");
	}
	if (rc != SQLITE_DONE)
		return store_db_error(db, err, "reading the frames' hashes");
	return 0;
}

int store_snap_writer_begin(struct store *st, int64_t hint, struct store_snap_writer **ret,
			    struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct store_snap_writer *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return api_error(err, -ENOMEM, "out of memory");
	w->st = st;
	w->pend = calloc(FLUSH_FRAMES, sizeof(*w->pend));
	if (!w->pend) {
		free(w);
		return api_error(err, -ENOMEM, "out of memory");
	}
	pthread_mutex_lock(&st->snap_lock);
	r = snap_db(st, err);
	if (r < 0)
		goto fail;
	if (sqlite3_prepare_v2(st->snap_db, "SELECT coalesce(max(id), 0), count(*) FROM frame_keys",
			       -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW ||
	    sqlite3_prepare_v3(st->snap_db, "INSERT INTO frames (id, data) VALUES (?1, ?2)", -1,
			       SQLITE_PREPARE_PERSISTENT, &w->insert, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(st->snap_db,
			       "INSERT INTO frame_keys (id, hash, size) VALUES (?1, ?2, ?3)", -1,
			       SQLITE_PREPARE_PERSISTENT, &w->insert_key, NULL) != SQLITE_OK) {
		r = store_db_error(st->snap_db, err, "starting a snapshot");
		goto fail;
	}
	w->first_id = w->next_id = sqlite3_column_int64(s, 0) + 1;
	/* room for what the store has and what the snapshot may add, without regrowing */
	for (w->tabcap = 4096;
	     w->tabcap < 2 * (uint64_t)(sqlite3_column_int64(s, 1) + (hint > 0 ? hint : 0));)
		w->tabcap *= 2;
	w->tab = calloc(w->tabcap, sizeof(*w->tab));
	if (!w->tab) {
		r = api_error(err, -ENOMEM, "out of memory for the frames' hashes");
		goto fail;
	}
	r = preload(w, err);
	if (r < 0)
		goto fail;
	*ret = w;
	return 0;
fail:
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->insert_key);
	pthread_mutex_unlock(&st->snap_lock);
	free(w->pend);
	free(w->tab);
	free(w);
	return r;
}

int store_snap_writer_lookup(struct store_snap_writer *w, const uint8_t hash[16], int64_t *ret_id,
			     struct mm_error *err)
{
	*ret_id = tab_find(w, hash)->id;
	return 0;
}

/* Write the pending frames in one transaction (taken under the store's main lock). */
static int flush(struct store_snap_writer *w, struct mm_error *err)
{
	struct store *st = w->st;
	sqlite3 *db = st->snap_db;
	int r = 0;

	if (!w->npend)
		return 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = store_db_error(db, err, "writing frames");
		goto out;
	}
	for (size_t i = 0; i < w->npend; i++) {
		const struct pending *p = &w->pend[i];

		bool ok = sqlite3_bind_int64(w->insert, 1, p->id) == SQLITE_OK &&
			  sqlite3_bind_blob(w->insert, 2, w->buf.p + p->off, (int)p->len,
					    SQLITE_STATIC) == SQLITE_OK &&
			  sqlite3_step(w->insert) == SQLITE_DONE &&
			  sqlite3_bind_int64(w->insert_key, 1, p->id) == SQLITE_OK &&
			  sqlite3_bind_blob(w->insert_key, 2, p->hash, 16, SQLITE_STATIC) ==
				  SQLITE_OK &&
			  sqlite3_bind_int64(w->insert_key, 3, (int64_t)p->len) == SQLITE_OK &&
			  sqlite3_step(w->insert_key) == SQLITE_DONE;

		sqlite3_reset(w->insert);
		sqlite3_reset(w->insert_key);
		if (!ok) {
			r = store_db_error(db, err, "writing frames");
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto out;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = store_db_error(db, err, "writing frames");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
out:
	pthread_mutex_unlock(&st->lock);
	if (!r) {
		w->npend = 0;
		w->buf.len = 0;
	}
	return r;
}

int store_snap_writer_add(struct store_snap_writer *w, const uint8_t hash[16], const void *data,
			  size_t len, int64_t *ret_id, struct mm_error *err)
{
	struct pending *p;
	struct known *k;
	int r;

	if (len == 0 || len > INT_MAX)
		return api_error(err, -EINVAL, "a frame of %zu bytes", len);
	k = tab_find(w, hash);
	if (k->id) {
		*ret_id = k->id; /* added already: the same content twice */
		return 0;
	}
	if (w->npend == FLUSH_FRAMES || w->buf.len + len > FLUSH_BYTES) {
		r = flush(w, err);
		if (r < 0)
			return r;
	}
	if (!bytes_reserve(&w->buf, len) || !tab_add(w, hash, w->next_id))
		return api_error(err, -ENOMEM, "out of memory");
	p = &w->pend[w->npend++];
	memcpy(p->hash, hash, 16);
	p->id = w->next_id++;
	p->off = w->buf.len;
	p->len = len;
	memcpy(w->buf.p + w->buf.len, data, len);
	w->buf.len += len;
	w->new_frames++;
	w->new_frame_bytes += (int64_t)len;
	*ret_id = p->id;
	return 0;
}

int store_snap_writer_map(struct store_snap_writer *w, uint64_t pfn, int64_t frame_id,
			  struct mm_error *err)
{
	if (pfn < w->next_pfn || frame_id <= 0)
		return api_error(err, -EINVAL, "frames must be mapped in ascending pfn order");
	if (!bytes_reserve(&w->map, 20))
		return api_error(err, -ENOMEM, "out of memory");
	put_varint(&w->map, pfn - w->next_pfn);
	put_varint(&w->map, zigzag(frame_id - w->prev_id));
	w->next_pfn = pfn + 1;
	w->prev_id = frame_id;
	w->nr_frames++;
	return 0;
}

int store_snap_writer_commit(struct store_snap_writer *w, struct store_snapshot *meta,
			     const void *state, size_t state_len, int64_t *ret_id,
			     struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct store *st = w->st;
	sqlite3 *db = st->snap_db;
	size_t zcap = ZSTD_compressBound(w->map.len), zlen;
	void *z = malloc(zcap ? zcap : 1);
	int r;

	if (!z)
		return api_error(err, -ENOMEM, "out of memory");
	zlen = ZSTD_compress(z, zcap, w->map.p ? w->map.p : (const void *)"", w->map.len,
			     MAP_ZSTD_LEVEL);
	if (ZSTD_isError(zlen) || state_len > INT_MAX || zlen > INT_MAX) {
		free(z);
		return api_error(err, -EIO, "compressing the frame map: %s",
				 ZSTD_isError(zlen) ? ZSTD_getErrorName(zlen) : "too large");
	}
	r = flush(w, err);
	if (r < 0) {
		free(z);
		return r;
	}
	if (!meta->created_at[0])
		store_now(meta->created_at);
	pthread_mutex_lock(&st->lock);
	/* this commit is the snapshot's: durable as the store's mode says, and before it every
	 * frame written for it (their own file's WAL, synced by frames_sync()) */
	if (st->sync == STORE_SYNC_FULL) {
		r = frames_sync(db, err);
		if (r < 0)
			goto out;
	}
	store_apply_sync(db, st->sync);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = store_db_error(db, err, "storing the snapshot");
		goto out;
	}
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO snapshots (machine_id, seq, created_at, label, config, "
			       "format, state_hash, state_size, state, nr_frames, frame_map, "
			       "new_frames, new_frame_bytes) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
			       -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, meta->machine_id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, meta->seq) != SQLITE_OK ||
	    sqlite3_bind_text(s, 3, meta->created_at, -1, SQLITE_STATIC) != SQLITE_OK ||
	    (meta->label[0] ? sqlite3_bind_text(s, 4, meta->label, -1, SQLITE_STATIC)
			    : sqlite3_bind_null(s, 4)) != SQLITE_OK ||
	    sqlite3_bind_text(s, 5, meta->config ? meta->config : "{}", -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
	    sqlite3_bind_int(s, 6, meta->format) != SQLITE_OK ||
	    sqlite3_bind_text(s, 7, meta->state_hash, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 8, meta->state_size) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 9, state, (int)state_len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 10, w->nr_frames) != SQLITE_OK ||
	    sqlite3_bind_blob(s, 11, z, (int)zlen, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 12, w->new_frames) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 13, w->new_frame_bytes) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE) {
		r = store_db_error(db, err, "storing the snapshot");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	meta->id = sqlite3_last_insert_rowid(db);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = store_db_error(db, err, "storing the snapshot");
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		goto out;
	}
	w->committed = true;
	meta->state_bytes = (int64_t)state_len;
	meta->nr_frames = w->nr_frames;
	meta->map_bytes = (int64_t)zlen;
	meta->new_frames = w->new_frames;
	meta->new_frame_bytes = w->new_frame_bytes;
	*ret_id = meta->id;
out:
	store_apply_sync(db, STORE_SYNC_NORMAL);
	pthread_mutex_unlock(&st->lock);
	free(z);
	return r;
}

void store_snap_writer_end(struct store_snap_writer *w)
{
	struct store *st;

	if (!w)
		return;
	st = w->st;
	sqlite3_finalize(w->insert);
	sqlite3_finalize(w->insert_key);
	if (!w->committed && w->next_id > w->first_id) {
		/* the frames this writer added: no committed snapshot maps them (only a
		 * writer adds frames, and it holds the lock we still hold) */
		_cleanup_stmt_ sqlite3_stmt *s = NULL;

		pthread_mutex_lock(&st->lock);
		if (sqlite3_prepare_v2(st->snap_db, "DELETE FROM frames WHERE id >= ?1", -1, &s,
				       NULL) == SQLITE_OK &&
		    sqlite3_bind_int64(s, 1, w->first_id) == SQLITE_OK)
			sqlite3_step(s);
		pthread_mutex_unlock(&st->lock);
	}
	pthread_mutex_unlock(&st->snap_lock);
	/* the checkpoint that waited for the snapshot to end */
	store_checkpoint_wanted(st);
	free(w->pend);
	free(w->tab);
	free(w->buf.p);
	free(w->map.p);
	free(w);
}

/* ---- reading ----------------------------------------------------------------------------- */

/* How far ahead of its cursor the reader walks rather than seeking. */
#define READ_SKIP 64

struct store_snap_reader {
	sqlite3 *db;
	sqlite3_stmt *row;   /* the snapshot's row: its blobs stay valid until finalized */
	sqlite3_stmt *frame; /* SELECT id, data FROM frames WHERE id >= ? ORDER BY id */
	int64_t at;	     /* the id on which @frame stands; 0: not positioned */
	uint8_t *map;
	struct map_iter it;
};

void store_snap_reader_close(struct store_snap_reader *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->frame);
	sqlite3_finalize(r->row);
	if (r->db) {
		sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
		sqlite3_close(r->db);
	}
	free(r->map);
	free(r);
}

int store_snap_reader_open(struct store *st, int64_t id, bool allow_deleted,
			   struct store_snap_reader **ret, struct store_snapshot *meta,
			   const void **state, size_t *state_len, struct mm_error *err)
{
	struct store_snap_reader *r = calloc(1, sizeof(*r));
	size_t maplen = 0;
	int x, rc;

	if (!r)
		return api_error(err, -ENOMEM, "out of memory");
	x = store_reader_open(st, &r->db, err);
	if (x < 0) {
		free(r);
		return x;
	}
	if (sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(r->db,
			       "SELECT " SNAPSHOT_COLUMNS ", state, frame_map "
			       "FROM snapshots s WHERE id = ?1",
			       -1, &r->row, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(r->row, 1, id) != SQLITE_OK ||
	    sqlite3_prepare_v2(r->db, "SELECT id, data FROM frames WHERE id >= ?1 ORDER BY id", -1,
			       &r->frame, NULL) != SQLITE_OK) {
		x = store_db_error(r->db, err, "reading the snapshot");
		goto fail;
	}
	rc = sqlite3_step(r->row);
	if (rc == SQLITE_DONE ||
	    (rc == SQLITE_ROW && sqlite3_column_int(r->row, 14) && !allow_deleted)) {
		x = api_error(err, -ENOENT, "no snapshot %lld", (long long)id);
		goto fail;
	}
	if (rc != SQLITE_ROW) {
		x = store_db_error(r->db, err, "reading the snapshot");
		goto fail;
	}
	if (snapshot_row(r->row, meta, true) < 0) {
		x = api_error(err, -ENOMEM, "out of memory");
		goto fail;
	}
	x = map_decompress(sqlite3_column_blob(r->row, 17),
			   (size_t)sqlite3_column_bytes(r->row, 17), &r->map, &maplen, err);
	if (x < 0) {
		store_snapshot_finish(meta);
		goto fail;
	}
	r->it = (struct map_iter){.p = r->map, .len = maplen, .left = meta->nr_frames};
	*state = sqlite3_column_blob(r->row, 16);
	*state_len = (size_t)sqlite3_column_bytes(r->row, 16);
	*ret = r;
	return 0;
fail:
	store_snap_reader_close(r);
	return x;
}

int store_snap_reader_next(struct store_snap_reader *r, uint64_t *pfn, const void **data,
			   size_t *len, struct mm_error *err)
{
	int64_t id;
	int k = map_next(&r->it, pfn, &id);

	if (k < 0)
		return api_error(err, -EIO, "a snapshot's frame map is corrupt");
	if (k == 0)
		return 0;
	/*
	 * The frames of a snapshot were mostly written together, in pfn order: the ids come
	 * in ascending runs. Walk the table from one to the next instead of seeking each
	 * (a few frames of other snapshots in between are stepped over); seek on a jump.
	 */
	if (!r->at || id <= r->at || id > r->at + READ_SKIP) {
		sqlite3_reset(r->frame);
		if (sqlite3_bind_int64(r->frame, 1, id) != SQLITE_OK)
			return store_db_error(r->db, err, "reading a frame");
		r->at = 0;
	}
	do {
		k = sqlite3_step(r->frame);
		if (k != SQLITE_ROW) {
			r->at = 0;
			if (k == SQLITE_DONE)
				return api_error(
					err, -EIO,
					"frame %lld of the snapshot is missing from the store",
					(long long)id);
			return store_db_error(r->db, err, "reading a frame");
		}
		r->at = sqlite3_column_int64(r->frame, 0);
	} while (r->at < id);
	if (r->at != id) {
		r->at = 0;
		return api_error(err, -EIO, "frame %lld of the snapshot is missing from the store",
				 (long long)id);
	}
	*data = sqlite3_column_blob(r->frame, 1);
	*len = (size_t)sqlite3_column_bytes(r->frame, 1);
	return 1;
}

/* ---- garbage collection ------------------------------------------------------------------ */

int store_gc_locked(struct store *st, struct store_gc_stats *ret, struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *max = NULL, *maps = NULL, *ids = NULL, *del = NULL;
	struct garbage {
		int64_t id, size;
	} *garbage = NULL;
	size_t ngarbage = 0, capgarbage = 0;
	uint64_t *live = NULL;
	sqlite3 *db;
	int64_t top;
	int r, rc;

	memset(ret, 0, sizeof(*ret));
	r = snap_db(st, err);
	if (r < 0)
		return r;
	db = st->snap_db;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM frame_keys", -1, &max, NULL) !=
		    SQLITE_OK ||
	    sqlite3_step(max) != SQLITE_ROW)
		return store_db_error(db, err, "collecting frames");
	top = sqlite3_column_int64(max, 0);
	/* A statement stepped to a row holds its read transaction open until it is reset: the
	 * BEGIN IMMEDIATE below would then find the database changed under it by a journal
	 * write (SQLITE_BUSY_SNAPSHOT, "database is locked"). Every read below runs to its
	 * end or is reset before the sweep writes. */
	sqlite3_reset(max);
	if (top == 0)
		return 0;
	live = calloc((size_t)top / 64 + 1, sizeof(*live));
	if (!live)
		return api_error(err, -ENOMEM, "out of memory collecting frames");
	/* mark: every frame some snapshot maps, deleted ones that are kept included */
	if (sqlite3_prepare_v2(db, "SELECT frame_map, nr_frames FROM snapshots", -1, &maps, NULL) !=
	    SQLITE_OK) {
		r = store_db_error(db, err, "collecting frames");
		goto out;
	}
	while ((rc = sqlite3_step(maps)) == SQLITE_ROW) {
		uint8_t *map;
		size_t len;
		struct map_iter it;
		uint64_t pfn;
		int64_t id;
		int k;

		r = map_decompress(sqlite3_column_blob(maps, 0),
				   (size_t)sqlite3_column_bytes(maps, 0), &map, &len, err);
		if (r < 0)
			goto out;
		it = (struct map_iter){.p = map, .len = len, .left = sqlite3_column_int64(maps, 1)};
		while ((k = map_next(&it, &pfn, &id)) > 0)
			if (id <= top)
				live[id / 64] |= 1ull << (id % 64);
		free(map);
		if (k < 0) {
			/* keep everything rather than collect from a map we cannot read */
			r = api_error(err, -EIO, "a snapshot's frame map is corrupt");
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		r = store_db_error(db, err, "collecting frames");
		goto out;
	}
	/* sweep: the ids and sizes come from frame_keys, without reading the contents */
	if (sqlite3_prepare_v2(db, "SELECT id, size FROM frame_keys", -1, &ids, NULL) !=
	    SQLITE_OK) {
		r = store_db_error(db, err, "collecting frames");
		goto out;
	}
	while ((rc = sqlite3_step(ids)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(ids, 0);

		if (id <= top && (live[id / 64] & (1ull << (id % 64))))
			continue;
		if (ngarbage == capgarbage) {
			size_t cap = capgarbage ? capgarbage * 2 : 1024;
			struct garbage *g = realloc(garbage, cap * sizeof(*g));

			if (!g) {
				r = api_error(err, -ENOMEM, "out of memory collecting frames");
				goto out;
			}
			garbage = g;
			capgarbage = cap;
		}
		garbage[ngarbage++] = (struct garbage){id, sqlite3_column_int64(ids, 1)};
	}
	if (rc != SQLITE_DONE) {
		r = store_db_error(db, err, "collecting frames");
		goto out;
	}
	sqlite3_finalize(ids);
	ids = NULL;
	/* a frame's key goes with it (ON DELETE CASCADE) */
	if (sqlite3_prepare_v2(db, "DELETE FROM frames WHERE id = ?1", -1, &del, NULL) !=
	    SQLITE_OK) {
		r = store_db_error(db, err, "collecting frames");
		goto out;
	}
	for (size_t i = 0; i < ngarbage; i += GC_CHUNK) {
		size_t end = i + GC_CHUNK < ngarbage ? i + GC_CHUNK : ngarbage;
		struct store_gc_stats chunk = {0};

		pthread_mutex_lock(&st->lock);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
			r = store_db_error(db, err, "collecting frames");
			pthread_mutex_unlock(&st->lock);
			goto out;
		}
		for (size_t k = i; k < end && !r; k++) {
			sqlite3_bind_int64(del, 1, garbage[k].id);
			if (sqlite3_step(del) != SQLITE_DONE)
				r = store_db_error(db, err, "collecting frames");
			sqlite3_reset(del);
			chunk.frames++;
			chunk.bytes += garbage[k].size;
		}
		if (!r && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			r = store_db_error(db, err, "collecting frames");
		if (r)
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		pthread_mutex_unlock(&st->lock);
		if (r)
			goto out;
		ret->frames += chunk.frames;
		ret->bytes += chunk.bytes;
	}
out:
	free(live);
	free(garbage);
	return r;
}

int store_gc(struct store *st, struct store_gc_stats *ret, struct mm_error *err)
{
	int r;

	pthread_mutex_lock(&st->snap_lock);
	r = store_gc_locked(st, ret, err);
	pthread_mutex_unlock(&st->snap_lock);
	return r;
}

/* ---- statistics -------------------------------------------------------------------------- */

static int int_query(sqlite3 *db, const char *sql, int64_t *a, int64_t *b, int64_t *c)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		return -EIO;
	*a = sqlite3_column_int64(s, 0);
	if (b)
		*b = sqlite3_column_int64(s, 1);
	if (c)
		*c = sqlite3_column_int64(s, 2);
	return 0;
}

int store_stats(struct store *st, struct store_stats *ret, struct mm_error *err)
{
	int64_t fr_page = 0, fr_pages = 0, fr_free = 0;
	sqlite3 *db;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = store_reader_open(st, &db, err);
	if (r < 0)
		return r;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    int_query(db, "PRAGMA main.page_size", &ret->page_size, NULL, NULL) < 0 ||
	    int_query(db, "PRAGMA main.page_count", &ret->pages, NULL, NULL) < 0 ||
	    int_query(db, "PRAGMA main.freelist_count", &ret->free_pages, NULL, NULL) < 0 ||
	    int_query(db, "PRAGMA fr.page_size", &fr_page, NULL, NULL) < 0 ||
	    int_query(db, "PRAGMA fr.page_count", &fr_pages, NULL, NULL) < 0 ||
	    int_query(db, "PRAGMA fr.freelist_count", &fr_free, NULL, NULL) < 0 ||
	    int_query(db, "SELECT count(*), coalesce(sum(size), 0) FROM frame_keys", &ret->frames,
		      &ret->frame_bytes, NULL) < 0 ||
	    int_query(db,
		      "SELECT coalesce(sum(deleted = 0), 0), coalesce(sum(deleted = 1), 0), "
		      "coalesce(sum(length(state) + length(frame_map)), 0) FROM snapshots",
		      &ret->snapshots, &ret->retained, &ret->snapshot_bytes) < 0)
		r = store_db_error(db, err, "reading the store's statistics");
	/* both files, counted in the main file's pages (the frames' are a whole number of
	 * them: 64 KiB, or both 64 KiB in a database made before the split) */
	if (r == 0 && ret->page_size > 0 && fr_page % ret->page_size == 0) {
		ret->pages += fr_pages * (fr_page / ret->page_size);
		ret->free_pages += fr_free * (fr_page / ret->page_size);
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return r;
}
