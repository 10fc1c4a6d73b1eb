/* SPDX-License-Identifier: MIT */
/*
 * store-int.h - struct store, shared by store.c (machines, journal) and store-snap.c
 * (snapshots, frames, garbage collection). Nothing outside those two files includes it.
 *
 * Connections and locks:
 *  - @db, guarded by @lock: the journal, machines, snapshot rows, and every short write;
 *  - @snap_db, guarded by @snap_lock: the snapshot writer's frame inserts and the garbage
 *    collector. Whoever holds @snap_lock is the only one adding or deleting frames, so a
 *    frame id found by a lookup stays valid until the snapshot that maps it is committed.
 *    Its write transactions are also taken under @lock (lock order: @snap_lock, then
 *    @lock), so that the journal's commits wait on a mutex rather than on SQLite's busy
 *    handler, which sleeps;
 *  - long reads (a journal, a snapshot's frames) open a connection of their own
 *    (store_reader_open()): a read transaction sees one state of the file while writers go
 *    on, and holds no lock of ours;
 *  - @ckpt_db: the checkpointer thread's.
 */
#ifndef DAEMON_STORE_INT_H
#define DAEMON_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <sqlite3.h>

#include "store.h"

struct store {
	char *path;
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *journal_insert; /* prepared on first use; guarded by @lock */
	enum store_sync sync;	      /* guarded by @lock */
	int64_t max_pages; /* max-db-size in pages, for every connection (0: none); @lock */

	sqlite3 *snap_db; /* opened on first use; guarded by @snap_lock */
	pthread_mutex_t snap_lock;

	/* the checkpointer: its own connection, woken by on_wal() */
	sqlite3 *ckpt_db;
	pthread_t ckpt_thread;
	bool ckpt_running;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	bool ckpt_wanted, ckpt_stop; /* guarded by @ckpt_lock */

	/* the group commit (store_journal_append()): rows waiting for the next leader */
	pthread_mutex_t group_lock;			 /* after @lock, when both are taken */
	pthread_cond_t group_cond;			 /* a group is done */
	struct store_append *group_head, **group_tail;	 /* @group_lock */
	bool group_leader;				 /* a leader is committing; @group_lock */
	int64_t group_rows, group_queued, group_commits; /* @group_lock */
};

/* The snapshot frames' file beside the store's: the store's path and this. */
#define STORE_FRAMES_SUFFIX ".frames"

void store_stmt_finalize(sqlite3_stmt **s);
/* PRAGMA max_page_count of max-db-size on a connection of @st. 0 or -EIO. */
int store_apply_max_pages(struct store *st, sqlite3 *db);
#define _cleanup_stmt_ __attribute__((cleanup(store_stmt_finalize)))

/* -EIO (or -ENOMEM) with @db's message, "@what: ...". */
int store_db_error(sqlite3 *db, struct mm_error *err, const char *what);
/* A connection of its own on the store's file, for one thread (busy timeout, foreign keys). */
int store_reader_open(struct store *st, sqlite3 **ret, struct mm_error *err);
/* "PRAGMA synchronous = FULL|NORMAL" on @db for @mode. */
int store_apply_sync(sqlite3 *db, enum store_sync mode);
/* Run @sql (no parameters, no rows) on @db; -EIO with the message. */
int store_exec(sqlite3 *db, const char *sql, struct mm_error *err, const char *what);
/* Purge the deleted snapshots no machine needs any more; caller holds @lock and has a
 * transaction open on @db. */
int store_purge_snapshots_locked(struct store *st, struct mm_error *err);
/* The WAL holds this many pages: time to wake the checkpointer. */
#define STORE_CKPT_PAGES 1000
/* Wake the checkpointer thread (from a WAL hook). */
void store_checkpoint_wanted(struct store *st);
/* Collect the frames no snapshot maps; caller holds @snap_lock. */
int store_gc_locked(struct store *st, struct store_gc_stats *ret, struct mm_error *err);

#endif /* DAEMON_STORE_INT_H */
