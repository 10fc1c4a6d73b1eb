/* SPDX-License-Identifier: MIT */
/*
 * scan.h - reading commands and batches of commands without Jansson (see scan.c).
 * api_command_scan(), the scanner of one command, is declared in commands.h.
 */
#ifndef API_SCAN_H
#define API_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "codec.h"
#include "commands.h"

/* A batch body read by api_scan_batch(). */
struct api_scan_batch {
	size_t n;
	struct api_json_span *spans; /* each command's text in the body */
	struct api_cmd *cmds;	     /* each command's fields, pointing into @copy */
	char *copy;		     /* the body, with NULs written after keys and strings */
};

/*
 * api_scan_batch - read @body (@len bytes) as an array of at most API_BATCH_MAX commands of
 * the shape api_command_scan() reads. Return: true with @fb filled (free it with
 * api_scan_batch_free()); false for anything else (malformed or not that shape: the caller
 * parses it with Jansson), @fb then zeroed.
 */
bool api_scan_batch(const char *body, size_t len, struct api_scan_batch *fb);
void api_scan_batch_free(struct api_scan_batch *fb);

/* A command given as text, read into a view (api_command_parse()). */
struct api_cmd_text {
	char stack[256]; /* the copy the scanner writes into, when it fits */
	char *copy;	 /* else malloc'd */
	json_t *json;	 /* or what Jansson read */
};

/*
 * api_command_parse - the one reader of a command's text (a journal entry, an NDJSON line, a
 * replayed command): scanned without Jansson when it has the common shape, else parsed with
 * Jansson; both give the same @view, valid until api_command_parse_finish(@ct).
 * Return: 0; -EINVAL when it is not a JSON object; -ENOMEM.
 */
int api_command_parse(const char *text, size_t len, struct api_cmd_text *ct, struct api_cmd *view,
		      struct mm_error *err);
void api_command_parse_finish(struct api_cmd_text *ct);

#endif /* API_SCAN_H */
