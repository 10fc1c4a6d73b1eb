/* SPDX-License-Identifier: MIT */
/*
 * layout.c - the virtual address layout of the machine and the low/high memory split.
 *
 * Mirrors: arch/x86/include/asm/pgtable_32_areas.h, fixmap.h, mm/pgtable_32.c,
 * arch/x86/mm/init_32.c (find_low_pfn_range, lowmem_pfn_init, highmem_pfn_init,
 * initmem_init). From the top of the address space down: the fixmap (FIXADDR_TOP at
 * 0xfffff000), the CPU entry area (43 pages per possible CPU, NR_CPUS = 32 compiled in),
 * the LDT remap, the PKMAP page, a two-page gap, VMALLOC_END. Each boundary is rounded
 * down to a PMD (4 MiB without PAE, 2 MiB with), which is why the two flavours differ.
 * Lowmem ends at MAXMEM = VMALLOC_END - PAGE_OFFSET - __VMALLOC_RESERVE; vmalloc starts
 * 8 MiB above high_memory.
 */
#include "machine.h"
#include "snapshot.h"

#define FIXADDR_TOP 0xfffff000u
/* enum fixed_addresses of Debian's 6.1 image (fixtures _kernel/<flavour>/constants.txt) */
#define END_OF_PERMANENT_FIXED_ADDRESSES 583u
#define END_OF_FIXED_ADDRESSES 1537u
#define CPU_ENTRY_AREA_SIZE 176128u /* sizeof(struct cpu_entry_area) */
#define VMALLOC_OFFSET (8u << 20)
#define MAX_NONPAE_PFN (1u << 20)

void layout_compute_constants(struct mm_machine *m)
{
	struct mm_layout *l = &m->layout;
	uint32_t pmd_mask = ~((1u << m->geo.pmd_shift) - 1);

	l->page_offset = PAGE_OFFSET;
	l->pmd_size = 1u << m->geo.pmd_shift;
	l->pageblock_order = m->geo.pageblock_order;
	l->fixaddr_top = FIXADDR_TOP;
	l->fixaddr_start = FIXADDR_TOP - (END_OF_PERMANENT_FIXED_ADDRESSES << PAGE_SHIFT);
	l->fixaddr_tot_start = FIXADDR_TOP - (END_OF_FIXED_ADDRESSES << PAGE_SHIFT);
	l->cpu_entry_area_pages = NR_CPUS * ((CPU_ENTRY_AREA_SIZE + PAGE_SIZE - 1) / PAGE_SIZE);
	l->cpu_entry_area_base =
		(l->fixaddr_tot_start - PAGE_SIZE * (l->cpu_entry_area_pages + 1)) & pmd_mask;
	l->ldt_base = (l->cpu_entry_area_base - PAGE_SIZE) & pmd_mask;
	l->pkmap_base = (l->ldt_base - PAGE_SIZE) & pmd_mask;
	l->last_pkmap = m->geo.last_pkmap;
	l->vmalloc_end = l->pkmap_base - 2 * PAGE_SIZE;
	l->vmalloc_offset = VMALLOC_OFFSET;
	if (!l->vmalloc_reserve)
		l->vmalloc_reserve = 128u << 20;
	l->maxmem_pfn = (l->vmalloc_end - PAGE_OFFSET - l->vmalloc_reserve) >> PAGE_SHIFT;
}

static unsigned long pages_to_mb(uint64_t pages)
{
	return (unsigned long)(pages >> (20 - PAGE_SHIFT));
}

/* Mirrors: arch/x86/mm/init_32.c find_low_pfn_range(). */
int layout_find_low_pfn_range(struct mm_machine *m, struct mm_error *err)
{
	struct mm_layout *l = &m->layout;
	uint64_t max_pfn = l->max_pfn;
	long hp = m->highmem_pages;
	uint64_t max_low_pfn;

	if (max_pfn <= l->maxmem_pfn) {
		/* lowmem_pfn_init() */
		max_low_pfn = max_pfn;
		if (hp == -1)
			hp = 0;
		if (hp >= (long)max_pfn) {
			printk(m, "highmem size (%luMB) is bigger than pages available (%luMB)!\n",
			       pages_to_mb((uint64_t)hp), pages_to_mb(max_pfn));
			hp = 0;
		}
		if (hp) {
			if (max_low_pfn - (uint64_t)hp < (64u << 20) / PAGE_SIZE) {
				printk(m,
				       "highmem size (%luMB) results in <64MB lowmem, ignoring "
				       "it!\n",
				       pages_to_mb((uint64_t)hp));
				hp = 0;
			}
			max_low_pfn -= (uint64_t)hp;
		}
	} else {
		/* highmem_pfn_init() */
		max_low_pfn = l->maxmem_pfn;
		if (hp == -1)
			hp = (long)(max_pfn - l->maxmem_pfn);
		if ((uint64_t)hp + l->maxmem_pfn < max_pfn)
			max_pfn = l->maxmem_pfn + (uint64_t)hp;
		if ((uint64_t)hp + l->maxmem_pfn > max_pfn) {
			printk(m,
			       "only %luMB highmem pages available, ignoring highmem size of "
			       "%luMB!\n",
			       pages_to_mb(max_pfn - l->maxmem_pfn), pages_to_mb((uint64_t)hp));
			hp = 0;
		}
		if (!m->cfg.pae && max_pfn > MAX_NONPAE_PFN) {
			max_pfn = MAX_NONPAE_PFN;
			printk(m, "Warning: only 4GB will be used. Use a HIGHMEM64G enabled "
				  "kernel!\n");
		}
	}
	m->highmem_pages = hp;
	l->max_pfn = (uint32_t)max_pfn;
	l->max_low_pfn = (uint32_t)max_low_pfn;
	if (l->max_low_pfn < (l->image_end >> PAGE_SHIFT) + 1024)
		return mm_set_error(
			err, -EINVAL,
			"lowmem ends at %#llx, below the kernel image end %#llx plus 4 MiB: "
			"the kernel cannot boot (more RAM, a smaller vmalloc= or highmem=)",
			(unsigned long long)PFN_PHYS(l->max_low_pfn),
			(unsigned long long)l->image_end);
	return 0;
}

/* Mirrors: initmem_init() and setup_bootmem_allocator(): high_memory and the messages. */
void layout_set_high_memory(struct mm_machine *m)
{
	struct mm_layout *l = &m->layout;

	l->highstart_pfn = l->highend_pfn = l->max_pfn;
	if (l->max_pfn > l->max_low_pfn)
		l->highstart_pfn = l->max_low_pfn;
	printk(m, "%luMB HIGHMEM available.\n", pages_to_mb(l->highend_pfn - l->highstart_pfn));
	l->high_memory = PAGE_OFFSET + (l->highstart_pfn << PAGE_SHIFT);
	l->vmalloc_start = l->high_memory + l->vmalloc_offset;
	printk(m, "%luMB LOWMEM available.\n", pages_to_mb(l->max_low_pfn));
	printk(m, "  mapped low ram: 0 - %08lx\n", (unsigned long)l->max_pfn_mapped << PAGE_SHIFT);
	printk(m, "  low ram: 0 - %08lx\n", (unsigned long)l->max_low_pfn << PAGE_SHIFT);
}

/*
 * The kernel image at LOAD_PHYSICAL_ADDR (nokaslr), laid out as vmlinux.lds.S does:
 * text, rodata (page aligned), data, the page-aligned init section, .smp_locks, bss, brk.
 * The brk area holds head_32's page tables (INIT_MAP_SIZE) and the other RESERVE_BRK users.
 */
void layout_place_kernel(struct mm_machine *m)
{
	const struct mm_kernel_image *img = &m->cfg.image;
	struct mm_layout *l = &m->layout;
	uint64_t lowmem_pages = (0x100000000ULL - PAGE_OFFSET) >> PAGE_SHIFT;
	uint64_t init_map_size;

	if (m->cfg.pae)
		init_map_size = (lowmem_pages / 512 + 4) * PAGE_SIZE; /* PAGE_TABLE_SIZE, PAE */
	else
		init_map_size = (lowmem_pages / 1024) * PAGE_SIZE;

	l->text_start = LOAD_PHYSICAL_ADDR;
	l->text_end = l->text_start + img->text;
	l->rodata_start = PAGE_ALIGN(l->text_end);
	l->rodata_end = l->rodata_start + img->rodata;
	l->data_start = PAGE_ALIGN(l->rodata_end + img->rodata_gap);
	l->data_end = l->data_start + img->rwdata;
	l->init_start = PAGE_ALIGN(l->data_end + img->data_gap);
	l->init_end = l->init_start + PAGE_ALIGN(img->init);
	l->bss_start = PAGE_ALIGN(l->init_end + img->smp_locks + img->bss_gap);
	l->bss_end = PAGE_ALIGN(l->bss_start + img->bss);
	l->brk_start = l->bss_end;
	l->image_end = l->brk_start + init_map_size + PAGE_ALIGN(img->brk_other);
	l->brk_end = l->brk_start; /* advanced as head_32 and extend_brk() use it */
}

/* ---- snapshot section LAYT: struct mm_layout, field by field ----------------------------- */

void layout_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	const struct mm_layout *l = &m->layout;

	snap_put_u32(o, l->page_offset);
	snap_put_u32(o, l->high_memory);
	snap_put_u32(o, l->vmalloc_offset);
	snap_put_u32(o, l->vmalloc_start);
	snap_put_u32(o, l->vmalloc_end);
	snap_put_u32(o, l->vmalloc_reserve);
	snap_put_u32(o, l->pkmap_base);
	snap_put_u32(o, l->last_pkmap);
	snap_put_u32(o, l->ldt_base);
	snap_put_u32(o, l->cpu_entry_area_base);
	snap_put_u32(o, l->cpu_entry_area_pages);
	snap_put_u32(o, l->fixaddr_top);
	snap_put_u32(o, l->fixaddr_start);
	snap_put_u32(o, l->fixaddr_tot_start);
	snap_put_u32(o, l->maxmem_pfn);
	snap_put_u32(o, l->max_low_pfn);
	snap_put_u32(o, l->max_pfn);
	snap_put_u32(o, l->highstart_pfn);
	snap_put_u32(o, l->highend_pfn);
	snap_put_u32(o, l->max_pfn_mapped);
	snap_put_u32(o, l->pmd_size);
	snap_put_u32(o, l->pageblock_order);
	snap_put_u64(o, l->text_start);
	snap_put_u64(o, l->text_end);
	snap_put_u64(o, l->rodata_start);
	snap_put_u64(o, l->rodata_end);
	snap_put_u64(o, l->data_start);
	snap_put_u64(o, l->data_end);
	snap_put_u64(o, l->init_start);
	snap_put_u64(o, l->init_end);
	snap_put_u64(o, l->bss_start);
	snap_put_u64(o, l->bss_end);
	snap_put_u64(o, l->brk_start);
	snap_put_u64(o, l->brk_end);
	snap_put_u64(o, l->image_end);
}

/* The pfns that bound loops over mem_map are checked against it by the PAGE section. */
int layout_snap_load(struct mm_machine *m, struct snap_in *in)
{
	struct mm_layout *l = &m->layout;

	l->page_offset = snap_get_u32(in);
	l->high_memory = snap_get_u32(in);
	l->vmalloc_offset = snap_get_u32(in);
	l->vmalloc_start = snap_get_u32(in);
	l->vmalloc_end = snap_get_u32(in);
	l->vmalloc_reserve = snap_get_u32(in);
	l->pkmap_base = snap_get_u32(in);
	l->last_pkmap = snap_get_u32(in);
	l->ldt_base = snap_get_u32(in);
	l->cpu_entry_area_base = snap_get_u32(in);
	l->cpu_entry_area_pages = snap_get_u32(in);
	l->fixaddr_top = snap_get_u32(in);
	l->fixaddr_start = snap_get_u32(in);
	l->fixaddr_tot_start = snap_get_u32(in);
	l->maxmem_pfn = snap_get_u32(in);
	l->max_low_pfn = snap_get_u32(in);
	l->max_pfn = snap_get_u32(in);
	l->highstart_pfn = snap_get_u32(in);
	l->highend_pfn = snap_get_u32(in);
	l->max_pfn_mapped = snap_get_u32(in);
	l->pmd_size = snap_get_u32(in);
	l->pageblock_order = snap_get_u32(in);
	l->text_start = snap_get_u64(in);
	l->text_end = snap_get_u64(in);
	l->rodata_start = snap_get_u64(in);
	l->rodata_end = snap_get_u64(in);
	l->data_start = snap_get_u64(in);
	l->data_end = snap_get_u64(in);
	l->init_start = snap_get_u64(in);
	l->init_end = snap_get_u64(in);
	l->bss_start = snap_get_u64(in);
	l->bss_end = snap_get_u64(in);
	l->brk_start = snap_get_u64(in);
	l->brk_end = snap_get_u64(in);
	l->image_end = snap_get_u64(in);
	if (in->ret)
		return in->ret;
	if (l->max_low_pfn > l->max_pfn || l->max_pfn > m->geo.max_arch_pfn ||
	    (uint64_t)l->max_pfn << PAGE_SHIFT > m->ram_size)
		return snap_corrupt(in, "max_low_pfn %#x, max_pfn %#x beyond the RAM",
				    l->max_low_pfn, l->max_pfn);
	/* the boot goes on writing into the image and freeing the initrd: inside the RAM */
	if (l->text_start > l->image_end || l->image_end > m->ram_size ||
	    l->brk_end > m->ram_size || l->init_start > l->init_end ||
	    l->init_end + m->cfg.image.smp_locks > m->ram_size || m->initrd_start > m->initrd_end ||
	    m->initrd_end > m->ram_size)
		return snap_corrupt(in, "the kernel image or the initrd lies beyond the RAM");
	return 0;
}
