/* SPDX-License-Identifier: MIT */
/*
 * spec.c - a machine's configuration as JSON: the body of POST /v1/machines, read into a
 * struct mm_config (api_machine_spec_parse()), and the stored, re-parseable form of one
 * (api_config_to_json(): the machines row of the store, a session's header).
 *
 * Invariant: api_machine_spec_parse(api_config_to_json(cfg)) gives @cfg back, so that a
 * machine restarts, clones and imports with the configuration it was created with. The
 * stored form always names boot_model; a stored configuration without it (written before
 * it existed) is read by api_machine_spec_parse_stored() as revision 1, the boot it had.
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

/* ---- POST /v1/machines ---------------------------------------------------------------- */

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* A non-negative integer, or a string in C notation ("0x9fc00", "654336"). */
static int parse_u64(const json_t *v, const char *field, uint64_t *ret, struct mm_error *err)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0)
			return api_error(err, -EINVAL, "field '%s' must not be negative", field);
		*ret = (uint64_t)i;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		unsigned long long u;
		char *end;

		if (!isdigit((unsigned char)s[0]))
			goto bad;
		errno = 0;
		u = strtoull(s, &end, 0);
		if (errno || *end)
			goto bad;
		*ret = u;
		return 0;
bad:
		return api_error(
			err, -EINVAL,
			"field '%s' must be an integer or a hex string like \"0x9fc00\", not "
			"\"%.64s\"",
			field, s);
	}
	return api_error(err, -EINVAL, "field '%s' must be an integer or a hex string, not %s",
			 field, json_type_name(v));
}

/* The names a user may write for an e820 type; the kernel's own words. */
static const struct {
	uint32_t type;
	const char *name;
} e820_names[] = {
	{MM_E820_RAM, "usable"},   {MM_E820_RESERVED, "reserved"}, {MM_E820_ACPI, "ACPI data"},
	{MM_E820_NVS, "ACPI NVS"}, {MM_E820_UNUSABLE, "unusable"},
};

static int parse_e820_type(const json_t *v, const char *field, uint32_t *ret, struct mm_error *err)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 1 || i > (json_int_t)UINT32_MAX)
			return api_error(err, -EINVAL, "field '%s' must be 1..4294967295", field);
		*ret = (uint32_t)i;
		return 0;
	}
	if (json_is_string(v)) {
		for (size_t i = 0; i < sizeof(e820_names) / sizeof(e820_names[0]); i++) {
			if (!strcmp(json_string_value(v), e820_names[i].name)) {
				*ret = e820_names[i].type;
				return 0;
			}
		}
		return api_error(
			err, -EINVAL,
			"field '%s' must be one of \"usable\", \"reserved\", \"ACPI data\", "
			"\"ACPI NVS\", \"unusable\" or an integer",
			field);
	}
	return api_error(err, -EINVAL, "field '%s' must be a string or an integer, not %s", field,
			 json_type_name(v));
}

static int parse_e820(const json_t *arr, struct mm_config *cfg, struct mm_error *err)
{
	size_t i;
	const json_t *ent;

	if (!json_is_array(arr))
		return api_error(err, -EINVAL, "field 'e820' must be an array, not %s",
				 json_type_name(arr));
	if (json_array_size(arr) > MM_MAX_E820)
		return api_error(err, -EINVAL, "field 'e820' has %zu entries, at most %d allowed",
				 json_array_size(arr), MM_MAX_E820);
	json_array_foreach(arr, i, ent) {
		struct mm_e820_entry *e = &cfg->e820[i];
		const char *key;
		const json_t *v;
		char field[48];
		bool have_addr = false, have_size = false, have_type = false;
		int r;

		if (!json_is_object(ent))
			return api_error(err, -EINVAL,
					 "field 'e820[%zu]' must be an object, not %s", i,
					 json_type_name(ent));
		json_object_foreach((json_t *)ent, key, v) {
			snprintf(field, sizeof(field), "e820[%zu].%.16s", i, key);
			if (!strcmp(key, "addr")) {
				r = parse_u64(v, field, &e->addr, err);
				have_addr = true;
			} else if (!strcmp(key, "size")) {
				r = parse_u64(v, field, &e->size, err);
				have_size = true;
			} else if (!strcmp(key, "type")) {
				r = parse_e820_type(v, field, &e->type, err);
				have_type = true;
			} else {
				r = api_error(err, -EINVAL, "unknown field 'e820[%zu].%.64s'", i,
					      key);
			}
			if (r)
				return r;
		}
		if (!have_addr || !have_size || !have_type)
			return api_error(err, -EINVAL, "field 'e820[%zu].%s' is required", i,
					 !have_addr   ? "addr"
					 : !have_size ? "size"
						      : "type");
		if (e->size > UINT64_MAX - e->addr)
			return api_error(err, -EINVAL, "e820[%zu] wraps around the address space",
					 i);
	}
	cfg->nr_e820 = (unsigned int)json_array_size(arr);
	return 0;
}

/* "boot": {"stop_after": "<phase>"} */
static int parse_boot(const json_t *v, struct mm_config *cfg, struct mm_error *err)
{
	const json_t *x;
	const char *key;

	if (!json_is_object(v))
		return api_error(err, -EINVAL,
				 "field 'boot' must be an object {\"stop_after\": <phase>}, not %s",
				 json_type_name(v));
	json_object_foreach((json_t *)v, key, x) {
		if (strcmp(key, "stop_after"))
			return api_error(err, -EINVAL,
					 "unknown field 'boot.%.64s' (known: stop_after)", key);
	}
	x = json_object_get(v, "stop_after");
	if (x)
		return api_parse_boot_phase("field 'boot.stop_after'",
					    json_is_string(x) ? json_string_value(x) : NULL,
					    &cfg->stop_after, err);
	return 0;
}

static int spec_parse(const json_t *body, struct mm_config *ret_cfg, char ret_name[API_NAME_MAX],
		      unsigned int absent_boot_model, struct mm_error *err)
{
	const json_t *pae, *v;
	const char *key;
	struct mm_config *cfg;
	char name[API_NAME_MAX] = "";
	int r = 0;

	if (!json_is_object(body))
		return api_error(err, -EINVAL, "the machine must be a JSON object, not %s",
				 json_type_name(body));
	json_object_foreach((json_t *)body, key, v) {
		if (strcmp(key, "name") && strcmp(key, "mem") && strcmp(key, "pae") &&
		    strcmp(key, "cpus") && strcmp(key, "cmdline") && strcmp(key, "e820") &&
		    strcmp(key, "initrd") && strcmp(key, "tlb_entries") && strcmp(key, "boot") &&
		    strcmp(key, "boot_model"))
			return api_error(err, -EINVAL,
					 "unknown field '%.64s' (known: name, mem, pae, cpus, "
					 "cmdline, initrd, e820, tlb_entries, boot, boot_model)",
					 key);
	}

	pae = json_object_get(body, "pae");
	if (pae && !json_is_boolean(pae))
		return api_error(err, -EINVAL, "field 'pae' must be a boolean, not %s",
				 json_type_name(pae));

	/* struct mm_config is large (the e820 table): build it on the heap */
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return api_error(err, -ENOMEM, "out of memory");
	mm_config_init(cfg, pae && json_is_true(pae));

	v = json_object_get(body, "name");
	if (v) {
		if (!json_is_string(v)) {
			r = api_error(err, -EINVAL, "field 'name' must be a string, not %s",
				      json_type_name(v));
			goto out;
		}
		if (!api_name_valid(json_string_value(v))) {
			r = api_error(err, -EINVAL,
				      "field 'name' must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
			goto out;
		}
		strcpy(name, json_string_value(v));
	}

	v = json_object_get(body, "mem");
	if (!v) {
		r = api_error(err, -EINVAL,
			      "field 'mem' is required (bytes, or a size like \"1G\")");
		goto out;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0) {
			r = api_error(err, -EINVAL, "field 'mem' must not be negative");
			goto out;
		}
		cfg->mem = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		if (mm_parse_size(json_string_value(v), &cfg->mem) < 0) {
			r = api_error(err, -EINVAL,
				      "field 'mem': cannot parse \"%.64s\" as a size (e.g. \"1G\", "
				      "\"512M\", \"1073741824\")",
				      json_string_value(v));
			goto out;
		}
	} else {
		r = api_error(
			err, -EINVAL,
			"field 'mem' must be an integer (bytes) or a string like \"1G\", not %s",
			json_type_name(v));
		goto out;
	}
	if (cfg->mem == 0 || cfg->mem > MM_MAX_RAM) {
		r = api_error(err, -EINVAL, "field 'mem' must be 1 byte .. 64 GiB, not %" PRIu64,
			      cfg->mem);
		goto out;
	}

	v = json_object_get(body, "cpus");
	if (v) {
		if (!json_is_integer(v)) {
			r = api_error(err, -EINVAL, "field 'cpus' must be an integer, not %s",
				      json_type_name(v));
			goto out;
		}
		if (json_integer_value(v) < 1 || json_integer_value(v) > MM_NR_CPUS) {
			r = api_error(err, -EINVAL,
				      "field 'cpus' must be 1..%d, not %" JSON_INTEGER_FORMAT,
				      MM_NR_CPUS, json_integer_value(v));
			goto out;
		}
		cfg->cpus = (unsigned int)json_integer_value(v);
	}

	v = json_object_get(body, "cmdline");
	if (v) {
		if (!json_is_string(v)) {
			r = api_error(err, -EINVAL, "field 'cmdline' must be a string, not %s",
				      json_type_name(v));
			goto out;
		}
		if (json_string_length(v) >= MM_CMDLINE_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			r = api_error(err, -EINVAL,
				      "field 'cmdline' must be shorter than %d bytes, without NUL",
				      MM_CMDLINE_MAX);
			goto out;
		}
		strcpy(cfg->cmdline, json_string_value(v));
	}

	v = json_object_get(body, "initrd");
	if (v) {
		if (json_is_integer(v) && json_integer_value(v) >= 0) {
			cfg->initrd_size = (uint64_t)json_integer_value(v);
		} else if (!json_is_string(v) ||
			   mm_parse_size(json_string_value(v), &cfg->initrd_size) < 0) {
			r = api_error(
				err, -EINVAL,
				"field 'initrd' must be a size in bytes or a string like \"1M\" "
				"(0 for none)");
			goto out;
		}
		if (cfg->initrd_size > (256u << 20)) {
			r = api_error(err, -EINVAL, "field 'initrd' must be at most 256M");
			goto out;
		}
	}

	v = json_object_get(body, "e820");
	if (v) {
		r = parse_e820(v, cfg, err);
		if (r)
			goto out;
	}

	v = json_object_get(body, "tlb_entries");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > API_TLB_ENTRIES_MAX) {
			r = api_error(err, -EINVAL,
				      "field 'tlb_entries' must be an integer 1..%d (4 KiB entries "
				      "per CPU)",
				      API_TLB_ENTRIES_MAX);
			goto out;
		}
		cfg->tlb_entries = (unsigned int)json_integer_value(v);
	}

	v = json_object_get(body, "boot");
	if (v) {
		r = parse_boot(v, cfg, err);
		if (r)
			goto out;
	}

	cfg->boot_model = absent_boot_model;
	v = json_object_get(body, "boot_model");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > MM_BOOT_MODEL) {
			r = api_error(err, -EINVAL,
				      "field 'boot_model' must be an integer 1..%u (the revision "
				      "of mm32's boot model)",
				      MM_BOOT_MODEL);
			goto out;
		}
		cfg->boot_model = (unsigned int)json_integer_value(v);
	}

	memcpy(ret_cfg, cfg, sizeof(*cfg));
	strcpy(ret_name, name);
out:
	free(cfg);
	return r;
}

int api_machine_spec_parse(const json_t *body, struct mm_config *ret_cfg,
			   char ret_name[API_NAME_MAX], struct mm_error *err)
{
	return spec_parse(body, ret_cfg, ret_name, MM_BOOT_MODEL, err);
}

/* A configuration stored before boot_model existed booted as revision 1. */
int api_machine_spec_parse_stored(const json_t *body, struct mm_config *ret_cfg,
				  char ret_name[API_NAME_MAX], struct mm_error *err)
{
	return spec_parse(body, ret_cfg, ret_name, MM_BOOT_MODEL_NO_VMALLOC_AREAS, err);
}

json_t *api_config_to_json(const struct mm_config *cfg)
{
	json_t *o = json_object();
	bool bad;

	if (!o)
		return NULL;
	bad = set(o, "mem", json_integer((json_int_t)cfg->mem)) |
	      set(o, "pae", json_boolean(cfg->pae)) | set(o, "cpus", json_integer(cfg->cpus)) |
	      set(o, "cmdline", json_string(cfg->cmdline)) |
	      set(o, "initrd", json_integer((json_int_t)cfg->initrd_size)) |
	      set(o, "tlb_entries", json_integer(cfg->tlb_entries ? cfg->tlb_entries : 64)) |
	      set(o, "boot_model",
		  json_integer(cfg->boot_model ? cfg->boot_model : MM_BOOT_MODEL)) |
	      set(o, "boot", json_pack("{s:s}", "stop_after", mm_boot_phase_name(cfg->stop_after)));
	if (cfg->nr_e820) {
		json_t *arr = json_array();

		for (unsigned int i = 0; arr && i < cfg->nr_e820 && i < MM_MAX_E820; i++) {
			const struct mm_e820_entry *e = &cfg->e820[i];
			json_t *ent = json_object(), *type = NULL;

			for (size_t k = 0; k < sizeof(e820_names) / sizeof(e820_names[0]); k++)
				if (e820_names[k].type == e->type)
					type = json_string(e820_names[k].name);
			if (!type)
				type = json_integer(e->type);
			bad |= !ent || set(ent, "addr", api_json_hex(e->addr)) |
					       set(ent, "size", api_json_hex(e->size)) |
					       set(ent, "type", type);
			bad |= json_array_append_new(arr, ent) != 0;
		}
		bad |= set(o, "e820", arr);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
