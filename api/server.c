/* SPDX-License-Identifier: MIT */
/*
 * server.c - libmicrohttpd glue (see server.h).
 *
 * The access handler follows libmicrohttpd's contract:
 *  1. first call: allocate the per-request state into *req_cls and return MHD_YES; no
 *     response is ever queued here;
 *  2. calls with upload data: append it (up to max_body; beyond, drop it and remember),
 *     set *upload_data_size = 0, return MHD_YES;
 *  3. the call without upload data: route, queue the response, destroy it at once.
 * Per-request state is freed in NOTIFY_COMPLETED, which also reports the request. Errors
 * are always answered with a problem body; MHD_NO (which drops the connection) is only
 * returned when not even the per-request state could be allocated.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "problem.h"
#include "server.h"

struct api_server {
	struct MHD_Daemon *mhd;
	struct api_host host;
	struct api_server_options opts;
};

struct request {
	char *body;
	size_t len, cap;
	bool too_large;
	unsigned int status;
	struct timespec start;
	char *method, *url;
	struct api_query_arg *query; /* pointers owned by libmicrohttpd, valid for the request */
	size_t nquery, query_cap;
	bool query_oom;
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int body_append(struct request *rq, const char *data, size_t n, size_t max)
{
	if (rq->too_large)
		return 0;
	if (n > max || rq->len > max - n) {
		rq->too_large = true;
		free(rq->body);
		rq->body = NULL;
		rq->len = rq->cap = 0;
		return 0;
	}
	if (rq->len + n > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 4096;
		char *p;

		while (cap < rq->len + n)
			cap *= 2;
		p = realloc(rq->body, cap);
		if (!p)
			return -ENOMEM;
		rq->body = p;
		rq->cap = cap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	return 0;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct request *rq = cls;

	if (rq->nquery == rq->query_cap) {
		size_t cap = rq->query_cap ? rq->query_cap * 2 : 4;
		struct api_query_arg *q = realloc(rq->query, cap * sizeof(*q));

		if (!q) {
			rq->query_oom = true;
			return MHD_NO;
		}
		rq->query = q;
		rq->query_cap = cap;
	}
	rq->query[rq->nquery++] = (struct api_query_arg){.key = key, .value = value};
	return MHD_YES;
}

/* The serialized reply: JSON plus a final newline, or the text body. */
static struct MHD_Response *make_response(struct api_reply *rep)
{
	struct MHD_Response *resp;
	const char *ctype = NULL;

	if (rep->json) {
		char *s = json_dumps(rep->json, JSON_COMPACT | JSON_ENSURE_ASCII);
		size_t n;
		char *t;

		if (!s)
			return NULL;
		n = strlen(s);
		t = realloc(s, n + 2);
		if (!t) {
			free(s);
			return NULL;
		}
		t[n] = '\n';
		t[n + 1] = '\0';
		resp = MHD_create_response_from_buffer(n + 1, t, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(t);
			return NULL;
		}
		ctype = rep->problem ? "application/problem+json" : "application/json";
	} else if (rep->json_text) {
		/* written by the router, final newline included: hand the buffer over */
		resp = MHD_create_response_from_buffer(rep->json_text_len, rep->json_text,
						       MHD_RESPMEM_MUST_FREE);
		if (!resp)
			return NULL;
		rep->json_text = NULL;
		rep->json_text_len = 0;
		ctype = "application/json";
	} else if (rep->text.data) {
		resp = MHD_create_response_from_buffer(rep->text.len, rep->text.data,
						       MHD_RESPMEM_MUST_COPY);
		ctype = "text/plain; charset=utf-8";
	} else {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return NULL;
	if ((ctype &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_NO) ||
	    (rep->location[0] &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, rep->location) == MHD_NO) ||
	    (rep->allow[0] &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow) == MHD_NO)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	return resp;
}

/* Last resort when even the reply could not be built: a static problem body. */
static enum MHD_Result queue_static_oom(struct MHD_Connection *conn, struct request *rq)
{
	static const char body[] = "{\"type\":\"" API_PROBLEM_BASE "host-out-of-memory\","
				   "\"title\":\"Host out of memory\",\"status\":503}\n";
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
								    MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
	ret = MHD_queue_response(conn, 503, resp);
	MHD_destroy_response(resp);
	rq->status = 503;
	return ret;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls)
{
	struct api_server *srv = cls;
	struct request *rq = *req_cls;
	struct api_request req;
	struct api_reply rep;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		rq->method = strdup(method);
		rq->url = strdup(url);
		*req_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size) {
		int r = body_append(rq, upload_data, *upload_data_size, srv->opts.max_body);

		*upload_data_size = 0;
		/* out of host memory while buffering: answer like an oversized body, with 503 */
		if (r < 0) {
			free(rq->body);
			rq->body = NULL;
			rq->len = rq->cap = 0;
			rq->too_large = true;
			rq->status = 503;
		}
		return MHD_YES;
	}
	if (rq->status == 503)
		return queue_static_oom(conn, rq);
	rq->nquery = 0;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, rq);
	if (rq->query_oom)
		return queue_static_oom(conn, rq);

	req = (struct api_request){
		.method = method,
		.url = url,
		.query = rq->query,
		.nquery = rq->nquery,
		.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							    MHD_HTTP_HEADER_CONTENT_TYPE),
		.accept =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
		.body = rq->body,
		.body_len = rq->len,
		.body_too_large = rq->too_large,
	};
	api_dispatch(&srv->host, &req, &rep);
	resp = make_response(&rep);
	if (!resp) {
		api_reply_finish(&rep);
		return queue_static_oom(conn, rq);
	}
	rq->status = rep.status;
	ret = MHD_queue_response(conn, rep.status, resp);
	MHD_destroy_response(resp);
	api_reply_finish(&rep);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *srv = cls;
	struct request *rq = *req_cls;

	if (!rq)
		return;
	if (srv->opts.on_request)
		srv->opts.on_request(srv->opts.cb_data, rq->method ? rq->method : "?",
				     rq->url ? rq->url : "?", rq->status, ms_since(&rq->start));
	free(rq->body);
	free(rq->query);
	free(rq->method);
	free(rq->url);
	free(rq);
	*req_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct api_server *srv = cls;
	char msg[512];
	size_t n;

	if (!srv->opts.on_error)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	srv->opts.on_error(srv->opts.cb_data, msg);
}

int api_server_start(const struct api_server_options *opts, const struct api_host *host,
		     struct api_server **ret, struct mm_error *err)
{
	struct api_server *srv = calloc(1, sizeof(*srv));
	unsigned int flags = MHD_USE_ERROR_LOG;
	struct MHD_OptionItem ops[6];
	int n = 0;

	if (!srv)
		return api_error(err, -ENOMEM, "out of memory");
	srv->host = *host;
	srv->opts = *opts;
	if (srv->opts.threads < 1)
		srv->opts.threads = 1;

	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
	else
		flags |= MHD_USE_INTERNAL_POLLING_THREAD;
	if (opts->listen_fd < 0 && opts->addr && opts->addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	ops[n++] =
		(struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv};
	ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL};
	if (srv->opts.threads > 1)
		ops[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
						   (intptr_t)srv->opts.threads, NULL};
	if (opts->listen_fd >= 0)
		ops[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, opts->listen_fd, NULL};
	else
		ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)opts->addr};
	ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	/* the logger must come first, or MHD prints its early messages itself */
	srv->mhd =
		MHD_start_daemon(flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
				 on_mhd_log, srv, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	if (!srv->mhd) {
		int e = errno ? errno : EADDRINUSE;

		free(srv);
		return api_error(err, -e, "cannot start the HTTP server: %s", strerror(e));
	}
	*ret = srv;
	return 0;
}

uint16_t api_server_port(const struct api_server *srv)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);

	return info ? info->port : 0;
}

void api_server_stop(struct api_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->mhd);
	free(srv);
}
