/* SPDX-License-Identifier: MIT */
/*
 * tlb.c - the per-CPU TLB; see tlb.h for the model and its rules.
 */
#include "tlb.h"

#include <errno.h>
#include <string.h>

#include "host.h"
#include "machine.h"
#include "snapshot.h"

int tlb_init(struct tlb *t, unsigned int entries, struct mm_host *host)
{
	memset(t, 0, sizeof(*t));
	if (!entries)
		entries = TLB_DEFAULT_ENTRIES;
	t->nr_small = TLB_WAYS;
	while (t->nr_small < entries)
		t->nr_small <<= 1;
	t->set_mask = t->nr_small / TLB_WAYS - 1;
	t->nr_large = entries / 8 < 4 ? 4 : entries / 8;
	t->small = host_calloc(host, t->nr_small, sizeof(*t->small));
	t->large = host_calloc(host, t->nr_large, sizeof(*t->large));
	if (!t->small || !t->large) {
		tlb_finish(t);
		return -ENOMEM;
	}
	return 0;
}

void tlb_finish(struct tlb *t)
{
	host_free(t->small);
	host_free(t->large);
	t->small = t->large = NULL;
}

static inline struct tlb_entry *small_set(const struct tlb *t, uint32_t vpn)
{
	return &t->small[(vpn & t->set_mask) * TLB_WAYS];
}

struct tlb_entry *tlb_fill(struct tlb *t, uint32_t va, uint64_t phys, unsigned int shift, bool rw,
			   bool user, bool nx, bool global, bool dirty)
{
	uint32_t mask = ~((1u << shift) - 1);
	struct tlb_entry *slots, *victim = NULL;
	unsigned int n, i;

	if (shift == PAGE_SHIFT) {
		slots = small_set(t, va >> PAGE_SHIFT);
		n = TLB_WAYS;
	} else {
		slots = t->large;
		n = t->nr_large;
	}
	for (i = 0; i < n; i++) {
		if (slots[i].valid && slots[i].vpn == (va & mask) >> PAGE_SHIFT) {
			victim = &slots[i]; /* refresh the same page */
			break;
		}
		if (!slots[i].valid) {
			if (!victim || victim->valid)
				victim = &slots[i];
		} else if (!victim || (victim->valid && slots[i].stamp < victim->stamp)) {
			victim = &slots[i];
		}
	}
	if (victim->valid && victim->vpn != (va & mask) >> PAGE_SHIFT)
		t->evictions++;
	victim->vpn = (va & mask) >> PAGE_SHIFT;
	victim->pfn = (uint32_t)((phys & ~(uint64_t)((1u << shift) - 1)) >> PAGE_SHIFT);
	victim->shift = (uint8_t)shift;
	victim->valid = 1;
	victim->rw = rw;
	victim->user = user;
	victim->nx = nx;
	victim->global = global;
	victim->dirty = dirty;
	victim->stamp = ++t->clock;
	t->fills++;
	return victim;
}

void tlb_flush(struct tlb *t, bool keep_global)
{
	unsigned int i;

	for (i = 0; i < t->nr_small; i++)
		if (!keep_global || !t->small[i].global)
			t->small[i].valid = 0;
	for (i = 0; i < t->nr_large; i++)
		if (!keep_global || !t->large[i].global)
			t->large[i].valid = 0;
	if (keep_global)
		t->flushes++;
	else
		t->flushes_all++;
}

unsigned int tlb_invlpg(struct tlb *t, uint32_t va)
{
	unsigned int dropped = 0;
	struct tlb_entry *e;

	t->invlpgs++;
	while ((e = tlb_peek(t, va)) != NULL) {
		e->valid = 0;
		dropped++;
	}
	return dropped;
}

/* ---- snapshot section CPUS: each CPU's control registers and TLB ---------------------------- */

static void entry_snap_save(const struct tlb_entry *e, struct snap_out *o)
{
	snap_put_u32(o, e->vpn);
	snap_put_u32(o, e->pfn);
	snap_put_u32(o, e->stamp);
	snap_put_u8(o, e->shift);
	snap_put_u8(o, (uint8_t)(e->valid | e->rw << 1 | e->user << 2 | e->nx << 3 |
				 e->global << 4 | e->dirty << 5));
}

static void entry_snap_load(struct tlb_entry *e, struct snap_in *in)
{
	uint8_t bits;

	e->vpn = snap_get_u32(in);
	e->pfn = snap_get_u32(in);
	e->stamp = snap_get_u32(in);
	e->shift = snap_get_u8(in);
	bits = snap_get_u8(in);
	if (bits >> 6 || (e->shift && e->shift != 12 && e->shift != 21 && e->shift != 22))
		snap_corrupt(in, "a TLB entry of shift %u, bits %#x", e->shift, bits);
	e->valid = bits & 1;
	e->rw = bits >> 1 & 1;
	e->user = bits >> 2 & 1;
	e->nx = bits >> 3 & 1;
	e->global = bits >> 4 & 1;
	e->dirty = bits >> 5 & 1;
}

/*
 * CPUS v1, per CPU of the configuration: CR0.PG/WP, CR3, CR4.PSE/PAE/PGE, EFER.NXE; the
 * TLB's sizes (which must be what tlb_init() makes of the configuration), its LRU clock and
 * counters, then every entry, small then large.
 */
void cpus_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	unsigned int c, i;

	for (c = 0; c < m->cfg.cpus; c++) {
		const struct mm_cpu_state *cr = &m->cpus[c].cr;
		const struct tlb *t = &m->cpus[c].tlb;

		snap_put_bool(o, cr->pg);
		snap_put_bool(o, cr->wp);
		snap_put_u32(o, cr->cr3);
		snap_put_bool(o, cr->pse);
		snap_put_bool(o, cr->pae);
		snap_put_bool(o, cr->pge);
		snap_put_bool(o, cr->nxe);
		snap_put_u32(o, t->nr_small);
		snap_put_u32(o, t->nr_large);
		snap_put_u32(o, t->clock);
		snap_put_u64(o, t->hits);
		snap_put_u64(o, t->misses);
		snap_put_u64(o, t->fills);
		snap_put_u64(o, t->flushes);
		snap_put_u64(o, t->flushes_all);
		snap_put_u64(o, t->invlpgs);
		snap_put_u64(o, t->evictions);
		for (i = 0; i < t->nr_small; i++)
			entry_snap_save(&t->small[i], o);
		for (i = 0; i < t->nr_large; i++)
			entry_snap_save(&t->large[i], o);
	}
}

int cpus_snap_load(struct mm_machine *m, struct snap_in *in)
{
	unsigned int c, i;

	for (c = 0; c < m->cfg.cpus && !in->ret; c++) {
		struct mm_cpu_state *cr = &m->cpus[c].cr;
		struct tlb *t = &m->cpus[c].tlb;
		uint32_t nr_small, nr_large;

		cr->pg = snap_get_bool(in);
		cr->wp = snap_get_bool(in);
		cr->cr3 = snap_get_u32(in);
		cr->pse = snap_get_bool(in);
		cr->pae = snap_get_bool(in);
		cr->pge = snap_get_bool(in);
		cr->nxe = snap_get_bool(in);
		nr_small = snap_get_u32(in);
		nr_large = snap_get_u32(in);
		if (in->ret)
			break;
		if (tlb_init(t, m->cfg.tlb_entries, m->host))
			return snap_nomem(in, "the TLBs");
		if (nr_small != t->nr_small || nr_large != t->nr_large)
			return snap_corrupt(in,
					    "CPU %u has a TLB of %u+%u entries, its "
					    "configuration %u+%u",
					    c, nr_small, nr_large, t->nr_small, t->nr_large);
		t->clock = snap_get_u32(in);
		t->hits = snap_get_u64(in);
		t->misses = snap_get_u64(in);
		t->fills = snap_get_u64(in);
		t->flushes = snap_get_u64(in);
		t->flushes_all = snap_get_u64(in);
		t->invlpgs = snap_get_u64(in);
		t->evictions = snap_get_u64(in);
		for (i = 0; i < t->nr_small; i++)
			entry_snap_load(&t->small[i], in);
		for (i = 0; i < t->nr_large; i++)
			entry_snap_load(&t->large[i], in);
	}
	return in->ret;
}
