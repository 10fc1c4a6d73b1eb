/* SPDX-License-Identifier: MIT */
/*
 * physmem.c - the e820 memory map and the emulated RAM.
 *
 * Mirrors: arch/x86/kernel/e820.c. The sanitizing sweep follows the kernel's rule: two
 * change points per entry, sorted by address with starts before ends at one address;
 * while sweeping, the type in force is the largest type among the overlapping entries;
 * a new output entry opens whenever that type changes (PRAM and soft-reserved never merge).
 *
 * QEMU's pc machine (hw/i386/pc_piix.c with SeaBIOS) gives: usable [0, 0x9fc00), the EBDA
 * [0x9fc00, 0xa0000) and the BIOS [0xf0000, 0x100000) reserved, usable from 1 MiB to 128 KiB
 * below the top of low RAM (the BIOS tables), the flash [0xfffc0000, 4 GiB) reserved, and
 * RAM beyond 3 GiB (when RAM is at least 3.5 GiB) moved above 4 GiB.
 */
#include "physmem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "machine.h"
#include "printk.h"
#include "snapshot.h"

void e820_build_qemu(struct e820_table *t, uint64_t mem)
{
	uint64_t below_4g = mem, above_4g = 0;

	if (mem >= 0xe0000000ULL) {
		below_4g = 0xc0000000ULL;
		above_4g = mem - below_4g;
	}
	t->nr_entries = 0;
	e820_range_add(t, 0, 0x9fc00, MM_E820_RAM);
	e820_range_add(t, 0x9fc00, 0x400, MM_E820_RESERVED);
	e820_range_add(t, 0xf0000, 0x10000, MM_E820_RESERVED);
	e820_range_add(t, 0x100000, below_4g - 0x20000 - 0x100000, MM_E820_RAM);
	e820_range_add(t, below_4g - 0x20000, 0x20000, MM_E820_RESERVED);
	e820_range_add(t, 0xfffc0000ULL, 0x40000, MM_E820_RESERVED);
	if (above_4g)
		e820_range_add(t, 0x100000000ULL, above_4g, MM_E820_RAM);
}

int e820_range_add(struct e820_table *t, uint64_t start, uint64_t size, uint32_t type)
{
	if (t->nr_entries >= MM_MAX_E820)
		return -ENOSPC;
	t->entries[t->nr_entries].addr = start;
	t->entries[t->nr_entries].size = size;
	t->entries[t->nr_entries].type = type;
	t->nr_entries++;
	return 0;
}

struct change_point {
	uint64_t addr;
	const struct mm_e820_entry *entry;
	bool is_start;
};

static int cpcompare(const void *a, const void *b)
{
	const struct change_point *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* starts before ends at the same address */
	return (int)y->is_start - (int)x->is_start;
}

/* Mirrors: arch/x86/kernel/e820.c e820__update_table(). */
int e820_update_table(struct e820_table *t, struct mm_host *host)
{
	struct change_point *cp;
	const struct mm_e820_entry **overlap;
	struct mm_e820_entry *out;
	unsigned int i, j, n = 0, nr_overlap = 0, nr_out = 0;
	uint32_t last_type = 0;
	uint64_t last_addr = 0;

	if (t->nr_entries < 2)
		return -EINVAL;
	for (i = 0; i < t->nr_entries; i++)
		if (t->entries[i].addr + t->entries[i].size < t->entries[i].addr)
			return -EINVAL;

	cp = host_calloc(host, 2 * t->nr_entries, sizeof(*cp));
	overlap = host_calloc(host, t->nr_entries, sizeof(*overlap));
	out = host_calloc(host, MM_MAX_E820, sizeof(*out));
	if (!cp || !overlap || !out) {
		host_free(cp);
		host_free(overlap);
		host_free(out);
		return -ENOMEM;
	}
	for (i = 0; i < t->nr_entries; i++) {
		if (!t->entries[i].size)
			continue;
		cp[n++] = (struct change_point){t->entries[i].addr, &t->entries[i], true};
		cp[n++] = (struct change_point){t->entries[i].addr + t->entries[i].size,
						&t->entries[i], false};
	}
	qsort(cp, n, sizeof(*cp), cpcompare);

	for (i = 0; i < n; i++) {
		uint32_t current_type = 0;

		if (cp[i].is_start) {
			overlap[nr_overlap++] = cp[i].entry;
		} else {
			for (j = 0; j < nr_overlap; j++)
				if (overlap[j] == cp[i].entry) {
					overlap[j] = overlap[--nr_overlap];
					break;
				}
		}
		for (j = 0; j < nr_overlap; j++)
			if (overlap[j]->type > current_type)
				current_type = overlap[j]->type;
		if (current_type != last_type || current_type == MM_E820_PRAM ||
		    current_type == MM_E820_SOFT_RESERVED) {
			if (last_type) {
				out[nr_out].size = cp[i].addr - last_addr;
				if (out[nr_out].size && nr_out < MM_MAX_E820 - 1)
					nr_out++;
			}
			if (current_type) {
				out[nr_out].addr = cp[i].addr;
				out[nr_out].type = current_type;
				last_addr = cp[i].addr;
			}
			last_type = current_type;
		}
	}
	memcpy(t->entries, out, nr_out * sizeof(*out));
	t->nr_entries = nr_out;
	host_free(cp);
	host_free(overlap);
	host_free(out);
	return 0;
}

const char *mm_e820_type_name(uint32_t type)
{
	switch (type) {
	case MM_E820_RAM:
	case MM_E820_RESERVED_KERN:
		return "usable";
	case MM_E820_RESERVED:
		return "reserved";
	case MM_E820_SOFT_RESERVED:
		return "soft reserved";
	case MM_E820_ACPI:
		return "ACPI data";
	case MM_E820_NVS:
		return "ACPI NVS";
	case MM_E820_UNUSABLE:
		return "unusable";
	case MM_E820_PMEM:
		return "persistent (type 7)";
	case MM_E820_PRAM:
		return "persistent (type 12)";
	default:
		return "unknown";
	}
}

/* e820_print_type(): the public names, and "type %u" for types the kernel has no name for. */
static const char *e820_type_label(uint32_t type, char *tmp, size_t n)
{
	const char *name = mm_e820_type_name(type);

	if (strcmp(name, "unknown"))
		return name;
	snprintf(tmp, n, "type %u", type);
	return tmp;
}

void e820_print_table(struct mm_machine *m, const struct e820_table *t, const char *who)
{
	char tmp[32];
	unsigned int i;

	for (i = 0; i < t->nr_entries; i++) {
		const struct mm_e820_entry *e = &t->entries[i];

		printk(m, "%s: [mem 0x%016llx-0x%016llx] %s\n", who, (unsigned long long)e->addr,
		       (unsigned long long)(e->addr + e->size - 1),
		       e820_type_label(e->type, tmp, sizeof(tmp)));
	}
}

/* Mirrors: __e820__range_update(). */
void e820_range_update(struct mm_machine *m, struct e820_table *t, uint64_t start, uint64_t size,
		       uint32_t old_type, uint32_t new_type)
{
	char a[32], b[32];
	uint64_t end;
	unsigned int i, n;

	if (size > UINT64_MAX - start)
		size = UINT64_MAX - start;
	end = start + size;
	printk(m, "e820: update [mem 0x%08llx-0x%08llx] %s ==> %s\n", (unsigned long long)start,
	       (unsigned long long)(end - 1), e820_type_label(old_type, a, sizeof(a)),
	       e820_type_label(new_type, b, sizeof(b)));
	if (old_type == new_type)
		return;
	n = t->nr_entries;
	for (i = 0; i < n; i++) {
		struct mm_e820_entry *e = &t->entries[i];
		uint64_t e_end = e->addr + e->size, fs, fe;

		if (e->type != old_type)
			continue;
		if (e->addr >= start && e_end <= end) { /* completely covered */
			e->type = new_type;
			continue;
		}
		if (e->addr < start && e_end > end) { /* new range inside the entry */
			e820_range_add(t, start, size, new_type);
			e820_range_add(t, end, e_end - end, e->type);
			e->size = start - e->addr;
			continue;
		}
		fs = MM_MAX(start, e->addr);
		fe = MM_MIN(end, e_end);
		if (fs >= fe)
			continue;
		e820_range_add(t, fs, fe - fs, new_type);
		e->size -= fe - fs;
		if (e->addr < fs)
			continue;
		e->addr = fe;
	}
}

/* Mirrors: e820__range_remove(). */
void e820_range_remove(struct mm_machine *m, struct e820_table *t, uint64_t start, uint64_t size,
		       uint32_t old_type, bool check_type)
{
	char a[32];
	uint64_t end;
	unsigned int i;

	if (size > UINT64_MAX - start)
		size = UINT64_MAX - start;
	end = start + size;
	printk(m, "e820: remove [mem 0x%08llx-0x%08llx]%s%s\n", (unsigned long long)start,
	       (unsigned long long)(end - 1), check_type ? " " : "",
	       check_type ? e820_type_label(old_type, a, sizeof(a)) : "");
	for (i = 0; i < t->nr_entries; i++) {
		struct mm_e820_entry *e = &t->entries[i];
		uint64_t e_end = e->addr + e->size, fs, fe;

		if (check_type && e->type != old_type)
			continue;
		if (e->addr >= start && e_end <= end) {
			memset(e, 0, sizeof(*e));
			continue;
		}
		if (e->addr < start && e_end > end) {
			e820_range_add(t, end, e_end - end, e->type);
			e->size = start - e->addr;
			continue;
		}
		fs = MM_MAX(start, e->addr);
		fe = MM_MIN(end, e_end);
		if (fs >= fe)
			continue;
		e->size -= fe - fs;
		if (e->addr < fs)
			continue;
		e->addr = fe;
	}
}

/* Mirrors: e820_end_pfn(). */
pfn_t e820_end_pfn(const struct e820_table *t, pfn_t limit_pfn, uint32_t type)
{
	uint64_t last_pfn = 0;
	unsigned int i;

	for (i = 0; i < t->nr_entries; i++) {
		const struct mm_e820_entry *e = &t->entries[i];
		uint64_t start_pfn = e->addr >> PAGE_SHIFT;
		uint64_t end_pfn = (e->addr + e->size) >> PAGE_SHIFT;

		if (e->type != type)
			continue;
		if (start_pfn >= limit_pfn)
			continue;
		if (end_pfn > limit_pfn) {
			last_pfn = limit_pfn;
			break;
		}
		if (end_pfn > last_pfn)
			last_pfn = end_pfn;
	}
	return (pfn_t)last_pfn;
}

bool e820_all_mapped(const struct e820_table *t, uint64_t start, uint64_t end, uint32_t type)
{
	unsigned int i;

	for (i = 0; i < t->nr_entries && start < end; i++) {
		const struct mm_e820_entry *e = &t->entries[i];

		if (e->type != type)
			continue;
		if (e->addr >= end || e->addr + e->size <= start)
			continue;
		if (e->addr <= start)
			start = e->addr + e->size;
	}
	return start >= end;
}

int physmem_init(struct mm_machine *m, uint64_t ram_end)
{
	m->ram_size = PAGE_ALIGN(ram_end);
	m->ram = host_map(m->host, m->ram_size);
	return m->ram ? 0 : -ENOMEM;
}

int physmem_grow(struct mm_machine *m, uint64_t ram_end)
{
	uint64_t size = PAGE_ALIGN(ram_end);
	uint8_t *ram;

	if (size <= m->ram_size)
		return 0;
	ram = host_map(m->host, size);
	if (!ram)
		return -ENOMEM;
	memcpy(ram, m->ram, m->ram_size);
	host_unmap(m->ram, m->ram_size);
	m->ram = ram;
	m->ram_size = size;
	return 0;
}

void physmem_finish(struct mm_machine *m)
{
	host_unmap(m->ram, m->ram_size);
	m->ram = NULL;
}

/* Mirrors: e820__reserve_resources_late(): the slack after each RAM range is claimed. */
void e820_reserve_resources_late(struct mm_machine *m)
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

/* ---- snapshot section E820: the firmware's and the kernel's maps, the RAM's size ------ */

static void table_snap_save(const struct e820_table *t, struct snap_out *o)
{
	unsigned int i;

	snap_put_u32(o, t->nr_entries);
	for (i = 0; i < t->nr_entries; i++) {
		snap_put_u64(o, t->entries[i].addr);
		snap_put_u64(o, t->entries[i].size);
		snap_put_u32(o, t->entries[i].type);
	}
}

static void table_snap_load(struct e820_table *t, struct snap_in *in)
{
	unsigned int i;

	t->nr_entries = snap_get_count(in, MM_MAX_E820, "the e820 entries");
	for (i = 0; i < t->nr_entries; i++) {
		t->entries[i].addr = snap_get_u64(in);
		t->entries[i].size = snap_get_u64(in);
		t->entries[i].type = snap_get_u32(in);
	}
}

/* E820 v1: e820_firmware, e820, then the bytes of emulated RAM (the frames come apart). */
void e820_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	table_snap_save(&m->e820_firmware, o);
	table_snap_save(&m->e820, o);
	snap_put_u64(o, m->ram_size);
}

int e820_snap_load(struct mm_machine *m, struct snap_in *in)
{
	uint64_t ram_size;

	table_snap_load(&m->e820_firmware, in);
	table_snap_load(&m->e820, in);
	ram_size = snap_get_u64(in);
	if (in->ret)
		return in->ret;
	if (ram_size & (PAGE_SIZE - 1) || ram_size > MM_MAX_RAM + (4ULL << 30))
		return snap_corrupt(in, "RAM of %llu bytes", (unsigned long long)ram_size);
	if (in->share_src && ram_size) { /* a clone (clone.c): the template's RAM, copy-on-write */
		const struct mm_machine *src = in->share_src;

		if (ram_size != src->ram_size)
			return snap_corrupt(in, "a clone's RAM differs from its template's");
		m->ram = host_map_cow(m->host, src->share->fd, src->share->ram_off, ram_size);
		if (!m->ram)
			return snap_nomem(in, "the RAM");
		m->ram_size = ram_size;
		return 0;
	}
	if (ram_size && physmem_init(m, ram_size))
		return snap_nomem(in, "the RAM");
	return 0;
}
