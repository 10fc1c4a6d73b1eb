/* SPDX-License-Identifier: MIT */
/*
 * registry.h - the machines of this daemon, by id, and the api_host they are served through.
 *
 * Locking: a registry rwlock guards the set of machines (create, delete, list take it
 * for writing or reading); each machine has a mutex that serializes every call into
 * mmcore for it (mmcore is single-threaded per machine). Lock order: registry, then
 * machine; a machine's mutex is never held while waiting for the registry lock. A snapshot
 * job reserves its machine while the request that started it still holds it: whoever
 * acquires the machine next waits until the job has taken it, so the snapshot covers what
 * was journaled when it was asked for, and no later command.
 *
 * Persistence: every machine is in the store with its configuration (and the snapshot it
 * starts from, for a clone); every command that changed it is in its journal. At start-up
 * registry_load() brings each machine back with machine_rebuild() (rebuild.h): its newest
 * snapshot that loads, else its base snapshot, else its configuration, and the journal
 * entries after it through the transaction the HTTP routes use (api/txn.h), with the same
 * environment (a journaled snapshot_restore reads the same snapshot again). A replayed
 * result is compared with the journaled one. The same rebuild undoes a journal append that
 * failed (api_host_ops.machine_rebuild); a machine it cannot rebuild is diverged and refuses
 * changes (503) until a rebuild succeeds.
 */
#ifndef DAEMON_REGISTRY_H
#define DAEMON_REGISTRY_H

#include <stdbool.h>

#include "router.h"
#include "store.h"

struct registry;

/* @st is borrowed and must outlive the registry. */
int registry_create(struct store *st, struct registry **ret, struct mm_error *err);
/* Stop the jobs, destroy every machine (the store keeps them). Accepts NULL. */
void registry_destroy(struct registry *reg);

/*
 * registry_load - register every stored machine at once and restore them in the background.
 * A machine that fits the caps is "restoring" until a restore thread has rebuilt it (id
 * order, the machines requests wait for first: a request waits up to RESTORE_WAIT_MS, then
 * -EINPROGRESS, 503 with Retry-After); one that does not, or whose restore fails, is
 * "unloaded" with the reason (logged, listed, left in the store, deletable). systemd sees the
 * progress in STATUS=. Return: 0 or a store error; the daemon can answer as soon as it returns.
 */
int registry_load(struct registry *reg, struct mm_error *err);

/*
 * The caps on what clients may make the daemon hold: @max_machines machines, and
 * @max_host_bytes of host memory, each machine charged mm_config_host_bytes() of its
 * configuration (0: no cap). A creation, clone, import or restart beyond either is refused
 * with -EXFULL (507 over-capacity) naming the cap; nothing is built that would not fit.
 */
void registry_set_limits(struct registry *reg, unsigned int max_machines, uint64_t max_host_bytes);
/*
 * The caps on what one machine may make the store hold: @max_snapshots listed snapshots (a
 * snapshot beyond is refused, -EXFULL: 507 naming the cap; delete one first), and
 * @max_session_commands entries in its journal, its recorded session (a request whose
 * commands would go beyond is refused whole and undone, -EXFULL; a session import or replay
 * longer than that too). 0: no cap.
 */
void registry_set_machine_limits(struct registry *reg, unsigned int max_snapshots,
				 unsigned int max_session_commands);
/*
 * registry_journal_compact - POST /v1/machines/{id}/journal/compact: the leased machine's
 * journal up to its snapshot @id is dropped, in one transaction (store_journal_compact());
 * the snapshot becomes the base its restarts and rebuilds start from, pinned (its deletion is
 * refused, 409). The machine itself does not change. *@ret: {"machine", "compacted":
 * {"snapshot", "seq"}, "dropped": {"entries", "batches", "bytes"}, "next_seq"}.
 */
int registry_journal_compact(struct registry *reg, struct api_lease *lease, int64_t id,
			     json_t **ret, struct mm_error *err);
/* Would a machine costing @cost bytes (mm_config_host_bytes()) fit under max-machines and
 * max-host-memory now? 0 or -EXFULL naming the cap (the adoption checks again). */
int registry_fits(struct registry *reg, uint64_t cost, struct mm_error *err);
/* max-session-commands (0: none), for the session importer. */
unsigned int registry_max_session_commands(struct registry *reg);

bool registry_contains(struct registry *reg, const char *id);
/* Create, persist and register a machine (the HTTP path, unlocked afterwards). */
int registry_add(struct registry *reg, const char *name, const struct mm_config *cfg,
		 struct mm_error *err);

struct store *registry_store(struct registry *reg);

/* A machine made elsewhere (a session import or replay), with its history. */
struct registry_new {
	const char *name;		   /* "" to pick the first free "m<N>" */
	struct mm_machine *m;		   /* stolen on success */
	const char *config;		   /* machines.config */
	int64_t base_snapshot;		   /* 0: none */
	const char *origin;		   /* JSON */
	const struct store_batch *batches; /* its journal, seq 1.. */
	size_t nbatches;
	const int64_t *uses; /* snapshots its journal restores */
	size_t nuses;
	int64_t next_seq;
};

/*
 * registry_adopt - persist @nw (machine, journal, uses: one transaction) and register it.
 * Return: 0 with its id in @ret_id; -EEXIST (name taken), -ENOENT (a snapshot is gone),
 * -EIO; on failure @nw->m is still the caller's.
 */
int registry_adopt(struct registry *reg, const struct registry_new *nw, char ret_id[API_NAME_MAX],
		   struct mm_error *err);

/* The persistence of the leased machine @lease (documents are new references; ROUTES.md
 * gives their members): its state hash {"algorithm","hash","seq"}; a snapshot of it (*@ret
 * the snapshot, or, *@ret_job, the job that takes it, started and reserving the machine;
 * @async: 1 always a job, 0 never, -1 a job when it has much RAM to read); its snapshots
 * {"snapshots","storage"}; its snapshot @id (-ENOENT when not one of its own). */
int registry_state_hash(struct registry *reg, struct api_lease *lease, json_t **ret,
			struct mm_error *err);
int registry_snapshot_create(struct registry *reg, struct api_lease *lease, const char *label,
			     int async, json_t **ret, bool *ret_job, struct mm_error *err);
int registry_snapshot_list(struct registry *reg, struct api_lease *lease, json_t **ret,
			   struct mm_error *err);
int registry_snapshot_get(struct registry *reg, struct api_lease *lease, int64_t id, json_t **ret,
			  struct mm_error *err);
/* Delete snapshot @id of machine @machine (not leased: it may wait for a collection). */
int registry_snapshot_delete(struct registry *reg, const char *machine, int64_t id, json_t **ret,
			     struct mm_error *err);
int registry_job_get(struct registry *reg, int64_t id, json_t **ret, struct mm_error *err);
int registry_job_list(struct registry *reg, json_t **ret, struct mm_error *err);

/* The registry as an api_host (data = @reg), with the daemon's routes (routes.h). */
struct api_host registry_host(struct registry *reg);

#endif /* DAEMON_REGISTRY_H */
