/* SPDX-License-Identifier: MIT */
/*
 * clone.c - cheap machines: a booted template whose frames its clones share copy-on-write.
 *
 * A class of a thousand machines of one configuration would boot a thousand times and keep
 * a thousand copies of the same mem_map (32 bytes a frame: 8 MiB for 1 GiB of RAM) although
 * the boot is deterministic and a fresh machine differs from its siblings in nothing. So a
 * machine can be made a template (mm_machine_share()) and cloned (mm_machine_clone()).
 *
 * Mirrors: no kernel file; the idea is fork()'s (mm/memory.c wp_page_copy(), do_wp_page()):
 * pages shared read-only until one side writes, and the write copies the page first. Here
 * the host kernel does it for us: the template's mem_map and RAM are moved into one sealed
 * memory file (memfd, F_SEAL_WRITE), and every machine of the class, the template too, maps
 * it MAP_PRIVATE. The first write to a 4 KiB host page of a machine's mem_map (128 struct
 * pages) or RAM (one frame) makes the host's MMU copy that page for this machine alone.
 *
 * Why the host MMU and not accessor functions: every one of the hundreds of places in
 * mmcore that writes a struct page or a byte of RAM would have to remember to copy a shared
 * chunk first, and forgetting one would silently change a sibling. With the file sealed,
 * the host kernel refuses every write to it (for anyone, for ever), and a private mapping
 * cannot write through: a forgotten case cannot exist, and tests/mmcore/test-clone.c
 * proves a clone's writes change neither the template nor a sibling.
 *
 * Everything else a machine holds (zones, memblock, slab, vmap areas, page tables' records,
 * the log: tens of KiB) is copied through the snapshot sections (snapshot.c) in a stream
 * that leaves the frames out (snap_out.frames_shared); the loader maps the frames from the
 * template's file instead (snap_in.share_src) and copies pgstate whole. So a clone is, by
 * construction, what a snapshot round trip of the template gives: the same bytes when saved
 * again, the same RAM, and therefore the same answers to every later call.
 *
 * Invariants: a shared machine's file is sealed before anyone maps it privately; the file
 * holds the template's mem_map at mem_map_off and its RAM at ram_off as they were when it
 * was shared; RAM frames without PGS_RAM_DIRTY are zero there (holes); a clone's pgstate
 * equals its template's; the file lives while any machine maps it (the host kernel
 * counts the mappings), its descriptor while the template lives.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "host.h"
#include "machine.h"
#include "snapshot.h"

bool mm_config_same(const struct mm_config *a, const struct mm_config *b)
{
	unsigned int i;

	if (a->mem != b->mem || a->pae != b->pae || a->cpus != b->cpus ||
	    strcmp(a->cmdline, b->cmdline) || a->initrd_size != b->initrd_size ||
	    a->stop_after != b->stop_after || a->tlb_entries != b->tlb_entries ||
	    a->nr_e820 != b->nr_e820 || a->boot_model != b->boot_model ||
	    memcmp(&a->image, &b->image, sizeof(a->image)))
		return false;
	for (i = 0; i < a->nr_e820 && i < MM_MAX_E820; i++)
		if (a->e820[i].addr != b->e820[i].addr || a->e820[i].size != b->e820[i].size ||
		    a->e820[i].type != b->e820[i].type)
			return false;
	return true;
}

/* Copy @m's frames into the file's writable view: mem_map whole, RAM frame by frame where
 * it may be non-zero (the rest stays a hole, which reads as zero). */
static void fill_share(const struct mm_machine *m, uint8_t *view, const struct mm_share *sh)
{
	uint64_t pfn, nr = m->ram_size >> PAGE_SHIFT;

	if (m->mem_map)
		memcpy(view + sh->mem_map_off, m->mem_map, m->mem_map_bytes);
	for (pfn = 0; pfn < nr && pfn < m->pgstate_pfns; pfn++)
		if (m->pgstate[pfn] & PGS_RAM_DIRTY)
			memcpy(view + sh->ram_off + PFN_PHYS(pfn), m->ram + PFN_PHYS(pfn),
			       PAGE_SIZE);
}

int mm_machine_share(struct mm_machine *m, struct mm_error *err)
{
	struct mm_share *sh;
	size_t total;
	struct page *mem_map = NULL;
	uint8_t *ram = NULL;
	void *view = NULL;
	int r;

	if (m->tainted)
		return mm_set_error(err, -EFAULT, "the machine is tainted: %s", m->diag);
	if (m->share)
		return 0;
	sh = host_calloc(m->host, 1, sizeof(*sh));
	if (!sh)
		return mm_set_error(err, -ENOMEM, "out of host memory for the template");
	sh->fd = -1;
	sh->mem_map_off = 0;
	sh->ram_off = PAGE_ALIGN(m->mem_map ? m->mem_map_bytes : 0);
	total = sh->ram_off + m->ram_size;
	r = host_share_create(m->host, total, &sh->fd, &view);
	if (r)
		goto fail;
	if (view) {
		fill_share(m, view, sh);
		munmap(view, total);
	}
	r = host_share_seal(sh->fd);
	if (r)
		goto fail;
	r = -ENOMEM;
	if (m->mem_map) {
		mem_map = host_map_cow(m->host, sh->fd, sh->mem_map_off, m->mem_map_bytes);
		if (!mem_map)
			goto fail;
	}
	if (m->ram_size) {
		ram = host_map_cow(m->host, sh->fd, sh->ram_off, m->ram_size);
		if (!ram)
			goto fail;
	}
	/* the same bytes, now backed by the file: the machine cannot tell */
	if (mem_map) {
		host_unmap(m->mem_map, m->mem_map_bytes);
		m->mem_map = mem_map;
	}
	if (ram) {
		host_unmap(m->ram, m->ram_size);
		m->ram = ram;
	}
	m->share = sh;
	return 0;
fail:
	host_unmap(mem_map, m->mem_map_bytes);
	host_unmap(ram, m->ram_size);
	host_share_close(sh->fd);
	host_free(sh);
	return mm_set_error(err, -ENOMEM, "out of host memory for the template's shared frames");
}

/* The clone's stream in host memory: appended by the writer, consumed by the reader. */
struct clone_stream {
	struct mm_host *host;
	uint8_t *p;
	size_t len, cap, pos;
};

static int stream_write(void *ctx, const void *data, size_t len)
{
	struct clone_stream *s = ctx;

	if (s->len + len > s->cap) {
		size_t cap = (s->len + len) * 2;
		uint8_t *p = host_realloc(s->host, s->p, cap, 1);

		if (!p)
			return -1;
		s->p = p;
		s->cap = cap;
	}
	memcpy(s->p + s->len, data, len);
	s->len += len;
	return 0;
}

static int stream_read(void *ctx, void *data, size_t len)
{
	struct clone_stream *s = ctx;

	if (len > s->len - s->pos)
		return -1;
	memcpy(data, s->p + s->pos, len);
	s->pos += len;
	return 0;
}

int mm_machine_clone(const struct mm_machine *tmpl, struct mm_host *host, struct mm_machine **ret,
		     struct mm_error *err)
{
	struct clone_stream s = {.host = host};
	struct mm_machine *m;
	int r;

	if (!tmpl->share)
		return mm_set_error(err, -EINVAL,
				    "the machine is not a template (mm_machine_share() first)");
	if (tmpl->tainted)
		return mm_set_error(err, -EINVAL, "a tainted machine is no template: %s",
				    tmpl->diag);
	r = snapshot_save_stream(tmpl, stream_write, &s, true, err);
	if (r == -EIO)
		r = mm_set_error(err, -ENOMEM, "out of host memory for the clone");
	if (!r)
		r = snapshot_load_stream(stream_read, &s, tmpl, &m, err);
	host_free(s.p);
	if (r)
		return r;
	mm_machine_set_host(m, host);
	*ret = m;
	return 0;
}
