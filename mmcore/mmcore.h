/* SPDX-License-Identifier: MIT */
/*
 * mmcore.h - the one public interface of mmcore, the emulated i386 memory manager.
 *
 * mmcore models the memory management of a Linux 6.1 i386 kernel (Debian's 686 and
 * 686-pae flavours) inside an emulated PC: the e820 map, memblock, the virtual layout,
 * the kernel's page tables in emulated RAM with per-CPU TLBs, zones, the buddy allocator
 * with its per-CPU lists, watermarks, the /proc views, and the machine as a snapshot.
 *
 * Rules that hold for everything declared here:
 *  - Pure C11 over libc: no I/O, no logging, no threads, no global state.
 *  - Every call that can fail returns 0 or a negative errno and, when @err is not NULL,
 *    fills it with a message a person can act on:
 *      -EINVAL  bad argument (order, size, address, configuration)        -> HTTP 422
 *      -ENOENT  no such object (sysctl, file, zone)                       -> HTTP 404
 *      -EBUSY   object in use                                             -> HTTP 409
 *      -ENOSPC  emulated memory exhausted (a fact about the guest)        -> HTTP 409
 *      -EDEADLK a call that may sleep on a CPU in atomic context          -> HTTP 409
 *      -ENOMEM  the host could not allocate                               -> HTTP 503
 *      -EAGAIN  the machine has not booted that far (names the phase)     -> HTTP 409
 *      -EACCES  the emulated CPU faulted (page fault, in the oops words)  -> HTTP 422
 *      -EFAULT  an invariant was violated; the machine is tainted         -> HTTP 500
 *  - One machine is driven by one thread at a time; the caller serializes.
 *  - Destructors accept NULL.
 */
#ifndef MMCORE_H
#define MMCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_VERSION_KERNEL "6.1"
#define MM_NR_CPUS 32 /* CONFIG_NR_CPUS of Debian's i386 kernels */
#define MM_MAX_RAM (64ULL << 30)
#define MM_MAX_E820 128
#define MM_CMDLINE_MAX 2048
#define MM_ERR_MAX 256

struct mm_machine;

/* An error: a negative errno and a message. */
struct mm_error {
	int code;
	char msg[MM_ERR_MAX];
};

/* E820 entry types (arch/x86/include/asm/e820/types.h). */
#define MM_E820_RAM 1u
#define MM_E820_RESERVED 2u
#define MM_E820_ACPI 3u
#define MM_E820_NVS 4u
#define MM_E820_UNUSABLE 5u
#define MM_E820_PMEM 7u
#define MM_E820_PRAM 12u
#define MM_E820_SOFT_RESERVED 0xefffffffu
#define MM_E820_RESERVED_KERN 128u

struct mm_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/*
 * The kernel image and the boot-time allocations that depend on the kernel binary.
 * Defaults model Debian's linux-image-6.1.0-*-686(-pae) (see mm_config_init()).
 * Sizes in bytes.
 */
struct mm_kernel_image {
	uint32_t text;	      /* _stext.._etext: "kernel code" */
	uint32_t rodata;      /* __start_rodata..__end_rodata */
	uint32_t rodata_gap;  /* __end_rodata.._sdata */
	uint32_t rwdata;      /* _sdata.._edata */
	uint32_t data_gap;    /* _edata..__init_begin: page-aligned data, exception tables */
	uint32_t init;	      /* __init_begin..__init_end, freed after the initcalls */
	uint32_t smp_locks;   /* .smp_locks, freed as "SMP alternatives memory" */
	uint32_t bss_gap;     /* __init_end+smp_locks..__bss_start */
	uint32_t bss;	      /* __bss_start..__bss_stop */
	uint32_t brk_other;   /* RESERVE_BRK() users besides the early page tables (dmi_alloc...) */
	uint32_t percpu_unit; /* first-chunk unit per possible CPU (pcpu u%zu) */
	uint32_t percpu_static; /* static per-CPU data (pcpu s%zu) */
	uint32_t early_misc;	/* other early memblock allocations (ACPI, pcpu maps, ...) */
};

struct mm_config {
	uint64_t mem;	   /* RAM bytes handed to QEMU's -m */
	bool pae;	   /* 686-pae (HIGHMEM64G, 3-level) instead of 686 (HIGHMEM4G, 2-level) */
	unsigned int cpus; /* 1..MM_NR_CPUS */
	char cmdline[MM_CMDLINE_MAX];
	/* initrd bytes the boot loader places at the top of low RAM (QEMU -initrd); the
	 * default is the oracle kernels' 1 MiB initramfs, 0 boots without one */
	uint64_t initrd_size;
	/* boot up to and including this phase (enum mm_boot_phase); mm_boot_continue() goes
	 * on from there. Default MM_PHASE_BUDDY: the whole boot */
	int stop_after;
	unsigned int tlb_entries; /* per CPU, 4 KiB entries (4-way); 0: 64 */
	unsigned int nr_e820;	  /* 0: QEMU's pc map for @mem; else the firmware map below */
	struct mm_e820_entry e820[MM_MAX_E820];
	struct mm_kernel_image image;
	/* The revision of mm32's model of the boot the machine boots with (MM_BOOT_MODEL_*).
	 * A machine keeps the one it was created with, so that its stored journal replays to
	 * the same state after a later mm32 models more of the boot; 0: the latest. */
	unsigned int boot_model;
};
/* 1: before the vmalloc areas of the boot (the vmalloc range starts empty); 2: with them
 * (ACPI, HPET, the BPF page and its direct-map split, SMBIOS, crypto scratch, n_tty). */
#define MM_BOOT_MODEL_NO_VMALLOC_AREAS 1u
/* 2: before the cpu_entry_area's fill (setup_cpu_entry_areas(), the IDT alias) and the boot
 * layout under it (pcpu_embed_first_chunk's freed hole, dmi_setup()'s brk page, PAE's
 * contiguous kmap_local PTE pages); 3: with them. */
#define MM_BOOT_MODEL_NO_CPU_ENTRY_AREA 2u
/* 3: SLUB's boot pages deferred to first use (kmem_cache and kmem_cache_node empty on a fresh
 * machine) and vmalloc's page arrays kmalloc'd nowhere; 4: kmem_cache_init()'s bootstrap
 * slabs and every cache's struct kmem_cache and kmem_cache_node objects at creation, and
 * __vmalloc_area_node()'s page array (kmalloc'd up to a page, else vmalloc'd). */
#define MM_BOOT_MODEL_NO_SLAB_PAGES 3u
/* the latest (MM_BOOT_REVISION): mm_config_init()'s and POST /v1/machines' default */
#define MM_BOOT_MODEL 4u

/*
 * The boot as phases a machine can stop after, in the kernel's order:
 *  early_page_tables  head_32.S built initial_page_table (identity + PAGE_OFFSET) in brk;
 *                     paging is still off
 *  paging_enabled     CR0.PG is set on the boot CPU, CR3 = initial_page_table
 *  memblock           setup_arch(): swapper_pg_dir loaded (the identity mapping dropped),
 *                     e820 sanitized, early parameters applied, memblock reservations made
 *  final_page_tables  init_mem_mapping(): the direct map of lowmem with large pages, the
 *                     fixmap and pkmap page tables; max_low_pfn, high_memory
 *  buddy              zones, mem_map, the buddy allocator, the other CPUs, the initcalls,
 *                     mark_rodata_ro(): the machine runs
 */
enum mm_boot_phase {
	MM_PHASE_EARLY_PAGE_TABLES,
	MM_PHASE_PAGING_ENABLED,
	MM_PHASE_MEMBLOCK,
	MM_PHASE_FINAL_PAGE_TABLES,
	MM_PHASE_BUDDY,
	MM_NR_BOOT_PHASES
};
const char *mm_boot_phase_name(int phase);
/* The phase named @name, or -1. */
int mm_boot_phase_parse(const char *name);
/* The last phase the machine completed. */
int mm_machine_phase(const struct mm_machine *m);
/* True once an invariant broke or a boot step failed: every changing call is -EFAULT. */
bool mm_machine_tainted(const struct mm_machine *m);
/* Why: the first warning ("<function>: <check>"), or NULL when the machine is clean. */
const char *mm_machine_taint(const struct mm_machine *m);
/*
 * Go on booting through @until (a phase after the current one; -1: the next phase).
 * -EINVAL for a phase already reached. mm_machine_create() of a machine that stops early
 * boots a scratch copy of its configuration through first and refuses what would not
 * boot, so a boot step cannot fail here; if one did, the machine is tainted (-EFAULT).
 * Calls that need a later phase than the machine has reached fail with -EAGAIN and a
 * message naming the phase they need.
 */
int mm_boot_continue(struct mm_machine *m, int until, struct mm_error *err);

/* Fill @cfg with the defaults: 1 GiB, 686, 1 CPU, empty command line, Debian's image,
 * MM_DEFAULT_INITRD bytes of initrd, the whole boot, 64 TLB entries. */
#define MM_DEFAULT_INITRD 0x105749u
void mm_config_init(struct mm_config *cfg, bool pae);
/* Reset @img to the defaults of the flavour. */
void mm_kernel_image_defaults(struct mm_kernel_image *img, bool pae);

/* Create and boot a machine; on success *@ret owns it (mm_machine_destroy()). */
int mm_machine_create(const struct mm_config *cfg, struct mm_machine **ret, struct mm_error *err);

/*
 * Host allocations, counted, and failed on purpose (tests: Jansson's test_chaos, SQLite's
 * malloc failure loop). The caller owns the context; a machine borrows it.
 * @nr_allocs: host allocations made through it so far;
 * @fail_nth:  the allocation with this number (1-based) fails; 0: none does.
 * A failed host allocation is -ENOMEM (HTTP 503), and the call that met it leaves nothing
 * behind: a boot frees all it made, a view gives nothing back.
 */
struct mm_host {
	uint64_t nr_allocs;
	uint64_t fail_nth;
};
/* mm_machine_create() counting every allocation of the boot in @host (may be NULL); the
 * machine keeps @host for its later calls (mm_machine_set_host()). */
int mm_machine_create_host(const struct mm_config *cfg, struct mm_host *host,
			   struct mm_machine **ret, struct mm_error *err);
/* Count (and fail) the host allocations of @m's later calls in @host; NULL stops it. */
void mm_machine_set_host(struct mm_machine *m, struct mm_host *host);
void mm_machine_destroy(struct mm_machine *m);

/*
 * Cheap machines (clone.c): many machines of one configuration share one booted template.
 * mm_machine_share() moves @m's mem_map and RAM into a sealed host memory file that @m and
 * its clones map copy-on-write; @m stays a working machine (0, -ENOMEM, or -EFAULT when
 * tainted; sharing twice is a no-op). mm_machine_clone() gives a machine in exactly
 * @tmpl's state (the same snapshot bytes, RAM, views, and so every later answer) in about
 * a millisecond, whose frames cost host memory only once it writes them, a 4 KiB host page
 * (128 struct pages, or one frame of RAM) at a time: the host's MMU copies a page the first
 * time a clone writes it, so no write can reach the template or another clone. -EINVAL if
 * @tmpl is not shared (mm_machine_share() first) or tainted; -ENOMEM. The clone counts its
 * later allocations in @host (may be NULL); the file lives while any machine maps it.
 */
int mm_machine_share(struct mm_machine *m, struct mm_error *err);
int mm_machine_clone(const struct mm_machine *tmpl, struct mm_host *host, struct mm_machine **ret,
		     struct mm_error *err);
/* Whether two configurations boot the same machine (every field of struct mm_config). */
bool mm_config_same(const struct mm_config *a, const struct mm_config *b);
const struct mm_config *mm_machine_config(const struct mm_machine *m);
/*
 * An upper bound of the host memory a machine of @cfg holds from its creation on: mem_map
 * (one struct page per frame up to max_pfn: the end of the e820 map, which QEMU's PCI hole
 * pushes 1 GiB past the RAM above 3 GiB), the host's bookkeeping per frame, and a MiB for
 * TLBs, logs and tables. The RAM
 * the guest writes comes on top, a frame at a time (the rest stays unmapped).
 */
uint64_t mm_config_host_bytes(const struct mm_config *cfg);

/* ---- read-only views ---------------------------------------------------------------- */

enum mm_zone_type { MM_ZONE_DMA, MM_ZONE_NORMAL, MM_ZONE_HIGHMEM, MM_ZONE_MOVABLE, MM_NR_ZONES };
#define MM_MAX_ORDER 11
#define MM_MIGRATE_TYPES 5

const char *mm_zone_name(int zone);
const char *mm_migratetype_name(int mt);

/* The virtual address layout of the machine (arch/x86/include/asm/pgtable_32_areas.h). */
struct mm_layout {
	uint32_t page_offset;
	uint32_t high_memory;
	uint32_t vmalloc_offset;
	uint32_t vmalloc_start;
	uint32_t vmalloc_end;
	uint32_t vmalloc_reserve; /* __VMALLOC_RESERVE */
	uint32_t pkmap_base;
	uint32_t last_pkmap;
	uint32_t ldt_base;
	uint32_t cpu_entry_area_base;
	uint32_t cpu_entry_area_pages;
	uint32_t fixaddr_top;
	uint32_t fixaddr_start;
	uint32_t fixaddr_tot_start;
	uint32_t maxmem_pfn;
	uint32_t max_low_pfn;
	uint32_t max_pfn;
	uint32_t highstart_pfn;
	uint32_t highend_pfn;
	uint32_t max_pfn_mapped;
	uint32_t pmd_size;
	unsigned int pageblock_order;
	/* physical placement of the kernel image */
	uint64_t text_start, text_end, rodata_start, rodata_end, data_start, data_end;
	uint64_t init_start, init_end, bss_start, bss_end, brk_start, brk_end, image_end;
};
void mm_get_layout(const struct mm_machine *m, struct mm_layout *out);

struct mm_pcp_info {
	int count;
	int high;
	int batch;
};

struct mm_zone_info {
	const char *name;
	bool populated;
	uint32_t zone_start_pfn;
	uint32_t spanned;
	uint32_t present;
	uint32_t managed;
	uint64_t free;
	uint32_t wmark_min, wmark_low, wmark_high, wmark_promo;
	uint32_t watermark_boost;
	long lowmem_reserve[MM_NR_ZONES];
	uint32_t nr_free[MM_MAX_ORDER]; /* blocks per order */
	uint32_t nr_free_mt[MM_MAX_ORDER][MM_MIGRATE_TYPES];
	uint32_t nr_reserved_highatomic;
	int stat_threshold;
	unsigned int nr_cpus;
	struct mm_pcp_info pcp[MM_NR_CPUS];
};
int mm_get_zone(const struct mm_machine *m, int zone, struct mm_zone_info *out);

/* Global counters (pages unless noted). */
struct mm_totals {
	uint64_t totalram_pages;
	uint64_t totalhigh_pages;
	uint64_t totalreserve_pages;
	uint64_t nr_free_pages;
	uint64_t present_pages;
	int min_free_kbytes;
	int user_min_free_kbytes;
	int watermark_scale_factor;
	int watermark_boost_factor;
	int lowmem_reserve_ratio[MM_NR_ZONES];
	int percpu_pagelist_high_fraction;
	bool mobility_grouping;
	unsigned int movable_zone;
};
void mm_get_totals(const struct mm_machine *m, struct mm_totals *out);

/* The sanitized e820 table the kernel ended with (after mem=, memmap=, trim). */
unsigned int mm_e820_count(const struct mm_machine *m);
int mm_e820_get(const struct mm_machine *m, unsigned int i, struct mm_e820_entry *out);
/* The firmware table as handed over, before sanitizing. */
unsigned int mm_e820_firmware_count(const struct mm_machine *m);
int mm_e820_firmware_get(const struct mm_machine *m, unsigned int i, struct mm_e820_entry *out);
const char *mm_e820_type_name(uint32_t type);

/* memblock regions: type 0 = memory, 1 = reserved. @name says who reserved it. */
struct mm_memblock_region {
	uint64_t base;
	uint64_t size;
	const char *name;
};
unsigned int mm_memblock_count(const struct mm_machine *m, int type);
int mm_memblock_get(const struct mm_machine *m, int type, unsigned int i,
		    struct mm_memblock_region *out);

/* ---- text views in the kernel's exact formats ------------------------------------- */

/* A growable text buffer owned by the caller; release with mm_buf_free(). */
struct mm_buf {
	char *data;
	size_t len;
	size_t cap;
	struct mm_host *host; /* counts its growth (see struct mm_host); NULL: not counted */
};
void mm_buf_free(struct mm_buf *b);

/* @file: "zoneinfo", "buddyinfo", "pagetypeinfo", "meminfo", "vmstat", "slabinfo".
 * -ENOENT otherwise. */
int mm_proc_render(const struct mm_machine *m, const char *file, struct mm_buf *out,
		   struct mm_error *err);
/* The kernel log, one line per message, with "[    0.000000] " style timestamps. */
int mm_dmesg_render(const struct mm_machine *m, struct mm_buf *out, struct mm_error *err);

/* ---- sysctls (/proc/sys/vm) ------------------------------------------------------- */

/* Names: min_free_kbytes, watermark_scale_factor, watermark_boost_factor,
 * lowmem_reserve_ratio, percpu_pagelist_high_fraction. -ENOENT for others. */
int mm_sysctl_get(const struct mm_machine *m, const char *name, struct mm_buf *out,
		  struct mm_error *err);
/* @value as written to /proc/sys/vm/@name ("8192", "256 32 0 0"); -EINVAL when the
 * kernel's handler would refuse it. The machine is unchanged on failure. */
int mm_sysctl_set(struct mm_machine *m, const char *name, const char *value, struct mm_error *err);
/* The names, NULL-terminated. */
extern const char *const mm_sysctl_names[];

/* ---- the page allocator (mm/page_alloc.c) ----------------------------------------- */

/*
 * GFP masks hold the kernel's bit values (include/linux/gfp_types.h): GFP_KERNEL 0xcc0,
 * GFP_ATOMIC 0xa20, GFP_HIGHUSER_MOVABLE 0x100cca, __GFP_ZERO 0x100, __GFP_COMP 0x40000...
 */
typedef uint32_t mm_gfp_t;

/* Parse a mask as the kernel writes it: names joined by '|' ("GFP_KERNEL|__GFP_ZERO"),
 * each a GFP_* composite or a __GFP_* bit; a number ("0xcc0", "3264") is accepted as a
 * term too. -EINVAL naming the unknown term or a bit above __GFP_BITS_SHIFT. */
int mm_gfp_parse(const char *text, mm_gfp_t *ret, struct mm_error *err);
/* Format as printk's %pGg does ("GFP_KERNEL|__GFP_COMP", leftovers as 0x..); "0" for none.
 * Returns the length it needed, as snprintf does. */
size_t mm_gfp_format(mm_gfp_t gfp, char *buf, size_t size);

/* What alloc_pages() handed out. */
struct mm_page_alloc {
	uint32_t pfn;
	unsigned int order;
	int zone;	 /* enum mm_zone_type */
	int migratetype; /* of the allocation (gfp_migratetype) */
	bool lowmem;	 /* in the direct map */
	uint32_t vaddr;	 /* page_address(): kernel virtual address of lowmem, else 0 */
};

/*
 * alloc_pages(@gfp, @order) issued by CPU @cpu: the fast path over the zonelist at the low
 * watermark, then the slow path (kswapd wake-up recorded, the min watermark with the
 * reserves @gfp may use, direct reclaim that makes no progress), as mm/page_alloc.c.
 * Return: 0 with *@out filled; -EINVAL for a bad cpu/order/gfp; -ENOSPC when the kernel's
 * allocation would fail too (its "page allocation failure" report goes to the log unless
 * __GFP_NOWARN). The machine is unchanged on -EINVAL; on -ENOSPC only counters and the
 * log moved, as in the kernel. -EFAULT when a precondition of the allocator fails (the
 * kernel's VM_BUG_ON_PAGE or bad_page: only a corrupted machine gets there); the machine is
 * then tainted, as after any -EFAULT.
 */
int mm_alloc_pages(struct mm_machine *m, unsigned int cpu, mm_gfp_t gfp, unsigned int order,
		   struct mm_page_alloc *out, struct mm_error *err);
/*
 * free_pages(@pfn, @order) from CPU @cpu (__free_pages: drop a reference; the block goes
 * back when it was the last). Refused, machine unchanged, where the kernel would report
 * bad_page or corrupt itself: -EINVAL (422) for a pfn out of range or in a hole, a bad
 * order, a tail page or a page inside a block, an order other than the allocation's;
 * -EBUSY (409) for a page that is free (double free) or reserved, or still mapped.
 * *@freed (may be NULL) says whether pages went back to the allocator. -EFAULT as for
 * mm_alloc_pages() when a bad_page check or a precondition of the buddy lists fails.
 */
int mm_free_pages(struct mm_machine *m, unsigned int cpu, uint32_t pfn, unsigned int order,
		  bool *freed, struct mm_error *err);
/* get_page(): one more reference on the page (on a tail: on its compound head).
 * -EBUSY for a free page; *@refcount (may be NULL) is the head's count after. */
int mm_get_page(struct mm_machine *m, uint32_t pfn, int *refcount, struct mm_error *err);
/* put_page(): drop a reference; at zero the page (or compound page) is freed through
 * CPU @cpu. Refused (-EBUSY) where the last put would free a reserved page or only the
 * first page of a non-compound high-order block (the kernel would leak the rest). */
int mm_put_page(struct mm_machine *m, unsigned int cpu, uint32_t pfn, int *refcount, bool *freed,
		struct mm_error *err);

/* drain_all_pages(NULL): every CPU's per-CPU lists back to the buddy free lists (what
 * the kernel does on CPU offline, memory offline, compaction and after a failed direct
 * reclaim). Cannot fail; returns 0. */
int mm_drain_all_pages(struct mm_machine *m, struct mm_error *err);

/* Where a frame is, seen from the allocator. */
enum mm_frame_state {
	MM_FRAME_ABSENT,	 /* no struct page is initialised for it (hole) */
	MM_FRAME_RESERVED,	 /* PG_reserved: memblock, firmware, kernel image */
	MM_FRAME_BUDDY,		 /* heads a free block on a free_area list */
	MM_FRAME_BUDDY_TAIL,	 /* inside a free block */
	MM_FRAME_PCP,		 /* heads a block on a per-CPU list */
	MM_FRAME_PCP_TAIL,	 /* inside such a block */
	MM_FRAME_ALLOCATED,	 /* first page of an allocation */
	MM_FRAME_ALLOCATED_TAIL, /* inside an allocation (compound tail or sub-page) */
	MM_NR_FRAME_STATES
};
const char *mm_frame_state_name(int state); /* "absent", "reserved", "buddy", ... */

/* One page descriptor, decoded as the kernel keeps it (include/linux/mm_types.h). */
struct mm_frame_info {
	uint32_t pfn;
	uint64_t phys;
	int state;		    /* enum mm_frame_state */
	uint32_t flags;		    /* page->flags: PG_* bits, zone in bits 31..30 */
	int refcount;		    /* _refcount */
	int mapcount;		    /* _mapcount (-1: unmapped) */
	uint32_t page_type;	    /* the same word read as page_type */
	const char *page_type_name; /* "buddy", "table"... or NULL when it has no type */
	uint32_t mapping;
	uint32_t index;
	uint32_t private;
	int zone;		   /* enum mm_zone_type */
	int pageblock_migratetype; /* of the pageblock holding it */
	int buddy_order;	   /* PageBuddy: the free block's order, else -1 */
	int free_list_migratetype; /* PageBuddy: the list it is on, else -1 */
	int block_pfn;		   /* first pfn of the free/pcp/allocated block it is in, or -1 */
	int block_order;	   /* that block's order, or -1 */
	int pcp_cpu;		   /* MM_FRAME_PCP(_TAIL): the CPU whose list holds it, else -1 */
	bool head, tail;	   /* PageHead, PageTail */
	uint32_t compound_head;	   /* tail: the head's pfn; else the pfn itself */
	int compound_order;	   /* of the head (folio order); 0 for a non-compound page */
	bool lowmem;
	uint32_t vaddr; /* page_address(): direct map, pkmap address if kmapped, else 0 */
	/* PG_slab: the struct slab fields; slab_cache is NULL otherwise */
	const char *slab_cache;
	int slab_inuse, slab_objects;
	bool slab_frozen;
	uint32_t slab_freelist;
	bool kmalloc_large; /* the head of a block kmalloc took from the page allocator */
	bool kernel_own;    /* the head of an allocation that is the kernel's own: a page table it
			     * allocated, a vmalloc'd page (only the kernel frees it) */
};
/* -EINVAL for a pfn at or above max_pfn. */
int mm_get_frame(const struct mm_machine *m, uint32_t pfn, struct mm_frame_info *out,
		 struct mm_error *err);
/* The machine's max_pfn (frames are 0..max_pfn-1). */
uint32_t mm_max_pfn(const struct mm_machine *m);
/* Name of page->flags bit @bit as %pGp prints it ("locked", "reserved"...), NULL past
 * the flag bits. */
const char *mm_pageflag_name(unsigned int bit);
#define MM_NR_PAGEFLAGS 24

/* Allocator events that have no /proc/vmstat line yet (reclaim comes later). */
struct mm_alloc_events {
	uint64_t kswapd_wakeups;      /* wakeup_kswapd() calls (kswapd is not modelled yet) */
	uint64_t direct_reclaims;     /* __perform_reclaim() calls; all made no progress */
	uint64_t alloc_failures;      /* warn_alloc() reports, including suppressed ones */
	uint64_t pcp_drains;	      /* drain_all_pages() calls */
	uint64_t highatomic_reserved; /* pageblocks converted to MIGRATE_HIGHATOMIC */
	uint64_t pageblocks_stolen;   /* steal_suitable_fallback() that claimed the block */
	uint64_t fallbacks;	      /* __rmqueue_fallback() successes */
};
void mm_get_alloc_events(const struct mm_machine *m, struct mm_alloc_events *out);

/* ---- the slab allocator (mm/slub.c, mm/slab_common.c) ----------------------------- */

#define MM_SLAB_NAME_MAX 32

/* What kmalloc() or kmem_cache_alloc() handed out. */
struct mm_kmalloc {
	uint32_t addr;		      /* kernel virtual; 0x10 (ZERO_SIZE_PTR) for kmalloc(0) */
	char cache[MM_SLAB_NAME_MAX]; /* the cache; "" for size 0 and for kmalloc_large */
	uint32_t size;		      /* asked for */
	uint32_t ksize;		      /* usable: the object's stride, or the pages' size */
	uint32_t pfn;		      /* the slab's (head) page, or the large block's */
	unsigned int order;	      /* of the slab, or of the large block */
	bool large;		      /* above KMALLOC_MAX_CACHE_SIZE: a compound page */
};

/*
 * kmalloc(@size, @gfp) on CPU @cpu: the kmalloc cache of the size class (kmalloc-8 ..
 * kmalloc-8k, with 96 and 192) and of the type the mask selects (__GFP_DMA: dma-kmalloc-*,
 * __GFP_RECLAIMABLE: kmalloc-rcl-*, __GFP_ACCOUNT: kmalloc-cg-*); above 8 KiB a compound
 * page from the page allocator. init_on_alloc or __GFP_ZERO zero the object in RAM.
 * -EINVAL for a bad cpu or mask or a size above KMALLOC_MAX_SIZE (4 MiB); -ENOSPC when the
 * page allocator could not give a slab (machine unchanged but for counters and the log).
 */
int mm_kmalloc(struct mm_machine *m, unsigned int cpu, uint32_t size, mm_gfp_t gfp,
	       struct mm_kmalloc *out, struct mm_error *err);
/*
 * kfree(@addr) on CPU @cpu; NULL and ZERO_SIZE_PTR do nothing (*@freed false). Refused,
 * machine unchanged: -EINVAL for an address kmalloc never gives (vmalloc space: "use
 * vfree"; outside the direct map; a page that is no slab; inside an object), -EBUSY for a
 * double free.
 */
int mm_kfree(struct mm_machine *m, unsigned int cpu, uint32_t addr, bool *freed,
	     struct mm_error *err);
/* ksize(): the usable size of the object at @addr (refused as kfree would refuse it). */
int mm_ksize(struct mm_machine *m, uint32_t addr, uint32_t *ret, struct mm_error *err);
/* kmalloc_size_roundup(): what kmalloc(@size) really gives. */
uint32_t mm_kmalloc_size_roundup(uint32_t size);
/* The cache kmalloc(@size, @gfp) uses, NULL for 0 and above 8 KiB. */
const char *mm_kmalloc_cache_name(struct mm_machine *m, uint32_t size, mm_gfp_t gfp);

/* What kvmalloc() handed out, and how it chose. */
struct mm_kvmalloc {
	uint32_t addr;	      /* kernel virtual; 0x10 (ZERO_SIZE_PTR) for size 0 */
	bool vmalloc;	      /* the vmalloc fallback served it (else kmalloc did) */
	uint32_t size;	      /* asked for */
	uint32_t gfp;	      /* the caller's mask (vmalloc's) */
	uint32_t kmalloc_gfp; /* the kmalloc attempt's: + __GFP_NOWARN|__GFP_NORETRY above a page */
	struct mm_kmalloc km; /* !vmalloc: what kmalloc gave */
	char kmalloc_error[256]; /* vmalloc: why the kmalloc attempt failed */
};
/*
 * kvmalloc(@size, @gfp) on CPU @cpu (kvzalloc(): @gfp with __GFP_ZERO), as 6.1's
 * kvmalloc_node() chooses: kmalloc with the caller's mask up to a page; above a page a
 * kmalloc attempt with __GFP_NOWARN and (without __GFP_RETRY_MAYFAIL) __GFP_NORETRY, and
 * when that fails and the mask allows blocking (__GFP_DIRECT_RECLAIM), vmalloc with the
 * caller's mask. Refused: -EINVAL before anything ran (bad cpu or mask) or when nothing
 * could change (above INT_MAX; above KMALLOC_MAX_SIZE with a mask that may not block);
 * -ENOSPC when no allocator could serve it (the attempts' counters and log remain).
 */
int mm_kvmalloc(struct mm_machine *m, unsigned int cpu, uint32_t size, mm_gfp_t gfp,
		struct mm_kvmalloc *out, struct mm_error *err);
/*
 * kvfree(@addr) on CPU @cpu: vfree() for a vmalloc address (*@vmalloc true), kfree()
 * otherwise; refused (naming which and why, nothing changes) as those refuse it. *@freed
 * false for NULL and ZERO_SIZE_PTR.
 */
int mm_kvfree(struct mm_machine *m, unsigned int cpu, uint32_t addr, bool *vmalloc, bool *freed,
	      struct mm_error *err);

/* SLAB_* flags as the kernel names them, joined by '|' ("SLAB_HWCACHE_ALIGN|SLAB_ACCOUNT"). */
int mm_slab_flags_parse(const char *text, uint32_t *ret, struct mm_error *err);
size_t mm_slab_flags_format(uint32_t flags, char *buf, size_t size);

/* A cache, its geometry and its counts (as /proc/slabinfo and sysfs show them). */
struct mm_cache_info {
	char name[MM_SLAB_NAME_MAX];
	uint32_t object_size, size, align, offset, flags;
	unsigned int order, objperslab;	     /* the preferred slab (s->oo) */
	unsigned int min_order, min_objects; /* the fallback slab (s->min) */
	uint32_t allocflags;		     /* GFP bits every slab takes */
	int refcount;			     /* -1: never merged into */
	unsigned int min_partial, cpu_partial, cpu_partial_slabs;
	uint32_t addr; /* its struct kmem_cache */
	bool boot, reclaimable;
	bool merged; /* mm_kmem_cache_create(): the name became an alias of this cache */
	unsigned long active_objs, num_objs, num_slabs;
	unsigned int nr_partial, nr_full, nr_cpu_slabs, nr_cpu_partial;
	unsigned int nr_aliases; /* up to 8 listed */
	char aliases[8][MM_SLAB_NAME_MAX];
};
/* One slab of a cache and the list it is on: "cpu", "cpu_partial", "partial", "full". */
struct mm_slab_info {
	uint32_t pfn, addr;
	unsigned int order, inuse, objects;
	bool frozen;
	uint32_t freelist;     /* slab->freelist */
	uint32_t cpu_freelist; /* "cpu": c->freelist */
	const char *list;
	int cpu; /* for "cpu" and "cpu_partial", else -1 */
};
unsigned int mm_slab_cache_count(const struct mm_machine *m);
/* The @i-th cache in /proc/slabinfo order (the newest first). */
int mm_slab_cache_get(const struct mm_machine *m, unsigned int i, struct mm_cache_info *out,
		      struct mm_error *err);
/* By name, merged names included (-ENOENT). */
int mm_slab_cache_find(struct mm_machine *m, const char *name, struct mm_cache_info *out,
		       struct mm_error *err);
/* The slabs of cache @name: up to @max into @out; returns how many there are. */
int mm_slab_cache_slabs(const struct mm_machine *m, const char *name, struct mm_slab_info *out,
			unsigned int max, struct mm_error *err);
/*
 * kmem_cache_create(@name, @size, @align, @flags) from CPU @cpu: a new cache, or, as the
 * kernel does unless slab_nomerge, the name merged into an existing compatible cache
 * (out->merged; out describes that cache). -EINVAL for a bad name, size (1 .. 4 MiB),
 * align (a power of two up to 4096) or flags (debug flags are not modelled); -EBUSY for
 * a name in use.
 */
int mm_kmem_cache_create(struct mm_machine *m, unsigned int cpu, const char *name, uint32_t size,
			 uint32_t align, uint32_t flags, struct mm_cache_info *out,
			 struct mm_error *err);
/* kmem_cache_destroy(): -ENOENT for no such cache; -EBUSY while objects are live, for the
 * boot's caches, and while other names are merged into it. */
int mm_kmem_cache_destroy(struct mm_machine *m, unsigned int cpu, const char *name,
			  struct mm_error *err);
/* kmem_cache_shrink(): *@ret_freed slabs went back to the page allocator. */
int mm_kmem_cache_shrink(struct mm_machine *m, unsigned int cpu, const char *name,
			 unsigned int *ret_freed, struct mm_error *err);
int mm_kmem_cache_alloc(struct mm_machine *m, unsigned int cpu, const char *name, mm_gfp_t gfp,
			struct mm_kmalloc *out, struct mm_error *err);
/* kmem_cache_free(): refused as kfree() is, and when the object is of another cache. */
int mm_kmem_cache_free(struct mm_machine *m, unsigned int cpu, const char *name, uint32_t addr,
		       struct mm_error *err);

/* ---- paging: page tables, the walk, the TLBs, memory ----------------------------- */

enum mm_space { MM_SPACE_PHYS, MM_SPACE_KERNEL };
enum mm_access { MM_ACCESS_READ, MM_ACCESS_WRITE, MM_ACCESS_EXEC };

/* A CPU's control registers as the MMU uses them. */
struct mm_cpu_info {
	bool pg, wp, pse, pae, pge, nxe;
	uint32_t cr3;
	unsigned int tlb_entries, tlb_large_entries;
	uint64_t tlb_hits, tlb_misses, tlb_fills, tlb_flushes, tlb_flushes_all, tlb_invlpgs,
		tlb_evictions;
};
int mm_get_cpu(const struct mm_machine *m, unsigned int cpu, struct mm_cpu_info *out,
	       struct mm_error *err);

/* The valid TLB entries of @cpu: up to @max into @out; returns how many are valid (may be
 * more than @max) or a negative errno. */
struct mm_tlb_entry {
	uint32_t va;   /* start of the page */
	uint64_t phys; /* start of the page */
	unsigned int page_size;
	bool rw, user, nx, global, dirty;
};
int mm_tlb_entries(const struct mm_machine *m, unsigned int cpu, struct mm_tlb_entry *out,
		   unsigned int max, struct mm_error *err);

/* One translation, level by level (as the CPU walks it). */
struct mm_translation {
	unsigned int nr_levels;
	struct {
		const char *name; /* "pgd", "pmd", "pte" */
		uint64_t table;	  /* physical address of the table */
		unsigned int index;
		uint64_t entry_addr;
		uint64_t raw;
	} levels[3];
	bool paging;  /* CR0.PG: off means the identity */
	bool tlb_hit; /* the CPU's TLB holds this page now */
	bool ok;      /* the access is allowed */
	uint64_t phys;
	unsigned int page_size; /* 4096, 2 MiB or 4 MiB */
	uint64_t leaf;		/* the entry that maps it */
	bool rw, user, nx, global, dirty, accessed;
	uint32_t error_code;	/* the #PF error code when !ok */
	char fault[MM_ERR_MAX]; /* the kernel's oops lines when !ok */
};
/*
 * What @cpu would do for an @access at @va in @space "kernel" (supervisor mode), without
 * doing it: no TLB fill, no accessed/dirty bits (the memory calls below do those).
 * -EINVAL for a bad cpu; a fault is not an error here (out->ok is false).
 */
int mm_translate(const struct mm_machine *m, unsigned int cpu, uint32_t va, int access,
		 struct mm_translation *out, struct mm_error *err);

#define MM_MEM_MAX (64u << 10) /* bytes per read or write */
/*
 * Read or write @len bytes at @addr. MM_SPACE_PHYS: RAM by physical address (not MMIO or
 * beyond RAM: -EINVAL). MM_SPACE_KERNEL: a supervisor access by @cpu through its TLB and
 * the page walk; misses fill the TLB, the walk sets accessed (and dirty on write) bits.
 * Every page is checked before any byte moves, so a fault (-EACCES, in the kernel's oops
 * words) leaves the machine as it was.
 */
int mm_mem_read(struct mm_machine *m, unsigned int cpu, int space, uint64_t addr, size_t len,
		void *out, struct mm_error *err);
int mm_mem_write(struct mm_machine *m, unsigned int cpu, int space, uint64_t addr, const void *in,
		 size_t len, struct mm_error *err);
/* A physical write into a frame the kernel owns (PG_reserved, a page table or vmalloc page it
 * allocated, a slab or kmalloc_large block)
 * is refused by mm_mem_write() (-EBUSY); mm_mem_write_force() does it and taints the
 * machine (MM_WARN_ON_ONCE's taint: it refuses every further change). */
int mm_mem_write_force(struct mm_machine *m, unsigned int cpu, int space, uint64_t addr,
		       const void *in, size_t len, struct mm_error *err);
/* invlpg on @cpu; flush_tlb: @cpu's whole TLB (a CR3 reload keeps global entries when
 * @keep_global). */
int mm_invlpg(struct mm_machine *m, unsigned int cpu, uint32_t va, struct mm_error *err);
int mm_flush_tlb(struct mm_machine *m, unsigned int cpu, bool keep_global, struct mm_error *err);

/* The kernel half of the current page tables of CPU 0 (swapper_pg_dir once loaded) as
 * text in the format of the oracle's page_tables_kernel: part 1, one line per present
 * top-level entry (pmd entries on PAE); part 2, merged leaf ranges with their flags. */
int mm_page_tables_render(const struct mm_machine *m, struct mm_buf *out, struct mm_error *err);
/* The same as data: the present top-level entries and the merged leaf ranges. */
struct mm_pt_entry {
	unsigned int index;
	uint32_t va_start;
	uint64_t va_end; /* exclusive; 0x100000000 for the last */
	bool large;
	uint64_t phys; /* the page (large) or the PTE page (table) */
	uint64_t raw;
	unsigned int present_ptes, nonzero_ptes, ptrs_per_table;
};
struct mm_pt_range {
	uint32_t va_start;
	uint64_t va_end;
	bool mapped;
	uint64_t flags; /* the leaf entry's flag bits, address and A/D removed */
	bool large;
	unsigned int n; /* entries merged */
	uint64_t phys;	/* of the first */
	bool contiguous;
};
struct mm_page_tables {
	bool pae;
	uint64_t pgd;
	unsigned int nr_entries, nr_ranges;
	struct mm_pt_entry *entries;
	struct mm_pt_range *ranges;
};
int mm_page_tables_get(const struct mm_machine *m, struct mm_page_tables *out,
		       struct mm_error *err);
void mm_page_tables_free(struct mm_page_tables *pt);

/* ---- highmem: kmap, kmap_local_page, kmap_atomic (mm/highmem.c) ------------------ */

#define MM_LAST_PKMAP_MAX 1024 /* LAST_PKMAP: 1024 on 686, 512 on PAE */
#define MM_KM_MAX_IDX 16       /* kmap_local slots per CPU */

/* What kmap()/kunmap() did. */
struct mm_kmap {
	uint32_t pfn;
	uint32_t address; /* page_address() after it: direct map, pkmap address, or 0 */
	int slot;	  /* pkmap slot (PKMAP_NR), -1 for lowmem */
	int count;	  /* pkmap_count[slot] after the call (users + 1) */
	bool flushed;	  /* kmap: flush_all_zero_pkmaps() cleared slots and flushed the TLBs */
	bool woke; /* kunmap: the slot became free for reuse: waiters on pkmap_map_wait wake */
};

/*
 * kmap(@pfn) from @cpu: a lowmem page's direct-map address (no slot); a highmem page's
 * pkmap address (kmap_high: one more user of its slot, or a new slot by map_new_virtual,
 * with flush_all_zero_pkmaps and a TLB flush of every CPU at wrap-around). The PTE is
 * written into pkmap_page_table in emulated RAM.
 * Return: 0; -EINVAL for a bad cpu or pfn, a hole or a free page; -EDEADLK when @cpu is in
 * kmap_atomic context (kmap may sleep: "scheduling while atomic"); -ENOSPC when every
 * pkmap slot is in use: the kernel would sleep until a kunmap; nothing changed, call again
 * after one.
 */
int mm_kmap(struct mm_machine *m, unsigned int cpu, uint32_t pfn, struct mm_kmap *out,
	    struct mm_error *err);
/* kunmap(@pfn): one user less (lowmem: nothing). -ENOENT when the page is not kmapped. */
int mm_kunmap(struct mm_machine *m, unsigned int cpu, uint32_t pfn, struct mm_kmap *out,
	      struct mm_error *err);

/* One kmap_local mapping. */
struct mm_kmap_local {
	uint32_t pfn;
	uint32_t address;
	int idx;     /* position on the CPU's stack, -1 for lowmem (no slot) */
	int fix_idx; /* its fixmap index, FIX_KMAP_BEGIN + KM_MAX_IDX * cpu + idx */
	bool atomic; /* mapped by kmap_atomic() */
};

/*
 * kmap_local_page(@pfn) (@atomic: kmap_atomic()) on @cpu: lowmem answers its direct-map
 * address; highmem takes the next fixmap slot of @cpu's stack. kmap_atomic() puts @cpu in
 * atomic context until the matching kunmap_atomic() (kmap and sleeping allocations there
 * are refused with -EDEADLK).
 * Return: 0; -EINVAL for a bad cpu or pfn, a hole or a free page; -ENOSPC past
 * MM_KM_MAX_IDX nested slots (the kernel BUG()s).
 */
int mm_kmap_local(struct mm_machine *m, unsigned int cpu, uint32_t pfn, bool atomic,
		  struct mm_kmap_local *out, struct mm_error *err);
/*
 * kunmap_local(@addr) / kunmap_atomic(@addr) on @cpu: the top of the stack only (-EINVAL,
 * with the kernel's warning, for any other slot; -ENOENT when the stack is empty); a
 * direct-map address undoes nothing (kunmap_atomic: leaves atomic context); any other
 * address is -EINVAL. The slot's PTE is cleared and invlpg'd on @cpu.
 */
int mm_kunmap_local(struct mm_machine *m, unsigned int cpu, uint32_t addr, bool atomic,
		    struct mm_kmap_local *out, struct mm_error *err);

/* The pkmap table. */
struct mm_pkmap_info {
	uint32_t pkmap_base;
	unsigned int last_pkmap;    /* LAST_PKMAP */
	unsigned int last_pkmap_nr; /* the cursor */
	unsigned int in_use;	    /* slots with users (count > 1) */
	unsigned int unused;	    /* slots at count 1: mapped, waiting for the wrap flush */
	uint64_t flushes;	    /* flush_all_zero_pkmaps() runs that flushed the TLBs */
	int count[MM_LAST_PKMAP_MAX];
	uint32_t pfn[MM_LAST_PKMAP_MAX]; /* the page its PTE maps, UINT32_MAX when none */
};
int mm_get_pkmap(const struct mm_machine *m, struct mm_pkmap_info *out, struct mm_error *err);

/* @cpu's kmap_local stack, bottom first. */
struct mm_kmap_local_stack {
	unsigned int depth;
	unsigned int atomic_depth; /* kmap_atomic()s not undone (lowmem ones included) */
	struct mm_kmap_local slots[MM_KM_MAX_IDX];
};
int mm_get_kmap_local(const struct mm_machine *m, unsigned int cpu, struct mm_kmap_local_stack *out,
		      struct mm_error *err);
/*
 * preempt_disable() / preempt_enable() on @cpu: atomic context for what runs between them
 * (a command that says "context": "atomic"); kmap() and sleeping allocations on @cpu are
 * refused with -EDEADLK meanwhile. -EINVAL for a bad cpu; the enable of a disable only.
 */
int mm_preempt_disable(struct mm_machine *m, unsigned int cpu, struct mm_error *err);
void mm_preempt_enable(struct mm_machine *m, unsigned int cpu);
/* page_address(@pfn): direct map, pkmap address of a kmapped highmem page, or 0. */
uint32_t mm_page_address(const struct mm_machine *m, uint32_t pfn);

/* ---- snapshots: the whole machine as bytes ----------------------------------------- */

/*
 * A snapshot is the machine's state without its RAM (mm_snapshot_save) plus the RAM
 * frames, which the caller stores itself (mm_ram_page...). The same state always gives the
 * same bytes. mm_snapshot_load() gives a machine with zeroed RAM; load the frames into it
 * with mm_ram_page_load(). The stream is a sequence of tagged, versioned sections, one per
 * subsystem (mmcore/snapshot.h): a section of an older version loads with defaults for what
 * it lacks; format version 1 (a struct image), a newer format or section version, or an
 * unknown section is refused (-EINVAL, saying which); a short, corrupt or inconsistent
 * stream is -EBADMSG. The loader treats the stream as hostile.
 */
#define MM_SNAPSHOT_VERSION 2
/*
 * The revision of what a boot builds. Every change that makes a boot end in another state
 * (a new boot-time allocation, a layout or page-table fix, a cache created at boot) bumps it.
 * A snapshot of any revision keeps loading (its sections migrate); the machine its journal
 * replays to is the same only within one revision: a stored snapshot is a state of the
 * model that wrote it. tests/data/snapshots keeps fixtures of every revision: each must
 * load; those of this revision must also equal their journal's replay.
 */
/* 2: vmalloc's boot areas; 3: the cpu_entry_area filled; 4: SLUB's boot slabs and vmalloc's
 * page arrays */
#define MM_BOOT_REVISION 4
/* A machine boots with the revision its configuration names (struct mm_config.boot_model),
 * the latest unless it was created before (a stored configuration without it is 1): so a
 * stored journal replays to the same machine on a later build too. */
_Static_assert(MM_BOOT_MODEL == MM_BOOT_REVISION, "boot_model's latest is MM_BOOT_REVISION");
typedef int (*mm_write_fn)(void *ctx, const void *data, size_t len); /* 0 or -1 */
typedef int (*mm_read_fn)(void *ctx, void *data, size_t len);	     /* 0: all of it */
int mm_snapshot_save(const struct mm_machine *m, mm_write_fn write, void *ctx,
		     struct mm_error *err);
int mm_snapshot_load(mm_read_fn read, void *ctx, struct mm_machine **ret, struct mm_error *err);
/* After the last mm_ram_page_load() of a restored machine: what an older section could not
 * say and the guest's memory does (PAGE v1: which allocations are the kernel's own page
 * tables) is derived now. A no-op for a stream of current sections; 0, or -EBADMSG. */
int mm_snapshot_finish(struct mm_machine *m, struct mm_error *err);
/* RAM frames: how many, whether one may be non-zero (never written ones are zero), its
 * 4096 bytes, and loading one into a restored machine. */
uint64_t mm_ram_pages(const struct mm_machine *m);
bool mm_ram_page_touched(const struct mm_machine *m, uint64_t pfn);
const void *mm_ram_page(const struct mm_machine *m, uint64_t pfn);
int mm_ram_page_load(struct mm_machine *m, uint64_t pfn, const void *data, struct mm_error *err);

/* ---- the invariant checker --------------------------------------------------------- */

/*
 * Each invariant has a stable name (mm_invariant_name()); every message starts with the
 * name of the invariant it violates ("free-counts: zone Normal order 3: ..."), and bit i of
 * @invariants is set when invariant i was violated.
 */
struct mm_report {
	unsigned int max; /* collect at most this many messages (0: count only) */
	unsigned int nr;  /* violations found */
	char (*msgs)[MM_ERR_MAX];
	uint64_t invariants; /* bit i: invariant i was violated */
};
/* Verify the whole machine; returns 0 when clean, -EFAULT when violations were found,
 * -ENOMEM when the host could not give the checker its scratch map. */
int mm_check(const struct mm_machine *m, struct mm_report *rep);
/* The invariants mm_check() verifies: how many, and the name of invariant @i (NULL past
 * the last). */
unsigned int mm_nr_invariants(void);
const char *mm_invariant_name(unsigned int i);
/* mm_check() after a change (-Dmm_debug=full): a violation taints the machine, its first
 * message the diagnosis, and returns -EFAULT; -ENOMEM if the checker found no host memory. */
int mm_debug_check(struct mm_machine *m, struct mm_error *err);

/* ---- vmalloc: vmap areas, vmalloc/vfree, vmap/vunmap, ioremap/iounmap (vmalloc.c) ----- */

/* The three sets of struct vmap_area the kernel keeps (mm/vmalloc.c). */
enum mm_vmap_list { MM_VMAP_BUSY, MM_VMAP_LAZY, MM_VMAP_FREE };

/* One area; the vm_struct fields only for a busy area with has_vm. Borrowed pointers. */
struct mm_vmap_area_info {
	uint64_t va_start, va_end; /* [va_start, va_end) */
	bool has_vm;
	uint32_t addr, size;	/* size with the guard page */
	uint32_t flags;		/* VM_IOREMAP 0x1, VM_ALLOC 0x2, VM_MAP 0x4, ... */
	uint32_t nr_pages;	/* the kernel's nr_pages (vmalloc only) */
	uint64_t phys_addr;	/* ioremap */
	uint32_t pages_area;	/* the page array is vmalloc'd there ("vpages"), else 0 */
	uint32_t pages_kmalloc; /* or kmalloc'd there (boot model 4 on), else 0 */
	const char *caller;
	const uint32_t *pfns; /* the frames mapped from addr on (vmalloc, vmap) */
	uint32_t nr_pfns;
	bool api; /* made by a command (the boot's own areas are the kernel's) */
};
unsigned int mm_vmap_area_count(const struct mm_machine *m, int list);
int mm_vmap_area_get(const struct mm_machine *m, int list, unsigned int i,
		     struct mm_vmap_area_info *out);

struct mm_vmalloc_info {
	uint32_t vmalloc_start, vmalloc_end;
	uint64_t vmap_lazy_nr;	   /* pages freed lazily, awaiting the purge */
	uint64_t lazy_max_pages;   /* the purge threshold: fls(online CPUs) * 8192 */
	uint64_t nr_vmalloc_pages; /* VmallocUsed in pages */
	uint64_t nr_purges, nr_purged_pages;
};
void mm_vmalloc_get_info(const struct mm_machine *m, struct mm_vmalloc_info *out);

/*
 * vmalloc(@size) (vzalloc() with @zero) by CPU @cpu; @caller names the area in
 * /proc/vmallocinfo (NULL: "vmalloc"/"vzalloc"). *@ret_addr is the area's start.
 * -EINVAL: size 0, beyond the vmalloc range or total RAM (nothing changes); -ENOSPC: no
 * room in the range or no pages (the kernel's warnings are logged; what was taken is given
 * back); -EAGAIN before the buddy phase.
 */
int mm_vmalloc(struct mm_machine *m, unsigned int cpu, uint64_t size, bool zero, const char *caller,
	       uint32_t *ret_addr, struct mm_error *err);
/* vfree(@addr): the start of an area vmalloc() made. Refused, nothing changes: -EINVAL
 * not page aligned, inside an area, or an area of another kind; -ENOENT no area (never
 * made, or freed already); -EBUSY an area of the kernel's own boot. */
int mm_vfree(struct mm_machine *m, unsigned int cpu, uint32_t addr, struct mm_error *err);
/* vmap(@pfns, @count, VM_MAP, PAGE_KERNEL): pages the caller holds (not free). */
int mm_vmap(struct mm_machine *m, unsigned int cpu, const uint32_t *pfns, unsigned int count,
	    const char *caller, uint32_t *ret_addr, struct mm_error *err);
int mm_vunmap(struct mm_machine *m, unsigned int cpu, uint32_t addr, struct mm_error *err);
/* ioremap(@phys, @size): uncached (UC-), 2 MiB pmd entries where PAE allows them;
 * *@ret_addr is the address of @phys itself.
 * -EINVAL for size 0, a range beyond the physical address space, or RAM in use. */
int mm_ioremap(struct mm_machine *m, unsigned int cpu, uint64_t phys, uint64_t size,
	       const char *caller, uint32_t *ret_addr, struct mm_error *err);
int mm_iounmap(struct mm_machine *m, unsigned int cpu, uint32_t addr, struct mm_error *err);
enum mm_set_memory_attr { MM_SET_MEMORY_RO, MM_SET_MEMORY_RW, MM_SET_MEMORY_X, MM_SET_MEMORY_NX };
/* set_memory_ro/rw/x/nx(@addr, @numpages) on pages of one area made by a command; ro/rw
 * change a lowmem page's direct-map alias too (splitting a large page). */
int mm_set_memory(struct mm_machine *m, uint32_t addr, unsigned int numpages, int attr,
		  struct mm_error *err);

/* ---- helpers shared with the front end --------------------------------------------- */

/* Parse "1G", "512M", "4096K", "1073741824" (kernel memparse). -EINVAL on junk. */
int mm_parse_size(const char *s, uint64_t *ret);

#endif /* MMCORE_H */
