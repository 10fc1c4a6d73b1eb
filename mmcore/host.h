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

/*
 * Shared, copy-on-write host memory (clone.c): a sealed memory file holds a template's frames
 * and each clone maps it privately, so the host's MMU copies a 4 KiB host page the first
 * time a clone writes it, and a write can never reach the template or a sibling.
 *  host_share_create(): an anonymous memory file of @size bytes (untouched: holes, zero),
 *    its descriptor in *@fd, and a writable shared view of it in *@view for filling;
 *  host_share_seal(): after unmapping the view, forbid every later write, growth or
 *    shrink of the file (F_SEAL_WRITE: the kernel refuses them, for anyone);
 *  host_map_cow(): a private view of [@off, @off + @size) of the file (MAP_PRIVATE).
 * Each returns 0 or -ENOMEM (host memory or descriptors exhausted).
 */
int host_share_create(struct mm_host *h, size_t size, int *fd, void **view);
int host_share_seal(int fd);
void *host_map_cow(struct mm_host *h, int fd, size_t off, size_t size);
void host_share_close(int fd);

#endif /* MM_HOST_H */
