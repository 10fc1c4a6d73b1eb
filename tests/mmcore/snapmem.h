/* SPDX-License-Identifier: MIT */
/*
 * snapmem.h - a snapshot stream in memory, for the tests and fuzzers that save and load
 * machines without a file: mm_write_fn/mm_read_fn callbacks over one growing buffer.
 * Header-only: each test is one executable.
 */
#ifndef TEST_SNAPMEM_H
#define TEST_SNAPMEM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct mem {
	uint8_t *p;
	size_t len, cap, pos; /* bytes written, allocated, and read so far */
};

/* mm_write_fn: append; -1 when the host is out of memory. */
static inline int mem_write(void *ctx, const void *data, size_t len)
{
	struct mem *b = ctx;

	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		uint8_t *p = realloc(b->p, cap);

		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

/* mm_read_fn: the next @len bytes; -1 past the end. */
static inline int mem_read(void *ctx, void *data, size_t len)
{
	struct mem *b = ctx;

	if (len > b->len - b->pos)
		return -1;
	memcpy(data, b->p + b->pos, len);
	b->pos += len;
	return 0;
}

#endif /* TEST_SNAPMEM_H */
