/* test-snapshot.c - save, load, and the machine goes on exactly as the original would. */
#include <stdio.h>

#include "machine.h"  /* to corrupt a machine before it is saved */
#include "mmdebug.h"  /* mm_warn(): a tainted machine */
#include "snapshot.h" /* SNAP_MIGRATE_* */

#include "common.h"

#include "snapmem.h"

static struct mem save(struct mm_machine *mm)
{
	struct mem b = {0};
	struct mm_error err = {0};

	ck_assert_msg(mm_snapshot_save(mm, mem_write, &b, &err) == 0, "save: %s", err.msg);
	return b;
}

/* A copy of @src through a snapshot, RAM frames included. */
static struct mm_machine *clone(struct mm_machine *src)
{
	struct mem b = save(src);
	struct mm_machine *c = NULL;
	struct mm_error err = {0};
	uint64_t pfn;

	ck_assert_msg(mm_snapshot_load(mem_read, &b, &c, &err) == 0, "load: %s", err.msg);
	ck_assert_uint_eq(b.pos, b.len);
	for (pfn = 0; pfn < mm_ram_pages(src); pfn++)
		if (mm_ram_page_touched(src, pfn))
			ck_assert_int_eq(mm_ram_page_load(c, pfn, mm_ram_page(src, pfn), &err), 0);
	ck_assert_int_eq(mm_snapshot_finish(c, &err), 0);
	free(b.p);
	return c;
}

static void same_views(struct mm_machine *a, struct mm_machine *b)
{
	static const char *const files[] = {"zoneinfo", "buddyinfo", "pagetypeinfo", "meminfo",
					    "vmstat"};

	expect_same_texts(a, b, files, ARRAY_SIZE(files));
}

/* The same ops on both machines give the same results. */
static void run_ops(struct mm_machine *a, struct mm_machine *b, unsigned int n, uint32_t seed)
{
	static const mm_gfp_t g[] = {0xcc0, 0x100cca, 0xa20, 0x40cc0};
	uint32_t held_a[256], held_o[256];
	unsigned int nh = 0, i;
	struct mm_error err = {0};

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 3 || !nh) {
			struct mm_page_alloc x, y;
			unsigned int order = (seed >> 8) % 4;
			mm_gfp_t gfp = g[(seed >> 4) % 4];
			int ra = mm_alloc_pages(a, (seed >> 20) % 2, gfp, order, &x, &err);
			int rb = mm_alloc_pages(b, (seed >> 20) % 2, gfp, order, &y, &err);

			ck_assert_int_eq(ra, rb);
			if (!ra) {
				ck_assert_uint_eq(x.pfn, y.pfn);
				if (nh < 256) {
					held_a[nh] = x.pfn;
					held_o[nh++] = order;
				}
				ck_assert_int_eq(mm_mem_write(a, 0, MM_SPACE_PHYS,
							      (uint64_t)x.pfn << 12, &seed, 4,
							      &err),
						 0);
				ck_assert_int_eq(mm_mem_write(b, 0, MM_SPACE_PHYS,
							      (uint64_t)x.pfn << 12, &seed, 4,
							      &err),
						 0);
			}
		} else {
			unsigned int k = (seed >> 8) % nh;

			ck_assert_int_eq(mm_free_pages(a, 1, held_a[k], held_o[k], NULL, &err), 0);
			ck_assert_int_eq(mm_free_pages(b, 1, held_a[k], held_o[k], NULL, &err), 0);
			held_a[k] = held_a[--nh];
			held_o[k] = held_o[nh];
		}
	}
}

static void round_trip(const char *mem, bool pae)
{
	struct mm_machine *c;
	struct mem x, y;

	boot(mem, pae, 2, "");
	run_ops(m, m, 0, 1);
	{
		/* ops on the original only, then clone */
		struct mm_page_alloc a;
		struct mm_error err = {0};
		uint8_t v = 0x5a;

		ck_assert_int_eq(mm_alloc_pages(m, 0, 0xcc0, 2, &a, &err), 0);
		ck_assert_int_eq(mm_mem_write(m, 1, MM_SPACE_KERNEL, a.vaddr + 9, &v, 1, &err), 0);
	}
	c = clone(m);
	x = save(m);
	y = save(c);
	ck_assert_uint_eq(x.len, y.len);
	ck_assert(!memcmp(x.p, y.p, x.len)); /* the same state gives the same bytes */
	free(x.p);
	free(y.p);
	same_views(m, c);
	{
		struct mm_report rep = {0};

		ck_assert_int_eq(mm_check(c, &rep), 0);
	}
	run_ops(m, c, 3000, 7);
	same_views(m, c);
	mm_machine_destroy(c);
}

START_TEST(round_trip_686)
{
	round_trip("1G", false);
}
END_TEST

START_TEST(round_trip_pae)
{
	round_trip("8G", true);
}
END_TEST

/* A machine stopped early in its boot clones, and both finish the same way. */
START_TEST(stopped_machine)
{
	struct mm_config cfg;
	struct mm_error err = {0};
	struct mm_machine *c;

	mm_config_init(&cfg, false);
	cfg.stop_after = MM_PHASE_MEMBLOCK;
	ck_assert_int_eq(mm_machine_create(&cfg, &m, &err), 0);
	c = clone(m);
	ck_assert_int_eq(mm_machine_phase(c), MM_PHASE_MEMBLOCK);
	ck_assert_int_eq(mm_boot_continue(m, MM_PHASE_BUDDY, &err), 0);
	ck_assert_int_eq(mm_boot_continue(c, MM_PHASE_BUDDY, &err), 0);
	same_views(m, c);
	mm_machine_destroy(c);
}
END_TEST

START_TEST(bad_streams)
{
	struct mm_machine *c = NULL;
	struct mm_error err = {0};
	struct mem x;

	boot("256M", false, 1, "");
	x = save(m);
	/* short */
	{
		struct mem s = {x.p, x.len / 2, x.len / 2, 0};

		ck_assert_int_eq(mm_snapshot_load(mem_read, &s, &c, &err), -EBADMSG);
	}
	/* another version */
	x.p[8] = (uint8_t)(MM_SNAPSHOT_VERSION + 1);
	x.pos = 0;
	ck_assert_int_eq(mm_snapshot_load(mem_read, &x, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "version"));
	x.p[8] = MM_SNAPSHOT_VERSION;
	/* not a snapshot */
	x.p[0] = 'X';
	x.pos = 0;
	ck_assert_int_eq(mm_snapshot_load(mem_read, &x, &c, &err), -EBADMSG);
	ck_assert_ptr_null(c);
	free(x.p);
}
END_TEST

/* ---- the section format ------------------------------------------------------------------ */

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void set_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Offset of the header of section @tag in @x (the stream starts with 12 bytes). */
static size_t find_section(const struct mem *x, const char *tag)
{
	size_t off = 12;

	while (off + 16 <= x->len) {
		if (!memcmp(x->p + off, tag, 4))
			return off;
		off += 16 + le(x->p + off + 8, 8);
	}
	ck_abort_msg("no section %s", tag);
	return 0;
}

static int load_mem(struct mem *x, struct mm_machine **c, struct mm_error *err)
{
	x->pos = 0;
	*c = NULL;
	return mm_snapshot_load(mem_read, x, c, err);
}

/* The sections a snapshot of this build holds, in this order, and nothing else. */
START_TEST(sections_in_order)
{
	static const char *const tags[] = {"MACH", "E820", "MBLK", "LAYT", "PAGE",
					   "NODE", "ZONE", "VMEV", "KPGT", "CPUS",
					   "SLAB", "LOG_", "HIGH", "VMAP", "END "};
	struct mem x;
	size_t off = 12;
	unsigned int i;

	boot("128M", false, 1, "");
	x = save(m);
	ck_assert(!memcmp(x.p, "MM32SNAP", 8));
	ck_assert_uint_eq(le(x.p + 8, 4), 2);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		ck_assert_msg(!memcmp(x.p + off, tags[i], 4), "section %u is %.4s, not %s", i,
			      (const char *)x.p + off, tags[i]);
		/* PAGE v2: pgstate's PGS_KERNEL, v3: PGS_SLAB; MACH v2: boot_model; END is 1 */
		ck_assert_uint_eq(le(x.p + off + 4, 2), !strcmp(tags[i], "PAGE")   ? 3
							: !strcmp(tags[i], "MACH") ? 2
										   : 1);
		off += 16 + le(x.p + off + 8, 8);
	}
	ck_assert_uint_eq(off, x.len);
	/* PAGE: the count, 32 bytes per struct page, the count, a byte per frame */
	off = find_section(&x, "PAGE");
	ck_assert_uint_eq(le(x.p + off + 8, 8), 4 + 32768u * 32 + 4 + 32768u);
	free(x.p);
}
END_TEST

/*
 * MACH v1 predates boot_model: it loads as revision 1, the boot every machine had before
 * (its vmalloc range empty: VMAP version 0). v2 carries it.
 */
START_TEST(mach_v1_is_boot_model_1)
{
	struct mm_machine *c;
	struct mm_error err = {0};
	struct mm_config cfg;
	struct mem x;
	size_t off, len, vm;

	mm_config_init(&cfg, false);
	cfg.mem = 128ull << 20;
	cfg.boot_model = MM_BOOT_MODEL_NO_VMALLOC_AREAS;
	ck_assert_int_eq(mm_machine_create(&cfg, &m, &err), 0);
	ck_assert_uint_eq(m->vmap.nr_busy, 0);
	ck_assert_uint_eq(m->vmap.nr_free, 1);
	x = save(m);
	ck_assert_int_eq(load_mem(&x, &c, &err), 0);
	ck_assert_uint_eq(c->cfg.boot_model, 1);
	mm_machine_destroy(c);
	/* as MACH v1 (without its last field) and without VMAP, it is the same machine */
	off = find_section(&x, "MACH");
	len = le(x.p + off + 8, 8);
	memmove(x.p + off + 16 + len - 4, x.p + off + 16 + len, x.len - (off + 16 + len));
	x.len -= 4;
	set_le(x.p + off + 8, len - 4, 8);
	set_le(x.p + off + 4, 1, 2);
	vm = find_section(&x, "VMAP");
	len = 16 + le(x.p + vm + 8, 8);
	memmove(x.p + vm, x.p + vm + len, x.len - (vm + len));
	x.len -= len;
	ck_assert_int_eq(load_mem(&x, &c, &err), 0);
	ck_assert_uint_eq(c->cfg.boot_model, 1);
	ck_assert(c->vmap.ready);
	ck_assert_uint_eq(c->vmap.nr_free, 1);
	ck_assert_uint_eq(c->vmap.nr_busy, 0);
	same_views(m, c);
	mm_machine_destroy(c);
	free(x.p);
}
END_TEST

/* The page tables under the vmalloc range (each the kernel's own). */
static uint32_t vmalloc_tables(const struct mm_machine *mm)
{
	const struct mm_layout *l = &mm->layout;
	uint32_t n = 0;

	for (uint64_t va = l->vmalloc_start & ~(uint64_t)(l->pmd_size - 1); va < l->vmalloc_end;
	     va += l->pmd_size) {
		pteval_t e = pt_read(mm, kernel_pmd_entry(mm, (uint32_t)va));

		n += (e & _PAGE_PRESENT) && !(e & _PAGE_PSE);
	}
	return n;
}

/*
 * PAGE v1 predates PGS_KERNEL: a stream of it loads without the mark, and once the frames are
 * in, mm_snapshot_finish() gives it back to exactly the page tables split_large_page() and
 * the vmalloc range took (read from the kernel's page tables) and to vmalloc's pages (VMAP). PAGE
 * v2 carries the mark, only on the head of an order-0 allocation; v1 never does.
 */
START_TEST(page_v1_gets_pgs_kernel_back)
{
	struct mm_machine *c;
	struct mm_error err = {0};
	struct mem x;
	size_t off, pg;
	uint32_t pfns, kernel = 0, pfn, kp;
	struct mm_config cfg;

	/* a PAGE v1 section comes from a machine of boot model 1-3 (v1 predates SLUB: no
	 * PGS_SLAB frame, which model 4's boot has) */
	mm_config_init(&cfg, false);
	ck_assert_int_eq(mm_parse_size("1G", &cfg.mem), 0);
	cfg.cpus = 2;
	cfg.boot_model = 3;
	ck_assert_int_eq(mm_machine_create(&cfg, &m, &err), 0);
	x = save(m);
	off = find_section(&x, "PAGE");
	pg = off + 16 + 4 + (size_t)le(x.p + off + 16, 4) * 32;
	pfns = (uint32_t)le(x.p + pg, 4);
	pg += 4;
	ck_assert_uint_eq(pfns, m->pgstate_pfns);
	for (pfn = 0; pfn < pfns; pfn++)
		if (x.p[pg + pfn] & PGS_KERNEL) {
			kernel++;
			x.p[pg + pfn] &= (uint8_t)~PGS_KERNEL;
		}
	ck_assert_uint_gt(kernel, 0);
	/* the direct map's split tables, vmalloc's pages and the vmalloc range's tables */
	ck_assert_uint_eq(kernel, m->pt.split_pages + m->vmap.nr_vmalloc_pages + vmalloc_tables(m));
	/* a page table split_large_page() took: the first PGS_KERNEL frame (8192) */
	for (kp = 0; kp < pfns && !(m->pgstate[kp] & PGS_KERNEL); kp++)
		;
	ck_assert_uint_lt(kp, pfns);
	/* as v2 without the marks it loads as a machine without them ... */
	ck_assert_int_eq(load_mem(&x, &c, &err), 0);
	ck_assert_int_eq(mm_snapshot_finish(c, &err), 0);
	ck_assert(!(c->pgstate[kp] & PGS_KERNEL));
	mm_machine_destroy(c);
	/* ... as v1 it gets them back from its page tables once its frames are in */
	set_le(x.p + off + 4, 1, 2);
	ck_assert_int_eq(load_mem(&x, &c, &err), 0);
	ck_assert(!(c->pgstate[kp] & PGS_KERNEL));
	ck_assert_uint_eq(c->snap_migrate, SNAP_MIGRATE_PGS_KERNEL);
	for (pfn = 0; pfn < mm_ram_pages(m); pfn++)
		if (mm_ram_page_touched(m, pfn))
			ck_assert_int_eq(mm_ram_page_load(c, pfn, mm_ram_page(m, pfn), &err), 0);
	ck_assert_int_eq(mm_snapshot_finish(c, &err), 0);
	ck_assert_uint_eq(c->snap_migrate, 0);
	for (pfn = 0; pfn < pfns; pfn++)
		ck_assert_msg((c->pgstate[pfn] & PGS_KERNEL) == (m->pgstate[pfn] & PGS_KERNEL),
			      "pfn %#x", pfn);
	same_views(m, c);
	mm_machine_destroy(c);
	/* v1 with the mark is corrupt; so is v2 with it on a frame that heads no allocation */
	x.p[pg + 8192] |= PGS_KERNEL;
	ck_assert_int_eq(load_mem(&x, &c, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "pfn 0x2000 has host state 0x41"));
	set_le(x.p + off + 4, 2, 2);
	x.p[pg + 8192] = PGS_KERNEL;
	ck_assert_int_eq(load_mem(&x, &c, &err), -EBADMSG);
	ck_assert_ptr_nonnull(
		strstr(err.msg, "pfn 0x2000 is the kernel's but has host state 0x40"));
	free(x.p);
}
END_TEST

START_TEST(refusals)
{
	struct mm_machine *c;
	struct mm_error err = {0};
	struct mem x;
	size_t off;

	boot("128M", false, 1, "");
	x = save(m);
	/* format 1, the struct image of old builds: refused, saying so */
	x.p[8] = 1;
	ck_assert_int_eq(load_mem(&x, &c, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "format version 1"));
	ck_assert_ptr_nonnull(strstr(err.msg, "no longer read"));
	x.p[8] = 2;
	/* a section this build does not know */
	off = find_section(&x, "VMEV");
	memcpy(x.p + off, "KMAP", 4);
	ck_assert_int_eq(load_mem(&x, &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "snapshot section 'KMAP' is unknown to this mm32 (written by a "
				  "newer mm32?)");
	memcpy(x.p + off, "VMEV", 4);
	/* a newer version of a known section */
	x.p[off + 4] = 2;
	ck_assert_int_eq(load_mem(&x, &c, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "snapshot section 'VMEV' has version 2; this mm32 reads up to "
				  "version 1 (written by a newer mm32?)");
	x.p[off + 4] = 0;
	ck_assert_int_eq(load_mem(&x, &c, &err), -EBADMSG);
	x.p[off + 4] = 1;
	/* a section repeated, or out of order */
	memcpy(x.p + off, "NODE", 4);
	ck_assert_int_eq(load_mem(&x, &c, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "out of order or repeated"));
	memcpy(x.p + off, "VMEV", 4);
	/* a required section missing: VMEV renamed to the next one's tag */
	memcpy(x.p + off, "KPGT", 4);
	ck_assert_int_eq(load_mem(&x, &c, &err), -EBADMSG);
	memcpy(x.p + off, "VMEV", 4);
	/* a section longer than its reader reads */
	set_le(x.p + off + 8, le(x.p + off + 8, 8) + 1, 8);
	ck_assert_int_eq(load_mem(&x, &c, &err), -EBADMSG);
	set_le(x.p + off + 8, le(x.p + off + 8, 8) - 2, 8);
	ck_assert_int_eq(load_mem(&x, &c, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "snapshot section 'VMEV' is corrupt"));
	set_le(x.p + off + 8, le(x.p + off + 8, 8) + 1, 8);
	ck_assert_int_eq(load_mem(&x, &c, &err), 0);
	mm_machine_destroy(c);
	free(x.p);
}
END_TEST

/*
 * An older section version is a migration: NODE with a node_stat[] one item shorter (as
 * if the last item had been appended later) loads, the item at its default.
 */
START_TEST(shorter_array_reads_defaults)
{
	struct mm_machine *c;
	struct mm_error err = {0};
	struct mem x, y = {0};
	size_t off, at;
	uint64_t len;

	boot("128M", false, 1, "");
	x = save(m);
	off = find_section(&x, "NODE");
	len = le(x.p + off + 8, 8);
	at = off + 16 + 4 * 5 + 1; /* start, spanned, present, cpus, movable, grouping */
	ck_assert_uint_eq(le(x.p + at, 4), 41);
	/* y = x with the count 40 and the last item left out */
	mem_write(&y, x.p, at);
	{
		uint8_t n[4];

		set_le(n, 40, 4);
		mem_write(&y, n, 4);
	}
	mem_write(&y, x.p + at + 4, 40 * 8);
	mem_write(&y, x.p + at + 4 + 41 * 8, x.len - (at + 4 + 41 * 8));
	set_le(y.p + off + 8, len - 8, 8);
	ck_assert_msg(load_mem(&y, &c, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(y.pos, y.len);
	mm_machine_destroy(c);
	/* and a longer one than this build has is refused, not read past */
	set_le(y.p + at, 42, 4);
	ck_assert_int_eq(load_mem(&y, &c, &err), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err.msg, "node_stat's items is 42, at most 41"));
	free(x.p);
	free(y.p);
}
END_TEST

/*
 * Hostile input: every truncation, and random bytes changed anywhere, give an error or a
 * machine, never a crash (run under valgrind or ASan to see leaks and stray accesses).
 */
START_TEST(hostile_streams)
{
	struct mm_machine *c;
	struct mm_error err = {0};
	struct mem x;
	uint32_t seed = 12345;
	unsigned int i, loaded = 0;

	boot("64M", false, 2, "");
	{
		struct mm_page_alloc a;

		ck_assert_int_eq(mm_alloc_pages(m, 0, 0xcc0, 0, &a, &err), 0);
		ck_assert_int_eq(mm_alloc_pages(m, 1, 0xcc0, 3, &a, &err), 0);
	}
	x = save(m);
	for (i = 0; i < x.len; i += 1 + i / 8) {
		struct mem s = {x.p, i, i, 0};

		c = NULL;
		ck_assert_int_eq(mm_snapshot_load(mem_read, &s, &c, &err), -EBADMSG);
		ck_assert_ptr_null(c);
	}
	for (i = 0; i < 400; i++) {
		uint8_t *copy = malloc(x.len);
		struct mem s = {copy, x.len, x.len, 0};
		unsigned int k;

		memcpy(copy, x.p, x.len);
		for (k = 0; k < 1 + i % 4; k++) {
			size_t at;

			seed = seed * 1103515245u + 12345u;
			/* half in the first 4 KiB (headers, configuration), half anywhere */
			at = (i & 1) ? (seed >> 8) % x.len : (seed >> 8) % 4096;
			copy[at] ^= (uint8_t)(1u << (seed % 8)) | (uint8_t)(seed >> 24);
		}
		c = NULL;
		if (mm_snapshot_load(mem_read, &s, &c, &err) == 0) {
			loaded++;
			mm_machine_destroy(c);
		} else {
			ck_assert_ptr_null(c);
		}
		free(copy);
	}
	ck_assert_uint_lt(loaded, 400);
	free(x.p);
}
END_TEST

/* @src's struct mm_machine with what is not state masked: pointers, capacities, and the
 * host contexts, which are the caller's and never in a stream (host.h: a restored machine
 * counts nothing until mm_machine_set_host()). */
static struct mm_machine *image(const struct mm_machine *src)
{
	struct mm_machine *img = malloc(sizeof(*img));
	unsigned int i;

	ck_assert_ptr_nonnull(img);
	memcpy(img, src, sizeof(*img));
	img->ram = NULL;
	img->mem_map = NULL;
	img->pgstate = NULL;
	img->memblock.memory.regions = img->memblock.reserved.regions = NULL;
	img->memblock.memory.max = img->memblock.reserved.max = 0;
	for (i = 0; i < MAX_NR_ZONES; i++)
		img->pgdat.node_zones[i].pageblock_flags = NULL;
	img->log.text.data = NULL;
	img->log.text.cap = 0;
	img->log.text.host = NULL;
	img->host = NULL;
	img->share = NULL;
	img->memblock.memory.host = img->memblock.reserved.host = NULL;
	for (i = 0; i < NR_CPUS; i++)
		img->cpus[i].tlb.small = img->cpus[i].tlb.large = NULL;
	img->vmap.busy = NULL; /* compared by same_vmap() */
	img->vmap.free = img->vmap.purge = NULL;
	img->vmap.cap_busy = img->vmap.cap_free = img->vmap.cap_purge = 0;
	return img;
}

/* The vmap areas (VMAP) behind the pointers image() masks: the same, entry by entry. */
static void same_vmap(const struct mm_machine *a, const struct mm_machine *b)
{
	const struct vmap_state *x = &a->vmap, *y = &b->vmap;

	ck_assert_uint_eq(x->nr_busy, y->nr_busy);
	ck_assert_uint_eq(x->nr_free, y->nr_free);
	ck_assert_uint_eq(x->nr_purge, y->nr_purge);
	for (uint32_t i = 0; i < x->nr_busy; i++) {
		struct vmap_area p = x->busy[i], q = y->busy[i];

		ck_assert_uint_eq(p.vm.nr_pfns, q.vm.nr_pfns);
		ck_assert(!p.vm.pages == !q.vm.pages);
		if (p.vm.pages)
			ck_assert(!memcmp(p.vm.pages, q.vm.pages, p.vm.nr_pfns * sizeof(pfn_t)));
		p.vm.pages = q.vm.pages = NULL;
		ck_assert_msg(!memcmp(&p, &q, sizeof(p)), "busy area %u", i);
	}
	ck_assert(!x->nr_free || !memcmp(x->free, y->free, x->nr_free * sizeof(*x->free)));
	ck_assert(!x->nr_purge || !memcmp(x->purge, y->purge, x->nr_purge * sizeof(*x->purge)));
}

/*
 * Every byte of struct mm_machine a restore gives back is the original's: a field added to
 * the machine (or to a struct in it) without a line in its section's writer and reader
 * fails here, naming the byte's offset. The machines are booted with a host context, so the
 * host pointers differ from the restored machine's and only image()'s mask passes them; a
 * tainted machine comes back tainted, with its diagnosis (MACH).
 */
START_TEST(every_field_in_a_section)
{
	static const struct {
		const char *mem;
		bool pae;
		unsigned int cpus;
		int stop_after;
		bool taint;
	} cases[] = {{"128M", false, 2, MM_PHASE_BUDDY, false},
		     {"2G", true, 3, MM_PHASE_BUDDY, false},
		     {"64M", false, 1, MM_PHASE_MEMBLOCK, false},
		     {"64M", true, 1, MM_PHASE_EARLY_PAGE_TABLES, false},
		     {"128M", false, 2, MM_PHASE_BUDDY, true}};
	unsigned int k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct mm_config cfg;
		struct mm_error err = {0};
		struct mm_host host = {0};
		struct mm_machine *c, *a, *b;
		const uint8_t *x, *y;
		size_t i;

		mm_config_init(&cfg, cases[k].pae);
		ck_assert_int_eq(mm_parse_size(cases[k].mem, &cfg.mem), 0);
		cfg.cpus = cases[k].cpus;
		cfg.stop_after = cases[k].stop_after;
		ck_assert_int_eq(mm_machine_create_host(&cfg, &host, &m, &err), 0);
		ck_assert_uint_gt(host.nr_allocs, 0);
		if (cases[k].stop_after == MM_PHASE_BUDDY) {
			struct mm_page_alloc pa;
			uint32_t v = 0x12345678;

			ck_assert_int_eq(mm_alloc_pages(m, 1, 0xcc0, 1, &pa, &err), 0);
			ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, pa.vaddr, &v, 4, &err),
					 0);
		}
		if (cases[k].taint)
			mm_warn(m, "test_snapshot", "a warning before the snapshot");
		c = clone(m);
		ck_assert_ptr_null(c->host);
		ck_assert(mm_machine_tainted(c) == cases[k].taint);
		if (cases[k].taint)
			ck_assert_str_eq(mm_machine_taint(c),
					 "test_snapshot: a warning before the snapshot");
		a = image(m);
		b = image(c);
		x = (const uint8_t *)a;
		y = (const uint8_t *)b;
		for (i = 0; i < sizeof(*a); i++)
			ck_assert_msg(x[i] == y[i],
				      "case %u: byte %zu of struct mm_machine is %#x after a "
				      "restore, %#x before",
				      k, i, y[i], x[i]);
		same_vmap(m, c);
		free(a);
		free(b);
		mm_machine_destroy(c);
		mm_machine_destroy(m);
		m = NULL;
	}
}
END_TEST

/* Save @m as it is now and expect the load to refuse it as corrupt, naming @why. */
static void refused(const char *why)
{
	struct mm_machine *c = NULL;
	struct mm_error err = {0};
	struct mem x = save(m);

	ck_assert_int_eq(mm_snapshot_load(mem_read, &x, &c, &err), -EBADMSG);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err.msg, why) != NULL, "'%s' does not say '%s'", err.msg, why);
	free(x.p);
}

/*
 * What the allocator follows is checked before it is used: each corruption of a machine
 * that a stream could carry is refused, with what is wrong. The machine is put back after
 * each, so the teardown's mm_check() sees it clean.
 */
START_TEST(inconsistent_state_refused)
{
	struct zone *z;
	struct free_area *area;
	pfn_t head, second, saved;
	uint32_t count;
	int batch;

	boot("128M", false, 2, "");
	z = &m->pgdat.node_zones[ZONE_NORMAL];
	area = &z->free_area[MAX_ORDER - 1];
	head = area->free_list[MIGRATE_MOVABLE].first;
	ck_assert_uint_ne(head, PFN_NIL);
	second = m->mem_map[head].lru_next;
	ck_assert_uint_ne(second, PFN_NIL);

	/* a link out of mem_map */
	saved = m->mem_map[5].lru_next;
	m->mem_map[5].lru_next = m->mem_map_pfns + 5;
	refused("beyond mem_map");
	m->mem_map[5].lru_next = saved;
	/* a list whose second block does not link back to the first */
	m->mem_map[second].lru_prev = 7;
	refused("does not link back");
	m->mem_map[second].lru_prev = head;
	/* a list that loops */
	saved = area->free_list[MIGRATE_MOVABLE].last;
	m->mem_map[saved].lru_next = head;
	refused("on two lists");
	m->mem_map[saved].lru_next = PFN_NIL;
	/* a count that disagrees with its list */
	area->nr_free_mt[MIGRATE_MOVABLE]++;
	refused("nr_free_mt");
	area->nr_free_mt[MIGRATE_MOVABLE]--;
	count = area->nr_free;
	area->nr_free = count + 1;
	refused("nr_free");
	area->nr_free = count;
	/* a pcp whose count is not its lists', or whose batch would loop */
	z->pcp[1].count += 1;
	refused("pages on the pcp lists");
	z->pcp[1].count -= 1;
	batch = z->pcp[0].batch;
	z->pcp[0].batch = 0;
	refused("pcp batch 0");
	z->pcp[0].batch = batch;
	/* a pageblock of no migratetype */
	saved = z->pageblock_flags[0];
	z->pageblock_flags[0] = 7;
	refused("has type 7");
	z->pageblock_flags[0] = (uint8_t)saved;
	/* a zone beyond mem_map */
	z->spanned_pages += MAX_ORDER_NR_PAGES * 64;
	refused("spans");
	z->spanned_pages -= MAX_ORDER_NR_PAGES * 64;
	/* the kernel image beyond the RAM */
	m->layout.image_end += m->ram_size;
	refused("beyond the RAM");
	m->layout.image_end -= m->ram_size;
	/* a TLB that is not the configuration's */
	m->cpus[1].tlb.nr_large--;
	refused("TLB of");
	m->cpus[1].tlb.nr_large++;
	/* VMAP: a vm_struct that is not its area's, a frame beyond max_pfn, a gap in the areas */
	{
		struct vmap_area *a = &m->vmap.busy[m->vmap.nr_busy - 1];
		struct vmap_range *fr = &m->vmap.free[m->vmap.nr_free - 1];

		ck_assert(a->has_vm && a->vm.pages && a->vm.nr_pfns);
		a->vm.size += PAGE_SIZE;
		refused("the vm_struct of busy area");
		a->vm.size -= PAGE_SIZE;
		a->vm.pages[0] += m->layout.max_pfn;
		refused("is beyond max_pfn");
		a->vm.pages[0] -= m->layout.max_pfn;
		fr->va_start += PAGE_SIZE;
		refused("do not tile the address space");
		fr->va_start -= PAGE_SIZE;
	}
	/* and put back, it loads */
	mm_machine_destroy(clone(m));
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("snapshot");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, round_trip_686);
	tcase_add_test(tc, mach_v1_is_boot_model_1);
	tcase_add_test(tc, round_trip_pae);
	tcase_add_test(tc, stopped_machine);
	tcase_add_test(tc, bad_streams);
	tcase_add_test(tc, sections_in_order);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, shorter_array_reads_defaults);
	tcase_add_test(tc, hostile_streams);
	tcase_add_test(tc, inconsistent_state_refused);
	tcase_add_test(tc, every_field_in_a_section);
	tcase_add_test(tc, page_v1_gets_pgs_kernel_back);
	suite_add_tcase(s, tc);
	return s;
}
