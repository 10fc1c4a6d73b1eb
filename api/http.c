/* SPDX-License-Identifier: MIT */
/*
 * http.c - what HTTP says about a request besides its route: conditional requests (ETag,
 * If-None-Match), content negotiation (Accept with q-values), paging (?after=&limit=, Link)
 * and a command's "what changed" (?diff=zones).
 *
 * What it is for: a dashboard polls views and follows commands. A view of a machine is a
 * function of the machine's state identity (struct api_state_id: the host's instance, the
 * machine's generation and its last journaled seq), so its ETag is that identity plus the
 * representation (JSON or text); If-None-Match with that tag answers 304 without a body
 * (RFC 9110 13.1.2: weak comparison, a list, or "*"). Accept is read with its q-values (RFC
 * 9110 12.5.1): the offer of highest q wins, the route's own order breaks ties, q=0 excludes,
 * and nothing acceptable is 406. A list that can grow is read a page at a time with the same
 * two query arguments everywhere: ?after= (the last key of the previous page) and ?limit=.
 *
 * Invariants: an ETag never names two different bodies (the identity changes with every
 * journaled command, every rebuild and re-creation, every restart); a 304 carries the ETag and
 * no body; the diff of a command is read under the same lease as the command, before and
 * after it, so it is exactly what that command changed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "call-int.h"
#include "problem.h"

void api_state_etag(const struct api_state_id *id, char *buf, size_t size)
{
	snprintf(buf, size, "\"%" PRIx64 "-%" PRIu64 "-%" PRId64 "\"", id->instance, id->generation,
		 id->seq);
}

/* The ETag of a view of the leased machine: its state identity and @kind ('j' JSON, 't'
 * text). "" when the host tells no identity. */
void api_view_etag(const struct api_host *host, const struct api_lease *lease, char kind, char *buf,
		   size_t size)
{
	struct api_state_id id;
	char tag[72];
	size_t n;

	buf[0] = '\0';
	if (!host->ops->machine_state)
		return;
	host->ops->machine_state(host->data, lease, &id);
	api_state_etag(&id, tag, sizeof(tag));
	n = strlen(tag);
	/* "...-j": the representation is part of the tag (Vary: Accept) */
	snprintf(buf, size, "%.*s-%c\"", (int)(n - 1), tag, kind);
}

/* Does If-None-Match @inm match @etag? Weak comparison: W/ is ignored on both. */
bool api_etag_matches(const char *inm, const char *etag)
{
	const char *e = etag;
	size_t elen;

	if (!inm || !etag || !etag[0])
		return false;
	if (!strncmp(e, "W/", 2))
		e += 2;
	elen = strlen(e);
	for (const char *p = inm; *p;) {
		size_t len;

		p += strspn(p, " \t,");
		if (!*p)
			break;
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (*p != '"')
			return false; /* not a list of entity-tags: match nothing */
		len = strcspn(p + 1, "\"");
		if (p[1 + len] != '"')
			return false;
		if (len + 2 == elen && !strncmp(p, e, elen))
			return true;
		p += len + 2;
	}
	return false;
}

/* ---- Accept ---------------------------------------------------------------------------- */

/* The q of one media range's parameters ("; q=0.5"): 1000ths; 1000 when absent. -1 if bad. */
static int range_q(const char *p, const char *end)
{
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *s;
		int q = 0, digits = 0;

		if (!semi)
			break;
		s = semi + 1;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		p = s;
		if (end - s < 2 || (s[0] != 'q' && s[0] != 'Q') || s[1] != '=')
			continue;
		s += 2;
		if (s < end && (*s == '0' || *s == '1')) {
			q = (*s - '0') * 1000;
			s++;
			if (s < end && *s == '.') {
				int scale = 100;

				for (s++; s < end && *s >= '0' && *s <= '9' && digits < 3; s++) {
					q += (*s - '0') * scale;
					scale /= 10;
					digits++;
				}
			}
			while (s < end && (*s == ' ' || *s == '\t'))
				s++;
			if (q > 1000 || (s < end && *s != ';'))
				return -1;
			return q;
		}
		return -1;
	}
	return 1000;
}

/*
 * api_accept_choose - the offer (a media type "type/subtype" of @offers, @n of them, the
 * route's preference first) that @accept prefers: each offer takes the q of the most specific
 * range that matches it (type/subtype, then type/, then the all range); the highest q wins,
 * ties go to the earlier offer. No Accept header: the first offer.
 * Return: the offer's index, or -1 when every offer has q=0 (406).
 */
int api_accept_choose(const char *accept, const char *const *offers, size_t n)
{
	int best = -1, best_q = 0;

	if (!accept || !accept[strspn(accept, " \t")])
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *slash = strchr(offers[i], '/');
		size_t tlen = (size_t)(slash - offers[i]);
		int q = -1, spec = -1;

		for (const char *p = accept; *p;) {
			const char *end = p + strcspn(p, ","), *r = p, *rend;
			int s = -1;

			while (r < end && (*r == ' ' || *r == '\t'))
				r++;
			rend = r + strcspn(r, ";,");
			while (rend > r && (rend[-1] == ' ' || rend[-1] == '\t'))
				rend--;
			if ((size_t)(rend - r) == 3 && !strncmp(r, "*/*", 3))
				s = 0;
			else if ((size_t)(rend - r) == tlen + 2 &&
				 !strncasecmp(r, offers[i], tlen) && !strncmp(r + tlen, "/*", 2))
				s = 1;
			else if ((size_t)(rend - r) == strlen(offers[i]) &&
				 !strncasecmp(r, offers[i], strlen(offers[i])))
				s = 2;
			if (s > spec) {
				int rq = range_q(r, end);

				spec = s;
				q = rq < 0 ? 0 : rq;
			}
			p = *end ? end + 1 : end;
		}
		if (q > best_q) {
			best_q = q;
			best = (int)i;
		}
	}
	return best;
}

/* ---- paging ----------------------------------------------------------------------------- */

/*
 * api_query_page - ?after= and ?limit= of a list: @after_key is the key the list is ordered by
 * (a seq, an id: an integer; NULL for a list ordered by name, whose ?after= is any text given
 * back in *@ret_after_text). Defaults: after nothing, @limit_default; limit 1..@limit_max.
 */
int api_query_page(const struct api_call *c, bool numeric, int64_t *ret_after,
		   const char **ret_after_text, size_t limit_default, size_t limit_max,
		   size_t *ret_limit, struct mm_error *err)
{
	bool present;
	const char *v = api_query_value(c, "after", &present);
	uint32_t limit = (uint32_t)limit_default;
	int r;

	if (ret_after)
		*ret_after = 0;
	if (ret_after_text)
		*ret_after_text = NULL;
	if (present && numeric) {
		int64_t x = 0;
		size_t i;

		for (i = 0; v[i] >= '0' && v[i] <= '9' && i < 18; i++)
			x = x * 10 + (v[i] - '0');
		if (!v[0] || v[i])
			return api_error(err, -EINVAL,
					 "query parameter 'after' must be a decimal integer >= 0, "
					 "not \"%.32s\"",
					 v);
		*ret_after = x;
	} else if (present) {
		if (!v[0])
			return api_error(err, -EINVAL, "query parameter 'after' must not be empty");
		*ret_after_text = v;
	}
	r = api_query_uint(c, "limit", UINT32_MAX, &limit, &present, err);
	if (r < 0)
		return r;
	if (limit < 1 || limit > limit_max)
		return api_error(err, -EINVAL,
				 "query parameter 'limit' must be 1..%zu, not %" PRIu32, limit_max,
				 limit);
	*ret_limit = limit;
	return 0;
}

/* Link: <path?after=@next&limit=@limit>; rel="next", for a page followed by more. */
void api_reply_next(const struct api_call *c, struct api_reply *out, const char *next, size_t limit)
{
	snprintf(out->link, sizeof(out->link), "<%.200s?after=%.64s&limit=%zu>; rel=\"next\"",
		 c->req->url, next, limit);
}

/* Two items of a list by their member @key (qsort_r()): integers, or strings byte by byte. */
static int cmp_key(const void *a, const void *b, void *key)
{
	const json_t *x = json_object_get(*(json_t *const *)a, key);
	const json_t *y = json_object_get(*(json_t *const *)b, key);

	if (json_is_integer(x) || json_is_integer(y)) {
		json_int_t p = json_integer_value(x), q = json_integer_value(y);

		return (p > q) - (p < q);
	}
	return strcmp(json_string_value(x) ? json_string_value(x) : "",
		      json_string_value(y) ? json_string_value(y) : "");
}

int api_page_list(struct api_call *c, struct api_reply *out, json_t *doc, const char *member,
		  const char *key, bool numeric, struct mm_error *err)
{
	static const char *const known[] = {"after", "limit", NULL};
	json_t *all = json_object_get(doc, member), *page = json_array(), *e, *last = NULL;
	const char *after_text = NULL;
	int64_t after = 0;
	size_t n = json_array_size(all), limit, i;
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	bool more = false;
	char next[80];
	int r;

	r = api_query_check(c, known, err);
	if (r == 0)
		r = api_query_page(c, numeric, &after, &after_text, API_PAGE_DEFAULT, API_PAGE_MAX,
				   &limit, err);
	if (r == 0 && (!v || !page))
		r = api_error(err, -ENOMEM, "out of memory");
	if (r < 0) {
		free(v);
		json_decref(page);
		json_decref(doc);
		return r;
	}
	json_array_foreach(all, i, e)
		v[i] = e;
	qsort_r(v, n, sizeof(*v), cmp_key, (void *)key);
	for (i = 0; i < n; i++) {
		const json_t *k = json_object_get(v[i], key);

		if (numeric ? json_integer_value(k) <= after
			    : after_text && strcmp(json_string_value(k) ? json_string_value(k) : "",
						   after_text) <= 0)
			continue;
		if (json_array_size(page) == limit) {
			more = true;
			break;
		}
		json_array_append(page, v[i]);
		last = v[i];
	}
	free(v);
	more = more && last;
	if (more) {
		const json_t *k = json_object_get(last, key);

		if (numeric)
			snprintf(next, sizeof(next), "%" JSON_INTEGER_FORMAT,
				 json_integer_value(k));
		else
			snprintf(next, sizeof(next), "%s", json_string_value(k));
		api_reply_next(c, out, next, limit);
	}
	if (json_object_set_new(doc, member, page) ||
	    json_object_set_new(
		    doc, "next",
		    !more     ? json_null()
		    : numeric ? json_integer(json_integer_value(json_object_get(last, key)))
			      : json_string(next)))
		return api_error(err, -ENOMEM, "out of memory");
	return api_reply_json(out, 200, doc, err);
}

/* ---- ?diff=zones ------------------------------------------------------------------------ */

/* What a zone shows of itself before and after a command. */
struct zone_snap {
	bool ok; /* readable (the machine has zones) */
	uint64_t free;
	uint32_t min, low, high, promo, boost, managed, present, spanned;
	long protection[MM_NR_ZONES];
};

struct api_diff {
	struct zone_snap before[MM_NR_ZONES];
};

static void zones_capture(const struct mm_machine *m, struct zone_snap *s)
{
	struct mm_zone_info *z = malloc(sizeof(*z));

	memset(s, 0, sizeof(*s) * MM_NR_ZONES);
	if (!z)
		return;
	for (int i = 0; i < MM_NR_ZONES; i++) {
		if (mm_get_zone(m, i, z) < 0)
			continue;
		/* field by field: the memset above zeroed the padding, which memcmp() reads */
		s[i].ok = true;
		s[i].free = z->free;
		s[i].min = z->wmark_min;
		s[i].low = z->wmark_low;
		s[i].high = z->wmark_high;
		s[i].promo = z->wmark_promo;
		s[i].boost = z->watermark_boost;
		s[i].managed = z->managed;
		s[i].present = z->present;
		s[i].spanned = z->spanned;
		memcpy(s[i].protection, z->lowmem_reserve, sizeof(s[i].protection));
	}
	free(z);
}

int api_diff_begin(const struct api_call *c, struct api_diff **ret, struct mm_error *err)
{
	bool present;
	const char *v = api_query_value(c, "diff", &present);

	*ret = NULL;
	if (!present)
		return 0;
	if (strcmp(v, "zones"))
		return api_error(err, -EINVAL,
				 "query parameter 'diff' must be \"zones\" (what a command changed "
				 "in the zones), not \"%.32s\"",
				 v);
	*ret = malloc(sizeof(**ret));
	if (!*ret)
		return api_error(err, -ENOMEM, "out of memory");
	zones_capture(c->lease.m, (*ret)->before);
	return 0;
}

static json_t *snap_json(const struct zone_snap *s)
{
	json_t *prot, *o;

	if (!s->ok)
		return json_null();
	prot = json_array();
	for (int i = 0; prot && i < MM_NR_ZONES; i++)
		json_array_append_new(prot, json_integer(s->protection[i]));
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o*}", "free",
		      (json_int_t)s->free, "min", (json_int_t)s->min, "low", (json_int_t)s->low,
		      "high", (json_int_t)s->high, "promo", (json_int_t)s->promo, "boost",
		      (json_int_t)s->boost, "managed", (json_int_t)s->managed, "present",
		      (json_int_t)s->present, "spanned", (json_int_t)s->spanned, "protection",
		      prot);
	return o;
}

/* The diff of the zones, {"zones": [{"name", "changed", "before", "after"}]} (new reference). */
static json_t *diff_json(const struct api_diff *d, const struct mm_machine *m)
{
	struct zone_snap after[MM_NR_ZONES];
	json_t *zones = json_array();

	zones_capture(m, after);
	for (int i = 0; zones && i < MM_NR_ZONES; i++) {
		json_t *z;

		if (!d->before[i].ok && !after[i].ok)
			continue;
		z = json_pack("{s:s, s:b, s:o, s:o}", "name", mm_zone_name(i), "changed",
			      memcmp(&d->before[i], &after[i], sizeof(after[i])) != 0, "before",
			      snap_json(&d->before[i]), "after", snap_json(&after[i]));
		if (!z || json_array_append_new(zones, z)) {
			json_decref(zones);
			zones = NULL;
		}
	}
	return zones ? json_pack("{s:o}", "zones", zones) : NULL;
}

/* Add "diff" to the command's answer (an object, as JSON or as text). Frees @d. */
int api_diff_end(struct api_call *c, struct api_diff *d, struct api_reply *out,
		 struct mm_error *err)
{
	json_t *diff;
	char *s, *t, *brace;
	size_t n;

	if (!d)
		return 0;
	diff = diff_json(d, c->lease.m);
	free(d);
	if (!diff)
		return api_error(err, -ENOMEM, "out of memory");
	if (out->json) {
		if (json_object_set_new(out->json, "diff", diff))
			return api_error(err, -ENOMEM, "out of memory");
		return 0;
	}
	if (!out->json_text)
		return 0;
	s = json_dumps(diff, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(diff);
	brace = strrchr(out->json_text, '}');
	if (!s || !brace) {
		free(s);
		return s ? 0 : api_error(err, -ENOMEM, "out of memory");
	}
	n = strlen(s);
	t = malloc(out->json_text_len + n + 16);
	if (!t) {
		free(s);
		return api_error(err, -ENOMEM, "out of memory");
	}
	{
		size_t head = (size_t)(brace - out->json_text);
		int len = sprintf(t, "%.*s,\"diff\":%s%s", (int)head, out->json_text, s, brace);

		free(out->json_text);
		out->json_text = t;
		out->json_text_len = (size_t)len;
	}
	free(s);
	return 0;
}

/* ---- Server-Sent Events ------------------------------------------------------------------ */

/* @s as one line of an event's data: JSON's own whitespace may be a newline, which would end
 * the field; there is none in the compact texts written here, and any is made a space. */
static void put_line(struct api_text *t, const char *s, size_t n)
{
	size_t start = t->len;

	api_text_put(t, s, n);
	for (size_t i = start; !t->oom && i < t->len; i++)
		if (t->data[i] == '\n' || t->data[i] == '\r')
			t->data[i] = ' ';
}

void api_event_command(struct api_text *t, int64_t seq, const char *time, const char *cmd,
		       size_t cmd_len, const char *result, size_t result_len)
{
	api_text_puts(t, "id: ");
	api_text_int(t, seq);
	api_text_puts(t, "\nevent: command\ndata: {\"seq\":");
	api_text_int(t, seq);
	api_text_puts(t, ",\"time\":");
	if (time)
		api_text_str(t, time);
	else
		api_text_puts(t, "null");
	api_text_puts(t, ",\"command\":");
	put_line(t, cmd, cmd_len);
	api_text_puts(t, ",\"result\":");
	put_line(t, result, result_len);
	api_text_puts(t, "}\n\n");
}
