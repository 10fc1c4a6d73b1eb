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
 * store_journal_append() or store_journal_append_many() returned 0, the entries survive a
 * crash (synchronous=FULL). A batch of entries is one transaction, so one sync.
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

int store_journal_append(struct store *st, const char *id, int64_t seq, const char *time,
			 const char *command, const char *result, struct mm_error *err);

/* One journal row: JSON texts of @len bytes (not NUL-terminated). */
struct store_journal_row {
	const char *command;
	size_t command_len;
	const char *result;
	size_t result_len;
};
/*
 * store_journal_append_many - append @n rows with seq @first_seq, @first_seq + 1, ... and
 * the time @time, in one transaction: on 0 every row is durable, on failure none was added.
 */
int store_journal_append_many(struct store *st, const char *id, int64_t first_seq, const char *time,
			      const struct store_journal_row *rows, size_t n, struct mm_error *err);
/* Calls @fn for every entry of @id in seq order; stops early if @fn returns < 0. */
typedef int store_journal_fn(void *data, int64_t seq, const char *time, const char *command,
			     const char *result);
int store_journal_foreach(struct store *st, const char *id, store_journal_fn *fn, void *data,
			  struct mm_error *err);

/* The current UTC time as "2024-05-01T12:34:56.789Z". */
void store_now(char buf[32]);

#endif /* DAEMON_STORE_H */
