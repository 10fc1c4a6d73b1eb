/* SPDX-License-Identifier: MIT */
/*
 * sysctl.c - the vm sysctls that shape the page allocator, read and written as
 * /proc/sys/vm/<name> is.
 *
 * Mirrors: kernel/sysctl.c (vm_table: proc_dointvec_minmax bounds),
 * mm/page_alloc.c (min_free_kbytes_sysctl_handler, watermark_scale_factor_sysctl_handler,
 * lowmem_reserve_ratio_sysctl_handler, percpu_pagelist_high_fraction_sysctl_handler).
 * A refused write leaves the machine as it was. Writing min_free_kbytes or
 * watermark_scale_factor recomputes the watermarks and, as the captured 6.1.176 kernel
 * does (fixture 686-1024M-dyn step b), the protection arrays from the current managed
 * counts.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "machine.h"

const char *const mm_sysctl_names[] = {
	"min_free_kbytes",	"watermark_scale_factor",	 "watermark_boost_factor",
	"lowmem_reserve_ratio", "percpu_pagelist_high_fraction", NULL,
};

int mm_sysctl_get(const struct mm_machine *m, const char *name, struct mm_buf *out,
		  struct mm_error *err)
{
	const struct pglist_data *pgdat = &m->pgdat;
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "vm sysctls (zones and watermarks)", err);

	if (!strcmp(name, "min_free_kbytes"))
		mm_buf_printf(out, "%d\n", pgdat->min_free_kbytes);
	else if (!strcmp(name, "watermark_scale_factor"))
		mm_buf_printf(out, "%d\n", pgdat->watermark_scale_factor);
	else if (!strcmp(name, "watermark_boost_factor"))
		mm_buf_printf(out, "%d\n", pgdat->watermark_boost_factor);
	else if (!strcmp(name, "percpu_pagelist_high_fraction"))
		mm_buf_printf(out, "%d\n", pgdat->percpu_pagelist_high_fraction);
	else if (!strcmp(name, "lowmem_reserve_ratio"))
		mm_buf_printf(out, "%d\t%d\t%d\t%d\n", pgdat->sysctl_lowmem_reserve_ratio[0],
			      pgdat->sysctl_lowmem_reserve_ratio[1],
			      pgdat->sysctl_lowmem_reserve_ratio[2],
			      pgdat->sysctl_lowmem_reserve_ratio[3]);
	else
		return mm_set_error(
			err, -ENOENT,
			"no sysctl vm.%s (mm32 has: min_free_kbytes, "
			"watermark_scale_factor, watermark_boost_factor, lowmem_reserve_ratio, "
			"percpu_pagelist_high_fraction)",
			name);
	if (mm_buf_status(out))
		return mm_set_error(err, -ENOMEM, "out of host memory");
	return 0;
}

/* proc_dointvec: integers separated by white space; at most @max of them. */
static int parse_ints(const char *s, int *vals, int max, int *n, struct mm_error *err,
		      const char *name)
{
	*n = 0;
	while (*s) {
		char *end;
		long v;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (*n == max)
			return mm_set_error(err, -EINVAL, "vm.%s takes at most %d value%s", name,
					    max, max == 1 ? "" : "s");
		v = strtol(s, &end, 10);
		if (end == s || (*end && !isspace((unsigned char)*end)))
			return mm_set_error(err, -EINVAL, "vm.%s: \"%s\" is not an integer", name,
					    s);
		if (v < INT_MIN || v > INT_MAX)
			return mm_set_error(err, -EINVAL, "vm.%s: %ld does not fit an int", name,
					    v);
		vals[(*n)++] = (int)v;
		s = end;
	}
	if (!*n)
		return mm_set_error(err, -EINVAL, "vm.%s: no value given", name);
	return 0;
}

static void recompute_watermarks(struct mm_machine *m)
{
	setup_per_zone_wmarks(&m->pgdat);
	setup_per_zone_lowmem_reserve(&m->pgdat);
}

int mm_sysctl_set(struct mm_machine *m, const char *name, const char *value, struct mm_error *err)
{
	struct pglist_data *pgdat = &m->pgdat;
	int vals[MAX_NR_ZONES], n, ret, i;
	if (m->phase < MM_PHASE_BUDDY)
		return mm_need_phase(m, MM_PHASE_BUDDY, "vm sysctls (zones and watermarks)", err);

	if (!strcmp(name, "lowmem_reserve_ratio")) {
		ret = parse_ints(value, vals, MAX_NR_ZONES, &n, err, name);
		if (ret)
			return ret;
		for (i = 0; i < n; i++)
			pgdat->sysctl_lowmem_reserve_ratio[i] = vals[i] < 1 ? 0 : vals[i];
		setup_per_zone_lowmem_reserve(pgdat);
		return 0;
	}
	if (strcmp(name, "min_free_kbytes") && strcmp(name, "watermark_scale_factor") &&
	    strcmp(name, "watermark_boost_factor") && strcmp(name, "percpu_pagelist_high_fraction"))
		return mm_set_error(err, -ENOENT, "no sysctl vm.%s", name);
	ret = parse_ints(value, vals, 1, &n, err, name);
	if (ret)
		return ret;
	if (!strcmp(name, "min_free_kbytes")) {
		if (vals[0] < 0)
			return mm_set_error(err, -EINVAL, "vm.min_free_kbytes must be >= 0, not %d",
					    vals[0]);
		pgdat->min_free_kbytes = vals[0];
		pgdat->user_min_free_kbytes = vals[0];
		recompute_watermarks(m);
	} else if (!strcmp(name, "watermark_scale_factor")) {
		if (vals[0] < 1 || vals[0] > 3000)
			return mm_set_error(
				err, -EINVAL,
				"vm.watermark_scale_factor must be between 1 and 3000, not %d",
				vals[0]);
		pgdat->watermark_scale_factor = vals[0];
		recompute_watermarks(m);
	} else if (!strcmp(name, "watermark_boost_factor")) {
		if (vals[0] < 0)
			return mm_set_error(err, -EINVAL,
					    "vm.watermark_boost_factor must be >= 0, not %d",
					    vals[0]);
		pgdat->watermark_boost_factor = vals[0];
	} else {
		unsigned int z;

		if (vals[0] < 0 || (vals[0] && vals[0] < 8))
			return mm_set_error(
				err, -EINVAL,
				"vm.percpu_pagelist_high_fraction must be 0 or at least 8, "
				"not %d",
				vals[0]);
		pgdat->percpu_pagelist_high_fraction = vals[0];
		for (z = 0; z < MAX_NR_ZONES; z++)
			zone_pcp_update(pgdat, &pgdat->node_zones[z]);
	}
	return 0;
}
