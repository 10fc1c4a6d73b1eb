/* SPDX-License-Identifier: MIT */
/*
 * conntrack.c - the open HTTP connections: per-client counts and the request deadline
 * (see conntrack.h for the rules and why a dup of each socket is kept).
 *
 * Invariants (under ct->lock):
 *  - every connection between api_conn_open() and api_conn_close() is on ct->list exactly
 *    once, and holds its own descriptor c->fd (a dup) until api_conn_close();
 *  - c->deadline is 0 exactly while a request is being answered (c->busy);
 *  - a connection is shut down by the watchdog at most once (c->expired).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conntrack.h"

struct api_conn {
	struct api_conn *prev, *next;
	int fd;		 /* our dup of the connection's socket */
	char client[64]; /* the rate limit's key: an IP address, an IPv6 /64, a uid */
	double deadline; /* CLOCK_MONOTONIC seconds; 0 while busy */
	bool busy, expired;
};

struct api_conntrack {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t watchdog;
	bool stop;
	struct api_conn *list;
	unsigned int max_client, timeout;
	struct api_metrics *metrics;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The deadline of a connection that starts waiting for bytes now (0: none). */
static double due(const struct api_conntrack *ct)
{
	return ct->timeout ? now_s() + ct->timeout : 0;
}

static void *watchdog_main(void *arg)
{
	struct api_conntrack *ct = arg;

	pthread_mutex_lock(&ct->lock);
	while (!ct->stop) {
		struct timespec until;
		double now = now_s();

		for (struct api_conn *c = ct->list; c; c = c->next) {
			if (c->busy || c->expired || !c->deadline || now < c->deadline)
				continue;
			c->expired = true;
			shutdown(c->fd, SHUT_RDWR);
			api_metrics_closed(ct->metrics, API_CLOSE_REQUEST_TIMEOUT);
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 250 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&ct->wake, &ct->lock, &until);
	}
	pthread_mutex_unlock(&ct->lock);
	return NULL;
}

int api_conntrack_create(struct api_metrics *metrics, struct api_conntrack **ret)
{
	struct api_conntrack *ct = calloc(1, sizeof(*ct));
	pthread_condattr_t ca;
	int r;

	if (!ct)
		return -ENOMEM;
	ct->metrics = metrics;
	pthread_mutex_init(&ct->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ct->wake, &ca);
	pthread_condattr_destroy(&ca);
	r = pthread_create(&ct->watchdog, NULL, watchdog_main, ct);
	if (r) {
		pthread_cond_destroy(&ct->wake);
		pthread_mutex_destroy(&ct->lock);
		free(ct);
		return -r;
	}
	*ret = ct;
	return 0;
}

void api_conntrack_destroy(struct api_conntrack *ct)
{
	struct api_conn *c, *next;

	if (!ct)
		return;
	pthread_mutex_lock(&ct->lock);
	ct->stop = true;
	pthread_cond_signal(&ct->wake);
	pthread_mutex_unlock(&ct->lock);
	pthread_join(ct->watchdog, NULL);
	for (c = ct->list; c; c = next) {
		next = c->next;
		close(c->fd);
		free(c);
	}
	pthread_cond_destroy(&ct->wake);
	pthread_mutex_destroy(&ct->lock);
	free(ct);
}

void api_conntrack_set(struct api_conntrack *ct, unsigned int max_client_connections,
		       unsigned int request_timeout_s)
{
	pthread_mutex_lock(&ct->lock);
	ct->max_client = max_client_connections;
	ct->timeout = request_timeout_s;
	pthread_mutex_unlock(&ct->lock);
}

struct api_conn *api_conn_open(struct api_conntrack *ct, int fd, const char *client)
{
	struct api_conn *c;
	unsigned int same = 0;

	pthread_mutex_lock(&ct->lock);
	if (ct->max_client) {
		for (c = ct->list; c; c = c->next)
			same += !strcmp(c->client, client);
		if (same >= ct->max_client) {
			pthread_mutex_unlock(&ct->lock);
			api_metrics_closed(ct->metrics, API_CLOSE_CLIENT_CONNECTIONS);
			shutdown(fd, SHUT_RDWR);
			return NULL;
		}
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (!c || c->fd < 0) {
		pthread_mutex_unlock(&ct->lock);
		free(c);
		shutdown(fd, SHUT_RDWR);
		return NULL;
	}
	strncpy(c->client, client, sizeof(c->client) - 1);
	c->deadline = due(ct);
	c->next = ct->list;
	if (ct->list)
		ct->list->prev = c;
	ct->list = c;
	pthread_mutex_unlock(&ct->lock);
	return c;
}

void api_conn_close(struct api_conntrack *ct, struct api_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&ct->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		ct->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&ct->lock);
	close(c->fd);
	free(c);
}

static void set_state(struct api_conntrack *ct, struct api_conn *c, bool busy)
{
	if (!c)
		return;
	pthread_mutex_lock(&ct->lock);
	c->busy = busy;
	c->deadline = busy ? 0 : due(ct);
	pthread_mutex_unlock(&ct->lock);
}

void api_conn_headers(struct api_conntrack *ct, struct api_conn *c)
{
	set_state(ct, c, false);
}

void api_conn_busy(struct api_conntrack *ct, struct api_conn *c)
{
	set_state(ct, c, true);
}

void api_conn_answered(struct api_conntrack *ct, struct api_conn *c)
{
	set_state(ct, c, false);
}
