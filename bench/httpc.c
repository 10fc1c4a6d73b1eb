/* SPDX-License-Identifier: MIT */
/*
 * httpc.c - the HTTP client and daemon launcher of the benchmarks (see httpc.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "httpc.h"

int httpc_open(struct httpc_conn *c, unsigned short port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int one = 1;

	memset(c, 0, sizeof(*c));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(c->fd);
		c->fd = -1;
		return -e;
	}
	return 0;
}

void httpc_close(struct httpc_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static int reserve(char **p, size_t *cap, size_t need)
{
	size_t n = *cap;
	char *q;

	if (n >= need)
		return 0;
	while (n < need)
		n = n ? n * 2 : 65536;
	q = realloc(*p, n);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Read until @want bytes are buffered. */
static int fill(struct httpc_conn *c, size_t want)
{
	while (c->len < want) {
		ssize_t n;

		if (reserve(&c->buf, &c->cap, c->len + 65536) < 0)
			return -1;
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
	return 0;
}

int httpc_request(struct httpc_conn *c, const char *method, const char *path, const char *body,
		  size_t body_len, struct httpc_response *r)
{
	size_t head_len, off = 0, clen = 0;
	char *end, *p;
	ssize_t n;

	r->status = 0;
	r->body = "";
	r->body_len = 0;
	if (c->fd < 0)
		return -1;
	/* drop the previous response */
	if (c->len > c->consumed)
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
	c->len -= c->consumed < c->len ? c->consumed : c->len;
	c->consumed = 0;

	if (reserve(&c->out, &c->out_cap, body_len + strlen(path) + 512) < 0)
		return -1;
	head_len = (size_t)snprintf(c->out, c->out_cap,
				    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
				    method, path, body_len);
	if (body_len)
		memcpy(c->out + head_len, body, body_len);
	while (off < head_len + body_len) {
		n = write(c->fd, c->out + off, head_len + body_len - off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	/* headers */
	for (;;) {
		if (c->len) {
			end = memmem(c->buf, c->len, "\r\n\r\n", 4);
			if (end)
				break;
		}
		if (fill(c, c->len + 1) < 0)
			return -1;
	}
	*end = '\0';
	if (sscanf(c->buf, "HTTP/1.1 %d", &r->status) != 1)
		return -1;
	p = strcasestr(c->buf, "\r\nContent-Length:");
	if (p)
		clen = strtoul(p + 17, NULL, 10);
	head_len = (size_t)(end - c->buf) + 4;
	if (fill(c, head_len + clen) < 0 || reserve(&c->buf, &c->cap, head_len + clen + 1) < 0)
		return -1;
	c->buf[head_len + clen] = '\0'; /* may clobber a pipelined byte: none are pipelined */
	r->body = c->buf + head_len;
	r->body_len = clen;
	c->consumed = head_len + clen;
	return 0;
}

/* ---- the daemon ---------------------------------------------------------------------------- */

/* The lines of the daemon's log that a sanitizer wrote, printed; their number. */
static int sanitizer_reports(const struct httpc_daemon *d)
{
	static const char *const marks[] = {"runtime error:", "ERROR: AddressSanitizer",
					    "ERROR: LeakSanitizer", "SUMMARY: "};
	FILE *f = fopen(d->log, "r");
	char line[1024];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
			if (strstr(line, marks[i])) {
				fprintf(stderr, "%s: mm32d: %s", d->who, line);
				n++;
				break;
			}
	fclose(f);
	return n;
}

int httpc_daemon_stop(struct httpc_daemon *d)
{
	char cmd[600];
	int reports = 0;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		waitpid(d->pid, NULL, 0);
		d->pid = -1;
		reports = sanitizer_reports(d);
	}
	if (d->tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "%s: could not remove %s\n", d->who, d->tmpdir);
		d->tmpdir[0] = '\0';
	}
	return reports;
}

void httpc_die(struct httpc_daemon *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", d->who ? d->who : "httpc");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	httpc_daemon_stop(d);
	exit(1);
}

static unsigned short free_port(struct httpc_daemon *d)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		httpc_die(d, "cannot find a free port: %s", strerror(errno));
	close(fd);
	return ntohs(sa.sin_port);
}

void httpc_daemon_start(struct httpc_daemon *d, const char *who, const char *exe,
			const char *const *extra)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	const char *argv[64];
	char listen[32], db[300];
	struct httpc_conn c;
	struct httpc_response r;
	int n = 0;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->who = who;
	snprintf(d->tmpdir, sizeof(d->tmpdir), "%s/mm32-bench-XXXXXX", base);
	if (!mkdtemp(d->tmpdir)) {
		d->tmpdir[0] = '\0';
		httpc_die(d, "mkdtemp under %s: %s", base, strerror(errno));
	}
	snprintf(db, sizeof(db), "%s/mm32.db", d->tmpdir);
	snprintf(d->log, sizeof(d->log), "%s/mm32d.log", d->tmpdir);
	d->port = free_port(d);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", d->port);
	argv[n++] = exe;
	argv[n++] = "--config=";
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--db";
	argv[n++] = db;
	argv[n++] = "--no-default-machine";
	for (int i = 0; extra && extra[i] && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid < 0)
		httpc_die(d, "fork: %s", strerror(errno));
	if (d->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!freopen(d->log, "w", stderr))
			_exit(126);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (httpc_open(&c, d->port) == 0) {
			int ok = httpc_request(&c, "GET", "/v1/health", "", 0, &r) == 0 &&
				 r.status == 200;

			httpc_close(&c);
			if (ok)
				return;
		}
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = -1;
			httpc_die(d, "%s exited at start-up (log: %s)", exe, d->log);
		}
		usleep(50000);
	}
	httpc_die(d, "%s did not serve /v1/health", exe);
}
