/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - the whole machine as a byte stream of tagged, versioned sections, and back.
 *
 * What a snapshot holds: everything mmcore keeps about a machine except the RAM contents,
 * which the store keeps frame by frame (deduplicated by content): the configuration, the
 * e820 tables, memblock, the layout, mem_map (every struct page), the zones with their
 * free lists and pcp lists (linked through pfns, so position independent), the pageblock
 * flags, the kernel's page tables' bookkeeping, the per-CPU registers and TLBs, the kernel
 * log, the counters. Each subsystem writes and reads its own section (snapshot.h explains
 * the format and how to add one); this file is the frame around them: the header, the
 * table of sections in stream order, the end marker, and the rules for versions.
 *
 * Format history: version 1 was the image of the build's struct mm_machine (any struct
 * change made every snapshot unloadable); it is refused with a message that says so, and
 * the daemon rebuilds such machines from their journals. Version 2 is sections.
 * Determinism: two machines in the same state give the same bytes. Pointers, buffer
 * capacities and the host-only "RAM may be non-zero" hints are left out for that reason;
 * a restored machine recomputes the hints from the frames it is given. The host contexts
 * (struct mm_host in the machine, its memblock types and its log) are the caller's, not
 * state: no section writes them, a restored machine has none (it counts nothing until
 * mm_machine_set_host()), and the writer's allocations count in the saved machine's. The
 * taint and its diagnosis are state (MACH): a tainted machine restores tainted.
 * Invariants: a section is written once, in table order; its length is the bytes its
 * writer wrote (counted first, then written, and checked equal); a reader consumes exactly
 * its section; a loaded machine owns every pointer it holds and nothing else, so
 * mm_machine_destroy() can free it at any point of a failed load.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "machine.h"
#include "snapshot.h"

#define SNAP_MAGIC "MM32SNAP"
#define SNAP_END_TAG "END "
#define SNAP_SECTION_MAX (1ULL << 36) /* mem_map of 64 GiB is 512 MiB; far above it */
#define SNAP_IN_BUF (64u << 10)

struct snap_section {
	const char *tag;  /* four characters */
	uint16_t version; /* what this build writes; readers accept 1..version */
	bool optional;	  /* a stream without it loads with the defaults (version 0) */
	void (*save)(const struct mm_machine *m, struct snap_out *o);
	int (*load)(struct mm_machine *m, struct snap_in *in);
};

/* Stream order: a section may depend on the ones before it (ZONE checks its lists
 * against PAGE's mem_map, CPUS sizes its TLBs from MACH's configuration). */
static const struct snap_section sections[] = {
	/* MACH v2: the configuration's boot_model */
	{.tag = "MACH", .version = 2, .save = machine_snap_save, .load = machine_snap_load},
	{.tag = "E820", .version = 1, .save = e820_snap_save, .load = e820_snap_load},
	{.tag = "MBLK", .version = 1, .save = memblock_snap_save, .load = memblock_snap_load},
	{.tag = "LAYT", .version = 1, .save = layout_snap_save, .load = layout_snap_load},
	{.tag = "PAGE", .version = 3, .save = mem_map_snap_save, .load = mem_map_snap_load},
	{.tag = "NODE", .version = 1, .save = node_snap_save, .load = node_snap_load},
	{.tag = "ZONE", .version = 1, .save = zones_snap_save, .load = zones_snap_load},
	{.tag = "VMEV", .version = 1, .save = vm_events_snap_save, .load = vm_events_snap_load},
	{.tag = "KPGT", .version = 1, .save = paging_snap_save, .load = paging_snap_load},
	{.tag = "CPUS", .version = 1, .save = cpus_snap_save, .load = cpus_snap_load},
	{.tag = "SLAB",
	 .version = 1,
	 .optional = true,
	 .save = slab_snap_save,
	 .load = slab_snap_load},
	{.tag = "LOG_", .version = 1, .save = printk_snap_save, .load = printk_snap_load},
	{.tag = "HIGH",
	 .version = 1,
	 .optional = true,
	 .save = highmem_snap_save,
	 .load = highmem_snap_load},
	/* the vmap areas (optional: a snapshot from before vmalloc loads as version 0) */
	{.tag = "VMAP",
	 .version = 1,
	 .optional = true,
	 .save = vmalloc_snap_save,
	 .load = vmalloc_snap_load},
};

/* ---- writing ------------------------------------------------------------------------------ */

static void out_flush(struct snap_out *o)
{
	if (o->n && o->write && !o->ret && o->write(o->ctx, o->buf, o->n))
		o->ret = -EIO;
	o->n = 0;
}

void snap_put_bytes(struct snap_out *o, const void *p, size_t n)
{
	const uint8_t *b = p;

	o->len += n;
	if (!o->write)
		return;
	while (n) {
		size_t k = MM_MIN(n, sizeof(o->buf) - o->n);

		memcpy(o->buf + o->n, b, k);
		o->n += k;
		b += k;
		n -= k;
		if (o->n == sizeof(o->buf))
			out_flush(o);
	}
}

static inline void put_le(struct snap_out *o, uint64_t v, unsigned int bytes)
{
	uint8_t b[8];
	unsigned int i;

	if (!o->write) { /* counting */
		o->len += bytes;
		return;
	}
	if (sizeof(o->buf) - o->n >= bytes) { /* the common case: room in the buffer */
		for (i = 0; i < bytes; i++)
			o->buf[o->n + i] = (uint8_t)(v >> (8 * i));
		o->n += bytes;
		o->len += bytes;
		if (o->n == sizeof(o->buf))
			out_flush(o);
		return;
	}
	for (i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	snap_put_bytes(o, b, bytes);
}

void snap_put_u8(struct snap_out *o, uint8_t v)
{
	put_le(o, v, 1);
}

void snap_put_u16(struct snap_out *o, uint16_t v)
{
	put_le(o, v, 2);
}

void snap_put_u32(struct snap_out *o, uint32_t v)
{
	put_le(o, v, 4);
}

void snap_put_u64(struct snap_out *o, uint64_t v)
{
	put_le(o, v, 8);
}

void snap_put_str(struct snap_out *o, const char *s)
{
	size_t n = strlen(s);

	snap_put_u32(o, (uint32_t)n);
	snap_put_bytes(o, s, n);
}

int mm_snapshot_save(const struct mm_machine *m, mm_write_fn write, void *ctx, struct mm_error *err)
{
	return snapshot_save_stream(m, write, ctx, false, err);
}

int snapshot_save_stream(const struct mm_machine *m, mm_write_fn write, void *ctx,
			 bool frames_shared, struct mm_error *err)
{
	struct snap_out *o;
	unsigned int i;
	int r = 0;

	if (m->phase < MM_PHASE_EARLY_PAGE_TABLES)
		return mm_set_error(err, -EINVAL, "the machine has not started booting");
	o = host_calloc(m->host, 1, sizeof(*o));
	if (!o)
		return mm_set_error(err, -ENOMEM, "out of host memory");
	o->write = write;
	o->ctx = ctx;
	o->frames_shared = frames_shared;
	snap_put_bytes(o, SNAP_MAGIC, 8);
	snap_put_u32(o, MM_SNAPSHOT_VERSION);
	for (i = 0; i < ARRAY_SIZE(sections) && !o->ret; i++) {
		const struct snap_section *sec = &sections[i];
		uint64_t len;

		/* the length first: a counting pass of the same writer */
		o->write = NULL;
		o->len = 0;
		sec->save(m, o);
		len = o->len;
		o->write = write;
		snap_put_bytes(o, sec->tag, 4);
		snap_put_u16(o, sec->version);
		snap_put_u16(o, 0);
		snap_put_u64(o, len);
		o->len = 0;
		sec->save(m, o);
		if (o->len != len) {
			r = mm_set_error(
				err, -EFAULT,
				"snapshot section '%s' wrote %llu bytes after counting %llu",
				sec->tag, (unsigned long long)o->len, (unsigned long long)len);
			break;
		}
	}
	if (!r) {
		snap_put_bytes(o, SNAP_END_TAG, 4);
		snap_put_u16(o, 1);
		snap_put_u16(o, 0);
		snap_put_u64(o, 0);
		out_flush(o);
		if (o->ret)
			r = mm_set_error(err, -EIO, "writing the snapshot stream failed");
	}
	host_free(o);
	return r;
}

/* ---- reading ------------------------------------------------------------------------------ */

int snap_corrupt(struct snap_in *in, const char *fmt, ...)
{
	char why[MM_ERR_MAX];
	va_list ap;

	if (in->ret)
		return in->ret;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	in->ret = mm_set_error(in->err, -EBADMSG, "snapshot section '%s' is corrupt: %s", in->tag,
			       why);
	return in->ret;
}

int snap_nomem(struct snap_in *in, const char *what)
{
	if (!in->ret)
		in->ret = mm_set_error(in->err, -ENOMEM, "out of host memory restoring %s", what);
	return in->ret;
}

int snap_get_bytes(struct snap_in *in, void *p, size_t n)
{
	uint8_t *b = p;

	while (n && !in->ret) {
		size_t k;

		if (in->pos == in->n) {
			size_t fill = (size_t)MM_MIN((uint64_t)SNAP_IN_BUF, in->left);

			if (!fill)
				return snap_corrupt(in, "it ends early");
			if (in->read(in->ctx, in->buf, fill)) {
				in->ret = mm_set_error(
					in->err, -EBADMSG,
					"the snapshot stream ends early or cannot be read");
				break;
			}
			in->left -= fill;
			in->pos = 0;
			in->n = fill;
		}
		k = MM_MIN(n, in->n - in->pos);
		memcpy(b, in->buf + in->pos, k);
		in->pos += k;
		b += k;
		n -= k;
	}
	if (in->ret)
		memset(b, 0, n);
	return in->ret;
}

static inline uint64_t get_le(struct snap_in *in, unsigned int bytes)
{
	const uint8_t *p;
	uint8_t b[8];
	uint64_t v = 0;
	unsigned int i;

	if (in->n - in->pos >= bytes && !in->ret) { /* the common case: buffered */
		p = in->buf + in->pos;
		in->pos += bytes;
	} else {
		if (snap_get_bytes(in, b, bytes))
			return 0;
		p = b;
	}
	for (i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t snap_get_u8(struct snap_in *in)
{
	return (uint8_t)get_le(in, 1);
}

uint16_t snap_get_u16(struct snap_in *in)
{
	return (uint16_t)get_le(in, 2);
}

uint32_t snap_get_u32(struct snap_in *in)
{
	return (uint32_t)get_le(in, 4);
}

uint64_t snap_get_u64(struct snap_in *in)
{
	return get_le(in, 8);
}

bool snap_get_bool(struct snap_in *in)
{
	uint8_t v = snap_get_u8(in);

	if (v > 1)
		snap_corrupt(in, "a boolean is %u", v);
	return v == 1;
}

uint32_t snap_get_count(struct snap_in *in, uint32_t max, const char *what)
{
	uint32_t v = snap_get_u32(in);

	if (v > max) {
		snap_corrupt(in, "%s is %u, at most %u", what, v, max);
		return 0;
	}
	return v;
}

int snap_get_str(struct snap_in *in, char *buf, size_t size)
{
	uint32_t n = snap_get_count(in, (uint32_t)(size - 1), "a string's length");

	if (snap_get_bytes(in, buf, n))
		return in->ret;
	buf[n] = '\0';
	if (strlen(buf) != n)
		return snap_corrupt(in, "a string holds a NUL");
	return 0;
}

struct section_header {
	char tag[5];
	uint16_t version;
	uint64_t len;
};

/* A section header straight from the stream (never through a section's buffer). */
static int read_header(mm_read_fn read, void *ctx, struct section_header *h, struct mm_error *err)
{
	uint8_t b[16];
	unsigned int i;

	if (read(ctx, b, sizeof(b)))
		return mm_set_error(err, -EBADMSG,
				    "the snapshot stream ends early or cannot be read");
	memcpy(h->tag, b, 4);
	h->tag[4] = '\0';
	for (i = 0; i < 4; i++)
		if (b[i] < 0x20 || b[i] > 0x7e)
			return mm_set_error(err, -EBADMSG,
					    "snapshot stream corrupt: a section tag is not text");
	h->version = (uint16_t)(b[4] | b[5] << 8);
	h->len = 0;
	for (i = 0; i < 8; i++)
		h->len |= (uint64_t)b[8 + i] << (8 * i);
	if (b[6] || b[7])
		return mm_set_error(err, -EBADMSG,
				    "snapshot stream corrupt: section '%s' has reserved bits set",
				    h->tag);
	if (h->len > SNAP_SECTION_MAX)
		return mm_set_error(err, -EBADMSG,
				    "snapshot stream corrupt: section '%s' claims %llu bytes",
				    h->tag, (unsigned long long)h->len);
	return 0;
}

static int find_section(const char *tag)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sections); i++)
		if (!memcmp(sections[i].tag, tag, 4))
			return (int)i;
	return -1;
}

/* Run section @i's reader: from the stream (@h) or, when absent, with version 0. */
static int load_section(struct mm_machine *m, unsigned int i, const struct section_header *h,
			mm_read_fn read, void *ctx, uint8_t *buf, const struct mm_machine *src,
			struct mm_error *err)
{
	const struct snap_section *sec = &sections[i];
	struct snap_in in = {.read = read, .ctx = ctx, .err = err, .buf = buf, .share_src = src};
	int r;

	memcpy(in.tag, sec->tag, 5);
	if (!h) {
		if (!sec->optional)
			return mm_set_error(err, -EBADMSG,
					    "snapshot stream corrupt: it has no section '%s'",
					    sec->tag);
		return sec->load(m, &in);
	}
	if (h->version > sec->version)
		return mm_set_error(err, -EINVAL,
				    "snapshot section '%s' has version %u; this mm32 reads up to "
				    "version %u (written by a newer mm32?)",
				    sec->tag, h->version, sec->version);
	if (h->version == 0)
		return mm_set_error(err, -EBADMSG,
				    "snapshot stream corrupt: section '%s' has version 0",
				    sec->tag);
	in.version = h->version;
	in.left = h->len;
	r = sec->load(m, &in);
	if (!r && in.ret)
		r = in.ret;
	if (!r && (in.left || in.pos != in.n))
		r = snap_corrupt(&in, "%llu bytes were not read",
				 (unsigned long long)(in.left + in.n - in.pos));
	return r;
}

static int check_header(mm_read_fn read, void *ctx, struct mm_error *err)
{
	uint8_t b[12];
	uint32_t version;

	if (read(ctx, b, sizeof(b)))
		return mm_set_error(err, -EBADMSG,
				    "the snapshot stream ends early or cannot be read");
	if (memcmp(b, SNAP_MAGIC, 8))
		return mm_set_error(err, -EBADMSG, "not an mm32 machine snapshot (bad magic)");
	version = (uint32_t)b[8] | (uint32_t)b[9] << 8 | (uint32_t)b[10] << 16 |
		  (uint32_t)b[11] << 24;
	if (version == 1)
		return mm_set_error(err, -EINVAL,
				    "snapshot format version 1 (the image of one build's struct "
				    "layout) is no longer read; this mm32 reads version %u: replay "
				    "the machine's session instead",
				    MM_SNAPSHOT_VERSION);
	if (version != MM_SNAPSHOT_VERSION)
		return mm_set_error(err, -EINVAL,
				    "snapshot format version %u; this mm32 reads version %u "
				    "(written by a newer mm32?)",
				    version, MM_SNAPSHOT_VERSION);
	return 0;
}

int mm_snapshot_load(mm_read_fn read, void *ctx, struct mm_machine **ret, struct mm_error *err)
{
	return snapshot_load_stream(read, ctx, NULL, ret, err);
}

int snapshot_load_stream(mm_read_fn read, void *ctx, const struct mm_machine *src,
			 struct mm_machine **ret, struct mm_error *err)
{
	struct section_header h;
	struct mm_machine *m;
	unsigned int next = 0;
	uint8_t *buf;
	int r;

	r = check_header(read, ctx, err);
	if (r)
		return r;
	m = host_calloc(NULL, 1, sizeof(*m));
	buf = host_calloc(NULL, SNAP_IN_BUF, 1);
	if (!m || !buf) {
		host_free(m);
		host_free(buf);
		return mm_set_error(err, -ENOMEM, "out of host memory for the machine");
	}
	/* from here every pointer in @m is NULL or owned: mm_machine_destroy() cleans up */
	for (;;) {
		int i;

		r = read_header(read, ctx, &h, err);
		if (r)
			goto fail;
		if (!memcmp(h.tag, SNAP_END_TAG, 4)) {
			if (h.version != 1 || h.len) {
				r = mm_set_error(err, -EBADMSG,
						 "snapshot stream corrupt: a bad end marker");
				goto fail;
			}
			break;
		}
		i = find_section(h.tag);
		if (i < 0) {
			r = mm_set_error(err, -EINVAL,
					 "snapshot section '%s' is unknown to this mm32 (written "
					 "by a newer mm32?)",
					 h.tag);
			goto fail;
		}
		if ((unsigned int)i < next) {
			r = mm_set_error(err, -EBADMSG,
					 "snapshot stream corrupt: section '%s' out of order or "
					 "repeated",
					 h.tag);
			goto fail;
		}
		for (; next < (unsigned int)i; next++) {
			r = load_section(m, next, NULL, read, ctx, buf, src, err);
			if (r)
				goto fail;
		}
		r = load_section(m, next++, &h, read, ctx, buf, src, err);
		if (r)
			goto fail;
	}
	for (; next < ARRAY_SIZE(sections); next++) {
		r = load_section(m, next, NULL, read, ctx, buf, src, err);
		if (r)
			goto fail;
	}
	host_free(buf);
	*ret = m;
	return 0;
fail:
	host_free(buf);
	mm_machine_destroy(m);
	return r;
}

int mm_snapshot_finish(struct mm_machine *m, struct mm_error *err)
{
	(void)err;
	if (m->snap_migrate & SNAP_MIGRATE_PGS_KERNEL) {
		paging_mark_kernel_tables(m); /* the vmalloc range's tables among them */
		vmalloc_mark_kernel_pages(m);
	}
	m->snap_migrate = 0;
	return 0;
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
