/* SPDX-License-Identifier: MIT */
/*
 * procfs.c - /proc/zoneinfo, buddyinfo, pagetypeinfo, meminfo and vmstat, byte for byte in
 * the formats of Linux 6.1 on i386.
 *
 * Mirrors: mm/vmstat.c (zoneinfo_show_print, frag_show_print, pagetypeinfo_show,
 * vmstat_text), fs/proc/meminfo.c (meminfo_proc_show), mm/page_alloc.c (si_mem_available),
 * mm/page-writeback.c (global_dirty_limits for nr_dirty_threshold),
 * arch/x86/mm/pat/set_memory.c (arch_report_meminfo). Counters mm32 does not model yet
 * (file pages, slab, anon) print as the kernel prints a zero.
 */
#include <string.h>

#include "buf.h"
#include "machine.h"

static const char *const zone_stat_names[NR_VM_ZONE_STAT_ITEMS] = {
	"nr_free_pages",
	"nr_zone_inactive_anon",
	"nr_zone_active_anon",
	"nr_zone_inactive_file",
	"nr_zone_active_file",
	"nr_zone_unevictable",
	"nr_zone_write_pending",
	"nr_mlock",
	"nr_bounce",
	"nr_zspages",
	"nr_free_cma",
};

static const char *const node_stat_names[NR_VM_NODE_STAT_ITEMS] = {
	"nr_inactive_anon",
	"nr_active_anon",
	"nr_inactive_file",
	"nr_active_file",
	"nr_unevictable",
	"nr_slab_reclaimable",
	"nr_slab_unreclaimable",
	"nr_isolated_anon",
	"nr_isolated_file",
	"workingset_nodes",
	"workingset_refault_anon",
	"workingset_refault_file",
	"workingset_activate_anon",
	"workingset_activate_file",
	"workingset_restore_anon",
	"workingset_restore_file",
	"workingset_nodereclaim",
	"nr_anon_pages",
	"nr_mapped",
	"nr_file_pages",
	"nr_dirty",
	"nr_writeback",
	"nr_writeback_temp",
	"nr_shmem",
	"nr_shmem_hugepages",
	"nr_shmem_pmdmapped",
	"nr_file_hugepages",
	"nr_file_pmdmapped",
	"nr_anon_transparent_hugepages",
	"nr_vmscan_write",
	"nr_vmscan_immediate_reclaim",
	"nr_dirtied",
	"nr_written",
	"nr_throttled_written",
	"nr_kernel_misc_reclaimable",
	"nr_foll_pin_acquired",
	"nr_foll_pin_released",
	"nr_kernel_stack",
	"nr_page_table_pages",
	"nr_sec_page_table_pages",
	"nr_swapcached",
};

/* The event counters of /proc/vmstat after the dirty thresholds, in the file's order. */
static const char *const vm_event_names[] = {
	"pgpgin",
	"pgpgout",
	"pswpin",
	"pswpout",
	"pgalloc_dma",
	"pgalloc_normal",
	"pgalloc_high",
	"pgalloc_movable",
	"allocstall_dma",
	"allocstall_normal",
	"allocstall_high",
	"allocstall_movable",
	"pgskip_dma",
	"pgskip_normal",
	"pgskip_high",
	"pgskip_movable",
	"pgfree",
	"pgactivate",
	"pgdeactivate",
	"pglazyfree",
	"pgfault",
	"pgmajfault",
	"pglazyfreed",
	"pgrefill",
	"pgreuse",
	"pgsteal_kswapd",
	"pgsteal_direct",
	"pgdemote_kswapd",
	"pgdemote_direct",
	"pgscan_kswapd",
	"pgscan_direct",
	"pgscan_direct_throttle",
	"pgscan_anon",
	"pgscan_file",
	"pgsteal_anon",
	"pgsteal_file",
	"pginodesteal",
	"slabs_scanned",
	"kswapd_inodesteal",
	"kswapd_low_wmark_hit_quickly",
	"kswapd_high_wmark_hit_quickly",
	"pageoutrun",
	"pgrotated",
	"drop_pagecache",
	"drop_slab",
	"oom_kill",
	"pgmigrate_success",
	"pgmigrate_fail",
	"thp_migration_success",
	"thp_migration_fail",
	"thp_migration_split",
	"compact_migrate_scanned",
	"compact_free_scanned",
	"compact_isolated",
	"compact_stall",
	"compact_fail",
	"compact_success",
	"compact_daemon_wake",
	"compact_daemon_migrate_scanned",
	"compact_daemon_free_scanned",
	"htlb_buddy_alloc_success",
	"htlb_buddy_alloc_fail",
	"unevictable_pgs_culled",
	"unevictable_pgs_scanned",
	"unevictable_pgs_rescued",
	"unevictable_pgs_mlocked",
	"unevictable_pgs_munlocked",
	"unevictable_pgs_cleared",
	"unevictable_pgs_stranded",
	"thp_fault_alloc",
	"thp_fault_fallback",
	"thp_fault_fallback_charge",
	"thp_collapse_alloc",
	"thp_collapse_alloc_failed",
	"thp_file_alloc",
	"thp_file_fallback",
	"thp_file_fallback_charge",
	"thp_file_mapped",
	"thp_split_page",
	"thp_split_page_failed",
	"thp_deferred_split_page",
	"thp_split_pmd",
	"thp_scan_exceed_none_pte",
	"thp_scan_exceed_swap_pte",
	"thp_scan_exceed_share_pte",
	"thp_zero_page_alloc",
	"thp_zero_page_alloc_failed",
	"thp_swpout",
	"thp_swpout_fallback",
	"balloon_inflate",
	"balloon_deflate",
	"balloon_migrate",
	"swap_ra",
	"swap_ra_hit",
	"ksm_swpin_copy",
	"cow_ksm",
	"zswpin",
	"zswpout",
	"direct_map_level2_splits",
	"direct_map_level3_splits",
};

static uint64_t vm_event(const struct mm_machine *m, const char *name)
{
	unsigned int z;

	if (!strcmp(name, "pgfree"))
		return m->pgfree;
	for (z = 0; z < MAX_NR_ZONES; z++) {
		static const char *const alloc[MAX_NR_ZONES] = {"pgalloc_dma", "pgalloc_normal",
								"pgalloc_high", "pgalloc_movable"};
		static const char *const stall[MAX_NR_ZONES] = {
			"allocstall_dma", "allocstall_normal", "allocstall_high",
			"allocstall_movable"};
		if (!strcmp(name, alloc[z]))
			return m->pgalloc[z];
		if (!strcmp(name, stall[z]))
			return m->allocstall[z];
	}
	return 0;
}

static long global_zone_page_state(const struct mm_machine *m, enum zone_stat_item item)
{
	long sum = 0;
	unsigned int z;

	for (z = 0; z < MAX_NR_ZONES; z++)
		sum += m->pgdat.node_zones[z].vm_stat[item];
	return sum;
}

static void zoneinfo_show_zone(const struct mm_machine *m, struct mm_buf *b, unsigned int idx,
			       bool *printed_node_stats)
{
	const struct pglist_data *pgdat = &m->pgdat;
	const struct zone *z = &pgdat->node_zones[idx];
	unsigned int i, cpu;

	mm_buf_printf(b, "Node %d, zone %8s", 0, mm_zone_name((int)idx));
	if (populated_zone(z) && !*printed_node_stats) {
		mm_buf_puts(b, "\n  per-node stats");
		for (i = 0; i < NR_VM_NODE_STAT_ITEMS; i++) {
			/* "\n      %-12s %lu", without a format (about 40 of them) */
			mm_buf_put(b, "\n      ", 7);
			mm_buf_puts_left(b, node_stat_names[i], 12);
			mm_buf_put(b, " ", 1);
			mm_buf_putu(b, (unsigned long)pgdat->node_stat[i]);
		}
		*printed_node_stats = true;
	}
	{
		const struct {
			const char *label;
			unsigned long v;
		} f[] = {
			{"\n  pages free     ", (unsigned long)z->vm_stat[NR_FREE_PAGES]},
			{"\n        boost    ", z->watermark_boost},
			{"\n        min      ", min_wmark_pages(z)},
			{"\n        low      ", low_wmark_pages(z)},
			{"\n        high     ", high_wmark_pages(z)},
			{"\n        spanned  ", (unsigned long)z->spanned_pages},
			{"\n        present  ", (unsigned long)z->present_pages},
			{"\n        managed  ", (unsigned long)z->managed_pages},
			{"\n        cma      ", 0UL},
		};

		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			mm_buf_puts(b, f[i].label);
			mm_buf_putu(b, f[i].v);
		}
	}
	mm_buf_puts(b, "\n        protection: (");
	for (i = 0; i < MAX_NR_ZONES; i++) {
		if (i)
			mm_buf_put(b, ", ", 2);
		mm_buf_puti(b, z->lowmem_reserve[i]);
	}
	mm_buf_puts(b, ")");
	if (!populated_zone(z)) {
		mm_buf_puts(b, "\n");
		return;
	}
	for (i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++) {
		mm_buf_put(b, "\n      ", 7);
		mm_buf_puts_left(b, zone_stat_names[i], 12);
		mm_buf_put(b, " ", 1);
		mm_buf_putu(b, (unsigned long)z->vm_stat[i]);
	}
	mm_buf_puts(b, "\n  pagesets");
	for (cpu = 0; cpu < pgdat->nr_cpus; cpu++) {
		const struct per_cpu_pages *pcp = &z->pcp[cpu];

		mm_buf_printf(b,
			      "\n    cpu: %u"
			      "\n              count: %i"
			      "\n              high:  %i"
			      "\n              batch: %i"
			      "\n  vm stats threshold: %d",
			      cpu, pcp->count, pcp->high, pcp->batch, z->stat_threshold);
	}
	mm_buf_printf(b,
		      "\n  node_unreclaimable:  %u"
		      "\n  start_pfn:           %lu"
		      "\n",
		      0u, (unsigned long)z->zone_start_pfn);
}

static void render_zoneinfo(const struct mm_machine *m, struct mm_buf *b)
{
	bool node_stats = false;
	unsigned int z;

	for (z = 0; z < MAX_NR_ZONES; z++)
		zoneinfo_show_zone(m, b, z, &node_stats);
}

static void render_buddyinfo(const struct mm_machine *m, struct mm_buf *b)
{
	unsigned int z, o;

	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];

		if (!populated_zone(zone))
			continue;
		mm_buf_printf(b, "Node %d, zone %8s ", 0, mm_zone_name((int)z));
		for (o = 0; o < MAX_ORDER; o++)
			mm_buf_printf(b, "%6lu ", (unsigned long)zone->free_area[o].nr_free);
		mm_buf_puts(b, "\n");
	}
}

static void render_pagetypeinfo(const struct mm_machine *m, struct mm_buf *b)
{
	unsigned int pb_order = pageblock_order(m), z, o, mt;

	mm_buf_printf(b, "Page block order: %u\n", pb_order);
	mm_buf_printf(b, "Pages per block:  %lu\n", 1UL << pb_order);
	mm_buf_puts(b, "\n");
	mm_buf_printf(b, "%-43s ", "Free pages count per migrate type at order");
	for (o = 0; o < MAX_ORDER; o++)
		mm_buf_printf(b, "%6u ", o);
	mm_buf_puts(b, "\n");
	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];

		if (!populated_zone(zone))
			continue;
		for (mt = 0; mt < MIGRATE_TYPES; mt++) {
			mm_buf_printf(b, "Node %4d, zone %8s, type %12s ", 0, mm_zone_name((int)z),
				      mm_migratetype_name((int)mt));
			for (o = 0; o < MAX_ORDER; o++) {
				unsigned long n = zone->free_area[o].nr_free_mt[mt];
				bool overflow = n >= 100000;

				mm_buf_printf(b, "%s%6lu ", overflow ? ">" : "",
					      overflow ? 100000UL : n);
			}
			mm_buf_puts(b, "\n");
		}
	}
	mm_buf_printf(b, "\n%-23s", "Number of blocks type ");
	for (mt = 0; mt < MIGRATE_TYPES; mt++)
		mm_buf_printf(b, "%12s ", mm_migratetype_name((int)mt));
	mm_buf_puts(b, "\n");
	for (z = 0; z < MAX_NR_ZONES; z++) {
		const struct zone *zone = &m->pgdat.node_zones[z];
		unsigned long count[MIGRATE_TYPES] = {0};
		uint64_t pfn, end = zone_end_pfn(zone);

		if (!populated_zone(zone))
			continue;
		/* walk in pageblock steps from the (unaligned) zone start */
		for (pfn = zone->zone_start_pfn; pfn < end; pfn += 1u << pb_order) {
			if (pfn >= m->mem_map_pfns || page_zonenum(&m->mem_map[pfn]) != z)
				continue;
			count[get_pfnblock_migratetype(zone, (pfn_t)pfn, pb_order)]++;
		}
		mm_buf_printf(b, "Node %d, zone %8s ", 0, mm_zone_name((int)z));
		for (mt = 0; mt < MIGRATE_TYPES; mt++)
			mm_buf_printf(b, "%12lu ", count[mt]);
		mm_buf_puts(b, "\n");
	}
}

static void show_val_kb(struct mm_buf *b, const char *name, uint64_t pages)
{
	mm_buf_printf(b, "%-16s%8llu kB\n", name, (unsigned long long)pages << 2);
}

/* Mirrors: si_mem_available(). */
static long si_mem_available(const struct mm_machine *m)
{
	const struct pglist_data *pgdat = &m->pgdat;
	long available, pagecache, reclaimable, wmark_low = 0;
	unsigned int z;

	for (z = 0; z < MAX_NR_ZONES; z++)
		wmark_low += (long)low_wmark_pages(&pgdat->node_zones[z]);
	available = global_zone_page_state(m, NR_FREE_PAGES) - (long)pgdat->totalreserve_pages;
	pagecache = pgdat->node_stat[2] + pgdat->node_stat[3]; /* inactive + active file */
	pagecache -= MM_MIN(pagecache / 2, wmark_low);
	available += pagecache;
	reclaimable = pgdat->node_stat[5] + pgdat->node_stat[34];
	available += reclaimable - MM_MIN(reclaimable / 2, wmark_low);
	return available < 0 ? 0 : available;
}

static void render_meminfo(const struct mm_machine *m, struct mm_buf *b)
{
	const struct pglist_data *pgdat = &m->pgdat;
	const long *ns = pgdat->node_stat;
	uint64_t freeram = (uint64_t)global_zone_page_state(m, NR_FREE_PAGES), freehigh = 0;
	uint64_t vmalloc_total = (uint64_t)(m->layout.vmalloc_end - m->layout.vmalloc_start) >> 10;
	unsigned int z;

	for (z = 0; z < MAX_NR_ZONES; z++)
		if (is_highmem_idx(pgdat, z))
			freehigh += (uint64_t)pgdat->node_zones[z].vm_stat[NR_FREE_PAGES];
	show_val_kb(b, "MemTotal:", pgdat->totalram_pages);
	show_val_kb(b, "MemFree:", freeram);
	show_val_kb(b, "MemAvailable:", (uint64_t)si_mem_available(m));
	show_val_kb(b, "Buffers:", 0);
	show_val_kb(b, "Cached:", (uint64_t)MM_MAX(ns[19] - ns[40], 0));
	show_val_kb(b, "SwapCached:", (uint64_t)ns[40]);
	show_val_kb(b, "Active:", (uint64_t)(ns[1] + ns[3]));
	show_val_kb(b, "Inactive:", (uint64_t)(ns[0] + ns[2]));
	show_val_kb(b, "Active(anon):", (uint64_t)ns[1]);
	show_val_kb(b, "Inactive(anon):", (uint64_t)ns[0]);
	show_val_kb(b, "Active(file):", (uint64_t)ns[3]);
	show_val_kb(b, "Inactive(file):", (uint64_t)ns[2]);
	show_val_kb(b, "Unevictable:", (uint64_t)ns[4]);
	show_val_kb(b, "Mlocked:", (uint64_t)global_zone_page_state(m, NR_MLOCK));
	show_val_kb(b, "HighTotal:", pgdat->totalhigh_pages);
	show_val_kb(b, "HighFree:", freehigh);
	show_val_kb(b, "LowTotal:", pgdat->totalram_pages - pgdat->totalhigh_pages);
	show_val_kb(b, "LowFree:", freeram - freehigh);
	show_val_kb(b, "SwapTotal:", 0);
	show_val_kb(b, "SwapFree:", 0);
	mm_buf_printf(b, "Zswap:          %8lu kB\n", 0UL);
	mm_buf_printf(b, "Zswapped:       %8lu kB\n", 0UL);
	show_val_kb(b, "Dirty:", (uint64_t)ns[20]);
	show_val_kb(b, "Writeback:", (uint64_t)ns[21]);
	show_val_kb(b, "AnonPages:", (uint64_t)ns[17]);
	show_val_kb(b, "Mapped:", (uint64_t)ns[18]);
	show_val_kb(b, "Shmem:", (uint64_t)ns[23]);
	show_val_kb(b, "KReclaimable:", (uint64_t)(ns[5] + ns[34]));
	show_val_kb(b, "Slab:", (uint64_t)(ns[5] + ns[6]));
	show_val_kb(b, "SReclaimable:", (uint64_t)ns[5]);
	show_val_kb(b, "SUnreclaim:", (uint64_t)ns[6]);
	mm_buf_printf(b, "KernelStack:    %8lu kB\n", (unsigned long)ns[37]);
	show_val_kb(b, "PageTables:", (uint64_t)ns[38]);
	show_val_kb(b, "SecPageTables:", (uint64_t)ns[39]);
	show_val_kb(b, "NFS_Unstable:", 0);
	show_val_kb(b, "Bounce:", (uint64_t)global_zone_page_state(m, NR_BOUNCE));
	show_val_kb(b, "WritebackTmp:", (uint64_t)ns[22]);
	show_val_kb(b, "CommitLimit:", pgdat->totalram_pages * 50 / 100);
	show_val_kb(b, "Committed_AS:", 0);
	mm_buf_printf(b, "VmallocTotal:   %8llu kB\n", (unsigned long long)vmalloc_total);
	show_val_kb(b, "VmallocUsed:", m->vmap.nr_vmalloc_pages); /* nr_vmalloc_pages */
	show_val_kb(b, "VmallocChunk:", 0);
	show_val_kb(b, "Percpu:", m->percpu_pages);
	mm_buf_printf(b, "HardwareCorrupted: %5lu kB\n", 0UL);
	show_val_kb(b, "AnonHugePages:", 0);
	show_val_kb(b, "ShmemHugePages:", 0);
	show_val_kb(b, "ShmemPmdMapped:", 0);
	show_val_kb(b, "FileHugePages:", 0);
	show_val_kb(b, "FilePmdMapped:", 0);
	if (m->cpu_pse) { /* hugepages_supported() */
		mm_buf_printf(b, "HugePages_Total:   %5lu\n", 0UL);
		mm_buf_printf(b, "HugePages_Free:    %5lu\n", 0UL);
		mm_buf_printf(b, "HugePages_Rsvd:    %5lu\n", 0UL);
		mm_buf_printf(b, "HugePages_Surp:    %5lu\n", 0UL);
		mm_buf_printf(b, "Hugepagesize:   %8lu kB\n",
			      (unsigned long)m->layout.pmd_size >> 10);
		mm_buf_printf(b, "Hugetlb:        %8lu kB\n", 0UL);
	}
	mm_buf_printf(b, "DirectMap4k:    %8llu kB\n", (unsigned long long)m->direct_pages_4k << 2);
	if (m->cfg.pae)
		mm_buf_printf(b, "DirectMap2M:    %8llu kB\n",
			      (unsigned long long)m->direct_pages_large << 11);
	else
		mm_buf_printf(b, "DirectMap4M:    %8llu kB\n",
			      (unsigned long long)m->direct_pages_large << 12);
}

/* Mirrors: global_dirty_limits() with the default ratios (20 % / 10 %). */
static void global_dirty_limits(const struct mm_machine *m, unsigned long *bg,
				unsigned long *thresh)
{
	const struct pglist_data *pgdat = &m->pgdat;
	unsigned long x = (unsigned long)global_zone_page_state(m, NR_FREE_PAGES), high = 0;
	unsigned int z;

	x -= MM_MIN(x, (unsigned long)pgdat->totalreserve_pages);
	x += (unsigned long)(pgdat->node_stat[2] + pgdat->node_stat[3]);
	for (z = 0; z < MAX_NR_ZONES; z++) { /* highmem is not dirtyable by default */
		const struct zone *zone = &pgdat->node_zones[z];
		unsigned long nr;

		if (!is_highmem_idx(pgdat, z))
			continue;
		nr = (unsigned long)zone->vm_stat[NR_FREE_PAGES];
		nr -= MM_MIN(nr, high_wmark_pages(zone));
		nr += (unsigned long)(zone->vm_stat[NR_ZONE_INACTIVE_FILE] +
				      zone->vm_stat[NR_ZONE_ACTIVE_FILE]);
		high += nr;
	}
	x -= MM_MIN(high, x);
	x += 1;
	*thresh = (unsigned long)(((uint64_t)(20 * PAGE_SIZE / 100)) * x / PAGE_SIZE);
	*bg = (unsigned long)(((uint64_t)(10 * PAGE_SIZE / 100)) * x / PAGE_SIZE);
	if (*bg >= *thresh)
		*bg = *thresh / 2;
}

static void render_vmstat(const struct mm_machine *m, struct mm_buf *b)
{
	unsigned long bg, thresh;
	unsigned int i;

	for (i = 0; i < NR_VM_ZONE_STAT_ITEMS; i++)
		mm_buf_printf(b, "%s %ld\n", zone_stat_names[i],
			      global_zone_page_state(m, (enum zone_stat_item)i));
	for (i = 0; i < NR_VM_NODE_STAT_ITEMS; i++)
		mm_buf_printf(b, "%s %ld\n", node_stat_names[i], m->pgdat.node_stat[i]);
	global_dirty_limits(m, &bg, &thresh);
	mm_buf_printf(b, "nr_dirty_threshold %lu\n", thresh);
	mm_buf_printf(b, "nr_dirty_background_threshold %lu\n", bg);
	for (i = 0; i < ARRAY_SIZE(vm_event_names); i++)
		mm_buf_printf(b, "%s %llu\n", vm_event_names[i],
			      (unsigned long long)vm_event(m, vm_event_names[i]));
	mm_buf_puts(b, "nr_unstable 0\n");
}

/*
 * /proc/vmallocinfo (mm/vmalloc.c s_show(), show_purge_info()): the busy areas in address
 * order, "0x%pK-0x%pK %7ld" (size with the guard page), the caller as %pS prints it,
 * pages=, phys= (%pa: 8 hex digits, 16 with PAE), the kind; then each lazily freed range
 * as "unpurged vm_area". Addresses are real, as root reads them (kptr_restrict=1).
 */
static void render_vmallocinfo(const struct mm_machine *m, struct mm_buf *b)
{
	const struct vmap_state *v = &m->vmap;
	static const struct {
		uint32_t flag;
		const char *word;
	} kinds[] = {{VM_IOREMAP, " ioremap"},
		     {VM_ALLOC, " vmalloc"},
		     {VM_MAP, " vmap"},
		     {VM_USERMAP, " user"},
		     {VM_DMA_COHERENT, " dma-coherent"}};
	uint32_t i, k;

	for (i = 0; i < v->nr_busy; i++) {
		const struct vmap_area *va = &v->busy[i];
		const struct vm_struct *vm = &va->vm;

		if (!va->has_vm) {
			mm_buf_printf(b, "0x%08llx-0x%08llx %7llu vm_map_ram\n",
				      (unsigned long long)va->va_start,
				      (unsigned long long)va->va_end,
				      (unsigned long long)(va->va_end - va->va_start));
			continue;
		}
		mm_buf_printf(b, "0x%08x-0x%08llx %7u", vm->addr,
			      (unsigned long long)vm->addr + vm->size, vm->size);
		if (vm->caller[0])
			mm_buf_printf(b, " %s", vm->caller);
		if (vm->nr_pages)
			mm_buf_printf(b, " pages=%u", vm->nr_pages);
		if (vm->phys_addr)
			mm_buf_printf(b, m->cfg.pae ? " phys=0x%016llx" : " phys=0x%08llx",
				      (unsigned long long)vm->phys_addr);
		for (k = 0; k < ARRAY_SIZE(kinds); k++)
			if (vm->flags & kinds[k].flag)
				mm_buf_puts(b, kinds[k].word);
		if (vm->pages_area && is_vmalloc_addr(m, vm->pages_area))
			mm_buf_puts(b, " vpages");
		mm_buf_puts(b, "\n");
	}
	for (i = 0; i < v->nr_purge; i++)
		mm_buf_printf(b, "0x%08llx-0x%08llx %7llu unpurged vm_area\n",
			      (unsigned long long)v->purge[i].va_start,
			      (unsigned long long)v->purge[i].va_end,
			      (unsigned long long)(v->purge[i].va_end - v->purge[i].va_start));
}

int mm_proc_render(const struct mm_machine *m, const char *file, struct mm_buf *out,
		   struct mm_error *err)
{
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "/proc (zones and the buddy allocator)",
				     err);
	if (!strcmp(file, "zoneinfo"))
		render_zoneinfo(m, out);
	else if (!strcmp(file, "buddyinfo"))
		render_buddyinfo(m, out);
	else if (!strcmp(file, "pagetypeinfo"))
		render_pagetypeinfo(m, out);
	else if (!strcmp(file, "meminfo"))
		render_meminfo(m, out);
	else if (!strcmp(file, "vmstat"))
		render_vmstat(m, out);
	else if (!strcmp(file, "slabinfo"))
		slabinfo_render(m, out);
	else if (!strcmp(file, "vmallocinfo"))
		render_vmallocinfo(m, out);
	else
		return mm_set_error(err, -ENOENT,
				    "no /proc/%s: mm32 renders zoneinfo, buddyinfo, pagetypeinfo, "
				    "meminfo, vmstat, slabinfo and vmallocinfo",
				    file);
	if (mm_buf_status(out))
		return mm_set_error(err, -ENOMEM, "out of host memory rendering /proc/%s", file);
	return 0;
}
