/* SPDX-License-Identifier: MIT */
/*
 * registry-int.h - the layout of the registry and its machines, shared by registry.c (machines
 * by id, leases, the api_host, start-up) and registry-snap.c (the state hash, snapshots, snapshot
 * jobs, clones). Locking is registry.h's.
 */
#ifndef DAEMON_REGISTRY_INT_H
#define DAEMON_REGISTRY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "commands.h"
#include "jobs.h"
#include "registry.h"
#include "snapshot.h"

/* A machine whose touched RAM is above this is snapshotted by a job (202), unless told. */
#define SNAPSHOT_SYNC_FRAMES (64u << 10) /* 256 MiB */

/* What a machine of the registry is (struct machine.state, guarded by its @lock): in memory;
 * being restored at start-up (no mmcore machine yet: requests wait for it, bounded, then
 * answer 503 with Retry-After); left unloaded with a reason (over the caps, or its restore
 * failed: requests answer with the reason, it can be deleted). */
enum machine_state { MACHINE_READY, MACHINE_RESTORING, MACHINE_UNLOADED };

/* How long a request waits for a machine being restored before its 503 (Retry-After: 1). */
#define RESTORE_WAIT_MS 2000

struct machine {
	char id[API_NAME_MAX];
	struct mm_machine *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;   /* a reservation ended (with @lock) */
	unsigned int reserved; /* jobs that will take the machine next; guarded by @lock */
	atomic_bool doomed;    /* being deleted: jobs give up */
	pthread_mutex_t job_lock;
	struct snapshot_progress *job; /* the job working on it; guarded by @job_lock */
	int64_t next_seq;
	uint64_t generation;   /* of its state identity (api_state_id): new when it is created,
				* replaced or rebuilt; under @lock */
	int64_t journal_start; /* the seq its journal was compacted up to (0: whole); @lock */
	bool diverged;	     /* differs from its journal (a failed append, then a failed rebuild) */
	uint64_t host_bytes; /* mm_config_host_bytes() of its configuration, charged to the registry
			      */
	struct registry *reg;
	struct api_exec_env env; /* for commands on it: snapshot_restore reads the store */
	/* views rendered once per state (api/viewcache.h), keyed by @generation (new with every
	 * struct mm_machine put in @m: machine_set()) and the seq; made on first use */
	struct api_view_cache *views;
	/* start-up (registry_load() and its restore thread): the state, the requests waiting
	 * for the restore (a deleter waits for them to leave), why it is unloaded (the code
	 * its requests get, and the reason), and what it is restored from */
	atomic_int state; /* enum machine_state; written under @lock, read without */
	unsigned int waiters;
	int unloaded_code;
	char unloaded_why[200]; /* written before @state becomes MACHINE_UNLOADED, then fixed */
	char *config;
	int64_t base_snapshot;
	bool taken; /* the restore thread has it (guarded by the restorer's lock) */
};

struct stored {
	char *id, *config;
	int64_t base_snapshot;
};

struct registry {
	pthread_rwlock_t lock;
	struct machine **v; /* sorted by id */
	size_t n, cap;
	struct store *st;
	struct jobs *jobs;
	/* the caps (registry_set_limits(); 0: none) and what the machines hold of them, under
	 * @lock: a machine is counted from its adoption to its deletion */
	unsigned int max_machines;
	uint64_t max_host_bytes, host_bytes;
	/* the state identities of its machines (api_state_id): @instance is random at its
	 * creation, @generations counts every machine's new states */
	uint64_t instance;
	atomic_uint_fast64_t generations;
	size_t n_unloaded; /* machines left unloaded: in @v, not counted by the caps */
	/* the background restore of registry_load(): one thread through the machines in id
	 * order, the ones requests wait for first */
	struct {
		pthread_mutex_t lock;
		pthread_t thread;
		bool started;
		atomic_bool stop;
		struct machine **order, **wanted; /* @order: borrowed from @v at start-up */
		size_t n, next, nwanted;
		atomic_size_t done;
	} rs;
	/* per machine (registry_set_machine_limits(); 0: none), read with __atomic_load_n() */
	unsigned int max_snapshots, max_session_commands;
};

/* Put @m behind @mc (the old one is the caller's): a new generation of its state version. */
static inline void machine_set(struct machine *mc, struct mm_machine *m)
{
	mc->m = m;
	mc->generation = atomic_fetch_add(&mc->reg->generations, 1) + 1;
}

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* snapshot_restore's environment: on a live machine (@data is its struct machine), and in a
 * rebuild (@data is the registry: the snapshot may be deleted since, kept for the journal). */
int registry_live_snapshot_load(void *data, int64_t id, const struct mm_machine *m,
				struct mm_machine **ret, struct api_snapshot_ref *ref,
				struct mm_error *err);
int registry_replay_snapshot_load(void *data, int64_t id, const struct mm_machine *m,
				  struct mm_machine **ret, struct api_snapshot_ref *ref,
				  struct mm_error *err);
/* api_host_ops.machine_clone */
int registry_clone(void *data, const char *name, int64_t id, struct api_lease *ret,
		   struct mm_error *err);
/* Persist @nw and register it; on success *@ret is its lease, locked. */
int registry_adopt_locked(struct registry *reg, const struct registry_new *nw,
			  struct api_lease *ret, struct mm_error *err);

#endif /* DAEMON_REGISTRY_INT_H */
