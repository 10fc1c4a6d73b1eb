/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - GET /metrics: the Prometheus text format (version 0.0.4).
 *
 * Two kinds of metrics:
 *  - per machine, what node_exporter exports from the same kernel files, under
 *    node_exporter's names, with a `machine` label added: its buddyinfo collector
 *    (node_buddyinfo_blocks{node,zone,size}), its zoneinfo collector (node_zoneinfo_*
 *    {node,zone}, protection_N included) and its meminfo collector (node_memory_<Field>_bytes,
 *    node_memory_<Field> for fields without a unit). They are read from the text that
 *    mm_proc_render() writes, the way node_exporter reads /proc, so the two agree on every
 *    field the kernel prints. A machine stopped early in its boot (mm_proc_render() -EAGAIN)
 *    has no such files yet and is left out.
 *  - of the daemon: requests per route, method and status (mm32_http_requests_total), their
 *    latency per route and method (mm32_http_request_duration_seconds, a histogram), open
 *    connections, connections refused by the limit, requests in flight, machines.
 *
 * The route label is the pattern of the router's table with a leading slash (a star for
 * each variable segment: "/v1/machines/STAR/proc/STAR"), or "other" for a request that
 * matched no route or was refused before routing (401, 429, 503): the label's values are
 * bounded, whatever the clients ask for.
 *
 * Locking: the request counters have a mutex inside; machines are read one at a time under
 * the host's machine lock (machine_acquire()), the text is converted after the release.
 */
#ifndef API_METRICS_H
#define API_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "codec.h"
#include "router.h"

#define API_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct api_metrics;

int api_metrics_create(struct api_metrics **ret);
/* Accepts NULL. */
void api_metrics_destroy(struct api_metrics *m);

/* One finished request. @route: a pattern of the route table or NULL ("other"). */
void api_metrics_observe(struct api_metrics *m, const char *route, const char *method,
			 unsigned int status, double seconds);
/* A connection opened (+1) or closed (-1); one refused by the connection limit. */
void api_metrics_connection(struct api_metrics *m, int delta);
void api_metrics_refused(struct api_metrics *m);
/* A connection the server closed itself: its client had max-client-connections open
 * already, or it did not deliver a request's headers or body within request-timeout. */
enum api_close_reason { API_CLOSE_CLIENT_CONNECTIONS, API_CLOSE_REQUEST_TIMEOUT, API_CLOSE_NR };
void api_metrics_closed(struct api_metrics *m, enum api_close_reason why);
/* A request began (+1) or ended (-1). */
void api_metrics_in_flight(struct api_metrics *m, int delta);

/*
 * api_metrics_render - the whole exposition: every machine of @host, then @m (may be NULL).
 * Return: 0 with the text in @out (api_text_free() it); -ENOMEM; or the first error of a
 * machine other than -EAGAIN.
 */
int api_metrics_render(const struct api_host *host, struct api_metrics *m, struct api_text *out,
		       struct mm_error *err);

/*
 * The conversion alone, for tests: the node_exporter metrics of one machine from the texts
 * of its /proc/buddyinfo, /proc/zoneinfo and /proc/meminfo, as a complete exposition.
 * Return: 0, -EINVAL when a text does not read as the kernel writes it, -ENOMEM.
 */
int api_metrics_from_proc(const char *machine, const char *buddyinfo, const char *zoneinfo,
			  const char *meminfo, struct api_text *out, struct mm_error *err);

#endif /* API_METRICS_H */
