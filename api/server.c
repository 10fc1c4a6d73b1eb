/* SPDX-License-Identifier: MIT */
/*
 * server.c - libmicrohttpd glue (see server.h).
 *
 * The access handler follows libmicrohttpd's contract:
 *  1. first call: allocate the per-request state into *req_cls, decide whether the
 *     request is refused (rate limit, token), return MHD_YES; no response is ever queued
 *     here;
 *  2. calls with upload data: append it (up to max_body; beyond, or for a refused request,
 *     drop it and remember), set *upload_data_size = 0, return MHD_YES;
 *  3. the call without upload data: answer the refusal, or route, queue the response, and
 *     destroy it at once.
 * Per-request state is freed in NOTIFY_COMPLETED, which also reports the request. Errors
 * are always answered with a problem body; MHD_NO (which drops the connection) is only
 * returned when not even the per-request state could be allocated.
 *
 * Shared state: the limits are atomics, read once per request; the tokens are guarded by
 * a rwlock (written only by api_server_set_limits()); counters are atomics.
 *
 * Waiting kmaps (the kernel's sleep on pkmap_map_wait): when the router answers a kmap
 * with wait_ms (every pkmap slot busy), the connection is suspended
 * (MHD_suspend_connection: no thread is held) and its request put at the tail of the
 * waiters, a FIFO kept under wait_lock. A request whose reply names a machine in wake
 * (a kunmap, a restore, a deletion) resumes that machine's first waiter, which dispatches
 * its kmap again: it either takes the freed slot (and, answered, resumes the next waiter
 * of its machine, so several freed slots serve several waiters in order), or suspends again
 * in its place. A waiter woken while it runs (rewake) runs again instead of suspending, and
 * so does one whose machine was woken between its first run and its queueing (wake_seq):
 * no wake-up is lost. One reaper thread resumes the waiters whose time is up; they answer
 * the router's 503 with Retry-After. At shutdown every waiter is resumed and answers 503.
 *
 * Event streams (GET .../events, server.h) reuse that machinery: a stream's response comes
 * from a content reader (stream_read()) that hands out what the stream has, and with nothing
 * to send suspends its connection; a publish, a deletion, a heartbeat (the reaper's) or the
 * shutdown appends and resumes it. The streams are a list under wait_lock, which also guards
 * every stream's buffer and its suspended flag (a connection is resumed only if suspended).
 * Lock order: a machine's lock (the transaction publishes holding it), then wait_lock.
 *
 * CORS (server.h): the request's Origin is checked against the allowed origins once, when its
 * headers are in; every answer then gets the same CORS and Vary headers (common_headers()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "codec.h"
#include "conntrack.h"
#include "metrics.h"
#include "problem.h"
#include "ratelimit.h"
#include "server.h"
#include "txn.h"

/* One libmicrohttpd daemon: the @cls of its callbacks. */
struct listener {
	struct api_server *srv;
	struct MHD_Daemon *mhd;
	bool local;	 /* a UNIX socket */
	int quiesced_fd; /* the listening socket, ours to close after MHD_quiesce_daemon() */
};

struct api_server {
	struct listener l[API_LISTENERS_MAX];
	size_t n;
	struct api_host host;
	struct api_server_options opts; /* callbacks and threads; limits below */
	struct api_ratelimit *rl;
	struct api_conntrack *ct; /* per-client connections, request deadlines */
	/* limits, changed by api_server_set_limits(), read with __atomic_load_n() */
	size_t max_body;
	unsigned int max_connections, rate_limit, rate_burst;
	pthread_rwlock_t tokens_lock; /* guards the tokens and the CORS origins */
	char **tokens;
	size_t ntokens;
	char **origins;
	size_t norigins;
	unsigned int max_streams, max_client_streams, heartbeat;
	/* counters */
	unsigned int connections;
	unsigned int in_flight;
	bool stopping;
	/* waiting kmaps, oldest first; wait_lock guards the list and every waiter in it */
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond; /* the reaper's: a new deadline, or stop */
	struct waiter *waiters, **waiters_tail;
	unsigned long wake_seq; /* wake_machine() calls: a wake between a kmap's run and its
				 * queueing is not lost */
	pthread_t reaper;
	bool reaper_running, reaper_stop;
	/* event streams, under wait_lock too */
	struct stream *streams;
	/* the slow pool: requests of .slow routes, run off the HTTP workers (their connections
	 * suspended meanwhile), oldest first; slow_lock guards the queue */
	pthread_mutex_t slow_lock;
	pthread_cond_t slow_cond;
	struct request *slow_head, **slow_tail;
	pthread_t slow[API_SLOW_THREADS];
	unsigned int nslow;
	bool slow_stop;
};

/* An event stream of machine @machine (GET /events): the bytes it has still to send. */
struct stream {
	struct stream *next;
	struct api_server *srv;
	struct MHD_Connection *conn; /* NULL until its response is queued */
	char machine[64];
	char client[64];
	char *buf;
	size_t off, len, cap; /* buf[off..len) waits to be sent */
	bool ended;	      /* after what it has, the end */
	bool suspended;	      /* its connection is suspended (and nobody resumed it yet) */
	struct timespec next_ping;
};

#define STREAM_BUF_MAX (1u << 20)

/* A request waiting for a pkmap slot of machine @machine. */
struct waiter {
	struct waiter *next;
	struct MHD_Connection *conn;
	char machine[64];
	json_int_t pfn, cpu;	  /* what it asks for (GET /kmap lists it) */
	struct timespec start;	  /* when the request came */
	struct timespec deadline; /* CLOCK_MONOTONIC */
	bool suspended;		  /* the connection is suspended (and nobody resumed it yet) */
	bool rewake;		  /* woken while it was running: run again, do not suspend */
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
	int refused; /* 0, or -EDQUOT (rate limit), -ENOKEY (token), -EBADMSG (framing) */
	unsigned int retry_after; /* for -EDQUOT */
	const char *auth_error;	  /* for -ENOKEY: NULL, "invalid_request", "invalid_token" */
	const char *route;	  /* the route that answered (static), for /metrics */
	struct waiter *w;	  /* a kmap waiting for a pkmap slot, NULL otherwise */
	struct api_server *srv;
	bool counted;	       /* in /metrics already: counted when the answer is queued */
	char client[64];       /* the rate limit's key of its client */
	char cors_origin[256]; /* its Origin, when allowed; "" otherwise */
	bool cors_on;	       /* origins are configured: answers vary by Origin */
	bool origin_refused;   /* an Origin was sent and is not allowed */
	/* a request of a .slow route: run by the slow pool (@slow_req), answered (@slow_rep)
	 * when its connection is resumed */
	struct request *slow_next;
	struct MHD_Connection *conn;
	struct api_request slow_req;
	struct api_reply slow_rep;
	bool slow_queued, slow_done;
};

static unsigned int load_uint(const unsigned int *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

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

/* After SIGTERM, every answer closes its connection: keep-alive must not hold the stop. */
static bool close_if_stopping(struct api_server *srv, struct MHD_Response *resp)
{
	if (!__atomic_load_n(&srv->stopping, __ATOMIC_RELAXED))
		return true;
	return MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_YES;
}

/*
 * The headers every answer may carry: CORS for an allowed Origin, Vary (Origin when origins
 * are configured, Accept where the route negotiated), and the reply's ETag and Link.
 */
static bool common_headers(const struct request *rq, const struct api_reply *rep,
			   struct MHD_Response *resp)
{
	char vary[32] = "";

	if (rep && rep->vary_accept)
		snprintf(vary, sizeof(vary), "Accept");
	if (rq->cors_on)
		snprintf(vary + strlen(vary), sizeof(vary) - strlen(vary), "%sOrigin",
			 vary[0] ? ", " : "");
	if ((vary[0] && MHD_add_response_header(resp, "Vary", vary) == MHD_NO) ||
	    (rq->cors_origin[0] &&
	     (MHD_add_response_header(resp, "Access-Control-Allow-Origin", rq->cors_origin) ==
		      MHD_NO ||
	      MHD_add_response_header(resp, "Access-Control-Expose-Headers",
				      "ETag, Link, Location, Retry-After") == MHD_NO)))
		return false;
	if (rep && rep->etag[0] && MHD_add_response_header(resp, "ETag", rep->etag) == MHD_NO)
		return false;
	if (rep && rep->link[0] && MHD_add_response_header(resp, "Link", rep->link) == MHD_NO)
		return false;
	return true;
}

/* The serialized reply: JSON plus a final newline, or the text body. */
static struct MHD_Response *make_response(struct api_server *srv, const struct request *rq,
					  struct api_reply *rep)
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
		ctype = rep->content_type ? rep->content_type : "application/json";
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
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow) == MHD_NO) ||
	    !common_headers(rq, rep, resp) || !close_if_stopping(srv, resp)) {
		MHD_destroy_response(resp);
		return NULL;
	}
	for (const char *const *h = rep->headers; h && h[0] && h[1]; h += 2) {
		if (MHD_add_response_header(resp, h[0], h[1]) == MHD_NO) {
			MHD_destroy_response(resp);
			return NULL;
		}
	}
	if (rep->retry_after) {
		char v[16];

		snprintf(v, sizeof(v), "%u", rep->retry_after);
		if (MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v) == MHD_NO) {
			MHD_destroy_response(resp);
			return NULL;
		}
	}
	return resp;
}

/* ---- waiting kmaps ---------------------------------------------------------------------- */

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Resume @w's connection; wait_lock held. */
static void waiter_resume(struct waiter *w)
{
	w->suspended = false;
	MHD_resume_connection(w->conn);
}

/* A kunmap (or a restore, a deletion) on @machine: its first waiter runs again; wait_lock
 * held. */
static void wake_machine(struct api_server *srv, const char *machine)
{
	__atomic_add_fetch(&srv->wake_seq, 1, __ATOMIC_RELEASE);
	for (struct waiter *w = srv->waiters; w; w = w->next) {
		if (strcmp(w->machine, machine))
			continue;
		if (w->suspended)
			waiter_resume(w);
		else
			w->rewake = true;
		return;
	}
}

/* @rq's waiter leaves the queue (answered, or its connection closed); the next waiter of its
 * machine gets its chance. wait_lock held. */
static void waiter_remove(struct api_server *srv, struct request *rq)
{
	struct waiter *w = rq->w, **p;

	for (p = &srv->waiters; *p && *p != w; p = &(*p)->next)
		;
	if (*p) {
		*p = w->next;
		if (srv->waiters_tail == &w->next)
			srv->waiters_tail = p;
	}
	rq->w = NULL;
	wake_machine(srv, w->machine);
	free(w);
}

enum wait_outcome { WAIT_ANSWER, WAIT_SUSPENDED, WAIT_AGAIN };

/*
 * The router says this kmap would sleep: queue it (first time), then suspend its
 * connection, or run it again at once (woken meanwhile), or answer (time is up, shutting
 * down, out of memory).
 */
static enum wait_outcome kmap_wait(struct api_server *srv, struct MHD_Connection *conn,
				   struct request *rq, const struct api_reply *rep,
				   unsigned long seq)
{
	enum wait_outcome o = WAIT_ANSWER;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&srv->wait_lock);
	if (__atomic_load_n(&srv->stopping, __ATOMIC_RELAXED) || !srv->reaper_running)
		goto out;
	if (!rq->w) {
		struct waiter *w = calloc(1, sizeof(*w));

		if (!w)
			goto out;
		w->conn = conn;
		snprintf(w->machine, sizeof(w->machine), "%s", rep->wait_machine);
		w->start = rq->start;
		w->pfn = -1;
		if (rq->body) {
			json_t *b = json_loadb(rq->body, rq->len, 0, NULL);

			w->pfn = json_integer_value(json_object_get(b, "pfn"));
			w->cpu = json_integer_value(json_object_get(b, "cpu"));
			json_decref(b);
		}
		w->deadline = rq->start;
		w->deadline.tv_sec += rep->wait_ms / 1000;
		w->deadline.tv_nsec += (long)(rep->wait_ms % 1000) * 1000000L;
		if (w->deadline.tv_nsec >= 1000000000L) {
			w->deadline.tv_sec++;
			w->deadline.tv_nsec -= 1000000000L;
		}
		*srv->waiters_tail = w;
		srv->waiters_tail = &w->next;
		rq->w = w;
		pthread_cond_signal(&srv->wait_cond);
		/* a kunmap ran after this kmap and before it was queued: run it again */
		if (__atomic_load_n(&srv->wake_seq, __ATOMIC_ACQUIRE) != seq)
			w->rewake = true;
	}
	if (!before(&now, &rq->w->deadline))
		goto out;
	if (rq->w->rewake) {
		rq->w->rewake = false;
		o = WAIT_AGAIN;
		goto out;
	}
	rq->w->suspended = true;
	MHD_suspend_connection(conn);
	o = WAIT_SUSPENDED;
out:
	pthread_mutex_unlock(&srv->wait_lock);
	return o;
}

/* ---- event streams ------------------------------------------------------------------------ */

static void stream_kick(struct stream *st)
{
	if (st->suspended && st->conn) {
		st->suspended = false;
		MHD_resume_connection(st->conn);
	}
}

/* Queue @n bytes on @st; wait_lock held. Beyond STREAM_BUF_MAX waiting, the stream ends
 * after what it has (whole events): its client reconnects from its Last-Event-ID. */
static void stream_append(struct stream *st, const char *s, size_t n)
{
	if (st->ended)
		return;
	if (st->len - st->off + n > STREAM_BUF_MAX) {
		st->ended = true;
		return;
	}
	if (st->off && st->len + n > st->cap) {
		memmove(st->buf, st->buf + st->off, st->len - st->off);
		st->len -= st->off;
		st->off = 0;
	}
	if (st->len + n > st->cap) {
		size_t cap = st->cap ? st->cap : 4096;
		char *b;

		while (cap < st->len + n)
			cap *= 2;
		b = realloc(st->buf, cap);
		if (!b) {
			st->ended = true;
			return;
		}
		st->buf = b;
		st->cap = cap;
	}
	memcpy(st->buf + st->len, s, n);
	st->len += n;
}

static void stream_unlink(struct api_server *srv, struct stream *st)
{
	for (struct stream **p = &srv->streams; *p; p = &(*p)->next) {
		if (*p == st) {
			*p = st->next;
			return;
		}
	}
}

static void stream_free(struct stream *st)
{
	free(st->buf);
	free(st);
}

/* api_host.events_publish: the commands of @b, journaled from @first_seq, to @machine's
 * streams. */
static void server_events_publish(void *transport, const char *machine, int64_t first_seq,
				  const struct api_journal_batch *b)
{
	struct api_server *srv = transport;
	struct api_json_span *c = NULL, *r = NULL;
	struct api_text t = {0};
	bool any = false;

	pthread_mutex_lock(&srv->wait_lock);
	for (struct stream *st = srv->streams; st && !any; st = st->next)
		any = !strcmp(st->machine, machine);
	pthread_mutex_unlock(&srv->wait_lock);
	if (!any)
		return;
	if (api_txn_split_batch((int64_t)b->n, b->commands, b->commands_len, b->results,
				b->results_len, &c, &r) < 0)
		t.oom = true; /* the streams end below: they reconnect and replay */
	for (size_t i = 0; !t.oom && i < b->n; i++)
		api_event_command(&t, first_seq + (int64_t)i, b->time, c[i].text, c[i].len,
				  r[i].text, r[i].len);
	free(c);
	free(r);
	pthread_mutex_lock(&srv->wait_lock);
	for (struct stream *st = srv->streams; st; st = st->next) {
		if (strcmp(st->machine, machine))
			continue;
		if (t.oom)
			st->ended = true; /* it would miss events: it reconnects instead */
		else
			stream_append(st, t.data, t.len);
		stream_kick(st);
	}
	pthread_mutex_unlock(&srv->wait_lock);
	api_text_free(&t);
}

/* api_host.events_gone: @machine was deleted. */
static void server_events_gone(void *transport, const char *machine)
{
	struct api_server *srv = transport;
	char ev[160];
	int n = snprintf(ev, sizeof(ev), "event: deleted\ndata: {\"machine\":\"%.64s\"}\n\n",
			 machine);

	pthread_mutex_lock(&srv->wait_lock);
	for (struct stream *st = srv->streams; st; st = st->next) {
		if (strcmp(st->machine, machine))
			continue;
		stream_append(st, ev, (size_t)n);
		st->ended = true;
		stream_kick(st);
	}
	pthread_mutex_unlock(&srv->wait_lock);
}

static int server_events_subscribe(void *transport, const char *machine, const char *client,
				   const char *head, size_t head_len, bool then_end, void **ret,
				   struct mm_error *err)
{
	struct api_server *srv = transport;
	unsigned int max = load_uint(&srv->max_streams),
		     max_client = load_uint(&srv->max_client_streams);
	unsigned int n = 0, nc = 0;
	struct stream *st = calloc(1, sizeof(*st));

	if (!st)
		return api_error(err, -ENOMEM, "out of memory");
	st->srv = srv;
	snprintf(st->machine, sizeof(st->machine), "%s", machine);
	snprintf(st->client, sizeof(st->client), "%s", client);
	clock_gettime(CLOCK_MONOTONIC, &st->next_ping);
	st->next_ping.tv_sec += load_uint(&srv->heartbeat);
	stream_append(st, head, head_len);
	if (st->ended) {
		stream_free(st);
		return api_error(err, -ENOMEM, "out of memory");
	}
	st->ended = then_end;
	pthread_mutex_lock(&srv->wait_lock);
	for (struct stream *o = srv->streams; o; o = o->next) {
		n++;
		nc += !strcmp(o->client, st->client);
	}
	if (__atomic_load_n(&srv->stopping, __ATOMIC_RELAXED) || (max && n >= max)) {
		pthread_mutex_unlock(&srv->wait_lock);
		stream_free(st);
		return api_error(err, -EUSERS,
				 "every event stream of this server is in use (%u, "
				 "--max-event-streams); try again later",
				 n);
	}
	if (max_client && nc >= max_client) {
		pthread_mutex_unlock(&srv->wait_lock);
		stream_free(st);
		return api_error(err, -EMFILE,
				 "this client has %u event streams open already "
				 "(--max-client-event-streams); close one first",
				 nc);
	}
	st->next = srv->streams;
	srv->streams = st;
	pthread_mutex_unlock(&srv->wait_lock);
	*ret = st;
	return 0;
}

/* api_host.events_cancel: a stream whose response was never queued. */
static void server_events_cancel(void *transport, void *stream)
{
	struct api_server *srv = transport;

	pthread_mutex_lock(&srv->wait_lock);
	stream_unlink(srv, stream);
	pthread_mutex_unlock(&srv->wait_lock);
	stream_free(stream);
}

/* libmicrohttpd's content reader of a stream: what it has; the end once it has nothing and
 * is ended; else suspend the connection until there is more (no thread waits). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct api_server *srv = st->srv;
	ssize_t n;

	pthread_mutex_lock(&srv->wait_lock);
	if (st->len > st->off) {
		size_t k = st->len - st->off < max ? st->len - st->off : max;

		memcpy(buf, st->buf + st->off, k);
		st->off += k;
		if (st->off == st->len)
			st->off = st->len = 0;
		n = (ssize_t)k;
	} else if (st->ended || __atomic_load_n(&srv->stopping, __ATOMIC_RELAXED)) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else {
		st->suspended = true;
		MHD_suspend_connection(st->conn);
		n = 0;
	}
	pthread_mutex_unlock(&srv->wait_lock);
	return n;
}

/* The stream's response is gone (its connection closed): the stream goes too. */
static void stream_done(void *cls)
{
	struct stream *st = cls;
	struct api_server *srv = st->srv;

	pthread_mutex_lock(&srv->wait_lock);
	stream_unlink(srv, st);
	pthread_mutex_unlock(&srv->wait_lock);
	stream_free(st);
}

/* Every stream ends now (shutdown); wait_lock held. */
static void end_all_streams(struct api_server *srv)
{
	for (struct stream *st = srv->streams; st; st = st->next) {
		st->ended = true;
		stream_kick(st);
	}
}

/* The heartbeats that are due; wait_lock held. *@next: the earliest one still to come. */
static void streams_ping(struct api_server *srv, const struct timespec *now, struct timespec *next)
{
	for (struct stream *st = srv->streams; st; st = st->next) {
		if (!st->conn || st->ended)
			continue;
		if (!before(now, &st->next_ping)) {
			stream_append(st, ": ping\n\n", 8);
			stream_kick(st);
			st->next_ping = *now;
			st->next_ping.tv_sec += load_uint(&srv->heartbeat);
		}
		if (before(&st->next_ping, next))
			*next = st->next_ping;
	}
}

/* The reaper: resume the waiters whose time is up (they answer 503), and the event streams
 * whose heartbeat is due. */
static void *reaper_main(void *data)
{
	struct api_server *srv = data;

	pthread_mutex_lock(&srv->wait_lock);
	while (!srv->reaper_stop) {
		struct timespec now, next;

		clock_gettime(CLOCK_MONOTONIC, &now);
		next = now;
		next.tv_sec += 1;
		for (struct waiter *w = srv->waiters; w; w = w->next) {
			if (!w->suspended)
				continue;
			if (!before(&now, &w->deadline))
				waiter_resume(w);
			else if (before(&w->deadline, &next))
				next = w->deadline;
		}
		streams_ping(srv, &now, &next);
		pthread_cond_timedwait(&srv->wait_cond, &srv->wait_lock, &next);
	}
	pthread_mutex_unlock(&srv->wait_lock);
	return NULL;
}

/* api_host.kmap_waiters: @machine's waiting kmaps, oldest first. */
static json_t *server_kmap_waiters(void *transport, const char *machine)
{
	struct api_server *srv = transport;
	json_t *arr = json_array();
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&srv->wait_lock);
	for (struct waiter *w = srv->waiters; arr && w; w = w->next) {
		json_int_t ms = (json_int_t)(now.tv_sec - w->start.tv_sec) * 1000 +
				(now.tv_nsec - w->start.tv_nsec) / 1000000;

		if (strcmp(w->machine, machine))
			continue;
		if (json_array_append_new(arr, json_pack("{s:I, s:I, s:I}", "pfn", w->pfn, "cpu",
							 w->cpu, "waited_ms", ms))) {
			json_decref(arr);
			arr = NULL;
		}
	}
	pthread_mutex_unlock(&srv->wait_lock);
	return arr;
}

/* Every waiter answers now, and every event stream ends (shutdown). */
static void resume_all_waiters(struct api_server *srv)
{
	pthread_mutex_lock(&srv->wait_lock);
	for (struct waiter *w = srv->waiters; w; w = w->next)
		if (w->suspended)
			waiter_resume(w);
	end_all_streams(srv);
	pthread_mutex_unlock(&srv->wait_lock);
}

/*
 * Queue @resp with @status. The request is counted in /metrics now, before the client can
 * read the answer and ask again (NOTIFY_COMPLETED only comes after the answer was sent).
 */
static enum MHD_Result queue(struct MHD_Connection *conn, struct request *rq, unsigned int status,
			     struct MHD_Response *resp)
{
	struct api_metrics *m = rq->srv->host.metrics;

	rq->status = status;
	if (!rq->counted) {
		rq->counted = true;
		api_metrics_observe(m, rq->route, rq->method, status, ms_since(&rq->start) / 1e3);
		api_metrics_in_flight(m, -1);
	}
	return MHD_queue_response(conn, status, resp);
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
	ret = queue(conn, rq, 503, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- access ------------------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Who the rate limit counts this request against: the uid on a UNIX socket, else the IP
 * address (an IPv6 client has a whole /64: one host, many addresses). */
static void client_key(const struct listener *lc, struct MHD_Connection *conn, char *key,
		       size_t size)
{
	const union MHD_ConnectionInfo *ci;

	snprintf(key, size, "unknown");
	if (lc->local) {
		struct ucred cr;
		socklen_t len = sizeof(cr);

		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci && getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
			snprintf(key, size, "uid:%u", (unsigned int)cr.uid);
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ci->client_addr;

		inet_ntop(AF_INET, &in->sin_addr, key, (socklen_t)size);
	} else if (ci->client_addr->sa_family == AF_INET6) {
		struct in6_addr a = ((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr;
		char buf[INET6_ADDRSTRLEN];

		if (IN6_IS_ADDR_V4MAPPED(&a)) {
			inet_ntop(AF_INET, &a.s6_addr[12], key, (socklen_t)size);
			return;
		}
		memset(&a.s6_addr[8], 0, 8);
		inet_ntop(AF_INET6, &a, buf, sizeof(buf));
		snprintf(key, size, "%s/64", buf);
	}
}

/* Equal, in a time that depends on the lengths only. */
static bool token_equal(const char *given, size_t len, const char *token)
{
	size_t tlen = strlen(token);
	unsigned char d = len != tlen;

	for (size_t i = 0; i < len; i++)
		d |= (unsigned char)given[i] ^ (unsigned char)token[i % tlen];
	return d == 0;
}

/* "Bearer <token>" against the tokens. 0; or -ENOKEY with @rq->auth_error set. */
static int check_token(struct api_server *srv, struct MHD_Connection *conn, struct request *rq)
{
	const char *auth =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	bool ok = false;
	size_t len;

	if (!auth)
		return -ENOKEY; /* no credentials at all: no error code (RFC 6750 3.1) */
	auth += strspn(auth, " \t");
	if (strncasecmp(auth, "Bearer", 6) || (auth[6] != ' ' && auth[6] != '\t')) {
		rq->auth_error = "invalid_request";
		return -ENOKEY;
	}
	auth += 6;
	auth += strspn(auth, " \t");
	len = strcspn(auth, " \t");
	if (len == 0 || auth[len + strspn(auth + len, " \t")]) {
		rq->auth_error = "invalid_request";
		return -ENOKEY;
	}
	pthread_rwlock_rdlock(&srv->tokens_lock);
	for (size_t i = 0; i < srv->ntokens; i++)
		ok |= token_equal(auth, len, srv->tokens[i]);
	pthread_rwlock_unlock(&srv->tokens_lock);
	if (ok)
		return 0;
	rq->auth_error = "invalid_token";
	return -ENOKEY;
}

static bool needs_token(struct api_server *srv, const struct listener *lc, const char *method,
			const char *url)
{
	bool any;

	if (lc->local)
		return false;
	/* a CORS preflight carries no credentials (Fetch standard): it is answered without */
	if (!strcmp(method, "OPTIONS"))
		return false;
	if ((!strcmp(method, "GET") || !strcmp(method, "HEAD")) &&
	    (!strcmp(url, "/v1/health") || !strcmp(url, "/v1/health/")))
		return false;
	pthread_rwlock_rdlock(&srv->tokens_lock);
	any = srv->ntokens > 0;
	pthread_rwlock_unlock(&srv->tokens_lock);
	return any;
}

/* The tracked connection of @conn (NULL when untracked). */
static struct api_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

struct framing {
	const char *length; /* the first Content-Length */
	bool lengths_differ, chunked;
};

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct framing *f = cls;

	if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
		if (f->length && strcmp(f->length, value ? value : ""))
			f->lengths_differ = true;
		else if (!f->length)
			f->length = value ? value : "";
	} else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		f->chunked = true;
	}
	return MHD_YES;
}

/* RFC 9112 6.3: a message with both Transfer-Encoding and Content-Length, or two different
 * Content-Lengths, has no one length: behind a proxy that picks the other one, the rest of
 * the bytes would be read as a second, smuggled request. Such a request is refused. */
static bool framing_ambiguous(struct MHD_Connection *conn)
{
	struct framing f = {0};

	MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
	return f.lengths_differ || (f.chunked && f.length);
}

/* Decide, when the headers are in, whether the request is refused (server.h: 2 and 3). */
static void check_access(const struct listener *lc, struct MHD_Connection *conn, struct request *rq,
			 const char *method, const char *url)
{
	struct api_server *srv = lc->srv;
	unsigned int rate = load_uint(&srv->rate_limit);

	if (framing_ambiguous(conn)) {
		rq->refused = -EBADMSG;
		return;
	}
	if (rate) {
		char key[64];

		client_key(lc, conn, key, sizeof(key));
		if (!api_ratelimit_take(srv->rl, key, now_s(), rate, load_uint(&srv->rate_burst),
					&rq->retry_after)) {
			rq->refused = -EDQUOT;
			return;
		}
	}
	if (needs_token(srv, lc, method, url))
		rq->refused = check_token(srv, conn, rq);
}

/* The answer to a refused request: 429 with Retry-After, 401 with WWW-Authenticate, or 400
 * closing the connection (ambiguous framing). */
static enum MHD_Result queue_refusal(struct api_server *srv, struct MHD_Connection *conn,
				     struct request *rq, const char *url)
{
	const struct api_problem_type *pt = api_problem_lookup(rq->refused);
	struct MHD_Response *resp;
	char detail[160], hdr[96];
	enum MHD_Result ret;
	json_t *p;
	char *s;

	if (rq->refused == -EBADMSG) {
		snprintf(
			detail, sizeof(detail),
			"the request's length is ambiguous: Content-Length with Transfer-Encoding, "
			"or two different Content-Lengths (RFC 9112 6.3)");
		hdr[0] = '\0';
	} else if (rq->refused == -EDQUOT) {
		snprintf(detail, sizeof(detail),
			 "more than %u requests per second (bursts of %u) from your address; "
			 "retry in %u s",
			 load_uint(&srv->rate_limit), load_uint(&srv->rate_burst), rq->retry_after);
		snprintf(hdr, sizeof(hdr), "%u", rq->retry_after);
	} else {
		snprintf(detail, sizeof(detail), "%s",
			 !rq->auth_error ? "this server needs a bearer token: send "
					   "'Authorization: Bearer <token>'"
			 : !strcmp(rq->auth_error, "invalid_token")
				 ? "the bearer token is not one this server accepts"
				 : "the Authorization header is not 'Bearer <token>'");
		snprintf(hdr, sizeof(hdr), "Bearer realm=\"mm32d\"%s%s%s",
			 rq->auth_error ? ", error=\"" : "", rq->auth_error ? rq->auth_error : "",
			 rq->auth_error ? "\"" : "");
	}
	p = api_problem_new(rq->refused, detail, url);
	s = p ? json_dumps(p, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(p);
	if (!s)
		return queue_static_oom(conn, rq);
	resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return queue_static_oom(conn, rq);
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "application/problem+json") == MHD_NO ||
	    (hdr[0] &&
	     MHD_add_response_header(resp,
				     rq->refused == -EDQUOT ? MHD_HTTP_HEADER_RETRY_AFTER
							    : MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				     hdr) == MHD_NO) ||
	    /* the bytes after an ambiguous request cannot be trusted to start the next one */
	    (rq->refused == -EBADMSG &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") == MHD_NO) ||
	    !common_headers(rq, NULL, resp) || !close_if_stopping(srv, resp)) {
		MHD_destroy_response(resp);
		return queue_static_oom(conn, rq);
	}
	ret = queue(conn, rq, pt->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- CORS ------------------------------------------------------------------------------- */

/* The request's Origin against the allowed origins (server.h). */
static void cors_check(struct api_server *srv, struct MHD_Connection *conn, struct request *rq)
{
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");

	pthread_rwlock_rdlock(&srv->tokens_lock);
	rq->cors_on = srv->norigins > 0;
	for (size_t i = 0; origin && i < srv->norigins; i++) {
		if (!strcmp(srv->origins[i], "*") || !strcasecmp(srv->origins[i], origin)) {
			snprintf(rq->cors_origin, sizeof(rq->cors_origin), "%s", origin);
			break;
		}
	}
	pthread_rwlock_unlock(&srv->tokens_lock);
	rq->origin_refused = origin && !rq->cors_origin[0];
}

/*
 * OPTIONS on any route: 204 with Allow; a preflight (Origin and Access-Control-Request-Method)
 * of an allowed origin also gets what it may send; of another origin, 403. An unknown path is
 * 404 as for any method.
 */
static enum MHD_Result queue_options(struct api_server *srv, struct MHD_Connection *conn,
				     struct request *rq, const struct api_request *req)
{
	struct api_request probe = *req;
	struct api_reply rep;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char allow[64];
	bool preflight = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     "Access-Control-Request-Method") != NULL;
	int e = 0;

	/* the router's 405 says which methods the path has (404: none) */
	probe.method = "OPTIONS";
	api_dispatch(&srv->host, &probe, &rep);
	rq->route = rep.route;
	if (rep.status == 404)
		e = -ENOENT;
	else if (rq->origin_refused && preflight)
		e = -EPERM;
	if (e) {
		char detail[200];

		api_reply_finish(&rep);
		snprintf(detail, sizeof(detail), "%s",
			 e == -ENOENT
				 ? "no such resource"
				 : "this origin may not call the API: mm32d allows the origins of "
				   "--cors-origin (cors-origin = in its configuration file)");
		rep = (struct api_reply){.status = api_problem_lookup(e)->status, .problem = true};
		rep.json = api_problem_new(e, detail, req->url);
	} else {
		snprintf(allow, sizeof(allow), "%s, OPTIONS", rep.allow);
		api_reply_finish(&rep);
		rep = (struct api_reply){.status = 204};
	}
	resp = make_response(srv, rq, &rep);
	if (resp && !e &&
	    (MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) == MHD_NO ||
	     (preflight && rq->cors_origin[0] &&
	      (MHD_add_response_header(resp, "Access-Control-Allow-Methods", allow) == MHD_NO ||
	       MHD_add_response_header(resp, "Access-Control-Allow-Headers",
				       "Authorization, Content-Type, If-None-Match, "
				       "Last-Event-ID, Accept") == MHD_NO ||
	       MHD_add_response_header(resp, "Access-Control-Max-Age", "600") == MHD_NO)))) {
		MHD_destroy_response(resp);
		resp = NULL;
	}
	if (!resp) {
		api_reply_finish(&rep);
		return queue_static_oom(conn, rq);
	}
	ret = queue(conn, rq, rep.status, resp);
	MHD_destroy_response(resp);
	api_reply_finish(&rep);
	return ret;
}

/* An event stream (api_reply.stream): text/event-stream from stream_read(). */
static enum MHD_Result queue_stream(struct api_server *srv, struct MHD_Connection *conn,
				    struct request *rq, struct api_reply *rep)
{
	struct stream *st = rep->stream;
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
								      stream_read, st, stream_done);
	enum MHD_Result ret;

	rep->stream = NULL;
	if (!resp) {
		server_events_cancel(srv, st);
		api_reply_finish(rep);
		return queue_static_oom(conn, rq);
	}
	/* from here on the response owns the stream (stream_done()) */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream") ==
		    MHD_NO ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_NO ||
	    MHD_add_response_header(resp, "X-Accel-Buffering", "no") == MHD_NO ||
	    !common_headers(rq, rep, resp) || !close_if_stopping(srv, resp)) {
		MHD_destroy_response(resp);
		api_reply_finish(rep);
		return queue_static_oom(conn, rq);
	}
	pthread_mutex_lock(&srv->wait_lock);
	st->conn = conn;
	pthread_mutex_unlock(&srv->wait_lock);
	ret = queue(conn, rq, 200, resp);
	MHD_destroy_response(resp);
	api_reply_finish(rep);
	return ret;
}

/* ---- libmicrohttpd's callbacks --------------------------------------------------------- */

/* ---- the slow pool ------------------------------------------------------------------------- */

/* Suspend @conn and queue @rq (a request of a .slow route) for the slow pool. */
static void slow_queue(struct api_server *srv, struct MHD_Connection *conn, struct request *rq,
		       const struct api_request *req)
{
	rq->conn = conn;
	rq->slow_req = *req; /* its strings are MHD's or @rq's: valid until the request ends */
	rq->slow_queued = true;
	MHD_suspend_connection(conn);
	pthread_mutex_lock(&srv->slow_lock);
	rq->slow_next = NULL;
	*srv->slow_tail = rq;
	srv->slow_tail = &rq->slow_next;
	pthread_cond_signal(&srv->slow_cond);
	pthread_mutex_unlock(&srv->slow_lock);
}

/* A thread of the slow pool: dispatch, then resume the connection, whose next call of
 * on_access() queues the answer. At stop the queue is drained first. */
static void *slow_main(void *data)
{
	struct api_server *srv = data;

	pthread_mutex_lock(&srv->slow_lock);
	for (;;) {
		struct request *rq = srv->slow_head;

		if (!rq) {
			if (srv->slow_stop)
				break;
			pthread_cond_wait(&srv->slow_cond, &srv->slow_lock);
			continue;
		}
		srv->slow_head = rq->slow_next;
		if (!srv->slow_head)
			srv->slow_tail = &srv->slow_head;
		pthread_mutex_unlock(&srv->slow_lock);
		api_dispatch(&srv->host, &rq->slow_req, &rq->slow_rep);
		rq->slow_done = true;
		MHD_resume_connection(rq->conn);
		pthread_mutex_lock(&srv->slow_lock);
	}
	pthread_mutex_unlock(&srv->slow_lock);
	return NULL;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls)
{
	struct listener *lc = cls;
	struct api_server *srv = lc->srv;
	struct request *rq = *req_cls;
	struct api_request req;
	struct api_reply rep;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned long seq;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		rq->method = strdup(method);
		rq->url = strdup(url);
		rq->srv = srv;
		*req_cls = rq;
		__atomic_add_fetch(&srv->in_flight, 1, __ATOMIC_RELAXED);
		api_metrics_in_flight(srv->host.metrics, 1);
		api_conn_headers(srv->ct, conn_of(conn));
		client_key(lc, conn, rq->client, sizeof(rq->client));
		cors_check(srv, conn, rq);
		check_access(lc, conn, rq, method, url);
		return MHD_YES;
	}
	if (*upload_data_size) {
		int r = 0;

		/* a refused request's body is read and dropped: the connection stays usable */
		if (!rq->refused)
			r = body_append(rq, upload_data, *upload_data_size,
					__atomic_load_n(&srv->max_body, __ATOMIC_RELAXED));
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
	api_conn_busy(srv->ct, conn_of(conn));
	if (rq->refused)
		return queue_refusal(srv, conn, rq, url);
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
		.if_none_match = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_IF_NONE_MATCH),
		.last_event_id =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID"),
		.client = rq->client,
		.body = rq->body,
		.body_len = rq->len,
		.body_too_large = rq->too_large,
	};
	if (!strcmp(method, "OPTIONS"))
		return queue_options(srv, conn, rq, &req);
	if (rq->slow_done) { /* back from the slow pool: its answer */
		rep = rq->slow_rep;
		rq->slow_done = false;
		seq = __atomic_load_n(&srv->wake_seq, __ATOMIC_ACQUIRE);
		goto answered;
	}
	/* no read is slow: a GET or HEAD never pays for the route lookup */
	if (!rq->slow_queued && srv->nslow && method[0] != 'G' && method[0] != 'H' &&
	    !__atomic_load_n(&srv->stopping, __ATOMIC_RELAXED) &&
	    api_route_slow(&srv->host, method, url)) {
		slow_queue(srv, conn, rq, &req);
		return MHD_YES;
	}
again:
	seq = __atomic_load_n(&srv->wake_seq, __ATOMIC_ACQUIRE);
	api_dispatch(&srv->host, &req, &rep);
answered:
	rq->route = rep.route;
	if (rep.stream)
		return queue_stream(srv, conn, rq, &rep);
	if (rep.wake[0] || rep.wait_ms || rq->w) {
		enum wait_outcome o = WAIT_ANSWER;

		if (rep.wake[0]) {
			pthread_mutex_lock(&srv->wait_lock);
			wake_machine(srv, rep.wake);
			pthread_mutex_unlock(&srv->wait_lock);
		}
		if (rep.wait_ms)
			o = kmap_wait(srv, conn, rq, &rep, seq);
		if (o != WAIT_ANSWER) {
			api_reply_finish(&rep);
			if (o == WAIT_AGAIN)
				goto again;
			return MHD_YES;
		}
		if (rq->w) {
			pthread_mutex_lock(&srv->wait_lock);
			waiter_remove(srv, rq);
			pthread_mutex_unlock(&srv->wait_lock);
		}
	}
	resp = make_response(srv, rq, &rep);
	if (!resp) {
		api_reply_finish(&rep);
		return queue_static_oom(conn, rq);
	}
	ret = queue(conn, rq, rep.status, resp);
	MHD_destroy_response(resp);
	api_reply_finish(&rep);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct listener *lc = cls;
	struct api_server *srv = lc->srv;
	struct request *rq = *req_cls;
	double ms;

	if (!rq)
		return;
	api_conn_answered(srv->ct, conn_of(conn));
	if (rq->w) { /* closed while waiting */
		pthread_mutex_lock(&srv->wait_lock);
		waiter_remove(srv, rq);
		pthread_mutex_unlock(&srv->wait_lock);
	}
	ms = ms_since(&rq->start);
	/* a request whose connection went away before its answer was queued */
	if (!rq->counted)
		api_metrics_in_flight(srv->host.metrics, -1);
	if (rq->slow_done) /* answered by the slow pool, but the connection went away */
		api_reply_finish(&rq->slow_rep);
	if (srv->opts.on_request)
		srv->opts.on_request(srv->opts.cb_data, rq->method ? rq->method : "?",
				     rq->url ? rq->url : "?", rq->status, ms);
	free(rq->body);
	free(rq->query);
	free(rq->method);
	free(rq->url);
	free(rq);
	*req_cls = NULL;
	__atomic_sub_fetch(&srv->in_flight, 1, __ATOMIC_RELEASE);
}

/*
 * The connection limit (server.h: 1): refuse at accept() time, before any byte is read.
 * The slot is taken here, atomically, so that workers accepting at the same time cannot
 * both take the last one; NOTIFY_CONNECTION gives it back when the connection closes.
 * (Should libmicrohttpd drop a connection between this call and its STARTED notification,
 * which it does only when the host is out of memory, that slot stays taken.)
 */
static enum MHD_Result on_accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct listener *lc = cls;
	struct api_server *srv = lc->srv;
	unsigned int max = load_uint(&srv->max_connections);
	unsigned int cur = load_uint(&srv->connections);

	do {
		if (max && cur >= max) {
			api_metrics_refused(srv->host.metrics);
			return MHD_NO;
		}
	} while (!__atomic_compare_exchange_n(&srv->connections, &cur, cur + 1, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return MHD_YES;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct listener *lc = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		char key[64];

		api_metrics_connection(lc->srv->host.metrics, 1);
		client_key(lc, conn, key, sizeof(key));
		/* NULL: shut down already (the client's limit); libmicrohttpd closes it */
		*socket_context = ci ? api_conn_open(lc->srv->ct, ci->connect_fd, key) : NULL;
		return;
	}
	api_conn_close(lc->srv->ct, *socket_context);
	*socket_context = NULL;
	__atomic_sub_fetch(&lc->srv->connections, 1, __ATOMIC_RELAXED);
	api_metrics_connection(lc->srv->host.metrics, -1);
}

/*
 * "%HH" decoding in place, but for "%00" and "%2F": a NUL would cut the path short and make
 * "/v1/health%00.html" another name of "/v1/health", and a decoded '/' would make
 * "/v1/machines/a%2Fcheck" the route "/v1/machines/a/check". Left encoded, they are
 * characters of one segment (and no machine name has them). Returns the new length.
 */
static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		int hi = r[0] == '%' ? api_hex_digit(r[1]) : -1,
		    lo = hi >= 0 ? api_hex_digit(r[2]) : -1;
		int c = hi * 16 + lo;

		if (hi < 0 || lo < 0 || c == 0 || c == '/') {
			*w++ = *r;
			continue;
		}
		*w++ = (char)c;
		r += 2;
	}
	*w = '\0';
	return (size_t)(w - s);
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap)
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

/* ---- the server ---------------------------------------------------------------------------- */

static void tokens_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

/* A copy of @n strings (NULL for none); -ENOMEM. */
static int strings_dup(char *const *src, size_t n, char ***ret)
{
	char **v = NULL;

	*ret = NULL;
	if (!n)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(src[i]);
		if (!v[i]) {
			tokens_free(v, i);
			return -ENOMEM;
		}
	}
	*ret = v;
	return 0;
}

int api_server_set_limits(struct api_server *srv, const struct api_limits *lim)
{
	char **v = NULL, **old, **origins, **old_origins;
	size_t nold, nold_origins;

	if (lim->ntokens) {
		v = calloc(lim->ntokens, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < lim->ntokens; i++) {
			v[i] = strdup(lim->tokens[i]);
			if (!v[i]) {
				tokens_free(v, i);
				return -ENOMEM;
			}
		}
	}
	if (strings_dup(lim->cors_origins, lim->ncors_origins, &origins) < 0) {
		tokens_free(v, lim->ntokens);
		return -ENOMEM;
	}
	pthread_rwlock_wrlock(&srv->tokens_lock);
	old = srv->tokens;
	nold = srv->ntokens;
	srv->tokens = v;
	srv->ntokens = lim->ntokens;
	old_origins = srv->origins;
	nold_origins = srv->norigins;
	srv->origins = origins;
	srv->norigins = lim->ncors_origins;
	pthread_rwlock_unlock(&srv->tokens_lock);
	tokens_free(old, nold);
	tokens_free(old_origins, nold_origins);
	__atomic_store_n(&srv->max_streams, lim->max_event_streams, __ATOMIC_RELAXED);
	__atomic_store_n(&srv->max_client_streams, lim->max_client_event_streams, __ATOMIC_RELAXED);
	__atomic_store_n(&srv->heartbeat, lim->event_heartbeat ? lim->event_heartbeat : 15,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&srv->max_body, lim->max_body, __ATOMIC_RELAXED);
	__atomic_store_n(&srv->max_connections, lim->max_connections, __ATOMIC_RELAXED);
	api_conntrack_set(srv->ct, lim->max_client_connections, lim->request_timeout);
	__atomic_store_n(&srv->rate_limit, lim->rate_limit, __ATOMIC_RELAXED);
	__atomic_store_n(&srv->rate_burst, lim->rate_burst ? lim->rate_burst : 1, __ATOMIC_RELAXED);
	return 0;
}

static int listener_start(struct api_server *srv, struct listener *lc,
			  const struct api_listener *al, struct mm_error *err)
{
	unsigned int flags = MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
	struct MHD_OptionItem ops[8];
	int n = 0;

	lc->srv = srv;
	lc->local = al->local;
	lc->quiesced_fd = -1;
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES)
		flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
	else
		flags |= MHD_USE_INTERNAL_POLLING_THREAD;
	if (al->fd < 0 && al->addr && al->addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;

	ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, lc};
	ops[n++] =
		(struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, lc};
	ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL};
	ops[n++] =
		(struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK, (intptr_t)on_unescape, NULL};
	if (srv->opts.threads > 1)
		ops[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
						   (intptr_t)srv->opts.threads, NULL};
	if (al->fd >= 0)
		ops[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, al->fd, NULL};
	else
		ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)al->addr};
	ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	/* the logger must come first, or MHD prints its early messages itself */
	errno = 0;
	lc->mhd = MHD_start_daemon(flags, 0, on_accept_policy, lc, on_access, lc,
				   MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv, MHD_OPTION_ARRAY,
				   ops, MHD_OPTION_END);
	if (!lc->mhd) {
		int e = errno ? errno : EADDRINUSE;

		return api_error(err, -e, "cannot start the HTTP server: %s", strerror(e));
	}
	return 0;
}

int api_server_start(const struct api_server_options *opts, const struct api_host *host,
		     struct api_server **ret, struct mm_error *err)
{
	struct api_server *srv;
	int r;

	if (opts->nlisteners < 1 || opts->nlisteners > API_LISTENERS_MAX)
		return api_error(err, -EINVAL, "1 to %d listeners, not %zu", API_LISTENERS_MAX,
				 opts->nlisteners);
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return api_error(err, -ENOMEM, "out of memory");
	pthread_rwlock_init(&srv->tokens_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_mutex_init(&srv->wait_lock, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&srv->wait_cond, &ca);
		pthread_condattr_destroy(&ca);
		srv->waiters_tail = &srv->waiters;
		/* without the reaper, kmaps that would sleep answer 503 at once */
		srv->reaper_running = pthread_create(&srv->reaper, NULL, reaper_main, srv) == 0;
	}
	pthread_mutex_init(&srv->slow_lock, NULL);
	pthread_cond_init(&srv->slow_cond, NULL);
	srv->slow_tail = &srv->slow_head;
	/* without a slow pool, slow requests run on the HTTP workers as any other */
	while (srv->nslow < API_SLOW_THREADS &&
	       pthread_create(&srv->slow[srv->nslow], NULL, slow_main, srv) == 0)
		srv->nslow++;
	srv->host = *host;
	srv->host.kmap_waiters = server_kmap_waiters;
	srv->host.events_publish = server_events_publish;
	srv->host.events_gone = server_events_gone;
	srv->host.events_subscribe = server_events_subscribe;
	srv->host.events_cancel = server_events_cancel;
	srv->host.transport = srv;
	srv->opts = *opts;
	srv->opts.listeners = NULL;
	srv->opts.limits.tokens = NULL;
	srv->opts.limits.cors_origins = NULL;
	if (srv->opts.threads < 1)
		srv->opts.threads = 1;
	if (api_ratelimit_create(&srv->rl) < 0 ||
	    api_conntrack_create(host->metrics, &srv->ct) < 0 ||
	    api_server_set_limits(srv, &opts->limits) < 0) {
		api_server_stop(srv);
		return api_error(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < opts->nlisteners; i++) {
		r = listener_start(srv, &srv->l[i], &opts->listeners[i], err);
		if (r < 0) {
			api_server_stop(srv);
			return r;
		}
		srv->n++;
	}
	*ret = srv;
	return 0;
}

uint16_t api_server_port(const struct api_server *srv, size_t i)
{
	const union MHD_DaemonInfo *info;

	if (i >= srv->n || srv->l[i].local)
		return 0;
	info = MHD_get_daemon_info(srv->l[i].mhd, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

unsigned int api_server_in_flight(const struct api_server *srv)
{
	return __atomic_load_n(&srv->in_flight, __ATOMIC_ACQUIRE);
}

unsigned int api_server_shutdown(struct api_server *srv, unsigned int timeout_ms)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	unsigned int left, waited = 0;

	if (!srv)
		return 0;
	__atomic_store_n(&srv->stopping, true, __ATOMIC_RELAXED);
	for (size_t i = 0; i < srv->n; i++) {
		MHD_socket fd = MHD_quiesce_daemon(srv->l[i].mhd);

		srv->l[i].quiesced_fd = fd == MHD_INVALID_SOCKET ? -1 : fd;
	}
	resume_all_waiters(srv);
	while ((left = api_server_in_flight(srv)) && waited < timeout_ms) {
		nanosleep(&tick, NULL);
		waited += 10;
	}
	api_server_stop(srv);
	return left;
}

void api_server_stop(struct api_server *srv)
{
	if (!srv)
		return;
	__atomic_store_n(&srv->stopping, true, __ATOMIC_RELAXED);
	resume_all_waiters(srv);
	/* the slow pool finishes what it was given (and resumes those connections) first */
	pthread_mutex_lock(&srv->slow_lock);
	srv->slow_stop = true;
	pthread_cond_broadcast(&srv->slow_cond);
	pthread_mutex_unlock(&srv->slow_lock);
	for (unsigned int i = 0; i < srv->nslow; i++)
		pthread_join(srv->slow[i], NULL);
	srv->nslow = 0;
	for (size_t i = 0; i < srv->n; i++) {
		MHD_stop_daemon(srv->l[i].mhd);
		if (srv->l[i].quiesced_fd >= 0)
			close(srv->l[i].quiesced_fd);
	}
	api_conntrack_destroy(srv->ct); /* after MHD: no callback uses it any more */
	if (srv->reaper_running) {
		pthread_mutex_lock(&srv->wait_lock);
		srv->reaper_stop = true;
		pthread_cond_signal(&srv->wait_cond);
		pthread_mutex_unlock(&srv->wait_lock);
		pthread_join(srv->reaper, NULL);
	}
	while (srv->waiters) { /* connections MHD_stop_daemon() closed without completion */
		struct waiter *w = srv->waiters;

		srv->waiters = w->next;
		free(w);
	}
	while (srv->streams) { /* streams whose response never came to be */
		struct stream *st = srv->streams;

		srv->streams = st->next;
		stream_free(st);
	}
	pthread_cond_destroy(&srv->wait_cond);
	pthread_mutex_destroy(&srv->wait_lock);
	pthread_cond_destroy(&srv->slow_cond);
	pthread_mutex_destroy(&srv->slow_lock);
	api_ratelimit_destroy(srv->rl);
	tokens_free(srv->tokens, srv->ntokens);
	tokens_free(srv->origins, srv->norigins);
	pthread_rwlock_destroy(&srv->tokens_lock);
	free(srv);
}
