/* SPDX-License-Identifier: MIT */
/*
 * snapshot.h - a machine into the store and back, and the machine's state hash.
 *
 * The state hash of a machine is XXH3-128 over mmcore's state stream (mm_snapshot_save():
 * everything but the RAM, the same bytes for the same state) followed by, for each RAM frame
 * in ascending pfn order that may have been written (mm_ram_page_touched()) and is not all
 * zeros, its pfn as 8 bytes little-endian and its 4096 bytes. A frame written with zeros thus
 * hashes like one never written, and two machines in the same state have the same hash;
 * any difference in the state, the RAM included, changes it. It is written as 32 lowercase
 * hex digits (the canonical, big-endian form of the 128-bit value).
 *
 * A snapshot in the store (schema/003_snapshots.sql) is the state stream, zstd-compressed,
 * and the map of those same non-zero frames, each stored once per content (zstd level 1,
 * or as is when that does not make it smaller). snapshot_save() computes the state hash on
 * the way and stores it; snapshot_load() computes it again from what it read and refuses a
 * snapshot that does not give it back (a corrupt store), so a restored machine is known to
 * be in the state that was saved. The state stream is mmcore's sectioned format (format 2,
 * mmcore/snapshot.h): its bytes do not depend on a build's struct layout, and a section of an
 * older version loads with defaults. A snapshot is verified against the hash of the bytes it
 * was saved with; the machine it loads into hashes with this build's sections, which is the
 * same value as long as no section changed since. Snapshots of format 1 are not read: see
 * oldsnap.h for how their state is rebuilt from a journal.
 *
 * Locking: the caller holds the machine for the whole call (it is read, or made).
 */
#ifndef DAEMON_SNAPSHOT_H
#define DAEMON_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "commands.h"
#include "mmcore.h"
#include "store.h"

#define SNAPSHOT_HASH_ALGORITHM "xxh3-128"

/* Where a long save or load is, for a job to report; @cancel stops it (-ECANCELED). */
struct snapshot_progress {
	atomic_uint_fast64_t done, total; /* frames */
	atomic_bool cancel;
};

/* The state hash of @m as 32 hex digits. */
int snapshot_state_hash(const struct mm_machine *m, char hex[STORE_HASH_HEX], struct mm_error *err);

/* The frames of @m that may be non-zero: what a save reads. */
uint64_t snapshot_touched_frames(const struct mm_machine *m);

/*
 * snapshot_save - store @m as a new snapshot.
 * @meta: in: machine_id, seq (the last journal entry it covers), label, config (the
 * machine's configuration as machines.config holds it); out: everything else (id, hash,
 * sizes). Call store_snapshot_finish() on it either way only if you set config yourself
 * with malloc.
 * @p: may be NULL.
 * Return: 0; -ECANCELED; -ENOMEM; -EIO (the store); nothing of the snapshot remains after
 * a failure.
 */
int snapshot_save(struct store *st, const struct mm_machine *m, struct store_snapshot *meta,
		  struct snapshot_progress *p, struct mm_error *err);

/*
 * snapshot_load - a new machine from snapshot @id, RAM included, verified against the state
 * hash it was saved with.
 * @allow_deleted: also a snapshot the user deleted that a journal still needs.
 * @config: when not NULL, the snapshot must be of a machine of this configuration (the JSON
 * text of machines.config), else -EINVAL saying how they differ.
 * @meta: filled (store_snapshot_finish() it) on success; may be NULL.
 * Return: 0 and *@ret; -ENOENT (no such snapshot); -EINVAL (another configuration, or a
 * format this mm32d does not read: mmcore's message); -EIO (a corrupt store); -ENOMEM.
 */
int snapshot_load(struct store *st, int64_t id, bool allow_deleted, const char *config,
		  struct mm_machine **ret, struct store_snapshot *meta, struct snapshot_progress *p,
		  struct mm_error *err);

/* 0 when snapshot @s is of a machine of configuration @config (machines.config JSON), else
 * -EINVAL saying how they differ. */
int snapshot_check_config(const struct store_snapshot *s, const char *config, struct mm_error *err);
/*
 * snapshot_restore_load - what the executor's environment does for snapshot_restore: load
 * snapshot @id (deleted ones too when @allow_deleted) for a machine of @m's configuration
 * (-EINVAL otherwise) and describe it in @ref.
 */
int snapshot_restore_load(struct store *st, int64_t id, bool allow_deleted,
			  const struct mm_machine *m, struct mm_machine **ret,
			  struct api_snapshot_ref *ref, struct mm_error *err);
/* machines.config of @m: compact JSON with sorted keys (malloc'd), or NULL. */
char *snapshot_config_text(const struct mm_machine *m);
/* What snapshot_restore reports of @s. */
void snapshot_ref(const struct store_snapshot *s, struct api_snapshot_ref *ref);
/* {"id","machine","seq","created_at","label","config","format","algorithm","state_hash",
 *  "frames","ram_bytes","stored":{...}}; NULL when out of memory. */
json_t *snapshot_to_json(const struct store_snapshot *s);
/* {"page_size","db_bytes","free_bytes","frames","frame_bytes","snapshots","retained",
 *  "snapshot_bytes"} */
json_t *snapshot_storage_to_json(const struct store_stats *st);

#endif /* DAEMON_SNAPSHOT_H */
