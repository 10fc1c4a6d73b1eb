/* SPDX-License-Identifier: MIT */
/*
 * test-store.c - the SQLite store (daemon/store.c) on a temporary file: migrations and
 * user_version, machine rows, the journal, ON DELETE CASCADE, and that a reopen neither
 * re-applies migrations nor loses data.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "schema.h"
#include "store.h"

static char dir[] = "/tmp/mm32-test-store-XXXXXX";
static char path[256];
static struct store *st;

static void setup(void)
{
	struct mm_error err = {0};

	strcpy(dir, "/tmp/mm32-test-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mm32.db", dir);
	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
}

static void teardown(void)
{
	char p[300];

	store_close(st);
	st = NULL;
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	rmdir(dir);
}

struct rows {
	int n;
	char ids[8][64];
	char configs[8][256];
	int64_t seqs[8], counts[8];
	char cmds[8][256];
	char results[8][256];
};

static int collect_machine(void *data, const char *id, const char *config, const char *created)
{
	struct rows *r = data;

	ck_assert_ptr_nonnull(created);
	ck_assert_int_eq(strlen(created), 24); /* 2024-05-01T12:34:56.789Z */
	snprintf(r->ids[r->n], 64, "%s", id);
	snprintf(r->configs[r->n], 256, "%s", config);
	r->n++;
	return 0;
}

/* One row per batch: first seq, count, and the two arrays as text. */
static int collect_batch(void *data, int64_t first_seq, int64_t n, const char *time,
			 const char *commands, size_t commands_len, const char *results,
			 size_t results_len)
{
	struct rows *r = data;

	ck_assert_int_lt(r->n, 8);
	r->seqs[r->n] = first_seq;
	r->counts[r->n] = n;
	snprintf(r->cmds[r->n], 256, "%.*s", (int)commands_len, commands);
	snprintf(r->results[r->n], 256, "%.*s", (int)results_len, results);
	ck_assert_str_eq(time, "2024-01-01T00:00:00.000Z");
	r->n++;
	return 0;
}

static int append(const char *id, int64_t first_seq, int64_t n, const char *cmds,
		  const char *results, struct mm_error *err)
{
	return store_journal_append(st, id, first_seq, n, "2024-01-01T00:00:00.000Z", cmds,
				    strlen(cmds), results, strlen(results), err);
}

START_TEST(migrations_apply)
{
	int v = -1;
	sqlite3 *db;
	sqlite3_stmt *s;

	ck_assert_int_eq(store_user_version(st, &v), 0);
	ck_assert_int_eq(v, (int)schema_nr_migrations);
	ck_assert_uint_ge(schema_nr_migrations, 1);
	ck_assert_uint_eq(schema_migrations[0].version, 1);
	ck_assert_str_eq(schema_migrations[0].name, "001_init");

	/* the tables exist with the documented columns, and WAL is on */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(
			db,
			"SELECT id, config, created_at FROM machines "
			"UNION ALL SELECT machine_id, commands, results FROM journal_batches "
			"WHERE first_seq > n",
			-1, &s, NULL),
		SQLITE_OK);
	sqlite3_finalize(s);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	sqlite3_close(db);
}
END_TEST

START_TEST(reopen_keeps_data)
{
	struct mm_error err = {0};
	struct rows r = {0};
	int v;

	ck_assert_int_eq(store_machine_insert(st, "a", "{\"mem\":1}", &err), 0);
	store_close(st);
	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(store_user_version(st, &v), 0);
	ck_assert_int_eq(v, (int)schema_nr_migrations);
	ck_assert_int_eq(store_machines_foreach(st, collect_machine, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
}
END_TEST

START_TEST(newer_schema_refused)
{
	struct mm_error err = {0};
	sqlite3 *db;

	store_close(st);
	st = NULL;
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_open(path, &st, &err), -EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "newer"));
}
END_TEST

START_TEST(machine_round_trip)
{
	struct mm_error err = {0};
	struct rows r = {0};
	const char *cfg = "{\"cmdline\":\"quiet\",\"cpus\":2,\"mem\":536870912,\"pae\":true}";

	ck_assert_int_eq(store_machine_insert(st, "zeta", "{}", &err), 0);
	ck_assert_int_eq(store_machine_insert(st, "alpha", cfg, &err), 0);
	ck_assert_int_eq(store_machine_insert(st, "alpha", cfg, &err), -EIO);
	ck_assert_int_eq(store_machines_foreach(st, collect_machine, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.ids[0], "alpha");
	ck_assert_str_eq(r.configs[0], cfg);
	ck_assert_str_eq(r.ids[1], "zeta");
	ck_assert_int_eq(store_machine_delete(st, "zeta", &err), 0);
	ck_assert_int_eq(store_machine_delete(st, "zeta", &err), -ENOENT);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(store_machines_foreach(st, collect_machine, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
}
END_TEST

START_TEST(journal_append_read_cascade)
{
	struct mm_error err = {0};
	struct rows r = {0};

	ck_assert_int_eq(store_machine_insert(st, "a", "{}", &err), 0);
	ck_assert_int_eq(store_machine_insert(st, "b", "{}", &err), 0);
	ck_assert_int_eq(append("a", 2, 2, "[{\"op\":\"y\"},{\"op\":\"z\"}]", "[1,2]", &err), 0);
	ck_assert_int_eq(append("a", 1, 1, "[{\"op\":\"x\"}]", "[{\"ok\":1}]", &err), 0);
	ck_assert_int_eq(append("b", 1, 1, "[{\"op\":\"z\"}]", "[{\"ok\":1}]", &err), 0);
	/* (machine, first seq) is unique; an unknown machine violates the foreign key; a batch
	 * holds at least one command */
	ck_assert_int_eq(append("a", 1, 1, "[{}]", "[1]", &err), -EIO);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(append("ghost", 1, 1, "[{}]", "[1]", &err), -EIO);
	ck_assert_int_eq(append("b", 2, 0, "[]", "[]", &err), -EIO);

	ck_assert_int_eq(store_journal_foreach(st, "a", collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(r.seqs[0], 1);
	ck_assert_int_eq(r.counts[0], 1);
	ck_assert_str_eq(r.cmds[0], "[{\"op\":\"x\"}]");
	ck_assert_str_eq(r.results[0], "[{\"ok\":1}]");
	ck_assert_int_eq(r.seqs[1], 2);
	ck_assert_int_eq(r.counts[1], 2);
	ck_assert_str_eq(r.results[1], "[1,2]");

	ck_assert_int_eq(store_machine_delete(st, "a", &err), 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(store_journal_foreach(st, "a", collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 0);
	ck_assert_int_eq(store_journal_foreach(st, "b", collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
}
END_TEST

/* Texts are given by length: nothing after them is stored. */
START_TEST(journal_texts_by_length)
{
	static const char blob[] = "[{\"op\":\"x\"}][1]XXXX";
	struct mm_error err = {0};
	struct rows r = {0};

	ck_assert_int_eq(store_machine_insert(st, "a", "{}", &err), 0);
	ck_assert_int_eq(store_journal_append(st, "a", 1, 1, "2024-01-01T00:00:00.000Z", blob, 12,
					      blob + 12, 3, &err),
			 0);
	/* the insert statement is kept prepared: a second append after a failure works */
	ck_assert_int_eq(store_journal_append(st, "a", 1, 1, "2024-01-01T00:00:00.000Z", blob, 12,
					      blob + 12, 3, &err),
			 -EIO);
	ck_assert_int_eq(store_journal_append(st, "a", 2, 1, "2024-01-01T00:00:00.000Z", blob, 12,
					      blob + 12, 3, &err),
			 0);
	ck_assert_int_eq(store_journal_foreach(st, "a", collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.cmds[0], "[{\"op\":\"x\"}]");
	ck_assert_str_eq(r.results[1], "[1]");
}
END_TEST

/* A database of schema 1 with journal rows: 002 makes each row a batch of one. */
START_TEST(migration_002_keeps_the_journal)
{
	struct mm_error err = {0};
	struct rows r = {0};
	sqlite3 *db;

	store_close(st);
	st = NULL;
	unlink(path);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, schema_migrations[0].sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(db,
			     "PRAGMA user_version = 1;"
			     "INSERT INTO machines VALUES ('a', '{}', '2024-01-01T00:00:00.000Z');"
			     "INSERT INTO journal VALUES ('a', 1, '2024-01-01T00:00:00.000Z',"
			     " '{\"op\":\"x\"}', '{\"ok\":1}');"
			     "INSERT INTO journal VALUES ('a', 2, '2024-01-01T00:00:00.000Z',"
			     " '{\"op\":\"y\"}', '{\"ok\":2}');",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(store_journal_foreach(st, "a", collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(r.seqs[1], 2);
	ck_assert_int_eq(r.counts[1], 1);
	ck_assert_str_eq(r.cmds[1], "[{\"op\":\"y\"}]");
	ck_assert_str_eq(r.results[0], "[{\"ok\":1}]");
}
END_TEST

START_TEST(now_format)
{
	char buf[32];

	store_now(buf);
	ck_assert_int_eq(strlen(buf), 24);
	ck_assert_int_eq(buf[10], 'T');
	ck_assert_int_eq(buf[19], '.');
	ck_assert_int_eq(buf[23], 'Z');
}
END_TEST

START_TEST(open_fails_cleanly)
{
	struct store *s2 = NULL;
	struct mm_error err = {0};

	ck_assert_int_eq(store_open("/nonexistent-dir/x/y.db", &s2, &err), -EIO);
	ck_assert_ptr_null(s2);
	ck_assert_str_ne(err.msg, "");
	store_close(NULL);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */

Suite *test_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, migrations_apply);
	tcase_add_test(tc, reopen_keeps_data);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, machine_round_trip);
	tcase_add_test(tc, journal_append_read_cascade);
	tcase_add_test(tc, journal_texts_by_length);
	tcase_add_test(tc, migration_002_keeps_the_journal);
	tcase_add_test(tc, now_format);
	tcase_add_test(tc, open_fails_cleanly);
	suite_add_tcase(s, tc);
	return s;
}
