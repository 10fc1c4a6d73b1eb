/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the command executor: the one way a machine changes.
 *
 * A command is a JSON object {"op": "<name>", ...}. HTTP handlers build commands from
 * requests and the daemon replays journaled commands at start-up; both go through
 * api_command_run(), so a replayed machine goes through exactly the code the live one did.
 * The executor validates strictly (unknown op, unknown field, wrong type: -EINVAL, 422),
 * then runs the op against mmcore and writes the outcome as a JSON result. It never
 * touches the journal: the caller appends (command, result) after a success, and also
 * after a failure that changed the machine before it failed (the result is then the error,
 * {"error": {"type", "status", "detail"}}), so that replay goes through the same failure:
 * alloc_pages that fails as the kernel's would (-ENOSPC: counters, log, pageblocks moved),
 * boot_continue whose boot step failed (the machine is tainted), and every -EFAULT.
 * A command refused by validation leaves the machine as it was and is not journaled.
 *
 * The executor reads a command as a flat list of fields (struct api_cmd), made either from
 * a json_t (api_command_view()) or straight from JSON text (api_command_scan(), the fast
 * path of batches, which needs no json_t at all). Both give the same fields, so a command
 * runs the same whichever way it came. Results are written as compact JSON text, the bytes
 * that go into the journal and into the reply.
 *
 * Every command may carry "cpu" (an integer 0..cpus-1, the emulated CPU that issues it) and
 * "context" ("process", the default, or "atomic": run as under preempt_disable() on that
 * CPU, where what may sleep is refused with -EDEADLK).
 * Adding an op is adding one entry to the table in commands.c: its name, its fields (struct
 * api_op_arg: name, type, range, required) and its run function. The executor checks every
 * field against that declaration before the op runs, once for every way a command comes in
 * (the REST route rows of routes.c build commands and leave the checking to it). ROUTES.md
 * lists the ops; openapi.yaml's *Command schemas hold the same fields, which a test proves.
 *
 * The canonical text of a command (api_command_canon()) is what the journal keeps: "op", its
 * declared fields in the table's order, then "cpu", then "context", compact. The same command
 * journals the same bytes whichever parser read it and however its request spelled it.
 *
 * Locking: the caller holds the machine's lock for the whole call.
 */
#ifndef API_COMMANDS_H
#define API_COMMANDS_H

#include <jansson.h>

#include "codec.h"
#include "mmcore.h"

/* The most commands one request may carry (a batch). */
#define API_BATCH_MAX 10000

/* Fields a command view holds; no op accepts more (op, cpu, context and at most 4 own:
 * memory_write's addr, data, space, force). */
#define API_CMD_FIELDS 7

enum api_field_type { API_FIELD_STRING, API_FIELD_INT, API_FIELD_BOOL, API_FIELD_OTHER };

struct api_cmd_field {
	const char *key; /* NUL-terminated; key_len bytes */
	size_t key_len;
	int type;	    /* enum api_field_type */
	const char *str;    /* API_FIELD_STRING: the value, NUL-terminated */
	json_int_t i;	    /* API_FIELD_INT: the value; API_FIELD_BOOL: 0 or 1 */
	const json_t *json; /* the value when the command came as a json_t, else NULL */
};

/* A command as flat fields ("op" among them), borrowed from a json_t or a text. */
struct api_cmd {
	unsigned int n;
	struct api_cmd_field f[API_CMD_FIELDS];
};

/*
 * api_command_view - the fields of @cmd (borrowed; the view is valid while @cmd is).
 * "op" is always kept; of the other members the first API_CMD_FIELDS - 1 (a command with
 * more has unknown fields, which the executor refuses naming one of these).
 * Return: 0; -EINVAL when @cmd is not an object.
 */
int api_command_view(const json_t *cmd, struct api_cmd *view, struct mm_error *err);

/*
 * api_command_scan - read the JSON object in @text (@len bytes, writable) as a command view
 * without building a json_t. It accepts the common shape only: an object of at most
 * API_CMD_FIELDS distinct members whose values are integers, true or false, or strings of
 * printable ASCII without escapes, white space anywhere JSON allows it. Strings and keys are
 * NUL-terminated in place (the byte after each, a '"', is overwritten).
 * @ret_end: NULL when the object must be all of @text (white space around it aside); else
 * the object is read from the start of @text and *@ret_end is the offset after its '}'.
 * Return: 0; -EINVAL when @text is anything else (malformed or not that shape): the caller
 * then parses it with Jansson and uses api_command_view().
 */
int api_command_scan(char *text, size_t len, struct api_cmd *view, size_t *ret_end);

/* What api_command_run() did, besides its return code. */
struct api_command_outcome {
	const char *op; /* the op's name (static storage), when it was found, else NULL */
	const struct api_command_op *def; /* and its row of the op table */
	/* the command goes into the journal: it succeeded, or it failed after it had changed
	 * the machine (then its result, in the text, is {"error": ...}) */
	bool journal;
	/* snapshot_restore succeeded: the machine that takes the place of the one the command
	 * ran on. The caller owns it: it destroys the old machine and runs what follows on this
	 * one (the registry swaps it in under the machine's lock). NULL otherwise. */
	struct mm_machine *replace;
};

/* The type of a declared field; what api_command_run_env() checks before the op runs. */
enum api_arg_kind {
	API_ARG_INT,	/* a JSON integer in min..max */
	API_ARG_BOOL,	/* true or false */
	API_ARG_STRING, /* a string (its syntax is the op's: a GFP mask, a space, hex bytes) */
	API_ARG_ADDR,	/* an address: a string ("0xc0000000", decimal) or an integer >= 0 */
	API_ARG_ANY,	/* any JSON value; the op reads it (a sysctl's value, a boot phase) */
};

/* One field of an op besides "op", "cpu" and "context". */
struct api_op_arg {
	const char *name; /* NULL ends the list */
	enum api_arg_kind kind;
	bool required;
	json_int_t min, max; /* API_ARG_INT */
	const char *hint;    /* API_ARG_STRING: what it is, for the messages */
};

struct api_exec_env;
struct api_command_outcome;

/* An op of the executor. */
struct api_command_op {
	const char *op;
	const struct api_op_arg *args; /* accepted besides "op", "cpu" and "context" */
	/* @changed: set when the op fails after it changed the machine (journaled then) */
	int (*run)(struct mm_machine *m, const struct api_cmd *cmd, unsigned int cpu,
		   struct api_text *out, bool *changed, struct mm_error *err);
	/* instead of run(), for the ops that need the environment (see api_exec_env) */
	int (*run_env)(struct mm_machine *m, const struct api_exec_env *env,
		       const struct api_cmd *cmd, struct api_text *out,
		       struct api_command_outcome *oc, struct mm_error *err);
	/* when set and true for a command, it changes nothing (a read by physical address):
	 * a route that reads may run it without a journal entry */
	bool (*pure)(const struct api_cmd *cmd);
};

/* The op table (*@ret_n entries), the op called @name (NULL if none), its field @name. */
const struct api_command_op *api_command_ops(size_t *ret_n);
const struct api_command_op *api_command_op_find(const char *name);
const struct api_op_arg *api_command_arg(const struct api_command_op *op, const char *name);

/* Append the canonical text of @cmd, a command of op @op that api_command_run_env() accepted. */
void api_command_canon(const struct api_cmd *cmd, const struct api_command_op *op,
		       struct api_text *out);
/* Does @cmd (of op @op) change nothing? (struct api_command_op.pure) */
bool api_command_pure(const struct api_cmd *cmd, const char *op);

/* A snapshot as snapshot_restore reports it: {"snapshot","machine","seq","state_hash"}. */
struct api_snapshot_ref {
	int64_t id;
	char machine[API_NAME_MAX]; /* the machine it was taken of */
	int64_t seq;		    /* the last journal entry of that machine it covers */
	char state_hash[40];	    /* the state hash it was saved with (hex) */
};

/*
 * What ops that reach beyond the machine need from whoever runs the executor. The daemon
 * gives its store (for HTTP requests, restarts and session replays alike, so a restore
 * replays as it ran); without an environment those ops are refused (422).
 */
struct api_exec_env {
	/*
	 * snapshot_restore: a new machine made from snapshot @id, RAM included, that is to take
	 * @m's place; *@ret_ref describes the snapshot. It refuses an unknown snapshot
	 * (-ENOENT) and one of another configuration than @m's (-EINVAL, saying how), and
	 * leaves @m as it is.
	 */
	int (*snapshot_load)(void *data, int64_t id, const struct mm_machine *m,
			     struct mm_machine **ret, struct api_snapshot_ref *ret_ref,
			     struct mm_error *err);
	void *data;
};

/*
 * api_command_run - validate and run @cmd on @m; append its result to @out as JSON text.
 * @ret: may be NULL.
 * Return: 0, or a negative errno with @err describing it (see problem.h for the mapping).
 * A failing command leaves the machine as it was and appends nothing, unless it changed
 * the machine before it failed: -EFAULT, -ENOSPC from alloc_pages (the kernel's counters
 * and log moved), a boot step of boot_continue that failed. Then @ret->journal is set and
 * the error is appended as {"error": {"type", "status", "detail"}} (api_text_error()).
 */
int api_command_run(struct mm_machine *m, const struct api_cmd *cmd, struct api_text *out,
		    struct api_command_outcome *ret, struct mm_error *err);
/* api_command_run() with an environment for the ops that need one (@env may be NULL). When
 * @ret->replace is set on return, the caller must take it (see api_command_outcome). */
int api_command_run_env(struct mm_machine *m, const struct api_exec_env *env,
			const struct api_cmd *cmd, struct api_text *out,
			struct api_command_outcome *ret, struct mm_error *err);

/* Append {"error": {"type", "status", "detail"}}: a failure as the journal keeps it. */
void api_text_error(struct api_text *t, int code, const char *detail);

/*
 * api_command_exec - api_command_run() for a json_t command (borrowed).
 * @ret_result: on success a new reference to the result; untouched on failure.
 */
int api_command_exec(struct mm_machine *m, const json_t *cmd, json_t **ret_result,
		     struct mm_error *err);

/*
 * api_command_exec_text - api_command_run() for a command given as JSON text (as the
 * journal keeps it), read by api_command_parse() (scan.h), the reader the transaction uses:
 * scanned when it has the common shape, else parsed with Jansson. The executor alone, for
 * tests and benchmarks: what changes a machine for good goes through the transaction (txn.h).
 * @ret_journal (may be NULL): set as api_command_outcome.journal; when a failure sets it,
 * @out holds the error as the journal keeps it, so replay compares failures as results.
 */
int api_command_exec_text(struct mm_machine *m, const char *text, size_t len, struct api_text *out,
			  bool *ret_journal, struct mm_error *err);
/* The same with an environment, and the whole outcome (@ret may be NULL only when @env is:
 * a replacement machine must be taken). */
int api_command_exec_text_env(struct mm_machine *m, const struct api_exec_env *env,
			      const char *text, size_t len, struct api_text *out,
			      struct api_command_outcome *ret, struct mm_error *err);

/* The "op" of @cmd if it is a string, else NULL (borrowed from @cmd). */
const char *api_command_op(const json_t *cmd);

#endif /* API_COMMANDS_H */
