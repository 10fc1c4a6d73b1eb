/* SPDX-License-Identifier: MIT */
/*
 * scan.c - the JSON scanner of the command path: flat commands read without Jansson.
 *
 * The common command is a flat object of integers, booleans and plain strings
 * ({"op":"alloc_pages","gfp":"GFP_KERNEL","order":0}); a batch is an array of them. Reading
 * those straight from the request's bytes into struct api_cmd views, with no json_t, is what
 * keeps a batch of a thousand commands at about a microsecond each (bench/http-alloc.c).
 * Anything else, every malformed text included, is refused here and read by Jansson instead,
 * so that answers (400 with line and column, 413, 422) stay Jansson's; both give the same
 * views, and the transaction writes the same canonical text from either (txn.h).
 *
 * Invariant: the scanner accepts a subset of what Jansson accepts with JSON_REJECT_DUPLICATES,
 * and reads it to the same values.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "scan.h"

static size_t scan_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

/* A string of printable ASCII without escapes at t[i] == '"'; NUL-terminates it. */
static size_t scan_str(char *t, size_t len, size_t i, const char **ret, size_t *ret_len)
{
	size_t start = ++i;

	for (; i < len && t[i] != '"'; i++)
		if ((unsigned char)t[i] < 0x20 || (unsigned char)t[i] >= 0x7f || t[i] == '\\')
			return 0;
	if (i >= len)
		return 0;
	t[i] = '\0';
	*ret = t + start;
	*ret_len = i - start;
	return i + 1;
}

/* The end of the object whose '}' is at t[i]: all of @t, or where the caller continues. */
static int scan_end(const char *t, size_t len, size_t i, size_t *ret_end)
{
	if (ret_end) {
		*ret_end = i + 1;
		return 0;
	}
	return scan_ws(t, len, i + 1) == len ? 0 : -EINVAL;
}

int api_command_scan(char *t, size_t len, struct api_cmd *view, size_t *ret_end)
{
	size_t i = scan_ws(t, len, 0);

	view->n = 0;
	if (i >= len || t[i] != '{')
		return -EINVAL;
	i = scan_ws(t, len, i + 1);
	if (i < len && t[i] == '}')
		return scan_end(t, len, i, ret_end);
	for (;;) {
		struct api_cmd_field *f;

		if (view->n == API_CMD_FIELDS || i >= len || t[i] != '"')
			return -EINVAL;
		f = &view->f[view->n];
		*f = (struct api_cmd_field){0};
		i = scan_str(t, len, i, &f->key, &f->key_len);
		if (!i)
			return -EINVAL;
		for (unsigned int k = 0; k < view->n; k++)
			if (view->f[k].key_len == f->key_len &&
			    !memcmp(view->f[k].key, f->key, f->key_len))
				return -EINVAL; /* a duplicate: Jansson refuses it (400) */
		i = scan_ws(t, len, i);
		if (i >= len || t[i] != ':')
			return -EINVAL;
		i = scan_ws(t, len, i + 1);
		if (i < len && t[i] == '"') {
			size_t n;

			f->type = API_FIELD_STRING;
			i = scan_str(t, len, i, &f->str, &n);
			if (!i)
				return -EINVAL;
		} else if (i < len && (t[i] == 't' || t[i] == 'f')) {
			const char *lit = t[i] == 't' ? "true" : "false";
			size_t n = strlen(lit);

			if (len - i < n || memcmp(t + i, lit, n))
				return -EINVAL;
			f->type = API_FIELD_BOOL;
			f->i = t[i] == 't';
			i += n;
		} else {
			bool neg = i < len && t[i] == '-';
			size_t start = neg ? ++i : i;
			json_int_t x = 0;

			/* JSON integers: no leading zeros, no '+'; 18 digits never overflow, and
			 * digits past them are only counted (the number is refused below) */
			for (; i < len && t[i] >= '0' && t[i] <= '9'; i++)
				if (i - start < 18)
					x = x * 10 + (t[i] - '0');
			if (i == start || i - start > 18 || (t[start] == '0' && i - start > 1))
				return -EINVAL;
			if (i < len && (t[i] == '.' || t[i] == 'e' || t[i] == 'E'))
				return -EINVAL;
			f->type = API_FIELD_INT;
			f->i = neg ? -x : x;
		}
		view->n++;
		i = scan_ws(t, len, i);
		if (i < len && t[i] == ',') {
			i = scan_ws(t, len, i + 1);
			continue;
		}
		if (i < len && t[i] == '}')
			return scan_end(t, len, i, ret_end);
		return -EINVAL;
	}
}

/*
 * Read a batch body with api_command_scan(): the common shape of a batch (an array of flat
 * commands) needs no json_t at all. Anything else, including every malformed body, is
 * left to Jansson, so the answers (400 with line and column, 413, 422) stay its.
 */
static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool api_scan_batch(const char *body, size_t len, struct api_scan_batch *fb)
{
	size_t i = 0, cap = 0, n = 0;

	memset(fb, 0, sizeof(*fb));
	while (i < len && is_ws(body[i]))
		i++;
	if (i >= len || body[i] != '[')
		return false;
	fb->copy = malloc(len + 1);
	if (!fb->copy)
		return false;
	memcpy(fb->copy, body, len);
	fb->copy[len] = '\0';
	/* '[' ws (object ws (',' ws object ws)*)? ']' ws: the end of each object is known from
	 * reading it, so the array is walked once */
	for (i++; i < len && is_ws(body[i]); i++)
		;
	if (i < len && body[i] == ']') {
		i++;
	} else {
		for (;;) {
			size_t end;

			if (n == API_BATCH_MAX)
				goto fail; /* Jansson's path answers 413 */
			if (n == cap) {
				struct api_json_span *sp;
				struct api_cmd *cmds;

				cap = cap ? cap * 2 : 64;
				sp = realloc(fb->spans, cap * sizeof(*sp));
				if (sp)
					fb->spans = sp;
				cmds = realloc(fb->cmds, cap * sizeof(*cmds));
				if (cmds)
					fb->cmds = cmds;
				if (!sp || !cmds)
					goto fail;
			}
			if (api_command_scan(fb->copy + i, len - i, &fb->cmds[n], &end) < 0)
				goto fail;
			fb->spans[n++] = (struct api_json_span){body + i, end};
			for (i += end; i < len && is_ws(body[i]); i++)
				;
			if (i < len && body[i] == ',') {
				for (i++; i < len && is_ws(body[i]); i++)
					;
				continue;
			}
			if (i < len && body[i] == ']') {
				i++;
				break;
			}
			goto fail;
		}
	}
	while (i < len && is_ws(body[i]))
		i++;
	if (i != len)
		goto fail;
	if (!fb->cmds && !(fb->cmds = malloc(sizeof(*fb->cmds))))
		goto fail;
	fb->n = n;
	return true;
fail:
	free(fb->spans);
	free(fb->copy);
	free(fb->cmds);
	memset(fb, 0, sizeof(*fb));
	return false;
}

void api_scan_batch_free(struct api_scan_batch *fb)
{
	free(fb->spans);
	free(fb->copy);
	free(fb->cmds);
	memset(fb, 0, sizeof(*fb));
}

int api_command_parse(const char *text, size_t len, struct api_cmd_text *ct, struct api_cmd *view,
		      struct mm_error *err)
{
	char *copy = len < sizeof(ct->stack) ? ct->stack : malloc(len + 1);
	json_error_t jerr;

	ct->copy = copy == ct->stack ? NULL : copy;
	ct->json = NULL;
	if (!copy)
		return api_error(err, -ENOMEM, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (api_command_scan(copy, len, view, NULL) == 0)
		return 0;
	ct->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!ct->json)
		return api_error(err, -EINVAL, "the command is not JSON: %s", jerr.text);
	return api_command_view(ct->json, view, err);
}

void api_command_parse_finish(struct api_cmd_text *ct)
{
	json_decref(ct->json);
	free(ct->copy);
	ct->json = NULL;
	ct->copy = NULL;
}
