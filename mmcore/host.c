/* SPDX-License-Identifier: MIT */
/*
 * host.c - host memory for mmcore: heap objects and large lazily-committed mappings
 * (emulated RAM, mem_map), each counted in the caller's context. See host.h.
 */
#include "host.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Count one allocation in @h; true when it is the one to fail. */
static bool host_fails(struct mm_host *h)
{
	if (!h)
		return false;
	return ++h->nr_allocs == h->fail_nth;
}

void *host_calloc(struct mm_host *h, size_t n, size_t size)
{
	if (host_fails(h))
		return NULL;
	return calloc(n ? n : 1, size ? size : 1);
}

void *host_realloc(struct mm_host *h, void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	if (host_fails(h))
		return NULL;
	return realloc(p, (n && size) ? n * size : 1);
}

void host_free(void *p)
{
	free(p);
}

void *host_map(struct mm_host *h, size_t size)
{
	void *p;

	if (host_fails(h))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void host_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}
