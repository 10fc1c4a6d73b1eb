/* SPDX-License-Identifier: MIT */
/*
 * start_kernel.c - from the zones to a running kernel: the boot phase "buddy".
 *
 * Mirrors: init/main.c start_kernel() and kernel_init(), for what they do to memory, in
 * their order:
 *   setup_arch() -> paging_init() -> zone_sizes_init()   free_area_init() (free_area_init.c)
 *   setup_per_cpu_areas(), setup_log_buf()               memblock allocations
 *   build_all_zonelists()                                mobility grouping, "Total pages"
 *   vfs_caches_init_early()                              the dentry and inode hash tables
 *   trap_init() -> setup_cpu_entry_areas()               (init_32.c)
 *   mm_init() -> report_meminit(), swiotlb_init(), mem_init()   (mem_init.c)
 *     -> kmem_cache_init()                               SLUB and the boot's caches (slab.c)
 *     vmalloc_init()                                     the free vmap space (vmalloc.c)
 *   init_IRQ()                                           the IDT page read-only
 *   setup_per_cpu_pageset()                              real pcp high and batch
 *   acpi_early_init(), late_time_init()                  ACPI tables and HPET ioremapped
 *   check_bugs() -> alternative_instructions()           SMP alternatives freed
 *   do_pre_smp_initcalls(), smp_init()                   trampoline permissions, other CPUs
 *   do_initcalls(): init_per_zone_wmark_min(), a BPF program (vmalloc, read-only),
 *     hugepage_init(), acpi_init(), dmi_init() (memremap), e820__reserve_resources_late(),
 *     populate_rootfs() -> free_initrd_mem(), zswap's crypto scratch buffers
 *   kernel_init(): console_on_rootfs() (n_tty's vzalloc), free_initmem(), mark_rodata_ro()
 * The helpers below are the early allocations these steps make from memblock, each sized by
 * the kernel's rule from the configuration (CPU count, lowmem, RAM above 4 GiB).
 * Invariants: on return every frame below max_pfn is either in the page allocator, on a pcp
 * list, allocated by the boot, or PG_reserved; the watermarks are the kernel's.
 */
#include "machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "page_alloc.h"

/* Mirrors: mm/percpu.c pcpu_embed_first_chunk() as setup_per_cpu_areas() calls it. */
static int setup_per_cpu_areas(struct mm_machine *m, struct mm_error *err)
{
	const struct mm_kernel_image *img = &m->cfg.image;
	uint64_t unit = PAGE_ALIGN(img->percpu_unit);
	phys_addr_t pa;
	int ret;

	printk(m, "setup_percpu: NR_CPUS:%d nr_cpumask_bits:%u nr_cpu_ids:%u nr_node_ids:1\n",
	       NR_CPUS, m->cfg.cpus, m->cfg.cpus);
	phys_addr_t ai = 0, areas = 0;
	bool cea = boot_fills_cpu_entry_area(m);
	/* the image's other early allocations: boot model 3 (mmcore.h) takes some of their pages
	 * by name (dmi_setup()'s brk page; on PAE also the hole's two pages, which the
	 * cpu_entry_area's page tables fill), models 1 and 2 lumped them in */
	uint64_t named = cea ? (m->cfg.pae ? 0x3000u : 0x1000u) : 0;
	uint64_t misc = img->early_misc > named ? img->early_misc - named : 0;

	/* pcpu_build_alloc_info()'s ai and the areas array (a page each) come first and are
	 * freed at the end, leaving a two-page hole above the chunk that later boot
	 * allocations fill (the cpu_entry_area's page tables on PAE) */
	ret = cea ? memblock_alloc_named(m, PAGE_SIZE, PAGE_SIZE, "pcpu alloc info", &ai, err) : 0;
	if (!ret && cea)
		ret = memblock_alloc_named(m, PAGE_SIZE, SMP_CACHE_BYTES, "pcpu areas", &areas,
					   err);
	if (!ret)
		ret = memblock_alloc_named(m, unit * m->cfg.cpus, PAGE_SIZE, "percpu first chunk",
					   &pa, err);
	if (ret)
		return ret;
	m->percpu_pages = (unit >> PAGE_SHIFT) * m->cfg.cpus;
	printk(m, "percpu: Embedded %llu pages/cpu s%u r0 d%llu u%llu\n",
	       (unsigned long long)(unit >> PAGE_SHIFT), img->percpu_static,
	       (unsigned long long)(unit - img->percpu_static), (unsigned long long)unit);
	if (misc)
		ret = memblock_alloc_named(m, misc, PAGE_SIZE, "early allocations", &pa, err);
	if (ret || !cea)
		return ret;
	/* pcpu_free_alloc_info() */
	if (memblock_phys_free(&m->memblock, areas, PAGE_SIZE) ||
	    memblock_phys_free(&m->memblock, ai, PAGE_SIZE))
		return mm_set_error(err, -ENOMEM, "out of host memory in memblock");
	return 0;
}

/* Mirrors: kernel/printk/printk.c setup_log_buf(): more than 17 possible CPUs outgrow the static
 * 128 KiB buffer. */
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

/* Mirrors: mm/page_alloc.c alloc_large_system_hash() with HASH_EARLY | HASH_ZERO. */
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

/* Mirrors: kernel/dma/swiotlb.c swiotlb_init_remap(): 64 MiB of bounce buffers. */
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

/*
 * start_kernel() from zone_sizes_init() to mark_rodata_ro(): zones, mem_map and the buddy
 * allocator, the other CPUs, the initcalls. What is left is a running kernel.
 */
int start_kernel(struct mm_machine *m, struct mm_error *err)
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
	/* mm_init() -> kmem_cache_init() (slab.c), and, for mm32, every cache the rest of the
	 * boot creates */
	ret = kmem_cache_init(m, err);
	if (ret)
		return ret;
	if (m->swiotlb_bytes)
		printk(m, "software IO TLB: mapped [mem 0x%016llx-0x%016llx] (%lluMB)\n",
		       (unsigned long long)m->swiotlb_base,
		       (unsigned long long)(m->swiotlb_base + m->swiotlb_bytes),
		       (unsigned long long)(m->swiotlb_bytes >> 20));
	/* mm_init() -> vmalloc_init(): the free vmap space */
	ret = vmalloc_init(m, err);
	if (ret)
		return ret;

	/* init_IRQ(): the IDT page read-only (before the pcp lists get their sizes, so the
	 * page splitting a large page comes through the boot pageset) */
	ret = paging_protect_idt(m, err);
	if (ret)
		return ret;
	/* setup_per_cpu_pageset(): real pcp sizes (watermarks are still zero) */
	for (z = 0; z < MAX_NR_ZONES; z++)
		zone_pcp_update(pgdat, &pgdat->node_zones[z]);
	/* acpi_early_init(): the FADT and DSDT stay mapped; late_time_init(): the HPET */
	ret = vmalloc_boot_acpi_early(m, err);
	if (!ret)
		ret = vmalloc_boot_hpet(m, err);
	if (ret)
		return ret;
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
	ret = vmalloc_boot_bpf(m, err); /* a BPF program, read-only */
	if (ret)
		return ret;
	hugepage_init(m);
	ret = vmalloc_boot_acpi_init(m, err); /* subsys_initcall acpi_init() */
	if (!ret)
		ret = vmalloc_boot_dmi(m, err); /* subsys_initcall dmi_init() */
	if (ret)
		return ret;
	e820_reserve_resources_late(m);
	/* rootfs_initcall populate_rootfs() -> free_initrd_mem() */
	if (m->cfg.initrd_size)
		free_reserved_area(m, m->initrd_start, PAGE_ALIGN(m->initrd_end), -1, "initrd");
	/* late initcalls: zswap's compressor takes the crypto scratch buffers; then
	 * console_on_rootfs() opens the console. The two transient ranges are the holes a
	 * real boot leaves around them (README: "vmalloc at boot") */
	ret = vmalloc_boot_transient(m, VMALLOC_BOOT_HOLE_1, err);
	if (!ret)
		ret = vmalloc_boot_crypto_scomp(m, err);
	if (!ret)
		ret = vmalloc_boot_transient(m, VMALLOC_BOOT_HOLE_2, err);
	if (!ret)
		ret = vmalloc_boot_n_tty(m, err);
	if (ret)
		return ret;
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
