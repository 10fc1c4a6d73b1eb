/* SPDX-License-Identifier: MIT */
/*
 * text.c - JSON written and read as text, without a json_t (see codec.h, struct api_text).
 *
 * The command path writes every result once, as compact JSON text, for the journal and the
 * answer alike; a journal row's two arrays are split back into their elements' texts without
 * parsing them. api_text_json() writes a json_t exactly as json_dumps(JSON_COMPACT) does, so a
 * text written here and one Jansson wrote are the same bytes.
 *
 * Invariant: a struct api_text whose growth failed has @oom set and drops every later write;
 * its writers check @oom once at the end.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "problem.h"

json_t *api_json_hex(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%" PRIx64, v);
	return json_string(s);
}

/* ---- JSON text ------------------------------------------------------------------------- */

void api_text_free(struct api_text *t)
{
	free(t->data);
	memset(t, 0, sizeof(*t));
}

bool api_text_reserve(struct api_text *t, size_t n)
{
	size_t cap;
	char *p;

	if (t->oom)
		return false;
	if (t->len + n + 1 <= t->cap)
		return true;
	cap = t->cap ? t->cap : 256;
	while (cap < t->len + n + 1) {
		if (cap > SIZE_MAX / 2) {
			t->oom = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(t->data, cap);
	if (!p) {
		t->oom = true;
		return false;
	}
	t->data = p;
	t->cap = cap;
	return true;
}

void api_text_put(struct api_text *t, const char *s, size_t n)
{
	if (!api_text_reserve(t, n))
		return;
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

void api_text_puts(struct api_text *t, const char *s)
{
	api_text_put(t, s, strlen(s));
}

void api_text_int(struct api_text *t, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	api_text_put(t, p, (size_t)(buf + sizeof(buf) - p));
}

void api_text_hex(struct api_text *t, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[24], *p = buf + sizeof(buf);

	*--p = '"';
	do {
		*--p = digits[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	*--p = '"';
	api_text_put(t, p, (size_t)(buf + sizeof(buf) - p));
}

void api_text_str(struct api_text *t, const char *s)
{
	json_t *j;

	/* the common case, plain ASCII without quotes or backslashes, is copied as is */
	for (const char *p = s;; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\0') {
			api_text_put(t, "\"", 1);
			api_text_put(t, s, (size_t)(p - s));
			api_text_put(t, "\"", 1);
			return;
		}
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			break;
	}
	j = json_string_nocheck(s);
	if (!j) {
		t->oom = true;
		return;
	}
	api_text_json(t, j);
	json_decref(j);
}

void api_text_json(struct api_text *t, const json_t *v)
{
	size_t room = t->cap > t->len ? t->cap - t->len - 1 : 0;
	size_t need = json_dumpb(v, t->data ? t->data + t->len : NULL, room,
				 JSON_COMPACT | JSON_ENCODE_ANY);

	if (need == 0) {
		t->oom = true;
		return;
	}
	if (need > room) {
		if (!api_text_reserve(t, need))
			return;
		json_dumpb(v, t->data + t->len, need, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	t->len += need;
	t->data[t->len] = '\0';
}

/* ---- JSON arrays as text ---------------------------------------------------------------- */

static size_t skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

int api_json_array_split(const char *t, size_t len, size_t max, struct api_json_span **ret,
			 size_t *ret_n)
{
	struct api_json_span *v = NULL;
	size_t i = skip_ws(t, len, 0), k = 0, cap = 0;

	if (i >= len || t[i] != '[')
		return -EINVAL;
	i = skip_ws(t, len, i + 1);
	if (i < len && t[i] == ']') {
		i++;
	} else {
		for (;;) {
			size_t start = i, end;
			int depth = 0;

			for (; i < len; i++) {
				char ch = t[i];

				if (ch == '"') {
					for (i++; i < len && t[i] != '"'; i++)
						if (t[i] == '\\')
							i++;
				} else if (ch == '{' || ch == '[') {
					depth++;
				} else if (ch == '}' || ch == ']') {
					if (depth == 0)
						break;
					depth--;
				} else if (ch == ',' && depth == 0) {
					break;
				}
			}
			if (i >= len || k >= max)
				goto fail;
			for (end = i; end > start && skip_ws(t, end, end - 1) == end; end--)
				;
			if (end == start)
				goto fail;
			if (k == cap) {
				struct api_json_span *p;

				cap = cap ? cap * 2 : 64;
				p = realloc(v, cap * sizeof(*v));
				if (!p)
					goto fail;
				v = p;
			}
			v[k++] = (struct api_json_span){t + start, end - start};
			if (t[i++] == ']')
				break;
			i = skip_ws(t, len, i);
		}
	}
	if (skip_ws(t, len, i) != len)
		goto fail;
	*ret = v;
	*ret_n = k;
	return 0;
fail:
	free(v);
	return -EINVAL;
}

int api_json_array_spans(const char *t, size_t len, struct api_json_span *out, size_t n)
{
	struct api_json_span *v = NULL;
	size_t k = 0;

	if (api_json_array_split(t, len, n, &v, &k) < 0 || k != n) {
		free(v);
		return -EINVAL;
	}
	if (n)
		memcpy(out, v, n * sizeof(*v));
	free(v);
	return 0;
}
