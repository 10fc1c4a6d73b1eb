/* test-paging.c - page tables in RAM, boot phases, the walk, the TLB and memory access; the
 * final kernel page tables against the captured swapper_pg_dir of every oracle boot. */
#include <stdio.h>

#include "common.h"
#include "oracle.h"

#define PAGE_OFFSET 0xc0000000u

static struct mm_translation tr(unsigned int cpu, uint32_t va, int access)
{
	struct mm_translation t;
	struct mm_error err = {0};

	ck_assert_int_eq(mm_translate(m, cpu, va, access, &t, &err), 0);
	return t;
}

static struct mm_machine *boot_phase(const char *mem, bool pae, int phase)
{
	struct mm_config cfg;
	struct mm_error err = {0};

	mm_config_init(&cfg, pae);
	ck_assert_int_eq(mm_parse_size(mem, &cfg.mem), 0);
	cfg.stop_after = phase;
	ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "boot: %s", err.msg);
	return m;
}

/* Each phase answers what exists then; continuing gives the machine a one-go boot gives. */
static void phases(bool pae)
{
	struct mm_layout l;
	struct mm_cpu_info c;
	struct mm_error err = {0};
	struct mm_page_alloc a;
	struct mm_translation t;
	char *whole, *phased;
	uint32_t mapped;

	boot_phase("1G", pae, MM_PHASE_EARLY_PAGE_TABLES);
	ck_assert_int_eq(mm_machine_phase(m), MM_PHASE_EARLY_PAGE_TABLES);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c, &err), 0);
	ck_assert(!c.pg);
	t = tr(0, 0x12345678, MM_ACCESS_READ); /* paging off: the identity */
	ck_assert(t.ok && !t.paging);
	ck_assert_uint_eq(t.phys, 0x12345678);
	ck_assert_int_eq(mm_alloc_pages(m, 0, 0xcc0, 0, &a, &err), -EAGAIN);
	ck_assert_ptr_nonnull(strstr(err.msg, "early_page_tables"));
	ck_assert_ptr_nonnull(strstr(err.msg, "buddy"));
	{
		struct mm_buf b = {0};

		ck_assert_int_eq(mm_proc_render(m, "zoneinfo", &b, &err), -EAGAIN);
		mm_buf_free(&b);
	}

	ck_assert_int_eq(mm_boot_continue(m, -1, &err), 0);
	ck_assert_int_eq(mm_machine_phase(m), MM_PHASE_PAGING_ENABLED);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c, &err), 0);
	ck_assert(c.pg && c.wp);
	ck_assert(c.pae == pae);
	/* head_32's tables map the low range twice: at 0 and at PAGE_OFFSET */
	mm_get_layout(m, &l);
	mapped = l.max_pfn_mapped << 12;
	ck_assert_uint_gt(mapped, (uint32_t)l.image_end);
	t = tr(0, 0x100000, MM_ACCESS_READ);
	ck_assert(t.ok && t.paging && t.phys == 0x100000 && t.page_size == 4096);
	t = tr(0, PAGE_OFFSET + 0x100000, MM_ACCESS_WRITE);
	ck_assert(t.ok && t.phys == 0x100000);
	t = tr(0, PAGE_OFFSET + mapped - 1, MM_ACCESS_READ);
	ck_assert(t.ok && t.phys == mapped - 1);
	t = tr(0, PAGE_OFFSET + mapped, MM_ACCESS_READ);
	ck_assert(!t.ok);
	ck_assert_ptr_nonnull(strstr(t.fault, "not-present page"));
	ck_assert_int_eq(mm_boot_continue(m, MM_PHASE_PAGING_ENABLED, &err), -EINVAL);

	ck_assert_int_eq(mm_boot_continue(m, MM_PHASE_MEMBLOCK, &err), 0);
	/* swapper_pg_dir is loaded: the identity mapping is gone */
	t = tr(0, 0x100000, MM_ACCESS_READ);
	ck_assert(!t.ok);
	t = tr(0, PAGE_OFFSET + 0x100000, MM_ACCESS_READ);
	ck_assert(t.ok && t.phys == 0x100000);
	ck_assert_uint_gt(mm_memblock_count(m, 1), 0);

	ck_assert_int_eq(mm_boot_continue(m, MM_PHASE_FINAL_PAGE_TABLES, &err), 0);
	mm_get_layout(m, &l);
	ck_assert_uint_gt(l.max_low_pfn, 0);
	/* the direct map now covers all of lowmem, with large pages */
	t = tr(0, PAGE_OFFSET + (l.max_low_pfn << 12) - 1, MM_ACCESS_READ);
	ck_assert(t.ok && t.phys == ((uint64_t)l.max_low_pfn << 12) - 1);
	t = tr(0, PAGE_OFFSET + 0x2000000, MM_ACCESS_READ);
	ck_assert_uint_eq(t.page_size, pae ? 2u << 20 : 4u << 20);
	t = tr(0, l.high_memory + 8u * 4096, MM_ACCESS_READ);
	ck_assert(!t.ok);

	ck_assert_int_eq(mm_boot_continue(m, -1, &err), 0);
	ck_assert_int_eq(mm_machine_phase(m), MM_PHASE_BUDDY);
	ck_assert_int_eq(mm_boot_continue(m, -1, &err), -EINVAL);
	phased = render("zoneinfo");
	{
		char *d = render("dmesg");

		free(d);
	}
	mm_machine_destroy(m);
	m = NULL;
	boot("1G", pae, 1, "");
	whole = render("zoneinfo");
	ck_assert_str_eq(phased, whole);
	free(phased);
	free(whole);
}

START_TEST(phases_686)
{
	phases(false);
}
END_TEST

/* A configuration that cannot boot is refused at creation even when the machine would
 * stop before the failing step. */
START_TEST(stopped_machine_must_boot)
{
	struct mm_config cfg;
	struct mm_error err = {0};

	mm_config_init(&cfg, false);
	cfg.mem = 256u << 20;
	cfg.stop_after = MM_PHASE_PAGING_ENABLED;
	strcpy(cfg.cmdline, "vmalloc=1000M");
	ck_assert_int_eq(mm_machine_create(&cfg, &m, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "vmalloc"));
	ck_assert_ptr_null(m);
}
END_TEST

START_TEST(phases_pae)
{
	phases(true);
}
END_TEST

/* __va/__pa round trips over lowmem; kernel text is read-only, data not executable (PAE). */
static void translations(const char *mem, bool pae)
{
	struct mm_layout l;
	struct mm_translation t;
	uint32_t pfn, step;

	boot(mem, pae, 2, "");
	mm_get_layout(m, &l);
	step = l.max_low_pfn / 997 + 1;
	for (pfn = 0; pfn < l.max_low_pfn; pfn += step) {
		t = tr(pfn & 1, PAGE_OFFSET + (pfn << 12) + 0x123, MM_ACCESS_READ);
		ck_assert_msg(t.ok, "pfn %#x not mapped", pfn);
		ck_assert_uint_eq(t.phys, ((uint64_t)pfn << 12) + 0x123);
		ck_assert(t.global == !pae || ((uint64_t)pfn << 12) >= l.text_start);
	}
	/* the first PMD is mapped with 4 KiB pages, kernel text with large ones */
	ck_assert_uint_eq(tr(0, PAGE_OFFSET + 0x1000, MM_ACCESS_READ).page_size, 4096);
	t = tr(0, (uint32_t)(PAGE_OFFSET + l.text_start), MM_ACCESS_WRITE);
	ck_assert(!t.ok && !t.rw);
	ck_assert_ptr_nonnull(strstr(t.fault, "#PF: supervisor write access in kernel mode"));
	ck_assert_ptr_nonnull(strstr(t.fault, "permissions violation"));
	ck_assert_uint_eq(t.error_code & 3, 3);
	t = tr(0, (uint32_t)(PAGE_OFFSET + l.text_start), MM_ACCESS_EXEC);
	ck_assert(t.ok);
	t = tr(0, (uint32_t)(PAGE_OFFSET + l.data_start), MM_ACCESS_EXEC);
	ck_assert(t.ok == !pae); /* NX only exists with PAE */
	t = tr(0, (uint32_t)(PAGE_OFFSET + l.data_start), MM_ACCESS_WRITE);
	ck_assert(t.ok);
	/* nothing below PAGE_OFFSET, nothing between high_memory and VMALLOC_START */
	ck_assert(!tr(0, 0x08048000, MM_ACCESS_READ).ok);
	ck_assert(!tr(0, l.high_memory + 4096, MM_ACCESS_READ).ok);
	ck_assert_ptr_nonnull(
		strstr(tr(0, 0x10, MM_ACCESS_READ).fault, "NULL pointer dereference"));
}

START_TEST(translations_686)
{
	translations("1G", false);
}
END_TEST

START_TEST(translations_pae)
{
	translations("8G", true);
}
END_TEST

/* Bytes through the direct map land in RAM, and the walk sets accessed and dirty bits. */
START_TEST(memory_access)
{
	struct mm_page_alloc a;
	struct mm_error err = {0};
	struct mm_translation t;
	struct mm_cpu_info c0, c1;
	uint8_t buf[64], back[64];
	char *before, *after;
	unsigned int i;

	boot("512M", false, 1, "");
	ck_assert_int_eq(mm_alloc_pages(m, 0, 0xcc0, 1, &a, &err), 0);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	/* across the page boundary of the order-1 block */
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, a.vaddr + 4096 - 32, buf, 64, &err),
			 0);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, ((uint64_t)a.pfn << 12) + 4096 - 32, 64,
				     back, &err),
			 0);
	ck_assert_mem_eq(buf, back, 64);
	buf[0] = 0xee;
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_PHYS, (uint64_t)a.pfn << 12, buf, 1, &err), 0);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, a.vaddr, 1, back, &err), 0);
	ck_assert_uint_eq(back[0], 0xee);
	/* a write to kernel text faults and changes nothing: no byte, no TLB entry, no bit */
	{
		struct mm_layout l;
		uint8_t text_before[8], text_after[8];
		uint32_t va;

		mm_get_layout(m, &l);
		va = (uint32_t)(PAGE_OFFSET + l.text_start) + 0x1000;
		before = render("zoneinfo");
		ck_assert_int_eq(mm_get_cpu(m, 0, &c0, &err), 0);
		ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, l.text_start + 0x1000, 8,
					     text_before, &err),
				 0);
		/* a write into kernel text */
		ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, va, buf, 8, &err), -EACCES);
		ck_assert_ptr_nonnull(
			strstr(err.msg, "BUG: unable to handle page fault for address"));
		ck_assert_int_eq(mm_get_cpu(m, 0, &c1, &err), 0);
		ck_assert_uint_eq(c0.tlb_fills, c1.tlb_fills);
		ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, l.text_start + 0x1000, 8,
					     text_after, &err),
				 0);
		ck_assert_mem_eq(text_before, text_after, 8);
		after = render("zoneinfo");
		ck_assert_str_eq(before, after);
		free(before);
		free(after);
	}
	/* the kernel makes its PTEs with A and D set; clear them in RAM, flush, and let the
	 * CPU set them again */
	t = tr(0, PAGE_OFFSET + 0x50000, MM_ACCESS_READ);
	ck_assert(t.dirty && t.accessed);
	{
		uint8_t raw[4];
		uint64_t pte = t.levels[t.nr_levels - 1].entry_addr;

		ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, pte, 4, raw, &err), 0);
		raw[0] &= (uint8_t)~0x60;
		/* the page table is the kernel's: a physical write is refused... */
		ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_PHYS, pte, raw, 4, &err), -EBUSY);
		ck_assert_ptr_nonnull(strstr(err.msg, "the kernel's own"));
		ck_assert(!mm_machine_tainted(m));
		/* ...the kernel writes it through its own mapping of it, the direct map */
		ck_assert_int_eq(
			mm_mem_write(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + pte, raw, 4, &err), 0);
	}
	ck_assert_int_eq(mm_flush_tlb(m, 0, false, &err), 0);
	t = tr(0, PAGE_OFFSET + 0x50000, MM_ACCESS_READ);
	ck_assert(!t.dirty && !t.accessed);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + 0x50000, 4, back, &err),
			 0);
	ck_assert_int_eq(mm_flush_tlb(m, 0, false, &err), 0);
	t = tr(0, PAGE_OFFSET + 0x50000, MM_ACCESS_READ);
	ck_assert(!t.dirty && t.accessed);
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + 0x50000, buf, 4, &err),
			 0);
	ck_assert_int_eq(mm_flush_tlb(m, 0, false, &err), 0);
	t = tr(0, PAGE_OFFSET + 0x50000, MM_ACCESS_READ);
	ck_assert(t.dirty && t.accessed && !t.tlb_hit);
	/* bad input */
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, 0, 0, back, &err), -EINVAL);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, 0, MM_MEM_MAX + 1, back, &err), -EINVAL);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, 1ull << 33, 1, back, &err), -EINVAL);
	ck_assert_int_eq(mm_mem_read(m, 3, MM_SPACE_PHYS, 0, 1, back, &err), -EINVAL);
	ck_assert_int_eq(mm_mem_read(m, 0, 7, 0, 1, back, &err), -EINVAL);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, 0xfffffff0u, 32, back, &err), -EINVAL);
}
END_TEST

/* Global entries survive a CR3 reload, invlpg drops one page, a missing flush leaves a
 * stale translation in use. */
static void tlb_rules(bool pae)
{
	struct mm_error err = {0};
	struct mm_cpu_info c;
	struct mm_translation t;
	struct mm_layout l;
	uint8_t v = 0;
	uint32_t va = PAGE_OFFSET + 0x60000, text;
	uint64_t pte;
	uint8_t raw[8];
	struct mm_tlb_entry e[64];

	boot("1G", pae, 2, "");
	mm_get_layout(m, &l);
	text = (uint32_t)(PAGE_OFFSET + l.text_start);
	ck_assert_int_eq(mm_flush_tlb(m, 0, false, &err), 0);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, va, 1, &v, &err), 0);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, va + 8, 1, &v, &err), 0);
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, text, 1, &v, &err), 0);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c, &err), 0);
	ck_assert_uint_eq(c.tlb_misses, 2);
	ck_assert_uint_eq(c.tlb_hits, 1);
	ck_assert(tr(0, va, MM_ACCESS_READ).tlb_hit);
	ck_assert(!tr(1, va, MM_ACCESS_READ).tlb_hit); /* per CPU */
	/* CR3 reload: the direct map is global on 686, not under PTI on PAE; kernel text is
	 * global on both */
	ck_assert_int_eq(mm_flush_tlb(m, 0, true, &err), 0);
	ck_assert(tr(0, va, MM_ACCESS_READ).tlb_hit == !pae);
	ck_assert(tr(0, text, MM_ACCESS_READ).tlb_hit);
	ck_assert_int_eq(mm_invlpg(m, 0, text, &err), 0);
	ck_assert(!tr(0, text, MM_ACCESS_READ).tlb_hit);

	/* make the PTE of va point elsewhere behind the TLB's back */
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_KERNEL, va, 1, &v, &err), 0);
	t = tr(0, va, MM_ACCESS_READ);
	ck_assert(t.tlb_hit);
	/* the TLB holds exactly va's page now: the text's large page went with invlpg */
	ck_assert_int_eq(mm_tlb_entries(m, 0, e, 64, &err), 1);
	ck_assert_uint_eq(e[0].va, va);
	ck_assert_uint_eq(e[0].phys, 0x60000);
	ck_assert_uint_eq(e[0].page_size, 4096);
	ck_assert(e[0].global == !pae);
	pte = t.levels[t.nr_levels - 1].entry_addr;
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, pte, pae ? 8 : 4, raw, &err), 0);
	raw[1] ^= 0x10; /* frame + 1, written as the kernel's set_pte() would: through the
			 * direct map (a physical write into its page table is refused) */
	ck_assert_int_eq(
		mm_mem_write(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + pte, raw, pae ? 8 : 4, &err), 0);
	t = tr(0, va, MM_ACCESS_READ);
	ck_assert_uint_eq(t.phys, 0x60000); /* stale: the TLB still says the old frame */
	ck_assert_int_eq(mm_invlpg(m, 0, va, &err), 0);
	t = tr(0, va, MM_ACCESS_READ);
	ck_assert_uint_eq(t.phys, 0x61000);
	raw[1] ^= 0x10;
	ck_assert_int_eq(
		mm_mem_write(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + pte, raw, pae ? 8 : 4, &err), 0);
	ck_assert_int_eq(mm_get_cpu(m, 0, &c, &err), 0);
	ck_assert_uint_eq(c.tlb_invlpgs, 3); /* and the boot's one: set_memory_ro of a BPF page */
	ck_assert_uint_eq(c.tlb_flushes, 1);
	/* invlpg dropped va's page, and the page walks of tr() fill nothing: the one entry is
	 * the direct map's page that the kernel's writes to the PTE went through */
	ck_assert_int_eq(mm_tlb_entries(m, 0, e, 64, &err), 1);
	ck_assert_uint_le(e[0].phys, pte);
	ck_assert_uint_gt(e[0].phys + e[0].page_size, pte);
	ck_assert_uint_eq(e[0].va, PAGE_OFFSET + e[0].phys);
}

/* A physical write into the kernel's own frames is refused; forced, it is done and taints
 * the machine (issue 15: it silently overwrote the page directory and the image). */
START_TEST(phys_write_into_the_kernel)
{
	static const bool flavours[] = {false, true};

	for (size_t f = 0; f < 2; f++) {
		struct mm_error err = {0};
		struct mm_layout l;
		uint8_t nop = 0x90, back;
		uint64_t text;
		int rc;

		boot("512M", flavours[f], 1, "");
		mm_get_layout(m, &l);
		text = l.text_start + 0x2000;
		ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_PHYS, text, &nop, 1, &err), -EBUSY);
		ck_assert_ptr_nonnull(strstr(err.msg, "PG_reserved"));
		ck_assert_ptr_nonnull(strstr(err.msg, "force"));
		ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, text, 1, &back, &err), 0);
		ck_assert_uint_ne(back, nop);
		ck_assert(!mm_machine_tainted(m));
		rc = mm_mem_write_force(m, 0, MM_SPACE_PHYS, text, &nop, 1, &err);
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, text, 1, &back, &err), 0);
		ck_assert_uint_eq(back, nop);
		ck_assert(mm_machine_tainted(m));
		ck_assert_ptr_nonnull(strstr(mm_machine_taint(m), "forced physical write"));
		/* a frame nobody owns is written without force, and without a taint */
		if (!f) {
			mm_machine_destroy(m);
			m = NULL;
			boot("512M", false, 1, "");
			ck_assert_int_eq(
				mm_mem_write(m, 0, MM_SPACE_PHYS, 0x10000000, &nop, 1, &err), 0);
			ck_assert(!mm_machine_tainted(m));
			mm_machine_destroy(m);
			m = NULL;
		}
	}
}
END_TEST

START_TEST(tlb_686)
{
	tlb_rules(false);
}
END_TEST

START_TEST(tlb_pae)
{
	tlb_rules(true);
}
END_TEST

/* mm_check() sees a direct-map entry that points elsewhere, and a user-half entry. */
START_TEST(checker_sees_page_tables)
{
	struct mm_error err = {0};
	struct mm_translation t;
	struct mm_report rep = {0};
	uint8_t raw[4], bad[4];
	uint64_t pte;

	boot("256M", false, 1, "");
	t = tr(0, PAGE_OFFSET + 0x30000, MM_ACCESS_READ);
	pte = t.levels[1].entry_addr;
	ck_assert_int_eq(mm_mem_read(m, 0, MM_SPACE_PHYS, pte, 4, raw, &err), 0);
	memcpy(bad, raw, 4);
	bad[2] ^= 1; /* 64 KiB further */
	/* (the kernel's own page tables: written through the direct map, as the kernel would) */
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + pte, bad, 4, &err), 0);
	ck_assert_int_eq(mm_check(m, &rep), -EFAULT);
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + pte, raw, 4, &err), 0);
	ck_assert_int_eq(mm_check(m, &rep), 0);
	pte = t.levels[0].table + 4; /* pgd[1]: user half */
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + pte, bad, 4, &err), 0);
	ck_assert_int_eq(mm_check(m, &rep), -EFAULT);
	memset(bad, 0, 4);
	ck_assert_int_eq(mm_mem_write(m, 0, MM_SPACE_KERNEL, PAGE_OFFSET + pte, bad, 4, &err), 0);
}
END_TEST

/* ---- the final tables against page_tables_kernel ------------------------------------- */

struct top {
	int index;
	bool large;
	unsigned long long phys;
	char flags[40];
};

/* Part 1 lines: index, kind, and for large entries phys and flags. */
static int part1(const char *text, struct top *out, int max)
{
	const char *p = strstr(text, "## Part 1");
	int n = 0;

	ck_assert_ptr_nonnull(p);
	p = strchr(p, '\n') + 1;
	while (*p && *p != '\n' && n < max) {
		const char *nl = strchr(p, '\n');
		struct top *t = &out[n++];

		memset(t, 0, sizeof(*t));
		t->index = atoi(p);
		t->large = strstr(p, "large") && strstr(p, "large") < nl;
		if (t->large) {
			const char *ph = strstr(p, "phys=0x");

			t->phys = strtoull(ph + 7, NULL, 16);
			snprintf(t->flags, sizeof(t->flags), "%.*s", (int)(nl - (ph + 18)),
				 ph + 18);
		}
		p = nl + 1;
	}
	return n;
}

/* Part 2 ranges below high_memory, each as "start-end flags level". */
static int part2_direct(const char *text, uint32_t high, char lines[][128], int max)
{
	const char *p = strstr(text, "## Part 2");
	int n = 0;

	p = strchr(p, '\n') + 1;
	while (*p && n < max) {
		const char *nl = strchr(p, '\n');
		unsigned long start = strtoul(p, NULL, 16);

		if (!nl)
			break;
		if (start < high && start >= PAGE_OFFSET)
			snprintf(lines[n++], 128, "%.*s", (int)(nl - p < 127 ? nl - p : 127), p);
		p = nl + 1;
	}
	return n;
}

/* Part 2 lines of [lo, hi): each page's flags ("RW GLB x") and level ('t' pte, 'd' pde). */
static void part2_pages(const char *text, uint32_t lo, uint32_t hi, char (*flags)[32], char *lvl)
{
	const char *p = strstr(text, "## Part 2");

	p = strchr(p, '\n') + 1;
	while (*p) {
		const char *nl = strchr(p, '\n'), *f;
		unsigned long long s = strtoull(p, NULL, 16), e;
		uint64_t va;

		if (!nl)
			break;
		e = strtoull(strchr(p, '-') + 1, NULL, 16);
		f = strchr(p, 'K') ? p + 37 : p; /* the flags column after the size */
		for (va = s < lo ? lo : s; va < e && va < hi; va += 4096) {
			snprintf(flags[(va - lo) >> 12], 32, "%.*s",
				 (int)(nl - f < 24 ? nl - f : 24), f);
			lvl[(va - lo) >> 12] =
				strstr(p, " pde ") && strstr(p, " pde ") < nl ? 'd' : 't';
		}
		p = nl + 1;
	}
}

/* Part 2 lines of the vmalloc range without their physical targets. */
static int part2_vmalloc(const char *text, uint32_t vs, uint32_t ve, char lines[][128], int max)
{
	const char *p = strstr(text, "## Part 2");
	int n = 0;

	p = strchr(p, '\n') + 1;
	while (*p && n < max) {
		const char *nl = strchr(p, '\n'), *ph;
		unsigned long long s = strtoull(p, NULL, 16), e;

		if (!nl)
			break;
		e = strtoull(strchr(p, '-') + 1, NULL, 16);
		ph = strstr(p, "phys=");
		if (!ph || ph > nl)
			ph = nl;
		if (s >= vs && s < ve && e <= ve)
			snprintf(lines[n++], 128, "%.*s", (int)(ph - p < 127 ? ph - p : 127), p);
		p = nl + 1;
	}
	return n;
}

/* The physical address the part 2 line starting at @va maps, or 0. */
static uint64_t part2_phys_at(const char *text, uint32_t va)
{
	char key[16];
	const char *p, *ph;

	snprintf(key, sizeof(key), "\n0x%08x-", va);
	p = strstr(text, key);
	if (!p)
		return 0;
	ph = strstr(p, "phys=0x");
	return ph && ph < strchr(p + 1, '\n') ? strtoull(ph + 7, NULL, 16) : 0;
}

START_TEST(oracle_page_tables)
{
	static const char *const dirs[] = {
		"686-1024M",
		"686-1024M-dyn",
		"686-1024M-vmalloc256M",
		"686-128M",
		"686-2048M",
		"686-4096M",
		"686-512M",
		"686-512M-highmem256M",
		"686-pae-1024M",
		"686-pae-8192M",
	};
	struct top *real = calloc(600, sizeof(*real)), *mine = calloc(600, sizeof(*mine));
	char(*rl)[128] = calloc(400, 128), (*ml)[128] = calloc(400, 128);
	unsigned int d;

	for (d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char dir[1024];
		struct mm_config cfg;
		struct mm_error err = {0};
		struct mm_layout l;
		struct mm_buf b = {0};
		char *text;
		int nr, nm, i, j, nrl, nml, runtime = 0;

		snprintf(dir, sizeof(dir), "%s/%s", oracle_root(), dirs[d]);
		text = oracle_read(dir, "page_tables_kernel");
		ck_assert_msg(text != NULL, "%s: no page_tables_kernel", dir);
		ck_assert(oracle_config(dir, &cfg));
		ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "%s: %s", dir, err.msg);
		mm_get_layout(m, &l);
		ck_assert_int_eq(mm_page_tables_render(m, &b, &err), 0);
		nr = part1(text, real, 600);
		nm = part1(b.data, mine, 600);
		/* the top-level entries that exist, vmalloc's included */
		for (i = 0, j = 0; i < nr || j < nm;) {
			ck_assert_msg(i < nr && j < nm && real[i].index == mine[j].index,
				      "%s: top-level entry %d real, %d mine", dir,
				      i < nr ? real[i].index : -1, j < nm ? mine[j].index : -1);
			if (real[i].large != mine[j].large) {
				/* a large page split for a page made read-only at run time (a
				 * module or BPF allocation): allowed once, checked below */
				ck_assert_msg(!real[i].large && runtime++ == 0,
					      "%s: entry %d large %d/%d", dir, real[i].index,
					      real[i].large, mine[j].large);
			} else if (real[i].large) {
				ck_assert_uint_eq(real[i].phys, mine[j].phys);
				ck_assert_msg(!strcmp(real[i].flags, mine[j].flags),
					      "%s entry %d flags '%s', mine '%s'", dir,
					      real[i].index, real[i].flags, mine[j].flags);
			}
			i++;
			j++;
		}
		/* the vmalloc range: the same areas with the same flags (the frames behind
		 * them depend on the allocator's history, which slab and the drivers shape) */
		nrl = part2_vmalloc(text, l.vmalloc_start, l.vmalloc_end, rl, 400);
		nml = part2_vmalloc(b.data, l.vmalloc_start, l.vmalloc_end, ml, 400);
		ck_assert_int_eq(nrl, nml);
		for (i = 0; i < nrl; i++)
			ck_assert_msg(!strcmp(rl[i], ml[i]), "%s:\n real %s\n mine %s", dir, rl[i],
				      ml[i]);
		/* the direct map page by page: the same rights and page sizes, except where
		 * the BPF page (vmalloc'd, read-only, a lowmem frame on small machines) has
		 * its alias: that frame is the allocator's pick */
		{
			uint32_t np = (l.high_memory - PAGE_OFFSET) >> 12, pg,
				 pmd = cfg.pae ? 512 : 1024;
			char(*rf)[32] = calloc(np, 32), (*mf)[32] = calloc(np, 32);
			char *rlv = calloc(np, 1), *mlv = calloc(np, 1);
			uint64_t bpf_r = part2_phys_at(text, l.vmalloc_start + 0x7000) >> 12;
			uint64_t bpf_m = part2_phys_at(b.data, l.vmalloc_start + 0x7000) >> 12;

			ck_assert(bpf_r && bpf_m);
			part2_pages(text, PAGE_OFFSET, l.high_memory, rf, rlv);
			part2_pages(b.data, PAGE_OFFSET, l.high_memory, mf, mlv);
			for (pg = 0; pg < np; pg++) {
				bool near = pg / pmd == bpf_r / pmd || pg / pmd == bpf_m / pmd;

				if (pg == bpf_r || pg == bpf_m)
					continue;
				if (!near)
					ck_assert_msg(rlv[pg] == mlv[pg],
						      "%s: page %#x level %c/%c", dir, pg, rlv[pg],
						      mlv[pg]);
				ck_assert_msg(!strncmp(rf[pg], mf[pg], 20) ||
						      (near && rlv[pg] != mlv[pg]),
					      "%s: page %#x real '%s' mine '%s'", dir, pg, rf[pg],
					      mf[pg]);
			}
			free(rf);
			free(mf);
			free(rlv);
			free(mlv);
		}
		/* the direct map's merged ranges: RW/ro, PSE, GLB, NX|x and physical targets */
		nrl = part2_direct(text, l.high_memory, rl, 400);
		nml = part2_direct(b.data, l.high_memory, ml, 400);
		if (!runtime &&
		    (part2_phys_at(text, l.vmalloc_start + 0x7000) >> 12) >= l.max_low_pfn) {
			ck_assert_int_eq(nrl, nml);
			for (i = 0; i < nrl; i++)
				ck_assert_msg(!strcmp(rl[i], ml[i]), "%s:\n real %s\n mine %s", dir,
					      rl[i], ml[i]);
		} else {
			/* the same lines up to the split large page */
			for (i = 0; i < nrl && i < nml && !strcmp(rl[i], ml[i]); i++)
				;
			ck_assert_int_ge(i, 6);
		}
		free(text);
		mm_buf_free(&b);
		check_teardown();
	}
	free(real);
	free(mine);
	free(rl);
	free(ml);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("paging");
	TCase *tc = tcase_create("paging");

	tcase_add_checked_fixture(tc, NULL, check_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, phases_686);
	tcase_add_test(tc, phases_pae);
	tcase_add_test(tc, stopped_machine_must_boot);
	tcase_add_test(tc, translations_686);
	tcase_add_test(tc, translations_pae);
	tcase_add_test(tc, memory_access);
	tcase_add_test(tc, phys_write_into_the_kernel);
	tcase_add_test(tc, tlb_686);
	tcase_add_test(tc, tlb_pae);
	tcase_add_test(tc, checker_sees_page_tables);
	tcase_add_test(tc, oracle_page_tables);
	suite_add_tcase(s, tc);
	return s;
}
