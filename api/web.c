/* SPDX-License-Identifier: MIT */
/*
 * web.c - GET / and GET /web/{file}: the dashboard, served from the files embedded at build
 * time (web/embed.c writes the table; web/ holds the page, its ES modules and its CSS).
 *
 * What it is for: a student opens http://127.0.0.1:8032/ and sees the machines; the page
 * drives the same HTTP API as anyone else (it has no route of its own but these two).
 *
 * Invariants:
 *  - only the embedded files are served, by exact name: no file system, no path to escape;
 *  - every answer carries the file's ETag (a hash of its bytes, made at build time) and
 *    Cache-Control: no-cache, so a browser revalidates and an unchanged file costs a 304;
 *  - every answer carries a strict Content-Security-Policy (web.h's WEB_CSP): scripts,
 *    styles, images and connections from this origin only, no inline script or style, no
 *    frames, no plugins; the page works offline (nothing from a CDN).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "call-int.h"
#include "problem.h"
#include "web.h"

static const struct web_asset *web_asset_find(const char *name)
{
	unsigned int lo = 0, hi = web_nr_assets;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		int c = strcmp(name, web_assets[mid].name);

		if (!c)
			return &web_assets[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* If-None-Match names @etag (or is "*"): the client's copy is current. */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);

	if (!inm)
		return false;
	for (const char *p = inm; *p;) {
		size_t len;

		p += strspn(p, " \t,");
		if (!strncmp(p, "W/", 2))
			p += 2;
		len = strcspn(p, " \t,");
		if ((len == 1 && *p == '*') || (len == n && !strncmp(p, etag, n)))
			return true;
		p += len;
	}
	return false;
}

static int serve(struct api_call *c, const char *name, struct api_reply *out, struct mm_error *err)
{
	const struct web_asset *a = web_asset_find(name);

	if (!a)
		return api_error(err, -ENOENT, "no such file of the dashboard: %.64s", name);
	out->headers = a->headers;
	if (etag_matches(c->req->if_none_match, a->headers[1])) {
		out->status = 304;
		return 0;
	}
	out->json_text = malloc(a->len ? a->len : 1);
	if (!out->json_text)
		return api_error(err, -ENOMEM, "out of memory");
	memcpy(out->json_text, a->data, a->len);
	out->json_text_len = a->len;
	out->content_type = a->content_type;
	out->status = 200;
	return 0;
}

int h_web_index(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	return serve(c, "index.html", out, err);
}

int h_web_file(struct api_call *c, struct api_reply *out, struct mm_error *err)
{
	return serve(c, c->cap[0], out, err);
}
