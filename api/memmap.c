/* SPDX-License-Identifier: MIT */
/*
 * memmap.c - GET /v1/machines/{id}/memmap?start=&count=: mem_map at a glance, one byte per
 * page frame, for the dashboard's map of physical memory (a 4 GiB machine has 1M frames:
 * /frames' JSON, ~500 bytes a frame, is far too slow for that).
 *
 * Mirrors: what include/linux/mm_types.h's struct page says about a frame, read through
 * mm_get_frame() as /frames reads it, reduced to what a map colours: where the frame is
 * (free on a buddy list, free on a per-CPU list, allocated, reserved, absent) and for whom
 * (a slab, a page table, a kmalloc_large block, a kmapped HighMem page, the kernel's own
 * pages), with the order of
 * the block it belongs to.
 *
 * The byte: bits 7..4 the kind, bits 3..0 the block's order (0..10; 15 when it has none):
 *   0 absent (no struct page: a hole)   1 reserved (PG_reserved)
 *   2 free, on a buddy free_area list    3 free, on a per-CPU (pcp) list
 *   4 allocated by alloc_pages()         5 slab (PG_slab: the slab's pages)
 *   6 page table (page_type PG_table)    7 kmalloc_large (pages kmalloc took directly)
 *   8 a HighMem page mapped by kmap (pkmap) or kmap_local
 *   9 the kernel's own (PGS_KERNEL: a page table it allocated, a vmalloc'd page)
 * A tail page is of its block's kind: the head's. Invariants: the answer has exactly
 * min(count, max_pfn - start) bytes; count is bounded (MEMMAP_MAX) like every list.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "call-int.h"
#include "problem.h"

#define MEMMAP_MAX (1u << 20) /* 4 GiB of frames in one answer */

enum memmap_kind {
	MEMMAP_ABSENT,
	MEMMAP_RESERVED,
	MEMMAP_BUDDY,
	MEMMAP_PCP,
	MEMMAP_ALLOCATED,
	MEMMAP_SLAB,
	MEMMAP_PAGE_TABLE,
	MEMMAP_KMALLOC_LARGE,
	MEMMAP_KMAPPED,
	MEMMAP_KERNEL_OWN,
};

/* The byte of a frame that heads its block (or is alone). */
static uint8_t memmap_byte(const struct mm_frame_info *f)
{
	unsigned int order =
		f->block_order >= 0 && f->block_order < 15 ? (unsigned)f->block_order : 15;
	enum memmap_kind k;

	switch (f->state) {
	case MM_FRAME_RESERVED:
		k = MEMMAP_RESERVED;
		break;
	case MM_FRAME_BUDDY:
	case MM_FRAME_BUDDY_TAIL:
		k = MEMMAP_BUDDY;
		break;
	case MM_FRAME_PCP:
	case MM_FRAME_PCP_TAIL:
		k = MEMMAP_PCP;
		break;
	case MM_FRAME_ALLOCATED:
	case MM_FRAME_ALLOCATED_TAIL:
		if (f->slab_cache)
			k = MEMMAP_SLAB;
		else if (f->page_type_name && !strcmp(f->page_type_name, "table"))
			k = MEMMAP_PAGE_TABLE;
		else if (f->kmalloc_large)
			k = MEMMAP_KMALLOC_LARGE;
		else if (f->kernel_own)
			k = MEMMAP_KERNEL_OWN;
		else if (!f->lowmem && f->vaddr)
			k = MEMMAP_KMAPPED;
		else
			k = MEMMAP_ALLOCATED;
		break;
	default:
		k = MEMMAP_ABSENT;
		break;
	}
	return (uint8_t)((unsigned)k << 4 | order);
}

int h_memmap(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	uint32_t start, n;
	uint32_t head_pfn = UINT32_MAX;
	uint8_t head_byte = 0, *buf;
	struct mm_frame_info f;
	int r;

	r = api_frame_range(c, MEMMAP_MAX, MEMMAP_MAX, &start, &n, err);
	if (r < 0)
		return r;
	buf = malloc(n);
	if (!buf)
		return api_error(err, -ENOMEM, "out of memory for %" PRIu32 " frames", n);
	for (uint32_t i = 0; i < n; i++) {
		r = mm_get_frame(c->lease.m, start + i, &f, err);
		if (r < 0) {
			free(buf);
			return api_call_failed(r, err, "mm_get_frame");
		}
		if (f.state == MM_FRAME_ALLOCATED_TAIL && f.block_pfn >= 0) {
			/* a tail is what its block's head is (PG_slab, the page type and
			 * kmalloc_large are the head's); a kmapped HighMem page is itself */
			if (head_pfn != (uint32_t)f.block_pfn) {
				struct mm_frame_info h;

				r = mm_get_frame(c->lease.m, (uint32_t)f.block_pfn, &h, err);
				if (r < 0) {
					free(buf);
					return api_call_failed(r, err, "mm_get_frame");
				}
				head_pfn = (uint32_t)f.block_pfn;
				h.vaddr = 0; /* the head's own kmap is not the block's */
				head_byte = memmap_byte(&h);
			}
			buf[i] = !f.lowmem && f.vaddr
					 ? (uint8_t)(MEMMAP_KMAPPED << 4 | (head_byte & 15))
					 : head_byte;
		} else {
			buf[i] = memmap_byte(&f);
		}
	}
	out->json_text = (char *)buf;
	out->json_text_len = n;
	out->content_type = "application/octet-stream";
	out->status = 200;
	return 0;
}
