/* SPDX-License-Identifier: MIT */
/*
 * server.h - the HTTP server: libmicrohttpd plumbing around api_dispatch().
 *
 * One libmicrohttpd daemon per listener (a TCP address, a socket handed over by systemd, a
 * UNIX socket), all sharing one set of limits, one rate limiter and one set of counters.
 * libmicrohttpd runs its own threads (epoll, or poll/select where epoll is missing, with a
 * pool of @threads workers); requests on different machines run in parallel, requests on
 * one machine are serialized by the host's machine lock. A request of a .slow route (a
 * create, a delete, a snapshot, a restore, a session import or replay) is run by one of
 * API_SLOW_THREADS threads of the server's slow pool instead, its connection suspended
 * meanwhile (no worker is held): a slow request delays no other. The server never logs: it reports
 * each finished request and each libmicrohttpd complaint through callbacks, and the
 * daemon decides what to print.
 *
 * Access, in the order it is checked when a request's headers have arrived:
 *  1. the connection limits: beyond @max_connections open connections, a new connection is
 *     closed at once (counted in /metrics); so is one whose client (as the rate limit tells
 *     clients apart) has @max_client_connections open already, so that one client cannot
 *     hold every slot. A connection must deliver each request's headers, and then its body,
 *     within @request_timeout seconds (from its accept or its previous answer, then from
 *     the headers), however it trickles them; else it is closed (slowloris);
 *  2. the per-client rate limit: 429 with Retry-After (the client is its IP address, an
 *     IPv6 /64, or on a UNIX socket its uid);
 *  3. bearer tokens: when tokens are set, a request on a TCP listener must carry
 *     "Authorization: Bearer <token>", or it gets 401 with WWW-Authenticate; GET and HEAD
 *     /v1/health are exempt (liveness probes). A UNIX socket needs no token: its file
 *     permissions decide who may connect;
 *  4. the body cap: a body over @max_body gets 413 (after it was read and dropped).
 * A request whose framing is ambiguous (Content-Length with Transfer-Encoding, or two
 * different Content-Lengths: RFC 9112 6.3, request smuggling behind a proxy) gets 400 and
 * its connection is closed. "%2F" and "%00" in a path stay encoded: they never become the
 * '/' that separates a route's segments, or a NUL that ends the path.
 * Refused requests are answered once their body was read and dropped, so a keep-alive
 * connection stays usable. api_server_set_limits() changes all four at run time.
 *
 * For pages of other origins (a dashboard, a course's own page): CORS (the Fetch standard)
 * with a list of allowed origins. An allowed Origin gets Access-Control-Allow-Origin (itself),
 * Access-Control-Expose-Headers (ETag, Link, Location, Retry-After) and Vary: Origin; another
 * gets no CORS header, and its preflight 403. OPTIONS answers 204 with Allow (and, for an
 * allowed origin's preflight, Access-Control-Allow-Methods/-Headers/-Max-Age) on any route;
 * it needs no token, as a browser's preflight carries none.
 *
 * Event streams: GET /v1/machines/{id}/events is answered as text/event-stream that stays
 * open. A stream holds no thread: its connection is suspended (MHD_suspend_connection) while
 * it has nothing to send, and resumed when a command is journaled on its machine (the
 * transaction publishes after the commit), at each heartbeat (": ping", which is also how a
 * closed client is noticed), when the machine is deleted ("event: deleted", then the end), and
 * at shutdown (the end). A stream whose client reads slower than commands come (more than
 * 1 MiB waiting) ends after what it has: the client reconnects with its Last-Event-ID.
 */
#ifndef API_SERVER_H
#define API_SERVER_H

#define API_SLOW_THREADS 2

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "router.h"

#define API_LISTENERS_MAX 8

struct api_server;

struct api_listener {
	int fd;			     /* a bound, listening socket (TCP or UNIX), or -1 */
	const struct sockaddr *addr; /* with fd -1: a TCP address to bind */
	socklen_t addrlen;
	bool local; /* a UNIX socket: no token needed, clients told apart by uid */
};

struct api_limits {
	size_t max_body;		     /* request bodies beyond this get 413 */
	unsigned int max_connections;	     /* 0: no limit */
	unsigned int max_client_connections; /* per client; 0: no limit */
	unsigned int request_timeout;	     /* seconds for headers, then body; 0: none */
	unsigned int rate_limit;	     /* requests per second per client; 0: no limit */
	unsigned int rate_burst;
	char *const *tokens; /* borrowed; copied by the server */
	size_t ntokens;
	/* CORS: the origins whose pages may call the API ("*": any), borrowed and copied; none:
	 * no CORS header at all, and a preflight from any origin is refused */
	char *const *cors_origins;
	size_t ncors_origins;
	/* event streams (GET /v1/machines/{id}/events): at most @max_event_streams open at once
	 * (503 beyond), @max_client_event_streams per client (429 beyond); 0: no limit. A
	 * heartbeat comment every @event_heartbeat seconds (0: 15) */
	unsigned int max_event_streams, max_client_event_streams, event_heartbeat;
};

struct api_server_options {
	const struct api_listener *listeners;
	size_t nlisteners;    /* 1..API_LISTENERS_MAX */
	unsigned int threads; /* worker threads per listener, >= 1 */
	struct api_limits limits;
	/* called once per finished request (from a server thread) */
	void (*on_request)(void *data, const char *method, const char *url, unsigned int status,
			   double ms);
	/* libmicrohttpd's own error messages */
	void (*on_error)(void *data, const char *msg);
	void *cb_data;
};

/* Start serving; on success *@ret owns the server (api_server_stop()). The host's metrics,
 * when set, count every request. On failure nothing is left listening; sockets passed in
 * listeners[].fd stay the caller's. */
int api_server_start(const struct api_server_options *opts, const struct api_host *host,
		     struct api_server **ret, struct mm_error *err);
/* Change the limits and tokens for the requests that start from now on. 0 or -ENOMEM (the
 * old ones stay). */
int api_server_set_limits(struct api_server *srv, const struct api_limits *limits);
/* The port of listener @i (0 for a UNIX socket). */
uint16_t api_server_port(const struct api_server *srv, size_t i);
/*
 * api_server_shutdown - stop accepting connections, let the requests in flight finish (and
 * close their connections after the answer), for at most @timeout_ms; then stop.
 * Return: the number of requests that were still running when the time was up.
 */
unsigned int api_server_shutdown(struct api_server *srv, unsigned int timeout_ms);
/* Requests received and not yet answered. */
unsigned int api_server_in_flight(const struct api_server *srv);
/* Stop at once (requests in flight are cut), join the threads and free. Accepts NULL. */
void api_server_stop(struct api_server *srv);

#endif /* API_SERVER_H */
