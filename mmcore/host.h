/* SPDX-License-Identifier: MIT */
/*
 * host.h - every host allocation mmcore makes goes through here.
 *
 * Keeping them in one place keeps the rule visible: a host failure is -ENOMEM, never a
 * guest fact (-ENOSPC), and lets a test fail the Nth allocation (host-oom) to prove every
 * error path unwinds without a leak. mmcore has no global state, so the count lives in a
 * context the caller owns (struct mm_host, mmcore.h): the one given to
 * mm_machine_create_host() counts the boot, and the machine keeps a borrowed pointer to it
 * for the allocations of its later calls (mm_machine_set_host()). A NULL context counts
 * nothing and never fails on purpose.
 *
 * Counted: the machine's own structures (the machine, mem_map, pgstate, pageblock flags,
 * memblock arrays, TLBs, e820 scratch, RAM), its kernel log, the checker's scratch map and
 * the page-table dump. Not counted: text buffers a caller hands in (struct mm_buf without a
 * host), and snapshot loading, which has no machine yet.
 */
#ifndef MM_HOST_H
#define MM_HOST_H

#include <stddef.h>

#include "mmcore.h"

void *host_calloc(struct mm_host *h, size_t n, size_t size);
void *host_realloc(struct mm_host *h, void *p, size_t n, size_t size);
void host_free(void *p);
/* Anonymous, lazily committed mapping (MAP_NORESERVE): untouched pages cost nothing. */
void *host_map(struct mm_host *h, size_t size);
void host_unmap(void *p, size_t size);

#endif /* MM_HOST_H */
