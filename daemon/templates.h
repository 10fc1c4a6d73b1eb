/* SPDX-License-Identifier: MIT */
/*
 * templates.h - machines of a configuration already booted come as clones of a template.
 *
 * What it is for: a class creates a thousand machines of one configuration; booting each
 * from scratch takes tens of milliseconds and keeps a whole mem_map per machine. The daemon
 * keeps one booted template per configuration (mmcore's mm_machine_share()) and gives every
 * later machine of that configuration as mm_machine_clone() of it: milliseconds, and host
 * memory only for what the machine writes (mmcore/clone.c). A clone is the machine a
 * scratch boot gives, byte for byte (tests/mmcore/test-clone.c, tests/e2e/test_scale.py).
 *
 * machine_boot() is the one place the daemon boots a machine from a configuration: a
 * create, a restart from a stored configuration, a session import.
 * Invariants: a template is never handed out and never changes; only whole boots
 * (stop_after "buddy") of at most TEMPLATE_MAX_ONE_BYTES are templated; at most TEMPLATES_MAX
 * templates and TEMPLATES_MAX_BYTES of their mm_config_host_bytes() are kept (the least recently
 * used goes first; its clones keep their frames: the host frees them with the last mapping).
 * MM32_TEMPLATES=0 in the environment turns the cache off (every machine a scratch boot).
 * Locking: one mutex around the cache; boots run outside it.
 */
#ifndef DAEMON_TEMPLATES_H
#define DAEMON_TEMPLATES_H

#include "mmcore.h"

#define TEMPLATES_MAX 16
#define TEMPLATES_MAX_BYTES (1ULL << 30)
/* A configuration above this (about 28 GiB of RAM) is booted from scratch each time: its
 * template would keep that much after its machines are gone, for the odd big machine. */
#define TEMPLATE_MAX_ONE_BYTES (256ULL << 20)

/* mm_machine_create(@cfg), through the template cache. */
int machine_boot(const struct mm_config *cfg, struct mm_machine **ret, struct mm_error *err);

/* How many templates are kept, and their bytes; counters of boots and clones. */
struct templates_stats {
	unsigned int n;
	uint64_t bytes, boots, clones;
};
void templates_stats(struct templates_stats *out);
/* Drop every template (at exit; the machines cloned from them keep working). */
void templates_clear(void);

#endif /* DAEMON_TEMPLATES_H */
