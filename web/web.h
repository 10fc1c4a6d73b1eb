/* SPDX-License-Identifier: MIT */
/*
 * web.h - the dashboard's files, embedded into mm32d at build time (web/embed.c writes the
 * table from the files under web/; api/web.c serves them at / and /web/{file}).
 */
#ifndef MM32_WEB_H
#define MM32_WEB_H

#include <stddef.h>

struct web_asset {
	const char *name;	  /* the file's base name: /web/<name> */
	const char *content_type; /* from its extension */
	const unsigned char *data;
	size_t len;
	/* name, value pairs ending in NULL: "ETag" first, "\"<16 hex digits>\"" (FNV-1a 64 of
	 * the bytes), then WEB_HEADERS */
	const char *const *headers;
};

/*
 * What every file is served with: revalidate each time (an unchanged file costs a 304), a
 * strict Content-Security-Policy (scripts, styles, images and connections from this origin
 * only: no inline script or style attribute, no frames, no plugins, nothing from a CDN), and
 * no content sniffing.
 */
#define WEB_CSP                                                                                    \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "                \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
#define WEB_HEADERS                                                                                \
	"Cache-Control", "no-cache", "Content-Security-Policy", WEB_CSP, "X-Content-Type-Options", \
		"nosniff", "Referrer-Policy", "no-referrer"

/* Sorted by name. */
extern const struct web_asset web_assets[];
extern const unsigned int web_nr_assets;

#endif /* MM32_WEB_H */
