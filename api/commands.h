/* SPDX-License-Identifier: MIT */
/*
 * commands.h - the command executor: the one way a machine changes.
 *
 * A command is a JSON object {"op": "<name>", ...}. HTTP handlers build commands from
 * requests and the daemon replays journaled commands at start-up; both call
 * api_command_exec(), so a replayed machine goes through exactly the code the live one did.
 * The executor validates strictly (unknown op, unknown field, wrong type: -EINVAL, 422),
 * then runs the op against mmcore and describes the outcome as a JSON result. It never
 * touches the journal: the caller appends (command, result) after a success.
 *
 * Every command may carry "cpu" (an integer 0..cpus-1, the emulated CPU that issues it).
 * Adding an op is adding one entry to the table in commands.c.
 *
 * Locking: the caller holds the machine's lock for the whole call.
 */
#ifndef API_COMMANDS_H
#define API_COMMANDS_H

#include <jansson.h>

#include "mmcore.h"

/*
 * api_command_exec - validate and run @cmd (borrowed) on @m.
 * @ret_result: on success a new reference to the result object; untouched on failure.
 * Return: 0, or a negative errno with @err describing it (see problem.h for the mapping).
 * A failing command leaves the machine as it was, unless it returns -EFAULT.
 */
int api_command_exec(struct mm_machine *m, const json_t *cmd, json_t **ret_result,
		     struct mm_error *err);

/* The "op" of @cmd if it is a string, else NULL (borrowed from @cmd). */
const char *api_command_op(const json_t *cmd);

#endif /* API_COMMANDS_H */
