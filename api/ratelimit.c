/* SPDX-License-Identifier: MIT */
/*
 * ratelimit.c - token buckets in a chained hash table (see ratelimit.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

#define NBUCKETS 1024
#define SWEEP_AT 4096	  /* drop refilled entries when this many clients are tracked */
#define MAX_CLIENTS 65536 /* beyond, new clients share the overflow bucket */
#define KEY_MAX 64

struct client {
	struct client *next;
	double tokens; /* requests left at @last */
	double last;
	char key[KEY_MAX];
};

struct api_ratelimit {
	pthread_mutex_t lock;
	struct client *table[NBUCKETS];
	size_t n;
	size_t sweep_at; /* sweep when n reaches it: SWEEP_AT, or twice what a sweep left */
	double last_sweep;
	struct client overflow;
};

int api_ratelimit_create(struct api_ratelimit **ret)
{
	struct api_ratelimit *rl = calloc(1, sizeof(*rl));

	if (!rl)
		return -ENOMEM;
	pthread_mutex_init(&rl->lock, NULL);
	rl->sweep_at = SWEEP_AT;
	rl->overflow.tokens = -1; /* not started: filled on first use */
	*ret = rl;
	return 0;
}

void api_ratelimit_destroy(struct api_ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		for (struct client *c = rl->table[i], *next; c; c = next) {
			next = c->next;
			free(c);
		}
	}
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* FNV-1a */
static size_t hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

static double refill(const struct client *c, double now, unsigned int rate, unsigned int burst)
{
	double t = c->tokens + (now - c->last) * rate;

	return t > burst ? burst : t;
}

/* Drop every client whose bucket is full again: it is the same as a client never seen. */
static void sweep(struct api_ratelimit *rl, double now, unsigned int rate, unsigned int burst)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		for (struct client **pp = &rl->table[i]; *pp;) {
			struct client *c = *pp;

			if (refill(c, now, rate, burst) >= burst) {
				*pp = c->next;
				free(c);
				rl->n--;
			} else {
				pp = &c->next;
			}
		}
	}
}

static struct client *lookup(struct api_ratelimit *rl, const char *key, double now,
			     unsigned int rate, unsigned int burst)
{
	size_t h = hash(key);
	struct client *c;

	for (c = rl->table[h]; c; c = c->next)
		if (!strcmp(c->key, key))
			return c;
	/* amortized: the next sweep waits until the table has doubled, or, once it is full,
	 * for a second */
	if (rl->n >= rl->sweep_at || (rl->n >= MAX_CLIENTS && now - rl->last_sweep >= 1.0)) {
		sweep(rl, now, rate, burst);
		rl->last_sweep = now;
		rl->sweep_at = rl->n * 2 > SWEEP_AT ? rl->n * 2 : SWEEP_AT;
	}
	c = rl->n < MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		if (rl->overflow.tokens < 0) {
			rl->overflow.tokens = burst;
			rl->overflow.last = now;
		}
		return &rl->overflow;
	}
	snprintf(c->key, sizeof(c->key), "%s", key);
	c->tokens = burst;
	c->last = now;
	c->next = rl->table[h];
	rl->table[h] = c;
	rl->n++;
	return c;
}

bool api_ratelimit_take(struct api_ratelimit *rl, const char *key, double now, unsigned int rate,
			unsigned int burst, unsigned int *ret_retry_after)
{
	char k[KEY_MAX];
	struct client *c;
	bool ok;

	if (rate == 0)
		return true;
	if (burst < 1)
		burst = 1;
	snprintf(k, sizeof(k), "%s", key);
	pthread_mutex_lock(&rl->lock);
	c = lookup(rl, k, now, rate, burst);
	c->tokens = refill(c, now, rate, burst);
	c->last = now;
	ok = c->tokens >= 1.0;
	if (ok) {
		c->tokens -= 1.0;
	} else if (ret_retry_after) {
		/* whole seconds, rounded up, until the bucket holds one request again */
		double wait = (1.0 - c->tokens) / rate;
		unsigned int s = (unsigned int)wait;

		if ((double)s < wait)
			s++;
		*ret_retry_after = s < 1 ? 1 : s;
	}
	pthread_mutex_unlock(&rl->lock);
	return ok;
}

size_t api_ratelimit_clients(struct api_ratelimit *rl)
{
	size_t n;

	pthread_mutex_lock(&rl->lock);
	n = rl->n;
	pthread_mutex_unlock(&rl->lock);
	return n;
}
