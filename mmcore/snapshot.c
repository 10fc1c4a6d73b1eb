/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - the whole machine as a byte stream, and back.
 *
 * What a snapshot holds: everything mmcore keeps about a machine except the RAM contents,
 * which the store keeps frame by frame (deduplicated by content): the configuration, the
 * e820 tables, memblock, the layout, mem_map (every struct page), the zones with their
 * free lists and pcp lists (linked through pfns, so position independent), the pageblock
 * flags, the per-CPU registers and TLBs, the kernel log, the counters.
 *
 * Format (version MM_SNAPSHOT_VERSION): a header (magic, version, the sizes of the
 * structures it images, the RAM size), then the image of struct mm_machine with every
 * host pointer zeroed, then the arrays those pointers held, in a fixed order. The image
 * is the build's own layout: a stream from another format version or another struct
 * layout is refused with a message saying which, never misread.
 * Determinism: two machines in the same state give the same bytes. Pointers, buffer
 * capacities and the host-only "RAM may be non-zero" hints are left out for that reason;
 * a restored machine recomputes the hints from the frames it is given.
 */
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "machine.h"

#define SNAP_MAGIC "MM32SNAP"

struct snap_header {
	char magic[8];
	uint32_t version;
	uint32_t machine_size, page_size, zone_size, region_size, tlb_entry_size;
	uint32_t pae;
	uint64_t ram_size;
	uint32_t mem_map_pfns, pgstate_pfns;
	uint32_t memory_cnt, reserved_cnt;
	uint64_t log_len;
};

static int put(mm_write_fn write, void *ctx, const void *p, size_t n, struct mm_error *err)
{
	if (n && write(ctx, p, n))
		return mm_set_error(err, -EIO, "writing the snapshot stream failed");
	return 0;
}

int mm_snapshot_save(const struct mm_machine *m, mm_write_fn write, void *ctx, struct mm_error *err)
{
	struct snap_header h;
	struct mm_machine *img;
	unsigned int i, z;
	uint8_t chunk[4096];
	pfn_t pfn;
	int r;

	if (m->phase < MM_PHASE_EARLY_PAGE_TABLES)
		return mm_set_error(err, -EINVAL, "the machine has not started booting");
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SNAP_MAGIC, 8);
	h.version = MM_SNAPSHOT_VERSION;
	h.machine_size = sizeof(struct mm_machine);
	h.page_size = sizeof(struct page);
	h.zone_size = sizeof(struct zone);
	h.region_size = sizeof(struct memblock_region);
	h.tlb_entry_size = sizeof(struct tlb_entry);
	h.pae = m->cfg.pae;
	h.ram_size = m->ram_size;
	h.mem_map_pfns = m->mem_map_pfns;
	h.pgstate_pfns = m->pgstate_pfns;
	h.memory_cnt = m->memblock.memory.cnt;
	h.reserved_cnt = m->memblock.reserved.cnt;
	h.log_len = m->log.text.len;
	r = put(write, ctx, &h, sizeof(h), err);
	if (r)
		return r;

	img = host_calloc(m->host, 1, sizeof(*img));
	if (!img)
		return mm_set_error(err, -ENOMEM, "out of host memory");
	memcpy(img, m, sizeof(*img));
	img->ram = NULL;
	img->mem_map = NULL;
	img->pgstate = NULL;
	img->memblock.memory.regions = img->memblock.reserved.regions = NULL;
	img->memblock.memory.max = img->memblock.reserved.max = 0;
	for (z = 0; z < MAX_NR_ZONES; z++)
		img->pgdat.node_zones[z].pageblock_flags = NULL;
	img->log.text.data = NULL;
	img->log.text.cap = 0;
	img->log.text.host = NULL;
	img->host = NULL;
	img->memblock.memory.host = img->memblock.reserved.host = NULL;
	for (i = 0; i < NR_CPUS; i++) {
		img->cpus[i].tlb.small = NULL;
		img->cpus[i].tlb.large = NULL;
	}
	r = put(write, ctx, img, sizeof(*img), err);
	host_free(img);
	if (r)
		return r;

	r = put(write, ctx, m->memblock.memory.regions,
		m->memblock.memory.cnt * sizeof(struct memblock_region), err);
	if (!r)
		r = put(write, ctx, m->memblock.reserved.regions,
			m->memblock.reserved.cnt * sizeof(struct memblock_region), err);
	if (!r && m->mem_map)
		r = put(write, ctx, m->mem_map, (size_t)m->mem_map_pfns * sizeof(struct page), err);
	/* pgstate without the RAM hints */
	for (pfn = 0; !r && pfn < m->pgstate_pfns; pfn += sizeof(chunk)) {
		size_t n = MM_MIN(sizeof(chunk), (size_t)(m->pgstate_pfns - pfn)), k;

		for (k = 0; k < n; k++)
			chunk[k] = m->pgstate[pfn + k] & (uint8_t)~PGS_RAM_DIRTY;
		r = put(write, ctx, chunk, n, err);
	}
	for (z = 0; !r && z < MAX_NR_ZONES; z++)
		if (m->pgdat.node_zones[z].pageblock_flags)
			r = put(write, ctx, m->pgdat.node_zones[z].pageblock_flags,
				m->pgdat.node_zones[z].nr_pageblocks, err);
	if (!r)
		r = put(write, ctx, m->log.text.data, m->log.text.len, err);
	for (i = 0; !r && i < m->cfg.cpus; i++) {
		const struct tlb *t = &m->cpus[i].tlb;

		r = put(write, ctx, t->small, t->nr_small * sizeof(*t->small), err);
		if (!r)
			r = put(write, ctx, t->large, t->nr_large * sizeof(*t->large), err);
	}
	return r;
}

static int get(mm_read_fn read, void *ctx, void *p, size_t n, struct mm_error *err)
{
	if (n && read(ctx, p, n))
		return mm_set_error(err, -EBADMSG,
				    "the snapshot stream ends early or cannot be read");
	return 0;
}

static int check_header(const struct snap_header *h, struct mm_error *err)
{
	if (memcmp(h->magic, SNAP_MAGIC, 8))
		return mm_set_error(err, -EBADMSG, "not an mm32 machine snapshot (bad magic)");
	if (h->version != MM_SNAPSHOT_VERSION)
		return mm_set_error(err, -EINVAL,
				    "snapshot format version %u; this mm32 reads version %u only "
				    "(no migration from that version exists)",
				    h->version, MM_SNAPSHOT_VERSION);
	if (h->machine_size != sizeof(struct mm_machine) || h->page_size != sizeof(struct page) ||
	    h->zone_size != sizeof(struct zone) ||
	    h->region_size != sizeof(struct memblock_region) ||
	    h->tlb_entry_size != sizeof(struct tlb_entry))
		return mm_set_error(
			err, -EINVAL,
			"snapshot written by an mm32 build with another machine layout "
			"(struct sizes %u/%u/%u, this build %zu/%zu/%zu); restore it with "
			"that build or replay its session",
			h->machine_size, h->page_size, h->zone_size, sizeof(struct mm_machine),
			sizeof(struct page), sizeof(struct zone));
	if (h->ram_size > MM_MAX_RAM + (4ULL << 30) || h->mem_map_pfns > (1u << 25) ||
	    h->pgstate_pfns > (1u << 25) || h->memory_cnt > (1u << 16) ||
	    h->reserved_cnt > (1u << 16) || h->log_len > (1u << 30))
		return mm_set_error(err, -EBADMSG, "snapshot header out of range: corrupt");
	return 0;
}

int mm_snapshot_load(mm_read_fn read, void *ctx, struct mm_machine **ret, struct mm_error *err)
{
	struct snap_header h;
	struct mm_machine *m;
	unsigned int i, z;
	int r;

	r = get(read, ctx, &h, sizeof(h), err);
	if (!r)
		r = check_header(&h, err);
	if (r)
		return r;
	m = host_calloc(NULL, 1, sizeof(*m));
	if (!m)
		return mm_set_error(err, -ENOMEM, "out of host memory for the machine");
	r = get(read, ctx, m, sizeof(*m), err);
	if (r) {
		host_free(m);
		return r;
	}
	/* no host context comes from a stream (host.h): the restored machine counts nothing */
	m->host = m->log.text.host = m->memblock.memory.host = m->memblock.reserved.host = NULL;
	/* from here every pointer is NULL or owned: mm_machine_destroy() can clean up */
	if (m->cfg.cpus < 1 || m->cfg.cpus > NR_CPUS || m->mem_map_pfns != h.mem_map_pfns ||
	    m->pgstate_pfns != h.pgstate_pfns || m->ram_size != h.ram_size ||
	    m->memblock.memory.cnt != h.memory_cnt || m->memblock.reserved.cnt != h.reserved_cnt) {
		memset(m, 0, sizeof(*m));
		host_free(m);
		return mm_set_error(err, -EBADMSG,
				    "snapshot image disagrees with its header: corrupt");
	}
	for (z = 0; z < MAX_NR_ZONES; z++)
		if (m->pgdat.node_zones[z].nr_pageblocks > (1u << 20)) {
			memset(m, 0, sizeof(*m));
			host_free(m);
			return mm_set_error(err, -EBADMSG, "snapshot zone out of range: corrupt");
		}
	m->memblock.memory.max = MM_MAX(h.memory_cnt, 8u);
	m->memblock.reserved.max = MM_MAX(h.reserved_cnt, 8u);
	m->memblock.memory.regions =
		host_calloc(NULL, m->memblock.memory.max, sizeof(struct memblock_region));
	m->memblock.reserved.regions =
		host_calloc(NULL, m->memblock.reserved.max, sizeof(struct memblock_region));
	m->ram = host_map(NULL, m->ram_size);
	m->pgstate = host_calloc(NULL, m->pgstate_pfns ? m->pgstate_pfns : 1, 1);
	if (m->mem_map_pfns) {
		m->mem_map_bytes = (size_t)m->mem_map_pfns * sizeof(struct page);
		m->mem_map = host_map(NULL, m->mem_map_bytes);
	} else {
		m->mem_map_bytes = 0;
	}
	for (z = 0; z < MAX_NR_ZONES; z++)
		if (m->pgdat.node_zones[z].nr_pageblocks)
			m->pgdat.node_zones[z].pageblock_flags =
				host_calloc(NULL, m->pgdat.node_zones[z].nr_pageblocks, 1);
	for (i = 0; i < m->cfg.cpus; i++) {
		struct tlb *t = &m->cpus[i].tlb;
		unsigned int small = t->nr_small, large = t->nr_large;

		t->small = host_calloc(NULL, small ? small : 1, sizeof(*t->small));
		t->large = host_calloc(NULL, large ? large : 1, sizeof(*t->large));
	}
	if (!m->memblock.memory.regions || !m->memblock.reserved.regions || !m->ram ||
	    !m->pgstate || (m->mem_map_pfns && !m->mem_map)) {
		r = mm_set_error(err, -ENOMEM, "out of host memory restoring the machine");
		goto fail;
	}
	for (i = 0; i < m->cfg.cpus; i++)
		if (!m->cpus[i].tlb.small || !m->cpus[i].tlb.large) {
			r = mm_set_error(err, -ENOMEM, "out of host memory restoring the TLBs");
			goto fail;
		}
	r = get(read, ctx, m->memblock.memory.regions,
		h.memory_cnt * sizeof(struct memblock_region), err);
	if (!r)
		r = get(read, ctx, m->memblock.reserved.regions,
			h.reserved_cnt * sizeof(struct memblock_region), err);
	if (!r && m->mem_map)
		r = get(read, ctx, m->mem_map, m->mem_map_bytes, err);
	if (!r)
		r = get(read, ctx, m->pgstate, m->pgstate_pfns, err);
	for (z = 0; !r && z < MAX_NR_ZONES; z++)
		if (m->pgdat.node_zones[z].pageblock_flags)
			r = get(read, ctx, m->pgdat.node_zones[z].pageblock_flags,
				m->pgdat.node_zones[z].nr_pageblocks, err);
	if (!r && h.log_len) {
		m->log.text.data = host_calloc(NULL, h.log_len + 1, 1);
		if (!m->log.text.data)
			r = mm_set_error(err, -ENOMEM, "out of host memory for the log");
		else {
			m->log.text.cap = h.log_len + 1;
			r = get(read, ctx, m->log.text.data, h.log_len, err);
		}
	}
	m->log.text.len = h.log_len;
	for (i = 0; !r && i < m->cfg.cpus; i++) {
		struct tlb *t = &m->cpus[i].tlb;

		r = get(read, ctx, t->small, t->nr_small * sizeof(*t->small), err);
		if (!r)
			r = get(read, ctx, t->large, t->nr_large * sizeof(*t->large), err);
	}
	if (r)
		goto fail;
	*ret = m;
	return 0;
fail:
	mm_machine_destroy(m);
	return r;
}

uint64_t mm_ram_pages(const struct mm_machine *m)
{
	return m->ram_size >> PAGE_SHIFT;
}

bool mm_ram_page_touched(const struct mm_machine *m, uint64_t pfn)
{
	return pfn < m->pgstate_pfns && (m->pgstate[pfn] & PGS_RAM_DIRTY);
}

const void *mm_ram_page(const struct mm_machine *m, uint64_t pfn)
{
	return pfn < mm_ram_pages(m) ? m->ram + PFN_PHYS(pfn) : NULL;
}

int mm_ram_page_load(struct mm_machine *m, uint64_t pfn, const void *data, struct mm_error *err)
{
	if (pfn >= mm_ram_pages(m))
		return mm_set_error(err, -EINVAL, "frame %#llx is beyond the machine's RAM",
				    (unsigned long long)pfn);
	memcpy(m->ram + PFN_PHYS(pfn), data, PAGE_SIZE);
	if (pfn < m->pgstate_pfns)
		m->pgstate[pfn] |= PGS_RAM_DIRTY;
	return 0;
}
