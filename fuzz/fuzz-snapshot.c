/* SPDX-License-Identifier: MIT */
/*
 * fuzz-snapshot.c - libFuzzer on the snapshot loader, which treats its input as hostile: any
 * bytes either load or are refused with a message, never a crash, a leak or an allocation
 * sized by the input beyond what the machine it describes needs. What loads must save back
 * to a stream that loads again and saves to the same bytes (the same state gives the same
 * bytes). Seeds: the state streams of the committed fixtures (tests/data/snapshots), small.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmcore.h"
#include "../tests/mmcore/snapmem.h"

static struct mm_machine *load(const uint8_t *p, size_t len)
{
	struct mem s = {.p = (uint8_t *)p, .len = len}; /* read only */
	struct mm_error err = {0};
	struct mm_machine *m = NULL;

	if (mm_snapshot_load(mem_read, &s, &m, &err)) {
		if (!err.msg[0])
			abort(); /* a refusal says why */
		return NULL;
	}
	return m;
}

static struct mem save(const struct mm_machine *m)
{
	struct mem k = {0};
	struct mm_error err = {0};

	if (mm_snapshot_save(m, mem_write, &k, &err))
		abort(); /* a loaded machine saves */
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_machine *m = load(data, size), *again;
	struct mem a, b;

	if (!m)
		return 0;
	a = save(m);
	mm_machine_destroy(m);
	again = load(a.p, a.len);
	if (!again)
		abort(); /* what it saved loads */
	b = save(again);
	mm_machine_destroy(again);
	if (a.len != b.len || memcmp(a.p, b.p, a.len))
		abort(); /* and saves to the same bytes */
	free(a.p);
	free(b.p);
	return 0;
}
