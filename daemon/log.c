/* SPDX-License-Identifier: MIT */
/*
 * log.c - stderr logging (see log.h). The level is set once at start-up, before any
 * thread exists, and only read afterwards.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static enum log_level log_max = LOG_LEVEL_INFO;
static int log_journal; /* stderr is the systemd journal: use "<N>" priority prefixes */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const int level_syslog[] = {3, 4, 6, 7};

void log_init(enum log_level max)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	log_max = max;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
		log_journal = (unsigned long long)st.st_dev == dev &&
			      (unsigned long long)st.st_ino == ino;
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

int log_enabled(enum log_level level)
{
	return level <= log_max;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	if (level > log_max)
		return;
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>", level_syslog[level]);
	else
		n = snprintf(line, sizeof(line), "mm32d: %s: ", level_names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* one write() per line keeps lines from different threads apart */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
