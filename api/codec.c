/* SPDX-License-Identifier: MIT */
/*
 * codec.c - the views: mmcore's structs as the API's JSON documents (see codec.h for the
 * conventions and ownership rules), and the results of commands as JSON text. The JSON text
 * writer is text.c, the parsers of user values parse.c, the machine configuration spec.c.
 *
 * Builders accumulate the results of json_object_set_new() into one flag and give up at
 * the end: json_object_set_new() steals its value even when it fails, and a NULL value
 * (an allocation that failed) makes it fail, so a single check covers every allocation.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "problem.h"

/* json_object_set_new()'s 0 or -1: a chain "set(a) | set(b)" runs every call (each steals its
 * value, so none may be skipped) and is non-zero when any failed. */
#define set(o, k, v) json_object_set_new((o), (k), (v))

/* ---- views ---------------------------------------------------------------------------- */

json_t *api_layout_to_json(const struct mm_layout *l)
{
	json_t *o = json_object(), *img = json_object();
	bool bad;

	if (!o || !img) {
		json_decref(o);
		json_decref(img);
		return NULL;
	}
	bad = set(o, "PAGE_OFFSET", api_json_hex(l->page_offset)) |
	      set(o, "high_memory", api_json_hex(l->high_memory)) |
	      set(o, "VMALLOC_OFFSET", api_json_hex(l->vmalloc_offset)) |
	      set(o, "VMALLOC_START", api_json_hex(l->vmalloc_start)) |
	      set(o, "VMALLOC_END", api_json_hex(l->vmalloc_end)) |
	      set(o, "__VMALLOC_RESERVE", api_json_hex(l->vmalloc_reserve)) |
	      set(o, "PKMAP_BASE", api_json_hex(l->pkmap_base)) |
	      set(o, "LAST_PKMAP", json_integer(l->last_pkmap)) |
	      set(o, "LDT_BASE_ADDR", api_json_hex(l->ldt_base)) |
	      set(o, "CPU_ENTRY_AREA_BASE", api_json_hex(l->cpu_entry_area_base)) |
	      set(o, "CPU_ENTRY_AREA_PAGES", json_integer(l->cpu_entry_area_pages)) |
	      set(o, "FIXADDR_TOP", api_json_hex(l->fixaddr_top)) |
	      set(o, "FIXADDR_START", api_json_hex(l->fixaddr_start)) |
	      set(o, "FIXADDR_TOT_START", api_json_hex(l->fixaddr_tot_start)) |
	      set(o, "MAXMEM_PFN", json_integer(l->maxmem_pfn)) |
	      set(o, "max_low_pfn", json_integer(l->max_low_pfn)) |
	      set(o, "max_pfn", json_integer(l->max_pfn)) |
	      set(o, "highstart_pfn", json_integer(l->highstart_pfn)) |
	      set(o, "highend_pfn", json_integer(l->highend_pfn)) |
	      set(o, "max_pfn_mapped", json_integer(l->max_pfn_mapped)) |
	      set(o, "PMD_SIZE", api_json_hex(l->pmd_size)) |
	      set(o, "pageblock_order", json_integer(l->pageblock_order));
	bad |= set(img, "_text", api_json_hex(l->text_start)) |
	       set(img, "_etext", api_json_hex(l->text_end)) |
	       set(img, "__start_rodata", api_json_hex(l->rodata_start)) |
	       set(img, "__end_rodata", api_json_hex(l->rodata_end)) |
	       set(img, "_sdata", api_json_hex(l->data_start)) |
	       set(img, "_edata", api_json_hex(l->data_end)) |
	       set(img, "__init_begin", api_json_hex(l->init_start)) |
	       set(img, "__init_end", api_json_hex(l->init_end)) |
	       set(img, "__bss_start", api_json_hex(l->bss_start)) |
	       set(img, "__bss_stop", api_json_hex(l->bss_end)) |
	       set(img, "__brk_base", api_json_hex(l->brk_start)) |
	       set(img, "_brk_end", api_json_hex(l->brk_end)) |
	       set(img, "_end", api_json_hex(l->image_end));
	bad |= set(o, "kernel_image", img);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *u32_array(const uint32_t *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_integer(v[i]))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

json_t *api_zone_to_json(const struct mm_zone_info *z)
{
	json_t *o = json_object(), *wm = json_object(), *prot = json_array();
	json_t *by_type = json_object(), *pcp = json_array();
	bool bad = !o || !wm || !prot || !by_type || !pcp;

	if (bad) {
		json_decref(o);
		json_decref(wm);
		json_decref(prot);
		json_decref(by_type);
		json_decref(pcp);
		return NULL;
	}
	bad |= set(wm, "min", json_integer(z->wmark_min)) |
	       set(wm, "low", json_integer(z->wmark_low)) |
	       set(wm, "high", json_integer(z->wmark_high)) |
	       set(wm, "promo", json_integer(z->wmark_promo)) |
	       set(wm, "boost", json_integer(z->watermark_boost));
	for (int i = 0; i < MM_NR_ZONES; i++)
		bad |= json_array_append_new(prot, json_integer(z->lowmem_reserve[i])) != 0;
	for (int mt = 0; mt < MM_MIGRATE_TYPES; mt++) {
		uint32_t n[MM_MAX_ORDER];

		for (int k = 0; k < MM_MAX_ORDER; k++)
			n[k] = z->nr_free_mt[k][mt];
		bad |= set(by_type, mm_migratetype_name(mt), u32_array(n, MM_MAX_ORDER));
	}
	for (unsigned int cpu = 0; cpu < z->nr_cpus && cpu < MM_NR_CPUS; cpu++)
		bad |= json_array_append_new(pcp,
					     json_pack("{s:i, s:i, s:i, s:i}", "cpu", cpu, "count",
						       z->pcp[cpu].count, "high", z->pcp[cpu].high,
						       "batch", z->pcp[cpu].batch)) != 0;

	bad |= set(o, "name", json_string(z->name)) |
	       set(o, "populated", json_boolean(z->populated)) |
	       set(o, "start_pfn", json_integer(z->zone_start_pfn)) |
	       set(o, "spanned", json_integer(z->spanned)) |
	       set(o, "present", json_integer(z->present)) |
	       set(o, "managed", json_integer(z->managed)) |
	       set(o, "free", json_integer((json_int_t)z->free)) | set(o, "watermarks", wm) |
	       set(o, "protection", prot) |
	       set(o, "nr_reserved_highatomic", json_integer(z->nr_reserved_highatomic)) |
	       set(o, "free_area", u32_array(z->nr_free, MM_MAX_ORDER)) |
	       set(o, "free_area_by_type", by_type) |
	       set(o, "stat_threshold", json_integer(z->stat_threshold)) | set(o, "pagesets", pcp);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *api_totals_to_json(const struct mm_totals *t)
{
	json_t *o = json_object(), *ratio = json_array();
	bool bad = !o || !ratio;

	for (int i = 0; ratio && i < MM_NR_ZONES; i++)
		bad |= json_array_append_new(ratio, json_integer(t->lowmem_reserve_ratio[i])) != 0;
	if (bad) {
		json_decref(o);
		json_decref(ratio);
		return NULL;
	}
	bad = set(o, "totalram_pages", json_integer((json_int_t)t->totalram_pages)) |
	      set(o, "totalhigh_pages", json_integer((json_int_t)t->totalhigh_pages)) |
	      set(o, "totalreserve_pages", json_integer((json_int_t)t->totalreserve_pages)) |
	      set(o, "nr_free_pages", json_integer((json_int_t)t->nr_free_pages)) |
	      set(o, "present_pages", json_integer((json_int_t)t->present_pages)) |
	      set(o, "min_free_kbytes", json_integer(t->min_free_kbytes)) |
	      set(o, "user_min_free_kbytes", json_integer(t->user_min_free_kbytes)) |
	      set(o, "watermark_scale_factor", json_integer(t->watermark_scale_factor)) |
	      set(o, "watermark_boost_factor", json_integer(t->watermark_boost_factor)) |
	      set(o, "lowmem_reserve_ratio", ratio) |
	      set(o, "percpu_pagelist_high_fraction",
		  json_integer(t->percpu_pagelist_high_fraction)) |
	      set(o, "mobility_grouping", json_boolean(t->mobility_grouping)) |
	      set(o, "movable_zone", json_integer(t->movable_zone));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *api_alloc_events_to_json(const struct mm_alloc_events *ev)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (set(o, "kswapd_wakeups", json_integer((json_int_t)ev->kswapd_wakeups)) |
	    set(o, "direct_reclaims", json_integer((json_int_t)ev->direct_reclaims)) |
	    set(o, "alloc_failures", json_integer((json_int_t)ev->alloc_failures)) |
	    set(o, "pcp_drains", json_integer((json_int_t)ev->pcp_drains)) |
	    set(o, "highatomic_reserved", json_integer((json_int_t)ev->highatomic_reserved)) |
	    set(o, "pageblocks_stolen", json_integer((json_int_t)ev->pageblocks_stolen)) |
	    set(o, "fallbacks", json_integer((json_int_t)ev->fallbacks))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *api_machine_totals_json(const struct mm_machine *m)
{
	struct mm_alloc_events ev;
	struct mm_totals t;
	json_t *o;

	mm_get_totals(m, &t);
	mm_get_alloc_events(m, &ev);
	o = api_totals_to_json(&t);
	if (o && set(o, "alloc_events", api_alloc_events_to_json(&ev))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- the page allocator ------------------------------------------------------------------ */

static json_t *name_or_null(const char *name)
{
	return name ? json_string(name) : json_null();
}

static const char *zone_name_or_null(int zone)
{
	return zone >= 0 && zone < MM_NR_ZONES ? mm_zone_name(zone) : NULL;
}

static const char *migratetype_name_or_null(int mt)
{
	return mt >= 0 && mt < MM_MIGRATE_TYPES ? mm_migratetype_name(mt) : NULL;
}

void api_text_page_alloc(struct api_text *t, const struct mm_page_alloc *a)
{
	const char *zone = zone_name_or_null(a->zone);
	const char *mt = migratetype_name_or_null(a->migratetype);

	api_text_puts(t, "{\"pfn\":");
	api_text_int(t, a->pfn);
	api_text_puts(t, ",\"order\":");
	api_text_int(t, a->order);
	api_text_puts(t, ",\"zone\":");
	if (zone)
		api_text_str(t, zone);
	else
		api_text_puts(t, "null");
	api_text_puts(t, ",\"migratetype\":");
	if (mt)
		api_text_str(t, mt);
	else
		api_text_puts(t, "null");
	api_text_puts(t, ",\"address\":");
	if (a->lowmem)
		api_text_hex(t, a->vaddr);
	else
		api_text_puts(t, "null");
	api_text_puts(t, ",\"phys\":");
	api_text_hex(t, (uint64_t)a->pfn << 12);
	api_text_puts(t, "}");
}

void api_text_page_free(struct api_text *t, uint32_t pfn, unsigned int order, bool freed)
{
	api_text_puts(t, "{\"pfn\":");
	api_text_int(t, pfn);
	api_text_puts(t, ",\"order\":");
	api_text_int(t, order);
	api_text_puts(t, freed ? ",\"freed\":true}" : ",\"freed\":false}");
}

void api_text_page_ref(struct api_text *t, uint32_t pfn, int refcount, int freed)
{
	api_text_puts(t, "{\"pfn\":");
	api_text_int(t, pfn);
	api_text_puts(t, ",\"refcount\":");
	api_text_int(t, refcount);
	if (freed >= 0)
		api_text_puts(t, freed ? ",\"freed\":true" : ",\"freed\":false");
	api_text_puts(t, "}");
}

json_t *api_frame_to_json(const struct mm_frame_info *f)
{
	json_t *o = json_object(), *flags = json_object(), *names = json_array();
	json_t *type = json_object(), *compound = json_object(), *block;
	bool bad = !o || !flags || !names || !type || !compound;

	if (bad) {
		json_decref(o);
		json_decref(flags);
		json_decref(names);
		json_decref(type);
		json_decref(compound);
		return NULL;
	}
	for (unsigned int bit = 0; bit < MM_NR_PAGEFLAGS; bit++) {
		const char *name = mm_pageflag_name(bit);

		if ((f->flags & (1u << bit)) && name)
			bad |= json_array_append_new(names, json_string(name)) != 0;
	}
	bad |= set(flags, "raw", api_json_hex(f->flags)) | set(flags, "names", names);
	bad |= set(type, "raw", api_json_hex(f->page_type)) |
	       set(type, "name", name_or_null(f->page_type_name));
	bad |= set(compound, "head", json_boolean(f->head)) |
	       set(compound, "tail", json_boolean(f->tail)) |
	       set(compound, "head_pfn", json_integer(f->compound_head)) |
	       set(compound, "order", json_integer(f->compound_order));
	if (f->block_pfn >= 0 && f->block_order >= 0)
		block = json_pack("{s:i, s:i}", "pfn", f->block_pfn, "order", f->block_order);
	else
		block = json_null();
	bad |= set(o, "pfn", json_integer(f->pfn)) | set(o, "phys", api_json_hex(f->phys)) |
	       set(o, "state", name_or_null(mm_frame_state_name(f->state))) |
	       set(o, "flags", flags) | set(o, "zone", name_or_null(zone_name_or_null(f->zone))) |
	       set(o, "refcount", json_integer(f->refcount)) |
	       set(o, "mapcount", json_integer(f->mapcount)) | set(o, "page_type", type) |
	       set(o, "mapping", api_json_hex(f->mapping)) |
	       set(o, "index", json_integer(f->index)) |
	       set(o, "private", json_integer(f->private)) |
	       set(o, "pageblock_migratetype",
		   name_or_null(migratetype_name_or_null(f->pageblock_migratetype))) |
	       set(o, "buddy_order",
		   f->buddy_order >= 0 ? json_integer(f->buddy_order) : json_null()) |
	       set(o, "free_list",
		   name_or_null(migratetype_name_or_null(f->free_list_migratetype))) |
	       set(o, "block", block) |
	       set(o, "pcp_cpu", f->pcp_cpu >= 0 ? json_integer(f->pcp_cpu) : json_null()) |
	       set(o, "compound", compound) |
	       set(o, "address", f->vaddr ? api_json_hex(f->vaddr) : json_null());
	/* PG_slab: the struct slab overlay (slab_cache, inuse/objects/frozen, freelist) */
	bad |= set(o, "slab",
		   f->slab_cache
			   ? json_pack("{s:s, s:i, s:i, s:b, s:o}", "cache", f->slab_cache, "inuse",
				       f->slab_inuse, "objects", f->slab_objects, "frozen",
				       f->slab_frozen, "freelist", api_json_hex(f->slab_freelist))
			   : json_null()) |
	       set(o, "kmalloc_large", json_boolean(f->kmalloc_large)) |
	       set(o, "kernel_own", json_boolean(f->kernel_own));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *api_zones_array(const struct mm_machine *m, struct mm_error *err)
{
	json_t *arr = json_array();
	struct mm_zone_info *z = malloc(sizeof(*z));
	int r;

	if (!arr || !z)
		goto oom;
	for (int i = 0; i < MM_NR_ZONES; i++) {
		r = mm_get_zone(m, i, z);
		if (r == -EAGAIN) {
			api_error(err, r,
				  "the zones do not exist yet: the machine stopped after boot "
				  "phase '%s'; they need '%s' (boot_continue)",
				  mm_boot_phase_name(mm_machine_phase(m)),
				  mm_boot_phase_name(MM_PHASE_BUDDY));
			goto fail;
		}
		if (r < 0) {
			api_error(err, r, "cannot read zone %s", mm_zone_name(i));
			goto fail;
		}
		if (!z->name)
			z->name = mm_zone_name(i);
		if (json_array_append_new(arr, api_zone_to_json(z)))
			goto oom;
	}
	free(z);
	return arr;
oom:
	api_error(err, -ENOMEM, "out of memory building the zones document");
fail:
	free(z);
	json_decref(arr);
	return NULL;
}

static json_t *range_json(const char *base_key, uint64_t base, uint64_t size)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (set(o, base_key, api_json_hex(base)) |
	    set(o, "end", api_json_hex(size ? base + size - 1 : base)) |
	    set(o, "size", api_json_hex(size))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *e820_table(const struct mm_machine *m, bool firmware, struct mm_error *err)
{
	unsigned int n = firmware ? mm_e820_firmware_count(m) : mm_e820_count(m);
	json_t *arr = json_array();

	if (!arr)
		goto oom;
	for (unsigned int i = 0; i < n; i++) {
		struct mm_e820_entry e;
		json_t *o;
		int r = firmware ? mm_e820_firmware_get(m, i, &e) : mm_e820_get(m, i, &e);

		if (r < 0) {
			api_error(err, r, "cannot read e820 entry %u", i);
			json_decref(arr);
			return NULL;
		}
		o = range_json("addr", e.addr, e.size);
		if (!o || set(o, "type", json_string(mm_e820_type_name(e.type))) ||
		    json_array_append_new(arr, o))
			goto oom;
	}
	return arr;
oom:
	json_decref(arr);
	api_error(err, -ENOMEM, "out of memory building the e820 document");
	return NULL;
}

json_t *api_e820_json(const struct mm_machine *m, struct mm_error *err)
{
	json_t *fw = e820_table(m, true, err), *kern = fw ? e820_table(m, false, err) : NULL;
	json_t *o;

	if (!kern) {
		json_decref(fw);
		return NULL;
	}
	o = json_pack("{s:o, s:o}", "firmware", fw, "kernel", kern);
	if (!o)
		api_error(err, -ENOMEM, "out of memory building the e820 document");
	return o;
}

static json_t *memblock_type(const struct mm_machine *m, int type, struct mm_error *err)
{
	unsigned int n = mm_memblock_count(m, type);
	json_t *arr = json_array();

	if (!arr)
		goto oom;
	for (unsigned int i = 0; i < n; i++) {
		struct mm_memblock_region rgn;
		json_t *o;
		int r = mm_memblock_get(m, type, i, &rgn);

		if (r < 0) {
			api_error(err, r, "cannot read memblock region %u", i);
			json_decref(arr);
			return NULL;
		}
		o = range_json("base", rgn.base, rgn.size);
		if (!o || set(o, "name", rgn.name ? json_string(rgn.name) : json_null()) ||
		    json_array_append_new(arr, o))
			goto oom;
	}
	return arr;
oom:
	json_decref(arr);
	api_error(err, -ENOMEM, "out of memory building the memblock document");
	return NULL;
}

json_t *api_memblock_json(const struct mm_machine *m, struct mm_error *err)
{
	json_t *mem = memblock_type(m, 0, err), *res = mem ? memblock_type(m, 1, err) : NULL;
	json_t *o;

	if (!res) {
		json_decref(mem);
		return NULL;
	}
	o = json_pack("{s:o, s:o}", "memory", mem, "reserved", res);
	if (!o)
		api_error(err, -ENOMEM, "out of memory building the memblock document");
	return o;
}

json_t *api_machine_summary(const char *id, const struct mm_machine *m, struct mm_error *err)
{
	const char *taint = mm_machine_taint(m);
	json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:b}", "id", id, "name", id, "config",
			      api_config_to_json(mm_machine_config(m)), "phase",
			      mm_boot_phase_name(mm_machine_phase(m)), "tainted", taint != NULL);

	if (o && taint && json_object_set_new(o, "taint", json_string(taint))) {
		json_decref(o);
		o = NULL;
	}
	if (!o)
		api_error(err, -ENOMEM, "out of memory building the machine document");
	return o;
}

json_t *api_machine_to_json(const char *id, const struct mm_machine *m, struct mm_error *err)
{
	struct mm_layout layout;
	json_t *o, *zones;

	/* a machine stopped before the buddy phase has no zones yet: show what exists */
	zones = mm_machine_phase(m) < MM_PHASE_BUDDY ? json_array() : api_zones_array(m, err);
	if (!zones) {
		if (err && !err->code)
			api_error(err, -ENOMEM, "out of memory building the machine document");
		return NULL;
	}
	o = api_machine_summary(id, m, err);
	if (!o) {
		json_decref(zones);
		return NULL;
	}
	mm_get_layout(m, &layout);
	if (set(o, "layout", api_layout_to_json(&layout)) | set(o, "zones", zones) |
	    set(o, "totals", api_machine_totals_json(m))) {
		json_decref(o);
		api_error(err, -ENOMEM, "out of memory building the machine document");
		return NULL;
	}
	return o;
}

bool api_sysctl_known(const char *name)
{
	for (const char *const *n = mm_sysctl_names; *n; n++)
		if (!strcmp(*n, name))
			return true;
	return false;
}

int api_sysctl_get_json(const struct mm_machine *m, const char *name, json_t **ret,
			struct mm_error *err)
{
	struct mm_buf buf = {0};
	bool vector = !strcmp(name, "lowmem_reserve_ratio");
	json_t *arr = NULL, *v = NULL;
	char *p = NULL;
	int r;

	if (!api_sysctl_known(name))
		return api_error(err, -ENOENT, "no sysctl vm.%.64s", name);
	r = mm_sysctl_get(m, name, &buf, err);
	if (r < 0)
		return r;
	/* the text reads like /proc/sys/vm/@name: integers separated by tabs, then "\n" */
	/* mm_buf need not be NUL-terminated: parse a copy */
	p = strndup(buf.data ? buf.data : "", buf.len);
	arr = json_array();
	if (!arr || !p)
		goto oom;
	for (size_t len = strlen(p), off = 0;;) {
		long long x;
		char *end;

		while (off < len && isspace((unsigned char)p[off]))
			off++;
		if (off >= len)
			break;
		errno = 0;
		x = strtoll(p + off, &end, 10);
		if (end == p + off || errno) {
			r = api_error(err, -EFAULT, "sysctl vm.%s reads \"%.*s\", not integers",
				      name, (int)(len > 64 ? 64 : len), p);
			goto out;
		}
		off = (size_t)(end - p);
		if (json_array_append_new(arr, json_integer(x)))
			goto oom;
	}
	if (vector ? json_array_size(arr) != MM_NR_ZONES : json_array_size(arr) != 1) {
		r = api_error(err, -EFAULT, "sysctl vm.%s reads \"%.*s\": wrong number of values",
			      name, (int)(strlen(p) > 64 ? 64 : strlen(p)), p);
		goto out;
	}
	v = vector ? json_incref(arr) : json_incref(json_array_get(arr, 0));
	*ret = v;
	r = 0;
	goto out;
oom:
	r = api_error(err, -ENOMEM, "out of memory");
out:
	free(p);
	json_decref(arr);
	mm_buf_free(&buf);
	return r;
}

/* ---- paging ------------------------------------------------------------------------------ */
static const char *access_name(int access)
{
	return access == MM_ACCESS_WRITE ? "write" : access == MM_ACCESS_EXEC ? "exec" : "read";
}

void api_text_memory(struct api_text *t, uint64_t addr, size_t len, int space, const uint8_t *data)
{
	static const char digits[] = "0123456789abcdef";

	api_text_puts(t, "{\"addr\":");
	api_text_hex(t, addr);
	api_text_puts(t, ",\"len\":");
	api_text_int(t, (int64_t)len);
	api_text_puts(t, ",\"space\":");
	api_text_str(t, api_space_name(space));
	if (data) {
		api_text_puts(t, ",\"data\":\"");
		if (api_text_reserve(t, 2 * len)) {
			for (size_t i = 0; i < len; i++) {
				t->data[t->len++] = digits[data[i] >> 4];
				t->data[t->len++] = digits[data[i] & 15];
			}
			t->data[t->len] = '\0';
		}
		api_text_puts(t, "\"");
	}
	api_text_puts(t, "}");
}

json_t *api_cpu_to_json(unsigned int cpu, const struct mm_cpu_info *c)
{
	return json_pack("{s:i, s:{s:b, s:b}, s:o, s:{s:b, s:b, s:b}, s:{s:b}, s:{s:i, s:i}, "
			 "s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			 "cpu", (int)cpu, "cr0", "pg", c->pg, "wp", c->wp, "cr3",
			 api_json_hex(c->cr3), "cr4", "pse", c->pse, "pae", c->pae, "pge", c->pge,
			 "efer", "nxe", c->nxe, "capacity", "small", (int)c->tlb_entries, "large",
			 (int)c->tlb_large_entries, "counters", "hits", (json_int_t)c->tlb_hits,
			 "misses", (json_int_t)c->tlb_misses, "fills", (json_int_t)c->tlb_fills,
			 "flushes", (json_int_t)c->tlb_flushes, "flushes_all",
			 (json_int_t)c->tlb_flushes_all, "invlpgs", (json_int_t)c->tlb_invlpgs,
			 "evictions", (json_int_t)c->tlb_evictions);
}

json_t *api_tlb_entry_to_json(const struct mm_tlb_entry *e)
{
	return json_pack("{s:o, s:o, s:I, s:b, s:b, s:b, s:b, s:b}", "va", api_json_hex(e->va),
			 "phys", api_json_hex(e->phys), "page_size", (json_int_t)e->page_size, "rw",
			 e->rw, "user", e->user, "nx", e->nx, "global", e->global, "dirty",
			 e->dirty);
}

/* x86 page-table entry bits (arch/x86/include/asm/pgtable_types.h). */
#define PTE_PRESENT (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_USER (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_ACCESSED (1ull << 5)
#define PTE_DIRTY (1ull << 6)
#define PTE_PSE (1ull << 7) /* PAT in a 4 KiB PTE */
#define PTE_GLOBAL (1ull << 8)
#define PTE_NX (1ull << 63)

/* The bits of an entry by name. @leaf_pte: bit 7 is PAT, not PSE. */
static json_t *pte_flags_json(uint64_t e, bool pae, bool leaf_pte)
{
	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}", "present",
			 !!(e & PTE_PRESENT), "rw", !!(e & PTE_RW), "user", !!(e & PTE_USER), "pwt",
			 !!(e & PTE_PWT), "pcd", !!(e & PTE_PCD), "accessed", !!(e & PTE_ACCESSED),
			 "dirty", !!(e & PTE_DIRTY), "pse", !leaf_pte && (e & PTE_PSE), "pat",
			 leaf_pte && (e & PTE_PSE), "global", !!(e & PTE_GLOBAL), "nx",
			 pae && (e & PTE_NX));
}

/* A raw entry: 8 hex digits on 686, 16 on PAE, as the entry's width. */
static json_t *raw_entry(uint64_t e, bool pae)
{
	char s[24];

	snprintf(s, sizeof(s), pae ? "0x%016" PRIx64 : "0x%08" PRIx64, e);
	return json_string(s);
}

json_t *api_translation_to_json(uint32_t va, unsigned int cpu, int access, bool pae,
				const struct mm_translation *t)
{
	json_t *o = json_object(), *levels = json_array(), *fault, *eff;
	bool bad = !o || !levels, mapped = t->page_size != 0;

	for (unsigned int i = 0; levels && i < t->nr_levels && i < 3; i++) {
		bool pte = t->levels[i].name && !strcmp(t->levels[i].name, "pte");
		json_t *l = json_object();

		bad |= !l ||
		       set(l, "level", json_string(t->levels[i].name ? t->levels[i].name : "?")) |
			       set(l, "table", api_json_hex(t->levels[i].table)) |
			       set(l, "index", json_integer(t->levels[i].index)) |
			       set(l, "entry_addr", api_json_hex(t->levels[i].entry_addr)) |
			       set(l, "raw", raw_entry(t->levels[i].raw, pae)) |
			       set(l, "flags", pte_flags_json(t->levels[i].raw, pae, pte));
		bad |= json_array_append_new(levels, l) != 0;
	}
	if (t->ok)
		fault = json_null();
	else
		fault = json_pack("{s:I, s:s}", "error_code", (json_int_t)t->error_code, "oops",
				  t->fault);
	if (mapped)
		eff = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b}", "rw", t->rw, "user", t->user,
				"nx", t->nx, "global", t->global, "accessed", t->accessed, "dirty",
				t->dirty);
	else
		eff = json_null();
	if (bad) {
		json_decref(o);
		json_decref(levels);
		json_decref(fault);
		json_decref(eff);
		return NULL;
	}
	bad = set(o, "va", api_json_hex(va)) | set(o, "cpu", json_integer(cpu)) |
	      set(o, "access", json_string(access_name(access))) |
	      set(o, "paging", json_boolean(t->paging)) | set(o, "levels", levels) |
	      set(o, "tlb_hit", json_boolean(t->tlb_hit)) | set(o, "ok", json_boolean(t->ok)) |
	      set(o, "phys", mapped ? api_json_hex(t->phys) : json_null()) |
	      set(o, "page_size", mapped ? json_integer(t->page_size) : json_null()) |
	      set(o, "effective", eff) | set(o, "fault", fault);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The flags a dump shows (A/D removed): USR RW/ro PWT PCD PSE|PAT GLB NX. */
static json_t *dump_flags_json(uint64_t e, bool pae, bool large)
{
	return json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b}", "user", !!(e & PTE_USER), "rw",
			 !!(e & PTE_RW), "pwt", !!(e & PTE_PWT), "pcd", !!(e & PTE_PCD), "pse",
			 large && (e & PTE_PSE), "pat", !large && (e & PTE_PSE), "global",
			 !!(e & PTE_GLOBAL), "nx", pae && (e & PTE_NX));
}

json_t *api_page_tables_to_json(const struct mm_page_tables *pt)
{
	json_t *o, *entries = json_array(), *ranges = json_array();
	bool bad = !entries || !ranges;

	for (unsigned int i = 0; !bad && i < pt->nr_entries; i++) {
		const struct mm_pt_entry *e = &pt->entries[i];
		json_t *ptes =
			e->large ? json_null()
				 : json_pack("{s:i, s:i, s:i}", "present", (int)e->present_ptes,
					     "nonzero", (int)e->nonzero_ptes, "per_table",
					     (int)e->ptrs_per_table);

		bad |= json_array_append_new(
			       entries,
			       json_pack("{s:i, s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "index",
					 (int)e->index, "va_start", api_json_hex(e->va_start),
					 "va_end", api_json_hex(e->va_end), "kind",
					 e->large ? "large" : "table", "phys",
					 api_json_hex(e->phys), "raw", raw_entry(e->raw, pt->pae),
					 "flags", dump_flags_json(e->raw, pt->pae, e->large),
					 "ptes", ptes)) != 0;
	}
	for (unsigned int i = 0; !bad && i < pt->nr_ranges; i++) {
		const struct mm_pt_range *r = &pt->ranges[i];

		bad |= json_array_append_new(
			       ranges,
			       json_pack("{s:o, s:o, s:o, s:b, s:b, s:i, s:o, s:b, s:o}",
					 "va_start", api_json_hex(r->va_start), "va_end",
					 api_json_hex(r->va_end), "size",
					 api_json_hex(r->va_end - r->va_start), "mapped", r->mapped,
					 "large", r->mapped && r->large, "n", (int)r->n, "phys",
					 r->mapped ? api_json_hex(r->phys) : json_null(),
					 "contiguous", r->mapped && r->contiguous, "flags",
					 r->mapped ? dump_flags_json(r->flags, pt->pae, r->large)
						   : json_null())) != 0;
	}
	if (bad) {
		json_decref(entries);
		json_decref(ranges);
		return NULL;
	}
	o = json_pack("{s:b, s:o, s:o, s:o}", "pae", pt->pae, "pgd", api_json_hex(pt->pgd),
		      "entries", entries, "ranges", ranges);
	return o;
}

/* ---- the slab allocator -------------------------------------------------------------------- */

json_t *api_kmalloc_to_json(const struct mm_kmalloc *a)
{
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:b}", "address", api_json_hex(a->addr),
			 "cache", a->cache[0] ? json_string(a->cache) : json_null(), "size",
			 (json_int_t)a->size, "ksize", (json_int_t)a->ksize, "pfn",
			 (json_int_t)a->pfn, "order", (json_int_t)a->order, "large", a->large);
}

static json_t *slab_to_json(const struct mm_slab_info *s)
{
	return json_pack("{s:I, s:o, s:I, s:I, s:I, s:b, s:o, s:s, s:o, s:o}", "pfn",
			 (json_int_t)s->pfn, "address", api_json_hex(s->addr), "order",
			 (json_int_t)s->order, "inuse", (json_int_t)s->inuse, "objects",
			 (json_int_t)s->objects, "frozen", s->frozen, "freelist",
			 s->freelist ? api_json_hex(s->freelist) : json_null(), "list", s->list,
			 "cpu", s->cpu >= 0 ? json_integer(s->cpu) : json_null(), "cpu_freelist",
			 s->cpu_freelist ? api_json_hex(s->cpu_freelist) : json_null());
}

json_t *api_cache_to_json(const struct mm_cache_info *ci, const struct mm_slab_info *slabs,
			  int nslabs)
{
	char flags[256], gfp[256];
	json_t *o, *aliases = json_array();
	bool bad = !aliases;

	mm_slab_flags_format(ci->flags, flags, sizeof(flags));
	mm_gfp_format(ci->allocflags, gfp, sizeof(gfp));
	for (unsigned int i = 0; !bad && i < ci->nr_aliases; i++)
		bad |= json_array_append_new(aliases, json_string(ci->aliases[i])) != 0;
	o = json_object();
	bad |= !o;
	if (!bad)
		bad |= set(o, "name", json_string(ci->name)) |
		       set(o, "object_size", json_integer(ci->object_size)) |
		       set(o, "size", json_integer(ci->size)) |
		       set(o, "align", json_integer(ci->align)) |
		       set(o, "offset", json_integer(ci->offset)) |
		       set(o, "flags", json_string(flags)) |
		       set(o, "order", json_integer(ci->order)) |
		       set(o, "objperslab", json_integer(ci->objperslab)) |
		       set(o, "pagesperslab", json_integer(1 << ci->order)) |
		       set(o, "min_order", json_integer(ci->min_order)) |
		       set(o, "min_objects", json_integer(ci->min_objects)) |
		       set(o, "allocflags", json_string(gfp)) |
		       set(o, "refcount", json_integer(ci->refcount)) |
		       set(o, "min_partial", json_integer(ci->min_partial)) |
		       set(o, "cpu_partial", json_integer(ci->cpu_partial)) |
		       set(o, "cpu_partial_slabs", json_integer(ci->cpu_partial_slabs)) |
		       set(o, "address", api_json_hex(ci->addr)) |
		       set(o, "boot", json_boolean(ci->boot)) |
		       set(o, "reclaimable", json_boolean(ci->reclaimable)) |
		       set(o, "active_objs", json_integer((json_int_t)ci->active_objs)) |
		       set(o, "num_objs", json_integer((json_int_t)ci->num_objs)) |
		       set(o, "num_slabs", json_integer((json_int_t)ci->num_slabs)) |
		       set(o, "nr_partial", json_integer(ci->nr_partial)) |
		       set(o, "nr_full", json_integer(ci->nr_full)) |
		       set(o, "nr_cpu_slabs", json_integer(ci->nr_cpu_slabs)) |
		       set(o, "nr_cpu_partial", json_integer(ci->nr_cpu_partial)) |
		       set(o, "aliases", aliases);
	else
		json_decref(aliases);
	if (!bad && slabs) {
		json_t *arr = json_array();

		bad |= !arr;
		for (int i = 0; !bad && i < nslabs; i++)
			bad |= json_array_append_new(arr, slab_to_json(&slabs[i])) != 0;
		bad |= set(o, "slabs", arr);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int api_cache_json(struct mm_machine *m, const char *name, json_t **ret, struct mm_error *err)
{
	struct mm_cache_info ci;
	struct mm_slab_info *slabs = NULL;
	int n, r;

	r = mm_slab_cache_find(m, name, &ci, err);
	if (r < 0)
		return r;
	n = mm_slab_cache_slabs(m, ci.name, NULL, 0, err);
	if (n < 0)
		return n;
	if (n && !(slabs = calloc((size_t)n, sizeof(*slabs))))
		return api_error(err, -ENOMEM, "out of memory");
	n = mm_slab_cache_slabs(m, ci.name, slabs, (unsigned int)n, err);
	*ret = n < 0 ? NULL : api_cache_to_json(&ci, slabs, n);
	free(slabs);
	if (n < 0)
		return n;
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}

int api_slab_json(struct mm_machine *m, json_t **ret, struct mm_error *err)
{
	unsigned int n = mm_slab_cache_count(m);
	json_t *arr = json_array();
	struct mm_cache_info ci;
	int r = 0;

	if (!arr)
		return api_error(err, -ENOMEM, "out of memory");
	for (unsigned int i = 0; i < n && !r; i++) {
		json_t *c = NULL;

		r = mm_slab_cache_get(m, i, &ci, err);
		if (!r)
			r = api_cache_json(m, ci.name, &c, err);
		if (!r && json_array_append_new(arr, c))
			r = api_error(err, -ENOMEM, "out of memory");
	}
	if (r) {
		json_decref(arr);
		return r;
	}
	*ret = json_pack("{s:o}", "caches", arr);
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}
