/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon's logging: one line per message.
 *
 * Only daemon/ logs (mmcore and api/ return errors instead). Under journald (stderr is the
 * journal stream that $JOURNAL_STREAM names) a message goes to the journal as structured
 * fields through sd_journal_send(): MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=mm32d and the
 * context of the message (MM32_MACHINE=<id> for a machine, MM32_METHOD, MM32_PATH,
 * MM32_STATUS, MM32_DURATION_MS for a request). Otherwise, and should the journal refuse
 * it, it is a line on stderr: "<6>..." under journald, "mm32d: <level>: ..." elsewhere.
 *
 * Safe to call from any thread: each stderr line is written with a single write(). The
 * level may change at any time (SIGHUP): it is an atomic.
 */
#ifndef DAEMON_LOG_H
#define DAEMON_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(enum log_level max);
void log_set_level(enum log_level max);
/* Parse "error", "warn", "info", "debug". Return 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret);
const char *log_level_name(enum log_level level);
int log_enabled(enum log_level level);
/* Whether messages go to the journal with fields. */
int log_to_journal(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * log_fields - a message with journal fields: @fields is "KEY", "value", ..., NULL (keys
 * in upper case, as journald wants them). On stderr the fields are not printed: the
 * message must say what matters by itself.
 */
void log_fields(enum log_level level, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/* A message about one machine: MM32_MACHINE=@id in the journal. */
#define log_machine(level, id, ...)                                                                \
	log_fields(level, (const char *const[]){"MM32_MACHINE", (id), NULL}, __VA_ARGS__)

#endif /* DAEMON_LOG_H */
