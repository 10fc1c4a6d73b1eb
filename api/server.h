/* SPDX-License-Identifier: MIT */
/*
 * server.h - the HTTP server: libmicrohttpd plumbing around api_dispatch().
 *
 * libmicrohttpd runs its own threads (epoll, or poll/select where epoll is missing, with a
 * pool of @threads workers); requests on different machines run in parallel, requests on
 * one machine are serialized by the host's machine lock. The server never logs: it reports
 * each finished request and each libmicrohttpd complaint through callbacks, and the
 * daemon decides what to print.
 */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "router.h"

struct api_server;

struct api_server_options {
	const struct sockaddr *addr; /* where to listen, unless listen_fd >= 0 */
	socklen_t addrlen;
	int listen_fd;	      /* an already bound, listening socket, or -1 */
	unsigned int threads; /* worker threads, >= 1 */
	size_t max_body;      /* request bodies beyond this get 413 */
	/* called once per finished request (from a server thread) */
	void (*on_request)(void *data, const char *method, const char *url, unsigned int status,
			   double ms);
	/* libmicrohttpd's own error messages */
	void (*on_error)(void *data, const char *msg);
	void *cb_data;
};

/* Start serving; on success *@ret owns the server (api_server_stop()). */
int api_server_start(const struct api_server_options *opts, const struct api_host *host,
		     struct api_server **ret, struct mm_error *err);
/* The port actually bound (useful with port 0). */
uint16_t api_server_port(const struct api_server *srv);
/* Stop accepting, finish, join the threads and free. Accepts NULL. */
void api_server_stop(struct api_server *srv);

#endif /* API_SERVER_H */
