/* SPDX-License-Identifier: MIT */
/*
 * buf.h - appending formatted text to a struct mm_buf (the /proc and dmesg renderers).
 * A buffer whose growth failed stays failed: every later append is a no-op and
 * mm_buf_status() reports -ENOMEM, so renderers check once at the end.
 */
#ifndef MM_BUF_H
#define MM_BUF_H

#include "mmcore.h"

#if defined(__GNUC__)
#define MM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MM_PRINTF(a, b)
#endif

void mm_buf_printf(struct mm_buf *b, const char *fmt, ...) MM_PRINTF(2, 3);
#include <stdarg.h>
void mm_buf_vprintf(struct mm_buf *b, const char *fmt, va_list ap) MM_PRINTF(2, 0);
void mm_buf_puts(struct mm_buf *b, const char *s);
/*
 * Appenders without a format, for renderers whose cost is their many small fields (a
 * /proc/zoneinfo has about 200): @n bytes of @s; @v in decimal, as "%lu" and "%ld" write it;
 * @s left-justified in @width columns, as "%-*s" writes it.
 */
void mm_buf_put(struct mm_buf *b, const char *s, size_t n);
void mm_buf_putu(struct mm_buf *b, unsigned long v);
void mm_buf_puti(struct mm_buf *b, long v);
void mm_buf_puts_left(struct mm_buf *b, const char *s, size_t width);
int mm_buf_status(const struct mm_buf *b);

#endif /* MM_BUF_H */
