/* SPDX-License-Identifier: MIT */
/*
 * setup_arch.c - what the kernel's setup_arch() does to memory: the e820 map, max_pfn and
 * the lowmem/highmem split, memblock with its early reservations, and the final page tables.
 *
 * Mirrors: arch/x86/kernel/setup.c setup_arch(), in its order:
 *   load_cr3(swapper_pg_dir), early_ioremap_init()            (init_32.c does the tables)
 *   e820__memory_setup(), parse_early_param() (mem=, memmap=, highmem=, vmalloc=,
 *     init_on_alloc=, init_on_free=), e820__finish_early_params(), e820_add_kernel_range(),
 *     trim_bios_range()                                        setup_e820()
 *   max_pfn = e820__end_of_ram_pfn(), find_low_pfn_range()     (layout.c)
 *   early_reserve_memory(), early_alloc_pgt_buf(), reserve_brk(),
 *     e820__memblock_setup(), reserve_real_mode()              setup_memblock()
 *   init_mem_mapping(), reserve_initrd()                       setup_final_page_tables()
 *   high_memory, the local APIC and IO-APIC fixmap slots       setup_arch_final_page_tables()
 * The first half is the boot phase "memblock" (setup_arch_memblock()), the second the
 * phase "final_page_tables" (setup_arch_final_page_tables()); initmem_init() and
 * paging_init() -> zone_sizes_init() continue in free_area_init.c.
 * Invariants: after setup_arch_memblock() the e820 table is sanitized, memblock.memory is
 * the e820 RAM below the architecture's limit, and every range the kernel will not hand to
 * the page allocator (image, initrd, brk, the first MiB) is in memblock.reserved.
 */
#include "machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "page_alloc.h"

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
		default: /* SLUB's parameters: kmem_cache_init() reads them */
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
	ret = e820_update_table(&m->e820, m->host);
	if (ret == -ENOMEM)
		return mm_set_error(err, ret, "out of host memory sanitizing e820");
	printk(m, "BIOS-provided physical RAM map:\n");
	e820_print_table(m, &m->e820, "BIOS-e820");

	ret = apply_early_params(m, err);
	if (ret)
		return ret;
	if (m->e820_userdef) {
		if (e820_update_table(&m->e820, m->host) == -ENOMEM)
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
	if (e820_update_table(&m->e820, m->host) == -ENOMEM)
		return mm_set_error(err, -ENOMEM, "out of host memory sanitizing e820");
	return 0;
}

#define INIT_PGT_BUF_PAGES 6 /* early_alloc_pgt_buf(): INIT_PGT_BUF_SIZE */

int memblock_alloc_named(struct mm_machine *m, uint64_t size, uint64_t align, const char *name,
			 phys_addr_t *ret, struct mm_error *err)
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
	/* early_alloc_pgt_buf() + reserve_brk(): head_32's tables, dmi_setup()'s page
	 * (dmi_alloc() -> extend_brk()), then the pgt_buf, whose pages the page tables of the
	 * direct map's tail, the fixmap, pkmap and the cpu_entry_area take in the captures */
	l->brk_end +=
		(boot_fills_cpu_entry_area(m) ? PAGE_SIZE : 0) + INIT_PGT_BUF_PAGES * PAGE_SIZE;
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

int setup_arch_memblock(struct mm_machine *m, struct mm_error *err)
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

/*
 * The rest of setup_arch(): init_mem_mapping() maps lowmem, reserve_initrd() moves an
 * initrd the direct map does not reach, then high_memory and the APIC fixmap slots.
 */
int setup_arch_final_page_tables(struct mm_machine *m, struct mm_error *err)
{
	int ret = setup_final_page_tables(m, err);

	if (ret)
		return ret;
	highmem_init(m); /* paging_init() -> permanent_kmaps_init(): the pkmap table is empty */
	layout_set_high_memory(m);
	paging_map_apic(m); /* end of setup_arch() */
	return 0;
}
