/* SPDX-License-Identifier: MIT */
/*
 * host.h - every host allocation mmcore makes goes through here.
 *
 * Keeping them in one place lets tests fail the Nth allocation (host-oom) and keeps the
 * rule visible: a host failure is -ENOMEM, never a guest fact (-ENOSPC).
 * The failure-injection counter is per call site argument, not global state: callers pass
 * the machine's own counter (NULL when there is no machine yet).
 */
#ifndef MM_HOST_H
#define MM_HOST_H

#include <stddef.h>

void *host_calloc(size_t n, size_t size);
void *host_realloc(void *p, size_t n, size_t size);
void host_free(void *p);
/* Anonymous, lazily committed mapping (MAP_NORESERVE): untouched pages cost nothing. */
void *host_map(size_t size);
void host_unmap(void *p, size_t size);

#endif /* MM_HOST_H */
