/* SPDX-License-Identifier: MIT */
/*
 * store.c - SQLite persistence (see store.h).
 *
 * Statements are prepared per call (every sqlite3_stmt is finalized on every path by
 * _cleanup_), except the journal insert: it is on the command path, so it is prepared once
 * (SQLITE_PREPARE_PERSISTENT), reset after each use and finalized by store_close().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "problem.h"
#include "schema.h"
#include "store.h"

struct store {
	sqlite3 *db;
	pthread_mutex_t lock;
	sqlite3_stmt *journal_insert; /* prepared on first use; guarded by @lock */
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

int store_open(const char *path, struct store **ret, struct mm_error *err)
{
	struct store *st = calloc(1, sizeof(*st));
	int r;

	if (!st)
		return api_error(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&st->lock, NULL);
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
	*ret = st;
	return 0;
fail:
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->journal_insert);
	sqlite3_close(st->db);
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

int store_journal_append(struct store *st, const char *id, int64_t seq, const char *time,
			 const char *command, const char *result, struct mm_error *err)
{
	struct store_journal_row row = {command, strlen(command), result, strlen(result)};

	return store_journal_append_many(st, id, seq, time, &row, 1, err);
}

int store_journal_append_many(struct store *st, const char *id, int64_t first_seq, const char *time,
			      const struct store_journal_row *rows, size_t n, struct mm_error *err)
{
	sqlite3_stmt *s;
	int r = 0;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&st->lock);
	if (!st->journal_insert &&
	    sqlite3_prepare_v3(st->db,
			       "INSERT INTO journal (machine_id, seq, time, command, result) "
			       "VALUES (?1, ?2, ?3, ?4, ?5)",
			       -1, SQLITE_PREPARE_PERSISTENT, &st->journal_insert,
			       NULL) != SQLITE_OK) {
		r = db_error(st, err, "appending to the journal");
		goto out;
	}
	s = st->journal_insert;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, "appending to the journal");
		goto out;
	}
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 3, time, -1, SQLITE_STATIC) != SQLITE_OK) {
		r = db_error(st, err, "appending to the journal");
		goto rollback;
	}
	for (size_t i = 0; i < n; i++) {
		if (sqlite3_bind_int64(s, 2, first_seq + (int64_t)i) != SQLITE_OK ||
		    sqlite3_bind_text(s, 4, rows[i].command, (int)rows[i].command_len,
				      SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_text(s, 5, rows[i].result, (int)rows[i].result_len,
				      SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_step(s) != SQLITE_DONE) {
			r = db_error(st, err, "appending to the journal");
			sqlite3_reset(s);
			goto rollback;
		}
		sqlite3_reset(s);
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, "committing the journal");
		goto rollback;
	}
	goto out;
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
	if (st->journal_insert)
		sqlite3_clear_bindings(st->journal_insert);
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
			       "SELECT seq, time, command, result FROM journal "
			       "WHERE machine_id = ?1 ORDER BY seq",
			       -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		r = db_error(st, err, "reading the journal");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = fn(data, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
		       (const char *)sqlite3_column_text(s, 2),
		       (const char *)sqlite3_column_text(s, 3));
		if (r < 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_error(st, err, "reading the journal");
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}
