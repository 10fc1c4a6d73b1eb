/* SPDX-License-Identifier: MIT */
/*
 * host.c - host memory for mmcore: heap objects and large lazily-committed mappings
 * (emulated RAM, mem_map). See host.h.
 */
#include "host.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

void *host_calloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

void *host_realloc(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return realloc(p, (n && size) ? n * size : 1);
}

void host_free(void *p)
{
	free(p);
}

void *host_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void host_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}
