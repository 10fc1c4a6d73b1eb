/* SPDX-License-Identifier: MIT */
/*
 * router.h - routes, handlers and the interface to whoever owns the machines.
 *
 * api/ does not own machines, locks or the journal: the daemon does (daemon/registry.c).
 * It reaches them through struct api_host_ops, a small vtable, so that this layer stays
 * within its dependency rule (mmcore, Jansson, libmicrohttpd) and tests can drive every
 * route with an in-memory host. api_dispatch() is pure request -> reply: it knows nothing
 * of sockets, which keeps the libmicrohttpd plumbing (server.c) small.
 *
 * Invariants:
 *  - a machine is touched only between machine_acquire() and machine_release(), which
 *    the host implements as the machine's mutex;
 *  - a command changes a machine only through api_command_run(), and its journal entry
 *    is committed (journal_append()) before the reply is built; the commands of one
 *    request, a batch, are one journal append;
 *  - every failure becomes a problem+json reply through problem.c; nothing here logs.
 */
#ifndef API_ROUTER_H
#define API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "codec.h"
#include "mmcore.h"

#define API_BATCH_MAX 10000

/* A locked machine, handed out by the host. */
struct api_lease {
	const char *id;	      /* borrowed; valid until release */
	struct mm_machine *m; /* valid until release */
	void *handle;	      /* the host's */
};

/*
 * Commands that ran, in order, and their results: two JSON arrays of @n elements, as text
 * (borrowed). The journal keeps them as they are; replay reads them back.
 */
struct api_journal_batch {
	size_t n;
	const char *commands;
	size_t commands_len;
	const char *results;
	size_t results_len;
};

struct api_host_ops {
	/*
	 * Create and register a machine named @name ("" to pick the first free "m<N>").
	 * On success the machine is persisted and *@ret is its lease, already locked.
	 * Return: 0; -EEXIST for a duplicate name; mm_machine_create()'s errors; -EIO.
	 */
	int (*machine_create)(void *data, const char *name, const struct mm_config *cfg,
			      struct api_lease *ret, struct mm_error *err);
	/* Unregister, forget (store and journal) and destroy. -ENOENT if unknown. */
	int (*machine_delete)(void *data, const char *id, struct mm_error *err);
	/* All ids, sorted; *@ret is a new reference to an array of strings. */
	int (*machine_ids)(void *data, json_t **ret, struct mm_error *err);
	/* Look up and lock. -ENOENT if unknown. */
	int (*machine_acquire)(void *data, const char *id, struct api_lease *ret,
			       struct mm_error *err);
	void (*machine_release)(void *data, struct api_lease *lease);
	/*
	 * Commit the @b->n commands of @b as the next journal entries, in one transaction:
	 * when it returns 0 all of them are durable, otherwise none is.
	 * *@ret_first_seq is the number of the first; the others follow it.
	 */
	int (*journal_append)(void *data, struct api_lease *lease,
			      const struct api_journal_batch *b, int64_t *ret_first_seq,
			      struct mm_error *err);
	/* The journal as [{"seq","time","command","result"}], seq ascending (new reference). */
	int (*journal_list)(void *data, struct api_lease *lease, json_t **ret,
			    struct mm_error *err);
};

struct api_host {
	const struct api_host_ops *ops;
	void *data;
	struct api_metrics *metrics; /* request counters for GET /metrics; may be NULL */
};

/* What to answer: a JSON document or text, with a status and maybe a few headers. */
struct api_reply {
	unsigned int status;
	json_t *json;	 /* owned; NULL for text or empty bodies */
	char *json_text; /* owned (malloc); a JSON body already written, used when json is NULL */
	size_t json_text_len;
	struct mm_buf text; /* owned; used when json is NULL and text.data is set */
	bool problem;	    /* json is application/problem+json */
	char allow[48];	    /* for 405: "GET, HEAD, POST" */
	char location[128]; /* for 201 */
	const char *route;  /* the matched route's pattern (static), NULL when none matched */
	/* static; when set, the Content-Type of json_text, which then holds another text */
	const char *content_type;
};

void api_reply_finish(struct api_reply *r);

/* One argument of the query string, decoded; @value is NULL for "?key" without '='. */
struct api_query_arg {
	const char *key;
	const char *value;
};

/* The body of a request as received by the transport. */
struct api_request {
	const char *method;
	const char *url;		   /* the decoded path, without the query string */
	const struct api_query_arg *query; /* the query string's arguments, in order */
	size_t nquery;
	const char *content_type; /* NULL when absent */
	const char *accept;	  /* the Accept header; NULL when absent */
	const char *body;	  /* may be NULL when body_len == 0 */
	size_t body_len;
	bool body_too_large; /* the transport dropped a body beyond its limit */
};

/* Route @req to its handler and fill @out (zeroed by the caller or not: it is reset). */
void api_dispatch(const struct api_host *host, const struct api_request *req,
		  struct api_reply *out);

#endif /* API_ROUTER_H */
