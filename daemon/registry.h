/* SPDX-License-Identifier: MIT */
/*
 * registry.h - the machines of this daemon, by id, and the api_host they are served through.
 *
 * Locking: a registry rwlock guards the set of machines (create, delete, list take it
 * for writing or reading); each machine has a mutex that serializes every call into
 * mmcore for it (mmcore is single-threaded per machine). Lock order: registry, then
 * machine; a machine's mutex is never held while waiting for the registry lock.
 *
 * Persistence: every machine is in the store with its configuration; every command that
 * changed it is in its journal. registry_load() rebuilds the machines from the store by
 * creating each from its configuration and replaying its journal through
 * api_command_exec_text(), the executor the HTTP routes use. The journal is kept as batches
 * (one per request); a replayed result is compared with the journaled one.
 */
#ifndef DAEMON_REGISTRY_H
#define DAEMON_REGISTRY_H

#include <stdbool.h>

#include "router.h"
#include "store.h"

struct registry;

/* @st is borrowed and must outlive the registry. */
int registry_create(struct store *st, struct registry **ret, struct mm_error *err);
/* Destroy every machine (the store keeps them). Accepts NULL. */
void registry_destroy(struct registry *reg);

/* Re-create every stored machine and replay its journal. Machines that fail to come back
 * are logged and left out (and left in the store). Return: 0 or a store error. */
int registry_load(struct registry *reg, struct mm_error *err);

bool registry_contains(struct registry *reg, const char *id);
/* Create, persist and register a machine (the HTTP path, unlocked afterwards). */
int registry_add(struct registry *reg, const char *name, const struct mm_config *cfg,
		 struct mm_error *err);

/* The registry as an api_host (data = @reg). */
struct api_host registry_host(struct registry *reg);

#endif /* DAEMON_REGISTRY_H */
