/* SPDX-License-Identifier: MIT */
/*
 * settings.h - mm32d's configuration: built-in defaults, then the configuration file (ini,
 * read with inih), then the command line, which wins.
 *
 * Every long option of the command line is a key of the file, with the same name and the
 * same value syntax, in the section [mm32d] (or before any section). Flags take a boolean
 * (true/false, yes/no, on/off, 1/0). The file alone may also give `token = ...`, once per
 * token; tokens are kept out of the command line, where every local user could read them.
 *
 * The file is read again on SIGHUP (settings_load() with the same arguments): only the keys of
 * settings_reloadable() take effect then, the others at the next start.
 *
 * Ownership: a struct settings owns its tokens; settings_finish() frees them (and accepts a
 * zeroed struct). Nothing here logs: failures come back as -errno and a message in @err.
 */
#ifndef DAEMON_SETTINGS_H
#define DAEMON_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "mmcore.h"
#include "store.h"

#define SETTINGS_ARGS_MAX 64
#define SETTINGS_TOKENS_MAX 64
#define SETTINGS_TOKEN_MIN 16 /* shortest bearer token accepted */
#define SETTINGS_TOKEN_MAX 256
#define SETTINGS_ORIGINS_MAX 16
#define SETTINGS_ORIGIN_MAX 256

/* What the command line said, kept as text so that a reload applies it again. */
struct settings_args {
	const char *path; /* --config; NULL: the default file, if it exists; "": none */
	bool check;	  /* --check-config */
	size_t n;	  /* options other than --config, in order */
	struct {
		const char *key;   /* the long option's name, without "--" */
		const char *value; /* borrowed from argv; "true" for a flag */
	} opt[SETTINGS_ARGS_MAX];
};

struct settings {
	char file[4096];  /* the file read, "" if none */
	char listen[256]; /* ADDR:PORT */
	char unix_socket[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" for none */
	unsigned int unix_socket_mode; /* permissions of the socket file */
	char db[4096];		       /* "" for the default place */
	enum store_sync sync;	       /* the store's durability (full: every commit synced) */
	unsigned int threads;
	size_t max_body;
	unsigned int max_connections;		/* open connections at once, 0: no limit */
	unsigned int max_client_connections;	/* open connections per client, 0: no limit */
	unsigned int max_machines;		/* machines at once, 0: no limit */
	unsigned int max_snapshots_per_machine; /* listed snapshots of one machine, 0: no limit */
	unsigned int max_session_commands;	/* journal entries of one machine, 0: no limit */
	size_t max_host_memory; /* host memory the machines may hold; 0: 3/4 of the host's RAM */
	size_t max_db_size;	/* the database file's size; 0: the disk's */
	unsigned int request_timeout;  /* seconds for headers, then body; 0: none */
	unsigned int rate_limit;       /* requests per second per client, 0: no limit */
	unsigned int rate_burst;       /* requests a client may make at once */
	unsigned int shutdown_timeout; /* seconds SIGTERM waits for requests in flight */
	bool no_default_machine;
	bool insecure; /* allow other addresses than loopback without tokens */
	enum log_level level;
	char token_file[4096]; /* one token per line; "" for none */
	char **tokens;	       /* from `token =` lines and the token file */
	size_t ntokens;
	/* CORS: the origins whose pages may call the API (cors-origin, repeatable; the command
	 * line's replace the file's); none by default */
	char cors_origins[SETTINGS_ORIGINS_MAX][SETTINGS_ORIGIN_MAX];
	size_t ncors_origins;
	unsigned int max_event_streams;	       /* open event streams at once, 0: no limit */
	unsigned int max_client_event_streams; /* per client, 0: no limit */
	unsigned int event_heartbeat;	       /* seconds between an event stream's pings */
};

/*
 * settings_args_parse - read the command line.
 * Return: 0; 1 when --help or --version was answered (on stdout: exit 0); -EINVAL after
 * printing what is wrong on stderr (exit 2).
 */
int settings_args_parse(int argc, char **argv, struct settings_args *ret);
void settings_usage(FILE *f);

/*
 * settings_load - defaults, the file of @args, then the options of @args, then the token
 * file; every value is checked as it is read (ranges, the listen address, token syntax).
 * Whether tokens are needed depends on where mm32d really listens (systemd may pass the
 * sockets): settings_check_access() decides that.
 * On success *@ret is filled (settings_finish() it); on failure it is untouched.
 * Return: 0; -EINVAL (bad value, with the file's line), -ENOENT, -EACCES or -EPERM (a file:
 * tokens in a file every user may read are refused).
 */
int settings_load(const struct settings_args *args, struct settings *ret, struct mm_error *err);
void settings_finish(struct settings *cfg);

/*
 * settings_check_access - the rule "loopback only, unless there are tokens or --insecure":
 * @loopback_only says whether every TCP listener is a loopback address.
 * Return: 0 or -EPERM with the reason.
 */
int settings_check_access(const struct settings *cfg, bool loopback_only, struct mm_error *err);

/* "127.0.0.1:8032", "[::1]:8032", "localhost:8032" -> a socket address. 0 or -EINVAL. */
int settings_parse_listen(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);
/* Whether @sa is a loopback address (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
bool settings_addr_is_loopback(const struct sockaddr *sa);

/* Whether @key (a long option name) is applied on reload. */
bool settings_reloadable(const char *key);
/* The names of the keys that a reload does not apply and whose values differ between @a and
 * @b, comma-separated into @buf for the log; "" when only reloadable keys changed. */
void settings_restart_only_changes(const struct settings *a, const struct settings *b, char *buf,
				   size_t size);

/* The effective configuration as an ini file (tokens counted, never shown). */
void settings_print(const struct settings *cfg, FILE *f);

#endif /* DAEMON_SETTINGS_H */
