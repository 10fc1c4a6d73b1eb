/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - the Prometheus exposition of GET /metrics (see metrics.h).
 *
 * The node_exporter part reads the kernel's text the way node_exporter's collectors do
 * (through github.com/prometheus/procfs): buddyinfo line by line; zoneinfo in blocks that
 * start at "Node N, zone NAME", one value per known key, "protection: (a, b, ...)" as
 * protection_0.., the "per-node stats" lines counted in the block they are printed in (the
 * node's first zone); meminfo as "Key: value [kB]", "(x)" in a key becoming "_x", values
 * in kB multiplied by 1024 and named ..._bytes.
 *
 * Samples are gathered per metric family, in the order the families first appear, so that
 * every family is written once, with its HELP and TYPE, whatever the number of machines.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#include "metrics.h"
#include "problem.h"

/* ---- families of samples ------------------------------------------------------------------ */

struct family {
	char name[128];
	char help[192];
	const char *type; /* "gauge", "counter", "histogram" */
	struct api_text samples;
};

struct families {
	struct family *v;
	size_t n, cap;
	bool oom;
};

static void families_free(struct families *f)
{
	for (size_t i = 0; i < f->n; i++)
		api_text_free(&f->v[i].samples);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

/* The family @name, created with @type and @help when new; NULL when out of memory. */
static struct family *family_get(struct families *f, const char *name, const char *type,
				 const char *help)
{
	struct family *fam;

	for (size_t i = f->n; i-- > 0;)
		if (!strcmp(f->v[i].name, name))
			return &f->v[i];
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		struct family *v = realloc(f->v, cap * sizeof(*v));

		if (!v) {
			f->oom = true;
			return NULL;
		}
		f->v = v;
		f->cap = cap;
	}
	fam = &f->v[f->n++];
	memset(fam, 0, sizeof(*fam));
	snprintf(fam->name, sizeof(fam->name), "%s", name);
	snprintf(fam->help, sizeof(fam->help), "%s", help);
	fam->type = type;
	return fam;
}

/* A label value, escaped as the text format wants (backslash, quote, newline). */
static void put_label(struct api_text *t, bool first, const char *key, const char *value)
{
	api_text_puts(t, first ? "{" : ",");
	api_text_puts(t, key);
	api_text_puts(t, "=\"");
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			api_text_puts(t, "\\\\");
		else if (*p == '"')
			api_text_puts(t, "\\\"");
		else if (*p == '\n')
			api_text_puts(t, "\\n");
		else
			api_text_put(t, p, 1);
	}
	api_text_puts(t, "\"");
}

/* "name{k1="v1",...} value\n"; @labels: key, value pairs, NULL-terminated. */
static void put_sample(struct api_text *t, const char *name, const char *const *labels,
		       const char *value)
{
	api_text_puts(t, name);
	for (size_t i = 0; labels && labels[i]; i += 2)
		put_label(t, i == 0, labels[i], labels[i + 1]);
	if (labels && labels[0])
		api_text_puts(t, "}");
	api_text_puts(t, " ");
	api_text_puts(t, value);
	api_text_puts(t, "\n");
}

static void add_int(struct families *f, const char *name, const char *type, const char *help,
		    const char *const *labels, long long v)
{
	struct family *fam = family_get(f, name, type, help);
	char buf[32];

	if (!fam)
		return;
	snprintf(buf, sizeof(buf), "%lld", v);
	put_sample(&fam->samples, name, labels, buf);
}

static int families_write(struct families *f, struct api_text *out)
{
	for (size_t i = 0; i < f->n; i++) {
		struct family *fam = &f->v[i];

		if (fam->samples.oom)
			f->oom = true;
		api_text_puts(out, "# HELP ");
		api_text_puts(out, fam->name);
		api_text_puts(out, " ");
		api_text_puts(out, fam->help);
		api_text_puts(out, "\n# TYPE ");
		api_text_puts(out, fam->name);
		api_text_puts(out, " ");
		api_text_puts(out, fam->type);
		api_text_puts(out, "\n");
		if (fam->samples.len)
			api_text_put(out, fam->samples.data, fam->samples.len);
	}
	return f->oom || out->oom ? -ENOMEM : 0;
}

/* ---- the kernel's text ---------------------------------------------------------------------- */

/* The next line of @text (without '\n') into @line; false at the end. */
static bool next_line(const char **pos, const char *end, char *line, size_t size)
{
	const char *p = *pos, *nl;
	size_t n;

	if (!p || p >= end)
		return false;
	nl = memchr(p, '\n', (size_t)(end - p));
	n = (size_t)((nl ? nl : end) - p);
	if (n >= size)
		n = size - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	*pos = nl ? nl + 1 : end;
	return true;
}

/* "Node 0, zone   Normal ..." -> "0", "Normal"; the rest of the line in *@rest. */
static bool parse_node_zone(const char *line, char node[16], char zone[32], const char **rest)
{
	int n = 0, nd;

	if (sscanf(line, "Node %d, zone %31s%n", &nd, zone, &n) != 2 || n == 0)
		return false;
	snprintf(node, 16, "%d", nd);
	*rest = line + n;
	return true;
}

/* node_exporter's buddyinfo collector: node_buddyinfo_blocks{node,zone,size}. */
static int from_buddyinfo(struct families *f, const char *machine, const char *text, size_t len,
			  struct mm_error *err)
{
	const char *pos = text, *end = text + len;
	char line[512];

	if (!text)
		return 0;
	while (next_line(&pos, end, line, sizeof(line))) {
		char node[16], zone[32], size[16];
		const char *p;

		if (!line[0])
			continue;
		if (!parse_node_zone(line, node, zone, &p))
			return api_error(err, -EINVAL, "buddyinfo: unexpected line '%.64s'", line);
		for (unsigned int order = 0;; order++) {
			const char *labels[] = {"machine", machine, "node", node, "zone",
						zone,	   "size",  size,   NULL};
			char *e;
			long long v;

			p += strspn(p, " \t");
			if (!*p)
				break;
			v = strtoll(p, &e, 10);
			if (e == p)
				return api_error(err, -EINVAL, "buddyinfo: bad count in '%.64s'",
						 line);
			p = e;
			snprintf(size, sizeof(size), "%u", order);
			add_int(f, "node_buddyinfo_blocks", "gauge",
				"Free blocks of 2^size pages in the zone's buddy free lists.",
				labels, v);
		}
	}
	return 0;
}

/* The keys node_exporter's zoneinfo collector exports, and their metric names. */
static const struct zoneinfo_key {
	const char *key;
	const char *metric; /* after node_zoneinfo_ */
	bool counter;
	const char *help;
} zoneinfo_keys[] = {
	{"nr_free_pages", "nr_free_pages", false, "Free pages in the zone."},
	{"min", "min_pages", false, "The zone's min watermark, in pages."},
	{"low", "low_pages", false, "The zone's low watermark, in pages."},
	{"high", "high_pages", false, "The zone's high watermark, in pages."},
	{"scanned", "scanned_pages", false, "Pages scanned since the last reclaim."},
	{"spanned", "spanned_pages", false, "Pages the zone spans, holes included."},
	{"present", "present_pages", false, "Pages of RAM in the zone."},
	{"managed", "managed_pages", false, "Present pages the buddy allocator manages."},
	{"nr_active_anon", "nr_active_anon_pages", false, "Anonymous pages on the active list."},
	{"nr_inactive_anon", "nr_inactive_anon_pages", false,
	 "Anonymous pages on the inactive list."},
	{"nr_isolated_anon", "nr_isolated_anon_pages", false,
	 "Anonymous pages isolated from the LRU."},
	{"nr_anon_pages", "nr_anon_pages", false, "Anonymous pages mapped."},
	{"nr_anon_transparent_hugepages", "nr_anon_transparent_hugepages", false,
	 "Anonymous transparent huge pages."},
	{"nr_active_file", "nr_active_file_pages", false, "File pages on the active list."},
	{"nr_inactive_file", "nr_inactive_file_pages", false, "File pages on the inactive list."},
	{"nr_isolated_file", "nr_isolated_file_pages", false, "File pages isolated from the LRU."},
	{"nr_file_pages", "nr_file_pages", false, "Pages of the page cache."},
	{"nr_slab_reclaimable", "nr_slab_reclaimable_pages", false, "Reclaimable slab pages."},
	{"nr_slab_unreclaimable", "nr_slab_unreclaimable_pages", false,
	 "Unreclaimable slab pages."},
	{"nr_mlock_stack", "nr_mlock_stack_pages", false, "mlock()ed pages taken off the LRU."},
	{"nr_kernel_stack", "nr_kernel_stacks", false, "Kernel stacks."},
	{"nr_mapped", "nr_mapped_pages", false, "Mapped pages."},
	{"nr_dirty", "nr_dirty_pages", false, "Dirty pages."},
	{"nr_writeback", "nr_writeback_pages", false, "Pages under writeback."},
	{"nr_unevictable", "nr_unevictable_pages", false, "Unevictable pages."},
	{"nr_shmem", "nr_shmem_pages", false, "Shared memory pages (tmpfs included)."},
	{"nr_dirtied", "nr_dirtied_total", true, "Pages dirtied since boot."},
	{"nr_written", "nr_written_total", true, "Pages written since boot."},
	{"numa_hit", "numa_hit_total", true, "Allocations on the intended node."},
	{"numa_miss", "numa_miss_total", true, "Allocations on another node than intended."},
	{"numa_foreign", "numa_foreign_total", true, "Allocations intended here, made elsewhere."},
	{"numa_interleave", "numa_interleave_total", true, "Interleaved allocations."},
	{"numa_local", "numa_local_total", true, "Allocations from the local node."},
	{"numa_other", "numa_other_total", true, "Allocations from another node."},
};

#define NZONEINFO_KEYS (sizeof(zoneinfo_keys) / sizeof(zoneinfo_keys[0]))

static int zoneinfo_protection(struct families *f, const char *const *labels, const char *line,
			       struct mm_error *err)
{
	const char *p = strchr(line, '(');

	if (!p)
		return api_error(err, -EINVAL, "zoneinfo: bad protection line '%.64s'", line);
	p++;
	for (unsigned int i = 0; i < 16; i++) {
		char name[64], help[128], *e;
		long long v;

		p += strspn(p, " ,");
		if (*p == ')' || !*p)
			break;
		v = strtoll(p, &e, 10);
		if (e == p)
			return api_error(err, -EINVAL, "zoneinfo: bad protection line '%.64s'",
					 line);
		p = e;
		snprintf(name, sizeof(name), "node_zoneinfo_protection_%u", i);
		snprintf(help, sizeof(help),
			 "Pages the zone keeps from allocations that may also use zone %u "
			 "(lowmem_reserve).",
			 i);
		add_int(f, name, "gauge", help, labels, v);
	}
	return 0;
}

/* node_exporter's zoneinfo collector: node_zoneinfo_*{node,zone}. */
static int from_zoneinfo(struct families *f, const char *machine, const char *text, size_t len,
			 struct mm_error *err)
{
	const char *pos = text, *end = text + len;
	char line[512], node[16] = "", zone[32] = "";
	const char *labels[] = {"machine", machine, "node", node, "zone", zone, NULL};
	uint64_t seen = 0;
	bool in_zone = false, protection_seen = false;
	int r;

	_Static_assert(NZONEINFO_KEYS <= 64, "seen is a 64-bit mask");
	while (next_line(&pos, end, line, sizeof(line))) {
		const char *p = line + strspn(line, " \t"), *rest;
		char key[64];
		long long v;
		size_t klen;
		char *e;

		if (!strncmp(line, "Node ", 5)) {
			if (!parse_node_zone(line, node, zone, &rest))
				return api_error(err, -EINVAL, "zoneinfo: unexpected line '%.64s'",
						 line);
			in_zone = true;
			seen = 0;
			protection_seen = false;
			continue;
		}
		if (!in_zone || !*p || !strncmp(p, "per-node stats", 14))
			continue;
		klen = strcspn(p, " \t");
		if (klen >= sizeof(key))
			continue;
		memcpy(key, p, klen);
		key[klen] = '\0';
		if (!strcmp(key, "protection:")) {
			if (protection_seen)
				continue;
			protection_seen = true;
			r = zoneinfo_protection(f, labels, p, err);
			if (r < 0)
				return r;
			continue;
		}
		for (size_t i = 0; i < NZONEINFO_KEYS; i++) {
			char name[96];

			if (strcmp(zoneinfo_keys[i].key, key))
				continue;
			p += klen;
			p += strspn(p, " \t");
			v = strtoll(p, &e, 10);
			if (e == p || (seen >> i) & 1)
				break;
			seen |= 1ULL << i;
			snprintf(name, sizeof(name), "node_zoneinfo_%s", zoneinfo_keys[i].metric);
			add_int(f, name, zoneinfo_keys[i].counter ? "counter" : "gauge",
				zoneinfo_keys[i].help, labels, v);
			break;
		}
	}
	return 0;
}

/* node_exporter's meminfo collector: node_memory_<Field>_bytes, or node_memory_<Field>. */
static int from_meminfo(struct families *f, const char *machine, const char *text, size_t len,
			struct mm_error *err)
{
	const char *pos = text, *end = text + len;
	const char *labels[] = {"machine", machine, NULL};
	char line[512];

	while (next_line(&pos, end, line, sizeof(line))) {
		char key[96], name[160], help[192];
		const char *colon = strchr(line, ':'), *p;
		long long v;
		size_t k = 0;
		char *e;
		bool kb;

		if (!line[0])
			continue;
		if (!colon || colon == line || (size_t)(colon - line) >= sizeof(key) - 8)
			return api_error(err, -EINVAL, "meminfo: unexpected line '%.64s'", line);
		/* "Active(anon)" -> "Active_anon" */
		for (p = line; p < colon; p++) {
			if (*p == '(')
				key[k++] = '_';
			else if (*p != ')')
				key[k++] = *p;
		}
		key[k] = '\0';
		if (strspn(key,
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != k)
			continue; /* no metric name can carry it */
		p = colon + 1;
		v = strtoll(p, &e, 10);
		if (e == p)
			return api_error(err, -EINVAL, "meminfo: bad value in '%.64s'", line);
		e += strspn(e, " \t");
		kb = !strcmp(e, "kB");
		if (!kb && *e)
			return api_error(err, -EINVAL, "meminfo: unknown unit in '%.64s'", line);
		snprintf(name, sizeof(name), "node_memory_%s%s", key, kb ? "_bytes" : "");
		snprintf(help, sizeof(help), "%.*s of /proc/meminfo%s.", (int)(colon - line), line,
			 kb ? ", in bytes" : "");
		k = strlen(name);
		add_int(f, name, k > 6 && !strcmp(name + k - 6, "_total") ? "counter" : "gauge",
			help, labels, kb ? v * 1024 : v);
	}
	return 0;
}

static int from_proc(struct families *f, const char *machine, const char *bi, size_t bilen,
		     const char *zi, size_t zilen, const char *mi, size_t milen,
		     struct mm_error *err)
{
	int r = from_buddyinfo(f, machine, bi, bilen, err);

	if (r == 0)
		r = from_zoneinfo(f, machine, zi, zilen, err);
	if (r == 0)
		r = from_meminfo(f, machine, mi, milen, err);
	if (r == 0 && f->oom)
		r = api_error(err, -ENOMEM, "out of memory building the metrics");
	return r;
}

int api_metrics_from_proc(const char *machine, const char *buddyinfo, const char *zoneinfo,
			  const char *meminfo, struct api_text *out, struct mm_error *err)
{
	struct families f = {0};
	int r = from_proc(&f, machine, buddyinfo, strlen(buddyinfo), zoneinfo, strlen(zoneinfo),
			  meminfo, strlen(meminfo), err);

	if (r == 0 && families_write(&f, out) < 0)
		r = api_error(err, -ENOMEM, "out of memory building the metrics");
	families_free(&f);
	return r;
}

/* ---- requests ----------------------------------------------------------------------------- */

static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					0.1,	0.25,  0.5,    1,     2.5,  5,	   10};
#define NBOUNDS (sizeof(latency_bounds) / sizeof(latency_bounds[0]))
#define MAX_SERIES 2048 /* beyond, requests are counted in the "other" route */

struct req_count {
	const char *route; /* a pattern of the route table, or "other" */
	const char *method;
	unsigned int code;
	uint64_t n;
};

struct req_latency {
	const char *route;
	const char *method;
	uint64_t buckets[NBOUNDS]; /* not cumulative; summed when written */
	uint64_t count;
	double sum;
};

struct api_metrics {
	pthread_mutex_t lock;
	struct req_count *counts;
	size_t ncounts, capcounts;
	struct req_latency *lat;
	size_t nlat, caplat;
	long connections;
	long in_flight;
	uint64_t refused;
	uint64_t closed[API_CLOSE_NR];
};

int api_metrics_create(struct api_metrics **ret)
{
	struct api_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	*ret = m;
	return 0;
}

void api_metrics_destroy(struct api_metrics *m)
{
	if (!m)
		return;
	free(m->counts);
	free(m->lat);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* The method as a label: one of a fixed set, so that clients cannot add series. */
static const char *method_label(const char *method)
{
	static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (method && !strcmp(method, known[i]))
			return known[i];
	return "other";
}

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;
	size_t c;

	if (n < *cap)
		return true;
	if (n >= MAX_SERIES)
		return false;
	c = *cap ? *cap * 2 : 32;
	p = realloc(*v, c * size);
	if (!p)
		return false;
	*v = p;
	*cap = c;
	return true;
}

void api_metrics_observe(struct api_metrics *m, const char *route, const char *method,
			 unsigned int status, double seconds)
{
	struct req_count *c = NULL;
	struct req_latency *l = NULL;
	const char *meth = method_label(method);
	size_t i;

	if (!m)
		return;
	if (!route)
		route = "other";
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->ncounts; i++) {
		c = &m->counts[i];
		if (c->code == status && c->method == meth && !strcmp(c->route, route))
			break;
	}
	if (i == m->ncounts) {
		c = NULL;
		if (grow((void **)&m->counts, &m->capcounts, m->ncounts, sizeof(*m->counts))) {
			c = &m->counts[m->ncounts++];
			*c = (struct req_count){.route = route, .method = meth, .code = status};
		}
	}
	if (c)
		c->n++;
	for (i = 0; i < m->nlat; i++) {
		l = &m->lat[i];
		if (l->method == meth && !strcmp(l->route, route))
			break;
	}
	if (i == m->nlat) {
		l = NULL;
		if (grow((void **)&m->lat, &m->caplat, m->nlat, sizeof(*m->lat))) {
			l = &m->lat[m->nlat++];
			memset(l, 0, sizeof(*l));
			l->route = route;
			l->method = meth;
		}
	}
	if (l) {
		for (i = 0; i < NBOUNDS && seconds > latency_bounds[i]; i++)
			;
		if (i < NBOUNDS)
			l->buckets[i]++;
		l->count++;
		l->sum += seconds;
	}
	pthread_mutex_unlock(&m->lock);
}

void api_metrics_closed(struct api_metrics *m, enum api_close_reason why)
{
	if (m && why < API_CLOSE_NR)
		__atomic_add_fetch(&m->closed[why], 1, __ATOMIC_RELAXED);
}

void api_metrics_connection(struct api_metrics *m, int delta)
{
	if (m)
		__atomic_add_fetch(&m->connections, delta, __ATOMIC_RELAXED);
}

void api_metrics_refused(struct api_metrics *m)
{
	if (m)
		__atomic_add_fetch(&m->refused, 1, __ATOMIC_RELAXED);
}

void api_metrics_in_flight(struct api_metrics *m, int delta)
{
	if (m)
		__atomic_add_fetch(&m->in_flight, delta, __ATOMIC_RELAXED);
}

static void fmt_double(char *buf, size_t size, double v)
{
	snprintf(buf, size, "%.9g", v);
}

/* The pattern with a leading slash; "other" stays. */
static void route_label(char *buf, size_t size, const char *route)
{
	snprintf(buf, size, "%s%s", strcmp(route, "other") ? "/" : "", route);
}

static void from_requests(struct families *f, struct api_metrics *m)
{
	struct family *fam;
	char v[64], le[32];

	add_int(f, "mm32_http_connections", "gauge", "HTTP connections open now.", NULL,
		__atomic_load_n(&m->connections, __ATOMIC_RELAXED));
	add_int(f, "mm32_http_connections_refused_total", "counter",
		"HTTP connections closed at once because max-connections were open.", NULL,
		(long long)__atomic_load_n(&m->refused, __ATOMIC_RELAXED));
	for (int why = 0; why < API_CLOSE_NR; why++) {
		static const char *const reason[API_CLOSE_NR] = {"max-client-connections",
								 "request-timeout"};
		const char *labels[] = {"reason", reason[why], NULL};

		add_int(f, "mm32_http_connections_closed_total", "counter",
			"HTTP connections mm32d closed itself: the client had "
			"max-client-connections "
			"open, or sent a request's headers or body slower than request-timeout.",
			labels, (long long)__atomic_load_n(&m->closed[why], __ATOMIC_RELAXED));
	}
	add_int(f, "mm32_http_requests_in_flight", "gauge",
		"HTTP requests received and not yet answered.", NULL,
		__atomic_load_n(&m->in_flight, __ATOMIC_RELAXED));

	pthread_mutex_lock(&m->lock);
	fam = family_get(f, "mm32_http_requests_total", "counter",
			 "HTTP requests answered, by route, method and status code.");
	for (size_t i = 0; fam && i < m->ncounts; i++) {
		const struct req_count *c = &m->counts[i];
		char code[8], route[128];
		const char *labels[] = {"route", route, "method", c->method, "code", code, NULL};

		route_label(route, sizeof(route), c->route);
		snprintf(code, sizeof(code), "%u", c->code);
		snprintf(v, sizeof(v), "%" PRIu64, c->n);
		put_sample(&fam->samples, fam->name, labels, v);
	}
	fam = family_get(f, "mm32_http_request_duration_seconds", "histogram",
			 "Time from a request's headers to its answer, by route and method.");
	for (size_t i = 0; fam && i < m->nlat; i++) {
		const struct req_latency *l = &m->lat[i];
		char route[128];
		const char *labels[] = {"route", route, "method", l->method, "le", le, NULL};
		uint64_t cum = 0;

		route_label(route, sizeof(route), l->route);
		for (size_t b = 0; b <= NBOUNDS; b++) {
			if (b < NBOUNDS) {
				cum += l->buckets[b];
				fmt_double(le, sizeof(le), latency_bounds[b]);
			} else {
				cum = l->count;
				snprintf(le, sizeof(le), "+Inf");
			}
			snprintf(v, sizeof(v), "%" PRIu64, cum);
			put_sample(&fam->samples, "mm32_http_request_duration_seconds_bucket",
				   labels, v);
		}
		labels[4] = NULL;
		fmt_double(v, sizeof(v), l->sum);
		put_sample(&fam->samples, "mm32_http_request_duration_seconds_sum", labels, v);
		snprintf(v, sizeof(v), "%" PRIu64, l->count);
		put_sample(&fam->samples, "mm32_http_request_duration_seconds_count", labels, v);
	}
	pthread_mutex_unlock(&m->lock);
}

/* ---- everything --------------------------------------------------------------------------- */

int api_metrics_render(const struct api_host *host, struct api_metrics *m, struct api_text *out,
		       struct mm_error *err)
{
	struct families f = {0};
	const char *build[] = {"version", MM32_VERSION, "kernel", MM_VERSION_KERNEL, NULL};
	json_t *ids = NULL, *id;
	size_t i;
	int r;

	add_int(&f, "mm32_build_info", "gauge", "The version of mm32d and of the modelled kernel.",
		build, 1);
	r = host->ops->machine_ids(host->data, &ids, err);
	if (r < 0)
		goto out;
	add_int(&f, "mm32_machines", "gauge", "Machines the daemon hosts.", NULL,
		(long long)json_array_size(ids));
	if (m)
		from_requests(&f, m);
	json_array_foreach(ids, i, id) {
		struct mm_buf bi = {0}, zi = {0}, mi = {0};
		struct api_lease lease;
		struct mm_error ignore;

		const char *state = "ready";
		char why[8];

		/* a machine being restored or unloaded has no figures yet (and is not waited for);
		 * a machine deleted since machine_ids() is simply not there */
		if (host->ops->machine_status &&
		    (host->ops->machine_status(host->data, json_string_value(id), &state, why,
					       sizeof(why)) < 0 ||
		     strcmp(state, "ready")))
			continue;
		if (host->ops->machine_acquire(host->data, json_string_value(id), &lease, &ignore) <
		    0)
			continue;
		r = mm_proc_render(lease.m, "buddyinfo", &bi, err);
		if (r == 0)
			r = mm_proc_render(lease.m, "zoneinfo", &zi, err);
		if (r == 0)
			r = mm_proc_render(lease.m, "meminfo", &mi, err);
		host->ops->machine_release(host->data, &lease);
		if (r == 0)
			r = from_proc(&f, json_string_value(id), bi.data, bi.len, zi.data, zi.len,
				      mi.data, mi.len, err);
		mm_buf_free(&bi);
		mm_buf_free(&zi);
		mm_buf_free(&mi);
		if (r == -EAGAIN) {
			/* stopped before the buddy allocator: no /proc files yet */
			r = 0;
			continue;
		}
		if (r < 0)
			goto out;
	}
	if (families_write(&f, out) < 0)
		r = api_error(err, -ENOMEM, "out of memory building the metrics");
out:
	json_decref(ids);
	families_free(&f);
	return r;
}
