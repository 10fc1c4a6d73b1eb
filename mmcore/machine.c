/* SPDX-License-Identifier: MIT */
/*
 * machine.c - creating, booting and destroying an emulated i386 PC.
 *
 * Mirrors the memory-management part of the kernel's boot, in its order, cut into the
 * phases a machine can stop after (enum mm_boot_phase: early_page_tables and
 * paging_enabled are head_32.S; memblock and final_page_tables are setup_arch() up to
 * and from init_mem_mapping(); buddy is the rest):
 *   head_32.S         mk_early_pgtbl_32(), CR0.PG (init_32.c)
 *   setup_arch()      arch/x86/kernel/setup.c: swapper_pg_dir, e820 (firmware map, early
 * parameters, trim_bios_range), max_pfn, find_low_pfn_range(), early reservations,
 * e820__memblock_setup(), reserve_real_mode(), init_mem_mapping(), initmem_init(), paging_init() ->
 *                     zone_sizes_init() -> free_area_init()
 *   start_kernel()    init/main.c: setup_per_cpu_areas(), build_all_zonelists(),
 *                     vfs_caches_init_early() (hash tables), mm_init() -> mem_init()
 *                     (set_highmem_pages_init(), memblock_free_all()),
 *                     setup_per_cpu_pageset(), check_bugs() (SMP alternatives freed)
 *   initcalls         init_per_zone_wmark_min() (postcore), hugepage_init() (subsys)
 *   kernel_init()     free_initmem(), mark_rodata_ro()
 * The boot is deterministic: the same configuration gives the same machine, which is what
 * lets a stopped machine be checked by a scratch boot, and replay reproduce a session.
 * What depends on the kernel binary (image sections, per-CPU unit, small early
 * allocations) comes from struct mm_kernel_image, whose defaults model Debian's kernels.
 */
#include "machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "page_alloc.h"

int mm_set_error(struct mm_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void mm_kernel_image_defaults(struct mm_kernel_image *img, bool pae)
{
	memset(img, 0, sizeof(*img));
	if (!pae) { /* linux-image-6.1.0-50-686: see oracle kernel_vars and iomem */
		img->text = 0x91bc80;
		img->rodata = 0x31d000;
		img->rodata_gap = 0;
		img->rwdata = 0x137bc0;
		img->data_gap = 0x15440;
		img->init = 0xe4000;
		img->percpu_static = 103316;
		img->bss = 0x74000;
		img->early_misc = 0x2000;
	} else { /* linux-image-6.1.0-50-686-pae */
		img->text = 0x933f00;
		img->rodata = 0x31d000;
		img->rodata_gap = 0x1000;
		img->rwdata = 0x13c680;
		img->data_gap = 0x15980;
		img->init = 0xe8000;
		img->percpu_static = 104276;
		img->bss = 0x77000;
		img->early_misc = 0x4000;
	}
	img->smp_locks = 0x8000;
	img->bss_gap = 0;
	img->brk_other = 0x26000;
	img->percpu_unit = 135168;
}

void mm_config_init(struct mm_config *cfg, bool pae)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem = 1ULL << 30;
	cfg->pae = pae;
	cfg->cpus = 1;
	cfg->initrd_size = MM_DEFAULT_INITRD;
	cfg->stop_after = MM_PHASE_BUDDY;
	cfg->tlb_entries = TLB_DEFAULT_ENTRIES;
	mm_kernel_image_defaults(&cfg->image, pae);
}

const struct mm_config *mm_machine_config(const struct mm_machine *m)
{
	return &m->cfg;
}

static int validate_config(const struct mm_config *cfg, struct mm_error *err)
{
	unsigned int i;

	if (cfg->cpus < 1 || cfg->cpus > NR_CPUS)
		return mm_set_error(err, -EINVAL, "cpus must be between 1 and %d (NR_CPUS), not %u",
				    NR_CPUS, cfg->cpus);
	if (memchr(cfg->cmdline, '\0', sizeof(cfg->cmdline)) == NULL)
		return mm_set_error(err, -EINVAL, "kernel command line longer than %d bytes",
				    MM_CMDLINE_MAX - 1);
	if (cfg->stop_after < 0 || cfg->stop_after >= MM_NR_BOOT_PHASES)
		return mm_set_error(err, -EINVAL, "stop_after must name a boot phase (0..%d)",
				    MM_NR_BOOT_PHASES - 1);
	if (cfg->tlb_entries > TLB_MAX_ENTRIES)
		return mm_set_error(err, -EINVAL, "tlb_entries must be at most %d, not %u",
				    TLB_MAX_ENTRIES, cfg->tlb_entries);
	if (cfg->nr_e820 > MM_MAX_E820)
		return mm_set_error(err, -EINVAL, "at most %d e820 entries", MM_MAX_E820);
	if (!cfg->nr_e820) {
		if (cfg->mem == 0 || cfg->mem > MM_MAX_RAM)
			return mm_set_error(
				err, -EINVAL,
				"mem must be more than 0 and at most 64 GiB, not %llu bytes",
				(unsigned long long)cfg->mem);
		if (cfg->mem < (64u << 20))
			return mm_set_error(
				err, -EINVAL,
				"mem of %llu bytes is too small: the kernel image alone ends "
				"near 33 MiB; give at least 64M",
				(unsigned long long)cfg->mem);
	}
	for (i = 0; i < cfg->nr_e820; i++) {
		const struct mm_e820_entry *e = &cfg->e820[i];

		if (!e->size || e->addr + e->size < e->addr)
			return mm_set_error(err, -EINVAL, "e820 entry %u is empty or wraps around",
					    i);
		if (e->addr + e->size > MM_MAX_RAM + (4ULL << 30))
			return mm_set_error(
				err, -EINVAL,
				"e820 entry %u ends above 68 GiB, beyond what mm32 emulates", i);
	}
	return 0;
}

/* Make pgstate cover frames [0, @pfns) (rounded up to MAX_ORDER); new frames are clean. */
static int pgstate_cover(struct mm_machine *m, pfn_t pfns)
{
	pfn_t n = (pfns + MAX_ORDER_NR_PAGES - 1) & ~(pfn_t)(MAX_ORDER_NR_PAGES - 1);
	uint8_t *p;

	if (n <= m->pgstate_pfns)
		return 0;
	p = host_realloc(m->pgstate, n, 1);
	if (!p)
		return -ENOMEM;
	memset(p + m->pgstate_pfns, 0, n - m->pgstate_pfns);
	m->pgstate = p;
	m->pgstate_pfns = n;
	return 0;
}

/* ---- setup_arch ----------------------------------------------------------------------- */

static int apply_early_params(struct mm_machine *m, struct mm_error *err)
{
	unsigned int i;

	m->highmem_pages = -1;
	for (i = 0; i < m->cmdline.nr; i++) {
		const char *v = m->cmdline.params[i].value, *end;
		uint64_t size;

		switch (m->cmdline.params[i].kind) {
		case EARLY_MEM: /* parse_memopt() */
			if (!strcmp(v, "nopentium")) {
				m->cpu_pse = false;
				break;
			}
			size = memparse(v, &end);
			e820_range_remove(m, &m->e820, size, UINT64_MAX - size, MM_E820_RAM, true);
			m->e820_userdef = true;
			break;
		case EARLY_MEMMAP: /* parse_memmap_one() */
			if (!strcmp(v, "exactmap")) {
				m->e820.nr_entries = 0;
				m->e820_userdef = true;
				break;
			}
			size = memparse(v, &end);
			m->e820_userdef = true;
			if (*end == '\0') {
				e820_range_remove(m, &m->e820, size, UINT64_MAX - size, MM_E820_RAM,
						  true);
			} else if (strchr("@#$!", *end)) {
				uint64_t start = memparse(end + 1, &end);
				char c = m->cmdline.params[i].value[strcspn(v, "@#$!")];
				uint32_t type = c == '@'   ? MM_E820_RAM
						: c == '#' ? MM_E820_ACPI
						: c == '$' ? MM_E820_RESERVED
							   : MM_E820_PRAM;

				if (e820_range_add(&m->e820, start, size, type))
					return mm_set_error(err, -EINVAL, "too many e820 entries");
			} else { /* nn%ss-from+to */
				uint64_t start = memparse(end + 1, &end);
				uint32_t from = 0, to = 0;
				char *e;

				if (*end == '-') {
					from = (uint32_t)strtoul(end + 1, &e, 0);
					end = e;
				}
				if (*end == '+')
					to = (uint32_t)strtoul(end + 1, &e, 0);
				if (from && to)
					e820_range_update(m, &m->e820, start, size, from, to);
				else if (to)
					e820_range_add(&m->e820, start, size, to);
				else if (from)
					e820_range_remove(m, &m->e820, start, size, from, true);
				else
					e820_range_remove(m, &m->e820, start, size, 0, false);
			}
			break;
		case EARLY_HIGHMEM: /* parse_highmem() */
			m->highmem_pages = (long)(memparse(v, &end) >> PAGE_SHIFT);
			break;
		case EARLY_VMALLOC: /* parse_vmalloc() */
			size = memparse(v, &end) + (8u << 20);
			if (size > 0xfe000000ULL - PAGE_OFFSET - (64u << 20))
				return mm_set_error(
					err, -EINVAL,
					"vmalloc=%s leaves no room for lowmem (at most about "
					"800M on i386)",
					v);
			m->layout.vmalloc_reserve = (uint32_t)size;
			break;
		case EARLY_INIT_ON_ALLOC:
			m->init_on_alloc = v[0] == '1';
			break;
		case EARLY_INIT_ON_FREE:
			m->init_on_free = v[0] == '1';
			break;
		}
	}
	return 0;
}

/* e820__memory_setup() + parse_early_param() + e820__finish_early_params() + trim. */
static int setup_e820(struct mm_machine *m, struct mm_error *err)
{
	int ret;

	m->e820 = m->e820_firmware;
	ret = e820_update_table(&m->e820);
	if (ret == -ENOMEM)
		return mm_set_error(err, ret, "out of host memory sanitizing e820");
	printk(m, "BIOS-provided physical RAM map:\n");
	e820_print_table(m, &m->e820, "BIOS-e820");

	ret = apply_early_params(m, err);
	if (ret)
		return ret;
	if (m->e820_userdef) {
		if (e820_update_table(&m->e820) == -ENOMEM)
			return mm_set_error(err, -ENOMEM, "out of host memory sanitizing e820");
		printk(m, "user-defined physical RAM map:\n");
		e820_print_table(m, &m->e820, "user");
	}
	if (m->cpu_nx)
		printk(m, "NX (Execute Disable) protection: active\n");
	else if (!m->cfg.pae)
		printk(m, "Notice: NX (Execute Disable) protection cannot be enabled: non-PAE "
			  "kernel!\n");

	/* e820_add_kernel_range() */
	if (!e820_all_mapped(&m->e820, m->layout.text_start, m->layout.image_end, MM_E820_RAM)) {
		printk(m, ".text .data .bss are not marked as E820_TYPE_RAM!\n");
		e820_range_remove(m, &m->e820, m->layout.text_start,
				  m->layout.image_end - m->layout.text_start, MM_E820_RAM, false);
		e820_range_add(&m->e820, m->layout.text_start,
			       m->layout.image_end - m->layout.text_start, MM_E820_RAM);
	}
	/* trim_bios_range() */
	e820_range_update(m, &m->e820, 0, PAGE_SIZE, MM_E820_RAM, MM_E820_RESERVED);
	e820_range_remove(m, &m->e820, 0xa0000, 0x100000 - 0xa0000, MM_E820_RAM, true);
	if (e820_update_table(&m->e820) == -ENOMEM)
		return mm_set_error(err, -ENOMEM, "out of host memory sanitizing e820");
	return 0;
}

#define INIT_PGT_BUF_PAGES 6 /* early_alloc_pgt_buf(): INIT_PGT_BUF_SIZE */

static int memblock_alloc_named(struct mm_machine *m, uint64_t size, uint64_t align,
				const char *name, phys_addr_t *ret, struct mm_error *err)
{
	int r = memblock_alloc(&m->memblock, size, align, name, ret);

	if (r == -ENOSPC)
		return mm_set_error(
			err, -EINVAL,
			"the machine has too little lowmem for the boot allocation '%s' "
			"(%llu bytes): the kernel would panic; give more RAM",
			name, (unsigned long long)size);
	if (r)
		return mm_set_error(err, r, "out of host memory in memblock");
	return 0;
}

/*
 * QEMU's loader puts the initrd page-aligned at the top of low RAM, below the BIOS tables
 * (128 KiB) and below the kernel's initrd_addr_max (2 GiB).
 */
static int place_initrd(struct mm_machine *m, struct mm_error *err)
{
	uint64_t top = 0, max;
	unsigned int i;

	if (!m->cfg.initrd_size)
		return 0;
	for (i = 0; i < m->e820_firmware.nr_entries; i++) {
		const struct mm_e820_entry *e = &m->e820_firmware.entries[i];

		if (e->type == MM_E820_RAM && e->addr < 0x100000000ULL)
			top = MM_MAX(top, MM_MIN(e->addr + e->size, 0x100000000ULL));
	}
	max = MM_MIN(0x7fffffffULL, top - 1);
	if (m->cfg.initrd_size > max - m->layout.image_end)
		return mm_set_error(err, -EINVAL, "initrd of %llu bytes does not fit below %#llx",
				    (unsigned long long)m->cfg.initrd_size,
				    (unsigned long long)max);
	m->initrd_start = (max - m->cfg.initrd_size) & ~(uint64_t)(PAGE_SIZE - 1);
	m->initrd_end = m->initrd_start + m->cfg.initrd_size;
	return 0;
}

/* Mirrors: reserve_initrd() / relocate_initrd(): an initrd above lowmem moves down. */
static int reserve_initrd(struct mm_machine *m, struct mm_error *err)
{
	uint64_t start = m->initrd_start, size = m->cfg.initrd_size, end = PAGE_ALIGN(start + size);
	phys_addr_t pa;
	int ret;

	if (!size)
		return 0;
	printk(m, "RAMDISK: [mem %#010llx-%#010llx]\n", (unsigned long long)start,
	       (unsigned long long)end - 1);
	if (end <= PFN_PHYS(m->layout.max_pfn_mapped))
		return 0;
	ret = memblock_alloc_named(m, PAGE_ALIGN(size), PAGE_SIZE, "initrd", &pa, err);
	if (ret)
		return ret;
	printk(m, "Allocated new RAMDISK: [mem %#010llx-%#010llx]\n", (unsigned long long)pa,
	       (unsigned long long)(pa + size - 1));
	printk(m, "Move RAMDISK from [mem %#010llx-%#010llx] to [mem %#010llx-%#010llx]\n",
	       (unsigned long long)start, (unsigned long long)(start + size - 1),
	       (unsigned long long)pa, (unsigned long long)(pa + size - 1));
	memblock_phys_free(&m->memblock, start, end - start);
	m->initrd_start = pa;
	m->initrd_end = pa + size;
	return 0;
}

/* setup_arch() from early_reserve_memory() to reserve_real_mode(). */
static int setup_memblock(struct mm_machine *m, struct mm_error *err)
{
	struct mm_layout *l = &m->layout;
	struct memblock *mb = &m->memblock;
	unsigned int i;
	int ret = 0;

	/* early_reserve_memory() */
	ret |= memblock_reserve(mb, l->text_start, l->bss_end - l->text_start, "kernel image");
	if (m->cfg.initrd_size)
		ret |= memblock_reserve(mb, m->initrd_start,
					PAGE_ALIGN(m->initrd_end) - m->initrd_start, "initrd");
	ret |= memblock_reserve(mb, 0, 0x10000, "low 64K");
	ret |= memblock_reserve(mb, 0x9f000, 0x100000 - 0x9f000, "BIOS regions");
	/* early_alloc_pgt_buf() + reserve_brk(): head_32's tables, then the pgt_buf (the
	 * real image's DMI brk page before the pgt_buf is left out: the accounting of
	 * early allocations is tuned to the captured watermarks without it) */
	l->brk_end += INIT_PGT_BUF_PAGES * PAGE_SIZE;
	ret |= memblock_reserve(mb, l->brk_start, l->brk_end - l->brk_start, "brk");
	if (ret)
		return mm_set_error(err, -ENOMEM, "out of host memory in memblock");

	/* e820__memblock_setup(): resource_size_t is 32-bit without PAE */
	for (i = 0; i < m->e820.nr_entries; i++) {
		const struct mm_e820_entry *e = &m->e820.entries[i];
		uint64_t end = e->addr + e->size;

		if (!m->cfg.pae && end > 0xffffffffULL)
			continue;
		if (e->type == MM_E820_SOFT_RESERVED)
			ret |= memblock_reserve(mb, e->addr, e->size, "soft reserved");
		else if (e->type == MM_E820_RAM || e->type == MM_E820_RESERVED_KERN)
			ret |= memblock_add(mb, e->addr, e->size);
	}
	memblock_trim_memory(mb);
	if (ret)
		return mm_set_error(err, -ENOMEM, "out of host memory in memblock");
	printk(m, "initial memory mapped: [mem 0x00000000-%#010lx]\n",
	       (unsigned long)(PFN_PHYS(l->max_pfn_mapped) - 1));
	/* reserve_real_mode(): the trampoline, then the whole first MiB, always */
	ret = paging_reserve_real_mode(m, err);
	if (ret)
		return ret;
	if (memblock_reserve(mb, 0, SZ_1M, "real mode / first 1 MiB"))
		return mm_set_error(err, -ENOMEM, "out of host memory in memblock");
	return 0;
}

/* init_mem_mapping() ... reserve_initrd(): the direct map and the kernel's page tables. */
static int setup_final_page_tables(struct mm_machine *m, struct mm_error *err)
{
	struct mm_layout *l = &m->layout;
	int ret;

	m->memblock.current_limit = PFN_PHYS(l->max_low_pfn);
	ret = paging_init_mem_mapping(m, err);
	if (ret)
		return ret;
	l->max_pfn_mapped = l->max_low_pfn;
	return reserve_initrd(m, err);
}

/* ---- free_area_init --------------------------------------------------------------------- */

static uint32_t absent_pages_in_range(const struct memblock *mb, pfn_t start, pfn_t end)
{
	uint64_t present = memblock_memory_in(mb, PFN_PHYS(start), PFN_PHYS(end));

	return (end - start) - (uint32_t)(present >> PAGE_SHIFT);
}

static void init_unavailable_range(struct mm_machine *m, pfn_t spfn, pfn_t epfn, unsigned int zone)
{
	pfn_t pfn;
	uint64_t pgcnt = 0;

	for (pfn = spfn; pfn < epfn; pfn++) {
		struct page *p = pfn_to_page(m, pfn);

		if (pfn >= m->layout.max_pfn)
			continue; /* !pfn_valid() */
		init_single_page(p, zone);
		SetPageReserved(p);
		pgcnt++;
	}
	if (pgcnt)
		printk(m, "On node 0, zone %s: %llu pages in unavailable ranges",
		       mm_zone_name((int)zone), (unsigned long long)pgcnt);
}

static int free_area_init(struct mm_machine *m, struct mm_error *err)
{
	struct pglist_data *pgdat = &m->pgdat;
	struct mm_layout *l = &m->layout;
	struct memblock *mb = &m->memblock;
	pfn_t max_zone_pfn[MAX_NR_ZONES], lowest[MAX_NR_ZONES], highest[MAX_NR_ZONES];
	pfn_t start_pfn, node_start, node_end, hole_pfn = 0, mm_start, mm_end;
	unsigned int i, z, pb_order = pageblock_order(m);
	phys_addr_t pa;
	int ret;

	max_zone_pfn[ZONE_DMA] = MM_MIN(MAX_DMA_PFN, l->max_low_pfn);
	max_zone_pfn[ZONE_NORMAL] = l->max_low_pfn;
	max_zone_pfn[ZONE_HIGHMEM] = l->max_pfn;
	max_zone_pfn[ZONE_MOVABLE] = 0;
	start_pfn = PFN_DOWN(memblock_start_of_DRAM(mb));
	printk(m, "Zone ranges:\n");
	for (z = 0; z < MAX_NR_ZONES; z++) {
		pfn_t end = MM_MAX(max_zone_pfn[z], start_pfn);

		lowest[z] = start_pfn;
		highest[z] = end;
		start_pfn = end;
		if (z == ZONE_MOVABLE) {
			lowest[z] = highest[z] = 0;
			continue;
		}
		printk(m, "  %-8s ", mm_zone_name((int)z));
		if (lowest[z] == highest[z])
			pr_cont(m, "empty\n");
		else
			pr_cont(m, "[mem 0x%016llx-0x%016llx]\n",
				(unsigned long long)PFN_PHYS(lowest[z]),
				(unsigned long long)PFN_PHYS(highest[z]) - 1);
	}
	/* find_zone_movable_pfns_for_nodes(): the highest populated zone */
	pgdat->movable_zone = l->max_pfn > l->max_low_pfn ? ZONE_HIGHMEM : ZONE_NORMAL;
	printk(m, "Movable zone start for each node\n");
	printk(m, "Early memory node ranges\n");
	for (i = 0; i < mb->memory.cnt; i++)
		printk(m, "  node %3d: [mem 0x%016llx-0x%016llx]\n", 0,
		       (unsigned long long)mb->memory.regions[i].base,
		       (unsigned long long)(mb->memory.regions[i].base +
					    mb->memory.regions[i].size - 1));
	node_start = PFN_DOWN(memblock_start_of_DRAM(mb));
	node_end = PFN_DOWN(memblock_end_of_DRAM(mb));
	printk(m, "Initmem setup node 0 [mem 0x%016llx-0x%016llx]\n",
	       (unsigned long long)PFN_PHYS(node_start),
	       (unsigned long long)PFN_PHYS(node_end) - 1);

	pgdat->node_start_pfn = node_start;
	pgdat->node_spanned_pages = node_end - node_start;
	pgdat->node_present_pages = 0;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pgdat->node_zones[z];
		pfn_t zs = MM_MIN(MM_MAX(node_start, lowest[z]), highest[z]);
		pfn_t ze = MM_MIN(MM_MAX(node_end, lowest[z]), highest[z]);

		zone->idx = z;
		zone->zone_start_pfn = zs < ze ? zs : 0;
		zone->spanned_pages = zs < ze ? ze - zs : 0;
		zone->present_pages =
			zone->spanned_pages
				? zone->spanned_pages - absent_pages_in_range(mb, zs, ze)
				: 0;
		pgdat->node_present_pages += zone->present_pages;
	}

	/* alloc_node_mem_map(): FLATMEM, MAX_ORDER-aligned */
	mm_start = node_start & ~(MAX_ORDER_NR_PAGES - 1);
	mm_end = (node_end + MAX_ORDER_NR_PAGES - 1) & ~(MAX_ORDER_NR_PAGES - 1);
	ret = memblock_alloc_named(m, (uint64_t)(mm_end - mm_start) * 40, SMP_CACHE_BYTES,
				   "mem_map", &pa, err);
	if (ret)
		return ret;
	m->mem_map_pfns = mm_end;
	m->mem_map_bytes = (size_t)mm_end * sizeof(struct page);
	m->mem_map = host_map(m->mem_map_bytes);
	if (!m->mem_map)
		return mm_set_error(err, -ENOMEM, "out of host memory for mem_map");
	if (pgstate_cover(m, mm_end))
		return mm_set_error(err, -ENOMEM, "out of host memory for mem_map");

	/* free_area_init_core(): provisional managed counts, hash-table sizing inputs */
	pgdat->nr_kernel_pages = pgdat->nr_all_pages = 0;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pgdat->node_zones[z];
		uint64_t size = zone->spanned_pages, freesize = zone->present_pages;
		uint64_t memmap_pages = PAGE_ALIGN(size * 40) >> PAGE_SHIFT;

		if (!is_highmem_idx(pgdat, z) && freesize >= memmap_pages)
			freesize -= memmap_pages;
		if (!is_highmem_idx(pgdat, z))
			pgdat->nr_kernel_pages += freesize;
		else if (pgdat->nr_kernel_pages > memmap_pages * 2)
			pgdat->nr_kernel_pages -= memmap_pages;
		pgdat->nr_all_pages += freesize;
		zone->managed_pages = (uint32_t)freesize;
		for (i = 0; i < MAX_ORDER; i++) {
			unsigned int mt;

			for (mt = 0; mt < MIGRATE_TYPES; mt++)
				pfn_list_init(&zone->free_area[i].free_list[mt]);
		}
		for (i = 0; i < NR_CPUS; i++) {
			unsigned int k;

			for (k = 0; k < NR_PCP_LISTS; k++)
				pfn_list_init(&zone->pcp[i].lists[k]);
			zone->pcp[i].high = 0; /* the boot pageset */
			zone->pcp[i].batch = 1;
		}
		if (!zone->spanned_pages)
			continue;
		/* setup_usemap(): 4 bits per pageblock, rounded to an unsigned long */
		{
			uint64_t blocks = (zone->spanned_pages +
					   (zone->zone_start_pfn & ((1u << pb_order) - 1)) +
					   (1u << pb_order) - 1) >>
					  pb_order;
			uint64_t bytes = ((blocks * 4 + 31) / 32) * 4;

			zone->nr_pageblocks = (uint32_t)blocks;
			zone->pageblock_flags = host_calloc(blocks, 1);
			if (!zone->pageblock_flags)
				return mm_set_error(err, -ENOMEM,
						    "out of host memory for pageblock flags");
			ret = memblock_alloc_named(m, bytes, SMP_CACHE_BYTES, "pageblock flags",
						   &pa, err);
			if (ret)
				return ret;
		}
	}

	/* memmap_init(): per memblock range and zone; holes become reserved pages */
	for (i = 0; i < mb->memory.cnt; i++) {
		pfn_t rs = PFN_DOWN(mb->memory.regions[i].base);
		pfn_t re = PFN_DOWN(mb->memory.regions[i].base + mb->memory.regions[i].size);

		for (z = 0; z < MAX_NR_ZONES; z++) {
			struct zone *zone = &pgdat->node_zones[z];
			pfn_t s, e, pfn;

			if (!populated_zone(zone))
				continue;
			s = MM_MIN(MM_MAX(rs, zone->zone_start_pfn), (pfn_t)zone_end_pfn(zone));
			e = MM_MIN(MM_MAX(re, zone->zone_start_pfn), (pfn_t)zone_end_pfn(zone));
			if (s >= e)
				continue;
			for (pfn = s; pfn < e; pfn++) {
				init_single_page(pfn_to_page(m, pfn), z);
				if (!(pfn & ((1u << pb_order) - 1)))
					set_pageblock_migratetype(pgdat, zone, pfn, pb_order,
								  MIGRATE_MOVABLE);
			}
			if (hole_pfn < s)
				init_unavailable_range(m, hole_pfn, s, z);
			hole_pfn = e;
		}
	}
	return 0;
}

/* ---- start_kernel -------------------------------------------------------------------------- */

static int setup_per_cpu_areas(struct mm_machine *m, struct mm_error *err)
{
	const struct mm_kernel_image *img = &m->cfg.image;
	uint64_t unit = PAGE_ALIGN(img->percpu_unit);
	phys_addr_t pa;
	int ret;

	printk(m, "setup_percpu: NR_CPUS:%d nr_cpumask_bits:%u nr_cpu_ids:%u nr_node_ids:1\n",
	       NR_CPUS, m->cfg.cpus, m->cfg.cpus);
	ret = memblock_alloc_named(m, unit * m->cfg.cpus, PAGE_SIZE, "percpu first chunk", &pa,
				   err);
	if (ret)
		return ret;
	m->percpu_pages = (unit >> PAGE_SHIFT) * m->cfg.cpus;
	printk(m, "percpu: Embedded %llu pages/cpu s%u r0 d%llu u%llu\n",
	       (unsigned long long)(unit >> PAGE_SHIFT), img->percpu_static,
	       (unsigned long long)(unit - img->percpu_static), (unsigned long long)unit);
	if (img->early_misc)
		ret = memblock_alloc_named(m, img->early_misc, PAGE_SIZE, "early allocations", &pa,
					   err);
	return ret;
}

/* setup_log_buf(): more than 17 possible CPUs outgrow the static 128 KiB buffer. */
static int setup_log_buf(struct mm_machine *m, struct mm_error *err)
{
	uint64_t log_len = 1u << 17, cpu_extra = (uint64_t)(m->cfg.cpus - 1) << 12, len, descs;
	phys_addr_t pa;
	int ret;

	if (m->cfg.cpus == 1 || cpu_extra <= log_len / 2)
		return 0;
	len = roundup_pow_of_two(log_len + cpu_extra);
	descs = len >> 5;
	ret = memblock_alloc_named(m, len, 4, "log_buf", &pa, err);
	if (!ret)
		ret = memblock_alloc_named(m, descs * 12, 4, "log_buf descs", &pa, err);
	if (!ret)
		ret = memblock_alloc_named(m, descs * 88, 4, "log_buf infos", &pa, err);
	if (!ret)
		printk(m, "log_buf_len: %llu bytes\n", (unsigned long long)len);
	return ret;
}

/* alloc_large_system_hash() with HASH_EARLY | HASH_ZERO. */
static int alloc_large_system_hash(struct mm_machine *m, const char *name, unsigned int bucketsize,
				   unsigned int scale, struct mm_error *err)
{
	const struct pglist_data *pgdat = &m->pgdat;
	uint64_t numentries = pgdat->nr_kernel_pages, max, size;
	unsigned int log2qty;
	phys_addr_t pa;
	int ret;

	numentries = (numentries + 255) & ~255ULL; /* round_up to 1 MiB of pages */
	if (scale > PAGE_SHIFT)
		numentries >>= (scale - PAGE_SHIFT);
	else
		numentries <<= (PAGE_SHIFT - scale);
	if (numentries * bucketsize < PAGE_SIZE)
		numentries = PAGE_SIZE / bucketsize;
	numentries = roundup_pow_of_two(numentries);
	max = ((pgdat->nr_all_pages << PAGE_SHIFT) >> 4) / bucketsize;
	max = MM_MIN(max, 0x80000000ULL);
	if (numentries > max)
		numentries = max;
	log2qty = ilog2_u64(numentries);
	size = (uint64_t)bucketsize << log2qty;
	ret = memblock_alloc_named(m, size, SMP_CACHE_BYTES, name, &pa, err);
	if (ret)
		return ret;
	printk(m, "%s hash table entries: %llu (order: %d, %llu bytes, linear)\n", name,
	       1ULL << log2qty, (int)ilog2_u64(size) - PAGE_SHIFT, (unsigned long long)size);
	return 0;
}

static int swiotlb_init(struct mm_machine *m, struct mm_error *err)
{
	uint64_t bytes = 64u << 20, nslabs = bytes >> 11;
	phys_addr_t pa, slots;
	int ret;

	/* pci_swiotlb_detect(): bounce buffers when RAM reaches above 4 GiB */
	if (!m->cfg.pae || m->layout.max_pfn <= (1u << 20))
		return 0;
	ret = memblock_alloc_named(m, bytes, PAGE_SIZE, "swiotlb", &pa, err);
	if (!ret)
		ret = memblock_alloc_named(m, nslabs * 16, SMP_CACHE_BYTES, "swiotlb slots", &slots,
					   err);
	if (ret)
		return ret;
	m->swiotlb_base = pa;
	m->swiotlb_bytes = bytes;
	return 0;
}

static void free_reserved_area(struct mm_machine *m, uint64_t start, uint64_t end, int poison,
			       const char *what)
{
	pfn_t pfn, s = PFN_UP(start), e = PFN_DOWN(end);

	for (pfn = s; pfn < e; pfn++) {
		if ((unsigned int)poison <= 0xff) {
			memset(m->ram + PFN_PHYS(pfn), poison, PAGE_SIZE);
			if (poison)
				m->pgstate[pfn] |= PGS_RAM_DIRTY;
		}
		free_reserved_page(m, pfn, 0);
	}
	if (e > s && what)
		printk(m, "Freeing %s memory: %luK\n", what, (unsigned long)(e - s) << 2);
}

/* mem_init(): highmem page by page, then lowmem from memblock in max-order chunks. */
static void mem_init(struct mm_machine *m)
{
	struct pglist_data *pgdat = &m->pgdat;
	struct mm_layout *l = &m->layout;
	const struct mm_kernel_image *img = &m->cfg.image;
	uint64_t idx, count = 0, physpages = 0;
	phys_addr_t start, end;
	unsigned int z;
	pfn_t pfn;

	/* set_highmem_pages_init() */
	for (z = 0; z < MAX_NR_ZONES; z++)
		pgdat->node_zones[z].managed_pages = 0;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		struct zone *zone = &pgdat->node_zones[z];
		pfn_t zs = zone->zone_start_pfn, ze = (pfn_t)zone_end_pfn(zone);

		if (!is_highmem_idx(pgdat, z))
			continue;
		printk(m, "Initializing %s for node 0 (%08lx:%08lx)\n", mm_zone_name((int)z),
		       (unsigned long)zs, (unsigned long)ze);
		idx = 0;
		while (memblock_next_free_range(&m->memblock, &idx, &start, &end)) {
			pfn_t s = MM_MIN(MM_MAX(PFN_UP(start), zs), ze);
			pfn_t e = MM_MIN(MM_MAX(PFN_DOWN(end), zs), ze);

			for (pfn = s; pfn < e; pfn++)
				if (pfn < l->max_pfn)
					free_reserved_page(m, pfn, 0);
		}
	}

	/* memblock_free_all(): mark reserved, then free the rest of lowmem */
	for (idx = 0; idx < m->memblock.reserved.cnt; idx++) {
		const struct memblock_region *r = &m->memblock.reserved.regions[idx];
		pfn_t s = PFN_DOWN(r->base), e = PFN_UP(r->base + r->size);

		for (pfn = s; pfn < e && pfn < m->mem_map_pfns; pfn++)
			if (pfn < l->max_pfn)
				SetPageReserved(pfn_to_page(m, pfn));
	}
	idx = 0;
	while (memblock_next_free_range(&m->memblock, &idx, &start, &end)) {
		pfn_t s = PFN_UP(start), e = MM_MIN(PFN_DOWN(end), l->max_low_pfn);

		if (s >= e)
			continue;
		count += e - s;
		while (s < e) {
			unsigned int order = MM_MIN(MAX_ORDER - 1u, ffs_u32(s));

			while (s + (1u << order) > e)
				order--;
			free_pages_core(m, s, order);
			s += 1u << order;
		}
	}
	pgdat->totalram_pages += count;
	/* lowmem pages the loop above did not hand over stay reserved */
	for (pfn = 0; pfn < l->max_low_pfn; pfn++) {
		struct page *p = pfn_to_page(m, pfn);

		if (p->_refcount && !PageBuddy(p) && !PageReserved(p))
			SetPageReserved(p);
	}

	printk(m, "Checking if this processor honours the WP bit even in supervisor mode...Ok.\n");
	for (z = 0; z < MAX_NR_ZONES; z++)
		physpages += pgdat->node_zones[z].present_pages;
	{
		uint64_t nr_free = 0;

		for (z = 0; z < MAX_NR_ZONES; z++)
			nr_free += (uint64_t)pgdat->node_zones[z].vm_stat[NR_FREE_PAGES];
		printk(m,
		       "Memory: %lluK/%lluK available (%uK kernel code, %uK rwdata, %uK rodata, "
		       "%uK init, %uK bss, %lluK reserved, 0K cma-reserved, %lluK highmem)\n",
		       (unsigned long long)nr_free << 2, (unsigned long long)physpages << 2,
		       img->text >> 10, img->rwdata >> 10, img->rodata >> 10, img->init >> 10,
		       img->bss >> 10, (unsigned long long)(physpages - pgdat->totalram_pages) << 2,
		       (unsigned long long)pgdat->totalhigh_pages << 2);
	}
}

/* Mirrors: e820__reserve_resources_late(): the slack after each RAM range is claimed. */
static void e820_reserve_resources_late(struct mm_machine *m)
{
	unsigned int i;

	for (i = 0; i < m->e820.nr_entries; i++) {
		const struct mm_e820_entry *e = &m->e820.entries[i];
		uint64_t start = e->addr + e->size, mb = start >> 20, align, end;

		if (e->type != MM_E820_RAM)
			continue;
		align = mb == 0 ? 64u << 10 : mb < 16 ? 1u << 20 : 64u << 20;
		end = ((start + align - 1) & ~(align - 1)) - 1;
		if (!m->cfg.pae && end > 0xffffffffULL)
			continue; /* MAX_RESOURCE_SIZE */
		if (start >= end)
			continue;
		printk(m, "e820: reserve RAM buffer [mem %#010llx-%#010llx]\n",
		       (unsigned long long)start, (unsigned long long)end);
	}
}

/* ---- the boot, phase by phase -------------------------------------------------------- */

/* The PC before the kernel runs: the firmware's e820 map and the RAM behind it. */
static int firmware_init(struct mm_machine *m, struct mm_error *err)
{
	const struct mm_config *cfg = &m->cfg;
	uint64_t ram_end = 0;
	unsigned int i;

	if (cfg->nr_e820) {
		m->e820_firmware.nr_entries = cfg->nr_e820;
		memcpy(m->e820_firmware.entries, cfg->e820, cfg->nr_e820 * sizeof(cfg->e820[0]));
	} else {
		e820_build_qemu(&m->e820_firmware, cfg->mem & ~(uint64_t)(PAGE_SIZE - 1));
	}
	for (i = 0; i < m->e820_firmware.nr_entries; i++) {
		const struct mm_e820_entry *e = &m->e820_firmware.entries[i];

		if (e->type == MM_E820_RAM)
			ram_end = MM_MAX(ram_end, e->addr + e->size);
	}
	ram_end = MM_MIN(ram_end, PFN_PHYS(m->geo.max_arch_pfn));
	if (ram_end < m->layout.image_end + (1u << 20))
		return mm_set_error(err, -EINVAL,
				    "the firmware map has RAM up to %#llx only; the kernel image "
				    "and its early page tables need up to %#llx",
				    (unsigned long long)ram_end,
				    (unsigned long long)m->layout.image_end + (1u << 20));
	if (physmem_init(m, ram_end) || pgstate_cover(m, (pfn_t)(m->ram_size >> PAGE_SHIFT)))
		return mm_set_error(err, -ENOMEM, "out of host address space for %llu bytes of RAM",
				    (unsigned long long)ram_end);
	return 0;
}

/* head_32.S: the provisional page tables; paging still off. */
static int boot_early_page_tables(struct mm_machine *m, struct mm_error *err)
{
	int ret;

	printk(m, "Linux version 6.1.0-mm32-%s (mm32 %s emulated) #1 SMP PREEMPT_DYNAMIC\n",
	       m->cfg.pae ? "686-pae" : "686", "0.1.0");
	layout_place_kernel(m);
	ret = firmware_init(m, err);
	if (ret)
		return ret;
	paging_place_tables(m);
	mk_early_pgtbl_32(m);
	return 0;
}

static int boot_paging_enabled(struct mm_machine *m, struct mm_error *err)
{
	(void)err;
	paging_enable(m);
	return 0;
}

/* setup_arch() up to memblock: swapper_pg_dir, e820, early parameters, reservations. */
static int boot_memblock(struct mm_machine *m, struct mm_error *err)
{
	struct mm_layout *l = &m->layout;
	int ret;

	paging_switch_to_swapper(m);
	paging_early_ioremap_init(m);
	ret = setup_e820(m, err);
	if (ret)
		return ret;
	layout_compute_constants(m);
	l->max_pfn = e820_end_pfn(&m->e820, (pfn_t)m->geo.max_arch_pfn, MM_E820_RAM);
	if (l->max_pfn > m->geo.max_arch_pfn)
		l->max_pfn = (pfn_t)m->geo.max_arch_pfn;
	printk(m, "last_pfn = %#lx max_arch_pfn = %#llx\n", (unsigned long)l->max_pfn,
	       (unsigned long long)m->geo.max_arch_pfn);
	if (!l->max_pfn)
		return mm_set_error(err, -EINVAL, "the e820 map has no usable RAM");
	ret = layout_find_low_pfn_range(m, err);
	if (ret)
		return ret;
	ret = place_initrd(m, err);
	if (ret)
		return ret;
	if (physmem_grow(m, PFN_PHYS(l->max_pfn)) ||
	    pgstate_cover(m, (pfn_t)(m->ram_size >> PAGE_SHIFT)))
		return mm_set_error(err, -ENOMEM, "out of host address space for %llu bytes of RAM",
				    (unsigned long long)PFN_PHYS(l->max_pfn));
	return setup_memblock(m, err);
}

static int boot_final_page_tables(struct mm_machine *m, struct mm_error *err)
{
	int ret = setup_final_page_tables(m, err);

	if (ret)
		return ret;
	layout_set_high_memory(m);
	paging_map_apic(m); /* end of setup_arch() */
	return 0;
}

/* Zones, mem_map and the buddy allocator, the other CPUs, the initcalls: a running kernel. */
static int boot_buddy(struct mm_machine *m, struct mm_error *err)
{
	struct pglist_data *pgdat = &m->pgdat;
	struct mm_layout *l = &m->layout;
	unsigned int z;
	uint64_t total;
	int ret;

	ret = free_area_init(m, err);
	if (ret)
		return ret;
	printk(m, "smpboot: Allowing %u CPUs, 0 hotplug CPUs\n", m->cfg.cpus);
	ret = setup_per_cpu_areas(m, err);
	if (!ret)
		ret = setup_log_buf(m, err);
	if (ret)
		return ret;

	/* build_all_zonelists(): provisional managed counts, watermarks still zero */
	total = nr_free_zone_pages(pgdat, ZONE_MOVABLE);
	pgdat->page_group_by_mobility_disabled =
		total < (uint64_t)pageblock_nr_pages(m) * MIGRATE_TYPES;
	printk(m, "Built 1 zonelists, mobility grouping %s.  Total pages: %llu\n",
	       pgdat->page_group_by_mobility_disabled ? "off" : "on", (unsigned long long)total);
	printk(m, "Kernel command line: %s\n", m->cfg.cmdline);
	ret = alloc_large_system_hash(m, "Dentry cache", 4, 13, err);
	if (!ret)
		ret = alloc_large_system_hash(m, "Inode-cache", 4, 14, err);
	if (ret)
		return ret;
	/* trap_init() -> setup_cpu_entry_areas() */
	ret = paging_setup_cpu_entry_areas(m, err);
	if (ret)
		return ret;
	/* init/main.c mm_init() -> report_meminit() */
	printk(m, "mem auto-init: stack:all(zero), heap alloc:%s, heap free:%s\n",
	       m->init_on_alloc ? "on" : "off", m->init_on_free ? "on" : "off");
	if (m->init_on_free)
		printk(m, "mem auto-init: clearing system memory may take some time...\n");
	ret = swiotlb_init(m, err);
	if (ret)
		return ret;
	mem_init(m);
	if (m->swiotlb_bytes)
		printk(m, "software IO TLB: mapped [mem 0x%016llx-0x%016llx] (%lluMB)\n",
		       (unsigned long long)m->swiotlb_base,
		       (unsigned long long)(m->swiotlb_base + m->swiotlb_bytes),
		       (unsigned long long)(m->swiotlb_bytes >> 20));

	/* init_IRQ(): the IDT page read-only (before the pcp lists get their sizes, so the
	 * page splitting a large page comes through the boot pageset) */
	ret = paging_protect_idt(m, err);
	if (ret)
		return ret;
	/* setup_per_cpu_pageset(): real pcp sizes (watermarks are still zero) */
	for (z = 0; z < MAX_NR_ZONES; z++)
		zone_pcp_update(pgdat, &pgdat->node_zones[z]);
	/* check_bugs() -> alternative_instructions() */
	free_reserved_area(m, l->init_end, l->init_end + m->cfg.image.smp_locks, 0xcc,
			   "SMP alternatives");
	/* do_pre_smp_initcalls(): early_initcall set_real_mode_permissions() */
	ret = paging_set_real_mode_permissions(m, err);
	if (ret)
		return ret;
	/* smp_init(): the other CPUs come up on swapper_pg_dir */
	paging_bring_up_cpus(m);
	/* initcalls */
	init_per_zone_wmark_min(m);
	hugepage_init(m);
	e820_reserve_resources_late(m);
	/* rootfs_initcall populate_rootfs() -> free_initrd_mem() */
	if (m->cfg.initrd_size)
		free_reserved_area(m, m->initrd_start, PAGE_ALIGN(m->initrd_end), -1, "initrd");
	/* kernel_init(): free_initmem(), mark_rodata_ro() */
	free_reserved_area(m, l->init_start, l->init_end, 0xcc, "unused kernel image (initmem)");
	ret = paging_mark_rodata_ro(m, err);
	if (ret)
		return ret;
	printk(m, "Write protecting kernel text and read-only data: %luk\n",
	       (unsigned long)((PAGE_ALIGN(l->rodata_end) - l->text_start) >> 10));
	if (m->cpu_nx) {
		uint64_t hpage = 1u << m->geo.pmd_shift;

		printk(m, "NX-protecting the kernel data: %luk\n",
		       (unsigned long)((((l->init_end + hpage) & ~(hpage - 1)) -
					PAGE_ALIGN(l->text_end)) >>
				       10));
	}
	return 0;
}

static int (*const boot_phases[MM_NR_BOOT_PHASES])(struct mm_machine *, struct mm_error *) = {
	boot_early_page_tables, boot_paging_enabled, boot_memblock,
	boot_final_page_tables, boot_buddy,
};

static const char *const phase_names[MM_NR_BOOT_PHASES] = {
	"early_page_tables", "paging_enabled", "memblock", "final_page_tables", "buddy",
};

const char *mm_boot_phase_name(int phase)
{
	return phase >= 0 && phase < MM_NR_BOOT_PHASES ? phase_names[phase] : "none";
}

int mm_boot_phase_parse(const char *name)
{
	int i;

	for (i = 0; i < MM_NR_BOOT_PHASES; i++)
		if (!strcmp(name, phase_names[i]))
			return i;
	return -1;
}

int mm_machine_phase(const struct mm_machine *m)
{
	return m->phase;
}

bool mm_machine_tainted(const struct mm_machine *m)
{
	return m->tainted;
}

int mm_need_phase(const struct mm_machine *m, int phase, const char *what, struct mm_error *err)
{
	if (m->tainted)
		return mm_set_error(err, -EFAULT, "the machine is tainted: %s", m->diag);
	if (m->phase >= phase)
		return 0;
	return mm_set_error(err, -EAGAIN,
			    "%s does not exist yet: the machine stopped after boot phase '%s'; "
			    "it needs '%s' (boot_continue)",
			    what, mm_boot_phase_name(m->phase), mm_boot_phase_name(phase));
}

static int boot_to(struct mm_machine *m, int until, struct mm_error *err)
{
	while (m->phase < until) {
		int r = boot_phases[m->phase + 1](m, err);

		if (r)
			return r;
		m->phase++;
	}
	return 0;
}

int mm_boot_continue(struct mm_machine *m, int until, struct mm_error *err)
{
	int r;

	if (m->tainted)
		return mm_set_error(err, -EFAULT, "the machine is tainted: %s", m->diag);
	if (until < 0)
		until = m->phase + 1;
	if (until >= MM_NR_BOOT_PHASES || m->phase >= MM_NR_BOOT_PHASES - 1)
		return mm_set_error(err, -EINVAL, "the machine has finished booting (phase '%s')",
				    mm_boot_phase_name(m->phase));
	if (until <= m->phase)
		return mm_set_error(err, -EINVAL,
				    "phase '%s' is already done (the machine is after '%s')",
				    mm_boot_phase_name(until), mm_boot_phase_name(m->phase));
	r = boot_to(m, until, err);
	if (r) { /* cannot happen: mm_machine_create() booted this configuration through */
		m->tainted = true;
		snprintf(m->diag, sizeof(m->diag), "boot failed in phase '%s': %.180s",
			 mm_boot_phase_name(m->phase + 1), err ? err->msg : "");
		return mm_set_error(err, -EFAULT, "%s", m->diag);
	}
	return 0;
}

int mm_machine_create(const struct mm_config *cfg, struct mm_machine **ret, struct mm_error *err)
{
	struct mm_machine *m;
	unsigned int i;
	int r;

	r = validate_config(cfg, err);
	if (r)
		return r;
	/* a machine that stops early must be able to finish: boot a scratch copy through
	 * (the boot is deterministic), so boot_continue cannot meet a bad configuration */
	if (cfg->stop_after < MM_PHASE_BUDDY) {
		struct mm_config *full = host_calloc(1, sizeof(*full));

		if (!full)
			return mm_set_error(err, -ENOMEM, "out of host memory for the machine");
		*full = *cfg;
		full->stop_after = MM_PHASE_BUDDY;
		r = mm_machine_create(full, &m, err);
		host_free(full);
		if (r)
			return r;
		mm_machine_destroy(m);
	}
	m = host_calloc(1, sizeof(*m));
	if (!m)
		return mm_set_error(err, -ENOMEM, "out of host memory for the machine");
	m->cfg = *cfg;
	r = cmdline_parse(cfg->cmdline, &m->cmdline, err);
	if (r)
		goto out_free;
	if (cfg->pae)
		m->geo = (struct paging_geometry){21, 9, 512, 1ULL << 24, 512};
	else
		m->geo = (struct paging_geometry){22, 10, 1024, 1ULL << 20, 1024};
	m->cpu_pse = true; /* -cpu qemu32,+pse36,+nx */
	m->cpu_pge = true;
	m->cpu_nx = cfg->pae;
	m->init_on_alloc = true; /* Debian: CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y */
	m->pgdat.nr_cpus = cfg->cpus;
	pgdat_init_tunables(&m->pgdat);
	r = memblock_init(&m->memblock);
	if (r) {
		mm_set_error(err, r, "out of host memory");
		goto out_free;
	}
	for (i = 0; i < cfg->cpus; i++) {
		r = tlb_init(&m->cpus[i].tlb, cfg->tlb_entries);
		if (r) {
			mm_set_error(err, r, "out of host memory for the TLBs");
			goto out_free;
		}
	}
	m->phase = -1;
	r = boot_to(m, cfg->stop_after, err);
	if (r)
		goto out_free;
	*ret = m;
	return 0;
out_free:
	mm_machine_destroy(m);
	return r;
}

void mm_machine_destroy(struct mm_machine *m)
{
	unsigned int z;

	if (!m)
		return;
	for (z = 0; z < MAX_NR_ZONES; z++)
		host_free(m->pgdat.node_zones[z].pageblock_flags);
	for (z = 0; z < NR_CPUS; z++)
		tlb_finish(&m->cpus[z].tlb);
	host_unmap(m->mem_map, m->mem_map_bytes);
	host_free(m->pgstate);
	physmem_finish(m);
	memblock_finish(&m->memblock);
	printk_finish(&m->log);
	host_free(m);
}

/* ---- read-only views (mmcore.h) ---------------------------------------------------------- */

const char *mm_zone_name(int zone)
{
	static const char *const names[MAX_NR_ZONES] = {"DMA", "Normal", "HighMem", "Movable"};

	return zone >= 0 && zone < MAX_NR_ZONES ? names[zone] : "?";
}

const char *mm_migratetype_name(int mt)
{
	static const char *const names[MIGRATE_TYPES] = {"Unmovable", "Movable", "Reclaimable",
							 "HighAtomic", "Isolate"};

	return mt >= 0 && mt < MIGRATE_TYPES ? names[mt] : "?";
}

void mm_get_layout(const struct mm_machine *m, struct mm_layout *out)
{
	*out = m->layout;
}

int mm_get_zone(const struct mm_machine *m, int zone, struct mm_zone_info *out)
{
	const struct zone *z;
	unsigned int i, mt;
	if (m->phase < MM_PHASE_BUDDY)
		return -EAGAIN; /* zones are made in the buddy phase */

	if (zone < 0 || zone >= MAX_NR_ZONES)
		return -ENOENT;
	z = &m->pgdat.node_zones[zone];
	memset(out, 0, sizeof(*out));
	out->name = mm_zone_name(zone);
	out->populated = populated_zone(z);
	out->zone_start_pfn = z->zone_start_pfn;
	out->spanned = z->spanned_pages;
	out->present = z->present_pages;
	out->managed = z->managed_pages;
	out->free = (uint64_t)z->vm_stat[NR_FREE_PAGES];
	out->wmark_min = (uint32_t)min_wmark_pages(z);
	out->wmark_low = (uint32_t)low_wmark_pages(z);
	out->wmark_high = (uint32_t)high_wmark_pages(z);
	out->wmark_promo = (uint32_t)(z->_watermark[WMARK_PROMO] + z->watermark_boost);
	out->watermark_boost = (uint32_t)z->watermark_boost;
	for (i = 0; i < MAX_NR_ZONES; i++)
		out->lowmem_reserve[i] = z->lowmem_reserve[i];
	for (i = 0; i < MAX_ORDER; i++) {
		out->nr_free[i] = z->free_area[i].nr_free;
		for (mt = 0; mt < MIGRATE_TYPES; mt++)
			out->nr_free_mt[i][mt] = z->free_area[i].nr_free_mt[mt];
	}
	out->nr_reserved_highatomic = (uint32_t)z->nr_reserved_highatomic;
	out->stat_threshold = z->stat_threshold;
	out->nr_cpus = m->pgdat.nr_cpus;
	for (i = 0; i < m->pgdat.nr_cpus; i++) {
		out->pcp[i].count = z->pcp[i].count;
		out->pcp[i].high = z->pcp[i].high;
		out->pcp[i].batch = z->pcp[i].batch;
	}
	return 0;
}

void mm_get_totals(const struct mm_machine *m, struct mm_totals *out)
{
	const struct pglist_data *pgdat = &m->pgdat;
	unsigned int z;

	memset(out, 0, sizeof(*out));
	out->totalram_pages = pgdat->totalram_pages;
	out->totalhigh_pages = pgdat->totalhigh_pages;
	out->totalreserve_pages = pgdat->totalreserve_pages;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		out->nr_free_pages += (uint64_t)pgdat->node_zones[z].vm_stat[NR_FREE_PAGES];
		out->present_pages += pgdat->node_zones[z].present_pages;
		out->lowmem_reserve_ratio[z] = pgdat->sysctl_lowmem_reserve_ratio[z];
	}
	out->min_free_kbytes = pgdat->min_free_kbytes;
	out->user_min_free_kbytes = pgdat->user_min_free_kbytes;
	out->watermark_scale_factor = pgdat->watermark_scale_factor;
	out->watermark_boost_factor = pgdat->watermark_boost_factor;
	out->percpu_pagelist_high_fraction = pgdat->percpu_pagelist_high_fraction;
	out->mobility_grouping = !pgdat->page_group_by_mobility_disabled;
	out->movable_zone = pgdat->movable_zone;
}

unsigned int mm_e820_count(const struct mm_machine *m)
{
	return m->e820.nr_entries;
}

int mm_e820_get(const struct mm_machine *m, unsigned int i, struct mm_e820_entry *out)
{
	if (i >= m->e820.nr_entries)
		return -ENOENT;
	*out = m->e820.entries[i];
	return 0;
}

unsigned int mm_e820_firmware_count(const struct mm_machine *m)
{
	return m->e820_firmware.nr_entries;
}

int mm_e820_firmware_get(const struct mm_machine *m, unsigned int i, struct mm_e820_entry *out)
{
	if (i >= m->e820_firmware.nr_entries)
		return -ENOENT;
	*out = m->e820_firmware.entries[i];
	return 0;
}

unsigned int mm_memblock_count(const struct mm_machine *m, int type)
{
	return type ? m->memblock.reserved.cnt : m->memblock.memory.cnt;
}

int mm_memblock_get(const struct mm_machine *m, int type, unsigned int i,
		    struct mm_memblock_region *out)
{
	const struct memblock_type *t = type ? &m->memblock.reserved : &m->memblock.memory;

	if (i >= t->cnt)
		return -ENOENT;
	out->base = t->regions[i].base;
	out->size = t->regions[i].size;
	out->name = t->regions[i].name[0] ? t->regions[i].name : "memory";
	return 0;
}
