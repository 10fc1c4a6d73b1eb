/* SPDX-License-Identifier: MIT */
/*
 * test-codec.c - JSON codecs (api/codec.c): the machine spec parser's strictness, the
 * round trip config -> JSON -> config the store relies on, and the documented shapes of
 * the views (addresses as lowercase hex strings, pfns as integers).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

static struct mm_config *cfg;
static struct mm_machine *m;

static void setup(void)
{
	cfg = calloc(1, sizeof(*cfg));
	ck_assert_ptr_nonnull(cfg);
}

static void teardown(void)
{
	if (m)
		ck_assert_int_eq(mm_check(m, NULL), 0);
	mm_machine_destroy(m);
	m = NULL;
	free(cfg);
}

static int parse(const char *text, char name[API_NAME_MAX], struct mm_error *err)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	int r;

	ck_assert_msg(j != NULL, "%s", jerr.text);
	r = api_machine_spec_parse(j, cfg, name, err);
	json_decref(j);
	return r;
}

static bool is_hex(const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || strncmp(s, "0x", 2) || !s[2])
		return false;
	for (s += 2; *s; s++)
		if (!strchr("0123456789abcdef", *s))
			return false;
	return true;
}

START_TEST(hex)
{
	json_t *v = api_json_hex(0xc0000000u);

	ck_assert_str_eq(json_string_value(v), "0xc0000000");
	json_decref(v);
	v = api_json_hex(0);
	ck_assert_str_eq(json_string_value(v), "0x0");
	json_decref(v);
	v = api_json_hex(0xFFFFFFFFFULL);
	ck_assert_str_eq(json_string_value(v), "0xfffffffff");
	json_decref(v);
}
END_TEST

START_TEST(names)
{
	ck_assert(api_name_valid("default"));
	ck_assert(api_name_valid("a"));
	ck_assert(api_name_valid("Box-1.test_2"));
	ck_assert(api_name_valid(
		&"0123456789012345678901234567890123456789012345678901234567890123"[1]));
	ck_assert(!api_name_valid(
		"0123456789012345678901234567890123456789012345678901234567890123"));
	ck_assert(!api_name_valid(""));
	ck_assert(!api_name_valid("-a"));
	ck_assert(!api_name_valid(".a"));
	ck_assert(!api_name_valid("a b"));
	ck_assert(!api_name_valid("a/b"));
	ck_assert(!api_name_valid("caf\xc3\xa9"));
}
END_TEST

START_TEST(spec_full)
{
	char name[API_NAME_MAX];
	struct mm_error err = {0};

	ck_assert_msg(parse("{\"name\":\"box\",\"mem\":\"512M\",\"pae\":true,\"cpus\":4,"
			    "\"cmdline\":\"mem=256M\",\"e820\":[{\"addr\":\"0x0\",\"size\":"
			    "\"0x9fc00\",\"type\":\"usable\"},{\"addr\":1048576,\"size\":"
			    "\"0x1ff00000\",\"type\":1},{\"addr\":\"0xfffc0000\",\"size\":"
			    "262144,\"type\":\"reserved\"}]}",
			    name, &err) == 0,
		      "%s", err.msg);
	ck_assert_str_eq(name, "box");
	ck_assert_uint_eq(cfg->mem, 512ULL << 20);
	ck_assert(cfg->pae);
	ck_assert_uint_eq(cfg->cpus, 4);
	ck_assert_str_eq(cfg->cmdline, "mem=256M");
	ck_assert_uint_eq(cfg->nr_e820, 3);
	ck_assert_uint_eq(cfg->e820[0].size, 0x9fc00);
	ck_assert_uint_eq(cfg->e820[1].addr, 0x100000);
	ck_assert_uint_eq(cfg->e820[1].type, MM_E820_RAM);
	ck_assert_uint_eq(cfg->e820[2].type, MM_E820_RESERVED);
}
END_TEST

START_TEST(spec_defaults)
{
	char name[API_NAME_MAX];
	struct mm_error err = {0};

	ck_assert_int_eq(parse("{\"mem\":1073741824}", name, &err), 0);
	ck_assert_str_eq(name, "");
	ck_assert_uint_eq(cfg->mem, 1ULL << 30);
	ck_assert(!cfg->pae);
	ck_assert_uint_eq(cfg->cpus, 1);
	ck_assert_str_eq(cfg->cmdline, "");
	ck_assert_uint_eq(cfg->nr_e820, 0);
	ck_assert_int_eq(cfg->stop_after, MM_PHASE_BUDDY);
	ck_assert_uint_eq(cfg->tlb_entries, 64);
}
END_TEST

START_TEST(spec_boot_and_tlb)
{
	char name[API_NAME_MAX];
	struct mm_error err = {0};

	for (int ph = 0; ph < MM_NR_BOOT_PHASES; ph++) {
		char text[160];

		snprintf(text, sizeof(text),
			 "{\"mem\":\"1G\",\"tlb_entries\":%d,\"boot\":{\"stop_after\":\"%s\"}}",
			 1 << ph * 3, mm_boot_phase_name(ph));
		ck_assert_msg(parse(text, name, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(cfg->stop_after, ph);
		ck_assert_uint_eq(cfg->tlb_entries, 1u << ph * 3);
	}
	ck_assert_int_eq(parse("{\"mem\":\"1G\",\"boot\":{}}", name, &err), 0);
	ck_assert_int_eq(cfg->stop_after, MM_PHASE_BUDDY);
	ck_assert_int_eq(parse("{\"mem\":\"1G\",\"tlb_entries\":4096}", name, &err), 0);
	ck_assert_uint_eq(cfg->tlb_entries, 4096);
}
END_TEST

static const struct {
	const char *body;
	const char *mentions; /* the detail must name this */
} bad_specs[] = {
	{"{}", "mem"},
	{"[]", "object"},
	{"{\"mem\":\"1G\",\"ram\":1}", "ram"},
	{"{\"mem\":true}", "mem"},
	{"{\"mem\":\"lots\"}", "mem"},
	{"{\"mem\":0}", "mem"},
	{"{\"mem\":-4096}", "mem"},
	{"{\"mem\":\"65G\"}", "mem"},
	{"{\"mem\":\"1G\",\"cpus\":0}", "cpus"},
	{"{\"mem\":\"1G\",\"cpus\":33}", "cpus"},
	{"{\"mem\":\"1G\",\"cpus\":\"2\"}", "integer"},
	{"{\"mem\":\"1G\",\"pae\":1}", "boolean"},
	{"{\"mem\":\"1G\",\"name\":\"-bad\"}", "name"},
	{"{\"mem\":\"1G\",\"name\":7}", "string"},
	{"{\"mem\":\"1G\",\"cmdline\":[]}", "cmdline"},
	{"{\"mem\":\"1G\",\"e820\":{}}", "e820"},
	{"{\"mem\":\"1G\",\"e820\":[{\"addr\":0,\"size\":4096}]}", "type"},
	{"{\"mem\":\"1G\",\"e820\":[{\"addr\":0,\"size\":4096,\"type\":\"ram\"}]}", "type"},
	{"{\"mem\":\"1G\",\"e820\":[{\"addr\":\"0xzz\",\"size\":4096,\"type\":1}]}", "addr"},
	{"{\"mem\":\"1G\",\"e820\":[{\"addr\":0,\"size\":1,\"type\":1,\"x\":0}]}", "x"},
	{"{\"mem\":\"1G\",\"boot\":\"memblock\"}", "boot"},
	{"{\"mem\":\"1G\",\"boot\":{\"stop_after\":\"zones\"}}",
	 "early_page_tables, paging_enabled"},
	{"{\"mem\":\"1G\",\"boot\":{\"stop_after\":2}}", "boot.stop_after"},
	{"{\"mem\":\"1G\",\"boot\":{\"stop_after\":\"buddy\",\"x\":1}}", "boot.x"},
	{"{\"mem\":\"1G\",\"tlb_entries\":0}", "tlb_entries"},
	{"{\"mem\":\"1G\",\"tlb_entries\":4097}", "tlb_entries"},
	{"{\"mem\":\"1G\",\"tlb_entries\":\"64\"}", "tlb_entries"},
};

START_TEST(spec_rejects)
{
	char name[API_NAME_MAX];
	struct mm_error err = {0};

	ck_assert_int_eq(parse(bad_specs[_i].body, name, &err), -EINVAL);
	ck_assert_msg(strstr(err.msg, bad_specs[_i].mentions) != NULL, "'%s' does not mention '%s'",
		      err.msg, bad_specs[_i].mentions);
}
END_TEST

START_TEST(config_round_trip)
{
	char name[API_NAME_MAX];
	struct mm_config *again = calloc(1, sizeof(*again));
	json_t *j, *j2;

	ck_assert_int_eq(
		parse("{\"mem\":\"768M\",\"pae\":true,\"cpus\":3,\"cmdline\":\"quiet\","
		      "\"tlb_entries\":32,\"boot\":{\"stop_after\":\"paging_enabled\"},"
		      "\"e820\":[{\"addr\":0,\"size\":\"0x9fc00\",\"type\":\"usable\"},"
		      "{\"addr\":\"0x100000\",\"size\":\"0x2ff00000\",\"type\":\"ACPI NVS\"},"
		      "{\"addr\":\"0x30000000\",\"size\":\"0x1000\",\"type\":12}]}",
		      name, NULL),
		0);
	j = api_config_to_json(cfg);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(j, "e820"), 1), "type")),
			 "ACPI NVS");
	ck_assert(is_hex(json_object_get(json_array_get(json_object_get(j, "e820"), 1), "addr")));
	ck_assert_int_eq(api_machine_spec_parse(j, again, name, NULL), 0);
	j2 = api_config_to_json(again);
	ck_assert(json_equal(j, j2));
	ck_assert_uint_eq(again->mem, cfg->mem);
	ck_assert_int_eq(again->stop_after, MM_PHASE_PAGING_ENABLED);
	ck_assert_uint_eq(again->tlb_entries, 32);
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(j, "boot"), "stop_after")),
		"paging_enabled");
	ck_assert_uint_eq(again->nr_e820, 3);
	ck_assert_uint_eq(again->e820[2].type, 12);
	ck_assert_mem_eq(again->e820, cfg->e820, 3 * sizeof(cfg->e820[0]));
	json_decref(j);
	json_decref(j2);
	free(again);
}
END_TEST

START_TEST(addr_space_phase_hex)
{
	struct mm_error err = {0};
	uint64_t a = 7;
	uint8_t *buf;
	size_t len;
	int x;

	ck_assert_int_eq(api_parse_addr("va", "0xc0000000", UINT32_MAX, &a, &err), 0);
	ck_assert_uint_eq(a, 0xc0000000u);
	ck_assert_int_eq(api_parse_addr("va", "0XFFFFFFFF", UINT32_MAX, &a, &err), 0);
	ck_assert_uint_eq(a, 0xffffffffu);
	ck_assert_int_eq(api_parse_addr("va", "4096", UINT32_MAX, &a, &err), 0);
	ck_assert_uint_eq(a, 4096);
	ck_assert_int_eq(api_parse_addr("va", "010", UINT32_MAX, &a, &err), 0);
	ck_assert_uint_eq(a, 10); /* decimal, not octal */
	ck_assert_int_eq(api_parse_addr("a", "0xffffffffffffffff", UINT64_MAX, &a, &err), 0);
	ck_assert_uint_eq(a, UINT64_MAX);
	a = 7;
	for (const char *const *s =
		     (const char *const[]){"", "0x", "x1", "-1", "+1", " 1", "1 ", "0x1g", "1.5",
					   "0x10000000000000000", "18446744073709551616", NULL};
	     *s; s++) {
		ck_assert_msg(api_parse_addr("field 'va'", *s, UINT64_MAX, &a, &err) == -EINVAL,
			      "'%s'", *s);
		ck_assert_ptr_nonnull(strstr(err.msg, "field 'va'"));
	}
	ck_assert_int_eq(api_parse_addr("va", NULL, UINT64_MAX, &a, &err), -EINVAL);
	ck_assert_int_eq(api_parse_addr("va", "0x100000000", UINT32_MAX, &a, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "at most 0xffffffff"));
	ck_assert_uint_eq(a, 7);

	ck_assert_int_eq(api_parse_space("s", "kernel", &x, &err), 0);
	ck_assert_int_eq(x, MM_SPACE_KERNEL);
	ck_assert_int_eq(api_parse_space("s", "phys", &x, &err), 0);
	ck_assert_int_eq(x, MM_SPACE_PHYS);
	ck_assert_int_eq(api_parse_space("s", "user", &x, &err), -EINVAL);
	ck_assert_int_eq(api_parse_space("s", NULL, &x, &err), -EINVAL);
	ck_assert_int_eq(api_parse_access("a", "exec", &x, &err), 0);
	ck_assert_int_eq(x, MM_ACCESS_EXEC);
	ck_assert_int_eq(api_parse_access("a", "execute", &x, &err), -EINVAL);
	ck_assert_int_eq(api_parse_boot_phase("p", "memblock", &x, &err), 0);
	ck_assert_int_eq(x, MM_PHASE_MEMBLOCK);
	ck_assert_int_eq(api_parse_boot_phase("p", "Memblock", &x, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "final_page_tables"));

	ck_assert_int_eq(api_hex_decode("d", "00fFa5", &buf, &len, &err), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_uint_eq(buf[1], 0xff);
	ck_assert_uint_eq(buf[2], 0xa5);
	free(buf);
	ck_assert_int_eq(api_hex_decode("d", "", &buf, &len, &err), -EINVAL);
	ck_assert_int_eq(api_hex_decode("d", "abc", &buf, &len, &err), -EINVAL);
	ck_assert_int_eq(api_hex_decode("d", "0g", &buf, &len, &err), -EINVAL);
	ck_assert_int_eq(api_hex_decode("d", "0x00", &buf, &len, &err), -EINVAL);
	{
		char *big = malloc(2 * MM_MEM_MAX + 3);

		memset(big, 'a', 2 * MM_MEM_MAX + 2);
		big[2 * MM_MEM_MAX] = '\0';
		ck_assert_int_eq(api_hex_decode("d", big, &buf, &len, &err), 0);
		ck_assert_uint_eq(len, MM_MEM_MAX);
		free(buf);
		big[2 * MM_MEM_MAX] = 'a';
		big[2 * MM_MEM_MAX + 2] = '\0';
		ck_assert_int_eq(api_hex_decode("d", big, &buf, &len, &err), -EINVAL);
		free(big);
	}
}
END_TEST

START_TEST(layout_json)
{
	struct mm_layout l;
	json_t *j;
	static const char *const hex_keys[] = {
		"PAGE_OFFSET",	 "high_memory",	  "VMALLOC_OFFSET",
		"VMALLOC_START", "VMALLOC_END",	  "__VMALLOC_RESERVE",
		"PKMAP_BASE",	 "LDT_BASE_ADDR", "CPU_ENTRY_AREA_BASE",
		"FIXADDR_TOP",	 "FIXADDR_START", "FIXADDR_TOT_START",
		"PMD_SIZE",
	};
	static const char *const int_keys[] = {
		"LAST_PKMAP",	   "CPU_ENTRY_AREA_PAGES", "MAXMEM_PFN",  "max_low_pfn",
		"max_pfn",	   "highstart_pfn",	   "highend_pfn", "max_pfn_mapped",
		"pageblock_order",
	};
	static const char *const img_keys[] = {
		"_text",      "_etext",	      "__start_rodata", "__end_rodata", "_sdata",
		"_edata",     "__init_begin", "__init_end",	"__bss_start",	"__bss_stop",
		"__brk_base", "_brk_end",     "_end",
	};

	memset(&l, 0, sizeof(l));
	l.page_offset = 0xc0000000;
	l.vmalloc_end = 0xff7fe000;
	l.last_pkmap = 1024;
	l.max_pfn = 262144;
	l.text_start = 0x1000000;
	l.image_end = 0x1a2b000;
	j = api_layout_to_json(&l);
	ck_assert_ptr_nonnull(j);
	for (size_t i = 0; i < sizeof(hex_keys) / sizeof(hex_keys[0]); i++)
		ck_assert_msg(is_hex(json_object_get(j, hex_keys[i])), "%s", hex_keys[i]);
	for (size_t i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++)
		ck_assert_msg(json_is_integer(json_object_get(j, int_keys[i])), "%s", int_keys[i]);
	for (size_t i = 0; i < sizeof(img_keys) / sizeof(img_keys[0]); i++)
		ck_assert_msg(
			is_hex(json_object_get(json_object_get(j, "kernel_image"), img_keys[i])),
			"%s", img_keys[i]);
	ck_assert_uint_eq(json_object_size(j), sizeof(hex_keys) / sizeof(hex_keys[0]) +
						       sizeof(int_keys) / sizeof(int_keys[0]) + 1);
	ck_assert_str_eq(json_string_value(json_object_get(j, "PAGE_OFFSET")), "0xc0000000");
	ck_assert_str_eq(json_string_value(json_object_get(j, "VMALLOC_END")), "0xff7fe000");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "LAST_PKMAP")), 1024);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "max_pfn")), 262144);
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(j, "kernel_image"), "_end")),
		"0x1a2b000");
	json_decref(j);
}
END_TEST

START_TEST(machine_views)
{
	struct mm_error err = {0};
	json_t *j, *zones, *z;
	size_t i;

	mm_config_init(cfg, false);
	cfg->mem = 1ULL << 30;
	cfg->cpus = 2;
	ck_assert_msg(mm_machine_create(cfg, &m, &err) == 0, "%s", err.msg);

	j = api_machine_to_json("m1", m, &err);
	ck_assert_msg(j != NULL, "%s", err.msg);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "m1");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "config"), "mem")),
			 1LL << 30);
	ck_assert(is_hex(json_object_get(json_object_get(j, "layout"), "PAGE_OFFSET")));
	zones = json_object_get(j, "zones");
	ck_assert_uint_eq(json_array_size(zones), MM_NR_ZONES);
	json_array_foreach(zones, i, z) {
		ck_assert_str_eq(json_string_value(json_object_get(z, "name")),
				 mm_zone_name((int)i));
		ck_assert_uint_eq(json_array_size(json_object_get(z, "free_area")), MM_MAX_ORDER);
		ck_assert_uint_eq(json_array_size(json_object_get(z, "protection")), MM_NR_ZONES);
		ck_assert_uint_eq(json_object_size(json_object_get(z, "free_area_by_type")),
				  MM_MIGRATE_TYPES);
		ck_assert_uint_eq(json_array_size(json_object_get(z, "pagesets")), 2);
		ck_assert(
			json_is_integer(json_object_get(json_object_get(z, "watermarks"), "min")));
	}
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(j, "totals"),
							  "lowmem_reserve_ratio")),
			  MM_NR_ZONES);
	json_decref(j);

	j = api_e820_json(m, &err);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_gt(json_array_size(json_object_get(j, "kernel")), 0);
	z = json_array_get(json_object_get(j, "firmware"), 0);
	ck_assert(is_hex(json_object_get(z, "addr")) && is_hex(json_object_get(z, "end")) &&
		  is_hex(json_object_get(z, "size")));
	ck_assert(json_is_string(json_object_get(z, "type")));
	json_decref(j);

	j = api_memblock_json(m, &err);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_array(json_object_get(j, "memory")));
	ck_assert(json_is_array(json_object_get(j, "reserved")));
	json_decref(j);
}
END_TEST

/* A machine stopped before the buddy phase: no zones (409 for /zones), the rest shows. */
START_TEST(machine_views_early)
{
	struct mm_error err = {0};
	json_t *j;

	mm_config_init(cfg, false);
	cfg->stop_after = _i;
	ck_assert_msg(mm_machine_create(cfg, &m, &err) == 0, "%s", err.msg);
	j = api_machine_to_json("e", m, &err);
	ck_assert_msg(j != NULL, "%s", err.msg);
	ck_assert_str_eq(json_string_value(json_object_get(j, "phase")), mm_boot_phase_name(_i));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "zones")), 0);
	ck_assert_ptr_nonnull(json_object_get(j, "totals"));
	ck_assert_str_eq(
		json_string_value(json_object_get(
			json_object_get(json_object_get(j, "config"), "boot"), "stop_after")),
		mm_boot_phase_name(_i));
	json_decref(j);
	ck_assert_ptr_null(api_zones_array(m, &err));
	ck_assert_int_eq(err.code, -EAGAIN);
	ck_assert_ptr_nonnull(strstr(err.msg, mm_boot_phase_name(_i)));
	ck_assert_ptr_nonnull(strstr(err.msg, "buddy"));
	j = api_e820_json(m, &err);
	ck_assert_ptr_nonnull(j);
	json_decref(j);
	j = api_memblock_json(m, &err);
	ck_assert_ptr_nonnull(j);
	json_decref(j);
}
END_TEST

START_TEST(paging_views)
{
	struct mm_error err = {0};
	struct mm_translation t;
	struct mm_cpu_info c;
	struct mm_page_tables pt;
	struct mm_tlb_entry e = {.va = 0xc0800000u,
				 .phys = 0x800000,
				 .page_size = 4 << 20,
				 .rw = true,
				 .global = true};
	struct api_text txt = {0};
	const uint8_t bytes[] = {0xde, 0xad, 0x00, 0x0f};
	json_t *j, *l;

	mm_config_init(cfg, _i);
	ck_assert_msg(mm_machine_create(cfg, &m, &err) == 0, "%s", err.msg);

	ck_assert_int_eq(mm_translate(m, 0, 0xc0000000u, MM_ACCESS_READ, &t, &err), 0);
	j = api_translation_to_json(0xc0000000u, 0, MM_ACCESS_READ, _i, &t);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "va")), "0xc0000000");
	ck_assert(json_is_true(json_object_get(j, "ok")));
	ck_assert(json_is_true(json_object_get(j, "paging")));
	ck_assert(json_is_null(json_object_get(j, "fault")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "phys")), "0x0");
	l = json_object_get(j, "levels");
	ck_assert_uint_eq(json_array_size(l), t.nr_levels);
	/* the raw entries are as wide as the flavour's entries */
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(json_array_get(l, 0), "raw"))),
			  _i ? 18 : 10);
	ck_assert(json_is_true(
		json_object_get(json_object_get(json_array_get(l, 0), "flags"), "present")));
	ck_assert_uint_eq(json_object_size(json_object_get(json_array_get(l, 0), "flags")), 11);
	json_decref(j);

	/* a write to the kernel text: the fault, with the oops */
	ck_assert_int_eq(mm_translate(m, 0, 0xc1000000u, MM_ACCESS_WRITE, &t, &err), 0);
	j = api_translation_to_json(0xc1000000u, 0, MM_ACCESS_WRITE, _i, &t);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(j, "fault"), "error_code")), 3);
	ck_assert_ptr_nonnull(
		strstr(json_string_value(json_object_get(json_object_get(j, "fault"), "oops")),
		       "c1000000"));
	ck_assert_str_eq(json_string_value(json_object_get(j, "access")), "write");
	json_decref(j);

	ck_assert_int_eq(mm_get_cpu(m, 0, &c, &err), 0);
	j = api_cpu_to_json(0, &c);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "cr0"), "pg")));
	ck_assert(json_boolean_value(json_object_get(json_object_get(j, "cr4"), "pae")) == _i);
	ck_assert(is_hex(json_object_get(j, "cr3")));
	ck_assert_uint_eq(json_object_size(json_object_get(j, "counters")), 7);
	json_decref(j);
	j = api_tlb_entry_to_json(&e);
	ck_assert_str_eq(json_string_value(json_object_get(j, "va")), "0xc0800000");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "page_size")), 4 << 20);
	ck_assert(json_is_true(json_object_get(j, "global")));
	json_decref(j);

	ck_assert_int_eq(mm_page_tables_get(m, &pt, &err), 0);
	j = api_page_tables_to_json(&pt);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "entries")), pt.nr_entries);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "ranges")), pt.nr_ranges);
	ck_assert(json_boolean_value(json_object_get(j, "pae")) == _i);
	l = json_array_get(json_object_get(j, "ranges"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(l, "va_start")), "0xc0000000");
	ck_assert(is_hex(json_object_get(l, "size")));
	mm_page_tables_free(&pt);
	json_decref(j);

	api_text_memory(&txt, 0xc2000010u, 4, MM_SPACE_KERNEL, bytes);
	ck_assert_str_eq(
		txt.data,
		"{\"addr\":\"0xc2000010\",\"len\":4,\"space\":\"kernel\",\"data\":\"dead000f\"}");
	txt.len = 0;
	api_text_memory(&txt, 0x1000, 4, MM_SPACE_PHYS, NULL);
	ck_assert_str_eq(txt.data, "{\"addr\":\"0x1000\",\"len\":4,\"space\":\"phys\"}");
	api_text_free(&txt);
}
END_TEST

START_TEST(sysctl_values)
{
	struct mm_error err = {0};
	json_t *v;

	mm_config_init(cfg, false);
	ck_assert_msg(mm_machine_create(cfg, &m, &err) == 0, "%s", err.msg);
	for (const char *const *n = mm_sysctl_names; *n; n++) {
		ck_assert_msg(api_sysctl_get_json(m, *n, &v, &err) == 0, "%s: %s", *n, err.msg);
		if (!strcmp(*n, "lowmem_reserve_ratio"))
			ck_assert_uint_eq(json_array_size(v), MM_NR_ZONES);
		else
			ck_assert_msg(json_is_integer(v), "%s", *n);
		json_decref(v);
	}
	ck_assert_int_eq(api_sysctl_get_json(m, "swappiness", &v, &err), -ENOENT);
}
END_TEST

/* Each element's span must parse to the element json_loads() gives. */
static void spans_match(const char *text)
{
	json_error_t jerr;
	json_t *arr = json_loads(text, JSON_DECODE_ANY, &jerr);
	struct api_json_span sp[8];
	size_t n;

	ck_assert_msg(arr != NULL, "%s: %s", text, jerr.text);
	n = json_array_size(arr);
	ck_assert_uint_le(n, 8);
	ck_assert_msg(api_json_array_spans(text, strlen(text), sp, n) == 0, "%s", text);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_loadb(sp[i].text, sp[i].len, JSON_DECODE_ANY, &jerr);

		ck_assert_msg(e != NULL, "%s [%zu] '%.*s': %s", text, i, (int)sp[i].len, sp[i].text,
			      jerr.text);
		ck_assert(json_equal(e, json_array_get(arr, i)));
		ck_assert(!strchr(" \t\r\n", sp[i].text[0]));
		ck_assert(!strchr(" \t\r\n", sp[i].text[sp[i].len - 1]));
		json_decref(e);
	}
	if (n)
		ck_assert_int_eq(api_json_array_spans(text, strlen(text), sp, n - 1), -EINVAL);
	ck_assert_int_eq(api_json_array_spans(text, strlen(text), sp, n + 1), -EINVAL);
	json_decref(arr);
}

START_TEST(array_spans)
{
	struct api_json_span sp[2];

	spans_match("[]");
	spans_match(" [ \n ] \r\n");
	spans_match("[1]");
	spans_match("[{\"op\":\"a\"},{\"op\":\"b\"}]");
	spans_match("\t[ {\"a\" : [1, {\"b\": \"]}\"}], \"c\": \"x,y\"} ,\n\"s\\\"]\\\\\", [[]], "
		    "null ]");
	spans_match("[\"\\u005d\", \"{\", \"}\", \"[\"]");
	ck_assert_int_eq(api_json_array_spans("{}", 2, sp, 0), -EINVAL);
	ck_assert_int_eq(api_json_array_spans("", 0, sp, 0), -EINVAL);
	ck_assert_int_eq(api_json_array_spans("[1] x", 5, sp, 1), -EINVAL);
	ck_assert_int_eq(api_json_array_spans("[1", 2, sp, 1), -EINVAL);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */

Suite *test_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc = tcase_create("codec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hex);
	tcase_add_test(tc, names);
	tcase_add_test(tc, spec_full);
	tcase_add_test(tc, spec_defaults);
	tcase_add_test(tc, spec_boot_and_tlb);
	tcase_add_loop_test(tc, spec_rejects, 0, sizeof(bad_specs) / sizeof(bad_specs[0]));
	tcase_add_test(tc, config_round_trip);
	tcase_add_test(tc, addr_space_phase_hex);
	tcase_add_test(tc, layout_json);
	tcase_add_test(tc, machine_views);
	tcase_add_loop_test(tc, machine_views_early, 0, MM_PHASE_BUDDY);
	tcase_add_loop_test(tc, paging_views, 0, 2);
	tcase_add_test(tc, sysctl_values);
	tcase_add_test(tc, array_spans);
	suite_add_tcase(s, tc);
	return s;
}
