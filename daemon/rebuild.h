/* SPDX-License-Identifier: MIT */
/*
 * rebuild.h - a machine as its store rebuilds it: the one place that knows where a machine
 * starts from and how its journal brings it to a given entry.
 *
 * machine_rebuild() serves a restart (registry_load(): every machine, all of its journal), an
 * undo (a journal append that failed: the machine as the journal has it), and a session
 * replay (sessions.c: up to until_seq, with verification). It starts from the newest snapshot
 * at or before the entry asked for that loads (a snapshot of another format is skipped, and
 * the log says so), else the machine's base snapshot (a clone; rebuilt in turn by
 * machine_rebuild_snapshot() when it is of the old format 1), else its configuration; then
 * it runs the journal entries after that point through the transaction (api/txn.h), as HTTP
 * ran them, with the caller's executor environment (a journaled snapshot_restore reads its
 * snapshot again).
 */
#ifndef DAEMON_REBUILD_H
#define DAEMON_REBUILD_H

#include <stdint.h>

#include "store.h"
#include "txn.h"

/* The machine to rebuild, as the store keeps it (machines row). */
struct rebuild_source {
	const char *id;
	const char *config;    /* its configuration (JSON) */
	int64_t base_snapshot; /* a clone's snapshot, 0: none */
};

/* Called after each journal entry ran: its @seq, its recorded command and result (@want),
 * the step's code @r (with @err) and what it did (@st); @t->got is what it gave. A negative
 * return stops the rebuild with that code. */
typedef int rebuild_entry_fn(void *data, int64_t seq, const struct api_json_span *cmd,
			     const struct api_json_span *want, int r, const struct api_txn_step *st,
			     struct api_txn *t, const struct mm_error *err);

struct rebuild {
	struct mm_machine *m;	  /* the machine rebuilt: the caller's */
	int64_t from_snapshot;	  /* the snapshot it started from; 0: its configuration */
	int64_t after;		  /* the journal entries up to this seq were in that snapshot */
	int64_t next_seq;	  /* after the last journal entry read */
	unsigned long replayed;	  /* entries run that changed the machine */
	unsigned long failed;	  /* entries that failed and changed nothing (or were unreadable) */
	unsigned long mismatched; /* entries whose result is not the recorded one */
};

/*
 * machine_rebuild - machine @src after its journal entry @until_seq (-1: the last).
 * @env: the executor's environment for the entries (snapshot_restore).
 * @fn, @data: called after each entry; NULL: entries that fail or give another result than the
 * recorded one are logged, counted and passed over (a restart keeps what it can).
 * Return: 0 with @ret filled (ret->m the caller's); a negative errno (the snapshot or
 * configuration cannot be loaded; the journal is unreadable and @fn is set; @fn's code).
 */
int machine_rebuild(struct store *st, const struct rebuild_source *src, int64_t until_seq,
		    const struct api_exec_env *env, rebuild_entry_fn *fn, void *data,
		    struct rebuild *ret, struct mm_error *err);

/*
 * machine_rebuild_snapshot - the machine snapshot @id holds: read from the store (deleted
 * snapshots included), or, when it is of a format this mm32d no longer reads (format 1, the
 * struct image of an mm32d before format 2), rebuilt by machine_rebuild() of the machine it
 * was taken of up to its seq, every entry giving its journaled result (a restore inside that
 * journal is rebuilt the same way, a few levels deep at most); the log says so. A clone's
 * base snapshot goes through here in machine_rebuild(), and so does snapshot_restore
 * (snapshot_restore_load()). @config (may be NULL): the configuration it must have, as
 * snapshot_check_config() checks it.
 * Return: 0; -EINVAL for another configuration; -EIO when it cannot be rebuilt (its machine
 * deleted, its journal giving other results), saying why; what snapshot_load() returns.
 */
int machine_rebuild_snapshot(struct store *st, int64_t id, const char *config,
			     struct mm_machine **ret, struct mm_error *err);

#endif /* DAEMON_REBUILD_H */
