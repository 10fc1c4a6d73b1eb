/* SPDX-License-Identifier: MIT */
/*
 * cmdline.c - parsing the kernel command line; see cmdline.h.
 * memparse() follows lib/cmdline.c: simple_strtoull(base 0) then one suffix letter,
 * each shifting by 10 more bits (K, M, G, T, P, E; either case).
 */
#include "cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "machine.h"

uint64_t memparse(const char *p, const char **end)
{
	uint64_t v = 0;
	unsigned int base = 10, shift = 0;
	const char *s = p;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isxdigit((unsigned char)s[2])) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	for (;; s++) {
		unsigned int d;

		if (isdigit((unsigned char)*s))
			d = (unsigned int)(*s - '0');
		else if (isxdigit((unsigned char)*s))
			d = (unsigned int)(tolower((unsigned char)*s) - 'a' + 10);
		else
			break;
		if (d >= base)
			break;
		v = v * base + d;
	}
	if (s == p) {
		*end = p;
		return 0;
	}
	switch (*s) {
	case 'E':
	case 'e':
		shift += 10; /* fall through */
	case 'P':
	case 'p':
		shift += 10; /* fall through */
	case 'T':
	case 't':
		shift += 10; /* fall through */
	case 'G':
	case 'g':
		shift += 10; /* fall through */
	case 'M':
	case 'm':
		shift += 10; /* fall through */
	case 'K':
	case 'k':
		shift += 10;
		s++;
		break;
	default:
		break;
	}
	*end = s;
	return shift >= 64 ? 0 : v << shift;
}

int mm_parse_size(const char *s, uint64_t *ret)
{
	const char *end;
	uint64_t v;

	if (!s || !*s)
		return -EINVAL;
	v = memparse(s, &end);
	if (end == s)
		return -EINVAL;
	/* accept an optional "B"/"iB" after the suffix letter, as people write "1GiB" */
	if ((end[0] == 'i' || end[0] == 'I') && (end[1] == 'B' || end[1] == 'b'))
		end += 2;
	else if (end[0] == 'B' || end[0] == 'b')
		end++;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int check_size(const char *name, const char *v, bool allow_zero, struct mm_error *err)
{
	const char *end;
	uint64_t n = memparse(v, &end);

	if (end == v || *end || (!allow_zero && n == 0))
		return mm_set_error(err, -EINVAL,
				    "Malformed early option '%s': \"%s\" is not a size (e.g. 512M)",
				    name, v);
	return 0;
}

/* Mirrors the syntax accepted by arch/x86/kernel/e820.c parse_memmap_one(). */
static int check_memmap_one(const char *p, struct mm_error *err)
{
	const char *q;

	if (!strncmp(p, "exactmap", 8) && p[8] == '\0')
		return 0;
	memparse(p, &q);
	if (q == p)
		goto bad;
	switch (*q) {
	case '\0':
		return 0;
	case '@':
	case '#':
	case '$':
	case '!': {
		const char *r;

		memparse(q + 1, &r);
		if (r == q + 1 || *r)
			goto bad;
		return 0;
	}
	case '%': {
		const char *r;
		char *e;

		memparse(q + 1, &r);
		if (r == q + 1)
			goto bad;
		if (*r == '-') {
			strtoull(r + 1, &e, 0);
			r = e;
		}
		if (*r == '+') {
			strtoull(r + 1, &e, 0);
			r = e;
		}
		if (*r)
			goto bad;
		return 0;
	}
	default:
		goto bad;
	}
bad:
	return mm_set_error(
		err, -EINVAL,
		"Malformed early option 'memmap': \"%s\" (forms: nn[KMG], nn@ss, nn#ss, "
		"nn$ss, nn!ss, nn%%ss-from+to, exactmap)",
		p);
}

static int add_param(struct mm_cmdline *out, enum early_param kind, const char *v,
		     struct mm_error *err)
{
	if (out->nr >= CMDLINE_MAX_PARAMS)
		return mm_set_error(err, -EINVAL, "too many early parameters (at most %d)",
				    CMDLINE_MAX_PARAMS);
	if (strlen(v) >= sizeof(out->params[0].value))
		return mm_set_error(err, -EINVAL, "parameter value too long: \"%.40s...\"", v);
	out->params[out->nr].kind = kind;
	strcpy(out->params[out->nr].value, v);
	out->nr++;
	return 0;
}

int cmdline_parse(const char *s, struct mm_cmdline *out, struct mm_error *err)
{
	char tok[MM_CMDLINE_MAX];
	int ret;

	out->nr = 0;
	while (*s) {
		size_t n = 0;
		bool quoted = false;
		char *eq, *val;

		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		/* next_arg(): a token ends at unquoted white space; quotes are removed */
		for (; *s && (quoted || !isspace((unsigned char)*s)); s++) {
			if (*s == '"') {
				quoted = !quoted;
				continue;
			}
			if (!isprint((unsigned char)*s))
				return mm_set_error(
					err, -EINVAL,
					"kernel command line contains a control character");
			tok[n++] = *s;
		}
		if (quoted)
			return mm_set_error(err, -EINVAL,
					    "kernel command line has an unterminated quote");
		tok[n] = '\0';
		if (!strcmp(tok, "--"))
			break; /* the rest goes to init */
		eq = strchr(tok, '=');
		val = eq ? eq + 1 : NULL;
		if (eq)
			*eq = '\0';
		if (!strcmp(tok, "mem")) {
			if (!val || !*val)
				return mm_set_error(err, -EINVAL,
						    "Malformed early option 'mem': no value");
			if (strcmp(val, "nopentium") && (ret = check_size("mem", val, false, err)))
				return ret;
			if ((ret = add_param(out, EARLY_MEM, val, err)))
				return ret;
		} else if (!strcmp(tok, "memmap")) {
			char *p = val, *comma;

			if (!val || !*val)
				return mm_set_error(err, -EINVAL,
						    "Malformed early option 'memmap': no value");
			do {
				comma = strchr(p, ',');
				if (comma)
					*comma = '\0';
				if ((ret = check_memmap_one(p, err)))
					return ret;
				if ((ret = add_param(out, EARLY_MEMMAP, p, err)))
					return ret;
				p = comma ? comma + 1 : NULL;
			} while (p);
		} else if (!strcmp(tok, "highmem")) {
			if (!val || (ret = check_size("highmem", val, true, err)))
				return val ? ret
					   : mm_set_error(
						     err, -EINVAL,
						     "Malformed early option 'highmem': no value");
			if ((ret = add_param(out, EARLY_HIGHMEM, val, err)))
				return ret;
		} else if (!strcmp(tok, "vmalloc")) {
			if (!val || (ret = check_size("vmalloc", val, true, err)))
				return val ? ret
					   : mm_set_error(
						     err, -EINVAL,
						     "Malformed early option 'vmalloc': no value");
			if ((ret = add_param(out, EARLY_VMALLOC, val, err)))
				return ret;
		} else if (!strcmp(tok, "init_on_alloc") || !strcmp(tok, "init_on_free")) {
			/* kstrtobool(): y/Y/1/on true, n/N/0/off false */
			bool on;

			if (!val || !*val ||
			    !(strchr("yY1nN0", val[0]) || !strcasecmp(val, "on") ||
			      !strcasecmp(val, "off")))
				return mm_set_error(err, -EINVAL,
						    "Malformed early option '%s': \"%s\" (use 0/1, "
						    "y/n or on/off)",
						    tok, val ? val : "");
			on = strchr("yY1", val[0]) || !strcasecmp(val, "on");
			if ((ret = add_param(
				     out, tok[8] == 'a' ? EARLY_INIT_ON_ALLOC : EARLY_INIT_ON_FREE,
				     on ? "1" : "0", err)))
				return ret;
		} else if (!strcmp(tok, "slub_min_objects") || !strcmp(tok, "slub_max_order") ||
			   !strcmp(tok, "slub_min_order")) {
			/* get_option(): a number; the kernel ignores junk, mm32 refuses it */
			char *end = NULL;
			unsigned long v = val ? strtoul(val, &end, 0) : 0;

			if (!val || !*val || *end || v > 1000000)
				return mm_set_error(err, -EINVAL, "Malformed option '%s': \"%s\"",
						    tok, val ? val : "");
			if ((ret = add_param(
				     out,
				     !strcmp(tok, "slub_min_objects") ? EARLY_SLUB_MIN_OBJECTS
				     : !strcmp(tok, "slub_max_order") ? EARLY_SLUB_MAX_ORDER
								      : EARLY_SLUB_MIN_ORDER,
				     val, err)))
				return ret;
		} else if (!strcmp(tok, "slab_nomerge") || !strcmp(tok, "slub_nomerge") ||
			   !strcmp(tok, "slab_merge") || !strcmp(tok, "slub_merge")) {
			if ((ret = add_param(out, EARLY_SLAB_NOMERGE, tok[5] == 'n' ? "1" : "0",
					     err)))
				return ret;
		}
		/* everything else (console=, panic=, nokaslr, ...) is not memory's business */
	}
	return 0;
}
