/* SPDX-License-Identifier: MIT */
/*
 * test-store.c - the SQLite store (daemon/store.c, store-snap.c) on a temporary file:
 * migrations and user_version, machine rows, the journal, ON DELETE CASCADE, and that a
 * reopen neither re-applies migrations nor loses data; snapshots: frames written once per
 * content, the frame map read back, a writer that ends without commit leaves nothing, deletes
 * that keep what a machine needs, garbage collection, machines inserted with their journal
 * in one transaction.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
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

/* The snapshot frames' file beside the store's (daemon/store.c, attach_frames()). */
static const char *frames_path(void)
{
	static char p[300];

	snprintf(p, sizeof(p), "%s.frames", path);
	return p;
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
	/* the snapshot frames' file beside it, with its WAL */
	snprintf(p, sizeof(p), "%s.frames", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.frames-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.frames-shm", path);
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

static int collect_machine(void *data, const struct store_machine *m)
{
	struct rows *r = data;

	ck_assert_ptr_nonnull(m->created_at);
	ck_assert_int_eq(strlen(m->created_at), 24); /* 2024-05-01T12:34:56.789Z */
	snprintf(r->ids[r->n], 64, "%s", m->id);
	snprintf(r->configs[r->n], 256, "%s", m->config);
	r->seqs[r->n] = m->last_seq;
	r->counts[r->n] = m->base_snapshot;
	r->n++;
	return 0;
}

static int machine_insert(const char *id, const char *config, struct mm_error *err)
{
	struct store_machine m = {.id = id, .config = config};

	return store_machine_insert(st, &m, NULL, 0, NULL, 0, err);
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

	ck_assert_int_eq(machine_insert("a", "{\"mem\":1}", &err), 0);
	store_close(st);
	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(store_user_version(st, &v), 0);
	ck_assert_int_eq(v, (int)schema_nr_migrations);
	ck_assert_int_eq(store_machines_foreach(st, NULL, collect_machine, &r, &err), 0);
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

	ck_assert_int_eq(machine_insert("zeta", "{}", &err), 0);
	ck_assert_int_eq(machine_insert("alpha", cfg, &err), 0);
	ck_assert_int_eq(machine_insert("alpha", cfg, &err), -EEXIST);
	ck_assert_int_eq(store_machines_foreach(st, NULL, collect_machine, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.ids[0], "alpha");
	ck_assert_str_eq(r.configs[0], cfg);
	ck_assert_str_eq(r.ids[1], "zeta");
	ck_assert_int_eq(store_machine_delete(st, "zeta", &err), 0);
	ck_assert_int_eq(store_machine_delete(st, "zeta", &err), -ENOENT);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(store_machines_foreach(st, NULL, collect_machine, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
}
END_TEST

START_TEST(journal_append_read_cascade)
{
	struct mm_error err = {0};
	struct rows r = {0};

	ck_assert_int_eq(machine_insert("a", "{}", &err), 0);
	ck_assert_int_eq(machine_insert("b", "{}", &err), 0);
	ck_assert_int_eq(append("a", 2, 2, "[{\"op\":\"y\"},{\"op\":\"z\"}]", "[1,2]", &err), 0);
	ck_assert_int_eq(append("a", 1, 1, "[{\"op\":\"x\"}]", "[{\"ok\":1}]", &err), 0);
	ck_assert_int_eq(append("b", 1, 1, "[{\"op\":\"z\"}]", "[{\"ok\":1}]", &err), 0);
	/* (machine, first seq) is unique; an unknown machine violates the foreign key; a batch
	 * holds at least one command */
	ck_assert_int_eq(append("a", 1, 1, "[{}]", "[1]", &err), -EIO);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(append("ghost", 1, 1, "[{}]", "[1]", &err), -EIO);
	ck_assert_int_eq(append("b", 2, 0, "[]", "[]", &err), -EIO);

	ck_assert_int_eq(store_journal_foreach(st, "a", 0, collect_batch, &r, &err), 0);
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
	ck_assert_int_eq(store_journal_foreach(st, "a", 0, collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 0);
	ck_assert_int_eq(store_journal_foreach(st, "b", 0, collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
}
END_TEST

/* ---- the group commit ---- */

#define GROUP 8

struct group_arg {
	int i;
	int64_t seq;
	const char *cmds; /* NULL: a small one */
	int r;
	struct mm_error err;
};

struct group_run {
	struct group_arg args[GROUP];
	pthread_t t[GROUP];
};

static void *group_appender(void *data)
{
	struct group_arg *a = data;
	char id[16];

	snprintf(id, sizeof(id), "g%d", a->i);
	a->r = append(id, a->seq, 1, a->cmds ? a->cmds : "[{\"op\":\"x\"}]", "[1]", &a->err);
	return NULL;
}

/* Called with the store's lock held (store_machines_foreach()): the appenders queue up
 * behind it until every one of them waits; when it returns, they go at once. */
static int group_hold(void *data, const struct store_machine *m)
{
	struct group_run *g = data;
	struct store_group_stats gs;

	(void)m;
	for (int i = 0; i < GROUP; i++)
		ck_assert_int_eq(pthread_create(&g->t[i], NULL, group_appender, &g->args[i]), 0);
	do {
		usleep(1000);
		store_group_stats(st, &gs);
	} while (gs.queued < GROUP);
	return -1; /* stop: one machine is enough */
}

/* GROUP appenders of one row each, all waiting at once; returns when all are done. */
static void group_run(struct group_run *g)
{
	struct mm_error err = {0};

	ck_assert_int_eq(store_machines_foreach(st, "g0", group_hold, g, &err), -1);
	for (int i = 0; i < GROUP; i++)
		pthread_join(g->t[i], NULL);
}

static int64_t journal_rows(const char *id)
{
	struct mm_error err = {0};
	struct rows r = {0};

	ck_assert_msg(store_journal_foreach(st, id, 0, collect_batch, &r, &err) == 0, "%s",
		      err.msg);
	return r.n;
}

/* Rows that arrive while the store is busy are committed together: one transaction (one
 * sync) for the eight of them, each durable when its call returns. */
START_TEST(group_commit_one_transaction)
{
	struct mm_error err = {0};
	struct store_group_stats before, after;
	struct group_run g = {0};

	for (int i = 0; i < GROUP; i++) {
		char id[16];

		snprintf(id, sizeof(id), "g%d", i);
		ck_assert_int_eq(machine_insert(id, "{}", &err), 0);
		g.args[i] = (struct group_arg){.i = i, .seq = 1};
	}
	store_group_stats(st, &before);
	group_run(&g);
	store_group_stats(st, &after);
	for (int i = 0; i < GROUP; i++) {
		char id[16];

		ck_assert_msg(g.args[i].r == 0, "%s", g.args[i].err.msg);
		snprintf(id, sizeof(id), "g%d", i);
		ck_assert_int_eq(journal_rows(id), 1);
	}
	ck_assert_int_eq(after.rows - before.rows, GROUP);
	ck_assert_int_eq(after.commits - before.commits, 1);
	ck_assert_int_eq(after.queued, 0);
	/* alone, a row is its own commit */
	ck_assert_int_eq(append("g0", 2, 1, "[{}]", "[1]", &err), 0);
	store_group_stats(st, &before);
	ck_assert_int_eq(before.commits - after.commits, 1);
}
END_TEST

/* A row of the group that fails (its seq is taken, its machine is gone) fails alone: the
 * others are committed, and it left nothing behind. */
START_TEST(group_commit_row_fails_alone)
{
	struct mm_error err = {0};
	struct group_run g = {0};

	for (int i = 0; i < GROUP; i++) {
		char id[16];

		snprintf(id, sizeof(id), "g%d", i);
		if (i != 5)
			ck_assert_int_eq(machine_insert(id, "{}", &err), 0);
		g.args[i] = (struct group_arg){.i = i, .seq = 1};
	}
	ck_assert_int_eq(append("g3", 1, 1, "[{}]", "[1]", &err), 0);
	group_run(&g);
	for (int i = 0; i < GROUP; i++) {
		char id[16];

		snprintf(id, sizeof(id), "g%d", i);
		if (i == 3 || i == 5) {
			ck_assert_msg(g.args[i].r == -EIO, "row %d: %d", i, g.args[i].r);
			ck_assert_str_ne(g.args[i].err.msg, "");
		} else {
			ck_assert_msg(g.args[i].r == 0, "%s", g.args[i].err.msg);
		}
		ck_assert_int_eq(journal_rows(id), i == 5 ? 0 : 1);
	}
}
END_TEST

/* A full disk in the middle of a group: what returned 0 is in the journal, what failed is
 * not (over-capacity, so its caller undoes its commands), and later appends go on. */
START_TEST(group_commit_full_disk)
{
	struct mm_error err = {0};
	struct group_run g = {0};
	static char big[80000];
	int failed = 0;

	/* rows larger than a page, even zstd-compressed (the journal compresses long commands
	 * texts): each one needs pages the file cannot grow by */
	for (size_t i = 0, x = 12345; i < sizeof(big) - 1; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		big[i] = (char)('!' + (x >> 33) % 94);
	}
	for (int i = 0; i < GROUP; i++) {
		char id[16];

		snprintf(id, sizeof(id), "g%d", i);
		ck_assert_int_eq(machine_insert(id, "{}", &err), 0);
		g.args[i] = (struct group_arg){.i = i, .seq = 1, .cmds = big};
	}
	ck_assert_int_eq(store_limit_size(st, 0, &err), 0);
	group_run(&g);
	for (int i = 0; i < GROUP; i++) {
		char id[16];

		snprintf(id, sizeof(id), "g%d", i);
		if (g.args[i].r) {
			ck_assert_int_eq(g.args[i].r, -EXFULL);
			ck_assert_str_ne(g.args[i].err.msg, "");
			failed++;
		}
		ck_assert_int_eq(journal_rows(id), g.args[i].r ? 0 : 1);
	}
	ck_assert_int_gt(failed, 0);
	ck_assert_int_eq(store_limit_size(st, -1, &err), 0);
	ck_assert_msg(append("g0", 9, 1, big, "[1]", &err) == 0, "%s", err.msg);
}
END_TEST

/* Texts are given by length: nothing after them is stored. */
START_TEST(journal_texts_by_length)
{
	static const char blob[] = "[{\"op\":\"x\"}][1]XXXX";
	struct mm_error err = {0};
	struct rows r = {0};

	ck_assert_int_eq(machine_insert("a", "{}", &err), 0);
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
	ck_assert_int_eq(store_journal_foreach(st, "a", 0, collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_str_eq(r.cmds[0], "[{\"op\":\"x\"}]");
	ck_assert_str_eq(r.results[1], "[1]");
}
END_TEST

/* A long text, as collected whole (collect_text). */
struct text_rows {
	size_t n;
	char *text[4];
	size_t len[4];
};

static int collect_text(void *data, int64_t first_seq, int64_t n, const char *time,
			const char *commands, size_t commands_len, const char *results,
			size_t results_len)
{
	struct text_rows *r = data;

	ck_assert_uint_lt(r->n, 4);
	ck_assert_uint_eq(commands[commands_len], '\0');
	r->text[r->n] = strndup(commands, commands_len);
	r->len[r->n] = commands_len;
	r->n++;
	return 0;
}

/* The bytes of the batches' commands as stored: length(commands), length(commands_zstd). */
static void stored_sizes(int64_t first_seq, int64_t *text, int64_t *z)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_prepare_v2(db,
				   "SELECT length(commands), coalesce(length(commands_zstd), "
				   "-1) FROM journal_batches WHERE first_seq = ?1",
				   -1, &s, NULL),
		SQLITE_OK);
	sqlite3_bind_int64(s, 1, first_seq);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	*text = sqlite3_column_int64(s, 0);
	*z = sqlite3_column_int64(s, 1);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/*
 * schema/005: a large commands text (memory_write's hex) is stored as a zstd frame of about
 * half its size for random bytes, and read back byte for byte; a small one stays text; a row
 * of the old format (text, commands_zstd NULL) reads as before; a damaged frame is -EIO.
 */
START_TEST(journal_large_commands_compressed)
{
	static const char pre[] = "[{\"op\":\"memory_write\",\"addr\":\"0x1000\",\"data\":\"";
	size_t nbytes = 32768, len = sizeof(pre) - 1 + 2 * nbytes + 3;
	char *big = malloc(len + 1), *p = big;
	struct mm_error err = {0};
	struct text_rows r = {0};
	int64_t text, z;
	sqlite3 *db;

	p += sprintf(p, "%s", pre);
	srand(5);
	for (size_t i = 0; i < nbytes; i++)
		p += sprintf(p, "%02x", (unsigned)rand() & 0xff);
	p += sprintf(p, "\"}]");
	ck_assert_uint_eq((size_t)(p - big), len);
	ck_assert_int_eq(machine_insert("a", "{}", &err), 0);
	ck_assert_int_eq(append("a", 1, 1, big, "[{}]", &err), 0);
	ck_assert_int_eq(append("a", 2, 1, "[{\"op\":\"x\"}]", "[1]", &err), 0);
	stored_sizes(1, &text, &z);
	ck_assert_int_eq(text, 0);
	/* random bytes: a byte written costs a byte stored, and a little */
	ck_assert_int_ge(z, (int64_t)nbytes);
	ck_assert_int_le(z, (int64_t)nbytes * 21 / 20);
	stored_sizes(2, &text, &z);
	ck_assert_int_eq(text, 12);
	ck_assert_int_eq(z, -1);
	/* a row as a database of schema 4 holds it, after the migration */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(db,
			     "INSERT INTO journal_batches (machine_id, first_seq, n, time, "
			     "commands, results) VALUES ('a', 3, 1, "
			     "'2024-01-01T00:00:00.000Z', '[{\"op\":\"old\"}]', '[2]')",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_journal_foreach(st, "a", 0, collect_text, &r, &err), 0);
	ck_assert_uint_eq(r.n, 3);
	ck_assert_uint_eq(r.len[0], len);
	ck_assert_int_eq(memcmp(r.text[0], big, len), 0);
	ck_assert_str_eq(r.text[1], "[{\"op\":\"x\"}]");
	ck_assert_str_eq(r.text[2], "[{\"op\":\"old\"}]");
	for (size_t i = 0; i < r.n; i++)
		free(r.text[i]);
	/* a damaged frame: refused, not trusted */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
				      "UPDATE journal_batches SET commands_zstd = "
				      "substr(commands_zstd, 1, 100) WHERE first_seq = 1",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(store_journal_foreach(st, "a", 0, collect_text, &r, &err), -EIO);
	ck_assert_ptr_nonnull(strstr(err.msg, "seq 1"));
	free(big);
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
	ck_assert_int_eq(store_journal_foreach(st, "a", 0, collect_batch, &r, &err), 0);
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

/* ---- snapshots ---------------------------------------------------------------------------- */

static bool hash_of_raw; /* the hashes of migration_004_keeps_frames: k, then zeros */

static void hash_of(uint8_t h[16], unsigned int k)
{
	memset(h, 0, 16);
	memcpy(h, &k, sizeof(k));
	if (!hash_of_raw)
		h[15] = 0xa5;
}

/* Write a snapshot of machine @id at @seq mapping pfn i -> content @contents[i] (0: skip),
 * each content k stored as the 3 bytes "f" k; return its id. */
static int64_t write_snapshot(const char *id, int64_t seq, const unsigned int *contents, size_t n,
			      int64_t *ret_new)
{
	struct store_snap_writer *w;
	struct store_snapshot meta = {0};
	struct mm_error err = {0};
	int64_t sid;

	ck_assert_msg(store_snap_writer_begin(st, 0, &w, &err) == 0, "%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		uint8_t h[16], data[3] = {'f', (uint8_t)contents[i], (uint8_t)(contents[i] >> 8)};
		int64_t fid;

		if (!contents[i])
			continue;
		hash_of(h, contents[i]);
		ck_assert_int_eq(store_snap_writer_lookup(w, h, &fid, &err), 0);
		if (!fid)
			ck_assert_int_eq(
				store_snap_writer_add(w, h, data, sizeof(data), &fid, &err), 0);
		ck_assert_int_eq(store_snap_writer_map(w, i, fid, &err), 0);
	}
	snprintf(meta.machine_id, sizeof(meta.machine_id), "%s", id);
	meta.seq = seq;
	meta.config = "{\"mem\":1}";
	meta.format = 1;
	snprintf(meta.state_hash, sizeof(meta.state_hash), "%032x", (unsigned int)seq);
	meta.state_size = 5;
	ck_assert_msg(store_snap_writer_commit(w, &meta, "state", 5, &sid, &err) == 0, "%s",
		      err.msg);
	store_snap_writer_end(w);
	ck_assert_int_eq(meta.id, sid);
	if (ret_new)
		*ret_new = meta.new_frames;
	return sid;
}

/* Read snapshot @sid back: every mapped pfn has the content written for it. */
static void check_snapshot(int64_t sid, const unsigned int *contents, size_t n)
{
	struct store_snap_reader *r;
	struct store_snapshot meta;
	struct mm_error err = {0};
	const void *state, *data;
	size_t state_len, len, seen = 0;
	uint64_t pfn;
	int k;

	ck_assert_msg(store_snap_reader_open(st, sid, true, &r, &meta, &state, &state_len, &err) ==
			      0,
		      "%s", err.msg);
	ck_assert_int_eq(state_len, 5);
	ck_assert(!memcmp(state, "state", 5));
	ck_assert_str_eq(meta.config, "{\"mem\":1}");
	while ((k = store_snap_reader_next(r, &pfn, &data, &len, &err)) > 0) {
		ck_assert_uint_lt(pfn, n);
		ck_assert_uint_ne(contents[pfn], 0);
		ck_assert_uint_eq(len, 3);
		ck_assert_uint_eq(((const uint8_t *)data)[1], (uint8_t)contents[pfn]);
		seen++;
	}
	ck_assert_int_eq(k, 0);
	for (size_t i = 0; i < n; i++)
		seen -= contents[i] != 0;
	ck_assert_uint_eq(seen, 0);
	ck_assert_int_eq(meta.nr_frames, (int64_t)(meta.nr_frames));
	store_snapshot_finish(&meta);
	store_snap_reader_close(r);
}

/* The distinct non-zero contents of @v. */
static int64_t distinct(const unsigned int *v, size_t n)
{
	static bool seen[65536];
	int64_t k = 0;

	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < n; i++) {
		if (v[i] && !seen[v[i] & 0xffff]) {
			seen[v[i] & 0xffff] = true;
			k++;
		}
	}
	return k;
}

START_TEST(snapshot_frames_once_per_content)
{
	/* 3000 pfns with gaps and repeated contents: more than one flush of the writer */
	static unsigned int a[3000], b[3000];
	struct store_stats stats;
	struct mm_error err = {0};
	int64_t s1, s2, n1, n2;

	ck_assert_int_eq(machine_insert("m", "{}", &err), 0);
	for (unsigned int i = 0; i < 3000; i++)
		a[i] = i % 7 == 3 ? 0 : 1 + i % 2500; /* contents 1..2500, some twice */
	memcpy(b, a, sizeof(b));
	b[10] = 2601; /* two frames change */
	b[2999] = 2602;
	s1 = write_snapshot("m", 5, a, 3000, &n1);
	s2 = write_snapshot("m", 9, b, 3000, &n2);
	ck_assert_int_eq(n1, distinct(a, 3000));
	ck_assert_int_lt(n1, 2500); /* repeated contents are stored once */
	ck_assert_int_eq(n2, 2);    /* the second snapshot adds only what changed */
	check_snapshot(s1, a, 3000);
	check_snapshot(s2, b, 3000);
	ck_assert_int_eq(store_stats(st, &stats, &err), 0);
	ck_assert_int_eq(stats.frames, n1 + 2);
	ck_assert_int_eq(stats.frame_bytes, (n1 + 2) * 3);
	ck_assert_int_eq(stats.snapshots, 2);
	{
		struct store_snapshot meta;

		ck_assert_int_eq(store_snapshot_latest(st, "m", -1, &meta, &err), 0);
		ck_assert_int_eq(meta.id, s2);
		ck_assert_int_eq(meta.nr_frames, 3000 - (3000 + 3) / 7 + 2); /* b[10], b[2999] */
		store_snapshot_finish(&meta);
		ck_assert_int_eq(store_snapshot_latest(st, "m", 8, &meta, &err), 0);
		ck_assert_int_eq(meta.id, s1);
		store_snapshot_finish(&meta);
		ck_assert_int_eq(store_snapshot_latest(st, "m", 4, &meta, &err), -ENOENT);
		ck_assert_int_eq(store_snapshot_latest(st, "other", -1, &meta, &err), -ENOENT);
	}
	/* deleting the first collects nothing: the second maps all but one of its frames */
	{
		struct store_gc_stats gc;
		bool retained = true;

		ck_assert_int_eq(store_snapshot_delete(st, "m", s1, &retained, &err), 0);
		ck_assert(!retained);
		ck_assert_int_eq(store_snapshot_delete(st, "m", s1, &retained, &err), -ENOENT);
		ck_assert_int_eq(store_gc(st, &gc, &err), 0);
		ck_assert_int_eq(gc.frames, n1 + 2 - distinct(b, 3000));
		ck_assert_int_eq(gc.bytes, gc.frames * 3);
		check_snapshot(s2, b, 3000);
		ck_assert_int_eq(store_snapshot_delete(st, "m", s2, &retained, &err), 0);
		ck_assert_int_eq(store_gc(st, &gc, &err), 0);
		ck_assert_int_eq(gc.frames, distinct(b, 3000));
		ck_assert_int_eq(store_stats(st, &stats, &err), 0);
		ck_assert_int_eq(stats.frames, 0);
		ck_assert_int_eq(stats.snapshots, 0);
	}
}
END_TEST

/* A writer that ends without commit leaves no frame behind, even after flushes. */
START_TEST(snapshot_writer_abandoned)
{
	static unsigned int a[5000];
	struct store_snap_writer *w;
	struct store_stats stats;
	struct mm_error err = {0};
	int64_t s1;

	ck_assert_int_eq(machine_insert("m", "{}", &err), 0);
	a[1] = 7;
	s1 = write_snapshot("m", 1, a, 2, NULL);
	ck_assert_int_eq(store_snap_writer_begin(st, 0, &w, &err), 0);
	for (unsigned int i = 0; i < 5000; i++) {
		uint8_t h[16];
		int64_t fid;

		hash_of(h, 10000 + i);
		ck_assert_int_eq(store_snap_writer_add(w, h, "xyz", 3, &fid, &err), 0);
	}
	store_snap_writer_end(w);
	ck_assert_int_eq(store_stats(st, &stats, &err), 0);
	ck_assert_int_eq(stats.frames, 1);
	check_snapshot(s1, a, 2);
}
END_TEST

/* A deleted snapshot a machine needs stays, unlisted, until that machine goes. */
START_TEST(snapshot_kept_while_needed)
{
	static unsigned int a[4] = {0, 1, 2, 3};
	struct store_snapshot meta;
	struct store_gc_stats gc;
	struct store_stats stats;
	struct mm_error err = {0};
	struct store_machine clone = {.id = "c", .config = "{\"mem\":1}"};
	bool retained = false;
	int64_t s1, s2;

	ck_assert_int_eq(machine_insert("m", "{}", &err), 0);
	s1 = write_snapshot("m", 3, a, 4, NULL);
	s2 = write_snapshot("m", 4, a, 4, NULL);
	clone.base_snapshot = s1;
	ck_assert_int_eq(store_machine_insert(st, &clone, NULL, 0, NULL, 0, &err), 0);
	ck_assert_int_eq(machine_insert("r", "{}", &err), 0);
	ck_assert_int_eq(store_snapshot_use(st, s2, "r", &err), 0);
	ck_assert_int_eq(store_snapshot_use(st, s2, "r", &err), 0); /* once is enough */
	ck_assert_int_eq(store_snapshot_use(st, 999, "r", &err), -ENOENT);
	ck_assert_int_eq(store_snapshot_get(st, s2, &meta, &err), 0);
	ck_assert_int_eq(meta.uses, 1);
	store_snapshot_finish(&meta);

	/* the machine goes: its snapshots are deleted, but both are needed */
	ck_assert_int_eq(store_machine_delete(st, "m", &err), 0);
	ck_assert_int_eq(store_gc(st, &gc, &err), 0);
	ck_assert_int_eq(gc.frames, 0);
	ck_assert_int_eq(store_snapshot_get(st, s1, &meta, &err), 0);
	ck_assert(meta.deleted);
	store_snapshot_finish(&meta);
	ck_assert_int_eq(store_stats(st, &stats, &err), 0);
	ck_assert_int_eq(stats.snapshots, 0);
	ck_assert_int_eq(stats.retained, 2);
	check_snapshot(s1, a, 4);
	/* no longer listed, still readable for a replay */
	{
		struct store_snap_reader *r;
		const void *state;
		size_t len;

		ck_assert_int_eq(
			store_snap_reader_open(st, s1, false, &r, &meta, &state, &len, &err),
			-ENOENT);
		ck_assert_int_eq(
			store_snap_reader_open(st, s1, true, &r, &meta, &state, &len, &err), 0);
		store_snapshot_finish(&meta);
		store_snap_reader_close(r);
	}
	ck_assert_int_eq(store_snapshot_delete(st, "m", s1, &retained, &err), -ENOENT);
	/* the machines that need them go: so do they, and their frames */
	ck_assert_int_eq(store_machine_delete(st, "c", &err), 0);
	ck_assert_int_eq(store_snapshot_get(st, s1, &meta, &err), -ENOENT);
	ck_assert_int_eq(store_machine_delete(st, "r", &err), 0);
	ck_assert_int_eq(store_snapshot_get(st, s2, &meta, &err), -ENOENT);
	ck_assert_int_eq(store_gc(st, &gc, &err), 0);
	ck_assert_int_eq(gc.frames, 3);
	(void)retained;
}
END_TEST

/* The journal of another machine, written from a second thread until told to stop. */
struct journal_writer {
	volatile int stop;
	int failed;
	int64_t batches;
	char msg[256];
};

static void *journal_writer_main(void *arg)
{
	struct journal_writer *jw = arg;
	struct mm_error err = {0};

	while (!jw->stop && !jw->failed) {
		if (append("w", jw->batches + 1, 1, "[{\"op\":\"x\"}]", "[{}]", &err) < 0) {
			jw->failed = 1;
			snprintf(jw->msg, sizeof(jw->msg), "%s", err.msg);
		}
		jw->batches++;
	}
	return NULL;
}

/* Snapshots deleted and their frames collected while another machine's journal is being
 * written: every delete and collection succeeds (issue 15: "collecting frames: database
 * is locked", a read transaction left open by a statement stepped once and never reset). */
START_TEST(gc_beside_journal_writes)
{
	struct journal_writer jw = {0};
	struct store_gc_stats gc;
	struct mm_error err = {0};
	int64_t collected = 0;
	pthread_t t;

	/* what is tested is the collector beside the writers, not the disk: without a sync per
	 * commit (two per snapshot, one per append) the thirty rounds fit the test's time on a
	 * busy host */
	ck_assert_int_eq(store_set_sync(st, STORE_SYNC_NORMAL, &err), 0);
	ck_assert_int_eq(machine_insert("m", "{}", &err), 0);
	ck_assert_int_eq(machine_insert("w", "{}", &err), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, journal_writer_main, &jw), 0);
	for (unsigned int round = 1; round <= 30; round++) {
		unsigned int v[4] = {0, 100 + round, 200 + round, 300 + round};
		bool retained = true;
		int64_t sid = write_snapshot("m", round, v, 4, NULL);
		int r;

		r = store_snapshot_delete(st, "m", sid, &retained, &err);
		ck_assert_msg(r == 0, "round %u: delete: %s", round, err.msg);
		ck_assert(!retained);
		r = store_gc(st, &gc, &err);
		ck_assert_msg(r == 0, "round %u: gc: %s", round, err.msg);
		collected += gc.frames;
	}
	jw.stop = 1;
	pthread_join(t, NULL);
	ck_assert_msg(!jw.failed, "journal: %s", jw.msg);
	ck_assert_int_gt(jw.batches, 0);
	ck_assert_int_eq(collected, 30 * 3);
}
END_TEST

/* A machine with its journal and the snapshots it needs: all or nothing. */
START_TEST(machine_with_journal_all_or_nothing)
{
	static unsigned int a[2] = {0, 1};
	struct store_batch b[2] = {
		{1, 2, "2024-01-01T00:00:00.000Z", "[{\"op\":\"x\"},{\"op\":\"y\"}]", 23, "[1,2]",
		 5},
		{3, 1, "2024-01-01T00:00:00.000Z", "[{\"op\":\"z\"}]", 12, "[3]", 3},
	};
	struct store_machine m = {.id = "n", .config = "{}", .origin = "{\"kind\":\"import\"}"};
	struct mm_error err = {0};
	struct rows r = {0};
	int64_t uses[2], sid;

	ck_assert_int_eq(machine_insert("m", "{}", &err), 0);
	sid = write_snapshot("m", 1, a, 2, NULL);
	uses[0] = sid;
	uses[1] = sid + 100; /* gone */
	ck_assert_int_eq(store_machine_insert(st, &m, b, 2, uses, 2, &err), -ENOENT);
	ck_assert_int_eq(store_machines_foreach(st, "n", collect_machine, &r, &err), -ENOENT);
	ck_assert_int_eq(store_journal_foreach(st, "n", 0, collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 0);
	ck_assert_int_eq(store_machine_insert(st, &m, b, 2, uses, 1, &err), 0);
	ck_assert_int_eq(store_machines_foreach(st, "n", collect_machine, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
	ck_assert_int_eq(r.seqs[0], 3); /* the last seq */
	memset(&r, 0, sizeof(r));
	/* only the rows after a seq */
	ck_assert_int_eq(store_journal_foreach(st, "n", 2, collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
	ck_assert_int_eq(r.seqs[0], 3);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(store_journal_foreach(st, "n", 1, collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(store_machine_insert(st, &m, NULL, 0, NULL, 0, &err), -EEXIST);
}
END_TEST

/* A database of schema 2 with machines and a journal: 003 adds the snapshot tables and keeps
 * everything; the file's pragmas are what store.h says. */
START_TEST(migration_003_keeps_machines)
{
	struct mm_error err = {0};
	struct rows r = {0};
	sqlite3 *db;
	sqlite3_stmt *s;

	store_close(st);
	st = NULL;
	unlink(path);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, schema_migrations[0].sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, schema_migrations[1].sql, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(db,
			     "PRAGMA user_version = 2;"
			     "INSERT INTO machines VALUES ('a', '{}', '2024-01-01T00:00:00.000Z');"
			     "INSERT INTO journal_batches VALUES ('a', 1, 1, "
			     "'2024-01-01T00:00:00.000Z', '[{\"op\":\"x\"}]', '[1]');",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(store_machines_foreach(st, NULL, collect_machine, &r, &err), 0);
	ck_assert_int_eq(r.n, 1);
	ck_assert_int_eq(r.seqs[0], 1);
	ck_assert_int_eq(r.counts[0], 0); /* no base snapshot */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	sqlite3_close(db);
}
END_TEST

START_TEST(sync_modes)
{
	enum store_sync m;
	struct mm_error err = {0};

	ck_assert_int_eq(store_sync_parse("full", &m), 0);
	ck_assert_int_eq(m, STORE_SYNC_FULL);
	ck_assert_int_eq(store_sync_parse("normal", &m), 0);
	ck_assert_int_eq(m, STORE_SYNC_NORMAL);
	ck_assert_int_eq(store_sync_parse("off", &m), -EINVAL);
	ck_assert_str_eq(store_sync_name(STORE_SYNC_NORMAL), "normal");
	ck_assert_str_eq(store_sync_name(STORE_SYNC_FULL), "full");
	ck_assert_int_eq(store_set_sync(st, STORE_SYNC_NORMAL, &err), 0);
	ck_assert_int_eq(machine_insert("a", "{}", &err), 0);
	ck_assert_int_eq(append("a", 1, 1, "[{}]", "[1]", &err), 0);
	ck_assert_int_eq(store_set_sync(st, STORE_SYNC_FULL, &err), 0);
}
END_TEST

/* PRAGMA @sql's integer on @db. */
static int64_t db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* A new store: the journal in 4 KiB pages (a command writes little), the frames in a file of
 * their own in 64 KiB pages; the main file holds no frames. */
START_TEST(page_sizes_of_a_new_store)
{
	static unsigned int a[3] = {1, 2, 3};
	sqlite3 *db;

	ck_assert_int_eq(machine_insert("m", "{}", &(struct mm_error){0}), 0);
	write_snapshot("m", 1, a, 3, NULL);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(db_int(db, "PRAGMA page_size"), 4096);
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'frames'"), 0);
	sqlite3_close(db);
	ck_assert_int_eq(sqlite3_open(frames_path(), &db), SQLITE_OK);
	ck_assert_int_eq(db_int(db, "PRAGMA page_size"), 65536);
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM frame_keys"), 3);
	sqlite3_close(db);
	check_snapshot(1, a, 3);
}
END_TEST

/* A database of the format before: one file of 64 KiB pages with the frames in it. It opens,
 * its frames move to their own file (nothing lost: the snapshot reads back, its contents
 * are known and not stored again), it keeps its page size, and its journal goes on. */
START_TEST(database_of_one_file_migrates)
{
	static unsigned int a[3] = {1, 2, 3};
	struct mm_error err = {0};
	struct store_stats stats;
	struct rows r = {0};
	char p[400];
	sqlite3 *db;
	int64_t n;

	ck_assert_int_eq(machine_insert("m", "{}", &err), 0);
	ck_assert_int_eq(append("m", 1, 1, "[{}]", "[1]", &err), 0);
	write_snapshot("m", 1, a, 3, NULL);
	store_close(st);
	st = NULL;
	/* back to the old layout: the frames in the main file, of 64 KiB pages */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(p, sizeof(p), "ATTACH DATABASE '%s' AS fr", frames_path());
	ck_assert_int_eq(sqlite3_exec(db, p, NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(db,
			     "CREATE TABLE main.frames (id INTEGER PRIMARY KEY, data BLOB "
			     "NOT NULL);"
			     "CREATE TABLE main.frame_keys (id INTEGER PRIMARY KEY REFERENCES "
			     "frames(id) ON DELETE CASCADE, hash BLOB NOT NULL CHECK "
			     "(length(hash) = 16), size INTEGER NOT NULL);"
			     "INSERT INTO main.frames SELECT * FROM fr.frames;"
			     "INSERT INTO main.frame_keys SELECT * FROM fr.frame_keys;"
			     "DETACH DATABASE fr;"
			     "PRAGMA journal_mode = DELETE; PRAGMA page_size = 65536; VACUUM;"
			     "PRAGMA journal_mode = WAL;",
			     NULL, NULL, NULL),
		SQLITE_OK);
	ck_assert_int_eq(db_int(db, "PRAGMA page_size"), 65536);
	sqlite3_close(db);
	unlink(frames_path());
	snprintf(p, sizeof(p), "%s-wal", frames_path());
	unlink(p);

	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(store_stats(st, &stats, &err), 0);
	ck_assert_int_eq(stats.frames, 3);
	check_snapshot(1, a, 3);
	write_snapshot("m", 1, a, 3, &n);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(append("m", 2, 1, "[{}]", "[2]", &err), 0);
	ck_assert_int_eq(store_journal_foreach(st, "m", 0, collect_batch, &r, &err), 0);
	ck_assert_int_eq(r.n, 2);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(db_int(db, "PRAGMA page_size"), 65536);
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'frames'"), 0);
	sqlite3_close(db);
}
END_TEST

/* Frames no snapshot maps (a crash in the middle of a snapshot) go at the next open. */
START_TEST(orphan_frames_collected_at_open)
{
	static unsigned int a[2] = {0, 1};
	struct store_stats stats;
	struct mm_error err = {0};
	sqlite3 *db;

	ck_assert_int_eq(machine_insert("m", "{}", &err), 0);
	write_snapshot("m", 1, a, 2, NULL);
	ck_assert_int_eq(sqlite3_open(frames_path(), &db), SQLITE_OK);
	ck_assert_int_eq(
		sqlite3_exec(db,
			     "PRAGMA foreign_keys = ON;"
			     "INSERT INTO frames (id, data) VALUES (100, x'00'), (101, x'00');"
			     "INSERT INTO frame_keys (id, hash, size) VALUES "
			     "(100, x'00000000000000000000000000000001', 1),"
			     "(101, x'00000000000000000000000000000002', 1)",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(store_stats(st, &stats, &err), 0);
	ck_assert_int_eq(stats.frames, 3);
	store_close(st);
	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(store_stats(st, &stats, &err), 0);
	ck_assert_int_eq(stats.frames, 1);
	check_snapshot(1, a, 2);
}
END_TEST

/* A database of schema 3 with a snapshot and its frames: 004 moves the hashes to frame_keys
 * and the snapshot still reads back, its frames deduplicated as before. */
START_TEST(migration_004_keeps_frames)
{
	static unsigned int a[3] = {0, 1, 2};
	struct mm_error err = {0};
	struct store_stats stats;
	sqlite3 *db;
	char sql[1024];

	store_close(st);
	st = NULL;
	unlink(path);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(sqlite3_exec(db, schema_migrations[i].sql, NULL, NULL, NULL),
				 SQLITE_OK);
	/* a map of pfn 1 -> frame 1, pfn 2 -> frame 2: varints (1, zigzag 1), (0, zigzag 1) */
	snprintf(sql, sizeof(sql),
		 "PRAGMA user_version = 3;"
		 "INSERT INTO machines (id, config, created_at) VALUES ('m', '{}', 'x');"
		 "INSERT INTO frames (id, hash, data) VALUES "
		 "(1, x'01000000000000000000000000000000', x'660100'),"
		 "(2, x'02000000000000000000000000000000', x'660200');"
		 "INSERT INTO snapshots (machine_id, seq, created_at, config, format, state_hash,"
		 " state_size, state, nr_frames, frame_map, new_frames, new_frame_bytes) VALUES"
		 " ('m', 1, 'x', '{\"mem\":1}', 1, 'h', 5, CAST('state' AS BLOB), 2, x'%s', 2, 6);",
		 "28b52ffd200421000001020002");
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(store_stats(st, &stats, &err), 0);
	ck_assert_int_eq(stats.frames, 2);
	ck_assert_int_eq(stats.frame_bytes, 6);
	check_snapshot(1, a, 3);
	/* the hashes are known: the same contents are not stored again */
	{
		int64_t n;

		hash_of_raw = true;
		write_snapshot("m", 2, a, 3, &n);
		hash_of_raw = false;
		ck_assert_int_eq(n, 0);
	}
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */

Suite *test_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, migrations_apply);
	tcase_add_test(tc, journal_large_commands_compressed);
	tcase_add_test(tc, reopen_keeps_data);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, machine_round_trip);
	tcase_add_test(tc, journal_append_read_cascade);
	tcase_add_test(tc, journal_texts_by_length);
	tcase_add_test(tc, migration_002_keeps_the_journal);
	tcase_add_test(tc, now_format);
	tcase_add_test(tc, open_fails_cleanly);
	tcase_add_test(tc, snapshot_frames_once_per_content);
	tcase_add_test(tc, snapshot_writer_abandoned);
	tcase_add_test(tc, snapshot_kept_while_needed);
	tcase_add_test(tc, gc_beside_journal_writes);
	tcase_add_test(tc, machine_with_journal_all_or_nothing);
	tcase_add_test(tc, migration_003_keeps_machines);
	tcase_add_test(tc, migration_004_keeps_frames);
	tcase_add_test(tc, sync_modes);
	tcase_add_test(tc, group_commit_one_transaction);
	tcase_add_test(tc, group_commit_row_fails_alone);
	tcase_add_test(tc, group_commit_full_disk);
	tcase_add_test(tc, page_sizes_of_a_new_store);
	tcase_add_test(tc, database_of_one_file_migrates);
	tcase_add_test(tc, orphan_frames_collected_at_open);
	suite_add_tcase(s, tc);
	return s;
}
