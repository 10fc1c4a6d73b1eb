/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon's logging: one line per message on stderr.
 *
 * Only daemon/ logs (mmcore and api/ return errors instead). Lines carry the sd-daemon
 * priority prefix ("<6>") when stderr is connected to the systemd journal (JOURNAL_STREAM
 * names our stderr), else "mm32d: <level>: ". Safe to call from any thread: each line is
 * written with a single write().
 */
#ifndef DAEMON_LOG_H
#define DAEMON_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(enum log_level max);
/* Parse "error", "warn", "info", "debug". Return 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_enabled(enum log_level level);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif /* DAEMON_LOG_H */
