/* SPDX-License-Identifier: MIT */
/*
 * memblock.c - the boot-time memory allocator; see memblock.h for the invariants.
 * Mirrors: mm/memblock.c memblock_add_range(), memblock_find_in_range_node() (top-down),
 * __next_mem_range() (free ranges = memory minus reserved), memblock_trim_memory().
 */
#include "memblock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "machine.h"
#include "snapshot.h"

static int type_init(struct memblock_type *t, struct mm_host *host)
{
	t->cnt = 0;
	t->max = 64;
	t->host = host;
	t->regions = host_calloc(host, t->max, sizeof(*t->regions));
	return t->regions ? 0 : -ENOMEM;
}

int memblock_init(struct memblock *mb, struct mm_host *host)
{
	memset(mb, 0, sizeof(*mb));
	if (type_init(&mb->memory, host) || type_init(&mb->reserved, host)) {
		memblock_finish(mb);
		return -ENOMEM;
	}
	mb->current_limit = UINT64_MAX;
	return 0;
}

void memblock_finish(struct memblock *mb)
{
	host_free(mb->memory.regions);
	host_free(mb->reserved.regions);
	mb->memory.regions = mb->reserved.regions = NULL;
}

static int type_insert(struct memblock_type *t, unsigned int at, phys_addr_t base, phys_addr_t size,
		       const char *name)
{
	if (t->cnt == t->max) {
		struct memblock_region *r =
			host_realloc(t->host, t->regions, t->max * 2, sizeof(*r));

		if (!r)
			return -ENOMEM;
		t->regions = r;
		t->max *= 2;
	}
	memmove(&t->regions[at + 1], &t->regions[at], (t->cnt - at) * sizeof(*t->regions));
	memset(&t->regions[at], 0, sizeof(t->regions[at]));
	t->regions[at].base = base;
	t->regions[at].size = size;
	if (name)
		snprintf(t->regions[at].name, sizeof(t->regions[at].name), "%s", name);
	t->cnt++;
	return 0;
}

static void type_remove(struct memblock_type *t, unsigned int at)
{
	memmove(&t->regions[at], &t->regions[at + 1], (t->cnt - at - 1) * sizeof(*t->regions));
	t->cnt--;
}

/* Merge neighbours that touch and share a name (memory has none: always merged). */
static void type_merge(struct memblock_type *t)
{
	unsigned int i = 0;

	while (i + 1 < t->cnt) {
		struct memblock_region *a = &t->regions[i], *b = &t->regions[i + 1];

		if (a->base + a->size == b->base && !strcmp(a->name, b->name)) {
			a->size += b->size;
			type_remove(t, i + 1);
			continue;
		}
		i++;
	}
}

/* Insert the parts of [base, base+size) not yet covered by @t. */
static int add_range(struct memblock_type *t, phys_addr_t base, phys_addr_t size, const char *name)
{
	phys_addr_t end = base + size;
	unsigned int i;
	int ret;

	if (!size)
		return 0;
	for (i = 0; i < t->cnt && base < end; i++) {
		struct memblock_region *r = &t->regions[i];
		phys_addr_t rend = r->base + r->size;

		if (rend <= base)
			continue;
		if (r->base >= end)
			break;
		if (r->base > base) {
			ret = type_insert(t, i, base, r->base - base, name);
			if (ret)
				return ret;
			i++;
			r = &t->regions[i];
			rend = r->base + r->size;
		}
		base = MM_MIN(rend, end);
	}
	if (base < end) {
		for (i = 0; i < t->cnt && t->regions[i].base < base; i++)
			;
		ret = type_insert(t, i, base, end - base, name);
		if (ret)
			return ret;
	}
	type_merge(t);
	return 0;
}

int memblock_add(struct memblock *mb, phys_addr_t base, phys_addr_t size)
{
	return add_range(&mb->memory, base, size, NULL);
}

int memblock_reserve(struct memblock *mb, phys_addr_t base, phys_addr_t size, const char *name)
{
	return add_range(&mb->reserved, base, size, name);
}

int memblock_phys_free(struct memblock *mb, phys_addr_t base, phys_addr_t size)
{
	struct memblock_type *t = &mb->reserved;
	phys_addr_t end = base + size;
	unsigned int i = 0;
	int ret;

	while (i < t->cnt) {
		struct memblock_region *r = &t->regions[i];
		phys_addr_t rend = r->base + r->size;

		if (rend <= base || r->base >= end) {
			i++;
			continue;
		}
		if (r->base < base && rend > end) {
			char name[MEMBLOCK_NAME_MAX];

			memcpy(name, r->name, sizeof(name)); /* type_insert() may move r */
			ret = type_insert(t, i + 1, end, rend - end, name);
			if (ret)
				return ret;
			t->regions[i].size = base - t->regions[i].base;
			return 0;
		}
		if (r->base < base) {
			r->size = base - r->base;
			i++;
		} else if (rend > end) {
			r->size = rend - end;
			r->base = end;
			i++;
		} else {
			type_remove(t, i);
		}
	}
	return 0;
}

void memblock_trim_memory(struct memblock *mb)
{
	struct memblock_type *t = &mb->memory;
	unsigned int i = 0;

	while (i < t->cnt) {
		struct memblock_region *r = &t->regions[i];
		phys_addr_t start = PAGE_ALIGN(r->base);
		phys_addr_t end = (r->base + r->size) & ~(phys_addr_t)(PAGE_SIZE - 1);

		if (start >= end) {
			type_remove(t, i);
			continue;
		}
		r->base = start;
		r->size = end - start;
		i++;
	}
}

bool memblock_next_free_range(const struct memblock *mb, uint64_t *idx, phys_addr_t *start,
			      phys_addr_t *end)
{
	/* idx encodes (memory index << 32) | (reserved index + 1 position within it) */
	const struct memblock_type *mem = &mb->memory, *res = &mb->reserved;
	uint32_t mi = (uint32_t)(*idx >> 32), ri = (uint32_t)*idx;

	for (; mi < mem->cnt; mi++, ri = 0) {
		phys_addr_t m_start = mem->regions[mi].base;
		phys_addr_t m_end = m_start + mem->regions[mi].size;

		/* ri counts gaps between reserved regions: gap k lies before reserved[k] */
		for (; ri < res->cnt + 1; ri++) {
			phys_addr_t r_start =
				ri ? res->regions[ri - 1].base + res->regions[ri - 1].size : 0;
			phys_addr_t r_end = ri < res->cnt ? res->regions[ri].base : UINT64_MAX;

			if (r_start >= m_end)
				break;
			if (m_start < r_end) {
				phys_addr_t s = MM_MAX(m_start, r_start), e = MM_MIN(m_end, r_end);

				if (s < e) {
					*start = s;
					*end = e;
					*idx = ((uint64_t)mi << 32) | (ri + 1);
					/* advance the memory index when this gap reaches its end */
					if (r_end >= m_end)
						*idx = ((uint64_t)(mi + 1) << 32);
					return true;
				}
			}
		}
	}
	return false;
}

int memblock_alloc(struct memblock *mb, phys_addr_t size, phys_addr_t align, const char *name,
		   phys_addr_t *ret)
{
	return memblock_alloc_range(mb, size, align, 0, mb->current_limit, name, ret);
}

int memblock_alloc_range(struct memblock *mb, phys_addr_t size, phys_addr_t align,
			 phys_addr_t start, phys_addr_t end, const char *name, phys_addr_t *ret)
{
	const struct memblock_type *mem = &mb->memory, *res = &mb->reserved;
	int mi, ri;

	if (!align)
		align = SMP_CACHE_BYTES;
	/* walk free ranges top-down (__next_mem_range_rev) */
	for (mi = (int)mem->cnt - 1; mi >= 0; mi--) {
		phys_addr_t m_start = mem->regions[mi].base;
		phys_addr_t m_end = m_start + mem->regions[mi].size;

		for (ri = (int)res->cnt; ri >= 0; ri--) {
			phys_addr_t r_start =
				ri ? res->regions[ri - 1].base + res->regions[ri - 1].size : 0;
			phys_addr_t r_end = ri < (int)res->cnt ? res->regions[ri].base : UINT64_MAX;
			phys_addr_t s = MM_MAX(m_start, r_start), e = MM_MIN(m_end, r_end), cand;

			if (r_end <= m_start)
				break;
			e = MM_MIN(e, end);
			s = MM_MAX(s, start);
			if (s >= e || e - s < size)
				continue;
			cand = (e - size) & ~(align - 1);
			if (cand < s)
				continue;
			if (memblock_reserve(mb, cand, size, name))
				return -ENOMEM;
			*ret = cand;
			return 0;
		}
	}
	return -ENOSPC;
}

phys_addr_t memblock_start_of_DRAM(const struct memblock *mb)
{
	return mb->memory.cnt ? mb->memory.regions[0].base : 0;
}

phys_addr_t memblock_end_of_DRAM(const struct memblock *mb)
{
	const struct memblock_type *t = &mb->memory;

	return t->cnt ? t->regions[t->cnt - 1].base + t->regions[t->cnt - 1].size : 0;
}

uint64_t memblock_memory_in(const struct memblock *mb, phys_addr_t start, phys_addr_t end)
{
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < mb->memory.cnt; i++) {
		phys_addr_t s = MM_MAX(start, mb->memory.regions[i].base);
		phys_addr_t e =
			MM_MIN(end, mb->memory.regions[i].base + mb->memory.regions[i].size);

		if (s < e)
			sum += e - s;
	}
	return sum;
}

/* ---- snapshot section MBLK: memblock.memory, memblock.reserved, current_limit ---------- */

static void type_snap_save(const struct memblock_type *t, struct snap_out *o)
{
	unsigned int i;

	snap_put_u32(o, t->cnt);
	for (i = 0; i < t->cnt; i++) {
		snap_put_u64(o, t->regions[i].base);
		snap_put_u64(o, t->regions[i].size);
		snap_put_str(o, t->regions[i].name);
	}
}

/* Regions sorted by base, none empty, none wrapping or overlapping the one before. */
static int type_snap_load(struct memblock_type *t, struct snap_in *in, const char *what)
{
	unsigned int i, cnt = snap_get_count(in, 1u << 16, what);

	t->cnt = 0;
	t->max = MM_MAX(cnt, 64u);
	t->regions = host_calloc(t->host, t->max, sizeof(*t->regions));
	if (!t->regions) {
		t->max = 0;
		return snap_nomem(in, "memblock");
	}
	for (i = 0; i < cnt && !in->ret; i++) {
		struct memblock_region *r = &t->regions[i];

		r->base = snap_get_u64(in);
		r->size = snap_get_u64(in);
		snap_get_str(in, r->name, sizeof(r->name));
		if (in->ret)
			break;
		if (!r->size || r->base + r->size < r->base)
			return snap_corrupt(in, "%s region %u is empty or wraps", what, i);
		if (i && r->base < t->regions[i - 1].base + t->regions[i - 1].size)
			return snap_corrupt(in, "%s region %u overlaps the one before", what, i);
		t->cnt = i + 1;
	}
	return in->ret;
}

void memblock_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	type_snap_save(&m->memblock.memory, o);
	type_snap_save(&m->memblock.reserved, o);
	snap_put_u64(o, m->memblock.current_limit);
}

int memblock_snap_load(struct mm_machine *m, struct snap_in *in)
{
	if (type_snap_load(&m->memblock.memory, in, "memory") ||
	    type_snap_load(&m->memblock.reserved, in, "reserved"))
		return in->ret;
	m->memblock.current_limit = snap_get_u64(in);
	return in->ret;
}
