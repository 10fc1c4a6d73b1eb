/* SPDX-License-Identifier: MIT */
/*
 * machine.c - creating, booting and destroying an emulated i386 PC.
 *
 * Mirrors the memory-management part of the kernel's boot, in its order, cut into the
 * phases a machine can stop after (enum mm_boot_phase). Each phase is one kernel seam and
 * lives in the file of the kernel function it mirrors:
 *   early_page_tables   head_32.S: mk_early_pgtbl_32()                (init_32.c)
 *   paging_enabled      head_32.S: CR0.PG                             (init_32.c)
 *   memblock            setup_arch() up to reserve_real_mode()        (setup_arch.c)
 *   final_page_tables   setup_arch() from init_mem_mapping()          (setup_arch.c)
 *   buddy               start_kernel(): free_area_init() (free_area_init.c), mem_init()
 *                       (mem_init.c), the initcalls, kernel_init()    (start_kernel.c)
 * This file keeps what has no kernel twin: the configuration, the firmware the kernel
 * boots on, the phase sequence and the machine's lifecycle. The read-only views of
 * mmcore.h are in views.c.
 * The boot is deterministic: the same configuration gives the same machine, which is what
 * lets a stopped machine be checked by a scratch boot, and replay reproduce a session.
 * What depends on the kernel binary (image sections, per-CPU unit, small early
 * allocations) comes from struct mm_kernel_image, whose defaults model Debian's kernels.
 * Invariants: m->phase is the last phase completed (-1 before the first); a phase that
 * fails leaves the machine to be destroyed (create) or tainted (boot_continue).
 */
#include "machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "page_alloc.h"
#include "snapshot.h"

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
	cfg->boot_model = MM_BOOT_MODEL;
	mm_kernel_image_defaults(&cfg->image, pae);
}

uint64_t mm_config_host_bytes(const struct mm_config *cfg)
{
	/* QEMU's pc map moves what does not fit below its 3 GiB PCI hole above 4 GiB */
	uint64_t end = cfg->mem > (3ull << 30) ? cfg->mem + (1ull << 30) : cfg->mem;

	for (unsigned int i = 0; i < cfg->nr_e820 && i < MM_MAX_E820; i++)
		end = i ? MM_MAX(end, cfg->e820[i].addr + cfg->e820[i].size)
			: cfg->e820[i].addr + cfg->e820[i].size;
	return (end >> PAGE_SHIFT) * (sizeof(struct page) + 1) + (1ull << 20);
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
	if (cfg->boot_model > MM_BOOT_MODEL)
		return mm_set_error(err, -EINVAL, "boot_model must be 1..%u, not %u", MM_BOOT_MODEL,
				    cfg->boot_model);
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
int pgstate_cover(struct mm_machine *m, pfn_t pfns)
{
	pfn_t n = (pfns + MAX_ORDER_NR_PAGES - 1) & ~(pfn_t)(MAX_ORDER_NR_PAGES - 1);
	uint8_t *p;

	if (n <= m->pgstate_pfns)
		return 0;
	p = host_realloc(m->host, m->pgstate, n, 1);
	if (!p)
		return -ENOMEM;
	memset(p + m->pgstate_pfns, 0, n - m->pgstate_pfns);
	m->pgstate = p;
	m->pgstate_pfns = n;
	return 0;
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
	return setup_arch_memblock(m, err);
}

static int boot_final_page_tables(struct mm_machine *m, struct mm_error *err)
{
	return setup_arch_final_page_tables(m, err);
}

/* Zones, mem_map and the buddy allocator, the other CPUs, the initcalls: a running kernel. */
static int boot_buddy(struct mm_machine *m, struct mm_error *err)
{
	return start_kernel(m, err);
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

/* A boot step whose log line found no host memory: the log would lack it, so the boot
 * fails as any other host allocation failure does. */
static int boot_log_status(struct mm_machine *m, struct mm_error *err)
{
	if (mm_buf_status(&m->log.text))
		return mm_set_error(err, -ENOMEM, "out of host memory for the kernel log");
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
	if (!r)
		r = boot_log_status(m, err);
	if (r) { /* cannot happen: mm_machine_create() booted this configuration through */
		m->tainted = true;
		snprintf(m->diag, sizeof(m->diag), "boot failed in phase '%s': %.180s",
			 mm_boot_phase_name(m->phase + 1), err ? err->msg : "");
		return mm_set_error(err, -EFAULT, "%s", m->diag);
	}
	return 0;
}

/* Page-table geometry of the flavour (arch/x86/include/asm/pgtable-{2,3}level_types.h). */
static void set_geometry(struct mm_machine *m)
{
	if (m->cfg.pae)
		m->geo = (struct paging_geometry){21, 9, 512, 1ULL << 24, 512};
	else
		m->geo = (struct paging_geometry){22, 10, 1024, 1ULL << 20, 1024};
}

int mm_machine_create(const struct mm_config *cfg, struct mm_machine **ret, struct mm_error *err)
{
	return mm_machine_create_host(cfg, NULL, ret, err);
}

void mm_machine_set_host(struct mm_machine *m, struct mm_host *host)
{
	m->host = m->log.text.host = host;
	m->memblock.memory.host = m->memblock.reserved.host = host;
}

int mm_machine_create_host(const struct mm_config *cfg, struct mm_host *host,
			   struct mm_machine **ret, struct mm_error *err)
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
		struct mm_config *full = host_calloc(host, 1, sizeof(*full));

		if (!full)
			return mm_set_error(err, -ENOMEM, "out of host memory for the machine");
		*full = *cfg;
		full->stop_after = MM_PHASE_BUDDY;
		r = mm_machine_create_host(full, host, &m, err);
		host_free(full);
		if (r)
			return r;
		mm_machine_destroy(m);
	}
	m = host_calloc(host, 1, sizeof(*m));
	if (!m)
		return mm_set_error(err, -ENOMEM, "out of host memory for the machine");
	m->host = m->log.text.host = host;
	m->cfg = *cfg;
	r = cmdline_parse(cfg->cmdline, &m->cmdline, err);
	if (r)
		goto out_free;
	set_geometry(m);
	m->cpu_pse = true; /* -cpu qemu32,+pse36,+nx */
	m->cpu_pge = true;
	m->cpu_nx = cfg->pae;
	m->init_on_alloc = true; /* Debian: CONFIG_INIT_ON_ALLOC_DEFAULT_ON=y */
	m->pgdat.nr_cpus = cfg->cpus;
	pgdat_init_tunables(&m->pgdat);
	r = memblock_init(&m->memblock, host);
	if (r) {
		mm_set_error(err, r, "out of host memory");
		goto out_free;
	}
	for (i = 0; i < cfg->cpus; i++) {
		r = tlb_init(&m->cpus[i].tlb, cfg->tlb_entries, host);
		if (r) {
			mm_set_error(err, r, "out of host memory for the TLBs");
			goto out_free;
		}
	}
	m->phase = -1;
	r = boot_to(m, cfg->stop_after, err);
	if (!r)
		r = boot_log_status(m, err);
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
	vmalloc_finish(m);
	if (m->share)
		host_share_close(m->share->fd);
	host_free(m->share);
	host_free(m);
}

/* ---- snapshot section MACH: the configuration and the machine's own scalars ---------- */

static void config_snap_save(const struct mm_config *cfg, struct snap_out *o)
{
	const struct mm_kernel_image *img = &cfg->image;
	unsigned int i;

	snap_put_u64(o, cfg->mem);
	snap_put_bool(o, cfg->pae);
	snap_put_u32(o, cfg->cpus);
	snap_put_str(o, cfg->cmdline);
	snap_put_u64(o, cfg->initrd_size);
	snap_put_i32(o, cfg->stop_after);
	snap_put_u32(o, cfg->tlb_entries);
	snap_put_u32(o, cfg->nr_e820);
	for (i = 0; i < cfg->nr_e820; i++) {
		snap_put_u64(o, cfg->e820[i].addr);
		snap_put_u64(o, cfg->e820[i].size);
		snap_put_u32(o, cfg->e820[i].type);
	}
	snap_put_u32(o, img->text);
	snap_put_u32(o, img->rodata);
	snap_put_u32(o, img->rodata_gap);
	snap_put_u32(o, img->rwdata);
	snap_put_u32(o, img->data_gap);
	snap_put_u32(o, img->init);
	snap_put_u32(o, img->smp_locks);
	snap_put_u32(o, img->bss_gap);
	snap_put_u32(o, img->bss);
	snap_put_u32(o, img->brk_other);
	snap_put_u32(o, img->percpu_unit);
	snap_put_u32(o, img->percpu_static);
	snap_put_u32(o, img->early_misc);
}

static void config_snap_load(struct mm_config *cfg, struct snap_in *in)
{
	struct mm_kernel_image *img = &cfg->image;
	unsigned int i;

	cfg->mem = snap_get_u64(in);
	cfg->pae = snap_get_bool(in);
	cfg->cpus = snap_get_u32(in);
	snap_get_str(in, cfg->cmdline, sizeof(cfg->cmdline));
	cfg->initrd_size = snap_get_u64(in);
	cfg->stop_after = snap_get_i32(in);
	cfg->tlb_entries = snap_get_u32(in);
	cfg->nr_e820 = snap_get_count(in, MM_MAX_E820, "the firmware map's entries");
	for (i = 0; i < cfg->nr_e820; i++) {
		cfg->e820[i].addr = snap_get_u64(in);
		cfg->e820[i].size = snap_get_u64(in);
		cfg->e820[i].type = snap_get_u32(in);
	}
	img->text = snap_get_u32(in);
	img->rodata = snap_get_u32(in);
	img->rodata_gap = snap_get_u32(in);
	img->rwdata = snap_get_u32(in);
	img->data_gap = snap_get_u32(in);
	img->init = snap_get_u32(in);
	img->smp_locks = snap_get_u32(in);
	img->bss_gap = snap_get_u32(in);
	img->bss = snap_get_u32(in);
	img->brk_other = snap_get_u32(in);
	img->percpu_unit = snap_get_u32(in);
	img->percpu_static = snap_get_u32(in);
	img->early_misc = snap_get_u32(in);
}

/*
 * MACH v1: struct mm_config as the machine was created, then the boot's own state: the
 * phase reached, the taint and its message, the CPU features, the early parameters' results
 * and the boot-time bookkeeping the Memory: line and meminfo show.
 */
void machine_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	config_snap_save(&m->cfg, o);
	snap_put_i32(o, m->phase);
	snap_put_bool(o, m->tainted);
	snap_put_str(o, m->diag);
	snap_put_bool(o, m->cpu_pse);
	snap_put_bool(o, m->cpu_pge);
	snap_put_bool(o, m->cpu_nx);
	snap_put_bool(o, m->e820_userdef);
	snap_put_i64(o, m->highmem_pages);
	snap_put_bool(o, m->init_on_alloc);
	snap_put_bool(o, m->init_on_free);
	snap_put_u64(o, m->percpu_pages);
	snap_put_u64(o, m->direct_pages_4k);
	snap_put_u64(o, m->direct_pages_large);
	snap_put_u64(o, m->initrd_start);
	snap_put_u64(o, m->initrd_end);
	snap_put_u64(o, m->swiotlb_bytes);
	snap_put_u64(o, m->swiotlb_base);
	snap_put_u32(o, m->cfg.boot_model); /* v2 */
}

int machine_snap_load(struct mm_machine *m, struct snap_in *in)
{
	struct mm_error e = {0};
	int r;

	config_snap_load(&m->cfg, in);
	m->phase = snap_get_i32(in);
	m->tainted = snap_get_bool(in);
	snap_get_str(in, m->diag, sizeof(m->diag));
	m->cpu_pse = snap_get_bool(in);
	m->cpu_pge = snap_get_bool(in);
	m->cpu_nx = snap_get_bool(in);
	m->e820_userdef = snap_get_bool(in);
	m->highmem_pages = (long)snap_get_i64(in);
	m->init_on_alloc = snap_get_bool(in);
	m->init_on_free = snap_get_bool(in);
	m->percpu_pages = snap_get_u64(in);
	m->direct_pages_4k = snap_get_u64(in);
	m->direct_pages_large = snap_get_u64(in);
	m->initrd_start = snap_get_u64(in);
	m->initrd_end = snap_get_u64(in);
	m->swiotlb_bytes = snap_get_u64(in);
	m->swiotlb_base = snap_get_u64(in);
	/* v1 was written before the boot model had revisions: it booted as revision 1 */
	m->cfg.boot_model = in->version >= 2 ? snap_get_u32(in) : MM_BOOT_MODEL_NO_VMALLOC_AREAS;
	if (in->ret)
		return in->ret;
	/* the configuration passes what mm_machine_create() demands of one */
	if (validate_config(&m->cfg, &e))
		return snap_corrupt(in, "its configuration: %s", e.msg);
	if (m->phase < MM_PHASE_EARLY_PAGE_TABLES || m->phase >= MM_NR_BOOT_PHASES)
		return snap_corrupt(in, "boot phase %d", m->phase);
	if (m->highmem_pages < -1)
		return snap_corrupt(in, "highmem= of %ld pages", m->highmem_pages);
	r = cmdline_parse(m->cfg.cmdline, &m->cmdline, &e);
	if (r == -ENOMEM)
		return snap_nomem(in, "the command line");
	if (r)
		return snap_corrupt(in, "its command line: %s", e.msg);
	set_geometry(m);
	return 0;
}
