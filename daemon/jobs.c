/* SPDX-License-Identifier: MIT */
/*
 * jobs.c - the job table (see jobs.h).
 *
 * Jobs are kept in a list in start order. A job's thread writes its outcome under the
 * table's lock, then marks itself finished; its thread is joined when the job is dropped
 * (the list is pruned past JOBS_KEPT finished jobs) or when the table is destroyed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "problem.h"
#include "store.h"

enum job_state { JOB_RUNNING, JOB_DONE, JOB_FAILED };

static const char *const state_names[] = {"running", "done", "failed"};

struct job {
	int64_t id;
	char kind[32];
	char machine[64];
	char created_at[32], finished_at[32];
	enum job_state state; /* guarded by the table's lock */
	json_t *result;	      /* guarded; set when done */
	json_t *error;	      /* guarded; set when failed: {type, status, detail} */
	struct snapshot_progress progress;
	job_fn *fn;
	void *data;
	void (*free_data)(void *);
	pthread_t thread;
	bool joined;
	struct jobs *js;
	struct job *next;
};

struct jobs {
	pthread_mutex_t lock;
	struct job *head, *tail;
	int64_t next_id;
	size_t finished;
};

int jobs_create(struct jobs **ret, struct mm_error *err)
{
	struct jobs *js = calloc(1, sizeof(*js));

	if (!js)
		return api_error(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&js->lock, NULL);
	js->next_id = 1;
	*ret = js;
	return 0;
}

static void job_free(struct job *j)
{
	if (!j->joined)
		pthread_join(j->thread, NULL);
	json_decref(j->result);
	json_decref(j->error);
	free(j);
}

void jobs_destroy(struct jobs *js)
{
	struct job *j, *next;

	if (!js)
		return;
	pthread_mutex_lock(&js->lock);
	for (j = js->head; j; j = j->next)
		atomic_store(&j->progress.cancel, true);
	pthread_mutex_unlock(&js->lock);
	for (j = js->head; j; j = next) {
		next = j->next;
		job_free(j);
	}
	pthread_mutex_destroy(&js->lock);
	free(js);
}

static json_t *job_doc(struct job *j)
{
	uint64_t done = atomic_load(&j->progress.done), total = atomic_load(&j->progress.total);
	json_t *o;

	if (j->state == JOB_DONE)
		done = total;
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:{s:I, s:I, s:f}, s:O?, s:O?}", "id",
		      (json_int_t)j->id, "kind", j->kind, "machine", j->machine, "state",
		      state_names[j->state], "created_at", j->created_at, "finished_at",
		      j->finished_at[0] ? json_string(j->finished_at) : json_null(), "progress",
		      "done", (json_int_t)done, "total", (json_int_t)total, "fraction",
		      total ? (double)done / (double)total : (j->state == JOB_DONE ? 1.0 : 0.0),
		      "result", j->result, "error", j->error);
	return o;
}

static void *job_main(void *arg)
{
	struct job *j = arg;
	struct jobs *js = j->js;
	struct mm_error err = {0};
	json_t *result = NULL;
	int r = j->fn(j->data, &j->progress, &result, &err);

	if (j->free_data)
		j->free_data(j->data);
	pthread_mutex_lock(&js->lock);
	if (r < 0) {
		const struct api_problem_type *pt = api_problem_lookup(r);

		j->error =
			json_pack("{s:s+, s:i, s:s}", "type", API_PROBLEM_BASE, pt->slug, "status",
				  (int)pt->status, "detail", err.msg[0] ? err.msg : pt->title);
		j->state = JOB_FAILED;
		json_decref(result);
	} else {
		j->result = result;
		j->state = JOB_DONE;
	}
	store_now(j->finished_at);
	js->finished++;
	pthread_mutex_unlock(&js->lock);
	return NULL;
}

/* Drop the oldest finished jobs beyond JOBS_KEPT; caller holds the lock. Returns the list
 * of dropped jobs, to be freed (joined) without the lock. */
static struct job *prune(struct jobs *js)
{
	struct job **pp = &js->head, *dropped = NULL;

	while (js->finished > JOBS_KEPT && *pp) {
		struct job *j = *pp;

		if (j->state == JOB_RUNNING) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		if (js->tail == j)
			js->tail = NULL;
		j->next = dropped;
		dropped = j;
		js->finished--;
	}
	if (!js->tail)
		for (struct job *j = js->head; j; j = j->next)
			js->tail = j;
	return dropped;
}

int jobs_start(struct jobs *js, const char *kind, const char *machine, job_fn *fn, void *data,
	       void (*free_data)(void *), json_t **ret_doc, struct mm_error *err)
{
	struct job *j = calloc(1, sizeof(*j)), *dropped;
	json_t *doc;

	if (!j)
		return api_error(err, -ENOMEM, "out of memory");
	snprintf(j->kind, sizeof(j->kind), "%s", kind);
	snprintf(j->machine, sizeof(j->machine), "%s", machine);
	store_now(j->created_at);
	j->fn = fn;
	j->data = data;
	j->free_data = free_data;
	j->js = js;
	pthread_mutex_lock(&js->lock);
	j->id = js->next_id;
	doc = job_doc(j);
	if (!doc || pthread_create(&j->thread, NULL, job_main, j) != 0) {
		pthread_mutex_unlock(&js->lock);
		json_decref(doc);
		free(j);
		return api_error(err, -ENOMEM, "cannot start a job");
	}
	js->next_id++;
	if (js->tail)
		js->tail->next = j;
	else
		js->head = j;
	js->tail = j;
	dropped = prune(js);
	pthread_mutex_unlock(&js->lock);
	while (dropped) {
		struct job *next = dropped->next;

		job_free(dropped);
		dropped = next;
	}
	*ret_doc = doc;
	return 0;
}

int jobs_get(struct jobs *js, int64_t id, json_t **ret, struct mm_error *err)
{
	json_t *doc = NULL;
	bool found = false;

	pthread_mutex_lock(&js->lock);
	for (struct job *j = js->head; j; j = j->next) {
		if (j->id == id) {
			found = true;
			doc = job_doc(j);
			break;
		}
	}
	pthread_mutex_unlock(&js->lock);
	if (!found)
		return api_error(err, -ENOENT, "no job %lld", (long long)id);
	if (!doc)
		return api_error(err, -ENOMEM, "out of memory");
	*ret = doc;
	return 0;
}

int jobs_list(struct jobs *js, json_t **ret, struct mm_error *err)
{
	json_t *arr = json_array();
	bool oom = !arr;

	pthread_mutex_lock(&js->lock);
	for (struct job *j = js->head; !oom && j; j = j->next)
		oom = json_array_append_new(arr, job_doc(j)) != 0;
	pthread_mutex_unlock(&js->lock);
	if (oom) {
		json_decref(arr);
		return api_error(err, -ENOMEM, "out of memory");
	}
	*ret = json_pack("{s:o}", "jobs", arr);
	return *ret ? 0 : api_error(err, -ENOMEM, "out of memory");
}
