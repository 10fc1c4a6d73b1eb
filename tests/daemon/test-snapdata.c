/* SPDX-License-Identifier: MIT */
/*
 * test-snapdata.c - the snapshots committed in tests/data/snapshots/ keep loading, at the
 * state hash of their journal's replay.
 *
 * Each fixture NAME is two files:
 *   NAME.json      {"config": the machine as POST /v1/machines takes it, "commands": the
 *                   journal, "results": what each command answered, "state_hash": the state
 *                   hash when it was written, "format": the snapshot format it was written in}
 *   NAME.snap.zst  zstd of: the mmcore snapshot stream (mm_snapshot_save()), then every
 *                  non-zero frame as its pfn (8 bytes, little-endian) and its 4096 bytes.
 * The test checks the file against its recorded hash (the state hash is XXH3-128 of exactly
 * these bytes, so this holds whatever the current format), loads it with this build, and
 * compares the machine with the one its journal replays to now: the same state hash (of
 * this build's format), the same /proc files and dmesg, a clean mm_check().
 * Written in an older format, a fixture must still load: never regenerate one to make this
 * test pass; add a new fixture for a new format instead. Written by an older boot revision
 * (MM_BOOT_REVISION, mmcore.h), it must load whole (the checker clean, /proc rendered), but
 * the journal replays to it only on its own revision: a change to what a boot builds bumps
 * the revision and adds fixtures of the new one beside the old (MM32_SNAPDATA_WRITE=1 writes
 * only the fixtures of the build's revision).
 *
 * MM32_SNAPDATA_WRITE=1 writes the fixtures (into the source tree) instead of checking them.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include "codec.h"
#include "commands.h"
#include "snapshot.h"

#define PAGE 4096u

struct fixture {
	const char *name;
	const char *config;
	const char *commands; /* "$PFN0" is the pfn of the first command's allocation, "$ADDR0"
			       * the address of its vmalloc area */
	int boot_revision;    /* MM_BOOT_REVISION of the build that wrote it */
};

/* the same three machines and journals for every boot revision */
#define CMDS_686                                                                                   \
	"[{\"op\": \"alloc_pages\", \"gfp\": \"GFP_KERNEL\", \"order\": 0},"                       \
	" {\"op\": \"alloc_pages\", \"gfp\": \"GFP_HIGHUSER_MOVABLE\", \"order\": 2, \"cpu\": 0}," \
	" {\"op\": \"alloc_pages\", \"gfp\": \"GFP_ATOMIC\", \"order\": 3},"                       \
	" {\"op\": \"set_sysctl\", \"name\": \"min_free_kbytes\", \"value\": 4096},"               \
	" {\"op\": \"memory_write\", \"addr\": \"0xc4000010\", \"data\": \"deadbeef\","            \
	"  \"space\": \"kernel\"},"                                                                \
	" {\"op\": \"invlpg\", \"va\": \"0xc4000000\"},"                                           \
	" {\"op\": \"free_pages\", \"pfn\": $PFN0, \"order\": 0}]"
#define CMDS_PAE                                                                                   \
	"[{\"op\": \"alloc_pages\", \"gfp\": \"GFP_KERNEL|__GFP_ZERO\", \"order\": 1, \"cpu\": "   \
	"1},"                                                                                      \
	" {\"op\": \"alloc_pages\", \"gfp\": \"GFP_HIGHUSER_MOVABLE\", \"order\": 0},"             \
	" {\"op\": \"set_sysctl\", \"name\": \"watermark_scale_factor\", \"value\": 200},"         \
	" {\"op\": \"set_sysctl\", \"name\": \"lowmem_reserve_ratio\", \"value\": [256, 32, 0, "   \
	"0]},"                                                                                     \
	" {\"op\": \"memory_write\", \"addr\": \"0xc8000000\", \"data\": \"0123456789abcdef\","    \
	"  \"space\": \"kernel\", \"cpu\": 1},"                                                    \
	" {\"op\": \"flush_tlb\", \"keep_global\": true, \"cpu\": 1},"                             \
	" {\"op\": \"free_pages\", \"pfn\": $PFN0, \"order\": 1, \"cpu\": 0}]"

static const struct fixture fixtures[] = {
	{"686-128M", "{\"mem\": \"128M\"}",
	 "[{\"op\": \"alloc_pages\", \"gfp\": \"GFP_KERNEL\", \"order\": 0},"
	 " {\"op\": \"alloc_pages\", \"gfp\": \"GFP_HIGHUSER_MOVABLE\", \"order\": 2, \"cpu\": 0},"
	 " {\"op\": \"alloc_pages\", \"gfp\": \"GFP_ATOMIC\", \"order\": 3},"
	 " {\"op\": \"set_sysctl\", \"name\": \"min_free_kbytes\", \"value\": 4096},"
	 " {\"op\": \"memory_write\", \"addr\": \"0xc4000010\", \"data\": \"deadbeef\","
	 "  \"space\": \"kernel\"},"
	 " {\"op\": \"invlpg\", \"va\": \"0xc4000000\"},"
	 " {\"op\": \"free_pages\", \"pfn\": $PFN0, \"order\": 0}]",
	 1},
	{"686-pae-1024M", "{\"mem\": \"1G\", \"pae\": true, \"cpus\": 2}",
	 "[{\"op\": \"alloc_pages\", \"gfp\": \"GFP_KERNEL|__GFP_ZERO\", \"order\": 1, \"cpu\": 1},"
	 " {\"op\": \"alloc_pages\", \"gfp\": \"GFP_HIGHUSER_MOVABLE\", \"order\": 0},"
	 " {\"op\": \"set_sysctl\", \"name\": \"watermark_scale_factor\", \"value\": 200},"
	 " {\"op\": \"set_sysctl\", \"name\": \"lowmem_reserve_ratio\", \"value\": [256, 32, 0, "
	 "0]},"
	 " {\"op\": \"memory_write\", \"addr\": \"0xc8000000\", \"data\": \"0123456789abcdef\","
	 "  \"space\": \"kernel\", \"cpu\": 1},"
	 " {\"op\": \"flush_tlb\", \"keep_global\": true, \"cpu\": 1},"
	 " {\"op\": \"free_pages\", \"pfn\": $PFN0, \"order\": 1, \"cpu\": 0}]",
	 1},
	{"686-64M-memblock",
	 "{\"mem\": \"64M\", \"cpus\": 3, \"boot\": {\"stop_after\": \"memblock\"}}", "[]", 1},
	/* revision 2, vmalloc's boot areas and the VMAP section: vmalloc'd, vzalloc'd, set
	 * read-only, ioremapped, vfreed lazily */
	{"686-128M-vmap", "{\"mem\": \"128M\", \"cpus\": 2, \"boot_model\": 2}",
	 "[{\"op\": \"vmalloc\", \"size\": 12288},"
	 " {\"op\": \"vmalloc\", \"size\": 4096, \"zero\": true, \"cpu\": 1},"
	 " {\"op\": \"alloc_pages\", \"gfp\": \"GFP_KERNEL\", \"order\": 0},"
	 " {\"op\": \"ioremap\", \"phys\": \"0xfebf0010\", \"size\": 100},"
	 " {\"op\": \"memory_write\", \"addr\": $ADDR0, \"data\": \"c0ffee\","
	 "  \"space\": \"kernel\"},"
	 " {\"op\": \"set_memory\", \"address\": $ADDR0, \"pages\": 2, \"attr\": \"ro\"},"
	 " {\"op\": \"vfree\", \"address\": $ADDR0}]",
	 2},
	{"686-pae-1024M-vmap", "{\"mem\": \"1G\", \"pae\": true, \"boot_model\": 2}",
	 "[{\"op\": \"vmalloc\", \"size\": 65536},"
	 " {\"op\": \"vmalloc\", \"size\": 8192},"
	 " {\"op\": \"ioremap\", \"phys\": \"0xfe000000\", \"size\": 4194304},"
	 " {\"op\": \"memory_write\", \"addr\": $ADDR0, \"data\": \"0123456789abcdef\","
	 "  \"space\": \"kernel\"},"
	 " {\"op\": \"vfree\", \"address\": $ADDR0}]",
	 2},
	/* revision 3: the cpu_entry_area filled over the kernel's boot layout; the machines and
	 * commands of revision 1 */
	{"686-128M-r3", "{\"mem\": \"128M\", \"boot_model\": 3}", CMDS_686, 3},
	{"686-pae-1024M-r3", "{\"mem\": \"1G\", \"pae\": true, \"cpus\": 2, \"boot_model\": 3}",
	 CMDS_PAE, 3},
	{"686-64M-memblock-r3",
	 "{\"mem\": \"64M\", \"cpus\": 3, \"boot\": {\"stop_after\": \"memblock\"}, "
	 "\"boot_model\": 3}",
	 "[]", 3},
	/* revision 4: SLUB's bootstrap slabs and every cache's own objects at boot, vmalloc's
	 * page arrays; the machines and commands of revision 1 */
	{"686-128M-r4", "{\"mem\": \"128M\", \"boot_model\": 4}", CMDS_686, 4},
	{"686-pae-1024M-r4", "{\"mem\": \"1G\", \"pae\": true, \"cpus\": 2, \"boot_model\": 4}",
	 CMDS_PAE, 4},
	{"686-64M-memblock-r4",
	 "{\"mem\": \"64M\", \"cpus\": 3, \"boot\": {\"stop_after\": \"memblock\"}, "
	 "\"boot_model\": 4}",
	 "[]", 4},
};

static char *path_of(const char *name, const char *ext)
{
	char *p = NULL;

	ck_assert_int_gt(asprintf(&p, "%s/%s%s", SNAPDATA_DIR, name, ext), 0);
	return p;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

#include "../mmcore/snapmem.h"

static struct mm_machine *create(const json_t *config)
{
	struct mm_config cfg;
	struct mm_error err = {0};
	struct mm_machine *m = NULL;
	char name[API_NAME_MAX];

	ck_assert_msg(api_machine_spec_parse_stored(config, &cfg, name, &err) == 0, "%s", err.msg);
	ck_assert_msg(mm_machine_create(&cfg, &m, &err) == 0, "%s", err.msg);
	return m;
}

/* Run @commands on @m; each result into @results (appended), or compared with it. */
static void run(struct mm_machine *m, const json_t *commands, json_t *results, bool compare)
{
	size_t i;
	json_t *cmd;

	json_array_foreach(commands, i, cmd) {
		struct mm_error err = {0};
		json_t *res = NULL;

		ck_assert_msg(api_command_exec(m, cmd, &res, &err) == 0, "command %zu: %s", i,
			      err.msg);
		if (compare)
			ck_assert_msg(json_equal(res, json_array_get(results, i)),
				      "command %zu answered differently", i);
		else
			json_array_append(results, res);
		json_decref(res);
	}
}

static void hash_of(const struct mm_machine *m, char hex[STORE_HASH_HEX])
{
	struct mm_error err = {0};

	ck_assert_msg(snapshot_state_hash(m, hex, &err) == 0, "%s", err.msg);
}

static void write_fixture(const struct fixture *fx)
{
	json_t *config = json_loads(fx->config, 0, NULL), *commands, *results = json_array();
	struct mm_machine *m;
	struct mm_error err = {0};
	struct mem b = {0};
	char *text, *p, hex[STORE_HASH_HEX];
	uint64_t pfn;
	FILE *f;

	ck_assert_ptr_nonnull(config);
	m = create(config);
	/* the first command alone, for the pfn the last one frees */
	text = strdup(fx->commands);
	commands = json_loads(text, 0, NULL);
	if (!commands) {
		json_t *first, *res = NULL;
		char pfn_text[16], addr_text[16];
		const char *const names[] = {"$PFN0", "$ADDR0"}, *values[] = {pfn_text, addr_text};
		char *q;

		{
			struct mm_machine *scratch = create(config);
			const char *a;

			first = json_loads(strchr(fx->commands, '{'), JSON_DISABLE_EOF_CHECK, NULL);
			ck_assert_int_eq(api_command_exec(scratch, first, &res, &err), 0);
			snprintf(pfn_text, sizeof(pfn_text), "%lld",
				 (long long)json_integer_value(json_object_get(res, "pfn")));
			a = json_string_value(json_object_get(res, "address"));
			snprintf(addr_text, sizeof(addr_text), "\"%s\"", a ? a : "");
			json_decref(first);
			json_decref(res);
			mm_machine_destroy(scratch);
		}
		for (unsigned int k = 0; k < 2; k++)
			while ((p = strstr(text, names[k]))) {
				q = malloc(strlen(text) + 16);
				*p = '\0';
				sprintf(q, "%s%s%s", text, values[k], p + strlen(names[k]));
				free(text);
				text = q;
			}
		commands = json_loads(text, 0, NULL);
	}
	ck_assert_ptr_nonnull(commands);
	free(text);
	run(m, commands, results, false);
	hash_of(m, hex);

	ck_assert_msg(mm_snapshot_save(m, mem_write, &b, &err) == 0, "%s", err.msg);
	for (pfn = 0; pfn < mm_ram_pages(m); pfn++) {
		const uint8_t *page = mm_ram_page(m, pfn);
		uint8_t le[8];
		size_t i;

		if (!mm_ram_page_touched(m, pfn))
			continue;
		for (i = 0; i < PAGE && !page[i]; i++)
			;
		if (i == PAGE)
			continue;
		for (i = 0; i < 8; i++)
			le[i] = (uint8_t)(pfn >> (8 * i));
		mem_write(&b, le, 8);
		mem_write(&b, page, PAGE);
	}
	{
		size_t cap = ZSTD_compressBound(b.len), n;
		void *z = malloc(cap);

		n = ZSTD_compress(z, cap, b.p, b.len, 19);
		ck_assert(!ZSTD_isError(n));
		p = path_of(fx->name, ".snap.zst");
		f = fopen(p, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(z, 1, n, f), n);
		fclose(f);
		free(p);
		free(z);
	}
	{
		json_t *doc =
			json_pack("{s:O, s:O, s:O, s:s, s:i, s:s}", "config", config, "commands",
				  commands, "results", results, "state_hash", hex, "format",
				  MM_SNAPSHOT_VERSION, "algorithm", SNAPSHOT_HASH_ALGORITHM);

		p = path_of(fx->name, ".json");
		ck_assert_int_eq(json_dump_file(doc, p, JSON_INDENT(1) | JSON_SORT_KEYS), 0);
		free(p);
		json_decref(doc);
	}
	free(b.p);
	json_decref(config);
	json_decref(commands);
	json_decref(results);
	mm_machine_destroy(m);
}

static void same_text(struct mm_machine *a, struct mm_machine *b)
{
	static const char *const files[] = {"zoneinfo", "buddyinfo", "pagetypeinfo", "meminfo",
					    "vmstat"};
	struct mm_error err = {0};
	unsigned int i;

	for (i = 0; i < 5; i++) {
		struct mm_buf x = {0}, y = {0};
		int ra = mm_proc_render(a, files[i], &x, &err);
		int rb = mm_proc_render(b, files[i], &y, &err);

		ck_assert_int_eq(ra, rb);
		if (!ra)
			ck_assert_str_eq(x.data, y.data);
		mm_buf_free(&x);
		mm_buf_free(&y);
	}
	{
		struct mm_buf x = {0}, y = {0};

		ck_assert_int_eq(mm_dmesg_render(a, &x, &err), 0);
		ck_assert_int_eq(mm_dmesg_render(b, &y, &err), 0);
		ck_assert_str_eq(x.data, y.data);
		mm_buf_free(&x);
		mm_buf_free(&y);
	}
}

START_TEST(fixture_loads_at_its_replay)
{
	const struct fixture *fx = &fixtures[_i];
	struct mm_machine *loaded = NULL, *replayed;
	struct mm_error err = {0};
	json_error_t jerr;
	json_t *doc;
	char *p, hex_loaded[STORE_HASH_HEX], hex_replayed[STORE_HASH_HEX], hex_file[STORE_HASH_HEX];
	void *z;
	size_t zlen;
	struct mem b = {0};
	XXH3_state_t *h;

	if (getenv("MM32_SNAPDATA_WRITE")) {
		/* only what this build's boot revision adds; an older fixture is never rewritten */
		if (fx->boot_revision == MM_BOOT_REVISION)
			write_fixture(fx);
		return;
	}
	p = path_of(fx->name, ".json");
	doc = json_load_file(p, 0, &jerr);
	ck_assert_msg(doc != NULL, "%s: %s", p, jerr.text);
	free(p);
	p = path_of(fx->name, ".snap.zst");
	z = read_file(p, &zlen);
	free(p);
	{
		unsigned long long n = ZSTD_getFrameContentSize(z, zlen);

		ck_assert(n != ZSTD_CONTENTSIZE_ERROR && n != ZSTD_CONTENTSIZE_UNKNOWN);
		b.len = b.cap = (size_t)n;
		b.p = malloc(b.len);
		ck_assert_uint_eq(ZSTD_decompress(b.p, b.len, z, zlen), b.len);
	}
	free(z);

	/* the stream, with this build */
	ck_assert_msg(mm_snapshot_load(mem_read, &b, &loaded, &err) == 0, "%s: %s", fx->name,
		      err.msg);
	ck_assert_uint_eq((b.len - b.pos) % (8 + PAGE), 0);
	/* the file is what was written: its bytes hash to the recorded state hash */
	h = XXH3_createState();
	XXH3_128bits_reset(h);
	XXH3_128bits_update(h, b.p, b.len);
	{
		XXH128_canonical_t c;

		XXH128_canonicalFromHash(&c, XXH3_128bits_digest(h));
		for (int i = 0; i < 16; i++)
			snprintf(hex_file + 2 * i, 3, "%02x", c.digest[i]);
	}
	XXH3_freeState(h);
	ck_assert_str_eq(hex_file, json_string_value(json_object_get(doc, "state_hash")));
	for (; b.pos < b.len; b.pos += 8 + PAGE) {
		uint64_t pfn = 0;

		for (int i = 7; i >= 0; i--)
			pfn = pfn << 8 | b.p[b.pos + (size_t)i];
		ck_assert_msg(mm_ram_page_load(loaded, pfn, b.p + b.pos + 8, &err) == 0, "%s",
			      err.msg);
	}
	free(b.p);
	ck_assert_int_eq(mm_snapshot_finish(loaded, &err), 0);

	/* a fixture of an older boot revision is a state of that model: it loads, whole; the
	 * journal replays to it only on the revision that wrote it */
	if (fx->boot_revision != MM_BOOT_REVISION) {
		struct mm_report rep = {0};

		if (mm_machine_phase(loaded) == MM_PHASE_BUDDY) {
			struct mm_buf t = {0};

			ck_assert_int_eq(mm_check(loaded, &rep), 0);
			ck_assert_int_eq(mm_proc_render(loaded, "zoneinfo", &t, &err), 0);
			ck_assert_uint_gt(t.len, 0);
			mm_buf_free(&t);
		}
		mm_machine_destroy(loaded);
		json_decref(doc);
		return;
	}

	/* ... and the machine its journal replays to now */
	replayed = create(json_object_get(doc, "config"));
	run(replayed, json_object_get(doc, "commands"), json_object_get(doc, "results"), true);
	hash_of(loaded, hex_loaded);
	hash_of(replayed, hex_replayed);
	ck_assert_str_eq(hex_loaded, hex_replayed);
	same_text(loaded, replayed);
	if (mm_machine_phase(loaded) == MM_PHASE_BUDDY) {
		struct mm_report rep = {0};

		ck_assert_int_eq(mm_check(loaded, &rep), 0);
	} else {
		/* a stopped machine boots on from the snapshot as from its first boot */
		ck_assert_int_eq(mm_boot_continue(loaded, MM_PHASE_BUDDY, &err), 0);
		ck_assert_int_eq(mm_boot_continue(replayed, MM_PHASE_BUDDY, &err), 0);
		hash_of(loaded, hex_loaded);
		hash_of(replayed, hex_replayed);
		ck_assert_str_eq(hex_loaded, hex_replayed);
		same_text(loaded, replayed);
	}
	mm_machine_destroy(loaded);
	mm_machine_destroy(replayed);
	json_decref(doc);
}
END_TEST

Suite *test_suite(void);
Suite *test_suite(void)
{
	Suite *s = suite_create("snapdata");
	TCase *tc = tcase_create("fixtures");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, fixture_loads_at_its_replay, 0,
			    (int)(sizeof(fixtures) / sizeof(fixtures[0])));
	suite_add_tcase(s, tc);
	return s;
}
