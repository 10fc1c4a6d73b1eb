/* SPDX-License-Identifier: MIT */
/*
 * buf.c - growable text buffers. Invariant: data[len] == '\0' whenever data != NULL;
 * cap == SIZE_MAX marks a buffer whose growth failed (see buf.h).
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "host.h"

static int buf_reserve(struct mm_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (b->cap == SIZE_MAX)
		return -ENOMEM;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < want)
		cap *= 2;
	p = host_realloc(b->host, b->data, cap, 1);
	if (!p) {
		b->cap = SIZE_MAX;
		return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

void mm_buf_vprintf(struct mm_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || buf_reserve(b, (size_t)n))
		return;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void mm_buf_printf(struct mm_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mm_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void mm_buf_puts(struct mm_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n + 1);
	b->len += n;
}

int mm_buf_status(const struct mm_buf *b)
{
	return b->cap == SIZE_MAX ? -ENOMEM : 0;
}

void mm_buf_free(struct mm_buf *b)
{
	if (!b)
		return;
	host_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
