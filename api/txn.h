/* SPDX-License-Identifier: MIT */
/*
 * txn.h - the command transaction: the one path by which commands change a machine.
 *
 * Three callers run commands: an HTTP request (routes.c, a command route or POST .../commands),
 * a restart (daemon/rebuild.c, the journal after the newest snapshot) and a session import or
 * replay (daemon/sessions.c). All of them go through a struct api_txn:
 *
 *   parse   the command's text: scanned without Jansson when it has the common flat shape
 *           (scan.c), else parsed with Jansson; both give the same struct api_cmd;
 *   run     the executor (commands.c), with the environment of its caller (the store, for
 *           snapshot_restore); a machine a snapshot_restore replaced is swapped in here;
 *   write   the command's canonical text (api_command_canon()) and its result, the bytes the
 *           journal keeps, whatever the parser and however the request spelled the command;
 *   journal (HTTP only: api_txn_live()) every command of a request in one append, committed
 *           before the answer is built, with the commit's time;
 *   publish (HTTP only) the committed commands to the machine's event streams
 *           (api_host.events_publish): after the commit, never before, so that no client sees
 *           an event for a command that is not durable;
 *   compare (restart and replay) a result with the recorded one (api_txn_same_result()).
 *
 * Invariant: a machine never differs from what its journal rebuilds. api_txn_live() runs
 * the commands, then commits them; when the commit fails, the host rebuilds the machine from
 * its store (snapshot + journal, struct api_host_ops.machine_rebuild) before the answer says
 * what happened. When even that fails, the host marks the machine diverged: until a rebuild
 * succeeds, every change is refused with 503 machine-diverged (-ESTALE).
 *
 * Locking: the caller holds the machine's lock for the whole transaction.
 */
#ifndef API_TXN_H
#define API_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "codec.h"
#include "commands.h"

struct api_host;
struct api_lease;

/* The commands of a transaction and what they produced. */
struct api_txn {
	struct mm_machine *m;		/* what they run on; a snapshot_restore replaces it */
	const struct api_exec_env *env; /* may be NULL */
	/* snapshot_restore made @nm: when set, it takes the machine (and destroys the old one);
	 * else the transaction destroys the old one. Either way txn->m is @nm afterwards. */
	void (*replace)(void *data, struct mm_machine *nm);
	void *replace_data;
	/* what is to be journaled, as two JSON arrays (closed by api_txn_batch()) */
	struct api_text cmds, results;
	size_t n;	  /* entries in them */
	size_t *where;	  /* entry i's result: results.data + where[2i], where[2i+1] bytes */
	const char **ops; /* entry i's op (static storage) */
	size_t cap;	  /* of where/ops */
	/* @no_entries (a restart, which journals nothing): the steps write no entries, and the
	 * last step's result (or its journaled error) is @got */
	bool no_entries;
	struct api_text got;
};

/* What one step did. */
struct api_txn_step {
	const char *op; /* the op, when it was found */
	bool journal;	/* it is entry n - 1 now: it succeeded, or failed after it changed @m */
	/* @journal: the entry's canonical command and result (valid until the next step) */
	struct api_json_span cmd, result;
};

void api_txn_init(struct api_txn *t, struct mm_machine *m, const struct api_exec_env *env);
/* Free the texts (not the machine). Accepts a zeroed struct. */
void api_txn_finish(struct api_txn *t);
/* Forget the entries written so far (a caller that journals batch by batch). */
void api_txn_reset(struct api_txn *t);

/*
 * api_txn_step - run the command @view on t->m.
 * Return: the executor's code. On 0, and on a failure that changed the machine before it failed
 * (@ret->journal), the canonical command and its result (or its error, as the journal keeps it)
 * are the next entry (@ret->cmd, @ret->result), or with t->no_entries the result is t->got.
 * A failure that changed nothing adds nothing.
 */
int api_txn_step(struct api_txn *t, const struct api_cmd *view, struct api_txn_step *ret,
		 struct mm_error *err);
/* api_txn_step() for a command given as JSON text (a journal entry, an NDJSON line): scanned
 * when it has the common shape, else parsed with Jansson. */
int api_txn_step_text(struct api_txn *t, const char *text, size_t len, struct api_txn_step *ret,
		      struct mm_error *err);

/* Entry @i's canonical command and result. */
struct api_json_span api_txn_result(const struct api_txn *t, size_t i);

/* The entries as a journal batch (brackets closed); valid until the next step or reset.
 * Return: 0; -ENOMEM when writing them ran out of memory. */
struct api_journal_batch;
int api_txn_batch(struct api_txn *t, struct api_journal_batch *ret, struct mm_error *err);

/* Does @got say what @want says: the same bytes, or the same JSON value? */
bool api_txn_same_result(const char *got, size_t got_len, const char *want, size_t want_len);

/* The @n commands and results of a journal row, each as the text of one element; free() both.
 * -EINVAL when they are not two arrays of @n elements. */
int api_txn_split_batch(int64_t n, const char *commands, size_t commands_len, const char *results,
			size_t results_len, struct api_json_span **ret_c,
			struct api_json_span **ret_r);

/* ---- HTTP: commands from a request, journaled before the answer ---- */

/* Where the commands of a request come from: a json_t (one object, or an array) or views
 * scanned from the body (scan.c). */
struct api_txn_source {
	size_t n;
	const json_t *json;
	bool batch;		    /* an array: the answer lists every result */
	const struct api_cmd *cmds; /* or the views, @n of them */
};

/* What api_txn_live() did. */
struct api_txn_live {
	struct api_txn t;
	const struct api_host *host;
	struct api_lease *lease;
	size_t done;		/* commands that ran (and are journaled when it returned 0) */
	bool command_failed;	/* it stopped at command @done */
	bool failure_journaled; /* ... which changed the machine and is journaled too */
	int64_t first_seq;	/* of the first, in the journal */
	bool pure;		/* nothing ran that changes the machine: nothing journaled */
};

/*
 * api_txn_live - run the commands of @src on the leased machine in order, stop at the first
 * failure, and journal what ran (the failing command too when it changed the machine) in one
 * append, before any answer. @allow_pure: commands that change nothing (a pure op) are not
 * journaled (a GET that reads). @ret_extra: problem members for a failure ("seq" of a
 * journaled failure), a new reference or NULL.
 * Return: 0; the failing command's code (@run->command_failed); the journal's code, when the
 * commands that ran are not journaled: the machine was then rebuilt from its journal (the
 * message says so), or, when that failed too, is diverged (-ESTALE on later changes); -ESTALE
 * for a diverged machine that cannot be rebuilt now. Finish @run with api_txn_live_finish().
 */
int api_txn_live(const struct api_host *host, struct api_lease *lease,
		 const struct api_txn_source *src, bool allow_pure, struct api_txn_live *run,
		 json_t **ret_extra, struct mm_error *err);
void api_txn_live_finish(struct api_txn_live *run);

/* Append {"seq","op","result"} of entry @i, and [{..}, ...] of the @run->done that ran. */
void api_txn_entry_text(struct api_text *t, const struct api_txn_live *run, size_t i);
void api_txn_entries_text(struct api_text *t, const struct api_txn_live *run);

#endif /* API_TXN_H */
