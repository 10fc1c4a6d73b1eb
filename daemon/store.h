/* SPDX-License-Identifier: MIT */
/*
 * store.h - the SQLite store: machines (as their configuration), their journals, and the
 * snapshots with their deduplicated RAM frames (schema/ says what each table holds).
 *
 * One database file, WAL mode, foreign keys on, a busy timeout. store_open() applies the
 * embedded migrations (schema/) that the file has not seen yet, each in its own
 * transaction together with the new PRAGMA user_version, so a crash leaves the file at a
 * whole version. A file newer than this binary is refused. It then collects the frames no
 * snapshot maps (what a snapshot cut short by a crash had written).
 *
 * Durability (store_set_sync()): with STORE_SYNC_FULL (the default) a commit returns once
 * it is on the disk (synchronous=FULL: it survives a power cut); with STORE_SYNC_NORMAL once
 * it is in the operating system (it survives a crash of mm32d, kill -9 included, but the
 * last commits may be lost if the machine itself goes down). Either way the file is never
 * left inconsistent.
 *
 * Each write is one statement or one transaction, committed before it returns: once
 * store_journal_append() returned 0, the entries are durable in the chosen mode. The
 * commands of one request are one row (schema/002_journal_batches.sql), and the rows of
 * concurrent requests are committed together (group commit), so one sync for all of them.
 *
 * Locking: callable from any thread; see store-int.h for the connections and mutexes.
 * Errors: -EIO (or -ENOMEM) with SQLite's message in @err; -ENOENT for what does not exist.
 */
#ifndef DAEMON_STORE_H
#define DAEMON_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmcore.h"

struct store;

enum store_sync { STORE_SYNC_FULL, STORE_SYNC_NORMAL };

/* "full" or "normal"; 0 or -EINVAL. */
int store_sync_parse(const char *s, enum store_sync *ret);
const char *store_sync_name(enum store_sync mode);

int store_open(const char *path, struct store **ret, struct mm_error *err);
void store_close(struct store *st);
/* The durability of every commit from now on. */
int store_set_sync(struct store *st, enum store_sync mode, struct mm_error *err);

/* PRAGMA user_version of the open file. */
int store_user_version(struct store *st, int *ret);

/* The current UTC time as "2024-05-01T12:34:56.789Z". */
void store_now(char buf[32]);

/* ---- machines and journals ---------------------------------------------------------- */

struct store_machine {
	const char *id;
	const char *config;	/* JSON, re-parsed by api_machine_spec_parse() */
	const char *created_at; /* NULL on insert: now */
	const char *origin;	/* JSON {"kind", ...}, or NULL */
	int64_t base_snapshot;	/* the snapshot it starts from; 0: none */
	int64_t last_seq;	/* read only: the last journal seq, 0 for an empty journal */
};

/* The commands of one request as one journal row (see store_journal_append()). */
struct store_batch {
	int64_t first_seq, n;
	const char *time;
	const char *commands; /* a JSON array of @n commands, @commands_len bytes */
	size_t commands_len;
	const char *results; /* a JSON array of their @n results */
	size_t results_len;
};

/*
 * store_machine_insert - a new machine with, in the same transaction, its journal rows @b
 * (may be none) and the snapshots it needs (@uses: the ids of its base and of the ones its
 * journal restores; may repeat).
 * Return: 0; -EEXIST when the id is taken; -ENOENT when a snapshot of @uses is gone.
 */
int store_machine_insert(struct store *st, const struct store_machine *m,
			 const struct store_batch *b, size_t nb, const int64_t *uses, size_t nuses,
			 struct mm_error *err);
/* Record that machine @id needs snapshot @snapshot (a journal entry restores it), before the
 * entry is journaled: from now on a delete keeps it. -ENOENT when either is gone. */
int store_snapshot_use(struct store *st, int64_t snapshot, const char *id, struct mm_error *err);
/*
 * Delete @id, its journal and its uses of snapshots (ON DELETE CASCADE), and delete its
 * snapshots: they are purged unless a machine still needs them (then kept, unlisted).
 * Frames are collected later, by store_gc(). -ENOENT if there was no such machine.
 */
int store_machine_delete(struct store *st, const char *id, struct mm_error *err);

/* Calls @fn for every machine in id order (or only @id when not NULL: -ENOENT when there
 * is none); stops early (and returns) if @fn returns < 0. */
typedef int store_machine_fn(void *data, const struct store_machine *m);
int store_machines_foreach(struct store *st, const char *id, store_machine_fn *fn, void *data,
			   struct mm_error *err);

/*
 * store_journal_append - append the @n commands of one request as journal entries
 * @first_seq .. @first_seq + @n - 1: @commands and @results are JSON arrays of @n elements
 * (texts of the given lengths, not NUL-terminated), @time when they ran. One row, committed
 * with the rows of every request appending meanwhile (a group commit: one transaction, one
 * sync for all of them): on 0 the entries are durable, on failure none was added (a failed
 * COMMIT fails every row of its group, and each caller undoes its own commands).
 */
int store_journal_append(struct store *st, const char *id, int64_t first_seq, int64_t n,
			 const char *time, const char *commands, size_t commands_len,
			 const char *results, size_t results_len, struct mm_error *err);
/* The group commit's counters: @rows appended in @commits transactions (so syncs), and the
 * rows waiting for a leader now. */
struct store_group_stats {
	int64_t rows, commits, queued;
};
void store_group_stats(struct store *st, struct store_group_stats *ret);
/*
 * store_limit_size - a full disk, for tests: the journal's connection may grow the database by
 * @extra_pages pages at most (PRAGMA max_page_count); a write beyond fails as SQLite fails on a
 * full disk (SQLITE_FULL, -EIO). @extra_pages < 0 lifts the limit.
 */
int store_limit_size(struct store *st, int64_t extra_pages, struct mm_error *err);
/*
 * store_set_max_size - max-db-size: the database file grows to @bytes at most (0: no cap),
 * on every connection (SQLite's max_page_count). A write beyond fails with -EXFULL (507
 * over-capacity), like a full disk; deleting snapshots or machines makes room.
 */
int store_set_max_size(struct store *st, uint64_t bytes, struct mm_error *err);

/* Calls @fn for every batch of @id that holds entries after @after_seq, in seq order, from
 * a read transaction of its own (appends go on meanwhile, unseen); stops early, returning
 * what @fn returned, when that is not 0. */
typedef int store_journal_fn(void *data, int64_t first_seq, int64_t n, const char *time,
			     const char *commands, size_t commands_len, const char *results,
			     size_t results_len);
int store_journal_foreach(struct store *st, const char *id, int64_t after_seq, store_journal_fn *fn,
			  void *data, struct mm_error *err);

/* ---- snapshots ----------------------------------------------------------------------- */

#define STORE_LABEL_MAX 128
#define STORE_HASH_HEX 33 /* 32 hex digits and a NUL */

struct store_snapshot {
	int64_t id;
	char machine_id[64];
	int64_t seq;
	char created_at[32];
	char label[STORE_LABEL_MAX]; /* "" for none */
	char *config;		     /* JSON; malloc'd, store_snapshot_finish() */
	int format;
	char state_hash[STORE_HASH_HEX];
	int64_t state_size;  /* the state stream's bytes */
	int64_t state_bytes; /* ... as stored */
	int64_t nr_frames;   /* non-zero RAM frames */
	int64_t map_bytes;
	int64_t new_frames, new_frame_bytes; /* what it added to the frames */
	bool deleted;
	int64_t uses; /* read only: machines that need it (bases, journal restores) */
};

void store_snapshot_finish(struct store_snapshot *s);

/* Snapshot @id, deleted or not. -ENOENT. */
int store_snapshot_get(struct store *st, int64_t id, struct store_snapshot *ret,
		       struct mm_error *err);
/* The newest snapshot of @machine_id that is not deleted with seq <= @max_seq (< 0: any).
 * -ENOENT when there is none. */
int store_snapshot_latest(struct store *st, const char *machine_id, int64_t max_seq,
			  struct store_snapshot *ret, struct mm_error *err);
/* The snapshots of @machine_id that are not deleted, oldest first; stops if @fn < 0. The
 * struct is valid during the call only. */
typedef int store_snapshot_fn(void *data, const struct store_snapshot *s);
int store_snapshots_foreach(struct store *st, const char *machine_id, store_snapshot_fn *fn,
			    void *data, struct mm_error *err);
/*
 * store_journal_compact - compact machine @id's journal behind its snapshot @snapshot, in one
 * transaction: the batches up to the snapshot's seq are deleted, the machine's journal_base
 * becomes the snapshot, which is pinned (snapshot_uses; store_snapshot_delete() refuses it,
 * -EBUSY). -ENOENT: no such snapshot of @id; -EBUSY: the snapshot is older than the current
 * base, or falls inside a batch (a request's commands are never split). *@ret: what went.
 */
struct store_compact {
	int64_t snapshot, seq;		 /* the new base and its seq */
	int64_t batches, entries, bytes; /* what was deleted (bytes: as stored) */
};
int store_journal_compact(struct store *st, const char *id, int64_t snapshot,
			  struct store_compact *ret, struct mm_error *err);
/* Machine @id's journal base: its snapshot and seq (0, 0: the journal is whole). */
int store_journal_base(struct store *st, const char *id, int64_t *ret_snapshot, int64_t *ret_seq,
		       struct mm_error *err);
/* How many snapshots of @machine_id are listed (not deleted): *@ret. 0 or a store error. */
int store_snapshot_count(struct store *st, const char *machine_id, int64_t *ret,
			 struct mm_error *err);
/*
 * store_snapshot_delete - delete snapshot @id of @machine_id: gone at once when no machine
 * needs it, else kept (*@ret_retained) unlisted until none does. Its frames are collected
 * by store_gc(). -ENOENT when @machine_id has no such snapshot.
 */
int store_snapshot_delete(struct store *st, const char *machine_id, int64_t id, bool *ret_retained,
			  struct mm_error *err);

/*
 * Writing a snapshot: frames first, each committed in batches as it comes (the journal of
 * other machines goes on between them), then the snapshot row in one transaction. A writer
 * holds the store's snapshot lock from begin to end: one writer (or collector) at a time.
 * A writer that ends without commit deletes the frames it added.
 */
struct store_snap_writer;

/* @hint: about how many frames the snapshot will look up; it decides whether to read every
 * frame's hash at once (< 0: never, look each up in SQLite). */
int store_snap_writer_begin(struct store *st, int64_t hint, struct store_snap_writer **ret,
			    struct mm_error *err);
/* The id of the frame whose content has the XXH3-128 hash @hash (canonical bytes), 0 when
 * there is none yet. */
int store_snap_writer_lookup(struct store_snap_writer *w, const uint8_t hash[16], int64_t *ret_id,
			     struct mm_error *err);
/* Add a frame of content hash @hash (not in the store: lookup said 0), stored as @len bytes
 * of @data (a zstd frame, or the 4096 bytes); *@ret_id is its id. A content this writer added
 * already is not added twice: *@ret_id is the first one's. */
int store_snap_writer_add(struct store_snap_writer *w, const uint8_t hash[16], const void *data,
			  size_t len, int64_t *ret_id, struct mm_error *err);
/* The next non-zero frame of the snapshot: @pfn (ascending) has the content of @frame_id. */
int store_snap_writer_map(struct store_snap_writer *w, uint64_t pfn, int64_t frame_id,
			  struct mm_error *err);
/*
 * store_snap_writer_commit - the snapshot row: @meta (machine_id, seq, label, config,
 * format, state_hash, state_size; the counts are the writer's), the compressed state
 * stream. On 0 the snapshot is durable, *@ret_id is its id and @meta is filled in.
 */
int store_snap_writer_commit(struct store_snap_writer *w, struct store_snapshot *meta,
			     const void *state, size_t state_len, int64_t *ret_id,
			     struct mm_error *err);
/* Release the writer (accepts NULL); without a commit, its frames are deleted again. */
void store_snap_writer_end(struct store_snap_writer *w);

/*
 * Reading a snapshot, in a read transaction of its own (a concurrent delete does not pull
 * it away). @allow_deleted: also a snapshot the user deleted (kept for a journal's replay).
 */
struct store_snap_reader;

int store_snap_reader_open(struct store *st, int64_t id, bool allow_deleted,
			   struct store_snap_reader **ret, struct store_snapshot *meta,
			   const void **state, size_t *state_len, struct mm_error *err);
/* The next frame in pfn order: 1 with *@pfn and its stored bytes (valid until the next
 * call); 0 after the last; < 0 on failure (-EIO for a map or frame that is missing: a
 * corrupt store). */
int store_snap_reader_next(struct store_snap_reader *r, uint64_t *pfn, const void **data,
			   size_t *len, struct mm_error *err);
void store_snap_reader_close(struct store_snap_reader *r);

/* ---- garbage collection, statistics -------------------------------------------------- */

struct store_gc_stats {
	int64_t frames, bytes; /* frames deleted, and their stored bytes */
};

/* Delete every frame that no snapshot row maps. Waits for a snapshot being written. */
int store_gc(struct store *st, struct store_gc_stats *ret, struct mm_error *err);

struct store_stats {
	int64_t page_size, pages, free_pages; /* the file: (pages - free_pages) * page_size used */
	int64_t frames, frame_bytes;	      /* distinct frames, and their stored bytes */
	int64_t snapshots, retained;	      /* listed ones, and deleted ones kept for replay */
	int64_t snapshot_bytes;		      /* states and maps of all of them */
};

int store_stats(struct store *st, struct store_stats *ret, struct mm_error *err);

#endif /* DAEMON_STORE_H */
