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
 * A replay is machine_rebuild() (rebuild.h) up to until_seq: the session's newest snapshot at
 * or before it (else its base snapshot, else its configuration), then the entries after it
 * through the transaction (api/txn.h) as HTTP ran them;
 * compares each result with the recorded one (verify), and stores what ran as a new machine
 * whose journal holds the results it gave. Import and replay journal each command in its
 * canonical text (api_command_canon()), whatever text the session held. The first divergence is
 * reported with its seq.
 */
#ifndef DAEMON_SESSIONS_H
#define DAEMON_SESSIONS_H

#include <jansson.h>

#include "codec.h"
#include "registry.h"
#include "store.h"

/* What POST /v1/sessions/{id}/replay asks for. */
struct session_replay_req {
	const char *name;  /* of the new machine; "" to pick the first free "m<N>" */
	int64_t until_seq; /* replay entries 1..until_seq; -1: all of them */
	bool verify;	   /* compare each result with the recorded one */
};

/* {"sessions": [{"id","created_at","config","origin","from_snapshot","commands"}...]} */
int session_list(struct store *st, json_t **ret, struct mm_error *err);
/* One of them, with its snapshots' ids. -ENOENT. */
int session_get(struct store *st, const char *id, json_t **ret, struct mm_error *err);
int session_export(struct store *st, const char *id, struct api_text *out, struct mm_error *err);
int session_import(struct registry *reg, const char *name, const char *body, size_t len,
		   json_t **ret, struct mm_error *err);
/*
 * session_import_check - what an import does short of storing: parse the NDJSON session in
 * @body, boot its configuration (when @lim->fits, of a cost it accepts), run every command and
 * give the state hash of the result; nothing is stored and no registry is needed (@st is read
 * for a "from_snapshot"). The fuzzer's entry point (fuzz/fuzz-session.c); session_import()
 * runs the same parser. 0 or the import's error.
 */
struct session_import_limits {
	unsigned int max_commands;				      /* entries; 0: no limit */
	int (*fits)(void *data, uint64_t cost, struct mm_error *err); /* NULL: any */
	void *data;
};
int session_import_check(struct store *st, const char *body, size_t len,
			 const struct session_import_limits *lim, char hash[STORE_HASH_HEX],
			 struct mm_error *err);
int session_replay(struct registry *reg, const char *id, const struct session_replay_req *req,
		   json_t **ret, struct mm_error *err);

#endif /* DAEMON_SESSIONS_H */
