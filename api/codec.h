/* SPDX-License-Identifier: MIT */
/*
 * codec.h - JSON codecs between mmcore's structs and the HTTP API's documents.
 *
 * One header for four files, one concept each: text.c (JSON written as text: struct
 * api_text, journal rows split), parse.c (values as users write them: addresses, spaces,
 * boot phases, access kinds, hex bytes, names), spec.c (a machine's configuration, POST
 * /v1/machines) and codec.c (the views: structs as documents, command results as text).
 *
 * Every JSON shape of the API is written here and nowhere else (ROUTES.md lists them), so
 * that a route, a journal entry and a test all see the same bytes for the same state.
 * Conventions: addresses and sizes of address ranges are lowercase hex strings without
 * padding ("0xc0000000"); page frame numbers and counters are JSON integers.
 *
 * Ownership: every function returning json_t * returns a new reference, or NULL when the
 * host ran out of memory (or, for the machine views, when mmcore failed: then @err says
 * why). Parsers borrow their input and write their outputs only on success.
 */
#ifndef API_CODEC_H
#define API_CODEC_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "mmcore.h"

#define API_NAME_MAX 64		 /* machine names: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$ plus NUL */
#define API_TLB_ENTRIES_MAX 4096 /* "tlb_entries" of POST /v1/machines */

/* A piece of a JSON text. */
struct api_json_span {
	const char *text;
	size_t len;
};

/*
 * api_json_array_spans - the text of each element of the JSON array in @text.
 * @text: a JSON text that json_loadb() accepted and that is an array of @n elements.
 * Return: 0 with @out[0..n-1] pointing into @text (without surrounding white space);
 * -EINVAL when @text is not such an array.
 */
int api_json_array_spans(const char *text, size_t len, struct api_json_span *out, size_t n);
/* The same for an array of any length up to @max: *@ret (malloc'd, free() it; NULL for an
 * empty array) and *@ret_n. -EINVAL for a text that is not an array of at most @max. */
int api_json_array_split(const char *text, size_t len, size_t max, struct api_json_span **ret,
			 size_t *ret_n);

/*
 * A growable buffer of JSON text, written without building a json_t: the command path
 * writes results this way, once, for the journal and the reply. After a failed growth
 * @oom is set and further writes are dropped; @data is NUL-terminated when not NULL.
 * Free with api_text_free() (accepts a zeroed buffer).
 */
struct api_text {
	char *data;
	size_t len, cap;
	bool oom;
};

void api_text_free(struct api_text *t);
/* Make room for @n more bytes; false (and @oom) when the host is out of memory. */
bool api_text_reserve(struct api_text *t, size_t n);
void api_text_put(struct api_text *t, const char *s, size_t n);
void api_text_puts(struct api_text *t, const char *s);
void api_text_int(struct api_text *t, int64_t v);
/* "0x.." in quotes, as api_json_hex(). */
void api_text_hex(struct api_text *t, uint64_t v);
/* A JSON string: quotes, and escapes where JSON needs them. */
void api_text_str(struct api_text *t, const char *s);
/* @v compactly, as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes it. */
void api_text_json(struct api_text *t, const json_t *v);

/* "0x%llx" as a JSON string. */
json_t *api_json_hex(uint64_t v);

/*
 * api_parse_addr - an address as a user writes it: "0x" and 1..16 hex digits, or decimal
 * digits (no sign, no white space, no octal). @what names it in the message ("field 'va'",
 * "query parameter 'addr'"). Return: 0 and *@ret; -EINVAL when @s is not one or is above @max.
 */
int api_parse_addr(const char *what, const char *s, uint64_t max, uint64_t *ret,
		   struct mm_error *err);
/* "kernel" -> MM_SPACE_KERNEL, "phys" -> MM_SPACE_PHYS; -EINVAL for anything else. */
int api_parse_space(const char *what, const char *s, int *ret, struct mm_error *err);
/* The name of a space ("kernel", "phys"). */
const char *api_space_name(int space);
/* A boot phase by its mm_boot_phase_name(); -EINVAL listing the names for anything else
 * (@s may be NULL: not a string). */
int api_parse_boot_phase(const char *what, const char *s, int *ret, struct mm_error *err);
/* The value of one hex digit, either case; -1 for anything else. */
int api_hex_digit(char c);
/*
 * api_hex_decode - bytes written as hex digits, two per byte ("deadBEEF"), 1..MM_MEM_MAX
 * bytes. Return: 0 with *@ret (malloc'd, free() it) and *@ret_len; -EINVAL (odd length, a
 * non-hex character, empty, too long) or -ENOMEM.
 */
int api_hex_decode(const char *what, const char *s, uint8_t **ret, size_t *ret_len,
		   struct mm_error *err);

/* Does @name satisfy the machine-name rule? */
bool api_name_valid(const char *name);

/*
 * api_machine_spec_parse - parse the body of POST /v1/machines (or a stored config).
 * @body: borrowed; must be an object with only the fields name, mem, pae, cpus, cmdline,
 * initrd, e820, tlb_entries (1..4096) and boot ({"stop_after": <boot phase name>}).
 * @cfg: filled via mm_config_init() and the fields given.
 * @ret_name: the "name" field, or "" when absent.
 * Return: 0; -EINVAL (422) naming the offending field and what was expected.
 */
int api_machine_spec_parse(const json_t *body, struct mm_config *cfg, char ret_name[API_NAME_MAX],
			   struct mm_error *err);
/* The same for a stored configuration (the store's machines row, a session's header): a
 * missing boot_model is 1, the boot model of every machine made before the field existed. */
int api_machine_spec_parse_stored(const json_t *body, struct mm_config *cfg,
				  char ret_name[API_NAME_MAX], struct mm_error *err);

/* {"mem","pae","cpus","cmdline","initrd","tlb_entries","boot":{"stop_after"},"e820"?}: the
 * stored, re-parseable form of @cfg. */
json_t *api_config_to_json(const struct mm_config *cfg);

json_t *api_layout_to_json(const struct mm_layout *l);
json_t *api_zone_to_json(const struct mm_zone_info *z);
json_t *api_totals_to_json(const struct mm_totals *t);

/* Views of a machine; return NULL with @err set on failure. */
json_t *api_zones_array(const struct mm_machine *m, struct mm_error *err);
json_t *api_e820_json(const struct mm_machine *m, struct mm_error *err);
json_t *api_memblock_json(const struct mm_machine *m, struct mm_error *err);
/* {"id","name","config","phase"} */
json_t *api_machine_summary(const char *id, const struct mm_machine *m, struct mm_error *err);
/* {"id","name","config","phase","layout","zones","totals"}; "zones" is [] before the
 * buddy phase (they do not exist yet), and the layout and totals hold what exists. */
json_t *api_machine_to_json(const char *id, const struct mm_machine *m, struct mm_error *err);

/* The result of alloc_pages: {"pfn","order","zone","migratetype","address","phys"};
 * address is the kernel virtual address (hex) for lowmem, null for highmem. */
void api_text_page_alloc(struct api_text *t, const struct mm_page_alloc *a);
/* The result of free_pages: {"pfn","order","freed"}. */
void api_text_page_free(struct api_text *t, uint32_t pfn, unsigned int order, bool freed);
/* The result of get_page {"pfn","refcount"} (@freed < 0) or put_page {.., "freed"}. */
void api_text_page_ref(struct api_text *t, uint32_t pfn, int refcount, int freed);

/* A decoded page descriptor (GET /v1/machines/{id}/frames/{pfn}), see ROUTES.md. */
json_t *api_frame_to_json(const struct mm_frame_info *f);

/* ---- the slab allocator ---- */

/* kmalloc / kmem_cache_alloc: {"address","cache","size","ksize","pfn","order","large"};
 * cache is null for kmalloc(0) and for kmalloc_large. */
json_t *api_kmalloc_to_json(const struct mm_kmalloc *a);
/* A cache with its geometry and counts, and its slabs when @slabs is not NULL. */
json_t *api_cache_to_json(const struct mm_cache_info *ci, const struct mm_slab_info *slabs,
			  int nslabs);
/* The cache named @name with its slabs (GET .../slab/caches/{name}); every cache in
 * /proc/slabinfo order (GET .../slab: {"caches": [...]}). */
int api_cache_json(struct mm_machine *m, const char *name, json_t **ret, struct mm_error *err);
int api_slab_json(struct mm_machine *m, json_t **ret, struct mm_error *err);

/* ---- paging ---- */

/* The result of memory_read ({"addr","len","space","data"}, @data given) or memory_write
 * ({"addr","len","space"}, @data NULL). */
void api_text_memory(struct api_text *t, uint64_t addr, size_t len, int space, const uint8_t *data);
/* {"cpu","cr0":{"pg","wp"},"cr3","cr4":{"pse","pae","pge"},"efer":{"nxe"},
 *  "capacity":{"small","large"},"counters":{"hits","misses","fills","flushes","flushes_all",
 *  "invlpgs","evictions"}} */
json_t *api_cpu_to_json(unsigned int cpu, const struct mm_cpu_info *c);
/* {"va","phys","page_size","rw","user","nx","global","dirty"} */
json_t *api_tlb_entry_to_json(const struct mm_tlb_entry *e);
/* GET /translate: the walk level by level (ROUTES.md). @pae: the raw entries are 16 hex
 * digits, else 8. */
json_t *api_translation_to_json(uint32_t va, unsigned int cpu, int access, bool pae,
				const struct mm_translation *t);
/* The JSON form of GET /page-tables/kernel. */
json_t *api_page_tables_to_json(const struct mm_page_tables *pt);
/* "read", "write", "exec" -> enum mm_access; -EINVAL otherwise. */
int api_parse_access(const char *what, const char *s, int *ret, struct mm_error *err);

/* {"kswapd_wakeups","direct_reclaims",...}: mm_get_alloc_events() as JSON. */
json_t *api_alloc_events_to_json(const struct mm_alloc_events *ev);

/* Totals of @m with its allocator events ("alloc_events"); the /zones and machine view. */
json_t *api_machine_totals_json(const struct mm_machine *m);

/*
 * api_sysctl_get_json - read /proc/sys/vm/@name as a JSON value: an integer, or an array
 * of MM_NR_ZONES integers for lowmem_reserve_ratio.
 * Return: 0 and a new reference in *@ret; -ENOENT for an unknown name.
 */
int api_sysctl_get_json(const struct mm_machine *m, const char *name, json_t **ret,
			struct mm_error *err);
/* Is @name one of mm_sysctl_names? */
bool api_sysctl_known(const char *name);

#endif /* API_CODEC_H */
