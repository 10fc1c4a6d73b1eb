/* SPDX-License-Identifier: MIT */
/*
 * host.c - host memory for mmcore: heap objects and large lazily-committed mappings
 * (emulated RAM, mem_map), each counted in the caller's context. See host.h.
 */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

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

int host_share_create(struct mm_host *h, size_t size, int *fd, void **view)
{
	void *p;
	int f;

	if (host_fails(h))
		return -ENOMEM;
	f = memfd_create("mm32-template", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (f < 0)
		return -ENOMEM;
	if (ftruncate(f, (off_t)(size ? size : 1))) {
		close(f);
		return -ENOMEM;
	}
	p = size ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, f, 0)
		 : NULL;
	if (p == MAP_FAILED) {
		close(f);
		return -ENOMEM;
	}
	*fd = f;
	*view = p;
	return 0;
}

int host_share_seal(int fd)
{
	return fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)
		       ? -ENOMEM
		       : 0;
}

void *host_map_cow(struct mm_host *h, int fd, size_t off, size_t size)
{
	void *p;

	if (host_fails(h))
		return NULL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)off);
	return p == MAP_FAILED ? NULL : p;
}

void host_share_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
