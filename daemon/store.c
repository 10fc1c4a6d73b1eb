/* SPDX-License-Identifier: MIT */
/*
 * store.c - SQLite persistence (see store.h).
 *
 * Statements are prepared per call (every sqlite3_stmt is finalized on every path by
 * _cleanup_), except the journal insert: it is on the command path, so it is prepared once
 * (SQLITE_PREPARE_PERSISTENT), reset after each use and finalized by store_close().
 *
 * Checkpoints run in a thread of their own with its own connection (checkpointer()), woken
 * by the WAL hook when the WAL has grown past CKPT_PAGES: a commit then costs the writing
 * of its own pages and one sync, never the copy of the whole WAL into the database.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "problem.h"
#include "schema.h"
#include "store.h"

/* Checkpoint the WAL in the background once it holds this many pages (SQLite's own
 * automatic checkpoint threshold); in the committing thread only past the second limit,
 * should the background thread fall that far behind. */
#define CKPT_PAGES 1000
#define CKPT_INLINE_PAGES 64000

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *journal_insert; /* prepared on first use; guarded by @lock */

	/* the checkpointer: its own connection, woken by on_wal() */
	sqlite3 *ckpt_db;
	pthread_t ckpt_thread;
	bool ckpt_running;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	bool ckpt_wanted, ckpt_stop; /* guarded by @ckpt_lock */
};

static void stmt_finalize(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}
#define _cleanup_stmt_ __attribute__((cleanup(stmt_finalize)))

static int db_error(struct store *st, struct mm_error *err, const char *what)
{
	int rc = sqlite3_errcode(st->db);

	return api_error(err, rc == SQLITE_NOMEM ? -ENOMEM : -EIO, "%s: %s", what,
			 sqlite3_errmsg(st->db));
}

void store_now(char buf[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);

	snprintf(buf + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

static int user_version(struct store *st, int *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW)
		return -EIO;
	*ret = sqlite3_column_int(s, 0);
	return 0;
}

int store_user_version(struct store *st, int *ret)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = user_version(st, ret);
	pthread_mutex_unlock(&st->lock);
	return r;
}

static int migrate(struct store *st, struct mm_error *err)
{
	int have;

	if (user_version(st, &have) < 0)
		return db_error(st, err, "reading user_version");
	if (have > (int)schema_nr_migrations)
		return api_error(err, -EIO,
				 "database schema version %d is newer than this mm32d (%u)", have,
				 schema_nr_migrations);
	for (unsigned int i = (unsigned int)have; i < schema_nr_migrations; i++) {
		const struct schema_migration *mg = &schema_migrations[i];
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %u", mg->version);
		if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return db_error(st, err, "starting a migration");
		if (sqlite3_exec(st->db, mg->sql, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
			int r = db_error(st, err, mg->name);

			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	return 0;
}

/*
 * The WAL hook of the main connection, called after each commit (with @lock held): hand
 * the checkpoint to the background thread, so that no request waits for the WAL to be
 * copied into the database (SQLite's automatic checkpoint would run it right here).
 */
static int on_wal(void *data, sqlite3 *db, const char *name, int pages)
{
	struct store *st = data;

	if (pages >= CKPT_INLINE_PAGES) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&st->ckpt_lock);
		st->ckpt_wanted = true;
		pthread_cond_signal(&st->ckpt_cond);
		pthread_mutex_unlock(&st->ckpt_lock);
	}
	return SQLITE_OK;
}

static void *checkpointer(void *data)
{
	struct store *st = data;

	pthread_mutex_lock(&st->ckpt_lock);
	for (;;) {
		while (!st->ckpt_wanted && !st->ckpt_stop)
			pthread_cond_wait(&st->ckpt_cond, &st->ckpt_lock);
		if (st->ckpt_stop)
			break;
		st->ckpt_wanted = false;
		pthread_mutex_unlock(&st->ckpt_lock);
		/*
		 * The bulk without blocking anyone (PASSIVE), then what was committed meanwhile
		 * with the writers held off, so that the checkpoint is complete and the next
		 * commit restarts the WAL from its beginning: a WAL that keeps growing costs a
		 * file-size update with every sync.
		 */
		sqlite3_wal_checkpoint_v2(st->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&st->lock);
		sqlite3_wal_checkpoint_v2(st->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_unlock(&st->lock);
		pthread_mutex_lock(&st->ckpt_lock);
	}
	pthread_mutex_unlock(&st->ckpt_lock);
	return NULL;
}

/* Start the checkpointer; without it, SQLite's automatic checkpoint stays in charge. */
static void checkpointer_start(struct store *st, const char *path)
{
	if (sqlite3_open_v2(path, &st->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(st->ckpt_db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK ||
	    pthread_create(&st->ckpt_thread, NULL, checkpointer, st) != 0) {
		sqlite3_close(st->ckpt_db);
		st->ckpt_db = NULL;
		return;
	}
	st->ckpt_running = true;
	sqlite3_wal_hook(st->db, on_wal, st);
}

static void checkpointer_stop(struct store *st)
{
	if (!st->ckpt_running)
		return;
	pthread_mutex_lock(&st->ckpt_lock);
	st->ckpt_stop = true;
	pthread_cond_signal(&st->ckpt_cond);
	pthread_mutex_unlock(&st->ckpt_lock);
	pthread_join(st->ckpt_thread, NULL);
	sqlite3_close(st->ckpt_db);
	st->ckpt_db = NULL;
	st->ckpt_running = false;
}

int store_open(const char *path, struct store **ret, struct mm_error *err)
{
	struct store *st = calloc(1, sizeof(*st));
	int r;

	if (!st)
		return api_error(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->ckpt_lock, NULL);
	pthread_cond_init(&st->ckpt_cond, NULL);
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		r = api_error(err, -EIO, "cannot open %s: %s", path,
			      st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_exec(st->db,
			 "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
			 "PRAGMA foreign_keys = ON;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, path);
		goto fail;
	}
	r = migrate(st, err);
	if (r < 0)
		goto fail;
	checkpointer_start(st, path);
	*ret = st;
	return 0;
fail:
	sqlite3_close(st->db);
	pthread_cond_destroy(&st->ckpt_cond);
	pthread_mutex_destroy(&st->ckpt_lock);
	pthread_mutex_destroy(&st->lock);
	free(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	checkpointer_stop(st);
	sqlite3_finalize(st->journal_insert);
	/* the last connection to close checkpoints the whole WAL and removes it */
	sqlite3_close(st->db);
	pthread_cond_destroy(&st->ckpt_cond);
	pthread_mutex_destroy(&st->ckpt_lock);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Run @sql with text parameters ?1..?n (n <= 5); no result rows expected. */
static int exec_text(struct store *st, const char *sql, const char *const *params, int n,
		     int *ret_changes, struct mm_error *err, const char *what)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = 0;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		r = db_error(st, err, what);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (sqlite3_bind_text(s, i + 1, params[i], -1, SQLITE_TRANSIENT) != SQLITE_OK) {
			r = db_error(st, err, what);
			goto out;
		}
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		r = db_error(st, err, what);
		goto out;
	}
	if (ret_changes)
		*ret_changes = sqlite3_changes(st->db);
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_machine_insert(struct store *st, const char *id, const char *config, struct mm_error *err)
{
	char now[32];
	const char *p[3] = {id, config, now};

	store_now(now);
	return exec_text(st, "INSERT INTO machines (id, config, created_at) VALUES (?1, ?2, ?3)", p,
			 3, NULL, err, "storing the machine");
}

int store_machine_delete(struct store *st, const char *id, struct mm_error *err)
{
	const char *p[1] = {id};
	int changes = 0, r;

	r = exec_text(st, "DELETE FROM machines WHERE id = ?1", p, 1, &changes, err,
		      "deleting the machine");
	if (r < 0)
		return r;
	return changes ? 0 : api_error(err, -ENOENT, "no machine '%s' in the store", id);
}

int store_machines_foreach(struct store *st, store_machine_fn *fn, void *data, struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = 0, rc;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db, "SELECT id, config, created_at FROM machines ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK) {
		r = db_error(st, err, "listing machines");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = fn(data, (const char *)sqlite3_column_text(s, 0),
		       (const char *)sqlite3_column_text(s, 1),
		       (const char *)sqlite3_column_text(s, 2));
		if (r < 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_error(st, err, "listing machines");
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_journal_append(struct store *st, const char *id, int64_t first_seq, int64_t n,
			 const char *time, const char *commands, size_t commands_len,
			 const char *results, size_t results_len, struct mm_error *err)
{
	sqlite3_stmt *s;
	int r = 0;

	if (commands_len > INT_MAX || results_len > INT_MAX)
		return api_error(err, -EIO, "appending to the journal: entries too large");
	pthread_mutex_lock(&st->lock);
	if (!st->journal_insert &&
	    sqlite3_prepare_v3(st->db,
			       "INSERT INTO journal_batches "
			       "(machine_id, first_seq, n, time, commands, results) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			       -1, SQLITE_PREPARE_PERSISTENT, &st->journal_insert,
			       NULL) != SQLITE_OK) {
		r = db_error(st, err, "appending to the journal");
		goto out;
	}
	s = st->journal_insert;
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, first_seq) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 3, n) != SQLITE_OK ||
	    sqlite3_bind_text(s, 4, time, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 5, commands, (int)commands_len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 6, results, (int)results_len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE)
		r = db_error(st, err, "appending to the journal");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_journal_foreach(struct store *st, const char *id, store_journal_fn *fn, void *data,
			  struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = 0, rc;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT first_seq, n, time, commands, results FROM journal_batches "
			       "WHERE machine_id = ?1 ORDER BY first_seq",
			       -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = db_error(st, err, "reading the journal");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *commands = (const char *)sqlite3_column_text(s, 3);
		size_t commands_len = (size_t)sqlite3_column_bytes(s, 3);
		const char *results = (const char *)sqlite3_column_text(s, 4);
		size_t results_len = (size_t)sqlite3_column_bytes(s, 4);

		r = fn(data, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
		       (const char *)sqlite3_column_text(s, 2), commands ? commands : "",
		       commands ? commands_len : 0, results ? results : "",
		       results ? results_len : 0);
		if (r < 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_error(st, err, "reading the journal");
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}
