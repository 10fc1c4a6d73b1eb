/* SPDX-License-Identifier: MIT */
/*
 * jobs.h - work that outlives its request: a thread per job, its progress, its outcome.
 *
 * A job is started by a request that answers 202 at once with the job's document; the
 * client polls GET /v1/jobs/{id} until "state" is "done" (with "result") or "failed" (with
 * "error", the problem's members). Jobs live in memory: a restart forgets them (what a job
 * writes to the store is one transaction, whole or absent). The most recent JOBS_KEPT
 * finished jobs are kept for polling.
 *
 * Locking: a mutex inside guards the table; a job's function runs without it.
 */
#ifndef DAEMON_JOBS_H
#define DAEMON_JOBS_H

#include <jansson.h>

#include "mmcore.h"
#include "snapshot.h"

#define JOBS_KEPT 256

struct jobs;

int jobs_create(struct jobs **ret, struct mm_error *err);
/* Cancel every running job, wait for all, free. Accepts NULL. */
void jobs_destroy(struct jobs *js);

/*
 * What a job does, in its own thread: 0 with *@ret_result (a new reference, the job's
 * "result"), or a negative errno with @err. @p is the job's progress (and its cancel flag).
 */
typedef int job_fn(void *data, struct snapshot_progress *p, json_t **ret_result,
		   struct mm_error *err);

/*
 * jobs_start - run @fn(@data) in a new thread. @free_data(@data) runs after it (may be NULL).
 * @kind: "snapshot"; @machine: the machine it works on. *@ret_doc: the job's document as it
 * starts (a new reference). On failure @fn never runs and @free_data has not been called.
 */
int jobs_start(struct jobs *js, const char *kind, const char *machine, job_fn *fn, void *data,
	       void (*free_data)(void *), json_t **ret_doc, struct mm_error *err);

/* The document of job @id ({"id","kind","machine","state","progress",...}); -ENOENT. */
int jobs_get(struct jobs *js, int64_t id, json_t **ret, struct mm_error *err);
/* {"jobs": [...]}, oldest first. */
int jobs_list(struct jobs *js, json_t **ret, struct mm_error *err);

#endif /* DAEMON_JOBS_H */
