/* SPDX-License-Identifier: MIT */
/*
 * httpc.h - what the HTTP benchmarks and the load test share: a minimal HTTP/1.1 client with
 * keep-alive (one request at a time per connection, bodies by Content-Length, which is all
 * mm32d sends), and the real mm32d started on a free loopback port with a database in a
 * new temporary directory. C11 + POSIX, no library beyond libc: it is a client, not mm32.
 *
 * Failures: the client functions return -1 (the connection is then unusable); the daemon
 * functions print what went wrong and exit, as a benchmark cannot go on without it.
 */
#ifndef MM32_BENCH_HTTPC_H
#define MM32_BENCH_HTTPC_H

#include <stddef.h>
#include <sys/types.h>

struct httpc_conn {
	int fd;
	char *buf; /* received bytes not consumed yet */
	size_t len, cap;
	char *out;
	size_t out_cap;
	size_t consumed; /* bytes of the last response, dropped at the next request */
};

struct httpc_response {
	int status;
	const char *body; /* NUL-terminated, valid until the next request on the connection */
	size_t body_len;
};

/* Connect to 127.0.0.1:@port. 0 or -errno. */
int httpc_open(struct httpc_conn *c, unsigned short port);
void httpc_close(struct httpc_conn *c);
/* One request and its response. 0, or -1 when the connection failed or closed. */
int httpc_request(struct httpc_conn *c, const char *method, const char *path, const char *body,
		  size_t body_len, struct httpc_response *r);

/* The mm32d under test. */
struct httpc_daemon {
	pid_t pid;
	unsigned short port;
	char tmpdir[256];
	char log[300];
	const char *who; /* the program's name, for messages */
};

/* Start @exe with --listen on a free port, --db in a new temporary directory (under $TMPDIR,
 * else /tmp), --no-default-machine, and @extra (NULL-terminated, may be NULL); wait until it
 * serves /v1/health. Exits the process on failure. */
void httpc_daemon_start(struct httpc_daemon *d, const char *who, const char *exe,
			const char *const *extra);
/* SIGTERM, wait, print the sanitizer reports of its log (an ASan/UBSan build's), remove the
 * temporary directory. Returns the number of report lines (0 when clean); safe to call
 * twice. */
int httpc_daemon_stop(struct httpc_daemon *d);
/* Print "who: message", stop the daemon and exit(1). */
void httpc_die(struct httpc_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)))
__attribute__((noreturn));

#endif /* MM32_BENCH_HTTPC_H */
