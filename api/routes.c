/* SPDX-License-Identifier: MIT */
/*
 * routes.c - api/'s route table: every route of the HTTP API that api/ answers itself.
 *
 * A row is a path pattern ("*" matches one segment), a method and either a view handler
 * (views.c: it reads) or, for a route that changes a machine, a command: the op it becomes,
 * where each of the op's fields comes from (body, a path segment, the query), the status of
 * a success and its Location. Such a row has no code of its own: api_route_command() (router.c)
 * makes the command, and the executor's op table (commands.c) checks each field's type and
 * range, once, as for a command sent to POST .../commands. The daemon adds its persistence
 * routes the same way (daemon/routes.c). openapi.yaml documents exactly these rows and the
 * daemon's: tests/api/test_routes_openapi.py holds them equal both ways.
 *
 * Adding a route for a new op: one row here (or in daemon/routes.c when it needs the store),
 * with .op, .args and .status; the op itself is a row of commands.c.
 */
#include "call-int.h"

#define BODY(n)                                                                                    \
	{                                                                                          \
		.name = n, .from = API_FROM_BODY                                                   \
	}
#define QUERY(n)                                                                                   \
	{                                                                                          \
		.name = n, .from = API_FROM_QUERY                                                  \
	}
#define PATH(n, s)                                                                                 \
	{                                                                                          \
		.name = n, .from = API_FROM_PATH, .seg = s                                         \
	}

static const struct api_route_arg sysctl_put_args[] = {PATH("name", 1), BODY("value"), {0}};
static const struct api_route_arg pages_post_args[] = {
	BODY("gfp"), BODY("order"), BODY("cpu"), {0}};
static const struct api_route_arg pages_delete_args[] = {
	PATH("pfn", 1), QUERY("order"), QUERY("cpu"), {0}};
static const struct api_route_arg boot_continue_args[] = {BODY("until"), {0}};
static const struct api_route_arg memory_get_args[] = {
	QUERY("addr"), QUERY("len"), QUERY("space"), QUERY("cpu"), {0}};
static const struct api_route_arg memory_put_args[] = {BODY("addr"), BODY("data"),  BODY("space"),
						       BODY("cpu"),  BODY("force"), {0}};
static const struct api_route_arg tlb_flush_args[] = {PATH("cpu", 1), QUERY("keep_global"), {0}};
static const struct api_route_arg tlb_invlpg_args[] = {PATH("cpu", 1), QUERY("va"), {0}};
static const struct api_route_arg kmap_post_args[] = {BODY("pfn"), BODY("cpu"), {0}};
static const struct api_route_arg kmap_delete_args[] = {PATH("pfn", 1), QUERY("cpu"), {0}};
static const struct api_route_arg kmap_local_post_args[] = {
	PATH("cpu", 1), BODY("pfn"), BODY("atomic"), {0}};
static const struct api_route_arg kmap_local_delete_args[] = {
	PATH("cpu", 1), PATH("address", 2), QUERY("atomic"), {0}};
static const struct api_route_arg kmalloc_post_args[] = {
	BODY("size"), BODY("gfp"), BODY("cpu"), {0}};
static const struct api_route_arg kmalloc_delete_args[] = {PATH("address", 1), QUERY("cpu"), {0}};
static const struct api_route_arg kvmalloc_post_args[] = {
	BODY("size"), BODY("gfp"), BODY("zero"), BODY("cpu"), {0}};
static const struct api_route_arg caches_post_args[] = {BODY("name"),  BODY("size"), BODY("align"),
							BODY("flags"), BODY("cpu"),  {0}};
static const struct api_route_arg cache_args[] = {PATH("name", 1), QUERY("cpu"), {0}};
static const struct api_route_arg objects_post_args[] = {
	PATH("name", 1), BODY("gfp"), BODY("cpu"), {0}};
static const struct api_route_arg object_delete_args[] = {
	PATH("name", 1), PATH("address", 2), QUERY("cpu"), {0}};
static const struct api_route_arg vmalloc_post_args[] = {
	BODY("size"), BODY("zero"), BODY("cpu"), {0}};
static const struct api_route_arg area_delete_args[] = {PATH("address", 1), QUERY("cpu"), {0}};
static const struct api_route_arg vmap_post_args[] = {BODY("pfns"), BODY("cpu"), {0}};
static const struct api_route_arg ioremap_post_args[] = {
	BODY("phys"), BODY("size"), BODY("cpu"), {0}};
static const struct api_route_arg set_memory_args[] = {
	BODY("address"), BODY("pages"), BODY("attr"), BODY("cpu"), {0}};

#define M(p) "v1/machines/*" p

static const struct api_route routes[] = {
	{.pattern = "v1/health", .method = API_GET, .fn = h_health},
	{.pattern = "v1/version", .method = API_GET, .fn = h_version},
	{.pattern = "metrics", .method = API_GET, .fn = h_metrics},
	{.pattern = "openapi.yaml", .method = API_GET, .fn = h_openapi},
	/* the dashboard (web/, embedded at build time) */
	{.pattern = "", .method = API_GET, .fn = h_web_index},
	{.pattern = "web/*", .method = API_GET, .fn = h_web_file},
	{.pattern = "v1/machines", .method = API_GET, .fn = h_list},
	{.pattern = "v1/machines", .method = API_POST, .body = true, .fn = h_create, .slow = true},
	{.pattern = M(""), .method = API_GET, .machine = true, .fn = h_machine},
	{.pattern = M(""), .method = API_DELETE, .fn = h_delete, .slow = true},
	/* views */
	{.pattern = M("/proc/*"), .method = API_GET, .machine = true, .fn = h_proc, .cache = true},
	{.pattern = M("/dmesg"), .method = API_GET, .machine = true, .fn = h_dmesg, .cache = true},
	{.pattern = M("/layout"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_layout,
	 .cache = true},
	{.pattern = M("/zones"), .method = API_GET, .machine = true, .fn = h_zones, .cache = true},
	{.pattern = M("/e820"), .method = API_GET, .machine = true, .fn = h_e820, .cache = true},
	{.pattern = M("/memblock"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_memblock,
	 .cache = true},
	{.pattern = M("/sysctl/vm/*"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_sysctl_get,
	 .cache = true},
	{.pattern = M("/frames"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_frames,
	 .cache = true},
	{.pattern = M("/frames/*"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_frame,
	 .cache = true},
	/* one byte a frame (1 MiB for 4 GiB): beyond the view cache's answers, so not .cache */
	{.pattern = M("/memmap"), .method = API_GET, .machine = true, .fn = h_memmap},
	{.pattern = M("/check"), .method = API_GET, .machine = true, .fn = h_check},
	{.pattern = M("/journal"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_journal,
	 .volatile_view = true},
	/* the journal as it grows: Server-Sent Events (the transport holds the stream) */
	{.pattern = M("/events"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_events,
	 .volatile_view = true},
	{.pattern = M("/translate"), .method = API_GET, .machine = true, .fn = h_translate},
	{.pattern = M("/cpus"), .method = API_GET, .machine = true, .fn = h_cpus, .cache = true},
	{.pattern = M("/cpus/*/tlb"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_tlb,
	 .cache = true},
	{.pattern = M("/page-tables/kernel"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_page_tables,
	 .cache = true},
	{.pattern = M("/kmap"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_kmap,
	 .volatile_view = true},
	{.pattern = M("/cpus/*/kmap-local"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_kmap_local,
	 .cache = true},
	{.pattern = M("/slab"), .method = API_GET, .machine = true, .fn = h_slab, .cache = true},
	{.pattern = M("/slab/caches/*"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_slab_cache,
	 .cache = true},
	{.pattern = M("/vmalloc"),
	 .method = API_GET,
	 .machine = true,
	 .fn = h_vmalloc,
	 .cache = true},
	/* commands: one command or a batch, as they come */
	{.pattern = M("/commands"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .fn = h_commands,
	 .batch = true},
	/* commands made from a REST request */
	{.pattern = M("/sysctl/vm/*"),
	 .method = API_PUT,
	 .machine = true,
	 .body = true,
	 .op = "set_sysctl",
	 .args = sysctl_put_args},
	{.pattern = M("/pages"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "alloc_pages",
	 .args = pages_post_args,
	 .status = 201,
	 .location = "frames",
	 .location_member = "pfn"},
	{.pattern = M("/pages/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "free_pages",
	 .args = pages_delete_args},
	{.pattern = M("/boot/continue"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "boot_continue",
	 .args = boot_continue_args},
	{.pattern = M("/memory"),
	 .method = API_GET,
	 .machine = true,
	 .op = "memory_read",
	 .args = memory_get_args,
	 .pure = true},
	{.pattern = M("/memory"),
	 .method = API_PUT,
	 .machine = true,
	 .body = true,
	 .op = "memory_write",
	 .args = memory_put_args},
	{.pattern = M("/cpus/*/tlb/flush"),
	 .method = API_POST,
	 .machine = true,
	 .op = "flush_tlb",
	 .args = tlb_flush_args},
	{.pattern = M("/cpus/*/tlb/invlpg"),
	 .method = API_POST,
	 .machine = true,
	 .op = "invlpg",
	 .args = tlb_invlpg_args},
	/* highmem: kmap may sleep (every pkmap slot busy): the request waits (.wait) */
	{.pattern = M("/kmap"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "kmap",
	 .args = kmap_post_args,
	 .wait = true},
	{.pattern = M("/kmap/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "kunmap",
	 .args = kmap_delete_args},
	{.pattern = M("/cpus/*/kmap-local"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "kmap_local",
	 .args = kmap_local_post_args},
	{.pattern = M("/cpus/*/kmap-local/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "kunmap_local",
	 .args = kmap_local_delete_args},
	/* the slab allocator */
	{.pattern = M("/kmalloc"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "kmalloc",
	 .args = kmalloc_post_args,
	 .status = 201,
	 .location = "kmalloc",
	 .location_member = "address"},
	{.pattern = M("/kmalloc/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "kfree",
	 .args = kmalloc_delete_args},
	/* kvmalloc: kmalloc, or vmalloc when that fails; kvfree frees with the right one */
	{.pattern = M("/kvmalloc"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "kvmalloc",
	 .args = kvmalloc_post_args,
	 .status = 201,
	 .location = "kvmalloc",
	 .location_member = "address"},
	{.pattern = M("/kvmalloc/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "kvfree",
	 .args = kmalloc_delete_args},
	{.pattern = M("/slab/caches"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "kmem_cache_create",
	 .args = caches_post_args,
	 .status = 201,
	 .location = "slab/caches",
	 .location_member = "created"},
	{.pattern = M("/slab/caches/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "kmem_cache_destroy",
	 .args = cache_args},
	{.pattern = M("/slab/caches/*/shrink"),
	 .method = API_POST,
	 .machine = true,
	 .op = "kmem_cache_shrink",
	 .args = cache_args},
	{.pattern = M("/slab/caches/*/objects"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "kmem_cache_alloc",
	 .args = objects_post_args,
	 .status = 201,
	 .location = "slab/caches/*/objects",
	 .location_member = "address"},
	{.pattern = M("/slab/caches/*/objects/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "kmem_cache_free",
	 .args = object_delete_args},
	/* vmalloc: the area's address names it (Location) */
	{.pattern = M("/vmalloc"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "vmalloc",
	 .args = vmalloc_post_args,
	 .status = 201,
	 .location = "vmalloc",
	 .location_member = "address"},
	{.pattern = M("/vmalloc/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "vfree",
	 .args = area_delete_args},
	{.pattern = M("/vmap"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "vmap",
	 .args = vmap_post_args,
	 .status = 201,
	 .location = "vmap",
	 .location_member = "address"},
	{.pattern = M("/vmap/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "vunmap",
	 .args = area_delete_args},
	{.pattern = M("/ioremap"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "ioremap",
	 .args = ioremap_post_args,
	 .status = 201,
	 .location = "ioremap",
	 .location_member = "address"},
	{.pattern = M("/ioremap/*"),
	 .method = API_DELETE,
	 .machine = true,
	 .op = "iounmap",
	 .args = area_delete_args},
	{.pattern = M("/set-memory"),
	 .method = API_POST,
	 .machine = true,
	 .body = true,
	 .op = "set_memory",
	 .args = set_memory_args},
};

const struct api_route *api_routes(size_t *ret_n)
{
	*ret_n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
