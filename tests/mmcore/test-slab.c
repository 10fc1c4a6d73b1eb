/*
 * test-slab.c - SLUB: the geometry of every cache against the real kernels' slabinfo, the
 * rule for other CPU counts, kmalloc's size classes and GFP families, objects in RAM, the
 * lists a slab moves through, refused frees, named caches, /proc/slabinfo and meminfo,
 * snapshots, and a corruption test for each invariant check_slab() verifies.
 * Every test runs on 686 and on 686-pae (_i & 1), the checker in every teardown.
 */
#include <dirent.h>
#include <stdio.h>

#include "machine.h" /* before common.h: the corruption tests reach into the machine */

#include "common.h"
#include "oracle.h"

static char dirs[64][512];
static int nr_dirs;

struct line {
	char name[64];
	unsigned long active, num, objsize, perslab, pages, slabs;
};

static int parse_slabinfo(const char *text, struct line *out, int max)
{
	const char *p = text;
	int n = 0;

	ck_assert_msg(!strncmp(text,
			       "slabinfo - version: 2.1\n# name            <active_objs> "
			       "<num_objs> <objsize> <objperslab> <pagesperslab> : tunables "
			       "<limit> <batchcount> <sharedfactor> : slabdata <active_slabs> "
			       "<num_slabs> <sharedavail>\n",
			       strlen("slabinfo - version: 2.1\n")),
		      "header");
	p = strchr(p, '\n') + 1;
	p = strchr(p, '\n') + 1;
	while (*p && n < max) {
		unsigned long act_slabs, sa, l, b, f;

		ck_assert_int_eq(
			sscanf(p,
			       "%63s %lu %lu %lu %lu %lu : tunables %lu %lu %lu : slabdata "
			       "%lu %lu %lu",
			       out[n].name, &out[n].active, &out[n].num, &out[n].objsize,
			       &out[n].perslab, &out[n].pages, &l, &b, &f, &act_slabs,
			       &out[n].slabs, &sa),
			12);
		ck_assert_uint_eq(l + b + f + sa, 0);
		ck_assert_uint_eq(act_slabs, out[n].slabs);
		n++;
		p = strchr(p, '\n');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	return n;
}

static struct line real[400], mine[400];

/* Every cache of the capture, with its objsize, objperslab and pagesperslab, in the same
 * order, and no other cache. */
START_TEST(oracle_geometry)
{
	struct mm_config cfg;
	struct mm_error err;
	char *r, *me;
	int nr, nm, i;

	ck_assert(oracle_config(dirs[_i], &cfg));
	ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "%s", err.msg);
	r = oracle_read(dirs[_i], "slabinfo");
	ck_assert_ptr_nonnull(r);
	me = render("slabinfo");
	nr = parse_slabinfo(r, real, 400);
	nm = parse_slabinfo(me, mine, 400);
	for (i = 0; i < nr && i < nm; i++) {
		ck_assert_msg(!strcmp(real[i].name, mine[i].name), "%s: line %d: %s, mm32 %s",
			      dirs[_i], i, real[i].name, mine[i].name);
		ck_assert_msg(real[i].objsize == mine[i].objsize &&
				      real[i].perslab == mine[i].perslab &&
				      real[i].pages == mine[i].pages,
			      "%s: %s: real %lu %lu %lu, mm32 %lu %lu %lu", dirs[_i], real[i].name,
			      real[i].objsize, real[i].perslab, real[i].pages, mine[i].objsize,
			      mine[i].perslab, mine[i].pages);
		ck_assert_uint_le(mine[i].active, mine[i].num);
		ck_assert_uint_eq(mine[i].num, mine[i].slabs * mine[i].perslab);
	}
	ck_assert_int_eq(nm, nr);
	/* the counts are mm32's own. Boot model 4: kmem_cache_init()'s bootstrap slabs and one
	 * struct kmem_cache and one kmem_cache_node per cache (nm of them, as many as the
	 * capture lists), which come out as the capture's lines (the last slab of each is the
	 * boot CPU's, its free objects counted active); the page arrays of the boot's vmalloc
	 * areas: the BPF page's (4 bytes: kmalloc-8), n_tty's (3 pages: kmalloc-16) and the
	 * crypto scratch buffers' (32 pages, two per CPU: kmalloc-128). Nothing else. */
	ck_assert_str_eq(mine[nm - 1].name, "kmem_cache");
	ck_assert_str_eq(mine[nm - 2].name, "kmem_cache_node");
	for (i = nm - 2; i < nm; i++) {
		ck_assert_msg(mine[i].active == real[i].active && mine[i].num == real[i].num &&
				      mine[i].slabs == real[i].slabs,
			      "%s: %s: real %lu/%lu in %lu slabs, mm32 %lu/%lu in %lu", dirs[_i],
			      real[i].name, real[i].active, real[i].num, real[i].slabs,
			      mine[i].active, mine[i].num, mine[i].slabs);
		ck_assert_uint_eq(mine[i].slabs, (nm + mine[i].perslab - 1) / mine[i].perslab);
	}
	for (i = 0; i < nm - 2; i++) {
		bool array = !strcmp(mine[i].name, "kmalloc-8") ||
			     !strcmp(mine[i].name, "kmalloc-16") ||
			     !strcmp(mine[i].name, "kmalloc-128");

		ck_assert_msg(mine[i].slabs == (array ? 1u : 0u) &&
				      mine[i].active == (array ? mine[i].perslab : 0),
			      "%s: %s: %lu objects in %lu slabs", dirs[_i], mine[i].name,
			      mine[i].active, mine[i].slabs);
	}
	/* all unreclaimable: Slab = SUnreclaim = nr_slab_unreclaimable pages (11 on one CPU) */
	{
		unsigned long pages = 0;
		char line[64], *mi = render("meminfo"), *vs = render("vmstat");

		for (i = 0; i < nm; i++)
			pages += mine[i].slabs * mine[i].pages;
		ck_assert_uint_eq(pages, 11);
		snprintf(line, sizeof(line), "\nSlab:           %8lu kB\n", pages * 4);
		ck_assert_msg(strstr(mi, line), "%s", line);
		snprintf(line, sizeof(line), "\nSUnreclaim:     %8lu kB\n", pages * 4);
		ck_assert_msg(strstr(mi, line), "%s", line);
		snprintf(line, sizeof(line), "\nnr_slab_unreclaimable %lu\n", pages);
		ck_assert_msg(strstr(vs, line), "%s", line);
		ck_assert_ptr_nonnull(strstr(vs, "\nnr_slab_reclaimable 0\n"));
		free(mi);
		free(vs);
	}
	free(me);
	/* boot model 3 takes no page for a slab at boot */
	mm_machine_destroy(m);
	cfg.boot_model = 3;
	ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "%s", err.msg);
	me = render("slabinfo");
	ck_assert_int_eq(parse_slabinfo(me, mine, 400), nm);
	for (i = 0; i < nm; i++)
		ck_assert_uint_eq(mine[i].num + mine[i].slabs + mine[i].active, 0);
	free(r);
	free(me);
}
END_TEST

START_TEST(no_fixtures)
{
	ck_abort_msg("no oracle fixtures under %s (set MM32_ORACLE_DIR)", oracle_root());
}
END_TEST

static bool pae_of(int i)
{
	return i & 1;
}

static const struct line *find(const struct line *l, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(l[i].name, name))
			return &l[i];
	ck_abort_msg("no cache %s", name);
	return NULL;
}

static void geometry(const char *name, unsigned long order, unsigned long objs)
{
	char *t = render("slabinfo");
	int n = parse_slabinfo(t, mine, 400);
	const struct line *l = find(mine, n, name);

	ck_assert_msg(l->pages == 1ul << order && l->perslab == objs, "%s: %lu pages %lu objs",
		      name, l->pages, l->perslab);
	free(t);
}

/* min_objects = 4 * (fls(nr_cpus) + 1): the orders the rule gives for more CPUs. */
START_TEST(geometry_cpus)
{
	static const struct {
		unsigned int cpus;
		const char *cache;
		unsigned long order, objs;
	} t[] = {
		{2, "kmalloc-512", 1, 16},     {2, "kmalloc-1k", 2, 16},
		{2, "kmalloc-2k", 3, 16},      {2, "kmalloc-256", 0, 16},
		{2, "kmalloc-4k", 3, 8},       {4, "kmalloc-1k", 2, 16},
		{8, "kmalloc-256", 1, 32},     {8, "kmalloc-512", 2, 32},
		{8, "kmalloc-1k", 3, 32},      {16, "kmalloc-192", 1, 42},
		{32, "kmalloc-192", 1, 42},    {16, "kmalloc-8k", 3, 4},
		{2, "dentry", 0, 32},	       {2, "inode_cache", 1, 19},
		{2, "task_struct", 3, 11},     {2, "kmalloc-cg-1k", 2, 16},
		{2, "dma-kmalloc-512", 1, 16},
	};
	unsigned int k;

	for (k = 0; k < ARRAY_SIZE(t); k++) {
		boot("512M", pae_of(_i), t[k].cpus, "");
		if (pae_of(_i) && !strcmp(t[k].cache, "task_struct"))
			geometry(t[k].cache, 3, 10);
		else
			geometry(t[k].cache, t[k].order, t[k].objs);
		check_teardown();
	}
	/* slub_min_objects= and slub_max_order= replace the derived values */
	boot("512M", pae_of(_i), 1, "slub_min_objects=32");
	geometry("kmalloc-512", 2, 32);
	check_teardown();
	boot("512M", pae_of(_i), 1, "slub_max_order=0");
	geometry("kmalloc-1k", 0, 4);
	geometry("kmalloc-8k", 1, 1);
}
END_TEST

static struct mm_kmalloc km(uint32_t size, const char *gfp)
{
	struct mm_kmalloc a;
	struct mm_error err;
	mm_gfp_t g;

	ck_assert_int_eq(mm_gfp_parse(gfp, &g, &err), 0);
	ck_assert_msg(mm_kmalloc(m, 0, size, g, &a, &err) == 0, "kmalloc(%u): %s", size, err.msg);
	return a;
}

static void kf(uint32_t addr)
{
	struct mm_error err;
	bool freed;

	ck_assert_msg(mm_kfree(m, 0, addr, &freed, &err) == 0, "kfree(%#x): %s", addr, err.msg);
	ck_assert(freed);
}

START_TEST(size_classes)
{
	static const struct {
		uint32_t size;
		const char *cache;
		uint32_t ksize;
	} t[] = {
		{1, "kmalloc-8", 8},	    {8, "kmalloc-8", 8},	{9, "kmalloc-16", 16},
		{17, "kmalloc-32", 32},	    {33, "kmalloc-64", 64},	{64, "kmalloc-64", 64},
		{65, "kmalloc-96", 96},	    {96, "kmalloc-96", 96},	{97, "kmalloc-128", 128},
		{129, "kmalloc-192", 192},  {192, "kmalloc-192", 192},	{193, "kmalloc-256", 256},
		{257, "kmalloc-512", 512},  {1000, "kmalloc-1k", 1024}, {2048, "kmalloc-2k", 2048},
		{4097, "kmalloc-8k", 8192}, {8192, "kmalloc-8k", 8192},
	};
	struct mm_kmalloc a;
	uint32_t ks;
	struct mm_error err;

	boot("256M", pae_of(_i), 1, "");
	for (unsigned int k = 0; k < ARRAY_SIZE(t); k++) {
		a = km(t[k].size, "GFP_KERNEL");
		ck_assert_str_eq(a.cache, t[k].cache);
		ck_assert_uint_eq(a.ksize, t[k].ksize);
		ck_assert_uint_eq(mm_kmalloc_size_roundup(t[k].size), t[k].ksize);
		ck_assert_int_eq(mm_ksize(m, a.addr, &ks, &err), 0);
		ck_assert_uint_eq(ks, t[k].ksize);
		ck_assert_uint_ge(a.addr, 0xc0000000u);
		kf(a.addr);
	}
	/* the families, chosen as kmalloc_type() does: DMA, then reclaimable, then account */
	ck_assert_str_eq(km(64, "GFP_KERNEL_ACCOUNT").cache, "kmalloc-cg-64");
	ck_assert_str_eq(km(64, "GFP_KERNEL|__GFP_RECLAIMABLE").cache, "kmalloc-rcl-64");
	ck_assert_str_eq(km(64, "GFP_KERNEL|__GFP_RECLAIMABLE|__GFP_ACCOUNT").cache,
			 "kmalloc-rcl-64");
	ck_assert_str_eq(km(100, "GFP_KERNEL|GFP_DMA").cache, "dma-kmalloc-128");
	ck_assert_str_eq(km(100, "GFP_DMA|__GFP_RECLAIMABLE|__GFP_ACCOUNT").cache,
			 "dma-kmalloc-128");
	ck_assert_str_eq(km(5000, "GFP_ATOMIC").cache, "kmalloc-8k");
	a = km(100, "GFP_KERNEL|GFP_DMA");
	ck_assert_uint_lt(a.pfn, 4096); /* ZONE_DMA */
	/* size 0: ZERO_SIZE_PTR; kfree of it and of NULL does nothing */
	a = km(0, "GFP_KERNEL");
	ck_assert_uint_eq(a.addr, 16);
	ck_assert_int_eq(mm_kfree(m, 0, 16, NULL, &err), 0);
	ck_assert_int_eq(mm_kfree(m, 0, 0, NULL, &err), 0);
	ck_assert_uint_eq(mm_kmalloc_size_roundup(0), 0);
	ck_assert_uint_eq(mm_kmalloc_size_roundup(8193), 12288 + 4096);
	/* above KMALLOC_MAX_SIZE: refused */
	ck_assert_int_eq(mm_kmalloc(m, 0, (4u << 20) + 1, 0xcc0, &a, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "KMALLOC_MAX_SIZE"));
	ck_assert_int_eq(mm_kmalloc(m, 1, 8, 0xcc0, &a, &err), -EINVAL);
	/* __GFP_HIGHMEM is stripped with the kernel's warning */
	a = km(32, "GFP_KERNEL|__GFP_HIGHMEM");
	ck_assert_str_eq(a.cache, "kmalloc-32");
	{
		char *d = render("dmesg");

		ck_assert_ptr_nonnull(strstr(d, "Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to "
						"gfp: 0xcc0 (GFP_KERNEL). Fix your code!"));
		free(d);
	}
}
END_TEST

static long node_stat(int item)
{
	return m->pgdat.node_stat[item];
}

/* Above 8 KiB: a compound page, counted as unreclaimable slab, freed from its page. */
START_TEST(kmalloc_large)
{
	struct mm_frame_info fi;
	struct mm_kmalloc a;
	struct mm_error err;
	long before;
	uint32_t ks;

	boot("256M", pae_of(_i), 1, "");
	before = node_stat(NR_SLAB_UNRECLAIMABLE_B);
	a = km(8193, "GFP_KERNEL|__GFP_ZERO");
	ck_assert(a.large);
	ck_assert_uint_eq(a.order, 2);
	ck_assert_uint_eq(a.ksize, 16384);
	ck_assert_str_eq(a.cache, "");
	ck_assert_uint_eq(a.addr, 0xc0000000u + (a.pfn << 12));
	ck_assert_int_eq(node_stat(NR_SLAB_UNRECLAIMABLE_B), before + 4);
	ck_assert_int_eq(mm_get_frame(m, a.pfn, &fi, &err), 0);
	ck_assert(fi.head && fi.kmalloc_large && !fi.slab_cache);
	ck_assert_int_eq(fi.compound_order, 2);
	ck_assert_int_eq(mm_ksize(m, a.addr, &ks, &err), 0);
	ck_assert_uint_eq(ks, 16384);
	/* not from the middle, not by free_pages */
	ck_assert_int_eq(mm_kfree(m, 0, a.addr + 4096, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "inside the kmalloc'd block"));
	ck_assert_int_eq(mm_free_pages(m, 0, a.pfn, 2, NULL, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "slab allocator"));
	kf(a.addr);
	ck_assert_int_eq(node_stat(NR_SLAB_UNRECLAIMABLE_B), before);
	ck_assert_int_eq(mm_get_frame(m, a.pfn, &fi, &err), 0);
	ck_assert(fi.state == MM_FRAME_BUDDY || fi.state == MM_FRAME_PCP);
	ck_assert_int_eq(mm_kfree(m, 0, a.addr, NULL, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "double free"));
}
END_TEST

static uint32_t rd32(uint32_t va)
{
	uint8_t b[4];
	struct mm_error err;

	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, va - 0xc0000000u, 4, b, &err), 0);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Objects are bytes of emulated RAM: the free pointer chain, writes through the MMU,
 * zeroing on allocation. */
START_TEST(objects_in_ram)
{
	struct mm_cache_info ci;
	struct mm_kmalloc a, b, c;
	struct mm_error err;
	uint8_t pat[64], back[64];

	boot("256M", pae_of(_i), 1, "init_on_alloc=0");
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "obj64", 64, 0, 0, &ci, &err), 0);
	ck_assert(ci.merged); /* into kernfs_iattrs_cache, as the kernel merges it */
	ck_assert_str_eq(ci.name, "kernfs_iattrs_cache");
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "obj64", &err), 0);
	check_teardown();

	boot("256M", pae_of(_i), 1, "init_on_alloc=0 slab_nomerge");
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "obj64", 64, 0, 0, &ci, &err), 0);
	ck_assert(!ci.merged);
	ck_assert_uint_eq(ci.offset, 32); /* the free pointer in the middle of the object */
	ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "obj64", 0xcc0, &a, &err), 0);
	ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "obj64", 0xcc0, &b, &err), 0);
	/* a new slab hands its objects out in address order */
	ck_assert_uint_eq(a.addr & 0xfff, 0);
	ck_assert_uint_eq(b.addr, a.addr + 64);
	/* the next free object is c = b + 64, and its free pointer leads to b + 128 */
	ck_assert_uint_eq(rd32(b.addr + 64 + 32), b.addr + 128);
	/* write the object through CPU 0's MMU, read it back by physical address */
	memset(pat, 0xa5, sizeof(pat));
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, a.addr, pat, 64, &err), 0);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, a.addr - 0xc0000000u, 64, back, &err), 0);
	ck_assert_mem_eq(back, pat, 64);
	/* freed on the CPU slab: it heads c->freelist and points to the old head (c) */
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "obj64", a.addr, &err), 0);
	ck_assert_uint_eq(rd32(a.addr + 32), b.addr + 64);
	ck_assert_uint_eq(rd32(a.addr), 0xa5a5a5a5u); /* the rest is as it was */
	/* LIFO: the same object again; without init_on_alloc its bytes stay */
	ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "obj64", 0xcc0, &c, &err), 0);
	ck_assert_uint_eq(c.addr, a.addr);
	ck_assert_uint_eq(rd32(c.addr), 0xa5a5a5a5u);
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "obj64", c.addr, &err), 0);
	/* __GFP_ZERO zeroes it */
	ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "obj64", 0xcc0 | 0x100, &c, &err), 0);
	ck_assert_uint_eq(c.addr, a.addr);
	memset(pat, 0, sizeof(pat));
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, c.addr - 0xc0000000u, 64, back, &err), 0);
	ck_assert_mem_eq(back, pat, 64);
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "obj64", c.addr, &err), 0);
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "obj64", b.addr, &err), 0);
	check_teardown();

	/* Debian's init_on_alloc=1 zeroes every kmalloc object */
	boot("256M", pae_of(_i), 1, "");
	a = km(64, "GFP_KERNEL");
	memset(pat, 0x5a, sizeof(pat));
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, a.addr, pat, 64, &err), 0);
	kf(a.addr);
	b = km(64, "GFP_KERNEL");
	ck_assert_uint_eq(b.addr, a.addr);
	ck_assert_uint_eq(rd32(b.addr), 0);
	kf(b.addr);
}
END_TEST

static struct mm_slab_info slabs[256];

static const struct mm_slab_info *slab_at(const char *cache, uint32_t pfn, int *n_out)
{
	struct mm_error err;
	int n = mm_slab_cache_slabs(m, cache, slabs, 256, &err);

	ck_assert_int_ge(n, 0);
	if (n_out)
		*n_out = n;
	for (int i = 0; i < n; i++)
		if (slabs[i].pfn == pfn)
			return &slabs[i];
	return NULL;
}

/* The lists: full slabs off the CPU, a freed object's full slab onto the CPU's partial
 * list, unfrozen to the node by shrink; an empty slab freed when the node keeps
 * min_partial already, kept on the partial list otherwise. */
START_TEST(slab_lists)
{
	static uint32_t obj[7][8];
	struct mm_cache_info ci;
	struct mm_kmalloc a;
	struct mm_error err;
	struct mm_frame_info fi;
	const struct mm_slab_info *si;
	uint32_t pfn[7];
	unsigned int freed;
	long before;
	int s, k, n;

	boot("256M", pae_of(_i), 1, "slab_nomerge");
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "t1k", 1024, 0, 0, &ci, &err), 0);
	before = node_stat(NR_SLAB_UNRECLAIMABLE_B);
	ck_assert_uint_eq(ci.order, 1);
	ck_assert_uint_eq(ci.objperslab, 8);
	ck_assert_uint_eq(ci.min_partial, 5);
	ck_assert_uint_eq(ci.cpu_partial_slabs, 6);
	for (s = 0; s < 7; s++)
		for (k = 0; k < 8; k++) {
			ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "t1k", 0xcc0, &a, &err), 0);
			obj[s][k] = a.addr;
			pfn[s] = a.pfn;
		}
	ck_assert_int_eq(node_stat(NR_SLAB_UNRECLAIMABLE_B), before + 14);
	ck_assert_int_eq(mm_get_frame(m, pfn[0], &fi, &err), 0);
	ck_assert_str_eq(fi.slab_cache, "t1k");
	ck_assert(fi.head && (fi.flags & (1u << 9)));
	ck_assert_int_eq(fi.slab_inuse, 8);
	ck_assert_int_eq(fi.slab_objects, 8);
	si = slab_at("t1k", pfn[0], &n);
	ck_assert_str_eq(si->list, "full");
	ck_assert_str_eq(slab_at("t1k", pfn[6], NULL)->list, "cpu");
	ck_assert_int_eq(n, 7);
	ck_assert_int_eq(mm_kmem_cache_shrink(m, 0, "t1k", &freed, &err), 0);
	ck_assert_uint_eq(freed, 0);
	ck_assert_str_eq(slab_at("t1k", pfn[6], NULL)->list, "full");
	/* one object of each of slabs 0..5: full -> frozen on CPU 0's partial list */
	for (s = 0; s < 6; s++)
		ck_assert_int_eq(mm_kmem_cache_free(m, 0, "t1k", obj[s][0], &err), 0);
	si = slab_at("t1k", pfn[0], NULL);
	ck_assert_str_eq(si->list, "cpu_partial");
	ck_assert(si->frozen);
	ck_assert_uint_eq(si->inuse, 7);
	ck_assert_uint_eq(si->freelist, obj[0][0]);
	/* slabinfo counts free objects of CPU partial slabs as active */
	ck_assert_int_eq(mm_slab_cache_find(m, "t1k", &ci, &err), 0);
	ck_assert_uint_eq(ci.active_objs, 56);
	ck_assert_uint_eq(ci.nr_cpu_partial, 6);
	ck_assert_int_eq(mm_kmem_cache_shrink(m, 0, "t1k", &freed, &err), 0);
	ck_assert_int_eq(mm_slab_cache_find(m, "t1k", &ci, &err), 0);
	ck_assert_uint_eq(ci.nr_partial, 6);
	ck_assert_uint_eq(ci.active_objs, 50);
	/* slab 0 empties while the node has 6 >= min_partial 5 partial slabs: freed */
	for (k = 1; k < 8; k++)
		ck_assert_int_eq(mm_kmem_cache_free(m, 0, "t1k", obj[0][k], &err), 0);
	ck_assert_ptr_null(slab_at("t1k", pfn[0], NULL));
	ck_assert_int_eq(mm_get_frame(m, pfn[0], &fi, &err), 0);
	ck_assert(!(fi.flags & (1u << 9)) && !fi.slab_cache);
	ck_assert(fi.state == MM_FRAME_BUDDY || fi.state == MM_FRAME_PCP);
	ck_assert_int_eq(node_stat(NR_SLAB_UNRECLAIMABLE_B), before + 12);
	/* slab 1 too (5 partial slabs left >= 5) */
	for (k = 1; k < 8; k++)
		ck_assert_int_eq(mm_kmem_cache_free(m, 0, "t1k", obj[1][k], &err), 0);
	ck_assert_ptr_null(slab_at("t1k", pfn[1], NULL));
	/* slab 2 empties with 4 < 5 partial slabs left: SLUB keeps it on the partial list */
	for (k = 1; k < 8; k++)
		ck_assert_int_eq(mm_kmem_cache_free(m, 0, "t1k", obj[2][k], &err), 0);
	si = slab_at("t1k", pfn[2], NULL);
	ck_assert_ptr_nonnull(si);
	ck_assert_str_eq(si->list, "partial");
	ck_assert_uint_eq(si->inuse, 0);
	ck_assert_int_eq(mm_get_frame(m, pfn[2], &fi, &err), 0);
	ck_assert_int_eq(fi.slab_inuse, 0);
	/* destroy is refused while objects live; shrink frees the empty slab */
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "t1k", &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "still has objects"));
	ck_assert_int_eq(mm_kmem_cache_shrink(m, 0, "t1k", &freed, &err), 0);
	ck_assert_uint_eq(freed, 1);
	for (s = 3; s < 7; s++)
		for (k = s == 6 ? 0 : 1; k < 8; k++)
			ck_assert_int_eq(mm_kmem_cache_free(m, 0, "t1k", obj[s][k], &err), 0);
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "t1k", &err), 0);
	ck_assert_int_eq(node_stat(NR_SLAB_UNRECLAIMABLE_B), before);
	ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "t1k", 0xcc0, &a, &err), -ENOENT);
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "t1k", obj[3][1], &err), -ENOENT);
}
END_TEST

/* Frees the kernel would not survive are refused, and nothing changes. */
static unsigned char *snap(size_t *len);

START_TEST(bad_frees)
{
	struct mm_page_alloc pa;
	struct mm_kmalloc a, b;
	struct mm_error err;
	unsigned char *s0, *s1;
	size_t l0, l1;
	struct mm_layout lay;

	boot("1G", pae_of(_i), 2, "");
	a = km(100, "GFP_KERNEL");
	b = km(100, "GFP_KERNEL");
	kf(b.addr);
	ck_assert_int_eq(mm_alloc_pages(m, 0, 0xcc0, 0, &pa, &err), 0);
	mm_get_layout(m, &lay);
	s0 = snap(&l0);
	ck_assert_int_eq(mm_kfree(m, 0, lay.vmalloc_start + 0x1000, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "vmalloc address"));
	ck_assert_ptr_nonnull(strstr(err.msg, "vfree"));
	ck_assert_int_eq(mm_kfree(m, 0, b.addr, NULL, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.msg, "double free"));
	ck_assert_int_eq(mm_kfree(m, 1, b.addr, NULL, &err), -EBUSY); /* from the other CPU */
	ck_assert_int_eq(mm_kfree(m, 0, a.addr + 8, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "not the start of an object"));
	ck_assert_int_eq(mm_kfree(m, 0, pa.vaddr, NULL, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "neither a slab"));
	ck_assert_int_eq(mm_kfree(m, 0, 0x1000, NULL, &err), -EINVAL);
	ck_assert_int_eq(mm_free_pages(m, 0, a.pfn, 0, NULL, &err), -EBUSY);
	ck_assert_int_eq(mm_put_page(m, 0, a.pfn, NULL, NULL, &err), -EBUSY);
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "dentry", a.addr, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "Wrong slab cache. dentry but object is from "
					      "kmalloc-128"));
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "kmalloc-128", &err), -EBUSY);
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "nosuch", &err), -ENOENT);
	ck_assert_int_eq(mm_kfree(m, 2, a.addr, NULL, &err), -EINVAL);
	s1 = snap(&l1);
	ck_assert_uint_eq(l0, l1);
	ck_assert_msg(!memcmp(s0, s1, l0), "a refused free changed the machine");
	free(s0);
	free(s1);
	/* a free from the other CPU is a remote free: into the slab's own freelist */
	ck_assert_int_eq(mm_kfree(m, 1, a.addr, NULL, &err), 0);
}
END_TEST

/* kmem_cache holds exactly one object per cache from the boot on (boot model 4): with
 * slab_nomerge every named cache is a new one and takes a struct kmem_cache (and a
 * kmem_cache_node), so the free objects left in kmem_cache's last slab are used up by
 * exactly that many caches, the next one takes a new slab; destroy gives both back. */
START_TEST(kmem_cache_object_per_cache)
{
	struct mm_cache_info kc, kn, ci;
	struct mm_error err;
	unsigned long nr, spare, k;
	char name[32], *t;

	boot("128M", pae_of(_i), 1, "slab_nomerge");
	t = render("slabinfo");
	nr = (unsigned long)parse_slabinfo(t, mine, 400);
	free(t);
	ck_assert_int_eq(mm_slab_cache_find(m, "kmem_cache", &kc, &err), 0);
	ck_assert_int_eq(mm_slab_cache_find(m, "kmem_cache_node", &kn, &err), 0);
	ck_assert_uint_eq(kc.num_slabs, (nr + kc.objperslab - 1) / kc.objperslab);
	ck_assert_uint_eq(kn.num_slabs, (nr + kn.objperslab - 1) / kn.objperslab);
	spare = kc.num_objs - nr;
	for (k = 0; k < spare; k++) {
		snprintf(name, sizeof(name), "t%lu", k);
		ck_assert_int_eq(mm_kmem_cache_create(m, 0, name, 100, 0, 0, &ci, &err), 0);
		ck_assert(!ci.merged);
	}
	ck_assert_int_eq(mm_slab_cache_find(m, "kmem_cache", &ci, &err), 0);
	ck_assert_uint_eq(ci.num_slabs, kc.num_slabs);
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "one-more", 100, 0, 0, &ci, &err), 0);
	ck_assert_int_eq(mm_slab_cache_find(m, "kmem_cache", &ci, &err), 0);
	ck_assert_uint_eq(ci.num_slabs, kc.num_slabs + 1);
	ck_assert_uint_eq(ci.active_objs, kc.num_objs + ci.objperslab);
	ck_assert_int_eq(mm_slab_cache_find(m, "kmem_cache_node", &ci, &err), 0);
	ck_assert_uint_eq(ci.num_slabs, (nr + spare + 1 + kn.objperslab - 1) / kn.objperslab);
	/* kmem_cache_destroy: the object goes back (its slab stays: min_partial) */
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "one-more", &err), 0);
	ck_assert_int_eq(mm_slab_cache_find(m, "kmem_cache", &ci, &err), 0);
	ck_assert_uint_eq(ci.num_slabs, kc.num_slabs + 1);
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "again", 100, 0, 0, &ci, &err), 0);
	ck_assert_int_eq(mm_slab_cache_find(m, "kmem_cache", &ci, &err), 0);
	ck_assert_uint_eq(ci.num_slabs, kc.num_slabs + 1);
}
END_TEST

START_TEST(named_caches)
{
	struct mm_cache_info ci;
	struct mm_kmalloc a;
	struct mm_error err;
	uint32_t flags;
	char buf[128], *t;

	boot("512M", pae_of(_i), 1, "");
	ck_assert_int_eq(
		mm_slab_flags_parse("SLAB_HWCACHE_ALIGN|SLAB_RECLAIM_ACCOUNT", &flags, &err), 0);
	ck_assert_uint_eq(flags, 0x22000);
	mm_slab_flags_format(flags, buf, sizeof(buf));
	ck_assert_str_eq(buf, "SLAB_HWCACHE_ALIGN|SLAB_RECLAIM_ACCOUNT");
	ck_assert_int_eq(mm_slab_flags_parse("SLAB_POISON", &flags, &err), -EINVAL);
	/* 100 bytes, cache-line aligned: stride 128; reclaimable: its slabs are */
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "my_cache", 100, 0, 0x22000, &ci, &err), 0);
	ck_assert(!ci.merged);
	ck_assert_uint_eq(ci.size, 128);
	ck_assert_uint_eq(ci.align, 32);
	ck_assert_uint_eq(ci.objperslab, 32);
	ck_assert_uint_eq(ci.allocflags, 0x10); /* __GFP_RECLAIMABLE */
	ck_assert(ci.reclaimable);
	t = render("slabinfo");
	ck_assert_ptr_nonnull(strstr(t, "slabinfo - version: 2.1\n# name"));
	ck_assert_ptr_nonnull(strstr(t, "<sharedavail>\nmy_cache               0      0    128   "
					"32    1 : tunables    0    0    0 : slabdata      0      "
					"0      0\n"));
	free(t);
	{
		long rec = node_stat(NR_SLAB_RECLAIMABLE_B);

		struct mm_frame_info fi;

		ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "my_cache", 0xcc0, &a, &err), 0);
		ck_assert_int_eq(node_stat(NR_SLAB_RECLAIMABLE_B), rec + 1);
		/* the slab came with __GFP_RECLAIMABLE: from a MIGRATE_RECLAIMABLE pageblock */
		ck_assert_int_eq(mm_get_frame(m, a.pfn, &fi, &err), 0);
		ck_assert_int_eq(fi.pageblock_migratetype, MIGRATE_RECLAIMABLE);
		ck_assert_str_eq(fi.slab_cache, "my_cache");
	}
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "my_cache", 64, 0, 0, &ci, &err), -EBUSY);
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "bad name", 64, 0, 0, &ci, &err), -EINVAL);
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "x", 0, 0, 0, &ci, &err), -EINVAL);
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "x", 64, 3, 0, &ci, &err), -EINVAL);
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "big", 1u << 20, 0, 0, &ci, &err), 0);
	ck_assert_uint_eq(ci.order, 8); /* one object per slab above slub_max_order */
	ck_assert_uint_eq(ci.objperslab, 1);
	/* SLAB_TYPESAFE_BY_RCU: the free pointer after the object */
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "rcu", 64, 0, SLAB_TYPESAFE_BY_RCU, &ci, &err),
			 0);
	ck_assert_uint_eq(ci.offset, 64);
	ck_assert_uint_eq(ci.size, 72);
	ck_assert_uint_eq(ci.objperslab, 56);
	/* merged names find the cache; destroying one drops a reference */
	ck_assert_int_eq(mm_kmem_cache_create(m, 0, "m64", 64, 0, 0, &ci, &err), 0);
	ck_assert(ci.merged);
	ck_assert_int_eq(mm_slab_cache_find(m, "m64", &ci, &err), 0);
	ck_assert_str_eq(ci.name, "kernfs_iattrs_cache");
	ck_assert_int_eq(ci.refcount, 2);
	ck_assert_int_eq(mm_kmem_cache_alloc(m, 0, "m64", 0xcc0, &a, &err), 0);
	ck_assert_str_eq(a.cache, "kernfs_iattrs_cache");
	ck_assert_int_eq(mm_kmem_cache_free(m, 0, "m64", a.addr, &err), 0);
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "m64", &err), 0);
	ck_assert_int_eq(mm_slab_cache_find(m, "m64", &ci, &err), -ENOENT);
	/* a boot cache, merged (686) or not (686-pae): the kernel's, never destroyed */
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "seq_file", &err), -EBUSY);
	ck_assert_int_eq(mm_kmem_cache_destroy(m, 0, "big", &err), 0);
	t = render("slabinfo");
	ck_assert_ptr_null(strstr(t, "\nbig "));
	free(t);
}
END_TEST

/* meminfo and vmstat show the slab pages as 6.1 counts them. */
START_TEST(meminfo_slab)
{
	char *mi, *vs, *zi, line[64];
	long rec, unrec;

	boot("1G", pae_of(_i), 1, "");
	km(3000, "GFP_KERNEL|__GFP_RECLAIMABLE");
	rec = node_stat(NR_SLAB_RECLAIMABLE_B);
	unrec = node_stat(NR_SLAB_UNRECLAIMABLE_B);
	ck_assert_int_gt(rec, 0);
	ck_assert_int_gt(unrec, 0);
	mi = render("meminfo");
	vs = render("vmstat");
	zi = render("zoneinfo");
	snprintf(line, sizeof(line), "\nSlab:           %8ld kB\n", (rec + unrec) * 4);
	ck_assert_msg(strstr(mi, line), "%s", line);
	snprintf(line, sizeof(line), "\nSReclaimable:   %8ld kB\n", rec * 4);
	ck_assert_ptr_nonnull(strstr(mi, line));
	snprintf(line, sizeof(line), "\nSUnreclaim:     %8ld kB\n", unrec * 4);
	ck_assert_ptr_nonnull(strstr(mi, line));
	snprintf(line, sizeof(line), "\nnr_slab_reclaimable %ld\n", rec);
	ck_assert_ptr_nonnull(strstr(vs, line));
	snprintf(line, sizeof(line), "\nnr_slab_unreclaimable %ld\n", unrec);
	ck_assert_ptr_nonnull(strstr(vs, line));
	snprintf(line, sizeof(line), "\n      nr_slab_unreclaimable %ld\n", unrec);
	ck_assert_ptr_nonnull(strstr(zi, line));
	free(mi);
	free(vs);
	free(zi);
	/* kmem_cache and kmem_cache_node hold one object per cache since the boot (137 caches
	 * on 686-pae, 141 on 686 with highmem); a CPU slab's free objects count as active */
	mi = render("slabinfo");
	ck_assert_ptr_nonnull(strstr(mi, "\nkmem_cache_node      256    256     32  128    1 :"));
	ck_assert_ptr_nonnull(strstr(mi, "\nkmem_cache           150    150    160   25    1 :"));

	free(mi);
}
END_TEST

static int wr(void *ctx, const void *data, size_t len)
{
	struct mm_buf *b = ctx;

	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->data = realloc(b->data, b->cap);
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

static unsigned char *snap(size_t *len)
{
	struct mm_buf b = {0};
	struct mm_error err;

	ck_assert_int_eq(mm_snapshot_save(m, wr, &b, &err), 0);
	*len = b.len;
	return (unsigned char *)b.data;
}

struct rd_ctx {
	const unsigned char *p;
	size_t left;
};

static int rd(void *ctx, void *data, size_t len)
{
	struct rd_ctx *c = ctx;

	if (len > c->left)
		return -1;
	memcpy(data, c->p, len);
	c->p += len;
	c->left -= len;
	return 0;
}

/* The slab state survives a snapshot: same slabinfo, same objects, frees still work. */
START_TEST(snapshot_roundtrip)
{
	struct mm_machine *r;
	struct mm_kmalloc a;
	struct mm_error err;
	struct rd_ctx c;
	unsigned char *s;
	size_t len;
	char *t1, *t2;
	uint64_t pfn;

	boot("512M", pae_of(_i), 2, "");
	a = km(200, "GFP_KERNEL_ACCOUNT");
	km(40, "GFP_KERNEL");
	s = snap(&len);
	c.p = s;
	c.left = len;
	ck_assert_int_eq(mm_snapshot_load(rd, &c, &r, &err), 0);
	for (pfn = 0; pfn < mm_ram_pages(m); pfn++)
		if (mm_ram_page_touched(m, pfn))
			ck_assert_int_eq(mm_ram_page_load(r, pfn, mm_ram_page(m, pfn), &err), 0);
	t1 = render("slabinfo");
	mm_machine_destroy(m);
	m = r;
	t2 = render("slabinfo");
	ck_assert_str_eq(t1, t2);
	kf(a.addr);
	ck_assert_int_eq(mm_kfree(m, 0, a.addr, NULL, &err), -EBUSY);
	free(t1);
	free(t2);
	free(s);
}
END_TEST

/* A physical write (/dev/mem) into a slab or a kmalloc_large block is the kernel's memory:
 * refused, its frames unchanged (a free object holds SLUB's free pointer: fuzz-commands
 * broke a boot slab's freelist with one); "force" does it and taints the machine. */
START_TEST(phys_write_slab_refused)
{
	static const uint8_t junk[4] = {0xde, 0xad, 0xbe, 0xef};
	struct mm_error err = {0};
	struct mm_kmalloc a, big;
	uint8_t before[8], after[8];

	boot("256M", pae_of(_i), 1, "");
	a = km(64, "GFP_KERNEL");
	big = km(16384, "GFP_KERNEL"); /* kmalloc_large: an order-2 block */
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, PFN_PHYS(a.pfn) + 64, 8, before, &err),
			 0);
	ck_assert_int_eq(
		mm_mem_write(m, 0, MM_SPACE_PHYS, PFN_PHYS(a.pfn) + 64, junk, sizeof(junk), &err),
		-EBUSY);
	ck_assert_msg(strstr(err.msg, "a slab"), "%s", err.msg);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, PFN_PHYS(a.pfn) + 64, 8, after, &err), 0);
	ck_assert(!memcmp(before, after, 8));
	/* a tail page of the kmalloc_large block */
	ck_assert_int_eq(
		mm_mem_write(m, 0, MM_SPACE_PHYS, PFN_PHYS(big.pfn + 3), junk, sizeof(junk), &err),
		-EBUSY);
	ck_assert(!mm_machine_tainted(m));
	ck_assert_int_eq(mm_mem_write_force(m, 0, MM_SPACE_PHYS, PFN_PHYS(big.pfn + 3), junk,
					    sizeof(junk), &err),
			 0);
	ck_assert(mm_machine_tainted(m));
	mm_machine_destroy(m);
	m = NULL;
}
END_TEST

/* ---- the checker: each invariant corrupted on its own ----------------------------------- */

/* mm_check() finds exactly invariant @inv broken (and nothing else), with a message about
 * @what. */
static void expect_violation(const char *inv, const char *what)
{
	struct mm_report rep = {0};
	char msgs[8][MM_ERR_MAX], names[512] = "";
	bool found = false;
	size_t off = 0;

	rep.max = 8;
	rep.msgs = msgs;
	ck_assert_int_eq(mm_check(m, &rep), -EFAULT);
	for (unsigned int i = 0; i < mm_nr_invariants(); i++)
		if (rep.invariants & (1ull << i))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
						off ? "," : "", mm_invariant_name(i));
	ck_assert_str_eq(names, inv);
	for (unsigned int i = 0; i < rep.nr && i < 8; i++)
		if (strstr(msgs[i], what))
			found = true;
	ck_assert_msg(found, "no report containing \"%s\" (first: %s)", what,
		      rep.nr ? msgs[0] : "none");
	mm_machine_destroy(m);
	m = NULL;
}

/* kmalloc-8 with one full slab (on the full list) and a CPU slab. */
static void fill_kmalloc8(void)
{
	for (int i = 0; i < 600; i++)
		km(8, "GFP_KERNEL");
}

static struct kmem_cache *cache(const char *name)
{
	for (unsigned int i = 0; i < SLAB_MAX_CACHES; i++)
		if (m->slab.caches[i].used && !strcmp(m->slab.caches[i].name, name))
			return &m->slab.caches[i];
	ck_abort_msg("no cache %s", name);
	return NULL;
}

START_TEST(corrupt_pg_slab)
{
	struct mm_kmalloc a;

	boot("256M", pae_of(_i), 1, "");
	a = km(64, "GFP_KERNEL");
	ClearPageFlag(&m->mem_map[a.pfn], PG_slab);
	expect_violation("slab-lists", "not a PG_slab head page");
}
END_TEST

START_TEST(corrupt_two_lists)
{
	struct kmem_cache *s;

	boot("256M", pae_of(_i), 2, "");
	fill_kmalloc8();
	s = cache("kmalloc-8");
	/* a full slab also claimed as the CPU slab of CPU 1 (which has none) */
	ck_assert(!pfn_list_empty(&s->node.full));
	ck_assert_uint_eq(s->cpu_slab[1].slab, PFN_NIL);
	s->cpu_slab[1].slab = s->node.full.first;
	expect_violation("slab-lists", "on more than one list");
}
END_TEST

START_TEST(corrupt_inuse)
{
	struct mm_kmalloc a;

	boot("256M", pae_of(_i), 1, "");
	a = km(64, "GFP_KERNEL");
	m->mem_map[a.pfn].private = slab_counters(SLAB_INUSE(&m->mem_map[a.pfn]) - 1,
						  SLAB_OBJECTS(&m->mem_map[a.pfn]), true);
	expect_violation("slab-objects", "free objects");
}
END_TEST

START_TEST(corrupt_freelist_cycle)
{
	struct mm_kmalloc a;
	struct kmem_cache *s;
	uint32_t obj;

	boot("256M", pae_of(_i), 1, "");
	a = km(64, "GFP_KERNEL");
	s = cache("kmalloc-64");
	obj = s->cpu_slab[0].freelist;
	ck_assert_uint_ne(obj, 0);
	/* the first free object points at itself: a loop, and an object free twice */
	m->ram[obj - 0xc0000000u + s->offset] = (uint8_t)obj;
	m->ram[obj - 0xc0000000u + s->offset + 1] = (uint8_t)(obj >> 8);
	m->ram[obj - 0xc0000000u + s->offset + 2] = (uint8_t)(obj >> 16);
	m->ram[obj - 0xc0000000u + s->offset + 3] = (uint8_t)(obj >> 24);
	(void)a;
	expect_violation("slab-objects", "twice");
}
END_TEST

START_TEST(corrupt_freelist_outside)
{
	struct mm_kmalloc a;

	boot("256M", pae_of(_i), 1, "");
	a = km(64, "GFP_KERNEL");
	kf(a.addr);
	a = km(8192, "GFP_KERNEL");
	/* a slab whose own freelist leads outside it (kmalloc-8k: the CPU slab was full?) */
	cache("kmalloc-8k")->cpu_slab[0].freelist = 0xc0000010u;
	expect_violation("slab-objects", "outside");
}
END_TEST

START_TEST(corrupt_node_counts)
{
	boot("256M", pae_of(_i), 1, "");
	cache("kmem_cache")->node.nr_partial++;
	expect_violation("slab-node-counts", "nr_partial");
}
END_TEST

START_TEST(corrupt_total_objects)
{
	boot("256M", pae_of(_i), 1, "");
	cache("kmem_cache_node")->node.total_objects--;
	expect_violation("slab-node-counts", "total_objects");
}
END_TEST

START_TEST(corrupt_slab_stat)
{
	boot("256M", pae_of(_i), 1, "");
	m->pgdat.node_stat[NR_SLAB_UNRECLAIMABLE_B]++;
	expect_violation("slab-stat", "NR_SLAB");
}
END_TEST

/* A slab head whose recorded order is garbage: the checker names it, and reads no further
 * than the machine's pages (no shift by the garbage: UBSan would halt). */
START_TEST(corrupt_slab_order)
{
	struct mm_kmalloc a;

	boot("256M", pae_of(_i), 1, "");
	a = km(8192, "GFP_KERNEL"); /* kmalloc-8k: a slab of order > 0 */
	ck_assert(PageHead(&m->mem_map[a.pfn]));
	m->mem_map[a.pfn + 1].index = (m->mem_map[a.pfn + 1].index & ~0xffu) | 200;
	expect_violation("compound-pages,slab-lists,slab-stat", "order 200");
}
END_TEST

START_TEST(corrupt_orphan_slab)
{
	struct kmem_cache *s;
	pfn_t p;

	boot("256M", pae_of(_i), 1, "");
	fill_kmalloc8();
	s = cache("kmalloc-8");
	p = s->node.full.first;
	pfn_list_del(m->mem_map, &s->node.full, p);
	s->node.nr_slabs--; /* the node forgot it too: only the page is left over */
	s->node.total_objects -= SLAB_OBJECTS(&m->mem_map[p]);
	expect_violation("slab-lists", "on no list");
}
END_TEST

START_TEST(corrupt_cpu_partial_count)
{
	boot("256M", pae_of(_i), 1, "");
	cache("kmalloc-64")->cpu_slab[0].partial_slabs = 3;
	expect_violation("slab-node-counts", "CPU partial slabs");
}
END_TEST

START_TEST(corrupt_frozen)
{
	struct kmem_cache *s;
	pfn_t p;

	boot("256M", pae_of(_i), 1, "");
	fill_kmalloc8();
	s = cache("kmalloc-8");
	p = s->node.full.first;
	m->mem_map[p].private |= 1u << 31;
	expect_violation("slab-lists", "frozen");
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("slab");
	TCase *tc = tcase_create("oracle");
	TCase *tk = tcase_create("kmalloc");
	TCase *tx = tcase_create("corrupt");

	nr_dirs = oracle_dirs(dirs, 64);
	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 120);
	if (nr_dirs)
		tcase_add_loop_test(tc, oracle_geometry, 0, nr_dirs);
	else
		tcase_add_test(tc, no_fixtures);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tk, NULL, check_teardown);
	tcase_set_timeout(tk, 120);
	tcase_add_loop_test(tk, geometry_cpus, 0, 2);
	tcase_add_loop_test(tk, size_classes, 0, 2);
	tcase_add_loop_test(tk, kmalloc_large, 0, 2);
	tcase_add_loop_test(tk, objects_in_ram, 0, 2);
	tcase_add_loop_test(tk, slab_lists, 0, 2);
	tcase_add_loop_test(tk, bad_frees, 0, 2);
	tcase_add_loop_test(tk, named_caches, 0, 2);
	tcase_add_loop_test(tk, kmem_cache_object_per_cache, 0, 2);
	tcase_add_loop_test(tk, meminfo_slab, 0, 2);
	tcase_add_loop_test(tk, snapshot_roundtrip, 0, 2);
	suite_add_tcase(s, tk);

	tcase_add_checked_fixture(tx, NULL, check_teardown);
	tcase_add_loop_test(tx, corrupt_pg_slab, 0, 2);
	tcase_add_loop_test(tx, corrupt_two_lists, 0, 2);
	tcase_add_loop_test(tx, corrupt_inuse, 0, 2);
	tcase_add_loop_test(tx, corrupt_freelist_cycle, 0, 2);
	tcase_add_loop_test(tx, corrupt_freelist_outside, 0, 2);
	tcase_add_loop_test(tx, corrupt_node_counts, 0, 2);
	tcase_add_loop_test(tx, corrupt_total_objects, 0, 2);
	tcase_add_loop_test(tx, corrupt_slab_stat, 0, 2);
	tcase_add_loop_test(tx, corrupt_orphan_slab, 0, 2);
	tcase_add_loop_test(tx, corrupt_slab_order, 0, 2);
	tcase_add_loop_test(tx, phys_write_slab_refused, 0, 2);
	tcase_add_loop_test(tx, corrupt_frozen, 0, 2);
	tcase_add_loop_test(tx, corrupt_cpu_partial_count, 0, 2);
	suite_add_tcase(s, tx);
	return s;
}
