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
	int64_t seqs[8];
	char cmds[8][256];
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

static int collect_entry(void *data, int64_t seq, const char *time, const char *command,
			 const char *result)
{
	struct rows *r = data;

	r->seqs[r->n] = seq;
	snprintf(r->cmds[r->n], 256, "%s", command);
	ck_assert_str_eq(result, "{\"ok\":1}");
	ck_assert_str_eq(time, "2024-01-01T00:00:00.000Z");
	r->n++;
	return 0;
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
		sqlite3_prepare_v2(db,
				   "SELECT id, config, created_at FROM machines "
				   "UNION ALL SELECT machine_id, command, result FROM journal",
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
	const char *t = "2024-01-01T00:00:00.000Z";

	ck_assert_int_eq(store_machine_insert(st, "a", "{}", &err), 0);
	ck_assert_int_eq(store_machine_insert(st, "b", "{}", &err), 0);
	ck_assert_int_eq(store_journal_append(st, "a", 2, t, "{\"op\":\"y\"}", "{\"ok\":1}", &err),
			 0);
	ck_assert_int_eq(store_journal_append(st, "a", 1, t, "{\"op\":\"x\"}", "{\"ok\":1}", &err),
			 0);
	ck_assert_int_eq(store_journal_append(st, "b", 1, t, "{\"op\":\"z\"}", "{\"ok\":1}", &err),
			 0);
	/* (machine, seq) is unique; an unknown machine violates the foreign key */
	ck_assert_int_eq(store_journal_append(st, "a", 1, t, "{}", "{\"ok\":1}", &err), -EIO);
	ck_assert_int_eq(store_journal_append(st, "ghost", 1, t, "{}", "{\"ok\":1}", &err), -EIO);

	ck_assert_int_eq(store_journal_foreach(st, "a", collect_entry, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(r.seqs[0], 1);
	ck_assert_str_eq(r.cmds[0], "{\"op\":\"x\"}");
	ck_assert_int_eq(r.seqs[1], 2);

	ck_assert_int_eq(store_machine_delete(st, "a", &err), 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(store_journal_foreach(st, "a", collect_entry, &r, &err), 0);
	ck_assert_int_eq(r.n, 0);
	ck_assert_int_eq(store_journal_foreach(st, "b", collect_entry, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
}
END_TEST

START_TEST(journal_append_many_is_one_transaction)
{
	/* texts are addressed by length: no NUL after them */
	static const char blob[] = "{\"op\":\"x\"}{\"op\":\"y\"}{\"ok\":1}XXXX";
	struct store_journal_row rows[3] = {
		{blob, 10, blob + 20, 8},
		{blob + 10, 10, blob + 20, 8},
		{blob, 10, blob + 20, 8},
	};
	struct mm_error err = {0};
	struct rows r = {0};
	const char *t = "2024-01-01T00:00:00.000Z";

	ck_assert_int_eq(store_machine_insert(st, "a", "{}", &err), 0);
	ck_assert_int_eq(store_journal_append_many(st, "a", 1, t, rows, 0, &err), 0);
	ck_assert_msg(store_journal_append_many(st, "a", 1, t, rows, 2, &err) == 0, "%s", err.msg);
	/* seq 8 exists: the whole append of 8..10 fails, 9 and 10 are not added either */
	ck_assert_int_eq(store_journal_append_many(st, "a", 3, t, rows, 1, &err), 0);
	ck_assert_int_eq(store_journal_append_many(st, "a", 4, t, rows, 1, &err), 0);
	ck_assert_int_eq(store_journal_append_many(st, "a", 5, t, rows, 1, &err), 0);
	ck_assert_int_eq(store_journal_append_many(st, "a", 6, t, rows, 3, &err), 0);
	ck_assert_int_eq(store_journal_append_many(st, "a", 8, t, rows, 3, &err), -EIO);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(store_journal_foreach(st, "a", collect_entry, &r, &err), 0);
	ck_assert_int_eq(r.n, 8);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(r.seqs[i], i + 1);
	ck_assert_str_eq(r.cmds[0], "{\"op\":\"x\"}");
	ck_assert_str_eq(r.cmds[1], "{\"op\":\"y\"}");
	ck_assert_str_eq(r.cmds[6], "{\"op\":\"y\"}");
	ck_assert_str_eq(r.cmds[7], "{\"op\":\"x\"}");
	/* the store still works after a failed transaction */
	ck_assert_int_eq(store_journal_append_many(st, "a", 9, t, rows, 3, &err), 0);
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
	tcase_add_test(tc, journal_append_many_is_one_transaction);
	tcase_add_test(tc, now_format);
	tcase_add_test(tc, open_fails_cleanly);
	suite_add_tcase(s, tc);
	return s;
}
