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
 * A route is a row of data (struct api_route): a path pattern, a method, and either a handler
 * (a view that reads) or, for a route that changes a machine, the command op it becomes and
 * where each of the op's fields comes from (body, path, query), its success status and
 * Location. api/routes.c holds api/'s rows; a host adds its own (the daemon's persistence
 * routes: daemon/routes.c) through api_host.routes. One generic handler turns a command route's
 * request into a command; the executor's op table checks its fields (commands.h).
 *
 * Invariants:
 *  - a machine is touched only between machine_acquire() and machine_release(), which
 *    the host implements as the machine's mutex;
 *  - a command changes a machine only through the transaction (txn.h), and its journal entry
 *    is committed (journal_append()) before the reply is built; the commands of one
 *    request, a batch, are one journal append; a failed append is undone (machine_rebuild());
 *  - every failure becomes a problem+json reply through problem.c; nothing here logs.
 */
#ifndef API_ROUTER_H
#define API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "codec.h"
#include "commands.h"
#include "mmcore.h"
#include "viewcache.h"

struct api_route;

/* A locked machine, handed out by the host. */
struct api_lease {
	const char *id;	      /* borrowed; valid until release */
	struct mm_machine *m; /* valid until release */
	void *handle;	      /* the host's */
	bool diverged;	      /* it differs from its journal: rebuild before any change */
	/* the version of its state (viewcache.h): the host's generation of the machine and
	 * the seq of its last journal entry; the key of its views' cache and of an ETag */
	struct api_state_version version;
	struct api_view_cache *cache; /* the host's, for this machine; NULL: none */
};

/*
 * Commands that ran, in order, and their results: two JSON arrays of @n elements, as text
 * (borrowed). The journal keeps them as they are; replay reads them back.
 */
struct api_journal_batch {
	size_t n;
	const char *time; /* when they were committed (UTC, ISO 8601 with ms): the journal's and
			   * the event stream's; NULL: the host's clock */
	const char *commands;
	size_t commands_len;
	const char *results;
	size_t results_len;
};

/*
 * The identity of a machine's state: what a view of it is a function of. Two leases with the
 * same identity see the same machine, byte for byte, so a view rendered for one is the view of
 * the other (the ETag of a view, a cache of views). The seq alone is not enough: a machine
 * deleted and created again with the same id starts from seq 0 again, and a rebuild after a
 * failed journal append goes back to an earlier seq; @generation changes on both, and
 * @instance when the daemon restarts (its generations start again).
 */
struct api_state_id {
	uint64_t instance;   /* the host's, random at its start */
	uint64_t generation; /* changes when the machine is created, rebuilt or replaced */
	int64_t seq;	     /* its last journaled command; 0: none yet */
};

/* The machine's state identity as an ETag's opaque text, quoted: "<instance>-<gen>-<seq>". */
void api_state_etag(const struct api_state_id *id, char *buf, size_t size);

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
	/* The journal as [{"seq","time","command","result"}], seq ascending (new reference):
	 * the entries after seq @after, at most @limit of them (0: all); *@ret_more says whether
	 * more follow the last one listed. */
	int (*journal_list)(void *data, struct api_lease *lease, int64_t after, size_t limit,
			    json_t **ret, bool *ret_more, struct mm_error *err);
	/* The environment of the executor for commands on the leased machine (NULL: none, and
	 * then snapshot_restore is refused); may be NULL itself. */
	const struct api_exec_env *(*exec_env)(void *data, struct api_lease *lease);
	/* A command replaced the leased machine by @m (snapshot_restore): swap it in, destroy
	 * the old one, and update @lease. Needed when exec_env gives an environment. */
	void (*machine_replace)(void *data, struct api_lease *lease, struct mm_machine *m);
	/*
	 * Rebuild the leased machine from what its journal holds (its store: the newest snapshot
	 * and the journal after it), swap it in and update @lease, which is then not diverged.
	 * The transaction calls it when a journal append failed, and before changing a diverged
	 * machine. On failure the host marks the machine diverged (later leases say so).
	 * May be NULL: the host then cannot undo, and a failed append leaves it diverged.
	 */
	int (*machine_rebuild)(void *data, struct api_lease *lease, struct mm_error *err);
	/* POST /v1/machines {"from_snapshot": id, "name"?}: a new machine from snapshot @id,
	 * named @name ("" to pick); *@ret is its lease, locked (as machine_create). -ENOENT for an
	 * unknown snapshot. NULL in a host without snapshots (404). */
	int (*machine_clone)(void *data, const char *name, int64_t id, struct api_lease *ret,
			     struct mm_error *err);
	/* The identity of the leased machine's state (struct api_state_id). May be NULL: then
	 * no view carries an ETag. */
	void (*machine_state)(void *data, const struct api_lease *lease, struct api_state_id *ret);
	/*
	 * Whether machine @id can be acquired now, without waiting: *@state "ready", or
	 * "restoring" (a restart brings it back in the background: machine_acquire() waits a
	 * while, then fails with -EINPROGRESS, 503 with Retry-After) or "unloaded" (with why in
	 * @reason: over the caps at start-up, or its restore failed). -ENOENT if unknown.
	 * May be NULL: every machine is ready.
	 */
	int (*machine_status)(void *data, const char *id, const char **state, char *reason,
			      size_t size);
	/* Before a request's @n commands run: 0 when the leased machine's journal has room for
	 * at least one more entry, else -EXFULL naming the cap (nothing runs). May be NULL (no
	 * cap); journal_append has the last word. */
	int (*journal_room)(void *data, struct api_lease *lease, size_t n, struct mm_error *err);
	/* Where the leased machine's journal starts: *@ret_snapshot 0 when it is whole, else the
	 * snapshot it was compacted behind and *@ret_seq that snapshot's seq (GET .../journal
	 * says so). May be NULL (journals are whole). */
	int (*journal_base)(void *data, struct api_lease *lease, int64_t *ret_snapshot,
			    int64_t *ret_seq, struct mm_error *err);
};

struct api_host {
	const struct api_host_ops *ops;
	void *data;
	struct api_metrics *metrics; /* request counters for GET /metrics; may be NULL */
	/* the host's own routes (the daemon's persistence routes), matched after api/'s */
	const struct api_route *routes;
	size_t nroutes;
	/* the transport's kmaps waiting for a pkmap slot of @machine, oldest first, as a new
	 * JSON array of {"pfn", "cpu", "waited_ms"}; NULL when there is no such transport
	 * (GET /kmap then lists none). Set by the server (server.c). */
	json_t *(*kmap_waiters)(void *transport, const char *machine);
	/*
	 * The live event streams of the transport (server.c; NULL without one: GET /events
	 * answers 404). events_publish: the @b->n commands of @b, journaled from @first_seq on
	 * machine @machine, go to its streams (called by the transaction after the commit, the
	 * machine still locked). events_gone: @machine was deleted; its streams say so and end.
	 * events_subscribe: a new stream of @machine for client @client, its first bytes @head
	 * (what the journal replays), within the transport's bounds (-EUSERS: every stream of
	 * the server in use, -EMFILE: every stream of the client); *@ret is handed to the
	 * transport in api_reply.stream; @then_end: the stream ends after @head (a replay cut
	 * short: the client reconnects with the Last-Event-ID it got). Call it with the machine
	 * locked: nothing is published between the replay and the subscription.
	 */
	void (*events_publish)(void *transport, const char *machine, int64_t first_seq,
			       const struct api_journal_batch *b);
	void (*events_gone)(void *transport, const char *machine);
	int (*events_subscribe)(void *transport, const char *machine, const char *client,
				const char *head, size_t head_len, bool then_end, void **ret,
				struct mm_error *err);
	void (*events_cancel)(void *transport, void *stream);
	void *transport;
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
	unsigned int retry_after; /* for 503: the Retry-After header, in seconds (0: none) */
	/* static; more headers as name, value pairs ending in NULL (the dashboard's files:
	 * ETag, Cache-Control, Content-Security-Policy); NULL: none */
	const char *const *headers;
	/*
	 * A command that would sleep on a .wait route (a kmap with every pkmap slot busy): the
	 * transport may hold the request back and dispatch it again when machine @wait_machine
	 * is woken, until @wait_ms after the request came; the reply as it stands (503) is the
	 * answer when it cannot wait or the time is up. 0: answer now.
	 */
	unsigned int wait_ms;
	char wait_machine[64];
	/* the request may have changed machine @wake (a kunmap may have freed a pkmap slot):
	 * the transport resumes that machine's first waiting request; "" when none */
	char wake[64];
	/* conditional requests and negotiation (router.c): the view's ETag (quoted, "" when
	 * none), and whether the route chose its representation from Accept (Vary: Accept) */
	char etag[80];
	bool vary_accept;
	bool not_modified; /* 304: If-None-Match matched @etag; no body */
	char link[320];	   /* a Link header (paging: rel="next"), "" when none */
	/* an event stream (GET /events): the transport streams it instead of a body */
	void *stream;
};

void api_reply_finish(struct api_reply *r);

/* One Server-Sent Event of a journaled command (http.c): "id: <seq>", "event: command",
 * "data: {"seq","time","command","result"}" on one line, and the blank line that ends it. */
void api_event_command(struct api_text *t, int64_t seq, const char *time, const char *cmd,
		       size_t cmd_len, const char *result, size_t result_len);

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
	const char *content_type;  /* NULL when absent */
	const char *accept;	   /* the Accept header; NULL when absent */
	const char *if_none_match; /* the If-None-Match header; NULL when absent */
	const char *last_event_id; /* the Last-Event-ID header; NULL when absent */
	const char *client;	   /* who the transport counts the request against; may be NULL */
	const char *body;	   /* may be NULL when body_len == 0 */
	size_t body_len;
	bool body_too_large; /* the transport dropped a body beyond its limit */
};

/* ---- routes as data ---- */

enum api_method { API_GET = 1, API_POST = 2, API_PUT = 4, API_DELETE = 8 };

/* One request being answered, as a handler sees it. */
struct api_call;
typedef int api_handler_fn(struct api_call *c, struct api_reply *out, struct mm_error *err);

/* Where a command route takes a field of its op from. */
enum api_from {
	API_FROM_BODY = 1, /* a member of the JSON body */
	API_FROM_PATH,	   /* the path's "*" segment @seg, read as the field's type (422) */
	API_FROM_PATH_ID,  /* the same, an id: what is not a decimal id names nothing (404) */
	API_FROM_QUERY,	   /* the query argument of the field's name, read as its type */
};

struct api_route_arg {
	const char *name; /* the op's field; NULL ends the list */
	enum api_from from;
	unsigned int seg; /* API_FROM_PATH*: which "*" (0 is the first) */
};

/*
 * A route. Write rows with designated initializers. A view has .fn; a command route has .op
 * and .args (the op's fields it fills, and from where; the executor's op table checks them)
 * and answers the command's result with .status (200 when 0), and a Location of
 * /v1/machines/{id}/<.location>/<the result's .location_member> when .location is set.
 */
struct api_route {
	const char *pattern; /* segments separated by '/'; "*" matches one segment */
	unsigned int method; /* one enum api_method (GET also answers HEAD) */
	bool machine;	     /* the first "*" is a machine id: hold its lease while answering */
	bool body; /* a JSON body is read (command routes: when an arg is from the body) */
	api_handler_fn *fn;
	const char *op;
	const struct api_route_arg *args;
	unsigned int status;
	const char *location, *location_member;
	bool batch; /* .fn reads a batch of commands: the body is scanned first (scan.h) */
	bool pure;  /* a read: a command that changes nothing (api_command_pure()) is not journaled
		     */
	bool wait;  /* the op may sleep (kmap): -ENOSPC waits, ?timeout= (api_route_command()) */
	/* a view of a .machine route whose answer depends on more than the machine's state
	 * (the kmaps waiting in the transport, the store's snapshots, a stream): no ETag */
	bool volatile_view;
	bool cache; /* a view of the leased machine's state alone: its 200 answers are kept per
		     * state version (viewcache.h) and served again until the machine changes */
	bool slow;  /* may take long (a boot, a snapshot, a restore, a replay): the server runs it
		     * off its HTTP workers (server.c), so that it delays no other request */
};

/* Whether the route @method @url matches is .slow (server.c runs it on its slow pool). */
bool api_route_slow(const struct api_host *host, const char *method, const char *url);

/* api/'s own rows (routes.c), *@ret_n of them. */
const struct api_route *api_routes(size_t *ret_n);

/* What a handler may read of its call. */
const struct api_host *api_call_host(const struct api_call *c);
const struct api_request *api_call_request(const struct api_call *c);
/* The path's "*" segment @i (0, 1 or 2), NULL when there is none. */
const char *api_call_segment(const struct api_call *c, unsigned int i);
/* The parsed body (json null for an empty one); NULL for a route without a body. */
json_t *api_call_body(const struct api_call *c);
/* The leased machine of a .machine route. */
struct api_lease *api_call_lease(struct api_call *c);
/* Members added to the problem when the handler fails (steals @extra). */
void api_call_set_extra(struct api_call *c, json_t *extra);

/* Answer @status with @doc (stolen; NULL: -ENOMEM). */
int api_reply_json(struct api_reply *out, unsigned int status, json_t *doc, struct mm_error *err);
/* A code from a host call: make sure its message says something. */
int api_call_failed(int r, struct mm_error *err, const char *what);

/* Query arguments: refuse others than @known (NULL-terminated) and repeated ones. */
int api_query_check(const struct api_call *c, const char *const *known, struct mm_error *err);
/* The value of @key ("" for "?key" without '='), or NULL when absent (*@present false). */
const char *api_query_value(const struct api_call *c, const char *key, bool *present);
/* A path segment that is an id (decimal, > 0); anything else names nothing: -ENOENT "no @what". */
int api_path_id(const char *what, const char *s, int64_t *ret, struct mm_error *err);

/* ---- paging (http.c): the same ?after=&limit= for every list that can grow ---- */

#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX 1000

/* ?after= (an integer when @numeric, else text) and ?limit= (1..@limit_max) of a list. */
int api_query_page(const struct api_call *c, bool numeric, int64_t *ret_after,
		   const char **ret_after_text, size_t limit_default, size_t limit_max,
		   size_t *ret_limit, struct mm_error *err);
/* Link: <url?after=@next&limit=@limit>; rel="next" */
void api_reply_next(const struct api_call *c, struct api_reply *out, const char *next,
		    size_t limit);
/*
 * api_page_list - answer a page of the list @doc[@member], whose items are keyed by member
 * @key (an integer when @numeric, else a string): sorted by it, those after ?after=, at most
 * ?limit= (API_PAGE_DEFAULT, API_PAGE_MAX), with "next" in @doc and the Link header. Other query
 * parameters are refused. Steals @doc.
 */
int api_page_list(struct api_call *c, struct api_reply *out, json_t *doc, const char *member,
		  const char *key, bool numeric, struct mm_error *err);

/* Route @req to its handler and fill @out (zeroed by the caller or not: it is reset). */
void api_dispatch(const struct api_host *host, const struct api_request *req,
		  struct api_reply *out);

#endif /* API_ROUTER_H */
