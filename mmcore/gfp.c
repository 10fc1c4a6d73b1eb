/* SPDX-License-Identifier: MIT */
/*
 * gfp.c - GFP masks as text and as allocator policy.
 *
 * Mirrors: include/linux/gfp.h (gfp_zone, gfp_migratetype), mm/page_alloc.c
 * (gfp_to_alloc_flags), include/trace/events/mmflags.h + lib/vsprintf.c (%pGg: composite
 * names first, in the kernel's table order, each consuming its bits; leftovers in hex).
 * Parsing accepts exactly the names %pGg prints, joined by '|', plus numbers, so a mask
 * copied out of a "page allocation failure" line parses back to the same value.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gfp.h"
#include "machine.h"

struct gfp_name {
	gfp_t mask;
	const char *name;
};

/* __def_gfpflag_names, in order: composites before the bits they are made of. */
static const struct gfp_name gfp_names[] = {
	{GFP_TRANSHUGE, "GFP_TRANSHUGE"},
	{GFP_TRANSHUGE_LIGHT, "GFP_TRANSHUGE_LIGHT"},
	{GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"},
	{GFP_HIGHUSER, "GFP_HIGHUSER"},
	{GFP_USER, "GFP_USER"},
	{GFP_KERNEL_ACCOUNT, "GFP_KERNEL_ACCOUNT"},
	{GFP_KERNEL, "GFP_KERNEL"},
	{GFP_NOFS, "GFP_NOFS"},
	{GFP_ATOMIC, "GFP_ATOMIC"},
	{GFP_NOIO, "GFP_NOIO"},
	{GFP_NOWAIT, "GFP_NOWAIT"},
	{GFP_DMA, "GFP_DMA"},
	{__GFP_HIGHMEM, "__GFP_HIGHMEM"},
	{GFP_DMA32, "GFP_DMA32"},
	{__GFP_HIGH, "__GFP_HIGH"},
	{__GFP_ATOMIC, "__GFP_ATOMIC"},
	{__GFP_IO, "__GFP_IO"},
	{__GFP_FS, "__GFP_FS"},
	{__GFP_NOWARN, "__GFP_NOWARN"},
	{__GFP_RETRY_MAYFAIL, "__GFP_RETRY_MAYFAIL"},
	{__GFP_NOFAIL, "__GFP_NOFAIL"},
	{__GFP_NORETRY, "__GFP_NORETRY"},
	{__GFP_COMP, "__GFP_COMP"},
	{__GFP_ZERO, "__GFP_ZERO"},
	{__GFP_NOMEMALLOC, "__GFP_NOMEMALLOC"},
	{__GFP_MEMALLOC, "__GFP_MEMALLOC"},
	{__GFP_HARDWALL, "__GFP_HARDWALL"},
	{__GFP_THISNODE, "__GFP_THISNODE"},
	{__GFP_RECLAIMABLE, "__GFP_RECLAIMABLE"},
	{__GFP_MOVABLE, "__GFP_MOVABLE"},
	{__GFP_ACCOUNT, "__GFP_ACCOUNT"},
	{__GFP_WRITE, "__GFP_WRITE"},
	{__GFP_RECLAIM, "__GFP_RECLAIM"},
	{__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"},
	{__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"},
	{__GFP_ZEROTAGS, "__GFP_ZEROTAGS"},
};

/* Accepted on input only: written in kernel sources, never printed by %pGg. */
static const struct gfp_name gfp_input_aliases[] = {
	{__GFP_DMA, "__GFP_DMA"},
	{__GFP_DMA32, "__GFP_DMA32"},
};

unsigned int gfp_to_alloc_flags(gfp_t gfp)
{
	/* __GFP_HIGH == ALLOC_HIGH and __GFP_KSWAPD_RECLAIM == ALLOC_KSWAPD by design */
	unsigned int flags = ALLOC_WMARK_MIN | ALLOC_CPUSET;

	flags |= gfp & (__GFP_HIGH | __GFP_KSWAPD_RECLAIM);
	if (gfp & __GFP_ATOMIC) {
		if (!(gfp & __GFP_NOMEMALLOC))
			flags |= ALLOC_HARDER;
		flags &= ~ALLOC_CPUSET;
	}
	return flags;
}

size_t mm_gfp_format(mm_gfp_t gfp, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int i;
	int n;

	if (size)
		buf[0] = '\0';
#define EMIT(...)                                                                                  \
	do {                                                                                       \
		n = snprintf(len < size ? buf + len : NULL, len < size ? size - len : 0,           \
			     __VA_ARGS__);                                                         \
		len += n > 0 ? (size_t)n : 0;                                                      \
	} while (0)
	if (!gfp) {
		EMIT("0");
		return len;
	}
	for (i = 0; i < ARRAY_SIZE(gfp_names) && gfp; i++) {
		if ((gfp & gfp_names[i].mask) != gfp_names[i].mask)
			continue;
		EMIT("%s%s", len ? "|" : "", gfp_names[i].name);
		gfp &= ~gfp_names[i].mask;
	}
	if (gfp)
		EMIT("%s%#x", len ? "|" : "", gfp);
#undef EMIT
	return len;
}

static bool lookup_name(const char *name, size_t n, gfp_t *mask)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(gfp_names); i++)
		if (strlen(gfp_names[i].name) == n && !strncmp(gfp_names[i].name, name, n)) {
			*mask = gfp_names[i].mask;
			return true;
		}
	for (i = 0; i < ARRAY_SIZE(gfp_input_aliases); i++)
		if (strlen(gfp_input_aliases[i].name) == n &&
		    !strncmp(gfp_input_aliases[i].name, name, n)) {
			*mask = gfp_input_aliases[i].mask;
			return true;
		}
	return false;
}

int mm_gfp_parse(const char *text, mm_gfp_t *ret, struct mm_error *err)
{
	const char *p = text;
	gfp_t gfp = 0;

	if (!text || !*text)
		return mm_set_error(err, -EINVAL, "empty GFP mask (write e.g. \"GFP_KERNEL\")");
	for (;;) {
		const char *start, *end;
		gfp_t term;

		while (*p == ' ')
			p++;
		start = p;
		while (*p && *p != '|')
			p++;
		end = p;
		while (end > start && end[-1] == ' ')
			end--;
		if (end == start)
			return mm_set_error(err, -EINVAL, "empty term in GFP mask \"%.64s\"", text);
		if (isdigit((unsigned char)*start)) {
			char num[32], *stop;
			unsigned long v;

			if ((size_t)(end - start) >= sizeof(num))
				return mm_set_error(err, -EINVAL,
						    "GFP number too long in \"%.64s\"", text);
			memcpy(num, start, (size_t)(end - start));
			num[end - start] = '\0';
			errno = 0;
			v = strtoul(num, &stop, 0);
			if (*stop || errno || v > __GFP_BITS_MASK)
				return mm_set_error(err, -EINVAL,
						    "bad GFP number '%s' (bits above 0x%x are not "
						    "GFP flags)",
						    num, __GFP_BITS_MASK);
			term = (gfp_t)v;
		} else if (!lookup_name(start, (size_t)(end - start), &term)) {
			return mm_set_error(err, -EINVAL,
					    "unknown GFP flag '%.*s' (names as the kernel writes "
					    "them: GFP_KERNEL, GFP_ATOMIC, __GFP_ZERO, ...)",
					    (int)MM_MIN(end - start, 64), start);
		}
		gfp |= term;
		if (!*p)
			break;
		p++;
	}
	*ret = gfp;
	return 0;
}

/*
 * gfp_check_mask - the masks the page allocator and kmalloc refuse before they look at
 * memory (-EINVAL): bits above __GFP_BITS_SHIFT, GFP_ZONE_BAD zone modifiers, and both
 * mobility bits at once (gfp_migratetype() warns: there is no such migratetype).
 */
int gfp_check_mask(gfp_t gfp, struct mm_error *err)
{
	if (gfp & ~__GFP_BITS_MASK)
		return mm_set_error(err, -EINVAL, "GFP mask %#x has bits above __GFP_BITS_SHIFT",
				    gfp);
	if (gfp_zone_bad(gfp))
		return mm_set_error(err, -EINVAL,
				    "GFP mask %#x combines zone modifiers the kernel rejects "
				    "(GFP_ZONE_BAD)",
				    gfp);
	if (gfp_migratetype_bad(gfp))
		return mm_set_error(err, -EINVAL,
				    "GFP mask %#x has both __GFP_MOVABLE and __GFP_RECLAIMABLE: "
				    "gfp_migratetype() warns, it is no migratetype",
				    gfp);
	return 0;
}
