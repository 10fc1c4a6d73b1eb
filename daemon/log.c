/* SPDX-License-Identifier: MIT */
/*
 * log.c - the journal or stderr (see log.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"

#if HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "log.h"

#define LOG_FIELDS_MAX 8

static enum log_level log_max = LOG_LEVEL_INFO; /* atomic */
static int log_journal; /* stderr is the systemd journal; set once by log_init() */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int level_syslog[] = {3, 4, 6, 7};

void log_init(enum log_level max)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	log_set_level(max);
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
		log_journal = (unsigned long long)st.st_dev == dev &&
			      (unsigned long long)st.st_ino == ino;
}

void log_set_level(enum log_level max)
{
	__atomic_store_n(&log_max, max, __ATOMIC_RELAXED);
}

int log_level_parse(const char *s, enum log_level *ret)
{
	for (int i = 0; i <= LOG_LEVEL_DEBUG; i++) {
		if (!strcmp(s, level_names[i])) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return level <= LOG_LEVEL_DEBUG ? level_names[level] : "?";
}

int log_enabled(enum log_level level)
{
	return level <= __atomic_load_n(&log_max, __ATOMIC_RELAXED);
}

int log_to_journal(void)
{
	return log_journal;
}

static void to_stderr(enum log_level level, const char *msg)
{
	char line[1100];
	int n;

	if (log_journal)
		n = snprintf(line, sizeof(line) - 1, "<%d>%s", level_syslog[level], msg);
	else
		n = snprintf(line, sizeof(line) - 1, "mm32d: %s: %s", level_names[level], msg);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* one write() per line keeps lines from different threads apart */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

#if HAVE_SYSTEMD
/* One journal entry; false when the journal did not take it. */
static bool to_journal(enum log_level level, const char *const *fields, const char *msg)
{
	char message[1100], buf[LOG_FIELDS_MAX + 3][512];
	struct iovec iov[LOG_FIELDS_MAX + 3];
	int n = 1;

	snprintf(message, sizeof(message), "MESSAGE=%s", msg);
	snprintf(buf[n], sizeof(buf[n]), "PRIORITY=%d", level_syslog[level]);
	n++;
	snprintf(buf[n], sizeof(buf[n]), "SYSLOG_IDENTIFIER=mm32d");
	n++;
	for (size_t i = 0; fields && fields[i] && fields[i + 1] && n < LOG_FIELDS_MAX + 3; i += 2) {
		snprintf(buf[n], sizeof(buf[n]), "%s=%s", fields[i], fields[i + 1]);
		n++;
	}
	iov[0] = (struct iovec){message, strlen(message)};
	for (int i = 1; i < n; i++)
		iov[i] = (struct iovec){buf[i], strlen(buf[i])};
	return sd_journal_sendv(iov, n) >= 0;
}
#endif

__attribute__((format(printf, 3, 0))) static void
log_v(enum log_level level, const char *const *fields, const char *fmt, va_list ap)
{
	char msg[1024];

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
#if HAVE_SYSTEMD
	if (log_journal && to_journal(level, fields, msg))
		return;
#else
	(void)fields;
#endif
	to_stderr(level, msg);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(level, NULL, fmt, ap);
	va_end(ap);
}

void log_fields(enum log_level level, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(level, fields, fmt, ap);
	va_end(ap);
}
