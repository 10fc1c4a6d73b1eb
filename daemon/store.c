/* SPDX-License-Identifier: MIT */
/*
 * store.c - SQLite persistence: opening, migrations, durability, machines and journals (see
 * store.h; snapshots and frames are in store-snap.c, the connections in store-int.h).
 *
 * Statements are prepared per call (every sqlite3_stmt is finalized on every path by
 * _cleanup_), except the journal insert: it is on the command path, so it is prepared once
 * (SQLITE_PREPARE_PERSISTENT), reset after each use and finalized by store_close().
 *
 * A batch's commands are stored as text, or, when the text is large (JOURNAL_ZSTD_MIN bytes
 * or more: memory_write's hex) and shrinks, as one zstd frame in commands_zstd with commands
 * '' (schema/005_journal_compact.sql); store_journal_foreach() hands back the same text either
 * way. A frame is trusted no further than its own header: its content size is checked against
 * JOURNAL_TEXT_MAX before anything is allocated, and the decompressed size must match it.
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
#include <zstd.h>

#include "problem.h"
#include "schema.h"
#include "store-int.h"

/* Checkpoint the WAL in the background once it holds STORE_CKPT_PAGES pages (SQLite's own
 * automatic checkpoint threshold); in the committing thread only when there is no such
 * thread. A snapshot may grow the WAL well past that while it writes: the checkpointer
 * catches up, and journal_size_limit truncates the file again afterwards. */
#define WAL_SIZE_LIMIT "67108864"
/* The page sizes of a new database: the journal's file, and the frames' (STORE_FRAMES_SUFFIX). */
#define STORE_PAGE_SIZE "4096"
#define FRAMES_PAGE_SIZE "65536"
/* At most this many pages are copied with the writers held off. */
#define CKPT_LOCKED_PAGES 256
/* A batch's commands text this long or longer is stored zstd-compressed (when it shrinks). */
#define JOURNAL_ZSTD_MIN 1024
#define JOURNAL_ZSTD_LEVEL 3
/* The largest commands text a stored frame may claim (a batch of bodies of at most 1 GiB). */
#define JOURNAL_TEXT_MAX (1ull << 31)

/* PRAGMA @sql's one integer on @db; 0 when it cannot be read. */
static int64_t pragma_int(sqlite3 *db, const char *sql)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
		return 0;
	return sqlite3_column_int64(s, 0);
}

/*
 * Attach the frames' file (the path of the store and STORE_FRAMES_SUFFIX) to @db as schema
 * "fr", in WAL mode with 64 KiB pages when it is new, its WAL held to the same size as the
 * main one's. Every connection of the store attaches it: "frames" and "frame_keys" are
 * found there, by their names alone.
 */
static int attach_frames(struct store *st, sqlite3 *db)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s%s", st->path, STORE_FRAMES_SUFFIX) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS fr", -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, path, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE)
		return -EIO;
	return sqlite3_exec(db,
			    "PRAGMA fr.page_size = " FRAMES_PAGE_SIZE
			    "; PRAGMA fr.journal_mode = WAL;"
			    "PRAGMA fr.journal_size_limit = " WAL_SIZE_LIMIT ";",
			    NULL, NULL, NULL) == SQLITE_OK
		       ? 0
		       : -EIO;
}

void store_stmt_finalize(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}

int store_db_error(sqlite3 *db, struct mm_error *err, const char *what)
{
	int rc = sqlite3_errcode(db);

	/* the disk, or max-db-size (PRAGMA max_page_count): 507 over-capacity, not a fault */
	if (rc == SQLITE_FULL)
		return api_error(
			err, -EXFULL,
			"%s: %s (the disk, or the database's max-db-size: delete snapshots "
			"or machines to make room)",
			what, sqlite3_errmsg(db));
	return api_error(err, rc == SQLITE_NOMEM ? -ENOMEM : -EIO, "%s: %s", what,
			 sqlite3_errmsg(db));
}

static int db_error(struct store *st, struct mm_error *err, const char *what)
{
	return store_db_error(st->db, err, what);
}

int store_exec(sqlite3 *db, const char *sql, struct mm_error *err, const char *what)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(db, err, what);
	return 0;
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

int store_sync_parse(const char *s, enum store_sync *ret)
{
	if (!strcmp(s, "full"))
		*ret = STORE_SYNC_FULL;
	else if (!strcmp(s, "normal"))
		*ret = STORE_SYNC_NORMAL;
	else
		return -EINVAL;
	return 0;
}

const char *store_sync_name(enum store_sync mode)
{
	return mode == STORE_SYNC_NORMAL ? "normal" : "full";
}

int store_apply_sync(sqlite3 *db, enum store_sync mode)
{
	return sqlite3_exec(db,
			    mode == STORE_SYNC_NORMAL
				    ? "PRAGMA synchronous = NORMAL; PRAGMA fr.synchronous = NORMAL"
				    : "PRAGMA synchronous = FULL; PRAGMA fr.synchronous = FULL",
			    NULL, NULL, NULL) == SQLITE_OK
		       ? 0
		       : -EIO;
}

int store_set_sync(struct store *st, enum store_sync mode, struct mm_error *err)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = store_apply_sync(st->db, mode) < 0 ? db_error(st, err, "setting synchronous") : 0;
	if (!r)
		st->sync = mode;
	pthread_mutex_unlock(&st->lock);
	return r;
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
 * The frames in their own file: a database made before it (or by migrations 003 and 004,
 * which create the frames in the main file) has its frames and frame_keys moved into the
 * attached file "fr", in two transactions, each of them safe to repeat: the copy (fr's
 * tables made anew from the main file's), then the main file's tables dropped. A crash
 * between the two leaves both copies, and the next start copies again; a crash after the
 * second leaves only fr's. SQLite does not commit two files of a WAL database atomically,
 * so the copy is committed on its own before anything is dropped.
 */
static int split_frames(struct store *st, struct mm_error *err)
{
	if (pragma_int(st->db, "SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND "
			       "name = 'frames'") == 0)
		return 0;
	if (sqlite3_exec(st->db,
			 "BEGIN IMMEDIATE;"
			 "DROP TABLE IF EXISTS fr.frame_keys; DROP TABLE IF EXISTS fr.frames;"
			 "CREATE TABLE fr.frames ("
			 " id INTEGER PRIMARY KEY,"
			 " data BLOB NOT NULL);"
			 "CREATE TABLE fr.frame_keys ("
			 " id INTEGER PRIMARY KEY REFERENCES frames(id) ON DELETE CASCADE,"
			 " hash BLOB NOT NULL CHECK (length(hash) = 16),"
			 " size INTEGER NOT NULL);"
			 "INSERT INTO fr.frames (id, data) SELECT id, data FROM main.frames;"
			 "INSERT INTO fr.frame_keys (id, hash, size) "
			 " SELECT id, hash, size FROM main.frame_keys;"
			 "COMMIT;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db,
			 "BEGIN IMMEDIATE; DROP TABLE main.frame_keys; DROP TABLE main.frames; "
			 "COMMIT;",
			 NULL, NULL, NULL) != SQLITE_OK) {
		int r = db_error(st, err, "moving the frames into their own file");

		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return 0;
}

/*
 * The WAL hook of the main connection, called after each commit (with @lock held): hand
 * the checkpoint to the background thread, so that no request waits for the WAL to be
 * copied into the database (SQLite's automatic checkpoint would run it right here).
 */
void store_checkpoint_wanted(struct store *st)
{
	pthread_mutex_lock(&st->ckpt_lock);
	st->ckpt_wanted = true;
	pthread_cond_signal(&st->ckpt_cond);
	pthread_mutex_unlock(&st->ckpt_lock);
}

static int on_wal(void *data, sqlite3 *db, const char *name, int pages)
{
	if (pages >= STORE_CKPT_PAGES)
		store_checkpoint_wanted(data);
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
		 * The bulk without blocking anyone (PASSIVE), again while the writers keep it
		 * growing, then the little that was committed meanwhile with the writers held
		 * off, so that the checkpoint is complete and the next commit restarts the WAL
		 * from its beginning (a WAL that keeps growing costs a file-size update with
		 * every sync). The writers are held off only for a short copy, and not while a
		 * snapshot writes: the WAL then stays large until the snapshot is done.
		 */
		for (int pass = 0; pass < 8; pass++) {
			int log = 0, done = 0;

			if (sqlite3_wal_checkpoint_v2(st->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE,
						      &log, &done) != SQLITE_OK)
				break;
			if (log - done > CKPT_LOCKED_PAGES)
				continue;
			/* not while a snapshot writes (it holds snap_lock): the WAL grows
			 * by megabytes between two passes then; its end wakes us again */
			if (pthread_mutex_trylock(&st->snap_lock) != 0)
				break;
			pthread_mutex_lock(&st->lock);
			sqlite3_wal_checkpoint_v2(st->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE,
						  NULL, NULL);
			pthread_mutex_unlock(&st->lock);
			pthread_mutex_unlock(&st->snap_lock);
			break;
		}
		pthread_mutex_lock(&st->ckpt_lock);
	}
	pthread_mutex_unlock(&st->ckpt_lock);
	return NULL;
}

/* Start the checkpointer; without it, SQLite's automatic checkpoint stays in charge. */
static void checkpointer_start(struct store *st)
{
	if (sqlite3_open_v2(st->path, &st->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK ||
	    attach_frames(st, st->ckpt_db) < 0 ||
	    store_apply_sync(st->ckpt_db, STORE_SYNC_FULL) < 0 ||
	    pthread_create(&st->ckpt_thread, NULL, checkpointer, st) != 0) {
		sqlite3_close(st->ckpt_db);
		st->ckpt_db = NULL;
		return;
	}
	st->ckpt_running = true;
	/* from now on the checkpointer, not the committing connection, copies the WAL */
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

int store_reader_open(struct store *st, sqlite3 **ret, struct mm_error *err)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(st->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		int r = api_error(err, -EIO, "cannot open %s: %s", st->path,
				  db ? sqlite3_errmsg(db) : "out of memory");

		sqlite3_close(db);
		return r;
	}
	sqlite3_busy_timeout(db, 5000);
	if (attach_frames(st, db) < 0 ||
	    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK ||
	    store_apply_max_pages(st, db) < 0) {
		int r = store_db_error(db, err, st->path);

		sqlite3_close(db);
		return r;
	}
	*ret = db;
	return 0;
}

int store_apply_max_pages(struct store *st, sqlite3 *db)
{
	int64_t n, main_page = pragma_int(db, "PRAGMA main.page_size"),
		   fr_page = pragma_int(db, "PRAGMA fr.page_size");
	char sql[160];

	if (main_page <= 0 || fr_page <= 0)
		return -EIO;
	pthread_mutex_lock(&st->lock);
	n = st->max_pages;
	pthread_mutex_unlock(&st->lock);
	/* the cap holds for each of the two files, in bytes: the frames' pages are larger */
	snprintf(sql, sizeof(sql),
		 "PRAGMA main.max_page_count = %lld; PRAGMA fr.max_page_count = %lld",
		 (long long)(n > 0 ? n : 4294967294LL),
		 (long long)(n > 0 ? (n * main_page + fr_page - 1) / fr_page : 4294967294LL));
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

int store_set_max_size(struct store *st, uint64_t bytes, struct mm_error *err)
{
	sqlite3_stmt *s = NULL;
	int64_t page = 0;
	int r = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA main.page_size", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		page = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (page <= 0)
		return db_error(st, err, "reading the page size");
	pthread_mutex_lock(&st->lock);
	st->max_pages = bytes ? (int64_t)(bytes / (uint64_t)page) : 0;
	if (bytes && st->max_pages < 1)
		st->max_pages = 1;
	pthread_mutex_unlock(&st->lock);
	if (store_apply_max_pages(st, st->db) < 0)
		r = db_error(st, err, "setting max-db-size");
	pthread_mutex_lock(&st->snap_lock);
	if (!r && st->snap_db && store_apply_max_pages(st, st->snap_db) < 0)
		r = store_db_error(st->snap_db, err, "setting max-db-size");
	pthread_mutex_unlock(&st->snap_lock);
	return r;
}

static void store_free(struct store *st)
{
	pthread_cond_destroy(&st->ckpt_cond);
	pthread_mutex_destroy(&st->ckpt_lock);
	pthread_cond_destroy(&st->group_cond);
	pthread_mutex_destroy(&st->group_lock);
	pthread_mutex_destroy(&st->snap_lock);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

int store_open(const char *path, struct store **ret, struct mm_error *err)
{
	struct store *st = calloc(1, sizeof(*st));
	struct store_gc_stats gc;
	int r;

	if (!st)
		return api_error(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->snap_lock, NULL);
	pthread_mutex_init(&st->ckpt_lock, NULL);
	pthread_cond_init(&st->ckpt_cond, NULL);
	pthread_mutex_init(&st->group_lock, NULL);
	pthread_cond_init(&st->group_cond, NULL);
	st->group_tail = &st->group_head;
	st->path = strdup(path);
	if (!st->path) {
		store_free(st);
		return api_error(err, -ENOMEM, "out of memory");
	}
	if (sqlite3_open_v2(path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		r = api_error(err, -EIO, "cannot open %s: %s", path,
			      st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	/*
	 * A new database gets pages of STORE_PAGE_SIZE (4 KiB): what a command costs is the
	 * pages its journal row dirties, each written to the WAL and synced, so small pages keep
	 * a single command's write small (a 64 KiB page made it about 135 KB). The snapshot
	 * frames live in a file of their own with 64 KiB pages (attach_frames()): 15 raw frames
	 * to a page, so a snapshot writes and a restore reads a sixteenth of the pages it would
	 * with 4 KiB (a restore from a cold cache at 4 KiB pages read at a fifth of dd's rate).
	 * An existing file keeps the page size it was made with (64 KiB before): every page
	 * size works the same, only the bytes per write differ.
	 */
	if (sqlite3_exec(st->db,
			 "PRAGMA page_size = " STORE_PAGE_SIZE "; PRAGMA journal_mode = WAL; "
			 "PRAGMA synchronous "
			 "= FULL;"
			 "PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = " WAL_SIZE_LIMIT
			 ";",
			 NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, path);
		goto fail;
	}
	r = attach_frames(st, st->db);
	if (r < 0 || store_apply_sync(st->db, STORE_SYNC_FULL) < 0) {
		r = r == -ENAMETOOLONG ? api_error(err, r, "%s: the path is too long", path)
				       : db_error(st, err, "opening the frames' file");
		goto fail;
	}
	r = migrate(st, err);
	if (r == 0)
		r = split_frames(st, err);
	if (r < 0)
		goto fail;
	/* what a snapshot cut short by a crash had written: frames no snapshot maps */
	r = store_gc(st, &gc, err);
	if (r < 0)
		goto fail;
	checkpointer_start(st);
	*ret = st;
	return 0;
fail:
	sqlite3_close(st->snap_db);
	sqlite3_close(st->db);
	store_free(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	checkpointer_stop(st);
	sqlite3_finalize(st->journal_insert);
	sqlite3_close(st->snap_db);
	/* the last connection to close checkpoints the whole WAL and removes it */
	sqlite3_close(st->db);
	store_free(st);
}

/* ---- machines -------------------------------------------------------------------------- */

/* Bind text @s to parameter @i (NULL binds NULL). */
static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
	return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

/*
 * Bind a batch's commands text @c (@len bytes) to parameters @i (commands) and @i + 1
 * (commands_zstd): as text, or compressed into *@z (the caller frees it after the step).
 */
static int bind_commands(sqlite3_stmt *s, int i, const char *c, size_t len, void **z)
{
	size_t cap, zlen;

	*z = NULL;
	if (len >= JOURNAL_ZSTD_MIN) {
		cap = ZSTD_compressBound(len);
		*z = malloc(cap);
		if (!*z)
			return SQLITE_NOMEM;
		zlen = ZSTD_compress(*z, cap, c, len, JOURNAL_ZSTD_LEVEL);
		if (!ZSTD_isError(zlen) && zlen < len && zlen <= INT_MAX) {
			if (sqlite3_bind_text(s, i, "", 0, SQLITE_STATIC) != SQLITE_OK)
				return SQLITE_ERROR;
			return sqlite3_bind_blob(s, i + 1, *z, (int)zlen, SQLITE_STATIC);
		}
		free(*z);
		*z = NULL;
	}
	if (sqlite3_bind_text(s, i, c, (int)len, SQLITE_STATIC) != SQLITE_OK)
		return SQLITE_ERROR;
	return sqlite3_bind_null(s, i + 1);
}

static int insert_batches(sqlite3 *db, const char *id, const struct store_batch *b, size_t nb,
			  struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;

	if (!nb)
		return 0;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO journal_batches "
			       "(machine_id, first_seq, n, time, results, commands, commands_zstd) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			       -1, &s, NULL) != SQLITE_OK)
		return store_db_error(db, err, "storing the journal");
	for (size_t i = 0; i < nb; i++) {
		void *z = NULL;
		int rc;

		if (b[i].commands_len > INT_MAX || b[i].results_len > INT_MAX)
			return api_error(err, -EIO, "storing the journal: entries too large");
		rc = bind_commands(s, 6, b[i].commands, b[i].commands_len, &z);
		if (rc == SQLITE_NOMEM)
			return api_error(err, -ENOMEM, "out of memory");
		if (rc != SQLITE_OK ||
		    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 2, b[i].first_seq) != SQLITE_OK ||
		    sqlite3_bind_int64(s, 3, b[i].n) != SQLITE_OK ||
		    sqlite3_bind_text(s, 4, b[i].time, -1, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_text(s, 5, b[i].results, (int)b[i].results_len, SQLITE_STATIC) !=
			    SQLITE_OK ||
		    sqlite3_step(s) != SQLITE_DONE) {
			free(z);
			return store_db_error(db, err, "storing the journal");
		}
		sqlite3_reset(s);
		free(z);
	}
	return 0;
}

/* INSERT OR IGNORE the use of @snapshot by machine @id; -ENOENT when either is gone. */
static int insert_use(sqlite3 *db, int64_t snapshot, const char *id, struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db,
			       "INSERT OR IGNORE INTO snapshot_uses (snapshot_id, machine_id) "
			       "VALUES (?1, ?2)",
			       -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 1, snapshot) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC) != SQLITE_OK)
		return store_db_error(db, err, "recording the use of a snapshot");
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_FOREIGNKEY)
			return api_error(err, -ENOENT, "no snapshot %lld", (long long)snapshot);
		return store_db_error(db, err, "recording the use of a snapshot");
	}
	return 0;
}

int store_machine_insert(struct store *st, const struct store_machine *m,
			 const struct store_batch *b, size_t nb, const int64_t *uses, size_t nuses,
			 struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	char now[32];
	int r = 0;

	store_now(now);
	pthread_mutex_lock(&st->lock);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, "storing the machine");
		goto out;
	}
	if (sqlite3_prepare_v2(
		    st->db,
		    "INSERT INTO machines (id, config, created_at, origin, base_snapshot) "
		    "VALUES (?1, ?2, ?3, ?4, ?5)",
		    -1, &s, NULL) != SQLITE_OK ||
	    bind_text(s, 1, m->id) != SQLITE_OK || bind_text(s, 2, m->config) != SQLITE_OK ||
	    bind_text(s, 3, m->created_at ? m->created_at : now) != SQLITE_OK ||
	    bind_text(s, 4, m->origin) != SQLITE_OK ||
	    (m->base_snapshot ? sqlite3_bind_int64(s, 5, m->base_snapshot)
			      : sqlite3_bind_null(s, 5)) != SQLITE_OK) {
		r = db_error(st, err, "storing the machine");
		goto rollback;
	}
	if (sqlite3_step(s) != SQLITE_DONE) {
		int x = sqlite3_extended_errcode(st->db);

		if (x == SQLITE_CONSTRAINT_PRIMARYKEY || x == SQLITE_CONSTRAINT_UNIQUE)
			r = api_error(err, -EEXIST, "a machine named '%s' already exists", m->id);
		else if (x == SQLITE_CONSTRAINT_FOREIGNKEY)
			r = api_error(err, -ENOENT, "no snapshot %lld",
				      (long long)m->base_snapshot);
		else
			r = db_error(st, err, "storing the machine");
		goto rollback;
	}
	if (m->base_snapshot)
		r = insert_use(st->db, m->base_snapshot, m->id, err);
	for (size_t i = 0; !r && i < nuses; i++)
		r = insert_use(st->db, uses[i], m->id, err);
	if (!r)
		r = insert_batches(st->db, m->id, b, nb, err);
	if (r)
		goto rollback;
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, "storing the machine");
		goto rollback;
	}
	goto out;
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_snapshot_use(struct store *st, int64_t snapshot, const char *id, struct mm_error *err)
{
	int r;

	pthread_mutex_lock(&st->lock);
	r = insert_use(st->db, snapshot, id, err);
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_purge_snapshots_locked(struct store *st, struct mm_error *err)
{
	return store_exec(st->db,
			  "DELETE FROM snapshots WHERE deleted = 1 AND NOT EXISTS "
			  "(SELECT 1 FROM snapshot_uses u WHERE u.snapshot_id = snapshots.id) "
			  "AND NOT EXISTS "
			  "(SELECT 1 FROM machines m WHERE m.base_snapshot = snapshots.id)",
			  err, "purging deleted snapshots");
}

int store_machine_delete(struct store *st, const char *id, struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *del = NULL, *mark = NULL;
	int r = 0;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, "deleting the machine");
		goto out;
	}
	if (sqlite3_prepare_v2(st->db, "DELETE FROM machines WHERE id = ?1", -1, &del, NULL) !=
		    SQLITE_OK ||
	    sqlite3_bind_text(del, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(del) != SQLITE_DONE) {
		r = db_error(st, err, "deleting the machine");
		goto rollback;
	}
	if (!sqlite3_changes(st->db)) {
		r = api_error(err, -ENOENT, "no machine '%s' in the store", id);
		goto rollback;
	}
	if (sqlite3_prepare_v2(
		    st->db,
		    "UPDATE snapshots SET deleted = 1 WHERE machine_id = ?1 AND deleted = 0", -1,
		    &mark, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(mark, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(mark) != SQLITE_DONE) {
		r = db_error(st, err, "deleting the machine's snapshots");
		goto rollback;
	}
	r = store_purge_snapshots_locked(st, err);
	if (r)
		goto rollback;
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, "deleting the machine");
		goto rollback;
	}
	goto out;
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_machines_foreach(struct store *st, const char *id, store_machine_fn *fn, void *data,
			   struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	bool found = false;
	int r = 0, rc;

	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT id, config, created_at, origin, coalesce(base_snapshot, 0), "
			       "coalesce((SELECT first_seq + n - 1 FROM journal_batches j "
			       "WHERE j.machine_id = m.id ORDER BY first_seq DESC LIMIT 1), 0) "
			       "FROM machines m WHERE ?1 IS NULL OR id = ?1 ORDER BY id",
			       -1, &s, NULL) != SQLITE_OK ||
	    bind_text(s, 1, id) != SQLITE_OK) {
		r = db_error(st, err, "listing machines");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_machine m = {
			.id = (const char *)sqlite3_column_text(s, 0),
			.config = (const char *)sqlite3_column_text(s, 1),
			.created_at = (const char *)sqlite3_column_text(s, 2),
			.origin = (const char *)sqlite3_column_text(s, 3),
			.base_snapshot = sqlite3_column_int64(s, 4),
			.last_seq = sqlite3_column_int64(s, 5),
		};

		found = true;
		r = fn(data, &m);
		if (r < 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = db_error(st, err, "listing machines");
	else if (id && !found)
		r = api_error(err, -ENOENT, "no machine '%.64s'", id);
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* ---- the journal: group commit ---------------------------------------------------------- */

/*
 * One request's journal row, waiting in the group-commit queue. It lives on its caller's
 * stack: the caller returns only once the leader marked it @done.
 */
struct store_append {
	const char *id, *time, *commands, *results;
	int64_t first_seq, n;
	size_t commands_len, results_len;
	struct mm_error *err;
	int r;
	bool done;
	struct store_append *next;
};

/* Insert row @a with the prepared statement (caller holds @lock, statement prepared). */
static int append_insert(struct store *st, struct store_append *a)
{
	sqlite3_stmt *s = st->journal_insert;
	void *z = NULL;
	int r = 0, rc;

	/* the commands as text, or as one zstd frame of it when long (bind_commands()) */
	rc = bind_commands(s, 6, a->commands, a->commands_len, &z);
	if (rc == SQLITE_NOMEM)
		r = api_error(a->err, -ENOMEM, "out of memory");
	else if (rc != SQLITE_OK ||
		 sqlite3_bind_text(s, 1, a->id, -1, SQLITE_STATIC) != SQLITE_OK ||
		 sqlite3_bind_int64(s, 2, a->first_seq) != SQLITE_OK ||
		 sqlite3_bind_int64(s, 3, a->n) != SQLITE_OK ||
		 sqlite3_bind_text(s, 4, a->time, -1, SQLITE_STATIC) != SQLITE_OK ||
		 sqlite3_bind_text(s, 5, a->results, (int)a->results_len, SQLITE_STATIC) !=
			 SQLITE_OK ||
		 sqlite3_step(s) != SQLITE_DONE)
		r = db_error(st, a->err, "appending to the journal");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	free(z);
	return r;
}

/* Every row of @g that has not failed yet fails with the connection's error (@what). */
static void group_fail(struct store *st, struct store_append *g, const char *what)
{
	for (struct store_append *a = g; a; a = a->next)
		if (!a->r)
			a->r = db_error(st, a->err, what);
}

/*
 * Commit the rows of group @g in one transaction, so one sync (caller holds @lock).
 * A row whose INSERT fails (a constraint, the size cap) fails alone: SQLite undoes that
 * statement only, and the others commit. When SQLite had to roll the whole transaction back
 * (an I/O error, a full disk), or the COMMIT fails, every row of the group fails: each
 * caller then undoes its own commands (api_txn_live() rebuilds its machine).
 */
static bool group_commit(struct store *st, struct store_append *g)
{
	if (!st->journal_insert &&
	    sqlite3_prepare_v3(st->db,
			       "INSERT INTO journal_batches "
			       "(machine_id, first_seq, n, time, results, commands, commands_zstd) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			       -1, SQLITE_PREPARE_PERSISTENT, &st->journal_insert,
			       NULL) != SQLITE_OK) {
		group_fail(st, g, "appending to the journal");
		return false;
	}
	/* one row alone: its INSERT is its own transaction, as without a group */
	if (!g->next) {
		g->r = append_insert(st, g);
		return g->r == 0;
	}
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		group_fail(st, g, "appending to the journal");
		return false;
	}
	for (struct store_append *a = g; a; a = a->next) {
		a->r = append_insert(st, a);
		if (a->r == 0 || !sqlite3_get_autocommit(st->db))
			continue;
		/* SQLite rolled the transaction back: the rows before are gone too */
		for (struct store_append *b = g; b != a; b = b->next)
			b->r = api_error(b->err, a->r, "%s", a->err->msg);
		for (struct store_append *b = a->next; b; b = b->next)
			b->r = api_error(b->err, a->r, "%s", a->err->msg);
		return false;
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		group_fail(st, g, "committing the journal");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		/* the rows that had succeeded are gone with the transaction */
		return false;
	}
	return true;
}

/*
 * store_journal_append - the group commit. The caller's row joins the queue; the first
 * caller to find no leader becomes the leader: it takes @lock, then the whole queue (every
 * row that arrived meanwhile, its own among them), commits them in one transaction, marks
 * them done and wakes their callers. A caller returns once its own row is committed (or
 * failed), so an answer still follows its command onto the disk, and with synchronous=FULL
 * N concurrent requests (other machines, other batches) share one sync instead of N.
 */
int store_journal_append(struct store *st, const char *id, int64_t first_seq, int64_t n,
			 const char *time, const char *commands, size_t commands_len,
			 const char *results, size_t results_len, struct mm_error *err)
{
	struct store_append me = {.id = id,
				  .time = time,
				  .commands = commands,
				  .results = results,
				  .first_seq = first_seq,
				  .n = n,
				  .commands_len = commands_len,
				  .results_len = results_len,
				  .err = err};

	if (commands_len > INT_MAX || results_len > INT_MAX)
		return api_error(err, -EIO, "appending to the journal: entries too large");
	pthread_mutex_lock(&st->group_lock);
	*st->group_tail = &me;
	st->group_tail = &me.next;
	st->group_queued++;
	while (!me.done) {
		struct store_append *g;
		bool committed;
		size_t k = 0;

		if (st->group_leader) {
			pthread_cond_wait(&st->group_cond, &st->group_lock);
			continue;
		}
		st->group_leader = true;
		pthread_mutex_unlock(&st->group_lock);
		/* whoever arrives while we wait for the store joins this group */
		pthread_mutex_lock(&st->lock);
		pthread_mutex_lock(&st->group_lock);
		g = st->group_head;
		st->group_head = NULL;
		st->group_tail = &st->group_head;
		for (struct store_append *a = g; a; a = a->next)
			k++;
		st->group_queued -= k;
		st->group_rows += k;
		pthread_mutex_unlock(&st->group_lock);
		committed = group_commit(st, g);
		pthread_mutex_unlock(&st->lock);
		pthread_mutex_lock(&st->group_lock);
		st->group_commits += committed;
		for (struct store_append *a = g, *next; a; a = next) {
			next = a->next;
			a->done = true;
		}
		st->group_leader = false;
		pthread_cond_broadcast(&st->group_cond);
	}
	pthread_mutex_unlock(&st->group_lock);
	return me.r;
}

void store_group_stats(struct store *st, struct store_group_stats *ret)
{
	pthread_mutex_lock(&st->group_lock);
	ret->commits = st->group_commits;
	ret->rows = st->group_rows;
	ret->queued = st->group_queued;
	pthread_mutex_unlock(&st->group_lock);
}

int store_journal_base(struct store *st, const char *id, int64_t *ret_snapshot, int64_t *ret_seq,
		       struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r = 0;

	*ret_snapshot = 0;
	*ret_seq = 0;
	pthread_mutex_lock(&st->lock);
	if (sqlite3_prepare_v2(
		    st->db,
		    "SELECT coalesce(m.journal_base, 0), coalesce(s.seq, 0) FROM machines m "
		    "LEFT JOIN snapshots s ON s.id = m.journal_base WHERE m.id = ?1",
		    -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
		r = db_error(st, err, "reading the journal's base");
		goto out;
	}
	if (sqlite3_step(s) == SQLITE_ROW) {
		*ret_snapshot = sqlite3_column_int64(s, 0);
		*ret_seq = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s); /* no read transaction left open */
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* One integer from @sql with @id bound as ?1 and @n as ?2 (when it has one): *@ret (0 when no
 * row). */
static int query_int(sqlite3 *db, const char *sql, const char *id, int64_t n, int64_t *ret)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int rc;

	*ret = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    (sqlite3_bind_parameter_count(s) >= 2 && sqlite3_bind_int64(s, 2, n) != SQLITE_OK))
		return SQLITE_ERROR;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(s, 0);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store_journal_compact(struct store *st, const char *id, int64_t snapshot,
			  struct store_compact *ret, struct mm_error *err)
{
	int64_t seq = -1, old_seq = 0, straddle = 0, x;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&st->lock);
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, "compacting the journal");
		goto out;
	}
	if (query_int(st->db,
		      "SELECT seq + 1 FROM snapshots WHERE id = ?2 AND machine_id = ?1 "
		      "AND deleted = 0",
		      id, snapshot, &seq) != SQLITE_OK ||
	    query_int(st->db,
		      "SELECT coalesce(s.seq, 0) FROM machines m JOIN snapshots s "
		      "ON s.id = m.journal_base WHERE m.id = ?1",
		      id, 0, &old_seq) != SQLITE_OK ||
	    query_int(st->db,
		      "SELECT first_seq FROM journal_batches WHERE machine_id = ?1 "
		      "AND first_seq <= ?2 AND first_seq + n - 1 > ?2",
		      id, seq - 1, &straddle) != SQLITE_OK) {
		r = db_error(st, err, "compacting the journal");
		goto rollback;
	}
	if (seq-- <= 0) {
		r = api_error(err, -ENOENT, "machine '%.64s' has no snapshot %lld", id,
			      (long long)snapshot);
		goto rollback;
	}
	if (seq < old_seq) {
		r = api_error(err, -EBUSY,
			      "machine '%.64s''s journal is compacted up to seq %lld already; "
			      "snapshot %lld is of seq %lld, before that",
			      id, (long long)old_seq, (long long)snapshot, (long long)seq);
		goto rollback;
	}
	if (straddle) {
		r = api_error(err, -EBUSY,
			      "snapshot %lld (seq %lld) falls inside the request journaled at seq "
			      "%lld: compact behind a snapshot taken between requests",
			      (long long)snapshot, (long long)seq, (long long)straddle);
		goto rollback;
	}
	if (query_int(st->db,
		      "SELECT count(*) FROM journal_batches WHERE machine_id = ?1 "
		      "AND first_seq + n - 1 <= ?2",
		      id, seq, &ret->batches) != SQLITE_OK ||
	    query_int(st->db,
		      "SELECT coalesce(sum(n), 0) FROM journal_batches WHERE machine_id = ?1 "
		      "AND first_seq + n - 1 <= ?2",
		      id, seq, &ret->entries) != SQLITE_OK ||
	    query_int(st->db,
		      "SELECT coalesce(sum(length(commands) + coalesce(length(commands_zstd), 0) + "
		      "length(results) + length(time)), 0) FROM journal_batches "
		      "WHERE machine_id = ?1 AND first_seq + n - 1 <= ?2",
		      id, seq, &ret->bytes) != SQLITE_OK ||
	    query_int(
		    st->db,
		    "DELETE FROM journal_batches WHERE machine_id = ?1 AND first_seq + n - 1 <= ?2",
		    id, seq, &x) != SQLITE_OK ||
	    query_int(st->db, "UPDATE machines SET journal_base = ?2 WHERE id = ?1", id, snapshot,
		      &x) != SQLITE_OK ||
	    query_int(st->db,
		      "INSERT OR IGNORE INTO snapshot_uses (snapshot_id, machine_id) "
		      "VALUES (?2, ?1)",
		      id, snapshot, &x) != SQLITE_OK ||
	    /* nothing left after the base: the snapshots the dropped entries restored, and an
	     * older base, are needed no more (a clone's base still is) */
	    query_int(st->db,
		      "DELETE FROM snapshot_uses WHERE machine_id = ?1 AND snapshot_id != ?2 "
		      "AND snapshot_id IS NOT (SELECT base_snapshot FROM machines WHERE id = ?1) "
		      "AND NOT EXISTS (SELECT 1 FROM journal_batches WHERE machine_id = ?1)",
		      id, snapshot, &x) != SQLITE_OK ||
	    store_purge_snapshots_locked(st, err) < 0 ||
	    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_error(st, err, "compacting the journal");
		goto rollback;
	}
	ret->snapshot = snapshot;
	ret->seq = seq;
	goto out;
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&st->lock);
	return r;
}

int store_limit_size(struct store *st, int64_t extra_pages, struct mm_error *err)
{
	sqlite3_stmt *s = NULL;
	char sql[96];
	int r = 0;

	pthread_mutex_lock(&st->lock);
	if (extra_pages < 0) {
		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = 4294967294");
	} else if (sqlite3_prepare_v2(st->db, "PRAGMA page_count", -1, &s, NULL) != SQLITE_OK ||
		   sqlite3_step(s) != SQLITE_ROW) {
		r = db_error(st, err, "reading the page count");
		goto out;
	} else {
		snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
			 (long long)(sqlite3_column_int64(s, 0) + extra_pages));
	}
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		r = db_error(st, err, "limiting the size");
out:
	sqlite3_finalize(s);
	pthread_mutex_unlock(&st->lock);
	return r;
}

/* The commands text of the batch at @first_seq from its zstd frame @z: *@ret (malloc'd,
 * NUL-terminated) of *@ret_len bytes. -EIO for a frame that is not one (a damaged row). */
static int journal_unzstd(const void *z, size_t zlen, char **ret, size_t *ret_len,
			  int64_t first_seq, struct mm_error *err)
{
	unsigned long long n = ZSTD_getFrameContentSize(z, zlen);
	size_t got;
	char *p;

	if (n == ZSTD_CONTENTSIZE_UNKNOWN || n == ZSTD_CONTENTSIZE_ERROR || n > JOURNAL_TEXT_MAX)
		return api_error(err, -EIO,
				 "reading the journal: the batch at seq %lld is not a zstd frame "
				 "of commands",
				 (long long)first_seq);
	p = malloc((size_t)n + 1);
	if (!p)
		return api_error(err, -ENOMEM, "out of memory");
	got = ZSTD_decompress(p, (size_t)n, z, zlen);
	if (ZSTD_isError(got) || got != n) {
		free(p);
		return api_error(err, -EIO,
				 "reading the journal: the batch at seq %lld does not decompress",
				 (long long)first_seq);
	}
	p[n] = '\0';
	*ret = p;
	*ret_len = (size_t)n;
	return 0;
}

int store_journal_foreach(struct store *st, const char *id, int64_t after_seq, store_journal_fn *fn,
			  void *data, struct mm_error *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	sqlite3 *db;
	int r, rc;

	r = store_reader_open(st, &db, err);
	if (r < 0)
		return r;
	/* one read transaction: the rows of one state of the file */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		    db,
		    "SELECT first_seq, n, time, commands, results, commands_zstd "
		    "FROM journal_batches "
		    "WHERE machine_id = ?1 AND first_seq >= coalesce((SELECT max(first_seq) "
		    "FROM journal_batches WHERE machine_id = ?1 AND first_seq <= ?2 + 1), 0) "
		    "AND first_seq + n - 1 > ?2 ORDER BY first_seq",
		    -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 2, after_seq) != SQLITE_OK) {
		r = store_db_error(db, err, "reading the journal");
		goto out;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *commands = (const char *)sqlite3_column_text(s, 3);
		size_t commands_len = (size_t)sqlite3_column_bytes(s, 3);
		const char *results = (const char *)sqlite3_column_text(s, 4);
		size_t results_len = (size_t)sqlite3_column_bytes(s, 4);
		char *text = NULL;

		if (sqlite3_column_type(s, 5) == SQLITE_BLOB) {
			r = journal_unzstd(sqlite3_column_blob(s, 5),
					   (size_t)sqlite3_column_bytes(s, 5), &text, &commands_len,
					   sqlite3_column_int64(s, 0), err);
			if (r < 0)
				goto out;
			commands = text;
		}
		r = fn(data, sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
		       (const char *)sqlite3_column_text(s, 2), commands ? commands : "",
		       commands ? commands_len : 0, results ? results : "",
		       results ? results_len : 0);
		free(text);
		if (r != 0)
			goto out;
	}
	if (rc != SQLITE_DONE)
		r = store_db_error(db, err, "reading the journal");
out:
	sqlite3_finalize(s);
	s = NULL;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return r;
}
