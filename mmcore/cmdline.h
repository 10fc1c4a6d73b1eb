/* SPDX-License-Identifier: MIT */
/*
 * cmdline.h - the kernel command line: split into parameters and checked up front, so a
 * machine that cannot boot is refused before anything is built.
 *
 * Mirrors: lib/cmdline.c (memparse), kernel/params.c (next_arg: quotes, "--"),
 * init/main.c (parse_early_param). The early parameters mm32 acts on are mem=, memmap=,
 * highmem=, vmalloc=, init_on_alloc=, init_on_free= and SLUB's slub_min_objects=,
 * slub_max_order=, slub_min_order=, slab_nomerge, slab_merge; they are kept in command-line order
 * because the kernel applies them in that order (two memmap= act one after the other). Others are
 * kept as text.
 */
#ifndef MM_CMDLINE_H
#define MM_CMDLINE_H

#include "types.h"

#define CMDLINE_MAX_PARAMS 64

enum early_param {
	EARLY_MEM,
	EARLY_MEMMAP,
	EARLY_HIGHMEM,
	EARLY_VMALLOC,
	EARLY_INIT_ON_ALLOC, /* value "1" or "0" after kstrtobool() */
	EARLY_INIT_ON_FREE,
	/* __setup() parameters of mm/slub.c and mm/slab_common.c (value: the number; for
	 * slab_nomerge/slub_nomerge "1", for slab_merge "0") */
	EARLY_SLUB_MIN_OBJECTS,
	EARLY_SLUB_MAX_ORDER,
	EARLY_SLUB_MIN_ORDER,
	EARLY_SLAB_NOMERGE,
};

struct cmdline_param {
	enum early_param kind;
	char value[256];
};

struct mm_cmdline {
	unsigned int nr;
	struct cmdline_param params[CMDLINE_MAX_PARAMS];
};

/* Split and validate; -EINVAL with a message naming the bad parameter. */
int cmdline_parse(const char *s, struct mm_cmdline *out, struct mm_error *err);
/* Kernel memparse(): number (base 0) with an optional K/M/G/T/P/E suffix; *end after it. */
uint64_t memparse(const char *p, const char **end);

#endif /* MM_CMDLINE_H */
