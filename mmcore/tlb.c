/* SPDX-License-Identifier: MIT */
/*
 * tlb.c - the per-CPU TLB; see tlb.h for the model and its rules.
 */
#include "tlb.h"

#include <errno.h>
#include <string.h>

#include "host.h"

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
