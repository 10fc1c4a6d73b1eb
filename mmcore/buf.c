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

/*
 * Formatted: written straight into the room the buffer has (most appends fit: the buffer
 * keeps BUF_SLACK bytes free), and formatted a second time only when it did not fit.
 */
#define BUF_SLACK 256

void mm_buf_vprintf(struct mm_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t room;
	int n;

	if (buf_reserve(b, BUF_SLACK))
		return;
	room = b->cap - b->len;
	va_copy(ap2, ap);
	n = vsnprintf(b->data + b->len, room, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->data[b->len] = '\0';
		return;
	}
	if ((size_t)n >= room) {
		if (buf_reserve(b, (size_t)n)) {
			b->data[b->len] = '\0';
			return;
		}
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	}
	b->len += (size_t)n;
}

void mm_buf_put(struct mm_buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void mm_buf_putu(struct mm_buf *b, unsigned long v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mm_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void mm_buf_puti(struct mm_buf *b, long v)
{
	if (v < 0) {
		mm_buf_put(b, "-", 1);
		mm_buf_putu(b, 0UL - (unsigned long)v);
	} else {
		mm_buf_putu(b, (unsigned long)v);
	}
}

void mm_buf_puts_left(struct mm_buf *b, const char *s, size_t width)
{
	static const char spaces[] = "                                ";
	size_t n = strlen(s);

	mm_buf_put(b, s, n);
	while (n < width) {
		size_t k = width - n < sizeof(spaces) - 1 ? width - n : sizeof(spaces) - 1;

		mm_buf_put(b, spaces, k);
		n += k;
	}
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
