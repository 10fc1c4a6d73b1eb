/* SPDX-License-Identifier: MIT */
/*
 * fuzz-http.c - libFuzzer on the HTTP request path: the input is the raw bytes a client sends
 * on one connection (request line, headers, body; several pipelined requests, or half of one),
 * served by the real server (api/server.c over libmicrohttpd: framing, the ambiguous-framing
 * refusal, %2F kept encoded, the body cap, the access handler, the router) with the daemon's
 * own host (daemon/registry.c: machines, commands, journals, snapshots, sessions in an SQLite
 * store). Whatever the bytes, the server answers or closes, and stays whole: no crash, no
 * sanitizer report, no leak; after every input a GET /v1/health on a new connection must
 * answer 200 (a request that wedged or killed the server is a crash).
 *
 * Without sockets? libmicrohttpd parses the bytes itself: there is no function of ours that
 * takes a raw request. So the server is started once, as mm32d starts it, on a UNIX socket in
 * a temporary directory (a local listener: no token), and each input is written to a new
 * connection, which is then half-closed; the answer is read until it ends or pauses for 20 ms
 * (a request the server is still working on goes on beside the next input). The caps keep what
 * inputs can build small: 4 machines, 512 MiB of host memory for them, 4 snapshots and 4096
 * journal entries a machine, a 64 MiB database, 64 KiB bodies, a 1 s request deadline.
 * Machine "m" (64 MiB, 686) exists from the start, so that the machine routes are reached.
 * Seeds: fuzz/corpus/http, one request (or a few pipelined) per file.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "registry.h"
#include "server.h"
#include "store.h"

static char dir[] = "/tmp/fuzz-http.XXXXXX";
static char sock_path[108];
static struct store *st;
static struct registry *reg;
static struct api_server *srv;
static struct api_host host;

static void cleanup(void)
{
	static const char *const files[] = {"mm32.db", "mm32.db-wal", "mm32.db-shm", "sock"};
	char path[128];

	api_server_stop(srv);
	registry_destroy(reg);
	store_close(st);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

static int connect_server(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "fuzz-http: connect: %s\n", strerror(errno));
		abort();
	}
	return fd;
}

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/*
 * Send @data, half-close, read what comes back into @buf until EOF, until nothing came for
 * @idle_ms, or for @ms in all. (libmicrohttpd keeps a half-closed connection whose request
 * line is not finished until the request deadline: the fuzzer does not wait for that.)
 */
static size_t exchange(const uint8_t *data, size_t size, char *buf, size_t cap, int idle_ms, int ms)
{
	int fd = connect_server();
	double end = now_ms() + ms;
	size_t off = 0, got = 0;

	while (off < size) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);

		if (n <= 0)
			break; /* the server closed: it may, after an answer */
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		double left = end - now_ms();
		char tmp[4096];
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left < idle_ms ? (int)left + 1 : idle_ms) <= 0)
			break;
		n = recv(fd, tmp, sizeof(tmp), 0);
		if (n <= 0)
			break;
		if (got < cap) {
			size_t k = (size_t)n < cap - got ? (size_t)n : cap - got;

			memcpy(buf + got, tmp, k);
			got += k;
		}
	}
	close(fd);
	return got;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct mm_error err = {0};
	struct api_listener l = {.local = true};
	struct mm_config cfg;
	char path[128];

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	log_init(LOG_LEVEL_ERROR);
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/mm32.db", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", dir);
	if (store_open(path, &st, &err) < 0 || store_set_sync(st, STORE_SYNC_NORMAL, &err) < 0 ||
	    store_set_max_size(st, 64u << 20, &err) < 0 || registry_create(st, &reg, &err) < 0)
		goto fail;
	registry_set_limits(reg, 4, 512u << 20);
	registry_set_machine_limits(reg, 4, 4096);
	mm_config_init(&cfg, false);
	cfg.mem = 64u << 20;
	if (registry_add(reg, "m", &cfg, &err) < 0)
		goto fail;
	host = registry_host(reg);
	l.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if (l.fd < 0 || bind(l.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l.fd, 64) < 0) {
		fprintf(stderr, "fuzz-http: %s: %s\n", sock_path, strerror(errno));
		abort();
	}
	{
		struct api_server_options so = {
			.listeners = &l,
			.nlisteners = 1,
			.threads = 2,
			.limits = {.max_body = 64u << 10,
				   .max_connections = 0, /* what the inputs leave open */
				   .max_client_connections = 0,
				   .request_timeout = 1,
				   .rate_burst = 100},
		};

		if (api_server_start(&so, &host, &srv, &err) < 0)
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "fuzz-http: %s\n", err.msg);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char health[] =
		"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	char buf[256];
	size_t n;

	exchange(data, size, buf, sizeof(buf), 20, 2000);
	/* the server still answers, whatever the input left running (up to 10 s: a boot) */
	n = exchange((const uint8_t *)health, sizeof(health) - 1, buf, sizeof(buf) - 1, 10000,
		     10000);
	buf[n] = '\0';
	if (strncmp(buf, "HTTP/1.1 200 ", 13)) {
		fprintf(stderr, "fuzz-http: the server no longer answers /v1/health: '%.80s'\n",
			buf);
		abort();
	}
	return 0;
}
