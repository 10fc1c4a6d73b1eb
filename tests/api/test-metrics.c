/* SPDX-License-Identifier: MIT */
/*
 * test-metrics.c - GET /metrics: node_exporter's names and values from a real machine's
 * /proc text, one HELP and TYPE per family whatever the number of machines, machines
 * stopped early in boot left out, request counters and cumulative histograms.
 * (The service suite parses the real daemon's answer with python3-prometheus-client.)
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "problem.h"

/* ---- a host of machines, some stopped before the buddy allocator ---------------------------- */

#define NMACH 3
static struct mm_machine *mach[NMACH];
static const char *const ids[NMACH] = {"a", "early", "b"};
static int acquired;

static int fake_ids(void *data, json_t **ret, struct mm_error *err)
{
	*ret = json_array();
	for (int i = 0; i < NMACH; i++)
		json_array_append_new(*ret, json_string(ids[i]));
	return 0;
}

static int fake_acquire(void *data, const char *id, struct api_lease *ret, struct mm_error *err)
{
	for (int i = 0; i < NMACH; i++) {
		if (!strcmp(ids[i], id)) {
			*ret = (struct api_lease){.id = ids[i], .m = mach[i]};
			acquired++;
			return 0;
		}
	}
	return api_error(err, -ENOENT, "no machine '%s'", id);
}

static void fake_release(void *data, struct api_lease *lease)
{
	acquired--;
}

static const struct api_host_ops fake_ops = {
	.machine_ids = fake_ids,
	.machine_acquire = fake_acquire,
	.machine_release = fake_release,
};

static void setup(void)
{
	struct mm_config *cfg = malloc(sizeof(*cfg));
	struct mm_error err = {0};

	for (int i = 0; i < NMACH; i++) {
		mm_config_init(cfg, false);
		cfg->mem = (i == 2 ? 256ULL : 1024ULL) << 20;
		if (i == 1)
			cfg->stop_after = MM_PHASE_MEMBLOCK;
		ck_assert_msg(mm_machine_create(cfg, &mach[i], &err) == 0, "%s", err.msg);
	}
	free(cfg);
}

static void teardown(void)
{
	for (int i = 0; i < NMACH; i++)
		mm_machine_destroy(mach[i]);
}

static char *proc(int i, const char *file)
{
	struct mm_buf b = {0};
	struct mm_error err = {0};
	char *s;

	ck_assert_int_eq(mm_proc_render(mach[i], file, &b, &err), 0);
	s = strndup(b.data, b.len);
	mm_buf_free(&b);
	return s;
}

/* The value of the sample line that starts with @prefix (name and labels), or -1. */
static long long sample(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	}
	return -1;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Every family once: "# HELP x" and "# TYPE x" exactly once for each name that has them,
 * and every sample line after its family's TYPE. */
static void assert_well_formed(const char *text)
{
	char name[160], seen_type[64][160] = {{0}};
	int ntypes = 0;

	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t len;

		ck_assert_ptr_nonnull(e);
		len = (size_t)(e - p);
		if (!strncmp(p, "# TYPE ", 7)) {
			sscanf(p + 7, "%159s", name);
			for (int i = 0; i < ntypes && i < 64; i++)
				ck_assert_msg(strcmp(seen_type[i], name), "TYPE %s twice", name);
			if (ntypes < 64)
				snprintf(seen_type[ntypes++], sizeof(seen_type[0]), "%s", name);
		} else if (p[0] != '#') {
			ck_assert_msg(len > 2 && memchr(p, ' ', len), "bad line %.*s", (int)len, p);
		}
		p = e + 1;
	}
}

START_TEST(node_exporter_names)
{
	char *bi = proc(0, "buddyinfo"), *zi = proc(0, "zoneinfo"), *mi = proc(0, "meminfo");
	struct api_text t = {0};
	struct mm_error err = {0};
	unsigned long long normal[11], kb;
	char zone[32], *line;
	int node;

	ck_assert_int_eq(api_metrics_from_proc("a", bi, zi, mi, &t, &err), 0);
	api_text_put(&t, "", 1);
	assert_well_formed(t.data);

	/* buddyinfo: every order of every zone */
	line = strstr(bi, "zone   Normal");
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line - 8,
				"Node %d, zone %31s %llu %llu %llu %llu %llu %llu %llu %llu %llu "
				"%llu %llu",
				&node, zone, &normal[0], &normal[1], &normal[2], &normal[3],
				&normal[4], &normal[5], &normal[6], &normal[7], &normal[8],
				&normal[9], &normal[10]),
			 13);
	for (int o = 0; o < 11; o++) {
		char key[128];

		snprintf(key, sizeof(key),
			 "node_buddyinfo_blocks{machine=\"a\",node=\"0\",zone=\"Normal\",size=\"%"
			 "d\"}",
			 o);
		ck_assert_int_eq(sample(t.data, key), (long long)normal[o]);
	}
	ck_assert_int_eq(count(t.data, "node_buddyinfo_blocks{"), 3 * 11);

	/* zoneinfo: the watermarks, spans, protection, free pages of a zone */
	ck_assert_int_eq(
		sample(t.data, "node_zoneinfo_min_pages{machine=\"a\",node=\"0\",zone=\"Normal\"}"),
		10595);
	ck_assert_int_eq(
		sample(t.data, "node_zoneinfo_low_pages{machine=\"a\",node=\"0\",zone=\"Normal\"}"),
		13243);
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_high_pages{machine=\"a\",node=\"0\","
					"zone=\"Normal\"}"),
			 15891);
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_spanned_pages{machine=\"a\",node=\"0\","
					"zone=\"DMA\"}"),
			 4095);
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_present_pages{machine=\"a\",node=\"0\","
					"zone=\"DMA\"}"),
			 3998);
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_managed_pages{machine=\"a\",node=\"0\","
					"zone=\"DMA\"}"),
			 3840);
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_protection_1{machine=\"a\",node=\"0\","
					"zone=\"DMA\"}"),
			 833);
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_protection_3{machine=\"a\",node=\"0\","
					"zone=\"Normal\"}"),
			 1183);
	ck_assert_int_gt(sample(t.data, "node_zoneinfo_nr_free_pages{machine=\"a\",node=\"0\","
					"zone=\"Normal\"}"),
			 200000);
	/* an empty zone has its watermarks but no vm stats, as in the kernel's text */
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_spanned_pages{machine=\"a\",node=\"0\","
					"zone=\"Movable\"}"),
			 0);
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_nr_free_pages{machine=\"a\",node=\"0\","
					"zone=\"Movable\"}"),
			 -1);
	/* the per-node stats count in the node's first zone; counters end in _total */
	ck_assert_int_eq(sample(t.data, "node_zoneinfo_nr_dirtied_total{machine=\"a\",node=\"0\","
					"zone=\"DMA\"}"),
			 0);
	ck_assert_ptr_nonnull(strstr(t.data, "# TYPE node_zoneinfo_nr_dirtied_total counter\n"));
	ck_assert_ptr_nonnull(strstr(t.data, "# TYPE node_zoneinfo_min_pages gauge\n"));
	/* pagesets' "high:" is not the watermark */
	ck_assert_int_eq(count(t.data, "node_zoneinfo_high_pages{"), 4);

	/* meminfo: kB -> bytes, "(anon)" -> "_anon", no unit -> no _bytes */
	ck_assert_int_eq(sscanf(strstr(mi, "MemTotal:"), "MemTotal: %llu kB", &kb), 1);
	ck_assert_int_eq(sample(t.data, "node_memory_MemTotal_bytes{machine=\"a\"}"),
			 (long long)kb * 1024);
	ck_assert_int_eq(sample(t.data, "node_memory_Active_anon_bytes{machine=\"a\"}"), 0);
	ck_assert_int_eq(sample(t.data, "node_memory_HugePages_Total{machine=\"a\"}"), 0);
	ck_assert_int_eq(sample(t.data, "node_memory_Hugepagesize_bytes{machine=\"a\"}"),
			 4096 * 1024);
	ck_assert_ptr_nonnull(strstr(t.data, "# TYPE node_memory_MemFree_bytes gauge\n"));

	api_text_free(&t);
	free(bi);
	free(zi);
	free(mi);
}
END_TEST

START_TEST(bad_text)
{
	struct api_text t = {0};
	struct mm_error err = {0};

	ck_assert_int_eq(api_metrics_from_proc("a", "what\n", "", "", &t, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "buddyinfo"));
	ck_assert_int_eq(api_metrics_from_proc("a", "", "", "MemTotal: 12 MB\n", &t, &err),
			 -EINVAL);
	ck_assert_int_eq(api_metrics_from_proc("a", "", "Node x\n", "", &t, &err), -EINVAL);
	api_text_free(&t);
}
END_TEST

START_TEST(label_values_escaped)
{
	struct api_text t = {0};
	struct mm_error err = {0};

	ck_assert_int_eq(api_metrics_from_proc("q\"b\\", "", "", "MemTotal: 1 kB\n", &t, &err), 0);
	api_text_put(&t, "", 1);
	ck_assert_ptr_nonnull(
		strstr(t.data, "node_memory_MemTotal_bytes{machine=\"q\\\"b\\\\\"} 1024\n"));
	api_text_free(&t);
}
END_TEST

START_TEST(every_machine_once)
{
	struct api_host host = {.ops = &fake_ops};
	struct api_metrics *m;
	struct api_text t = {0};
	struct mm_error err = {0};

	ck_assert_int_eq(api_metrics_create(&m), 0);
	ck_assert_int_eq(api_metrics_render(&host, m, &t, &err), 0);
	ck_assert_int_eq(acquired, 0); /* every lease was given back */
	api_text_put(&t, "", 1);
	assert_well_formed(t.data);
	ck_assert_int_eq(count(t.data, "# TYPE node_zoneinfo_min_pages gauge\n"), 1);
	ck_assert_int_eq(sample(t.data, "mm32_machines"), 3);
	/* "early" stopped after memblock: no /proc files, no series */
	ck_assert_ptr_null(strstr(t.data, "machine=\"early\""));
	ck_assert_int_eq(count(t.data, "node_memory_MemTotal_bytes{"), 2);
	ck_assert_int_gt(sample(t.data, "node_memory_MemTotal_bytes{machine=\"b\"}"), 0);
	ck_assert_int_gt(sample(t.data, "node_memory_MemTotal_bytes{machine=\"a\"}"),
			 sample(t.data, "node_memory_MemTotal_bytes{machine=\"b\"}"));
	ck_assert_ptr_nonnull(strstr(t.data, "mm32_build_info{version=\""));
	api_text_free(&t);
	api_metrics_destroy(m);
}
END_TEST

START_TEST(requests)
{
	struct api_host host = {.ops = &fake_ops};
	struct api_metrics *m;
	struct api_text t = {0};
	struct mm_error err = {0};

	ck_assert_int_eq(api_metrics_create(&m), 0);
	api_metrics_observe(m, "v1/machines", "GET", 200, 0.0002);
	api_metrics_observe(m, "v1/machines", "GET", 200, 0.003);
	api_metrics_observe(m, "v1/machines", "GET", 404, 20);
	api_metrics_observe(m, NULL, "BREW", 401, 0.001);
	api_metrics_connection(m, 1);
	api_metrics_connection(m, 1);
	api_metrics_connection(m, -1);
	api_metrics_refused(m);
	ck_assert_int_eq(api_metrics_render(&host, m, &t, &err), 0);
	api_text_put(&t, "", 1);
	assert_well_formed(t.data);
	ck_assert_int_eq(sample(t.data, "mm32_http_requests_total{route=\"/v1/machines\","
					"method=\"GET\",code=\"200\"}"),
			 2);
	ck_assert_int_eq(sample(t.data, "mm32_http_requests_total{route=\"/v1/machines\","
					"method=\"GET\",code=\"404\"}"),
			 1);
	/* unknown methods and unrouted requests get fixed label values */
	ck_assert_int_eq(sample(t.data, "mm32_http_requests_total{route=\"other\","
					"method=\"other\",code=\"401\"}"),
			 1);
	/* buckets are cumulative and end with +Inf = count */
	ck_assert_int_eq(sample(t.data, "mm32_http_request_duration_seconds_bucket{route=\"/v1/"
					"machines\",method=\"GET\",le=\"0.0005\"}"),
			 1);
	ck_assert_int_eq(sample(t.data, "mm32_http_request_duration_seconds_bucket{route=\"/v1/"
					"machines\",method=\"GET\",le=\"0.005\"}"),
			 2);
	ck_assert_int_eq(sample(t.data, "mm32_http_request_duration_seconds_bucket{route=\"/v1/"
					"machines\",method=\"GET\",le=\"10\"}"),
			 2);
	ck_assert_int_eq(sample(t.data, "mm32_http_request_duration_seconds_bucket{route=\"/v1/"
					"machines\",method=\"GET\",le=\"+Inf\"}"),
			 3);
	ck_assert_int_eq(sample(t.data, "mm32_http_request_duration_seconds_count{route=\"/v1/"
					"machines\",method=\"GET\"}"),
			 3);
	ck_assert_ptr_nonnull(strstr(t.data, "mm32_http_request_duration_seconds_sum{route=\"/v1/"
					     "machines\",method=\"GET\"} 20.0032"));
	ck_assert_ptr_nonnull(
		strstr(t.data, "# TYPE mm32_http_request_duration_seconds histogram\n"));
	ck_assert_int_eq(sample(t.data, "mm32_http_connections"), 1);
	ck_assert_int_eq(sample(t.data, "mm32_http_connections_refused_total"), 1);
	api_text_free(&t);
	api_metrics_destroy(m);
}
END_TEST

Suite *test_suite(void); /* called by tests/check-main.c */
Suite *test_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, node_exporter_names);
	tcase_add_test(tc, bad_text);
	tcase_add_test(tc, label_values_escaped);
	tcase_add_test(tc, every_machine_once);
	tcase_add_test(tc, requests);
	suite_add_tcase(s, tc);
	return s;
}
