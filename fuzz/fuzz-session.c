/* SPDX-License-Identifier: MIT */
/*
 * fuzz-session.c - libFuzzer on the NDJSON session importer (daemon/sessions.c): the input is
 * the body of a POST /v1/sessions, run through session_import_check(), the importer short of
 * storing (the parser of every line, the header's configuration booted, every command run
 * through the transaction, the state hash), with no daemon and no registry. Any bytes either
 * import or are refused with a message; never a crash, a leak or a sanitizer report.
 *
 * Bounds, as mm32d's caps would set them: a configuration whose machine would cost more host
 * memory than a 256 MiB one is refused before it is booted (the fits callback, as
 * max-host-memory does), and a session of more than 64 commands (max-session-commands). The
 * store is an empty database in a temporary directory: a "from_snapshot" names no snapshot.
 * Seeds: sessions as GET /v1/sessions/{id}/journal exports them (fuzz/corpus/session).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "problem.h"
#include "sessions.h"
#include "store.h"

static struct store *st;
static uint64_t max_cost;
static char dir[] = "/tmp/fuzz-session.XXXXXX";

/* the database and its WAL go when the fuzzer ends */
static void cleanup(void)
{
	static const char *const files[] = {"mm32.db", "mm32.db-wal", "mm32.db-shm"};
	char path[64];

	store_close(st);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int fits(void *data, uint64_t cost, struct mm_error *err)
{
	(void)data;
	if (cost > max_cost)
		return api_error(err, -EXFULL, "over the fuzzer's max-host-memory");
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];
	struct mm_error err = {0};
	struct mm_config cfg;

	(void)argc;
	(void)argv;
	log_init(LOG_LEVEL_ERROR);
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/mm32.db", dir);
	if (store_open(path, &st, &err) < 0) {
		fprintf(stderr, "fuzz-session: %s\n", err.msg);
		abort();
	}
	atexit(cleanup);
	mm_config_init(&cfg, true);
	cfg.mem = 256u << 20;
	cfg.cpus = 4;
	max_cost = mm_config_host_bytes(&cfg);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct session_import_limits lim = {.max_commands = 64, .fits = fits};
	char hash[STORE_HASH_HEX];
	struct mm_error err = {0};

	if (session_import_check(st, (const char *)data, size, &lim, hash, &err) < 0 && !err.msg[0])
		abort(); /* a refusal says why */
	return 0;
}
