/* SPDX-License-Identifier: MIT */
/*
 * sessions.h - a machine's journal as a recorded session: listed, exported as NDJSON,
 * imported from NDJSON as a new machine, and replayed into a new machine with verification.
 *
 * The NDJSON form (application/x-ndjson), one JSON object per line:
 *   line 1: {"mm32_session": 1, "machine": <id>, "created_at": <time>, "config": {...},
 *            "from_snapshot": <snapshot id or null>, "origin": {...} or null}
 *   then one line per journal entry, seq ascending from 1:
 *           {"seq": N, "time": <time>, "command": {...}, "result": <result>}
 * "config" is the machine's configuration as POST /v1/machines takes it; "from_snapshot"
 * the snapshot a clone starts from (its journal follows that snapshot).
 *
 * An import checks every line (a malformed one is refused naming it: 400 for what is not
 * JSON, 422 for what is not a session line), boots the configuration (422 when it cannot),
 * runs every command through the executor, and refuses (422, naming the line) a command that
 * does not apply to the machine at that point; then it stores the machine and the lines as
 * its journal in one transaction, results as recorded. Results that come out differently
 * are reported, not refused: a replay with verification then shows them.
 *
 * A replay starts from the session's newest snapshot at or before until_seq (else its base
 * snapshot, else its configuration), runs the entries after it through the same executor,
 * compares each result with the recorded one (verify), and stores what ran as a new machine
 * whose journal holds the results it gave. The first divergence is reported with its seq.
 */
#ifndef DAEMON_SESSIONS_H
#define DAEMON_SESSIONS_H

#include <jansson.h>

#include "codec.h"
#include "registry.h"
#include "store.h"

/* {"sessions": [{"id","created_at","config","origin","from_snapshot","commands"}...]} */
int session_list(struct store *st, json_t **ret, struct mm_error *err);
/* One of them, with its snapshots' ids. -ENOENT. */
int session_get(struct store *st, const char *id, json_t **ret, struct mm_error *err);
int session_export(struct store *st, const char *id, struct api_text *out, struct mm_error *err);
int session_import(struct registry *reg, const char *name, const char *body, size_t len,
		   json_t **ret, struct mm_error *err);
int session_replay(struct registry *reg, const char *id, const struct api_replay_req *req,
		   json_t **ret, struct mm_error *err);

/* The @n commands and results of a journal row, each as the text of one element; free()
 * both. -EINVAL when they are not two arrays of @n elements. */
int session_split_batch(int64_t n, const char *commands, size_t commands_len, const char *results,
			size_t results_len, struct api_json_span **ret_c,
			struct api_json_span **ret_r);
/* Does @got say what @want says: the same bytes, or the same JSON value? */
bool session_same_result(const char *got, size_t got_len, const char *want, size_t want_len);

#endif /* DAEMON_SESSIONS_H */
