/* SPDX-License-Identifier: MIT */
/*
 * conntrack.h - the open HTTP connections: per-client counts and the request deadline.
 *
 * Two ways one client could hold the server, and what stops them:
 *  - opening every connection slot (max-connections): a client may hold at most
 *    max_client_connections connections at once; the next one is closed as it opens;
 *  - slowloris: opening connections and trickling a byte now and then, which renews an
 *    idle timeout forever. Here a connection gets request_timeout seconds to deliver a
 *    request's headers (counted from its accept, or from its previous answer), then as
 *    long again for the body (from the headers); trickling does not renew them. While its
 *    request is being answered it has no deadline (a request may wait, as a kmap does).
 *
 * A watchdog thread wakes four times a second and shuts down (shutdown(2), both ways) the
 * connections past their deadline; libmicrohttpd then sees the connection end and closes
 * it as it closes any other. Each tracked connection holds a dup() of its socket, so the
 * descriptor the watchdog shuts down can never be one that was closed and reused for
 * another connection meanwhile; the dup is closed when libmicrohttpd reports the close.
 *
 * Thread safety: every function may be called from any server thread; one mutex guards
 * the list (its length is bounded by max-connections).
 */
#ifndef API_CONNTRACK_H
#define API_CONNTRACK_H

#include <stdbool.h>

#include "metrics.h"

struct api_conntrack;
struct api_conn;

/* Start the watchdog; closures are counted in @metrics (may be NULL). 0 or -errno. */
int api_conntrack_create(struct api_metrics *metrics, struct api_conntrack **ret);
/* Stop the watchdog and forget every connection (closing their dups). NULL is a no-op. */
void api_conntrack_destroy(struct api_conntrack *ct);
/* The limits, for connections and requests from now on; 0 is no limit. */
void api_conntrack_set(struct api_conntrack *ct, unsigned int max_client_connections,
		       unsigned int request_timeout_s);

/*
 * api_conn_open - a connection from @client (the rate limit's key) on socket @fd opened.
 * Return: the tracked connection, which the caller hands to api_conn_close() when it
 * closes; NULL when it must be closed at once (@fd is shut down already): its client had
 * max_client_connections open, or the host could not track it (no descriptor or memory).
 */
struct api_conn *api_conn_open(struct api_conntrack *ct, int fd, const char *client);
void api_conn_close(struct api_conntrack *ct, struct api_conn *c);
/* A request's headers are in: its body is due within request_timeout from now. */
void api_conn_headers(struct api_conntrack *ct, struct api_conn *c);
/* The request is being answered: no deadline until api_conn_answered(). */
void api_conn_busy(struct api_conntrack *ct, struct api_conn *c);
/* Its answer went out: the next request's headers are due within request_timeout. */
void api_conn_answered(struct api_conntrack *ct, struct api_conn *c);

#endif /* API_CONNTRACK_H */
