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

struct api_exec_env;
struct api_persist_ops;

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
	/* Snapshots, jobs, sessions; NULL in a host without a store (their routes: 404). */
	const struct api_persist_ops *persist;
};

/* What POST /v1/sessions/{id}/replay asks for. */
struct api_replay_req {
	const char *name;  /* of the new machine; "" to pick the first free "m<N>" */
	int64_t until_seq; /* replay entries 1..until_seq; -1: all of them */
	bool verify;	   /* compare each result with the recorded one */
};

/*
 * Persistence (the daemon's store): every document is a new reference (ROUTES.md and
 * openapi.yaml give their members). Routes under /v1/machines/{id} pass the lease.
 */
struct api_persist_ops {
	/* {"algorithm","hash","seq"}: the state hash of the machine after journal entry seq. */
	int (*state_hash)(void *data, struct api_lease *lease, json_t **ret, struct mm_error *err);
	/* The environment of the executor for commands on the leased machine. */
	const struct api_exec_env *(*exec_env)(void *data, struct api_lease *lease);
	/* A command replaced the leased machine by @m (snapshot_restore): swap it in, destroy
	 * the old one, and update @lease. */
	void (*machine_replace)(void *data, struct api_lease *lease, struct mm_machine *m);
	/*
	 * Snapshot the leased machine: *@ret is the snapshot, or (*@ret_job) the job that takes
	 * it, started and reserving the machine. @async: 1 always a job, 0 never, -1 a job when
	 * the machine has much RAM to read.
	 */
	int (*snapshot_create)(void *data, struct api_lease *lease, const char *label, int async,
			       json_t **ret, bool *ret_job, struct mm_error *err);
	/* {"snapshots": [...], "storage": {...}} of the leased machine. */
	int (*snapshot_list)(void *data, struct api_lease *lease, json_t **ret,
			     struct mm_error *err);
	/* Snapshot @id of the leased machine; -ENOENT when it is not one of its snapshots. */
	int (*snapshot_get)(void *data, struct api_lease *lease, int64_t id, json_t **ret,
			    struct mm_error *err);
	/* Delete snapshot @id of machine @machine (not leased: it may wait for a collection). */
	int (*snapshot_delete)(void *data, const char *machine, int64_t id, json_t **ret,
			       struct mm_error *err);
	/* A new machine from snapshot @id, named @name ("" to pick); *@ret is its lease, locked
	 * (as machine_create). -ENOENT for an unknown snapshot. */
	int (*machine_clone)(void *data, const char *name, int64_t id, struct api_lease *ret,
			     struct mm_error *err);
	int (*job_get)(void *data, int64_t id, json_t **ret, struct mm_error *err);
	int (*job_list)(void *data, json_t **ret, struct mm_error *err);
	int (*session_list)(void *data, json_t **ret, struct mm_error *err);
	int (*session_get)(void *data, const char *id, json_t **ret, struct mm_error *err);
	/* The NDJSON export of session @id, appended to @out. */
	int (*session_export)(void *data, const char *id, struct api_text *out,
			      struct mm_error *err);
	/* Import the NDJSON @body as a new session (a machine) named @name ("" to pick). */
	int (*session_import)(void *data, const char *name, const char *body, size_t len,
			      json_t **ret, struct mm_error *err);
	/* Replay session @id into a new machine. */
	int (*session_replay)(void *data, const char *id, const struct api_replay_req *req,
			      json_t **ret, struct mm_error *err);
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
