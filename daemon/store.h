/* SPDX-License-Identifier: MIT */
/*
 * store.h - the SQLite store: machines (as their configuration) and their journals.
 *
 * One database file, WAL mode, foreign keys on, a busy timeout. store_open() applies the
 * embedded migrations (schema/) that the file has not seen yet, each in its own
 * transaction together with the new PRAGMA user_version, so a crash leaves the file at a
 * whole version. A file newer than this binary is refused.
 *
 * Each call is one statement or one transaction, committed before it returns: once
 * store_journal_append() returned 0, the entries survive a crash (synchronous=FULL). The
 * commands of one request are one row (schema/002_journal_batches.sql), so one sync.
 *
 * Locking: one connection, guarded by a mutex inside; callable from any thread.
 * Errors: -EIO (or -ENOMEM) with SQLite's message in @err.
 */
#ifndef DAEMON_STORE_H
#define DAEMON_STORE_H

#include <stdint.h>

#include "mmcore.h"

struct store;

int store_open(const char *path, struct store **ret, struct mm_error *err);
void store_close(struct store *st);

/* PRAGMA user_version of the open file. */
int store_user_version(struct store *st, int *ret);

int store_machine_insert(struct store *st, const char *id, const char *config,
			 struct mm_error *err);
/* Delete @id and, by ON DELETE CASCADE, its journal. -ENOENT if there was none. */
int store_machine_delete(struct store *st, const char *id, struct mm_error *err);

/* Calls @fn for every machine in id order; stops early (and returns) if @fn returns < 0. */
typedef int store_machine_fn(void *data, const char *id, const char *config,
			     const char *created_at);
int store_machines_foreach(struct store *st, store_machine_fn *fn, void *data,
			   struct mm_error *err);

/*
 * store_journal_append - append the @n commands of one request as journal entries
 * @first_seq .. @first_seq + @n - 1: @commands and @results are JSON arrays of @n elements
 * (texts of the given lengths, not NUL-terminated), @time when they ran. One statement, one
 * transaction: on 0 the entries are durable, on failure none was added.
 */
int store_journal_append(struct store *st, const char *id, int64_t first_seq, int64_t n,
			 const char *time, const char *commands, size_t commands_len,
			 const char *results, size_t results_len, struct mm_error *err);
/* Calls @fn for every batch of @id in seq order; stops early if @fn returns < 0. */
typedef int store_journal_fn(void *data, int64_t first_seq, int64_t n, const char *time,
			     const char *commands, size_t commands_len, const char *results,
			     size_t results_len);
int store_journal_foreach(struct store *st, const char *id, store_journal_fn *fn, void *data,
			  struct mm_error *err);

/* The current UTC time as "2024-05-01T12:34:56.789Z". */
void store_now(char buf[32]);

#endif /* DAEMON_STORE_H */
