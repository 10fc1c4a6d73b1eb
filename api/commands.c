/* SPDX-License-Identifier: MIT */
/*
 * commands.c - the command table and the executor (see commands.h).
 *
 * Each op names the fields it accepts besides "op" and "cpu"; the executor rejects any
 * other field before the op runs, so an op's run() only checks types and ranges of its own
 * fields. run() must leave the machine unchanged when it fails (mmcore's own contract),
 * or say that it did not (*changed: the failure is then journaled, see commands.h), and
 * append its result to the text only when it succeeds.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "commands.h"
#include "config.h"
#include "problem.h"
#include "scan.h"

/* -Dmm_debug=full: the invariant checker after every command that changed a machine (one
 * test builds this file again with API_DEBUG_FULL=1, whatever the build's option). */
#ifndef API_DEBUG_FULL
#define API_DEBUG_FULL MM_DEBUG_FULL
#endif

static const struct api_cmd_field *field(const struct api_cmd *cmd, const char *key)
{
	size_t len = strlen(key);

	for (unsigned int i = 0; i < cmd->n; i++)
		if (cmd->f[i].key_len == len && !memcmp(cmd->f[i].key, key, len))
			return &cmd->f[i];
	return NULL;
}

static int text_result(struct api_text *out, struct mm_error *err)
{
	return out->oom ? api_error(err, -ENOMEM, "out of memory writing the result") : 0;
}

/* ---- set_sysctl ------------------------------------------------------------------------ */

/* Write @v as /proc/sys/vm/@name would be written to: "8192", "256 32 0 0". */
static int sysctl_value_text(const char *name, const struct api_cmd_field *v, char *buf,
			     size_t size, struct mm_error *err)
{
	bool vector = !strcmp(name, "lowmem_reserve_ratio");
	size_t off = 0;
	const json_t *x;
	size_t i;

	if (!vector) {
		if (v->type != API_FIELD_INT)
			return api_error(err, -EINVAL, "field 'value' of vm.%s must be an integer",
					 name);
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, v->i);
		return 0;
	}
	if (v->type == API_FIELD_STRING) {
		if (strlen(v->str) >= size)
			return api_error(err, -EINVAL, "field 'value' is too long");
		strcpy(buf, v->str);
		return 0;
	}
	if (!json_is_array(v->json) || json_array_size(v->json) != MM_NR_ZONES)
		return api_error(err, -EINVAL,
				 "field 'value' of vm.lowmem_reserve_ratio must be an array of %d "
				 "integers or a string like \"256 32 0 0\"",
				 MM_NR_ZONES);
	buf[0] = '\0';
	json_array_foreach(v->json, i, x) {
		if (!json_is_integer(x))
			return api_error(err, -EINVAL, "field 'value[%zu]' must be an integer", i);
		off += (size_t)snprintf(buf + off, size - off, "%s%" JSON_INTEGER_FORMAT,
					i ? " " : "", json_integer_value(x));
		if (off >= size)
			return api_error(err, -EINVAL, "field 'value' is too long");
	}
	return 0;
}

static int op_set_sysctl(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			 struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *jname = field(cmd, "name"), *v = field(cmd, "value");
	const char *name;
	json_t *now;
	char text[256];
	int r;

	name = jname->str;
	if (!api_sysctl_known(name))
		return api_error(err, -ENOENT, "no sysctl vm.%.64s", name);
	r = sysctl_value_text(name, v, text, sizeof(text), err);
	if (r < 0)
		return r;
	r = mm_sysctl_set(m, name, text, err);
	if (r < 0)
		return r;
	r = api_sysctl_get_json(m, name, &now, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"name\":");
	api_text_str(out, name);
	api_text_puts(out, ",\"value\":");
	api_text_json(out, now);
	api_text_puts(out, "}");
	json_decref(now);
	return text_result(out, err);
}

/* ---- the page allocator ---------------------------------------------------------------- */

/* The integer field @name of @cmd (declared and checked in the op table), or @def. */
static json_int_t int_arg(const struct api_cmd *cmd, const char *name, json_int_t def)
{
	const struct api_cmd_field *v = field(cmd, name);

	return v ? v->i : def;
}

static int op_alloc_pages(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			  struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *jgfp = field(cmd, "gfp");
	unsigned int order = (unsigned int)int_arg(cmd, "order", 0);
	struct mm_page_alloc a;
	mm_gfp_t gfp;
	int r;

	r = mm_gfp_parse(jgfp->str, &gfp, err);
	if (r < 0)
		return r;
	r = mm_alloc_pages(m, cpu, gfp, order, &a, err);
	if (r == -ENOSPC)
		*changed = true; /* the slow path moved counters, the log, maybe pageblocks */
	if (r < 0)
		return r;
	api_text_page_alloc(out, &a);
	return text_result(out, err);
}

static int op_free_pages(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			 struct api_text *out, bool *changed, struct mm_error *err)
{
	unsigned int order = (unsigned int)int_arg(cmd, "order", 0);
	uint32_t pfn = (uint32_t)int_arg(cmd, "pfn", 0);
	bool freed = false;
	int r;

	r = mm_free_pages(m, cpu, pfn, order, &freed, err);
	if (r < 0)
		return r;
	api_text_page_free(out, pfn, order, freed);
	return text_result(out, err);
}

static int op_get_page(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		       struct api_text *out, bool *changed, struct mm_error *err)
{
	uint32_t pfn = (uint32_t)int_arg(cmd, "pfn", 0);
	int refcount = 0;
	int r;

	r = mm_get_page(m, pfn, &refcount, err);
	if (r < 0)
		return r;
	api_text_page_ref(out, pfn, refcount, -1);
	return text_result(out, err);
}

static int op_put_page(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		       struct api_text *out, bool *changed, struct mm_error *err)
{
	uint32_t pfn = (uint32_t)int_arg(cmd, "pfn", 0);
	bool freed = false;
	int refcount = 0;
	int r;

	r = mm_put_page(m, cpu, pfn, &refcount, &freed, err);
	if (r < 0)
		return r;
	api_text_page_ref(out, pfn, refcount, freed);
	return text_result(out, err);
}

/* ---- boot phases ----------------------------------------------------------------------- */

static int op_boot_continue(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			    struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *u = field(cmd, "until");
	int phase = mm_machine_phase(m), until = -1, r;
	bool refused;

	if (u) {
		r = api_parse_boot_phase("field 'until'",
					 u->type == API_FIELD_STRING ? u->str : NULL, &until, err);
		if (r < 0)
			return r;
	}
	/* mmcore refuses these before it boots anything: the machine stays as it was */
	refused = phase >= MM_NR_BOOT_PHASES - 1 || (until >= 0 && until <= phase);
	r = mm_boot_continue(m, until, err);
	if (r < 0) {
		*changed = !refused; /* a boot step ran and failed: the machine is tainted */
		return r;
	}
	api_text_puts(out, "{\"phase\":");
	api_text_str(out, mm_boot_phase_name(mm_machine_phase(m)));
	api_text_puts(out, "}");
	return text_result(out, err);
}

/* ---- memory, TLBs ---------------------------------------------------------------------- */

/*
 * The address field @name of @cmd: a string ("0xc0000000" or decimal) or a non-negative
 * integer, at most @max.
 */
static int addr_field(const struct api_cmd *cmd, const char *name, uint64_t max, uint64_t *ret,
		      struct mm_error *err)
{
	const struct api_cmd_field *v = field(cmd, name);
	char what[64];

	if (v->type == API_FIELD_INT) {
		if (v->i < 0 || (uint64_t)v->i > max)
			return api_error(err, -EINVAL,
					 "field '%s' must be 0..%#" PRIx64
					 ", not %" JSON_INTEGER_FORMAT,
					 name, max, v->i);
		*ret = (uint64_t)v->i;
		return 0;
	}
	snprintf(what, sizeof(what), "field '%s'", name);
	return api_parse_addr(what, v->str, max, ret, err);
}

static int space_field(const struct api_cmd *cmd, int *ret, struct mm_error *err)
{
	return api_parse_space("field 'space'", field(cmd, "space")->str, ret, err);
}

/* The address range of a memory command: its space, address and the room left. */
static int mem_addr(const struct api_cmd *cmd, int *space, uint64_t *addr, struct mm_error *err)
{
	int r = space_field(cmd, space, err);

	if (r < 0)
		return r;
	return addr_field(cmd, "addr", *space == MM_SPACE_KERNEL ? UINT32_MAX : UINT64_MAX, addr,
			  err);
}

static int op_memory_read(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			  struct api_text *out, bool *changed, struct mm_error *err)
{
	json_int_t len = int_arg(cmd, "len", 0);
	uint64_t addr;
	uint8_t *buf;
	int space, r;

	r = mem_addr(cmd, &space, &addr, err);
	if (r < 0)
		return r;
	buf = malloc((size_t)len);
	if (!buf)
		return api_error(err, -ENOMEM, "out of memory");
	r = mm_mem_read(m, cpu, space, addr, (size_t)len, buf, err);
	if (r == 0)
		api_text_memory(out, addr, (size_t)len, space, buf);
	free(buf);
	return r < 0 ? r : text_result(out, err);
}

static int op_memory_write(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			   struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *d = field(cmd, "data"), *force = field(cmd, "force");
	uint64_t addr;
	uint8_t *buf;
	size_t len;
	int space, r;

	r = mem_addr(cmd, &space, &addr, err);
	if (r < 0)
		return r;
	r = api_hex_decode("field 'data'", d->str, &buf, &len, err);
	if (r < 0)
		return r;
	r = force && force->i ? mm_mem_write_force(m, cpu, space, addr, buf, len, err)
			      : mm_mem_write(m, cpu, space, addr, buf, len, err);
	free(buf);
	if (r < 0)
		return r;
	api_text_memory(out, addr, len, space, NULL);
	return text_result(out, err);
}

static int op_invlpg(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		     struct api_text *out, bool *changed, struct mm_error *err)
{
	uint64_t va;
	int r = addr_field(cmd, "va", UINT32_MAX, &va, err);

	if (r < 0)
		return r;
	r = mm_invlpg(m, cpu, (uint32_t)va, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"cpu\":");
	api_text_int(out, cpu);
	api_text_puts(out, ",\"va\":");
	api_text_hex(out, va);
	api_text_puts(out, "}");
	return text_result(out, err);
}

static int op_flush_tlb(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *k = field(cmd, "keep_global");
	int r;

	r = mm_flush_tlb(m, cpu, k && k->i, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"cpu\":");
	api_text_int(out, cpu);
	api_text_puts(out, k && k->i ? ",\"keep_global\":true}" : ",\"keep_global\":false}");
	return text_result(out, err);
}

/* A read by physical address changes nothing (no TLB, no accessed bits). */
static bool memory_read_pure(const struct api_cmd *cmd)
{
	const struct api_cmd_field *v = field(cmd, "space");

	return v && v->type == API_FIELD_STRING && !strcmp(v->str, "phys");
}

/* ---- highmem: kmap, kmap_local, kmap_atomic (mm/highmem.c) ------------------------------ */

static void text_kmap(struct api_text *out, unsigned int cpu, const struct mm_kmap *k, bool unmap)
{
	api_text_puts(out, "{\"cpu\":");
	api_text_int(out, cpu);
	api_text_puts(out, ",\"pfn\":");
	api_text_int(out, k->pfn);
	api_text_puts(out, ",\"address\":");
	api_text_hex(out, k->address);
	api_text_puts(out, ",\"slot\":");
	if (k->slot < 0) {
		api_text_puts(out, "null,\"count\":null");
	} else {
		api_text_int(out, k->slot);
		api_text_puts(out, ",\"count\":");
		api_text_int(out, k->count);
	}
	if (unmap)
		api_text_puts(out, k->woke ? ",\"woke\":true}" : ",\"woke\":false}");
	else
		api_text_puts(out, k->flushed ? ",\"flushed\":true}" : ",\"flushed\":false}");
}

/* kmap {pfn}: -ENOSPC when every pkmap slot is busy (the kernel would sleep): nothing
 * changed, not journaled; POST /kmap waits and runs it again after a kunmap. */
static int op_kmap(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		   struct api_text *out, bool *changed, struct mm_error *err)
{
	struct mm_kmap k;
	int r = mm_kmap(m, cpu, (uint32_t)int_arg(cmd, "pfn", 0), &k, err);

	if (r < 0)
		return r;
	text_kmap(out, cpu, &k, false);
	return text_result(out, err);
}

static int op_kunmap(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		     struct api_text *out, bool *changed, struct mm_error *err)
{
	struct mm_kmap k;
	int r = mm_kunmap(m, cpu, (uint32_t)int_arg(cmd, "pfn", 0), &k, err);

	if (r < 0)
		return r;
	text_kmap(out, cpu, &k, true);
	return text_result(out, err);
}

static void text_kmap_local(struct api_text *out, unsigned int cpu, const struct mm_kmap_local *k)
{
	api_text_puts(out, "{\"cpu\":");
	api_text_int(out, cpu);
	api_text_puts(out, ",\"pfn\":");
	api_text_int(out, k->pfn);
	api_text_puts(out, ",\"address\":");
	api_text_hex(out, k->address);
	api_text_puts(out, ",\"idx\":");
	if (k->idx < 0) {
		api_text_puts(out, "null,\"fix_idx\":null");
	} else {
		api_text_int(out, k->idx);
		api_text_puts(out, ",\"fix_idx\":");
		api_text_int(out, k->fix_idx);
	}
	api_text_puts(out, k->atomic ? ",\"atomic\":true}" : ",\"atomic\":false}");
}

/* kmap_local {pfn, atomic?} (atomic: as kmap_atomic) and kmap_atomic {pfn}. */
static int kmap_local_common(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			     bool atomic, struct api_text *out, struct mm_error *err)
{
	const struct api_cmd_field *a = field(cmd, "atomic");
	struct mm_kmap_local k;
	int r = mm_kmap_local(m, cpu, (uint32_t)int_arg(cmd, "pfn", 0), atomic || (a && a->i), &k,
			      err);

	if (r < 0)
		return r;
	text_kmap_local(out, cpu, &k);
	return text_result(out, err);
}

static int kunmap_local_common(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			       bool atomic, struct api_text *out, struct mm_error *err)
{
	const struct api_cmd_field *a = field(cmd, "atomic");
	struct mm_kmap_local k;
	uint64_t addr;
	int r = addr_field(cmd, "address", UINT32_MAX, &addr, err);

	if (!r)
		r = mm_kunmap_local(m, cpu, (uint32_t)addr, atomic || (a && a->i), &k, err);
	if (r < 0)
		return r;
	text_kmap_local(out, cpu, &k);
	return text_result(out, err);
}

static int op_kmap_local(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			 struct api_text *out, bool *changed, struct mm_error *err)
{
	return kmap_local_common(m, cmd, cpu, false, out, err);
}

static int op_kmap_atomic(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			  struct api_text *out, bool *changed, struct mm_error *err)
{
	return kmap_local_common(m, cmd, cpu, true, out, err);
}

static int op_kunmap_local(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			   struct api_text *out, bool *changed, struct mm_error *err)
{
	return kunmap_local_common(m, cmd, cpu, false, out, err);
}

static int op_kunmap_atomic(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			    struct api_text *out, bool *changed, struct mm_error *err)
{
	return kunmap_local_common(m, cmd, cpu, true, out, err);
}

/* ---- the slab allocator ------------------------------------------------------------------ */

static int json_result(struct api_text *out, json_t *v, struct mm_error *err)
{
	if (!v)
		return api_error(err, -ENOMEM, "out of memory writing the result");
	api_text_json(out, v);
	json_decref(v);
	return text_result(out, err);
}

/* The optional string field @name, or @def. */
static const char *str_arg(const struct api_cmd *cmd, const char *name, const char *def)
{
	const struct api_cmd_field *v = field(cmd, name);

	return v ? v->str : def;
}

static int kaddr_field(const struct api_cmd *cmd, uint32_t *ret, struct mm_error *err)
{
	uint64_t a;
	int r = addr_field(cmd, "address", UINT32_MAX, &a, err);

	if (r == 0)
		*ret = (uint32_t)a;
	return r;
}

static int op_kmalloc(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		      struct api_text *out, bool *changed, struct mm_error *err)
{
	struct mm_kmalloc a;
	mm_gfp_t gfp;
	int r;

	r = mm_gfp_parse(field(cmd, "gfp")->str, &gfp, err);
	if (r < 0)
		return r;
	r = mm_kmalloc(m, cpu, (uint32_t)int_arg(cmd, "size", 0), gfp, &a, err);
	if (r == -ENOSPC)
		*changed = true; /* the page allocator's slow path moved counters and the log */
	if (r < 0)
		return r;
	return json_result(out, api_kmalloc_to_json(&a), err);
}

static int op_kfree(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		    struct api_text *out, bool *changed, struct mm_error *err)
{
	bool freed = false;
	uint32_t addr = 0;
	int r;

	r = kaddr_field(cmd, &addr, err);
	if (r == 0)
		r = mm_kfree(m, cpu, addr, &freed, err);
	if (r < 0)
		return r;
	return json_result(
		out, json_pack("{s:o, s:b}", "address", api_json_hex(addr), "freed", freed), err);
}

static int op_kmem_cache_create(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
				struct api_text *out, bool *changed, struct mm_error *err)
{
	const char *name = field(cmd, "name")->str;
	struct mm_cache_info ci;
	uint32_t flags;
	json_t *v;
	int r;

	r = mm_slab_flags_parse(str_arg(cmd, "flags", "0"), &flags, err);
	if (r < 0)
		return r;
	r = mm_kmem_cache_create(m, cpu, name, (uint32_t)int_arg(cmd, "size", 0),
				 (uint32_t)int_arg(cmd, "align", 0), flags, &ci, err);
	if (r == -ENOSPC)
		*changed = true;
	if (r < 0)
		return r;
	v = api_cache_to_json(&ci, NULL, 0);
	if (v && (json_object_set_new(v, "merged", json_boolean(ci.merged)) ||
		  json_object_set_new(v, "created", json_string(name)))) {
		json_decref(v);
		v = NULL;
	}
	return json_result(out, v, err);
}

static int op_kmem_cache_destroy(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
				 struct api_text *out, bool *changed, struct mm_error *err)
{
	const char *name = field(cmd, "name")->str;
	int r = mm_kmem_cache_destroy(m, cpu, name, err);

	if (r < 0)
		return r;
	return json_result(out, json_pack("{s:s, s:b}", "name", name, "destroyed", 1), err);
}

static int op_kmem_cache_shrink(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
				struct api_text *out, bool *changed, struct mm_error *err)
{
	const char *name = field(cmd, "name")->str;
	unsigned int freed = 0;
	int r = mm_kmem_cache_shrink(m, cpu, name, &freed, err);

	if (r < 0)
		return r;
	return json_result(
		out, json_pack("{s:s, s:I}", "name", name, "slabs_freed", (json_int_t)freed), err);
}

static int op_kmem_cache_alloc(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			       struct api_text *out, bool *changed, struct mm_error *err)
{
	struct mm_kmalloc a;
	mm_gfp_t gfp;
	int r;

	r = mm_gfp_parse(str_arg(cmd, "gfp", "GFP_KERNEL"), &gfp, err);
	if (r < 0)
		return r;
	r = mm_kmem_cache_alloc(m, cpu, field(cmd, "name")->str, gfp, &a, err);
	if (r == -ENOSPC)
		*changed = true;
	if (r < 0)
		return r;
	return json_result(out, api_kmalloc_to_json(&a), err);
}

static int op_kmem_cache_free(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			      struct api_text *out, bool *changed, struct mm_error *err)
{
	const char *name = field(cmd, "name")->str;
	uint32_t addr = 0;
	int r;

	r = kaddr_field(cmd, &addr, err);
	if (r == 0)
		r = mm_kmem_cache_free(m, cpu, name, addr, err);
	if (r < 0)
		return r;
	return json_result(out,
			   json_pack("{s:o, s:s, s:b}", "address", api_json_hex(addr), "name", name,
				     "freed", 1),
			   err);
}

/* kvmalloc/kvzalloc: {"address","kind","size","gfp","kmalloc_gfp"} and kmalloc's fields
 * (cache, ksize, pfn, order, large) or the vmalloc area's (area_size, pages) with the
 * reason the kmalloc attempt failed. */
static json_t *kvmalloc_to_json(struct mm_machine *m, const struct mm_kvmalloc *a)
{
	char gfp[256], kgfp[256];
	json_t *v, *pages;
	struct mm_vmap_area_info ai = {0};
	unsigned int i, n;
	bool bad = false;

	mm_gfp_format(a->gfp, gfp, sizeof(gfp));
	mm_gfp_format(a->kmalloc_gfp, kgfp, sizeof(kgfp));
	if (!a->vmalloc) {
		v = api_kmalloc_to_json(&a->km);
		if (v)
			bad = json_object_set_new(v, "kind", json_string("kmalloc")) ||
			      json_object_set_new(v, "gfp", json_string(gfp)) ||
			      json_object_set_new(v, "kmalloc_gfp", json_string(kgfp));
		if (bad) {
			json_decref(v);
			v = NULL;
		}
		return v;
	}
	n = mm_vmap_area_count(m, MM_VMAP_BUSY);
	for (i = 0; i < n; i++) {
		mm_vmap_area_get(m, MM_VMAP_BUSY, i, &ai);
		if (ai.va_start == a->addr)
			break;
	}
	pages = json_array();
	for (i = 0; pages && i < ai.nr_pfns; i++)
		bad |= json_array_append_new(pages, json_integer(ai.pfns[i])) != 0;
	if (!pages || bad) {
		json_decref(pages);
		return NULL;
	}
	return json_pack("{s:o, s:s, s:I, s:s, s:s, s:s, s:I, s:o}", "address",
			 api_json_hex(a->addr), "kind", "vmalloc", "size", (json_int_t)a->size,
			 "gfp", gfp, "kmalloc_gfp", kgfp, "kmalloc_error", a->kmalloc_error,
			 "area_size", (json_int_t)ai.size, "pages", pages);
}

static int op_kvmalloc(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		       struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *z = field(cmd, "zero");
	struct mm_kvmalloc a;
	mm_gfp_t gfp;
	int r;

	r = mm_gfp_parse(field(cmd, "gfp")->str, &gfp, err);
	if (r < 0)
		return r;
	if (z && z->i)
		gfp |= 0x100u; /* kvzalloc(): __GFP_ZERO */
	r = mm_kvmalloc(m, cpu, (uint32_t)int_arg(cmd, "size", 0), gfp, &a, err);
	if (r == -ENOSPC)
		*changed = true; /* the attempts' slow paths moved counters and the log */
	if (r < 0)
		return r;
	return json_result(out, kvmalloc_to_json(m, &a), err);
}

static int op_kvfree(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		     struct api_text *out, bool *changed, struct mm_error *err)
{
	bool freed = false, vmalloc = false;
	uint32_t addr = 0;
	int r;

	r = kaddr_field(cmd, &addr, err);
	if (r == 0)
		r = mm_kvfree(m, cpu, addr, &vmalloc, &freed, err);
	if (r < 0)
		return r;
	return json_result(
		out,
		json_pack("{s:o, s:o, s:b}", "address", api_json_hex(addr), "kind",
			  freed ? json_string(vmalloc ? "vmalloc" : "kmalloc") : json_null(),
			  "freed", freed),
		err);
}

/* ---- snapshots ------------------------------------------------------------------------- */

/*
 * Restore a snapshot in place: the machine becomes the one saved in snapshot "snapshot"
 * (the daemon's store, through @env). The old machine is left as it was until the caller
 * swaps the new one in; a refused restore changes nothing.
 */
static int op_snapshot_restore(struct mm_machine *m, const struct api_exec_env *env,
			       const struct api_cmd *cmd, struct api_text *out,
			       struct api_command_outcome *oc, struct mm_error *err)
{
	json_int_t id = int_arg(cmd, "snapshot", 0);
	struct api_snapshot_ref ref = {0};
	struct mm_machine *nm = NULL;
	int r;

	if (!env || !env->snapshot_load)
		return api_error(err, -EINVAL, "snapshots are not available here (no store)");
	r = env->snapshot_load(env->data, (int64_t)id, m, &nm, &ref, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"snapshot\":");
	api_text_int(out, ref.id);
	api_text_puts(out, ",\"machine\":");
	api_text_str(out, ref.machine);
	api_text_puts(out, ",\"seq\":");
	api_text_int(out, ref.seq);
	api_text_puts(out, ",\"state_hash\":");
	api_text_str(out, ref.state_hash);
	api_text_puts(out, "}");
	if (out->oom) {
		mm_machine_destroy(nm);
		return api_error(err, -ENOMEM, "out of memory writing the result");
	}
	oc->replace = nm;
	return 0;
}

/* ---- the table ------------------------------------------------------------------------- */

/* ---- vmalloc, vmap, ioremap, set_memory (mmcore/vmalloc.c) ------------------------------ */

/* A size field (declared API_ARG_ANY): bytes, an integer or a memparse string ("8K"). */
static int size_field(const struct api_cmd *cmd, const char *name, uint64_t *ret,
		      struct mm_error *err)
{
	const struct api_cmd_field *v = field(cmd, name);

	if (v->type == API_FIELD_INT) {
		if (v->i < 0)
			return api_error(err, -EINVAL, "field '%s' must not be negative", name);
		*ret = (uint64_t)v->i;
		return 0;
	}
	if (v->type != API_FIELD_STRING || mm_parse_size(v->str, ret))
		return api_error(err, -EINVAL,
				 "field '%s' must be bytes: an integer or a size such as \"8K\"",
				 name);
	return 0;
}

/* {"address","size","area_size","pages":[pfn...] | "phys"} of the busy area at @area. */
static void text_vm_area(struct mm_machine *m, struct api_text *out, uint32_t ret_addr,
			 uint32_t area)
{
	struct mm_vmap_area_info a = {0};
	unsigned int i, n = mm_vmap_area_count(m, MM_VMAP_BUSY);

	for (i = 0; i < n; i++) {
		mm_vmap_area_get(m, MM_VMAP_BUSY, i, &a);
		if (a.va_start == area)
			break;
	}
	api_text_puts(out, "{\"address\":");
	api_text_hex(out, ret_addr);
	api_text_puts(out, ",\"size\":");
	api_text_int(out, a.size - ((a.flags & 0x40) ? 0 : 4096)); /* without the guard page */
	api_text_puts(out, ",\"area_size\":");
	api_text_int(out, a.size);
	if (a.flags & 0x1) {
		api_text_puts(out, ",\"phys\":");
		api_text_hex(out, a.phys_addr);
	} else {
		api_text_puts(out, ",\"pages\":[");
		for (i = 0; i < a.nr_pfns; i++) {
			if (i)
				api_text_puts(out, ",");
			api_text_int(out, a.pfns[i]);
		}
		api_text_puts(out, "]");
	}
	api_text_puts(out, "}");
}

static int op_vmalloc(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		      struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *z = field(cmd, "zero");
	uint64_t size;
	uint32_t addr;
	int r;

	r = size_field(cmd, "size", &size, err);
	if (r < 0)
		return r;
	r = mm_vmalloc(m, cpu, size, z && z->i, "vmalloc", &addr, err);
	if (r == -ENOSPC)
		*changed = true; /* the kernel's warnings went to the log; a purge may have run */
	if (r < 0)
		return r;
	text_vm_area(m, out, addr, addr);
	return text_result(out, err);
}

/* vfree, vunmap, iounmap: {"address","vmap_lazy_nr","lazy_max_pages","purges"} */
static int free_area_op(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			struct api_text *out,
			int (*fn)(struct mm_machine *, unsigned int, uint32_t, struct mm_error *),
			struct mm_error *err)
{
	struct mm_vmalloc_info vi;
	uint64_t addr;
	int r = addr_field(cmd, "address", UINT32_MAX, &addr, err);

	if (r < 0)
		return r;
	r = fn(m, cpu, (uint32_t)addr, err);
	if (r < 0)
		return r;
	mm_vmalloc_get_info(m, &vi);
	api_text_puts(out, "{\"address\":");
	api_text_hex(out, addr);
	api_text_puts(out, ",\"vmap_lazy_nr\":");
	api_text_int(out, (int64_t)vi.vmap_lazy_nr);
	api_text_puts(out, ",\"lazy_max_pages\":");
	api_text_int(out, (int64_t)vi.lazy_max_pages);
	api_text_puts(out, ",\"purges\":");
	api_text_int(out, (int64_t)vi.nr_purges);
	api_text_puts(out, "}");
	return text_result(out, err);
}

static int op_vfree(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		    struct api_text *out, bool *changed, struct mm_error *err)
{
	return free_area_op(m, cmd, cpu, out, mm_vfree, err);
}

static int op_vunmap(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		     struct api_text *out, bool *changed, struct mm_error *err)
{
	return free_area_op(m, cmd, cpu, out, mm_vunmap, err);
}

static int op_iounmap(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		      struct api_text *out, bool *changed, struct mm_error *err)
{
	return free_area_op(m, cmd, cpu, out, mm_iounmap, err);
}

#define VMAP_MAX_PFNS 65536u

static int op_vmap(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		   struct api_text *out, bool *changed, struct mm_error *err)
{
	const struct api_cmd_field *v = field(cmd, "pfns");
	uint32_t *pfns, addr;
	const json_t *x;
	size_t i, n;
	int r;

	if (!json_is_array(v->json) || !json_array_size(v->json))
		return api_error(err, -EINVAL, "field 'pfns' must be a non-empty array of pfns");
	n = json_array_size(v->json);
	if (n > VMAP_MAX_PFNS)
		return api_error(err, -EINVAL, "field 'pfns' holds at most %u pfns", VMAP_MAX_PFNS);
	pfns = calloc(n, sizeof(*pfns));
	if (!pfns)
		return api_error(err, -ENOMEM, "out of memory");
	json_array_foreach(v->json, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) < 0 ||
		    json_integer_value(x) > UINT32_MAX) {
			free(pfns);
			return api_error(err, -EINVAL, "field 'pfns[%zu]' must be a pfn", i);
		}
		pfns[i] = (uint32_t)json_integer_value(x);
	}
	r = mm_vmap(m, cpu, pfns, (unsigned int)n, "vmap", &addr, err);
	free(pfns);
	if (r == -ENOSPC)
		*changed = true;
	if (r < 0)
		return r;
	text_vm_area(m, out, addr, addr);
	return text_result(out, err);
}

static int op_ioremap(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		      struct api_text *out, bool *changed, struct mm_error *err)
{
	uint64_t phys, size;
	uint32_t addr;
	int r = addr_field(cmd, "phys", (1ULL << 36) - 1, &phys, err);

	if (r < 0)
		return r;
	r = size_field(cmd, "size", &size, err);
	if (r < 0)
		return r;
	r = mm_ioremap(m, cpu, phys, size, "ioremap", &addr, err);
	if (r == -ENOSPC)
		*changed = true;
	if (r < 0)
		return r;
	text_vm_area(m, out, addr, addr & ~0xfffu);
	return text_result(out, err);
}

static int op_set_memory(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
			 struct api_text *out, bool *changed, struct mm_error *err)
{
	static const char *const attrs[] = {"ro", "rw", "x", "nx"};
	const char *a = field(cmd, "attr")->str;
	json_int_t pages = int_arg(cmd, "pages", 1);
	uint64_t addr;
	int r, attr;

	r = addr_field(cmd, "address", UINT32_MAX, &addr, err);
	if (r < 0)
		return r;
	for (attr = 0; attr < 4 && strcmp(a, attrs[attr]); attr++)
		;
	if (attr == 4)
		return api_error(
			err, -EINVAL,
			"field 'attr' must be \"ro\", \"rw\", \"x\" or \"nx\", not \"%.32s\"", a);
	r = mm_set_memory(m, (uint32_t)addr, (unsigned int)pages, attr, err);
	if (r < 0)
		return r;
	api_text_puts(out, "{\"address\":");
	api_text_hex(out, addr);
	api_text_puts(out, ",\"pages\":");
	api_text_int(out, pages);
	api_text_puts(out, ",\"attr\":");
	api_text_str(out, attrs[attr]);
	api_text_puts(out, "}");
	return text_result(out, err);
}

/*
 * Each op's fields besides "op" and "cpu": their type and range, checked once, before the op
 * runs (api_command_run_env()). The order is the order of the canonical text
 * (api_command_canon()). openapi.yaml's *Command schemas list the same fields (a test
 * compares them: tests/api/test_routes_openapi.py).
 */
#define ARG_ORDER                                                                                  \
	{                                                                                          \
		.name = "order", .kind = API_ARG_INT, .min = 0, .max = MM_MAX_ORDER - 1            \
	}
#define ARG_PFN                                                                                    \
	{                                                                                          \
		.name = "pfn", .kind = API_ARG_INT, .required = true, .min = 0, .max = UINT32_MAX  \
	}

static const struct api_op_arg set_sysctl_args[] = {
	{.name = "name", .kind = API_ARG_STRING, .required = true, .hint = "a string"},
	{.name = "value", .kind = API_ARG_ANY, .required = true},
	{0},
};
static const struct api_op_arg alloc_pages_args[] = {
	{.name = "gfp",
	 .kind = API_ARG_STRING,
	 .required = true,
	 .hint = "a string such as \"GFP_KERNEL|__GFP_ZERO\""},
	ARG_ORDER,
	{0},
};
static const struct api_op_arg free_pages_args[] = {ARG_PFN, ARG_ORDER, {0}};
static const struct api_op_arg pfn_args[] = {ARG_PFN, {0}};
static const struct api_op_arg boot_continue_args[] = {
	{.name = "until", .kind = API_ARG_ANY},
	{0},
};
static const struct api_op_arg memory_read_args[] = {
	{.name = "addr", .kind = API_ARG_ADDR, .required = true},
	{.name = "len", .kind = API_ARG_INT, .required = true, .min = 1, .max = MM_MEM_MAX},
	{.name = "space",
	 .kind = API_ARG_STRING,
	 .required = true,
	 .hint = "\"kernel\" or \"phys\", a string"},
	{0},
};
static const struct api_op_arg memory_write_args[] = {
	{.name = "addr", .kind = API_ARG_ADDR, .required = true},
	{.name = "data",
	 .kind = API_ARG_STRING,
	 .required = true,
	 .hint = "the bytes as a string of hex digits, \"deadbeef\""},
	{.name = "space",
	 .kind = API_ARG_STRING,
	 .required = true,
	 .hint = "\"kernel\" or \"phys\", a string"},
	/* a physical write into the kernel's own frames: refused, or done and tainting */
	{.name = "force", .kind = API_ARG_BOOL},
	{0},
};
static const struct api_op_arg invlpg_args[] = {
	{.name = "va", .kind = API_ARG_ADDR, .required = true},
	{0},
};
static const struct api_op_arg flush_tlb_args[] = {
	{.name = "keep_global", .kind = API_ARG_BOOL},
	{0},
};
static const struct api_op_arg kmap_local_args[] = {
	ARG_PFN,
	{.name = "atomic", .kind = API_ARG_BOOL},
	{0},
};
static const struct api_op_arg address_args[] = {
	{.name = "address", .kind = API_ARG_ADDR, .required = true},
	{0},
};
static const struct api_op_arg kunmap_local_args[] = {
	{.name = "address", .kind = API_ARG_ADDR, .required = true},
	{.name = "atomic", .kind = API_ARG_BOOL},
	{0},
};
static const struct api_op_arg snapshot_restore_args[] = {
	{.name = "snapshot", .kind = API_ARG_INT, .required = true, .min = 1, .max = INT64_MAX},
	{0},
};

#define ARG_GFP(req)                                                                               \
	{                                                                                          \
		.name = "gfp", .kind = API_ARG_STRING, .required = req,                            \
		.hint = "a string such as \"GFP_KERNEL\""                                          \
	}
#define ARG_CACHE                                                                                  \
	{                                                                                          \
		.name = "name", .kind = API_ARG_STRING, .required = true,                          \
		.hint = "a slab cache's name, a string"                                            \
	}
#define ARG_ADDRESS                                                                                \
	{                                                                                          \
		.name = "address", .kind = API_ARG_ADDR, .required = true                          \
	}
static const struct api_op_arg kmalloc_args[] = {
	{.name = "size", .kind = API_ARG_INT, .required = true, .min = 0, .max = UINT32_MAX},
	ARG_GFP(true),
	{0},
};
static const struct api_op_arg kfree_args[] = {ARG_ADDRESS, {0}};
static const struct api_op_arg kvmalloc_args[] = {
	{.name = "size", .kind = API_ARG_INT, .required = true, .min = 0, .max = UINT32_MAX},
	ARG_GFP(true),
	{.name = "zero", .kind = API_ARG_BOOL},
	{0},
};
static const struct api_op_arg kmem_cache_create_args[] = {
	ARG_CACHE,
	{.name = "size", .kind = API_ARG_INT, .required = true, .min = 1, .max = UINT32_MAX},
	{.name = "align", .kind = API_ARG_INT, .min = 0, .max = UINT32_MAX},
	{.name = "flags", .kind = API_ARG_STRING, .hint = "SLAB_* names joined by '|', a string"},
	{0},
};
static const struct api_op_arg cache_args[] = {ARG_CACHE, {0}};
static const struct api_op_arg kmem_cache_alloc_args[] = {ARG_CACHE, ARG_GFP(false), {0}};
static const struct api_op_arg kmem_cache_free_args[] = {ARG_CACHE, ARG_ADDRESS, {0}};
static const struct api_op_arg vmalloc_args[] = {
	{.name = "size", .kind = API_ARG_ANY, .required = true},
	{.name = "zero", .kind = API_ARG_BOOL},
	{0},
};
static const struct api_op_arg vmap_args[] = {
	{.name = "pfns", .kind = API_ARG_ANY, .required = true},
	{0},
};
static const struct api_op_arg ioremap_args[] = {
	{.name = "phys", .kind = API_ARG_ADDR, .required = true},
	{.name = "size", .kind = API_ARG_ANY, .required = true},
	{0},
};
static const struct api_op_arg set_memory_args[] = {
	{.name = "address", .kind = API_ARG_ADDR, .required = true},
	{.name = "pages", .kind = API_ARG_INT, .min = 1, .max = 1 << 20},
	{.name = "attr",
	 .kind = API_ARG_STRING,
	 .required = true,
	 .hint = "\"ro\", \"rw\", \"x\" or \"nx\""},
	{0},
};

static const struct api_command_op command_ops[] = {
	{.op = "alloc_pages", .args = alloc_pages_args, .run = op_alloc_pages},
	{.op = "boot_continue", .args = boot_continue_args, .run = op_boot_continue},
	{.op = "flush_tlb", .args = flush_tlb_args, .run = op_flush_tlb},
	{.op = "free_pages", .args = free_pages_args, .run = op_free_pages},
	{.op = "get_page", .args = pfn_args, .run = op_get_page},
	{.op = "invlpg", .args = invlpg_args, .run = op_invlpg},
	{.op = "kmap", .args = pfn_args, .run = op_kmap},
	{.op = "kmap_atomic", .args = pfn_args, .run = op_kmap_atomic},
	{.op = "kmap_local", .args = kmap_local_args, .run = op_kmap_local},
	{.op = "kunmap", .args = pfn_args, .run = op_kunmap},
	{.op = "kunmap_atomic", .args = address_args, .run = op_kunmap_atomic},
	{.op = "kunmap_local", .args = kunmap_local_args, .run = op_kunmap_local},
	{.op = "kfree", .args = kfree_args, .run = op_kfree},
	{.op = "kmalloc", .args = kmalloc_args, .run = op_kmalloc},
	{.op = "kmem_cache_alloc", .args = kmem_cache_alloc_args, .run = op_kmem_cache_alloc},
	{.op = "kmem_cache_create", .args = kmem_cache_create_args, .run = op_kmem_cache_create},
	{.op = "kmem_cache_destroy", .args = cache_args, .run = op_kmem_cache_destroy},
	{.op = "kmem_cache_free", .args = kmem_cache_free_args, .run = op_kmem_cache_free},
	{.op = "kmem_cache_shrink", .args = cache_args, .run = op_kmem_cache_shrink},
	{.op = "kvfree", .args = kfree_args, .run = op_kvfree},
	{.op = "kvmalloc", .args = kvmalloc_args, .run = op_kvmalloc},
	{.op = "iounmap", .args = address_args, .run = op_iounmap},
	{.op = "ioremap", .args = ioremap_args, .run = op_ioremap},
	{.op = "memory_read",
	 .args = memory_read_args,
	 .run = op_memory_read,
	 .pure = memory_read_pure},
	{.op = "memory_write", .args = memory_write_args, .run = op_memory_write},
	{.op = "put_page", .args = pfn_args, .run = op_put_page},
	{.op = "set_memory", .args = set_memory_args, .run = op_set_memory},
	{.op = "set_sysctl", .args = set_sysctl_args, .run = op_set_sysctl},
	{.op = "snapshot_restore", .args = snapshot_restore_args, .run_env = op_snapshot_restore},
	{.op = "vfree", .args = address_args, .run = op_vfree},
	{.op = "vmalloc", .args = vmalloc_args, .run = op_vmalloc},
	{.op = "vmap", .args = vmap_args, .run = op_vmap},
	{.op = "vunmap", .args = address_args, .run = op_vunmap},
};

const struct api_command_op *api_command_ops(size_t *ret_n)
{
	*ret_n = sizeof(command_ops) / sizeof(command_ops[0]);
	return command_ops;
}

const struct api_command_op *api_command_op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(command_ops) / sizeof(command_ops[0]); i++)
		if (!strcmp(command_ops[i].op, name))
			return &command_ops[i];
	return NULL;
}

const struct api_op_arg *api_command_arg(const struct api_command_op *op, const char *name)
{
	for (const struct api_op_arg *a = op->args; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

const char *api_command_op(const json_t *cmd)
{
	const json_t *op = json_object_get(cmd, "op");

	return json_is_string(op) ? json_string_value(op) : NULL;
}

static bool key_is(const struct api_cmd_field *f, const char *key)
{
	size_t i;

	/* keys are a few bytes: a loop beats strncmp()'s call */
	for (i = 0; i < f->key_len; i++)
		if (f->key[i] != key[i])
			return false;
	return key[i] == '\0';
}

static bool field_accepted(const struct api_command_op *op, const struct api_cmd_field *f)
{
	if (key_is(f, "op") || key_is(f, "cpu") || key_is(f, "context"))
		return true;
	for (const struct api_op_arg *a = op->args; a->name; a++)
		if (key_is(f, a->name))
			return true;
	return false;
}

/* Check the fields of @cmd against @op's declarations: presence, type, range. */
static int check_args(const struct api_command_op *op, const struct api_cmd *cmd,
		      struct mm_error *err)
{
	for (const struct api_op_arg *a = op->args; a->name; a++) {
		const struct api_cmd_field *v = field(cmd, a->name);

		if (!v) {
			if (!a->required)
				continue;
			switch (a->kind) {
			case API_ARG_INT:
				return api_error(err, -EINVAL,
						 "field '%s' (an integer) is required", a->name);
			case API_ARG_ADDR:
				return api_error(
					err, -EINVAL,
					"field '%s' (an address such as \"0xc0000000\") is "
					"required",
					a->name);
			case API_ARG_STRING:
				return api_error(err, -EINVAL, "field '%s' (%s) is required",
						 a->name, a->hint ? a->hint : "a string");
			default:
				return api_error(err, -EINVAL, "field '%s' is required", a->name);
			}
		}
		switch (a->kind) {
		case API_ARG_INT:
			if (v->type != API_FIELD_INT)
				return api_error(err, -EINVAL, "field '%s' must be an integer",
						 a->name);
			if (v->i < a->min || v->i > a->max)
				return api_error(err, -EINVAL,
						 "field '%s' must be %" JSON_INTEGER_FORMAT
						 "..%" JSON_INTEGER_FORMAT
						 ", not %" JSON_INTEGER_FORMAT,
						 a->name, a->min, a->max, v->i);
			break;
		case API_ARG_BOOL:
			if (v->type != API_FIELD_BOOL)
				return api_error(err, -EINVAL, "field '%s' must be true or false",
						 a->name);
			break;
		case API_ARG_STRING:
			if (v->type != API_FIELD_STRING)
				return api_error(err, -EINVAL, "field '%s' (%s) is required",
						 a->name, a->hint ? a->hint : "a string");
			break;
		case API_ARG_ADDR:
			if (v->type != API_FIELD_INT && v->type != API_FIELD_STRING)
				return api_error(err, -EINVAL,
						 "field '%s' must be an address: a string such as "
						 "\"0xc0000000\" or an integer",
						 a->name);
			break;
		case API_ARG_ANY:
			break;
		}
	}
	return 0;
}

/* Append field @f's value as JSON text. */
static void put_value(struct api_text *t, const struct api_cmd_field *f)
{
	switch (f->type) {
	case API_FIELD_STRING:
		if (f->json) {
			api_text_str(t, f->str);
		} else {
			/* scanned: printable ASCII without quotes or escapes, as it is */
			size_t n = strlen(f->str);

			if (api_text_reserve(t, n + 2)) {
				t->data[t->len] = '"';
				memcpy(t->data + t->len + 1, f->str, n);
				t->data[t->len + n + 1] = '"';
				t->len += n + 2;
				t->data[t->len] = '\0';
			}
		}
		break;
	case API_FIELD_INT:
		api_text_int(t, f->i);
		break;
	case API_FIELD_BOOL:
		api_text_puts(t, f->i ? "true" : "false");
		break;
	default:
		api_text_json(t, f->json);
		break;
	}
}

/* Write @s (@n bytes) at @p; the end. */
static char *raw(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static char *raw_int(char *p, json_int_t v)
{
	char buf[24], *q = buf + sizeof(buf);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--q = '-';
	return raw(p, q, (size_t)(buf + sizeof(buf) - q));
}

void api_command_canon(const struct api_cmd *cmd, const struct api_command_op *op,
		       struct api_text *out)
{
	const struct api_cmd_field *v[API_CMD_FIELDS];
	const char *names[API_CMD_FIELDS];
	size_t n = 0, oplen = strlen(op->op), size = 16 + oplen;
	size_t nlen[API_CMD_FIELDS], slen[API_CMD_FIELDS];
	bool scanned = true;
	char *p;

	/* the fields in the op table's order, then "cpu" */
	for (const struct api_op_arg *a = op->args; a->name; a++) {
		for (unsigned int i = 0; i < cmd->n; i++) {
			if (n < API_CMD_FIELDS && key_is(&cmd->f[i], a->name)) {
				names[n] = a->name;
				v[n++] = &cmd->f[i];
				break;
			}
		}
	}
	for (unsigned int i = 0; i < cmd->n; i++) {
		if (n < API_CMD_FIELDS && key_is(&cmd->f[i], "cpu")) {
			names[n] = "cpu";
			v[n++] = &cmd->f[i];
		}
	}
	for (unsigned int i = 0; i < cmd->n; i++) {
		if (n < API_CMD_FIELDS && key_is(&cmd->f[i], "context")) {
			names[n] = "context";
			v[n++] = &cmd->f[i];
		}
	}
	for (size_t i = 0; i < n; i++) {
		nlen[i] = v[i]->key_len; /* the key is the name */
		size += nlen[i] + 4;
		if (v[i]->type == API_FIELD_INT || v[i]->type == API_FIELD_BOOL) {
			size += 21;
		} else if (v[i]->type == API_FIELD_STRING && !v[i]->json) {
			slen[i] = strlen(v[i]->str);
			size += slen[i] + 2;
		} else {
			scanned = false; /* a value Jansson read: written by api_text_json() */
		}
	}
	if (!scanned) {
		api_text_puts(out, "{\"op\":\"");
		api_text_put(out, op->op, oplen); /* a name of the op table: plain */
		api_text_put(out, "\"", 1);
		for (size_t i = 0; i < n; i++) {
			api_text_put(out, ",\"", 2);
			api_text_put(out, names[i], nlen[i]);
			api_text_put(out, "\":", 2);
			put_value(out, v[i]);
		}
		api_text_put(out, "}", 1);
		return;
	}
	/* the fast path of batches: one reservation, then the bytes */
	if (!api_text_reserve(out, size))
		return;
	p = out->data + out->len;
	p = raw(p, "{\"op\":\"", 7);
	p = raw(p, op->op, oplen);
	*p++ = '"';
	for (size_t i = 0; i < n; i++) {
		p = raw(p, ",\"", 2);
		p = raw(p, names[i], nlen[i]);
		p = raw(p, "\":", 2);
		if (v[i]->type == API_FIELD_INT) {
			p = raw_int(p, v[i]->i);
		} else if (v[i]->type == API_FIELD_BOOL) {
			p = v[i]->i ? raw(p, "true", 4) : raw(p, "false", 5);
		} else {
			*p++ = '"';
			p = raw(p, v[i]->str, slen[i]);
			*p++ = '"';
		}
	}
	*p++ = '}';
	*p = '\0';
	out->len = (size_t)(p - out->data);
}

bool api_command_pure(const struct api_cmd *cmd, const char *opname)
{
	const struct api_command_op *op = opname ? api_command_op_find(opname) : NULL;

	return op && op->pure && op->pure(cmd);
}

void api_text_error(struct api_text *t, int code, const char *detail)
{
	const struct api_problem_type *pt = api_problem_lookup(code);

	api_text_puts(t, "{\"error\":{\"type\":\"" API_PROBLEM_BASE);
	api_text_puts(t, pt->slug);
	api_text_puts(t, "\",\"status\":");
	api_text_int(t, pt->status);
	api_text_puts(t, ",\"detail\":");
	api_text_str(t, detail && *detail ? detail : pt->title);
	api_text_puts(t, "}}");
}

int api_command_run(struct mm_machine *m, const struct api_cmd *cmd, struct api_text *out,
		    struct api_command_outcome *ret, struct mm_error *err)
{
	return api_command_run_env(m, NULL, cmd, out, ret, err);
}

int api_command_run_env(struct mm_machine *m, const struct api_exec_env *env,
			const struct api_cmd *cmd, struct api_text *out,
			struct api_command_outcome *ret, struct mm_error *err)
{
	const struct api_cmd_field *jop = field(cmd, "op"), *cpu = field(cmd, "cpu");
	const struct api_cmd_field *ctx = field(cmd, "context");
	const struct api_command_op *op = NULL;
	unsigned int ncpus = mm_machine_config(m)->cpus;
	bool atomic = false;
	struct api_command_outcome dummy;
	size_t mark = out->len;
	bool changed = false;
	int r;

	if (!ret)
		ret = &dummy;
	*ret = (struct api_command_outcome){0};
	if (!jop || jop->type != API_FIELD_STRING)
		return api_error(err, -EINVAL, "field 'op' (a string) is required");
	op = api_command_op_find(jop->str);
	if (!op)
		return api_error(err, -EINVAL, "unknown op '%.64s'", jop->str);
	ret->op = op->op;
	ret->def = op;
	for (unsigned int i = 0; i < cmd->n; i++)
		if (!field_accepted(op, &cmd->f[i]))
			return api_error(err, -EINVAL, "unknown field '%.64s' for op '%s'",
					 cmd->f[i].key, op->op);
	if (cpu && cpu->type != API_FIELD_INT)
		return api_error(err, -EINVAL, "field 'cpu' must be an integer");
	if (cpu && (cpu->i < 0 || cpu->i >= ncpus))
		return api_error(err, -EINVAL, "field 'cpu' must be 0..%u on this machine",
				 ncpus - 1);
	r = check_args(op, cmd, err);
	if (r < 0)
		return r;
	/* a tainted machine: only a restore (which replaces it) and what changes nothing, a read
	 * by physical address, so that the damage can still be looked at */
	if (mm_machine_tainted(m) && !op->run_env && !(op->pure && op->pure(cmd)))
		return api_error(err, -EFAULT, "the machine is tainted: %s", mm_machine_taint(m));
	if (ctx) {
		if (ctx->type != API_FIELD_STRING ||
		    (strcmp(ctx->str, "atomic") && strcmp(ctx->str, "process")))
			return api_error(err, -EINVAL,
					 "field 'context' must be \"process\" (the default: the "
					 "command may sleep) or \"atomic\"");
		atomic = !strcmp(ctx->str, "atomic");
	}
	/* "context": "atomic": the op runs as under preempt_disable() on its CPU, where what
	 * may sleep (kmap, an allocation with __GFP_DIRECT_RECLAIM) is refused, -EDEADLK */
	if (atomic) {
		r = mm_preempt_disable(m, cpu ? (unsigned int)cpu->i : 0, err);
		if (r < 0)
			return r;
	}
	if (op->run_env)
		r = op->run_env(m, env, cmd, out, ret, err);
	else
		r = op->run(m, cmd, cpu ? (unsigned int)cpu->i : 0, out, &changed, err);
	if (atomic)
		mm_preempt_enable(ret->replace ? ret->replace : m, cpu ? (unsigned int)cpu->i : 0);
	if (API_DEBUG_FULL && (r == 0 || changed) && !ret->replace) {
		int bad = mm_debug_check(m, err); /* a violation taints: -EFAULT, journaled */

		if (bad == -EFAULT) /* a checker without host memory does not undo the command */
			r = bad;
	}
	if (r < 0) {
		/* nothing of a failed command stays in the text but its error, when the
		 * machine changed before it failed */
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
		if (err && err->msg[0] == '\0')
			api_error(err, r, "%s failed (%d)", op->op, r);
		if (changed || r == -EFAULT) {
			api_text_error(out, r, err ? err->msg : NULL);
			ret->journal = !out->oom;
		}
		return r;
	}
	ret->journal = true;
	return 0;
}

/* ---- views ----------------------------------------------------------------------------- */

static void view_add(struct api_cmd *view, const char *key, const json_t *v)
{
	struct api_cmd_field *f = &view->f[view->n++];

	*f = (struct api_cmd_field){.key = key, .key_len = strlen(key), .json = v};
	if (json_is_string(v)) {
		f->type = API_FIELD_STRING;
		f->str = json_string_value(v);
	} else if (json_is_integer(v)) {
		f->type = API_FIELD_INT;
		f->i = json_integer_value(v);
	} else if (json_is_boolean(v)) {
		f->type = API_FIELD_BOOL;
		f->i = json_is_true(v);
	} else {
		f->type = API_FIELD_OTHER;
	}
}

int api_command_view(const json_t *cmd, struct api_cmd *view, struct mm_error *err)
{
	const char *key;
	const json_t *v;

	if (!json_is_object(cmd))
		return api_error(err, -EINVAL, "a command must be a JSON object");
	view->n = 0;
	if ((v = json_object_get(cmd, "op")))
		view_add(view, "op", v);
	json_object_foreach((json_t *)cmd, key, v) {
		if (view->n == API_CMD_FIELDS)
			break;
		if (strcmp(key, "op"))
			view_add(view, key, v);
	}
	return 0;
}

/* ---- entry points ---------------------------------------------------------------------- */

int api_command_exec(struct mm_machine *m, const json_t *cmd, json_t **ret_result,
		     struct mm_error *err)
{
	struct api_text out = {0};
	struct api_cmd view;
	json_t *result;
	int r;

	r = api_command_view(cmd, &view, err);
	if (r < 0)
		return r;
	r = api_command_run(m, &view, &out, NULL, err);
	if (r < 0) {
		api_text_free(&out); /* a journaled failure's error text too */
		return r;
	}
	result = json_loadb(out.data, out.len, JSON_DECODE_ANY, NULL);
	api_text_free(&out);
	if (!result)
		return api_error(err, -ENOMEM, "out of memory reading the result");
	*ret_result = result;
	return 0;
}

int api_command_exec_text(struct mm_machine *m, const char *text, size_t len, struct api_text *out,
			  bool *ret_journal, struct mm_error *err)
{
	struct api_command_outcome oc = {0};
	int r = api_command_exec_text_env(m, NULL, text, len, out, &oc, err);

	if (ret_journal)
		*ret_journal = oc.journal;
	return r;
}

int api_command_exec_text_env(struct mm_machine *m, const struct api_exec_env *env,
			      const char *text, size_t len, struct api_text *out,
			      struct api_command_outcome *ret, struct mm_error *err)
{
	struct api_command_outcome oc = {0};
	struct api_cmd_text ct;
	struct api_cmd view;
	int r;

	r = api_command_parse(text, len, &ct, &view, err);
	if (r == 0)
		r = api_command_run_env(m, env, &view, out, &oc, err);
	api_command_parse_finish(&ct);
	if (ret)
		*ret = oc;
	else
		mm_machine_destroy(oc.replace); /* only without an environment: never set */
	return r;
}
