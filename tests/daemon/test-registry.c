/* SPDX-License-Identifier: MIT */
/*
 * test-registry.c - the registry (daemon/registry.c) with a real store: commands sent
 * through the HTTP router are journaled, and a new registry over the same file rebuilds
 * every machine by replaying its journal through the same executor, so sysctl state
 * survives a restart. Deleting a machine deletes its journal. A restart brings a machine back
 * from its newest snapshot and the journal after it; snapshot jobs; sessions round trips.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "registry.h"

static char dir[64], path[256];
static struct store *st;
static struct registry *reg;
static struct api_host host;
static struct api_reply rep;

static void open_all(void)
{
	struct mm_error err = {0};

	ck_assert_msg(store_open(path, &st, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(registry_create(st, &reg, &err), 0);
	ck_assert_msg(registry_load(reg, &err) == 0, "%s", err.msg);
	host = registry_host(reg);
}

static void check_all_machines(void)
{
	json_t *ids, *id;
	size_t i;

	ck_assert_int_eq(host.ops->machine_ids(host.data, &ids, NULL), 0);
	json_array_foreach(ids, i, id) {
		struct api_lease lease;

		ck_assert_int_eq(
			host.ops->machine_acquire(host.data, json_string_value(id), &lease, NULL),
			0);
		{
			char msgs[4][MM_ERR_MAX];
			struct mm_report rp = {.max = 4, .msgs = msgs};
			int cr = mm_check(lease.m, &rp);

			ck_assert_msg(cr == 0, "%s: %s", json_string_value(id),
				      rp.nr ? msgs[0] : "");
		}
		host.ops->machine_release(host.data, &lease);
	}
	json_decref(ids);
}

static void close_all(void)
{
	check_all_machines();
	registry_destroy(reg);
	store_close(st);
	reg = NULL;
	st = NULL;
}

static void setup(void)
{
	log_init(LOG_LEVEL_ERROR);
	strcpy(dir, "/tmp/mm32-test-registry-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mm32.db", dir);
	memset(&rep, 0, sizeof(rep));
	open_all();
}

static void teardown(void)
{
	char p[300];

	api_reply_finish(&rep);
	close_all();
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	/* the snapshot frames' file beside it, with its WAL */
	snprintf(p, sizeof(p), "%s.frames", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.frames-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.frames-shm", path);
	unlink(p);
	rmdir(dir);
}

static unsigned int req(const char *method, const char *url, const char *body)
{
	struct api_request rq = {
		.method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0};

	api_reply_finish(&rep);
	api_dispatch(&host, &rq, &rep);
	/* a body the router wrote as text: read it back for the assertions */
	if (!rep.json && rep.json_text)
		rep.json = json_loadb(rep.json_text, rep.json_text_len, 0, NULL);
	return rep.status;
}

START_TEST(names_are_generated_first_free)
{
	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"mem\":\"64M\"}"), 201);
	ck_assert_str_eq(rep.location, "/v1/machines/m1");
	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"mem\":\"64M\"}"), 201);
	ck_assert_str_eq(rep.location, "/v1/machines/m2");
	ck_assert_uint_eq(req("DELETE", "/v1/machines/m1", NULL), 204);
	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"mem\":\"64M\"}"), 201);
	ck_assert_str_eq(rep.location, "/v1/machines/m1");
	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"name\":\"m2\",\"mem\":\"64M\"}"), 409);
	ck_assert(registry_contains(reg, "m2"));
	ck_assert(!registry_contains(reg, "m3"));
}
END_TEST

START_TEST(replay_restores_state)
{
	json_t *want;

	ck_assert_uint_eq(
		req("POST", "/v1/machines",
		    "{\"name\":\"box\",\"mem\":\"256M\",\"cpus\":2,\"cmdline\":\"quiet\"}"),
		201);
	ck_assert_uint_eq(
		req("PUT", "/v1/machines/box/sysctl/vm/min_free_kbytes", "{\"value\":8192}"), 200);
	ck_assert_uint_eq(req("POST", "/v1/machines/box/commands",
			      "[{\"op\":\"set_sysctl\",\"name\":\"lowmem_reserve_ratio\","
			      "\"value\":[128,16,0,0]},{\"op\":\"set_sysctl\","
			      "\"name\":\"watermark_scale_factor\",\"value\":0}]"),
			  422);
	ck_assert_uint_eq(req("GET", "/v1/machines/box/zones", NULL), 200);
	want = json_incref(rep.json);

	close_all();
	open_all();

	ck_assert_uint_eq(req("GET", "/v1/machines/box/sysctl/vm/min_free_kbytes", NULL), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "value")), 8192);
	ck_assert_uint_eq(req("GET", "/v1/machines/box/sysctl/vm/lowmem_reserve_ratio", NULL), 200);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(rep.json, "value"), 1)),
			 16);
	ck_assert_uint_eq(req("GET", "/v1/machines/box/zones", NULL), 200);
	ck_assert_msg(json_equal(want, rep.json), "zones differ after replay");
	json_decref(want);

	ck_assert_uint_eq(req("GET", "/v1/machines/box", NULL), 200);
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(rep.json, "config"), "cmdline")),
		"quiet");
	ck_assert_int_eq(
		json_integer_value(json_object_get(json_object_get(rep.json, "config"), "cpus")),
		2);

	/* the journal continues where it was: seq 3 follows 1 and 2 */
	ck_assert_uint_eq(
		req("POST", "/v1/machines/box/commands",
		    "{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":9000}"),
		200);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "seq")), 3);
	ck_assert_uint_eq(req("GET", "/v1/machines/box/journal", NULL), 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "entries")), 3);
}
END_TEST

/* Every page descriptor of @id, 4096 at a time (a new reference). */
static json_t *all_frames(const char *id)
{
	json_t *all = json_array();
	char url[128];
	json_int_t start = 0;

	for (;;) {
		snprintf(url, sizeof(url), "/v1/machines/%s/frames", id);
		struct api_query_arg q[2] = {{"start", NULL}, {"count", "4096"}};
		char s[24];
		struct api_request rq = {.method = "GET", .url = url, .query = q, .nquery = 2};

		snprintf(s, sizeof(s), "%lld", (long long)start);
		q[0].value = s;
		api_reply_finish(&rep);
		api_dispatch(&host, &rq, &rep);
		ck_assert_uint_eq(rep.status, 200);
		json_array_extend(all, json_object_get(rep.json, "frames"));
		if (json_is_null(json_object_get(rep.json, "next")))
			return all;
		start = json_integer_value(json_object_get(rep.json, "next"));
	}
}

START_TEST(replay_restores_allocations)
{
	json_t *zones, *frames, *journal;
	char body[160], url[128];
	json_int_t pfn, last;

	ck_assert_uint_eq(
		req("POST", "/v1/machines", "{\"name\":\"pa\",\"mem\":\"256M\",\"cpus\":2}"), 201);
	ck_assert_uint_eq(req("POST", "/v1/machines/pa/pages",
			      "{\"gfp\":\"GFP_KERNEL|__GFP_COMP\",\"order\":3,\"cpu\":1}"),
			  201);
	pfn = json_integer_value(json_object_get(rep.json, "pfn"));
	ck_assert_uint_eq(
		req("POST", "/v1/machines/pa/commands",
		    "[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_HIGHUSER_MOVABLE\"},"
		    "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_ATOMIC\",\"order\":1,\"cpu\":1},"
		    "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_DMA\",\"order\":2},"
		    "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}]"),
		200);
	last = json_integer_value(json_object_get(
		json_object_get(json_array_get(json_object_get(rep.json, "results"), 3), "result"),
		"pfn"));
	snprintf(body, sizeof(body), "{\"op\":\"get_page\",\"pfn\":%lld}", (long long)pfn + 1);
	ck_assert_uint_eq(req("POST", "/v1/machines/pa/commands", body), 200);
	/* the last order-0 page goes back through CPU 1's list */
	snprintf(url, sizeof(url), "/v1/machines/pa/pages/%lld", (long long)last);
	{
		struct api_query_arg q = {"cpu", "1"};
		struct api_request rq = {.method = "DELETE", .url = url, .query = &q, .nquery = 1};

		api_reply_finish(&rep);
		api_dispatch(&host, &rq, &rep);
	}
	ck_assert_uint_eq(rep.status, 200);
	ck_assert(json_is_true(json_object_get(rep.json, "freed")));
	/* a refused free is not journaled */
	ck_assert_uint_eq(req("DELETE", "/v1/machines/pa/pages/1", NULL), 409);
	ck_assert_uint_eq(req("GET", "/v1/machines/pa/journal", NULL), 200);
	journal = json_incref(json_object_get(rep.json, "entries"));
	ck_assert_uint_eq(json_array_size(journal), 7);
	ck_assert_uint_eq(req("GET", "/v1/machines/pa/zones", NULL), 200);
	zones = json_incref(rep.json);
	frames = all_frames("pa");
	ck_assert_uint_eq(json_array_size(frames), 65504);

	close_all();
	open_all();

	ck_assert_uint_eq(req("GET", "/v1/machines/pa/zones", NULL), 200);
	ck_assert_msg(json_equal(zones, rep.json), "zones differ after replay");
	json_t *again = all_frames("pa");
	ck_assert_msg(json_equal(frames, again), "frames differ after replay");
	ck_assert_uint_eq(req("GET", "/v1/machines/pa/journal", NULL), 200);
	ck_assert(json_equal(journal, json_object_get(rep.json, "entries")));
	json_decref(again);
	json_decref(frames);
	json_decref(zones);
	json_decref(journal);
}
END_TEST

/* The views of @id that paging and the boot phases change, as one document (new reference). */
static json_t *paging_state(const char *id, uint32_t va)
{
	json_t *o = json_object();
	char url[160];

	snprintf(url, sizeof(url), "/v1/machines/%s", id);
	ck_assert_uint_eq(req("GET", url, NULL), 200);
	json_object_set(o, "machine", rep.json);
	snprintf(url, sizeof(url), "/v1/machines/%s/cpus", id);
	ck_assert_uint_eq(req("GET", url, NULL), 200);
	json_object_set(o, "cpus", rep.json);
	for (unsigned int cpu = 0; cpu < 2; cpu++) {
		char key[8];

		snprintf(url, sizeof(url), "/v1/machines/%s/cpus/%u/tlb", id, cpu);
		ck_assert_uint_eq(req("GET", url, NULL), 200);
		snprintf(key, sizeof(key), "tlb%u", cpu);
		json_object_set(o, key, rep.json);
	}
	snprintf(url, sizeof(url), "/v1/machines/%s/dmesg", id);
	ck_assert_uint_eq(req("GET", url, NULL), 200);
	json_object_set_new(o, "dmesg", json_stringn(rep.text.data, rep.text.len));
	snprintf(url, sizeof(url), "/v1/machines/%s/page-tables/kernel", id);
	ck_assert_uint_eq(req("GET", url, NULL), 200);
	json_object_set_new(o, "page_tables", json_stringn(rep.text.data, rep.text.len));
	snprintf(url, sizeof(url), "/v1/machines/%s/journal", id);
	ck_assert_uint_eq(req("GET", url, NULL), 200);
	json_object_set(o, "journal", json_object_get(rep.json, "entries"));
	{
		char a[24], c[4] = "1";
		struct api_query_arg q[2] = {{"va", a}, {"cpu", c}};
		struct api_request rq = {.method = "GET", .url = url, .query = q, .nquery = 2};

		snprintf(url, sizeof(url), "/v1/machines/%s/translate", id);
		snprintf(a, sizeof(a), "0x%x", va);
		api_reply_finish(&rep);
		api_dispatch(&host, &rq, &rep);
		ck_assert_uint_eq(rep.status, 200);
		json_object_set(o, "translate", rep.json);
	}
	{
		char a[24];
		struct api_query_arg q[3] = {{"addr", a}, {"len", "64"}, {"space", "phys"}};
		struct api_request rq = {.method = "GET", .url = url, .query = q, .nquery = 3};

		snprintf(url, sizeof(url), "/v1/machines/%s/memory", id);
		snprintf(a, sizeof(a), "0x%x", va - 0xc0000000u);
		api_reply_finish(&rep);
		api_dispatch(&host, &rq, &rep);
		ck_assert_uint_eq(rep.status, 200);
		if (!rep.json && rep.json_text)
			rep.json = json_loadb(rep.json_text, rep.json_text_len, 0, NULL);
		json_object_set(o, "memory", rep.json);
	}
	return o;
}

/* A machine created stopped at the first boot phase comes back through its config's
 * stop_after and the journaled boot_continue, memory, invlpg and flush_tlb commands, and
 * the allocation that failed after it moved the allocator's counters. */
START_TEST(replay_restores_paging)
{
	json_t *before, *after;
	char body[600];
	unsigned long long va;
	int fails = 0;

	ck_assert_uint_eq(
		req("POST", "/v1/machines",
		    "{\"name\":\"pg\",\"mem\":\"256M\",\"cpus\":2,\"pae\":true,"
		    "\"tlb_entries\":16,\"boot\":{\"stop_after\":\"early_page_tables\"}}"),
		201);
	ck_assert_uint_eq(req("POST", "/v1/machines/pg/boot/continue", NULL), 200);
	ck_assert_uint_eq(req("POST", "/v1/machines/pg/commands",
			      "{\"op\":\"memory_write\",\"addr\":\"0xc0100000\",\"data\":\"0102\","
			      "\"space\":\"kernel\"}"),
			  200);
	ck_assert_uint_eq(req("POST", "/v1/machines/pg/boot/continue", "{\"until\":\"memblock\"}"),
			  200);
	ck_assert_uint_eq(req("POST", "/v1/machines/pg/boot/continue", "{\"until\":\"buddy\"}"),
			  200);
	ck_assert_uint_eq(req("POST", "/v1/machines/pg/pages", "{\"gfp\":\"GFP_KERNEL\"}"), 201);
	ck_assert_int_eq(
		sscanf(json_string_value(json_object_get(rep.json, "address")), "0x%llx", &va), 1);
	snprintf(body, sizeof(body),
		 "[{\"op\":\"memory_write\",\"addr\":\"0x%llx\",\"data\":\"c0ffee\","
		 "\"space\":\"kernel\",\"cpu\":1},"
		 "{\"op\":\"memory_read\",\"addr\":\"0x%llx\",\"len\":3,\"space\":\"kernel\"},"
		 "{\"op\":\"memory_read\",\"addr\":\"0x%llx\",\"len\":3,\"space\":\"kernel\","
		 "\"cpu\":1},"
		 "{\"op\":\"invlpg\",\"va\":\"0x%llx\",\"cpu\":1},"
		 "{\"op\":\"flush_tlb\",\"keep_global\":true}]",
		 va + 8, va + 8, va + 8, va);
	ck_assert_uint_eq(req("POST", "/v1/machines/pg/commands", body), 200);
	/* DMA runs out of order-10 blocks: the failure is journaled */
	for (int i = 0; i < 64 && !fails; i++)
		if (req("POST", "/v1/machines/pg/pages", "{\"gfp\":\"GFP_DMA\",\"order\":10}") ==
		    409)
			fails++;
	ck_assert_int_eq(fails, 1);
	ck_assert_ptr_nonnull(json_object_get(rep.json, "seq"));
	before = paging_state("pg", (uint32_t)va + 8);
	ck_assert_int_eq(strncmp(json_string_value(json_object_get(
					 json_object_get(before, "memory"), "data")),
				 "c0ffee00", 8),
			 0);

	close_all();
	open_all();

	after = paging_state("pg", (uint32_t)va + 8);
	ck_assert_msg(json_equal(before, after), "paging state differs after replay");
	json_decref(before);
	json_decref(after);
}
END_TEST

START_TEST(delete_forgets_journal)
{
	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"name\":\"tmp\",\"mem\":\"64M\"}"), 201);
	ck_assert_uint_eq(
		req("PUT", "/v1/machines/tmp/sysctl/vm/min_free_kbytes", "{\"value\":2048}"), 200);
	ck_assert_uint_eq(req("DELETE", "/v1/machines/tmp", NULL), 204);
	close_all();
	open_all();
	ck_assert(!registry_contains(reg, "tmp"));
	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"name\":\"tmp\",\"mem\":\"64M\"}"), 201);
	ck_assert_uint_eq(req("GET", "/v1/machines/tmp/journal", NULL), 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "entries")), 0);
}
END_TEST

START_TEST(registry_add_and_list_sorted)
{
	struct mm_config *cfg = malloc(sizeof(*cfg));
	struct mm_error err = {0};
	json_t *list;

	mm_config_init(cfg, false);
	cfg->mem = 64ULL << 20;
	ck_assert_int_eq(registry_add(reg, "zz", cfg, &err), 0);
	ck_assert_int_eq(registry_add(reg, "default", cfg, &err), 0);
	ck_assert_int_eq(registry_add(reg, "default", cfg, &err), -EEXIST);
	free(cfg);
	ck_assert_uint_eq(req("GET", "/v1/machines", NULL), 200);
	list = json_object_get(rep.json, "machines");
	ck_assert_uint_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")),
			 "default");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), "zz");
}
END_TEST

/* ---- persistence: snapshots, restarts from them, jobs, sessions --------------------------- */

/* The state hash of @id (a new string: free it) and its seq. */
static char *state_hash(const char *id, json_int_t *seq)
{
	char url[128];

	snprintf(url, sizeof(url), "/v1/machines/%s/state-hash", id);
	ck_assert_uint_eq(req("GET", url, NULL), 200);
	if (seq)
		*seq = json_integer_value(json_object_get(rep.json, "seq"));
	return strdup(json_string_value(json_object_get(rep.json, "hash")));
}

/* A restart brings a machine back from its newest snapshot and the journal after it, a
 * journaled restore included; a clone comes back from its base. */
START_TEST(restart_from_snapshot)
{
	char *h1, *h2, *c1, *c2, url[160];
	json_int_t sid, seq1, seq2;

	ck_assert_uint_eq(req("POST", "/v1/machines",
			      "{\"name\":\"s\",\"mem\":\"512M\",\"pae\":true,\"cpus\":2}"),
			  201);
	ck_assert_uint_eq(req("POST", "/v1/machines/s/commands",
			      "[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":2},"
			      "{\"op\":\"memory_write\",\"addr\":\"0x8000000\",\"data\":\"c0ffee\","
			      "\"space\":\"phys\"}]"),
			  200);
	ck_assert_uint_eq(req("POST", "/v1/machines/s/snapshots", "{\"label\":\"a\"}"), 201);
	sid = json_integer_value(json_object_get(rep.json, "id"));
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "seq")), 2);
	ck_assert_uint_eq(req("POST", "/v1/machines/s/commands",
			      "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_HIGHUSER\",\"cpu\":1}"),
			  200);
	snprintf(url, sizeof(url), "/v1/machines/s/snapshots/%lld/restore", (long long)sid);
	ck_assert_uint_eq(req("POST", url, NULL), 200);
	ck_assert_uint_eq(
		req("POST", "/v1/machines/s/commands",
		    "{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":5000}"),
		200);
	snprintf(url, sizeof(url), "{\"name\":\"c\",\"from_snapshot\":%lld}", (long long)sid);
	ck_assert_uint_eq(req("POST", "/v1/machines", url), 201);
	ck_assert_uint_eq(req("POST", "/v1/machines/c/commands",
			      "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}"),
			  200);
	h1 = state_hash("s", &seq1);
	c1 = state_hash("c", NULL);
	ck_assert_int_eq(seq1, 5);

	close_all();
	open_all();

	h2 = state_hash("s", &seq2);
	c2 = state_hash("c", NULL);
	ck_assert_str_eq(h1, h2);
	ck_assert_str_eq(c1, c2);
	ck_assert_int_eq(seq2, seq1);
	ck_assert_uint_eq(req("POST", "/v1/machines/s/commands", "{\"op\":\"flush_tlb\"}"), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "seq")), 6);
	free(h1);
	free(h2);
	free(c1);
	free(c2);
}
END_TEST

/*
 * The acceptance test of the transaction: the disk fills up (SQLite's SQLITE_FULL, through
 * store_limit_size()) while a batch of a thousand commands is committed. The answer says what
 * happened, nothing of the batch is journaled, and the machine is the one its journal
 * rebuilds: the same state hash as before the batch, as after a restart; then, with room again,
 * the machine goes on from there.
 */
START_TEST(journal_full_disk)
{
	char *h0, *h1, *h2;
	json_int_t seq0, seq1, seq2;
	struct mm_error err = {0};
	size_t len = 128 + 2 * 65536 + 1000 * 64, off = 0;
	char *batch = malloc(len);

	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"name\":\"f\",\"mem\":\"256M\"}"), 201);
	ck_assert_uint_eq(
		req("POST", "/v1/machines/f/commands",
		    "[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":3},"
		    "{\"op\":\"set_sysctl\",\"name\":\"min_free_kbytes\",\"value\":2000}]"),
		200);
	h0 = state_hash("f", &seq0);
	ck_assert_int_eq(seq0, 2);

	/* 64 KiB of random bytes first: the batch needs new pages however it is stored
	 * (schema/005: a large batch is compressed; a thousand alloc_pages alone would fit in
	 * the free space of a page) */
	off += (size_t)snprintf(batch + off, len - off,
				"[{\"op\":\"memory_write\",\"space\":\"phys\",\"addr\":"
				"\"0x8000000\",\"data\":\"");
	srand(15);
	for (int i = 0; i < 65536; i++)
		off += (size_t)snprintf(batch + off, len - off, "%02x", (unsigned)rand() & 0xff);
	off += (size_t)snprintf(batch + off, len - off, "\"}");
	for (int i = 1; i < 1000; i++)
		off += (size_t)snprintf(batch + off, len - off,
					",{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}");
	snprintf(batch + off, len - off, "]");
	ck_assert_msg(store_limit_size(st, 0, &err) == 0, "%s", err.msg);
	/* a full disk, like max-db-size: 507 Insufficient Storage */
	ck_assert_uint_eq(req("POST", "/v1/machines/f/commands", batch), 507);
	ck_assert_str_eq(json_string_value(json_object_get(rep.json, "type")),
			 "https://mm32.dev/problems/over-capacity");
	ck_assert_msg(strstr(json_string_value(json_object_get(rep.json, "detail")),
			     "database or disk is full") != NULL,
		      "%s", json_string_value(json_object_get(rep.json, "detail")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(rep.json, "detail")),
				     "1000 command(s) were not journaled and are undone"));
	check_all_machines();
	h1 = state_hash("f", &seq1);
	ck_assert_str_eq(h1, h0);
	ck_assert_int_eq(seq1, seq0);
	ck_assert_uint_eq(req("GET", "/v1/machines/f/journal", NULL), 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "entries")), 2);

	/* what a restart rebuilds is that machine too */
	ck_assert_int_eq(store_limit_size(st, -1, &err), 0);
	close_all();
	open_all();
	h2 = state_hash("f", &seq2);
	ck_assert_str_eq(h2, h0);
	check_all_machines();
	ck_assert_int_eq(seq2, seq0);
	ck_assert_uint_eq(req("POST", "/v1/machines/f/commands", batch), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_array_get(json_object_get(rep.json, "results"), 0), "seq")),
			 3);
	free(batch);
	free(h0);
	free(h1);
	free(h2);
}
END_TEST

/* A snapshot by a job: 202, then the job says done with the snapshot; the machine goes on. */
START_TEST(snapshot_job)
{
	char *h, url[64];
	json_int_t job;
	int i;

	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"name\":\"j\",\"mem\":\"256M\"}"), 201);
	h = state_hash("j", NULL);
	ck_assert_uint_eq(req("POST", "/v1/machines/j/snapshots", "{\"async\":true}"), 202);
	job = json_integer_value(json_object_get(rep.json, "id"));
	snprintf(url, sizeof(url), "/v1/jobs/%lld", (long long)job);
	ck_assert_str_eq(rep.location, url);
	for (i = 0; i < 2000; i++) {
		ck_assert_uint_eq(req("GET", url, NULL), 200);
		if (strcmp(json_string_value(json_object_get(rep.json, "state")), "running"))
			break;
		usleep(1000);
	}
	ck_assert_str_eq(json_string_value(json_object_get(rep.json, "state")), "done");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rep.json, "result"),
							   "state_hash")),
			 h);
	ck_assert_uint_eq(req("GET", "/v1/machines/j/snapshots", NULL), 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "snapshots")), 1);
	free(h);
}
END_TEST

/* A session exported, imported, replayed: the same state each time. */
/* An import journals each command in its canonical text, whatever the session's spelling:
 * the export of the imported session, and of its replay, hold the canonical bytes. */
START_TEST(session_import_is_canonical)
{
	static const char session[] =
		"{\"mm32_session\":1,\"config\":{\"mem\":\"64M\"}}\n"
		"{\"seq\":1,\"command\":{ \"order\" : 0, \"cpu\":0, \"gfp\":\"GFP_\\u004bERNEL\","
		"\"op\":\"alloc_pages\"},\"result\":null}\n";
	static const char canonical[] =
		"\"command\":{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":0,\"cpu\":0}";
	const char *urls[] = {"/v1/sessions/imp/journal", "/v1/sessions/rep/journal"};
	struct api_request rq = {.method = "POST",
				 .url = "/v1/sessions",
				 .body = session,
				 .body_len = sizeof(session) - 1,
				 .content_type = "application/x-ndjson"};
	struct api_query_arg name = {"name", "imp"};

	rq.query = &name;
	rq.nquery = 1;
	api_reply_finish(&rep);
	api_dispatch(&host, &rq, &rep);
	ck_assert_uint_eq(rep.status, 201);
	ck_assert_uint_eq(req("POST", "/v1/sessions/imp/replay", "{\"name\":\"rep\"}"), 201);
	for (int i = 0; i < 2; i++) {
		struct api_request g = {.method = "GET", .url = urls[i]};
		char *text;

		api_reply_finish(&rep);
		api_dispatch(&host, &g, &rep);
		ck_assert_uint_eq(rep.status, 200);
		text = strndup(rep.json_text, rep.json_text_len);
		ck_assert_msg(strstr(text, canonical) != NULL, "%s", text);
		free(text);
	}
}
END_TEST

START_TEST(session_round_trip)
{
	char *h, *text, *hi;
	struct api_request rq = {.method = "POST", .url = "/v1/sessions"};

	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"name\":\"e\",\"mem\":\"256M\"}"), 201);
	ck_assert_uint_eq(req("POST", "/v1/machines/e/commands",
			      "[{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\",\"order\":1},"
			      "{\"op\":\"set_sysctl\",\"name\":\"watermark_scale_factor\","
			      "\"value\":25}]"),
			  200);
	h = state_hash("e", NULL);
	api_reply_finish(&rep);
	{
		struct api_request g = {.method = "GET", .url = "/v1/sessions/e/journal"};

		api_dispatch(&host, &g, &rep);
	}
	ck_assert_uint_eq(rep.status, 200);
	ck_assert_str_eq(rep.content_type, "application/x-ndjson");
	text = strndup(rep.json_text, rep.json_text_len);
	rq.body = text;
	rq.body_len = strlen(text);
	rq.content_type = "application/x-ndjson";
	api_reply_finish(&rep);
	api_dispatch(&host, &rq, &rep);
	ck_assert_uint_eq(rep.status, 201);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "divergences")), 0);
	hi = state_hash(json_string_value(json_object_get(rep.json, "session")), NULL);
	ck_assert_str_eq(hi, h);
	free(hi);
	ck_assert_uint_eq(req("POST", "/v1/sessions/e/replay", "{\"verify\":true}"), 201);
	ck_assert_int_eq(json_integer_value(json_object_get(rep.json, "divergences")), 0);
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(rep.json, "state_hash"), "hash")),
		h);
	free(text);
	free(h);
}
END_TEST

/* A snapshot the store holds corrupt, or in another format version: the restore is refused
 * saying why and changes nothing; a restart skips such a snapshot for the whole journal. */
START_TEST(bad_snapshots_refused)
{
	char *h0, *h1, *h2, url[300];
	json_int_t sid;
	sqlite3 *db;

	ck_assert_uint_eq(req("POST", "/v1/machines", "{\"name\":\"b\",\"mem\":\"256M\"}"), 201);
	ck_assert_uint_eq(
		req("POST", "/v1/machines/b/commands",
		    "{\"op\":\"memory_write\",\"addr\":\"0x8000000\",\"data\":\"0123456789\","
		    "\"space\":\"phys\"}"),
		200);
	h0 = state_hash("b", NULL);
	ck_assert_uint_eq(req("POST", "/v1/machines/b/snapshots", NULL), 201);
	sid = json_integer_value(json_object_get(rep.json, "id"));
	ck_assert_uint_eq(req("POST", "/v1/machines/b/commands",
			      "{\"op\":\"alloc_pages\",\"gfp\":\"GFP_KERNEL\"}"),
			  200);
	h1 = state_hash("b", NULL);
	snprintf(url, sizeof(url), "/v1/machines/b/snapshots/%lld/restore", (long long)sid);

	/* every frame of the store, rewritten with other bytes: the state hash says so */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	/* the frames are in a file of their own beside it (store.c) */
	snprintf(url, sizeof(url), "ATTACH DATABASE '%s.frames' AS fr", path);
	ck_assert_int_eq(sqlite3_exec(db, url, NULL, NULL, NULL), SQLITE_OK);
	snprintf(url, sizeof(url), "/v1/machines/b/snapshots/%lld/restore", (long long)sid);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE frames SET data = zeroblob(4095) || x'01'", NULL,
				      NULL, NULL),
			 SQLITE_OK);
	ck_assert_uint_eq(req("POST", url, NULL), 500);
	ck_assert_ptr_nonnull(
		strstr(json_string_value(json_object_get(rep.json, "detail")), "corrupt"));
	h2 = state_hash("b", NULL);
	ck_assert_str_eq(h2, h1);
	free(h2);

	/* another format version: refused with what to do */
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE snapshots SET format = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_uint_eq(req("POST", url, NULL), 422);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(rep.json, "detail")),
				     "format version 99"));
	ck_assert_uint_eq(req("GET", "/v1/machines/b/journal", NULL), 200);
	ck_assert_uint_eq(json_array_size(json_object_get(rep.json, "entries")), 2);

	/* a restart does not use it: the machine comes back from its configuration and journal */
	close_all();
	open_all();
	h2 = state_hash("b", NULL);
	ck_assert_str_eq(h2, h1);
	ck_assert_str_ne(h2, h0);
	free(h0);
	free(h1);
	free(h2);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */

Suite *test_suite(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("registry");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, names_are_generated_first_free);
	tcase_add_test(tc, replay_restores_state);
	tcase_add_test(tc, replay_restores_allocations);
	tcase_add_test(tc, replay_restores_paging);
	tcase_add_test(tc, delete_forgets_journal);
	tcase_add_test(tc, registry_add_and_list_sorted);
	tcase_add_test(tc, restart_from_snapshot);
	tcase_add_test(tc, journal_full_disk);
	tcase_add_test(tc, snapshot_job);
	tcase_add_test(tc, session_round_trip);
	tcase_add_test(tc, session_import_is_canonical);
	tcase_add_test(tc, bad_snapshots_refused);
	suite_add_tcase(s, tc);
	return s;
}
