/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - a machine into the store and back, and its state hash (see snapshot.h).
 *
 * A save reads the machine once: mmcore's state stream goes through the state hash into a
 * zstd stream; then each touched frame is checked for zeros, hashed twice (XXH3-128 of its
 * content, the key of the frames table; and into the state hash with its pfn), looked up,
 * and compressed only when the store does not have its content yet. A load reads the state
 * stream straight out of the zstd stream into mm_snapshot_load(), then the frames in pfn
 * order into the machine's RAM, hashing both as the save did.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include "problem.h"
#include "rebuild.h"
#include "snapshot.h"

#define PAGE 4096u

#define FRAME_ZSTD_LEVEL 1
#define STATE_ZSTD_LEVEL 3

static bool page_is_zero(const void *p)
{
	const uint64_t *w = p;
	uint64_t acc = 0;

	for (unsigned int i = 0; i < PAGE / 8; i += 8)
		acc |= w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		       w[i + 7];
	return acc == 0;
}

static void hash_hex(XXH128_hash_t h, char hex[STORE_HASH_HEX])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, h);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
}

/* The pfn and the bytes of a non-zero frame, into the state hash. */
static void hash_frame(XXH3_state_t *h, uint64_t pfn, const void *page)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(pfn >> (8 * i));
	XXH3_128bits_update(h, le, sizeof(le));
	XXH3_128bits_update(h, page, PAGE);
}

static int hash_write(void *ctx, const void *data, size_t len)
{
	return XXH3_128bits_update(ctx, data, len) == XXH_OK ? 0 : -1;
}

uint64_t snapshot_touched_frames(const struct mm_machine *m)
{
	uint64_t n = 0, pages = mm_ram_pages(m);

	for (uint64_t pfn = 0; pfn < pages; pfn++)
		n += mm_ram_page_touched(m, pfn);
	return n;
}

int snapshot_state_hash(const struct mm_machine *m, char hex[STORE_HASH_HEX], struct mm_error *err)
{
	XXH3_state_t *h = XXH3_createState();
	uint64_t pages = mm_ram_pages(m);
	int r;

	if (!h)
		return api_error(err, -ENOMEM, "out of memory");
	XXH3_128bits_reset(h);
	r = mm_snapshot_save(m, hash_write, h, err);
	if (r < 0) {
		XXH3_freeState(h);
		return r;
	}
	for (uint64_t pfn = 0; pfn < pages; pfn++) {
		const void *page;

		if (!mm_ram_page_touched(m, pfn))
			continue;
		page = mm_ram_page(m, pfn);
		if (!page_is_zero(page))
			hash_frame(h, pfn, page);
	}
	hash_hex(XXH3_128bits_digest(h), hex);
	XXH3_freeState(h);
	return 0;
}

/* ---- save ------------------------------------------------------------------------------- */

/* The state stream on its way: hashed, and compressed into @out. */
struct state_out {
	XXH3_state_t *hash;
	ZSTD_CCtx *z;
	uint8_t *out;
	size_t len, cap;
	uint64_t size;
	bool failed;
};

static int state_put(struct state_out *s, const void *data, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = {data, len, 0};
	size_t left;

	do {
		if (s->cap - s->len < ZSTD_CStreamOutSize()) {
			size_t cap = s->cap ? s->cap * 2 : 1u << 20;
			uint8_t *p = realloc(s->out, cap);

			if (!p)
				return -1;
			s->out = p;
			s->cap = cap;
		}
		ZSTD_outBuffer out = {s->out + s->len, s->cap - s->len, 0};

		left = ZSTD_compressStream2(s->z, &out, &in, end);
		if (ZSTD_isError(left))
			return -1;
		s->len += out.pos;
	} while (end == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

static int state_write(void *ctx, const void *data, size_t len)
{
	struct state_out *s = ctx;

	s->size += len;
	if (XXH3_128bits_update(s->hash, data, len) != XXH_OK ||
	    state_put(s, data, len, ZSTD_e_continue) < 0) {
		s->failed = true;
		return -1;
	}
	return 0;
}

static bool cancelled(struct snapshot_progress *p)
{
	return p && atomic_load(&p->cancel);
}

/*
 * The frames go through a pipeline of batches. The calling thread reads the machine's RAM
 * (zero check, the state hash, the content hash, the lookup), hands each batch to the
 * compressor threads for the contents the store lacks, and takes the batches back in order
 * to add those contents to the writer and map every frame. Compression thus runs beside
 * the reading and the SQLite writes; the machine is only read, by the calling thread's
 * pointers, while it is locked by the caller.
 */
#define BATCH 256
#define SLOTS 8
#define WORKERS_MAX 4

enum { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };

struct zbatch {
	size_t n;
	int state;
	uint64_t pfn[BATCH];
	int64_t id[BATCH]; /* the frame's id when the store has its content; 0: new */
	uint8_t key[BATCH][16];
	const uint8_t *page[BATCH]; /* save: the RAM page; load: unused */
	uint32_t len[BATCH];	    /* save: compressed size (PAGE: raw); load: stored size */
	uint8_t *buf;		    /* save: BATCH compressed frames; load: BATCH pages */
	uint8_t *in;		    /* load: the stored bytes, BATCH * PAGE at most */
};

struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct zbatch slot[SLOTS];
	size_t head, work, tail; /* next to fill, to compress, to retire (mod SLOTS) */
	bool stop, load;
	unsigned int nworkers;
	pthread_t workers[WORKERS_MAX];
	struct mm_machine *m; /* load: the machine whose RAM the workers fault in */
};

static size_t zbound(void)
{
	return ZSTD_compressBound(PAGE);
}

/* Compress the new frames of @b (save), or decompress every frame (load). */
static void batch_work(struct pipeline *pl, struct zbatch *b, ZSTD_CCtx *cz, ZSTD_DCtx *dz)
{
	for (size_t i = 0; i < b->n; i++) {
		if (!pl->load) {
			size_t zlen;

			if (b->id[i])
				continue;
			zlen = ZSTD_compress2(cz, b->buf + i * zbound(), zbound(), b->page[i],
					      PAGE);
			b->len[i] = ZSTD_isError(zlen) || zlen >= PAGE ? PAGE : (uint32_t)zlen;
			continue;
		}
		uint8_t *out = b->buf + i * PAGE, *in = b->in + i * PAGE;

		if (b->len[i] == PAGE)
			memcpy(out, in, PAGE);
		else if (ZSTD_decompressDCtx(dz, out, PAGE, in, b->len[i]) != PAGE)
			b->len[i] = 0; /* corrupt: the caller says so */
	}
#ifdef MADV_POPULATE_WRITE
	/* load: fault the destination pages in here, beside the caller (their contents, all
	 * zeros, do not change: mmcore writes them in mm_ram_page_load()) */
	for (size_t i = 0; pl->load && i < b->n; i++)
		madvise((void *)((uintptr_t)mm_ram_page(pl->m, b->pfn[i]) & ~(uintptr_t)(PAGE - 1)),
			PAGE, MADV_POPULATE_WRITE);
#endif
}

static void *worker(void *arg)
{
	struct pipeline *pl = arg;
	ZSTD_CCtx *cz = ZSTD_createCCtx();
	ZSTD_DCtx *dz = ZSTD_createDCtx();

	if (cz)
		ZSTD_CCtx_setParameter(cz, ZSTD_c_compressionLevel, FRAME_ZSTD_LEVEL);
	pthread_mutex_lock(&pl->lock);
	for (;;) {
		struct zbatch *b = &pl->slot[pl->work % SLOTS];

		while (!pl->stop && b->state != SLOT_QUEUED) {
			pthread_cond_wait(&pl->cond, &pl->lock);
			b = &pl->slot[pl->work % SLOTS];
		}
		if (pl->stop)
			break;
		b->state = SLOT_BUSY;
		pl->work++;
		pthread_mutex_unlock(&pl->lock);
		batch_work(pl, b, cz, dz);
		pthread_mutex_lock(&pl->lock);
		b->state = SLOT_DONE;
		pthread_cond_broadcast(&pl->cond);
	}
	pthread_mutex_unlock(&pl->lock);
	ZSTD_freeCCtx(cz);
	ZSTD_freeDCtx(dz);
	return NULL;
}

static unsigned int nr_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN) - 1;

	return n < 1 ? 0 : n > WORKERS_MAX ? WORKERS_MAX : (unsigned int)n;
}

static int pipeline_start(struct pipeline *pl, bool load, struct mm_machine *m)
{
	memset(pl, 0, sizeof(*pl));
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->cond, NULL);
	pl->load = load;
	pl->m = m;
	for (size_t i = 0; i < SLOTS; i++) {
		pl->slot[i].buf = malloc(BATCH * (load ? PAGE : zbound()));
		pl->slot[i].in = load ? malloc(BATCH * PAGE) : NULL;
		if (!pl->slot[i].buf || (load && !pl->slot[i].in))
			return -ENOMEM;
	}
	for (unsigned int i = nr_workers(); pl->nworkers < i; pl->nworkers++)
		if (pthread_create(&pl->workers[pl->nworkers], NULL, worker, pl))
			break; /* fewer workers; with none, the caller does the work */
	return 0;
}

static void pipeline_stop(struct pipeline *pl)
{
	pthread_mutex_lock(&pl->lock);
	pl->stop = true;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
	for (unsigned int i = 0; i < pl->nworkers; i++)
		pthread_join(pl->workers[i], NULL);
	for (size_t i = 0; i < SLOTS; i++) {
		free(pl->slot[i].buf);
		free(pl->slot[i].in);
	}
	pthread_cond_destroy(&pl->cond);
	pthread_mutex_destroy(&pl->lock);
}

/* The batch to fill next, once the one that was there has been retired. */
static struct zbatch *pipeline_next(struct pipeline *pl)
{
	return &pl->slot[pl->head % SLOTS];
}

/* Hand the batch at head to the workers (or, without workers, do its work here). */
static void pipeline_submit(struct pipeline *pl, ZSTD_CCtx *cz, ZSTD_DCtx *dz)
{
	struct zbatch *b = &pl->slot[pl->head % SLOTS];

	pl->head++;
	if (!pl->nworkers) {
		batch_work(pl, b, cz, dz);
		b->state = SLOT_DONE;
		return;
	}
	pthread_mutex_lock(&pl->lock);
	b->state = SLOT_QUEUED;
	pthread_cond_broadcast(&pl->cond);
	pthread_mutex_unlock(&pl->lock);
}

/* The oldest submitted batch, once its work is done; NULL when none is in flight. Rather
 * than wait, the caller does the work of a queued batch itself (with @cz or @dz). */
static struct zbatch *pipeline_oldest(struct pipeline *pl, ZSTD_CCtx *cz, ZSTD_DCtx *dz)
{
	struct zbatch *b;

	if (pl->tail == pl->head)
		return NULL;
	b = &pl->slot[pl->tail % SLOTS];
	pthread_mutex_lock(&pl->lock);
	while (b->state != SLOT_DONE) {
		struct zbatch *q = &pl->slot[pl->work % SLOTS];

		if (pl->work < pl->head && q->state == SLOT_QUEUED) {
			q->state = SLOT_BUSY;
			pl->work++;
			pthread_mutex_unlock(&pl->lock);
			batch_work(pl, q, cz, dz);
			pthread_mutex_lock(&pl->lock);
			q->state = SLOT_DONE;
			pthread_cond_broadcast(&pl->cond);
			continue;
		}
		pthread_cond_wait(&pl->cond, &pl->lock);
	}
	pthread_mutex_unlock(&pl->lock);
	return b;
}

static void pipeline_retired(struct pipeline *pl)
{
	struct zbatch *b = &pl->slot[pl->tail % SLOTS];

	pthread_mutex_lock(&pl->lock); /* the workers read the states */
	b->state = SLOT_FREE;
	pthread_mutex_unlock(&pl->lock);
	b->n = 0;
	pl->tail++;
}

/* Save: add the new contents of batch @b to @w, then map all its frames, in order. */
static int save_retire(struct store_snap_writer *w, struct zbatch *b, struct mm_error *err)
{
	for (size_t i = 0; i < b->n; i++) {
		int r;

		if (!b->id[i]) {
			const void *data = b->len[i] == PAGE ? b->page[i] : b->buf + i * zbound();

			r = store_snap_writer_add(w, b->key[i], data, b->len[i], &b->id[i], err);
			if (r < 0)
				return r;
		}
		r = store_snap_writer_map(w, b->pfn[i], b->id[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Add the frames of @m to @w (its map, and the contents the store lacks) and to @hash. */
static int save_frames(struct store_snap_writer *w, const struct mm_machine *m, XXH3_state_t *hash,
		       struct snapshot_progress *p, struct mm_error *err)
{
	uint64_t pages = mm_ram_pages(m);
	ZSTD_CCtx *cz = ZSTD_createCCtx();
	struct pipeline pl;
	struct zbatch *b = NULL, *old;
	int r;

	if (!cz || pipeline_start(&pl, false, NULL) < 0) {
		ZSTD_freeCCtx(cz);
		pipeline_stop(&pl);
		return api_error(err, -ENOMEM, "out of memory");
	}
	ZSTD_CCtx_setParameter(cz, ZSTD_c_compressionLevel, FRAME_ZSTD_LEVEL);
	r = 0;
	for (uint64_t pfn = 0; pfn < pages && r == 0; pfn++) {
		XXH128_canonical_t key;
		const void *page;
		size_t i;

		if (!mm_ram_page_touched(m, pfn))
			continue;
		if (p)
			atomic_fetch_add(&p->done, 1);
		if ((pfn & 1023) == 0 && cancelled(p)) {
			r = api_error(err, -ECANCELED, "the snapshot was cancelled");
			break;
		}
		page = mm_ram_page(m, pfn);
		if (page_is_zero(page))
			continue;
		hash_frame(hash, pfn, page);
		XXH128_canonicalFromHash(&key, XXH3_128bits(page, PAGE));
		if (!b) {
			/* a free slot: retire the oldest batch when the ring is full */
			if (pl.head - pl.tail == SLOTS) {
				old = pipeline_oldest(&pl, cz, NULL);
				r = save_retire(w, old, err);
				pipeline_retired(&pl);
				if (r < 0)
					break;
			}
			b = pipeline_next(&pl);
		}
		i = b->n++;
		b->pfn[i] = pfn;
		b->page[i] = page;
		memcpy(b->key[i], key.digest, 16);
		r = store_snap_writer_lookup(w, key.digest, &b->id[i], err);
		if (b->n == BATCH) {
			pipeline_submit(&pl, cz, NULL);
			b = NULL;
		}
	}
	if (b && b->n)
		pipeline_submit(&pl, cz, NULL);
	while ((old = pipeline_oldest(&pl, cz, NULL))) {
		if (r == 0)
			r = save_retire(w, old, err);
		pipeline_retired(&pl);
	}
	pipeline_stop(&pl);
	ZSTD_freeCCtx(cz);
	return r;
}

int snapshot_save(struct store *st, const struct mm_machine *m, struct store_snapshot *meta,
		  struct snapshot_progress *p, struct mm_error *err)
{
	struct state_out s = {0};
	struct store_snap_writer *w = NULL;
	int64_t id;
	int r;

	if (p) {
		atomic_store(&p->total, snapshot_touched_frames(m));
		atomic_store(&p->done, 0);
	}
	s.hash = XXH3_createState();
	s.z = ZSTD_createCCtx();
	if (!s.hash || !s.z) {
		r = api_error(err, -ENOMEM, "out of memory");
		goto out;
	}
	XXH3_128bits_reset(s.hash);
	ZSTD_CCtx_setParameter(s.z, ZSTD_c_compressionLevel, STATE_ZSTD_LEVEL);
	r = mm_snapshot_save(m, state_write, &s, err);
	if (r == 0 && state_put(&s, NULL, 0, ZSTD_e_end) < 0)
		s.failed = true;
	if (s.failed) {
		r = api_error(err, -ENOMEM, "out of memory compressing the machine's state");
		goto out;
	}
	if (r < 0)
		goto out;
	r = store_snap_writer_begin(st, (int64_t)snapshot_touched_frames(m), &w, err);
	if (r < 0)
		goto out;
	r = save_frames(w, m, s.hash, p, err);
	if (r < 0)
		goto out;
	meta->format = MM_SNAPSHOT_VERSION;
	meta->state_size = (int64_t)s.size;
	hash_hex(XXH3_128bits_digest(s.hash), meta->state_hash);
	r = store_snap_writer_commit(w, meta, s.out, s.len, &id, err);
out:
	store_snap_writer_end(w);
	XXH3_freeState(s.hash);
	ZSTD_freeCCtx(s.z);
	free(s.out);
	return r;
}

/* ---- load ------------------------------------------------------------------------------- */

/* The state stream read back: decompressed on demand into mm_snapshot_load()'s buffers. */
struct state_in {
	XXH3_state_t *hash;
	ZSTD_DCtx *z;
	ZSTD_inBuffer in;
	uint64_t size;
	size_t last; /* ZSTD_decompressStream()'s last answer: 0 at the end of the frame */
};

static int state_read(void *ctx, void *data, size_t len)
{
	struct state_in *s = ctx;
	ZSTD_outBuffer out = {data, len, 0};

	while (out.pos < out.size) {
		size_t pos = s->in.pos, opos = out.pos;

		s->last = ZSTD_decompressStream(s->z, &out, &s->in);
		if (ZSTD_isError(s->last))
			return -1;
		if (s->in.pos == pos && out.pos == opos)
			return -1; /* the stream ends early */
	}
	s->size += len;
	return XXH3_128bits_update(s->hash, data, len) == XXH_OK ? 0 : -1;
}

/* "mem 2147483648, pae true" for each member of @a that differs in @b. */
static void config_diff(const char *a, const char *b, char *buf, size_t size)
{
	json_t *x = json_loads(a, 0, NULL), *y = json_loads(b, 0, NULL);
	const char *key;
	json_t *v;
	size_t off = 0;

	buf[0] = '\0';
	if (json_is_object(x) && json_is_object(y)) {
		json_object_foreach(x, key, v) {
			char *t;

			if (json_equal(v, json_object_get(y, key)))
				continue;
			t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			if (t && off < size)
				off += (size_t)snprintf(buf + off, size - off, "%s%s %s",
							off ? ", " : "", key, t);
			free(t);
		}
	}
	if (!buf[0])
		snprintf(buf, size, "another configuration");
	json_decref(x);
	json_decref(y);
}

/* @text as api_config_to_json() writes it today (a config stored before boot_model existed
 * gains "boot_model": 1), or NULL when it does not parse. */
static char *canonical_config(const char *text)
{
	json_t *j = json_loads(text, 0, NULL), *cj = NULL;
	struct mm_config *cfg = malloc(sizeof(*cfg));
	char name[API_NAME_MAX], *s = NULL;
	struct mm_error e = {0};

	if (j && cfg && api_machine_spec_parse_stored(j, cfg, name, &e) == 0)
		cj = api_config_to_json(cfg);
	if (cj)
		s = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cj);
	json_decref(j);
	free(cfg);
	return s;
}

int snapshot_check_config(const struct store_snapshot *s, const char *config, struct mm_error *err)
{
	char diff[512];

	if (!strcmp(config, s->config))
		return 0;
	{ /* the same configuration written by another mm32d (a field it did not have) */
		char *a = canonical_config(config), *b = canonical_config(s->config);
		bool same = a && b && !strcmp(a, b);

		free(a);
		free(b);
		if (same)
			return 0;
	}
	config_diff(s->config, config, diff, sizeof(diff));
	return api_error(err, -EINVAL,
			 "snapshot %lld is of a machine with %s: it can be restored only into a "
			 "machine of the same configuration (clone it instead: POST /v1/machines "
			 "{\"from_snapshot\": %lld})",
			 (long long)s->id, diff, (long long)s->id);
}

char *snapshot_config_text(const struct mm_machine *m)
{
	json_t *cj = api_config_to_json(mm_machine_config(m));
	char *s = cj ? json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	json_decref(cj);
	return s;
}

int snapshot_restore_load(struct store *st, int64_t id, bool allow_deleted,
			  const struct mm_machine *m, struct mm_machine **ret,
			  struct api_snapshot_ref *ref, struct mm_error *err)
{
	char *config = snapshot_config_text(m);
	struct store_snapshot meta;
	int r;

	if (!config)
		return api_error(err, -ENOMEM, "out of memory");
	/* a snapshot of an older format: its state rebuilt from its machine's journal */
	r = store_snapshot_get(st, id, &meta, err);
	if (r == 0 && meta.format < MM_SNAPSHOT_VERSION && (allow_deleted || !meta.deleted)) {
		r = machine_rebuild_snapshot(st, id, config, ret, err);
		if (r == 0)
			snapshot_ref(&meta, ref);
		store_snapshot_finish(&meta);
		free(config);
		return r;
	}
	if (r == 0)
		store_snapshot_finish(&meta);
	r = snapshot_load(st, id, allow_deleted, config, ret, &meta, NULL, err);
	free(config);
	if (r < 0)
		return r;
	snapshot_ref(&meta, ref);
	store_snapshot_finish(&meta);
	return 0;
}

void snapshot_ref(const struct store_snapshot *s, struct api_snapshot_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	ref->id = s->id;
	snprintf(ref->machine, sizeof(ref->machine), "%s", s->machine_id);
	ref->seq = s->seq;
	snprintf(ref->state_hash, sizeof(ref->state_hash), "%s", s->state_hash);
}

json_t *snapshot_to_json(const struct store_snapshot *s)
{
	json_t *config = json_loads(s->config ? s->config : "{}", 0, NULL);

	return json_pack("{s:I, s:s, s:I, s:s, s:o, s:o, s:i, s:s, s:s, s:I, s:I, "
			 "s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
			 "id", (json_int_t)s->id, "machine", s->machine_id, "seq",
			 (json_int_t)s->seq, "created_at", s->created_at, "label",
			 s->label[0] ? json_string(s->label) : json_null(), "config",
			 config ? config : json_object(), "format", s->format, "algorithm",
			 SNAPSHOT_HASH_ALGORITHM, "state_hash", s->state_hash, "frames",
			 (json_int_t)s->nr_frames, "ram_bytes", (json_int_t)s->nr_frames * PAGE,
			 "stored", "state", (json_int_t)s->state_bytes, "state_raw",
			 (json_int_t)s->state_size, "map", (json_int_t)s->map_bytes, "new_frames",
			 (json_int_t)s->new_frames, "new_frame_bytes",
			 (json_int_t)s->new_frame_bytes, "added",
			 (json_int_t)(s->state_bytes + s->map_bytes + s->new_frame_bytes));
}

json_t *snapshot_storage_to_json(const struct store_stats *st)
{
	return json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "page_size", (json_int_t)st->page_size,
		"db_bytes", (json_int_t)(st->pages * st->page_size), "free_bytes",
		(json_int_t)(st->free_pages * st->page_size), "frames", (json_int_t)st->frames,
		"frame_bytes", (json_int_t)st->frame_bytes, "snapshots", (json_int_t)st->snapshots,
		"retained", (json_int_t)st->retained, "snapshot_bytes",
		(json_int_t)st->snapshot_bytes);
}

/* Load: mm_ram_page_load() and the state hash, for the frames of batch @b, in order. */
static int load_retire(struct mm_machine *m, struct zbatch *b, XXH3_state_t *hash,
		       struct snapshot_progress *p, struct mm_error *err)
{
	for (size_t i = 0; i < b->n; i++) {
		const void *page = b->buf + i * PAGE;
		int r;

		if (!b->len[i])
			return api_error(err, -EIO, "frame %#llx of the snapshot is corrupt",
					 (unsigned long long)b->pfn[i]);
		r = mm_ram_page_load(m, b->pfn[i], page, err);
		if (r < 0)
			return r;
		hash_frame(hash, b->pfn[i], page);
	}
	if (p)
		atomic_fetch_add(&p->done, b->n);
	return 0;
}

static int load_frames(struct store_snap_reader *rd, struct mm_machine *m, XXH3_state_t *hash,
		       struct snapshot_progress *p, struct mm_error *err)
{
	ZSTD_DCtx *dz = ZSTD_createDCtx();
	struct zbatch *b = NULL, *old;
	struct pipeline pl;
	const void *data;
	uint64_t pfn;
	size_t len;
	int r;

	if (!dz || pipeline_start(&pl, true, m) < 0) {
		ZSTD_freeDCtx(dz);
		pipeline_stop(&pl);
		return api_error(err, -ENOMEM, "out of memory");
	}
	while ((r = store_snap_reader_next(rd, &pfn, &data, &len, err)) > 0) {
		size_t i;

		if (len > PAGE || pfn >= mm_ram_pages(m)) {
			r = api_error(err, -EIO, "frame %#llx of the snapshot is corrupt",
				      (unsigned long long)pfn);
			break;
		}
		if (!b) {
			if (pl.head - pl.tail == SLOTS) {
				old = pipeline_oldest(&pl, NULL, dz);
				r = load_retire(m, old, hash, p, err);
				pipeline_retired(&pl);
				if (r < 0)
					break;
				if (cancelled(p)) {
					r = api_error(err, -ECANCELED, "the restore was cancelled");
					break;
				}
			}
			b = pipeline_next(&pl);
		}
		i = b->n++;
		b->pfn[i] = pfn;
		b->len[i] = (uint32_t)len;
		memcpy(b->in + i * PAGE, data, len);
		if (b->n == BATCH) {
			pipeline_submit(&pl, NULL, dz);
			b = NULL;
		}
	}
	if (b && b->n)
		pipeline_submit(&pl, NULL, dz);
	while ((old = pipeline_oldest(&pl, NULL, dz))) {
		if (r == 0)
			r = load_retire(m, old, hash, p, err);
		pipeline_retired(&pl);
	}
	pipeline_stop(&pl);
	ZSTD_freeDCtx(dz);
	return r;
}

int snapshot_load(struct store *st, int64_t id, bool allow_deleted, const char *config,
		  struct mm_machine **ret, struct store_snapshot *meta, struct snapshot_progress *p,
		  struct mm_error *err)
{
	struct store_snapshot own, *sm = meta ? meta : &own;
	struct store_snap_reader *rd = NULL;
	struct state_in s = {0};
	struct mm_machine *m = NULL;
	char hex[STORE_HASH_HEX];
	const void *state;
	size_t state_len;
	int r;

	r = store_snap_reader_open(st, id, allow_deleted, &rd, sm, &state, &state_len, err);
	if (r < 0)
		return r;
	if (config && (r = snapshot_check_config(sm, config, err)) < 0)
		goto out;
	if (sm->format < MM_SNAPSHOT_VERSION) {
		/* format 1 was the struct image of one build: no reader for it exists */
		r = api_error(
			err, -EINVAL,
			"snapshot %lld of machine '%s' is in the old format version %d (the "
			"struct image of an mm32d before format %d), which this mm32d no "
			"longer reads: replay the session of machine '%s' to rebuild its state",
			(long long)id, sm->machine_id, sm->format, MM_SNAPSHOT_VERSION,
			sm->machine_id);
		goto out;
	}
	if (sm->format > MM_SNAPSHOT_VERSION) {
		r = api_error(err, -EINVAL,
			      "snapshot %lld has format version %d; this mm32d reads up to version "
			      "%d (written by a newer mm32d?)",
			      (long long)id, sm->format, MM_SNAPSHOT_VERSION);
		goto out;
	}
	if (p) {
		atomic_store(&p->total, (uint64_t)sm->nr_frames);
		atomic_store(&p->done, 0);
	}
	s.hash = XXH3_createState();
	s.z = ZSTD_createDCtx();
	if (!s.hash || !s.z) {
		r = api_error(err, -ENOMEM, "out of memory");
		goto out;
	}
	XXH3_128bits_reset(s.hash);
	s.in = (ZSTD_inBuffer){state, state_len, 0};
	s.last = 1;
	r = mm_snapshot_load(state_read, &s, &m, err);
	if (r == -EBADMSG) {
		char why[MM_ERR_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		r = api_error(err, -EIO, "snapshot %lld is corrupt: %s", (long long)id, why);
	}
	if (r < 0)
		goto out;
	{
		/* the end of the zstd frame, and nothing after the state */
		uint8_t extra;
		ZSTD_outBuffer o = {&extra, 1, 0};

		if (s.last != 0)
			s.last = ZSTD_decompressStream(s.z, &o, &s.in);
		if (ZSTD_isError(s.last) || o.pos)
			s.last = 1;
	}
	if (s.last != 0 || s.in.pos != s.in.size || (int64_t)s.size != sm->state_size) {
		r = api_error(err, -EIO, "snapshot %lld is corrupt: its state has trailing bytes",
			      (long long)id);
		goto out;
	}
	r = load_frames(rd, m, s.hash, p, err);
	if (r == 0)
		r = mm_snapshot_finish(m, err); /* migrations that need the frames */
	if (r < 0)
		goto out;
	hash_hex(XXH3_128bits_digest(s.hash), hex);
	if (strcmp(hex, sm->state_hash)) {
		r = api_error(err, -EIO,
			      "snapshot %lld is corrupt: it was saved with state hash %s, what the "
			      "store holds gives %s",
			      (long long)id, sm->state_hash, hex);
		goto out;
	}
	*ret = m;
	m = NULL;
out:
	if (r < 0 || !meta)
		store_snapshot_finish(sm);
	mm_machine_destroy(m);
	store_snap_reader_close(rd);
	XXH3_freeState(s.hash);
	ZSTD_freeDCtx(s.z);
	return r;
}
