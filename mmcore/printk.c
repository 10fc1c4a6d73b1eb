/* SPDX-License-Identifier: MIT */
/*
 * printk.c - the kernel log of a machine; see printk.h.
 * Invariant: log->text holds whole lines, except that when log->open is set the last line
 * lacks its newline (it is added when the next message starts or at render time).
 */
#include "printk.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "host.h"
#include "machine.h"
#include "snapshot.h"

MM_PRINTF(2, 0) static void log_vappend(struct printk_log *log, const char *fmt, va_list ap)
{
	mm_buf_vprintf(&log->text, fmt, ap);
}

void printk(struct mm_machine *m, const char *fmt, ...)
{
	struct printk_log *log = &m->log;
	va_list ap;

	if (log->open)
		mm_buf_puts(&log->text, "\n");
	mm_buf_printf(&log->text, "[%5llu.%06llu] ",
		      (unsigned long long)(log->clock_ns / 1000000000),
		      (unsigned long long)(log->clock_ns % 1000000000 / 1000));
	va_start(ap, fmt);
	log_vappend(log, fmt, ap);
	va_end(ap);
	log->open = !(log->text.len && log->text.data[log->text.len - 1] == '\n');
}

void pr_cont(struct mm_machine *m, const char *fmt, ...)
{
	struct printk_log *log = &m->log;
	va_list ap;

	va_start(ap, fmt);
	log_vappend(log, fmt, ap);
	va_end(ap);
	log->open = !(log->text.len && log->text.data[log->text.len - 1] == '\n');
}

void printk_finish(struct printk_log *log)
{
	mm_buf_free(&log->text);
}

int mm_dmesg_render(const struct mm_machine *m, struct mm_buf *out, struct mm_error *err)
{
	if (m->log.text.len)
		mm_buf_printf(out, "%.*s", (int)m->log.text.len, m->log.text.data);
	if (m->log.open)
		mm_buf_puts(out, "\n");
	if (mm_buf_status(out)) {
		mm_set_error(err, -ENOMEM, "out of host memory rendering dmesg");
		return -ENOMEM;
	}
	return 0;
}

/* ---- snapshot section LOG_: the log's text, whether its last line is open, the clock ---- */

void printk_snap_save(const struct mm_machine *m, struct snap_out *o)
{
	snap_put_u64(o, m->log.text.len);
	snap_put_bytes(o, m->log.text.data, m->log.text.len);
	snap_put_bool(o, m->log.open);
	snap_put_u64(o, m->log.clock_ns);
}

int printk_snap_load(struct mm_machine *m, struct snap_in *in)
{
	uint64_t len = snap_get_u64(in);

	if (in->ret)
		return in->ret;
	if (len > (1u << 30))
		return snap_corrupt(in, "a log of %llu bytes", (unsigned long long)len);
	if (len) {
		m->log.text.data = host_calloc(m->host, len + 1, 1);
		if (!m->log.text.data)
			return snap_nomem(in, "the log");
		m->log.text.cap = len + 1;
		m->log.text.len = len;
		if (snap_get_bytes(in, m->log.text.data, len))
			return in->ret;
		if (memchr(m->log.text.data, '\0', len))
			return snap_corrupt(in, "the log holds a NUL");
	}
	m->log.open = snap_get_bool(in);
	m->log.clock_ns = snap_get_u64(in);
	return in->ret;
}
